//! SQS: a queue with a dead-letter queue.
//!
//! ## Secure defaults
//! - Both queues are encrypted with a customer-managed KMS key (checkov CKV_AWS_27).
//! - A queue policy denies every request not made over TLS.
//! - Messages that fail `max_receive_count` times move to the dead-letter queue, which keeps them 14
//!   days, the SQS maximum.
//! - `Retain` on deletion and replacement: undelivered messages are data.

use crate::cfn::cloudwatch::alarm::AlarmStatistic;
use crate::cfn::prelude::*;
use crate::cfn::{kms, sqs};
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::iam::{grant_label, Grantee, PolicyDocument, Principal, Statement};
use crate::constructs::ids::Arn;
use crate::constructs::kms::EncryptionKey;
use crate::constructs::monitoring::MetricAlarm;
use crate::template::{RemovalPolicy, Value};

/// The longest SQS keeps a message: 14 days.
const MAX_RETENTION_SECONDS: i64 = 14 * 24 * 60 * 60;

/// How to build a [`Queue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueProps {
    /// Receives before a message moves to the dead-letter queue. Default: 5.
    pub max_receive_count: i64,
    /// Seconds a received message stays invisible to other consumers. Default: 60.
    pub visibility_timeout_seconds: i64,
    /// Seconds the main queue keeps a message. Default: 4 days.
    pub retention_seconds: i64,
}

impl Default for QueueProps {
    fn default() -> Self {
        Self { max_receive_count: 5, visibility_timeout_seconds: 60, retention_seconds: 4 * 24 * 60 * 60 }
    }
}

/// An encrypted SQS queue and its dead-letter queue, or an existing queue imported by ARN.
///
/// A queue is not a bucket: grants and props that want one do not take the other.
///
/// ```compile_fail
/// use cfn_synth::constructs::data::{AccessLogs, Queue};
/// use cfn_synth::constructs::ids::Arn;
/// let queue = Queue::from_arn(Arn::new("arn:aws:sqs:us-east-1:111122223333:jobs"), None);
/// // Access logs go to a bucket; a queue does not compile here.
/// let logs = AccessLogs { bucket: queue, prefix: "logs/".into() };
/// ```
#[derive(Debug, Clone)]
pub struct Queue {
    arn: Arn<sqs::Queue>,
    resource: Option<ResourceRef<sqs::Queue>>,
    dead_letter: Option<ResourceRef<sqs::Queue>>,
    key_arn: Option<Arn<kms::Key>>,
}

impl Queue {
    /// Adds the queue, its dead-letter queue and their TLS-only policy under `id`.
    pub fn new(scope: &mut Scope, id: &str, key: &EncryptionKey, props: &QueueProps) -> Result<Self, ConstructError> {
        key.ensure_in_region(scope.region(), &format!("{}/{id}", scope.path()), "a queue")?;
        let mut scope = scope.child(id)?;
        let retain = |entry: crate::template::Resource| entry.removal_policy(RemovalPolicy::Retain);
        let dead_letter = scope.add_with(
            "DeadLetterQueue",
            sqs::Queue::new().kms_master_key_id(key.arn()).message_retention_period(MAX_RETENTION_SECONDS),
            |entry| {
                retain(entry).guard_suppression(
                    "SQS_DLQ_CHECK",
                    "This is the dead-letter queue: the messages it holds are kept for the longest retention \
                     and inspected by hand; a dead-letter queue of its own would only move them again.",
                )
            },
        )?;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dead_letter.attr_arn(),
            "maxReceiveCount": props.max_receive_count,
        });
        let resource = scope.add_with(
            "Resource",
            sqs::Queue::new()
                .kms_master_key_id(key.arn())
                .visibility_timeout(props.visibility_timeout_seconds)
                .message_retention_period(props.retention_seconds)
                .redrive_policy(redrive),
            retain,
        )?;
        let tls_only = Statement::deny(["sqs:*"])
            .sid("DenyInsecureTransport")
            .principal(Principal::Aws(Value::from("*")))
            .resource(resource.attr_arn())
            .resource(dead_letter.attr_arn())
            .condition("Bool", "aws:SecureTransport", "false");
        scope.add(
            "Policy",
            sqs::QueuePolicy::new(
                PolicyDocument::new(vec![tls_only]),
                vec![resource.attr_queue_url(), dead_letter.attr_queue_url()],
            ),
        )?;
        Ok(Self {
            arn: Arn::new(resource.attr_arn()),
            resource: Some(resource),
            dead_letter: Some(dead_letter),
            key_arn: Some(key.arn()),
        })
    }

    /// An existing queue, by ARN, encrypted with `key` when it is a customer-managed key.
    pub fn from_arn(arn: Arn<sqs::Queue>, key: Option<&EncryptionKey>) -> Self {
        Self { arn, resource: None, dead_letter: None, key_arn: key.map(EncryptionKey::arn) }
    }

    /// The queue resource, unless the queue is imported.
    pub fn resource(&self) -> Option<&ResourceRef<sqs::Queue>> {
        self.resource.as_ref()
    }

    /// The dead-letter queue resource, unless the queue is imported.
    pub fn dead_letter_queue(&self) -> Option<&ResourceRef<sqs::Queue>> {
        self.dead_letter.as_ref()
    }

    /// The queue's name, the `QueueName` dimension of its CloudWatch metrics: the last part of its ARN.
    pub fn name(&self) -> Value<String> {
        match &self.resource {
            Some(resource) => resource.get_att("QueueName"),
            None => Value::select(5, Value::split(":", self.arn.value())),
        }
    }

    /// The dead-letter queue's name, unless the queue is imported.
    pub fn dead_letter_name(&self) -> Option<Value<String>> {
        self.dead_letter.as_ref().map(|dead_letter| dead_letter.get_att("QueueName"))
    }

    /// The queue's URL, which SDK clients send to and receive from.
    pub fn url(&self) -> Value<String> {
        match &self.resource {
            Some(resource) => resource.attr_queue_url(),
            None => Value::sub_with(
                "https://sqs.${AWS::Region}.${AWS::URLSuffix}/${AWS::AccountId}/${Name}",
                [("Name", self.name())],
            ),
        }
    }

    /// The queue's ARN.
    pub fn arn(&self) -> Arn<sqs::Queue> {
        self.arn.clone()
    }

    /// An alarm when any message reaches the dead-letter queue (a message that failed every receive),
    /// unless the queue is imported.
    pub fn dead_letter_alarm(&self) -> Option<MetricAlarm> {
        let dimensions = vec![("QueueName".to_owned(), self.dead_letter_name()?)];
        let alarm = MetricAlarm::above(
            "A message reached the dead-letter queue: it failed every receive",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            dimensions,
            AlarmStatistic::Maximum,
            0.0,
            1,
        );
        Some(alarm)
    }

    /// An alarm when the oldest message has waited more than `seconds` for five minutes: consumers are
    /// not keeping up.
    pub fn oldest_message_alarm(&self, seconds: f64) -> MetricAlarm {
        MetricAlarm::above(
            format!("A message has waited over {seconds} seconds: consumers are not keeping up"),
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            vec![("QueueName".to_owned(), self.name())],
            AlarmStatistic::Maximum,
            seconds,
            5,
        )
    }

    /// Sending: this queue's ARN, and the key's data keys only through SQS.
    pub fn send_statements(&self) -> Vec<Statement> {
        let send =
            Statement::allow(["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]).resource(self.arn());
        [Some(send), self.key_statement(["kms:GenerateDataKey", "kms:Decrypt"])].into_iter().flatten().collect()
    }

    /// Consuming: receive, delete and extend visibility on this queue's ARN.
    pub fn consume_statements(&self) -> Vec<Statement> {
        let consume = Statement::allow([
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
        ])
        .resource(self.arn());
        [Some(consume), self.key_statement(["kms:Decrypt"])].into_iter().flatten().collect()
    }

    fn key_statement<const N: usize>(&self, actions: [&str; N]) -> Option<Statement> {
        let key = self.key_arn.as_ref()?;
        Some(Statement::allow(actions).resource(key).condition(
            "StringEquals",
            "kms:ViaService",
            Value::sub("sqs.${AWS::Region}.amazonaws.com"),
        ))
    }

    fn label(&self) -> String {
        grant_label(self.resource.as_ref(), &self.arn)
    }

    /// Lets `grantee` (a role, or a task or service through its task role) send messages.
    pub fn grant_send(&self, grantee: &impl Grantee) -> Result<(), ConstructError> {
        grantee.grant_role().add_policy(&format!("SendTo{}", self.label()), self.send_statements())
    }

    /// Lets `grantee` (a role, or a task or service through its task role) receive and delete messages.
    pub fn grant_consume(&self, grantee: &impl Grantee) -> Result<(), ConstructError> {
        grantee.grant_role().add_policy(&format!("Consume{}", self.label()), self.consume_statements())
    }
}
