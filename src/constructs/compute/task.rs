//! A Fargate task definition with one container (and, optionally, an init container that prepares a
//! directory for it), its log group and its two roles.
//!
//! ## Secure defaults
//! - Separate execution and task roles (checkov CKV_AWS_249). The execution role only pulls the image
//!   (with what its [`ContainerImage`] needs), writes to the task's log group and reads the secrets
//!   injected into the container, each statement derived from what the props name. The task role starts
//!   empty and gains only what grants give it (`queue.grant_consume(&task)`).
//! - Secrets arrive as ECS `secrets` from Secrets Manager ([`ContainerSecret`]), never as plain
//!   environment values.
//! - A read-only root filesystem (CKV_AWS_336), with named scratch volumes where a process must write.
//! - Logs to a per-task log group encrypted with the given key (which gains CloudWatch Logs' grant)
//!   and kept a year unless asked otherwise.
//! - A container health check when one is given, so ECS replaces a task that stops answering.

use indexmap::IndexMap;

use crate::cfn::ecs;
use crate::cfn::ecs::task_definition::{
    ContainerDefinition, ContainerDependency, ContainerDependencyCondition, HealthCheck, KeyValuePair,
    LogConfiguration, MountPoint, PortMapping, RuntimePlatform, RuntimePlatformCpuArchitecture,
    RuntimePlatformOperatingSystemFamily, Secret as SecretVariable, TaskDefinitionNetworkMode,
    TaskDefinitionRequiresCompatibilities, Volume,
};
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::data::Secret;
use crate::constructs::iam::{Grantee, Role, RoleProps, Statement};
use crate::constructs::kms::EncryptionKey;
use crate::constructs::logs::{LogGroup, LogGroupProps, RetentionDays};
use crate::template::Value;

use super::image::ContainerImage;
use super::size::FargateSize;

/// A secret injected into a container's environment at start: a whole Secrets Manager secret or one
/// JSON field of it. The execution role gets exactly the read rights it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSecret {
    value_from: Value<String>,
    read_statements: Vec<Statement>,
}

impl ContainerSecret {
    /// The JSON field `field` of `secret` (the `password` of an RDS-managed secret, say).
    pub fn from_secret(secret: &Secret, field: &str) -> Self {
        let value_from = Value::sub_with(format!("${{Secret}}:{field}::"), [("Secret", secret.arn().value())]);
        Self { value_from, read_statements: secret.injection_statements() }
    }

    /// The whole value of `secret`.
    pub fn whole(secret: &Secret) -> Self {
        Self { value_from: secret.arn().value(), read_statements: secret.injection_statements() }
    }
}

/// How to build a [`FargateTaskDefinition`]: [`TaskProps::new`] with the image and the log key, then
/// setters for the rest.
#[derive(Debug, Clone)]
pub struct TaskProps {
    image: ContainerImage,
    log_key: EncryptionKey,
    size: FargateSize,
    port: Option<u16>,
    health_check: Option<String>,
    command: Vec<String>,
    environment: IndexMap<String, Value<String>>,
    secrets: IndexMap<String, ContainerSecret>,
    scratch_paths: Vec<String>,
    log_retention: RetentionDays,
    role_path: Option<String>,
    init: Option<InitContainer>,
    user: String,
}

/// The user a container runs as when none is given: uid and gid 1000, not root (AWS Control Tower's
/// `ECS_TASK_DEFINITION_NONROOT_USER_CHECK`).
pub const DEFAULT_CONTAINER_USER: &str = "1000:1000";

/// Who an init container runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitUser {
    /// A user that is not root (a name, a uid, or `uid:gid`).
    User(String),
    /// Root, for the reason given, which the task definition carries as its suppression of Control
    /// Tower's non-root rule: Fargate creates a task's bind mounts owned by root, mode 0755, and only
    /// root can write into the shared directory.
    Root {
        /// Why.
        because: String,
    },
}

/// A container that runs to completion before the task's container starts, writing into a directory
/// both share: the init container mounts it writable, the main container read-only. What it needs from
/// AWS it gets through the task role, like the main container.
#[derive(Debug, Clone)]
pub struct InitContainer {
    /// The container's name.
    pub name: String,
    /// Its image.
    pub image: ContainerImage,
    /// Its entry point and arguments (`["sh", "-c", "..."]`).
    pub command: Vec<String>,
    /// Plain environment values.
    pub environment: IndexMap<String, Value<String>>,
    /// The directory it writes and the main container reads.
    pub shared_path: String,
    /// Who it runs as.
    pub user: InitUser,
}

impl TaskProps {
    /// A task running `image`, logging to a log group encrypted with `log_key`. Defaults: the smallest
    /// Fargate size, no port, no health check, the image's command, no environment or secrets, no
    /// scratch paths, logs kept a year.
    pub fn new(image: ContainerImage, log_key: &EncryptionKey) -> Self {
        Self {
            image,
            log_key: log_key.clone(),
            size: FargateSize::default(),
            port: None,
            health_check: None,
            command: Vec::new(),
            environment: IndexMap::new(),
            secrets: IndexMap::new(),
            scratch_paths: Vec::new(),
            log_retention: RetentionDays::default(),
            role_path: None,
            init: None,
            user: DEFAULT_CONTAINER_USER.to_owned(),
        }
    }

    /// The user the container runs as: a name the image defines, a uid, or `uid:gid`. Default:
    /// [`DEFAULT_CONTAINER_USER`]. Root is refused when the task is added.
    #[must_use]
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = user.into();
        self
    }

    /// An init container: it must exit 0 before the main container starts.
    #[must_use]
    pub fn init_container(mut self, init: InitContainer) -> Self {
        self.init = Some(init);
        self
    }

    /// The IAM path of the task's execution and task roles (`/app/released-tasks/`), so that whoever
    /// registers its revisions (a release pipeline's deploy role) can be allowed `iam:PassRole` on that
    /// path alone. It must start and end with `/`. Default: `/`.
    #[must_use]
    pub fn role_path(mut self, path: impl Into<String>) -> Self {
        self.role_path = Some(path.into());
        self
    }

    /// The task's CPU and memory.
    #[must_use]
    pub fn size(mut self, size: FargateSize) -> Self {
        self.size = size;
        self
    }

    /// The container port it serves on.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// The container health check command (`CMD-SHELL` form). Leave it out for a one-off task that
    /// exits when done.
    #[must_use]
    pub fn health_check(mut self, command: impl Into<String>) -> Self {
        self.health_check = Some(command.into());
        self
    }

    /// The container command, replacing the image's (`CMD`).
    #[must_use]
    pub fn command<I: IntoIterator<Item = S>, S: Into<String>>(mut self, command: I) -> Self {
        self.command = command.into_iter().map(Into::into).collect();
        self
    }

    /// A plain environment value (never a secret: see [`TaskProps::secret`]).
    #[must_use]
    pub fn env(mut self, name: impl Into<String>, value: impl Into<Value<String>>) -> Self {
        self.environment.insert(name.into(), value.into());
        self
    }

    /// Plain environment values, in order.
    #[must_use]
    pub fn envs(mut self, values: impl IntoIterator<Item = (String, Value<String>)>) -> Self {
        self.environment.extend(values);
        self
    }

    /// A secret in the environment variable `name`.
    #[must_use]
    pub fn secret(mut self, name: impl Into<String>, secret: ContainerSecret) -> Self {
        self.secrets.insert(name.into(), secret);
        self
    }

    /// A writable scratch directory on the otherwise read-only root filesystem.
    #[must_use]
    pub fn scratch(mut self, path: impl Into<String>) -> Self {
        self.scratch_paths.push(path.into());
        self
    }

    /// How long the task's logs are kept.
    #[must_use]
    pub fn log_retention(mut self, retention: RetentionDays) -> Self {
        self.log_retention = retention;
        self
    }
}

/// A task definition and what it needs.
#[derive(Debug, Clone)]
pub struct FargateTaskDefinition {
    resource: ResourceRef<ecs::TaskDefinition>,
    task_role: Role,
    container_name: String,
    port: Option<u16>,
    log_group: LogGroup,
}

impl FargateTaskDefinition {
    /// Adds the task definition under `id`; the container is named `id` too.
    pub fn new(scope: &mut Scope, id: &str, props: TaskProps) -> Result<Self, ConstructError> {
        let init_user = props.init.as_ref().and_then(|init| match &init.user {
            InitUser::User(user) => Some(user.as_str()),
            InitUser::Root { .. } => None,
        });
        for user in std::iter::once(props.user.as_str()).chain(init_user) {
            if is_root(user) {
                return Err(ConstructError::InvalidProps {
                    path: format!("{}/{id}", scope.path()),
                    message: format!(
                        "the container user {user:?} is root; run as a user of the image, a uid or uid:gid \
                         (AWS Control Tower refuses a root container)"
                    ),
                });
            }
        }
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        if let Some(path) = &props.role_path {
            let valid = path.len() <= 512
                && path.starts_with('/')
                && path.ends_with('/')
                && path.chars().all(|c| c.is_ascii_graphic());
            if !valid {
                return Err(ConstructError::InvalidProps {
                    path: name,
                    message: format!(
                        "role path {path:?} must start and end with '/' and hold up to 512 printable ASCII characters"
                    ),
                });
            }
        }
        let log_props = LogGroupProps { retention: props.log_retention, name: None };
        let log_group = LogGroup::new(&mut scope, "LogGroup", &props.log_key, log_props)?;
        let mut execution_statements =
            vec![Statement::allow(["logs:CreateLogStream", "logs:PutLogEvents"]).resource(log_group.arn())];
        execution_statements.extend(props.image.pull_statements());
        for statement in props.init.iter().flat_map(|init| init.image.pull_statements()) {
            if !execution_statements.contains(&statement) {
                execution_statements.push(statement);
            }
        }
        for secret in props.secrets.values() {
            for statement in &secret.read_statements {
                if !execution_statements.contains(statement) {
                    execution_statements.push(statement.clone());
                }
            }
        }
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
                path: props.role_path.clone(),
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
                path: props.role_path.clone(),
            },
        )?;

        let container_name = id.to_owned();
        // A hard memory limit on every container (AWS Control Tower CT.ECS.PR.7): the task's memory, less
        // what an init container holds while it runs.
        let task_memory = i64::from(props.size.memory());
        let containers = match &props.init {
            Some(init) => vec![
                init_container(init, &log_group).memory(INIT_CONTAINER_MEMORY_MIB),
                container(&props, &container_name, &log_group).memory(task_memory - INIT_CONTAINER_MEMORY_MIB),
            ],
            None => vec![container(&props, &container_name, &log_group).memory(task_memory)],
        };
        let mut definition = ecs::TaskDefinition::new()
            .family(name.replace('/', "-"))
            .cpu(props.size.cpu().to_string())
            .memory(props.size.memory().to_string())
            .network_mode(TaskDefinitionNetworkMode::Awsvpc)
            .requires_compatibilities(vec![Value::from(TaskDefinitionRequiresCompatibilities::Fargate)])
            .runtime_platform(
                RuntimePlatform::new()
                    .operating_system_family(RuntimePlatformOperatingSystemFamily::Linux)
                    .cpu_architecture(RuntimePlatformCpuArchitecture::X8664),
            )
            .execution_role_arn(execution_role.arn())
            .task_role_arn(task_role.arn())
            .container_definitions(containers);
        let mut volumes: Vec<Volume> =
            (1..=props.scratch_paths.len()).map(|index| Volume::new().name(scratch_volume(index))).collect();
        if props.init.is_some() {
            volumes.push(Volume::new().name(SHARED_VOLUME));
        }
        if !volumes.is_empty() {
            definition = definition.volumes(volumes);
        }
        let root_because = props.init.as_ref().and_then(|init| match &init.user {
            InitUser::Root { because } => Some(because.clone()),
            InitUser::User(_) => None,
        });
        let resource = scope.add_with("Resource", definition, |entry| match &root_because {
            Some(because) => entry.guard_suppression("ECS_TASK_DEFINITION_NONROOT_USER_CHECK", because),
            None => entry,
        })?;
        Ok(Self { resource, task_role, container_name, port: props.port, log_group })
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

    /// The container port, if it serves one.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The log group.
    pub fn log_group(&self) -> &LogGroup {
        &self.log_group
    }
}

impl Grantee for FargateTaskDefinition {
    fn grant_role(&self) -> &Role {
        &self.task_role
    }
}

/// The name of the `index`th scratch volume, from 1.
fn scratch_volume(index: usize) -> String {
    format!("scratch-{index}")
}

/// Whether `user` names root: `root`, uid 0, with or without a group (or names no one).
pub fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or_default().trim();
    name.is_empty() || name == "root" || name.trim_start_matches('0').is_empty()
}

/// The memory (MiB) an init container may use: it fetches a file and exits.
const INIT_CONTAINER_MEMORY_MIB: i64 = 256;

/// The volume an init container writes and the main container reads.
const SHARED_VOLUME: &str = "init-shared";

/// The init container: not essential (it exits), read-only but for the shared directory, logging
/// beside the main container.
fn init_container(init: &InitContainer, log_group: &LogGroup) -> ContainerDefinition {
    let shared = MountPoint::new().source_volume(SHARED_VOLUME).container_path(init.shared_path.as_str());
    let definition = ContainerDefinition::new(init.image.uri(), init.name.as_str());
    let definition = match &init.user {
        InitUser::User(user) => definition.user(user.as_str()),
        InitUser::Root { .. } => definition,
    };
    definition
        .essential(false)
        .readonly_root_filesystem(true)
        .log_configuration(logging(log_group, &init.name))
        .entry_point(init.command.clone())
        .environment(environment(&init.environment))
        .mount_points(vec![shared])
}

/// A container's logs: the task's log group, in streams prefixed with the container's name.
fn logging(log_group: &LogGroup, container_name: &str) -> LogConfiguration {
    let log_options: IndexMap<String, Value<String>> = [
        ("awslogs-group".to_owned(), log_group.name()),
        ("awslogs-region".to_owned(), Value::region()),
        ("awslogs-stream-prefix".to_owned(), Value::from(container_name)),
    ]
    .into_iter()
    .collect();
    LogConfiguration::new("awslogs").options(log_options)
}

fn environment(values: &IndexMap<String, Value<String>>) -> Vec<KeyValuePair> {
    values.iter().map(|(key, value)| KeyValuePair::new().name(key.as_str()).value(value.clone())).collect()
}

/// The task's main container.
fn container(props: &TaskProps, container_name: &str, log_group: &LogGroup) -> ContainerDefinition {
    let secrets: Vec<SecretVariable> = props
        .secrets
        .iter()
        .map(|(key, secret)| SecretVariable::new(key.as_str(), secret.value_from.clone()))
        .collect();
    let mut container = ContainerDefinition::new(props.image.uri(), container_name)
        .user(props.user.as_str())
        .essential(true)
        .readonly_root_filesystem(true)
        .log_configuration(logging(log_group, container_name))
        .environment(environment(&props.environment))
        .secrets(secrets);
    if let Some(health_check) = &props.health_check {
        container = container.health_check(
            HealthCheck::new()
                .command(vec!["CMD-SHELL".to_owned(), health_check.clone()])
                .interval(15)
                .timeout(5)
                .retries(3)
                .start_period(30),
        );
    }
    if !props.command.is_empty() {
        container = container.command(props.command.clone());
    }
    if let Some(port) = props.port {
        container = container.port_mappings(vec![PortMapping::new().container_port(i64::from(port))]);
    }
    let mut mounts: Vec<MountPoint> = props
        .scratch_paths
        .iter()
        .enumerate()
        .map(|(index, path)| MountPoint::new().source_volume(scratch_volume(index + 1)).container_path(path.as_str()))
        .collect();
    if let Some(init) = &props.init {
        mounts.push(
            MountPoint::new().source_volume(SHARED_VOLUME).container_path(init.shared_path.as_str()).read_only(true),
        );
        container = container.depends_on(vec![ContainerDependency::new()
            .container_name(init.name.as_str())
            .condition(ContainerDependencyCondition::Success)]);
    }
    if !mounts.is_empty() {
        container = container.mount_points(mounts);
    }
    container
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::App;
    use crate::constructs::kms::KeyProps;

    #[test]
    fn containers_run_as_a_user_with_a_hard_memory_limit_and_root_is_refused() {
        let mut app = App::new("t");
        let stack = app.add_stack("S", "us-east-1").unwrap();
        let mut root = stack.root();
        let key = EncryptionKey::new(&mut root, "Key", KeyProps::default()).unwrap();
        let image = || ContainerImage::registry("example/app:1");
        FargateTaskDefinition::new(&mut root, "Default", TaskProps::new(image(), &key)).unwrap();
        let init = InitContainer {
            name: "Fetch".into(),
            image: image(),
            command: vec!["true".into()],
            environment: IndexMap::new(),
            shared_path: "/shared".into(),
            user: InitUser::Root { because: "it writes the root-owned shared mount".into() },
        };
        let props = TaskProps::new(image(), &key).user("app").init_container(init);
        FargateTaskDefinition::new(&mut root, "WithInit", props).unwrap();
        for user in ["root", "0", "0:0", "root:wheel", ""] {
            let err =
                FargateTaskDefinition::new(&mut root, "Root", TaskProps::new(image(), &key).user(user)).unwrap_err();
            assert!(err.to_string().contains("is root"), "{user:?}: {err}");
        }

        let synth = app.synth().unwrap();
        let resources = &synth.stacks[0].template["Resources"];
        let default = &resources["Default"]["Properties"]["ContainerDefinitions"][0];
        assert_eq!((default["User"].clone(), default["Memory"].clone()), (json!(DEFAULT_CONTAINER_USER), json!(512)));
        let with_init = &resources["WithInit"];
        let containers = &with_init["Properties"]["ContainerDefinitions"];
        assert!(containers[0].get("User").is_none(), "the init container runs as root, for its reason");
        assert_eq!((containers[0]["Memory"].clone(), containers[1]["Memory"].clone()), (json!(256), json!(256)));
        assert_eq!(containers[1]["User"], "app");
        assert_eq!(
            with_init["Metadata"]["guard"]["Reasons"]["ECS_TASK_DEFINITION_NONROOT_USER_CHECK"],
            "it writes the root-owned shared mount"
        );
        assert!(resources["Default"]["Metadata"].get("guard").is_none(), "nothing to suppress");
    }
}
