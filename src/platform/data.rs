//! The data stack of a region: a customer-managed key, PostgreSQL, Redis with its users (or, in a
//! Global Datastore, its AUTH token), the work queue, and the document, audit-log and access-log
//! buckets.
//!
//! Stateful resources live here, apart from the stateless network and compute stacks, so that those can
//! be replaced freely. Bucket names are deterministic (app, purpose, account, region), so that the
//! disaster-recovery region can name them for replication.

use super::cache::{cache_token_props, cache_users, CacheLogins, GLOBAL_TOKEN_REASON};
use super::names::{bucket_name, cache_auth_token_name, database_master_secret_name};
use super::security::SecurityGroups;
use super::storage::RecoveryStorage;
use super::support::add_region_mapping;
use super::PlatformError;
use crate::cfn::prelude::*;
use crate::config::{DataConfig, RegionConfig, RegionRole, StandbyConfig};
use crate::construct::{Scope, Stack};
use crate::constructs::data::{
    AccessLogBucketProps, AccessLogs, Bucket, BucketProps, GeneratedCredentials, MasterCredentials, PostgresDatabase,
    PostgresProps, Queue, QueueProps, RedisAuth, RedisCluster, RedisProps, ReplicaProps, SecondaryProps, Secret,
    SecretProps,
};
use crate::constructs::kms::{EncryptionKey, KeyProps};
use crate::constructs::network::{SubnetSelection, Vpc};
use crate::template::Value;

/// Days access logs are kept.
const ACCESS_LOG_DAYS: i64 = 365;
/// Days noncurrent document versions are kept.
const NONCURRENT_VERSION_DAYS: i64 = 90;

/// The mapping of the account through which Elastic Load Balancing delivers access logs, per region.
const LOAD_BALANCER_ACCOUNTS: &str = "ElasticLoadBalancingLogAccounts";

/// Adds the per-region table of Elastic Load Balancing's log delivery accounts to `stack`, and returns
/// the account of the stack's region, for an access-log bucket's policy; `key_path` is the region's key
/// path in the config, for the error when the region is not in the table.
pub(super) fn load_balancer_log_account(stack: &Stack, key_path: &str) -> Result<Value<String>, PlatformError> {
    add_region_mapping(
        stack,
        LOAD_BALANCER_ACCOUNTS,
        "AccountId",
        LOAD_BALANCER_LOG_ACCOUNTS,
        key_path,
        "Elastic Load Balancing log delivery account",
    )?;
    Ok(Value::find_in_map(LOAD_BALANCER_ACCOUNTS, Value::region(), "AccountId"))
}

/// The regional accounts Elastic Load Balancing writes access logs from (regions opened before
/// August 2022 need this account in the bucket policy).
pub const LOAD_BALANCER_LOG_ACCOUNTS: &[(&str, &str)] = &[
    ("ap-northeast-1", "582318560864"),
    ("ap-southeast-1", "114774131450"),
    ("ap-southeast-2", "783225319266"),
    ("ca-central-1", "985666609251"),
    ("eu-central-1", "054676820928"),
    ("eu-north-1", "897822967062"),
    ("eu-west-1", "156460612806"),
    ("eu-west-2", "652711504416"),
    ("eu-west-3", "009996457667"),
    ("us-east-1", "127311923021"),
    ("us-east-2", "033677994240"),
    ("us-west-1", "027434742980"),
    ("us-west-2", "797873946194"),
];

/// What later tiers need from the data stack.
#[derive(Debug, Clone)]
pub struct DataTier {
    /// The data key.
    pub key: EncryptionKey,
    /// PostgreSQL.
    pub database: PostgresDatabase,
    /// Redis.
    pub cache: RedisCluster,
    /// What Kong and the applications log in to Redis with.
    pub cache_logins: CacheLogins,
    /// The work queue.
    pub queue: Queue,
    /// Documents.
    pub documents: Bucket,
    /// Audit logs, under Object Lock.
    pub audit_logs: Bucket,
    /// The access-log bucket, where the load balancers and (in the primary region) CloudFront log too.
    pub access_logs: Bucket,
    /// Where the documents and audit logs replicate to, if anywhere.
    pub(super) replicas: Option<RecoveryStorage>,
    /// When the database is a replica of another region's: the lag, in seconds, its alarm fires at.
    pub(super) replica_lag_alarm_seconds: Option<f64>,
}

/// Where the primary's data tier recovers to: the recovery region's storage, if any, and whether the
/// standby's Redis joins this one's in a Global Datastore.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Recovery<'a> {
    pub storage: Option<&'a RecoveryStorage>,
    pub global_cache: bool,
}

/// The database the applications use.
pub const DATABASE_NAME: &str = "integration";

/// Builds the data tier of `region` (which has one) into `stack`.
pub(super) fn build(
    stack: &Stack,
    app_name: &str,
    vpc: &Vpc,
    groups: &SecurityGroups,
    region: &RegionConfig,
    key_path: &str,
    recovery: Recovery<'_>,
) -> Result<DataTier, PlatformError> {
    let Recovery { storage: replicas, global_cache } = recovery;
    let config = region.data.as_ref().expect("the caller builds the data tier of regions that have one");
    // The primary region's CloudFront distribution logs into this region's access-log bucket.
    let cloudfront_delivery = region.role == RegionRole::Primary && region.compute.is_some();
    let stack_name = stack.name();
    let load_balancer_account = load_balancer_log_account(stack, key_path)?;
    stack.set_description(format!(
        "Data tier of {} ({}): PostgreSQL Multi-AZ, Redis, the work queue with its dead-letter queue, and the \
         document and audit-log buckets, all encrypted with one customer-managed key.",
        stack.name(),
        stack.region()
    ));
    let mut root = stack.root();
    // The compute tier's log groups are encrypted with this key too: each adds CloudWatch Logs' grant.
    let key_props = KeyProps {
        description: Some(format!("Encrypts the data tier of {stack_name} and its region's service logs")),
        grants: vec![],
    };
    let key = EncryptionKey::new(&mut root, "DataKey", key_props)?;
    let stores_props = StoresProps {
        app_name,
        region: &region.region,
        config,
        load_balancer_account: Some(load_balancer_account),
        cloudfront_delivery,
        replicas,
    };
    let Stores { access_logs, documents, audit_logs, queue } = stores(&mut root, &key, stores_props)?;
    // A Global Datastore's secondary takes the primary's AUTH token, which its tasks read from the
    // token's replica in their region.
    let token_replicas: Vec<(String, EncryptionKey)> = match (global_cache, replicas) {
        (true, Some(replicas)) => vec![(replicas.region.clone(), replicas.key.clone())],
        _ => Vec::new(),
    };
    let token_props = SecretProps {
        name: global_cache.then(|| cache_auth_token_name(app_name)),
        replica_regions: token_replicas.iter().map(|(region, _)| region.clone()).collect(),
        replica_keys: token_replicas,
        ..cache_token_props(stack_name)
    };
    let mut cache_props = redis_props(config, groups);
    let (auth, cache_logins) = if global_cache {
        cache_props.global_suffix = Some(format!("{app_name}-cache"));
        let token = Secret::new(&mut root, "CacheAuthToken", &key, token_props)?;
        (
            RedisAuth::Token { token: Box::new(token.clone()), because: GLOBAL_TOKEN_REASON.to_owned() },
            CacheLogins::token(&token),
        )
    } else {
        cache_users(&mut root, &key, app_name, stack_name)?
    };
    let cache = RedisCluster::new(&mut root, "Cache", vpc, &key, &auth, cache_props)?;
    let database = PostgresDatabase::new(
        &mut root,
        "Database",
        vpc,
        &key,
        PostgresProps {
            engine_version: config.postgres.engine_version.clone(),
            instance_class: config.postgres.instance_class.clone(),
            allocated_storage_gib: config.postgres.allocated_storage_gib,
            max_allocated_storage_gib: config.postgres.allocated_storage_gib * 5,
            backup_retention_days: config.postgres.backup_retention_days,
            database_name: DATABASE_NAME.into(),
            master_username: "platform_admin".into(),
            subnets: SubnetSelection::ISOLATED,
            security_groups: vec![groups.database.clone()],
            // A secret of its own, so that eu-west-1 can hold a replica of the instance and of the
            // secret (RDS refuses a cross-region replica of an instance whose password it manages).
            credentials: MasterCredentials::Generated(Box::new(GeneratedCredentials {
                secret_name: Some(database_master_secret_name(app_name)),
                replica_keys: replicas.iter().map(|replicas| (replicas.region.clone(), replicas.key.clone())).collect(),
                rotation_days: config.postgres.secret_rotation_days,
                rotation_subnets: SubnetSelection::PRIVATE_APP,
                rotation_security_group: groups.rotation.clone(),
            })),
        },
    )?;
    let replicas = replicas.cloned();
    Ok(DataTier {
        key,
        database,
        cache,
        cache_logins,
        queue,
        documents,
        audit_logs,
        access_logs,
        replicas,
        replica_lag_alarm_seconds: None,
    })
}

/// What a standby's data tier is made of beside its own stack: the primary's data config and
/// database, the standby's settings, and the recovery region's storage.
#[derive(Debug, Clone, Copy)]
pub(super) struct Standing<'a> {
    pub primary: &'a DataConfig,
    pub source: &'a DataTier,
    pub standby: &'a StandbyConfig,
    pub storage: &'a RecoveryStorage,
}

/// Builds the data stack of a warm standby (`<App>-DisasterRecovery-Data`): a cross-region read
/// replica of the primary's database and a Redis of its own (the cache and the rate limits are rebuilt
/// on failover, not replicated) or, with `standby.globalDatastore`, the secondary of the primary's
/// Global Datastore, all under the recovery region's key; the buckets, queue and key are the recovery
/// region's storage.
pub(super) fn standby(
    stack: &Stack,
    app_name: &str,
    vpc: &Vpc,
    groups: &SecurityGroups,
    standing: Standing<'_>,
) -> Result<DataTier, PlatformError> {
    let Standing { primary, source, standby, storage } = standing;
    let stack_name = stack.name();
    stack.set_description(format!(
        "Standby data tier of {stack_name} ({}): a read replica of the primary region's PostgreSQL and a Redis \
         of its own (or the secondary of the primary's Global Datastore), encrypted with the region's key.",
        stack.region()
    ));
    let mut root = stack.root();
    let key = &storage.key;
    let (cache, cache_logins) = match source.cache.global() {
        // The secondary of the primary's Global Datastore, with the primary's token (its replica here).
        Some(global) if standby.global_datastore => {
            let props = SecondaryProps {
                global_id: global.attr_global_replication_group_id(),
                replicas_per_shard: primary.redis.replicas_per_shard,
                clustered: primary.redis.shards > 1,
                snapshot_retention_days: primary.redis.snapshot_retention_days,
                subnets: SubnetSelection::ISOLATED,
                security_groups: vec![groups.cache.clone()],
            };
            let cache = RedisCluster::secondary(&mut root, "Cache", vpc, key, props)?;
            (cache, CacheLogins::token(&Secret::by_name(&cache_auth_token_name(app_name), key)))
        }
        _ => {
            let (auth, logins) = cache_users(&mut root, key, app_name, stack_name)?;
            let cache = RedisCluster::new(&mut root, "Cache", vpc, key, &auth, redis_props(primary, groups))?;
            (cache, logins)
        }
    };
    let database = PostgresDatabase::replica(
        &mut root,
        "Database",
        vpc,
        key,
        ReplicaProps {
            source_arn: source.database.arn(),
            engine_version: primary.postgres.engine_version.clone(),
            instance_class: primary.postgres.instance_class.clone(),
            max_allocated_storage_gib: primary.postgres.allocated_storage_gib * 5,
            subnets: SubnetSelection::ISOLATED,
            security_groups: vec![groups.database.clone()],
        },
    )?;
    Ok(DataTier {
        key: key.clone(),
        database,
        cache,
        cache_logins,
        queue: storage.queue.clone(),
        documents: storage.documents.clone(),
        audit_logs: storage.audit_logs.clone(),
        access_logs: storage.access_logs.clone(),
        replicas: None,
        replica_lag_alarm_seconds: Some(standby.replica_lag_alarm_seconds as f64),
    })
}

/// The AUTH token of a stack's Redis: 64 letters and digits.
/// The buckets and the queue of a region's data: built alike for the primary's data tier, whose
/// buckets replicate, and for the recovery region's storage, which holds the replicas under the same
/// deterministic names.
#[derive(Debug, Clone)]
pub(super) struct Stores {
    pub access_logs: Bucket,
    pub documents: Bucket,
    pub audit_logs: Bucket,
    pub queue: Queue,
}

/// How a region's [`Stores`] are built.
#[derive(Debug, Clone)]
pub(super) struct StoresProps<'a> {
    pub app_name: &'a str,
    /// The region the buckets are named after.
    pub region: &'a str,
    /// The primary's data config: the audit logs' retention and the queue.
    pub config: &'a DataConfig,
    /// Elastic Load Balancing's log delivery account, when load balancers log to the access-log bucket.
    pub load_balancer_account: Option<Value<String>>,
    /// Whether CloudFront's standard logs go to the access-log bucket.
    pub cloudfront_delivery: bool,
    /// Where the documents and audit logs replicate to: the primary's buckets only.
    pub replicas: Option<&'a RecoveryStorage>,
}

/// Adds the access-log, documents and audit-log buckets (the audit logs under Object Lock for their
/// retention) and the work queue with its dead-letter queue, all but the access logs under `key`.
pub(super) fn stores(root: &mut Scope, key: &EncryptionKey, props: StoresProps<'_>) -> Result<Stores, PlatformError> {
    let StoresProps { app_name, region, config, load_balancer_account, cloudfront_delivery, replicas } = props;
    let name = |purpose: &str| Some(Value::sub(bucket_name(app_name, purpose, region)));
    let access_logs = Bucket::access_logs(
        root,
        "AccessLogsBucket",
        AccessLogBucketProps {
            name: name("access-logs"),
            expire_days: ACCESS_LOG_DAYS,
            load_balancer_account,
            cloudfront_delivery,
        },
    )?;
    let logs_under = |prefix: &str| Some(AccessLogs { bucket: access_logs.clone(), prefix: prefix.into() });
    let documents = Bucket::new(
        root,
        "DocumentsBucket",
        key,
        BucketProps {
            name: name("documents"),
            noncurrent_version_days: NONCURRENT_VERSION_DAYS,
            access_logs: logs_under("documents/"),
            replication: replicas.map(|replicas| replicas.replication(&replicas.documents)),
            ..BucketProps::default()
        },
    )?;
    let audit_logs = Bucket::new(
        root,
        "AuditLogsBucket",
        key,
        BucketProps {
            name: name("audit-logs"),
            noncurrent_version_days: config.audit_retention_days,
            object_lock_days: Some(config.audit_retention_days),
            access_logs: logs_under("audit-logs/"),
            replication: replicas.map(|replicas| replicas.replication(&replicas.audit_logs)),
            ..BucketProps::default()
        },
    )?;
    let queue = Queue::new(
        root,
        "WorkQueue",
        key,
        &QueueProps {
            max_receive_count: config.queue.max_receive_count,
            visibility_timeout_seconds: config.queue.visibility_timeout_seconds,
            ..QueueProps::default()
        },
    )?;
    Ok(Stores { access_logs, documents, audit_logs, queue })
}

/// The Redis of a region, as the primary's data config sizes it.
fn redis_props(config: &DataConfig, groups: &SecurityGroups) -> RedisProps {
    RedisProps {
        engine_version: config.redis.engine_version.clone(),
        node_type: config.redis.node_type.clone(),
        shards: config.redis.shards,
        replicas_per_shard: config.redis.replicas_per_shard,
        snapshot_retention_days: config.redis.snapshot_retention_days,
        subnets: SubnetSelection::ISOLATED,
        security_groups: vec![groups.cache.clone()],
        global_suffix: None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value as Json};

    use crate::platform::build;
    use crate::platform::test_support::default_config;

    const RECOVERY_DATA: &str = "IntegrationPlatform-DisasterRecovery-Data";

    fn synthesized() -> Vec<(String, String, Json)> {
        let app = build(&default_config()).unwrap().synth().unwrap();
        app.stacks.into_iter().map(|stack| (stack.name, stack.region, stack.template)).collect()
    }

    fn resources<'a>(stacks: &'a [(String, String, Json)], name: &str) -> &'a Json {
        &stacks.iter().find(|(stack, _, _)| stack == name).unwrap().2["Resources"]
    }

    /// The standby's database replicates the primary's: its source is the us-east-1 instance's ARN (read
    /// from the primary's data stack, which deploys first), and it is encrypted, with Performance
    /// Insights, under the eu-west-1 recovery key; the primary's master secret is replicated there under
    /// the same key.
    #[test]
    fn the_standby_database_is_a_replica_of_the_primary_under_a_key_of_its_region() {
        let stacks = synthesized();
        let order: Vec<&str> = stacks.iter().map(|(name, _, _)| name.as_str()).collect();
        let position = |name: &str| order.iter().position(|stack| *stack == name).unwrap();
        assert!(position("IntegrationPlatform-Primary-Data") < position(RECOVERY_DATA));
        assert!(position("IntegrationPlatform-DisasterRecovery-Network") < position(RECOVERY_DATA));
        assert_eq!(stacks[position(RECOVERY_DATA)].1, "eu-west-1");
        let replica = &resources(&stacks, RECOVERY_DATA)["Database"]["Properties"];
        assert_eq!(
            replica["SourceDBInstanceIdentifier"],
            json!({"Fn::GetStackOutput": {
                "StackName": "IntegrationPlatform-Primary-Data",
                "OutputName": "GetAttDatabaseDBInstanceArn",
                "Region": "us-east-1"
            }})
        );
        let recovery_key =
            json!({"Fn::ImportValue": "IntegrationPlatform-DisasterRecovery-Storage:GetAttRecoveryKeyArn"});
        assert_eq!(replica["KmsKeyId"], recovery_key);
        assert_eq!(replica["PerformanceInsightsKMSKeyId"], recovery_key);
        assert_eq!(replica["DBSubnetGroupName"], json!({"Ref": "DatabaseSubnetGroup"}));
        assert_eq!(replica["DBParameterGroupName"], json!({"Ref": "DatabaseParameterGroup"}));
        assert_eq!(replica["MonitoringRoleArn"], json!({"Fn::GetAtt": ["DatabaseMonitoringRole", "Arn"]}));
        assert_eq!(replica["EnablePerformanceInsights"], true);
        let primary = &resources(&stacks, "IntegrationPlatform-Primary-Data");
        assert!(primary["Database"]["Properties"].get("ManageMasterUserPassword").is_none());
        let secret_replica = &primary["DatabaseMasterSecret"]["Properties"]["ReplicaRegions"][0];
        assert_eq!(secret_replica["Region"], "eu-west-1");
        assert_eq!(secret_replica["KmsKeyId"]["Fn::GetStackOutput"]["OutputName"], "GetAttRecoveryKeyArn");
    }

    /// The standby's Redis is its own (the cache and rate limits are rebuilt, not replicated), with an
    /// AUTH token generated in eu-west-1 under the recovery key.
    #[test]
    fn the_standby_has_a_redis_of_its_own() {
        let stacks = synthesized();
        let data = resources(&stacks, RECOVERY_DATA);
        let cache = &data["Cache"]["Properties"];
        let recovery_key =
            json!({"Fn::ImportValue": "IntegrationPlatform-DisasterRecovery-Storage:GetAttRecoveryKeyArn"});
        assert_eq!(cache["KmsKeyId"], recovery_key);
        assert_eq!(cache["TransitEncryptionEnabled"], true);
        assert!(cache.get("GlobalReplicationGroupId").is_none());
        assert!(cache.get("AuthToken").is_none(), "its own users, as the primary's");
        assert_eq!(cache["UserGroupIds"], json!([{"Ref": "CacheUserGroup"}]));
        for password in ["CacheKongPassword", "CacheApplicationsPassword"] {
            assert_eq!(data[password]["Properties"]["KmsKeyId"], recovery_key, "{password}");
            assert!(data[password]["Properties"].get("ReplicaRegions").is_none(), "{password}");
        }
    }

    /// The replica's lag alarms well under the 15-minute recovery point, on a topic of its own region;
    /// a replica that reports no lag at all is not replicating, and alarms too.
    #[test]
    fn replica_lag_alarms_well_under_the_recovery_point() {
        let stacks = synthesized();
        let operations = resources(&stacks, "IntegrationPlatform-DisasterRecovery-Operations");
        let lag = &operations["DatabaseReplicaLagAlarm"]["Properties"];
        assert_eq!(lag["MetricName"], "ReplicaLag");
        assert_eq!(lag["Threshold"], 300.0);
        assert!(lag["Threshold"].as_f64().unwrap() * 3.0 <= 15.0 * 60.0, "well under 15 minutes");
        assert_eq!(lag["TreatMissingData"], "breaching");
        assert_eq!(lag["AlarmActions"], json!([{"Ref": "AlarmTopic"}]));
        assert_eq!(
            lag["Dimensions"][0]["Value"],
            json!({"Fn::ImportValue": "IntegrationPlatform-DisasterRecovery-Data:RefDatabase"})
        );
    }
}

#[cfg(test)]
mod global_datastore {
    use serde_json::{json, Value as Json};

    use crate::checks::{readiness, stack_templates};
    use crate::platform::build;
    use crate::platform::test_support::default_config;

    /// With `standby.globalDatastore`, the standby's Redis is a secondary of a Global Datastore the
    /// primary's group leads: it names the datastore (from the primary's stack, which deploys first),
    /// sets nothing ElastiCache takes from the datastore, and its tasks read the primary's AUTH token
    /// from the token's replica in eu-west-1, by name.
    #[test]
    fn the_standby_cache_joins_the_primarys_global_datastore() {
        let mut config = default_config();
        config.regions[1].standby.as_mut().unwrap().global_datastore = true;
        let app = build(&config).unwrap().synth().unwrap();
        let resources = |name: &str| -> &Json {
            &app.stacks.iter().find(|stack| stack.name == format!("IntegrationPlatform-{name}")).unwrap().template
                ["Resources"]
        };
        let primary = resources("Primary-Data");
        let global = &primary["CacheGlobal"]["Properties"];
        assert_eq!(
            global["Members"],
            json!([{"ReplicationGroupId": {"Ref": "Cache"}, "ReplicationGroupRegion": {"Ref": "AWS::Region"}, "Role": "PRIMARY"}])
        );
        let token = &primary["CacheAuthToken"]["Properties"];
        assert_eq!(token["Name"], "integration-platform/cache/auth-token");
        assert_eq!(token["ReplicaRegions"][0]["Region"], "eu-west-1");
        assert_eq!(token["ReplicaRegions"][0]["KmsKeyId"]["Fn::GetStackOutput"]["OutputName"], "GetAttRecoveryKeyArn");

        let standby = resources("DisasterRecovery-Data");
        let cache = &standby["Cache"]["Properties"];
        assert_eq!(
            cache["GlobalReplicationGroupId"],
            json!({"Fn::GetStackOutput": {
                "StackName": "IntegrationPlatform-Primary-Data",
                "OutputName": "GetAttCacheGlobalGlobalReplicationGroupId",
                "Region": "us-east-1"
            }})
        );
        for inherited in [
            "Engine",
            "EngineVersion",
            "CacheNodeType",
            "CacheParameterGroupName",
            "AuthToken",
            "TransitEncryptionEnabled",
            "AtRestEncryptionEnabled",
        ] {
            assert!(cache.get(inherited).is_none(), "{inherited} is the datastore's");
        }
        assert_eq!(
            cache["KmsKeyId"],
            json!({"Fn::ImportValue": "IntegrationPlatform-DisasterRecovery-Storage:GetAttRecoveryKeyArn"})
        );
        assert!(standby.get("CacheAuthToken").is_none(), "the token is the primary's");
        let gateway = resources("DisasterRecovery-Gateway");
        let kong = gateway.as_object().unwrap().values().find(|r| r["Type"] == "AWS::ECS::TaskDefinition").unwrap();
        let secrets = &kong["Properties"]["ContainerDefinitions"][0]["Secrets"];
        assert_eq!(secrets, &json!([{"Name": "REDIS_PASSWORD", "ValueFrom": "integration-platform/cache/auth-token"}]));
        // The deploy-readiness analysis finds the counterpart (the token's replica) and nothing wrong.
        assert_eq!(readiness::analyse(stack_templates(&app)), vec![]);
        let runbook = &app.artifacts.iter().find(|(path, _)| path.as_str() == "DR-RUNBOOK.md").unwrap().1;
        assert!(runbook.contains("aws elasticache disassociate-global-replication-group --region eu-west-1"));
    }
}
