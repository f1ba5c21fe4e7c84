//! The deployments stack of a region: CodeDeploy blue/green deployment groups of the HTTP services,
//! with the alarms that roll them back, and each service's AppSpec written beside the templates.

use serde::Serialize;

use super::compute::Compute;
use super::PlatformError;
use crate::cfn::cloudwatch::alarm::AlarmStatistic;
use crate::config::{ComputeConfig, LifecycleHook};
use crate::construct::Stack;
use crate::constructs::compute::{BlueGreenDeployment, BlueGreenProps, DeploymentApplication};
use crate::constructs::monitoring::MetricAlarm;
use crate::template::Value;

/// The AppSpec template, embedded in the binary.
const APPSPEC_TEMPLATE: &str = include_str!("../../templates/appspec.yaml.j2");

/// Builds the CodeDeploy blue/green deployments of the HTTP services into `stack`, with the alarms that
/// roll them back. Returns each service's AppSpec, by the path it is written to beside the templates.
pub(super) fn build(
    stack: &Stack,
    compute: &Compute,
    config: &ComputeConfig,
    alarm_topic: &Value<String>,
) -> Result<Vec<(String, String)>, PlatformError> {
    let stack_name = stack.name();
    stack.set_description(format!(
        "Deployments of {stack_name} ({}): CodeDeploy blue/green deployment groups of the HTTP services, with \
         automatic rollback on failure and on their error alarms.",
        stack.region()
    ));
    let mut root = stack.root();
    let deployments = DeploymentApplication::new(&mut root, "Application")?;
    let mut appspecs = Vec::new();
    for (service, targets) in compute.blue_green() {
        let id = service.id;
        let errors = MetricAlarm::above(
            format!("{id}: target 5xx responses; stops and rolls back a blue/green deployment"),
            "AWS/ApplicationELB",
            "HTTPCode_Target_5XX_Count",
            vec![
                ("LoadBalancer".into(), targets.load_balancer_full_name.clone()),
                ("TargetGroup".into(), targets.blue.resource().attr_target_group_full_name()),
            ],
            AlarmStatistic::Sum,
            10.0,
            1,
        )
        .add(&mut root, &format!("{id}ErrorsAlarm"), vec![alarm_topic.clone()])?;
        BlueGreenDeployment::new(
            &mut root,
            &format!("{id}Deployment"),
            &deployments,
            BlueGreenProps {
                service: service.service.clone(),
                target_groups: [targets.blue.clone(), targets.green.clone()],
                production_listener: targets.production_listener.clone(),
                test_listener: targets.test_listener.clone(),
                deployment_config_name: config.deployment.traffic_shifting.deployment_config_name().to_owned(),
                termination_wait_minutes: config.deployment.termination_wait_minutes,
                rollback_alarms: vec![errors.ref_value()],
            },
        )?;
    }
    for (service, _) in compute.blue_green() {
        let task = service.service.task();
        let port = task.port().expect("a blue/green service serves a port");
        let appspec = render_appspec(service.id, task.container_name(), port, &config.deployment.lifecycle_hooks)?;
        appspecs.push((format!("appspec/{}.yaml", service.id), appspec));
    }
    Ok(appspecs)
}

/// The AppSpec of one blue/green service, rendered from `templates/appspec.yaml.j2`.
pub fn render_appspec(
    service: &str,
    container: &str,
    port: u16,
    hooks: &[LifecycleHook],
) -> Result<String, PlatformError> {
    #[derive(Serialize)]
    struct Hook<'a> {
        event: String,
        function: &'a str,
    }
    let hooks: Vec<Hook<'_>> =
        hooks.iter().map(|hook| Hook { event: format!("{:?}", hook.event), function: &hook.function }).collect();
    super::support::render_template(
        "appspec.yaml.j2",
        APPSPEC_TEMPLATE,
        minijinja::context! { service, container, port, hooks },
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value as Json};

    use super::*;
    use crate::config::{LifecycleEvent, TrafficShifting};
    use crate::platform::test_support::{default_config, of_type, stacks};

    #[test]
    fn blue_green_settings_follow_the_config() {
        let mut config = default_config();
        let deployment = &mut config.regions[0].compute.as_mut().unwrap().deployment;
        deployment.traffic_shifting = TrafficShifting::Linear10PercentEvery1Minute;
        deployment.termination_wait_minutes = 15;
        deployment.deregistration_delay_seconds = 45;
        let stacks = stacks(&config);
        let groups = of_type(&stacks["Deployments"], "AWS::CodeDeploy::DeploymentGroup");
        assert_eq!(groups.len(), 3);
        for (id, group) in groups {
            let p = &group["Properties"];
            assert_eq!(
                p["DeploymentStyle"],
                json!({"DeploymentOption": "WITH_TRAFFIC_CONTROL", "DeploymentType": "BLUE_GREEN"})
            );
            assert_eq!(p["DeploymentConfigName"], "CodeDeployDefault.ECSLinear10PercentEvery1Minutes", "{id}");
            let termination = &p["BlueGreenDeploymentConfiguration"]["TerminateBlueInstancesOnDeploymentSuccess"];
            assert_eq!(termination["TerminationWaitTimeInMinutes"], 15, "{id}: connection draining");
            assert_eq!(
                p["AutoRollbackConfiguration"]["Events"],
                json!(["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"])
            );
            assert_eq!(p["AlarmConfiguration"]["Enabled"], true);
            let pair = &p["LoadBalancerInfo"]["TargetGroupPairInfoList"][0];
            assert_eq!(pair["TargetGroups"].as_array().unwrap().len(), 2);
            assert!(pair["TestTrafficRoute"]["ListenerArns"].is_array());
        }
        let target_groups = of_type(&stacks["Ingress"], "AWS::ElasticLoadBalancingV2::TargetGroup");
        assert_eq!(target_groups.len(), 6, "a blue and a green group per HTTP service");
        for (id, group) in target_groups {
            assert_eq!(
                group["Properties"]["TargetGroupAttributes"],
                json!([{"Key": "deregistration_delay.timeout_seconds", "Value": "45"}]),
                "{id}"
            );
        }
        for (id, listener) in of_type(&stacks["Ingress"], "AWS::ElasticLoadBalancingV2::Listener") {
            let p = &listener["Properties"];
            if p["Protocol"] == "HTTP" {
                assert_eq!(p["DefaultActions"][0]["Type"], "redirect", "{id}: plain HTTP only redirects");
            } else {
                assert_eq!(p["SslPolicy"], "ELBSecurityPolicy-TLS13-1-2-2021-06", "{id}");
            }
        }
    }

    #[test]
    fn appspecs_name_their_container_and_hooks() {
        let hooks =
            vec![LifecycleHook { event: LifecycleEvent::AfterAllowTestTraffic, function: "smoke-tests".into() }];
        let text = render_appspec("Kong", "Kong", 8000, &hooks).unwrap();
        let parsed: Json = serde_yaml::from_str(&text).unwrap();
        let properties = &parsed["Resources"][0]["TargetService"]["Properties"];
        assert_eq!(properties["LoadBalancerInfo"], json!({"ContainerName": "Kong", "ContainerPort": 8000}));
        assert_eq!(parsed["Hooks"], json!([{"AfterAllowTestTraffic": "smoke-tests"}]));
        let without: Json = serde_yaml::from_str(&render_appspec("Kong", "Kong", 8000, &[]).unwrap()).unwrap();
        assert!(without.get("Hooks").is_none());
    }
}
