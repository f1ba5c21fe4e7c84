//! CS050: every KMS key a resource names is in the region where it is used. A key never leaves its
//! region, so a resource of eu-west-1 that names a key of us-east-1 fails when it deploys, or, worse, a
//! disaster-recovery copy depends on the region it is meant to survive.
//!
//! Where a key is used is the resource's region, except where a property names a key for another
//! region: an S3 replication destination's `ReplicaKmsKeyID` (the destination bucket's region), a
//! Secrets Manager replica's `KmsKeyId` (the replica's `Region`), and a CodePipeline artifact store's
//! key (the store's `Region`).

use serde_json::Value as Json;

use super::{finding, text, Model, Res};
use crate::checks::Finding;
use crate::template::Field;

/// Property names that hold a KMS key (ID, ARN or alias).
const KEY_PROPERTIES: &[&str] = &[
    "KmsKeyId",
    "KmsKeyID",
    "KMSMasterKeyID",
    "KmsMasterKeyId",
    "KmsKeyArn",
    "KmsKey",
    "KmsKeyIdentifier",
    "ReplicaKmsKeyID",
    "PerformanceInsightsKMSKeyId",
    "EncryptionKey",
];

/// CS050, for every resource.
pub(super) fn check(model: &Model, findings: &mut Vec<Finding>) {
    for (stack, template) in model.stacks().iter().enumerate() {
        let Some(resources) = template.template.field("Resources").as_object() else { continue };
        for (id, resource) in resources {
            if resource.field("Type") == "AWS::KMS::Alias" || resource.field("Type") == "AWS::KMS::Key" {
                continue;
            }
            let res = Res { stack, id: id.clone() };
            let mut walk = Walk { model, res: &res, findings: &mut *findings, path: vec![Step::Key("Properties")] };
            walk.visit(resource.field("Properties"), &template.region);
        }
    }
}

/// One step of the way down a resource's properties.
enum Step<'j> {
    Key(&'j str),
    Index(usize),
}

/// One resource's properties, walked with the region each part is used in.
struct Walk<'a, 'j> {
    model: &'a Model<'a>,
    res: &'a Res,
    findings: &'a mut Vec<Finding>,
    /// Where the walk is (`Properties.BucketEncryption...`), spelled out only for a finding: most
    /// resources name no key of another region, and a template has thousands of properties.
    path: Vec<Step<'j>>,
}

impl<'j> Walk<'_, 'j> {
    fn visit(&mut self, value: &'j Json, region: &str) {
        match value {
            Json::Object(_) if is_reference(value) => {}
            Json::Object(map) => {
                // A Secrets Manager replica or a pipeline's artifact store names the region it serves.
                let own_region = map.member("Region").and_then(Json::as_str);
                for (key, inner) in map {
                    self.path.push(Step::Key(key));
                    let names_key = inner.is_string() || is_reference(inner);
                    if names_key && KEY_PROPERTIES.contains(&key.as_str()) {
                        let used_in = if key == "KmsKeyId" { own_region.unwrap_or(region) } else { region };
                        self.key(inner, used_in);
                    } else if key == "EncryptionKey" && inner.member("Id").is_some() {
                        self.path.push(Step::Key("Id"));
                        self.key(inner.field("Id"), region);
                        self.path.pop();
                    } else {
                        match key.as_str() {
                            // An S3 replication destination's key is used in the destination's region.
                            "Destination" if inner.member("Bucket").is_some() => {
                                let used_in = self.region_of_bucket(inner.field("Bucket"));
                                self.visit(inner, used_in.as_deref().unwrap_or(region));
                            }
                            "ArtifactStore" => self.visit(inner, own_region.unwrap_or(region)),
                            _ => self.visit(inner, region),
                        }
                    }
                    self.path.pop();
                }
            }
            Json::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.path.push(Step::Index(index));
                    self.visit(item, region);
                    self.path.pop();
                }
            }
            _ => {}
        }
    }

    /// `Properties.ReplicationConfiguration.Rules[0].Destination.EncryptionConfiguration.ReplicaKmsKeyID`.
    fn spelled_path(&self) -> String {
        let mut spelled = String::new();
        for step in &self.path {
            match step {
                Step::Key(key) => {
                    if !spelled.is_empty() {
                        spelled.push('.');
                    }
                    spelled.push_str(key);
                }
                Step::Index(index) => spelled.push_str(&format!("[{index}]")),
            }
        }
        spelled
    }

    /// The region of the bucket `value` names: its stack's, when it is a resource of the app.
    fn region_of_bucket(&self, value: &Json) -> Option<String> {
        let bucket = self.model.resource_of(self.res.stack, value)?;
        Some(self.model.stacks()[bucket.stack].region.clone())
    }

    /// Checks the key `value`, found at the walk's path, against `region`.
    fn key(&mut self, value: &Json, region: &str) {
        let model = self.model;
        let key_region = match model.resource_of(self.res.stack, value) {
            Some(key) if model.type_of(&key) == "AWS::KMS::Key" || model.type_of(&key) == "AWS::KMS::Alias" => {
                model.stacks()[key.stack].region.clone()
            }
            Some(_) => return,
            None => match text(model, self.res.stack, value) {
                Some(arn) if arn.starts_with("arn:") && arn.contains(":kms:") => match arn.split(':').nth(3) {
                    Some(key_region) if !key_region.is_empty() && !key_region.contains('$') => key_region.to_owned(),
                    _ => return,
                },
                _ => return,
            },
        };
        if key_region != region {
            let path = self.spelled_path();
            self.findings.push(finding(
                model,
                "CS050",
                self.res,
                format!("{} → {path} → key of {key_region}", model.name(self.res)),
                format!(
                    "it uses in {region} a KMS key of {key_region}; a key never leaves its region, so give it a key \
                     of {region} (its own, or a multi-Region replica key)"
                ),
            ));
        }
    }
}

/// Whether `value` is an intrinsic (`Ref`, `Fn::GetAtt`, `Fn::ImportValue`, ...), not a nested object.
fn is_reference(value: &Json) -> bool {
    value.as_object().is_some_and(|map| {
        map.len() == 1 && map.keys().next().is_some_and(|key| key == "Ref" || key.starts_with("Fn::"))
    })
}
