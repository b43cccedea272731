//! The batch engine: many files by content hash, in three steps that read top to bottom: **plan** the
//! list into requests (skipping what is in place), **fetch** them with a pool of workers, **report** what
//! became of every file and end with the exit code of the most serious failure. `batch` and `get -r`
//! both run it.

mod fetch;
mod plan;
mod report;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

use anyhow::Result;

use crate::disk::fsio::{Confined, create_dirs};
use crate::disk::hashlist::Entry;
use crate::disk::lists::{LINES_AHEAD, Reader};
use crate::engine::Ui;
use crate::error::{Kind, fail};
use crate::hash::Wanted;
use crate::server::remote::Remote;
use crate::server::remote::RepoName;
use crate::term::progress::Progress;
use crate::term::report::Reporter;

use fetch::{Connections, Context, Queue, Work};
pub(crate) use fetch::{Large, Stop};
use plan::Planner;
pub(crate) use plan::{Shard, SkipExisting};

/// How often the planner, waiting for a piped line, looks whether the run was stopped.
const STOP_CHECK: Duration = Duration::from_millis(50);

/// What to download and how, whatever the list's source.
pub(crate) struct Settings<'a> {
    pub(crate) repo: &'a RepoName,
    /// The output directory; destinations are relative to it.
    pub(crate) out: &'a Path,
    pub(crate) batch_size: usize,
    pub(crate) jobs: usize,
    pub(crate) skip: SkipExisting,
    /// Plan and print, fetch nothing.
    pub(crate) dry_run: bool,
    /// Only this part of the list.
    pub(crate) shard: Option<Shard>,
    /// The commit a directory download is pinned to, for the summary.
    pub(crate) revision: Option<String>,
    /// How large files go by ranges (a directory download, whose listing gives paths and sizes).
    pub(crate) large: Option<Large>,
    /// The files come from a directory listing, which says itself why it found none: no word of a list.
    pub(crate) from_listing: bool,
}

/// Where the files to fetch come from.
pub(crate) enum Source<'a> {
    /// A list checked whole before, read again as it is planned.
    Checked(Box<Reader>),
    /// A list read as it arrives, on a thread of its own.
    Piped(Receiver<Result<Entry>>),
    /// Files found on a thread that the run starts (a directory listing): given the channel to send them
    /// into and the stop signal to watch.
    Produced(Producer<'a>),
}

/// Sends files into the channel until done, failed (an `Err` sent) or stopped.
pub(crate) type Producer<'a> = Box<dyn FnOnce(SyncSender<Result<Entry>>, &Stop) + Send + 'a>;

/// Plans, fetches and reports the files of `source` as `settings` say.
pub(crate) fn execute(
    remote: &Remote,
    settings: &Settings,
    source: Source,
    ui: &Ui,
    reporter: &Reporter,
) -> Result<()> {
    let out = settings.out;
    if !settings.dry_run {
        create_dirs(out)?;
    }
    let stop = Stop::default();
    let progress = if settings.dry_run {
        Progress::notes(&ui.display)
    } else {
        Progress::for_files(&ui.display, 0)
    };
    let context = Context {
        remote,
        out,
        ui,
        reporter,
        progress: &progress,
        stop: &stop,
        told_missing: AtomicBool::new(false),
        large: settings.large.as_ref(),
        // One budget for the run: requests take one connection each, a large file what is free up to
        // its --connections.
        no_ranges: AtomicBool::new(false),
        connections: Connections::new(
            settings
                .large
                .as_ref()
                .map_or(0, |large| large.settings.connections as usize)
                .max(settings.jobs),
        ),
    };
    // Two requests waiting per worker keep every worker busy without holding the list in memory.
    let queue = Queue::new(settings.jobs.max(1) * 2);
    let mut sink = if settings.dry_run {
        Sink::DryRun(DryRun::default(), out, &progress)
    } else {
        let threshold = settings
            .large
            .as_ref()
            .map(|large| large.settings.threshold);
        Sink::Queue(&queue, &progress, threshold)
    };
    let mut planner = Planner::new(out, settings.skip, reporter, &progress, settings.dry_run);
    planner.shard = settings.shard;
    let (planning, outcomes) = std::thread::scope(|scope| {
        let workers = if settings.dry_run {
            Vec::new()
        } else {
            fetch::start(scope, &context, &queue, settings.jobs)
        };
        let list = match source {
            Source::Checked(reader) => List::Checked(reader),
            Source::Piped(lines) => List::Arriving(lines),
            Source::Produced(producer) => {
                let (lines, receiver) = sync_channel(LINES_AHEAD);
                let stop = &stop;
                scope.spawn(move || producer(lines, stop));
                List::Arriving(receiver)
            }
        };
        // Closed however planning ends, even by a panic, so that no worker waits for ever.
        let closing = CloseOnDrop(&queue);
        let planning = plan(list, settings, &mut planner, &mut sink, reporter, &stop);
        if planning.is_err() {
            // A bad line or a local failure: no new request starts.
            stop.set();
        }
        drop(closing);
        let outcomes: Vec<fetch::Outcome> = workers
            .into_iter()
            .map(|worker| {
                worker.join().unwrap_or_else(|_| fetch::Outcome {
                    errors: vec![fail(
                        Kind::Other,
                        "a download thread crashed; some files were neither fetched nor reported",
                    )],
                    ..fetch::Outcome::default()
                })
            })
            .collect();
        (planning, outcomes)
    });
    progress.finish();
    let notes = Progress::notes(&ui.display);
    // Files planned but never handed out, as the run stopped first.
    let unsent = planner.dispatch();
    let (planned, planning) = match (planner.finish(), planning) {
        (Ok(planned), planning) => (planned, planning),
        (Err(err), _) => return Err(err),
    };
    if let Sink::DryRun(dry, ..) = sink {
        return report::dry_run(settings, planned, planning, dry, reporter, &notes);
    }
    report::finish(settings, planned, planning, outcomes, unsent, reporter, ui)
}

/// The line on stderr naming a destination whose local file had other content (a local edit), which
/// the run replaced (or, in a dry run, would replace).
pub(super) fn replaced_line(out: &Path, destination: &Path, dry_run: bool) -> String {
    let shown = if out == Path::new(".") {
        destination.to_path_buf()
    } else {
        out.join(destination)
    };
    let shown = crate::disk::listfmt::quote(&shown.to_string_lossy()).into_owned();
    if dry_run {
        format!("would replace: {shown} (local content differs)")
    } else {
        format!("replaced: {shown} (local content differed)")
    }
}

/// Closes the queue when dropped.
struct CloseOnDrop<'a>(&'a Queue);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The list as the planner takes it.
enum List {
    Checked(Box<Reader>),
    Arriving(Receiver<Result<Entry>>),
}

/// Where planned requests go: to the workers (files of at least the threshold, when there is one, each
/// on its own by ranges), or, for a dry run, on stdout (and the local files they would replace, below
/// the output directory, on stderr).
enum Sink<'a> {
    Queue(&'a Queue, &'a Progress, Option<u64>),
    DryRun(DryRun, &'a Path, &'a Progress),
}

/// What a dry run would fetch.
#[derive(Default)]
pub(super) struct DryRun {
    pub(super) files: u64,
    /// Bytes of the files whose size is known.
    pub(super) bytes: u64,
    /// Of the files, those that would replace a local file with other content.
    pub(super) replaced: u64,
}

impl DryRun {
    fn add(&mut self, more: DryRun) {
        self.files += more.files;
        self.bytes += more.bytes;
        self.replaced += more.replaced;
    }
}

impl Sink<'_> {
    /// Hands `files` out as about `parts` equal requests of at most `batch_size` files.
    fn hand_out(
        &mut self,
        files: Vec<Wanted>,
        batch_size: usize,
        parts: usize,
        reporter: &Reporter,
    ) -> Result<()> {
        match self {
            Sink::Queue(queue, progress, threshold) => {
                progress.grow(files.len() as u64);
                let (large, files): (Vec<Wanted>, Vec<Wanted>) = files.into_iter().partition(|w| {
                    threshold.is_some_and(|threshold| w.size.is_some_and(|s| s >= threshold))
                });
                // First, as they take longest.
                for wanted in large {
                    queue.push(Work::Large(wanted));
                }
                let size = batch_size.min(files.len().div_ceil(parts));
                queue.push_split(files, size);
                Ok(())
            }
            Sink::DryRun(dry, out, notes) => {
                let files = files.iter().flat_map(|w| {
                    w.destinations.iter().enumerate().map(|(at, destination)| {
                        (w.value, w.size, destination.as_path(), w.replaces(at))
                    })
                });
                let planned = report::planned_files(files, out, reporter, notes)?;
                dry.add(planned);
                Ok(())
            }
        }
    }
}

/// Feeds the planner and hands its requests to the sink, until the list ends or the run is stopped.
fn plan(
    mut list: List,
    settings: &Settings,
    planner: &mut Planner,
    sink: &mut Sink,
    reporter: &Reporter,
    stop: &Stop,
) -> Result<()> {
    let mut confined = Confined::new(settings.out);
    let batch_size = settings.batch_size;
    loop {
        if stop.is_set() {
            // A reading thread may be left behind, blocked on stdin perhaps; the run ends without it.
            return Ok(());
        }
        let entry = match &mut list {
            // Checked whole before: its destinations passed `confined` already.
            List::Checked(reader) => match reader.next_entry()? {
                Some(entry) => entry,
                None => break,
            },
            List::Arriving(lines) => match lines.recv_timeout(STOP_CHECK) {
                Ok(entry) => {
                    let entry = entry?;
                    confined.check(&entry.destination)?;
                    entry
                }
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            },
        };
        planner.add(entry)?;
        if planner.pending_len() >= batch_size {
            sink.hand_out(planner.dispatch(), batch_size, 1, reporter)?;
        }
    }
    // What is left is split among the jobs, so that even a short list runs in parallel.
    sink.hand_out(planner.dispatch(), batch_size, settings.jobs, reporter)
}
