//! The event log (`GET …/events`) and the OpenAPI `webhooks` section: one
//! entry per event type, with its Standard Webhooks headers and an example
//! body, generated from `sonarly_domain::events` so the catalog cannot drift.

use super::GroupAccess;
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok};
use crate::extract::ApiQuery;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sonarly_app::events::{self as uc, ListEvents};
use sonarly_domain::events::{Event, EventType};
use utoipa::{IntoParams, Modify, ToSchema};

/// One event.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// `evt_` + ULID; also the `webhook-id` of its deliveries.
    #[schema(example = "evt_01J2X3Y4Z5A6B7C8D9E0F1G2H3")]
    pub id: String,
    /// The event type, e.g. `message.received` (see the `webhooks` section for every type).
    #[serde(rename = "type")]
    #[schema(example = "message.received")]
    pub event_type: String,
    #[schema(example = "2026-06-03T10:15:00.000Z")]
    pub created_at: String,
    pub account_group_id: String,
    /// Ids and fields a consumer needs to act without a second call; never secrets.
    #[schema(value_type = Object)]
    pub data: Value,
}

impl From<Event> for EventView {
    fn from(e: Event) -> Self {
        Self {
            id: e.id,
            event_type: e.event_type.as_str().to_owned(),
            created_at: e.created_at.to_rfc3339(),
            account_group_id: e.group_id.into_string(),
            data: e.data,
        }
    }
}

/// A page of events (`nextCursor` continues in the page's direction).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventListView {
    pub items: Vec<EventView>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventListParams {
    /// Opaque pagination cursor returned by the previous page.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
    /// Maximum number of items to return in this page (1 to 100, default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// An event id: return the events after it, oldest first (catch-up). Events
    /// show here once they are 2 seconds old. Not with `cursor`.
    pub after: Option<String>,
    /// Only these types, comma-separated (e.g. `message.received,response.sent`).
    pub types: Option<String>,
}

/// List the account group's events, newest first; or, with `after`, the
/// events after a given one, oldest first. Events are kept 30 days unless the
/// operator configured another retention.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/events", tag = "Events",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."), EventListParams),
    responses(
        (status = 200, description = "Paginated events", body = Envelope<EventListView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["events:read"]))
)]
pub async fn list_events(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiQuery(q): ApiQuery<EventListParams>,
) -> ApiResult {
    let query = ListEvents {
        limit: q.limit.as_deref(),
        cursor: q.cursor.as_deref(),
        after: q.after.as_deref(),
        types: q.types.as_deref(),
    };
    let page = uc::list_events(&state.store, &state.cursors, state.clock.as_ref(), &access.group_id, &query).await?;
    let page = page.map(EventView::from);
    Ok(ok(EventListView { items: page.items, next_cursor: page.next_cursor, has_more: page.has_more }))
}

/// Adds the OpenAPI 3.1 `webhooks` section: what each event delivery looks like.
pub struct WebhooksCatalog;

impl Modify for WebhooksCatalog {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let header = |name: &str, description: &str, example: &str| {
            json!({"name": name, "in": "header", "required": true, "description": description,
                   "schema": {"type": "string"}, "example": example})
        };
        let headers = json!([
            header(
                "webhook-id",
                "The event id; the same on every attempt. Deduplicate on it.",
                "evt_01J2X3Y4Z5A6B7C8D9E0F1G2H3"
            ),
            header(
                "webhook-timestamp",
                "Unix seconds when this attempt was signed. Refuse values more than 5 minutes away from your clock.",
                "1780481700"
            ),
            header(
                "webhook-signature",
                "Space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>` signatures, one per active secret (two during a rotation).",
                "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
            ),
        ]);
        let mut catalog = serde_json::Map::new();
        for t in EventType::ALL {
            let example =
                json!({"type": t.as_str(), "timestamp": "2026-06-03T10:15:00.000Z", "data": t.example_data()});
            catalog.insert(
                t.as_str().to_owned(),
                json!({"post": {
                    "summary": t.as_str(),
                    "description": format!("{} Delivered per the Standard Webhooks specification: retried with backoff for about a day (at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) until a 2xx answer; the order of deliveries is not guaranteed.", t.description()),
                    "tags": ["Webhooks"],
                    "parameters": headers,
                    "requestBody": {"required": true, "content": {"application/json": {
                        "schema": {"type": "object", "required": ["type", "timestamp", "data"], "properties": {
                            "type": {"type": "string", "const": t.as_str()},
                            "timestamp": {"type": "string", "format": "date-time"},
                            "data": {"type": "object"}
                        }},
                        "example": example
                    }}},
                    "responses": {"2XX": {"description": "Received. Any other answer (or none within 15 s) is retried."}}
                }}),
            );
        }
        openapi.extensions.get_or_insert_with(Default::default).insert("webhooks".into(), Value::Object(catalog));
    }
}
