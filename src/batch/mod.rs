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
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::Duration;

use anyhow::Result;

use crate::Ui;
use crate::cli::BatchArgs;
use crate::error::{Kind, KindContext, fail};
use crate::fsio::{Confined, create_dirs};
use crate::hashes::{Item, ListReader, Wanted};
use crate::progress::Progress;
use crate::remote::Remote;
use crate::report::Reporter;

use fetch::{Context, Queue, Stop};
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
    let list = if streaming {
        List::Piped(read_ahead(reader))
    } else {
        List::Whole(reader.collect_all()?)
    };
    let out = &args.output_dir;
    create_dirs(out)?;
    let stop = Stop::default();
    let progress = Progress::for_files(&ui.display, 0);
    let context = Context {
        remote,
        out,
        ui,
        reporter,
        progress: &progress,
        stop: &stop,
        told_missing: AtomicBool::new(false),
    };
    let queue = Queue::default();
    let jobs = args.jobs.max(1) as usize;
    let mut planner = Planner::new(out, args.skip_existing, reporter.wants_sha256());
    let (planning, outcomes) = std::thread::scope(|scope| {
        let workers = fetch::start(scope, &context, &queue, jobs);
        let planning = plan(list, args, &mut planner, &queue, &progress, &stop, jobs);
        if planning.is_err() {
            // A bad line or a local failure: no new request starts.
            stop.set();
        }
        queue.close();
        let outcomes: Vec<fetch::Outcome> = workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or_default())
            .collect();
        (planning, outcomes)
    });
    progress.finish();
    report::finish(
        &args.repo,
        out,
        planner.finish(),
        planning,
        outcomes,
        reporter,
        &Progress::notes(&ui.display),
    )
}

/// The list, whole (from a file) or as its lines arrive (from a pipe).
enum List {
    Whole(Vec<Wanted>),
    Piped(Receiver<Result<Item>>),
}

/// Feeds the planner and hands its requests to the workers, until the list ends or the run is stopped.
fn plan(
    list: List,
    args: &BatchArgs,
    planner: &mut Planner,
    queue: &Queue,
    progress: &Progress,
    stop: &Stop,
    jobs: usize,
) -> Result<()> {
    let mut confined = Confined::new(&args.output_dir);
    let batch_size = args.batch_size as usize;
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
        List::Piped(lines) => loop {
            if stop.is_set() {
                // The reading thread is left behind, blocked on stdin perhaps; the run ends without it.
                return Ok(());
            }
            let item = match lines.recv_timeout(STOP_CHECK) {
                Ok(item) => item?,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            match item {
                Item::New(w) => {
                    confined.check(&w.destinations[0])?;
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
                hand_out(planner.dispatch(), batch_size, 1, queue, progress);
            }
        },
    }
    // What is left is split among the jobs, so that even a short list runs in parallel.
    hand_out(planner.dispatch(), batch_size, jobs, queue, progress);
    Ok(())
}

/// Queues `files` as about `parts` equal requests of at most `batch_size` files.
fn hand_out(
    files: Vec<Wanted>,
    batch_size: usize,
    parts: usize,
    queue: &Queue,
    progress: &Progress,
) {
    progress.grow(files.len() as u64);
    let size = batch_size.min(files.len().div_ceil(parts));
    queue.push_split(files, size);
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
