//! Report: what became of every file (stderr summary, `--json`, `--checksums`), the destinations that
//! came late, and the one exit code of the run.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result};

use crate::error::{Kind, fail, most_serious};
use crate::fsio::copy_published;
use crate::hashes::Wanted;
use crate::listfmt::quote;
use crate::progress::Progress;
use crate::report::{FileReport, Reporter, Status};
use crate::transfer::hash_file;

use super::fetch::Outcome;
use super::plan::{Planned, Skipped};
use super::{DryRun, Settings};

/// Reports everything and returns the run's result: the most serious failure (see
/// [`crate::error::SEVERITY`]), else missing files, else success.
pub(super) fn finish(
    settings: &Settings,
    planned: Planned,
    planning: Result<()>,
    outcomes: Vec<Outcome>,
    reporter: &Reporter,
    notes: &Progress,
) -> Result<()> {
    let out = settings.out;
    let mut errors = Vec::new();
    if let Err(err) = planning {
        errors.push(err);
    }
    let mut fetched = HashSet::new();
    let (mut missing, mut failed) = (Vec::new(), Vec::new());
    let mut bytes = planned.bytes;
    for outcome in outcomes {
        fetched.extend(outcome.fetched);
        missing.extend(outcome.missing);
        failed.extend(outcome.failed);
        errors.extend(outcome.errors);
        bytes += outcome.bytes;
    }
    for group in &planned.skipped {
        report_skipped(group, reporter)?;
    }
    report_unwritten(&missing, Status::Missing, reporter)?;
    report_unwritten(&failed, Status::Failed, reporter)?;
    match fill_late(out, &planned, &fetched, &missing, reporter) {
        Ok(late_bytes) => bytes += late_bytes,
        Err(err) => errors.push(err),
    }
    let summary = Summary {
        fetched: fetched.len(),
        skipped: planned.skipped.len(),
        missing: missing.len(),
        failed: failed.len(),
    };
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
    // Destinations that came after their hash was planned would be copied from it.
    let late_files = planned.late.len() as u64;
    let files = dry.files + late_files;
    notes.note(format!(
        "dry run: {files} file(s) to fetch ({} bytes known), {in_place} already in place; nothing was \
         downloaded",
        dry.bytes
    ));
    let mut json = serde_json::json!({
        "dry_run": true, "files": files, "bytes": dry.bytes, "skipped": in_place,
    });
    if let Some(revision) = &settings.revision {
        json["revision"] = serde_json::json!(revision);
    }
    reporter.summary(json)?;
    planning.with_context(|| format!("cannot plan the download from {}", settings.repo))?;
    reporter.stdout_failure()
}

/// One line (or JSON object) of a dry run: a file that would be fetched.
pub(super) fn planned(w: &Wanted, destination: &Path, reporter: &Reporter) -> Result<()> {
    if reporter.json() {
        return reporter.file(FileReport {
            hash: Some(&w.hash),
            path: destination,
            bytes: w.size,
            sha256: None,
            status: Status::Planned,
            error: None,
        });
    }
    let size = w.size.map_or("-".to_string(), |size| size.to_string());
    let path = destination.to_string_lossy();
    reporter.line(&format!("{} {} {size}", w.hash, quote(&path)))
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

/// Reports each destination of files that were not written.
fn report_unwritten(files: &[Wanted], status: Status, reporter: &Reporter) -> Result<()> {
    for w in files {
        for destination in &w.destinations {
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
    Ok(())
}

/// Copies each late destination from its hash's first destination, which the fetch wrote and checked;
/// reports it with its hash's fate otherwise. Returns the bytes written.
fn fill_late(
    out: &Path,
    planned: &Planned,
    fetched: &HashSet<u128>,
    missing: &[Wanted],
    reporter: &Reporter,
) -> Result<u64> {
    let missing: HashSet<u128> = missing.iter().map(|w| w.value).collect();
    let mut bytes = 0;
    for late in &planned.late {
        let hash = format!("{:x}", late.value);
        let (status, copied) = if fetched.contains(&late.value) {
            let target = out.join(&late.destination);
            copy_published(&out.join(&late.first), &target)?;
            let copied = hash_file(&target, reporter.wants_sha256()).map_err(|err| {
                fail(
                    Kind::Other,
                    format!("cannot read {}: {err}", target.display()),
                )
            })?;
            bytes += copied.bytes;
            (Status::Fetched, Some(copied))
        } else if missing.contains(&late.value) {
            (Status::Missing, None)
        } else {
            (Status::Failed, None)
        };
        reporter.file(FileReport {
            hash: Some(&hash),
            path: &late.destination,
            bytes: copied.as_ref().map(|c| c.bytes),
            sha256: copied.as_ref().and_then(|c| c.sha256.as_ref()),
            status,
            error: None,
        })?;
    }
    Ok(bytes)
}

/// How many hashes of the list ended each way.
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
