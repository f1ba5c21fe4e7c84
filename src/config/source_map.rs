//! Where each key of a YAML document stands, so that errors found after parsing can still name a
//! line and column.
//!
//! serde reports positions only for errors it raises itself. Checks that look at several values at once
//! (overlapping CIDRs, a duplicate region) run after deserialization, so they name a key path instead,
//! written the way serde writes them (`regions[1].network.vpcCidr`), and this map turns the path into a
//! position.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// Key paths of a YAML document and the position of each key (or of each sequence item).
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    locations: HashMap<String, Location>,
}

impl SourceMap {
    /// Maps a YAML text. A text that does not parse gives an empty map; the parse error itself comes
    /// from serde, which locates it.
    pub fn of(text: &str) -> Self {
        let mut builder = Builder::default();
        if Parser::new_from_str(text).load(&mut builder, false).is_err() {
            return Self::default();
        }
        Self { locations: builder.locations }
    }

    /// The position of a key path, or of its nearest mapped ancestor (`a.b.c` falls back to `a.b`).
    pub fn locate(&self, path: &str) -> Option<Location> {
        let mut path = path;
        loop {
            if let Some(location) = self.locations.get(path) {
                return Some(*location);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

#[derive(Debug)]
enum Frame {
    Mapping { path: String, expecting_key: bool, key: Option<String> },
    Sequence { path: String, next_index: usize },
}

#[derive(Debug, Default)]
struct Builder {
    frames: Vec<Frame>,
    locations: HashMap<String, Location>,
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

impl Builder {
    /// Records a node that starts at `mark` and returns its path, or `None` when the node is a key.
    fn place_node(&mut self, scalar: Option<&str>, mark: Marker) -> Option<String> {
        let location = Location { line: mark.line(), column: mark.col() + 1 };
        match self.frames.last_mut() {
            None => Some(String::new()),
            Some(Frame::Mapping { path, expecting_key, key }) => {
                if *expecting_key {
                    *expecting_key = false;
                    *key = scalar.map(str::to_owned);
                    if let Some(name) = scalar {
                        self.locations.entry(join(path, name)).or_insert(location);
                        // A block mapping's own start mark lies past its first key; use the key's instead.
                        self.locations.entry(path.clone()).or_insert(location);
                    }
                    None
                } else {
                    *expecting_key = true;
                    Some(key.as_deref().map_or_else(|| format!("{path}.?"), |name| join(path, name)))
                }
            }
            Some(Frame::Sequence { path, next_index }) => {
                let item = format!("{path}[{next_index}]");
                *next_index += 1;
                if scalar.is_some() {
                    self.locations.entry(item.clone()).or_insert(location);
                }
                Some(item)
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(value, ..) => {
                self.place_node(Some(&value), mark);
            }
            Event::Alias(_) => {
                self.place_node(None, mark);
            }
            Event::MappingStart(..) => {
                // A mapping used as a key has no path of its own; its contents land under `?`.
                let path = self.place_node(None, mark).unwrap_or_else(|| "?".to_owned());
                self.frames.push(Frame::Mapping { path, expecting_key: true, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.place_node(None, mark).unwrap_or_else(|| "?".to_owned());
                self.frames.push(Frame::Sequence { path, next_index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.frames.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "app: demo\nregions:\n  - role: primary\n    network:\n      vpcCidr: 10.0.0.0/16\n  - role: x\n    network: {vpcCidr: 10.1.0.0/16}\n";

    #[test]
    fn keys_and_items_map_to_their_positions() {
        let map = SourceMap::of(TEXT);
        assert_eq!(map.locate("app"), Some(Location { line: 1, column: 1 }));
        assert_eq!(map.locate("regions[0]"), Some(Location { line: 3, column: 5 }));
        assert_eq!(map.locate("regions[0].network.vpcCidr"), Some(Location { line: 5, column: 7 }));
        assert_eq!(map.locate("regions[1].network.vpcCidr"), Some(Location { line: 7, column: 15 }));
    }

    #[test]
    fn unknown_paths_fall_back_to_their_nearest_ancestor() {
        let map = SourceMap::of(TEXT);
        assert_eq!(map.locate("regions[1].network.azCount"), map.locate("regions[1].network"));
        assert_eq!(map.locate("nothing.here"), None);
    }
}
