//! RDS PostgreSQL, Multi-AZ.
//!
//! ## Secure defaults
//! - Multi-AZ (checkov CKV_AWS_157), in the isolated subnets, not publicly accessible (CKV_AWS_17).
//! - gp3 storage encrypted with a customer-managed key (CKV_AWS_16), storage autoscaling up to a cap.
//! - The master password never appears in the template. By default RDS manages it in Secrets Manager
//!   (`ManageMasterUserPassword`), encrypted with the same key and rotated by RDS. RDS refuses a
//!   cross-region read replica of such an instance, so [`MasterCredentials::Generated`] makes the
//!   secret a resource of its own instead: generated, passed by dynamic reference, replicated to other
//!   regions under their keys, and rotated by a Secrets Manager hosted rotation function in the VPC.
//! - A parameter group forcing SSL (`rds.force_ssl = 1`); IAM database authentication (CKV_AWS_161).
//! - Backups kept at least 7 days, deletion protection (CKV_AWS_293), minor version upgrades (CKV_AWS_226),
//!   tags copied to snapshots.
//! - Performance Insights encrypted with the key (CKV_AWS_353, CKV_AWS_354), enhanced monitoring every
//!   60 s with its own role (CKV_AWS_118), PostgreSQL and upgrade logs exported to CloudWatch (CKV_AWS_129).
//! - `DeletionPolicy` and `UpdateReplacePolicy` of `Snapshot`.

use crate::cfn::cloudwatch::alarm::{AlarmStatistic, AlarmTreatMissingData};
use crate::cfn::prelude::*;
use crate::cfn::rds;
use crate::cfn::secretsmanager;
use crate::cfn::secretsmanager::rotation_schedule::{HostedRotationLambda, RotationRules};
use crate::construct::{pascal_case, ConstructError, ResourceRef, Scope};
use crate::constructs::data::secret::PASSWORD_FIELD;
use crate::constructs::data::{Secret, SecretProps};
use crate::constructs::iam::{Grantee, Role, RoleProps, Statement};
use crate::constructs::ids::Arn;
use crate::constructs::kms::EncryptionKey;
use crate::constructs::monitoring::MetricAlarm;
use crate::constructs::network::{Connectable, Connections, Port, SecurityGroup, SubnetSelection, Vpc};
use crate::template::{RemovalPolicy, Value};

/// The port the databases listen on: not PostgreSQL's default 5432, which scans for PostgreSQL try
/// first (AWS Control Tower's `RDS_INSTANCE_NO_DEFAULT_PORTS_CHECK`). Clients read it from the
/// instance's `Endpoint.Port`, or from [`PostgresDatabase::port`].
pub const POSTGRES_PORT: u16 = 5433;

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
    /// Where the master password comes from. Default: RDS manages it.
    pub credentials: MasterCredentials,
}

/// Where a database's master password comes from.
#[derive(Debug, Clone, Default)]
pub enum MasterCredentials {
    /// RDS generates, keeps and rotates it in a secret of its own (`ManageMasterUserPassword`).
    #[default]
    Managed,
    /// A secret of the construct's own, which an instance in another region can be a replica of.
    Generated(Box<GeneratedCredentials>),
}

/// A master secret the construct generates (see [`MasterCredentials::Generated`]).
#[derive(Debug, Clone)]
pub struct GeneratedCredentials {
    /// A fixed name for the secret, so that it can be found in a replica region while its source
    /// region is down. Default (`None`): CloudFormation names it.
    pub secret_name: Option<String>,
    /// The regions the secret is replicated to, each with a customer-managed key of its region.
    pub replica_keys: Vec<(String, EncryptionKey)>,
    /// Days between rotations (1 to 1000).
    pub rotation_days: i64,
    /// Where the rotation function runs: subnets that reach Secrets Manager (through NAT or its
    /// interface endpoint).
    pub rotation_subnets: SubnetSelection,
    /// The rotation function's security group. The construct admits it to the database; it must
    /// itself reach Secrets Manager on 443.
    pub rotation_security_group: SecurityGroup,
}

/// The Secrets Manager transform, which expands a hosted rotation function into a serverless
/// application; the stack then deploys with `CAPABILITY_AUTO_EXPAND`.
pub const SECRETS_MANAGER_TRANSFORM: &str = "AWS::SecretsManager-2020-07-23";

/// How to build a cross-region read replica ([`PostgresDatabase::replica`]).
#[derive(Debug, Clone)]
pub struct ReplicaProps {
    /// The source instance's ARN (an instance of another region is named by ARN).
    pub source_arn: Value<String>,
    /// The source's engine version; its major version picks the parameter group family.
    pub engine_version: String,
    /// The replica's instance class.
    pub instance_class: String,
    /// The storage autoscaling cap in GiB.
    pub max_allocated_storage_gib: i64,
    /// The subnets of the subnet group.
    pub subnets: SubnetSelection,
    /// The security groups of the replica (required: a replica is reached by the region's services).
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
            credentials: MasterCredentials::Managed,
        }
    }
}

/// A PostgreSQL instance with its subnet group, parameter group and monitoring role.
#[derive(Debug, Clone)]
pub struct PostgresDatabase {
    resource: ResourceRef<rds::DbInstance>,
    security_groups: Vec<SecurityGroup>,
    secret: Option<Secret>,
}

/// What a primary instance and a replica share: a subnet group, an SSL-only parameter group and an
/// enhanced monitoring role, under the construct's scope.
struct Placement {
    instance: rds::DbInstance,
    security_groups: Vec<SecurityGroup>,
}

impl Placement {
    fn new(
        scope: &mut Scope,
        vpc: &Vpc,
        key: &EncryptionKey,
        engine_version: &str,
        subnets: SubnetSelection,
        security_groups: Vec<SecurityGroup>,
    ) -> Result<Self, ConstructError> {
        let name = scope.path().to_string();
        let major = engine_version.split('.').next().unwrap_or(engine_version).to_owned();
        let security_groups = match security_groups.is_empty() {
            true => vec![SecurityGroup::new(scope, "SecurityGroup", vpc, &format!("PostgreSQL {name}"))?],
            false => security_groups,
        };
        let subnet_group = scope.add(
            "SubnetGroup",
            rds::DbSubnetGroup::new(format!("Isolated subnets of {name}"), vpc.select_subnets(subnets)),
        )?;
        let parameter_group = scope.add(
            "ParameterGroup",
            rds::DbParameterGroup::new(format!("{name}: SSL required"), format!("postgres{major}"))
                .parameters(serde_json::json!({"rds.force_ssl": "1"})),
        )?;
        let monitoring = Role::new(
            scope,
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
            .port(POSTGRES_PORT.to_string())
            .engine_version(engine_version)
            .storage_type("gp3")
            .kms_key_id(key.arn())
            .multi_az(true)
            .publicly_accessible(false)
            .db_subnet_group_name(subnet_group.ref_value())
            .db_parameter_group_name(parameter_group.ref_value())
            .vpc_security_groups(security_groups.iter().map(|group| group.group_id().value()).collect::<Vec<_>>())
            .enable_iam_database_authentication(true)
            .copy_tags_to_snapshot(true)
            .deletion_protection(true)
            .auto_minor_version_upgrade(true)
            .enable_performance_insights(true)
            .performance_insights_kms_key_id(key.arn())
            .performance_insights_retention_period(7)
            .monitoring_interval(60)
            .monitoring_role_arn(monitoring.arn())
            .enable_cloudwatch_logs_exports(vec!["postgresql", "upgrade"]);
        Ok(Self { instance, security_groups })
    }
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
        let placement =
            Placement::new(&mut scope, vpc, key, &props.engine_version, props.subnets, props.security_groups)?;
        let mut instance = placement
            .instance
            .storage_encrypted(true)
            .db_instance_class(props.instance_class.as_str())
            .db_name(props.database_name.as_str())
            .allocated_storage(props.allocated_storage_gib.to_string())
            .max_allocated_storage(props.max_allocated_storage_gib)
            .master_username(props.master_username.as_str())
            .backup_retention_period(props.backup_retention_days);
        let generated = match &props.credentials {
            MasterCredentials::Managed => {
                instance = instance
                    .manage_master_user_password(true)
                    .master_user_secret(rds::db_instance::MasterUserSecret::new().kms_key_id(key.arn()));
                None
            }
            MasterCredentials::Generated(generated) => {
                let secret = Secret::new(
                    &mut scope,
                    "MasterSecret",
                    key,
                    SecretProps {
                        description: Some(format!("Master credentials of {name}")),
                        name: generated.secret_name.clone(),
                        username: Some(props.master_username.clone()),
                        replica_regions: generated.replica_keys.iter().map(|(region, _)| region.clone()).collect(),
                        replica_keys: generated.replica_keys.clone(),
                        ..SecretProps::default()
                    },
                )?;
                instance = instance.master_user_password(secret.field(PASSWORD_FIELD));
                Some((secret, generated))
            }
        };
        let resource = scope.add_with("Resource", instance, |entry| entry.removal_policy(RemovalPolicy::Snapshot))?;
        let database = Self { resource, security_groups: placement.security_groups, secret: None };
        let Some((secret, generated)) = generated else {
            let managed = Secret::from_arn(Arn::new(database.resource.attr_master_user_secret_secret_arn()), Some(key));
            return Ok(Self { secret: Some(managed), ..database });
        };
        database.rotate(&mut scope, vpc, key, &secret, generated)?;
        Ok(Self { secret: Some(secret), ..database })
    }

    /// Attaches the generated secret to the instance (the rotation function reads the host and port
    /// from it) and rotates it every `rotation_days` with a hosted single-user rotation function in
    /// the VPC, admitted to the database.
    fn rotate(
        &self,
        scope: &mut Scope,
        vpc: &Vpc,
        key: &EncryptionKey,
        secret: &Secret,
        generated: &GeneratedCredentials,
    ) -> Result<(), ConstructError> {
        if !(1..=1000).contains(&generated.rotation_days) {
            return Err(ConstructError::InvalidProps {
                path: scope.path().to_string(),
                message: format!("rotation_days must be 1 to 1000, not {}", generated.rotation_days),
            });
        }
        let attachment = scope.add(
            "MasterSecretAttachment",
            secretsmanager::SecretTargetAttachment::new(
                secret.arn().value(),
                self.resource.ref_value(),
                "AWS::RDS::DBInstance",
            ),
        )?;
        let subnets = vpc.select_subnets(generated.rotation_subnets);
        let rotation = HostedRotationLambda::new("PostgreSQLSingleUser")
            .vpc_subnet_ids(Value::join(",", Value::from(subnets)))
            .vpc_security_group_ids(generated.rotation_security_group.group_id().value())
            .kms_key_arn(key.arn().value())
            .exclude_characters("\"@/\\'");
        scope.add(
            "MasterSecretRotation",
            secretsmanager::RotationSchedule::new(attachment.ref_value())
                .hosted_rotation_lambda(rotation)
                .rotation_rules(RotationRules::new().automatically_after_days(generated.rotation_days)),
        )?;
        scope.stack().add_transform(SECRETS_MANAGER_TRANSFORM);
        for group in &self.security_groups {
            group.allow_from(
                &generated.rotation_security_group,
                Port::tcp(POSTGRES_PORT),
                "The master secret's rotation function logs in to set the new password",
            )?;
        }
        Ok(())
    }

    /// Adds, under `id` in `vpc`, a read replica of the instance `props.source_arn` (in another region:
    /// RDS copies the data across and keeps it within seconds to minutes of the source), encrypted
    /// with `key` of this region. Its master credentials are the source's, replicated; it is promoted
    /// to a standalone instance by hand (`aws rds promote-read-replica`).
    pub fn replica(
        scope: &mut Scope,
        id: &str,
        vpc: &Vpc,
        key: &EncryptionKey,
        props: ReplicaProps,
    ) -> Result<Self, ConstructError> {
        let path = format!("{}/{id}", scope.path());
        key.ensure_in_region(scope.region(), &path, "a database replica")?;
        if props.security_groups.is_empty() {
            return Err(ConstructError::InvalidProps {
                path,
                message: "a replica needs the security groups its region's services reach it through".into(),
            });
        }
        let mut scope = scope.child(id)?;
        let placement =
            Placement::new(&mut scope, vpc, key, &props.engine_version, props.subnets, props.security_groups)?;
        let instance = placement
            .instance
            .source_db_instance_identifier(props.source_arn)
            .db_instance_class(props.instance_class.as_str())
            .max_allocated_storage(props.max_allocated_storage_gib);
        // A cross-region replica of an encrypted source must name a key of its region, and cfn-lint
        // requires `StorageEncrypted` beside `KmsKeyId` (E3720) while also refusing it beside a source
        // (E3020). RDS reads neither from a replica request but the key; the AWS CDK sets both, as
        // here, and the one lint rule that cannot hold is ignored on this resource, with the reason.
        let lint = serde_json::json!({
            "config": {"ignore_checks": ["E3020"]},
            "comment": "E3020: a cross-region replica of an encrypted source names its region's key (KmsKeyId), which cfn-lint's E3720 requires StorageEncrypted beside; RDS takes the encryption from the source and the key."
        });
        let instance = instance.storage_encrypted(true);
        let resource = scope.add_with("Resource", instance, |entry| {
            entry.removal_policy(RemovalPolicy::Snapshot).metadata("cfn-lint", lint).guard_suppression(
                "RDS_INSTANCE_BACKUP_ENABLED_CHECK",
                "A read replica: the source instance's automated backups keep the data until it is promoted, and \
                 whoever promotes it sets its own retention (promote-read-replica --backup-retention-period, as the \
                 platform's DR runbook does)",
            )
        })?;
        Ok(Self { resource, security_groups: placement.security_groups, secret: None })
    }

    /// The instance resource.
    pub fn resource(&self) -> &ResourceRef<rds::DbInstance> {
        &self.resource
    }

    /// The endpoint address.
    pub fn endpoint_address(&self) -> Value<String> {
        self.resource.attr_endpoint_address()
    }

    /// The port it listens on ([`POSTGRES_PORT`]).
    pub fn port(&self) -> u16 {
        POSTGRES_PORT
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

    /// The secret of the master credentials (a JSON document with `username` and `password`),
    /// encrypted with the database's key; a replica has none of its own (its source's is replicated).
    pub fn secret(&self) -> Option<Secret> {
        self.secret.clone()
    }

    /// The instance's ARN, by which an instance of another region names it as its source.
    pub fn arn(&self) -> Value<String> {
        self.resource.attr_db_instance_arn()
    }

    /// An alarm when the replica's lag behind its source stays above `seconds` for five minutes (and
    /// when RDS stops reporting it: a replica that reports nothing is not replicating).
    pub fn replica_lag_alarm(&self, seconds: f64) -> MetricAlarm {
        MetricAlarm::above(
            format!("PostgreSQL replica more than {seconds} s behind its source for 5 minutes"),
            "AWS/RDS",
            "ReplicaLag",
            vec![("DBInstanceIdentifier".to_owned(), self.resource.ref_value())],
            AlarmStatistic::Maximum,
            seconds,
            5,
        )
        .missing_data(AlarmTreatMissingData::Breaching)
    }
}

impl Connectable for PostgresDatabase {
    fn connections(&self) -> Connections {
        Connections::new(self.security_groups.clone(), Some(Port::tcp(POSTGRES_PORT)), self.resource.path().construct())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value as Json};

    use super::*;
    use crate::construct::App;
    use crate::constructs::ids::Id;
    use crate::constructs::kms::KeyProps;
    use crate::constructs::network::{SubnetAttributes, VpcAttributes};

    fn vpc(prefix: &str) -> Vpc {
        let subnets = |tier: &str| {
            (1..=2).map(|n| SubnetAttributes::id(format!("subnet-{prefix}-{tier}{n}").as_str())).collect::<Vec<_>>()
        };
        Vpc::from_attributes(VpcAttributes {
            vpc_id: Some(Id::new(format!("vpc-{prefix}").as_str())),
            isolated_subnets: subnets("isolated"),
            private_app_subnets: subnets("private"),
            ..VpcAttributes::default()
        })
        .unwrap()
    }

    /// A primary with generated credentials replicated to eu-west-1, and its replica there.
    fn primary_and_replica(rotation_days: i64) -> Result<(Json, Json, Vec<String>), ConstructError> {
        let mut app = App::new("t");
        // The recovery region's key exists before the secret replicated under it, and the primary
        // before its replica.
        let keys = app.add_stack("RecoveryKeys", "eu-west-1")?;
        let primary = app.add_stack("Primary", "us-east-1")?;
        let recovery = app.add_stack("Recovery", "eu-west-1")?;
        let key = EncryptionKey::new(&mut primary.root(), "Key", KeyProps::default())?;
        let recovery_key = EncryptionKey::new(&mut keys.root(), "Key", KeyProps::default())?;
        let network = vpc("a");
        let rotation_group = SecurityGroup::new(&mut primary.root(), "Rotation", &network, "rotation")?;
        let database_group = SecurityGroup::new(&mut primary.root(), "Db", &network, "db")?;
        let credentials = MasterCredentials::Generated(Box::new(GeneratedCredentials {
            secret_name: None,
            replica_keys: vec![("eu-west-1".into(), recovery_key.clone())],
            rotation_days,
            rotation_subnets: SubnetSelection::PRIVATE_APP,
            rotation_security_group: rotation_group,
        }));
        let props = PostgresProps { credentials, security_groups: vec![database_group], ..PostgresProps::default() };
        let database = PostgresDatabase::new(&mut primary.root(), "Database", &network, &key, props)?;
        let replica_group = SecurityGroup::new(&mut recovery.root(), "Db", &vpc("b"), "db")?;
        let replica_props = ReplicaProps {
            source_arn: database.arn(),
            engine_version: "17.11".into(),
            instance_class: "db.r6g.large".into(),
            max_allocated_storage_gib: 500,
            subnets: SubnetSelection::ISOLATED,
            security_groups: vec![replica_group],
        };
        let replica =
            PostgresDatabase::replica(&mut recovery.root(), "Replica", &vpc("b"), &recovery_key, replica_props)?;
        assert!(replica.secret().is_none(), "a replica's credentials are its source's");
        replica.replica_lag_alarm(300.0).add(&mut recovery.root(), "Lag", vec![])?;
        let mut synth = app.synth()?;
        let transforms = match &synth.stacks[1].template["Transform"] {
            Json::String(one) => vec![one.clone()],
            _ => vec![],
        };
        let recovery = synth.stacks.remove(2).template;
        Ok((synth.stacks.remove(1).template, recovery, transforms))
    }

    /// RDS refuses a cross-region replica of an instance whose password it manages: the secret is the
    /// construct's, passed by dynamic reference, replicated under the other region's key, and rotated
    /// by a hosted function that the database admits.
    #[test]
    fn generated_credentials_are_passed_by_reference_replicated_and_rotated() {
        let (primary, _, transforms) = primary_and_replica(30).unwrap();
        let resources = &primary["Resources"];
        let instance = &resources["Database"]["Properties"];
        assert!(instance.get("ManageMasterUserPassword").is_none());
        assert_eq!(
            instance["MasterUserPassword"],
            json!({"Fn::Sub": ["{{resolve:secretsmanager:${SecretId}:SecretString:password}}", {"SecretId": {"Ref": "DatabaseMasterSecret"}}]})
        );
        let secret = &resources["DatabaseMasterSecret"]["Properties"];
        assert_eq!(secret["GenerateSecretString"]["SecretStringTemplate"], r#"{"username":"app_admin"}"#);
        assert_eq!(secret["GenerateSecretString"]["GenerateStringKey"], "password");
        assert_eq!(secret["ReplicaRegions"][0]["Region"], "eu-west-1");
        let replica_key = &secret["ReplicaRegions"][0]["KmsKeyId"]["Fn::GetStackOutput"];
        assert_eq!(replica_key["StackName"], "RecoveryKeys");
        assert_eq!(resources["DatabaseMasterSecretAttachment"]["Properties"]["TargetId"], json!({"Ref": "Database"}));
        let rotation = &resources["DatabaseMasterSecretRotation"]["Properties"];
        assert_eq!(rotation["SecretId"], json!({"Ref": "DatabaseMasterSecretAttachment"}));
        assert_eq!(rotation["RotationRules"]["AutomaticallyAfterDays"], 30);
        assert_eq!(rotation["HostedRotationLambda"]["RotationType"], "PostgreSQLSingleUser");
        assert_eq!(
            rotation["HostedRotationLambda"]["VpcSubnetIds"],
            json!({"Fn::Join": [",", ["subnet-a-private1", "subnet-a-private2"]]})
        );
        assert_eq!(transforms, [SECRETS_MANAGER_TRANSFORM]);
        let admitted = &resources["DbFromRotationPort5433Ingress"]["Properties"];
        assert_eq!(admitted["SourceSecurityGroupId"], json!({"Fn::GetAtt": ["Rotation", "GroupId"]}));
        let err = primary_and_replica(0).unwrap_err();
        assert!(err.to_string().contains("rotation_days must be 1 to 1000, not 0"), "{err}");
    }

    /// The replica names its source by ARN across regions, is encrypted with its own region's key, and
    /// sets none of what it takes from its source (name, user, password, storage, backups).
    #[test]
    fn a_cross_region_replica_names_its_source_by_arn_and_uses_its_own_key() {
        let (_, recovery, _) = primary_and_replica(30).unwrap();
        let replica = &recovery["Resources"]["Replica"]["Properties"];
        assert_eq!(
            replica["SourceDBInstanceIdentifier"],
            json!({"Fn::GetStackOutput": {"StackName": "Primary", "OutputName": "GetAttDatabaseDBInstanceArn", "Region": "us-east-1"}})
        );
        let key = json!({"Fn::ImportValue": "RecoveryKeys:GetAttKeyArn"});
        assert_eq!(replica["KmsKeyId"], key);
        assert_eq!(replica["PerformanceInsightsKMSKeyId"], key);
        assert_eq!(replica["DBSubnetGroupName"], json!({"Ref": "ReplicaSubnetGroup"}));
        assert_eq!(replica["DBParameterGroupName"], json!({"Ref": "ReplicaParameterGroup"}));
        assert_eq!(replica["MonitoringInterval"], 60);
        for taken in ["DBName", "MasterUsername", "MasterUserPassword", "ManageMasterUserPassword", "AllocatedStorage"]
        {
            assert!(replica.get(taken).is_none(), "{taken}");
        }
        let lag = &recovery["Resources"]["Lag"]["Properties"];
        assert_eq!(lag["MetricName"], "ReplicaLag");
        assert_eq!(lag["TreatMissingData"], "breaching");
    }

    #[test]
    fn a_replica_with_a_key_of_another_region_is_refused() {
        let mut app = App::new("t");
        let primary = app.add_stack("Primary", "us-east-1").unwrap();
        let key = EncryptionKey::new(&mut primary.root(), "Key", KeyProps::default()).unwrap();
        let recovery = app.add_stack("Recovery", "eu-west-1").unwrap();
        let group = SecurityGroup::new(&mut recovery.root(), "Db", &vpc("b"), "db").unwrap();
        let props = ReplicaProps {
            source_arn: Value::from("arn:aws:rds:us-east-1:111111111111:db:source"),
            engine_version: "17.11".into(),
            instance_class: "db.r6g.large".into(),
            max_allocated_storage_gib: 500,
            subnets: SubnetSelection::ISOLATED,
            security_groups: vec![group],
        };
        let err = PostgresDatabase::replica(&mut recovery.root(), "Replica", &vpc("b"), &key, props).unwrap_err();
        assert!(err.to_string().contains("cannot use a KMS key of us-east-1"), "{err}");
    }
}
