//! `cargo codegen`: regenerate `crates/l1/src/`. `cargo codegen -- --check`: fail if it is stale.

use std::path::Path;
use std::process::ExitCode;

fn main() -> anyhow::Result<ExitCode> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("codegen/ sits in the workspace root");
    if std::env::args().any(|argument| argument == "--check") {
        let stale = cfn_synth_codegen::stale_files(root)?;
        if stale.is_empty() {
            println!("{} is up to date", cfn_synth_codegen::L1_SOURCES);
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("{} differs from a fresh generation in: {}", cfn_synth_codegen::L1_SOURCES, stale.join(", "));
        eprintln!("please run `cargo codegen`");
        return Ok(ExitCode::FAILURE);
    }
    let count = cfn_synth_codegen::write(root)?;
    println!("wrote {count} files to {}", cfn_synth_codegen::L1_SOURCES);
    let missing = cfn_synth_codegen::missing_features(root)?;
    if !missing.is_empty() {
        eprintln!("declare these service features in Cargo.toml (and in all-services): {}", missing.join(", "));
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
