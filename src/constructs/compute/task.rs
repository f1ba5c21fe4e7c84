//! A Fargate task definition with one container, its log group and its two roles.
//!
//! ## Secure defaults
//! - Separate execution and task roles (checkov CKV_AWS_249): the execution role only pulls the image
//!   (with the pull-through cache rights a [`ContainerImage`] asks for),
//!   writes logs and reads the secrets injected into the container; the task role starts empty and gains
//!   only what grants give it.
//! - Secrets arrive as ECS `secrets` from Secrets Manager, never as plain environment values.
//! - A read-only root filesystem (CKV_AWS_336), with named scratch volumes where a process must write.
//! - Logs to a per-service log group, encrypted with the given key and kept 365 days.
//! - A container health check for long-running services, so ECS replaces a task that stops answering.

use indexmap::IndexMap;

use crate::cfn::ecs;
use crate::cfn::ecs::task_definition::{
    ContainerDefinition, HealthCheck, KeyValuePair, LogConfiguration, MountPoint, PortMapping, RuntimePlatform,
    RuntimePlatformCpuArchitecture, RuntimePlatformOperatingSystemFamily, Secret as ContainerSecret,
    TaskDefinitionNetworkMode, TaskDefinitionRequiresCompatibilities, Volume,
};
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::iam::{Role, RoleProps, Statement};
use crate::constructs::logs::LogGroup;
use crate::template::Value;

use super::image::ContainerImage;

/// Days service logs are kept.
const LOG_RETENTION_DAYS: u32 = 365;

/// How to build a [`FargateTaskDefinition`].
#[derive(Debug, Clone)]
pub struct TaskProps {
    /// The container image, and so how a task reaches it.
    pub image: ContainerImage,
    /// The container port, if it serves one.
    pub port: Option<u16>,
    /// CPU units.
    pub cpu: i64,
    /// Memory in MiB.
    pub memory: i64,
    /// The container health check command (`CMD-SHELL` form); `None` for a one-off task that exits
    /// when done.
    pub health_check: Option<String>,
    /// The container command, replacing the image's (`CMD`); empty keeps the image's.
    pub command: Vec<String>,
    /// Plain environment values (never secrets).
    pub environment: IndexMap<String, Value<String>>,
    /// Secrets: environment name → Secrets Manager ARN (optionally `:json-key::`).
    pub secrets: IndexMap<String, Value<String>>,
    /// Statements the execution role needs to read `secrets`.
    pub secret_read_statements: Vec<Statement>,
    /// Writable scratch directories on the otherwise read-only root filesystem.
    pub scratch_paths: Vec<String>,
    /// The KMS key ARN of the log group.
    pub log_key_arn: Value<String>,
}

/// A task definition and what it needs.
#[derive(Debug, Clone)]
pub struct FargateTaskDefinition {
    resource: ResourceRef<ecs::TaskDefinition>,
    task_role: Role,
    container_name: String,
    log_group: LogGroup,
}

impl FargateTaskDefinition {
    /// Adds the task definition under `id`; the container is named `id` too.
    pub fn new(scope: &mut Scope<'_>, id: &str, props: TaskProps) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        let log_group = LogGroup::new(&mut scope, "LogGroup", LOG_RETENTION_DAYS, props.log_key_arn)?;
        let mut execution_statements =
            vec![Statement::allow(["logs:CreateLogStream", "logs:PutLogEvents"]).resource(log_group.arn())];
        execution_statements.extend(props.image.pull_statements());
        execution_statements.extend(props.secret_read_statements);
        // Both roles are assumed by ECS tasks of this account only (confused-deputy protection).
        let ecs_tasks = || {
            Statement::assume_role("ecs-tasks.amazonaws.com").condition(
                "StringEquals",
                "aws:SourceAccount",
                Value::account_id(),
            )
        };
        let execution_role = Role::new(
            &mut scope,
            "ExecutionRole",
            RoleProps {
                description: format!("Starts the tasks of {name}: image pull, logs, injected secrets"),
                trust: ecs_tasks(),
                statements: execution_statements,
                managed_policy_arns: vec![Value::sub(
                    "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
                )],
            },
        )?;
        let task_role = Role::new(
            &mut scope,
            "TaskRole",
            RoleProps {
                description: format!("The application permissions of {name}, granted by the resources it uses"),
                trust: ecs_tasks(),
                statements: vec![],
                managed_policy_arns: vec![],
            },
        )?;

        let container_name = id.to_owned();
        let log_options: IndexMap<String, Value<String>> = [
            ("awslogs-group".to_owned(), log_group.name()),
            ("awslogs-region".to_owned(), Value::region()),
            ("awslogs-stream-prefix".to_owned(), Value::from(container_name.as_str())),
        ]
        .into_iter()
        .collect();
        let volumes: Vec<(String, String)> = props
            .scratch_paths
            .iter()
            .enumerate()
            .map(|(index, path)| (format!("scratch-{}", index + 1), path.clone()))
            .collect();
        let mut container = ContainerDefinition::new(props.image.uri(), container_name.as_str())
            .essential(true)
            .readonly_root_filesystem(true)
            .log_configuration(LogConfiguration::new("awslogs").options(log_options))
            .environment(
                props
                    .environment
                    .into_iter()
                    .map(|(key, value)| KeyValuePair::new().name(key).value(value))
                    .collect::<Vec<_>>(),
            )
            .secrets(props.secrets.into_iter().map(|(key, arn)| ContainerSecret::new(key, arn)).collect::<Vec<_>>());
        if let Some(health_check) = props.health_check {
            container = container.health_check(
                HealthCheck::new()
                    .command(vec!["CMD-SHELL".to_owned(), health_check])
                    .interval(15)
                    .timeout(5)
                    .retries(3)
                    .start_period(30),
            );
        }
        if !props.command.is_empty() {
            container = container.command(props.command);
        }
        if let Some(port) = props.port {
            container = container.port_mappings(vec![PortMapping::new().container_port(i64::from(port))]);
        }
        if !volumes.is_empty() {
            container = container.mount_points(
                volumes
                    .iter()
                    .map(|(volume, path)| {
                        MountPoint::new().source_volume(volume.as_str()).container_path(path.as_str())
                    })
                    .collect::<Vec<_>>(),
            );
        }
        let mut definition = ecs::TaskDefinition::new()
            .family(name.replace('/', "-"))
            .cpu(props.cpu.to_string())
            .memory(props.memory.to_string())
            .network_mode(TaskDefinitionNetworkMode::Awsvpc)
            .requires_compatibilities(vec![Value::from(TaskDefinitionRequiresCompatibilities::Fargate)])
            .runtime_platform(
                RuntimePlatform::new()
                    .operating_system_family(RuntimePlatformOperatingSystemFamily::Linux)
                    .cpu_architecture(RuntimePlatformCpuArchitecture::X8664),
            )
            .execution_role_arn(execution_role.arn())
            .task_role_arn(task_role.arn())
            .container_definitions(vec![container]);
        if !volumes.is_empty() {
            definition = definition
                .volumes(volumes.iter().map(|(volume, _)| Volume::new().name(volume.as_str())).collect::<Vec<_>>());
        }
        let resource = scope.add("Resource", definition)?;
        Ok(Self { resource, task_role, container_name, log_group })
    }

    /// The task definition resource.
    pub fn resource(&self) -> &ResourceRef<ecs::TaskDefinition> {
        &self.resource
    }

    /// The task role, for grants.
    pub fn task_role(&self) -> &Role {
        &self.task_role
    }

    /// The container's name.
    pub fn container_name(&self) -> &str {
        &self.container_name
    }

    /// The log group.
    pub fn log_group(&self) -> &LogGroup {
        &self.log_group
    }
}
