//! Known quirks of the registry schemas, patched before generation, never in generated output.
//!
//! Each fixup names the type it patches and checks that the quirk is still there: when a schema
//! refresh fixes it upstream, generation fails until the fixup is deleted, so no stale patch lingers.
//! A patched schema is also written to `crates/l1/src/schemas/`, so that the in-process schema check of
//! `cfn-synth validate` reads the corrected schema.

use anyhow::{bail, Result};
use serde_json::Value as Json;

/// One named patch of one type's schema.
struct Fixup {
    type_name: &'static str,
    /// Why the patch is needed.
    reason: &'static str,
    /// Applies the patch; returns `false` when the quirk is no longer there.
    apply: fn(&mut Json) -> bool,
}

const FIXUPS: &[Fixup] = &[Fixup {
    type_name: "AWS::Logs::LogGroup",
    reason:
        "LogGroupName and KmsKeyId patterns end in Python's `\\Z` anchor, which JSON Schema's ECMA-262 regexes reject",
    apply: python_end_anchors,
}];

/// Applies every fixup for the schema's type; returns whether any changed it.
pub fn apply(schema: &mut Json) -> Result<bool> {
    let type_name = schema["typeName"].as_str().unwrap_or_default().to_owned();
    let mut patched = false;
    for fixup in FIXUPS.iter().filter(|fixup| fixup.type_name == type_name) {
        if !(fixup.apply)(schema) {
            bail!("the fixup for {type_name} ({}) no longer applies: delete it", fixup.reason);
        }
        patched = true;
    }
    Ok(patched)
}

/// `\Z` (end of input in Python) becomes `$`, its meaning in ECMA-262 without the multiline flag.
fn python_end_anchors(schema: &mut Json) -> bool {
    match schema {
        Json::Object(map) => {
            let mut changed = false;
            for (key, value) in map.iter_mut() {
                match value {
                    Json::String(pattern) if key == "pattern" && pattern.ends_with("\\Z") => {
                        pattern.truncate(pattern.len() - 2);
                        pattern.push('$');
                        changed = true;
                    }
                    other => changed |= python_end_anchors(other),
                }
            }
            changed
        }
        Json::Array(items) => items.iter_mut().fold(false, |changed, item| python_end_anchors(item) | changed),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn python_end_anchors_become_dollars_and_a_clean_schema_reports_nothing_to_fix() {
        let mut schema = json!({"typeName": "AWS::Logs::LogGroup", "properties": {"A": {"pattern": "^a+\\Z"}, "B": {"pattern": "^b$"}}});
        assert!(apply(&mut schema).unwrap());
        assert_eq!(schema["properties"]["A"]["pattern"], "^a+$");
        assert_eq!(schema["properties"]["B"]["pattern"], "^b$");
        let err = apply(&mut schema).unwrap_err();
        assert!(err.to_string().contains("no longer applies"), "{err}");
    }
}
