//! Deploy readiness: faults that pass cfn-lint, checkov and the registry schemas, because each of
//! those judges reads one resource at a time, and still break a real deployment. These rules follow a
//! packet, a permission or an ordering across resources, stacks and regions.
//!
//! A finding can be suppressed only on the resource it names, with a reason:
//! `Metadata: {"cfn-synth": {"suppress": [{"rule": "CS001", "reason": "..."}]}}`.

mod iam;
mod keys;
pub mod load;
mod model;
mod network;
mod operations;
mod pipeline;
mod recovery;
mod release;
mod services;
mod suppressions;

use serde_json::Value as Json;

pub use model::{Model, Res, Resolved, StackTemplate};

use super::{Finding, Severity};
use crate::template::Field;

/// One rule: its ID, a title, and the paragraph `cfn-synth validate --rules` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// `CS001` ...
    pub id: &'static str,
    /// One line.
    pub title: &'static str,
    /// Why it matters and what it checks.
    pub doc: &'static str,
}

/// Every deploy-readiness rule.
pub const RULES: &[Rule] = &[
    Rule {
        id: "CS001",
        title: "Every ECS task can pull its image",
        doc: "A Fargate task pulls its image before any of its code runs; a task that cannot pull never starts. \
              An image in the account's ECR needs the ecr.api and ecr.dkr interface endpoints (private DNS on, \
              their security groups admitting HTTPS from the task's group and the task's group sending to them) \
              plus the S3 gateway endpoint on the task subnets' route tables with egress to its prefix list, or \
              else a NAT route. Any other registry (Docker Hub, public.ecr.aws, ghcr.io) needs a NAT route from \
              every task subnet and HTTPS egress to 0.0.0.0/0.",
    },
    Rule {
        id: "CS002",
        title: "Every ECS task can write its logs",
        doc: "A container with the awslogs driver fails to start when it cannot reach CloudWatch Logs: it needs \
              the logs interface endpoint reachable from its security group, or a NAT route and HTTPS egress.",
    },
    Rule {
        id: "CS003",
        title: "Every ECS task can read the secrets injected into it",
        doc: "ECS fetches `secrets` from Secrets Manager (or SSM Parameter Store) when the task starts, through \
              the task's network. Without the secretsmanager (or ssm) endpoint reachable, or a NAT route, the task \
              stops with ResourceInitializationError.",
    },
    Rule {
        id: "CS004",
        title: "Every ECS task can reach what it was given",
        doc: "A database or cache named in a container's environment must be reachable on its port: the task's \
              group sends to the store's group and the store's group admits the task's. An SQS queue, KMS key, S3 \
              bucket or secret granted to the task role must be reachable through its endpoint (S3: the gateway \
              and its prefix list) or through NAT and HTTPS egress.",
    },
    Rule {
        id: "CS005",
        title: "Traffic flows along the declared chain and nowhere else",
        doc: "Each load balancer must be able to send to the tasks behind its target groups on their container \
              port (egress from the balancer's group, ingress on the task's). A task that calls a load balancer \
              by the name of a Route 53 alias to it (`https://internal.example.com:9443` in its environment) \
              must be admitted on that port. Every listener must be admitted by its balancer's group from some \
              source. No security group admits 0.0.0.0/0 or ::/0 unless it belongs \
              to an internet-facing load balancer.",
    },
    Rule {
        id: "CS010",
        title: "Everything a resource needs exists before it",
        doc: "A service naming a capacity provider that its cluster does not declare itself must DependsOn the \
              ClusterCapacityProviderAssociations that adds it, or CloudFormation may create it first and fail. \
              A stack whose tasks use endpoints or NAT routes of another stack must deploy after that stack. A \
              stack importing an export must come after the exporting stack in the deploy order.",
    },
    Rule {
        id: "CS020",
        title: "No two scaling policies on one target fight",
        doc: "Target tracking that may scale in, beside another policy that scales out on a different metric, \
              removes what the other just added. A step policy that removes capacity must be triggered by an \
              alarm whose metrics include every metric a scale-out policy on the same target watches, so that \
              its condition can exclude theirs (a worker must not lose a task while its queue holds messages).",
    },
    Rule {
        id: "CS030",
        title: "Every alarm has an action",
        doc: "An alarm with no AlarmActions changes state and nobody hears. An alarm counts as acted on when it \
              has an action, or when a CodeDeploy deployment group, an ECS service deployment or a Route 53 \
              health check watches it.",
    },
    Rule {
        id: "CS031",
        title: "Every dead-letter queue has an alarm",
        doc: "A message in a dead-letter queue is work that failed every retry. Every queue named as a \
              deadLetterTargetArn needs an alarm on its metrics.",
    },
    Rule {
        id: "CS032",
        title: "Every data store has an alarm",
        doc: "RDS instances and clusters, ElastiCache replication groups and clusters, SQS queues and DynamoDB \
              tables each need at least one alarm whose dimensions name them.",
    },
    Rule {
        id: "CS033",
        title: "Alarms can publish to their topic",
        doc: "An encrypted SNS topic accepts alarm notifications only when its key policy lets \
              cloudwatch.amazonaws.com call kms:Decrypt and kms:GenerateDataKey*. The AWS-managed aws/sns key \
              never does, so alarms deploy and notify no one.",
    },
    Rule {
        id: "CS040",
        title: "Every ECS service has a release path",
        doc: "A new image must reach a running service through a stack update or a pipeline's CloudFormation \
              action. CloudFormation cannot change the task definition of a service whose deployment controller is \
              CODE_DEPLOY or EXTERNAL, so none can release it. A service with a blue/green strategy (BLUE_GREEN, \
              CANARY, LINEAR) needs each load balancer's AdvancedConfiguration: the alternate target group, the \
              production and test listener rules, and a role.",
    },
    Rule {
        id: "CS041",
        title: "Deployment hooks can reach their test listener",
        doc: "A lifecycle hook that smoke-tests the new revision calls the test listener its deployment shifts \
              test traffic to. Behind an internal balancer, the hook's security group and the balancer's must \
              connect on the test port. Behind an internet-facing one, the hook reaches it through NAT: its subnets \
              need a NAT route, its group egress on the port, and the balancer's group must admit the NAT \
              gateways' Elastic IPs there. A hook that cannot connect fails every deployment, and so does one \
              ECS cannot invoke: each LifecycleHooks entry's RoleArn must allow lambda:InvokeFunction on it.",
    },
    Rule {
        id: "CS042",
        title: "Rollback alarms cover both target groups",
        doc: "A blue/green service runs its new revision in whichever of its two target groups is idle. The \
              deployment's Alarms (Enable and Rollback on) must watch both (a TargetGroup dimension naming each) \
              or the load balancer as a whole, or a bad revision in the unwatched group never rolls back.",
    },
    Rule {
        id: "CS043",
        title: "A release pipeline can deploy what it releases",
        doc: "Each CloudFormation deploy action of a CodePipeline must name a stack of the app (in the action's \
              region) whose template declares every parameter in its ParameterOverrides, or CloudFormation \
              rejects the update. The pipeline's role must be allowed iam:PassRole on the action's deploy role, and \
              the role CloudFormation acts as must be allowed iam:PassRole on the execution and task roles of every \
              task definition in that stack (by ARN, or by a pattern such as a role path), or registering the new \
              revision fails.",
    },
    Rule {
        id: "CS050",
        title: "Every KMS key is used in its own region",
        doc: "A KMS key never leaves its region. A resource that names a key (KmsKeyId, KMSMasterKeyID, \
              KmsKeyArn, EncryptionKey ...) must name one of the region it is used in: its stack's, or for an S3 \
              replication destination the destination bucket's, for a Secrets Manager replica its Region, for a \
              CodePipeline artifact store the store's Region. A disaster-recovery resource encrypted with a key \
              of the primary region fails to deploy, or depends on the region it is meant to survive.",
    },
    Rule {
        id: "CS051",
        title: "Every data store has its counterpart in the other serving regions",
        doc: "When tasks run in more than one region, each store a region's tasks reach (through an environment \
              variable or an injected secret: a database, bucket, queue, cache or secret) needs a counterpart that \
              the other region's tasks reach through the same variable, in their own region. A database of its \
              own needs a counterpart that is its cross-region read replica, and a bucket one it replicates to; a \
              queue, cache or secret needs one of the region's own. Otherwise a failover finds no data, or \
              depends on the region it is meant to survive.",
    },
    Rule {
        id: "CS060",
        title: "Every suppression of an outside judge says why",
        doc: "A resource may set aside an AWS Control Tower Guard rule (Metadata.guard.SuppressedRules) or a \
              checkov check (Metadata.checkov.skip) only with the reason beside it (Metadata.guard.Reasons.<rule>, \
              the skip's comment): a suppression nobody can review is a blanket skip.",
    },
    Rule {
        id: "CS099",
        title: "The analysis could not follow a value",
        doc: "Informational: a reference the analysis cannot resolve (an unknown intrinsic, a missing export, a \
              literal ID from outside the app). The rule that needed it is skipped for that resource.",
    },
];

/// Runs every rule over the app's templates, in deploy order.
pub fn analyse(stacks: Vec<StackTemplate<'_>>) -> Vec<Finding> {
    let model = Model::new(stacks);
    let mut findings = Vec::new();
    services::check(&model, &mut findings);
    release::check(&model, &mut findings);
    pipeline::check(&model, &mut findings);
    keys::check(&model, &mut findings);
    recovery::check(&model, &mut findings);
    operations::check(&model, &mut findings);
    suppressions::check(&model, &mut findings);
    // Stack positions by name, once: an app with many findings would otherwise scan its stacks for each.
    let positions: std::collections::HashMap<&str, usize> =
        model.stacks().iter().enumerate().map(|(index, stack)| (stack.name.as_str(), index)).collect();
    let position = |name: &str| positions.get(name).copied();
    findings
        .sort_by(|a, b| (position(&a.stack), &a.logical_id, a.rule).cmp(&(position(&b.stack), &b.logical_id, b.rule)));
    findings.dedup();
    findings.retain(|finding| !suppressed(&model, position(&finding.stack), finding));
    findings
}

/// Whether the resource a finding names (in the stack at `position`) suppresses its rule, with a reason.
fn suppressed(model: &Model, position: Option<usize>, finding: &Finding) -> bool {
    let Some(stack) = position.map(|index| &model.stacks()[index]) else { return false };
    let suppressions = stack.template.field("Resources")[finding.logical_id.as_str()]
        .field("Metadata")
        .field("cfn-synth")
        .field("suppress");
    suppressions.as_array().is_some_and(|list| {
        list.iter().any(|entry| {
            entry.field("rule") == finding.rule
                && entry.field("reason").as_str().is_some_and(|reason| !reason.trim().is_empty())
        })
    })
}

/// A finding on `res`, with the path the rule followed.
fn finding(model: &Model, rule: &'static str, res: &Res, path: String, message: String) -> Finding {
    let severity = if rule == "CS099" { Severity::Info } else { Severity::Error };
    Finding { rule, severity, stack: model.stacks()[res.stack].name.clone(), logical_id: res.id.clone(), path, message }
}

/// The items of an array, borrowed (none when `value` is no array): a rule reads them, and copying
/// an array of container definitions or policy statements costs more than the rule.
fn items(value: &Json) -> &[Json] {
    value.as_array().map_or(&[], Vec::as_slice)
}

/// Whether `needle` is in `value`'s JSON text, found in its strings and member names without writing
/// that text. `needle` holds no `"`, `\\` or control character, so it can only be found inside one
/// string of the text, as it is here.
fn mentions(value: &Json, needle: &str) -> bool {
    match value {
        Json::String(text) => text.contains(needle),
        Json::Array(items) => items.iter().any(|item| mentions(item, needle)),
        Json::Object(members) => members.iter().any(|(name, member)| name.contains(needle) || mentions(member, needle)),
        Json::Null | Json::Bool(_) | Json::Number(_) => value.to_string().contains(needle),
    }
}

/// The literal text of a value, if it is one.
fn text(model: &Model, stack: usize, value: &Json) -> Option<String> {
    match model.resolve(stack, value) {
        Resolved::Literal(text) => Some(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// `mentions` finds what searching the value's JSON text finds, for the needles the rules use and
    /// for values whose text puts them across two strings, a name and an escape.
    #[test]
    fn mentions_is_a_search_of_the_json_text() {
        let values = [
            json!("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"),
            json!({"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/app"}),
            json!({"Fn::Join": ["", ["123.dkr", ".ecr.x"]]}),
            json!([{"Name": "DB", "ValueFrom": "arn:aws:ssm:us-east-1:1:parameter/db"}]),
            json!({"Service": ["cloudwatch.amazonaws.com"]}),
            json!({"line\nssm:": 1, "ssm": ":ssm:"}),
            json!([1.5, true, null, {"": ""}]),
        ];
        let needles = [".dkr.ecr.", ":ssm:", "cloudwatch.amazonaws.com", "ssm", "1.5", "true", "null"];
        for value in &values {
            for needle in needles {
                assert_eq!(mentions(value, needle), value.to_string().contains(needle), "{value} / {needle}");
            }
        }
        assert!(mentions(&values[1], ".dkr.ecr."));
        assert!(!mentions(&values[2], ".dkr.ecr."), "the text has `\",\"` between the two strings");
    }

    #[test]
    fn items_borrow_an_array_and_anything_else_has_none() {
        let array = json!([1, {"a": 2}]);
        assert_eq!(items(&array), array.as_array().unwrap().as_slice());
        for other in [json!(null), json!({"a": [1]}), json!("[1]")] {
            assert!(items(&other).is_empty(), "{other}");
        }
    }
}
