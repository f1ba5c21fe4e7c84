//! Typed property values moved into JSON, for a consuming synthesis.
//!
//! `serde::Serialize` borrows: serializing an L1 struct into a `serde_json::Value` copies every string
//! and rebuilds every JSON value it holds (a policy document, say), and the struct is then dropped,
//! freeing the originals. A consuming synthesis ([`crate::Template::into_document`]) owns the struct,
//! so [`IntoJson`] moves its strings and JSON values into the document instead. The generated L1
//! structs implement it beside `Serialize`, from the same fields in the same order; the JSON is the
//! same, which the tests here and `tests/determinism.rs` (a borrowing and a consuming synthesis of the
//! reference platform and of `stacks/large.yaml` give equal documents) hold it to.

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

use super::expr::{Expr, ReferencePlaceholder, Value, REFERENCE_PLACEHOLDER_KEY};
use super::tag::Tag;
use super::typed::List;

/// A value that moves into the JSON its `Serialize` writes.
pub trait IntoJson {
    /// The JSON `serde_json::to_value(&self)` gives, made by moving `self`.
    fn into_json(self) -> Json;
}

/// `{key: value}`.
fn single(key: &str, value: Json) -> Json {
    let mut object = Map::with_capacity(1);
    object.insert(key.to_owned(), value);
    Json::Object(object)
}

/// `{key: [values...]}`, the form of most intrinsic functions.
fn function<const N: usize>(key: &str, arguments: [Json; N]) -> Json {
    single(key, Json::Array(arguments.into()))
}

impl IntoJson for Expr {
    fn into_json(self) -> Json {
        match self {
            Expr::Literal(value) => value,
            Expr::List(items) => Json::Array(items.into_iter().map(IntoJson::into_json).collect()),
            Expr::Reference(ReferencePlaceholder { stack, logical_id, attribute }) => {
                let mut parts = Vec::with_capacity(2 + usize::from(attribute.is_some()));
                parts.push(Json::String(stack));
                parts.push(Json::String(logical_id));
                parts.extend(attribute.map(Json::String));
                single(REFERENCE_PLACEHOLDER_KEY, Json::Array(parts))
            }
            Expr::LocalRef(name) => single("Ref", Json::String(name)),
            Expr::Pseudo(pseudo) => single("Ref", Json::String(pseudo.name().to_owned())),
            Expr::Sub(template, variables) if variables.is_empty() => single("Fn::Sub", Json::String(template)),
            Expr::Sub(template, variables) => {
                // A name given twice keeps its first place and its last value, as the map `Serialize`
                // writes does.
                let mut map = Map::with_capacity(variables.len());
                for (name, expr) in variables {
                    map.insert(name, expr.into_json());
                }
                function("Fn::Sub", [Json::String(template), Json::Object(map)])
            }
            Expr::Join(separator, list) => function("Fn::Join", [Json::String(separator), list.into_json()]),
            Expr::Select(index, list) => function("Fn::Select", [Json::from(index), list.into_json()]),
            Expr::GetAzs(region) => single("Fn::GetAZs", region.into_json()),
            Expr::ImportValue(name) => single("Fn::ImportValue", name.into_json()),
            Expr::If(condition, then, otherwise) => {
                function("Fn::If", [Json::String(condition), then.into_json(), otherwise.into_json()])
            }
            Expr::Split(separator, source) => function("Fn::Split", [Json::String(separator), source.into_json()]),
            Expr::Cidr(block, count, bits) => {
                function("Fn::Cidr", [block.into_json(), count.into_json(), bits.into_json()])
            }
            Expr::Base64(value) => single("Fn::Base64", value.into_json()),
            Expr::FindInMap(map, top, second) => {
                function("Fn::FindInMap", [Json::String(map), top.into_json(), second.into_json()])
            }
            Expr::GetStackOutput { stack_name, output_name, region } => {
                let mut arguments = Map::with_capacity(3);
                arguments.insert("StackName".to_owned(), stack_name.into_json());
                arguments.insert("OutputName".to_owned(), output_name.into_json());
                if let Some(region) = region {
                    arguments.insert("Region".to_owned(), region.into_json());
                }
                single("Fn::GetStackOutput", Json::Object(arguments))
            }
        }
    }
}

impl<T> IntoJson for Value<T> {
    fn into_json(self) -> Json {
        self.into_expr().into_json()
    }
}

impl<T: IntoJson> IntoJson for List<T> {
    fn into_json(self) -> Json {
        match self {
            List::Items(items) => items.into_json(),
            List::Intrinsic(value) => value.into_json(),
        }
    }
}

impl IntoJson for Tag {
    fn into_json(self) -> Json {
        let mut tag = Map::with_capacity(2);
        tag.insert("Key".to_owned(), self.key.into_json());
        tag.insert("Value".to_owned(), self.value.into_json());
        Json::Object(tag)
    }
}

impl<T: IntoJson> IntoJson for Box<T> {
    fn into_json(self) -> Json {
        (*self).into_json()
    }
}

impl<T: IntoJson> IntoJson for Vec<T> {
    fn into_json(self) -> Json {
        Json::Array(self.into_iter().map(IntoJson::into_json).collect())
    }
}

impl<V: IntoJson, S> IntoJson for IndexMap<String, V, S> {
    fn into_json(self) -> Json {
        let mut map = Map::with_capacity(self.len());
        for (key, value) in self {
            map.insert(key, value.into_json());
        }
        Json::Object(map)
    }
}

impl IntoJson for Json {
    fn into_json(self) -> Json {
        self
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;
    use crate::expr::{Address, DynamicReference};

    /// `into_json` gives what `Serialize` writes, compared as text so that key order counts too.
    fn same<T: IntoJson + Serialize>(value: T) {
        let expected = serde_json::to_string(&value).unwrap();
        assert_eq!(serde_json::to_string(&value.into_json()).unwrap(), expected);
    }

    fn text(value: &str) -> Value<String> {
        Value::from(value)
    }

    #[test]
    fn every_expression_moves_into_the_json_it_serializes_to() {
        let address = Address { stack: "Net".into(), logical_id: "Vpc".into() };
        let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]});
        let strings: Vec<Value<String>> = vec![
            text("plain"),
            Value::from_expr(Expr::Literal(policy)),
            Value::reference(&address, None),
            Value::reference(&address, Some("CidrBlock")),
            Value::local_ref("Bucket"),
            Value::region(),
            Value::no_value(),
            Value::sub("${AWS::StackName}-x"),
            Value::sub_with("${A}-${B}-${A}", [("A", text("1")), ("B", text("2")), ("A", text("3"))]),
            Value::join("-", vec![text("a"), Value::reference(&address, None)]),
            Value::select(1, Value::<Vec<String>>::get_azs()),
            Value::select(0, Value::<Vec<String>>::get_azs_in(Value::region())),
            Value::import_value("Export"),
            Value::if_condition("IsProd", text("yes"), text("no")),
            Value::select(0, Value::<Vec<String>>::split(",", "a,b")),
            Value::select(0, Value::<Vec<String>>::cidr("10.0.0.0/16", Value::from(4), Value::from(8))),
            Value::base64("#!/bin/sh"),
            Value::find_in_map("Regions", Value::region(), "Ami"),
            Value::get_stack_output("Other", "Out", None),
            Value::get_stack_output("Other", "Out", Some(text("eu-west-1"))),
            Value::dynamic_reference(DynamicReference::SsmSecure { name: "/p".into(), version: Some(2) }),
            Value::dynamic_reference(DynamicReference::SecretsManager {
                secret_id: Value::reference(&address, None),
                json_key: Some("password".into()),
                version_stage: None,
                version_id: None,
            }),
        ];
        for value in strings {
            same(value);
        }
        same(Value::<Vec<String>>::from(vec![text("a"), Value::region()]));
        same(Value::<Vec<String>>::from(vec!["a", "b"]));
        same(Value::<i64>::from(7));
        same(Value::<f64>::from(2.5));
        same(Value::<bool>::from(true));
    }

    #[test]
    fn containers_tags_and_maps_move_as_they_serialize() {
        same(vec![Tag::new("team", "platform"), Tag::name(Value::local_ref("Name"))]);
        same(List::Items(vec![Tag::new("k", "v")]));
        same(List::<Tag>::Intrinsic(Value::if_condition("C", Value::from_expr(Expr::List(vec![])), Value::no_value())));
        same(Box::new(Tag::new("k", "v")));
        let map: IndexMap<String, Value<String>> =
            [("b".to_owned(), text("1")), ("a".to_owned(), Value::local_ref("X"))].into_iter().collect();
        same(map);
        same(serde_json::json!({"z": [1, 2.5, null], "a": {"b": false}}));
    }
}
