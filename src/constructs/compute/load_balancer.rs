//! Application load balancers and their target groups.
//!
//! ## Secure defaults
//! - HTTPS only, with a TLS 1.2+ policy (checkov CKV_AWS_2, CKV_AWS_103); an internet-facing balancer's
//!   plain HTTP listener only redirects to HTTPS.
//! - Invalid header fields dropped (CKV_AWS_131), deletion protection on (CKV_AWS_150), access logs to
//!   the log bucket (CKV_AWS_91).
//! - Each blue/green service gets two target groups (blue and green), a production listener and a test
//!   listener; deregistration delay (connection draining) from the caller.
//! - A listener behind a CDN can require the CDN's secret header: its default action answers 403 and
//!   only a rule that matches the header forwards, so the balancer serves nobody who went around the CDN.

use crate::cfn::elasticloadbalancingv2 as elbv2;
use crate::cfn::elasticloadbalancingv2::listener::{
    Action, ActionType, Certificate, FixedResponseConfig, ListenerProtocol, RedirectConfig, RedirectConfigStatusCode,
};
use crate::cfn::elasticloadbalancingv2::listener_rule;
use crate::cfn::elasticloadbalancingv2::load_balancer::{LoadBalancerAttribute, LoadBalancerScheme, LoadBalancerType};
use crate::cfn::elasticloadbalancingv2::target_group::{
    Matcher, TargetGroupAttribute, TargetGroupHealthCheckProtocol, TargetGroupProtocol, TargetGroupTargetType,
};
use crate::cfn::prelude::*;
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::data::AccessLogs;
use crate::constructs::network::{Connectable, Connections, Port, SecurityGroup, SubnetSelection, Vpc};
use crate::template::{Tag, Value};

/// The TLS policy of every HTTPS listener: TLS 1.2 and 1.3 only, forward secrecy.
pub const TLS_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/// The port of the test listener a blue/green deployment sends test traffic to.
pub const TEST_LISTENER_PORT: u16 = 8443;

/// Who reaches a load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Internet-facing, in the public subnets.
    InternetFacing,
    /// Internal, in the private-app subnets.
    Internal,
}

/// How to build an [`ApplicationLoadBalancer`].
#[derive(Debug, Clone)]
pub struct LoadBalancerProps {
    /// Internet-facing or internal; this picks the subnets.
    pub exposure: Exposure,
    /// Whether an internet-facing balancer also listens on HTTP, only to redirect to HTTPS. Off when
    /// only an HTTPS-only origin client (CloudFront) may reach it: nothing could reach that listener.
    pub redirect_http: bool,
    /// Its security group.
    pub security_group: SecurityGroup,
    /// The ACM certificate of the HTTPS listeners.
    pub certificate_arn: Value<String>,
    /// Where its access logs go.
    pub access_logs: AccessLogs,
}

impl LoadBalancerProps {
    /// An internet-facing balancer in `security_group` whose HTTPS listeners serve `certificate_arn`,
    /// logging to `access_logs`, with the HTTP-to-HTTPS redirect. Set `exposure` to
    /// [`Exposure::Internal`] for an internal one.
    pub fn new(security_group: &SecurityGroup, certificate_arn: Value<String>, access_logs: AccessLogs) -> Self {
        Self {
            exposure: Exposure::InternetFacing,
            redirect_http: true,
            security_group: security_group.clone(),
            certificate_arn,
            access_logs,
        }
    }
}

/// An application load balancer with its HTTPS production and test listeners.
#[derive(Debug, Clone)]
pub struct ApplicationLoadBalancer {
    resource: ResourceRef<elbv2::LoadBalancer>,
    certificate_arn: Value<String>,
    security_group: SecurityGroup,
}

/// Which requests a listener rule forwards.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleMatch {
    /// Every request.
    AnyPath,
    /// Requests carrying the header with its value.
    Header(RequiredHeader),
}

/// A listener and the rule that forwards its traffic.
#[derive(Debug, Clone)]
pub struct RuleListener {
    /// The listener.
    pub listener: ResourceRef<elbv2::Listener>,
    /// Its forwarding rule, which ECS blue/green rewrites.
    pub rule: ResourceRef<elbv2::ListenerRule>,
}

/// A header a listener requires, with the value it must carry.
#[derive(Debug, Clone, PartialEq)]
pub struct RequiredHeader {
    /// The header's name.
    pub name: String,
    /// The value it must have (a secret's dynamic reference, say).
    pub value: Value<String>,
}

impl ApplicationLoadBalancer {
    /// Adds the balancer under `id` in `vpc`; an internet-facing one may also get the HTTP-to-HTTPS
    /// redirect.
    pub fn new(scope: &mut Scope, id: &str, vpc: &Vpc, props: LoadBalancerProps) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        let AccessLogs { bucket, prefix } = props.access_logs;
        let bucket = bucket.name().value();
        let internet_facing = props.exposure == Exposure::InternetFacing;
        let subnets = match props.exposure {
            Exposure::InternetFacing => SubnetSelection::PUBLIC,
            Exposure::Internal => SubnetSelection::PRIVATE_APP,
        };
        let attribute = |key: &str, value: Value<String>| LoadBalancerAttribute::new().key(key).value(value);
        let attributes = vec![
            attribute("routing.http.drop_invalid_header_fields.enabled", Value::from("true")),
            attribute("deletion_protection.enabled", Value::from("true")),
            attribute("access_logs.s3.enabled", Value::from("true")),
            attribute("access_logs.s3.bucket", bucket),
            attribute("access_logs.s3.prefix", Value::from(prefix)),
        ];
        let scheme = if internet_facing { LoadBalancerScheme::InternetFacing } else { LoadBalancerScheme::Internal };
        let resource = scope.add(
            "Resource",
            elbv2::LoadBalancer::new()
                .r#type(LoadBalancerType::Application)
                .scheme(scheme)
                .subnets(vpc.select_subnets(subnets))
                .security_groups(vec![props.security_group.group_id().value()])
                .load_balancer_attributes(attributes)
                .tags(vec![Tag::name(name)]),
        )?;
        if internet_facing && props.redirect_http {
            let redirect = Action::new(ActionType::Redirect)
                .redirect_config(RedirectConfig::new(RedirectConfigStatusCode::Http301).protocol("HTTPS").port("443"));
            scope.add(
                "HttpRedirect",
                elbv2::Listener::new(vec![redirect], resource.ref_value()).port(80).protocol(ListenerProtocol::Http),
            )?;
        }
        Ok(Self { resource, certificate_arn: props.certificate_arn, security_group: props.security_group })
    }

    /// Adds an HTTPS listener on `port` that forwards to `target_group`.
    pub fn add_https_listener(
        &self,
        scope: &mut Scope,
        id: &str,
        port: i64,
        target_group: &TargetGroup,
    ) -> Result<ResourceRef<elbv2::Listener>, ConstructError> {
        let forward = Action::new(ActionType::Forward).target_group_arn(target_group.arn());
        scope.add(id, self.https_listener(forward, port))
    }

    /// Adds an HTTPS listener on `port` whose default action refuses, and a rule (priority 1) that
    /// forwards the requests `matching` selects: any path (`<id>Forward`, the default answers 404), or
    /// those carrying a header with its value (`<id>RequireHeader`, the default answers 403). The rule
    /// forwards to `target_groups` weighted: all traffic to the first, none to the others.
    ///
    /// ECS blue/green deployments move traffic by rewriting the weights of a listener *rule* between
    /// a service's two target groups, so a blue/green service needs its listeners built this way, with
    /// both of its target groups.
    pub fn add_https_listener_with_rule(
        &self,
        scope: &mut Scope,
        id: &str,
        port: i64,
        target_groups: &[&TargetGroup],
        matching: &RuleMatch,
    ) -> Result<RuleListener, ConstructError> {
        let (status, message, condition, rule_id) = match matching {
            RuleMatch::Header(header) => (
                "403",
                "Forbidden",
                listener_rule::RuleCondition::new().field("http-header").http_header_config(
                    listener_rule::HttpHeaderConfig::new()
                        .http_header_name(header.name.as_str())
                        .values(vec![header.value.clone()]),
                ),
                format!("{id}RequireHeader"),
            ),
            RuleMatch::AnyPath => (
                "404",
                "Not Found",
                listener_rule::RuleCondition::new()
                    .field("path-pattern")
                    .path_pattern_config(listener_rule::PathPatternConfig::new().values(vec!["/*"])),
                format!("{id}Forward"),
            ),
        };
        let refuse = Action::new(ActionType::FixedResponse)
            .fixed_response_config(FixedResponseConfig::new(status).content_type("text/plain").message_body(message));
        let listener = scope.add(id, self.https_listener(refuse, port))?;
        let weighted: Vec<listener_rule::TargetGroupTuple> = target_groups
            .iter()
            .enumerate()
            .map(|(index, group)| {
                listener_rule::TargetGroupTuple::new().target_group_arn(group.arn()).weight(if index == 0 {
                    100
                } else {
                    0
                })
            })
            .collect();
        let forward = listener_rule::Action::new(listener_rule::ActionType::Forward)
            .forward_config(listener_rule::ForwardConfig::new().target_groups(weighted));
        let rule = scope.add(
            &rule_id,
            elbv2::ListenerRule::new(vec![forward], vec![condition], 1).listener_arn(listener.ref_value()),
        )?;
        Ok(RuleListener { listener, rule })
    }

    fn https_listener(&self, default_action: Action, port: i64) -> elbv2::Listener {
        elbv2::Listener::new(vec![default_action], self.resource.ref_value())
            .port(port)
            .protocol(ListenerProtocol::Https)
            .ssl_policy(TLS_POLICY)
            .certificates(vec![Certificate::new().certificate_arn(self.certificate_arn.clone())])
    }

    /// The balancer resource.
    pub fn resource(&self) -> &ResourceRef<elbv2::LoadBalancer> {
        &self.resource
    }

    /// The balancer's DNS name.
    pub fn dns_name(&self) -> Value<String> {
        self.resource.attr_dns_name()
    }

    /// The hosted zone of the balancer's DNS name, for alias records.
    pub fn canonical_hosted_zone_id(&self) -> Value<String> {
        self.resource.attr_canonical_hosted_zone_id()
    }

    /// The balancer's full name, the `LoadBalancer` dimension of its CloudWatch metrics.
    pub fn full_name(&self) -> Value<String> {
        self.resource.attr_load_balancer_full_name()
    }
}

impl Connectable for ApplicationLoadBalancer {
    fn connections(&self) -> Connections {
        Connections::new(vec![self.security_group.clone()], Some(Port::tcp(443)), self.resource.path().construct())
    }
}

/// How to build a [`TargetGroup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupProps {
    /// The container port. Default: 8080.
    pub port: u16,
    /// The health check path. Default: `/health`.
    pub health_check_path: String,
    /// Seconds a deregistered target drains (connection draining). Default: 30.
    pub deregistration_delay_seconds: i64,
}

impl Default for TargetGroupProps {
    fn default() -> Self {
        Self { port: 8080, health_check_path: "/health".into(), deregistration_delay_seconds: 30 }
    }
}

/// A target group of Fargate tasks (IP targets).
#[derive(Debug, Clone)]
pub struct TargetGroup {
    resource: ResourceRef<elbv2::TargetGroup>,
}

impl TargetGroup {
    /// Adds a target group in `vpc` under `id`.
    pub fn new(scope: &mut Scope, id: &str, vpc: &Vpc, props: &TargetGroupProps) -> Result<Self, ConstructError> {
        let group = elbv2::TargetGroup::new()
            .vpc_id(vpc.vpc_id())
            .target_type(TargetGroupTargetType::Ip)
            .protocol(TargetGroupProtocol::Http)
            .port(i64::from(props.port))
            .health_check_enabled(true)
            .health_check_protocol(TargetGroupHealthCheckProtocol::Http)
            .health_check_path(props.health_check_path.as_str())
            .health_check_interval_seconds(15)
            .healthy_threshold_count(2)
            .unhealthy_threshold_count(3)
            .matcher(Matcher::new().http_code("200-399"))
            .target_group_attributes(vec![TargetGroupAttribute::new()
                .key("deregistration_delay.timeout_seconds")
                .value(props.deregistration_delay_seconds.to_string())]);
        Ok(Self { resource: scope.add(id, group)? })
    }

    /// The target group resource.
    pub fn resource(&self) -> &ResourceRef<elbv2::TargetGroup> {
        &self.resource
    }

    /// The target group ARN (its `Ref`).
    pub fn arn(&self) -> Value<String> {
        self.resource.ref_value()
    }

    /// The target group name.
    pub fn name(&self) -> Value<String> {
        self.resource.attr_target_group_name()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::App;
    use crate::constructs::data::Bucket;
    use crate::constructs::ids::{Id, Name};
    use crate::constructs::network::{SubnetAttributes, VpcAttributes};

    #[test]
    fn a_listener_requiring_a_header_refuses_by_default_and_forwards_only_a_match() {
        let mut app = App::new("t");
        let stack = app.add_stack("S", "us-east-1").unwrap();
        let mut root = stack.root();
        let vpc = Vpc::from_attributes(VpcAttributes {
            vpc_id: Some(Id::new("vpc-1")),
            public_subnets: vec![SubnetAttributes::id("subnet-1"), SubnetAttributes::id("subnet-2")],
            ..VpcAttributes::default()
        })
        .unwrap();
        let balancer = ApplicationLoadBalancer::new(
            &mut root,
            "Alb",
            &vpc,
            LoadBalancerProps {
                exposure: Exposure::InternetFacing,
                redirect_http: true,
                security_group: SecurityGroup::from_id(Id::new("sg-1")),
                certificate_arn: Value::from("arn:cert"),
                access_logs: AccessLogs { bucket: Bucket::from_name(Name::new("logs"), None), prefix: "alb".into() },
            },
        )
        .unwrap();
        let props = TargetGroupProps { port: 8000, ..TargetGroupProps::default() };
        let blue = TargetGroup::new(&mut root, "Blue", &vpc, &props).unwrap();
        let header = RequiredHeader { name: "X-Verify".into(), value: Value::from("s") };
        let production = balancer
            .add_https_listener_with_rule(&mut root, "Production", 443, &[&blue], &RuleMatch::Header(header))
            .unwrap();
        let test =
            balancer.add_https_listener_with_rule(&mut root, "Test", 8443, &[&blue], &RuleMatch::AnyPath).unwrap();
        let template = stack.template();
        let properties = template.resources[production.listener.logical_id()].properties();
        assert_eq!(properties["DefaultActions"][0]["Type"], "fixed-response");
        assert_eq!(properties["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"], "403");
        let rule = template.resources["ProductionRequireHeader"].properties();
        assert_eq!(rule["Priority"], 1);
        assert_eq!(
            rule["Conditions"],
            json!([{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Verify", "Values": ["s"]}}])
        );
        assert_eq!(rule["Actions"][0]["Type"], "forward");
        let forwarded = &rule["Actions"][0]["ForwardConfig"]["TargetGroups"];
        assert!(forwarded[0]["TargetGroupArn"].to_string().contains(blue.resource().logical_id()));
        assert_eq!(forwarded[0]["Weight"], 100);
        assert_eq!(production.rule.logical_id(), "ProductionRequireHeader");
        let test_rule = template.resources[test.rule.logical_id()].properties();
        assert_eq!(test_rule["Conditions"][0]["PathPatternConfig"]["Values"], json!(["/*"]));
        let test_listener = template.resources[test.listener.logical_id()].properties();
        assert_eq!(test_listener["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"], "404");
    }
}
