//! The platform configuration: what `stacks/platform.yaml` may say.
//!
//! Every struct denies unknown fields, so a misspelt key is an error at its line instead of a silently
//! ignored setting. Every default is the one the reference platform uses.

use indexmap::IndexMap;
use ipnet::Ipv4Net;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlatformConfig {
    /// The app name: lower-case letters, digits and '-'. Stack names start with it in PascalCase
    /// (`integration-platform` gives `IntegrationPlatform-Primary-Network`).
    pub app: String,
    /// Tags added to every stack, beside the `app` and `region-role` tags the platform sets itself.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub tags: IndexMap<String, String>,
    /// One entry per region role: exactly one `primary`, and at most one `disaster-recovery`.
    pub regions: Vec<RegionConfig>,
    /// The release pipeline, in the primary region, which needs a compute tier there. Default: none;
    /// images then change only through the manifest's deploy commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<super::delivery::DeliveryConfig>,
}

/// What a region does for the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RegionRole {
    /// Serves traffic.
    Primary,
    /// The warm standby that takes over when the primary region fails.
    DisasterRecovery,
}

impl RegionRole {
    /// The value of the `region-role` tag.
    pub fn tag_value(self) -> &'static str {
        match self {
            RegionRole::Primary => "primary",
            RegionRole::DisasterRecovery => "disaster-recovery",
        }
    }

    /// The role's segment in stack names.
    pub fn stack_segment(self) -> &'static str {
        match self {
            RegionRole::Primary => "Primary",
            RegionRole::DisasterRecovery => "DisasterRecovery",
        }
    }
}

/// One region of the platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(transform = super::regions::limit_zones_by_region)]
pub struct RegionConfig {
    /// The region's role.
    pub role: RegionRole,
    /// The AWS region code, such as `us-east-1`.
    pub region: String,
    /// The region's network.
    pub network: NetworkConfig,
    /// The data tier (PostgreSQL, Redis, queue, buckets), or none. The primary region has it; the
    /// disaster-recovery side of the data tier comes with the DR wiring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataConfig>,
    /// The compute tier (ECS Fargate services, load balancers, blue/green deploys), or none. It needs the
    /// data tier of the same region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<super::compute::ComputeConfig>,
    /// The alarm topic, its subscribers and the alarm thresholds. Required where a data tier is.
    #[serde(default)]
    pub monitoring: super::monitoring::MonitoringConfig,
    /// A warm standby of the primary (disaster-recovery role only): a read replica of its database, a
    /// cache of its own, and its services at standby size behind their own load balancers, ready to
    /// take over. Without it the recovery region holds the replicated buckets and a queue only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standby: Option<StandbyConfig>,
}

/// The warm standby of a disaster-recovery region: the primary's data and compute tiers, copied from
/// the primary's config, with the services running at standby size until a failover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StandbyConfig {
    /// Tasks each service runs while standing by (1 to 10), and the floor of its autoscaling until
    /// the failover raises it to the primary's. The ceiling is the primary's. Default: 1.
    #[serde(default = "default_standby_tasks")]
    pub tasks: i64,
    /// Seconds the database replica may lag behind the primary before its alarm fires: from 60 to half
    /// the recovery point objective. Default: 300.
    #[serde(default = "default_replica_lag_seconds")]
    pub replica_lag_alarm_seconds: i64,
    /// The recovery point objective: minutes of writes a failover may lose (15 or more: S3 Replication
    /// Time Control's bound). Default: 15.
    #[serde(default = "default_rpo_minutes")]
    pub rpo_minutes: i64,
    /// The recovery time objective: minutes from the decision to fail over to serving from the standby;
    /// the runbook's step budgets must fit in it. Default: 30.
    #[serde(default = "default_rto_minutes")]
    pub rto_minutes: i64,
    /// Whether the standby's Redis joins the primary's in a Global Datastore (a read-only copy kept
    /// within about a second, promoted on failover) instead of being a cache of its own that starts
    /// cold. It costs a second full cluster kept in step, pins both to one engine version and node
    /// type, and adds a promotion to the failover; nothing in the cache is a record. Default: false.
    #[serde(default)]
    pub global_datastore: bool,
}

impl Default for StandbyConfig {
    fn default() -> Self {
        Self {
            tasks: default_standby_tasks(),
            replica_lag_alarm_seconds: default_replica_lag_seconds(),
            rpo_minutes: default_rpo_minutes(),
            rto_minutes: default_rto_minutes(),
            global_datastore: false,
        }
    }
}

fn default_rpo_minutes() -> i64 {
    15
}

fn default_rto_minutes() -> i64 {
    30
}

fn default_standby_tasks() -> i64 {
    1
}

fn default_replica_lag_seconds() -> i64 {
    300
}

/// The data tier of a region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataConfig {
    /// RDS PostgreSQL.
    #[serde(default)]
    pub postgres: PostgresConfig,
    /// ElastiCache Redis.
    #[serde(default)]
    pub redis: RedisConfig,
    /// The work queue.
    #[serde(default)]
    pub queue: QueueConfig,
    /// Days the audit-log bucket's Object Lock (compliance mode) keeps each record. Default: 2557 (7 years).
    #[serde(default = "default_audit_retention_days")]
    pub audit_retention_days: i64,
}

fn default_audit_retention_days() -> i64 {
    2557
}

/// RDS PostgreSQL settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresConfig {
    /// The engine version. Default: 17.11.
    #[serde(default = "default_postgres_version")]
    pub engine_version: String,
    /// The instance class. Default: db.r6g.large.
    #[serde(default = "default_instance_class")]
    pub instance_class: String,
    /// Initial storage in GiB (20 to 65536). Default: 100.
    #[serde(default = "default_allocated_storage", rename = "allocatedStorageGiB")]
    pub allocated_storage_gib: i64,
    /// Days automated backups are kept (7 to 35). Default: 7.
    #[serde(default = "default_backup_retention")]
    pub backup_retention_days: i64,
    /// Days between rotations of the master password (1 to 365). Default: 30.
    #[serde(default = "default_secret_rotation_days")]
    pub secret_rotation_days: i64,
}

fn default_secret_rotation_days() -> i64 {
    30
}

impl Default for PostgresConfig {
    fn default() -> Self {
        Self {
            engine_version: default_postgres_version(),
            instance_class: default_instance_class(),
            allocated_storage_gib: default_allocated_storage(),
            backup_retention_days: default_backup_retention(),
            secret_rotation_days: default_secret_rotation_days(),
        }
    }
}

fn default_postgres_version() -> String {
    "17.11".to_owned()
}

fn default_instance_class() -> String {
    "db.r6g.large".to_owned()
}

fn default_allocated_storage() -> i64 {
    100
}

fn default_backup_retention() -> i64 {
    7
}

/// ElastiCache Redis settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedisConfig {
    /// The engine version. Default: 7.1.
    #[serde(default = "default_redis_version")]
    pub engine_version: String,
    /// The node type. Default: cache.r6g.large.
    #[serde(default = "default_node_type")]
    pub node_type: String,
    /// Shards (1 to 500); more than one turns cluster mode on. Default: 1.
    #[serde(default = "one")]
    pub shards: i64,
    /// Replicas per shard (1 to 5; at least one for Multi-AZ failover). Default: 1.
    #[serde(default = "one")]
    pub replicas_per_shard: i64,
    /// Days daily snapshots are kept (1 to 35). Default: 7.
    #[serde(default = "default_backup_retention")]
    pub snapshot_retention_days: i64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            engine_version: default_redis_version(),
            node_type: default_node_type(),
            shards: 1,
            replicas_per_shard: 1,
            snapshot_retention_days: default_backup_retention(),
        }
    }
}

fn default_redis_version() -> String {
    "7.1".to_owned()
}

fn default_node_type() -> String {
    "cache.r6g.large".to_owned()
}

fn one() -> i64 {
    1
}

/// The work queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueueConfig {
    /// Receives before a message moves to the dead-letter queue (1 to 1000). Default: 5.
    #[serde(default = "default_max_receive_count")]
    pub max_receive_count: i64,
    /// Seconds a received message stays invisible to other workers (0 to 43200). Default: 60.
    #[serde(default = "default_visibility_timeout")]
    pub visibility_timeout_seconds: i64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            max_receive_count: default_max_receive_count(),
            visibility_timeout_seconds: default_visibility_timeout(),
        }
    }
}

fn default_max_receive_count() -> i64 {
    5
}

fn default_visibility_timeout() -> i64 {
    60
}

/// The VPC of one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkConfig {
    /// The VPC's IPv4 CIDR block, from /16 to /28. VPCs of different regions must not overlap, so that
    /// they can be peered for disaster recovery.
    #[schemars(with = "String")]
    pub vpc_cidr: Ipv4Net,
    /// How many availability zones the subnets span (2 to 6), at most as many as the region offers an
    /// account (us-east-1: 6, us-west-2: 4, us-west-1: 2, most others: 3; the schema says so per region,
    /// and synth explains it). Default: 3.
    #[serde(default = "default_az_count")]
    #[schemars(range(min = 2, max = 6))]
    pub az_count: u8,
    /// One NAT gateway per AZ (resilient to an AZ outage) or a single one (cheaper). Default: `per-az`.
    #[serde(default)]
    pub nat_gateways: NatGateways,
    /// The three subnet tiers.
    #[serde(default)]
    pub subnets: SubnetTiersConfig,
    /// VPC flow logs.
    #[serde(default)]
    pub flow_logs: FlowLogsConfig,
    /// The endpoints stack: an S3 gateway endpoint and interface endpoints for ECR, CloudWatch Logs,
    /// Secrets Manager, SQS and KMS, so that tasks reach AWS without leaving the VPC. Default: `true`.
    /// A region with a compute tier needs them (its task groups have no other way out to AWS); a
    /// network-only region (a pilot-light DR region) can save their hourly cost.
    #[serde(default = "default_endpoints")]
    pub endpoints: bool,
}

fn default_az_count() -> u8 {
    3
}

fn default_endpoints() -> bool {
    true
}

/// How many NAT gateways the VPC runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NatGateways {
    /// One NAT gateway in each AZ; each private-app subnet routes through its own AZ's gateway.
    #[default]
    PerAz,
    /// One NAT gateway in the first AZ for all private-app subnets.
    Single,
}

/// The subnet tiers of a VPC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubnetTiersConfig {
    /// Public subnets: load balancers and NAT gateways. Default: /24 per AZ.
    #[serde(default = "SubnetTierConfig::public")]
    pub public: SubnetTierConfig,
    /// Private subnets with egress through NAT: the Fargate tasks. Default: /20 per AZ.
    #[serde(default = "SubnetTierConfig::private_app")]
    pub private_app: SubnetTierConfig,
    /// Isolated subnets with no route out: the database and the cache. Default: /24 per AZ.
    #[serde(default = "SubnetTierConfig::isolated")]
    pub isolated: SubnetTierConfig,
}

impl Default for SubnetTiersConfig {
    fn default() -> Self {
        Self {
            public: SubnetTierConfig::public(),
            private_app: SubnetTierConfig::private_app(),
            isolated: SubnetTierConfig::isolated(),
        }
    }
}

/// The size, or the explicit blocks, of one subnet tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubnetTierConfig {
    /// The prefix length of each subnet (16 to 28), when the blocks are computed from the VPC CIDR.
    #[schemars(range(min = 16, max = 28))]
    pub prefix_length: u8,
    /// Explicit blocks, one per AZ in AZ order, instead of computed ones. Each must lie in the VPC
    /// CIDR and have `prefixLength`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<String>>")]
    pub cidrs: Option<Vec<Ipv4Net>>,
}

impl SubnetTierConfig {
    fn sized(prefix_length: u8) -> Self {
        Self { prefix_length, cidrs: None }
    }

    fn public() -> Self {
        Self::sized(24)
    }

    fn private_app() -> Self {
        Self::sized(20)
    }

    fn isolated() -> Self {
        Self::sized(24)
    }
}

/// VPC flow logs to an encrypted CloudWatch Logs group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlowLogsConfig {
    /// How long the log group keeps records, in days; one of the values CloudWatch Logs accepts, and at
    /// least 365 (checkov CKV_AWS_338). Default: 365.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
    /// Which traffic to record. Default: `ALL`.
    #[serde(default)]
    pub traffic_type: TrafficType,
}

impl Default for FlowLogsConfig {
    fn default() -> Self {
        Self { retention_days: default_retention_days(), traffic_type: TrafficType::default() }
    }
}

fn default_retention_days() -> u32 {
    365
}

/// The traffic a flow log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum TrafficType {
    /// Accepted and rejected traffic.
    #[default]
    All,
    /// Accepted traffic only.
    Accept,
    /// Rejected traffic only.
    Reject,
}

impl TrafficType {
    /// The value CloudFormation expects.
    pub fn as_str(self) -> &'static str {
        match self {
            TrafficType::All => "ALL",
            TrafficType::Accept => "ACCEPT",
            TrafficType::Reject => "REJECT",
        }
    }
}
