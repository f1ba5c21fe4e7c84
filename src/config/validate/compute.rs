//! Checks of the compute tier: its services' sizes, names and kinds, Kong's routes and the edge.

use super::issue;
use super::Issue;
use crate::config::compute::{ApplicationConfig, ComputeConfig, Sizing, MAX_HTTP_SERVICES};
use crate::config::edge::EdgeConfig;
use crate::constructs::compute::FargateSize;

pub(super) fn validate_compute(compute: &ComputeConfig, key: &str) -> Result<(), Issue> {
    let domain = &compute.domain.name;
    let domain_ok = domain.contains('.')
        && domain.len() <= 200
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        });
    if !domain_ok {
        return Err(issue(format!("{key}.domain.name"), format!("{domain:?} is not a lower-case DNS name")));
    }
    let zone = &compute.domain.hosted_zone_id;
    if zone.is_empty() || zone.len() > 32 || !zone.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
        return Err(issue(format!("{key}.domain.hostedZoneId"), format!("{zone:?} is not a Route 53 hosted zone ID")));
    }
    let deployment = &compute.deployment;
    for (name, value, min, max) in [
        ("terminationWaitMinutes", deployment.termination_wait_minutes, 0, 1440),
        ("smokeTests.requestTimeoutSeconds", deployment.smoke_tests.request_timeout_seconds, 1, 60),
        ("smokeTests.hookTimeoutSeconds", deployment.smoke_tests.hook_timeout_seconds, 10, 900),
        ("keepImages", deployment.keep_images, 1, 1000),
        ("deregistrationDelaySeconds", deployment.deregistration_delay_seconds, 0, 3600),
        ("healthCheckGraceSeconds", deployment.health_check_grace_seconds, 0, 2_147_483_647),
    ] {
        if !(min..=max).contains(&value) {
            return Err(issue(format!("{key}.deployment.{name}"), format!("{value} is outside {min} to {max}")));
        }
    }
    if let Some(path) = &deployment.smoke_tests.path {
        if !path.starts_with('/') || path.chars().any(char::is_whitespace) {
            return Err(issue(
                format!("{key}.deployment.smokeTests.path"),
                format!("{path:?} is not a URL path: start it with / and leave out spaces"),
            ));
        }
    }
    let kong = &compute.kong;
    let kong_sizing =
        Sizing { cpu: kong.cpu, memory: kong.memory, desired: kong.desired, min: kong.min, max: kong.max };
    validate_sizing(kong_sizing, &format!("{key}.kong"))?;
    validate_http(&kong.health_check_path, kong.port, &format!("{key}.kong"))?;
    validate_user(&kong.user, &format!("{key}.kong"))?;
    validate_services(compute, key)?;
    validate_gateway(compute, key)?;
    validate_edge(&compute.edge, &format!("{key}.edge"))?;
    Ok(())
}

/// A service's Fargate size and task counts.
fn validate_sizing(sizing: Sizing, key: &str) -> Result<(), Issue> {
    let Sizing { cpu, memory, desired, min, max } = sizing;
    if let Err(error) = FargateSize::new(cpu, memory) {
        return Err(issue(format!("{key}.memory"), error.to_string()));
    }
    if !(1 <= min && min <= desired && desired <= max && max <= 1000) {
        return Err(issue(
            key,
            format!("counts must satisfy 1 <= min ({min}) <= desired ({desired}) <= max ({max}) <= 1000"),
        ));
    }
    Ok(())
}

/// A container user: never root, which AWS Control Tower refuses (and a task has no need of).
fn validate_user(user: &str, key: &str) -> Result<(), Issue> {
    if crate::constructs::compute::is_root(user) || user.chars().any(char::is_whitespace) {
        return Err(issue(
            format!("{key}.user"),
            format!("{user:?} is root or no user; give a user of the image, a uid or uid:gid other than 0"),
        ));
    }
    Ok(())
}

/// An HTTP service's health path and container port.
fn validate_http(health_check_path: &str, port: u16, key: &str) -> Result<(), Issue> {
    if !health_check_path.starts_with('/') {
        return Err(issue(format!("{key}.healthCheckPath"), "must start with '/'"));
    }
    if port == 0 || port == 443 {
        return Err(issue(
            format!("{key}.port"),
            "the container port must be from 1 to 65535, and not the listener's 443",
        ));
    }
    Ok(())
}

/// The applications: named uniquely (their construct ids too), at least one HTTP service for Kong to
/// route to and no more than the internal ALB has listeners for, at least one worker for the queue the
/// services send to, and each valid alone.
fn validate_services(compute: &ComputeConfig, key: &str) -> Result<(), Issue> {
    let services_key = format!("{key}.services");
    let mut ids: Vec<String> = vec!["Kong".to_owned()];
    for (index, service) in compute.services.iter().enumerate() {
        let key = format!("{services_key}[{index}].{}", service.kind_key());
        let name = service.name();
        let name_ok = (1..=32).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && !name.ends_with('-')
            && !name.contains("--")
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !name_ok {
            return Err(issue(
                format!("{key}.name"),
                format!("{name:?} is not 1 to 32 lower-case letters, digits or single '-', starting with a letter"),
            ));
        }
        let id = crate::construct::pascal_case(name);
        if let Some(other) = ids.iter().position(|seen| *seen == id) {
            let what = match other {
                0 => "the gateway's id, Kong".to_owned(),
                other => format!("the id of services[{}] ({})", other - 1, compute.services[other - 1].name()),
            };
            return Err(issue(format!("{key}.name"), format!("{name} gives the construct id {id}, already {what}")));
        }
        ids.push(id);
        validate_sizing(service.sizing(), &key)?;
        let access = service.access();
        if let Some(position) = (1..access.len()).find(|&i| access[..i].contains(&access[i])) {
            return Err(issue(format!("{key}.access[{position}]"), "is already listed"));
        }
        match service {
            ApplicationConfig::Http(http) => {
                validate_http(&http.health_check_path, http.port, &key)?;
                validate_user(&http.user, &key)?;
            }
            ApplicationConfig::Worker(worker) => {
                validate_user(&worker.user, &key)?;
                let steps = &worker.scale_out_steps;
                let ordered = steps.windows(2).all(|pair| pair[0].messages_above < pair[1].messages_above);
                if steps.is_empty()
                    || steps[0].messages_above != 0
                    || !ordered
                    || steps.iter().any(|step| step.add_tasks < 1)
                {
                    return Err(issue(
                        format!("{key}.scaleOutSteps"),
                        "steps start at messagesAbove 0, rise strictly, and each adds at least one task",
                    ));
                }
            }
        }
    }
    let http = compute.http_services().count();
    if http == 0 {
        return Err(issue(services_key, "at least one `http` service is needed: Kong routes requests to them"));
    }
    if http > MAX_HTTP_SERVICES {
        return Err(issue(
            services_key,
            format!(
                "{http} HTTP services need {} listeners on the internal ALB, which takes at most 50 (a production \
                 and a test listener each): run at most {MAX_HTTP_SERVICES}, make some of them workers, or split \
                 the platform into two apps",
                2 * http
            ),
        ));
    }
    // Every listener of the internal ALB on a port of its own; an explicit pair is blamed for a clash.
    let http_keys: Vec<String> = compute
        .services
        .iter()
        .enumerate()
        .filter(|(_, service)| matches!(service, ApplicationConfig::Http(_)))
        .map(|(index, _)| format!("{services_key}[{index}].http"))
        .collect();
    let mut taken: Vec<(u16, usize)> = Vec::new();
    for (position, ports) in compute.listener_ports().iter().enumerate() {
        let key = format!("{}.listeners", http_keys[position]);
        if ports.production == 0 || ports.test == 0 || ports.production == ports.test {
            return Err(issue(key, "a production and a test port, different, from 1 to 65535"));
        }
        for port in [ports.production, ports.test] {
            if let Some((_, other)) = taken.iter().find(|(used, _)| *used == port) {
                return Err(issue(
                    key,
                    format!(
                        "port {port} is already a listener of {} (listeners follow the services' places unless \
                         given): give this service ports no other HTTP service has",
                        http_keys[*other]
                    ),
                ));
            }
            taken.push((port, position));
        }
    }
    if compute.workers().next().is_none() {
        return Err(issue(
            services_key,
            "at least one `worker` is needed: the HTTP services send work to the queue, and a worker consumes it",
        ));
    }
    Ok(())
}

fn validate_edge(edge: &EdgeConfig, key: &str) -> Result<(), Issue> {
    let limit = edge.requests_per_five_minutes;
    if !(10..=2_000_000_000).contains(&limit) {
        return Err(issue(format!("{key}.requestsPerFiveMinutes"), format!("{limit} is outside 10 to 2000000000")));
    }
    let header = &edge.origin_verify_header;
    // An HTTP token, and not a header CloudFront refuses to add to origin requests.
    let token = !header.is_empty()
        && header.len() <= 64
        && header.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let lower = header.to_ascii_lowercase();
    let reserved = ["host", "authorization", "cache-control", "connection", "content-length", "cookie", "via"]
        .contains(&lower.as_str())
        || lower.starts_with("x-amz-")
        || lower.starts_with("x-edge-")
        || lower.starts_with("x-forwarded-");
    if !token || reserved {
        return Err(issue(
            format!("{key}.originVerifyHeader"),
            format!("{header:?} is not a header name CloudFront can add (letters, digits, '-' or '_', not reserved)"),
        ));
    }
    Ok(())
}

fn validate_gateway(compute: &ComputeConfig, key: &str) -> Result<(), Issue> {
    let gateway = &compute.gateway;
    let key = format!("{key}.gateway");
    let routes = compute.routes();
    let mut seen_paths: Vec<(&str, usize)> = vec![(compute.kong.health_check_path.as_str(), usize::MAX)];
    for (index, route) in routes.iter().enumerate() {
        let route_key = format!("{key}.routes[{index}]");
        let name_ok = !route.name.is_empty()
            && route.name.len() <= 64
            && route.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !name_ok {
            return Err(issue(
                format!("{route_key}.name"),
                format!("{:?} is not 1 to 64 lower-case letters, digits or '-'", route.name),
            ));
        }
        if let Some(other) = routes[..index].iter().position(|other| other.name == route.name) {
            return Err(issue(
                format!("{route_key}.name"),
                format!("{} is already the name of routes[{other}]", route.name),
            ));
        }
        if !compute.http_services().any(|service| service.name == route.service) {
            let names: Vec<&str> = compute.http_services().map(|service| service.name.as_str()).collect();
            return Err(issue(
                format!("{route_key}.service"),
                format!("{:?} is not an HTTP service of compute.services ({})", route.service, names.join(", ")),
            ));
        }
        if route.paths.is_empty() {
            return Err(issue(format!("{route_key}.paths"), "a route needs at least one path"));
        }
        for (path_index, path) in route.paths.iter().enumerate() {
            let path_key = format!("{route_key}.paths[{path_index}]");
            let path_ok = path.starts_with('/')
                && !path.contains("//")
                && path.chars().all(|c| c.is_ascii_alphanumeric() || "/-_.~".contains(c));
            if !path_ok {
                return Err(issue(
                    path_key,
                    format!("{path:?} is not a path prefix: start with '/', use letters, digits and -_.~"),
                ));
            }
            match seen_paths.iter().find(|(seen, _)| *seen == path) {
                Some((_, usize::MAX)) => return Err(issue(path_key, format!("{path} is Kong's health route"))),
                Some((_, other)) => {
                    return Err(issue(path_key, format!("{path} is already routed by routes[{other}]")))
                }
                None => seen_paths.push((path.as_str(), index)),
            }
        }
    }
    if !(1..=1_000_000).contains(&gateway.rate_limit.per_minute) {
        return Err(issue(format!("{key}.rateLimit.perMinute"), "must be from 1 to 1000000"));
    }
    if !(1..=1024).contains(&gateway.max_request_megabytes) {
        return Err(issue(format!("{key}.maxRequestMegabytes"), "must be from 1 to 1024"));
    }
    Ok(())
}
