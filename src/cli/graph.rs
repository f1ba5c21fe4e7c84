//! `cfn-synth graph`: the synthesized architecture as DOT, SVG or Mermaid, on standard output.

use cfn_synth::graph::{self, Architecture};
use clap::ValueEnum;

use super::{BucketArgs, ConfigArgs, ExitStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum GraphFormat {
    Dot,
    Svg,
    Mermaid,
}

#[derive(Debug, clap::Args)]
pub(super) struct GraphArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The stacks as `synth` would build them with these buckets.
    #[command(flatten)]
    buckets: BucketArgs,
    /// The picture's format: Graphviz DOT, SVG (laid out by cfn-synth, no Graphviz needed) or a Mermaid
    /// flowchart.
    #[arg(long, value_enum, default_value = "svg")]
    format: GraphFormat,
}

pub(super) fn run(args: &GraphArgs) -> anyhow::Result<ExitStatus> {
    let app = args.config.synthesize_with(&args.buckets.buckets()?)?;
    let architecture = Architecture::of(&app.stacks);
    let picture = match args.format {
        GraphFormat::Dot => graph::dot::render(&architecture),
        GraphFormat::Svg => graph::svg::render(&architecture),
        GraphFormat::Mermaid => graph::mermaid::render(&architecture),
    };
    print!("{picture}");
    Ok(ExitStatus::Success)
}
