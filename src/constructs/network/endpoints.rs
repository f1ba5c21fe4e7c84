//! VPC endpoints, so that tasks in private subnets reach AWS APIs without the internet.
//!
//! ## Secure defaults
//! - Interface endpoints sit in the private-app subnets with private DNS on, so SDKs use them unchanged.
//! - Each interface endpoint has its own security group with no ingress until a connection allows it
//!   (HTTPS from the groups that call the service).
//! - The S3 gateway endpoint serves the private-app and isolated route tables (container image layers
//!   come from S3).

use super::cidr_plan::SubnetTier;
use super::security_group::{Port, SecurityGroup};
use super::vpc::Vpc;
use crate::cfn::ec2;
use crate::cfn::ec2::vpc_endpoint::VpcEndpointVpcEndpointType;
use crate::construct::{ConstructError, ResourceRef, Scope};
use crate::template::{Tag, Value};

/// The S3 gateway endpoint of a VPC.
#[derive(Debug, Clone)]
pub struct GatewayEndpoint {
    resource: ResourceRef<ec2::VpcEndpoint>,
}

impl GatewayEndpoint {
    /// Adds the S3 gateway endpoint under `id`, routed from the private-app and isolated subnets.
    pub fn s3(scope: &mut Scope, id: &str, vpc: &Vpc) -> Result<Self, ConstructError> {
        let route_tables: Vec<Value<String>> = [SubnetTier::PrivateApp, SubnetTier::Isolated]
            .into_iter()
            .flat_map(|tier| {
                vpc.subnets(tier)
                    .filter_map(|subnet| subnet.route_table_id.as_ref().map(|table| table.value()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let endpoint = ec2::VpcEndpoint::new(vpc.vpc_id())
            .service_name(Value::sub("com.amazonaws.${AWS::Region}.s3"))
            .vpc_endpoint_type(VpcEndpointVpcEndpointType::Gateway)
            .route_table_ids(route_tables);
        Ok(Self { resource: scope.add(id, endpoint)? })
    }

    /// The endpoint resource.
    pub fn resource(&self) -> &ResourceRef<ec2::VpcEndpoint> {
        &self.resource
    }
}

/// An interface endpoint with its own security group.
#[derive(Debug, Clone)]
pub struct InterfaceEndpoint {
    resource: ResourceRef<ec2::VpcEndpoint>,
    security_group: SecurityGroup,
}

impl InterfaceEndpoint {
    /// Adds an endpoint for `service` (the part after `com.amazonaws.<region>.`, such as `ecr.api`)
    /// under `id`, in the VPC's private-app subnets.
    pub fn new(scope: &mut Scope, id: &str, vpc: &Vpc, service: &str) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let security_group = SecurityGroup::new(
            &mut scope,
            "SecurityGroup",
            vpc,
            &format!("Interface endpoint for {service}: HTTPS from the groups that call it"),
        )?;
        let name = scope.path().to_string();
        let endpoint = ec2::VpcEndpoint::new(vpc.vpc_id())
            .service_name(Value::sub(format!("com.amazonaws.${{AWS::Region}}.{service}")))
            .vpc_endpoint_type(VpcEndpointVpcEndpointType::Interface)
            .private_dns_enabled(true)
            .subnet_ids(vpc.select_subnets(SubnetTier::PrivateApp))
            .security_group_ids(vec![security_group.group_id()])
            .tags(vec![Tag::name(name)]);
        Ok(Self { resource: scope.add("Resource", endpoint)?, security_group })
    }

    /// Lets `caller` reach the endpoint over HTTPS.
    pub fn allow_from(&self, caller: &SecurityGroup, why: &str) -> Result<(), ConstructError> {
        self.security_group.allow_from(caller, Port::tcp(443), why)
    }

    /// The endpoint resource.
    pub fn resource(&self) -> &ResourceRef<ec2::VpcEndpoint> {
        &self.resource
    }

    /// The endpoint's security group.
    pub fn security_group(&self) -> &SecurityGroup {
        &self.security_group
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::App;
    use crate::constructs::network::VpcProps;

    #[test]
    fn endpoints_serve_private_subnets_through_their_own_groups() {
        let mut app = App::new("t");
        let stack = app.add_stack("Net", "us-east-1").unwrap();
        let vpc = Vpc::new(&mut stack.root(), "Vpc", VpcProps::default()).unwrap();
        let gateway = GatewayEndpoint::s3(&mut stack.root(), "S3Endpoint", &vpc).unwrap();
        let ecr = InterfaceEndpoint::new(&mut stack.root(), "EcrApiEndpoint", &vpc, "ecr.api").unwrap();
        let caller = SecurityGroup::new(&mut stack.root(), "Tasks", &vpc, "tasks").unwrap();
        ecr.allow_from(&caller, "tasks pull images").unwrap();

        let synth = app.synth().unwrap();
        let resources = &synth.stacks[0].template["Resources"];
        let s3 = &resources[gateway.resource().logical_id()]["Properties"];
        assert_eq!(s3["VpcEndpointType"], json!("Gateway"));
        assert_eq!(s3["RouteTableIds"].as_array().unwrap().len(), 6, "private-app and isolated route tables");
        let interface = &resources["EcrApiEndpoint"]["Properties"];
        assert_eq!(interface["ServiceName"], json!({"Fn::Sub": "com.amazonaws.${AWS::Region}.ecr.api"}));
        assert_eq!(interface["PrivateDnsEnabled"], json!(true));
        assert_eq!(interface["SubnetIds"].as_array().unwrap().len(), 3);
        assert_eq!(interface["SecurityGroupIds"], json!([{"Fn::GetAtt": ["EcrApiEndpointSecurityGroup", "GroupId"]}]));
        let rule = &resources["EcrApiEndpointSecurityGroupFromTasksPort443Ingress"]["Properties"];
        assert_eq!(rule["FromPort"], json!(443));
    }
}
