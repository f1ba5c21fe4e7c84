//! What an IAM role of the app may do, read from its inline policies and the standalone policies
//! attached to it: enough for the rules that follow a permission (a pipeline passing its deploy role,
//! ECS invoking a deployment hook).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::{text, Model, Res};
use crate::template::Field;

/// The app's roles and what they may do: the standalone policies attached to each role, indexed once.
pub(super) struct Permissions<'a> {
    model: &'a Model<'a>,
    attached: BTreeMap<Res, Vec<Res>>,
}

impl<'a> Permissions<'a> {
    /// Indexes every `AWS::IAM::Policy` of the app by the roles it attaches to.
    pub fn new(model: &'a Model) -> Self {
        let mut attached: BTreeMap<Res, Vec<Res>> = BTreeMap::new();
        for policy in model.of_type("AWS::IAM::Policy") {
            for role in model.references(policy.stack, model.props(&policy).field("Roles")) {
                attached.entry(role).or_default().push(policy.clone());
            }
        }
        Self { model, attached }
    }

    /// Every statement that `role` holds: its inline policies and the standalone policies attached to
    /// it, each with the stack it is written in.
    fn statements_of(&self, role: &Res) -> Vec<(usize, &'a Json)> {
        let model = self.model;
        let mut documents: Vec<(usize, &Json)> = model
            .props(role)
            .field("Policies")
            .as_array()
            .into_iter()
            .flatten()
            .map(|policy| (role.stack, policy.field("PolicyDocument")))
            .collect();
        for policy in self.attached.get(role).into_iter().flatten() {
            documents.push((policy.stack, model.props(policy).field("PolicyDocument")));
        }
        let mut statements = Vec::new();
        for (stack, document) in documents {
            match document.field("Statement") {
                Json::Array(list) => statements.extend(list.iter().map(|statement| (stack, statement))),
                statement @ Json::Object(_) => statements.push((stack, statement)),
                _ => {}
            }
        }
        statements
    }

    /// Whether `holder` may `iam:PassRole` the role `passed`: an Allow statement with the action (or a
    /// wildcard for it) whose resources name the role, or match its ARN as a pattern (a path such as
    /// `role/app/released-tasks/*`). Conditions are taken as met: they narrow the service, not the role.
    pub fn may_pass(&self, holder: &Res, passed: &Res) -> bool {
        self.allows(holder, "iam:PassRole", passed, Some(&role_arn(self.model, passed)))
    }

    /// Whether `holder` may call `action` on the resource `target`: an Allow statement with the action (or
    /// a wildcard for it) whose resources name `target` (by reference), are `*`, or match `arn` as a
    /// pattern.
    pub fn allows(&self, holder: &Res, action: &str, target: &Res, arn: Option<&str>) -> bool {
        let model = self.model;
        self.statements_of(holder).iter().any(|(stack, statement)| {
            if statement.field("Effect") != "Allow" || !has_action(statement.field("Action"), action) {
                return false;
            }
            let resources = one_or_many(statement.field("Resource"));
            resources.iter().any(|resource| {
                model.resource_of(*stack, resource).as_ref() == Some(target)
                    || text(model, *stack, resource)
                        .is_some_and(|pattern| pattern == "*" || arn.is_some_and(|arn| glob(&pattern, arn)))
            })
        })
    }
}

/// A role's ARN as the analysis writes it: the account as `${AWS::AccountId}`, a generated name as
/// `generated-name` (which a pattern can only match with `*`).
fn role_arn(model: &Model, role: &Res) -> String {
    let props = model.props(role);
    let path = text(model, role.stack, props.field("Path")).unwrap_or_else(|| "/".to_owned());
    let name = text(model, role.stack, props.field("RoleName")).unwrap_or_else(|| "generated-name".to_owned());
    format!("arn:aws:iam::${{AWS::AccountId}}:role{path}{name}")
}

/// Whether an IAM `Action` value allows `wanted` (`service:Action`), with `*` wildcards.
fn has_action(actions: &Json, wanted: &str) -> bool {
    one_or_many(actions)
        .iter()
        .filter_map(Json::as_str)
        .any(|action| glob(&action.to_ascii_lowercase(), &wanted.to_ascii_lowercase()))
}

/// The items of an IAM value that is a list or a single item (`Action`, `Resource`), borrowed.
fn one_or_many(value: &Json) -> &[Json] {
    match value {
        Json::Array(list) => list,
        other => std::slice::from_ref(other),
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters (IAM's `?` is rare enough
/// to read literally).
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(tail) = text.strip_prefix(head) else { return false };
            (0..=tail.len()).filter(|at| tail.is_char_boundary(*at)).any(|at| glob(rest, &tail[at..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn patterns_match_with_wildcards_only_where_they_are() {
        assert!(glob("arn:aws:iam::1:role/app/released-tasks/*", "arn:aws:iam::1:role/app/released-tasks/x-y"));
        assert!(!glob("arn:aws:iam::1:role/app/released-tasks/*", "arn:aws:iam::1:role/other"));
        assert!(glob("*", "anything"));
        assert!(glob("iam:*", "iam:passrole"));
        assert!(!glob("iam:passrole", "iam:passroles"));
        assert!(glob("a*c*e", "abcde"));
    }
}
