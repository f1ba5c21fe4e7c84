//! Edge constructs: the CloudFront distribution and its WAF web ACL.

mod cdn;
mod waf;

pub use cdn::{
    Cdn, CdnLogs, CdnOrigin, CdnProps, ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID, CACHING_DISABLED_POLICY_ID,
    CLOUDFRONT_HOSTED_ZONE_ID, VIEWER_IP_HEADER,
};
pub use waf::{WebAcl, WebAclProps, MANAGED_RULE_GROUPS};
