//! The security groups of one region and the chain of connections between them:
//! CloudFront (origin-facing prefix list) → public ALB (443) → Kong → internal ALB (its HTTPS listeners)
//! → services → PostgreSQL and Redis.
//!
//! The groups live in the network stack, so that the data and compute stacks attach to them without
//! ever importing from each other. The first hop, CloudFront's origin-facing addresses into the public
//! ALB's group, is added by the ingress stack ([`admit_cloudfront`]): a region admits CloudFront only
//! where it runs a public ALB.

use super::support::add_region_mapping;
use super::PlatformError;
use crate::construct::Stack;
use crate::constructs::network::{Port, SecurityGroup, Vpc};
use crate::template::Value;

/// Kong's proxy port when no compute tier says otherwise.
pub const KONG_PROXY_PORT: u16 = 8000;
/// The port the HTTP services listen on when no compute tier says otherwise.
pub const SERVICE_PORT: u16 = 8080;
pub use crate::constructs::data::{POSTGRES_PORT, REDIS_PORT};

/// The mapping that holds the CloudFront origin-facing managed prefix list of each region.
const PREFIX_LIST_MAPPING: &str = "CloudFrontOriginFacingPrefixList";

/// The ID of the managed prefix list `com.amazonaws.global.cloudfront.origin-facing` in each region
/// where AWS publishes it under a fixed ID.
pub const CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS: &[(&str, &str)] = &[
    ("ap-southeast-1", "pl-31a34658"),
    ("ap-southeast-2", "pl-b8a742d1"),
    ("ca-central-1", "pl-38a64351"),
    ("eu-central-1", "pl-a3a144ca"),
    ("eu-north-1", "pl-fab65393"),
    ("eu-west-1", "pl-4fa04526"),
    ("eu-west-2", "pl-93a247fa"),
    ("eu-west-3", "pl-75b1541c"),
    ("sa-east-1", "pl-5da64334"),
    ("us-east-1", "pl-3b927c52"),
    ("us-east-2", "pl-b6a144df"),
    ("us-west-1", "pl-4ea04527"),
];

/// The ports of the request chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ChainPorts {
    /// Kong's proxy port.
    pub kong: u16,
    /// The HTTP services' container ports.
    pub services: Vec<u16>,
    /// The internal ALB's production listeners Kong routes to, each with the service it reaches.
    pub listeners: Vec<(u16, String)>,
}

impl Default for ChainPorts {
    fn default() -> Self {
        let listener = (crate::config::FIRST_PRODUCTION_PORT, "the services".to_owned());
        Self { kong: KONG_PROXY_PORT, services: vec![SERVICE_PORT], listeners: vec![listener] }
    }
}

/// The groups of the request chain.
#[derive(Debug, Clone)]
pub(super) struct SecurityGroups {
    pub alb: SecurityGroup,
    pub kong: SecurityGroup,
    pub internal_alb: SecurityGroup,
    pub services: SecurityGroup,
    pub database: SecurityGroup,
    pub cache: SecurityGroup,
    /// The function that rotates the database's master password: it reaches the database (a rule
    /// the database construct adds) and Secrets Manager.
    pub rotation: SecurityGroup,
}

/// Adds the groups and their connections to the network stack.
pub(super) fn build(stack: &Stack, vpc: &Vpc, ports: &ChainPorts) -> Result<SecurityGroups, PlatformError> {
    let mut root = stack.root();
    let mut group = |id: &str, description: &str| SecurityGroup::new(&mut root, id, vpc, description);
    let groups = SecurityGroups {
        alb: group("AlbSecurityGroup", "Public ALB: HTTPS from CloudFront only")?,
        kong: group("KongSecurityGroup", "Kong gateway tasks: proxy traffic from the public ALB")?,
        internal_alb: group("InternalAlbSecurityGroup", "Internal ALB: HTTPS from Kong only")?,
        services: group("ServicesSecurityGroup", "Service tasks: requests from the internal ALB")?,
        database: group("DatabaseSecurityGroup", "PostgreSQL: queries from the service tasks")?,
        cache: group("CacheSecurityGroup", "Redis: commands from the service and Kong tasks")?,
        rotation: group("RotationSecurityGroup", "Rotation of the database master password")?,
    };
    groups.rotation.allow_egress_anywhere(
        &mut stack.root(),
        "RotationToSecretsManager",
        Port::tcp(443),
        "Secrets Manager's API, through its interface endpoint where the region has one, else through NAT",
    )?;

    groups.services.allow_egress_anywhere(
        &mut stack.root(),
        "ServicesToInternet",
        Port::tcp(443),
        "HTTPS to the external systems the integration service calls",
    )?;
    let routes: Vec<(u16, String)> =
        ports.listeners.iter().map(|(port, service)| (*port, format!("Kong routes to {service}"))).collect();
    let mut chain = vec![(&groups.kong, &groups.alb, ports.kong, "The public ALB forwards requests to Kong")];
    for (port, why) in &routes {
        chain.push((&groups.internal_alb, &groups.kong, *port, why));
    }
    let mut service_ports = ports.services.clone();
    service_ports.sort_unstable();
    service_ports.dedup();
    for port in service_ports {
        chain.push((
            &groups.services,
            &groups.internal_alb,
            port,
            "The internal ALB forwards requests to the services",
        ));
    }
    chain.push((&groups.database, &groups.services, POSTGRES_PORT, "Services query PostgreSQL"));
    chain.push((&groups.cache, &groups.services, REDIS_PORT, "Services use Redis as their cache"));
    chain.push((&groups.cache, &groups.kong, REDIS_PORT, "Kong counts rate limits in Redis"));
    for (target, source, port, why) in chain {
        target.allow_from(source, Port::tcp(port), why)?;
    }
    Ok(groups)
}

/// Lets CloudFront's origin-facing addresses reach the public ALB's group on 443, with the rule (and
/// the per-region prefix list table) in the ingress stack; `key` is the region's key path
/// in the config, for errors.
pub(super) fn admit_cloudfront(stack: &Stack, groups: &SecurityGroups, key: &str) -> Result<(), PlatformError> {
    add_region_mapping(
        stack,
        PREFIX_LIST_MAPPING,
        "PrefixListId",
        CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS,
        key,
        "CloudFront origin-facing prefix list ID",
    )?;
    let prefix_list = Value::find_in_map(PREFIX_LIST_MAPPING, Value::region(), "PrefixListId");
    groups.alb.allow_from_prefix_list(
        &mut stack.root(),
        "AlbFromCloudFront",
        prefix_list,
        Port::tcp(443),
        "HTTPS from CloudFront's origin-facing addresses",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::platform::build;
    use crate::platform::test_support::default_config;

    #[test]
    fn the_chain_admits_each_hop_on_its_port_only() {
        let synth = build(&default_config()).unwrap().synth().unwrap();
        let network = &synth.stacks[0].template["Resources"];
        let ingress = synth.stacks.iter().find(|stack| stack.name.ends_with("-Primary-Ingress")).unwrap();
        let rules =
            network.as_object().unwrap().values().chain(ingress.template["Resources"].as_object().unwrap().values());
        let mut hops = BTreeSet::new();
        for resource in rules {
            if resource["Type"] != "AWS::EC2::SecurityGroupIngress" {
                continue;
            }
            let properties = &resource["Properties"];
            // A rule in the ingress stack imports the network stack's group.
            let target = match properties["GroupId"]["Fn::GetAtt"][0].as_str() {
                Some(group) => group.to_owned(),
                None => properties["GroupId"]["Fn::ImportValue"]
                    .as_str()
                    .unwrap()
                    .split(":GetAtt")
                    .nth(1)
                    .unwrap()
                    .trim_end_matches("GroupId")
                    .to_owned(),
            };
            let source = match properties["SourceSecurityGroupId"]["Fn::GetAtt"][0].as_str() {
                Some(group) => group.to_owned(),
                None => properties["SourcePrefixListId"]["Fn::FindInMap"][0].as_str().unwrap().to_owned(),
            };
            assert_eq!(properties["FromPort"], properties["ToPort"], "one port per hop");
            hops.insert((target, source, properties["FromPort"].as_u64().unwrap()));
        }
        let expected: BTreeSet<(String, String, u64)> = [
            ("AlbSecurityGroup", PREFIX_LIST_MAPPING, 443),
            ("KongSecurityGroup", "AlbSecurityGroup", u64::from(KONG_PROXY_PORT)),
            ("InternalAlbSecurityGroup", "KongSecurityGroup", 443),
            ("InternalAlbSecurityGroup", "KongSecurityGroup", 9443),
            ("ServicesSecurityGroup", "InternalAlbSecurityGroup", u64::from(SERVICE_PORT)),
            ("DatabaseSecurityGroup", "ServicesSecurityGroup", u64::from(POSTGRES_PORT)),
            ("CacheSecurityGroup", "ServicesSecurityGroup", u64::from(REDIS_PORT)),
            ("CacheSecurityGroup", "KongSecurityGroup", u64::from(REDIS_PORT)),
            ("DatabaseSecurityGroup", "RotationSecurityGroup", u64::from(POSTGRES_PORT)),
        ]
        .into_iter()
        .map(|(target, source, port)| (target.to_owned(), source.to_owned(), port))
        .collect();
        assert_eq!(hops, expected);
        assert!(synth.stacks[0].template["Mappings"][PREFIX_LIST_MAPPING].is_null());
        let dr_network = synth.stacks.iter().find(|stack| stack.name.ends_with("-DisasterRecovery-Network")).unwrap();
        assert!(!dr_network.template.to_string().contains("SourcePrefixListId"), "no public ALB, no CloudFront rule");
        let mapping = &ingress.template["Mappings"][PREFIX_LIST_MAPPING];
        assert_eq!(mapping["us-east-1"]["PrefixListId"], "pl-3b927c52");
        assert_eq!(mapping["eu-west-1"]["PrefixListId"], "pl-4fa04526");
    }

    #[test]
    fn a_region_without_a_known_prefix_list_is_a_config_error() {
        let mut config = default_config();
        config.regions[0].region = "us-west-2".into();
        let err = build(&config).unwrap_err();
        assert_eq!(
            err,
            PlatformError::Config {
                key: "regions[0].region".into(),
                message: "no CloudFront origin-facing prefix list ID is known for us-west-2".into()
            }
        );
    }
}
