//! Report: what became of every file (stderr summary, `--json`, `--checksums`), the destinations that
//! came late, and the one exit code of the run.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result};

use crate::error::{Kind, fail, most_serious};
use crate::fsio::{Confined, copy_published};
use crate::hashes::Wanted;
use crate::listfmt::quote;
use crate::progress::Progress;
use crate::report::{FileReport, Reporter, Status};
use crate::transfer::{Copied, hash_file};

use super::fetch::Outcome;
use super::plan::{Late, Planned, Skipped};
use super::{DryRun, Settings};

/// Reports everything and returns the run's result: the most serious failure (see
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
    let mut fetched = HashSet::new();
    let (mut missing, mut failed) = (Vec::new(), unsent);
    let mut summary = Summary::default();
    let mut bytes = planned.bytes;
    for outcome in outcomes {
        fetched.extend(outcome.fetched);
        summary.fetched += outcome.fetched_files;
        missing.extend(outcome.missing);
        failed.extend(outcome.failed);
        errors.extend(outcome.errors);
        bytes += outcome.bytes;
    }
    for group in &planned.skipped {
        report_skipped(group, reporter)?;
        summary.skipped += group.places.len();
    }
    summary.missing += report_unwritten(&missing, Status::Missing, reporter)?;
    summary.failed += report_unwritten(&failed, Status::Failed, reporter)?;
    let late = fill_late(out, &planned, &fetched, &missing, reporter)?;
    summary.fetched += late.fetched;
    summary.missing += late.missing;
    summary.failed += late.failed;
    bytes += late.bytes;
    errors.extend(late.errors);
    if summary.total() == 0 && errors.is_empty() {
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
    // The list of missing hashes is the substance of the partial result, so it is printed even when quiet.
    for w in &missing {
        eprintln!("missing: {}", w.hash);
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

/// Reports a dry run: the files in place, the totals, and the planning's own failure if any.
pub(super) fn dry_run(
    settings: &Settings,
    planned: Planned,
    planning: Result<()>,
    dry: DryRun,
    reporter: &Reporter,
    notes: &Progress,
) -> Result<()> {
    let mut in_place = 0;
    for group in &planned.skipped {
        report_skipped(group, reporter)?;
        in_place += group.places.len();
    }
    // Destinations that came after their hash was planned: fetched with it (then copied).
    let mut files = dry.files;
    let mut bytes = dry.bytes;
    for late in &planned.late {
        planned_file(
            &format!("{:x}", late.value),
            late.size,
            &late.destination,
            reporter,
        )?;
        files += 1;
        bytes += late.size.unwrap_or(0);
    }
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

/// One line (or JSON object) of a dry run: a file that would be fetched.
pub(super) fn planned_file(
    hash: &str,
    size: Option<u64>,
    destination: &Path,
    reporter: &Reporter,
) -> Result<()> {
    if reporter.json() {
        return reporter.file(FileReport {
            hash: Some(hash),
            path: destination,
            bytes: size,
            sha256: None,
            status: Status::Planned,
            error: None,
        });
    }
    let size = size.map_or("-".to_string(), |size| size.to_string());
    let path = destination.to_string_lossy();
    reporter.line(&format!("{hash} {} {size}", quote(&path)))
}

fn report_skipped(group: &Skipped, reporter: &Reporter) -> Result<()> {
    for (path, copied) in &group.places {
        reporter.file(FileReport {
            hash: Some(&group.hash),
            path,
            bytes: Some(copied.bytes),
            sha256: copied.sha256.as_ref(),
            status: Status::Skipped,
            error: None,
        })?;
    }
    Ok(())
}

/// Reports each destination of files that were not written; returns how many there were.
fn report_unwritten(files: &[Wanted], status: Status, reporter: &Reporter) -> Result<usize> {
    let mut count = 0;
    for w in files {
        for destination in &w.destinations {
            count += 1;
            reporter.file(FileReport {
                hash: Some(&w.hash),
                path: destination,
                bytes: None,
                sha256: None,
                status,
                error: None,
            })?;
        }
    }
    Ok(count)
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

/// Copies each late destination from its hash's first destination, which the fetch wrote and checked;
/// reports it with its hash's fate otherwise. A copy that fails costs only its own destination.
fn fill_late(
    out: &Path,
    planned: &Planned,
    fetched: &HashSet<u128>,
    missing: &[Wanted],
    reporter: &Reporter,
) -> Result<LateOutcome> {
    let missing: HashSet<u128> = missing.iter().map(|w| w.value).collect();
    let mut outcome = LateOutcome::default();
    for late in &planned.late {
        let hash = format!("{:x}", late.value);
        let mut error = None;
        let (status, copied) = if fetched.contains(&late.value) {
            match copy_late(out, late, reporter.wants_sha256()) {
                Ok(copied) => {
                    outcome.fetched += 1;
                    outcome.bytes += copied.bytes;
                    (Status::Fetched, Some(copied))
                }
                Err(err) => {
                    outcome.failed += 1;
                    error = Some(format!("{err:#}"));
                    outcome.errors.push(err);
                    (Status::Failed, None)
                }
            }
        } else if missing.contains(&late.value) {
            outcome.missing += 1;
            (Status::Missing, None)
        } else {
            outcome.failed += 1;
            (Status::Failed, None)
        };
        reporter.file(FileReport {
            hash: Some(&hash),
            path: &late.destination,
            bytes: copied.as_ref().map(|c| c.bytes),
            sha256: copied.as_ref().and_then(|c| c.sha256.as_ref()),
            status,
            error: error.as_deref(),
        })?;
    }
    Ok(outcome)
}

/// Copies a late destination from its hash's first one and reads back what it holds.
fn copy_late(out: &Path, late: &Late, sha256: bool) -> Result<Copied> {
    Confined::new(out).check(&late.destination)?;
    let target = out.join(&late.destination);
    copy_published(&out.join(&late.first), &target)?;
    hash_file(&target, sha256).map_err(|err| {
        fail(
            Kind::Other,
            format!("cannot read {}: {err}", target.display()),
        )
    })
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
