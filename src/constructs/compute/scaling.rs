//! Application Auto Scaling of an ECS service: CPU target tracking that only adds tasks, step scaling
//! from a CloudWatch alarm, and scale-in after sustained idleness.
//!
//! The seed's rule is "CPU > 70% → scale out, queue depth > 500 → add workers, idle 10 min → scale in".
//! Target tracking left to itself also removes tasks whenever CPU sits under its target, on its own
//! timetable and regardless of any other policy (it would remove a worker while the queue still holds
//! messages). So CPU tracking here never scales in (`DisableScaleIn`), and the only way down is one
//! idle alarm per service whose metric math reads every metric a scale-out rule watches.

use crate::cfn::applicationautoscaling as autoscaling;
use crate::cfn::applicationautoscaling::scalable_target::{
    ScalableTargetScalableDimension, ScalableTargetServiceNamespace,
};
use crate::cfn::applicationautoscaling::scaling_policy::{
    PredefinedMetricSpecification, PredefinedMetricSpecificationPredefinedMetricType, ScalingPolicyPolicyType,
    StepAdjustment, StepScalingPolicyConfiguration, StepScalingPolicyConfigurationAdjustmentType,
    StepScalingPolicyConfigurationMetricAggregationType, TargetTrackingScalingPolicyConfiguration,
};
use crate::cfn::cloudwatch;
use crate::cfn::cloudwatch::alarm::{AlarmComparisonOperator, AlarmTreatMissingData, MetricDataQuery};
use crate::construct::{pascal_case, ConstructError, ResourceRef, Scope};
use crate::template::Value;

use super::service::FargateService;

/// The CPU utilization target-tracking aims at: the seed's "CPU > 70% → scale out".
pub const CPU_TARGET_PERCENT: f64 = 70.0;

/// The idle window of scale-in alarms, the only way a service loses a task: the seed's "idle 10
/// minutes → scale in".
pub const SCALE_IN_AFTER_SECONDS: i64 = 600;

/// One step of a step-scaling policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Where the step starts, above the alarm threshold.
    pub from: i64,
    /// Tasks to add (negative to remove).
    pub change: i64,
}

/// The scalable target of one ECS service.
#[derive(Debug, Clone)]
pub struct ServiceScaling {
    resource: ResourceRef<autoscaling::ScalableTarget>,
}

impl ServiceScaling {
    /// Registers `service` to scale between `min` and `max` tasks, under `id`.
    pub fn for_service(
        scope: &mut Scope,
        id: &str,
        service: &FargateService,
        min: i64,
        max: i64,
    ) -> Result<Self, ConstructError> {
        let resource_id = Value::sub_with(
            "service/${Cluster}/${Service}",
            [("Cluster", service.cluster().name().value()), ("Service", service.name())],
        );
        let target = autoscaling::ScalableTarget::new(
            max,
            min,
            resource_id,
            ScalableTargetScalableDimension::EcsServiceDesiredCount,
            ScalableTargetServiceNamespace::Ecs,
        );
        Ok(Self { resource: scope.add(id, target)? })
    }

    /// The scalable target resource.
    pub fn resource(&self) -> &ResourceRef<autoscaling::ScalableTarget> {
        &self.resource
    }

    /// Target tracking on the service's average CPU that only adds tasks (`DisableScaleIn`): out within a
    /// minute when CPU passes `target_percent`; removing tasks is left to an [`idle_alarm`].
    pub fn scale_out_on_cpu(&self, scope: &mut Scope, id: &str, target_percent: f64) -> Result<(), ConstructError> {
        let configuration = TargetTrackingScalingPolicyConfiguration::new(target_percent)
            .predefined_metric_specification(PredefinedMetricSpecification::new(
                PredefinedMetricSpecificationPredefinedMetricType::EcsServiceAverageCpuUtilization,
            ))
            .disable_scale_in(true)
            .scale_out_cooldown(60);
        scope.add(
            id,
            autoscaling::ScalingPolicy::new(pascal_case(id), ScalingPolicyPolicyType::TargetTrackingScaling)
                .scaling_target_id(self.resource.ref_value())
                .target_tracking_scaling_policy_configuration(configuration),
        )?;
        Ok(())
    }

    /// Target tracking on the service's average CPU both ways, as the CDK's `scaleOnCpuUtilization`:
    /// out within a minute when CPU passes `target_percent`, in only after ten minutes under it. Use
    /// [`ServiceScaling::scale_out_on_cpu`] with an [`idle_alarm`] instead when another policy scales
    /// the same service out on a different metric.
    pub fn scale_on_cpu(&self, scope: &mut Scope, id: &str, target_percent: f64) -> Result<(), ConstructError> {
        let configuration = TargetTrackingScalingPolicyConfiguration::new(target_percent)
            .predefined_metric_specification(PredefinedMetricSpecification::new(
                PredefinedMetricSpecificationPredefinedMetricType::EcsServiceAverageCpuUtilization,
            ))
            .scale_out_cooldown(60)
            .scale_in_cooldown(SCALE_IN_AFTER_SECONDS);
        scope.add(
            id,
            autoscaling::ScalingPolicy::new(pascal_case(id), ScalingPolicyPolicyType::TargetTrackingScaling)
                .scaling_target_id(self.resource.ref_value())
                .target_tracking_scaling_policy_configuration(configuration),
        )?;
        Ok(())
    }

    /// A step-scaling policy under `id`; the steps are relative to the threshold of the alarm that
    /// triggers it. Returns the policy, whose `Ref` an alarm names as its action.
    pub fn step_policy(
        &self,
        scope: &mut Scope,
        id: &str,
        steps: &[Step],
        cooldown_seconds: i64,
    ) -> Result<ResourceRef<autoscaling::ScalingPolicy>, ConstructError> {
        // Bounds are relative to the alarm threshold: each step runs from its start to the next one's.
        let adjustments: Vec<StepAdjustment> = steps
            .iter()
            .enumerate()
            .map(|(index, step)| {
                let adjustment = StepAdjustment::new(step.change).metric_interval_lower_bound(step.from as f64);
                match steps.get(index + 1) {
                    Some(next) => adjustment.metric_interval_upper_bound(next.from as f64),
                    None => adjustment,
                }
            })
            .collect();
        scope.add(
            id,
            autoscaling::ScalingPolicy::new(pascal_case(id), ScalingPolicyPolicyType::StepScaling)
                .scaling_target_id(self.resource.ref_value())
                .step_scaling_policy_configuration(
                    StepScalingPolicyConfiguration::new()
                        .adjustment_type(StepScalingPolicyConfigurationAdjustmentType::ChangeInCapacity)
                        .metric_aggregation_type(StepScalingPolicyConfigurationMetricAggregationType::Maximum)
                        .cooldown(cooldown_seconds)
                        .step_adjustments(adjustments),
                ),
        )
    }
}

/// An alarm that fires `action` after [`SCALE_IN_AFTER_SECONDS`] of idleness: `idle_expression` (metric
/// math over `metrics`, 1 when idle) equal to 1 in every one-minute period of the window.
pub fn idle_alarm(
    scope: &mut Scope,
    id: &str,
    description: &str,
    metrics: Vec<MetricDataQuery>,
    idle_expression: &str,
    action: Value<String>,
) -> Result<(), ConstructError> {
    let periods = SCALE_IN_AFTER_SECONDS / 60;
    let mut queries = metrics;
    queries.push(MetricDataQuery::new("idle").expression(idle_expression).label("1 when idle").return_data(true));
    scope.add(
        id,
        cloudwatch::Alarm::new()
            .alarm_description(description)
            .metrics(queries)
            .evaluation_periods(periods)
            .datapoints_to_alarm(periods)
            .threshold(1.0)
            .comparison_operator(AlarmComparisonOperator::GreaterThanOrEqualToThreshold)
            .treat_missing_data(AlarmTreatMissingData::NotBreaching)
            .alarm_actions(vec![action]),
    )?;
    Ok(())
}
