//! `cfn-synth synth`: write the templates and the manifest.

use std::path::PathBuf;

use cfn_synth::assembly::{Assembly, AssemblyError};
use cfn_synth::checks;

use super::{ConfigArgs, ExitStatus, RenderArgs};

#[derive(Debug, clap::Args)]
pub(super) struct SynthArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The output directory. An earlier output there is replaced whole, and only once everything is
    /// synthesized and written.
    #[arg(long, value_name = "DIR", default_value = "cfn.out")]
    output: PathBuf,
    #[command(flatten)]
    render: RenderArgs,
}

pub(super) fn run(args: &SynthArgs) -> anyhow::Result<ExitStatus> {
    let options = args.render.options()?;
    let app = args.config.synthesize_with(&options.buckets)?;
    // An app that would not run in AWS is refused before anything is written.
    let findings = checks::readiness::analyse(checks::stack_templates(&app));
    let errors: Vec<_> = findings.iter().filter(|f| f.severity == checks::Severity::Error).collect();
    if !errors.is_empty() {
        for finding in &errors {
            println!("{finding}");
        }
        eprintln!(
            "refusing to write {}: {} deploy-readiness findings (see `cfn-synth validate --rules`)",
            args.output.display(),
            errors.len()
        );
        return Ok(ExitStatus::Failure);
    }
    // Each file is written as it is rendered; a template past a quota stops the write and leaves the
    // earlier output as it was.
    let manifest = Assembly::write_streaming(&app, &options, &args.output).map_err(|error| match error {
        AssemblyError::Write(error) => {
            anyhow::Error::new(error).context(format!("cannot write {}", args.output.display()))
        }
        other => anyhow::Error::new(other),
    })?;
    let resources: usize = manifest.stacks.iter().map(|stack| stack.resource_count).sum();
    eprintln!(
        "wrote {} stacks ({resources} resources) and manifest.json to {}",
        manifest.stacks.len(),
        args.output.display()
    );
    Ok(ExitStatus::Success)
}
