//! The generator's model of one resource type, built from its registry schema.
//!
//! Mapping rules:
//! - a property becomes a snake-case field serialized under its schema name; required ones are plain
//!   fields and constructor arguments, the rest are `Option`s with builder methods;
//! - `string`, `integer`, `number`, `boolean` become `Value<String>`, `Value<i64>`, `Value<f64>`,
//!   `Value<bool>`; a string with an `enum` becomes a forward-compatible Rust enum inside a `Value`;
//! - an array of scalars becomes `Value<Vec<_>>` (which also takes a list-valued intrinsic), an array of
//!   objects a `List<_>` of structs, and an array of `{Key, Value}` tags a `Vec<Tag>`;
//! - an object with properties (a definition or inline) becomes its own struct, boxed where it nests;
//! - an object of free-form keys with string values becomes a map; anything free-form or ambiguous
//!   (policy documents, `oneOf`, several types) becomes `serde_json::Value`;
//! - `readOnlyProperties` become typed `Fn::GetAtt` accessors and never settable fields.

use std::collections::HashSet;

use anyhow::{bail, Context as _, Result};
use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::names;

/// A scalar CloudFormation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    String,
    Integer,
    Number,
    Boolean,
}

/// The Rust shape of a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    Scalar(Scalar),
    /// A generated enum, by name.
    Enum(String),
    /// `Value<Vec<inner>>`, where inner is a scalar or an enum.
    ScalarList(Box<FieldType>),
    /// A generated struct, by name (boxed in fields).
    Struct(String),
    /// `List<struct>`.
    StructList(String),
    /// One `Tag`.
    Tag,
    /// `Vec<Tag>`.
    Tags,
    /// `IndexMap<String, Value<String>>`.
    Map,
    /// `serde_json::Value`.
    Json,
}

/// A field of a resource or of a nested struct.
#[derive(Debug, Clone)]
pub struct Field {
    pub schema_name: String,
    pub rust_name: String,
    pub doc: String,
    pub ty: FieldType,
    pub required: bool,
}

/// A nested struct.
#[derive(Debug, Clone)]
pub struct StructDef {
    pub name: String,
    pub doc: String,
    pub source: String,
    pub fields: Vec<Field>,
}

/// A closed set of string values.
#[derive(Debug, Clone)]
pub struct EnumDef {
    pub name: String,
    pub doc: String,
    /// (variant, value) pairs.
    pub variants: Vec<(String, String)>,
}

/// A `Fn::GetAtt` attribute.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: String,
    pub method: String,
    pub doc: String,
    pub ty: FieldType,
}

/// Everything generated for one resource type.
#[derive(Debug, Clone)]
pub struct ResourceType {
    pub type_name: String,
    pub struct_name: String,
    pub module_name: String,
    pub doc: String,
    pub fields: Vec<Field>,
    pub structs: Vec<StructDef>,
    pub enums: Vec<EnumDef>,
    pub attributes: Vec<Attribute>,
    pub create_only: Vec<String>,
    pub primary_identifier: Vec<String>,
    /// The path, relative to the generated file, of the schema the in-process check reads.
    pub schema_include: String,
}

impl ResourceType {
    /// Builds the model of a (fixed-up) registry schema.
    pub fn from_schema(schema: &Json) -> Result<Self> {
        let type_name = schema["typeName"].as_str().context("schema without typeName")?.to_owned();
        let short = type_name.rsplit("::").next().unwrap_or(&type_name);
        let struct_name = names::type_name(short);
        let mut builder = Builder {
            schema,
            read_only: string_list(&schema["readOnlyProperties"]).into_iter().collect(),
            structs: IndexMap::new(),
            enums: IndexMap::new(),
            def_names: IndexMap::new(),
            taken: vec![struct_name.clone()],
        };
        let fields = builder
            .fields(&struct_name, schema, "/properties")
            .with_context(|| format!("while modelling {type_name}"))?;
        let attributes = builder.attributes()?;
        Ok(Self {
            module_name: names::module_name(&struct_name),
            doc: description(schema),
            fields,
            structs: builder.structs.into_values().map(|s| s.expect("every started struct is finished")).collect(),
            enums: builder.enums.into_values().collect(),
            attributes,
            create_only: string_list(&schema["createOnlyProperties"]),
            primary_identifier: string_list(&schema["primaryIdentifier"]),
            schema_include: String::new(),
            type_name,
            struct_name,
        })
    }
}

fn string_list(value: &Json) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(|item| item.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn description(schema: &Json) -> String {
    schema["description"].as_str().unwrap_or_default().trim().to_owned()
}

struct Builder<'a> {
    schema: &'a Json,
    read_only: HashSet<String>,
    /// Structs by name, `None` while being built (so recursion stops and order is parent first).
    structs: IndexMap<String, Option<StructDef>>,
    enums: IndexMap<String, EnumDef>,
    /// Definition name → the Rust type chosen for it.
    def_names: IndexMap<String, FieldType>,
    /// Every type name used in the resource's module.
    taken: Vec<String>,
}

impl<'a> Builder<'a> {
    fn definition(&self, reference: &str) -> Result<(String, &'a Json)> {
        let root: &'a Json = self.schema;
        let name = reference.strip_prefix("#/definitions/").with_context(|| format!("unsupported $ref {reference}"))?;
        let schema = root["definitions"].get(name).with_context(|| format!("$ref to missing definition {name}"))?;
        Ok((name.to_owned(), schema))
    }

    /// The fields of an object schema whose properties live at `path` (for read-only checks).
    fn fields(&mut self, owner: &str, schema: &Json, path: &str) -> Result<Vec<Field>> {
        let required = string_list(&schema["required"]);
        let mut fields = Vec::new();
        let mut rust_names = Vec::new();
        let Some(properties) = schema["properties"].as_object() else { return Ok(fields) };
        for (name, property) in properties {
            let property_path = format!("{path}/{name}");
            if self.read_only.contains(&property_path) {
                continue;
            }
            let ty = self.field_type(property, owner, name, &property_path)?;
            let doc = match description(property) {
                text if text.is_empty() => match property["$ref"].as_str() {
                    Some(reference) => description(self.definition(reference)?.1),
                    None => text,
                },
                text => text,
            };
            fields.push(Field {
                schema_name: name.clone(),
                rust_name: names::unique(names::field_name(name), &mut rust_names),
                doc,
                ty,
                required: required.contains(name),
            });
        }
        Ok(fields)
    }

    fn field_type(&mut self, schema: &Json, owner: &str, property: &str, path: &str) -> Result<FieldType> {
        if let Some(reference) = schema["$ref"].as_str() {
            return self.definition_type(reference, path);
        }
        self.inline_type(schema, &format!("{owner}{}", names::type_name(property)), path)
    }

    fn definition_type(&mut self, reference: &str, path: &str) -> Result<FieldType> {
        let (name, definition) = self.definition(reference)?;
        if let Some(known) = self.def_names.get(&name) {
            return Ok(known.clone());
        }
        // Only tag definitions become `Tag`: a `{Key, Value}` pair named otherwise (a load balancer
        // attribute, a query string pair) keeps its own type.
        if is_tag(definition) && name.ends_with("Tag") {
            self.def_names.insert(name, FieldType::Tag);
            return Ok(FieldType::Tag);
        }
        let rust_name = names::type_name(&name);
        let ty = self.inline_type(definition, &rust_name, path)?;
        self.def_names.insert(name, ty.clone());
        Ok(ty)
    }

    /// The type of a schema that is not a `$ref`; `name` is what a generated struct or enum is called.
    fn inline_type(&mut self, schema: &Json, name: &str, path: &str) -> Result<FieldType> {
        if schema["oneOf"].is_array() || schema["anyOf"].is_array() || schema["allOf"].is_array() {
            // Alternatives could be modelled as enums of structs; a JSON value keeps every one writable.
            if schema["properties"].is_null() {
                return Ok(FieldType::Json);
            }
        }
        let declared = match &schema["type"] {
            Json::String(single) => Some(single.as_str()),
            Json::Null => None,
            Json::Array(_) => return Ok(FieldType::Json),
            other => bail!("unexpected type {other}"),
        };
        let declared = declared.or(if schema["properties"].is_object() { Some("object") } else { None });
        Ok(match declared {
            Some("string") if schema["enum"].is_array() => FieldType::Enum(self.enumeration(schema, name)?),
            Some("string") => FieldType::Scalar(Scalar::String),
            Some("integer") => FieldType::Scalar(Scalar::Integer),
            Some("number") => FieldType::Scalar(Scalar::Number),
            Some("boolean") => FieldType::Scalar(Scalar::Boolean),
            Some("array") => {
                let items = &schema["items"];
                if items.is_null() {
                    return Ok(FieldType::Json);
                }
                let item_path = format!("{path}/*");
                let item = match items["$ref"].as_str() {
                    Some(reference) => self.definition_type(reference, &item_path)?,
                    None => self.inline_type(items, name, &item_path)?,
                };
                match item {
                    FieldType::Scalar(_) | FieldType::Enum(_) => FieldType::ScalarList(Box::new(item)),
                    FieldType::Struct(name) => FieldType::StructList(name),
                    FieldType::Tag => FieldType::Tags,
                    _ => FieldType::Json,
                }
            }
            Some("object") if schema["properties"].as_object().is_some_and(|p| !p.is_empty()) => {
                FieldType::Struct(self.structure(schema, name, path)?)
            }
            Some("object") => {
                let values = schema["patternProperties"].as_object().and_then(|patterns| {
                    let mut kinds = patterns.values().map(|value| value["type"].as_str());
                    let first = kinds.next()?;
                    kinds.all(|kind| kind == first).then_some(first)
                });
                if values == Some(Some("string")) {
                    FieldType::Map
                } else {
                    FieldType::Json
                }
            }
            _ => FieldType::Json,
        })
    }

    fn structure(&mut self, schema: &Json, name: &str, path: &str) -> Result<String> {
        if self.structs.contains_key(name) {
            return Ok(name.to_owned());
        }
        let name = names::unique(name.to_owned(), &mut self.taken);
        self.structs.insert(name.clone(), None);
        let fields = self.fields(&name, schema, path)?;
        let source = path.to_owned();
        self.structs
            .insert(name.clone(), Some(StructDef { name: name.clone(), doc: description(schema), source, fields }));
        Ok(name)
    }

    fn enumeration(&mut self, schema: &Json, name: &str) -> Result<String> {
        let values = string_list(&schema["enum"]);
        if let Some(existing) = self.enums.values().find(|e| e.name == name) {
            if existing.variants.iter().map(|(_, v)| v).eq(values.iter()) {
                return Ok(existing.name.clone());
            }
        }
        let name = names::unique(name.to_owned(), &mut self.taken);
        let mut variant_names = vec!["Unknown".to_owned()];
        let variants = values
            .iter()
            .map(|value| (names::unique(names::type_name(value), &mut variant_names), value.clone()))
            .collect();
        self.enums.insert(name.clone(), EnumDef { name: name.clone(), doc: description(schema), variants });
        Ok(name)
    }

    /// `Fn::GetAtt` attributes: the read-only properties with a scalar or scalar-list type.
    fn attributes(&self) -> Result<Vec<Attribute>> {
        let mut attributes = Vec::new();
        let mut methods = Vec::new();
        for path in string_list(&self.schema["readOnlyProperties"]) {
            let Some(relative) = path.strip_prefix("/properties/") else { continue };
            if relative.contains('*') {
                continue;
            }
            let segments: Vec<&str> = relative.split('/').collect();
            let Some(schema) = self.resolve_path(&segments)? else { continue };
            let Some(ty) = self.attribute_type(&schema)? else { continue };
            let method = names::unique(
                format!("attr_{}", names::field_name(&segments.join("_")).trim_start_matches("r#")),
                &mut methods,
            );
            attributes.push(Attribute { name: segments.join("."), method, doc: description(&schema), ty });
        }
        Ok(attributes)
    }

    /// The type `Fn::GetAtt` returns for an attribute schema: a scalar or a list of scalars.
    fn attribute_type(&self, schema: &Json) -> Result<Option<FieldType>> {
        let scalar = |schema: &Json| match schema["type"].as_str() {
            Some("string") => Some(Scalar::String),
            Some("integer") => Some(Scalar::Integer),
            Some("number") => Some(Scalar::Number),
            Some("boolean") => Some(Scalar::Boolean),
            _ => None,
        };
        if schema["type"] == "array" {
            let items = match schema["items"]["$ref"].as_str() {
                Some(reference) => self.definition(reference)?.1,
                None => &schema["items"],
            };
            return Ok(scalar(items).map(|s| FieldType::ScalarList(Box::new(FieldType::Scalar(s)))));
        }
        Ok(scalar(schema).map(FieldType::Scalar))
    }

    /// The schema of a property path, following `$ref`s; `None` when the path leads nowhere.
    fn resolve_path(&self, segments: &[&str]) -> Result<Option<Json>> {
        let mut current = self.schema["properties"].get(segments[0]).cloned();
        for segment in &segments[1..] {
            let Some(schema) = current else { return Ok(None) };
            let schema = match schema["$ref"].as_str() {
                Some(reference) => self.definition(reference)?.1.clone(),
                None => schema,
            };
            current = schema["properties"].get(*segment).cloned();
        }
        Ok(match current {
            Some(schema) => match schema["$ref"].as_str() {
                Some(reference) => Some(self.definition(reference)?.1.clone()),
                None => Some(schema),
            },
            None => None,
        })
    }
}

/// A `{Key, Value}` definition with string members: the shape of tags (and of some other pairs).
fn is_tag(schema: &Json) -> bool {
    let Some(properties) = schema["properties"].as_object() else { return false };
    let mut keys: Vec<&String> = properties.keys().collect();
    keys.sort();
    keys == ["Key", "Value"] && properties.values().all(|p| p["type"] == "string")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn model(schema: Json) -> ResourceType {
        ResourceType::from_schema(&schema).unwrap()
    }

    #[test]
    fn maps_properties_by_the_rules() {
        let resource = model(json!({
            "typeName": "AWS::Demo::Thing",
            "description": "A thing.",
            "properties": {
                "Name": {"type": "string", "description": "The name."},
                "Count": {"type": "integer"},
                "Mode": {"type": "string", "enum": ["on", "off"]},
                "Zones": {"type": "array", "items": {"type": "string"}},
                "Rules": {"type": "array", "items": {"$ref": "#/definitions/Rule"}},
                "Tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}},
                "Policy": {"type": ["object", "string"]},
                "Labels": {"type": "object", "patternProperties": {".*": {"type": "string"}}},
                "Arn": {"type": "string"},
                "Type": {"type": "string"}
            },
            "definitions": {
                "Rule": {"type": "object", "properties": {"Port": {"type": "integer"}, "Next": {"$ref": "#/definitions/Rule"}}, "required": ["Port"]},
                "Tag": {"type": "object", "properties": {"Key": {"type": "string"}, "Value": {"type": "string"}}}
            },
            "required": ["Name"],
            "readOnlyProperties": ["/properties/Arn"],
            "createOnlyProperties": ["/properties/Name"],
            "primaryIdentifier": ["/properties/Arn"]
        }));
        assert_eq!(resource.struct_name, "Thing");
        let types: Vec<(&str, &FieldType, bool)> =
            resource.fields.iter().map(|f| (f.rust_name.as_str(), &f.ty, f.required)).collect();
        assert_eq!(
            types,
            [
                ("name", &FieldType::Scalar(Scalar::String), true),
                ("count", &FieldType::Scalar(Scalar::Integer), false),
                ("mode", &FieldType::Enum("ThingMode".into()), false),
                ("zones", &FieldType::ScalarList(Box::new(FieldType::Scalar(Scalar::String))), false),
                ("rules", &FieldType::StructList("Rule".into()), false),
                ("tags", &FieldType::Tags, false),
                ("policy", &FieldType::Json, false),
                ("labels", &FieldType::Map, false),
                ("r#type", &FieldType::Scalar(Scalar::String), false),
            ]
        );
        assert_eq!(resource.structs.len(), 1, "the tag definition maps to Tag");
        assert_eq!(resource.structs[0].fields[1].ty, FieldType::Struct("Rule".into()), "recursion stops");
        assert_eq!(
            resource.enums[0].variants,
            [("On".to_owned(), "on".to_owned()), ("Off".to_owned(), "off".to_owned())]
        );
        assert_eq!(resource.attributes.len(), 1);
        assert_eq!(resource.attributes[0].method, "attr_arn");
        assert_eq!(resource.create_only, ["/properties/Name"]);
    }
}
