//! The whole app as the deploy-readiness rules read it: every template of every stack, with
//! references followed across stacks (`Fn::ImportValue` by export name, `Fn::GetStackOutput`) and
//! the deploy order, so that a rule asks "which resource is this?" and not "which JSON is this?".
//!
//! It reads plain CloudFormation JSON, so the same model serves cfn-synth's own output, an AWS CDK
//! cloud assembly and a folder of templates written by hand.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use serde_json::Value as Json;

use crate::fast_hash::FastHashMap;
use crate::template::Field;

/// One stack's template, where it deploys, and what it declares it deploys after.
#[derive(Debug, Clone, PartialEq)]
pub struct StackTemplate<'t> {
    /// The stack name.
    pub name: String,
    /// Its region.
    pub region: String,
    /// The template: borrowed from a synthesized app (the analysis only reads it), owned when read
    /// from files.
    pub template: Cow<'t, Json>,
    /// Stacks it deploys after, as its deployer declares (manifest `dependsOn`, CDK `dependencies`).
    pub depends_on: Vec<String>,
}

impl StackTemplate<'_> {
    /// The same stack holding its own copy of the template, for a caller that edits it.
    pub fn into_owned(self) -> StackTemplate<'static> {
        StackTemplate {
            name: self.name,
            region: self.region,
            template: Cow::Owned(self.template.into_owned()),
            depends_on: self.depends_on,
        }
    }
}

/// A resource: a stack (by index) and a logical ID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Res {
    /// The stack's index in [`Model::stacks`].
    pub stack: usize,
    /// The logical ID.
    pub id: String,
}

/// What a template value turns out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    /// A resource (its `Ref`, or the attribute named).
    Resource(Res, Option<String>),
    /// A plain string, after pseudo parameters and mappings.
    Literal(String),
    /// Something the model cannot follow, and why.
    Unknown(String),
}

/// The app.
#[derive(Debug)]
pub struct Model<'t> {
    stacks: Vec<StackTemplate<'t>>,
    /// Region → export name → the exported output.
    exports: FastHashMap<String, FastHashMap<String, Export>>,
    /// Transitive deploy-time predecessors of each stack, found when first asked: finding them walks
    /// every template for its imports, which the picture of an app does not need.
    before: OnceLock<Vec<BTreeSet<usize>>>,
    /// Every resource by type, in stack then template order: the rules ask by type over and over.
    by_type: FastHashMap<String, Vec<Res>>,
}

/// An exported output.
#[derive(Debug)]
struct Export {
    /// The exporting stack's index.
    stack: usize,
    output_id: String,
    /// What the output's value resolves to, followed once as the model is built: the rules follow
    /// every import of every template, most of them several times over.
    value: Option<Resolved>,
}

impl<'t> Model<'t> {
    /// Builds the model of `stacks`, given in deploy order.
    pub fn new(stacks: Vec<StackTemplate<'t>>) -> Self {
        let mut exports: FastHashMap<String, FastHashMap<String, Export>> = FastHashMap::default();
        for (index, stack) in stacks.iter().enumerate() {
            let Some(outputs) = stack.template.field("Outputs").as_object() else { continue };
            for (output_id, output) in outputs {
                if let Some(name) = literal_text(output.field("Export").field("Name"), &stack.name, &stack.region) {
                    let export = Export { stack: index, output_id: output_id.clone(), value: None };
                    exports.entry(stack.region.clone()).or_default().insert(name, export);
                }
            }
        }
        let mut by_type: FastHashMap<String, Vec<Res>> = FastHashMap::default();
        for (stack, template) in stacks.iter().enumerate() {
            let Some(resources) = template.template.field("Resources").as_object() else { continue };
            for (id, resource) in resources {
                let type_name = resource.field("Type").as_str().unwrap_or_default().to_owned();
                by_type.entry(type_name).or_default().push(Res { stack, id: id.clone() });
            }
        }
        let mut model = Self { stacks, exports, before: OnceLock::new(), by_type };
        // Each export's value is followed as an import at the top of a value would follow it (depth
        // 1), all before any result is kept, so that none depends on the order the exports are found
        // in. An import met deeper in a value reads the same result: only a chain of references near
        // the depth limit could end differently, and none comes near it.
        // The map is not changed between the two walks, so they visit the exports in the same order.
        let followed: Vec<Resolved> =
            model.exports.values().flat_map(HashMap::values).map(|export| model.follow(export, 1)).collect();
        for (export, value) in model.exports.values_mut().flat_map(HashMap::values_mut).zip(followed) {
            export.value = Some(value);
        }
        model
    }

    /// What the value of an exported output resolves to, followed from `depth`.
    fn follow(&self, export: &Export, depth: usize) -> Resolved {
        let outputs = self.stacks[export.stack].template.field("Outputs");
        self.resolve_depth(export.stack, outputs[export.output_id.as_str()].field("Value"), depth)
    }

    /// The stacks, in the order given.
    pub fn stacks(&self) -> &[StackTemplate<'t>] {
        &self.stacks
    }

    /// Transitive deploy-time predecessors of each stack: its declared dependencies and the stacks it
    /// imports from, and theirs.
    fn predecessors(&self) -> Vec<BTreeSet<usize>> {
        let position = |name: &str| self.stacks.iter().position(|stack| stack.name == name);
        let mut direct: Vec<BTreeSet<usize>> = self
            .stacks
            .iter()
            .map(|stack| stack.depends_on.iter().filter_map(|name| position(name)).collect())
            .collect();
        // An import makes the exporting stack a predecessor: CloudFormation refuses the import otherwise.
        for (index, stack) in self.stacks.iter().enumerate() {
            let Some(region_exports) = self.exports.get(&stack.region) else { continue };
            let mut imported = Vec::new();
            collect_imports(stack.template.field("Resources"), &mut imported);
            for name in imported {
                if let Some(export) = region_exports.get(name) {
                    direct[index].insert(export.stack);
                }
            }
        }
        let mut before = vec![BTreeSet::new(); self.stacks.len()];
        for index in 0..self.stacks.len() {
            let mut stack = direct[index].iter().copied().collect::<Vec<_>>();
            while let Some(next) = stack.pop() {
                if before[index].insert(next) {
                    stack.extend(direct[next].iter().copied());
                }
            }
        }
        before
    }

    /// Whether stack `earlier` is certain to be deployed before stack `later`.
    pub fn deploys_before(&self, earlier: usize, later: usize) -> bool {
        earlier == later || self.before.get_or_init(|| self.predecessors())[later].contains(&earlier)
    }

    /// The resource's JSON (`Type`, `Properties`, ...), or `Null` when there is none.
    pub fn resource(&self, res: &Res) -> &Json {
        &self.stacks[res.stack].template.field("Resources")[res.id.as_str()]
    }

    /// The resource's `Properties` (`Null` when absent).
    pub fn props(&self, res: &Res) -> &Json {
        self.resource(res).field("Properties")
    }

    /// The resource's type.
    pub fn type_of(&self, res: &Res) -> &str {
        self.resource(res).field("Type").as_str().unwrap_or("")
    }

    /// Every resource of `type_name`, in stack then template order.
    pub fn of_type(&self, type_name: &str) -> Vec<Res> {
        self.by_type.get(type_name).cloned().unwrap_or_default()
    }

    /// `stack/logical-id`, for paths in findings.
    pub fn name(&self, res: &Res) -> String {
        format!("{}/{}", self.stacks[res.stack].name, res.id)
    }

    /// What `value`, found in stack `stack`, is.
    pub fn resolve(&self, stack: usize, value: &Json) -> Resolved {
        self.resolve_depth(stack, value, 0)
    }

    fn resolve_depth(&self, stack: usize, value: &Json, depth: usize) -> Resolved {
        if depth > 16 {
            return Resolved::Unknown("references nest too deeply".into());
        }
        let template = &self.stacks[stack];
        match value {
            Json::String(text) => Resolved::Literal(text.clone()),
            Json::Number(number) => Resolved::Literal(number.to_string()),
            Json::Bool(flag) => Resolved::Literal(flag.to_string()),
            Json::Object(map) if map.len() == 1 => {
                let (key, argument) = map.iter().next().expect("one entry");
                match key.as_str() {
                    "Ref" => {
                        let name = argument.as_str().unwrap_or_default();
                        if let Some(pseudo) = pseudo(name, &template.name, &template.region) {
                            Resolved::Literal(pseudo)
                        } else if template.template.field("Resources").get(name).is_some() {
                            Resolved::Resource(Res { stack, id: name.to_owned() }, None)
                        } else if template.template.field("Parameters").get(name).is_some() {
                            let default = template.template.field("Parameters")[name].field("Default");
                            if default.is_null() {
                                Resolved::Unknown(format!("parameter {name} has no default"))
                            } else {
                                self.resolve_depth(stack, default, depth + 1)
                            }
                        } else {
                            Resolved::Unknown(format!("Ref to {name}, which the template does not define"))
                        }
                    }
                    "Fn::GetAtt" => {
                        let (id, attribute) = match argument {
                            Json::Array(parts) => (
                                parts.first().and_then(Json::as_str).unwrap_or_default().to_owned(),
                                parts.get(1).and_then(Json::as_str).unwrap_or_default().to_owned(),
                            ),
                            Json::String(dotted) => match dotted.split_once('.') {
                                Some((id, attribute)) => (id.to_owned(), attribute.to_owned()),
                                None => (dotted.clone(), String::new()),
                            },
                            _ => return Resolved::Unknown("Fn::GetAtt of an unexpected shape".into()),
                        };
                        if template.template.field("Resources").get(&id).is_some() {
                            Resolved::Resource(Res { stack, id }, Some(attribute))
                        } else {
                            Resolved::Unknown(format!("Fn::GetAtt of {id}, which the template does not define"))
                        }
                    }
                    "Fn::ImportValue" => {
                        let Some(name) = literal_text(argument, &template.name, &template.region) else {
                            return Resolved::Unknown("Fn::ImportValue of a computed name".into());
                        };
                        match self.exports.get(&template.region).and_then(|names| names.get(&name)) {
                            // Followed once as the model was built; as it is built, followed here.
                            Some(Export { value: Some(value), .. }) => value.clone(),
                            Some(export) => self.follow(export, depth + 1),
                            None => Resolved::Unknown(format!("no stack of {} exports {name}", template.region)),
                        }
                    }
                    "Fn::GetStackOutput" => {
                        let stack_name = argument.field("StackName").as_str().unwrap_or_default();
                        let output = argument.field("OutputName").as_str().unwrap_or_default();
                        match self.stacks.iter().position(|s| s.name == stack_name) {
                            Some(index) if !self.stacks[index].template.field("Outputs")[output].is_null() => self
                                .resolve_depth(
                                    index,
                                    self.stacks[index].template.field("Outputs")[output].field("Value"),
                                    depth + 1,
                                ),
                            _ => Resolved::Unknown(format!("no output {output} of stack {stack_name}")),
                        }
                    }
                    "Fn::FindInMap" => {
                        let parts: Vec<Option<String>> = argument
                            .as_array()
                            .map(|parts| {
                                parts.iter().map(|part| literal_text(part, &template.name, &template.region)).collect()
                            })
                            .unwrap_or_default();
                        match parts.as_slice() {
                            [Some(map), Some(top), Some(second)] => {
                                let found = &template.template.field("Mappings")[map][top][second];
                                if found.is_null() {
                                    Resolved::Unknown(format!("mapping {map} has no {top}.{second}"))
                                } else {
                                    self.resolve_depth(stack, found, depth + 1)
                                }
                            }
                            _ => Resolved::Unknown("Fn::FindInMap with computed keys".into()),
                        }
                    }
                    "Fn::Sub" => match literal_text(value, &template.name, &template.region) {
                        Some(text) => Resolved::Literal(text),
                        None => Resolved::Unknown("an Fn::Sub of resource attributes".into()),
                    },
                    other => Resolved::Unknown(format!("{other} is not followed")),
                }
            }
            _ => Resolved::Unknown("a value of an unexpected shape".into()),
        }
    }

    /// The resource `value` names, if it names one.
    pub fn resource_of(&self, stack: usize, value: &Json) -> Option<Res> {
        match self.resolve(stack, value) {
            Resolved::Resource(res, _) => Some(res),
            _ => None,
        }
    }

    /// Every resource `value` refers to, anywhere inside it: `Ref`, `Fn::GetAtt`, `Fn::Sub` variables
    /// and imports, followed across stacks.
    pub fn references(&self, stack: usize, value: &Json) -> Vec<Res> {
        let mut found = Vec::new();
        self.collect_references(stack, value, &mut found, 0);
        found.sort();
        found.dedup();
        found
    }

    /// The resources `value`, found in stack `stack`, reads from other stacks: what its
    /// `Fn::ImportValue`s and `Fn::GetStackOutput`s resolve to, sorted and each once. Only those read
    /// another stack (`Ref`, `Fn::GetAtt` and `Fn::Sub` name the template's own resources, parameter
    /// defaults and mappings are literals), so this is [`Model::references`] less the template's own,
    /// without resolving every reference on the way.
    pub fn cross_stack_references(&self, stack: usize, value: &Json) -> Vec<Res> {
        let mut crossings = Vec::new();
        collect_crossings(value, &mut crossings);
        let mut found: Vec<Res> = crossings
            .into_iter()
            .filter_map(|crossing| self.resource_of(stack, crossing))
            .filter(|res| res.stack != stack)
            .collect();
        found.sort();
        found.dedup();
        found
    }

    fn collect_references(&self, stack: usize, value: &Json, found: &mut Vec<Res>, depth: usize) {
        if depth > 16 {
            return;
        }
        match value {
            Json::Object(map) if map.len() == 1 => {
                let (key, argument) = map.iter().next().expect("one entry");
                match key.as_str() {
                    "Ref" | "Fn::GetAtt" | "Fn::ImportValue" | "Fn::GetStackOutput" => {
                        if let Resolved::Resource(res, _) = self.resolve(stack, value) {
                            found.push(res);
                        }
                    }
                    "Fn::Sub" => {
                        let (text, variables) = match argument {
                            Json::String(text) => (text.as_str(), None),
                            Json::Array(parts) => {
                                (parts.first().and_then(Json::as_str).unwrap_or_default(), parts.get(1))
                            }
                            _ => ("", None),
                        };
                        for name in sub_variables(text) {
                            let id = name.split('.').next().unwrap_or_default();
                            if variables.is_some_and(|vars| vars.get(id).is_some()) {
                                continue;
                            }
                            if self.stacks[stack].template.field("Resources").get(id).is_some() {
                                found.push(Res { stack, id: id.to_owned() });
                            }
                        }
                        if let Some(Json::Object(variables)) = variables {
                            for value in variables.values() {
                                self.collect_references(stack, value, found, depth + 1);
                            }
                        }
                    }
                    _ => self.collect_references(stack, argument, found, depth + 1),
                }
            }
            Json::Object(map) => {
                for value in map.values() {
                    self.collect_references(stack, value, found, depth + 1);
                }
            }
            Json::Array(values) => {
                for value in values {
                    self.collect_references(stack, value, found, depth + 1);
                }
            }
            _ => {}
        }
    }
}

/// The value of a pseudo parameter that synthesis knows.
fn pseudo(name: &str, stack: &str, region: &str) -> Option<String> {
    Some(match name {
        "AWS::Region" => region.to_owned(),
        "AWS::StackName" => stack.to_owned(),
        "AWS::Partition" => "aws".to_owned(),
        "AWS::URLSuffix" => "amazonaws.com".to_owned(),
        "AWS::AccountId" => "${AWS::AccountId}".to_owned(),
        "AWS::NoValue" => String::new(),
        _ => return None,
    })
}

/// A string value, or an `Fn::Sub` of pseudo parameters only, as text.
fn literal_text(value: &Json, stack: &str, region: &str) -> Option<String> {
    match value {
        Json::String(text) => Some(text.clone()),
        Json::Object(map) => {
            let text = map.member("Fn::Sub")?.as_str()?;
            let mut out = text.to_owned();
            for name in sub_variables(text) {
                out = out.replace(&format!("${{{name}}}"), &pseudo(&name, stack, region)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// The `${...}` variables of an `Fn::Sub` template (not the `${!literal}` escapes).
fn sub_variables(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') {
            names.push(name.to_owned());
        }
        rest = &after[end + 1..];
    }
    names
}

/// Every `Fn::ImportValue` and `Fn::GetStackOutput` inside `value`.
fn collect_crossings<'j>(value: &'j Json, found: &mut Vec<&'j Json>) {
    match value {
        Json::Object(map)
            if map.len() == 1
                && map.keys().next().is_some_and(|key| key == "Fn::ImportValue" || key == "Fn::GetStackOutput") =>
        {
            found.push(value);
        }
        Json::Object(map) => map.values().for_each(|inner| collect_crossings(inner, found)),
        Json::Array(items) => items.iter().for_each(|inner| collect_crossings(inner, found)),
        _ => {}
    }
}

/// Every literal export name imported anywhere inside `value`.
fn collect_imports<'j>(value: &'j Json, found: &mut Vec<&'j str>) {
    match value {
        Json::Object(map) => {
            if let Some(Json::String(name)) = map.member("Fn::ImportValue") {
                found.push(name);
            }
            for value in map.values() {
                collect_imports(value, found);
            }
        }
        Json::Array(values) => values.iter().for_each(|value| collect_imports(value, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stack(name: &str, template: Json) -> StackTemplate<'static> {
        StackTemplate {
            name: name.into(),
            region: "us-east-1".into(),
            template: Cow::Owned(template),
            depends_on: vec![],
        }
    }

    fn export(name: &str, value: Json) -> Json {
        json!({"Value": value, "Export": {"Name": name}})
    }

    /// An import resolves to what the exported value resolves to, through an export of an import, and
    /// the same wherever it is asked; an export that imports itself is no resource, and no hang.
    #[test]
    fn imports_follow_exports_through_other_imports_and_cycles_end() {
        let model = Model::new(vec![
            stack(
                "Data",
                json!({
                    "Resources": {"Db": {"Type": "AWS::RDS::DBInstance"}},
                    "Outputs": {
                        "Endpoint": export("Data:Endpoint", json!({"Fn::GetAtt": ["Db", "Endpoint.Address"]})),
                        "Loop": export("Data:Loop", json!({"Fn::ImportValue": "Data:Loop"}))
                    }
                }),
            ),
            stack(
                "Relay",
                json!({
                    "Outputs": {"Endpoint": export("Relay:Endpoint", json!({"Fn::ImportValue": "Data:Endpoint"}))}
                }),
            ),
            stack("App", json!({"Resources": {"Task": {"Type": "AWS::ECS::TaskDefinition"}}})),
        ]);
        let database = Resolved::Resource(Res { stack: 0, id: "Db".into() }, Some("Endpoint.Address".into()));
        let import = |name: &str| json!({"Fn::ImportValue": name});
        assert_eq!(model.resolve(2, &import("Data:Endpoint")), database);
        assert_eq!(model.resolve(2, &import("Relay:Endpoint")), database);
        assert_eq!(
            model.resolve(2, &json!({"Fn::Select": [0, [import("Relay:Endpoint")]]})),
            Resolved::Unknown("Fn::Select is not followed".into())
        );
        assert_eq!(
            model.references(2, &json!({"Image": import("Relay:Endpoint")})),
            [Res { stack: 0, id: "Db".into() }]
        );
        assert!(matches!(model.resolve(2, &import("Data:Loop")), Resolved::Unknown(_)));
        assert!(
            matches!(model.resolve(2, &import("Nobody:Exports")), Resolved::Unknown(why) if why.contains("exports"))
        );
    }
}
