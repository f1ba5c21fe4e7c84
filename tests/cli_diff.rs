//! `cfn-synth diff`, run as a user runs it: exit codes 0, 1, 2 and 3, the readable view, and the `--json`
//! report checked against the schema `--json-schema` prints.

use std::fs;
use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;
use serde_json::Value;

const DATA: &str = "IntegrationPlatform-Primary-Data";

fn cfn_synth(dir: &Path) -> assert_cmd::Command {
    let mut command = cargo_bin_cmd!("cfn-synth");
    command.current_dir(dir);
    command
}

/// Synthesizes the default platform into `dir/out`.
fn synth(dir: &Path) {
    cfn_synth(dir).args(["synth", "--output", "out"]).assert().success();
}

fn template_path(dir: &Path, stack: &str) -> std::path::PathBuf {
    dir.join("out").join(format!("{stack}.template.json"))
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn write(path: &Path, value: &Value) {
    fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

#[test]
fn the_same_app_against_its_own_output_is_no_difference_and_exit_0() {
    let work = tempfile::tempdir().unwrap();
    synth(work.path());
    cfn_synth(work.path())
        .args(["diff", "--against", "out", "--deny-replace"])
        .assert()
        .code(0)
        .stdout("no differences\n");
    let json = cfn_synth(work.path()).args(["diff", "--against", "out", "--json"]).assert().code(0);
    let report: Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(report["stacks"], serde_json::json!([]));
    assert_eq!(report["summary"]["statefulAtRisk"], 0);
}

/// The earlier output as a version of the app whose database construct had another name: its logical
/// ID and construct path differ.
fn rename_database_in_earlier_output(dir: &Path) {
    let path = template_path(dir, DATA);
    let mut template = read(&path);
    let resources = template["Resources"].as_object_mut().unwrap();
    let mut database = resources.shift_remove("Database").expect("the platform's database is `Database`");
    database["Metadata"]["cfn-synth:path"] = Value::from(format!("{DATA}/PrimaryDatabase/Resource"));
    resources.insert("PrimaryDatabase".into(), database);
    write(&path, &template);
}

#[test]
fn a_renamed_database_construct_is_a_removal_plus_an_addition_and_denied() {
    let work = tempfile::tempdir().unwrap();
    synth(work.path());
    rename_database_in_earlier_output(work.path());
    let denied = cfn_synth(work.path()).args(["diff", "--against", "out", "--deny-replace"]).assert().code(3);
    let stdout = String::from_utf8(denied.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("[-] AWS::RDS::DBInstance PrimaryDatabase (stateful)"), "{stdout}");
    assert!(stdout.contains(&format!("construct {DATA}/PrimaryDatabase/Resource")), "{stdout}");
    assert!(stdout.contains("[+] AWS::RDS::DBInstance Database (stateful)"), "{stdout}");
    assert!(stdout.contains(&format!("construct {DATA}/Database/Resource")), "{stdout}");
    assert!(!stdout.contains("\u{1b}["), "no colour when stdout is not a terminal");
    assert!(String::from_utf8_lossy(&denied.get_output().stderr).contains(&format!("{DATA}/PrimaryDatabase")));
    // Without --deny-replace, a difference is exit 1.
    cfn_synth(work.path()).args(["diff", "--against", "out"]).assert().code(1);
}

#[test]
fn a_create_only_change_is_a_replacement_with_its_property_path_and_values() {
    let work = tempfile::tempdir().unwrap();
    synth(work.path());
    let path = template_path(work.path(), DATA);
    let mut template = read(&path);
    template["Resources"]["Database"]["Properties"]["DBName"] = Value::from("legacy");
    template["Resources"]["Database"]["Properties"]["BackupRetentionPeriod"] = Value::from(1);
    write(&path, &template);
    let output = cfn_synth(work.path()).args(["diff", "--against", "out", "--json"]).assert().code(1);
    let report: Value = serde_json::from_slice(&output.get_output().stdout).unwrap();
    let database = &report["stacks"][0]["resources"][0];
    assert_eq!(database["logicalId"], "Database");
    assert_eq!(database["classification"], "replacement");
    let changes: Vec<(&str, &str)> = database["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| (change["pointer"].as_str().unwrap(), change["classification"].as_str().unwrap()))
        .collect();
    assert_eq!(changes, [("/Properties/BackupRetentionPeriod", "no-interrupt"), ("/Properties/DBName", "replacement")]);
    assert_eq!(database["properties"][0]["new"], 7);
    assert_eq!(database["properties"][1]["old"], "legacy");
}

#[test]
fn the_json_report_validates_against_its_schema() {
    let work = tempfile::tempdir().unwrap();
    synth(work.path());
    rename_database_in_earlier_output(work.path());
    fs::write(work.path().join("out/kong/extra.png"), [0x89, b'P', b'N', b'G', 0xff, 0xfe]).unwrap();
    let schema = cfn_synth(work.path()).args(["diff", "--json-schema"]).assert().success();
    let schema: Value = serde_json::from_slice(&schema.get_output().stdout).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let output = cfn_synth(work.path()).args(["diff", "--against", "out", "--json"]).assert().code(1);
    let report: Value = serde_json::from_slice(&output.get_output().stdout).unwrap();
    let errors: Vec<String> = validator.iter_errors(&report).map(|error| error.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(report["files"], serde_json::json!([{"file": "kong/extra.png", "change": "removed"}]));
    // The schema is not vacuous: a report missing its summary fails it.
    let mut broken = report.clone();
    broken.as_object_mut().unwrap().remove("summary");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn an_earlier_output_that_is_not_one_is_a_located_error_exit_2() {
    let work = tempfile::tempdir().unwrap();
    cfn_synth(work.path())
        .args(["diff", "--against", "missing"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing/manifest.json"));
    synth(work.path());
    fs::write(template_path(work.path(), DATA), "{\n  \"Resources\": oops\n}\n").unwrap();
    cfn_synth(work.path())
        .args(["diff", "--against", "out"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("{DATA}.template.json:2:16")));
    // `validate --templates` reads output directories through the same reader.
    cfn_synth(work.path())
        .args(["validate", "--templates", "out"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("{DATA}.template.json:2:16")));
}
