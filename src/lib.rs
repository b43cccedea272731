//! oxdl: downloads files from Oxen data repositories.
//!
//! Data flows one way: arguments (`cli`) → a command (`commands/`) → the engine (`engine/`) → the server
//! (`server/`) and the disk (`disk/`) → what the user sees (`term/`). Imports follow the same order, down
//! only. Every layer may use the base beside this file: `error` (failure kinds and exit codes), `hash`
//! (what a content hash is), `transfer` (copying bytes while hashing them) and `sync` (poison-free locks).
//! `main`, `cli` and `interrupt` sit on top: parsing, dispatch, and what a signal does.

pub mod cli;
pub mod commands;
pub mod disk;
pub mod engine;
pub mod error;
pub mod hash;
pub mod interrupt;
pub mod server;
mod sync;
pub mod term;
pub mod transfer;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let global = &cli.global;
    match &cli.command {
        // Offline: verify never looks at --host, a token, a proxy or TLS settings.
        Command::Verify(args) => commands::verify::run(args, global),
        // Nor does cache: it looks after a directory on this machine.
        Command::Cache(args) => commands::cache::run(args, global),
        Command::Get(args) => {
            let (remote, ui, reporter) = commands::connect(global, &args.repo)?;
            commands::get::run(&remote, args, &ui, &reporter)
        }
        Command::Batch(args) => {
            let (remote, ui, reporter) = commands::connect(global, &args.repo)?;
            commands::batch::run(&remote, args, &ui, &reporter)
        }
        Command::Ls(args) => {
            let (remote, ui, reporter) = commands::connect(global, &args.repo)?;
            commands::ls::run(&remote, args, &ui, &reporter)
        }
    }
}
