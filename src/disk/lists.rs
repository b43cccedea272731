//! Where a hash list comes from: a file, read twice (checked whole, then streamed as it is planned, so
//! it is never held in memory), or a pipe, read once as it arrives, on a thread of its own.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc::{Receiver, sync_channel};

use anyhow::Result;

use crate::disk::hashlist::{Checked, Entry, ListReader};
use crate::error::{Kind, KindContext, fail};

/// How many parsed lines of a piped list may wait for whoever reads them.
pub(crate) const LINES_AHEAD: usize = 1024;

/// A list reader over any input.
pub(crate) type Reader = ListReader<Box<dyn BufRead + Send>>;

/// An opened hash list.
pub(crate) enum ListInput {
    /// A file (named, or redirected into stdin), which can be read twice.
    File(ListFile),
    /// A pipe or socket, read as it arrives.
    Stream(Box<Reader>),
}

/// A hash list in a file, from where it starts.
pub(crate) struct ListFile {
    file: File,
    start: u64,
    name: String,
    nul: bool,
}

impl ListFile {
    /// Reads the whole list, checking every line and passing each entry to `each`.
    pub(crate) fn check(&self, each: impl FnMut(&Entry) -> Result<()>) -> Result<Checked> {
        ListReader::new(self.rewound(u64::MAX)?, &self.name)
            .nul_separated(self.nul)
            .check_all(each)
    }

    /// Reads the list again, as [`ListFile::check`] found it.
    /// Lines appended since are not read: they were never checked.
    pub(crate) fn replay(&self, checked: Checked) -> Result<Box<Reader>> {
        let input = self.rewound(checked.bytes())?;
        let reader = ListReader::replay(input, &self.name, checked);
        Ok(Box::new(reader.nul_separated(self.nul)))
    }

    /// The list from its start, at most `bytes` of it.
    fn rewound(&self, bytes: u64) -> Result<Box<dyn BufRead + Send>> {
        let mut file = self
            .file
            .try_clone()
            .kind_context(Kind::Usage, format_args!("cannot read {}", self.name))?;
        file.seek(SeekFrom::Start(self.start))
            .kind_context(Kind::Usage, format_args!("cannot read {}", self.name))?;
        Ok(Box::new(BufReader::with_capacity(
            256 * 1024,
            file.take(bytes),
        )))
    }
}

impl ListInput {
    /// The list at `path` (`-` or none: stdin), with NUL-separated records when `nul`.
    pub(crate) fn open(path: Option<&Path>, nul: bool) -> Result<Self> {
        match path {
            Some(path) if path != Path::new("-") => {
                let file = File::open(path).kind_context(
                    Kind::Usage,
                    format_args!("cannot open hash list {}", path.display()),
                )?;
                let name = path.display().to_string();
                let seekable = file.metadata().is_ok_and(|m| m.is_file());
                if seekable {
                    return Ok(ListInput::File(ListFile {
                        file,
                        start: 0,
                        name,
                        nul,
                    }));
                }
                // A named pipe (`<(oxdl ls ...)`) or a device: read as it arrives.
                let input: Box<dyn BufRead + Send> = Box::new(BufReader::new(file));
                Ok(ListInput::Stream(Box::new(
                    ListReader::new(input, &name).nul_separated(nul),
                )))
            }
            None if std::io::stdin().is_terminal() => Err(fail(
                Kind::Usage,
                "no hash list: name a file, or pipe the hashes into stdin (e.g. oxdl batch ox/demo - < hashes.txt)",
            )),
            _ => Ok(stdin_list(nul)),
        }
    }
}

/// Stdin as a list: a file redirected into it is read twice from where it stands; anything else as it
/// arrives.
fn stdin_list(nul: bool) -> ListInput {
    let name = "<stdin>".to_string();
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let file = std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .map(File::from)
            .ok()
            .filter(|file| file.metadata().is_ok_and(|m| m.is_file()));
        if let Some(mut file) = file
            && let Ok(start) = file.stream_position()
        {
            return ListInput::File(ListFile {
                file,
                start,
                name,
                nul,
            });
        }
    }
    let input: Box<dyn BufRead + Send> = Box::new(BufReader::new(std::io::stdin()));
    ListInput::Stream(Box::new(ListReader::new(input, &name).nul_separated(nul)))
}

/// Reads a streamed list on a thread of its own, so that the run never waits on stdin once it is
/// stopped.
pub(crate) fn read_ahead(mut reader: Box<Reader>) -> Receiver<Result<Entry>> {
    let (lines, receiver) = sync_channel(LINES_AHEAD);
    std::thread::spawn(move || {
        loop {
            let (entry, last) = match reader.next_entry() {
                Ok(Some(entry)) => (Ok(entry), false),
                Ok(None) => return,
                Err(err) => (Err(err), true),
            };
            if lines.send(entry).is_err() || last {
                return;
            }
        }
    });
    receiver
}

#[cfg(test)]
mod tests {
    use crate::disk::hashlist::ListReader;

    #[test]
    fn a_checked_list_is_read_again_without_its_repeats_and_must_not_change() {
        let text = "abc a\nabd b\nabc a\n# note\nABC\nabc\nabe c/x\n";
        let mut seen = Vec::new();
        let checked = ListReader::new(text.as_bytes(), "l")
            .check_all(|e| {
                seen.push(e.clone());
                Ok(())
            })
            .unwrap();
        let mut again = ListReader::replay(text.as_bytes(), "l", checked);
        let mut replayed = Vec::new();
        while let Some(entry) = again.next_entry().unwrap() {
            replayed.push(entry);
        }
        assert_eq!(replayed, seen);
        let paths: Vec<&str> = seen
            .iter()
            .map(|e| e.destination.to_str().unwrap())
            .collect();
        assert_eq!(paths, vec!["a", "b", "abc", "c/x"]);
    }

    #[test]
    fn a_list_that_changes_between_its_two_readings_is_refused() {
        let check = |text: &str| {
            ListReader::new(text.as_bytes(), "l")
                .check_all(|_| Ok(()))
                .unwrap()
        };
        for (first, second) in [
            ("abc a\nabd b\n", "abc a\nabd b\nabe c\n"),
            ("abc a\nabd b\n", "abc a\nabe b\n"),
            ("abc a\nabd b\n", "abc a\nzz\n"),
            ("abc a\nabc a\nabd b\n", "abc a\nabd b\nabc a\n"),
        ] {
            // Nothing of a changed block comes out, not even its unchanged lines.
            let mut again = ListReader::replay(second.as_bytes(), "l", check(first));
            let err = again.next_entry().unwrap_err();
            assert!(
                format!("{err:#}").contains("l changed while oxdl was reading it"),
                "{err:#}"
            );
        }
        // A list of several blocks changed in its second: the first block's entries, then the error.
        let lines = |changed: Option<usize>| -> String {
            (0..40_000)
                .map(|i| match changed {
                    Some(at) if at == i => format!("ffff{i:05x} g{i}\n"),
                    _ => format!("abc{i:05x} f{i}\n"),
                })
                .collect()
        };
        let (first, second) = (lines(None), lines(Some(30_000)));
        let mut again = ListReader::replay(second.as_bytes(), "l", check(&first));
        let mut given = 0;
        let err = loop {
            match again.next_entry() {
                Ok(Some(entry)) => {
                    assert!(entry.destination.to_str().unwrap().starts_with('f'));
                    given += 1;
                }
                Ok(None) => panic!("the change went unnoticed"),
                Err(err) => break err,
            }
        };
        assert!(
            given > 0 && given < 30_000,
            "{given} entries before the error"
        );
        assert!(format!("{err:#}").contains("changed while oxdl was reading it"));
    }
}
