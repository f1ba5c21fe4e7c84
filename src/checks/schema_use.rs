//! What an app's resources of one type use of its registry schema: the properties they set, and the
//! places where they hold values CloudFormation computes at deploy time.
//!
//! `validate` compiles each type's validator while the app is synthesized, and compiling is most of
//! its work. Two things make a validator costly: the properties it covers, and the deploy-time guard
//! ("a `Ref`, `Fn::*` or `{{resolve:...}}` is accepted here"), which was two fifths of the compile
//! while it stood around every place a value may stand (2,332 places on the default platform, 203
//! now). A validator compiled for a [`SchemaUse`] covers only the
//! properties set, and guards only the places where a deploy-time value was seen: by the name of the
//! member that holds it, at any depth, and array items when one was. Guarding more places than
//! needed never changes a finding (a literal fails the guard and meets the original schema), so a
//! name-wide guard is exact for every resource whose deploy-time values sit at guarded places, and
//! [`SchemaUse::admits`] says whether one does.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value as Json};

use crate::construct::App;
use crate::template::expr::REFERENCE_PLACEHOLDER_KEY;

/// The properties a type's resources set and where they hold deploy-time values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaUse {
    /// The property names set.
    pub(super) properties: BTreeSet<String>,
    /// Where deploy-time values stand.
    pub(super) deploy_time: DeployTimeSites,
}

/// The places deploy-time values stand in some resources' properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct DeployTimeSites {
    /// Object members, at any depth, whose value is a deploy-time value (`VpcId: {"Ref": ...}`).
    pub(super) members: BTreeSet<String>,
    /// Whether an array item is one (`SubnetIds: [{"Fn::ImportValue": ...}]`).
    pub(super) items: bool,
}

impl DeployTimeSites {
    /// The sites of one resource's properties.
    pub(super) fn of(properties: &Map<String, Json>) -> Self {
        let mut sites = Self::default();
        sites.record_members(properties);
        sites
    }

    /// Whether every site of `other` is one of these.
    pub(super) fn contains(&self, other: &Self) -> bool {
        (self.items || !other.items) && other.members.is_subset(&self.members)
    }

    /// Whether any member, whatever its name, may hold a deploy-time value: what decides whether map
    /// values (`additionalProperties`, `patternProperties`) are guarded.
    pub(super) fn any_member(&self) -> bool {
        !self.members.is_empty()
    }

    fn record_members(&mut self, object: &Map<String, Json>) {
        for (name, value) in object {
            if is_deploy_time(value) {
                if !self.members.contains(name) {
                    self.members.insert(name.clone());
                }
            } else {
                self.record_within(value);
            }
        }
    }

    fn record_within(&mut self, value: &Json) {
        match value {
            Json::Object(object) => self.record_members(object),
            Json::Array(items) => {
                for item in items {
                    if is_deploy_time(item) {
                        self.items = true;
                    } else {
                        self.record_within(item);
                    }
                }
            }
            _ => {}
        }
    }
}

impl SchemaUse {
    /// Adds one resource's properties: their names, and where their deploy-time values stand.
    pub fn record(&mut self, properties: &Map<String, Json>) {
        for name in properties.keys() {
            if !self.properties.contains(name) {
                self.properties.insert(name.clone());
            }
        }
        self.deploy_time.record_members(properties);
    }

    /// Whether a validator compiled for this use checks `properties` as the whole type's validator
    /// would: each property set is covered, and each deploy-time value stands at a guarded place.
    pub(super) fn admits(&self, properties: &Map<String, Json>) -> bool {
        properties.keys().all(|name| self.properties.contains(name))
            && self.deploy_time.contains(&DeployTimeSites::of(properties))
    }
}

/// The use each resource type of an app makes of its schema, read from the app as built: synthesis
/// turns each reference placeholder into an intrinsic where it stands and sets no other property,
/// so the built app shows the synthesized one's deploy-time places.
pub fn schema_uses(app: &App) -> BTreeMap<String, SchemaUse> {
    let mut uses: BTreeMap<String, SchemaUse> = BTreeMap::new();
    for stack in app.stacks() {
        for resource in stack.template().resources.values() {
            let type_name = resource.resource_type();
            if !uses.contains_key(type_name) {
                uses.insert(type_name.to_owned(), SchemaUse::default());
            }
            uses.get_mut(type_name).expect("inserted above").record(resource.properties());
        }
    }
    uses
}

/// Whether a value is computed at deploy time: an object of one intrinsic key (`Ref`, `Condition`,
/// `Fn::*`), a reference placeholder (which synthesis turns into one), or a string with a dynamic
/// reference. It accepts at least what the schema guard accepts (`CfnSynthDeployTimeValue`), so a
/// value it calls literal meets the original schema under the guard too.
pub(super) fn is_deploy_time(value: &Json) -> bool {
    match value {
        Json::String(text) => text.contains("{{resolve:"),
        Json::Object(object) if object.len() == 1 => object.keys().next().is_some_and(|key| {
            key == "Ref"
                || key == "Condition"
                || key == REFERENCE_PLACEHOLDER_KEY
                || key
                    .strip_prefix("Fn::")
                    .is_some_and(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphabetic()))
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Json) -> Map<String, Json> {
        value.as_object().expect("an object").clone()
    }

    #[test]
    fn deploy_time_values_are_intrinsics_placeholders_and_dynamic_references() {
        for value in [
            json!({"Ref": "Vpc"}),
            json!({"Condition": "IsPrimary"}),
            json!({"Fn::GetAtt": ["Db", "Endpoint.Address"]}),
            json!({REFERENCE_PLACEHOLDER_KEY: ["Data", "Db"]}),
            json!("{{resolve:secretsmanager:token:SecretString:token}}"),
            json!("prefix-{{resolve:ssm:/name}}"),
        ] {
            assert!(is_deploy_time(&value), "{value}");
        }
        for value in [
            json!("vpc-123"),
            json!(7),
            json!({"Ref": "Vpc", "Other": 1}),
            json!({"Fn::": 1}),
            json!({"Fn::Get_Att": 1}),
            json!({"Key": "Name"}),
            json!([{"Ref": "Vpc"}]),
        ] {
            assert!(!is_deploy_time(&value), "{value}");
        }
    }

    #[test]
    fn sites_are_the_members_and_items_that_hold_deploy_time_values() {
        let sites = DeployTimeSites::of(&object(json!({
            "VpcId": {"Ref": "Vpc"},
            "CidrBlock": "10.0.0.0/24",
            "Tags": [{"Key": "Name", "Value": {"Fn::Sub": "${AWS::StackName}"}}],
            "SecurityGroupIds": ["sg-1", {"Fn::ImportValue": "Group"}],
            "Nested": {"Deeper": {"Arn": {"Fn::GetAtt": ["Role", "Arn"]}, "Inside": {"Fn::If": ["C", {"Ref": "A"}, "b"]}}}
        })));
        assert_eq!(sites.members, BTreeSet::from(["VpcId", "Value", "Arn", "Inside"].map(String::from)));
        assert!(sites.items);
        let literal = DeployTimeSites::of(&object(json!({"CidrBlock": "10.0.0.0/24", "Tags": [{"Key": "a"}]})));
        assert_eq!(literal, DeployTimeSites::default());
        assert!(sites.contains(&literal) && !literal.contains(&sites));
    }

    #[test]
    fn a_use_admits_the_resources_whose_properties_and_deploy_time_values_it_covers() {
        let mut uses = SchemaUse::default();
        uses.record(&object(json!({"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.0.0/24"})));
        uses.record(&object(json!({"VpcId": "vpc-1", "Tags": [{"Key": "a", "Value": "b"}]})));
        assert!(uses.admits(&object(json!({"VpcId": {"Fn::ImportValue": "Vpc"}, "CidrBlock": "10.1.0.0/24"}))));
        assert!(uses.admits(&object(json!({"Tags": [{"Key": "a", "VpcId": {"Ref": "B"}}]}))));
        assert!(!uses.admits(&object(json!({"VpcId": "vpc-1", "CidrBlock": {"Fn::Select": [0, []]}}))), "a new member");
        assert!(!uses.admits(&object(json!({"Tags": [{"Ref": "T"}]}))), "a deploy-time item");
        assert!(!uses.admits(&object(json!({"VpcId": "vpc-1", "Other": 1}))), "a property not set before");
        let nothing_recorded = SchemaUse::default();
        assert!(nothing_recorded.admits(&Map::new()));
        assert!(!nothing_recorded.admits(&object(json!({"VpcId": "vpc-1"}))));
    }
}
