use indexmap::IndexMap;
use serde_json::{json, Value};

use super::*;

fn stack(name: &str, region: &str, template: Value) -> SynthesizedStack {
    SynthesizedStack {
        name: name.into(),
        region: region.into(),
        tags: IndexMap::from([("region-role".to_owned(), "primary".to_owned())]),
        parameters: IndexMap::new(),
        template,
        depends_on: vec![],
    }
}

/// A network stack with two groups (the database's admitting the service's on 5432, the service's
/// admitting a prefix list on 443), and a data stack whose database imports the first group.
fn two_stacks() -> Vec<SynthesizedStack> {
    let network = json!({
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC"},
            "SubnetA": {"Type": "AWS::EC2::Subnet"},
            "SubnetB": {"Type": "AWS::EC2::Subnet"},
            "ServiceGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                 "SourcePrefixListId": {"Fn::FindInMap": ["CloudFrontOriginFacing", {"Ref": "AWS::Region"}, "Id"]}}
            ]}},
            "DatabaseGroup": {"Type": "AWS::EC2::SecurityGroup"},
            "DatabaseFromService": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
                "GroupId": {"Fn::GetAtt": ["DatabaseGroup", "GroupId"]}, "IpProtocol": "tcp", "FromPort": 5432,
                "ToPort": 5432, "SourceSecurityGroupId": {"Ref": "ServiceGroup"}}},
            "Role": {"Type": "AWS::IAM::Role"}
        },
        "Outputs": {"DatabaseGroupId": {"Value": {"Ref": "DatabaseGroup"}, "Export": {"Name": "Net:DatabaseGroup"}}}
    });
    let data = json!({"Resources": {
        "Database": {"Type": "AWS::RDS::DBInstance", "Properties": {"VPCSecurityGroups": [{"Fn::ImportValue": "Net:DatabaseGroup"}]}},
        "Key": {"Type": "AWS::KMS::Key"}
    }});
    vec![
        stack("Net", "us-east-1", network),
        stack("Data", "us-east-1", data),
        stack("Dr", "eu-west-1", json!({"Resources": {}})),
    ]
}

#[test]
fn stacks_cluster_by_region_and_resources_by_tier() {
    let architecture = Architecture::of(&two_stacks());
    let regions: Vec<(&str, usize)> = architecture.regions.iter().map(|r| (r.name.as_str(), r.stacks.len())).collect();
    assert_eq!(regions, [("us-east-1", 2), ("eu-west-1", 1)]);
    assert_eq!(Architecture::region_title(&architecture.regions[0]), "us-east-1 (primary)");
    let network = &architecture.regions[0].stacks[0];
    let titles: Vec<&str> = network.nodes.iter().map(|node| node.title.as_str()).collect();
    assert_eq!(titles, ["Network", "Identity", "ServiceGroup", "DatabaseGroup", "prefix list CloudFrontOriginFacing"]);
    assert_eq!(network.nodes[0].lines, ["2 EC2::Subnet", "1 EC2::VPC"]);
}

#[test]
fn admitted_traffic_and_references_are_edges_between_the_right_nodes() {
    let architecture = Architecture::of(&two_stacks());
    let id = |title: &str| architecture.nodes().find(|(_, node)| node.title == title).unwrap().1.id.clone();
    let traffic: Vec<(String, String, &str)> =
        architecture.traffic.iter().map(|e| (e.from.clone(), e.to.clone(), e.label.as_str())).collect();
    assert_eq!(
        traffic,
        [
            (id("prefix list CloudFrontOriginFacing"), id("ServiceGroup"), "tcp 443"),
            (id("ServiceGroup"), id("DatabaseGroup"), "tcp 5432"),
        ]
    );
    assert_eq!(
        architecture.references,
        [Edge { from: id("DatabaseGroup"), to: id("Data"), label: "1 reference".into() }]
    );
}

#[test]
fn every_rendering_names_every_node_and_edge() {
    let architecture = Architecture::of(&two_stacks());
    let dot = dot::render(&architecture);
    let mermaid = mermaid::render(&architecture);
    let svg = svg::render(&architecture);
    for (_, node) in architecture.nodes() {
        assert!(dot.contains(&format!("{} [label=", node.id)), "{dot}");
        assert!(mermaid.contains(&format!("{}[\"", node.id)), "{mermaid}");
        assert!(svg.contains(&format!("<g id=\"{}\">", node.id)));
    }
    assert!(dot.contains("subgraph cluster_region_0") && dot.contains("subgraph cluster_stack_0_1"));
    assert!(dot.contains("[label=\"tcp 5432\", color="));
    assert!(dot.contains("style=dashed"));
    assert!(mermaid.contains("-->|\"tcp 5432\"|") && mermaid.contains("-.->|\"1 reference\"|"));
    assert_eq!(svg.matches(" Q").count(), 3, "two traffic edges and a reference");
    let (width, height) = svg::size(&architecture);
    assert!(
        svg.starts_with(&format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\""))
    );
}

#[test]
fn a_resource_type_falls_in_the_tier_of_its_service() {
    assert_eq!(Tier::of("AWS::EC2::VPC"), Tier::Network);
    assert_eq!(Tier::of("AWS::CloudFront::Distribution"), Tier::Edge);
    assert_eq!(Tier::of("AWS::ECS::Service"), Tier::Compute);
    assert_eq!(Tier::of("AWS::IAM::Role"), Tier::Identity);
    assert_eq!(Tier::of("AWS::Logs::LogGroup"), Tier::Operations);
    assert_eq!(Tier::of("AWS::EC2"), Tier::Network);
    assert_eq!(Tier::of("Custom::DatabaseUsers"), Tier::Other);
    assert_eq!(Tier::of("AWS::CloudFrontX::Thing"), Tier::Other);
    assert_eq!(Tier::of("EC2"), Tier::Other);
    assert_eq!(Tier::of(""), Tier::Other);
}
