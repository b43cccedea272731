//! `oxdl-testserver DIR`: serves a directory as an Oxen repository on this machine, for demos and benchmarks.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use oxdl_testserver::{Config, Repo, Server};

/// Serve a directory as an Oxen repository (branch `main`) over HTTP, the way oxen-server does.
#[derive(Parser)]
#[command(name = "oxdl-testserver", version)]
struct Args {
    /// Directory whose files make up the repository.
    dir: PathBuf,

    /// Port to listen on; 0 picks a free one (printed on start).
    #[arg(long, default_value_t = 0)]
    port: u16,

    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,

    /// Repository name, NAMESPACE/NAME.
    #[arg(long, default_value = "ox/demo")]
    repo: String,

    /// Require this bearer token.
    #[arg(long)]
    token: Option<String>,

    /// gzip level of batch answers (the real server uses 6).
    #[arg(long, default_value_t = 6)]
    gzip_level: u32,

    /// Replay batch answers from this directory when the same list is asked again.
    #[arg(long, value_name = "DIR")]
    archive_cache: Option<PathBuf>,

    /// Pace each response body to this many bytes per second (every connection on its own), to model a
    /// WAN path where one stream is capped.
    #[arg(long, value_name = "BYTES_PER_SEC")]
    rate: Option<u64>,

    /// Answer `/chunk` (ranged downloads) with the generic 404, as a server without the route.
    #[arg(long)]
    no_chunk: bool,

    /// Write the repository's `HASH PATH` lines (the list `oxdl batch` reads) to this file.
    #[arg(long, value_name = "FILE")]
    write_list: Option<PathBuf>,

    /// Also serve N small generated files under `generated/`, in a wide and deep tree.
    #[arg(long, value_name = "N", default_value_t = 0)]
    generate: usize,

    /// Model a WAN path's round-trip time of MS milliseconds: answer each request MS late, and hold
    /// each new connection MS before reading its first request (the TCP handshake). A request on a new
    /// connection so takes 2 × MS, one on a kept-alive connection MS. Each connection waits on its own,
    /// so concurrent requests overlap.
    #[arg(long, value_name = "MS")]
    latency: Option<u64>,

    /// Print a line on stderr for each request as it arrives: the connection's number, whether it is
    /// new or reused, the method and the target.
    #[arg(long)]
    log_requests: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let (namespace, name) = args
        .repo
        .split_once('/')
        .context("--repo must be NAMESPACE/NAME")?;
    let repo = Repo::from_dir_and_generated(namespace, name, &args.dir, args.generate)?;
    let listing = repo.listing(
        &repo
            .resolve(&["main", ""])
            .map(|(c, _)| c)
            .unwrap_or_default(),
    );
    if let Some(path) = &args.write_list {
        let lines: String = listing
            .iter()
            .map(|(hash, p)| format!("{hash} {p}\n"))
            .collect();
        std::fs::write(path, lines).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let config = Config {
        token: args.token,
        gzip_level: args.gzip_level,
        archive_cache: args.archive_cache,
        rate: args.rate,
        chunk_route: !args.no_chunk,
        latency: args.latency.map(Duration::from_millis),
        log_requests: args.log_requests,
        ..Config::default()
    };
    let server = Server::start(repo, config, &args.bind, args.port)
        .with_context(|| format!("cannot listen on {}:{}", args.bind, args.port))?;
    // The URL alone on the first line, for scripts; a person gets the rest on stderr.
    println!("{}", server.url);
    std::io::stdout().flush()?;
    eprintln!(
        "oxdl-testserver: serving {} file(s) of {} as {} at {} (Ctrl-C stops)",
        listing.len(),
        args.dir.display(),
        args.repo,
        server.url
    );
    loop {
        std::thread::park();
    }
}
