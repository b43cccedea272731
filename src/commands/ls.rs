//! `oxdl ls`: a directory's files as `HASH PATH` lines (the list `oxdl batch` reads), page by page, each
//! PATH written as [`crate::disk::listfmt`] says.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::LsArgs;
use crate::commands::filter::Filter;
use crate::disk::listfmt::quote;
use crate::engine::Ui;
use crate::error::{Kind, fail, kind_of};
use crate::server::remote::{DirEntry, Remote};
use crate::term::progress::Progress;
use crate::term::report::Reporter;
use crate::transfer::write_failure;

/// Top-level entries per listing page: the server's default. With -r each carries its whole subtree,
/// which a page holds in memory while it is printed.
const PAGE_SIZE: u64 = 100;

/// Lists `REVISION[/PATH]` of the repository on stdout.
pub(crate) fn run(remote: &Remote, args: &LsArgs, ui: &Ui, reporter: &Reporter) -> Result<()> {
    if reporter.manifest().is_some() {
        return Err(fail(
            Kind::Usage,
            "--checksums lists files written to disk, and ls writes none; \
             it applies to get and batch",
        ));
    }
    crate::term::output::require_stdout("ls")?;
    if args.null && reporter.json() {
        return Err(fail(
            Kind::Usage,
            "--null and --json both choose how entries are written: pick one",
        ));
    }
    let notes = Progress::notes(&ui.display);
    let depth = if args.recursive { -1 } else { 0 };
    let filter = Filter::new(&args.filters)?;
    let mut out = Lines {
        stdout: std::io::BufWriter::new(std::io::stdout().lock()),
        long: args.long,
        json: reporter.json(),
        null: args.null,
        files: 0,
        bytes: 0,
        filter,
    };
    let context = || format!("cannot list {} in {}", args.resource, args.repo);
    let mut page = 1;
    // Resolved once: after the first page, every request names the commit the revision resolved to.
    let mut resource = args.resource.clone();
    loop {
        let listing = match ui.retry.run(
            |line| notes.note(line),
            || remote.dir_page(&resource, page, PAGE_SIZE, depth),
        ) {
            Ok(listing) => listing,
            Err(err) if page == 1 && kind_of(&err) == Kind::NotFound => {
                let Some(file) = single_file(remote, &args.resource, ui, &notes) else {
                    return Err(err).with_context(context);
                };
                notes.note(format!(
                    "oxdl: {} is a file, not a directory: listing just that file",
                    args.resource.trim_end_matches('/')
                ));
                out.entry(&file, "", false)?;
                break;
            }
            Err(err) => return Err(err).with_context(context),
        };
        let base = listing
            .resource
            .as_ref()
            .map_or("", |r| r.path.trim_matches('/'));
        for entry in &listing.entries {
            out.entry(entry, base, args.recursive)?;
        }
        if page >= listing.total_pages {
            break;
        }
        if page == 1 {
            match listing.pinned() {
                Some(pinned) => resource = pinned,
                None => notes.note(format!(
                    "oxdl: warning: the server did not say which commit {} is; later pages may come \
                     from a newer commit if the branch moves",
                    args.resource
                )),
            }
        }
        page += 1;
    }
    // Why nothing was listed, when the filters are why, and the filters that matched nothing.
    for line in out.filter.messages(None) {
        notes.note(line);
    }
    if out.json {
        let summary = serde_json::json!({ "summary": { "files": out.files, "bytes": out.bytes } });
        writeln!(out.stdout, "{summary}").map_err(|err| write_failure(err, "stdout"))?;
    }
    out.stdout
        .flush()
        .map_err(|err| write_failure(err, "stdout"))
}

/// `REVISION/PATH` as a listing entry of its own when it is a file; `None` when it is not (or the
/// server cannot say).
///
/// The real server's answer to `GET /dir` on a file path is not recorded in the protocol notes or the
/// captured answers; we assume it is the same 404 "Path does not exist" as for a missing path (the test
/// server answers exactly that), so only the file's metadata (`GET /meta`) can tell the two apart.
fn single_file(remote: &Remote, resource: &str, ui: &Ui, notes: &Progress) -> Option<DirEntry> {
    let resource = resource.trim_end_matches('/');
    let meta = ui
        .retry
        .run(|line| notes.note(line), || remote.meta(resource))
        .ok()?;
    // The name relative to its own directory: the last segment (a branch name's slashes come before).
    let filename = resource.rsplit('/').next()?.to_string();
    Some(DirEntry {
        filename,
        hash: format!("{:x}", meta.hash),
        size: meta.size,
        is_dir: false,
        resource: None,
        children: None,
    })
}

/// Writes listing lines in the chosen format.
struct Lines<W: Write> {
    stdout: W,
    long: bool,
    json: bool,
    /// NUL-terminated entries with names as they are (`-0`), instead of lines with names quoted as needed.
    null: bool,
    files: u64,
    bytes: u64,
    /// `--include` / `--exclude`.
    filter: Filter,
}

impl<W: Write> Lines<W> {
    fn entry(&mut self, entry: &DirEntry, base: &str, recursive: bool) -> Result<()> {
        let path = relative(entry, base);
        if entry.is_dir {
            let shown = recursive || (self.long && !self.json);
            // A directory below which nothing can be kept is passed over, as `get -r` does not list it.
            if !shown || self.filter.prunes(&path) {
                return Ok(());
            }
            if recursive {
                for child in entry.children.iter().flatten() {
                    self.entry(child, base, recursive)?;
                }
            } else if self.long && !self.json {
                let shown = quote(&format!("{path}/")).into_owned();
                self.write(format_args!("{:>12}  {:32}  {shown}", "-", "-"))?;
            }
            return Ok(());
        }
        if !self.filter.keeps(&path) {
            return Ok(());
        }
        self.files += 1;
        self.bytes += entry.size;
        if self.json {
            // serde escapes what JSON needs; the name stays exact.
            let line = serde_json::json!({ "hash": entry.hash, "path": path, "bytes": entry.size });
            self.write(format_args!("{line}"))
        } else if self.null {
            self.write(format_args!("{} {path}", entry.hash))
        } else if self.long {
            self.write(format_args!(
                "{:>12}  {:32}  {}",
                entry.size,
                entry.hash,
                quote(&path)
            ))
        } else {
            self.write(format_args!("{} {}", entry.hash, quote(&path)))
        }
    }

    /// Writes one entry and its terminator: NUL with `-0`, else a newline.
    fn write(&mut self, line: std::fmt::Arguments<'_>) -> Result<()> {
        let end = if self.null { '\0' } else { '\n' };
        write!(self.stdout, "{line}{end}").map_err(|err| write_failure(err, "stdout"))
    }
}

/// The entry's path relative to the listed directory.
fn relative(entry: &DirEntry, base: &str) -> String {
    let full = entry
        .resource
        .as_ref()
        .map_or(entry.filename.as_str(), |r| r.path.as_str())
        .trim_matches('/');
    if base.is_empty() {
        return full.to_string();
    }
    Path::new(full).strip_prefix(base).map_or_else(
        |_| entry.filename.clone(),
        |rel| rel.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Filters;
    use crate::server::remote::DirPage;

    /// The listing a real oxen-server 0.50.7 sent for `dir/main/nested?depth=-1`.
    fn captured() -> DirPage {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/oxen-server-0.50.7/responses/dir-nested-depth-all.body"
        );
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn lines(page: &DirPage, recursive: bool, long: bool) -> String {
        let mut out = Lines {
            stdout: Vec::new(),
            long,
            json: false,
            null: false,
            files: 0,
            bytes: 0,
            filter: Filter::new(&Filters::default()).unwrap(),
        };
        let base = page.resource.as_ref().map_or("", |r| r.path.as_str());
        for entry in &page.entries {
            out.entry(entry, base, recursive).unwrap();
        }
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn lists_the_real_servers_answer_relative_to_the_directory() {
        let page = captured();
        assert_eq!(
            lines(&page, true, false),
            "5cecf99320653e20034228288eec323a deeper/b.json\n\
             fbeb79f1226731b8d8f5bac6b3712a36 deeper/c.txt\n\
             890c8a5c5ad2a8a2edba9e94785346a3 a.txt\n\
             99aa06d3014798d86001c324468d497f empty.txt\n\
             e376e7570ed45e84251273569995ea0e with space.txt\n"
        );
        assert_eq!(
            lines(&page, false, false),
            "890c8a5c5ad2a8a2edba9e94785346a3 a.txt\n\
             99aa06d3014798d86001c324468d497f empty.txt\n\
             e376e7570ed45e84251273569995ea0e with space.txt\n"
        );
        assert!(
            lines(&page, false, true)
                .starts_with("           -  -                                 deeper/\n")
        );
    }

    #[test]
    fn names_are_quoted_as_needed_or_written_raw_with_nul() {
        let entry = |name: &str, is_dir: bool| DirEntry {
            filename: name.to_string(),
            hash: if is_dir {
                String::new()
            } else {
                "abc".to_string()
            },
            size: 1,
            is_dir,
            resource: None,
            children: None,
        };
        let entries = [
            entry(" lead.txt", false),
            entry("esc\u{1b}.txt", false),
            entry("plain \"q\".txt", false),
            entry("dir\n", true),
        ];
        let write = |long: bool, null: bool| {
            let mut out = Lines {
                stdout: Vec::new(),
                long,
                json: false,
                null,
                files: 0,
                bytes: 0,
                filter: Filter::new(&Filters::default()).unwrap(),
            };
            for e in &entries {
                out.entry(e, "", false).unwrap();
            }
            String::from_utf8(out.stdout).unwrap()
        };
        assert_eq!(
            write(false, false),
            "abc \" lead.txt\"\nabc \"esc\\x1b.txt\"\nabc plain \"q\".txt\n"
        );
        assert_eq!(
            write(false, true),
            "abc  lead.txt\0abc esc\u{1b}.txt\0abc plain \"q\".txt\0"
        );
        let long = write(true, false);
        assert!(
            long.ends_with(
                "  abc                               \"esc\\x1b.txt\"\n\
                            \x20          1  abc                               plain \"q\".txt\n\
                            \x20          -  -                                 \"dir\\n/\"\n"
            ),
            "{long}"
        );
    }
}
