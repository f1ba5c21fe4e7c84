//! Connections: who may reach whom through security groups, as the CDK's `connections`.
//!
//! A construct with security groups ([`Connectable`]) hands out its [`Connections`]; a data store's
//! carry its default port, so that wiring reads as intent:
//! `database.connections().allow_default_port_from(&service)`. Each connection adds an ingress rule on
//! the target's groups and the matching egress rule on the source's, placed by
//! [`SecurityGroup::allow_from`] so that no dependency cycle arises between stacks.

use super::security_group::{Port, SecurityGroup};
use crate::construct::ConstructError;

/// Something with security groups that traffic can be allowed to and from.
pub trait Connectable {
    /// Its connections: its groups, its default port and what to call it in rule descriptions.
    fn connections(&self) -> Connections;
}

/// The security groups of a construct, with the port it serves on by default.
#[derive(Debug, Clone)]
pub struct Connections {
    groups: Vec<SecurityGroup>,
    default_port: Option<Port>,
    label: String,
}

impl Connections {
    /// The connections of `groups`, known in rule descriptions as `label`, serving on `default_port`.
    pub fn new(groups: Vec<SecurityGroup>, default_port: Option<Port>, label: impl Into<String>) -> Self {
        Self { groups, default_port, label: label.into() }
    }

    /// The security groups.
    pub fn security_groups(&self) -> &[SecurityGroup] {
        &self.groups
    }

    /// The port the construct serves on, if it has one (5432 for PostgreSQL, say).
    pub fn default_port(&self) -> Option<Port> {
        self.default_port
    }

    /// Lets `other` reach this construct on `port`, for the reason `why` (the rules' description).
    pub fn allow_from(&self, other: &impl Connectable, port: Port, why: &str) -> Result<(), ConstructError> {
        let other = other.connections();
        for target in &self.groups {
            for source in &other.groups {
                target.allow_from(source, port, why)?;
            }
        }
        Ok(())
    }

    /// Lets `other` reach this construct on its default port, described as such.
    pub fn allow_default_port_from(&self, other: &impl Connectable) -> Result<(), ConstructError> {
        let port = self.default_port.ok_or_else(|| ConstructError::InvalidProps {
            path: self.label.clone(),
            message: "has no default port; use allow_from with a port".into(),
        })?;
        let why = format!("{} to {} on {port}", other.connections().label, self.label);
        self.allow_from(other, port, &why)
    }

    /// Lets this construct reach `other` on `other`'s default port.
    pub fn allow_to_default_port(&self, other: &impl Connectable) -> Result<(), ConstructError> {
        other.connections().allow_default_port_from(self)
    }
}

impl Connectable for Connections {
    fn connections(&self) -> Connections {
        self.clone()
    }
}

impl Connectable for SecurityGroup {
    fn connections(&self) -> Connections {
        let label = match self.resource() {
            Some(resource) => resource.path().construct(),
            None => format!("{:?}", self.group_id().value()),
        };
        Connections::new(vec![self.clone()], None, label)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::App;
    use crate::constructs::network::{Vpc, VpcProps};

    #[test]
    fn a_default_port_connection_pairs_rules_with_a_description() {
        let mut app = App::new("t");
        let stack = app.add_stack("Net", "us-east-1").unwrap();
        let vpc = Vpc::new(&mut stack.root(), "Vpc", VpcProps { flow_logs: None, ..VpcProps::default() }).unwrap();
        let tasks = SecurityGroup::new(&mut stack.root(), "Tasks", &vpc, "tasks").unwrap();
        let database = SecurityGroup::new(&mut stack.root(), "Database", &vpc, "database").unwrap();
        let store = Connections::new(vec![database], Some(Port::tcp(5432)), "Net/Database");
        store.allow_default_port_from(&tasks).unwrap();
        assert!(tasks.connections().allow_default_port_from(&store).is_err(), "a plain group has no default port");
        let synth = app.synth().unwrap();
        let rule = &synth.stacks[0].template["Resources"]["DatabaseFromTasksPort5432Ingress"]["Properties"];
        assert_eq!(rule["Description"], json!("Net/Tasks to Net/Database on 5432"));
    }
}
