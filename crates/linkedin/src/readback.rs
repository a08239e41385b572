//! Reading back what an attempt may have produced, the same way for every
//! provider that cannot answer by token: own messages in the conversation,
//! sent since the attempt started, carrying the attempt's exact text.
//!
//! The engine then attributes one of these traces to the attempt (a provider
//! message belongs to at most one response or campaign step), so an earlier
//! message with the same words can never stand in for a later one.

use crate::types::{ChatMessage, SentMessage, Trace};
use sonarly_domain::Timestamp;

/// Whether LinkedIn's copy of a text is the text we sent: the same words in
/// the same order (LinkedIn may reshape line endings and runs of spaces).
pub fn same_text(shown: &str, sent: &str) -> bool {
    shown.split_whitespace().eq(sent.split_whitespace())
}

/// The own messages among `messages` with `text`, sent at or after `since`, oldest first.
pub fn own_messages_with(messages: &[ChatMessage], text: &str, since: Timestamp) -> Vec<Trace> {
    let mut found: Vec<&ChatMessage> =
        messages.iter().filter(|m| m.is_sender && m.sent_at >= since && same_text(&m.text, text)).collect();
    found.sort_by(|a, b| a.sent_at.cmp(&b.sent_at).then_with(|| a.message_id.cmp(&b.message_id)));
    found
        .into_iter()
        .map(|m| {
            Trace::Message(SentMessage {
                chat_id: m.chat_id.clone(),
                message_id: Some(m.message_id.clone()),
                sent_at: m.sent_at,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, is_sender: bool, text: &str, at: i64) -> ChatMessage {
        ChatMessage {
            message_id: id.into(),
            chat_id: "2-chat".into(),
            sender_provider_id: "ACoAA".into(),
            is_sender,
            text: text.into(),
            sent_at: Timestamp::from_millis(at),
            attachments: Vec::new(),
            parent_message_id: None,
        }
    }

    #[test]
    fn only_own_messages_with_the_exact_text_since_the_attempt_count_oldest_first() {
        let messages = [
            message("later", true, "Thanks!", 300),
            message("inbound", false, "Thanks!", 250),
            message("other", true, "Thanks a lot!", 220),
            message("first", true, " Thanks!\r\n", 200),
            message("before", true, "Thanks!", 99),
        ];
        let found = own_messages_with(&messages, "Thanks!", Timestamp::from_millis(100));
        let ids: Vec<_> = found
            .iter()
            .map(|t| match t {
                Trace::Message(m) => m.message_id.clone().unwrap(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ids, ["first", "later"]);
    }

    #[test]
    fn only_whitespace_may_differ() {
        assert!(same_text("Hello   Julien,\r\nthanks!", "Hello Julien,\nthanks!"));
        assert!(!same_text("Hello Julien, thanks", "Hello Julien, thanks!"));
    }
}
