//! `cfn-synth list`: the stacks in deploy order.

use std::fmt::Write as _;

use super::{BucketArgs, ConfigArgs, ExitStatus};

#[derive(Debug, clap::Args)]
pub(super) struct ListArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The stacks as `synth` would build them with these buckets.
    #[command(flatten)]
    buckets: BucketArgs,
}

pub(super) fn run(args: &ListArgs) -> anyhow::Result<ExitStatus> {
    let app = args.config.synthesize_with(&args.buckets.buckets()?)?;
    let width = app.stacks.iter().map(|stack| stack.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for stack in &app.stacks {
        let resources = stack.template["Resources"].as_object().map_or(0, serde_json::Map::len);
        writeln!(out, "{:<width$}  {:<14}  {resources} resources", stack.name, stack.region)?;
    }
    print!("{out}");
    Ok(ExitStatus::Success)
}
