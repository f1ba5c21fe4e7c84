//! The release path: the app's pipeline (CodePipeline V2, in the primary region's delivery stack) and
//! an artifact store in every other region (that region's delivery stack, deployed first).
//!
//! Source (a CodeStar connection, or a zip in S3) → Build (the source's tests, then one image per
//! application pushed to its ECR repository, tagged with the source revision) → Deploy the primary
//! region → Approve (unless the config turns it off) → Deploy the other regions. The deploy stages
//! update only the stacks that take image tags, in deploy order, passing the new tag as each
//! `<Service>ImageTag` parameter; the templates come from the source (`cfn-synth synth`'s JSON output,
//! committed beside the code). Each region's deploy role may change exactly what a release changes:
//! the applications' task definitions and services, or the region's release record.
//!
//! Both stacks come right after the deployments stack, before any service needs an image: a first
//! deploy on an empty account runs the configured images, and the pipeline's first run replaces them.

use indexmap::IndexMap;

use super::applications::application_id;
use super::deployments::Release;
use super::names::{bucket_name, released_image_parameter};
use super::support::{render_template, RegionStacks};
use super::PlatformError;
use crate::assembly::manifest::template_capabilities;
use crate::assembly::ReleaseSection;
use crate::cfn::ssm;
use crate::cfn::ssm::parameter::ParameterType;
use crate::config::{DeliveryConfig, PlatformConfig, RegionConfig, RegionRole, Source};
use crate::construct::{pascal_case, App, Stack};
use crate::constructs::data::{AccessLogBucketProps, AccessLogs, Bucket, BucketProps};
use crate::constructs::delivery::{
    build_variable, ArtifactStore, ArtifactStoreProps, BuildProject, BuildProjectProps, GitConnection, Pipeline,
    PipelineProps, PipelineSource, PipelineStage, StackDeployment,
};
use crate::constructs::iam::{Role, RoleProps, Statement};
use crate::template::{Condition, Parameter, Value};

/// The buildspec's source, embedded in the binary.
const BUILDSPEC_TEMPLATE: &str = include_str!("../../templates/buildspec.yml.j2");

/// The variable the build exports with the tag it pushed.
const IMAGE_TAG_VARIABLE: &str = "IMAGE_TAG";

/// The tier name of the stacks this module builds.
const TIER: &str = "Delivery";

/// The delivery stacks, added in deploy order before the stacks whose images they release.
#[derive(Debug, Clone)]
pub(super) struct DeliveryStacks {
    /// The primary region's: the pipeline, its build and its artifact store.
    pipeline: Stack,
    /// Every other region's: its artifact store.
    stores: Vec<Stack>,
}

/// A stack the pipeline updates: the image-tag parameters it sets, and what its deploy role may change.
#[derive(Debug, Clone)]
pub(super) struct ReleaseTarget {
    stack: Stack,
    parameters: Vec<String>,
    permissions: Vec<Statement>,
}

/// What the platform gathers, region by region, for the release path.
#[derive(Debug, Clone, Default)]
pub(super) struct Releases {
    stacks: Option<DeliveryStacks>,
    release: Option<Release>,
    targets: Vec<ReleaseTarget>,
}

impl Releases {
    /// Adds the delivery stacks, when the config has a pipeline, right after the primary region's
    /// deployments stack, whose repositories and roles `release` holds.
    pub fn add_stacks(
        &mut self,
        app: &mut App,
        config: &PlatformConfig,
        release: &Release,
    ) -> Result<(), PlatformError> {
        if config.delivery.is_none() {
            return Ok(());
        }
        let primary = primary_region(config);
        let mut stores = Vec::new();
        for region in config.regions.iter().filter(|region| region.region != primary.region) {
            let stack = RegionStacks { config, region }.add(app, TIER)?;
            stack.set_description(format!(
                "Delivery of {} in {}: the artifact store of the release pipeline's actions in this region.",
                config.app, region.region
            ));
            stores.push(stack);
        }
        let pipeline = RegionStacks { config, region: primary }.add(app, TIER)?;
        for store in &stores {
            pipeline.add_dependency(store.name());
        }
        self.stacks = Some(DeliveryStacks { pipeline, stores });
        self.release = Some(release.clone());
        Ok(())
    }

    /// Registers a compute stack, released through `release` (its region's hooks and roles): the
    /// pipeline releases its applications through `parameters`.
    pub fn add_compute(&mut self, stack: &Stack, parameters: &[String], release: &Release) {
        if self.release.is_none() {
            return;
        }
        let parameters = parameters.to_vec();
        let permissions = compute_permissions(stack, release);
        self.targets.push(ReleaseTarget { stack: stack.clone(), parameters, permissions });
    }

    /// Adds the release record to another region's images stack, and registers it as a target.
    pub fn add_record(&mut self, stack: &Stack, config: &PlatformConfig) -> Result<(), PlatformError> {
        if self.stacks.is_none() {
            return Ok(());
        }
        let target = release_record(stack, config)?;
        self.targets.push(target);
        Ok(())
    }

    /// Builds the artifact stores and the pipeline, and returns the manifest's `release` section and
    /// the rendered buildspec, which is written beside the templates for review.
    pub fn build(&self, config: &PlatformConfig) -> Result<Option<(ReleaseSection, String)>, PlatformError> {
        let (Some(stacks), Some(release), Some(delivery)) = (&self.stacks, &self.release, &config.delivery) else {
            return Ok(None);
        };
        // The pipeline's own store first, as the pipeline wants it.
        let mut stores = vec![artifact_store(&stacks.pipeline, &config.app)?];
        for stack in &stacks.stores {
            artifact_store(stack, &config.app)?;
            stores.push(ArtifactStore::from_names(
                stack.region(),
                crate::constructs::ids::Name::new(Value::sub(bucket_name(&config.app, "artifacts", stack.region()))),
                &artifacts_key_alias(&config.app),
            ));
        }
        let templates: Vec<String> =
            self.targets.iter().map(|target| template_path(delivery, target.stack.name())).collect();
        let buildspec = buildspec(config, delivery, &templates)?;
        let section = pipeline(&stacks.pipeline, config, delivery, release, &self.targets, stores, &buildspec)?;
        Ok(Some((section, buildspec)))
    }
}

fn primary_region(config: &PlatformConfig) -> &RegionConfig {
    config.regions.iter().find(|region| region.role == RegionRole::Primary).expect("validated: one primary region")
}

fn artifacts_key_alias(app: &str) -> String {
    format!("{app}-pipeline-artifacts")
}

/// A region's artifact store, with the bucket its access logs go to.
fn artifact_store(stack: &Stack, app: &str) -> Result<ArtifactStore, PlatformError> {
    let mut root = stack.root();
    let logs = Bucket::access_logs(&mut root, "AccessLogsBucket", AccessLogBucketProps::default())?;
    let props = ArtifactStoreProps {
        bucket_name: Value::sub(bucket_name(app, "artifacts", stack.region())),
        key_alias: artifacts_key_alias(app),
        access_logs: Some(AccessLogs { bucket: logs, prefix: "artifacts/".to_owned() }),
    };
    Ok(ArtifactStore::new(&mut root, "Artifacts", props)?)
}

/// What deploying the compute stack with new image tags changes: its task definitions (a new revision
/// replaces each, which passes the released tasks' roles to ECS) and its services (updated to the new
/// revision, naming the blue/green roles). The actions are those the registry schemas list for the
/// handlers involved (`AWS::ECS::TaskDefinition` create and delete, `AWS::ECS::Service` update); a test
/// keeps them in step.
fn compute_permissions(stack: &Stack, release: &Release) -> Vec<Statement> {
    let name = stack.name();
    let region = stack.region();
    let arn = |resource: &str| {
        Value::sub_with(
            format!("arn:${{AWS::Partition}}:ecs:${{Region}}:${{AWS::AccountId}}:{resource}"),
            [("Region", Value::from(region))],
        )
    };
    // By path: the roles of another region's stack are named without a reference to it, which would
    // deploy the pipeline after that region's services.
    let mut blue_green = Statement::allow(["iam:PassRole"]);
    match release.roles.path() {
        Some(path) => {
            blue_green = blue_green
                .resource(Value::sub(format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role{path}*")));
        }
        None => {
            for role in release.roles.roles() {
                blue_green = blue_green.resource(role.arn());
            }
        }
    }
    // CloudFormation names the cluster and the services after the stack (`<Stack>-<LogicalId>-<suffix>`).
    let services = format!("{name}-*/{name}-*");
    vec![
        // ECS authorizes registering, describing and deregistering task definitions on no resource.
        Statement::allow(["ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition"])
            .resource("*")
            .condition("StringEquals", "aws:RequestedRegion", region),
        Statement::allow(["ecs:TagResource"]).resource(arn(&format!("task-definition/{name}-*:*"))),
        Statement::allow([
            "ecs:UpdateService",
            "ecs:DescribeServices",
            "ecs:ListServiceDeployments",
            "ecs:TagResource",
            "ecs:UntagResource",
            "ecs:ListTagsForResource",
        ])
        .resource(arn(&format!("service/{services}"))),
        Statement::allow(["ecs:DescribeServiceDeployments", "ecs:StopServiceDeployment"])
            .resource(arn(&format!("service-deployment/{services}/*"))),
        Statement::allow(["iam:GetRole"]).resource(released_roles(release)),
        Statement::allow(["iam:PassRole"]).resource(released_roles(release)).condition(
            "StringEquals",
            "iam:PassedToService",
            "ecs-tasks.amazonaws.com",
        ),
        blue_green.condition("StringEquals", "iam:PassedToService", "ecs.amazonaws.com"),
    ]
}

/// Every role under the released tasks' path.
fn released_roles(release: &Release) -> Value<String> {
    Value::sub(format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role{}*", release.task_role_path))
}

/// The applications whose images a release builds, those of the primary's compute tier: construct id,
/// repository name (under the app) and configured image.
fn applications(config: &PlatformConfig) -> Vec<(String, &str, &str)> {
    let compute = primary_region(config).compute.as_ref().expect("validated: the pipeline needs a compute tier");
    compute.services.iter().map(|service| (application_id(service.name()), service.name(), service.image())).collect()
}

/// A region's release record: one SSM parameter per application naming the image it runs on failover,
/// the replicated image at the released tag, or the configured image until a release. The pipeline
/// updates it after approval, so that the region holds what was released even while the primary
/// region is down.
fn release_record(stack: &Stack, config: &PlatformConfig) -> Result<ReleaseTarget, PlatformError> {
    let mut root = stack.root();
    let mut parameters = Vec::new();
    for (id, repository, configured) in applications(config) {
        let parameter_id = format!("{id}ImageTag");
        let mut parameter = Parameter::new("String");
        parameter.description = Some(format!("The released {id} image tag; empty records the configured image"));
        parameter.default = Some(serde_json::json!(""));
        parameter.allowed_pattern = Some("^$|^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$".into());
        let tag: Value<String> = root.add_parameter(&parameter_id, parameter)?;
        stack.set_parameter_value(&parameter_id, "");
        let condition = format!("{id}Released");
        stack.add_condition(&condition, Condition::Not(Box::new(Condition::Equals(tag.clone(), Value::from("")))))?;
        let replicated = Value::sub_with(
            format!(
                "${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{}/{repository}:${{Tag}}",
                config.app
            ),
            [("Tag", tag)],
        );
        let image = Value::if_condition(condition, replicated, Value::from(configured));
        let record = ssm::Parameter::new(ParameterType::String, image)
            .name(released_image_parameter(&config.app, repository))
            .description(format!("The {id} image this region runs on failover: the last release, replicated here"));
        root.add(&format!("Released{id}Image"), record)?;
        parameters.push(parameter_id);
    }
    let region = stack.region();
    // The `AWS::SSM::Parameter` handlers' actions (create, update, read, delete), on the record's names.
    let permissions = vec![Statement::allow([
        "ssm:PutParameter",
        "ssm:DeleteParameter",
        "ssm:GetParameters",
        "ssm:AddTagsToResource",
        "ssm:RemoveTagsFromResource",
        "ssm:ListTagsForResource",
    ])
    .resource(Value::sub_with(
        format!(
            "arn:${{AWS::Partition}}:ssm:${{Region}}:${{AWS::AccountId}}:parameter/{}/released-images/*",
            config.app
        ),
        [("Region", Value::from(region))],
    ))];
    Ok(ReleaseTarget { stack: stack.clone(), parameters, permissions })
}

/// Where the source holds a stack's template (cfn-synth's JSON output).
fn template_path(delivery: &DeliveryConfig, stack: &str) -> String {
    format!("{}/{stack}.template.json", delivery.templates_directory)
}

/// Renders the buildspec for the applications' repositories; `templates` are the source paths of the
/// templates the deploy stages read, which the build checks before anything is built.
pub(super) fn buildspec(
    config: &PlatformConfig,
    delivery: &DeliveryConfig,
    templates: &[String],
) -> Result<String, PlatformError> {
    let images: Vec<_> = applications(config)
        .into_iter()
        .map(|(_, name, _)| {
            minijinja::context! {
                repository => format!("{}/{name}", config.app),
                context => format!("{}/{name}", delivery.build.images_directory),
            }
        })
        .collect();
    let test_command = serde_json::to_string(&delivery.build.test_command).expect("strings serialize");
    render_template(
        "buildspec.yml.j2",
        BUILDSPEC_TEMPLATE,
        minijinja::context! {
            app => &config.app,
            git => matches!(delivery.source.source(), Some(Source::Connection(_))),
            test_command,
            images,
            images_directory => &delivery.build.images_directory,
            templates_directory => &delivery.templates_directory,
            templates,
        },
    )
}

/// Builds the pipeline into `stack` and describes it for the manifest.
#[allow(clippy::too_many_arguments)]
fn pipeline(
    stack: &Stack,
    config: &PlatformConfig,
    delivery: &DeliveryConfig,
    release: &Release,
    targets: &[ReleaseTarget],
    stores: Vec<ArtifactStore>,
    buildspec: &str,
) -> Result<ReleaseSection, PlatformError> {
    let app = &config.app;
    let home = stack.region().to_owned();
    stack.set_description(format!(
        "Delivery of {app} ({home}): the release pipeline (source, build, deploy {home}, approve, deploy the other \
         regions), its build project and its artifact store."
    ));
    let mut root = stack.root();
    let store = stores[0].clone();
    let key = store.key().expect("the pipeline's own store has its key").clone();

    let (source, source_text, manual_steps, first_source_step) = match delivery.source.source().expect("validated") {
        Source::Connection(connection) => {
            let git = GitConnection::new(&mut root, "Connection", app, connection.provider.provider_type())?;
            let text = format!(
                "{} {}@{}",
                connection.provider.provider_type().as_str(),
                connection.repository,
                connection.branch
            );
            let manual = format!(
                "Complete the CodeStar connection {app} in {home}: CloudFormation creates it PENDING. In the console, \
                 open Developer Tools > Settings > Connections, choose {app}, then Update pending connection and \
                 authorize access to {}. The pipeline's Source stage fails until then.",
                connection.repository
            );
            let first = format!(
                "Complete the pending connection (manualSteps), then push to {} of {} (or choose Release change on the pipeline).",
                connection.branch, connection.repository
            );
            let source = PipelineSource::Git {
                connection: git,
                repository: connection.repository.clone(),
                branch: connection.branch.clone(),
            };
            (source, text, vec![manual], first)
        }
        Source::S3(s3) => {
            let logs = Bucket::access_logs(&mut root, "SourceAccessLogsBucket", AccessLogBucketProps::default())?;
            let name = bucket_name(app, "source", &home);
            let bucket = Bucket::new(
                &mut root,
                "SourceBucket",
                &key,
                BucketProps {
                    name: Some(Value::sub(name.clone())),
                    access_logs: Some(AccessLogs { bucket: logs, prefix: "source/".to_owned() }),
                    // The pipeline starts on the source object's new versions through EventBridge.
                    event_bridge: true,
                    ..BucketProps::default()
                },
            )?;
            let location = format!("s3://{}/{}", name.replace("${AWS::AccountId}", "<account-id>"), s3.object_key);
            let first = format!(
                "Upload the source as a zip, with cfn-synth's output in {}/, to {location}: the new version starts the pipeline.",
                delivery.templates_directory
            );
            (PipelineSource::S3 { bucket, object_key: s3.object_key.clone() }, location, Vec::new(), first)
        }
    };

    let mut build_props = BuildProjectProps::new(
        buildspec,
        format!("Tests {app} and builds its images into ECR, tagged with the source revision"),
    );
    build_props.privileged_because = Some(
        "The build runs `docker build` for the application images, which CodeBuild allows only in a privileged \
         container; the project runs nothing but the reviewed buildspec."
            .to_owned(),
    );
    build_props.timeout_minutes = delivery.build.timeout_minutes;
    build_props
        .environment
        .insert("REGISTRY".to_owned(), Value::sub("${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}"));
    let build = BuildProject::new(&mut root, "Build", &key, build_props)?;
    build.role().add_policy("Artifacts", store.read_write_statements())?;
    let repositories = &release.repositories;
    for repository in repositories.values() {
        repository.grant_push(&build)?;
    }

    // One deploy role per region, allowed what that region's targets change.
    let mut regions: IndexMap<String, Vec<&ReleaseTarget>> = IndexMap::new();
    regions.insert(home.clone(), Vec::new());
    for target in targets {
        regions.entry(target.stack.region().to_owned()).or_default().push(target);
    }
    let mut stages = Vec::new();
    let mut image_parameters = IndexMap::new();
    for (index, (region, targets)) in regions.iter().enumerate() {
        if targets.is_empty() {
            continue;
        }
        let statements: Vec<Statement> = targets.iter().flat_map(|target| target.permissions.clone()).collect();
        let role = Role::new(
            &mut root,
            &format!("{}DeployRole", pascal_case(region)),
            RoleProps {
                statements,
                ..RoleProps::new(
                    format!("Deploys {app}'s releases in {region}: new image tags, nothing else"),
                    Statement::assume_role("cloudformation.amazonaws.com").condition(
                        "StringEquals",
                        "aws:SourceAccount",
                        Value::account_id(),
                    ),
                )
            },
        )?;
        let deployments = targets
            .iter()
            .map(|target| {
                let overrides =
                    target.parameters.iter().map(|name| (name.clone(), build_variable(IMAGE_TAG_VARIABLE))).collect();
                image_parameters.insert(target.stack.name().to_owned(), target.parameters.clone());
                StackDeployment {
                    stack_name: target.stack.name().to_owned(),
                    region: region.clone(),
                    template_path: template_path(delivery, target.stack.name()),
                    capabilities: template_capabilities(&target.stack.template()),
                    parameter_overrides: overrides,
                    role: role.clone(),
                }
            })
            .collect();
        if index > 0 && delivery.manual_approval && !stages.iter().any(|s| matches!(s, PipelineStage::Approve { .. })) {
            stages.push(PipelineStage::Approve {
                name: "Approve".to_owned(),
                message: format!("Approve the release {home} runs before it deploys to the other regions"),
            });
        }
        stages.push(PipelineStage::Deploy { name: format!("Deploy-{region}"), deployments });
    }
    let stage_names = ["Source".to_owned(), "Build".to_owned()]
        .into_iter()
        .chain(stages.iter().map(|stage| match stage {
            PipelineStage::Deploy { name, .. } | PipelineStage::Approve { name, .. } => name.clone(),
        }))
        .collect();
    Pipeline::new(
        &mut root,
        "Pipeline",
        PipelineProps { name: app.clone(), source, build, stages, artifact_stores: stores },
    )?;

    let released: Vec<String> = image_parameters.keys().cloned().collect();
    let first_deploy = vec![
        format!(
            "Deploy every stack in deployOrder with its deployCommand. The applications start from their configured \
             images (each image-tag parameter is empty); the repositories ({}) and the pipeline ({}) exist before \
             any service starts a task.",
            repositories_stack(repositories),
            stack.name(),
        ),
        first_source_step,
        format!(
            "The pipeline runs the tests, pushes the images tagged with the source revision, and deploys {} with that tag{}.",
            released.join(", then "),
            if delivery.manual_approval { " (the other regions after approval)" } else { "" }
        ),
    ];
    Ok(ReleaseSection {
        pipeline: app.clone(),
        stack: stack.name().to_owned(),
        region: home,
        source: source_text,
        stages: stage_names,
        image_parameters,
        manual_steps,
        first_deploy,
    })
}

/// The stack that holds the repositories.
fn repositories_stack(repositories: &super::deployments::Repositories) -> String {
    repositories
        .values()
        .next()
        .and_then(|repository| repository.resource())
        .map_or_else(|| "imported".to_owned(), |resource| resource.stack().name().to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::{default_config, of_type, stacks};
    use super::*;
    use crate::template::CfnResource;

    #[test]
    fn the_pipeline_releases_the_compute_stack_then_after_approval_the_other_region() {
        let delivery = &stacks(&default_config())["Delivery"];
        let pipelines = of_type(delivery, "AWS::CodePipeline::Pipeline");
        assert_eq!(pipelines.len(), 1);
        let props = &pipelines[0].1["Properties"];
        assert_eq!(props["PipelineType"], "V2");
        let stages: Vec<&str> =
            props["Stages"].as_array().unwrap().iter().map(|s| s["Name"].as_str().unwrap()).collect();
        assert_eq!(stages, ["Source", "Build", "Deploy-us-east-1", "Approve", "Deploy-eu-west-1"]);
        let regions: Vec<&str> =
            props["ArtifactStores"].as_array().unwrap().iter().map(|s| s["Region"].as_str().unwrap()).collect();
        assert_eq!(regions, ["us-east-1", "eu-west-1"]);
        for store in props["ArtifactStores"].as_array().unwrap() {
            assert_eq!(store["ArtifactStore"]["EncryptionKey"]["Type"], "KMS");
        }
        let compute = &props["Stages"][2]["Actions"][0]["Configuration"];
        assert_eq!(compute["StackName"], "IntegrationPlatform-Primary-Compute");
        assert_eq!(compute["TemplatePath"], "Source::cfn.out/IntegrationPlatform-Primary-Compute.template.json");
        assert_eq!(compute["Capabilities"], "CAPABILITY_IAM");
        let overrides: serde_json::Value =
            serde_json::from_str(compute["ParameterOverrides"].as_str().unwrap()).unwrap();
        assert_eq!(
            overrides,
            json!({
                "IntegrationServiceImageTag": "#{Build.IMAGE_TAG}",
                "WebhookReceiverImageTag": "#{Build.IMAGE_TAG}",
                "WorkerServiceImageTag": "#{Build.IMAGE_TAG}"
            })
        );
        // After approval, the standby's services and the region's release record get the same images,
        // from the region's own replicated repositories.
        let other: Vec<(&str, &str)> = props["Stages"][4]["Actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|action| (action["Region"].as_str().unwrap(), action["Configuration"]["StackName"].as_str().unwrap()))
            .collect();
        assert_eq!(
            other,
            [
                ("eu-west-1", "IntegrationPlatform-DisasterRecovery-Compute"),
                ("eu-west-1", "IntegrationPlatform-DisasterRecovery-Images")
            ]
        );
        let standby = &props["Stages"][4]["Actions"][0]["Configuration"];
        assert_eq!(standby["ParameterOverrides"], compute["ParameterOverrides"]);

        let mut config = default_config();
        config.delivery.as_mut().unwrap().manual_approval = false;
        let delivery = &stacks(&config)["Delivery"];
        let stages = &of_type(delivery, "AWS::CodePipeline::Pipeline")[0].1["Properties"]["Stages"];
        assert!(!stages.to_string().contains("Approve"), "approval is off");
    }

    /// The deploy role may register the compute stack's task definitions, update its services, and pass
    /// exactly the released tasks' roles and the blue/green roles (both by path); nothing else.
    #[test]
    fn the_deploy_role_may_change_what_a_release_changes_and_nothing_else() {
        let delivery = &stacks(&default_config())["Delivery"];
        let statements = &delivery["UsEast1DeployRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
        let actions: Vec<String> = statements
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()))
            .collect();
        assert!(actions.iter().all(|action| action.starts_with("ecs:") || action.starts_with("iam:")), "{actions:?}");
        // Everything CloudFormation's handlers need to replace a task definition and update a service.
        for (schema, handlers) in [
            (crate::cfn::ecs::TaskDefinition::SPEC.schema, &["create", "delete"][..]),
            (crate::cfn::ecs::Service::SPEC.schema, &["update"][..]),
        ] {
            let schema: serde_json::Value = serde_json::from_str(schema).unwrap();
            for handler in handlers {
                for needed in schema["handlers"][handler]["permissions"].as_array().unwrap() {
                    assert!(actions.iter().any(|action| action == needed), "{needed} ({handler})");
                }
            }
        }
        let passes: Vec<&serde_json::Value> =
            statements.as_array().unwrap().iter().filter(|s| s["Action"] == json!(["iam:PassRole"])).collect();
        assert_eq!(passes.len(), 2);
        assert_eq!(passes[0]["Condition"]["StringEquals"]["iam:PassedToService"], "ecs-tasks.amazonaws.com");
        assert!(passes[0]["Resource"].to_string().contains("role/integration-platform/released-tasks/*"));
        assert_eq!(passes[1]["Condition"]["StringEquals"]["iam:PassedToService"], "ecs.amazonaws.com");
        // The load-balancer and hook roles of every region, by their path: no reference to the standby's
        // stack, which would deploy the pipeline after the services.
        assert_eq!(
            passes[1]["Resource"],
            json!([{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/integration-platform/blue-green/*"}])
        );
        let deployments = &stacks(&default_config())["Deployments"];
        let blue_green: Vec<_> = of_type(deployments, "AWS::IAM::Role")
            .into_iter()
            .filter(|(_, role)| role["Properties"]["Path"] == "/integration-platform/blue-green/")
            .collect();
        assert_eq!(blue_green.len(), 2, "the load-balancer and hook roles");
        let compute = &stacks(&default_config())["Compute"];
        for (id, role) in of_type(compute, "AWS::IAM::Role") {
            assert_eq!(role["Properties"]["Path"], "/integration-platform/released-tasks/", "{id}");
        }
    }

    #[test]
    fn the_build_pushes_each_application_tagged_with_the_revision_from_a_privileged_container_that_says_why() {
        let delivery = &stacks(&default_config())["Delivery"];
        let project = &delivery["Build"];
        assert_eq!(project["Properties"]["Environment"]["PrivilegedMode"], true);
        assert!(project["Metadata"]["checkov"]["skip"][0]["comment"].as_str().unwrap().contains("docker build"));
        let buildspec = project["Properties"]["Source"]["BuildSpec"].as_str().unwrap();
        let parsed: serde_json::Value = serde_yaml::from_str(buildspec).unwrap();
        assert_eq!(parsed["env"]["exported-variables"], json!(["IMAGE_TAG"]));
        let commands = parsed["phases"]["build"]["commands"].to_string();
        for service in ["integration-service", "webhook-receiver", "worker-service"] {
            assert!(commands.contains(&format!("integration-platform/{service}:${{IMAGE_TAG}}")), "{service}");
            assert!(
                delivery[&format!("BuildRolePushTo{}Repository", pascal_case(service))].is_object(),
                "the build may push {service}"
            );
        }
        assert_eq!(parsed["phases"]["build"]["commands"][0], "make test", "tests run before any image is built");
    }
}
