//! The platform configuration file: its shape, its JSON Schema, and loading with located errors.

mod compute;
mod delivery;
mod edge;
mod load;
mod model;
mod monitoring;
mod regions;
mod source_map;
mod validate;

pub use compute::{
    ApplicationConfig, ComputeConfig, DataAccess, DeploymentConfig, DomainConfig, GatewayConfig, HttpServiceConfig,
    LimitBy, ListenerPorts, RateLimitConfig, RouteConfig, ScaleOutStep, ServiceConfig, Sizing, SmokeTestConfig,
    TrafficShifting, WorkerConfig, FIRST_PRODUCTION_PORT, MAX_HTTP_SERVICES, SECOND_PRODUCTION_PORT,
};
pub use delivery::{BuildConfig, ConnectionSource, DeliveryConfig, GitProvider, S3Source, Source, SourceConfig};
pub use edge::{EdgeConfig, PriceClass};
pub use load::{ConfigError, ConfigFile, DisplayLocation, EMBEDDED_DEFAULT, EMBEDDED_DEFAULT_NAME};
pub use model::{
    DataConfig, FlowLogsConfig, NatGateways, NetworkConfig, PlatformConfig, PostgresConfig, QueueConfig, RedisConfig,
    RegionConfig, RegionRole, StandbyConfig, SubnetTierConfig, SubnetTiersConfig, TrafficType,
};
pub use monitoring::{AlarmThresholds, MonitoringConfig, Subscriber, SubscriberProtocol};
pub use regions::is_region_code;
pub use source_map::{Location, SourceMap};
pub use validate::Issue;

/// The JSON Schema of the configuration file, as `cfn-synth schema` prints it.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(PlatformConfig)).expect("schemas serialize to JSON")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_schema_describes_the_top_level_keys_and_denies_others() {
        let schema = super::json_schema();
        assert_eq!(schema["additionalProperties"], serde_json::json!(false));
        let properties = schema["properties"].as_object().unwrap();
        assert_eq!(properties.keys().collect::<Vec<_>>(), ["app", "tags", "regions", "delivery"]);
        assert_eq!(schema["required"], serde_json::json!(["app", "regions"]));
    }

    /// The schema an editor validates with agrees with what synth takes: the 40-service example passes,
    /// and a service that is both kinds, or named out of pattern, does not.
    #[test]
    fn the_schema_takes_each_service_as_exactly_one_kind() {
        let schema = super::json_schema();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let large: serde_json::Value = serde_yaml::from_str(include_str!("../../stacks/large.yaml")).unwrap();
        assert!(validator.is_valid(&large));
        // `compute` is optional, so a validator reports a fault inside it at `compute` itself.
        let mut both = large.clone();
        both["regions"][0]["compute"]["services"][0]["worker"] =
            large["regions"][0]["compute"]["services"][25]["worker"].clone();
        let mut misnamed = large.clone();
        misnamed["regions"][0]["compute"]["services"][1]["http"]["name"] = serde_json::json!("Payments_API");
        for (what, config) in [("both kinds", &both), ("a name out of pattern", &misnamed)] {
            let errors: Vec<String> =
                validator.iter_errors(config).map(|error| error.instance_path().to_string()).collect();
            assert_eq!(errors, ["/regions/0/compute"], "{what}");
        }
    }
}
