//! The applications of a compute tier (`compute.services`) as the platform's stacks name and wire them:
//! each one's construct id, and for an HTTP service its listeners on the internal ALB.
//!
//! Every stack that makes something per application (ingress, deployments, compute, scaling,
//! operations, delivery, recovery) reads this one view, so that they agree on ids and ports.

use crate::config::{ComputeConfig, HttpServiceConfig, ServiceConfig};
use crate::construct::pascal_case;
use crate::constructs::compute::TEST_LISTENER_PORT;

/// The internal ALB's production listener of the first HTTP service.
pub const FIRST_PRODUCTION_PORT: u16 = 443;
/// The internal ALB's production listener of the second HTTP service; each later one takes the
/// next free pair above it (`9445`/`9446`, `9447`/`9448`, …).
pub const SECOND_PRODUCTION_PORT: u16 = 9443;

/// The ids whose ingress resources (target groups, listeners) were named before services became a
/// list, and keep those names: a listener under a new logical ID is created before the old one is
/// deleted, and the ALB refuses a second listener on the port, so a rename would fail the update.
const INGRESS_IDS: [(&str, &str); 2] = [("integration-service", "Integration"), ("webhook-receiver", "Webhook")];

/// The construct id of an application: its name in PascalCase (`integration-service` →
/// `IntegrationService`), which prefixes its task, service, image parameter, repository, alarms and
/// scaling.
pub(super) fn application_id(name: &str) -> String {
    pascal_case(name)
}

/// `integration-service` → `Integration Service`, for descriptions.
pub(super) fn title(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_ascii_uppercase()).into_iter().chain(chars).collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// An HTTP service's listeners on the internal ALB: production (Kong's upstream) and test (its
/// deployment hook's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ListenerPorts {
    pub production: u16,
    pub test: u16,
}

impl ListenerPorts {
    /// The ports of the `index`th HTTP service (in config order).
    pub fn of(index: usize) -> Self {
        match u16::try_from(index).expect("validated: at most 25 HTTP services") {
            0 => ListenerPorts { production: FIRST_PRODUCTION_PORT, test: TEST_LISTENER_PORT },
            n => ListenerPorts {
                production: SECOND_PRODUCTION_PORT + 2 * (n - 1),
                test: SECOND_PRODUCTION_PORT + 2 * n - 1,
            },
        }
    }
}

/// One HTTP service of the tier.
#[derive(Debug, Clone)]
pub(super) struct HttpApplication {
    /// Its config name.
    pub name: String,
    /// Its construct id (see [`application_id`]).
    pub id: String,
    /// The id of its target groups and listeners in the ingress stack.
    pub ingress_id: String,
    /// Its port, sizes and health path.
    pub service: ServiceConfig,
    /// Its internal ALB listeners.
    pub listeners: ListenerPorts,
}

/// The HTTP services of `compute`, in config order.
pub(super) fn http_applications(compute: &ComputeConfig) -> Vec<HttpApplication> {
    compute.http_services().enumerate().map(|(index, http)| http_application(http, index)).collect()
}

fn http_application(http: &HttpServiceConfig, index: usize) -> HttpApplication {
    let ingress_id = INGRESS_IDS
        .iter()
        .find(|(name, _)| *name == http.name)
        .map_or_else(|| application_id(&http.name), |(_, id)| (*id).to_owned());
    HttpApplication {
        name: http.name.clone(),
        id: application_id(&http.name),
        ingress_id,
        service: http.service(),
        listeners: ListenerPorts::of(index),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_pair_up_without_overlap_and_stay_within_the_listener_quota() {
        let ports: Vec<ListenerPorts> = (0..crate::config::MAX_HTTP_SERVICES).map(ListenerPorts::of).collect();
        assert_eq!(ports[0], ListenerPorts { production: 443, test: 8443 });
        assert_eq!(ports[1], ListenerPorts { production: 9443, test: 9444 });
        assert_eq!(ports[2], ListenerPorts { production: 9445, test: 9446 });
        let mut all: Vec<u16> = ports.iter().flat_map(|p| [p.production, p.test]).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 50, "an ALB has at most 50 listeners");
    }

    #[test]
    fn ids_and_titles_come_from_the_name() {
        assert_eq!(application_id("integration-service"), "IntegrationService");
        assert_eq!(title("webhook-receiver"), "Webhook Receiver");
    }
}
