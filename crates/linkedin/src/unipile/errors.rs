//! Unipile failures → [`LinkedInError`] (contract §2.3).
//!
//! Known `type`s are mapped one by one; a type we do not know is mapped by its
//! HTTP status, so a new Unipile error never turns into a wrong retry decision.

use super::wire::Problem;
use crate::error::{LimitKind, LinkedInError};
use sonarly_domain::Timestamp;
use std::time::Duration;

/// What the failing call was about, for the few types whose meaning depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    /// `POST /users/invite`: Unipile's limit types mean the weekly invitation limit.
    Invite,
    /// Routes about one member (profile, posts, start chat, a send into their chat): a 404 means
    /// the person is not reachable.
    Person,
    /// Reads of one chat: a 404 means the conversation is gone (`NotFound`; the inbox skips it).
    Chat,
    /// Routes whose only resource is the connected account itself (own profile, relations,
    /// sent invitations, chat list, InMail balance, search parameters): Unipile's 404
    /// `resource_not_found` there is "Account not found", i.e. the Unipile account was deleted.
    Account,
    /// `GET /accounts/{id}`: a 404 is a plain `NotFound`, which the seat health reads as "gone".
    Seat,
    /// Everything else: a 404 is a plain "not found".
    Other,
}

/// Maps a non-2xx Unipile answer.
pub(crate) fn from_response(status: u16, body: &[u8], retry_after: Option<Duration>, ctx: Ctx) -> LinkedInError {
    let problem: Problem = crate::decode_provider_json(body).unwrap_or_default();
    let kind = problem.kind.as_deref().map(str::trim).unwrap_or("");
    let what = crate::sanitize_provider_text(&describe(status, kind, &problem, body)).into_owned();

    let short = kind.strip_prefix("errors/").unwrap_or(kind);
    // 429 is a rate limit whatever its type says.
    if status == 429 || short == "too_many_requests" {
        return LinkedInError::RateLimited { retry_after };
    }
    if status == 404 && ctx != Ctx::Seat && account_gone(short, ctx, &problem) {
        return LinkedInError::AccountDisconnected(format!(
            "Unipile no longer has this account (deleted?); connect it again: {what}"
        ));
    }
    if let Some(mapped) = by_type(status, short, ctx, &what) {
        return mapped;
    }
    by_status(status, ctx, what)
}

/// Whether a 404 is about the connected account rather than the person, chat or
/// post asked for: any `resource_not_found` on a route whose only resource is the
/// account, or, on any route, a title or detail that names the account alone
/// ("Account not found"; not the OAS's "Account, chat or thread not found").
fn account_gone(kind: &str, ctx: Ctx, problem: &Problem) -> bool {
    if ctx == Ctx::Account && kind == "resource_not_found" {
        return true;
    }
    [problem.title.as_deref(), problem.detail.as_deref()].into_iter().flatten().any(names_only_the_account)
}

fn names_only_the_account(text: &str) -> bool {
    const OTHER_RESOURCES: [&str; 10] =
        ["chat", "thread", "user", "message", "post", "attendee", "attachment", "invitation", "comment", "profile"];
    let text = text.to_ascii_lowercase();
    let Some(at) = text.find("account") else {
        return false;
    };
    text[at..].contains("not found") && !OTHER_RESOURCES.iter().any(|other| text.contains(other))
}

/// The explicit rows of contract §2.3 (plus two types third-party code reports).
fn by_type(status: u16, kind: &str, ctx: Ctx, what: &str) -> Option<LinkedInError> {
    use LinkedInError as E;
    let owned = || what.to_owned();
    Some(match kind {
        // Unipile uses the same limit types outside invitations; there they are a daily cap.
        "cannot_resend_yet" | "limit_exceeded" | "cannot_resend_within_24hrs" | "connection_limit_reached" => {
            if ctx == Ctx::Invite || kind == "cannot_resend_yet" || kind == "connection_limit_reached" {
                E::LimitReached(LimitKind::WeeklyInvitations)
            } else {
                E::LimitReached(LimitKind::DailyActions)
            }
        }
        "insufficient_credits" => E::LimitReached(LimitKind::InMailCredits),
        "no_connection_with_recipient" => E::NotConnected,
        "invalid_recipient"
        | "user_unreachable"
        | "blocked_recipient"
        | "not_allowed_inmail"
        | "cannot_invite_attendee" => E::NotReachable(owned()),
        // `already_connected` is not in the OAS enum but is seen in the wild; it is idempotent success too.
        // `already_invited_recently` also follows a withdrawn invitation: `do_invite` checks the sent list.
        "already_invited_recently" | "action_already_performed" | "already_connected" => E::AlreadyDone(owned()),
        "disconnected_account" | "account_restricted" => E::AccountDisconnected(owned()),
        // The owner must act on LinkedIn: a checkpoint (2FA, OTP, in-app validation, captcha)
        // to solve, new credentials, or "complete authentication on the provider's native
        // application" (403 `action_required`, OAS).
        "action_required"
        | "checkpoint_error"
        | "invalid_checkpoint_solution"
        | "expired_credentials"
        | "invalid_credentials" => E::ActionRequired(owned()),
        // Scoped to one product or route (OAS: `multiple_sessions` "restricts access to this
        // route only"; `disconnected_feature` is the Sales Navigator or Recruiter session):
        // the rest of the seat keeps working.
        "multiple_sessions"
        | "disconnected_feature"
        | "feature_not_subscribed"
        | "subscription_required"
        | "insufficient_permissions"
        | "invalid_account" => E::FeatureUnavailable(owned()),
        "invalid_message" | "invalid_post" | "unprocessable_entity" => E::InvalidInput(owned()),
        "missing_credentials" => E::Unauthorized(owned()),
        "resource_not_found" if status == 404 => not_found(ctx, owned()),
        "unexpected_error"
        | "provider_error"
        | "request_timeout"
        | "service_unavailable"
        | "no_client_session"
        | "no_channel"
        | "no_handler"
        | "network_down"
        | "proxy_error"
        // 422s that say Unipile could not reach LinkedIn for this call, not that the call is wrong.
        | "realtime_client_not_initialized"
        | "provider_unreachable" => E::Transient(owned()),
        _ => return None,
    })
}

/// Unknown (or absent) types, by HTTP status.
fn by_status(status: u16, ctx: Ctx, what: String) -> LinkedInError {
    use LinkedInError as E;
    match status {
        400 | 409 | 413 | 415 | 422 => E::InvalidInput(what),
        // Every 401 type but `missing_credentials` is about the LinkedIn session (checkpoint, wrong account…);
        // 407 is the account's own proxy refusing us.
        401 | 407 => E::AccountDisconnected(what),
        403 | 501 => E::FeatureUnavailable(what),
        404 => not_found(ctx, what),
        408 | 425 => E::Transient(what),
        429 => E::RateLimited { retry_after: None },
        500..=599 => E::Transient(what),
        400..=499 => E::InvalidInput(what),
        // 1xx/3xx that reqwest did not resolve: nothing says the call can never work.
        _ => E::Transient(what),
    }
}

fn not_found(ctx: Ctx, what: String) -> LinkedInError {
    match ctx {
        Ctx::Invite | Ctx::Person => LinkedInError::NotReachable(what),
        Ctx::Chat | Ctx::Account | Ctx::Seat | Ctx::Other => LinkedInError::NotFound(what),
    }
}

/// `"<status> <type>: <title> — <detail>"`, or a bounded snippet of a non-JSON body.
fn describe(status: u16, kind: &str, problem: &Problem, body: &[u8]) -> String {
    let mut out = format!("Unipile {status}");
    if !kind.is_empty() {
        out.push(' ');
        out.push_str(kind);
    }
    let text: Vec<&str> = [problem.title.as_deref(), problem.detail.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if !text.is_empty() {
        out.push_str(": ");
        out.push_str(&text.join(" — "));
    } else if kind.is_empty() && !body.is_empty() {
        let snippet: String = String::from_utf8_lossy(body).chars().take(200).collect();
        out.push_str(": ");
        out.push_str(snippet.trim());
    }
    out
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) as an instant. The weekday
/// must be one of the seven abbreviations but is not checked against the date.
fn parse_http_date(value: &str) -> Option<Timestamp> {
    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let number = |s: &str, len: usize| -> Option<i64> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
    };
    let (weekday, rest) = value.split_once(", ")?;
    WEEKDAYS.contains(&weekday).then_some(())?;
    let mut parts = rest.split(' ');
    let day = number(parts.next()?, 2)?;
    let month = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let year = number(parts.next()?, 4)?;
    let mut clock = parts.next()?.split(':');
    let (hour, minute, second) = (number(clock.next()?, 2)?, number(clock.next()?, 2)?, number(clock.next()?, 2)?);
    (clock.next().is_none() && parts.next()? == "GMT" && parts.next().is_none()).then_some(())?;
    Timestamp::from_utc(year, month, day, hour, minute, second)
}

/// `Retry-After` as delta-seconds or an IMF-fixdate (RFC 9110 §10.2.3); a date in the past means "now".
pub(crate) fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at_ms = parse_http_date(value)?.as_millis();
    let wait = at_ms.saturating_sub(now.as_millis()).max(0);
    Some(Duration::from_millis(wait as u64))
}

/// A transport failure (connect, TLS, timeout, body read): the call may pass later.
pub(crate) fn transport(error: reqwest::Error) -> LinkedInError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    LinkedInError::Transient(format!("Unipile request {kind}: {}", error.without_url()))
}
