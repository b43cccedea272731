//! What a person (or a CI log) sees on stderr: a progress bar, plain status lines, short notes, or
//! nothing when quiet.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a bar is redrawn at most, so drawing never costs throughput.
const REFRESH_HZ: u8 = 10;
/// How often the byte count in a files bar's message is refreshed at most.
const MESSAGE_EVERY: Duration = Duration::from_millis(200);
/// How often a plain status line is printed at most.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// How progress is shown (`--progress`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal, nothing otherwise.
    Auto,
    /// Always a bar.
    Bar,
    /// A status line every few seconds and at the end, without control characters: for CI logs.
    Plain,
    /// Nothing.
    None,
}

/// Settings for everything shown on stderr.
#[derive(Clone, Copy, Debug)]
pub struct Display {
    /// Print nothing but errors.
    pub quiet: bool,
    pub mode: ProgressMode,
}

impl Display {
    fn wants_bar(&self) -> bool {
        !self.quiet
            && match self.mode {
                ProgressMode::Auto => std::io::stderr().is_terminal(),
                ProgressMode::Bar => true,
                ProgressMode::Plain | ProgressMode::None => false,
            }
    }

    fn wants_plain(&self) -> bool {
        !self.quiet && self.mode == ProgressMode::Plain
    }
}

/// The stderr side of a command: an optional bar or plain status lines, plus notes that do not tear
/// the bar. Shared by threads.
pub struct Progress {
    bar: Option<ProgressBar>,
    counts: Counts,
    quiet: bool,
    plain: bool,
    /// The expected total (bytes for a download, files for a batch); 0 when unknown.
    total: AtomicU64,
    bytes: AtomicU64,
    /// Bytes counted that were not transferred in this run (a resumed download's): not in the rate.
    resumed: AtomicU64,
    files: AtomicU64,
    started: Instant,
    /// Milliseconds since `started` of the last message refresh or plain line.
    refreshed: AtomicU64,
    finished: AtomicBool,
}

/// What the bar's position counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Counts {
    Bytes,
    Files,
}

impl Progress {
    fn new(
        display: &Display,
        bar: Option<ProgressBar>,
        counts: Counts,
        total: Option<u64>,
    ) -> Self {
        if let Some(bar) = &bar {
            let target = if display.mode == ProgressMode::Bar {
                // Drawn even where stderr is not a terminal, as asked.
                ProgressDrawTarget::term_like_with_hz(Box::new(AnsiStderr), REFRESH_HZ)
            } else {
                ProgressDrawTarget::stderr_with_hz(REFRESH_HZ)
            };
            bar.set_draw_target(target);
            bar.enable_steady_tick(Duration::from_millis(200));
            // Shown at once, not only after the first tick.
            bar.force_draw();
        }
        Progress {
            bar,
            counts,
            quiet: display.quiet,
            plain: display.wants_plain(),
            total: AtomicU64::new(total.unwrap_or(0)),
            bytes: AtomicU64::new(0),
            resumed: AtomicU64::new(0),
            files: AtomicU64::new(0),
            started: Instant::now(),
            refreshed: AtomicU64::new(0),
            finished: AtomicBool::new(false),
        }
    }

    /// No progress display; notes unless quiet.
    pub fn notes(display: &Display) -> Self {
        let quiet_only = Display {
            quiet: display.quiet,
            mode: ProgressMode::None,
        };
        Self::new(&quiet_only, None, Counts::Bytes, None)
    }

    /// Progress of one download of `length` bytes (a spinner if unknown).
    pub fn for_bytes(display: &Display, length: Option<u64>) -> Self {
        let bar = display.wants_bar().then(|| match length {
            Some(length) => ProgressBar::new(length).with_style(style(
                "{wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )),
            None => ProgressBar::new_spinner()
                .with_style(style("{spinner} {bytes} {binary_bytes_per_sec}")),
        });
        Self::new(display, bar, Counts::Bytes, length)
    }

    /// Progress of a batch of `files` files, with bytes and rate.
    pub fn for_files(display: &Display, files: u64) -> Self {
        let bar = display.wants_bar().then(|| {
            ProgressBar::new(files).with_style(style("{wide_bar} {pos}/{len} files {msg}"))
        });
        Self::new(display, bar, Counts::Files, Some(files))
    }

    /// Counts `n` more bytes.
    pub fn bytes(&self, n: u64) {
        let total = self.bytes.fetch_add(n, Ordering::Relaxed) + n;
        if let (Some(bar), Counts::Bytes) = (&self.bar, self.counts) {
            bar.inc(n);
            return;
        }
        if !self.due(if self.plain {
            PLAIN_EVERY
        } else {
            MESSAGE_EVERY
        }) {
            return;
        }
        match &self.bar {
            Some(bar) => bar.set_message(format!(
                "{} {}/s",
                HumanBytes(total),
                HumanBytes(self.rate())
            )),
            None if self.plain => eprintln!("{}", self.status_line()),
            None => {}
        }
    }

    /// Counts `n` bytes that were already there (a resumed download), without counting them in the rate.
    pub fn resumed(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
        self.resumed.fetch_add(n, Ordering::Relaxed);
        if let (Some(bar), Counts::Bytes) = (&self.bar, self.counts) {
            bar.inc(n);
            bar.reset_eta();
        }
    }

    /// Takes back `bytes` counted (`resumed` of them as resumed) by a download that starts over; other
    /// downloads sharing this progress keep theirs.
    pub fn restart(&self, bytes: u64, resumed: u64) {
        let less = |n: u64| move |had: u64| Some(had.saturating_sub(n));
        let _ = self
            .bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, less(bytes));
        let _ = self
            .resumed
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, less(resumed));
        if let (Some(bar), Counts::Bytes) = (&self.bar, self.counts) {
            bar.set_position(bar.position().saturating_sub(bytes));
            bar.reset_eta();
        }
    }

    /// Adds `n` to the expected number of files (a list read as it arrives grows as it goes).
    pub fn grow(&self, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc_length(n);
        }
    }

    /// Counts one more file done.
    pub fn file_done(&self) {
        self.files.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(1);
        } else if self.plain && self.due(PLAIN_EVERY) {
            eprintln!("{}", self.status_line());
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

    /// Removes the bar from the screen; in plain mode, prints the last status line.
    pub fn finish(&self) {
        if self.finished.swap(true, Ordering::Relaxed) {
            return;
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        } else if self.plain {
            eprintln!("{}", self.status_line());
        }
    }

    /// Whether `every` has passed since the last refresh; claims the refresh when it has.
    fn due(&self, every: Duration) -> bool {
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.refreshed.load(Ordering::Relaxed);
        now.saturating_sub(last) >= every.as_millis() as u64
            && self
                .refreshed
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    fn rate(&self) -> u64 {
        let moved =
            self.total_bytes() - self.resumed.load(Ordering::Relaxed).min(self.total_bytes());
        (moved as f64 / self.started.elapsed().as_secs_f64().max(0.001)) as u64
    }

    /// `oxdl: progress: …` without carriage returns or escapes, for logs.
    fn status_line(&self) -> String {
        let bytes = HumanBytes(self.total_bytes());
        let rate = HumanBytes(self.rate());
        let secs = self.started.elapsed().as_secs();
        let total = self.total.load(Ordering::Relaxed);
        match (self.counts, total) {
            (Counts::Files, total) => format!(
                "oxdl: progress: {}/{total} files, {bytes}, {rate}/s, {secs}s",
                self.files.load(Ordering::Relaxed)
            ),
            (Counts::Bytes, total) if total > 0 => {
                format!(
                    "oxdl: progress: {bytes} of {}, {rate}/s, {secs}s",
                    HumanBytes(total)
                )
            }
            _ => format!("oxdl: progress: {bytes}, {rate}/s, {secs}s"),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// stderr as an ANSI terminal whatever it really is, for `--progress bar` into a pipe or a file.
#[derive(Debug)]
struct AnsiStderr;

impl AnsiStderr {
    /// Moves the cursor `n` places in the ANSI `direction` (A up, B down, C right, D left).
    fn cursor(&self, n: usize, direction: char) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.emit(&format!("\u{1b}[{n}{direction}"))
        }
    }

    fn emit(&self, text: &str) -> std::io::Result<()> {
        std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes())
    }
}

impl indicatif::TermLike for AnsiStderr {
    fn width(&self) -> u16 {
        80
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'A')
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'B')
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'C')
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'D')
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.emit(&format!("{s}\n"))
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.emit(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.emit("\r\u{1b}[2K")
    }

    fn flush(&self) -> std::io::Result<()> {
        std::io::Write::flush(&mut std::io::stderr())
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}
