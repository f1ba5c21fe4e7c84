//! Graphviz DOT: regions and stacks as nested clusters, traffic as solid edges, references dashed.

use std::fmt::Write as _;

use super::{Architecture, NodeKind};

/// Quotes a DOT string.
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Renders the architecture as a DOT digraph.
pub fn render(architecture: &Architecture) -> String {
    let mut out = String::new();
    out.push_str("digraph architecture {\n");
    out.push_str("  rankdir=LR;\n  compound=true;\n  fontname=\"Helvetica\";\n");
    out.push_str(
        "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\", fontsize=10];\n",
    );
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for (r, region) in architecture.regions.iter().enumerate() {
        let _ = writeln!(out, "  subgraph cluster_region_{r} {{");
        let _ = writeln!(
            out,
            "    label={};\n    style=\"rounded\";\n    color=\"#5b6b7b\";",
            quote(&Architecture::region_title(region))
        );
        for (s, stack) in region.stacks.iter().enumerate() {
            let _ = writeln!(out, "    subgraph cluster_stack_{r}_{s} {{");
            let _ = writeln!(
                out,
                "      label={};\n      style=\"rounded,filled\";\n      fillcolor=\"#f4f6f8\";",
                quote(&stack.name)
            );
            for node in &stack.nodes {
                let mut label = node.title.clone();
                for line in &node.lines {
                    label.push('\n');
                    label.push_str(line);
                }
                let fill = match node.kind {
                    NodeKind::Tier(_) => "#ffffff",
                    NodeKind::SecurityGroup => "#fff4d6",
                    NodeKind::Source => "#e3f1ff",
                };
                let _ = writeln!(out, "      {} [label={}, fillcolor=\"{fill}\"];", node.id, quote(&label));
            }
            out.push_str("    }\n");
        }
        out.push_str("  }\n");
    }
    for edge in &architecture.traffic {
        let _ = writeln!(out, "  {} -> {} [label={}, color=\"#b5471b\"];", edge.from, edge.to, quote(&edge.label));
    }
    for edge in &architecture.references {
        let _ = writeln!(
            out,
            "  {} -> {} [label={}, style=dashed, color=\"#7a8794\"];",
            edge.from,
            edge.to,
            quote(&edge.label)
        );
    }
    out.push_str("}\n");
    out
}
