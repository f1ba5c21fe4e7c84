//! Ordering (CS010: capacity providers, imports), scaling (CS020) and operations (CS030 to CS033).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::{finding, items, mentions, text, Model, Res, Resolved};
use crate::checks::Finding;
use crate::template::Field;

/// The data stores that CS032 wants an alarm on.
const DATA_STORES: &[&str] = &[
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::CacheCluster",
    "AWS::SQS::Queue",
    "AWS::DynamoDB::Table",
];

pub(super) fn check(model: &Model, findings: &mut Vec<Finding>) {
    capacity_providers(model, findings);
    import_order(model, findings);
    scaling(model, findings);
    alarms(model, findings);
}

/// CS010: a service's capacity providers exist before it.
fn capacity_providers(model: &Model, findings: &mut Vec<Finding>) {
    for service in model.of_type("AWS::ECS::Service") {
        let props = model.props(&service);
        let Some(strategy) = props.field("CapacityProviderStrategy").as_array() else { continue };
        let Some(cluster) = model.resource_of(service.stack, props.field("Cluster")) else { continue };
        let declared = |provider: &str| {
            model
                .props(&cluster)
                .field("CapacityProviders")
                .as_array()
                .is_some_and(|list| list.iter().any(|p| p == provider))
        };
        let depends_on: Vec<String> = match model.resource(&service).field("DependsOn") {
            Json::String(one) => vec![one.clone()],
            Json::Array(many) => many.iter().filter_map(Json::as_str).map(str::to_owned).collect(),
            _ => vec![],
        };
        for item in strategy {
            let Some(provider) = text(model, service.stack, item.field("CapacityProvider")) else { continue };
            if declared(&provider) {
                continue;
            }
            let association = model.of_type("AWS::ECS::ClusterCapacityProviderAssociations").into_iter().find(|a| {
                let p = model.props(a);
                model.resource_of(a.stack, p.field("Cluster")).as_ref() == Some(&cluster)
                    && p.field("CapacityProviders")
                        .as_array()
                        .is_some_and(|list| list.iter().any(|x| x == provider.as_str()))
            });
            let ordered = association.as_ref().is_some_and(|a| {
                (a.stack == service.stack && depends_on.contains(&a.id))
                    || (a.stack != service.stack && model.deploys_before(a.stack, service.stack))
            });
            if !ordered {
                let via = association.as_ref().map_or("no association adds it".to_owned(), |a| {
                    format!("{} adds it, but the service does not DependsOn it", model.name(a))
                });
                findings.push(finding(
                    model,
                    "CS010",
                    &service,
                    format!(
                        "{} → capacity provider {provider} → {} → {via}",
                        model.name(&service),
                        model.name(&cluster)
                    ),
                    format!("CloudFormation may create the service before {provider} is on its cluster"),
                ));
            }
        }
    }
}

/// CS010: every import comes from a stack earlier in the deploy order.
fn import_order(model: &Model, findings: &mut Vec<Finding>) {
    for (index, stack) in model.stacks().iter().enumerate() {
        let Some(resources) = stack.template.field("Resources").as_object() else { continue };
        for (id, resource) in resources {
            let later: Vec<Res> = model
                .cross_stack_references(index, resource.field("Properties"))
                .into_iter()
                .filter(|target| target.stack > index)
                .collect();
            let res = Res { stack: index, id: id.clone() };
            for target in later {
                findings.push(finding(
                    model,
                    "CS010",
                    &res,
                    format!("{} → {}", model.name(&res), model.name(&target)),
                    format!("reads {} of stack {}, which deploys later", target.id, model.stacks()[target.stack].name),
                ));
            }
            if let Some(Json::String(name)) = find_import(resource.field("Properties")) {
                if let Resolved::Unknown(why) = model.resolve(index, &serde_json::json!({"Fn::ImportValue": name})) {
                    findings.push(finding(model, "CS099", &res, model.name(&res), why));
                }
            }
        }
    }
}

fn find_import(value: &Json) -> Option<&Json> {
    match value {
        Json::Object(map) => map.member("Fn::ImportValue").or_else(|| map.values().find_map(find_import)),
        Json::Array(values) => values.iter().find_map(find_import),
        _ => None,
    }
}

/// The metrics an alarm reads, as `namespace/metric` plus the resources its dimensions name.
fn alarm_metrics(model: &Model, alarm: &Res) -> Vec<(String, Vec<Res>)> {
    let props = model.props(alarm);
    let mut metrics = Vec::new();
    if let Some(name) = props.field("MetricName").as_str() {
        let namespace = props.field("Namespace").as_str().unwrap_or_default();
        metrics.push((format!("{namespace}/{name}"), model.references(alarm.stack, props.field("Dimensions"))));
    }
    for query in props.field("Metrics").as_array().into_iter().flatten() {
        let metric = query.field("MetricStat").field("Metric");
        if let Some(name) = metric.field("MetricName").as_str() {
            let namespace = metric.field("Namespace").as_str().unwrap_or_default();
            metrics.push((format!("{namespace}/{name}"), model.references(alarm.stack, metric.field("Dimensions"))));
        }
    }
    metrics
}

/// The alarms whose actions name each resource (a scaling policy, a topic), in one pass over the alarms.
fn alarms_by_action(model: &Model) -> BTreeMap<Res, Vec<Res>> {
    let mut by_action: BTreeMap<Res, Vec<Res>> = BTreeMap::new();
    for alarm in model.of_type("AWS::CloudWatch::Alarm") {
        for action in model.references(alarm.stack, model.props(&alarm).field("AlarmActions")) {
            by_action.entry(action).or_default().push(alarm.clone());
        }
    }
    by_action
}

/// CS020: scale-in never undoes a scale-out rule's condition.
fn scaling(model: &Model, findings: &mut Vec<Finding>) {
    let triggered_by = alarms_by_action(model);
    let alarms_triggering = |policy: &Res| triggered_by.get(policy).cloned().unwrap_or_default();
    let mut policies_of: BTreeMap<Res, Vec<Res>> = BTreeMap::new();
    for policy in model.of_type("AWS::ApplicationAutoScaling::ScalingPolicy") {
        if let Some(target) = model.resource_of(policy.stack, model.props(&policy).field("ScalingTargetId")) {
            policies_of.entry(target).or_default().push(policy);
        }
    }
    for target in model.of_type("AWS::ApplicationAutoScaling::ScalableTarget") {
        let policies = policies_of.remove(&target).unwrap_or_default();
        // What each scale-out policy watches: a metric, and the resources its dimensions name.
        let mut scale_out: Vec<(Res, String, Vec<Res>)> = Vec::new();
        let mut tracking_scales_in = Vec::new();
        let mut step_scale_in = Vec::new();
        for policy in &policies {
            let props = model.props(policy);
            let tracking = props.field("TargetTrackingScalingPolicyConfiguration");
            if !tracking.is_null() {
                let custom = tracking.field("CustomizedMetricSpecification");
                let metric =
                    match tracking.field("PredefinedMetricSpecification").field("PredefinedMetricType").as_str() {
                        Some(predefined) => (predefined_metric(predefined), vec![]),
                        None => (
                            format!(
                                "{}/{}",
                                custom.field("Namespace").as_str().unwrap_or_default(),
                                custom.field("MetricName").as_str().unwrap_or_default()
                            ),
                            model.references(policy.stack, custom.field("Dimensions")),
                        ),
                    };
                scale_out.push((policy.clone(), metric.0, metric.1));
                if tracking.field("DisableScaleIn") != true {
                    tracking_scales_in.push(policy.clone());
                }
                continue;
            }
            let steps = props
                .field("StepScalingPolicyConfiguration")
                .field("StepAdjustments")
                .as_array()
                .cloned()
                .unwrap_or_default();
            let adds = steps.iter().any(|s| s.field("ScalingAdjustment").as_i64().unwrap_or(0) > 0);
            let removes = steps.iter().any(|s| s.field("ScalingAdjustment").as_i64().unwrap_or(0) < 0);
            if adds {
                for alarm in alarms_triggering(policy) {
                    for (metric, dimensions) in alarm_metrics(model, &alarm) {
                        scale_out.push((policy.clone(), metric, dimensions));
                    }
                }
            }
            if removes {
                step_scale_in.push(policy.clone());
            }
        }
        for tracking in &tracking_scales_in {
            let own = scale_out.iter().find(|(p, ..)| p == tracking).map(|(_, m, _)| m.clone()).unwrap_or_default();
            if let Some((other, metric, _)) = scale_out.iter().find(|(p, m, _)| p != tracking && *m != own) {
                findings.push(finding(
                    model,
                    "CS020",
                    tracking,
                    format!(
                        "{} → {} → scales in on {own} while {} scales out on {metric}",
                        model.name(&target),
                        tracking.id,
                        other.id
                    ),
                    "target tracking may remove what another policy adds: set DisableScaleIn".into(),
                ));
            }
        }
        for policy in &step_scale_in {
            for alarm in alarms_triggering(policy) {
                // The scale-in alarm must read each scale-out metric, of the same resources (the same
                // queue, not any queue).
                let read = alarm_metrics(model, &alarm);
                for (other, metric, dimensions) in &scale_out {
                    let covered = read
                        .iter()
                        .any(|(m, resources)| m == metric && dimensions.iter().all(|d| resources.contains(d)));
                    if !covered {
                        findings.push(finding(
                            model,
                            "CS020",
                            policy,
                            format!(
                                "{} → {} (alarm {}) ignores {metric}, which {} scales out on",
                                model.name(&target),
                                policy.id,
                                alarm.id,
                                other.id
                            ),
                            format!("the scale-in alarm may fire while {metric} calls for more capacity"),
                        ));
                    }
                }
            }
        }
    }
}

/// The CloudWatch metric behind a predefined target-tracking metric.
fn predefined_metric(predefined: &str) -> String {
    match predefined {
        "ECSServiceAverageCPUUtilization" => "AWS/ECS/CPUUtilization".into(),
        "ECSServiceAverageMemoryUtilization" => "AWS/ECS/MemoryUtilization".into(),
        "ALBRequestCountPerTarget" => "AWS/ApplicationELB/RequestCountPerTarget".into(),
        other => other.into(),
    }
}

/// CS030 to CS033.
fn alarms(model: &Model, findings: &mut Vec<Finding>) {
    let alarms = model.of_type("AWS::CloudWatch::Alarm");
    // Alarms watched by a deployment (referenced from a CodeDeploy group or an ECS service) or by a
    // Route 53 health check, which acts on them by failing DNS over.
    let mut watched = Vec::new();
    for type_name in ["AWS::CodeDeploy::DeploymentGroup", "AWS::ECS::Service", "AWS::Route53::HealthCheck"] {
        for res in model.of_type(type_name) {
            let props = model.props(&res);
            let config = match type_name {
                "AWS::ECS::Service" => props.field("DeploymentConfiguration").field("Alarms"),
                "AWS::Route53::HealthCheck" => props.field("HealthCheckConfig").field("AlarmIdentifier"),
                _ => props.field("AlarmConfiguration"),
            };
            watched.extend(model.references(res.stack, config));
        }
    }
    // Every resource some alarm's dimensions name.
    let alarmed: std::collections::BTreeSet<Res> =
        alarms.iter().flat_map(|alarm| alarm_metrics(model, alarm)).flat_map(|(_, resources)| resources).collect();
    for alarm in &alarms {
        let actions = model.props(alarm).field("AlarmActions");
        let has_action = actions.as_array().is_some_and(|a| !a.is_empty());
        if !has_action && !watched.contains(alarm) {
            findings.push(finding(
                model,
                "CS030",
                alarm,
                format!("{} → no AlarmActions, no deployment watches it", model.name(alarm)),
                "the alarm changes state and nobody hears".into(),
            ));
        }
        for action in actions.as_array().into_iter().flatten() {
            if let Some(topic) = model.resource_of(alarm.stack, action) {
                if model.type_of(&topic) == "AWS::SNS::Topic" {
                    check_topic_key(model, alarm, &topic, findings);
                }
            }
        }
    }
    // CS031: dead-letter queues.
    for queue in model.of_type("AWS::SQS::Queue") {
        let redrive = model.props(&queue).field("RedrivePolicy");
        let Some(dead_letter) = model.resource_of(queue.stack, redrive.field("deadLetterTargetArn")) else { continue };
        if !alarmed.contains(&dead_letter) {
            findings.push(finding(
                model,
                "CS031",
                &dead_letter,
                format!("{} → dead-letter queue of {} → no alarm reads it", model.name(&dead_letter), queue.id),
                "failed messages pile up unnoticed".into(),
            ));
        }
    }
    // CS032: data stores.
    for type_name in DATA_STORES {
        for store in model.of_type(type_name) {
            if !alarmed.contains(&store) {
                findings.push(finding(
                    model,
                    "CS032",
                    &store,
                    format!("{} → no alarm names it in its dimensions", model.name(&store)),
                    format!("nothing watches this {type_name}"),
                ));
            }
        }
    }
}

/// CS033: an encrypted topic's key lets CloudWatch publish.
fn check_topic_key(model: &Model, alarm: &Res, topic: &Res, findings: &mut Vec<Finding>) {
    let key_value = model.props(topic).field("KmsMasterKeyId");
    if key_value.is_null() {
        return;
    }
    let problem = match model.resolve(topic.stack, key_value) {
        Resolved::Literal(text) if text.contains("alias/aws/sns") => {
            Some("is encrypted with the AWS-managed aws/sns key, whose policy CloudWatch may not use".to_owned())
        }
        Resolved::Resource(key, _) if model.type_of(&key) == "AWS::KMS::Key" => {
            let statements = items(model.props(&key).field("KeyPolicy").field("Statement"));
            let allows = |action: &str| {
                statements.iter().any(|statement| {
                    statement.field("Effect") == "Allow"
                        && mentions(statement.field("Principal"), "cloudwatch.amazonaws.com")
                        && actions_of(statement).iter().any(|a| {
                            a == action
                                || a == "kms:*"
                                || (a.ends_with('*') && action.starts_with(a.trim_end_matches('*')))
                        })
                })
            };
            (!(allows("kms:Decrypt") && allows("kms:GenerateDataKey"))).then(|| {
                format!("is encrypted with {}, whose key policy does not let cloudwatch.amazonaws.com use it", key.id)
            })
        }
        _ => None,
    };
    if let Some(problem) = problem {
        findings.push(finding(
            model,
            "CS033",
            alarm,
            format!("{} → {}", model.name(alarm), model.name(topic)),
            format!("the topic {problem}: the alarm notifies no one"),
        ));
    }
}

fn actions_of(statement: &Json) -> Vec<String> {
    match statement.field("Action") {
        Json::String(one) => vec![one.clone()],
        Json::Array(many) => many.iter().filter_map(Json::as_str).map(str::to_owned).collect(),
        _ => vec![],
    }
}
