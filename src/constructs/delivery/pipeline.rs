//! A release pipeline (CodePipeline V2): a source, a build, then stages that deploy CloudFormation
//! stacks, in any region, with a manual approval between them where asked.
//!
//! The pipeline's role is derived from what the stages do, on exact ARNs: the source (the connection, or
//! the source object), the build project, each deployed stack, `iam:PassRole` on exactly the roles the
//! deploy actions hand to CloudFormation (and only to CloudFormation), and the artifact stores.

use indexmap::IndexMap;

use crate::cfn::codepipeline::pipeline::{
    ActionDeclaration, ActionTypeId, ActionTypeIdCategory, ArtifactStore as StoreDeclaration, ArtifactStoreMap,
    ArtifactStoreType, EncryptionKey as StoreKey, InputArtifact, OutputArtifact, PipelineExecutionMode,
    PipelinePipelineType, StageDeclaration,
};
use crate::cfn::codestarconnections::connection::ConnectionProviderType;
use crate::cfn::events::rule::Target;
use crate::cfn::prelude::*;
use crate::cfn::{codepipeline, codestarconnections, events};
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::data::Bucket;
use crate::constructs::iam::{Role, RoleProps, Statement};
use crate::template::Value;

use super::artifacts::ArtifactStore;
use super::build::BuildProject;

/// The name of the source's output artifact, which the build and the deploy actions read.
pub const SOURCE_ARTIFACT: &str = "Source";

/// The build action's variable namespace: a variable the buildspec exports (`env.exported-variables`)
/// is `#{Build.NAME}` in later actions' configuration.
pub const BUILD_NAMESPACE: &str = "Build";

/// A variable the build exported, as later actions' configuration names it.
pub fn build_variable(name: &str) -> String {
    format!("#{{{BUILD_NAMESPACE}.{name}}}")
}

/// A Git host connection (AWS CodeStar Connections). CloudFormation creates it `PENDING`: someone must
/// complete the handshake with the host once, in the console, before the pipeline can read the
/// repository.
#[derive(Debug, Clone)]
pub struct GitConnection {
    resource: ResourceRef<codestarconnections::Connection>,
}

impl GitConnection {
    /// Adds a connection under `id`, named `name` (up to 32 characters), to `provider`.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        name: &str,
        provider: ConnectionProviderType,
    ) -> Result<Self, ConstructError> {
        if name.is_empty() || name.len() > 32 {
            return Err(ConstructError::InvalidProps {
                path: format!("{}/{id}", scope.path()),
                message: format!("a connection name holds 1 to 32 characters, not {name:?}"),
            });
        }
        let connection = codestarconnections::Connection::new(name).provider_type(provider);
        Ok(Self { resource: scope.add(id, connection)? })
    }

    /// The connection's ARN.
    pub fn arn(&self) -> Value<String> {
        self.resource.attr_connection_arn()
    }

    /// The connection resource.
    pub fn resource(&self) -> &ResourceRef<codestarconnections::Connection> {
        &self.resource
    }
}

/// Where a pipeline's source comes from.
#[derive(Debug, Clone)]
pub enum PipelineSource {
    /// A branch of a repository, through a connection; a push starts the pipeline.
    Git {
        /// The connection.
        connection: GitConnection,
        /// `owner/name`.
        repository: String,
        /// The branch.
        branch: String,
    },
    /// A zip object in a versioned bucket that sends its events to EventBridge; a new version starts
    /// the pipeline.
    S3 {
        /// The bucket.
        bucket: Bucket,
        /// The object key.
        object_key: String,
    },
}

/// One stack a deploy stage creates or updates, with the template at `template_path` of the source.
#[derive(Debug, Clone)]
pub struct StackDeployment {
    /// The stack's name.
    pub stack_name: String,
    /// Its region; a region other than the pipeline's makes a cross-region action, which needs an
    /// artifact store there.
    pub region: String,
    /// The template's path inside the source.
    pub template_path: String,
    /// The capabilities its template needs acknowledged.
    pub capabilities: Vec<String>,
    /// Parameter values, which may name pipeline variables (see [`build_variable`]); the template's
    /// defaults hold for the others.
    pub parameter_overrides: IndexMap<String, String>,
    /// The role CloudFormation deploys the stack as: what it may change is what a release may change.
    pub role: Role,
}

impl StackDeployment {
    /// The stack's ARN pattern (any stack ID of that name).
    fn stack_arn(&self) -> Value<String> {
        Value::sub_with(
            "arn:${AWS::Partition}:cloudformation:${Region}:${AWS::AccountId}:stack/${Name}/*",
            [("Region", Value::from(self.region.as_str())), ("Name", Value::from(self.stack_name.as_str()))],
        )
    }
}

/// A stage after the build.
#[derive(Debug, Clone)]
pub enum PipelineStage {
    /// Deploys stacks, one action each, one after the other in the order given.
    Deploy {
        /// The stage name.
        name: String,
        /// The stacks.
        deployments: Vec<StackDeployment>,
    },
    /// Waits for a person to approve.
    Approve {
        /// The stage name.
        name: String,
        /// What the approver is asked.
        message: String,
    },
}

/// How to build a [`Pipeline`].
#[derive(Debug, Clone)]
pub struct PipelineProps {
    /// The pipeline's name.
    pub name: String,
    /// The source.
    pub source: PipelineSource,
    /// The build, which reads the source and may export variables for the later stages.
    pub build: BuildProject,
    /// The stages after the build, in order.
    pub stages: Vec<PipelineStage>,
    /// One artifact store per region the pipeline acts in; the first is the pipeline's own region's.
    pub artifact_stores: Vec<ArtifactStore>,
}

/// A CodePipeline V2 pipeline with its role (and, for an S3 source, the EventBridge rule that starts it).
#[derive(Debug, Clone)]
pub struct Pipeline {
    resource: ResourceRef<codepipeline::Pipeline>,
    role: Role,
}

fn action_type(category: ActionTypeIdCategory, provider: &str) -> ActionTypeId {
    ActionTypeId::new(category, "AWS", provider, "1")
}

impl Pipeline {
    /// Adds the pipeline under `id`.
    pub fn new(scope: &mut Scope, id: &str, props: PipelineProps) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let path = scope.path().to_string();
        let home = scope.stack().region().to_owned();
        let invalid = |message: String| ConstructError::InvalidProps { path: path.clone(), message };
        let store_regions: Vec<String> = props.artifact_stores.iter().map(|store| store.region().to_owned()).collect();
        if store_regions.first() != Some(&home) {
            return Err(invalid(format!("the first artifact store must be in the pipeline's region, {home}")));
        }

        let mut statements = Vec::new();
        for store in &props.artifact_stores {
            statements.extend(store.read_write_statements());
        }
        let (source_action, source_statements) = source_action(&props.source);
        statements.extend(source_statements);
        statements.push(
            Statement::allow(["codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StopBuild"])
                .resource(props.build.arn()),
        );
        let build_action = ActionDeclaration::new(action_type(ActionTypeIdCategory::Build, "CodeBuild"), "Build")
            .configuration(serde_json::json!({ "ProjectName": props.build.name() }))
            .input_artifacts(vec![InputArtifact::new(SOURCE_ARTIFACT)])
            .namespace(BUILD_NAMESPACE);
        let mut stages = vec![
            StageDeclaration::new(vec![source_action], "Source"),
            StageDeclaration::new(vec![build_action], "Build"),
        ];
        let mut passed_roles: Vec<Value<String>> = Vec::new();
        for stage in &props.stages {
            match stage {
                PipelineStage::Approve { name, message } => {
                    let action =
                        ActionDeclaration::new(action_type(ActionTypeIdCategory::Approval, "Manual"), "Approve")
                            .configuration(serde_json::json!({ "CustomData": message }));
                    stages.push(StageDeclaration::new(vec![action], name.as_str()));
                }
                PipelineStage::Deploy { name, deployments } => {
                    if deployments.is_empty() {
                        return Err(invalid(format!("the stage {name} deploys nothing")));
                    }
                    let mut actions = Vec::new();
                    for (order, deployment) in deployments.iter().enumerate() {
                        if !store_regions.contains(&deployment.region) {
                            return Err(invalid(format!(
                                "{} deploys to {}, where the pipeline has no artifact store",
                                deployment.stack_name, deployment.region
                            )));
                        }
                        actions.push(deploy_action(deployment, order));
                        statements.push(
                            Statement::allow([
                                "cloudformation:CreateStack",
                                "cloudformation:UpdateStack",
                                "cloudformation:DeleteStack",
                                "cloudformation:DescribeStacks",
                                "cloudformation:DescribeStackEvents",
                            ])
                            .resource(deployment.stack_arn()),
                        );
                        let role = deployment.role.arn();
                        if !passed_roles.contains(&role) {
                            passed_roles.push(role);
                        }
                    }
                    stages.push(StageDeclaration::new(actions, name.as_str()));
                }
            }
        }
        // Every deploy action passes a role: roles passed means templates to validate too.
        if !passed_roles.is_empty() {
            // CloudFormation authorizes template validation on no resource.
            statements.push(Statement::allow(["cloudformation:ValidateTemplate"]).resource("*"));
            let mut pass = Statement::allow(["iam:PassRole"]);
            for role in passed_roles {
                pass = pass.resource(role);
            }
            statements.push(pass.condition("StringEquals", "iam:PassedToService", "cloudformation.amazonaws.com"));
        }

        let role = Role::new(
            &mut scope,
            "Role",
            RoleProps {
                statements,
                ..RoleProps::new(
                    format!("Runs the pipeline {}: its source, build, artifact stores and deployments", props.name),
                    Statement::assume_role("codepipeline.amazonaws.com").condition(
                        "StringEquals",
                        "aws:SourceAccount",
                        Value::account_id(),
                    ),
                )
            },
        )?;
        let stores: Vec<ArtifactStoreMap> = props
            .artifact_stores
            .iter()
            .zip(&store_regions)
            .map(|(store, region)| {
                let declaration = StoreDeclaration::new(store.bucket().name().value(), ArtifactStoreType::S3)
                    .encryption_key(StoreKey::new(store.key_id(), "KMS"));
                ArtifactStoreMap::new(declaration, region.as_str())
            })
            .collect();
        let pipeline = codepipeline::Pipeline::new(role.arn(), stages)
            .name(props.name.as_str())
            .pipeline_type(PipelinePipelineType::V2)
            .execution_mode(PipelineExecutionMode::Superseded)
            .restart_execution_on_update(false)
            .artifact_stores(stores);
        let resource = scope.add("Resource", pipeline)?;
        if let PipelineSource::S3 { bucket, object_key } = &props.source {
            start_on_new_version(&mut scope, &resource, bucket, object_key)?;
        }
        Ok(Self { resource, role })
    }

    /// The pipeline resource.
    pub fn resource(&self) -> &ResourceRef<codepipeline::Pipeline> {
        &self.resource
    }

    /// The pipeline's ARN.
    pub fn arn(&self) -> Value<String> {
        pipeline_arn(&self.resource)
    }

    /// The pipeline's role.
    pub fn role(&self) -> &Role {
        &self.role
    }
}

fn pipeline_arn(resource: &ResourceRef<codepipeline::Pipeline>) -> Value<String> {
    Value::sub_with(
        "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${Pipeline}",
        [("Pipeline", resource.ref_value())],
    )
}

/// The source action, and what the pipeline's role needs for it.
fn source_action(source: &PipelineSource) -> (ActionDeclaration, Vec<Statement>) {
    let output = vec![OutputArtifact::new(SOURCE_ARTIFACT)];
    match source {
        PipelineSource::Git { connection, repository, branch } => {
            let action =
                ActionDeclaration::new(action_type(ActionTypeIdCategory::Source, "CodeStarSourceConnection"), "Source")
                    .configuration(serde_json::json!({
                        "ConnectionArn": connection.arn(),
                        "FullRepositoryId": repository,
                        "BranchName": branch,
                        "OutputArtifactFormat": "CODE_ZIP",
                        "DetectChanges": true,
                    }))
                    .output_artifacts(output)
                    .namespace("SourceVariables");
            // Connections created since 2024 are CodeConnections; both prefixes authorize the same use.
            let statement = Statement::allow(["codestar-connections:UseConnection", "codeconnections:UseConnection"])
                .resource(connection.arn());
            (action, vec![statement])
        }
        PipelineSource::S3 { bucket, object_key } => {
            let action = ActionDeclaration::new(action_type(ActionTypeIdCategory::Source, "S3"), "Source")
                .configuration(serde_json::json!({
                    "S3Bucket": bucket.name(),
                    "S3ObjectKey": object_key,
                    "PollForSourceChanges": false,
                }))
                .output_artifacts(output)
                .namespace("SourceVariables");
            (action, bucket.read_statements())
        }
    }
}

/// The CloudFormation action that deploys one stack.
fn deploy_action(deployment: &StackDeployment, order: usize) -> ActionDeclaration {
    let mut configuration = serde_json::json!({
        "ActionMode": "CREATE_UPDATE",
        "StackName": deployment.stack_name,
        "TemplatePath": format!("{SOURCE_ARTIFACT}::{}", deployment.template_path),
        "RoleArn": deployment.role.arn(),
    });
    if !deployment.capabilities.is_empty() {
        configuration["Capabilities"] = deployment.capabilities.join(",").into();
    }
    if !deployment.parameter_overrides.is_empty() {
        configuration["ParameterOverrides"] =
            serde_json::to_string(&deployment.parameter_overrides).expect("strings serialize").into();
    }
    // Action names allow letters, digits and `.@_-`, up to 100 characters: the stack name fits.
    ActionDeclaration::new(action_type(ActionTypeIdCategory::Deploy, "CloudFormation"), deployment.stack_name.as_str())
        .configuration(configuration)
        .input_artifacts(vec![InputArtifact::new(SOURCE_ARTIFACT)])
        .region(deployment.region.as_str())
        .run_order(i64::try_from(order + 1).expect("few actions"))
}

/// The EventBridge rule, and its role, that start the pipeline when a new version of the source object
/// is written.
fn start_on_new_version(
    scope: &mut Scope,
    pipeline: &ResourceRef<codepipeline::Pipeline>,
    bucket: &Bucket,
    object_key: &str,
) -> Result<(), ConstructError> {
    let arn = pipeline_arn(pipeline);
    let role = Role::new(
        scope,
        "StartRole",
        RoleProps {
            statements: vec![Statement::allow(["codepipeline:StartPipelineExecution"]).resource(arn.clone())],
            ..RoleProps::new(
                "Lets EventBridge start the pipeline on a new source version",
                Statement::assume_role("events.amazonaws.com").condition(
                    "StringEquals",
                    "aws:SourceAccount",
                    Value::account_id(),
                ),
            )
        },
    )?;
    let pattern = serde_json::json!({
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket.name()]}, "object": {"key": [object_key]}}
    });
    let rule = events::Rule::new()
        .description("Starts the pipeline when a new version of its source object is written")
        .event_pattern(pattern)
        .targets(vec![Target::new(arn, "Pipeline").role_arn(role.arn())]);
    scope.add("StartOnNewSource", rule)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::{App, Stack};
    use crate::constructs::delivery::{ArtifactStoreProps, BuildProjectProps};

    fn store(stack: &Stack, name: &str) -> ArtifactStore {
        let props = ArtifactStoreProps { bucket_name: Value::from(name), key_alias: "k".into(), access_logs: None };
        ArtifactStore::new(&mut stack.root(), "Store", props).unwrap()
    }

    /// A pipeline in us-east-1 deploying `App` there and in eu-west-1.
    fn pipeline(stages: impl FnOnce(&Role) -> Vec<PipelineStage>) -> Result<serde_json::Value, ConstructError> {
        let mut app = App::new("t");
        let stack = app.add_stack("Delivery", "us-east-1").unwrap();
        let own = store(&stack, "artifacts-use1");
        let other = ArtifactStore::from_names("eu-west-1", crate::constructs::ids::Name::new("artifacts-euw1"), "k");
        let key = own.key().unwrap().clone();
        let build =
            BuildProject::new(&mut stack.root(), "Build", &key, BuildProjectProps::new("version: 0.2", "b")).unwrap();
        let connection =
            GitConnection::new(&mut stack.root(), "Connection", "t", ConnectionProviderType::GitHub).unwrap();
        let role = Role::new(
            &mut stack.root(),
            "DeployRole",
            RoleProps::new("deploys", Statement::assume_role("cloudformation.amazonaws.com")),
        )
        .unwrap();
        let props = PipelineProps {
            name: "t".into(),
            source: PipelineSource::Git { connection, repository: "o/r".into(), branch: "main".into() },
            build,
            stages: stages(&role),
            artifact_stores: vec![own, other],
        };
        Pipeline::new(&mut stack.root(), "Pipeline", props)?;
        Ok(app.synth().unwrap().stacks.remove(0).template)
    }

    fn deployment(role: &Role, region: &str) -> StackDeployment {
        StackDeployment {
            stack_name: format!("App-{region}"),
            region: region.into(),
            template_path: format!("out/App-{region}.template.json"),
            capabilities: vec!["CAPABILITY_IAM".into()],
            parameter_overrides: [("ImageTag".to_owned(), build_variable("IMAGE_TAG"))].into_iter().collect(),
            role: role.clone(),
        }
    }

    #[test]
    fn stages_run_in_order_with_one_kms_store_per_region_and_a_role_on_exact_arns() {
        let template = pipeline(|role| {
            vec![
                PipelineStage::Deploy {
                    name: "Deploy-us-east-1".into(),
                    deployments: vec![deployment(role, "us-east-1")],
                },
                PipelineStage::Approve { name: "Approve".into(), message: "ok?".into() },
                PipelineStage::Deploy {
                    name: "Deploy-eu-west-1".into(),
                    deployments: vec![deployment(role, "eu-west-1")],
                },
            ]
        })
        .unwrap();
        let props = &template["Resources"]["Pipeline"]["Properties"];
        assert_eq!(props["PipelineType"], "V2");
        let names: Vec<&str> =
            props["Stages"].as_array().unwrap().iter().map(|s| s["Name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Source", "Build", "Deploy-us-east-1", "Approve", "Deploy-eu-west-1"]);
        let stores = props["ArtifactStores"].as_array().unwrap();
        assert_eq!(stores.len(), 2);
        for store in stores {
            assert_eq!(store["ArtifactStore"]["EncryptionKey"]["Type"], "KMS");
        }
        assert_eq!(stores[1]["Region"], "eu-west-1");
        let deploy = &props["Stages"][4]["Actions"][0];
        assert_eq!(deploy["Region"], "eu-west-1");
        assert_eq!(deploy["Configuration"]["ParameterOverrides"], "{\"ImageTag\":\"#{Build.IMAGE_TAG}\"}");
        assert_eq!(deploy["Configuration"]["TemplatePath"], "Source::out/App-eu-west-1.template.json");

        let statements = template["Resources"]["PipelineRole"]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"]
            .as_array()
            .unwrap()
            .clone();
        let pass: Vec<&serde_json::Value> =
            statements.iter().filter(|s| s["Action"] == json!(["iam:PassRole"])).collect();
        assert_eq!(pass.len(), 1);
        assert_eq!(pass[0]["Resource"], json!([{"Fn::GetAtt": ["DeployRole", "Arn"]}]), "the one role passed, once");
        assert_eq!(pass[0]["Condition"]["StringEquals"]["iam:PassedToService"], "cloudformation.amazonaws.com");
        for statement in &statements {
            let resources = statement["Resource"].as_array().unwrap();
            let wildcard = resources.iter().any(|resource| resource == "*");
            let unscoped = statement["Action"] == json!(["cloudformation:ValidateTemplate"]);
            assert!(!wildcard || unscoped, "only template validation, which IAM scopes to nothing: {statement}");
        }
    }

    #[test]
    fn a_deploy_to_a_region_without_an_artifact_store_or_an_empty_stage_is_refused() {
        let err = pipeline(|role| {
            vec![PipelineStage::Deploy { name: "Deploy".into(), deployments: vec![deployment(role, "ap-south-1")] }]
        })
        .unwrap_err();
        assert!(err.to_string().contains("ap-south-1, where the pipeline has no artifact store"), "{err}");
        let err = pipeline(|_| vec![PipelineStage::Deploy { name: "Deploy".into(), deployments: vec![] }]).unwrap_err();
        assert!(err.to_string().contains("the stage Deploy deploys nothing"), "{err}");
    }
}
