//! VPC flow logs delivered to an encrypted CloudWatch Logs group.
//!
//! ## Secure defaults
//! - A dedicated, rotating KMS key whose policy lets CloudWatch Logs use it only for this account's log
//!   groups in this region (the `kms:EncryptionContext:aws:logs:arn` condition).
//! - The delivery role trusts `vpc-flow-logs.amazonaws.com` only for this account's flow logs
//!   (`aws:SourceAccount`, `aws:SourceArn`), and may only write streams of its own log group.
//! - Retention of at least a year, chosen by the caller.

use crate::cfn::ec2;
pub use crate::cfn::ec2::flow_log::FlowLogTrafficType;
use crate::cfn::ec2::flow_log::{FlowLogLogDestinationType, FlowLogResourceType};
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::iam::{Role, RoleProps, Statement};
use crate::constructs::kms::{EncryptionKey, KeyProps};
use crate::constructs::logs::{LogGroup, LogGroupProps, RetentionDays};
use crate::template::{Tag, Value};

/// Flow log settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowLogsProps {
    /// How long the log group keeps records. Default: a year.
    pub retention: RetentionDays,
    /// Which traffic to record. Default: all.
    pub traffic: FlowLogTrafficType,
}

impl Default for FlowLogsProps {
    fn default() -> Self {
        Self { retention: RetentionDays::ONE_YEAR, traffic: FlowLogTrafficType::All }
    }
}

/// A VPC flow log with its key, log group and delivery role.
#[derive(Debug, Clone)]
pub struct FlowLogs {
    key: EncryptionKey,
    log_group: LogGroup,
    role: Role,
    resource: ResourceRef<ec2::FlowLog>,
}

impl FlowLogs {
    /// Adds flow logs for the VPC `vpc_id` under `id`.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        vpc_id: Value<String>,
        props: &FlowLogsProps,
    ) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();

        let key_props = KeyProps { description: Some(format!("Encrypts the flow logs of {name}")), grants: vec![] };
        let key = EncryptionKey::new(&mut scope, "Key", key_props)?;
        let log_props = LogGroupProps { retention: props.retention, name: None };
        let log_group = LogGroup::new(&mut scope, "LogGroup", &key, log_props)?;
        let role = Role::new(
            &mut scope,
            "DeliveryRole",
            RoleProps {
                description: format!("Delivers the flow logs of {name} to CloudWatch Logs"),
                trust: Statement::assume_role("vpc-flow-logs.amazonaws.com")
                    .condition("StringEquals", "aws:SourceAccount", Value::account_id())
                    .condition(
                        "ArnLike",
                        "aws:SourceArn",
                        Value::sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*"),
                    ),
                statements: vec![Statement::allow([
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ])
                .resource(log_group.arn())],
                managed_policy_arns: vec![],
                path: None,
            },
        )?;
        let resource = scope.add(
            "Resource",
            ec2::FlowLog::new(vpc_id, FlowLogResourceType::Vpc)
                .traffic_type(props.traffic.clone())
                .log_destination_type(FlowLogLogDestinationType::CloudWatchLogs)
                .log_group_name(log_group.name())
                .deliver_logs_permission_arn(role.arn())
                .max_aggregation_interval(60)
                .tags(vec![Tag::name(name)]),
        )?;
        Ok(Self { key, log_group, role, resource })
    }

    /// The flow log resource.
    pub fn resource(&self) -> &ResourceRef<ec2::FlowLog> {
        &self.resource
    }

    /// The key that encrypts the log group.
    pub fn key(&self) -> &EncryptionKey {
        &self.key
    }

    /// The log group records go to.
    pub fn log_group(&self) -> &LogGroup {
        &self.log_group
    }

    /// The role the flow log service assumes to deliver records.
    pub fn role(&self) -> &Role {
        &self.role
    }
}
