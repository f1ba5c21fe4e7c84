//! Data constructs: secrets, queues, buckets, PostgreSQL and Redis, each encrypted with a
//! customer-managed key and with grants that name exact ARNs.

mod bucket;
mod postgres;
mod queue;
mod redis;
mod secret;

pub use bucket::{
    AccessLogBucketProps, AccessLogs, Bucket, BucketProps, BucketReplication, REPLICATION_RULE_ID,
    REPLICATION_TIME_MINUTES,
};
pub use postgres::{
    GeneratedCredentials, MasterCredentials, PostgresDatabase, PostgresProps, ReplicaProps, POSTGRES_PORT,
    SECRETS_MANAGER_TRANSFORM,
};
pub use queue::{Queue, QueueProps};
pub use redis::{RedisAuth, RedisCluster, RedisLogin, RedisProps, RedisUser, SecondaryProps, REDIS_PORT};
pub use secret::{Secret, SecretProps};

#[cfg(test)]
mod tests {
    use serde_json::{json, Value as Json};

    use super::*;
    use crate::construct::App;
    use crate::constructs::iam::{Role, RoleProps, Statement};
    use crate::constructs::ids::{Id, Name};
    use crate::constructs::kms::{EncryptionKey, KeyProps};
    use crate::constructs::network::{Connectable, SecurityGroup, SubnetAttributes, Vpc, VpcAttributes};
    use crate::template::Value;

    /// Builds one of each data construct, plus a role in another stack granted access to them, and
    /// returns the synthesized templates of the data and compute stacks.
    fn synthesized() -> (Json, Json) {
        let mut app = App::new("t");
        let stack = app.add_stack("Data", "us-east-1").unwrap();
        let mut root = stack.root();
        let vpc = Vpc::from_attributes(VpcAttributes {
            vpc_id: Some(Id::new("vpc-1")),
            isolated_subnets: vec![SubnetAttributes::id("subnet-1"), SubnetAttributes::id("subnet-2")],
            ..VpcAttributes::default()
        })
        .unwrap();
        let key = EncryptionKey::new(&mut root, "Key", KeyProps::default()).unwrap();
        let logs_props =
            AccessLogBucketProps { name: Some(Value::from("t-logs")), expire_days: 30, ..Default::default() };
        let logs = Bucket::access_logs(&mut root, "Logs", logs_props).unwrap();
        let logged = |prefix: &str| Some(AccessLogs { bucket: logs.clone(), prefix: prefix.into() });
        let documents_props = BucketProps {
            name: Some(Value::from("t-documents")),
            access_logs: logged("documents/"),
            ..Default::default()
        };
        let documents = Bucket::new(&mut root, "Documents", &key, documents_props).unwrap();
        let audit_props = BucketProps {
            name: Some(Value::from("t-audit")),
            noncurrent_version_days: 30,
            object_lock_days: Some(2557),
            access_logs: logged("audit/"),
            event_bridge: false,
            replication: None,
        };
        Bucket::new(&mut root, "Audit", &key, audit_props).unwrap();
        let queue =
            Queue::new(&mut root, "Jobs", &key, &QueueProps { max_receive_count: 3, ..QueueProps::default() }).unwrap();
        let token_props = SecretProps { description: Some("auth".into()), length: 64, ..SecretProps::default() };
        let password = Secret::new(&mut root, "AppPassword", &key, token_props).unwrap();
        let cache_props = RedisProps { node_type: "cache.t4g.small".into(), ..RedisProps::default() };
        let user = RedisUser {
            name: "app".into(),
            access_string: "on ~app:* +@all -@dangerous".into(),
            password: password.clone(),
        };
        let auth = RedisAuth::Users { id_prefix: "t".into(), users: vec![user] };
        let cache = RedisCluster::new(&mut root, "Cache", &vpc, &key, &auth, cache_props).unwrap();
        let database_props = PostgresProps {
            instance_class: "db.t4g.medium".into(),
            allocated_storage_gib: 20,
            max_allocated_storage_gib: 100,
            ..PostgresProps::default()
        };
        let database = PostgresDatabase::new(&mut root, "Database", &vpc, &key, database_props).unwrap();

        let compute = app.add_stack("Compute", "us-east-1").unwrap();
        let role = Role::new(
            &mut compute.root(),
            "Worker",
            RoleProps {
                description: "worker".into(),
                trust: Statement::assume_role("ecs-tasks.amazonaws.com"),
                statements: vec![],
                managed_policy_arns: vec![],
                path: None,
            },
        )
        .unwrap();
        let tasks = SecurityGroup::new(&mut compute.root(), "Tasks", &vpc, "tasks").unwrap();
        database.connections().allow_default_port_from(&tasks).unwrap();
        cache.connections().allow_default_port_from(&tasks).unwrap();
        queue.grant_consume(&role).unwrap();
        queue.grant_send(&role).unwrap();
        documents.grant_read_write(&role).unwrap();
        password.grant_read(&role).unwrap();
        let synth = app.synth().unwrap();
        (synth.stacks[0].template["Resources"].clone(), synth.stacks[1].template["Resources"].clone())
    }

    #[test]
    fn stores_own_their_ports_and_admit_only_what_connects() {
        let (data, compute) = synthesized();
        assert_eq!(data["DatabaseSecurityGroup"]["Type"], "AWS::EC2::SecurityGroup");
        assert_eq!(
            data["Database"]["Properties"]["VPCSecurityGroups"],
            json!([{"Fn::GetAtt": ["DatabaseSecurityGroup", "GroupId"]}])
        );
        assert_eq!(data["Database"]["Properties"]["Port"], "5433", "not PostgreSQL's default 5432");
        let rule = &compute["DatabaseSecurityGroupFromTasksPort5433Ingress"]["Properties"];
        assert_eq!(rule["FromPort"], 5433);
        assert_eq!(rule["Description"], "Compute/Tasks to Data/Database on 5433");
        assert_eq!(compute["CacheSecurityGroupFromTasksPort6379Ingress"]["Properties"]["ToPort"], 6379);
    }

    #[test]
    fn postgres_is_multi_az_encrypted_protected_and_snapshotted() {
        let (data, _) = synthesized();
        let database = &data["Database"];
        assert_eq!(database["DeletionPolicy"], "Snapshot");
        assert_eq!(database["UpdateReplacePolicy"], "Snapshot");
        let p = &database["Properties"];
        for (property, expected) in [
            ("MultiAZ", json!(true)),
            ("StorageEncrypted", json!(true)),
            ("StorageType", json!("gp3")),
            ("PubliclyAccessible", json!(false)),
            ("DeletionProtection", json!(true)),
            ("ManageMasterUserPassword", json!(true)),
            ("EnableIAMDatabaseAuthentication", json!(true)),
            ("EnablePerformanceInsights", json!(true)),
            ("MonitoringInterval", json!(60)),
            ("BackupRetentionPeriod", json!(7)),
            ("EnableCloudwatchLogsExports", json!(["postgresql", "upgrade"])),
        ] {
            assert_eq!(p[property], expected, "{property}");
        }
        assert!(p.get("MasterUserPassword").is_none(), "RDS keeps the password");
        assert_eq!(p["KmsKeyId"], json!({"Fn::GetAtt": ["Key", "Arn"]}));
        assert_eq!(p["PerformanceInsightsKMSKeyId"], json!({"Fn::GetAtt": ["Key", "Arn"]}));
        assert_eq!(data["DatabaseParameterGroup"]["Properties"]["Parameters"], json!({"rds.force_ssl": "1"}));
        assert_eq!(data["DatabaseParameterGroup"]["Properties"]["Family"], "postgres17");
    }

    #[test]
    fn redis_fails_over_encrypts_both_ways_and_admits_its_users_by_password_reference() {
        let (data, _) = synthesized();
        let cache = &data["Cache"];
        assert_eq!(cache["DeletionPolicy"], "Snapshot");
        let p = &cache["Properties"];
        for property in
            ["MultiAZEnabled", "AutomaticFailoverEnabled", "AtRestEncryptionEnabled", "TransitEncryptionEnabled"]
        {
            assert_eq!(p[property], json!(true), "{property}");
        }
        assert_eq!(p["NumCacheClusters"], 2, "a primary and one replica");
        assert!(p.get("AuthToken").is_none(), "users, not a shared token");
        assert_eq!(p["UserGroupIds"], json!([{"Ref": "CacheUserGroup"}]));
        let group = &data["CacheUserGroup"]["Properties"];
        assert_eq!(group["UserGroupId"], "t-users");
        assert_eq!(group["UserIds"], json!([{"Ref": "CacheDefaultUser"}, {"Ref": "CacheAppUser"}]));
        let default = &data["CacheDefaultUser"]["Properties"];
        assert_eq!(
            (default["UserName"].clone(), default["AccessString"].clone()),
            (json!("default"), json!("off -@all"))
        );
        let app_user = &data["CacheAppUser"]["Properties"];
        assert_eq!((app_user["UserId"].clone(), app_user["UserName"].clone()), (json!("t-app"), json!("app")));
        assert_eq!(
            app_user["AuthenticationMode"],
            json!({"Type": "password", "Passwords": [
                {"Fn::Sub": ["{{resolve:secretsmanager:${SecretId}:SecretString}}", {"SecretId": {"Ref": "AppPassword"}}]}
            ]})
        );
        let password = &data["AppPassword"];
        assert_eq!(password["DeletionPolicy"], "Retain");
        assert_eq!(password["Properties"]["GenerateSecretString"]["ExcludePunctuation"], true);
        assert_eq!(password["Properties"]["KmsKeyId"], json!({"Fn::GetAtt": ["Key", "Arn"]}));
    }

    #[test]
    fn the_queue_has_a_dead_letter_queue_encryption_and_a_tls_only_policy() {
        let (data, _) = synthesized();
        let jobs = &data["Jobs"]["Properties"];
        assert_eq!(jobs["RedrivePolicy"]["maxReceiveCount"], 3);
        assert_eq!(jobs["RedrivePolicy"]["deadLetterTargetArn"], json!({"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}));
        assert_eq!(jobs["KmsMasterKeyId"], json!({"Fn::GetAtt": ["Key", "Arn"]}));
        assert_eq!(data["JobsDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"], 1_209_600);
        let deny = &data["JobsPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
        assert_eq!(deny["Effect"], "Deny");
        assert_eq!(deny["Condition"], json!({"Bool": {"aws:SecureTransport": "false"}}));
    }

    #[test]
    fn buckets_are_private_versioned_encrypted_logged_and_retained() {
        let (data, _) = synthesized();
        let documents = &data["Documents"];
        assert_eq!(documents["DeletionPolicy"], "Retain");
        let p = &documents["Properties"];
        assert_eq!(
            p["PublicAccessBlockConfiguration"],
            json!({"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true})
        );
        assert_eq!(p["VersioningConfiguration"]["Status"], "Enabled");
        let encryption = &p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
        assert_eq!(encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"], "aws:kms");
        assert_eq!(p["LoggingConfiguration"]["DestinationBucketName"], json!({"Ref": "Logs"}));
        assert!(p["LifecycleConfiguration"]["Rules"][0]["NoncurrentVersionExpiration"].is_object());
        assert!(p.get("ObjectLockConfiguration").is_none());
        assert_eq!(
            data["DocumentsPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]["Sid"],
            "DenyInsecureTransport"
        );

        let audit = &data["Audit"]["Properties"];
        assert_eq!(audit["ObjectLockEnabled"], true);
        assert_eq!(
            audit["ObjectLockConfiguration"]["Rule"]["DefaultRetention"],
            json!({"Days": 2557, "Mode": "COMPLIANCE"})
        );
        let logs = &data["Logs"];
        assert_eq!(logs["Metadata"]["checkov"]["skip"][0]["id"], "CKV_AWS_18");
    }

    #[test]
    fn grants_name_exact_resources_in_the_roles_stack() {
        let (data, compute) = synthesized();
        let policies: Vec<&Json> =
            compute.as_object().unwrap().values().filter(|r| r["Type"] == "AWS::IAM::Policy").collect();
        assert_eq!(policies.len(), 4, "consume, send, read-write and read");
        for policy in &policies {
            for statement in policy["Properties"]["PolicyDocument"]["Statement"].as_array().unwrap() {
                assert_ne!(statement["Resource"], json!(["*"]), "{statement}");
                for resource in statement["Resource"].as_array().unwrap() {
                    assert!(!resource.as_str().is_some_and(|arn| arn.contains('*')), "{resource}");
                }
            }
        }
        assert!(
            data.as_object().unwrap().values().all(|r| r["Type"] != "AWS::IAM::Policy"),
            "grants live with the role"
        );
        let consume = &compute["WorkerConsumeJobs"]["Properties"]["PolicyDocument"]["Statement"][0];
        assert_eq!(consume["Resource"], json!([{"Fn::ImportValue": "Data:GetAttJobsArn"}]));
        assert!(consume["Action"].as_array().unwrap().contains(&json!("sqs:DeleteMessage")));
    }

    #[test]
    fn imported_resources_take_grants_by_their_identifiers() {
        let mut app = App::new("t");
        let stack = app.add_stack("Compute", "us-east-1").unwrap();
        let role = Role::new(
            &mut stack.root(),
            "Worker",
            RoleProps::new("worker", Statement::assume_role("ecs-tasks.amazonaws.com")),
        )
        .unwrap();
        let queue = Queue::from_arn(crate::constructs::ids::Arn::new("arn:aws:sqs:us-east-1:111122223333:jobs"), None);
        queue.grant_consume(&role).unwrap();
        let bucket = Bucket::from_name(crate::constructs::ids::Name::new("reports"), None);
        bucket.grant_read_write(&role).unwrap();
        let synth = app.synth().unwrap();
        let resources = &synth.stacks[0].template["Resources"];
        let consume = &resources["WorkerConsumeImportedarnawssqsuseast1111122223333jobs"]["Properties"];
        assert_eq!(
            consume["PolicyDocument"]["Statement"][0]["Resource"],
            json!(["arn:aws:sqs:us-east-1:111122223333:jobs"])
        );
        assert_eq!(consume["PolicyDocument"]["Statement"].as_array().unwrap().len(), 1, "no key, no kms statement");
        assert_eq!(
            queue.url(),
            Value::sub_with(
                "https://sqs.${AWS::Region}.${AWS::URLSuffix}/${AWS::AccountId}/${Name}",
                [("Name", Value::select(5, Value::split(":", Value::from("arn:aws:sqs:us-east-1:111122223333:jobs"))))]
            )
        );
        let read_write =
            resources.as_object().unwrap().keys().find(|id| id.starts_with("WorkerReadWriteImported")).unwrap();
        let statements = &resources[read_write]["Properties"]["PolicyDocument"]["Statement"];
        assert_eq!(
            statements[0]["Resource"],
            json!([{"Fn::Sub": ["arn:${AWS::Partition}:s3:::${Name}", {"Name": "reports"}]}])
        );
    }

    #[test]
    fn a_replicating_bucket_needs_a_fixed_name() {
        let mut app = App::new("t");
        let stack = app.add_stack("S", "us-east-1").unwrap();
        let key = EncryptionKey::new(&mut stack.root(), "Key", KeyProps::default()).unwrap();
        let replica = Bucket::from_name(Name::new("replica"), None);
        let replication = || BucketReplication {
            destination: replica.clone(),
            destination_key: crate::constructs::ids::Arn::new("arn:aws:kms:eu-west-1:111122223333:key/k"),
            destination_region: "eu-west-1".into(),
        };
        let unnamed = BucketProps { replication: Some(replication()), ..BucketProps::default() };
        let err = Bucket::new(&mut stack.root(), "Unnamed", &key, unnamed).unwrap_err();
        assert!(err.to_string().contains("needs a fixed name"), "{err}");
        let named = BucketProps {
            name: Some(Value::from("source")),
            replication: Some(replication()),
            ..BucketProps::default()
        };
        Bucket::new(&mut stack.root(), "Named", &key, named).unwrap();
        let template = app.synth().unwrap().stacks.remove(0).template;
        let role = &template["Resources"]["NamedReplicationRole"]["Properties"]["Policies"][0]["PolicyDocument"];
        // The role names the source by its fixed name, so the bucket and its role do not form a cycle.
        assert!(role.to_string().contains("arn:${AWS::Partition}:s3:::${Name}"), "{role}");
        assert_eq!(
            template["Resources"]["Named"]["Properties"]["ReplicationConfiguration"]["Role"],
            json!({"Fn::GetAtt": ["NamedReplicationRole", "Arn"]})
        );
    }

    #[test]
    fn a_secret_replica_takes_a_key_of_its_own_region_only() {
        let mut app = App::new("t");
        let primary = app.add_stack("Primary", "us-east-1").unwrap();
        let recovery = app.add_stack("Recovery", "eu-west-1").unwrap();
        let key = EncryptionKey::new(&mut primary.root(), "Key", KeyProps::default()).unwrap();
        let recovery_key = EncryptionKey::new(&mut recovery.root(), "Key", KeyProps::default()).unwrap();
        let props = |replica_key: &EncryptionKey| SecretProps {
            replica_regions: vec!["eu-west-1".into()],
            replica_keys: vec![("eu-west-1".into(), replica_key.clone())],
            ..SecretProps::default()
        };
        let err = Secret::new(&mut primary.root(), "Wrong", &key, props(&key)).unwrap_err();
        assert!(err.to_string().contains("a secret's replica in eu-west-1 cannot use a KMS key of us-east-1"), "{err}");
        Secret::new(&mut primary.root(), "Right", &key, props(&recovery_key)).unwrap();
        let stray = SecretProps { replica_keys: vec![("eu-west-1".into(), recovery_key)], ..SecretProps::default() };
        let err = Secret::new(&mut primary.root(), "Stray", &key, stray).unwrap_err();
        assert!(err.to_string().contains("which is not a replica region"), "{err}");
    }
}
