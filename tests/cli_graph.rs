//! `cfn-synth graph` through the binary: each format, and `synth` writing the same SVG beside the
//! manifest.

use std::fs;

use assert_cmd::cargo::cargo_bin_cmd;

fn graph(format: &str) -> String {
    let output = cargo_bin_cmd!("cfn-synth").args(["graph", "--format", format]).assert().success();
    String::from_utf8(output.get_output().stdout.clone()).unwrap()
}

#[test]
fn graph_prints_each_format_and_synth_writes_the_svg() {
    let dot = graph("dot");
    assert!(dot.starts_with("digraph architecture {"));
    assert!(dot.contains("label=\"us-east-1 (primary)\"") && dot.contains("label=\"eu-west-1 (disaster-recovery)\""));
    assert!(dot.contains("label=\"IntegrationPlatform-Primary-Network\""));
    // The chain the security groups admit: ALB to Kong, Kong to the services, the services to the
    // database.
    assert!(dot.contains("label=\"tcp 8000\""), "Kong's proxy port");
    assert!(dot.contains("label=\"tcp 5433\""), "PostgreSQL, on its non-default port");
    assert!(dot.contains("style=dashed"), "cross-stack references");
    let mermaid = graph("mermaid");
    assert!(mermaid.starts_with("flowchart LR\n") && mermaid.contains("-.->"));

    let work = tempfile::tempdir().unwrap();
    cargo_bin_cmd!("cfn-synth").current_dir(work.path()).args(["synth", "--output", "out"]).assert().success();
    let written = fs::read_to_string(work.path().join("out/architecture.svg")).unwrap();
    assert_eq!(written, graph("svg"));
    assert!(written.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\""));
    cargo_bin_cmd!("cfn-synth").args(["graph", "--format", "png"]).assert().code(2);
    let shown = include_str!("../docs/architecture.svg");
    assert!(shown == written, "docs/architecture.svg is stale: cargo run -- graph > docs/architecture.svg");
}
