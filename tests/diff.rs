//! `diff` through the library: every stateful type's create-only properties replace, a renamed
//! construct is a removal plus an addition, and a removed export that a stack imports is called out.

use serde_json::{json, Value};

use cfn_synth::assembly::Assembly;
use cfn_synth::cfn::resource_spec;
use cfn_synth::construct::App;
use cfn_synth::diff::{self, Change, Classification, Output, OutputStack};
use cfn_synth::prelude::*;
use cfn_synth::template::{TemplateFormat, STATEFUL_RESOURCE_TYPES};

/// An output of one stack holding one resource.
fn output_with(resource: Value) -> Output {
    let mut output = Output::default();
    let template = json!({"Resources": {"Store": resource}});
    output.stacks.insert(
        "Stack".into(),
        OutputStack { region: "us-east-1".into(), file: "Stack.template.json".into(), template },
    );
    output
}

/// A value at a create-only pointer (`/properties/A/B`), as nested objects.
fn properties_at(pointer: &str, value: Value) -> Value {
    let segments: Vec<&str> = pointer.trim_start_matches("/properties/").split('/').filter(|s| *s != "*").collect();
    segments.iter().rev().fold(value, |inner, segment| json!({ *segment: inner }))
}

#[test]
fn every_create_only_property_of_every_stateful_type_is_a_replacement() {
    let mut covered = Vec::new();
    let stateful_types =
        STATEFUL_RESOURCE_TYPES.iter().chain(&["AWS::ECR::Repository", "AWS::ElastiCache::GlobalReplicationGroup"]);
    for type_name in stateful_types {
        let Some(spec) = resource_spec(type_name) else { continue };
        for pointer in spec.create_only_properties {
            let old = output_with(json!({"Type": type_name, "Properties": properties_at(pointer, json!("old"))}));
            let new = output_with(json!({"Type": type_name, "Properties": properties_at(pointer, json!("new"))}));
            let report = diff::compare(&old, &new);
            let resource = &report.stacks[0].resources[0];
            assert_eq!(resource.classification, Some(Classification::Replacement), "{type_name} {pointer}");
            assert!(resource.stateful, "{type_name}");
            assert_eq!(report.data_at_risk(), ["Stack/Store"], "{type_name} {pointer}");
            covered.push(format!("{type_name} {pointer}"));
        }
    }
    // The stateful types the platform builds, each with at least one create-only property covered.
    for type_name in [
        "AWS::RDS::DBInstance",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::S3::Bucket",
        "AWS::SQS::Queue",
        "AWS::SecretsManager::Secret",
        "AWS::Logs::LogGroup",
        "AWS::ECR::Repository",
    ] {
        assert!(covered.iter().any(|case| case.starts_with(&format!("{type_name} "))), "{type_name} not covered");
    }
    let types: std::collections::BTreeSet<&str> = covered.iter().map(|case| case.split(' ').next().unwrap()).collect();
    // AWS::KMS::Key and the global datastore have no create-only property: their removal is what puts
    // data at risk (a_key_that_is_removed_is_at_risk_and_an_updated_one_is_not).
    assert!(types.len() >= 7 && covered.len() >= 36, "{} cases of {types:?}", covered.len());
}

#[test]
fn a_key_that_is_removed_is_at_risk_and_an_updated_one_is_not() {
    // AWS::KMS::Key has no create-only property: an update is in place, a removal loses the key.
    let key = json!({"Type": "AWS::KMS::Key", "DeletionPolicy": "Retain", "Properties": {"Description": "a"}});
    let mut changed = key.clone();
    changed["Properties"]["Description"] = json!("b");
    let report = diff::compare(&output_with(key.clone()), &output_with(changed));
    assert_eq!(report.stacks[0].resources[0].classification, Some(Classification::NoInterrupt));
    assert!(report.data_at_risk().is_empty());
    let report = diff::compare(&output_with(key), &Output::default());
    assert_eq!(report.stacks[0].change, Change::Removed);
    assert_eq!(report.data_at_risk(), ["Stack/Store"]);
}

/// The service example's data stack, with the database under `database_id`.
fn app_with_database(database_id: &str) -> Output {
    let mut app = App::new("orders");
    let network = app.add_stack("Orders-Network", "us-east-1").unwrap();
    let vpc = Vpc::new(&mut network.root(), "Vpc", VpcProps::default()).unwrap();
    let data = app.add_stack("Orders-Data", "us-east-1").unwrap();
    let mut data = data.root();
    let key = EncryptionKey::new(&mut data, "Key", KeyProps::default()).unwrap();
    PostgresDatabase::new(&mut data, database_id, &vpc, &key, PostgresProps::default()).unwrap();
    let synthesized = app.synth().unwrap();
    let assembly = Assembly::new(&synthesized, TemplateFormat::Json).unwrap();
    Output::of_assembly(synthesized, &assembly)
}

#[test]
fn renaming_the_database_construct_removes_one_database_and_adds_another() {
    let report = diff::compare(&app_with_database("Database"), &app_with_database("Orders"));
    let data = report.stacks.iter().find(|stack| stack.name == "Orders-Data").unwrap();
    let database = |change: Change| {
        data.resources
            .iter()
            .find(|resource| resource.resource_type == "AWS::RDS::DBInstance" && resource.change == change)
            .unwrap()
    };
    let removed = database(Change::Removed);
    assert_eq!(removed.logical_id, "Database");
    assert_eq!(removed.old_path.as_deref(), Some("Orders-Data/Database/Resource"));
    let added = database(Change::Added);
    assert_eq!(added.logical_id, "Orders");
    assert_eq!(added.new_path.as_deref(), Some("Orders-Data/Orders/Resource"));
    assert!(removed.stateful && added.stateful);
    assert!(report.data_at_risk().contains(&"Orders-Data/Database".to_owned()), "{:?}", report.data_at_risk());
    assert!(!report.data_at_risk().contains(&"Orders-Data/Orders".to_owned()));
    // The same app twice: nothing.
    assert!(diff::compare(&app_with_database("Database"), &app_with_database("Database")).is_empty());
}

#[test]
fn a_removed_export_that_a_stack_imports_is_blocked() {
    let exporting = json!({
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}, "Export": {"Name": "A:TopicArn"}}}
    });
    let importing = json!({"Resources": {"Sub": {"Type": "AWS::SNS::Subscription",
        "Properties": {"TopicArn": {"Fn::ImportValue": "A:TopicArn"}, "Protocol": "email", "Endpoint": "a@b.c"}}}});
    let output = |exporter: Value| {
        let mut output = Output::default();
        for (name, template) in [("A", exporter), ("B", importing.clone())] {
            let file = format!("{name}.template.json");
            output.stacks.insert(name.into(), OutputStack { region: "us-east-1".into(), file, template });
        }
        output
    };
    let mut without = exporting.clone();
    without.as_object_mut().unwrap().remove("Outputs");
    let report = diff::compare(&output(exporting.clone()), &output(without.clone()));
    assert_eq!(report.blocked_exports.len(), 1);
    let blocked = &report.blocked_exports[0];
    assert_eq!((blocked.export.as_str(), blocked.stack.as_str(), blocked.change), ("A:TopicArn", "A", Change::Removed));
    assert_eq!(blocked.importers, ["B"]);
    assert_eq!(report.stacks[0].outputs[0].change, Change::Removed);
    let mut changed = exporting.clone();
    changed["Outputs"]["TopicArn"]["Value"] = json!({"Fn::GetAtt": ["Topic", "TopicName"]});
    assert_eq!(diff::compare(&output(exporting.clone()), &output(changed)).blocked_exports[0].change, Change::Changed);
    // Exports are per region: an importer in another region reads another export of that name.
    let elsewhere = |mut output: Output| {
        output.stacks["B"].region = "eu-west-1".into();
        output
    };
    let report = diff::compare(&elsewhere(output(exporting)), &elsewhere(output(without)));
    assert!(report.blocked_exports.is_empty(), "{:?}", report.blocked_exports);
}

#[test]
fn a_stack_moved_to_another_region_is_removed_and_added() {
    let resource = json!({"Type": "AWS::SQS::Queue", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"});
    let old = output_with(resource.clone());
    let mut new = output_with(resource);
    new.stacks["Stack"].region = "eu-west-1".into();
    let report = diff::compare(&old, &new);
    let changes: Vec<(Change, &str)> = report.stacks.iter().map(|s| (s.change, s.region.as_str())).collect();
    assert_eq!(changes, [(Change::Removed, "us-east-1"), (Change::Added, "eu-west-1")]);
    assert_eq!(report.data_at_risk(), ["Stack/Store"]);
}
