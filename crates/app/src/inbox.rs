//! The unified inbox: what a provider event does (one function for webhooks
//! and polling alike), the chat metadata the poller records, the message list
//! (spec 2.4 M1) and the Unipile webhook.

use crate::linkedin::unipile_account_id;
use crate::provider_input as bounds;
use crate::{AppResult, StoreResultExt};
use serde::{Deserialize, Serialize};
use sonarly_domain::GroupId;
use sonarly_domain::apikey::{hash_key, hashes_match};
use sonarly_domain::clock::Clock;
use sonarly_domain::cursor::CursorCodec;
use sonarly_domain::linkedin_account::{AccountStatus, LinkedInAccount};
use sonarly_domain::page::{Page, PageRequest};
use sonarly_domain::{DomainError, ErrorCode, Timestamp};
use sonarly_linkedin::unipile::parse_webhook_with_accounts;
use sonarly_linkedin::{Attachment, Chat, ChatMessage, ProviderEvent, Relation};
use sonarly_store::{ChatRef, InboxMessage, NewMessage, Store};

/// The cursor list name of `GET …/messages`.
pub const MESSAGES_LIST: &str = "messages";

/// An attachment as stored with its message and shown by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredAttachment {
    /// `img`, `video`, `audio`, `file`, `linkedin_post`…
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub url: Option<String>,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
}

/// Attachment metadata as the JSON array stored with a message (at most
/// [`bounds::MAX_ATTACHMENTS`], each field cut to its bound).
pub fn attachments_json(attachments: &[Attachment]) -> String {
    let stored: Vec<StoredAttachment> = attachments
        .iter()
        .take(bounds::MAX_ATTACHMENTS)
        .map(|a| StoredAttachment {
            kind: bounds::bounded_text(&a.kind, bounds::MAX_NAME_CHARS),
            id: bounds::bounded_text(&a.id, bounds::MAX_ID_CHARS),
            url: bounds::bounded_opt(a.url.as_deref(), bounds::MAX_URL_CHARS),
            file_name: bounds::bounded_opt(a.file_name.as_deref(), bounds::MAX_NAME_CHARS),
            mime_type: bounds::bounded_opt(a.mime_type.as_deref(), bounds::MAX_NAME_CHARS),
        })
        .collect();
    serde_json::to_string(&stored).unwrap_or_else(|_| "[]".into())
}

/// Reads the stored attachment JSON; an unreadable value (never written by
/// this code) shows as no attachments rather than failing the whole list.
pub fn parse_attachments(json: &str) -> Vec<StoredAttachment> {
    serde_json::from_str(json).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "unreadable stored attachments");
        Vec::new()
    })
}

/// What handling one provider event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    Message {
        conversation_id: String,
        message_id: String,
        /// False when the message was already stored.
        is_new: bool,
    },
    /// A new first-degree connection; `prospects_updated` prospects now show degree 1.
    Relation { prospects_updated: u64 },
    /// The account's status became `status`.
    AccountStatus { status: AccountStatus },
    /// Nothing to record (a status we do not act on, or no change).
    Ignored,
}

/// The group's prospect behind a participant, when exactly one matches (never guesses).
pub async fn prospect_for_participant(
    store: &Store,
    group_id: &GroupId,
    provider_id: Option<&str>,
) -> AppResult<Option<String>> {
    let Some(provider_id) = provider_id.filter(|p| !p.trim().is_empty()) else { return Ok(None) };
    let mut matches = store.prospects_by_provider_id(group_id, provider_id).await.or_internal()?;
    Ok(if matches.len() == 1 { matches.pop().map(|p| p.id) } else { None })
}

/// The one place a provider event takes effect, whether a webhook pushed it or
/// the inbox sync found it by polling:
/// - a message is stored once per provider message id (its conversation is
///   created when new, linked to the participant's prospect when unambiguous);
/// - a new relation marks the group's matching prospects as first-degree;
/// - an account status moves the account to `connected` or `disconnected`.
pub async fn handle_event(
    store: &Store,
    clock: &dyn Clock,
    account: &LinkedInAccount,
    event: &ProviderEvent,
) -> AppResult<EventOutcome> {
    match event {
        ProviderEvent::MessageReceived(message) => record_message(store, clock, account, message).await,
        ProviderEvent::NewRelation(relation) => record_relation(store, clock, account, relation).await,
        ProviderEvent::AccountStatus { status, message } => {
            let Some(ours) = crate::linkedin::seat::status_for_provider_word(account.status, status) else {
                tracing::info!(account = %account.id, status, "account status event changes nothing");
                return Ok(EventOutcome::Ignored);
            };
            let why = format!("provider status {status}: {}", message.as_deref().unwrap_or(""));
            crate::linkedin::seat::set_status(store, account, ours, &why, clock.now()).await.or_internal()?;
            Ok(EventOutcome::AccountStatus { status: ours })
        }
    }
}

/// Stores a provider message once, within the bounds of [`crate::provider_input`]:
/// its date at most a few minutes ahead of ours, its text and attachment
/// metadata cut to the documented sizes; an event whose ids are blank or
/// absurdly long is refused (the sync skips it, the webhook answers 400).
async fn record_message(
    store: &Store,
    clock: &dyn Clock,
    account: &LinkedInAccount,
    message: &ChatMessage,
) -> AppResult<EventOutcome> {
    if message.message_id.trim().is_empty() || message.chat_id.trim().is_empty() {
        return Err(DomainError::invalid_field("message", "a message needs a message id and a chat id"));
    }
    if ![&message.message_id, &message.chat_id, &message.sender_provider_id].into_iter().all(|id| bounds::id_fits(id)) {
        return Err(DomainError::invalid_field("message", "a provider id is longer than any LinkedIn id"));
    }
    // An inbound message names the other participant; our own says nothing about them.
    let participant =
        (!message.is_sender && !message.sender_provider_id.is_empty()).then(|| message.sender_provider_id.clone());
    let prospect_id = prospect_for_participant(store, &account.group_id, participant.as_deref()).await?;
    let chat = ChatRef {
        provider_chat_id: message.chat_id.clone(),
        name: None,
        participant_provider_id: participant,
        prospect_id,
        is_inmail: false,
    };
    let new = NewMessage {
        provider_message_id: message.message_id.clone(),
        sender_provider_id: message.sender_provider_id.clone(),
        is_sender: message.is_sender,
        body: bounds::bounded_text(&message.text, bounds::MAX_MESSAGE_CHARS),
        sent_at: bounds::bounded_time(message.sent_at, clock.now()),
        parent_message_id: message.parent_message_id.clone().filter(|id| bounds::id_fits(id)),
        attachments_json: attachments_json(&message.attachments),
        prospect_id: None,
    };
    let stored = store.ingest_message(&account.id, &account.group_id, &chat, &new, clock.now()).await.or_internal()?;
    Ok(EventOutcome::Message {
        conversation_id: stored.conversation_id,
        message_id: stored.message_id,
        is_new: stored.is_new,
    })
}

async fn record_relation(
    store: &Store,
    clock: &dyn Clock,
    account: &LinkedInAccount,
    relation: &Relation,
) -> AppResult<EventOutcome> {
    if relation.provider_id.trim().is_empty() || !bounds::id_fits(&relation.provider_id) {
        return Err(DomainError::invalid_field("relation", "a relation needs a provider id of a sane length"));
    }
    let updated =
        store.mark_prospects_connected(&account.group_id, &relation.provider_id, clock.now()).await.or_internal()?;
    if updated > 0 {
        tracing::info!(account = %account.id, provider_id = %relation.provider_id, updated, "new connection recorded");
    }
    Ok(EventOutcome::Relation { prospects_updated: updated })
}

/// Records what the provider's chat listing says about a conversation (name,
/// participant, prospect link, kind, unread count, last activity), after its
/// messages went through [`handle_event`]. Returns the conversation id.
pub async fn record_chat(
    store: &Store,
    clock: &dyn Clock,
    account: &LinkedInAccount,
    chat: &Chat,
) -> AppResult<String> {
    if chat.chat_id.trim().is_empty() || !bounds::id_fits(&chat.chat_id) {
        return Err(DomainError::invalid_field("chat", "a chat needs a provider id of a sane length"));
    }
    let attendee = chat.attendee_provider_id.clone().filter(|id| bounds::id_fits(id));
    let prospect_id = prospect_for_participant(store, &account.group_id, attendee.as_deref()).await?;
    let chat_ref = ChatRef {
        provider_chat_id: chat.chat_id.clone(),
        name: bounds::bounded_opt(chat.name.as_deref(), bounds::MAX_NAME_CHARS),
        participant_provider_id: attendee,
        prospect_id,
        is_inmail: chat.is_inmail,
    };
    store
        .upsert_conversation(
            &account.id,
            &account.group_id,
            &chat_ref,
            Some(i64::from(chat.unread_count)),
            chat.last_activity_at.map(|at| bounds::bounded_time(at, clock.now())),
            clock.now(),
        )
        .await
        .or_internal()
}

/// One page of the group's messages, newest first, optionally one
/// conversation's. An unknown conversation, or one of another group, is simply
/// a filter nothing matches: 200 with no items (the messages page lists no 404),
/// so another group's conversation ids cannot be told from unknown ones.
pub async fn list_messages(
    store: &Store,
    codec: &CursorCodec,
    group_id: &GroupId,
    conversation_id: Option<&str>,
    page: &PageRequest,
) -> AppResult<Page<InboxMessage>> {
    let conversation_id = match conversation_id.map(str::trim) {
        None => None,
        Some("") => return Err(DomainError::invalid_field("conversationId", "must not be empty")),
        Some(id) if id.chars().count() > 100 => {
            return Err(DomainError::invalid_field("conversationId", "must be at most 100 characters"));
        }
        Some(id) => Some(id),
    };
    let rows = store.list_messages(group_id, conversation_id, page).await.or_internal()?;
    Ok(Page::from_rows(rows, page, codec, MESSAGES_LIST, |m| (m.sent_at, m.id.clone())))
}

/// Where message `id` of the group sits in the message list (its `sentAt`),
/// for a cursor that names it; `None` when the group has no such message.
pub async fn message_sent_at(store: &Store, group_id: &GroupId, id: &str) -> AppResult<Option<Timestamp>> {
    store.message_sent_at(group_id, id).await.or_internal()
}

/// The 401 of the webhook: the same for an unknown account and a wrong secret.
pub fn webhook_unauthorized() -> DomainError {
    DomainError::new(ErrorCode::Unauthorized, "The webhook secret is missing or invalid.")
}

/// The connected account a webhook URL names, when `presented_secret` matches
/// its stored hash (compared in constant time). An unknown account, an account
/// without a webhook secret and a wrong or missing secret all get the same 401.
pub async fn authenticate_webhook(
    store: &Store,
    account_id: &str,
    presented_secret: Option<&str>,
) -> AppResult<LinkedInAccount> {
    let account = store.system().linkedin_account(account_id).await.or_internal()?;
    let authorized = match (&account, presented_secret) {
        (Some(account), Some(secret)) => {
            account.webhook_secret_hash.as_deref().is_some_and(|stored| hashes_match(stored, &hash_key(secret)))
        }
        _ => false,
    };
    account.filter(|_| authorized).ok_or_else(webhook_unauthorized)
}

/// A Unipile webhook body for an authenticated account: parses it, drops
/// events naming another Unipile account, and hands each remaining event to
/// [`handle_event`]. Returns how many events were handled.
pub async fn receive_unipile_webhook(
    store: &Store,
    clock: &dyn Clock,
    account: &LinkedInAccount,
    body: &[u8],
) -> AppResult<usize> {
    let events = parse_webhook_with_accounts(body).map_err(|e| DomainError::invalid_field("body", e.to_string()))?;
    let ours = unipile_account_id(account);
    let mut handled = 0;
    for event in events {
        if let (Some(named), Some(ours)) = (&event.account_id, &ours)
            && named != ours
        {
            tracing::debug!(account = %account.id, unipile_account = %named, "webhook event for another account ignored");
            continue;
        }
        handle_event(store, clock, account, &event.event).await?;
        handled += 1;
    }
    if handled > 0 {
        // The seat's webhooks work: the inbox sync can slow down to a reconciliation.
        store.touch_linkedin_webhook(&account.id, clock.now()).await.or_internal()?;
    }
    Ok(handled)
}
