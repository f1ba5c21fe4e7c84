//! The built-in checks that `cfn-synth validate` runs over a synthesized app, beyond what synthesis
//! itself enforces (references, cycles, removal policies, sizes).

mod registry_schema;

use std::fmt;

use crate::construct::SynthesizedApp;

pub use registry_schema::RULE as REGISTRY_SCHEMA_RULE;

/// One problem in one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The check that found it.
    pub rule: &'static str,
    /// The stack.
    pub stack: String,
    /// The resource's logical ID.
    pub logical_id: String,
    /// Where in the resource, as a JSON pointer below the resource (`Properties/Tags/0/Key`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}: {} [{}]", self.stack, self.logical_id, self.path, self.message, self.rule)
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

/// Runs every check over every stack.
pub fn run(app: &SynthesizedApp) -> Report {
    let mut schema_check = registry_schema::SchemaCheck::default();
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
