//! Helpers shared by the platform's unit tests.

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::config::{ConfigFile, PlatformConfig};
use crate::platform::build;

/// The embedded default config.
pub(super) fn default_config() -> PlatformConfig {
    ConfigFile::embedded_default().unwrap().config().clone()
}

/// The resources of each primary stack, by stack suffix (`Compute`, `Ingress`, ...).
pub(super) fn stacks(config: &PlatformConfig) -> IndexMap<String, Json> {
    build(config)
        .unwrap()
        .synth()
        .unwrap()
        .stacks
        .into_iter()
        .filter(|stack| stack.name.starts_with("IntegrationPlatform-Primary-"))
        .map(|stack| {
            (
                stack.name.trim_start_matches("IntegrationPlatform-Primary-").to_owned(),
                stack.template["Resources"].clone(),
            )
        })
        .collect()
}

/// The resources of one type, with their logical IDs.
pub(super) fn of_type<'a>(resources: &'a Json, resource_type: &str) -> Vec<(&'a String, &'a Json)> {
    resources.as_object().unwrap().iter().filter(|(_, r)| r["Type"] == resource_type).collect()
}
