//! `oxdl get -r`: a directory tree at one commit. The revision is resolved once, by the first listing
//! page; the walk then goes directory by directory and page by page naming that commit, and feeds the
//! batch engine as pages arrive, so downloads start while the listing goes on.

use std::path::PathBuf;
use std::sync::mpsc::SyncSender;

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
        match walk.feed(&filter, &lines, stop) {
            Err(err) => {
                let _ = lines.send(Err(err.context(format!("cannot list {}", walk.given))));
            }
            // Why nothing was kept, and the filters that matched nothing (before the summary line).
            Ok(()) if !stop.is_set() => {
                let empty = format!("oxdl: {} holds no files; nothing to download", walk.given);
                let notes = Progress::notes(&walk.ui.display);
                filter
                    .messages(Some(&empty))
                    .iter()
                    .for_each(|line| notes.note(line));
            }
            Ok(()) => {}
        }
    });
    batch::execute(remote, &settings, Source::Produced(producer), ui, reporter)
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
        let first = ui
            .retry
            .run(|line| notes.note(line), || remote.dir_page(&given, 1, 0));
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

    /// Sends every kept file below the listed directory into `lines`, directory by directory.
    fn feed(
        &mut self,
        filter: &Filter,
        lines: &SyncSender<Result<Entry>>,
        stop: &Stop,
    ) -> Result<()> {
        let notes = Progress::notes(&self.ui.display);
        // Directories still to list, relative to the listed one.
        let mut todo: Vec<String> = vec![String::new()];
        while let Some(dir) = todo.pop() {
            let mut page = 1;
            loop {
                if stop.is_set() {
                    return Ok(());
                }
                // The first page of the root was listed already, to learn the commit.
                let listing = match self.first.take() {
                    Some(first) => first,
                    None => {
                        let resource = self.resource(&dir);
                        let listing = self.ui.retry.run_unless(
                            |line| notes.note(line),
                            &|| stop.is_set(),
                            || self.remote.dir_page(&resource, page, 0),
                        );
                        match listing {
                            Ok(listing) => listing,
                            // The run is ending for another reason; this page is not needed.
                            Err(_) if stop.is_set() => return Ok(()),
                            Err(err) => return Err(err),
                        }
                    }
                };
                for entry in &listing.entries {
                    let path = child_path(&dir, entry)?;
                    if entry.is_dir {
                        // A directory whose every file would be excluded is not even listed.
                        if !filter.prunes(&path) {
                            todo.push(path);
                        }
                    } else if filter.keeps(&path) {
                        // The planner is gone (the run stopped): nothing more to send.
                        if lines.send(Ok(listed(entry, &path)?)).is_err() {
                            return Ok(());
                        }
                    }
                }
                if page >= listing.total_pages {
                    break;
                }
                page += 1;
            }
        }
        Ok(())
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
