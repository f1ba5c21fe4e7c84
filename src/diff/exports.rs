//! Exports that an update could not remove or change: CloudFormation refuses to delete an export, or
//! change its value, while a deployed stack imports it, and the manifest's order deploys the exporting
//! stack before its importers.

use indexmap::{IndexMap, IndexSet};
use serde_json::Value;

use super::output::Output;
use super::{BlockedExport, Change};

/// Export name → (exporting stack, exported value).
fn exports(output: &Output) -> IndexMap<&str, (&str, &Value)> {
    let mut exports = IndexMap::new();
    for (stack, entry) in &output.stacks {
        let Some(outputs) = entry.template["Outputs"].as_object() else { continue };
        for output in outputs.values() {
            if let Some(name) = output["Export"]["Name"].as_str() {
                exports.insert(name, (stack.as_str(), &output["Value"]));
            }
        }
    }
    exports
}

/// Export name → the stacks that import it by a literal `Fn::ImportValue`.
fn importers(output: &Output) -> IndexMap<String, IndexSet<String>> {
    fn walk(value: &Value, stack: &str, found: &mut IndexMap<String, IndexSet<String>>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(name)) = map.get("Fn::ImportValue") {
                    found.entry(name.clone()).or_default().insert(stack.to_owned());
                }
                map.values().for_each(|value| walk(value, stack, found));
            }
            Value::Array(items) => items.iter().for_each(|value| walk(value, stack, found)),
            _ => {}
        }
    }
    let mut found = IndexMap::new();
    for (stack, entry) in &output.stacks {
        walk(&entry.template, stack, &mut found);
    }
    found
}

/// The earlier output's exports that the fresh one removes or changes while a stack imports them.
pub(super) fn blocked(old: &Output, new: &Output) -> Vec<BlockedExport> {
    let fresh = exports(new);
    let mut imported = importers(old);
    for (name, stacks) in importers(new) {
        imported.entry(name).or_default().extend(stacks);
    }
    exports(old)
        .into_iter()
        .filter_map(|(name, (stack, value))| {
            let change = match fresh.get(name) {
                None => Change::Removed,
                Some((_, fresh_value)) if *fresh_value != value => Change::Changed,
                Some(_) => return None,
            };
            let importers: Vec<String> =
                imported.get(name)?.iter().filter(|importer| importer.as_str() != stack).cloned().collect();
            (!importers.is_empty()).then(|| BlockedExport {
                export: name.to_owned(),
                stack: stack.to_owned(),
                change,
                importers,
            })
        })
        .collect()
}
