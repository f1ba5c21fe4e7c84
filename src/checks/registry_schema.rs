//! Validates each resource's properties against the registry schema of its type, in process.
//!
//! A registry schema describes literal values; a template also holds values CloudFormation computes at
//! deploy time (`Ref`, `Fn::*`, `{{resolve:...}}`). A property schema is therefore wrapped as "if the
//! value is a deploy-time value, accept it, else it must match the original", so an intrinsic passes
//! where a value may stand and every other value meets the schema. Errors come from the original
//! schema, so they read as the registry wrote it. A validator compiled for an app's
//! [`SchemaUse`] wraps only the places that app holds deploy-time values (see [`super::schema_use`]).

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Map, Value as Json};

use super::lazy_pattern::LazyPatterns;
use super::schema_text;
use super::schema_use::{DeployTimeSites, SchemaUse};
use super::Finding;
use crate::cfn::resource_spec;
use crate::template::ResourceSpec;

const DEPLOY_TIME_VALUE: &str = "CfnSynthDeployTimeValue";

/// The rule name findings of this check carry.
pub const RULE: &str = "registry-schema";

/// Compiled validators, one per resource type: what `validate` compiles while the app is synthesized,
/// for the use the built app's resources make of each schema ([`SchemaCheck::for_uses`]), or for
/// whole types ([`SchemaCheck::for_types`]).
#[derive(Default)]
pub struct SchemaCheck {
    validators: HashMap<&'static str, Compiled>,
    /// The `pattern` regular expressions, each compiled once for every validator, and only when a
    /// string first reaches it: the registry's schemas repeat many (ARNs, tag keys, IDs), hold many no
    /// value reaches, and compiling them was the largest part of a build.
    patterns: Patterns,
}

/// The regular expressions of `pattern` ([`LazyPatterns`]) and of `patternProperties` names
/// (compiled with the validator, each once: there are few, and every object of the kind meets them).
#[derive(Clone, Default)]
struct Patterns {
    values: LazyPatterns,
    names: jsonschema::PatternCache,
}

/// A type's validator and the use it was compiled for.
struct Compiled {
    validator: jsonschema::Validator,
    /// `None`: every property of the type's schema, each place a value may stand guarded. `Some`:
    /// only the properties an app's resources of the type set, guarded only where they hold
    /// deploy-time values: a property none of them sets is never validated, and compiling a large
    /// schema whole (ECS task definitions, CloudFront distributions) is most of `validate`'s time.
    compiled_for: Option<SchemaUse>,
}

impl Compiled {
    /// Whether the validator checks `properties` as the whole one would: with fewer properties
    /// compiled, one left out would read as one the type does not have, and a deploy-time value at an
    /// unguarded place would be held to the literal schema.
    fn covers(&self, properties: Option<&Map<String, Json>>) -> bool {
        match (&self.compiled_for, properties) {
            (None, _) | (_, None) => true,
            (Some(compiled_for), Some(properties)) => compiled_for.admits(properties),
        }
    }
}

impl std::fmt::Debug for SchemaCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaCheck").field("types", &self.validators.len()).finish()
    }
}

/// Compiles the validator of one type from its vendored schema, for only the use `only` describes
/// when it is given.
fn compile(spec: &ResourceSpec, only: Option<&SchemaUse>, patterns: &Patterns) -> Compiled {
    let registry = schema_text::read(spec.schema).expect("vendored schemas are JSON");
    compile_registry(spec, &registry, only, patterns)
}

/// [`compile`] from the type's registry schema as read.
fn compile_registry(spec: &ResourceSpec, registry: &Json, only: Option<&SchemaUse>, patterns: &Patterns) -> Compiled {
    let options = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(false)
        .with_pattern_cache(patterns.names.clone());
    let validator = patterns
        .values
        .install(options)
        .build(&property_schema(registry, only))
        .unwrap_or_else(|error| panic!("the vendored schema of {} does not compile: {error}", spec.type_name));
    Compiled { validator, compiled_for: only.cloned() }
}

impl SchemaCheck {
    /// The validators of `type_names` (those with a vendored schema), compiled on every core (`rayon`):
    /// compiling is most of a schema check's cost, and each type's is independent. The largest schemas
    /// go first, so that no core is left with one at the end.
    pub fn for_types<'a>(type_names: impl IntoIterator<Item = &'a str>) -> Self {
        Self::compile_all(type_names.into_iter().map(|type_name| (type_name, None)))
    }

    /// The validators of the types `uses` names (as [`schema_uses`](super::schema_uses) reads them
    /// off a built app), each compiled for the properties its resources set and guarded where they
    /// hold deploy-time values, on every core. A resource that sets another property, or holds a
    /// deploy-time value elsewhere, later gets a validator of its whole type.
    pub fn for_uses(uses: &BTreeMap<String, SchemaUse>) -> Self {
        Self::compile_all(uses.iter().map(|(type_name, used)| (type_name.as_str(), Some(used))))
    }

    fn compile_all<'a>(wanted: impl IntoIterator<Item = (&'a str, Option<&'a SchemaUse>)>) -> Self {
        use rayon::prelude::*;
        let mut specs: Vec<(&'static ResourceSpec, Option<&SchemaUse>)> = wanted
            .into_iter()
            .filter_map(|(type_name, only)| resource_spec(type_name).map(|spec| (spec, only)))
            .collect();
        specs.sort_by_key(|(spec, _)| spec.type_name);
        specs.dedup_by_key(|(spec, _)| spec.type_name);
        specs.sort_by_key(|(spec, _)| std::cmp::Reverse(spec.schema.len()));
        let patterns = Patterns::default();
        let validators =
            specs.par_iter().map(|(spec, only)| (spec.type_name, compile(spec, *only, &patterns))).collect();
        Self { validators, patterns }
    }

    /// Checks one resource entry. Returns `None` when its type has no vendored schema.
    pub(super) fn check(&mut self, stack: &str, logical_id: &str, resource: &Json) -> Option<Vec<Finding>> {
        let type_name = resource["Type"].as_str()?;
        let spec = resource_spec(type_name)?;
        let set = resource.get("Properties").and_then(Json::as_object);
        if !self.validators.get(spec.type_name).is_some_and(|compiled| compiled.covers(set)) {
            self.validators.insert(spec.type_name, compile(spec, None, &self.patterns));
        }
        let validator = &self.validators[spec.type_name].validator;
        let empty = Json::Object(Map::new());
        let properties = resource.get("Properties").unwrap_or(&empty);
        Some(
            validator
                .iter_errors(properties)
                .map(|error| Finding {
                    rule: RULE,
                    severity: super::Severity::Error,
                    stack: stack.to_owned(),
                    logical_id: logical_id.to_owned(),
                    path: format!("Properties{}", error.instance_path()),
                    message: error.to_string(),
                })
                .collect(),
        )
    }
}

/// The schema of a resource's `Properties` object, tolerant of deploy-time values; with `only`, its
/// `properties` keep just the names used (`required`, `additionalProperties` and the combinators stay
/// whole, so an object of those names validates exactly as against the whole schema), and the guard
/// stands only at the places the use holds deploy-time values.
fn property_schema(registry: &Json, only: Option<&SchemaUse>) -> Json {
    let mut root = Map::new();
    root.insert("type".into(), json!("object"));
    for key in schema_text::READ_AT_THE_TOP {
        if let Some(value) = registry.get(key) {
            let value = match (key, only, value) {
                ("properties", Some(only), Json::Object(properties)) => Json::Object(
                    properties
                        .iter()
                        .filter(|(name, _)| only.properties.contains(*name))
                        .map(|(name, schema)| (name.clone(), schema.clone()))
                        .collect(),
                ),
                _ => value.clone(),
            };
            root.insert(key.into(), value);
        }
    }
    let mut root = Json::Object(root);
    tolerate_deploy_time_values(&mut root, only.map(|used| &used.deploy_time));
    let definitions =
        root.as_object_mut().expect("an object").entry("definitions").or_insert_with(|| Json::Object(Map::new()));
    definitions[DEPLOY_TIME_VALUE] = json!({
        "anyOf": [
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "patternProperties": {"^(Ref|Condition|Fn::[A-Za-z]+)$": {}},
                "additionalProperties": false
            },
            {"type": "string", "pattern": "\\{\\{resolve:"}
        ]
    });
    root
}

/// Wraps the places a value can stand (properties, items, map values) in the deploy-time guard:
/// every one, or with `sites`, those where the app holds deploy-time values (a property by its name,
/// map values when any member holds one, items when any item is one).
fn tolerate_deploy_time_values(schema: &mut Json, sites: Option<&DeployTimeSites>) {
    let Some(object) = schema.as_object_mut() else { return };
    for key in ["properties", "patternProperties", "definitions"] {
        if let Some(Json::Object(children)) = object.get_mut(key) {
            for (name, child) in children.iter_mut() {
                tolerate_deploy_time_values(child, sites);
                let guarded = match key {
                    "definitions" => false,
                    "properties" => sites.is_none_or(|sites| sites.members.contains(name)),
                    _ => sites.is_none_or(DeployTimeSites::any_member),
                };
                if guarded {
                    guard(child);
                }
            }
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child @ Json::Object(_)) = object.get_mut(key) {
            tolerate_deploy_time_values(child, sites);
            let guarded = match key {
                "items" => sites.is_none_or(|sites| sites.items),
                _ => sites.is_none_or(DeployTimeSites::any_member),
            };
            if guarded {
                guard(child);
            }
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Json::Array(alternatives)) = object.get_mut(key) {
            alternatives.iter_mut().for_each(|alternative| tolerate_deploy_time_values(alternative, sites));
        }
    }
}

fn guard(schema: &mut Json) {
    let original = std::mem::take(schema);
    *schema = json!({"if": {"$ref": format!("#/definitions/{DEPLOY_TIME_VALUE}")}, "else": original});
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(resource: Json) -> Vec<String> {
        SchemaCheck::default()
            .check("Stack", "Thing", &resource)
            .expect("a vendored type")
            .into_iter()
            .map(|finding| format!("{}: {}", finding.path, finding.message))
            .collect()
    }

    #[test]
    fn literal_values_must_match_the_registry_schema() {
        let findings =
            check(json!({"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": "a year", "Bogus": 1}}));
        assert_eq!(findings.len(), 3, "{findings:?}");
        assert!(findings.contains(&"Properties/RetentionInDays: \"a year\" is not of type \"integer\"".to_owned()));
        assert!(findings.iter().any(|f| f.starts_with("Properties/RetentionInDays: \"a year\" is not one of")));
        assert!(findings.iter().any(|f| f.starts_with("Properties: ") && f.contains("Bogus")), "{findings:?}");
    }

    #[test]
    fn required_properties_are_checked() {
        let findings = check(json!({"Type": "AWS::EC2::Subnet", "Properties": {}}));
        assert_eq!(findings, ["Properties: \"VpcId\" is a required property"]);
    }

    #[test]
    fn deploy_time_values_are_accepted_wherever_a_value_may_stand() {
        let findings = check(json!({"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": "Vpc"},
            "MapPublicIpOnLaunch": {"Fn::If": ["C", true, false]},
            "Tags": [{"Key": "Name", "Value": {"Fn::Sub": "${AWS::StackName}"}}, {"Fn::If": ["C", {"Key": "a", "Value": "b"}, {"Ref": "AWS::NoValue"}]}]
        }}));
        assert_eq!(findings, Vec::<String>::new());
        let findings = check(json!({"Type": "AWS::ElastiCache::ReplicationGroup", "Properties": {
            "ReplicationGroupDescription": "cache",
            "AuthToken": "{{resolve:secretsmanager:token:SecretString:token}}"
        }}));
        assert_eq!(findings, Vec::<String>::new());
    }

    #[test]
    fn every_vendored_schema_compiles_into_a_validator() {
        let mut check = SchemaCheck::default();
        for spec in crate::cfn::resource_specs() {
            let findings = check.check("S", "R", &json!({"Type": spec.type_name}));
            assert!(findings.is_some(), "{}", spec.type_name);
        }
        assert_eq!(check.validators.len(), crate::cfn::resource_specs().len());
    }

    /// A validator compiled for the properties an app sets finds what the whole schema finds for
    /// those; a resource that sets another property is checked against the whole schema, so a valid
    /// property left out of the compiled ones is no finding and an unknown one still is.
    #[test]
    fn a_validator_compiled_for_some_properties_finds_what_the_whole_schema_finds() {
        let mut used = SchemaUse::default();
        used.record(json!({"RetentionInDays": 7, "Bogus": 1}).as_object().unwrap());
        let mut pruned = SchemaCheck::for_uses(&BTreeMap::from([("AWS::Logs::LogGroup".to_owned(), used)]));
        assert!(pruned.validators["AWS::Logs::LogGroup"].compiled_for.is_some());
        let findings = |check: &mut SchemaCheck, properties: Json| {
            let resource = json!({"Type": "AWS::Logs::LogGroup", "Properties": properties});
            let mut messages: Vec<String> = check
                .check("S", "R", &resource)
                .unwrap()
                .into_iter()
                .map(|finding| format!("{}: {}", finding.path, finding.message))
                .collect();
            messages.sort();
            messages
        };
        let bad = json!({"RetentionInDays": "a year", "Bogus": 1});
        let whole = findings(&mut SchemaCheck::default(), bad.clone());
        assert_eq!(whole.len(), 3, "{whole:?}");
        assert_eq!(findings(&mut pruned, bad), whole);
        assert!(pruned.validators["AWS::Logs::LogGroup"].compiled_for.is_some(), "still the pruned validator");

        assert_eq!(findings(&mut pruned, json!({"RetentionInDays": 7, "LogGroupName": "app"})), Vec::<String>::new());
        assert!(pruned.validators["AWS::Logs::LogGroup"].compiled_for.is_none(), "recompiled whole");
        let unknown = findings(&mut pruned, json!({"LogGroupName": "app", "Other": 1}));
        assert!(unknown.len() == 1 && unknown[0].contains("Other"), "{unknown:?}");
    }

    /// A validator guarded only where the use holds deploy-time values; a resource with one elsewhere
    /// is checked against the whole, everywhere-guarded validator, so its intrinsic is no finding.
    #[test]
    fn a_deploy_time_value_at_an_unguarded_place_gets_the_whole_validator() {
        let mut uses = SchemaUse::default();
        uses.record(json!({"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/24"}).as_object().unwrap());
        let mut pruned = SchemaCheck::for_uses(&BTreeMap::from([("AWS::EC2::Subnet".to_owned(), uses)]));
        let literal = json!({"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": "vpc-2", "CidrBlock": 7}});
        let findings = pruned.check("S", "R", &literal).unwrap();
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(pruned.validators["AWS::EC2::Subnet"].compiled_for.is_some(), "still the pruned validator");
        let deploy_time =
            json!({"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.1.0/24"}});
        assert_eq!(pruned.check("S", "R", &deploy_time).unwrap(), []);
        assert!(pruned.validators["AWS::EC2::Subnet"].compiled_for.is_none(), "recompiled whole");
    }

    /// Applies `change` to every literal of `value` (a string, number, boolean or null); deploy-time
    /// values are left as they are.
    #[cfg(feature = "platform")]
    fn each_literal(value: &mut Json, change: &impl Fn(&mut Json)) {
        if super::super::schema_use::is_deploy_time(value) {
            return;
        }
        match value {
            Json::Object(object) => object.values_mut().for_each(|member| each_literal(member, change)),
            Json::Array(items) => items.iter_mut().for_each(|item| each_literal(item, change)),
            literal => change(literal),
        }
    }

    /// Every literal of `value` changed to one of another type.
    #[cfg(feature = "platform")]
    fn corrupt(value: &mut Json) {
        each_literal(value, &|literal| match literal {
            Json::String(_) => *literal = json!(12345),
            Json::Number(_) | Json::Bool(_) => *literal = json!("corrupted"),
            _ => {}
        });
    }

    /// The validators compiled for the uses read off the built platform cover each synthesized
    /// resource (none is compiled again), and find exactly what whole validators find, both for the
    /// platform's resources and for copies whose every literal is corrupted.
    #[cfg(feature = "platform")]
    #[test]
    fn validators_for_the_platforms_uses_find_what_whole_validators_find() {
        let config = crate::config::ConfigFile::embedded_default().unwrap();
        let app = crate::platform::build(config.config()).unwrap();
        let uses = super::super::schema_uses(&app);
        let synthesized = app.synth().unwrap();
        let mut pruned = SchemaCheck::for_uses(&uses);
        let mut whole = SchemaCheck::default();
        let messages = |check: &mut SchemaCheck, resource: &Json| -> Vec<String> {
            let mut messages: Vec<String> = check
                .check("S", "R", resource)
                .expect("a vendored type")
                .into_iter()
                .map(|finding| format!("{}: {}", finding.path, finding.message))
                .collect();
            messages.sort();
            messages
        };
        let (mut resources, mut corrupted_findings) = (0, 0);
        for stack in &synthesized.stacks {
            for resource in stack.template["Resources"].as_object().unwrap().values() {
                let type_name = resource["Type"].as_str().unwrap();
                let compiled = &pruned.validators[type_name];
                assert!(
                    compiled.compiled_for.is_some() && compiled.covers(resource["Properties"].as_object()),
                    "{type_name}"
                );
                assert_eq!(messages(&mut pruned, resource), messages(&mut whole, resource), "{type_name}");
                let mut corrupted = resource.clone();
                if let Some(properties) = corrupted.get_mut("Properties") {
                    corrupt(properties);
                }
                let found = messages(&mut pruned, &corrupted);
                assert_eq!(found, messages(&mut whole, &corrupted), "{type_name}");
                corrupted_findings += found.len();
                resources += 1;
            }
        }
        assert!(pruned.validators.values().all(|compiled| compiled.compiled_for.is_some()), "none compiled again");
        assert!(
            resources > 500 && corrupted_findings > resources,
            "{resources} resources, {corrupted_findings} findings"
        );
    }

    /// Calls `each` with every resource of the default platform's synthesis, by its type, and with its
    /// properties as built, with every literal corrupted ([`corrupt`]) and with every literal garbled
    /// ([`garble`]).
    #[cfg(feature = "platform")]
    fn each_platform_resource_as_built_and_broken(mut each: impl FnMut(&'static ResourceSpec, [&Json; 3])) {
        let config = crate::config::ConfigFile::embedded_default().unwrap();
        let synthesized = crate::platform::build(config.config()).unwrap().synth().unwrap();
        for stack in &synthesized.stacks {
            for resource in stack.template["Resources"].as_object().unwrap().values() {
                let spec = resource_spec(resource["Type"].as_str().unwrap()).expect("a vendored type");
                let mut corrupted = resource["Properties"].clone();
                corrupt(&mut corrupted);
                let mut garbled = resource["Properties"].clone();
                garble(&mut garbled);
                each(spec, [&resource["Properties"], &corrupted, &garbled]);
            }
        }
    }

    /// Validators compiled from the schemas read without their prose ([`schema_text`]) find exactly
    /// what validators compiled from the published text find, on the platform's resources and on
    /// copies whose every literal is corrupted.
    #[cfg(feature = "platform")]
    #[test]
    fn validators_read_without_prose_find_what_the_published_schemas_find() {
        let patterns = Patterns::default();
        let mut validators: BTreeMap<&str, (Compiled, Compiled)> = BTreeMap::new();
        let (mut resources, mut findings) = (0, 0);
        each_platform_resource_as_built_and_broken(|spec, versions| {
            let (read, published) = validators.entry(spec.type_name).or_insert_with(|| {
                let published: Json = serde_json::from_str(spec.schema).unwrap();
                let read = schema_text::read(spec.schema).unwrap();
                (compile_registry(spec, &read, None, &patterns), compile_registry(spec, &published, None, &patterns))
            });
            for properties in versions {
                let messages = |compiled: &Compiled| -> Vec<String> {
                    compiled.validator.iter_errors(properties).map(|error| format!("{error:?}")).collect()
                };
                let found = messages(read);
                assert_eq!(found, messages(published), "{}", spec.type_name);
                findings += found.len();
            }
            resources += 1;
        });
        assert!(resources > 500 && findings > resources, "{resources} resources, {findings} findings");
    }

    /// Patterns compiled when a string first meets them ([`LazyPatterns`]) find what the built-in
    /// `pattern` keyword finds, at the same places, on the platform's resources and on corrupted and
    /// garbled copies. (A custom keyword runs after the built-in ones of its schema object, so the
    /// findings are compared as sets.)
    #[cfg(feature = "platform")]
    #[test]
    fn lazily_compiled_patterns_find_what_the_built_in_keyword_finds() {
        let patterns = Patterns::default();
        let mut validators: BTreeMap<&str, (Compiled, jsonschema::Validator)> = BTreeMap::new();
        let mut pattern_findings = 0;
        each_platform_resource_as_built_and_broken(|spec, versions| {
            let (lazy, eager) = validators.entry(spec.type_name).or_insert_with(|| {
                let read = schema_text::read(spec.schema).unwrap();
                let eager = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft7)
                    .should_validate_formats(false)
                    .build(&property_schema(&read, None))
                    .unwrap();
                (compile_registry(spec, &read, None, &patterns), eager)
            });
            for properties in versions {
                let found = |validator: &jsonschema::Validator| -> BTreeMap<String, usize> {
                    let mut found = BTreeMap::new();
                    for error in validator.iter_errors(properties) {
                        *found.entry(format!("{}: {error}", error.instance_path())).or_default() += 1;
                    }
                    found
                };
                let (by_lazy, by_eager) = (found(&lazy.validator), found(eager));
                assert_eq!(by_lazy, by_eager, "{}", spec.type_name);
                pattern_findings += by_lazy.keys().filter(|finding| finding.contains("does not match")).count();
            }
        });
        assert!(pattern_findings > 100, "{pattern_findings} pattern findings");
    }

    /// Every literal of `value` kept in type but out of bounds: strings too long for any pattern,
    /// enumeration or length limit to admit, numbers below any minimum.
    #[cfg(feature = "platform")]
    fn garble(value: &mut Json) {
        each_literal(value, &|literal| match literal {
            Json::String(text) => *text = format!("{}\u{1}!", "~".repeat(5000)),
            Json::Number(_) => *literal = json!(-99_999_999),
            _ => {}
        });
    }

    #[test]
    fn types_without_a_vendored_schema_are_not_checked() {
        assert!(SchemaCheck::default().check("S", "F", &json!({"Type": "AWS::Lambda::Permission"})).is_none());
    }
}
