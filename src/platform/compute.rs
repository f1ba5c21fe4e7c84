//! The compute stack of a region: the ECS cluster running Kong, the Integration Service, the Webhook
//! Receiver and the Worker Service; their least-privilege roles; the ECR Public pull-through cache their
//! images come through. Their autoscaling, alarms and the one-off task that creates the applications'
//! database user are the operations stack's ([`super::operations`]), their CodeDeploy
//! blue/green deployments the deployments stack's ([`super::deployments`]).

use indexmap::IndexMap;
use ipnet::Ipv4Net;

use super::data::DataTier;
use super::ingress::{BlueGreenTargets, Ingress};
use super::security::{SecurityGroups, INTEGRATION_LISTENER_PORT, WEBHOOK_LISTENER_PORT};
use super::PlatformError;
use crate::config::{ComputeConfig, ServiceConfig, Upstream};
use crate::construct::{App, Scope};
use crate::constructs::compute::{
    Cluster, ContainerImage, Deployment, FargateService, FargateTaskDefinition, PullThroughCache, ServiceProps,
    TaskProps,
};
use crate::constructs::data::REDIS_PORT;
use crate::constructs::edge::{KongDeclarativeConfig, KongRoute, REDIS_AUTH_TOKEN_VARIABLE, VIEWER_IP_HEADER};
use crate::constructs::iam::Statement;
use crate::constructs::network::{SubnetTier, Vpc};
use crate::template::{Output, Value};

/// The database user the applications log in as, with IAM database authentication.
pub const APP_DATABASE_USER: &str = "integration_app";

/// One blue/green service, as the deployments stack needs it.
#[derive(Debug, Clone)]
pub(super) struct BlueGreenService {
    pub id: &'static str,
    pub service_name: Value<String>,
    pub container: String,
    pub port: u16,
    pub targets: BlueGreenTargets,
}

/// One service, as the operations stack scales and watches it.
#[derive(Debug, Clone)]
pub(super) struct RunningService {
    pub id: &'static str,
    pub service_name: Value<String>,
    pub min: i64,
    pub max: i64,
    /// The target groups that carry its requests; `None` for the worker, which serves none.
    pub targets: Option<BlueGreenTargets>,
}

/// What the compute stack hands to the operations and deployments stacks.
#[derive(Debug, Clone)]
pub(super) struct Compute {
    /// The compute stack's name.
    pub stack_name: String,
    pub cluster_name: Value<String>,
    pub services: Vec<BlueGreenService>,
    pub running: Vec<RunningService>,
    /// The ECR Public pull-through cache, for images of other stacks of the region.
    pub cache: PullThroughCache,
}

/// Builds the compute tier into the stack `stack_name`.
pub(super) fn build(
    app: &mut App,
    stack_name: &str,
    vpc: &Vpc,
    groups: &SecurityGroups,
    data: &DataTier,
    ingress: &Ingress,
    config: &ComputeConfig,
) -> Result<Compute, PlatformError> {
    let stack = app.stack_mut(stack_name).expect("the compute stack exists");
    stack.set_description(format!(
        "Compute tier of {stack_name} ({}): ECS Fargate running Kong, the Integration Service, the Webhook Receiver \
         and the Worker Service, and the ECR Public pull-through cache their images come through.",
        stack.region()
    ));
    let mut root = stack.root();
    let cluster = Cluster::new(&mut root, "Cluster")?;
    // Every ECR Public image is pulled through the account's cache, over the ECR and S3 endpoints:
    // no task needs the internet to start.
    let cache = PullThroughCache::ecr_public(&mut root, "EcrPublicCache")?;
    let image = |name: &str| cache.image(name).unwrap_or_else(|| ContainerImage::from_registry(name));
    let subnets = vpc.subnet_ids(SubnetTier::PrivateApp);

    // The applications authenticate to PostgreSQL with IAM tokens as APP_DATABASE_USER: no password
    // is injected, so RDS rotating the master secret breaks no running task.
    let shared_env: IndexMap<String, Value<String>> = [
        ("DATABASE_HOST", data.database.endpoint_address()),
        ("DATABASE_NAME", Value::from(super::data::DATABASE_NAME)),
        ("DATABASE_USER", Value::from(APP_DATABASE_USER)),
        ("DATABASE_AUTH", Value::from("iam")),
        ("REDIS_HOST", data.cache.endpoint_address()),
        ("WORK_QUEUE_URL", data.queue.resource().attr_queue_url()),
        ("DOCUMENTS_BUCKET", data.documents.name()),
        ("AUDIT_LOGS_BUCKET", data.audit_logs.name()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    let redis_token = |name: &str| {
        (IndexMap::from([(name.to_owned(), data.cache_auth_token.arn())]), data.cache_auth_token.read_statements())
    };
    let app_secrets = redis_token("REDIS_AUTH_TOKEN");
    let kong_secrets = redis_token(REDIS_AUTH_TOKEN_VARIABLE);
    let task = |root: &mut Scope<'_>,
                id: &str,
                sizing: (ContainerImage, Option<u16>, i64, i64),
                health: String,
                environment: IndexMap<String, Value<String>>,
                secrets: &(IndexMap<String, Value<String>>, Vec<Statement>),
                scratch: &[&str]| {
        let (image, port, cpu, memory) = sizing;
        FargateTaskDefinition::new(
            root,
            id,
            TaskProps {
                image,
                port,
                cpu,
                memory,
                health_check: Some(health),
                command: vec![],
                environment,
                secrets: secrets.0.clone(),
                secret_read_statements: secrets.1.clone(),
                scratch_paths: scratch.iter().map(|path| (*path).to_owned()).collect(),
                log_key_arn: data.key.arn(),
            },
        )
    };
    let sizing = |service: &ServiceConfig| (image(&service.image), Some(service.port), service.cpu, service.memory);
    let http_health = |service: &ServiceConfig| {
        format!("curl -fsS http://localhost:{}{} || exit 1", service.port, service.health_check_path)
    };

    let kong = &config.kong;
    let declarative = kong_declarative_config(config, &ingress.internal_name);
    let rendered = declarative.render().map_err(template_error("templates/kong.yml.j2"))?;
    let kong_config =
        declarative.to_value(data.cache.endpoint_address()).map_err(template_error("templates/kong.yml.j2"))?;
    let kong_task = task(
        &mut root,
        "Kong",
        sizing(kong),
        "kong health".into(),
        kong_environment(config, kong_config, vpc.cidr()),
        &kong_secrets,
        &["/usr/local/kong", "/tmp"],
    )?;
    let integration = &config.integration_service;
    let integration_task = task(
        &mut root,
        "IntegrationService",
        sizing(integration),
        http_health(integration),
        shared_env.clone(),
        &app_secrets,
        &["/tmp"],
    )?;
    let webhook = &config.webhook_receiver;
    let webhook_task = task(
        &mut root,
        "WebhookReceiver",
        sizing(webhook),
        http_health(webhook),
        shared_env.clone(),
        &app_secrets,
        &["/tmp"],
    )?;
    let worker = &config.worker_service;
    let worker_task = task(
        &mut root,
        "WorkerService",
        (image(&worker.image), None, worker.cpu, worker.memory),
        "kill -0 1 || exit 1".into(),
        shared_env.clone(),
        &app_secrets,
        &["/tmp"],
    )?;

    let grace = config.deployment.health_check_grace_seconds;
    let blue_green = |targets: &BlueGreenTargets, port: u16| Deployment::BlueGreen {
        target_group_arn: targets.blue.arn(),
        container_port: port,
        health_check_grace_seconds: grace,
    };
    let http_services = [
        ("Kong", &kong_task, &config.kong, &ingress.kong, groups.kong.group_id()),
        (
            "IntegrationService",
            &integration_task,
            &config.integration_service,
            &ingress.integration,
            groups.services.group_id(),
        ),
        ("WebhookReceiver", &webhook_task, &config.webhook_receiver, &ingress.webhook, groups.services.group_id()),
    ];
    let mut blue_green_services = Vec::new();
    let mut running = Vec::new();
    for (id, task, service_config, targets, group) in http_services {
        let service = FargateService::new(
            &mut root,
            &format!("{id}Service"),
            task,
            ServiceProps {
                cluster: cluster.name(),
                desired_count: service_config.desired,
                subnet_ids: subnets.clone(),
                security_group_id: group,
                deployment: blue_green(targets, service_config.port),
            },
        )?;
        blue_green_services.push(BlueGreenService {
            id,
            service_name: service.name(),
            container: task.container_name().to_owned(),
            port: service_config.port,
            targets: targets.clone(),
        });
        running.push(RunningService {
            id,
            service_name: service.name(),
            min: service_config.min,
            max: service_config.max,
            targets: Some(targets.clone()),
        });
    }

    let worker_service = FargateService::new(
        &mut root,
        "WorkerServiceService",
        &worker_task,
        ServiceProps {
            cluster: cluster.name(),
            desired_count: worker.desired,
            subnet_ids: subnets.clone(),
            security_group_id: groups.services.group_id(),
            deployment: Deployment::Rolling,
        },
    )?;
    running.push(RunningService {
        id: "WorkerService",
        service_name: worker_service.name(),
        min: worker.min,
        max: worker.max,
        targets: None,
    });

    // Least privilege: each task role gets only the grants of what its service uses.
    data.queue.grant_send(app, integration_task.task_role())?;
    data.documents.grant_read_write(app, integration_task.task_role())?;
    data.queue.grant_send(app, webhook_task.task_role())?;
    data.queue.grant_consume(app, worker_task.task_role())?;
    data.documents.grant_read_write(app, worker_task.task_role())?;
    data.audit_logs.grant_read_write(app, worker_task.task_role())?;
    for task in [&integration_task, &webhook_task, &worker_task] {
        data.database.grant_connect(app, task.task_role(), APP_DATABASE_USER)?;
    }

    // What the database-user script looks up at run time (see the operations stack).
    let stack = app.stack_mut(stack_name).expect("the compute stack exists");
    stack.add_output("ClusterName", Output::new(&cluster.name()).description("The ECS cluster"))?;
    stack.add_output(
        "WorkerServiceName",
        Output::new(&worker_service.name()).description("The worker service, whose network the one-off tasks share"),
    )?;
    app.add_artifact(format!("kong/{stack_name}.yml"), rendered)?;
    Ok(Compute {
        stack_name: stack_name.to_owned(),
        cluster_name: cluster.name(),
        services: blue_green_services,
        running,
        cache,
    })
}

fn template_error(template: &'static str) -> impl Fn(minijinja::Error) -> PlatformError {
    move |error| PlatformError::Template { template: template.into(), message: error.to_string() }
}

/// Kong's routes from config, through the internal ALB, with its limits.
fn kong_declarative_config(config: &ComputeConfig, internal_name: &str) -> KongDeclarativeConfig {
    let gateway = &config.gateway;
    let routes = gateway
        .routes
        .iter()
        .map(|route| {
            let port = match route.service {
                Upstream::IntegrationService => INTEGRATION_LISTENER_PORT,
                Upstream::WebhookReceiver => WEBHOOK_LISTENER_PORT,
            };
            KongRoute {
                name: route.name.clone(),
                url: format!("https://{internal_name}:{port}"),
                paths: route.paths.clone(),
            }
        })
        .collect();
    KongDeclarativeConfig {
        routes,
        health_path: config.kong.health_check_path.clone(),
        rate_limit_per_minute: gateway.rate_limit.per_minute,
        rate_limit_by: gateway.rate_limit.limit_by.as_str().to_owned(),
        redis_port: REDIS_PORT,
        max_request_megabytes: gateway.max_request_megabytes,
        strip_headers: vec![config.edge.origin_verify_header.clone()],
    }
}

/// Kong's environment: DB-less, the declarative config, its listeners, where it logs, and whose
/// address counts as the client's.
///
/// Kong's peer is always an ALB node inside the VPC, and the request came through CloudFront, whose
/// viewer-request function wrote the viewer's address into `X-Viewer-IP` (overwriting anything the
/// client sent). Trusting the VPC's block and reading that header makes Kong's client IP, and so
/// `limitBy: ip` and its logs, the real client rather than the ALB node or the CloudFront edge.
fn kong_environment(
    config: &ComputeConfig,
    declarative: Value<String>,
    vpc_cidr: Ipv4Net,
) -> IndexMap<String, Value<String>> {
    [
        ("KONG_TRUSTED_IPS", Value::from(vpc_cidr.to_string())),
        ("KONG_REAL_IP_HEADER", Value::from(VIEWER_IP_HEADER)),
        ("KONG_REAL_IP_RECURSIVE", Value::from("off")),
        ("KONG_DATABASE", Value::from("off")),
        ("KONG_DECLARATIVE_CONFIG_STRING", declarative),
        ("KONG_PROXY_LISTEN", Value::from(format!("0.0.0.0:{}", config.kong.port))),
        ("KONG_ADMIN_LISTEN", Value::from("off")),
        ("KONG_PREFIX", Value::from("/usr/local/kong")),
        ("KONG_PROXY_ACCESS_LOG", Value::from("/dev/stdout")),
        ("KONG_PROXY_ERROR_LOG", Value::from("/dev/stderr")),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value as Json};

    use super::*;
    use crate::platform::test_support::{default_config, of_type, stacks};

    #[test]
    fn four_fargate_services_three_blue_green_and_a_rolling_worker() {
        let stacks = stacks(&default_config());
        let services = of_type(&stacks["Compute"], "AWS::ECS::Service");
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
                assert_eq!(controller, "CODE_DEPLOY", "{id}");
                assert_eq!(p["HealthCheckGracePeriodSeconds"], 60, "{id}");
            }
        }
        for (id, task) in of_type(&stacks["Compute"], "AWS::ECS::TaskDefinition") {
            let container = &task["Properties"]["ContainerDefinitions"][0];
            assert_eq!(container["ReadonlyRootFilesystem"], true, "{id}");
            assert!(container["HealthCheck"]["Command"].is_array(), "{id}");
            assert_ne!(task["Properties"]["ExecutionRoleArn"], task["Properties"]["TaskRoleArn"], "{id}");
            let environment = container["Environment"].to_string();
            assert!(!environment.contains("resolve:secretsmanager"), "{id}: secrets are ECS secrets, not environment");
        }
    }

    #[test]
    fn kong_takes_the_client_address_from_cloudfronts_header_when_an_alb_node_sends_it() {
        let stacks = stacks(&default_config());
        let task = &stacks["Compute"]["Kong"]["Properties"]["ContainerDefinitions"][0];
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
