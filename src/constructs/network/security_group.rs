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
//! use cfn_synth::constructs::network::{Port, SecurityGroup, Vpc, VpcProps};
//! let mut app = App::new("demo");
//! let stack = app.add_stack("Demo", "us-east-1").unwrap();
//! let vpc = Vpc::new(&mut stack.root(), "Vpc", VpcProps::default()).unwrap();
//! let service = SecurityGroup::new(&mut stack.root(), "Service", &vpc, "Service tasks").unwrap();
//! let database = SecurityGroup::new(&mut stack.root(), "Database", &vpc, "PostgreSQL").unwrap();
//! database.allow_from(&service, Port::tcp(5432), "services query PostgreSQL").unwrap();
//! ```

use std::fmt;

use crate::cfn::ec2;
use crate::cfn::prelude::*;
use crate::construct::{pascal_case, ConstructError, ResourceRef, Scope, Stack};
use crate::constructs::iam::grant_label;
use crate::constructs::ids::Id;
use crate::constructs::network::Vpc;
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

/// A VPC security group of the app, or an existing one imported by ID.
#[derive(Debug, Clone)]
pub struct SecurityGroup {
    id: Id<ec2::SecurityGroup>,
    resource: Option<ResourceRef<ec2::SecurityGroup>>,
}

impl SecurityGroup {
    /// Adds a group in `vpc` under `id`; `description` says what it protects.
    pub fn new(scope: &mut Scope, id: &str, vpc: &Vpc, description: &str) -> Result<Self, ConstructError> {
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
            .vpc_id(vpc.vpc_id())
            .security_group_egress(vec![no_egress])
            .tags(vec![Tag::name(name)]);
        let resource = scope.add("Resource", group)?;
        Ok(Self { id: Id::new(resource.attr_group_id()), resource: Some(resource) })
    }

    /// An existing group, by ID: CDK's `SecurityGroup.fromSecurityGroupId`. Rules that connect it to a
    /// group of the app go to that group's stack.
    pub fn from_id(id: Id<ec2::SecurityGroup>) -> Self {
        Self { id, resource: None }
    }

    /// The group resource, unless the group is imported.
    pub fn resource(&self) -> Option<&ResourceRef<ec2::SecurityGroup>> {
        self.resource.as_ref()
    }

    /// The group ID.
    pub fn group_id(&self) -> Id<ec2::SecurityGroup> {
        self.id.clone()
    }

    /// The stack of a group of the app.
    fn stack(&self) -> Option<&Stack> {
        self.resource.as_ref().map(ResourceRef::stack)
    }

    /// What rule IDs call the group: its logical ID, or the letters and digits of an imported ID.
    fn label(&self) -> String {
        pascal_case(&grant_label(self.resource.as_ref(), &self.id))
    }

    /// Lets `source` reach this group on `port`: an ingress rule here and an egress rule on `source`,
    /// both naming the other group.
    ///
    /// Both rules go to the stack added later of the two groups' stacks, which is the one that depends
    /// on the other, so a rule between stacks never adds a dependency in the opposite direction. An
    /// imported group has no stack: the rules go to the other group's.
    pub fn allow_from(&self, source: &SecurityGroup, port: Port, why: &str) -> Result<(), ConstructError> {
        let stack = match (self.stack(), source.stack()) {
            (Some(target), Some(source)) if source.position() > target.position() => source,
            (Some(target), _) => target,
            (None, Some(source)) => source,
            (None, None) => {
                return Err(ConstructError::ImportedResource {
                    resource: format!("the security group {:?}", self.id.value()),
                    change: format!("connect it to the imported group {:?}", source.id.value()),
                    remedy: "connect at least one group of the app".into(),
                })
            }
        };
        let mut root = stack.root();
        let id = format!("{}From{}Port{}", self.label(), source.label(), port.to_string().replace('-', "To"));
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
        scope: &mut Scope,
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
        scope: &mut Scope,
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
        scope: &mut Scope,
        id: &str,
        port: Port,
        why: &str,
    ) -> Result<(), ConstructError> {
        self.add_egress(scope, id, port, why, |rule| rule.cidr_ip("0.0.0.0/0"))
    }

    /// Adds a TCP egress rule of this group on `port` under `id`, to the destination `to` sets.
    fn add_egress(
        &self,
        scope: &mut Scope,
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
    use crate::construct::App;

    fn group_in(app: &mut App, stack: &str, id: &str) -> SecurityGroup {
        let stack = app.stack(stack).unwrap();
        SecurityGroup::new(&mut stack.root(), id, &imported_vpc(), id).unwrap()
    }

    fn imported_vpc() -> Vpc {
        Vpc::from_attributes(crate::constructs::network::VpcAttributes {
            vpc_id: Some(Id::new("vpc-1")),
            private_app_subnets: vec![crate::constructs::network::SubnetAttributes::id("subnet-1")],
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn an_imported_group_takes_rules_in_the_other_groups_stack() {
        let mut app = App::new("t");
        app.add_stack("Net", "us-east-1").unwrap();
        let service = group_in(&mut app, "Net", "Service");
        let existing = SecurityGroup::from_id(Id::new("sg-0abc"));
        existing.allow_from(&service, Port::tcp(5432), "queries").unwrap();
        let synth = app.synth().unwrap();
        let ingress = &synth.stacks[0].template["Resources"]["Importedsg0abcFromServicePort5432Ingress"]["Properties"];
        assert_eq!(ingress["GroupId"], json!("sg-0abc"));
        assert!(existing.allow_from(&SecurityGroup::from_id(Id::new("sg-1")), Port::tcp(1), "x").is_err());
    }

    #[test]
    fn a_group_starts_with_no_egress_and_a_description() {
        let mut app = App::new("t");
        app.add_stack("Net", "us-east-1").unwrap();
        let group = group_in(&mut app, "Net", "Web");
        let properties =
            app.stack("Net").unwrap().template().resources[group.resource().unwrap().logical_id()].properties().clone();
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
        database.allow_from(&service, Port::tcp(5432), "services query PostgreSQL").unwrap();
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
        database.allow_from(&service, Port::tcp(5432), "queries").unwrap();
        // The reverse direction too: the rules still land in Data, so Net never imports from Data.
        service.allow_from(&cache, Port::tcp_range(8000, 8080), "callbacks").unwrap();
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
