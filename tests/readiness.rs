//! The deploy-readiness rules, each against a small app built through the library: one that breaks
//! exactly that rule, whose finding must carry the right rule ID, resource and path, and the same app
//! fixed, which must yield no finding at all.

use serde_json::{json, Value as Json};

use cfn_synth::cfn::cloudwatch::alarm::AlarmStatistic;
use cfn_synth::checks::readiness::{self, Model, StackTemplate};
use cfn_synth::checks::{stack_templates, Finding};
use cfn_synth::constructs::compute::{idle_alarm, Step};
use cfn_synth::constructs::monitoring::{AlarmTopic, MetricAlarm, Subscriber};
use cfn_synth::constructs::network::{GatewayEndpoint, InterfaceEndpoint};
use cfn_synth::prelude::*;

/// What to leave out of, or put into, the test app.
struct Variant {
    /// Interface endpoints to create (the S3 gateway comes with `ecr.dkr`).
    endpoints: &'static [&'static str],
    /// The tasks' subnet tier: private-app routes through NAT, isolated does not.
    tier: SubnetTier,
    /// The image name; `public.ecr.aws/...` goes through the pull-through cache.
    image: &'static str,
    /// Endpoints in a stack of their own, and whether the compute stack depends on it.
    endpoints_stack: Option<bool>,
}

const ALL_ENDPOINTS: &[&str] = &["ecr.api", "ecr.dkr", "logs", "secretsmanager", "sqs", "kms"];

impl Default for Variant {
    fn default() -> Self {
        Self {
            endpoints: ALL_ENDPOINTS,
            tier: SubnetTier::Isolated,
            image: "public.ecr.aws/docker/library/nginx:1.27",
            endpoints_stack: None,
        }
    }
}

/// A VPC, endpoints, a queue with its DLQ, an alarm topic, an ECS worker with a secret and queue
/// grants, its scaling, and alarms on every queue: clean when nothing is left out.
fn build(variant: &Variant) -> App {
    let mut app = App::new("t");
    app.add_stack("Net", "us-east-1").unwrap();
    if variant.endpoints_stack.is_some() {
        app.add_stack("Endpoints", "us-east-1").unwrap();
    }
    app.add_stack("Compute", "us-east-1").unwrap();
    let net = app.stack("Net").unwrap().clone();
    let vpc = Vpc::new(&mut net.root(), "Vpc", VpcProps::default()).unwrap();
    let tasks = SecurityGroup::new(&mut net.root(), "Tasks", &vpc, "worker tasks").unwrap();
    let endpoints_stack = if variant.endpoints_stack.is_some() { "Endpoints" } else { "Net" };
    let stack = app.stack(endpoints_stack).unwrap();
    let mut created = Vec::new();
    for service in variant.endpoints {
        let id = format!("{}Endpoint", service.replace('.', "-"));
        created.push(InterfaceEndpoint::new(&mut stack.root(), &id, &vpc, service).unwrap());
        if *service == "ecr.dkr" {
            GatewayEndpoint::s3(&mut stack.root(), "S3Endpoint", &vpc).unwrap();
            tasks
                .allow_egress_to_prefix_list(
                    &mut stack.root(),
                    "TasksToS3",
                    Value::from("pl-63a5400a"),
                    Port::tcp(443),
                    "layers",
                )
                .unwrap();
        }
    }
    for endpoint in &created {
        endpoint.allow_from(&tasks, "tasks call AWS").unwrap();
    }
    if variant.tier == SubnetTier::PrivateApp {
        tasks.allow_egress_anywhere(&mut net.root(), "TasksToInternet", Port::tcp(443), "registries").unwrap();
    }

    let compute = app.stack("Compute").unwrap();
    if variant.endpoints_stack == Some(true) {
        compute.add_dependency("Endpoints");
    }
    let mut root = compute.root();
    let key = EncryptionKey::new(&mut root, "Key", KeyProps::default()).unwrap();
    let queue = Queue::new(
        &mut root,
        "Work",
        &key,
        &QueueProps { max_receive_count: 5, visibility_timeout_seconds: 60, retention_seconds: 345_600 },
    )
    .unwrap();
    let token = Secret::new(&mut root, "Token", &key, SecretProps::default()).unwrap();
    let cluster = Cluster::new(&mut root, "Cluster", &vpc).unwrap();
    let cache = PullThroughCache::ecr_public(&mut root, "Cache").unwrap();
    let image = cache.image(variant.image).unwrap_or_else(|| ContainerImage::registry(variant.image));
    let task_props = TaskProps::new(image, &key).health_check("true").secret("TOKEN", ContainerSecret::whole(&token));
    let task = FargateTaskDefinition::new(&mut root, "Worker", task_props).unwrap();
    let service_props = ServiceProps::new(&cluster, &task)
        .subnets(variant.tier)
        .security_groups(&[&tasks])
        .capacity(Capacity::Spot { on_demand_base: 1, on_demand_weight: 1, spot_weight: 3 });
    let service = FargateService::new(&mut root, "WorkerService", service_props).unwrap();
    let topic = AlarmTopic::new(
        &mut root,
        "Alarms",
        &[Subscriber { protocol: "email".into(), endpoint: "ops@example.com".into() }],
    )
    .unwrap();
    MetricAlarm::above(
        "DLQ",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        vec![("QueueName".into(), queue.dead_letter_name().unwrap())],
        AlarmStatistic::Maximum,
        0.0,
        1,
    )
    .add(&mut root, "DeadLetterAlarm", vec![topic.arn()])
    .unwrap();
    let scaling = ServiceScaling::for_service(&mut root, "Scaling", &service, 1, 4).unwrap();
    scaling.scale_out_on_cpu(&mut root, "CpuScaleOut", 70.0).unwrap();
    let out = scaling.step_policy(&mut root, "QueueScaleOut", &[Step { from: 0, change: 2 }], 60).unwrap();
    let queue_dims = vec![("QueueName".to_owned(), queue.name())];
    MetricAlarm::above(
        "depth",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        queue_dims.clone(),
        AlarmStatistic::Maximum,
        500.0,
        1,
    )
    .add(&mut root, "QueueDepthAlarm", vec![out.ref_value()])
    .unwrap();
    let scale_in = scaling.step_policy(&mut root, "IdleScaleIn", &[Step { from: 0, change: -1 }], 300).unwrap();
    use cfn_synth::cfn::cloudwatch::alarm::{Dimension, Metric, MetricDataQuery, MetricStat};
    let metric = |id: &str, namespace: &str, name: &str, dims: Vec<Dimension>| {
        MetricDataQuery::new(id)
            .metric_stat(MetricStat::new(
                Metric::new().namespace(namespace).metric_name(name).dimensions(dims),
                60,
                "Maximum",
            ))
            .return_data(false)
    };
    idle_alarm(
        &mut root,
        "IdleAlarm",
        "idle",
        vec![
            metric(
                "visible",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                vec![Dimension::new("QueueName", queue.name())],
            ),
            metric(
                "cpu",
                "AWS/ECS",
                "CPUUtilization",
                vec![Dimension::new("ClusterName", cluster.name()), Dimension::new("ServiceName", service.name())],
            ),
        ],
        "IF(FILL(visible, 0) == 0 AND cpu < 20, 1, 0)",
        scale_in.ref_value(),
    )
    .unwrap();
    queue.grant_consume(&task).unwrap();
    app
}

/// The app's templates, owned: the tests edit them.
fn templates(app: &App) -> Vec<StackTemplate<'static>> {
    stack_templates(&app.synth().unwrap()).into_iter().map(StackTemplate::into_owned).collect()
}

fn analyse(stacks: Vec<StackTemplate<'_>>) -> Vec<Finding> {
    readiness::analyse(stacks)
}

/// Edits one resource of one stack's template, the way a hand-written template could differ.
fn edit(stacks: &mut [StackTemplate<'_>], stack: &str, id: &str, change: impl FnOnce(&mut Json)) {
    let template = stacks.iter_mut().find(|s| s.name == stack).unwrap().template.to_mut();
    change(&mut template["Resources"][id]);
}

fn only(findings: &[Finding], rule: &str) -> Finding {
    assert!(findings.iter().all(|f| f.rule == rule), "only {rule} expected: {findings:#?}");
    assert!(!findings.is_empty(), "a {rule} finding expected");
    findings[0].clone()
}

#[test]
fn the_complete_app_has_no_finding() {
    assert_eq!(analyse(templates(&build(&Variant::default()))), vec![]);
    let through_nat =
        Variant { tier: SubnetTier::PrivateApp, endpoints: &[], image: "nginx:1.27", ..Variant::default() };
    assert_eq!(analyse(templates(&build(&through_nat))), vec![], "NAT and HTTPS egress reach every API");
}

#[test]
fn cs001_isolated_subnets_without_endpoints_cannot_pull_or_log() {
    let app = build(&Variant { endpoints: &[], ..Variant::default() });
    let findings = analyse(templates(&app));
    let rules: Vec<&str> = findings.iter().map(|f| f.rule).collect();
    assert!(rules.contains(&"CS001") && rules.contains(&"CS002"), "{findings:#?}");
    let pull = findings.iter().find(|f| f.rule == "CS001").unwrap();
    assert_eq!((pull.stack.as_str(), pull.logical_id.as_str()), ("Compute", "WorkerService"));
    assert!(
        pull.path.starts_with("Compute/WorkerService → sg Tasks → no ecr.api endpoint in the VPC"),
        "{}",
        pull.path
    );
    assert!(pull.path.contains("has no route to a NAT gateway"), "{}", pull.path);
}

#[test]
fn cs001_an_ecr_image_needs_the_ecr_endpoints_exactly() {
    let endpoints: &[&str] = &["logs", "secretsmanager", "sqs", "kms"];
    let finding = only(&analyse(templates(&build(&Variant { endpoints, ..Variant::default() }))), "CS001");
    assert!(finding.path.contains("no ecr.api endpoint in the VPC"), "{}", finding.path);
}

#[test]
fn cs001_a_docker_hub_image_without_a_nat_route() {
    let finding = only(&analyse(templates(&build(&Variant { image: "kong:3.9.1", ..Variant::default() }))), "CS001");
    assert_eq!(
        finding.path,
        "Compute/WorkerService → sg Tasks → subnet Net/VpcIsolatedSubnet1 has no route to a NAT gateway → image \
         kong:3.9.1 (registry outside the account) unreachable"
    );
}

#[test]
fn cs002_logs_without_their_endpoint() {
    let endpoints: &[&str] = &["ecr.api", "ecr.dkr", "secretsmanager", "sqs", "kms"];
    let finding = only(&analyse(templates(&build(&Variant { endpoints, ..Variant::default() }))), "CS002");
    assert!(finding.path.contains("no logs endpoint in the VPC"), "{}", finding.path);
}

#[test]
fn cs003_injected_secrets_without_secrets_manager() {
    let endpoints: &[&str] = &["ecr.api", "ecr.dkr", "logs", "sqs", "kms"];
    let finding = only(&analyse(templates(&build(&Variant { endpoints, ..Variant::default() }))), "CS003");
    assert!(finding.path.contains("1 injected secrets (secretsmanager) unreachable"), "{}", finding.path);
}

#[test]
fn cs004_a_granted_queue_without_its_endpoint() {
    let endpoints: &[&str] = &["ecr.api", "ecr.dkr", "logs", "secretsmanager", "kms"];
    let finding = only(&analyse(templates(&build(&Variant { endpoints, ..Variant::default() }))), "CS004");
    assert!(finding.path.contains("Compute/Work (granted; sqs API) unreachable"), "{}", finding.path);
}

#[test]
fn cs004_a_database_whose_port_is_closed_to_the_tasks() {
    // A PostgreSQL instance behind its own group, named in the worker's environment, with an alarm.
    let with_database = |ingress: Json, egress_to: Option<Json>| {
        let mut stacks = templates(&build(&Variant::default()));
        let tasks_group = json!({"Fn::ImportValue": "Net:GetAttTasksGroupId"});
        let resources = &mut stacks.iter_mut().find(|s| s.name == "Compute").unwrap().template.to_mut()["Resources"];
        resources["DbGroup"] = json!({
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {"GroupDescription": "db", "SecurityGroupIngress": ingress}
        });
        resources["Db"] = json!({
            "Type": "AWS::RDS::DBInstance",
            "Properties": {"Engine": "postgres", "VPCSecurityGroups": [{"Ref": "DbGroup"}]}
        });
        resources["DbAlarm"] = json!({
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {"MetricName": "CPUUtilization", "Namespace": "AWS/RDS", "AlarmActions": [{"Ref": "Alarms"}],
                           "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": {"Ref": "Db"}}]}
        });
        if let Some(destination) = egress_to {
            resources["TasksToDb"] = json!({
                "Type": "AWS::EC2::SecurityGroupEgress",
                "Properties": {"GroupId": tasks_group, "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                               "DestinationSecurityGroupId": destination}
            });
        }
        let container = &mut resources["Worker"]["Properties"]["ContainerDefinitions"][0];
        container["Environment"] =
            json!([{"Name": "DATABASE_HOST", "Value": {"Fn::GetAtt": ["Db", "Endpoint.Address"]}}]);
        stacks
    };
    let admits_tasks = json!([{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                                "SourceSecurityGroupId": {"Fn::ImportValue": "Net:GetAttTasksGroupId"}}]);
    let to_database = json!({"Fn::GetAtt": ["DbGroup", "GroupId"]});

    let closed = only(&analyse(with_database(json!([]), Some(to_database.clone()))), "CS004");
    assert_eq!(closed.path, "Compute/WorkerService → sg Tasks → port 5432 → sg DbGroup → Compute/Db unreachable");
    let no_egress = only(&analyse(with_database(admits_tasks.clone(), None)), "CS004");
    assert_eq!(no_egress.logical_id, "WorkerService", "ingress alone is not enough");
    let literal = with_database(admits_tasks.clone(), Some(json!("sg-0db")));
    assert_eq!(only(&analyse(literal), "CS004").logical_id, "WorkerService", "a literal ID is another group");
    assert_eq!(analyse(with_database(admits_tasks, Some(to_database))), vec![], "both sides open on 5432");
}

#[test]
fn cs005_a_group_open_to_the_internet() {
    let mut stacks = templates(&build(&Variant::default()));
    edit(&mut stacks, "Net", "Tasks", |group| {
        group["Properties"]["SecurityGroupIngress"] =
            json!([{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}]);
    });
    let finding = only(&analyse(stacks), "CS005");
    assert_eq!((finding.logical_id.as_str(), finding.path.as_str()), ("Tasks", "0.0.0.0/0 → Net/Tasks"));
}

#[test]
fn cs010_a_capacity_provider_added_beside_the_cluster_without_a_dependency() {
    let mut stacks = templates(&build(&Variant::default()));
    edit(&mut stacks, "Compute", "Cluster", |cluster| {
        let props = cluster["Properties"].as_object_mut().unwrap();
        props.remove("CapacityProviders");
        props.remove("DefaultCapacityProviderStrategy");
    });
    let template = stacks.iter_mut().find(|s| s.name == "Compute").unwrap().template.to_mut();
    template["Resources"]["ClusterProviders"] = json!({
        "Type": "AWS::ECS::ClusterCapacityProviderAssociations",
        "Properties": {"Cluster": {"Ref": "Cluster"}, "CapacityProviders": ["FARGATE", "FARGATE_SPOT"],
                       "DefaultCapacityProviderStrategy": [{"CapacityProvider": "FARGATE"}]}
    });
    let fixed = {
        let mut stacks = stacks.clone();
        edit(&mut stacks, "Compute", "WorkerService", |service| service["DependsOn"] = json!(["ClusterProviders"]));
        stacks
    };
    let finding = only(&analyse(stacks), "CS010");
    assert!(
        finding.path.starts_with(
            "Compute/WorkerService → capacity provider FARGATE → Compute/Cluster → Compute/ClusterProviders adds it"
        ),
        "{}",
        finding.path
    );
    assert_eq!(analyse(fixed), vec![]);
}

/// `Model::cross_stack_references` follows imports and stack outputs only; it must find exactly what
/// following every reference finds in other stacks, for every resource of the platform.
#[test]
fn cross_stack_references_are_the_references_into_other_stacks() {
    let model = Model::new(platform_templates());
    let mut crossings = 0;
    for (index, stack) in model.stacks().iter().enumerate() {
        for (id, resource) in stack.template["Resources"].as_object().unwrap() {
            let everything: Vec<_> =
                model.references(index, resource).into_iter().filter(|res| res.stack != index).collect();
            assert_eq!(model.cross_stack_references(index, resource), everything, "{}/{id}", stack.name);
            crossings += everything.len();
        }
    }
    assert!(crossings > 100, "the platform reads across stacks {crossings} times");
}

/// A stack read through an import (same region) or a stack output (across regions) must deploy
/// before its reader: with the primary data stack moved to the end, both kinds of reader are findings.
#[test]
fn cs010_a_stack_read_before_it_deploys() {
    let mut stacks = platform_templates();
    let position = stacks.iter().position(|stack| stack.name == DATA).unwrap();
    let data = stacks.remove(position);
    stacks.push(data);
    let findings = analyse(stacks);
    let late = |stack: &str, id: &str| {
        findings.iter().find(|f| f.rule == "CS010" && f.stack == stack && f.logical_id == id).unwrap_or_else(|| {
            panic!("no CS010 on {stack}/{id}: {findings:#?}");
        })
    };
    // Across regions, through Fn::GetStackOutput: the standby's replica reads the primary database.
    let replica = late(RECOVERY_DATA, "Database");
    assert_eq!(replica.path, format!("{RECOVERY_DATA}/Database → {DATA}/Database"));
    assert_eq!(replica.message, format!("reads Database of stack {DATA}, which deploys later"));
    // In the region, through Fn::ImportValue: the compute stack's tasks read the data stack's values.
    assert!(findings.iter().any(|f| f.rule == "CS010" && f.stack == COMPUTE && f.path.contains(&format!("→ {DATA}/"))));
    // In deploy order there is none.
    assert!(analyse(platform_templates()).iter().all(|f| f.rule != "CS010"));
}

#[test]
fn cs010_endpoints_of_a_stack_the_tasks_do_not_depend_on() {
    let finding =
        only(&analyse(templates(&build(&Variant { endpoints_stack: Some(false), ..Variant::default() }))), "CS010");
    assert!(finding.message.contains("of stack Endpoints at run time, but no dependency deploys"), "{finding:?}");
    assert_eq!(analyse(templates(&build(&Variant { endpoints_stack: Some(true), ..Variant::default() }))), vec![]);
}

#[test]
fn cs020_cpu_tracking_that_scales_in_against_the_queue_rule() {
    let mut stacks = templates(&build(&Variant::default()));
    edit(&mut stacks, "Compute", "CpuScaleOut", |policy| {
        policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]["DisableScaleIn"] = json!(false);
    });
    let finding = only(&analyse(stacks), "CS020");
    assert_eq!(
        finding.path,
        "Compute/Scaling → CpuScaleOut → scales in on AWS/ECS/CPUUtilization while QueueScaleOut scales out on \
         AWS/SQS/ApproximateNumberOfMessagesVisible"
    );
}

#[test]
fn cs020_an_idle_rule_blind_to_the_queue() {
    let mut stacks = templates(&build(&Variant::default()));
    edit(&mut stacks, "Compute", "IdleAlarm", |alarm| {
        let metrics = alarm["Properties"]["Metrics"].as_array_mut().unwrap();
        metrics.remove(0);
        metrics.last_mut().unwrap()["Expression"] = json!("IF(cpu < 20, 1, 0)");
    });
    let finding = only(&analyse(stacks), "CS020");
    assert!(finding.path.contains("IdleScaleIn (alarm IdleAlarm) ignores AWS/SQS/ApproximateNumberOfMessagesVisible"));
}

#[test]
fn cs020_an_idle_rule_watching_another_queue() {
    let mut stacks = templates(&build(&Variant::default()));
    edit(&mut stacks, "Compute", "IdleAlarm", |alarm| {
        let visible = &mut alarm["Properties"]["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"][0];
        visible["Value"] = json!({"Fn::GetAtt": ["WorkDeadLetterQueue", "QueueName"]});
    });
    let finding = only(&analyse(stacks), "CS020");
    assert!(finding
        .path
        .contains("ignores AWS/SQS/ApproximateNumberOfMessagesVisible, which QueueScaleOut scales out on"));
}

#[test]
fn cs030_an_alarm_with_no_action() {
    let mut stacks = templates(&build(&Variant::default()));
    edit(&mut stacks, "Compute", "DeadLetterAlarm", |alarm| {
        alarm["Properties"].as_object_mut().unwrap().remove("AlarmActions");
    });
    let finding = only(&analyse(stacks), "CS030");
    assert_eq!(finding.logical_id, "DeadLetterAlarm");
}

#[test]
fn cs031_and_cs032_a_dead_letter_queue_nobody_watches() {
    let mut stacks = templates(&build(&Variant::default()));
    let template = stacks.iter_mut().find(|s| s.name == "Compute").unwrap().template.to_mut();
    template["Resources"].as_object_mut().unwrap().remove("DeadLetterAlarm");
    let findings = analyse(stacks);
    let rules: Vec<(&str, &str)> = findings.iter().map(|f| (f.rule, f.logical_id.as_str())).collect();
    assert_eq!(rules, [("CS031", "WorkDeadLetterQueue"), ("CS032", "WorkDeadLetterQueue")]);
}

#[test]
fn cs033_an_alarm_topic_on_the_aws_managed_key() {
    let mut stacks = templates(&build(&Variant::default()));
    edit(&mut stacks, "Compute", "Alarms", |topic| topic["Properties"]["KmsMasterKeyId"] = json!("alias/aws/sns"));
    let finding = only(&analyse(stacks), "CS033");
    assert_eq!(
        (finding.logical_id.as_str(), finding.path.as_str()),
        ("DeadLetterAlarm", "Compute/DeadLetterAlarm → Compute/Alarms")
    );
    let mut stacks = templates(&build(&Variant::default()));
    edit(&mut stacks, "Compute", "AlarmsKey", |key| {
        key["Properties"]["KeyPolicy"]["Statement"].as_array_mut().unwrap().truncate(1);
    });
    assert!(only(&analyse(stacks), "CS033").message.contains("whose key policy does not let cloudwatch"));
}

#[test]
fn a_finding_is_suppressed_only_on_its_resource_and_only_with_a_reason() {
    let mut stacks = templates(&build(&Variant::default()));
    edit(&mut stacks, "Compute", "DeadLetterAlarm", |alarm| {
        alarm["Properties"].as_object_mut().unwrap().remove("AlarmActions");
        alarm["Metadata"] = json!({"cfn-synth": {"suppress": [{"rule": "CS030", "reason": ""}]}});
    });
    assert_eq!(only(&analyse(stacks.clone()), "CS030").logical_id, "DeadLetterAlarm", "no reason, no suppression");
    edit(&mut stacks, "Compute", "DeadLetterAlarm", |alarm| {
        alarm["Metadata"]["cfn-synth"]["suppress"][0]["reason"] = json!("a test alarm read by a dashboard only");
    });
    assert_eq!(analyse(stacks), vec![]);
}

#[test]
fn a_reference_the_analysis_cannot_follow_is_informational() {
    let mut stacks = templates(&build(&Variant::default()));
    edit(&mut stacks, "Compute", "WorkerService", |service| {
        service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"] = json!(["subnet-0abc"]);
    });
    let finding = only(&analyse(stacks), "CS099");
    assert_eq!(finding.severity, cfn_synth::checks::Severity::Info);
}

/// The default platform, with every stack in deploy order.
fn platform_templates() -> Vec<StackTemplate<'static>> {
    let config = cfn_synth::config::ConfigFile::embedded_default().unwrap();
    let app = cfn_synth::platform::build(config.config()).unwrap().synth().unwrap();
    stack_templates(&app).into_iter().map(StackTemplate::into_owned).collect()
}

#[test]
fn the_default_platform_has_no_finding_and_each_hop_of_its_chain_is_checked() {
    assert_eq!(analyse(platform_templates()), vec![]);
    // Kong calls the Webhook Receiver's listener of the internal ALB on 9443 (its route names the
    // alias `internal-<region>.<domain>:9443`). Without the rule admitting Kong there, that hop breaks.
    let mut stacks = platform_templates();
    let network = "IntegrationPlatform-Primary-Network";
    let template = stacks.iter_mut().find(|s| s.name == network).unwrap().template.to_mut();
    template["Resources"]
        .as_object_mut()
        .unwrap()
        .remove("InternalAlbSecurityGroupFromKongSecurityGroupPort9443Ingress");
    let findings = analyse(stacks);
    only(&findings, "CS005");
    let ids: Vec<&str> = findings.iter().map(|f| f.logical_id.as_str()).collect();
    assert_eq!(ids, ["WebhookProduction", "KongService"], "the listener admits no one, and Kong cannot call it");
    let finding = &findings[1];
    assert_eq!(
        finding.path,
        "IntegrationPlatform-Primary-Gateway/KongService → sg KongSecurityGroup → \
         internal-us-east-1.api.integration-platform.example.com:9443 → \
         IntegrationPlatform-Primary-Ingress/InternalAlb unreachable"
    );
    // And the public ALB's hop to Kong.
    let mut stacks = platform_templates();
    let template = stacks.iter_mut().find(|s| s.name == network).unwrap().template.to_mut();
    template["Resources"].as_object_mut().unwrap().remove("KongSecurityGroupFromAlbSecurityGroupPort8000Ingress");
    let finding = only(&analyse(stacks), "CS005");
    assert!(finding.path.starts_with("IntegrationPlatform-Primary-Ingress/PublicAlb → "), "{}", finding.path);
}

/// One finding of `rule` among `findings`, which hold nothing but `allowed` rules besides.
fn one_of(findings: &[Finding], rule: &str, allowed: &[&str]) -> Finding {
    assert!(findings.iter().all(|f| f.rule == rule || allowed.contains(&f.rule)), "{findings:#?}");
    let matching: Vec<&Finding> = findings.iter().filter(|f| f.rule == rule).collect();
    assert_eq!(matching.len(), 1, "one {rule} finding expected: {findings:#?}");
    matching[0].clone()
}

const COMPUTE: &str = "IntegrationPlatform-Primary-Compute";
const DEPLOYMENTS: &str = "IntegrationPlatform-Primary-Deployments";
const GATEWAY: &str = "IntegrationPlatform-Primary-Gateway";

#[test]
fn a_code_deploy_controller_or_a_blue_green_strategy_without_its_configuration_has_no_release_path() {
    let mut stacks = platform_templates();
    edit(&mut stacks, COMPUTE, "IntegrationServiceService", |service| {
        service["Properties"]["DeploymentController"] = json!({"Type": "CODE_DEPLOY"});
    });
    let finding = only(&analyse(stacks), "CS040");
    assert_eq!(
        (finding.logical_id.as_str(), finding.path.as_str()),
        (
            "IntegrationServiceService",
            "IntegrationPlatform-Primary-Compute/IntegrationServiceService → DeploymentController CODE_DEPLOY"
        )
    );

    let mut stacks = platform_templates();
    edit(&mut stacks, GATEWAY, "KongService", |service| {
        service["Properties"]["LoadBalancers"][0].as_object_mut().unwrap().remove("AdvancedConfiguration");
    });
    let finding = only(&analyse(stacks), "CS040");
    assert!(finding.message.contains("AdvancedConfiguration"), "{}", finding.message);
}

#[test]
fn a_rollback_alarm_that_misses_the_alternate_target_group_is_a_finding() {
    let mut stacks = platform_templates();
    edit(&mut stacks, DEPLOYMENTS, "WebhookReceiverRollbackAlarm", |alarm| {
        let metrics = alarm["Properties"]["Metrics"].as_array_mut().unwrap();
        metrics.retain(|query| query["Id"] != "green");
        metrics.last_mut().unwrap()["Expression"] = json!("FILL(blue, 0)");
    });
    let finding = only(&analyse(stacks), "CS042");
    assert_eq!(finding.logical_id, "WebhookReceiverService");
    assert!(finding
        .path
        .ends_with("target group IntegrationPlatform-Primary-Ingress/WebhookGreen → no rollback alarm"));

    let mut stacks = platform_templates();
    edit(&mut stacks, GATEWAY, "KongService", |service| {
        service["Properties"]["DeploymentConfiguration"]["Alarms"]["Rollback"] = json!(false);
    });
    let findings = analyse(stacks);
    assert_eq!(findings.len(), 2, "neither target group is watched: {findings:#?}");
    assert!(findings.iter().all(|f| f.rule == "CS042" && f.logical_id == "KongService"));
}

#[test]
fn a_hook_that_cannot_reach_its_test_listener_is_a_finding() {
    // Internal balancer: the rule that admits the hook's group on the test port is gone.
    let mut stacks = platform_templates();
    let template = stacks.iter_mut().find(|s| s.name == DEPLOYMENTS).unwrap().template.to_mut();
    template["Resources"]
        .as_object_mut()
        .unwrap()
        .remove("InternalAlbSecurityGroupFromIntegrationServiceSmokeTestSecurityGroupPort8443Ingress");
    let finding = one_of(&analyse(stacks), "CS041", &["CS005"]);
    assert_eq!(finding.logical_id, "IntegrationServiceService");
    assert_eq!(
        finding.path,
        "IntegrationPlatform-Primary-Compute/IntegrationServiceService → hook \
         IntegrationPlatform-Primary-Deployments/IntegrationServiceSmokeTest → \
         IntegrationPlatform-Primary-Ingress/IntegrationTest → port 8443 → IntegrationPlatform-Primary-Ingress/InternalAlb"
    );

    // Internet-facing balancer: the NAT gateways' addresses are no longer admitted.
    let mut stacks = platform_templates();
    let template = stacks.iter_mut().find(|s| s.name == DEPLOYMENTS).unwrap().template.to_mut();
    let resources = template["Resources"].as_object_mut().unwrap();
    for index in 1..=3 {
        resources.remove(&format!("KongTestListenerFromNat{index}"));
    }
    let finding = one_of(&analyse(stacks), "CS041", &["CS005"]);
    assert!(finding.message.contains("admit no NAT gateway address on 8443"), "{}", finding.message);

    // A hook outside the VPC has no address the test port could admit.
    let mut stacks = platform_templates();
    edit(&mut stacks, DEPLOYMENTS, "WebhookReceiverSmokeTest", |function| {
        function["Properties"].as_object_mut().unwrap().remove("VpcConfig");
    });
    let finding = one_of(&analyse(stacks), "CS041", &[]);
    assert!(finding.message.contains("outside the VPC"), "{}", finding.message);
}

const DELIVERY: &str = "IntegrationPlatform-Primary-Delivery";

/// The pipeline's deploy action of the compute stack, by index into its stages.
fn compute_deploy_action<'a>(stacks: &'a mut [StackTemplate<'_>]) -> &'a mut Json {
    let template = stacks.iter_mut().find(|s| s.name == DELIVERY).unwrap().template.to_mut();
    let stages = template["Resources"]["Pipeline"]["Properties"]["Stages"].as_array_mut().unwrap();
    let stage = stages.iter_mut().find(|stage| stage["Name"] == "Deploy-us-east-1").unwrap();
    &mut stage["Actions"][0]
}

#[test]
fn a_pipeline_that_cannot_deploy_what_it_releases_is_a_finding() {
    // An override the template does not declare: CloudFormation would reject the update.
    let mut stacks = platform_templates();
    let action = compute_deploy_action(&mut stacks);
    let overrides = action["Configuration"]["ParameterOverrides"].as_str().unwrap().to_owned();
    action["Configuration"]["ParameterOverrides"] =
        json!(overrides.replacen("IntegrationServiceImageTag", "IntegrationImageTag", 1));
    let finding = only(&analyse(stacks), "CS043");
    assert_eq!((finding.stack.as_str(), finding.logical_id.as_str()), (DELIVERY, "Pipeline"));
    assert_eq!(finding.path, format!("{DELIVERY}/Pipeline → {COMPUTE} (us-east-1)"));
    assert!(finding.message.contains("IntegrationImageTag"), "{}", finding.message);

    // The deploy role without the task roles' path: no new revision could be registered.
    let mut stacks = platform_templates();
    edit(&mut stacks, DELIVERY, "UsEast1DeployRole", |role| {
        let statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].as_array_mut().unwrap();
        statements.retain(|statement| !statement.to_string().contains("released-tasks"));
    });
    let findings = analyse(stacks);
    assert_eq!(findings.len(), 6, "two roles of each of three task definitions: {findings:#?}");
    assert!(findings.iter().all(|f| f.rule == "CS043" && f.message.contains("may not pass")), "{findings:#?}");

    // The pipeline's role without iam:PassRole on the deploy roles.
    let mut stacks = platform_templates();
    edit(&mut stacks, DELIVERY, "PipelineRole", |role| {
        let statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].as_array_mut().unwrap();
        statements.retain(|statement| !statement.to_string().contains("iam:PassRole"));
    });
    let findings = analyse(stacks);
    assert_eq!(findings.len(), 3, "one per deploy action (us-east-1; eu-west-1 standby and record): {findings:#?}");
    assert!(findings.iter().all(|f| f.message.contains("may not pass the deploy role")), "{findings:#?}");
}

#[test]
fn a_hook_ecs_cannot_invoke_is_a_finding() {
    let mut stacks = platform_templates();
    edit(&mut stacks, DEPLOYMENTS, "BlueGreenRolesHooks", |role| {
        let statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].as_array_mut().unwrap();
        statements.retain(|statement| !statement.to_string().contains("IntegrationServiceSmokeTest"));
    });
    let finding = only(&analyse(stacks), "CS041");
    assert_eq!((finding.stack.as_str(), finding.logical_id.as_str()), (COMPUTE, "IntegrationServiceService"));
    assert_eq!(
        finding.path,
        format!("{COMPUTE}/IntegrationServiceService → hook {DEPLOYMENTS}/IntegrationServiceSmokeTest → role BlueGreenRolesHooks")
    );
}

const STORAGE: &str = "IntegrationPlatform-DisasterRecovery-Storage";
const DATA: &str = "IntegrationPlatform-Primary-Data";

#[test]
fn a_key_used_outside_its_region_is_a_finding() {
    // A replica bucket of eu-west-1 encrypted with a key of us-east-1.
    let mut stacks = platform_templates();
    edit(&mut stacks, STORAGE, "DocumentsBucket", |bucket| {
        bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
            ["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] =
            json!("arn:aws:kms:us-east-1:111122223333:key/primary");
    });
    let finding = only(&analyse(stacks), "CS050");
    assert_eq!((finding.stack.as_str(), finding.logical_id.as_str()), (STORAGE, "DocumentsBucket"));
    assert!(finding.message.contains("uses in eu-west-1 a KMS key of us-east-1"), "{}", finding.message);

    // Replicas re-encrypted with the source region's key: the destination is in eu-west-1.
    let mut stacks = platform_templates();
    edit(&mut stacks, DATA, "AuditLogsBucket", |bucket| {
        bucket["Properties"]["ReplicationConfiguration"]["Rules"][0]["Destination"]["EncryptionConfiguration"]
            ["ReplicaKmsKeyID"] = json!({"Fn::GetAtt": ["DataKey", "Arn"]});
    });
    let finding = only(&analyse(stacks), "CS050");
    assert_eq!((finding.stack.as_str(), finding.logical_id.as_str()), (DATA, "AuditLogsBucket"));
    assert_eq!(
        finding.path,
        format!(
            "{DATA}/AuditLogsBucket → Properties.ReplicationConfiguration.Rules[0].Destination\
             .EncryptionConfiguration.ReplicaKmsKeyID → key of us-east-1"
        )
    );

    // The origin-verify secret's eu-west-1 replica encrypted with the edge's us-east-1 key.
    let mut stacks = platform_templates();
    edit(&mut stacks, "IntegrationPlatform-Primary-Edge", "OriginVerifySecret", |secret| {
        secret["Properties"]["ReplicaRegions"][0]["KmsKeyId"] = json!({"Fn::GetAtt": ["EdgeKey", "Arn"]});
    });
    let finding = only(&analyse(stacks), "CS050");
    assert_eq!(finding.logical_id, "OriginVerifySecret");

    // The pipeline's eu-west-1 artifact store encrypted with the us-east-1 store's key.
    let mut stacks = platform_templates();
    edit(&mut stacks, DELIVERY, "Pipeline", |pipeline| {
        pipeline["Properties"]["ArtifactStores"][1]["ArtifactStore"]["EncryptionKey"]["Id"] =
            json!({"Fn::GetAtt": ["ArtifactsKey", "Arn"]});
    });
    let finding = only(&analyse(stacks), "CS050");
    assert_eq!((finding.stack.as_str(), finding.logical_id.as_str()), (DELIVERY, "Pipeline"));
}

const RECOVERY_DATA: &str = "IntegrationPlatform-DisasterRecovery-Data";
const RECOVERY_COMPUTE: &str = "IntegrationPlatform-DisasterRecovery-Compute";

/// Edits every container of every task definition of a stack.
fn edit_containers(stacks: &mut [StackTemplate<'_>], stack: &str, mut change: impl FnMut(&mut Json)) {
    let template = stacks.iter_mut().find(|s| s.name == stack).unwrap().template.to_mut();
    for resource in template["Resources"].as_object_mut().unwrap().values_mut() {
        if resource["Type"] == "AWS::ECS::TaskDefinition" {
            for container in resource["Properties"]["ContainerDefinitions"].as_array_mut().unwrap() {
                change(container);
            }
        }
    }
}

#[test]
fn a_primary_store_without_its_counterpart_in_the_standby_is_a_finding() {
    // The standby's database is one of its own, not a replica: it would start empty.
    let mut stacks = platform_templates();
    edit(&mut stacks, RECOVERY_DATA, "Database", |database| {
        database["Properties"].as_object_mut().unwrap().remove("SourceDBInstanceIdentifier");
    });
    let finding = only(&analyse(stacks), "CS051");
    assert_eq!((finding.stack.as_str(), finding.logical_id.as_str()), (DATA, "Database"));
    assert_eq!(finding.path, format!("{DATA}/Database (us-east-1) ← DATABASE_HOST → eu-west-1"));
    assert!(finding.message.contains(&format!("{RECOVERY_DATA}/Database is not a read replica of it")));

    // The documents bucket without its replication rule: neither side's copy reaches the other.
    let mut stacks = platform_templates();
    edit(&mut stacks, DATA, "DocumentsBucket", |bucket| {
        bucket["Properties"].as_object_mut().unwrap().remove("ReplicationConfiguration");
    });
    let findings: Vec<Finding> = analyse(stacks).into_iter().filter(|f| f.rule == "CS051").collect();
    let stores: Vec<(&str, &str)> = findings.iter().map(|f| (f.stack.as_str(), f.logical_id.as_str())).collect();
    assert_eq!(stores, [(STORAGE, "DocumentsBucket"), (DATA, "DocumentsBucket")]);
    assert!(findings[1].message.contains(&format!("it does not replicate to {STORAGE}/DocumentsBucket")));

    // The standby's tasks are not told where the work queue is.
    let mut stacks = platform_templates();
    edit_containers(&mut stacks, RECOVERY_COMPUTE, |container| {
        if let Some(environment) = container["Environment"].as_array_mut() {
            environment.retain(|variable| variable["Name"] != "WORK_QUEUE_URL");
        }
    });
    let finding = only(&analyse(stacks), "CS051");
    assert_eq!((finding.stack.as_str(), finding.logical_id.as_str()), (DATA, "WorkQueue"));
    assert!(finding.message.starts_with("the tasks of eu-west-1 have no WORK_QUEUE_URL"), "{}", finding.message);

    // The standby's tasks read the primary's Redis password across the ocean: they fail with it.
    let mut stacks = platform_templates();
    edit_containers(&mut stacks, RECOVERY_COMPUTE, |container| {
        for secret in container["Secrets"].as_array_mut().into_iter().flatten() {
            if secret["Name"] == "REDIS_PASSWORD" {
                secret["ValueFrom"] = json!({"Fn::GetStackOutput": {
                    "StackName": DATA, "OutputName": "RefCacheApplicationsPassword", "Region": "us-east-1"
                }});
            }
        }
    });
    let findings: Vec<Finding> = analyse(stacks).into_iter().filter(|f| f.rule == "CS051").collect();
    assert!(!findings.is_empty());
    assert!(
        findings.iter().any(|f| f.logical_id == "CacheApplicationsPassword"
            && f.message.contains(&format!("eu-west-1's tasks use {DATA}/CacheApplicationsPassword of us-east-1"))),
        "{findings:#?}"
    );
}

/// CS060: an outside judge's rule is set aside only with the reason beside it.
#[test]
fn a_suppression_without_its_reason_is_a_finding() {
    let stacks = platform_templates();
    assert!(analyse(stacks).iter().all(|finding| finding.rule != "CS060"), "the platform gives every reason");

    let mut stacks = platform_templates();
    edit(&mut stacks, DATA, "WorkQueueDeadLetterQueue", |queue| {
        queue["Metadata"]["guard"]["Reasons"]["SQS_DLQ_CHECK"] = json!(" ");
    });
    let finding = only(&analyse(stacks), "CS060");
    assert_eq!(finding.logical_id, "WorkQueueDeadLetterQueue");
    assert!(finding.path.ends_with("Metadata.guard.SuppressedRules SQS_DLQ_CHECK"), "{}", finding.path);

    let mut stacks = platform_templates();
    edit(&mut stacks, DATA, "AccessLogsBucket", |bucket| {
        bucket["Metadata"]["checkov"]["skip"][0].as_object_mut().unwrap().remove("comment");
    });
    let finding = only(&analyse(stacks), "CS060");
    assert_eq!(finding.logical_id, "AccessLogsBucket");
    assert!(finding.message.starts_with("skips the checkov check CKV_AWS_18 with no comment"), "{}", finding.message);
}
