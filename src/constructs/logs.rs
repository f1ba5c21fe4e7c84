//! CloudWatch Logs: an encrypted log group with a retention.
//!
//! ## Secure defaults
//! - Encrypted with a customer-managed KMS key (checkov CKV_AWS_158).
//! - A retention period is always set (checkov CKV_AWS_66); callers pick one of a year or more
//!   (checkov CKV_AWS_338).
//! - `DeletionPolicy` and `UpdateReplacePolicy` are `Retain`: logs are evidence.

use crate::cfn::logs;
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::template::{RemovalPolicy, Value};

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
}
