//! `oxdl batch`: many files by content hash, streamed from one tarball per request.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use anyhow::{Context, Result};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::Ui;
use crate::cli::{BatchArgs, SkipExisting};
use crate::error::{Kind, KindContext, fail, is_server_wide, kind_of};
use crate::fsio::copy_published;
use crate::hashes::{Item, ListReader, Wanted};
use crate::progress::Progress;
use crate::remote::{BatchReply, Remote};
use crate::report::{FileReport, Reporter, Status};
use crate::sync::{into_inner, lock};
use crate::transfer::{Copied, hash_file};
use crate::unpack::{self, Observer};

/// Downloads every file of the hash list into the output directory.
///
/// A list from a file is read and checked whole before any request. A list piped into stdin is read as
/// it arrives, and requests start as soon as a request's worth of files is known; a bad line then stops
/// further requests (the files already written stay) and fails the run.
pub fn run(remote: &Remote, args: &BatchArgs, ui: &Ui, reporter: &Reporter) -> Result<()> {
    let (input, source, streaming) = open_list(args.hash_file.as_deref())?;
    let mut reader = ListReader::new(input, &source).nul_separated(args.null);
    let whole = if streaming {
        None
    } else {
        Some(reader.collect_all()?)
    };
    let out = &args.output_dir;
    let notes = Progress::notes(&ui.display);
    std::fs::create_dir_all(out).kind_context(
        Kind::Other,
        format_args!("cannot create output directory {}", out.display()),
    )?;
    let shared = Shared {
        progress: Progress::for_files(&ui.display, 0),
        written: Mutex::new(HashSet::new()),
        missing: Mutex::new(Vec::new()),
        failed: Mutex::new(Vec::new()),
        failure: Mutex::new(None),
        reporter,
    };
    let queue = Queue::default();
    let jobs = args.jobs.max(1) as usize;
    let mut feeder = Feeder::new(args, &shared, &queue);
    let fed = std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| worker(remote, &queue, out, ui, &shared));
        }
        let fed = match whole {
            Some(wanted) => feeder.all(wanted, jobs),
            None => feeder.stream(&mut reader, jobs),
        };
        if fed.is_err() {
            // A bad line: no new request starts; those under way finish.
            queue.clear();
        }
        queue.close();
        fed
    });
    shared.progress.finish();
    let late = feeder.into_late();
    let mut summary = Summary {
        skipped: late.skipped.len(),
        ..Summary::default()
    };
    let written = into_inner(shared.written);
    summary.fetched = written.len();
    let failed = into_inner(shared.failed);
    summary.failed = failed.len();
    let missing = into_inner(shared.missing);
    summary.missing = missing.len();
    let unwritten = missing.iter().map(|w| (w, Status::Missing));
    for (w, status) in unwritten.chain(failed.iter().map(|w| (w, Status::Failed))) {
        for destination in &w.destinations {
            reporter.file(FileReport {
                hash: &w.hash,
                path: destination,
                bytes: None,
                sha256: None,
                status,
            })?;
        }
    }
    late.fill(out, &written, reporter, &missing, &failed)?;
    let bytes = shared.progress.total_bytes();
    if summary.total() == 0 && fed.is_ok() {
        notes.note("oxdl: the hash list is empty; nothing to download");
    } else {
        notes.note(format!(
            "{summary}; {bytes} bytes written to {}",
            out.display()
        ));
    }
    reporter.summary(summary.to_json(bytes))?;
    reporter.finish()?;
    fed?;
    // The list of missing hashes is the substance of the partial result, so it is printed even when quiet.
    for w in &missing {
        eprintln!("missing: {}", w.hash);
    }
    if let Some(err) = into_inner(shared.failure) {
        return Err(err)
            .with_context(|| format!("batch download from {} failed ({summary})", args.repo));
    }
    if !missing.is_empty() {
        return Err(fail(
            Kind::Partial,
            format!(
                "{} of {} file(s) are missing on the server (listed above); the others are in place",
                missing.len(),
                summary.total()
            ),
        ));
    }
    Ok(())
}

/// Turns the list into requests for the workers, skipping files already in place.
struct Feeder<'a> {
    out: &'a Path,
    how: SkipExisting,
    batch_size: usize,
    shared: &'a Shared<'a>,
    queue: &'a Queue,
    /// The request being filled (streaming), with each hash's place in it.
    pending: Vec<Wanted>,
    pending_index: HashMap<u128, usize>,
    /// Hashes already in place, skipped.
    skipped: HashSet<u128>,
    /// The first destination of every hash handed out (streaming), for destinations that come later.
    firsts: HashMap<u128, (String, PathBuf)>,
    /// Destinations that arrived after their hash had been requested or skipped.
    late: Vec<(u128, PathBuf)>,
}

impl<'a> Feeder<'a> {
    fn new(args: &'a BatchArgs, shared: &'a Shared<'a>, queue: &'a Queue) -> Self {
        Feeder {
            out: &args.output_dir,
            how: args.skip_existing,
            batch_size: args.batch_size as usize,
            shared,
            queue,
            pending: Vec::new(),
            pending_index: HashMap::new(),
            skipped: HashSet::new(),
            firsts: HashMap::new(),
            late: Vec::new(),
        }
    }

    /// A checked, whole list: requests of at most --batch-size files, and at least one per job so that
    /// short lists run in parallel too.
    fn all(&mut self, wanted: Vec<Wanted>, jobs: usize) -> Result<()> {
        let mut to_fetch = Vec::new();
        for w in wanted {
            if already_present(&w, self.out, self.how, self.shared.reporter)? {
                self.skipped.insert(w.value);
            } else {
                to_fetch.push(w);
            }
        }
        self.shared.progress.grow(to_fetch.len() as u64);
        let chunk_size = self.batch_size.min(to_fetch.len().div_ceil(jobs)).max(1);
        self.queue.push_split(to_fetch, chunk_size);
        Ok(())
    }

    /// A list read as it arrives: a request goes out whenever --batch-size files are known.
    fn stream(
        &mut self,
        reader: &mut ListReader<Box<dyn BufRead + Send>>,
        jobs: usize,
    ) -> Result<()> {
        while let Some(item) = reader.next_item()? {
            match item {
                Item::New(w) => {
                    self.firsts
                        .insert(w.value, (w.hash.clone(), w.destinations[0].clone()));
                    if already_present(&w, self.out, self.how, self.shared.reporter)? {
                        self.skipped.insert(w.value);
                        continue;
                    }
                    self.pending_index.insert(w.value, self.pending.len());
                    self.pending.push(w);
                    if self.pending.len() >= self.batch_size {
                        self.dispatch(1);
                    }
                }
                Item::More {
                    value, destination, ..
                } => match self.pending_index.get(&value) {
                    Some(&at) => self.pending[at].destinations.push(destination),
                    None => self.late.push((value, destination)),
                },
            }
        }
        // The rest is split among the jobs, as a whole list would be.
        self.dispatch(jobs);
        Ok(())
    }

    /// What is left once every request is handed out: the destinations that came late.
    fn into_late(self) -> Late {
        Late {
            skipped: self.skipped,
            firsts: self.firsts,
            late: self.late,
        }
    }

    /// Hands the pending files out as `parts` requests of about equal size.
    fn dispatch(&mut self, parts: usize) {
        let pending = std::mem::take(&mut self.pending);
        self.pending_index.clear();
        self.shared.progress.grow(pending.len() as u64);
        let chunk_size = pending.len().div_ceil(parts).max(1);
        self.queue.push_split(pending, chunk_size);
    }
}

/// Destinations that came after their hash had been requested or skipped (a list read as it arrives).
struct Late {
    skipped: HashSet<u128>,
    firsts: HashMap<u128, (String, PathBuf)>,
    late: Vec<(u128, PathBuf)>,
}

impl Late {
    /// Copies each late destination from its hash's first destination when that file is in place;
    /// reports it with its hash's fate otherwise.
    fn fill(
        &self,
        out: &Path,
        written: &HashSet<String>,
        reporter: &Reporter,
        missing: &[Wanted],
        failed: &[Wanted],
    ) -> Result<()> {
        for (value, destination) in &self.late {
            let Some((hash, first)) = self.firsts.get(value) else {
                continue;
            };
            let status = if written.contains(hash) || self.skipped.contains(value) {
                copy_published(&out.join(first), &out.join(destination))?;
                Status::Fetched
            } else if missing.iter().any(|w| w.value == *value) {
                Status::Missing
            } else if failed.iter().any(|w| w.value == *value) {
                Status::Failed
            } else {
                continue;
            };
            let copied = match status {
                Status::Fetched => Some(
                    hash_file(&out.join(destination), reporter.wants_sha256()).kind_context(
                        Kind::Other,
                        format_args!("cannot read {}", out.join(destination).display()),
                    )?,
                ),
                _ => None,
            };
            reporter.file(FileReport {
                hash,
                path: destination,
                bytes: copied.as_ref().map(|c| c.bytes),
                sha256: copied.as_ref().and_then(|c| c.sha256.as_ref()),
                status,
            })?;
        }
        Ok(())
    }
}

/// Requests waiting for a worker; closed when no more will come.
#[derive(Default)]
struct Queue {
    state: Mutex<(VecDeque<Vec<Wanted>>, bool)>,
    ready: Condvar,
}

impl Queue {
    fn push(&self, chunk: Vec<Wanted>) {
        lock(&self.state).0.push_back(chunk);
        self.ready.notify_one();
    }

    /// Queues `files` as requests of `chunk_size` files each, moving them, not copying.
    fn push_split(&self, files: Vec<Wanted>, chunk_size: usize) {
        let mut files = files.into_iter();
        loop {
            let chunk: Vec<Wanted> = files.by_ref().take(chunk_size).collect();
            if chunk.is_empty() {
                return;
            }
            self.push(chunk);
        }
    }

    fn close(&self) {
        lock(&self.state).1 = true;
        self.ready.notify_all();
    }

    fn clear(&self) {
        lock(&self.state).0.clear();
    }

    /// The next request, waiting for one; `None` once closed and empty.
    fn pop(&self) -> Option<Vec<Wanted>> {
        let mut state = lock(&self.state);
        loop {
            if let Some(chunk) = state.0.pop_front() {
                return Some(chunk);
            }
            if state.1 {
                return None;
            }
            state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// State the workers share: what was written, missing or failed, and the first error.
struct Shared<'a> {
    progress: Progress,
    written: Mutex<HashSet<String>>,
    missing: Mutex<Vec<Wanted>>,
    failed: Mutex<Vec<Wanted>>,
    failure: Mutex<Option<anyhow::Error>>,
    reporter: &'a Reporter,
}

/// Takes requests off the queue until it is closed and empty.
fn worker(remote: &Remote, queue: &Queue, out: &Path, ui: &Ui, shared: &Shared) {
    while let Some(chunk) = queue.pop() {
        if lock(&shared.failure).as_ref().is_some_and(fatal_for_all) {
            lock(&shared.failed).extend(chunk);
            continue;
        }
        if let Err((err, left)) = fetch_chunk(remote, &chunk, out, ui, shared) {
            lock(&shared.failed).extend(left);
            shared.progress.note(format!("oxdl: error: {err:#}"));
            lock(&shared.failure).get_or_insert(err);
        }
    }
}

/// Errors that every further request would meet too, so the rest of the list is not tried.
fn fatal_for_all(err: &anyhow::Error) -> bool {
    is_server_wide(err)
        || matches!(
            kind_of(err),
            Kind::Auth | Kind::NotFound | Kind::Usage | Kind::Other
        )
}

/// Fetches one request's worth of files, resuming after broken streams with only the files not yet
/// written. On failure, returns the error and the files left unwritten.
fn fetch_chunk(
    remote: &Remote,
    chunk: &[Wanted],
    out: &Path,
    ui: &Ui,
    shared: &Shared,
) -> Result<(), (anyhow::Error, Vec<Wanted>)> {
    let mut remaining = chunk.to_vec();
    let mut backoff = ui.retry.backoff();
    let mut observer = Tracker { shared, done: 0 };
    while !remaining.is_empty() {
        let done_before = observer.done;
        let result = gzip_list(&remaining).and_then(|body| remote.batch(&body));
        let result = match result {
            Ok(BatchReply::Archive(reader)) => {
                let sha256 = shared.reporter.wants_sha256();
                unpack::unpack(reader, &remaining, out, sha256, &mut observer)
            }
            Ok(BatchReply::Missing(hashes)) => {
                let reported: HashSet<String> = hashes.into_iter().collect();
                let (gone, rest): (Vec<Wanted>, Vec<Wanted>) = remaining
                    .into_iter()
                    .partition(|w| reported.contains(&w.hash));
                if gone.is_empty() {
                    let err = fail(
                        Kind::Network,
                        "the server reported missing hashes, but none that were requested",
                    );
                    return Err((err, rest));
                }
                shared.progress.note(format!(
                    "oxdl: the server is missing {} file(s); requesting the other {}",
                    gone.len(),
                    rest.len()
                ));
                lock(&shared.missing).extend(gone);
                remaining = rest;
                continue;
            }
            Err(err) => Err(err),
        };
        match result {
            Ok(()) => return Ok(()),
            Err(err) => {
                let written = lock(&shared.written);
                remaining.retain(|w| !written.contains(&w.hash));
                drop(written);
                // Every file arrived verified but the stream's end was damaged: nothing to retry, yet
                // the server broke the protocol, so the run still fails.
                if remaining.is_empty() {
                    return Err((err, remaining));
                }
                // Every file written is progress: a long list on a flaky line gets its retries afresh.
                if observer.done > done_before {
                    backoff.reset();
                }
                if !backoff.retry(&err, |line| shared.progress.note(line)) {
                    return Err((err, remaining));
                }
            }
        }
    }
    Ok(())
}

/// Whether every destination of `w` already holds its content, by the chosen check (then reported as
/// skipped). When only some do, the others are filled by copying locally.
fn already_present(w: &Wanted, out: &Path, how: SkipExisting, reporter: &Reporter) -> Result<bool> {
    if how == SkipExisting::Never {
        return Ok(false);
    }
    let paths: Vec<PathBuf> = w.destinations.iter().map(|d| out.join(d)).collect();
    let sha256 = reporter.wants_sha256();
    let good: Vec<Option<Copied>> = paths
        .iter()
        .map(|path| holds(path, w, how, sha256))
        .collect();
    let Some(source) = good.iter().position(Option::is_some) else {
        return Ok(false);
    };
    // Only a file whose hash was checked may be copied to the other destinations.
    if how != SkipExisting::Hash && good.iter().any(Option::is_none) {
        return Ok(false);
    }
    for (path, found) in paths.iter().zip(&good) {
        if found.is_none() {
            copy_published(&paths[source], path)?;
        }
    }
    for (destination, found) in w.destinations.iter().zip(&good) {
        let copied = found.as_ref().or(good[source].as_ref());
        reporter.file(FileReport {
            hash: &w.hash,
            path: destination,
            bytes: copied.map(|c| c.bytes),
            sha256: copied.and_then(|c| c.sha256.as_ref()),
            status: Status::Skipped,
        })?;
    }
    Ok(true)
}

/// What the file at `path` holds, when it passes the check for `w`.
fn holds(path: &Path, w: &Wanted, how: SkipExisting, sha256: bool) -> Option<Copied> {
    let meta = std::fs::metadata(path).ok().filter(|meta| meta.is_file())?;
    match how {
        SkipExisting::Never => None,
        // Without sizes in the hash list, the cheap check is presence: only the empty file may be empty.
        SkipExisting::Size if (meta.len() == 0) != (w.value == empty_hash()) => None,
        SkipExisting::Size if !sha256 => Some(Copied {
            bytes: meta.len(),
            hash: w.value,
            sha256: None,
        }),
        // Trusted, not checked: read only for the SHA-256 that was asked for.
        SkipExisting::Size => hash_file(path, true)
            .ok()
            .map(|c| Copied { hash: w.value, ..c }),
        SkipExisting::Hash => hash_file(path, sha256).ok().filter(|c| c.hash == w.value),
    }
}

fn empty_hash() -> u128 {
    xxhash_rust::xxh3::xxh3_128(b"")
}

/// What happened to each file of the list.
#[derive(Default)]
struct Summary {
    fetched: usize,
    skipped: usize,
    missing: usize,
    failed: usize,
}

impl Summary {
    fn total(&self) -> usize {
        self.fetched + self.skipped + self.missing + self.failed
    }

    /// The `--json` summary object.
    fn to_json(&self, bytes: u64) -> serde_json::Value {
        serde_json::json!({
            "fetched": self.fetched,
            "skipped": self.skipped,
            "missing": self.missing,
            "failed": self.failed,
            "bytes": bytes,
        })
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} fetched, {} skipped, {} missing, {} failed",
            self.fetched, self.skipped, self.missing, self.failed
        )
    }
}

/// One worker's view of the shared state, as the unpacker reports to it.
struct Tracker<'a> {
    shared: &'a Shared<'a>,
    done: usize,
}

impl Observer for Tracker<'_> {
    fn bytes(&mut self, n: u64) {
        self.shared.progress.bytes(n);
    }

    fn file_done(&mut self, wanted: &Wanted, copied: &Copied) {
        self.done += 1;
        lock(&self.shared.written).insert(wanted.hash.clone());
        self.shared.progress.file_done();
        for destination in &wanted.destinations {
            let report = self.shared.reporter.file(FileReport {
                hash: &wanted.hash,
                path: destination,
                bytes: Some(copied.bytes),
                sha256: copied.sha256.as_ref(),
                status: Status::Fetched,
            });
            // A JSON reader that went away ends the run like any closed stdout.
            if let Err(err) = report {
                lock(&self.shared.failure).get_or_insert(err);
            }
        }
    }
}

/// The hash list's input, its name for errors, and whether to read it as it arrives (a pipe).
fn open_list(path: Option<&Path>) -> Result<(Box<dyn BufRead + Send>, String, bool)> {
    match path {
        Some(path) if path != Path::new("-") => {
            let file = File::open(path).kind_context(
                Kind::Usage,
                format_args!("cannot open hash list {}", path.display()),
            )?;
            Ok((
                Box::new(BufReader::new(file)),
                path.display().to_string(),
                false,
            ))
        }
        None if std::io::stdin().is_terminal() => Err(fail(
            Kind::Usage,
            "no hash list: name a file, or pipe the hashes into stdin (e.g. oxdl batch ox/demo - < hashes.txt)",
        )),
        _ => {
            let streaming = stdin_is_pipe();
            Ok((
                Box::new(BufReader::new(std::io::stdin())),
                "<stdin>".to_string(),
                streaming,
            ))
        }
    }
}

/// Whether stdin is a pipe or socket (read as it arrives) rather than a file (read whole first).
fn stdin_is_pipe() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        std::fs::metadata("/dev/stdin")
            .map(|m| m.file_type().is_fifo() || m.file_type().is_socket())
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// The request body: `HASH\n` lines, gzipped.
fn gzip_list(wanted: &[Wanted]) -> Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    for w in wanted {
        encoder
            .write_all(w.hash.as_bytes())
            .and_then(|()| encoder.write_all(b"\n"))
            .kind_context(Kind::Other, "cannot compress the hash list")?;
    }
    encoder
        .finish()
        .kind_context(Kind::Other, "cannot compress the hash list")
}
