//! The `pattern` keyword of the registry schemas, compiled the first time a string reaches it.
//!
//! `jsonschema` compiles every `pattern` of a schema when it builds the validator. A registry schema
//! holds many a value never reaches: compiling `AWS::WAFv2::WebACL` for the `Rules` a web ACL sets
//! compiles every statement its rules could hold, down to the JSON-body matcher's
//! `^[\/]+([^~]*(~[01])*){1,512}$`, whose automaton alone took about a sixth of `validate`'s
//! instructions (24 of 152 million).
//!
//! Here each distinct pattern waits until a string meets it, and is then compiled once, for every
//! validator, by `jsonschema` itself (a validator of the schema `{"pattern": …}`), so a value matches,
//! and an error reads and sits, exactly as under the built-in keyword. Only the order of one schema
//! object's errors can differ: `jsonschema` runs a custom keyword after its built-in ones.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::paths::Location;
use jsonschema::{Keyword, ValidationError, ValidationOptions, Validator};
use serde_json::{json, Map, Value as Json};

/// The patterns met so far, shared by every validator built with the options [`install`](Self::install)
/// gives.
#[derive(Clone, Default)]
pub(super) struct LazyPatterns {
    by_pattern: Arc<Mutex<HashMap<String, Arc<OnceLock<Validator>>>>>,
}

impl LazyPatterns {
    /// `options` with `pattern` taken over by this set's lazily compiled patterns.
    pub(super) fn install<'a>(&self, options: ValidationOptions<'a>) -> ValidationOptions<'a> {
        let patterns = self.clone();
        options.with_keyword("pattern", move |_parent: &Map<String, Json>, schema: &Json, _: Location| {
            let Some(pattern) = schema.as_str() else {
                return Err(ValidationError::schema(format!("\"pattern\" must be a string, not {schema}")));
            };
            Ok(Box::new(LazyPattern { pattern: pattern.to_owned(), compiled: patterns.slot(pattern) })
                as Box<dyn for<'i> Keyword<'i>>)
        })
    }

    /// The one cell every use of `pattern` shares.
    fn slot(&self, pattern: &str) -> Arc<OnceLock<Validator>> {
        let mut by_pattern = self.by_pattern.lock().expect("no thread panics holding the patterns");
        Arc::clone(by_pattern.entry(pattern.to_owned()).or_default())
    }

    /// How many distinct patterns have been compiled (met by a string), for tests.
    #[cfg(test)]
    fn compiled(&self) -> usize {
        let by_pattern = self.by_pattern.lock().expect("no thread panics holding the patterns");
        by_pattern.values().filter(|cell| cell.get().is_some()).count()
    }
}

/// One place a pattern stands in a schema.
struct LazyPattern {
    pattern: String,
    compiled: Arc<OnceLock<Validator>>,
}

impl LazyPattern {
    fn validator(&self) -> &Validator {
        self.compiled.get_or_init(|| {
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft7)
                .build(&json!({"pattern": self.pattern}))
                .unwrap_or_else(|error| panic!("the registry pattern {:?} does not compile: {error}", self.pattern))
        })
    }
}

impl<'i> Keyword<'i> for LazyPattern {
    /// A pattern holds only strings to account; anything else passes without compiling it.
    fn validate(&self, instance: &'i Json) -> Result<(), ValidationError<'i>> {
        if instance.is_string() {
            self.validator().validate(instance)
        } else {
            Ok(())
        }
    }

    fn is_valid(&self, instance: &'i Json) -> bool {
        !instance.is_string() || self.validator().is_valid(instance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built(patterns: &LazyPatterns, schema: &Json) -> Validator {
        patterns.install(jsonschema::options().with_draft(jsonschema::Draft::Draft7)).build(schema).unwrap()
    }

    #[test]
    fn a_pattern_is_compiled_when_a_string_first_reaches_it_and_once_for_every_validator() {
        let patterns = LazyPatterns::default();
        let schema = json!({
            "properties": {
                "Name": {"type": "string", "pattern": "^[a-z]+$"},
                "Path": {"pattern": "^[\\/]+([^~]*(~[01])*){1,512}$"}
            }
        });
        let first = built(&patterns, &schema);
        let second = built(&patterns, &schema);
        assert_eq!(patterns.compiled(), 0, "building compiles no pattern");
        assert!(first.is_valid(&json!({"Name": "web", "Path": 7})));
        assert_eq!(patterns.compiled(), 1, "a number never reaches the compiler");
        assert!(!second.is_valid(&json!({"Name": "Web"})));
        assert_eq!(patterns.compiled(), 1, "the second validator shares the first one's");
        assert!(first.is_valid(&json!({"Path": "/a~0b"})));
        assert_eq!(patterns.compiled(), 2);
    }

    #[test]
    fn errors_read_and_sit_as_under_the_built_in_keyword() {
        let schema = json!({
            "properties": {"Tags": {"items": {"properties": {"Key": {"pattern": "^(?!aws:)[a-zA-Z0-9 _.:/=+\\-@]*$"}}}}}
        });
        let instance = json!({"Tags": [{"Key": "fine"}, {"Key": "aws:reserved"}, {"Key": "no*stars"}]});
        let describe = |validator: &Validator| -> Vec<String> {
            validator.iter_errors(&instance).map(|error| format!("{} {error}", error.instance_path())).collect()
        };
        let lazy = describe(&built(&LazyPatterns::default(), &schema));
        let eager = describe(&jsonschema::options().with_draft(jsonschema::Draft::Draft7).build(&schema).unwrap());
        assert_eq!(lazy, eager);
        assert_eq!(lazy.len(), 2, "{lazy:?}");
        assert!(lazy[0].starts_with("/Tags/1/Key \"aws:reserved\" does not match"), "{lazy:?}");
    }

    #[test]
    fn every_pattern_of_the_vendored_schemas_compiles() {
        // Compiled lazily, a pattern that does not compile would show only when a value reached it.
        fn patterns_in(value: &Json, found: &mut Vec<String>) {
            match value {
                Json::Object(members) => {
                    for (key, member) in members {
                        match (key.as_str(), member) {
                            ("pattern", Json::String(pattern)) => found.push(pattern.clone()),
                            _ => patterns_in(member, found),
                        }
                    }
                }
                Json::Array(items) => items.iter().for_each(|item| patterns_in(item, found)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        for spec in crate::cfn::resource_specs() {
            patterns_in(&serde_json::from_str(spec.schema).expect("vendored schemas are JSON"), &mut found);
        }
        found.sort();
        found.dedup();
        assert!(found.len() > 100, "{} patterns", found.len());
        let patterns = LazyPatterns::default();
        let validator =
            built(&patterns, &json!({"items": found.iter().map(|p| json!({"pattern": p})).collect::<Vec<_>>()}));
        // Every error, not the first: each item meets its pattern.
        let _ = validator.iter_errors(&Json::Array(found.iter().map(|_| json!("x")).collect())).count();
        assert_eq!(patterns.compiled(), found.len());
    }
}
