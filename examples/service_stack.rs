//! A service of one's own, written the way the CDK reads: a VPC; a key, a queue with its dead-letter
//! queue and PostgreSQL; a Fargate service that scales on CPU, consumes the queue and connects to the
//! database; in three stacks. Constructs take constructs: subnets, security groups, the execution
//! role's secret and log rights, key grants and cross-stack exports are derived, not wired.
//!
//! Run with: `cargo run --example service_stack -- <output dir>`

use anyhow::Context;
use std::path::PathBuf;

use cfn_synth::assembly::Assembly;
use cfn_synth::prelude::*;
use cfn_synth::template::TemplateFormat;

fn main() -> anyhow::Result<()> {
    let output = std::env::args_os().nth(1).map_or_else(|| PathBuf::from("service-stack.out"), PathBuf::from);
    let mut app = App::new("orders");

    let network = app.add_stack("Orders-Network", "us-east-1")?;
    let vpc = Vpc::new(&mut network.root(), "Vpc", VpcProps::default())?;

    let data = app.add_stack("Orders-Data", "us-east-1")?;
    let mut data = data.root();
    let key = EncryptionKey::new(&mut data, "Key", KeyProps::default())?;
    let queue = Queue::new(&mut data, "Orders", &key, &QueueProps::default())?;
    let database = PostgresDatabase::new(&mut data, "Database", &vpc, &key, PostgresProps::default())?;
    let alarms = AlarmTopic::new(&mut data, "Alarms", &[Subscriber::email("oncall@example.com")])?;
    let dead_letters = queue.dead_letter_alarm().expect("the queue has a dead-letter queue");
    dead_letters.add(&mut data, "DeadLetterAlarm", vec![alarms.arn()])?;
    queue.oldest_message_alarm(300.0).add(&mut data, "BacklogAlarm", vec![alarms.arn()])?;
    database.cpu_alarm(80.0).add(&mut data, "DatabaseCpuAlarm", vec![alarms.arn()])?;

    let compute = app.add_stack("Orders-Service", "us-east-1")?;
    let mut compute = compute.root();
    let cluster = Cluster::new(&mut compute, "Cluster", &vpc)?;
    let image = ContainerImage::registry("public.ecr.aws/nginx/nginx:1.27");
    let master = database.secret().context("a read replica has no master credentials of its own")?;
    let task = TaskProps::new(image, &key)
        .size(FargateSize::of::<512, 1024>())
        .port(8080)
        .health_check("curl -fsS http://localhost:8080/health || exit 1")
        .env("ORDERS_QUEUE_URL", queue.url())
        .env("DATABASE_HOST", database.endpoint_address())
        .secret("DATABASE_PASSWORD", ContainerSecret::from_secret(&master, "password"))
        .scratch("/tmp");
    let task = FargateTaskDefinition::new(&mut compute, "Api", task)?;
    let service = FargateService::new(&mut compute, "Service", ServiceProps::new(&cluster, &task).desired_count(2))?;
    let scaling = ServiceScaling::for_service(&mut compute, "Scaling", &service, 2, 10)?;
    scaling.scale_on_cpu(&mut compute, "CpuScaling", CPU_TARGET_PERCENT)?;

    // Wiring, in any order: the grants attach to the task role, the rules go to the later stack.
    queue.grant_consume(&task)?;
    database.connections().allow_default_port_from(&service)?;

    let synthesized = app.synth()?;
    Assembly::new(&synthesized, TemplateFormat::Json)?.write(&output)?;
    println!("{}: {}", output.display(), synthesized.deploy_order().join(" -> "));
    Ok(())
}
