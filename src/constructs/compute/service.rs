//! An ECS service of Fargate tasks.
//!
//! ## Secure defaults
//! - Tasks in private subnets with no public IP (checkov CKV_AWS_333), on the latest platform version
//!   (CKV_AWS_332), with ECS Exec off.
//! - Pre-warmed replacements: deployments keep 100% of the desired tasks healthy, and a health check
//!   grace period lets new tasks warm up before the load balancer judges them.
//! - Blue/green services hand deployments to CodeDeploy; rolling ones get the deployment circuit breaker
//!   with automatic rollback.

use crate::cfn::ecs;
use crate::cfn::ecs::service::{
    AwsVpcConfiguration, AwsVpcConfigurationAssignPublicIp, CapacityProviderStrategyItem, DeploymentCircuitBreaker,
    DeploymentConfiguration, DeploymentController, DeploymentControllerType, LoadBalancer, NetworkConfiguration,
    ServiceLaunchType, ServicePropagateTags,
};
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::template::Value;

use super::task::FargateTaskDefinition;

/// How a service deploys.
#[derive(Debug, Clone, PartialEq)]
pub enum Deployment {
    /// CodeDeploy blue/green behind a load balancer: the service starts on the blue target group.
    BlueGreen {
        /// The blue target group's ARN.
        target_group_arn: Value<String>,
        /// The container port the target group sends to.
        container_port: u16,
        /// Seconds before failing load balancer health checks count.
        health_check_grace_seconds: i64,
    },
    /// ECS rolling updates with the circuit breaker, on Fargate Spot with an on-demand base.
    Rolling,
}

/// How to build a [`FargateService`].
#[derive(Debug, Clone)]
pub struct ServiceProps {
    /// The cluster name.
    pub cluster: Value<String>,
    /// Tasks at deploy time.
    pub desired_count: i64,
    /// The subnets of the tasks (the private-app tier).
    pub subnet_ids: Vec<Value<String>>,
    /// The security group of the tasks.
    pub security_group_id: Value<String>,
    /// How it deploys.
    pub deployment: Deployment,
}

/// A Fargate service.
#[derive(Debug, Clone)]
pub struct FargateService {
    resource: ResourceRef<ecs::Service>,
}

impl FargateService {
    /// Adds the service under `id`, running `task`.
    pub fn new(
        scope: &mut Scope<'_>,
        id: &str,
        task: &FargateTaskDefinition,
        props: ServiceProps,
    ) -> Result<Self, ConstructError> {
        let network = NetworkConfiguration::new().awsvpc_configuration(
            AwsVpcConfiguration::new()
                .subnets(props.subnet_ids)
                .security_groups(vec![props.security_group_id])
                .assign_public_ip(AwsVpcConfigurationAssignPublicIp::Disabled),
        );
        let mut service = ecs::Service::new()
            .cluster(props.cluster)
            .task_definition(task.resource().ref_value())
            .desired_count(props.desired_count)
            .platform_version("LATEST")
            .network_configuration(network)
            .enable_execute_command(false)
            .propagate_tags(ServicePropagateTags::Service);
        service = match props.deployment {
            Deployment::BlueGreen { target_group_arn, container_port, health_check_grace_seconds } => service
                .launch_type(ServiceLaunchType::Fargate)
                .deployment_controller(DeploymentController::new().r#type(DeploymentControllerType::CodeDeploy))
                .deployment_configuration(
                    DeploymentConfiguration::new().minimum_healthy_percent(100).maximum_percent(200),
                )
                .health_check_grace_period_seconds(health_check_grace_seconds)
                .load_balancers(vec![LoadBalancer::new()
                    .container_name(task.container_name())
                    .container_port(i64::from(container_port))
                    .target_group_arn(target_group_arn)]),
            Deployment::Rolling => service
                .capacity_provider_strategy(vec![
                    CapacityProviderStrategyItem::new().capacity_provider("FARGATE").base(1).weight(1),
                    CapacityProviderStrategyItem::new().capacity_provider("FARGATE_SPOT").weight(3),
                ])
                .deployment_controller(DeploymentController::new().r#type(DeploymentControllerType::Ecs))
                .deployment_configuration(
                    DeploymentConfiguration::new()
                        .minimum_healthy_percent(100)
                        .maximum_percent(200)
                        .deployment_circuit_breaker(DeploymentCircuitBreaker::new(true, true)),
                ),
        };
        Ok(Self { resource: scope.add(id, service)? })
    }

    /// The service resource.
    pub fn resource(&self) -> &ResourceRef<ecs::Service> {
        &self.resource
    }

    /// The service name.
    pub fn name(&self) -> Value<String> {
        self.resource.attr_name()
    }
}
