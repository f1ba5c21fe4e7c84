//! A service dropped into a VPC that already exists: the VPC, its subnets and the application's ECR
//! repository are imported by ID and name (CDK's `fromXxx`, typed), everything else is new. The service
//! gets a security group of its own, and its image comes from the account's repository.
//!
//! Run with: `cargo run --example existing_vpc -- <output dir>`

use std::path::PathBuf;

use cfn_synth::assembly::Assembly;
use cfn_synth::prelude::*;
use cfn_synth::template::TemplateFormat;

fn main() -> anyhow::Result<()> {
    let output = std::env::args_os().nth(1).map_or_else(|| PathBuf::from("existing-vpc.out"), PathBuf::from);
    let mut app = App::new("reports");
    let stack = app.add_stack("Reports-Service", "eu-west-1")?;
    let mut root = stack.root();

    let subnets = |ids: &[&str]| ids.iter().map(|id| SubnetAttributes::id(id)).collect::<Vec<_>>();
    let vpc = Vpc::from_attributes(VpcAttributes {
        vpc_id: Some(Id::new("vpc-0a1b2c3d4e5f67890")),
        cidr: Some("10.80.0.0/16".parse()?),
        private_app_subnets: subnets(&["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"]),
        ..VpcAttributes::default()
    })?;
    let repository = Repository::from_name(Name::new("reports-api"));

    let key = EncryptionKey::new(&mut root, "Key", KeyProps::default())?;
    let access_logs = Bucket::access_logs(&mut root, "AccessLogs", AccessLogBucketProps::default())?;
    let logged = Some(AccessLogs { bucket: access_logs, prefix: "reports/".into() });
    let reports =
        Bucket::new(&mut root, "Reports", &key, BucketProps { access_logs: logged, ..BucketProps::default() })?;
    let cluster = Cluster::new(&mut root, "Cluster", &vpc)?;
    let task = TaskProps::new(ContainerImage::from_ecr(&repository, "2.3.1"), &key)
        .port(8080)
        .health_check("curl -fsS http://localhost:8080/health || exit 1")
        .env("REPORTS_BUCKET", reports.name())
        .scratch("/tmp");
    let task = FargateTaskDefinition::new(&mut root, "Api", task)?;
    let service = FargateService::new(&mut root, "Service", ServiceProps::new(&cluster, &task))?;
    ServiceScaling::for_service(&mut root, "Scaling", &service, 1, 4)?.scale_on_cpu(&mut root, "Cpu", 70.0)?;
    reports.grant_read_write(&service)?;

    let synthesized = app.synth()?;
    Assembly::new(&synthesized, TemplateFormat::Json)?.write(&output)?;
    println!("{}: {}", output.display(), synthesized.deploy_order().join(" -> "));
    Ok(())
}
