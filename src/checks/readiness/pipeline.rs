//! CS043: a release pipeline can deploy what it releases. Each CloudFormation deploy action of a
//! CodePipeline names a stack of the app whose template declares every parameter the action overrides;
//! the pipeline's role may pass the action's deploy role to CloudFormation; and the deploy role may pass
//! the roles of every task definition in that stack to ECS, or registering the new revision fails.

use serde_json::Value as Json;

use super::iam::Permissions;
use super::{finding, items, text, Model, Res};
use crate::checks::Finding;
use crate::template::Field;

/// CS043, for every pipeline.
pub(super) fn check(model: &Model, findings: &mut Vec<Finding>) {
    let pipelines = model.of_type("AWS::CodePipeline::Pipeline");
    if pipelines.is_empty() {
        return;
    }
    let permissions = Permissions::new(model);
    for pipeline in pipelines {
        let props = model.props(&pipeline);
        let Some(pipeline_role) = model.resource_of(pipeline.stack, props.field("RoleArn")) else {
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
        let actions = items(props.field("Stages")).iter().flat_map(|stage| items(stage.field("Actions")));
        for action in actions {
            let kind = action.field("ActionTypeId");
            if kind.field("Category") != "Deploy" || kind.field("Provider") != "CloudFormation" {
                continue;
            }
            let configuration = action.field("Configuration");
            let name = text(model, pipeline.stack, configuration.field("StackName")).unwrap_or_default();
            let region = text(model, pipeline.stack, action.field("Region")).unwrap_or_else(|| home.clone());
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
            let deploy = Deploy { model, permissions: &permissions, pipeline: &pipeline, target, path };
            deploy.parameters(configuration, findings);
            let deploy_role = model.resource_of(pipeline.stack, configuration.field("RoleArn"));
            if let Some(role) = &deploy_role {
                if !permissions.may_pass(&pipeline_role, role) {
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
    model: &'a Model<'a>,
    permissions: &'a Permissions<'a>,
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
        let Some(overrides) = configuration.field("ParameterOverrides").as_str() else { return };
        let Ok(Json::Object(overrides)) = serde_json::from_str::<Json>(overrides) else {
            findings.push(self.finding("its ParameterOverrides are not a JSON object".into()));
            return;
        };
        let declared = self.model.stacks()[self.target].template.field("Parameters");
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
                if !self.permissions.may_pass(acting, &role) {
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
