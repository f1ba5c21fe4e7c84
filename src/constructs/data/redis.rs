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
//!
//! A group can lead a Global Datastore ([`RedisProps::global_suffix`]), and a group of another region
//! can join it as its read-only secondary ([`RedisCluster::secondary`]), which ElastiCache keeps within
//! about a second of the primary and which is promoted by hand on failover.

use super::secret::Secret;
use crate::cfn::elasticache;
use crate::cfn::elasticache::global_replication_group::GlobalReplicationGroupMemberRole;
use crate::cfn::prelude::*;
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
    /// When set, the group leads a Global Datastore of this name suffix (ElastiCache prefixes it per
    /// region), which groups of other regions join with [`RedisCluster::secondary`]. Default: none.
    pub global_suffix: Option<String>,
}

/// How to build a Global Datastore's secondary group ([`RedisCluster::secondary`]).
#[derive(Debug, Clone)]
pub struct SecondaryProps {
    /// The Global Datastore's ID (its `GlobalReplicationGroupId`).
    pub global_id: Value<String>,
    /// Replicas per shard beside the shard's primary node.
    pub replicas_per_shard: i64,
    /// Whether the datastore has more than one shard (cluster mode).
    pub clustered: bool,
    /// Days daily snapshots are kept.
    pub snapshot_retention_days: i64,
    /// The subnets of the subnet group.
    pub subnets: SubnetSelection,
    /// The security groups of the nodes (required: the region's tasks reach the group through them).
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
            global_suffix: None,
        }
    }
}

/// A Redis replication group with its subnet and parameter groups.
#[derive(Debug, Clone)]
pub struct RedisCluster {
    resource: ResourceRef<elasticache::ReplicationGroup>,
    clustered: bool,
    security_groups: Vec<SecurityGroup>,
    global: Option<ResourceRef<elasticache::GlobalReplicationGroup>>,
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
        let global = match props.global_suffix {
            Some(suffix) => {
                let member = elasticache::global_replication_group::GlobalReplicationGroupMember::new()
                    .replication_group_id(resource.ref_value())
                    .replication_group_region(Value::region())
                    .role(GlobalReplicationGroupMemberRole::Primary);
                Some(
                    scope.add(
                        "Global",
                        elasticache::GlobalReplicationGroup::new(vec![member])
                            .global_replication_group_id_suffix(suffix.as_str())
                            .global_replication_group_description(format!("Global Datastore led by {name}")),
                    )?,
                )
            }
            None => None,
        };
        Ok(Self { resource, clustered, security_groups, global })
    }

    /// Adds, under `id` in `vpc`, a read-only secondary group of the Global Datastore `props.global_id`,
    /// encrypted at rest with `key` of this region. Its engine, version, node type, shards, parameters,
    /// encryption in transit and AUTH token are the datastore's: ElastiCache refuses them on a secondary.
    pub fn secondary(
        scope: &mut Scope,
        id: &str,
        vpc: &Vpc,
        key: &EncryptionKey,
        props: SecondaryProps,
    ) -> Result<Self, ConstructError> {
        let path = format!("{}/{id}", scope.path());
        key.ensure_in_region(scope.region(), &path, "a Redis cluster")?;
        if props.security_groups.is_empty() {
            return Err(ConstructError::InvalidProps {
                path,
                message: "a secondary group needs the security groups its region's tasks reach it through".into(),
            });
        }
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        let subnet_group = scope.add(
            "SubnetGroup",
            elasticache::SubnetGroup::new(format!("Isolated subnets of {name}"), vpc.select_subnets(props.subnets)),
        )?;
        let mut group =
            elasticache::ReplicationGroup::new(format!("Read-only secondary of a Global Datastore: {name}"))
                .global_replication_group_id(props.global_id)
                .multi_az_enabled(true)
                .automatic_failover_enabled(true)
                .kms_key_id(key.arn())
                .cache_subnet_group_name(subnet_group.ref_value())
                .security_group_ids(
                    props.security_groups.iter().map(|group| group.group_id().value()).collect::<Vec<_>>(),
                )
                .snapshot_retention_limit(props.snapshot_retention_days);
        group = if props.clustered {
            group.replicas_per_node_group(props.replicas_per_shard)
        } else {
            group.num_cache_clusters(1 + props.replicas_per_shard)
        };
        let inherited = "Inherited from the Global Datastore's primary group, which sets it; ElastiCache refuses it on a secondary.";
        let skips = serde_json::json!({"skip": [
            {"id": "CKV_AWS_29", "comment": format!("Encryption at rest: {inherited} This group's data is encrypted with its region's key (KmsKeyId).")},
            {"id": "CKV_AWS_30", "comment": format!("Encryption in transit: {inherited}")},
            {"id": "CKV_AWS_31", "comment": format!("The AUTH token: {inherited}")}
        ]});
        let resource = scope.add_with("Resource", group, |entry| {
            entry.removal_policy(RemovalPolicy::Snapshot).metadata("checkov", skips)
        })?;
        Ok(Self { resource, clustered: props.clustered, security_groups: props.security_groups, global: None })
    }

    /// The Global Datastore the group leads, if it leads one.
    pub fn global(&self) -> Option<&ResourceRef<elasticache::GlobalReplicationGroup>> {
        self.global.as_ref()
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
