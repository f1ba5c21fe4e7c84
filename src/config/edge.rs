//! The edge of the platform: the CloudFront distribution in front of the primary region's public ALB,
//! and its WAF web ACL.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// CloudFront and AWS WAF. Read from the primary region's compute tier; CloudFront and its web ACL are
/// global and live in us-east-1 whatever the primary region is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EdgeConfig {
    /// Which CloudFront edge locations serve viewers. Default: `PriceClass_All`.
    #[serde(default)]
    pub price_class: PriceClass,
    /// Requests one client IP may make in any 5 minutes before AWS WAF blocks it (10 to
    /// 2,000,000,000). Default: 10000: a flood guard well above Kong's per-minute API quota (600 a minute is
    /// 3000 in 5 minutes), so that Kong's limit is the one well-behaved clients meet.
    #[serde(default = "default_requests_per_five_minutes")]
    pub requests_per_five_minutes: i64,
    /// The header CloudFront adds to every origin request with a secret value, and the public ALB
    /// requires. Default: `X-Origin-Verify`.
    #[serde(default = "default_origin_verify_header")]
    pub origin_verify_header: String,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            price_class: PriceClass::default(),
            requests_per_five_minutes: default_requests_per_five_minutes(),
            origin_verify_header: default_origin_verify_header(),
        }
    }
}

fn default_requests_per_five_minutes() -> i64 {
    10_000
}

fn default_origin_verify_header() -> String {
    "X-Origin-Verify".into()
}

/// CloudFront's price classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum PriceClass {
    /// Every edge location.
    #[default]
    #[serde(rename = "PriceClass_All")]
    All,
    /// North America, Europe, Asia, the Middle East and Africa.
    #[serde(rename = "PriceClass_200")]
    Class200,
    /// North America and Europe only.
    #[serde(rename = "PriceClass_100")]
    Class100,
}
