//! `oxdl get`: one file by path, to a file (atomically) or to stdout.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cli::GetArgs;
use crate::error::{Kind, KindContext, fail};
use crate::fsio::PendingFile;
use crate::progress::Progress;
use crate::remote::{Download, Remote};
use crate::transfer::{Copied, Copier};

/// Where the bytes go.
enum Target {
    Stdout,
    File(PathBuf),
}

/// Downloads the file named by `args` and reports its revision on stderr.
pub fn run(remote: &Remote, args: &GetArgs, quiet: bool) -> Result<()> {
    let file_name = file_name(&args.resource)?;
    let target = target(args.output.as_deref(), file_name);
    let context = || format!("cannot download {} from {}", args.resource, args.repo);
    let download = remote
        .get_version(&args.resource, args.width, args.height)
        .with_context(context)?;
    let revision = download.revision.clone();
    let mut progress = Progress::for_bytes(quiet, download.length);
    let (shown, copied) = save(download, &target, &mut progress).with_context(context)?;
    progress.finish();
    progress.note(format!(
        "{shown}: {} bytes, revision {}",
        copied.bytes,
        revision
            .as_deref()
            .unwrap_or("unknown (the server did not say)")
    ));
    Ok(())
}

/// Streams the body to its target; a file is published only when every announced byte arrived.
fn save(download: Download, target: &Target, progress: &mut Progress) -> Result<(String, Copied)> {
    let mut body = download.body;
    let mut copier = Copier::default();
    let mut on_bytes = |n| progress.bytes(n);
    match target {
        Target::Stdout => {
            let mut stdout = std::io::stdout().lock();
            let copied = copier.copy(&mut body, &mut stdout, "stdout", &mut on_bytes)?;
            stdout
                .flush()
                .kind_context(Kind::Other, "cannot write stdout")?;
            check_length(copied, download.length)?;
            Ok(("stdout".to_string(), copied))
        }
        Target::File(path) => {
            let mut pending = PendingFile::create(path)?;
            let shown = path.display().to_string();
            let copied = copier.copy(&mut body, pending.file(), &shown, &mut on_bytes)?;
            // Checked before publishing, so a short download never replaces an older file.
            check_length(copied, download.length)?;
            pending.publish()?;
            Ok((shown, copied))
        }
    }
}

/// The last segment of REVISION/PATH, which names the file by default.
fn file_name(resource: &str) -> Result<&str> {
    match resource.rsplit_once('/') {
        Some((revision, name)) if !revision.is_empty() && !name.is_empty() && name != ".." => {
            Ok(name)
        }
        _ => Err(fail(
            Kind::Usage,
            format!(
                "'{resource}' is not REVISION/PATH: expected a revision and a file path, e.g. main/data/train.csv"
            ),
        )),
    }
}

/// `-o -` is stdout; an existing directory (or a path ending in `/`) receives the file under its own name.
fn target(output: Option<&Path>, file_name: &str) -> Target {
    match output {
        None => Target::File(PathBuf::from(file_name)),
        Some(path) if path == Path::new("-") => Target::Stdout,
        Some(path) if path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/') => {
            Target::File(path.join(file_name))
        }
        Some(path) => Target::File(path.to_path_buf()),
    }
}

fn check_length(copied: Copied, expected: Option<u64>) -> Result<()> {
    match expected {
        Some(length) if length != copied.bytes => Err(fail(
            Kind::Integrity,
            format!(
                "the download was cut short: {} of {length} bytes arrived",
                copied.bytes
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(file_name("main/a/b.txt").unwrap(), "b.txt");
        assert_eq!(file_name("feature/x/hello.txt").unwrap(), "hello.txt");
        for bad in ["main", "main/", "/x", "main/.."] {
            assert!(file_name(bad).is_err(), "{bad}");
        }
    }
}
