//! The ingress stack of a region: the certificate, the public and internal ALBs, each blue/green
//! service's target group pair with its production and test listeners, and the DNS names of both ALBs.
//!
//! Kept apart from the compute stack so that both stay under the inline template size limit, and so
//! that load balancers (which keep their DNS names) outlive redeployments of the services.

use super::applications::{http_applications, ListenerPorts};
use super::data::DataTier;
use super::names::{internal_name, origin_name, OriginVerification};
use super::security::SecurityGroups;
use super::PlatformError;
use crate::cfn::certificatemanager;
use crate::cfn::certificatemanager::certificate::DomainValidationOption;
use crate::cfn::cloudwatch::alarm::{AlarmStatistic, AlarmTreatMissingData};
use crate::cfn::prelude::*;
use crate::cfn::route53;
use crate::cfn::route53::health_check::{
    AlarmIdentifier, HealthCheckHealthCheckConfig, HealthCheckHealthCheckConfigInsufficientDataHealthStatus,
    HealthCheckHealthCheckConfigType,
};
use crate::cfn::route53::record_set::AliasTarget;
use crate::config::{ComputeConfig, ServiceConfig};
use crate::construct::{Scope, Stack};
use crate::constructs::compute::{
    ApplicationLoadBalancer, Exposure, LoadBalancerProps, RequiredHeader, RuleMatch, TargetGroup, TargetGroupProps,
    TEST_LISTENER_PORT,
};
use crate::constructs::data::AccessLogs;
use crate::constructs::monitoring::MetricAlarm;
use crate::constructs::network::{SecurityGroup, Vpc};
use crate::template::Value;
use indexmap::IndexMap;

/// One blue/green service's load balancing: its target groups, and the listener rules ECS rewrites.
#[derive(Debug, Clone)]
pub struct BlueGreenTargets {
    /// The blue target group, where the service starts.
    pub blue: TargetGroup,
    /// The green target group, where ECS starts the first new revision (then they take turns).
    pub green: TargetGroup,
    /// The ARN of the production listener's forwarding rule.
    pub production_rule: Value<String>,
    /// The ARN of the test listener's forwarding rule.
    pub test_rule: Value<String>,
    /// The test listener's port, which only the service's deployment hook may reach.
    pub test_port: u16,
    /// The balancer's full name, for its CloudWatch metrics.
    pub load_balancer_full_name: Value<String>,
}

/// A region's half of the DNS failover of CloudFront's origin: the name both public ALBs answer to,
/// which Route 53 points at the primary's while its health check passes and at the standby's otherwise.
#[derive(Debug, Clone)]
pub(super) struct Failover {
    /// The origin name (see [`super::names::failover_origin_name`]).
    pub name: String,
    /// Whether this region's record is the primary or the secondary one.
    pub role: route53::record_set::Failover,
}

/// What the compute stack needs from the ingress stack.
#[derive(Debug, Clone)]
pub struct Ingress {
    /// Kong behind the public ALB.
    pub kong: BlueGreenTargets,
    /// Each HTTP service behind the internal ALB, by name, in config order.
    pub services: IndexMap<String, BlueGreenTargets>,
    /// The internal ALB's full name, for its CloudWatch metrics.
    pub internal_full_name: Value<String>,
    /// The internal ALB's DNS name, which Kong routes to (covered by the certificate).
    pub internal_name: String,
    /// The health check that keeps CloudFront's origin on this region, when it is the failover's
    /// primary.
    pub origin_health_check: Option<Value<String>>,
}

/// A blue/green service's listener ports, and which requests its production listener forwards.
#[derive(Debug, Clone)]
struct Listeners {
    production: i64,
    test: u16,
    production_match: RuleMatch,
}

/// How the blue/green target groups of the region are made: IP targets in the VPC, draining for the
/// configured delay.
#[derive(Debug, Clone, Copy)]
struct TargetPairs<'a> {
    vpc: &'a Vpc,
    deregistration_delay_seconds: i64,
}

impl TargetPairs<'_> {
    /// Adds `<id>Blue` and `<id>Green` for `service`, and the production and test listeners of
    /// `balancer` forwarding to the blue one.
    fn add(
        &self,
        root: &mut Scope,
        id: &str,
        balancer: &ApplicationLoadBalancer,
        service: &ServiceConfig,
        listeners: Listeners,
    ) -> Result<BlueGreenTargets, PlatformError> {
        let props = TargetGroupProps {
            port: service.port,
            health_check_path: service.health_check_path.clone(),
            deregistration_delay_seconds: self.deregistration_delay_seconds,
        };
        let blue = TargetGroup::new(root, &format!("{id}Blue"), self.vpc, &props)?;
        let green = TargetGroup::new(root, &format!("{id}Green"), self.vpc, &props)?;
        let production = balancer.add_https_listener_with_rule(
            root,
            &format!("{id}Production"),
            listeners.production,
            &[&blue, &green],
            &listeners.production_match,
        )?;
        let test = balancer.add_https_listener_with_rule(
            root,
            &format!("{id}Test"),
            i64::from(listeners.test),
            &[&blue, &green],
            &RuleMatch::AnyPath,
        )?;
        Ok(BlueGreenTargets {
            blue,
            green,
            production_rule: production.rule.ref_value(),
            test_rule: test.rule.ref_value(),
            test_port: listeners.test,
            load_balancer_full_name: balancer.full_name(),
        })
    }
}

/// Builds the ingress into `stack`.
pub(super) fn build(
    stack: &Stack,
    vpc: &Vpc,
    groups: &SecurityGroups,
    data: &DataTier,
    config: &ComputeConfig,
    verification: &OriginVerification,
    failover: Option<&Failover>,
) -> Result<Ingress, PlatformError> {
    let stack_name = stack.name();
    let region = stack.region().to_owned();
    stack.set_description(format!(
        "Ingress of {stack_name} ({region}): the TLS certificate, the public ALB in front of Kong, the internal ALB \
         in front of the services, blue/green target groups with production and test listeners, and DNS names."
    ));
    let domain = &config.domain;
    let mut root = stack.root();
    // Exact names rather than a wildcard (checkov CKV2_AWS_71): the domain and the two names this region's
    // balancers answer to, each validated through the hosted zone.
    let mut names = vec![domain.name.clone(), origin_name(&region, &domain.name), internal_name(&region, &domain.name)];
    // CloudFront connects to the failover name, whichever region answers it.
    names.extend(failover.map(|failover| failover.name.clone()));
    let validations: Vec<DomainValidationOption> = names
        .iter()
        .map(|name| {
            DomainValidationOption::new().domain_name(name.as_str()).hosted_zone_id(domain.hosted_zone_id.as_str())
        })
        .collect();
    let certificate = root.add(
        "Certificate",
        certificatemanager::Certificate::new(domain.name.as_str())
            .subject_alternative_names(names[1..].to_vec())
            .validation_method("DNS")
            .domain_validation_options(validations),
    )?;
    let balancer = |root: &mut Scope, id: &str, exposure: Exposure, group: &SecurityGroup| {
        let props = LoadBalancerProps {
            exposure,
            // CloudFront reaches the origin over HTTPS only, and the group admits only that: an HTTP
            // redirect listener could never be reached.
            redirect_http: false,
            security_group: group.clone(),
            certificate_arn: certificate.ref_value(),
            access_logs: AccessLogs { bucket: data.access_logs.clone(), prefix: "alb".to_owned() },
        };
        ApplicationLoadBalancer::new(root, id, vpc, props)
    };
    let public = balancer(&mut root, "PublicAlb", Exposure::InternetFacing, &groups.alb)?;
    let internal = balancer(&mut root, "InternalAlb", Exposure::Internal, &groups.internal_alb)?;

    let pairs = TargetPairs { vpc, deregistration_delay_seconds: config.deployment.deregistration_delay_seconds };
    // Only requests that came through CloudFront (they carry its secret header) reach Kong.
    let origin_header = RequiredHeader { name: verification.header.clone(), value: verification.value() };
    let kong = pairs.add(
        &mut root,
        "Kong",
        &public,
        &config.kong,
        Listeners { production: 443, test: TEST_LISTENER_PORT, production_match: RuleMatch::Header(origin_header) },
    )?;
    let mut services = IndexMap::new();
    for application in http_applications(config) {
        let ListenerPorts { production, test } = application.listeners;
        let listeners = Listeners { production: i64::from(production), test, production_match: RuleMatch::AnyPath };
        let targets = pairs.add(&mut root, &application.ingress_id, &internal, &application.service, listeners)?;
        services.insert(application.name, targets);
    }

    let internal_name = internal_name(&region, &domain.name);
    for (id, name, balancer) in [
        ("OriginRecord", origin_name(&region, &domain.name), &public),
        ("InternalRecord", internal_name.clone(), &internal),
    ] {
        root.add(
            id,
            route53::RecordSet::new(name, "A")
                .hosted_zone_id(domain.hosted_zone_id.as_str())
                .alias_target(AliasTarget::new(balancer.dns_name(), balancer.canonical_hosted_zone_id())),
        )?;
    }
    let origin_health_check = match failover {
        Some(failover) => failover_record(&mut root, failover, &public, &kong, &region, &domain.hosted_zone_id)?,
        None => None,
    };
    Ok(Ingress { kong, services, internal_full_name: internal.full_name(), internal_name, origin_health_check })
}

/// Adds this region's failover record of the origin name: an alias of the public ALB; returns the
/// primary's health check, which the operations stack alarms on.
///
/// The primary's carries a health check that sees what CloudFront would meet: whether Kong has a healthy
/// task behind the ALB, as the ALB's own health checks find (a signal no security group stands in the
/// way of; a Route 53 HTTP check could not reach the ALB, which admits only CloudFront's addresses, nor
/// send the origin header). ECS blue/green keeps Kong in either target group of its pair and leaves the
/// other empty between deployments, so each group has an alarm on its healthy hosts, each alarm a
/// health check, and the primary is healthy while at least one of the two is: an empty idle group never
/// fails it over, and since the signal does not depend on traffic, a failed-over primary does not
/// look healthy merely because its traffic left. An alarm without data yet counts as healthy: only
/// evidence fails the primary over. Neither alias evaluates target health, for the same empty group
/// (Route 53 may count it unhealthy, which would fail a healthy primary over, or on the secondary keep
/// traffic on a failed primary).
fn failover_record(
    root: &mut Scope,
    failover: &Failover,
    public: &ApplicationLoadBalancer,
    kong: &BlueGreenTargets,
    region: &str,
    hosted_zone_id: &str,
) -> Result<Option<Value<String>>, PlatformError> {
    let mut record = route53::RecordSet::new(failover.name.as_str(), "A")
        .hosted_zone_id(hosted_zone_id)
        .set_identifier(region)
        .failover(failover.role.clone())
        .alias_target(
            AliasTarget::new(public.dns_name(), public.canonical_hosted_zone_id()).evaluate_target_health(false),
        );
    if failover.role == route53::record_set::Failover::Primary {
        let mut children = Vec::new();
        for (color, group) in [("Blue", &kong.blue), ("Green", &kong.green)] {
            let alarm = MetricAlarm::above(
                format!("Kong's {color} target group has had no healthy task for 3 minutes"),
                "AWS/ApplicationELB",
                "HealthyHostCount",
                vec![
                    ("LoadBalancer".to_owned(), public.full_name()),
                    ("TargetGroup".to_owned(), group.resource().attr_target_group_full_name()),
                ],
                AlarmStatistic::Maximum,
                1.0,
                3,
            )
            .below()
            // A group the ALB reports nothing for has no healthy task.
            .missing_data(AlarmTreatMissingData::Breaching)
            .add_read_by(
                root,
                &format!("Kong{color}HealthAlarm"),
                &format!("The Route 53 health check Kong{color}HealthCheck (the origin's failover signal; the operations stack's OriginFailoverAlarm notifies)"),
            )?;
            let check = root.add(
                &format!("Kong{color}HealthCheck"),
                route53::HealthCheck::new(
                    HealthCheckHealthCheckConfig::new(HealthCheckHealthCheckConfigType::CloudwatchMetric)
                        .alarm_identifier(AlarmIdentifier::new(alarm.ref_value(), Value::stack_region()))
                        .insufficient_data_health_status(
                            HealthCheckHealthCheckConfigInsufficientDataHealthStatus::Healthy,
                        ),
                ),
            )?;
            children.push(check.ref_value());
        }
        let origin = root.add(
            "OriginHealthCheck",
            route53::HealthCheck::new(
                HealthCheckHealthCheckConfig::new(HealthCheckHealthCheckConfigType::Calculated)
                    .child_health_checks(children)
                    .health_threshold(1),
            ),
        )?;
        record = record.health_check_id(origin.ref_value());
        root.add("OriginFailoverRecord", record)?;
        return Ok(Some(origin.ref_value()));
    }
    root.add("OriginFailoverRecord", record)?;
    Ok(None)
}
