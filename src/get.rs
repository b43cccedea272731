//! `oxdl get`: one file by path, to a file (atomically) or to stdout.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::Ui;
use crate::cli::GetArgs;
use crate::error::{Kind, fail, is_server_wide, kind_of, retry_hint, transient};
use crate::fsio::PendingFile;
use crate::progress::{Display, Progress};
use crate::remote::{Download, Meta, Remote};
use crate::report::{FileReport, Reporter, Status};
use crate::transfer::{Copied, Copier, write_failure};

/// Where the bytes go.
enum Target {
    Stdout,
    File(PathBuf),
}

/// Downloads the file named by `args`, verified unless resized or told not to, and reports its revision.
pub fn run(remote: &Remote, args: &GetArgs, ui: &Ui, reporter: &Reporter) -> Result<()> {
    let file_name = file_name(&args.resource)?;
    let target = target(args.output.as_deref(), file_name);
    if reporter.json() && matches!(target, Target::Stdout) {
        return Err(fail(
            Kind::Usage,
            "--json and -o - both want stdout: write the file elsewhere, or drop --json",
        ));
    }
    let context = || format!("cannot download {} from {}", args.resource, args.repo);
    let notes = Progress::notes(&ui.display);
    let expected = if args.no_verify || args.width.is_some() || args.height.is_some() {
        None
    } else {
        expected_content(remote, args, ui, &notes)?
    };
    let mut backoff = ui.retry.backoff();
    let (shown, copied, revision) = loop {
        match attempt(
            remote,
            args,
            &target,
            expected.as_ref(),
            &ui.display,
            reporter.wants_sha256(),
        ) {
            Ok(done) => break done,
            Err(err) if backoff.retry(&err, |line| notes.note(line)) => {}
            Err(err) => return Err(err).with_context(context),
        }
    };
    notes.note(format!(
        "{shown}: {} bytes, revision {}{}",
        copied.bytes,
        revision
            .as_deref()
            .unwrap_or("unknown (the server did not say)"),
        if expected.is_some() { ", verified" } else { "" }
    ));
    let hash = format!("{:x}", copied.hash);
    reporter.file(FileReport {
        hash: &hash,
        path: Path::new(&shown),
        bytes: Some(copied.bytes),
        sha256: copied.sha256.as_ref(),
        status: Status::Fetched,
    })?;
    reporter.summary(serde_json::json!({
        "fetched": 1, "skipped": 0, "missing": 0, "failed": 0, "bytes": copied.bytes, "revision": revision,
    }))?;
    reporter.finish()
}

/// The hash and size the bytes must have, from the server's metadata; `None` (with a warning) when
/// the metadata cannot be had, so that a server without `/meta` still serves downloads.
fn expected_content(
    remote: &Remote,
    args: &GetArgs,
    ui: &Ui,
    notes: &Progress,
) -> Result<Option<Meta>> {
    let mut backoff = ui.retry.backoff();
    loop {
        match remote.meta(&args.resource) {
            Ok(meta) => return Ok(Some(meta)),
            Err(err) if backoff.retry(&err, |line| notes.note(line)) => {}
            // The download itself would fail the same way, with a better message.
            Err(err)
                if is_server_wide(&err) || matches!(kind_of(&err), Kind::Auth | Kind::NotFound) =>
            {
                return Err(err).with_context(|| {
                    format!("cannot download {} from {}", args.resource, args.repo)
                });
            }
            Err(err) => {
                notes.note(format!(
                    "oxdl: warning: cannot verify {}: {err:#}; downloading without verification",
                    args.resource
                ));
                return Ok(None);
            }
        }
    }
}

/// One try: request, stream to the target, check, publish.
fn attempt(
    remote: &Remote,
    args: &GetArgs,
    target: &Target,
    expected: Option<&Meta>,
    display: &Display,
    sha256: bool,
) -> Result<(String, Copied, Option<String>)> {
    // Pinned to the commit the metadata came from, so the bytes match the hash they are checked against.
    let resource = expected
        .and_then(|m| m.pinned.as_deref())
        .unwrap_or(&args.resource);
    let download = remote.get_version(resource, args.width, args.height)?;
    let revision = download.revision.clone();
    let mut progress = Progress::for_bytes(display, download.length.or(expected.map(|m| m.size)));
    let (shown, copied) = save(download, target, expected, sha256, &mut progress)?;
    progress.finish();
    Ok((shown, copied, revision))
}

/// Streams the body to its target; a file is published only when every byte arrived and checked out.
fn save(
    download: Download,
    target: &Target,
    expected: Option<&Meta>,
    sha256: bool,
    progress: &mut Progress,
) -> Result<(String, Copied)> {
    let mut body = download.body;
    let mut copier = Copier::with_sha256(sha256);
    let mut on_bytes = |n| progress.bytes(n);
    match target {
        Target::Stdout => {
            let mut stdout = std::io::stdout().lock();
            let mut sent = 0u64;
            let copied = copier.copy(&mut body, &mut stdout, "stdout", &mut |n| {
                sent += n;
                on_bytes(n)
            });
            let copied = copied.map_err(|err| final_once_sent(err, sent))?;
            stdout.flush().map_err(|err| write_failure(err, "stdout"))?;
            // Bytes on stdout cannot be taken back; a failed check still fails the run.
            check(copied, download.length, expected).map_err(|err| final_once_sent(err, sent))?;
            Ok(("stdout".to_string(), copied))
        }
        Target::File(path) => {
            let mut pending = PendingFile::create(path)?;
            let shown = path.display().to_string();
            let copied = copier.copy(&mut body, pending.file(), &shown, &mut on_bytes)?;
            // Checked before publishing, so a short or wrong download never replaces an older file.
            check(copied, download.length, expected)?;
            pending.publish()?;
            Ok((shown, copied))
        }
    }
}

/// Bytes on stdout cannot be taken back, so once some went out a broken download is not retried
/// (a retry would repeat them).
fn final_once_sent(err: anyhow::Error, sent: u64) -> anyhow::Error {
    if sent == 0 || retry_hint(&err).is_none() {
        return err;
    }
    fail(
        kind_of(&err),
        format!(
            "{err:#}; {sent} bytes had already gone to stdout, so the download was not retried"
        ),
    )
}

/// A short body may be completed by trying again; bytes that contradict the metadata are final.
fn check(copied: Copied, length: Option<u64>, expected: Option<&Meta>) -> Result<()> {
    if let Some(length) = length.filter(|&length| length != copied.bytes) {
        return Err(transient(
            Kind::Integrity,
            format!(
                "the download was cut short: {} of {length} bytes arrived",
                copied.bytes
            ),
            None,
        ));
    }
    match expected {
        Some(meta) if meta.size != copied.bytes || meta.hash != copied.hash => Err(fail(
            Kind::Integrity,
            format!(
                "the downloaded bytes ({} bytes, hash {:x}) do not match the server's metadata \
                 ({} bytes, hash {:x}); nothing was written",
                copied.bytes, copied.hash, meta.size, meta.hash
            ),
        )),
        _ => Ok(()),
    }
}

/// The last segment of REVISION/PATH, which names the file by default.
fn file_name(resource: &str) -> Result<&str> {
    match resource.rsplit_once('/') {
        Some((revision, name)) if !revision.is_empty() && !matches!(name, "" | "." | "..") => {
            Ok(name)
        }
        _ => Err(fail(
            Kind::Usage,
            format!(
                "'{resource}' is not REVISION/PATH: expected a revision and a file path, e.g. main/data/train.csv"
            ),
        )),
    }
}

/// `-o -` is stdout; an existing directory (or a path ending in `/`) receives the file under its own name.
fn target(output: Option<&Path>, file_name: &str) -> Target {
    match output {
        None => Target::File(PathBuf::from(file_name)),
        Some(path) if path == Path::new("-") => Target::Stdout,
        Some(path) if path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/') => {
            Target::File(path.join(file_name))
        }
        Some(path) => Target::File(path.to_path_buf()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(file_name("main/a/b.txt").unwrap(), "b.txt");
        assert_eq!(file_name("feature/x/hello.txt").unwrap(), "hello.txt");
        for bad in ["main", "main/", "/x", "main/..", "main/x/."] {
            assert!(file_name(bad).is_err(), "{bad}");
        }
    }
}
