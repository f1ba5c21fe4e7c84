//! The in-process registry schema check over real output, and its findings on bad input.

use cfn_synth::checks::{self, REGISTRY_SCHEMA_RULE};
use cfn_synth::config::ConfigFile;
use cfn_synth::construct::App;
use cfn_synth::platform;
use cfn_synth::template::{Resource, Value};

#[test]
fn the_default_platform_passes_the_registry_schema_check() {
    let config = ConfigFile::embedded_default().unwrap();
    let app = platform::build(config.config()).unwrap().synth().unwrap();
    let report = checks::run(&app);
    assert_eq!(report.findings, []);
    let resources: usize = app.stacks.iter().map(|s| s.template["Resources"].as_object().unwrap().len()).sum();
    assert_eq!(report.schema_checked, resources, "every resource has a vendored schema");
    assert!(report.types_without_schema.is_empty());
}

#[test]
fn violations_name_the_stack_the_logical_id_and_the_property_path() {
    let mut app = App::new("bad");
    let stack = app.add_stack("Bad-Stack", "eu-west-1").unwrap();
    stack
        .root()
        .add_resource(
            "Subnet",
            Resource::new("AWS::EC2::Subnet")
                .property("VpcId", Value::from("vpc-1"))
                .property("MapPublicIpOnLaunch", Value::from("sometimes")),
        )
        .unwrap();
    stack.root().add_resource("Fn", Resource::new("AWS::Lambda::Permission")).unwrap();
    let report = checks::run(&app.synth().unwrap());
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    let finding = &report.findings[0];
    assert_eq!(
        finding.to_string(),
        format!("Bad-Stack Subnet Properties/MapPublicIpOnLaunch: \"sometimes\" is not of type \"boolean\" [{REGISTRY_SCHEMA_RULE}]")
    );
    assert_eq!(report.types_without_schema, ["AWS::Lambda::Permission"]);
}
