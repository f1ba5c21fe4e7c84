//! cfn-synth: a typed infrastructure synthesizer that compiles Rust values into AWS CloudFormation.
//!
//! The layers, each importing only from those below it:
//! - [`template`]: the CloudFormation template model and typed intrinsics ([`template::Value`]).
//! - [`construct`]: the construct tree ([`construct::App`], [`construct::Stack`]), logical IDs,
//!   cross-stack references and deploy order.
//! - [`constructs`]: secure-by-default L2 constructs such as [`constructs::network::Vpc`].
//! - [`config`]: the platform configuration file, with located errors.
//! - [`platform`]: the reference integration platform (L3), built from a [`config::PlatformConfig`].
//! - [`assembly`]: the output directory and its `manifest.json`, written atomically.

pub mod assembly;
pub mod config;
pub mod construct;
pub mod constructs;
pub mod platform;
pub mod template;
