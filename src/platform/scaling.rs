//! The scaling stack of a region with a compute tier: autoscaling exactly as the seed says.
//!
//! - CPU > 70% only adds tasks (target tracking with `DisableScaleIn`), on every service.
//! - Queue depth > 500 adds workers, in the configured steps.
//! - Each service loses a task only after 10 idle minutes, and by that rule alone: HTTP services when
//!   CPU is low and no request arrived (a minute without an ALB request metric counting as none); the
//!   worker when its queue is empty, in-flight messages included, and CPU is low. So nothing removes a
//!   worker while its queue holds a message.
//!
//! Kept apart from the operations stack so that both stay under the inline template size limit.

use super::compute::{Compute, PlatformService};
use super::support::metric_query;
use super::PlatformError;
use crate::cfn::cloudwatch::alarm::{AlarmStatistic, Metric, MetricDataQuery};
use crate::cfn::prelude::*;
use crate::construct::{ConstructError, Scope, Stack};
use crate::constructs::compute::{idle_alarm, ServiceScaling, Step, TargetGroup, CPU_TARGET_PERCENT};
use crate::constructs::data::Queue;
use crate::constructs::monitoring::MetricAlarm;
use crate::template::Value;

/// Queue depth above which workers are added: the seed's "queue depth > 500".
pub const QUEUE_DEPTH_THRESHOLD: f64 = 500.0;

/// CPU (percent) under which a service with no work counts as idle.
pub const IDLE_CPU_PERCENT: i64 = 20;

/// Builds the autoscaling of every service of `compute` into `stack`.
pub(super) fn build(stack: &Stack, compute: &Compute, queue: &Queue) -> Result<(), PlatformError> {
    let stack_name = stack.name();
    stack.set_description(format!(
        "Autoscaling of {stack_name} ({}): CPU > 70% adds tasks, queue depth > 500 adds workers, and each service \
         loses a task only after 10 idle minutes.",
        stack.region()
    ));
    let mut root = stack.root();
    let work_queue = vec![("QueueName".to_owned(), queue.name())];
    for service in &compute.services {
        scale(&mut root, service, &work_queue)?;
    }
    Ok(())
}

/// Registers one service for autoscaling: CPU > 70% adds tasks and never removes them, the worker
/// also scales out on queue depth, and one idle alarm per service is the only way down.
fn scale(
    root: &mut Scope,
    service: &PlatformService,
    work_queue: &[(String, Value<String>)],
) -> Result<(), ConstructError> {
    let id = &service.id;
    let scaling =
        ServiceScaling::for_service(root, &format!("{id}Scaling"), &service.service, service.min, service.max)?;
    scaling.scale_out_on_cpu(root, &format!("{id}CpuScaleOut"), CPU_TARGET_PERCENT)?;
    let service_dims = vec![
        ("ClusterName".to_owned(), service.service.cluster().name().value()),
        ("ServiceName".to_owned(), service.service.name()),
    ];
    let cpu = metric_query(
        "cpu",
        Metric::new().namespace("AWS/ECS").metric_name("CPUUtilization"),
        &service_dims,
        60,
        "Average",
    );
    let scale_in = scaling.step_policy(root, &format!("{id}IdleScaleIn"), &[Step { from: 0, change: -1 }], 300)?;
    let idle = match &service.targets {
        Some(targets) => {
            let requests = |query: &str, group: &TargetGroup| {
                let pairs = vec![
                    ("LoadBalancer".to_owned(), targets.load_balancer_full_name.clone()),
                    ("TargetGroup".to_owned(), group.resource().attr_target_group_full_name()),
                ];
                metric_query(
                    query,
                    Metric::new().namespace("AWS/ApplicationELB").metric_name("RequestCount"),
                    &pairs,
                    60,
                    "Sum",
                )
            };
            IdleRule {
                description: format!(
                    "{id} served no request and stayed under {IDLE_CPU_PERCENT}% CPU for 10 minutes: remove a task"
                ),
                metrics: vec![cpu, requests("blue", &targets.blue), requests("green", &targets.green)],
                // An ALB publishes no RequestCount in a minute without requests: FILL counts it as 0.
                expression: format!("IF(cpu < {IDLE_CPU_PERCENT} AND FILL(blue, 0) + FILL(green, 0) == 0, 1, 0)"),
            }
        }
        None => {
            let steps: Vec<Step> = service
                .scale_out_steps
                .iter()
                .map(|step| Step { from: step.messages_above, change: step.add_tasks })
                .collect();
            let scale_out = scaling.step_policy(root, &format!("{id}QueueScaleOut"), &steps, 60)?;
            MetricAlarm::above(
                format!("More than {QUEUE_DEPTH_THRESHOLD} messages wait in the work queue: add workers"),
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                work_queue.to_vec(),
                AlarmStatistic::Maximum,
                QUEUE_DEPTH_THRESHOLD,
                1,
            )
            .add(root, &format!("{id}QueueDepthAlarm"), vec![scale_out.ref_value()])?;
            let sqs = |name: &str| Metric::new().namespace("AWS/SQS").metric_name(name);
            IdleRule {
                description: format!(
                    "The work queue has been empty (in-flight messages included) and the workers under \
                     {IDLE_CPU_PERCENT}% CPU for 10 minutes: remove a worker"
                ),
                metrics: vec![
                    metric_query("visible", sqs("ApproximateNumberOfMessagesVisible"), work_queue, 60, "Maximum"),
                    metric_query("inflight", sqs("ApproximateNumberOfMessagesNotVisible"), work_queue, 60, "Maximum"),
                    cpu,
                ],
                expression: format!("IF(FILL(visible, 0) + FILL(inflight, 0) == 0 AND cpu < {IDLE_CPU_PERCENT}, 1, 0)"),
            }
        }
    };
    idle_alarm(root, &format!("{id}IdleAlarm"), &idle.description, idle.metrics, &idle.expression, scale_in.ref_value())
}

/// When a service counts as idle: metric math over `metrics` that is 1 when idle.
#[derive(Debug)]
struct IdleRule {
    /// The idle alarm's description.
    description: String,
    metrics: Vec<MetricDataQuery>,
    expression: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::platform::test_support::{default_config, of_type, stacks};

    #[test]
    fn cpu_over_70_percent_only_ever_adds_tasks_on_every_service() {
        let stacks = stacks(&default_config());
        let tracking: Vec<_> = of_type(&stacks["Scaling"], "AWS::ApplicationAutoScaling::ScalingPolicy")
            .into_iter()
            .filter(|(_, p)| p["Properties"]["PolicyType"] == "TargetTrackingScaling")
            .collect();
        assert_eq!(tracking.len(), 4, "Kong, the two HTTP services and the worker");
        for (id, policy) in tracking {
            let configuration = &policy["Properties"]["TargetTrackingScalingPolicyConfiguration"];
            assert_eq!(configuration["TargetValue"], 70.0, "{id}");
            assert_eq!(
                configuration["PredefinedMetricSpecification"]["PredefinedMetricType"],
                "ECSServiceAverageCPUUtilization"
            );
            assert_eq!(configuration["DisableScaleIn"], true, "{id}: CPU never removes tasks");
        }
    }

    #[test]
    fn queue_depth_over_500_adds_workers_in_the_configured_steps() {
        let mut config = default_config();
        let crate::config::ApplicationConfig::Worker(worker) =
            &mut config.regions[0].compute.as_mut().unwrap().services[2]
        else {
            panic!("the default's third service is its worker")
        };
        let steps = &mut worker.scale_out_steps;
        steps.push(crate::config::ScaleOutStep { messages_above: 5000, add_tasks: 8 });
        let stacks = stacks(&config);
        let scaling = &stacks["Scaling"];
        let alarm = &scaling["WorkerServiceQueueDepthAlarm"]["Properties"];
        assert_eq!(alarm["MetricName"], "ApproximateNumberOfMessagesVisible");
        assert_eq!(alarm["Namespace"], "AWS/SQS");
        assert_eq!(alarm["Threshold"], 500.0);
        assert_eq!(alarm["ComparisonOperator"], "GreaterThanThreshold");
        assert_eq!(alarm["AlarmActions"], json!([{"Ref": "WorkerServiceQueueScaleOut"}]));
        let adjustments =
            &scaling["WorkerServiceQueueScaleOut"]["Properties"]["StepScalingPolicyConfiguration"]["StepAdjustments"];
        assert_eq!(
            adjustments,
            &json!([
                {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 1000.0, "ScalingAdjustment": 2},
                {"MetricIntervalLowerBound": 1000.0, "MetricIntervalUpperBound": 5000.0, "ScalingAdjustment": 4},
                {"MetricIntervalLowerBound": 5000.0, "ScalingAdjustment": 8}
            ])
        );
    }

    #[test]
    fn each_service_loses_a_task_only_after_ten_idle_minutes() {
        let stacks = stacks(&default_config());
        let scaling = &stacks["Scaling"];
        for id in ["Kong", "IntegrationService", "WebhookReceiver", "WorkerService"] {
            let alarm = &scaling[format!("{id}IdleAlarm").as_str()]["Properties"];
            assert_eq!(alarm["EvaluationPeriods"], 10, "{id}");
            assert_eq!(alarm["DatapointsToAlarm"], 10, "{id}: every minute of the ten");
            let metrics = alarm["Metrics"].as_array().unwrap();
            assert!(metrics[..metrics.len() - 1].iter().all(|m| m["MetricStat"]["Period"] == 60), "{id}");
            assert_eq!(alarm["AlarmActions"], json!([{"Ref": format!("{id}IdleScaleIn")}]), "{id}");
            let step = &scaling[format!("{id}IdleScaleIn").as_str()]["Properties"]["StepScalingPolicyConfiguration"];
            assert_eq!(step["StepAdjustments"], json!([{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": -1}]));
            let expression = metrics.last().unwrap()["Expression"].as_str().unwrap();
            if id == "WorkerService" {
                // Empty means no visible and no in-flight message; a missing datapoint counts as none.
                assert_eq!(expression, "IF(FILL(visible, 0) + FILL(inflight, 0) == 0 AND cpu < 20, 1, 0)");
                assert_eq!(metrics[1]["MetricStat"]["Metric"]["MetricName"], "ApproximateNumberOfMessagesNotVisible");
            } else {
                // An ALB publishes no RequestCount in a minute without requests: FILL counts it as 0.
                assert_eq!(expression, "IF(cpu < 20 AND FILL(blue, 0) + FILL(green, 0) == 0, 1, 0)", "{id}");
                assert_eq!(metrics[1]["MetricStat"]["Metric"]["MetricName"], "RequestCount");
            }
        }
        let negative: Vec<_> = of_type(scaling, "AWS::ApplicationAutoScaling::ScalingPolicy")
            .into_iter()
            .filter(|(_, p)| p.to_string().contains("\"ScalingAdjustment\":-"))
            .map(|(id, _)| id.as_str())
            .collect();
        assert_eq!(
            negative,
            [
                "KongIdleScaleIn",
                "IntegrationServiceIdleScaleIn",
                "WebhookReceiverIdleScaleIn",
                "WorkerServiceIdleScaleIn"
            ],
            "the idle rules are the only way down"
        );
    }
}
