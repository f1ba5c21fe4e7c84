//! The `cfn-synth` binary: parses the command line, runs the command, and reports errors with every
//! cause in the chain.

mod cli;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.run() {
        Ok(status) => status.into(),
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            cli::ExitStatus::Error.into()
        }
    }
}
