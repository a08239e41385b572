//! Per-key request budgets (GCRA via governor). Each key has its own limiter
//! sized to the key's requests-per-minute, with a burst of the same size, so a
//! key can spend its whole minute at once and then refills steadily.
//!
//! Limits are kept in process memory: with several instances behind a load
//! balancer each enforces the budget on its own share (docs/decisions.md).

use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

type KeyLimiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// What the limiter decided for one request, with the values for the
/// `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the budget is full again (allowed) or until the next
    /// request may pass (refused).
    pub reset_secs: u64,
}

#[derive(Default)]
pub struct RateLimits {
    limiters: Mutex<HashMap<String, (u32, Arc<KeyLimiter>)>>,
}

impl RateLimits {
    pub fn check(&self, key_id: &str, per_minute: u32) -> RateDecision {
        let per_minute = per_minute.max(1);
        let limiter = {
            let mut map = self.limiters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match map.get(key_id) {
                Some((limit, limiter)) if *limit == per_minute => limiter.clone(),
                _ => {
                    let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
                    let limiter = Arc::new(RateLimiter::direct(quota).with_middleware::<StateInformationMiddleware>());
                    map.insert(key_id.to_owned(), (per_minute, limiter.clone()));
                    limiter
                }
            }
        };
        let cell_ms = 60_000 / u64::from(per_minute);
        match limiter.check() {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = u64::from(per_minute.saturating_sub(remaining));
                RateDecision {
                    allowed: true,
                    limit: per_minute,
                    remaining,
                    reset_secs: (used * cell_ms).div_ceil(1000),
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let secs = (wait.as_millis() as u64).div_ceil(1000).max(1);
                RateDecision { allowed: false, limit: per_minute, remaining: 0, reset_secs: secs }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spends_the_burst_then_refuses() {
        let limits = RateLimits::default();
        let first = limits.check("k", 3);
        assert_eq!((first.allowed, first.limit, first.remaining), (true, 3, 2));
        assert!(limits.check("k", 3).allowed);
        let third = limits.check("k", 3);
        assert_eq!((third.allowed, third.remaining), (true, 0));
        let refused = limits.check("k", 3);
        assert!(!refused.allowed);
        assert!((1..=20).contains(&refused.reset_secs), "{refused:?}");
        // Other keys have their own budget; a changed limit starts afresh.
        assert!(limits.check("other", 3).allowed);
        assert!(limits.check("k", 10).allowed);
    }
}
