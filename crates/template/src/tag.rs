//! A resource tag, in the `{Key, Value}` shape most CloudFormation resource types take.

use serde::Serialize;

use super::expr::Value;

/// One tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The tag key.
    pub key: Value<String>,
    /// The tag value.
    pub value: Value<String>,
}

impl Tag {
    /// A tag from a key and a value.
    pub fn new(key: impl Into<Value<String>>, value: impl Into<Value<String>>) -> Self {
        Self { key: key.into(), value: value.into() }
    }

    /// The `Name` tag, which the AWS console shows as the resource's name.
    pub fn name(value: impl Into<Value<String>>) -> Self {
        Self::new("Name", value)
    }
}
