//! The Kong gateway of the platform: its DB-less declarative configuration, rendered from
//! `templates/kong.yml.j2`, and the environment its container starts with.
//!
//! ## Secure defaults
//! - Every request gets a correlation ID, bodies are size-limited, and clients are rate limited with the
//!   counters in Redis (over TLS, with its AUTH token), so every Kong task enforces the same limit.
//! - No secret is rendered: the Redis password is a Kong env-vault reference resolved from an ECS secret
//!   at run time, and values CloudFormation only knows at deploy time (the Redis endpoint) are `Fn::Sub`
//!   variables (`${RedisHost}`).

use indexmap::IndexMap;
use serde::Serialize;

use super::security::{INTEGRATION_LISTENER_PORT, WEBHOOK_LISTENER_PORT};
use crate::config::{ComputeConfig, Upstream};
use crate::constructs::data::REDIS_PORT;
use crate::constructs::edge::VIEWER_IP_HEADER;
use crate::constructs::network::Vpc;
use crate::template::Value;

/// The template, embedded in the binary.
const TEMPLATE: &str = include_str!("../../templates/kong.yml.j2");

/// The environment variable Kong's env vault reads the Redis password from
/// (`{vault://env/redis-auth-token}`).
pub const REDIS_AUTH_TOKEN_VARIABLE: &str = "REDIS_AUTH_TOKEN";

/// One upstream service and the paths that reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KongRoute {
    /// The route's (and service's) name.
    pub name: String,
    /// The upstream URL.
    pub url: String,
    /// Path prefixes.
    pub paths: Vec<String>,
}

/// Everything the declarative configuration says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KongDeclarativeConfig {
    /// The routes.
    pub routes: Vec<KongRoute>,
    /// The path Kong answers 200 on for the load balancer.
    pub health_path: String,
    /// Requests a minute per client.
    pub rate_limit_per_minute: i64,
    /// `ip` or `consumer`.
    pub rate_limit_by: String,
    /// The Redis port.
    pub redis_port: i64,
    /// The largest request body, in megabytes.
    pub max_request_megabytes: i64,
    /// Request headers removed before a request goes upstream.
    pub strip_headers: Vec<String>,
}

impl KongDeclarativeConfig {
    /// The rendered YAML, with `${RedisHost}` still a variable.
    pub fn render(&self) -> Result<String, minijinja::Error> {
        let mut environment = minijinja::Environment::new();
        environment.set_keep_trailing_newline(true);
        environment.add_template("kong.yml", TEMPLATE)?;
        environment.get_template("kong.yml")?.render(self)
    }

    /// The value of `KONG_DECLARATIVE_CONFIG_STRING`: the rendered YAML with the Redis endpoint filled in
    /// by CloudFormation.
    pub fn to_value(&self, redis_host: Value<String>) -> Result<Value<String>, minijinja::Error> {
        Ok(Value::sub_with(self.render()?, [("RedisHost", redis_host)]))
    }
}

/// Kong's routes from config, through the internal ALB, with its limits.
pub(super) fn declarative_config(config: &ComputeConfig, internal_name: &str) -> KongDeclarativeConfig {
    let gateway = &config.gateway;
    let routes = gateway
        .routes
        .iter()
        .map(|route| {
            let port = match route.service {
                Upstream::IntegrationService => INTEGRATION_LISTENER_PORT,
                Upstream::WebhookReceiver => WEBHOOK_LISTENER_PORT,
            };
            KongRoute {
                name: route.name.clone(),
                url: format!("https://{internal_name}:{port}"),
                paths: route.paths.clone(),
            }
        })
        .collect();
    KongDeclarativeConfig {
        routes,
        health_path: config.kong.health_check_path.clone(),
        rate_limit_per_minute: gateway.rate_limit.per_minute,
        rate_limit_by: gateway.rate_limit.limit_by.as_str().to_owned(),
        redis_port: i64::from(REDIS_PORT),
        max_request_megabytes: gateway.max_request_megabytes,
        strip_headers: vec![config.edge.origin_verify_header.clone()],
    }
}

/// Kong's environment: DB-less, the declarative config, its listeners, where it logs, and whose
/// address counts as the client's.
///
/// Kong's peer is always an ALB node inside the VPC, and the request came through CloudFront, whose
/// viewer-request function wrote the viewer's address into `X-Viewer-IP` (overwriting anything the
/// client sent). Trusting the VPC's block and reading that header makes Kong's client IP, and so
/// `limitBy: ip` and its logs, the real client rather than the ALB node or the CloudFront edge.
pub(super) fn environment(
    config: &ComputeConfig,
    declarative: Value<String>,
    vpc: &Vpc,
) -> IndexMap<String, Value<String>> {
    let vpc_cidr = Value::from(vpc.cidr().expect("the VPC is the platform's own").to_string());
    [
        ("KONG_TRUSTED_IPS", vpc_cidr),
        ("KONG_REAL_IP_HEADER", Value::from(VIEWER_IP_HEADER)),
        ("KONG_REAL_IP_RECURSIVE", Value::from("off")),
        ("KONG_DATABASE", Value::from("off")),
        ("KONG_DECLARATIVE_CONFIG_STRING", declarative),
        ("KONG_PROXY_LISTEN", Value::from(format!("0.0.0.0:{}", config.kong.port))),
        ("KONG_ADMIN_LISTEN", Value::from("off")),
        ("KONG_PREFIX", Value::from("/usr/local/kong")),
        ("KONG_PROXY_ACCESS_LOG", Value::from("/dev/stdout")),
        ("KONG_PROXY_ERROR_LOG", Value::from("/dev/stderr")),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config() -> KongDeclarativeConfig {
        KongDeclarativeConfig {
            routes: vec![
                KongRoute {
                    name: "integration-service".into(),
                    url: "https://internal.example.com:443".into(),
                    paths: vec!["/integration".into()],
                },
                KongRoute {
                    name: "webhook-receiver".into(),
                    url: "https://internal.example.com:9443".into(),
                    paths: vec!["/webhooks".into(), "/hooks".into()],
                },
            ],
            health_path: "/health".into(),
            rate_limit_per_minute: 600,
            rate_limit_by: "ip".into(),
            redis_port: 6379,
            max_request_megabytes: 10,
            strip_headers: vec!["X-Origin-Verify".into()],
        }
    }

    #[test]
    fn renders_routes_and_plugins_as_kong_reads_them() {
        let rendered: serde_json::Value = serde_yaml::from_str(&config().render().unwrap()).unwrap();
        assert_eq!(rendered["_format_version"], "3.0");
        let services = rendered["services"].as_array().unwrap();
        assert_eq!(services.len(), 2);
        assert_eq!(services[1]["url"], "https://internal.example.com:9443");
        assert_eq!(services[1]["routes"][0]["paths"], json!(["/webhooks", "/hooks"]));
        assert_eq!(rendered["routes"][0]["paths"], json!(["/health"]));
        assert_eq!(rendered["routes"][0]["plugins"][0]["name"], "request-termination");
        let plugins: Vec<&str> =
            rendered["plugins"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(plugins, ["request-transformer", "correlation-id", "request-size-limiting", "rate-limiting"]);
        assert_eq!(rendered["plugins"][0]["config"]["remove"]["headers"], json!(["X-Origin-Verify"]));
        let limit = &rendered["plugins"][3]["config"];
        assert_eq!(limit["policy"], "redis");
        assert_eq!(limit["minute"], 600);
        assert_eq!(limit["redis"]["ssl"], true);
        assert_eq!(limit["redis"]["host"], "${RedisHost}");
        assert_eq!(limit["redis"]["password"], "{vault://env/redis-auth-token}");
    }

    #[test]
    fn the_redis_host_is_a_deploy_time_variable_and_nothing_else_is() {
        let value = serde_json::to_value(config().to_value(Value::from("redis.internal")).unwrap()).unwrap();
        let template = value["Fn::Sub"][0].as_str().unwrap();
        let variables: Vec<&str> = template.match_indices("${").map(|(at, _)| &template[at..at + 12]).collect();
        assert!(variables.iter().all(|variable| *variable == "${RedisHost}"), "{variables:?}");
        assert_eq!(value["Fn::Sub"][1], json!({"RedisHost": "redis.internal"}));
    }
}
