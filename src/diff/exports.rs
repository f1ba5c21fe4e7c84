//! Exports that an update could not remove or change: CloudFormation refuses to delete an export, or
//! change its value, while a deployed stack imports it, and the manifest's order deploys the exporting
//! stack before its importers.

use indexmap::{IndexMap, IndexSet};
use serde_json::Value;

use super::output::Output;
use super::{BlockedExport, Change};

/// An export's identity: exports are per region, so two regions may export one name.
type ExportKey = (String, String);

/// (region, export name) → (exporting stack, exported value).
fn exports(output: &Output) -> IndexMap<ExportKey, (&str, &Value)> {
    let mut exports = IndexMap::new();
    for (stack, entry) in &output.stacks {
        let Some(outputs) = entry.template["Outputs"].as_object() else { continue };
        for output in outputs.values() {
            if let Some(name) = output["Export"]["Name"].as_str() {
                exports.insert((entry.region.clone(), name.to_owned()), (stack.as_str(), &output["Value"]));
            }
        }
    }
    exports
}

/// (region, export name) → the stacks of that region that import it by a literal `Fn::ImportValue`.
fn importers(output: &Output) -> IndexMap<ExportKey, IndexSet<String>> {
    fn walk(value: &Value, region: &str, stack: &str, found: &mut IndexMap<ExportKey, IndexSet<String>>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(name)) = map.get("Fn::ImportValue") {
                    found.entry((region.to_owned(), name.clone())).or_default().insert(stack.to_owned());
                }
                map.values().for_each(|value| walk(value, region, stack, found));
            }
            Value::Array(items) => items.iter().for_each(|value| walk(value, region, stack, found)),
            _ => {}
        }
    }
    let mut found = IndexMap::new();
    for (stack, entry) in &output.stacks {
        walk(&entry.template, &entry.region, stack, &mut found);
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
        .filter_map(|(key, (stack, value))| {
            let change = match fresh.get(&key) {
                None => Change::Removed,
                Some((_, fresh_value)) if *fresh_value != value => Change::Changed,
                Some(_) => return None,
            };
            let importers: Vec<String> =
                imported.get(&key)?.iter().filter(|importer| importer.as_str() != stack).cloned().collect();
            (!importers.is_empty()).then(|| BlockedExport { export: key.1, stack: stack.to_owned(), change, importers })
        })
        .collect()
}
