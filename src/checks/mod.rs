//! The built-in checks that `cfn-synth validate` runs over a synthesized app, beyond what synthesis
//! itself enforces (references, cycles, removal policies, sizes): every resource against its registry
//! schema, and the deploy-readiness rules ([`readiness`]) over the whole app.

mod lazy_pattern;
pub mod readiness;
mod registry_schema;
mod schema_text;
mod schema_use;

use std::fmt;

use crate::construct::SynthesizedApp;

pub use registry_schema::{SchemaCheck, RULE as REGISTRY_SCHEMA_RULE};
pub use schema_use::{schema_uses, SchemaUse};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The deployment would fail or the app would not work: `validate` exits 1 and `synth` refuses.
    Error,
    /// The analysis could not follow something; reported, never fatal.
    Info,
}

/// One problem in one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The check that found it.
    pub rule: &'static str,
    /// Whether it fails the run.
    pub severity: Severity,
    /// The stack.
    pub stack: String,
    /// The resource's logical ID.
    pub logical_id: String,
    /// Where: a JSON pointer below the resource (`Properties/Tags/0/Key`) for schema findings, the path
    /// the analysis followed (`Stack/Service → sg Group → ... unreachable`) for readiness findings.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "",
            Severity::Info => "info: ",
        };
        write!(f, "{level}{} {} {}: {} [{}]", self.stack, self.logical_id, self.path, self.message, self.rule)
    }
}

/// What the checks found, and how much they covered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Every finding, in stack and resource order.
    pub findings: Vec<Finding>,
    /// Resources validated against a registry schema.
    pub schema_checked: usize,
    /// Types seen that have no vendored schema, so were not schema-checked.
    pub types_without_schema: Vec<String>,
}

impl Report {
    /// The findings that fail a run (not the informational ones).
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|finding| finding.severity == Severity::Error)
    }
}

/// The app's stacks as the readiness analysis reads them.
pub fn stack_templates(app: &SynthesizedApp) -> Vec<readiness::StackTemplate<'_>> {
    app.stacks
        .iter()
        .map(|stack| readiness::StackTemplate {
            name: stack.name.clone(),
            region: stack.region.clone(),
            template: std::borrow::Cow::Borrowed(&stack.template),
            depends_on: stack.depends_on.clone(),
        })
        .collect()
}

/// Runs every check over every stack.
///
/// The deploy-readiness analysis runs on a thread of its own while the schema validators compile on
/// every core; the findings keep their order: schema findings in stack and resource order, then the
/// analysis's.
pub fn run(app: &SynthesizedApp) -> Report {
    let types = app
        .stacks
        .iter()
        .filter_map(|stack| stack.template["Resources"].as_object())
        .flat_map(|resources| resources.values().filter_map(|resource| resource["Type"].as_str()));
    run_with(app, || SchemaCheck::for_types(types))
}

/// [`run`] with the validators from `validators`, which may have been compiled while the app was
/// synthesized ([`SchemaCheck::for_uses`] of [`schema_uses`]); a type they lack, or a resource
/// they do not cover (another property, or a deploy-time value at an unguarded place), gets its
/// type's whole validator when first met.
pub fn run_with(app: &SynthesizedApp, validators: impl FnOnce() -> SchemaCheck + Send) -> Report {
    run_keeping(app, validators).0
}

/// [`run_with`], handing the validators back: a process that ends right after the checks leaves them
/// to its exit (`cfn-synth validate`), since freeing thousands of compiled schema nodes one by one
/// costs a tenth of its run.
pub fn run_keeping(app: &SynthesizedApp, validators: impl FnOnce() -> SchemaCheck + Send) -> (Report, SchemaCheck) {
    let (mut report, validators, readiness) = std::thread::scope(|scope| {
        let readiness = scope.spawn(|| readiness::analyse(stack_templates(app)));
        let mut validators = validators();
        let report = schema_report(app, &mut validators);
        (report, validators, readiness.join().expect("the analysis does not panic"))
    });
    report.findings.extend(readiness);
    (report, validators)
}

/// Every resource against its registry schema.
fn schema_report(app: &SynthesizedApp, schema_check: &mut SchemaCheck) -> Report {
    let mut report = Report::default();
    for stack in &app.stacks {
        let Some(resources) = stack.template["Resources"].as_object() else { continue };
        for (logical_id, resource) in resources {
            match schema_check.check(&stack.name, logical_id, resource) {
                Some(findings) => {
                    report.schema_checked += 1;
                    report.findings.extend(findings);
                }
                None => {
                    let type_name = resource["Type"].as_str().unwrap_or("(no type)").to_owned();
                    if !report.types_without_schema.contains(&type_name) {
                        report.types_without_schema.push(type_name);
                    }
                }
            }
        }
    }
    report
}
