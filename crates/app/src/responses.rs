//! Queuing replies through the outbound scheduler (spec 2.4 M2), and the
//! added reads and cancel of scheduled responses.

use crate::prospecting::account_for;
use crate::upstream::upstream_error;
use crate::{AppResult, StoreResultExt};
use sonarly_domain::GroupId;
use sonarly_domain::clock::Clock;
use sonarly_domain::cursor::CursorCodec;
use sonarly_domain::id::new_hex_id;
use sonarly_domain::linkedin_account::{DeferredReason, LinkedInAccount};
use sonarly_domain::page::{Page, PageRequest};
use sonarly_domain::responses::*;
use sonarly_domain::{DomainError, ErrorCode, FieldIssue};
use sonarly_store::{ResponseCreation, Store};

pub const RESPONSES_LIST: &str = "message-responses";

/// A queue request as the API received it (all fields optional so every
/// problem can be reported at once; the API converts its body type into it).
#[derive(Debug, Clone, Default)]
pub struct QueueResponseRequest {
    pub prospect_id: Option<String>,
    pub message: Option<String>,
    pub channel: Option<String>,
    pub conversation_id: Option<String>,
    pub subject: Option<String>,
}

struct Valid {
    prospect_id: String,
    message: String,
    channel: ResponseChannel,
    conversation_id: Option<String>,
    subject: Option<String>,
}

fn validate(req: &QueueResponseRequest) -> Result<Valid, DomainError> {
    let mut issues = Vec::new();
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let prospect_id = text(&req.prospect_id);
    if prospect_id.is_none() {
        issues.push(FieldIssue::new("prospectId", "is required"));
    }
    let message = text(&req.message);
    if message.is_none() {
        issues.push(FieldIssue::new("message", "is required and must not be empty"));
    }
    let channel = match req.channel.as_deref().map(ResponseChannel::parse) {
        None => ResponseChannel::DirectMessage,
        Some(Ok(channel)) => channel,
        Some(Err(bad)) => {
            issues.push(FieldIssue::new(
                "channel",
                format!("`{}` is not one of {}", bad.value, ResponseChannel::names()),
            ));
            ResponseChannel::DirectMessage
        }
    };
    let subject = text(&req.subject);
    if channel == ResponseChannel::InMail && subject.is_none() {
        issues.push(FieldIssue::new("subject", "is required when channel is inmail"));
    }
    match (prospect_id, message) {
        (Some(prospect_id), Some(message)) if issues.is_empty() => {
            Ok(Valid { prospect_id, message, channel, conversation_id: text(&req.conversation_id), subject })
        }
        _ => Err(DomainError::invalid(issues)),
    }
}

/// Business rules LinkedIn imposes on text (422).
fn check_lengths(v: &Valid) -> AppResult<()> {
    let chars = v.message.chars().count();
    let (limit, what) = if v.channel == ResponseChannel::InMail {
        (INMAIL_BODY_MAX_CHARS, "an InMail body")
    } else {
        (DIRECT_MESSAGE_MAX_CHARS, "a LinkedIn message")
    };
    if chars > limit {
        return Err(unprocessable("message", format!("is {chars} characters; {what} holds at most {limit}")));
    }
    if let Some(subject) = &v.subject
        && subject.chars().count() > INMAIL_SUBJECT_MAX_CHARS
    {
        return Err(unprocessable(
            "subject",
            format!("an InMail subject holds at most {INMAIL_SUBJECT_MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

fn unprocessable(field: &str, message: String) -> DomainError {
    let mut e = DomainError::unprocessable("Request validation failed.").with_details(format!("{field}: {message}"));
    e.fields = vec![FieldIssue::new(field, message)];
    e
}

/// Queues a reply. `idempotency` is (key, canonical request hash).
pub async fn queue_response(
    store: &Store,
    registry: &crate::linkedin::ProviderRegistry,
    clock: &dyn Clock,
    group_id: &GroupId,
    request: &QueueResponseRequest,
    idempotency: Option<(&str, &str)>,
) -> AppResult<ScheduledResponse> {
    let v = validate(request)?;
    let now = clock.now();
    if let Some((key, hash)) = idempotency
        && let Some(existing) = store.response_by_key(group_id, key).await.or_internal()?
        && sonarly_domain::idempotency::within_window(existing.created_at, now)
    {
        return replay(existing, hash);
    }
    check_lengths(&v)?;
    let prospect = store
        .get_prospect(group_id, &v.prospect_id)
        .await
        .or_internal()?
        .ok_or_else(|| unprocessable("prospectId", "is not a prospect of this account group".into()))?;
    let recipient = prospect.member_id.clone().unwrap_or_else(|| prospect.provider_id.clone());

    let (account_id, conversation_id, provider_chat_id) = if v.channel == ResponseChannel::DirectMessage {
        let conversation = match &v.conversation_id {
            Some(id) => {
                let c = store.conversation_target(group_id, id).await.or_internal()?.ok_or_else(|| {
                    unprocessable("conversationId", "is not a conversation of this account group".into())
                })?;
                let participant = c.participant_provider_id.as_deref();
                if participant != Some(recipient.as_str()) && participant != Some(prospect.provider_id.as_str()) {
                    return Err(unprocessable("conversationId", "is a conversation with someone else".into()));
                }
                Some(c)
            }
            None => match store.conversation_with(group_id, &recipient).await.or_internal()? {
                Some(c) => Some(c),
                None => store.conversation_with(group_id, &prospect.provider_id).await.or_internal()?,
            },
        };
        match conversation {
            Some(c) => (c.linkedin_account_id, Some(c.id), Some(c.provider_chat_id)),
            None => match connected_account(store, registry, group_id, &recipient, prospect.connection_degree).await? {
                Some(account) => (account.id, None, None),
                None => {
                    return Err(unprocessable(
                        "prospectId",
                        "has no conversation and is not a first-degree connection of any connected account; \
                         use channel inmail"
                            .into(),
                    ));
                }
            },
        }
    } else {
        (inmail_account(store, registry, group_id).await?.id, None, None)
    };

    let account = store
        .get_linkedin_account(group_id, &account_id)
        .await
        .or_internal()?
        .filter(|a| a.status.can_act())
        .ok_or_else(|| DomainError::conflict("The LinkedIn account of this conversation is not connected."))?;
    let mut scheduled_at = account.rules.next_working_moment(now);
    let mut deferred_reason = (scheduled_at > now).then_some(DeferredReason::WorkingHours);
    if let Some(until) = account.rate_limited_until
        && until > scheduled_at
    {
        scheduled_at = account.rules.next_working_moment(until);
        deferred_reason = Some(DeferredReason::RateLimited);
    }
    let response = ScheduledResponse {
        id: new_hex_id(now),
        group_id: group_id.to_owned(),
        prospect_id: prospect.id.clone(),
        linkedin_account_id: account.id.clone(),
        channel: v.channel,
        body: v.message,
        subject: v.subject,
        conversation_id,
        recipient_provider_id: recipient,
        provider_chat_id,
        status: ResponseStatus::Queued,
        scheduled_at,
        deferred: deferred_reason.is_some(),
        deferred_reason,
        sent_at: None,
        message_id: None,
        failure_code: None,
        failure_message: None,
        idempotency_key: idempotency.map(|(k, _)| k.to_owned()),
        request_hash: idempotency.map(|(_, h)| h.to_owned()),
        created_at: now,
        updated_at: now,
    };
    match store.create_response(&response, &new_hex_id(now), now).await.or_internal()? {
        ResponseCreation::Created(r) => Ok(r),
        ResponseCreation::Existing(existing) => replay(existing, idempotency.map(|(_, h)| h).unwrap_or_default()),
    }
}

fn replay(existing: ScheduledResponse, hash: &str) -> AppResult<ScheduledResponse> {
    if existing.request_hash.as_deref() == Some(hash) {
        Ok(existing)
    } else {
        Err(DomainError::new(
            ErrorCode::IdempotencyConflict,
            "This Idempotency-Key was already used with a different request body.",
        ))
    }
}

/// The group's connected account that is a first-degree connection of the
/// member (asked of LinkedIn: a connection belongs to one account, not the group).
async fn connected_account(
    store: &Store,
    registry: &crate::linkedin::ProviderRegistry,
    group_id: &GroupId,
    member_id: &str,
    stored_degree: Option<i64>,
) -> AppResult<Option<LinkedInAccount>> {
    account_for(store, group_id, false).await?;
    let accounts: Vec<_> = store
        .group_linkedin_accounts(group_id)
        .await
        .or_internal()?
        .into_iter()
        .filter(|a| a.status.can_act())
        .collect();
    // With one account, the degree recorded at import (kept fresh by the inbox sync) is its answer.
    if accounts.len() == 1 {
        return Ok((stored_degree == Some(1)).then(|| accounts.into_iter().next()).flatten());
    }
    for account in accounts {
        let provider = registry.interactive(&account).map_err(upstream_error)?;
        match provider.profile(member_id).await {
            Ok(person) if person.connection_degree == Some(1) => return Ok(Some(account)),
            Ok(_)
            | Err(sonarly_linkedin::LinkedInError::NotReachable(_) | sonarly_linkedin::LinkedInError::NotFound(_)) => {}
            Err(e) => return Err(upstream_error(e)),
        }
    }
    Ok(None)
}

/// A connected account with InMail credits left.
async fn inmail_account(
    store: &Store,
    registry: &crate::linkedin::ProviderRegistry,
    group_id: &GroupId,
) -> AppResult<LinkedInAccount> {
    let accounts = store.group_linkedin_accounts(group_id).await.or_internal()?;
    let connected: Vec<_> = accounts.into_iter().filter(|a| a.status.can_act()).collect();
    if connected.is_empty() {
        return Err(DomainError::conflict("The account group has no connected LinkedIn account."));
    }
    for account in connected {
        let provider = registry.interactive(&account).map_err(upstream_error)?;
        if provider.inmail_credits().await.map_err(upstream_error)?.unwrap_or(0) > 0 {
            return Ok(account);
        }
    }
    Err(unprocessable("channel", "no connected LinkedIn account of this group has InMail credits left".into()))
}

pub async fn get_response(store: &Store, group_id: &GroupId, id: &str) -> AppResult<ScheduledResponse> {
    store.get_response(group_id, id).await.or_internal()?.ok_or_else(|| DomainError::not_found("Scheduled response"))
}

pub async fn list_responses(
    store: &Store,
    codec: &CursorCodec,
    group_id: &GroupId,
    status_filter: Option<&str>,
    page: &PageRequest,
) -> AppResult<Page<ScheduledResponse>> {
    let status_filter = crate::status_filter(status_filter, ResponseStatus::parse, ResponseStatus::names)?;
    let rows = store.list_responses(group_id, status_filter, page).await.or_internal()?;
    Ok(Page::from_rows(rows, page, codec, RESPONSES_LIST, |r| (r.created_at, r.id.clone())))
}

pub async fn cancel_response(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    id: &str,
) -> AppResult<ScheduledResponse> {
    match store.cancel_response(group_id, id, clock.now()).await.or_internal()? {
        None => Err(DomainError::not_found("Scheduled response")),
        Some((true, r)) => Ok(r),
        Some((false, r)) => Err(DomainError::unprocessable(format!(
            "The response is not in a cancellable status (it is {}); only queued responses can be cancelled.",
            r.status
        ))),
    }
}
