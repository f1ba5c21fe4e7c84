//! The reference integration platform (L3): the stacks `cfn-synth synth` builds from a config.
//!
//! Each region role gets its own stacks, named `<App>-<Role>-<Tier>`, so that stateful and stateless
//! resources are kept apart and every template stays small: network, endpoints (optional), data,
//! ingress, compute, scaling, operations and deployments in the role's region, and for the primary
//! role the edge
//! (CloudFront and WAF), which AWS keeps in us-east-1 whatever the primary region is. Stacks in
//! different regions refer to each other only by deterministic names, ordered by explicit stack
//! dependencies.

mod compute;
mod data;
mod deployments;
mod edge;
mod endpoints;
mod ingress;
mod network;
mod operations;
mod scaling;
mod security;
#[cfg(test)]
mod test_support;

pub use compute::APP_DATABASE_USER;
pub use data::{bucket_name, DataTier};
pub use deployments::render_appspec;
pub use edge::{origin_verify_secret_name, OriginVerification, EDGE_REGION};
pub use ingress::{internal_name, origin_name, BlueGreenTargets, Ingress};
pub use scaling::{IDLE_CPU_PERCENT, QUEUE_DEPTH_THRESHOLD};
pub use security::{CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS, KONG_PROXY_PORT, POSTGRES_PORT, REDIS_PORT, SERVICE_PORT};

use crate::config::{PlatformConfig, RegionConfig, RegionRole};
use indexmap::IndexMap;

use crate::construct::{pascal_case, App, ConstructError, Stack};
use crate::template::Mapping;
use security::ChainPorts;

/// Why the platform could not be built from a config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// A config value that cannot be built, named by its key path.
    #[error("{key}: {message}")]
    Config {
        /// The key path, as serde writes it (`regions[0].network.subnets.privateApp`).
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The construct tree refused something.
    #[error(transparent)]
    Construct(#[from] ConstructError),
    /// A template in `templates/` did not render.
    #[error("{template}: {message}")]
    Template {
        /// The template's path.
        template: String,
        /// What minijinja said.
        message: String,
    },
}

/// Builds the platform's app from a config, validating it first.
pub fn build(config: &PlatformConfig) -> Result<App, PlatformError> {
    config.validate().map_err(|issue| PlatformError::Config { key: issue.key, message: issue.message })?;
    let mut app = App::new(&config.app);
    let verification = origin_verification(config);
    for (index, region) in config.regions.iter().enumerate() {
        let key = format!("regions[{index}]");
        let network_stack = add_region_stack(&mut app, config, region, "Network")?;
        let network_name = network_stack.name().to_owned();
        let vpc = network::build(network_stack, &region.network, &key)?;
        let ports = region.compute.as_ref().map_or_else(ChainPorts::default, |compute| ChainPorts {
            kong: compute.kong.port,
            services: vec![compute.integration_service.port, compute.webhook_receiver.port],
        });
        let groups = security::build(&mut app, &network_name, &vpc, &ports)?;
        if region.network.endpoints {
            let endpoints_name = add_region_stack(&mut app, config, region, "Endpoints")?.name().to_owned();
            endpoints::build(&mut app, &endpoints_name, &vpc, &groups, &key)?;
        }
        if let Some(data_config) = &region.data {
            let data_name = add_region_stack(&mut app, config, region, "Data")?.name().to_owned();
            let data = data::build(&mut app, &data_name, &config.app, &vpc, &groups, region, &key)?;
            let mut tiers = None;
            if let (Some(compute_config), Some(verification)) = (&region.compute, &verification) {
                if region.role == RegionRole::Primary {
                    let edge_stack = add_stack_in(&mut app, config, region, "Edge", EDGE_REGION)?;
                    edge_stack.add_dependency(&data_name);
                    let replicas = replica_regions(config);
                    edge::build(&mut app, verification, &config.app, &region.region, compute_config, &replicas)?;
                }
                let ingress_stack = add_region_stack(&mut app, config, region, "Ingress")?;
                ingress_stack.add_dependency(&verification.stack_name);
                let ingress_name = ingress_stack.name().to_owned();
                let ingress =
                    ingress::build(&mut app, &ingress_name, &vpc, &groups, &data, compute_config, verification)?;
                security::admit_cloudfront(&mut app, &ingress_name, &groups, &key)?;
                let compute_stack = add_region_stack(&mut app, config, region, "Compute")?;
                // Its tasks pull images, write logs and read secrets through the endpoints: they must
                // exist before the first task starts, though nothing is imported from them.
                compute_stack.add_dependency(stack_name(config, region, "Endpoints"));
                let compute_name = compute_stack.name().to_owned();
                let compute = compute::build(&mut app, &compute_name, &vpc, &groups, &data, &ingress, compute_config)?;
                let scaling_name = add_region_stack(&mut app, config, region, "Scaling")?.name().to_owned();
                scaling::build(&mut app, &scaling_name, &compute, &data.queue, compute_config)?;
                tiers = Some((ingress, compute, compute_config));
            }
            let operations_name = add_region_stack(&mut app, config, region, "Operations")?.name().to_owned();
            let watched = tiers.as_ref().map(|(ingress, compute, _)| operations::Watched { compute, ingress });
            let operations =
                operations::build(&mut app, &operations_name, &data, &data_config.redis, watched, &region.monitoring)?;
            if let Some((_, compute, compute_config)) = &tiers {
                let deployments_name = add_region_stack(&mut app, config, region, "Deployments")?.name().to_owned();
                deployments::build(&mut app, &deployments_name, compute, compute_config, &operations.alarm_topic)?;
            }
        }
    }
    Ok(app)
}

/// Renders the minijinja template `source` (embedded from `templates/<file>`) with `context`, keeping
/// its trailing newline; an error names the template file.
fn render_template(file: &'static str, source: &str, context: minijinja::Value) -> Result<String, PlatformError> {
    let mut environment = minijinja::Environment::new();
    environment.set_keep_trailing_newline(true);
    environment
        .add_template(file, source)
        .and_then(|()| environment.get_template(file))
        .and_then(|template| template.render(context))
        .map_err(|error| PlatformError::Template { template: format!("templates/{file}"), message: error.to_string() })
}

/// Adds a per-region lookup table as the mapping `name` (`<region>: {<value_key>: <value>}`), after
/// checking that the stack's region is in it; `key` is the region's config key path, for the error.
fn add_region_mapping(
    stack: &mut Stack,
    name: &str,
    value_key: &str,
    table: &[(&str, &str)],
    key: &str,
    what: &str,
) -> Result<(), PlatformError> {
    let region = stack.region().to_owned();
    if !table.iter().any(|(known, _)| *known == region) {
        return Err(PlatformError::Config {
            key: format!("{key}.region"),
            message: format!("no {what} is known for {region}"),
        });
    }
    let mapping: Mapping = table
        .iter()
        .map(|(region, value)| ((*region).to_owned(), IndexMap::from([(value_key.to_owned(), (*value).into())])))
        .collect();
    stack.add_mapping(name, mapping)?;
    Ok(())
}

/// The origin verification of the edge, when the primary region has a compute tier for it to front.
fn origin_verification(config: &PlatformConfig) -> Option<OriginVerification> {
    let primary = config.regions.iter().find(|region| region.role == RegionRole::Primary)?;
    let compute = primary.compute.as_ref()?;
    Some(OriginVerification {
        stack_name: stack_name(config, primary, "Edge"),
        header: compute.edge.origin_verify_header.clone(),
        secret_name: origin_verify_secret_name(&config.app),
    })
}

/// The regions outside the edge region whose load balancers require the origin-verify header, and so
/// need a replica of its secret.
fn replica_regions(config: &PlatformConfig) -> Vec<String> {
    config
        .regions
        .iter()
        .filter(|region| region.compute.is_some() && region.region != EDGE_REGION)
        .map(|region| region.region.clone())
        .collect()
}

/// The name of a region role's stack of one tier: `<App>-<Role>-<Tier>`.
fn stack_name(config: &PlatformConfig, region: &RegionConfig, tier: &str) -> String {
    format!("{}-{}-{tier}", pascal_case(&config.app), region.role.stack_segment())
}

/// Adds a stack of one tier in one region, named and tagged the platform's way.
fn add_region_stack<'a>(
    app: &'a mut App,
    config: &PlatformConfig,
    region: &RegionConfig,
    tier: &str,
) -> Result<&'a mut Stack, PlatformError> {
    add_stack_in(app, config, region, tier, &region.region)
}

/// Adds a stack of one tier of a region role, deployed to `region_code` (which differs from the role's
/// region for global resources that AWS keeps in us-east-1).
fn add_stack_in<'a>(
    app: &'a mut App,
    config: &PlatformConfig,
    region: &RegionConfig,
    tier: &str,
    region_code: &str,
) -> Result<&'a mut Stack, PlatformError> {
    let name = stack_name(config, region, tier);
    let stack = app.add_stack(&name, region_code)?;
    stack.add_tag("app", &config.app);
    stack.add_tag("region-role", region.role.tag_value());
    for (key, value) in &config.tags {
        stack.add_tag(key, value);
    }
    Ok(stack)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigFile;

    #[test]
    fn each_region_role_gets_a_named_and_tagged_network_stack() {
        let config = ConfigFile::embedded_default().unwrap().config().clone();
        let app = build(&config).unwrap();
        let stacks: Vec<(&str, &str)> = app.stacks().map(|s| (s.name(), s.region())).collect();
        assert_eq!(
            stacks,
            [
                ("IntegrationPlatform-Primary-Network", "us-east-1"),
                ("IntegrationPlatform-Primary-Endpoints", "us-east-1"),
                ("IntegrationPlatform-Primary-Data", "us-east-1"),
                ("IntegrationPlatform-Primary-Edge", "us-east-1"),
                ("IntegrationPlatform-Primary-Ingress", "us-east-1"),
                ("IntegrationPlatform-Primary-Compute", "us-east-1"),
                ("IntegrationPlatform-Primary-Scaling", "us-east-1"),
                ("IntegrationPlatform-Primary-Operations", "us-east-1"),
                ("IntegrationPlatform-Primary-Deployments", "us-east-1"),
                ("IntegrationPlatform-DisasterRecovery-Network", "eu-west-1"),
                ("IntegrationPlatform-DisasterRecovery-Endpoints", "eu-west-1")
            ]
        );
        let tags = app.stack("IntegrationPlatform-DisasterRecovery-Network").unwrap().tags();
        assert_eq!(tags["app"], "integration-platform");
        assert_eq!(tags["region-role"], "disaster-recovery");
        assert_eq!(tags["owner"], "platform-team");
    }
}
