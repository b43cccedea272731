//! The command-line interface: the clap definitions, also used to generate completions and man pages.
//! Argument structs stop at `commands/`; the plain values they carry (sizes, shards, `--link`,
//! `--skip-existing`) are types of the layers that use them, which import nothing from here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::disk::store::Link;
use crate::engine::batch::{Shard, SkipExisting};
use crate::server::remote::RepoName;

mod values;
use values::parse_size;
use values::{parse_chunk_size, parse_max_size, parse_repo, parse_seconds, parse_shard};

/// The default server: the hosted Oxen hub.
pub const DEFAULT_HOST: &str = "https://hub.oxen.ai";

/// Download files from Oxen data repositories.
#[derive(Debug, Parser)]
#[command(
    name = "oxdl",
    version,
    about = "Download files from Oxen data repositories",
    long_about = "Download files from Oxen data repositories (oxen-server or the hosted hub).\n\n\
                  `oxdl get` fetches one file by path, or a directory tree with -r; `oxdl batch` fetches \
                  many files by content hash, streaming the server's tarball straight to disk and verifying \
                  every file; `oxdl ls` lists a directory as the hash list batch reads; `oxdl verify` checks \
                  files on disk against such a list, offline. With --cache-dir, every file fetched is kept in a cache \
                  shared by all runs and is not downloaded again (`oxdl cache` looks after it).",
    after_long_help = crate::error::exit_code_help(),
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Server to talk to: HOST[:PORT] or a full base URL.
    ///
    /// A bare localhost, 127.0.0.1 or 0.0.0.0 means plain http; any other bare host means https. An IPv6
    /// address goes in brackets ([::1]:3000). A URL may carry USER:PASSWORD@ for a reverse proxy that asks
    /// for Basic auth (sent only when there is no token; the password is never shown). OXDL_HOST set but
    /// empty means the default.
    #[arg(
        long,
        global = true,
        env = "OXDL_HOST",
        hide_env_values = true,
        value_name = "HOST",
        default_value = DEFAULT_HOST
    )]
    pub host: String,

    /// Bearer token for the server (otherwise read from the oxen auth_config.toml).
    #[arg(
        long,
        global = true,
        env = "OXDL_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,

    /// Directory holding the official client's auth_config.toml [default: ~/.config/oxen].
    #[arg(
        long,
        global = true,
        env = "OXEN_CONFIG_DIR",
        hide_env_values = true,
        value_name = "DIR"
    )]
    pub config_dir: Option<PathBuf>,

    /// Print nothing but errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none.
    #[arg(long, global = true, value_name = "HOW", value_enum, default_value_t = crate::term::progress::ProgressMode::Auto)]
    pub progress: crate::term::progress::ProgressMode,

    /// Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY
    /// names the host).
    #[arg(long, global = true, value_name = "URL")]
    pub proxy: Option<String>,

    /// Also trust the certificate authorities in this PEM file (for a private or corporate CA).
    #[arg(
        long,
        global = true,
        env = "SSL_CERT_FILE",
        hide_env_values = true,
        value_name = "FILE"
    )]
    pub cacert: Option<PathBuf>,

    /// Print one JSON object per file, then a summary object, on stdout (and nothing else there).
    #[arg(long, global = true)]
    pub json: bool,

    /// Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory).
    #[arg(long, global = true, value_name = "FILE")]
    pub checksums: Option<PathBuf>,

    /// Log every request and answer on stderr (tokens and passwords are never shown).
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx).
    #[arg(long, global = true, env = "OXDL_RETRIES", hide_env_values = true, value_name = "N", default_value_t = crate::server::retry::DEFAULT_RETRIES)]
    pub retries: u32,

    /// Seconds allowed for establishing a connection.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 30.0, value_parser = parse_seconds)]
    pub connect_timeout: f64,

    /// Seconds without any data from the server before a transfer counts as failed (no limit on total time).
    #[arg(long, global = true, value_name = "SECS", default_value_t = 60.0, value_parser = parse_seconds)]
    pub timeout: f64,

    /// Keep every file downloaded in this content-addressed cache, and put files the cache holds in place
    /// from it instead of downloading them (get, batch, get -r). Shared by every run, output directory
    /// and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none.
    #[arg(
        long,
        global = true,
        env = "OXDL_CACHE_DIR",
        hide_env_values = true,
        value_name = "DIR",
        help_heading = "Cache",
        // Not PathBuf's own parser, which refuses the empty value that means no cache.
        value_parser = clap::builder::TypedValueParser::map(clap::builder::OsStringValueParser::new(), PathBuf::from)
    )]
    pub cache_dir: Option<PathBuf>,

    /// How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can,
    /// else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same
    /// read-only files, so editing one after chmod edits the other).
    #[arg(long, global = true, value_name = "HOW", value_enum, default_value_t = Link::Reflink, help_heading = "Cache")]
    pub link: Link,

    /// Put files from the cache in place without hashing them first (faster; a damaged entry is then not
    /// noticed).
    #[arg(long, global = true, help_heading = "Cache")]
    pub trust_cache: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Download one file by its path at a revision, or a directory tree with -r.
    Get(GetArgs),
    /// Download many files by content hash.
    Batch(BatchArgs),
    /// List files as `HASH PATH` lines, the list `oxdl batch` reads.
    Ls(LsArgs),
    /// Check files on disk against a hash list, offline: no server, no token.
    Verify(VerifyArgs),
    /// Look after the cache of --cache-dir: its size, and evicting what was used least recently.
    Cache(CacheArgs),
}

/// Arguments of `oxdl cache`.
#[derive(Debug, Args)]
#[command(
    after_long_help = "The cache is the directory of --cache-dir (or OXDL_CACHE_DIR); no server is \
    contacted and no token is read.\n\n\
    Examples:\n  \
    oxdl --cache-dir ~/.cache/oxdl cache info\n  \
    OXDL_CACHE_DIR=/ci/cache oxdl cache prune --max-size 10G"
)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: CacheAction,
}

/// What `oxdl cache` does.
#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Print how many files the cache holds and their bytes.
    Info,
    /// Evict the least recently used files until the cache holds at most SIZE.
    Prune {
        /// The most the cache may hold afterwards: bytes, or a number with K, M, G or T (powers of 1024),
        /// e.g. 500M, 10G, 1.5T.
        #[arg(long, value_name = "SIZE", value_parser = parse_max_size)]
        max_size: u64,
    },
}

/// Arguments of `oxdl verify`.
#[derive(Debug, Args)]
#[command(
    after_long_help = "Reads the list `oxdl batch` reads (HASH, or HASH PATH; quoted paths; -0) and \
    hashes each destination below DIR with XXH3-128. Each file that is not right is printed on stdout as \
    `mismatch PATH` or `missing PATH`, in list order, PATH quoted as the list quotes it; nothing for files \
    that match. A directory, symbolic link or special file where the file should be is a mismatch, as \
    batch would replace it. No server is contacted and no token or config is read.\n\n\
    Exit status: 0 every file matches; 6 some file does not match (or is not a regular file); 5 files are \
    only missing; 1 a file could not be read (reported as a mismatch, the reason on stderr); 2 a bad list, \
    or a PATH through a symbolic link inside DIR (refused, as batch refuses it).\n\n\
    Examples:\n  \
    oxdl verify hashes.txt -C data/\n  \
    oxdl ls ox/demo main -r | oxdl verify -C data/ --checksums sums.txt"
)]
pub struct VerifyArgs {
    /// File with the hash list, or - for stdin [default: stdin, when it is not a terminal].
    #[arg(value_name = "LIST")]
    pub list: Option<PathBuf>,

    /// Directory holding the files (the PATHs of the list are relative to it).
    #[arg(
        short = 'C',
        long = "dir",
        visible_alias = "output-dir",
        value_name = "DIR",
        default_value = "."
    )]
    pub dir: PathBuf,

    /// Files to hash at once [default: the number of CPUs].
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: Option<u32>,

    /// Read NUL-separated entries (`HASH PATH\0`, as `oxdl ls -0` writes), each PATH taken literally.
    #[arg(short = '0', long = "null")]
    pub null: bool,
}

/// Arguments of `oxdl ls`.
#[derive(Debug, Args)]
#[command(
    after_long_help = "Paths are relative to the listed directory, so a listing piped into \
    `oxdl batch` recreates the tree:\n  \
    oxdl ls ox/demo main/images -r | oxdl batch ox/demo -C images\n\n\
    A name with leading or trailing whitespace, a control character or a leading \" is written in \
    double quotes with C escapes (\\n, \\t, \\\", \\\\, \\xHH), which batch reads back. With -0, entries \
    end with NUL and names are written as they are:\n  \
    oxdl ls ox/demo main -r -0 | oxdl batch ox/demo -0 -C copy\n\n\
    A file instead of a directory lists that one file. --include and --exclude choose files by the \
    rules of .gitignore, as for get -r (a name alone matches at any depth, a slash anchors):\n  \
    oxdl ls ox/demo main -r --include '*.csv' --exclude '/scratch/'"
)]
pub struct LsArgs {
    /// Repository as NAMESPACE/NAME.
    #[arg(value_name = "NAMESPACE/REPO", value_parser = parse_repo)]
    pub repo: RepoName,

    /// Revision (branch or commit id), optionally followed by a directory, e.g. main/images.
    #[arg(value_name = "REVISION[/PATH]")]
    pub resource: String,

    /// List the files of subdirectories too.
    #[arg(short, long)]
    pub recursive: bool,

    /// For people: size, hash and path, and the directories.
    #[arg(short, long)]
    pub long: bool,

    /// End each entry with NUL instead of a newline and write names as they are, unquoted (for `batch -0`).
    #[arg(short = '0', long = "null", conflicts_with = "long")]
    pub null: bool,

    #[command(flatten)]
    pub filters: Filters,
}

/// Arguments of `oxdl get`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:\n  \
    oxdl get ox/demo main/images/cat.png\n  \
    oxdl get ox/demo main/data.csv -o - | head\n  \
    oxdl get ox/demo feature/x/hello.txt -o out/hello.txt\n  \
    oxdl get ox/demo main/images/cat.png --width 64 --height 64 -o thumb.png\n  \
    oxdl get ox/demo main/images -r                  # the tree, into ./images\n  \
    oxdl get ox/demo main -r --include '*.csv'       # every CSV file of the revision, at any depth\n  \
    oxdl get ox/demo main -r --exclude 'cache/'      # all but the directories named cache\n  \
    oxdl get ox/demo main/images -r --dry-run        # what would be fetched")]
pub struct GetArgs {
    /// Repository as NAMESPACE/NAME.
    #[arg(value_name = "NAMESPACE/REPO", value_parser = parse_repo)]
    pub repo: RepoName,

    /// Revision (branch or commit id) followed by the file's path, e.g. main/images/cat.png; with -r, a
    /// directory's path, or nothing for the whole revision.
    #[arg(value_name = "REVISION/PATH")]
    pub resource: String,

    /// Where to write the file: a path, an existing directory, or - for stdout [default: the file's name].
    /// With -r, the directory to write the tree into [default: the directory's name, or the repository's
    /// for a whole revision].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Resize an image to this width (alone: fit inside a WIDTH x WIDTH box).
    #[arg(long, value_name = "W", value_parser = clap::value_parser!(u32).range(1..))]
    pub width: Option<u32>,

    /// Resize an image to this height (alone: fit inside a HEIGHT x HEIGHT box).
    #[arg(long, value_name = "H", value_parser = clap::value_parser!(u32).range(1..))]
    pub height: Option<u32>,

    /// Skip checking the bytes against the content hash and size in the server's metadata.
    #[arg(long)]
    pub no_verify: bool,

    /// Download the tree under REVISION/PATH into a directory (REVISION alone: the whole revision).
    #[arg(short, long)]
    pub recursive: bool,

    #[command(flatten)]
    pub filters: Filters,

    /// With -r: print what would be fetched (HASH PATH SIZE, or JSON with --json) and the totals; fetch nothing.
    #[arg(long, requires = "recursive")]
    pub dry_run: bool,

    /// With -r: hashes per request [default: 1000].
    #[arg(long, value_name = "N", requires = "recursive", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: Option<u32>,

    /// With -r: requests to run at once [default: 4].
    #[arg(short = 'j', long, value_name = "N", requires = "recursive", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: Option<u32>,

    /// With -r: how to tell that a file already present need not be fetched again [default: hash].
    #[arg(long, value_name = "HOW", value_enum, requires = "recursive")]
    pub skip_existing: Option<SkipExisting>,

    /// With -r: only the files whose content hash falls in shard K of N (see `oxdl batch --help`).
    #[arg(long, value_name = "K/N", requires = "recursive", value_parser = parse_shard)]
    pub shard: Option<Shard>,

    /// Files at least this large (K, M, G: KiB, MiB, GiB) are fetched in parallel ranges through the
    /// server's /chunk route, resumable across runs; smaller ones in one stream (with -r: in batch
    /// requests) [default: 16M; for a server on this machine (localhost, loopback), off: one stream is
    /// faster there].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub chunk_threshold: Option<u64>,

    /// Size of each range of a ranged download (the last one is shorter).
    #[arg(long, value_name = "SIZE", default_value = "8M", value_parser = parse_chunk_size)]
    pub chunk_size: u64,

    /// Ranges fetched at once, each over its own connection. With -r, one budget for the whole run: at
    /// most the larger of -j and --connections connections at once, a batch request taking one and a
    /// large file as many as are free.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub connections: u32,

    /// Discard what an earlier, interrupted download of this file left, and start from byte 0.
    #[arg(long)]
    pub no_resume: bool,
}

/// Which files of a listing to keep: `--include` and `--exclude` patterns on paths relative to the listed
/// directory, by the rules of `.gitignore` (see the `filter` module of `commands`).
#[derive(Debug, Args, Default)]
pub struct Filters {
    /// Only files matching PATTERN, by the rules of .gitignore: '*.bin' is every .bin file at any depth.
    /// Repeatable: a file matching any is kept.
    ///
    /// PATTERN applies to paths relative to the listed directory. Without a slash it matches a name at
    /// any depth, a file's or a directory's, which then covers all below it ('nested': everything in any
    /// directory named nested); a slash at the start or in the middle anchors it to the listed directory
    /// ('/top.txt', 'data/*.csv'); a trailing slash matches directories only ('cache/'); * stays within a
    /// name, ** spans directories ('a/**/b'). When no file is kept, or a pattern matched nothing, oxdl
    /// says so on stderr; the exit code stays 0.
    #[arg(long, value_name = "PATTERN")]
    pub include: Vec<String>,

    /// Leave out files matching PATTERN, or below a directory matching it (the rules of --include);
    /// beats --include. Repeatable.
    ///
    /// 'nested' leaves out every directory named nested, at any depth, with all below it; '/top.txt'
    /// only the top.txt of the listed directory. A directory below which nothing can be kept is not even
    /// listed.
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
}

/// Arguments of `oxdl batch`.
#[derive(Debug, Args)]
#[command(
    after_long_help = "The hash list holds one entry a line: HASH, or HASH PATH to choose where the \
    file goes (relative to the output directory). Blank lines and lines starting with # are skipped. \
    A PATH in double quotes is read with C escapes (\\n, \\t, \\\", \\\\, \\xHH, \\NNN), as `oxdl ls` \
    writes names with leading or trailing whitespace or control characters. With -0, entries are \
    HASH PATH records ending with NUL, the PATH taken literally.\n\n\
    Examples:\n  \
    oxdl batch ox/demo hashes.txt -C data/\n  \
    cut -d' ' -f1 manifest.txt | oxdl batch ox/demo -C data/"
)]
pub struct BatchArgs {
    /// Repository as NAMESPACE/NAME.
    #[arg(value_name = "NAMESPACE/REPO", value_parser = parse_repo)]
    pub repo: RepoName,

    /// File with the hash list, or - for stdin [default: stdin, when it is not a terminal].
    #[arg(value_name = "HASH_FILE")]
    pub hash_file: Option<PathBuf>,

    /// Directory to write the files into (created if missing).
    #[arg(
        short = 'C',
        long = "output-dir",
        value_name = "DIR",
        default_value = "."
    )]
    pub output_dir: PathBuf,

    /// Hashes per request: a failed request costs at most this many files.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,

    /// Requests to run at once (each its own stream, decoded on its own thread).
    #[arg(short = 'j', long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,

    /// Read NUL-separated entries (`HASH PATH\0`, as `oxdl ls -0` writes), each PATH taken literally.
    #[arg(short = '0', long = "null")]
    pub null: bool,

    /// How to tell that a file already present need not be fetched again.
    #[arg(long, value_name = "HOW", value_enum, default_value_t = SkipExisting::Hash)]
    pub skip_existing: SkipExisting,

    /// Print what would be fetched (HASH PATH SIZE, or JSON with --json) and the totals; fetch nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Only the files whose content hash falls in shard K of N (0 <= K < N): N machines given the same
    /// list fetch disjoint parts that together make the whole.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_zero_size_is_refused_at_parse_time() {
        for flag in ["--width", "--height"] {
            let args = ["oxdl", "get", "ox/demo", "main/a.png", flag];
            let err = Cli::try_parse_from(args.iter().copied().chain(["0"])).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{flag}");
            assert!(Cli::try_parse_from(args.iter().copied().chain(["1"])).is_ok());
        }
    }
}
