//! Plan: turns the list, entry by entry, into requests (hash → destinations), skipping what is already
//! in place. A list from a file, a pipe or a directory listing goes through the same steps, so they give
//! the same files and the same statuses.
//!
//! Memory stays flat however long the list: what is in place is reported at once, and only the most
//! recent hashes are remembered (see [`WINDOW`]) to give a hash met again its earlier fetch or copy.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::Result;

use crate::disk::fingerprints::{ValueMap, ValueState};
use crate::disk::fsio::{Confined, copy_published};
use crate::disk::hashlist::Entry;
use crate::hash::Wanted;
use crate::term::progress::Progress;
use crate::term::report::{FileReport, Reporter, Status};
use crate::transfer::{Copied, hash_file};

use crate::disk::spool::{Record, Spool, decode_path, encode_path};

/// How `batch` decides that a destination already holds the right file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SkipExisting {
    /// Hash the local file with XXH3-128 and compare it with its name.
    Hash,
    /// Trust a file that is present and not empty (empty only for the empty file's hash); no hashing.
    Size,
    /// Always fetch.
    Never,
}

/// One of N parts of a list, chosen by content hash so that the split does not depend on the list's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Whether the file with content hash `value` belongs to this shard.
    pub fn keeps(&self, value: u128) -> bool {
        // XXH3 values are uniform, so the remainder splits any list evenly.
        value % u128::from(self.count) == u128::from(self.index)
    }
}

/// How many distinct hashes the planner remembers. A hash met again within this many others is fetched
/// once and copied to its later destinations; met again further on, it is fetched again (correct, at
/// the cost of one more download of that file). About 150 bytes each.
pub(super) const WINDOW: usize = 1 << 15;

/// A place held for a file trusted by its size is reported at once beyond this many, so that memory stays
/// flat; a hash met again not in place is then fetched for the places still held only.
const HELD_MOST: usize = 1024;

/// A destination that came after its hash had been handed to a worker; filled after the fetch.
pub(super) struct Late {
    pub(super) value: u128,
    /// The hash's first destination, which the fetch writes.
    pub(super) first: Rc<Path>,
    pub(super) destination: PathBuf,
    /// The size, when the list gave it.
    pub(super) size: Option<u64>,
    /// A file with other content is there (a local edit), which the copy replaces.
    pub(super) replaced: bool,
}

/// What a destination holds, as the chosen check sees it.
enum Found {
    /// The file of the hash (or one trusted to be, by its size).
    InPlace(Copied),
    /// A regular file with other content (a local edit): fetching the hash replaces it.
    Other,
    /// Nothing to keep: no file, something other than a regular file, a file that could not be read,
    /// or one not looked at (`--skip-existing never`).
    Nothing,
}

/// Where a recent hash stands.
enum Slot {
    /// In the request being filled, at this index.
    Pending(usize),
    /// Handed to a worker, which writes `first`.
    Dispatched { first: Rc<Path>, size: Option<u64> },
    /// Already in place (boxed: most recent hashes are dispatched ones, and they stay small).
    Skipped(Box<Group>),
}

/// A hash already in place at one or more destinations.
struct Group {
    /// The first destination and what it holds: the source of copies to later ones.
    first: (PathBuf, Copied),
    /// Whether the content was checked against the hash; only then may it be copied elsewhere, and only
    /// then are its destinations reported at once. A file trusted by its size alone waits here with its
    /// later destinations (`held`), since a later destination not in place makes the hash be fetched
    /// for all of them.
    verified: bool,
    held: Vec<(PathBuf, Copied)>,
    size: Option<u64>,
    /// The first place (and those held before) were reported already: at once when checked, or because
    /// there were too many to hold.
    reported: bool,
}

impl Record for Late {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.value.to_le_bytes());
        out.extend_from_slice(&self.size.map_or(u64::MAX, |s| s).to_le_bytes());
        out.push(u8::from(self.replaced));
        encode_path(&self.first, out);
        encode_path(&self.destination, out);
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let value = u128::from_le_bytes(bytes.get(..16)?.try_into().ok()?);
        let size = u64::from_le_bytes(bytes.get(16..24)?.try_into().ok()?);
        let replaced = *bytes.get(24)? == 1;
        let (first, rest) = decode_path(&bytes[25..])?;
        let (destination, _) = decode_path(rest)?;
        Some(Late {
            value,
            first: Rc::from(first.as_path()),
            destination,
            size: (size != u64::MAX).then_some(size),
            replaced,
        })
    }
}

/// What planning leaves for the report.
pub(super) struct Planned {
    /// On disk once there are many: a list may name one hash at a million places.
    pub(super) late: Spool<Late>,
    /// Files (destinations) found in place, or copied from one in place.
    pub(super) skipped: usize,
    /// Copies that failed while planning (each reported).
    pub(super) failed: usize,
    /// Bytes written by local copies made while planning.
    pub(super) bytes: u64,
    /// Of the skipped files, those copied over a local file with other content.
    pub(super) replaced: usize,
}

/// Builds requests from the list's hashes and destinations.
pub(super) struct Planner<'a> {
    out: &'a Path,
    how: SkipExisting,
    reporter: &'a Reporter,
    /// Where the replaced files are named.
    notes: &'a Progress,
    /// Whether skipped files need their SHA-256 (for `--json` and `--checksums`).
    sha256: bool,
    /// Plan only: nothing is copied either.
    dry_run: bool,
    /// The request being filled, and how many destinations it has.
    pending: Vec<Wanted>,
    pending_files: usize,
    /// The most recent hashes, and the order they came in, oldest first.
    recent: ValueMap<Slot>,
    order: VecDeque<u128>,
    late: Spool<Late>,
    skipped: usize,
    failed: usize,
    bytes: u64,
    replaced: usize,
    /// The directory of the last destination looked at, and whether it existed: a directory that did
    /// not holds nothing in place, which saves a look at each of its files.
    last_dir: Option<(PathBuf, bool)>,
    /// Only hashes of this shard are planned; the others are no business of this run.
    pub(super) shard: Option<Shard>,
}

impl<'a> Planner<'a> {
    /// A planner writing below `out`, deciding skips by `how`, reporting skipped files to `reporter`
    /// (and the local files it replaces to `notes` too).
    pub(super) fn new(
        out: &'a Path,
        how: SkipExisting,
        reporter: &'a Reporter,
        notes: &'a Progress,
        dry_run: bool,
    ) -> Self {
        Planner {
            out,
            how,
            reporter,
            notes,
            sha256: reporter.wants_sha256(),
            dry_run,
            pending: Vec::new(),
            pending_files: 0,
            // Sized once: growing would hold the old table and the new one at the same time.
            recent: ValueMap::with_capacity_and_hasher(WINDOW + 1, ValueState::default()),
            order: VecDeque::with_capacity(WINDOW + 1),
            late: Spool::default(),
            skipped: 0,
            failed: 0,
            bytes: 0,
            replaced: 0,
            last_dir: None,
            shard: None,
        }
    }

    /// Adds one file of the list.
    pub(super) fn add(&mut self, entry: Entry) -> Result<()> {
        let Entry {
            value,
            destination,
            size,
        } = entry;
        if self.shard.is_some_and(|shard| !shard.keeps(value)) {
            return Ok(());
        }
        if self.recent.contains_key(&value) {
            return self.add_destination(value, destination);
        }
        let slot = match self.look(&destination, value, size) {
            Found::InPlace(copied) => {
                let verified = self.how == SkipExisting::Hash;
                let group = Group {
                    first: (destination, copied),
                    verified,
                    held: Vec::new(),
                    size,
                    // A checked file is reported at once, just below.
                    reported: verified,
                };
                if verified {
                    self.report_skipped(&group.first.0, &copied, false)?;
                }
                Slot::Skipped(Box::new(group))
            }
            found => {
                let other = matches!(found, Found::Other);
                self.pending
                    .push(Wanted::new(value, destination, size, other));
                self.pending_files += 1;
                Slot::Pending(self.pending.len() - 1)
            }
        };
        self.remember(value, slot)
    }

    /// Adds another destination for a recent hash.
    fn add_destination(&mut self, value: u128, destination: PathBuf) -> Result<()> {
        let (verified, size) = match self.recent.get(&value) {
            None => return Ok(()),
            Some(&Slot::Pending(index)) => return self.add_to_pending(index, destination),
            Some(Slot::Dispatched { first, size }) => {
                let (first, size) = (first.clone(), *size);
                return self.add_late(value, first, destination, size);
            }
            Some(Slot::Skipped(group)) => (group.verified, group.size),
        };
        let found = self.look(&destination, value, size);
        let other = matches!(found, Found::Other);
        match found {
            Found::InPlace(copied) if verified => self.report_skipped(&destination, &copied, false),
            Found::InPlace(copied) => {
                let Some(Slot::Skipped(group)) = self.recent.get_mut(&value) else {
                    return Ok(());
                };
                group.held.push((destination, copied));
                if group.held.len() < HELD_MOST {
                    return Ok(());
                }
                let mut places = std::mem::take(&mut group.held);
                if !std::mem::replace(&mut group.reported, true) {
                    places.insert(0, group.first.clone());
                }
                for (path, copied) in &places {
                    self.report_skipped(path, copied, false)?;
                }
                Ok(())
            }
            _ if verified => {
                let Some(Slot::Skipped(group)) = self.recent.get(&value) else {
                    return Ok(());
                };
                let (source, copied) = (group.first.0.clone(), group.first.1);
                if !self.dry_run
                    && let Err(err) = self.copy(&source, &destination)
                {
                    // Reported here, as nothing else will: the run ends with the error.
                    self.failed += 1;
                    let message = format!("{err:#}");
                    self.reporter.file(FileReport {
                        hash: Some(value),
                        path: &destination,
                        bytes: None,
                        sha256: None,
                        status: Status::Failed,
                        error: Some(&message),
                    })?;
                    return Err(err);
                }
                self.bytes += copied.bytes;
                self.report_skipped(&destination, &copied, other)
            }
            // Trusted by size only, so never copied: the hash is fetched for every destination,
            // as it would have been had they all come at once.
            _ => {
                let Some(Slot::Skipped(group)) = self.recent.remove(&value) else {
                    return Ok(());
                };
                // The places reported already stay as they were.
                let mut destinations = Vec::new();
                if !group.reported {
                    destinations.push(group.first.0);
                }
                destinations.extend(group.held.into_iter().map(|(path, _)| path));
                destinations.push(destination);
                self.pending_files += destinations.len();
                // Only the last was not in place; the others were trusted by their size.
                let replaced = if other {
                    vec![destinations.len() - 1]
                } else {
                    Vec::new()
                };
                self.pending.push(Wanted {
                    value,
                    destinations,
                    size: group.size,
                    replaced,
                });
                self.recent
                    .insert(value, Slot::Pending(self.pending.len() - 1));
                Ok(())
            }
        }
    }

    /// Adds a destination to the hash at `index` of the request being filled.
    fn add_to_pending(&mut self, index: usize, destination: PathBuf) -> Result<()> {
        let Wanted { value, size, .. } = self.pending[index];
        match self.look(&destination, value, size) {
            // A checked copy is at hand: the hash needs no request at all.
            Found::InPlace(copied) if self.how == SkipExisting::Hash => {
                let wanted = self.unqueue(index);
                self.skip_with_copies(wanted, destination, copied)
            }
            found => {
                let other = matches!(found, Found::Other);
                self.pending[index].add(destination, other);
                self.pending_files += 1;
                Ok(())
            }
        }
    }

    /// Adds a destination for a hash already handed to a worker: filled from its first destination
    /// after the fetch, unless it is in place already.
    fn add_late(
        &mut self,
        value: u128,
        first: Rc<Path>,
        destination: PathBuf,
        size: Option<u64>,
    ) -> Result<()> {
        let found = self.look(&destination, value, size);
        // Checked, it stays as it is; trusted by its size, it gets the fetched content as the others
        // of its hash do.
        if let Found::InPlace(copied) = &found
            && self.how == SkipExisting::Hash
        {
            return self.report_skipped(&destination, copied, false);
        }
        let late = Late {
            value,
            first,
            destination,
            size,
            replaced: matches!(found, Found::Other),
        };
        self.late.push(&late);
        Ok(())
    }

    /// How many files (destinations) the request being filled holds.
    pub(super) fn pending_len(&self) -> usize {
        self.pending_files
    }

    /// Takes the request being filled, to hand to the workers.
    pub(super) fn dispatch(&mut self) -> Vec<Wanted> {
        let pending = std::mem::take(&mut self.pending);
        self.pending_files = 0;
        for wanted in &pending {
            let slot = Slot::Dispatched {
                first: Rc::from(wanted.destinations[0].as_path()),
                size: wanted.size,
            };
            self.recent.insert(wanted.value, slot);
        }
        pending
    }

    /// What is left for the report once the list has ended (or planning stopped); reports the files
    /// still held.
    pub(super) fn finish(mut self) -> Result<Planned> {
        for (_, slot) in std::mem::take(&mut self.recent) {
            self.forget(slot)?;
        }
        Ok(Planned {
            late: self.late,
            skipped: self.skipped,
            failed: self.failed,
            bytes: self.bytes,
            replaced: self.replaced,
        })
    }

    /// Remembers `value` as the newest hash, forgetting the oldest beyond [`WINDOW`].
    fn remember(&mut self, value: u128, slot: Slot) -> Result<()> {
        self.recent.insert(value, slot);
        self.order.push_back(value);
        while self.recent.len() > WINDOW {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            match self.recent.remove(&oldest) {
                // Still being filled (it came back after a skip): it stays, as the newest.
                Some(slot @ Slot::Pending(_)) => {
                    self.recent.insert(oldest, slot);
                    self.order.push_back(oldest);
                }
                Some(slot) => self.forget(slot)?,
                None => {}
            }
        }
        Ok(())
    }

    /// Lets go of a hash: files held are reported now.
    fn forget(&mut self, slot: Slot) -> Result<()> {
        if let Slot::Skipped(group) = slot
            && !group.verified
        {
            if !group.reported {
                self.report_skipped(&group.first.0, &group.first.1, false)?;
            }
            for (path, copied) in &group.held {
                self.report_skipped(path, copied, false)?;
            }
        }
        Ok(())
    }

    /// Reports a file in place (and counts it); `replaced` when it was copied over a local file with
    /// other content.
    fn report_skipped(&mut self, path: &Path, copied: &Copied, replaced: bool) -> Result<()> {
        self.skipped += 1;
        if replaced {
            self.replaced += 1;
            self.notes
                .note(super::replaced_line(self.out, path, self.dry_run));
        }
        let file = FileReport {
            hash: Some(copied.hash),
            path,
            bytes: Some(copied.bytes),
            sha256: copied.sha256.as_ref(),
            status: Status::Skipped,
            error: None,
        };
        self.reporter.placed(file, replaced)
    }

    /// Copies a file in place to another destination, checking again (at the moment of writing, as
    /// unpacking does) that no link inside the output directory leads the copy out of it.
    fn copy(&mut self, source: &Path, destination: &Path) -> Result<()> {
        // A fresh guard, not one that remembers directories: a link may have been planted since.
        Confined::new(self.out).check(destination)?;
        copy_published(&self.out.join(source), &self.out.join(destination))
    }

    /// Removes the pending request entry at `index`, keeping the other indexes right.
    fn unqueue(&mut self, index: usize) -> Wanted {
        let wanted = self.pending.swap_remove(index);
        self.pending_files -= wanted.destinations.len();
        if let Some(moved) = self.pending.get(index) {
            self.recent.insert(moved.value, Slot::Pending(index));
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
            for at in 0..wanted.destinations.len() {
                if let Err(err) = self.copy(&source, &wanted.destinations[at]) {
                    wanted.add(source, false);
                    let slot = Slot::Pending(self.pending.len());
                    self.recent.insert(wanted.value, slot);
                    self.pending_files += wanted.destinations.len();
                    self.pending.push(wanted);
                    return Err(err);
                }
            }
        }
        self.report_skipped(&source, &found, false)?;
        for (at, destination) in wanted.destinations.iter().enumerate() {
            self.bytes += found.bytes;
            self.report_skipped(destination, &found, wanted.replaces(at))?;
        }
        let group = Group {
            first: (source, found),
            verified: true,
            held: Vec::new(),
            size: wanted.size,
            reported: true,
        };
        self.recent
            .insert(wanted.value, Slot::Skipped(Box::new(group)));
        Ok(())
    }

    /// What the file at `destination` holds, as the chosen check for `value` (of `size`, when the list
    /// said) finds it.
    fn look(&mut self, destination: &Path, value: u128, size: Option<u64>) -> Found {
        if self.how == SkipExisting::Never || !self.directory_exists(destination) {
            return Found::Nothing;
        }
        let path = self.out.join(destination);
        // Not followed: a link is replaced by the file, never trusted or read through.
        let Some(meta) = std::fs::symlink_metadata(&path)
            .ok()
            .filter(|meta| meta.is_file())
        else {
            return Found::Nothing;
        };
        let hashed = |sha256| match hash_file(&path, sha256) {
            Ok(copied) if copied.hash == value => Found::InPlace(copied),
            Ok(_) => Found::Other,
            Err(_) => Found::Nothing,
        };
        match self.how {
            SkipExisting::Never => Found::Nothing,
            // A listing gives sizes to compare; a hash list does not, and then the cheap check is
            // presence: only the empty file may be empty.
            SkipExisting::Size => match size {
                Some(size) if meta.len() != size => Found::Other,
                None if (meta.len() == 0) != (value == empty_hash()) => Found::Other,
                _ if !self.sha256 => Found::InPlace(Copied {
                    bytes: meta.len(),
                    hash: value,
                    sha256: None,
                }),
                // Read anyway for the SHA-256 that was asked for; so its hash is known, and a file
                // that turns out wrong is fetched again rather than reported with a wrong checksum.
                _ => hashed(true),
            },
            SkipExisting::Hash => hashed(self.sha256),
        }
    }

    /// Whether the directory that `destination` goes in exists. Asked once for a run of destinations in
    /// one directory: a directory found missing is made only by this run's own workers, for files of
    /// this list, none of which can be one planned later (each path comes once).
    fn directory_exists(&mut self, destination: &Path) -> bool {
        // By bytes: destinations are clean relative paths, and `Path::parent` parses components.
        let bytes = destination.as_os_str().as_encoded_bytes();
        let cut = bytes.iter().rposition(|&b| b == b'/').unwrap_or(0);
        if let Some((last, exists)) = &self.last_dir
            && last.as_os_str().as_encoded_bytes() == &bytes[..cut]
        {
            return *exists;
        }
        let dir = destination.parent().unwrap_or(Path::new(""));
        let exists = std::fs::symlink_metadata(self.out.join(dir)).is_ok_and(|m| m.is_dir());
        self.last_dir = Some((dir.to_path_buf(), exists));
        exists
    }
}

fn empty_hash() -> u128 {
    xxhash_rust::xxh3::xxh3_128(b"")
}
