//! The `--checksums` manifest: every file in place with its SHA-256, in `sha256sum` format, sorted by
//! path. Up to [`RUN`] entries are sorted in memory; beyond that each [`RUN`] go to a temp file as a
//! sorted run, and the runs are merged at the end, so that a manifest of a million files takes no more
//! memory than one of [`RUN`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;

use anyhow::Result;

use crate::disk::spool::{Record, Spool};

/// Entries sorted in memory at a time.
const RUN: usize = 64 * 1024;

/// The entries so far.
#[derive(Default)]
pub(crate) struct Manifest {
    current: Vec<Line>,
    runs: Vec<Spool<Line>>,
}

/// One file: its path and SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Line {
    path: String,
    sha256: [u8; 32],
}

impl Record for Line {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.sha256);
        out.extend_from_slice(self.path.as_bytes());
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        Some(Line {
            sha256: bytes.get(..32)?.try_into().ok()?,
            path: String::from_utf8(bytes.get(32..)?.to_vec()).ok()?,
        })
    }
}

impl Manifest {
    /// Adds a file.
    pub(crate) fn push(&mut self, sha256: [u8; 32], path: String) {
        self.current.push(Line { path, sha256 });
        if self.current.len() >= RUN {
            self.spill();
        }
    }

    /// Sorts the entries in memory into a run of their own.
    fn spill(&mut self) {
        self.current.sort_unstable();
        let mut run = Spool::default();
        for line in self.current.drain(..) {
            run.push(&line);
        }
        self.runs.push(run);
    }

    /// Writes the manifest to `out`, sorted by path.
    pub(crate) fn write(mut self, out: &mut impl Write) -> Result<()> {
        if self.runs.is_empty() {
            self.current.sort_unstable();
            for line in &self.current {
                write_line(out, line)?;
            }
            return Ok(());
        }
        self.spill();
        let mut runs = self
            .runs
            .iter()
            .map(Spool::iter)
            .collect::<Result<Vec<_>>>()?;
        // The smallest head of every run, each time.
        let mut heads = BinaryHeap::new();
        for (at, run) in runs.iter_mut().enumerate() {
            if let Some(line) = run.next() {
                heads.push(Reverse((line?, at)));
            }
        }
        while let Some(Reverse((line, at))) = heads.pop() {
            write_line(out, &line)?;
            if let Some(next) = runs[at].next() {
                heads.push(Reverse((next?, at)));
            }
        }
        Ok(())
    }
}

/// One `sha256sum` line; names with a backslash or newline use its escaped form.
fn write_line(out: &mut impl Write, line: &Line) -> Result<()> {
    let sha = crate::transfer::sha256_hex(&line.sha256);
    let name = &line.path;
    let written = if name.contains(['\\', '\n']) {
        let escaped = name.replace('\\', "\\\\").replace('\n', "\\n");
        writeln!(out, "\\{sha}  {escaped}")
    } else {
        writeln!(out, "{sha}  {name}")
    };
    written.map_err(|err| crate::error::local(&err, err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(manifest: Manifest) -> String {
        let mut out = Vec::new();
        manifest.write(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lines_match_sha256sum() {
        let mut manifest = Manifest::default();
        manifest.push([0xab; 32], "dir/x y.txt".to_string());
        manifest.push([0x01; 32], "a\\b".to_string());
        let ab = "ab".repeat(32);
        let one = "01".repeat(32);
        assert_eq!(
            written(manifest),
            format!("\\{one}  a\\\\b\n{ab}  dir/x y.txt\n")
        );
    }

    #[test]
    fn many_entries_come_out_sorted_through_runs_on_disk() {
        let mut manifest = Manifest::default();
        let count = RUN * 2 + 123;
        // Paths in a scrambled order.
        for i in 0..count {
            let n = (i * 7919) % count;
            manifest.push([(n % 251) as u8; 32], format!("f{n:07}"));
        }
        assert_eq!(manifest.runs.len(), 2);
        let text = written(manifest);
        let paths: Vec<&str> = text.lines().map(|l| &l[66..]).collect();
        assert_eq!(paths.len(), count);
        assert!(paths.windows(2).all(|w| w[0] < w[1]));
        assert!(
            text.lines()
                .all(|l| l[..2] == format!("{:02x}", l[67..].parse::<usize>().unwrap() % 251))
        );
    }
}
