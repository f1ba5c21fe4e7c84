//! `compute.services` through the binary: `stacks/large.yaml`'s 40 applications (25 HTTP services, as
//! many as the internal ALB has listeners for, and 15 workers) synthesize through the regions' buckets,
//! every HTTP service wired along the chain on its own listener pair; a dangling route and one HTTP
//! service too many are errors located in the file.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;
use serde_json::Value;

const LARGE: &str = include_str!("../stacks/large.yaml");
const BUCKETS: [&str; 4] = [
    "--s3-bucket",
    "us-east-1=cfn-synth-artifacts-us-east-1",
    "--s3-bucket",
    "eu-west-1=cfn-synth-artifacts-eu-west-1",
];

fn cfn_synth(dir: &Path) -> assert_cmd::Command {
    let mut command = cargo_bin_cmd!("cfn-synth");
    command.current_dir(dir);
    command
}

fn template(out: &Path, stack: &str) -> Value {
    serde_json::from_str(&fs::read_to_string(out.join(format!("{stack}.template.json"))).unwrap()).unwrap()
}

fn resources<'a>(template: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    template["Resources"].as_object().unwrap().iter().filter(|(_, resource)| resource["Type"] == kind).collect()
}

#[test]
fn forty_services_synthesize_each_with_its_task_service_scaling_and_listeners() {
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("large.yaml"), LARGE).unwrap();
    // Without buckets, the first stack past 51,200 bytes is named with the remedy, and nothing is written.
    cfn_synth(work.path()).args(["synth", "--config", "large.yaml"]).assert().code(2).stderr(
        predicate::str::contains("error: stack LargePlatform-Primary-").and(predicate::str::contains("--s3-bucket")),
    );
    assert!(!work.path().join("cfn.out").exists());

    cfn_synth(work.path()).args(["synth", "--config", "large.yaml"]).args(BUCKETS).assert().success();
    let out = work.path().join("cfn.out");
    for region in ["Primary", "DisasterRecovery"] {
        let compute = template(&out, &format!("LargePlatform-{region}-Compute"));
        let services = resources(&compute, "AWS::ECS::Service");
        assert_eq!(services.len(), 40, "{region}");
        let blue_green = services.iter().filter(|(_, s)| s["Properties"]["LoadBalancers"].is_array()).count();
        assert_eq!(blue_green, 25, "{region}: every HTTP service behind its target groups");
        assert_eq!(resources(&compute, "AWS::ECS::TaskDefinition").len(), 40, "{region}");
        assert_eq!(compute["Parameters"].as_object().unwrap().len(), 40, "{region}: one image tag each");
        let description = compute["Description"].as_str().unwrap();
        assert!(
            description.contains("running 40 applications (25 HTTP services and 15 queue workers)"),
            "{description}"
        );

        let scaling = template(&out, &format!("LargePlatform-{region}-Scaling"));
        assert_eq!(resources(&scaling, "AWS::ApplicationAutoScaling::ScalableTarget").len(), 41, "{region}: and Kong");
        let queue_alarms =
            resources(&scaling, "AWS::CloudWatch::Alarm").into_iter().filter(|(id, _)| id.ends_with("QueueDepthAlarm"));
        assert_eq!(queue_alarms.count(), 15, "{region}: each worker scales on the queue");

        // 25 listener pairs on the internal ALB, 50 ports, none shared.
        let ingress = template(&out, &format!("LargePlatform-{region}-Ingress"));
        let ports: BTreeSet<i64> = resources(&ingress, "AWS::ElasticLoadBalancingV2::Listener")
            .iter()
            .filter(|(_, listener)| listener["Properties"]["LoadBalancerArn"].to_string().contains("InternalAlb"))
            .map(|(_, listener)| listener["Properties"]["Port"].as_i64().unwrap())
            .collect();
        assert_eq!(ports.len(), 50, "{region}");
        assert_eq!((ports.first(), ports.last()), (Some(&443), Some(&9490)), "{region}");
        assert!(ports.contains(&8443) && ports.contains(&9444), "{region}");
    }

    // Kong routes each HTTP service at /<name> to its own production listener.
    let kong = fs::read_to_string(out.join("kong/LargePlatform-Primary-Gateway.yml")).unwrap();
    let kong: Value = serde_yaml::from_str(&kong).unwrap();
    let upstreams: Vec<(String, String)> = kong["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|service| {
            (service["routes"][0]["paths"][0].as_str().unwrap().to_owned(), service["url"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(upstreams.len(), 25);
    assert_eq!(
        upstreams[0],
        ("/orders-api".into(), "https://internal-us-east-1.api.integration-platform.example.com:443".into())
    );
    assert_eq!(
        upstreams[2],
        ("/invoices-api".into(), "https://internal-us-east-1.api.integration-platform.example.com:9445".into())
    );

    // Kong may reach every production listener, and nothing else on the internal ALB.
    let network = template(&out, "LargePlatform-Primary-Network");
    let from_kong: BTreeSet<i64> = resources(&network, "AWS::EC2::SecurityGroupIngress")
        .iter()
        .map(|(_, rule)| &rule["Properties"])
        .filter(|rule| {
            rule["GroupId"].to_string().contains("InternalAlbSecurityGroup")
                && rule["SourceSecurityGroupId"].to_string().contains("KongSecurityGroup")
        })
        .map(|rule| rule["FromPort"].as_i64().unwrap())
        .collect();
    let production: BTreeSet<i64> = [443].into_iter().chain((0..24).map(|n| 9443 + 2 * n)).collect();
    assert_eq!(from_kong, production);

    // The release builds and records all 40 images.
    let manifest: Value = serde_json::from_str(&fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let parameters = &manifest["release"]["imageParameters"]["LargePlatform-Primary-Compute"];
    assert_eq!(parameters.as_array().unwrap().len(), 40, "{parameters}");
    let buildspec = fs::read_to_string(out.join("buildspec/LargePlatform-Primary-Delivery.yml")).unwrap();
    assert!(buildspec.contains("large-platform/audit-worker") && buildspec.contains("large-platform/quotes-api"));
}

#[test]
fn the_large_example_passes_validate() {
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("large.yaml"), LARGE).unwrap();
    cfn_synth(work.path())
        .args(["validate", "--config", "large.yaml"])
        .args(BUCKETS)
        .assert()
        .success()
        .stderr(predicate::str::contains("2388 resources, 2388 checked").and(predicate::str::contains(": 0 findings")));
}

/// The config at `text` is refused with `expected` on stderr.
fn refused(text: &str, expected: &str) {
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("platform.yaml"), text).unwrap();
    cfn_synth(work.path())
        .args(["synth", "--config", "platform.yaml"])
        .args(BUCKETS)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(expected));
}

#[test]
fn a_route_to_a_service_that_does_not_exist_is_located() {
    let default = include_str!("../stacks/platform.yaml");
    let dangling = default.replacen("service: webhook-receiver", "service: webhooks", 1);
    let line = dangling.lines().position(|line| line.contains("service: webhooks")).unwrap() + 1;
    refused(
        &dangling,
        &format!(
            "platform.yaml:{line}:13: regions[0].compute.gateway.routes[1].service: \"webhooks\" is not an HTTP \
             service of compute.services (integration-service, webhook-receiver)"
        ),
    );
}

#[test]
fn more_http_services_than_the_internal_alb_has_listeners_for_is_an_error_with_the_remedy() {
    let one_more = LARGE.replacen(
        "        - worker:\n            name: order-worker",
        "        - http:\n            name: one-more-api\n            image: one-more:1\n            port: 8080\n            \
         cpu: 256\n            memory: 512\n            desired: 1\n            min: 1\n            max: 2\n        \
         - worker:\n            name: order-worker",
        1,
    );
    assert_ne!(one_more, LARGE, "stacks/large.yaml changed: update this test");
    refused(&one_more, "regions[0].compute.services: 26 HTTP services need 52 listeners on the internal ALB");
}

#[test]
fn an_entry_that_is_both_kinds_is_refused() {
    let both = LARGE.replacen(
        "        - worker:\n            name: order-worker",
        "        - http: {name: x, image: y, port: 1, cpu: 256, memory: 512, desired: 1, min: 1, max: 1}\n          \
         worker:\n            name: order-worker",
        1,
    );
    assert_ne!(both, LARGE, "stacks/large.yaml changed: update this test");
    let line = both.lines().position(|line| line.contains("- http: {name: x")).unwrap() + 1;
    refused(
        &both,
        &format!(
            "platform.yaml:{line}:11: regions[0].compute.services[25]: a service is one of `http: {{...}}` or \
             `worker: {{...}}`, not both: `worker` follows `http`"
        ),
    );
}
