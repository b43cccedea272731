//! `oxdl verify`: checks the files of a hash list on disk against their hashes, offline.
//!
//! The list is read as `batch` reads it (a file whole and checked first, a pipe as it arrives), each
//! destination is hashed by a pool of workers, and the outcomes are reported in list order by one
//! printer, so the output is the same whatever the number of jobs.

use std::collections::BTreeMap;
use std::io::{ErrorKind, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Condvar, Mutex};

use anyhow::{Context, Result};

use crate::cli::{GlobalArgs, VerifyArgs};
use crate::disk::fsio::Confined;
use crate::disk::listfmt;
use crate::disk::lists::ListInput;
use crate::error::{Kind, fail, most_serious};
use crate::sync::lock;
use crate::term::output;
use crate::term::progress::{Display, Progress};
use crate::term::report::{FileReport, Reporter, Status};
use crate::transfer::{Copied, hash_file};

/// How many files may be checked ahead of the first one not yet reported: bounds the memory that
/// waiting outcomes take when one large file holds up the order.
const WINDOW: u64 = 16 * 1024;

/// Checks every destination of the hash list below `args.dir`; fails with the exit code of the worst
/// outcome (see the README's "Verify" section).
pub(crate) fn run(args: &VerifyArgs, global: &GlobalArgs) -> Result<()> {
    let reporter = Reporter::new(global.json, global.checksums.clone());
    if global.json {
        output::require_stdout("--json")?;
    }
    let display = Display {
        quiet: global.quiet,
        mode: global.progress,
    };
    let root = args.dir.as_path();
    let root_exists = check_root(root)?;
    if args.list.is_none() && std::io::stdin().is_terminal() {
        return Err(fail(
            Kind::Usage,
            "no hash list: name a file, or pipe the list into stdin (e.g. oxdl verify - -C data/ < hashes.txt)",
        ));
    }
    let mut confined = Confined::new(root);
    // A list in a file is checked whole first, as batch does, so a bad line reports nothing else.
    let (mut reader, checked_whole) = match ListInput::open(args.list.as_deref(), args.null)? {
        ListInput::File(list) => {
            let checked =
                list.check(|entry| confined.check(&entry.destination).context(REFUSED))?;
            (list.replay(checked)?, true)
        }
        ListInput::Stream(reader) => (reader, false),
    };
    let progress = Progress::for_files(&display, 0);
    if !root_exists {
        progress.note(format!(
            "oxdl: note: {} does not exist, so every file of the list is missing",
            root.display()
        ));
    }
    let jobs = match args.jobs {
        Some(jobs) => jobs as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let checker = Checker {
        root,
        sha256: reporter.wants_sha256(),
        progress: &progress,
        quiet: display.quiet,
        window: Window::default(),
    };
    let (tasks, queue) = sync_channel::<Task>(jobs * 4);
    let queue = Mutex::new(queue);
    let (done, outcomes) = channel::<Checked>();
    let (reading, tally) = std::thread::scope(|scope| {
        for _ in 0..jobs {
            let done = done.clone();
            let (checker, queue) = (&checker, &queue);
            scope.spawn(move || checker.work(queue, &done));
        }
        drop(done);
        let printer = scope.spawn(|| checker.print(outcomes, &reporter));
        let items = std::iter::from_fn(|| reader.next_entry().transpose()).map(|entry| {
            let entry = entry?;
            if !checked_whole {
                confined.check(&entry.destination).context(REFUSED)?;
            }
            Ok(Task {
                seq: 0,
                value: entry.value,
                path: entry.destination,
            })
        });
        let reading = checker.feed(items, &tasks);
        // The workers end once the queue is empty, and the printer once they have.
        drop(tasks);
        // A panic is passed on rather than taken for a clean result.
        let tally = printer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (reading, tally)
    });
    progress.finish();
    finish(root, reading, tally, &reporter, &progress)
}

/// Added to the error of a PATH that leads through a symbolic link inside DIR.
const REFUSED: &str = "verify checks what batch would write, and batch refuses this path";

/// Whether the directory exists; an error when it is something else, or cannot be looked at.
fn check_root(root: &Path) -> Result<bool> {
    // Followed: DIR itself may be a link, as for batch.
    match std::fs::metadata(root) {
        Ok(meta) if meta.is_dir() => Ok(true),
        Ok(_) => Err(fail(
            Kind::Usage,
            format!(
                "{} is not a directory: -C names the directory holding the files",
                root.display()
            ),
        )),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(false),
        Err(err) => Err(fail(
            Kind::Other,
            format!("cannot read directory {}: {err}", root.display()),
        )),
    }
}

/// One destination to check, numbered in list order.
struct Task {
    seq: u64,
    value: u128,
    /// Relative to the directory.
    path: PathBuf,
}

/// What was found at a destination.
enum Found {
    /// The content matches the hash.
    Ok(Copied),
    /// A regular file of `bytes` bytes whose content does not match.
    Differs { bytes: u64 },
    /// Something other than a regular file; says what.
    NotAFile(&'static str),
    /// Nothing there.
    Missing,
    /// It could not be read (the reason).
    Unreadable(String),
}

/// A checked destination, for the printer.
struct Checked {
    task: Task,
    found: Found,
}

/// How many files ended each way, and the bytes read.
#[derive(Default)]
struct Tally {
    ok: u64,
    mismatch: u64,
    missing: u64,
    /// Of the mismatches: files that could not be read.
    unreadable: u64,
    bytes: u64,
    /// The first write to stdout that failed other than by its reader leaving.
    stdout_error: Option<String>,
}

impl Tally {
    fn files(&self) -> u64 {
        self.ok + self.mismatch + self.missing
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "files": self.files(),
            "ok": self.ok,
            "mismatch": self.mismatch,
            "missing": self.missing,
            "bytes": self.bytes,
        })
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ok, {} mismatch, {} missing",
            self.ok, self.mismatch, self.missing
        )
    }
}

/// The files reported so far, so that the list is not read too far ahead of the report.
#[derive(Default)]
struct Window {
    reported: Mutex<u64>,
    moved: Condvar,
}

/// What the reader, the workers and the printer share.
struct Checker<'a> {
    root: &'a Path,
    sha256: bool,
    progress: &'a Progress,
    quiet: bool,
    window: Window,
}

impl Checker<'_> {
    /// Numbers the tasks and queues them, waiting while the report lags [`WINDOW`] files behind; stops
    /// at the first error (a bad line of a piped list, a refused path).
    fn feed(
        &self,
        items: impl Iterator<Item = Result<Task>>,
        tasks: &SyncSender<Task>,
    ) -> Result<()> {
        for (seq, item) in (0u64..).zip(items) {
            let mut task = item?;
            task.seq = seq;
            {
                let mut reported = lock(&self.window.reported);
                while seq.saturating_sub(*reported) >= WINDOW {
                    reported = self
                        .window
                        .moved
                        .wait(reported)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                }
            }
            self.progress.grow(1);
            if tasks.send(task).is_err() {
                // Every worker is gone (none can be, short of a panic): nothing more can be checked.
                break;
            }
        }
        Ok(())
    }

    /// A worker: checks queued destinations until the queue is closed and empty.
    fn work(&self, queue: &Mutex<Receiver<Task>>, done: &Sender<Checked>) {
        loop {
            // The lock is held only while waiting for the next task, never while hashing.
            let next = lock(queue).recv();
            let Ok(task) = next else { return };
            let found = inspect(&self.root.join(&task.path), task.value, self.sha256);
            if let Found::Ok(Copied { bytes, .. }) | Found::Differs { bytes } = found {
                self.progress.bytes(bytes);
            }
            self.progress.file_done();
            if done.send(Checked { task, found }).is_err() {
                return;
            }
        }
    }

    /// The printer: reports outcomes in list order as they become complete, and counts them.
    fn print(&self, outcomes: Receiver<Checked>, reporter: &Reporter) -> Tally {
        let mut tally = Tally::default();
        let mut waiting = BTreeMap::new();
        let mut next = 0u64;
        let mut stdout = Stdout::default();
        for checked in outcomes {
            waiting.insert(checked.task.seq, checked);
            while let Some(checked) = waiting.remove(&next) {
                self.report(checked, reporter, &mut stdout, &mut tally);
                next += 1;
            }
            *lock(&self.window.reported) = next;
            self.window.moved.notify_all();
        }
        // Only a worker that died (a panic) leaves gaps; what arrived is still reported, and the reader
        // is no longer held back by the window.
        for (_, checked) in std::mem::take(&mut waiting) {
            self.report(checked, reporter, &mut stdout, &mut tally);
        }
        *lock(&self.window.reported) = u64::MAX;
        self.window.moved.notify_all();
        tally.stdout_error = stdout.error;
        tally
    }

    /// Reports one destination: a stdout line unless it is ok (or `--json`), a JSON object, a note.
    fn report(
        &self,
        checked: Checked,
        reporter: &Reporter,
        stdout: &mut Stdout,
        tally: &mut Tally,
    ) {
        let Checked { task, found } = checked;
        let shown = listfmt::escape_controls(&task.path.to_string_lossy()).into_owned();
        let (status, copied, bytes, note) = match &found {
            Found::Ok(copied) => (Status::Ok, Some(copied), Some(copied.bytes), None),
            Found::Differs { bytes } => (Status::Mismatch, None, Some(*bytes), None),
            Found::NotAFile(what) => (Status::Mismatch, None, None, Some(what.to_string())),
            Found::Missing => (Status::Missing, None, None, None),
            Found::Unreadable(why) => (
                Status::Mismatch,
                None,
                None,
                Some(format!("cannot be read: {why}")),
            ),
        };
        match status {
            Status::Ok => tally.ok += 1,
            Status::Missing => tally.missing += 1,
            _ => tally.mismatch += 1,
        }
        if let Some(bytes) = bytes {
            tally.bytes += bytes;
        }
        match (&found, &note) {
            (Found::Unreadable(_), Some(note)) => {
                tally.unreadable += 1;
                // An error of its own, shown even when quiet.
                let line = format!("oxdl: error: {shown} {note}");
                if self.quiet {
                    eprintln!("{line}");
                } else {
                    self.progress.note(line);
                }
            }
            (_, Some(note)) => self.progress.note(format!("oxdl: {shown} {note}")),
            _ => {}
        }
        if !reporter.json() && status != Status::Ok {
            let word = if status == Status::Missing {
                "missing"
            } else {
                "mismatch"
            };
            stdout.line(&format!(
                "{word} {}",
                listfmt::quote(&task.path.to_string_lossy())
            ));
        }
        // Reporter::file never fails; its stdout trouble is kept for the end.
        let _ = reporter.file(FileReport {
            hash: Some(task.value),
            path: &task.path,
            bytes,
            sha256: copied.and_then(|c| c.sha256.as_ref()),
            status,
            error: note.as_deref(),
        });
    }
}

/// Looks at the file at `path` and compares its content with `value` (computing its SHA-256 too when
/// `sha256`). Symbolic links are not followed: batch replaces a link rather than trusting it.
fn inspect(path: &Path, value: u128, sha256: bool) -> Found {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        // A file on the way (`a` for `a/b`) leaves nothing at the path either.
        Err(err) if matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            return Found::Missing;
        }
        Err(err) => return Found::Unreadable(err.to_string()),
    };
    if !meta.is_file() {
        // Never opened: a FIFO would block the read.
        return Found::NotAFile(describe(meta.file_type()));
    }
    match hash_file(path, sha256) {
        Ok(copied) if copied.hash == value => Found::Ok(copied),
        Ok(copied) => Found::Differs {
            bytes: copied.bytes,
        },
        // Removed between the look and the read.
        Err(err) if err.kind() == ErrorKind::NotFound => Found::Missing,
        Err(err) => Found::Unreadable(err.to_string()),
    }
}

/// What a non-regular file is, as the note after its path.
fn describe(kind: std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        return "is a directory, not a file";
    }
    if kind.is_symlink() {
        return "is a symbolic link, not a file (batch would replace it with the file)";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "is a FIFO, not a regular file";
        }
        if kind.is_socket() {
            return "is a socket, not a regular file";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "is a device, not a regular file";
        }
    }
    "is not a regular file"
}

/// The `mismatch PATH` / `missing PATH` lines on stdout. A reader that leaves (`| head -1`) only stops
/// the lines; any other failed write is kept, to end the run with code 1 once everything is checked.
#[derive(Default)]
struct Stdout {
    gone: bool,
    error: Option<String>,
}

impl Stdout {
    fn line(&mut self, line: &str) {
        if self.gone {
            return;
        }
        let mut out = std::io::stdout().lock();
        if let Err(err) = writeln!(out, "{line}").and_then(|()| out.flush()) {
            self.gone = true;
            if err.kind() != ErrorKind::BrokenPipe {
                self.error = Some(format!("cannot write the report to stdout: {err}"));
            }
        }
    }
}

/// Writes the summary and the manifest, and returns the run's result: the most serious of a bad list,
/// a file that could not be read (1), a mismatch (6) and missing files (5).
fn finish(
    root: &Path,
    reading: Result<()>,
    tally: Tally,
    reporter: &Reporter,
    notes: &Progress,
) -> Result<()> {
    let mut errors = Vec::new();
    if let Err(err) = reading {
        errors.push(err);
    }
    if tally.files() == 0 && errors.is_empty() {
        notes.note("oxdl: the hash list is empty; nothing to verify");
    } else {
        notes.note(format!(
            "{tally}; {} bytes checked in {}",
            tally.bytes,
            root.display()
        ));
    }
    let _ = reporter.summary(tally.to_json());
    if let Err(err) = reporter.finish() {
        errors.push(err);
    }
    if let Some(message) = &tally.stdout_error {
        errors.push(fail(Kind::Other, message.clone()));
    }
    if let Err(err) = reporter.stdout_failure() {
        errors.push(err);
    }
    if tally.unreadable > 0 {
        errors.push(fail(
            Kind::Other,
            format!(
                "{} file(s) could not be read (named above); they count as mismatches",
                tally.unreadable
            ),
        ));
    }
    if tally.mismatch > tally.unreadable {
        errors.push(fail(
            Kind::Integrity,
            format!(
                "{} of {} file(s) do not match their hash (listed on stdout)",
                tally.mismatch - tally.unreadable,
                tally.files()
            ),
        ));
    }
    if tally.missing > 0 {
        errors.push(fail(
            Kind::Partial,
            format!(
                "{} of {} file(s) are missing (listed on stdout)",
                tally.missing,
                tally.files()
            ),
        ));
    }
    match most_serious(errors) {
        Some(err) => {
            Err(err).with_context(|| format!("verify of {} failed ({tally})", root.display()))
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(bytes: &[u8]) -> u128 {
        xxhash_rust::xxh3::xxh3_128(bytes)
    }

    #[test]
    fn what_is_found_at_a_destination() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"content").unwrap();
        assert!(matches!(
            inspect(&file, hash(b"content"), true),
            Found::Ok(Copied {
                bytes: 7,
                sha256: Some(_),
                ..
            })
        ));
        assert!(matches!(
            inspect(&file, hash(b"other"), false),
            Found::Differs { bytes: 7 }
        ));
        assert!(matches!(
            inspect(&dir.path().join("absent"), 1, false),
            Found::Missing
        ));
        assert!(matches!(
            inspect(&file.join("below"), 1, false),
            Found::Missing
        ));
        assert!(matches!(
            inspect(dir.path(), 1, false),
            Found::NotAFile("is a directory, not a file")
        ));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("f", &link).unwrap();
        assert!(matches!(
            inspect(&link, hash(b"content"), false),
            Found::NotAFile(what) if what.starts_with("is a symbolic link")
        ));
    }
}
