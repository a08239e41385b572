//! Opaque pagination cursors.
//!
//! A cursor names the last item of the previous page: the list it belongs to,
//! that item's `createdAt` (ms) and id, which is all a keyset query over
//! `(created_at, id)` needs. It is base64url JSON followed by a truncated
//! HMAC-SHA256 tag under a per-installation secret, so a hand-edited or foreign
//! cursor is refused with 400 instead of silently reading from elsewhere.
//!
//! The quickstart also passes an item's id as the next-page cursor
//! (`cursor=aud_…`). [`CursorCodec::decode_ref`] therefore accepts, besides
//! the opaque form, a value shaped like an id ([`is_item_id`]); the list then
//! looks the item up and reads after it. An opaque cursor always holds a `.`,
//! which no id does, so the two forms never overlap.

use crate::{DomainError, Timestamp};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const TAG_LEN: usize = 12;
const MAX_CURSOR_LEN: usize = 512;

/// A position in a list: the `(createdAt, id)` of the last item already seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorPosition {
    pub created_at: Timestamp,
    pub id: String,
}

#[derive(Serialize, Deserialize)]
struct CursorPayload {
    /// Which list the cursor was issued for.
    k: String,
    /// `createdAt` of the last item, in ms.
    t: i64,
    /// Id of the last item.
    i: String,
}

/// What a `cursor` value names: a position the list issued, or the id of one
/// of its items (the page then starts after that item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorRef {
    Position(CursorPosition),
    Item(String),
}

/// The longest item id accepted as a cursor.
pub const MAX_ITEM_ID_LEN: usize = 100;

/// True when `text` has the shape of an item id: 1 to 100 ASCII letters,
/// digits, `_` or `-` (every id this server issues). Opaque cursors hold a
/// `.`, so they never pass.
pub fn is_item_id(text: &str) -> bool {
    (1..=MAX_ITEM_ID_LEN).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Signs and verifies cursors with the installation's secret.
#[derive(Clone)]
pub struct CursorCodec {
    secret: Vec<u8>,
}

impl std::fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorCodec(..)")
    }
}

impl CursorCodec {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self { secret: secret.into() }
    }

    fn tag(&self, payload: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC accepts any key length");
        mac.update(payload);
        mac.finalize().into_bytes()[..TAG_LEN].to_vec()
    }

    pub fn encode(&self, list: &str, position: &CursorPosition) -> String {
        let payload = serde_json::to_vec(&CursorPayload {
            k: list.to_owned(),
            t: position.created_at.as_millis(),
            i: position.id.clone(),
        })
        .expect("cursor payload serializes");
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(self.tag(&payload)))
    }

    /// Decodes a cursor issued for `list`; anything else is a 400.
    pub fn decode(&self, list: &str, cursor: &str) -> Result<CursorPosition, DomainError> {
        let invalid = || DomainError::invalid_field("cursor", "is not a cursor returned by this list");
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(invalid());
        }
        let (payload_b64, tag_b64) = cursor.split_once('.').ok_or_else(invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| invalid())?;
        let tag = URL_SAFE_NO_PAD.decode(tag_b64).map_err(|_| invalid())?;
        let expected = self.tag(&payload);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_slice(), tag.as_slice())) {
            return Err(invalid());
        }
        let parsed: CursorPayload = serde_json::from_slice(&payload).map_err(|_| invalid())?;
        if parsed.k != list {
            return Err(invalid());
        }
        Ok(CursorPosition { created_at: Timestamp::from_millis(parsed.t), id: parsed.i })
    }

    /// Decodes a cursor issued for `list`, or takes a value shaped like an id
    /// as the id of one of the list's items (which the list must still find;
    /// anything else is a 400).
    pub fn decode_ref(&self, list: &str, cursor: &str) -> Result<CursorRef, DomainError> {
        match self.decode(list, cursor) {
            Ok(position) => Ok(CursorRef::Position(position)),
            Err(_) if is_item_id(cursor) => Ok(CursorRef::Item(cursor.to_owned())),
            Err(e) => Err(e),
        }
    }
}

/// The 400 for a cursor that is neither one this list issued nor the id of one of its items.
pub fn unknown_cursor() -> DomainError {
    DomainError::invalid_field("cursor", "is neither a cursor returned by this list nor the id of one of its items")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position() -> CursorPosition {
        CursorPosition {
            created_at: Timestamp::from_millis(1_777_636_800_000),
            id: "aud_01HYR8B9P4D6Y2A7C3E1F0G5H9".into(),
        }
    }

    #[test]
    fn round_trips() {
        let codec = CursorCodec::new(b"secret".to_vec());
        let cursor = codec.encode("audiences", &position());
        assert_eq!(codec.decode("audiences", &cursor).unwrap(), position());
    }

    #[test]
    fn refuses_tampering_foreign_lists_and_other_secrets() {
        let codec = CursorCodec::new(b"secret".to_vec());
        let cursor = codec.encode("audiences", &position());
        assert!(codec.decode("accounts", &cursor).is_err());
        assert!(CursorCodec::new(b"other".to_vec()).decode("audiences", &cursor).is_err());
        let (payload, tag) = cursor.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"k":"audiences","t":1,"i":"x"}"#);
        assert!(codec.decode("audiences", &format!("{forged_payload}.{tag}")).is_err());
        assert!(codec.decode("audiences", payload).is_err());
        for junk in ["", ".", "abc", "eyJjcmVhdGVkQXQiOiIyMDI2LTA0LTI4VDE1OjMwOjAwLjAwMFoifQ", "%%%.%%%"] {
            let err = codec.decode("audiences", junk).unwrap_err();
            assert_eq!(err.status, 400);
        }
        assert!(codec.decode("audiences", &"a".repeat(10_000)).is_err());
    }

    #[test]
    fn an_item_id_is_a_cursor_reference_and_an_opaque_cursor_stays_a_position() {
        let codec = CursorCodec::new(b"secret".to_vec());
        let cursor = codec.encode("audiences", &position());
        assert_eq!(codec.decode_ref("audiences", &cursor).unwrap(), CursorRef::Position(position()));
        for id in ["aud_01HYR8B9P4D6Y2A7C3E1F0G5H9", "507f1f77bcf86cd799439011", "a-b_c"] {
            assert_eq!(codec.decode_ref("audiences", id).unwrap(), CursorRef::Item(id.into()), "{id}");
        }
        // A tampered or foreign opaque cursor is still refused, never read as an id.
        assert!(codec.decode_ref("accounts", &cursor).is_err());
        for junk in ["", ".", "%%%.%%%", "a b", "aud_1;drop", "x\u{0}"] {
            assert_eq!(codec.decode_ref("audiences", junk).unwrap_err().status, 400, "{junk}");
        }
        assert!(codec.decode_ref("audiences", &"a".repeat(MAX_ITEM_ID_LEN + 1)).is_err());
        assert!(codec.decode_ref("audiences", &"a".repeat(MAX_ITEM_ID_LEN)).is_ok());
    }
}
