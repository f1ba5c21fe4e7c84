//! The network graph: security groups and their rules, subnets, route tables, NAT and internet
//! gateways, VPC endpoints and prefix lists, and the questions the rules ask of it ("may this group
//! reach that one on 5432?", "does this subnet route to the internet?").

use std::collections::BTreeMap;

use ipnet::IpNet;

use serde_json::Value as Json;

use super::model::{Model, Res, Resolved};

/// Where a security group rule lets traffic go (egress) or come from (ingress).
#[derive(Debug, Clone, PartialEq)]
pub enum Peer {
    /// An IPv4 or IPv6 block.
    Cidr(String),
    /// Another security group.
    Group(Res),
    /// A managed prefix list.
    PrefixList,
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
            let block = model.resource_of(group.stack, &props["VpcId"]).and_then(|vpc| {
                match model.resolve(vpc.stack, &model.props(&vpc)["CidrBlock"]) {
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
            let inline_ingress: Vec<Rule> = props["SecurityGroupIngress"]
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
                if let Some(group) = model.resource_of(rule.stack, &props["GroupId"]) {
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
            Peer::PrefixList | Peer::Unknown => false,
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
    let protocol = match model.resolve(stack, &rule["IpProtocol"]) {
        Resolved::Literal(text) => text.to_ascii_lowercase(),
        _ => "-1".into(),
    };
    let group_key = if side == "Source" { "SourceSecurityGroupId" } else { "DestinationSecurityGroupId" };
    let peer = if let Some(cidr) = rule.get("CidrIp").or_else(|| rule.get("CidrIpv6")) {
        match model.resolve(stack, cidr) {
            Resolved::Literal(text) => Peer::Cidr(text),
            _ => Peer::Unknown,
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

/// How a task's subnets leave the VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Egress {
    /// Every subnet has a default route through a NAT gateway (or an internet gateway with a public IP).
    Internet,
    /// At least one subnet has no way out, named.
    None(String),
}

/// The subnets' VPC (if they share one and the model can follow it), their route tables, and how they
/// leave the VPC.
pub fn subnet_paths(model: &Model, subnets: &[Res], public_ip: bool) -> (Option<Res>, Vec<Res>, Egress) {
    let mut vpc = None;
    let mut tables = Vec::new();
    let mut egress = Egress::Internet;
    let associations = model.of_type("AWS::EC2::SubnetRouteTableAssociation");
    let routes = model.of_type("AWS::EC2::Route");
    for subnet in subnets {
        vpc = vpc.or_else(|| model.resource_of(subnet.stack, &model.props(subnet)["VpcId"]));
        let subnet_tables: Vec<Res> = associations
            .iter()
            .filter(|a| model.resource_of(a.stack, &model.props(a)["SubnetId"]).as_ref() == Some(subnet))
            .filter_map(|a| model.resource_of(a.stack, &model.props(a)["RouteTableId"]))
            .collect();
        let out = subnet_tables.iter().any(|table| {
            routes.iter().any(|route| {
                let props = model.props(route);
                model.resource_of(route.stack, &props["RouteTableId"]).as_ref() == Some(table)
                    && props["DestinationCidrBlock"] == ALL_OPEN
                    && (props.get("NatGatewayId").is_some() || (public_ip && props.get("GatewayId").is_some()))
            })
        });
        if !out && egress == Egress::Internet {
            egress = Egress::None(format!("subnet {} has no route to a NAT gateway", model.name(subnet)));
        }
        tables.extend(subnet_tables);
    }
    (vpc, tables, egress)
}

/// The interface endpoint of `service` (`ecr.api`, `logs` ...) in `vpc`, with private DNS on.
pub fn interface_endpoint(model: &Model, vpc: &Res, service: &str) -> Option<Res> {
    model.of_type("AWS::EC2::VPCEndpoint").into_iter().find(|endpoint| {
        let props = model.props(endpoint);
        model.resource_of(endpoint.stack, &props["VpcId"]).as_ref() == Some(vpc)
            && props["VpcEndpointType"] == "Interface"
            && props["PrivateDnsEnabled"] == true
            && service_name_ends(&props["ServiceName"], service)
    })
}

/// The S3 gateway endpoint of `vpc` that serves every one of `tables`.
pub fn s3_gateway(model: &Model, vpc: &Res, tables: &[Res]) -> Option<Res> {
    model.of_type("AWS::EC2::VPCEndpoint").into_iter().find(|endpoint| {
        let props = model.props(endpoint);
        let served: Vec<Res> = props["RouteTableIds"]
            .as_array()
            .map(|ids| ids.iter().filter_map(|id| model.resource_of(endpoint.stack, id)).collect())
            .unwrap_or_default();
        model.resource_of(endpoint.stack, &props["VpcId"]).as_ref() == Some(vpc)
            && props["VpcEndpointType"] == "Gateway"
            && service_name_ends(&props["ServiceName"], "s3")
            && tables.iter().all(|table| served.contains(table))
    })
}

fn service_name_ends(name: &Json, service: &str) -> bool {
    let text = name.to_string();
    text.trim_end_matches(['"', '}', ']']).ends_with(&format!(".{service}")) || text.contains(&format!(".{service}\""))
}

/// The security groups an endpoint or other resource lists under `key`.
pub fn groups_of(model: &Model, res: &Res, key: &str) -> Vec<Res> {
    model.props(res)[key]
        .as_array()
        .map(|ids| ids.iter().filter_map(|id| model.resource_of(res.stack, id)).collect())
        .unwrap_or_default()
}
