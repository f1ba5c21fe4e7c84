//! The edge stack: CloudFront in front of the primary region's public ALB, its WAF web ACL, the viewer
//! certificate, the apex DNS records, and the secret that proves a request came through CloudFront.
//!
//! CloudFront, its certificate and a `CLOUDFRONT`-scoped web ACL all live in us-east-1, so this stack
//! is in us-east-1 whatever the primary region is. It reaches the other stacks by deterministic names
//! only, never by cross-region references:
//! - the origin is `origin-<primary region>.<domain>`, the alias the primary ingress stack publishes;
//! - logs go to the primary data stack's access-log bucket, whose name is deterministic;
//! - the origin-verify secret has a fixed name and is replicated to every other region with a compute
//!   tier, where the ingress stacks resolve it by name.
//!
//! Hence the order: the primary data stack, then this stack, then every ingress stack.

use super::names::{bucket_name, OriginVerification};
use super::PlatformError;
use crate::cfn::certificatemanager;
use crate::cfn::certificatemanager::certificate::DomainValidationOption;
use crate::cfn::cloudfront::distribution::DistributionConfigPriceClass;
use crate::cfn::wafv2::web_acl::Scope as WafScope;
use crate::config::{ComputeConfig, PriceClass};
use crate::construct::Stack;
use crate::constructs::data::{Secret, SecretProps};
use crate::constructs::edge::{Cdn, CdnLogs, CdnOrigin, CdnProps, WebAcl, WebAclProps};
use crate::constructs::kms::{EncryptionKey, KeyProps};
use crate::constructs::logs::{LogGroup, LogGroupProps, RetentionDays};
use crate::template::{Output, Value};

/// Length of the generated origin-verify value (letters and digits).
const ORIGIN_VERIFY_LENGTH: i64 = 48;

/// Builds the edge into its stack (in us-east-1) for the primary region `primary_region` and its
/// compute config, with `origin` the name CloudFront connects to (the primary's ALB, or the failover
/// pair of both regions' ALBs when a standby can take over); `replica_regions` are the other regions whose ALBs require the header (or will, on
/// failover), encrypted there with the key `replica_keys` gives for the region.
/// What the edge fronts: the app, the primary region and the origin name CloudFront connects to.
#[derive(Debug, Clone, Copy)]
pub(super) struct Edge<'a> {
    pub app_name: &'a str,
    pub primary_region: &'a str,
    pub origin: &'a str,
}

pub(super) fn build(
    stack: &Stack,
    verification: &OriginVerification,
    edge: &Edge<'_>,
    config: &ComputeConfig,
    replica_regions: &[String],
    replica_keys: &[(String, EncryptionKey)],
) -> Result<(), PlatformError> {
    let Edge { app_name, primary_region, origin } = *edge;
    let stack_name = stack.name();
    stack.set_description(format!(
        "Edge of {app_name}: the CloudFront distribution in front of the {primary_region} public ALB, its WAF web \
         ACL, the viewer certificate, DNS records for {}, and the origin-verify secret.",
        config.domain.name
    ));
    let domain = &config.domain;
    let edge = &config.edge;
    let mut root = stack.root();
    let key_props = KeyProps {
        description: Some(format!("Encrypts the origin-verify secret and the WAF logs of {stack_name}")),
        grants: vec![],
    };
    let key = EncryptionKey::new(&mut root, "EdgeKey", key_props)?;
    let secret_props = SecretProps {
        description: Some(format!(
            "Value of the {} header CloudFront adds and the public ALBs require",
            verification.header
        )),
        length: ORIGIN_VERIFY_LENGTH,
        name: Some(verification.secret_name.clone()),
        replica_regions: replica_regions.to_vec(),
        replica_keys: replica_keys.to_vec(),
        username: None,
    };
    let secret = Secret::new(&mut root, "OriginVerifySecret", &key, secret_props)?;

    let certificate = root.add(
        "ViewerCertificate",
        certificatemanager::Certificate::new(domain.name.as_str()).validation_method("DNS").domain_validation_options(
            vec![DomainValidationOption::new()
                .domain_name(domain.name.as_str())
                .hosted_zone_id(domain.hosted_zone_id.as_str())],
        ),
    )?;
    let metric_prefix = format!("{app_name}-edge");
    let log_props =
        LogGroupProps { retention: RetentionDays::ONE_YEAR, name: Some(format!("aws-waf-logs-{app_name}-edge")) };
    let log_group = LogGroup::new(&mut root, "WafLogs", &key, log_props)?;
    let acl = WebAcl::new(
        &mut root,
        "WebAcl",
        WebAclProps {
            scope: WafScope::Cloudfront,
            metric_prefix,
            requests_per_five_minutes: edge.requests_per_five_minutes,
            log_group,
        },
    )?;
    let log_bucket = Value::sub(format!("{}.s3.amazonaws.com", bucket_name(app_name, "access-logs", primary_region)));
    let cdn = Cdn::new(
        &mut root,
        "Cdn",
        CdnProps {
            aliases: vec![domain.name.clone()],
            certificate_arn: certificate.ref_value(),
            origin: CdnOrigin {
                domain_name: origin.into(),
                verify_header_name: verification.header.clone(),
                verify_header_value: secret.value(),
            },
            web_acl_arn: acl.arn(),
            logs: CdnLogs { bucket_domain: log_bucket, prefix: "cloudfront/".into() },
            price_class: match edge.price_class {
                PriceClass::All => DistributionConfigPriceClass::PriceClassAll,
                PriceClass::Class200 => DistributionConfigPriceClass::PriceClass200,
                PriceClass::Class100 => DistributionConfigPriceClass::PriceClass100,
            },
            comment: format!("{app_name}: API at {}", domain.name),
        },
    )?;
    cdn.add_alias_records(&mut root, "AliasRecord", &domain.name, &domain.hosted_zone_id)?;
    let distribution_id = cdn.distribution().ref_value();
    let distribution_domain = cdn.domain_name();
    stack.add_output("DistributionId", Output::new(&distribution_id).description("The CloudFront distribution"))?;
    stack.add_output(
        "DistributionDomainName",
        Output::new(&distribution_domain).description("The distribution's cloudfront.net name"),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value as Json};

    use super::*;
    use crate::config::PlatformConfig;
    use crate::platform::build;
    use crate::platform::test_support::default_config;
    use crate::platform::EDGE_REGION;

    fn synthesized(config: &PlatformConfig) -> crate::construct::SynthesizedApp {
        build(config).unwrap().synth().unwrap()
    }

    fn resources_of<'a>(app: &'a crate::construct::SynthesizedApp, suffix: &str) -> &'a Json {
        let stack = app.stacks.iter().find(|stack| stack.name.ends_with(suffix)).unwrap();
        &stack.template["Resources"]
    }

    #[test]
    fn the_edge_fronts_the_primary_origin_and_the_ingress_requires_its_header() {
        let app = synthesized(&default_config());
        let edge = resources_of(&app, "-Edge");
        let distribution = &edge["CdnDistribution"]["Properties"]["DistributionConfig"];
        // With a standby to fail over to, the origin is the failover pair of both regions' ALBs.
        assert_eq!(distribution["Origins"][0]["DomainName"], "origin.api.integration-platform.example.com");
        let mut alone = default_config();
        alone.regions[1].standby = None;
        let app_alone = synthesized(&alone);
        let origin =
            &resources_of(&app_alone, "-Edge")["CdnDistribution"]["Properties"]["DistributionConfig"]["Origins"];
        assert_eq!(origin[0]["DomainName"], "origin-us-east-1.api.integration-platform.example.com");
        assert_eq!(distribution["Aliases"], json!(["api.integration-platform.example.com"]));
        assert_eq!(distribution["WebACLId"], json!({"Fn::GetAtt": ["WebAcl", "Arn"]}));
        assert_eq!(distribution["ViewerCertificate"]["AcmCertificateArn"], json!({"Ref": "ViewerCertificate"}));
        assert_eq!(
            distribution["Logging"]["Bucket"],
            json!({"Fn::Sub": "integration-platform-access-logs-${AWS::AccountId}-us-east-1.s3.amazonaws.com"})
        );
        assert_eq!(edge["WebAcl"]["Properties"]["Scope"], "CLOUDFRONT");
        assert_eq!(edge["WebAcl"]["Properties"]["Rules"][0]["Statement"]["RateBasedStatement"]["Limit"], 10_000);
        assert_eq!(edge["OriginVerifySecret"]["Properties"]["Name"], "integration-platform/edge/origin-verify");
        // The primary needs no replica (it is in us-east-1); the disaster-recovery region gets one, with the
        // same value (its standby must accept the same header) under a key of its own region.
        let recovery_key = json!({"Fn::GetStackOutput": {
            "StackName": "IntegrationPlatform-DisasterRecovery-Storage",
            "OutputName": "GetAttRecoveryKeyArn",
            "Region": "eu-west-1"
        }});
        assert_eq!(
            edge["OriginVerifySecret"]["Properties"]["ReplicaRegions"],
            json!([{"Region": "eu-west-1", "KmsKeyId": recovery_key}])
        );
        for record in ["AliasRecordA", "AliasRecordAAAA"] {
            assert_eq!(edge[record]["Properties"]["Name"], "api.integration-platform.example.com");
        }

        let ingress = resources_of(&app, "-Primary-Ingress");
        let rule = &ingress["KongProductionRequireHeader"]["Properties"];
        assert_eq!(rule["Conditions"][0]["HttpHeaderConfig"]["HttpHeaderName"], "X-Origin-Verify");
        assert_eq!(
            rule["Conditions"][0]["HttpHeaderConfig"]["Values"],
            json!(["{{resolve:secretsmanager:integration-platform/edge/origin-verify:SecretString}}"])
        );
        let data = resources_of(&app, "-Primary-Data");
        assert_eq!(
            data["AccessLogsBucket"]["Properties"]["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
            "BucketOwnerPreferred",
            "CloudFront's standard logs need ACLs"
        );
    }

    #[test]
    fn the_edge_stays_in_us_east_1_and_replicates_its_secret_to_another_primary_region() {
        let mut config = default_config();
        config.regions[0].region = "us-east-2".into();
        config.regions[0].compute.as_mut().unwrap().edge.price_class = PriceClass::Class100;
        config.regions[1].standby = None;
        let app = synthesized(&config);
        let edge = app.stacks.iter().find(|stack| stack.name.ends_with("-Edge")).unwrap();
        assert_eq!(edge.region, EDGE_REGION);
        let resources = &edge.template["Resources"];
        let replicas = &resources["OriginVerifySecret"]["Properties"]["ReplicaRegions"];
        assert_eq!(replicas[0], json!({"Region": "us-east-2"}));
        assert_eq!(replicas[1]["Region"], "eu-west-1");
        let distribution = &resources["CdnDistribution"]["Properties"]["DistributionConfig"];
        assert_eq!(distribution["Origins"][0]["DomainName"], "origin-us-east-2.api.integration-platform.example.com");
        assert_eq!(distribution["PriceClass"], "PriceClass_100");
        assert!(distribution["Logging"]["Bucket"].to_string().contains("-us-east-2.s3.amazonaws.com"));
        let ingress = app.stacks.iter().find(|stack| stack.name.ends_with("-Primary-Ingress")).unwrap();
        assert!(ingress.depends_on.contains(&edge.name), "the ingress waits for the secret");
        assert_eq!(
            edge.depends_on,
            ["IntegrationPlatform-DisasterRecovery-Storage", "IntegrationPlatform-Primary-Data"]
        );
    }
}
