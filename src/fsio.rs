//! Files that appear whole or not at all: a temp file beside the target, published by rename.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Result;
use tempfile::NamedTempFile;

use crate::error::{Kind, KindContext};

/// Prefix of every temp file oxdl creates, so a person can tell what left it.
pub const TEMP_PREFIX: &str = ".oxdl-";
/// Suffix of every temp file oxdl creates.
pub const TEMP_SUFFIX: &str = ".part";

/// A file being written beside its final path; dropped unpublished, it is deleted.
pub struct PendingFile {
    temp: NamedTempFile,
    target: PathBuf,
}

impl PendingFile {
    /// Creates the temp file in the target's directory (creating that directory if needed).
    pub fn create(target: &Path) -> Result<Self> {
        let dir = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir).kind_context(
            Kind::Other,
            format_args!("cannot create directory {}", dir.display()),
        )?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
        // Published files get the usual 0666-minus-umask mode, not the temp file's private 0600.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let temp = builder.tempfile_in(dir).kind_context(
            Kind::Other,
            format_args!("cannot create a file in {}", dir.display()),
        )?;
        Ok(PendingFile {
            temp,
            target: target.to_path_buf(),
        })
    }

    /// The open temp file.
    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Moves the temp file onto the final path, replacing whatever was there.
    pub fn publish(self) -> Result<()> {
        let target = self.target;
        self.temp.persist(&target).map(drop).kind_context(
            Kind::Other,
            format_args!("cannot write {}", target.display()),
        )
    }
}

/// Copies a published file to another path, just as atomically.
pub fn copy_published(from: &Path, to: &Path) -> Result<()> {
    let mut pending = PendingFile::create(to)?;
    let mut source = File::open(from)
        .kind_context(Kind::Other, format_args!("cannot read {}", from.display()))?;
    std::io::copy(&mut source, pending.file())
        .kind_context(Kind::Other, format_args!("cannot write {}", to.display()))?;
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

        copy_published(&target, &dir.path().join("copy.txt")).unwrap();
        assert_eq!(std::fs::read(dir.path().join("copy.txt")).unwrap(), b"new");
    }
}
