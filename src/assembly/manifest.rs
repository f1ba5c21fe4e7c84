//! `manifest.json`: the stacks of an output directory, in deploy order, each with the exact
//! `aws cloudformation deploy` command that deploys it. Other tools read this file: its shape is fixed.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::construct::SynthesizedStack;
use crate::template::Field;

/// The manifest format version.
pub const MANIFEST_VERSION: u32 = 1;

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_VERSION`].
    pub version: u32,
    /// The app name.
    pub app: String,
    /// The stacks, in deploy order.
    pub stacks: Vec<ManifestStack>,
    /// Stack names in deploy order: each after everything in its `dependsOn`.
    pub deploy_order: Vec<String>,
    /// How new versions reach the stacks, when the app has a release pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleaseSection>,
    /// How the warm standby meets the recovery objectives, when the app has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disaster_recovery: Option<DisasterRecoverySection>,
}

/// The manifest's `release` section: the pipeline, the stacks and parameters it releases through, the
/// manual steps it needs, and the order of a first deploy on an empty account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseSection {
    /// The pipeline's name.
    pub pipeline: String,
    /// The stack that holds it.
    pub stack: String,
    /// Its region.
    pub region: String,
    /// Where its source comes from (`GitHub example-org/app@main`, `s3://bucket/source.zip`).
    pub source: String,
    /// Its stages, in order.
    pub stages: Vec<String>,
    /// The stacks its deploy stages update, in deploy order, with the image-tag parameters it sets.
    pub image_parameters: IndexMap<String, Vec<String>>,
    /// What a person must do once before the pipeline can run; empty when nothing.
    pub manual_steps: Vec<String>,
    /// A first deploy on an empty account, step by step.
    pub first_deploy: Vec<String>,
}

/// The manifest's `disasterRecovery` section: the recovery objectives from the config, what bounds
/// each, and the runbook that meets the time objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DisasterRecoverySection {
    /// The region that serves.
    pub primary_region: String,
    /// The region of the warm standby.
    pub recovery_region: String,
    /// The recovery point objective, in minutes.
    pub rpo_minutes: i64,
    /// The recovery time objective, in minutes.
    pub rto_minutes: i64,
    /// What bounds the data lost, store by store.
    pub rpo_bounds: Vec<RecoveryPointBound>,
    /// The runbook's steps with their time budgets, whose sum bounds the recovery time.
    pub rto_steps: Vec<RecoveryStep>,
    /// The sum of the step budgets, at most `rtoMinutes`.
    pub rto_budget_minutes: i64,
    /// The runbook's file, relative to the output directory.
    pub runbook: String,
}

/// What bounds one store's data loss on failover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecoveryPointBound {
    /// The store.
    pub store: String,
    /// How it reaches the recovery region, and within what.
    pub bound: String,
    /// The alarms that show the bound holding (`<Stack>/<LogicalId>`); none for what is not replicated.
    pub alarms: Vec<String>,
}

/// One step of the runbook, with its time budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecoveryStep {
    /// What the step does.
    pub step: String,
    /// Its budget, in minutes.
    pub minutes: i64,
}

/// One stack of the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManifestStack {
    /// The stack name.
    pub name: String,
    /// The region it deploys to.
    pub region: String,
    /// The template file, relative to the output directory.
    pub template_file: String,
    /// Stacks that must be deployed first.
    pub depends_on: Vec<String>,
    /// The IAM capabilities the template needs acknowledged.
    pub capabilities: Vec<String>,
    /// Parameter values passed at deploy time. An empty value is the template's default when the
    /// stack is created and the deployed value afterwards: `deployCommand` leaves it out, so that
    /// `aws cloudformation deploy` keeps what a release set (an image tag, say).
    pub parameters: IndexMap<String, String>,
    /// Stack tags, which CloudFormation propagates to taggable resources.
    pub tags: IndexMap<String, String>,
    /// How many resources the template holds.
    pub resource_count: usize,
    /// How the template reaches CloudFormation: inline, or uploaded to a bucket of the stack's region.
    #[serde(default)]
    pub template_upload: TemplateUpload,
    /// Commands to run, from inside the output directory, before `deployCommand`: uploads of what the
    /// template names but does not hold (the Kong configuration, say). Left out when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upload_commands: Vec<String>,
    /// A complete `aws cloudformation deploy` command, to run from inside the output directory.
    pub deploy_command: String,
}

/// How a template reaches CloudFormation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase", deny_unknown_fields)]
pub enum TemplateUpload {
    /// In the request: at most 51,200 bytes.
    #[default]
    Inline,
    /// Uploaded by `aws cloudformation deploy --s3-bucket` (at most 1 MB). The bucket must be in the
    /// stack's region: the CLI addresses it there, and one elsewhere fails with `PermanentRedirect`.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
}

impl ManifestStack {
    /// The manifest entry of a synthesized stack whose template is written to `template_file` and
    /// deployed inline.
    pub fn new(stack: &SynthesizedStack, template_file: String) -> Self {
        Self::uploaded(stack, template_file, TemplateUpload::Inline, Vec::new())
    }

    /// The manifest entry of a stack whose template reaches CloudFormation as `upload` says, once
    /// `upload_commands` have run.
    pub fn uploaded(
        stack: &SynthesizedStack,
        template_file: String,
        template_upload: TemplateUpload,
        upload_commands: Vec<String>,
    ) -> Self {
        let resources = stack.template.field("Resources").as_object();
        let mut entry = Self {
            name: stack.name.clone(),
            region: stack.region.clone(),
            template_file,
            depends_on: stack.depends_on.clone(),
            capabilities: capabilities(&stack.template),
            parameters: stack.parameters.clone(),
            tags: stack.tags.clone(),
            resource_count: resources.map_or(0, |resources| resources.len()),
            template_upload,
            upload_commands,
            deploy_command: String::new(),
        };
        entry.deploy_command = entry.render_deploy_command();
        entry
    }

    fn render_deploy_command(&self) -> String {
        let mut words: Vec<String> =
            ["aws", "cloudformation", "deploy", "--region", &self.region, "--stack-name", &self.name]
                .iter()
                .map(|word| (*word).to_owned())
                .collect();
        words.extend(["--template-file".to_owned(), self.template_file.clone()]);
        if let TemplateUpload::S3 { bucket, prefix } = &self.template_upload {
            words.extend(["--s3-bucket".to_owned(), bucket.clone()]);
            if let Some(prefix) = prefix {
                words.extend(["--s3-prefix".to_owned(), prefix.clone()]);
            }
        }
        if !self.capabilities.is_empty() {
            words.push("--capabilities".to_owned());
            words.extend(self.capabilities.iter().cloned());
        }
        let overrides: Vec<String> = self
            .parameters
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        if !overrides.is_empty() {
            words.push("--parameter-overrides".to_owned());
            words.extend(overrides);
        }
        if !self.tags.is_empty() {
            words.push("--tags".to_owned());
            words.extend(self.tags.iter().map(|(key, value)| format!("{key}={value}")));
        }
        words.push("--no-fail-on-empty-changeset".to_owned());
        words.iter().map(|word| quote(word)).collect::<Vec<_>>().join(" ")
    }
}

/// Quotes a word for a POSIX shell, leaving words of shell-safe characters (`app=platform`) bare so
/// that the command reads as a person would type it.
fn quote(word: &str) -> String {
    let safe = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if safe {
        return word.to_owned();
    }
    // shlex refuses only words with a NUL byte, which no stack name, tag or parameter can hold.
    shlex::try_quote(word).map_or_else(|_| word.replace('\0', ""), |quoted| quoted.into_owned())
}

/// Properties that give an IAM resource a fixed name, which CloudFormation acknowledges only with
/// `CAPABILITY_NAMED_IAM`.
const IAM_NAME_PROPERTIES: &[&str] = &["RoleName", "ManagedPolicyName", "GroupName", "UserName", "InstanceProfileName"];

/// The capabilities CloudFormation demands for a template: `CAPABILITY_NAMED_IAM` when an IAM
/// resource has a fixed name, `CAPABILITY_IAM` for other IAM resources, and `CAPABILITY_AUTO_EXPAND`
/// when a transform expands it (the AWS transforms this crate uses add IAM roles of their own, so a
/// transformed template needs `CAPABILITY_IAM` too).
pub(crate) fn capabilities(template: &serde_json::Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let resources = template.field("Resources").as_object().unwrap_or(&empty);
    let iam = resources
        .values()
        .filter(|resource| resource.field("Type").as_str().is_some_and(is_iam_type))
        .map(|resource| IAM_NAME_PROPERTIES.iter().any(|name| resource.field("Properties").get(name).is_some()));
    decide_capabilities(template.get("Transform").is_some(), iam)
}

/// [`capabilities`] of a template a stack is still building, read from its resources as they are:
/// the release pipeline acknowledges each stack's capabilities while the app is built, and
/// serializing whole templates for it cost a tenth of the build. Only the platform builds one.
#[cfg(any(test, feature = "platform"))]
pub(crate) fn template_capabilities(template: &crate::template::Template) -> Vec<String> {
    let iam = template
        .resources
        .values()
        .filter(|resource| is_iam_type(resource.resource_type()))
        .map(|resource| IAM_NAME_PROPERTIES.iter().any(|name| resource.properties().contains_key(*name)));
    decide_capabilities(!template.transforms.is_empty(), iam)
}

fn is_iam_type(resource_type: &str) -> bool {
    resource_type.starts_with("AWS::IAM::")
}

/// The capabilities for a template with a transform or not, and with IAM resources, each named
/// (`true`) or not.
fn decide_capabilities(transformed: bool, iam_named: impl Iterator<Item = bool>) -> Vec<String> {
    let (mut any, mut named) = (false, false);
    for is_named in iam_named {
        any = true;
        named |= is_named;
    }
    let mut capabilities = Vec::new();
    if named {
        capabilities.push("CAPABILITY_NAMED_IAM".to_owned());
    } else if any || transformed {
        capabilities.push("CAPABILITY_IAM".to_owned());
    }
    if transformed {
        capabilities.push("CAPABILITY_AUTO_EXPAND".to_owned());
    }
    capabilities
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stack(resources: serde_json::Value) -> SynthesizedStack {
        SynthesizedStack {
            name: "App-Primary-Network".into(),
            region: "us-east-1".into(),
            tags: IndexMap::from([("app".into(), "app".into()), ("owner".into(), "platform team".into())]),
            parameters: IndexMap::new(),
            template: json!({ "Resources": resources }),
            depends_on: vec![],
        }
    }

    #[test]
    fn the_deploy_command_is_complete_and_shell_quoted() {
        let entry = ManifestStack::new(
            &stack(json!({"R": {"Type": "AWS::IAM::Role", "Properties": {}}})),
            "App-Primary-Network.template.json".into(),
        );
        assert_eq!(
            entry.deploy_command,
            "aws cloudformation deploy --region us-east-1 --stack-name App-Primary-Network \
             --template-file App-Primary-Network.template.json --capabilities CAPABILITY_IAM \
             --tags app=app 'owner=platform team' --no-fail-on-empty-changeset"
        );
        assert_eq!(entry.resource_count, 1);
    }

    #[test]
    fn an_uploaded_template_names_its_bucket_and_prefix() {
        let upload = TemplateUpload::S3 { bucket: "templates-us-east-1".into(), prefix: Some("app/v1".into()) };
        let entry = ManifestStack::uploaded(&stack(json!({})), "t.json".into(), upload, vec![]);
        assert!(
            entry
                .deploy_command
                .contains(" --template-file t.json --s3-bucket templates-us-east-1 --s3-prefix app/v1 "),
            "{}",
            entry.deploy_command
        );
        let recorded = serde_json::to_value(&entry).unwrap();
        assert_eq!(
            recorded["templateUpload"],
            json!({"mode": "s3", "bucket": "templates-us-east-1", "prefix": "app/v1"})
        );
        let inline = serde_json::to_value(ManifestStack::new(&stack(json!({})), "t.json".into())).unwrap();
        assert_eq!(inline["templateUpload"], json!({"mode": "inline"}));
        assert!(inline.get("uploadCommands").is_none());
    }

    #[test]
    fn parameters_become_overrides() {
        let mut with_parameters = stack(json!({}));
        with_parameters.parameters.insert("ImageTag".into(), "v1".into());
        let entry = ManifestStack::new(&with_parameters, "t.json".into());
        assert!(
            entry.deploy_command.contains(" --parameter-overrides ImageTag=v1 --tags "),
            "{}",
            entry.deploy_command
        );
        assert!(entry.capabilities.is_empty());
    }

    #[test]
    fn named_iam_resources_need_the_named_capability() {
        let template = json!({"Resources": {
            "A": {"Type": "AWS::IAM::Role", "Properties": {}},
            "B": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "fixed"}},
            "C": {"Type": "AWS::SQS::Queue"}
        }});
        assert_eq!(capabilities(&template), ["CAPABILITY_NAMED_IAM"]);
        assert!(capabilities(&json!({"Resources": {"C": {"Type": "AWS::SQS::Queue"}}})).is_empty());
    }

    /// A transform expands the template into resources CloudFormation only creates with
    /// `CAPABILITY_AUTO_EXPAND`, and the AWS transforms add IAM roles.
    #[test]
    fn a_transformed_template_needs_auto_expand_and_iam() {
        let template = json!({
            "Transform": "AWS::SecretsManager-2020-07-23",
            "Resources": {"C": {"Type": "AWS::SQS::Queue"}}
        });
        assert_eq!(capabilities(&template), ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]);
        let named = json!({
            "Transform": ["AWS::SecretsManager-2020-07-23"],
            "Resources": {"B": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "fixed"}}}
        });
        assert_eq!(capabilities(&named), ["CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]);
    }

    /// The pipeline reads capabilities off templates still being built; the manifest, off the
    /// synthesized documents. Both must say the same of every stack of the default platform (which
    /// has named and unnamed IAM resources, and a transformed stack).
    #[test]
    fn a_template_and_its_document_need_the_same_capabilities() {
        let config = crate::config::ConfigFile::embedded_default().unwrap();
        let app = crate::platform::build(config.config()).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for stack in app.stacks() {
            let template = stack.template();
            let expected = capabilities(&template.to_document());
            assert_eq!(template_capabilities(&template), expected, "{}", stack.name());
            seen.insert(expected);
        }
        assert!(seen.len() >= 3, "the platform exercises few cases: {seen:?}");
    }
}
