//! L2 constructs: plain structs with secure defaults that add typed resources to a stack.
//!
//! Grouped by concern. Each construct exposes the resources it made (`resource()`) as the escape hatch
//! for anything it does not model; change them through [`crate::construct::Stack::resource_mut`].

pub mod compute;
pub mod data;
pub mod delivery;
pub mod edge;
pub mod iam;
pub mod ids;
pub mod kms;
pub mod logs;
pub mod monitoring;
pub mod network;
