//! SQS: a queue with a dead-letter queue.
//!
//! ## Secure defaults
//! - Both queues are encrypted with a customer-managed KMS key (checkov CKV_AWS_27).
//! - A queue policy denies every request not made over TLS.
//! - Messages that fail `max_receive_count` times move to the dead-letter queue, which keeps them 14
//!   days, the SQS maximum.
//! - `Retain` on deletion and replacement: undelivered messages are data.

use crate::cfn::sqs;
use crate::construct::{App, ConstructError, ResourceRef, Scope};
use crate::constructs::iam::{PolicyDocument, Principal, Role, Statement};
use crate::constructs::kms::EncryptionKey;
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

/// An encrypted SQS queue and its dead-letter queue.
#[derive(Debug, Clone)]
pub struct Queue {
    resource: ResourceRef<sqs::Queue>,
    dead_letter: ResourceRef<sqs::Queue>,
    key_arn: Value<String>,
}

impl Queue {
    /// Adds the queue, its dead-letter queue and their TLS-only policy under `id`.
    pub fn new(
        scope: &mut Scope<'_>,
        id: &str,
        key: &EncryptionKey,
        props: &QueueProps,
    ) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let retain = |entry: crate::template::Resource| entry.removal_policy(RemovalPolicy::Retain);
        let dead_letter = scope.add_with(
            "DeadLetterQueue",
            sqs::Queue::new().kms_master_key_id(key.arn()).message_retention_period(MAX_RETENTION_SECONDS),
            retain,
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
        Ok(Self { resource, dead_letter, key_arn: key.arn() })
    }

    /// The queue resource.
    pub fn resource(&self) -> &ResourceRef<sqs::Queue> {
        &self.resource
    }

    /// The dead-letter queue resource.
    pub fn dead_letter_queue(&self) -> &ResourceRef<sqs::Queue> {
        &self.dead_letter
    }

    /// The queue's name, the `QueueName` dimension of its CloudWatch metrics.
    pub fn name(&self) -> Value<String> {
        self.resource.get_att("QueueName")
    }

    /// The dead-letter queue's name, the `QueueName` dimension of its CloudWatch metrics.
    pub fn dead_letter_name(&self) -> Value<String> {
        self.dead_letter.get_att("QueueName")
    }

    /// The queue's ARN.
    pub fn arn(&self) -> Value<String> {
        self.resource.attr_arn()
    }

    /// Sending: this queue's ARN, and the key's data keys only through SQS.
    pub fn send_statements(&self) -> Vec<Statement> {
        vec![
            Statement::allow(["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]).resource(self.arn()),
            self.key_statement(["kms:GenerateDataKey", "kms:Decrypt"]),
        ]
    }

    /// Consuming: receive, delete and extend visibility on this queue's ARN.
    pub fn consume_statements(&self) -> Vec<Statement> {
        vec![
            Statement::allow([
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
            ])
            .resource(self.arn()),
            self.key_statement(["kms:Decrypt"]),
        ]
    }

    fn key_statement<const N: usize>(&self, actions: [&str; N]) -> Statement {
        Statement::allow(actions).resource(self.key_arn.clone()).condition(
            "StringEquals",
            "kms:ViaService",
            Value::sub("sqs.${AWS::Region}.amazonaws.com"),
        )
    }

    /// Lets `role` send messages.
    pub fn grant_send(&self, app: &mut App, role: &Role) -> Result<(), ConstructError> {
        role.add_policy(app, &format!("SendTo{}", self.resource.logical_id()), self.send_statements())
    }

    /// Lets `role` receive and delete messages.
    pub fn grant_consume(&self, app: &mut App, role: &Role) -> Result<(), ConstructError> {
        role.add_policy(app, &format!("Consume{}", self.resource.logical_id()), self.consume_statements())
    }
}
