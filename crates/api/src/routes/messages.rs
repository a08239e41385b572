//! The unified inbox (spec 2.4 M1): every message of the group's connected
//! LinkedIn accounts, newest first, or one conversation's.

use super::{GroupAccess, ListData, page_request};
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok};
use crate::extract::ApiQuery;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use sonarly_app::inbox::{MESSAGES_LIST, list_messages as list, message_sent_at, parse_attachments};
use sonarly_store::InboxMessage;
use utoipa::{IntoParams, ToSchema};

/// Query of `GET …/messages`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct MessageListParams {
    /// Opaque pagination cursor returned by the previous page (`nextCursor`),
    /// or the id of an item of this list: the page then starts after that item.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
    /// Maximum number of items to return in this page (1 to 100, default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Only the messages of this conversation (its `conversationId`, 1 to 100
    /// characters). An id that names no conversation of the group matches
    /// nothing (no items).
    #[param(min_length = 1, max_length = 100, pattern = "\\S")]
    pub conversation_id: Option<String>,
}

/// An attachment's metadata.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentView {
    /// `img`, `video`, `audio`, `file`, `linkedin_post`…
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub url: Option<String>,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
}

/// A message of the unified inbox (spec M1, plus `prospectId`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: String,
    pub text: String,
    #[schema(example = "2026-05-01T12:00:00.000Z")]
    pub sent_at: String,
    /// The connected LinkedIn account (see `GET …/linkedin-accounts`).
    pub account_id: String,
    /// `classic`, `sales_navigator` or `recruiter`.
    pub account_type: String,
    pub conversation_id: String,
    /// The LinkedIn thread id (`2-…`).
    pub conversation_provider_id: String,
    pub conversation_name: Option<String>,
    /// The other participant's member id; resolve it with `GET …/prospects/by-provider-id/{providerId}`.
    pub participant_provider_id: Option<String>,
    /// The sender's member id.
    pub sender_id: String,
    /// True when the connected account sent it.
    pub is_sender: bool,
    /// Unread messages in the conversation.
    pub unread_count: i64,
    /// The `id` of the message this one answers, when it is in the inbox.
    pub parent_message_id: Option<String>,
    pub attachments: Vec<AttachmentView>,
    /// The prospect behind the participant, when exactly one matches (an addition to the documented payload).
    pub prospect_id: Option<String>,
}

impl From<InboxMessage> for MessageView {
    fn from(m: InboxMessage) -> Self {
        Self {
            attachments: parse_attachments(&m.attachments_json)
                .into_iter()
                .map(|a| AttachmentView {
                    kind: a.kind,
                    id: a.id,
                    url: a.url,
                    file_name: a.file_name,
                    mime_type: a.mime_type,
                })
                .collect(),
            id: m.id,
            text: m.text,
            sent_at: m.sent_at.to_rfc3339(),
            account_id: m.account_id,
            account_type: m.account_type.as_str().to_owned(),
            conversation_id: m.conversation_id,
            conversation_provider_id: m.conversation_provider_id,
            conversation_name: m.conversation_name,
            participant_provider_id: m.participant_provider_id,
            sender_id: m.sender_id,
            is_sender: m.is_sender,
            unread_count: m.unread_count,
            parent_message_id: m.parent_message_id,
            prospect_id: m.prospect_id,
        }
    }
}

/// List full message history across connected accounts or within one conversation, newest first.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/messages", tag = "Messages",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           MessageListParams),
    responses(
        (status = 200, description = "Paginated full message history across connected accounts or within one filtered conversation",
         body = Envelope<ListData<MessageView>>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "The account group was not found (an unknown conversationId is a filter nothing matches: 200 with no items)", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["messages:read"]))
)]
pub async fn list_messages(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiQuery(q): ApiQuery<MessageListParams>,
) -> ApiResult {
    let (store, group) = (&state.store, &access.group_id);
    let page = page_request(&state.cursors, MESSAGES_LIST, q.limit.as_deref(), q.cursor.as_deref(), |id| async move {
        message_sent_at(store, group, &id).await
    })
    .await?;
    let messages = list(&state.store, &state.cursors, &access.group_id, q.conversation_id.as_deref(), &page).await?;
    Ok(ok(ListData::from_page(messages, MessageView::from)))
}
