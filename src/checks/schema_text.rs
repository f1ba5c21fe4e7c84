//! Reads a vendored registry schema for validation: what validates, without the prose.
//!
//! The vendored schemas are kept as published (see `schemas/README.md`), so most of their text is
//! documentation: `description`s alone are well over half of the bytes, and the top level also holds
//! handlers, permissions, tagging and identifiers. Parsing all of that into `serde_json` values on
//! every `validate` run, only for the validator compiler to pass over it, was an eighth of `validate`'s
//! instructions (23 of 178 million). Skipped while parsing (`IgnoredAny`: scanned, never built), it
//! costs 9 million fewer in all: less to build, copy into the validator's schema, compile and drop.
//! This reader skips:
//! - at the top, every member [`property_schema`](super::registry_schema) does not read;
//! - in every schema below, the annotation keywords, which JSON Schema says never affect validation.
//!
//! It knows which members hold schemas (`properties`, `items`, `oneOf`, ...), so that a property
//! *named* like an annotation (`"properties": {"description": ...}`) is kept, and data keywords
//! (`enum`, `const`, `default`) are kept verbatim, whatever objects they hold.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value as Json};

/// The members of a resource schema that [`property_schema`](super::registry_schema) reads.
pub(super) const READ_AT_THE_TOP: [&str; 7] =
    ["properties", "required", "additionalProperties", "oneOf", "anyOf", "allOf", "definitions"];

/// Annotation keywords: JSON Schema (draft 7, §10) says they describe and never constrain. The last
/// is the registry's own, a Markdown copy of `description`.
const ANNOTATIONS: [&str; 5] = ["description", "$comment", "title", "examples", "markdownDescription"];

/// Keywords whose value is a schema, or an array of schemas (`items` may be either). Where a keyword
/// allows a plain value instead (`additionalProperties: false`), it is kept as it is.
const SCHEMA_VALUED: [&str; 12] = [
    "items",
    "additionalItems",
    "additionalProperties",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "oneOf",
    "anyOf",
    "allOf",
];

/// Keywords whose value is an object of names, each naming a schema.
const NAMED_SCHEMAS: [&str; 4] = ["properties", "patternProperties", "definitions", "dependencies"];

/// The validation-relevant content of a vendored resource schema: its [`READ_AT_THE_TOP`] members,
/// without annotations at any depth.
pub(super) fn read(text: &str) -> serde_json::Result<Json> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = Read::Top.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// What the value being read is, which decides what of it is kept.
#[derive(Clone, Copy)]
enum Read {
    /// The resource schema itself: only the members read at the top are kept, as schemas.
    Top,
    /// A schema: annotations are dropped, schema-valued keywords are read as schemas, anything else
    /// is kept verbatim.
    Schema,
    /// An object of names to schemas (`properties`, `definitions`, ...): every name is kept.
    Names,
    /// Data (`enum`, `const`, `required`, `pattern`, ...): kept verbatim.
    Verbatim,
}

impl Read {
    /// How a member of an object read as `self` is read.
    fn member(self, key: &str) -> Option<Read> {
        match self {
            Read::Top if READ_AT_THE_TOP.contains(&key) => Some(Read::Schema.member(key).unwrap_or(Read::Verbatim)),
            Read::Top => None,
            Read::Schema if ANNOTATIONS.contains(&key) => None,
            Read::Schema if NAMED_SCHEMAS.contains(&key) => Some(Read::Names),
            Read::Schema if SCHEMA_VALUED.contains(&key) => Some(Read::Schema),
            Read::Schema | Read::Verbatim => Some(Read::Verbatim),
            Read::Names => Some(Read::Schema),
        }
    }

    /// How an item of an array read as `self` is read: the alternatives of `oneOf` and a tuple's
    /// `items` are schemas; `enum` and `required` items are data.
    fn item(self) -> Read {
        match self {
            Read::Schema => Read::Schema,
            _ => Read::Verbatim,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Read {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        match self {
            Read::Verbatim => serde::Deserialize::deserialize(deserializer),
            _ => deserializer.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Read {
    type Value = Json;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Json, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Json, E> {
        Ok(Json::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Json, E> {
        Ok(Json::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Json, E> {
        Ok(Json::from(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Json, E> {
        Ok(Json::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Json, E> {
        Ok(Json::String(value))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Json, A::Error> {
        let mut kept = Vec::with_capacity(items.size_hint().unwrap_or(0));
        while let Some(item) = items.next_element_seed(self.item())? {
            kept.push(item);
        }
        Ok(Json::Array(kept))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Json, A::Error> {
        let mut kept = Map::new();
        while let Some(key) = members.next_key::<Key<'de>>()? {
            match self.member(key.as_str()) {
                Some(read) => {
                    let value = members.next_value_seed(read)?;
                    kept.insert(key.into_owned(), value);
                }
                None => {
                    members.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Json::Object(kept))
    }
}

/// A member name, borrowed from the text unless it holds escapes: most names read are skipped.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(key) => key,
            Key::Owned(key) => key,
        }
    }

    fn into_owned(self) -> String {
        match self {
            Key::Borrowed(key) => key.to_owned(),
            Key::Owned(key) => key,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a member name")
            }

            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(key))
            }

            fn visit_str<E>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(key.to_owned()))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn annotations_go_names_and_data_stay() {
        let text = json!({
            "typeName": "AWS::Some::Thing",
            "description": "a thing",
            "handlers": {"create": {"permissions": ["some:CreateThing"]}},
            "additionalProperties": false,
            "required": ["Name"],
            "properties": {
                "description": {"type": "string", "description": "a property named like the keyword"},
                "Name": {"$comment": "c", "title": "t", "type": "string", "pattern": "^[a-z]+$", "examples": ["a"]},
                "Mode": {"enum": [{"description": "data, not prose"}, "b"], "default": {"title": "kept"}},
                "Items": {"type": "array", "items": [{"description": "d", "type": "integer"}, true]},
                "Map": {"patternProperties": {"^x$": {"markdownDescription": "m", "type": "object"}}}
            },
            "definitions": {"Tag": {"description": "d", "oneOf": [{"description": "d", "required": ["Key"]}]}},
            "oneOf": [{"required": ["Name"], "description": "d"}]
        })
        .to_string();
        assert_eq!(
            read(&text).unwrap(),
            json!({
                "additionalProperties": false,
                "required": ["Name"],
                "properties": {
                    "description": {"type": "string"},
                    "Name": {"type": "string", "pattern": "^[a-z]+$"},
                    "Mode": {"enum": [{"description": "data, not prose"}, "b"], "default": {"title": "kept"}},
                    "Items": {"type": "array", "items": [{"type": "integer"}, true]},
                    "Map": {"patternProperties": {"^x$": {"type": "object"}}}
                },
                "definitions": {"Tag": {"oneOf": [{"required": ["Key"]}]}},
                "oneOf": [{"required": ["Name"]}]
            })
        );
    }

    #[test]
    fn escaped_names_and_bad_text_are_read_as_json_reads_them() {
        assert_eq!(
            read(r#"{"properties": {"N\u0061me": {"type": "string"}}}"#).unwrap(),
            json!({"properties": {"Name": {"type": "string"}}})
        );
        assert!(read(r#"{"properties": {"#).is_err());
        assert!(read(r#"{"properties": {}} trailing"#).is_err());
    }

    /// What [`read`] should give, the slow way: the whole text parsed, then pruned.
    fn pruned(value: &Json, read: Read) -> Option<Json> {
        Some(match value {
            Json::Object(members) if !matches!(read, Read::Verbatim) => Json::Object(
                members
                    .iter()
                    .filter_map(|(key, member)| Some((key.clone(), pruned(member, read.member(key)?)?)))
                    .collect(),
            ),
            Json::Array(items) => Json::Array(items.iter().filter_map(|item| pruned(item, read.item())).collect()),
            other => other.clone(),
        })
    }

    /// Every vendored schema reads as the published one, pruned by the same rules after parsing,
    /// and the reading drops most of each schema's text.
    #[test]
    fn every_vendored_schema_reads_as_its_published_text_pruned() {
        let (mut published_bytes, mut read_bytes) = (0, 0);
        for spec in crate::cfn::resource_specs() {
            let published: Json = serde_json::from_str(spec.schema).unwrap();
            let read = read(spec.schema).unwrap();
            assert_eq!(Some(&read), pruned(&published, Read::Top).as_ref(), "{}", spec.type_name);
            assert!(read.get("properties").is_some(), "{}", spec.type_name);
            published_bytes += published.to_string().len();
            read_bytes += read.to_string().len();
        }
        assert!(read_bytes * 2 < published_bytes, "{read_bytes} of {published_bytes} bytes kept");
    }
}
