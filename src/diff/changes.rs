//! The differences of one stack, leaf by leaf, and what each does to its resource.

use serde_json::Value;

use super::output::OutputStack;
use super::{Change, Classification, NamedChange, PropertyChange, ResourceDiff, StackDiff, ValueChange};
use crate::cfn::resource_spec;
use crate::template::{PATH_METADATA_KEY, STATEFUL_RESOURCE_TYPES};

/// Types that hold data beyond [`STATEFUL_RESOURCE_TYPES`] (whose members synthesis requires removal
/// policies of): a container registry's images and a global datastore's replication.
const ALSO_STATEFUL: &[&str] = &["AWS::ECR::Repository", "AWS::ElastiCache::GlobalReplicationGroup"];

/// The template sections compared entry by entry; the rest is compared leaf by leaf.
const SECTIONS_BY_ENTRY: &[&str] = &["Resources", "Outputs", "Parameters"];

/// Whether a resource entry holds data: a stateful type, or a deletion policy that keeps something.
pub fn is_stateful(entry: &Value) -> bool {
    let resource_type = entry["Type"].as_str().unwrap_or_default();
    STATEFUL_RESOURCE_TYPES.contains(&resource_type)
        || ALSO_STATEFUL.contains(&resource_type)
        || matches!(entry["DeletionPolicy"].as_str(), Some("Retain" | "Snapshot" | "RetainExceptOnCreate"))
}

/// The differences of the stack `name` between its earlier and fresh templates; `None` when equal.
pub(super) fn stack(name: &str, old: Option<&OutputStack>, new: Option<&OutputStack>) -> Option<StackDiff> {
    let (change, region) = match (old, new) {
        (Some(_), Some(fresh)) => (Change::Changed, &fresh.region),
        (None, Some(fresh)) => (Change::Added, &fresh.region),
        (Some(earlier), None) => (Change::Removed, &earlier.region),
        (None, None) => return None,
    };
    if let (Some(earlier), Some(fresh)) = (old, new) {
        if earlier.template == fresh.template {
            return None;
        }
    }
    let empty = serde_json::Map::new();
    let pair = |key: &str| (section(old, key).unwrap_or(&empty), section(new, key).unwrap_or(&empty));

    let (old_resources, new_resources) = pair("Resources");
    let resources = entries(old_resources, new_resources)
        .filter_map(|(logical_id, old, new)| resource(logical_id, old, new))
        .collect();
    let named = |key: &str| {
        let (old, new) = pair(key);
        entries(old, new)
            .filter(|(_, old, new)| old != new)
            .map(|(name, old, new)| NamedChange {
                name: name.to_owned(),
                change: change_of(old, new),
                old: old.cloned(),
                new: new.cloned(),
            })
            .collect()
    };
    let outputs = named("Outputs");
    let parameters = named("Parameters");

    let rest = |side: Option<&OutputStack>| {
        let mut document = side.and_then(|stack| stack.template.as_object()).cloned().unwrap_or_default();
        document.retain(|key, _| !SECTIONS_BY_ENTRY.contains(&key.as_str()));
        Value::Object(document)
    };
    let mut template = Vec::new();
    leaves(&mut String::new(), Some(&rest(old)), Some(&rest(new)), &mut |pointer, old, new| {
        template.push(ValueChange { pointer: pointer.to_owned(), old: old.cloned(), new: new.cloned() })
    });
    Some(StackDiff { name: name.to_owned(), region: region.clone(), change, resources, outputs, parameters, template })
}

fn section<'a>(side: Option<&'a OutputStack>, key: &str) -> Option<&'a serde_json::Map<String, Value>> {
    side.and_then(|stack| stack.template[key].as_object())
}

fn change_of(old: Option<&Value>, new: Option<&Value>) -> Change {
    match (old, new) {
        (None, _) => Change::Added,
        (_, None) => Change::Removed,
        _ => Change::Changed,
    }
}

/// The keys of two maps, the earlier's order first, with each side's value.
fn entries<'a>(
    old: &'a serde_json::Map<String, Value>,
    new: &'a serde_json::Map<String, Value>,
) -> impl Iterator<Item = (&'a str, Option<&'a Value>, Option<&'a Value>)> {
    old.iter().map(|(key, value)| (key.as_str(), Some(value), new.get(key))).chain(
        new.iter().filter(|(key, _)| !old.contains_key(*key)).map(|(key, value)| (key.as_str(), None, Some(value))),
    )
}

fn resource(logical_id: &str, old: Option<&Value>, new: Option<&Value>) -> Option<ResourceDiff> {
    if old == new {
        return None;
    }
    let either = new.or(old).expect("one side has the resource");
    let path =
        |side: Option<&Value>| side.and_then(|entry| entry["Metadata"][PATH_METADATA_KEY].as_str()).map(str::to_owned);
    let mut diff = ResourceDiff {
        logical_id: logical_id.to_owned(),
        resource_type: either["Type"].as_str().unwrap_or_default().to_owned(),
        change: change_of(old, new),
        stateful: old.is_some_and(is_stateful) || new.is_some_and(is_stateful),
        old_path: path(old),
        new_path: path(new),
        classification: None,
        properties: Vec::new(),
    };
    if diff.change == Change::Changed {
        let resource_type = diff.resource_type.clone();
        leaves(&mut String::new(), old, new, &mut |pointer, old, new| {
            let (classification, reason) = classify(&resource_type, pointer);
            diff.properties.push(PropertyChange {
                pointer: pointer.to_owned(),
                old: old.cloned(),
                new: new.cloned(),
                classification,
                reason,
            });
        });
        diff.classification = diff.properties.iter().map(|change| change.classification).max();
    }
    Some(diff)
}

/// What a change at `pointer` (inside a resource entry) does to a resource of `resource_type`.
fn classify(resource_type: &str, pointer: &str) -> (Classification, String) {
    let mut segments = pointer.split('/').skip(1).map(unescape);
    match segments.next().as_deref() {
        Some("Type") => return (Classification::Replacement, "the type changed".to_owned()),
        Some("Condition") => {
            return (Classification::Conditional, "the condition decides whether the resource exists".to_owned())
        }
        Some("Properties") => {}
        _ => return (Classification::NoInterrupt, "a resource attribute, not a property".to_owned()),
    }
    // Create-only pointers name properties, not list positions: compare without indices.
    let changed: Vec<String> = segments.filter(|segment| segment.parse::<usize>().is_err()).collect();
    let Some(spec) = resource_spec(resource_type) else {
        return (Classification::Conditional, format!("no registry schema for {resource_type} in this build"));
    };
    let mut covered = None;
    for create_only in spec.create_only_properties {
        let property: Vec<&str> = create_only
            .strip_prefix("/properties/")
            .unwrap_or(create_only)
            .split('/')
            .filter(|segment| *segment != "*")
            .collect();
        let shared = property.iter().zip(&changed).take_while(|(a, b)| **a == b.as_str()).count();
        if shared == property.len() {
            return (Classification::Replacement, format!("{} is create-only", property.join(".")));
        }
        if shared == changed.len() {
            covered.get_or_insert_with(|| property.join("."));
        }
    }
    match covered {
        Some(property) => {
            (Classification::Conditional, format!("the change covers create-only {property}; the schema cannot tell"))
        }
        None => (Classification::NoInterrupt, "updatable in place".to_owned()),
    }
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// An intrinsic function or reference: compared whole, since its parts mean nothing alone.
fn is_intrinsic(map: &serde_json::Map<String, Value>) -> bool {
    map.len() == 1 && map.keys().next().is_some_and(|key| key == "Ref" || key.starts_with("Fn::"))
}

/// What [`leaves`] calls for each differing leaf: its JSON Pointer, the earlier and the fresh value.
pub(super) type LeafVisitor<'a> = dyn FnMut(&str, Option<&Value>, Option<&Value>) + 'a;

/// Calls `found` with the JSON Pointer and both values of every leaf that differs: objects are entered
/// key by key, lists of equal length item by item; anything else (and any intrinsic) is a leaf.
pub(super) fn leaves(pointer: &mut String, old: Option<&Value>, new: Option<&Value>, found: &mut LeafVisitor<'_>) {
    if old == new {
        return;
    }
    let depth = pointer.len();
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) if !is_intrinsic(a) && !is_intrinsic(b) => {
            for (key, old, new) in entries(a, b) {
                pointer.push('/');
                pointer.push_str(&escape(key));
                leaves(pointer, old, new, found);
                pointer.truncate(depth);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (index, (old, new)) in a.iter().zip(b).enumerate() {
                pointer.push('/');
                pointer.push_str(&index.to_string());
                leaves(pointer, Some(old), Some(new), found);
                pointer.truncate(depth);
            }
        }
        _ => found(pointer, old, new),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn changed(old: Value, new: Value) -> Vec<(String, Option<Value>, Option<Value>)> {
        let mut found = Vec::new();
        leaves(&mut String::new(), Some(&old), Some(&new), &mut |pointer, old, new| {
            found.push((pointer.to_owned(), old.cloned(), new.cloned()))
        });
        found
    }

    #[test]
    fn leaves_enter_objects_and_equal_length_lists_but_not_intrinsics() {
        let found = changed(
            json!({"A": {"B": 1, "C/D": [1, 2]}, "E": {"Ref": "X"}, "F": [1]}),
            json!({"A": {"B": 2, "C/D": [1, 3]}, "E": {"Ref": "Y"}, "F": [1, 2], "G": true}),
        );
        let pointers: Vec<&str> = found.iter().map(|(pointer, _, _)| pointer.as_str()).collect();
        assert_eq!(pointers, ["/A/B", "/A/C~1D/1", "/E", "/F", "/G"]);
        assert_eq!(found[2].2, Some(json!({"Ref": "Y"})));
        assert_eq!(found[4].1, None);
    }

    #[test]
    fn create_only_properties_replace_and_others_update_in_place() {
        let (class, reason) = classify("AWS::RDS::DBInstance", "/Properties/DBInstanceIdentifier");
        assert_eq!((class, reason.as_str()), (Classification::Replacement, "DBInstanceIdentifier is create-only"));
        assert_eq!(classify("AWS::RDS::DBInstance", "/Properties/AllocatedStorage").0, Classification::NoInterrupt);
        assert_eq!(classify("AWS::RDS::DBInstance", "/Metadata/cfn-synth:path").0, Classification::NoInterrupt);
        assert_eq!(classify("AWS::RDS::DBInstance", "/Type").0, Classification::Replacement);
        assert_eq!(classify("Custom::Thing", "/Properties/Anything").0, Classification::Conditional);
    }

    #[test]
    fn a_nested_create_only_property_replaces_below_it_and_is_conditional_above_it() {
        let spec = resource_spec("AWS::ECS::TaskDefinition").unwrap();
        // The task definition's container definitions are create-only as a whole.
        assert!(spec.replaces_on_change("ContainerDefinitions"));
        let (class, _) = classify("AWS::ECS::TaskDefinition", "/Properties/ContainerDefinitions/0/Image");
        assert_eq!(class, Classification::Replacement);
        let nested = crate::cfn::resource_specs()
            .iter()
            .find_map(|spec| {
                spec.create_only_properties.iter().find(|pointer| pointer.matches('/').count() == 3).map(|p| (spec, p))
            })
            .expect("some schema has a nested create-only property");
        let parent = nested.1.rsplit_once('/').unwrap().0.replacen("/properties", "/Properties", 1);
        assert_eq!(classify(nested.0.type_name, &parent).0, Classification::Conditional, "{parent}");
    }

    #[test]
    fn stateful_means_a_data_type_or_a_policy_that_keeps_something() {
        assert!(is_stateful(&json!({"Type": "AWS::RDS::DBInstance"})));
        assert!(is_stateful(&json!({"Type": "AWS::ECR::Repository"})));
        assert!(is_stateful(&json!({"Type": "AWS::SNS::Topic", "DeletionPolicy": "Retain"})));
        assert!(!is_stateful(&json!({"Type": "AWS::SNS::Topic"})));
    }
}
