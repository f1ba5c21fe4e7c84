//! Where a container image comes from, and what a task needs to pull it.
//!
//! A Fargate task in a private subnet pulls its image at start, before any of its code runs. A public
//! registry (Docker Hub, `public.ecr.aws`, GitHub's) is reachable only through a NAT gateway and an
//! egress rule to the internet; a private ECR repository is reachable without the internet through the
//! `ecr.api` and `ecr.dkr` interface endpoints plus the S3 gateway endpoint that serves image layers.
//!
//! [`PullThroughCache`] turns the first kind into the second: an ECR pull-through cache rule mirrors
//! ECR Public into the account, so a task pulls `<account>.dkr.ecr.<region>.amazonaws.com/ecr-public/...`
//! privately and ECR fetches from upstream on the first pull. The first pull creates the cached
//! repository under the task's execution role, which therefore needs `ecr:CreateRepository` and
//! `ecr:BatchImportUpstreamImage` on the rule's prefix.

use crate::cfn::ecr;
use crate::cfn::ecr::pull_through_cache_rule::UpstreamRegistry;
use crate::cfn::ecr::replication_configuration::{
    FilterType, ReplicationConfiguration2, ReplicationDestination, ReplicationRule, RepositoryFilter,
};
use crate::cfn::ecr::repository::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, LifecyclePolicy, RepositoryImageTagMutability,
};
use crate::cfn::ecr::repository_creation_template::{
    AppliedForItem, EncryptionConfiguration as TemplateEncryption, EncryptionType as TemplateEncryptionType,
    RepositoryCreationTemplateImageTagMutability,
};
use crate::cfn::prelude::*;
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::iam::{grant_label, Grantee, Statement};
use crate::constructs::ids::{Arn, Name};
use crate::constructs::kms::EncryptionKey;
use crate::template::{RemovalPolicy, Value};

/// The registry ECR Public serves, and the prefix of its images.
pub const ECR_PUBLIC_REGISTRY: &str = "public.ecr.aws";

/// The repository prefix of the ECR Public pull-through cache in the account.
pub const ECR_PUBLIC_CACHE_PREFIX: &str = "ecr-public";

/// A container image and how a task reaches it.
#[derive(Debug, Clone, PartialEq)]
pub enum ContainerImage {
    /// Pulled straight from its registry (`repository:tag`): a task needs a route to that registry,
    /// which for anything but the account's own ECR means the internet.
    Registry(String),
    /// Pulled from the account's ECR: through an ECR pull-through cache rule, or a repository of the
    /// account. Reached through the ECR and S3 endpoints.
    Ecr {
        /// The image URI (`<account>.dkr.ecr.<region>.<suffix>/<repository>:<tag>`).
        uri: Value<String>,
        /// What the execution role needs beyond the ECS task execution policy to pull it.
        pull_statements: Vec<Statement>,
    },
}

impl ContainerImage {
    /// An image pulled from its registry as named, such as `kong:3.9.1` from Docker Hub: a task needs
    /// a route to that registry.
    pub fn registry(name: impl Into<String>) -> Self {
        Self::Registry(name.into())
    }

    /// The image `tag` (a literal, or a stack parameter the pipeline sets) of a repository of the
    /// account, pulled over the ECR and S3 endpoints with what the ECS task execution policy allows.
    pub fn from_ecr(repository: &Repository, tag: impl Into<Value<String>>) -> Self {
        let uri = Value::sub_with(
            "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/${Repository}:${Tag}",
            [("Repository", repository.name().value()), ("Tag", tag.into())],
        );
        Self::Ecr { uri, pull_statements: vec![] }
    }

    /// The `Image` of the container definition.
    pub fn uri(&self) -> Value<String> {
        match self {
            Self::Registry(name) => Value::from(name.as_str()),
            Self::Ecr { uri, .. } => uri.clone(),
        }
    }

    /// What the execution role must be allowed, beyond `AmazonECSTaskExecutionRolePolicy`, to pull it.
    pub fn pull_statements(&self) -> Vec<Statement> {
        match self {
            Self::Registry(_) => vec![],
            Self::Ecr { pull_statements, .. } => pull_statements.clone(),
        }
    }
}

/// How to build a [`Repository`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryProps {
    /// The repository name (`app/service`, say). Default: CloudFormation names it.
    pub name: Option<String>,
    /// Images kept; older ones expire. Default: 30.
    pub keep_images: u32,
}

impl Default for RepositoryProps {
    fn default() -> Self {
        Self { name: None, keep_images: 30 }
    }
}

/// The lifecycle policy that expires all but the newest `keep` images.
fn keep_newest(keep: u32) -> String {
    serde_json::json!({"rules": [{
        "rulePriority": 1,
        "description": format!("Keep the newest {keep} images"),
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
        "action": {"type": "expire"}
    }]})
    .to_string()
}

/// An ECR repository of the account, or an existing one imported by name.
///
/// ## Secure defaults
/// - Image tags are immutable (checkov CKV_AWS_51): a tag names one image for ever, so a rollback
///   redeploys exactly what ran before.
/// - Images are scanned on push (CKV_AWS_163) and encrypted with a customer-managed key (CKV_AWS_136).
/// - A lifecycle policy keeps the newest images only.
/// - `Retain` on deletion and replacement: images are releases.
#[derive(Debug, Clone)]
pub struct Repository {
    name: Name<ecr::Repository>,
    resource: Option<ResourceRef<ecr::Repository>>,
}

impl Repository {
    /// Adds a repository under `id`, its images encrypted with `key`.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        key: &EncryptionKey,
        props: RepositoryProps,
    ) -> Result<Self, ConstructError> {
        key.ensure_in_region(scope.region(), &format!("{}/{id}", scope.path()), "a repository")?;
        let mut repository = ecr::Repository::new()
            .image_tag_mutability(RepositoryImageTagMutability::Immutable)
            .image_scanning_configuration(ImageScanningConfiguration::new().scan_on_push(true))
            .encryption_configuration(EncryptionConfiguration::new(EncryptionType::Kms).kms_key(key.arn()))
            .lifecycle_policy(LifecyclePolicy::new().lifecycle_policy_text(keep_newest(props.keep_images)));
        if let Some(name) = props.name {
            repository = repository.repository_name(name);
        }
        let resource = scope.add_with(id, repository, |entry| entry.removal_policy(RemovalPolicy::Retain))?;
        Ok(Self { name: Name::new(resource.ref_value()), resource: Some(resource) })
    }

    /// An existing repository of the account, by name.
    pub fn from_name(name: Name<ecr::Repository>) -> Self {
        Self { name, resource: None }
    }

    /// The repository's name.
    pub fn name(&self) -> Name<ecr::Repository> {
        self.name.clone()
    }

    /// The repository resource, unless imported.
    pub fn resource(&self) -> Option<&ResourceRef<ecr::Repository>> {
        self.resource.as_ref()
    }

    /// The repository's ARN.
    pub fn arn(&self) -> Arn<ecr::Repository> {
        match &self.resource {
            Some(resource) => Arn::new(resource.attr_arn()),
            None => Arn::new(Value::sub_with(
                "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${Name}",
                [("Name", self.name.value())],
            )),
        }
    }

    /// Pushing images: logging in to the registry (which IAM scopes to no resource), then uploading
    /// layers and manifests to this repository only, and reading which tags it holds.
    pub fn push_statements(&self) -> Vec<Statement> {
        vec![
            Statement::allow(["ecr:GetAuthorizationToken"]).resource("*"),
            Statement::allow([
                "ecr:BatchCheckLayerAvailability",
                "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload",
                "ecr:PutImage",
                "ecr:BatchGetImage",
                "ecr:DescribeImages",
            ])
            .resource(self.arn()),
        ]
    }

    /// Lets `grantee` (a build project, say) push images to the repository.
    pub fn grant_push(&self, grantee: &impl Grantee) -> Result<(), ConstructError> {
        grantee.grant_role().add_policy(
            &format!("PushTo{}", grant_label(self.resource.as_ref(), self.name.value())),
            self.push_statements(),
        )
    }
}

/// The registry's replication of repositories under a name prefix to other regions of the account, so
/// that tasks there pull from their own region, also while the source region is down. One per
/// registry: ECR keeps a single replication configuration for each account and region.
#[derive(Debug, Clone)]
pub struct Replication {
    resource: ResourceRef<ecr::ReplicationConfiguration>,
}

impl Replication {
    /// Adds the configuration under `id`: repositories whose names start with `prefix` replicate to
    /// `regions`.
    pub fn new(scope: &mut Scope, id: &str, prefix: &str, regions: &[String]) -> Result<Self, ConstructError> {
        let destinations: Vec<ReplicationDestination> =
            regions.iter().map(|region| ReplicationDestination::new(region.as_str(), Value::account_id())).collect();
        let rule = ReplicationRule::new(destinations)
            .repository_filters(vec![RepositoryFilter::new(prefix, FilterType::PrefixMatch)]);
        let resource = scope.add(id, ecr::ReplicationConfiguration::new(ReplicationConfiguration2::new(vec![rule])))?;
        Ok(Self { resource })
    }

    /// The configuration resource.
    pub fn resource(&self) -> &ResourceRef<ecr::ReplicationConfiguration> {
        &self.resource
    }

    /// Adds, in a destination region's stack, the template ECR applies when replication creates a
    /// repository under `prefix` there: immutable tags, KMS encryption (the region's ECR key, since a
    /// customer-managed key does not leave its region) and the same lifecycle policy.
    pub fn creation_template(
        scope: &mut Scope,
        id: &str,
        prefix: &str,
        keep_images: u32,
    ) -> Result<ResourceRef<ecr::RepositoryCreationTemplate>, ConstructError> {
        let template = ecr::RepositoryCreationTemplate::new(vec![Value::from(AppliedForItem::Replication)], prefix)
            .description(format!(
                "Repositories replicated under {prefix}/: immutable tags, encrypted, newest {keep_images} images"
            ))
            .image_tag_mutability(RepositoryCreationTemplateImageTagMutability::Immutable)
            .encryption_configuration(TemplateEncryption::new(TemplateEncryptionType::Kms))
            .lifecycle_policy(keep_newest(keep_images));
        scope.add(id, template)
    }
}

/// An ECR pull-through cache rule for ECR Public, in one region.
#[derive(Debug, Clone)]
pub struct PullThroughCache {
    resource: ResourceRef<ecr::PullThroughCacheRule>,
}

impl PullThroughCache {
    /// Adds the rule mirroring `public.ecr.aws` under the `ecr-public/` prefix, under `id`.
    pub fn ecr_public(scope: &mut Scope, id: &str) -> Result<Self, ConstructError> {
        let rule = ecr::PullThroughCacheRule::new()
            .ecr_repository_prefix(ECR_PUBLIC_CACHE_PREFIX)
            .upstream_registry(UpstreamRegistry::EcrPublic)
            .upstream_registry_url(ECR_PUBLIC_REGISTRY);
        Ok(Self { resource: scope.add(id, rule)? })
    }

    /// The rule resource.
    pub fn resource(&self) -> &ResourceRef<ecr::PullThroughCacheRule> {
        &self.resource
    }

    /// The cached form of `image` when it is an ECR Public image (`public.ecr.aws/<repository>:<tag>`),
    /// else `None`. The URI names the rule by `Ref`, so a task definition using it is created after
    /// the rule.
    pub fn image(&self, image: &str) -> Option<ContainerImage> {
        let path = image.strip_prefix(ECR_PUBLIC_REGISTRY)?.strip_prefix('/')?;
        if path.is_empty() {
            return None;
        }
        let uri = Value::sub_with(
            format!("${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/${{Prefix}}/{path}"),
            [("Prefix", self.resource.ref_value())],
        );
        let repositories = Value::sub(format!(
            "arn:${{AWS::Partition}}:ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{ECR_PUBLIC_CACHE_PREFIX}/*"
        ));
        let pull_statements =
            vec![Statement::allow(["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]).resource(repositories)];
        Some(ContainerImage::Ecr { uri, pull_statements })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::App;
    use crate::constructs::compute::{FargateTaskDefinition, TaskProps};
    use crate::constructs::kms::KeyProps;

    #[test]
    fn an_ecr_public_image_is_pulled_through_the_cache_with_import_rights() {
        let mut app = App::new("t");
        let stack = app.add_stack("Compute", "us-east-1").unwrap();
        let mut root = stack.root();
        let cache = PullThroughCache::ecr_public(&mut root, "EcrPublicCache").unwrap();
        assert!(cache.image("kong:3.9.1").is_none(), "Docker Hub is not ECR Public");
        assert!(cache.image("public.ecr.aws/").is_none());
        let image = cache.image("public.ecr.aws/docker/library/kong:3.9.1").unwrap();
        let key = EncryptionKey::new(&mut root, "Key", KeyProps::default()).unwrap();
        FargateTaskDefinition::new(&mut root, "Kong", TaskProps::new(image, &key)).unwrap();
        let repository = Repository::new(&mut root, "Repository", &key, RepositoryProps::default()).unwrap();
        FargateTaskDefinition::new(&mut root, "App", TaskProps::new(ContainerImage::from_ecr(&repository, "v1"), &key))
            .unwrap();
        let synth = app.synth().unwrap();
        let resources = &synth.stacks[0].template["Resources"];
        let rule = &resources["EcrPublicCache"]["Properties"];
        assert_eq!(rule["UpstreamRegistryUrl"], "public.ecr.aws");
        assert_eq!(rule["EcrRepositoryPrefix"], "ecr-public");
        assert_eq!(
            resources["Kong"]["Properties"]["ContainerDefinitions"][0]["Image"],
            json!({"Fn::Sub": [
                "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/${Prefix}/docker/library/kong:3.9.1",
                {"Prefix": {"Ref": "EcrPublicCache"}}
            ]})
        );
        let policy = &resources["KongExecutionRole"]["Properties"]["Policies"][0];
        let statements = policy["PolicyDocument"]["Statement"].as_array().unwrap();
        let import = statements.iter().find(|s| s["Action"][0] == "ecr:BatchImportUpstreamImage").unwrap();
        assert_eq!(import["Action"], json!(["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]));
        assert_eq!(
            import["Resource"],
            json!([{"Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/ecr-public/*"}])
        );
        assert_eq!(
            resources["App"]["Properties"]["ContainerDefinitions"][0]["Image"],
            json!({"Fn::Sub": [
                "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/${Repository}:${Tag}",
                {"Repository": {"Ref": "Repository"}, "Tag": "v1"}
            ]})
        );
        let repository = &resources["Repository"]["Properties"];
        assert_eq!(repository["ImageTagMutability"], "IMMUTABLE");
        let lifecycle: serde_json::Value =
            serde_json::from_str(repository["LifecyclePolicy"]["LifecyclePolicyText"].as_str().unwrap()).unwrap();
        assert_eq!(lifecycle["rules"][0]["selection"]["countNumber"], 30);
    }
}
