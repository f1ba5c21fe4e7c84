//! The same input gives byte-identical output: in process, and through the binary.

use std::collections::BTreeMap;
use std::fs;

use assert_cmd::cargo::cargo_bin_cmd;
use cfn_synth::assembly::Assembly;
use cfn_synth::config::ConfigFile;
use cfn_synth::platform;
use cfn_synth::template::TemplateFormat;

fn synthesize(format: TemplateFormat) -> Vec<(String, String)> {
    let config = ConfigFile::embedded_default().unwrap();
    let app = platform::build(config.config()).unwrap().synth().unwrap();
    Assembly::new(&app, format).unwrap().files
}

#[test]
fn two_syntheses_in_one_process_are_identical() {
    for format in [TemplateFormat::Json, TemplateFormat::Yaml] {
        assert_eq!(synthesize(format), synthesize(format));
    }
}

#[test]
fn two_runs_of_the_binary_write_identical_directories() {
    let work = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for run in ["first", "second"] {
        cargo_bin_cmd!("cfn-synth").current_dir(work.path()).args(["synth", "--output", run]).assert().success();
        let files = files_below(&work.path().join(run), "");
        outputs.push(files);
    }
    assert_eq!(
        outputs[0].len(),
        30,
        "twenty-three templates, two Kong configs, the database-user script, the buildspec, the DR runbook, the architecture picture and the manifest"
    );
    assert_eq!(outputs[0], outputs[1]);
    let in_process: BTreeMap<String, Vec<u8>> =
        synthesize(TemplateFormat::Json).into_iter().map(|(name, text)| (name, text.into_bytes())).collect();
    assert_eq!(outputs[0], in_process, "the binary writes what the library renders");
}

/// Every file below `dir`, by path relative to it.
fn files_below(dir: &std::path::Path, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.path().is_dir() {
            files.extend(files_below(&entry.path(), &format!("{name}/")));
        } else {
            files.insert(name, fs::read(entry.path()).unwrap());
        }
    }
    files
}

/// `synth` (the CLI's `into_synth`) moves each resource's typed properties into its document; the
/// library's `synth` keeps the app and serializes them. Both give the same documents, key order
/// included, for the reference platform and for `stacks/large.yaml` (40 services, every L1 type the
/// platform builds).
#[test]
fn a_consuming_synthesis_moves_into_the_documents_a_borrowing_one_serializes() {
    let large = ConfigFile::parse(
        "stacks/large.yaml".to_owned(),
        &fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/large.yaml")).unwrap(),
    )
    .unwrap();
    for config in [ConfigFile::embedded_default().unwrap(), large] {
        let kept = platform::build(config.config()).unwrap().synth().unwrap();
        let consumed = platform::build(config.config()).unwrap().into_synth().unwrap();
        assert_eq!(kept.stacks.len(), consumed.stacks.len());
        for (kept, consumed) in kept.stacks.iter().zip(&consumed.stacks) {
            assert_eq!(
                serde_json::to_string(&kept.template).unwrap(),
                serde_json::to_string(&consumed.template).unwrap(),
                "stack {}",
                kept.name
            );
        }
    }
}
