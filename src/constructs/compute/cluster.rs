//! An ECS cluster for Fargate tasks.
//!
//! The cluster knows its VPC, so the services in it derive their subnets and security group from it.
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
use crate::constructs::ids::Name;
use crate::constructs::network::Vpc;
use crate::template::Tag;

/// An ECS cluster with the Fargate capacity providers, or an existing one imported by name.
#[derive(Debug, Clone)]
pub struct Cluster {
    name: Name<ecs::Cluster>,
    resource: Option<ResourceRef<ecs::Cluster>>,
    vpc: Vpc,
}

impl Cluster {
    /// Adds the cluster under `id`, for services in `vpc`.
    pub fn new(scope: &mut Scope, id: &str, vpc: &Vpc) -> Result<Self, ConstructError> {
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
        Ok(Self { name: Name::new(resource.ref_value()), resource: Some(resource), vpc: vpc.clone() })
    }

    /// An existing cluster, by name, whose services run in `vpc`. It must offer the `FARGATE`
    /// capacity provider (and `FARGATE_SPOT` for services that use Spot).
    pub fn from_attributes(name: Name<ecs::Cluster>, vpc: &Vpc) -> Self {
        Self { name, resource: None, vpc: vpc.clone() }
    }

    /// The cluster resource, unless the cluster is imported.
    pub fn resource(&self) -> Option<&ResourceRef<ecs::Cluster>> {
        self.resource.as_ref()
    }

    /// The cluster name.
    pub fn name(&self) -> Name<ecs::Cluster> {
        self.name.clone()
    }

    /// The VPC its services run in.
    pub fn vpc(&self) -> &Vpc {
        &self.vpc
    }
}
