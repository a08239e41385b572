//! Reconciliation: after a write whose outcome is unknown, read back what LinkedIn
//! shows (contract §8 "Idempotency"). Never a blind retry.

use super::UnipileLinkedIn;
use super::mapping::{is_member_id, same_text};
use super::people::INVITATION_PAGE;
use crate::error::LinkedInResult;
use crate::types::*;
use sonarly_domain::Timestamp;

/// Clock difference tolerated between us and LinkedIn when comparing send times.
pub(crate) const RECONCILE_SKEW_MS: i64 = 2 * 60 * 1000;
/// Pending-invitation pages scanned (newest first; an attempt being reconciled is recent).
const INVITATION_PAGES: usize = 3;
/// Chat pages scanned for a conversation with the recipient.
const CHAT_PAGES: usize = 4;
const CHAT_SCAN_PAGE: u32 = 50;
/// The latest messages of a chat read to find ours.
const MESSAGE_SCAN: u32 = 50;

impl UnipileLinkedIn {
    pub(crate) async fn do_reconcile(
        &self,
        attempt: &OutboundAttempt,
        attempted_at: Timestamp,
    ) -> LinkedInResult<Reconciled> {
        let since = attempted_at.plus_millis(-RECONCILE_SKEW_MS);
        match attempt {
            OutboundAttempt::Invitation { recipient_provider_id } => self.invitation_sent(recipient_provider_id).await,
            OutboundAttempt::Message { chat_id, text } => Ok(match self.own_message_in(chat_id, text, since).await? {
                Some(sent) => Reconciled::Sent(Some(sent)),
                None => Reconciled::NotSent,
            }),
            OutboundAttempt::StartChat { recipient_provider_id, text } => {
                self.chat_message_sent(recipient_provider_id, text, since).await
            }
            OutboundAttempt::InMail { recipient_provider_id, body } => {
                self.chat_message_sent(recipient_provider_id, body, since).await
            }
        }
    }

    /// An invitation happened when it is pending in the sent list, or when the profile
    /// shows it pending or already accepted (it leaves the pending list on acceptance).
    /// No time check: LinkedIn keeps one pending invitation per recipient, so an older
    /// one would have made our attempt fail as `already_invited_recently` anyway.
    async fn invitation_sent(&self, recipient: &str) -> LinkedInResult<Reconciled> {
        let recipient = recipient.trim();
        let mut ids = vec![recipient.to_owned()];
        let mut profile_checked = false;
        if !is_member_id(recipient) {
            let profile = self.fetch_profile(recipient, false, false).await?;
            if invited_or_connected(&profile) {
                return Ok(Reconciled::Sent(None));
            }
            ids.push(profile.provider_id);
            profile_checked = true;
        }
        let mut cursor: Option<String> = None;
        for _ in 0..INVITATION_PAGES {
            let page = self.list_sent_invitations(cursor.as_deref(), INVITATION_PAGE).await?;
            if page.items.iter().any(|i| ids.contains(&i.recipient_provider_id)) {
                return Ok(Reconciled::Sent(None));
            }
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        if !profile_checked {
            let profile = self.fetch_profile(recipient, false, false).await?;
            if invited_or_connected(&profile) {
                return Ok(Reconciled::Sent(None));
            }
        }
        Ok(Reconciled::NotSent)
    }

    /// Our message with this text in the chat's latest messages, sent at or after `since`.
    async fn own_message_in(&self, chat_id: &str, text: &str, since: Timestamp) -> LinkedInResult<Option<SentMessage>> {
        let page = self.list_messages(chat_id, None, MESSAGE_SCAN).await?;
        Ok(page
            .items
            .into_iter()
            .find(|m| m.is_sender && m.sent_at >= since && same_text(&m.text, text))
            .map(|m| SentMessage { chat_id: m.chat_id, message_id: Some(m.message_id), sent_at: m.sent_at }))
    }

    /// A started chat or InMail happened when a conversation with the recipient, active
    /// since the attempt, holds our message. Chats come most recent first, so the scan
    /// stops at the first chat older than the attempt.
    async fn chat_message_sent(&self, recipient: &str, text: &str, since: Timestamp) -> LinkedInResult<Reconciled> {
        let recipient = recipient.trim();
        let mut attendees = vec![recipient.to_owned()];
        if !is_member_id(recipient) {
            attendees.push(self.resolve_member(recipient).await?);
        }
        let mut cursor: Option<String> = None;
        for _ in 0..CHAT_PAGES {
            let page = self.list_chats(cursor.as_deref(), CHAT_SCAN_PAGE).await?;
            let mut older_reached = false;
            for chat in &page.items {
                if chat.last_activity_at.is_some_and(|at| at < since) {
                    older_reached = true;
                    break;
                }
                let with_recipient = chat.attendee_provider_id.as_ref().is_some_and(|a| attendees.contains(a));
                if !with_recipient {
                    continue;
                }
                if let Some(sent) = self.own_message_in(&chat.chat_id, text, since).await? {
                    return Ok(Reconciled::Sent(Some(sent)));
                }
            }
            match page.cursor {
                Some(next) if !older_reached => cursor = Some(next),
                _ => break,
            }
        }
        Ok(Reconciled::NotSent)
    }
}

fn invited_or_connected(profile: &super::wire::UserProfileWire) -> bool {
    let pending_sent = profile.invitation.as_ref().is_some_and(|i| {
        i.kind.as_deref().is_some_and(|k| k.eq_ignore_ascii_case("SENT"))
            && i.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("PENDING"))
    });
    pending_sent || profile.is_relationship || super::mapping::degree(profile.network_distance.as_ref()) == Some(1)
}
