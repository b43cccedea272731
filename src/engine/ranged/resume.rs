//! What survives a run: the part file and its state file beside the target, and the registry of
//! downloads under way that the Ctrl-C handler saves.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::shared::Shared;
use super::{Intervals, Job, STATE_VERSION};
use crate::disk::fsio::{self, RESUME_PREFIX};
use crate::error::{Kind, fail, local};
use crate::sync::lock;
use crate::term::progress::Progress;

/// The state file's content.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct State {
    pub(super) oxdl_resume: u32,
    /// The commit the bytes come from, when the metadata named it.
    pub(super) commit: Option<String>,
    /// `REVISION/PATH` as requested (pinned).
    pub(super) resource: String,
    /// XXH3-128 of the whole file, as the server writes it.
    pub(super) hash: String,
    pub(super) size: u64,
    /// `[start, end)` byte intervals already in the part file.
    pub(super) done: Vec<[u64; 2]>,
}

/// The part file of one target, locked by this run.
pub(super) struct Part {
    pub(super) file: File,
    pub(super) path: PathBuf,
    pub(super) state: PathBuf,
}

impl Part {
    /// Opens (or creates) the part file beside `target` and takes its lock.
    pub(super) fn open(target: &Path) -> Result<Part> {
        let dir = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        fsio::create_dirs(dir)?;
        let (path, state) = resume_paths(target);
        // Only a regular file of ours is a part: a link planted under its name would carry the bytes
        // (and the published file) out of the directory, so it goes, and is never followed.
        if std::fs::symlink_metadata(&path).is_ok_and(|meta| !meta.is_file()) {
            let _ = std::fs::remove_file(&path);
        }
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NOFOLLOW);
        }
        let file = options.open(&path).map_err(|err| {
            local(
                &err,
                format!("cannot create a file in {}: {err}", dir.display()),
            )
        })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(fail(
                    Kind::Other,
                    format!(
                        "another oxdl is downloading {} right now (it holds {}); wait for it to \
                         finish, or write this one elsewhere",
                        target.display(),
                        path.display()
                    ),
                ));
            }
            // A filesystem without locks only loses the protection against two runs at once.
            Err(std::fs::TryLockError::Error(_)) => {}
        }
        // Only now, with the lock held, can a sweep of the directory not take this part for stale.
        fsio::sweep_stale(dir);
        Ok(Part { file, path, state })
    }

    /// What an earlier run left for this content: its intervals, or nothing (discarding a state for
    /// other content, a damaged one, or all of it when not resuming).
    pub(super) fn prior_state(&self, job: &Job, resume: bool, progress: &Progress) -> Intervals {
        if !resume {
            return Intervals::default();
        }
        let text = match std::fs::read(&self.state) {
            Ok(text) => text,
            Err(_) => return Intervals::default(),
        };
        let size = job.meta.size;
        let parsed: Option<State> = serde_json::from_slice(&text).ok();
        let on_disk = self.file.metadata().map(|m| m.len()).unwrap_or(0);
        let why = match parsed {
            None => "its state file is damaged",
            Some(state)
                if state.oxdl_resume != STATE_VERSION
                    || u128::from_str_radix(&state.hash, 16).ok() != Some(job.meta.hash)
                    || state.size != size =>
            {
                "it was for other content"
            }
            Some(_) if on_disk != size => "its part file has the wrong size",
            Some(state) => match Intervals::from_pairs(&state.done, size) {
                Some(done) => return done,
                None => "its state file is damaged",
            },
        };
        progress.note(format!(
            "oxdl: discarded an unfinished download of {}: {why}",
            job.target.display()
        ));
        Intervals::default()
    }
}

/// The part and state file names of `target`: the target's name after a fixed prefix, so a person
/// can tell what they are and the next run finds them; a hash of the name when it is too long.
pub(super) fn resume_paths(target: &Path) -> (PathBuf, PathBuf) {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = if name.len() > 200 {
        format!("{:016x}", xxhash_rust::xxh3::xxh3_64(name.as_bytes()))
    } else {
        name
    };
    let dir = target.parent().unwrap_or(Path::new(""));
    (
        dir.join(format!("{RESUME_PREFIX}{name}.part")),
        dir.join(format!("{RESUME_PREFIX}{name}.state")),
    )
}

/// A download in progress, known to the Ctrl-C handler so that it can save the latest state.
pub(super) struct Registered {
    pub(super) part: PathBuf,
    pub(super) state_path: PathBuf,
    pub(super) header: State,
    pub(super) shared: Arc<Shared>,
    /// Set once the save failed and was reported, so a full disk is said once.
    pub(super) save_failed: AtomicBool,
    /// Held while the state is written (the hasher and the Ctrl-C handler share one temp file name),
    /// and while the part is published or discarded; true from then on, when no state is written again.
    pub(super) writing: Mutex<bool>,
}

/// Downloads under way, for [`keep_for_resume`].
pub(super) static ACTIVE: Mutex<Vec<Arc<Registered>>> = Mutex::new(Vec::new());

/// Saves the state of every ranged download under way and returns their part files: for the signal
/// handler, which removes other temp files but keeps these for the next run.
pub(crate) fn keep_for_resume() -> Vec<PathBuf> {
    let active = lock(&ACTIVE);
    let deadline = std::time::Instant::now() + KEEP_WITHIN;
    let mut kept = Vec::new();
    for download in active.iter() {
        // Never waits long on a writer stuck in the filesystem: its last complete state stays.
        let writing = loop {
            match download.writing.try_lock() {
                Ok(guard) => break Some(guard),
                Err(std::sync::TryLockError::Poisoned(poisoned)) => {
                    break Some(poisoned.into_inner());
                }
                Err(std::sync::TryLockError::WouldBlock)
                    if std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(std::sync::TryLockError::WouldBlock) => break None,
            }
        };
        match writing {
            // Published or discarded: nothing left to keep.
            Some(finished) if *finished => continue,
            Some(_writing) => {
                let _ = download.write_state_held();
            }
            None => {}
        }
        kept.push(download.part.clone());
    }
    kept
}

/// How long the Ctrl-C handler waits for state writes under way before it exits.
const KEEP_WITHIN: std::time::Duration = std::time::Duration::from_millis(200);

/// Registration in [`ACTIVE`], removed on drop.
pub(super) struct RegisteredGuard(Arc<Registered>);

impl std::ops::Deref for RegisteredGuard {
    type Target = Registered;

    fn deref(&self) -> &Registered {
        &self.0
    }
}

impl Drop for RegisteredGuard {
    fn drop(&mut self) {
        lock(&ACTIVE).retain(|d| !Arc::ptr_eq(d, &self.0));
    }
}

impl Registered {
    pub(super) fn register(part: &Part, job: &Job, shared: &Arc<Shared>) -> RegisteredGuard {
        let commit = job
            .resource
            .split_once('/')
            .map(|(c, _)| c)
            .filter(|c| c.len() >= 32 && c.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_string);
        let registered = Arc::new(Registered {
            part: part.path.clone(),
            state_path: part.state.clone(),
            header: State {
                oxdl_resume: STATE_VERSION,
                commit,
                resource: job.resource.to_string(),
                hash: format!("{:x}", job.meta.hash),
                size: job.meta.size,
                done: Vec::new(),
            },
            shared: shared.clone(),
            save_failed: AtomicBool::new(false),
            writing: Mutex::new(false),
        });
        lock(&ACTIVE).push(registered.clone());
        RegisteredGuard(registered)
    }

    /// Writes the state atomically: a temp file renamed over the old state. One writer at a time, each
    /// taking its snapshot once it writes, so a later save never puts back an older record.
    pub(super) fn write_state(&self) -> std::io::Result<()> {
        let finished = lock(&self.writing);
        if *finished {
            return Ok(());
        }
        self.write_state_held()
    }

    /// [`Registered::write_state`] for a caller that holds `writing`.
    fn write_state_held(&self) -> std::io::Result<()> {
        let done = self.shared.snapshot().pairs();
        let state = State {
            oxdl_resume: STATE_VERSION,
            commit: self.header.commit.clone(),
            resource: self.header.resource.clone(),
            hash: self.header.hash.clone(),
            size: self.header.size,
            done,
        };
        let text = serde_json::to_vec(&state).map_err(std::io::Error::other)?;
        let temp = self.state_path.with_extension("state.new");
        // Made afresh, never through anything (a link, say) already under its name; the rename then
        // replaces whatever is at the state's name without following it.
        match std::fs::remove_file(&temp) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        std::io::Write::write_all(&mut file, &text)?;
        drop(file);
        std::fs::rename(&temp, &self.state_path)
    }

    /// Writes the state, saying once if it cannot.
    pub(super) fn save(&self, progress: &Progress) {
        if let Err(err) = self.write_state()
            && !self.save_failed.swap(true, Ordering::Relaxed)
        {
            progress.note(format!(
                "oxdl: warning: cannot save the progress of {} in {}: {err}; an interrupted download \
                 will start over",
                self.part.display(),
                self.state_path.display()
            ));
        }
    }

    /// Moves the verified part onto the target and removes the state.
    pub(super) fn publish(&self, target: &Path) -> Result<()> {
        let mut finished = lock(&self.writing);
        *finished = true;
        if let Err(err) = std::fs::rename(&self.part, target) {
            // Still there to resume from.
            *finished = false;
            let why = if target.is_dir() {
                "a directory is in the way".to_string()
            } else {
                err.to_string()
            };
            return Err(local(
                &err,
                format!("cannot write {}: {why}", target.display()),
            ));
        }
        self.remove_state();
        Ok(())
    }

    /// Removes part and state: their bytes are of no use.
    pub(super) fn discard(&self) {
        *lock(&self.writing) = true;
        let _ = std::fs::remove_file(&self.part);
        self.remove_state();
    }

    pub(super) fn remove_state(&self) {
        let _ = std::fs::remove_file(&self.state_path);
        let _ = std::fs::remove_file(self.state_path.with_extension("state.new"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_files_sit_beside_the_target_under_its_name() {
        let (part, state) = resume_paths(Path::new("out/big.bin"));
        assert_eq!(part, Path::new("out/.oxdl-resume-big.bin.part"));
        assert_eq!(state, Path::new("out/.oxdl-resume-big.bin.state"));
        let long = "x".repeat(250);
        let (part, _) = resume_paths(Path::new(&long));
        assert!(part.to_string_lossy().len() < 60, "{}", part.display());
    }
}
