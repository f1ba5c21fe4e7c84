//! The template document: parameters, mappings, conditions, resources and outputs, rendered in a fixed
//! order so that the same input always gives the same bytes.

use std::fmt;

use indexmap::IndexMap;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::expr::Value;
use super::json_text;
use super::resource::Resource;

/// The file format of a rendered template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TemplateFormat {
    /// JSON with one-space indentation, the form the AWS CDK writes.
    #[default]
    Json,
    /// YAML in long form (`Fn::GetAtt:`), which any YAML parser reads.
    Yaml,
}

impl TemplateFormat {
    /// The file extension, without a dot.
    pub fn extension(self) -> &'static str {
        match self {
            TemplateFormat::Json => "json",
            TemplateFormat::Yaml => "yaml",
        }
    }

    /// Renders a JSON document in this format. Key order is the document's insertion order.
    pub fn render(self, document: &serde_json::Value) -> String {
        match self {
            TemplateFormat::Json => {
                let mut out = text_buffer();
                self.render_into(document, &mut out);
                shrunk(out)
            }
            TemplateFormat::Yaml => serde_yaml::to_string(document).expect("JSON values always serialize to YAML"),
        }
    }

    /// Appends what [`TemplateFormat::render`] returns to `out`, in whatever room `out` has: a caller
    /// that writes the text and drops it (the CLI) need not pay for `render` shrinking it.
    pub fn render_into(self, document: &serde_json::Value, out: &mut String) {
        match self {
            TemplateFormat::Json => {
                json_text::write_pretty(out, document);
                out.push('\n');
            }
            TemplateFormat::Yaml => {
                out.push_str(&serde_yaml::to_string(document).expect("JSON values always serialize to YAML"));
            }
        }
    }
}

impl TemplateFormat {
    /// Renders a JSON document compactly but still line by line: each top-level key on a line of its
    /// own, and each entry of a section (a resource, an output, a parameter ...) on one line. About 40%
    /// smaller than the indented form, and a diff still shows which resource changed.
    ///
    /// YAML has no compact form worth the name: it renders as [`TemplateFormat::render`] does.
    pub fn render_compact(self, document: &serde_json::Value) -> String {
        let TemplateFormat::Json = self else { return self.render(document) };
        let mut out = text_buffer();
        match document.as_object() {
            Some(sections) => {
                out.push_str("{\n");
                write_lines(&mut out, sections, |out, value| match value.as_object() {
                    Some(entries) if !entries.is_empty() => {
                        out.push_str("{\n");
                        write_lines(out, entries, json_text::write_compact);
                        out.push_str("\n}");
                    }
                    _ => json_text::write_compact(out, value),
                });
                out.push_str("\n}\n");
            }
            None => {
                json_text::write_compact(&mut out, document);
                out.push('\n');
            }
        }
        shrunk(out)
    }
}

/// The buffer a template is rendered into: room for any template `aws cloudformation deploy` takes
/// inline (51,200 bytes) from the start. Grown from empty, a template's text was copied five or six
/// times over on the way, about a tenth of rendering's instructions.
fn text_buffer() -> String {
    String::with_capacity(64 * 1024)
}

/// The rendered text, its buffer shrunk when most of it went unused: a library caller may hold
/// thousands of rendered templates.
fn shrunk(mut out: String) -> String {
    if out.capacity() > 2 * out.len() {
        out.shrink_to_fit();
    }
    out
}

/// An object's members as `"name":value`, one a line, `value` written by `write_value`.
fn write_lines(
    out: &mut String,
    members: &serde_json::Map<String, serde_json::Value>,
    mut write_value: impl FnMut(&mut String, &serde_json::Value),
) {
    for (position, (name, value)) in members.iter().enumerate() {
        if position > 0 {
            out.push_str(",\n");
        }
        json_text::write_string(out, name);
        out.push(':');
        write_value(out, value);
    }
}

impl fmt::Display for TemplateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// A template parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    /// The parameter type (`String`, `Number`, `AWS::EC2::VPC::Id`, ...).
    #[serde(rename = "Type")]
    pub parameter_type: String,
    /// A human description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The default value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// The only values accepted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<String>,
    /// A regular expression the value must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    /// Masks the value in the console and API output.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_echo: bool,
}

impl Parameter {
    /// A parameter of the given type with no constraints.
    pub fn new(parameter_type: impl Into<String>) -> Self {
        Self {
            parameter_type: parameter_type.into(),
            description: None,
            default: None,
            allowed_values: Vec::new(),
            allowed_pattern: None,
            no_echo: false,
        }
    }
}

/// A condition expression under `Conditions`.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `Fn::Equals`.
    Equals(Value<String>, Value<String>),
    /// `Fn::And` (2 to 10 operands).
    And(Vec<Condition>),
    /// `Fn::Or` (2 to 10 operands).
    Or(Vec<Condition>),
    /// `Fn::Not`.
    Not(Box<Condition>),
    /// `Condition`: another named condition.
    Named(String),
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Condition::Equals(left, right) => map.serialize_entry("Fn::Equals", &(left, right))?,
            Condition::And(operands) => map.serialize_entry("Fn::And", operands)?,
            Condition::Or(operands) => map.serialize_entry("Fn::Or", operands)?,
            Condition::Not(operand) => map.serialize_entry("Fn::Not", &[operand])?,
            Condition::Named(name) => map.serialize_entry("Condition", name)?,
        }
        map.end()
    }
}

/// A two-level lookup table under `Mappings`.
pub type Mapping = IndexMap<String, IndexMap<String, serde_json::Value>>;

/// The `Export` of an output, which other stacks of the region read with `Fn::ImportValue`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Export {
    /// The export name, unique per account and region.
    #[serde(rename = "Name")]
    pub name: serde_json::Value,
}

/// A stack output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    /// A human description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The output value; may still hold reference placeholders before synthesis.
    pub value: serde_json::Value,
    /// The export, if other stacks import this output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<Export>,
}

impl Output {
    /// An output with a value and no export.
    pub fn new<T>(value: &Value<T>) -> Self {
        Self { description: None, value: serde_json::to_value(value).expect("values serialize"), export: None }
    }

    /// Adds a description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Exports the output under a literal name.
    #[must_use]
    pub fn export_as(mut self, name: impl Into<String>) -> Self {
        self.export = Some(Export { name: serde_json::Value::String(name.into()) });
        self
    }
}

/// One CloudFormation template.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    /// `Transform`: the macros CloudFormation runs on the template before it processes it (such as
    /// `AWS::SecretsManager-2020-07-23`, which expands a hosted rotation function). A template with any
    /// deploys only with `CAPABILITY_AUTO_EXPAND`.
    pub transforms: Vec<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `Parameters`, by logical ID.
    pub parameters: IndexMap<String, Parameter>,
    /// `Mappings`, by name.
    pub mappings: IndexMap<String, Mapping>,
    /// `Conditions`, by name.
    pub conditions: IndexMap<String, Condition>,
    /// `Resources`, by logical ID.
    pub resources: IndexMap<String, Resource>,
    /// `Outputs`, by logical ID.
    pub outputs: IndexMap<String, Output>,
}

impl Template {
    /// The template as a JSON document with sections in CloudFormation's documented order.
    pub fn to_document(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("templates serialize to JSON")
    }

    /// [`Template::to_document`], moving the resources' JSON into the document instead of copying it
    /// through a serializer: most of a template is its resources, already JSON (the other sections are
    /// small and serialized as they are).
    pub fn into_document(self) -> serde_json::Value {
        let Self { transforms, description, parameters, mappings, conditions, resources, outputs } = self;
        let sections = Self { transforms, description, parameters, mappings, conditions, ..Self::default() };
        let serde_json::Value::Object(mut document) = sections.to_document() else {
            unreachable!("templates serialize to objects")
        };
        let resources: serde_json::Map<String, serde_json::Value> =
            resources.into_iter().map(|(id, resource)| (id, resource.into_json())).collect();
        // `Resources` keeps its place after the sections before it; `Outputs` follows.
        document.insert("Resources".to_owned(), serde_json::Value::Object(resources));
        if !outputs.is_empty() {
            document.insert("Outputs".to_owned(), serde_json::to_value(&outputs).expect("outputs serialize"));
        }
        serde_json::Value::Object(document)
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("AWSTemplateFormatVersion", "2010-09-09")?;
        match self.transforms.as_slice() {
            [] => {}
            [one] => map.serialize_entry("Transform", one)?,
            many => map.serialize_entry("Transform", many)?,
        }
        if let Some(description) = &self.description {
            map.serialize_entry("Description", description)?;
        }
        if !self.parameters.is_empty() {
            map.serialize_entry("Parameters", &self.parameters)?;
        }
        if !self.mappings.is_empty() {
            map.serialize_entry("Mappings", &self.mappings)?;
        }
        if !self.conditions.is_empty() {
            map.serialize_entry("Conditions", &self.conditions)?;
        }
        map.serialize_entry("Resources", &self.resources)?;
        if !self.outputs.is_empty() {
            map.serialize_entry("Outputs", &self.outputs)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sample() -> Template {
        let mut template = Template { description: Some("sample".into()), ..Template::default() };
        let mut env = Parameter::new("String");
        env.allowed_values = vec!["prod".into(), "dev".into()];
        env.default = Some(json!("prod"));
        template.parameters.insert("Env".into(), env);
        template.mappings.insert(
            "Regions".into(),
            IndexMap::from([("us-east-1".into(), IndexMap::from([("Az".into(), json!(3))]))]),
        );
        template.conditions.insert(
            "IsProd".into(),
            Condition::Not(Box::new(Condition::Equals(Value::local_ref("Env"), Value::from("dev")))),
        );
        template.resources.insert("Topic".into(), Resource::new("AWS::SNS::Topic").condition("IsProd"));
        template
            .outputs
            .insert("TopicArn".into(), Output::new(&Value::<String>::local_ref("Topic")).export_as("Sample:TopicArn"));
        template
    }

    #[test]
    fn into_document_is_to_document_in_the_same_order() {
        let template = sample();
        let expected = serde_json::to_string(&template.to_document()).unwrap();
        assert_eq!(serde_json::to_string(&template.into_document()).unwrap(), expected);
        let empty = Template::default();
        assert_eq!(empty.clone().into_document(), empty.to_document());
    }

    #[test]
    fn render_into_appends_what_render_returns_and_render_gives_back_unused_room() {
        let document = sample().to_document();
        for format in [TemplateFormat::Json, TemplateFormat::Yaml] {
            let rendered = format.render(&document);
            let mut out = String::from("before\n");
            format.render_into(&document, &mut out);
            assert_eq!(out, format!("before\n{rendered}"), "{format}");
            assert!(
                rendered.capacity() <= 2 * rendered.len(),
                "{format}: {} for {}",
                rendered.capacity(),
                rendered.len()
            );
        }
    }

    #[test]
    fn sections_come_in_documented_order() {
        let document = sample().to_document();
        let keys: Vec<_> = document.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            ["AWSTemplateFormatVersion", "Description", "Parameters", "Mappings", "Conditions", "Resources", "Outputs"]
        );
        assert_eq!(document["Conditions"]["IsProd"], json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "Env"}, "dev"]}]}));
        assert_eq!(
            document["Outputs"]["TopicArn"],
            json!({"Value": {"Ref": "Topic"}, "Export": {"Name": "Sample:TopicArn"}})
        );
    }

    #[test]
    fn transforms_come_first_a_lone_one_as_a_string() {
        let mut template = sample();
        template.transforms.push("AWS::SecretsManager-2020-07-23".into());
        let document = template.to_document();
        let keys: Vec<_> = document.as_object().unwrap().keys().take(3).cloned().collect();
        assert_eq!(keys, ["AWSTemplateFormatVersion", "Transform", "Description"]);
        assert_eq!(document["Transform"], "AWS::SecretsManager-2020-07-23");
        template.transforms.push("AWS::LanguageExtensions".into());
        assert_eq!(
            template.to_document()["Transform"],
            json!(["AWS::SecretsManager-2020-07-23", "AWS::LanguageExtensions"])
        );
    }

    #[test]
    fn yaml_uses_the_long_form_and_reads_back_identically() {
        let document = sample().to_document();
        let yaml = TemplateFormat::Yaml.render(&document);
        assert!(yaml.contains("Fn::Equals:"), "{yaml}");
        assert!(!yaml.contains('!'), "no short-form tags: {yaml}");
        let parsed: serde_json::Value = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(parsed, document);
    }

    #[test]
    fn compact_json_is_the_same_document_an_entry_a_line() {
        let document = sample().to_document();
        let compact = TemplateFormat::Json.render_compact(&document);
        let parsed: serde_json::Value = serde_json::from_str(&compact).unwrap();
        assert_eq!(parsed, document);
        let keys: Vec<&str> = parsed.as_object().unwrap().keys().map(String::as_str).collect();
        let document_keys: Vec<&str> = document.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, document_keys, "key order is kept");
        for logical_id in document["Resources"].as_object().unwrap().keys() {
            let lines = compact.lines().filter(|line| line.starts_with(&format!("\"{logical_id}\":{{"))).count();
            assert_eq!(lines, 1, "{logical_id} on a line of its own");
        }
        assert!(compact.len() < TemplateFormat::Json.render(&document).len());
        assert_eq!(TemplateFormat::Yaml.render_compact(&document), TemplateFormat::Yaml.render(&document));
    }

    #[test]
    fn json_rendering_is_stable_and_newline_terminated() {
        let document = sample().to_document();
        let first = TemplateFormat::Json.render(&document);
        assert_eq!(first, TemplateFormat::Json.render(&sample().to_document()));
        assert!(first.ends_with("}\n"));
        assert!(first.starts_with("{\n \"AWSTemplateFormatVersion\": \"2010-09-09\","));
    }

    /// Both JSON renderings spell a document exactly as `serde_json` does: indented with one space, and
    /// compact an entry a line. An escape in a section name, an entry name or a value, an empty section
    /// and a section that is no object each take their own path.
    #[test]
    fn json_renderings_are_serde_jsons_spelling() {
        let mut document = sample().to_document();
        let sections = document.as_object_mut().unwrap();
        sections.insert("Empty \"section\"".into(), json!({}));
        sections.insert("Transform".into(), json!(["AWS::LanguageExtensions"]));
        sections["Resources"]
            .as_object_mut()
            .unwrap()
            .insert("Odd\\Name".into(), json!({"Type": "AWS::SNS::Topic", "Metadata": {"note": "line\nbreak"}}));
        let compact = |value: &serde_json::Value| serde_json::to_string(value).unwrap();

        let mut pretty = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
        document.serialize(&mut serde_json::Serializer::with_formatter(&mut pretty, formatter)).unwrap();
        pretty.push(b'\n');
        assert_eq!(TemplateFormat::Json.render(&document), String::from_utf8(pretty).unwrap());

        let lines: Vec<String> = document
            .as_object()
            .unwrap()
            .iter()
            .map(|(key, value)| match value.as_object() {
                Some(entries) if !entries.is_empty() => {
                    let entries: Vec<String> = entries
                        .iter()
                        .map(|(name, entry)| format!("{}:{}", compact(&json!(name)), compact(entry)))
                        .collect();
                    format!("{}:{{\n{}\n}}", compact(&json!(key)), entries.join(",\n"))
                }
                _ => format!("{}:{}", compact(&json!(key)), compact(value)),
            })
            .collect();
        assert_eq!(TemplateFormat::Json.render_compact(&document), format!("{{\n{}\n}}\n", lines.join(",\n")));
        assert_eq!(TemplateFormat::Json.render_compact(&json!([1, "two"])), "[1,\"two\"]\n");
    }
}
