//! The download engine: the batch pipeline (`batch/`: plan → fetch → report), ranged downloads of large
//! files (`ranged/`: plan → fetch with an in-order hasher → resume state), and the tarball unpacker.
//! Takes plain settings, never clap's types.
//! May import `server`, `term`, `disk` and the base; never `commands` or `cli`.

pub(crate) mod batch;
pub(crate) mod ranged;
pub mod unpack;

use crate::disk::store::Cache;
use crate::server::retry::RetryPolicy;
use crate::term::progress::Display;

/// Settings every command shares: how chatty to be, how to retry, and the cache to use.
#[derive(Debug)]
pub(crate) struct Ui {
    /// What to show on stderr.
    pub display: Display,
    /// How to retry failed requests.
    pub retry: RetryPolicy,
    /// The cache of `--cache-dir`, if any.
    pub cache: Option<Cache>,
}
