//! What scripts read: one JSON object per file on stdout (`--json`) and a `sha256sum -c` manifest
//! (`--checksums`).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use serde_json::json;

use crate::disk::fsio::PendingFile;
use crate::disk::manifest::Manifest;
use crate::error::{Kind, fail};
use crate::sync::lock;
use crate::term::output::{self, Output};
use crate::transfer::sha256_hex;

/// What happened to a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Fetched,
    /// Put in place from `--cache-dir` instead of downloaded.
    Cached,
    Skipped,
    Missing,
    Failed,
    /// Would be fetched (a dry run).
    Planned,
    /// `verify`: the file on disk matches its hash.
    Ok,
    /// `verify`: the file on disk does not match its hash, or is not a regular file.
    Mismatch,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Fetched => "fetched",
            Status::Cached => "cached",
            Status::Skipped => "skipped",
            Status::Missing => "missing",
            Status::Failed => "failed",
            Status::Planned => "planned",
            Status::Ok => "ok",
            Status::Mismatch => "mismatch",
        }
    }
}

/// One file's outcome, as reported.
pub struct FileReport<'a> {
    /// The content hash, when known (written in the server's form).
    pub hash: Option<u128>,
    /// Where the file is (or would have been), relative to the output directory for `batch`.
    pub path: &'a Path,
    pub bytes: Option<u64>,
    pub sha256: Option<&'a [u8; 32]>,
    pub status: Status,
    /// Why the file failed, for `Status::Failed`.
    pub error: Option<&'a str>,
}

/// Collects per-file outcomes for `--json` and `--checksums`; shared by threads.
pub struct Reporter {
    json: bool,
    manifest: Option<PathBuf>,
    /// `(sha256 hex, path)` of every file in place, for the manifest.
    entries: Mutex<Manifest>,
    /// Set once stdout failed: no more JSON is written, and the download goes on.
    stdout_gone: AtomicBool,
    /// A write to stdout that failed other than by its reader leaving (a full disk, say).
    stdout_error: Mutex<Option<String>>,
}

impl Reporter {
    /// A reporter writing JSON lines when `json`, and the manifest to `checksums` when given.
    pub fn new(json: bool, checksums: Option<PathBuf>) -> Self {
        Reporter {
            json,
            manifest: checksums,
            entries: Mutex::new(Manifest::default()),
            stdout_gone: AtomicBool::new(false),
            stdout_error: Mutex::new(None),
        }
    }

    /// Where the manifest goes, if one was asked for.
    pub fn manifest(&self) -> Option<&Path> {
        self.manifest.as_deref()
    }

    /// Whether file outcomes need a SHA-256.
    pub fn wants_sha256(&self) -> bool {
        self.json || self.manifest.is_some()
    }

    /// Whether stdout belongs to the JSON lines.
    pub fn json(&self) -> bool {
        self.json
    }

    /// Reports one file.
    pub fn file(&self, file: FileReport<'_>) -> Result<()> {
        self.placed(file, false)
    }

    /// Reports one file put in place; `replaced` when it replaced a local file whose content was found
    /// to differ (`"replaced":true` in its JSON object).
    pub fn placed(&self, file: FileReport<'_>, replaced: bool) -> Result<()> {
        let path = file.path.to_string_lossy();
        if let (
            Some(sha),
            Status::Fetched | Status::Cached | Status::Skipped | Status::Ok,
            Some(_),
        ) = (file.sha256, file.status, &self.manifest)
        {
            lock(&self.entries).push(*sha, path.to_string());
        }
        let sha256 = file.sha256.map(sha256_hex);
        if self.json {
            let mut line = json!({
                "hash": file.hash.map(crate::hash::hash_text),
                "path": path,
                "bytes": file.bytes,
                "sha256": sha256,
                "status": file.status.as_str(),
            });
            if let Some(error) = file.error {
                line["error"] = json!(error);
            }
            if replaced {
                line["replaced"] = json!(true);
            }
            self.print_line(&line);
        }
        Ok(())
    }

    /// Writes one line of plain output on stdout (the JSON lines' place when there is no --json).
    pub fn line(&self, text: &str) -> Result<()> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{text}").map_err(|err| crate::transfer::write_failure(err, "stdout"))
    }

    /// Reports the final summary (JSON only).
    pub fn summary(&self, summary: serde_json::Value) -> Result<()> {
        if self.json {
            self.print_line(&json!({ "summary": summary }));
        }
        Ok(())
    }

    /// The error to end the run with when JSON could not be written for a reason other than its reader
    /// leaving; the download itself was finished regardless.
    pub fn stdout_failure(&self) -> Result<()> {
        match lock(&self.stdout_error).take() {
            Some(message) => Err(fail(Kind::Other, message)),
            None => Ok(()),
        }
    }

    /// Writes one JSON line. A failed write never stops the download: a reader that closed the pipe
    /// (`| head -1`) stops the reports, and the run still ends by the download's outcome.
    fn print_line(&self, value: &serde_json::Value) {
        if self.stdout_gone.load(Ordering::Relaxed) {
            return;
        }
        let mut stdout = std::io::stdout().lock();
        let written = writeln!(stdout, "{value}").and_then(|()| stdout.flush());
        let Err(err) = written else {
            return;
        };
        if self.stdout_gone.swap(true, Ordering::Relaxed) {
            return;
        }
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            let _ = writeln!(
                std::io::stderr(),
                "oxdl: note: stdout was closed by its reader; the download goes on without JSON reports"
            );
        } else {
            let message = format!("cannot write the JSON reports to stdout: {err}");
            let _ = writeln!(
                std::io::stderr(),
                "oxdl: error: {message}; the download goes on"
            );
            *lock(&self.stdout_error) = Some(message);
        }
    }

    /// Writes the manifest, if one was asked for: sorted by path, published atomically.
    pub fn finish(&self) -> Result<()> {
        let Some(path) = &self.manifest else {
            return Ok(());
        };
        let entries = std::mem::take(&mut *lock(&self.entries));
        match output::resolve(path)? {
            Output::Replace(path) => {
                let mut pending = PendingFile::create(&path)?;
                let mut out = BufWriter::new(pending.file());
                entries
                    .write(&mut out)
                    .and_then(|()| out.flush().map_err(anyhow::Error::from))
                    .with_context(|| format!("cannot write {}", path.display()))?;
                drop(out);
                pending.publish()
            }
            // `--checksums >(sha256sum -c)`, a FIFO or a device: written straight through.
            Output::Through(mut stream) => {
                let mut out = BufWriter::new(&mut stream.file);
                entries
                    .write(&mut out)
                    .and_then(|()| out.flush().map_err(anyhow::Error::from))
                    .with_context(|| format!("cannot write {}", stream.name))
            }
        }
    }
}
