//! An ECS service of Fargate tasks.
//!
//! The service derives what follows from its cluster and task: the subnets (the cluster's VPC, the
//! private-app tier unless selected otherwise), the container name and port behind a target group,
//! and, unless given, its own security group.
//!
//! ## Secure defaults
//! - Tasks in private subnets with no public IP (checkov CKV_AWS_333), on the latest platform version
//!   (CKV_AWS_332), with ECS Exec off.
//! - A security group of its own, with no ingress and exactly the egress its tasks need to start:
//!   HTTPS, over which they pull their image and reach CloudWatch Logs and Secrets Manager (through the
//!   VPC's endpoints or NAT). Connections add the rest (`db.connections().allow_default_port_from(&svc)`).
//! - On-demand Fargate unless Spot is asked for ([`Capacity`]).
//! - Pre-warmed replacements: deployments keep 100% of the desired tasks healthy, and a health check
//!   grace period lets new tasks warm up before the load balancer judges them.
//! - Blue/green deployments are ECS's own (`DeploymentController: ECS` with a `BLUE_GREEN`, `CANARY` or
//!   `LINEAR` strategy), so a stack update that changes the task definition deploys blue/green too;
//!   CodeDeploy's controller would refuse that update. Lifecycle hooks gate the traffic shift, and the
//!   deployment alarms roll back during the bake time. Rolling deployments get the circuit breaker
//!   with automatic rollback instead (ECS offers it for rolling deployments only).

use crate::cfn::ecs;
use crate::cfn::ecs::service::{
    AdvancedConfiguration, AwsVpcConfiguration, AwsVpcConfigurationAssignPublicIp, CanaryConfiguration,
    CapacityProviderStrategyItem, DeploymentAlarms, DeploymentCircuitBreaker, DeploymentConfiguration,
    DeploymentConfigurationStrategy, DeploymentController, DeploymentControllerType, DeploymentLifecycleHook,
    DeploymentLifecycleHookLifecycleStages, LinearConfiguration, LoadBalancer, NetworkConfiguration, ServiceLaunchType,
    ServicePropagateTags,
};
use crate::cfn::prelude::*;
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::iam::{Grantee, Role, RoleProps, Statement};
use crate::constructs::network::{Connectable, Connections, Port, SecurityGroup, SubnetSelection};
use crate::template::Value;

use super::cluster::Cluster;
use super::hook::HookFunction;
use super::load_balancer::TargetGroup;
use super::task::FargateTaskDefinition;

/// How a service deploys.
#[derive(Debug, Clone, Default)]
pub enum Deployment {
    /// ECS rolling updates with the circuit breaker and automatic rollback.
    #[default]
    Rolling,
    /// ECS blue/green behind a load balancer: the new revision starts on the alternate target group,
    /// takes test traffic, passes its hooks, then takes production traffic.
    BlueGreen(Box<BlueGreen>),
}

impl Deployment {
    /// An ECS blue/green deployment.
    pub fn blue_green(blue_green: BlueGreen) -> Self {
        Self::BlueGreen(Box::new(blue_green))
    }
}

/// How production traffic moves to a new revision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrafficShift {
    /// All at once, after the hooks pass (`BLUE_GREEN`).
    AllAtOnce,
    /// `percent` first, the rest after `bake_minutes` (`CANARY`).
    Canary {
        /// The share moved first.
        percent: f64,
        /// Minutes before the rest moves.
        bake_minutes: i64,
    },
    /// `step_percent` every `step_bake_minutes` (`LINEAR`).
    Linear {
        /// The share moved each step.
        step_percent: f64,
        /// Minutes between steps.
        step_bake_minutes: i64,
    },
}

/// An ECS-native blue/green deployment of a service behind a load balancer.
///
/// The service's target group (see [`ServiceProps::target_group`]) and `alternate` take turns: ECS
/// starts the new revision on whichever is idle, points `test_rule` at it, runs the hooks, then moves
/// `production_rule`. The rules, not listeners' default actions, are what ECS rewrites, and they belong
/// to a stack of their own that a service deployment never updates.
#[derive(Debug, Clone)]
pub struct BlueGreen {
    /// The second target group.
    pub alternate: TargetGroup,
    /// The ARN of the production listener's rule that forwards to the service.
    pub production_rule: Value<String>,
    /// The ARN of the test listener's rule that forwards to the service.
    pub test_rule: Value<String>,
    /// How production traffic moves.
    pub shift: TrafficShift,
    /// Minutes the old revision keeps running after the shift, draining its connections; an alarm
    /// firing meanwhile rolls back.
    pub bake_minutes: i64,
    /// Hooks and the stages they run at.
    pub hooks: Vec<(HookFunction, Vec<DeploymentLifecycleHookLifecycleStages>)>,
    /// Names of alarms that roll a deployment back; they should cover both target groups.
    pub rollback_alarms: Vec<Value<String>>,
    /// The roles ECS acts through.
    pub roles: BlueGreenRoles,
}

/// The roles ECS uses in blue/green deployments: one to rewrite listener rules and move targets, one
/// to invoke the hooks. One pair serves every service of a stack or app.
#[derive(Debug, Clone)]
pub struct BlueGreenRoles {
    load_balancers: Role,
    hooks: Role,
    path: Option<String>,
}

impl BlueGreenRoles {
    /// Adds the two roles under `id`; the hook role may invoke exactly `hooks`.
    pub fn new(scope: &mut Scope, id: &str, hooks: &[&HookFunction]) -> Result<Self, ConstructError> {
        Self::under_path(scope, id, hooks, None)
    }

    /// Adds the two roles under `id` with the IAM path `path` (`/app/blue-green/`), so that a principal
    /// in another region or stack can be allowed to pass them by path, without a reference to them.
    pub fn under_path(
        scope: &mut Scope,
        id: &str,
        hooks: &[&HookFunction],
        path: Option<String>,
    ) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        let trust = || {
            Statement::assume_role("ecs.amazonaws.com").condition(
                "StringEquals",
                "aws:SourceAccount",
                Value::account_id(),
            )
        };
        let load_balancers = Role::new(
            &mut scope,
            "LoadBalancers",
            RoleProps {
                managed_policy_arns: vec![Value::sub(
                    "arn:${AWS::Partition}:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers",
                )],
                path: path.clone(),
                ..RoleProps::new(format!("Lets ECS move blue/green traffic for {name}"), trust())
            },
        )?;
        let invoke = hooks.iter().map(|hook| hook.invoke_statement()).collect();
        let hooks = Role::new(
            &mut scope,
            "Hooks",
            RoleProps {
                statements: invoke,
                path: path.clone(),
                ..RoleProps::new(format!("Lets ECS run the deployment hooks of {name}"), trust())
            },
        )?;
        Ok(Self { load_balancers, hooks, path })
    }

    /// The roles' IAM path, when they were given one.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// Both roles, which whoever updates a service that names them must be allowed to pass to ECS
    /// (`iam:PassRole`): a release pipeline's deploy role, say.
    pub fn roles(&self) -> [&Role; 2] {
        [&self.load_balancers, &self.hooks]
    }
}

/// Where a service's tasks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Capacity {
    /// On-demand Fargate only.
    #[default]
    OnDemand,
    /// Fargate Spot, interruptible at two minutes' notice, behind a base of on-demand tasks.
    Spot {
        /// Tasks that always run on demand.
        on_demand_base: i64,
        /// Weight of on-demand Fargate beyond the base.
        on_demand_weight: i64,
        /// Weight of Fargate Spot beyond the base.
        spot_weight: i64,
    },
}

/// How to build a [`FargateService`]: [`ServiceProps::new`] with the cluster and task, then setters.
#[derive(Debug, Clone)]
pub struct ServiceProps {
    cluster: Cluster,
    task: FargateTaskDefinition,
    desired_count: i64,
    subnets: SubnetSelection,
    security_groups: Vec<SecurityGroup>,
    capacity: Capacity,
    deployment: Deployment,
    target_group: Option<TargetGroup>,
    health_check_grace_seconds: i64,
}

impl ServiceProps {
    /// A service of `task` in `cluster`. Defaults: one task, the private-app subnets, a security group
    /// of its own, on-demand Fargate, rolling deployments, no load balancer, 60 s health check grace.
    pub fn new(cluster: &Cluster, task: &FargateTaskDefinition) -> Self {
        Self {
            cluster: cluster.clone(),
            task: task.clone(),
            desired_count: 1,
            subnets: SubnetSelection::PRIVATE_APP,
            security_groups: Vec::new(),
            capacity: Capacity::OnDemand,
            deployment: Deployment::Rolling,
            target_group: None,
            health_check_grace_seconds: 60,
        }
    }

    /// Tasks at deploy time.
    #[must_use]
    pub fn desired_count(mut self, count: i64) -> Self {
        self.desired_count = count;
        self
    }

    /// The subnets of the cluster's VPC the tasks run in.
    #[must_use]
    pub fn subnets(mut self, subnets: impl Into<SubnetSelection>) -> Self {
        self.subnets = subnets.into();
        self
    }

    /// The tasks' security groups, instead of one of their own.
    #[must_use]
    pub fn security_groups(mut self, groups: &[&SecurityGroup]) -> Self {
        self.security_groups = groups.iter().map(|group| (*group).clone()).collect();
        self
    }

    /// On-demand Fargate or Spot.
    #[must_use]
    pub fn capacity(mut self, capacity: Capacity) -> Self {
        self.capacity = capacity;
        self
    }

    /// Rolling or blue/green (which needs a target group).
    #[must_use]
    pub fn deployment(mut self, deployment: Deployment) -> Self {
        self.deployment = deployment;
        self
    }

    /// The target group the task's container port registers in (the blue one, for blue/green).
    #[must_use]
    pub fn target_group(mut self, target_group: &TargetGroup) -> Self {
        self.target_group = Some(target_group.clone());
        self
    }

    /// Seconds before failing load balancer health checks count against a new task.
    #[must_use]
    pub fn health_check_grace_seconds(mut self, seconds: i64) -> Self {
        self.health_check_grace_seconds = seconds;
        self
    }
}

/// A Fargate service.
#[derive(Debug, Clone)]
pub struct FargateService {
    resource: ResourceRef<ecs::Service>,
    cluster: Cluster,
    task: FargateTaskDefinition,
    security_groups: Vec<SecurityGroup>,
}

impl FargateService {
    /// Adds the service under `id`; a security group of its own goes to `<id>SecurityGroup`.
    pub fn new(scope: &mut Scope, id: &str, props: ServiceProps) -> Result<Self, ConstructError> {
        let path = format!("{}/{id}", scope.path());
        let invalid = |message: &str| ConstructError::InvalidProps { path: path.clone(), message: message.into() };
        let task = &props.task;
        let security_groups = match props.security_groups.is_empty() {
            false => props.security_groups,
            true => {
                let vpc = props.cluster.vpc();
                let group = SecurityGroup::new(scope, &format!("{id}SecurityGroup"), vpc, &format!("Tasks of {path}"))?;
                group.allow_egress_anywhere(
                    scope,
                    &format!("{id}SecurityGroupHttps"),
                    Port::tcp(443),
                    "HTTPS: image pull, CloudWatch Logs and Secrets Manager, through the VPC's endpoints or NAT",
                )?;
                vec![group]
            }
        };
        let subnets = props.cluster.vpc().select_subnets(props.subnets);
        if subnets.is_empty() {
            return Err(invalid(&format!("the cluster's VPC has no {} subnets", props.subnets.tier)));
        }
        let network = NetworkConfiguration::new().awsvpc_configuration(
            AwsVpcConfiguration::new()
                .subnets(subnets)
                .security_groups(security_groups.iter().map(|group| group.group_id().value()).collect::<Vec<_>>())
                .assign_public_ip(AwsVpcConfigurationAssignPublicIp::Disabled),
        );
        let mut service = ecs::Service::new()
            .cluster(props.cluster.name())
            .task_definition(task.resource().ref_value())
            .desired_count(props.desired_count)
            .platform_version("LATEST")
            .network_configuration(network)
            .enable_execute_command(false)
            .propagate_tags(ServicePropagateTags::Service);
        service = match props.capacity {
            Capacity::OnDemand => service.launch_type(ServiceLaunchType::Fargate),
            Capacity::Spot { on_demand_base, on_demand_weight, spot_weight } => {
                service.capacity_provider_strategy(vec![
                    CapacityProviderStrategyItem::new()
                        .capacity_provider("FARGATE")
                        .base(on_demand_base)
                        .weight(on_demand_weight),
                    CapacityProviderStrategyItem::new().capacity_provider("FARGATE_SPOT").weight(spot_weight),
                ])
            }
        };
        let pre_warmed = DeploymentConfiguration::new().minimum_healthy_percent(100).maximum_percent(200);
        let (configuration, advanced) = match &props.deployment {
            Deployment::BlueGreen(blue_green) => {
                if props.target_group.is_none() {
                    return Err(invalid("a blue/green deployment needs a target group"));
                }
                let advanced = AdvancedConfiguration::new(blue_green.alternate.arn())
                    .production_listener_rule(blue_green.production_rule.clone())
                    .test_listener_rule(blue_green.test_rule.clone())
                    .role_arn(blue_green.roles.load_balancers.arn());
                (blue_green_configuration(pre_warmed, blue_green), Some(advanced))
            }
            Deployment::Rolling => {
                (pre_warmed.deployment_circuit_breaker(DeploymentCircuitBreaker::new(true, true)), None)
            }
        };
        if let Some(target_group) = &props.target_group {
            let port = task.port().ok_or_else(|| invalid("a target group needs a task that serves a port"))?;
            let mut balancer = LoadBalancer::new()
                .container_name(task.container_name())
                .container_port(i64::from(port))
                .target_group_arn(target_group.arn());
            if let Some(advanced) = advanced {
                balancer = balancer.advanced_configuration(advanced);
            }
            service = service
                .health_check_grace_period_seconds(props.health_check_grace_seconds)
                .load_balancers(vec![balancer]);
        }
        service = service
            .deployment_controller(DeploymentController::new().r#type(DeploymentControllerType::Ecs))
            .deployment_configuration(configuration);
        let resource = scope.add(id, service)?;
        Ok(Self { resource, cluster: props.cluster, task: props.task, security_groups })
    }

    /// The service resource.
    pub fn resource(&self) -> &ResourceRef<ecs::Service> {
        &self.resource
    }

    /// The service name.
    pub fn name(&self) -> Value<String> {
        self.resource.attr_name()
    }

    /// The cluster it runs in.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// The task definition it runs.
    pub fn task(&self) -> &FargateTaskDefinition {
        &self.task
    }
}

/// The deployment configuration of a blue/green service: its strategy, bake time, hooks and alarms.
fn blue_green_configuration(base: DeploymentConfiguration, blue_green: &BlueGreen) -> DeploymentConfiguration {
    let mut configuration = match blue_green.shift {
        TrafficShift::AllAtOnce => base.strategy(DeploymentConfigurationStrategy::BlueGreen),
        TrafficShift::Canary { percent, bake_minutes } => {
            base.strategy(DeploymentConfigurationStrategy::Canary).canary_configuration(
                CanaryConfiguration::new().canary_percent(percent).canary_bake_time_in_minutes(bake_minutes),
            )
        }
        TrafficShift::Linear { step_percent, step_bake_minutes } => {
            base.strategy(DeploymentConfigurationStrategy::Linear).linear_configuration(
                LinearConfiguration::new().step_percent(step_percent).step_bake_time_in_minutes(step_bake_minutes),
            )
        }
    };
    configuration = configuration.bake_time_in_minutes(blue_green.bake_minutes);
    if !blue_green.hooks.is_empty() {
        let hooks: Vec<DeploymentLifecycleHook> = blue_green
            .hooks
            .iter()
            .map(|(hook, stages)| {
                DeploymentLifecycleHook::new(stages.iter().cloned().map(Value::from).collect::<Vec<_>>())
                    .hook_target_arn(hook.arn())
                    .role_arn(blue_green.roles.hooks.arn())
            })
            .collect();
        configuration = configuration.lifecycle_hooks(hooks);
    }
    if !blue_green.rollback_alarms.is_empty() {
        configuration = configuration.alarms(DeploymentAlarms::new(blue_green.rollback_alarms.clone(), true, true));
    }
    configuration
}

impl Grantee for FargateService {
    fn grant_role(&self) -> &Role {
        self.task.task_role()
    }
}

impl Connectable for FargateService {
    fn connections(&self) -> Connections {
        let port = self.task.port().map(Port::tcp);
        Connections::new(self.security_groups.clone(), port, self.resource.path().construct())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::App;
    use crate::constructs::compute::{ContainerImage, TaskProps};
    use crate::constructs::ids::{Id, Name};
    use crate::constructs::kms::{EncryptionKey, KeyProps};
    use crate::constructs::network::{SubnetAttributes, Vpc, VpcAttributes};

    fn imported_vpc() -> Vpc {
        Vpc::from_attributes(VpcAttributes {
            vpc_id: Some(Id::new("vpc-1")),
            private_app_subnets: vec![SubnetAttributes::id("subnet-a"), SubnetAttributes::id("subnet-b")],
            ..VpcAttributes::default()
        })
        .unwrap()
    }

    #[test]
    fn a_service_in_an_imported_cluster_gets_its_own_group_with_https_out_only_and_on_demand_fargate() {
        let mut app = App::new("t");
        let stack = app.add_stack("Svc", "us-east-1").unwrap();
        let mut root = stack.root();
        let vpc = imported_vpc();
        let cluster = Cluster::from_attributes(Name::new("shared"), &vpc);
        let key = EncryptionKey::new(&mut root, "Key", KeyProps::default()).unwrap();
        let task =
            FargateTaskDefinition::new(&mut root, "Api", TaskProps::new(ContainerImage::registry("nginx"), &key))
                .unwrap();
        let service = FargateService::new(&mut root, "Service", ServiceProps::new(&cluster, &task)).unwrap();
        let synth = app.synth().unwrap();
        let resources = &synth.stacks[0].template["Resources"];
        let properties = &resources["Service"]["Properties"];
        assert_eq!(properties["Cluster"], "shared");
        assert_eq!(properties["LaunchType"], "FARGATE");
        assert!(properties.get("CapacityProviderStrategy").is_none(), "no Spot unless asked for");
        let network = &properties["NetworkConfiguration"]["AwsvpcConfiguration"];
        assert_eq!(network["Subnets"], json!(["subnet-a", "subnet-b"]));
        assert_eq!(network["SecurityGroups"], json!([{"Fn::GetAtt": ["ServiceSecurityGroup", "GroupId"]}]));
        let egress = &resources["ServiceSecurityGroupHttps"]["Properties"];
        assert_eq!((egress["FromPort"].clone(), egress["CidrIp"].clone()), (json!(443), json!("0.0.0.0/0")));
        assert!(resources["ServiceSecurityGroup"]["Properties"].get("SecurityGroupIngress").is_none());
        assert_eq!(service.cluster().name().value(), crate::template::Value::from("shared"));
    }

    #[test]
    fn impossible_service_props_name_the_service() {
        let mut app = App::new("t");
        let stack = app.add_stack("Svc", "us-east-1").unwrap();
        let mut root = stack.root();
        let vpc = imported_vpc();
        let cluster = Cluster::from_attributes(Name::new("shared"), &vpc);
        let key = EncryptionKey::new(&mut root, "Key", KeyProps::default()).unwrap();
        let task =
            FargateTaskDefinition::new(&mut root, "Api", TaskProps::new(ContainerImage::registry("nginx"), &key))
                .unwrap();
        let alternate = TargetGroup::new(&mut root, "Green", &vpc, &Default::default()).unwrap();
        let roles = BlueGreenRoles::new(&mut root, "Roles", &[]).unwrap();
        let deployment = Deployment::blue_green(BlueGreen {
            alternate,
            production_rule: crate::template::Value::from("arn:rule/production"),
            test_rule: crate::template::Value::from("arn:rule/test"),
            shift: TrafficShift::AllAtOnce,
            bake_minutes: 5,
            hooks: vec![],
            rollback_alarms: vec![],
            roles,
        });
        let blue_green = ServiceProps::new(&cluster, &task).deployment(deployment);
        let err = FargateService::new(&mut root, "A", blue_green).unwrap_err();
        assert_eq!(err.to_string(), "Svc/A: a blue/green deployment needs a target group");
        let isolated = ServiceProps::new(&cluster, &task).subnets(SubnetSelection::ISOLATED);
        let err = FargateService::new(&mut root, "B", isolated).unwrap_err();
        assert_eq!(err.to_string(), "Svc/B: the cluster's VPC has no isolated subnets");
    }
}
