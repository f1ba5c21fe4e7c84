//! Compute constructs: the ECS cluster, Fargate task definitions and services, load balancers, autoscaling,
//! ECS blue/green deployments with their lifecycle hooks, and ECR repositories.

mod cluster;
mod hook;
mod image;
mod load_balancer;
mod scaling;
mod service;
mod size;
mod task;

pub use cluster::Cluster;
pub use hook::{HookFunction, HookFunctionProps};
pub use image::{
    ContainerImage, PullThroughCache, Replication, Repository, RepositoryProps, ECR_PUBLIC_CACHE_PREFIX,
    ECR_PUBLIC_REGISTRY,
};
pub use load_balancer::{
    ApplicationLoadBalancer, Exposure, LoadBalancerProps, RequiredHeader, RuleListener, RuleMatch, TargetGroup,
    TargetGroupProps, TEST_LISTENER_PORT, TLS_POLICY,
};
pub use scaling::{idle_alarm, ServiceScaling, Step, CPU_TARGET_PERCENT, SCALE_IN_AFTER_SECONDS};
pub use service::{BlueGreen, BlueGreenRoles, Capacity, Deployment, FargateService, ServiceProps, TrafficShift};
pub use size::{FargateSize, InvalidFargateSize};
pub use task::{
    is_root, ContainerSecret, FargateTaskDefinition, InitContainer, InitUser, TaskProps, DEFAULT_CONTAINER_USER,
};
