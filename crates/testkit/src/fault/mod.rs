//! A fault-injecting LinkedIn for the exactly-once tests.
//!
//! The sandbox honours idempotency tokens, so it hides a double send. This
//! network does not: it records every delivery it is asked for, however many
//! times the same token comes, and misbehaves the ways a real provider does:
//! it answers slower than the client waits and delivers anyway, fails before
//! delivering, delivers and then fails (5xx, reset, timeout), shows what it
//! delivered only after a delay, or never answers (the caller crashes mid-call).
//!
//! Two front doors share one [`FaultyNetwork`]:
//! - [`FaultyLinkedIn`], an in-process [`LinkedIn`](sonarly_linkedin::LinkedIn)
//!   for engine tests on a manual clock (hand it to the engine with
//!   `ProviderRegistry::set_provider`);
//! - [`UnipileMock`], an HTTP server speaking the Unipile routes the connector
//!   uses, for tests that run a real `sonarly serve` against a Unipile account.
//!
//! Faults are taken, per write, from the faults set for its text
//! ([`FaultyNetwork::fault_for_text`]), then from a script
//! ([`FaultyNetwork::push_faults`]), then from a seeded random mix
//! ([`FaultMix`]); reads never fail.

mod http;
mod network;
mod provider;
#[cfg(test)]
mod tests;

pub use http::UnipileMock;
pub use network::{Delivery, DeliveryKind, FaultyNetwork, Member};
pub use provider::FaultyLinkedIn;

/// How one write misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Deliver and answer at once.
    None,
    /// Fail without delivering anything.
    FailBefore(Failure),
    /// Deliver, then fail the answer.
    DeliverThenFail(Failure),
    /// Take this many milliseconds, then deliver and answer. Slower than the
    /// client waits: the client times out and the delivery happens anyway.
    Slow(i64),
    /// Never answer (the caller is cancelled mid-call: a crash), having
    /// delivered or not.
    Hang { deliver: bool },
    /// Wait for [`FaultyNetwork::release_held`], then deliver and answer.
    Hold,
}

/// How a failed answer looks to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// An HTTP status with Unipile's problem body (`503`, `500`, `504`…).
    Status(u16),
    /// The connection is closed without an answer.
    Reset,
    /// No answer before the client's timeout.
    Timeout,
}

/// A seeded random fault mix for soak tests: per write, each probability in
/// turn (the rest answers normally).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultMix {
    pub seed: u64,
    /// A 503, reset or timeout, nothing delivered.
    pub fail_before: f64,
    /// Delivered, then a 503, reset or timeout.
    pub deliver_then_fail: f64,
    /// Slow answers, uniformly within `slow_ms` (may exceed the client timeout).
    pub slow: f64,
    pub slow_ms: (i64, i64),
    /// No answer at all, delivered or not (half each).
    pub hang: f64,
}

/// Deterministic 64-bit generator (splitmix64).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed ^ 0x5EED_FA17)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi]`.
    pub(crate) fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
}

impl FaultMix {
    pub(crate) fn pick(&self, rng: &mut Rng) -> Fault {
        let failure = |rng: &mut Rng| match rng.next_u64() % 3 {
            0 => Failure::Status(503),
            1 => Failure::Reset,
            _ => Failure::Timeout,
        };
        let roll = rng.unit();
        let mut edge = self.fail_before;
        if roll < edge {
            return Fault::FailBefore(failure(rng));
        }
        edge += self.deliver_then_fail;
        if roll < edge {
            return Fault::DeliverThenFail(failure(rng));
        }
        edge += self.slow;
        if roll < edge {
            return Fault::Slow(rng.between(self.slow_ms.0, self.slow_ms.1));
        }
        edge += self.hang;
        if roll < edge {
            return Fault::Hang { deliver: rng.next_u64().is_multiple_of(2) };
        }
        Fault::None
    }
}
