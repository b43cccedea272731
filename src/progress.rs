//! What a person watching sees on stderr: progress bars on a terminal, short notes, or nothing when quiet.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a bar is redrawn at most, so drawing never costs throughput.
const REFRESH_HZ: u8 = 10;

/// The stderr side of a command: an optional bar plus notes that do not tear it.
pub struct Progress {
    bar: Option<ProgressBar>,
    counts: Counts,
    quiet: bool,
    bytes: u64,
}

/// What the bar's position counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Counts {
    Bytes,
    Files,
}

impl Progress {
    /// No bar; notes unless `quiet`.
    pub fn plain(quiet: bool) -> Self {
        Progress {
            bar: None,
            counts: Counts::Bytes,
            quiet,
            bytes: 0,
        }
    }

    /// A byte-count bar for one download of `length` bytes (a spinner if unknown).
    pub fn for_bytes(quiet: bool, length: Option<u64>) -> Self {
        let bar = new_bar(quiet, || match length {
            Some(length) => ProgressBar::new(length).with_style(style(
                "{wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )),
            None => ProgressBar::new_spinner()
                .with_style(style("{spinner} {bytes} {binary_bytes_per_sec}")),
        });
        Progress {
            bar,
            counts: Counts::Bytes,
            quiet,
            bytes: 0,
        }
    }

    /// A files-done bar for a batch of `files` files, with bytes and rate in its message.
    pub fn for_files(quiet: bool, files: u64) -> Self {
        let bar = new_bar(quiet, || {
            ProgressBar::new(files).with_style(style("{wide_bar} {pos}/{len} files {msg}"))
        });
        Progress {
            bar,
            counts: Counts::Files,
            quiet,
            bytes: 0,
        }
    }

    /// Counts `n` more bytes.
    pub fn bytes(&mut self, n: u64) {
        self.bytes += n;
        if let Some(bar) = &self.bar {
            if self.counts == Counts::Files {
                let rate = self.bytes as f64 / bar.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!(
                    "{} {}/s",
                    HumanBytes(self.bytes),
                    HumanBytes(rate as u64)
                ));
            } else {
                bar.inc(n);
            }
        }
    }

    /// Counts one more file done.
    pub fn file_done(&mut self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Bytes counted so far.
    pub fn total_bytes(&self) -> u64 {
        self.bytes
    }

    /// Prints a line on stderr unless quiet, without breaking the bar.
    pub fn note(&self, line: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{}", line.as_ref())),
            None => eprintln!("{}", line.as_ref()),
        }
    }

    /// Removes the bar from the screen.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

fn new_bar(quiet: bool, make: impl FnOnce() -> ProgressBar) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = make();
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(REFRESH_HZ));
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}
