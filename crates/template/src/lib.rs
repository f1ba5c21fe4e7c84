//! The CloudFormation template model and its deterministic serialization: cfn-synth's lowest layer,
//! re-exported as `cfn_synth::template`.
//!
//! This layer knows nothing of constructs or stacks-as-a-graph: it is the shape of one template file.
//! It is a crate of its own so that the generated L1 crate (`cfn-synth-l1`, `cfn_synth::cfn`), which
//! builds on it, compiles apart from the hand-written layers above: editing a construct or the platform
//! does not recompile 52,000 generated lines.

#![warn(missing_docs)]

mod document;
pub mod expr;
mod field;
mod into_json;
mod json_text;
mod resource;
mod tag;
mod typed;

pub use document::{Condition, Export, Mapping, Output, Parameter, Template, TemplateFormat};
pub use expr::{Address, DynamicReference, Pseudo, Value};
pub use field::Field;
pub use into_json::IntoJson;
pub use resource::{
    add_guard_suppression, RemovalPolicy, Resource, GUARD_METADATA_KEY, PATH_METADATA_KEY, STATEFUL_RESOURCE_TYPES,
};
pub use tag::Tag;
pub use typed::{CfnResource, List, Reference, ResourceSpec, Untyped};
