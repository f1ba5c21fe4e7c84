//! Alarm notification: an encrypted SNS topic that CloudWatch alarms can actually publish to.
//!
//! ## Secure defaults
//! - The topic is encrypted with a customer-managed key (checkov CKV_AWS_26). The AWS-managed
//!   `aws/sns` key cannot be used: its policy cannot be changed, and CloudWatch needs `kms:Decrypt` and
//!   `kms:GenerateDataKey*` in the key policy to publish to an encrypted topic. Without them alarms
//!   deploy cleanly and notify no one. The key here carries exactly that grant ([`cloudwatch_key_grant`]).
//! - The topic policy lets CloudWatch of this account publish, and refuses any publish without TLS.
//!
//! [`MetricAlarm`] describes an alarm on one metric; data constructs offer the ones they need
//! (`queue.dead_letter_alarm()`, `database.cpu_alarm(80.0)`), added with the topic as their action.

use crate::cfn::cloudwatch;
use crate::cfn::cloudwatch::alarm::{AlarmComparisonOperator, AlarmTreatMissingData};
use crate::cfn::sns;
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::iam::{PolicyDocument, Principal, Statement};
use crate::constructs::kms::{EncryptionKey, KeyProps};
use crate::template::Value;

/// The key-policy statement that lets CloudWatch alarms publish to a topic encrypted with the key.
pub fn cloudwatch_key_grant() -> Statement {
    Statement::allow(["kms:Decrypt", "kms:GenerateDataKey*"])
        .sid("CloudWatchAlarmsPublish")
        .principal(Principal::service("cloudwatch.amazonaws.com"))
        .resource("*")
}

/// One subscriber of an [`AlarmTopic`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// The SNS protocol (`email`, `https`, `sqs`, `lambda`).
    pub protocol: String,
    /// The endpoint of that protocol.
    pub endpoint: String,
}

impl Subscriber {
    /// An email address, which confirms the subscription from the message SNS sends it.
    pub fn email(address: impl Into<String>) -> Self {
        Self { protocol: "email".into(), endpoint: address.into() }
    }
}

/// An alarm on one metric: `metric <comparison> threshold` in `periods` consecutive periods.
#[derive(Debug, Clone)]
pub struct MetricAlarm {
    /// What the alarm watches, for people.
    pub description: String,
    /// The metric namespace (`AWS/SQS`).
    pub namespace: String,
    /// The metric (`ApproximateNumberOfMessagesVisible`).
    pub metric: String,
    /// Its dimensions.
    pub dimensions: Vec<(String, Value<String>)>,
    /// How one-minute datapoints are aggregated.
    pub statistic: cloudwatch::alarm::AlarmStatistic,
    /// The threshold.
    pub threshold: f64,
    /// How the metric compares with the threshold when the alarm fires.
    pub comparison: AlarmComparisonOperator,
    /// Seconds per period (60 or a multiple of it).
    pub period_seconds: i64,
    /// Consecutive periods past the threshold.
    pub periods: i64,
    /// What a period without data counts as.
    pub missing_data: AlarmTreatMissingData,
}

impl MetricAlarm {
    /// An alarm when `metric` exceeds `threshold` in `periods` consecutive minutes, a period without
    /// data counting as fine.
    pub fn above(
        description: impl Into<String>,
        namespace: &str,
        metric: &str,
        dimensions: Vec<(String, Value<String>)>,
        statistic: cloudwatch::alarm::AlarmStatistic,
        threshold: f64,
        periods: i64,
    ) -> Self {
        Self {
            description: description.into(),
            namespace: namespace.into(),
            metric: metric.into(),
            dimensions,
            statistic,
            threshold,
            comparison: AlarmComparisonOperator::GreaterThanThreshold,
            period_seconds: 60,
            periods,
            missing_data: AlarmTreatMissingData::NotBreaching,
        }
    }

    /// The same alarm over periods of `seconds`.
    pub fn every(mut self, seconds: i64) -> Self {
        self.period_seconds = seconds;
        self
    }

    /// The same alarm firing when the metric falls below the threshold instead.
    pub fn below(mut self) -> Self {
        self.comparison = AlarmComparisonOperator::LessThanThreshold;
        self
    }

    /// The same alarm counting a period without data as `missing_data`.
    pub fn missing_data(mut self, missing_data: AlarmTreatMissingData) -> Self {
        self.missing_data = missing_data;
        self
    }
}

impl MetricAlarm {
    /// Adds the alarm under `id` with `actions` (a scaling policy's `Ref`, an SNS topic's ARN) as its
    /// alarm actions. Returns the alarm, whose `Ref` is its name.
    pub fn add(
        self,
        scope: &mut Scope,
        id: &str,
        actions: Vec<Value<String>>,
    ) -> Result<ResourceRef<cloudwatch::Alarm>, ConstructError> {
        let dimensions: Vec<cloudwatch::alarm::Dimension> =
            self.dimensions.into_iter().map(|(name, value)| cloudwatch::alarm::Dimension::new(name, value)).collect();
        let mut alarm = cloudwatch::Alarm::new()
            .alarm_description(self.description)
            .namespace(self.namespace)
            .metric_name(self.metric)
            .dimensions(dimensions)
            .statistic(self.statistic)
            .period(self.period_seconds)
            .evaluation_periods(self.periods)
            .threshold(self.threshold)
            .comparison_operator(self.comparison)
            .treat_missing_data(self.missing_data);
        if !actions.is_empty() {
            alarm = alarm.alarm_actions(actions);
        }
        scope.add(id, alarm)
    }

    /// Adds the alarm under `id` with no action, for `reader`, which acts on its state (a Route 53 health
    /// check, an ECS deployment): AWS Control Tower's CT.CLOUDWATCH.PR.1 (an action on every alarm) is
    /// suppressed on it, naming the reader.
    pub fn add_read_by(
        self,
        scope: &mut Scope,
        id: &str,
        reader: &str,
    ) -> Result<ResourceRef<cloudwatch::Alarm>, ConstructError> {
        let alarm = self.add(scope, id, vec![])?;
        let reason = format!("{reader} reads this alarm's state and acts on it; it notifies no one itself");
        scope
            .stack()
            .resource_json_mut(alarm.logical_id())
            .expect("just added")
            .suppress_guard(ALARM_ACTION_RULE, &reason);
        Ok(alarm)
    }
}

/// AWS Control Tower's control that every alarm has an action (CT.CLOUDWATCH.PR.1).
pub const ALARM_ACTION_RULE: &str = "CLOUDWATCH_ALARM_ACTION_CHECK";

/// An encrypted SNS topic for alarms, with its own key and subscribers.
#[derive(Debug, Clone)]
pub struct AlarmTopic {
    key: EncryptionKey,
    topic: ResourceRef<sns::Topic>,
}

impl AlarmTopic {
    /// Adds the key, the topic, its policy and one subscription per subscriber under `id`.
    pub fn new(scope: &mut Scope, id: &str, subscribers: &[Subscriber]) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        let key_props = KeyProps {
            description: Some(format!("Encrypts the alarm notifications of {name}")),
            grants: vec![cloudwatch_key_grant()],
        };
        let key = EncryptionKey::new(&mut scope, "Key", key_props)?;
        let topic = scope.add(
            "Resource",
            sns::Topic::new().display_name(format!("Alarms of {name}")).kms_master_key_id(key.arn()),
        )?;
        let publish = Statement::allow(["sns:Publish"])
            .sid("CloudWatchAlarmsPublish")
            .principal(Principal::service("cloudwatch.amazonaws.com"))
            .resource(topic.ref_value())
            .condition("StringEquals", "aws:SourceAccount", Value::account_id());
        let tls_only = Statement::deny(["sns:Publish"])
            .sid("DenyPublishWithoutTls")
            .principal(Principal::Aws(Value::from("*")))
            .resource(topic.ref_value())
            .condition("Bool", "aws:SecureTransport", "false");
        scope.add(
            "Policy",
            sns::TopicPolicy::new(PolicyDocument::new(vec![publish, tls_only]), vec![topic.ref_value()]),
        )?;
        for (index, subscriber) in subscribers.iter().enumerate() {
            scope.add(
                &format!("Subscription{}", index + 1),
                sns::Subscription::new(subscriber.protocol.as_str(), topic.ref_value())
                    .endpoint(subscriber.endpoint.as_str()),
            )?;
        }
        Ok(Self { key, topic })
    }

    /// The topic resource.
    pub fn resource(&self) -> &ResourceRef<sns::Topic> {
        &self.topic
    }

    /// The topic's key.
    pub fn key(&self) -> &EncryptionKey {
        &self.key
    }

    /// The topic's ARN (its `Ref`), for alarm actions.
    pub fn arn(&self) -> Value<String> {
        self.topic.ref_value()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::App;

    #[test]
    fn cloudwatch_may_use_the_key_and_publish_to_the_topic() {
        let mut app = App::new("t");
        let stack = app.add_stack("Ops", "us-east-1").unwrap();
        let subscriber = Subscriber { protocol: "email".into(), endpoint: "ops@example.com".into() };
        AlarmTopic::new(&mut stack.root(), "Alarms", &[subscriber]).unwrap();
        let synth = app.synth().unwrap();
        let resources = &synth.stacks[0].template["Resources"];
        assert_eq!(resources["Alarms"]["Properties"]["KmsMasterKeyId"], json!({"Fn::GetAtt": ["AlarmsKey", "Arn"]}));
        let key_policy = &resources["AlarmsKey"]["Properties"]["KeyPolicy"]["Statement"];
        let grant = key_policy.as_array().unwrap().iter().find(|s| s["Sid"] == "CloudWatchAlarmsPublish").unwrap();
        assert_eq!(grant["Principal"], json!({"Service": "cloudwatch.amazonaws.com"}));
        assert_eq!(grant["Action"], json!(["kms:Decrypt", "kms:GenerateDataKey*"]));
        let policy = &resources["AlarmsPolicy"]["Properties"]["PolicyDocument"]["Statement"];
        assert_eq!(policy[0]["Action"], json!(["sns:Publish"]));
        assert_eq!(policy[1]["Effect"], "Deny");
        let subscription = &resources["AlarmsSubscription1"]["Properties"];
        assert_eq!(subscription["Protocol"], "email");
        assert_eq!(subscription["TopicArn"], json!({"Ref": "Alarms"}));
    }
}
