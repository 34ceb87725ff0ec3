//! Small in-memory limits: [`RateLimiter`], at most `max` events per key in
//! a sliding window (Open311 posts and failed logins per client address),
//! and [`Backoff`], a growing wait after repeated failures of one key (a
//! login from one address, a token guessing its current password).
//!
//! In memory, not in the database: a flood of wrong passwords writes
//! nothing, and a restart forgetting the counts costs an attacker a restart
//! they cannot cause. Each server process counts on its own.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    max: usize,
    window: Duration,
    events: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(max: usize, window: Duration) -> Self {
        Self {
            max,
            window,
            events: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds to wait if `key` is over its limit now, else `None`.
    pub fn blocked_for(&self, key: &str) -> Option<u64> {
        let now = Instant::now();
        let mut events = self.events.lock().expect("rate limiter lock");
        let queue = events.get_mut(key)?;
        while queue.front().is_some_and(|t| now - *t > self.window) {
            queue.pop_front();
        }
        if queue.len() < self.max {
            return None;
        }
        let oldest = *queue.front()?;
        Some((self.window.saturating_sub(now - oldest)).as_secs().max(1))
    }

    /// Records one event for `key`.
    pub fn record(&self, key: &str) {
        let mut events = self.events.lock().expect("rate limiter lock");
        if events.len() > 100_000 {
            // Bound memory under a flood of distinct keys: forget the keys
            // whose window has passed, and everything only if that is not
            // enough (a flood that large comes from many addresses anyway).
            let now = Instant::now();
            events.retain(|_, queue| queue.back().is_some_and(|t| now - *t <= self.window));
            if events.len() > 100_000 {
                events.clear();
            }
        }
        events
            .entry(key.to_owned())
            .or_default()
            .push_back(Instant::now());
    }

    /// Forgets `key` (after a successful login).
    pub fn clear(&self, key: &str) {
        self.events.lock().expect("rate limiter lock").remove(key);
    }
}

/// Failures per key with a growing wait: the first `free` failures cost
/// nothing; after that each failure makes the key wait, from `first_wait`
/// doubling up to `max_wait`. A key is forgotten on success, or when it
/// has been quiet for `max_wait` after its wait ended.
pub struct Backoff {
    free: u32,
    first_wait: Duration,
    max_wait: Duration,
    failures: Mutex<HashMap<String, Failures>>,
}

struct Failures {
    count: u32,
    last: Instant,
}

/// Keys kept at most; past this, keys whose waiting is over are dropped.
const MAX_KEYS: usize = 100_000;

impl Backoff {
    pub fn new(free: u32, first_wait: Duration, max_wait: Duration) -> Self {
        Self {
            free,
            first_wait,
            max_wait,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The wait after `count` failures (zero while they are free).
    fn wait_after(&self, count: u32) -> Duration {
        match count.checked_sub(self.free) {
            None => Duration::ZERO,
            Some(doublings) => self
                .first_wait
                .saturating_mul(2u32.saturating_pow(doublings.min(20)))
                .min(self.max_wait),
        }
    }

    /// Whether `f` is old enough to start counting afresh.
    fn forgotten(&self, f: &Failures) -> bool {
        f.last.elapsed() >= self.wait_after(f.count) + self.max_wait
    }

    /// Seconds `key` must still wait, else `None`.
    pub fn blocked_for(&self, key: &str) -> Option<u64> {
        let failures = self.failures.lock().expect("backoff lock");
        let f = failures.get(key)?;
        let left = self.wait_after(f.count).checked_sub(f.last.elapsed())?;
        (!left.is_zero()).then(|| left.as_secs_f64().ceil() as u64)
    }

    /// Records one failure of `key`.
    pub fn record_failure(&self, key: &str) {
        let mut failures = self.failures.lock().expect("backoff lock");
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, f| !self.forgotten(f));
        }
        let f = failures.entry(key.to_owned()).or_insert(Failures {
            count: 0,
            last: Instant::now(),
        });
        if self.forgotten(f) {
            f.count = 0;
        }
        f.count += 1;
        f.last = Instant::now();
    }

    /// Forgets `key` (after a success).
    pub fn clear(&self, key: &str) {
        self.failures.lock().expect("backoff lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_grows_after_the_free_failures() {
        let backoff = Backoff::new(2, Duration::from_secs(30), Duration::from_secs(100));
        let waits: Vec<u64> = (0..6).map(|n| backoff.wait_after(n).as_secs()).collect();
        assert_eq!(waits, [0, 0, 30, 60, 100, 100]);
        for _ in 0..2 {
            assert_eq!(backoff.blocked_for("a"), None);
            backoff.record_failure("a");
        }
        assert_eq!(backoff.blocked_for("a"), Some(30));
        assert_eq!(
            backoff.blocked_for("b"),
            None,
            "other keys are not affected"
        );
        backoff.clear("a");
        assert_eq!(backoff.blocked_for("a"), None);
    }

    #[test]
    fn blocks_after_max_events_in_the_window() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(limiter.blocked_for("a"), None);
            limiter.record("a");
        }
        assert!(limiter.blocked_for("a").is_some());
        assert_eq!(limiter.blocked_for("b"), None);
        limiter.clear("a");
        assert_eq!(limiter.blocked_for("a"), None);
    }
}
