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

use crate::cfn::cloudwatch::alarm::AlarmStatistic;
use crate::cfn::rds;
use crate::construct::{pascal_case, ConstructError, ResourceRef, Scope};
use crate::constructs::data::Secret;
use crate::constructs::iam::{Grantee, Role, RoleProps, Statement};
use crate::constructs::ids::Arn;
use crate::constructs::kms::EncryptionKey;
use crate::constructs::monitoring::MetricAlarm;
use crate::constructs::network::{Connectable, Connections, Port, SecurityGroup, SubnetSelection, Vpc};
use crate::template::{RemovalPolicy, Value};

/// PostgreSQL's port.
pub const POSTGRES_PORT: u16 = 5432;

/// How to build a [`PostgresDatabase`].
#[derive(Debug, Clone)]
pub struct PostgresProps {
    /// The engine version. Its major version picks the parameter group family. Default: 17.11.
    pub engine_version: String,
    /// The instance class. Default: `db.r6g.large`.
    pub instance_class: String,
    /// Initial storage in GiB. Default: 100.
    pub allocated_storage_gib: i64,
    /// The storage autoscaling cap in GiB. Default: 500.
    pub max_allocated_storage_gib: i64,
    /// Days automated backups are kept (7 or more). Default: 7.
    pub backup_retention_days: i64,
    /// The initial database. Default: `app`.
    pub database_name: String,
    /// The master user's name; RDS generates and keeps the password. Default: `app_admin`.
    pub master_username: String,
    /// The subnets of the subnet group. Default: the isolated tier.
    pub subnets: SubnetSelection,
    /// The security groups of the instance. Default: none given, so one is created that admits
    /// nothing until a connection says so (`db.connections().allow_default_port_from(&service)`).
    pub security_groups: Vec<SecurityGroup>,
}

impl Default for PostgresProps {
    fn default() -> Self {
        Self {
            engine_version: "17.11".into(),
            instance_class: "db.r6g.large".into(),
            allocated_storage_gib: 100,
            max_allocated_storage_gib: 500,
            backup_retention_days: 7,
            database_name: "app".into(),
            master_username: "app_admin".into(),
            subnets: SubnetSelection::ISOLATED,
            security_groups: Vec::new(),
        }
    }
}

/// A PostgreSQL instance with its subnet group, parameter group and monitoring role.
#[derive(Debug, Clone)]
pub struct PostgresDatabase {
    resource: ResourceRef<rds::DbInstance>,
    key: EncryptionKey,
    security_groups: Vec<SecurityGroup>,
}

impl PostgresDatabase {
    /// Adds the database under `id` in `vpc`, encrypted with `key`.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        vpc: &Vpc,
        key: &EncryptionKey,
        props: PostgresProps,
    ) -> Result<Self, ConstructError> {
        key.ensure_in_region(scope.region(), &format!("{}/{id}", scope.path()), "a database")?;
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        let major = props.engine_version.split('.').next().unwrap_or(&props.engine_version).to_owned();
        let security_groups = match props.security_groups.is_empty() {
            true => vec![SecurityGroup::new(&mut scope, "SecurityGroup", vpc, &format!("PostgreSQL {name}"))?],
            false => props.security_groups,
        };
        let subnet_group = scope.add(
            "SubnetGroup",
            rds::DbSubnetGroup::new(format!("Isolated subnets of {name}"), vpc.select_subnets(props.subnets)),
        )?;
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
                path: None,
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
            .vpc_security_groups(security_groups.iter().map(|group| group.group_id().value()).collect::<Vec<_>>())
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
        Ok(Self { resource, key: key.clone(), security_groups })
    }

    /// The instance resource.
    pub fn resource(&self) -> &ResourceRef<rds::DbInstance> {
        &self.resource
    }

    /// The endpoint address.
    pub fn endpoint_address(&self) -> Value<String> {
        self.resource.attr_endpoint_address()
    }

    /// Lets `grantee` (a role, or a task or service through its task role) log in as the database user `user` with IAM database authentication: a token per
    /// connection (`rds-db:connect`), so no password reaches the application and a rotation of the
    /// master secret breaks no running task. The user must exist with the `rds_iam` role.
    pub fn grant_connect(&self, grantee: &impl Grantee, user: &str) -> Result<(), ConstructError> {
        let user_arn = Value::sub_with(
            format!(
                "arn:${{AWS::Partition}}:rds-db:${{AWS::Region}}:${{AWS::AccountId}}:dbuser:${{DbiResourceId}}/{user}"
            ),
            [("DbiResourceId", self.resource.attr_dbi_resource_id())],
        );
        grantee.grant_role().add_policy(
            &format!("ConnectAs{}", pascal_case(user)),
            vec![Statement::allow(["rds-db:connect"]).resource(user_arn)],
        )
    }

    /// An alarm when the instance's CPU stays above `percent` for five minutes.
    pub fn cpu_alarm(&self, percent: f64) -> MetricAlarm {
        MetricAlarm::above(
            format!("PostgreSQL CPU above {percent}% for 5 minutes"),
            "AWS/RDS",
            "CPUUtilization",
            vec![("DBInstanceIdentifier".to_owned(), self.resource.ref_value())],
            AlarmStatistic::Average,
            percent,
            1,
        )
        .every(300)
    }

    /// The secret RDS keeps the master credentials in (a JSON document with `username` and
    /// `password`), encrypted with the database's key.
    pub fn secret(&self) -> Secret {
        Secret::from_arn(Arn::new(self.resource.attr_master_user_secret_secret_arn()), Some(&self.key))
    }
}

impl Connectable for PostgresDatabase {
    fn connections(&self) -> Connections {
        Connections::new(self.security_groups.clone(), Some(Port::tcp(POSTGRES_PORT)), self.resource.path().construct())
    }
}
