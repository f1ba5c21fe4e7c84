//! What an IAM role of the app may do, read from its inline policies and the standalone policies
//! attached to it: enough for the rules that follow a permission (a pipeline passing its deploy role,
//! ECS invoking a deployment hook).

use serde_json::Value as Json;

use super::{text, Model, Res};

/// Every statement that `role` holds: its inline policies and the standalone policies attached to it,
/// each with the stack it is written in.
fn statements_of(model: &Model, role: &Res) -> Vec<(usize, Json)> {
    let mut documents: Vec<(usize, Json)> = model.props(role)["Policies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|policy| (role.stack, policy["PolicyDocument"].clone()))
        .collect();
    for policy in model.of_type("AWS::IAM::Policy") {
        if model.references(policy.stack, &model.props(&policy)["Roles"]).contains(role) {
            documents.push((policy.stack, model.props(&policy)["PolicyDocument"].clone()));
        }
    }
    let mut statements = Vec::new();
    for (stack, document) in documents {
        match &document["Statement"] {
            Json::Array(list) => statements.extend(list.iter().map(|statement| (stack, statement.clone()))),
            statement @ Json::Object(_) => statements.push((stack, statement.clone())),
            _ => {}
        }
    }
    statements
}

/// Whether `holder` may `iam:PassRole` the role `passed`: an Allow statement with the action (or a
/// wildcard for it) whose resources name the role, or match its ARN as a pattern (a path such as
/// `role/app/released-tasks/*`). Conditions are taken as met: they narrow the service, not the role.
pub(super) fn may_pass(model: &Model, holder: &Res, passed: &Res) -> bool {
    allows(model, holder, "iam:PassRole", passed, Some(&role_arn(model, passed)))
}

/// Whether `holder` may call `action` on the resource `target`: an Allow statement with the action (or a
/// wildcard for it) whose resources name `target` (by reference), are `*`, or match `arn` as a pattern.
pub(super) fn allows(model: &Model, holder: &Res, action: &str, target: &Res, arn: Option<&str>) -> bool {
    statements_of(model, holder).iter().any(|(stack, statement)| {
        if statement["Effect"] != "Allow" || !has_action(&statement["Action"], action) {
            return false;
        }
        let resources = match &statement["Resource"] {
            Json::Array(list) => list.clone(),
            other => vec![other.clone()],
        };
        resources.iter().any(|resource| {
            model.resource_of(*stack, resource).as_ref() == Some(target)
                || text(model, *stack, resource)
                    .is_some_and(|pattern| pattern == "*" || arn.is_some_and(|arn| glob(&pattern, arn)))
        })
    })
}

/// A role's ARN as the analysis writes it: the account as `${AWS::AccountId}`, a generated name as
/// `generated-name` (which a pattern can only match with `*`).
fn role_arn(model: &Model, role: &Res) -> String {
    let props = model.props(role);
    let path = text(model, role.stack, &props["Path"]).unwrap_or_else(|| "/".to_owned());
    let name = text(model, role.stack, &props["RoleName"]).unwrap_or_else(|| "generated-name".to_owned());
    format!("arn:aws:iam::${{AWS::AccountId}}:role{path}{name}")
}

/// Whether an IAM `Action` value allows `wanted` (`service:Action`), with `*` wildcards.
fn has_action(actions: &Json, wanted: &str) -> bool {
    let list = match actions {
        Json::Array(list) => list.clone(),
        other => vec![other.clone()],
    };
    list.iter().filter_map(Json::as_str).any(|action| glob(&action.to_ascii_lowercase(), &wanted.to_ascii_lowercase()))
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
