//! KMS: a customer-managed encryption key.
//!
//! ## Secure defaults
//! - Automatic yearly key rotation (checkov CKV_AWS_7).
//! - The key policy gives the account root full control, so that IAM policies decide who uses the key,
//!   and adds only the service grants the caller asks for. No wildcard principal (checkov CKV_AWS_33).
//! - `DeletionPolicy` and `UpdateReplacePolicy` are `Retain`: deleting a key makes everything encrypted
//!   with it unreadable.
//!
//! ## Example
//! ```
//! use cfn_synth::construct::App;
//! use cfn_synth::constructs::kms::EncryptionKey;
//! let mut app = App::new("demo");
//! let stack = app.add_stack("Demo", "us-east-1").unwrap();
//! let key = EncryptionKey::new(&mut stack.root(), "Key", "Encrypts demo data", vec![]).unwrap();
//! assert_eq!(key.resource().logical_id(), "Key");
//! ```

use crate::cfn::kms;
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::iam::{PolicyDocument, Principal, Statement};
use crate::template::{RemovalPolicy, Value};

/// A customer-managed, rotating KMS key.
#[derive(Debug, Clone)]
pub struct EncryptionKey {
    resource: ResourceRef<kms::Key>,
}

impl EncryptionKey {
    /// Adds a key under `id`. `grants` are the key-policy statements beyond the account root's.
    pub fn new(
        scope: &mut Scope<'_>,
        id: &str,
        description: &str,
        grants: Vec<Statement>,
    ) -> Result<Self, ConstructError> {
        let mut statements = vec![Statement::allow(["kms:*"])
            .sid("AccountAdministers")
            .principal(Principal::account_root())
            .resource("*")];
        statements.extend(grants);
        let key = kms::Key::new()
            .description(description)
            // checkov CKV_AWS_7: rotation on.
            .enable_key_rotation(true)
            .key_policy(PolicyDocument::new(statements));
        let resource = scope.add_with(id, key, |entry| entry.removal_policy(RemovalPolicy::Retain))?;
        Ok(Self { resource })
    }

    /// The key resource.
    pub fn resource(&self) -> &ResourceRef<kms::Key> {
        &self.resource
    }

    /// The key's ARN.
    pub fn arn(&self) -> Value<String> {
        self.resource.attr_arn()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::App;

    #[test]
    fn keys_rotate_are_retained_and_keep_the_account_in_control() {
        let mut app = App::new("t");
        let stack = app.add_stack("S", "us-east-1").unwrap();
        let grant = Statement::allow(["kms:Decrypt"]).principal(Principal::service("logs.amazonaws.com")).resource("*");
        let key = EncryptionKey::new(&mut stack.root(), "Key", "test", vec![grant]).unwrap();
        let resource = &stack.template().resources[key.resource().logical_id()];
        assert_eq!(resource.properties()["EnableKeyRotation"], json!(true));
        assert_eq!(resource.get_deletion_policy(), Some(RemovalPolicy::Retain));
        assert_eq!(resource.get_update_replace_policy(), Some(RemovalPolicy::Retain));
        let statements = resource.properties()["KeyPolicy"]["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0]["Action"], json!(["kms:*"]));
        for statement in statements {
            assert_ne!(statement["Principal"], json!("*"), "no wildcard principal");
        }
    }
}
