//! Edge constructs: the Kong gateway's declarative configuration.

mod kong;

pub use kong::{KongDeclarativeConfig, KongRoute, REDIS_AUTH_TOKEN_VARIABLE};
