//! Big apps through the binary: a few hundred Kong routes move the gateway's configuration to S3, and a
//! template past 51,200 bytes goes compact or through the region's bucket, as the manifest records.

use std::fs;
use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

const GATEWAY: &str = "IntegrationPlatform-Primary-Gateway";
const NETWORK: &str = "IntegrationPlatform-Primary-Network";

fn cfn_synth(dir: &Path) -> assert_cmd::Command {
    let mut command = cargo_bin_cmd!("cfn-synth");
    command.current_dir(dir);
    command
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// The default platform with `count` more gateway routes, written to `dir/routes.yaml`.
fn many_routes(dir: &Path, count: usize) {
    let default = include_str!("../stacks/platform.yaml");
    let anchor = "            paths: [/webhooks]\n";
    assert!(default.contains(anchor), "stacks/platform.yaml changed: update this test");
    let extra: String = (0..count)
        .map(|n| {
            let service = if n % 2 == 0 { "integration-service" } else { "webhook-receiver" };
            format!(
                "          - name: partner-{n:03}\n            service: {service}\n            paths: [/partners/{n:03}, /v2/partners/{n:03}]\n"
            )
        })
        .collect();
    fs::write(dir.join("routes.yaml"), default.replacen(anchor, &format!("{anchor}{extra}"), 1)).unwrap();
}

const BUCKETS: [&str; 6] = [
    "--s3-bucket",
    "us-east-1=cfn-synth-artifacts-us-east-1",
    "--s3-bucket",
    "eu-west-1=cfn-synth-artifacts-eu-west-1",
    "--s3-prefix",
    "platform",
];

#[test]
fn three_hundred_routes_need_a_bucket_and_without_one_the_earlier_output_stays() {
    let work = tempfile::tempdir().unwrap();
    cfn_synth(work.path()).args(["synth", "--output", "out"]).assert().success();
    let before = fs::read(work.path().join("out/manifest.json")).unwrap();
    many_routes(work.path(), 300);
    cfn_synth(work.path())
        .args(["synth", "--config", "routes.yaml", "--output", "out"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("routes.yaml:"))
        .stderr(predicate::str::contains("regions[0].compute.gateway.routes: the Kong configuration renders to"))
        .stderr(predicate::str::contains("pass --s3-bucket us-east-1=BUCKET"));
    assert_eq!(fs::read(work.path().join("out/manifest.json")).unwrap(), before, "the earlier output is intact");
}

#[test]
fn three_hundred_routes_synthesize_with_kong_loading_its_configuration_from_s3() {
    let work = tempfile::tempdir().unwrap();
    many_routes(work.path(), 300);
    cfn_synth(work.path())
        .args(["synth", "--config", "routes.yaml", "--output", "out"])
        .args(BUCKETS)
        .assert()
        .success();
    let out = work.path().join("out");
    let config = fs::read_to_string(out.join(format!("kong/{GATEWAY}.yml"))).unwrap();
    assert_eq!(config.matches("- /v2/partners/").count(), 300);
    let digest: String = Sha256::digest(config.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect();
    let key = format!("platform/kong/{GATEWAY}-{digest}.yml");
    let uri = format!("s3://cfn-synth-artifacts-us-east-1/{key}");

    let manifest = read_json(&out.join("manifest.json"));
    let stacks = manifest["stacks"].as_array().unwrap();
    let gateway = stacks.iter().find(|stack| stack["name"] == GATEWAY).unwrap();
    assert_eq!(
        gateway["uploadCommands"],
        serde_json::json!([format!("aws s3 cp kong/{GATEWAY}.yml {uri} --region us-east-1")])
    );
    // Every command is a whole, parseable AWS CLI line whose files exist in the output.
    for stack in stacks {
        let deploy = shlex::split(stack["deployCommand"].as_str().unwrap()).unwrap();
        assert_eq!(deploy[..3], ["aws", "cloudformation", "deploy"]);
        let file = &deploy[deploy.iter().position(|word| word == "--template-file").unwrap() + 1];
        let size = fs::metadata(out.join(file)).unwrap().len();
        assert!(size <= 51_200 || stack["templateUpload"]["mode"] == "s3", "{file}: {size} bytes inline");
        for upload in stack["uploadCommands"].as_array().into_iter().flatten() {
            let words = shlex::split(upload.as_str().unwrap()).unwrap();
            assert_eq!(words[..3], ["aws", "s3", "cp"]);
            assert!(out.join(&words[3]).is_file(), "{upload}");
            assert_eq!(words[5..], ["--region".to_owned(), stack["region"].as_str().unwrap().to_owned()]);
        }
    }

    let template = read_json(&out.join(format!("{GATEWAY}.template.json")));
    let resources = template["Resources"].as_object().unwrap();
    let task = resources.values().find(|r| r["Type"] == "AWS::ECS::TaskDefinition").unwrap();
    let containers = task["Properties"]["ContainerDefinitions"].as_array().unwrap();
    let (loader, kong) = (&containers[0], &containers[1]);
    assert_eq!(loader["Name"], "KongConfig");
    assert_eq!(loader["Essential"], false);
    let env = |container: &Value, name: &str| {
        container["Environment"]
            .as_array()
            .unwrap()
            .iter()
            .find(|pair| pair["Name"] == name)
            .map(|p| p["Value"].clone())
    };
    assert_eq!(env(loader, "CONFIG_URI"), Some(Value::from(uri)));
    assert!(env(loader, "REDIS_HOST").unwrap().is_object(), "the Redis endpoint, resolved at deploy time");
    assert_eq!(env(kong, "KONG_DECLARATIVE_CONFIG"), Some(Value::from("/kong/declarative/kong.yml")));
    assert_eq!(env(kong, "KONG_DECLARATIVE_CONFIG_STRING"), None);
    assert_eq!(kong["DependsOn"], serde_json::json!([{"Condition": "SUCCESS", "ContainerName": "KongConfig"}]));
    let shared = kong["MountPoints"].as_array().unwrap().iter().find(|m| m["ContainerPath"] == "/kong/declarative");
    assert_eq!(shared.unwrap()["ReadOnly"], true);
    // The task role reads that object and nothing else of the bucket.
    let policy = resources.values().find(|r| r["Type"] == "AWS::IAM::Policy" && r.to_string().contains("s3:GetObject"));
    let policy = policy.expect("a read grant");
    let statement = &policy["Properties"]["PolicyDocument"]["Statement"][0];
    // Kong's service starts its first task only once that grant exists.
    let policy_id = resources.iter().find(|(_, r)| *r == policy).unwrap().0;
    let service = resources.values().find(|r| r["Type"] == "AWS::ECS::Service").unwrap();
    let depends_on = match &service["DependsOn"] {
        Value::Array(ids) => ids.clone(),
        one => vec![one.clone()],
    };
    assert!(depends_on.iter().any(|id| id == policy_id), "{service}");
    assert_eq!(
        statement["Resource"][0],
        serde_json::json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:s3:::cfn-synth-artifacts-us-east-1/{key}")})
    );
}

/// A primary region alone, its network over six zones: about 57 KB indented.
const LARGE_NETWORK: &str = "app: integration-platform
regions:
  - role: primary
    region: us-east-1
    network:
      vpcCidr: 10.30.0.0/16
      azCount: 6
      natGateways: per-az
      endpoints: false
      subnets:
        public: { prefixLength: 24 }
        privateApp: { prefixLength: 20 }
        isolated: { prefixLength: 24 }
      flowLogs:
        retentionDays: 365
        trafficType: ALL
";

#[test]
fn a_template_past_the_inline_limit_goes_compact_or_through_the_regions_bucket() {
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("large.yaml"), LARGE_NETWORK).unwrap();
    let synth = |output: &str, extra: &[&str]| {
        let mut command = cfn_synth(work.path());
        command.args(["synth", "--config", "large.yaml", "--output", output]).args(extra);
        command.assert()
    };
    synth("compact", &[]).success();
    let compact = fs::read_to_string(work.path().join(format!("compact/{NETWORK}.template.json"))).unwrap();
    assert!(compact.len() <= 51_200, "{} bytes", compact.len());
    let manifest = read_json(&work.path().join("compact/manifest.json"));
    assert_eq!(manifest["stacks"][0]["templateUpload"], serde_json::json!({"mode": "inline"}));

    synth("pretty", &["--pretty"])
        .code(2)
        .stderr(predicate::str::contains(format!("stack {NETWORK}: the template is ")))
        .stderr(predicate::str::contains("leave out --pretty, pass --s3-bucket REGION=BUCKET"));
    // A bucket of another region does not help: the CLI would address it in us-east-1.
    synth("pretty", &["--pretty", "--s3-bucket", "eu-west-1=templates-eu"]).code(2);
    synth("pretty", &["--pretty", "--s3-bucket", "us-east-1=templates-us", "--s3-prefix", "net"]).success();
    let pretty = fs::read_to_string(work.path().join(format!("pretty/{NETWORK}.template.json"))).unwrap();
    assert!(pretty.len() > 51_200);
    let parsed = |text: &str| serde_json::from_str::<Value>(text).unwrap();
    assert_eq!(parsed(&pretty), parsed(&compact), "the same template either way");
    let stack = &read_json(&work.path().join("pretty/manifest.json"))["stacks"][0];
    assert_eq!(stack["templateUpload"], serde_json::json!({"mode": "s3", "bucket": "templates-us", "prefix": "net"}));
    assert!(stack["deployCommand"]
        .as_str()
        .unwrap()
        .contains(&format!("--template-file {NETWORK}.template.json --s3-bucket templates-us --s3-prefix net ")));
}

#[test]
fn a_malformed_bucket_flag_is_a_usage_error() {
    let work = tempfile::tempdir().unwrap();
    for bad in ["us-east-1", "nowhere=bucket", "us-east-1=UPPER", "us-east-1=a"] {
        cfn_synth(work.path())
            .args(["synth", "--output", "out", "--s3-bucket", bad])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--s3-bucket"));
    }
    for prefix in ["a b", "x;rm", "../up", ""] {
        cfn_synth(work.path())
            .args(["synth", "--output", "out", "--s3-bucket", "us-east-1=a-b", "--s3-prefix", prefix])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--s3-prefix"));
    }
    cfn_synth(work.path())
        .args(["synth", "--output", "out", "--s3-bucket", "us-east-1=a-b", "--s3-bucket", "us-east-1=c-d"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("two buckets for us-east-1"));
    assert!(!work.path().join("out").exists());
}
