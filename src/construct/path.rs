//! Construct paths and the logical IDs derived from them.
//!
//! A logical ID is the construct path below the stack, each id in PascalCase, concatenated: the path
//! `Network/Vpc/public-subnet-1` gives `VpcPublicSubnet1`. A segment named `Resource` is left out, so an L2
//! construct's main L1 resource carries the construct's own name (`Network/FlowLogs/Resource` gives
//! `FlowLogs`), as in the AWS CDK. Because an ID depends only on its path, adding or removing other
//! constructs never moves it; two paths that map to the same ID are an error, never a hash suffix.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::error::ConstructError;

/// The id segment that is left out of logical IDs: the main resource of a construct.
pub const DEFAULT_CHILD_ID: &str = "Resource";

/// The maximum length of a construct id.
const MAX_ID_LENGTH: usize = 128;

/// The maximum length of a CloudFormation logical ID.
const MAX_LOGICAL_ID_LENGTH: usize = 255;

/// The path of a construct: its stack name followed by the ids from the stack down.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConstructPath {
    segments: Vec<Arc<Segment>>,
}

/// One id of a path, shared by every path below it (a child's path copies its parent's segments by
/// reference count, not by string), with its part of a logical ID worked out once. Compared, hashed
/// and shown by the id alone.
struct Segment {
    id: String,
    /// [`pascal_case`] of the id; empty for [`DEFAULT_CHILD_ID`], which logical IDs leave out.
    logical: String,
}

impl Segment {
    fn new(id: &str) -> Arc<Self> {
        let logical = if id == DEFAULT_CHILD_ID { String::new() } else { pascal_case(id) };
        Arc::new(Self { id: id.to_owned(), logical })
    }
}

impl PartialEq for Segment {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Segment {}

impl PartialOrd for Segment {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Segment {
    fn cmp(&self, other: &Self) -> Ordering {
        self.id.cmp(&other.id)
    }
}

impl Hash for Segment {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.id, f)
    }
}

impl ConstructPath {
    /// The root path of a stack.
    pub(crate) fn stack_root(stack_name: &str) -> Self {
        Self { segments: vec![Arc::new(Segment { id: stack_name.to_owned(), logical: String::new() })] }
    }

    /// The path of a child with the given id, checking that the id can become part of a logical ID.
    pub fn child(&self, id: &str) -> Result<Self, ConstructError> {
        let valid = !id.is_empty()
            && id.len() <= MAX_ID_LENGTH
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && id.chars().any(|c| c.is_ascii_alphanumeric());
        if !valid {
            return Err(ConstructError::InvalidId { parent: self.to_string(), id: id.to_owned() });
        }
        let mut segments = Vec::with_capacity(self.segments.len() + 1);
        segments.extend(self.segments.iter().cloned());
        segments.push(Segment::new(id));
        Ok(Self { segments })
    }

    /// The path of the construct a resource belongs to: the path itself, or its parent's when the
    /// resource is the construct's main one (`Resource`). What rule descriptions call a construct.
    pub fn construct(&self) -> String {
        let path = self.to_string();
        match path.strip_suffix(&format!("/{DEFAULT_CHILD_ID}")) {
            Some(owner) => owner.to_owned(),
            None => path,
        }
    }

    /// The name of the stack the path is in.
    pub fn stack_name(&self) -> &str {
        &self.segments[0].id
    }

    /// The path as text (`Stack/Network/Vpc`), as [`fmt::Display`] writes it, in a `String` of exactly
    /// its length: every resource records its path, and growing the text through `to_string` copied it
    /// several times over.
    pub fn text(&self) -> String {
        let separators = self.segments.len().saturating_sub(1);
        let length = self.segments.iter().map(|segment| segment.id.len()).sum::<usize>() + separators;
        let mut text = String::with_capacity(length);
        fmt::Write::write_fmt(&mut text, format_args!("{self}")).expect("writing to a String does not fail");
        text
    }

    /// The logical ID for a resource at this path.
    pub fn logical_id(&self) -> String {
        let below_stack = &self.segments[1..];
        let mut id = String::with_capacity(below_stack.iter().map(|segment| segment.logical.len()).sum());
        for segment in below_stack {
            id.push_str(&segment.logical);
        }
        // A stack-level `Resource` would leave nothing; keep the segment rather than an empty ID.
        if id.is_empty() {
            id.push_str(DEFAULT_CHILD_ID);
        }
        // Ids are ASCII (`child` checks), so the length in bytes is the length in characters.
        id.truncate(MAX_LOGICAL_ID_LENGTH);
        id
    }
}

impl fmt::Display for ConstructPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.segments.iter().enumerate() {
            if position > 0 {
                f.write_str("/")?;
            }
            f.write_str(&segment.id)?;
        }
        Ok(())
    }
}

/// `private-app_subnet` → `PrivateAppSubnet`; letters already upper-case stay so (`VPCEndpoint`).
pub fn pascal_case(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for part in id.split(['-', '_']) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(ids: &[&str]) -> ConstructPath {
        ids.iter().fold(ConstructPath::stack_root("Net"), |path, id| path.child(id).unwrap())
    }

    #[test]
    fn the_text_is_what_display_writes_and_no_longer() {
        for path in [ConstructPath::stack_root("Net"), path(&["Vpc"]), path(&["Vpc", "public-subnet-1", "Resource"])] {
            let text = path.text();
            assert_eq!(text, path.to_string());
            assert_eq!(text.capacity(), text.len(), "{text}");
        }
        assert_eq!(path(&["Vpc", "Resource"]).text(), "Net/Vpc/Resource");
    }

    #[test]
    fn logical_ids_concatenate_pascal_cased_ids_below_the_stack() {
        assert_eq!(path(&["Vpc", "public-subnet-1"]).logical_id(), "VpcPublicSubnet1");
        assert_eq!(path(&["flow_logs", "Resource"]).logical_id(), "FlowLogs");
        assert_eq!(path(&["Vpc"]).logical_id(), "Vpc");
        assert_eq!(path(&["VPCEndpoint"]).logical_id(), "VPCEndpoint");
        assert_eq!(path(&["Resource"]).logical_id(), "Resource");
    }

    #[test]
    fn paths_display_with_their_stack() {
        assert_eq!(path(&["Vpc", "Subnet"]).to_string(), "Net/Vpc/Subnet");
        assert_eq!(path(&["Vpc"]).stack_name(), "Net");
    }

    #[test]
    fn ids_that_cannot_form_a_logical_id_are_rejected() {
        for bad in ["", "a b", "a/b", "ü", "--", &"x".repeat(129)] {
            let err = ConstructPath::stack_root("Net").child(bad).unwrap_err();
            assert!(matches!(err, ConstructError::InvalidId { .. }), "{bad:?}: {err}");
        }
    }
}
