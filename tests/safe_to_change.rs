//! Guards on what must not change by accident: the logical IDs and policies of stateful resources,
//! and the reasons behind any checkov skip.

use cfn_synth::config::ConfigFile;
use cfn_synth::platform;
use cfn_synth::template::STATEFUL_RESOURCE_TYPES;

fn default_templates() -> Vec<(String, serde_json::Value)> {
    let config = ConfigFile::embedded_default().unwrap();
    let app = platform::build(config.config()).unwrap().synth().unwrap();
    app.stacks.into_iter().map(|stack| (stack.name, stack.template)).collect()
}

/// Renaming a stateful resource's logical ID replaces it, and with it its data. This list changes only
/// on purpose, together with a migration note.
#[test]
fn stateful_logical_ids_and_policies_are_pinned() {
    let mut found = Vec::new();
    for (stack, template) in default_templates() {
        for (logical_id, resource) in template["Resources"].as_object().unwrap() {
            let resource_type = resource["Type"].as_str().unwrap();
            if STATEFUL_RESOURCE_TYPES.contains(&resource_type) {
                found.push(format!(
                    "{stack}/{logical_id} {resource_type} DeletionPolicy={} UpdateReplacePolicy={}",
                    resource["DeletionPolicy"].as_str().unwrap_or("-"),
                    resource["UpdateReplacePolicy"].as_str().unwrap_or("-"),
                ));
            }
        }
    }
    assert_eq!(
        found,
        [
            "IntegrationPlatform-Primary-Network/VpcFlowLogsKey AWS::KMS::Key DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Network/VpcFlowLogsLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Network/VpcFlowLogsKey AWS::KMS::Key DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Network/VpcFlowLogsLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Storage/RecoveryKey AWS::KMS::Key DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Storage/AccessLogsBucket AWS::S3::Bucket DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Storage/DocumentsBucket AWS::S3::Bucket DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Storage/AuditLogsBucket AWS::S3::Bucket DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Storage/WorkQueueDeadLetterQueue AWS::SQS::Queue DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Storage/WorkQueue AWS::SQS::Queue DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Data/DataKey AWS::KMS::Key DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Data/AccessLogsBucket AWS::S3::Bucket DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Data/DocumentsBucket AWS::S3::Bucket DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Data/AuditLogsBucket AWS::S3::Bucket DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Data/WorkQueueDeadLetterQueue AWS::SQS::Queue DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Data/WorkQueue AWS::SQS::Queue DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Data/CacheKongPassword AWS::SecretsManager::Secret DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Data/CacheApplicationsPassword AWS::SecretsManager::Secret DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Data/Cache AWS::ElastiCache::ReplicationGroup DeletionPolicy=Snapshot UpdateReplacePolicy=Snapshot",
            "IntegrationPlatform-Primary-Data/DatabaseMasterSecret AWS::SecretsManager::Secret DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Data/Database AWS::RDS::DBInstance DeletionPolicy=Snapshot UpdateReplacePolicy=Snapshot",
            "IntegrationPlatform-Primary-Edge/EdgeKey AWS::KMS::Key DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Edge/OriginVerifySecret AWS::SecretsManager::Secret DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Edge/WafLogs AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Deployments/KongSmokeTestLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Deployments/IntegrationServiceSmokeTestLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Deployments/WebhookReceiverSmokeTestLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Delivery/AccessLogsBucket AWS::S3::Bucket DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Delivery/ArtifactsKey AWS::KMS::Key DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Delivery/ArtifactsBucket AWS::S3::Bucket DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Delivery/AccessLogsBucket AWS::S3::Bucket DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Delivery/ArtifactsKey AWS::KMS::Key DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Delivery/ArtifactsBucket AWS::S3::Bucket DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Delivery/BuildLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Compute/IntegrationServiceLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Compute/WebhookReceiverLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Compute/WorkerServiceLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Gateway/KongLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Operations/AlarmTopicKey AWS::KMS::Key DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-Primary-Operations/DatabaseUsersLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Data/CacheKongPassword AWS::SecretsManager::Secret DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Data/CacheApplicationsPassword AWS::SecretsManager::Secret DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Data/Cache AWS::ElastiCache::ReplicationGroup DeletionPolicy=Snapshot UpdateReplacePolicy=Snapshot",
            "IntegrationPlatform-DisasterRecovery-Data/Database AWS::RDS::DBInstance DeletionPolicy=Snapshot UpdateReplacePolicy=Snapshot",
            "IntegrationPlatform-DisasterRecovery-Deployments/KongSmokeTestLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Deployments/IntegrationServiceSmokeTestLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Deployments/WebhookReceiverSmokeTestLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Compute/IntegrationServiceLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Compute/WebhookReceiverLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Compute/WorkerServiceLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Gateway/KongLogGroup AWS::Logs::LogGroup DeletionPolicy=Retain UpdateReplacePolicy=Retain",
            "IntegrationPlatform-DisasterRecovery-Operations/AlarmTopicKey AWS::KMS::Key DeletionPolicy=Retain UpdateReplacePolicy=Retain",
        ]
    );
}

/// checkov may be told to skip a check only with a written reason beside it.
#[test]
fn every_checkov_skip_carries_a_reason() {
    let mut checked = 0;
    for (stack, template) in default_templates() {
        for (logical_id, resource) in template["Resources"].as_object().unwrap() {
            let Some(skips) = resource.pointer("/Metadata/checkov/skip") else { continue };
            for skip in skips.as_array().expect("checkov skips are a list") {
                let comment = skip["comment"].as_str().unwrap_or_default();
                assert!(
                    skip["id"].is_string() && comment.trim().len() >= 20,
                    "{stack}/{logical_id}: skip {skip} needs an id and a reason"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "the access-log bucket's skip is checked");
}

/// cfn-lint may be told to ignore a rule on a resource only with a written reason beside it, naming the
/// rule.
#[test]
fn every_cfn_lint_ignore_carries_a_reason() {
    let mut checked = 0;
    for (stack, template) in default_templates() {
        for (logical_id, resource) in template["Resources"].as_object().unwrap() {
            let Some(lint) = resource.pointer("/Metadata/cfn-lint") else { continue };
            let comment = lint["comment"].as_str().unwrap_or_default();
            for rule in lint["config"]["ignore_checks"].as_array().expect("cfn-lint ignores are a list") {
                let rule = rule.as_str().unwrap();
                assert!(
                    comment.contains(&format!("{rule}:")) && comment.len() >= 40,
                    "{stack}/{logical_id}: ignoring {rule} needs a reason naming it"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 1, "the standby database replica's E3020 is the one ignore");
}

/// No security group admits the whole internet: no ingress rule, inline or standalone, from 0.0.0.0/0 or
/// ::/0. The only other places the internet appears are default routes and outbound rules.
#[test]
fn no_security_group_admits_the_internet() {
    let mut ingress_rules = 0;
    for (stack, template) in default_templates() {
        for (logical_id, resource) in template["Resources"].as_object().unwrap() {
            let properties = &resource["Properties"];
            let rules: Vec<&serde_json::Value> = match resource["Type"].as_str().unwrap() {
                "AWS::EC2::SecurityGroupIngress" => vec![properties],
                "AWS::EC2::SecurityGroup" => properties["SecurityGroupIngress"]
                    .as_array()
                    .map(|rules| rules.iter().collect())
                    .unwrap_or_default(),
                _ => {
                    if resource.to_string().contains("0.0.0.0/0") {
                        let kind = resource["Type"].as_str().unwrap();
                        assert!(
                            kind == "AWS::EC2::Route" || kind == "AWS::EC2::SecurityGroupEgress",
                            "{stack}/{logical_id} ({kind}) mentions 0.0.0.0/0"
                        );
                    }
                    continue;
                }
            };
            for rule in rules {
                ingress_rules += 1;
                assert!(rule["CidrIp"] != "0.0.0.0/0" && rule["CidrIpv6"] != "::/0", "{stack}/{logical_id}: {rule}");
                // Connections are between groups, not CIDRs. The one exception is a NAT gateway's own
                // address (`<Elastic IP>/32`), through which a deployment hook reaches the public ALB's
                // test port.
                let nat_address = rule["CidrIp"]["Fn::Sub"][0] == "${Ip}/32"
                    && rule["CidrIp"]["Fn::Sub"][1]["Ip"].to_string().contains("Eip")
                    && rule["FromPort"] == 8443
                    && rule["ToPort"] == 8443;
                assert!(rule["CidrIp"].is_null() || nat_address, "{stack}/{logical_id}: a CIDR rule: {rule}");
                assert!(rule["Description"].is_string(), "{stack}/{logical_id}: every rule has a description");
            }
        }
    }
    assert!(ingress_rules > 0, "the platform has ingress rules to check");
}

/// No credential appears in a template: every secret-bearing property is a dynamic reference, and RDS
/// keeps the master password itself.
#[test]
fn no_secret_value_appears_in_any_template() {
    // `HeaderValue`: CloudFront's origin-verify header.
    const SECRET_PROPERTIES: &[&str] = &["AuthToken", "MasterUserPassword", "Password", "SecretString", "HeaderValue"];
    let mut secret_properties = 0;
    for (stack, template) in default_templates() {
        fn walk(node: &serde_json::Value, path: &str, found: &mut usize) {
            match node {
                serde_json::Value::Object(map) => {
                    for (key, value) in map {
                        if SECRET_PROPERTIES.contains(&key.as_str()) {
                            *found += 1;
                            let text = value.to_string();
                            assert!(text.contains("{{resolve:secretsmanager:"), "{path}/{key} holds {text}");
                        }
                        walk(value, &format!("{path}/{key}"), found);
                    }
                }
                serde_json::Value::Array(items) => items.iter().for_each(|item| walk(item, path, found)),
                _ => {}
            }
        }
        walk(&template, &stack, &mut secret_properties);
    }
    assert!(secret_properties >= 2, "the Redis AUTH token and the origin-verify header are checked");
}

/// The values a load balancer rule compares a header with are the origin-verify secret, resolved at
/// deploy time: a literal there would publish it.
#[test]
fn header_conditions_compare_with_a_dynamic_reference() {
    let mut conditions = 0;
    for (stack, template) in default_templates() {
        for (logical_id, resource) in template["Resources"].as_object().unwrap() {
            for condition in resource["Properties"]["Conditions"].as_array().into_iter().flatten() {
                if condition["Field"] == "http-header" {
                    conditions += 1;
                    for value in condition["HttpHeaderConfig"]["Values"].as_array().unwrap() {
                        let text = value.as_str().unwrap_or_default();
                        assert!(text.starts_with("{{resolve:secretsmanager:"), "{stack}/{logical_id}: {value}");
                    }
                }
            }
        }
    }
    assert_eq!(conditions, 2, "both regions' public ALBs' production listeners require CloudFront's header");
}

/// Nothing secret-shaped appears in any output file (templates, manifest, Kong config, AppSpecs): no
/// AWS access key ID, no private key, and no long random-looking token: 24+ letters and digits with
/// several digits and no run of lower-case letters longer than four, which is what a generated
/// password or API key looks like and what words (logical IDs, names) are not.
#[test]
fn no_output_file_holds_a_secret_shaped_value() {
    let config = ConfigFile::embedded_default().unwrap();
    let app = platform::build(config.config()).unwrap().synth().unwrap();
    let files = cfn_synth::assembly::Assembly::new(&app, cfn_synth::template::TemplateFormat::Json).unwrap().files;
    assert!(files.len() > 10, "templates, manifest and artifacts are scanned");
    for (name, text) in &files {
        assert!(!text.contains("PRIVATE KEY"), "{name} holds a private key");
        for token in text.split(|c: char| !c.is_ascii_alphanumeric()) {
            let access_key = token.len() == 20
                && (token.starts_with("AKIA") || token.starts_with("ASIA"))
                && token.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            assert!(!access_key, "{name} holds an AWS access key ID: {token}");
            let longest_lower_run =
                token.split(|c: char| !c.is_ascii_lowercase()).map(str::len).max().unwrap_or_default();
            let random_looking =
                token.len() >= 24 && token.chars().filter(char::is_ascii_digit).count() >= 3 && longest_lower_run <= 4;
            assert!(!random_looking, "{name} holds a secret-shaped token: {token}");
        }
    }
}

/// CloudWatch Logs encrypts a log group only with a key whose key policy admits the Logs service of
/// its region (an IAM grant is not enough): every log group's key, in its own stack or imported from
/// another, must carry that statement.
#[test]
fn every_log_group_key_admits_cloudwatch_logs() {
    let templates = default_templates();
    let key_policy = |stack: &str, key_id: &str| -> serde_json::Value {
        let (_, template) = templates.iter().find(|(name, _)| name == stack).expect("the key's stack");
        template["Resources"][key_id]["Properties"]["KeyPolicy"].clone()
    };
    let mut checked = 0;
    for (stack, template) in &templates {
        for (logical_id, resource) in template["Resources"].as_object().unwrap() {
            if resource["Type"] != "AWS::Logs::LogGroup" {
                continue;
            }
            let key = &resource["Properties"]["KmsKeyId"];
            let policy = if let Some(key_id) = key["Fn::GetAtt"][0].as_str() {
                key_policy(stack, key_id)
            } else {
                // `<Stack>:GetAtt<KeyId>Arn`, the export name of another stack's key ARN.
                let export = key["Fn::ImportValue"].as_str().expect("a key in this stack or an imported one");
                let (producer, attribute) = export.split_once(':').unwrap();
                let key_id = attribute.strip_prefix("GetAtt").and_then(|id| id.strip_suffix("Arn")).unwrap();
                key_policy(producer, key_id)
            };
            let admits_logs = policy["Statement"].as_array().unwrap().iter().any(|statement| {
                statement["Principal"]["Service"] == serde_json::json!({"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"})
            });
            assert!(admits_logs, "{stack}/{logical_id}: its key's policy does not admit CloudWatch Logs");
            checked += 1;
        }
    }
    assert_eq!(
        checked, 19,
        "both regions' flow logs, the WAF logs, both regions' four services' and three deployment hooks' logs, \
         the database-user task's logs and the release build's logs are checked"
    );
}
