//! KMS: a customer-managed encryption key.
//!
//! ## Secure defaults
//! - Automatic yearly key rotation (checkov CKV_AWS_7).
//! - The key policy gives the account root full control, so that IAM policies decide who uses the key,
//!   and adds only the service grants asked for. No wildcard principal (checkov CKV_AWS_33).
//! - The policy stays open until synthesis: a construct that needs a service grant on the key (a log
//!   group encrypted with it needs CloudWatch Logs') adds it when it is created, wherever the key is.
//! - `DeletionPolicy` and `UpdateReplacePolicy` are `Retain`: deleting a key makes everything encrypted
//!   with it unreadable.
//!
//! ## Example
//! ```
//! use cfn_synth::construct::App;
//! use cfn_synth::constructs::kms::{EncryptionKey, KeyProps};
//! let mut app = App::new("demo");
//! let stack = app.add_stack("Demo", "us-east-1").unwrap();
//! let key = EncryptionKey::new(&mut stack.root(), "Key", KeyProps::default()).unwrap();
//! assert_eq!(key.resource().unwrap().logical_id(), "Key");
//! ```

use crate::cfn::kms;
use crate::cfn::prelude::*;
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::iam::{PolicyDocument, Principal, Statement};
use crate::constructs::ids::Arn;
use crate::template::{RemovalPolicy, Value};

/// How to build an [`EncryptionKey`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyProps {
    /// What the key encrypts, shown in the KMS console. Default: the key's construct path.
    pub description: Option<String>,
    /// Key-policy statements beyond the account root's. Default: none; constructs add the service
    /// grants they need.
    pub grants: Vec<Statement>,
}

/// A customer-managed, rotating KMS key, or an existing key imported by ARN.
#[derive(Debug, Clone)]
pub struct EncryptionKey {
    arn: Arn<kms::Key>,
    resource: Option<ResourceRef<kms::Key>>,
    /// For an imported key: the service grants its policy is known to have (by statement `Sid`).
    known_grants: Vec<String>,
}

impl EncryptionKey {
    /// Adds a key under `id`.
    pub fn new(scope: &mut Scope, id: &str, props: KeyProps) -> Result<Self, ConstructError> {
        let description = props.description.unwrap_or_else(|| format!("Encrypts the data of {}/{id}", scope.path()));
        let mut statements = vec![
            Statement::allow(["kms:*"]).sid("AccountAdministers").principal(Principal::account_root()).resource("*"),
            // AWS Control Tower CT.KMS.PR.3: only AWS services (for the resources they encrypt) create
            // grants; no principal of the account can hand the key's use on through a grant of its own.
            Statement::deny(["kms:CreateGrant"])
                .sid("GrantsOnlyForAwsResources")
                .principal(Principal::Aws(Value::from("*")))
                .resource("*")
                .condition("BoolIfExists", "kms:GrantIsForAWSResource", "false")
                .condition("BoolIfExists", "aws:PrincipalIsAWSService", "false"),
        ];
        statements.extend(props.grants);
        let key = kms::Key::new()
            .description(description)
            // checkov CKV_AWS_7: rotation on.
            .enable_key_rotation(true)
            .key_policy(PolicyDocument::new(statements));
        let resource = scope.add_with(id, key, |entry| entry.removal_policy(RemovalPolicy::Retain))?;
        Ok(Self { arn: Arn::new(resource.attr_arn()), resource: Some(resource), known_grants: Vec::new() })
    }

    /// An existing key, by ARN. Its policy is not this app's to change: a construct that needs a
    /// service grant on it fails, naming the grant, unless [`EncryptionKey::with_known_grant`] says the
    /// policy has it.
    pub fn from_arn(arn: Arn<kms::Key>) -> Self {
        Self { arn, resource: None, known_grants: Vec::new() }
    }

    /// An imported key whose policy already holds the statement `sid` (such as
    /// [`crate::constructs::logs::KEY_GRANT_SID`]).
    #[must_use]
    pub fn with_known_grant(mut self, sid: &str) -> Self {
        self.known_grants.push(sid.to_owned());
        self
    }

    /// The key resource, unless the key is imported.
    pub fn resource(&self) -> Option<&ResourceRef<kms::Key>> {
        self.resource.as_ref()
    }

    /// The key's ARN.
    pub fn arn(&self) -> Arn<kms::Key> {
        self.arn.clone()
    }

    /// The key's region: its stack's, or the region in a literal ARN of an imported key; `None` when
    /// an imported key's ARN is computed.
    pub fn region(&self) -> Option<String> {
        if let Some(resource) = &self.resource {
            return Some(resource.stack().region().to_owned());
        }
        let arn = self.arn.value();
        let text = arn.as_literal()?.as_str()?;
        text.split(':').nth(3).filter(|region| !region.is_empty()).map(str::to_owned)
    }

    /// Refuses the key for `what` at `path` in `region` unless the key is in that region: a KMS key never
    /// leaves its region (a multi-Region replica key is a key of its own region), so a resource of one
    /// region encrypted with another's key fails when it deploys. Every construct taking a key asks.
    pub fn ensure_in_region(&self, region: &str, path: &str, what: &str) -> Result<(), ConstructError> {
        match self.region() {
            Some(key_region) if key_region != region => Err(ConstructError::InvalidProps {
                path: path.to_owned(),
                message: format!(
                    "{what} in {region} cannot use a KMS key of {key_region}: keys do not leave their region; \
                     give it a key of {region} (its own, or a multi-Region replica key)"
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Adds `statement` to the key policy unless a statement with its `Sid` is there already, so that
    /// every construct needing one service grant can ask for it. An imported key only passes when its
    /// policy is known to hold the grant.
    pub fn add_to_policy(&self, statement: Statement) -> Result<(), ConstructError> {
        let sid = statement.get_sid().unwrap_or_default().to_owned();
        let Some(resource) = &self.resource else {
            if !sid.is_empty() && self.known_grants.contains(&sid) {
                return Ok(());
            }
            return Err(ConstructError::ImportedResource {
                resource: format!("the KMS key {:?}", self.arn.value()),
                change: format!("add the key-policy statement {sid:?}"),
                remedy: "add it to the key's policy where the key is defined, then declare it with \
                         EncryptionKey::with_known_grant"
                    .to_owned(),
            });
        };
        let mut key = resource.stack().resource_mut(resource)?;
        let policy = key.key_policy.as_mut().expect("keys have a policy");
        let statements = policy["Statement"].as_array_mut().expect("the policy holds statements");
        if !sid.is_empty() && statements.iter().any(|existing| existing["Sid"] == sid.as_str()) {
            return Ok(());
        }
        statements.push(serde_json::to_value(&statement).expect("statements serialize"));
        Ok(())
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
        let props = KeyProps { description: Some("test".into()), grants: vec![grant] };
        let key = EncryptionKey::new(&mut stack.root(), "Key", props).unwrap();
        let template = stack.template();
        let resource = &template.resources[key.resource().unwrap().logical_id()];
        assert_eq!(resource.properties()["EnableKeyRotation"], json!(true));
        assert_eq!(resource.get_deletion_policy(), Some(RemovalPolicy::Retain));
        assert_eq!(resource.get_update_replace_policy(), Some(RemovalPolicy::Retain));
        let statements = resource.properties()["KeyPolicy"]["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 3);
        assert_eq!(statements[0]["Action"], json!(["kms:*"]));
        for statement in statements.iter().filter(|statement| statement["Effect"] == "Allow") {
            assert_ne!(statement["Principal"], json!("*"), "no wildcard principal is allowed anything");
            assert_ne!(statement["Principal"], json!({"AWS": "*"}), "no wildcard principal is allowed anything");
        }
        // Control Tower CT.KMS.PR.3: grants only for AWS resources or from AWS services, for everyone.
        assert_eq!(
            statements[1],
            json!({
                "Sid": "GrantsOnlyForAwsResources",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": ["kms:CreateGrant"],
                "Resource": ["*"],
                "Condition": {"BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}}
            })
        );
    }

    #[test]
    fn a_grant_is_added_once_and_an_imported_key_refuses_an_unknown_one() {
        let mut app = App::new("t");
        let stack = app.add_stack("S", "us-east-1").unwrap();
        let key = EncryptionKey::new(&mut stack.root(), "Key", KeyProps::default()).unwrap();
        let grant = || Statement::allow(["kms:Decrypt"]).sid("Logs").resource("*");
        key.add_to_policy(grant()).unwrap();
        key.add_to_policy(grant()).unwrap();
        let statements = stack.template().resources["Key"].properties()["KeyPolicy"]["Statement"].clone();
        assert_eq!(statements.as_array().unwrap().len(), 3);
        assert_eq!(statements[2]["Sid"], "Logs");

        let imported = EncryptionKey::from_arn(Arn::new("arn:aws:kms:us-east-1:111122223333:key/k"));
        let err = imported.add_to_policy(grant()).unwrap_err();
        assert!(err.to_string().contains("add the key-policy statement \"Logs\""), "{err}");
        imported.with_known_grant("Logs").add_to_policy(grant()).unwrap();
    }

    #[test]
    fn a_key_serves_only_its_own_region() {
        let mut app = App::new("t");
        let primary = app.add_stack("Primary", "us-east-1").unwrap();
        let recovery = app.add_stack("Recovery", "eu-west-1").unwrap();
        let key = EncryptionKey::new(&mut primary.root(), "Key", KeyProps::default()).unwrap();
        assert_eq!(key.region().as_deref(), Some("us-east-1"));
        let imported = EncryptionKey::from_arn(Arn::new("arn:aws:kms:eu-west-1:111122223333:key/k"));
        assert_eq!(imported.region().as_deref(), Some("eu-west-1"));
        let computed = EncryptionKey::from_arn(Arn::new(crate::template::Value::sub("${KeyArn}")));
        assert_eq!(computed.region(), None, "a computed ARN names no region to check");

        let props = crate::constructs::data::BucketProps::default();
        let err = crate::constructs::data::Bucket::new(&mut recovery.root(), "Replica", &key, props).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Recovery/Replica: a bucket in eu-west-1 cannot use a KMS key of us-east-1: keys do not leave their \
             region; give it a key of eu-west-1 (its own, or a multi-Region replica key)"
        );
        let props = crate::constructs::data::BucketProps::default();
        crate::constructs::data::Bucket::new(&mut recovery.root(), "Replica", &imported, props).unwrap();
    }
}
