//! Known quirks of the registry schemas, patched before modelling, never in generated output.
//!
//! Each fixup names the type it patches and checks that the quirk is still there: when a schema
//! refresh fixes it upstream, the fixup fails and must be deleted, so no stale patch lingers.

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

const FIXUPS: &[Fixup] = &[];

/// Applies every fixup for the schema's type.
pub fn apply(schema: &mut Json) -> Result<()> {
    let type_name = schema["typeName"].as_str().unwrap_or_default().to_owned();
    for fixup in FIXUPS.iter().filter(|fixup| fixup.type_name == type_name) {
        if !(fixup.apply)(schema) {
            bail!("the fixup for {type_name} ({}) no longer applies: delete it", fixup.reason);
        }
    }
    Ok(())
}
