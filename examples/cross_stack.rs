//! A custom app built through the library, the way a user writes one: a VPC in one stack, a security
//! group in a second stack of the same region, and a parameter in another region, both reading the VPC.
//!
//! The references are plain Rust values. Synthesis turns the same-region one into an export and
//! `Fn::ImportValue`, and the cross-region one into `Fn::GetStackOutput`, and orders the stacks.
//!
//! Run with: `cargo run --example cross_stack -- <output dir>`

use std::path::PathBuf;

use cfn_synth::assembly::Assembly;
use cfn_synth::construct::App;
use cfn_synth::constructs::network::{Vpc, VpcProps};
use cfn_synth::template::{Resource, TemplateFormat, Value};

fn main() -> anyhow::Result<()> {
    let output = std::env::args_os().nth(1).map_or_else(|| PathBuf::from("example.out"), PathBuf::from);

    let mut app = App::new("cross-stack-example");
    let network = app.add_stack("Example-Network", "us-east-1")?;
    let vpc = Vpc::new(&mut network.root(), "Vpc", VpcProps { cidr: "10.50.0.0/16".parse()?, ..VpcProps::default() })?;

    let service = app.add_stack("Example-Service", "us-east-1")?;
    service.root().add_resource(
        "ServiceSecurityGroup",
        Resource::new("AWS::EC2::SecurityGroup")
            .property("GroupDescription", Value::from("Example service: HTTPS out to the VPC only"))
            .property("VpcId", vpc.vpc_id())
            .property(
                "SecurityGroupEgress",
                vec![serde_json::json!({
                    "Description": "HTTPS to endpoints inside the VPC",
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "CidrIp": vpc.resource().get_att::<String>("CidrBlock"),
                })],
            ),
    )?;

    let recovery = app.add_stack("Example-Recovery", "eu-west-1")?;
    recovery.root().add_resource(
        "PrimaryVpcId",
        Resource::new("AWS::SSM::Parameter")
            .property("Description", Value::from("The primary region's VPC, for failover runbooks"))
            .property("Type", Value::from("String"))
            .property("Value", vpc.vpc_id()),
    )?;

    let synthesized = app.synth()?;
    let assembly = Assembly::new(&synthesized, TemplateFormat::Json)?;
    assembly.write(&output)?;
    println!("deploy order: {}", synthesized.deploy_order().join(" -> "));
    Ok(())
}
