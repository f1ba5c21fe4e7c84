//! SVG, laid out here: one column per region, its stacks boxed one under another in deploy order, each
//! stack's nodes on a grid inside its box; traffic drawn as solid arrows with their ports, references as
//! faint dashed arrows. Every coordinate is an integer computed from the model, so the same app gives
//! the same bytes.
//!
//! Graphviz-style layout engines in Rust (layout-rs) do not draw clusters, and regions and stacks are
//! what this picture is for; a grid keeps them as boxes and needs no Graphviz install.

use std::fmt::Write as _;

use indexmap::IndexMap;

use super::{Architecture, Edge, Node, NodeKind};

const MARGIN: i64 = 24;
const LEGEND_HEIGHT: i64 = 56;
const COLUMN_GAP: i64 = 80;
const REGION_HEADER: i64 = 34;
const STACK_HEADER: i64 = 26;
const STACK_GAP: i64 = 18;
const STACK_PADDING: i64 = 12;
const NODES_PER_ROW: i64 = 3;
const NODE_WIDTH: i64 = 236;
const NODE_GAP: i64 = 14;
const LINE_HEIGHT: i64 = 14;
const NODE_TITLE: i64 = 20;
const NODE_PADDING: i64 = 8;
const COLUMN_WIDTH: i64 = 2 * STACK_PADDING + NODES_PER_ROW * NODE_WIDTH + (NODES_PER_ROW - 1) * NODE_GAP;

/// A placed node: its box.
#[derive(Debug, Clone, Copy)]
struct Placed {
    x: i64,
    y: i64,
    width: i64,
    height: i64,
}

impl Placed {
    fn centre(self) -> (i64, i64) {
        (self.x + self.width / 2, self.y + self.height / 2)
    }
}

/// `text` with the characters markup gives a meaning to written as entities, in one pass: most
/// titles and labels have none, and four `replace` calls copied each of them four times.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(['&', '<', '>', '"']) {
        escaped.push_str(&rest[..at]);
        escaped.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            _ => "&quot;",
        });
        rest = &rest[at + 1..];
    }
    escaped.push_str(rest);
    escaped
}

fn node_height(node: &Node) -> i64 {
    NODE_TITLE + LINE_HEIGHT * i64::try_from(node.lines.len()).unwrap_or(0) + NODE_PADDING
}

/// The picture's width and height, in pixels, for `architecture`.
pub fn size(architecture: &Architecture) -> (i64, i64) {
    let (width, height, _) = layout(architecture);
    (width, height)
}

/// Places every node; returns the canvas size, and the boxes of regions and stacks as drawing commands.
fn layout(architecture: &Architecture) -> (i64, i64, Layout) {
    let mut placed = IndexMap::new();
    let mut boxes = Vec::new();
    let mut bottom = MARGIN + LEGEND_HEIGHT;
    for (index, region) in architecture.regions.iter().enumerate() {
        let x = MARGIN + i64::try_from(index).unwrap_or(0) * (COLUMN_WIDTH + COLUMN_GAP);
        let top = MARGIN + LEGEND_HEIGHT;
        let mut y = top + REGION_HEADER;
        for stack in &region.stacks {
            let stack_top = y;
            y += STACK_HEADER;
            for row in stack.nodes.chunks(usize::try_from(NODES_PER_ROW).unwrap_or(1)) {
                let row_height = row.iter().map(node_height).max().unwrap_or(0);
                for (column, node) in row.iter().enumerate() {
                    let node_x = x + STACK_PADDING + i64::try_from(column).unwrap_or(0) * (NODE_WIDTH + NODE_GAP);
                    placed
                        .insert(node.id.clone(), Placed { x: node_x, y, width: NODE_WIDTH, height: node_height(node) });
                }
                y += row_height + NODE_GAP;
            }
            // The last row's gap becomes the box's bottom padding.
            y += if stack.nodes.is_empty() { STACK_PADDING } else { STACK_PADDING - NODE_GAP };
            boxes.push(Box::Stack { x, y: stack_top, height: y - stack_top, title: stack.name.clone() });
            y += STACK_GAP;
        }
        boxes.push(Box::Region { x, y: top, height: y - top, title: Architecture::region_title(region) });
        bottom = bottom.max(y);
    }
    let columns = i64::try_from(architecture.regions.len().max(1)).unwrap_or(1);
    let width = 2 * MARGIN + columns * COLUMN_WIDTH + (columns - 1) * COLUMN_GAP;
    (width, bottom + MARGIN, Layout { placed, boxes })
}

struct Layout {
    placed: IndexMap<String, Placed>,
    boxes: Vec<Box>,
}

enum Box {
    Region { x: i64, y: i64, height: i64, title: String },
    Stack { x: i64, y: i64, height: i64, title: String },
}

/// A little over the bytes a node, a box or an edge takes in the SVG: the reference platform's 282 take
/// 61,961 bytes, 220 each.
const SVG_BYTES_PER_ITEM: usize = 256;

/// Renders the architecture as a standalone SVG document.
pub fn render(architecture: &Architecture) -> String {
    let (width, height, Layout { placed, boxes }) = layout(architecture);
    // Room for the whole picture up front: grown from empty, it was copied over at each doubling.
    let items = placed.len() + boxes.len() + architecture.traffic.len() + architecture.references.len();
    let mut out = String::with_capacity(SVG_BYTES_PER_ITEM * items);
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         font-family=\"Helvetica, Arial, sans-serif\">"
    );
    out.push_str(concat!(
        "<defs>",
        "<marker id=\"traffic\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">",
        "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#b5471b\"/></marker>",
        "<marker id=\"reference\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\">",
        "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#7a8794\"/></marker>",
        "</defs>\n"
    ));
    let _ = writeln!(out, "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>");
    let _ = writeln!(
        out,
        "<text x=\"{MARGIN}\" y=\"{}\" font-size=\"16\" font-weight=\"bold\" fill=\"#1d2733\">Architecture: {} stacks in {} regions</text>",
        MARGIN + 14,
        architecture.regions.iter().map(|region| region.stacks.len()).sum::<usize>(),
        architecture.regions.len()
    );
    let legend_y = MARGIN + 38;
    let _ = writeln!(
        out,
        "<line x1=\"{MARGIN}\" y1=\"{legend_y}\" x2=\"{}\" y2=\"{legend_y}\" stroke=\"#b5471b\" stroke-width=\"2\" marker-end=\"url(#traffic)\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#1d2733\">traffic a security group admits, with its ports</text>\
         <line x1=\"{}\" y1=\"{legend_y}\" x2=\"{}\" y2=\"{legend_y}\" stroke=\"#7a8794\" stroke-dasharray=\"5,4\" marker-end=\"url(#reference)\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#1d2733\">cross-stack reference</text>",
        MARGIN + 40,
        MARGIN + 48,
        legend_y + 4,
        MARGIN + 340,
        MARGIN + 380,
        MARGIN + 388,
        legend_y + 4
    );
    for item in &boxes {
        match item {
            Box::Region { x, y, height, title } => {
                let _ = writeln!(
                    out,
                    "<rect x=\"{}\" y=\"{y}\" width=\"{}\" height=\"{height}\" rx=\"10\" fill=\"none\" stroke=\"#5b6b7b\" stroke-width=\"1.5\"/>\
                     <text x=\"{}\" y=\"{}\" font-size=\"15\" font-weight=\"bold\" fill=\"#1d2733\">{}</text>",
                    x - 8,
                    COLUMN_WIDTH + 16,
                    x + 4,
                    y + 22,
                    escape(title)
                );
            }
            Box::Stack { x, y, height, title } => {
                let _ = writeln!(
                    out,
                    "<rect x=\"{x}\" y=\"{y}\" width=\"{COLUMN_WIDTH}\" height=\"{height}\" rx=\"6\" fill=\"#f4f6f8\" stroke=\"#c7d0d9\"/>\
                     <text x=\"{}\" y=\"{}\" font-size=\"12\" font-weight=\"bold\" fill=\"#33414f\">{}</text>",
                    x + STACK_PADDING,
                    y + 17,
                    escape(title)
                );
            }
        }
    }
    // References under the nodes (there are many, and they only say "this reads that"), traffic over them.
    for edge in &architecture.references {
        edge_path(
            &mut out,
            &placed,
            edge,
            "stroke=\"#7a8794\" stroke-opacity=\"0.45\" stroke-dasharray=\"5,4\" marker-end=\"url(#reference)\"",
            false,
        );
    }
    for (_, node) in architecture.nodes() {
        let Some(at) = placed.get(&node.id) else { continue };
        let (fill, stroke) = match node.kind {
            NodeKind::Tier(_) => ("#ffffff", "#9aa7b4"),
            NodeKind::SecurityGroup => ("#fff4d6", "#c99a2e"),
            NodeKind::Source => ("#e3f1ff", "#4a7fb5"),
        };
        let _ = write!(
            out,
            "<g id=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"4\" fill=\"{fill}\" stroke=\"{stroke}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"11\" font-weight=\"bold\" fill=\"#1d2733\"{}>{}</text>",
            node.id,
            at.x,
            at.y,
            at.width,
            at.height,
            at.x + 8,
            at.y + 14,
            fit(&node.title, at.width - 16),
            escape(&node.title)
        );
        for (index, line) in node.lines.iter().enumerate() {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#4a5663\">{}</text>",
                at.x + 8,
                at.y + NODE_TITLE + 8 + LINE_HEIGHT * i64::try_from(index).unwrap_or(0),
                escape(line)
            );
        }
        out.push_str("</g>\n");
    }
    for edge in &architecture.traffic {
        edge_path(
            &mut out,
            &placed,
            edge,
            "stroke=\"#b5471b\" stroke-width=\"1.6\" marker-end=\"url(#traffic)\"",
            true,
        );
    }
    out.push_str("</svg>\n");
    out
}

/// A title too long for its box is squeezed into it (about 6.5 pixels a character at 11 pixels bold).
fn fit(title: &str, width: i64) -> String {
    let natural = i64::try_from(title.chars().count()).unwrap_or(i64::MAX).saturating_mul(13) / 2;
    if natural > width {
        format!(" textLength=\"{width}\" lengthAdjust=\"spacingAndGlyphs\"")
    } else {
        String::new()
    }
}

/// Where a line from the centre of `from` towards `towards` leaves its box: a side when the line runs
/// more across than down, else the top or bottom.
fn border(from: Placed, towards: (i64, i64)) -> (i64, i64) {
    let (x, y) = from.centre();
    let (dx, dy) = (towards.0 - x, towards.1 - y);
    if dx.abs() * from.height > dy.abs() * from.width {
        (if dx > 0 { from.x + from.width } else { from.x }, y)
    } else {
        (x, if dy > 0 { from.y + from.height } else { from.y })
    }
}

/// A curved edge between two nodes' borders, bowed sideways so that edges between nodes of one column
/// do not run over the nodes between them; labelled at its middle when `labelled`.
fn edge_path(out: &mut String, placed: &IndexMap<String, Placed>, edge: &Edge, style: &str, labelled: bool) {
    let (Some(from), Some(to)) = (placed.get(&edge.from), placed.get(&edge.to)) else { return };
    let ((a1, b1), (a2, b2)) = (from.centre(), to.centre());
    let bow = 40 + (b2 - b1).abs() / 8;
    let (cx, cy) = ((a1 + a2) / 2 + bow, (b1 + b2) / 2);
    let ((x1, y1), (x2, y2)) = (border(*from, (cx, cy)), border(*to, (cx, cy)));
    let _ = writeln!(out, "<path d=\"M{x1},{y1} Q{cx},{cy} {x2},{y2}\" fill=\"none\" {style}/>");
    if labelled {
        let (lx, ly) = ((x1 + 2 * cx + x2) / 4, (y1 + 2 * cy + y2) / 4);
        let _ = writeln!(
            out,
            "<text x=\"{lx}\" y=\"{ly}\" font-size=\"10\" fill=\"#b5471b\" paint-order=\"stroke\" stroke=\"#ffffff\" stroke-width=\"3\">{}</text>",
            escape(&edge.label)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_characters_become_entities_and_the_rest_stays() {
        assert_eq!(escape("a & <b> \"c\" é>"), "a &amp; &lt;b&gt; &quot;c&quot; é&gt;");
        assert_eq!(escape("&&"), "&amp;&amp;");
        assert_eq!(escape("tcp 5432"), "tcp 5432");
        assert_eq!(escape(""), "");
    }
}
