//! The `cfn-synth` binary: parses the command line, runs the command, and reports errors with every
//! cause in the chain.

mod cli;

use std::process::ExitCode;

use clap::Parser as _;

/// mimalloc: a synthesis is millions of small allocations (JSON values, strings, maps), where the
/// system allocator spends about a quarter of the process's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
