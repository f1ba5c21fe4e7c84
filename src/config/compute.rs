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
    /// The Integration Service, behind the internal ALB.
    pub integration_service: ServiceConfig,
    /// The Webhook Receiver, behind the internal ALB.
    pub webhook_receiver: ServiceConfig,
    /// The Worker Service, which consumes the work queue and has no load balancer.
    pub worker_service: WorkerConfig,
    /// Kong's routes and plugins.
    #[serde(default)]
    pub gateway: GatewayConfig,
    /// CloudFront and AWS WAF in front of the public ALB. Read in the primary region only.
    #[serde(default)]
    pub edge: super::EdgeConfig,
}

/// What Kong routes, and the limits it enforces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewayConfig {
    /// Routes, each sending path prefixes to one HTTP service. Default: `/integration` to the Integration
    /// Service and `/webhooks` to the Webhook Receiver.
    #[serde(default = "default_routes")]
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
        Self { routes: default_routes(), rate_limit: RateLimitConfig::default(), max_request_megabytes: 10 }
    }
}

fn default_routes() -> Vec<RouteConfig> {
    vec![
        RouteConfig {
            name: "integration-service".into(),
            service: Upstream::IntegrationService,
            paths: vec!["/integration".into()],
        },
        RouteConfig {
            name: "webhook-receiver".into(),
            service: Upstream::WebhookReceiver,
            paths: vec!["/webhooks".into()],
        },
    ]
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
    /// The service it sends requests to.
    pub service: Upstream,
    /// Path prefixes, each starting with '/', unique across routes.
    pub paths: Vec<String>,
}

/// An HTTP service behind the internal ALB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Upstream {
    /// The Integration Service.
    IntegrationService,
    /// The Webhook Receiver.
    WebhookReceiver,
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
}

fn default_health_path() -> String {
    "/health".to_owned()
}

/// The worker: a service plus its queue-driven scaling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkerConfig {
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
