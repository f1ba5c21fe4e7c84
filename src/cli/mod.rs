//! The command line: clap declarations, one module per subcommand, and the exit status contract.
//!
//! Only this layer (and `main.rs`) uses `anyhow`: library errors are typed, and here they become
//! messages with context.

mod diff;
mod graph;
mod list;
mod schema;
mod synth;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

use cfn_synth::assembly::{AssemblyOptions, TemplateBuckets};
use cfn_synth::config::{is_region_code, ConfigFile};
use cfn_synth::construct::{App, SynthesizedApp};
use cfn_synth::platform::{self, PlatformError};
use cfn_synth::template::TemplateFormat;

/// Compiles typed Rust infrastructure into AWS CloudFormation templates.
#[derive(Debug, Parser)]
#[command(name = "cfn-synth", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write one template per stack and manifest.json to the output directory, replacing it atomically.
    Synth(synth::SynthArgs),
    /// Print one line per stack in deploy order: name, region and resource count.
    List(list::ListArgs),
    /// Synthesize in memory and run the built-in checks: the registry schema of every resource and the
    /// deploy-readiness rules (`--rules` lists them). Writes nothing; exits 1 with the findings when
    /// there are any. `--templates DIR` analyses templates cfn-synth did not write.
    Validate(validate::ValidateArgs),
    /// Compare a fresh synthesis with an earlier output directory, offline: resources added, removed
    /// and changed, each change classified (no-interrupt, replacement, conditional) from the registry
    /// schemas, stateful resources marked. Exits 0 when equal, 1 with differences, 3 under
    /// `--deny-replace` when a stateful resource would be replaced or removed.
    Diff(diff::DiffArgs),
    /// Print the synthesized architecture as a picture: regions side by side, stacks as clusters,
    /// resources grouped by tier, the traffic security groups admit (with ports) and cross-stack
    /// references (dashed). `synth` writes the SVG as architecture.svg.
    Graph(graph::GraphArgs),
    /// Print the JSON Schema of the config file.
    Schema,
}

/// Where the platform config comes from.
#[derive(Debug, clap::Args)]
struct ConfigArgs {
    /// The platform config file. Default: the embedded reference platform (stacks/platform.yaml).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

/// How templates are rendered and where large ones go: the flags `synth` and `diff` share.
#[derive(Debug, Clone, clap::Args)]
struct RenderArgs {
    /// The template file format.
    #[arg(long, value_enum, default_value = "json")]
    format: FormatArg,
    /// Indent every template, even one that then needs an S3 bucket. By default a JSON template that
    /// indented is over 51,200 bytes is written compact, an entry a line.
    #[arg(long)]
    pretty: bool,
    #[command(flatten)]
    buckets: BucketArgs,
}

/// Buckets for what is too large to send inline.
#[derive(Debug, Clone, clap::Args)]
struct BucketArgs {
    /// A bucket in REGION for templates over 51,200 bytes (and for payloads moved out of them); repeat
    /// for each region. The AWS CLI uploads to it in the stack's region, so a bucket elsewhere fails.
    #[arg(long = "s3-bucket", value_name = "REGION=BUCKET", value_parser = parse_bucket)]
    s3_buckets: Vec<(String, String)>,
    /// A key prefix for those uploads.
    #[arg(long, value_name = "PREFIX", requires = "s3_buckets", value_parser = parse_prefix)]
    s3_prefix: Option<String>,
}

impl RenderArgs {
    fn options(&self) -> anyhow::Result<AssemblyOptions> {
        Ok(AssemblyOptions { format: self.format.into(), pretty: self.pretty, buckets: self.buckets.buckets()? })
    }
}

impl BucketArgs {
    fn buckets(&self) -> anyhow::Result<TemplateBuckets> {
        let mut by_region = indexmap::IndexMap::new();
        for (region, bucket) in &self.s3_buckets {
            if let Some(other) = by_region.insert(region.clone(), bucket.clone()) {
                anyhow::bail!("--s3-bucket: two buckets for {region} ({other} and {bucket}); give one per region");
            }
        }
        Ok(TemplateBuckets { by_region, prefix: self.s3_prefix.clone() })
    }
}

/// Parses `REGION=BUCKET`, checking both against AWS's naming rules.
fn parse_bucket(text: &str) -> Result<(String, String), String> {
    let (region, bucket) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected REGION=BUCKET, such as us-east-1=my-templates"))?;
    if !is_region_code(region) {
        return Err(format!("{region:?} is not an AWS region name (us-east-1, say)"));
    }
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !bucket_ok {
        return Err(format!(
            "{bucket:?} is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)"
        ));
    }
    Ok((region.to_owned(), bucket.to_owned()))
}

/// Checks a key prefix: letters, digits, `.`, `_`, `-` and `/` between words, so that it needs no
/// quoting in the commands the manifest writes and no escaping in an S3 key.
fn parse_prefix(text: &str) -> Result<String, String> {
    let words = text.trim_matches('/');
    let valid = !words.is_empty()
        && words.len() <= 200
        && words.split('/').all(|word| !word.is_empty() && word != "." && word != "..")
        && words.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c));
    if valid {
        Ok(words.to_owned())
    } else {
        Err(format!("{text:?}: a prefix is words of letters, digits, '.', '_' and '-' separated by '/'"))
    }
}

/// A template file format, as the `--format` flag spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    Json,
    Yaml,
}

impl From<FormatArg> for TemplateFormat {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Json => TemplateFormat::Json,
            FormatArg::Yaml => TemplateFormat::Yaml,
        }
    }
}

/// The process exit status: 0 success, 1 findings or differences, 2 bad input, usage or any error, 3 a
/// denied replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The command did what was asked.
    Success,
    /// The command ran and found something to report (`validate` findings).
    Failure,
    /// Bad input, bad usage, or an error.
    Error,
    /// `diff --deny-replace` found a stateful resource that would be replaced or removed.
    Denied,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
            ExitStatus::Denied => ExitCode::from(3),
        }
    }
}

impl Cli {
    /// Runs the chosen command.
    pub fn run(self) -> anyhow::Result<ExitStatus> {
        match self.command {
            Command::Synth(args) => synth::run(&args),
            Command::List(args) => list::run(&args),
            Command::Validate(args) => validate::run(&args),
            Command::Diff(args) => diff::run(&args),
            Command::Graph(args) => graph::run(&args),
            Command::Schema => schema::run(),
        }
    }
}

impl ConfigArgs {
    /// Loads the config and synthesizes the platform in memory, with buckets for what is too large to
    /// send inline.
    fn synthesize_with(&self, buckets: &TemplateBuckets) -> anyhow::Result<SynthesizedApp> {
        let (file, app) = self.build_with(buckets)?;
        app.into_synth().with_context(|| format!("cannot synthesize the platform of {}", file.name()))
    }

    /// [`ConfigArgs::synthesize_with`], compiling the registry-schema validators of the built app's
    /// resource types on the other cores while it is synthesized (`validate`: compiling them is most of
    /// its work).
    fn synthesize_with_validators(
        &self,
        buckets: &TemplateBuckets,
    ) -> anyhow::Result<(SynthesizedApp, cfn_synth::checks::SchemaCheck)> {
        let (file, app) = self.build_with(buckets)?;
        let uses = cfn_synth::checks::schema_uses(&app);
        let (synthesized, validators) = std::thread::scope(|scope| {
            let validators = scope.spawn(|| cfn_synth::checks::SchemaCheck::for_uses(&uses));
            (app.into_synth(), validators.join().expect("compiling does not panic"))
        });
        let synthesized = synthesized.with_context(|| format!("cannot synthesize the platform of {}", file.name()))?;
        Ok((synthesized, validators))
    }

    /// Loads the config and builds the platform's app.
    fn build_with(&self, buckets: &TemplateBuckets) -> anyhow::Result<(ConfigFile, App)> {
        let file = match &self.config {
            Some(path) => ConfigFile::read(path)?,
            None => ConfigFile::embedded_default()?,
        };
        let app = platform::build_with(file.config(), buckets).map_err(|error| match error {
            PlatformError::Config { key, message } => anyhow::Error::new(file.invalid(&key, message)),
            other => anyhow::Error::new(other),
        })?;
        Ok((file, app))
    }
}
