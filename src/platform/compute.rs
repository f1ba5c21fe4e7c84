//! The compute stack of a region: the ECS cluster running the Integration Service, the Webhook Receiver
//! and the Worker Service, with their least-privilege roles and the ECR Public pull-through cache their
//! images come through; and the gateway stack, with Kong in the same cluster (apart, so that each
//! template stays under the inline size limit as releases add to it). Their autoscaling, alarms and the one-off task that creates the applications'
//! database user are the operations stack's ([`super::operations`]); the hooks, roles and alarms of
//! their ECS blue/green deployments are the deployments stack's ([`super::deployments`]).

use super::applications::application_id;
use super::data::DataTier;
use super::deployments::{Release, ServiceRelease};
use super::ingress::{BlueGreenTargets, Ingress};
use super::kong::{self, REDIS_PASSWORD_VARIABLE};
use super::security::SecurityGroups;
use super::PlatformError;
use crate::assembly::TemplateBuckets;
use crate::config::{ApplicationConfig, ComputeConfig, DataAccess, ScaleOutStep, ServiceConfig};
use crate::construct::{Scope, Stack};
use crate::constructs::compute::{
    Capacity, Cluster, ContainerImage, ContainerSecret, Deployment, FargateService, FargateSize, FargateTaskDefinition,
    PullThroughCache, Repository, ServiceProps, TaskProps,
};
use crate::constructs::iam::Statement;
use crate::constructs::network::{SecurityGroup, Vpc};
use crate::template::{Condition, Output, Parameter, Value};

/// The database user the applications log in as, with IAM database authentication.
pub const APP_DATABASE_USER: &str = "integration_app";

/// One service of the compute tier, as the scaling, operations and deployments stacks see it.
#[derive(Debug, Clone)]
pub(super) struct PlatformService {
    /// Its construct id, which names its alarms, scaling and deployment resources.
    pub id: String,
    pub service: FargateService,
    /// Fewest and most tasks autoscaling keeps.
    pub min: i64,
    pub max: i64,
    /// The blue/green target groups and listeners that carry its requests; `None` for a worker.
    pub targets: Option<BlueGreenTargets>,
    /// A worker's scale-out steps on the queue's depth; empty for an HTTP service.
    pub scale_out_steps: Vec<ScaleOutStep>,
}

/// What the compute stack hands to the operations and deployments stacks.
#[derive(Debug, Clone)]
pub(super) struct Compute {
    /// The compute stack's name, which the database-user script looks outputs up in.
    pub stack_name: String,
    /// Kong and the HTTP services (blue/green), then the workers (rolling).
    pub services: Vec<PlatformService>,
    /// The ECR Public pull-through cache, for images of other stacks of the region.
    pub cache: PullThroughCache,
    /// Kong's declarative config as rendered, written beside the templates for review (and uploaded,
    /// when it is too large for the task definition).
    pub kong_config: String,
    /// Where Kong reads it from.
    pub kong_source: kong::ConfigSource,
    /// The stack parameters that take the applications' image tags, which a release sets.
    pub image_parameters: Vec<String>,
}

/// Builds the compute tier into `stack`, and Kong into `gateway`.
#[allow(clippy::too_many_arguments)]
pub(super) fn build(
    stack: &Stack,
    gateway: &Stack,
    vpc: &Vpc,
    groups: &SecurityGroups,
    data: &DataTier,
    ingress: &Ingress,
    release: &Release,
    config: &ComputeConfig,
    artifacts: &KongArtifacts<'_>,
) -> Result<Compute, PlatformError> {
    stack.set_description(format!(
        "Compute tier of {} ({}): the ECS Fargate cluster running {}, and the ECR Public pull-through cache their \
         images come through.",
        stack.name(),
        stack.region(),
        running(config)
    ));
    gateway.set_description(format!(
        "Gateway of {} ({}): Kong on ECS Fargate, behind the public ALB, routing to the services.",
        gateway.name(),
        gateway.region()
    ));
    let mut root = stack.root();
    let mut gateway_root = gateway.root();
    let cluster = Cluster::new(&mut root, "Cluster", vpc)?;
    // Every ECR Public image is pulled through the account's cache, over the ECR and S3 endpoints:
    // no task needs the internet to start.
    let cache = PullThroughCache::ecr_public(&mut root, "EcrPublicCache")?;
    let tasks = Tasks { cache: &cache, data, role_path: &release.task_role_path };

    let declarative = kong::declarative_config(config, &ingress.internal_name, &data.cache_logins.kong.username);
    let kong_config = declarative.render().map_err(template_error)?;
    let kong_source = artifacts.source(gateway, &kong_config, || {
        declarative.to_value(data.cache.endpoint_address()).map_err(template_error)
    })?;
    let mut kong_props = tasks
        .serving(&config.kong, tasks.image(&config.kong.image), "kong health")?
        .envs(kong::environment(config, &kong_source, vpc))
        .secret(REDIS_PASSWORD_VARIABLE, ContainerSecret::whole(&data.cache_logins.kong.password))
        .scratch("/usr/local/kong")
        .scratch("/tmp");
    if let Some(loader) = kong_source.loader(tasks.image(kong::CONFIG_LOADER_IMAGE), data.cache.endpoint_address()) {
        kong_props = kong_props.init_container(loader);
    }
    let kong_task = FargateTaskDefinition::new(&mut gateway_root, "Kong", kong_props)?;
    // Kong's first task must not start before its role may read the configuration: its loader would
    // fail, and the deployment with it.
    let config_policy = match kong_source.object_arn() {
        Some(object) => {
            let statement = Statement::allow(["s3:GetObject"]).resource(object);
            kong_task.task_role().add_policy("ReadConfig", vec![statement])?;
            Some(kong_task.task_role().policy_logical_id("ReadConfig"))
        }
        None => None,
    };
    let repositories = &release.repositories;
    let mut image_parameters = Vec::new();
    // Each application's task definition, in config order; its image is the released one once a
    // release names a tag.
    let mut applications = Vec::new();
    for service in &config.services {
        let id = application_id(service.name());
        let configured = tasks.image(service.image());
        let repository = &repositories[service.name()];
        let image = released_image(&mut root, &id, repository, configured, &mut image_parameters)?;
        let props = match service {
            ApplicationConfig::Http(http) => tasks.application(&http.service(), image)?,
            ApplicationConfig::Worker(worker) => {
                let size = fargate_size(worker.cpu, worker.memory, "worker")?;
                tasks
                    .application_environment(TaskProps::new(image, &data.key).size(size).user(worker.user.as_str()))
                    .health_check("kill -0 1 || exit 1")
            }
        };
        let task = FargateTaskDefinition::new(&mut root, &id, props)?;
        applications.push((service, id, task));
    }

    let blue_green = BlueGreenServices { cluster: &cluster, release, config };
    let mut services = vec![blue_green.add(
        &mut gateway_root,
        HttpService {
            id: "Kong".to_owned(),
            task: &kong_task,
            config: &config.kong,
            targets: &ingress.kong,
            release: &release.kong,
            group: &groups.kong,
        },
    )?];
    for (service, id, task) in &applications {
        if let ApplicationConfig::Http(http) = service {
            services.push(blue_green.add(
                &mut root,
                HttpService {
                    id: id.clone(),
                    task,
                    config: &http.service(),
                    targets: &ingress.services[&http.name],
                    release: &release.services[&http.name],
                    group: &groups.services,
                },
            )?);
        }
    }
    if let Some(policy) = config_policy {
        let kong_service = services[0].service.resource().logical_id().to_owned();
        let mut entry = gateway.resource_json_mut(&kong_service).expect("Kong's service is in the gateway stack");
        entry.add_depends_on(policy);
    }
    // The workers serve no requests: rolling deployments, mostly on Spot behind one on-demand task.
    for (service, id, task) in &applications {
        let ApplicationConfig::Worker(worker) = service else { continue };
        let worker_props = ServiceProps::new(&cluster, task)
            .desired_count(worker.desired)
            .security_groups(&[&groups.services])
            .capacity(Capacity::Spot { on_demand_base: 1, on_demand_weight: 1, spot_weight: 3 });
        let worker_service = FargateService::new(&mut root, &format!("{id}Service"), worker_props)?;
        services.push(PlatformService {
            id: id.clone(),
            service: worker_service,
            min: worker.min,
            max: worker.max,
            targets: None,
            scale_out_steps: worker.scale_out_steps.clone(),
        });
    }

    // Least privilege: each task role gets only the grants of what its service uses.
    for (service, _, task) in &applications {
        for access in service.access() {
            match access {
                DataAccess::SendWork => data.queue.grant_send(task)?,
                DataAccess::ConsumeWork => data.queue.grant_consume(task)?,
                DataAccess::Documents => data.documents.grant_read_write(task)?,
                DataAccess::AuditLogs => data.audit_logs.grant_read_write(task)?,
            }
        }
    }
    for (_, _, task) in &applications {
        data.database.grant_connect(task, APP_DATABASE_USER)?;
    }
    let worker_service = services
        .iter()
        .find(|service| service.targets.is_none())
        .map(|service| service.service.clone())
        .expect("validated: at least one worker");

    // What the database-user script looks up at run time (see the operations stack); with several
    // workers, the first one's network is the one-off tasks'.
    stack.add_output("ClusterName", Output::new(&cluster.name().value()).description("The ECS cluster"))?;
    stack.add_output(
        "WorkerServiceName",
        Output::new(&worker_service.name()).description("The worker service, whose network the one-off tasks share"),
    )?;
    Ok(Compute { stack_name: stack.name().to_owned(), services, cache, kong_config, kong_source, image_parameters })
}

/// The applications a compute stack runs, for its description (CloudFormation takes at most 1,024
/// bytes): each by name when there are a few (`the Integration Service, the Webhook Receiver and the
/// Worker Service`), else how many of each kind.
fn running(config: &ComputeConfig) -> String {
    let names: Vec<String> =
        config.services.iter().map(|service| format!("the {}", super::applications::title(service.name()))).collect();
    match names.as_slice() {
        [] => "no application".to_owned(),
        [one] => one.clone(),
        [rest @ .., last] if names.len() <= 4 => format!("{} and {last}", rest.join(", ")),
        _ => format!(
            "{} applications ({} HTTP services and {} queue workers)",
            names.len(),
            config.http_services().count(),
            config.workers().count()
        ),
    }
}

/// Where a region's Kong configuration may go when it is too large for the task definition.
#[derive(Debug, Clone, Copy)]
pub(super) struct KongArtifacts<'a> {
    /// The buckets of `--s3-bucket`, and their prefix.
    pub buckets: &'a TemplateBuckets,
    /// The config key of the region's gateway routes, for the error when there is no bucket.
    pub routes_key: &'a str,
}

impl KongArtifacts<'_> {
    /// Inline when the rendered configuration is at most [`kong::INLINE_CONFIG_LIMIT`] bytes, else an S3
    /// object in the gateway region's bucket.
    fn source(
        &self,
        gateway: &Stack,
        rendered: &str,
        inline: impl FnOnce() -> Result<Value<String>, PlatformError>,
    ) -> Result<kong::ConfigSource, PlatformError> {
        if rendered.len() <= kong::INLINE_CONFIG_LIMIT {
            return Ok(kong::ConfigSource::Inline(inline()?));
        }
        let Some(bucket) = self.buckets.by_region.get(gateway.region()) else {
            return Err(PlatformError::Config {
                key: self.routes_key.to_owned(),
                message: format!(
                    "the Kong configuration renders to {} bytes, over the {} that stay in Kong's task definition \
                     (ECS refuses one over 64 KiB); pass --s3-bucket {}=BUCKET so that it is uploaded there \
                     and loaded when Kong starts",
                    rendered.len(),
                    kong::INLINE_CONFIG_LIMIT,
                    gateway.region()
                ),
            });
        };
        let key = kong::ConfigSource::object_key(self.buckets.prefix.as_deref(), gateway.name(), rendered);
        Ok(kong::ConfigSource::S3 { bucket: bucket.clone(), key })
    }
}

/// How the HTTP services are deployed: ECS blue/green in the cluster, behind their target groups,
/// gated by the deployments stack's hooks and alarms.
#[derive(Debug, Clone, Copy)]
struct BlueGreenServices<'a> {
    cluster: &'a Cluster,
    release: &'a Release,
    config: &'a ComputeConfig,
}

impl BlueGreenServices<'_> {
    /// Adds the service `<id>Service`, sized and scaled by its config, starting on the blue target group
    /// and released through its hook and alarm.
    fn add(&self, root: &mut Scope, service: HttpService<'_>) -> Result<PlatformService, PlatformError> {
        let HttpService { id, task, config, targets, release, group } = service;
        let deployment = &self.config.deployment;
        let props = ServiceProps::new(self.cluster, task)
            .desired_count(config.desired)
            .security_groups(&[group])
            .target_group(&targets.blue)
            .deployment(Deployment::blue_green(self.release.blue_green(release, targets, deployment)))
            .health_check_grace_seconds(deployment.health_check_grace_seconds);
        let service = FargateService::new(root, &format!("{id}Service"), props)?;
        let targets = Some(targets.clone());
        Ok(PlatformService { id, service, min: config.min, max: config.max, targets, scale_out_steps: Vec::new() })
    }
}

/// One HTTP service of the tier and what it is deployed with.
#[derive(Debug, Clone)]
struct HttpService<'a> {
    id: String,
    task: &'a FargateTaskDefinition,
    config: &'a ServiceConfig,
    targets: &'a BlueGreenTargets,
    release: &'a ServiceRelease,
    group: &'a SecurityGroup,
}

/// How the compute tier's tasks are made: images through the pull-through cache, logs encrypted with
/// the data key, and the applications' shared environment.
#[derive(Debug, Clone, Copy)]
struct Tasks<'a> {
    cache: &'a PullThroughCache,
    data: &'a DataTier,
    /// The IAM path of the applications' roles, which the release pipeline may pass.
    role_path: &'a str,
}

impl Tasks<'_> {
    /// An image, through the ECR Public cache when it is one.
    fn image(&self, name: &str) -> ContainerImage {
        self.cache.image(name).unwrap_or_else(|| ContainerImage::registry(name))
    }

    /// A task of `image` serving `service`'s port, sized by its config, with the health check `health`.
    fn serving(
        &self,
        service: &ServiceConfig,
        image: ContainerImage,
        health: &str,
    ) -> Result<TaskProps, PlatformError> {
        let size = fargate_size(service.cpu, service.memory, "service")?;
        Ok(TaskProps::new(image, &self.data.key)
            .size(size)
            .port(service.port)
            .health_check(health)
            .user(service.user.as_str()))
    }

    /// An HTTP application task of `image`, answering its health path, with the shared environment.
    fn application(&self, service: &ServiceConfig, image: ContainerImage) -> Result<TaskProps, PlatformError> {
        let health = format!("curl -fsS http://localhost:{}{} || exit 1", service.port, service.health_check_path);
        Ok(self.application_environment(self.serving(service, image, &health)?))
    }

    /// The applications' environment and secrets. They authenticate to PostgreSQL with IAM tokens as
    /// [`APP_DATABASE_USER`]: no password is injected, so RDS rotating the master secret breaks no
    /// running task.
    fn application_environment(&self, props: TaskProps) -> TaskProps {
        let data = self.data;
        props
            .env("DATABASE_HOST", data.database.endpoint_address())
            .env("DATABASE_PORT", data.database.port().to_string())
            .env("DATABASE_NAME", super::data::DATABASE_NAME)
            .env("DATABASE_USER", APP_DATABASE_USER)
            .env("DATABASE_AUTH", "iam")
            .env("REDIS_HOST", data.cache.endpoint_address())
            .env("WORK_QUEUE_URL", data.queue.url())
            .env("DOCUMENTS_BUCKET", data.documents.name())
            .env("AUDIT_LOGS_BUCKET", data.audit_logs.name())
            .env("REDIS_USERNAME", data.cache_logins.applications.username.as_str())
            .secret("REDIS_PASSWORD", ContainerSecret::whole(&data.cache_logins.applications.password))
            .scratch("/tmp")
            .role_path(self.role_path)
    }
}

/// The image of an application: its repository at the tag the stack parameter `<id>ImageTag` names (what
/// a release passes), or `configured` while that tag is empty, so that a first deploy on an empty
/// account starts from a known image. The manifest lists the parameter (recorded in `parameters`, for
/// the release pipeline); `deployCommand` passes it once it has a value.
fn released_image(
    root: &mut Scope,
    id: &str,
    repository: &Repository,
    configured: ContainerImage,
    parameters: &mut Vec<String>,
) -> Result<ContainerImage, PlatformError> {
    let parameter_id = format!("{id}ImageTag");
    parameters.push(parameter_id.clone());
    let mut parameter = Parameter::new("String");
    parameter.description = Some(format!("The {id} image tag in its ECR repository; empty runs the configured image"));
    parameter.default = Some(serde_json::json!(""));
    parameter.allowed_pattern = Some("^$|^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$".into());
    let tag: Value<String> = root.add_parameter(&parameter_id, parameter)?;
    let condition = format!("{id}FromRepository");
    let stack = root.stack();
    stack.add_condition(&condition, Condition::Not(Box::new(Condition::Equals(tag.clone(), Value::from("")))))?;
    stack.set_parameter_value(&parameter_id, "");
    let released = ContainerImage::from_ecr(repository, tag);
    let uri = Value::if_condition(condition, released.uri(), configured.uri());
    Ok(ContainerImage::Ecr { uri, pull_statements: configured.pull_statements() })
}

/// A validated config's CPU and memory as a Fargate size.
fn fargate_size(cpu: i64, memory: i64, what: &str) -> Result<FargateSize, PlatformError> {
    FargateSize::new(cpu, memory)
        .map_err(|error| PlatformError::Config { key: format!("compute.{what}.memory"), message: error.to_string() })
}

fn template_error(error: minijinja::Error) -> PlatformError {
    PlatformError::Template { template: "templates/kong.yml.j2".into(), message: error.to_string() }
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;
    use serde_json::{json, Value as Json};

    use crate::constructs::edge::VIEWER_IP_HEADER;
    use crate::platform::test_support::{default_config, of_type, stacks};

    #[test]
    fn four_fargate_services_three_blue_green_and_a_rolling_worker() {
        let stacks = stacks(&default_config());
        let mut services = of_type(&stacks["Compute"], "AWS::ECS::Service");
        services.extend(of_type(&stacks["Gateway"], "AWS::ECS::Service"));
        assert_eq!(services.len(), 4);
        for (id, service) in services {
            let p = &service["Properties"];
            let controller = &p["DeploymentController"]["Type"];
            assert_eq!(p["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"], "DISABLED", "{id}");
            assert_eq!(p["DeploymentConfiguration"]["MinimumHealthyPercent"], 100, "{id}: pre-warmed replacements");
            if id == "WorkerServiceService" {
                assert_eq!(controller, "ECS");
                assert_eq!(
                    p["DeploymentConfiguration"]["DeploymentCircuitBreaker"],
                    json!({"Enable": true, "Rollback": true})
                );
            } else {
                assert_eq!(controller, "ECS", "{id}: ECS-native blue/green, which a stack update can drive");
                assert_eq!(p["DeploymentConfiguration"]["Strategy"], "CANARY", "{id}");
                assert!(p["DeploymentConfiguration"].get("DeploymentCircuitBreaker").is_none(), "{id}: rolling only");
                assert_eq!(p["HealthCheckGracePeriodSeconds"], 60, "{id}");
            }
        }
        let mut tasks = of_type(&stacks["Compute"], "AWS::ECS::TaskDefinition");
        tasks.extend(of_type(&stacks["Gateway"], "AWS::ECS::TaskDefinition"));
        assert_eq!(tasks.len(), 4);
        for (id, task) in tasks {
            let container = &task["Properties"]["ContainerDefinitions"][0];
            assert_eq!(container["ReadonlyRootFilesystem"], true, "{id}");
            assert!(container["HealthCheck"]["Command"].is_array(), "{id}");
            assert_ne!(task["Properties"]["ExecutionRoleArn"], task["Properties"]["TaskRoleArn"], "{id}");
            let environment = container["Environment"].to_string();
            assert!(!environment.contains("resolve:secretsmanager"), "{id}: secrets are ECS secrets, not environment");
        }
    }

    /// A release changes only the `<Service>ImageTag` parameter: the only resource that reads it is the
    /// service's task definition, whose image is the repository's at that tag, or the configured image
    /// while the tag is empty.
    #[test]
    fn an_image_tag_is_a_parameter_only_the_task_definition_reads() {
        let stacks = stacks(&default_config());
        let compute = &stacks["Compute"];
        for (task, parameter) in [
            ("IntegrationService", "IntegrationServiceImageTag"),
            ("WebhookReceiver", "WebhookReceiverImageTag"),
            ("WorkerService", "WorkerServiceImageTag"),
        ] {
            let reference = json!({"Ref": parameter}).to_string();
            let readers: Vec<&String> = compute
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, resource)| resource.to_string().contains(&reference))
                .map(|(id, _)| id)
                .collect();
            assert_eq!(readers, [task], "{parameter}");
            let image = &compute[task]["Properties"]["ContainerDefinitions"][0]["Image"]["Fn::If"];
            assert_eq!(image[0], format!("{task}FromRepository"));
            assert!(image[1].to_string().contains(&format!("Deployments:Ref{task}Repository")), "{task}: {}", image[1]);
            assert!(image[2].to_string().contains("ecr-public") || image[2].to_string().contains("EcrPublicCache"));
        }
    }

    #[test]
    fn kong_takes_the_client_address_from_cloudfronts_header_when_an_alb_node_sends_it() {
        let stacks = stacks(&default_config());
        let task = &stacks["Gateway"]["Kong"]["Properties"]["ContainerDefinitions"][0];
        let environment: IndexMap<&str, &Json> = task["Environment"]
            .as_array()
            .unwrap()
            .iter()
            .map(|variable| (variable["Name"].as_str().unwrap(), &variable["Value"]))
            .collect();
        assert_eq!(environment["KONG_TRUSTED_IPS"], "10.10.0.0/16", "only the VPC's ALB nodes are trusted");
        assert_eq!(environment["KONG_REAL_IP_HEADER"], VIEWER_IP_HEADER);
        assert_eq!(environment["KONG_REAL_IP_RECURSIVE"], "off");
    }
}
