//! Network constructs: the VPC, its subnet plan, flow logs, VPC endpoints and security groups.

mod cidr_plan;
mod connections;
mod endpoints;
mod flow_logs;
mod security_group;
mod vpc;

pub use cidr_plan::{CidrPlanError, SubnetPlan, SubnetTier, TierRequest, MAX_SUBNET_PREFIX, MIN_SUBNET_PREFIX};
pub use connections::{Connectable, Connections};
pub use endpoints::{GatewayEndpoint, InterfaceEndpoint};
pub use flow_logs::{FlowLogTrafficType, FlowLogs, FlowLogsProps};
pub use security_group::{Port, SecurityGroup};
pub use vpc::{
    NatGatewayPlacement, NetworkError, Subnet, SubnetAttributes, SubnetSelection, Vpc, VpcAttributes, VpcProps,
};
