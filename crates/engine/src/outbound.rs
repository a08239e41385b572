//! The outbound scheduler: releases queued responses under each connected
//! account's safety rules and sends each exactly once.
//!
//! Per account: working hours in its time zone, a daily cap per action type
//! (counted from local midnight), randomized spacing between actions, and a
//! pause when LinkedIn rate-limits. A rule that holds a response back moves
//! its `scheduledAt` and marks it `deferred`.
//!
//! Exactly once: the response id is the provider idempotency token and the
//! send goes through the fenced-send mechanism (`send`): the payload and each
//! attempt are recorded before the call, an attempt whose outcome is unknown
//! is reconciled by attribution once it settles, and every finishing
//! statement is fenced by the attempt number. Deferring is no attempt. The
//! send slot (and the action count) is reserved once, before the first call.

use crate::Engine;
use crate::safety::spacing_ms;
use crate::send::{NextAttempt, Outcome, Resumed};
use sonarly_app::linkedin::seat::Refused;
use sonarly_domain::linkedin_account::{ActionKind, DeferredReason, LinkedInAccount};
use sonarly_domain::responses::{ResponseChannel, ResponseStatus, ScheduledResponse};
use sonarly_linkedin::{LinkedInError, Trace};
use sonarly_store::{
    ChatRef, Fence, NewMessage, NewSend, OUTBOUND_WORK, ResponseSent, SendAction, SendState, Settle, SlotClaim,
    StoreError, WorkItem,
};

impl Engine {
    /// Runs one claimed response: reconciles, holds back, reserves, sends.
    pub(crate) async fn dispatch(&self, item: &WorkItem) -> Result<(), StoreError> {
        let now = self.now();
        let Some(response) = self.store.get_response(&item.group_id, &item.ref_id).await? else {
            self.store.finish_work(item).await?;
            return Ok(());
        };
        if !response.status.is_open() {
            self.store.finish_work(item).await?;
            return Ok(());
        }
        let mut send = self.store.get_send(&response.id).await?;
        if send.is_none() && response.status == ResponseStatus::Sending {
            // Claimed and reserved, but no send recorded (before this record existed, or a
            // claim that died in between): it may have gone out, so it is reconciled first.
            let started_at = response.updated_at;
            let settle_at = started_at.plus_millis(self.config.call_budget_ms() + self.config.settle_ms);
            send = Some(self.store.adopt_unrecorded_attempt(&new_send(&response), started_at, settle_at, now).await?);
        }
        // A failure here gives up the attempt in flight or unknown, if any.
        let pending = send
            .as_ref()
            .filter(|s| s.state.is_pending())
            .map(|s| Fence { token: s.token.clone(), attempt: s.attempt });
        let Some(account) = self.store.system().linkedin_account(&response.linkedin_account_id).await? else {
            return self
                .fail_response(item, &response, "ACCOUNT_MISSING", "The LinkedIn account was removed.", pending)
                .await;
        };
        if !account.status.can_act() && pending.is_none() {
            let message = "The LinkedIn account is disconnected; reconnect it and queue the response again.";
            return self.fail_response(item, &response, "ACCOUNT_DISCONNECTED", message, None).await;
        }
        let provider = match self.registry.provider(&account) {
            Ok(p) => p,
            Err(e) => return self.fail_response(item, &response, e.reason_code(), &e.to_string(), pending).await,
        };
        // An attempt in flight or unknown is settled and reconciled before anything else.
        if let Some(s) = send.take_if(|s| s.state.is_pending()) {
            match self.resume_send(item, &provider, s).await? {
                Resumed::Outcome(outcome) => return self.finish_response(item, &response, &account, outcome).await,
                Resumed::Ready(s) => send = Some(*s),
            }
        }
        let kind = action_kind(&response);
        if response.status == ResponseStatus::Queued
            && let Some((until, why)) = self.hold_back_why(&account, kind, now).await?
        {
            self.store.defer_response(item, &response.id, until, why, now).await?;
            return Ok(());
        }
        let spacing_ms = spacing_ms(&account.rules);
        match self
            .store
            .claim_send_slot(item, &response, kind.as_str(), now, now.plus_millis(spacing_ms), self.lease_until())
            .await?
        {
            SlotClaim::Granted => sonarly_app::metrics::budget_used(&account.id, kind.as_str()),
            SlotClaim::Busy(until) => {
                self.store.defer_response(item, &response.id, until, DeferredReason::Spacing, now).await?;
                return Ok(());
            }
            SlotClaim::Lost => return Ok(()),
        }
        let chat = response.provider_chat_id.as_deref();
        let outcome = match &send {
            Some(send) if send.state == SendState::Ready => {
                self.attempt_send(item, &provider, NextAttempt::Of(send), chat).await?
            }
            // Another worker began (or ended) an attempt meanwhile; its outcome decides.
            Some(_) => return Ok(()),
            // The text is stored with the response: the send is stored with its first attempt.
            None => self.attempt_send(item, &provider, NextAttempt::First(&new_send(&response)), chat).await?,
        };
        self.finish_response(item, &response, &account, outcome).await
    }

    /// Ends a claim the way the send's outcome says.
    async fn finish_response(
        &self,
        item: &WorkItem,
        response: &ScheduledResponse,
        account: &LinkedInAccount,
        outcome: Outcome,
    ) -> Result<(), StoreError> {
        match outcome {
            Outcome::Waiting | Outcome::Stale => Ok(()),
            Outcome::Delivered { fence, trace } => self.record_sent(item, response, account, fence, trace).await,
            Outcome::Refused { fence, error } => {
                let kind = action_kind(response);
                self.handle_failure(item, response, account, kind, fence, error).await
            }
            Outcome::Unconfirmed { fence, reason } => {
                tracing::warn!(response = %response.id, %reason, "response failed: delivery unconfirmed");
                self.fail_response(item, response, "DELIVERY_UNCONFIRMED", &reason, Some(fence)).await
            }
        }
    }

    /// Fails a response with a reason a user can read; with `fence`, the attempt it gives up.
    async fn fail_response(
        &self,
        item: &WorkItem,
        response: &ScheduledResponse,
        code: &str,
        message: &str,
        fence: Option<Fence>,
    ) -> Result<(), StoreError> {
        let settle = fence.as_ref().map(|fence| Settle {
            fence,
            state: SendState::Failed,
            provider_ref: None,
            error: Some(message),
        });
        self.store.fail_response(item, &response.id, code, message, settle.as_ref(), self.now()).await?;
        Ok(())
    }

    /// Records a delivered response, fenced by the attempt that delivered it
    /// (which also attributes the provider's message to it).
    async fn record_sent(
        &self,
        item: &WorkItem,
        response: &ScheduledResponse,
        account: &LinkedInAccount,
        fence: Fence,
        trace: Option<Trace>,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let sent = trace.as_ref().and_then(Trace::message);
        let provider_ref = trace.as_ref().and_then(Trace::provider_ref);
        let (mut conversation_id, mut message_id) = (response.conversation_id.clone(), None);
        let sent_at = sent.map(|s| s.sent_at).unwrap_or(now);
        let chat_id = sent.map(|s| s.chat_id.clone()).filter(|c| !c.is_empty()).or(response.provider_chat_id.clone());
        if let Some(chat_id) = &chat_id {
            // The reply shows in the inbox at once; the sync later finds the same provider message id and skips it.
            let chat = ChatRef {
                provider_chat_id: chat_id.clone(),
                name: None,
                participant_provider_id: Some(response.recipient_provider_id.clone()),
                prospect_id: Some(response.prospect_id.clone()),
                is_inmail: response.channel == ResponseChannel::InMail,
            };
            let message = NewMessage {
                provider_message_id: sent
                    .and_then(|s| s.message_id.clone())
                    .unwrap_or_else(|| format!("sonarly-{}", response.id)),
                sender_provider_id: self.own_member_id(account).await,
                is_sender: true,
                body: response.body.clone(),
                sent_at,
                parent_message_id: None,
                attachments_json: "[]".into(),
                prospect_id: Some(response.prospect_id.clone()),
            };
            let (conversation, message) =
                self.store.record_outbound_message(&account.id, &response.group_id, &chat, &message).await?;
            conversation_id = Some(conversation);
            message_id = Some(message);
        }
        let record = ResponseSent {
            sent_at,
            provider_chat_id: chat_id.as_deref(),
            conversation_id: conversation_id.as_deref(),
            message_id: message_id.as_deref(),
        };
        let settle =
            Settle { fence: &fence, state: SendState::Delivered, provider_ref: provider_ref.as_deref(), error: None };
        match self.store.mark_response_sent(item, &response.id, &record, Some(&settle), now).await {
            Ok(true) => tracing::info!(response = %response.id, account = %account.id, "response sent"),
            Ok(false) => {
                tracing::info!(response = %response.id, "a newer attempt owns this response; outcome left to it")
            }
            // Another send was attributed this message first: look again at once.
            Err(StoreError::UniqueViolation(_)) => {
                self.store.wait_send(item, now, "ATTRIBUTION_RACE").await?;
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// The provider refused attempt `fence` (nothing was delivered): retry
    /// later, pause the account, or fail the response.
    async fn handle_failure(
        &self,
        item: &WorkItem,
        response: &ScheduledResponse,
        account: &LinkedInAccount,
        kind: ActionKind,
        fence: Fence,
        e: LinkedInError,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let message = e.to_string();
        let retry = Settle { fence: &fence, state: SendState::Ready, provider_ref: None, error: Some(&message) };
        match self.seat_refused(account, kind, &e, now).await? {
            Refused::RetryAt(until) => {
                // A rate limit holds the whole seat; a limit refusal pauses this kind for it.
                let why = match e {
                    LinkedInError::RateLimited { .. } => DeferredReason::RateLimited,
                    _ => DeferredReason::SeatPaused,
                };
                let code = e.reason_code();
                self.store.requeue_response(item, &response.id, until, code, why, Some(&retry), now).await?;
                Ok(())
            }
            Refused::SeatStopped => {
                self.fail_response(item, response, e.reason_code(), &message, Some(fence.clone())).await
            }
            Refused::Final => {
                tracing::warn!(response = %response.id, error = %e, "response failed");
                self.fail_response(item, response, e.reason_code(), &message, Some(fence.clone())).await
            }
        }
    }
}

/// What a response's send is counted as.
fn action_kind(response: &ScheduledResponse) -> ActionKind {
    if response.channel == ResponseChannel::InMail { ActionKind::InMail } else { ActionKind::Message }
}

/// The payload of a response's send: its stored text, into its conversation when it has one.
fn new_send(response: &ScheduledResponse) -> NewSend {
    let action = if response.channel == ResponseChannel::InMail {
        SendAction::InMail
    } else if response.provider_chat_id.is_some() {
        SendAction::Message
    } else {
        SendAction::StartChat
    };
    NewSend {
        token: response.id.clone(),
        linkedin_account_id: response.linkedin_account_id.clone(),
        work_kind: OUTBOUND_WORK.to_owned(),
        ref_id: response.id.clone(),
        action,
        recipient_provider_id: response.recipient_provider_id.clone(),
        provider_chat_id: response.provider_chat_id.clone(),
        subject: response.subject.clone(),
        body: Some(response.body.clone()),
    }
}
