//! The compute stack of a region: the ECS cluster running Kong, the Integration Service, the Webhook
//! Receiver and the Worker Service; their least-privilege roles; and autoscaling as the seed says it.
//! Their CodeDeploy blue/green deployments are the deployments stack's ([`super::deployments`]).

use indexmap::IndexMap;
use ipnet::Ipv4Net;

use super::data::DataTier;
use super::ingress::{BlueGreenTargets, Ingress};
use super::security::{SecurityGroups, INTEGRATION_LISTENER_PORT, WEBHOOK_LISTENER_PORT};
use super::PlatformError;
use crate::cfn::cloudwatch::alarm::{AlarmStatistic, Dimension, Metric, MetricDataQuery, MetricStat};
use crate::config::{ComputeConfig, ServiceConfig, Upstream};
use crate::construct::{App, Scope};
use crate::constructs::compute::{
    idle_alarm, Cluster, Deployment, FargateService, FargateTaskDefinition, MetricAlarm, ServiceProps, ServiceScaling,
    Step, TaskProps, CPU_TARGET_PERCENT,
};
use crate::constructs::data::REDIS_PORT;
use crate::constructs::edge::{KongDeclarativeConfig, KongRoute, REDIS_AUTH_TOKEN_VARIABLE, VIEWER_IP_HEADER};
use crate::constructs::iam::Statement;
use crate::constructs::network::{SubnetTier, Vpc};
use crate::template::Value;

/// Queue depth above which workers are added: the seed's "queue depth > 500".
pub const QUEUE_DEPTH_THRESHOLD: f64 = 500.0;

/// Worker CPU (percent) under which an empty queue counts as idle.
pub const IDLE_CPU_PERCENT: i64 = 20;

/// One blue/green service, as the deployments stack needs it.
#[derive(Debug, Clone)]
pub(super) struct BlueGreenService {
    pub id: &'static str,
    pub service_name: Value<String>,
    pub container: String,
    pub port: u16,
    pub targets: BlueGreenTargets,
}

/// What the compute stack hands to the deployments stack.
#[derive(Debug, Clone)]
pub(super) struct Compute {
    pub cluster_name: Value<String>,
    pub services: Vec<BlueGreenService>,
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
         and the Worker Service, with autoscaling and CodeDeploy blue/green deployments.",
        stack.region()
    ));
    let mut root = stack.root();
    let cluster = Cluster::new(&mut root, "Cluster")?;
    let subnets = vpc.subnet_ids(SubnetTier::PrivateApp);

    let shared_env: IndexMap<String, Value<String>> = [
        ("DATABASE_HOST", data.database.endpoint_address()),
        ("REDIS_HOST", data.cache.endpoint_address()),
        ("WORK_QUEUE_URL", data.queue.resource().attr_queue_url()),
        ("DOCUMENTS_BUCKET", data.documents.name()),
        ("AUDIT_LOGS_BUCKET", data.audit_logs.name()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    let app_secrets: IndexMap<String, Value<String>> = [
        ("DATABASE_CREDENTIALS", data.database.master_secret_arn()),
        ("REDIS_AUTH_TOKEN", data.cache_auth_token.arn()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    let mut secret_reads = data.cache_auth_token.read_statements();
    secret_reads.push(Statement::allow(["secretsmanager:GetSecretValue"]).resource(data.database.master_secret_arn()));
    let app_secrets = (app_secrets, secret_reads);
    let kong_secrets = (
        IndexMap::from([(REDIS_AUTH_TOKEN_VARIABLE.to_owned(), data.cache_auth_token.arn())]),
        data.cache_auth_token.read_statements(),
    );
    let task = |root: &mut Scope<'_>,
                id: &str,
                sizing: (&str, Option<u16>, i64, i64),
                health: String,
                environment: IndexMap<String, Value<String>>,
                secrets: &(IndexMap<String, Value<String>>, Vec<Statement>),
                scratch: &[&str]| {
        let (image, port, cpu, memory) = sizing;
        FargateTaskDefinition::new(
            root,
            id,
            TaskProps {
                image: image.to_owned(),
                port,
                cpu,
                memory,
                health_check: health,
                environment,
                secrets: secrets.0.clone(),
                secret_read_statements: secrets.1.clone(),
                scratch_paths: scratch.iter().map(|path| (*path).to_owned()).collect(),
                log_key_arn: data.key.arn(),
            },
        )
    };
    fn sizing(service: &ServiceConfig) -> (&str, Option<u16>, i64, i64) {
        (service.image.as_str(), Some(service.port), service.cpu, service.memory)
    }
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
        (worker.image.as_str(), None, worker.cpu, worker.memory),
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
        let scaling = ServiceScaling::new(
            &mut root,
            &format!("{id}Scaling"),
            cluster.name(),
            service.name(),
            service_config.min,
            service_config.max,
        )?;
        scaling.track_cpu(&mut root, &format!("{id}CpuScaling"), CPU_TARGET_PERCENT)?;
        blue_green_services.push(BlueGreenService {
            id,
            service_name: service.name(),
            container: task.container_name().to_owned(),
            port: service_config.port,
            targets: targets.clone(),
        });
    }

    let worker_service = FargateService::new(
        &mut root,
        "WorkerServiceService",
        &worker_task,
        ServiceProps {
            cluster: cluster.name(),
            desired_count: worker.desired,
            subnet_ids: subnets,
            security_group_id: groups.services.group_id(),
            deployment: Deployment::Rolling,
        },
    )?;
    let scaling = ServiceScaling::new(
        &mut root,
        "WorkerServiceScaling",
        cluster.name(),
        worker_service.name(),
        worker.min,
        worker.max,
    )?;
    scaling.track_cpu(&mut root, "WorkerServiceCpuScaling", CPU_TARGET_PERCENT)?;
    let steps: Vec<Step> =
        worker.scale_out_steps.iter().map(|step| Step { from: step.messages_above, change: step.add_tasks }).collect();
    let scale_out = scaling.step_policy(&mut root, "WorkerServiceQueueScaleOut", &steps, 60)?;
    let queue_name: Value<String> = data.queue.resource().get_att("QueueName");
    MetricAlarm {
        description: format!("More than {QUEUE_DEPTH_THRESHOLD} messages wait in the work queue: add workers"),
        namespace: "AWS/SQS".into(),
        metric: "ApproximateNumberOfMessagesVisible".into(),
        dimensions: vec![("QueueName".into(), queue_name.clone())],
        statistic: AlarmStatistic::Maximum,
        threshold: QUEUE_DEPTH_THRESHOLD,
        periods: 1,
    }
    .add(&mut root, "WorkerServiceQueueDepthAlarm", Some(scale_out.ref_value()))?;
    let scale_in = scaling.step_policy(&mut root, "WorkerServiceIdleScaleIn", &[Step { from: 0, change: -1 }], 300)?;
    let metric = |id: &str, namespace: &str, name: &str, dimensions: Vec<Dimension>, stat: &str| {
        MetricDataQuery::new(id)
            .metric_stat(MetricStat::new(
                Metric::new().namespace(namespace).metric_name(name).dimensions(dimensions),
                60,
                stat,
            ))
            .return_data(false)
    };
    idle_alarm(
        &mut root,
        "WorkerServiceIdleAlarm",
        "The work queue has been empty and the workers nearly idle for 10 minutes: remove a worker",
        vec![
            metric(
                "queue",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                vec![Dimension::new("QueueName", queue_name)],
                "Maximum",
            ),
            metric(
                "cpu",
                "AWS/ECS",
                "CPUUtilization",
                vec![
                    Dimension::new("ClusterName", cluster.name()),
                    Dimension::new("ServiceName", worker_service.name()),
                ],
                "Average",
            ),
        ],
        &format!("IF(queue == 0 AND cpu < {IDLE_CPU_PERCENT}, 1, 0)"),
        scale_in.ref_value(),
    )?;

    // Least privilege: each task role gets only the grants of what its service uses.
    data.queue.grant_send(app, integration_task.task_role())?;
    data.documents.grant_read_write(app, integration_task.task_role())?;
    data.queue.grant_send(app, webhook_task.task_role())?;
    data.queue.grant_consume(app, worker_task.task_role())?;
    data.documents.grant_read_write(app, worker_task.task_role())?;
    data.audit_logs.grant_read_write(app, worker_task.task_role())?;

    app.add_artifact(format!("kong/{stack_name}.yml"), rendered)?;
    Ok(Compute { cluster_name: cluster.name(), services: blue_green_services })
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

    #[test]
    fn every_service_tracks_cpu_at_70_percent() {
        let stacks = stacks(&default_config());
        let tracking: Vec<_> = of_type(&stacks["Compute"], "AWS::ApplicationAutoScaling::ScalingPolicy")
            .into_iter()
            .filter(|(_, p)| p["Properties"]["PolicyType"] == "TargetTrackingScaling")
            .collect();
        assert_eq!(tracking.len(), 4);
        for (id, policy) in tracking {
            let configuration = &policy["Properties"]["TargetTrackingScalingPolicyConfiguration"];
            assert_eq!(configuration["TargetValue"], 70.0, "{id}");
            assert_eq!(
                configuration["PredefinedMetricSpecification"]["PredefinedMetricType"],
                "ECSServiceAverageCPUUtilization"
            );
            assert_eq!(configuration["ScaleInCooldown"], 600, "{id}: scale in after 10 quiet minutes");
        }
    }

    #[test]
    fn queue_depth_over_500_adds_workers_in_the_configured_steps() {
        let mut config = default_config();
        let steps = &mut config.regions[0].compute.as_mut().unwrap().worker_service.scale_out_steps;
        steps.push(crate::config::ScaleOutStep { messages_above: 5000, add_tasks: 8 });
        let stacks = stacks(&config);
        let compute = &stacks["Compute"];
        let alarm = &compute["WorkerServiceQueueDepthAlarm"]["Properties"];
        assert_eq!(alarm["MetricName"], "ApproximateNumberOfMessagesVisible");
        assert_eq!(alarm["Namespace"], "AWS/SQS");
        assert_eq!(alarm["Threshold"], 500.0);
        assert_eq!(alarm["ComparisonOperator"], "GreaterThanThreshold");
        assert_eq!(alarm["AlarmActions"], json!([{"Ref": "WorkerServiceQueueScaleOut"}]));
        let adjustments =
            &compute["WorkerServiceQueueScaleOut"]["Properties"]["StepScalingPolicyConfiguration"]["StepAdjustments"];
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
    fn ten_idle_minutes_remove_a_worker() {
        let stacks = stacks(&default_config());
        let compute = &stacks["Compute"];
        let alarm = &compute["WorkerServiceIdleAlarm"]["Properties"];
        assert_eq!(alarm["EvaluationPeriods"], 10);
        assert_eq!(alarm["DatapointsToAlarm"], 10);
        let metrics = alarm["Metrics"].as_array().unwrap();
        assert!(metrics[..2].iter().all(|m| m["MetricStat"]["Period"] == 60), "ten one-minute periods");
        assert_eq!(metrics[2]["Expression"], "IF(queue == 0 AND cpu < 20, 1, 0)");
        assert_eq!(alarm["AlarmActions"], json!([{"Ref": "WorkerServiceIdleScaleIn"}]));
        let step = &compute["WorkerServiceIdleScaleIn"]["Properties"]["StepScalingPolicyConfiguration"];
        assert_eq!(step["StepAdjustments"], json!([{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": -1}]));
    }
}
