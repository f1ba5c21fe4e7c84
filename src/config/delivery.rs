//! The release pipeline's settings: where the source comes from, how the build runs, and whether a person
//! approves before the other regions deploy.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::validate::Issue;
use crate::cfn::codestarconnections::connection::ConnectionProviderType;

/// The app's release pipeline (CodePipeline V2 in the primary region): Source → Build (tests, images
/// pushed to ECR, tagged with the commit) → Deploy the primary region → Approve → Deploy the other
/// regions. It deploys only the stacks that take image tags, with the tags it built; every other
/// change ships as before, with the manifest's deploy commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Where the pipeline's source comes from.
    pub source: SourceConfig,
    /// The build: tests, then one image per application.
    #[serde(default)]
    pub build: BuildConfig,
    /// Whether a person approves before the other regions deploy. Default: true.
    #[serde(default = "yes")]
    pub manual_approval: bool,
    /// The folder of the source that holds `cfn-synth synth`'s JSON output (`<Stack>.template.json`),
    /// which the deploy actions deploy with the new image tags. Default: `cfn.out`.
    #[serde(default = "default_templates_directory")]
    pub templates_directory: String,
}

fn yes() -> bool {
    true
}

fn default_templates_directory() -> String {
    "cfn.out".to_owned()
}

/// The pipeline's source: exactly one of a repository through a CodeStar connection, or a zip file in
/// S3.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceConfig {
    /// A Git repository through an AWS CodeStar connection, created with the pipeline. A connection
    /// CloudFormation creates stays PENDING until someone completes the handshake in the console
    /// (Developer Tools → Settings → Connections → Update pending connection): the release path's one
    /// manual step, which the README and the manifest name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionSource>,
    /// A zip file in a versioned bucket the pipeline stack creates. Uploading a new version starts the
    /// pipeline (through EventBridge); nothing is manual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Source>,
}

/// Which source a valid [`SourceConfig`] names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source<'a> {
    /// A repository through a connection.
    Connection(&'a ConnectionSource),
    /// A zip in S3.
    S3(&'a S3Source),
}

impl SourceConfig {
    /// The one source this names; `None` unless exactly one is set (validation reports that).
    pub fn source(&self) -> Option<Source<'_>> {
        match (&self.connection, &self.s3) {
            (Some(connection), None) => Some(Source::Connection(connection)),
            (None, Some(s3)) => Some(Source::S3(s3)),
            _ => None,
        }
    }
}

/// A Git repository through a CodeStar connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionSource {
    /// The Git host.
    pub provider: GitProvider,
    /// The repository, as `owner/name`.
    pub repository: String,
    /// The branch that releases. Default: `main`.
    #[serde(default = "default_branch")]
    pub branch: String,
}

fn default_branch() -> String {
    "main".to_owned()
}

/// A Git host a CodeStar connection reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum GitProvider {
    /// github.com.
    GitHub,
    /// bitbucket.org.
    Bitbucket,
    /// gitlab.com.
    GitLab,
}

impl GitProvider {
    /// The connection's `ProviderType`.
    pub fn provider_type(self) -> ConnectionProviderType {
        match self {
            GitProvider::GitHub => ConnectionProviderType::GitHub,
            GitProvider::Bitbucket => ConnectionProviderType::Bitbucket,
            GitProvider::GitLab => ConnectionProviderType::GitLab,
        }
    }
}

/// A zip file in S3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Source {
    /// The object key of the zip. Default: `source.zip`.
    #[serde(default = "default_object_key")]
    pub object_key: String,
}

fn default_object_key() -> String {
    "source.zip".to_owned()
}

impl Default for S3Source {
    fn default() -> Self {
        Self { object_key: default_object_key() }
    }
}

/// The CodeBuild build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuildConfig {
    /// The shell command that runs the source's tests; a failure stops the release before any image is
    /// pushed. Default: `make test`.
    #[serde(default = "default_test_command")]
    pub test_command: String,
    /// The folder holding one Docker build context per application, named after its repository
    /// (`services/integration-service/Dockerfile`). Default: `services`.
    #[serde(default = "default_images_directory")]
    pub images_directory: String,
    /// Minutes a build may run (5 to 480). Default: 60.
    #[serde(default = "default_timeout_minutes")]
    pub timeout_minutes: i64,
}

impl Default for BuildConfig {
    fn default() -> Self {
        Self {
            test_command: default_test_command(),
            images_directory: default_images_directory(),
            timeout_minutes: default_timeout_minutes(),
        }
    }
}

fn default_test_command() -> String {
    "make test".to_owned()
}

fn default_images_directory() -> String {
    "services".to_owned()
}

fn default_timeout_minutes() -> i64 {
    60
}

/// A relative folder of the source: no leading `/`, no `..`, no empty or `.` parts.
fn is_relative_folder(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
        && path.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
}

impl DeliveryConfig {
    /// Checks what types alone cannot; `key` is this section's key path.
    pub(super) fn validate(&self, key: &str) -> Result<(), Issue> {
        let issue = |field: &str, message: String| Err(Issue { key: format!("{key}.{field}"), message });
        let Some(source) = self.source.source() else {
            return issue("source", "name exactly one of `connection` and `s3`".to_owned());
        };
        match source {
            Source::Connection(connection) => {
                let parts: Vec<&str> = connection.repository.split('/').collect();
                let named = |part: &str| {
                    !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                };
                if parts.len() != 2 || !parts.iter().all(|part| named(part)) {
                    return issue(
                        "source.connection.repository",
                        format!("{:?} is not an `owner/name` repository", connection.repository),
                    );
                }
                let branch_ok = !connection.branch.is_empty()
                    && !connection.branch.starts_with('-')
                    && connection.branch.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c));
                if !branch_ok {
                    return issue("source.connection.branch", format!("{:?} is not a branch name", connection.branch));
                }
            }
            Source::S3(s3) => {
                let key_ok = !s3.object_key.is_empty()
                    && s3.object_key.len() <= 1024
                    && !s3.object_key.starts_with('/')
                    && s3.object_key.ends_with(".zip");
                if !key_ok {
                    return issue(
                        "source.s3.objectKey",
                        format!("{:?} must be a relative key ending in .zip", s3.object_key),
                    );
                }
            }
        }
        let command = &self.build.test_command;
        if command.trim().is_empty() || command.contains('\n') {
            return issue("build.testCommand", "must be one non-empty line".to_owned());
        }
        if !is_relative_folder(&self.build.images_directory) {
            return issue(
                "build.imagesDirectory",
                format!("{:?} must be a relative folder of the source", self.build.images_directory),
            );
        }
        if !(5..=480).contains(&self.build.timeout_minutes) {
            return issue("build.timeoutMinutes", format!("{} is outside 5 to 480", self.build.timeout_minutes));
        }
        if !is_relative_folder(&self.templates_directory) {
            return issue(
                "templatesDirectory",
                format!("{:?} must be a relative folder of the source", self.templates_directory),
            );
        }
        Ok(())
    }
}
