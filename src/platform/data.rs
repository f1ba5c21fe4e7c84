//! The data stack of a region: a customer-managed key, PostgreSQL, Redis with its AUTH token, the work
//! queue, and the document, audit-log and access-log buckets.
//!
//! Stateful resources live here, apart from the stateless network and compute stacks, so that those can
//! be replaced freely. Bucket names are deterministic (app, purpose, account, region), so that the
//! disaster-recovery region can name them for replication.

use super::names::bucket_name;
use super::security::SecurityGroups;
use super::storage::RecoveryStorage;
use super::support::add_region_mapping;
use super::PlatformError;
use crate::config::{RegionConfig, RegionRole};
use crate::construct::Stack;
use crate::constructs::data::{
    AccessLogBucketProps, AccessLogs, Bucket, BucketProps, GeneratedCredentials, MasterCredentials, PostgresDatabase,
    PostgresProps, Queue, QueueProps, RedisCluster, RedisProps, Secret, SecretProps,
};
use crate::constructs::kms::{EncryptionKey, KeyProps};
use crate::constructs::network::{SubnetSelection, Vpc};
use crate::template::Value;

/// Days access logs are kept.
const ACCESS_LOG_DAYS: i64 = 365;
/// Days noncurrent document versions are kept.
pub(super) const NONCURRENT_VERSION_DAYS: i64 = 90;

/// The mapping of the account through which Elastic Load Balancing delivers access logs, per region.
const LOAD_BALANCER_ACCOUNTS: &str = "ElasticLoadBalancingLogAccounts";

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
    /// Redis's AUTH token.
    pub cache_auth_token: Secret,
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
    replicas: Option<&RecoveryStorage>,
) -> Result<DataTier, PlatformError> {
    let config = region.data.as_ref().expect("the caller builds the data tier of regions that have one");
    // The primary region's CloudFront distribution logs into this region's access-log bucket.
    let cloudfront_delivery = region.role == RegionRole::Primary && region.compute.is_some();
    let stack_name = stack.name();
    add_region_mapping(
        stack,
        LOAD_BALANCER_ACCOUNTS,
        "AccountId",
        LOAD_BALANCER_LOG_ACCOUNTS,
        key_path,
        "Elastic Load Balancing log delivery account",
    )?;
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
    let bucket_name = |purpose: &str| Some(Value::sub(bucket_name(app_name, purpose, &region.region)));

    let access_logs = Bucket::access_logs(
        &mut root,
        "AccessLogsBucket",
        AccessLogBucketProps {
            name: bucket_name("access-logs"),
            expire_days: ACCESS_LOG_DAYS,
            load_balancer_account: Some(Value::find_in_map(LOAD_BALANCER_ACCOUNTS, Value::region(), "AccountId")),
            cloudfront_delivery,
        },
    )?;
    let logs_under = |prefix: &str| Some(AccessLogs { bucket: access_logs.clone(), prefix: prefix.into() });
    let documents = Bucket::new(
        &mut root,
        "DocumentsBucket",
        &key,
        BucketProps {
            name: bucket_name("documents"),
            noncurrent_version_days: NONCURRENT_VERSION_DAYS,
            object_lock_days: None,
            access_logs: logs_under("documents/"),
            event_bridge: false,
            replication: replicas.map(|replicas| replicas.replication(&replicas.documents)),
        },
    )?;
    let audit_logs = Bucket::new(
        &mut root,
        "AuditLogsBucket",
        &key,
        BucketProps {
            name: bucket_name("audit-logs"),
            noncurrent_version_days: config.audit_retention_days,
            object_lock_days: Some(config.audit_retention_days),
            access_logs: logs_under("audit-logs/"),
            event_bridge: false,
            replication: replicas.map(|replicas| replicas.replication(&replicas.audit_logs)),
        },
    )?;
    let queue = Queue::new(
        &mut root,
        "WorkQueue",
        &key,
        &QueueProps {
            max_receive_count: config.queue.max_receive_count,
            visibility_timeout_seconds: config.queue.visibility_timeout_seconds,
            ..QueueProps::default()
        },
    )?;
    let token_props = SecretProps {
        description: Some(format!("Redis AUTH token of {stack_name}")),
        length: 64,
        ..SecretProps::default()
    };
    let cache_auth_token = Secret::new(&mut root, "CacheAuthToken", &key, token_props)?;
    let cache = RedisCluster::new(
        &mut root,
        "Cache",
        vpc,
        &key,
        &cache_auth_token,
        RedisProps {
            engine_version: config.redis.engine_version.clone(),
            node_type: config.redis.node_type.clone(),
            shards: config.redis.shards,
            replicas_per_shard: config.redis.replicas_per_shard,
            snapshot_retention_days: config.redis.snapshot_retention_days,
            subnets: SubnetSelection::ISOLATED,
            security_groups: vec![groups.cache.clone()],
        },
    )?;
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
            credentials: MasterCredentials::Generated(GeneratedCredentials {
                replica_keys: replicas.iter().map(|replicas| (replicas.region.clone(), replicas.key.clone())).collect(),
                rotation_days: config.postgres.secret_rotation_days,
                rotation_subnets: SubnetSelection::PRIVATE_APP,
                rotation_security_group: groups.rotation.clone(),
            }),
        },
    )?;
    let replicas = replicas.cloned();
    Ok(DataTier { key, database, cache, cache_auth_token, queue, documents, audit_logs, access_logs, replicas })
}
