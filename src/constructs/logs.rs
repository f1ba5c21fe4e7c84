//! CloudWatch Logs: an encrypted log group with a retention.
//!
//! ## Secure defaults
//! - Encrypted with a customer-managed KMS key (checkov CKV_AWS_158). CloudWatch Logs uses a key only
//!   when the key policy lets it, so creating a log group adds that grant ([`key_grant`]) to its key's
//!   policy, or fails with a clear error when the key is imported and its policy is not known to have it.
//! - A retention period is always set (checkov CKV_AWS_66), one CloudWatch Logs accepts
//!   ([`RetentionDays`]); the default is a year (checkov CKV_AWS_338).
//! - `DeletionPolicy` and `UpdateReplacePolicy` are `Retain`: logs are evidence.

use std::fmt;

use crate::cfn::logs;
use crate::cfn::prelude::*;
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::iam::{Principal, Statement};
use crate::constructs::kms::EncryptionKey;
use crate::template::{RemovalPolicy, Value};

/// The `Sid` of the key-policy statement that lets CloudWatch Logs use a key.
pub const KEY_GRANT_SID: &str = "CloudWatchLogsEncrypts";

/// The key-policy statement that lets CloudWatch Logs in the stack's region use a key for this
/// account's log groups, which an encrypted log group needs on its key.
pub fn key_grant() -> Statement {
    Statement::allow(["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"])
        .sid(KEY_GRANT_SID)
        .principal(Principal::service(Value::sub("logs.${AWS::Region}.amazonaws.com")))
        .resource("*")
        .condition(
            "ArnLike",
            "kms:EncryptionContext:aws:logs:arn",
            Value::sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"),
        )
}

/// How long CloudWatch Logs keeps events: one of the periods it accepts.
///
/// ```
/// use cfn_synth::constructs::logs::RetentionDays;
/// assert_eq!(RetentionDays::new(731).unwrap().days(), 731);
/// assert!(RetentionDays::new(366).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RetentionDays(u32);

/// A retention CloudWatch Logs does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CloudWatch Logs cannot keep events {days} days; use one of {allowed}", allowed = RetentionDays::allowed_list())]
pub struct InvalidRetention {
    /// The rejected number of days.
    pub days: u32,
}

impl RetentionDays {
    /// The periods CloudWatch Logs accepts, in days.
    pub const ALLOWED: &'static [u32] =
        &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

    /// A year, the shortest retention checkov accepts for audit (CKV_AWS_338).
    pub const ONE_YEAR: RetentionDays = RetentionDays(365);

    /// `days`, if CloudWatch Logs accepts it.
    pub fn new(days: u32) -> Result<Self, InvalidRetention> {
        if Self::ALLOWED.contains(&days) {
            Ok(Self(days))
        } else {
            Err(InvalidRetention { days })
        }
    }

    /// The number of days.
    pub fn days(self) -> u32 {
        self.0
    }

    fn allowed_list() -> String {
        Self::ALLOWED.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
    }
}

impl Default for RetentionDays {
    fn default() -> Self {
        Self::ONE_YEAR
    }
}

impl fmt::Display for RetentionDays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} days", self.0)
    }
}

/// How to build a [`LogGroup`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogGroupProps {
    /// How long events are kept. Default: a year.
    pub retention: RetentionDays,
    /// A fixed name, for services that accept only names of their own shape (AWS WAF logs only to
    /// groups named `aws-waf-logs-*`). Default: CloudFormation names it.
    pub name: Option<String>,
}

/// An encrypted CloudWatch Logs group.
#[derive(Debug, Clone)]
pub struct LogGroup {
    resource: ResourceRef<logs::LogGroup>,
}

impl LogGroup {
    /// Adds a log group under `id`, encrypted with `key`, whose policy gains CloudWatch Logs' grant.
    pub fn new(scope: &mut Scope, id: &str, key: &EncryptionKey, props: LogGroupProps) -> Result<Self, ConstructError> {
        key.ensure_in_region(scope.region(), &format!("{}/{id}", scope.path()), "a log group")?;
        key.add_to_policy(key_grant()).map_err(|error| match error {
            ConstructError::ImportedResource { resource, change, remedy } => ConstructError::ImportedResource {
                resource,
                change: format!("{change} that the log group {}/{id} needs", scope.path()),
                remedy,
            },
            other => other,
        })?;
        let mut group =
            logs::LogGroup::new().retention_in_days(i64::from(props.retention.days())).kms_key_id(key.arn());
        if let Some(name) = props.name {
            group = group.log_group_name(name);
        }
        let resource = scope.add_with(id, group, |entry| entry.removal_policy(RemovalPolicy::Retain))?;
        Ok(Self { resource })
    }

    /// The log group resource.
    pub fn resource(&self) -> &ResourceRef<logs::LogGroup> {
        &self.resource
    }

    /// The log group's name (`Ref`).
    pub fn name(&self) -> Value<String> {
        self.resource.ref_value()
    }

    /// The log group's ARN, ending in `:*` as CloudFormation returns it.
    pub fn arn(&self) -> Value<String> {
        self.resource.attr_arn()
    }

    /// The log group's ARN without the trailing `:*`, the form log delivery destinations (AWS WAF)
    /// accept.
    pub fn bare_arn(&self) -> Value<String> {
        Value::sub_with(
            "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Group}",
            [("Group", self.name())],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::construct::App;
    use crate::constructs::ids::Arn;
    use crate::constructs::kms::KeyProps;

    #[test]
    fn a_log_group_grants_logs_on_its_key_once() {
        let mut app = App::new("t");
        let stack = app.add_stack("S", "us-east-1").unwrap();
        let key = EncryptionKey::new(&mut stack.root(), "Key", KeyProps::default()).unwrap();
        LogGroup::new(&mut stack.root(), "A", &key, LogGroupProps::default()).unwrap();
        LogGroup::new(&mut stack.root(), "B", &key, LogGroupProps::default()).unwrap();
        let template = stack.template();
        let statements = template.resources["Key"].properties()["KeyPolicy"]["Statement"].as_array().unwrap().clone();
        let sids: Vec<&str> = statements.iter().filter_map(|s| s["Sid"].as_str()).collect();
        assert_eq!(sids, ["AccountAdministers", "GrantsOnlyForAwsResources", KEY_GRANT_SID]);
        assert_eq!(template.resources["A"].properties()["RetentionInDays"], 365);
    }

    #[test]
    fn an_imported_key_without_the_grant_fails_naming_the_log_group() {
        let mut app = App::new("t");
        let stack = app.add_stack("S", "us-east-1").unwrap();
        let key = EncryptionKey::from_arn(Arn::new("arn:aws:kms:us-east-1:111122223333:key/k"));
        let err = LogGroup::new(&mut stack.root(), "Logs", &key, LogGroupProps::default()).unwrap_err();
        assert!(err.to_string().contains("that the log group S/Logs needs"), "{err}");
        let key = key.with_known_grant(KEY_GRANT_SID);
        LogGroup::new(&mut stack.root(), "Logs", &key, LogGroupProps::default()).unwrap();
    }

    #[test]
    fn a_key_of_another_region_is_refused() {
        let mut app = App::new("t");
        let primary = app.add_stack("Primary", "us-east-1").unwrap();
        let recovery = app.add_stack("Recovery", "eu-west-1").unwrap();
        let key = EncryptionKey::new(&mut primary.root(), "Key", KeyProps::default()).unwrap();
        let err = LogGroup::new(&mut recovery.root(), "Logs", &key, LogGroupProps::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Recovery/Logs: a log group in eu-west-1 cannot use a KMS key of us-east-1: keys do not leave their \
             region; give it a key of eu-west-1 (its own, or a multi-Region replica key)"
        );
    }

    #[test]
    fn retention_is_one_cloudwatch_accepts() {
        assert_eq!(RetentionDays::default().days(), 365);
        let err = RetentionDays::new(366).unwrap_err();
        assert!(err.to_string().starts_with("CloudWatch Logs cannot keep events 366 days; use one of 1, 3"), "{err}");
    }
}
