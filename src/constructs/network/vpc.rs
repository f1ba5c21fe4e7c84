//! A VPC spread over several availability zones, with public, private-app and isolated subnets.
//!
//! ## Secure defaults
//! - No subnet assigns public IPs on launch, not even the public ones (checkov CKV_AWS_130); only the
//!   NAT gateways' Elastic IPs are public.
//! - Isolated subnets have no route beyond the VPC: what runs there cannot reach, or be reached from,
//!   the internet.
//! - Each subnet has its own route table, so one AZ's NAT gateway serves its own AZ and an AZ outage
//!   stays in its AZ.
//! - Flow logs of all traffic to an encrypted log group, on unless switched off.
//!
//! An existing VPC joins the app through [`Vpc::from_attributes`], with its subnets per tier.
//!
//! ## Example
//! ```
//! use cfn_synth::construct::App;
//! use cfn_synth::constructs::network::{SubnetSelection, SubnetTier, Vpc, VpcProps};
//! let mut app = App::new("demo");
//! let stack = app.add_stack("Demo-Network", "us-east-1").unwrap();
//! let vpc = Vpc::new(&mut stack.root(), "Vpc", VpcProps::default()).unwrap();
//! assert_eq!(vpc.select_subnets(SubnetSelection::from(SubnetTier::Isolated)).len(), 3);
//! ```

use ipnet::Ipv4Net;

use super::cidr_plan::{CidrPlanError, SubnetPlan, SubnetTier, TierRequest};
use super::flow_logs::{FlowLogs, FlowLogsProps};
use crate::cfn::ec2;
use crate::cfn::prelude::*;
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::ids::Id;
use crate::template::{Resource, Tag, Value};

/// Where NAT gateways go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NatGatewayPlacement {
    /// One per AZ, in that AZ's public subnet.
    #[default]
    PerAz,
    /// One, in the first AZ, shared by all private-app subnets.
    Single,
}

/// How to build a [`Vpc`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcProps {
    /// The VPC's IPv4 block. Default: `10.0.0.0/16`.
    pub cidr: Ipv4Net,
    /// How many AZs the subnets span, taken in order from `Fn::GetAZs`. Default: 3.
    pub az_count: usize,
    /// NAT gateway placement. Default: one per AZ.
    pub nat_gateways: NatGatewayPlacement,
    /// The subnet tiers. Default: public /24, private-app /20, isolated /24, one subnet per AZ each.
    pub tiers: Vec<TierRequest>,
    /// Flow logs, or `None` for none. Default: all traffic, kept 365 days.
    pub flow_logs: Option<FlowLogsProps>,
}

impl Default for VpcProps {
    fn default() -> Self {
        let sized = |tier, prefix_length| TierRequest { tier, prefix_length, cidrs: None };
        Self {
            cidr: "10.0.0.0/16".parse().expect("a valid CIDR"),
            az_count: 3,
            nat_gateways: NatGatewayPlacement::PerAz,
            tiers: vec![
                sized(SubnetTier::Public, 24),
                sized(SubnetTier::PrivateApp, 20),
                sized(SubnetTier::Isolated, 24),
            ],
            flow_logs: Some(FlowLogsProps::default()),
        }
    }
}

/// Why a VPC could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// The construct tree refused a resource.
    #[error(transparent)]
    Construct(#[from] ConstructError),
    /// The subnet plan does not work.
    #[error(transparent)]
    Plan(#[from] CidrPlanError),
    /// Public subnets are needed for the internet gateway's NAT gateways.
    #[error("private-app subnets route through NAT gateways, which need a public tier")]
    NoPublicTier,
}

/// One subnet and its route table.
#[derive(Debug, Clone)]
pub struct Subnet {
    /// The tier.
    pub tier: SubnetTier,
    /// The AZ's position in `Fn::GetAZs` (or in the imported list), from 0.
    pub az_index: usize,
    /// The subnet's ID.
    pub id: Id<ec2::Subnet>,
    /// The subnet's block, when known at synth time.
    pub cidr: Option<Ipv4Net>,
    /// Its route table's ID, when known.
    pub route_table_id: Option<Id<ec2::RouteTable>>,
    /// The subnet resource, unless imported.
    pub resource: Option<ResourceRef<ec2::Subnet>>,
}

/// Which subnets of a VPC a construct goes into: a tier, in AZ order. Converts from a [`SubnetTier`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubnetSelection {
    /// The tier.
    pub tier: SubnetTier,
}

impl SubnetSelection {
    /// The private-app tier: where tasks run, with a route out through NAT.
    pub const PRIVATE_APP: SubnetSelection = SubnetSelection { tier: SubnetTier::PrivateApp };
    /// The isolated tier: where data stores live, with no route out of the VPC.
    pub const ISOLATED: SubnetSelection = SubnetSelection { tier: SubnetTier::Isolated };
    /// The public tier: where internet-facing load balancers and NAT gateways live.
    pub const PUBLIC: SubnetSelection = SubnetSelection { tier: SubnetTier::Public };
}

impl From<SubnetTier> for SubnetSelection {
    fn from(tier: SubnetTier) -> Self {
        Self { tier }
    }
}

/// An existing subnet, for [`Vpc::from_attributes`].
#[derive(Debug, Clone, PartialEq)]
pub struct SubnetAttributes {
    /// The subnet's ID.
    pub id: Id<ec2::Subnet>,
    /// Its route table's ID, which an S3 gateway endpoint needs; `None` when unknown.
    pub route_table_id: Option<Id<ec2::RouteTable>>,
}

impl SubnetAttributes {
    /// A subnet known by ID only.
    pub fn id(id: &str) -> Self {
        Self { id: Id::new(id), route_table_id: None }
    }
}

/// An existing VPC: its ID, block and subnets per tier, for [`Vpc::from_attributes`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VpcAttributes {
    /// The VPC's ID; an empty one is refused.
    pub vpc_id: Option<Id<ec2::Vpc>>,
    /// Its IPv4 block, if known at synth time.
    pub cidr: Option<Ipv4Net>,
    /// Public subnets, in AZ order.
    pub public_subnets: Vec<SubnetAttributes>,
    /// Private subnets with a route out through NAT, in AZ order.
    pub private_app_subnets: Vec<SubnetAttributes>,
    /// Isolated subnets, with no route out of the VPC, in AZ order.
    pub isolated_subnets: Vec<SubnetAttributes>,
}

/// A VPC with its subnets, gateways, routes and flow logs, or an existing one imported by ID.
#[derive(Debug, Clone)]
pub struct Vpc {
    id: Id<ec2::Vpc>,
    resource: Option<ResourceRef<ec2::Vpc>>,
    cidr: Option<Ipv4Net>,
    subnets: Vec<Subnet>,
    nat_gateways: Vec<ResourceRef<ec2::NatGateway>>,
    nat_ips: Vec<ResourceRef<ec2::Eip>>,
    flow_logs: Option<FlowLogs>,
}

impl Vpc {
    /// Adds a VPC under `id`.
    pub fn new(scope: &mut Scope, id: &str, props: VpcProps) -> Result<Self, NetworkError> {
        let plan = SubnetPlan::new(props.cidr, props.az_count, &props.tiers)?;
        let has_private_app = !plan.blocks(SubnetTier::PrivateApp).is_empty();
        if has_private_app && plan.blocks(SubnetTier::Public).is_empty() {
            return Err(NetworkError::NoPublicTier);
        }

        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        let vpc = scope.add(
            "Resource",
            ec2::Vpc::new()
                .cidr_block(props.cidr.to_string())
                .enable_dns_hostnames(true)
                .enable_dns_support(true)
                .tags(vec![Tag::name(name.as_str())]),
        )?;

        let mut internet_attachment = None;
        if !plan.blocks(SubnetTier::Public).is_empty() {
            let gateway =
                scope.add("InternetGateway", ec2::InternetGateway::new().tags(vec![Tag::name(name.as_str())]))?;
            let attachment = scope.add(
                "GatewayAttachment",
                ec2::VpcGatewayAttachment::new(vpc.ref_value()).internet_gateway_id(gateway.ref_value()),
            )?;
            internet_attachment = Some((gateway, attachment));
        }

        let mut subnets = Vec::new();
        let mut nat_gateways = Vec::new();
        let mut nat_ips = Vec::new();
        for (tier, blocks) in plan.tiers() {
            for (az_index, block) in blocks.iter().enumerate() {
                let mut subnet_scope = scope.child(&format!("{}Subnet{}", tier.id(), az_index + 1))?;
                let subnet_name = subnet_scope.path().to_string();
                let resource = subnet_scope.add(
                    "Resource",
                    ec2::Subnet::new(vpc.ref_value())
                        .cidr_block(block.to_string())
                        .availability_zone(Value::select(az_index, Value::get_azs()))
                        // checkov CKV_AWS_130: no public IPs on launch, even in public subnets.
                        .map_public_ip_on_launch(false)
                        .tags(vec![
                            Tag::name(subnet_name.as_str()),
                            Tag::new("cfn-synth:subnet-tier", tier.to_string()),
                        ]),
                )?;
                let route_table = subnet_scope.add(
                    "RouteTable",
                    ec2::RouteTable::new(vpc.ref_value()).tags(vec![Tag::name(subnet_name.as_str())]),
                )?;
                subnet_scope.add(
                    "RouteTableAssociation",
                    ec2::SubnetRouteTableAssociation::new(route_table.ref_value(), resource.ref_value()),
                )?;
                let default_route = ec2::Route::new(route_table.ref_value()).destination_cidr_block("0.0.0.0/0");

                match tier {
                    SubnetTier::Public => {
                        let (gateway, attachment) =
                            internet_attachment.as_ref().expect("a public tier has an internet gateway");
                        let after_attachment = |entry: Resource| entry.depends_on(attachment.logical_id());
                        subnet_scope.add_with(
                            "DefaultRoute",
                            default_route.gateway_id(gateway.ref_value()),
                            after_attachment,
                        )?;
                        let wants_nat = has_private_app
                            && (props.nat_gateways == NatGatewayPlacement::PerAz || nat_gateways.is_empty());
                        if wants_nat {
                            let eip = subnet_scope.add_with(
                                "Eip",
                                ec2::Eip::new().domain("vpc").tags(vec![Tag::name(subnet_name.as_str())]),
                                after_attachment,
                            )?;
                            nat_ips.push(eip.clone());
                            nat_gateways.push(
                                subnet_scope.add(
                                    "NatGateway",
                                    ec2::NatGateway::new()
                                        .allocation_id(eip.attr_allocation_id())
                                        .subnet_id(resource.ref_value())
                                        .tags(vec![Tag::name(subnet_name.as_str())]),
                                )?,
                            );
                        }
                    }
                    SubnetTier::PrivateApp => {
                        let nat = &nat_gateways[az_index.min(nat_gateways.len() - 1)];
                        subnet_scope.add("DefaultRoute", default_route.nat_gateway_id(nat.ref_value()))?;
                    }
                    SubnetTier::Isolated => {}
                }
                subnets.push(Subnet {
                    tier,
                    az_index,
                    id: Id::new(resource.ref_value()),
                    cidr: Some(*block),
                    route_table_id: Some(Id::new(route_table.ref_value())),
                    resource: Some(resource),
                });
            }
        }

        let flow_logs = match &props.flow_logs {
            Some(flow_log_props) => Some(FlowLogs::new(&mut scope, "FlowLogs", vpc.ref_value(), flow_log_props)?),
            None => None,
        };
        Ok(Self {
            id: Id::new(vpc.ref_value()),
            resource: Some(vpc),
            cidr: Some(props.cidr),
            subnets,
            nat_gateways,
            nat_ips,
            flow_logs,
        })
    }

    /// An existing VPC, with its subnets per tier: CDK's `Vpc.fromVpcAttributes`, typed.
    pub fn from_attributes(attributes: VpcAttributes) -> Result<Self, ConstructError> {
        let imported =
            |message: &str| ConstructError::InvalidProps { path: "an imported VPC".into(), message: message.into() };
        let id = attributes.vpc_id.ok_or_else(|| imported("give its vpc_id"))?;
        let tiers = [
            (SubnetTier::Public, attributes.public_subnets),
            (SubnetTier::PrivateApp, attributes.private_app_subnets),
            (SubnetTier::Isolated, attributes.isolated_subnets),
        ];
        if tiers.iter().all(|(_, subnets)| subnets.is_empty()) {
            return Err(imported("give the subnets of at least one tier"));
        }
        let subnets = tiers
            .into_iter()
            .flat_map(|(tier, subnets)| {
                subnets.into_iter().enumerate().map(move |(az_index, subnet)| Subnet {
                    tier,
                    az_index,
                    id: subnet.id,
                    cidr: None,
                    route_table_id: subnet.route_table_id,
                    resource: None,
                })
            })
            .collect();
        Ok(Self {
            id,
            resource: None,
            cidr: attributes.cidr,
            subnets,
            nat_gateways: vec![],
            nat_ips: vec![],
            flow_logs: None,
        })
    }

    /// The VPC resource, unless the VPC is imported.
    pub fn resource(&self) -> Option<&ResourceRef<ec2::Vpc>> {
        self.resource.as_ref()
    }

    /// The VPC ID.
    pub fn vpc_id(&self) -> Id<ec2::Vpc> {
        self.id.clone()
    }

    /// The VPC's IPv4 block, when known at synth time (always, unless imported without it).
    pub fn cidr(&self) -> Option<Ipv4Net> {
        self.cidr
    }

    /// The VPC's IPv4 block as a value: `Fn::GetAtt CidrBlock` for a VPC of the app, the literal for
    /// an imported one whose attributes give it, else `None`.
    pub fn cidr_block(&self) -> Option<Value<String>> {
        match (&self.resource, self.cidr) {
            (Some(resource), _) => Some(resource.get_att("CidrBlock")),
            (None, Some(cidr)) => Some(Value::from(cidr.to_string())),
            (None, None) => None,
        }
    }

    /// The subnets of a tier, in AZ order.
    pub fn subnets(&self, tier: SubnetTier) -> impl Iterator<Item = &Subnet> {
        self.subnets.iter().filter(move |subnet| subnet.tier == tier)
    }

    /// The subnet IDs of a selection, in AZ order.
    pub fn select_subnets(&self, selection: impl Into<SubnetSelection>) -> Vec<Value<String>> {
        self.subnets(selection.into().tier).map(|subnet| subnet.id.value()).collect()
    }

    /// The NAT gateways, in AZ order.
    pub fn nat_gateways(&self) -> &[ResourceRef<ec2::NatGateway>] {
        &self.nat_gateways
    }

    /// The public addresses of the NAT gateways, in AZ order (`Ref` of an Elastic IP is its address):
    /// where traffic from the private-app subnets to the internet appears to come from.
    pub fn nat_public_ips(&self) -> Vec<Value<String>> {
        self.nat_ips.iter().map(|eip| eip.ref_value()).collect()
    }

    /// The flow logs, if on.
    pub fn flow_logs(&self) -> Option<&FlowLogs> {
        self.flow_logs.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::{App, Stack};

    fn build(props: VpcProps) -> (Stack, Vpc) {
        let mut app = App::new("t");
        let stack = app.add_stack("Net", "us-east-1").unwrap();
        let vpc = Vpc::new(&mut stack.root(), "Vpc", props).unwrap();
        (stack.clone(), vpc)
    }

    fn count(stack: &Stack, resource_type: &str) -> usize {
        stack.template().resources.values().filter(|r| r.resource_type() == resource_type).count()
    }

    #[test]
    fn the_default_vpc_has_three_tiers_in_three_azs_with_a_nat_per_az() {
        let (stack, vpc) = build(VpcProps::default());
        assert_eq!(count(&stack, "AWS::EC2::Subnet"), 9);
        assert_eq!(count(&stack, "AWS::EC2::NatGateway"), 3);
        assert_eq!(count(&stack, "AWS::EC2::EIP"), 3);
        assert_eq!(count(&stack, "AWS::EC2::RouteTable"), 9);
        assert_eq!(count(&stack, "AWS::EC2::SubnetRouteTableAssociation"), 9);
        assert_eq!(count(&stack, "AWS::EC2::Route"), 6, "public and private-app subnets have a default route");
        assert_eq!(count(&stack, "AWS::EC2::InternetGateway"), 1);
        assert_eq!(count(&stack, "AWS::EC2::FlowLog"), 1);
        assert_eq!(vpc.nat_gateways().len(), 3);
        assert_eq!(vpc.resource().unwrap().logical_id(), "Vpc");
    }

    #[test]
    fn private_app_subnets_route_through_their_own_azs_nat() {
        let (stack, _) = build(VpcProps::default());
        let target = |id: &str, property: &str| {
            let template = stack.template();
            let placeholder = &template.resources[id].properties()[property];
            crate::template::expr::ReferencePlaceholder::from_json(placeholder).expect("a reference").logical_id
        };
        assert_eq!(target("VpcPrivateAppSubnet2DefaultRoute", "NatGatewayId"), "VpcPublicSubnet2NatGateway");
        assert_eq!(target("VpcPublicSubnet1DefaultRoute", "GatewayId"), "VpcInternetGateway");
    }

    #[test]
    fn isolated_subnets_have_no_route_out_and_no_subnet_maps_public_ips() {
        let (stack, vpc) = build(VpcProps::default());
        let template = stack.template();
        let routes: Vec<&String> = template
            .resources
            .iter()
            .filter(|(_, r)| r.resource_type() == "AWS::EC2::Route")
            .map(|(id, _)| id)
            .collect();
        assert!(routes.iter().all(|id| !id.starts_with("VpcIsolated")), "{routes:?}");
        for subnet in vpc.subnets(SubnetTier::Public).chain(vpc.subnets(SubnetTier::Isolated)) {
            let properties = template.resources[subnet.resource.as_ref().unwrap().logical_id()].properties();
            assert_eq!(properties["MapPublicIpOnLaunch"], json!(false));
        }
    }

    #[test]
    fn a_single_nat_serves_every_private_subnet() {
        let (stack, vpc) = build(VpcProps { nat_gateways: NatGatewayPlacement::Single, ..VpcProps::default() });
        assert_eq!(vpc.nat_gateways().len(), 1);
        let template = stack.template();
        let target = &template.resources["VpcPrivateAppSubnet3DefaultRoute"].properties()["NatGatewayId"];
        let placeholder = crate::template::expr::ReferencePlaceholder::from_json(target).expect("a reference");
        assert_eq!(placeholder.logical_id, "VpcPublicSubnet1NatGateway");
    }

    #[test]
    fn flow_logs_are_encrypted_retained_and_scoped() {
        let (stack, vpc) = build(VpcProps::default());
        let flow_logs = vpc.flow_logs().expect("on by default");
        let template = stack.template();
        let resources = &template.resources;
        let group = &resources[flow_logs.log_group().resource().logical_id()];
        assert_eq!(group.properties()["RetentionInDays"], json!(365));
        assert!(group.properties().contains_key("KmsKeyId"));
        let role = resources[flow_logs.role().resource().logical_id()].properties();
        let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
        assert_eq!(trust["Principal"]["Service"], json!("vpc-flow-logs.amazonaws.com"));
        assert!(trust["Condition"]["StringEquals"].get("aws:SourceAccount").is_some());
        let grant = &role["Policies"][0]["PolicyDocument"]["Statement"][0];
        assert_ne!(grant["Resource"], json!(["*"]), "the role writes to its own log group only");
        assert_eq!(flow_logs.resource().logical_id(), "VpcFlowLogs");

        let (stack, vpc) = build(VpcProps { flow_logs: None, ..VpcProps::default() });
        assert!(vpc.flow_logs().is_none());
        assert_eq!(count(&stack, "AWS::EC2::FlowLog"), 0);
    }

    #[test]
    fn plan_errors_surface() {
        let mut app = App::new("t");
        let stack = app.add_stack("Net", "us-east-1").unwrap();
        let props = VpcProps { cidr: "10.0.0.0/24".parse().unwrap(), ..VpcProps::default() };
        let err = Vpc::new(&mut stack.root(), "Vpc", props).unwrap_err();
        assert!(matches!(err, NetworkError::Plan(CidrPlanError { tier: Some(SubnetTier::PrivateApp), .. })), "{err}");
    }
}
