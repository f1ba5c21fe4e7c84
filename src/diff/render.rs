//! The readable view of a [`Report`]: stack by stack, `[+]` added, `[-]` removed, `[~]` changed, each
//! changed value as a line diff (`similar`), stateful resources at risk called out. Colour is for a
//! terminal only; the caller decides.

use std::fmt::Write as _;

use similar::{ChangeTag, TextDiff};

use super::{Change, Classification, Report, ResourceDiff};

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

struct Painter {
    colour: bool,
}

impl Painter {
    fn paint(&self, style: &str, text: &str) -> String {
        if self.colour {
            format!("{style}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    fn mark(&self, change: Change) -> String {
        match change {
            Change::Added => self.paint(GREEN, "[+]"),
            Change::Removed => self.paint(RED, "[-]"),
            Change::Changed => self.paint(YELLOW, "[~]"),
        }
    }

    /// A line diff of two texts, each line indented and marked `-`/`+`; unchanged lines kept as context.
    fn lines(&self, out: &mut String, indent: &str, old: &str, new: &str) {
        let diff = TextDiff::from_lines(old, new);
        for group in diff.grouped_ops(2) {
            for op in group {
                for change in diff.iter_changes(&op) {
                    let line = change.value().trim_end_matches('\n');
                    let text = match change.tag() {
                        ChangeTag::Delete => self.paint(RED, &format!("- {line}")),
                        ChangeTag::Insert => self.paint(GREEN, &format!("+ {line}")),
                        ChangeTag::Equal => format!("  {line}"),
                    };
                    let _ = writeln!(out, "{indent}{text}");
                }
            }
        }
    }
}

fn pretty(value: Option<&serde_json::Value>) -> String {
    match value {
        Some(value) => {
            let mut text = serde_json::to_string_pretty(value).expect("JSON values serialize");
            text.push('\n');
            text
        }
        None => String::new(),
    }
}

fn classification(class: Classification) -> &'static str {
    match class {
        Classification::NoInterrupt => "no-interrupt",
        Classification::Conditional => "conditional",
        Classification::Replacement => "replacement",
    }
}

/// Renders the report as text, in colour when `colour` is set.
pub fn render(report: &Report, colour: bool) -> String {
    let painter = Painter { colour };
    let mut out = String::new();
    if report.is_empty() {
        out.push_str("no differences\n");
        return out;
    }
    for stack in &report.stacks {
        let what = match stack.change {
            Change::Added => "new stack",
            Change::Removed => "stack removed",
            Change::Changed => "stack",
        };
        let _ = writeln!(
            out,
            "{} {} ({}, {what})",
            painter.mark(stack.change),
            painter.paint(BOLD, &stack.name),
            stack.region
        );
        for resource in &stack.resources {
            resource_view(&painter, &mut out, resource);
        }
        for (label, entries) in [("Output", &stack.outputs), ("Parameter", &stack.parameters)] {
            for entry in entries {
                let _ = writeln!(out, "  {} {label} {}", painter.mark(entry.change), entry.name);
                painter.lines(&mut out, "      ", &pretty(entry.old.as_ref()), &pretty(entry.new.as_ref()));
            }
        }
        for change in &stack.template {
            let _ = writeln!(out, "  [~] template {}", change.pointer);
            painter.lines(&mut out, "      ", &pretty(change.old.as_ref()), &pretty(change.new.as_ref()));
        }
    }
    for blocked in &report.blocked_exports {
        let verb = if blocked.change == Change::Removed { "removes" } else { "changes" };
        let warning = format!(
            "export {} of {}: the update {verb} it while {} imports it, and CloudFormation refuses that; \
             deploy the importers without it first",
            blocked.export,
            blocked.stack,
            blocked.importers.join(", ")
        );
        let _ = writeln!(out, "{}", painter.paint(RED, &warning));
    }
    if !report.manifest.is_empty() {
        let _ = writeln!(out, "{} {}", painter.mark(Change::Changed), painter.paint(BOLD, "manifest.json"));
        for change in &report.manifest {
            let _ = writeln!(out, "  {}", change.pointer);
            painter.lines(&mut out, "      ", &pretty(change.old.as_ref()), &pretty(change.new.as_ref()));
        }
    }
    for file in &report.files {
        let _ = writeln!(out, "{} file {}", painter.mark(file.change), file.file);
    }
    let summary = &report.summary;
    let _ = writeln!(
        out,
        "stacks: {} added, {} removed, {} changed; resources: {} added, {} removed, {} changed ({} replaced)",
        summary.stacks_added,
        summary.stacks_removed,
        summary.stacks_changed,
        summary.resources_added,
        summary.resources_removed,
        summary.resources_changed,
        summary.replacements
    );
    let at_risk = report.data_at_risk();
    if !at_risk.is_empty() {
        let warning = format!("stateful resources replaced or removed: {}", at_risk.join(", "));
        let _ = writeln!(out, "{}", painter.paint(RED, &warning));
    }
    out
}

fn resource_view(painter: &Painter, out: &mut String, resource: &ResourceDiff) {
    let mut notes = Vec::new();
    if let Some(class) = resource.classification {
        notes.push(classification(class).to_owned());
    }
    if resource.stateful {
        notes.push("stateful".to_owned());
    }
    let notes = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join(", ")) };
    let notes = if resource.puts_data_at_risk() { painter.paint(RED, &notes) } else { notes };
    let _ =
        writeln!(out, "  {} {} {}{notes}", painter.mark(resource.change), resource.resource_type, resource.logical_id);
    match (&resource.old_path, &resource.new_path) {
        (Some(old), Some(new)) if old != new => {
            let _ = writeln!(out, "      construct {old} -> {new}");
        }
        (Some(path), _) | (None, Some(path)) => {
            let _ = writeln!(out, "      construct {path}");
        }
        (None, None) => {}
    }
    for change in &resource.properties {
        let _ = writeln!(out, "      {} {}: {}", change.pointer, classification(change.classification), change.reason);
        painter.lines(out, "        ", &pretty(change.old.as_ref()), &pretty(change.new.as_ref()));
    }
}
