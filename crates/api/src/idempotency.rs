//! Idempotency-Key on creating routes (spec 1.6): one mechanism.
//!
//! The key is stored on the resource it created (a scheduled response, a
//! prospecting job, a signal scan) with the canonical hash of the request
//! body, under a unique index per account group; the store's keyed creation
//! (`sonarly_store` `idempotency`) replays the resource created under the same
//! key within [`sonarly_domain::idempotency::WINDOW_MS`] and resolves
//! concurrent duplicates; the use case answers 409 IDEMPOTENCY_CONFLICT when
//! the body differs. This module holds what the edge needs: the key's bound
//! and the body hash (JSON re-serialized with sorted keys, so whitespace or
//! key order do not make a retry look different).

use sha2::{Digest, Sha256};

/// The longest Idempotency-Key accepted.
pub const MAX_KEY_LEN: usize = 256;

pub fn canonical_hash(bytes: &[u8]) -> String {
    let canonical = match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(value) => value.to_string().into_bytes(),
        Err(_) => bytes.to_vec(),
    };
    hex_digest(&canonical)
}

fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_key_order_and_whitespace() {
        assert_eq!(canonical_hash(br#"{"a":1,"b":[1,2]}"#), canonical_hash(b"{ \"b\": [1, 2],\n \"a\": 1 }"));
        assert_ne!(canonical_hash(br#"{"a":1}"#), canonical_hash(br#"{"a":2}"#));
        assert_ne!(canonical_hash(b""), canonical_hash(b"{}"));
    }
}
