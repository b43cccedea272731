//! `oxdl get`: one file by path, to a file (atomically) or to stdout.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cli::GetArgs;
use crate::disk::fsio::PendingFile;
use crate::engine::Ui;
use crate::engine::ranged;
use crate::error::{Kind, Retry, fail, is_fatal_for_run, kind_of, retry_of, transient};
use crate::server::remote::{Download, Meta, Remote};
use crate::term::output::{self, Output, Stream};
use crate::term::progress::{Display, Progress};
use crate::term::report::{FileReport, Reporter, Status};
use crate::transfer::{Copied, Copier, write_failure};

/// Where the bytes go.
enum Target {
    /// Stdout, a device, a FIFO or a descriptor: bytes go straight in and cannot be taken back.
    Stream(Stream),
    /// A regular file, replaced atomically once the bytes check out.
    File(PathBuf),
}

/// Downloads the file named by `args`, verified unless resized or told not to, and reports its revision.
pub fn run(remote: &Remote, args: &GetArgs, ui: &Ui, reporter: &Reporter) -> Result<()> {
    if args.recursive {
        return crate::commands::tree::run(remote, args, ui, reporter);
    }
    if !args.filters.include.is_empty() || !args.filters.exclude.is_empty() {
        return Err(fail(
            Kind::Usage,
            "--include and --exclude choose files of a tree: add -r",
        ));
    }
    let file_name = file_name(&args.resource)?;
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    if to_stdout && reporter.json() {
        return Err(fail(
            Kind::Usage,
            "--json and -o - both want stdout: write the file elsewhere, or drop --json",
        ));
    }
    if to_stdout && reporter.manifest().is_some() {
        return Err(fail(
            Kind::Usage,
            "--checksums lists files written to disk, and -o - writes none: drop one of them",
        ));
    }
    let mut target = target(args.output.as_deref(), file_name)?;
    let shown = match &target {
        Target::Stream(stream) => stream.name.clone(),
        Target::File(path) => path.display().to_string(),
    };
    let mut expected = None;
    match download(remote, args, ui, reporter, &mut target, &mut expected) {
        Ok((copied, revision, status)) => {
            reporter.file(FileReport {
                hash: Some(copied.hash),
                path: Path::new(&shown),
                bytes: Some(copied.bytes),
                sha256: copied.sha256.as_ref(),
                status,
                error: None,
            })?;
            reporter.summary(serde_json::json!({
                "fetched": 1, "from_cache": u8::from(status == Status::Cached), "skipped": 0,
                "missing": 0, "failed": 0, "bytes": copied.bytes, "revision": revision,
            }))?;
            reporter.finish()
        }
        Err(err) => {
            // Scripts reading --json learn of the failure on stdout too, as they do from batch.
            let message = format!("{err:#}");
            reporter.file(FileReport {
                hash: expected.as_ref().map(|meta: &Meta| meta.hash),
                path: Path::new(&shown),
                bytes: None,
                sha256: None,
                status: Status::Failed,
                error: Some(&message),
            })?;
            reporter.summary(serde_json::json!({
                "fetched": 0, "from_cache": 0, "skipped": 0, "missing": 0, "failed": 1, "bytes": 0,
                "revision": null,
            }))?;
            reporter.finish()?;
            Err(err)
        }
    }
}

/// Fetches the metadata (into `expected`) and the bytes, retrying as allowed, unless the cache holds
/// them; the copy, revision and where it came from.
fn download(
    remote: &Remote,
    args: &GetArgs,
    ui: &Ui,
    reporter: &Reporter,
    target: &mut Target,
    expected: &mut Option<Meta>,
) -> Result<(Copied, Option<String>, Status)> {
    let context = || format!("cannot download {} from {}", args.resource, args.repo);
    let notes = Progress::notes(&ui.display);
    // A resized image differs from the stored file by design; --no-verify asks for no check.
    let verify = !(args.no_verify || args.width.is_some() || args.height.is_some());
    let mut early = None;
    if verify && ui.cache.is_some() {
        // The cache may hold the file: a hit must not start a download.
        *expected = expected_content(remote, args, ui, &notes)?;
    } else if verify {
        // The metadata and the body are asked for at once, on two connections: one round trip, not
        // two. The body is read only once the metadata is in, so that nothing is written before it is
        // known what the bytes must be; a file that turns out to go by ranges drops it unread.
        let (meta, body) = std::thread::scope(|scope| {
            let meta = scope.spawn(|| expected_content(remote, args, ui, &notes));
            let body = remote.get_version(&args.resource, None, None);
            let meta = meta
                .join()
                .unwrap_or_else(|_| Err(fail(Kind::Other, "the metadata thread crashed")));
            (meta, body)
        });
        *expected = meta?;
        early = Some(body);
    }
    // Only a regular file: its bytes are checked before they appear; a stream's could not be taken back.
    if let (Some(cache), Some(meta), Target::File(path)) = (&ui.cache, &*expected, &*target)
        && let Some((copied, revision)) = cache.get(
            meta.hash,
            meta.pinned.as_deref(),
            path,
            reporter.wants_sha256(),
            &|l| notes.note(l),
        )?
    {
        return Ok((copied, revision, Status::Cached));
    }
    if let (Target::File(path), Some(meta)) = (&*target, expected.as_ref())
        && let Some((copied, revision)) =
            ranged(remote, args, ui, reporter, meta, path, &mut early)?
    {
        if let Some(cache) = &ui.cache {
            cache.insert(path, copied.hash, &|line| notes.note(line));
        }
        return Ok((copied, revision, Status::Fetched));
    }
    let mut backoff = ui.retry.backoff();
    let (shown, copied, revision) = loop {
        // The body asked for with the metadata serves if it is the version the metadata describes.
        let started = early
            .take()
            .and_then(|body| same_version(body, expected.as_ref()));
        match attempt(
            remote,
            args,
            target,
            expected.as_ref(),
            started,
            &ui.display,
            reporter.wants_sha256(),
        ) {
            Ok(done) => break done,
            Err(err) if backoff.retry(&err, |line| notes.note(line)) => {}
            Err(err) => return Err(err).with_context(context),
        }
    };
    if let (Some(cache), Some(_), Target::File(path)) = (&ui.cache, &*expected, &*target) {
        cache.insert(path, copied.hash, &|line| notes.note(line));
    }
    notes.note(format!(
        "{shown}: {} bytes, revision {}{}",
        copied.bytes,
        revision
            .as_deref()
            .unwrap_or("unknown (the server did not say)"),
        if expected.is_some() { ", verified" } else { "" }
    ));
    Ok((copied, revision, Status::Fetched))
}

/// A large file through parallel ranges (see `ranged`): the copy and revision, or `None` when the file
/// takes one stream (below `--chunk-threshold`, resized, or a server without the ranged route). A body
/// asked for `early` is dropped unread before the ranges start: its connection closes at once, so at
/// most a round trip's worth of it was sent for nothing.
fn ranged(
    remote: &Remote,
    args: &GetArgs,
    ui: &Ui,
    reporter: &Reporter,
    meta: &Meta,
    path: &Path,
    early: &mut Option<Result<Download>>,
) -> Result<Option<(Copied, Option<String>)>> {
    let settings = super::ranged_settings(args, remote);
    if args.width.is_some() || args.height.is_some() || !settings.applies(meta.size) {
        return Ok(None);
    }
    drop(early.take());
    let notes = Progress::notes(&ui.display);
    let job = ranged::Job {
        resource: meta.pinned.as_deref().unwrap_or(&args.resource),
        meta,
        target: path,
        stopped: &|| false,
    };
    let progress = Progress::for_bytes(&ui.display, Some(meta.size));
    let outcome = ranged::download(
        remote,
        &job,
        &settings,
        ui.retry,
        &progress,
        reporter.wants_sha256(),
    );
    progress.finish();
    let done = match outcome
        .with_context(|| format!("cannot download {} from {}", args.resource, args.repo))?
    {
        ranged::Outcome::Done(done) => done,
        ranged::Outcome::NoRoute => {
            notes.note(
                "oxdl: the server does not serve byte ranges (/chunk); downloading in one stream",
            );
            return Ok(None);
        }
    };
    let revision = meta.revision.clone();
    notes.note(format!(
        "{}: {} bytes, revision {}, verified; {} range requests over {} connections{}",
        path.display(),
        done.copied.bytes,
        revision
            .as_deref()
            .unwrap_or("unknown (the server did not say)"),
        done.requests,
        done.connections,
        match done.resumed {
            0 => String::new(),
            n => format!(", {n} bytes resumed from an earlier run"),
        }
    ));
    Ok(Some((done.copied, revision)))
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
            Err(err) if is_fatal_for_run(&err) => {
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

/// The body asked for by revision as given, alongside the metadata, if it is known to be the version
/// the metadata describes: the metadata named no commit to pin to (nothing better can be asked for),
/// or the body's `oxen-revision-id` is the metadata's last commit. Otherwise (a branch that moved
/// between the two requests, a revision unknown on either side, or a failed early request) it is
/// dropped, and the file is asked for again by the metadata's commit.
fn same_version(body: Result<Download>, expected: Option<&Meta>) -> Option<Result<Download>> {
    let Some(meta) = expected.filter(|meta| meta.pinned.is_some()) else {
        return Some(body);
    };
    let same = match (&body, meta.revision.as_deref()) {
        (Ok(download), Some(last)) => download.revision.as_deref() == Some(last),
        _ => false,
    };
    same.then_some(body)
}

/// One try: request (unless `started` already did), stream to the target, check, publish.
fn attempt(
    remote: &Remote,
    args: &GetArgs,
    target: &mut Target,
    expected: Option<&Meta>,
    started: Option<Result<Download>>,
    display: &Display,
    sha256: bool,
) -> Result<(String, Copied, Option<String>)> {
    let download = match started {
        Some(download) => download?,
        None => {
            // Pinned to the commit the metadata came from, so the bytes match the hash they are
            // checked against.
            let resource = expected
                .and_then(|m| m.pinned.as_deref())
                .unwrap_or(&args.resource);
            remote.get_version(resource, args.width, args.height)?
        }
    };
    let revision = download.revision.clone();
    let mut progress = Progress::for_bytes(display, download.length.or(expected.map(|m| m.size)));
    let (shown, copied) = save(download, target, expected, sha256, &mut progress)?;
    progress.finish();
    Ok((shown, copied, revision))
}

/// Streams the body to its target; a file is published only when every byte arrived and checked out.
fn save(
    download: Download,
    target: &mut Target,
    expected: Option<&Meta>,
    sha256: bool,
    progress: &mut Progress,
) -> Result<(String, Copied)> {
    let mut body = download.body;
    let mut copier = Copier::with_sha256(sha256);
    let mut on_bytes = |n| progress.bytes(n);
    match target {
        Target::Stream(stream) => {
            let mut sent = 0u64;
            let copied = copier.copy(&mut body, &mut stream.file, &stream.name, &mut |n| {
                sent += n;
                on_bytes(n)
            });
            let copied = copied.map_err(|err| final_once_sent(err, sent, &stream.name))?;
            stream
                .file
                .flush()
                .map_err(|err| write_failure(err, &stream.name))?;
            // Bytes in a stream cannot be taken back; a failed check still fails the run.
            check(copied, download.length, expected, Some(&stream.name))
                .map_err(|err| final_once_sent(err, sent, &stream.name))?;
            Ok((stream.name.clone(), copied))
        }
        Target::File(path) => {
            let mut pending = PendingFile::create(path)?;
            let shown = path.display().to_string();
            let copied = copier.copy(&mut body, pending.file(), &shown, &mut on_bytes)?;
            // Checked before publishing, so a short or wrong download never replaces an older file.
            check(copied, download.length, expected, None)?;
            pending.publish()?;
            Ok((shown, copied))
        }
    }
}

/// Bytes in a stream cannot be taken back, so once some went out a broken download is not retried
/// (a retry would repeat them).
fn final_once_sent(err: anyhow::Error, sent: u64, name: &str) -> anyhow::Error {
    if sent == 0 || retry_of(&err) == Retry::Never {
        return err;
    }
    fail(
        kind_of(&err),
        format!(
            "{err:#}; {sent} bytes had already gone to {name}, so the download was not retried"
        ),
    )
}

/// A short body may be completed by trying again; bytes that contradict the metadata are final.
/// `streamed` names the stream the bytes already went to, if they could not be held back.
fn check(
    copied: Copied,
    length: Option<u64>,
    expected: Option<&Meta>,
    streamed: Option<&str>,
) -> Result<()> {
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
        Some(meta) if meta.size != copied.bytes || meta.hash != copied.hash => {
            let fate = match streamed {
                Some(name) => format!(
                    "the {} bytes already written to {name} are not to be trusted",
                    copied.bytes
                ),
                None => "nothing was written".to_string(),
            };
            Err(fail(
                Kind::Integrity,
                format!(
                    "the downloaded bytes ({} bytes, hash {:x}) do not match the server's metadata \
                     ({} bytes, hash {:x}); {fate}",
                    copied.bytes, copied.hash, meta.size, meta.hash
                ),
            ))
        }
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

/// `-o -` is stdout; an existing directory (or a path ending in `/`) receives the file under its own
/// name; a special file is written through, and a link to a regular file replaces the file it names.
fn target(output: Option<&Path>, file_name: &str) -> Result<Target> {
    let path = match output {
        None if Path::new(file_name).is_dir() => {
            return Err(fail(
                Kind::Usage,
                format!(
                    "./{file_name} is a directory here: to download the tree it names, add -r; to \
                     write the file elsewhere, pass -o"
                ),
            ));
        }
        None => PathBuf::from(file_name),
        Some(path) if path == Path::new("-") => return Ok(Target::Stream(output::stdout()?)),
        Some(path) if path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/') => {
            path.join(file_name)
        }
        Some(path) => path.to_path_buf(),
    };
    Ok(match output::resolve(&path)? {
        Output::Replace(path) => Target::File(path),
        Output::Through(stream) => Target::Stream(stream),
    })
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
