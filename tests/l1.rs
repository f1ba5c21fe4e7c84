//! The generated L1 layer: coverage, metadata taken from the schemas, and typed use.

use cfn_synth::cfn::prelude::*;
use cfn_synth::cfn::{self, ec2, elasticache, resource_spec, resource_specs};
use cfn_synth::construct::App;
use cfn_synth::template::{CfnResource, Resource, Value};
use serde_json::json;

#[test]
fn at_least_sixty_types_are_generated_and_listed_in_order() {
    assert!(resource_specs().len() >= 60, "{} types", resource_specs().len());
    assert!(resource_specs().windows(2).all(|pair| pair[0].type_name < pair[1].type_name));
    for spec in resource_specs() {
        assert_eq!(resource_spec(spec.type_name), Some(spec));
    }
    assert_eq!(resource_spec("AWS::Nothing::Here"), None);
}

/// Replacement metadata and attributes are read from each type's registry schema, not kept by hand.
#[test]
fn metadata_and_attributes_come_from_each_schema() {
    for spec in resource_specs() {
        let schema: serde_json::Value = serde_json::from_str(spec.schema).unwrap();
        assert_eq!(schema["typeName"], spec.type_name);
        let list = |key: &str| -> Vec<String> {
            schema[key]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default()
        };
        assert_eq!(spec.create_only_properties, list("createOnlyProperties"), "{}", spec.type_name);
        assert_eq!(spec.primary_identifier, list("primaryIdentifier"), "{}", spec.type_name);
        let read_only = list("readOnlyProperties");
        for attribute in spec.attributes {
            let pointer = format!("/properties/{}", attribute.replace('.', "/"));
            assert!(read_only.contains(&pointer), "{}: {attribute} is not read-only in the schema", spec.type_name);
        }
    }
    let vpc = resource_spec("AWS::EC2::VPC").unwrap();
    assert!(vpc.replaces_on_change("CidrBlock"));
    assert!(!vpc.replaces_on_change("Tags"));
    assert!(<ec2::Vpc as CfnResource>::SPEC.attributes.contains(&"VpcId"));
}

#[test]
fn typed_structs_serialize_under_schema_names_with_typed_attributes() {
    let mut app = App::new("l1");
    let stack = app.add_stack("L1", "us-east-1").unwrap();
    let mut root = stack.root();
    let eip = root.add("Eip", ec2::Eip::new().domain("vpc")).unwrap();
    let group = elasticache::ReplicationGroup::new("cache")
        .automatic_failover_enabled(true)
        .num_node_groups(1)
        .cache_subnet_group_name(eip.attr_allocation_id());
    root.add_with("Cache", group, |entry| entry.removal_policy(cfn_synth::template::RemovalPolicy::Snapshot)).unwrap();
    let synthesized = app.synth().unwrap();
    let resources = &synthesized.stacks[0].template["Resources"];
    assert_eq!(
        resources["Eip"],
        json!({"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}, "Metadata": {"cfn-synth:path": "L1/Eip"}})
    );
    let cache = &resources["Cache"];
    assert_eq!(cache["Type"], "AWS::ElastiCache::ReplicationGroup");
    assert_eq!(cache["DeletionPolicy"], "Snapshot");
    assert_eq!(cache["Properties"]["ReplicationGroupDescription"], "cache");
    assert_eq!(cache["Properties"]["CacheSubnetGroupName"], json!({"Fn::GetAtt": ["Eip", "AllocationId"]}));
    assert_eq!(cache["Properties"]["NumNodeGroups"], 1);
}

#[test]
fn enums_are_typed_and_forward_compatible() {
    use cfn::ec2::flow_log::FlowLogTrafficType;
    let known = ec2::FlowLog::new("vpc-1", cfn::ec2::flow_log::FlowLogResourceType::Vpc)
        .traffic_type(FlowLogTrafficType::Reject);
    let future = known.clone().traffic_type(FlowLogTrafficType::Unknown("SAMPLED".into()));
    assert_eq!(serde_json::to_value(&known).unwrap()["TrafficType"], "REJECT");
    assert_eq!(serde_json::to_value(&known).unwrap()["ResourceType"], "VPC");
    assert_eq!(serde_json::to_value(&future).unwrap()["TrafficType"], "SAMPLED");
    assert!(FlowLogTrafficType::VALUES.contains(&"ALL"));
}

#[test]
fn list_properties_take_items_or_an_intrinsic() {
    let listed = ec2::SecurityGroup::new("web").security_group_ingress(vec![ec2::security_group::Ingress::new("tcp")
        .from_port(443)
        .to_port(443)
        .description("https")]);
    assert_eq!(serde_json::to_value(&listed).unwrap()["SecurityGroupIngress"][0]["IpProtocol"], "tcp");
    let chosen = ec2::SecurityGroup::new("web").security_group_ingress(Value::if_condition(
        "Open",
        Value::no_value(),
        Value::no_value(),
    ));
    assert!(serde_json::to_value(&chosen).unwrap()["SecurityGroupIngress"]["Fn::If"].is_array());
    let raw = Resource::of(&listed);
    assert_eq!(raw.resource_type(), "AWS::EC2::SecurityGroup");
}
