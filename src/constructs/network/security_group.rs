//! Security groups and the connections between them.
//!
//! ## Secure defaults
//! - No outbound traffic unless asked for: a group starts with CloudFormation's "disallow all" egress
//!   placeholder instead of the implicit allow-all rule, and each connection adds the egress it needs.
//! - Connections are rules between groups (`SourceSecurityGroupId`), never CIDR-wide; the only other
//!   source is a managed prefix list (the CloudFront origin-facing list, say). No `0.0.0.0/0` ingress.
//! - Every group and every rule carries a description (checkov CKV_AWS_23).
//!
//! ## Example
//! ```
//! use cfn_synth::construct::App;
//! use cfn_synth::constructs::network::{Port, SecurityGroup};
//! use cfn_synth::template::Value;
//! let mut app = App::new("demo");
//! let stack = app.add_stack("Demo", "us-east-1").unwrap();
//! let vpc_id = Value::from("vpc-123");
//! let service = SecurityGroup::new(&mut stack.root(), "Service", "Service tasks", vpc_id.clone()).unwrap();
//! let database = SecurityGroup::new(&mut stack.root(), "Database", "PostgreSQL", vpc_id).unwrap();
//! database.allow_from(&mut app, &service, Port::tcp(5432), "services query PostgreSQL").unwrap();
//! ```

use std::fmt;

use crate::cfn::ec2;
use crate::construct::{pascal_case, App, ConstructError, ResourceRef, Scope};
use crate::template::{Tag, Value};

/// A TCP port or port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port {
    from: u16,
    to: u16,
}

impl Port {
    /// One TCP port.
    pub fn tcp(port: u16) -> Self {
        Self { from: port, to: port }
    }

    /// A TCP port range, both ends included.
    pub fn tcp_range(from: u16, to: u16) -> Self {
        Self { from: from.min(to), to: from.max(to) }
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}-{}", self.from, self.to)
        }
    }
}

/// A VPC security group.
#[derive(Debug, Clone)]
pub struct SecurityGroup {
    resource: ResourceRef<ec2::SecurityGroup>,
}

impl SecurityGroup {
    /// Adds a group under `id`; `description` says what it protects.
    pub fn new(
        scope: &mut Scope<'_>,
        id: &str,
        description: &str,
        vpc_id: Value<String>,
    ) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let name = scope.path().to_string();
        // The documented placeholder CloudFormation keeps instead of the implicit allow-all egress rule:
        // it matches no traffic (ICMP type 252, code 86 to 255.255.255.255/32).
        let no_egress = ec2::security_group::Egress::new("icmp")
            .cidr_ip("255.255.255.255/32")
            .from_port(252)
            .to_port(86)
            .description("Disallow all traffic; connections add the egress they need");
        let group = ec2::SecurityGroup::new(description)
            .vpc_id(vpc_id)
            .security_group_egress(vec![no_egress])
            .tags(vec![Tag::name(name)]);
        Ok(Self { resource: scope.add("Resource", group)? })
    }

    /// The group resource.
    pub fn resource(&self) -> &ResourceRef<ec2::SecurityGroup> {
        &self.resource
    }

    /// The group ID.
    pub fn group_id(&self) -> Value<String> {
        self.resource.attr_group_id()
    }

    /// Lets `source` reach this group on `port`: an ingress rule here and an egress rule on `source`,
    /// both naming the other group.
    ///
    /// Both rules go to the stack added later of the two groups' stacks, which is the one that depends
    /// on the other, so a rule between stacks never adds a dependency in the opposite direction.
    pub fn allow_from(
        &self,
        app: &mut App,
        source: &SecurityGroup,
        port: Port,
        why: &str,
    ) -> Result<(), ConstructError> {
        let target_stack = &self.resource.address().stack;
        let source_stack = &source.resource.address().stack;
        let position = |name: &str| app.stacks().position(|stack| stack.name() == name);
        let placement = match (position(target_stack), position(source_stack)) {
            (Some(target), Some(source)) if source > target => source_stack.clone(),
            (Some(_), Some(_)) => target_stack.clone(),
            _ => {
                return Err(ConstructError::DanglingReference {
                    from: format!("a connection to {}", self.resource.path()),
                    target: format!("stack {target_stack} or {source_stack}"),
                })
            }
        };
        let stack = app.stack_mut(&placement).expect("the placement is one of the two stacks");
        let mut root = stack.root();
        let id = format!(
            "{}From{}Port{}",
            pascal_case(self.resource.logical_id()),
            pascal_case(source.resource.logical_id()),
            port.to_string().replace('-', "To")
        );
        let mut rules = root.child(&id)?;
        rules.add(
            "Ingress",
            ec2::SecurityGroupIngress::new("tcp")
                .group_id(self.group_id())
                .source_security_group_id(source.group_id())
                .from_port(i64::from(port.from))
                .to_port(i64::from(port.to))
                .description(why),
        )?;
        rules.add(
            "Egress",
            ec2::SecurityGroupEgress::new(source.group_id(), "tcp")
                .destination_security_group_id(self.group_id())
                .from_port(i64::from(port.from))
                .to_port(i64::from(port.to))
                .description(why),
        )?;
        Ok(())
    }

    /// Lets the addresses of a managed prefix list reach this group on `port`, with an ingress rule in
    /// this group's stack.
    pub fn allow_from_prefix_list(
        &self,
        scope: &mut Scope<'_>,
        id: &str,
        prefix_list_id: Value<String>,
        port: Port,
        why: &str,
    ) -> Result<(), ConstructError> {
        scope.add(
            id,
            ec2::SecurityGroupIngress::new("tcp")
                .group_id(self.group_id())
                .source_prefix_list_id(prefix_list_id)
                .from_port(i64::from(port.from))
                .to_port(i64::from(port.to))
                .description(why),
        )?;
        Ok(())
    }

    /// Lets this group send traffic to the addresses of a managed prefix list on `port` (outbound
    /// only), with the egress rule under `id` in `scope`: how a task reaches an S3 gateway endpoint,
    /// whose addresses AWS publishes as the region's `com.amazonaws.<region>.s3` prefix list.
    pub fn allow_egress_to_prefix_list(
        &self,
        scope: &mut Scope<'_>,
        id: &str,
        prefix_list_id: Value<String>,
        port: Port,
        why: &str,
    ) -> Result<(), ConstructError> {
        self.add_egress(scope, id, port, why, |rule| rule.destination_prefix_list_id(prefix_list_id))
    }

    /// Lets this group send traffic anywhere on `port` (outbound only), for calls to the internet.
    pub fn allow_egress_anywhere(
        &self,
        scope: &mut Scope<'_>,
        id: &str,
        port: Port,
        why: &str,
    ) -> Result<(), ConstructError> {
        self.add_egress(scope, id, port, why, |rule| rule.cidr_ip("0.0.0.0/0"))
    }

    /// Adds a TCP egress rule of this group on `port` under `id`, to the destination `to` sets.
    fn add_egress(
        &self,
        scope: &mut Scope<'_>,
        id: &str,
        port: Port,
        why: &str,
        to: impl FnOnce(ec2::SecurityGroupEgress) -> ec2::SecurityGroupEgress,
    ) -> Result<(), ConstructError> {
        let rule = ec2::SecurityGroupEgress::new(self.group_id(), "tcp")
            .from_port(i64::from(port.from))
            .to_port(i64::from(port.to))
            .description(why);
        scope.add(id, to(rule))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn group_in(app: &mut App, stack: &str, id: &str) -> SecurityGroup {
        let stack = app.stack_mut(stack).unwrap();
        SecurityGroup::new(&mut stack.root(), id, id, Value::from("vpc-1")).unwrap()
    }

    #[test]
    fn a_group_starts_with_no_egress_and_a_description() {
        let mut app = App::new("t");
        app.add_stack("Net", "us-east-1").unwrap();
        let group = group_in(&mut app, "Net", "Web");
        let properties =
            app.stack("Net").unwrap().template().resources[group.resource().logical_id()].properties().clone();
        assert_eq!(properties["GroupDescription"], json!("Web"));
        assert_eq!(properties["SecurityGroupEgress"][0]["CidrIp"], json!("255.255.255.255/32"));
        assert!(properties.get("SecurityGroupIngress").is_none());
    }

    #[test]
    fn a_connection_adds_paired_rules_between_groups() {
        let mut app = App::new("t");
        app.add_stack("Net", "us-east-1").unwrap();
        let service = group_in(&mut app, "Net", "Service");
        let database = group_in(&mut app, "Net", "Database");
        database.allow_from(&mut app, &service, Port::tcp(5432), "services query PostgreSQL").unwrap();
        let synth = app.synth().unwrap();
        let resources = &synth.stacks[0].template["Resources"];
        let ingress = &resources["DatabaseFromServicePort5432Ingress"]["Properties"];
        assert_eq!(ingress["SourceSecurityGroupId"], json!({"Fn::GetAtt": ["Service", "GroupId"]}));
        assert_eq!(ingress["FromPort"], json!(5432));
        assert_eq!(ingress["Description"], json!("services query PostgreSQL"));
        assert!(ingress.get("CidrIp").is_none(), "never CIDR-wide");
        let egress = &resources["DatabaseFromServicePort5432Egress"]["Properties"];
        assert_eq!(egress["GroupId"], json!({"Fn::GetAtt": ["Service", "GroupId"]}));
        assert_eq!(egress["DestinationSecurityGroupId"], json!({"Fn::GetAtt": ["Database", "GroupId"]}));
    }

    #[test]
    fn rules_between_stacks_go_to_the_later_stack_so_no_cycle_arises() {
        let mut app = App::new("t");
        app.add_stack("Net", "us-east-1").unwrap();
        app.add_stack("Data", "us-east-1").unwrap();
        let service = group_in(&mut app, "Net", "Service");
        let database = group_in(&mut app, "Data", "Database");
        let cache = group_in(&mut app, "Data", "Cache");
        database.allow_from(&mut app, &service, Port::tcp(5432), "queries").unwrap();
        // The reverse direction too: the rules still land in Data, so Net never imports from Data.
        service.allow_from(&mut app, &cache, Port::tcp_range(8000, 8080), "callbacks").unwrap();
        let synth = app.synth().unwrap();
        assert_eq!(synth.deploy_order(), ["Net", "Data"]);
        let net = &synth.stacks[0].template["Resources"];
        assert_eq!(net.as_object().unwrap().len(), 1, "only the service group lives in Net");
        let data = &synth.stacks[1].template["Resources"];
        assert!(data.get("ServiceFromCachePort8000To8080Ingress").is_some());
        assert_eq!(
            data["DatabaseFromServicePort5432Ingress"]["Properties"]["SourceSecurityGroupId"],
            json!({"Fn::ImportValue": "Net:GetAttServiceGroupId"})
        );
    }
}
