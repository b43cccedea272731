//! One run over one part file: connections taking ranges off a queue and writing them at their
//! offsets, and the hasher reading the contiguous prefix in order as it completes.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::resume::Registered;
use super::shared::{Inner, Shared};
use super::{BLOCK, SAVE_EVERY, SAVE_SOON, Stopped, is_stopped};
use crate::error::{Kind, fail, local, most_serious, transient};
use crate::server::remote::{Chunk, Remote};
use crate::server::retry::RetryPolicy;
use crate::sync::lock;
use crate::term::progress::Progress;
use crate::transfer::Copied;
use crate::transfer::{Digests, read_failure, write_failure};

/// One run's connections and hasher, over one part file.
pub(super) struct Ctx<'a> {
    pub(super) remote: &'a Remote,
    pub(super) resource: &'a str,
    pub(super) file: &'a File,
    /// The part file as shown in messages.
    pub(super) shown: String,
    /// Ranges not yet taken, in file order.
    pub(super) queue: Mutex<VecDeque<Range<u64>>>,
    pub(super) shared: &'a Shared,
    pub(super) retry: RetryPolicy,
    pub(super) progress: &'a Progress,
    /// See [`Job::stopped`].
    pub(super) outer_stop: &'a (dyn Fn() -> bool + Sync),
    /// Bytes of blocks ahead of the hashed prefix that may wait in memory.
    pub(super) window: usize,
}

impl Ctx<'_> {
    pub(super) fn stopped(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed) || (self.outer_stop)()
    }

    pub(super) fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.wake.notify_all();
    }

    /// One connection: takes ranges in file order until none is left or the run stops.
    pub(super) fn work(&self) {
        let mut buf = vec![0; BLOCK];
        loop {
            let Some(range) = lock(&self.queue).pop_front().filter(|_| !self.stopped()) else {
                return;
            };
            if let Err(err) = self.fetch(range, &mut buf) {
                if !is_stopped(&err) {
                    lock(&self.shared.inner).failures.push(err);
                }
                self.stop();
                return;
            }
            // Every byte of it is written (`accept` recorded each block after its write): the hasher
            // saves the state soon, so that a run killed outright does not fetch the range again.
            lock(&self.shared.inner).unsaved_range = true;
            self.shared.wake.notify_one();
        }
    }

    /// Fetches one range, retrying on its own; a cut range asks only for the rest.
    pub(super) fn fetch(&self, range: Range<u64>, buf: &mut Vec<u8>) -> Result<()> {
        let mut pos = range.start;
        let mut backoff = self.retry.backoff();
        while pos < range.end {
            if self.stopped() {
                return Err(anyhow::Error::new(Stopped));
            }
            let before = pos;
            lock(&self.shared.inner).requests += 1;
            let result = match self.remote.chunk(self.resource, pos, range.end - pos) {
                Ok(Chunk::NoRoute) => {
                    lock(&self.shared.inner).no_route = true;
                    return Err(fail(
                        Kind::Network,
                        format!(
                            "the server stopped serving ranges (/chunk) after {} bytes; \
                             try again, or pass a --chunk-threshold above the file's size",
                            self.shared.snapshot().total()
                        ),
                    ));
                }
                Ok(Chunk::Bytes { length, body }) => {
                    self.receive(body, length, &mut pos, range.end, buf)
                }
                Err(err) => Err(err),
            };
            match result {
                Ok(()) => {}
                Err(err) => {
                    if pos > before {
                        // Progress was made: the retries count afresh for the rest.
                        backoff.reset();
                    }
                    let note = |line: String| self.progress.note(line);
                    if !backoff.retry_unless(&err, note, &|| self.stopped()) {
                        return Err(err);
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads one answer's body into the part file at `*pos`, up to `end`.
    pub(super) fn receive(
        &self,
        mut body: impl Read,
        length: Option<u64>,
        pos: &mut u64,
        end: u64,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let asked = end - *pos;
        if let Some(length) = length.filter(|&l| l != asked) {
            return Err(fail(
                Kind::Integrity,
                format!(
                    "the server answered {length} bytes for a range of {asked} at byte {}",
                    *pos
                ),
            ));
        }
        let start = *pos;
        while *pos < end {
            if self.stopped() {
                return Err(anyhow::Error::new(Stopped));
            }
            // A whole block is gathered before it is written and handed on: fewer writes, and a block
            // held for the hasher is all bytes, not a few KiB in a 256 KiB buffer.
            let want = (end - *pos).min(buf.len() as u64) as usize;
            let mut filled = 0;
            let mut broken = None;
            while filled < want {
                match body.read(&mut buf[filled..want]) {
                    Ok(0) => {
                        broken = Some(None);
                        break;
                    }
                    Ok(n) => filled += n,
                    Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(err) => {
                        broken = Some(Some(err));
                        break;
                    }
                }
            }
            if filled > 0 {
                self.file
                    .write_all_at(&buf[..filled], *pos)
                    .map_err(|err| write_failure(err, &self.shown))?;
                self.accept(*pos, filled, buf);
                *pos += filled as u64;
            }
            // What arrived before the break is kept: the retry asks for the rest only.
            match broken {
                None => {}
                Some(None) => {
                    return Err(transient(
                        Kind::Integrity,
                        format!(
                            "the range at byte {start} was cut short after {} of {asked} bytes",
                            *pos - start
                        ),
                        None,
                    ));
                }
                Some(Some(err)) => {
                    return Err(read_failure(
                        err,
                        &format!(
                            "the range at byte {start} broke after {} of {asked} bytes",
                            *pos - start
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Records a block written at `pos`: on disk now, and kept for the hasher while the window allows
    /// (always when it is next in line).
    pub(super) fn accept(&self, pos: u64, n: usize, buf: &mut Vec<u8>) {
        {
            let mut inner = lock(&self.shared.inner);
            inner.done.insert(pos..pos + n as u64);
            inner.fetched += n as u64;
            // Counted by buffer, not by bytes used, so memory is bounded however the bytes arrive.
            if pos == inner.hashed || inner.pending_bytes + BLOCK <= self.window {
                let fresh = inner.spare.pop().unwrap_or_else(|| vec![0; BLOCK]);
                inner
                    .pending
                    .insert(pos, (std::mem::replace(buf, fresh), n));
                inner.pending_bytes += BLOCK;
            }
        }
        self.shared.wake.notify_one();
        self.progress.bytes(n as u64);
    }

    /// Hashes `[0, size)` in order as the contiguous prefix completes, from memory where the block is
    /// held and from the part file otherwise; saves the state on the way (see [`SAVE_SOON`]). Ends when every byte is
    /// hashed, or with the run's failure.
    pub(super) fn hash_in_order(
        &self,
        size: u64,
        sha256: bool,
        saver: &Registered,
    ) -> Result<Copied> {
        let mut digests = Digests::new(sha256);
        let mut update = |bytes: &[u8]| digests.update(bytes);
        let mut hashed = 0u64;
        let mut read_buf = vec![0; BLOCK];
        let mut saved = Instant::now();
        let mut inner = lock(&self.shared.inner);
        loop {
            if hashed == size {
                break;
            }
            if saved.elapsed() >= save_due(&inner) {
                inner.unsaved_range = false;
                drop(inner);
                saver.save(self.progress);
                saved = Instant::now();
                inner = lock(&self.shared.inner);
                continue;
            }
            if let Some((block, n)) = inner.pending.remove(&hashed) {
                inner.pending_bytes -= BLOCK;
                hashed += n as u64;
                inner.hashed = hashed;
                drop(inner);
                update(&block[..n]);
                inner = lock(&self.shared.inner);
                inner.spare.push(block);
                continue;
            }
            if let Some(end) = inner.done.end_from(hashed) {
                // On disk but not in memory: from an earlier run, or beyond the window. Read up to the
                // next block held in memory, so that block is then next in line.
                let held = inner.pending.range(hashed..).next().map(|(&k, _)| k);
                let to = end.min(held.unwrap_or(u64::MAX)).min(hashed + BLOCK as u64);
                inner.hashed = to;
                drop(inner);
                let chunk = &mut read_buf[..(to - hashed) as usize];
                self.file.read_exact_at(chunk, hashed).map_err(|err| {
                    local(&err, format!("cannot read back {}: {err}", self.shown))
                })?;
                update(chunk);
                hashed = to;
                inner = lock(&self.shared.inner);
                continue;
            }
            if self.stopped() {
                let failures = std::mem::take(&mut inner.failures);
                return Err(most_serious(failures).unwrap_or_else(|| Stopped.into()));
            }
            let wait = save_due(&inner).saturating_sub(saved.elapsed());
            inner = self
                .shared
                .wake
                .wait_timeout(inner, wait)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poison| poison.into_inner().0);
        }
        drop(inner);
        Ok(digests.finish())
    }
}

/// How long after the last save the state is due again: soon after a range finished, else now and then
/// for the ranges under way.
fn save_due(inner: &Inner) -> Duration {
    if inner.unsaved_range {
        SAVE_SOON
    } else {
        SAVE_EVERY
    }
}
