//! Chats, messages, direct messages and InMail (contract §4.6, §4.8).
//!
//! The trait names conversations by LinkedIn thread id (`2-…`); Unipile's chat routes
//! take its own chat id. [`UnipileLinkedIn::unipile_chat_id`] bridges the two with
//! the documented `GET /chats/{thread id}?account_id` and a cache.

use super::errors::Ctx;
use super::mapping;
use super::people::paged;
use super::wire::*;
use super::{UnipileLinkedIn, require_text};
use crate::error::{LimitKind, LinkedInError, LinkedInResult};
use crate::readback::own_messages_with;
use crate::types::*;
use reqwest::multipart::Form;
use sonarly_domain::Timestamp;

/// Chats per page (route allows 1..250).
pub(crate) const CHAT_PAGE: u32 = 100;
/// Messages per page (route allows 1..250).
pub(crate) const MESSAGE_PAGE: u32 = 100;
/// Chats read to find the conversation a just-started chat landed in.
const RECENT_CHATS: u32 = 25;
/// Messages read to name a sent message Unipile did not name.
const READ_BACK_MESSAGES: u32 = 10;

/// A LinkedIn provider id: a member id (`ACo…`) or a Sales Navigator id (`ACw…`).
fn is_provider_id(id: &str) -> bool {
    mapping::is_member_id(id) || id.starts_with("ACw")
}

/// Which product sends an InMail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InmailApi {
    Classic,
    SalesNavigator,
}

impl UnipileLinkedIn {
    /// `GET /chats?account_id&account_type=LINKEDIN&limit&cursor`, most recent activity first.
    pub(crate) async fn list_chats(&self, cursor: Option<&str>, limit: u32) -> LinkedInResult<ProviderPage<Chat>> {
        let query =
            paged(vec![self.http.account(), ("account_type", "LINKEDIN".into()), ("limit", limit.to_string())], cursor);
        let page: ListEnvelope = self.http.get(&["chats"], query, Ctx::Account).await?;
        let wires: Vec<ChatWire> = decode_items(page.items, "chat");
        let items = wires
            .iter()
            .map(|wire| {
                let chat = mapping::chat(wire);
                self.remember_chat(&chat.chat_id, &wire.id);
                chat
            })
            .collect();
        Ok(ProviderPage { items, cursor: page.cursor, total: None })
    }

    /// `GET /chats/{id}/messages?limit&cursor`, newest first; events, hidden and deleted messages are left out.
    pub(crate) async fn list_messages(
        &self,
        chat_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> LinkedInResult<ProviderPage<ChatMessage>> {
        let unipile_id = self.unipile_chat_id(chat_id).await?;
        // This route takes no account_id (contract §3 row 20).
        let query = paged(vec![("limit", limit.to_string())], cursor);
        let page: ListEnvelope = self.http.get(&["chats", &unipile_id, "messages"], query, Ctx::Chat).await?;
        let wires: Vec<MessageWire> = decode_items(page.items, "message");
        let items = wires.into_iter().filter_map(|w| mapping::message(w, chat_id)).collect();
        Ok(ProviderPage { items, cursor: page.cursor, total: None })
    }

    /// `POST /chats/{id}/messages` (multipart `text`, `account_id` as the guard against a foreign chat).
    pub(crate) async fn do_send_message(&self, chat_id: &str, text: &str) -> LinkedInResult<SentMessage> {
        require_text("message text", text)?;
        let started_at = self.now();
        let unipile_id = self.unipile_chat_id(chat_id).await?;
        let form = Form::new().text("text", text.to_owned()).text("account_id", self.http.account_id.clone());
        // A send into a conversation Unipile no longer has cannot reach the person (`NotReachable`).
        let sent: MessageSentWire =
            self.http.post_multipart(&["chats", &unipile_id, "messages"], form, Ctx::Person).await?;
        let chat_id = chat_id.trim().to_owned();
        let message_id = match sent.message_id {
            Some(id) => Some(id),
            None => self.read_back_message_id(&chat_id, text, started_at).await,
        };
        Ok(SentMessage { chat_id, message_id, sent_at: self.now() })
    }

    /// Unipile may answer a send without naming the message (`message_id: null`
    /// for LinkedIn). The newest own message with this text since the send
    /// started is read back so the engine can attribute it; `None` when it is
    /// not listed yet (best effort: nothing fails here, the send happened).
    async fn read_back_message_id(&self, chat_id: &str, text: &str, started_at: Timestamp) -> Option<String> {
        let since = started_at.plus_millis(-super::reconcile::RECONCILE_SKEW_MS);
        match self.list_messages(chat_id, None, READ_BACK_MESSAGES).await {
            Ok(page) => own_messages_with(&page.items, text, since)
                .pop()
                .and_then(|t| t.message().and_then(|m| m.message_id.clone())),
            Err(error) => {
                tracing::warn!(%error, "could not read back a sent message without an id");
                None
            }
        }
    }

    /// `POST /chats` (multipart `account_id`, `attendees_ids`, `text`): a direct message to a connection.
    pub(crate) async fn do_start_chat(&self, provider_id: &str, text: &str) -> LinkedInResult<SentMessage> {
        require_text("message text", text)?;
        let started_at = self.now();
        let member = self.resolve_member(provider_id).await?;
        let form = self.chat_form(&member, text);
        let started: ChatStartedWire = self.http.post_multipart(&["chats"], form, Ctx::Person).await?;
        self.started(started, &[provider_id, &member], text, started_at).await
    }

    /// `POST /chats` with `subject` and the product's InMail fields. The balance is read
    /// first (contract §8): classic Premium credits send with `linkedin[api]=classic` and
    /// `linkedin[inmail]=true`; an account with only Sales Navigator credits sends with
    /// `linkedin[api]=sales_navigator`; no credits at all is `LimitReached(InMailCredits)`
    /// without spending a call that LinkedIn would refuse.
    pub(crate) async fn do_send_inmail(
        &self,
        provider_id: &str,
        subject: &str,
        body: &str,
    ) -> LinkedInResult<SentMessage> {
        require_text("InMail subject", subject)?;
        require_text("InMail body", body)?;
        // The balance is a pre-check only (contract §8 "optional"): when this account cannot
        // read it, let the send itself decide; a rate limit or a dead session still stops here.
        let balance = match self.inmail_balance().await {
            Ok(balance) => balance,
            Err(error) if error.is_retryable() || error.stops_account() => return Err(error),
            Err(error) => {
                tracing::debug!(%error, "InMail balance unavailable; sending without the pre-check");
                InmailBalanceWire::default()
            }
        };
        let api = match (balance.premium, balance.sales_navigator) {
            (Some(p), _) if p > 0 => InmailApi::Classic,
            (_, Some(s)) if s > 0 => InmailApi::SalesNavigator,
            (None, None) => InmailApi::Classic,
            _ => return Err(LinkedInError::LimitReached(LimitKind::InMailCredits)),
        };
        // Sales Navigator takes its own `ACw…` ids as well as member ids; classic needs the
        // member id. A slug or profile URL is a provider id for neither (OAS `attendees_ids`).
        let recipient = match api {
            InmailApi::SalesNavigator if is_provider_id(&mapping::profile_identifier(provider_id)) => {
                mapping::profile_identifier(provider_id)
            }
            _ => self.resolve_member(provider_id).await?,
        };
        let mut form = self.chat_form(&recipient, body).text("subject", subject.to_owned());
        form = match api {
            InmailApi::Classic => form.text("linkedin[api]", "classic").text("linkedin[inmail]", "true"),
            InmailApi::SalesNavigator => form.text("linkedin[api]", "sales_navigator"),
        };
        let started_at = self.now();
        let started: ChatStartedWire = self.http.post_multipart(&["chats"], form, Ctx::Person).await?;
        self.started(started, &[provider_id, &recipient], body, started_at).await
    }

    /// `GET /linkedin/inmail_balance?account_id`.
    pub(crate) async fn inmail_balance(&self) -> LinkedInResult<InmailBalanceWire> {
        self.http.get(&["linkedin", "inmail_balance"], vec![self.http.account()], Ctx::Account).await
    }

    fn chat_form(&self, recipient: &str, text: &str) -> Form {
        Form::new()
            .text("account_id", self.http.account_id.clone())
            .text("attendees_ids", recipient.to_owned())
            .text("text", text.to_owned())
    }

    /// Turns `ChatStarted` into a [`SentMessage`] named by thread id. Unipile may return
    /// null ids for LinkedIn; the message is sent all the same, so the conversation is
    /// looked up among the most recent chats rather than reported as a failure, and
    /// the message id read back.
    async fn started(
        &self,
        started: ChatStartedWire,
        attendees: &[&str],
        text: &str,
        started_at: Timestamp,
    ) -> LinkedInResult<SentMessage> {
        let sent_at = self.now();
        let chat_id = match started.chat_id {
            Some(unipile_id) => Some(self.thread_id(&unipile_id).await),
            None => match self.recent_chat_with(attendees).await {
                Ok(chat) => chat.map(|c| c.chat_id),
                Err(error) => {
                    tracing::warn!(%error, "could not list chats to name a started chat");
                    None
                }
            },
        };
        match chat_id {
            Some(chat_id) => {
                let message_id = match started.message_id {
                    Some(id) => Some(id),
                    None => self.read_back_message_id(&chat_id, text, started_at).await,
                };
                Ok(SentMessage { chat_id, message_id, sent_at })
            }
            // Sent, but not yet listed: a blind retry would send twice, reconcile will find it.
            None => Err(LinkedInError::Transient(
                "Unipile started the chat without a chat id and it is not listed yet; reconcile before retrying".into(),
            )),
        }
    }

    /// The most recent chat whose other participant is one of `attendees`.
    pub(crate) async fn recent_chat_with(&self, attendees: &[&str]) -> LinkedInResult<Option<Chat>> {
        let page = self.list_chats(None, RECENT_CHATS).await?;
        Ok(page.items.into_iter().find(|c| c.attendee_provider_id.as_deref().is_some_and(|a| attendees.contains(&a))))
    }

    /// The Unipile chat id for a thread id (`2-…`); any other id is taken as a Unipile id already.
    pub(crate) async fn unipile_chat_id(&self, chat_id: &str) -> LinkedInResult<String> {
        let chat_id = chat_id.trim();
        if chat_id.is_empty() {
            return Err(LinkedInError::InvalidInput("chat id is empty".into()));
        }
        if !chat_id.starts_with("2-") {
            return Ok(chat_id.to_owned());
        }
        if let Some(known) = self.cached_chat(chat_id) {
            return Ok(known);
        }
        let wire: ChatWire = self.http.get(&["chats", chat_id], vec![self.http.account()], Ctx::Chat).await?;
        self.remember_chat(chat_id, &wire.id);
        Ok(wire.id)
    }

    /// The thread id for a Unipile chat id; falls back to the Unipile id (which every
    /// chat route accepts) when the lookup fails, because the send already happened.
    async fn thread_id(&self, unipile_id: &str) -> String {
        if unipile_id.starts_with("2-") {
            return unipile_id.to_owned();
        }
        match self.http.get::<ChatWire>(&["chats", unipile_id], Vec::new(), Ctx::Chat).await {
            Ok(wire) => {
                let chat = mapping::chat(&wire);
                self.remember_chat(&chat.chat_id, &wire.id);
                chat.chat_id
            }
            Err(error) => {
                tracing::warn!(%error, "could not read the thread id of a started chat; using Unipile's chat id");
                unipile_id.to_owned()
            }
        }
    }
}
