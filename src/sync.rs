//! Locks that outlive a panicking holder: the data they guard (sets of paths, lists of files) stays
//! valid whatever a panicking thread was doing, so the others carry on with it.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, poisoned or not.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
