//! `value["key"]` for template JSON, without hashing the key when the object is small.
//!
//! Reading a template is mostly reading small objects: a template's sections, a resource's `Type` and
//! `Properties`, a rule's ports. `serde_json`'s index hashes the key (SipHash) and probes its table
//! for each lookup, a fifth of what the deploy-readiness analysis and the picture execute. Comparing
//! the key with each of a few keys is cheaper: most differ in length, which is compared first.

use serde_json::{Map, Value};

/// The most keys an object is searched by comparing them one by one; a larger one is hashed into.
const SCANNED_KEYS: usize = 8;

/// `Null`, for a key that is not there, as `serde_json`'s index gives.
static NULL: Value = Value::Null;

/// A member of a JSON object by name.
pub trait Field {
    /// The member `key`, if this is an object that has one.
    fn member(&self, key: &str) -> Option<&Value>;

    /// The member `key` of an object, or `Null` when there is none or this is no object: what
    /// `value[key]` gives.
    fn field(&self, key: &str) -> &Value {
        self.member(key).unwrap_or(&NULL)
    }
}

impl Field for Map<String, Value> {
    fn member(&self, key: &str) -> Option<&Value> {
        if self.len() <= SCANNED_KEYS {
            self.iter().find_map(|(name, value)| (name == key).then_some(value))
        } else {
            self.get(key)
        }
    }
}

impl Field for Value {
    fn member(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|map| map.member(key))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// `field` answers as the index does, for objects either side of the scanned size and for values
    /// that are no objects.
    #[test]
    fn a_field_is_what_the_index_gives() {
        let small = json!({"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}, "": 1});
        let large: Value =
            (0..40).map(|index| (format!("Key{index}"), json!(index))).collect::<serde_json::Map<_, _>>().into();
        let values = [small, large, json!([1, 2]), json!("text"), json!(null), json!({})];
        let keys = ["Type", "Properties", "", "Key0", "Key39", "Key40", "type", "Missing"];
        for value in &values {
            for key in keys {
                assert_eq!(value.field(key), &value[key], "{value} . {key}");
                assert_eq!(value.member(key), value.get(key), "{value} . {key}");
                if let Some(map) = value.as_object() {
                    assert_eq!(map.member(key), map.get(key), "{value} . {key}");
                }
            }
        }
        assert_eq!(values[0].field("Properties").field("TopicName"), "t");
    }
}
