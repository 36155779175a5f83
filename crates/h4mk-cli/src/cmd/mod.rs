//! The subcommands, one module each.

mod verify;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// Every `h4mk` subcommand.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    Verify(verify::Args),
}

impl Command {
    pub(crate) fn run(self, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
        match self {
            Command::Verify(args) => verify::run(&args, out, err),
        }
    }
}
