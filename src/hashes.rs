//! The hash list: `HASH` or `HASH PATH` lines (or NUL-separated records), validated, normalised to the
//! server's form and deduplicated. How a PATH is written is in [`crate::listfmt`].

use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::path::{Component, Path, PathBuf};

use anyhow::Result;

use crate::error::{Kind, fail};
use crate::listfmt;

/// The longest line (or NUL-separated record) a hash list may have: room for a hash and any real path.
pub const MAX_LINE: usize = 16 * 1024;

/// A byte-order mark, which some editors put at the start of a text file.
const BOM: &str = "\u{feff}";

/// One file to fetch: its hash and where it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// The hash in the server's form: lowercase hex without leading zeros.
    pub hash: String,
    /// The hash as a number, to compare with the XXH3-128 of the bytes.
    pub value: u128,
    /// Destinations relative to the output directory (the hash itself when no PATH was given); never empty.
    pub destinations: Vec<PathBuf>,
    /// The size, when the source says (a directory listing does; a hash list does not).
    pub size: Option<u64>,
}

/// Parses a content hash: hex only, at most 32 digits; returns the server's form and its value.
pub fn normalise(text: &str) -> Result<(String, u128), String> {
    if text.is_empty() || text.len() > 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "'{}' is not a content hash (1 to 32 hex digits)",
            text.escape_debug()
        ));
    }
    let value = u128::from_str_radix(text, 16).map_err(|err| err.to_string())?;
    let hash = format!("{value:x}");
    // The server's batch handler crashes on one-digit hashes, and no real file hashes that low.
    if hash.len() < 2 {
        return Err(format!("'{text}' is too small to be a content hash"));
    }
    Ok((hash, value))
}

/// Reads a hash list from `input` (named `source` in errors); fails on the first bad line, naming it.
pub fn parse(input: impl BufRead, source: &str) -> Result<Vec<Wanted>> {
    ListReader::new(input, source).collect_all()
}

impl<R: BufRead> ListReader<R> {
    /// The rest of the list, each hash once with all its destinations.
    pub fn collect_all(&mut self) -> Result<Vec<Wanted>> {
        let mut wanted: Vec<Wanted> = Vec::new();
        while let Some(item) = self.next_item()? {
            match item {
                Item::New(w) => wanted.push(w),
                Item::More {
                    index, destination, ..
                } => wanted[index].destinations.push(destination),
            }
        }
        Ok(wanted)
    }
}

/// One step of a hash list: a hash first seen, or another destination for a hash seen before.
#[derive(Debug)]
pub enum Item {
    New(Wanted),
    /// `index` counts the `New` items before, from 0.
    More {
        index: usize,
        value: u128,
        destination: PathBuf,
    },
}

/// Reads a hash list line by line, so that work can start before the list ends (`oxdl batch` on a
/// pipe). Every check of [`parse`] applies, across the whole list.
pub struct ListReader<R> {
    input: R,
    source: String,
    /// NUL-separated records with literal paths (`-0`) instead of lines.
    nul: bool,
    number: usize,
    claims: Claims,
    /// Each hash seen so far, with its place among the `New` items.
    seen: HashMap<u128, usize>,
    buf: Vec<u8>,
}

impl<R: BufRead> ListReader<R> {
    /// A reader of `input`, named `source` in errors.
    pub fn new(input: R, source: &str) -> Self {
        ListReader {
            input,
            source: source.to_string(),
            nul: false,
            number: 0,
            claims: Claims {
                unit: "line",
                ..Claims::default()
            },
            seen: HashMap::new(),
            buf: Vec::new(),
        }
    }

    /// Reads NUL-separated `HASH PATH` records (as `oxdl ls -0` writes) instead of lines: the PATH is
    /// everything after the first space, taken literally (no quoting, no trimming).
    pub fn nul_separated(mut self, nul: bool) -> Self {
        self.nul = nul;
        self.claims.unit = if nul { "record" } else { "line" };
        self
    }

    /// The next item, `None` at the end of the list, or an error naming the bad line (or record).
    pub fn next_item(&mut self) -> Result<Option<Item>> {
        let delimiter = if self.nul { b'\0' } else { b'\n' };
        let unit = self.claims.unit;
        loop {
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
                return Ok(None);
            }
            if self.buf.len() > MAX_LINE {
                return Err(bad(format!("longer than {MAX_LINE} bytes")));
            }
            let mut line =
                std::str::from_utf8(&self.buf).map_err(|_| bad("not valid UTF-8".to_string()))?;
            if number == 1 {
                line = line.strip_prefix(BOM).unwrap_or(line);
            }
            let (hash_text, path_text) = if self.nul {
                let record = line.strip_suffix('\0').unwrap_or(line);
                if record.is_empty() {
                    continue;
                }
                match record.split_once(' ') {
                    Some((hash, path)) => (hash, Some(path)),
                    None => (record, None),
                }
            } else {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                match line.split_once(char::is_whitespace) {
                    Some((hash, path)) => (hash, Some(path)),
                    None => (line, None),
                }
            };
            let (hash, value) = normalise(hash_text).map_err(bad)?;
            let path = match path_text {
                Some(text) if self.nul => Some(relative_destination(text).map_err(bad)?),
                Some(text) => {
                    let name = listfmt::parse_path(text).map_err(bad)?;
                    Some(relative_destination(&name).map_err(bad)?)
                }
                None => None,
            };
            if !self
                .claims
                .claim(value, path.as_deref(), number)
                .map_err(bad)?
            {
                continue;
            }
            let destination = path.unwrap_or_else(|| PathBuf::from(&hash));
            let next = self.seen.len();
            let index = *self.seen.entry(value).or_insert(next);
            if index != next {
                return Ok(Some(Item::More {
                    index,
                    value,
                    destination,
                }));
            }
            return Ok(Some(Item::New(Wanted {
                hash,
                value,
                destinations: vec![destination],
                size: None,
            })));
        }
    }
}

/// The destinations claimed so far, so that two different hashes never share a file and no file stands
/// where a directory is needed. Kept lean: a list may hold millions of lines.
#[derive(Default)]
struct Claims {
    /// Explicit PATH destinations: the hash and the line that claimed each.
    files: HashMap<PathBuf, (u128, usize)>,
    /// Hashes written under their own name (no PATH): the line that asked.
    by_hash: HashMap<u128, usize>,
    /// Directories that explicit paths need: the first line that needed each.
    directories: HashMap<PathBuf, usize>,
    /// What messages call a line: "line", or "record" in a NUL-separated list.
    unit: &'static str,
}

impl Claims {
    /// The hash and line that made `path` a file, if any.
    fn file_owner(&self, path: &Path) -> Option<(u128, usize)> {
        if let Some(&owner) = self.files.get(path) {
            return Some(owner);
        }
        // A hash in the server's form may be the name some hash-only line writes to.
        let text = path.to_str()?;
        let (canonical, value) = normalise(text).ok()?;
        if canonical != text {
            return None;
        }
        self.by_hash.get(&value).map(|&line| (value, line))
    }

    /// Claims a destination for `value` (its own name when `path` is None); false when that hash
    /// already has it, an error naming the earlier line when another file or a directory does.
    fn claim(&mut self, value: u128, path: Option<&Path>, line: usize) -> Result<bool, String> {
        let Some(path) = path else {
            if self.by_hash.contains_key(&value) {
                return Ok(false);
            }
            if !self.files.is_empty() || !self.directories.is_empty() {
                let own = PathBuf::from(format!("{value:x}"));
                self.check_free(&own, value)?;
            }
            self.by_hash.insert(value, line);
            return Ok(true);
        };
        match self.file_owner(path) {
            Some((owner, _)) if owner == value => return Ok(false),
            _ => self.check_free(path, value)?,
        }
        let parents = path
            .ancestors()
            .skip(1)
            .filter(|d| !d.as_os_str().is_empty());
        for dir in parents.clone() {
            if let Some((_, first)) = self.file_owner(dir) {
                return Err(format!(
                    "'{}' needs '{}' as a directory, but {} {first} makes it a file",
                    shown(path),
                    shown(dir),
                    self.unit
                ));
            }
        }
        for dir in parents {
            self.directories.entry(dir.to_path_buf()).or_insert(line);
        }
        self.files.insert(path.to_path_buf(), (value, line));
        Ok(true)
    }

    /// Fails when `path` is already another hash's file or a needed directory.
    fn check_free(&self, path: &Path, value: u128) -> Result<(), String> {
        if let Some(first) = self.directories.get(path) {
            return Err(format!(
                "'{}' is a directory for {} {first}, so it cannot be a file",
                shown(path),
                self.unit
            ));
        }
        match self.file_owner(path) {
            Some((owner, first)) if owner != value => Err(format!(
                "'{}' is already the destination of {} {first}",
                shown(path),
                self.unit
            )),
            _ => Ok(()),
        }
    }
}

/// A destination for messages, its control characters escaped so that they cannot garble a terminal.
fn shown(path: &Path) -> String {
    listfmt::escape_controls(&path.to_string_lossy()).into_owned()
}

/// Checks that `path` names a file inside the output directory and returns it without `.` parts.
pub fn relative_destination(path: &str) -> Result<PathBuf, String> {
    if path.contains('\0') {
        return Err(format!(
            "path '{}' contains a NUL byte",
            path.escape_debug()
        ));
    }
    let shown = listfmt::escape_controls(path);
    // `dir/` would otherwise quietly become a file named `dir`.
    if path.ends_with('/') {
        return Err(format!(
            "path '{shown}' ends with '/', so it names a directory: give the file's name"
        ));
    }
    let mut clean = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "path '{shown}' must stay inside the output directory (no absolute paths or '..')"
                ));
            }
        }
    }
    if clean.as_os_str().is_empty() {
        return Err(format!("path '{shown}' does not name a file"));
    }
    Ok(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Vec<Wanted>> {
        parse(text.as_bytes(), "list")
    }

    #[test]
    fn normalises_to_server_form() {
        assert_eq!(
            normalise("0389F92E4837212ABE1BDB262834FC63").unwrap().0,
            "389f92e4837212abe1bdb262834fc63"
        );
        assert_eq!(normalise("00ab").unwrap(), ("ab".to_string(), 0xab));
        for bad in ["", "xyz", "0x12", "1", "0000", &"a".repeat(33), "12 34"] {
            assert!(normalise(bad).is_err(), "{bad}");
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
        let summary: Vec<(&str, Vec<&str>)> = list
            .iter()
            .map(|w| {
                (
                    w.hash.as_str(),
                    w.destinations.iter().map(|d| d.to_str().unwrap()).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "6bbd11f739ebf845aa083a0feeb21ce1",
                    vec!["data.csv", "copy/data.csv"]
                ),
                (
                    "4bc6f9c6f8941bc2e3a7ebff29145cde",
                    vec!["4bc6f9c6f8941bc2e3a7ebff29145cde"]
                ),
                (
                    "e376e7570ed45e84251273569995ea0e",
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
            .collect_all()
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
                .collect_all()
                .unwrap_err();
            assert!(format!("{err:#}").contains(expected), "{text:?}: {err:#}");
        }
        let endless = std::io::repeat(b'a');
        let err = ListReader::new(std::io::BufReader::new(endless), "l")
            .nul_separated(true)
            .collect_all()
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
