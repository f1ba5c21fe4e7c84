//! The endpoints stack of one region: VPC endpoints for the AWS APIs the tasks call, so that image
//! pulls, logs, secrets, queue and key calls never leave the VPC.

use super::security::SecurityGroups;
use super::support::add_region_mapping;
use super::PlatformError;
use crate::construct::Stack;
use crate::constructs::network::{GatewayEndpoint, InterfaceEndpoint, Port, Vpc};
use crate::template::Value;

/// The mapping that holds the S3 gateway prefix list of each region.
const S3_PREFIX_LIST_MAPPING: &str = "S3PrefixList";

/// The ID of the AWS-managed prefix list `com.amazonaws.<region>.s3` in each region where it is known:
/// the addresses an S3 gateway endpoint serves, and so where ECR image layers come from.
pub const S3_PREFIX_LISTS: &[(&str, &str)] = &[
    ("eu-central-1", "pl-6ea54007"),
    ("eu-west-1", "pl-6da54004"),
    ("us-east-1", "pl-63a5400a"),
    ("us-east-2", "pl-7ba54012"),
    ("us-west-1", "pl-6ba54002"),
    ("us-west-2", "pl-68a54001"),
];

/// The interface endpoints: construct id, service, and whether Kong calls it too (the services always do).
const INTERFACE_ENDPOINTS: &[(&str, &str, bool)] = &[
    ("EcrApiEndpoint", "ecr.api", true),
    ("EcrDockerEndpoint", "ecr.dkr", true),
    ("LogsEndpoint", "logs", true),
    ("SecretsManagerEndpoint", "secretsmanager", true),
    ("SqsEndpoint", "sqs", false),
    ("KmsEndpoint", "kms", false),
];

/// Builds the endpoints into `stack`; `key` is the region's key path in the config, for
/// errors.
pub(super) fn build(stack: &Stack, vpc: &Vpc, groups: &SecurityGroups, key: &str) -> Result<(), PlatformError> {
    stack.set_description(format!(
        "VPC endpoints of {} ({}): an S3 gateway endpoint and interface endpoints for ECR, CloudWatch Logs, \
         Secrets Manager, SQS and KMS, each behind its own security group.",
        stack.name(),
        stack.region()
    ));
    GatewayEndpoint::s3(&mut stack.root(), "S3Endpoint", vpc)?;
    // Image layers come from S3: every task group may reach the gateway endpoint's addresses, and
    // nothing else outside the VPC.
    add_region_mapping(stack, S3_PREFIX_LIST_MAPPING, "PrefixListId", S3_PREFIX_LISTS, key, "S3 prefix list ID")?;
    let s3 = Value::find_in_map(S3_PREFIX_LIST_MAPPING, Value::region(), "PrefixListId");
    for (id, group, who) in [("KongToS3", &groups.kong, "Kong"), ("ServicesToS3", &groups.services, "Service")] {
        group.allow_egress_to_prefix_list(
            &mut stack.root(),
            id,
            s3.clone(),
            Port::tcp(443),
            &format!("{who} tasks pull image layers from S3 through the gateway endpoint"),
        )?;
    }
    let mut endpoints = Vec::new();
    for (id, service, kong_calls_it) in INTERFACE_ENDPOINTS {
        endpoints.push((InterfaceEndpoint::new(&mut stack.root(), id, vpc, service)?, *service, *kong_calls_it));
    }
    for (endpoint, service, kong_calls_it) in &endpoints {
        endpoint.allow_from(&groups.services, &format!("Service tasks call {service} privately"))?;
        if *kong_calls_it {
            endpoint.allow_from(&groups.kong, &format!("Kong tasks call {service} privately"))?;
        }
        if *service == "secretsmanager" {
            endpoint.allow_from(&groups.rotation, "The database password's rotation function calls it")?;
        }
    }
    Ok(())
}
