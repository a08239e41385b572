//! Reconciliation: after a write whose outcome is unknown, read back what
//! LinkedIn shows (contract §8 "Idempotency") and return every trace the
//! attempt may have left, oldest first: own messages with the attempt's text
//! sent since it started, the pending invitation to the recipient. The engine
//! attributes one of them to the attempt; none is ever taken on text alone.

use super::UnipileLinkedIn;
use super::mapping::is_member_id;
use super::people::{INVITATION_PAGE, invited_or_connected};
use crate::error::LinkedInResult;
use crate::readback::own_messages_with;
use crate::types::*;
use sonarly_domain::Timestamp;

/// Clock difference tolerated between us and LinkedIn: a message stamped up
/// to this long before the attempt started still counts as sent after it.
pub(crate) const RECONCILE_SKEW_MS: i64 = 30 * 1000;
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
        started_at: Timestamp,
    ) -> LinkedInResult<Vec<Trace>> {
        let since = started_at.plus_millis(-RECONCILE_SKEW_MS);
        match attempt {
            OutboundAttempt::Invitation { recipient_provider_id } => {
                self.invitation_traces(recipient_provider_id).await
            }
            OutboundAttempt::Message { chat_id, text } => self.own_messages_in(chat_id, text, since).await,
            OutboundAttempt::StartChat { recipient_provider_id, text } => {
                self.chat_traces(recipient_provider_id, text, since).await
            }
            OutboundAttempt::InMail { recipient_provider_id, body } => {
                self.chat_traces(recipient_provider_id, body, since).await
            }
            // A visit, follow or like leaves nothing Unipile can list.
            OutboundAttempt::Engagement { .. } => Ok(Vec::new()),
        }
    }

    /// The pending invitations to the recipient (by provider id, never by note
    /// text), or, when none is listed, the profile's word that one is pending
    /// or already accepted (it leaves the pending list on acceptance). No time
    /// check: LinkedIn keeps one pending invitation per recipient, so an older
    /// one would have made our attempt fail as `already_invited_recently`.
    async fn invitation_traces(&self, recipient: &str) -> LinkedInResult<Vec<Trace>> {
        let recipient = recipient.trim();
        let mut ids = vec![recipient.to_owned()];
        let mut profile_shows_it = None;
        if !is_member_id(recipient) {
            let profile = self.fetch_profile(recipient, false, false).await?;
            profile_shows_it = Some(invited_or_connected(&profile));
            ids.push(profile.provider_id);
        }
        let mut found = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..INVITATION_PAGES {
            let page = self.list_sent_invitations(cursor.as_deref(), INVITATION_PAGE).await?;
            found.extend(
                page.items
                    .into_iter()
                    .filter(|i| ids.contains(&i.recipient_provider_id))
                    .map(|i| Trace::Invitation(Some(i.invitation_id))),
            );
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        if !found.is_empty() {
            // Listed newest first.
            found.reverse();
            return Ok(found);
        }
        let shown = match profile_shows_it {
            Some(shown) => shown,
            None => invited_or_connected(&self.fetch_profile(recipient, false, false).await?),
        };
        Ok(if shown { vec![Trace::Invitation(None)] } else { Vec::new() })
    }

    /// Own messages with this text in the chat's latest messages, sent at or after `since`.
    async fn own_messages_in(&self, chat_id: &str, text: &str, since: Timestamp) -> LinkedInResult<Vec<Trace>> {
        let page = self.list_messages(chat_id, None, MESSAGE_SCAN).await?;
        Ok(own_messages_with(&page.items, text, since))
    }

    /// A started chat or InMail: own messages with this text in the
    /// conversations with the recipient active since the attempt. Chats come
    /// most recent first, so the scan stops at the first chat older than that.
    async fn chat_traces(&self, recipient: &str, text: &str, since: Timestamp) -> LinkedInResult<Vec<Trace>> {
        let recipient = recipient.trim();
        let mut attendees = vec![recipient.to_owned()];
        if !is_member_id(recipient) {
            attendees.push(self.resolve_member(recipient).await?);
        }
        let mut found = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..CHAT_PAGES {
            let page = self.list_chats(cursor.as_deref(), CHAT_SCAN_PAGE).await?;
            let mut older_reached = false;
            for chat in &page.items {
                if chat.last_activity_at.is_some_and(|at| at < since) {
                    older_reached = true;
                    break;
                }
                if chat.attendee_provider_id.as_ref().is_some_and(|a| attendees.contains(a)) {
                    found.extend(self.own_messages_in(&chat.chat_id, text, since).await?);
                }
            }
            match page.cursor {
                Some(next) if !older_reached => cursor = Some(next),
                _ => break,
            }
        }
        found.sort_by_key(|t| t.message().map(|m| m.sent_at));
        Ok(found)
    }
}
