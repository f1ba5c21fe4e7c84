//! The checked-in `crates/l1/src/` is exactly what the generator writes today.

#[test]
fn checked_in_l1_code_matches_a_fresh_generation() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let stale = cfn_synth_codegen::stale_files(root).unwrap();
    assert!(stale.is_empty(), "crates/l1/src/ is stale in {stale:?}: please run `cargo codegen`");
}

#[test]
fn every_generated_service_has_its_cargo_feature() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let missing = cfn_synth_codegen::missing_features(root).unwrap();
    assert!(missing.is_empty(), "add `<service> = []` and list it in all-services in Cargo.toml for: {missing:?}");
}
