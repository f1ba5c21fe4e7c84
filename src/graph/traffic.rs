//! The edges of the picture: the traffic each security group admits (its ingress rules, standalone or
//! inline), and the references between stacks (`Fn::ImportValue`, `Fn::GetStackOutput`).

use indexmap::IndexMap;
use serde_json::Value;

use super::{local_target, Architecture, Edge, Node, NodeKind, Placement};
use crate::construct::SynthesizedStack;

/// What other stacks can name: export name, or `stack/output` for a cross-region output, → the
/// exporting stack and the logical ID its value refers to.
pub(super) type Exports = IndexMap<String, (String, String)>;

pub(super) fn exports(stacks: &[SynthesizedStack]) -> Exports {
    let mut exports = IndexMap::new();
    for stack in stacks {
        let Some(outputs) = stack.template["Outputs"].as_object() else { continue };
        for (name, output) in outputs {
            let Some(target) = local_target(&output["Value"]) else { continue };
            let entry = (stack.name.clone(), target.to_owned());
            if let Some(export) = output["Export"]["Name"].as_str() {
                exports.insert(export.to_owned(), entry.clone());
            }
            exports.insert(format!("{}/{name}", stack.name), entry);
        }
    }
    exports
}

/// The node a value refers to, seen from `stack`.
fn resolve(stack: &str, value: &Value, exports: &Exports, placement: &Placement) -> Option<String> {
    if let Some(target) = local_target(value) {
        return placement.get(stack)?.get(target).cloned();
    }
    let (owner, target) = match (value.get("Fn::ImportValue"), value.get("Fn::GetStackOutput")) {
        (Some(Value::String(name)), _) => exports.get(name)?,
        (_, Some(output)) => {
            let key = format!("{}/{}", output["StackName"].as_str()?, output["OutputName"].as_str()?);
            exports.get(&key)?
        }
        _ => return None,
    };
    placement.get(owner)?.get(target).cloned()
}

/// `tcp 443`, `tcp 1024-65535`, `all traffic`.
fn ports(rule: &Value) -> String {
    let protocol = match &rule["IpProtocol"] {
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
    match (rule["FromPort"].as_i64(), rule["ToPort"].as_i64()) {
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
            other => other["Fn::FindInMap"][0].as_str().map_or_else(|| "deploy-time".to_owned(), str::to_owned),
        };
        return Some(format!("prefix list {name}"));
    }
    let block = rule.get("CidrIp").or_else(|| rule.get("CidrIpv6"))?;
    Some(format!("addresses {}", block.as_str().unwrap_or("deploy-time")))
}

/// The ingress rules of a stack: (the group they admit into, the rule).
fn ingress_rules(stack: &SynthesizedStack) -> Vec<(Value, &Value)> {
    let mut rules = Vec::new();
    let Some(resources) = stack.template["Resources"].as_object() else { return rules };
    for (logical_id, resource) in resources {
        match resource["Type"].as_str() {
            Some("AWS::EC2::SecurityGroupIngress") => {
                rules.push((resource["Properties"]["GroupId"].clone(), &resource["Properties"]));
            }
            Some("AWS::EC2::SecurityGroup") => {
                for rule in resource["Properties"]["SecurityGroupIngress"].as_array().into_iter().flatten() {
                    rules.push((serde_json::json!({ "Ref": logical_id }), rule));
                }
            }
            _ => {}
        }
    }
    rules
}

/// The traffic edges, adding a source node to the rule's stack for each prefix list or block.
pub(super) fn admitted(
    stacks: &[SynthesizedStack],
    exports: &Exports,
    placement: &Placement,
    architecture: &mut Architecture,
    node_id: &mut dyn FnMut() -> String,
) -> Vec<Edge> {
    let mut edges: IndexMap<(String, String), Vec<String>> = IndexMap::new();
    for stack in stacks {
        for (group, rule) in ingress_rules(stack) {
            let Some(to) = resolve(&stack.name, &group, exports, placement) else { continue };
            let from = match rule.get("SourceSecurityGroupId") {
                Some(source) => resolve(&stack.name, source, exports, placement),
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

/// The id of the source node titled `title` in `stack`, added on first use.
fn source_node(
    architecture: &mut Architecture,
    stack: &str,
    title: String,
    node_id: &mut dyn FnMut() -> String,
) -> String {
    let cluster = architecture
        .regions
        .iter_mut()
        .flat_map(|region| region.stacks.iter_mut())
        .find(|cluster| cluster.name == stack)
        .expect("every stack has a cluster");
    if let Some(node) = cluster.nodes.iter().find(|node| node.kind == NodeKind::Source && node.title == title) {
        return node.id.clone();
    }
    let id = node_id();
    cluster.nodes.push(Node { id: id.clone(), title, lines: vec![], kind: NodeKind::Source });
    id
}

/// The cross-stack reference edges, one per pair of nodes, labelled with their count.
pub(super) fn references(stacks: &[SynthesizedStack], exports: &Exports, placement: &Placement) -> Vec<Edge> {
    fn walk<'a>(value: &'a Value, found: &mut Vec<&'a Value>) {
        match value {
            Value::Object(map) if map.contains_key("Fn::ImportValue") || map.contains_key("Fn::GetStackOutput") => {
                found.push(value);
            }
            Value::Object(map) => map.values().for_each(|value| walk(value, found)),
            Value::Array(items) => items.iter().for_each(|value| walk(value, found)),
            _ => {}
        }
    }
    let mut counts: IndexMap<(String, String), usize> = IndexMap::new();
    for stack in stacks {
        let Some(resources) = stack.template["Resources"].as_object() else { continue };
        for (logical_id, resource) in resources {
            let Some(to) = placement.get(&stack.name).and_then(|nodes| nodes.get(logical_id)) else { continue };
            let mut found = Vec::new();
            walk(resource, &mut found);
            for reference in found {
                if let Some(from) = resolve(&stack.name, reference, exports, placement) {
                    if &from != to {
                        *counts.entry((from, to.clone())).or_default() += 1;
                    }
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
