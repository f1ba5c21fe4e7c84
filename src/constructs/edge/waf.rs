//! AWS WAF: a web ACL with AWS managed rule groups and a per-IP rate limit, logged to CloudWatch Logs.
//!
//! ## Secure defaults
//! - AWS managed rule groups, in this order: the Amazon IP reputation list (cheapest, drops known bad
//!   sources first), the core rule set (OWASP-style common attacks), and known bad inputs (which holds
//!   the Log4j `${jndi:` rule, checkov CKV_AWS_192).
//! - A rate-based rule that blocks a client IP over its limit, evaluated before the managed groups so
//!   that a flood does not pay for their inspection.
//! - Every rule publishes CloudWatch metrics and sampled requests; the whole ACL logs to an encrypted
//!   log group, with the `authorization` and `cookie` headers redacted so that credentials never
//!   reach the logs.

use crate::cfn::prelude::*;
use crate::cfn::wafv2;
use crate::cfn::wafv2::logging_configuration::{FieldToMatch, FieldToMatchSingleHeader};
use crate::cfn::wafv2::web_acl::{
    AllowAction, BlockAction, DefaultAction, ManagedRuleGroupStatement, OverrideAction, RateBasedStatement,
    RateBasedStatementAggregateKeyType, Rule, RuleAction, Scope as WafScope, Statement, VisibilityConfig,
};
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::logs::LogGroup;
use crate::template::Value;

/// The AWS managed rule groups every web ACL carries, by name, in evaluation order.
pub const MANAGED_RULE_GROUPS: [&str; 3] =
    ["AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"];

/// Headers redacted from the WAF logs: they carry credentials.
const REDACTED_HEADERS: [&str; 2] = ["authorization", "cookie"];

/// How to build a [`WebAcl`].
#[derive(Debug, Clone)]
pub struct WebAclProps {
    /// `CLOUDFRONT` (the ACL must then live in us-east-1) or `REGIONAL`.
    pub scope: WafScope,
    /// The prefix of every metric name; also the ACL's name.
    pub metric_prefix: String,
    /// Requests one client IP may make in 5 minutes before it is blocked (10 to 2,000,000,000).
    pub requests_per_five_minutes: i64,
    /// Where the ACL logs; its name must start with `aws-waf-logs-`.
    pub log_group: LogGroup,
}

impl WebAclProps {
    /// An ACL of `scope` logging to `log_group`, its metrics prefixed `metric_prefix`, blocking a
    /// client IP past 2,000 requests in 5 minutes.
    pub fn new(scope: WafScope, metric_prefix: impl Into<String>, log_group: LogGroup) -> Self {
        Self { scope, metric_prefix: metric_prefix.into(), requests_per_five_minutes: 2000, log_group }
    }
}

/// A WAFv2 web ACL.
#[derive(Debug, Clone)]
pub struct WebAcl {
    resource: ResourceRef<wafv2::WebAcl>,
}

fn visibility(metric: &str) -> VisibilityConfig {
    VisibilityConfig::new(true, metric, true)
}

impl WebAcl {
    /// Adds the web ACL and its logging configuration under `id`.
    pub fn new(scope: &mut Scope, id: &str, props: WebAclProps) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let prefix = &props.metric_prefix;
        let rate_limit = Rule::new(
            "RateLimitPerIp",
            0,
            Statement::new().rate_based_statement(RateBasedStatement::new(
                RateBasedStatementAggregateKeyType::Ip,
                props.requests_per_five_minutes,
            )),
            visibility(&format!("{prefix}-RateLimitPerIp")),
        )
        .action(RuleAction::new().block(BlockAction::new()));
        let managed = MANAGED_RULE_GROUPS.iter().zip(1_i64..).map(|(name, priority)| {
            Rule::new(
                *name,
                priority,
                Statement::new().managed_rule_group_statement(ManagedRuleGroupStatement::new(*name, "AWS")),
                visibility(&format!("{prefix}-{name}")),
            )
            // `None`: the group's own actions (block) apply, rather than being overridden to count.
            .override_action(OverrideAction::new().none(serde_json::json!({})))
        });
        let rules: Vec<Rule> = std::iter::once(rate_limit).chain(managed).collect();
        let acl = wafv2::WebAcl::new(DefaultAction::new().allow(AllowAction::new()), props.scope, visibility(prefix))
            .name(prefix.as_str())
            .description(format!("{prefix}: per-IP rate limit and AWS managed rule groups"))
            .rules(rules);
        let resource = scope.add("Resource", acl)?;
        let redacted: Vec<FieldToMatch> = REDACTED_HEADERS
            .iter()
            .map(|header| FieldToMatch::new().single_header(FieldToMatchSingleHeader::new(*header)))
            .collect();
        scope.add(
            "Logging",
            wafv2::LoggingConfiguration::new(vec![props.log_group.bare_arn()], resource.attr_arn())
                .redacted_fields(redacted),
        )?;
        Ok(Self { resource })
    }

    /// The web ACL resource.
    pub fn resource(&self) -> &ResourceRef<wafv2::WebAcl> {
        &self.resource
    }

    /// The ACL's ARN, which a CloudFront distribution takes as its `WebACLId`.
    pub fn arn(&self) -> Value<String> {
        self.resource.attr_arn()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::App;

    #[test]
    fn the_rate_limit_comes_first_then_the_managed_groups_and_the_acl_logs_redacted() {
        let mut app = App::new("t");
        let stack = app.add_stack("S", "us-east-1").unwrap();
        let mut root = stack.root();
        let key = crate::constructs::kms::EncryptionKey::new(&mut root, "Key", Default::default()).unwrap();
        let log_props =
            crate::constructs::logs::LogGroupProps { name: Some("aws-waf-logs-t".into()), ..Default::default() };
        let log_group = LogGroup::new(&mut root, "Logs", &key, log_props).unwrap();
        let acl = WebAcl::new(
            &mut root,
            "Waf",
            WebAclProps {
                scope: WafScope::Cloudfront,
                metric_prefix: "t-edge".into(),
                requests_per_five_minutes: 2000,
                log_group,
            },
        )
        .unwrap();
        let template = stack.template();
        let properties = template.resources[acl.resource().logical_id()].properties();
        assert_eq!(properties["Scope"], json!("CLOUDFRONT"));
        assert_eq!(properties["DefaultAction"], json!({"Allow": {}}));
        let rules = properties["Rules"].as_array().unwrap();
        let names: Vec<&str> = rules.iter().map(|rule| rule["Name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "RateLimitPerIp",
                "AWSManagedRulesAmazonIpReputationList",
                "AWSManagedRulesCommonRuleSet",
                "AWSManagedRulesKnownBadInputsRuleSet"
            ]
        );
        assert_eq!(rules[0]["Statement"]["RateBasedStatement"], json!({"AggregateKeyType": "IP", "Limit": 2000}));
        assert_eq!(rules[0]["Action"], json!({"Block": {}}));
        for (priority, rule) in rules.iter().enumerate() {
            assert_eq!(rule["Priority"], json!(priority));
            assert_eq!(rule["VisibilityConfig"]["CloudWatchMetricsEnabled"], json!(true));
        }
        for rule in &rules[1..] {
            assert_eq!(rule["OverrideAction"], json!({"None": {}}));
            assert_eq!(rule["Statement"]["ManagedRuleGroupStatement"]["VendorName"], json!("AWS"));
        }
        let logging = template
            .resources
            .values()
            .find(|resource| resource.resource_type() == "AWS::WAFv2::LoggingConfiguration")
            .expect("the ACL logs");
        let destination = &logging.properties()["LogDestinationConfigs"];
        assert!(destination.to_string().contains("log-group:${Group}"), "a bare log group ARN: {destination}");
        assert_eq!(
            logging.properties()["RedactedFields"],
            json!([{"SingleHeader": {"Name": "authorization"}}, {"SingleHeader": {"Name": "cookie"}}])
        );
    }
}
