//! The campaign executor: runs each lead's workflow one step at a time.
//!
//! Every live workflow instance owns one `campaign_step` queue row. A claim
//! runs the instance's current step and records the result in the transaction
//! that releases the row (to the next step's time) or finishes it, guarded by
//! the lease. Outbound steps are released under the same per-account safety
//! rules as scheduled responses: the account's LinkedIn pause, working hours,
//! daily caps per action (plus the weekly invitation cap) counted in the
//! shared action ledger, and spacing through the shared send slot.
//!
//! Exactly once: the provider token of a step is `<instance id>-s<step index>`
//! and the step goes through the fenced-send mechanism (`send`), like a
//! response: its content is composed once and stored before the first
//! attempt (deferrals, retries and reconciliation reuse it, never calling the
//! model again), each attempt is recorded before the call, an attempt whose
//! outcome is unknown is reconciled by attribution once it settles, and the
//! statement that moves the lead on is fenced by the attempt number. The slot
//! and the ledger entry are reserved once, before the first call.
//!
//! Content is composed when the step first comes due, from the slot's writing style, the lead's
//! profile and, with `includeConversationHistory`, the last thing the lead
//! wrote (offered to the composer as a `conversation` signal, the recent
//! conversation going along). It goes through the app's `ContentComposer`,
//! like the preview by prospect: the configured OpenAI-compatible model when
//! there is one and the style is not strict, with the prospect's stored
//! signals. Content that needed the writing style's `fallback` sample (the
//! sample the composer's draft chose) is held for approval.

use crate::Engine;
use crate::safety::spacing_ms;
use crate::send::{NextAttempt, Outcome, Resumed};
use sonarly_app::composer::{ComposeRequest, HISTORY_LIMIT};
use sonarly_app::linkedin::seat::Refused;
use sonarly_domain::campaign::{
    AcceptanceCheck, Campaign, CampaignStatus, InstanceState, Next, Step, StepAction, StopReason, WorkflowInstance,
    acceptance_check, needs_approval, next_after, next_after_skipped_invitation, step_token,
};
use sonarly_domain::composer::{ProspectProfile, ProspectSignal};
use sonarly_domain::linkedin_account::LinkedInAccount;
use sonarly_domain::prospecting::Prospect;
use sonarly_domain::signals::{DEFAULT_COMPOSE_MIN_SCORE, compose_signals};
use sonarly_linkedin::{LimitKind, LinkedInError, SentMessage, SharedLinkedIn, Trace};
use sonarly_store::{
    CAMPAIGN_WORK, ChatRef, Fence, NewMessage, NewSend, SendAction, SendState, Settle, SlotClaim, SlotRequest,
    StepRecord, StoreError, WorkItem,
};

/// How long a step waits for a disconnected account before looking again.
const DISCONNECTED_RETRY_MS: i64 = 3_600_000;
/// Most messages of history considered.
const HISTORY_MESSAGES: i64 = 20;

/// Composed text of a step.
struct Content {
    subject: Option<String>,
    body: String,
}

/// What finishing an outbound step needs to know.
struct StepCtx<'a> {
    item: &'a WorkItem,
    instance: &'a WorkflowInstance,
    step: &'a Step,
    recipient: &'a str,
    account: &'a LinkedInAccount,
    next: Next,
}

impl Engine {
    /// Runs the current step of a claimed lead's workflow.
    pub(crate) async fn run_campaign_step(&self, item: &WorkItem) -> Result<(), StoreError> {
        let now = self.now();
        let Some(instance) = self.store.system().campaign_instance(&item.ref_id).await? else {
            self.store.finish_work(item).await?;
            return Ok(());
        };
        let campaign = self.store.get_campaign(&instance.group_id, &instance.campaign_id).await?;
        let Some(campaign) = campaign.filter(|c| c.status == CampaignStatus::Active) else {
            self.store.finish_work(item).await?;
            return Ok(());
        };
        if instance.state != InstanceState::Active || instance.pending_approval {
            // Ended, or waiting for a person: approve queues a new row.
            self.store.finish_work(item).await?;
            return Ok(());
        }
        let template = campaign.starter_template;
        let Some(step) = template.step(instance.step_index) else {
            return self.record(item, &instance, Next::Completed, None, None).await;
        };
        let Some(prospect) = self.store.get_prospect(&instance.group_id, &instance.prospect_id).await? else {
            return self.end(item, &instance, InstanceState::NotEligible, StopReason::NotEligible, None).await;
        };
        let recipient = prospect.member_id.clone().unwrap_or_else(|| prospect.provider_id.clone());
        // A reply seen by the inbox (sync or webhook) stops the lead before its next step.
        if campaign.auto_cancel_on_message_received
            && self
                .store
                .reply_received_since(&instance.group_id, &[&recipient, &prospect.provider_id], instance.started_at)
                .await?
        {
            tracing::info!(instance = %instance.id, "reply received: workflow stopped");
            return self.end(item, &instance, InstanceState::Stopped, StopReason::ReplyReceived, None).await;
        }
        let Some(account) = self.store.system().linkedin_account(&instance.linkedin_account_id).await? else {
            return self.end(item, &instance, InstanceState::Stopped, StopReason::AccountDisconnected, None).await;
        };
        if !account.status.can_act() {
            self.store
                .release_work(item, now.plus_millis(DISCONNECTED_RETRY_MS), Some("ACCOUNT_DISCONNECTED"), true)
                .await?;
            return Ok(());
        }
        let provider = match self.registry.provider(&account) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(account = %account.id, error = %e, "no provider for the campaign's account");
                return self.end(item, &instance, InstanceState::Stopped, StopReason::SendFailed, None).await;
            }
        };
        match step.action {
            StepAction::AwaitAcceptance => {
                self.await_acceptance(item, &campaign, &instance, &prospect, &recipient).await
            }
            StepAction::Invite if prospect.connection_degree == Some(1) => {
                // Already a first-degree connection: skip the invitation and its wait.
                let next = next_after_skipped_invitation(template, instance.step_index, now);
                self.record(item, &instance, next, Some("already_connected"), None).await
            }
            _ => self.outbound_step(item, &campaign, &instance, step, &prospect, &recipient, &account, &provider).await,
        }
    }

    async fn await_acceptance(
        &self,
        item: &WorkItem,
        campaign: &Campaign,
        instance: &WorkflowInstance,
        prospect: &Prospect,
        recipient: &str,
    ) -> Result<(), StoreError> {
        let now = self.now();
        // Acceptance comes from the relation sweep and `new_relation` webhooks (both mark the
        // prospect connected): never a profile fetch per invitee, which LinkedIn watches.
        let connected = prospect.connection_degree == Some(1);
        // The invitation went stale and was withdrawn (see `withdrawals`): it can no longer be accepted.
        if !connected && self.store.invitation_withdrawn(&instance.id).await? {
            tracing::info!(instance = %instance.id, "invitation withdrawn unaccepted: workflow stopped");
            return self.end(item, instance, InstanceState::Stopped, StopReason::InvitationNotAccepted, None).await;
        }
        match acceptance_check(connected, instance.step_started_at, now) {
            AcceptanceCheck::Accepted => {
                self.store.mark_prospects_connected(&instance.group_id, recipient, now).await?;
                let next = next_after(campaign.starter_template, instance.step_index, now);
                self.record(item, instance, next, Some("invitation_accepted"), None).await
            }
            AcceptanceCheck::KeepWaiting(at) => {
                self.store.wait_step(item, &instance.id, at, now).await?;
                Ok(())
            }
            AcceptanceCheck::TimedOut => {
                self.end(item, instance, InstanceState::Stopped, StopReason::InvitationNotAccepted, None).await
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn outbound_step(
        &self,
        item: &WorkItem,
        campaign: &Campaign,
        instance: &WorkflowInstance,
        step: &Step,
        prospect: &Prospect,
        recipient: &str,
        account: &LinkedInAccount,
        provider: &SharedLinkedIn,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let Some(kind) = step.action.metered() else { return Ok(()) };
        let Some(action) = send_action(step.action) else { return Ok(()) };
        let token = step_token(&instance.id, instance.step_index);
        let next = next_after(campaign.starter_template, instance.step_index, now);
        let ctx = StepCtx { item, instance, step, recipient, account, next };

        // An attempt in flight or unknown is settled and reconciled before anything else.
        let mut send = self.store.get_send(&token).await?;
        if let Some(s) = send.take_if(|s| s.state.is_pending()) {
            match self.resume_send(item, provider, s).await? {
                Resumed::Outcome(outcome) => return self.finish_step(&ctx, outcome).await,
                Resumed::Ready(s) => send = Some(*s),
            }
        }
        // Held back, or the seat's slot taken: wait before composing or preparing anything.
        if let Some(until) = self.hold_back(account, kind, now).await? {
            self.store.release_work(item, until, Some("SAFETY_RULE"), true).await?;
            return Ok(());
        }
        if let Some(busy) = self.store.slot_taken_until(&account.id, now).await? {
            self.store.release_work(item, self.slot_queue.behind(account, busy), Some("SPACING"), true).await?;
            return Ok(());
        }
        let chat = if step.action == StepAction::DirectMessage {
            self.store
                .conversation_with(&instance.group_id, recipient)
                .await?
                .filter(|c| c.linkedin_account_id == account.id)
                .map(|c| c.provider_chat_id)
        } else {
            None
        };
        // The content: composed once and stored before the first attempt
        // (or the approved one); retries and reconciliation use that copy.
        let send = match send {
            Some(send) if send.state == SendState::Ready => send,
            // Ended meanwhile (delivered or failed in a finished claim): nothing to do.
            Some(_) => return Ok(()),
            None => {
                let mut content = None;
                if let Some(position) = step.slot {
                    if instance.approved {
                        content = instance
                            .pending_body
                            .clone()
                            .map(|body| Content { subject: instance.pending_subject.clone(), body });
                    } else {
                        match self.compose_for(campaign, instance, position, prospect, recipient).await? {
                            Some((c, true)) => {
                                tracing::info!(instance = %instance.id, step = step.key, "content used the fallback sample: holding for approval");
                                self.store
                                    .hold_for_approval(item, &instance.id, c.subject.as_deref(), &c.body, now)
                                    .await?;
                                return Ok(());
                            }
                            Some((c, false)) => content = Some(c),
                            None if step.action == StepAction::Invite => {} // the note is optional
                            None => {
                                let (state, reason) = (InstanceState::Stopped, StopReason::ContentUnavailable);
                                return self.end(item, instance, state, reason, None).await;
                            }
                        }
                    }
                }
                let new = NewSend {
                    token: token.clone(),
                    linkedin_account_id: account.id.clone(),
                    work_kind: CAMPAIGN_WORK.to_owned(),
                    ref_id: instance.id.clone(),
                    action: if action == SendAction::StartChat && chat.is_some() {
                        SendAction::Message
                    } else {
                        action
                    },
                    recipient_provider_id: recipient.to_owned(),
                    provider_chat_id: chat.clone(),
                    subject: content.as_ref().and_then(|c| c.subject.clone()),
                    body: content.map(|c| c.body),
                };
                self.store.prepare_send(&new, now).await?
            }
        };

        if step.action == StepAction::InMail && matches!(provider.inmail_credits().await, Ok(Some(0))) {
            return self.end(item, instance, InstanceState::NotEligible, StopReason::NoInmailCredits, None).await;
        }
        // Deferring is no attempt: the stored content waits with the row.
        if let Some(until) = self.hold_back(account, kind, now).await? {
            self.store.release_work(item, until, Some("SAFETY_RULE"), true).await?;
            return Ok(());
        }
        let slot = SlotRequest {
            account_id: &account.id,
            kind: kind.as_str(),
            token: &token,
            now,
            next_slot_at: now.plus_millis(spacing_ms(&account.rules)),
        };
        match self.store.reserve_action_slot(item, &slot, self.lease_until()).await? {
            SlotClaim::Granted => sonarly_app::metrics::budget_used(&account.id, kind.as_str()),
            SlotClaim::Busy(until) => {
                self.store.release_work(item, self.slot_queue.behind(account, until), Some("SPACING"), true).await?;
                return Ok(());
            }
            SlotClaim::Lost => return Ok(()),
        }
        let outcome = self.attempt_send(item, provider, NextAttempt::Of(&send), chat.as_deref()).await?;
        self.finish_step(&ctx, outcome).await
    }

    /// Ends a claim of an outbound step the way its send's outcome says.
    async fn finish_step(&self, ctx: &StepCtx<'_>, outcome: Outcome) -> Result<(), StoreError> {
        let (item, instance) = (ctx.item, ctx.instance);
        match outcome {
            Outcome::Waiting | Outcome::Stale => Ok(()),
            Outcome::Delivered { fence, trace } => {
                let sent = trace.as_ref().and_then(Trace::message);
                let send = self.store.get_send(&fence.token).await?;
                let content = send.and_then(|s| s.body.map(|body| Content { subject: s.subject, body }));
                self.record_message(ctx.account, instance, ctx.step.action, ctx.recipient, content.as_ref(), sent)
                    .await?;
                let provider_ref = trace.as_ref().and_then(Trace::provider_ref);
                let settle = Settle {
                    fence: &fence,
                    state: SendState::Delivered,
                    provider_ref: provider_ref.as_deref(),
                    error: None,
                };
                match self.record(item, instance, ctx.next, Some(ctx.step.key), Some(&settle)).await {
                    // Another send was attributed this message first: look again at once.
                    Err(StoreError::UniqueViolation(_)) => {
                        self.store.wait_send(item, self.now(), "ATTRIBUTION_RACE").await?;
                        Ok(())
                    }
                    other => other,
                }
            }
            Outcome::Refused { fence, error } => self.step_failed(ctx, &fence, error).await,
            Outcome::Unconfirmed { fence, reason } => {
                tracing::warn!(instance = %instance.id, step = ctx.step.key, %reason, "campaign step failed: delivery unconfirmed");
                let settle =
                    Settle { fence: &fence, state: SendState::Failed, provider_ref: None, error: Some(&reason) };
                self.end(item, instance, InstanceState::Stopped, StopReason::SendFailed, Some(&settle)).await
            }
        }
    }

    /// Composes a slot's content; `None` when the slot has no usable writing
    /// style or no sample fits. The flag tells whether the fallback sample was used.
    async fn compose_for(
        &self,
        campaign: &Campaign,
        instance: &WorkflowInstance,
        position: u32,
        prospect: &Prospect,
        recipient: &str,
    ) -> Result<Option<(Content, bool)>, StoreError> {
        let slots = self.store.content_slots(&instance.group_id, &campaign.id).await?;
        let Some(slot) = slots.into_iter().find(|s| s.position == position) else { return Ok(None) };
        let Some(style_id) = &slot.template_id else { return Ok(None) };
        let Some(style) = self.store.get_writing_style(&instance.group_id, style_id).await? else { return Ok(None) };
        let mut value_propositions = Vec::new();
        if let Some(vp_id) = &style.value_proposition_id
            && let Some(vp) = self.store.get_value_proposition(&instance.group_id, vp_id).await?
        {
            value_propositions.push(vp);
        }
        let profile = ProspectProfile {
            first_name: prospect.first_name.clone(),
            last_name: prospect.last_name.clone(),
            company: prospect.company_name.clone(),
            title: prospect.title.clone(),
            location: prospect.location.clone(),
        };
        let mut signals = Vec::new();
        let mut history = Vec::new();
        if campaign.include_conversation_history {
            let messages = self
                .store
                .conversation_history(&instance.group_id, &[recipient, &prospect.provider_id], HISTORY_MESSAGES)
                .await?;
            if let Some((_, text)) = messages.iter().rev().find(|(is_sender, _)| !is_sender) {
                let summary: String = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(300).collect();
                if !summary.is_empty() {
                    signals.push(ProspectSignal { tag: "conversation".into(), summary });
                }
            }
            history =
                self.store.recent_prospect_messages(&instance.group_id, &prospect.id, HISTORY_LIMIT as i64).await?;
        }
        // The prospect's stored signals, as the preview by prospect offers them
        // (`sonarly_app::signals::signals_for_composer`, read here with the store's own error).
        if let Some(evaluation) = self.store.latest_signal_evaluation(&instance.group_id, &prospect.id).await? {
            signals.extend(compose_signals(&evaluation.items, DEFAULT_COMPOSE_MIN_SCORE));
        }
        let request = ComposeRequest {
            style,
            value_propositions,
            profile,
            signals,
            history,
            channel: slot.channel.composer_channel(),
        };
        match self.composer.compose(&request).await {
            Ok(c) => {
                if let Some(reason) = &c.fallback_reason {
                    tracing::info!(instance = %instance.id, reason = %reason, "the model's answer was not used; built-in draft sent");
                }
                let needs = needs_approval(c.composed.sample_type_used);
                Ok(Some((Content { subject: c.composed.subject, body: c.composed.body }, needs)))
            }
            Err(e) => {
                tracing::info!(instance = %instance.id, error = ?e, "no content could be composed");
                Ok(None)
            }
        }
    }

    /// Shows a sent message or InMail in the inbox at once (the sync finds the same id later).
    async fn record_message(
        &self,
        account: &LinkedInAccount,
        instance: &WorkflowInstance,
        action: StepAction,
        recipient: &str,
        content: Option<&Content>,
        sent: Option<&SentMessage>,
    ) -> Result<(), StoreError> {
        let (Some(content), Some(sent)) = (content, sent) else { return Ok(()) };
        if !matches!(action, StepAction::DirectMessage | StepAction::InMail) || sent.chat_id.is_empty() {
            return Ok(());
        }
        let chat = ChatRef {
            provider_chat_id: sent.chat_id.clone(),
            name: None,
            participant_provider_id: Some(recipient.to_owned()),
            prospect_id: Some(instance.prospect_id.clone()),
            is_inmail: action == StepAction::InMail,
        };
        let message = NewMessage {
            provider_message_id: sent.message_id.clone().unwrap_or_else(|| format!("sonarly-{}", instance.id)),
            sender_provider_id: self.own_member_id(account).await,
            is_sender: true,
            body: content.body.clone(),
            sent_at: sent.sent_at,
            parent_message_id: None,
            attachments_json: "[]".into(),
            prospect_id: Some(instance.prospect_id.clone()),
        };
        self.store.record_outbound_message(&account.id, &instance.group_id, &chat, &message).await?;
        Ok(())
    }

    /// The provider refused attempt `fence` of a step (nothing was
    /// performed): retry later, pause the account, or end the lead.
    async fn step_failed(&self, ctx: &StepCtx<'_>, fence: &Fence, e: LinkedInError) -> Result<(), StoreError> {
        let (item, instance, account) = (ctx.item, ctx.instance, ctx.account);
        let Some(kind) = ctx.step.action.metered() else { return Ok(()) };
        let now = self.now();
        let message = e.to_string();
        let retry = Settle { fence, state: SendState::Ready, provider_ref: None, error: Some(&message) };
        let give_up = Settle { fence, state: SendState::Failed, provider_ref: None, error: Some(&message) };
        let token = fence.token.as_str();
        let stop = match self.seat_refused(account, kind, &e, now).await? {
            Refused::RetryAt(until) => {
                self.store.requeue_step(item, token, until, e.reason_code(), Some(&retry), now).await?;
                return Ok(());
            }
            // The lead waits for the seat to be reconnected.
            Refused::SeatStopped => {
                let until = now.plus_millis(DISCONNECTED_RETRY_MS);
                self.store.requeue_step(item, token, until, e.reason_code(), Some(&retry), now).await?;
                return Ok(());
            }
            Refused::Final => match &e {
                LinkedInError::LimitReached(LimitKind::InMailCredits) => {
                    (InstanceState::NotEligible, StopReason::NoInmailCredits)
                }
                LinkedInError::NotReachable(_) => (InstanceState::NotEligible, StopReason::NotReachable),
                LinkedInError::NotConnected => (InstanceState::Stopped, StopReason::NotConnected),
                _ => {
                    tracing::warn!(instance = %instance.id, error = %e, "campaign step failed");
                    (InstanceState::Stopped, StopReason::SendFailed)
                }
            },
        };
        self.store.forget_action(token).await?;
        self.end(item, instance, stop.0, stop.1, Some(&give_up)).await
    }

    /// Moves the lead on; with `settle`, fenced by the attempt that performed the step.
    async fn record(
        &self,
        item: &WorkItem,
        instance: &WorkflowInstance,
        next: Next,
        latest_step: Option<&str>,
        settle: Option<&Settle<'_>>,
    ) -> Result<(), StoreError> {
        let record = StepRecord {
            instance_id: instance.id.clone(),
            campaign_id: instance.campaign_id.clone(),
            next: match next {
                Next::Step { index, at } => Some((index, at)),
                Next::Completed => None,
            },
            latest_step: latest_step.map(str::to_owned),
        };
        self.store.record_step(item, &record, settle, self.now()).await?;
        Ok(())
    }

    /// Ends the lead; with `settle`, fenced by the attempt it gives up.
    async fn end(
        &self,
        item: &WorkItem,
        instance: &WorkflowInstance,
        state: InstanceState,
        reason: StopReason,
        settle: Option<&Settle<'_>>,
    ) -> Result<(), StoreError> {
        self.store.end_instance(item, instance, state, reason, settle, self.now()).await?;
        Ok(())
    }
}

/// The provider action of a metered step (`None`: nothing to send).
fn send_action(action: StepAction) -> Option<SendAction> {
    Some(match action {
        StepAction::VisitProfile => SendAction::Visit,
        StepAction::Follow => SendAction::Follow,
        StepAction::LikeRecentPost => SendAction::Reaction,
        StepAction::Invite => SendAction::Invitation,
        StepAction::DirectMessage => SendAction::StartChat,
        StepAction::InMail => SendAction::InMail,
        StepAction::AwaitAcceptance => return None,
    })
}
