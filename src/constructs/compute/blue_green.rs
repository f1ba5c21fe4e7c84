//! Zero-downtime deploys of an ECS service through CodeDeploy blue/green.
//!
//! ## Secure defaults
//! - Traffic moves from the blue to the green target group on the production listener only after the
//!   green tasks pass on the test listener; the shift follows a canary or linear configuration.
//! - Rollback is automatic when a deployment fails or one of its alarms fires.
//! - The blue tasks keep running for a termination wait after the switch, so open connections drain.

use crate::cfn::codedeploy;
use crate::cfn::codedeploy::application::ApplicationComputePlatform;
use crate::cfn::codedeploy::deployment_group::{
    Alarm, AlarmConfiguration, AutoRollbackConfiguration, AutoRollbackConfigurationEvents,
    BlueGreenDeploymentConfiguration, BlueInstanceTerminationOption, BlueInstanceTerminationOptionAction,
    DeploymentReadyOption, DeploymentReadyOptionActionOnTimeout, DeploymentStyle, DeploymentStyleDeploymentOption,
    DeploymentStyleDeploymentType, EcsService, LoadBalancerInfo, TargetGroupInfo, TargetGroupPairInfo, TrafficRoute,
};
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::iam::{Role, RoleProps, Statement};
use crate::template::Value;

use super::load_balancer::TargetGroup;
use super::service::FargateService;

/// The CodeDeploy application of a set of ECS services, with the role CodeDeploy acts through.
#[derive(Debug, Clone)]
pub struct DeploymentApplication {
    resource: ResourceRef<codedeploy::Application>,
    role: Role,
}

impl DeploymentApplication {
    /// Adds the application and its service role under `id`.
    pub fn new(scope: &mut Scope, id: &str) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        let resource =
            scope.add("Resource", codedeploy::Application::new().compute_platform(ApplicationComputePlatform::Ecs))?;
        let role = Role::new(
            &mut scope,
            "ServiceRole",
            RoleProps {
                description: format!("Lets CodeDeploy run the blue/green deployments of {name}"),
                trust: Statement::assume_role("codedeploy.amazonaws.com").condition(
                    "StringEquals",
                    "aws:SourceAccount",
                    Value::account_id(),
                ),
                statements: vec![],
                managed_policy_arns: vec![Value::sub("arn:${AWS::Partition}:iam::aws:policy/AWSCodeDeployRoleForECS")],
            },
        )?;
        Ok(Self { resource, role })
    }

    /// The application name (its `Ref`).
    pub fn name(&self) -> Value<String> {
        self.resource.ref_value()
    }
}

/// What a blue/green deployment group connects.
#[derive(Debug, Clone)]
pub struct BlueGreenProps {
    /// The service, deployed with [`super::Deployment::BlueGreen`].
    pub service: FargateService,
    /// The blue and green target groups.
    pub target_groups: [TargetGroup; 2],
    /// The production listener ARN.
    pub production_listener: Value<String>,
    /// The test listener ARN.
    pub test_listener: Value<String>,
    /// The CodeDeploy deployment configuration (`CodeDeployDefault.ECSCanary10Percent5Minutes`).
    pub deployment_config_name: String,
    /// Minutes the blue tasks keep serving open connections after the switch.
    pub termination_wait_minutes: i64,
    /// Alarms that stop and roll back a deployment.
    pub rollback_alarms: Vec<Value<String>>,
}

impl BlueGreenProps {
    /// A deployment of `service` between the target groups `blue` (where it starts) and `green`,
    /// switching `production_listener` after `test_listener`. Defaults: all traffic at once
    /// (`CodeDeployDefault.ECSAllAtOnce`), blue tasks kept 5 minutes to drain, no rollback alarms.
    pub fn new(
        service: &FargateService,
        [blue, green]: [&TargetGroup; 2],
        production_listener: Value<String>,
        test_listener: Value<String>,
    ) -> Self {
        Self {
            service: service.clone(),
            target_groups: [blue.clone(), green.clone()],
            production_listener,
            test_listener,
            deployment_config_name: "CodeDeployDefault.ECSAllAtOnce".into(),
            termination_wait_minutes: 5,
            rollback_alarms: Vec::new(),
        }
    }
}

/// A CodeDeploy deployment group of type `BLUE_GREEN` for one ECS service.
#[derive(Debug, Clone)]
pub struct BlueGreenDeployment {
    resource: ResourceRef<codedeploy::DeploymentGroup>,
}

impl BlueGreenDeployment {
    /// Adds the deployment group under `id`.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        application: &DeploymentApplication,
        props: BlueGreenProps,
    ) -> Result<Self, ConstructError> {
        let [blue, green] = &props.target_groups;
        let pair = TargetGroupPairInfo::new()
            .target_groups(vec![TargetGroupInfo::new().name(blue.name()), TargetGroupInfo::new().name(green.name())])
            .prod_traffic_route(TrafficRoute::new().listener_arns(vec![props.production_listener]))
            .test_traffic_route(TrafficRoute::new().listener_arns(vec![props.test_listener]));
        let mut group = codedeploy::DeploymentGroup::new(application.name(), application.role.arn())
            .deployment_config_name(props.deployment_config_name)
            .deployment_style(
                DeploymentStyle::new()
                    .deployment_type(DeploymentStyleDeploymentType::BlueGreen)
                    .deployment_option(DeploymentStyleDeploymentOption::WithTrafficControl),
            )
            .blue_green_deployment_configuration(
                BlueGreenDeploymentConfiguration::new()
                    .deployment_ready_option(
                        DeploymentReadyOption::new()
                            .action_on_timeout(DeploymentReadyOptionActionOnTimeout::ContinueDeployment),
                    )
                    .terminate_blue_instances_on_deployment_success(
                        BlueInstanceTerminationOption::new()
                            .action(BlueInstanceTerminationOptionAction::Terminate)
                            .termination_wait_time_in_minutes(props.termination_wait_minutes),
                    ),
            )
            .ecs_services(vec![EcsService::new(props.service.cluster().name(), props.service.name())])
            .load_balancer_info(LoadBalancerInfo::new().target_group_pair_info_list(vec![pair]))
            .auto_rollback_configuration(AutoRollbackConfiguration::new().enabled(true).events(vec![
                Value::from(AutoRollbackConfigurationEvents::DeploymentFailure),
                Value::from(AutoRollbackConfigurationEvents::DeploymentStopOnAlarm),
            ]));
        if !props.rollback_alarms.is_empty() {
            group = group.alarm_configuration(
                AlarmConfiguration::new()
                    .enabled(true)
                    .alarms(props.rollback_alarms.into_iter().map(|name| Alarm::new().name(name)).collect::<Vec<_>>()),
            );
        }
        Ok(Self { resource: scope.add(id, group)? })
    }

    /// The deployment group resource.
    pub fn resource(&self) -> &ResourceRef<codedeploy::DeploymentGroup> {
        &self.resource
    }
}
