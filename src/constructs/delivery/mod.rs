//! Delivery constructs: a release pipeline (CodePipeline V2) with its source, its CodeBuild build, its
//! CloudFormation deploy stages and an artifact store in each region it deploys to.

mod artifacts;
mod build;
mod pipeline;

pub use artifacts::{ArtifactStore, ArtifactStoreProps};
pub use build::{BuildCompute, BuildProject, BuildProjectProps, BUILD_IMAGE};
pub use pipeline::{
    build_variable, GitConnection, Pipeline, PipelineProps, PipelineSource, PipelineStage, StackDeployment,
    BUILD_NAMESPACE, SOURCE_ARTIFACT,
};
