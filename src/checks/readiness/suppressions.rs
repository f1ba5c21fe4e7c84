//! CS060: every suppression of an outside judge's rule says why, in the resource that carries it.
//!
//! A suppression without a reason is a blanket skip that nobody can review: AWS Control Tower's Guard
//! rules (`Metadata.guard.SuppressedRules`, each with its `Reasons` entry) and checkov's
//! (`Metadata.checkov.skip`, each with its `comment`). The deploy-readiness rules' own suppressions
//! need a reason to take effect at all.

use serde_json::Value as Json;

use super::{finding, Model, Res};
use crate::checks::Finding;
use crate::template::Field;

pub(super) fn check(model: &Model, findings: &mut Vec<Finding>) {
    for (stack, template) in model.stacks().iter().enumerate() {
        let Some(resources) = template.template.field("Resources").as_object() else { continue };
        for (logical_id, resource) in resources {
            let metadata = resource.field("Metadata");
            let res = Res { stack, id: logical_id.clone() };
            let guard = metadata.field("guard");
            for rule in guard.field("SuppressedRules").as_array().into_iter().flatten() {
                let rule = rule.as_str().unwrap_or("?");
                if !has_text(&guard.field("Reasons")[rule]) {
                    let path = format!("{} → Metadata.guard.SuppressedRules {rule}", model.name(&res));
                    let message = format!(
                        "suppresses the AWS Control Tower rule {rule} with no reason: say why it does not apply \
                         in Metadata.guard.Reasons.{rule} (Resource::suppress_guard)"
                    );
                    findings.push(finding(model, "CS060", &res, path, message));
                }
            }
            for skip in metadata.field("checkov").field("skip").as_array().into_iter().flatten() {
                if !has_text(skip.field("comment")) {
                    let id = skip.field("id").as_str().unwrap_or("?");
                    let path = format!("{} → Metadata.checkov.skip {id}", model.name(&res));
                    let message = format!("skips the checkov check {id} with no comment: say why it does not apply");
                    findings.push(finding(model, "CS060", &res, path, message));
                }
            }
        }
    }
}

/// Whether `value` is text with something in it.
fn has_text(value: &Json) -> bool {
    value.as_str().is_some_and(|text| !text.trim().is_empty())
}
