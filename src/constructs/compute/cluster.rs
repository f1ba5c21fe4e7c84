//! An ECS cluster for Fargate tasks.
//!
//! ## Secure defaults
//! - Container Insights on (checkov CKV_AWS_65).
//! - The Fargate and Fargate Spot capacity providers, with on-demand Fargate as the default strategy;
//!   services opt into Spot explicitly. The providers are declared on the cluster resource itself, not
//!   through `AWS::ECS::ClusterCapacityProviderAssociations`: a service naming `FARGATE_SPOT` then
//!   depends on the cluster through its `Cluster` reference, so CloudFormation cannot create it before
//!   the provider is associated.

use crate::cfn::ecs;
use crate::cfn::ecs::cluster::{CapacityProviderStrategyItem, ClusterSettings};
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::template::{Tag, Value};

/// An ECS cluster with the Fargate capacity providers.
#[derive(Debug, Clone)]
pub struct Cluster {
    resource: ResourceRef<ecs::Cluster>,
}

impl Cluster {
    /// Adds the cluster under `id`.
    pub fn new(scope: &mut Scope<'_>, id: &str) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        let resource = scope.add(
            "Resource",
            ecs::Cluster::new()
                .cluster_settings(vec![ClusterSettings::new().name("containerInsights").value("enabled")])
                .capacity_providers(vec!["FARGATE", "FARGATE_SPOT"])
                .default_capacity_provider_strategy(vec![CapacityProviderStrategyItem::new()
                    .capacity_provider("FARGATE")
                    .base(0)
                    .weight(1)])
                .tags(vec![Tag::name(name)]),
        )?;
        Ok(Self { resource })
    }

    /// The cluster resource.
    pub fn resource(&self) -> &ResourceRef<ecs::Cluster> {
        &self.resource
    }

    /// The cluster name (its `Ref`).
    pub fn name(&self) -> Value<String> {
        self.resource.ref_value()
    }
}
