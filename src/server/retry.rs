//! When and how long to wait before trying a failed request again.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;

use crate::error::{Retry, retry_of};

/// The default number of retries after the first attempt.
pub const DEFAULT_RETRIES: u32 = 5;
/// The first backoff wait; each retry doubles it.
const BASE: Duration = Duration::from_millis(500);
/// No wait is longer than this, whatever the backoff or the server's `Retry-After` says.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// How often a waiting retry looks whether the run was stopped.
const STOP_CHECK: Duration = Duration::from_millis(50);

/// How many times to retry.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retrying.
    pub retries: u32,
}

impl RetryPolicy {
    /// A fresh attempt counter for one operation.
    pub fn backoff(&self) -> Backoff {
        Backoff {
            retries: self.retries,
            attempt: 0,
        }
    }

    /// Runs `request`, retrying what is worth retrying; each retry is told to `note`.
    pub fn run<T>(
        &self,
        note: impl Fn(String),
        request: impl FnMut() -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        self.run_unless(note, &|| false, request)
    }

    /// As [`RetryPolicy::run`], but no retry starts (and no wait goes on) once `stop()` says so.
    pub fn run_unless<T>(
        &self,
        note: impl Fn(String),
        stop: &dyn Fn() -> bool,
        mut request: impl FnMut() -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut backoff = self.backoff();
        loop {
            match request() {
                Err(err) if backoff.retry_unless(&err, &note, stop) => {}
                result => return result,
            }
        }
    }
}

/// The retry state of one operation.
pub struct Backoff {
    retries: u32,
    attempt: u32,
}

impl Backoff {
    /// For a transient `err` with retries left: reports the retry through `note`, sleeps, returns true.
    pub fn retry(&mut self, err: &anyhow::Error, note: impl FnOnce(String)) -> bool {
        self.retry_unless(err, note, &|| false)
    }

    /// As [`Backoff::retry`], but gives up (false) as soon as `stop()` says so, even while waiting.
    pub fn retry_unless(
        &mut self,
        err: &anyhow::Error,
        note: impl FnOnce(String),
        stop: &dyn Fn() -> bool,
    ) -> bool {
        let Retry::After(requested) = retry_of(err) else {
            return false;
        };
        if self.attempt >= self.retries || stop() {
            return false;
        }
        self.attempt += 1;
        let wait = wait_for(self.attempt, requested);
        note(format!(
            "oxdl: {err:#}; retry {} of {} in {:.1}s",
            self.attempt,
            self.retries,
            wait.as_secs_f64()
        ));
        let until = std::time::Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return true;
            }
            if stop() {
                return false;
            }
            std::thread::sleep(left.min(STOP_CHECK));
        }
    }

    /// Starts counting afresh, after the operation made progress.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// The wait before retry number `attempt` (from 1): the server's wish if it named one, else exponential
/// backoff with jitter (between half and all of `BASE * 2^(attempt-1)`), never above [`MAX_WAIT`].
pub fn wait_for(attempt: u32, requested: Option<Duration>) -> Duration {
    let wait = requested.unwrap_or_else(|| {
        let full = BASE.saturating_mul(1u32 << (attempt - 1).min(16));
        full.mul_f64(0.5 + 0.5 * unit_random())
    });
    wait.min(MAX_WAIT)
}

/// A number in [0, 1) from the standard library's per-process random hash keys: enough for jitter.
fn unit_random() -> f64 {
    let bits = RandomState::new().hash_one(std::time::Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// Parses `Retry-After`: delay seconds, or an HTTP date (a date in the past means no wait).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Kind, fail, transient};

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        for attempt in 1..=5 {
            let full = BASE * (1 << (attempt - 1));
            let wait = wait_for(attempt, None);
            assert!(
                wait >= full / 2 && wait <= full,
                "attempt {attempt}: {wait:?}"
            );
        }
        assert_eq!(wait_for(30, None), MAX_WAIT);
        assert_eq!(
            wait_for(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(wait_for(1, Some(Duration::from_secs(3600))), MAX_WAIT);
    }

    #[test]
    fn retry_after_in_both_forms() {
        assert_eq!(parse_retry_after(" 5 "), Some(Duration::from_secs(5)));
        let later = std::time::SystemTime::now() + Duration::from_secs(30);
        let wait = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn only_transient_errors_are_retried_and_only_so_often() {
        let mut backoff = RetryPolicy { retries: 2 }.backoff();
        let busy = transient(Kind::Network, "busy", Some(Duration::ZERO));
        let mut notes = Vec::new();
        assert!(!backoff.retry(&fail(Kind::NotFound, "gone"), |n| notes.push(n)));
        assert!(backoff.retry(&busy, |n| notes.push(n)));
        assert!(backoff.retry(&busy, |n| notes.push(n)));
        assert!(!backoff.retry(&busy, |n| notes.push(n)));
        assert_eq!(
            notes,
            vec![
                "oxdl: busy; retry 1 of 2 in 0.0s".to_string(),
                "oxdl: busy; retry 2 of 2 in 0.0s".to_string(),
            ]
        );
        backoff.reset();
        assert!(backoff.retry(&busy, |_| {}));
    }
}
