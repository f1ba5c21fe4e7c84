//! The storage stack of the disaster-recovery region (`<App>-DisasterRecovery-Storage`): where the
//! primary's document and audit-log buckets replicate to, with a key of the region (a customer-managed
//! key never leaves its region), and the region's own work queue with its dead-letter queue (messages in
//! flight in a failed region are the accepted loss; the standby starts from an empty queue). It deploys
//! before the primary's data stack, whose replication rules name these buckets and this key. Its alarms
//! notify a topic of its own region (`<App>-DisasterRecovery-Operations`): an alarm cannot act on a topic
//! of another region.
//!
//! Replication uses S3 Replication Time Control: 99.99% of new objects within 15 minutes, the recovery
//! point the platform promises, with the latency the primary's operations stack alarms on. The
//! audit-log replica keeps Object Lock in compliance mode for the same days as its source.

use super::data::{stores, Stores, StoresProps};
use super::names::bucket_name;
use super::support::subscribers;
use super::PlatformError;
use crate::config::{DataConfig, MonitoringConfig, PlatformConfig, RegionConfig};
use crate::construct::Scope;
use crate::construct::Stack;
use crate::constructs::data::{Bucket, BucketReplication, Queue};
use crate::constructs::kms::{EncryptionKey, KeyProps};
use crate::constructs::monitoring::AlarmTopic;
use crate::template::Value;

/// What the recovery region stores: where the primary's buckets replicate to, and its own queue.
#[derive(Debug, Clone)]
pub(super) struct RecoveryStorage {
    /// The region.
    pub region: String,
    /// The key of the replicas.
    pub key: EncryptionKey,
    /// The documents' replica.
    pub documents: Bucket,
    /// The audit logs' replica, under Object Lock.
    pub audit_logs: Bucket,
    /// The replicas' deterministic names (documents, audit logs), for stacks that must not depend on
    /// this one just to name them (alarm dimensions).
    pub names: [Value<String>; 2],
    /// The region's own work queue, with its dead-letter queue.
    pub queue: Queue,
    /// The access-log bucket of the region's buckets (and of its load balancers, when it stands by).
    pub access_logs: Bucket,
}

impl RecoveryStorage {
    /// How `source`'s bucket replicates to `destination`.
    pub fn replication(&self, destination: &Bucket) -> BucketReplication {
        BucketReplication {
            destination: destination.clone(),
            destination_key: self.key.arn(),
            destination_region: self.region.clone(),
        }
    }
}

/// Builds the replica buckets of the primary's data tier and the region's queue into `stack`, in
/// `region`, as the primary's data config `primary` sizes them.
pub(super) fn build(
    stack: &Stack,
    config: &PlatformConfig,
    region: &RegionConfig,
    primary: &DataConfig,
    key_path: &str,
) -> Result<RecoveryStorage, PlatformError> {
    stack.set_description(format!(
        "Storage of {} in {}: the replicas of the primary region's document and audit-log buckets (S3 \
         Replication Time Control, 15 minutes) and the region's work queue, encrypted with this region's key.",
        config.app, region.region
    ));
    let mut root = stack.root();
    let key_props = KeyProps {
        description: Some(format!("Encrypts the disaster-recovery data of {} in {}", config.app, region.region)),
        grants: vec![],
    };
    let key = EncryptionKey::new(&mut root, "RecoveryKey", key_props)?;
    // A standby's load balancers log here too.
    let load_balancer_account = match region.standby {
        Some(_) => Some(super::data::load_balancer_log_account(stack, key_path)?),
        None => None,
    };
    let props = StoresProps {
        app_name: &config.app,
        region: &region.region,
        config: primary,
        load_balancer_account,
        cloudfront_delivery: false,
        replicas: None,
    };
    let Stores { access_logs, documents, audit_logs, queue } = stores(&mut root, &key, props)?;
    let names = [
        Value::sub(bucket_name(&config.app, "documents", &region.region)),
        Value::sub(bucket_name(&config.app, "audit-logs", &region.region)),
    ];
    Ok(RecoveryStorage { region: region.region.clone(), key, documents, audit_logs, names, queue, access_logs })
}

/// Builds the recovery region's alarm topic and the alarms on its queue into `stack`, with the region's
/// `monitoring` (subscribers and thresholds), or the primary's when it names no subscribers.
pub(super) fn operations(
    stack: &Stack,
    storage: &RecoveryStorage,
    own: &MonitoringConfig,
    primary: &MonitoringConfig,
) -> Result<(), PlatformError> {
    stack.set_description(format!(
        "Operations of {} ({}): the region's encrypted alarm topic and the alarms on its work queue.",
        stack.name(),
        stack.region()
    ));
    // A recovery region that names no subscribers of its own is watched as the primary is.
    let monitoring = if own.notify.is_empty() { primary } else { own };
    let mut root: Scope = stack.root();
    let topic = AlarmTopic::new(&mut root, "AlarmTopic", &subscribers(monitoring))?;
    let queue = &storage.queue;
    if let Some(alarm) = queue.dead_letter_alarm() {
        alarm.add(&mut root, "DeadLetterQueueAlarm", vec![topic.arn()])?;
    }
    queue.oldest_message_alarm(monitoring.thresholds.queue_oldest_message_seconds).add(
        &mut root,
        "WorkQueueAgeAlarm",
        vec![topic.arn()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value as Json};

    use super::super::test_support::default_config;
    use crate::platform::build;

    const STORAGE: &str = "IntegrationPlatform-DisasterRecovery-Storage";
    const DATA: &str = "IntegrationPlatform-Primary-Data";

    fn templates() -> Vec<(String, String, Json)> {
        let app = build(&default_config()).unwrap().synth().unwrap();
        app.stacks.into_iter().map(|stack| (stack.name, stack.region, stack.template)).collect()
    }

    fn template<'a>(templates: &'a [(String, String, Json)], name: &str) -> &'a Json {
        &templates.iter().find(|(stack, _, _)| stack == name).unwrap().2
    }

    /// Both buckets replicate with Replication Time Control (15 minutes) and its metrics, delete markers
    /// and KMS-encrypted objects, to buckets of eu-west-1 encrypted with a key of eu-west-1; the audit
    /// logs' replica keeps Object Lock.
    #[test]
    fn documents_and_audit_logs_replicate_to_eu_west_1_within_fifteen_minutes() {
        let templates = templates();
        let order: Vec<&str> = templates.iter().map(|(name, _, _)| name.as_str()).collect();
        let position = |name: &str| order.iter().position(|stack| *stack == name).unwrap();
        assert!(position(STORAGE) < position(DATA), "the replicas exist before the rules naming them");
        assert_eq!(templates[position(STORAGE)].1, "eu-west-1");
        let storage = &template(&templates, STORAGE)["Resources"];
        let data = &template(&templates, DATA)["Resources"];
        let from_storage = |output: &str| json!({"Fn::GetStackOutput": {"StackName": STORAGE, "OutputName": output, "Region": "eu-west-1"}});
        for (bucket, replica_output) in
            [("DocumentsBucket", "GetAttDocumentsBucketArn"), ("AuditLogsBucket", "GetAttAuditLogsBucketArn")]
        {
            let rules = &data[bucket]["Properties"]["ReplicationConfiguration"]["Rules"];
            assert_eq!(rules.as_array().unwrap().len(), 1, "{bucket}");
            let rule = &rules[0];
            assert_eq!(rule["Status"], "Enabled");
            assert_eq!(rule["DeleteMarkerReplication"]["Status"], "Enabled");
            assert_eq!(rule["SourceSelectionCriteria"]["SseKmsEncryptedObjects"]["Status"], "Enabled");
            let destination = &rule["Destination"];
            assert_eq!(destination["Bucket"], from_storage(replica_output), "{bucket}");
            assert_eq!(destination["EncryptionConfiguration"]["ReplicaKmsKeyID"], from_storage("GetAttRecoveryKeyArn"));
            assert_eq!(destination["ReplicationTime"], json!({"Status": "Enabled", "Time": {"Minutes": 15}}));
            assert_eq!(destination["Metrics"], json!({"Status": "Enabled", "EventThreshold": {"Minutes": 15}}));
            // The replica is KMS-encrypted with the region's own key and versioned.
            let replica = &storage[bucket]["Properties"];
            assert_eq!(replica["VersioningConfiguration"]["Status"], "Enabled");
            let encryption = &replica["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
            assert_eq!(
                encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"],
                json!({"Fn::GetAtt": ["RecoveryKey", "Arn"]})
            );
        }
        let audit = &storage["AuditLogsBucket"]["Properties"];
        assert_eq!(audit["ObjectLockEnabled"], true);
        assert_eq!(audit["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"], "COMPLIANCE");
        assert_eq!(
            audit["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Days"],
            data["AuditLogsBucket"]["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Days"]
        );
    }

    /// The replication role can do the whole job and nothing more: read versions with their retention and
    /// legal holds, decrypt with the source key through S3 in us-east-1, write replicas to the replica
    /// bucket and encrypt with the replica key through S3 in eu-west-1.
    #[test]
    fn the_replication_role_is_complete_and_least_privilege() {
        let templates = templates();
        let data = &template(&templates, DATA)["Resources"];
        let role = &data["AuditLogsBucketReplicationRole"]["Properties"];
        assert_eq!(role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"], "s3.amazonaws.com");
        let statements = role["Policies"][0]["PolicyDocument"]["Statement"].as_array().unwrap();
        let actions: Vec<&str> =
            statements.iter().flat_map(|s| s["Action"].as_array().unwrap()).map(|a| a.as_str().unwrap()).collect();
        for needed in
            ["s3:GetObjectRetention", "s3:GetObjectLegalHold", "s3:ReplicateObject", "kms:Decrypt", "kms:Encrypt"]
        {
            assert!(actions.contains(&needed), "{needed}");
        }
        let via = |action: &str| {
            let statement =
                statements.iter().find(|s| s["Action"].as_array().unwrap().contains(&json!(action))).unwrap();
            statement["Condition"]["StringEquals"]["kms:ViaService"].clone()
        };
        assert_eq!(via("kms:Decrypt"), json!({"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}));
        assert_eq!(via("kms:Encrypt"), json!("s3.eu-west-1.amazonaws.com"));
        for statement in statements {
            assert!(!statement["Resource"].as_array().unwrap().contains(&json!("*")), "{statement}");
        }
    }

    /// eu-west-1 has its own work queue and dead-letter queue under its own key, and their alarms notify
    /// a topic of eu-west-1 (an alarm cannot act on another region's topic), subscribed as the primary's.
    #[test]
    fn the_recovery_region_has_its_own_queue_watched_by_its_own_topic() {
        let templates = templates();
        let storage = &template(&templates, STORAGE)["Resources"];
        let recovery_key = json!({"Fn::GetAtt": ["RecoveryKey", "Arn"]});
        assert_eq!(storage["WorkQueue"]["Properties"]["KmsMasterKeyId"], recovery_key);
        assert_eq!(storage["WorkQueueDeadLetterQueue"]["Properties"]["KmsMasterKeyId"], recovery_key);
        assert!(storage["WorkQueue"]["Properties"]["RedrivePolicy"].to_string().contains("WorkQueueDeadLetterQueue"));
        let operations_name = "IntegrationPlatform-DisasterRecovery-Operations";
        let region = &templates.iter().find(|(name, _, _)| name == operations_name).unwrap().1;
        assert_eq!(region, "eu-west-1");
        let operations = &template(&templates, operations_name)["Resources"];
        for alarm in ["DeadLetterQueueAlarm", "WorkQueueAgeAlarm"] {
            assert_eq!(operations[alarm]["Properties"]["AlarmActions"], json!([{"Ref": "AlarmTopic"}]), "{alarm}");
        }
        let subscription = operations
            .as_object()
            .unwrap()
            .values()
            .find(|resource| resource["Type"] == "AWS::SNS::Subscription")
            .unwrap();
        assert_eq!(subscription["Properties"]["Endpoint"], "platform-alerts@integration-platform.example.com");
    }
}
