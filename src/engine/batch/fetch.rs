//! Fetch: a pool of workers, each taking requests off one queue and returning what became of them through
//! its join handle. One stop signal ends everything early.

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::Duration;

use anyhow::Result;
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::disk::fingerprints::ValueSet;
use crate::disk::fsio::{Confined, copy_to_the_others};
use crate::engine::Ui;
use crate::engine::ranged;
use crate::engine::unpack::{self, Observer};
use crate::error::{Kind, KindContext, fail, is_fatal_for_run, kind_of};
use crate::hash::{Wanted, parse_hash};
use crate::server::remote::{BatchReply, Meta, Remote};
use crate::sync::lock;
use crate::term::progress::Progress;
use crate::term::report::{FileReport, Reporter, Status};
use crate::transfer::Copied;

use crate::disk::spool::Spool;

/// The one signal that ends a run early: set by whoever meets a failure fatal for the whole run, checked by
/// the planner before each line and by every worker before each request and each retry. A stream under
/// way is read to its end: its files are good, and cutting it would only waste them.
#[derive(Default)]
pub(crate) struct Stop(AtomicBool);

impl Stop {
    /// Stops the run: no new line, request, retry or file.
    pub(crate) fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the run is stopping.
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// What became of the requests one worker took. Each file was reported as it ended; what is kept is
/// counts, and the hashes the server is missing (listed at the end of the run).
#[derive(Default)]
pub(super) struct Outcome {
    /// Files (destinations) fetched, verified and published.
    pub(super) fetched_files: usize,
    /// Files the server does not have.
    pub(super) missing_files: usize,
    /// Their hashes.
    pub(super) missing: Spool<u128>,
    /// Files not fetched because their request failed, or was never sent after a stop.
    pub(super) failed_files: usize,
    /// Why requests failed, in the order met.
    pub(super) errors: Vec<anyhow::Error>,
    /// Bytes of the files published (each destination counted).
    pub(super) bytes: u64,
    /// Of the files fetched, those put in place from the cache, not downloaded.
    pub(super) from_cache: usize,
    /// Their hashes, for the destinations filled from theirs after the fetch.
    pub(super) cached: Spool<u128>,
    /// Of the files fetched, those that replaced a local file with other content.
    pub(super) replaced: usize,
}

/// One piece of work for a worker.
pub(super) enum Work {
    /// A batch request: files by hash, in one tarball.
    Request(Vec<Wanted>),
    /// A file large enough for parallel ranges (`get -r`; see [`Large`]).
    Large(Wanted),
}

impl Work {
    fn files(&self) -> &[Wanted] {
        match self {
            Work::Request(files) => files,
            Work::Large(wanted) => std::slice::from_ref(wanted),
        }
    }
}

/// How a directory download fetches its large files: by ranges of their path in the repository.
pub(crate) struct Large {
    pub(crate) settings: ranged::Settings,
    /// `COMMIT[/DIR]`: the listed directory, pinned, which destinations are relative to.
    pub(crate) prefix: String,
}

/// Requests waiting for a worker; closed when no more will come. Bounded, so that a listing or a pipe
/// faster than the downloads waits instead of piling requests up in memory.
pub(super) struct Queue {
    state: Mutex<(VecDeque<Work>, bool)>,
    ready: Condvar,
    space: Condvar,
    capacity: usize,
    /// Workers still taking requests: with none left (all crashed), nobody would make space.
    alive: AtomicUsize,
}

impl Queue {
    /// A queue holding at most `capacity` requests.
    pub(super) fn new(capacity: usize) -> Self {
        Queue {
            state: Mutex::new((VecDeque::new(), false)),
            ready: Condvar::new(),
            space: Condvar::new(),
            capacity: capacity.max(1),
            alive: AtomicUsize::new(0),
        }
    }

    /// Queues `files` as requests of `size` files each, waiting for room.
    pub(super) fn push_split(&self, files: Vec<Wanted>, size: usize) {
        let mut files = files.into_iter();
        loop {
            let chunk: Vec<Wanted> = files.by_ref().take(size.max(1)).collect();
            if chunk.is_empty() {
                return;
            }
            self.push(Work::Request(chunk));
        }
    }

    /// Queues one piece of work, waiting for room.
    pub(super) fn push(&self, work: Work) {
        {
            let mut state = lock(&self.state);
            while state.0.len() >= self.capacity && self.alive.load(Ordering::Relaxed) > 0 {
                state = self
                    .space
                    .wait_timeout(state, Duration::from_millis(100))
                    .map_or_else(|e| e.into_inner().0, |(state, _)| state);
            }
            state.0.push_back(work);
        }
        self.ready.notify_one();
    }

    /// No more requests will come.
    pub(super) fn close(&self) {
        lock(&self.state).1 = true;
        self.ready.notify_all();
    }

    /// The next request, waiting for one; `None` once closed and empty.
    fn pop(&self) -> Option<Work> {
        let mut state = lock(&self.state);
        loop {
            if let Some(chunk) = state.0.pop_front() {
                self.space.notify_one();
                return Some(chunk);
            }
            if state.1 {
                return None;
            }
            state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Counts a worker as taking requests for as long as it lives, panicking or not.
struct Alive<'a>(&'a Queue);

impl<'a> Alive<'a> {
    fn new(queue: &'a Queue) -> Self {
        queue.alive.fetch_add(1, Ordering::Relaxed);
        Alive(queue)
    }
}

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        self.0.alive.fetch_sub(1, Ordering::Relaxed);
        self.0.space.notify_all();
    }
}

/// What every worker reads.
pub(super) struct Context<'a> {
    pub(super) remote: &'a Remote,
    pub(super) out: &'a Path,
    pub(super) ui: &'a Ui,
    pub(super) reporter: &'a Reporter,
    pub(super) progress: &'a Progress,
    pub(super) stop: &'a Stop,
    /// Whether the user was told that the server lacks some files (once a run is enough).
    pub(super) told_missing: AtomicBool,
    /// How large files are fetched, when they go by ranges.
    pub(super) large: Option<&'a Large>,
    /// The connections the run may open at once, shared by batch requests and ranges.
    pub(super) connections: Connections,
    /// The server has no ranged route (learnt from the first large file).
    pub(super) no_ranges: AtomicBool,
}

/// A budget of connections: a batch request takes one; a large file as many as are free, up to its
/// `--connections` (at least one, waited for).
pub(super) struct Connections {
    free: Mutex<usize>,
    freed: Condvar,
}

/// Connections taken from the budget; given back when dropped.
pub(super) struct Taken<'a> {
    pool: &'a Connections,
    count: usize,
}

impl Connections {
    /// A budget of `total` connections.
    pub(super) fn new(total: usize) -> Self {
        Connections {
            free: Mutex::new(total.max(1)),
            freed: Condvar::new(),
        }
    }

    /// Waits for a free connection, then takes up to `most` of those free.
    fn take(&self, most: usize) -> Taken<'_> {
        let mut free = lock(&self.free);
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        let count = most.clamp(1, *free);
        *free -= count;
        Taken { pool: self, count }
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        *lock(&self.pool.free) += self.count;
        self.pool.freed.notify_all();
    }
}

/// Starts `jobs` workers on `queue`; each returns its [`Outcome`] when the queue is closed and empty.
pub(super) fn start<'scope>(
    scope: &'scope Scope<'scope, '_>,
    context: &'scope Context<'scope>,
    queue: &'scope Queue,
    jobs: usize,
) -> Vec<ScopedJoinHandle<'scope, Outcome>> {
    (0..jobs.max(1))
        .map(|_| {
            let alive = Alive::new(queue);
            scope.spawn(move || {
                let _alive = alive;
                work(context, queue)
            })
        })
        .collect()
}

/// Takes requests off the queue until it is closed and empty.
fn work(context: &Context, queue: &Queue) -> Outcome {
    let mut outcome = Outcome::default();
    while let Some(work) = queue.pop() {
        if context.stop.is_set() {
            let files = work.files();
            outcome.failed_files += report_unwritten(files, Status::Failed, context.reporter);
            continue;
        }
        let result = match work {
            Work::Request(chunk) => fetch_request(context, chunk, &mut outcome),
            Work::Large(wanted) => fetch_large(context, wanted, &mut outcome),
        };
        if let Err((err, left)) = result {
            outcome.failed_files += report_unwritten(&left, Status::Failed, context.reporter);
            // A request given up because of another's fatal failure adds nothing to it.
            if context.stop.is_set() && !is_fatal_for_run(&err) {
                continue;
            }
            if is_fatal_for_run(&err) {
                context.stop.set();
            }
            context.progress.note(format!("oxdl: error: {err:#}"));
            outcome.errors.push(err);
        }
    }
    outcome
}

/// Fetches one large file by ranges of its path (see `ranged`), with as many connections as the budget
/// has free; falls back to a batch request when the server has no ranged route. On failure, returns the
/// error and the file.
fn fetch_large(
    context: &Context,
    wanted: Wanted,
    outcome: &mut Outcome,
) -> Result<(), (anyhow::Error, Vec<Wanted>)> {
    let mut rest = take_cached(context, vec![wanted], outcome)?;
    let Some(wanted) = rest.pop() else {
        return Ok(());
    };
    let Some(large) = context
        .large
        .filter(|_| !context.no_ranges.load(Ordering::Relaxed))
    else {
        return fetch_request(context, vec![wanted], outcome);
    };
    let give_up = |err: anyhow::Error, wanted: Wanted| Err((err, vec![wanted]));
    if let Err(err) = Confined::check_all(context.out, &wanted.destinations) {
        return give_up(err, wanted);
    }
    let first = &wanted.destinations[0];
    let resource = format!("{}/{}", large.prefix, first.to_string_lossy());
    let meta = Meta {
        hash: wanted.value,
        size: wanted.size.unwrap_or(0),
        pinned: None,
        revision: None,
    };
    let target = context.out.join(first);
    // No more connections than the file has ranges: the others would wait unused.
    let ranges = meta.size.div_ceil(large.settings.chunk_size).max(1);
    let most = u64::from(large.settings.connections).min(ranges) as usize;
    let taken = context.connections.take(most);
    if context.stop.is_set() {
        let err = fail(Kind::Network, "not requested: the run was stopped");
        return give_up(err, wanted);
    }
    let settings = ranged::Settings {
        connections: taken.count as u32,
        ..large.settings
    };
    let stopped = || context.stop.is_set();
    let job = ranged::Job {
        resource: &resource,
        meta: &meta,
        target: &target,
        stopped: &stopped,
    };
    let sha256 = context.reporter.wants_sha256();
    let retry = context.ui.retry;
    let done = match ranged::download(
        context.remote,
        &job,
        &settings,
        retry,
        context.progress,
        sha256,
    ) {
        Ok(ranged::Outcome::Done(done)) => done,
        Ok(ranged::Outcome::NoRoute) => {
            // Once is enough to learn it: the other large files go in batch requests at once.
            context.no_ranges.store(true, Ordering::Relaxed);
            drop(taken);
            return fetch_request(context, vec![wanted], outcome);
        }
        // The server lacks the content (or the path): a batch request says which, and the file is
        // then reported missing like any other, without stopping the run.
        Err(err) if kind_of(&err) == Kind::NotFound => {
            drop(taken);
            return fetch_request(context, vec![wanted], outcome);
        }
        Err(err) => return give_up(err.context(format!("cannot download {resource}")), wanted),
    };
    drop(taken);
    if let Err(err) = copy_to_the_others(context.out, &wanted.destinations) {
        return give_up(err, wanted);
    }
    fetched(context, outcome, &wanted, &done.copied);
    Ok(())
}

/// Fetches one request's worth of files, resuming after broken streams with only the files not yet
/// written. On failure, returns the error and the files left unwritten.
fn fetch_request(
    context: &Context,
    chunk: Vec<Wanted>,
    outcome: &mut Outcome,
) -> Result<(), (anyhow::Error, Vec<Wanted>)> {
    let mut remaining = take_cached(context, chunk, outcome)?;
    if remaining.is_empty() {
        return Ok(());
    }
    // One connection of the run's budget, for the request and its retries.
    let _connection = context.connections.take(1);
    let mut backoff = context.ui.retry.backoff();
    let mut tracker = Tracker {
        context,
        outcome,
        done: ValueSet::default(),
    };
    while !remaining.is_empty() {
        if context.stop.is_set() {
            let err = fail(Kind::Network, "not requested: the run was stopped");
            return Err((err, remaining));
        }
        let done_before = tracker.done.len();
        let result = gzip_list(&remaining).and_then(|body| context.remote.batch(&body));
        let result = match result {
            Ok(BatchReply::Archive(reader)) => {
                let sha256 = context.reporter.wants_sha256();
                unpack::unpack(reader, &remaining, context.out, sha256, &mut tracker)
            }
            Ok(BatchReply::Missing(hashes)) => {
                // Any spelling the server uses for a hash counts as that hash.
                let reported: ValueSet = hashes.iter().filter_map(|h| parse_hash(h).ok()).collect();
                let (gone, rest): (Vec<Wanted>, Vec<Wanted>) = remaining
                    .into_iter()
                    .partition(|w| reported.contains(&w.value));
                if gone.is_empty() {
                    let err = fail(
                        Kind::Network,
                        "the server reported missing hashes, but none that were requested",
                    );
                    return Err((err, rest));
                }
                if !context.told_missing.swap(true, Ordering::Relaxed) {
                    context.progress.note(
                        "oxdl: the server is missing some of the files (listed at the end); \
                         requesting the others",
                    );
                }
                let reporter = context.reporter;
                tracker.outcome.missing_files += report_unwritten(&gone, Status::Missing, reporter);
                gone.iter()
                    .for_each(|w| tracker.outcome.missing.push(&w.value));
                remaining = rest;
                continue;
            }
            Err(err) => Err(err),
        };
        let Err(err) = result else {
            return Ok(());
        };
        remaining.retain(|w| !tracker.done.contains(&w.value));
        // Every file arrived verified but the stream's end was damaged: nothing to retry, yet the
        // server broke the protocol, so the run still fails.
        if remaining.is_empty() {
            return Err((err, remaining));
        }
        // Every file written is progress: a long list on a flaky line gets its retries afresh.
        if tracker.done.len() > done_before {
            backoff.reset();
        }
        let stop = || context.stop.is_set();
        if !backoff.retry_unless(&err, |line| context.progress.note(line), &stop) {
            return Err((err, remaining));
        }
    }
    Ok(())
}

/// One worker's bookkeeping for one request, as the unpacker reports to it.
struct Tracker<'a, 'b> {
    context: &'a Context<'a>,
    outcome: &'b mut Outcome,
    /// Hashes of this request already published.
    done: ValueSet,
}

impl Observer for Tracker<'_, '_> {
    fn bytes(&mut self, n: u64) {
        self.context.progress.bytes(n);
    }

    fn file_done(&mut self, wanted: &Wanted, copied: &Copied) {
        self.done.insert(wanted.value);
        fetched(self.context, self.outcome, wanted, copied);
    }
}

/// Counts and reports a file downloaded and in place at all its destinations, and puts it in the cache.
fn fetched(context: &Context, outcome: &mut Outcome, wanted: &Wanted, copied: &Copied) {
    record(context, outcome, wanted, copied, Status::Fetched);
    if let Some(cache) = &context.ui.cache {
        let first = context.out.join(&wanted.destinations[0]);
        cache.insert(&first, wanted.value, &|line| context.progress.note(line));
    }
}

/// Counts and reports a file in place at all its destinations, naming those that replaced other
/// content.
fn record(
    context: &Context,
    outcome: &mut Outcome,
    wanted: &Wanted,
    copied: &Copied,
    status: Status,
) {
    outcome.fetched_files += wanted.destinations.len();
    if status == Status::Cached {
        outcome.from_cache += wanted.destinations.len();
        outcome.cached.push(&wanted.value);
    }
    context.progress.file_done();
    for (at, destination) in wanted.destinations.iter().enumerate() {
        outcome.bytes += copied.bytes;
        let replaced = wanted.replaces(at);
        if replaced {
            outcome.replaced += 1;
            context
                .progress
                .note(super::replaced_line(context.out, destination, false));
        }
        let file = FileReport {
            hash: Some(wanted.value),
            path: destination,
            bytes: Some(copied.bytes),
            sha256: copied.sha256.as_ref(),
            status,
            error: None,
        };
        // Reports never fail the download: a closed stdout only stops them (see `Reporter`).
        let _ = context.reporter.placed(file, replaced);
    }
}

/// Puts the files of `chunk` that the cache holds in place from it, and returns the others, to download.
/// On failure (a destination that cannot be written), returns the error and the files not in place.
fn take_cached(
    context: &Context,
    chunk: Vec<Wanted>,
    outcome: &mut Outcome,
) -> Result<Vec<Wanted>, (anyhow::Error, Vec<Wanted>)> {
    let Some(cache) = &context.ui.cache else {
        return Ok(chunk);
    };
    let sha256 = context.reporter.wants_sha256();
    let note = |line| context.progress.note(line);
    let mut rest = Vec::new();
    let mut files = chunk.into_iter();
    while let Some(wanted) = files.next() {
        let targets: Vec<_> = wanted
            .destinations
            .iter()
            .map(|d| context.out.join(d))
            .collect();
        if let Err(err) = Confined::check_all(context.out, &wanted.destinations) {
            rest.push(wanted);
            rest.extend(files);
            return Err((err, rest));
        }
        match cache.place(wanted.value, &targets, sha256, &note) {
            Ok(Some(copied)) => record(context, outcome, &wanted, &copied, Status::Cached),
            Ok(None) => rest.push(wanted),
            Err(err) => {
                rest.push(wanted);
                rest.extend(files);
                return Err((err, rest));
            }
        }
    }
    Ok(rest)
}

/// The request body: `HASH\n` lines, gzipped.
fn gzip_list(wanted: &[Wanted]) -> Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    for w in wanted {
        writeln!(encoder, "{:x}", w.value)
            .kind_context(Kind::Other, "cannot compress the hash list")?;
    }
    encoder
        .finish()
        .kind_context(Kind::Other, "cannot compress the hash list")
}

/// Reports each destination of files that were not written; returns how many there were.
pub(super) fn report_unwritten(files: &[Wanted], status: Status, reporter: &Reporter) -> usize {
    let mut count = 0;
    for w in files {
        for destination in &w.destinations {
            count += 1;
            // Reports never fail the download: a closed stdout only stops them (see `Reporter`).
            let _ = reporter.file(FileReport {
                hash: Some(w.value),
                path: destination,
                bytes: None,
                sha256: None,
                status,
                error: None,
            });
        }
    }
    count
}
