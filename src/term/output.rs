//! Where a user-named output goes: a regular file is replaced atomically; a device, FIFO, socket or open
//! descriptor (`/dev/null`, `>(cmd)`, `/dev/stdout`) is written straight through, as `curl -o` does.

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};

use anyhow::Result;

use crate::error::{Kind, fail};

/// How many symbolic links are followed before giving up, as the kernel's own limit.
const MAX_LINKS: usize = 40;

/// An output, resolved.
pub(crate) enum Output {
    /// A regular file, or none yet: written beside this path and renamed onto it. A symbolic link has
    /// been followed to the file it names, so the link itself stays a link.
    Replace(PathBuf),
    /// Anything else that can be written: bytes go straight in, so they cannot be taken back.
    Through(Stream),
}

/// An open special file or descriptor, and its name for messages.
pub(crate) struct Stream {
    pub(crate) file: File,
    pub(crate) name: String,
}

/// Resolves `path` as an output: which file to replace, or what to write straight through.
pub(crate) fn resolve(path: &Path) -> Result<Output> {
    let shown = path.display().to_string();
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        if let Some(fd) = descriptor_alias(&current) {
            if fd == 1 && stdout_was_closed() {
                return Err(fail(
                    Kind::Other,
                    format!("cannot write {shown}: stdout was closed when oxdl started"),
                ));
            }
            return Ok(Output::Through(Stream {
                file: duplicate(fd, &shown)?,
                name: shown,
            }));
        }
        let meta = match std::fs::symlink_metadata(&current) {
            Ok(meta) => meta,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Output::Replace(current)),
            Err(err) => return Err(cannot_write(&shown, &err)),
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            let link = std::fs::read_link(&current).map_err(|err| cannot_write(&shown, &err))?;
            current = match current.parent() {
                Some(parent) if link.is_relative() => parent.join(link),
                _ => link,
            };
            continue;
        }
        if kind.is_file() {
            return Ok(Output::Replace(current));
        }
        if kind.is_dir() {
            return Err(fail(
                Kind::Usage,
                format!("cannot write {shown}: it is a directory"),
            ));
        }
        // A device, FIFO or socket: opening a FIFO waits for its reader, as it should.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|err| cannot_write(&shown, &err))?;
        return Ok(Output::Through(Stream { file, name: shown }));
    }
    Err(fail(
        Kind::Usage,
        format!("cannot write {shown}: too many levels of symbolic links"),
    ))
}

/// Standard output as a file of its own, so that a closed descriptor is an error rather than bytes
/// silently dropped (Rust's `stdout()` pretends to write to a closed descriptor).
pub(crate) fn stdout() -> Result<Stream> {
    if stdout_was_closed() {
        return Err(fail(
            Kind::Other,
            "cannot write stdout: it was closed when oxdl started",
        ));
    }
    Ok(Stream {
        file: duplicate(1, "stdout")?,
        name: "stdout".to_string(),
    })
}

/// Fails when standard output is closed (`>&-`), for commands whose output is their result.
pub(crate) fn require_stdout(why: &str) -> Result<()> {
    stdout().map(drop).map_err(|_| {
        fail(
            Kind::Other,
            format!("standard output is closed, but {why} writes to it"),
        )
    })
}

/// What was found of stdout before Rust's runtime started: 0 not looked, 1 open, 2 closed.
static STDOUT_AT_START: AtomicU8 = AtomicU8::new(0);

/// Records whether stdout is open; for the binary to call before Rust's runtime starts, because the
/// runtime then opens /dev/null in place of a closed stdout, and writes to it would vanish unseen.
pub fn record_stdout_at_start() {
    let open = duplicate(1, "stdout").is_ok();
    STDOUT_AT_START.store(if open { 1 } else { 2 }, Ordering::Relaxed);
}

/// Whether stdout was closed when the process started (`>&-`).
fn stdout_was_closed() -> bool {
    STDOUT_AT_START.load(Ordering::Relaxed) == 2
}

/// The descriptor a path stands for when it names one of this process's own (`/dev/stdout`,
/// `/dev/fd/N`, `/proc/self/fd/N`): writing through a copy of it keeps its offset and append mode, which
/// reopening the path would lose.
fn descriptor_alias(path: &Path) -> Option<i32> {
    let text = path.to_str()?;
    match text {
        "/dev/stdout" => return Some(1),
        "/dev/stderr" => return Some(2),
        _ => {}
    }
    let own = format!("/proc/{}/fd/", std::process::id());
    let number = ["/dev/fd/", "/proc/self/fd/", own.as_str()]
        .iter()
        .find_map(|prefix| text.strip_prefix(prefix))?;
    number.parse().ok()
}

#[cfg(unix)]
fn duplicate(fd: i32, shown: &str) -> Result<File> {
    use std::os::fd::BorrowedFd;
    // SAFETY: the borrow lives only for the duplication; if `fd` is not open, the underlying
    // fcntl(F_DUPFD_CLOEXEC) fails with EBADF, which is reported, and nothing else happens.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let owned = borrowed.try_clone_to_owned().map_err(|err| {
        if err.raw_os_error() == Some(9) {
            fail(
                Kind::Other,
                format!("cannot write {shown}: the descriptor is closed"),
            )
        } else {
            cannot_write(shown, &err)
        }
    })?;
    Ok(File::from(owned))
}

#[cfg(not(unix))]
fn duplicate(_fd: i32, shown: &str) -> Result<File> {
    Err(fail(
        Kind::Usage,
        format!("cannot write {shown}: descriptors are not supported here"),
    ))
}

fn cannot_write(shown: &str, err: &std::io::Error) -> anyhow::Error {
    fail(Kind::Other, format!("cannot write {shown}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_aliases() {
        assert_eq!(descriptor_alias(Path::new("/dev/stdout")), Some(1));
        assert_eq!(descriptor_alias(Path::new("/dev/fd/63")), Some(63));
        assert_eq!(descriptor_alias(Path::new("/proc/self/fd/5")), Some(5));
        assert_eq!(descriptor_alias(Path::new("/dev/fd/x")), None);
        assert_eq!(descriptor_alias(Path::new("out/fd/1")), None);
    }

    #[test]
    fn links_are_followed_to_the_file_they_name() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink("real.txt", &link).unwrap();
        match resolve(&link).unwrap() {
            Output::Replace(path) => assert_eq!(path, real),
            Output::Through(_) => panic!("a link to a regular file is replaced atomically"),
        }
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink("new.txt", &dangling).unwrap();
        assert!(
            matches!(resolve(&dangling).unwrap(), Output::Replace(p) if p == dir.path().join("new.txt"))
        );
    }
}
