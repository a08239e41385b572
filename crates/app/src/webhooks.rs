//! Webhook endpoints: create (the signing secret is returned this once),
//! read, list, update, delete, rotate the secret with an overlap window, send
//! a test event, list attempts and redeliver one event.
//!
//! A URL is checked when it is written: `http`/`https` per the operator's
//! policy, a host, no credentials, and, when the host is an IP literal or
//! `localhost`, an address the policy allows. Names are resolved only at
//! delivery time, where every attempt checks the addresses again
//! (`sonarly_engine`, `webhooks`).

use crate::{AppResult, StoreResultExt};
use reqwest::Url;
use serde::Deserialize;
use sonarly_domain::GroupId;
use sonarly_domain::clock::Clock;
use sonarly_domain::cursor::{CursorCodec, CursorPosition};
use sonarly_domain::events::{EventType, webhook_test_data};
use sonarly_domain::id::new_prefixed_ulid;
use sonarly_domain::page::{Page, PageRequest};
use sonarly_domain::template::Patch;
use sonarly_domain::webhooks::{
    DEFAULT_ROTATION_OVERLAP_SECS, DESCRIPTION_MAX_CHARS, MAX_ROTATION_OVERLAP_SECS, URL_MAX_CHARS, UrlPolicy,
    WebhookAttempt, WebhookEndpoint, generate_secret,
};
use sonarly_domain::{DomainError, FieldIssue};
use sonarly_store::{EndpointChanges, Store};
use std::net::IpAddr;

pub const ENDPOINTS_LIST: &str = "webhook-endpoints";
pub const ATTEMPTS_LIST: &str = "webhook-attempts";
/// Most endpoints one account group may have.
pub const MAX_ENDPOINTS_PER_GROUP: usize = 20;

pub fn endpoint_not_found() -> DomainError {
    DomainError::not_found("Webhook endpoint")
}

/// Body of `POST …/webhook-endpoints`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateEndpoint {
    pub url: String,
    pub description: Option<String>,
    /// Absent or null: every event type.
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// Body of `PATCH …/webhook-endpoints/{id}`: absent keeps, null clears
/// (`description`) or means every type (`eventTypes`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateEndpoint {
    #[serde(default)]
    pub url: Patch<String>,
    #[serde(default)]
    pub description: Patch<String>,
    #[serde(default)]
    pub event_types: Patch<Vec<String>>,
    #[serde(default)]
    pub enabled: Patch<bool>,
}

/// Body of `POST …/rotate-secret`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateSecret {
    /// How long the previous secret keeps signing, 0 to 604800 seconds (default 86400).
    pub overlap_seconds: Option<i64>,
}

/// Checks an endpoint URL against the policy; the message names `url`.
pub fn validate_url(text: &str, policy: UrlPolicy) -> AppResult<String> {
    let bad = |why: &str| DomainError::invalid_field("url", why);
    let text = text.trim();
    if text.is_empty() {
        return Err(bad("must not be empty"));
    }
    if text.chars().count() > URL_MAX_CHARS {
        return Err(bad(&format!("must be at most {URL_MAX_CHARS} characters")));
    }
    let url = Url::parse(text).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if let Some(why) = policy.scheme_refusal(url.scheme()) {
        return Err(bad(why));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials; put a token in the path or query instead"));
    }
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("must name a host"))?;
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let ip = match literal.parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") => {
            Some(IpAddr::from([127, 0, 0, 1]))
        }
        Err(_) => None,
    };
    if let Some(why) = ip.and_then(|ip| policy.refusal(ip)) {
        return Err(bad(&format!("points to {why}, which this server does not deliver to")));
    }
    Ok(url.to_string())
}

fn validate_description(text: &str) -> AppResult<Option<String>> {
    let text = text.trim();
    if text.chars().count() > DESCRIPTION_MAX_CHARS {
        return Err(DomainError::invalid_field(
            "description",
            format!("must be at most {DESCRIPTION_MAX_CHARS} characters"),
        ));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

fn validate_types(types: &[String]) -> AppResult<Vec<EventType>> {
    if types.is_empty() {
        return Err(DomainError::invalid_field("eventTypes", "must list at least one event type, or be null for all"));
    }
    let mut issues = Vec::new();
    let mut parsed = Vec::new();
    for (i, t) in types.iter().enumerate() {
        match EventType::parse(t.trim()) {
            Some(EventType::WebhookTest) => {
                issues.push(FieldIssue::new(format!("eventTypes[{i}]"), "webhook.test goes to a tested endpoint only"))
            }
            Some(e) => parsed.push(e),
            None => issues.push(FieldIssue::new(format!("eventTypes[{i}]"), format!("unknown event type `{t}`"))),
        }
    }
    if !issues.is_empty() {
        return Err(DomainError::invalid(issues));
    }
    parsed.sort();
    parsed.dedup();
    Ok(parsed)
}

/// Creates an endpoint; the returned endpoint holds its new secret (show it once).
pub async fn create_endpoint(
    store: &Store,
    clock: &dyn Clock,
    policy: UrlPolicy,
    group_id: &GroupId,
    body: &CreateEndpoint,
) -> AppResult<WebhookEndpoint> {
    let url = validate_url(&body.url, policy)?;
    let description = body.description.as_deref().map(validate_description).transpose()?.flatten();
    let event_types = body.event_types.as_deref().map(validate_types).transpose()?;
    let existing =
        store.list_webhook_endpoints(group_id, None, MAX_ENDPOINTS_PER_GROUP as i64 + 1).await.or_internal()?;
    if existing.len() >= MAX_ENDPOINTS_PER_GROUP {
        return Err(DomainError::conflict(format!(
            "An account group may have at most {MAX_ENDPOINTS_PER_GROUP} webhook endpoints; delete one first."
        )));
    }
    let now = clock.now();
    let endpoint = WebhookEndpoint {
        id: new_prefixed_ulid("we", now),
        group_id: group_id.to_owned(),
        url,
        description,
        event_types,
        enabled: body.enabled.unwrap_or(true),
        disabled_reason: None,
        secret: generate_secret(),
        previous_secret: None,
        previous_secret_expires_at: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
    };
    store.insert_webhook_endpoint(&endpoint).await.or_internal()?;
    Ok(endpoint)
}

pub async fn get_endpoint(store: &Store, group_id: &GroupId, id: &str) -> AppResult<WebhookEndpoint> {
    store.get_webhook_endpoint(group_id, id).await.or_internal()?.ok_or_else(endpoint_not_found)
}

pub async fn list_endpoints(
    store: &Store,
    codec: &CursorCodec,
    group_id: &GroupId,
    page: &PageRequest,
) -> AppResult<Page<WebhookEndpoint>> {
    let after = page.after.clone().map(|p| (p.created_at, p.id));
    let rows = store.list_webhook_endpoints(group_id, after, page.fetch_limit()).await.or_internal()?;
    Ok(Page::from_rows(rows, page, codec, ENDPOINTS_LIST, |e| (e.created_at, e.id.clone())))
}

pub async fn update_endpoint(
    store: &Store,
    clock: &dyn Clock,
    policy: UrlPolicy,
    group_id: &GroupId,
    id: &str,
    body: &UpdateEndpoint,
) -> AppResult<WebhookEndpoint> {
    let mut changes = EndpointChanges::default();
    match &body.url {
        Patch::Absent => {}
        Patch::Null => return Err(DomainError::invalid_field("url", "must not be null")),
        Patch::Value(url) => changes.url = Some(validate_url(url, policy)?),
    }
    match &body.description {
        Patch::Absent => {}
        Patch::Null => changes.description = Some(None),
        Patch::Value(text) => changes.description = Some(validate_description(text)?),
    }
    match &body.event_types {
        Patch::Absent => {}
        Patch::Null => changes.event_types = Some(None),
        Patch::Value(types) => changes.event_types = Some(Some(validate_types(types)?)),
    }
    match body.enabled {
        Patch::Absent => {}
        Patch::Null => return Err(DomainError::invalid_field("enabled", "must be true or false")),
        Patch::Value(enabled) => changes.enabled = Some(enabled),
    }
    store
        .update_webhook_endpoint(group_id, id, &changes, clock.now())
        .await
        .or_internal()?
        .ok_or_else(endpoint_not_found)
}

pub async fn delete_endpoint(store: &Store, group_id: &GroupId, id: &str) -> AppResult<()> {
    if store.delete_webhook_endpoint(group_id, id).await.or_internal()? { Ok(()) } else { Err(endpoint_not_found()) }
}

/// Replaces the signing secret; the previous one keeps signing for the
/// overlap. The returned endpoint holds the new secret (show it once).
pub async fn rotate_secret(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    id: &str,
    body: &RotateSecret,
) -> AppResult<WebhookEndpoint> {
    let overlap = body.overlap_seconds.unwrap_or(DEFAULT_ROTATION_OVERLAP_SECS);
    if !(0..=MAX_ROTATION_OVERLAP_SECS).contains(&overlap) {
        return Err(DomainError::invalid_field(
            "overlapSeconds",
            format!("must be from 0 to {MAX_ROTATION_OVERLAP_SECS} (7 days)"),
        ));
    }
    let now = clock.now();
    store
        .rotate_webhook_secret(group_id, id, &generate_secret(), now.plus_millis(overlap * 1000), now)
        .await
        .or_internal()?
        .ok_or_else(endpoint_not_found)
}

/// Logs a `webhook.test` event and queues it to this endpoint alone; returns the event id.
pub async fn send_test(store: &Store, clock: &dyn Clock, group_id: &GroupId, id: &str) -> AppResult<String> {
    let endpoint = get_endpoint(store, group_id, id).await?;
    if !endpoint.enabled {
        return Err(DomainError::conflict("The webhook endpoint is disabled; enable it first."));
    }
    let data = webhook_test_data(group_id, id);
    match store.queue_webhook_test(group_id, id, &data, clock.now()).await.or_internal()? {
        Some(event) => Ok(event.id),
        None => Err(DomainError::conflict("The webhook endpoint is disabled; enable it first.")),
    }
}

/// Queues one stored event to one endpoint again; returns the delivery id.
pub async fn redeliver(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    endpoint_id: &str,
    event_id: &str,
) -> AppResult<String> {
    let endpoint = get_endpoint(store, group_id, endpoint_id).await?;
    let event =
        store.get_event(group_id, event_id).await.or_internal()?.ok_or_else(|| DomainError::not_found("Event"))?;
    if !endpoint.enabled {
        return Err(DomainError::conflict("The webhook endpoint is disabled; enable it first."));
    }
    store
        .redeliver_event(group_id, endpoint_id, &event, clock.now())
        .await
        .or_internal()?
        .ok_or_else(|| DomainError::conflict("The webhook endpoint is disabled; enable it first."))
}

/// One page of an endpoint's attempts, newest first.
pub async fn list_attempts(
    store: &Store,
    codec: &CursorCodec,
    group_id: &GroupId,
    endpoint_id: &str,
    page: &PageRequest,
) -> AppResult<Page<WebhookAttempt>> {
    get_endpoint(store, group_id, endpoint_id).await?;
    let after = page.after.clone().map(|CursorPosition { created_at, id }| (created_at, id));
    let rows = store.list_webhook_attempts(group_id, endpoint_id, after, page.fetch_limit()).await.or_internal()?;
    Ok(Page::from_rows(rows, page, codec, ATTEMPTS_LIST, |a| (a.started_at, a.id.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_policy_and_name_the_field() {
        let strict = UrlPolicy::default();
        assert_eq!(
            validate_url(" https://hooks.example.com/x?a=1 ", strict).unwrap(),
            "https://hooks.example.com/x?a=1"
        );
        for bad in [
            "",
            "hooks.example.com",
            "http://hooks.example.com/",
            "ftp://hooks.example.com/",
            "https://user:pw@hooks.example.com/",
            "https://127.0.0.1/",
            "https://[::1]:8443/",
            "https://10.0.0.8/",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost:3000/",
        ] {
            let err = validate_url(bad, strict).unwrap_err();
            assert_eq!(err.fields[0].field, "url", "{bad}");
        }
        assert!(validate_url("http://127.0.0.1:9000/hook", UrlPolicy::PERMISSIVE).is_ok());
        assert!(validate_url("http://169.254.169.254/", UrlPolicy::PERMISSIVE).is_err(), "metadata stays refused");
    }

    #[test]
    fn event_type_lists_are_checked_per_entry() {
        assert!(validate_types(&[]).is_err());
        let err = validate_types(&["message.sent".into(), "bogus".into(), "webhook.test".into()]).unwrap_err();
        let fields: Vec<_> = err.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["eventTypes[1]", "eventTypes[2]"]);
        assert_eq!(
            validate_types(&["message.sent".into(), "message.sent".into()]).unwrap(),
            vec![EventType::MessageSent]
        );
    }
}
