//! `cfn-synth validate`: synthesize in memory, run the built-in checks, write nothing.

use cfn_synth::assembly::Assembly;
use cfn_synth::checks;
use cfn_synth::template::TemplateFormat;

use super::{ConfigArgs, ExitStatus};

pub(super) fn run(args: &ConfigArgs) -> anyhow::Result<ExitStatus> {
    let app = args.synthesize()?;
    // The same limits `synth` enforces, such as the inline template size, without writing anything.
    Assembly::new(&app, TemplateFormat::Json)?;
    let report = checks::run(&app);
    for finding in &report.findings {
        println!("{finding}");
    }
    let resources: usize = app.stacks.iter().filter_map(|s| s.template["Resources"].as_object()).map(|r| r.len()).sum();
    eprintln!(
        "{} stacks, {resources} resources, {} checked against their registry schemas: {} findings",
        app.stacks.len(),
        report.schema_checked,
        report.findings.len()
    );
    if !report.types_without_schema.is_empty() {
        eprintln!("not schema-checked (no vendored schema): {}", report.types_without_schema.join(", "));
    }
    Ok(if report.findings.is_empty() { ExitStatus::Success } else { ExitStatus::Failure })
}
