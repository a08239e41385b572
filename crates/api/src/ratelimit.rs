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
//! always enough.
//!
//! Where the budget lives ([`Budgets`]): in process memory on SQLite (one
//! instance), exact to the request; on PostgreSQL in the database, shared by
//! every instance, so three instances behind a load balancer give a key its
//! limit, not three times it. There each instance leases a slice of the
//! budget ([`slice_of`]) and spends it locally for at most [`LEASE_TTL_MICROS`]
//! (1 s), giving back what it did not use with its next lease: one database
//! read and write per slice, none per request. Leased requests count as spent
//! when leased, so the deployment passes at most what one process would, plus
//! at most one second's worth of budget (`limit / 60`, rounded up) that a
//! lease taken just before a window may spend inside it (docs/decisions.md,
//! "Rate limits across instances"). With one instance the headers are those of
//! the in-process budget.
//!
//! Failed authentications are limited per client address too
//! ([`RateLimits::with_auth_failures_per_minute`]): each unknown key costs a
//! database lookup, so an address that keeps failing is refused with 429
//! before the lookup until its budget refills (docs/decisions.md, "Failed
//! authentication").
//!
//! Time comes from a [`LimiterClock`]: the process's monotonic clock in
//! production, a manual one in tests. Shared budgets need one time for all
//! instances: they use the application's clock.

use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use sonarly_domain::budget;
use sonarly_domain::clock::SharedClock;
use sonarly_store::{Backend, Store};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
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

/// Where keys' budgets live (see the module docs).
pub enum Budgets {
    /// In this process, measured with the limiters' clock: key id to (limit, TAT).
    InProcess(Mutex<HashMap<String, (u32, i64)>>),
    /// In the database, shared by every instance, measured with the application's clock.
    Shared { store: Store, clock: SharedClock, slices: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slice>>>> },
}

/// How long a leased slice may be spent, in microseconds: the bound on how
/// much a deployment may pass over one process's budget.
pub const LEASE_TTL_MICROS: i64 = 1_000_000;

/// Requests leased at once from a shared budget of `limit` a minute: a
/// twentieth of it (at least 1, at most 100), so a busy key costs about
/// twenty leases a minute however many requests it sends.
pub fn slice_of(limit: u32) -> u32 {
    (limit / 20).clamp(1, 100)
}

/// This instance's lease of one key's shared budget.
#[derive(Default)]
pub struct Slice {
    limit: u32,
    /// Requests left to spend before `expires` (microseconds).
    tokens: u32,
    expires: i64,
    /// The budget's TAT as this instance sees it: the shared one as of the
    /// last lease, minus what it has not spent yet.
    view: i64,
    /// After a refusal: no lease is tried before this moment.
    refused_until: i64,
}

pub struct RateLimits {
    clock: LimiterClock,
    budgets: Budgets,
    /// Off unless set ([`Self::with_auth_failures_per_minute`]).
    auth_failures: Option<AuthFailures>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::with_clock(LimiterClock::default())
    }
}

impl RateLimits {
    /// Budgets in process memory, measured with `clock`.
    pub fn with_clock(clock: LimiterClock) -> Self {
        Self { clock, budgets: Budgets::InProcess(Mutex::default()), auth_failures: None }
    }

    /// Budgets shared through `store` by every instance using it, measured
    /// with the application's `clock`.
    pub fn shared(store: Store, clock: SharedClock) -> Self {
        Self {
            clock: LimiterClock::default(),
            budgets: Budgets::Shared { store, clock, slices: Mutex::default() },
            auth_failures: None,
        }
    }

    /// What a deployment on `store` needs: shared budgets on PostgreSQL (where
    /// several instances may serve one database), in-process ones on SQLite
    /// (one instance holds the database's lock).
    pub fn for_store(store: &Store, clock: &SharedClock) -> Self {
        match store.backend() {
            Backend::Postgres => Self::shared(store.clone(), clock.clone()),
            Backend::Sqlite => Self::default(),
        }
    }

    /// Allows each client address `per_minute` failed authentications a
    /// minute (with a burst of as many); 0 turns the limit off.
    pub fn with_auth_failures_per_minute(mut self, per_minute: u32) -> Self {
        self.auth_failures = NonZeroU32::new(per_minute).map(|n| AuthFailures::new(n, self.clock.clone()));
        self
    }

    /// While `client` is over its failed-authentication budget: the seconds
    /// until it may try again (at least 1). Checked before authenticating, so
    /// a refused address costs no database lookup.
    pub fn auth_blocked(&self, client: ClientBucket) -> Option<u64> {
        let failures = self.auth_failures.as_ref()?;
        let now = self.clock.now();
        let mut blocked = lock(&failures.blocked);
        let until = *blocked.get(&client)?;
        if until > now {
            Some(whole_seconds_up(until.saturating_sub(now).into()).max(1))
        } else {
            blocked.remove(&client);
            None
        }
    }

    /// Counts a failed authentication from `client`. `Some(seconds)` when it
    /// went over the budget: the answer is then 429 with that `Retry-After`,
    /// and so is every request from `client` until then.
    pub fn auth_failed(&self, client: ClientBucket) -> Option<u64> {
        let failures = self.auth_failures.as_ref()?;
        failures.sweep_now_and_then(self.clock.now());
        let not_until = failures.limiter.check_key(&client).err()?;
        lock(&failures.blocked).insert(client, not_until.earliest_possible());
        Some(whole_seconds_up(not_until.wait_time_from(self.clock.now())).max(1))
    }

    /// Spends one request of `key_id`'s budget of `per_minute` if it can.
    pub async fn check(&self, key_id: &str, per_minute: u32) -> RateDecision {
        let limit = per_minute.max(1);
        match &self.budgets {
            Budgets::InProcess(budgets) => {
                let now = micros(self.clock.now().into());
                let mut budgets = lock(budgets);
                let stored = budgets.get(key_id).filter(|(l, _)| *l == limit).map(|(_, tat)| *tat);
                let lease = budget::lease(stored, limit, 1, 0, now);
                if lease.tat != stored.unwrap_or(i64::MIN) {
                    budgets.insert(key_id.to_owned(), (limit, lease.tat));
                }
                if lease.granted > 0 { allowed(limit, lease.tat, now) } else { refused(limit, lease, now) }
            }
            Budgets::Shared { store, clock, slices } => {
                let now = clock.now().as_millis().saturating_mul(1_000);
                let slice = lock(slices).entry(key_id.to_owned()).or_default().clone();
                let mut slice = slice.lock().await;
                spend_shared(store, key_id, limit, &mut slice, now).await
            }
        }
    }
}

/// One request from a shared budget: from this instance's slice while it
/// lasts, else from a new lease (see the module docs).
async fn spend_shared(store: &Store, key_id: &str, limit: u32, slice: &mut Slice, now: i64) -> RateDecision {
    let cell = budget::cell_micros(limit);
    if slice.limit != limit {
        *slice = Slice { limit, ..Slice::default() };
    }
    if slice.tokens > 0 && now < slice.expires && now >= slice.expires - LEASE_TTL_MICROS {
        slice.tokens -= 1;
        slice.view = slice.view.max(now) + cell;
        return allowed(limit, slice.view, now);
    }
    if now < slice.refused_until && now >= slice.refused_until - budget::MICROS_PER_MINUTE {
        let retry_after = whole_seconds_up(Duration::from_micros((slice.refused_until - now) as u64)).max(1);
        return RateDecision {
            allowed: false,
            limit,
            remaining: 0,
            reset_secs: seconds_until(slice.view, now),
            retry_after_secs: Some(retry_after),
        };
    }
    let unused = std::mem::take(&mut slice.tokens);
    match store.lease_rate_budget(key_id, limit, slice_of(limit), unused, now).await {
        Ok(lease) if lease.granted > 0 => {
            slice.tokens = lease.granted - 1;
            slice.expires = now + LEASE_TTL_MICROS;
            slice.view = lease.base + cell;
            slice.refused_until = 0;
            allowed(limit, slice.view, now)
        }
        Ok(lease) => {
            slice.view = lease.tat;
            slice.refused_until = lease.retry_at(limit);
            refused(limit, lease, now)
        }
        // The budget is bookkeeping: a database that cannot answer fails the
        // handler's own query anyway, so the request is not refused for it.
        Err(e) => {
            tracing::warn!(error = %e, "cannot lease a request budget; the request passes unmetered");
            RateDecision { allowed: true, limit, remaining: 0, reset_secs: 0, retry_after_secs: None }
        }
    }
}

/// An allowed request's headers, from the budget's TAT after spending it.
fn allowed(limit: u32, tat: i64, now: i64) -> RateDecision {
    let cell = budget::cell_micros(limit);
    let burst = cell * i64::from(limit);
    let remaining = ((burst - (tat - now)) / cell).clamp(0, i64::from(limit)) as u32;
    RateDecision { allowed: true, limit, remaining, reset_secs: seconds_until(tat, now), retry_after_secs: None }
}

/// A refusal's headers: the whole budget is back at the TAT, the next request
/// fits one cell earlier than a full burst before it.
fn refused(limit: u32, lease: budget::Lease, now: i64) -> RateDecision {
    RateDecision {
        allowed: false,
        limit,
        remaining: 0,
        reset_secs: seconds_until(lease.tat, now),
        retry_after_secs: Some(seconds_until(lease.retry_at(limit), now).max(1)),
    }
}

fn seconds_until(at: i64, now: i64) -> u64 {
    whole_seconds_up(Duration::from_micros(u64::try_from(at - now).unwrap_or(0)))
}

fn micros(elapsed: Duration) -> i64 {
    i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX)
}

/// Seconds, rounded up: waiting this long is always enough.
pub fn whole_seconds_up(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos().div_ceil(1_000_000_000)).unwrap_or(u64::MAX)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where a request comes from, for the failed-authentication limit: an IPv4
/// address, an IPv6 /64 (one host commonly holds a whole /64, so single
/// addresses would be free to rotate), or `Unknown` when the server did not
/// say (the router served without connection info): all of those share one
/// bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientBucket {
    V4(Ipv4Addr),
    /// The upper 64 bits of an IPv6 address.
    V6Net(u64),
    Unknown,
}

impl ClientBucket {
    pub fn of(address: Option<IpAddr>) -> Self {
        match address {
            None => Self::Unknown,
            Some(IpAddr::V4(v4)) => Self::V4(v4),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6Net((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

type FailureLimiter = RateLimiter<ClientBucket, HashMapStateStore<ClientBucket>, LimiterClock, NoOpMiddleware<Nanos>>;

/// Failures between sweeps of buckets that have nothing left to remember.
const SWEEP_EVERY: usize = 4_096;

/// The failed-authentication budgets of every client bucket.
struct AuthFailures {
    limiter: FailureLimiter,
    /// Buckets over their budget, with the moment their next attempt passes.
    blocked: Mutex<HashMap<ClientBucket, Nanos>>,
    since_sweep: AtomicUsize,
}

impl AuthFailures {
    fn new(per_minute: NonZeroU32, clock: LimiterClock) -> Self {
        Self {
            limiter: RateLimiter::hashmap_with_clock(Quota::per_minute(per_minute), clock),
            blocked: Mutex::default(),
            since_sweep: AtomicUsize::new(0),
        }
    }

    /// Keeps memory bounded under floods from many addresses: buckets whose
    /// budget is full again, and blocks that ended, are forgotten.
    fn sweep_now_and_then(&self, now: Nanos) {
        if self.since_sweep.fetch_add(1, Ordering::Relaxed) + 1 < SWEEP_EVERY {
            return;
        }
        self.since_sweep.store(0, Ordering::Relaxed);
        self.limiter.retain_recent();
        lock(&self.blocked).retain(|_, until| *until > now);
    }
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

    #[tokio::test]
    async fn reset_is_the_time_until_the_whole_budget_is_back() {
        // 3 per minute: one request every 20 s, a burst of 3.
        let (_clock, limits) = manual();
        let expected = [(2, 20), (1, 40), (0, 60)];
        for (remaining, reset) in expected {
            let d = limits.check("k", 3).await;
            assert!(d.allowed);
            assert_eq!((d.limit, d.remaining, d.reset_secs, d.retry_after_secs), (3, remaining, reset, None));
        }
    }

    #[tokio::test]
    async fn a_refusal_says_when_the_next_request_passes_and_when_the_budget_is_full() {
        let (clock, limits) = manual();
        for _ in 0..3 {
            assert!(limits.check("k", 3).await.allowed);
        }
        let refused = limits.check("k", 3).await;
        assert_eq!(
            refused,
            RateDecision { allowed: false, limit: 3, remaining: 0, reset_secs: 60, retry_after_secs: Some(20) }
        );
        clock.advance(secs(5));
        let refused = limits.check("k", 3).await;
        assert_eq!((refused.reset_secs, refused.retry_after_secs), (55, Some(15)));
        // Retry-After is enough: after it, the next request passes.
        clock.advance(secs(15));
        let passed = limits.check("k", 3).await;
        assert!(passed.allowed, "{passed:?}");
        assert_eq!((passed.remaining, passed.reset_secs), (0, 60));
    }

    #[tokio::test]
    async fn retry_after_rounds_up_and_is_never_zero_while_refused() {
        let (clock, limits) = manual();
        for _ in 0..3 {
            assert!(limits.check("k", 3).await.allowed);
        }
        // 1 ms before the next cell: a retry now fails, so Retry-After is 1, not 0.
        clock.advance(Duration::from_millis(19_999));
        let refused = limits.check("k", 3).await;
        assert_eq!((refused.allowed, refused.retry_after_secs), (false, Some(1)));
        assert_eq!(refused.reset_secs, 41);
        clock.advance(Duration::from_millis(1));
        assert!(limits.check("k", 3).await.allowed);
    }

    #[tokio::test]
    async fn reset_never_promises_less_than_retry_after() {
        // Sweep a refused key over a whole minute at odd steps.
        let (clock, limits) = manual();
        for _ in 0..7 {
            limits.check("k", 7).await;
        }
        for _ in 0..200 {
            let d = limits.check("k", 7).await;
            if let Some(retry) = d.retry_after_secs {
                assert!(retry >= 1 && d.reset_secs >= retry, "{d:?}");
            } else {
                assert!(d.remaining < d.limit && d.reset_secs >= 1, "{d:?}");
            }
            clock.advance(Duration::from_millis(1_337));
        }
    }

    #[tokio::test]
    async fn a_full_budget_comes_back_after_reset_seconds() {
        let (clock, limits) = manual();
        let mut last = limits.check("k", 3).await;
        for _ in 0..2 {
            last = limits.check("k", 3).await;
        }
        clock.advance(secs(last.reset_secs));
        let fresh = limits.check("k", 3).await;
        assert_eq!((fresh.allowed, fresh.remaining), (true, 2));
    }

    #[tokio::test]
    async fn after_reset_seconds_the_budget_is_always_full_again() {
        // Whatever the moment of the last answer (allowed or refused), waiting
        // RateLimit-Reset seconds gives the whole budget back.
        for step_ms in (0..60_000).step_by(700) {
            let (clock, limits) = manual();
            for _ in 0..3 {
                limits.check("k", 3).await;
            }
            clock.advance(Duration::from_millis(step_ms));
            let answer = limits.check("k", 3).await;
            clock.advance(secs(answer.reset_secs));
            let fresh = limits.check("k", 3).await;
            assert_eq!((fresh.allowed, fresh.remaining), (true, 2), "at {step_ms} ms: {answer:?}");
        }
    }

    #[tokio::test]
    async fn keys_have_their_own_budget_and_a_changed_limit_starts_afresh() {
        let (_clock, limits) = manual();
        for _ in 0..3 {
            limits.check("k", 3).await;
        }
        assert!(!limits.check("k", 3).await.allowed);
        assert!(limits.check("other", 3).await.allowed);
        assert!(limits.check("k", 10).await.allowed);
    }

    fn failures(per_minute: u32) -> (FakeRelativeClock, RateLimits) {
        let clock = FakeRelativeClock::default();
        (clock.clone(), RateLimits::with_clock(LimiterClock::manual(clock)).with_auth_failures_per_minute(per_minute))
    }

    fn v4(last: u8) -> ClientBucket {
        ClientBucket::of(Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, last))))
    }

    #[test]
    fn an_address_over_its_failure_budget_is_blocked_until_one_failure_refills() {
        // 3 a minute: one failure's share is 20 s.
        let (clock, limits) = failures(3);
        for _ in 0..3 {
            assert_eq!((limits.auth_blocked(v4(1)), limits.auth_failed(v4(1))), (None, None));
        }
        assert_eq!(limits.auth_failed(v4(1)), Some(20), "the fourth failure goes over");
        assert_eq!(limits.auth_blocked(v4(1)), Some(20));
        assert_eq!(limits.auth_blocked(v4(2)), None, "other addresses are not affected");
        clock.advance(Duration::from_millis(19_001));
        assert_eq!(limits.auth_blocked(v4(1)), Some(1), "rounded up, never 0 while blocked");
        clock.advance(Duration::from_millis(999));
        assert_eq!(limits.auth_blocked(v4(1)), None, "Retry-After was enough");
        assert_eq!(limits.auth_failed(v4(1)), None, "one failure refilled");
        assert_eq!(limits.auth_failed(v4(1)), Some(20));
    }

    #[test]
    fn the_failure_limit_is_off_unless_set() {
        let (_clock, limits) = failures(0);
        for _ in 0..1_000 {
            assert_eq!(limits.auth_failed(v4(1)), None);
        }
        assert_eq!(limits.auth_blocked(v4(1)), None);
        assert_eq!(RateLimits::default().auth_failed(ClientBucket::Unknown), None);
    }

    #[test]
    fn ipv6_addresses_share_their_64_bit_prefix_and_mapped_ipv4_is_ipv4() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientBucket::of(Some(a)), ClientBucket::of(Some(b)));
        assert_ne!(ClientBucket::of(Some(a)), ClientBucket::of(Some(c)));
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(ClientBucket::of(Some(mapped)), v4(7));
        assert_eq!(ClientBucket::of(None), ClientBucket::Unknown);
    }

    #[test]
    fn a_flood_from_many_addresses_is_forgotten_once_it_passes() {
        let (clock, limits) = failures(1);
        for n in 0..(2 * SWEEP_EVERY as u32) {
            let bucket = ClientBucket::of(Some(IpAddr::V4(Ipv4Addr::from(n))));
            limits.auth_failed(bucket);
            limits.auth_failed(bucket);
        }
        let held = |limits: &RateLimits| {
            let f = limits.auth_failures.as_ref().unwrap();
            (f.limiter.len(), lock(&f.blocked).len())
        };
        assert!(held(&limits).0 > SWEEP_EVERY);
        clock.advance(Duration::from_secs(120));
        for _ in 0..SWEEP_EVERY {
            limits.auth_failed(v4(1));
        }
        assert_eq!(held(&limits), (1, 1), "only the address still failing is remembered");
    }
}
