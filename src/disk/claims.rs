//! Who claimed which destination of a list, in 16 bytes a path: two different hashes never share a
//! file, and no file stands where a directory is needed.

use std::hash::BuildHasher;

use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::disk::fingerprints::{FingerprintMap, ValueState};
use crate::disk::listfmt;

/// The destinations claimed so far, so that two different hashes never share a file and no file stands
/// where a directory is needed. A list may hold millions of lines, so a path is remembered by its 64-bit
/// fingerprint (16 bytes with its claim), not by its text: two different paths with the same fingerprint
/// would make a false conflict, which for a million paths happens about once in 30 million lists. The
/// fingerprints are keyed anew in every run, so that no list can be made to collide on purpose.
#[derive(Default)]
pub(crate) struct Claims {
    key: Keys,
    /// Each claimed path's fingerprint: who claimed it ([`Claim`]) and on which line.
    paths: FingerprintMap,
    /// The parent directory of the last path claimed: a path in the same directory needs no check of
    /// its directories again.
    last_parent: String,
}

/// What claimed a path: a file (by a fingerprint of its hash) or a directory.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Claim {
    Directory,
    File(u32),
}

/// This run's keys for fingerprints of paths and of hashes.
struct Keys {
    paths: u64,
    hashes: ValueState,
}

impl Default for Keys {
    fn default() -> Self {
        let hashes = ValueState::default();
        Keys {
            paths: hashes.hash_one(0u128),
            hashes,
        }
    }
}

impl Keys {
    fn path(&self, path: &str) -> u64 {
        xxh3_64_with_seed(path.as_bytes(), self.paths)
    }

    /// A file's claim by its hash: a 32-bit fingerprint (two hashes at one path with the same one would
    /// pass for a repeated line, once in four billion such conflicts, and no list can aim at it).
    fn file(&self, value: u128) -> Claim {
        let folded = self.hashes.hash_one(value);
        Claim::File(((folded ^ (folded >> 32)) as u32).max(1))
    }
}

impl Claim {
    /// Packed with the line that made it, to store.
    fn pack(self, line: usize) -> u64 {
        let owner = match self {
            Claim::Directory => 0,
            Claim::File(owner) => owner,
        };
        (u64::from(owner) << 32) | u64::from(u32::try_from(line).unwrap_or(u32::MAX))
    }

    fn unpack(packed: u64) -> (Self, usize) {
        let claim = match (packed >> 32) as u32 {
            0 => Claim::Directory,
            owner => Claim::File(owner),
        };
        (claim, (packed & 0xffff_ffff) as usize)
    }
}

impl Claims {
    /// Claims `path` for `value`: true when new, false when that hash already has it, an error naming the
    /// earlier line (a `unit`) when another file or a directory does.
    pub(crate) fn claim(
        &mut self,
        value: u128,
        path: &str,
        line: usize,
        unit: &str,
    ) -> Result<bool, String> {
        let mine = self.key.file(value);
        // One probe: the path is claimed unless it was; a conflict ends the list anyway.
        match self
            .paths
            .insert(self.key.path(path), mine.pack(line))
            .map(Claim::unpack)
        {
            Some((owner, _)) if owner == mine => return Ok(false),
            Some((Claim::Directory, first)) => {
                return Err(format!(
                    "'{}' is a directory for {unit} {first}, so it cannot be a file",
                    shown(path)
                ));
            }
            Some((Claim::File(_), first)) => {
                return Err(format!(
                    "'{}' is already the destination of {unit} {first}",
                    shown(path)
                ));
            }
            None => {}
        }
        let parent = path
            .as_bytes()
            .iter()
            .rposition(|&b| b == b'/')
            .map_or("", |at| &path[..at]);
        if parent != self.last_parent {
            let parents = || {
                std::iter::successors(Some(parent), |dir| dir.rfind('/').map(|at| &dir[..at]))
                    .filter(|dir| !dir.is_empty())
            };
            for dir in parents() {
                if let Some((Claim::File(_), first)) =
                    self.paths.get(self.key.path(dir)).map(Claim::unpack)
                {
                    return Err(format!(
                        "'{}' needs '{}' as a directory, but {unit} {first} makes it a file",
                        shown(path),
                        shown(dir)
                    ));
                }
            }
            for dir in parents() {
                // Directories nearer the root were claimed with this one.
                if self
                    .paths
                    .insert(self.key.path(dir), Claim::Directory.pack(line))
                    .is_some()
                {
                    break;
                }
            }
            parent.clone_into(&mut self.last_parent);
        }
        Ok(true)
    }
}

/// A destination for messages, its control characters escaped so that they cannot garble a terminal.
fn shown(path: &str) -> String {
    listfmt::escape_controls(path).into_owned()
}
