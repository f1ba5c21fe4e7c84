//! What a program that builds its own stacks usually needs, in one import:
//! `use cfn_synth::prelude::*;`.
//!
//! The app and its stacks, the constructs with their props, the traits through which constructs are
//! wired ([`Connectable`], [`Grantee`]) and the typed identifiers of imported resources.

/// The generated `Fn::GetAtt` accessors (`vpc.attr_default_security_group()`), as anonymous trait
/// imports. (Empty, and so unused, when no L1 service feature is on.)
#[allow(unused_imports)]
pub use crate::cfn::prelude::*;
pub use crate::construct::{App, ConstructError, Scope, Stack, SynthesizedApp};
pub use crate::template::Value;

#[cfg(feature = "constructs")]
pub use crate::constructs::{
    compute::{
        ApplicationLoadBalancer, Capacity, Cluster, ContainerImage, ContainerSecret, Deployment, Exposure,
        FargateService, FargateSize, FargateTaskDefinition, LoadBalancerProps, PullThroughCache, Repository,
        RequiredHeader, ServiceProps, ServiceScaling, TargetGroup, TargetGroupProps, TaskProps, CPU_TARGET_PERCENT,
    },
    data::{
        AccessLogBucketProps, AccessLogs, Bucket, BucketProps, PostgresDatabase, PostgresProps, Queue, QueueProps,
        RedisCluster, RedisProps, Secret, SecretProps,
    },
    iam::Grantee,
    ids::{Arn, Id, Name},
    kms::{EncryptionKey, KeyProps},
    logs::{LogGroup, LogGroupProps, RetentionDays},
    monitoring::{AlarmTopic, MetricAlarm, Subscriber},
    network::{
        Connectable, Port, SecurityGroup, SubnetAttributes, SubnetSelection, SubnetTier, Vpc, VpcAttributes, VpcProps,
    },
};
