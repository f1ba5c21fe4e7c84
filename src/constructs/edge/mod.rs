//! Edge constructs: the CloudFront distribution, its WAF web ACL, and the Kong gateway's declarative
//! configuration.

mod cdn;
mod kong;
mod waf;

pub use cdn::{
    Cdn, CdnOrigin, CdnProps, ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID, CACHING_DISABLED_POLICY_ID,
    CLOUDFRONT_HOSTED_ZONE_ID, VIEWER_IP_HEADER,
};
pub use kong::{KongDeclarativeConfig, KongRoute, REDIS_AUTH_TOKEN_VARIABLE};
pub use waf::{WebAcl, WebAclProps, MANAGED_RULE_GROUPS};
