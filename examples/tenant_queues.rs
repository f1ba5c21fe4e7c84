//! A stack too large to send inline, built through the library: a queue per tenant, each with its
//! dead-letter queue and alarms on both, for 40 tenants in one stack. Indented, its template is far
//! past 51,200 bytes; compact it still is, so it goes through an S3 bucket of its region, which
//! `aws cloudformation deploy --s3-bucket` uploads it to.
//!
//! Run with: `cargo run --example tenant_queues -- <output dir> [us-east-1=<bucket>]`. Without a bucket,
//! synthesis stops with the error that names the stack, its size and the remedies.

use std::path::PathBuf;

use anyhow::Context as _;
use cfn_synth::assembly::{Assembly, AssemblyOptions};
use cfn_synth::prelude::*;

const TENANTS: usize = 40;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let output = args.next().map_or_else(|| PathBuf::from("tenant-queues.out"), PathBuf::from);
    let mut options = AssemblyOptions::default();
    if let Some(bucket) = args.next() {
        let (region, bucket) = bucket.split_once('=').context("the bucket argument is REGION=BUCKET")?;
        options.buckets.by_region.insert(region.to_owned(), bucket.to_owned());
        options.buckets.prefix = Some("tenant-queues".to_owned());
    }

    let mut app = App::new("tenant-queues");
    let stack = app.add_stack("Tenants-Queues", "us-east-1")?;
    let mut root = stack.root();
    let key = EncryptionKey::new(&mut root, "Key", KeyProps::default())?;
    let alarms = AlarmTopic::new(&mut root, "Alarms", &[Subscriber::email("oncall@example.com")])?;
    for tenant in 1..=TENANTS {
        let mut scope = root.child(&format!("Tenant{tenant:03}"))?;
        let queue = Queue::new(&mut scope, "Inbox", &key, &QueueProps::default())?;
        let dead_letters = queue.dead_letter_alarm().context("the queue has a dead-letter queue")?;
        dead_letters.add(&mut scope, "DeadLetterAlarm", vec![alarms.arn()])?;
        queue.oldest_message_alarm(900.0).add(&mut scope, "BacklogAlarm", vec![alarms.arn()])?;
    }

    let synthesized = app.synth()?;
    let assembly = Assembly::with_options(&synthesized, &options)?;
    assembly.write(&output)?;
    for stack in &assembly.manifest.stacks {
        println!("{}: {} resources, {:?}", stack.name, stack.resource_count, stack.template_upload);
    }
    Ok(())
}
