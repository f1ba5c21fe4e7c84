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
use sha2::{Digest, Sha256};

use super::applications::http_applications;
use crate::config::ComputeConfig;
use crate::constructs::compute::{ContainerImage, InitContainer, InitUser};
use crate::constructs::data::REDIS_PORT;
use crate::constructs::edge::VIEWER_IP_HEADER;
use crate::constructs::network::Vpc;
use crate::template::Value;

/// The template, embedded in the binary.
const TEMPLATE: &str = include_str!("../../templates/kong.yml.j2");

/// The environment variable Kong's env vault reads its Redis user's password from
/// (`{vault://env/redis-password}`).
pub const REDIS_PASSWORD_VARIABLE: &str = "REDIS_PASSWORD";

/// The largest rendered configuration kept in the task definition (`KONG_DECLARATIVE_CONFIG_STRING`).
/// ECS refuses a task definition over 64 KiB, and the rest of Kong's takes a few; past this the
/// configuration is an S3 object that an init container fetches at start.
pub const INLINE_CONFIG_LIMIT: usize = 16 * 1024;

/// The image that fetches an S3-held configuration: the AWS CLI, from ECR Public (through the
/// account's pull-through cache like every other image).
pub const CONFIG_LOADER_IMAGE: &str = "public.ecr.aws/aws-cli/aws-cli:2.22.35";

/// Where the loader writes the configuration and Kong reads it.
const CONFIG_DIRECTORY: &str = "/kong/declarative";

/// What the loader runs: fetch the object, fill in the Redis endpoint, leave only the result.
const LOADER_SCRIPT: &str = "set -eu; aws s3 cp \"$CONFIG_URI\" \"$CONFIG_DIRECTORY/kong.yml.in\"; \
     sed \"s/\\${RedisHost}/$REDIS_HOST/g\" \"$CONFIG_DIRECTORY/kong.yml.in\" > \"$CONFIG_DIRECTORY/kong.yml\"; \
     rm \"$CONFIG_DIRECTORY/kong.yml.in\"";

/// Where Kong's declarative configuration comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigSource {
    /// In the task definition, with CloudFormation filling in the Redis endpoint.
    Inline(Value<String>),
    /// An S3 object, named by its content's digest so that each task definition revision reads the
    /// configuration it was deployed with: a rollback rolls the configuration back too.
    S3 {
        /// The bucket, in the gateway's region.
        bucket: String,
        /// The object key.
        key: String,
    },
}

impl ConfigSource {
    /// The S3 key of a rendered configuration of `stack`: `[prefix/]kong/<stack>-<sha256, 16 hex>.yml`.
    pub fn object_key(prefix: Option<&str>, stack: &str, rendered: &str) -> String {
        let digest = Sha256::digest(rendered.as_bytes());
        let hex: String = digest.iter().take(8).map(|byte| format!("{byte:02x}")).collect();
        let key = format!("kong/{stack}-{hex}.yml");
        match prefix.map(|prefix| prefix.trim_matches('/')).filter(|prefix| !prefix.is_empty()) {
            Some(prefix) => format!("{prefix}/{key}"),
            None => key,
        }
    }

    /// For an S3 object: the init container that copies it into the directory Kong reads, filling in
    /// the Redis endpoint (`${RedisHost}`, known only once the cache exists) on the way.
    pub fn loader(&self, image: ContainerImage, redis_host: Value<String>) -> Option<InitContainer> {
        let ConfigSource::S3 { bucket, key } = self else { return None };
        let environment = [
            ("CONFIG_URI".to_owned(), Value::from(format!("s3://{bucket}/{key}"))),
            ("CONFIG_DIRECTORY".to_owned(), Value::from(CONFIG_DIRECTORY)),
            ("AWS_DEFAULT_REGION".to_owned(), Value::region()),
            ("REDIS_HOST".to_owned(), redis_host),
        ]
        .into_iter()
        .collect();
        Some(InitContainer {
            name: "KongConfig".to_owned(),
            image,
            command: vec!["sh".to_owned(), "-c".to_owned(), LOADER_SCRIPT.to_owned()],
            environment,
            shared_path: CONFIG_DIRECTORY.to_owned(),
            user: InitUser::Root {
                because: "The KongConfig init container writes Kong's configuration into the task's shared \
                          directory, a bind mount Fargate creates owned by root with mode 0755, so only root can \
                          write it; it runs the AWS CLI's image for that one copy, then exits (not essential). \
                          Kong itself runs as its image's user."
                    .to_owned(),
            },
        })
    }

    /// The object's ARN, for the task role's grant.
    pub fn object_arn(&self) -> Option<Value<String>> {
        let ConfigSource::S3 { bucket, key } = self else { return None };
        Some(Value::sub(format!("arn:${{AWS::Partition}}:s3:::{bucket}/{key}")))
    }
}

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
    /// The Redis user Kong counts as.
    pub redis_username: String,
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
        super::support::render_embedded("kong.yml.j2", TEMPLATE, self)
    }

    /// The value of `KONG_DECLARATIVE_CONFIG_STRING`: the rendered YAML with the Redis endpoint filled in
    /// by CloudFormation.
    pub fn to_value(&self, redis_host: Value<String>) -> Result<Value<String>, minijinja::Error> {
        Ok(Value::sub_with(self.render()?, [("RedisHost", redis_host)]))
    }
}

/// Kong's routes from config, through the internal ALB, with its limits.
pub(super) fn declarative_config(
    config: &ComputeConfig,
    internal_name: &str,
    redis_username: &str,
) -> KongDeclarativeConfig {
    let gateway = &config.gateway;
    let services = http_applications(config);
    let routes = config
        .routes()
        .into_iter()
        .map(|route| {
            let service = services
                .iter()
                .find(|service| service.name == route.service)
                .expect("validated: a route names an HTTP service");
            KongRoute {
                name: route.name,
                url: format!("https://{internal_name}:{}", service.listeners.production),
                paths: route.paths,
            }
        })
        .collect();
    KongDeclarativeConfig {
        routes,
        health_path: config.kong.health_check_path.clone(),
        rate_limit_per_minute: gateway.rate_limit.per_minute,
        rate_limit_by: gateway.rate_limit.limit_by.as_str().to_owned(),
        redis_username: redis_username.to_owned(),
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
pub(super) fn environment(config: &ComputeConfig, source: &ConfigSource, vpc: &Vpc) -> IndexMap<String, Value<String>> {
    let vpc_cidr = Value::from(vpc.cidr().expect("the VPC is the platform's own").to_string());
    let declarative = match source {
        ConfigSource::Inline(value) => ("KONG_DECLARATIVE_CONFIG_STRING", value.clone()),
        ConfigSource::S3 { .. } => ("KONG_DECLARATIVE_CONFIG", Value::from(format!("{CONFIG_DIRECTORY}/kong.yml"))),
    };
    [
        ("KONG_TRUSTED_IPS", vpc_cidr),
        ("KONG_REAL_IP_HEADER", Value::from(VIEWER_IP_HEADER)),
        ("KONG_REAL_IP_RECURSIVE", Value::from("off")),
        ("KONG_DATABASE", Value::from("off")),
        declarative,
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
            redis_username: "kong".into(),
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
        assert_eq!(limit["redis"]["username"], "kong");
        assert_eq!(limit["redis"]["password"], "{vault://env/redis-password}");
    }

    #[test]
    fn an_object_key_names_the_content_under_the_prefix() {
        let key = ConfigSource::object_key(Some("/releases/"), "App-Gateway", "a: 1\n");
        assert!(key.starts_with("releases/kong/App-Gateway-") && key.ends_with(".yml"), "{key}");
        assert_eq!(key.len(), "releases/kong/App-Gateway-".len() + 16 + 4);
        assert_ne!(key, ConfigSource::object_key(Some("releases"), "App-Gateway", "a: 2\n"));
        assert_eq!(ConfigSource::object_key(None, "S", "x"), ConfigSource::object_key(Some(""), "S", "x"));
    }

    /// The loader's script, run by `sh` with a stand-in `aws` that copies a local file: what Kong reads
    /// is the rendered configuration with the Redis endpoint filled in, and nothing else is left.
    #[test]
    fn the_loader_fills_in_the_redis_host_and_leaves_only_the_config() {
        let work = tempfile::tempdir().unwrap();
        let bin = work.path().join("bin");
        let shared = work.path().join("declarative");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&shared).unwrap();
        let object = work.path().join("object.yml");
        std::fs::write(&object, config().render().unwrap()).unwrap();
        let stub = bin.join("aws");
        std::fs::write(
            &stub,
            format!("#!/bin/sh\n[ \"$1 $2 $3\" = \"s3 cp s3://b/k.yml\" ] || exit 9\ncp {} \"$4\"\n", object.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
        let status = std::process::Command::new("sh")
            .args(["-c", LOADER_SCRIPT])
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("CONFIG_URI", "s3://b/k.yml")
            .env("CONFIG_DIRECTORY", &shared)
            .env("REDIS_HOST", "master.cache.abc.use1.cache.amazonaws.com")
            .status()
            .unwrap();
        assert!(status.success());
        let loaded = std::fs::read_to_string(shared.join("kong.yml")).unwrap();
        let parsed: serde_json::Value = serde_yaml::from_str(&loaded).unwrap();
        assert_eq!(parsed["plugins"][3]["config"]["redis"]["host"], "master.cache.abc.use1.cache.amazonaws.com");
        assert!(!loaded.contains("${"), "no variable is left");
        let files: Vec<_> = std::fs::read_dir(&shared).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(files, ["kong.yml"]);
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
