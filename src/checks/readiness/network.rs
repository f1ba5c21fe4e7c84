//! The network graph: security groups and their rules, subnets, route tables, NAT and internet
//! gateways, VPC endpoints and prefix lists, and the questions the rules ask of it ("may this group
//! reach that one on 5432?", "does this subnet route to the internet?").

use std::collections::BTreeMap;

use ipnet::IpNet;

use serde_json::Value as Json;

use super::model::{Model, Res, Resolved};
use crate::template::Field;

/// Where a security group rule lets traffic go (egress) or come from (ingress).
#[derive(Debug, Clone, PartialEq)]
pub enum Peer {
    /// An IPv4 or IPv6 block.
    Cidr(String),
    /// Another security group.
    Group(Res),
    /// A managed prefix list.
    PrefixList,
    /// One Elastic IP of the app (`Fn::Sub "${Ip}/32"` of its `Ref`): a NAT gateway's address, say.
    ElasticIp(Res),
    /// Something the model cannot follow.
    Unknown,
}

/// One security group rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// `-1` (all), `tcp`, `6`, `udp` ...
    pub protocol: String,
    /// First port (`-1` for all).
    pub from: i64,
    /// Last port.
    pub to: i64,
    /// The other side.
    pub peer: Peer,
}

impl Rule {
    /// Whether the rule admits TCP on `port`.
    pub fn admits_tcp(&self, port: i64) -> bool {
        match self.protocol.as_str() {
            "-1" | "all" => true,
            "tcp" | "6" => (self.from == -1 && self.to == -1) || (self.from <= port && port <= self.to),
            _ => false,
        }
    }

    /// Whether the peer is the whole internet.
    pub fn is_anywhere(&self) -> bool {
        matches!(&self.peer, Peer::Cidr(cidr) if cidr == "0.0.0.0/0" || cidr == "::/0")
    }
}

/// The network of the whole app.
#[derive(Debug)]
pub struct Network {
    egress: BTreeMap<Res, Vec<Rule>>,
    ingress: BTreeMap<Res, Vec<Rule>>,
    /// The IPv4 block of each group's VPC, where the model can read it.
    vpc_blocks: BTreeMap<Res, IpNet>,
}

const ALL_OPEN: &str = "0.0.0.0/0";

impl Network {
    /// Collects every rule, inline and standalone, by group.
    pub fn new(model: &Model) -> Self {
        let mut egress: BTreeMap<Res, Vec<Rule>> = BTreeMap::new();
        let mut ingress: BTreeMap<Res, Vec<Rule>> = BTreeMap::new();
        let mut vpc_blocks = BTreeMap::new();
        for group in model.of_type("AWS::EC2::SecurityGroup") {
            let props = model.props(&group);
            let block = model.resource_of(group.stack, props.field("VpcId")).and_then(|vpc| {
                match model.resolve(vpc.stack, model.props(&vpc).field("CidrBlock")) {
                    Resolved::Literal(text) => text.parse::<IpNet>().ok(),
                    _ => None,
                }
            });
            if let Some(block) = block {
                vpc_blocks.insert(group.clone(), block);
            }
            // A group declared without egress rules gets CloudFormation's default: all traffic out.
            let inline_egress = match props.get("SecurityGroupEgress").and_then(Json::as_array) {
                Some(rules) => rules.iter().map(|rule| rule_of(model, group.stack, rule, "Destination")).collect(),
                None => vec![Rule { protocol: "-1".into(), from: -1, to: -1, peer: Peer::Cidr(ALL_OPEN.into()) }],
            };
            egress.entry(group.clone()).or_default().extend(inline_egress);
            let inline_ingress: Vec<Rule> = props
                .field("SecurityGroupIngress")
                .as_array()
                .map(|rules| rules.iter().map(|rule| rule_of(model, group.stack, rule, "Source")).collect())
                .unwrap_or_default();
            ingress.entry(group.clone()).or_default().extend(inline_ingress);
        }
        for (type_name, side, map) in [
            ("AWS::EC2::SecurityGroupEgress", "Destination", &mut egress),
            ("AWS::EC2::SecurityGroupIngress", "Source", &mut ingress),
        ] {
            for rule in model.of_type(type_name) {
                let props = model.props(&rule);
                if let Some(group) = model.resource_of(rule.stack, props.field("GroupId")) {
                    map.entry(group).or_default().push(rule_of(model, rule.stack, props, side));
                }
            }
        }
        Self { egress, ingress, vpc_blocks }
    }

    /// Whether a rule's peer covers the addresses of `group`'s network interfaces: that group itself,
    /// or a block holding its whole VPC (a VPC's block when it is known, else only 0.0.0.0/0).
    fn covers(&self, peer: &Peer, group: &Res) -> bool {
        match peer {
            Peer::Group(other) => other == group,
            Peer::Cidr(cidr) => match (cidr.parse::<IpNet>(), self.vpc_blocks.get(group)) {
                (Ok(block), Some(vpc)) => block.contains(vpc),
                _ => cidr == ALL_OPEN,
            },
            Peer::PrefixList | Peer::ElasticIp(_) | Peer::Unknown => false,
        }
    }

    /// The egress rules of a group.
    pub fn egress(&self, group: &Res) -> &[Rule] {
        self.egress.get(group).map_or(&[], Vec::as_slice)
    }

    /// The ingress rules of a group.
    pub fn ingress(&self, group: &Res) -> &[Rule] {
        self.ingress.get(group).map_or(&[], Vec::as_slice)
    }

    /// Whether a task in `from` may open TCP `port` to a resource in `to`: egress on one side, ingress
    /// on the other.
    pub fn group_reaches_group(&self, from: &Res, to: &Res, port: i64) -> bool {
        let out = self.egress(from).iter().any(|rule| rule.admits_tcp(port) && self.covers(&rule.peer, to));
        let inbound = self.ingress(to).iter().any(|rule| rule.admits_tcp(port) && self.covers(&rule.peer, from));
        out && inbound
    }

    /// Whether any of `groups` may send TCP `port` to the internet.
    pub fn egress_anywhere(&self, groups: &[Res], port: i64) -> bool {
        groups.iter().any(|g| self.egress(g).iter().any(|rule| rule.admits_tcp(port) && rule.is_anywhere()))
    }

    /// Whether any of `groups` may send TCP `port` to a prefix list (or anywhere).
    pub fn egress_prefix_list(&self, groups: &[Res], port: i64) -> bool {
        groups.iter().any(|g| {
            self.egress(g)
                .iter()
                .any(|rule| rule.admits_tcp(port) && (rule.is_anywhere() || matches!(rule.peer, Peer::PrefixList)))
        })
    }
}

fn rule_of(model: &Model, stack: usize, rule: &Json, side: &str) -> Rule {
    let number = |key: &str| match model.resolve(stack, &rule[key]) {
        Resolved::Literal(text) => text.parse::<i64>().unwrap_or(-1),
        _ => -1,
    };
    let protocol = match model.resolve(stack, rule.field("IpProtocol")) {
        Resolved::Literal(text) => text.to_ascii_lowercase(),
        _ => "-1".into(),
    };
    let group_key = if side == "Source" { "SourceSecurityGroupId" } else { "DestinationSecurityGroupId" };
    let peer = if let Some(cidr) = rule.get("CidrIp").or_else(|| rule.get("CidrIpv6")) {
        match model.resolve(stack, cidr) {
            Resolved::Literal(text) => Peer::Cidr(text),
            _ => elastic_ip_block(model, stack, cidr).map_or(Peer::Unknown, Peer::ElasticIp),
        }
    } else if let Some(group) = rule.get(group_key) {
        model.resource_of(stack, group).map_or(Peer::Unknown, Peer::Group)
    } else if rule.get(format!("{side}PrefixListId")).is_some() {
        Peer::PrefixList
    } else {
        Peer::Unknown
    };
    Rule { protocol, from: number("FromPort"), to: number("ToPort"), peer }
}

/// The Elastic IP of a one-address block written `{"Fn::Sub": ["${Ip}/32", {"Ip": <EIP Ref>}]}`.
fn elastic_ip_block(model: &Model, stack: usize, cidr: &Json) -> Option<Res> {
    let [template, variables] = cidr.get("Fn::Sub")?.as_array()?.as_slice() else { return None };
    let variables = variables.as_object()?;
    let (name, value) = variables.iter().next().filter(|_| variables.len() == 1)?;
    if template.as_str()? != format!("${{{name}}}/32") {
        return None;
    }
    let eip = model.resource_of(stack, value)?;
    (model.type_of(&eip) == "AWS::EC2::EIP").then_some(eip)
}

/// How a task's subnets leave the VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Egress {
    /// Every subnet has a default route through a NAT gateway (or an internet gateway with a public IP).
    Internet,
    /// At least one subnet has no way out, named.
    None(String),
}

/// One VPC endpoint, as the rules ask about it.
#[derive(Debug, Clone)]
struct Endpoint {
    res: Res,
    gateway: bool,
    private_dns: bool,
    /// The `ServiceName` as JSON text: in every form (a literal, an `Fn::Sub`, an `Fn::Join`) its last
    /// piece of text is a JSON string ending in `.<service>"`.
    service_name: String,
    route_tables: Vec<Res>,
}

impl Endpoint {
    fn serves(&self, service: &str) -> bool {
        self.service_name.contains(&format!(".{service}\""))
    }
}

/// Routes and endpoints, indexed once so that each service's question is a lookup.
#[derive(Debug, Default)]
pub struct Routing {
    tables_of_subnet: BTreeMap<Res, Vec<Res>>,
    /// Route tables with a default route: (through a NAT gateway, through an internet gateway).
    default_routes: BTreeMap<Res, (bool, bool)>,
    endpoints_of_vpc: BTreeMap<Res, Vec<Endpoint>>,
}

impl Routing {
    /// Indexes the app's route table associations, default routes and endpoints.
    pub fn new(model: &Model) -> Self {
        let mut routing = Self::default();
        for association in model.of_type("AWS::EC2::SubnetRouteTableAssociation") {
            let props = model.props(&association);
            let subnet = model.resource_of(association.stack, props.field("SubnetId"));
            let table = model.resource_of(association.stack, props.field("RouteTableId"));
            if let (Some(subnet), Some(table)) = (subnet, table) {
                routing.tables_of_subnet.entry(subnet).or_default().push(table);
            }
        }
        for route in model.of_type("AWS::EC2::Route") {
            let props = model.props(&route);
            if props.field("DestinationCidrBlock") != ALL_OPEN {
                continue;
            }
            if let Some(table) = model.resource_of(route.stack, props.field("RouteTableId")) {
                let entry = routing.default_routes.entry(table).or_default();
                entry.0 |= props.get("NatGatewayId").is_some();
                entry.1 |= props.get("GatewayId").is_some();
            }
        }
        for endpoint in model.of_type("AWS::EC2::VPCEndpoint") {
            let props = model.props(&endpoint);
            let Some(vpc) = model.resource_of(endpoint.stack, props.field("VpcId")) else { continue };
            let route_tables = props
                .field("RouteTableIds")
                .as_array()
                .map(|ids| ids.iter().filter_map(|id| model.resource_of(endpoint.stack, id)).collect())
                .unwrap_or_default();
            routing.endpoints_of_vpc.entry(vpc).or_default().push(Endpoint {
                gateway: props.field("VpcEndpointType") == "Gateway",
                private_dns: props.field("PrivateDnsEnabled") == true,
                service_name: props.field("ServiceName").to_string(),
                route_tables,
                res: endpoint,
            });
        }
        routing
    }

    /// The subnets' VPC (the first the model can follow), their route tables, and how they leave it.
    pub fn subnet_paths(&self, model: &Model, subnets: &[Res], public_ip: bool) -> (Option<Res>, Vec<Res>, Egress) {
        let mut vpc = None;
        let mut tables = Vec::new();
        let mut egress = Egress::Internet;
        for subnet in subnets {
            vpc = vpc.or_else(|| model.resource_of(subnet.stack, model.props(subnet).field("VpcId")));
            let subnet_tables = self.tables_of_subnet.get(subnet).cloned().unwrap_or_default();
            let out = subnet_tables.iter().any(|table| {
                self.default_routes.get(table).is_some_and(|(nat, internet)| *nat || (public_ip && *internet))
            });
            if !out && egress == Egress::Internet {
                egress = Egress::None(format!("subnet {} has no route to a NAT gateway", model.name(subnet)));
            }
            tables.extend(subnet_tables);
        }
        (vpc, tables, egress)
    }

    /// The interface endpoint of `service` (`ecr.api`, `logs` ...) in `vpc`, with private DNS on.
    pub fn interface_endpoint(&self, vpc: &Res, service: &str) -> Option<Res> {
        self.endpoints_of_vpc
            .get(vpc)?
            .iter()
            .find(|e| !e.gateway && e.private_dns && e.serves(service))
            .map(|e| e.res.clone())
    }

    /// The S3 gateway endpoint of `vpc` that serves every one of `tables`.
    pub fn s3_gateway(&self, vpc: &Res, tables: &[Res]) -> Option<Res> {
        self.endpoints_of_vpc
            .get(vpc)?
            .iter()
            .find(|e| e.gateway && e.serves("s3") && tables.iter().all(|table| e.route_tables.contains(table)))
            .map(|e| e.res.clone())
    }
}

/// The security groups an endpoint or other resource lists under `key`.
pub fn groups_of(model: &Model, res: &Res, key: &str) -> Vec<Res> {
    model.props(res)[key]
        .as_array()
        .map(|ids| ids.iter().filter_map(|id| model.resource_of(res.stack, id)).collect())
        .unwrap_or_default()
}
