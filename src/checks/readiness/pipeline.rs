//! CS043: a release pipeline can deploy what it releases. Each CloudFormation deploy action of a
//! CodePipeline names a stack of the app whose template declares every parameter the action overrides;
//! the pipeline's role may pass the action's deploy role to CloudFormation; and the deploy role may pass
//! the roles of every task definition in that stack to ECS, or registering the new revision fails.

use serde_json::Value as Json;

use super::{finding, text, Model, Res};
use crate::checks::Finding;

/// CS043, for every pipeline.
pub(super) fn check(model: &Model, findings: &mut Vec<Finding>) {
    for pipeline in model.of_type("AWS::CodePipeline::Pipeline") {
        let props = model.props(&pipeline);
        let Some(pipeline_role) = model.resource_of(pipeline.stack, &props["RoleArn"]) else {
            findings.push(finding(
                model,
                "CS099",
                &pipeline,
                model.name(&pipeline),
                "its role is not a resource of the app".into(),
            ));
            continue;
        };
        let home = model.stacks()[pipeline.stack].region.clone();
        let stages = props["Stages"].as_array().cloned().unwrap_or_default();
        let actions = stages.iter().flat_map(|stage| stage["Actions"].as_array().cloned().unwrap_or_default());
        for action in actions {
            let kind = &action["ActionTypeId"];
            if kind["Category"] != "Deploy" || kind["Provider"] != "CloudFormation" {
                continue;
            }
            let configuration = &action["Configuration"];
            let name = text(model, pipeline.stack, &configuration["StackName"]).unwrap_or_default();
            let region = text(model, pipeline.stack, &action["Region"]).unwrap_or_else(|| home.clone());
            let path = format!("{} → {name} ({region})", model.name(&pipeline));
            let Some(target) = model.stacks().iter().position(|stack| stack.name == name && stack.region == region)
            else {
                findings.push(finding(
                    model,
                    "CS099",
                    &pipeline,
                    path,
                    "it deploys a stack this app does not hold, so its parameters and roles are not checked".into(),
                ));
                continue;
            };
            let deploy = Deploy { model, pipeline: &pipeline, target, path };
            deploy.parameters(configuration, findings);
            let deploy_role = model.resource_of(pipeline.stack, &configuration["RoleArn"]);
            if let Some(role) = &deploy_role {
                if !may_pass(model, &pipeline_role, role) {
                    findings.push(deploy.finding(format!(
                        "the pipeline's role {} may not pass the deploy role {} (iam:PassRole), so the action fails",
                        pipeline_role.id, role.id
                    )));
                }
            }
            // Without a deploy role CloudFormation acts as the pipeline's role.
            deploy.task_roles(deploy_role.as_ref().unwrap_or(&pipeline_role), findings);
        }
    }
}

/// One deploy action, as checked.
struct Deploy<'a> {
    model: &'a Model,
    pipeline: &'a Res,
    target: usize,
    path: String,
}

impl Deploy<'_> {
    fn finding(&self, message: String) -> Finding {
        finding(self.model, "CS043", self.pipeline, self.path.clone(), message)
    }

    /// Every overridden parameter is one the template declares.
    fn parameters(&self, configuration: &Json, findings: &mut Vec<Finding>) {
        let Some(overrides) = configuration["ParameterOverrides"].as_str() else { return };
        let Ok(Json::Object(overrides)) = serde_json::from_str::<Json>(overrides) else {
            findings.push(self.finding("its ParameterOverrides are not a JSON object".into()));
            return;
        };
        let declared = &self.model.stacks()[self.target].template["Parameters"];
        for name in overrides.keys() {
            if declared.get(name).is_none() {
                findings.push(self.finding(format!(
                    "it overrides the parameter {name}, which the stack's template does not declare; CloudFormation \
                     rejects the update"
                )));
            }
        }
    }

    /// The role CloudFormation acts as may pass every task definition's roles to ECS.
    fn task_roles(&self, acting: &Res, findings: &mut Vec<Finding>) {
        let model = self.model;
        for task in model.of_type("AWS::ECS::TaskDefinition").into_iter().filter(|task| task.stack == self.target) {
            for key in ["ExecutionRoleArn", "TaskRoleArn"] {
                let Some(role) = model.resource_of(task.stack, &model.props(&task)[key]) else { continue };
                if !may_pass(model, acting, &role) {
                    findings.push(self.finding(format!(
                        "CloudFormation acts as {}, which may not pass {} ({key} of {}) to ECS: registering the new \
                         revision fails",
                        acting.id, role.id, task.id
                    )));
                }
            }
        }
    }
}

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
fn may_pass(model: &Model, holder: &Res, passed: &Res) -> bool {
    let arn = role_arn(model, passed);
    statements_of(model, holder).iter().any(|(stack, statement)| {
        if statement["Effect"] != "Allow" || !has_action(&statement["Action"], "iam:PassRole") {
            return false;
        }
        let resources = match &statement["Resource"] {
            Json::Array(list) => list.clone(),
            other => vec![other.clone()],
        };
        resources.iter().any(|resource| {
            model.resource_of(*stack, resource).as_ref() == Some(passed)
                || text(model, *stack, resource).is_some_and(|pattern| glob(&pattern, &arn))
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
