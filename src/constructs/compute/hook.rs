//! A Lambda function that ECS runs at a stage of a service deployment (a lifecycle hook), such as smoke
//! tests against the test listener before production traffic moves.
//!
//! ECS invokes the function and reads `hookStatus` from its answer: `SUCCEEDED` lets the deployment
//! continue, `FAILED` (or an error) rolls it back, `IN_PROGRESS` asks to be called again.
//!
//! ## Secure defaults
//! - Inline code only (no deployment bucket to guard), on a current Python runtime.
//! - In the VPC's private-app subnets with a security group of its own that starts with no egress:
//!   connections and rules add exactly what the hook must reach.
//! - Its role may write its own log group and manage its network interfaces, nothing else; only ECS
//!   of this account may assume the role [`HookFunction::invoke_statement`] is meant for.
//! - Environment values encrypted with the given key; the log group encrypted with it too and kept a
//!   year.
//! - No reserved concurrency unless asked for: ECS calls a hook once per deployment stage, and a
//!   reservation fails outright on a new account, whose concurrency quota of 10 is all Lambda keeps
//!   unreserved, so it would break a first deploy on an empty account.

use indexmap::IndexMap;

use crate::cfn::lambda;
use crate::cfn::lambda::function::{Code, Environment, FunctionRuntime, LoggingConfig, VpcConfig};
use crate::cfn::prelude::*;
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::constructs::iam::{Role, RoleProps, Statement};
use crate::constructs::kms::EncryptionKey;
use crate::constructs::logs::{LogGroup, LogGroupProps};
use crate::constructs::network::{Connectable, Connections, SecurityGroup, SubnetSelection, Vpc};
use crate::template::Value;

/// How to build a [`HookFunction`]: [`HookFunctionProps::new`] with its code, then the fields.
#[derive(Debug, Clone, PartialEq)]
pub struct HookFunctionProps {
    /// The Python source of the function, with a `handler(event, context)` entry point.
    pub code: String,
    /// What it does, for people.
    pub description: String,
    /// Plain environment values (encrypted at rest with the key). Default: none.
    pub environment: IndexMap<String, Value<String>>,
    /// Seconds one invocation may run (up to 900). Default: 60.
    pub timeout_seconds: i64,
    /// Where it runs. Default: the private-app subnets, whose NAT route reaches public endpoints too.
    pub subnets: SubnetSelection,
    /// Concurrent executions reserved for (and capping) the function. Default: none (see the module's
    /// secure defaults).
    pub reserved_concurrency: Option<i64>,
}

impl HookFunctionProps {
    /// A hook running `code`.
    pub fn new(code: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            description: description.into(),
            environment: IndexMap::new(),
            timeout_seconds: 60,
            subnets: SubnetSelection::PRIVATE_APP,
            reserved_concurrency: None,
        }
    }
}

/// A lifecycle hook function in a VPC, with its security group, role and log group.
#[derive(Debug, Clone)]
pub struct HookFunction {
    resource: ResourceRef<lambda::Function>,
    security_group: SecurityGroup,
}

impl HookFunction {
    /// Adds the function under `id` in `vpc`, encrypting its environment and logs with `key`.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        vpc: &Vpc,
        key: &EncryptionKey,
        props: HookFunctionProps,
    ) -> Result<Self, ConstructError> {
        key.ensure_in_region(scope.region(), &format!("{}/{id}", scope.path()), "a hook function")?;
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        let security_group = SecurityGroup::new(&mut scope, "SecurityGroup", vpc, &format!("Lifecycle hook {name}"))?;
        let log_group = LogGroup::new(&mut scope, "LogGroup", key, LogGroupProps::default())?;
        let role = Role::new(
            &mut scope,
            "Role",
            RoleProps {
                description: format!("Runs the lifecycle hook {name}: its logs and network interfaces only"),
                trust: Statement::assume_role("lambda.amazonaws.com").condition(
                    "StringEquals",
                    "aws:SourceAccount",
                    Value::account_id(),
                ),
                statements: vec![
                    Statement::allow(["logs:CreateLogStream", "logs:PutLogEvents"]).resource(log_group.arn()),
                    Statement::allow(["kms:Decrypt"]).resource(key.arn()).condition(
                        "StringEquals",
                        "kms:ViaService",
                        Value::sub("lambda.${AWS::Region}.amazonaws.com"),
                    ),
                ],
                managed_policy_arns: vec![Value::sub(
                    "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
                )],
                path: None,
            },
        )?;
        let network = VpcConfig::new()
            .subnet_ids(vpc.select_subnets(props.subnets))
            .security_group_ids(vec![security_group.group_id().value()]);
        let mut function = lambda::Function::new(Code::new().zip_file(props.code), role.arn())
            .description(props.description)
            .runtime(FunctionRuntime::Python313)
            .handler("index.handler")
            .timeout(props.timeout_seconds)
            .memory_size(256)
            .kms_key_arn(key.arn())
            .vpc_config(network)
            .logging_config(LoggingConfig::new().log_group(log_group.name()));
        if let Some(reserved) = props.reserved_concurrency {
            function = function.reserved_concurrent_executions(reserved);
        }
        if !props.environment.is_empty() {
            let variables: serde_json::Map<String, serde_json::Value> = props
                .environment
                .iter()
                .map(|(key, value)| (key.clone(), serde_json::to_value(value).expect("values serialize")))
                .collect();
            function = function.environment(Environment::new().variables(variables));
        }
        let mut skips = vec![
            serde_json::json!({"id": "CKV_AWS_116", "comment": "ECS invokes lifecycle hooks synchronously and reads their answer; a dead-letter queue only serves asynchronous invocations."}),
            serde_json::json!({"id": "CKV_AWS_272", "comment": "The code is inline, rendered at synth from the reviewed templates/ source; there is no package to sign."}),
        ];
        if props.reserved_concurrency.is_none() {
            skips.push(serde_json::json!({"id": "CKV_AWS_115", "comment": "ECS invokes the hook once per deployment stage; reserving concurrency fails on a new account (quota 10, all of it kept unreserved) and so would break a first deploy."}));
        }
        let reasons = serde_json::json!({ "skip": skips });
        let resource = scope.add_with("Resource", function, |entry| entry.metadata("checkov", reasons))?;
        Ok(Self { resource, security_group })
    }

    /// The function resource.
    pub fn resource(&self) -> &ResourceRef<lambda::Function> {
        &self.resource
    }

    /// The function's ARN, for a service's `LifecycleHooks`.
    pub fn arn(&self) -> Value<String> {
        self.resource.attr_arn()
    }

    /// Its security group, which starts with no egress.
    pub fn security_group(&self) -> &SecurityGroup {
        &self.security_group
    }

    /// What the role ECS assumes to run the hook needs: `lambda:InvokeFunction` on this function.
    pub fn invoke_statement(&self) -> Statement {
        Statement::allow(["lambda:InvokeFunction"]).resource(self.arn())
    }
}

impl Connectable for HookFunction {
    fn connections(&self) -> Connections {
        Connections::new(vec![self.security_group.clone()], None, self.resource.path().construct())
    }
}
