//! `oxdl ls`: a directory's files as `HASH PATH` lines (the list `oxdl batch` reads), page by page.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::Ui;
use crate::cli::LsArgs;
use crate::progress::Progress;
use crate::remote::{DirEntry, DirPage, Remote};
use crate::report::Reporter;
use crate::transfer::write_failure;

/// Lists `REVISION[/PATH]` of the repository on stdout.
pub fn run(remote: &Remote, args: &LsArgs, ui: &Ui, reporter: &Reporter) -> Result<()> {
    let notes = Progress::notes(&ui.display);
    let depth = if args.recursive { -1 } else { 0 };
    let mut out = Lines {
        stdout: std::io::BufWriter::new(std::io::stdout().lock()),
        long: args.long,
        json: reporter.json(),
        files: 0,
        bytes: 0,
    };
    let mut page = 1;
    loop {
        let mut backoff = ui.retry.backoff();
        let listing: DirPage = loop {
            match remote.dir_page(&args.resource, page, depth) {
                Ok(listing) => break listing,
                Err(err) if backoff.retry(&err, |line| notes.note(line)) => {}
                Err(err) => {
                    return Err(err).with_context(|| {
                        format!("cannot list {} in {}", args.resource, args.repo)
                    });
                }
            }
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
        page += 1;
    }
    if out.json {
        let summary = serde_json::json!({ "summary": { "files": out.files, "bytes": out.bytes } });
        writeln!(out.stdout, "{summary}").map_err(|err| write_failure(err, "stdout"))?;
    }
    out.stdout
        .flush()
        .map_err(|err| write_failure(err, "stdout"))
}

/// Writes listing lines in the chosen format.
struct Lines<W: Write> {
    stdout: W,
    long: bool,
    json: bool,
    files: u64,
    bytes: u64,
}

impl<W: Write> Lines<W> {
    fn entry(&mut self, entry: &DirEntry, base: &str, recursive: bool) -> Result<()> {
        let path = relative(entry, base);
        if entry.is_dir {
            if recursive {
                for child in entry.children.iter().flatten() {
                    self.entry(child, base, recursive)?;
                }
            } else if self.long && !self.json {
                self.write(format_args!("{:>12}  {:32}  {path}/", "-", "-"))?;
            }
            return Ok(());
        }
        self.files += 1;
        self.bytes += entry.size;
        if self.json {
            let line = serde_json::json!({ "hash": entry.hash, "path": path, "bytes": entry.size });
            self.write(format_args!("{line}"))
        } else if self.long {
            self.write(format_args!(
                "{:>12}  {:32}  {path}",
                entry.size, entry.hash
            ))
        } else {
            self.write(format_args!("{} {path}", entry.hash))
        }
    }

    fn write(&mut self, line: std::fmt::Arguments<'_>) -> Result<()> {
        writeln!(self.stdout, "{line}").map_err(|err| write_failure(err, "stdout"))
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
            files: 0,
            bytes: 0,
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
}
