//! ElastiCache Redis as a replication group.
//!
//! ## Secure defaults
//! - Multi-AZ with automatic failover; in the isolated subnets behind its security group.
//! - Encryption at rest with a customer-managed key (checkov CKV_AWS_29, CKV_AWS_191) and in transit
//!   (CKV_AWS_30).
//! - Role-based access control ([`RedisAuth::Users`], AWS Control Tower CT.ELASTICACHE.PR.6): a user
//!   group whose `default` user is switched off, and one user per client with its own access string
//!   and a password that Secrets Manager generates and CloudFormation passes by dynamic reference, so it
//!   never appears in the template. A shared AUTH token ([`RedisAuth::Token`], checkov CKV_AWS_31) only
//!   with a reason, which the group carries.
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

/// Who may connect to a group, and how.
#[derive(Debug, Clone)]
pub enum RedisAuth {
    /// Role-based access control: a user group of a switched-off `default` user and `users`, each
    /// with its own password. User and user group IDs are unique in an account and region: each is
    /// `<id_prefix>-<user name>` (lower-case letters, digits and '-', at most 40 characters).
    Users {
        /// What the IDs start with, such as the app's name.
        id_prefix: String,
        /// The clients.
        users: Vec<RedisUser>,
    },
    /// One AUTH token that every client shares, for `because`: the group then carries a suppression
    /// of Control Tower's RBAC rule with that reason.
    Token {
        /// The token.
        token: Box<Secret>,
        /// Why not role-based access control.
        because: String,
    },
}

/// One client's Redis user.
#[derive(Debug, Clone)]
pub struct RedisUser {
    /// Its user name (`kong`): lower-case letters, digits and '-'.
    pub name: String,
    /// What it may do, in Redis ACL syntax (`on ~* &* +@all -@dangerous`).
    pub access_string: String,
    /// Its password: a generated secret.
    pub password: Secret,
}

/// What a client of a group logs in with.
#[derive(Debug, Clone)]
pub struct RedisLogin {
    /// The user name (`default` with a shared AUTH token).
    pub username: String,
    /// The secret whose value is the password.
    pub password: Secret,
}

/// The longest user or user group ID ElastiCache takes.
const MAX_USER_ID_LENGTH: usize = 40;

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
    /// Adds the replication group under `id` in `vpc`, encrypted with `key`, which clients reach as
    /// `auth` says.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        vpc: &Vpc,
        key: &EncryptionKey,
        auth: &RedisAuth,
        props: RedisProps,
    ) -> Result<Self, ConstructError> {
        key.ensure_in_region(scope.region(), &format!("{}/{id}", scope.path()), "a Redis cluster")?;
        if let RedisAuth::Users { id_prefix, users } = auth {
            let path = format!("{}/{id}", scope.path());
            let ids = std::iter::once("default").chain(users.iter().map(|user| user.name.as_str()));
            for name in ids {
                let user_id = format!("{id_prefix}-{name}");
                let valid = user_id.len() <= MAX_USER_ID_LENGTH
                    && user_id.starts_with(|c: char| c.is_ascii_lowercase())
                    && user_id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                if !valid || (name == "default" && users.iter().any(|user| user.name == "default")) {
                    return Err(ConstructError::InvalidProps {
                        path,
                        message: format!(
                            "the Redis user ID {user_id:?} must be unique (no user is called default), at most \
                             {MAX_USER_ID_LENGTH} lower-case letters, digits or '-', starting with a letter"
                        ),
                    });
                }
            }
        }
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
        let token_because = match auth {
            RedisAuth::Users { id_prefix, users } => {
                let user_group = user_group(&mut scope, id_prefix, users)?;
                group = group.user_group_ids(vec![user_group.ref_value()]);
                None
            }
            RedisAuth::Token { token, because } => {
                group = group.auth_token(token.value());
                Some(because.clone())
            }
        };
        let resource = scope.add_with("Resource", group, |entry| {
            let entry = entry.removal_policy(RemovalPolicy::Snapshot);
            match &token_because {
                Some(because) => entry.guard_suppression("ELASTICACHE_REPL_GRP_RBAC_AUTH_ENABLED_CHECK", because),
                None => entry,
            }
        })?;
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

/// The `default` user, switched off and without a password, and one user per client with its password,
/// in a user group.
fn user_group(
    scope: &mut Scope,
    id_prefix: &str,
    users: &[RedisUser],
) -> Result<ResourceRef<elasticache::UserGroup>, ConstructError> {
    use crate::cfn::elasticache::user::{UserAuthenticationMode, UserEngine};
    use crate::cfn::elasticache::user_group::UserGroupEngine;
    let default = scope.add(
        "DefaultUser",
        elasticache::User::new(UserEngine::Redis, format!("{id_prefix}-default"), "default")
            .access_string("off -@all")
            .authentication_mode(UserAuthenticationMode::new("no-password-required")),
    )?;
    let mut members = vec![default.ref_value()];
    for user in users {
        let resource = scope.add(
            &format!("{}User", crate::construct::pascal_case(&user.name)),
            elasticache::User::new(UserEngine::Redis, format!("{id_prefix}-{}", user.name), user.name.as_str())
                .access_string(user.access_string.as_str())
                .authentication_mode(UserAuthenticationMode::new("password").passwords(vec![user.password.value()])),
        )?;
        members.push(resource.ref_value());
    }
    scope.add("UserGroup", elasticache::UserGroup::new(UserGroupEngine::Redis, format!("{id_prefix}-users"), members))
}

impl Connectable for RedisCluster {
    fn connections(&self) -> Connections {
        Connections::new(self.security_groups.clone(), Some(Port::tcp(REDIS_PORT)), self.resource.path().construct())
    }
}
