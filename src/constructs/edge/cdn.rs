//! CloudFront in front of an API origin: a distribution that caches nothing, forwards what an API
//! needs, adds security headers and proves itself to the origin with a secret header.
//!
//! ## Secure defaults
//! - Viewers: HTTP redirected to HTTPS (checkov CKV_AWS_34), TLS 1.2 with the 2021 cipher suites or
//!   later on an ACM certificate over SNI (CKV_AWS_174), HTTP/2 and HTTP/3, IPv6.
//! - Origin: HTTPS only with TLS 1.2 (CKV2_AWS_72), and a custom header whose value is a secret that
//!   CloudFormation resolves at deploy time (a dynamic reference, never the value). The origin's
//!   load balancer forwards only requests that carry it, so nobody can go around CloudFront and its WAF.
//! - The managed `CachingDisabled` cache policy: an API's responses are per caller. The managed
//!   `AllViewerExceptHostHeader` origin request policy: every header (`Authorization` included), cookie
//!   and query string reaches the origin, with the origin's own name as `Host` so that its TLS
//!   certificate matches.
//! - A response headers policy with HSTS (two years, subdomains, preload), `nosniff`, `DENY` framing,
//!   `no-referrer`, a deny-all content security policy, and the `Server` and `X-Powered-By` headers
//!   removed.
//! - A WAF web ACL (CKV_AWS_68) and standard logging to a bucket (CKV_AWS_86).
//! - A viewer-request CloudFront Function writes the viewer's address into `X-Viewer-IP`, replacing any
//!   value the client sent, so that the origin can rate-limit and log the real client: behind CloudFront
//!   and a load balancer, the connection's peer and the end of `X-Forwarded-For` are AWS addresses.

use crate::cfn::cloudfront;
use crate::cfn::cloudfront::distribution::{
    CustomOriginConfig, DefaultCacheBehavior, DefaultCacheBehaviorViewerProtocolPolicy, DistributionConfig,
    DistributionConfigHttpVersion, DistributionConfigPriceClass, FunctionAssociation, Logging, Origin,
    OriginCustomHeader, ViewerCertificate, ViewerCertificateMinimumProtocolVersion, ViewerCertificateSslSupportMethod,
};
use crate::cfn::cloudfront::function::{FunctionConfig, FunctionConfigRuntime};
use crate::cfn::cloudfront::response_headers_policy::{
    ContentSecurityPolicy, ContentTypeOptions, FrameOptions, ReferrerPolicy, RemoveHeader, RemoveHeadersConfig,
    ResponseHeadersPolicyConfig, SecurityHeadersConfig, StrictTransportSecurity, XssProtection,
};
use crate::cfn::prelude::*;
use crate::cfn::route53;
use crate::cfn::route53::record_set::AliasTarget;
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::template::Value;

/// The managed cache policy `Managed-CachingDisabled`.
pub const CACHING_DISABLED_POLICY_ID: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";

/// The managed origin request policy `Managed-AllViewerExceptHostHeader`.
pub const ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID: &str = "b689b0a8-53d0-40ab-baf2-68738e2966ac";

/// The Route 53 hosted zone of every CloudFront distribution's domain name, for alias records.
pub const CLOUDFRONT_HOSTED_ZONE_ID: &str = "Z2FDTNDATAQYW2";

/// The request header that carries the viewer's IP address to the origin.
pub const VIEWER_IP_HEADER: &str = "X-Viewer-IP";

/// The viewer-request function that sets [`VIEWER_IP_HEADER`] (CloudFront Functions JavaScript 2.0;
/// header names are lower case there).
const VIEWER_IP_FUNCTION: &str = "function handler(event) {
  var request = event.request;
  request.headers['x-viewer-ip'] = { value: event.viewer.ip };
  return request;
}
";

/// The origin's ID inside the distribution.
const ORIGIN_ID: &str = "Api";

/// HSTS max-age: two years, the preload list's expectation.
const HSTS_MAX_AGE_SECONDS: i64 = 63_072_000;

/// The origin of a [`Cdn`]: a custom HTTPS origin (a load balancer) and the secret header it requires.
#[derive(Debug, Clone)]
pub struct CdnOrigin {
    /// The origin's DNS name, covered by its TLS certificate.
    pub domain_name: Value<String>,
    /// The name of the header that proves a request came through this distribution.
    pub verify_header_name: String,
    /// Its value: a dynamic reference to a secret, resolved at deploy time.
    pub verify_header_value: Value<String>,
}

/// Where a distribution's standard logs go.
#[derive(Debug, Clone, PartialEq)]
pub struct CdnLogs {
    /// The log bucket as CloudFront names it (`<bucket>.s3.amazonaws.com`); it must allow ACLs.
    pub bucket_domain: Value<String>,
    /// The key prefix of the logs.
    pub prefix: String,
}

/// How to build a [`Cdn`]: [`CdnProps::new`] with what has no default.
#[derive(Debug, Clone)]
pub struct CdnProps {
    /// The names viewers use (the certificate must cover them).
    pub aliases: Vec<String>,
    /// An ACM certificate in us-east-1 for the aliases.
    pub certificate_arn: Value<String>,
    /// Where requests go.
    pub origin: CdnOrigin,
    /// The ARN of a `CLOUDFRONT`-scoped WAF web ACL.
    pub web_acl_arn: Value<String>,
    /// Where the standard logs go.
    pub logs: CdnLogs,
    /// Which edge locations serve viewers.
    pub price_class: DistributionConfigPriceClass,
    /// What the distribution is for.
    pub comment: String,
}

impl CdnProps {
    /// A distribution serving `aliases` with `certificate_arn`, sending to `origin`, behind the web ACL
    /// `web_acl_arn`, logging to `logs`; every edge location, no comment.
    pub fn new(
        aliases: Vec<String>,
        certificate_arn: Value<String>,
        origin: CdnOrigin,
        web_acl_arn: Value<String>,
        logs: CdnLogs,
    ) -> Self {
        Self {
            aliases,
            certificate_arn,
            origin,
            web_acl_arn,
            logs,
            price_class: DistributionConfigPriceClass::PriceClassAll,
            comment: String::new(),
        }
    }
}

/// A CloudFront distribution for an API.
#[derive(Debug, Clone)]
pub struct Cdn {
    distribution: ResourceRef<cloudfront::Distribution>,
    headers_policy: ResourceRef<cloudfront::ResponseHeadersPolicy>,
}

fn security_headers_policy() -> ResponseHeadersPolicyConfig {
    ResponseHeadersPolicyConfig::new(Value::sub("${AWS::StackName}-security-headers"))
        .comment("Security headers for API responses")
        .security_headers_config(
            SecurityHeadersConfig::new()
                .strict_transport_security(
                    StrictTransportSecurity::new(HSTS_MAX_AGE_SECONDS, true).include_subdomains(true).preload(true),
                )
                .content_type_options(ContentTypeOptions::new(true))
                .frame_options(FrameOptions::new("DENY", true))
                .referrer_policy(ReferrerPolicy::new(true, "no-referrer"))
                .xss_protection(XssProtection::new(true, true).mode_block(true))
                .content_security_policy(ContentSecurityPolicy::new(
                    "default-src 'none'; frame-ancestors 'none'",
                    true,
                )),
        )
        .remove_headers_config(RemoveHeadersConfig::new(vec![
            RemoveHeader::new("Server"),
            RemoveHeader::new("X-Powered-By"),
        ]))
}

impl Cdn {
    /// Adds the distribution and its response headers policy under `id`.
    pub fn new(scope: &mut Scope, id: &str, props: CdnProps) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let headers_policy =
            scope.add("SecurityHeaders", cloudfront::ResponseHeadersPolicy::new(security_headers_policy()))?;
        let viewer_ip = scope.add(
            "ViewerIpFunction",
            cloudfront::Function::new(
                VIEWER_IP_FUNCTION,
                FunctionConfig::new(
                    format!("Sets {VIEWER_IP_HEADER} to the viewer's address"),
                    FunctionConfigRuntime::CloudfrontJs20,
                ),
                Value::sub("${AWS::StackName}-viewer-ip"),
            )
            .auto_publish(true),
        )?;
        let origin = Origin::new(props.origin.domain_name, ORIGIN_ID)
            .custom_origin_config(
                CustomOriginConfig::new("https-only").https_port(443).origin_ssl_protocols(vec!["TLSv1.2".to_owned()]),
            )
            .origin_custom_headers(vec![OriginCustomHeader::new(
                props.origin.verify_header_name,
                props.origin.verify_header_value,
            )]);
        let methods = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"].map(str::to_owned).to_vec();
        let behavior = DefaultCacheBehavior::new(ORIGIN_ID, DefaultCacheBehaviorViewerProtocolPolicy::RedirectToHttps)
            .allowed_methods(methods)
            .cached_methods(vec!["GET".to_owned(), "HEAD".to_owned()])
            .cache_policy_id(CACHING_DISABLED_POLICY_ID)
            .origin_request_policy_id(ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID)
            .response_headers_policy_id(headers_policy.attr_id())
            .function_associations(vec![FunctionAssociation::new()
                .event_type("viewer-request")
                .function_arn(viewer_ip.attr_function_metadata_function_arn())])
            .compress(true);
        let CdnLogs { bucket_domain: log_bucket, prefix: log_prefix } = props.logs;
        let config = DistributionConfig::new(behavior, true)
            .comment(props.comment)
            .aliases(props.aliases)
            .origins(vec![origin])
            .http_version(DistributionConfigHttpVersion::Http2and3)
            .ipv6_enabled(true)
            .price_class(props.price_class)
            .viewer_certificate(
                ViewerCertificate::new()
                    .acm_certificate_arn(props.certificate_arn)
                    .minimum_protocol_version(ViewerCertificateMinimumProtocolVersion::TlSv122021)
                    .ssl_support_method(ViewerCertificateSslSupportMethod::SniOnly),
            )
            .logging(Logging::new().bucket(log_bucket).prefix(log_prefix).include_cookies(false))
            .web_acl_id(props.web_acl_arn);
        let distribution = scope.add_with("Distribution", cloudfront::Distribution::new(config), |entry| {
            entry
                .guard_suppression(
                    "CLOUDFRONT_DEFAULT_ROOT_OBJECT_CONFIGURED_CHECK",
                    "The distribution fronts an API, which has no root object to serve: `/` goes to the origin \
                     like every other path",
                )
                .guard_suppression(
                    "CLOUDFRONT_ORIGIN_FAILOVER_ENABLED_CHECK",
                    "CloudFront origin groups fail over only GET, HEAD and OPTIONS requests, and an API takes \
                     writes; the origin fails over by DNS instead (a Route 53 failover record on its name)",
                )
        })?;
        Ok(Self { distribution, headers_policy })
    }

    /// The distribution resource.
    pub fn distribution(&self) -> &ResourceRef<cloudfront::Distribution> {
        &self.distribution
    }

    /// The response headers policy resource.
    pub fn headers_policy(&self) -> &ResourceRef<cloudfront::ResponseHeadersPolicy> {
        &self.headers_policy
    }

    /// The distribution's `*.cloudfront.net` name.
    pub fn domain_name(&self) -> Value<String> {
        self.distribution.attr_domain_name()
    }

    /// Adds IPv4 and IPv6 alias records that point `name` at the distribution, in the hosted zone
    /// `hosted_zone_id`; `id` prefixes their IDs.
    pub fn add_alias_records(
        &self,
        scope: &mut Scope,
        id: &str,
        name: &str,
        hosted_zone_id: &str,
    ) -> Result<(), ConstructError> {
        for record_type in ["A", "AAAA"] {
            scope.add(
                &format!("{id}{record_type}"),
                route53::RecordSet::new(name, record_type)
                    .hosted_zone_id(hosted_zone_id)
                    .alias_target(AliasTarget::new(self.domain_name(), CLOUDFRONT_HOSTED_ZONE_ID)),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::App;

    #[test]
    fn the_distribution_is_https_only_uncached_and_proves_itself_to_the_origin() {
        let mut app = App::new("t");
        let stack = app.add_stack("Edge", "us-east-1").unwrap();
        let mut root = stack.root();
        let cdn = Cdn::new(
            &mut root,
            "Cdn",
            CdnProps {
                aliases: vec!["api.example.com".into()],
                certificate_arn: Value::from("arn:cert"),
                origin: CdnOrigin {
                    domain_name: Value::from("origin.example.com"),
                    verify_header_name: "X-Origin-Verify".into(),
                    verify_header_value: Value::from("{{resolve:secretsmanager:verify}}"),
                },
                web_acl_arn: Value::from("arn:acl"),
                logs: CdnLogs { bucket_domain: Value::from("logs.s3.amazonaws.com"), prefix: "cloudfront/".into() },
                price_class: DistributionConfigPriceClass::PriceClass100,
                comment: "test".into(),
            },
        )
        .unwrap();
        cdn.add_alias_records(&mut root, "Alias", "api.example.com", "Z123").unwrap();
        let template = stack.template();
        let config = &template.resources[cdn.distribution().logical_id()].properties()["DistributionConfig"];
        let origin = &config["Origins"][0];
        assert_eq!(origin["DomainName"], "origin.example.com");
        assert_eq!(
            origin["CustomOriginConfig"],
            json!({"HTTPSPort": 443, "OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]})
        );
        assert_eq!(
            origin["OriginCustomHeaders"],
            json!([{"HeaderName": "X-Origin-Verify", "HeaderValue": "{{resolve:secretsmanager:verify}}"}])
        );
        let behavior = &config["DefaultCacheBehavior"];
        assert_eq!(behavior["TargetOriginId"], origin["Id"]);
        assert_eq!(behavior["ViewerProtocolPolicy"], "redirect-to-https");
        assert_eq!(behavior["CachePolicyId"], CACHING_DISABLED_POLICY_ID);
        assert_eq!(behavior["OriginRequestPolicyId"], ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID);
        assert_eq!(behavior["AllowedMethods"].as_array().unwrap().len(), 7, "an API takes every method");
        assert_eq!(behavior["FunctionAssociations"][0]["EventType"], "viewer-request");
        let function = template
            .resources
            .values()
            .find(|resource| resource.resource_type() == "AWS::CloudFront::Function")
            .expect("the viewer-IP function");
        assert_eq!(function.properties()["AutoPublish"], true);
        assert!(function.properties()["FunctionCode"].as_str().unwrap().contains("request.headers['x-viewer-ip']"));
        assert_eq!(config["HttpVersion"], "http2and3");
        assert_eq!(config["ViewerCertificate"]["MinimumProtocolVersion"], "TLSv1.2_2021");
        assert_eq!(config["ViewerCertificate"]["SslSupportMethod"], "sni-only");
        assert_eq!(config["WebACLId"], "arn:acl");
        assert_eq!(config["Logging"]["Bucket"], "logs.s3.amazonaws.com");
        assert_eq!(config["PriceClass"], "PriceClass_100");

        let policy = &template.resources[cdn.headers_policy().logical_id()].properties()["ResponseHeadersPolicyConfig"];
        let security = &policy["SecurityHeadersConfig"];
        assert_eq!(security["StrictTransportSecurity"]["AccessControlMaxAgeSec"], 63_072_000);
        assert_eq!(security["StrictTransportSecurity"]["IncludeSubdomains"], true);
        assert_eq!(security["FrameOptions"]["FrameOption"], "DENY");
        assert_eq!(security["ContentTypeOptions"]["Override"], true);

        let records: Vec<&str> = template
            .resources
            .values()
            .filter(|resource| resource.resource_type() == "AWS::Route53::RecordSet")
            .map(|resource| resource.properties()["Type"].as_str().unwrap())
            .collect();
        assert_eq!(records, ["A", "AAAA"]);
    }
}
