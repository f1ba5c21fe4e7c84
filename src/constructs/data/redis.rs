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
use crate::constructs::network::{Connectable, Connections, Port, SecurityGroup, SubnetSelection, Vpc};
use crate::template::{RemovalPolicy, Value};

/// The Redis port.
pub const REDIS_PORT: u16 = 6379;

/// How to build a [`RedisCluster`].
#[derive(Debug, Clone)]
pub struct RedisProps {
    /// The Redis engine version; its major version picks the parameter group family. Default: 7.1.
    pub engine_version: String,
    /// The node type. Default: `cache.r6g.large`.
    pub node_type: String,
    /// Shards (node groups); 1 keeps cluster mode off. Default: 1.
    pub shards: i64,
    /// Replicas per shard (1 or more, for Multi-AZ failover). Default: 1.
    pub replicas_per_shard: i64,
    /// Days daily snapshots are kept. Default: 7.
    pub snapshot_retention_days: i64,
    /// The subnets of the subnet group. Default: the isolated tier.
    pub subnets: SubnetSelection,
    /// The security groups of the nodes. Default: none given, so one is created that admits nothing
    /// until a connection says so.
    pub security_groups: Vec<SecurityGroup>,
}

impl Default for RedisProps {
    fn default() -> Self {
        Self {
            engine_version: "7.1".into(),
            node_type: "cache.r6g.large".into(),
            shards: 1,
            replicas_per_shard: 1,
            snapshot_retention_days: 7,
            subnets: SubnetSelection::ISOLATED,
            security_groups: Vec::new(),
        }
    }
}

/// A Redis replication group with its subnet and parameter groups.
#[derive(Debug, Clone)]
pub struct RedisCluster {
    resource: ResourceRef<elasticache::ReplicationGroup>,
    clustered: bool,
    security_groups: Vec<SecurityGroup>,
}

impl RedisCluster {
    /// Adds the replication group under `id` in `vpc`, encrypted with `key` and protected by
    /// `auth_token`.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        vpc: &Vpc,
        key: &EncryptionKey,
        auth_token: &Secret,
        props: RedisProps,
    ) -> Result<Self, ConstructError> {
        key.ensure_in_region(scope.region(), &format!("{}/{id}", scope.path()), "a Redis cluster")?;
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        let major = props.engine_version.split('.').next().unwrap_or(&props.engine_version).to_owned();
        let clustered = props.shards > 1;
        let security_groups = match props.security_groups.is_empty() {
            true => vec![SecurityGroup::new(&mut scope, "SecurityGroup", vpc, &format!("Redis {name}"))?],
            false => props.security_groups,
        };
        let subnet_group = scope.add(
            "SubnetGroup",
            elasticache::SubnetGroup::new(format!("Isolated subnets of {name}"), vpc.select_subnets(props.subnets)),
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
            .port(i64::from(REDIS_PORT))
            .multi_az_enabled(true)
            .automatic_failover_enabled(true)
            .at_rest_encryption_enabled(true)
            .kms_key_id(key.arn())
            .transit_encryption_enabled(true)
            .auth_token(auth_token.value())
            .cache_subnet_group_name(subnet_group.ref_value())
            .cache_parameter_group_name(parameter_group.ref_value())
            .security_group_ids(security_groups.iter().map(|group| group.group_id().value()).collect::<Vec<_>>())
            .snapshot_retention_limit(props.snapshot_retention_days)
            .auto_minor_version_upgrade(true);
        group = if clustered {
            group.num_node_groups(props.shards).replicas_per_node_group(props.replicas_per_shard)
        } else {
            group.num_cache_clusters(1 + props.replicas_per_shard)
        };
        let resource = scope.add_with("Resource", group, |entry| entry.removal_policy(RemovalPolicy::Snapshot))?;
        Ok(Self { resource, clustered, security_groups })
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

impl Connectable for RedisCluster {
    fn connections(&self) -> Connections {
        Connections::new(self.security_groups.clone(), Some(Port::tcp(REDIS_PORT)), self.resource.path().construct())
    }
}
