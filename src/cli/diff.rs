//! `cfn-synth diff`: a fresh synthesis against an earlier output directory.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::Context as _;
use cfn_synth::assembly::Assembly;
use cfn_synth::diff::{self, Output};

use super::{ConfigArgs, ExitStatus, RenderArgs};

#[derive(Debug, clap::Args)]
pub(super) struct DiffArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The earlier output directory (what `synth --output` wrote).
    #[arg(long, value_name = "DIR", required_unless_present = "json_schema")]
    against: Option<PathBuf>,
    /// How the fresh side is rendered: give the flags the earlier `synth` had.
    #[command(flatten)]
    render: RenderArgs,
    /// Print the report as JSON (its schema: `--json-schema`).
    #[arg(long)]
    json: bool,
    /// Exit 3 when a stateful resource would be replaced or removed.
    #[arg(long)]
    deny_replace: bool,
    /// Print the JSON Schema of the `--json` report and exit.
    #[arg(long, conflicts_with_all = ["against", "json", "deny_replace"])]
    json_schema: bool,
}

pub(super) fn run(args: &DiffArgs) -> anyhow::Result<ExitStatus> {
    if args.json_schema {
        println!("{}", serde_json::to_string_pretty(&diff::report_schema())?);
        return Ok(ExitStatus::Success);
    }
    let against = args.against.as_ref().expect("clap requires --against");
    // Reading the earlier output and synthesizing the fresh one are independent: on two cores the
    // parse costs no wall time.
    let options = args.render.options()?;
    let (earlier, fresh) = std::thread::scope(|scope| {
        let earlier = scope.spawn(|| Output::read(against));
        let fresh = (|| {
            let app = args.config.synthesize_with(&options.buckets)?;
            let assembly = Assembly::with_options(&app, &options)?;
            anyhow::Ok(Output::of_assembly(app, &assembly))
        })();
        (earlier.join().expect("reading does not panic"), fresh)
    });
    let earlier = earlier.with_context(|| format!("cannot read the earlier output {}", against.display()))?;
    let report = diff::compare(&earlier, &fresh?);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        print!("{}", diff::render(&report, colour));
    }
    let at_risk = report.data_at_risk();
    Ok(if args.deny_replace && !at_risk.is_empty() {
        eprintln!("--deny-replace: {} would be replaced or removed", at_risk.join(", "));
        ExitStatus::Denied
    } else if report.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
