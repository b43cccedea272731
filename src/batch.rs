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
use crate::transfer::hash_file;
use crate::unpack::{self, Observer};

/// Downloads every file of the hash list into the output directory.
pub fn run(remote: &Remote, args: &BatchArgs, ui: &Ui) -> Result<()> {
    let wanted = read_list(args.hash_file.as_deref())?;
    let out = &args.output_dir;
    let notes = Progress::plain(ui.quiet);
    if wanted.is_empty() {
        notes.note("oxdl: the hash list is empty; nothing to download");
        return Ok(());
    }
    std::fs::create_dir_all(out).kind_context(
        Kind::Other,
        format_args!("cannot create output directory {}", out.display()),
    )?;

    let mut summary = Summary::default();
    let mut to_fetch = Vec::new();
    for w in wanted {
        if already_present(&w, out, args.skip_existing)? {
            summary.skipped += 1;
        } else {
            to_fetch.push(w);
        }
    }
    let shared = Shared {
        progress: Progress::for_files(ui.quiet, to_fetch.len() as u64),
        written: Mutex::new(HashSet::new()),
        missing: Mutex::new(Vec::new()),
        failed: AtomicUsize::new(0),
        failure: Mutex::new(None),
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
    summary.failed = shared.failed.load(Ordering::SeqCst);
    let missing = shared
        .missing
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    summary.missing = missing.len();
    notes.note(format!(
        "{}; {} bytes written to {}",
        summary,
        shared.progress.total_bytes(),
        out.display()
    ));
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
struct Shared {
    progress: Progress,
    written: Mutex<HashSet<String>>,
    missing: Mutex<Vec<Wanted>>,
    failed: AtomicUsize,
    failure: Mutex<Option<anyhow::Error>>,
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
            shared.failed.fetch_add(chunk.len(), Ordering::SeqCst);
            continue;
        }
        if let Err((err, left)) = fetch_chunk(remote, chunk, out, ui, shared) {
            shared.failed.fetch_add(left.len(), Ordering::SeqCst);
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
                unpack::unpack(reader, &remaining, out, &mut observer)
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

/// Whether every destination of `w` already holds its content, by the chosen check. When only some do,
/// the others are filled by copying locally.
fn already_present(w: &Wanted, out: &Path, how: SkipExisting) -> Result<bool> {
    if how == SkipExisting::Never {
        return Ok(false);
    }
    let paths: Vec<PathBuf> = w.destinations.iter().map(|d| out.join(d)).collect();
    let good: Vec<bool> = paths.iter().map(|path| holds(path, w, how)).collect();
    // Only a file whose hash was checked may be copied to the other destinations.
    if how != SkipExisting::Hash {
        return Ok(good.iter().all(|&ok| ok));
    }
    let Some(source) = good.iter().position(|&ok| ok) else {
        return Ok(false);
    };
    for (path, ok) in paths.iter().zip(&good) {
        if !ok {
            copy_published(&paths[source], path)?;
        }
    }
    Ok(true)
}

fn holds(path: &Path, w: &Wanted, how: SkipExisting) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    match how {
        SkipExisting::Never => false,
        // Without sizes in the hash list, the cheap check is presence: only the empty file may be empty.
        SkipExisting::Size => (meta.len() == 0) == (w.value == empty_hash()),
        SkipExisting::Hash => hash_file(path).is_ok_and(|hash| hash == w.value),
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
    shared: &'a Shared,
    done: usize,
}

impl Observer for Tracker<'_> {
    fn bytes(&mut self, n: u64) {
        self.shared.progress.bytes(n);
    }

    fn file_done(&mut self, wanted: &Wanted) {
        self.done += 1;
        lock(&self.shared.written).insert(wanted.hash.clone());
        self.shared.progress.file_done();
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
