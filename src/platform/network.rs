//! The network stack of one region: the VPC and the outputs later stacks import.

use super::PlatformError;
use crate::config::{NatGateways, NetworkConfig, SubnetTierConfig, TrafficType};
use crate::construct::Stack;
use crate::constructs::logs::RetentionDays;
use crate::constructs::network::{
    FlowLogTrafficType, FlowLogsProps, NatGatewayPlacement, NetworkError, SubnetTier, TierRequest, Vpc, VpcProps,
};
use crate::template::Value;

/// Builds the network into `stack`; `key` is the region's key path in the config, for errors.
pub(super) fn build(stack: &Stack, network: &NetworkConfig, key: &str) -> Result<Vpc, PlatformError> {
    stack.set_description(format!(
        "Network of {} ({}): a VPC over {} availability zones with public, private-app and isolated subnets, \
         NAT gateways and encrypted flow logs.",
        stack.name(),
        stack.region(),
        network.az_count
    ));
    let vpc = Vpc::new(&mut stack.root(), "Vpc", vpc_props(network, key)?).map_err(|error| match error {
        NetworkError::Construct(error) => PlatformError::Construct(error),
        NetworkError::Plan(plan) => PlatformError::Config {
            key: match plan.tier {
                Some(tier) => format!("{key}.network.subnets.{}", tier_key(tier)),
                None => format!("{key}.network.vpcCidr"),
            },
            message: plan.message,
        },
        NetworkError::NoPublicTier => {
            PlatformError::Config { key: format!("{key}.network.subnets"), message: error.to_string() }
        }
    })?;

    stack.export_value("VpcId", &vpc.vpc_id().value(), "The VPC ID")?;
    let cidr_block = vpc.cidr_block().expect("the VPC is the platform's own");
    stack.export_value("VpcCidrBlock", &cidr_block, "The VPC's IPv4 block")?;
    for (tier, output_id) in [
        (SubnetTier::Public, "PublicSubnetIds"),
        (SubnetTier::PrivateApp, "PrivateAppSubnetIds"),
        (SubnetTier::Isolated, "IsolatedSubnetIds"),
    ] {
        let ids = Value::join(",", vpc.select_subnets(tier));
        stack.export_value(output_id, &ids, &format!("Comma-separated {tier} subnet IDs, in AZ order"))?;
    }
    Ok(vpc)
}

fn vpc_props(network: &NetworkConfig, key: &str) -> Result<VpcProps, PlatformError> {
    let request = |tier, config: &SubnetTierConfig| TierRequest {
        tier,
        prefix_length: config.prefix_length,
        cidrs: config.cidrs.clone(),
    };
    Ok(VpcProps {
        cidr: network.vpc_cidr,
        az_count: usize::from(network.az_count),
        nat_gateways: match network.nat_gateways {
            NatGateways::PerAz => NatGatewayPlacement::PerAz,
            NatGateways::Single => NatGatewayPlacement::Single,
        },
        tiers: vec![
            request(SubnetTier::Public, &network.subnets.public),
            request(SubnetTier::PrivateApp, &network.subnets.private_app),
            request(SubnetTier::Isolated, &network.subnets.isolated),
        ],
        flow_logs: Some(FlowLogsProps {
            retention: RetentionDays::new(network.flow_logs.retention_days).map_err(|error| PlatformError::Config {
                key: format!("{key}.network.flowLogs.retentionDays"),
                message: error.to_string(),
            })?,
            traffic: match network.flow_logs.traffic_type {
                TrafficType::All => FlowLogTrafficType::All,
                TrafficType::Accept => FlowLogTrafficType::Accept,
                TrafficType::Reject => FlowLogTrafficType::Reject,
            },
        }),
    })
}

/// The config key of a subnet tier.
fn tier_key(tier: SubnetTier) -> &'static str {
    match tier {
        SubnetTier::Public => "public",
        SubnetTier::PrivateApp => "privateApp",
        SubnetTier::Isolated => "isolated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigFile;
    use crate::platform::build as build_platform;

    #[test]
    fn an_impossible_subnet_plan_names_the_config_key() {
        let mut config = ConfigFile::embedded_default().unwrap().config().clone();
        config.regions[1].network.vpc_cidr = "10.20.0.0/21".parse().unwrap();
        let err = build_platform(&config).unwrap_err();
        assert_eq!(
            err,
            PlatformError::Config {
                key: "regions[1].network.subnets.privateApp".into(),
                message: "a /20 subnet cannot fit in the VPC block 10.20.0.0/21".into()
            }
        );
    }

    #[test]
    fn the_network_exports_what_later_stacks_import() {
        let config = ConfigFile::embedded_default().unwrap().config().clone();
        let app = build_platform(&config).unwrap();
        let stack = app.stack("IntegrationPlatform-Primary-Network").unwrap();
        let template = stack.template();
        let outputs: Vec<&String> = template.outputs.keys().collect();
        assert_eq!(outputs, ["VpcId", "VpcCidrBlock", "PublicSubnetIds", "PrivateAppSubnetIds", "IsolatedSubnetIds"]);
        let export = template.outputs["VpcId"].export.as_ref().unwrap();
        assert_eq!(export.name, serde_json::json!("IntegrationPlatform-Primary-Network:VpcId"));
    }
}
