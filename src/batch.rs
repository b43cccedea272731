//! `oxdl batch`: many files by content hash, streamed from one tarball per request.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::cli::BatchArgs;
use crate::error::{Kind, KindContext, fail};
use crate::hashes::{self, Wanted};
use crate::progress::Progress;
use crate::remote::{BatchReply, Remote};
use crate::unpack::{self, Observer};

/// Downloads every file of the hash list into the output directory.
pub fn run(remote: &Remote, args: &BatchArgs, quiet: bool) -> Result<()> {
    let wanted = read_list(args.hash_file.as_deref())?;
    let out = &args.output_dir;
    let mut tracker = Tracker {
        progress: Progress::for_files(quiet, wanted.len() as u64),
        done: 0,
    };
    if wanted.is_empty() {
        tracker
            .progress
            .note("oxdl: the hash list is empty; nothing to download");
        return Ok(());
    }
    std::fs::create_dir_all(out).kind_context(
        Kind::Other,
        format_args!("cannot create output directory {}", out.display()),
    )?;

    let mut pending = wanted;
    let mut missing: Vec<Wanted> = Vec::new();
    while !pending.is_empty() {
        let body = gzip_list(&pending)?;
        let reply = remote
            .batch(&body)
            .with_context(|| format!("batch download from {} failed", args.repo))?;
        match reply {
            BatchReply::Missing(hashes) => {
                let reported: HashSet<String> = hashes.into_iter().collect();
                let (gone, rest): (Vec<Wanted>, Vec<Wanted>) = pending
                    .into_iter()
                    .partition(|w| reported.contains(&w.hash));
                if gone.is_empty() {
                    return Err(fail(
                        Kind::Network,
                        "the server reported missing hashes, but none that were requested",
                    ));
                }
                tracker.progress.note(format!(
                    "oxdl: the server is missing {} of the requested files; requesting the other {}",
                    gone.len(),
                    rest.len()
                ));
                missing.extend(gone);
                pending = rest;
            }
            BatchReply::Archive(reader) => {
                unpack::unpack(reader, &pending, out, &mut tracker).with_context(|| {
                    format!(
                        "batch download from {} failed after {} file(s) were written",
                        args.repo, tracker.done
                    )
                })?;
                break;
            }
        }
    }
    tracker.progress.finish();
    tracker.progress.note(format!(
        "{} file(s), {} bytes, written to {}",
        tracker.done,
        tracker.progress.total_bytes(),
        out.display()
    ));
    if missing.is_empty() {
        return Ok(());
    }
    // The list of missing hashes is the substance of this error, so it is printed even when quiet.
    for w in &missing {
        eprintln!("missing: {}", w.hash);
    }
    Err(fail(
        Kind::Partial,
        format!(
            "{} of {} file(s) are missing on the server (listed above); the others were written",
            missing.len(),
            missing.len() + tracker.done
        ),
    ))
}

/// Counts finished files for the summary and feeds the progress bar.
struct Tracker {
    progress: Progress,
    done: usize,
}

impl Observer for Tracker {
    fn bytes(&mut self, n: u64) {
        self.progress.bytes(n);
    }

    fn file_done(&mut self, _wanted: &Wanted) {
        self.done += 1;
        self.progress.file_done();
    }
}

/// Reads the hash list from a file, or from stdin for `-` or no argument with stdin piped.
fn read_list(path: Option<&Path>) -> Result<Vec<Wanted>> {
    match path {
        Some(path) if path != Path::new("-") => {
            let file = File::open(path).kind_context(
                Kind::Usage,
                format_args!("cannot open hash list {}", path.display()),
            )?;
            hashes::parse(BufReader::new(file), &path.display().to_string())
        }
        None if std::io::stdin().is_terminal() => Err(fail(
            Kind::Usage,
            "no hash list: name a file, or pipe the hashes into stdin (e.g. oxdl batch ox/demo - < hashes.txt)",
        )),
        _ => hashes::parse(std::io::stdin().lock(), "<stdin>"),
    }
}

/// The request body: `HASH\n` lines, gzipped.
fn gzip_list(wanted: &[Wanted]) -> Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    for w in wanted {
        encoder
            .write_all(w.hash.as_bytes())
            .and_then(|()| encoder.write_all(b"\n"))
            .kind_context(Kind::Other, "cannot compress the hash list")?;
    }
    encoder
        .finish()
        .kind_context(Kind::Other, "cannot compress the hash list")
}
