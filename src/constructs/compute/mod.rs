//! Compute constructs: the ECS cluster, Fargate task definitions and services, load balancers, autoscaling
//! and CodeDeploy blue/green deployments.

mod blue_green;
mod cluster;
mod image;
mod load_balancer;
mod scaling;
mod service;
mod size;
mod task;

pub use blue_green::{BlueGreenDeployment, BlueGreenProps, DeploymentApplication};
pub use cluster::Cluster;
pub use image::{ContainerImage, PullThroughCache, Repository, ECR_PUBLIC_CACHE_PREFIX, ECR_PUBLIC_REGISTRY};
pub use load_balancer::{
    ApplicationLoadBalancer, Exposure, LoadBalancerProps, RequiredHeader, TargetGroup, TargetGroupProps,
    TEST_LISTENER_PORT, TLS_POLICY,
};
pub use scaling::{idle_alarm, ServiceScaling, Step, CPU_TARGET_PERCENT, SCALE_IN_AFTER_SECONDS};
pub use service::{Capacity, Deployment, FargateService, ServiceProps};
pub use size::{FargateSize, InvalidFargateSize};
pub use task::{ContainerSecret, FargateTaskDefinition, TaskProps};
