//! The construct tree: an [`App`] of [`Stack`]s, each holding constructs at paths.
//!
//! This layer allocates logical IDs from construct paths, resolves references between stacks (exports
//! and imports in one region, `Fn::GetStackOutput` across regions) and orders the stacks for deployment.

mod app;
mod deploy_order;
mod error;
pub mod guard;
mod made_together;
mod path;
mod resolve;
mod stack;

pub use app::{App, SynthesizedApp, SynthesizedStack};
pub use error::ConstructError;
pub use path::{pascal_case, ConstructPath, DEFAULT_CHILD_ID};
pub use stack::{ResourceRef, Scope, Stack, TypedResourceMut};
