//! ElastiCache Redis as a replication group.
//!
//! ## Secure defaults
//! - Multi-AZ with automatic failover; in the isolated subnets behind its security group.
//! - Encryption at rest with a customer-managed key (checkov CKV_AWS_29, CKV_AWS_191) and in transit
//!   (CKV_AWS_30), with an AUTH token (CKV_AWS_31) that Secrets Manager generates and CloudFormation
//!   passes by dynamic reference, so it never appears in the template.
//! - Daily snapshots kept `snapshot_retention_days`; minor version upgrades on.
//! - `DeletionPolicy` and `UpdateReplacePolicy` of `Snapshot`.
//!
//! One shard is a cluster-mode-disabled group (a primary and `replicas_per_shard` replicas); more shards
//! turn cluster mode on, with a parameter group that says so.

use super::secret::Secret;
use crate::cfn::elasticache;
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::kms::EncryptionKey;
use crate::template::{RemovalPolicy, Value};

/// The Redis port.
pub const REDIS_PORT: i64 = 6379;

/// How to build a [`RedisCluster`].
#[derive(Debug, Clone, PartialEq)]
pub struct RedisProps {
    /// The Redis engine version, such as `7.1`; its major version picks the parameter group family.
    pub engine_version: String,
    /// The node type, such as `cache.r6g.large`.
    pub node_type: String,
    /// Shards (node groups); 1 keeps cluster mode off.
    pub shards: i64,
    /// Replicas per shard (1 or more, for Multi-AZ failover).
    pub replicas_per_shard: i64,
    /// Days daily snapshots are kept.
    pub snapshot_retention_days: i64,
    /// The subnets of the subnet group (the isolated tier).
    pub subnet_ids: Vec<Value<String>>,
    /// The security groups of the nodes.
    pub security_group_ids: Vec<Value<String>>,
}

/// A Redis replication group with its subnet and parameter groups.
#[derive(Debug, Clone)]
pub struct RedisCluster {
    resource: ResourceRef<elasticache::ReplicationGroup>,
    clustered: bool,
}

impl RedisCluster {
    /// Adds the replication group under `id`, encrypted with `key` and protected by `auth_token`.
    pub fn new(
        scope: &mut Scope<'_>,
        id: &str,
        key: &EncryptionKey,
        auth_token: &Secret,
        props: RedisProps,
    ) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        let major = props.engine_version.split('.').next().unwrap_or(&props.engine_version).to_owned();
        let clustered = props.shards > 1;
        let subnet_group = scope.add(
            "SubnetGroup",
            elasticache::SubnetGroup::new(format!("Isolated subnets of {name}"), props.subnet_ids),
        )?;
        let mut parameters = elasticache::ParameterGroup::new(format!("redis{major}"), format!("Parameters of {name}"));
        if clustered {
            parameters =
                parameters.properties([("cluster-enabled".to_owned(), Value::from("yes"))].into_iter().collect());
        }
        let parameter_group = scope.add("ParameterGroup", parameters)?;
        let mut group = elasticache::ReplicationGroup::new(format!("Redis cache and rate limits of {name}"))
            .engine("redis")
            .engine_version(props.engine_version.as_str())
            .cache_node_type(props.node_type.as_str())
            .port(REDIS_PORT)
            .multi_az_enabled(true)
            .automatic_failover_enabled(true)
            .at_rest_encryption_enabled(true)
            .kms_key_id(key.arn())
            .transit_encryption_enabled(true)
            .auth_token(auth_token.value())
            .cache_subnet_group_name(subnet_group.ref_value())
            .cache_parameter_group_name(parameter_group.ref_value())
            .security_group_ids(props.security_group_ids)
            .snapshot_retention_limit(props.snapshot_retention_days)
            .auto_minor_version_upgrade(true);
        group = if clustered {
            group.num_node_groups(props.shards).replicas_per_node_group(props.replicas_per_shard)
        } else {
            group.num_cache_clusters(1 + props.replicas_per_shard)
        };
        let resource = scope.add_with("Resource", group, |entry| entry.removal_policy(RemovalPolicy::Snapshot))?;
        Ok(Self { resource, clustered })
    }

    /// The replication group resource.
    pub fn resource(&self) -> &ResourceRef<elasticache::ReplicationGroup> {
        &self.resource
    }

    /// The address clients connect to: the configuration endpoint in cluster mode, else the primary.
    pub fn endpoint_address(&self) -> Value<String> {
        if self.clustered {
            self.resource.attr_configuration_end_point_address()
        } else {
            self.resource.attr_primary_end_point_address()
        }
    }
}
