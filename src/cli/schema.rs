//! `cfn-synth schema`: the JSON Schema of the config file.

use super::ExitStatus;

pub(super) fn run() -> anyhow::Result<ExitStatus> {
    println!("{}", serde_json::to_string_pretty(&cfn_synth::config::json_schema())?);
    Ok(ExitStatus::Success)
}
