//! The disaster-recovery runbook (`DR-RUNBOOK.md`, from `templates/DR-RUNBOOK.md.j2`) and the
//! manifest's `disasterRecovery` section: how the warm standby meets the configured recovery point
//! and recovery time, step by step with the exact AWS CLI commands, each step with a time budget.
//!
//! The recovery point is bounded per store: the database replica's lag (alarmed well under it), S3
//! Replication Time Control (15 minutes for 99.99% of objects, an SLA rather than a hard bound, with a
//! latency alarm on the tail); the work queue and the cache are not replicated, by design. The recovery
//! time is the sum of the step budgets, which must fit in the objective or the config is refused.

use super::applications::application_id;
use super::compute::Compute;
use super::names::{bucket_name, cache_auth_token_name, database_master_secret_name, failover_origin_name, stack_name};
use super::support::render_template;
use super::PlatformError;
use crate::assembly::{DisasterRecoverySection, RecoveryPointBound, RecoveryStep};
use crate::config::{ComputeConfig, PlatformConfig, RegionConfig, StandbyConfig};
use crate::construct::App;
use crate::constructs::data::{REPLICATION_RULE_ID, REPLICATION_TIME_MINUTES};

/// The runbook's source, embedded in the binary.
const RUNBOOK_TEMPLATE: &str = include_str!("../../templates/DR-RUNBOOK.md.j2");

/// The runbook's file in the output directory.
pub const RUNBOOK_FILE: &str = "DR-RUNBOOK.md";

/// One step of the runbook.
#[derive(Debug, Clone, serde::Serialize)]
struct Step {
    title: String,
    minutes: i64,
    why: String,
    commands: String,
}

/// What the runbook is written from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Standby<'a> {
    pub config: &'a PlatformConfig,
    pub primary: &'a RegionConfig,
    pub recovery: &'a RegionConfig,
    pub standby: &'a StandbyConfig,
    /// The key path of the recovery region in the config, for errors.
    pub key: &'a str,
    /// The primary's serving tier, and the standby's as built, when the platform serves requests.
    pub compute: Option<(&'a ComputeConfig, &'a Compute)>,
}

/// Writes the runbook beside the templates and the section into the manifest.
pub(super) fn build(app: &mut App, standby: &Standby<'_>) -> Result<(), PlatformError> {
    let Standby { config, primary, recovery, standby: settings, key, compute } = *standby;
    let names = Names::new(config, primary, recovery);
    let data = primary.data.as_ref().expect("a standby's primary has a data tier");
    let steps = steps(&names, settings, data.postgres.backup_retention_days, compute);
    let total: i64 = steps.iter().map(|step| step.minutes).sum();
    if total > settings.rto_minutes {
        return Err(PlatformError::Config {
            key: format!("{key}.standby.rtoMinutes"),
            message: format!(
                "the runbook's steps take {total} minutes, more than the {}-minute recovery time objective",
                settings.rto_minutes
            ),
        });
    }
    let bounds = rpo_bounds(&names, settings);
    let context = minijinja::context! {
        app => &config.app,
        primary => &primary.region,
        recovery => &recovery.region,
        rpo_minutes => settings.rpo_minutes,
        rto_minutes => settings.rto_minutes,
        total_minutes => total,
        rtc_minutes => REPLICATION_TIME_MINUTES,
        rpo_bounds => &bounds,
        steps => &steps,
        secret => database_master_secret_name(&config.app),
        global_datastore => settings.global_datastore,
        backup_retention_days => data.postgres.backup_retention_days,
        primary_data => &names.primary_data,
        primary_network => stack_name(config, primary, "Network"),
        primary_operations => stack_name(config, primary, "Operations"),
        recovery_data => &names.recovery_data,
        recovery_network => stack_name(config, recovery, "Network"),
        recovery_storage => stack_name(config, recovery, "Storage"),
    };
    let runbook = render_template("DR-RUNBOOK.md.j2", RUNBOOK_TEMPLATE, context)?;
    app.add_artifact(RUNBOOK_FILE, runbook)?;
    let section = DisasterRecoverySection {
        primary_region: primary.region.clone(),
        recovery_region: recovery.region.clone(),
        rpo_minutes: settings.rpo_minutes,
        rto_minutes: settings.rto_minutes,
        rpo_bounds: bounds,
        rto_steps: steps.iter().map(|step| RecoveryStep { step: step.title.clone(), minutes: step.minutes }).collect(),
        rto_budget_minutes: total,
        runbook: RUNBOOK_FILE.to_owned(),
    };
    app.set_manifest_section("disasterRecovery", serde_json::to_value(section).expect("sections serialize"))?;
    Ok(())
}

/// The stack names the runbook's commands look resources up in.
struct Names {
    app: String,
    primary: String,
    recovery: String,
    primary_data: String,
    primary_operations: String,
    recovery_data: String,
    recovery_operations: String,
    recovery_compute: String,
    recovery_ingress: String,
}

impl Names {
    fn new(config: &PlatformConfig, primary: &RegionConfig, recovery: &RegionConfig) -> Self {
        Self {
            app: config.app.clone(),
            primary: primary.region.clone(),
            recovery: recovery.region.clone(),
            primary_data: stack_name(config, primary, "Data"),
            primary_operations: stack_name(config, primary, "Operations"),
            recovery_data: stack_name(config, recovery, "Data"),
            recovery_operations: stack_name(config, recovery, "Operations"),
            recovery_compute: stack_name(config, recovery, "Compute"),
            recovery_ingress: stack_name(config, recovery, "Ingress"),
        }
    }

    /// A bucket's name in `region`, with the account from `$ACCOUNT`.
    fn bucket(&self, purpose: &str, region: &str) -> String {
        bucket_name(&self.app, purpose, region).replace("${AWS::AccountId}", "$ACCOUNT")
    }
}

/// What bounds each store's loss on failover.
fn rpo_bounds(names: &Names, settings: &StandbyConfig) -> Vec<RecoveryPointBound> {
    let primary_alarm = |id: &str| format!("{}/{id}", names.primary_operations);
    vec![
        RecoveryPointBound {
            store: "PostgreSQL".to_owned(),
            bound: format!(
                "a cross-region read replica in {}, seconds behind in normal operation; its ReplicaLag alarm fires \
                 at {} s, well under the recovery point",
                names.recovery, settings.replica_lag_alarm_seconds
            ),
            alarms: vec![format!("{}/DatabaseReplicaLagAlarm", names.recovery_operations)],
        },
        RecoveryPointBound {
            store: "S3 documents and audit logs".to_owned(),
            bound: format!(
                "S3 Replication Time Control to {}: 99.99% of objects within {REPLICATION_TIME_MINUTES} minutes, an \
                 SLA rather than a hard bound; the latency alarms show the tail",
                names.recovery
            ),
            alarms: vec![
                primary_alarm("DocumentsReplicationLatencyAlarm"),
                primary_alarm("AuditLogsReplicationLatencyAlarm"),
            ],
        },
        RecoveryPointBound {
            store: "SQS work queue".to_owned(),
            bound: "not replicated: messages in flight in the failed region are the accepted loss; the standby \
                    has its own queue"
                .to_owned(),
            alarms: vec![],
        },
        RecoveryPointBound {
            store: "Redis cache and rate limits".to_owned(),
            bound: match settings.global_datastore {
                true => "a Global Datastore: the standby's Redis is a read-only copy about a second behind, \
                         promoted with the database; nothing in it is a record"
                    .to_owned(),
                false => "not replicated: the standby's Redis starts cold and is rebuilt from use".to_owned(),
            },
            alarms: vec![],
        },
    ]
}

/// A `get-metric-statistics` call over the last 15 minutes, one datapoint a minute.
fn metric(region: &str, namespace: &str, metric: &str, dimensions: &str, statistic: &str) -> String {
    format!(
        "aws cloudwatch get-metric-statistics --region {region} --namespace {namespace} --metric-name {metric} \\\n  \
         --dimensions {dimensions} --statistics {statistic} --period 60 \\\n  \
         --start-time \"$(date -u -d '-15 min' +%FT%TZ)\" --end-time \"$(date -u +%FT%TZ)\""
    )
}

/// The runbook's steps, in order.
fn steps(
    names: &Names,
    settings: &StandbyConfig,
    backup_retention_days: i64,
    compute: Option<(&ComputeConfig, &Compute)>,
) -> Vec<Step> {
    let Names { primary, recovery, .. } = names;
    let mut replication = vec![
        format!("REPLICA=$(resource {recovery} {} Database)", names.recovery_data),
        metric(recovery, "AWS/RDS", "ReplicaLag", "Name=DBInstanceIdentifier,Value=\"$REPLICA\"", "Maximum"),
        format!(
            "aws rds describe-db-instances --region {recovery} --db-instance-identifier \"$REPLICA\" \\\n  \
             --query 'DBInstances[0].[DBInstanceStatus,StatusInfos]'"
        ),
        format!("# S3 replication metrics are {primary}'s: skip them if {primary} does not answer."),
    ];
    for purpose in ["documents", "audit-logs"] {
        let dimensions = format!(
            "Name=SourceBucket,Value={} Name=DestinationBucket,Value={} Name=RuleId,Value={REPLICATION_RULE_ID}",
            names.bucket(purpose, primary),
            names.bucket(purpose, recovery)
        );
        for (name, statistic) in [("ReplicationLatency", "Maximum"), ("OperationsPendingReplication", "Maximum")] {
            replication.push(metric(primary, "AWS/S3", name, &dimensions, statistic));
        }
    }
    let mut steps = vec![
        Step {
            title: "Check replication health".to_owned(),
            minutes: 3,
            why: format!(
                "What the standby keeps is what had replicated. A replica lag under {} s and a replication latency \
                 under {REPLICATION_TIME_MINUTES} minutes mean the recovery point holds; note the last datapoints \
                 for the incident record.",
                settings.replica_lag_alarm_seconds
            ),
            commands: replication.join("\n"),
        },
        promote_step(names, settings, backup_retention_days),
        Step {
            title: "Point the services at the promoted database".to_owned(),
            minutes: 2,
            why: "Nothing changes: the standby's services already connect to this instance's endpoint, which \
                  promotion keeps, as the same user with IAM database authentication (the user and its grants \
                  were replicated). Check that the instance is no longer a replica and still takes IAM \
                  authentication."
                .to_owned(),
            commands: format!(
                "aws rds describe-db-instances --region {recovery} --db-instance-identifier \"$REPLICA\" \\\n  \
                 --query 'DBInstances[0].[ReadReplicaSourceDBInstanceIdentifier,IAMDatabaseAuthenticationEnabled,Endpoint.Address]'"
            ),
        },
    ];
    if let Some((primary_compute, standby_compute)) = compute {
        steps.push(scale_step(names, primary_compute, standby_compute));
        steps.push(confirm_step(names, primary_compute));
    }
    steps
}

/// Step 2: the database replica promoted, and with a Global Datastore the standby's cache too (both
/// promotions run at once, within the step's budget).
fn promote_step(names: &Names, settings: &StandbyConfig, backup_retention_days: i64) -> Step {
    let recovery = &names.recovery;
    let mut commands = vec![
        format!(
            "aws rds promote-read-replica --region {recovery} --db-instance-identifier \"$REPLICA\" \\\n  \
             --backup-retention-period {backup_retention_days}"
        ),
        format!(
            "until [ \"$(aws rds describe-db-instances --region {recovery} --db-instance-identifier \"$REPLICA\" \\\n  \
             --query 'DBInstances[0].ReadReplicaSourceDBInstanceIdentifier' --output text)\" = None ]; do sleep 15; done"
        ),
        format!("aws rds wait db-instance-available --region {recovery} --db-instance-identifier \"$REPLICA\""),
        format!(
            "aws secretsmanager stop-replication-to-replica --region {recovery} --secret-id {}",
            database_master_secret_name(&names.app)
        ),
    ];
    let mut why = format!(
        "Promotion makes the {recovery} replica a standalone, writable instance; it cannot be undone. The master \
         secret's replica in {recovery} becomes a secret of its own, so that it stays readable and can be rotated \
         there."
    );
    if settings.global_datastore {
        why.push_str(&format!(
            " The cache leaves the Global Datastore at the same time and becomes a writable group of {recovery} \
             (leaving works while the primary region is down, where a planned failover of the datastore needs it up). \
             Its AUTH token stays the replicated one, which becomes a secret of its own too."
        ));
        commands.extend([
            format!("CACHE=$(resource {recovery} {} Cache)", names.recovery_data),
            format!(
                "GLOBAL=$(aws elasticache describe-replication-groups --region {recovery} --replication-group-id \"$CACHE\" \\\n  \
                 --query 'ReplicationGroups[0].GlobalReplicationGroupInfo.GlobalReplicationGroupId' --output text)"
            ),
            format!(
                "aws elasticache disassociate-global-replication-group --region {recovery} \\\n  \
                 --global-replication-group-id \"$GLOBAL\" --replication-group-id \"$CACHE\" --replication-group-region {recovery}"
            ),
            format!(
                "aws secretsmanager stop-replication-to-replica --region {recovery} --secret-id {}",
                cache_auth_token_name(&names.app)
            ),
        ]);
    }
    Step { title: "Promote the database replica".to_owned(), minutes: 10, why, commands: commands.join("\n") }
}

/// Step 4: each standby service's scaling floor raised to the primary's, and its tasks with it.
fn scale_step(names: &Names, primary: &ComputeConfig, standby: &Compute) -> Step {
    let recovery = &names.recovery;
    let mut commands = vec![format!("CLUSTER=$(resource {recovery} {} Cluster)", names.recovery_compute)];
    let mut services = Vec::new();
    for service in &standby.services {
        let (desired, min, max) =
            match primary.services.iter().find(|application| application_id(application.name()) == service.id) {
                Some(application) => {
                    let sizing = application.sizing();
                    (sizing.desired, sizing.min, sizing.max)
                }
                None => (primary.kong.desired, primary.kong.min, primary.kong.max),
            };
        let resource = service.service.resource();
        let variable = format!("{}_SERVICE", service.id.to_uppercase());
        commands.push(format!(
            "{variable}=$(resource {recovery} {} {})",
            resource.stack().name(),
            resource.path().logical_id()
        ));
        commands.push(format!(
            "aws application-autoscaling register-scalable-target --region {recovery} --service-namespace ecs \\\n  \
             --scalable-dimension ecs:service:DesiredCount --resource-id \"service/$CLUSTER/${{{variable}##*/}}\" \\\n  \
             --min-capacity {min} --max-capacity {max}"
        ));
        commands.push(format!(
            "aws ecs update-service --region {recovery} --cluster \"$CLUSTER\" --service \"${variable}\" --desired-count {desired}"
        ));
        services.push(format!("\"${variable}\""));
    }
    commands.push(format!(
        "aws ecs wait services-stable --region {recovery} --cluster \"$CLUSTER\" --services {}",
        services.join(" ")
    ));
    Step {
        title: "Scale each service to full".to_owned(),
        minutes: 8,
        why: "The standby runs one task a service, and its autoscaling may not go below that floor. For each \
              service, raise the floor to the primary's minimum and the tasks to the primary's count: new \
              Fargate tasks start in two to three minutes and join their target groups once healthy."
            .to_owned(),
        commands: commands.join("\n"),
    }
}

/// Step 5: CloudFront's origin resolves to the standby's ALB, which takes the requests.
fn confirm_step(names: &Names, primary: &ComputeConfig) -> Step {
    let recovery = &names.recovery;
    let origin = failover_origin_name(&primary.domain.name);
    let zone = &primary.domain.hosted_zone_id;
    let commands = [
        format!("ALB=$(resource {recovery} {} PublicAlb)", names.recovery_ingress),
        format!(
            "STANDBY=$(aws elbv2 describe-load-balancers --region {recovery} --load-balancer-arns \"$ALB\" \\\n  \
             --query 'LoadBalancers[0].DNSName' --output text)"
        ),
        format!("dig +short {origin} | sort; dig +short \"$STANDBY\" | sort  # the same addresses once failed over"),
        "# Not failed over (the primary's Kong still passes while, say, its database is down)? Fail over by hand:"
            .to_owned(),
        format!(
            "CHECK=$(aws route53 list-resource-record-sets --hosted-zone-id {zone} \\\n  \
             --query \"ResourceRecordSets[?Name=='{origin}.' && Failover=='PRIMARY'].HealthCheckId\" --output text)"
        ),
        "aws route53 update-health-check --health-check-id \"$CHECK\" --inverted".to_owned(),
        metric(
            recovery,
            "AWS/ApplicationELB",
            "RequestCount",
            "Name=LoadBalancer,Value=\"${ALB#*:loadbalancer/}\"",
            "Sum",
        ),
    ];
    Step {
        title: format!("Confirm CloudFront serves from {recovery}"),
        minutes: 5,
        why: format!(
            "CloudFront connects to {origin}, a Route 53 failover pair: once the primary's health check fails, \
             the name resolves to the {recovery} ALB within its 60-second TTL. The standby ALB's request count \
             then rises. Inverting the primary's health check forces the failover; revert it \
             (`--no-inverted`) when failing back."
        ),
        commands: commands.join("\n"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value as Json;

    use super::*;
    use crate::platform::build;
    use crate::platform::test_support::default_config;

    fn synthesized(config: &PlatformConfig) -> (crate::construct::SynthesizedApp, String, DisasterRecoverySection) {
        let app = build(config).unwrap().synth().unwrap();
        let runbook = app.artifacts.iter().find(|(path, _)| path.as_str() == RUNBOOK_FILE).unwrap().1.clone();
        let section = serde_json::from_value(app.sections["disasterRecovery"].clone()).unwrap();
        (app, runbook, section)
    }

    fn resources<'a>(app: &'a crate::construct::SynthesizedApp, stack: &str) -> Option<(&'a str, &'a Json)> {
        let stack = app.stacks.iter().find(|candidate| candidate.name == stack)?;
        Some((stack.region.as_str(), &stack.template["Resources"]))
    }

    /// Every resource the runbook looks up (`resource <region> <stack> <logical id>`) is one the
    /// synthesized stacks hold, in that region; and every alarm the section names as a bound exists.
    #[test]
    fn the_runbook_and_the_section_name_only_what_the_templates_hold() {
        let (app, runbook, section) = synthesized(&default_config());
        let mut lookups = 0;
        for line in runbook.lines() {
            for part in line.split("$(resource ").skip(1) {
                let words: Vec<&str> = part.split([' ', ')']).take(3).collect();
                let [region, stack, logical_id] = words[..] else { panic!("{line}") };
                let (stack_region, resources) = resources(&app, stack).unwrap_or_else(|| panic!("{stack}"));
                assert_eq!(stack_region, region, "{line}");
                assert!(resources.get(logical_id).is_some(), "{stack} has no {logical_id}: {line}");
                lookups += 1;
            }
        }
        assert!(lookups >= 15, "{lookups}");
        let mut alarms = 0;
        for bound in &section.rpo_bounds {
            for alarm in &bound.alarms {
                let (stack, logical_id) = alarm.split_once('/').unwrap();
                let (_, resources) = resources(&app, stack).unwrap();
                assert_eq!(resources[logical_id]["Type"], "AWS::CloudWatch::Alarm", "{alarm}");
                alarms += 1;
            }
        }
        assert_eq!(alarms, 3, "the replica lag and both buckets' replication latency");
    }

    /// The runbook has a budgeted step for each thing a failover does, with the command that does it,
    /// and the budgets fit in the recovery time objective.
    #[test]
    fn the_steps_cover_the_failover_within_the_recovery_time() {
        let (_, runbook, section) = synthesized(&default_config());
        let total: i64 = section.rto_steps.iter().map(|step| step.minutes).sum();
        assert_eq!(section.rto_budget_minutes, total);
        assert!(total <= section.rto_minutes && section.rto_minutes == 30, "{total}");
        assert_eq!((section.rpo_minutes, section.runbook.as_str()), (15, RUNBOOK_FILE));
        for command in [
            "aws cloudwatch get-metric-statistics --region eu-west-1 --namespace AWS/RDS --metric-name ReplicaLag",
            "--metric-name ReplicationLatency",
            "aws rds promote-read-replica --region eu-west-1",
            "aws secretsmanager stop-replication-to-replica --region eu-west-1 --secret-id integration-platform/database/master",
            "aws route53 update-health-check",
        ] {
            assert!(runbook.contains(command), "{command}");
        }
        // One scaling floor and one desired count per service, at the primary's sizes.
        assert_eq!(runbook.matches("aws ecs update-service --region eu-west-1").count(), 4);
        assert_eq!(runbook.matches("application-autoscaling register-scalable-target").count(), 4);
        assert!(runbook.contains("--service \"$KONG_SERVICE\" --desired-count 2"));
        assert!(runbook.contains("--min-capacity 2 --max-capacity 6"), "Kong's primary floor and ceiling");
        for step in &section.rto_steps {
            assert!(runbook.contains(&format!("{} ({} min)", step.step, step.minutes)), "{}", step.step);
        }
    }

    /// A recovery time the steps cannot meet is refused, naming the key.
    #[test]
    fn a_recovery_time_the_runbook_cannot_meet_is_a_config_error() {
        let mut config = default_config();
        config.regions[1].standby.as_mut().unwrap().rto_minutes = 20;
        let err = build(&config).unwrap_err();
        assert_eq!(
            err.to_string(),
            "regions[1].standby.rtoMinutes: the runbook's steps take 28 minutes, more than the 20-minute recovery \
             time objective"
        );
    }
}
