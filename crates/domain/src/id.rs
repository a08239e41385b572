//! Identifiers. Most resources use 24-hex ids shaped like the documented
//! examples (4 bytes of seconds since the epoch, then 8 random bytes), so they
//! sort roughly by creation time and cannot be guessed. Where the docs show a
//! prefixed ULID (`aud_…`, `trace_…`) we use that shape instead.

use crate::Timestamp;
use rand::Rng;

/// A new 24-hex id for `at`.
pub fn new_hex_id(at: Timestamp) -> String {
    let secs = (at.as_millis().max(0) / 1000) as u32;
    let mut tail = [0u8; 8];
    rand::rng().fill_bytes(&mut tail);
    let mut out = String::with_capacity(24);
    out.push_str(&hex::encode(secs.to_be_bytes()));
    out.push_str(&hex::encode(tail));
    out
}

/// True when `text` has the shape of a 24-hex id.
pub fn is_hex_id(text: &str) -> bool {
    text.len() == 24 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A new `prefix_` + ULID id whose time part is `at`.
pub fn new_prefixed_ulid(prefix: &str, at: Timestamp) -> String {
    let ms = at.as_millis().max(0) as u64;
    let ulid = ulid::Ulid::from_parts(ms, rand::random::<u128>());
    format!("{prefix}_{ulid}")
}

/// Audience ids are `aud_` + ULID, as in the quickstart.
pub fn new_audience_id(at: Timestamp) -> String {
    new_prefixed_ulid("aud", at)
}

/// Trace ids are `trace_` + ULID, as in the quickstart.
pub fn new_trace_id(at: Timestamp) -> String {
    new_prefixed_ulid("trace", at)
}

/// The id of an account group: the tenant that owns every group-scoped row.
///
/// A distinct type so that "the group first" is checked by the compiler: a
/// store function that takes `&GroupId` cannot be handed an audience or a
/// campaign id by mistake. One is made from an authenticated request's path
/// (after the key was checked against it), from a stored row, or by an
/// operator command; the text itself is not validated here, as an unknown
/// group simply owns nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct GroupId(String);

impl GroupId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::ops::Deref for GroupId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for GroupId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for GroupId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for GroupId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for GroupId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl From<&String> for GroupId {
    fn from(id: &String) -> Self {
        Self(id.clone())
    }
}

impl From<&str> for GroupId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl From<GroupId> for String {
    fn from(id: GroupId) -> Self {
        id.0
    }
}

impl PartialEq<str> for GroupId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for GroupId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for GroupId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<GroupId> for String {
    fn eq(&self, other: &GroupId) -> bool {
        *self == other.0
    }
}

impl PartialEq<GroupId> for &str {
    fn eq(&self, other: &GroupId) -> bool {
        *self == other.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_ids_are_time_ordered_and_distinct() {
        let a = new_hex_id(Timestamp::from_millis(1_000_000));
        let b = new_hex_id(Timestamp::from_millis(2_000_000));
        assert!(is_hex_id(&a) && is_hex_id(&b));
        assert!(a < b);
        assert_ne!(new_hex_id(Timestamp::from_millis(1)), new_hex_id(Timestamp::from_millis(1)));
        assert!(!is_hex_id("507f1f77bcf86cd79943901"));
        assert!(!is_hex_id("507f1f77bcf86cd79943901G"));
    }

    #[test]
    fn prefixed_ulids_have_prefix_and_length() {
        let id = new_trace_id(Timestamp::from_millis(1_716_653_040_356));
        assert!(id.starts_with("trace_01HYR"));
        assert_eq!(id.len(), "trace_".len() + 26);
        assert!(new_audience_id(Timestamp::from_millis(0)).starts_with("aud_"));
    }
}
