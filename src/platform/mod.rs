//! The reference integration platform (L3): the stacks `cfn-synth synth` builds from a config.
//!
//! Each region role gets its own stacks, named `<App>-<Role>-<Tier>`, so that stateful and stateless
//! resources are kept apart and every template stays small: network, endpoints (optional), data,
//! ingress, compute, scaling, operations and deployments in the role's region, and for the primary
//! role the edge
//! (CloudFront and WAF), which AWS keeps in us-east-1 whatever the primary region is. Stacks in
//! different regions refer to each other only by deterministic names, ordered by explicit stack
//! dependencies.

mod applications;
mod cache;
mod compute;
mod data;
mod delivery;
mod deployments;
mod edge;
mod endpoints;
mod ingress;
mod kong;
mod names;
mod network;
mod operations;
mod recovery;
mod scaling;
mod security;
mod standby;
mod storage;
mod support;
#[cfg(test)]
mod test_support;

pub use cache::CacheLogins;
pub use compute::APP_DATABASE_USER;
pub use data::DataTier;
pub use ingress::{BlueGreenTargets, Ingress};
pub use names::{
    bucket_name, failover_origin_name, internal_name, origin_name, origin_verify_secret_name, stack_name,
    OriginVerification, EDGE_REGION,
};
pub use scaling::{IDLE_CPU_PERCENT, QUEUE_DEPTH_THRESHOLD};
pub use security::{CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS, KONG_PROXY_PORT, POSTGRES_PORT, REDIS_PORT, SERVICE_PORT};

use crate::assembly::TemplateBuckets;
use crate::config::{ComputeConfig, PlatformConfig, RegionConfig, RegionRole};
use crate::construct::{App, ConstructError};
use crate::constructs::compute::Replication;
use crate::constructs::network::Vpc;
use data::DataTier as Data;
use delivery::Releases;
use security::{ChainPorts, SecurityGroups};
use standby::{failover, standby_compute};
use storage::RecoveryStorage;
use support::RegionStacks;

/// Why the platform could not be built from a config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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
    build_with(config, &TemplateBuckets::default())
}

/// Builds the platform with buckets for what is too large to send inline (`synth --s3-bucket`): a
/// Kong configuration past 16 KiB rendered (`kong::INLINE_CONFIG_LIMIT`) becomes an object in its region's bucket,
/// uploaded before the gateway stack deploys.
pub fn build_with(config: &PlatformConfig, buckets: &TemplateBuckets) -> Result<App, PlatformError> {
    config.validate().map_err(|issue| PlatformError::Config { key: issue.key, message: issue.message })?;
    let mut app = App::new(&config.app);
    let verification = origin_verification(config);
    let mut releases = Releases::default();
    // The primary first: a standby's replicas name what it creates.
    let mut order: Vec<(usize, &RegionConfig)> = config.regions.iter().enumerate().collect();
    order.sort_by_key(|(_, region)| region.role != RegionRole::Primary);
    // Every region's network before any data: a standby's replica deploys into its region's VPC right
    // after the primary's database.
    let mut networks = Vec::new();
    for (index, region) in &order {
        networks.push(build_network(&mut app, RegionStacks { config, region }, &format!("regions[{index}]"))?);
    }
    let mut primary = None;
    for ((index, region), network) in order.iter().zip(&networks) {
        let context = RegionContext {
            stacks: RegionStacks { config, region },
            key: format!("regions[{index}]"),
            network,
            verification: verification.as_ref(),
            buckets,
        };
        build_region(&mut app, &context, &mut primary, &mut releases)?;
    }
    image_replicas(&mut app, config, &mut releases)?;
    if let Some((section, buildspec)) = releases.build(config)? {
        app.add_artifact(format!("buildspec/{}.yml", section.stack), buildspec)?;
        app.set_manifest_section("release", serde_json::to_value(section).expect("sections serialize"))?;
    }
    Ok(app)
}

/// A region's network: its VPC, security groups and (optional) endpoints stack.
#[derive(Debug, Clone)]
struct Network {
    vpc: Vpc,
    groups: SecurityGroups,
    endpoints: Option<crate::construct::Stack>,
}

/// Builds one region role's network and endpoints stacks; `key` is its config key path, for errors.
fn build_network(app: &mut App, stacks: RegionStacks<'_>, key: &str) -> Result<Network, PlatformError> {
    let region = stacks.region;
    let network_stack = stacks.add(app, "Network")?;
    let vpc = network::build(&network_stack, &region.network, key)?;
    let compute = region.compute.as_ref().or_else(|| match region.standby {
        Some(_) => primary_region(stacks.config).compute.as_ref(),
        None => None,
    });
    let ports = compute.map_or_else(ChainPorts::default, |compute| {
        let services = applications::http_applications(compute);
        ChainPorts {
            kong: compute.kong.port,
            services: services.iter().map(|service| service.service.port).collect(),
            listeners: services
                .iter()
                .map(|service| (service.listeners.production, format!("the {}", applications::title(&service.name))))
                .collect(),
        }
    });
    let groups = security::build(&network_stack, &vpc, &ports)?;
    let endpoints = match region.network.endpoints {
        true => {
            let stack = stacks.add(app, "Endpoints")?;
            endpoints::build(&stack, &vpc, &groups, key)?;
            Some(stack)
        }
        false => None,
    };
    Ok(Network { vpc, groups, endpoints })
}

/// What building a region's tiers needs.
struct RegionContext<'a> {
    stacks: RegionStacks<'a>,
    /// The region's config key path, for errors.
    key: String,
    network: &'a Network,
    verification: Option<&'a OriginVerification>,
    /// Where payloads too large for a template go.
    buckets: &'a TemplateBuckets,
}

/// What the primary region's data tier hands to the disaster-recovery region.
struct PrimaryData {
    storage: Option<RecoveryStorage>,
    data: Data,
}

/// Builds one region role's data, serving and operations stacks, in deploy order; the primary's
/// data is recorded in `primary` for the disaster-recovery region that follows.
fn build_region(
    app: &mut App,
    context: &RegionContext<'_>,
    primary: &mut Option<PrimaryData>,
    releases: &mut Releases,
) -> Result<(), PlatformError> {
    let RegionContext { stacks, key, network, verification, buckets } = context;
    let (stacks, key, verification) = (*stacks, key.as_str(), *verification);
    let region = stacks.region;
    let Network { vpc, groups, endpoints } = network;
    let standby_compute = match (&region.standby, &primary_region(stacks.config).compute) {
        (Some(standby), Some(compute)) => Some(standby_compute(compute, standby)),
        _ => None,
    };
    let (data, data_stack, compute_config, monitoring, redis) = match &region.data {
        Some(data_config) => {
            // The disaster-recovery region's replica buckets exist before the replication rules that name them.
            let storage = match (region.role, recovery_region(stacks.config)) {
                (RegionRole::Primary, Some(recovery)) => {
                    Some(recovery_storage(app, stacks.config, recovery, region, data_config)?)
                }
                _ => None,
            };
            let data_stack = stacks.add(app, "Data")?;
            let global_cache = region.role == RegionRole::Primary
                && recovery_region(stacks.config)
                    .and_then(|recovery| recovery.standby.as_ref())
                    .is_some_and(|standby| standby.global_datastore);
            let recovery = data::Recovery { storage: storage.as_ref(), global_cache };
            let data = data::build(&data_stack, &stacks.config.app, vpc, groups, region, key, recovery)?;
            if region.role == RegionRole::Primary {
                *primary = Some(PrimaryData { storage, data: data.clone() });
            }
            (data, data_stack, region.compute.as_ref(), &region.monitoring, &data_config.redis)
        }
        None => {
            let (Some(standby), Some(PrimaryData { storage: Some(storage), data: source })) =
                (&region.standby, &*primary)
            else {
                return Ok(());
            };
            let primary_region = primary_region(stacks.config);
            let primary_data = primary_region.data.as_ref().expect("validated: a standby's primary has data");
            let data_stack = stacks.add(app, "Data")?;
            let standing = data::Standing { primary: primary_data, source, standby, storage };
            let data = data::standby(&data_stack, &stacks.config.app, vpc, groups, standing)?;
            // A recovery region that names no subscribers of its own is watched as the primary is.
            let monitoring =
                if region.monitoring.notify.is_empty() { &primary_region.monitoring } else { &region.monitoring };
            (data, data_stack, standby_compute.as_ref(), monitoring, &primary_data.redis)
        }
    };

    let mut served = None;
    if let (Some(compute_config), Some(verification)) = (compute_config, verification) {
        if region.role == RegionRole::Primary {
            let edge_stack = stacks.add_in(app, "Edge", EDGE_REGION)?;
            edge_stack.add_dependency(data_stack.name());
            let regions = replica_regions(stacks.config);
            // The disaster-recovery region's replica is encrypted with that region's key.
            let keys: Vec<_> =
                data.replicas.iter().map(|replicas| (replicas.region.clone(), replicas.key.clone())).collect();
            let app_name = &stacks.config.app;
            let origin = match failover(stacks.config, region) {
                Some(failover) => failover.name,
                None => origin_name(&region.region, &compute_config.domain.name),
            };
            let edge = edge::Edge { app_name, primary_region: &region.region, origin: &origin };
            edge::build(&edge_stack, verification, &edge, compute_config, &regions, &keys)?;
        }
        let tier = Tier { vpc, groups, data: &data, config: compute_config };
        let serving = Serving { verification, key, endpoints: endpoints.as_ref(), buckets };
        let (ingress, compute) = build_compute(app, stacks, tier, &serving, releases)?;
        served = Some((ingress, compute));
    }

    if let Some(settings) = &region.standby {
        let standby = recovery::Standby {
            config: stacks.config,
            primary: primary_region(stacks.config),
            recovery: region,
            standby: settings,
            key,
            compute: primary_region(stacks.config).compute.as_ref().zip(served.as_ref().map(|(_, compute)| compute)),
        };
        recovery::build(app, &standby)?;
    }

    let operations_stack = stacks.add(app, "Operations")?;
    let watched = served.as_ref().map(|(ingress, compute)| operations::Watched { compute, ingress });
    let operations = operations::build(&operations_stack, &data, redis, watched, monitoring)?;
    if let Some(script) = operations.database_users_script.clone() {
        app.add_artifact(format!("database-users/{}.sh", operations_stack.name()), script)?;
    }
    Ok(())
}

/// Adds the recovery region's storage stack, and, unless the region stands by (its operations stack
/// then watches the storage with the rest of its data tier), an operations stack for its queue.
fn recovery_storage(
    app: &mut App,
    config: &PlatformConfig,
    recovery: &RegionConfig,
    primary: &RegionConfig,
    data_config: &crate::config::DataConfig,
) -> Result<RecoveryStorage, PlatformError> {
    let recovery_stacks = RegionStacks { config, region: recovery };
    let storage_stack = recovery_stacks.add(app, "Storage")?;
    let index = config.regions.iter().position(|region| region.region == recovery.region).expect("a config region");
    let storage = storage::build(&storage_stack, config, recovery, data_config, &format!("regions[{index}]"))?;
    if recovery.standby.is_none() {
        let operations_stack = recovery_stacks.add(app, "Operations")?;
        storage::operations(&operations_stack, &storage, &recovery.monitoring, &primary.monitoring)?;
    }
    Ok(storage)
}

/// What a region's serving tier is built on.
#[derive(Debug, Clone, Copy)]
struct Tier<'a> {
    vpc: &'a Vpc,
    groups: &'a SecurityGroups,
    data: &'a Data,
    config: &'a ComputeConfig,
}

/// What a region's serving stacks are built with beside its tier.
struct Serving<'a> {
    verification: &'a OriginVerification,
    /// The region's config key path, for errors.
    key: &'a str,
    endpoints: Option<&'a crate::construct::Stack>,
    /// Where payloads too large for a template go.
    buckets: &'a TemplateBuckets,
}

/// Builds the ingress, deployments, compute, gateway and scaling stacks of a region that serves requests.
fn build_compute(
    app: &mut App,
    stacks: RegionStacks<'_>,
    tier: Tier<'_>,
    serving: &Serving<'_>,
    releases: &mut Releases,
) -> Result<(Ingress, compute::Compute), PlatformError> {
    let Serving { verification, key, endpoints: endpoints_stack, buckets } = *serving;
    let ingress_stack = stacks.add(app, "Ingress")?;
    ingress_stack.add_dependency(&verification.stack_name);
    let failover = failover(stacks.config, stacks.region);
    let ingress =
        ingress::build(&ingress_stack, tier.vpc, tier.groups, tier.data, tier.config, verification, failover.as_ref())?;
    security::admit_cloudfront(&ingress_stack, tier.groups, key)?;

    // The hooks, roles and alarms the services' blue/green deployments name exist before the services.
    let deployments_stack = stacks.add(app, "Deployments")?;
    let primary = stacks.region.role == RegionRole::Primary;
    // The primary's repositories replicate to every other region; a standby's are those replicas.
    let replica_regions: Vec<String> = stacks
        .config
        .regions
        .iter()
        .filter(|other| primary && other.region != stacks.region.region)
        .map(|other| other.region.clone())
        .collect();
    let keep = u32::try_from(tier.config.deployment.keep_images).expect("validated: 1 to 1000");
    let images = deployments::Images {
        prefix: &stacks.config.app,
        keep,
        replica_regions: &replica_regions,
        replicated: !primary,
    };
    let release =
        deployments::build(&deployments_stack, tier.vpc, tier.groups, &ingress, &tier.data.key, tier.config, &images)?;
    // The pipeline, and its artifact stores in the other regions, exist before any service needs an image.
    if primary {
        releases.add_stacks(app, stacks.config, &release)?;
    }

    let compute_stack = stacks.add(app, "Compute")?;
    let gateway_stack = stacks.add(app, "Gateway")?;
    // Their tasks pull images, write logs and read secrets through the endpoints: they must exist before
    // the first task starts, though nothing is imported from them.
    if let Some(endpoints) = endpoints_stack {
        compute_stack.add_dependency(endpoints.name());
        gateway_stack.add_dependency(endpoints.name());
    }
    // A standby serves the primary's routes: its missing bucket is its standby section's to answer for.
    let routes_key = match stacks.region.compute {
        Some(_) => format!("{key}.compute.gateway.routes"),
        None => format!("{key}.standby"),
    };
    let compute = compute::build(
        &compute_stack,
        &gateway_stack,
        tier.vpc,
        tier.groups,
        tier.data,
        &ingress,
        &release,
        tier.config,
        &compute::KongArtifacts { buckets, routes_key: &routes_key },
    )?;
    let kong_file = format!("kong/{}.yml", gateway_stack.name());
    app.add_artifact(kong_file.clone(), compute.kong_config.clone())?;
    if let kong::ConfigSource::S3 { bucket, key } = &compute.kong_source {
        app.upload_artifact(&gateway_stack, &kong_file, bucket, key)?;
    }
    releases.add_compute(&compute_stack, &compute.image_parameters, &release);

    let scaling_stack = stacks.add(app, "Scaling")?;
    scaling::build(&scaling_stack, &compute, &tier.data.queue)?;
    Ok((ingress, compute))
}

/// In every other region, when the primary region runs the applications: the template ECR applies to
/// the repositories its replication creates there (`<App>-<Role>-Images`).
fn image_replicas(app: &mut App, config: &PlatformConfig, releases: &mut Releases) -> Result<(), PlatformError> {
    let Some(primary) = config.regions.iter().find(|region| region.role == RegionRole::Primary) else { return Ok(()) };
    let Some(compute) = &primary.compute else { return Ok(()) };
    let keep = u32::try_from(compute.deployment.keep_images).expect("validated: 1 to 1000");
    for region in config.regions.iter().filter(|region| region.region != primary.region) {
        let stack = RegionStacks { config, region }.add(app, "Images")?;
        stack.set_description(format!(
            "Images of {} in {}: how ECR creates the repositories that replication from {} fills.",
            config.app, region.region, primary.region
        ));
        Replication::creation_template(&mut stack.root(), "ReplicatedRepositories", &config.app, keep)?;
        releases.add_record(&stack, config)?;
    }
    Ok(())
}

/// The primary region (validation guarantees one).
fn primary_region(config: &PlatformConfig) -> &RegionConfig {
    config.regions.iter().find(|region| region.role == RegionRole::Primary).expect("validated: one primary")
}

/// The disaster-recovery region that the primary's data replicates to, if the config has one. A
/// recovery region with a data tier of its own keeps that tier, whose buckets take the same names.
fn recovery_region(config: &PlatformConfig) -> Option<&RegionConfig> {
    config.regions.iter().find(|region| region.role == RegionRole::DisasterRecovery && region.data.is_none())
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

/// The regions outside the edge region whose load balancers require the origin-verify header (those
/// with a compute tier, and the disaster-recovery region, whose standby takes over with the same value),
/// and so need a replica of its secret.
fn replica_regions(config: &PlatformConfig) -> Vec<String> {
    config
        .regions
        .iter()
        .filter(|region| region.compute.is_some() || region.role == RegionRole::DisasterRecovery)
        .filter(|region| region.region != EDGE_REGION)
        .map(|region| region.region.clone())
        .collect()
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
                ("IntegrationPlatform-DisasterRecovery-Network", "eu-west-1"),
                ("IntegrationPlatform-DisasterRecovery-Endpoints", "eu-west-1"),
                ("IntegrationPlatform-DisasterRecovery-Storage", "eu-west-1"),
                ("IntegrationPlatform-Primary-Data", "us-east-1"),
                ("IntegrationPlatform-Primary-Edge", "us-east-1"),
                ("IntegrationPlatform-Primary-Ingress", "us-east-1"),
                ("IntegrationPlatform-Primary-Deployments", "us-east-1"),
                ("IntegrationPlatform-DisasterRecovery-Delivery", "eu-west-1"),
                ("IntegrationPlatform-Primary-Delivery", "us-east-1"),
                ("IntegrationPlatform-Primary-Compute", "us-east-1"),
                ("IntegrationPlatform-Primary-Gateway", "us-east-1"),
                ("IntegrationPlatform-Primary-Scaling", "us-east-1"),
                ("IntegrationPlatform-Primary-Operations", "us-east-1"),
                ("IntegrationPlatform-DisasterRecovery-Data", "eu-west-1"),
                ("IntegrationPlatform-DisasterRecovery-Ingress", "eu-west-1"),
                ("IntegrationPlatform-DisasterRecovery-Deployments", "eu-west-1"),
                ("IntegrationPlatform-DisasterRecovery-Compute", "eu-west-1"),
                ("IntegrationPlatform-DisasterRecovery-Gateway", "eu-west-1"),
                ("IntegrationPlatform-DisasterRecovery-Scaling", "eu-west-1"),
                ("IntegrationPlatform-DisasterRecovery-Operations", "eu-west-1"),
                ("IntegrationPlatform-DisasterRecovery-Images", "eu-west-1")
            ]
        );
        let tags = app.stack("IntegrationPlatform-DisasterRecovery-Network").unwrap().tags();
        assert_eq!(tags["app"], "integration-platform");
        assert_eq!(tags["region-role"], "disaster-recovery");
        assert_eq!(tags["owner"], "platform-team");
    }
}
