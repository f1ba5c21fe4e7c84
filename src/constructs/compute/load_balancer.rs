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
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::template::{Tag, Value};

/// The TLS policy of every HTTPS listener: TLS 1.2 and 1.3 only, forward secrecy.
pub const TLS_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/// The port of the test listener CodeDeploy sends test traffic to during a blue/green deploy.
pub const TEST_LISTENER_PORT: i64 = 8443;

/// How to build an [`ApplicationLoadBalancer`].
#[derive(Debug, Clone)]
pub struct LoadBalancerProps {
    /// Internet-facing (in public subnets) or internal.
    pub internet_facing: bool,
    /// Whether an internet-facing balancer also listens on HTTP, only to redirect to HTTPS. Off when
    /// only an HTTPS-only origin client (CloudFront) may reach it: nothing could reach that listener.
    pub redirect_http: bool,
    /// The subnets, one per AZ.
    pub subnet_ids: Vec<Value<String>>,
    /// Its security group.
    pub security_group_id: Value<String>,
    /// The ACM certificate of the HTTPS listeners.
    pub certificate_arn: Value<String>,
    /// The bucket its access logs go to, and their prefix.
    pub access_logs: (Value<String>, String),
}

/// An application load balancer with its HTTPS production and test listeners.
#[derive(Debug, Clone)]
pub struct ApplicationLoadBalancer {
    resource: ResourceRef<elbv2::LoadBalancer>,
    certificate_arn: Value<String>,
}

impl ApplicationLoadBalancer {
    /// Adds the balancer under `id`; an internet-facing one may also get the HTTP-to-HTTPS redirect.
    pub fn new(scope: &mut Scope<'_>, id: &str, props: LoadBalancerProps) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        let (bucket, prefix) = props.access_logs;
        let attribute = |key: &str, value: Value<String>| LoadBalancerAttribute::new().key(key).value(value);
        let attributes = vec![
            attribute("routing.http.drop_invalid_header_fields.enabled", Value::from("true")),
            attribute("deletion_protection.enabled", Value::from("true")),
            attribute("access_logs.s3.enabled", Value::from("true")),
            attribute("access_logs.s3.bucket", bucket),
            attribute("access_logs.s3.prefix", Value::from(prefix)),
        ];
        let scheme =
            if props.internet_facing { LoadBalancerScheme::InternetFacing } else { LoadBalancerScheme::Internal };
        let resource = scope.add(
            "Resource",
            elbv2::LoadBalancer::new()
                .r#type(LoadBalancerType::Application)
                .scheme(scheme)
                .subnets(props.subnet_ids)
                .security_groups(vec![props.security_group_id])
                .load_balancer_attributes(attributes)
                .tags(vec![Tag::name(name)]),
        )?;
        if props.internet_facing && props.redirect_http {
            let redirect = Action::new(ActionType::Redirect)
                .redirect_config(RedirectConfig::new(RedirectConfigStatusCode::Http301).protocol("HTTPS").port("443"));
            scope.add(
                "HttpRedirect",
                elbv2::Listener::new(vec![redirect], resource.ref_value()).port(80).protocol(ListenerProtocol::Http),
            )?;
        }
        Ok(Self { resource, certificate_arn: props.certificate_arn })
    }

    /// Adds an HTTPS listener on `port` that forwards to `target_group`.
    pub fn add_https_listener(
        &self,
        scope: &mut Scope<'_>,
        id: &str,
        port: i64,
        target_group: &TargetGroup,
    ) -> Result<ResourceRef<elbv2::Listener>, ConstructError> {
        let forward = Action::new(ActionType::Forward).target_group_arn(target_group.arn());
        scope.add(id, self.https_listener(forward, port))
    }

    /// Adds an HTTPS listener on `port` that forwards to `target_group` only the requests whose header
    /// `header.0` has the value `header.1`, and answers every other request 403. The rule is added as
    /// `<id>RequireHeader`.
    ///
    /// CodeDeploy's ECS blue/green deployments shift the rules that forward to the blue target group,
    /// not only the default action, so the rule keeps working across deployments.
    pub fn add_https_listener_requiring_header(
        &self,
        scope: &mut Scope<'_>,
        id: &str,
        port: i64,
        target_group: &TargetGroup,
        header: (&str, Value<String>),
    ) -> Result<ResourceRef<elbv2::Listener>, ConstructError> {
        let refuse = Action::new(ActionType::FixedResponse).fixed_response_config(
            FixedResponseConfig::new("403").content_type("text/plain").message_body("Forbidden"),
        );
        let listener = scope.add(id, self.https_listener(refuse, port))?;
        let (name, value) = header;
        let condition = listener_rule::RuleCondition::new()
            .field("http-header")
            .http_header_config(listener_rule::HttpHeaderConfig::new().http_header_name(name).values(vec![value]));
        let forward =
            listener_rule::Action::new(listener_rule::ActionType::Forward).target_group_arn(target_group.arn());
        scope.add(
            &format!("{id}RequireHeader"),
            elbv2::ListenerRule::new(vec![forward], vec![condition], 1).listener_arn(listener.ref_value()),
        )?;
        Ok(listener)
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
}

/// How to build a [`TargetGroup`].
#[derive(Debug, Clone)]
pub struct TargetGroupProps {
    /// The VPC.
    pub vpc_id: Value<String>,
    /// The container port.
    pub port: u16,
    /// The health check path.
    pub health_check_path: String,
    /// Seconds a deregistered target drains (connection draining).
    pub deregistration_delay_seconds: i64,
}

/// A target group of Fargate tasks (IP targets).
#[derive(Debug, Clone)]
pub struct TargetGroup {
    resource: ResourceRef<elbv2::TargetGroup>,
}

impl TargetGroup {
    /// Adds a target group under `id`.
    pub fn new(scope: &mut Scope<'_>, id: &str, props: &TargetGroupProps) -> Result<Self, ConstructError> {
        let group = elbv2::TargetGroup::new()
            .vpc_id(props.vpc_id.clone())
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

    /// The target group name, as CodeDeploy wants it.
    pub fn name(&self) -> Value<String> {
        self.resource.attr_target_group_name()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::App;

    #[test]
    fn a_listener_requiring_a_header_refuses_by_default_and_forwards_only_a_match() {
        let mut app = App::new("t");
        let stack = app.add_stack("S", "us-east-1").unwrap();
        let mut root = stack.root();
        let balancer = ApplicationLoadBalancer::new(
            &mut root,
            "Alb",
            LoadBalancerProps {
                internet_facing: true,
                redirect_http: true,
                subnet_ids: vec![Value::from("subnet-1"), Value::from("subnet-2")],
                security_group_id: Value::from("sg-1"),
                certificate_arn: Value::from("arn:cert"),
                access_logs: (Value::from("logs"), "alb".into()),
            },
        )
        .unwrap();
        let props = TargetGroupProps {
            vpc_id: Value::from("vpc-1"),
            port: 8000,
            health_check_path: "/health".into(),
            deregistration_delay_seconds: 30,
        };
        let blue = TargetGroup::new(&mut root, "Blue", &props).unwrap();
        let listener = balancer
            .add_https_listener_requiring_header(&mut root, "Production", 443, &blue, ("X-Verify", Value::from("s")))
            .unwrap();
        let template = stack.template();
        let properties = template.resources[listener.logical_id()].properties();
        assert_eq!(properties["DefaultActions"][0]["Type"], "fixed-response");
        assert_eq!(properties["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"], "403");
        let rule = template.resources["ProductionRequireHeader"].properties();
        assert_eq!(rule["Priority"], 1);
        assert_eq!(
            rule["Conditions"],
            json!([{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Verify", "Values": ["s"]}}])
        );
        assert_eq!(rule["Actions"][0]["Type"], "forward");
        assert!(rule["Actions"][0]["TargetGroupArn"].to_string().contains(blue.resource().logical_id()));
    }
}
