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
    notes: &Progress,
) -> Result<()> {
    let out = settings.out;
    let mut errors = Vec::new();
    if let Err(err) = planning {
        errors.push(err);
    }
    let mut summary = Summary {
        skipped: planned.skipped,
        failed: planned.failed + report_unwritten(&unsent, Status::Failed, reporter),
        ..Summary::default()
    };
    let mut bytes = planned.bytes;
    for outcome in &outcomes {
        summary.fetched += outcome.fetched_files;
        summary.missing += outcome.missing_files;
        summary.failed += outcome.failed_files;
        bytes += outcome.bytes;
    }
    let late = fill_late(out, &planned.late, &outcomes, reporter);
    summary.fetched += late.fetched;
    summary.missing += late.missing;
    summary.failed += late.failed;
    bytes += late.bytes;
    errors.extend(late.errors);
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
    let (mut files, mut bytes) = (dry.files, dry.bytes);
    let mut failure = Ok(());
    for_chunks(&planned.late, |chunk| {
        let late = chunk
            .iter()
            .map(|late| (late.value, late.size, late.destination.as_path()));
        match planned_files(late, reporter) {
            Ok((late_files, late_bytes)) => {
                files += late_files;
                bytes += late_bytes;
            }
            Err(err) => failure = Err(err),
        }
    })?;
    failure?;
    let in_place = planned.skipped;
    notes.note(format!(
        "dry run: {files} file(s) to fetch ({} bytes known), {in_place} already in place; nothing was \
         downloaded",
        bytes
    ));
    let mut json = serde_json::json!({
        "dry_run": true, "files": files, "bytes": bytes, "skipped": in_place,
    });
    if let Some(revision) = &settings.revision {
        json["revision"] = serde_json::json!(revision);
    }
    reporter.summary(json)?;
    planning.with_context(|| format!("cannot plan the download from {}", settings.repo))?;
    reporter.stdout_failure()
}

/// Reports files a dry run would fetch (hash, size when known, destination), as `HASH PATH SIZE` lines or
/// JSON objects; returns how many and their known bytes.
pub(super) fn planned_files<'a>(
    files: impl Iterator<Item = (u128, Option<u64>, &'a Path)>,
    reporter: &Reporter,
) -> Result<(u64, u64)> {
    let (mut count, mut bytes) = (0, 0);
    // Lines go out in one write per request's worth, not one per file.
    let mut block = String::new();
    for (value, size, destination) in files {
        count += 1;
        bytes += size.unwrap_or(0);
        let hash = hash_text(value);
        if reporter.json() {
            reporter.file(FileReport {
                hash: Some(value),
                path: destination,
                bytes: size,
                sha256: None,
                status: Status::Planned,
                error: None,
            })?;
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
    Ok((count, bytes))
}

/// What became of the late destinations.
#[derive(Default)]
struct LateOutcome {
    fetched: usize,
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
) -> LateOutcome {
    let mut outcome = LateOutcome::default();
    let sha256 = reporter.wants_sha256();
    let mut buf = vec![0; 256 * 1024];
    let read = for_chunks(late, |chunk| {
        fill_chunk(
            out,
            chunk,
            outcomes,
            reporter,
            sha256,
            &mut buf,
            &mut outcome,
        )
    });
    if let Err(err) = read {
        outcome.errors.push(err);
    }
    outcome
}

/// [`fill_late`] for one chunk.
fn fill_chunk(
    out: &Path,
    late: &[Late],
    outcomes: &[Outcome],
    reporter: &Reporter,
    sha256: bool,
    buf: &mut [u8],
    outcome: &mut LateOutcome,
) {
    // Which of their hashes the server said it is missing (read back from the workers' lists).
    let wanted: ValueSet = late.iter().map(|l| l.value).collect();
    let mut missing = ValueSet::default();
    for o in outcomes {
        let read = o.missing.for_each(|value| {
            if wanted.contains(&value) {
                missing.insert(value);
            }
        });
        if let Err(err) = read {
            outcome.errors.push(err);
        }
    }
    for late in late {
        let mut error = None;
        let (status, copied) = match copy_late(out, late, sha256, buf) {
            Ok(Some(copied)) => {
                outcome.fetched += 1;
                outcome.bytes += copied.bytes;
                (Status::Fetched, Some(copied))
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
        let _ = reporter.file(FileReport {
            hash: Some(late.value),
            path: &late.destination,
            bytes: copied.as_ref().map(|c| c.bytes),
            sha256: copied.as_ref().and_then(|c| c.sha256.as_ref()),
            status,
            error: error.as_deref(),
        });
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
