//! oxdl: downloads files from Oxen data repositories.
//!
//! Data flows one way: arguments → a [`remote::Remote`] → one command → bytes on disk.

mod auth;
mod batch;
mod cache;
pub mod cli;
mod endpoint;
pub mod error;
mod filter;
mod fingerprints;
mod fsio;
mod get;
pub mod hashes;
pub mod interrupt;
pub mod listfmt;
mod lists;
mod ls;
mod manifest;
pub mod output;
mod progress;
mod proxy;
mod ranged;
mod remote;
mod report;
mod retry;
mod spool;
mod sync;
mod tls;
pub mod transfer;
mod tree;
pub mod unpack;
mod verify;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::remote::Remote;
use crate::retry::RetryPolicy;
use std::time::Duration;

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let global = &cli.global;
    // Offline: verify never looks at --host, a token, a proxy or TLS settings.
    if let Command::Verify(args) = &cli.command {
        return verify::run(args, global);
    }
    // So does cache: it looks after a directory on this machine.
    if let Command::Cache(args) = &cli.command {
        return cache::run(args, global);
    }
    // `OXDL_HOST=` (set but empty) asks for nothing in particular, as an unset variable does; an empty
    // `--host ""` on the command line stays an error.
    let host = if global.host.trim().is_empty()
        && std::env::var_os("OXDL_HOST")
            .is_some_and(|value| value.to_string_lossy().trim().is_empty())
    {
        cli::DEFAULT_HOST
    } else {
        global.host.as_str()
    };
    let endpoint = endpoint::parse(host)?;
    let config_dir = auth::config_dir(global.config_dir.as_deref());
    let resolved = auth::resolve(
        global.token.as_deref(),
        config_dir.as_deref(),
        &endpoint.host_key(),
    )?;
    if let Some(why) = &resolved.unreadable
        && !global.quiet
    {
        eprintln!("oxdl: warning: {why}; going on without a token from it");
    }
    let sends_secret = resolved.token.is_some() || endpoint.basic_authorization().is_some();
    if sends_secret && endpoint.insecure_remote() && !global.quiet {
        let what = if resolved.token.is_some() {
            "the token"
        } else {
            "the credentials in --host"
        };
        eprintln!("oxdl: warning: sending {what} in clear over plain http to {endpoint}");
    }
    let options = remote::Options {
        token: resolved.token,
        config_unreadable: resolved.unreadable,
        connect_timeout: Some(Duration::from_secs_f64(global.connect_timeout)),
        read_timeout: Some(Duration::from_secs_f64(global.timeout)),
        verbose: global.verbose,
        proxy: proxy::for_endpoint(&endpoint, global.proxy.as_deref())?,
        // Plain http needs no roots; loading them costs a few milliseconds.
        tls: match endpoint.scheme() {
            endpoint::Scheme::Https => Some(tls::config(global.cacert.as_deref())?),
            endpoint::Scheme::Http => None,
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
        cache: cache::Cache::from_args(global),
    };
    let reporter = report::Reporter::new(global.json, global.checksums.clone());
    if global.json {
        output::require_stdout("--json")?;
    }
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
            if global.checksums.is_some() {
                return Err(error::fail(
                    error::Kind::Usage,
                    "--checksums lists files written to disk, and ls writes none; \
                     it applies to get and batch",
                ));
            }
            output::require_stdout("ls")?;
            let remote = Remote::new(&endpoint, &args.repo, options);
            ls::run(&remote, args, &ui, &reporter)
        }
        Command::Verify(_) | Command::Cache(_) => {
            unreachable!("verify and cache run before the server is set up")
        }
    }
}

/// Settings every command shares: how chatty to be, how to retry, and the cache to use.
#[derive(Debug)]
pub(crate) struct Ui {
    /// What to show on stderr.
    pub display: progress::Display,
    /// How to retry failed requests.
    pub retry: RetryPolicy,
    /// The cache of `--cache-dir`, if any.
    pub cache: Option<cache::Cache>,
}
