//! The hash list: `HASH` or `HASH PATH` lines, validated, normalised to the server's form and deduplicated.

use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::path::{Component, Path, PathBuf};

use anyhow::Result;

use crate::error::{Kind, fail};

/// The longest line a hash list may have: room for a hash and any real path.
pub const MAX_LINE: usize = 16 * 1024;

/// One file to fetch: its hash and where it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// The hash in the server's form: lowercase hex without leading zeros.
    pub hash: String,
    /// The hash as a number, to compare with the XXH3-128 of the bytes.
    pub value: u128,
    /// Destinations relative to the output directory (the hash itself when no PATH was given); never empty.
    pub destinations: Vec<PathBuf>,
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
            number: 0,
            claims: Claims::default(),
            seen: HashMap::new(),
            buf: Vec::new(),
        }
    }

    /// The next item, `None` at the end of the list, or an error naming the bad line.
    pub fn next_item(&mut self) -> Result<Option<Item>> {
        loop {
            self.number += 1;
            let (number, source) = (self.number, &self.source);
            let bad = |why: String| fail(Kind::Usage, format!("{source}: line {number}: {why}"));
            self.buf.clear();
            // Read at most one byte past the limit, so a line without end cannot exhaust memory.
            let read = (&mut self.input)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut self.buf)
                .map_err(|err| fail(Kind::Usage, format!("cannot read {source}: {err}")))?;
            if read == 0 {
                return Ok(None);
            }
            if self.buf.len() > MAX_LINE {
                return Err(bad(format!("longer than {MAX_LINE} bytes")));
            }
            let line =
                std::str::from_utf8(&self.buf).map_err(|_| bad("not valid UTF-8".to_string()))?;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (hash_text, path_text) = match line.split_once(char::is_whitespace) {
                Some((hash, path)) => (hash, Some(path.trim())),
                None => (line, None),
            };
            let (hash, value) = normalise(hash_text).map_err(bad)?;
            let path = path_text
                .map(relative_destination)
                .transpose()
                .map_err(bad)?;
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
                    "'{}' needs '{}' as a directory, but line {first} makes it a file",
                    path.display(),
                    dir.display()
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
                "'{}' is a directory for line {first}, so it cannot be a file",
                path.display()
            ));
        }
        match self.file_owner(path) {
            Some((owner, first)) if owner != value => Err(format!(
                "'{}' is already the destination of line {first}",
                path.display()
            )),
            _ => Ok(()),
        }
    }
}

/// Checks that `path` stays inside the output directory and returns it without `.` parts.
pub fn relative_destination(path: &str) -> Result<PathBuf, String> {
    if path.contains('\0') {
        return Err(format!(
            "path '{}' contains a NUL byte",
            path.escape_debug()
        ));
    }
    let mut clean = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "path '{path}' must stay inside the output directory (no absolute paths or '..')"
                ));
            }
        }
    }
    if clean.as_os_str().is_empty() {
        return Err(format!("path '{path}' does not name a file"));
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
        ];
        for (text, expected) in cases {
            let err = format!("{:#}", parse_text(text).unwrap_err());
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        let err = parse(&b"ab\n\xff\n"[..], "list").unwrap_err();
        assert!(format!("{err:#}").contains("line 2: not valid UTF-8"));
        let endless = std::io::repeat(b'a');
        let err = parse(std::io::BufReader::new(endless), "list").unwrap_err();
        assert!(format!("{err:#}").contains("line 1: longer than 16384 bytes"));
    }
}
