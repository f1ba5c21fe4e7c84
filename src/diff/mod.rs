//! `diff`: what deploying a fresh synthesis would change in an earlier output directory, offline.
//!
//! Both sides are output directories in the same shape ([`Output`]): the earlier one read from disk,
//! the fresh one from memory. Stacks are matched by name and resources by logical ID, so a renamed
//! construct, a moved stack or a stack in another region shows as a removal and an addition, which is
//! what CloudFormation would do with it. Each property change is classified from the type's registry
//! schema (`changes.rs`): a create-only property replaces the resource, anything else updates it in
//! place, and where the schema cannot tell, the change is conditional.
//!
//! The report serializes as the `--json` output; [`report_schema`] is its JSON Schema.

mod changes;
mod exports;
mod output;
mod render;

use schemars::JsonSchema;
use serde::Serialize;

pub use changes::is_stateful;
pub use output::{DiffError, Output, OutputStack};
pub use render::render;

/// The version of the `--json` report's shape.
pub const REPORT_VERSION: u32 = 1;

/// Everything that differs between two output directories.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Always [`REPORT_VERSION`].
    pub version: u32,
    /// The counts, for a glance.
    pub summary: Summary,
    /// Every stack with a difference: the fresh app's deploy order, then stacks only the earlier
    /// output has.
    pub stacks: Vec<StackDiff>,
    /// Exports another stack imports that would be removed or changed: CloudFormation refuses that
    /// update while the import stands.
    pub blocked_exports: Vec<BlockedExport>,
    /// Leaf changes of `manifest.json`, by JSON Pointer.
    pub manifest: Vec<ValueChange>,
    /// Other files of the output (the Kong configuration, the runbook ...) added, removed or changed.
    pub files: Vec<FileChange>,
}

/// The report's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Stacks only the fresh output has.
    pub stacks_added: usize,
    /// Stacks only the earlier output has.
    pub stacks_removed: usize,
    /// Stacks in both, with a difference.
    pub stacks_changed: usize,
    /// Resources added, in any stack.
    pub resources_added: usize,
    /// Resources removed, in any stack.
    pub resources_removed: usize,
    /// Resources changed in place or replaced.
    pub resources_changed: usize,
    /// Changed resources that would be replaced.
    pub replacements: usize,
    /// Stateful resources that would be replaced or removed: what `--deny-replace` refuses.
    pub stateful_at_risk: usize,
}

/// Whether something was added, removed or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Only the fresh output has it.
    Added,
    /// Only the earlier output has it.
    Removed,
    /// Both have it, and it differs.
    Changed,
}

/// What a change does to the deployed resource, as a CloudFormation change set would say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Classification {
    /// Updated in place: the property is not create-only.
    NoInterrupt,
    /// The schema cannot tell: no schema for the type, or the change covers a create-only
    /// sub-property without reaching it.
    Conditional,
    /// Replaced: a create-only property changed (or the type did), so CloudFormation creates a new
    /// resource and deletes the old one.
    Replacement,
}

/// One stack's differences.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StackDiff {
    /// The stack name.
    pub name: String,
    /// Its region (the fresh one's, when both have it).
    pub region: String,
    /// Added, removed or changed.
    pub change: Change,
    /// Its resources that differ.
    pub resources: Vec<ResourceDiff>,
    /// Its outputs that differ (each output whole: value, description, export).
    pub outputs: Vec<NamedChange>,
    /// Its parameters that differ (each declaration whole).
    pub parameters: Vec<NamedChange>,
    /// Leaf changes of the rest of the template (description, transforms, conditions, mappings).
    pub template: Vec<ValueChange>,
}

/// One resource's difference.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDiff {
    /// Its logical ID.
    pub logical_id: String,
    /// Its type (the fresh one's, when both have it).
    pub resource_type: String,
    /// Added, removed or changed.
    pub change: Change,
    /// Whether it holds data: a stateful type, or a `Retain`/`Snapshot` deletion policy on either side.
    pub stateful: bool,
    /// Its construct path in the earlier output, when it has one there.
    pub old_path: Option<String>,
    /// Its construct path in the fresh output, when it has one there.
    pub new_path: Option<String>,
    /// For a changed resource, its most disruptive property change.
    pub classification: Option<Classification>,
    /// For a changed resource, each changed leaf.
    pub properties: Vec<PropertyChange>,
}

impl ResourceDiff {
    /// Whether deploying would replace or remove data: a stateful resource removed or replaced.
    pub fn puts_data_at_risk(&self) -> bool {
        self.stateful && (self.change == Change::Removed || self.classification == Some(Classification::Replacement))
    }
}

/// One changed leaf of a resource.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PropertyChange {
    /// The JSON Pointer inside the resource entry (`/Properties/Engine`).
    pub pointer: String,
    /// The earlier value; none when added.
    pub old: Option<serde_json::Value>,
    /// The fresh value; none when removed.
    pub new: Option<serde_json::Value>,
    /// What it does to the resource.
    pub classification: Classification,
    /// Why: the create-only property it touches, or why the schema cannot tell.
    pub reason: String,
}

/// A named entry (output, parameter) added, removed or changed, whole.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamedChange {
    /// The output or parameter name.
    pub name: String,
    /// Added, removed or changed.
    pub change: Change,
    /// The earlier declaration.
    pub old: Option<serde_json::Value>,
    /// The fresh declaration.
    pub new: Option<serde_json::Value>,
}

/// A leaf of a JSON document added, removed or changed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValueChange {
    /// The JSON Pointer of the leaf.
    pub pointer: String,
    /// The earlier value; none when added.
    pub old: Option<serde_json::Value>,
    /// The fresh value; none when removed.
    pub new: Option<serde_json::Value>,
}

/// An export whose removal or change CloudFormation would refuse, because other stacks import it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockedExport {
    /// The export name.
    pub export: String,
    /// The stack that exports it in the earlier output.
    pub stack: String,
    /// Removed, or changed in value.
    pub change: Change,
    /// The stacks that import it, in either output.
    pub importers: Vec<String>,
}

/// A non-template file of the output added, removed or changed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileChange {
    /// Its path, relative to the output directory.
    pub file: String,
    /// Added, removed or changed.
    pub change: Change,
}

impl Report {
    /// Whether the two outputs are the same.
    pub fn is_empty(&self) -> bool {
        self.stacks.is_empty() && self.manifest.is_empty() && self.files.is_empty()
    }

    /// The stateful resources that would be replaced or removed, as `Stack/LogicalId`.
    pub fn data_at_risk(&self) -> Vec<String> {
        self.stacks
            .iter()
            .flat_map(|stack| {
                stack
                    .resources
                    .iter()
                    .filter(|resource| resource.puts_data_at_risk())
                    .map(move |resource| format!("{}/{}", stack.name, resource.logical_id))
            })
            .collect()
    }
}

/// The JSON Schema of the `--json` report.
pub fn report_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).expect("schemas serialize")
}

/// Compares an earlier output (`old`) with a fresh one (`new`).
pub fn compare(old: &Output, new: &Output) -> Report {
    let mut stacks = Vec::new();
    for (name, fresh) in &new.stacks {
        let diff = match old.stacks.get(name) {
            Some(earlier) if earlier.region == fresh.region => changes::stack(name, Some(earlier), Some(fresh)),
            // Another region is another stack: the old one is deleted, the new one created.
            Some(earlier) => {
                stacks.extend(changes::stack(name, Some(earlier), None));
                changes::stack(name, None, Some(fresh))
            }
            None => changes::stack(name, None, Some(fresh)),
        };
        stacks.extend(diff);
    }
    for (name, earlier) in &old.stacks {
        if !new.stacks.contains_key(name) {
            stacks.extend(changes::stack(name, Some(earlier), None));
        }
    }
    let mut manifest = Vec::new();
    changes::leaves(&mut String::new(), Some(&old.manifest), Some(&new.manifest), &mut |pointer, old, new| {
        manifest.push(ValueChange { pointer: pointer.to_owned(), old: old.cloned(), new: new.cloned() })
    });
    let mut files: Vec<FileChange> = new
        .files
        .iter()
        .filter_map(|(file, text)| {
            let change = match old.files.get(file) {
                None => Change::Added,
                Some(earlier) if earlier != text => Change::Changed,
                Some(_) => return None,
            };
            Some(FileChange { file: file.clone(), change })
        })
        .collect();
    files.extend(
        old.files
            .keys()
            .filter(|file| !new.files.contains_key(*file))
            .map(|file| FileChange { file: file.clone(), change: Change::Removed }),
    );
    let blocked_exports = exports::blocked(old, new);
    let summary = summarize(&stacks);
    Report { version: REPORT_VERSION, summary, stacks, blocked_exports, manifest, files }
}

fn summarize(stacks: &[StackDiff]) -> Summary {
    let mut summary = Summary::default();
    for stack in stacks {
        match stack.change {
            Change::Added => summary.stacks_added += 1,
            Change::Removed => summary.stacks_removed += 1,
            Change::Changed => summary.stacks_changed += 1,
        }
        for resource in &stack.resources {
            match resource.change {
                Change::Added => summary.resources_added += 1,
                Change::Removed => summary.resources_removed += 1,
                Change::Changed => summary.resources_changed += 1,
            }
            if resource.classification == Some(Classification::Replacement) {
                summary.replacements += 1;
            }
            if resource.puts_data_at_risk() {
                summary.stateful_at_risk += 1;
            }
        }
    }
    summary
}
