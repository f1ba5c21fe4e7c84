//! `cfn-synth synth`: write the templates and the manifest.

use std::path::PathBuf;

use anyhow::Context as _;
use cfn_synth::assembly::Assembly;

use super::{ConfigArgs, ExitStatus, FormatArg};

#[derive(Debug, clap::Args)]
pub(super) struct SynthArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The output directory. An earlier output there is replaced whole, and only once everything is
    /// synthesized and written.
    #[arg(long, value_name = "DIR", default_value = "cfn.out")]
    output: PathBuf,
    /// The template file format.
    #[arg(long, value_enum, default_value = "json")]
    format: FormatArg,
}

pub(super) fn run(args: &SynthArgs) -> anyhow::Result<ExitStatus> {
    let app = args.config.synthesize()?;
    let assembly = Assembly::new(&app, args.format.into())?;
    assembly.write(&args.output).with_context(|| format!("cannot write {}", args.output.display()))?;
    let resources: usize = assembly.manifest.stacks.iter().map(|stack| stack.resource_count).sum();
    eprintln!(
        "wrote {} stacks ({resources} resources) and manifest.json to {}",
        assembly.manifest.stacks.len(),
        args.output.display()
    );
    Ok(ExitStatus::Success)
}
