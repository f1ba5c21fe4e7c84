//! The binary, run as a user runs it: output contract, exit codes, located errors, and an earlier
//! output directory that survives every failure.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;
use serde_json::Value;

const PRIMARY: &str = "IntegrationPlatform-Primary-Network";
const PRIMARY_ENDPOINTS: &str = "IntegrationPlatform-Primary-Endpoints";
const PRIMARY_DATA: &str = "IntegrationPlatform-Primary-Data";
const PRIMARY_EDGE: &str = "IntegrationPlatform-Primary-Edge";
const PRIMARY_INGRESS: &str = "IntegrationPlatform-Primary-Ingress";
const PRIMARY_COMPUTE: &str = "IntegrationPlatform-Primary-Compute";
const PRIMARY_GATEWAY: &str = "IntegrationPlatform-Primary-Gateway";
const PRIMARY_SCALING: &str = "IntegrationPlatform-Primary-Scaling";
const PRIMARY_OPERATIONS: &str = "IntegrationPlatform-Primary-Operations";
const PRIMARY_DEPLOYMENTS: &str = "IntegrationPlatform-Primary-Deployments";
const RECOVERY: &str = "IntegrationPlatform-DisasterRecovery-Network";
const RECOVERY_ENDPOINTS: &str = "IntegrationPlatform-DisasterRecovery-Endpoints";
const RECOVERY_IMAGES: &str = "IntegrationPlatform-DisasterRecovery-Images";
const RECOVERY_STORAGE: &str = "IntegrationPlatform-DisasterRecovery-Storage";
const RECOVERY_OPERATIONS: &str = "IntegrationPlatform-DisasterRecovery-Operations";
const RECOVERY_DELIVERY: &str = "IntegrationPlatform-DisasterRecovery-Delivery";
const RECOVERY_DATA: &str = "IntegrationPlatform-DisasterRecovery-Data";
const RECOVERY_INGRESS: &str = "IntegrationPlatform-DisasterRecovery-Ingress";
const RECOVERY_DEPLOYMENTS: &str = "IntegrationPlatform-DisasterRecovery-Deployments";
const RECOVERY_COMPUTE: &str = "IntegrationPlatform-DisasterRecovery-Compute";
const RECOVERY_GATEWAY: &str = "IntegrationPlatform-DisasterRecovery-Gateway";
const RECOVERY_SCALING: &str = "IntegrationPlatform-DisasterRecovery-Scaling";
const PRIMARY_DELIVERY: &str = "IntegrationPlatform-Primary-Delivery";

fn cfn_synth(dir: &Path) -> assert_cmd::Command {
    let mut command = cargo_bin_cmd!("cfn-synth");
    command.current_dir(dir);
    command
}

/// Every file below `dir` with its bytes, to compare directories whole.
fn snapshot_dir(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            for (inner, bytes) in snapshot_dir(&path) {
                files.insert(format!("{name}/{inner}"), bytes);
            }
        } else {
            files.insert(name, fs::read(&path).unwrap());
        }
    }
    files
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

#[test]
fn synth_writes_both_regions_network_stacks_and_a_complete_manifest() {
    let work = tempfile::tempdir().unwrap();
    cfn_synth(work.path()).arg("synth").assert().success().stderr(predicate::str::contains("wrote 23 stacks"));
    let out = work.path().join("cfn.out");
    let manifest = read_json(&out.join("manifest.json"));
    assert_eq!(manifest["version"], 1);
    assert_eq!(manifest["app"], "integration-platform");
    assert_eq!(
        manifest["deployOrder"],
        serde_json::json!([
            PRIMARY,
            PRIMARY_ENDPOINTS,
            RECOVERY,
            RECOVERY_ENDPOINTS,
            RECOVERY_STORAGE,
            PRIMARY_DATA,
            PRIMARY_EDGE,
            PRIMARY_INGRESS,
            PRIMARY_DEPLOYMENTS,
            RECOVERY_DELIVERY,
            PRIMARY_DELIVERY,
            PRIMARY_COMPUTE,
            PRIMARY_GATEWAY,
            PRIMARY_SCALING,
            PRIMARY_OPERATIONS,
            RECOVERY_DATA,
            RECOVERY_INGRESS,
            RECOVERY_DEPLOYMENTS,
            RECOVERY_COMPUTE,
            RECOVERY_GATEWAY,
            RECOVERY_SCALING,
            RECOVERY_OPERATIONS,
            RECOVERY_IMAGES
        ])
    );

    let stacks = manifest["stacks"].as_array().unwrap();
    assert_eq!(stacks.len(), 23);
    let stack = |name: &str| stacks.iter().find(|stack| stack["name"] == name).unwrap();
    let depends_on = |name: &str| stack(name)["dependsOn"].clone();
    assert_eq!(depends_on(RECOVERY_IMAGES), serde_json::json!([]), "the replication template needs nothing");
    assert_eq!(depends_on(RECOVERY_DELIVERY), serde_json::json!([]), "the other region's artifact store needs nothing");
    assert_eq!(
        depends_on(PRIMARY_DELIVERY),
        serde_json::json!([PRIMARY_DEPLOYMENTS, RECOVERY_DELIVERY]),
        "the pipeline pushes to the repositories, passes the blue/green roles and copies artifacts to eu-west-1"
    );
    assert_eq!(depends_on(PRIMARY_ENDPOINTS), serde_json::json!([PRIMARY]), "the endpoints import from the network");
    assert_eq!(depends_on(RECOVERY_STORAGE), serde_json::json!([]), "the replica buckets need nothing");
    assert_eq!(
        depends_on(RECOVERY_DATA),
        serde_json::json!([RECOVERY, RECOVERY_STORAGE, PRIMARY_DATA]),
        "the database replica follows its source, in the region's VPC, under the region's key"
    );
    assert_eq!(
        depends_on(RECOVERY_OPERATIONS),
        serde_json::json!([RECOVERY_STORAGE, RECOVERY_DATA, RECOVERY_INGRESS, RECOVERY_COMPUTE, RECOVERY_GATEWAY]),
        "its alarms watch the region's queue, database, cache, load balancers and services"
    );
    assert_eq!(
        depends_on(PRIMARY_DATA),
        serde_json::json!([PRIMARY, RECOVERY_STORAGE]),
        "the data tier imports from the network and replicates to the replica buckets"
    );
    assert_eq!(
        depends_on(PRIMARY_EDGE),
        serde_json::json!([RECOVERY_STORAGE, PRIMARY_DATA]),
        "CloudFront logs to the data tier's bucket; the secret's eu-west-1 replica uses the key there"
    );
    assert_eq!(stack(PRIMARY_EDGE)["region"], "us-east-1", "CloudFront and its WAF live in us-east-1");
    assert_eq!(
        depends_on(PRIMARY_INGRESS),
        serde_json::json!([PRIMARY, PRIMARY_DATA, PRIMARY_EDGE]),
        "the ingress resolves the edge's origin-verify secret"
    );
    assert_eq!(
        depends_on(PRIMARY_DEPLOYMENTS),
        serde_json::json!([PRIMARY, PRIMARY_DATA, PRIMARY_INGRESS]),
        "the deployment hooks run in the VPC, log with the data key and call the test listeners"
    );
    assert_eq!(
        depends_on(PRIMARY_COMPUTE),
        serde_json::json!([PRIMARY, PRIMARY_ENDPOINTS, PRIMARY_DATA, PRIMARY_INGRESS, PRIMARY_DEPLOYMENTS]),
        "the tasks pull, log and read secrets through the endpoints; the services name the hooks and alarms"
    );
    assert_eq!(
        depends_on(PRIMARY_GATEWAY),
        serde_json::json!([
            PRIMARY,
            PRIMARY_ENDPOINTS,
            PRIMARY_DATA,
            PRIMARY_INGRESS,
            PRIMARY_DEPLOYMENTS,
            PRIMARY_COMPUTE
        ]),
        "Kong runs in the compute stack's cluster"
    );
    let scaled = serde_json::json!([PRIMARY_DATA, PRIMARY_INGRESS, PRIMARY_COMPUTE, PRIMARY_GATEWAY]);
    assert_eq!(depends_on(PRIMARY_SCALING), scaled);
    assert_eq!(depends_on(PRIMARY_OPERATIONS), scaled);
    assert_eq!(
        stack(PRIMARY_COMPUTE)["parameters"],
        serde_json::json!({"IntegrationServiceImageTag": "", "WebhookReceiverImageTag": "", "WorkerServiceImageTag": ""}),
        "an empty tag runs the configured image: the first deploy on an empty account starts"
    );
    // An empty value is left out of the command, so that `aws cloudformation deploy` keeps the tag the
    // pipeline released on an update (and takes the empty default on the first create).
    let command = stack(PRIMARY_COMPUTE)["deployCommand"].as_str().unwrap();
    assert!(!command.contains("ImageTag"), "{command}");
    assert_eq!(depends_on(RECOVERY_ENDPOINTS), serde_json::json!([RECOVERY]));
    let data_command = stack(PRIMARY_DATA)["deployCommand"].as_str().unwrap();
    assert!(
        data_command.contains("--capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND"),
        "the hosted rotation function is a transform: {data_command}"
    );
    let kong = fs::read_to_string(out.join(format!("kong/{PRIMARY_GATEWAY}.yml"))).unwrap();
    let kong: serde_json::Value = serde_yaml::from_str(&kong).unwrap();
    let routes: Vec<&serde_json::Value> =
        kong["services"].as_array().unwrap().iter().map(|service| &service["routes"][0]["paths"][0]).collect();
    assert_eq!(routes, [&serde_json::json!("/integration"), &serde_json::json!("/webhooks")]);
    let rate_limit = kong["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "rate-limiting").unwrap();
    assert_eq!(rate_limit["config"]["policy"], "redis");
    assert!(!kong.to_string().contains("resolve:secretsmanager"), "no secret in the Kong config");
    assert!(!out.join("appspec").exists(), "ECS-native blue/green needs no AppSpec");
    for (stack, region, role) in
        [(stack(PRIMARY), "us-east-1", "primary"), (stack(RECOVERY), "eu-west-1", "disaster-recovery")]
    {
        let keys: Vec<&String> = stack.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "name",
                "region",
                "templateFile",
                "dependsOn",
                "capabilities",
                "parameters",
                "tags",
                "resourceCount",
                "templateUpload",
                "deployCommand"
            ]
        );
        assert_eq!(stack["templateUpload"], serde_json::json!({"mode": "inline"}));
        assert_eq!(stack["region"], region);
        assert_eq!(stack["tags"]["region-role"], role);
        let template_file = stack["templateFile"].as_str().unwrap();
        let template = read_json(&out.join(template_file));
        assert_eq!(stack["resourceCount"], template["Resources"].as_object().unwrap().len());
        let command = stack["deployCommand"].as_str().unwrap();
        assert!(
            command.starts_with(&format!("aws cloudformation deploy --region {region} --stack-name ")),
            "{command}"
        );
        assert!(command.contains(&format!("--template-file {template_file}")), "{command}");
        assert!(command.contains("--capabilities CAPABILITY_IAM"), "{command}");
        assert!(command.ends_with("--no-fail-on-empty-changeset"), "{command}");
        for resource_type in ["AWS::EC2::VPC", "AWS::EC2::NatGateway", "AWS::EC2::FlowLog", "AWS::Logs::LogGroup"] {
            assert!(
                template["Resources"].as_object().unwrap().values().any(|r| r["Type"] == resource_type),
                "{template_file} lacks {resource_type}"
            );
        }
    }

    // Each stack comes after everything it depends on.
    let order: Vec<&str> = manifest["deployOrder"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    for stack in stacks {
        let position = order.iter().position(|name| *name == stack["name"]).unwrap();
        for dependency in stack["dependsOn"].as_array().unwrap() {
            assert!(order[..position].contains(&dependency.as_str().unwrap()));
        }
    }
}

#[test]
fn yaml_output_holds_the_same_templates() {
    let work = tempfile::tempdir().unwrap();
    cfn_synth(work.path()).args(["synth", "--output", "json"]).assert().success();
    cfn_synth(work.path()).args(["synth", "--output", "yaml", "--format", "yaml"]).assert().success();
    let manifest = read_json(&work.path().join("yaml/manifest.json"));
    for stack in [
        PRIMARY,
        PRIMARY_ENDPOINTS,
        PRIMARY_DATA,
        PRIMARY_EDGE,
        PRIMARY_INGRESS,
        PRIMARY_COMPUTE,
        PRIMARY_DEPLOYMENTS,
        RECOVERY,
        RECOVERY_ENDPOINTS,
    ] {
        let yaml_file = work.path().join(format!("yaml/{stack}.template.yaml"));
        let yaml_text = fs::read_to_string(&yaml_file).unwrap();
        assert!(yaml_text.contains("Fn::GetAtt:"), "long-form intrinsics");
        let from_yaml: Value = serde_yaml::from_str(&yaml_text).unwrap();
        assert_eq!(from_yaml, read_json(&work.path().join(format!("json/{stack}.template.json"))));
    }
    assert!(manifest["stacks"][0]["deployCommand"].as_str().unwrap().contains(".template.yaml"));
}

#[test]
fn list_prints_stacks_in_deploy_order_with_region_and_resource_count() {
    let work = tempfile::tempdir().unwrap();
    let output = cfn_synth(work.path()).arg("list").assert().success().get_output().stdout.clone();
    let text = String::from_utf8(output).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|line| line.split_whitespace().collect()).collect();
    assert_eq!(
        lines,
        [
            [PRIMARY, "us-east-1", "71", "resources"],
            [PRIMARY_ENDPOINTS, "us-east-1", "37", "resources"],
            [RECOVERY, "eu-west-1", "69", "resources"],
            [RECOVERY_ENDPOINTS, "eu-west-1", "37", "resources"],
            [RECOVERY_STORAGE, "eu-west-1", "10", "resources"],
            [PRIMARY_DATA, "us-east-1", "28", "resources"],
            [PRIMARY_EDGE, "us-east-1", "11", "resources"],
            [PRIMARY_INGRESS, "us-east-1", "30", "resources"],
            [PRIMARY_DEPLOYMENTS, "us-east-1", "29", "resources"],
            [RECOVERY_DELIVERY, "eu-west-1", "6", "resources"],
            [PRIMARY_DELIVERY, "us-east-1", "18", "resources"],
            [PRIMARY_COMPUTE, "us-east-1", "26", "resources"],
            [PRIMARY_GATEWAY, "us-east-1", "5", "resources"],
            [PRIMARY_SCALING, "us-east-1", "18", "resources"],
            [PRIMARY_OPERATIONS, "us-east-1", "30", "resources"],
            [RECOVERY_DATA, "eu-west-1", "13", "resources"],
            [RECOVERY_INGRESS, "eu-west-1", "25", "resources"],
            [RECOVERY_DEPLOYMENTS, "eu-west-1", "25", "resources"],
            [RECOVERY_COMPUTE, "eu-west-1", "26", "resources"],
            [RECOVERY_GATEWAY, "eu-west-1", "5", "resources"],
            [RECOVERY_SCALING, "eu-west-1", "18", "resources"],
            [RECOVERY_OPERATIONS, "eu-west-1", "22", "resources"],
            [RECOVERY_IMAGES, "eu-west-1", "4", "resources"]
        ]
    );
}

#[test]
fn validate_checks_every_resource_in_memory_and_writes_nothing() {
    let work = tempfile::tempdir().unwrap();
    cfn_synth(work.path()).arg("validate").assert().success().stderr(predicate::str::contains(
        "23 stacks, 563 resources, 563 checked against their registry schemas, deploy-readiness rules 19: 0 \
         findings, 0 informational",
    ));
    assert_eq!(fs::read_dir(work.path()).unwrap().count(), 0, "validate writes nothing");
    let broken = VALID.replacen("azCount: 3", "azCuont: 3", 1);
    fs::write(work.path().join("platform.yaml"), broken).unwrap();
    cfn_synth(work.path()).args(["validate", "--config", "platform.yaml"]).assert().code(2);
}

#[test]
fn validate_rules_lists_every_rule_with_its_doc() {
    let work = tempfile::tempdir().unwrap();
    let output = cfn_synth(work.path()).args(["validate", "--rules"]).assert().success().get_output().stdout.clone();
    let text = String::from_utf8(output).unwrap();
    for rule in cfn_synth::checks::readiness::RULES {
        assert!(text.contains(&format!("{} {}\n    {}", rule.id, rule.title, rule.doc)), "{}", rule.id);
    }
}

#[test]
fn validate_templates_names_the_rule_and_logical_id_in_a_cdk_cloud_assembly() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cdk-app/cdk.out");
    let work = tempfile::tempdir().unwrap();
    let output = cfn_synth(work.path())
        .args(["validate", "--templates"])
        .arg(&fixture)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("1 stacks of"))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    assert!(
        text.contains(
            "IsolatedFargate ServiceD69D759B IsolatedFargate/ServiceD69D759B → sg ServiceSecurityGroupC96ED6A7 → subnet \
             IsolatedFargate/VpcIsolatedSubnet1SubnetE48C5737 has no route to a NAT gateway → image \
             public.ecr.aws/nginx/nginx:1.27 (registry outside the account) unreachable"
        ) && text.contains("[CS001]"),
        "{text}"
    );
}

#[test]
fn validate_templates_reads_our_own_output_and_a_plain_folder() {
    let work = tempfile::tempdir().unwrap();
    cfn_synth(work.path()).arg("synth").assert().success();
    cfn_synth(work.path())
        .args(["validate", "--templates", "cfn.out"])
        .assert()
        .success()
        .stderr(predicate::str::contains("23 stacks of cfn.out, deploy-readiness rules: 0 findings"));
    // A plain folder has no regions: it needs --region, and is read without a deploy order.
    fs::create_dir(work.path().join("plain")).unwrap();
    let compute = format!("{PRIMARY_COMPUTE}.template.json");
    fs::copy(work.path().join("cfn.out").join(&compute), work.path().join("plain").join(&compute)).unwrap();
    cfn_synth(work.path())
        .args(["validate", "--templates", "plain"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pass --region"));
    cfn_synth(work.path())
        .args(["validate", "--templates", "plain", "--region", "us-east-1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("[CS099]"));
}

#[test]
fn synth_refuses_an_app_that_would_not_run_and_keeps_the_earlier_output() {
    let work = tempfile::tempdir().unwrap();
    cfn_synth(work.path()).arg("synth").assert().success();
    let before = snapshot_dir(&work.path().join("cfn.out"));
    let docker_hub = VALID.replacen("image: public.ecr.aws/docker/library/kong:3.9.1", "image: kong:3.9.1", 1);
    assert_ne!(docker_hub, VALID);
    fs::write(work.path().join("platform.yaml"), docker_hub).unwrap();
    cfn_synth(work.path())
        .args(["synth", "--config", "platform.yaml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "IntegrationPlatform-Primary-Gateway/KongService → sg KongSecurityGroup → no HTTPS egress to 0.0.0.0/0 → \
             image kong:3.9.1 (registry outside the account) unreachable",
        ))
        .stdout(predicate::str::contains(
            "IntegrationPlatform-DisasterRecovery-Gateway/KongService → sg KongSecurityGroup → no HTTPS egress to \
             0.0.0.0/0 → image kong:3.9.1 (registry outside the account) unreachable",
        ))
        .stderr(predicate::str::contains("refusing to write cfn.out: 2 deploy-readiness findings"));
    assert_eq!(snapshot_dir(&work.path().join("cfn.out")), before, "the earlier output is untouched");
    // The files were rendered into a staging directory while the analysis ran; it is gone.
    let leftovers: Vec<String> = fs::read_dir(work.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".cfn-synth-"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
}

#[test]
fn schema_prints_the_config_json_schema() {
    let work = tempfile::tempdir().unwrap();
    let output = cfn_synth(work.path()).arg("schema").assert().success().get_output().stdout.clone();
    let schema: Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(schema["title"], "PlatformConfig");
    assert_eq!(schema["additionalProperties"], false);
    assert!(schema["$defs"]["NetworkConfig"]["properties"]["vpcCidr"].is_object());
}

/// Runs a failing command against a directory that holds an earlier output, and checks that it
/// exits 2, prints `expected` on stderr, and leaves the earlier output byte for byte.
fn assert_rejected_keeping_earlier_output(config: Option<&str>, extra: &[&str], expected: &str) {
    let work = tempfile::tempdir().unwrap();
    cfn_synth(work.path()).arg("synth").assert().success();
    let before = snapshot_dir(&work.path().join("cfn.out"));
    let mut command = cfn_synth(work.path());
    command.arg("synth").args(extra);
    if let Some(text) = config {
        fs::write(work.path().join("platform.yaml"), text).unwrap();
        command.args(["--config", "platform.yaml"]);
    }
    command.assert().code(2).stderr(predicate::str::contains(expected));
    assert_eq!(snapshot_dir(&work.path().join("cfn.out")), before, "the earlier output must be untouched");
    let entries: Vec<String> =
        fs::read_dir(work.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(entries.iter().all(|name| !name.starts_with(".cfn-synth-")), "no temporary directory left: {entries:?}");
}

const VALID: &str = include_str!("../stacks/platform.yaml");

/// The 1-based line of the `nth` (from 0) line of `text` containing `needle`.
fn line_of(text: &str, needle: &str, nth: usize) -> usize {
    text.lines().enumerate().filter(|(_, line)| line.contains(needle)).nth(nth).map(|(index, _)| index + 1).unwrap()
}

#[test]
fn broken_yaml_is_a_located_error() {
    let broken = VALID.replace("app: integration-platform", "app: [integration-platform");
    assert_rejected_keeping_earlier_output(Some(&broken), &[], "error: platform.yaml:");
    assert_rejected_keeping_earlier_output(
        Some("app: demo\nregions:\n  - role: primary\n  bad indent: [\n"),
        &[],
        "platform.yaml:",
    );
}

#[test]
fn an_unknown_key_is_a_located_error_naming_the_key() {
    let misspelt = VALID.replacen("azCount: 3", "azCuont: 3", 1);
    assert_rejected_keeping_earlier_output(
        Some(&misspelt),
        &[],
        "error: platform.yaml:26:7: regions[0].network: unknown field `azCuont`, expected one of",
    );
}

#[test]
fn a_missing_config_file_is_named() {
    assert_rejected_keeping_earlier_output(
        None,
        &["--config", "nowhere.yaml"],
        "error: cannot read config file nowhere.yaml",
    );
}

#[test]
fn more_zones_than_the_region_has_is_located_at_its_key() {
    let nth = VALID.lines().filter(|line| line.contains("azCount: 3")).count() - 1;
    let line = line_of(VALID, "azCount: 3", nth);
    let mut lines: Vec<&str> = VALID.lines().collect();
    let widened = lines[line - 1].replace("azCount: 3", "azCount: 4");
    lines[line - 1] = &widened;
    assert_rejected_keeping_earlier_output(
        Some(&(lines.join("\n") + "\n")),
        &[],
        &format!("error: platform.yaml:{line}:7: regions[1].network.azCount: eu-west-1 offers an account 3 Availability Zones"),
    );
}

#[test]
fn an_impossible_cidr_plan_is_located_at_its_key() {
    let cramped = VALID.replacen("vpcCidr: 10.20.0.0/16", "vpcCidr: 10.20.0.0/21", 1);
    assert_rejected_keeping_earlier_output(
        Some(&cramped),
        &[],
        &format!(
            "error: platform.yaml:{}:9: regions[1].network.subnets.privateApp: a /20 subnet cannot fit in the VPC block 10.20.0.0/21",
            line_of(VALID, "privateApp:", 1)
        ),
    );
}

#[test]
fn a_malformed_gateway_route_is_located() {
    let duplicate = VALID.replacen("- name: webhook-receiver", "- name: integration-service", 1);
    assert_rejected_keeping_earlier_output(
        Some(&duplicate),
        &[],
        &format!(
            "error: platform.yaml:{}:13: regions[0].compute.gateway.routes[1].name: integration-service is already the name of routes[0]",
            line_of(&duplicate, "- name: integration-service", 1)
        ),
    );
    let bad_path = VALID.replacen("paths: [/webhooks]", "paths: [webhooks]", 1);
    assert_rejected_keeping_earlier_output(
        Some(&bad_path),
        &[],
        "regions[0].compute.gateway.routes[1].paths[0]: \"webhooks\" is not a path prefix",
    );
}

#[test]
fn overlapping_region_vpcs_are_located() {
    let overlapping = VALID.replacen("vpcCidr: 10.20.0.0/16", "vpcCidr: 10.10.0.0/16", 1);
    assert_rejected_keeping_earlier_output(
        Some(&overlapping),
        &[],
        &format!(
            "error: platform.yaml:{}:7: regions[1].network.vpcCidr: 10.10.0.0/16 overlaps the VPC of regions[0] (10.10.0.0/16)",
            line_of(VALID, "vpcCidr:", 1)
        ),
    );
}

#[test]
fn a_directory_that_is_not_an_output_is_never_replaced() {
    let work = tempfile::tempdir().unwrap();
    fs::create_dir(work.path().join("docs")).unwrap();
    fs::write(work.path().join("docs/notes.txt"), "mine").unwrap();
    cfn_synth(work.path())
        .args(["synth", "--output", "docs"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("refusing to replace docs"));
    assert_eq!(fs::read_to_string(work.path().join("docs/notes.txt")).unwrap(), "mine");
}

#[test]
fn usage_errors_exit_2() {
    let work = tempfile::tempdir().unwrap();
    cfn_synth(work.path()).args(["synth", "--format", "xml"]).assert().code(2);
    cfn_synth(work.path()).arg("deploy").assert().code(2);
}

/// A first deploy on an empty account: the manifest's order creates the repositories and the pipeline
/// (with its artifact store in eu-west-1) before any stack runs a service, every service starts from a
/// configured image, and the release section names the one manual step and the steps in order.
#[test]
fn a_first_deploy_creates_repositories_and_pipeline_before_any_service() {
    let work = tempfile::tempdir().unwrap();
    cfn_synth(work.path()).arg("synth").assert().success();
    let out = work.path().join("cfn.out");
    let manifest = read_json(&out.join("manifest.json"));
    let order: Vec<&str> = manifest["deployOrder"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    let position = |name: &str| order.iter().position(|stack| *stack == name).unwrap();
    let mut serving = Vec::new();
    for stack in manifest["stacks"].as_array().unwrap() {
        let template = read_json(&out.join(stack["templateFile"].as_str().unwrap()));
        let resources = template["Resources"].as_object().unwrap();
        if resources.values().any(|resource| resource["Type"] == "AWS::ECS::Service") {
            serving.push(stack["name"].as_str().unwrap().to_owned());
        }
        // Every image-tag parameter defaults to empty: the configured image runs until a release.
        for (name, parameter) in template["Parameters"].as_object().into_iter().flatten() {
            if name.ends_with("ImageTag") {
                assert_eq!(parameter["Default"], "", "{name}");
                assert_eq!(stack["parameters"][name], "", "{name}");
            }
        }
    }
    assert_eq!(serving, [PRIMARY_COMPUTE, PRIMARY_GATEWAY, RECOVERY_COMPUTE, RECOVERY_GATEWAY]);
    for service_stack in &serving {
        assert!(position(PRIMARY_DEPLOYMENTS) < position(service_stack), "repositories before {service_stack}");
        assert!(position(PRIMARY_DELIVERY) < position(service_stack), "pipeline before {service_stack}");
    }
    assert!(position(RECOVERY_DELIVERY) < position(PRIMARY_DELIVERY), "the eu-west-1 artifact store first");

    let release = &manifest["release"];
    assert_eq!(release["stack"], PRIMARY_DELIVERY);
    assert_eq!(
        release["stages"],
        serde_json::json!(["Source", "Build", "Deploy-us-east-1", "Approve", "Deploy-eu-west-1"])
    );
    let released: Vec<&String> = release["imageParameters"].as_object().unwrap().keys().collect();
    assert_eq!(released, [PRIMARY_COMPUTE, RECOVERY_COMPUTE, RECOVERY_IMAGES], "in deploy order");
    let manual = release["manualSteps"].as_array().unwrap();
    assert_eq!(manual.len(), 1);
    assert!(manual[0].as_str().unwrap().contains("PENDING"), "{}", manual[0]);
    let steps: Vec<&str> = release["firstDeploy"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(steps[0].contains(PRIMARY_DEPLOYMENTS) && steps[0].contains(PRIMARY_DELIVERY), "{}", steps[0]);
    assert!(steps[1].contains("manualSteps"), "{}", steps[1]);

    // With an S3 source nothing is manual: uploading the zip starts the pipeline.
    let s3 = VALID.replacen(
        "    connection:\n      provider: GitHub\n      repository: example-org/integration-platform\n      branch: main\n",
        "    s3:\n      objectKey: releases/source.zip\n",
        1,
    );
    assert_ne!(s3, VALID);
    fs::write(work.path().join("s3.yaml"), s3).unwrap();
    cfn_synth(work.path()).args(["synth", "--config", "s3.yaml", "--output", "s3"]).assert().success();
    let manifest = read_json(&work.path().join("s3/manifest.json"));
    assert_eq!(manifest["release"]["manualSteps"], serde_json::json!([]));
    assert!(manifest["release"]["firstDeploy"][1].as_str().unwrap().contains("/releases/source.zip"));
}
