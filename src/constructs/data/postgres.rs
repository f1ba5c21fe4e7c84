//! RDS PostgreSQL, Multi-AZ.
//!
//! ## Secure defaults
//! - Multi-AZ (checkov CKV_AWS_157), in the isolated subnets, not publicly accessible (CKV_AWS_17).
//! - gp3 storage encrypted with a customer-managed key (CKV_AWS_16), storage autoscaling up to a cap.
//! - The master password is managed by RDS in Secrets Manager (`ManageMasterUserPassword`), encrypted
//!   with the same key and rotated by RDS; it never appears in the template.
//! - A parameter group forcing SSL (`rds.force_ssl = 1`); IAM database authentication (CKV_AWS_161).
//! - Backups kept at least 7 days, deletion protection (CKV_AWS_293), minor version upgrades (CKV_AWS_226),
//!   tags copied to snapshots.
//! - Performance Insights encrypted with the key (CKV_AWS_353, CKV_AWS_354), enhanced monitoring every
//!   60 s with its own role (CKV_AWS_118), PostgreSQL and upgrade logs exported to CloudWatch (CKV_AWS_129).
//! - `DeletionPolicy` and `UpdateReplacePolicy` of `Snapshot`.

use crate::cfn::rds;
use crate::construct::{pascal_case, App, ConstructError, ResourceRef, Scope};
use crate::constructs::iam::{Role, RoleProps, Statement};
use crate::constructs::kms::EncryptionKey;
use crate::template::{RemovalPolicy, Value};

/// How to build a [`PostgresDatabase`].
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresProps {
    /// The engine version. Its major version picks the parameter group family.
    pub engine_version: String,
    /// The instance class, such as `db.r6g.large`.
    pub instance_class: String,
    /// Initial storage in GiB.
    pub allocated_storage_gib: i64,
    /// The storage autoscaling cap in GiB.
    pub max_allocated_storage_gib: i64,
    /// Days automated backups are kept (7 or more).
    pub backup_retention_days: i64,
    /// The initial database.
    pub database_name: String,
    /// The master user's name; RDS generates and keeps the password.
    pub master_username: String,
    /// The subnets of the subnet group (the isolated tier).
    pub subnet_ids: Vec<Value<String>>,
    /// The security groups of the instance.
    pub security_group_ids: Vec<Value<String>>,
}

/// A PostgreSQL instance with its subnet group, parameter group and monitoring role.
#[derive(Debug, Clone)]
pub struct PostgresDatabase {
    resource: ResourceRef<rds::DbInstance>,
}

impl PostgresDatabase {
    /// Adds the database under `id`, encrypted with `key`.
    pub fn new(
        scope: &mut Scope<'_>,
        id: &str,
        key: &EncryptionKey,
        props: PostgresProps,
    ) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        let major = props.engine_version.split('.').next().unwrap_or(&props.engine_version).to_owned();
        let subnet_group = scope
            .add("SubnetGroup", rds::DbSubnetGroup::new(format!("Isolated subnets of {name}"), props.subnet_ids))?;
        let parameter_group = scope.add(
            "ParameterGroup",
            rds::DbParameterGroup::new(format!("{name}: SSL required"), format!("postgres{major}"))
                .parameters(serde_json::json!({"rds.force_ssl": "1"})),
        )?;
        let monitoring = Role::new(
            &mut scope,
            "MonitoringRole",
            RoleProps {
                description: format!("Lets RDS publish enhanced monitoring metrics of {name}"),
                trust: Statement::assume_role("monitoring.rds.amazonaws.com"),
                statements: vec![],
                managed_policy_arns: vec![Value::sub(
                    "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
                )],
            },
        )?;
        let instance = rds::DbInstance::new()
            .engine("postgres")
            .engine_version(props.engine_version.as_str())
            .db_instance_class(props.instance_class.as_str())
            .db_name(props.database_name.as_str())
            .allocated_storage(props.allocated_storage_gib.to_string())
            .max_allocated_storage(props.max_allocated_storage_gib)
            .storage_type("gp3")
            .storage_encrypted(true)
            .kms_key_id(key.arn())
            .multi_az(true)
            .publicly_accessible(false)
            .db_subnet_group_name(subnet_group.ref_value())
            .db_parameter_group_name(parameter_group.ref_value())
            .vpc_security_groups(props.security_group_ids)
            .master_username(props.master_username.as_str())
            .manage_master_user_password(true)
            .master_user_secret(rds::db_instance::MasterUserSecret::new().kms_key_id(key.arn()))
            .enable_iam_database_authentication(true)
            .backup_retention_period(props.backup_retention_days)
            .copy_tags_to_snapshot(true)
            .deletion_protection(true)
            .auto_minor_version_upgrade(true)
            .enable_performance_insights(true)
            .performance_insights_kms_key_id(key.arn())
            .performance_insights_retention_period(7)
            .monitoring_interval(60)
            .monitoring_role_arn(monitoring.arn())
            .enable_cloudwatch_logs_exports(vec!["postgresql", "upgrade"]);
        let resource = scope.add_with("Resource", instance, |entry| entry.removal_policy(RemovalPolicy::Snapshot))?;
        Ok(Self { resource })
    }

    /// The instance resource.
    pub fn resource(&self) -> &ResourceRef<rds::DbInstance> {
        &self.resource
    }

    /// The endpoint address.
    pub fn endpoint_address(&self) -> Value<String> {
        self.resource.attr_endpoint_address()
    }

    /// Lets `role` log in as the database user `user` with IAM database authentication: a token per
    /// connection (`rds-db:connect`), so no password reaches the application and a rotation of the
    /// master secret breaks no running task. The user must exist with the `rds_iam` role.
    pub fn grant_connect(&self, app: &mut App, role: &Role, user: &str) -> Result<(), ConstructError> {
        let user_arn = Value::sub_with(
            format!(
                "arn:${{AWS::Partition}}:rds-db:${{AWS::Region}}:${{AWS::AccountId}}:dbuser:${{DbiResourceId}}/{user}"
            ),
            [("DbiResourceId", self.resource.attr_dbi_resource_id())],
        );
        role.add_policy(
            app,
            &format!("ConnectAs{}", pascal_case(user)),
            vec![Statement::allow(["rds-db:connect"]).resource(user_arn)],
        )
    }

    /// The ARN of the secret RDS keeps the master credentials in.
    pub fn master_secret_arn(&self) -> Value<String> {
        self.resource.attr_master_user_secret_secret_arn()
    }
}
