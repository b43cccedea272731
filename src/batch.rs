//! `oxdl batch`: many files by content hash, streamed from one tarball per request.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use anyhow::{Context, Result};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::Ui;
use crate::cli::{BatchArgs, SkipExisting};
use crate::error::{Kind, KindContext, fail, is_server_wide, kind_of};
use crate::fsio::copy_published;
use crate::hashes::{self, Wanted};
use crate::progress::Progress;
use crate::remote::{BatchReply, Remote};
use crate::report::{FileReport, Reporter, Status};
use crate::transfer::{Copied, hash_file};
use crate::unpack::{self, Observer};

/// Downloads every file of the hash list into the output directory.
pub fn run(remote: &Remote, args: &BatchArgs, ui: &Ui, reporter: &Reporter) -> Result<()> {
    let wanted = read_list(args.hash_file.as_deref())?;
    let out = &args.output_dir;
    let notes = Progress::notes(&ui.display);
    if wanted.is_empty() {
        notes.note("oxdl: the hash list is empty; nothing to download");
        reporter.summary(Summary::default().to_json(0))?;
        return reporter.finish();
    }
    std::fs::create_dir_all(out).kind_context(
        Kind::Other,
        format_args!("cannot create output directory {}", out.display()),
    )?;

    let mut summary = Summary::default();
    let mut to_fetch = Vec::new();
    for w in wanted {
        if already_present(&w, out, args.skip_existing, reporter)? {
            summary.skipped += 1;
        } else {
            to_fetch.push(w);
        }
    }
    let shared = Shared {
        progress: Progress::for_files(&ui.display, to_fetch.len() as u64),
        written: Mutex::new(HashSet::new()),
        missing: Mutex::new(Vec::new()),
        failed: Mutex::new(Vec::new()),
        failure: Mutex::new(None),
        reporter,
    };
    // Requests of at most --batch-size files, and at least one per job so that short lists run in
    // parallel too.
    let jobs = args.jobs.max(1) as usize;
    let chunk_size = (args.batch_size as usize)
        .min(to_fetch.len().div_ceil(jobs))
        .max(1);
    let chunks: Vec<&[Wanted]> = to_fetch.chunks(chunk_size).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(chunks.len()) {
            scope.spawn(|| worker(remote, &chunks, &next, out, ui, &shared));
        }
    });
    shared.progress.finish();
    summary.fetched = lock(&shared.written).len();
    let failed = shared
        .failed
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    summary.failed = failed.len();
    let missing = shared
        .missing
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
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
    let bytes = shared.progress.total_bytes();
    notes.note(format!(
        "{summary}; {bytes} bytes written to {}",
        out.display()
    ));
    reporter.summary(summary.to_json(bytes))?;
    reporter.finish()?;
    // The list of missing hashes is the substance of the partial result, so it is printed even when quiet.
    for w in &missing {
        eprintln!("missing: {}", w.hash);
    }
    if let Some(err) = shared
        .failure
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
    {
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

/// State the workers share: what was written, missing or failed, and the first error.
struct Shared<'a> {
    progress: Progress,
    written: Mutex<HashSet<String>>,
    missing: Mutex<Vec<Wanted>>,
    failed: Mutex<Vec<Wanted>>,
    failure: Mutex<Option<anyhow::Error>>,
    reporter: &'a Reporter,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A worker that panicked leaves valid data behind; the others carry on with it.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Takes chunks off the shared list until none are left, each as its own request.
fn worker(
    remote: &Remote,
    chunks: &[&[Wanted]],
    next: &AtomicUsize,
    out: &Path,
    ui: &Ui,
    shared: &Shared,
) {
    loop {
        let index = next.fetch_add(1, Ordering::SeqCst);
        let Some(chunk) = chunks.get(index) else {
            return;
        };
        if lock(&shared.failure).as_ref().is_some_and(fatal_for_all) {
            lock(&shared.failed).extend(chunk.iter().cloned());
            continue;
        }
        if let Err((err, left)) = fetch_chunk(remote, chunk, out, ui, shared) {
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

/// Reads the hash list from a file, or from stdin for `-` or no argument with stdin piped.
fn read_list(path: Option<&Path>) -> Result<Vec<Wanted>> {
    match path {
        Some(path) if path != Path::new("-") => {
            let file = File::open(path).kind_context(
                Kind::Usage,
                format_args!("cannot open hash list {}", path.display()),
            )?;
            hashes::parse(BufReader::new(file), &path.display().to_string())
        }
        None if std::io::stdin().is_terminal() => Err(fail(
            Kind::Usage,
            "no hash list: name a file, or pipe the hashes into stdin (e.g. oxdl batch ox/demo - < hashes.txt)",
        )),
        _ => hashes::parse(std::io::stdin().lock(), "<stdin>"),
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
