//! The CloudFormation template model and its deterministic serialization.
//!
//! This layer knows nothing of constructs or stacks-as-a-graph: it is the shape of one template file.

mod document;
pub mod expr;
mod resource;
mod tag;
mod typed;

pub use document::{Condition, Export, Mapping, Output, Parameter, Template, TemplateFormat};
pub use expr::{Address, DynamicReference, Pseudo, Value};
pub use resource::{RemovalPolicy, Resource, PATH_METADATA_KEY, STATEFUL_RESOURCE_TYPES};
pub use tag::Tag;
pub use typed::{CfnResource, List, Reference, ResourceSpec, Untyped};
