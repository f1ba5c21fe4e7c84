//! The deployments stack of a region: what ECS needs to deploy the HTTP services blue/green. It is
//! deployed before the compute stack, whose services name its hooks, roles and alarms.
//!
//! - One smoke-test hook per HTTP service ([`HookFunction`], code from `templates/smoke-test-hook.py.j2`),
//!   run at `POST_TEST_TRAFFIC_SHIFT`: after test traffic reaches the new revision, before production
//!   traffic moves. Each reaches its service's test listener and nothing else: on the internal ALB the
//!   test port admits the hook's security group; on the internet-facing ALB, which the hook reaches
//!   through NAT, it admits the NAT gateways' Elastic IPs. CloudFront never uses a test port.
//! - The two roles ECS acts through: one to rewrite listener rules, one to invoke the hooks.
//! - One rollback alarm per service on 5xx responses from *both* target groups, so that a bad new
//!   revision trips it whichever group it runs in; ECS rolls back when it fires during the bake time.
//! - The applications' ECR repositories (`<app>/<service>`: immutable tags, scan on push, the data key,
//!   the newest `keepImages` images), replicated to the app's other regions so that their tasks pull
//!   from their own region during an outage of this one.

use serde_json::json;

use indexmap::IndexMap;

use super::applications::{application_id, http_applications};
use super::ingress::{BlueGreenTargets, Ingress};
use super::names::{blue_green_role_path, internal_name, origin_name, released_task_role_path};
use super::security::SecurityGroups;
use super::support::{metric_query, render_template};
use super::PlatformError;
use crate::cfn::cloudwatch;
use crate::cfn::cloudwatch::alarm::{AlarmComparisonOperator, AlarmTreatMissingData, Metric, MetricDataQuery};
use crate::cfn::ec2;
use crate::cfn::ecs::service::DeploymentLifecycleHookLifecycleStages;
use crate::cfn::prelude::*;
use crate::config::{ComputeConfig, DeploymentConfig, ServiceConfig};
use crate::construct::{ConstructError, ResourceRef, Scope, Stack};
use crate::constructs::compute::{
    BlueGreen, BlueGreenRoles, HookFunction, HookFunctionProps, Replication, Repository, RepositoryProps,
};
use crate::constructs::ids::Name;
use crate::constructs::kms::EncryptionKey;
use crate::constructs::network::{Port, Vpc};
use crate::template::Value;

/// The smoke-test hook's source, embedded in the binary.
const HOOK_TEMPLATE: &str = include_str!("../../templates/smoke-test-hook.py.j2");

/// 5xx responses from a service's target groups in one minute that roll a deployment back.
const ROLLBACK_5XX_PER_MINUTE: f64 = 10.0;

/// What the compute stack needs to deploy one HTTP service blue/green.
#[derive(Debug, Clone)]
pub(super) struct ServiceRelease {
    /// The smoke-test hook.
    pub hook: HookFunction,
    /// The name of the alarm that rolls its deployments back.
    pub rollback_alarm: Value<String>,
}

/// What the deployments stack hands the compute stack.
#[derive(Debug, Clone)]
pub(super) struct Release {
    pub kong: ServiceRelease,
    /// Each HTTP service's, by name.
    pub services: IndexMap<String, ServiceRelease>,
    pub roles: BlueGreenRoles,
    /// The applications' repositories, where released images come from.
    pub repositories: Repositories,
    /// The IAM path of the released tasks' roles (see [`super::names::released_task_role_path`]).
    pub task_role_path: String,
}

/// The ECR repository of each application, by name, in config order.
pub(super) type Repositories = IndexMap<String, Repository>;

impl Release {
    /// The blue/green deployment of a service behind `targets`, released through `release`.
    pub fn blue_green(
        &self,
        release: &ServiceRelease,
        targets: &BlueGreenTargets,
        config: &DeploymentConfig,
    ) -> BlueGreen {
        BlueGreen {
            alternate: targets.green.clone(),
            production_rule: targets.production_rule.clone(),
            test_rule: targets.test_rule.clone(),
            shift: config.traffic_shifting.shift(),
            bake_minutes: config.termination_wait_minutes,
            hooks: vec![(release.hook.clone(), vec![DeploymentLifecycleHookLifecycleStages::PostTestTrafficShift])],
            rollback_alarms: vec![release.rollback_alarm.clone()],
            roles: self.roles.clone(),
        }
    }
}

/// The applications' image repositories: their name prefix (the app), how many images each keeps, and
/// the regions they replicate to.
#[derive(Debug, Clone, Copy)]
pub(super) struct Images<'a> {
    pub prefix: &'a str,
    pub keep: u32,
    pub replica_regions: &'a [String],
    /// Whether the region's repositories are replicas that ECR creates on the first replicated push
    /// (named here, not created).
    pub replicated: bool,
}

/// Where a hook reaches its service's test listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TestRoute {
    /// The internet-facing ALB, through the NAT gateways.
    Public,
    /// The internal ALB, inside the VPC.
    Internal,
}

/// One HTTP service, as its release is built.
struct Released<'a> {
    id: String,
    service: &'a ServiceConfig,
    targets: &'a BlueGreenTargets,
    route: TestRoute,
}

/// Builds the hooks, roles and rollback alarms of the region's HTTP services into `stack`; `key`
/// encrypts the hooks' environment and logs.
pub(super) fn build(
    stack: &Stack,
    vpc: &Vpc,
    groups: &SecurityGroups,
    ingress: &Ingress,
    key: &EncryptionKey,
    config: &ComputeConfig,
    images: &Images<'_>,
) -> Result<Release, PlatformError> {
    stack.set_description(format!(
        "Deployments of {} ({}): the smoke-test hooks, roles and rollback alarms of the HTTP services' ECS \
         blue/green deployments.",
        stack.name(),
        stack.region()
    ));
    let mut root = stack.root();
    let request_timeout = config.deployment.smoke_tests.request_timeout_seconds;
    let code = render_template("smoke-test-hook.py.j2", HOOK_TEMPLATE, minijinja::context! { request_timeout })?;
    let applications = http_applications(config);
    let kong =
        Released { id: "Kong".to_owned(), service: &config.kong, targets: &ingress.kong, route: TestRoute::Public };
    let services = applications.iter().map(|application| Released {
        id: application.id.clone(),
        service: &application.service,
        targets: &ingress.services[&application.name],
        route: TestRoute::Internal,
    });
    let mut releases = Vec::new();
    for released in std::iter::once(kong).chain(services) {
        let hook = hook(&mut root, vpc, groups, key, config, &code, stack.region(), &released)?;
        let alarm = rollback_alarm(&mut root, &released.id, released.targets)?;
        releases.push(ServiceRelease { hook, rollback_alarm: alarm.ref_value() });
    }
    let mut repository = |id: &str, name: &str| {
        let name = format!("{}/{name}", images.prefix);
        if images.replicated {
            return Ok(Repository::from_name(Name::new(Value::from(name))));
        }
        let props = RepositoryProps { name: Some(name), keep_images: images.keep };
        Repository::new(&mut root, id, key, props)
    };
    let mut repositories = Repositories::new();
    for service in &config.services {
        let name = service.name();
        let id = format!("{}Repository", application_id(name));
        repositories.insert(name.to_owned(), repository(&id, name)?);
    }
    if !images.replica_regions.is_empty() {
        Replication::new(&mut root, "ImageReplication", images.prefix, images.replica_regions)?;
    }
    let hooks: Vec<&HookFunction> = releases.iter().map(|release| &release.hook).collect();
    let path = Some(blue_green_role_path(images.prefix));
    let roles = BlueGreenRoles::under_path(&mut root, "BlueGreenRoles", &hooks, path)?;
    let mut releases = releases.into_iter();
    let kong = releases.next().expect("Kong's release first");
    let services = applications.into_iter().map(|application| application.name).zip(releases).collect();
    let task_role_path = released_task_role_path(images.prefix);
    Ok(Release { kong, services, roles, repositories, task_role_path })
}

/// The smoke-test hook of one service, and the rules that let it, and only it, reach the test port.
#[allow(clippy::too_many_arguments)]
fn hook(
    root: &mut Scope,
    vpc: &Vpc,
    groups: &SecurityGroups,
    key: &EncryptionKey,
    config: &ComputeConfig,
    code: &str,
    region: &str,
    released: &Released<'_>,
) -> Result<HookFunction, PlatformError> {
    let Released { id, service, targets, route } = released;
    let domain = &config.domain.name;
    let host = match route {
        TestRoute::Public => origin_name(region, domain),
        TestRoute::Internal => internal_name(region, domain),
    };
    let smoke = &config.deployment.smoke_tests;
    let path = smoke.path.as_deref().unwrap_or(&service.health_check_path);
    let url = format!("https://{host}:{}{path}", targets.test_port);
    let mut props = HookFunctionProps::new(
        code,
        format!("Smoke tests {id} through its test listener before production traffic moves"),
    );
    props.environment.insert("SMOKE_TEST_URLS".into(), Value::from(json!([url]).to_string()));
    props.timeout_seconds = smoke.hook_timeout_seconds;
    let hook = HookFunction::new(root, &format!("{id}SmokeTest"), vpc, key, props)?;
    let port = Port::tcp(targets.test_port);
    match route {
        TestRoute::Internal => {
            let why = format!("The {id} deployment hook calls its test listener");
            groups.internal_alb.allow_from(hook.security_group(), port, &why)?;
        }
        TestRoute::Public => {
            let why = format!("The {id} deployment hook calls its test listener through NAT");
            hook.security_group().allow_egress_anywhere(root, &format!("{id}SmokeTestToTestListener"), port, &why)?;
            for (index, ip) in vpc.nat_public_ips().into_iter().enumerate() {
                root.add(
                    &format!("{id}TestListenerFromNat{}", index + 1),
                    ec2::SecurityGroupIngress::new("tcp")
                        .group_id(groups.alb.group_id())
                        .cidr_ip(Value::sub_with("${Ip}/32", [("Ip", ip)]))
                        .from_port(i64::from(targets.test_port))
                        .to_port(i64::from(targets.test_port))
                        .description(format!("The {id} deployment hook, through NAT gateway {}", index + 1)),
                )?;
            }
        }
    }
    Ok(hook)
}

/// An alarm on the service's 5xx responses from both its target groups together: whichever one the
/// new revision runs in, its errors count.
fn rollback_alarm(
    root: &mut Scope,
    id: &str,
    targets: &BlueGreenTargets,
) -> Result<ResourceRef<cloudwatch::Alarm>, ConstructError> {
    let errors = |query: &str, group: &crate::constructs::compute::TargetGroup| {
        let dimensions = [
            ("LoadBalancer", targets.load_balancer_full_name.clone()),
            ("TargetGroup", group.resource().attr_target_group_full_name()),
        ];
        let metric = Metric::new().namespace("AWS/ApplicationELB").metric_name("HTTPCode_Target_5XX_Count");
        metric_query(query, metric, &dimensions, 60, "Sum")
    };
    let total = MetricDataQuery::new("errors")
        .expression("FILL(blue, 0) + FILL(green, 0)")
        .label("5xx from both target groups")
        .return_data(true);
    let reason = format!(
        "ECS reads this alarm during {id}'s deployments and rolls a bad revision back; the deployment's \
         outcome is in the service's events, and the operations stack's alarms notify"
    );
    root.add_with(
        &format!("{id}RollbackAlarm"),
        cloudwatch::Alarm::new()
            .alarm_description(format!(
                "{id}: more than {ROLLBACK_5XX_PER_MINUTE} 5xx responses a minute from either target group; \
                 ECS rolls back a deployment in progress"
            ))
            .metrics(vec![errors("blue", &targets.blue), errors("green", &targets.green), total])
            .evaluation_periods(1)
            .threshold(ROLLBACK_5XX_PER_MINUTE)
            .comparison_operator(AlarmComparisonOperator::GreaterThanThreshold)
            .treat_missing_data(AlarmTreatMissingData::NotBreaching),
        |entry| entry.guard_suppression(crate::constructs::monitoring::ALARM_ACTION_RULE, &reason),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value as Json};

    use crate::config::TrafficShifting;
    use crate::platform::build;
    use crate::platform::test_support::{default_config, of_type, stacks};

    /// The export name an `Fn::ImportValue` reads, or the logical ID a `Ref`/`Fn::GetAtt` names.
    fn names(value: &Json) -> String {
        value.to_string()
    }

    #[test]
    fn every_http_service_deploys_blue_green_behind_a_hook_and_alarms_on_both_target_groups() {
        let stacks = stacks(&default_config());
        let (compute, deployments) = (&stacks["Compute"], &stacks["Deployments"]);
        for (service, prefix, targets) in [
            ("KongService", "Kong", "Kong"),
            ("IntegrationServiceService", "IntegrationService", "Integration"),
            ("WebhookReceiverService", "WebhookReceiver", "Webhook"),
        ] {
            let p = if service == "KongService" {
                &stacks["Gateway"][service]["Properties"]
            } else {
                &compute[service]["Properties"]
            };
            let configuration = &p["DeploymentConfiguration"];
            assert_eq!(p["DeploymentController"]["Type"], "ECS", "{service}");
            assert_eq!(configuration["Strategy"], "CANARY", "{service}");
            assert_eq!(
                configuration["CanaryConfiguration"],
                json!({"CanaryBakeTimeInMinutes": 5, "CanaryPercent": 10.0})
            );
            assert_eq!(configuration["BakeTimeInMinutes"], 5, "{service}");
            let advanced = &p["LoadBalancers"][0]["AdvancedConfiguration"];
            assert!(names(&advanced["AlternateTargetGroupArn"]).contains(&format!("{targets}Green")), "{service}");
            assert!(names(&p["LoadBalancers"][0]["TargetGroupArn"]).contains(&format!("{targets}Blue")), "{service}");
            assert!(names(&advanced["ProductionListenerRule"]).contains(&format!("{targets}Production")), "{service}");
            assert!(names(&advanced["TestListenerRule"]).contains(&format!("{targets}TestForward")), "{service}");
            assert!(names(&advanced["RoleArn"]).contains("BlueGreenRolesLoadBalancers"), "{service}");

            let hooks = configuration["LifecycleHooks"].as_array().unwrap();
            assert_eq!(hooks.len(), 1, "{service}");
            assert_eq!(hooks[0]["LifecycleStages"], json!(["POST_TEST_TRAFFIC_SHIFT"]), "{service}: before production");
            assert!(names(&hooks[0]["HookTargetArn"]).contains(&format!("{prefix}SmokeTest")), "{service}");
            assert!(names(&hooks[0]["RoleArn"]).contains("BlueGreenRolesHooks"), "{service}");

            let alarms = &configuration["Alarms"];
            assert_eq!((alarms["Enable"].clone(), alarms["Rollback"].clone()), (json!(true), json!(true)));
            assert!(names(&alarms["AlarmNames"]).contains(&format!("{prefix}RollbackAlarm")), "{service}");
            let watched: Vec<String> = deployments[format!("{prefix}RollbackAlarm")]["Properties"]["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|query| query["MetricStat"]["Metric"]["Dimensions"].as_array())
                .map(|dimensions| names(&dimensions[1]["Value"]))
                .collect();
            assert_eq!(watched.len(), 2, "{service}: both target groups");
            assert!(watched[0].contains(&format!("{targets}Blue")) && watched[1].contains(&format!("{targets}Green")));
        }
    }

    #[test]
    fn each_test_listener_admits_its_hook_and_nothing_else() {
        let stacks = stacks(&default_config());
        let rules: Vec<&Json> = stacks
            .values()
            .flat_map(|resources| of_type(resources, "AWS::EC2::SecurityGroupIngress"))
            .map(|(_, rule)| &rule["Properties"])
            .collect();
        // Every rule admitting a test port, by its source: exactly the owning hook's group, and the
        // three NAT addresses for Kong's test port on the public ALB.
        let mut sources: Vec<(u64, String)> = rules
            .iter()
            .filter(|rule| rule["FromPort"] == 8443 || rule["FromPort"] == 9444)
            .map(|rule| {
                assert_eq!(rule["FromPort"], rule["ToPort"]);
                let source = rule.get("SourceSecurityGroupId").or_else(|| rule.get("CidrIp")).unwrap();
                (rule["FromPort"].as_u64().unwrap(), names(source))
            })
            .collect();
        sources.sort();
        let kinds: Vec<(u64, bool, bool)> = sources
            .iter()
            .map(|(port, text)| {
                (*port, text.contains("SmokeTestSecurityGroup"), text.contains("Eip") && text.contains("/32"))
            })
            .collect();
        assert_eq!(
            kinds,
            [(8443, true, false), (8443, false, true), (8443, false, true), (8443, false, true), (9444, true, false)]
        );
        assert!(sources[0].1.contains("IntegrationServiceSmokeTestSecurityGroup"), "{}", sources[0].1);
        assert!(sources[4].1.contains("WebhookReceiverSmokeTestSecurityGroup"), "{}", sources[4].1);
        let public: Vec<_> =
            rules.iter().filter(|rule| rule["FromPort"] == 8443 && rule.get("CidrIp").is_some()).collect();
        assert_eq!(public.len(), 3, "the public ALB's test port admits the three NAT gateways' addresses");
        assert!(!stacks.values().any(|resources| resources.to_string().contains("CODE_DEPLOY")));
    }

    #[test]
    fn the_applications_repositories_keep_immutable_scanned_encrypted_images_and_replicate_to_dr() {
        let synthesized = build(&default_config()).unwrap().synth().unwrap();
        let deployments = synthesized.stacks.iter().find(|s| s.name.ends_with("-Primary-Deployments")).unwrap();
        let resources = &deployments.template["Resources"];
        for (id, name) in [
            ("IntegrationServiceRepository", "integration-platform/integration-service"),
            ("WebhookReceiverRepository", "integration-platform/webhook-receiver"),
            ("WorkerServiceRepository", "integration-platform/worker-service"),
        ] {
            let p = &resources[id]["Properties"];
            assert_eq!(p["RepositoryName"], name);
            assert_eq!(p["ImageTagMutability"], "IMMUTABLE");
            assert_eq!(p["ImageScanningConfiguration"]["ScanOnPush"], true);
            assert_eq!(p["EncryptionConfiguration"]["EncryptionType"], "KMS");
            assert!(p["EncryptionConfiguration"]["KmsKey"].to_string().contains("DataKey"), "{id}");
            let lifecycle: Json =
                serde_json::from_str(p["LifecyclePolicy"]["LifecyclePolicyText"].as_str().unwrap()).unwrap();
            assert_eq!(lifecycle["rules"][0]["selection"]["countNumber"], 30, "{id}: keepImages");
        }
        let rule = &resources["ImageReplication"]["Properties"]["ReplicationConfiguration"]["Rules"][0];
        assert_eq!(rule["Destinations"], json!([{"Region": "eu-west-1", "RegistryId": {"Ref": "AWS::AccountId"}}]));
        assert_eq!(
            rule["RepositoryFilters"],
            json!([{"Filter": "integration-platform", "FilterType": "PREFIX_MATCH"}])
        );
        let images = synthesized.stacks.iter().find(|s| s.name.ends_with("-DisasterRecovery-Images")).unwrap();
        assert_eq!(images.region, "eu-west-1");
        let template = &images.template["Resources"]["ReplicatedRepositories"]["Properties"];
        assert_eq!(
            (template["Prefix"].clone(), template["AppliedFor"].clone()),
            (json!("integration-platform"), json!(["REPLICATION"]))
        );
        assert_eq!(template["ImageTagMutability"], "IMMUTABLE");
        assert_eq!(template["EncryptionConfiguration"], json!({"EncryptionType": "KMS"}));
    }

    #[test]
    fn traffic_shifting_maps_onto_the_ecs_strategy() {
        let mut config = default_config();
        let deployment = &mut config.regions[0].compute.as_mut().unwrap().deployment;
        deployment.traffic_shifting = TrafficShifting::Linear10PercentEvery1Minute;
        deployment.smoke_tests.path = Some("/smoke".into());
        let stacks = stacks(&config);
        let configuration = &stacks["Gateway"]["KongService"]["Properties"]["DeploymentConfiguration"];
        assert_eq!(configuration["Strategy"], "LINEAR");
        assert_eq!(configuration["LinearConfiguration"], json!({"StepBakeTimeInMinutes": 1, "StepPercent": 10.0}));
        let hook = &stacks["Deployments"]["IntegrationServiceSmokeTest"]["Properties"];
        assert_eq!(
            hook["Environment"]["Variables"]["SMOKE_TEST_URLS"],
            "[\"https://internal-us-east-1.api.integration-platform.example.com:8443/smoke\"]"
        );
        config.regions[0].compute.as_mut().unwrap().deployment.traffic_shifting = TrafficShifting::AllAtOnce;
        let stacks = super::super::test_support::stacks(&config);
        assert_eq!(stacks["Gateway"]["KongService"]["Properties"]["DeploymentConfiguration"]["Strategy"], "BLUE_GREEN");
    }

    /// The known pitfall of ECS blue/green under CloudFormation: ECS rewrites the listener rules during a
    /// deployment, and an update that touched a rule would point it back at the target group in the
    /// template. The rules live in the ingress stack, which nothing of a release changes: a new image
    /// changes only its task definition, so the rules are never part of the update. (The other region's
    /// release record names the configured image too, so it follows; it holds no listener rule.)
    #[test]
    fn a_new_image_changes_only_its_task_definition() {
        let before = build(&default_config()).unwrap().synth().unwrap();
        let mut config = default_config();
        let service = &mut config.regions[0].compute.as_mut().unwrap().services[0];
        let crate::config::ApplicationConfig::Http(integration) = service else { panic!("an HTTP service first") };
        integration.image = "public.ecr.aws/docker/library/integration-service:1.1.0".into();
        let after = build(&config).unwrap().synth().unwrap();
        let mut changed = Vec::new();
        for (old, new) in before.stacks.iter().zip(&after.stacks) {
            for (id, resource) in old.template["Resources"].as_object().unwrap() {
                if new.template["Resources"][id] != *resource {
                    changed.push(format!("{}/{id}", old.name));
                }
            }
            assert_eq!(old.template["Outputs"], new.template["Outputs"], "{}", old.name);
        }
        assert_eq!(
            changed,
            [
                "IntegrationPlatform-Primary-Compute/IntegrationService",
                "IntegrationPlatform-DisasterRecovery-Compute/IntegrationService",
                "IntegrationPlatform-DisasterRecovery-Images/ReleasedIntegrationServiceImage"
            ]
        );
    }
}
