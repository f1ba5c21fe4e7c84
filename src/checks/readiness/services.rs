//! The run-time paths of every ECS service: image, logs, secrets, what it was granted (CS001 to
//! CS004), the load balancer chain (CS005), and whether what it relies on deploys first (CS010).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::network::{groups_of, Egress, Network, Peer, Routing};
use super::{finding, items, mentions, text, Model, Res};
use crate::checks::Finding;
use crate::template::Field;

/// The network view of one service's tasks.
struct Tasks<'a> {
    model: &'a Model<'a>,
    network: &'a Network,
    routing: &'a Routing,
    service: Res,
    groups: Vec<Res>,
    vpc: Option<Res>,
    tables: Vec<Res>,
    internet: Egress,
}

impl Tasks<'_> {
    /// `<stack>/<service> → sg <group>`: the start of every path.
    fn path(&self) -> String {
        let groups: Vec<String> = self.groups.iter().map(|g| format!("sg {}", g.id)).collect();
        format!("{} → {}", self.model.name(&self.service), groups.join(", "))
    }

    /// Why the internet is out of reach, or `None` when it is in reach on 443.
    fn no_internet(&self) -> Option<String> {
        match &self.internet {
            Egress::None(why) => Some(why.clone()),
            Egress::Internet if !self.network.egress_anywhere(&self.groups, 443) => {
                Some("no HTTPS egress to 0.0.0.0/0".into())
            }
            Egress::Internet => None,
        }
    }

    /// The reachable interface endpoint of `service`, or why there is none.
    fn endpoint(&self, service: &str) -> Result<Res, String> {
        let vpc = self.vpc.as_ref().ok_or_else(|| "the tasks' VPC cannot be followed".to_owned())?;
        let endpoint =
            self.routing.interface_endpoint(vpc, service).ok_or_else(|| format!("no {service} endpoint in the VPC"))?;
        let endpoint_groups = groups_of(self.model, &endpoint, "SecurityGroupIds");
        let reachable = self
            .groups
            .iter()
            .any(|task| endpoint_groups.iter().any(|group| self.network.group_reaches_group(task, group, 443)));
        if reachable {
            Ok(endpoint)
        } else {
            Err(format!("{} admits no HTTPS from the task group, or the task group sends none to it", endpoint.id))
        }
    }

    /// Whether `services` (all of them) are reachable privately; else `Err` names the first gap. S3 is
    /// the gateway endpoint plus egress to its prefix list.
    fn private(&self, services: &[&str]) -> Result<Vec<Res>, String> {
        let mut used = Vec::new();
        for service in services {
            if *service == "s3" {
                let vpc = self.vpc.as_ref().ok_or_else(|| "the tasks' VPC cannot be followed".to_owned())?;
                let gateway = self
                    .routing
                    .s3_gateway(vpc, &self.tables)
                    .ok_or_else(|| "no S3 gateway endpoint on the task subnets' route tables".to_owned())?;
                if !self.network.egress_prefix_list(&self.groups, 443) {
                    return Err("no HTTPS egress to the S3 prefix list".into());
                }
                used.push(gateway);
            } else {
                used.push(self.endpoint(service)?);
            }
        }
        Ok(used)
    }

    /// Checks that `services` are reachable privately or through the internet; on success, checks
    /// that what it used deploys first.
    fn need(&self, findings: &mut Vec<Finding>, rule: &'static str, services: &[&str], what: &str) {
        match self.private(services) {
            Ok(used) => self.deployed_first(findings, &used, what),
            Err(private_gap) => {
                if let Some(internet_gap) = self.no_internet() {
                    findings.push(finding(
                        self.model,
                        rule,
                        &self.service,
                        format!("{} → {private_gap}; {internet_gap} → {what} unreachable", self.path()),
                        format!("{what} is unreachable from the tasks"),
                    ));
                }
            }
        }
    }

    /// CS010: endpoints of another stack must deploy before the service's stack.
    fn deployed_first(&self, findings: &mut Vec<Finding>, used: &[Res], what: &str) {
        for endpoint in used {
            if !self.model.deploys_before(endpoint.stack, self.service.stack) {
                findings.push(finding(
                    self.model,
                    "CS010",
                    &self.service,
                    format!("{} → {} (for {what})", self.model.name(&self.service), self.model.name(endpoint)),
                    format!(
                        "the tasks need {} of stack {} at run time, but no dependency deploys that stack first",
                        endpoint.id,
                        self.model.stacks()[endpoint.stack].name
                    ),
                ));
            }
        }
    }
}

/// CS001 to CS005 and the run-time part of CS010, for every ECS service.
pub(super) fn check(model: &Model, findings: &mut Vec<Finding>) {
    let network = Network::new(model);
    let routing = Routing::new(model);
    let balancers_of_target_group = balancers_by_target_group(model);
    let aliases = balancer_aliases(model);
    // Which standalone policies attach to each role, in one pass.
    let mut policies_of_role: BTreeMap<Res, Vec<Res>> = BTreeMap::new();
    for policy in model.of_type("AWS::IAM::Policy") {
        for role in model.references(policy.stack, model.props(&policy).field("Roles")) {
            policies_of_role.entry(role).or_default().push(policy.clone());
        }
    }
    for service in model.of_type("AWS::ECS::Service") {
        let props = model.props(&service);
        let vpc_config = props.field("NetworkConfiguration").field("AwsvpcConfiguration");
        let ids = |key: &str| -> Vec<Res> {
            vpc_config[key]
                .as_array()
                .map(|ids| ids.iter().filter_map(|id| model.resource_of(service.stack, id)).collect())
                .unwrap_or_default()
        };
        let (subnets, groups) = (ids("Subnets"), ids("SecurityGroups"));
        let Some(task) = model.resource_of(service.stack, props.field("TaskDefinition")) else {
            findings.push(finding(
                model,
                "CS099",
                &service,
                model.name(&service),
                "its task definition cannot be followed".into(),
            ));
            continue;
        };
        if subnets.is_empty() || groups.is_empty() {
            findings.push(finding(
                model,
                "CS099",
                &service,
                model.name(&service),
                "its subnets or security groups cannot be followed (not resources of the app)".into(),
            ));
            continue;
        }
        let public_ip = vpc_config.field("AssignPublicIp") == "ENABLED";
        let (vpc, tables, internet) = routing.subnet_paths(model, &subnets, public_ip);
        let tasks = Tasks {
            model,
            network: &network,
            routing: &routing,
            service: service.clone(),
            groups,
            vpc,
            tables,
            internet,
        };
        let containers = items(model.props(&task).field("ContainerDefinitions"));
        for container in containers {
            let image = container.field("Image");
            let image_text = text(model, task.stack, image).unwrap_or_else(|| image.to_string());
            if mentions(image, ".dkr.ecr.") {
                tasks.need(findings, "CS001", &["ecr.api", "ecr.dkr", "s3"], &format!("image {image_text} (ECR)"));
            } else {
                // Any other registry is on the internet.
                if let Some(gap) = tasks.no_internet() {
                    findings.push(finding(
                        model,
                        "CS001",
                        &service,
                        format!(
                            "{} → {gap} → image {image_text} (registry outside the account) unreachable",
                            tasks.path()
                        ),
                        format!("image {image_text} cannot be pulled: its registry is on the internet"),
                    ));
                }
            }
            if container.field("LogConfiguration").field("LogDriver") == "awslogs" {
                tasks.need(findings, "CS002", &["logs"], "CloudWatch Logs");
            }
            let secrets = container.field("Secrets").as_array().map_or(0, Vec::len);
            if secrets > 0 {
                let uses_ssm = mentions(container.field("Secrets"), ":ssm:");
                let service_name = if uses_ssm { "ssm" } else { "secretsmanager" };
                tasks.need(findings, "CS003", &[service_name], &format!("{secrets} injected secrets ({service_name})"));
            }
            check_data_stores(&tasks, container, task.stack, findings);
        }
        check_grants(&tasks, &task, &policies_of_role, findings);
        check_load_balancers(&tasks, containers, &balancers_of_target_group, findings);
        check_called_balancers(&tasks, containers, &aliases, findings);
    }
    check_open_ingress(model, &network, findings);
}

/// CS004 for the databases and caches a container's environment names.
fn check_data_stores(tasks: &Tasks<'_>, container: &Json, stack: usize, findings: &mut Vec<Finding>) {
    let model = tasks.model;
    for store in model.references(stack, container.field("Environment")) {
        let (port, key) = match model.type_of(&store) {
            "AWS::RDS::DBInstance" | "AWS::RDS::DBCluster" => {
                let engine = text(model, store.stack, model.props(&store).field("Engine")).unwrap_or_default();
                (if engine.contains("mysql") || engine.contains("maria") { 3306 } else { 5432 }, "VPCSecurityGroups")
            }
            "AWS::ElastiCache::ReplicationGroup" => (6379, "SecurityGroupIds"),
            "AWS::ElastiCache::CacheCluster" => (6379, "VpcSecurityGroupIds"),
            _ => continue,
        };
        let port =
            text(model, store.stack, model.props(&store).field("Port")).and_then(|p| p.parse().ok()).unwrap_or(port);
        let store_groups = groups_of(model, &store, key);
        let reachable = tasks
            .groups
            .iter()
            .any(|task| store_groups.iter().any(|group| tasks.network.group_reaches_group(task, group, port)));
        if !reachable {
            let names: Vec<&str> = store_groups.iter().map(|g| g.id.as_str()).collect();
            findings.push(finding(
                model,
                "CS004",
                &tasks.service,
                format!(
                    "{} → port {port} → sg {} → {} unreachable",
                    tasks.path(),
                    names.join(", "),
                    model.name(&store)
                ),
                format!("{} is named in the environment but its port {port} is closed to the tasks", store.id),
            ));
        }
    }
}

/// CS004 for the AWS APIs behind what the task role was granted.
fn check_grants(
    tasks: &Tasks<'_>,
    task: &Res,
    policies_of_role: &BTreeMap<Res, Vec<Res>>,
    findings: &mut Vec<Finding>,
) {
    let model = tasks.model;
    let Some(role) = model.resource_of(task.stack, model.props(task).field("TaskRoleArn")) else { return };
    let mut documents: Vec<(usize, &Json)> =
        items(model.props(&role).field("Policies")).iter().map(|p| (role.stack, p.field("PolicyDocument"))).collect();
    for policy in policies_of_role.get(&role).into_iter().flatten() {
        documents.push((policy.stack, model.props(policy).field("PolicyDocument")));
    }
    let mut needs: Vec<(&str, String)> = Vec::new();
    for (stack, document) in &documents {
        for granted in model.references(*stack, document) {
            let service = match model.type_of(&granted) {
                "AWS::SQS::Queue" => "sqs",
                "AWS::KMS::Key" => "kms",
                "AWS::S3::Bucket" => "s3",
                "AWS::SecretsManager::Secret" => "secretsmanager",
                _ => continue,
            };
            if !needs.iter().any(|(s, _)| *s == service) {
                needs.push((service, model.name(&granted)));
            }
        }
    }
    for (service, granted) in needs {
        tasks.need(findings, "CS004", &[service], &format!("{granted} (granted; {service} API)"));
    }
}

/// CS005: each load balancer reaches the tasks behind its target groups.
fn check_load_balancers(
    tasks: &Tasks<'_>,
    containers: &[Json],
    balancers_of_target_group: &BTreeMap<Res, Vec<Res>>,
    findings: &mut Vec<Finding>,
) {
    let model = tasks.model;
    let balancers = items(model.props(&tasks.service).field("LoadBalancers"));
    for entry in balancers {
        let Some(target_group) = model.resource_of(tasks.service.stack, entry.field("TargetGroupArn")) else {
            continue;
        };
        let port = text(model, tasks.service.stack, entry.field("ContainerPort"))
            .and_then(|p| p.parse::<i64>().ok())
            .or_else(|| containers.first().and_then(|c| c.field("PortMappings")[0].field("ContainerPort").as_i64()))
            .unwrap_or(-1);
        for balancer in balancers_of_target_group.get(&target_group).into_iter().flatten() {
            let balancer_groups = groups_of(model, balancer, "SecurityGroups");
            let reachable = balancer_groups
                .iter()
                .any(|lb| tasks.groups.iter().any(|task| tasks.network.group_reaches_group(lb, task, port)));
            if !reachable {
                findings.push(finding(
                    model,
                    "CS005",
                    &tasks.service,
                    format!(
                        "{} → {} → port {port} → {} unreachable",
                        model.name(balancer),
                        model.name(&target_group),
                        tasks.path()
                    ),
                    format!("{} cannot send to the tasks on port {port}", balancer.id),
                ));
            }
        }
    }
}

/// CS005, the task's own hop of the chain: every load balancer a container calls, named in its
/// environment by the name of a Route 53 alias to it (`https://internal.example.com:9443`), must
/// admit the task's group on that port (443 for `https://` without one).
fn check_called_balancers(
    tasks: &Tasks<'_>,
    containers: &[Json],
    aliases: &BTreeMap<String, Res>,
    findings: &mut Vec<Finding>,
) {
    let model = tasks.model;
    for container in containers {
        let environment = serde_json::to_string(container.field("Environment")).expect("JSON values serialize");
        for (host, port) in called_urls(&environment) {
            let Some(balancer) = aliases.get(&host) else { continue };
            let balancer_groups = groups_of(model, balancer, "SecurityGroups");
            let reachable = tasks
                .groups
                .iter()
                .any(|task| balancer_groups.iter().any(|group| tasks.network.group_reaches_group(task, group, port)));
            if !reachable {
                findings.push(finding(
                    model,
                    "CS005",
                    &tasks.service,
                    format!("{} → {host}:{port} → {} unreachable", tasks.path(), model.name(balancer)),
                    format!("the tasks call {} on port {port}, which its groups do not admit from them", balancer.id),
                ));
            }
        }
    }
}

/// The names of Route 53 aliases to load balancers, and the balancer each names.
fn balancer_aliases(model: &Model) -> BTreeMap<String, Res> {
    model
        .of_type("AWS::Route53::RecordSet")
        .into_iter()
        .filter_map(|record| {
            let props = model.props(&record);
            let name = text(model, record.stack, props.field("Name"))?;
            let balancer = model.resource_of(record.stack, props.field("AliasTarget").field("DNSName"))?;
            (model.type_of(&balancer) == "AWS::ElasticLoadBalancingV2::LoadBalancer")
                .then(|| (name.trim_end_matches('.').to_owned(), balancer))
        })
        .collect()
}

/// Every `https://<host>[:port]` and `http://<host>[:port]` in `text`, with the scheme's port when
/// none is given.
fn called_urls(text: &str) -> Vec<(String, i64)> {
    let mut urls = Vec::new();
    for (scheme, default) in [("https://", 443), ("http://", 80)] {
        for (at, _) in text.match_indices(scheme) {
            let rest = &text[at + scheme.len()..];
            let host: String =
                rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-').collect();
            let port = rest[host.len()..]
                .strip_prefix(':')
                .map(|after| after.chars().take_while(char::is_ascii_digit).collect::<String>())
                .and_then(|digits| digits.parse().ok())
                .unwrap_or(default);
            if !host.is_empty() && !urls.contains(&(host.clone(), port)) {
                urls.push((host, port));
            }
        }
    }
    urls
}

/// The load balancers whose listeners (default actions or rules) forward to each target group.
fn balancers_by_target_group(model: &Model) -> BTreeMap<Res, Vec<Res>> {
    let mut forwards: Vec<(Res, Res)> = Vec::new();
    for listener in model.of_type("AWS::ElasticLoadBalancingV2::Listener") {
        for group in model.references(listener.stack, model.props(&listener).field("DefaultActions")) {
            forwards.push((listener.clone(), group));
        }
    }
    for rule in model.of_type("AWS::ElasticLoadBalancingV2::ListenerRule") {
        let Some(listener) = model.resource_of(rule.stack, model.props(&rule).field("ListenerArn")) else { continue };
        for group in model.references(rule.stack, model.props(&rule).field("Actions")) {
            forwards.push((listener.clone(), group));
        }
    }
    let mut balancers: BTreeMap<Res, Vec<Res>> = BTreeMap::new();
    for (listener, group) in forwards {
        if let Some(balancer) = model.resource_of(listener.stack, model.props(&listener).field("LoadBalancerArn")) {
            let list = balancers.entry(group).or_default();
            if !list.contains(&balancer) {
                list.push(balancer);
            }
        }
    }
    balancers
}

/// CS005: listeners admitted by their balancer's group, and no open ingress but on an internet-facing
/// balancer.
fn check_open_ingress(model: &Model, network: &Network, findings: &mut Vec<Finding>) {
    let mut public_groups = Vec::new();
    for balancer in model.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer") {
        let internal = model.props(&balancer).field("Scheme") == "internal";
        if !internal {
            public_groups.extend(groups_of(model, &balancer, "SecurityGroups"));
        }
    }
    for listener in model.of_type("AWS::ElasticLoadBalancingV2::Listener") {
        let props = model.props(&listener);
        let Some(balancer) = model.resource_of(listener.stack, props.field("LoadBalancerArn")) else { continue };
        let Some(port) = text(model, listener.stack, props.field("Port")).and_then(|p| p.parse::<i64>().ok()) else {
            continue;
        };
        let groups = groups_of(model, &balancer, "SecurityGroups");
        if groups.is_empty() {
            continue;
        }
        let admitted = groups
            .iter()
            .any(|g| network.ingress(g).iter().any(|rule| rule.admits_tcp(port) && rule.peer != Peer::Unknown));
        if !admitted {
            findings.push(finding(
                model,
                "CS005",
                &listener,
                format!(
                    "{} → port {port} → {} → no ingress on its groups",
                    model.name(&listener),
                    model.name(&balancer)
                ),
                format!("nothing may reach listener port {port}"),
            ));
        }
    }
    for group in model.of_type("AWS::EC2::SecurityGroup") {
        if public_groups.contains(&group) {
            continue;
        }
        if network.ingress(&group).iter().any(|rule| rule.is_anywhere()) {
            findings.push(finding(
                model,
                "CS005",
                &group,
                format!("0.0.0.0/0 → {}", model.name(&group)),
                "admits the whole internet but is no internet-facing load balancer's group".into(),
            ));
        }
    }
}
