//! Large files through `GET /chunk`: ranges fetched over several connections at once, each written at
//! its offset into one part file beside the target, hashed in order as the contiguous prefix completes,
//! and resumable across runs through a small state file.
//!
//! Files (in the target's directory, for target NAME):
//! - `.oxdl-resume-NAME.part`: the file's bytes at their offsets, preallocated (sparse) to the full size
//!   and locked while a run writes it;
//! - `.oxdl-resume-NAME.state`: JSON naming the commit, content hash and size, and the byte intervals
//!   already on disk, rewritten atomically (temp + rename) twice a second.
//!
//! A later `get` of the same target and the same content fetches only what is missing. Both files go
//! when the file is published; a failure or Ctrl-C keeps them; `fsio::sweep_stale` removes them after a
//! week untouched.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::disk::fsio::{self, RESUME_PREFIX};
use crate::error::{Kind, fail, local, most_serious, transient};
use crate::server::remote::{Chunk, Meta, Remote};
use crate::server::retry::RetryPolicy;
use crate::sync::lock;
use crate::term::progress::Progress;
use crate::transfer::{Copied, Digests, read_failure, write_failure};

/// Files at least this large go through ranges when the server is elsewhere: two ranges of the default
/// size, the smallest file that parallel ranges can speed up.
const DEFAULT_THRESHOLD: u64 = 16 << 20;
/// Bytes read from a connection (and written to disk) at a time.
const BLOCK: usize = 256 * 1024;
/// Bytes that arrived ahead of the hashed prefix and are held in memory until it reaches them, for each
/// connection (12 MiB for 8 keeps peak RSS under 32 MiB). Beyond this they are only on disk, and the
/// hasher reads them back once (from the page cache: they were just written). Bounds memory whatever
/// the range size, and in proportion to the connections, however many downloads run at once (`get -r`).
const WINDOW_PER_CONNECTION: usize = 1536 * 1024;
/// How often the state file is rewritten while bytes arrive: a run killed outright loses at most this
/// much of each connection's transfer.
const SAVE_EVERY: Duration = Duration::from_millis(500);
/// The state file's format version.
const STATE_VERSION: u32 = 1;

/// A connection gave up because the run is stopping (another failed): not a failure of its own.
#[derive(Debug)]
struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped, as the download is ending")
    }
}

impl std::error::Error for Stopped {}

fn is_stopped(err: &anyhow::Error) -> bool {
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

/// Splits the `missing` intervals into requests of at most `chunk` bytes, in file order. The last
/// request of an interval ends exactly where it does: real servers answer 500 for a range past the end.
pub(crate) fn plan(missing: &[Range<u64>], chunk: u64) -> Vec<Range<u64>> {
    let chunk = chunk.max(1);
    let mut ranges = Vec::new();
    for interval in missing {
        let mut start = interval.start;
        while start < interval.end {
            let end = interval.end.min(start.saturating_add(chunk));
            ranges.push(start..end);
            start = end;
        }
    }
    ranges
}

/// Disjoint, sorted, merged byte intervals: what is on disk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Intervals(Vec<Range<u64>>);

impl Intervals {
    /// Adds `range`, merging it with the intervals it touches.
    pub(crate) fn insert(&mut self, range: Range<u64>) {
        if range.is_empty() {
            return;
        }
        // The first interval that ends at or after the new start may touch it.
        let first = self.0.partition_point(|r| r.end < range.start);
        let mut last = first;
        let mut merged = range;
        while last < self.0.len() && self.0[last].start <= merged.end {
            merged.start = merged.start.min(self.0[last].start);
            merged.end = merged.end.max(self.0[last].end);
            last += 1;
        }
        self.0.splice(first..last, [merged]);
    }

    /// The end of the interval holding `pos`, if one does.
    fn end_from(&self, pos: u64) -> Option<u64> {
        let i = self.0.partition_point(|r| r.end <= pos);
        self.0.get(i).filter(|r| r.start <= pos).map(|r| r.end)
    }

    /// What `[0, size)` lacks.
    pub(crate) fn missing(&self, size: u64) -> Vec<Range<u64>> {
        let mut gaps = Vec::new();
        let mut at = 0;
        for r in &self.0 {
            if r.start > at {
                gaps.push(at..r.start.min(size));
            }
            at = at.max(r.end);
        }
        if at < size {
            gaps.push(at..size);
        }
        gaps
    }

    /// Bytes covered.
    pub(crate) fn total(&self) -> u64 {
        self.0.iter().map(|r| r.end - r.start).sum()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// From a state file's pairs: `None` unless they are sorted, disjoint, non-empty and inside `size`.
    fn from_pairs(pairs: &[[u64; 2]], size: u64) -> Option<Self> {
        let mut at = 0;
        let mut out = Vec::with_capacity(pairs.len());
        for &[start, end] in pairs {
            if start < at || start >= end || end > size {
                return None;
            }
            out.push(start..end);
            at = end;
        }
        let mut merged = Intervals::default();
        for r in out {
            merged.insert(r);
        }
        Some(merged)
    }

    fn pairs(&self) -> Vec<[u64; 2]> {
        self.0.iter().map(|r| [r.start, r.end]).collect()
    }
}

/// The state file's content.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    oxdl_resume: u32,
    /// The commit the bytes come from, when the metadata named it.
    commit: Option<String>,
    /// `REVISION/PATH` as requested (pinned).
    resource: String,
    /// XXH3-128 of the whole file, as the server writes it.
    hash: String,
    size: u64,
    /// `[start, end)` byte intervals already in the part file.
    done: Vec<[u64; 2]>,
}

/// The part file of one target, locked by this run.
struct Part {
    file: File,
    path: PathBuf,
    state: PathBuf,
}

impl Part {
    /// Opens (or creates) the part file beside `target` and takes its lock.
    fn open(target: &Path) -> Result<Part> {
        let dir = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        fsio::create_dirs(dir)?;
        let (path, state) = resume_paths(target);
        // Only a regular file of ours is a part: a link planted under its name would carry the bytes
        // (and the published file) out of the directory, so it goes, and is never followed.
        if std::fs::symlink_metadata(&path).is_ok_and(|meta| !meta.is_file()) {
            let _ = std::fs::remove_file(&path);
        }
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NOFOLLOW);
        }
        let file = options.open(&path).map_err(|err| {
            local(
                &err,
                format!("cannot create a file in {}: {err}", dir.display()),
            )
        })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(fail(
                    Kind::Other,
                    format!(
                        "another oxdl is downloading {} right now (it holds {}); wait for it to \
                         finish, or write this one elsewhere",
                        target.display(),
                        path.display()
                    ),
                ));
            }
            // A filesystem without locks only loses the protection against two runs at once.
            Err(std::fs::TryLockError::Error(_)) => {}
        }
        // Only now, with the lock held, can a sweep of the directory not take this part for stale.
        fsio::sweep_stale(dir);
        Ok(Part { file, path, state })
    }

    /// What an earlier run left for this content: its intervals, or nothing (discarding a state for
    /// other content, a damaged one, or all of it when not resuming).
    fn prior_state(&self, job: &Job, resume: bool, progress: &Progress) -> Intervals {
        if !resume {
            return Intervals::default();
        }
        let text = match std::fs::read(&self.state) {
            Ok(text) => text,
            Err(_) => return Intervals::default(),
        };
        let size = job.meta.size;
        let parsed: Option<State> = serde_json::from_slice(&text).ok();
        let on_disk = self.file.metadata().map(|m| m.len()).unwrap_or(0);
        let why = match parsed {
            None => "its state file is damaged",
            Some(state)
                if state.oxdl_resume != STATE_VERSION
                    || u128::from_str_radix(&state.hash, 16).ok() != Some(job.meta.hash)
                    || state.size != size =>
            {
                "it was for other content"
            }
            Some(_) if on_disk != size => "its part file has the wrong size",
            Some(state) => match Intervals::from_pairs(&state.done, size) {
                Some(done) => return done,
                None => "its state file is damaged",
            },
        };
        progress.note(format!(
            "oxdl: discarded an unfinished download of {}: {why}",
            job.target.display()
        ));
        Intervals::default()
    }
}

/// The part and state file names of `target`: the target's name after a fixed prefix, so a person
/// can tell what they are and the next run finds them; a hash of the name when it is too long.
fn resume_paths(target: &Path) -> (PathBuf, PathBuf) {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = if name.len() > 200 {
        format!("{:016x}", xxhash_rust::xxh3::xxh3_64(name.as_bytes()))
    } else {
        name
    };
    let dir = target.parent().unwrap_or(Path::new(""));
    (
        dir.join(format!("{RESUME_PREFIX}{name}.part")),
        dir.join(format!("{RESUME_PREFIX}{name}.state")),
    )
}

/// What the connections and the hasher share.
struct Shared {
    inner: Mutex<Inner>,
    /// Wakes the hasher when a block arrives or the run stops.
    wake: Condvar,
    stop: AtomicBool,
}

struct Inner {
    /// Bytes on disk (from this run and earlier ones).
    done: Intervals,
    /// Blocks of this run not yet hashed, by offset, held in memory within [`WINDOW`].
    /// Each block is a whole buffer and the length used: buffers move between the connections and the
    /// hasher instead of being copied.
    pending: BTreeMap<u64, (Vec<u8>, usize)>,
    pending_bytes: usize,
    /// Buffers the hasher is done with, for the connections to read into again.
    spare: Vec<Vec<u8>>,
    /// Where the hasher is: every byte before this is hashed or being hashed.
    hashed: u64,
    /// Bytes fetched by this run.
    fetched: u64,
    requests: u64,
    /// The server answered the generic 404 for a range.
    no_route: bool,
    failures: Vec<anyhow::Error>,
}

impl Shared {
    fn new(done: Intervals) -> Self {
        Shared {
            inner: Mutex::new(Inner {
                done,
                pending: BTreeMap::new(),
                pending_bytes: 0,
                spare: Vec::new(),
                hashed: 0,
                fetched: 0,
                requests: 0,
                no_route: false,
                failures: Vec::new(),
            }),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
        }
    }

    fn snapshot(&self) -> Intervals {
        lock(&self.inner).done.clone()
    }
}

/// A download in progress, known to the Ctrl-C handler so that it can save the latest state.
struct Registered {
    part: PathBuf,
    state_path: PathBuf,
    header: State,
    shared: Arc<Shared>,
    /// Set once the save failed and was reported, so a full disk is said once.
    save_failed: AtomicBool,
}

/// Downloads under way, for [`keep_for_resume`].
static ACTIVE: Mutex<Vec<Arc<Registered>>> = Mutex::new(Vec::new());

/// Saves the state of every ranged download under way and returns their part files: for the signal
/// handler, which removes other temp files but keeps these for the next run.
pub(crate) fn keep_for_resume() -> Vec<PathBuf> {
    let active = lock(&ACTIVE);
    for download in active.iter() {
        let _ = download.write_state();
    }
    active.iter().map(|d| d.part.clone()).collect()
}

/// Registration in [`ACTIVE`], removed on drop.
struct RegisteredGuard(Arc<Registered>);

impl std::ops::Deref for RegisteredGuard {
    type Target = Registered;

    fn deref(&self) -> &Registered {
        &self.0
    }
}

impl Drop for RegisteredGuard {
    fn drop(&mut self) {
        lock(&ACTIVE).retain(|d| !Arc::ptr_eq(d, &self.0));
    }
}

impl Registered {
    fn register(part: &Part, job: &Job, shared: &Arc<Shared>) -> RegisteredGuard {
        let commit = job
            .resource
            .split_once('/')
            .map(|(c, _)| c)
            .filter(|c| c.len() >= 32 && c.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_string);
        let registered = Arc::new(Registered {
            part: part.path.clone(),
            state_path: part.state.clone(),
            header: State {
                oxdl_resume: STATE_VERSION,
                commit,
                resource: job.resource.to_string(),
                hash: format!("{:x}", job.meta.hash),
                size: job.meta.size,
                done: Vec::new(),
            },
            shared: shared.clone(),
            save_failed: AtomicBool::new(false),
        });
        lock(&ACTIVE).push(registered.clone());
        RegisteredGuard(registered)
    }

    /// Writes the state atomically: a temp file renamed over the old state.
    fn write_state(&self) -> std::io::Result<()> {
        let done = self.shared.snapshot().pairs();
        let state = State {
            oxdl_resume: STATE_VERSION,
            commit: self.header.commit.clone(),
            resource: self.header.resource.clone(),
            hash: self.header.hash.clone(),
            size: self.header.size,
            done,
        };
        let text = serde_json::to_vec(&state).map_err(std::io::Error::other)?;
        let temp = self.state_path.with_extension("state.new");
        // Made afresh, never through anything (a link, say) already under its name; the rename then
        // replaces whatever is at the state's name without following it.
        match std::fs::remove_file(&temp) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        std::io::Write::write_all(&mut file, &text)?;
        drop(file);
        std::fs::rename(&temp, &self.state_path)
    }

    /// Writes the state, saying once if it cannot.
    fn save(&self, progress: &Progress) {
        if let Err(err) = self.write_state()
            && !self.save_failed.swap(true, Ordering::Relaxed)
        {
            progress.note(format!(
                "oxdl: warning: cannot save the progress of {} in {}: {err}; an interrupted download \
                 will start over",
                self.part.display(),
                self.state_path.display()
            ));
        }
    }

    /// Moves the verified part onto the target and removes the state.
    fn publish(&self, target: &Path) -> Result<()> {
        if let Err(err) = std::fs::rename(&self.part, target) {
            let why = if target.is_dir() {
                "a directory is in the way".to_string()
            } else {
                err.to_string()
            };
            return Err(local(
                &err,
                format!("cannot write {}: {why}", target.display()),
            ));
        }
        self.remove_state();
        Ok(())
    }

    /// Removes part and state: their bytes are of no use.
    fn discard(&self) {
        let _ = std::fs::remove_file(&self.part);
        self.remove_state();
    }

    fn remove_state(&self) {
        let _ = std::fs::remove_file(&self.state_path);
        let _ = std::fs::remove_file(self.state_path.with_extension("state.new"));
    }
}

/// One run's connections and hasher, over one part file.
struct Ctx<'a> {
    remote: &'a Remote,
    resource: &'a str,
    file: &'a File,
    /// The part file as shown in messages.
    shown: String,
    /// Ranges not yet taken, in file order.
    queue: Mutex<VecDeque<Range<u64>>>,
    shared: &'a Shared,
    retry: RetryPolicy,
    progress: &'a Progress,
    /// See [`Job::stopped`].
    outer_stop: &'a (dyn Fn() -> bool + Sync),
    /// Bytes of blocks ahead of the hashed prefix that may wait in memory.
    window: usize,
}

impl Ctx<'_> {
    fn stopped(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed) || (self.outer_stop)()
    }

    fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.wake.notify_all();
    }

    /// One connection: takes ranges in file order until none is left or the run stops.
    fn work(&self) {
        let mut buf = vec![0; BLOCK];
        loop {
            let Some(range) = lock(&self.queue).pop_front().filter(|_| !self.stopped()) else {
                return;
            };
            if let Err(err) = self.fetch(range, &mut buf) {
                if !is_stopped(&err) {
                    lock(&self.shared.inner).failures.push(err);
                }
                self.stop();
                return;
            }
        }
    }

    /// Fetches one range, retrying on its own; a cut range asks only for the rest.
    fn fetch(&self, range: Range<u64>, buf: &mut Vec<u8>) -> Result<()> {
        let mut pos = range.start;
        let mut backoff = self.retry.backoff();
        while pos < range.end {
            if self.stopped() {
                return Err(anyhow::Error::new(Stopped));
            }
            let before = pos;
            lock(&self.shared.inner).requests += 1;
            let result = match self.remote.chunk(self.resource, pos, range.end - pos) {
                Ok(Chunk::NoRoute) => {
                    lock(&self.shared.inner).no_route = true;
                    return Err(fail(
                        Kind::Network,
                        format!(
                            "the server stopped serving ranges (/chunk) after {} bytes; \
                             try again, or pass a --chunk-threshold above the file's size",
                            self.shared.snapshot().total()
                        ),
                    ));
                }
                Ok(Chunk::Bytes { length, body }) => {
                    self.receive(body, length, &mut pos, range.end, buf)
                }
                Err(err) => Err(err),
            };
            match result {
                Ok(()) => {}
                Err(err) => {
                    if pos > before {
                        // Progress was made: the retries count afresh for the rest.
                        backoff.reset();
                    }
                    let note = |line: String| self.progress.note(line);
                    if !backoff.retry_unless(&err, note, &|| self.stopped()) {
                        return Err(err);
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads one answer's body into the part file at `*pos`, up to `end`.
    fn receive(
        &self,
        mut body: impl Read,
        length: Option<u64>,
        pos: &mut u64,
        end: u64,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let asked = end - *pos;
        if let Some(length) = length.filter(|&l| l != asked) {
            return Err(fail(
                Kind::Integrity,
                format!(
                    "the server answered {length} bytes for a range of {asked} at byte {}",
                    *pos
                ),
            ));
        }
        let start = *pos;
        while *pos < end {
            if self.stopped() {
                return Err(anyhow::Error::new(Stopped));
            }
            // A whole block is gathered before it is written and handed on: fewer writes, and a block
            // held for the hasher is all bytes, not a few KiB in a 256 KiB buffer.
            let want = (end - *pos).min(buf.len() as u64) as usize;
            let mut filled = 0;
            let mut broken = None;
            while filled < want {
                match body.read(&mut buf[filled..want]) {
                    Ok(0) => {
                        broken = Some(None);
                        break;
                    }
                    Ok(n) => filled += n,
                    Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(err) => {
                        broken = Some(Some(err));
                        break;
                    }
                }
            }
            if filled > 0 {
                self.file
                    .write_all_at(&buf[..filled], *pos)
                    .map_err(|err| write_failure(err, &self.shown))?;
                self.accept(*pos, filled, buf);
                *pos += filled as u64;
            }
            // What arrived before the break is kept: the retry asks for the rest only.
            match broken {
                None => {}
                Some(None) => {
                    return Err(transient(
                        Kind::Integrity,
                        format!(
                            "the range at byte {start} was cut short after {} of {asked} bytes",
                            *pos - start
                        ),
                        None,
                    ));
                }
                Some(Some(err)) => {
                    return Err(read_failure(
                        err,
                        &format!(
                            "the range at byte {start} broke after {} of {asked} bytes",
                            *pos - start
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Records a block written at `pos`: on disk now, and kept for the hasher while the window allows
    /// (always when it is next in line).
    fn accept(&self, pos: u64, n: usize, buf: &mut Vec<u8>) {
        {
            let mut inner = lock(&self.shared.inner);
            inner.done.insert(pos..pos + n as u64);
            inner.fetched += n as u64;
            // Counted by buffer, not by bytes used, so memory is bounded however the bytes arrive.
            if pos == inner.hashed || inner.pending_bytes + BLOCK <= self.window {
                let fresh = inner.spare.pop().unwrap_or_else(|| vec![0; BLOCK]);
                inner
                    .pending
                    .insert(pos, (std::mem::replace(buf, fresh), n));
                inner.pending_bytes += BLOCK;
            }
        }
        self.shared.wake.notify_one();
        self.progress.bytes(n as u64);
    }

    /// Hashes `[0, size)` in order as the contiguous prefix completes, from memory where the block is
    /// held and from the part file otherwise; saves the state on the way. Ends when every byte is
    /// hashed, or with the run's failure.
    fn hash_in_order(&self, size: u64, sha256: bool, saver: &Registered) -> Result<Copied> {
        let mut digests = Digests::new(sha256);
        let mut update = |bytes: &[u8]| digests.update(bytes);
        let mut hashed = 0u64;
        let mut read_buf = vec![0; BLOCK];
        let mut saved = Instant::now();
        let mut inner = lock(&self.shared.inner);
        loop {
            if hashed == size {
                break;
            }
            if saved.elapsed() >= SAVE_EVERY {
                drop(inner);
                saver.save(self.progress);
                saved = Instant::now();
                inner = lock(&self.shared.inner);
                continue;
            }
            if let Some((block, n)) = inner.pending.remove(&hashed) {
                inner.pending_bytes -= BLOCK;
                hashed += n as u64;
                inner.hashed = hashed;
                drop(inner);
                update(&block[..n]);
                inner = lock(&self.shared.inner);
                inner.spare.push(block);
                continue;
            }
            if let Some(end) = inner.done.end_from(hashed) {
                // On disk but not in memory: from an earlier run, or beyond the window. Read up to the
                // next block held in memory, so that block is then next in line.
                let held = inner.pending.range(hashed..).next().map(|(&k, _)| k);
                let to = end.min(held.unwrap_or(u64::MAX)).min(hashed + BLOCK as u64);
                inner.hashed = to;
                drop(inner);
                let chunk = &mut read_buf[..(to - hashed) as usize];
                self.file.read_exact_at(chunk, hashed).map_err(|err| {
                    local(&err, format!("cannot read back {}: {err}", self.shown))
                })?;
                update(chunk);
                hashed = to;
                inner = lock(&self.shared.inner);
                continue;
            }
            if self.stopped() {
                let failures = std::mem::take(&mut inner.failures);
                return Err(most_serious(failures).unwrap_or_else(|| Stopped.into()));
            }
            let wait = SAVE_EVERY.saturating_sub(saved.elapsed());
            inner = self
                .shared
                .wake
                .wait_timeout(inner, wait)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poison| poison.into_inner().0);
        }
        drop(inner);
        Ok(digests.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(size: u64) -> Vec<Range<u64>> {
        Intervals::default().missing(size)
    }

    fn sizes(ranges: &[Range<u64>]) -> Vec<(u64, u64)> {
        ranges.iter().map(|r| (r.start, r.end - r.start)).collect()
    }

    #[test]
    fn ranges_end_exactly_at_the_end() {
        let k = 1024;
        // An exact multiple of the range size.
        assert_eq!(
            sizes(&plan(&whole(4 * k), k)),
            vec![(0, k), (k, k), (2 * k, k), (3 * k, k)]
        );
        // One byte over: a last range of one byte, never one past the end.
        assert_eq!(
            sizes(&plan(&whole(2 * k + 1), k)),
            vec![(0, k), (k, k), (2 * k, 1)]
        );
        // Smaller than one range.
        assert_eq!(sizes(&plan(&whole(10), k)), vec![(0, 10)]);
        // Empty: nothing to ask for.
        assert!(plan(&Intervals::default().missing(0), k).is_empty());
        // Only the gaps an earlier run left, each cut at its own end.
        let mut done = Intervals::default();
        done.insert(100..1500);
        assert_eq!(
            sizes(&plan(&done.missing(3000), k)),
            vec![(0, 100), (1500, 1024), (2524, 476)]
        );
    }

    #[test]
    fn intervals_merge_and_tell_what_is_missing() {
        let mut done = Intervals::default();
        done.insert(10..20);
        done.insert(30..40);
        done.insert(20..25);
        assert_eq!(done.0, vec![10..25, 30..40]);
        done.insert(0..0);
        done.insert(24..31);
        assert_eq!(done.0, vec![10..40]);
        done.insert(50..60);
        done.insert(0..5);
        assert_eq!(done.0, vec![0..5, 10..40, 50..60]);
        assert_eq!(done.missing(70), vec![5..10, 40..50, 60..70]);
        assert_eq!(done.total(), 45);
        assert_eq!(done.end_from(12), Some(40));
        assert_eq!(done.end_from(40), None);
        assert_eq!(done.end_from(0), Some(5));
        done.insert(0..100);
        assert_eq!(done.0, vec![0..100]);
        assert!(done.missing(100).is_empty());
    }

    #[test]
    fn a_state_is_trusted_only_when_it_makes_sense() {
        assert_eq!(
            Intervals::from_pairs(&[[0, 10], [10, 20], [30, 40]], 40).map(|d| d.0),
            Some(vec![0..20, 30..40])
        );
        for bad in [
            &[[0, 10], [5, 20]][..],
            &[[10, 20], [0, 5]],
            &[[0, 0]],
            &[[30, 50]],
        ] {
            assert!(Intervals::from_pairs(bad, 40).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn resume_files_sit_beside_the_target_under_its_name() {
        let (part, state) = resume_paths(Path::new("out/big.bin"));
        assert_eq!(part, Path::new("out/.oxdl-resume-big.bin.part"));
        assert_eq!(state, Path::new("out/.oxdl-resume-big.bin.state"));
        let long = "x".repeat(250);
        let (part, _) = resume_paths(Path::new(&long));
        assert!(part.to_string_lossy().len() < 60, "{}", part.display());
    }
}
