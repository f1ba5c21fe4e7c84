//! The data stack of a region: a customer-managed key, PostgreSQL, Redis with its AUTH token, the work
//! queue, and the document, audit-log and access-log buckets.
//!
//! Stateful resources live here, apart from the stateless network and compute stacks, so that those can
//! be replaced freely. Bucket names are deterministic (app, purpose, account, region), so that the
//! disaster-recovery region can name them for replication.

use super::security::SecurityGroups;
use super::{add_region_mapping, PlatformError};
use crate::config::{RegionConfig, RegionRole};
use crate::construct::App;
use crate::constructs::data::{
    AccessLogs, Bucket, BucketProps, PostgresDatabase, PostgresProps, Queue, QueueProps, RedisCluster, RedisProps,
    Secret,
};
use crate::constructs::kms::EncryptionKey;
use crate::constructs::logs;
use crate::constructs::network::{SubnetTier, Vpc};
use crate::template::Value;

/// Days access logs are kept.
const ACCESS_LOG_DAYS: i64 = 365;
/// Days noncurrent document versions are kept.
const NONCURRENT_VERSION_DAYS: i64 = 90;

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
}

/// The database the applications use.
pub const DATABASE_NAME: &str = "integration";

/// The deterministic name of the platform's bucket for `purpose` in `region`, as an `Fn::Sub` string
/// (it holds the account ID), so that callers can add to it.
pub fn bucket_name(app_name: &str, purpose: &str, region: &str) -> String {
    format!("{app_name}-{purpose}-${{AWS::AccountId}}-{region}")
}

/// Builds the data tier of `region` (which has one) into the stack `stack_name`.
pub(super) fn build(
    app: &mut App,
    stack_name: &str,
    app_name: &str,
    vpc: &Vpc,
    groups: &SecurityGroups,
    region: &RegionConfig,
    key_path: &str,
) -> Result<DataTier, PlatformError> {
    let config = region.data.as_ref().expect("the caller builds the data tier of regions that have one");
    // The primary region's CloudFront distribution logs into this region's access-log bucket.
    let cloudfront_logs = region.role == RegionRole::Primary && region.compute.is_some();
    let stack = app.stack_mut(stack_name).expect("the data stack exists");
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
    // The compute tier's log groups are encrypted with this key too, and CloudWatch Logs uses a key only
    // when its key policy says so.
    let key = EncryptionKey::new(
        &mut root,
        "DataKey",
        &format!("Encrypts the data tier of {stack_name} and its region's service logs"),
        vec![logs::key_grant()],
    )?;
    let bucket_name = |purpose: &str| Value::sub(bucket_name(app_name, purpose, &region.region));

    let access_logs = Bucket::access_log_bucket(
        &mut root,
        "AccessLogsBucket",
        bucket_name("access-logs"),
        ACCESS_LOG_DAYS,
        Some(Value::find_in_map(LOAD_BALANCER_ACCOUNTS, Value::region(), "AccountId")),
        cloudfront_logs,
    )?;
    let documents = Bucket::new(
        &mut root,
        "DocumentsBucket",
        &key,
        BucketProps {
            name: bucket_name("documents"),
            noncurrent_version_days: NONCURRENT_VERSION_DAYS,
            object_lock_days: None,
            access_logs: Some(AccessLogs { bucket: &access_logs, prefix: "documents/".into() }),
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
            access_logs: Some(AccessLogs { bucket: &access_logs, prefix: "audit-logs/".into() }),
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
    let cache_auth_token =
        Secret::generated(&mut root, "CacheAuthToken", &format!("Redis AUTH token of {stack_name}"), &key, 64)?;
    let isolated = vpc.subnet_ids(SubnetTier::Isolated);
    let cache = RedisCluster::new(
        &mut root,
        "Cache",
        &key,
        &cache_auth_token,
        RedisProps {
            engine_version: config.redis.engine_version.clone(),
            node_type: config.redis.node_type.clone(),
            shards: config.redis.shards,
            replicas_per_shard: config.redis.replicas_per_shard,
            snapshot_retention_days: config.redis.snapshot_retention_days,
            subnet_ids: isolated.clone(),
            security_group_ids: vec![groups.cache.group_id()],
        },
    )?;
    let database = PostgresDatabase::new(
        &mut root,
        "Database",
        &key,
        PostgresProps {
            engine_version: config.postgres.engine_version.clone(),
            instance_class: config.postgres.instance_class.clone(),
            allocated_storage_gib: config.postgres.allocated_storage_gib,
            max_allocated_storage_gib: config.postgres.allocated_storage_gib * 5,
            backup_retention_days: config.postgres.backup_retention_days,
            database_name: DATABASE_NAME.into(),
            master_username: "platform_admin".into(),
            subnet_ids: isolated,
            security_group_ids: vec![groups.database.group_id()],
        },
    )?;
    Ok(DataTier { key, database, cache, cache_auth_token, queue, documents, audit_logs, access_logs })
}
