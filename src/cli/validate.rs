//! `cfn-synth validate`: synthesize in memory, run the built-in checks, write nothing. Or, with
//! `--templates DIR`, run the deploy-readiness rules over templates cfn-synth did not write; or, with
//! `--rules`, list those rules.

use std::path::PathBuf;

use anyhow::Context as _;
use cfn_synth::assembly::limits;
use cfn_synth::checks::{self, readiness, Finding};

use super::{ConfigArgs, ExitStatus, RenderArgs};

#[derive(Debug, clap::Args)]
pub(super) struct ValidateArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Check the limits as `synth` would with these flags.
    #[command(flatten)]
    render: RenderArgs,
    /// List the deploy-readiness rules (CS001 ...) with their docs, and exit.
    #[arg(long, conflicts_with_all = ["templates", "config"])]
    rules: bool,
    /// Analyse this directory of CloudFormation templates instead of the platform: a cfn-synth output
    /// directory, an AWS CDK cloud assembly (cdk.out) or a plain folder of templates.
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    templates: Option<PathBuf>,
    /// The region of templates whose layout names none (a plain folder, an environment-agnostic CDK
    /// stack).
    #[arg(long, value_name = "REGION", requires = "templates")]
    region: Option<String>,
}

pub(super) fn run(args: &ValidateArgs) -> anyhow::Result<ExitStatus> {
    if args.rules {
        for rule in readiness::RULES {
            println!("{} {}\n    {}\n", rule.id, rule.title, rule.doc);
        }
        return Ok(ExitStatus::Success);
    }
    if let Some(directory) = &args.templates {
        let stacks = readiness::load::from_directory(directory, args.region.as_deref())
            .with_context(|| format!("cannot read the templates of {}", directory.display()))?;
        let count = stacks.len();
        let findings = readiness::analyse(stacks);
        eprintln!("{count} stacks of {}, deploy-readiness rules: {}", directory.display(), summary(&findings));
        return Ok(report(&findings));
    }
    let options = args.render.options()?;
    let (app, validators) = args.config.synthesize_with_validators(&options.buckets)?;
    // The same limits `synth` enforces, such as the inline template size, without writing anything;
    // rendered beside the checks, which do not need it.
    let (assembled, checked) = std::thread::scope(|scope| {
        let assembled = scope.spawn(|| limits::check_all(&app, &options));
        let (checked, validators) = checks::run_keeping(&app, || validators);
        // The process ends soon: the compiled validators and the app go back to the system with it,
        // not freed value by value (a tenth of the run).
        std::mem::forget(validators);
        (assembled.join().expect("rendering does not panic"), checked)
    });
    assembled?;
    let resources: usize = app.stacks.iter().filter_map(|s| s.template["Resources"].as_object()).map(|r| r.len()).sum();
    eprintln!(
        "{} stacks, {resources} resources, {} checked against their registry schemas, deploy-readiness rules \
         {}: {}",
        app.stacks.len(),
        checked.schema_checked,
        readiness::RULES.len(),
        summary(&checked.findings)
    );
    if !checked.types_without_schema.is_empty() {
        eprintln!("not schema-checked (no vendored schema): {}", checked.types_without_schema.join(", "));
    }
    let status = report(&checked.findings);
    std::mem::forget(app);
    Ok(status)
}

/// Prints the findings; the run fails on any that is not informational.
fn report(findings: &[Finding]) -> ExitStatus {
    for finding in findings {
        println!("{finding}");
    }
    if findings.iter().any(|finding| finding.severity == checks::Severity::Error) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}

fn summary(findings: &[Finding]) -> String {
    let errors = findings.iter().filter(|f| f.severity == checks::Severity::Error).count();
    format!("{errors} findings, {} informational", findings.len() - errors)
}
