//! What a person watching sees on stderr: progress bars on a terminal, short notes, or nothing when quiet.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a bar is redrawn at most, so drawing never costs throughput.
const REFRESH_HZ: u8 = 10;
/// How often the byte count in a files bar's message is refreshed at most.
const MESSAGE_EVERY: Duration = Duration::from_millis(200);

/// The stderr side of a command: an optional bar plus notes that do not tear it. Shared by threads.
pub struct Progress {
    bar: Option<ProgressBar>,
    counts: Counts,
    quiet: bool,
    bytes: AtomicU64,
    started: Instant,
    /// Milliseconds since `started` of the last message refresh.
    refreshed: AtomicU64,
}

/// What the bar's position counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Counts {
    Bytes,
    Files,
}

impl Progress {
    fn new(bar: Option<ProgressBar>, counts: Counts, quiet: bool) -> Self {
        Progress {
            bar,
            counts,
            quiet,
            bytes: AtomicU64::new(0),
            started: Instant::now(),
            refreshed: AtomicU64::new(0),
        }
    }

    /// No bar; notes unless `quiet`.
    pub fn plain(quiet: bool) -> Self {
        Self::new(None, Counts::Bytes, quiet)
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
        Self::new(bar, Counts::Bytes, quiet)
    }

    /// A files-done bar for a batch of `files` files, with bytes and rate in its message.
    pub fn for_files(quiet: bool, files: u64) -> Self {
        let bar = new_bar(quiet, || {
            ProgressBar::new(files).with_style(style("{wide_bar} {pos}/{len} files {msg}"))
        });
        Self::new(bar, Counts::Files, quiet)
    }

    /// Counts `n` more bytes.
    pub fn bytes(&self, n: u64) {
        let total = self.bytes.fetch_add(n, Ordering::Relaxed) + n;
        let Some(bar) = &self.bar else { return };
        match self.counts {
            Counts::Bytes => bar.inc(n),
            Counts::Files => {
                let elapsed = self.started.elapsed();
                let now = elapsed.as_millis() as u64;
                let last = self.refreshed.load(Ordering::Relaxed);
                if now.saturating_sub(last) < MESSAGE_EVERY.as_millis() as u64
                    || self
                        .refreshed
                        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                        .is_err()
                {
                    return;
                }
                let rate = total as f64 / elapsed.as_secs_f64().max(0.001);
                bar.set_message(format!(
                    "{} {}/s",
                    HumanBytes(total),
                    HumanBytes(rate as u64)
                ));
            }
        }
    }

    /// Counts one more file done.
    pub fn file_done(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Bytes counted so far.
    pub fn total_bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
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
