//! `oxdl batch`: many files by content hash, streamed from one tarball per request.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::Ui;
use crate::cli::{BatchArgs, SkipExisting};
use crate::error::{Kind, KindContext, fail, kind_of};
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
    let mut tracker = Tracker {
        progress: Progress::for_files(ui.quiet, to_fetch.len() as u64),
        written: HashSet::new(),
    };
    let mut missing: Vec<Wanted> = Vec::new();
    let mut failure: Option<anyhow::Error> = None;
    for chunk in to_fetch.chunks(args.batch_size as usize) {
        if failure.as_ref().is_some_and(fatal_for_all) {
            summary.failed += chunk.len();
            continue;
        }
        if let Err((err, left)) = fetch_chunk(remote, chunk, out, ui, &mut tracker, &mut missing) {
            summary.failed += left.len();
            tracker.progress.note(format!("oxdl: error: {err:#}"));
            failure.get_or_insert(err);
        }
    }
    tracker.progress.finish();
    summary.fetched = tracker.written.len();
    summary.missing = missing.len();
    notes.note(format!(
        "{}; {} bytes written to {}",
        summary,
        tracker.progress.total_bytes(),
        out.display()
    ));
    // The list of missing hashes is the substance of the partial result, so it is printed even when quiet.
    for w in &missing {
        eprintln!("missing: {}", w.hash);
    }
    if let Some(err) = failure {
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

/// Errors that every further request would meet too, so the rest of the list is not tried.
fn fatal_for_all(err: &anyhow::Error) -> bool {
    matches!(
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
    tracker: &mut Tracker,
    missing: &mut Vec<Wanted>,
) -> Result<(), (anyhow::Error, Vec<Wanted>)> {
    let mut remaining = chunk.to_vec();
    let mut backoff = ui.retry.backoff();
    while !remaining.is_empty() {
        let written_before = tracker.written.len();
        let result = gzip_list(&remaining).and_then(|body| remote.batch(&body));
        let result = match result {
            Ok(BatchReply::Archive(reader)) => unpack::unpack(reader, &remaining, out, tracker),
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
                tracker.progress.note(format!(
                    "oxdl: the server is missing {} file(s); requesting the other {}",
                    gone.len(),
                    rest.len()
                ));
                missing.extend(gone);
                remaining = rest;
                continue;
            }
            Err(err) => Err(err),
        };
        match result {
            Ok(()) => return Ok(()),
            Err(err) => {
                remaining.retain(|w| !tracker.written.contains(&w.hash));
                // Every file arrived verified but the stream's end was damaged: nothing to retry, yet
                // the server broke the protocol, so the run still fails.
                if remaining.is_empty() {
                    return Err((err, remaining));
                }
                // Every file written is progress: a long list on a flaky line gets its retries afresh.
                if tracker.written.len() > written_before {
                    backoff.reset();
                }
                if !backoff.retry(&err, |line| tracker.progress.note(line)) {
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

/// Records finished files and feeds the progress bar.
struct Tracker {
    progress: Progress,
    written: HashSet<String>,
}

impl Observer for Tracker {
    fn bytes(&mut self, n: u64) {
        self.progress.bytes(n);
    }

    fn file_done(&mut self, wanted: &Wanted) {
        self.written.insert(wanted.hash.clone());
        self.progress.file_done();
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
