//! `oxdl batch`: many files by content hash, in three steps that read top to bottom: **plan** the list
//! into requests (skipping what is in place), **fetch** them with a pool of workers, **report** what
//! became of every file and end with the exit code of the most serious failure.

mod fetch;
mod plan;
mod report;

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

use anyhow::Result;

use crate::Ui;
use crate::cli::{BatchArgs, RepoName, Shard, SkipExisting};
use crate::error::{Kind, KindContext, fail};
use crate::fsio::{Confined, create_dirs};
use crate::hashes::{Item, ListReader, Wanted};
use crate::progress::Progress;
use crate::remote::Remote;
use crate::report::Reporter;

pub(crate) use fetch::Stop;
use fetch::{Context, Queue};
use plan::Planner;

/// How many parsed lines of a piped list may wait for the planner.
const LINES_AHEAD: usize = 1024;
/// How often the planner, waiting for a piped line, looks whether the run was stopped.
const STOP_CHECK: Duration = Duration::from_millis(50);

/// Downloads every file of the hash list into the output directory.
///
/// A list from a file is read and checked whole before any request. A list piped into stdin is read as
/// it arrives, and requests start as soon as a request's worth of files is known; a bad line then stops
/// the run (the files already written stay).
pub fn run(remote: &Remote, args: &BatchArgs, ui: &Ui, reporter: &Reporter) -> Result<()> {
    let (input, source, streaming) = open_list(args.hash_file.as_deref())?;
    let mut reader = ListReader::new(input, &source).nul_separated(args.null);
    let source = if streaming {
        Source::Piped(read_ahead(reader))
    } else {
        Source::Whole(reader.collect_all()?)
    };
    let settings = Settings {
        repo: &args.repo,
        out: &args.output_dir,
        batch_size: args.batch_size as usize,
        jobs: args.jobs as usize,
        skip: args.skip_existing,
        dry_run: args.dry_run,
        shard: args.shard,
        revision: None,
    };
    execute(remote, &settings, source, ui, reporter)
}

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
}

/// Where the files to fetch come from.
pub(crate) enum Source<'a> {
    /// A list read and checked whole.
    Whole(Vec<Wanted>),
    /// A list read as it arrives, on a thread of its own.
    Piped(Receiver<Result<Item>>),
    /// Files found on a thread that the run starts (a directory listing): given the channel to send them
    /// into and the stop signal to watch.
    Produced(Producer<'a>),
}

/// Sends files into the channel until done, failed (an `Err` sent) or stopped.
pub(crate) type Producer<'a> = Box<dyn FnOnce(SyncSender<Result<Item>>, &Stop) + Send + 'a>;

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
    };
    // Two requests waiting per worker keep every worker busy without holding the list in memory.
    let queue = Queue::new(settings.jobs.max(1) * 2);
    let mut sink = if settings.dry_run {
        Sink::DryRun(DryRun::default())
    } else {
        Sink::Queue(&queue, &progress)
    };
    let mut planner = Planner::new(
        out,
        settings.skip,
        reporter.wants_sha256(),
        settings.dry_run,
    );
    planner.shard = settings.shard;
    let (planning, outcomes) = std::thread::scope(|scope| {
        let workers = if settings.dry_run {
            Vec::new()
        } else {
            fetch::start(scope, &context, &queue, settings.jobs)
        };
        let list = match source {
            Source::Whole(wanted) => List::Whole(wanted),
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
    let cached: usize = outcomes.iter().map(|o| o.cached).sum();
    if let Some(cache) = ui.cache.as_ref().filter(|_| cached > 0) {
        notes.note(format!(
            "oxdl: {cached} file(s) put in place from the cache in {}, not downloaded",
            cache.dir().display()
        ));
    }
    if let Sink::DryRun(dry) = sink {
        return report::dry_run(settings, planner.finish(), planning, dry, reporter, &notes);
    }
    // Files planned but never handed out, as the run stopped first.
    let unsent = planner.dispatch();
    report::finish(
        settings,
        planner.finish(),
        planning,
        outcomes,
        unsent,
        reporter,
        &notes,
    )
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
    Whole(Vec<Wanted>),
    Arriving(Receiver<Result<Item>>),
}

/// Where planned requests go: to the workers, or, for a dry run, on stdout.
enum Sink<'a> {
    Queue(&'a Queue, &'a Progress),
    DryRun(DryRun),
}

/// What a dry run would fetch.
#[derive(Default)]
pub(super) struct DryRun {
    pub(super) files: u64,
    /// Bytes of the files whose size is known.
    pub(super) bytes: u64,
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
            Sink::Queue(queue, progress) => {
                progress.grow(files.len() as u64);
                let size = batch_size.min(files.len().div_ceil(parts));
                queue.push_split(files, size);
                Ok(())
            }
            Sink::DryRun(dry) => {
                for w in &files {
                    for destination in &w.destinations {
                        dry.files += 1;
                        dry.bytes += w.size.unwrap_or(0);
                        report::planned_file(&w.hash, w.size, destination, reporter)?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Feeds the planner and hands its requests to the sink, until the list ends or the run is stopped.
fn plan(
    list: List,
    settings: &Settings,
    planner: &mut Planner,
    sink: &mut Sink,
    reporter: &Reporter,
    stop: &Stop,
) -> Result<()> {
    let mut confined = Confined::new(settings.out);
    let batch_size = settings.batch_size;
    match list {
        List::Whole(wanted) => {
            // Every destination is checked before anything is written.
            for destination in wanted.iter().flat_map(|w| &w.destinations) {
                confined.check(destination)?;
            }
            for w in wanted {
                if stop.is_set() {
                    return Ok(());
                }
                planner.add(w)?;
            }
        }
        List::Arriving(lines) => loop {
            if stop.is_set() {
                // A reading thread is left behind, blocked on stdin perhaps; the run ends without it.
                return Ok(());
            }
            let item = match lines.recv_timeout(STOP_CHECK) {
                Ok(item) => item?,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            match item {
                Item::New(w) => {
                    for destination in &w.destinations {
                        confined.check(destination)?;
                    }
                    planner.add(w)?;
                }
                Item::More {
                    value, destination, ..
                } => {
                    confined.check(&destination)?;
                    planner.add_destination(value, destination)?;
                }
            }
            if planner.pending_len() >= batch_size {
                sink.hand_out(planner.dispatch(), batch_size, 1, reporter)?;
            }
        },
    }
    // What is left is split among the jobs, so that even a short list runs in parallel.
    sink.hand_out(planner.dispatch(), batch_size, settings.jobs, reporter)
}

/// Reads a piped list on a thread of its own, so that the run never waits on stdin once it is stopped.
fn read_ahead(mut reader: ListReader<Box<dyn BufRead + Send>>) -> Receiver<Result<Item>> {
    let (lines, receiver) = sync_channel(LINES_AHEAD);
    std::thread::spawn(move || {
        loop {
            let (item, last) = match reader.next_item() {
                Ok(Some(item)) => (Ok(item), false),
                Ok(None) => return,
                Err(err) => (Err(err), true),
            };
            if lines.send(item).is_err() || last {
                return;
            }
        }
    });
    receiver
}

/// The hash list's input, its name for errors, and whether to read it as it arrives (a pipe).
pub(crate) fn open_list(path: Option<&Path>) -> Result<(Box<dyn BufRead + Send>, String, bool)> {
    match path {
        Some(path) if path != Path::new("-") => {
            let file = File::open(path).kind_context(
                Kind::Usage,
                format_args!("cannot open hash list {}", path.display()),
            )?;
            Ok((
                Box::new(BufReader::new(file)),
                path.display().to_string(),
                false,
            ))
        }
        None if std::io::stdin().is_terminal() => Err(fail(
            Kind::Usage,
            "no hash list: name a file, or pipe the hashes into stdin (e.g. oxdl batch ox/demo - < hashes.txt)",
        )),
        _ => {
            let streaming = stdin_is_pipe();
            Ok((
                Box::new(BufReader::new(std::io::stdin())),
                "<stdin>".to_string(),
                streaming,
            ))
        }
    }
}

/// Whether stdin is a pipe or socket (read as it arrives) rather than a file (read whole first).
fn stdin_is_pipe() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        std::fs::metadata("/dev/stdin")
            .map(|m| m.file_type().is_fifo() || m.file_type().is_socket())
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        false
    }
}
