//! The edges of the picture: the traffic each security group admits (its ingress rules, standalone or
//! inline), and the references between stacks, both followed through the deploy-readiness model
//! ([`Model`]), which resolves `Ref`, `Fn::GetAtt`, `Fn::ImportValue` and `Fn::GetStackOutput` across
//! stacks and regions.

use crate::fast_hash::FastIndexMap;
use serde_json::Value;

use super::{Architecture, Edge, Node, NodeKind, Placement};
use crate::checks::readiness::Model;
use crate::template::Field;

/// The model of the app and where each of its resources is drawn.
pub(super) struct Edges<'a> {
    pub model: &'a Model<'a>,
    pub placement: &'a Placement,
}

impl Edges<'_> {
    /// The node of the resource a value of stack `stack` names.
    fn node_of(&self, stack: usize, value: &Value) -> Option<String> {
        let res = self.model.resource_of(stack, value)?;
        self.placement.get(res.stack)?.get(&res.id).cloned()
    }

    /// The traffic edges, adding a source node to the rule's stack for each prefix list or block.
    pub(super) fn admitted(&self, architecture: &mut Architecture, node_id: &mut dyn FnMut() -> String) -> Vec<Edge> {
        let mut edges: FastIndexMap<(String, String), Vec<String>> = FastIndexMap::default();
        for (index, stack) in self.model.stacks().iter().enumerate() {
            for (group, rule) in ingress_rules(&stack.template) {
                let Some(to) = self.node_of(index, &group) else { continue };
                let from = match rule.get("SourceSecurityGroupId") {
                    Some(source) => self.node_of(index, source),
                    None => source_title(rule).map(|title| source_node(architecture, &stack.name, title, node_id)),
                };
                let Some(from) = from else { continue };
                let labels = edges.entry((from, to)).or_default();
                let label = ports(rule);
                if !labels.contains(&label) {
                    labels.push(label);
                }
            }
        }
        edges.into_iter().map(|((from, to), labels)| Edge { from, to, label: labels.join(", ") }).collect()
    }

    /// The cross-stack reference edges, one per pair of nodes, labelled with how many resources of the
    /// one refer to resources of the other.
    pub(super) fn references(&self) -> Vec<Edge> {
        let mut counts: FastIndexMap<(String, String), usize> = FastIndexMap::default();
        for (index, stack) in self.model.stacks().iter().enumerate() {
            let Some(resources) = stack.template.field("Resources").as_object() else { continue };
            for (logical_id, resource) in resources {
                let Some(to) = self.placement[index].get(logical_id) else { continue };
                for res in self.model.cross_stack_references(index, resource) {
                    if let Some(from) = self.placement[res.stack].get(&res.id) {
                        *counts.entry((from.clone(), to.clone())).or_default() += 1;
                    }
                }
            }
        }
        counts
            .into_iter()
            .map(|((from, to), count)| Edge {
                from,
                to,
                label: if count == 1 { "1 reference".to_owned() } else { format!("{count} references") },
            })
            .collect()
    }
}

/// `tcp 443`, `tcp 1024-65535`, `all traffic`.
fn ports(rule: &Value) -> String {
    let protocol = match rule.field("IpProtocol") {
        Value::String(protocol) => protocol.clone(),
        Value::Number(number) => number.to_string(),
        _ => "?".to_owned(),
    };
    let protocol = match protocol.as_str() {
        "-1" => return "all traffic".to_owned(),
        "6" => "tcp".to_owned(),
        "17" => "udp".to_owned(),
        other => other.to_owned(),
    };
    match (rule.field("FromPort").as_i64(), rule.field("ToPort").as_i64()) {
        (Some(from), Some(to)) if from == to => format!("{protocol} {from}"),
        (Some(from), Some(to)) => format!("{protocol} {from}-{to}"),
        _ => protocol,
    }
}

/// What a rule admits traffic from when it is not a security group: a prefix list or an address block.
fn source_title(rule: &Value) -> Option<String> {
    if let Some(list) = rule.get("SourcePrefixListId") {
        let name = match list {
            Value::String(id) => id.clone(),
            other => other.field("Fn::FindInMap")[0].as_str().map_or_else(|| "deploy-time".to_owned(), str::to_owned),
        };
        return Some(format!("prefix list {name}"));
    }
    let block = rule.get("CidrIp").or_else(|| rule.get("CidrIpv6"))?;
    Some(format!("addresses {}", block.as_str().unwrap_or("deploy-time")))
}

/// The ingress rules of a template: (the group they admit into, the rule).
fn ingress_rules(template: &Value) -> Vec<(Value, &Value)> {
    let mut rules = Vec::new();
    let Some(resources) = template.field("Resources").as_object() else { return rules };
    for (logical_id, resource) in resources {
        match resource.field("Type").as_str() {
            Some("AWS::EC2::SecurityGroupIngress") => {
                rules.push((resource.field("Properties").field("GroupId").clone(), resource.field("Properties")));
            }
            Some("AWS::EC2::SecurityGroup") => {
                for rule in resource.field("Properties").field("SecurityGroupIngress").as_array().into_iter().flatten()
                {
                    rules.push((serde_json::json!({ "Ref": logical_id }), rule));
                }
            }
            _ => {}
        }
    }
    rules
}

/// The id of the source node titled `title` in `stack`, added on first use.
fn source_node(
    architecture: &mut Architecture,
    stack: &str,
    title: String,
    node_id: &mut dyn FnMut() -> String,
) -> String {
    let (region, index) = architecture.clusters[stack];
    let cluster = &mut architecture.regions[region].stacks[index];
    if let Some(node) = cluster.nodes.iter().find(|node| node.kind == NodeKind::Source && node.title == title) {
        return node.id.clone();
    }
    let id = node_id();
    cluster.nodes.push(Node { id: id.clone(), title, lines: vec![], kind: NodeKind::Source });
    id
}
