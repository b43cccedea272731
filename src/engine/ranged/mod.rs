//! Large files through `GET /chunk`: ranges fetched over several connections at once, each written at
//! its offset into one part file beside the target, hashed in order as the contiguous prefix completes,
//! and resumable across runs through a small state file.
//!
//! Files (in the target's directory, for target NAME):
//! - `.oxdl-resume-NAME.part`: the file's bytes at their offsets, preallocated (sparse) to the full size
//!   and locked while a run writes it;
//! - `.oxdl-resume-NAME.state`: JSON naming the commit, content hash and size, and the byte intervals
//!   already on disk, rewritten atomically (temp + rename) as each range finishes (at most every
//!   [`SAVE_SOON`]) and twice a second while ranges are under way.
//!
//! The state never names a byte before `pwrite` has put it in the part file: an interval is recorded
//! only after its write returned, and every save snapshots the record. After a SIGKILL the page cache
//! keeps those writes, so a rerun finds every byte the state names. Neither file is `fdatasync`ed: after
//! a power cut the state may name bytes that never reached the disk, and the whole-file hash check
//! catches that (the download then starts once more from nothing, see [`download`]). A sync at every
//! save would force up to `--connections` ranges of dirty pages to disk several times a second, in the
//! hasher's path, to spare a refetch after the rarest of failures.
//!
//! A later `get` of the same target and the same content fetches only what is missing. Both files go
//! when the file is published; a failure or Ctrl-C keeps them; `fsio::sweep_stale` removes them after a
//! week untouched.

mod fetch;
mod plan;
mod resume;
mod shared;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;

use crate::error::{Kind, fail, local};
use crate::server::remote::{Meta, Remote};
use crate::server::retry::RetryPolicy;
use crate::sync::lock;
use crate::term::progress::Progress;
use crate::transfer::Copied;

use fetch::Ctx;
pub(crate) use plan::{Intervals, plan};
pub(crate) use resume::keep_for_resume;
use resume::{Part, Registered};
use shared::Shared;

/// Files at least this large go through ranges when the server is elsewhere: two ranges of the default
/// size, the smallest file that parallel ranges can speed up.
const DEFAULT_THRESHOLD: u64 = 16 << 20;
/// Bytes read from a connection (and written to disk) at a time.
pub(super) const BLOCK: usize = 256 * 1024;
/// Bytes that arrived ahead of the hashed prefix and are held in memory until it reaches them, for each
/// connection (12 MiB for 8 keeps peak RSS under 32 MiB). Beyond this they are only on disk, and the
/// hasher reads them back once (from the page cache: they were just written). Bounds memory whatever
/// the range size, and in proportion to the connections, however many downloads run at once (`get -r`).
pub(super) const WINDOW_PER_CONNECTION: usize = 1536 * 1024;
/// How often the state file is rewritten while bytes arrive: a run killed outright loses at most this
/// much of each connection's transfer (of the ranges under way; finished ones are saved sooner).
pub(super) const SAVE_EVERY: Duration = Duration::from_millis(500);
/// How soon after a range finishes the state names it. Ranges finishing closer together than this are
/// saved together: with tiny ranges, a save per range would be a file written and renamed per range.
pub(super) const SAVE_SOON: Duration = Duration::from_millis(5);
/// The state file's format version.
pub(super) const STATE_VERSION: u32 = 1;

/// A connection gave up because the run is stopping (another failed): not a failure of its own.
#[derive(Debug)]
pub(super) struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped, as the download is ending")
    }
}

impl std::error::Error for Stopped {}

pub(super) fn is_stopped(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.is::<Stopped>())
}

/// How large files are fetched (from `get`'s options).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    /// Files at least this large go through ranges.
    pub threshold: u64,
    /// Bytes per range request.
    pub chunk_size: u64,
    /// Ranges fetched at once.
    pub connections: u32,
    /// Pick up what an earlier run left.
    pub resume: bool,
}

impl Settings {
    /// The threshold when none is given, for a server on this machine (`local`) or elsewhere.
    pub(crate) fn default_threshold(local: bool) -> u64 {
        // Parallel ranges pay off where one stream is capped (load balancers, long round trips); on
        // loopback nothing caps it, and measured on 2 cores they only cost CPU (bench/RESULTS.md).
        if local { u64::MAX } else { DEFAULT_THRESHOLD }
    }

    /// Whether a file of `size` bytes goes through ranges.
    pub(crate) fn applies(&self, size: u64) -> bool {
        size >= self.threshold
    }
}

/// One file to fetch by ranges.
pub(crate) struct Job<'a> {
    /// `REVISION/PATH`, pinned to a commit when the metadata named one, so every range comes from it.
    pub resource: &'a str,
    /// The content hash and size the bytes must have.
    pub meta: &'a Meta,
    /// The regular file to create or replace.
    pub target: &'a Path,
    /// Whether a larger run stopped (a fatal failure elsewhere in `get -r`): no new range or retry.
    pub stopped: &'a (dyn Fn() -> bool + Sync),
}

/// How a ranged download ended, when it did not fail.
pub(crate) enum Outcome {
    /// The file is in place, verified.
    Done(Done),
    /// The server has no `/chunk` route: nothing was written, the caller should use one stream.
    NoRoute,
}

/// What a finished ranged download did.
pub(crate) struct Done {
    /// The published bytes: size and hashes.
    pub copied: Copied,
    /// Bytes already on disk from an earlier run.
    pub resumed: u64,
    /// Range requests made, retries included.
    pub requests: u64,
    /// Connections used at once.
    pub connections: usize,
}

/// Downloads one file by ranges into `job.target`, verified against `job.meta` before it appears there;
/// the entry point for `get`, and for `get -r` for its large files. `progress` counts bytes (resumed
/// ones included) and takes the notes; `sha256` also computes SHA-256 on the way.
pub(crate) fn download(
    remote: &Remote,
    job: &Job,
    settings: &Settings,
    retry: RetryPolicy,
    progress: &Progress,
    sha256: bool,
) -> Result<Outcome> {
    match attempt(
        remote,
        job,
        settings,
        retry,
        progress,
        sha256,
        settings.resume,
    ) {
        // Bytes from an earlier run that do not check out may have been damaged on this disk (a power
        // cut after the state was written): once more from nothing before blaming the server.
        Err(Mismatch { resumed, err }) if resumed > 0 => {
            progress.note(format!(
                "oxdl: {err:#}; {resumed} bytes came from an earlier run, so downloading {} again \
                 from the start",
                job.target.display()
            ));
            // Everything this attempt counted (the whole file: its hash was taken) is counted again.
            progress.restart(job.meta.size, resumed);
            attempt(remote, job, settings, retry, progress, sha256, false).map_err(|m| m.err)
        }
        other => other.map_err(|m| m.err),
    }
}

/// A failed attempt, and how many of its bytes came from an earlier run (when the content did not match).
struct Mismatch {
    resumed: u64,
    err: anyhow::Error,
}

impl From<anyhow::Error> for Mismatch {
    fn from(err: anyhow::Error) -> Self {
        Mismatch { resumed: 0, err }
    }
}

fn attempt(
    remote: &Remote,
    job: &Job,
    settings: &Settings,
    retry: RetryPolicy,
    progress: &Progress,
    sha256: bool,
    resume: bool,
) -> std::result::Result<Outcome, Mismatch> {
    let size = job.meta.size;
    let part = Part::open(job.target)?;
    let done = part.prior_state(job, resume, progress);
    if done.is_empty() {
        // A state left for these bytes would name zeros once they are cleared: it goes first.
        let _ = std::fs::remove_file(&part.state);
        // Preallocated as a sparse file of the full size: positioned writes go anywhere in it, and a
        // filesystem that reserves blocks (fallocate) would gain little here.
        part.file
            .set_len(0)
            .and_then(|()| part.file.set_len(size))
            .map_err(|err| local(&err, format!("cannot write {}: {err}", part.path.display())))?;
    }
    let resumed = done.total();
    let shared = Arc::new(Shared::new(done));
    let registered = Registered::register(&part, job, &shared);
    registered.save(progress);
    if resumed > 0 {
        progress.resumed(resumed);
        progress.note(format!(
            "oxdl: resuming {}: {resumed} of {size} bytes are there from an earlier run",
            job.target.display()
        ));
    }
    let queue = plan(&shared.snapshot().missing(size), settings.chunk_size);
    let ctx = Ctx {
        remote,
        resource: job.resource,
        file: &part.file,
        shown: part.path.display().to_string(),
        queue: Mutex::new(queue.into()),
        shared: &shared,
        retry,
        progress,
        outer_stop: job.stopped,
        window: WINDOW_PER_CONNECTION * settings.connections as usize,
    };
    let workers = (settings.connections as usize).min(lock(&ctx.queue).len());
    let hashed = std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| ctx.work());
        }
        let hashed = ctx.hash_in_order(size, sha256, &registered);
        if hashed.is_err() {
            ctx.stop();
        }
        hashed
    });
    let state = lock(&shared.inner);
    let requests = state.requests;
    match hashed {
        Ok(copied) if copied.hash == job.meta.hash => {
            drop(state);
            registered.publish(job.target)?;
            Ok(Outcome::Done(Done {
                copied,
                resumed,
                requests,
                connections: workers,
            }))
        }
        Ok(copied) => {
            drop(state);
            registered.discard();
            Err(Mismatch {
                resumed,
                err: fail(
                    Kind::Integrity,
                    format!(
                        "the downloaded bytes ({} bytes, hash {:x}) do not match the server's metadata \
                         ({size} bytes, hash {:x}); nothing was written",
                        copied.bytes, copied.hash, job.meta.hash
                    ),
                ),
            })
        }
        Err(_) if state.no_route && state.fetched == 0 && resumed == 0 => {
            drop(state);
            registered.discard();
            Ok(Outcome::NoRoute)
        }
        Err(err) => {
            let kept = state.done.total();
            drop(state);
            if kept == 0 {
                // Nothing to resume from: no part or state to leave behind.
                registered.discard();
            } else {
                registered.save(progress);
                progress.note(format!(
                    "oxdl: kept {kept} of {size} bytes of {} in {}: the same command resumes there \
                     (--no-resume starts over)",
                    job.target.display(),
                    part.path.display()
                ));
            }
            Err(err.into())
        }
    }
}
