//! `--cache-dir`: a content-addressed store of verified files, shared by every run, output directory and
//! repository on the machine.
//!
//! Layout: `DIR/ab/cd/abcd…`, the content's XXH3-128 as 32 hex digits, fanned out by its first four so
//! that no directory grows huge. An entry appears only by renaming a complete file into place (the temp
//! file beside it is locked while written, as every oxdl temp file is), so a reader never sees part of
//! one, and two runs inserting the same content only replace equal bytes. Entries are read-only; their
//! modification time is the last time a run used them, which is what `prune` evicts by.
//!
//! What the cache holds is trusted no further than a file on disk: unless `--trust-cache`, the bytes put in
//! place are hashed before they are published, and an entry that fails is removed and fetched again.

use std::fs::File;
use std::io::{ErrorKind, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::SystemTime;

use anyhow::Result;

use crate::disk::fsio::{PendingFile, TEMP_PREFIX, TEMP_SUFFIX, create_dirs, sweep_stale};
use crate::error::{Kind, KindContext, fail};
use crate::transfer::{Copied, hash_reader};

/// Marks the directory as a cache for backup tools (https://bford.info/cachedir/).
const TAG_NAME: &str = "CACHEDIR.TAG";
const TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
                   # This file is a cache directory tag created by oxdl (--cache-dir).\n\
                   # Its files can be fetched again; `oxdl cache prune` bounds its size.\n";

/// How a file from the cache is put in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Link {
    /// A copy-on-write clone (FICLONE on Linux) where the filesystem supports it, else a copy.
    Reflink,
    /// Always a copy of the bytes.
    Copy,
    /// A hard link to the cache entry (a copy across filesystems).
    Hard,
}

/// The cache of one run.
#[derive(Debug)]
pub(crate) struct Cache {
    dir: PathBuf,
    link: Link,
    /// Place entries without hashing them.
    trust: bool,
    /// A warning about the cache was shown: a cache that cannot be written costs one line, not one a file.
    warned: AtomicBool,
    /// The cache directory has its tag.
    tagged: AtomicBool,
}

impl Cache {
    /// The cache in `dir`, placing files as `link` says and, with `trust`, without hashing them. Nothing
    /// is created until a file goes in.
    pub(crate) fn new(dir: PathBuf, link: Link, trust: bool) -> Cache {
        Cache {
            dir,
            link,
            trust,
            warned: AtomicBool::new(false),
            tagged: AtomicBool::new(false),
        }
    }

    /// The cache's directory, for messages.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Puts the content `value` at each of `targets` from the cache and returns what was written; `None`
    /// when the cache does not hold it, or held a damaged copy (removed, so that the download replaces
    /// it). Fails only when a target cannot be written.
    pub(crate) fn place(
        &self,
        value: u128,
        targets: &[PathBuf],
        sha256: bool,
        note: &dyn Fn(String),
    ) -> Result<Option<Copied>> {
        let Some((first, others)) = targets.split_first() else {
            return Ok(None);
        };
        let entry = self.entry(value);
        let source = match File::open(&entry) {
            Ok(file) => file,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                self.warn(note, format!("cannot read {}: {err}", entry.display()));
                return Ok(None);
            }
        };
        let check = if self.trust {
            Check::Trust { value, sha256 }
        } else {
            Check::Hash { value, sha256 }
        };
        let Some(copied) = put(&source, &entry, first, self.link, check, false)? else {
            // Removed, not repaired: the download puts the right bytes in, and a hard-linked output
            // that was edited keeps its edits.
            let _ = std::fs::remove_file(&entry);
            note(format!(
                "oxdl: warning: the cache's copy of {value:x} ({}) is damaged; removed, fetching the file again",
                entry.display()
            ));
            return Ok(None);
        };
        // Used now: the last to be evicted.
        let _ = source.set_modified(SystemTime::now());
        // The other destinations come from the first, checked above, as downloaded files do.
        if !others.is_empty() {
            let published = File::open(first)
                .kind_context(Kind::Other, format_args!("cannot read {}", first.display()))?;
            for target in others {
                put(
                    &published,
                    first,
                    target,
                    self.link,
                    Check::Known(copied),
                    false,
                )?;
            }
        }
        Ok(Some(copied))
    }

    /// For `get`: puts the content `value` at `path` from the cache, if it holds it; the copy, and the
    /// revision to report (the commit of `pinned`, the metadata's resolved resource, as no download
    /// names one).
    pub(crate) fn get(
        &self,
        value: u128,
        pinned: Option<&str>,
        path: &Path,
        sha256: bool,
        note: &dyn Fn(String),
    ) -> Result<Option<(Copied, Option<String>)>> {
        let Some(copied) = self.place(value, &[path.to_path_buf()], sha256, note)? else {
            return Ok(None);
        };
        let revision = pinned.map(|pinned| pinned.split('/').next().unwrap_or(pinned).to_string());
        note(format!(
            "{}: {} bytes from the cache in {}, revision {}",
            path.display(),
            copied.bytes,
            self.dir.display(),
            revision
                .as_deref()
                .unwrap_or("unknown (the server did not say)")
        ));
        Ok(Some((copied, revision)))
    }

    /// Adds the verified file at `path` as the content `value`, unless the cache holds it already. A
    /// failure never fails the download: it is a warning, once a run.
    pub(crate) fn insert(&self, path: &Path, value: u128, note: &dyn Fn(String)) {
        let entry = self.entry(value);
        if let Ok(existing) = File::open(&entry) {
            let _ = existing.set_modified(SystemTime::now());
            return;
        }
        let inserted = File::open(path)
            .kind_context(Kind::Other, format_args!("cannot read {}", path.display()))
            .and_then(|source| {
                put(
                    &source,
                    path,
                    &entry,
                    self.link,
                    Check::Trust {
                        value,
                        sha256: false,
                    },
                    true,
                )
            });
        match inserted {
            Ok(_) => self.tag(),
            Err(err) => self.warn(note, format!("{err:#}")),
        }
    }

    /// Where the entry for `value` is.
    fn entry(&self, value: u128) -> PathBuf {
        let name = format!("{value:032x}");
        self.dir.join(&name[..2]).join(&name[2..4]).join(name)
    }

    /// Writes the cache directory's tag once, if it has none.
    fn tag(&self) {
        if !self.tagged.swap(true, Ordering::Relaxed) {
            let path = self.dir.join(TAG_NAME);
            if !path.exists() {
                let _ = std::fs::write(path, TAG);
            }
        }
    }

    fn warn(&self, note: &dyn Fn(String), why: String) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            note(format!(
                "oxdl: warning: the cache in {} cannot be used fully ({why}); downloads go on",
                self.dir.display()
            ));
        }
    }
}

/// What to make sure of before a copy is published.
#[derive(Clone, Copy)]
enum Check {
    /// Hash the copy and publish it only if it is `value`.
    Hash { value: u128, sha256: bool },
    /// Take the copy for `value` unread, unless its SHA-256 is wanted (then it is read anyway, and checked
    /// since that costs nothing more).
    Trust { value: u128, sha256: bool },
    /// The source was checked just now and this is what it holds.
    Known(Copied),
}

/// Publishes a copy of `source` (at `source_path`) at `target`, made as `how` says; `read_only` for cache
/// entries. Returns what the copy holds, or `None` when it failed its check (nothing is then published).
fn put(
    source: &File,
    source_path: &Path,
    target: &Path,
    how: Link,
    check: Check,
    read_only: bool,
) -> Result<Option<Copied>> {
    if how == Link::Hard
        && let Some(done) = put_hard_link(source_path, target, check, read_only)?
    {
        return Ok(done);
    }
    let mut pending = PendingFile::create(target)?;
    let copy_failed = |err: std::io::Error| {
        fail(
            Kind::Other,
            format!(
                "cannot copy {} to {}: {err}",
                source_path.display(),
                target.display()
            ),
        )
    };
    let mut reader = source;
    reader.seek(SeekFrom::Start(0)).map_err(copy_failed)?;
    if !(how == Link::Reflink && reflink(source, pending.file())) {
        std::io::copy(&mut reader, pending.file()).map_err(copy_failed)?;
    }
    let Some(copied) = checked(pending.file(), check).map_err(copy_failed)? else {
        return Ok(None);
    };
    if read_only {
        make_read_only(pending.file());
    }
    pending.publish()?;
    Ok(Some(copied))
}

/// Publishes a hard link to `source_path` at `target`, through a temp name and a rename; `None` when no
/// link can be made there (another filesystem, say), so that the caller copies instead.
fn put_hard_link(
    source_path: &Path,
    target: &Path,
    check: Check,
    read_only: bool,
) -> Result<Option<Option<Copied>>> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    create_dirs(dir)?;
    // Named as oxdl's temp files are, so that one left by a killed run is swept like them.
    let temp = dir.join(format!(
        "{TEMP_PREFIX}{}-link{}{TEMP_SUFFIX}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    if std::fs::hard_link(source_path, &temp).is_err() {
        return Ok(None);
    }
    let remove = |result| {
        let _ = std::fs::remove_file(&temp);
        result
    };
    let file = match File::open(&temp) {
        Ok(file) => file,
        Err(_) => return remove(Ok(None)),
    };
    let copied = match checked(&file, check) {
        Ok(Some(copied)) => copied,
        Ok(None) => return remove(Ok(Some(None))),
        Err(err) => {
            let err = fail(
                Kind::Other,
                format!("cannot read {}: {err}", source_path.display()),
            );
            return remove(Err(err));
        }
    };
    if read_only {
        make_read_only(&file);
    }
    if let Err(err) = std::fs::rename(&temp, target) {
        let err = fail(
            Kind::Other,
            format!("cannot write {}: {err}", target.display()),
        );
        return remove(Err(err));
    }
    Ok(Some(Some(copied)))
}

/// What the copy in `file` holds, per `check`; `None` when it is not what it should be.
fn checked(file: &File, check: Check) -> std::io::Result<Option<Copied>> {
    let (value, sha256) = match check {
        Check::Known(copied) => return Ok(Some(copied)),
        Check::Trust {
            value,
            sha256: false,
        } => {
            let bytes = file.metadata()?.len();
            return Ok(Some(Copied {
                bytes,
                hash: value,
                sha256: None,
            }));
        }
        Check::Trust { value, sha256 } | Check::Hash { value, sha256 } => (value, sha256),
    };
    let copied = hash_open(file, sha256)?;
    Ok((copied.hash == value).then_some(copied))
}

/// The XXH3-128 (and SHA-256 when asked) of an open file's content, from its start.
fn hash_open(mut file: &File, sha256: bool) -> std::io::Result<Copied> {
    file.seek(SeekFrom::Start(0))?;
    hash_reader(file, sha256)
}

/// Makes `dest` a copy-on-write clone of `source` (both open, `dest` empty); false where the filesystem
/// cannot (ext4, tmpfs, two filesystems), and the caller copies.
#[cfg(target_os = "linux")]
fn reflink(source: &File, dest: &File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: FICLONE takes two open descriptors, both borrowed for the call, and touches no memory of
    // this process.
    unsafe { libc::ioctl(dest.as_raw_fd(), libc::FICLONE, source.as_raw_fd()) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn reflink(_source: &File, _dest: &File) -> bool {
    false
}

/// Cache entries are read-only, so that an output hard-linked to one is not edited in place by mistake.
fn make_read_only(file: &File) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o444));
    }
    #[cfg(not(unix))]
    let _ = file;
}

/// One file of the cache, for `info` and `prune`.
pub(crate) struct Entry {
    pub path: PathBuf,
    pub bytes: u64,
    pub used: SystemTime,
}

impl Cache {
    /// Every entry of the cache in `dir`; other files (the tag, temp files, anything a person put there) are
    /// not the cache's and are left alone.
    pub(crate) fn entries(dir: &Path) -> Result<Vec<Entry>> {
        let read = |dir: &Path| {
            std::fs::read_dir(dir).kind_context(
                Kind::Other,
                format_args!("cannot read the cache directory {}", dir.display()),
            )
        };
        let mut entries = Vec::new();
        for first in read(dir)?.flatten() {
            if !is_hex(&first.file_name(), 2) || !first.path().is_dir() {
                continue;
            }
            for second in read(&first.path())?.flatten() {
                if !is_hex(&second.file_name(), 2) || !second.path().is_dir() {
                    continue;
                }
                for file in read(&second.path())?.flatten() {
                    if !is_hex(&file.file_name(), 32) {
                        continue;
                    }
                    // Removed meanwhile by another run: no longer there to count.
                    let Ok(meta) = file.metadata() else { continue };
                    if meta.is_file() {
                        entries.push(Entry {
                            path: file.path(),
                            bytes: meta.len(),
                            used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                        });
                    }
                }
            }
        }
        Ok(entries)
    }

    /// Removes temp files of runs that died while inserting, and fan-out directories left empty (a run
    /// inserting into one meanwhile makes it again).
    pub(crate) fn tidy(dir: &Path) {
        let Ok(firsts) = std::fs::read_dir(dir) else {
            return;
        };
        for first in firsts.flatten() {
            if !is_hex(&first.file_name(), 2) {
                continue;
            }
            if let Ok(seconds) = std::fs::read_dir(first.path()) {
                for second in seconds.flatten() {
                    if is_hex(&second.file_name(), 2) {
                        sweep_stale(&second.path());
                        let _ = std::fs::remove_dir(second.path());
                    }
                }
            }
            let _ = std::fs::remove_dir(first.path());
        }
    }
}

fn is_hex(name: &std::ffi::OsStr, len: usize) -> bool {
    name.to_str()
        .is_some_and(|n| n.len() == len && n.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(dir: &Path, link: Link, trust: bool) -> Cache {
        Cache::new(dir.to_path_buf(), link, trust)
    }

    #[test]
    fn a_file_goes_in_and_comes_out_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let data = b"hello cache".to_vec();
        let value = xxhash_rust::xxh3::xxh3_128(&data);
        let source = tmp.path().join("out/a.txt");
        std::fs::create_dir_all(source.parent().unwrap()).unwrap();
        std::fs::write(&source, &data).unwrap();
        for link in [Link::Reflink, Link::Copy, Link::Hard] {
            let store = tmp.path().join(format!("cache-{link:?}"));
            let cache = cache(&store, link, false);
            let quiet = |_: String| {};
            assert_eq!(
                cache
                    .place(value, &[tmp.path().join("x")], false, &quiet)
                    .unwrap(),
                None
            );
            cache.insert(&source, value, &quiet);
            let entry = cache.entry(value);
            assert_eq!(std::fs::read(&entry).unwrap(), data, "{link:?}");
            assert!(store.join(TAG_NAME).exists());
            let targets = [tmp.path().join("p/one"), tmp.path().join("p/two")];
            let copied = cache.place(value, &targets, true, &quiet).unwrap().unwrap();
            assert_eq!((copied.bytes, copied.hash), (data.len() as u64, value));
            assert!(copied.sha256.is_some());
            for target in &targets {
                assert_eq!(std::fs::read(target).unwrap(), data, "{link:?}");
                std::fs::remove_file(target).unwrap();
            }
        }
    }
}
