//! API-key material. A key is `sk_live_` + 40 random base62 characters. Only
//! its SHA-256 is stored; lookups go by hash and the final comparison is done in
//! constant time. The first characters are kept for display (`sk_live_Ab12…`).

use rand::RngExt;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Never change this for existing keys: clients and secret scanners match on it.
pub const KEY_PREFIX: &str = "sk_live_";
const RANDOM_LEN: usize = 40;
const DISPLAY_LEN: usize = KEY_PREFIX.len() + 6;

/// A freshly generated key. The plaintext exists only in this value and is
/// shown once; everything stored derives from `hash()`.
pub struct GeneratedKey {
    plaintext: String,
}

impl GeneratedKey {
    pub fn generate() -> Self {
        let random: String = rand::rng().sample_iter(&Alphanumeric).take(RANDOM_LEN).map(char::from).collect();
        Self { plaintext: format!("{KEY_PREFIX}{random}") }
    }

    pub fn plaintext(&self) -> &str {
        &self.plaintext
    }

    pub fn hash(&self) -> String {
        hash_key(&self.plaintext)
    }

    /// The non-secret start of the key, for listings.
    pub fn display_prefix(&self) -> String {
        self.plaintext[..DISPLAY_LEN].to_owned()
    }
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GeneratedKey({}…)", self.display_prefix())
    }
}

/// Hex SHA-256 of a presented key.
pub fn hash_key(presented: &str) -> String {
    hex::encode(Sha256::digest(presented.as_bytes()))
}

/// True when `presented` has the shape of a Sonarly key; cheap pre-check that
/// saves a database lookup for obvious garbage.
pub fn looks_like_key(presented: &str) -> bool {
    presented.len() == KEY_PREFIX.len() + RANDOM_LEN
        && presented.starts_with(KEY_PREFIX)
        && presented[KEY_PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Constant-time comparison of two stored-form hashes.
pub fn hashes_match(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// 32 random bytes as hex, for installation secrets (e.g. cursor signing).
pub fn random_secret_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_documented_shape() {
        let key = GeneratedKey::generate();
        assert!(key.plaintext().starts_with("sk_live_"));
        assert!(key.plaintext().len() >= KEY_PREFIX.len() + 32);
        assert!(looks_like_key(key.plaintext()));
        assert_eq!(key.hash(), hash_key(key.plaintext()));
        assert_ne!(key.hash(), key.plaintext());
        assert!(!format!("{key:?}").contains(key.plaintext()));
        assert_ne!(GeneratedKey::generate().plaintext(), key.plaintext());
    }

    #[test]
    fn shape_check_and_comparison() {
        assert!(!looks_like_key("sk_live_short"));
        assert!(!looks_like_key(&format!("sk_test_{}", "a".repeat(40))));
        assert!(hashes_match("abc", "abc"));
        assert!(!hashes_match("abc", "abd"));
        assert!(!hashes_match("abc", "abcd"));
    }
}
