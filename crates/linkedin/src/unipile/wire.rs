//! Unipile v1 payloads, as much of them as the connector reads.
//!
//! Unipile's payloads drift (fields absent from both the SDK and the OpenAPI
//! document, booleans as `0|1`, numbers as strings), so every struct here is
//! lenient: optional fields default, unknown fields are ignored, and the
//! helpers below accept each scalar in any of the shapes seen in the wild.
//! List items are kept as raw JSON and decoded one by one ([`decode_items`]),
//! so one odd item never makes a whole page fail.

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

/// `true`, `1`, `"true"` and `"1"` are true; anything else (including null) is false.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(value_flag(&Option::<Value>::deserialize(d)?.unwrap_or(Value::Null)))
}

pub(crate) fn value_flag(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1"),
        _ => false,
    }
}

/// A string, or a number rendered as a string (ids are sometimes numbers).
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(value_text(&Option::<Value>::deserialize(d)?.unwrap_or(Value::Null)))
}

pub(crate) fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A non-negative count given as a number or a numeric string.
pub(crate) fn opt_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Ok(value_count(&Option::<Value>::deserialize(d)?.unwrap_or(Value::Null)))
}

pub(crate) fn value_count(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|x| *x >= 0.0).map(|x| x as u64)),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
    .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// Decodes list items one at a time, skipping (and logging) the ones that do not fit.
pub(crate) fn decode_items<T: DeserializeOwned>(items: Vec<Value>, what: &str) -> Vec<T> {
    items
        .into_iter()
        .filter_map(|item| match serde_json::from_value::<T>(item) {
            Ok(decoded) => Some(decoded),
            Err(error) => {
                tracing::warn!(%error, item = what, "skipping a Unipile list item that does not decode");
                None
            }
        })
        .collect()
}

/// The common list envelope `{ object, items, cursor }`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ListEnvelope {
    pub items: Vec<Value>,
    #[serde(deserialize_with = "opt_text")]
    pub cursor: Option<String>,
    pub paging: Option<Paging>,
    #[serde(deserialize_with = "opt_count")]
    pub total_items: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Paging {
    #[serde(deserialize_with = "opt_count")]
    pub total_count: Option<u32>,
}

/// Problem-details error body (contract §2.1).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Problem {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub title: Option<String>,
    pub detail: Option<String>,
}

/// `GET /users/me` (contract §4.2).
#[derive(Debug, Deserialize)]
pub(crate) struct OwnProfileWire {
    pub provider_id: String,
    #[serde(default)]
    pub public_identifier: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub headline: Option<String>,
    #[serde(default)]
    pub occupation: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    pub premium: bool,
    #[serde(default)]
    pub sales_navigator: Option<Value>,
    #[serde(default)]
    pub recruiter: Option<Value>,
}

/// A people `SearchResult` of `POST /linkedin/search` (contract §4.7).
#[derive(Debug, Deserialize)]
pub(crate) struct SearchResultWire {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(deserialize_with = "opt_text")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub public_identifier: Option<String>,
    #[serde(default)]
    pub public_profile_url: Option<String>,
    #[serde(default)]
    pub profile_url: Option<String>,
    #[serde(default)]
    pub profile_picture_url: Option<String>,
    #[serde(default)]
    pub headline: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub industry: Option<String>,
    #[serde(default)]
    pub network_distance: Option<Value>,
    #[serde(default)]
    pub current_positions: Vec<PositionWire>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PositionWire {
    pub company: Option<String>,
    #[serde(deserialize_with = "opt_text")]
    pub company_id: Option<String>,
    pub role: Option<String>,
    pub industry: Option<Value>,
}

/// `GET /users/{identifier}` (contract §4.3).
#[derive(Debug, Deserialize)]
pub(crate) struct UserProfileWire {
    pub provider_id: String,
    #[serde(default)]
    pub public_identifier: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub headline: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub public_profile_url: Option<String>,
    #[serde(default)]
    pub profile_picture_url: Option<String>,
    #[serde(default)]
    pub network_distance: Option<Value>,
    #[serde(default, deserialize_with = "flag")]
    pub is_relationship: bool,
    #[serde(default)]
    pub invitation: Option<ProfileInvitation>,
    #[serde(default)]
    pub work_experience: Vec<ExperienceWire>,
    #[serde(default)]
    pub contact_info: Option<ContactInfo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ProfileInvitation {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ExperienceWire {
    pub position: Option<String>,
    pub company: Option<String>,
    #[serde(deserialize_with = "opt_text")]
    pub company_id: Option<String>,
    pub current: Option<bool>,
    pub end: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ContactInfo {
    pub emails: Vec<String>,
}

/// An item of `GET /users/invite/sent` (contract §4.4).
#[derive(Debug, Deserialize)]
pub(crate) struct InvitationWire {
    #[serde(deserialize_with = "opt_text")]
    pub id: Option<String>,
    #[serde(default)]
    pub invited_user_id: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub parsed_datetime: Option<String>,
    #[serde(default)]
    pub invitation_text: Option<String>,
}

/// An item of `GET /users/relations` (contract §4.5); `created_at` is epoch milliseconds.
#[derive(Debug, Deserialize)]
pub(crate) struct RelationWire {
    pub member_id: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub public_identifier: Option<String>,
    #[serde(default)]
    pub created_at: Option<Value>,
}

/// `Chat` (contract §4.6).
#[derive(Debug, Deserialize)]
pub(crate) struct ChatWire {
    /// Unipile's own chat id (what the routes take).
    pub id: String,
    /// LinkedIn's thread id `2-…` (what the trait exposes).
    #[serde(default)]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub attendee_provider_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default, deserialize_with = "opt_count")]
    pub unread_count: Option<u32>,
    #[serde(default)]
    pub content_type: Option<String>,
}

/// `Message` (contract §4.6).
#[derive(Debug, Deserialize)]
pub(crate) struct MessageWire {
    pub id: String,
    #[serde(default)]
    pub chat_provider_id: Option<String>,
    #[serde(default)]
    pub sender_id: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    pub timestamp: String,
    #[serde(default, deserialize_with = "flag")]
    pub is_sender: bool,
    #[serde(default)]
    pub attachments: Option<Value>,
    #[serde(default, deserialize_with = "flag")]
    pub hidden: bool,
    #[serde(default, deserialize_with = "flag")]
    pub deleted: bool,
    #[serde(default, deserialize_with = "flag")]
    pub is_event: bool,
    #[serde(default)]
    pub reply_to: Option<ReplyTo>,
    #[serde(default)]
    pub parent: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ReplyTo {
    #[serde(deserialize_with = "opt_text")]
    pub id: Option<String>,
}

/// `Post` (contract §4.9).
#[derive(Debug, Deserialize)]
pub(crate) struct PostWire {
    #[serde(default, deserialize_with = "opt_text")]
    pub social_id: Option<String>,
    #[serde(default)]
    pub parsed_datetime: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    pub is_repost: bool,
    #[serde(default)]
    pub user_reacted: Option<String>,
    #[serde(default)]
    pub permissions: Option<PostPermissions>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PostPermissions {
    pub can_react: Option<bool>,
}

/// `Comment` of `GET /posts/{social_id}/comments` (contract §4.9).
#[derive(Debug, Deserialize)]
pub(crate) struct CommentWire {
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub author_details: Option<CommentAuthor>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CommentAuthor {
    #[serde(deserialize_with = "opt_text")]
    pub id: Option<String>,
    pub headline: Option<String>,
    pub profile_url: Option<String>,
    pub network_distance: Option<Value>,
}

/// `GET /linkedin/search/parameters` item (saved searches, lead lists).
#[derive(Debug, Deserialize)]
pub(crate) struct SearchParameterWire {
    #[serde(deserialize_with = "opt_text")]
    pub id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

/// `GET /linkedin/inmail_balance` (contract §4.8); null = product not available.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct InmailBalanceWire {
    #[serde(deserialize_with = "opt_count")]
    pub premium: Option<u32>,
    #[serde(deserialize_with = "opt_count")]
    pub sales_navigator: Option<u32>,
}

/// `POST /users/invite` → `UserInvitationSent`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct InvitationSentWire {
    #[serde(deserialize_with = "opt_text")]
    pub invitation_id: Option<String>,
}

/// `POST /chats/{id}/messages` → `MessageSent` (`message_id` may be null for LinkedIn).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct MessageSentWire {
    #[serde(deserialize_with = "opt_text")]
    pub message_id: Option<String>,
}

/// `POST /chats` → `ChatStarted` (both ids may be null for LinkedIn).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ChatStartedWire {
    #[serde(deserialize_with = "opt_text")]
    pub chat_id: Option<String>,
    #[serde(deserialize_with = "opt_text")]
    pub message_id: Option<String>,
}

/// Any write whose answer we do not read (`ReactionAdded`, `LinkedinRawData`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Ignored {}
