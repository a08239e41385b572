//! A key's request budget as GCRA (the generic cell rate algorithm), in a
//! form that can be leased in slices: N requests a minute with a burst of N,
//! one request's share (a *cell*) every 60/N seconds. The whole state is one
//! number, the theoretical arrival time (TAT): the moment the budget would be
//! full again. Spending k requests at `now` moves it to `max(TAT, now) + k`
//! cells, allowed while that stays within N cells of `now`.
//!
//! Leasing k requests at once (the shared budget of several instances, see
//! docs/decisions.md, "Rate limits across instances") counts them spent when
//! leased; what a lease did not use is given back on the next lease. With one
//! request per lease this is exactly the per-process limiter.

/// Microseconds in a minute: budgets are measured in microseconds.
pub const MICROS_PER_MINUTE: i64 = 60_000_000;

/// One request's share of a budget of `limit` a minute, in microseconds.
pub fn cell_micros(limit: u32) -> i64 {
    (MICROS_PER_MINUTE / i64::from(limit.max(1))).max(1)
}

/// The outcome of [`lease`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// Requests granted (0: refused).
    pub granted: u32,
    /// The TAT the grant started from (`max(TAT, now)` after the give-back).
    pub base: i64,
    /// The TAT after the grant: what to store.
    pub tat: i64,
}

impl Lease {
    /// Refusals: the moment one request fits again.
    pub fn retry_at(&self, limit: u32) -> i64 {
        let cell = cell_micros(limit);
        self.tat + cell - cell * i64::from(limit.max(1))
    }
}

/// Leases up to `want` requests at `now` from a budget of `limit` a minute
/// whose TAT is `tat` (`None`: never used), after giving back `unused`
/// requests of an earlier lease.
pub fn lease(tat: Option<i64>, limit: u32, want: u32, unused: u32, now: i64) -> Lease {
    let cell = cell_micros(limit);
    let burst = cell * i64::from(limit.max(1));
    let given_back = tat.map_or(now, |tat| tat - i64::from(unused) * cell);
    let base = given_back.max(now);
    let room = (now + burst - base) / cell;
    let granted = room.clamp(0, i64::from(want)) as u32;
    Lease { granted, base, tat: base + i64::from(granted) * cell }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_budget_grants_its_burst_and_then_one_cell_at_a_time() {
        // 3 a minute: a cell is 20 s.
        let first = lease(None, 3, 5, 0, 0);
        assert_eq!(first, Lease { granted: 3, base: 0, tat: 60_000_000 });
        let refused = lease(Some(first.tat), 3, 1, 0, 0);
        assert_eq!(refused.granted, 0);
        assert_eq!(refused.retry_at(3), 20_000_000);
        assert_eq!(lease(Some(first.tat), 3, 5, 0, 20_000_000).granted, 1);
    }

    #[test]
    fn unused_requests_given_back_can_be_leased_again() {
        let first = lease(None, 10, 10, 0, 0);
        assert_eq!(lease(Some(first.tat), 10, 10, 0, 0).granted, 0);
        assert_eq!(lease(Some(first.tat), 10, 10, 4, 0).granted, 4);
    }
}
