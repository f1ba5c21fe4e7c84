//! Helpers the platform's stack builders share: adding a region's stacks, per-region lookup tables and
//! rendering the embedded minijinja templates.

use indexmap::IndexMap;

use crate::cfn::cloudwatch::alarm::{Dimension, Metric, MetricDataQuery, MetricStat};
use crate::template::Value;

use super::names::stack_name;
use super::PlatformError;
use crate::config::{MonitoringConfig, PlatformConfig, RegionConfig};
use crate::construct::{App, Stack};
use crate::constructs::monitoring::Subscriber;
use crate::template::Mapping;

/// A metric-math input: the query `id` of `metric` with `dimensions` over `period` seconds, aggregated by
/// `statistic`, read by an expression rather than returned on its own.
pub(super) fn metric_query<N: AsRef<str>>(
    id: &str,
    metric: Metric,
    dimensions: &[(N, Value<String>)],
    period: i64,
    statistic: &str,
) -> MetricDataQuery {
    let dimensions: Vec<Dimension> =
        dimensions.iter().map(|(name, value)| Dimension::new(name.as_ref(), value.clone())).collect();
    MetricDataQuery::new(id)
        .metric_stat(MetricStat::new(metric.dimensions(dimensions), period, statistic))
        .return_data(false)
}

/// The alarm topic's subscribers a region's `monitoring.notify` names.
pub(super) fn subscribers(monitoring: &MonitoringConfig) -> Vec<Subscriber> {
    monitoring
        .notify
        .iter()
        .map(|s| Subscriber { protocol: s.protocol.as_str().to_owned(), endpoint: s.endpoint.clone() })
        .collect()
}

/// Adds the stacks of one region role, named and tagged the platform's way.
#[derive(Debug, Clone, Copy)]
pub(super) struct RegionStacks<'a> {
    pub config: &'a PlatformConfig,
    pub region: &'a RegionConfig,
}

impl RegionStacks<'_> {
    /// Adds the role's stack of one tier, in the role's region.
    pub fn add(&self, app: &mut App, tier: &str) -> Result<Stack, PlatformError> {
        self.add_in(app, tier, &self.region.region)
    }

    /// Adds the role's stack of one tier, deployed to `region_code` (which differs from the role's
    /// region for global resources that AWS keeps in us-east-1).
    pub fn add_in(&self, app: &mut App, tier: &str, region_code: &str) -> Result<Stack, PlatformError> {
        let stack = app.add_stack(&stack_name(self.config, self.region, tier), region_code)?;
        stack.add_tag("app", &self.config.app);
        stack.add_tag("region-role", self.region.role.tag_value());
        for (key, value) in &self.config.tags {
            stack.add_tag(key, value);
        }
        Ok(stack)
    }
}

/// Renders the minijinja template `source` (embedded from `templates/<file>`) with `context`, keeping
/// its trailing newline; an error names the template file.
pub(super) fn render_template(
    file: &'static str,
    source: &'static str,
    context: minijinja::Value,
) -> Result<String, PlatformError> {
    render_embedded(file, source, context)
        .map_err(|error| PlatformError::Template { template: format!("templates/{file}"), message: error.to_string() })
}

/// The embedded templates, each compiled the first time it is rendered and kept for the process: a
/// platform renders several, and a generator of many platforms renders each many times.
static TEMPLATES: std::sync::LazyLock<std::sync::RwLock<minijinja::Environment<'static>>> =
    std::sync::LazyLock::new(|| {
        let mut environment = minijinja::Environment::new();
        environment.set_keep_trailing_newline(true);
        std::sync::RwLock::new(environment)
    });

/// Renders the embedded template `source`, known as `file`, with `context`, compiling it on first use.
pub(super) fn render_embedded(
    file: &'static str,
    source: &'static str,
    context: impl serde::Serialize,
) -> Result<String, minijinja::Error> {
    let compiled = TEMPLATES.read().unwrap_or_else(std::sync::PoisonError::into_inner).get_template(file).is_ok();
    if !compiled {
        TEMPLATES.write().unwrap_or_else(std::sync::PoisonError::into_inner).add_template(file, source)?;
    }
    TEMPLATES.read().unwrap_or_else(std::sync::PoisonError::into_inner).get_template(file)?.render(context)
}

/// Adds a per-region lookup table as the mapping `name` (`<region>: {<value_key>: <value>}`), after
/// checking that the stack's region is in it; `key` is the region's config key path, for the error.
pub(super) fn add_region_mapping(
    stack: &Stack,
    name: &str,
    value_key: &str,
    table: &[(&str, &str)],
    key: &str,
    what: &str,
) -> Result<(), PlatformError> {
    let region = stack.region();
    if !table.iter().any(|(known, _)| *known == region) {
        return Err(PlatformError::Config {
            key: format!("{key}.region"),
            message: format!("no {what} is known for {region}"),
        });
    }
    let mapping: Mapping = table
        .iter()
        .map(|(region, value)| ((*region).to_owned(), IndexMap::from([(value_key.to_owned(), (*value).into())])))
        .collect();
    stack.add_mapping(name, mapping)?;
    Ok(())
}
