//! CloudWatch Logs: an encrypted log group with a retention.
//!
//! ## Secure defaults
//! - Encrypted with a customer-managed KMS key (checkov CKV_AWS_158).
//! - A retention period is always set (checkov CKV_AWS_66); callers pick one of a year or more
//!   (checkov CKV_AWS_338).
//! - `DeletionPolicy` and `UpdateReplacePolicy` are `Retain`: logs are evidence.

use crate::cfn::logs;
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::iam::{Principal, Statement};
use crate::template::{RemovalPolicy, Value};

/// The key-policy statement that lets CloudWatch Logs in the stack's region use a key for this
/// account's log groups, which an encrypted log group needs on its key.
pub fn key_grant() -> Statement {
    Statement::allow(["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"])
        .sid("CloudWatchLogsEncrypts")
        .principal(Principal::service(Value::sub("logs.${AWS::Region}.amazonaws.com")))
        .resource("*")
        .condition(
            "ArnLike",
            "kms:EncryptionContext:aws:logs:arn",
            Value::sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"),
        )
}

/// An encrypted CloudWatch Logs group.
#[derive(Debug, Clone)]
pub struct LogGroup {
    resource: ResourceRef<logs::LogGroup>,
}

impl LogGroup {
    /// Adds a log group under `id`, encrypted with the key `kms_key_arn`.
    pub fn new(
        scope: &mut Scope<'_>,
        id: &str,
        retention_days: u32,
        kms_key_arn: Value<String>,
    ) -> Result<Self, ConstructError> {
        let group = logs::LogGroup::new().retention_in_days(i64::from(retention_days)).kms_key_id(kms_key_arn);
        Self::add(scope, id, group)
    }

    /// Adds a log group with a fixed `name`, for services that accept only names of their own shape
    /// (AWS WAF logs only to groups named `aws-waf-logs-*`).
    pub fn named(
        scope: &mut Scope<'_>,
        id: &str,
        name: impl Into<String>,
        retention_days: u32,
        kms_key_arn: Value<String>,
    ) -> Result<Self, ConstructError> {
        let group = logs::LogGroup::new()
            .log_group_name(name.into())
            .retention_in_days(i64::from(retention_days))
            .kms_key_id(kms_key_arn);
        Self::add(scope, id, group)
    }

    fn add(scope: &mut Scope<'_>, id: &str, group: logs::LogGroup) -> Result<Self, ConstructError> {
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
