//! Checks that need more than one value, or more than a type, to decide.
//!
//! The subnet plan itself is checked where it is computed (the VPC construct); the platform reports
//! those errors against this file's keys too.

use ipnet::Ipv4Net;

use super::model::{DataConfig, PlatformConfig, RegionRole};
use super::regions::{availability_zones, is_region_code};
use crate::constructs::logs::RetentionDays;

mod compute;

use compute::validate_compute;

/// One problem in a config, named by key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The key path, as serde writes it.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// The shortest retention the platform accepts: one year, for audit (checkov CKV_AWS_338).
const MIN_RETENTION_DAYS: u32 = 365;

fn issue(key: impl Into<String>, message: impl Into<String>) -> Issue {
    Issue { key: key.into(), message: message.into() }
}

impl PlatformConfig {
    /// Checks what types alone cannot; returns the first problem found, in file order.
    pub fn validate(&self) -> Result<(), Issue> {
        validate(self)
    }
}

/// Returns the first problem found, in file order.
pub(crate) fn validate(config: &PlatformConfig) -> Result<(), Issue> {
    let app_ok = !config.app.is_empty()
        && config.app.len() <= 32
        && config.app.starts_with(|c: char| c.is_ascii_lowercase())
        && config.app.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !app_ok {
        return Err(issue("app", "must be 1 to 32 lower-case letters, digits or '-', starting with a letter"));
    }
    for (key, value) in &config.tags {
        if key.starts_with("aws:") || key == "app" || key == "region-role" {
            return Err(issue(format!("tags.{key}"), "this tag key is reserved"));
        }
        if key.is_empty() || key.len() > 128 || value.len() > 256 {
            return Err(issue(format!("tags.{key}"), "tag keys hold 1 to 128 characters and values at most 256"));
        }
    }
    if config.regions.is_empty() {
        return Err(issue("regions", "at least the primary region is required"));
    }

    for (index, region) in config.regions.iter().enumerate() {
        let key = format!("regions[{index}]");
        let earlier = &config.regions[..index];
        if let Some(other) = earlier.iter().position(|other| other.role == region.role) {
            return Err(issue(
                format!("{key}.role"),
                format!("role {} is already taken by regions[{other}]", region.role.tag_value()),
            ));
        }
        if !is_region_code(&region.region) {
            return Err(issue(format!("{key}.region"), format!("{:?} is not an AWS region code", region.region)));
        }
        if let Some(other) = earlier.iter().position(|other| other.region == region.region) {
            return Err(issue(
                format!("{key}.region"),
                format!("{} is already used by regions[{other}]", region.region),
            ));
        }

        let network = &region.network;
        let cidr = network.vpc_cidr;
        if cidr != cidr.trunc() {
            return Err(issue(
                format!("{key}.network.vpcCidr"),
                format!("{cidr} has host bits set; did you mean {}?", cidr.trunc()),
            ));
        }
        if !(16..=28).contains(&cidr.prefix_len()) {
            return Err(issue(format!("{key}.network.vpcCidr"), "a VPC CIDR must be from /16 to /28"));
        }
        if let Some(other) = earlier.iter().position(|other| overlaps(other.network.vpc_cidr, cidr)) {
            return Err(issue(
                format!("{key}.network.vpcCidr"),
                format!("{cidr} overlaps the VPC of regions[{other}] ({})", config.regions[other].network.vpc_cidr),
            ));
        }
        if !(2..=6).contains(&network.az_count) {
            return Err(issue(format!("{key}.network.azCount"), "must be from 2 to 6"));
        }
        if let Some(zones) = availability_zones(&region.region) {
            if network.az_count > zones {
                return Err(issue(
                    format!("{key}.network.azCount"),
                    format!(
                        "{} offers an account {zones} Availability Zones, so {} subnets per tier cannot be placed \
                         (Fn::Select past the zones Fn::GetAZs returns fails at deploy); use at most {zones}",
                        region.region, network.az_count
                    ),
                ));
            }
        }
        let retention = network.flow_logs.retention_days;
        if RetentionDays::new(retention).is_err() || retention < MIN_RETENTION_DAYS {
            let allowed: Vec<String> =
                RetentionDays::ALLOWED.iter().filter(|d| **d >= MIN_RETENTION_DAYS).map(u32::to_string).collect();
            return Err(issue(
                format!("{key}.network.flowLogs.retentionDays"),
                format!("{retention} is not allowed; use one of {}", allowed.join(", ")),
            ));
        }
    }
    for (index, region) in config.regions.iter().enumerate() {
        if let Some(data) = &region.data {
            validate_data(data, &format!("regions[{index}].data"))?;
            region.monitoring.validate(&format!("regions[{index}].monitoring"))?;
        }
        if let Some(compute) = &region.compute {
            let key = format!("regions[{index}].compute");
            if region.data.is_none() {
                return Err(issue(key, "the compute tier needs the data tier of its region (a `data` section)"));
            }
            if !region.network.endpoints {
                return Err(issue(
                    format!("regions[{index}].network.endpoints"),
                    "a region with a compute tier needs its VPC endpoints: its tasks reach ECR, logs and secrets only through them",
                ));
            }
            validate_compute(compute, &key)?;
        }
    }
    let Some(primary) = config.regions.iter().position(|region| region.role == RegionRole::Primary) else {
        return Err(issue("regions", "one region must have role primary"));
    };
    for (index, region) in config.regions.iter().enumerate() {
        let Some(standby) = &region.standby else { continue };
        let key = format!("regions[{index}].standby");
        if region.role != RegionRole::DisasterRecovery {
            return Err(issue(key, "only the disaster-recovery region stands by"));
        }
        if region.data.is_some() || region.compute.is_some() {
            return Err(issue(
                key,
                "a standby copies the primary's data and compute tiers; it cannot have its own `data` or `compute`",
            ));
        }
        let primary = &config.regions[primary];
        if primary.data.is_none() {
            return Err(issue(key, "a standby replicates the primary's data tier; the primary region has none"));
        }
        if primary.compute.is_some() && !region.network.endpoints {
            return Err(issue(
                format!("regions[{index}].network.endpoints"),
                "a standby runs the primary's services, whose tasks reach ECR, logs and secrets only through VPC endpoints",
            ));
        }
        if !(1..=10).contains(&standby.tasks) {
            return Err(issue(format!("{key}.tasks"), "must be from 1 to 10"));
        }
        if let Some(compute) = &primary.compute {
            // The standby's tasks are also its autoscaling floor, under the primary's ceilings.
            let ceiling = compute
                .services
                .iter()
                .map(|service| service.sizing().max)
                .chain([compute.kong.max])
                .min()
                .expect("Kong at least");
            if standby.tasks > ceiling {
                return Err(issue(
                    format!("{key}.tasks"),
                    format!("{} is above {ceiling}, the lowest `max` of the primary's services", standby.tasks),
                ));
            }
        }
        if !(15..=1440).contains(&standby.rpo_minutes) {
            return Err(issue(
                format!("{key}.rpoMinutes"),
                "must be from 15 to 1440: S3 Replication Time Control replicates within 15 minutes, no sooner",
            ));
        }
        if !(1..=1440).contains(&standby.rto_minutes) {
            return Err(issue(format!("{key}.rtoMinutes"), "must be from 1 to 1440"));
        }
        let half_rpo = standby.rpo_minutes * 30;
        if !(60..=half_rpo).contains(&standby.replica_lag_alarm_seconds) {
            return Err(issue(
                format!("{key}.replicaLagAlarmSeconds"),
                format!("must be from 60 to {half_rpo}: well under the {}-minute recovery point", standby.rpo_minutes),
            ));
        }
    }
    if config.regions[primary].compute.is_none() {
        if let Some(index) = config.regions.iter().position(|region| region.compute.is_some()) {
            return Err(issue(
                format!("regions[{index}].compute"),
                format!("a compute tier needs one in the primary region (regions[{primary}]), whose CloudFront distribution fronts it"),
            ));
        }
    }
    if let Some(delivery) = &config.delivery {
        if config.regions[primary].compute.is_none() {
            return Err(issue(
                "delivery",
                format!("the release pipeline deploys images to a compute tier; the primary region (regions[{primary}]) has none"),
            ));
        }
        delivery.validate("delivery")?;
    }
    Ok(())
}

fn validate_data(data: &DataConfig, key: &str) -> Result<(), Issue> {
    let ranges: [(&str, i64, i64, i64); 10] = [
        ("postgres.allocatedStorageGiB", data.postgres.allocated_storage_gib, 20, 65_536),
        ("postgres.backupRetentionDays", data.postgres.backup_retention_days, 7, 35),
        ("postgres.secretRotationDays", data.postgres.secret_rotation_days, 1, 365),
        ("redis.shards", data.redis.shards, 1, 500),
        ("redis.replicasPerShard", data.redis.replicas_per_shard, 1, 5),
        ("redis.snapshotRetentionDays", data.redis.snapshot_retention_days, 1, 35),
        ("queue.maxReceiveCount", data.queue.max_receive_count, 1, 1000),
        ("queue.visibilityTimeoutSeconds", data.queue.visibility_timeout_seconds, 0, 43_200),
        ("auditRetentionDays", data.audit_retention_days, 1, 36_500),
        ("postgres.engineVersion", major_version(&data.postgres.engine_version), 11, 99),
    ];
    for (name, value, min, max) in ranges {
        if !(min..=max).contains(&value) {
            return Err(issue(format!("{key}.{name}"), format!("{value} is outside {min} to {max}")));
        }
    }
    if major_version(&data.redis.engine_version) < 6 {
        return Err(issue(
            format!("{key}.redis.engineVersion"),
            "Redis 6 or later is required for encryption in transit with AUTH",
        ));
    }
    Ok(())
}

/// The major version of `17.11` (0 when it does not parse).
fn major_version(version: &str) -> i64 {
    version.split('.').next().and_then(|major| major.parse().ok()).unwrap_or(0)
}

fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ApplicationConfig, ConfigFile, DataAccess};

    fn default_config() -> PlatformConfig {
        ConfigFile::embedded_default().unwrap().config().clone()
    }

    /// The default's `index`th service, an HTTP one.
    fn http(config: &mut PlatformConfig, index: usize) -> &mut crate::config::HttpServiceConfig {
        match &mut config.regions[0].compute.as_mut().unwrap().services[index] {
            ApplicationConfig::Http(http) => http,
            ApplicationConfig::Worker(_) => panic!("services[{index}] is a worker"),
        }
    }

    /// The default's worker, services[2].
    fn worker(config: &mut PlatformConfig) -> &mut crate::config::WorkerConfig {
        match &mut config.regions[0].compute.as_mut().unwrap().services[2] {
            ApplicationConfig::Worker(worker) => worker,
            ApplicationConfig::Http(_) => panic!("services[2] is an HTTP service"),
        }
    }

    #[test]
    fn the_default_passes() {
        assert_eq!(validate(&default_config()), Ok(()));
    }

    #[test]
    fn more_zones_than_the_region_offers_is_an_error_that_says_how_many_it_has() {
        let mut config = crate::config::ConfigFile::embedded_default().unwrap().config().clone();
        config.regions[0].network.az_count = 6;
        assert!(config.validate().is_ok(), "us-east-1 has six");
        config.regions[1].network.az_count = 6;
        let issue = config.validate().unwrap_err();
        assert_eq!(issue.key, "regions[1].network.azCount");
        assert!(issue.message.starts_with("eu-west-1 offers an account 3 Availability Zones"), "{}", issue.message);
        assert!(issue.message.ends_with("use at most 3"), "{}", issue.message);
    }

    #[test]
    fn each_rule_names_its_key() {
        type Mutation = fn(&mut PlatformConfig);
        let cases: Vec<(Mutation, &str)> = vec![
            (|c| c.app = "Bad_Name".into(), "app"),
            (|c| c.regions[1].role = RegionRole::Primary, "regions[1].role"),
            (|c| c.regions[1].region = "us-east-1".into(), "regions[1].region"),
            (|c| c.regions[0].region = "mars".into(), "regions[0].region"),
            (|c| c.regions[0].network.vpc_cidr = "10.0.0.1/16".parse().unwrap(), "regions[0].network.vpcCidr"),
            (|c| c.regions[0].network.vpc_cidr = "10.0.0.0/8".parse().unwrap(), "regions[0].network.vpcCidr"),
            (|c| c.regions[0].network.az_count = 7, "regions[0].network.azCount"),
            (|c| c.regions[1].network.az_count = 4, "regions[1].network.azCount"),
            (|c| c.regions[1].network.flow_logs.retention_days = 30, "regions[1].network.flowLogs.retentionDays"),
            (|c| c.regions[1].network.flow_logs.retention_days = 366, "regions[1].network.flowLogs.retentionDays"),
            (|c| c.tags.insert("aws:owner".into(), "x".into()).map_or((), drop), "tags.aws:owner"),
            (|c| c.regions.clear(), "regions"),
            (|c| drop(c.regions.remove(0)), "regions"),
            (
                |c| c.regions[0].data.as_mut().unwrap().postgres.backup_retention_days = 3,
                "regions[0].data.postgres.backupRetentionDays",
            ),
            (
                |c| c.regions[0].data.as_mut().unwrap().redis.replicas_per_shard = 0,
                "regions[0].data.redis.replicasPerShard",
            ),
            (
                |c| c.regions[0].data.as_mut().unwrap().postgres.engine_version = "9.6".into(),
                "regions[0].data.postgres.engineVersion",
            ),
            (|c| c.regions[0].compute.as_mut().unwrap().kong.memory = 3000, "regions[0].compute.kong.memory"),
            (
                |c| c.regions[0].compute.as_mut().unwrap().deployment.smoke_tests.path = Some("health".into()),
                "regions[0].compute.deployment.smokeTests.path",
            ),
            (
                |c| c.regions[0].compute.as_mut().unwrap().deployment.keep_images = 0,
                "regions[0].compute.deployment.keepImages",
            ),
            (|c| c.regions[0].compute = None, "delivery"),
            (|c| c.delivery.as_mut().unwrap().source.s3 = Some(Default::default()), "delivery.source"),
            (
                |c| c.delivery.as_mut().unwrap().source.connection.as_mut().unwrap().repository = "no-owner".into(),
                "delivery.source.connection.repository",
            ),
            (
                |c| c.delivery.as_mut().unwrap().source.connection.as_mut().unwrap().branch = "-f".into(),
                "delivery.source.connection.branch",
            ),
            (|c| c.delivery.as_mut().unwrap().build.test_command = " ".into(), "delivery.build.testCommand"),
            (|c| c.delivery.as_mut().unwrap().build.images_directory = "../x".into(), "delivery.build.imagesDirectory"),
            (|c| c.delivery.as_mut().unwrap().build.timeout_minutes = 1, "delivery.build.timeoutMinutes"),
            (|c| c.delivery.as_mut().unwrap().templates_directory = "/abs".into(), "delivery.templatesDirectory"),
            (|c| worker(c).min = 50, "regions[0].compute.services[2].worker"),
            (|c| http(c, 1).name = "integration-service".into(), "regions[0].compute.services[1].http.name"),
            (|c| http(c, 1).name = "integration--service".into(), "regions[0].compute.services[1].http.name"),
            (|c| http(c, 0).name = "kong".into(), "regions[0].compute.services[0].http.name"),
            (|c| http(c, 1).port = 443, "regions[0].compute.services[1].http.port"),
            (|c| http(c, 0).user = "0:0".into(), "regions[0].compute.services[0].http.user"),
            (
                |c| http(c, 1).listeners = Some(crate::config::ListenerPorts { production: 443, test: 9444 }),
                "regions[0].compute.services[1].http.listeners",
            ),
            (
                |c| http(c, 0).listeners = Some(crate::config::ListenerPorts { production: 9500, test: 9500 }),
                "regions[0].compute.services[0].http.listeners",
            ),
            (|c| worker(c).user = "root".into(), "regions[0].compute.services[2].worker.user"),
            (|c| c.regions[0].compute.as_mut().unwrap().kong.user = String::new(), "regions[0].compute.kong.user"),
            (|c| http(c, 1).access.push(DataAccess::SendWork), "regions[0].compute.services[1].http.access[1]"),
            (|c| drop(c.regions[0].compute.as_mut().unwrap().services.remove(2)), "regions[0].compute.services"),
            (
                |c| {
                    c.regions[0]
                        .compute
                        .as_mut()
                        .unwrap()
                        .services
                        .retain(|s| matches!(s, ApplicationConfig::Worker(_)))
                },
                "regions[0].compute.services",
            ),
            (
                |c| {
                    let services = &mut c.regions[0].compute.as_mut().unwrap().services;
                    for index in 0..24 {
                        let mut copy = services[0].clone();
                        if let ApplicationConfig::Http(http) = &mut copy {
                            http.name = format!("copy-{index}");
                        }
                        services.push(copy);
                    }
                },
                "regions[0].compute.services",
            ),
            (
                |c| c.regions[0].compute.as_mut().unwrap().gateway.routes[1].service = "webhooks".into(),
                "regions[0].compute.gateway.routes[1].service",
            ),
            (
                |c| c.regions[0].compute.as_mut().unwrap().domain.name = "Not A Domain".into(),
                "regions[0].compute.domain.name",
            ),
            (|c| worker(c).scale_out_steps.reverse(), "regions[0].compute.services[2].worker.scaleOutSteps"),
            (|c| c.regions[0].data = None, "regions[0].compute"),
            (|c| c.regions[0].network.endpoints = false, "regions[0].network.endpoints"),
            (
                |c| c.regions[0].compute.as_mut().unwrap().gateway.routes[1].name = "integration-service".into(),
                "regions[0].compute.gateway.routes[1].name",
            ),
            (
                |c| c.regions[0].compute.as_mut().unwrap().gateway.routes[1].paths = vec!["no-slash".into()],
                "regions[0].compute.gateway.routes[1].paths[0]",
            ),
            (
                |c| c.regions[0].compute.as_mut().unwrap().gateway.routes[0].paths.push("/webhooks".into()),
                "regions[0].compute.gateway.routes[1].paths[0]",
            ),
            (
                |c| c.regions[0].compute.as_mut().unwrap().edge.requests_per_five_minutes = 5,
                "regions[0].compute.edge.requestsPerFiveMinutes",
            ),
            (
                |c| c.regions[0].compute.as_mut().unwrap().edge.origin_verify_header = "X-Forwarded-Secret".into(),
                "regions[0].compute.edge.originVerifyHeader",
            ),
            (
                |c| c.regions[0].compute.as_mut().unwrap().edge.origin_verify_header = "X Origin".into(),
                "regions[0].compute.edge.originVerifyHeader",
            ),
            (
                |c| {
                    c.regions[1].standby = None;
                    c.regions[1].data = c.regions[0].data.clone();
                    c.regions[1].monitoring = c.regions[0].monitoring.clone();
                    c.regions[1].compute = c.regions[0].compute.take();
                },
                "regions[1].compute",
            ),
            (
                |c| {
                    c.regions[1].standby = None;
                    c.regions[1].data = c.regions[0].data.clone();
                },
                "regions[1].monitoring.notify",
            ),
            (
                |c| {
                    c.regions[1].data = c.regions[0].data.clone();
                    c.regions[1].monitoring = c.regions[0].monitoring.clone();
                },
                "regions[1].standby",
            ),
            (|c| c.regions[0].standby = c.regions[1].standby.clone(), "regions[0].standby"),
            (|c| c.regions[1].standby.as_mut().unwrap().tasks = 0, "regions[1].standby.tasks"),
            (|c| c.regions[1].standby.as_mut().unwrap().tasks = 7, "regions[1].standby.tasks"),
            (
                |c| c.regions[1].standby.as_mut().unwrap().replica_lag_alarm_seconds = 900,
                "regions[1].standby.replicaLagAlarmSeconds",
            ),
            (|c| c.regions[1].standby.as_mut().unwrap().rpo_minutes = 5, "regions[1].standby.rpoMinutes"),
            (|c| c.regions[1].standby.as_mut().unwrap().rto_minutes = 0, "regions[1].standby.rtoMinutes"),
            (|c| c.regions[1].network.endpoints = false, "regions[1].network.endpoints"),
            (|c| c.regions[0].monitoring.notify.clear(), "regions[0].monitoring.notify"),
            (
                |c| c.regions[0].monitoring.notify[0].endpoint = "not-an-address".into(),
                "regions[0].monitoring.notify[0].endpoint",
            ),
            (
                |c| c.regions[0].monitoring.thresholds.cache_memory_percent = 120.0,
                "regions[0].monitoring.thresholds.cacheMemoryPercent",
            ),
            (
                |c| c.regions[0].monitoring.thresholds.database_connections = -1.0,
                "regions[0].monitoring.thresholds.databaseConnections",
            ),
        ];
        for (mutate, key) in cases {
            let mut config = default_config();
            mutate(&mut config);
            let found = validate(&config).unwrap_err();
            assert_eq!(found.key, key, "{found:?}");
        }
    }
}
