//! Provider text as we keep it. Text from LinkedIn (names, headlines, message
//! bodies, error descriptions) may hold U+0000, which PostgreSQL cannot store
//! in `text` and SQLite would store as is; and other C0 controls, which the
//! API refuses in its own input. Every provider answer passes through here
//! before it becomes a value of this crate, so whatever is stored obeys the
//! same rule on both backends: no C0 control character except tab, line feed
//! and carriage return (docs/decisions.md, "Input at the edge"). They are
//! removed, not refused: the message is real and must not be lost over an
//! invisible character.

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::borrow::Cow;

/// Whether provider text loses `c`: C0 controls other than tab, LF and CR.
fn removed(c: char) -> bool {
    c <= '\u{1f}' && !matches!(c, '\t' | '\n' | '\r')
}

/// `text` without the characters we do not store (borrowed when it has none).
pub fn sanitize_provider_text(text: &str) -> Cow<'_, str> {
    if text.chars().any(removed) {
        Cow::Owned(text.chars().filter(|c| !removed(*c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// [`sanitize_provider_text`] on every string and key of a provider payload.
pub fn sanitize_provider_json(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(clean) = sanitize_provider_text(s) {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sanitize_provider_json),
        Value::Object(map) => {
            if map.keys().any(|k| k.chars().any(removed)) {
                let entries = std::mem::take(map);
                map.extend(entries.into_iter().map(|(k, v)| (sanitize_provider_text(&k).into_owned(), v)));
            }
            map.values_mut().for_each(sanitize_provider_json);
        }
        _ => {}
    }
}

/// Decodes a provider's JSON answer, sanitized, into `T`.
pub fn decode_provider_json<T: DeserializeOwned>(body: &[u8]) -> serde_json::Result<T> {
    let mut value: Value = serde_json::from_slice(body)?;
    sanitize_provider_json(&mut value);
    serde_json::from_value(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_and_other_controls_are_removed_and_text_is_kept() {
        assert_eq!(sanitize_provider_text("Hel\u{0}lo\u{7} \u{1b}[1mthere"), "Hello [1mthere");
        assert_eq!(sanitize_provider_text("line\r\nnext\tcol é 🚀"), "line\r\nnext\tcol é 🚀");
        assert!(matches!(sanitize_provider_text("clean"), Cow::Borrowed(_)));
    }

    #[test]
    fn payloads_are_cleaned_at_every_depth_keys_included() {
        let mut value = json!({"items": [{"text": "a\u{0}b", "sender": {"name": "\u{0}Ann"}}], "k\u{0}": 1, "n": 3});
        sanitize_provider_json(&mut value);
        assert_eq!(value, json!({"items": [{"text": "ab", "sender": {"name": "Ann"}}], "k": 1, "n": 3}));
    }

    #[test]
    fn decoding_cleans_before_the_types_see_the_text() {
        #[derive(serde::Deserialize)]
        struct Message {
            text: String,
        }
        let decoded: Message = decode_provider_json(br#"{"text": "hi\u0000 there"}"#).unwrap();
        assert_eq!(decoded.text, "hi there");
        assert!(decode_provider_json::<Message>(b"{").is_err());
    }
}
