//! Unipile webhook payloads → [`ProviderEvent`]s (contract §5).
//!
//! Unipile signs nothing: a secret header chosen when the webhook is registered
//! authenticates it, compared with [`webhook_secret_matches`]. The HTTP route that
//! receives the POST lives in the API crate; this module only reads bodies.

use super::mapping::attachments;
use super::wire::{value_flag, value_text};
use crate::error::{LinkedInError, LinkedInResult};
use crate::types::{ChatMessage, ProviderEvent, Relation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use sonarly_domain::Timestamp;
use subtle::ConstantTimeEq;

/// Parses one webhook body (JSON whatever the content-type says, contract §5.2).
///
/// `message_received` → [`ProviderEvent::MessageReceived`] (own messages echoed back
/// keep `is_sender: true`), `new_relation` → [`ProviderEvent::NewRelation`], an
/// `AccountStatus` payload or a hosted-auth notification → [`ProviderEvent::AccountStatus`].
/// Other events (`message_read`, reactions, edits, non-LinkedIn accounts…) give an empty
/// list. A body that is not JSON, or a known event missing what it needs, is `InvalidInput`.
pub fn parse_webhook(body: &[u8]) -> Result<Vec<ProviderEvent>, LinkedInError> {
    Ok(parse_webhook_with_accounts(body)?.into_iter().map(|e| e.event).collect())
}

/// An event with the Unipile account it concerns: one webhook serves every connected
/// account, and [`ProviderEvent`] does not name the account, so the route needs this
/// to hand the event to the right one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The Unipile account id from the payload (`account_id`), when it carries one.
    pub account_id: Option<String>,
    pub event: ProviderEvent,
}

/// [`parse_webhook`], keeping each event's Unipile account id.
pub fn parse_webhook_with_accounts(body: &[u8]) -> Result<Vec<WebhookEvent>, LinkedInError> {
    let value: Value = crate::decode_provider_json(body)
        .map_err(|e| LinkedInError::InvalidInput(format!("Unipile webhook body is not JSON: {e}")))?;
    let items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut events = Vec::new();
    for item in &items {
        let account_id = account_of(item);
        events.extend(parse_one(item)?.into_iter().map(|event| WebhookEvent { account_id: account_id.clone(), event }));
    }
    Ok(events)
}

fn account_of(item: &Value) -> Option<String> {
    let object = item.as_object()?;
    let status = object.get("AccountStatus").or_else(|| object.get("account_status")).and_then(Value::as_object);
    text(object, "account_id").or_else(|| status.and_then(|s| text(s, "account_id")))
}

/// Constant-time comparison of the webhook secret header. Both sides are hashed first
/// so the comparison does not leak the secret's length either. An empty expected
/// secret (misconfiguration) accepts nothing.
pub fn webhook_secret_matches(expected: &str, presented: Option<&str>) -> bool {
    let Some(presented) = presented else {
        return false;
    };
    if expected.is_empty() {
        return false;
    }
    let expected = Sha256::digest(expected.as_bytes());
    let presented = Sha256::digest(presented.as_bytes());
    expected.ct_eq(&presented).into()
}

fn parse_one(value: &Value) -> LinkedInResult<Vec<ProviderEvent>> {
    let Some(object) = value.as_object() else {
        return Err(LinkedInError::InvalidInput("Unipile webhook body is not a JSON object".into()));
    };
    if let Some(status) = object.get("AccountStatus").or_else(|| object.get("account_status")) {
        return Ok(account_status(status, object).into_iter().collect());
    }
    if !is_linkedin(object) {
        return Ok(Vec::new());
    }
    match text(object, "event").as_deref() {
        Some("message_received") => message_received(object).map(|m| m.into_iter().collect()),
        Some("new_relation") => new_relation(object).map(|r| vec![r]),
        Some(_) => Ok(Vec::new()),
        // The hosted-auth `notify_url` callback: `{status, account_id, name}`, no event.
        None => Ok(text(object, "status")
            .filter(|_| object.contains_key("account_id"))
            .map(|status| ProviderEvent::AccountStatus { status, message: None })
            .into_iter()
            .collect()),
    }
}

/// Other providers share the webhook plumbing; only LinkedIn accounts matter here.
fn is_linkedin(object: &Map<String, Value>) -> bool {
    text(object, "account_type").is_none_or(|t| t.eq_ignore_ascii_case("LINKEDIN"))
}

fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(value_text).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn message_received(object: &Map<String, Value>) -> LinkedInResult<Option<ProviderEvent>> {
    // LinkedIn system events (reactions, calls…) come through with `is_event: 1`.
    if object.get("is_event").is_some_and(value_flag) {
        return Ok(None);
    }
    let missing = |field: &str| LinkedInError::InvalidInput(format!("message_received webhook without {field}"));
    let message_id = text(object, "message_id").ok_or_else(|| missing("message_id"))?;
    // The trait names chats by LinkedIn thread id, like the REST listing does.
    let chat_id =
        text(object, "provider_chat_id").or_else(|| text(object, "chat_id")).ok_or_else(|| missing("chat_id"))?;
    let sent_at = text(object, "timestamp")
        .and_then(|t| Timestamp::parse_rfc3339(&t))
        .ok_or_else(|| missing("a readable timestamp"))?;
    let sender = object.get("sender").and_then(Value::as_object);
    let sender_provider_id = sender.and_then(|s| text(s, "attendee_provider_id")).unwrap_or_default();
    let own_user_id = object.get("account_info").and_then(Value::as_object).and_then(|info| text(info, "user_id"));
    // `is_sender` is a JSON boolean in webhooks, but accept 0/1 too; when absent,
    // compare the sender with the connected account's own member id.
    let is_sender = match object.get("is_sender") {
        Some(flag) if !flag.is_null() => value_flag(flag),
        _ => own_user_id.is_some_and(|own| own == sender_provider_id),
    };
    // One message-id space with the REST listing: `reply_to.id` is the Unipile id REST names
    // the parent by; `quoted` (the OAS webhook key) only has LinkedIn's provider id.
    let reply_to = object.get("reply_to").and_then(Value::as_object).and_then(|r| text(r, "id"));
    let parent_message_id = reply_to.or_else(|| {
        object.get("quoted").and_then(Value::as_object).and_then(|q| text(q, "id").or_else(|| text(q, "provider_id")))
    });
    Ok(Some(ProviderEvent::MessageReceived(ChatMessage {
        message_id,
        chat_id,
        sender_provider_id,
        is_sender,
        text: text(object, "message").unwrap_or_default(),
        sent_at,
        attachments: attachments(object.get("attachments")),
        parent_message_id,
    })))
}

fn new_relation(object: &Map<String, Value>) -> LinkedInResult<ProviderEvent> {
    let provider_id = text(object, "user_provider_id")
        .ok_or_else(|| LinkedInError::InvalidInput("new_relation webhook without user_provider_id".into()))?;
    Ok(ProviderEvent::NewRelation(Relation {
        provider_id,
        public_identifier: text(object, "user_public_identifier"),
        name: text(object, "user_full_name").unwrap_or_default(),
        connected_at: text(object, "timestamp").and_then(|t| Timestamp::parse_rfc3339(&t)),
    }))
}

/// `{"AccountStatus": {"account_id", "account_type", "message": "CREDENTIALS"}}`: the
/// status is Unipile's word (`OK`, `CREDENTIALS`, `ERROR`, `STOPPED`…); the message says
/// what it means for the queue, and which product when Unipile names one.
fn account_status(status: &Value, envelope: &Map<String, Value>) -> Option<ProviderEvent> {
    let object = status.as_object();
    if object.is_some_and(|o| !is_linkedin(o)) {
        return None;
    }
    let code = match object {
        Some(o) => text(o, "message").or_else(|| text(o, "status")),
        None => value_text(status),
    }?
    .to_ascii_uppercase();
    let product = object
        .and_then(|o| text(o, "Product").or_else(|| text(o, "account_status_specifics")))
        .or_else(|| text(envelope, "Product").or_else(|| text(envelope, "account_status_specifics")));
    let meaning = status_meaning(&code);
    let message = match (meaning, product) {
        (Some(meaning), Some(product)) => Some(format!("{meaning} (product: {product})")),
        (Some(meaning), None) => Some(meaning.to_owned()),
        (None, Some(product)) => Some(format!("product: {product}")),
        (None, None) => None,
    };
    Some(ProviderEvent::AccountStatus { status: code, message })
}

fn status_meaning(code: &str) -> Option<&'static str> {
    Some(match code {
        "OK" => "the account is healthy",
        "CREDENTIALS" => "the LinkedIn session is disconnected; reconnect the account",
        "ERROR" | "STOPPED" => "synchronisation stopped",
        "CONNECTING" => "the account is connecting",
        "DELETED" => "the account was deleted from Unipile",
        "CREATION_SUCCESS" => "the account was added; wait for OK before heavy use",
        "RECONNECTED" => "the account was reconnected",
        "SYNC_SUCCESS" => "the initial synchronisation is done",
        "PERMISSIONS" => "the account lacks permissions",
        _ => return None,
    })
}
