//! The commands: each file turns one subcommand's clap arguments into plain settings and runs it.
//! Lives here: `get`, `get -r` (`tree`), `ls`, `batch`, `verify`, `cache`, and the `--include`/`--exclude`
//! filters they share. May import everything below: `engine`, `server`, `term`, `disk`, and the base.

pub(crate) mod batch;
pub(crate) mod cache;
mod filter;
pub(crate) mod get;
pub(crate) mod ls;
mod tree;
pub(crate) mod verify;

use std::time::Duration;

use anyhow::Result;

use crate::cli::{self, GetArgs, GlobalArgs};
use crate::engine::{Ui, ranged};
use crate::server::remote::{self, Remote, RepoName};
use crate::server::retry::RetryPolicy;
use crate::server::{auth, endpoint, proxy, tls};
use crate::term::report::Reporter;
use crate::term::{output, progress};

/// The repository on the server that the global options name, with the settings every command shares.
pub(crate) fn connect(global: &GlobalArgs, repo: &RepoName) -> Result<(Remote, Ui, Reporter)> {
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
        cache: cache::store_settings(global),
    };
    let reporter = Reporter::new(global.json, global.checksums.clone());
    if global.json {
        output::require_stdout("--json")?;
    }
    Ok((Remote::new(&endpoint, repo, options), ui, reporter))
}

/// How large files are fetched, as `get`'s options ask.
fn ranged_settings(args: &GetArgs, remote: &Remote) -> ranged::Settings {
    ranged::Settings {
        threshold: args
            .chunk_threshold
            .unwrap_or_else(|| ranged::Settings::default_threshold(remote.is_local())),
        chunk_size: args.chunk_size,
        connections: args.connections,
        resume: !args.no_resume,
    }
}
