//! insta snapshots of every synthesized template and of the manifest, kept in `snapshots/`.
//! A change in output is a reviewed diff (`cargo insta review`), never a surprise.

use cfn_synth::assembly::Assembly;
use cfn_synth::config::ConfigFile;
use cfn_synth::platform;
use cfn_synth::template::TemplateFormat;

fn default_assembly() -> Assembly {
    let config = ConfigFile::embedded_default().unwrap();
    let app = platform::build(config.config()).unwrap().synth().unwrap();
    Assembly::new(&app, TemplateFormat::Json).unwrap()
}

#[test]
fn every_file_of_the_default_output() {
    let assembly = default_assembly();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for (name, contents) in &assembly.files {
            insta::assert_snapshot!(name.replace('/', "__"), contents);
        }
    });
    assert_eq!(
        assembly.files.len(),
        29,
        "twenty-three templates, two Kong configs, the database-user script, the buildspec, the DR runbook and the manifest"
    );
}
