//! oxdl: downloads files from Oxen data repositories.
//!
//! Data flows one way: arguments → a [`remote::Remote`] → one command → bytes on disk.

pub mod auth;
pub mod batch;
pub mod cli;
pub mod endpoint;
pub mod error;
pub mod fsio;
pub mod get;
pub mod hashes;
pub mod interrupt;
pub mod listfmt;
pub mod ls;
pub mod progress;
pub mod proxy;
pub mod remote;
pub mod report;
pub mod retry;
pub mod sync;
pub mod tls;
pub mod transfer;
pub mod unpack;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::remote::Remote;
use crate::retry::RetryPolicy;
use std::time::Duration;

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let global = &cli.global;
    let endpoint = endpoint::parse(&global.host)?;
    let config_dir = auth::config_dir(global.config_dir.as_deref());
    let token = auth::resolve(
        global.token.as_deref(),
        config_dir.as_deref(),
        &endpoint.host_key,
    )?;
    if token.is_some() && endpoint.insecure_remote && !global.quiet {
        eprintln!(
            "oxdl: warning: sending the token in clear over plain http to {}",
            endpoint.base
        );
    }
    let options = remote::Options {
        token,
        connect_timeout: Some(Duration::from_secs_f64(global.connect_timeout)),
        read_timeout: Some(Duration::from_secs_f64(global.timeout)),
        verbose: global.verbose,
        proxy: proxy::for_endpoint(&endpoint, global.proxy.as_deref())?,
        // Plain http needs no roots; loading them costs a few milliseconds.
        tls: if endpoint.base.starts_with("https://") {
            Some(tls::config(global.cacert.as_deref())?)
        } else {
            None
        },
    };
    let ui = Ui {
        display: progress::Display {
            quiet: global.quiet,
            mode: global.progress,
        },
        retry: RetryPolicy {
            retries: global.retries,
        },
    };
    let reporter = report::Reporter::new(global.json, global.checksums.clone());
    match &cli.command {
        Command::Get(args) => {
            let remote = Remote::new(&endpoint, &args.repo, options);
            get::run(&remote, args, &ui, &reporter)
        }
        Command::Batch(args) => {
            let remote = Remote::new(&endpoint, &args.repo, options);
            batch::run(&remote, args, &ui, &reporter)
        }
        Command::Ls(args) => {
            let remote = Remote::new(&endpoint, &args.repo, options);
            ls::run(&remote, args, &ui, &reporter)
        }
    }
}

/// Settings every command shares: how chatty to be and how to retry.
#[derive(Clone, Copy, Debug)]
pub struct Ui {
    /// What to show on stderr.
    pub display: progress::Display,
    /// How to retry failed requests.
    pub retry: RetryPolicy,
}
