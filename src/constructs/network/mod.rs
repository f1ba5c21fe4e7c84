//! Network constructs: the VPC, its subnet plan and its flow logs.

mod cidr_plan;
mod flow_logs;
mod vpc;

pub use cidr_plan::{CidrPlanError, SubnetPlan, SubnetTier, TierRequest, MAX_SUBNET_PREFIX, MIN_SUBNET_PREFIX};
pub use flow_logs::{FlowLogTrafficType, FlowLogs, FlowLogsProps};
pub use vpc::{NatGatewayPlacement, NetworkError, Subnet, Vpc, VpcProps};
