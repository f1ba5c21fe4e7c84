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
//!
//! # Example
//!
//! A VPC in one stack and a security group in another: the reference crosses stacks as a plain value,
//! and synthesis turns it into an export and `Fn::ImportValue`.
//!
//! ```
//! use cfn_synth::construct::App;
//! use cfn_synth::constructs::network::{Vpc, VpcProps};
//! use cfn_synth::template::{Resource, Value};
//!
//! let mut app = App::new("demo");
//! let network = app.add_stack("Demo-Network", "us-east-1")?;
//! let vpc = Vpc::new(&mut network.root(), "Vpc", VpcProps::default())?;
//! let service = app.add_stack("Demo-Service", "us-east-1")?;
//! service.root().add_resource(
//!     "Group",
//!     Resource::new("AWS::EC2::SecurityGroup")
//!         .property("GroupDescription", Value::from("demo"))
//!         .property("VpcId", vpc.vpc_id()),
//! )?;
//! let synthesized = app.synth()?;
//! assert_eq!(synthesized.deploy_order(), ["Demo-Network", "Demo-Service"]);
//! assert_eq!(
//!     synthesized.stacks[1].template["Resources"]["Group"]["Properties"]["VpcId"],
//!     serde_json::json!({"Fn::ImportValue": "Demo-Network:RefVpc"})
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod assembly;
pub mod config;
pub mod construct;
pub mod constructs;
pub mod platform;
pub mod template;
