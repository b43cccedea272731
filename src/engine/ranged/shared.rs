//! What the connections, the hasher and the saved state of one ranged download share.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Condvar, Mutex};

use super::Intervals;
use crate::sync::lock;

/// What the connections and the hasher share.
pub(super) struct Shared {
    pub(super) inner: Mutex<Inner>,
    /// Wakes the hasher when a block arrives or the run stops.
    pub(super) wake: Condvar,
    pub(super) stop: AtomicBool,
}

pub(super) struct Inner {
    /// Bytes on disk (from this run and earlier ones).
    pub(super) done: Intervals,
    /// Blocks of this run not yet hashed, by offset, held in memory within [`WINDOW`].
    /// Each block is a whole buffer and the length used: buffers move between the connections and the
    /// hasher instead of being copied.
    pub(super) pending: BTreeMap<u64, (Vec<u8>, usize)>,
    pub(super) pending_bytes: usize,
    /// Buffers the hasher is done with, for the connections to read into again.
    pub(super) spare: Vec<Vec<u8>>,
    /// Where the hasher is: every byte before this is hashed or being hashed.
    pub(super) hashed: u64,
    /// Bytes fetched by this run.
    pub(super) fetched: u64,
    pub(super) requests: u64,
    /// The server answered the generic 404 for a range.
    pub(super) no_route: bool,
    /// A range finished since the state was last saved: the hasher saves it within [`SAVE_SOON`].
    ///
    /// [`SAVE_SOON`]: super::SAVE_SOON
    pub(super) unsaved_range: bool,
    pub(super) failures: Vec<anyhow::Error>,
}

impl Shared {
    pub(super) fn new(done: Intervals) -> Self {
        Shared {
            inner: Mutex::new(Inner {
                done,
                pending: BTreeMap::new(),
                pending_bytes: 0,
                spare: Vec::new(),
                hashed: 0,
                fetched: 0,
                requests: 0,
                no_route: false,
                unsaved_range: false,
                failures: Vec::new(),
            }),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
        }
    }

    pub(super) fn snapshot(&self) -> Intervals {
        lock(&self.inner).done.clone()
    }
}
