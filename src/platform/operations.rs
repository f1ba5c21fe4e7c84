//! The operations stack of a region: who hears when something breaks, and the one-off task that
//! creates the applications' database user. Autoscaling is the scaling stack's ([`super::scaling`]).
//!
//! - An encrypted SNS alarm topic whose key lets CloudWatch publish, with the configured subscribers.
//! - Alarms, each notifying that topic: the dead-letter queue (any message), the work queue's oldest
//!   message, PostgreSQL (CPU, free storage, connections), Redis (CPU, memory, evictions on any node),
//!   both load balancers (their own and their targets' 5xx), and each ECS service's running tasks
//!   below its minimum.
//! - A dashboard with a graph of every alarm.

use serde_json::json;

use super::compute::{Compute, APP_DATABASE_USER};
use super::data::DataTier;
use super::ingress::Ingress;
use super::names::EDGE_REGION;
use super::support::{metric_query, subscribers};
use super::PlatformError;
use crate::cfn::cloudwatch;
use crate::cfn::cloudwatch::alarm::{
    AlarmComparisonOperator, AlarmStatistic, AlarmTreatMissingData, Metric, MetricDataQuery,
};
use crate::cfn::prelude::*;
use crate::config::{MonitoringConfig, RedisConfig};
use crate::construct::{ConstructError, ResourceRef, Scope, Stack};
use crate::constructs::compute::{ContainerImage, ContainerSecret, FargateTaskDefinition, TaskProps};
use crate::constructs::data::{Secret, REPLICATION_RULE_ID, REPLICATION_TIME_MINUTES};
use crate::constructs::monitoring::{AlarmTopic, MetricAlarm};
use crate::template::{Output, Value};

/// The image of the one-off task that creates [`APP_DATABASE_USER`]: the official PostgreSQL client,
/// pulled through the ECR Public cache.
const DATABASE_USERS_IMAGE: &str = "public.ecr.aws/docker/library/postgres:17";

/// The database-user script template, embedded in the binary.
const DATABASE_USER_SCRIPT: &str = include_str!("../../templates/create-database-user.sh.j2");

/// What the stack hands on.
#[derive(Debug, Clone)]
pub(super) struct Operations {
    /// The script that runs the database-user task, when the region has one.
    pub database_users_script: Option<String>,
}

/// The compute tier, as the operations stack watches it.
#[derive(Debug, Clone)]
pub(super) struct Watched<'a> {
    pub compute: &'a Compute,
    pub ingress: &'a Ingress,
}

/// Builds the operations stack for a region's data tier and, when it has one, its compute.
pub(super) fn build(
    stack: &Stack,
    data: &DataTier,
    redis: &RedisConfig,
    watched: Option<Watched<'_>>,
    monitoring: &MonitoringConfig,
) -> Result<Operations, PlatformError> {
    let stack_name = stack.name();
    // A replica's users are its source's: only a database with master credentials of its own gets the
    // one-off task that creates them.
    let creates_users = watched.is_some() && data.database.secret().is_some();
    let contents = match creates_users {
        true => {
            "the encrypted alarm topic, alarms on the data tier, load balancers and services, a dashboard, and \
                 the one-off task creating the applications' database user"
        }
        false => "the encrypted alarm topic, alarms on the data tier, load balancers and services, and a dashboard",
    };
    stack.set_description(format!("Operations of {stack_name} ({}): {contents}.", stack.region()));
    let mut root = stack.root();
    let topic = AlarmTopic::new(&mut root, "AlarmTopic", &subscribers(monitoring))?;
    let t = &monitoring.thresholds;
    let mut alarms = Board { topic: &topic, graphs: Vec::new() };

    let dlq = vec![("QueueName".to_owned(), data.queue.dead_letter_name().expect("the data tier's queue has one"))];
    let work_queue = vec![("QueueName".to_owned(), data.queue.name())];
    alarms.add(
        &mut root,
        "DeadLetterQueueAlarm",
        "Dead-letter queue",
        MetricAlarm::above(
            "A message reached the dead-letter queue: it failed every receive",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            dlq,
            AlarmStatistic::Maximum,
            0.0,
            1,
        ),
    )?;
    alarms.add(
        &mut root,
        "WorkQueueAgeAlarm",
        "Oldest work queue message (s)",
        MetricAlarm::above(
            format!(
                "A work item has waited over {} seconds: workers are not keeping up",
                t.queue_oldest_message_seconds
            ),
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            work_queue,
            AlarmStatistic::Maximum,
            t.queue_oldest_message_seconds,
            5,
        ),
    )?;
    let database = vec![("DBInstanceIdentifier".to_owned(), data.database.resource().ref_value())];
    let five_minutes = |alarm: MetricAlarm| alarm.every(300);
    alarms.add(
        &mut root,
        "DatabaseCpuAlarm",
        "PostgreSQL CPU %",
        five_minutes(MetricAlarm::above(
            format!("PostgreSQL CPU above {}% for 5 minutes", t.database_cpu_percent),
            "AWS/RDS",
            "CPUUtilization",
            database.clone(),
            AlarmStatistic::Average,
            t.database_cpu_percent,
            1,
        )),
    )?;
    alarms.add(
        &mut root,
        "DatabaseFreeStorageAlarm",
        "PostgreSQL free storage (bytes)",
        five_minutes(
            MetricAlarm::above(
                format!("PostgreSQL has under {} GiB of free storage", t.database_free_storage_gib),
                "AWS/RDS",
                "FreeStorageSpace",
                database.clone(),
                AlarmStatistic::Minimum,
                t.database_free_storage_gib * 1024.0 * 1024.0 * 1024.0,
                1,
            )
            .below(),
        ),
    )?;
    alarms.add(
        &mut root,
        "DatabaseConnectionsAlarm",
        "PostgreSQL connections",
        five_minutes(MetricAlarm::above(
            format!("PostgreSQL holds more than {} connections", t.database_connections),
            "AWS/RDS",
            "DatabaseConnections",
            database,
            AlarmStatistic::Maximum,
            t.database_connections,
            1,
        )),
    )?;
    if let Some(seconds) = data.replica_lag_alarm_seconds {
        alarms.add(
            &mut root,
            "DatabaseReplicaLagAlarm",
            "PostgreSQL replica lag (s)",
            data.database.replica_lag_alarm(seconds),
        )?;
    }
    replication_alarms(&mut root, &mut alarms, data)?;
    let nodes = cache_nodes(data, redis);
    let node_alarms = [
        NodeAlarm {
            id: "CacheCpuAlarm",
            title: "Redis engine CPU % (busiest node)",
            metric: "EngineCPUUtilization",
            statistic: "Average",
            threshold: t.cache_cpu_percent,
        },
        NodeAlarm {
            id: "CacheMemoryAlarm",
            title: "Redis memory % (fullest node)",
            metric: "DatabaseMemoryUsagePercentage",
            statistic: "Average",
            threshold: t.cache_memory_percent,
        },
        NodeAlarm {
            id: "CacheEvictionsAlarm",
            title: "Redis evictions (any node)",
            metric: "Evictions",
            statistic: "Sum",
            threshold: t.cache_evictions,
        },
    ];
    for node_alarm in &node_alarms {
        let alarm = busiest_node_alarm(&mut root, node_alarm, &nodes, vec![topic.arn()])?;
        alarms.graphs.push(Graph { title: node_alarm.title.to_owned(), alarm });
    }

    let mut database_users = None;
    // A failover of CloudFront's origin to the standby is heard: Route 53 publishes its health checks'
    // status in us-east-1 only, where the primary's operations stack then alarms on it.
    let origin_check = watched.as_ref().and_then(|watched| watched.ingress.origin_health_check.clone());
    if let Some(check) = origin_check.filter(|_| stack.region() == EDGE_REGION) {
        alarms.add(
            &mut root,
            "OriginFailoverAlarm",
            "Origin health (1 healthy)",
            MetricAlarm::above(
                "The primary's origin health check fails: Route 53 sends CloudFront to the standby region; \
                 follow DR-RUNBOOK.md",
                "AWS/Route53",
                "HealthCheckStatus",
                vec![("HealthCheckId".to_owned(), check)],
                AlarmStatistic::Minimum,
                1.0,
                1,
            )
            .below(),
        )?;
    }
    if let Some(watched) = &watched {
        let balancers = [
            Balancer {
                id: "Public",
                name: "the public ALB (Kong)",
                full_name: &watched.ingress.kong.load_balancer_full_name,
            },
            Balancer {
                id: "Internal",
                name: "the internal ALB (services)",
                full_name: &watched.ingress.internal_full_name,
            },
        ];
        for Balancer { id, name, full_name } in balancers {
            // 5xx from the balancer itself, and from its targets.
            for (source, metric, who) in
                [("Elb", "HTTPCode_ELB_5XX_Count", "itself"), ("Target", "HTTPCode_Target_5XX_Count", "its targets")]
            {
                alarms.add(
                    &mut root,
                    &format!("{id}Alb{source}5xxAlarm"),
                    &format!("{id} ALB: 5xx from {who}"),
                    five_minutes(MetricAlarm::above(
                        format!(
                            "More than {} 5xx responses from {who} at {name} in 5 minutes",
                            t.http_5xx_per_five_minutes
                        ),
                        "AWS/ApplicationELB",
                        metric,
                        vec![("LoadBalancer".into(), full_name.clone())],
                        AlarmStatistic::Sum,
                        t.http_5xx_per_five_minutes,
                        1,
                    )),
                )?;
            }
        }
        for service in &watched.compute.services {
            let dimensions = vec![
                ("ClusterName".into(), service.service.cluster().name().value()),
                ("ServiceName".into(), service.service.name()),
            ];
            alarms.add(
                &mut root,
                &format!("{}RunningTasksAlarm", service.id),
                &format!("{} running tasks", service.id),
                MetricAlarm::above(
                    format!("{} runs fewer than its minimum of {} tasks", service.id, service.min),
                    "ECS/ContainerInsights",
                    "RunningTaskCount",
                    dimensions,
                    AlarmStatistic::Minimum,
                    service.min as f64,
                    3,
                )
                .below()
                // Container Insights reports every running service each minute: silence means trouble.
                .missing_data(AlarmTreatMissingData::Breaching),
            )?;
        }
        if let Some(master) = data.database.secret().filter(|_| creates_users) {
            let image = watched.compute.cache.image(DATABASE_USERS_IMAGE).expect("an ECR Public image");
            database_users = Some(database_users_task(&mut root, data, &master, image)?);
        }
    }

    dashboard(&mut root, stack_name, &alarms.graphs)?;
    let mut script = None;
    if let (Some(task), Some(watched)) = (database_users, &watched) {
        let region = stack.region().to_owned();
        stack.add_output(
            "DatabaseUsersTaskDefinition",
            Output::new(&task.resource().ref_value())
                .description(format!("Creates the database user {APP_DATABASE_USER}: run it once")),
        )?;
        script = Some(render_database_user_script(&region, &watched.compute.stack_name, stack_name)?);
    }
    Ok(Operations { database_users_script: script })
}

/// The one-off task that creates [`APP_DATABASE_USER`] with the `rds_iam` role. It alone reads the
/// master credentials, at its start, so RDS rotating them never affects a running service. Idempotent:
/// running it again only re-grants.
fn database_users_task(
    root: &mut Scope,
    data: &DataTier,
    master: &Secret,
    image: ContainerImage,
) -> Result<FargateTaskDefinition, PlatformError> {
    let user = APP_DATABASE_USER;
    let sql = format!(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{user}') THEN CREATE ROLE {user} LOGIN; \
         END IF; END $$; GRANT rds_iam TO {user}; GRANT CONNECT ON DATABASE {db} TO {user}; \
         GRANT USAGE, CREATE ON SCHEMA public TO {user};",
        db = super::data::DATABASE_NAME
    );
    let props = TaskProps::new(image, &data.key)
        .command(["psql", "--no-psqlrc", "--set=ON_ERROR_STOP=1", "--command", &sql])
        .env("PGHOST", data.database.endpoint_address())
        .env("PGPORT", data.database.port().to_string())
        .env("PGDATABASE", super::data::DATABASE_NAME)
        .env("PGSSLMODE", "require")
        .secret("PGUSER", ContainerSecret::from_secret(master, "username"))
        .secret("PGPASSWORD", ContainerSecret::from_secret(master, "password"))
        .scratch("/tmp")
        // The PostgreSQL image's own unprivileged user: psql writes nothing.
        .user("postgres");
    Ok(FargateTaskDefinition::new(root, "DatabaseUsers", props)?)
}

/// The script that runs the database-user task once, rendered from
/// `templates/create-database-user.sh.j2`: it looks up the cluster, the worker's network and the task
/// definition from the stacks' outputs, so it needs nothing but the region's stacks deployed.
fn render_database_user_script(
    region: &str,
    compute_stack: &str,
    operations_stack: &str,
) -> Result<String, PlatformError> {
    super::support::render_template(
        "create-database-user.sh.j2",
        DATABASE_USER_SCRIPT,
        minijinja::context! { region, compute_stack, operations_stack, user => APP_DATABASE_USER },
    )
}

/// The node IDs of the replication group: `<group>-00N` without cluster mode, `<group>-000S-00N` with.
fn cache_nodes(data: &DataTier, redis: &RedisConfig) -> Vec<Value<String>> {
    let group = data.cache.resource().ref_value();
    let per_shard = 1 + redis.replicas_per_shard;
    let suffixes: Vec<String> = if redis.shards > 1 {
        (1..=redis.shards).flat_map(|shard| (1..=per_shard).map(move |node| format!("{shard:04}-{node:03}"))).collect()
    } else {
        (1..=per_shard).map(|node| format!("{node:03}")).collect()
    };
    suffixes
        .into_iter()
        .map(|suffix| Value::sub_with(format!("${{Group}}-{suffix}"), [("Group", group.clone())]))
        .collect()
}

/// The alarms of the stack, each notifying the topic, with the graph the dashboard shows for each.
struct Board<'a> {
    topic: &'a AlarmTopic,
    graphs: Vec<Graph>,
}

impl Board<'_> {
    /// Adds `alarm` under `id`, notifying the topic, and its graph titled `title`.
    fn add(&mut self, root: &mut Scope, id: &str, title: &str, alarm: MetricAlarm) -> Result<(), ConstructError> {
        let alarm = alarm.add(root, id, vec![self.topic.arn()])?;
        self.graphs.push(Graph { title: title.to_owned(), alarm });
        Ok(())
    }
}

/// One dashboard graph: an alarm's metric and threshold.
struct Graph {
    title: String,
    alarm: ResourceRef<cloudwatch::Alarm>,
}

/// A load balancer whose 5xx responses are watched.
struct Balancer<'a> {
    /// Prefix of the alarms' IDs.
    id: &'static str,
    /// What descriptions call it.
    name: &'static str,
    /// Its full name, the dimension of its metrics.
    full_name: &'a Value<String>,
}

/// An alarm on one ElastiCache metric of the busiest node.
struct NodeAlarm {
    id: &'static str,
    title: &'static str,
    metric: &'static str,
    statistic: &'static str,
    threshold: f64,
}

/// An alarm on the largest value of the metric across the cache nodes (metric math `MAX`), so that it
/// follows whichever node is primary after a failover.
fn busiest_node_alarm(
    root: &mut Scope,
    alarm: &NodeAlarm,
    nodes: &[Value<String>],
    actions: Vec<Value<String>>,
) -> Result<ResourceRef<cloudwatch::Alarm>, ConstructError> {
    let NodeAlarm { id, title, metric, statistic, threshold } = *alarm;
    let mut queries: Vec<MetricDataQuery> = nodes
        .iter()
        .enumerate()
        .map(|(index, node)| {
            let query = format!("node{}", index + 1);
            let node_metric = Metric::new().namespace("AWS/ElastiCache").metric_name(metric);
            metric_query(&query, node_metric, &[("CacheClusterId", node.clone())], 300, statistic)
        })
        .collect();
    let ids: Vec<String> = (1..=nodes.len()).map(|index| format!("node{index}")).collect();
    queries.push(
        MetricDataQuery::new("busiest").expression(format!("MAX([{}])", ids.join(", "))).label(title).return_data(true),
    );
    root.add(
        id,
        cloudwatch::Alarm::new()
            .alarm_description(format!("{title} above {threshold} for 5 minutes"))
            .metrics(queries)
            .evaluation_periods(1)
            .threshold(threshold)
            .comparison_operator(AlarmComparisonOperator::GreaterThanThreshold)
            .treat_missing_data(AlarmTreatMissingData::NotBreaching)
            .alarm_actions(actions),
    )
}

/// A dashboard with one graph per alarm (the alarm's own metric and threshold), two graphs a row.
fn dashboard(root: &mut Scope, stack_name: &str, alarms: &[Graph]) -> Result<(), ConstructError> {
    let widgets: Vec<serde_json::Value> = alarms
        .iter()
        .enumerate()
        .map(|(index, Graph { title, .. })| {
            json!({
                "type": "metric",
                "x": (index % 2) * 12,
                "y": (index / 2) * 6,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": title,
                    "region": "${AWS::Region}",
                    "annotations": {"alarms": [format!("${{Alarm{}}}", index + 1)]},
                    "view": "timeSeries",
                    "stacked": false
                }
            })
        })
        .collect();
    // The widgets moved into the body: `json!` would copy each of them first. Written through
    // `serde_json::to_string` (the text `Display` writes, without a formatter call per piece).
    let body = serde_json::to_string(&serde_json::Value::Object(serde_json::Map::from_iter([(
        "widgets".to_owned(),
        serde_json::Value::Array(widgets),
    )])))
    .expect("JSON values serialize");
    let variables: Vec<(String, Value<String>)> = alarms
        .iter()
        .enumerate()
        .map(|(index, Graph { alarm, .. })| (format!("Alarm{}", index + 1), alarm.attr_arn()))
        .collect();
    root.add(
        "Dashboard",
        cloudwatch::Dashboard::new(Value::sub_with(body, variables)).dashboard_name(stack_name.to_owned()),
    )?;
    Ok(())
}

/// The replication of the document and audit-log buckets to the disaster-recovery region: S3 Replication
/// Time Control promises 15 minutes for 99.99% of objects, so the tail shows as latency over it, and an
/// object that failed to replicate is lost to the recovery point until someone looks.
fn replication_alarms(root: &mut Scope, alarms: &mut Board<'_>, data: &DataTier) -> Result<(), ConstructError> {
    let Some(replicas) = &data.replicas else { return Ok(()) };
    let [documents, audit_logs] = &replicas.names;
    for (id, title, source, destination) in [
        ("Documents", "documents", &data.documents, documents),
        ("AuditLogs", "audit logs", &data.audit_logs, audit_logs),
    ] {
        let dimensions = vec![
            ("SourceBucket".to_owned(), source.name().value()),
            ("DestinationBucket".to_owned(), destination.clone()),
            ("RuleId".to_owned(), Value::from(REPLICATION_RULE_ID)),
        ];
        let minutes = REPLICATION_TIME_MINUTES;
        alarms.add(
            root,
            &format!("{id}ReplicationLatencyAlarm"),
            &format!("Replication latency of {title} to {} (s)", replicas.region),
            MetricAlarm::above(
                format!("An object of the {title} bucket took over {minutes} minutes to reach {}", replicas.region),
                "AWS/S3",
                "ReplicationLatency",
                dimensions.clone(),
                AlarmStatistic::Maximum,
                (minutes * 60) as f64,
                1,
            )
            .every(300),
        )?;
        alarms.add(
            root,
            &format!("{id}ReplicationFailedAlarm"),
            &format!("Objects of {title} that failed to replicate"),
            MetricAlarm::above(
                format!("An object of the {title} bucket failed to replicate to {}", replicas.region),
                "AWS/S3",
                "OperationsFailedReplication",
                dimensions,
                AlarmStatistic::Sum,
                0.0,
                1,
            )
            .every(300),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::platform::test_support::{default_config, of_type, stacks};

    #[test]
    fn every_alarm_notifies_the_encrypted_topic_with_thresholds_from_config() {
        let mut config = default_config();
        let thresholds = &mut config.regions[0].monitoring.thresholds;
        thresholds.database_cpu_percent = 65.0;
        thresholds.database_free_storage_gib = 20.0;
        thresholds.cache_evictions = 100.0;
        let stacks = stacks(&config);
        let operations = &stacks["Operations"];
        let alarms = of_type(operations, "AWS::CloudWatch::Alarm");
        let ids: Vec<&str> = alarms.iter().map(|(id, _)| id.as_str()).collect();
        for expected in [
            "DeadLetterQueueAlarm",
            "DatabaseCpuAlarm",
            "DatabaseFreeStorageAlarm",
            "DatabaseConnectionsAlarm",
            "CacheCpuAlarm",
            "CacheMemoryAlarm",
            "CacheEvictionsAlarm",
            "PublicAlbElb5xxAlarm",
            "PublicAlbTarget5xxAlarm",
            "InternalAlbElb5xxAlarm",
            "InternalAlbTarget5xxAlarm",
            "KongRunningTasksAlarm",
            "WorkerServiceRunningTasksAlarm",
        ] {
            assert!(ids.contains(&expected), "{expected} in {ids:?}");
        }
        for (id, alarm) in &alarms {
            assert_eq!(alarm["Properties"]["AlarmActions"], json!([{"Ref": "AlarmTopic"}]), "{id}");
        }
        assert_eq!(operations["DatabaseCpuAlarm"]["Properties"]["Threshold"], 65.0);
        let storage = &operations["DatabaseFreeStorageAlarm"]["Properties"];
        assert_eq!(storage["Threshold"], 20.0 * 1024.0 * 1024.0 * 1024.0);
        assert_eq!(storage["ComparisonOperator"], "LessThanThreshold");
        assert_eq!(operations["DeadLetterQueueAlarm"]["Properties"]["Threshold"], 0.0, "any message");
        let evictions = &operations["CacheEvictionsAlarm"]["Properties"];
        assert_eq!(evictions["Threshold"], 100.0);
        assert_eq!(evictions["Metrics"].as_array().unwrap().len(), 3, "both nodes and their MAX");
        let running = &operations["KongRunningTasksAlarm"]["Properties"];
        assert_eq!(running["Threshold"], 2.0, "Kong's configured minimum");
        assert_eq!(running["ComparisonOperator"], "LessThanThreshold");
        let topic = &operations["AlarmTopic"]["Properties"];
        assert_eq!(topic["KmsMasterKeyId"], json!({"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}));
        let subscription = &operations["AlarmTopicSubscription1"]["Properties"];
        assert_eq!(subscription["Endpoint"], "platform-alerts@integration-platform.example.com");
        let widgets = operations["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0].as_str().unwrap();
        assert_eq!(widgets.matches("\"annotations\"").count(), alarms.len(), "one graph per alarm");
    }

    #[test]
    fn the_database_users_task_alone_reads_the_master_secret() {
        let stacks = stacks(&default_config());
        let compute = stacks["Compute"].to_string();
        assert!(!compute.contains("MasterUserSecret"), "no service reads the rotated master secret");
        let task = &stacks["Operations"]["DatabaseUsers"]["Properties"];
        let container = &task["ContainerDefinitions"][0];
        assert_eq!(container["Secrets"].as_array().unwrap().len(), 2, "PGUSER and PGPASSWORD");
        assert!(container["Command"][4].as_str().unwrap().contains("GRANT rds_iam TO integration_app"));
        for id in ["IntegrationServiceTaskRoleConnectAsIntegrationApp", "WorkerServiceTaskRoleConnectAsIntegrationApp"]
        {
            let policy = &stacks["Compute"][id]["Properties"]["PolicyDocument"]["Statement"][0];
            assert_eq!(policy["Action"], json!(["rds-db:connect"]), "{id}");
            assert!(policy["Resource"].to_string().contains("dbuser:${DbiResourceId}/integration_app"), "{id}");
        }
    }
}
