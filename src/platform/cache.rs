//! How a region's clients log in to its Redis: role-based access control, a user each for Kong and
//! the applications with passwords Secrets Manager generates; or, for a Global Datastore, the one AUTH
//! token both regions share.

use super::PlatformError;
use crate::construct::Scope;
use crate::constructs::data::{RedisAuth, RedisLogin, RedisUser, Secret, SecretProps};
use crate::constructs::kms::EncryptionKey;

/// What Kong and the applications log in to Redis with: each its own user, or, in a Global Datastore,
/// both the `default` user with the shared AUTH token.
#[derive(Debug, Clone)]
pub struct CacheLogins {
    /// Kong's, for its rate-limit counters.
    pub kong: RedisLogin,
    /// The applications', for their cache.
    pub applications: RedisLogin,
}

impl CacheLogins {
    /// Both clients as the `default` user with the AUTH token `token`.
    pub(super) fn token(token: &Secret) -> Self {
        let login = RedisLogin { username: "default".to_owned(), password: token.clone() };
        Self { kong: login.clone(), applications: login }
    }
}

/// Why a Global Datastore keeps an AUTH token rather than users.
pub(super) const GLOBAL_TOKEN_REASON: &str =
    "This group leads a Global Datastore whose secondary takes over on failover \
     (DR-RUNBOOK.md): the clients of both regions log in with the one AUTH token that Secrets Manager \
     replicates to the secondary region, while ElastiCache users and user groups are per region, and this \
     platform does not keep a second set in step with the first.";

/// What the clients' Redis users may do: every command but the dangerous ones (FLUSHALL, KEYS, CONFIG,
/// DEBUG, ...), on every key and channel.
const CACHE_ACCESS: &str = "on ~* &* +@all -@dangerous";

/// A user for Kong and one for the applications, each with a password generated in Secrets Manager.
pub(super) fn cache_users(
    root: &mut Scope,
    key: &EncryptionKey,
    app_name: &str,
    stack_name: &str,
) -> Result<(RedisAuth, CacheLogins), PlatformError> {
    let mut password = |id: &str, user: &str| {
        let props = SecretProps {
            description: Some(format!("Password of the Redis user {user} of {stack_name}")),
            length: 64,
            ..SecretProps::default()
        };
        Secret::new(root, id, key, props)
    };
    let kong = RedisLogin { username: "kong".to_owned(), password: password("CacheKongPassword", "kong")? };
    let applications = RedisLogin {
        username: "applications".to_owned(),
        password: password("CacheApplicationsPassword", "applications")?,
    };
    let users = [&kong, &applications]
        .into_iter()
        .map(|login| RedisUser {
            name: login.username.clone(),
            access_string: CACHE_ACCESS.to_owned(),
            password: login.password.clone(),
        })
        .collect();
    let auth = RedisAuth::Users { id_prefix: app_name.to_owned(), users };
    Ok((auth, CacheLogins { kong, applications }))
}

/// The AUTH token of a Global Datastore's primary group.
pub(super) fn cache_token_props(stack_name: &str) -> SecretProps {
    SecretProps { description: Some(format!("Redis AUTH token of {stack_name}")), length: 64, ..SecretProps::default() }
}
