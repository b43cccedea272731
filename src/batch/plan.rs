//! Plan: turns the hash list, line by line, into requests (hash → destinations), skipping what is already
//! in place. A list from a file and a list from a pipe go through the same steps, so they give the same
//! files and the same statuses.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cli::{Shard, SkipExisting};
use crate::fsio::copy_published;
use crate::hashes::Wanted;
use crate::transfer::{Copied, hash_file};

/// A hash whose content is already in place at one or more destinations.
pub(super) struct Skipped {
    pub(super) hash: String,
    /// Each destination with what it holds.
    pub(super) places: Vec<(PathBuf, Copied)>,
    /// Whether the content was checked against the hash (only then may it be copied elsewhere).
    verified: bool,
}

/// A destination that came after its hash had been handed to a worker; filled after the fetch.
pub(super) struct Late {
    pub(super) value: u128,
    /// The hash's first destination, which the fetch writes.
    pub(super) first: PathBuf,
    pub(super) destination: PathBuf,
    /// The size, when the list gave it.
    pub(super) size: Option<u64>,
}

/// Where each hash stands.
enum State {
    /// In the request being filled, at this index.
    Pending(usize),
    /// Handed to a worker, with its first destination.
    Dispatched(PathBuf),
    /// Already in place: `Planner::skipped[index]`.
    Skipped(usize),
}

/// What planning leaves for the report: skipped hashes and late destinations.
pub(super) struct Planned {
    pub(super) skipped: Vec<Skipped>,
    pub(super) late: Vec<Late>,
    /// Bytes written by local copies made while planning.
    pub(super) bytes: u64,
}

/// Builds requests from the list's hashes and destinations.
pub(super) struct Planner<'a> {
    out: &'a Path,
    how: SkipExisting,
    /// Whether skipped files need their SHA-256 (for `--json` and `--checksums`).
    sha256: bool,
    /// Plan only: nothing is copied either.
    dry_run: bool,
    /// The request being filled.
    pending: Vec<Wanted>,
    states: HashMap<u128, State>,
    /// Skipped hashes; one that turns out to need fetching after all leaves an empty entry.
    skipped: Vec<Skipped>,
    late: Vec<Late>,
    bytes: u64,
    /// Sizes the list gave (a directory listing does), for the size check of later destinations.
    sizes: HashMap<u128, u64>,
    /// Only hashes of this shard are planned; the others are no business of this run.
    pub(super) shard: Option<Shard>,
}

impl<'a> Planner<'a> {
    /// A planner writing below `out`, deciding skips by `how`.
    pub(super) fn new(out: &'a Path, how: SkipExisting, sha256: bool, dry_run: bool) -> Self {
        Planner {
            out,
            how,
            sha256,
            dry_run,
            pending: Vec::new(),
            states: HashMap::new(),
            skipped: Vec::new(),
            late: Vec::new(),
            bytes: 0,
            sizes: HashMap::new(),
            shard: None,
        }
    }

    /// Adds a hash with its destinations (a hash seen before gets them as more destinations).
    pub(super) fn add(&mut self, wanted: Wanted) -> Result<()> {
        let Wanted {
            hash,
            value,
            destinations,
            size,
        } = wanted;
        if self.shard.is_some_and(|shard| !shard.keeps(value)) {
            return Ok(());
        }
        if self.states.contains_key(&value) {
            for destination in destinations {
                self.add_destination(value, destination)?;
            }
            return Ok(());
        }
        let mut destinations = destinations.into_iter();
        let Some(first) = destinations.next() else {
            return Ok(());
        };
        if let Some(size) = size {
            self.sizes.insert(value, size);
        }
        match self.holds(&first, value) {
            Some(copied) => {
                self.states
                    .insert(value, State::Skipped(self.skipped.len()));
                self.skipped.push(Skipped {
                    hash,
                    places: vec![(first, copied)],
                    verified: self.how == SkipExisting::Hash,
                });
            }
            None => {
                self.states
                    .insert(value, State::Pending(self.pending.len()));
                self.pending.push(Wanted {
                    hash,
                    value,
                    destinations: vec![first],
                    size,
                });
            }
        }
        for destination in destinations {
            self.add_destination(value, destination)?;
        }
        Ok(())
    }

    /// Adds another destination for a hash seen before.
    pub(super) fn add_destination(&mut self, value: u128, destination: PathBuf) -> Result<()> {
        if self.shard.is_some_and(|shard| !shard.keeps(value)) {
            return Ok(());
        }
        match self.states.get(&value) {
            Some(&State::Pending(index)) => match self.holds(&destination, value) {
                // A checked copy is at hand: the hash needs no request at all.
                Some(copied) if self.how == SkipExisting::Hash => {
                    let wanted = self.unqueue(index);
                    self.skip_with_copies(wanted, destination, copied)?;
                }
                _ => self.pending[index].destinations.push(destination),
            },
            Some(State::Dispatched(first)) => self.late.push(Late {
                value,
                first: first.clone(),
                destination,
                size: self.sizes.get(&value).copied(),
            }),
            Some(&State::Skipped(index)) => {
                let found = self.holds(&destination, value);
                let group = &mut self.skipped[index];
                match found {
                    Some(copied) => group.places.push((destination, copied)),
                    None if group.verified => {
                        let (source, copied) = group.places[0].clone();
                        if !self.dry_run {
                            copy_published(&self.out.join(&source), &self.out.join(&destination))?;
                        }
                        group.places.push((destination, copied));
                        self.bytes += copied.bytes;
                    }
                    // Trusted by size only, so never copied: the hash is fetched for every destination,
                    // as it would have been had the whole list been read first.
                    None => {
                        let hash = group.hash.clone();
                        let mut destinations: Vec<PathBuf> = std::mem::take(&mut group.places)
                            .into_iter()
                            .map(|(path, _)| path)
                            .collect();
                        destinations.push(destination);
                        self.states
                            .insert(value, State::Pending(self.pending.len()));
                        self.pending.push(Wanted {
                            hash,
                            value,
                            destinations,
                            size: self.sizes.get(&value).copied(),
                        });
                    }
                }
            }
            None => {}
        }
        Ok(())
    }

    /// How many files the request being filled holds.
    pub(super) fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Takes the request being filled, to hand to the workers.
    pub(super) fn dispatch(&mut self) -> Vec<Wanted> {
        let pending = std::mem::take(&mut self.pending);
        for wanted in &pending {
            self.states.insert(
                wanted.value,
                State::Dispatched(wanted.destinations[0].clone()),
            );
        }
        pending
    }

    /// What is left for the report once the list has ended (or planning stopped).
    pub(super) fn finish(self) -> Planned {
        Planned {
            skipped: self
                .skipped
                .into_iter()
                .filter(|s| !s.places.is_empty())
                .collect(),
            late: self.late,
            bytes: self.bytes,
        }
    }

    /// Removes the pending request entry at `index`, keeping the other indexes right.
    fn unqueue(&mut self, index: usize) -> Wanted {
        let wanted = self.pending.swap_remove(index);
        if let Some(moved) = self.pending.get(index) {
            self.states.insert(moved.value, State::Pending(index));
        }
        wanted
    }

    /// Skips `wanted`, whose content was found checked at `source`, copying it to its destinations. When
    /// a copy fails, the hash goes back to the request being filled, with `source` as one more
    /// destination, so that it is fetched (or reported) rather than lost.
    fn skip_with_copies(
        &mut self,
        mut wanted: Wanted,
        source: PathBuf,
        found: Copied,
    ) -> Result<()> {
        if !self.dry_run {
            for destination in &wanted.destinations {
                if let Err(err) =
                    copy_published(&self.out.join(&source), &self.out.join(destination))
                {
                    wanted.destinations.push(source);
                    self.states
                        .insert(wanted.value, State::Pending(self.pending.len()));
                    self.pending.push(wanted);
                    return Err(err);
                }
            }
        }
        let mut places = vec![(source.clone(), found)];
        for destination in wanted.destinations {
            self.bytes += found.bytes;
            places.push((destination, found));
        }
        self.states
            .insert(wanted.value, State::Skipped(self.skipped.len()));
        self.skipped.push(Skipped {
            hash: wanted.hash,
            places,
            verified: true,
        });
        Ok(())
    }

    /// What the file at `destination` holds, when it passes the chosen check for `value`.
    fn holds(&self, destination: &Path, value: u128) -> Option<Copied> {
        if self.how == SkipExisting::Never {
            return None;
        }
        let path = self.out.join(destination);
        // Not followed: a link is replaced by the file, never trusted or read through.
        let meta = std::fs::symlink_metadata(&path)
            .ok()
            .filter(|meta| meta.is_file())?;
        match self.how {
            SkipExisting::Never => None,
            // A listing gives sizes to compare; a hash list does not, and then the cheap check is
            // presence: only the empty file may be empty.
            SkipExisting::Size => match self.sizes.get(&value) {
                Some(&size) if meta.len() != size => None,
                None if (meta.len() == 0) != (value == empty_hash()) => None,
                _ if !self.sha256 => Some(Copied {
                    bytes: meta.len(),
                    hash: value,
                    sha256: None,
                }),
                // Read anyway for the SHA-256 that was asked for; so its hash is known, and a file
                // that turns out wrong is fetched again rather than reported with a wrong checksum.
                _ => hash_file(&path, true).ok().filter(|c| c.hash == value),
            },
            SkipExisting::Hash => hash_file(&path, self.sha256)
                .ok()
                .filter(|c| c.hash == value),
        }
    }
}

fn empty_hash() -> u128 {
    xxhash_rust::xxh3::xxh3_128(b"")
}
