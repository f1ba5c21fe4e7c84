//! A custom app built through the library, the way a user writes one: a VPC in one stack, a security
//! group in a second stack of the same region, and a parameter in another region, both reading the VPC.
//!
//! Resources are the generated L1 structs (`cfn::ec2::SecurityGroup`), so a missing required property
//! does not compile. The references are plain Rust values. Synthesis turns the same-region one into an export and
//! `Fn::ImportValue`, and the cross-region one into `Fn::GetStackOutput`, and orders the stacks.
//!
//! Run with: `cargo run --example cross_stack -- <output dir>`

use std::path::PathBuf;

use cfn_synth::assembly::Assembly;
use cfn_synth::cfn::ssm::parameter::ParameterType;
use cfn_synth::cfn::{ec2, ssm};
use cfn_synth::construct::App;
use cfn_synth::constructs::network::{Vpc, VpcProps};
use cfn_synth::template::TemplateFormat;

fn main() -> anyhow::Result<()> {
    let output = std::env::args_os().nth(1).map_or_else(|| PathBuf::from("example.out"), PathBuf::from);

    let mut app = App::new("cross-stack-example");
    let network = app.add_stack("Example-Network", "us-east-1")?;
    let vpc = Vpc::new(&mut network.root(), "Vpc", VpcProps { cidr: "10.50.0.0/16".parse()?, ..VpcProps::default() })?;

    let service = app.add_stack("Example-Service", "us-east-1")?;
    let https_to_the_vpc = ec2::security_group::Egress::new("tcp")
        .description("HTTPS to endpoints inside the VPC")
        .from_port(443)
        .to_port(443)
        .cidr_ip(vpc.cidr_block().expect("a VPC of the app knows its block"));
    service.root().add(
        "ServiceSecurityGroup",
        ec2::SecurityGroup::new("Example service: HTTPS out to the VPC only")
            .vpc_id(vpc.vpc_id())
            .security_group_egress(vec![https_to_the_vpc]),
    )?;

    let recovery = app.add_stack("Example-Recovery", "eu-west-1")?;
    recovery.root().add(
        "PrimaryVpcId",
        ssm::Parameter::new(ParameterType::String, vpc.vpc_id())
            .description("The primary region's VPC, for failover runbooks"),
    )?;

    let synthesized = app.synth()?;
    let assembly = Assembly::new(&synthesized, TemplateFormat::Json)?;
    assembly.write(&output)?;
    println!("deploy order: {}", synthesized.deploy_order().join(" -> "));
    Ok(())
}
