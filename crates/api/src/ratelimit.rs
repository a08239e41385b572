//! Per-key request budgets (GCRA via governor). Each key has its own limiter
//! sized to the key's requests-per-minute, with a burst of the same size, so a
//! key can spend its whole minute at once and then refills steadily, one
//! request every 60/N seconds.
//!
//! The numbers follow the IETF "RateLimit header fields for HTTP" draft, with
//! one meaning each on every response (docs/decisions.md, "Rate limiting"):
//! - `RateLimit-Limit`: N, the budget (requests per minute);
//! - `RateLimit-Remaining`: requests the key may send right now;
//! - `RateLimit-Reset`: seconds until the whole budget is restored
//!   (`Remaining` back to `Limit`) if the key sends nothing meanwhile;
//! - `Retry-After` (refusals only): seconds until the next request passes,
//!   that is until one request's share of the budget is restored.
//!
//! All values are rounded up to whole seconds, so waiting the number given is
//! always enough. Limits live in process memory: with several instances
//! behind a load balancer each enforces the budget on its own share.
//!
//! Time comes from a [`LimiterClock`]: the process's monotonic clock in
//! production, a manual one in tests.

use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The manual clock tests drive the limiters with.
pub use governor::clock::FakeRelativeClock;

/// The limiters' time source.
#[derive(Clone)]
pub enum LimiterClock {
    /// The process's monotonic clock (production).
    Monotonic { clock: DefaultClock, start: <DefaultClock as Clock>::Instant },
    /// A clock that moves only when the test advances it.
    Manual(FakeRelativeClock),
}

impl LimiterClock {
    pub fn monotonic() -> Self {
        let clock = DefaultClock::default();
        let start = clock.now();
        Self::Monotonic { clock, start }
    }

    /// A manual clock; advance it with [`FakeRelativeClock::advance`] on a clone.
    pub fn manual(clock: FakeRelativeClock) -> Self {
        Self::Manual(clock)
    }
}

impl Default for LimiterClock {
    fn default() -> Self {
        Self::monotonic()
    }
}

impl Clock for LimiterClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        match self {
            Self::Monotonic { clock, start } => clock.now().duration_since(*start),
            Self::Manual(clock) => clock.now(),
        }
    }
}

type KeyLimiter = RateLimiter<NotKeyed, InMemoryState, LimiterClock, StateInformationMiddleware>;

/// What the limiter decided for one request, with the values for the
/// rate-limit headers (see the module docs for their meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the whole budget is restored (`RateLimit-Reset`).
    pub reset_secs: u64,
    /// Refusals only: seconds until the next request passes (`Retry-After`, at least 1).
    pub retry_after_secs: Option<u64>,
}

#[derive(Default)]
pub struct RateLimits {
    clock: LimiterClock,
    limiters: Mutex<HashMap<String, (u32, Arc<KeyLimiter>)>>,
}

impl RateLimits {
    /// Budgets measured with `clock`.
    pub fn with_clock(clock: LimiterClock) -> Self {
        Self { clock, limiters: Mutex::default() }
    }

    /// Spends one request of `key_id`'s budget of `per_minute` if it can.
    pub fn check(&self, key_id: &str, per_minute: u32) -> RateDecision {
        let per_minute = per_minute.max(1);
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        let limiter = {
            let mut map = self.limiters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match map.get(key_id) {
                Some((limit, limiter)) if *limit == per_minute => limiter.clone(),
                _ => {
                    let limiter = Arc::new(
                        RateLimiter::direct_with_clock(quota, self.clock.clone())
                            .with_middleware::<StateInformationMiddleware>(),
                    );
                    map.insert(key_id.to_owned(), (per_minute, limiter.clone()));
                    limiter
                }
            }
        };
        // One request's share of the budget: the GCRA emission interval.
        let cell = quota.replenish_interval();
        match limiter.check() {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                // The snapshot gives whole requests only; each spent one is back
                // within one cell of the previous, so this bound is exact to a cell.
                let spent = per_minute.saturating_sub(remaining);
                RateDecision {
                    allowed: true,
                    limit: per_minute,
                    remaining,
                    reset_secs: whole_seconds_up(cell * spent),
                    retry_after_secs: None,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                // Refused: the next cell arrives after `wait`; the rest of the
                // budget (burst - 1 cells) follows one cell at a time.
                let full = wait + cell * (per_minute - 1);
                RateDecision {
                    allowed: false,
                    limit: per_minute,
                    remaining: 0,
                    reset_secs: whole_seconds_up(full),
                    retry_after_secs: Some(whole_seconds_up(wait).max(1)),
                }
            }
        }
    }
}

/// Seconds, rounded up: waiting this long is always enough.
pub fn whole_seconds_up(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos().div_ceil(1_000_000_000)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manual() -> (FakeRelativeClock, RateLimits) {
        let clock = FakeRelativeClock::default();
        (clock.clone(), RateLimits::with_clock(LimiterClock::manual(clock)))
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn reset_is_the_time_until_the_whole_budget_is_back() {
        // 3 per minute: one request every 20 s, a burst of 3.
        let (_clock, limits) = manual();
        let expected = [(2, 20), (1, 40), (0, 60)];
        for (remaining, reset) in expected {
            let d = limits.check("k", 3);
            assert!(d.allowed);
            assert_eq!((d.limit, d.remaining, d.reset_secs, d.retry_after_secs), (3, remaining, reset, None));
        }
    }

    #[test]
    fn a_refusal_says_when_the_next_request_passes_and_when_the_budget_is_full() {
        let (clock, limits) = manual();
        for _ in 0..3 {
            assert!(limits.check("k", 3).allowed);
        }
        let refused = limits.check("k", 3);
        assert_eq!(
            refused,
            RateDecision { allowed: false, limit: 3, remaining: 0, reset_secs: 60, retry_after_secs: Some(20) }
        );
        clock.advance(secs(5));
        let refused = limits.check("k", 3);
        assert_eq!((refused.reset_secs, refused.retry_after_secs), (55, Some(15)));
        // Retry-After is enough: after it, the next request passes.
        clock.advance(secs(15));
        let passed = limits.check("k", 3);
        assert!(passed.allowed, "{passed:?}");
        assert_eq!((passed.remaining, passed.reset_secs), (0, 60));
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero_while_refused() {
        let (clock, limits) = manual();
        for _ in 0..3 {
            assert!(limits.check("k", 3).allowed);
        }
        // 1 ms before the next cell: a retry now fails, so Retry-After is 1, not 0.
        clock.advance(Duration::from_millis(19_999));
        let refused = limits.check("k", 3);
        assert_eq!((refused.allowed, refused.retry_after_secs), (false, Some(1)));
        assert_eq!(refused.reset_secs, 41);
        clock.advance(Duration::from_millis(1));
        assert!(limits.check("k", 3).allowed);
    }

    #[test]
    fn reset_never_promises_less_than_retry_after() {
        // Sweep a refused key over a whole minute at odd steps.
        let (clock, limits) = manual();
        for _ in 0..7 {
            limits.check("k", 7);
        }
        for _ in 0..200 {
            let d = limits.check("k", 7);
            if let Some(retry) = d.retry_after_secs {
                assert!(retry >= 1 && d.reset_secs >= retry, "{d:?}");
            } else {
                assert!(d.remaining < d.limit && d.reset_secs >= 1, "{d:?}");
            }
            clock.advance(Duration::from_millis(1_337));
        }
    }

    #[test]
    fn a_full_budget_comes_back_after_reset_seconds() {
        let (clock, limits) = manual();
        let last = (0..3).map(|_| limits.check("k", 3)).last().unwrap();
        clock.advance(secs(last.reset_secs));
        let fresh = limits.check("k", 3);
        assert_eq!((fresh.allowed, fresh.remaining), (true, 2));
    }

    #[test]
    fn after_reset_seconds_the_budget_is_always_full_again() {
        // Whatever the moment of the last answer (allowed or refused), waiting
        // RateLimit-Reset seconds gives the whole budget back.
        for step_ms in (0..60_000).step_by(700) {
            let (clock, limits) = manual();
            for _ in 0..3 {
                limits.check("k", 3);
            }
            clock.advance(Duration::from_millis(step_ms));
            let answer = limits.check("k", 3);
            clock.advance(secs(answer.reset_secs));
            let fresh = limits.check("k", 3);
            assert_eq!((fresh.allowed, fresh.remaining), (true, 2), "at {step_ms} ms: {answer:?}");
        }
    }

    #[test]
    fn keys_have_their_own_budget_and_a_changed_limit_starts_afresh() {
        let (_clock, limits) = manual();
        for _ in 0..3 {
            limits.check("k", 3);
        }
        assert!(!limits.check("k", 3).allowed);
        assert!(limits.check("other", 3).allowed);
        assert!(limits.check("k", 10).allowed);
    }
}
