//! Files that appear whole or not at all: a temp file beside the target, published by rename.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use anyhow::Result;
use tempfile::NamedTempFile;

use crate::error::{Kind, KindContext, local};
use crate::sync::lock;

/// Prefix of every temp file oxdl creates, so a person can tell what left it; the process id follows.
pub const TEMP_PREFIX: &str = ".oxdl-";
/// Suffix of every temp file oxdl creates.
pub const TEMP_SUFFIX: &str = ".part";
/// Prefix of a ranged download's part and state files (see `ranged`): kept across runs to resume.
pub const RESUME_PREFIX: &str = ".oxdl-resume-";
/// An unlocked resumable part (and its state) untouched for this long is swept: whoever left it has had
/// a week to run the same command again.
const RESUME_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Where the owner of a temp file cannot be checked, it counts as stale after this long.
const STALE_AGE: Duration = Duration::from_secs(24 * 3600);
/// A temp file younger than this may be between its creation and its lock.
const JUST_CREATED: Duration = Duration::from_secs(60);

/// Temp files this process has open, so a signal handler can remove them before exiting.
static LIVE: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
/// Directories already swept for stale temp files in this run (the most recent [`SWEPT_MOST`]), and the
/// order they were swept in: a tree of a million directories must not cost a million paths of memory.
static SWEPT: Mutex<(BTreeSet<PathBuf>, VecDeque<PathBuf>)> =
    Mutex::new((BTreeSet::new(), VecDeque::new()));
/// How many swept directories are remembered; one forgotten is at worst listed once more.
const SWEPT_MOST: usize = 4096;

/// Removes every temp file this process has open, says `message` on stderr if it can, and exits with
/// `code`; for signal handlers.
///
/// The lock is held until the process is gone, so no temp file can be created unrecorded meanwhile. The
/// message is written from another thread and given a moment only: stderr may be a closed or full pipe,
/// or locked by a thread blocked writing to it, and none of that may keep the process alive.
pub fn remove_temp_files_and_exit(code: i32, message: String) -> ! {
    let live = lock(&LIVE);
    for path in live.iter() {
        let _ = std::fs::remove_file(path);
    }
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = writeln!(std::io::stderr(), "{message}");
        let _ = done.send(());
    });
    let _ = wait.recv_timeout(Duration::from_millis(200));
    std::process::exit(code)
}

/// Removes temp files in `dir` left by oxdl runs that are no longer running (killed, or crashed).
pub fn sweep_stale(dir: &Path) {
    {
        let mut swept = lock(&SWEPT);
        if !swept.0.insert(dir.to_path_buf()) {
            return;
        }
        swept.1.push_back(dir.to_path_buf());
        if swept.1.len() > SWEPT_MOST
            && let Some(oldest) = swept.1.pop_front()
        {
            swept.0.remove(&oldest);
        }
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_str().is_some_and(|n| n.starts_with(RESUME_PREFIX)) {
            if is_stale_resumable(&entry) {
                let _ = std::fs::remove_file(entry.path());
            }
            continue;
        }
        let Some(owner) = name
            .to_str()
            .and_then(|n| n.strip_prefix(TEMP_PREFIX))
            .filter(|n| n.ends_with(TEMP_SUFFIX))
            .and_then(|n| n.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if is_stale(owner, &entry) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// A temp file is stale when nobody holds its lock: every oxdl holds one on its temp files while writing,
/// which tells live from dead across machines sharing a disk (NFS) and containers in other PID
/// namespaces, where a process id means nothing. A free lock on a file whose owner still runs here is
/// the instant between creating and locking it, so such a file is left alone until it is a minute old.
/// Where the filesystem has no locks, liveness falls back to /proc, then to age.
fn is_stale(owner: u32, entry: &std::fs::DirEntry) -> bool {
    if owner == std::process::id() {
        return false;
    }
    let age = age(entry);
    match lock_is_free(&entry.path()) {
        Some(true) => !runs_here(owner).unwrap_or(false) || age > JUST_CREATED,
        Some(false) => false,
        None => match runs_here(owner) {
            Some(alive) => !alive,
            None => age > STALE_AGE,
        },
    }
}

/// A resumable part or state file is kept for the next run while it is fresh: it is stale once nobody
/// holds its lock (a part being written is locked) and it has not been written for [`RESUME_AGE`].
fn is_stale_resumable(entry: &std::fs::DirEntry) -> bool {
    let age = age(entry);
    age > RESUME_AGE && lock_is_free(&entry.path()) != Some(false)
}

/// How long ago the file was last written (zero when that cannot be told).
fn age(entry: &std::fs::DirEntry) -> Duration {
    entry
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .unwrap_or(Duration::ZERO)
}

/// Whether nobody holds a lock on the file; `None` where locks cannot be had (the file is gone, or the
/// filesystem does not support them).
fn lock_is_free(path: &Path) -> Option<bool> {
    let file = File::open(path).ok()?;
    // A shared lock conflicts with the writer's exclusive one, and needs only read access (which an
    // exclusive lock over NFS would not: there flock is emulated with byte-range locks).
    match file.try_lock_shared() {
        Ok(()) => Some(true),
        Err(std::fs::TryLockError::WouldBlock) => Some(false),
        Err(std::fs::TryLockError::Error(_)) => None,
    }
}

/// Whether process `pid` runs on this machine (in this PID namespace); `None` without /proc to ask.
fn runs_here(pid: u32) -> Option<bool> {
    let proc = Path::new("/proc");
    proc.join("self")
        .exists()
        .then(|| proc.join(pid.to_string()).exists())
}

/// A file being written beside its final path; dropped unpublished, it is deleted.
pub struct PendingFile {
    // Field order matters: the temp file is deleted (when unpublished) before it leaves LIVE and
    // before the directories made for it are removed.
    temp: NamedTempFile,
    target: PathBuf,
    _live: LiveGuard,
    created: CreatedDirs,
}

impl PendingFile {
    /// Creates the temp file in the target's directory (creating that directory if needed).
    pub fn create(target: &Path) -> Result<Self> {
        let dir = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        // A directory seen before in this run exists already (it was made or swept then), which saves
        // a few system calls for each of many files in one directory.
        let seen = lock(&SWEPT).0.contains(dir);
        let mut created = if seen {
            CreatedDirs::none()
        } else {
            CreatedDirs::create(dir)?
        };
        sweep_stale(dir);
        let mut temp = create_temp(dir);
        if temp
            .as_ref()
            .is_err_and(|err| err.kind() == std::io::ErrorKind::NotFound)
        {
            // Removed meanwhile (say, by another worker's failed file that had made it): make it again.
            created = CreatedDirs::create(dir)?;
            temp = create_temp(dir);
        }
        let temp = temp.map_err(|err| {
            local(
                &err,
                format!("cannot create a file in {}: {err}", dir.display()),
            )
        })?;
        let live = LiveGuard(temp.path().to_path_buf());
        Ok(PendingFile {
            temp,
            target: target.to_path_buf(),
            _live: live,
            created,
        })
    }

    /// The open temp file.
    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// Moves the temp file onto the final path, replacing whatever was there.
    pub fn publish(self) -> Result<()> {
        let PendingFile {
            temp,
            target,
            _live,
            mut created,
        } = self;
        // Said in the user's terms, not tempfile's "failed to persist temporary file".
        if let Err(err) = temp.persist(&target) {
            let why = if target.is_dir() {
                "a directory is in the way".to_string()
            } else {
                err.error.to_string()
            };
            return Err(local(
                &err.error,
                format!("cannot write {}: {why}", target.display()),
            ));
        }
        created.keep = true;
        Ok(())
    }
}

/// Creates a temp file in `dir` and records it in [`LIVE`]; both under one lock, so that a signal
/// handler (see `remove_temp_files_and_exit`) never misses a temp file.
fn create_temp(dir: &Path) -> std::io::Result<NamedTempFile> {
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let prefix = PREFIX.get_or_init(|| format!("{TEMP_PREFIX}{}-", std::process::id()));
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix).suffix(TEMP_SUFFIX);
    // Published files get the usual 0666-minus-umask mode, not the temp file's private 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut live = lock(&LIVE);
    let temp = builder.tempfile_in(dir)?;
    // Held until the file is published or deleted, so that no other run takes it for stale. A
    // filesystem without locks only loses that protection.
    let _ = temp.as_file().lock();
    live.insert(temp.path().to_path_buf());
    Ok(temp)
}

/// Directories created for a file, removed again (when still empty) if the file is never published.
struct CreatedDirs {
    /// Deepest first.
    dirs: Vec<PathBuf>,
    keep: bool,
}

impl CreatedDirs {
    fn none() -> Self {
        CreatedDirs {
            dirs: Vec::new(),
            keep: true,
        }
    }

    fn create(dir: &Path) -> Result<Self> {
        let dirs: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
            .map(Path::to_path_buf)
            .collect();
        create_dirs(dir)?;
        Ok(CreatedDirs { dirs, keep: false })
    }
}

impl Drop for CreatedDirs {
    fn drop(&mut self) {
        if !self.keep {
            for dir in &self.dirs {
                // Fails, as it should, where another file has been put there meanwhile.
                if std::fs::remove_dir(dir).is_err() {
                    break;
                }
            }
        }
    }
}

/// Creates `dir` and its missing parents, saying which path is in the way when one is a file.
pub(crate) fn create_dirs(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|err| {
        let message = match dir.ancestors().find(|d| d.is_file()) {
            Some(file) => format!(
                "cannot create directory {}: {} is a file, not a directory",
                dir.display(),
                file.display()
            ),
            None => format!("cannot create directory {}: {err}", dir.display()),
        };
        local(&err, message)
    })
}

/// Takes a temp file's path out of [`LIVE`] when the file is published or deleted.
struct LiveGuard(PathBuf);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        lock(&LIVE).remove(&self.0);
    }
}

/// How many directories a [`Confined`] remembers, so that a list of a million directories takes no more
/// memory than one of a thousand.
const CHECKED_MOST: usize = 4096;

/// Guards an output directory: no destination may pass through a symbolic link inside it, since that
/// would create files wherever the link points.
pub(crate) struct Confined {
    root: PathBuf,
    /// Directories (relative to `root`) known to be real directories, or absent (oxdl makes them); at
    /// most [`CHECKED_MOST`], then forgotten (and looked at again when met again).
    checked: HashSet<PathBuf>,
    /// The parent of the last path that passed: lists come a directory at a time.
    last: PathBuf,
}

impl Confined {
    /// A guard for `root`, which itself may be a link: the user chose it.
    pub(crate) fn new(root: &Path) -> Self {
        Confined {
            root: root.to_path_buf(),
            checked: HashSet::new(),
            last: PathBuf::new(),
        }
    }

    /// [`Confined::check`] for each of `paths` below `root`, afresh: at the moment of writing, a link
    /// planted since planning must not carry a file out of the directory.
    pub(crate) fn check_all(root: &Path, paths: &[PathBuf]) -> Result<()> {
        let mut confined = Confined::new(root);
        paths.iter().try_for_each(|path| confined.check(path))
    }

    /// Fails (a usage error) when a directory on the way to `rel` is a symbolic link. The file itself may
    /// be a link: it is replaced, never written through.
    pub(crate) fn check(&mut self, rel: &Path) -> Result<()> {
        // By bytes first: lists are clean relative paths, and `Path::parent` parses components.
        let bytes = rel.as_os_str().as_encoded_bytes();
        let cut = bytes.iter().rposition(|&b| b == b'/').unwrap_or(0);
        if bytes[..cut] == *self.last.as_os_str().as_encoded_bytes() {
            return Ok(());
        }
        let Some(parent) = rel.parent() else {
            return Ok(());
        };
        if self.checked.len() > CHECKED_MOST {
            self.checked.clear();
        }
        self.check_parent(rel, parent)?;
        parent.clone_into(&mut self.last);
        Ok(())
    }

    fn check_parent(&mut self, rel: &Path, parent: &Path) -> Result<()> {
        let mut dir = PathBuf::new();
        for part in parent.components() {
            dir.push(part);
            if self.checked.contains(&dir) {
                continue;
            }
            match std::fs::symlink_metadata(self.root.join(&dir)) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(crate::error::fail(
                        Kind::Usage,
                        format!(
                            "'{}' leads through '{}', a symbolic link inside the output directory {}; \
                             oxdl never writes outside it: remove the link or choose another directory",
                            rel.display(),
                            dir.display(),
                            self.root.display()
                        ),
                    ));
                }
                Ok(meta) if meta.is_dir() => {}
                // A file in the way is reported when the directory is made; nothing exists below it.
                Ok(_) => return Ok(()),
                Err(_) => {
                    // Absent: oxdl makes it (and everything below) as a real directory.
                    self.checked.insert(dir);
                    return Ok(());
                }
            }
            self.checked.insert(dir.clone());
        }
        Ok(())
    }
}

/// Copies the published first of `destinations` (relative to `root`) to each of the others.
pub fn copy_to_the_others(root: &Path, destinations: &[PathBuf]) -> Result<()> {
    let Some((first, others)) = destinations.split_first() else {
        return Ok(());
    };
    let first = root.join(first);
    others
        .iter()
        .try_for_each(|other| copy_published(&first, &root.join(other)))
}

/// Copies a published file to another path, just as atomically.
pub fn copy_published(from: &Path, to: &Path) -> Result<()> {
    let mut pending = PendingFile::create(to)?;
    let mut source = File::open(from)
        .kind_context(Kind::Other, format_args!("cannot read {}", from.display()))?;
    std::io::copy(&mut source, pending.file())
        .map_err(|err| local(&err, format!("cannot write {}: {err}", to.display())))?;
    pending.publish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn publish_replaces_and_drop_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub/file.txt");
        let mut pending = PendingFile::create(&target).unwrap();
        pending.file().write_all(b"new").unwrap();
        pending.publish().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");

        let mut abandoned = PendingFile::create(&target).unwrap();
        abandoned.file().write_all(b"half").unwrap();
        drop(abandoned);
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(names(&dir.path().join("sub")), vec!["file.txt"]);

        // Directories made for a file that never gets published go away with it.
        drop(PendingFile::create(&dir.path().join("a/b/c.txt")).unwrap());
        assert_eq!(names(dir.path()), vec!["sub"]);

        copy_published(&target, &dir.path().join("copy.txt")).unwrap();
        assert_eq!(std::fs::read(dir.path().join("copy.txt")).unwrap(), b"new");
    }
}
