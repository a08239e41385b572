//! The outbound scheduler: releases queued responses under each connected
//! account's safety rules and sends each exactly once.
//!
//! Per account: working hours in its time zone, a daily cap per action type
//! (counted from local midnight), randomized spacing between actions, and a
//! pause when LinkedIn rate-limits. A rule that holds a response back moves
//! its `scheduledAt` and marks it `deferred`.
//!
//! Exactly once: the response id is the provider idempotency token. The send
//! slot (and the action count) is reserved before the call; after a crash the
//! row's lease expires, the next claim sees `attempts > 1` and reconciles with
//! the provider (did this message go out?) before sending again. Providers
//! that honour tokens (the sandbox) never repeat an action in any case.

use crate::{Engine, backoff_ms};
use rand::Rng;
use sonarly_domain::Timestamp;
use sonarly_domain::linkedin_account::{ActionKind, LinkedInAccount, STATUS_CONNECTED, STATUS_DISCONNECTED};
use sonarly_domain::responses::{CHANNEL_INMAIL, ScheduledResponse, status};
use sonarly_linkedin::{LimitKind, LinkedInError, OutboundAttempt, OutboundToken, Reconciled, SentMessage};
use sonarly_store::{ChatRef, NewMessage, OUTBOUND_WORK, SlotClaim, StoreError, WorkItem};

/// Rows claimed per step.
const CLAIM_BATCH: i64 = 16;
/// Transient failures retried this many times before the response fails.
const MAX_ATTEMPTS: i64 = 8;
/// Pause after a rate limit without a retry-after.
const DEFAULT_RATE_LIMIT_PAUSE_MS: i64 = 15 * 60_000;
const WEEK_MS: i64 = 7 * 86_400_000;

impl Engine {
    pub(crate) async fn step_outbound(&self) -> bool {
        let now = self.now();
        let items = match self.store.claim_work(OUTBOUND_WORK, &self.owner, now, self.lease_until(), CLAIM_BATCH).await
        {
            Ok(items) => items,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim outbound work");
                return false;
            }
        };
        if items.is_empty() {
            return false;
        }
        for item in items {
            if let Err(e) = self.dispatch(&item).await {
                tracing::warn!(response = %item.ref_id, error = %e, "outbound step failed on storage; the lease will expire and retry");
            }
        }
        true
    }

    async fn dispatch(&self, item: &WorkItem) -> Result<(), StoreError> {
        let now = self.now();
        let Some(response) = self.store.get_response(&item.group_id, &item.ref_id).await? else {
            self.store.finish_work(item).await?;
            return Ok(());
        };
        if !matches!(response.status.as_str(), status::QUEUED | status::SENDING) {
            self.store.finish_work(item).await?;
            return Ok(());
        }
        let Some(account) = self.store.find_linkedin_account(&response.linkedin_account_id).await? else {
            self.store
                .fail_response(item, &response.id, "ACCOUNT_MISSING", "The LinkedIn account was removed.", now)
                .await?;
            return Ok(());
        };
        if account.status != STATUS_CONNECTED {
            let message = "The LinkedIn account is disconnected; reconnect it and queue the response again.";
            self.store.fail_response(item, &response.id, "ACCOUNT_DISCONNECTED", message, now).await?;
            return Ok(());
        }
        let kind = if response.channel == CHANNEL_INMAIL { ActionKind::InMail } else { ActionKind::Message };
        if response.status == status::QUEUED
            && let Some(until) = self.hold_back(&account, kind, now).await?
        {
            self.store.defer_response(item, &response.id, until, "SAFETY_RULE", now).await?;
            return Ok(());
        }
        let spacing_ms = {
            let (min, max) =
                (account.rules.min_spacing_secs, account.rules.max_spacing_secs.max(account.rules.min_spacing_secs));
            i64::from(rand::rng().random_range(min..=max)) * 1000
        };
        match self
            .store
            .claim_send_slot(item, &response, kind.as_str(), now, now.plus_millis(spacing_ms), self.lease_until())
            .await?
        {
            SlotClaim::Granted => {}
            SlotClaim::Busy(until) => {
                self.store.defer_response(item, &response.id, until, "SPACING", now).await?;
                return Ok(());
            }
            SlotClaim::Lost => return Ok(()),
        }
        let provider = match self.registry.provider(&account) {
            Ok(p) => p,
            Err(e) => {
                self.store.fail_response(item, &response.id, e.reason_code(), &e.to_string(), now).await?;
                return Ok(());
            }
        };
        let token = OutboundToken::new(response.id.clone());
        // A previous claim may have sent it before dying: ask before sending again.
        if item.attempts > 1 {
            match provider.reconcile(&token, &attempt_of(&response), response.updated_at).await {
                Ok(Reconciled::Sent(sent)) => {
                    tracing::info!(response = %response.id, "reconciled: already sent by an earlier attempt");
                    return self.record_sent(item, &response, &account, sent).await;
                }
                Ok(Reconciled::NotSent) => {}
                Err(e) => return self.handle_failure(item, &response, &account, e).await,
            }
        }
        let result = if response.channel == CHANNEL_INMAIL {
            let subject = response.subject.clone().unwrap_or_default();
            provider.send_inmail(&token, &response.recipient_provider_id, &subject, &response.body).await
        } else if let Some(chat) = &response.provider_chat_id {
            provider.send_message(&token, chat, &response.body).await
        } else {
            provider.start_chat(&token, &response.recipient_provider_id, &response.body).await
        };
        match result {
            Ok(sent) => self.record_sent(item, &response, &account, Some(sent)).await,
            Err(LinkedInError::AlreadyDone(_)) => self.record_sent(item, &response, &account, None).await,
            Err(e) => self.handle_failure(item, &response, &account, e).await,
        }
    }

    /// When a safety rule holds the account back, the moment it may act again.
    async fn hold_back(
        &self,
        account: &LinkedInAccount,
        kind: ActionKind,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        let rules = &account.rules;
        if let Some(until) = account.rate_limited_until
            && until > now
        {
            return Ok(Some(rules.next_working_moment(until)));
        }
        let working = rules.next_working_moment(now);
        if working > now {
            return Ok(Some(working));
        }
        // `u32::MAX` means no cap: nothing to count.
        let cap = rules.daily_cap(kind);
        if cap != u32::MAX {
            let day_start = rules.local_day_start(now);
            let done_today =
                self.store.count_outbound_up_to(&account.id, kind.as_str(), day_start, i64::from(cap)).await?;
            if done_today >= i64::from(cap) {
                return Ok(Some(rules.next_working_moment(rules.next_local_day_start(now))));
            }
        }
        if kind == ActionKind::Invitation && rules.weekly_invitations != u32::MAX {
            // The weekly cap is a rolling seven days, like LinkedIn's.
            let week_ago = now.plus_millis(-WEEK_MS);
            let weekly = i64::from(rules.weekly_invitations);
            let this_week = self.store.count_outbound_up_to(&account.id, kind.as_str(), week_ago, weekly).await?;
            if this_week >= weekly {
                let oldest = self.store.oldest_outbound_since(&account.id, kind.as_str(), week_ago).await?;
                let free_at = oldest.map_or(now.plus_millis(86_400_000), |t| t.plus_millis(WEEK_MS + 1));
                return Ok(Some(rules.next_working_moment(free_at)));
            }
        }
        Ok(None)
    }

    async fn record_sent(
        &self,
        item: &WorkItem,
        response: &ScheduledResponse,
        account: &LinkedInAccount,
        sent: Option<SentMessage>,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let (mut conversation_id, mut message_id) = (response.conversation_id.clone(), None);
        let sent_at = sent.as_ref().map(|s| s.sent_at).unwrap_or(now);
        let chat_id =
            sent.as_ref().map(|s| s.chat_id.clone()).filter(|c| !c.is_empty()).or(response.provider_chat_id.clone());
        if let Some(chat_id) = &chat_id {
            // The reply shows in the inbox at once; the sync later finds the same provider message id and skips it.
            let chat = ChatRef {
                provider_chat_id: chat_id.clone(),
                name: None,
                participant_provider_id: Some(response.recipient_provider_id.clone()),
                prospect_id: Some(response.prospect_id.clone()),
                is_inmail: response.channel == CHANNEL_INMAIL,
            };
            let message = NewMessage {
                provider_message_id: sent
                    .as_ref()
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
        self.store
            .mark_response_sent(
                item,
                &response.id,
                sent_at,
                chat_id.as_deref(),
                conversation_id.as_deref(),
                message_id.as_deref(),
            )
            .await?;
        tracing::info!(response = %response.id, account = %account.id, "response sent");
        Ok(())
    }

    /// The account's own member id (asked once), or our account id if LinkedIn cannot say.
    async fn own_member_id(&self, account: &LinkedInAccount) -> String {
        if let Some(id) = self.own_ids.lock().unwrap_or_else(|p| p.into_inner()).get(&account.id) {
            return id.clone();
        }
        let Ok(provider) = self.registry.provider(account) else { return account.id.clone() };
        match provider.own_profile().await {
            Ok(me) => {
                self.own_ids
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(account.id.clone(), me.provider_id.clone());
                me.provider_id
            }
            Err(_) => account.id.clone(),
        }
    }

    async fn handle_failure(
        &self,
        item: &WorkItem,
        response: &ScheduledResponse,
        account: &LinkedInAccount,
        e: LinkedInError,
    ) -> Result<(), StoreError> {
        let now = self.now();
        match &e {
            LinkedInError::RateLimited { retry_after } => {
                let pause = retry_after.map(|d| d.as_millis() as i64).unwrap_or(DEFAULT_RATE_LIMIT_PAUSE_MS);
                let until = now.plus_millis(pause);
                self.store.set_linkedin_rate_limited_until(&account.id, Some(until)).await?;
                tracing::warn!(account = %account.id, until = %until, "LinkedIn rate limit: pausing the account");
                self.requeue(item, response, until, e.reason_code()).await
            }
            LinkedInError::LimitReached(LimitKind::DailyActions | LimitKind::WeeklyInvitations) => {
                let until = account.rules.next_working_moment(account.rules.next_local_day_start(now));
                self.requeue(item, response, until, e.reason_code()).await
            }
            LinkedInError::AccountDisconnected(_) | LinkedInError::Unauthorized(_) => {
                self.store.set_linkedin_account_status(&account.id, STATUS_DISCONNECTED, now).await?;
                self.store.fail_response(item, &response.id, e.reason_code(), &e.to_string(), now).await?;
                Ok(())
            }
            _ if e.is_retryable() && item.attempts < MAX_ATTEMPTS => {
                let at = now.plus_millis(backoff_ms(item.attempts));
                tracing::info!(response = %response.id, error = %e, retry_at = %at, "transient failure; will retry");
                self.store.release_work(item, at, Some(e.reason_code()), false).await?;
                Ok(())
            }
            _ => {
                tracing::warn!(response = %response.id, error = %e, "response failed");
                self.store.fail_response(item, &response.id, e.reason_code(), &e.to_string(), now).await?;
                Ok(())
            }
        }
    }

    /// Puts a response back to `queued` at `until` (a limit, not a failure).
    async fn requeue(
        &self,
        item: &WorkItem,
        response: &ScheduledResponse,
        until: Timestamp,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.store.requeue_response(item, &response.id, until, reason, self.now()).await?;
        Ok(())
    }
}

fn attempt_of(response: &ScheduledResponse) -> OutboundAttempt {
    if response.channel == CHANNEL_INMAIL {
        OutboundAttempt::InMail {
            recipient_provider_id: response.recipient_provider_id.clone(),
            body: response.body.clone(),
        }
    } else if let Some(chat) = &response.provider_chat_id {
        OutboundAttempt::Message { chat_id: chat.clone(), text: response.body.clone() }
    } else {
        OutboundAttempt::StartChat {
            recipient_provider_id: response.recipient_provider_id.clone(),
            text: response.body.clone(),
        }
    }
}
