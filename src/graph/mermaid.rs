//! Mermaid: a `flowchart LR` with regions and stacks as subgraphs, traffic as `-->`, references `-.->`.

use std::fmt::Write as _;

use super::Architecture;

/// Escapes text for a quoted Mermaid label.
fn text(value: &str) -> String {
    value.replace('"', "#quot;")
}

/// Renders the architecture as a Mermaid flowchart.
pub fn render(architecture: &Architecture) -> String {
    let mut out = String::from("flowchart LR\n");
    for (r, region) in architecture.regions.iter().enumerate() {
        let _ = writeln!(out, "  subgraph region{r}[\"{}\"]", text(&Architecture::region_title(region)));
        out.push_str("    direction TB\n");
        for (s, stack) in region.stacks.iter().enumerate() {
            let _ = writeln!(out, "    subgraph stack{r}_{s}[\"{}\"]", text(&stack.name));
            for node in &stack.nodes {
                let mut label = text(&node.title);
                for line in &node.lines {
                    label.push_str("<br/>");
                    label.push_str(&text(line));
                }
                let _ = writeln!(out, "      {}[\"{label}\"]", node.id);
            }
            out.push_str("    end\n");
        }
        out.push_str("  end\n");
    }
    for edge in &architecture.traffic {
        let _ = writeln!(out, "  {} -->|\"{}\"| {}", edge.from, text(&edge.label), edge.to);
    }
    for edge in &architecture.references {
        let _ = writeln!(out, "  {} -.->|\"{}\"| {}", edge.from, text(&edge.label), edge.to);
    }
    out
}
