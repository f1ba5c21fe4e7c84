//! A CodeBuild project that a pipeline runs: the tests and image builds of a release.
//!
//! ## Secure defaults
//! - Its role may write its own log group and use the pipeline's artifacts, nothing else; grants such
//!   as [`crate::constructs::compute::Repository::grant_push`] add the rest.
//! - Logs go to a log group of its own, encrypted with the given key and kept a year.
//! - Artifacts and the build's own encryption use the given customer-managed key (checkov CKV_AWS_147).
//! - Privileged mode (root in the build container, which a Docker build needs) is off unless asked for,
//!   and when it is on the resource carries the reason checkov reads (CKV_AWS_316).

use indexmap::IndexMap;

use crate::cfn::codebuild;
use crate::cfn::codebuild::project::{
    Artifacts, CloudWatchLogsConfig, Environment, EnvironmentVariable, LogsConfig, Source,
};
use crate::cfn::prelude::*;
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::iam::{Grantee, Role, RoleProps, Statement};
use crate::constructs::kms::EncryptionKey;
use crate::constructs::logs::{LogGroup, LogGroupProps};
use crate::template::Value;

/// The size of a build's machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuildCompute {
    /// 2 vCPUs, 3 GiB.
    Small,
    /// 4 vCPUs, 7 GiB: enough for a few Docker builds.
    #[default]
    Medium,
    /// 8 vCPUs, 15 GiB.
    Large,
}

impl BuildCompute {
    fn compute_type(self) -> &'static str {
        match self {
            BuildCompute::Small => "BUILD_GENERAL1_SMALL",
            BuildCompute::Medium => "BUILD_GENERAL1_MEDIUM",
            BuildCompute::Large => "BUILD_GENERAL1_LARGE",
        }
    }
}

/// The CodeBuild image builds run on: Amazon Linux 2023 with Docker, x86-64.
pub const BUILD_IMAGE: &str = "aws/codebuild/amazonlinux-x86_64-standard:5.0";

/// How to build a [`BuildProject`]: [`BuildProjectProps::new`] with its buildspec, then the fields.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildProjectProps {
    /// The buildspec (YAML), inline.
    pub buildspec: String,
    /// What the build does, for people.
    pub description: String,
    /// Whether the build runs Docker, which needs a privileged container; `Some` holds the reason
    /// recorded for reviewers and checkov. Default: `None`.
    pub privileged_because: Option<String>,
    /// The machine size. Default: medium.
    pub compute: BuildCompute,
    /// Plain environment values. Default: none.
    pub environment: IndexMap<String, Value<String>>,
    /// Minutes a build may run. Default: 60.
    pub timeout_minutes: i64,
}

impl BuildProjectProps {
    /// A build running `buildspec`.
    pub fn new(buildspec: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            buildspec: buildspec.into(),
            description: description.into(),
            privileged_because: None,
            compute: BuildCompute::default(),
            environment: IndexMap::new(),
            timeout_minutes: 60,
        }
    }
}

/// A CodeBuild project whose source and artifacts are a pipeline's, with its role and log group.
#[derive(Debug, Clone)]
pub struct BuildProject {
    resource: ResourceRef<codebuild::Project>,
    role: Role,
}

impl BuildProject {
    /// Adds the project under `id`; `key` encrypts its artifacts and logs.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        key: &EncryptionKey,
        props: BuildProjectProps,
    ) -> Result<Self, ConstructError> {
        key.ensure_in_region(scope.region(), &format!("{}/{id}", scope.path()), "a build project")?;
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        if !(5..=2160).contains(&props.timeout_minutes) {
            return Err(ConstructError::InvalidProps {
                path: name,
                message: format!("a build timeout of {} minutes is outside 5 to 2160", props.timeout_minutes),
            });
        }
        let log_group = LogGroup::new(&mut scope, "LogGroup", key, LogGroupProps::default())?;
        let role = Role::new(
            &mut scope,
            "Role",
            RoleProps {
                statements: vec![
                    Statement::allow(["logs:CreateLogStream", "logs:PutLogEvents"]).resource(log_group.arn())
                ],
                ..RoleProps::new(
                    format!("Runs the builds of {name}: its logs, and what grants add"),
                    Statement::assume_role("codebuild.amazonaws.com").condition(
                        "StringEquals",
                        "aws:SourceAccount",
                        Value::account_id(),
                    ),
                )
            },
        )?;
        let mut environment = Environment::new(props.compute.compute_type(), BUILD_IMAGE, "LINUX_CONTAINER")
            .image_pull_credentials_type("CODEBUILD")
            .privileged_mode(props.privileged_because.is_some());
        if !props.environment.is_empty() {
            let variables: Vec<EnvironmentVariable> = props
                .environment
                .into_iter()
                .map(|(name, value)| EnvironmentVariable::new(name, value).r#type("PLAINTEXT"))
                .collect();
            environment = environment.environment_variables(variables);
        }
        let project = codebuild::Project::new(
            Artifacts::new("CODEPIPELINE"),
            environment,
            role.arn(),
            Source::new("CODEPIPELINE").build_spec(props.buildspec),
        )
        .description(props.description)
        .encryption_key(key.arn())
        .timeout_in_minutes(props.timeout_minutes)
        .queued_timeout_in_minutes(60)
        .logs_config(
            LogsConfig::new().cloud_watch_logs(CloudWatchLogsConfig::new("ENABLED").group_name(log_group.name())),
        );
        let resource = scope.add_with("Resource", project, |entry| match &props.privileged_because {
            Some(reason) => entry
                .metadata("checkov", serde_json::json!({"skip": [{"id": "CKV_AWS_316", "comment": reason}]}))
                .guard_suppression("CODEBUILD_PROJECT_ENVIRONMENT_PRIVILEGED_CHECK", reason),
            None => entry,
        })?;
        Ok(Self { resource, role })
    }

    /// The project resource.
    pub fn resource(&self) -> &ResourceRef<codebuild::Project> {
        &self.resource
    }

    /// The project's name, which a pipeline's build action names.
    pub fn name(&self) -> Value<String> {
        self.resource.ref_value()
    }

    /// The project's ARN.
    pub fn arn(&self) -> Value<String> {
        self.resource.attr_arn()
    }

    /// The role builds run as.
    pub fn role(&self) -> &Role {
        &self.role
    }
}

impl Grantee for BuildProject {
    fn grant_role(&self) -> &Role {
        &self.role
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::App;
    use crate::constructs::kms::KeyProps;

    #[test]
    fn privileged_mode_comes_only_with_its_reason_and_logs_are_encrypted() {
        let mut app = App::new("t");
        let stack = app.add_stack("S", "us-east-1").unwrap();
        let key = EncryptionKey::new(&mut stack.root(), "Key", KeyProps::default()).unwrap();
        BuildProject::new(&mut stack.root(), "Plain", &key, BuildProjectProps::new("version: 0.2", "tests")).unwrap();
        let mut props = BuildProjectProps::new("version: 0.2", "images");
        props.privileged_because = Some("docker build needs it, and nothing else runs here".into());
        BuildProject::new(&mut stack.root(), "Docker", &key, props).unwrap();
        let template = app.synth().unwrap().stacks.remove(0).template;
        let resources = &template["Resources"];
        assert_eq!(resources["Plain"]["Properties"]["Environment"]["PrivilegedMode"], false);
        assert!(resources["Plain"]["Metadata"]["checkov"].is_null());
        assert_eq!(resources["Docker"]["Properties"]["Environment"]["PrivilegedMode"], true);
        assert_eq!(resources["Docker"]["Metadata"]["checkov"]["skip"][0]["id"], "CKV_AWS_316");
        assert_eq!(resources["Docker"]["Properties"]["EncryptionKey"], json!({"Fn::GetAtt": ["Key", "Arn"]}));
        assert_eq!(
            resources["Docker"]["Properties"]["LogsConfig"]["CloudWatchLogs"]["GroupName"],
            json!({"Ref": "DockerLogGroup"})
        );
        assert!(resources["DockerLogGroup"]["Properties"]["KmsKeyId"].is_object());

        let mut props = BuildProjectProps::new("version: 0.2", "too long");
        props.timeout_minutes = 10_000;
        let err = BuildProject::new(&mut app.stack("S").unwrap().root(), "Slow", &key, props).unwrap_err();
        assert!(err.to_string().contains("outside 5 to 2160"), "{err}");
    }
}
