//! Bounds on what a LinkedIn provider hands us, applied where provider events
//! enter the inbox (webhooks and the inbox sync alike, see
//! [`crate::inbox::handle_event`]).
//!
//! A provider is an outside party: its clocks drift and its payloads are
//! whatever it sends. A message dated in the year 9999 would otherwise sit at
//! the top of the newest-first inbox for ever (and push the sync's watermark
//! past every later message); a megabyte of text would be stored and served on
//! every list. So times are clamped to a sane window and texts are capped, with
//! a visible marker, at the sizes the API documents.

use sonarly_domain::Timestamp;

/// How far ahead of our clock a provider time may be (clock skew between
/// LinkedIn, the provider and us). Later times are taken as "now".
pub const MAX_CLOCK_SKEW_MS: i64 = 5 * 60_000;
/// The longest message text kept: LinkedIn's own limit for a message.
pub const MAX_MESSAGE_CHARS: usize = 8_000;
/// The longest conversation name, attachment file name or MIME type kept.
pub const MAX_NAME_CHARS: usize = 500;
/// The longest attachment URL kept.
pub const MAX_URL_CHARS: usize = 2_048;
/// The longest provider id accepted (message, chat, member ids); an event
/// with a longer one is refused, as no LinkedIn id comes close.
pub const MAX_ID_CHARS: usize = 256;
/// Most attachments kept per message.
pub const MAX_ATTACHMENTS: usize = 20;
/// Ends a text that was cut.
pub const TRUNCATION_MARKER: &str = " […truncated]";

/// `at` within `[epoch, now + MAX_CLOCK_SKEW_MS]`: a time from the future
/// becomes `now` (when we received it), one before 1970 becomes the epoch.
pub fn bounded_time(at: Timestamp, now: Timestamp) -> Timestamp {
    if at > now.plus_millis(MAX_CLOCK_SKEW_MS) {
        now
    } else if at.as_millis() < 0 {
        Timestamp::from_millis(0)
    } else {
        at
    }
}

/// `text` cut to at most `max_chars` characters, the cut marked with
/// [`TRUNCATION_MARKER`] (which counts toward the limit).
pub fn bounded_text(text: &str, max_chars: usize) -> String {
    let prefix = |chars: usize| &text[..text.char_indices().nth(chars).map_or(text.len(), |(i, _)| i)];
    if text.chars().nth(max_chars).is_none() {
        return text.to_owned();
    }
    let marker = TRUNCATION_MARKER.chars().count();
    if max_chars <= marker {
        return prefix(max_chars).to_owned();
    }
    format!("{}{TRUNCATION_MARKER}", prefix(max_chars - marker))
}

/// An optional text cut like [`bounded_text`].
pub fn bounded_opt(text: Option<&str>, max_chars: usize) -> Option<String> {
    text.map(|t| bounded_text(t, max_chars))
}

/// True when a provider id is short enough to be a real one.
pub fn id_fits(id: &str) -> bool {
    id.len() <= MAX_ID_CHARS
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_480_800_000; // 2026-06-03T10:00:00Z

    #[test]
    fn a_provider_time_from_the_far_future_is_taken_as_now() {
        let now = Timestamp::from_millis(NOW);
        let year_9999 = Timestamp::parse_rfc3339("9999-12-31T23:59:59Z").unwrap();
        assert_eq!(bounded_time(year_9999, now), now);
        assert_eq!(bounded_time(now.plus_millis(MAX_CLOCK_SKEW_MS + 1), now), now);
        // Small skew and the past are kept as they are; before 1970 is the epoch.
        let skewed = now.plus_millis(MAX_CLOCK_SKEW_MS);
        assert_eq!(bounded_time(skewed, now), skewed);
        let past = Timestamp::from_millis(NOW - 86_400_000);
        assert_eq!(bounded_time(past, now), past);
        assert_eq!(bounded_time(Timestamp::from_millis(-5), now), Timestamp::from_millis(0));
    }

    #[test]
    fn a_long_provider_text_is_cut_to_the_limit_with_a_marker() {
        assert_eq!(bounded_text("short", 10), "short");
        assert_eq!(bounded_text("exactly 10", 10), "exactly 10");
        let huge = "é".repeat(1_000_000);
        let cut = bounded_text(&huge, MAX_MESSAGE_CHARS);
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS);
        assert!(cut.ends_with(TRUNCATION_MARKER));
        assert!(cut.starts_with("éé"));
        // A limit shorter than the marker still holds.
        assert_eq!(bounded_text("abcdefghijklmnopqrstuvwxyz", 3), "abc");
        assert!(id_fits(&"a".repeat(MAX_ID_CHARS)) && !id_fits(&"a".repeat(MAX_ID_CHARS + 1)));
    }
}
