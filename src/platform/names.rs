//! The names the platform's stacks share: stack names, DNS names, the origin-verify secret and bucket
//! names. Stacks in different regions never reference each other's resources; they meet through these
//! deterministic names, so every stack that needs one computes it here.

use crate::config::{PlatformConfig, RegionConfig};
use crate::construct::pascal_case;
use crate::constructs::data::Secret;
use crate::template::Value;

/// The region of everything CloudFront-scoped: the edge stack deploys here whatever the primary is.
pub const EDGE_REGION: &str = "us-east-1";

/// The name of a region role's stack of one tier: `<App>-<Role>-<Tier>`.
pub fn stack_name(config: &PlatformConfig, region: &RegionConfig, tier: &str) -> String {
    format!("{}-{}-{tier}", pascal_case(&config.app), region.role.stack_segment())
}

/// The name a region's public ALB answers to, and CloudFront's origin when the region is primary.
pub fn origin_name(region: &str, domain: &str) -> String {
    format!("origin-{region}.{domain}")
}

/// The origin name CloudFront connects to when a standby region can take over: a Route 53 failover
/// pair of the primary's and the standby's public ALBs.
pub fn failover_origin_name(domain: &str) -> String {
    format!("origin.{domain}")
}

/// The internal ALB's name.
pub fn internal_name(region: &str, domain: &str) -> String {
    format!("internal-{region}.{domain}")
}

/// The name of the database's master secret, which the disaster-recovery runbook finds by name in the
/// recovery region while the primary is down.
pub fn database_master_secret_name(app_name: &str) -> String {
    format!("{app_name}/database/master")
}

/// The name of the Redis AUTH token when a Global Datastore shares it with the standby, whose tasks
/// read its replica by name.
pub fn cache_auth_token_name(app_name: &str) -> String {
    format!("{app_name}/cache/auth-token")
}

/// The name of the origin-verify secret.
pub fn origin_verify_secret_name(app_name: &str) -> String {
    format!("{app_name}/edge/origin-verify")
}

/// The deterministic name of the platform's bucket for `purpose` in `region`, as an `Fn::Sub` string
/// (it holds the account ID), so that callers can add to it.
pub fn bucket_name(app_name: &str, purpose: &str, region: &str) -> String {
    format!("{app_name}-{purpose}-${{AWS::AccountId}}-{region}")
}

/// How a public ALB knows a request came through CloudFront: a header whose value is a secret the edge
/// stack generates and replicates, and every ingress stack resolves by name.
#[derive(Debug, Clone)]
pub struct OriginVerification {
    /// The edge stack, which every ingress stack must follow.
    pub stack_name: String,
    /// The header's name.
    pub header: String,
    /// The secret's name, which resolves in every region with a compute tier.
    pub secret_name: String,
}

impl OriginVerification {
    /// The header's value, as a dynamic reference resolved at deploy time in the consuming stack.
    pub fn value(&self) -> Value<String> {
        Secret::value_by_name(&self.secret_name)
    }
}

/// The IAM path of the execution and task roles of the tasks a release deploys, so that the pipeline's
/// deploy role may pass exactly those roles (`iam:PassRole` on `role/<app>/released-tasks/*`).
pub fn released_task_role_path(app_name: &str) -> String {
    format!("/{app_name}/released-tasks/")
}

/// The IAM path of the roles ECS acts through in blue/green deployments, in every region, so that the
/// pipeline's deploy roles may pass them by path (`role/<app>/blue-green/*`) with no reference to
/// another region's stack.
pub fn blue_green_role_path(app_name: &str) -> String {
    format!("/{app_name}/blue-green/")
}

/// The SSM parameter of a region's release record for one application: the image it runs on failover.
pub fn released_image_parameter(app_name: &str, repository: &str) -> String {
    format!("/{app_name}/released-images/{repository}")
}
