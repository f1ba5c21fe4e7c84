//! A CloudFormation resource entry: type, properties and the resource attributes around them.

use std::any::Any;
use std::cell::OnceCell;
use std::fmt;

use indexmap::IndexMap;
use serde::{Serialize, Serializer};

use super::typed::CfnResource;

/// What CloudFormation does with a resource's physical object on deletion (`DeletionPolicy`) or
/// replacement (`UpdateReplacePolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RemovalPolicy {
    /// Delete the physical resource.
    Delete,
    /// Keep the physical resource, detached from the stack.
    Retain,
    /// Keep it unless the whole stack is deleted (`RetainExceptOnCreate`).
    RetainExceptOnCreate,
    /// Take a final snapshot, then delete (only for snapshot-capable types).
    Snapshot,
}

/// The `Metadata` key of Guard rule suppressions (`guard: {SuppressedRules: [...], Reasons: {...}}`).
pub const GUARD_METADATA_KEY: &str = "guard";

/// Adds `rule` with its `reason` to a `Metadata.guard` object (`Null` becomes one): the rule once in
/// `SuppressedRules`, its latest reason in `Reasons`.
pub fn add_guard_suppression(guard: &mut serde_json::Value, rule: &str, reason: &str) {
    if !guard.is_object() {
        *guard = serde_json::json!({"SuppressedRules": [], "Reasons": {}});
    }
    if let Some(rules) = guard["SuppressedRules"].as_array_mut() {
        if !rules.iter().any(|known| known == rule) {
            rules.push(serde_json::Value::from(rule));
        }
    }
    if let Some(reasons) = guard["Reasons"].as_object_mut() {
        reasons.insert(rule.to_owned(), serde_json::Value::from(reason));
    }
}

/// The `Metadata` key that holds a resource's construct path (`Stack/Data/Database/Resource`).
pub const PATH_METADATA_KEY: &str = "cfn-synth:path";

/// Resource types whose deletion loses data, following cfn-lint's list for rule I3011 plus S3 buckets.
///
/// Synthesis refuses a resource of these types without both `DeletionPolicy` and
/// `UpdateReplacePolicy`, so a policy is always a decision, never a default.
pub const STATEFUL_RESOURCE_TYPES: &[&str] = &[
    "AWS::Backup::BackupVault",
    "AWS::Cognito::UserPool",
    "AWS::DocDB::DBCluster",
    "AWS::DocDB::DBInstance",
    "AWS::DynamoDB::GlobalTable",
    "AWS::DynamoDB::Table",
    "AWS::EC2::Volume",
    "AWS::EFS::FileSystem",
    "AWS::ElastiCache::CacheCluster",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::KMS::Key",
    "AWS::Kinesis::Stream",
    "AWS::Logs::LogGroup",
    "AWS::OpenSearchService::Domain",
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::SecretsManager::Secret",
];

/// The typed (L1) value a resource was built from, kept so that the typed escape hatch can hand it
/// back: `Stack::resource_mut::<cfn::ecs::Service>(&handle)`.
trait TypedProperties: Any + Send {
    fn clone_box(&self) -> Box<dyn TypedProperties>;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// The properties as the template writes them.
    fn to_json(&self) -> serde_json::Map<String, serde_json::Value>;
    /// [`TypedProperties::to_json`], made by moving the value's strings and JSON rather than copying
    /// them ([`IntoJson`]).
    fn into_properties(self: Box<Self>) -> serde_json::Map<String, serde_json::Value>;
}

impl<R: CfnResource + Clone + 'static> TypedProperties for R {
    fn clone_box(&self) -> Box<dyn TypedProperties> {
        Box::new(self.clone())
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        properties_json(self)
    }

    fn into_properties(self: Box<Self>) -> serde_json::Map<String, serde_json::Value> {
        match (*self).into_json() {
            serde_json::Value::Object(map) => map,
            other => unreachable!("a resource struct moved into {other}"),
        }
    }
}

/// The JSON properties of an L1 struct.
fn properties_json<R: CfnResource>(properties: &R) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(properties).expect("resource properties serialize to JSON") {
        serde_json::Value::Object(map) => map,
        other => unreachable!("a resource struct serialized to {other}"),
    }
}

/// The typed value behind a resource's properties, while the JSON and it agree.
struct TypedSlot(Option<Box<dyn TypedProperties>>);

impl Clone for TypedSlot {
    fn clone(&self) -> Self {
        Self(self.0.as_ref().map(|typed| typed.clone_box()))
    }
}

impl fmt::Debug for TypedSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "typed" } else { "untyped" })
    }
}

/// One entry under `Resources`.
///
/// Properties are kept as serialized JSON in insertion order. They may still contain reference
/// placeholders (see [`crate::expr`]) until the stack is synthesized. A resource built from
/// an L1 struct also keeps that struct, until a JSON-level change makes the two differ.
///
/// The JSON of a typed resource is made when it is first read, not when the struct is set: a
/// construct that edits the struct again and again (a key policy that gains a statement per grant)
/// then pays for one serialization, not one per edit.
#[derive(Debug, Clone)]
pub struct Resource {
    resource_type: String,
    /// A `serde_json` map, so that the serialized L1 struct is kept as it comes and moves into the
    /// template whole: no key is hashed again on the way. Empty only while `typed` holds a struct
    /// whose JSON has not been read since it was set; [`Resource::properties`] fills it from there.
    properties: OnceCell<serde_json::Map<String, serde_json::Value>>,
    typed: TypedSlot,
    depends_on: Vec<String>,
    condition: Option<String>,
    deletion_policy: Option<RemovalPolicy>,
    update_replace_policy: Option<RemovalPolicy>,
    /// The construct path, written first in `Metadata` ([`PATH_METADATA_KEY`]). A field of its own
    /// rather than a `Metadata` entry: every resource has one, and a map per resource for it alone
    /// costs about 400 bytes, a sixth of a large app's memory.
    path: Option<String>,
    metadata: IndexMap<String, serde_json::Value>,
}

impl Resource {
    /// A resource of the given type (`AWS::EC2::VPC`) with no properties yet.
    pub fn new(resource_type: impl Into<String>) -> Self {
        Self {
            resource_type: resource_type.into(),
            properties: OnceCell::from(serde_json::Map::new()),
            typed: TypedSlot(None),
            depends_on: Vec::new(),
            condition: None,
            deletion_policy: None,
            update_replace_policy: None,
            path: None,
            metadata: IndexMap::new(),
        }
    }

    /// The entry of a typed (L1) resource: its type name and its properties.
    pub fn of<R: CfnResource>(properties: &R) -> Self {
        let mut resource = Self::new(R::TYPE);
        resource.properties = OnceCell::from(properties_json(properties));
        resource
    }

    /// The entry of a typed (L1) resource, keeping the struct for [`Resource::take_typed`]. Its JSON
    /// is made when first read.
    pub fn typed<R: CfnResource + Clone + 'static>(properties: R) -> Self {
        let mut resource = Self::new(R::TYPE);
        resource.put_typed(properties);
        resource
    }

    /// Takes the typed value out, if the resource was built from an `R` and no JSON-level change came
    /// since. The JSON properties stay as they are; put the value back, changed or not, with
    /// [`Resource::put_typed`]. To change the value in place, [`Resource::typed_mut`] is cheaper.
    pub fn take_typed<R: CfnResource + Clone + 'static>(&mut self) -> Option<R> {
        if !self.is_typed::<R>() {
            return None;
        }
        self.properties();
        let typed = self.typed.0.take()?;
        typed.into_any().downcast::<R>().ok().map(|value| *value)
    }

    /// Replaces the properties with those of `properties`, and keeps it as the typed value.
    pub fn put_typed<R: CfnResource + Clone + 'static>(&mut self, properties: R) {
        self.properties = OnceCell::new();
        self.typed = TypedSlot(Some(Box::new(properties)));
    }

    /// The typed value to change in place, if the resource was built from an `R` and no JSON-level
    /// change came since. The JSON properties are made again from it when next read.
    pub fn typed_mut<R: CfnResource + Clone + 'static>(&mut self) -> Option<&mut R> {
        let typed = self.typed.0.as_mut()?.as_any_mut().downcast_mut::<R>()?;
        self.properties = OnceCell::new();
        Some(typed)
    }

    /// Whether the resource holds a typed value of type `R` ([`Resource::typed_mut`] gives it).
    pub fn is_typed<R: CfnResource + Clone + 'static>(&self) -> bool {
        self.typed.0.as_ref().is_some_and(|typed| typed.as_any().is::<R>())
    }

    /// Sets a property. A value that serializes to JSON `null` removes the property instead, so that an
    /// absent `Option` never reaches the template.
    #[must_use]
    pub fn property(mut self, name: impl Into<String>, value: impl Serialize) -> Self {
        self.set_property(name, value);
        self
    }

    /// Sets a property in place; see [`Resource::property`].
    pub fn set_property(&mut self, name: impl Into<String>, value: impl Serialize) {
        let name = name.into();
        let value = serde_json::to_value(value).expect("property values serialize to JSON");
        let properties = self.properties_mut();
        if value.is_null() {
            properties.shift_remove(&name);
        } else {
            properties.insert(name, value);
        }
    }

    /// Adds an explicit `DependsOn` on a resource of the same stack.
    #[must_use]
    pub fn depends_on(mut self, logical_id: impl Into<String>) -> Self {
        self.add_depends_on(logical_id);
        self
    }

    /// Adds an explicit `DependsOn` on a resource of the same stack, to an entry already in a stack.
    pub fn add_depends_on(&mut self, logical_id: impl Into<String>) {
        let logical_id = logical_id.into();
        if !self.depends_on.contains(&logical_id) {
            self.depends_on.push(logical_id);
        }
    }

    /// Creates the resource only when the named condition holds.
    #[must_use]
    pub fn condition(mut self, condition: impl Into<String>) -> Self {
        self.condition = Some(condition.into());
        self
    }

    /// Sets both `DeletionPolicy` and `UpdateReplacePolicy` to the same policy.
    #[must_use]
    pub fn removal_policy(self, policy: RemovalPolicy) -> Self {
        self.deletion_policy(policy).update_replace_policy(policy)
    }

    /// Sets `DeletionPolicy`.
    #[must_use]
    pub fn deletion_policy(mut self, policy: RemovalPolicy) -> Self {
        self.deletion_policy = Some(policy);
        self
    }

    /// Sets `UpdateReplacePolicy`.
    #[must_use]
    pub fn update_replace_policy(mut self, policy: RemovalPolicy) -> Self {
        self.update_replace_policy = Some(policy);
        self
    }

    /// Suppresses the deploy-readiness rule `rule` (`CS005`) on this resource, for `reason`, in its
    /// `Metadata` (`cfn-synth.suppress`), the only place `validate` reads suppressions from.
    pub fn suppress(&mut self, rule: &str, reason: &str) {
        let entry = self.metadata.entry("cfn-synth".to_owned()).or_insert_with(|| serde_json::json!({"suppress": []}));
        if let Some(list) = entry["suppress"].as_array_mut() {
            list.push(serde_json::json!({"rule": rule, "reason": reason}));
        }
    }

    /// Suppresses the AWS Control Tower proactive control (Guard rule) `rule` on this resource, for
    /// `reason`, with the Guard registry's convention in its `Metadata`: `guard.SuppressedRules` lists the
    /// rule and `guard.Reasons` says why it does not apply. `cfn-synth validate` refuses a suppressed rule
    /// without its reason.
    pub fn suppress_guard(&mut self, rule: &str, reason: &str) {
        let guard = self.metadata.entry(GUARD_METADATA_KEY.to_owned()).or_insert(serde_json::Value::Null);
        add_guard_suppression(guard, rule, reason);
    }

    /// [`Resource::suppress_guard`], as a builder.
    #[must_use]
    pub fn guard_suppression(mut self, rule: &str, reason: &str) -> Self {
        self.suppress_guard(rule, reason);
        self
    }

    /// Records the construct path the resource was added at, first in its `Metadata`
    /// ([`PATH_METADATA_KEY`]), so that an output directory names its constructs: `diff` reports a
    /// removed resource by the path it had, as the AWS CDK's `aws:cdk:path` does.
    pub fn record_path(&mut self, path: impl Into<String>) {
        self.path = Some(path.into());
    }

    /// The construct path recorded in `Metadata`, if any.
    pub fn recorded_path(&self) -> Option<&str> {
        self.path.as_deref().or_else(|| self.metadata.get(PATH_METADATA_KEY).and_then(serde_json::Value::as_str))
    }

    /// Adds a `Metadata` entry (for example checkov's `checkov.skip` with its reason).
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: serde_json::Value) -> Self {
        self.metadata.insert(key.into(), value);
        self
    }

    /// The CloudFormation type name.
    pub fn resource_type(&self) -> &str {
        &self.resource_type
    }

    /// The properties set so far, in insertion order.
    pub fn properties(&self) -> &serde_json::Map<String, serde_json::Value> {
        self.properties.get_or_init(|| self.typed.0.as_ref().map(|typed| typed.to_json()).unwrap_or_default())
    }

    /// Mutable access to the properties: the escape hatch for anything a construct does not model.
    pub fn properties_mut(&mut self) -> &mut serde_json::Map<String, serde_json::Value> {
        self.properties();
        self.typed = TypedSlot(None);
        self.properties.get_mut().expect("filled above")
    }

    /// The explicit `DependsOn` logical IDs.
    pub fn dependencies(&self) -> &[String] {
        &self.depends_on
    }

    /// The `DeletionPolicy`, if set.
    pub fn get_deletion_policy(&self) -> Option<RemovalPolicy> {
        self.deletion_policy
    }

    /// The `UpdateReplacePolicy`, if set.
    pub fn get_update_replace_policy(&self) -> Option<RemovalPolicy> {
        self.update_replace_policy
    }

    /// Whether deleting this resource type loses data (see [`STATEFUL_RESOURCE_TYPES`]).
    pub fn is_stateful(&self) -> bool {
        STATEFUL_RESOURCE_TYPES.contains(&self.resource_type.as_str())
    }
}

impl PartialEq for Resource {
    /// Equal entries write the same JSON: the properties compare as JSON, whether or not they have
    /// been made from a typed value yet.
    fn eq(&self, other: &Self) -> bool {
        self.resource_type == other.resource_type
            && self.depends_on == other.depends_on
            && self.condition == other.condition
            && self.deletion_policy == other.deletion_policy
            && self.update_replace_policy == other.update_replace_policy
            && self.path == other.path
            && self.metadata == other.metadata
            && self.properties() == other.properties()
    }
}

impl Serialize for Resource {
    /// The entry as [`Resource::into_json`] builds it, the one place its shape is written down.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let json_parts = Self {
            resource_type: self.resource_type.clone(),
            properties: OnceCell::from(self.properties().clone()),
            typed: TypedSlot(None),
            depends_on: self.depends_on.clone(),
            condition: self.condition.clone(),
            deletion_policy: self.deletion_policy,
            update_replace_policy: self.update_replace_policy,
            path: self.path.clone(),
            metadata: self.metadata.clone(),
        };
        json_parts.into_json().serialize(serializer)
    }
}

impl Resource {
    /// The entry as JSON, its properties and metadata moved rather than copied: `Type`, then the
    /// attributes, `Metadata` (the construct path first; an entry under the path's own key gives way to
    /// the recorded path) and `Properties`.
    pub fn into_json(self) -> serde_json::Value {
        use serde_json::Value as Json;
        // The JSON made so far, or made now by moving the typed value into it.
        let properties = self
            .properties
            .into_inner()
            .or_else(|| self.typed.0.map(TypedProperties::into_properties))
            .unwrap_or_default();
        // Room for every attribute up front: a map grown member by member is reallocated on the way.
        let mut entry = serde_json::Map::with_capacity(7);
        entry.insert("Type".to_owned(), Json::String(self.resource_type));
        if let Some(condition) = self.condition {
            entry.insert("Condition".to_owned(), Json::String(condition));
        }
        match self.depends_on.len() {
            0 => {}
            1 => {
                let single = self.depends_on.into_iter().next().expect("one entry");
                entry.insert("DependsOn".to_owned(), Json::String(single));
            }
            _ => {
                entry.insert(
                    "DependsOn".to_owned(),
                    Json::Array(self.depends_on.into_iter().map(Json::String).collect()),
                );
            }
        }
        let policy = |policy: RemovalPolicy| serde_json::to_value(policy).expect("policies serialize");
        if let Some(deletion) = self.deletion_policy {
            entry.insert("DeletionPolicy".to_owned(), policy(deletion));
        }
        if let Some(update_replace) = self.update_replace_policy {
            entry.insert("UpdateReplacePolicy".to_owned(), policy(update_replace));
        }
        if self.path.is_some() || !self.metadata.is_empty() {
            let mut metadata = serde_json::Map::with_capacity(1 + self.metadata.len());
            if let Some(path) = &self.path {
                metadata.insert(PATH_METADATA_KEY.to_owned(), Json::String(path.clone()));
            }
            for (key, value) in self.metadata {
                if self.path.is_none() || key != PATH_METADATA_KEY {
                    metadata.insert(key, value);
                }
            }
            entry.insert("Metadata".to_owned(), Json::Object(metadata));
        }
        if !properties.is_empty() {
            entry.insert("Properties".to_owned(), Json::Object(properties));
        }
        Json::Object(entry)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::IntoJson;
    use crate::Value;

    #[test]
    fn a_guard_suppression_lists_the_rule_once_with_its_latest_reason() {
        let mut resource = Resource::new("AWS::SQS::Queue");
        resource.suppress_guard("SQS_DLQ_CHECK", "first");
        resource.suppress_guard("SQS_DLQ_CHECK", "it is the dead-letter queue");
        resource.suppress_guard("SQS_QUEUE_KMS_CHECK", "another");
        assert_eq!(
            resource.into_json()["Metadata"][GUARD_METADATA_KEY],
            json!({
                "SuppressedRules": ["SQS_DLQ_CHECK", "SQS_QUEUE_KMS_CHECK"],
                "Reasons": {"SQS_DLQ_CHECK": "it is the dead-letter queue", "SQS_QUEUE_KMS_CHECK": "another"}
            })
        );
    }

    #[test]
    fn an_entry_has_its_attributes_in_order_and_one_dependency_as_a_string() {
        let mut resource = Resource::new("AWS::RDS::DBInstance")
            .property("Engine", Value::from("postgres"))
            .property("Port", Value::from(5432))
            .condition("IsPrimary")
            .depends_on("Subnets")
            .removal_policy(RemovalPolicy::Snapshot)
            .metadata("checkov", json!({"skip": [{"id": "CKV_AWS_1", "comment": "why"}]}))
            .metadata(PATH_METADATA_KEY, json!("Hand/Written"));
        resource.record_path("Stack/Database");
        resource.suppress("CS005", "a reason");
        let expected = concat!(
            r#"{"Type":"AWS::RDS::DBInstance","Condition":"IsPrimary","DependsOn":"Subnets","#,
            r#""DeletionPolicy":"Snapshot","UpdateReplacePolicy":"Snapshot","#,
            r#""Metadata":{"cfn-synth:path":"Stack/Database","checkov":{"skip":[{"id":"CKV_AWS_1","comment":"why"}]},"#,
            r#""cfn-synth":{"suppress":[{"rule":"CS005","reason":"a reason"}]}},"#,
            r#""Properties":{"Engine":"postgres","Port":5432}}"#
        );
        assert_eq!(serde_json::to_string(&resource).unwrap(), expected);
        assert_eq!(serde_json::to_string(&resource.clone().into_json()).unwrap(), expected);
        let several = resource.depends_on("Secret");
        assert_eq!(several.into_json()["DependsOn"], json!(["Subnets", "Secret"]));
        assert_eq!(Resource::new("AWS::SNS::Topic").into_json(), json!({"Type": "AWS::SNS::Topic"}));
    }

    #[test]
    fn the_construct_path_comes_first_in_metadata_and_wins_over_an_entry_of_its_key() {
        let mut resource = Resource::new("AWS::SNS::Topic")
            .metadata("checkov", json!({"skip": []}))
            .metadata(PATH_METADATA_KEY, json!("Hand/Written"));
        assert_eq!(resource.recorded_path(), Some("Hand/Written"));
        resource.record_path("Stack/Topic");
        assert_eq!(resource.recorded_path(), Some("Stack/Topic"));
        let text = serde_json::to_string(&resource).unwrap();
        assert_eq!(
            text,
            r#"{"Type":"AWS::SNS::Topic","Metadata":{"cfn-synth:path":"Stack/Topic","checkov":{"skip":[]}}}"#
        );
    }

    #[test]
    fn serializes_attributes_before_properties_and_drops_absent_options() {
        let resource = Resource::new("AWS::Logs::LogGroup")
            .property("RetentionInDays", Value::from(365))
            .property("KmsKeyId", Option::<Value<String>>::None)
            .depends_on("Key")
            .removal_policy(RemovalPolicy::Retain)
            .metadata("checkov", json!({"skip": []}));
        assert_eq!(
            serde_json::to_value(&resource).unwrap(),
            json!({
                "Type": "AWS::Logs::LogGroup",
                "DependsOn": "Key",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Metadata": {"checkov": {"skip": []}},
                "Properties": {"RetentionInDays": 365}
            })
        );
        assert!(resource.is_stateful());
    }

    /// A queue struct that counts how often it is serialized (atomically: L1 structs are `Send`).
    #[derive(Debug, Clone, Default)]
    struct CountedQueue {
        name: Option<String>,
        serialized: Arc<AtomicUsize>,
    }

    impl Serialize for CountedQueue {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct;
            self.serialized.fetch_add(1, Relaxed);
            let mut state = serializer.serialize_struct("CountedQueue", 1)?;
            if let Some(name) = &self.name {
                state.serialize_field("QueueName", name)?;
            }
            state.end()
        }
    }

    /// Moved into JSON, it counts as serialized too.
    impl IntoJson for CountedQueue {
        fn into_json(self) -> serde_json::Value {
            self.serialized.fetch_add(1, Relaxed);
            let mut properties = serde_json::Map::new();
            if let Some(name) = self.name {
                properties.insert("QueueName".to_owned(), serde_json::Value::String(name));
            }
            serde_json::Value::Object(properties)
        }
    }

    impl CfnResource for CountedQueue {
        const TYPE: &'static str = "AWS::SQS::Queue";
        const SPEC: crate::ResourceSpec = crate::ResourceSpec {
            type_name: "AWS::SQS::Queue",
            create_only_properties: &[],
            primary_identifier: &[],
            attributes: &[],
            schema: "{}",
        };
    }

    /// Another L1 type, to ask a resource for the wrong one.
    #[derive(Debug, Clone, Serialize)]
    struct OtherType {}

    impl IntoJson for OtherType {
        fn into_json(self) -> serde_json::Value {
            serde_json::json!({})
        }
    }

    impl CfnResource for OtherType {
        const TYPE: &'static str = "AWS::SNS::Topic";
        const SPEC: crate::ResourceSpec = CountedQueue::SPEC;
    }

    #[test]
    fn a_typed_value_edited_many_times_is_serialized_once_when_read() {
        let queue = CountedQueue::default();
        let serialized = queue.serialized.clone();
        let mut resource = Resource::typed(queue);
        for edit in 0..10 {
            resource.typed_mut::<CountedQueue>().unwrap().name = Some(format!("q{edit}"));
        }
        for _ in 0..3 {
            let mut value = resource.typed_mut::<CountedQueue>().unwrap().clone();
            value.name = Some("q9".into());
            resource.put_typed(value);
        }
        assert_eq!(serialized.load(Relaxed), 0);
        assert_eq!(resource.properties()["QueueName"], "q9");
        assert_eq!(resource.properties()["QueueName"], "q9");
        assert_eq!(serialized.load(Relaxed), 1);
        resource.typed_mut::<CountedQueue>().unwrap().name = Some("last".into());
        assert_eq!(resource.clone().into_json()["Properties"], json!({"QueueName": "last"}));
        assert_eq!(serialized.load(Relaxed), 2);
        assert!(resource.typed_mut::<OtherType>().is_none());
    }

    #[test]
    fn a_taken_typed_value_leaves_its_json_and_a_json_change_drops_it() {
        let mut resource = Resource::typed(CountedQueue { name: Some("jobs".into()), ..CountedQueue::default() });
        let made_now = Resource::of(&CountedQueue { name: Some("jobs".into()), ..CountedQueue::default() });
        assert_eq!(resource, made_now);
        assert!(resource.take_typed::<OtherType>().is_none());
        let taken = resource.take_typed::<CountedQueue>().unwrap();
        assert_eq!(taken.name.as_deref(), Some("jobs"));
        assert_eq!(resource.properties()["QueueName"], "jobs");
        assert!(!resource.is_typed::<CountedQueue>());
        resource.put_typed(taken);
        resource.set_property("DelaySeconds", Value::from(5));
        assert!(!resource.is_typed::<CountedQueue>());
        assert_eq!(resource.into_json()["Properties"], json!({"QueueName": "jobs", "DelaySeconds": 5}));
    }

    #[test]
    fn several_dependencies_render_as_a_list_without_duplicates() {
        let resource = Resource::new("AWS::EC2::EIP").depends_on("A").depends_on("B").depends_on("A");
        assert_eq!(serde_json::to_value(&resource).unwrap()["DependsOn"], json!(["A", "B"]));
        assert!(!resource.is_stateful());
    }
}
