//! CloudWatch Logs: an encrypted log group with a retention.
//!
//! ## Secure defaults
//! - Encrypted with a customer-managed KMS key (checkov CKV_AWS_158).
//! - A retention period is always set (checkov CKV_AWS_66); callers pick one of a year or more
//!   (checkov CKV_AWS_338).
//! - `DeletionPolicy` and `UpdateReplacePolicy` are `Retain`: logs are evidence.

use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::template::{RemovalPolicy, Resource, Value};

/// An encrypted CloudWatch Logs group.
#[derive(Debug, Clone)]
pub struct LogGroup {
    resource: ResourceRef,
}

impl LogGroup {
    /// Adds a log group under `id`, encrypted with the key `kms_key_arn`.
    pub fn new(
        scope: &mut Scope<'_>,
        id: &str,
        retention_days: u32,
        kms_key_arn: Value<String>,
    ) -> Result<Self, ConstructError> {
        let resource = Resource::new("AWS::Logs::LogGroup")
            .property("RetentionInDays", Value::from(i64::from(retention_days)))
            .property("KmsKeyId", kms_key_arn)
            .removal_policy(RemovalPolicy::Retain);
        Ok(Self { resource: scope.add_resource(id, resource)? })
    }

    /// The log group resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The log group's name (`Ref`).
    pub fn name(&self) -> Value<String> {
        self.resource.ref_value()
    }

    /// The log group's ARN, ending in `:*` as CloudFormation returns it.
    pub fn arn(&self) -> Value<String> {
        self.resource.get_att("Arn")
    }
}
