//! CS051: when the app serves from more than one region, every data store a region's tasks use has a
//! counterpart in each other serving region, and that counterpart carries the data across.
//!
//! Only the tasks services run count: a one-off task (creating database users, say) serves nothing.
//! A store's counterpart is the store the other region's tasks reach through the same environment
//! variable or injected secret (`DATABASE_HOST`, `DOCUMENTS_BUCKET` ...). Then, by kind:
//! - a PostgreSQL instance of its own needs a counterpart that is a read replica of it;
//! - a bucket needs to replicate to its counterpart (or be its counterpart's replica);
//! - a queue, a cache or a secret needs a counterpart of its own, or (a secret) its replica there: what
//!   is not replicated is rebuilt there, and a counterpart in the first region would fail with it.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::{finding, items, Model, Res};
use crate::checks::Finding;
use crate::template::Field;

/// The resource types that hold data a failover must find in the other region.
const STORE_TYPES: &[&str] = &[
    "AWS::RDS::DBInstance",
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::SecretsManager::Secret",
];

/// The stores a region's tasks reach, by the variable that names them.
type Stores = BTreeMap<String, Res>;

/// CS051, over every pair of serving regions.
pub(super) fn check(model: &Model, findings: &mut Vec<Finding>) {
    // Secrets by their fixed name, looked up once: a task may name one instead of referring to it.
    let mut named: BTreeMap<String, Vec<Res>> = BTreeMap::new();
    for secret in model.of_type("AWS::SecretsManager::Secret") {
        if let Some(name) = model.props(&secret).field("Name").as_str() {
            named.entry(name.to_owned()).or_default().push(secret);
        }
    }
    let mut regions: BTreeMap<String, Stores> = BTreeMap::new();
    // The tasks the services run: a one-off task (a migration, say) has no counterpart to keep.
    for service in model.of_type("AWS::ECS::Service") {
        let Some(task) = model.resource_of(service.stack, model.props(&service).field("TaskDefinition")) else {
            continue;
        };
        let region = model.stacks()[service.stack].region.clone();
        let stores = regions.entry(region).or_default();
        for container in items(model.props(&task).field("ContainerDefinitions")) {
            for (name, value, injected) in entries(container, "Environment", "Value", false).chain(entries(
                container,
                "Secrets",
                "ValueFrom",
                true,
            )) {
                let Some(name) = name.as_str() else { continue };
                let mut store = model.resource_of(task.stack, value);
                if store.is_none() && injected {
                    store = secret_named(model, &named, task.stack, value);
                }
                let Some(store) = store else { continue };
                if STORE_TYPES.contains(&model.type_of(&store)) {
                    stores.entry(name.to_owned()).or_insert(store);
                }
            }
        }
    }
    let serving: Vec<(&String, &Stores)> = regions.iter().filter(|(_, stores)| !stores.is_empty()).collect();
    if serving.len() < 2 {
        return;
    }
    for (region, stores) in &serving {
        for (other, counterparts) in serving.iter().filter(|(other, _)| other != region) {
            for (variable, store) in *stores {
                let problem = match counterparts.get(variable) {
                    None => Some(format!("the tasks of {other} have no {variable}")),
                    Some(counterpart) => counterpart_problem(model, store, counterpart, other),
                };
                if let Some(problem) = problem {
                    let path = format!("{} ({region}) ← {variable} → {other}", model.name(store));
                    findings.push(finding(
                        model,
                        "CS051",
                        store,
                        path,
                        format!("{problem}: a failover to {other} would not find this store's data"),
                    ));
                }
            }
        }
    }
}

/// The secret a task names by its name (`ValueFrom: app/cache/auth-token`), which ECS reads in the
/// task's region: one created there with that `Name`, or one of another region replicated there.
fn secret_named(model: &Model, named: &BTreeMap<String, Vec<Res>>, stack: usize, value: &Json) -> Option<Res> {
    let region = &model.stacks()[stack].region;
    let secrets = named.get(value.as_str()?)?;
    let usable =
        |secret: &&Res| &model.stacks()[secret.stack].region == region || replicated_to(model.props(secret), region);
    secrets.iter().find(usable).cloned()
}

/// Whether a secret's properties replicate it to `region`.
fn replicated_to(props: &Json, region: &str) -> bool {
    props.field("ReplicaRegions").as_array().into_iter().flatten().any(|replica| replica.field("Region") == region)
}

/// What is wrong with `counterpart` (used in `other`) as the counterpart of `store`, if anything.
fn counterpart_problem(model: &Model, store: &Res, counterpart: &Res, other: &str) -> Option<String> {
    let counterpart_region = &model.stacks()[counterpart.stack].region;
    // A secret replicated to the other region is its own counterpart there.
    if counterpart == store && replicated_to(model.props(store), other) {
        return None;
    }
    if counterpart_region != other {
        return Some(format!("{other}'s tasks use {} of {counterpart_region}", model.name(counterpart)));
    }
    match model.type_of(store) {
        "AWS::RDS::DBInstance" => {
            let source = model.props(store).field("SourceDBInstanceIdentifier");
            if !source.is_null() {
                return None; // A replica: its source is checked from the other side.
            }
            let replicates =
                model.resource_of(counterpart.stack, model.props(counterpart).field("SourceDBInstanceIdentifier"));
            match replicates.as_ref() == Some(store) {
                true => None,
                false => Some(format!("{} is not a read replica of it", model.name(counterpart))),
            }
        }
        "AWS::S3::Bucket" => match replicates_to(model, store, counterpart) || replicates_to(model, counterpart, store)
        {
            true => None,
            false => Some(format!("it does not replicate to {}", model.name(counterpart))),
        },
        _ => None,
    }
}

/// Whether `bucket` has a replication rule whose destination is `destination`.
fn replicates_to(model: &Model, bucket: &Res, destination: &Res) -> bool {
    let rules = model.props(bucket).field("ReplicationConfiguration").field("Rules");
    rules.as_array().into_iter().flatten().any(|rule: &Json| {
        rule.field("Status") == "Enabled"
            && model.resource_of(bucket.stack, rule.field("Destination").field("Bucket")).as_ref() == Some(destination)
    })
}

/// A container's `list` (`Environment`, `Secrets`) as (name, `value` member, `injected`).
fn entries<'j>(
    container: &'j Json,
    list: &str,
    value: &'static str,
    injected: bool,
) -> impl Iterator<Item = (&'j Json, &'j Json, bool)> + 'j {
    items(container.field(list)).iter().map(move |entry| (entry.field("Name"), entry.field(value), injected))
}
