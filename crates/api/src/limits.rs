//! A small in-memory rate limiter: at most `max` events per key in a sliding
//! window. Used for failed logins (per login and per client address).

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

#[cfg(test)]
mod tests {
    use super::*;

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
