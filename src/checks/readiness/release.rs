//! The release path of every ECS service (CS040 to CS042): a deployment controller CloudFormation can
//! drive, blue/green hooks that can reach the test listener they check, and rollback alarms that see
//! the new revision in whichever target group it runs.

use serde_json::Value as Json;

use super::iam::Permissions;
use super::network::{groups_of, Egress, Network, Peer, Routing};
use super::{finding, items, text, Model, Res};
use crate::checks::Finding;
use crate::template::Field;

/// CS040 to CS042, for every ECS service.
pub(super) fn check(model: &Model, findings: &mut Vec<Finding>) {
    let network = Network::new(model);
    let routing = Routing::new(model);
    let permissions = Permissions::new(model);
    for service in model.of_type("AWS::ECS::Service") {
        let props = model.props(&service);
        let controller = props.field("DeploymentController").field("Type").as_str().unwrap_or("ECS");
        if controller != "ECS" {
            findings.push(finding(
                model,
                "CS040",
                &service,
                format!("{} → DeploymentController {controller}", model.name(&service)),
                format!(
                    "CloudFormation cannot change the task definition of a {controller} service, so no stack \
                     update can release it; use ECS deployments (blue/green through its Strategy)"
                ),
            ));
            continue;
        }
        let configuration = props.field("DeploymentConfiguration");
        let strategy = configuration.field("Strategy").as_str().unwrap_or("ROLLING");
        if strategy == "ROLLING" {
            continue;
        }
        let balancers = items(props.field("LoadBalancers"));
        let advanced: Vec<&Json> = balancers.iter().map(|balancer| balancer.field("AdvancedConfiguration")).collect();
        if balancers.is_empty() || advanced.iter().any(|config| config.field("AlternateTargetGroupArn").is_null()) {
            findings.push(finding(
                model,
                "CS040",
                &service,
                format!("{} → Strategy {strategy}", model.name(&service)),
                "a blue/green strategy needs each load balancer's AdvancedConfiguration: the alternate target \
                 group, the production and test listener rules and a role"
                    .into(),
            ));
            continue;
        }
        let alarms = rollback_alarms(model, &service, configuration);
        for (balancer, config) in balancers.iter().zip(&advanced) {
            for key in [balancer.field("TargetGroupArn"), config.field("AlternateTargetGroupArn")] {
                let Some(group) = model.resource_of(service.stack, key) else { continue };
                if !alarms.iter().any(|alarm| covers(model, alarm, &group)) {
                    findings.push(finding(
                        model,
                        "CS042",
                        &service,
                        format!("{} → target group {} → no rollback alarm", model.name(&service), model.name(&group)),
                        format!(
                            "a new revision in {} can fail without rolling back: no alarm in the deployment's \
                             Alarms (with Rollback on) watches it or its whole load balancer",
                            group.id
                        ),
                    ));
                }
            }
            let paths = Paths { network: &network, routing: &routing, permissions: &permissions };
            hooks_reach_test_listener(model, &paths, &service, configuration, config, findings);
        }
    }
}

/// The alarms a deployment rolls back on: `Alarms.AlarmNames` with `Enable` and `Rollback` on.
fn rollback_alarms(model: &Model, service: &Res, configuration: &Json) -> Vec<Res> {
    let alarms = configuration.field("Alarms");
    if alarms.field("Enable") != true || alarms.field("Rollback") != true {
        return vec![];
    }
    model.references(service.stack, alarms.field("AlarmNames"))
}

/// Whether `alarm` watches `group`: a `TargetGroup` dimension naming it, or a load balancer's metrics
/// without a target group (the balancer as a whole).
fn covers(model: &Model, alarm: &Res, group: &Res) -> bool {
    let props = model.props(alarm);
    let mut dimension_lists = vec![props.field("Dimensions")];
    if let Some(queries) = props.field("Metrics").as_array() {
        dimension_lists
            .extend(queries.iter().map(|query| query.field("MetricStat").field("Metric").field("Dimensions")));
    }
    dimension_lists.into_iter().filter_map(Json::as_array).any(|dimensions| {
        let named = |name: &str| dimensions.iter().find(|dimension| dimension.field("Name") == name);
        match named("TargetGroup") {
            Some(dimension) => model.resource_of(alarm.stack, dimension.field("Value")).as_ref() == Some(group),
            None => named("LoadBalancer").is_some(),
        }
    })
}

/// CS041: each lifecycle hook that is a Lambda function can reach the test listener its deployment
/// shifts test traffic to.
/// What a hook's checks follow: packets and permissions.
struct Paths<'a> {
    network: &'a Network,
    routing: &'a Routing,
    permissions: &'a Permissions<'a>,
}

fn hooks_reach_test_listener(
    model: &Model,
    paths: &Paths<'_>,
    service: &Res,
    configuration: &Json,
    advanced: &Json,
    findings: &mut Vec<Finding>,
) {
    let Paths { network, routing, .. } = paths;
    let Some(rule) = model.resource_of(service.stack, advanced.field("TestListenerRule")) else { return };
    let Some(listener) = model.resource_of(rule.stack, model.props(&rule).field("ListenerArn")) else { return };
    let listener_props = model.props(&listener);
    let Some(balancer) = model.resource_of(listener.stack, listener_props.field("LoadBalancerArn")) else { return };
    let Some(port) = text(model, listener.stack, listener_props.field("Port")).and_then(|p| p.parse::<i64>().ok())
    else {
        return;
    };
    let internet_facing = model.props(&balancer).field("Scheme") != "internal";
    let balancer_groups = groups_of(model, &balancer, "SecurityGroups");
    for hook in items(configuration.field("LifecycleHooks")) {
        let Some(function) = model.resource_of(service.stack, hook.field("HookTargetArn")) else { continue };
        if model.type_of(&function) != "AWS::Lambda::Function" {
            continue;
        }
        let invoker = model.resource_of(service.stack, hook.field("RoleArn"));
        if !invoker
            .as_ref()
            .is_some_and(|role| paths.permissions.allows(role, "lambda:InvokeFunction", &function, None))
        {
            let role = invoker.map_or_else(|| "no role of the app".to_owned(), |role| role.id);
            findings.push(finding(
                model,
                "CS041",
                service,
                format!("{} → hook {} → role {role}", model.name(service), model.name(&function)),
                "ECS invokes a hook as the entry's RoleArn, which may not lambda:InvokeFunction on it: every \
                 deployment fails at that stage"
                    .into(),
            ));
        }
        let vpc_config = model.props(&function).field("VpcConfig");
        let ids = |key: &str| model.references(function.stack, &vpc_config[key]);
        let (subnets, groups) = (ids("SubnetIds"), ids("SecurityGroupIds"));
        let gap = if groups.is_empty() {
            Some("the function runs outside the VPC, with no address the test port could admit".to_owned())
        } else if internet_facing {
            let (_, _, egress) = routing.subnet_paths(model, &subnets, false);
            let admits_nat = balancer_groups.iter().any(|group| {
                network
                    .ingress(group)
                    .iter()
                    .any(|rule| rule.admits_tcp(port) && matches!(rule.peer, Peer::ElasticIp(_)))
            });
            match egress {
                Egress::None(why) => Some(why),
                Egress::Internet if !network.egress_anywhere(&groups, port) => {
                    Some(format!("its group sends nothing to the internet on {port}"))
                }
                Egress::Internet if !admits_nat => {
                    Some(format!("the balancer's groups admit no NAT gateway address on {port}"))
                }
                Egress::Internet => None,
            }
        } else {
            let reaches = groups
                .iter()
                .any(|hook| balancer_groups.iter().any(|alb| network.group_reaches_group(hook, alb, port)));
            (!reaches).then(|| format!("its group and the balancer's groups do not connect on {port}"))
        };
        if let Some(gap) = gap {
            findings.push(finding(
                model,
                "CS041",
                service,
                format!(
                    "{} → hook {} → {} → port {port} → {}",
                    model.name(service),
                    model.name(&function),
                    model.name(&listener),
                    model.name(&balancer)
                ),
                format!("the hook cannot reach the test listener ({gap}), so every deployment fails its hook"),
            ));
        }
    }
}
