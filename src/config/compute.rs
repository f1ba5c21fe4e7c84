//! The compute tier of a region: the Fargate services, their load balancers and how they deploy.

use schemars::JsonSchema;

use crate::constructs::compute::TrafficShift;
use serde::{Deserialize, Serialize};

/// The compute tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComputeConfig {
    /// The DNS domain of the load balancers' certificate, validated through a Route 53 hosted zone.
    pub domain: DomainConfig,
    /// How the HTTP services deploy (ECS blue/green, gated by smoke tests) and drain.
    #[serde(default)]
    pub deployment: DeploymentConfig,
    /// The Kong API gateway, behind the public ALB.
    pub kong: ServiceConfig,
    /// The applications, in the order their resources are made: HTTP services behind the internal ALB
    /// (at least one, at most 25) and queue workers (at least one), each named uniquely.
    pub services: Vec<ApplicationConfig>,
    /// Kong's routes and plugins.
    #[serde(default)]
    pub gateway: GatewayConfig,
    /// CloudFront and AWS WAF in front of the public ALB. Read in the primary region only.
    #[serde(default)]
    pub edge: super::EdgeConfig,
}

impl ComputeConfig {
    /// The HTTP services, in config order.
    pub fn http_services(&self) -> impl Iterator<Item = &HttpServiceConfig> {
        self.services.iter().filter_map(|service| match service {
            ApplicationConfig::Http(http) => Some(http),
            ApplicationConfig::Worker(_) => None,
        })
    }

    /// The queue workers, in config order.
    pub fn workers(&self) -> impl Iterator<Item = &WorkerConfig> {
        self.services.iter().filter_map(|service| match service {
            ApplicationConfig::Http(_) => None,
            ApplicationConfig::Worker(worker) => Some(worker),
        })
    }

    /// Each HTTP service's listeners, in config order: its own, or those of its place.
    pub fn listener_ports(&self) -> Vec<ListenerPorts> {
        self.http_services()
            .enumerate()
            .map(|(index, service)| service.listeners.unwrap_or_else(|| ListenerPorts::by_position(index)))
            .collect()
    }

    /// Kong's routes: the configured ones, or each HTTP service at `/<name>`.
    pub fn routes(&self) -> Vec<RouteConfig> {
        if !self.gateway.routes.is_empty() {
            return self.gateway.routes.clone();
        }
        self.http_services()
            .map(|service| RouteConfig {
                name: service.name.clone(),
                service: service.name.clone(),
                paths: vec![format!("/{}", service.name)],
            })
            .collect()
    }
}

/// What Kong routes, and the limits it enforces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewayConfig {
    /// Routes, each sending path prefixes to one HTTP service. Default: each HTTP service at `/<name>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteConfig>,
    /// Rate limiting, counted in Redis so that every Kong task shares the counters.
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
    /// The largest request body Kong accepts, in megabytes (1 to 1024). Default: 10.
    #[serde(default = "default_max_request_megabytes")]
    pub max_request_megabytes: i64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self { routes: Vec::new(), rate_limit: RateLimitConfig::default(), max_request_megabytes: 10 }
    }
}

fn default_max_request_megabytes() -> i64 {
    10
}

/// One Kong route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteConfig {
    /// The route's name: lower-case letters, digits and '-', unique.
    pub name: String,
    /// The name of the HTTP service (in `services`) it sends requests to.
    pub service: String,
    /// Path prefixes, each starting with '/', unique across routes.
    pub paths: Vec<String>,
}

/// Rate limiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Whom a limit counts: each client IP, or each authenticated consumer. Default: `ip`.
    #[serde(default)]
    pub limit_by: LimitBy,
    /// Requests a minute (1 to 1000000). Default: 600.
    #[serde(default = "default_per_minute")]
    pub per_minute: i64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self { limit_by: LimitBy::default(), per_minute: default_per_minute() }
    }
}

fn default_per_minute() -> i64 {
    600
}

/// Whom a rate limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LimitBy {
    /// Each client IP address.
    #[default]
    Ip,
    /// Each authenticated Kong consumer.
    Consumer,
}

impl LimitBy {
    /// Kong's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitBy::Ip => "ip",
            LimitBy::Consumer => "consumer",
        }
    }
}

/// A domain and the hosted zone that proves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DomainConfig {
    /// The domain, such as `api.example.com`. Each region's load balancers answer as
    /// `origin-<region>.<domain>` and `internal-<region>.<domain>`; the certificate names all three.
    pub name: String,
    /// The ID of the public Route 53 hosted zone of the domain, for DNS validation and records.
    pub hosted_zone_id: String,
}

/// How blue/green deploys shift traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TrafficShifting {
    /// 10% first, the rest after 5 minutes.
    #[default]
    #[serde(rename = "canary-10-percent-5-minutes")]
    Canary10Percent5Minutes,
    /// 10% more every minute.
    #[serde(rename = "linear-10-percent-every-1-minute")]
    Linear10PercentEvery1Minute,
    /// Everything at once (after the test listener checks pass).
    #[serde(rename = "all-at-once")]
    AllAtOnce,
}

impl TrafficShifting {
    /// The ECS deployment strategy that shifts this way.
    pub fn shift(self) -> TrafficShift {
        match self {
            TrafficShifting::Canary10Percent5Minutes => TrafficShift::Canary { percent: 10.0, bake_minutes: 5 },
            TrafficShifting::Linear10PercentEvery1Minute => {
                TrafficShift::Linear { step_percent: 10.0, step_bake_minutes: 1 }
            }
            TrafficShifting::AllAtOnce => TrafficShift::AllAtOnce,
        }
    }
}

/// Deployment and draining settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentConfig {
    /// How blue/green deploys shift traffic. Default: `canary-10-percent-5-minutes`.
    #[serde(default)]
    pub traffic_shifting: TrafficShifting,
    /// Minutes the old revision keeps running after production traffic moved, finishing its connections;
    /// an alarm firing meanwhile rolls back (ECS's bake time, 0 to 1440). Default: 5.
    #[serde(default = "default_termination_wait")]
    pub termination_wait_minutes: i64,
    /// Seconds a target group drains a deregistered task (0 to 3600). Default: 30.
    #[serde(default = "default_deregistration_delay")]
    pub deregistration_delay_seconds: i64,
    /// Seconds ECS ignores failing load balancer health checks of a new task (0 to 2147483647).
    /// Default: 60.
    #[serde(default = "default_grace")]
    pub health_check_grace_seconds: i64,
    /// The smoke tests that gate every blue/green deployment. Default: each service's health path.
    #[serde(default)]
    pub smoke_tests: SmokeTestConfig,
    /// Images each application's ECR repository keeps; older ones expire (1 to 1000). Default: 30.
    #[serde(default = "default_keep_images")]
    pub keep_images: i64,
}

/// The smoke tests a deployment hook runs against each HTTP service's test listener: after test traffic
/// reaches a new revision (`POST_TEST_TRAFFIC_SHIFT`) and before production traffic moves. A request
/// that fails or answers anything but 2xx fails the hook, and ECS rolls the deployment back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SmokeTestConfig {
    /// The path requested on each test listener. Default: each service's health check path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Seconds one request may take (1 to 60). Default: 10.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_seconds: i64,
    /// Seconds the hook function may run (10 to 900). Default: 60.
    #[serde(default = "default_hook_timeout")]
    pub hook_timeout_seconds: i64,
}

impl Default for SmokeTestConfig {
    fn default() -> Self {
        Self {
            path: None,
            request_timeout_seconds: default_request_timeout(),
            hook_timeout_seconds: default_hook_timeout(),
        }
    }
}

fn default_keep_images() -> i64 {
    30
}

fn default_request_timeout() -> i64 {
    10
}

fn default_hook_timeout() -> i64 {
    60
}

impl Default for DeploymentConfig {
    fn default() -> Self {
        Self {
            traffic_shifting: TrafficShifting::default(),
            termination_wait_minutes: default_termination_wait(),
            deregistration_delay_seconds: default_deregistration_delay(),
            health_check_grace_seconds: default_grace(),
            smoke_tests: SmokeTestConfig::default(),
            keep_images: default_keep_images(),
        }
    }
}

fn default_termination_wait() -> i64 {
    5
}

fn default_deregistration_delay() -> i64 {
    30
}

fn default_grace() -> i64 {
    60
}

/// One Fargate service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceConfig {
    /// The container image, with a tag or digest.
    pub image: String,
    /// The container port.
    pub port: u16,
    /// CPU units (256, 512, 1024, 2048, 4096, 8192 or 16384).
    pub cpu: i64,
    /// Memory in MiB, within what Fargate allows for the CPU.
    pub memory: i64,
    /// Tasks at deploy time.
    pub desired: i64,
    /// The autoscaling floor (1 or more).
    pub min: i64,
    /// The autoscaling ceiling.
    pub max: i64,
    /// The HTTP path the load balancer and the container health check probe. Default: `/health`.
    #[serde(default = "default_health_path")]
    pub health_check_path: String,
    /// The user the container runs as, never root: a name the image defines, a uid, or `uid:gid`.
    /// Default: `kong`, the user Kong's image runs as.
    #[serde(default = "default_kong_user")]
    pub user: String,
}

fn default_kong_user() -> String {
    "kong".to_owned()
}

fn default_application_user() -> String {
    crate::constructs::compute::DEFAULT_CONTAINER_USER.to_owned()
}

fn default_health_path() -> String {
    "/health".to_owned()
}

/// The most HTTP services one internal ALB serves: each takes a production and a test listener, and an
/// ALB has at most 50.
pub const MAX_HTTP_SERVICES: usize = 25;

/// The internal ALB's production listener of the first HTTP service.
pub const FIRST_PRODUCTION_PORT: u16 = 443;
/// The internal ALB's production listener of the second HTTP service; each later one takes the
/// next pair above it (`9445`/`9446`, `9447`/`9448`, …).
pub const SECOND_PRODUCTION_PORT: u16 = 9443;

/// An HTTP service's listeners on the internal ALB: production (Kong's upstream) and test (its
/// deployment hook's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListenerPorts {
    /// The port Kong sends the service's requests to.
    #[schemars(range(min = 1, max = 65535))]
    pub production: u16,
    /// The port its deployment hook smoke-tests a new revision on.
    #[schemars(range(min = 1, max = 65535))]
    pub test: u16,
}

impl ListenerPorts {
    /// The ports of the `index`th HTTP service (in config order) that names none: 443/8443 for the
    /// first, 9443/9444 for the second, then each next pair.
    pub fn by_position(index: usize) -> Self {
        match u16::try_from(index).expect("validated: at most 25 HTTP services") {
            0 => ListenerPorts {
                production: FIRST_PRODUCTION_PORT,
                test: crate::constructs::compute::TEST_LISTENER_PORT,
            },
            n => ListenerPorts {
                production: SECOND_PRODUCTION_PORT + 2 * (n - 1),
                test: SECOND_PRODUCTION_PORT + 2 * n - 1,
            },
        }
    }
}

/// One application of the compute tier, written `- http: {...}` or `- worker: {...}`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(into = "ApplicationEntry")]
#[schemars(with = "ApplicationEntry")]
pub enum ApplicationConfig {
    /// An HTTP service: behind the internal ALB, reached through Kong's routes, released blue/green.
    Http(HttpServiceConfig),
    /// A queue worker: consumes the work queue, scales on its depth, released rolling.
    Worker(WorkerConfig),
}

/// How an application is written: a map with exactly one key, its kind. (serde's own enum form in
/// YAML is a tag, `!http`, which a JSON Schema cannot describe.)
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(transform = exactly_one_kind)]
pub struct ApplicationEntry {
    /// An HTTP service: behind the internal ALB, reached through Kong's routes, released blue/green.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    http: Option<HttpServiceConfig>,
    /// A queue worker: consumes the work queue, scales on its depth, released rolling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    worker: Option<WorkerConfig>,
}

/// Reads the one key of an entry, so that an error inside it, or a second key, is located where it is
/// (a derived `try_from` would report the whole list).
impl<'de> Deserialize<'de> for ApplicationConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> serde::de::Visitor<'de> for Entry {
            type Value = ApplicationConfig;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a service: `http: {...}` or `worker: {...}`")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ApplicationConfig, A::Error> {
                use serde::de::Error;
                let kinds = &["http", "worker"];
                let application = match map.next_key::<String>()?.as_deref() {
                    Some("http") => ApplicationConfig::Http(map.next_value()?),
                    Some("worker") => ApplicationConfig::Worker(map.next_value()?),
                    Some(other) => return Err(A::Error::unknown_field(other, kinds)),
                    None => return Err(A::Error::custom("a service is one of `http: {...}` or `worker: {...}`")),
                };
                if let Some(other) = map.next_key::<String>()? {
                    return Err(A::Error::custom(format!(
                        "a service is one of `http: {{...}}` or `worker: {{...}}`, not both: `{other}` follows `{}`",
                        application.kind_key()
                    )));
                }
                Ok(application)
            }
        }
        deserializer.deserialize_map(Entry)
    }
}

impl From<ApplicationConfig> for ApplicationEntry {
    fn from(application: ApplicationConfig) -> Self {
        match application {
            ApplicationConfig::Http(http) => ApplicationEntry { http: Some(http), worker: None },
            ApplicationConfig::Worker(worker) => ApplicationEntry { http: None, worker: Some(worker) },
        }
    }
}

/// The schema of an [`ApplicationEntry`] holds exactly one of its keys.
fn exactly_one_kind(schema: &mut schemars::Schema) {
    schema.insert("oneOf".to_owned(), serde_json::json!([{"required": ["http"]}, {"required": ["worker"]}]));
}

/// An application's sizes and task counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizing {
    /// CPU units.
    pub cpu: i64,
    /// Memory in MiB.
    pub memory: i64,
    /// Tasks at deploy time.
    pub desired: i64,
    /// The autoscaling floor.
    pub min: i64,
    /// The autoscaling ceiling.
    pub max: i64,
}

impl ApplicationConfig {
    /// Its name: its ECR repository is `<app>/<name>`, and its construct id the name in PascalCase.
    pub fn name(&self) -> &str {
        match self {
            ApplicationConfig::Http(http) => &http.name,
            ApplicationConfig::Worker(worker) => &worker.name,
        }
    }

    /// The image it runs until a release names another.
    pub fn image(&self) -> &str {
        match self {
            ApplicationConfig::Http(http) => &http.image,
            ApplicationConfig::Worker(worker) => &worker.image,
        }
    }

    /// Its sizes and task counts.
    pub fn sizing(&self) -> Sizing {
        match self {
            ApplicationConfig::Http(s) => {
                Sizing { cpu: s.cpu, memory: s.memory, desired: s.desired, min: s.min, max: s.max }
            }
            ApplicationConfig::Worker(w) => {
                Sizing { cpu: w.cpu, memory: w.memory, desired: w.desired, min: w.min, max: w.max }
            }
        }
    }

    /// What of the data tier its tasks may use.
    pub fn access(&self) -> &[DataAccess] {
        match self {
            ApplicationConfig::Http(http) => &http.access,
            ApplicationConfig::Worker(worker) => &worker.access,
        }
    }

    /// Runs `tasks` tasks and lets autoscaling go down to that many (a standby's size).
    pub fn set_floor(&mut self, tasks: i64) {
        let (desired, min) = match self {
            ApplicationConfig::Http(http) => (&mut http.desired, &mut http.min),
            ApplicationConfig::Worker(worker) => (&mut worker.desired, &mut worker.min),
        };
        (*desired, *min) = (tasks, tasks);
    }

    /// The config key of the variant (`http` or `worker`), under `services[i]`.
    pub fn kind_key(&self) -> &'static str {
        match self {
            ApplicationConfig::Http(_) => "http",
            ApplicationConfig::Worker(_) => "worker",
        }
    }
}

/// What of the data tier an application's tasks may use; each grants only what that use needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DataAccess {
    /// Send messages to the work queue.
    SendWork,
    /// Receive and delete the work queue's messages.
    ConsumeWork,
    /// Read and write the documents bucket.
    Documents,
    /// Read and write the audit-log bucket.
    AuditLogs,
}

/// An HTTP service behind the internal ALB.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpServiceConfig {
    /// Its name: lower-case letters, digits and '-', starting with a letter, unique among the services.
    #[schemars(length(min = 1, max = 32), pattern(r"^[a-z][a-z0-9-]*$"))]
    pub name: String,
    /// The container image, with a tag or digest.
    pub image: String,
    /// The container port.
    pub port: u16,
    /// CPU units (256, 512, 1024, 2048, 4096, 8192 or 16384).
    pub cpu: i64,
    /// Memory in MiB, within what Fargate allows for the CPU.
    pub memory: i64,
    /// Tasks at deploy time.
    pub desired: i64,
    /// The autoscaling floor (1 or more).
    pub min: i64,
    /// The autoscaling ceiling.
    pub max: i64,
    /// The HTTP path the load balancer and the container health check probe. Default: `/health`.
    #[serde(default = "default_health_path")]
    pub health_check_path: String,
    /// What of the data tier it uses. Default: `send-work` and `documents`.
    #[serde(default = "default_http_access")]
    pub access: Vec<DataAccess>,
    /// Its listeners on the internal ALB. Default: by its place among the HTTP services (443/8443,
    /// 9443/9444, 9445/9446, …). Give them to keep a service's ports when services are added or removed
    /// before it: a listener's port changes in place, and two listeners trading ports fail the update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listeners: Option<ListenerPorts>,
    /// The user the container runs as, never root: a name the image defines, a uid, or `uid:gid`.
    /// Default: `1000:1000`. Fargate mounts the task's scratch paths (`/tmp`) owned by root, so an image
    /// declares them as `VOLUME`s owned by this user.
    #[serde(default = "default_application_user")]
    pub user: String,
}

impl HttpServiceConfig {
    /// Its port, sizes and health path as a [`ServiceConfig`], as Kong's are given.
    pub fn service(&self) -> ServiceConfig {
        ServiceConfig {
            image: self.image.clone(),
            port: self.port,
            cpu: self.cpu,
            memory: self.memory,
            desired: self.desired,
            min: self.min,
            max: self.max,
            health_check_path: self.health_check_path.clone(),
            user: self.user.clone(),
        }
    }
}

fn default_http_access() -> Vec<DataAccess> {
    vec![DataAccess::SendWork, DataAccess::Documents]
}

/// A queue worker: a service with no load balancer, scaled by the work queue's depth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkerConfig {
    /// Its name: lower-case letters, digits and '-', starting with a letter, unique among the services.
    #[schemars(length(min = 1, max = 32), pattern(r"^[a-z][a-z0-9-]*$"))]
    pub name: String,
    /// The container image, with a tag or digest.
    pub image: String,
    /// CPU units.
    pub cpu: i64,
    /// Memory in MiB.
    pub memory: i64,
    /// Tasks at deploy time.
    pub desired: i64,
    /// The autoscaling floor (1 or more).
    pub min: i64,
    /// The autoscaling ceiling.
    pub max: i64,
    /// Workers to add as the queue grows past 500 visible messages: one step per entry, each starting
    /// `messagesAbove` messages over the threshold. Default: +2 from 500, +4 from 1500.
    #[serde(default = "default_steps")]
    pub scale_out_steps: Vec<ScaleOutStep>,
    /// What of the data tier it uses. Default: `consume-work`, `documents` and `audit-logs`.
    #[serde(default = "default_worker_access")]
    pub access: Vec<DataAccess>,
    /// The user the container runs as, never root (see the HTTP services'). Default: `1000:1000`.
    #[serde(default = "default_application_user")]
    pub user: String,
}

fn default_worker_access() -> Vec<DataAccess> {
    vec![DataAccess::ConsumeWork, DataAccess::Documents, DataAccess::AuditLogs]
}

/// One step of the worker's scale-out policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScaleOutStep {
    /// Where the step starts, in messages above the 500-message threshold.
    pub messages_above: i64,
    /// Tasks to add.
    pub add_tasks: i64,
}

fn default_steps() -> Vec<ScaleOutStep> {
    vec![ScaleOutStep { messages_above: 0, add_tasks: 2 }, ScaleOutStep { messages_above: 1000, add_tasks: 4 }]
}
