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
    let cannot_write = |error: AssemblyError| match error {
        AssemblyError::Write(error) => {
            anyhow::Error::new(error).context(format!("cannot write {}", args.output.display()))
        }
        other => anyhow::Error::new(other),
    };
    // The deploy-readiness analysis runs on a second core while the files are rendered into a staging
    // directory (each written as it is rendered; a template past a quota stops there). Only an app the
    // analysis passes is moved into place; otherwise the staging directory is removed and the earlier
    // output is left as it was.
    let (findings, staged) = std::thread::scope(|scope| {
        let analysis = scope.spawn(|| checks::readiness::analyse(checks::stack_templates(&app)));
        let staged = Assembly::stage(&app, &options, &args.output);
        (analysis.join().expect("the analysis does not panic"), staged)
    });
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
    let (staging, manifest) = staged.map_err(cannot_write)?;
    staging.commit().map_err(|error| cannot_write(AssemblyError::Write(error)))?;
    let resources: usize = manifest.stacks.iter().map(|stack| stack.resource_count).sum();
    eprintln!(
        "wrote {} stacks ({resources} resources) and manifest.json to {}",
        manifest.stacks.len(),
        args.output.display()
    );
    // The process ends here: its memory goes back to the system whole, without freeing each of the
    // app's values one by one (a tenth of a small synth's time, seconds for a large one).
    std::mem::forget(app);
    Ok(ExitStatus::Success)
}
