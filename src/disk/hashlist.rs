//! The hash list: `HASH` or `HASH PATH` lines (or NUL-separated records), validated, normalised to the
//! server's form and deduplicated. How a PATH is written is in [`crate::disk::listfmt`].
//!
//! Lists may hold millions of lines, so nothing here keeps a line: a list is read as a stream of
//! [`Entry`]s, and what must be remembered to check it (who claimed which path) takes 16 bytes an entry.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, Read};
use std::path::PathBuf;

use anyhow::Result;
use xxhash_rust::xxh3::Xxh3;

use crate::disk::claims::Claims;
use crate::disk::listfmt::{self, clean_destination};
use crate::error::{Kind, fail};
use crate::hash::{Wanted, hash_text, parse_hash};

/// The longest line (or NUL-separated record) a hash list may have: room for a hash and any real path.
pub const MAX_LINE: usize = 16 * 1024;

/// A byte-order mark, which some editors put at the start of a text file.
const BOM: &str = "\u{feff}";

/// One line of a list (or one file of a directory listing): a hash and where it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The content hash as a number (its XXH3-128).
    pub value: u128,
    /// Relative to the output directory (the hash itself when no PATH was given).
    pub destination: PathBuf,
    /// The size, when the source says (a directory listing does; a hash list does not).
    pub size: Option<u64>,
}
/// Reads a hash list from `input` (named `source` in errors), each hash once with all its destinations
/// in the order met; fails on the first bad line, naming it. For tests and small lists: it holds them.
pub fn parse(input: impl BufRead, source: &str) -> Result<Vec<Wanted>> {
    let mut reader = ListReader::new(input, source);
    let mut wanted: Vec<Wanted> = Vec::new();
    let mut index = HashMap::new();
    while let Some(entry) = reader.next_entry()? {
        match index.get(&entry.value) {
            Some(&at) => {
                let w: &mut Wanted = &mut wanted[at];
                w.add(entry.destination, false);
            }
            None => {
                index.insert(entry.value, wanted.len());
                wanted.push(Wanted::new(
                    entry.value,
                    entry.destination,
                    entry.size,
                    false,
                ));
            }
        }
    }
    Ok(wanted)
}

/// Reads a hash list line by line, so that work can start before the list ends and memory does not
/// grow with the lines. Every line is checked across the whole list (no two files at one path, no file
/// where a directory is needed); a line repeating an earlier one (same hash, same destination) is
/// dropped. The same hash at several destinations comes once for each.
pub struct ListReader<R> {
    input: R,
    source: String,
    /// NUL-separated records with literal paths (`-0`) instead of lines.
    nul: bool,
    /// What messages call a line: "line", or "record" in a NUL-separated list.
    unit: &'static str,
    number: usize,
    buf: Vec<u8>,
    mode: Mode,
    /// The numbers of the lines dropped so far, when a first pass records them for the second.
    dropped: Option<Vec<usize>>,
    /// The list in blocks of about [`BLOCK`] bytes (whole lines), each with its digest, to tell that a
    /// list read twice (see [`Checked`]) did not change in between: the digest of the block being read,
    /// its bytes so far, the digests of the blocks before, and the bytes read in all.
    block: Xxh3,
    block_bytes: u64,
    blocks: Vec<u64>,
    bytes: u64,
    /// A replayed list's entries of the block being read, given out once the block checks out.
    held: VecDeque<Entry>,
    /// The last line read closed a block.
    block_closed: bool,
    ended: bool,
}

/// Bytes of a block of a list read twice: on the second reading, its entries wait until the block is
/// found unchanged (a few thousand lines at most, so memory stays small).
const BLOCK: u64 = 256 * 1024;

/// One line's worth of reading.
enum Step {
    Entry(Entry),
    /// A comment, a blank line, or a line repeating an earlier one.
    Nothing,
    End,
}

/// How a reader knows which lines to drop.
enum Mode {
    /// Checks each line against the claims of those before.
    Check(Claims),
    /// Reads a list checked before, dropping the lines that the check dropped.
    Replay { checked: Checked, next: usize },
}

/// What a first pass over a list leaves for the second: the numbers of the lines it dropped, and what the
/// list was, to notice a change: 8 bytes a dropped line and 8 a block of [`BLOCK`] bytes.
pub struct Checked {
    dropped: Vec<usize>,
    blocks: Vec<u64>,
    bytes: u64,
    lines: usize,
}

impl Checked {
    /// How many bytes the list had: a second reading reads no more (lines appended since go unread).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl<R: BufRead> ListReader<R> {
    /// A reader of `input`, named `source` in errors, checking every line as it comes.
    pub fn new(input: R, source: &str) -> Self {
        ListReader {
            input,
            source: source.to_string(),
            nul: false,
            unit: "line",
            number: 0,
            buf: Vec::new(),
            mode: Mode::Check(Claims::default()),
            dropped: None,
            block: Xxh3::new(),
            block_bytes: 0,
            blocks: Vec::new(),
            bytes: 0,
            held: VecDeque::new(),
            block_closed: false,
            ended: false,
        }
    }

    /// A reader of a list that [`ListReader::check_all`] has read before: it reads the same entries
    /// without holding any claims, and fails if the list changed in between, before giving out any entry
    /// of a block that changed (give it no more than [`Checked::bytes`] of input).
    pub fn replay(input: R, source: &str, checked: Checked) -> Self {
        ListReader {
            mode: Mode::Replay { checked, next: 0 },
            ..ListReader::new(input, source)
        }
    }

    /// Reads NUL-separated `HASH PATH` records (as `oxdl ls -0` writes) instead of lines: the PATH is
    /// everything after the first space, taken literally (no quoting, no trimming).
    pub fn nul_separated(mut self, nul: bool) -> Self {
        self.nul = nul;
        self.unit = if nul { "record" } else { "line" };
        self
    }

    /// Reads the whole list, checking every line and passing each entry to `each`; returns what
    /// [`ListReader::replay`] needs to read it again.
    pub fn check_all(mut self, mut each: impl FnMut(&Entry) -> Result<()>) -> Result<Checked> {
        self.dropped = Some(Vec::new());
        while let Some(entry) = self.next_entry()? {
            each(&entry)?;
        }
        Ok(Checked {
            dropped: self.dropped.take().unwrap_or_default(),
            blocks: std::mem::take(&mut self.blocks),
            bytes: self.bytes,
            lines: self.number,
        })
    }

    /// The next entry, `None` at the end of the list, or an error naming the bad line (or record).
    pub fn next_entry(&mut self) -> Result<Option<Entry>> {
        if let Mode::Check(_) = self.mode {
            loop {
                match self.step()? {
                    Step::Entry(entry) => return Ok(Some(entry)),
                    Step::Nothing => {}
                    Step::End => return Ok(None),
                }
            }
        }
        // A replayed list: a block's entries go out once the whole block is read and found unchanged.
        loop {
            if let Some(entry) = self.held.pop_front() {
                return Ok(Some(entry));
            }
            if self.ended {
                return Ok(None);
            }
            self.block_closed = false;
            while !self.block_closed {
                match self.step()? {
                    Step::Entry(entry) => self.held.push_back(entry),
                    Step::Nothing => {}
                    Step::End => {
                        self.ended = true;
                        break;
                    }
                }
            }
        }
    }

    /// Ends the block being read: records its digest, or (replaying) checks it against the first
    /// reading's.
    fn close_block(&mut self) -> Result<()> {
        let digest = self.block.digest();
        self.block.reset();
        self.block_bytes = 0;
        self.block_closed = true;
        if let Mode::Replay { checked, .. } = &self.mode
            && checked.blocks.get(self.blocks.len()) != Some(&digest)
        {
            return Err(changed(&self.source));
        }
        self.blocks.push(digest);
        Ok(())
    }

    /// Reads one line (or record), closing the block when it is full.
    fn step(&mut self) -> Result<Step> {
        let step = self.read_line()?;
        if self.block_bytes >= BLOCK {
            self.close_block()?;
        }
        Ok(step)
    }

    /// Reads one line (or record).
    fn read_line(&mut self) -> Result<Step> {
        let delimiter = if self.nul { b'\0' } else { b'\n' };
        let unit = self.unit;
        {
            self.number += 1;
            let (number, source) = (self.number, &self.source);
            let bad = |why: String| fail(Kind::Usage, format!("{source}: {unit} {number}: {why}"));
            self.buf.clear();
            // Read at most one byte past the limit, so a line without end cannot exhaust memory.
            let read = (&mut self.input)
                .take(MAX_LINE as u64 + 1)
                .read_until(delimiter, &mut self.buf)
                .map_err(|err| fail(Kind::Usage, format!("cannot read {source}: {err}")))?;
            if read == 0 {
                self.number -= 1;
                self.close_block()?;
                self.check_unchanged()?;
                return Ok(Step::End);
            }
            self.block.update(&self.buf);
            self.block_bytes += read as u64;
            self.bytes += read as u64;
            // A line that passed the first pass but not the second: the list changed in between.
            let replaying = matches!(self.mode, Mode::Replay { .. });
            let bad = |why: String| {
                if replaying { changed(source) } else { bad(why) }
            };
            if self.buf.len() > MAX_LINE {
                return Err(bad(format!("longer than {MAX_LINE} bytes")));
            }
            let mut line =
                std::str::from_utf8(&self.buf).map_err(|_| bad("not valid UTF-8".to_string()))?;
            if number == 1 {
                line = line.strip_prefix(BOM).unwrap_or(line);
            }
            let (hash_part, path_part) = if self.nul {
                let record = line.strip_suffix('\0').unwrap_or(line);
                if record.is_empty() {
                    return Ok(Step::Nothing);
                }
                match record.split_once(' ') {
                    Some((hash, path)) => (hash, Some(path)),
                    None => (record, None),
                }
            } else {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    return Ok(Step::Nothing);
                }
                // Most lines: hex digits, then one ASCII space or tab; found without decoding characters.
                let digits = line.bytes().take_while(u8::is_ascii_hexdigit).count();
                match line.as_bytes().get(digits) {
                    Some(b' ' | b'\t') => (&line[..digits], Some(&line[digits + 1..])),
                    _ => match line.split_once(char::is_whitespace) {
                        Some((hash, path)) => (hash, Some(path)),
                        None => (line, None),
                    },
                }
            };
            let value = parse_hash(hash_part).map_err(bad)?;
            let destination = match path_part {
                Some(text) if self.nul => clean_destination(text.to_string()).map_err(bad)?,
                Some(text) => {
                    let name = listfmt::parse_path(text).map_err(bad)?;
                    clean_destination(name).map_err(bad)?
                }
                None => hash_text(value),
            };
            let keep = match &mut self.mode {
                Mode::Check(claims) => {
                    let keep = claims
                        .claim(value, &destination, number, unit)
                        .map_err(bad)?;
                    if let (false, Some(dropped)) = (keep, &mut self.dropped) {
                        dropped.push(number);
                    }
                    keep
                }
                Mode::Replay { checked, next } => {
                    let drop = checked.dropped.get(*next) == Some(&number);
                    *next += usize::from(drop);
                    !drop
                }
            };
            if !keep {
                return Ok(Step::Nothing);
            }
            Ok(Step::Entry(Entry {
                value,
                destination: PathBuf::from(destination),
                size: None,
            }))
        }
    }

    /// At the end of a replayed list: fails if it is not the list that was checked.
    fn check_unchanged(&self) -> Result<()> {
        match &self.mode {
            Mode::Replay { checked, .. }
                if checked.blocks.len() != self.blocks.len()
                    || checked.bytes != self.bytes
                    || checked.lines != self.number =>
            {
                Err(changed(&self.source))
            }
            _ => Ok(()),
        }
    }
}

/// The error for a list read twice that changed in between.
fn changed(source: &str) -> anyhow::Error {
    fail(
        Kind::Usage,
        format!(
            "{source} changed while oxdl was reading it (it is read once to check it, then again to \
             download): run again once the list is complete"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Vec<Wanted>> {
        parse(text.as_bytes(), "list")
    }

    impl<R: BufRead> ListReader<R> {
        /// Every entry, as one destination each.
        fn read_all(&mut self) -> Result<Vec<Wanted>> {
            let mut all = Vec::new();
            while let Some(e) = self.next_entry()? {
                all.push(Wanted::new(e.value, e.destination, e.size, false));
            }
            Ok(all)
        }
    }

    #[test]
    fn lines_paths_comments_and_duplicates() {
        let list = parse_text(
            "# header\n\n6bbd11f739ebf845aa083a0feeb21ce1 data.csv\r\n\
             4BC6F9C6F8941BC2E3A7EBFF29145CDE\n\
             e376e7570ed45e84251273569995ea0e  nested/with space.txt  \n\
             6bbd11f739ebf845aa083a0feeb21ce1 copy/./data.csv\n\
             6bbd11f739ebf845aa083a0feeb21ce1 data.csv\n\
             4bc6f9c6f8941bc2e3a7ebff29145cde",
        )
        .unwrap();
        let summary: Vec<(String, Vec<&str>)> = list
            .iter()
            .map(|w| {
                (
                    w.hash(),
                    w.destinations.iter().map(|d| d.to_str().unwrap()).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "6bbd11f739ebf845aa083a0feeb21ce1".to_string(),
                    vec!["data.csv", "copy/data.csv"]
                ),
                (
                    "4bc6f9c6f8941bc2e3a7ebff29145cde".to_string(),
                    vec!["4bc6f9c6f8941bc2e3a7ebff29145cde"]
                ),
                (
                    "e376e7570ed45e84251273569995ea0e".to_string(),
                    vec!["nested/with space.txt"]
                ),
            ]
        );
    }

    /// Every destination of the list, in order.
    fn destinations(list: &[Wanted]) -> Vec<String> {
        list.iter()
            .flat_map(|w| &w.destinations)
            .map(|d| d.to_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn quoted_paths_keep_every_character() {
        let list = parse_text(
            "abc \" lead.txt\"\n\
             abd   \"trail.txt \"  \r\n\
             abe \"line\\nbreak.txt\"\n\
             abf \"dir/esc\\x1b\\t\\\"q\\\"\\\\.txt\"\n\
             ab0 \"\\303\\251.txt\"\n\
             ab1 plain \"inner\" and back\\slash \n",
        )
        .unwrap();
        assert_eq!(
            destinations(&list),
            vec![
                " lead.txt",
                "trail.txt ",
                "line\nbreak.txt",
                "dir/esc\u{1b}\t\"q\"\\.txt",
                "é.txt",
                "plain \"inner\" and back\\slash",
            ]
        );
    }

    #[test]
    fn a_byte_order_mark_starts_a_list() {
        let list = parse(
            &b"\xef\xbb\xbf6bbd11f739ebf845aa083a0feeb21ce1 data.csv\r\n"[..],
            "l",
        )
        .unwrap();
        assert_eq!(destinations(&list), vec!["data.csv"]);
        let list = parse(&b"\xef\xbb\xbf# comment\nabc\n"[..], "l").unwrap();
        assert_eq!(destinations(&list), vec!["abc"]);
    }

    #[test]
    fn nul_separated_records_take_paths_literally() {
        let text =
            b"abc  lead.txt\0\0abd trail.txt \0abe \"q\".txt\0abf a\nb\r\0abd trail.txt \0ab0";
        let list = ListReader::new(&text[..], "l")
            .nul_separated(true)
            .read_all()
            .unwrap();
        assert_eq!(
            destinations(&list),
            vec![" lead.txt", "trail.txt ", "\"q\".txt", "a\nb\r", "ab0"]
        );
        let cases: [(&[u8], &str); 5] = [
            (
                b"abc a\0abd a\0",
                "record 2: 'a' is already the destination of record 1",
            ),
            (b"abc\0\nabd\0", "record 2: '\\nabd' is not a content hash"),
            (b"abc dir/\0", "record 1: path 'dir/' ends with '/'"),
            (b"abc ../up\0", "record 1: path '../up' must stay inside"),
            (b"abc \0", "record 1: path '' does not name a file"),
        ];
        for (text, expected) in cases {
            let err = ListReader::new(text, "l")
                .nul_separated(true)
                .read_all()
                .unwrap_err();
            assert!(format!("{err:#}").contains(expected), "{text:?}: {err:#}");
        }
        let endless = std::io::repeat(b'a');
        let err = ListReader::new(std::io::BufReader::new(endless), "l")
            .nul_separated(true)
            .read_all()
            .unwrap_err();
        assert!(format!("{err:#}").contains("record 1: longer than 16384 bytes"));
    }

    #[test]
    fn bad_lines_are_named() {
        let cases = [
            ("abc\nnot-hex\n", "line 2"),
            ("abc ../escape\n", "line 1"),
            ("abc /etc/passwd\n", "line 1"),
            (
                "abc a.txt\nabd a.txt\n",
                "line 2: 'a.txt' is already the destination of line 1",
            ),
            (
                "abc a\nabd a/b\n",
                "line 2: 'a/b' needs 'a' as a directory, but line 1 makes it a file",
            ),
            (
                "abc a/b/c\nabd a/b\n",
                "line 2: 'a/b' is a directory for line 1",
            ),
            ("abc a\0b\n", "line 1: path 'a\\0b' contains a NUL byte"),
            (
                "abd abc\nabc\n",
                "line 2: 'abc' is already the destination of line 1",
            ),
            (
                "abc\nabd abc\n",
                "line 2: 'abc' is already the destination of line 1",
            ),
            (
                "abc\nabd abc/x\n",
                "line 2: 'abc/x' needs 'abc' as a directory, but line 1 makes it a file",
            ),
            (
                "abd abc/x\nabc\n",
                "line 2: 'abc' is a directory for line 1",
            ),
            ("abc\nabd dir/\n", "line 2: path 'dir/' ends with '/'"),
            ("abc \"dir/\"\n", "line 1: path 'dir/' ends with '/'"),
            (
                "abc \"open\n",
                "line 1: the quoted path has no closing quote",
            ),
            ("abc \"a\\qb\"\n", "line 1: unknown escape '\\q'"),
            (
                "abc \"a\" b\n",
                "line 1: text after the closing quote of the path: 'b'",
            ),
            (
                "abc \"\\xff\"\n",
                "line 1: the quoted path is not valid UTF-8",
            ),
            ("abc \"../x\"\n", "line 1: path '../x' must stay inside"),
            (
                "abc \"a\\000b\"\n",
                "line 1: path 'a\\0b' contains a NUL byte",
            ),
            ("zz \"open\n", "line 1: 'zz' is not a content hash"),
            (
                "abc \"e\\x1b\"\nabd \"e\\x1b\"\n",
                "line 2: 'e\\x1b' is already the destination of line 1",
            ),
        ];
        for (text, expected) in cases {
            let err = format!("{:#}", parse_text(text).unwrap_err());
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        let err = parse(&b"ab\n\xff\n"[..], "list").unwrap_err();
        assert!(format!("{err:#}").contains("line 2: not valid UTF-8"));
        let err = parse(&b"ab\n\xef\xbb\xbfabc\n"[..], "list").unwrap_err();
        assert!(
            format!("{err:#}").contains("line 2: '\\u{feff}abc' is not a content hash"),
            "a byte-order mark counts only at the start: {err:#}"
        );
        let err = parse(&b"ab\n\xff\n"[..], "list").unwrap_err();
        assert!(format!("{err:#}").contains("line 2: not valid UTF-8"));
        let endless = std::io::repeat(b'a');
        let err = parse(std::io::BufReader::new(endless), "list").unwrap_err();
        assert!(format!("{err:#}").contains("line 1: longer than 16384 bytes"));
    }
}
