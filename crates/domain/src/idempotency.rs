//! How long an Idempotency-Key answers for the resource it created.

use crate::Timestamp;

/// A resource created under a key is replayed for this long; after it, the key may be used again.
pub const WINDOW_MS: i64 = 24 * 3_600_000;

/// Whether a resource created at `created_at` still answers for its key at `now`.
pub fn within_window(created_at: Timestamp, now: Timestamp) -> bool {
    created_at.as_millis() >= now.as_millis() - WINDOW_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_answers_for_24_hours_to_the_millisecond() {
        let created = Timestamp::from_millis(1_000);
        assert!(within_window(created, Timestamp::from_millis(1_000 + WINDOW_MS)));
        assert!(!within_window(created, Timestamp::from_millis(1_001 + WINDOW_MS)));
    }
}
