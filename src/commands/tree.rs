//! `oxdl get -r`: a directory tree at one commit. The revision is resolved once, by the first listing
//! page; the walk then lists many directories and pages at once, each naming that commit, and feeds the
//! batch engine as pages arrive, so downloads start while the listing goes on.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Condvar, Mutex};

use anyhow::{Context, Result};

use crate::cli::GetArgs;
use crate::commands::filter::Filter;
use crate::disk::hashlist::Entry;
use crate::disk::listfmt::relative_destination;
use crate::engine::Ui;
use crate::engine::batch::{self, Large, Settings, SkipExisting, Source, Stop};
use crate::error::{Kind, fail, kind_of};
use crate::hash::parse_hash;
use crate::server::remote::{DirEntry, DirPage, Remote};
use crate::sync::lock;
use crate::term::progress::Progress;
use crate::term::report::Reporter;

/// Downloads the tree under `args.resource` into its directory.
pub(crate) fn run(remote: &Remote, args: &GetArgs, ui: &Ui, reporter: &Reporter) -> Result<()> {
    let filter = Filter::new(&args.filters)?;
    if args.output.as_deref() == Some(std::path::Path::new("-")) {
        return Err(fail(
            Kind::Usage,
            "-o - writes one file to stdout; with -r, name a directory",
        ));
    }
    let notes = Progress::notes(&ui.display);
    let context = || format!("cannot list {} in {}", args.resource, args.repo);
    let walk = Walk::start(remote, &args.resource, ui, &notes).with_context(context)?;
    let out = args.output.clone().unwrap_or_else(|| {
        // The directory's own name, as `cp -r` makes it; the repository's for a whole revision.
        PathBuf::from(match walk.base.rsplit('/').next() {
            Some(name) if !name.is_empty() => name,
            _ => args.repo.name.as_str(),
        })
    });
    match &walk.commit {
        Some(commit) => notes.note(format!(
            "{}: revision {commit}, into {}",
            args.resource,
            out.display()
        )),
        None => notes.note(format!(
            "oxdl: warning: the server did not say which commit {} is; if the branch moves during the \
             download, files may come from two commits",
            args.resource
        )),
    }
    let settings = Settings {
        repo: &args.repo,
        out: &out,
        batch_size: args.batch_size.unwrap_or(1000) as usize,
        jobs: args.jobs.unwrap_or(4) as usize,
        skip: args.skip_existing.unwrap_or(SkipExisting::Hash),
        dry_run: args.dry_run,
        shard: args.shard,
        revision: walk.commit.clone(),
        large: Some(Large {
            settings: super::ranged_settings(args, remote),
            prefix: walk.resource(""),
        }),
        from_listing: true,
    };
    let producer = Box::new(move |lines: SyncSender<Result<Entry>>, stop: &Stop| {
        let mut walk = walk;
        // Why nothing was kept, and the filters that matched nothing (before the summary line): only
        // for a whole walk, as a cut one saw only part of the tree.
        if walk.feed(&filter, &lines, stop) == Walked::Whole {
            let empty = format!("oxdl: {} holds no files; nothing to download", walk.given);
            let notes = Progress::notes(&walk.ui.display);
            filter
                .messages(Some(&empty))
                .iter()
                .for_each(|line| notes.note(line));
        }
    });
    batch::execute(remote, &settings, Source::Produced(producer), ui, reporter)
}

/// Entries asked for per listing page: ten times the server's default of 100, so that a directory of a
/// thousand files is one round trip, not ten. The server builds a directory's whole listing for any
/// page and slices it, so a larger page costs it little more than the JSON it writes (bench/RESULTS.md);
/// a page stays a few hundred KB for oxdl to hold, whatever the directory's size.
const PAGE_SIZE: u64 = 1000;

/// Directory pages listed at once. Over a WAN each listing costs a round trip, and a tree has as many
/// directories as it has: enough in flight that a tree of hundreds of directories is listed in a dozen
/// round trips (421 directories at 50 ms: 1.6 s with 16, 0.95 s with 32; bench/wan.sh), few enough to
/// be a light load on the server (each is one small request) and to fit in the connection pool
/// (`MAX_PARALLEL`) beside the downloads.
const LISTINGS: usize = 32;

/// The directory pages still to list, shared by the listing workers.
#[derive(Default)]
struct Listings {
    state: Mutex<Pending>,
    /// Wakes workers waiting for a page when one is queued or the walk ends.
    wake: Condvar,
    /// The walk is over: a listing failed, a worker crashed, or the planner stopped taking files.
    /// Outside the lock, as every entry sent looks at it.
    ended: AtomicBool,
}

#[derive(Default)]
struct Pending {
    /// `(directory relative to the listed one, page)`, taken last-in first-out: depth first, so
    /// that the queue holds a path of the tree's frontier rather than a whole level of it.
    queue: Vec<(String, u64)>,
    /// Pages being listed now, which may queue more.
    busy: usize,
}

impl Listings {
    /// The next page to list, waiting while others are being listed; `None` once there is none left
    /// or the walk ended.
    fn take(&self, stop: &Stop) -> Option<(String, u64)> {
        let mut state = lock(&self.state);
        loop {
            if self.ended() || stop.is_set() {
                return None;
            }
            if let Some(next) = state.queue.pop() {
                state.busy += 1;
                return Some(next);
            }
            if state.busy == 0 {
                return None;
            }
            // Timed, so that a stop set elsewhere is seen without a notification.
            state = self
                .wake
                .wait_timeout(state, std::time::Duration::from_millis(50))
                .map_or_else(|poisoned| poisoned.into_inner().0, |(guard, _)| guard);
        }
    }

    /// Queues pages found by a listing.
    fn add(&self, found: Vec<(String, u64)>) {
        if found.is_empty() {
            return;
        }
        lock(&self.state).queue.extend(found.into_iter().rev());
        self.wake.notify_all();
    }

    /// One page taken with [`Listings::take`] is listed.
    fn done(&self) {
        let mut state = lock(&self.state);
        state.busy -= 1;
        if state.busy == 0 && state.queue.is_empty() {
            self.wake.notify_all();
        }
    }

    /// Ends the walk: every worker returns. True for the call that ended it, which alone reports why.
    fn end(&self) -> bool {
        let first = !self.ended.swap(true, Ordering::SeqCst);
        // Under the lock, so that no worker is between its check and its wait.
        drop(lock(&self.state));
        self.wake.notify_all();
        first
    }

    /// Whether the walk ended.
    fn ended(&self) -> bool {
        self.ended.load(Ordering::Relaxed)
    }
}

/// Ends the walk if a listing worker panics, so that the others do not wait for its pages for ever.
struct EndOnPanic<'a>(&'a Listings);

impl Drop for EndOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.end();
        }
    }
}

/// How a walk ended.
#[derive(PartialEq, Eq)]
enum Walked {
    /// Every directory was listed.
    Whole,
    /// Cut short: the run stopped, or a failure was sent to the planner.
    Cut,
}

/// A walk through the directory tree, pinned to one commit.
struct Walk<'a> {
    remote: &'a Remote,
    ui: &'a Ui,
    /// `REVISION[/PATH]` as given.
    given: String,
    /// The commit the revision resolved to, when the server said.
    commit: Option<String>,
    /// The listed directory's path in the repository ("" for the root).
    base: String,
    /// The first page, fetched to learn the commit, not yet fed.
    first: Option<DirPage>,
}

impl<'a> Walk<'a> {
    /// Lists the first page, which names the commit; a file where a directory was expected says so.
    fn start(remote: &'a Remote, given: &str, ui: &'a Ui, notes: &Progress) -> Result<Self> {
        let given = given.trim_end_matches('/').to_string();
        let first = ui.retry.run(
            |line| notes.note(line),
            || remote.dir_page(&given, 1, PAGE_SIZE, 0),
        );
        let first = match first {
            Ok(page) => page,
            Err(err) if kind_of(&err) == Kind::NotFound => {
                let is_file = ui
                    .retry
                    .run(|line| notes.note(line), || remote.meta(&given))
                    .is_ok();
                if is_file {
                    return Err(fail(
                        Kind::Usage,
                        format!("{given} is a file, not a directory: drop -r to download it"),
                    ));
                }
                return Err(err);
            }
            Err(err) => return Err(err),
        };
        let base = first
            .resource
            .as_ref()
            .map_or("", |r| r.path.trim_matches('/'))
            .to_string();
        Ok(Walk {
            remote,
            ui,
            commit: first.commit().map(str::to_string),
            given,
            base,
            first: Some(first),
        })
    }

    /// Sends every kept file below the listed directory into `lines`, listing up to [`LISTINGS`]
    /// directory pages at once. The first failure goes into `lines` as soon as it happens, which
    /// stops the run; listings then in flight are waited for but give nothing more.
    fn feed(&mut self, filter: &Filter, lines: &SyncSender<Result<Entry>>, stop: &Stop) -> Walked {
        let work = Listings::default();
        // The first page of the root was listed already, to learn the commit.
        if let Some(first) = self.first.take() {
            match self.take_page(&work, filter, lines, "", 1, &first) {
                Ok(true) => {}
                Ok(false) => return Walked::Cut,
                Err(err) => {
                    self.report(&work, lines, err);
                    return Walked::Cut;
                }
            }
        }
        let this = &*self;
        let crashed = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..LISTINGS)
                .map(|_| scope.spawn(|| this.list_pages(&work, filter, lines, stop)))
                .collect();
            workers
                .into_iter()
                .map(|worker| worker.join())
                .filter(Result::is_err)
                .count()
        });
        if crashed > 0 {
            let _ = lines.send(Err(fail(
                Kind::Other,
                format!("a listing thread crashed while listing {}", self.given),
            )));
        }
        if work.ended() || stop.is_set() {
            Walked::Cut
        } else {
            Walked::Whole
        }
    }

    /// Sends the failure that ends the walk to the planner, unless the walk had ended already.
    fn report(&self, work: &Listings, lines: &SyncSender<Result<Entry>>, err: anyhow::Error) {
        if work.end() {
            let _ = lines.send(Err(err.context(format!("cannot list {}", self.given))));
        }
    }

    /// One listing worker: takes pages off `work` until none are left or the walk ends.
    fn list_pages(
        &self,
        work: &Listings,
        filter: &Filter,
        lines: &SyncSender<Result<Entry>>,
        stop: &Stop,
    ) {
        let _guard = EndOnPanic(work);
        let notes = Progress::notes(&self.ui.display);
        while let Some((dir, page)) = work.take(stop) {
            let resource = self.resource(&dir);
            let listing = self.ui.retry.run_unless(
                |line| notes.note(line),
                &|| stop.is_set() || work.ended(),
                || self.remote.dir_page(&resource, page, PAGE_SIZE, 0),
            );
            let fed = match listing {
                Ok(listing) => self.take_page(work, filter, lines, &dir, page, &listing),
                // The run is ending for another reason; this page is not needed.
                Err(_) if stop.is_set() || work.ended() => Ok(false),
                Err(err) => Err(err),
            };
            match fed {
                Ok(true) => work.done(),
                Ok(false) => {
                    work.end();
                    return;
                }
                Err(err) => {
                    self.report(work, lines, err);
                    return;
                }
            }
        }
    }

    /// Feeds the kept files of one page of `dir` and queues its subdirectories and the directory's
    /// next pages. False when the walk ended or the planner is gone (the run stopped): nothing more
    /// to send.
    fn take_page(
        &self,
        work: &Listings,
        filter: &Filter,
        lines: &SyncSender<Result<Entry>>,
        dir: &str,
        page: u64,
        listing: &DirPage,
    ) -> Result<bool> {
        let mut found = Vec::new();
        // At most LISTINGS pages of one directory are queued at a time: the first page queues the
        // next ones, and page P queues page P + LISTINGS. A page without entries queues none, so a
        // server that claims more pages than it has cannot make the walk go on for ever.
        let ahead = LISTINGS as u64;
        let (first, last) = match page {
            1 => (2, 1 + ahead),
            _ if listing.entries.is_empty() => (1, 0),
            _ => (page.saturating_add(ahead), page.saturating_add(ahead)),
        };
        found.extend((first..=last.min(listing.total_pages)).map(|page| (dir.to_string(), page)));
        for entry in &listing.entries {
            let path = child_path(dir, entry)?;
            if entry.is_dir {
                // A directory whose every file would be excluded is not even listed.
                if !filter.prunes(&path) {
                    found.push((path, 1));
                }
            } else if filter.keeps(&path)
                && (work.ended() || lines.send(Ok(listed(entry, &path)?)).is_err())
            {
                return Ok(false);
            }
        }
        work.add(found);
        Ok(true)
    }

    /// The resource naming directory `dir` (relative to the listed one): by commit when known.
    fn resource(&self, dir: &str) -> String {
        let parts: Vec<&str> = match &self.commit {
            Some(commit) => vec![commit, &self.base, dir],
            None => vec![&self.given, dir],
        };
        parts
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// The entry's path relative to the listed directory; a name that could leave it breaks the protocol.
fn child_path(dir: &str, entry: &DirEntry) -> Result<String> {
    let name = &entry.filename;
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(fail(
            Kind::Integrity,
            format!(
                "the server's listing names an entry {:?} in '{dir}', which is not a file name",
                name
            ),
        ));
    }
    Ok(if dir.is_empty() {
        name.clone()
    } else {
        format!("{dir}/{name}")
    })
}

/// The file to fetch for a listing entry.
fn listed(entry: &DirEntry, path: &str) -> Result<Entry> {
    let value = parse_hash(&entry.hash).map_err(|why| {
        fail(
            Kind::Integrity,
            format!("the server's listing gives {path} a bad hash: {why}"),
        )
    })?;
    let destination = relative_destination(path).map_err(|why| {
        fail(
            Kind::Integrity,
            format!("the server's listing has an unsafe path: {why}"),
        )
    })?;
    Ok(Entry {
        value,
        destination,
        size: Some(entry.size),
    })
}
