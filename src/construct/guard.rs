//! Suppressions of AWS Control Tower proactive controls (Guard rules) that only synthesis can decide:
//! where a property the control reads became an intrinsic it cannot evaluate.
//!
//! Some controls accept a property only as a literal string, a `Ref` or a `Fn::GetAtt`. Resolution
//! turns a reference to another stack into `Fn::ImportValue` (and a name built from the account ID is a
//! `Fn::Sub`): a string at deploy time, which a Control Tower hook sees resolved, but which the Guard
//! rules read as a missing value when they judge the template. A construct cannot know which of its
//! references will cross a stack, so the resolved template is annotated here, resource by resource,
//! with the rule and a reason naming the intrinsic (`Metadata.guard`, see
//! [`crate::template::Resource::suppress_guard`]).

use serde_json::{json, Map, Value as Json};

use crate::template::{add_guard_suppression, Field, GUARD_METADATA_KEY};

/// A property one control reads, where an intrinsic other than `Ref`/`Fn::GetAtt` fails it.
struct DeployTimeProperty {
    rule: &'static str,
    resource_type: &'static str,
    /// What the property holds, for the reason.
    what: &'static str,
    /// The property's values in a resource's `Properties`.
    values: fn(&Map<String, Json>) -> Vec<&Json>,
}

const PROPERTIES: [DeployTimeProperty; 5] = [
    DeployTimeProperty {
        rule: "CLOUDWATCH_LOG_GROUP_ENCRYPTED_CHECK",
        resource_type: "AWS::Logs::LogGroup",
        what: "KmsKeyId, the ARN of the key that encrypts the log group,",
        values: |properties| properties.get("KmsKeyId").into_iter().collect(),
    },
    DeployTimeProperty {
        rule: "RDS_STORAGE_ENCRYPTED_KMS_KEY_CHECK",
        resource_type: "AWS::RDS::DBInstance",
        what: "KmsKeyId, the ARN of the key that encrypts the instance's storage,",
        values: |properties| properties.get("KmsKeyId").into_iter().collect(),
    },
    DeployTimeProperty {
        rule: "LAMBDA_INSIDE_VPC_CHECK",
        resource_type: "AWS::Lambda::Function",
        what: "VpcConfig.SubnetIds, the VPC subnets the function runs in,",
        values: |properties| {
            let subnets = properties.get("VpcConfig").and_then(|config| config.get("SubnetIds"));
            subnets.and_then(Json::as_array).map(|subnets| subnets.iter().collect()).unwrap_or_default()
        },
    },
    DeployTimeProperty {
        rule: "CLOUDFRONT_ACCESS_LOGS_ENABLED_CHECK",
        resource_type: "AWS::CloudFront::Distribution",
        what: "DistributionConfig.Logging.Bucket, the domain name of the bucket that receives the standard logs,",
        values: |properties| {
            let logging = properties.get("DistributionConfig").and_then(|config| config.get("Logging"));
            logging.and_then(|logging| logging.get("Bucket")).into_iter().collect()
        },
    },
    DeployTimeProperty {
        rule: "ELBV2_LOGGING_ENABLED_CHECK",
        resource_type: "AWS::ElasticLoadBalancingV2::LoadBalancer",
        what: "the access_logs.s3.bucket attribute, the bucket that receives the access logs,",
        values: |properties| {
            let attributes = properties.get("LoadBalancerAttributes").and_then(Json::as_array);
            attributes
                .into_iter()
                .flatten()
                .filter(|attribute| attribute.field("Key") == "access_logs.s3.bucket")
                .filter_map(|attribute| attribute.get("Value"))
                .collect()
        },
    },
];

/// The intrinsic function of `value` when the controls cannot read it as a string: any but `Ref` and
/// `Fn::GetAtt`.
fn deploy_time_intrinsic(value: &Json) -> Option<&str> {
    let object = value.as_object().filter(|object| object.len() == 1)?;
    let name = object.keys().next()?.as_str();
    (name.starts_with("Fn::") && name != "Fn::GetAtt").then_some(name)
}

/// Adds to each resource of a resolved `template` the suppressions that its deploy-time values call
/// for.
pub fn annotate(template: &mut Json) {
    let Some(resources) = template.get_mut("Resources").and_then(Json::as_object_mut) else { return };
    for resource in resources.values_mut() {
        let Some(resource_type) = resource.get("Type").and_then(Json::as_str) else { continue };
        let mut suppressions = Vec::new();
        for property in PROPERTIES.iter().filter(|property| property.resource_type == resource_type) {
            let Some(properties) = resource.get("Properties").and_then(Json::as_object) else { continue };
            let intrinsics: Vec<&str> =
                (property.values)(properties).into_iter().filter_map(deploy_time_intrinsic).collect();
            if let Some(intrinsic) = intrinsics.first() {
                let reason = format!(
                    "{} is an {intrinsic} that CloudFormation resolves at deploy time, where a Control Tower \
                     hook sees the string; the rule, judging the template, reads only literals, Ref and Fn::GetAtt",
                    property.what
                );
                suppressions.push((property.rule, reason));
            }
        }
        if suppressions.is_empty() {
            continue;
        }
        let entry = resource.as_object_mut().expect("a resource is an object");
        if !entry.contains_key("Metadata") {
            // Where Resource::into_json writes it: before the properties.
            let fields = std::mem::take(entry);
            for (key, value) in fields {
                if key == "Properties" {
                    entry.insert("Metadata".to_owned(), json!({}));
                }
                entry.insert(key, value);
            }
            entry.entry("Metadata").or_insert_with(|| json!({}));
        }
        let metadata = entry.get_mut("Metadata").expect("just made");
        let guard =
            metadata.as_object_mut().expect("Metadata is an object").entry(GUARD_METADATA_KEY).or_insert(Json::Null);
        for (rule, reason) in suppressions {
            add_guard_suppression(guard, rule, &reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_imported_key_is_suppressed_with_its_intrinsic_and_a_local_one_is_not() {
        let mut template = json!({"Resources": {
            "Imported": {"Type": "AWS::Logs::LogGroup", "Properties": {"KmsKeyId": {"Fn::ImportValue": "Data:GetAttKeyArn"}}},
            "Local": {"Type": "AWS::Logs::LogGroup", "Properties": {"KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}},
            "Function": {"Type": "AWS::Lambda::Function", "Metadata": {"other": 1},
                "Properties": {"VpcConfig": {"SubnetIds": [{"Fn::ImportValue": "Net:RefSubnet1"}]}}},
            "Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {"LoadBalancerAttributes": [
                {"Key": "deletion_protection.enabled", "Value": "true"},
                {"Key": "access_logs.s3.bucket", "Value": {"Fn::ImportValue": "Data:RefLogs"}}]}}
        }});
        annotate(&mut template);
        let resources = &template["Resources"];
        let reason = resources["Imported"]["Metadata"]["guard"]["Reasons"]["CLOUDWATCH_LOG_GROUP_ENCRYPTED_CHECK"]
            .as_str()
            .unwrap();
        assert!(reason.starts_with("KmsKeyId, the ARN of the key that encrypts the log group, is an Fn::ImportValue"));
        assert_eq!(
            resources["Imported"]["Metadata"]["guard"]["SuppressedRules"],
            json!(["CLOUDWATCH_LOG_GROUP_ENCRYPTED_CHECK"])
        );
        assert!(resources["Local"].get("Metadata").is_none(), "a GetAtt is what the rule reads");
        assert_eq!(resources["Function"]["Metadata"]["other"], 1);
        assert_eq!(resources["Function"]["Metadata"]["guard"]["SuppressedRules"], json!(["LAMBDA_INSIDE_VPC_CHECK"]));
        assert_eq!(resources["Alb"]["Metadata"]["guard"]["SuppressedRules"], json!(["ELBV2_LOGGING_ENABLED_CHECK"]));
        let keys: Vec<&String> = resources["Alb"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["Type", "Metadata", "Properties"]);
    }
}
