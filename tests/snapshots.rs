//! insta snapshots of every synthesized template and of the manifest, kept in `snapshots/`.
//! A change in output is a reviewed diff (`cargo insta review`), never a surprise.

use cfn_synth::assembly::Assembly;
use cfn_synth::config::ConfigFile;
use cfn_synth::construct::SynthesizedApp;
use cfn_synth::graph::{self, Architecture};
use cfn_synth::platform;
use cfn_synth::template::TemplateFormat;

fn default_app() -> SynthesizedApp {
    let config = ConfigFile::embedded_default().unwrap();
    platform::build(config.config()).unwrap().synth().unwrap()
}

fn default_assembly() -> Assembly {
    Assembly::new(&default_app(), TemplateFormat::Json).unwrap()
}

fn in_snapshots(check: impl FnOnce()) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(check);
}

/// The picture of the default platform as DOT and as Mermaid (its SVG is a file of the output).
#[test]
fn the_architecture_graph_of_the_default_platform() {
    let architecture = Architecture::of(&default_app().stacks);
    in_snapshots(|| {
        insta::assert_snapshot!("architecture.dot", graph::dot::render(&architecture));
        insta::assert_snapshot!("architecture.mmd", graph::mermaid::render(&architecture));
    });
}

#[test]
fn every_file_of_the_default_output() {
    let assembly = default_assembly();
    in_snapshots(|| {
        for (name, contents) in &assembly.files {
            insta::assert_snapshot!(name.replace('/', "__"), contents);
        }
    });
    assert_eq!(
        assembly.files.len(),
        30,
        "twenty-three templates, two Kong configs, the database-user script, the buildspec, the DR runbook, \
         the architecture picture and the manifest"
    );
}
