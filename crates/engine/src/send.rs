//! The fenced send: the one way a response or a campaign step calls the
//! provider to act (docs/decisions.md, "Exactly-once sends").
//!
//! 1. The payload is stored once ([`Store::prepare_send`], or with the first
//!    attempt when it is stored elsewhere already) before any attempt;
//!    retries and reconciliation read that copy.
//! 2. An attempt is begun durably (number, owner, start, deadline) before the
//!    call. The call is cut at the deadline (the call budget, always shorter
//!    than the lease) and the lease is renewed while it runs.
//! 3. A definite answer ends the attempt: delivered, or refused (nothing was
//!    delivered; the caller's failure policy decides what next). A timeout,
//!    reset, 5xx or a cut call leaves the outcome unknown until a settle time.
//! 4. A claim that finds an attempt in flight or unknown waits until it
//!    settles (deadline + settle period), then reconciles: the provider's
//!    traces of the attempt (own messages with the stored text since the
//!    attempt started, the pending invitation) are attributed to it unless
//!    another send holds them. Found: delivered. Not found: the next attempt
//!    (fenced), up to [`MAX_ATTEMPTS`], then failed with a readable reason.
//!
//! Deferring for hours, caps or spacing happens before step 2 and is no
//! attempt. Every finishing statement is fenced by the attempt number, so an
//! owner that lost its lease and finishes late cannot overwrite a newer outcome.
//!
//! [`Store::prepare_send`]: sonarly_store::Store::prepare_send

use crate::{Engine, backoff_ms};
use sonarly_linkedin::{LinkedInError, LinkedInResult, OutboundAttempt, OutboundToken, SharedLinkedIn, Trace};
use sonarly_store::{Fence, NewSend, OutboundSend, SendAction, SendState, StoreError, WorkItem};
use std::time::Duration;

/// Attempts before an action whose outcome stays unknown fails.
pub(crate) const MAX_ATTEMPTS: i64 = 8;
/// Consecutive failed read-backs (LinkedIn not answering the check) before giving up.
const RECONCILE_TRIES: i64 = 8;

/// How an attempt (or the resumption of one) ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Performed, now or by an earlier attempt found by reconciliation;
    /// finish by settling `fence` as delivered, attributing the trace.
    Delivered { fence: Fence, trace: Option<Trace> },
    /// The provider refused: nothing was delivered. The caller's failure
    /// policy decides, settling `fence` as ready (retry later) or failed.
    Refused { fence: Fence, error: LinkedInError },
    /// The row was released to come back later (the outcome is settling, or
    /// the check could not be made); nothing else to do now.
    Waiting,
    /// Still unknown after the last attempt: fail with `reason`, settling `fence` as failed.
    Unconfirmed { fence: Fence, reason: String },
    /// Another worker owns the attempt now; leave it alone.
    Stale,
}

/// Which attempt to begin.
pub(crate) enum NextAttempt<'a> {
    /// The next attempt of a stored, `ready` send.
    Of(&'a OutboundSend),
    /// The first attempt of a payload stored elsewhere already (a response's
    /// text): stored and begun in one statement.
    First(&'a NewSend),
}

/// What resuming a pending send led to.
pub(crate) enum Resumed {
    Outcome(Outcome),
    /// No trace of the last attempt: the send is ready for the next one.
    Ready(Box<OutboundSend>),
}

/// A payload as its row reads once its first attempt began.
fn as_stored(new: &NewSend, now: sonarly_domain::Timestamp) -> OutboundSend {
    OutboundSend {
        token: new.token.clone(),
        linkedin_account_id: new.linkedin_account_id.clone(),
        work_kind: new.work_kind.clone(),
        ref_id: new.ref_id.clone(),
        action: new.action,
        recipient_provider_id: new.recipient_provider_id.clone(),
        provider_chat_id: new.provider_chat_id.clone(),
        subject: new.subject.clone(),
        body: new.body.clone(),
        state: SendState::InFlight,
        attempt: 1,
        owner: None,
        started_at: Some(now),
        deadline: None,
        settle_at: None,
        provider_ref: None,
        last_error: None,
        created_at: now,
        updated_at: now,
    }
}

/// The question reconciliation asks the provider.
fn attempt_of(send: &OutboundSend) -> OutboundAttempt {
    let recipient = send.recipient_provider_id.clone();
    let text = send.body.clone().unwrap_or_default();
    match (send.action, &send.provider_chat_id) {
        (SendAction::Message | SendAction::StartChat, Some(chat)) => {
            OutboundAttempt::Message { chat_id: chat.clone(), text }
        }
        (SendAction::Message | SendAction::StartChat, None) => {
            OutboundAttempt::StartChat { recipient_provider_id: recipient, text }
        }
        (SendAction::InMail, _) => OutboundAttempt::InMail { recipient_provider_id: recipient, body: text },
        (SendAction::Invitation, _) => OutboundAttempt::Invitation { recipient_provider_id: recipient },
        (SendAction::Visit | SendAction::Follow | SendAction::Reaction, _) => {
            OutboundAttempt::Engagement { recipient_provider_id: recipient }
        }
    }
}

/// Performs the stored action; what it produced, as a trace to attribute.
async fn call(provider: &SharedLinkedIn, token: &OutboundToken, send: &OutboundSend) -> LinkedInResult<Option<Trace>> {
    let to = send.recipient_provider_id.as_str();
    let body = send.body.as_deref().unwrap_or_default();
    Ok(match (send.action, &send.provider_chat_id) {
        (SendAction::Message | SendAction::StartChat, Some(chat)) => {
            Some(Trace::Message(provider.send_message(token, chat, body).await?))
        }
        (SendAction::Message | SendAction::StartChat, None) => {
            Some(Trace::Message(provider.start_chat(token, to, body).await?))
        }
        (SendAction::InMail, _) => {
            let subject = send.subject.as_deref().unwrap_or_default();
            Some(Trace::Message(provider.send_inmail(token, to, subject, body).await?))
        }
        (SendAction::Invitation, _) => {
            let invitation = provider.send_invitation(token, to, send.body.as_deref()).await?;
            Some(Trace::Invitation(Some(invitation.invitation_id)))
        }
        (SendAction::Visit, _) => provider.visit_profile(token, to).await.map(|_| None)?,
        (SendAction::Follow, _) => provider.follow(token, to).await.map(|_| None)?,
        (SendAction::Reaction, _) => provider.react_to_recent_post(token, to).await.map(|_| None)?,
    })
}

/// How an attempt's call ended, as the `outcome` label of `sonarly_outbound_actions_total`.
fn attempt_outcome<T>(answer: Option<&LinkedInResult<T>>) -> &'static str {
    match answer {
        Some(Ok(_)) | Some(Err(LinkedInError::AlreadyDone(_))) => "delivered",
        Some(Err(LinkedInError::Transient(_))) | None => "unknown",
        Some(Err(_)) => "refused",
    }
}

impl Engine {
    /// A send whose last attempt is in flight or unknown: waits until it
    /// settles, then reconciles by attribution.
    pub(crate) async fn resume_send(
        &self,
        item: &WorkItem,
        provider: &SharedLinkedIn,
        send: OutboundSend,
    ) -> Result<Resumed, StoreError> {
        let now = self.now();
        let fence = Fence { token: send.token.clone(), attempt: send.attempt };
        let settle_at = match send.state {
            // Its owner may still be calling (or died calling): the call ends by the deadline.
            SendState::InFlight => send.deadline.unwrap_or(now).plus_millis(self.config.settle_ms),
            SendState::Unknown => send.settle_at.unwrap_or(now),
            _ => return Ok(Resumed::Ready(Box::new(send))),
        };
        if now < settle_at {
            self.store.wait_send(item, settle_at, "SETTLING").await?;
            return Ok(Resumed::Outcome(Outcome::Waiting));
        }
        let token = OutboundToken::new(send.token.clone());
        let started_at = send.started_at.unwrap_or(send.created_at);
        let traces = match provider.reconcile(&token, &attempt_of(&send), started_at).await {
            Ok(traces) => traces,
            // LinkedIn cannot be asked now (busy, down, or the account needs attention): the
            // outcome stays unknown, so ask again later, never send meanwhile.
            Err(error) if error.is_retryable() || error.stops_account() => {
                if item.attempts >= RECONCILE_TRIES {
                    let reason = format!(
                        "LinkedIn could not be asked whether attempt {} was delivered ({error}); it was not sent again.",
                        send.attempt
                    );
                    return Ok(Resumed::Outcome(Outcome::Unconfirmed { fence, reason }));
                }
                let at = now.plus_millis(backoff_ms(item.attempts));
                tracing::info!(token = %send.token, %error, retry_at = %at, "cannot reconcile yet");
                self.store.release_work(item, at, Some("RECONCILE_FAILED"), false).await?;
                return Ok(Resumed::Outcome(Outcome::Waiting));
            }
            // The conversation or the member is gone: no trace of ours there either.
            Err(_) => Vec::new(),
        };
        let refs: Vec<String> = traces.iter().filter_map(Trace::provider_ref).collect();
        let taken = self.store.attributed_refs(&send.linkedin_account_id, &refs).await?;
        if let Some(trace) = traces.into_iter().find(|t| t.provider_ref().is_none_or(|r| !taken.contains(&r))) {
            tracing::info!(token = %send.token, attempt = send.attempt, "reconciled: the attempt was delivered");
            sonarly_app::metrics::outbound_action(send.action.as_str(), "reconciled_delivered");
            return Ok(Resumed::Outcome(Outcome::Delivered { fence, trace: Some(trace) }));
        }
        if send.attempt >= MAX_ATTEMPTS {
            let last = send.last_error.as_deref().unwrap_or("no answer");
            let reason = format!(
                "LinkedIn did not confirm delivery after {} attempts (last: {last}); it was not sent again.",
                send.attempt
            );
            return Ok(Resumed::Outcome(Outcome::Unconfirmed { fence, reason }));
        }
        if !self.store.reset_send(&fence, now).await? {
            return Ok(Resumed::Outcome(Outcome::Stale));
        }
        tracing::info!(token = %send.token, attempt = send.attempt, "reconciled: not delivered; trying again");
        match self.store.get_send(&send.token).await? {
            Some(send) => Ok(Resumed::Ready(Box::new(send))),
            None => Ok(Resumed::Outcome(Outcome::Stale)),
        }
    }

    /// Begins an attempt and calls the provider. `chat` is the conversation
    /// to use when one is known now.
    pub(crate) async fn attempt_send(
        &self,
        item: &WorkItem,
        provider: &SharedLinkedIn,
        next: NextAttempt<'_>,
        chat: Option<&str>,
    ) -> Result<Outcome, StoreError> {
        let now = self.now();
        let budget = self.config.call_budget_ms();
        let deadline = now.plus_millis(budget);
        let (fence, mut send) = match next {
            NextAttempt::Of(send) => {
                let fence =
                    self.store.begin_attempt(&send.token, send.attempt, &self.owner, chat, now, deadline).await?;
                (fence, send.clone())
            }
            NextAttempt::First(new) => {
                let fence = self.store.begin_first_attempt(new, &self.owner, now, deadline).await?;
                (fence, as_stored(new, now))
            }
        };
        let Some(fence) = fence else { return Ok(Outcome::Stale) };
        if let Some(chat) = chat {
            send.provider_chat_id = Some(chat.to_owned());
        }
        let token = OutboundToken::new(send.token.clone());
        let answer = self.within_lease(item, budget, call(provider, &token, &send)).await;
        sonarly_app::metrics::outbound_action(send.action.as_str(), attempt_outcome(answer.as_ref()));
        let now = self.now();
        let answer_was_an_error = answer.is_some();
        let error = match answer {
            Some(Ok(trace)) => return Ok(Outcome::Delivered { fence, trace }),
            Some(Err(LinkedInError::AlreadyDone(_))) => return Ok(Outcome::Delivered { fence, trace: None }),
            Some(Err(LinkedInError::Transient(message))) => message,
            None => format!("no answer within {budget} ms"),
            Some(Err(error)) => return Ok(Outcome::Refused { fence, error }),
        };
        // Unknown: the request may have gone out. Wait until a delivered message would show.
        let settle_at = now.max(deadline).plus_millis(self.config.settle_ms);
        if answer_was_an_error {
            // A 500 may be LinkedIn's limit in disguise (Unipile's limits page): the whole seat
            // backs off for the settle time, instead of its next action meeting the same wall.
            self.back_seat_off(&send.linkedin_account_id, settle_at).await?;
        }
        tracing::info!(token = %send.token, attempt = fence.attempt, %error, settle_at = %settle_at, "outcome unknown");
        if self.store.mark_send_unknown(item, &fence, settle_at, &error, now).await? {
            Ok(Outcome::Waiting)
        } else {
            Ok(Outcome::Stale)
        }
    }

    /// Pauses the seat until `until`, unless a longer pause is in force.
    async fn back_seat_off(&self, account_id: &str, until: sonarly_domain::Timestamp) -> Result<(), StoreError> {
        let Some(account) = self.store.system().linkedin_account(account_id).await? else { return Ok(()) };
        if account.rate_limited_until.is_none_or(|u| u < until) {
            self.store.set_linkedin_rate_limited_until(account_id, Some(until)).await?;
            tracing::warn!(account = account_id, until = %until, "provider error on a send: the seat backs off");
        }
        Ok(())
    }

    /// Runs a provider call for at most `budget_ms`, renewing the lease while
    /// it runs; `None` when the call was cut.
    async fn within_lease<T>(&self, item: &WorkItem, budget_ms: i64, call: impl Future<Output = T>) -> Option<T> {
        let every = Duration::from_millis((self.config.lease_ms / 3).max(100) as u64);
        let renew = async {
            loop {
                tokio::time::sleep(every).await;
                match self.store.renew_lease(item, self.lease_until()).await {
                    Ok(true) => {}
                    Ok(false) => {
                        // The attempt fence still protects the outcome; stop renewing.
                        tracing::warn!(item = %item.id, "lease lost while the provider call runs");
                        std::future::pending::<()>().await;
                    }
                    Err(error) => tracing::warn!(item = %item.id, %error, "cannot renew the lease"),
                }
            }
        };
        tokio::select! {
            answer = tokio::time::timeout(Duration::from_millis(budget_ms.max(1) as u64), call) => answer.ok(),
            () = renew => None,
        }
    }
}
