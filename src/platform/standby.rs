//! What makes the disaster-recovery region a warm standby beside its data: the primary's serving tier
//! at standby size, and the DNS failover of CloudFront's origin between the two regions' ALBs.
//!
//! CloudFront origin groups fail over only GET, HEAD and OPTIONS requests, and this API takes POST
//! webhooks, so the failover for every method is DNS: CloudFront's origin is a Route 53 failover pair
//! on one name, PRIMARY the primary region's public ALB and SECONDARY the standby's (see
//! [`super::ingress::Failover`] for the health signal).

use super::ingress::Failover;
use super::names::failover_origin_name;
use super::primary_region;
use crate::cfn::route53;
use crate::config::{ComputeConfig, PlatformConfig, RegionConfig, RegionRole, StandbyConfig};

/// The standby's serving tier: the primary's, with each service running `standby.tasks` tasks and
/// allowed to scale in to that many, up to the primary's ceiling.
pub(super) fn standby_compute(primary: &ComputeConfig, standby: &StandbyConfig) -> ComputeConfig {
    let mut compute = primary.clone();
    compute.kong.desired = standby.tasks;
    compute.kong.min = standby.tasks;
    for service in &mut compute.services {
        service.set_floor(standby.tasks);
    }
    compute
}

/// A region's half of the origin's DNS failover, when the config has a standby to fail over to.
pub(super) fn failover(config: &PlatformConfig, region: &RegionConfig) -> Option<Failover> {
    let standby = config.regions.iter().find(|region| region.standby.is_some())?;
    let compute = primary_region(config).compute.as_ref()?;
    let role = match region.role {
        RegionRole::Primary => route53::record_set::Failover::Primary,
        RegionRole::DisasterRecovery if region.region == standby.region => route53::record_set::Failover::Secondary,
        RegionRole::DisasterRecovery => return None,
    };
    Some(Failover { name: failover_origin_name(&compute.domain.name), role })
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;
    use serde_json::{json, Value as Json};

    use crate::platform::build;
    use crate::platform::test_support::default_config;

    const ORIGIN: &str = "origin.api.integration-platform.example.com";

    /// Every stack's resources by name suffix after the app (`Primary-Ingress`), with its region.
    fn stacks() -> IndexMap<String, (String, Json)> {
        let app = build(&default_config()).unwrap().synth().unwrap();
        app.stacks
            .into_iter()
            .map(|stack| {
                let name = stack.name.trim_start_matches("IntegrationPlatform-").to_owned();
                (name, (stack.region, stack.template["Resources"].clone()))
            })
            .collect()
    }

    fn of_type<'a>(resources: &'a Json, resource_type: &str) -> Vec<(&'a String, &'a Json)> {
        resources.as_object().unwrap().iter().filter(|(_, r)| r["Type"] == resource_type).collect()
    }

    /// eu-west-1 runs Kong and the three services, at standby size, behind public and internal ALBs of
    /// its own, scaling up to the primary's ceilings, with images from the region's own ECR.
    #[test]
    fn the_standby_runs_all_four_services_behind_its_own_albs() {
        let stacks = stacks();
        for tier in ["Ingress", "Deployments", "Compute", "Gateway", "Scaling"] {
            assert_eq!(stacks[&format!("DisasterRecovery-{tier}")].0, "eu-west-1", "{tier}");
        }
        let ingress = &stacks["DisasterRecovery-Ingress"].1;
        for balancer in ["PublicAlb", "InternalAlb"] {
            assert_eq!(ingress[balancer]["Type"], "AWS::ElasticLoadBalancingV2::LoadBalancer", "{balancer}");
        }
        assert_eq!(ingress["PublicAlb"]["Properties"]["Scheme"], "internet-facing");
        let mut services = of_type(&stacks["DisasterRecovery-Gateway"].1, "AWS::ECS::Service");
        services.extend(of_type(&stacks["DisasterRecovery-Compute"].1, "AWS::ECS::Service"));
        let names: Vec<&str> = services.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            names,
            ["KongService", "IntegrationServiceService", "WebhookReceiverService", "WorkerServiceService"]
        );
        for (id, service) in &services {
            assert_eq!(service["Properties"]["DesiredCount"], 1, "{id} stands by with one task");
            // The HTTP services sit behind this region's target groups (imported from its ingress stack).
            let balancers = service["Properties"]["LoadBalancers"].to_string();
            if *id != "WorkerServiceService" {
                assert!(balancers.contains("IntegrationPlatform-DisasterRecovery-Ingress:"), "{id}: {balancers}");
            }
        }
        let scaling: Vec<(i64, i64)> =
            of_type(&stacks["DisasterRecovery-Scaling"].1, "AWS::ApplicationAutoScaling::ScalableTarget")
                .iter()
                .map(|(_, target)| {
                    let props = &target["Properties"];
                    (props["MinCapacity"].as_i64().unwrap(), props["MaxCapacity"].as_i64().unwrap())
                })
                .collect();
        let primary = default_config().regions[0].compute.clone().unwrap();
        assert_eq!(
            scaling,
            std::iter::once(primary.kong.max)
                .chain(primary.services.iter().map(|service| service.sizing().max))
                .map(|max| (1, max))
                .collect::<Vec<_>>()
        );
        let compute = serde_json::to_string(&stacks["DisasterRecovery-Compute"].1).unwrap();
        assert!(!compute.contains("us-east-1"), "nothing crosses the ocean at run time");
        assert!(compute.contains("dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/${Repository}:${Tag}"));
        // Its repositories are the primary's replicas: named, not created in the standby.
        assert!(of_type(&stacks["DisasterRecovery-Deployments"].1, "AWS::ECR::Repository").is_empty());
        assert_eq!(of_type(&stacks["Primary-Deployments"].1, "AWS::ECR::Repository").len(), 3);
    }

    /// CloudFront's origin is one name with a Route 53 failover pair across the two regions' public
    /// ALBs; both ALBs answer to it (their certificates name it), verify the same origin header and
    /// admit only CloudFront's origin-facing addresses.
    #[test]
    fn the_origin_is_a_failover_pair_across_both_regions_albs() {
        let stacks = stacks();
        let edge = &stacks["Primary-Edge"].1;
        let distribution = &of_type(edge, "AWS::CloudFront::Distribution")[0].1["Properties"]["DistributionConfig"];
        assert_eq!(distribution["Origins"][0]["DomainName"], ORIGIN);
        let mut headers = Vec::new();
        for (stack, role, identifier) in
            [("Primary-Ingress", "PRIMARY", "us-east-1"), ("DisasterRecovery-Ingress", "SECONDARY", "eu-west-1")]
        {
            let ingress = &stacks[stack].1;
            let record = &ingress["OriginFailoverRecord"]["Properties"];
            assert_eq!(record["Name"], ORIGIN, "{stack}");
            assert_eq!(record["Type"], "A");
            assert_eq!(record["Failover"], role);
            assert_eq!(record["SetIdentifier"], identifier);
            assert_eq!(record["AliasTarget"]["DNSName"], json!({"Fn::GetAtt": ["PublicAlb", "DNSName"]}));
            let names = ingress["Certificate"]["Properties"]["SubjectAlternativeNames"].as_array().unwrap();
            assert!(names.contains(&json!(ORIGIN)), "{stack}: the ALB's certificate covers the origin name");
            let admitted = &ingress["AlbFromCloudFront"]["Properties"];
            assert_eq!(admitted["SourcePrefixListId"]["Fn::FindInMap"][0], "CloudFrontOriginFacingPrefixList");
            assert_eq!(admitted["FromPort"], 443);
            let rule = &ingress["KongProductionRequireHeader"]["Properties"]["Conditions"];
            headers.push(rule.to_string());
        }
        assert_eq!(headers[0], headers[1], "both ALBs require the same header and secret");
        assert!(headers[0].contains("X-Origin-Verify") && headers[0].contains("resolve:secretsmanager"));
        let primary = &stacks["Primary-Ingress"].1["OriginFailoverRecord"]["Properties"];
        assert_eq!(primary["HealthCheckId"], json!({"Ref": "OriginHealthCheck"}));
        let secondary = &stacks["DisasterRecovery-Ingress"].1["OriginFailoverRecord"]["Properties"];
        assert!(secondary.get("HealthCheckId").is_none());
        // A failover is heard: the primary's operations stack (us-east-1, where Route 53 publishes the
        // health check's status) alarms on its topic when the check fails.
        let failover = &stacks["Primary-Operations"].1["OriginFailoverAlarm"]["Properties"];
        assert_eq!(failover["Namespace"], "AWS/Route53");
        assert_eq!(failover["MetricName"], "HealthCheckStatus");
        assert_eq!(
            failover["Dimensions"][0]["Value"],
            json!({"Fn::ImportValue": "IntegrationPlatform-Primary-Ingress:RefOriginHealthCheck"})
        );
        assert_eq!(
            (failover["ComparisonOperator"].as_str(), failover["Threshold"].as_f64()),
            (Some("LessThanThreshold"), Some(1.0))
        );
        assert_eq!(failover["AlarmActions"], json!([{"Ref": "AlarmTopic"}]));
        assert!(stacks["DisasterRecovery-Operations"].1.get("OriginFailoverAlarm").is_none());
    }

    /// What Route 53 would make of the primary's health check, from the templates: each alarm's state
    /// for the given healthy-host datapoints of its target group (`None`: no data), each child check's
    /// health, and the calculated check over them.
    fn primary_judged_healthy(ingress: &Json, healthy_hosts: [Option<f64>; 2]) -> bool {
        let origin = &ingress["OriginHealthCheck"]["Properties"]["HealthCheckConfig"];
        assert_eq!(origin["Type"], "CALCULATED");
        let children = origin["ChildHealthChecks"].as_array().unwrap();
        let healthy = children.iter().zip(healthy_hosts).filter(|(child, hosts)| {
            let check = &ingress[child["Ref"].as_str().unwrap()]["Properties"]["HealthCheckConfig"];
            assert_eq!(check["Type"], "CLOUDWATCH_METRIC");
            assert_eq!(check.get("Inverted"), None);
            let alarm = &ingress[check["AlarmIdentifier"]["Name"]["Ref"].as_str().unwrap()]["Properties"];
            // The ALB's own health checks produce the metric: no security group of ours is in the way.
            assert_eq!(alarm["Namespace"], "AWS/ApplicationELB");
            assert_eq!(alarm["MetricName"], "HealthyHostCount");
            let threshold = alarm["Threshold"].as_f64().unwrap();
            let in_alarm = match hosts {
                Some(value) => match alarm["ComparisonOperator"].as_str().unwrap() {
                    "LessThanThreshold" => *value < threshold,
                    "LessThanOrEqualToThreshold" => *value <= threshold,
                    "GreaterThanThreshold" => *value > threshold,
                    other => panic!("{other}"),
                },
                None => alarm["TreatMissingData"] == "breaching",
            };
            !in_alarm
        });
        healthy.count() as i64 >= origin["HealthThreshold"].as_i64().unwrap()
    }

    /// A check that always failed would send every write to a read-only replica: a primary whose Kong
    /// runs in one target group, the other idle and empty, is healthy; it fails over only when neither
    /// group has a healthy task. Before its alarms have data, the primary is healthy.
    #[test]
    fn a_primary_in_good_health_is_judged_healthy() {
        let stacks = stacks();
        let ingress = &stacks["Primary-Ingress"].1;
        let kong_min = default_config().regions[0].compute.clone().unwrap().kong.min as f64;
        assert!(primary_judged_healthy(ingress, [Some(kong_min), None]), "serving from blue, green idle");
        assert!(primary_judged_healthy(ingress, [None, Some(kong_min)]), "serving from green, blue idle");
        assert!(primary_judged_healthy(ingress, [Some(1.0), Some(1.0)]), "mid-deployment");
        assert!(!primary_judged_healthy(ingress, [Some(0.0), None]), "no healthy Kong: fail over");
        assert!(!primary_judged_healthy(ingress, [Some(0.0), Some(0.0)]));
        for child in ["KongBlueHealthCheck", "KongGreenHealthCheck"] {
            let config = &ingress[child]["Properties"]["HealthCheckConfig"];
            assert_eq!(config["InsufficientDataHealthStatus"], "Healthy", "{child}: a new alarm fails nothing over");
        }
    }
}

#[cfg(test)]
mod regional {
    use serde_json::Value as Json;

    use crate::platform::build;
    use crate::platform::test_support::default_config;

    /// The region of the stack a value comes from: this one, an import of the region, or another
    /// region's stack output.
    fn source_region<'a>(value: &'a Json, own: &'a str, regions: &'a [(String, String)]) -> Option<&'a str> {
        if let Some(export) = value["Fn::ImportValue"].as_str() {
            let stack = export.split(':').next().unwrap();
            return regions.iter().find(|(name, _)| name == stack).map(|(_, region)| region.as_str());
        }
        if let Some(region) = value["Fn::GetStackOutput"]["Region"].as_str() {
            return Some(region);
        }
        if value.get("Fn::GetAtt").is_some() || value.get("Ref").is_some() {
            return Some(own);
        }
        None
    }

    /// Walks `value`, calling `found` with every key-naming property and every dynamic reference.
    fn walk<'a>(value: &'a Json, found: &mut dyn FnMut(&'a str, &'a Json)) {
        match value {
            Json::Object(map) => {
                for (key, inner) in map {
                    found(key, inner);
                    walk(inner, found);
                }
            }
            Json::Array(items) => items.iter().for_each(|item| walk(item, found)),
            _ => {}
        }
    }

    /// Every key a resource of eu-west-1 is encrypted with is a key of eu-west-1, and every secret its
    /// tasks and balancers read is one of eu-west-1: its own, or a replica there.
    #[test]
    fn every_recovery_key_and_secret_is_regional() {
        let app = build(&default_config()).unwrap().synth().unwrap();
        let regions: Vec<(String, String)> =
            app.stacks.iter().map(|stack| (stack.name.clone(), stack.region.clone())).collect();
        let (mut keys, mut secrets, mut named) = (0, 0, 0);
        for stack in app.stacks.iter().filter(|stack| stack.region == "eu-west-1") {
            walk(&stack.template["Resources"], &mut |key, value| {
                let names_key =
                    ["KmsKeyId", "KMSMasterKeyID", "KmsMasterKeyId", "PerformanceInsightsKMSKeyId", "KmsKeyArn"]
                        .contains(&key);
                if names_key {
                    let region = source_region(value, &stack.region, &regions);
                    assert_eq!(region, Some("eu-west-1"), "{}: {key} = {value}", stack.name);
                    keys += 1;
                }
                if key == "ValueFrom" {
                    let region = source_region(value, &stack.region, &regions);
                    assert_eq!(region, Some("eu-west-1"), "{}: secret {value}", stack.name);
                    secrets += 1;
                }
                // A dynamic reference by name resolves in the stack's region: the secret must be there.
                let text = value.to_string();
                if let Some(rest) = text.split("{{resolve:secretsmanager:").nth(1) {
                    let name = rest.split([':', '}']).next().unwrap();
                    if !name.starts_with('$') && key == "Values" {
                        let replicated = app.stacks.iter().any(|other| {
                            other.template["Resources"].as_object().unwrap().values().any(|resource| {
                                resource["Properties"]["Name"] == name
                                    && resource["Properties"]["ReplicaRegions"].to_string().contains("eu-west-1")
                            })
                        });
                        assert!(replicated, "{}: {name} has no replica in eu-west-1", stack.name);
                        named += 1;
                    }
                }
            });
        }
        assert!(keys >= 15, "the replica, Redis, buckets, queues, logs, topic and token keys: {keys}");
        assert!(secrets >= 4, "the Redis token Kong and the three services read: {secrets}");
        assert_eq!(named, 1, "the origin header the public ALB compares, resolved by name in eu-west-1");
    }
}
