//! The endpoints stack of one region: VPC endpoints for the AWS APIs the tasks call, so that image
//! pulls, logs, secrets, queue and key calls never leave the VPC.

use super::security::SecurityGroups;
use super::PlatformError;
use crate::construct::App;
use crate::constructs::network::{GatewayEndpoint, InterfaceEndpoint, Vpc};

/// The interface endpoints: construct id, service, and whether Kong calls it too (the services always do).
const INTERFACE_ENDPOINTS: &[(&str, &str, bool)] = &[
    ("EcrApiEndpoint", "ecr.api", true),
    ("EcrDockerEndpoint", "ecr.dkr", true),
    ("LogsEndpoint", "logs", true),
    ("SecretsManagerEndpoint", "secretsmanager", true),
    ("SqsEndpoint", "sqs", false),
    ("KmsEndpoint", "kms", false),
];

/// Builds the endpoints into the stack `stack_name`.
pub(super) fn build(app: &mut App, stack_name: &str, vpc: &Vpc, groups: &SecurityGroups) -> Result<(), PlatformError> {
    let stack = app.stack_mut(stack_name).expect("the endpoints stack exists");
    stack.set_description(format!(
        "VPC endpoints of {} ({}): an S3 gateway endpoint and interface endpoints for ECR, CloudWatch Logs, \
         Secrets Manager, SQS and KMS, each behind its own security group.",
        stack.name(),
        stack.region()
    ));
    GatewayEndpoint::s3(&mut stack.root(), "S3Endpoint", vpc)?;
    let mut endpoints = Vec::new();
    for (id, service, kong_calls_it) in INTERFACE_ENDPOINTS {
        endpoints.push((InterfaceEndpoint::new(&mut stack.root(), id, vpc, service)?, *service, *kong_calls_it));
    }
    for (endpoint, service, kong_calls_it) in &endpoints {
        endpoint.allow_from(app, &groups.services, &format!("Service tasks call {service} privately"))?;
        if *kong_calls_it {
            endpoint.allow_from(app, &groups.kong, &format!("Kong tasks call {service} privately"))?;
        }
    }
    Ok(())
}
