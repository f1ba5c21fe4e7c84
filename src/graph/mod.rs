//! `graph`: the synthesized architecture as a picture. Regions side by side, each stack a cluster, its
//! resources grouped by tier (one node per tier, one per security group), the traffic security groups
//! admit as labelled edges, and cross-stack references as dashed edges.
//!
//! The model ([`Architecture`]) is read from the synthesized templates alone, so it shows what would be
//! deployed, not what the platform meant to build. It renders as Graphviz DOT ([`dot`]), Mermaid
//! ([`mermaid`]) and SVG ([`svg`], laid out here: no Graphviz needed).

pub mod dot;
pub mod mermaid;
pub mod svg;
mod traffic;

use indexmap::IndexMap;

use crate::fast_hash::FastIndexMap;

use crate::checks::readiness::{Model, StackTemplate};
use crate::construct::SynthesizedStack;
use crate::template::Field;

/// The architecture of an app, ready to draw.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Architecture {
    /// The regions, in the order their first stack deploys.
    pub regions: Vec<Region>,
    /// Traffic a security group admits: from its source to the group, labelled with the ports.
    pub traffic: Vec<Edge>,
    /// Cross-stack references: from the node that exports a value to the node that reads it,
    /// labelled with how many references the pair has.
    pub references: Vec<Edge>,
    /// Where each stack's cluster is: region index, index in the region.
    clusters: IndexMap<String, (usize, usize)>,
}

/// One region's stacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// `us-east-1`.
    pub name: String,
    /// Its role, from the stacks' `region-role` tag, when they carry one.
    pub role: Option<String>,
    /// Its stacks, in deploy order.
    pub stacks: Vec<StackCluster>,
}

/// One stack and its nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackCluster {
    /// The stack name.
    pub name: String,
    /// Its nodes: tiers in a fixed order, then security groups, then traffic sources.
    pub nodes: Vec<Node>,
}

/// A box in the picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// A unique identifier, safe in DOT and Mermaid (`n12`).
    pub id: String,
    /// The title (`Data`, a security group's logical ID, `CloudFront origin-facing`).
    pub title: String,
    /// Lines under the title: resource counts by type.
    pub lines: Vec<String>,
    /// What it is.
    pub kind: NodeKind,
}

/// What a node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// The resources of one tier of a stack.
    Tier(Tier),
    /// One security group.
    SecurityGroup,
    /// Where admitted traffic comes from outside the app: a prefix list or an address block.
    Source,
}

/// The tiers resources are grouped by, in drawing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// CloudFront, WAF, load balancers, DNS, certificates.
    Edge,
    /// VPC, subnets, routes, gateways, endpoints.
    Network,
    /// ECS, Lambda, ECR, autoscaling.
    Compute,
    /// Databases, caches, queues, buckets, secrets, keys.
    Data,
    /// The release pipeline.
    Delivery,
    /// Alarms, logs, topics, events, parameters.
    Operations,
    /// Roles and policies.
    Identity,
    /// Anything else.
    Other,
}

impl Tier {
    /// The tier of a resource type.
    pub fn of(resource_type: &str) -> Tier {
        // The second part of the name: `AWS::EC2::VPC` → `EC2`. A type name has no single colon, so
        // splitting at each colon finds it as the third piece, without a substring search per call.
        let service = resource_type.split(':').nth(2).unwrap_or_default();
        match service {
            "CloudFront" | "WAFv2" | "ElasticLoadBalancingV2" | "Route53" | "CertificateManager" => Tier::Edge,
            "EC2" => Tier::Network,
            "ECS" | "Lambda" | "ECR" | "ApplicationAutoScaling" | "ServiceDiscovery" => Tier::Compute,
            "RDS" | "ElastiCache" | "S3" | "SQS" | "SecretsManager" | "KMS" | "DynamoDB" => Tier::Data,
            "CodePipeline" | "CodeBuild" | "CodeStarConnections" | "CodeDeploy" => Tier::Delivery,
            "CloudWatch" | "Logs" | "SNS" | "Events" | "SSM" => Tier::Operations,
            "IAM" => Tier::Identity,
            _ => Tier::Other,
        }
    }

    /// Its title.
    pub fn title(self) -> &'static str {
        match self {
            Tier::Edge => "Edge",
            Tier::Network => "Network",
            Tier::Compute => "Compute",
            Tier::Data => "Data",
            Tier::Delivery => "Delivery",
            Tier::Operations => "Operations",
            Tier::Identity => "Identity",
            Tier::Other => "Other",
        }
    }
}

/// An edge between two nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The source node's id.
    pub from: String,
    /// The target node's id.
    pub to: String,
    /// Its label.
    pub label: String,
}

/// The most resource-type lines a tier node lists before it sums up the rest.
const MAX_LINES: usize = 4;

/// Resource types drawn as edges, not counted in a tier.
const RULE_TYPES: &[&str] = &["AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"];

/// Where each resource is drawn: stack (by deploy position) → logical ID → node id.
type Placement = Vec<FastIndexMap<String, String>>;

impl Architecture {
    /// The architecture of synthesized stacks (in deploy order).
    pub fn of(stacks: &[SynthesizedStack]) -> Self {
        let mut architecture = Architecture::default();
        let mut placement: Placement = Vec::with_capacity(stacks.len());
        let mut next = 0usize;
        let mut node_id = || {
            next += 1;
            format!("n{next}")
        };
        for stack in stacks {
            let empty = serde_json::Map::new();
            let resources = stack.template.field("Resources").as_object().unwrap_or(&empty);
            let mut tiers: FastIndexMap<Tier, FastIndexMap<String, usize>> = FastIndexMap::default();
            let mut groups = Vec::new();
            let mut where_drawn = FastIndexMap::default();
            for (logical_id, resource) in resources {
                let resource_type = resource.field("Type").as_str().unwrap_or_default();
                if resource_type == "AWS::EC2::SecurityGroup" {
                    groups.push(logical_id.clone());
                } else if !RULE_TYPES.contains(&resource_type) {
                    let short = resource_type.strip_prefix("AWS::").unwrap_or(resource_type).to_owned();
                    *tiers.entry(Tier::of(resource_type)).or_default().entry(short).or_default() += 1;
                }
            }
            tiers.sort_keys();
            let mut nodes = Vec::new();
            let mut tier_nodes = FastIndexMap::default();
            for (tier, counts) in tiers {
                let id = node_id();
                tier_nodes.insert(tier, id.clone());
                nodes.push(Node {
                    id,
                    title: tier.title().to_owned(),
                    lines: count_lines(counts),
                    kind: NodeKind::Tier(tier),
                });
            }
            for logical_id in groups {
                let id = node_id();
                where_drawn.insert(logical_id.clone(), id.clone());
                nodes.push(Node { id, title: logical_id, lines: vec![], kind: NodeKind::SecurityGroup });
            }
            for (logical_id, resource) in resources {
                if !where_drawn.contains_key(logical_id) {
                    let tier = Tier::of(resource.field("Type").as_str().unwrap_or_default());
                    if let Some(id) = tier_nodes.get(&tier) {
                        where_drawn.insert(logical_id.clone(), id.clone());
                    }
                }
            }
            placement.push(where_drawn);
            let cluster = StackCluster { name: stack.name.clone(), nodes };
            let region = match architecture.regions.iter().position(|region| region.name == stack.region) {
                Some(region) => region,
                None => {
                    architecture.regions.push(Region {
                        name: stack.region.clone(),
                        role: stack.tags.get("region-role").cloned(),
                        stacks: Vec::new(),
                    });
                    architecture.regions.len() - 1
                }
            };
            let stacks = &mut architecture.regions[region].stacks;
            architecture.clusters.insert(stack.name.clone(), (region, stacks.len()));
            stacks.push(cluster);
        }
        // References are followed across stacks and regions as `validate` follows them.
        let model = Model::new(
            stacks
                .iter()
                .map(|stack| StackTemplate {
                    name: stack.name.clone(),
                    region: stack.region.clone(),
                    template: std::borrow::Cow::Borrowed(&stack.template),
                    depends_on: stack.depends_on.clone(),
                })
                .collect(),
        );
        let edges = traffic::Edges { model: &model, placement: &placement };
        architecture.traffic = edges.admitted(&mut architecture, &mut node_id);
        architecture.references = edges.references();
        architecture
    }

    /// Every node, with its stack.
    pub fn nodes(&self) -> impl Iterator<Item = (&StackCluster, &Node)> {
        self.regions
            .iter()
            .flat_map(|region| region.stacks.iter())
            .flat_map(|stack| stack.nodes.iter().map(move |node| (stack, node)))
    }

    /// A region's heading: `us-east-1 (primary)`.
    pub fn region_title(region: &Region) -> String {
        match &region.role {
            Some(role) => format!("{} ({role})", region.name),
            None => region.name.clone(),
        }
    }
}

/// `3 EC2::Subnet`, most numerous first (ties by name), the rest summed up.
fn count_lines(counts: FastIndexMap<String, usize>) -> Vec<String> {
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut lines: Vec<String> = counts.iter().take(MAX_LINES).map(|(name, count)| format!("{count} {name}")).collect();
    if counts.len() > MAX_LINES {
        let rest: usize = counts[MAX_LINES..].iter().map(|(_, count)| count).sum();
        lines.push(format!("{rest} more of {} types", counts.len() - MAX_LINES));
    }
    lines
}

#[cfg(test)]
mod tests;
