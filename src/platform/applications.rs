//! The applications of a compute tier (`compute.services`) as the platform's stacks name and wire them:
//! each one's construct id, and for an HTTP service its listeners on the internal ALB.
//!
//! Every stack that makes something per application (ingress, deployments, compute, scaling,
//! operations, delivery, recovery) reads this one view, so that they agree on ids and ports.

pub(super) use crate::config::ListenerPorts;
use crate::config::{ComputeConfig, HttpServiceConfig, ServiceConfig};
use crate::construct::pascal_case;

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
    compute.http_services().zip(compute.listener_ports()).map(|(http, ports)| http_application(http, ports)).collect()
}

fn http_application(http: &HttpServiceConfig, listeners: ListenerPorts) -> HttpApplication {
    let ingress_id = INGRESS_IDS
        .iter()
        .find(|(name, _)| *name == http.name)
        .map_or_else(|| application_id(&http.name), |(_, id)| (*id).to_owned());
    HttpApplication {
        name: http.name.clone(),
        id: application_id(&http.name),
        ingress_id,
        service: http.service(),
        listeners,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_pair_up_without_overlap_and_stay_within_the_listener_quota() {
        let ports: Vec<ListenerPorts> = (0..crate::config::MAX_HTTP_SERVICES).map(ListenerPorts::by_position).collect();
        assert_eq!(ports[0], ListenerPorts { production: 443, test: 8443 });
        assert_eq!(ports[1], ListenerPorts { production: 9443, test: 9444 });
        assert_eq!(ports[2], ListenerPorts { production: 9445, test: 9446 });
        let mut all: Vec<u16> = ports.iter().flat_map(|p| [p.production, p.test]).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 50, "an ALB has at most 50 listeners");
    }

    /// A service's own listener ports go everywhere its place's would: the ALB's listeners, Kong's
    /// upstream, the security groups, and the hook's smoke test; and the whole app still passes the
    /// deploy-readiness analysis.
    #[test]
    fn given_listener_ports_replace_those_of_the_place() {
        use crate::config::{ApplicationConfig, ListenerPorts};
        use crate::platform::test_support::{default_config, of_type, stacks};
        let mut config = default_config();
        let ApplicationConfig::Http(webhook) = &mut config.regions[0].compute.as_mut().unwrap().services[1] else {
            panic!("the default's second service is the webhook receiver")
        };
        webhook.listeners = Some(ListenerPorts { production: 9600, test: 9601 });
        let stacks = stacks(&config);
        let ports: Vec<i64> = of_type(&stacks["Ingress"], "AWS::ElasticLoadBalancingV2::Listener")
            .iter()
            .filter(|(id, _)| id.starts_with("Webhook"))
            .map(|(_, listener)| listener["Properties"]["Port"].as_i64().unwrap())
            .collect();
        assert_eq!(ports, [9600, 9601]);
        let kong = stacks["Gateway"]["Kong"]["Properties"]["ContainerDefinitions"][0]["Environment"].to_string();
        assert!(kong.contains("internal-us-east-1.api.integration-platform.example.com:9600"), "Kong's upstream");
        let hook = &stacks["Deployments"]["WebhookReceiverSmokeTest"]["Properties"]["Environment"]["Variables"];
        assert!(hook["SMOKE_TEST_URLS"].as_str().unwrap().contains(":9601/health"));
        let from_kong: Vec<i64> = of_type(&stacks["Network"], "AWS::EC2::SecurityGroupIngress")
            .iter()
            .map(|(_, rule)| &rule["Properties"])
            .filter(|rule| rule["SourceSecurityGroupId"].to_string().contains("KongSecurityGroup"))
            .filter(|rule| rule["GroupId"].to_string().contains("InternalAlb"))
            .map(|rule| rule["FromPort"].as_i64().unwrap())
            .collect();
        assert_eq!(from_kong, [443, 9600]);
        let app = crate::platform::build(&config).unwrap().synth().unwrap();
        assert_eq!(crate::checks::readiness::analyse(crate::checks::stack_templates(&app)), vec![]);
    }

    #[test]
    fn ids_and_titles_come_from_the_name() {
        assert_eq!(application_id("integration-service"), "IntegrationService");
        assert_eq!(title("webhook-receiver"), "Webhook Receiver");
    }
}
