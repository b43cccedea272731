//! Report: what became of every file (stderr summary, `--json`, `--checksums`), the destinations that
//! came late, and the one exit code of the run.

use std::path::Path;

use anyhow::{Context, Result};

use std::io::{Read, Write};

use crate::disk::fingerprints::ValueSet;
use crate::disk::fsio::{Confined, PendingFile};
use crate::disk::listfmt::quote;
use crate::error::{Kind, fail, local, most_serious};
use crate::hash::{Wanted, hash_text};
use crate::term::progress::Progress;
use crate::term::report::{FileReport, Reporter, Status};
use crate::transfer::{Copied, Digests};

use super::fetch::{Outcome, report_unwritten};
use super::plan::{Late, Planned};
use super::{DryRun, Settings};
use crate::disk::spool::Spool;
use crate::engine::Ui;

/// Reports what is left to report and returns the run's result: the most serious failure (see
/// [`crate::error::SEVERITY`]), else missing files, else success. `unsent` are files planned but never
/// handed to a worker, because the run stopped.
pub(super) fn finish(
    settings: &Settings,
    planned: Planned,
    planning: Result<()>,
    outcomes: Vec<Outcome>,
    unsent: Vec<Wanted>,
    reporter: &Reporter,
    ui: &Ui,
) -> Result<()> {
    let out = settings.out;
    let notes = &Progress::notes(&ui.display);
    let mut errors = Vec::new();
    if let Err(err) = planning {
        errors.push(err);
    }
    let mut summary = Summary {
        skipped: planned.skipped,
        failed: planned.failed + report_unwritten(&unsent, Status::Failed, reporter),
        replaced: planned.replaced,
        ..Summary::default()
    };
    let mut bytes = planned.bytes;
    for outcome in &outcomes {
        summary.fetched += outcome.fetched_files;
        summary.from_cache += outcome.from_cache;
        summary.replaced += outcome.replaced;
        summary.missing += outcome.missing_files;
        summary.failed += outcome.failed_files;
        bytes += outcome.bytes;
    }
    let late = fill_late(out, &planned.late, &outcomes, reporter, notes);
    summary.fetched += late.fetched;
    summary.from_cache += late.from_cache;
    summary.replaced += late.replaced;
    summary.missing += late.missing;
    summary.failed += late.failed;
    bytes += late.bytes;
    errors.extend(late.errors);
    if let Some(cache) = ui.cache.as_ref().filter(|_| summary.from_cache > 0) {
        notes.note(format!(
            "oxdl: {} file(s) put in place from the cache in {}, not downloaded",
            summary.from_cache,
            cache.dir().display()
        ));
    }
    let mut missing_hashes = Vec::new();
    for outcome in outcomes {
        errors.extend(outcome.errors);
        missing_hashes.push(outcome.missing);
    }
    if summary.total() == 0 && errors.is_empty() && !settings.from_listing {
        notes.note("oxdl: the hash list is empty; nothing to download");
    } else {
        notes.note(format!(
            "{summary}; {bytes} bytes written to {}",
            out.display()
        ));
    }
    let mut json = summary.to_json(bytes);
    if let Some(revision) = &settings.revision {
        json["revision"] = serde_json::json!(revision);
    }
    reporter.summary(json)?;
    if let Err(err) = reporter.finish() {
        errors.push(err);
    }
    // The list of missing hashes is the substance of the partial result, so it is printed even when
    // quiet. Written in one block per worker, so that it stays readable and cheap when long.
    for spool in &missing_hashes {
        let mut block = String::new();
        let listed = spool.for_each(|value| {
            block.push_str("missing: ");
            block.push_str(&hash_text(value));
            block.push('\n');
            if block.len() > 64 * 1024 {
                eprint!("{}", std::mem::take(&mut block));
            }
        });
        eprint!("{block}");
        if let Err(err) = listed {
            errors.push(err);
        }
    }
    if let Some(err) = most_serious(errors) {
        return Err(err)
            .with_context(|| format!("download from {} failed ({summary})", settings.repo));
    }
    if summary.missing > 0 {
        return Err(fail(
            Kind::Partial,
            format!(
                "{} of {} file(s) are missing on the server (listed above); the others are in place",
                summary.missing,
                summary.total()
            ),
        ));
    }
    reporter.stdout_failure()
}

/// Reports a dry run: the late destinations, the totals, and the planning's own failure if any.
pub(super) fn dry_run(
    settings: &Settings,
    planned: Planned,
    planning: Result<()>,
    dry: DryRun,
    reporter: &Reporter,
    notes: &Progress,
) -> Result<()> {
    // Destinations that came after their hash was planned: fetched with it (then copied).
    let mut dry = dry;
    let mut failure = Ok(());
    for_chunks(&planned.late, |chunk| {
        let late = chunk.iter().map(|late| {
            let destination = late.destination.as_path();
            (late.value, late.size, destination, late.replaced)
        });
        match planned_files(late, settings.out, reporter, notes) {
            Ok(more) => dry.add(more),
            Err(err) => failure = Err(err),
        }
    })?;
    failure?;
    let DryRun {
        files,
        bytes,
        replaced,
    } = dry;
    // Copies from a file in place over a local file with other content would replace it too.
    let replaced = replaced + planned.replaced as u64;
    let in_place = planned.skipped;
    let replacing = if replaced > 0 {
        format!("; {replaced} would replace a local file with other content")
    } else {
        String::new()
    };
    notes.note(format!(
        "dry run: {files} file(s) to fetch ({bytes} bytes known), {in_place} already in place\
         {replacing}; nothing was downloaded"
    ));
    let mut json = serde_json::json!({
        "dry_run": true, "files": files, "bytes": bytes, "skipped": in_place, "replaced": replaced,
    });
    if let Some(revision) = &settings.revision {
        json["revision"] = serde_json::json!(revision);
    }
    reporter.summary(json)?;
    planning.with_context(|| format!("cannot plan the download from {}", settings.repo))?;
    reporter.stdout_failure()
}

/// Reports files a dry run would fetch (hash, size when known, destination, whether it would replace a
/// local file with other content), as `HASH PATH SIZE` lines or JSON objects, naming those it would
/// replace on stderr; returns how many there are, their known bytes, and how many would replace.
pub(super) fn planned_files<'a>(
    files: impl Iterator<Item = (u128, Option<u64>, &'a Path, bool)>,
    out: &Path,
    reporter: &Reporter,
    notes: &Progress,
) -> Result<DryRun> {
    let mut planned = DryRun::default();
    // Lines go out in one write per request's worth, not one per file.
    let mut block = String::new();
    for (value, size, destination, replaced) in files {
        planned.files += 1;
        planned.bytes += size.unwrap_or(0);
        if replaced {
            planned.replaced += 1;
            notes.note(super::replaced_line(out, destination, true));
        }
        let hash = hash_text(value);
        if reporter.json() {
            let file = FileReport {
                hash: Some(value),
                path: destination,
                bytes: size,
                sha256: None,
                status: Status::Planned,
                error: None,
            };
            reporter.placed(file, replaced)?;
            continue;
        }
        if !block.is_empty() {
            block.push('\n');
        }
        block.push_str(&hash);
        block.push(' ');
        block.push_str(&quote(&destination.to_string_lossy()));
        match size {
            Some(size) => {
                use std::fmt::Write;
                let _ = write!(block, " {size}");
            }
            None => block.push_str(" -"),
        }
    }
    if !block.is_empty() {
        reporter.line(&block)?;
    }
    Ok(planned)
}

/// What became of the late destinations.
#[derive(Default)]
struct LateOutcome {
    fetched: usize,
    /// Of those fetched, the copies of a file put in place from the cache.
    from_cache: usize,
    /// Of those fetched, the copies over a local file with other content.
    replaced: usize,
    missing: usize,
    failed: usize,
    bytes: u64,
    /// Copies that failed, each costing only its own destination.
    errors: Vec<anyhow::Error>,
}

/// Late destinations handled at a time: memory for them stays bounded however many there are.
const LATE_CHUNK: usize = 16 * 1024;

/// Calls `each` with the late destinations, a bounded chunk at a time.
fn for_chunks(late: &Spool<Late>, mut each: impl FnMut(&[Late])) -> Result<()> {
    let mut chunk = Vec::new();
    late.for_each(|one| {
        chunk.push(one);
        if chunk.len() == LATE_CHUNK {
            each(&chunk);
            chunk.clear();
        }
    })?;
    if !chunk.is_empty() {
        each(&chunk);
    }
    Ok(())
}

/// Copies each late destination from its hash's first destination, when that holds the hash's content
/// (the fetch wrote it); reports it with its hash's fate otherwise. A copy that fails costs only its
/// own destination.
fn fill_late(
    out: &Path,
    late: &Spool<Late>,
    outcomes: &[Outcome],
    reporter: &Reporter,
    notes: &Progress,
) -> LateOutcome {
    let mut filling = Filling {
        out,
        outcomes,
        reporter,
        notes,
        sha256: reporter.wants_sha256(),
        buf: vec![0; 256 * 1024],
        outcome: LateOutcome::default(),
    };
    let read = for_chunks(late, |chunk| filling.chunk(chunk));
    if let Err(err) = read {
        filling.outcome.errors.push(err);
    }
    filling.outcome
}

/// [`fill_late`] under way.
struct Filling<'a> {
    out: &'a Path,
    outcomes: &'a [Outcome],
    reporter: &'a Reporter,
    notes: &'a Progress,
    sha256: bool,
    buf: Vec<u8>,
    outcome: LateOutcome,
}

impl Filling<'_> {
    /// Fills one chunk of late destinations.
    fn chunk(&mut self, late: &[Late]) {
        // Which of their hashes the server said it is missing, and which came from the cache (read
        // back from the workers' lists).
        let wanted: ValueSet = late.iter().map(|l| l.value).collect();
        let mut missing = ValueSet::default();
        let mut cached = ValueSet::default();
        for o in self.outcomes {
            for (list, found) in [(&o.missing, &mut missing), (&o.cached, &mut cached)] {
                let read = list.for_each(|value| {
                    if wanted.contains(&value) {
                        found.insert(value);
                    }
                });
                if let Err(err) = read {
                    self.outcome.errors.push(err);
                }
            }
        }
        let outcome = &mut self.outcome;
        for late in late {
            let mut error = None;
            let copy = copy_late(self.out, late, self.sha256, &mut self.buf);
            let (status, copied) = match copy {
                Ok(Some(copied)) => {
                    outcome.fetched += 1;
                    outcome.bytes += copied.bytes;
                    let status = if cached.contains(&late.value) {
                        outcome.from_cache += 1;
                        Status::Cached
                    } else {
                        Status::Fetched
                    };
                    (status, Some(copied))
                }
                Ok(None) if missing.contains(&late.value) => {
                    outcome.missing += 1;
                    (Status::Missing, None)
                }
                Ok(None) => {
                    outcome.failed += 1;
                    (Status::Failed, None)
                }
                Err(err) => {
                    outcome.failed += 1;
                    error = Some(format!("{err:#}"));
                    outcome.errors.push(err);
                    (Status::Failed, None)
                }
            };
            // Only a copy made replaced anything; a failed one left the local file as it was.
            let replaced = late.replaced && copied.is_some();
            if replaced {
                outcome.replaced += 1;
                let line = super::replaced_line(self.out, &late.destination, false);
                self.notes.note(line);
            }
            let file = FileReport {
                hash: Some(late.value),
                path: &late.destination,
                bytes: copied.as_ref().map(|c| c.bytes),
                sha256: copied.as_ref().and_then(|c| c.sha256.as_ref()),
                status,
                error: error.as_deref(),
            };
            let _ = self.reporter.placed(file, replaced);
        }
    }
}

/// Copies a late destination from its hash's first one, checking the bytes on the way; `None` when the
/// first does not hold the hash's content (it was not fetched), and then nothing is written.
fn copy_late(out: &Path, late: &Late, sha256: bool, buf: &mut [u8]) -> Result<Option<Copied>> {
    let source = out.join(&late.first);
    let mut from = match std::fs::File::open(&source) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(fail(
                Kind::Other,
                format!("cannot read {}: {err}", source.display()),
            ));
        }
    };
    Confined::new(out).check(&late.destination)?;
    let target = out.join(&late.destination);
    let mut pending = PendingFile::create(&target)?;
    let mut digests = Digests::new(sha256);
    loop {
        let n = match from.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => {
                let why = format!("cannot read {}: {err}", source.display());
                return Err(local(&err, why));
            }
        };
        digests.update(&buf[..n]);
        pending
            .file()
            .write_all(&buf[..n])
            .map_err(|err| local(&err, format!("cannot write {}: {err}", target.display())))?;
    }
    let copied = digests.finish();
    if copied.hash != late.value {
        // Dropped unpublished: whatever was at the target stays.
        return Ok(None);
    }
    pending.publish()?;
    Ok(Some(copied))
}

/// How many files (destinations) of the list ended each way.
#[derive(Default)]
struct Summary {
    /// Put in place by this run, downloaded or from the cache.
    fetched: usize,
    /// Of those fetched, the ones from the cache.
    from_cache: usize,
    skipped: usize,
    missing: usize,
    failed: usize,
    /// Of those fetched or skipped, the ones that replaced a local file with other content.
    replaced: usize,
}

impl Summary {
    fn total(&self) -> usize {
        self.fetched + self.skipped + self.missing + self.failed
    }

    /// The `--json` summary object.
    fn to_json(&self, bytes: u64) -> serde_json::Value {
        serde_json::json!({
            "fetched": self.fetched,
            "from_cache": self.from_cache,
            "skipped": self.skipped,
            "missing": self.missing,
            "failed": self.failed,
            "replaced": self.replaced,
            "bytes": bytes,
        })
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} fetched", self.fetched)?;
        if self.from_cache > 0 {
            write!(f, " ({} from the cache)", self.from_cache)?;
        }
        write!(
            f,
            ", {} skipped, {} missing, {} failed",
            self.skipped, self.missing, self.failed
        )?;
        if self.replaced > 0 {
            write!(f, ", {} replaced", self.replaced)?;
        }
        Ok(())
    }
}
