//! IAM: typed policy documents and a role construct.
//!
//! ## Secure defaults
//! - A role trusts exactly one service principal, with the confused-deputy conditions the caller gives.
//! - Statements name exact resources; a `*` resource is only written where the caller asks for it.
//!
//! ## Example
//! ```
//! use cfn_synth::constructs::iam::{PolicyDocument, Principal, Statement};
//! use cfn_synth::template::Value;
//! let trust = PolicyDocument::new(vec![Statement::allow(["sts:AssumeRole"])
//!     .principal(Principal::service("vpc-flow-logs.amazonaws.com"))]);
//! assert_eq!(serde_json::to_value(&trust).unwrap()["Version"], "2012-10-17");
//! ```

use indexmap::IndexMap;
use serde::Serialize;

use crate::cfn::iam;
use crate::cfn::prelude::*;
use crate::construct::{pascal_case, ConstructError, ResourceRef, Scope};
use crate::template::Value;

/// An IAM policy document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyDocument {
    #[serde(rename = "Version")]
    version: &'static str,
    #[serde(rename = "Statement")]
    statements: Vec<Statement>,
}

impl PolicyDocument {
    /// A document with the current policy language version.
    pub fn new(statements: Vec<Statement>) -> Self {
        Self { version: "2012-10-17", statements }
    }

    /// The statements.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// `Allow`
    Allow,
    /// `Deny`
    Deny,
}

/// Who a resource-based or trust policy statement applies to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Principal {
    /// An AWS service, such as `logs.amazonaws.com`.
    Service(Value<String>),
    /// An account or IAM principal ARN.
    #[serde(rename = "AWS")]
    Aws(Value<String>),
}

impl Principal {
    /// A service principal.
    pub fn service(name: impl Into<Value<String>>) -> Self {
        Principal::Service(name.into())
    }

    /// The account's root principal (`arn:<partition>:iam::<account>:root`), through which IAM
    /// policies of the account grant access.
    pub fn account_root() -> Self {
        Principal::Aws(Value::sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root"))
    }
}

/// One policy statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    effect: Effect,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<Principal>,
    action: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resource: Vec<Value<String>>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    condition: IndexMap<String, IndexMap<String, serde_json::Value>>,
}

impl Statement {
    /// An `Allow` statement for the given actions.
    pub fn allow<I, S>(actions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(Effect::Allow, actions)
    }

    /// A `Deny` statement for the given actions.
    pub fn deny<I, S>(actions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(Effect::Deny, actions)
    }

    fn new<I, S>(effect: Effect, actions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            sid: None,
            effect,
            principal: None,
            action: actions.into_iter().map(Into::into).collect(),
            resource: Vec::new(),
            condition: IndexMap::new(),
        }
    }

    /// `sts:AssumeRole` for one AWS service: the trust statement of a service role.
    pub fn assume_role(service: impl Into<Value<String>>) -> Self {
        Self::allow(["sts:AssumeRole"]).principal(Principal::service(service))
    }

    /// Names the statement.
    #[must_use]
    pub fn sid(mut self, sid: impl Into<String>) -> Self {
        self.sid = Some(sid.into());
        self
    }

    /// Sets the principal (resource-based and trust policies only).
    #[must_use]
    pub fn principal(mut self, principal: Principal) -> Self {
        self.principal = Some(principal);
        self
    }

    /// Adds a resource ARN.
    #[must_use]
    pub fn resource(mut self, arn: impl Into<Value<String>>) -> Self {
        self.resource.push(arn.into());
        self
    }

    /// Adds a condition: `operator` (`StringEquals`, `ArnLike`, ...) on `key` with `value`.
    #[must_use]
    pub fn condition(mut self, operator: &str, key: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).expect("condition values serialize to JSON");
        self.condition.entry(operator.to_owned()).or_default().insert(key.to_owned(), value);
        self
    }

    /// The statement's `Sid`, if named.
    pub fn get_sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// The effect.
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// The actions.
    pub fn actions(&self) -> &[String] {
        &self.action
    }

    /// The resources.
    pub fn resources(&self) -> &[Value<String>] {
        &self.resource
    }
}

/// What a [`Role`] is for and what it may do.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleProps {
    /// Why the role exists; shown in the IAM console.
    pub description: String,
    /// The trust statement: who may assume the role, with conditions such as `aws:SourceAccount`
    /// against confused deputies. See [`Statement::assume_role`].
    pub trust: Statement,
    /// The statements of the role's inline policy; none means no inline policy.
    pub statements: Vec<Statement>,
    /// AWS managed policies the service documents for this role (RDS enhanced monitoring, say).
    pub managed_policy_arns: Vec<Value<String>>,
    /// The role's IAM path (`/app/released-tasks/`), so that a policy can name a family of roles by ARN
    /// (`iam:PassRole` on `role/app/released-tasks/*`) before any of them exists. Default: `/`.
    pub path: Option<String>,
}

/// Something permissions can be granted to: a role, or a construct that acts through one (a task
/// definition or a service, through its task role). Grants such as `queue.grant_consume(&task)` take
/// any of them.
pub trait Grantee {
    /// The role the grant's policy attaches to.
    fn grant_role(&self) -> &Role;
}

impl Grantee for Role {
    fn grant_role(&self) -> &Role {
        self
    }
}

/// What a grant's policy or a rule between groups is named after: the resource's logical ID, or for an
/// imported resource `Imported` and the last 40 letters and digits of its identifier.
pub(crate) fn grant_label<R>(resource: Option<&ResourceRef<R>>, identifier: impl Into<Value<String>>) -> String {
    match resource {
        Some(resource) => resource.logical_id().to_owned(),
        None => {
            let identifier = serde_json::to_string(&identifier.into()).unwrap_or_default();
            let label: String = identifier.chars().filter(char::is_ascii_alphanumeric).collect();
            let tail = label.len().saturating_sub(40);
            format!("Imported{}", &label[tail..])
        }
    }
}

impl RoleProps {
    /// A role for `description`, assumable as `trust` says, with no permissions yet.
    pub fn new(description: impl Into<String>, trust: Statement) -> Self {
        Self {
            description: description.into(),
            trust,
            statements: Vec::new(),
            managed_policy_arns: Vec::new(),
            path: None,
        }
    }
}

/// An IAM role assumed by one AWS service.
#[derive(Debug, Clone)]
pub struct Role {
    resource: ResourceRef<iam::Role>,
}

impl Role {
    /// Adds the role under `id`.
    pub fn new(scope: &mut Scope, id: &str, props: RoleProps) -> Result<Self, ConstructError> {
        let mut role = iam::Role::new(PolicyDocument::new(vec![props.trust])).description(props.description);
        if !props.managed_policy_arns.is_empty() {
            role = role.managed_policy_arns(props.managed_policy_arns);
        }
        if let Some(path) = props.path {
            role = role.path(path);
        }
        if !props.statements.is_empty() {
            role = role.policies(vec![iam::role::Policy::new(PolicyDocument::new(props.statements), id)]);
        }
        Ok(Self { resource: scope.add(id, role)? })
    }

    /// The role resource.
    pub fn resource(&self) -> &ResourceRef<iam::Role> {
        &self.resource
    }

    /// The role's ARN.
    pub fn arn(&self) -> Value<String> {
        self.resource.attr_arn()
    }

    /// Attaches a policy of `statements` to the role, in the role's own stack (so a grant on a resource
    /// of another stack only makes the role's stack import from it). Grants such as
    /// `queue.grant_consume(&task)` call this.
    pub fn add_policy(&self, id: &str, statements: Vec<Statement>) -> Result<(), ConstructError> {
        let policy =
            iam::Policy::new(PolicyDocument::new(statements), pascal_case(id)).roles(vec![self.resource.ref_value()]);
        self.resource.stack().root().add(&self.policy_logical_id(id), policy)?;
        Ok(())
    }

    /// The logical ID of the policy [`Role::add_policy`] adds under `id`, for a resource that must not
    /// start before the role may do what the policy allows (`DependsOn`).
    pub fn policy_logical_id(&self, id: &str) -> String {
        format!("{}{}", self.resource.logical_id(), pascal_case(id))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::App;

    #[test]
    fn statements_render_in_policy_language() {
        let statement = Statement::allow(["kms:Decrypt"])
            .sid("Use")
            .principal(Principal::service("logs.amazonaws.com"))
            .resource("*")
            .condition("StringEquals", "aws:SourceAccount", Value::account_id());
        assert_eq!(
            serde_json::to_value(&statement).unwrap(),
            json!({
                "Sid": "Use",
                "Effect": "Allow",
                "Principal": {"Service": "logs.amazonaws.com"},
                "Action": ["kms:Decrypt"],
                "Resource": ["*"],
                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
            })
        );
        assert_eq!(
            serde_json::to_value(Principal::account_root()).unwrap(),
            json!({"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}})
        );
    }

    #[test]
    fn a_role_trusts_one_service_and_carries_its_inline_policy() {
        let mut app = App::new("t");
        let stack = app.add_stack("S", "us-east-1").unwrap();
        let role = Role::new(
            &mut stack.root(),
            "Delivery",
            RoleProps {
                description: "delivers".into(),
                trust: Statement::assume_role("vpc-flow-logs.amazonaws.com").condition(
                    "StringEquals",
                    "aws:SourceAccount",
                    "123",
                ),
                statements: vec![Statement::allow(["logs:PutLogEvents"]).resource("arn:x")],
                managed_policy_arns: vec![],
                path: None,
            },
        )
        .unwrap();
        let template = stack.template();
        let properties = template.resources[role.resource().logical_id()].properties();
        let trust = &properties["AssumeRolePolicyDocument"]["Statement"][0];
        assert_eq!(trust["Principal"], json!({"Service": "vpc-flow-logs.amazonaws.com"}));
        assert_eq!(trust["Condition"], json!({"StringEquals": {"aws:SourceAccount": "123"}}));
        assert_eq!(properties["Policies"][0]["PolicyName"], json!("Delivery"));
        assert_eq!(properties["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"], json!(["arn:x"]));
    }
}
