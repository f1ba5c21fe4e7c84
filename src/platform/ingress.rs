//! The ingress stack of a region: the certificate, the public and internal ALBs, each blue/green
//! service's target group pair with its production and test listeners, and the DNS names of both ALBs.
//!
//! Kept apart from the compute stack so that both stay under the inline template size limit, and so
//! that load balancers (which keep their DNS names) outlive redeployments of the services.

use super::data::DataTier;
use super::edge::OriginVerification;
use super::security::{SecurityGroups, INTEGRATION_LISTENER_PORT, WEBHOOK_LISTENER_PORT};
use super::PlatformError;
use crate::cfn::certificatemanager;
use crate::cfn::certificatemanager::certificate::DomainValidationOption;
use crate::cfn::route53;
use crate::cfn::route53::record_set::AliasTarget;
use crate::config::{ComputeConfig, ServiceConfig};
use crate::construct::{App, ResourceRef, Scope};
use crate::constructs::compute::{
    ApplicationLoadBalancer, LoadBalancerProps, TargetGroup, TargetGroupProps, TEST_LISTENER_PORT,
};
use crate::constructs::network::{SubnetTier, Vpc};
use crate::template::Value;

/// The internal ALB's test listener of the Webhook Receiver (the Integration Service's is 8443).
pub const WEBHOOK_TEST_LISTENER_PORT: i64 = 9444;

/// One blue/green service's load balancing: its target groups and listeners.
#[derive(Debug, Clone)]
pub struct BlueGreenTargets {
    /// The blue target group, where the service starts.
    pub blue: TargetGroup,
    /// The green target group, where CodeDeploy starts the replacement.
    pub green: TargetGroup,
    /// The production listener's ARN.
    pub production_listener: Value<String>,
    /// The test listener's ARN.
    pub test_listener: Value<String>,
    /// The balancer's full name, for its CloudWatch metrics.
    pub load_balancer_full_name: Value<String>,
}

/// What the compute stack needs from the ingress stack.
#[derive(Debug, Clone)]
pub struct Ingress {
    /// Kong behind the public ALB.
    pub kong: BlueGreenTargets,
    /// The Integration Service behind the internal ALB.
    pub integration: BlueGreenTargets,
    /// The Webhook Receiver behind the internal ALB.
    pub webhook: BlueGreenTargets,
    /// The internal ALB's DNS name, which Kong routes to (covered by the certificate).
    pub internal_name: String,
}

/// The names the region's balancers answer to.
pub fn origin_name(region: &str, domain: &str) -> String {
    format!("origin-{region}.{domain}")
}

/// The internal ALB's name.
pub fn internal_name(region: &str, domain: &str) -> String {
    format!("internal-{region}.{domain}")
}

/// Builds the ingress into the stack `stack_name`.
pub(super) fn build(
    app: &mut App,
    stack_name: &str,
    vpc: &Vpc,
    groups: &SecurityGroups,
    data: &DataTier,
    config: &ComputeConfig,
    verification: &OriginVerification,
) -> Result<Ingress, PlatformError> {
    let stack = app.stack_mut(stack_name).expect("the ingress stack exists");
    let region = stack.region().to_owned();
    stack.set_description(format!(
        "Ingress of {stack_name} ({region}): the TLS certificate, the public ALB in front of Kong, the internal ALB \
         in front of the services, blue/green target groups with production and test listeners, and DNS names."
    ));
    let domain = &config.domain;
    let mut root = stack.root();
    // Exact names rather than a wildcard (checkov CKV2_AWS_71): the domain and the two names this region's
    // balancers answer to, each validated through the hosted zone.
    let names = [domain.name.clone(), origin_name(&region, &domain.name), internal_name(&region, &domain.name)];
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
    let balancer = |root: &mut Scope<'_>, id: &str, internet_facing: bool, tier: SubnetTier, group: Value<String>| {
        ApplicationLoadBalancer::new(
            root,
            id,
            LoadBalancerProps {
                internet_facing,
                // CloudFront reaches the origin over HTTPS only, and the group admits only that:
                // an HTTP redirect listener could never be reached.
                redirect_http: false,
                subnet_ids: vpc.subnet_ids(tier),
                security_group_id: group,
                certificate_arn: certificate.ref_value(),
                access_logs: (data.access_logs.name(), "alb".to_owned()),
            },
        )
    };
    let public = balancer(&mut root, "PublicAlb", true, SubnetTier::Public, groups.alb.group_id())?;
    let internal = balancer(&mut root, "InternalAlb", false, SubnetTier::PrivateApp, groups.internal_alb.group_id())?;

    let deregistration = config.deployment.deregistration_delay_seconds;
    let mut test_listeners = Vec::new();
    let mut targets = |root: &mut Scope<'_>,
                       id: &str,
                       balancer: &ApplicationLoadBalancer,
                       service: &ServiceConfig,
                       ports: (i64, i64),
                       required_header: Option<(&str, Value<String>)>| {
        let props = TargetGroupProps {
            vpc_id: vpc.vpc_id(),
            port: service.port,
            health_check_path: service.health_check_path.clone(),
            deregistration_delay_seconds: deregistration,
        };
        let blue = TargetGroup::new(root, &format!("{id}Blue"), &props)?;
        let green = TargetGroup::new(root, &format!("{id}Green"), &props)?;
        let production_id = format!("{id}Production");
        let production: ResourceRef<_> = match required_header {
            Some(header) => {
                balancer.add_https_listener_requiring_header(root, &production_id, ports.0, &blue, header)?
            }
            None => balancer.add_https_listener(root, &production_id, ports.0, &blue)?,
        };
        let test = balancer.add_https_listener(root, &format!("{id}Test"), ports.1, &blue)?;
        test_listeners.push(test.logical_id().to_owned());
        Ok::<_, PlatformError>(BlueGreenTargets {
            blue,
            green,
            production_listener: production.ref_value(),
            test_listener: test.ref_value(),
            load_balancer_full_name: balancer.resource().attr_load_balancer_full_name(),
        })
    };
    // Only requests that came through CloudFront (they carry its secret header) reach Kong.
    let origin_header = (verification.header.as_str(), verification.value());
    let kong = targets(&mut root, "Kong", &public, &config.kong, (443, TEST_LISTENER_PORT), Some(origin_header))?;
    let integration = targets(
        &mut root,
        "Integration",
        &internal,
        &config.integration_service,
        (i64::from(INTEGRATION_LISTENER_PORT), TEST_LISTENER_PORT),
        None,
    )?;
    let webhook = targets(
        &mut root,
        "Webhook",
        &internal,
        &config.webhook_receiver,
        (i64::from(WEBHOOK_LISTENER_PORT), WEBHOOK_TEST_LISTENER_PORT),
        None,
    )?;

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
    for id in test_listeners {
        stack.resource_mut(&id).expect("the listener was just added").suppress(
            "CS005",
            "a blue/green test listener: only the deployment's lifecycle-hook functions call it, and no hook \
             is deployed yet (the release path adds them with their security group)",
        );
    }
    Ok(Ingress { kong, integration, webhook, internal_name })
}
