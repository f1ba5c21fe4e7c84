//! Who hears when something breaks, and the alarm thresholds of a region's data and compute tiers.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::validate::Issue;

/// The alarms of a region: an encrypted SNS topic that every alarm notifies, its subscribers, and the
/// thresholds. Read in regions with a data tier.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MonitoringConfig {
    /// Who the alarm topic notifies. At least one subscriber is required where alarms exist: an alarm
    /// nobody receives is not monitoring.
    #[serde(default)]
    pub notify: Vec<Subscriber>,
    /// Alarm thresholds. Every key has a default.
    #[serde(default)]
    pub thresholds: AlarmThresholds,
}

/// One subscription of the alarm topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subscriber {
    /// The SNS protocol.
    pub protocol: SubscriberProtocol,
    /// The address: an email address, an `https://` URL, or an SQS queue or Lambda function ARN.
    pub endpoint: String,
}

/// SNS protocols a subscriber may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubscriberProtocol {
    /// An email address (confirmed by its owner after the first deploy).
    Email,
    /// An HTTPS webhook (a chat or paging integration).
    Https,
    /// An SQS queue ARN.
    Sqs,
    /// A Lambda function ARN.
    Lambda,
}

impl SubscriberProtocol {
    /// The protocol as SNS spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Https => "https",
            Self::Sqs => "sqs",
            Self::Lambda => "lambda",
        }
    }
}

/// Alarm thresholds. The defaults are what an operator of this platform would page on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlarmThresholds {
    /// PostgreSQL CPU percent, averaged over 5 minutes. Default: 80.
    #[serde(default = "default_cpu_percent")]
    pub database_cpu_percent: f64,
    /// PostgreSQL free storage in GiB under which the alarm fires. Default: 10.
    #[serde(default = "default_free_storage_gib")]
    pub database_free_storage_gib: f64,
    /// PostgreSQL connections above which the alarm fires. Default: 400.
    #[serde(default = "default_connections")]
    pub database_connections: f64,
    /// Redis engine CPU percent of any node. Default: 80.
    #[serde(default = "default_cpu_percent")]
    pub cache_cpu_percent: f64,
    /// Redis memory used, percent of `maxmemory`, on any node. Default: 80.
    #[serde(default = "default_cpu_percent")]
    pub cache_memory_percent: f64,
    /// Keys evicted in 5 minutes on any node above which the alarm fires. Default: 0 (any eviction).
    #[serde(default)]
    pub cache_evictions: f64,
    /// Seconds the oldest work-queue message may wait before the alarm fires. Default: 900.
    #[serde(default = "default_queue_oldest_message_seconds")]
    pub queue_oldest_message_seconds: f64,
    /// 5xx responses in 5 minutes, made by a load balancer itself or by its targets. Default: 10.
    #[serde(default = "default_http_5xx")]
    pub http_5xx_per_five_minutes: f64,
}

impl Default for AlarmThresholds {
    fn default() -> Self {
        Self {
            database_cpu_percent: default_cpu_percent(),
            database_free_storage_gib: default_free_storage_gib(),
            database_connections: default_connections(),
            cache_cpu_percent: default_cpu_percent(),
            cache_memory_percent: default_cpu_percent(),
            cache_evictions: 0.0,
            queue_oldest_message_seconds: default_queue_oldest_message_seconds(),
            http_5xx_per_five_minutes: default_http_5xx(),
        }
    }
}

fn default_cpu_percent() -> f64 {
    80.0
}

fn default_free_storage_gib() -> f64 {
    10.0
}

fn default_connections() -> f64 {
    400.0
}

fn default_queue_oldest_message_seconds() -> f64 {
    900.0
}

fn default_http_5xx() -> f64 {
    10.0
}

impl MonitoringConfig {
    /// Checks the subscribers and thresholds; `key` is the section's key path.
    pub(crate) fn validate(&self, key: &str) -> Result<(), Issue> {
        if self.notify.is_empty() {
            return Err(Issue {
                key: format!("{key}.notify"),
                message: "at least one subscriber is required: alarms that notify nobody are not monitoring".into(),
            });
        }
        for (index, subscriber) in self.notify.iter().enumerate() {
            let endpoint = &subscriber.endpoint;
            let ok = match subscriber.protocol {
                SubscriberProtocol::Email => {
                    endpoint.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
                }
                SubscriberProtocol::Https => endpoint.starts_with("https://") && endpoint.len() > "https://".len(),
                SubscriberProtocol::Sqs => endpoint.starts_with("arn:") && endpoint.contains(":sqs:"),
                SubscriberProtocol::Lambda => endpoint.starts_with("arn:") && endpoint.contains(":lambda:"),
            };
            if !ok {
                return Err(Issue {
                    key: format!("{key}.notify[{index}].endpoint"),
                    message: format!("{endpoint:?} is not a valid {} endpoint", subscriber.protocol.as_str()),
                });
            }
        }
        let t = &self.thresholds;
        let percents = [
            ("databaseCpuPercent", t.database_cpu_percent),
            ("cacheCpuPercent", t.cache_cpu_percent),
            ("cacheMemoryPercent", t.cache_memory_percent),
        ];
        for (name, value) in percents {
            if !(1.0..=100.0).contains(&value) {
                return Err(Issue { key: format!("{key}.thresholds.{name}"), message: "must be from 1 to 100".into() });
            }
        }
        let counts = [
            ("databaseFreeStorageGib", t.database_free_storage_gib),
            ("databaseConnections", t.database_connections),
            ("cacheEvictions", t.cache_evictions),
            ("queueOldestMessageSeconds", t.queue_oldest_message_seconds),
            ("http5xxPerFiveMinutes", t.http_5xx_per_five_minutes),
        ];
        for (name, value) in counts {
            if !(value >= 0.0 && value.is_finite()) {
                return Err(Issue { key: format!("{key}.thresholds.{name}"), message: "must be 0 or more".into() });
            }
        }
        Ok(())
    }
}
