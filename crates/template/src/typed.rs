//! What the generated L1 structs (`cfn_synth::cfn`, the `cfn-synth-l1` crate) build on: a trait carrying each type's identity and
//! replacement metadata, lists that also take a list-valued intrinsic, and typed references.

use std::fmt;
use std::marker::PhantomData;

use serde::{Serialize, Serializer};

use super::expr::{Address, Value};
use super::into_json::IntoJson;

/// The replacement metadata of a resource type, from its registry schema.
///
/// `diff` uses it to tell when a change replaces a resource (a create-only property changed) and
/// which properties identify it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceSpec {
    /// `AWS::EC2::VPC`.
    pub type_name: &'static str,
    /// JSON pointers (`/properties/CidrBlock`) of properties whose change replaces the resource.
    pub create_only_properties: &'static [&'static str],
    /// JSON pointers of the properties that identify the physical resource.
    pub primary_identifier: &'static [&'static str],
    /// The attributes `Fn::GetAtt` can read (`Endpoint.Address`).
    pub attributes: &'static [&'static str],
    /// The registry schema the type was generated from, as vendored in `schemas/`.
    pub schema: &'static str,
}

impl ResourceSpec {
    /// Whether changing the top-level property `name` replaces the resource.
    pub fn replaces_on_change(&self, name: &str) -> bool {
        self.create_only_properties
            .iter()
            .any(|path| path.strip_prefix("/properties/").is_some_and(|rest| rest.split('/').next() == Some(name)))
    }
}

/// A typed CloudFormation resource: its properties as a struct, its type name and metadata.
///
/// It is plain data and `Send`, as the generated structs are, so that a template holding one can be
/// made into its document on another thread. It serializes (`Serialize`, for a synthesis that keeps
/// the app) and moves ([`IntoJson`], for one that consumes it) into the same JSON.
pub trait CfnResource: Serialize + IntoJson + Send {
    /// The type name, such as `AWS::EC2::VPC`.
    const TYPE: &'static str;
    /// Replacement metadata and attributes from the registry schema.
    const SPEC: ResourceSpec;
}

/// A list property: items written out, or an intrinsic that yields the list (`Fn::If`, say).
#[derive(Debug, Clone, PartialEq)]
pub enum List<T> {
    /// The items.
    Items(Vec<T>),
    /// An intrinsic that resolves to the list.
    Intrinsic(Value<Vec<T>>),
}

impl<T: Serialize> Serialize for List<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            List::Items(items) => items.serialize(serializer),
            List::Intrinsic(value) => value.serialize(serializer),
        }
    }
}

impl<T> From<Vec<T>> for List<T> {
    fn from(items: Vec<T>) -> Self {
        List::Items(items)
    }
}

impl<T> From<Value<Vec<T>>> for List<T> {
    fn from(value: Value<Vec<T>>) -> Self {
        List::Intrinsic(value)
    }
}

/// A reference to a resource of type `R` somewhere in the app. The generated code adds typed
/// attribute accessors (`reference.attr_cidr_block()`) for each type.
pub struct Reference<R> {
    address: Address,
    kind: PhantomData<fn() -> R>,
}

impl<R> Reference<R> {
    /// A reference to the resource at `address`.
    pub fn new(address: Address) -> Self {
        Self { address, kind: PhantomData }
    }

    /// The stack and logical ID.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The logical ID.
    pub fn logical_id(&self) -> &str {
        &self.address.logical_id
    }

    /// `Ref`. From another stack it becomes an import or a stack output lookup.
    pub fn ref_value(&self) -> Value<String> {
        Value::reference(&self.address, None)
    }

    /// `Fn::GetAtt` of any attribute by name; prefer the typed `attr_*` accessors.
    pub fn get_att<T>(&self, attribute: &str) -> Value<T> {
        Value::reference(&self.address, Some(attribute))
    }
}

impl<R> Clone for Reference<R> {
    fn clone(&self) -> Self {
        Self::new(self.address.clone())
    }
}

impl<R> PartialEq for Reference<R> {
    fn eq(&self, other: &Self) -> bool {
        self.address == other.address
    }
}

impl<R> Eq for Reference<R> {}

impl<R> fmt::Debug for Reference<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Reference").field(&self.address).finish()
    }
}

/// The type parameter of a reference to a resource built without a generated struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untyped {}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lists_take_items_or_an_intrinsic() {
        let items: List<i64> = vec![1, 2].into();
        assert_eq!(serde_json::to_value(&items).unwrap(), json!([1, 2]));
        let chosen: List<i64> = Value::if_condition("C", Value::no_value(), Value::no_value()).into();
        assert_eq!(serde_json::to_value(&chosen).unwrap()["Fn::If"][0], json!("C"));
    }

    #[test]
    fn specs_know_which_changes_replace() {
        let spec = ResourceSpec {
            type_name: "AWS::EC2::VPC",
            create_only_properties: &["/properties/CidrBlock", "/properties/Encryption/Mode"],
            primary_identifier: &["/properties/VpcId"],
            attributes: &["VpcId"],
            schema: "{}",
        };
        assert!(spec.replaces_on_change("CidrBlock"));
        assert!(spec.replaces_on_change("Encryption"));
        assert!(!spec.replaces_on_change("Tags"));
    }
}
