//! The checked-in `src/cfn/` is exactly what the generator writes today.

#[test]
fn checked_in_l1_code_matches_a_fresh_generation() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let stale = cfn_synth_codegen::stale_files(root).unwrap();
    assert!(stale.is_empty(), "src/cfn/ is stale in {stale:?}: please run `cargo codegen`");
}
