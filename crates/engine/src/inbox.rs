//! The inbox sync: polls every connected account's conversations and
//! connections, as a safety net beside webhooks.
//!
//! Each account has one `inbox_sync` row in the queue, claimed with a lease so
//! two instances never sync the same account at once, and handed back due one
//! sync interval later. A pass walks the chats newest activity first and stops
//! at chats older than the newest activity the previous pass saw (the first
//! pass backfills, bounded). In each changed chat it walks the messages newest
//! first until one already stored that the previous pass could have seen.
//! Every message and new connection goes through
//! [`sonarly_app::inbox::handle_event`], the function webhooks use, so both
//! paths store the same thing once, within the same bounds
//! ([`sonarly_app::provider_input`]); the pass's watermarks use the same
//! clamped times, so a chat dated in the far future cannot end every later pass
//! before it starts.

use crate::{Engine, jitter};
use sonarly_app::inbox::{EventOutcome, handle_event, record_chat};
use sonarly_app::provider_input::bounded_time;
use sonarly_domain::linkedin_account::LinkedInAccount;
use sonarly_domain::{DomainError, Timestamp};
use sonarly_linkedin::{Chat, LinkedInError, ProviderEvent, SharedLinkedIn};
use sonarly_store::{INBOX_SYNC_WORK, InboxSyncState, StoreError, WorkItem};

/// Chats one pass looks at, at most (the first pass's backfill bound).
pub const MAX_CHATS_PER_PASS: usize = 500;
/// Message pages read per chat and pass, at most.
pub const MAX_MESSAGE_PAGES_PER_CHAT: usize = 20;
/// Connections one pass looks at, at most.
pub const MAX_RELATIONS_PER_PASS: usize = 500;

/// A seat's webhooks count as working while one arrived this recently.
pub const WEBHOOKS_HEALTHY_MS: i64 = 6 * 3_600_000;
/// Inbox passes while webhooks work: a reconciliation, 30 to 90 minutes apart.
const HEALTHY_INBOX_MS: (i64, i64) = (30 * 60_000, 90 * 60_000);
/// Relation sweeps while webhooks work (they bring `new_relation`): 2 to 6 hours apart.
const HEALTHY_SWEEP_MS: (i64, i64) = (2 * 3_600_000, 6 * 3_600_000);
/// Relation sweeps while webhooks are silent: 30 to 90 minutes apart, in working hours.
const SILENT_SWEEP_MS: (i64, i64) = (30 * 60_000, 90 * 60_000);

fn webhooks_healthy(account: &LinkedInAccount, now: Timestamp) -> bool {
    account.last_webhook_at.is_some_and(|at| now.as_millis() - at.as_millis() < WEBHOOKS_HEALTHY_MS)
}

/// Why a pass stopped early.
enum PassError {
    Provider(LinkedInError),
    App(DomainError),
    Store(StoreError),
    /// Another instance holds the account's row now; it finishes the work.
    LeaseLost,
}

impl From<LinkedInError> for PassError {
    fn from(e: LinkedInError) -> Self {
        Self::Provider(e)
    }
}

impl From<DomainError> for PassError {
    fn from(e: DomainError) -> Self {
        Self::App(e)
    }
}

impl From<StoreError> for PassError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Keeps the row's lease alive during a long pass, renewing at half-life.
struct Lease<'a> {
    item: &'a WorkItem,
    until: Timestamp,
}

impl Engine {
    pub(crate) fn inbox_interval_ms(&self) -> i64 {
        i64::try_from(self.config.inbox_sync_interval.as_millis()).unwrap_or(i64::MAX).max(1)
    }

    /// When the seat's next inbox pass is due: a slow reconciliation (tens of minutes) while
    /// its webhooks work, the configured interval while they are silent; randomised either
    /// way, so no seat polls on a fixed beat.
    fn next_inbox_pass(&self, account: &LinkedInAccount, now: Timestamp) -> Timestamp {
        let base = self.inbox_interval_ms();
        let (min, max) = if webhooks_healthy(account, now) {
            (HEALTHY_INBOX_MS.0.max(base), HEALTHY_INBOX_MS.1.max(2 * base))
        } else {
            (base, 2 * base)
        };
        now.plus_millis(jitter(&account.id, now, min, max))
    }

    /// When the next sweep of connections is due: hours while webhooks bring `new_relation`,
    /// tens of minutes while they are silent (acceptances come only from the sweep then).
    fn next_relation_sweep(&self, account: &LinkedInAccount, now: Timestamp) -> Timestamp {
        let (min, max) = if webhooks_healthy(account, now) { HEALTHY_SWEEP_MS } else { SILENT_SWEEP_MS };
        now.plus_millis(jitter(&format!("{}-relations", account.id), now, min, max))
    }

    /// Queues a sync row for each account that has none.
    pub(crate) async fn queue_missing_inbox_syncs(&self) {
        let now = self.now();
        match self.store.system().accounts_without_work(INBOX_SYNC_WORK).await {
            Ok(missing) => {
                for (account_id, group_id) in missing {
                    if let Err(e) = self.store.ensure_work(INBOX_SYNC_WORK, &account_id, &group_id, now).await {
                        tracing::warn!(account = %account_id, error = %e, "cannot queue the inbox sync");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list accounts for the inbox sync"),
        }
    }

    /// One sync pass of a claimed account.
    pub(crate) async fn sync_account(&self, item: &WorkItem, lease_until: Timestamp) -> Result<(), StoreError> {
        let now = self.now();
        let Some(account) = self.store.system().linkedin_account(&item.ref_id).await? else {
            self.store.finish_work(item).await?; // the account was removed
            return Ok(());
        };
        let next = self.next_inbox_pass(&account, now);
        if !account.status.can_act() {
            self.store.release_work(item, next, Some("ACCOUNT_DISCONNECTED"), true).await?;
            return Ok(());
        }
        if let Some(until) = account.rate_limited_until.filter(|u| *u > now) {
            self.store.release_work(item, until.max(next), Some("RATE_LIMITED"), true).await?;
            return Ok(());
        }
        let provider = match self.registry.provider(&account) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(account = %account.id, error = %e, "inbox sync cannot build the provider");
                self.store.release_work(item, next, Some(e.reason_code()), false).await?;
                return Ok(());
            }
        };
        let state = self
            .store
            .inbox_sync_state(&account.id)
            .await?
            .unwrap_or_else(|| InboxSyncState { linkedin_account_id: account.id.clone(), ..Default::default() });
        let mut lease = Lease { item, until: lease_until };
        match self.inbox_pass(&mut lease, &account, &provider, &state).await {
            Ok(new_state) => {
                let next = self.next_inbox_pass(&account, self.now());
                if !self.store.complete_inbox_sync(item, &new_state, next).await? {
                    tracing::info!(account = %account.id, "inbox sync lease lost; the other holder's pass counts");
                }
            }
            Err(PassError::LeaseLost) => {
                tracing::info!(account = %account.id, "inbox sync lease lost mid-pass");
            }
            Err(PassError::Store(e)) => return Err(e),
            Err(PassError::App(e)) => {
                tracing::warn!(account = %account.id, error = %e, "inbox sync could not record an event");
                self.store.release_work(item, next, Some(e.code.as_str()), false).await?;
            }
            Err(PassError::Provider(e)) => {
                let at = match &e {
                    LinkedInError::RateLimited { retry_after: Some(d) } => {
                        next.max(self.now().plus_millis(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
                    }
                    LinkedInError::BudgetSpent { until, .. } => next.max(*until),
                    _ => next,
                };
                if e.stops_account() {
                    // The governor already moved the seat (needs_action or disconnected).
                    tracing::warn!(account = %account.id, error = %e, "inbox sync: the account needs attention");
                } else if e.is_retryable() {
                    tracing::info!(account = %account.id, error = %e, retry_at = %at, "inbox sync will run again");
                } else {
                    tracing::warn!(account = %account.id, error = %e, "inbox sync failed; will run again");
                }
                self.store.release_work(item, at, Some(e.reason_code()), false).await?;
            }
        }
        Ok(())
    }

    /// Extends the lease once half of it is used; `LeaseLost` when another instance took the row.
    async fn keep_lease(&self, lease: &mut Lease<'_>) -> Result<(), PassError> {
        let half = self.config.lease_ms / 2;
        if self.now().plus_millis(half) < lease.until {
            return Ok(());
        }
        let until = self.lease_until();
        if !self.store.renew_lease(lease.item, until).await? {
            return Err(PassError::LeaseLost);
        }
        lease.until = until;
        Ok(())
    }

    async fn inbox_pass(
        &self,
        lease: &mut Lease<'_>,
        account: &LinkedInAccount,
        provider: &SharedLinkedIn,
        state: &InboxSyncState,
    ) -> Result<InboxSyncState, PassError> {
        let since = state.last_activity_at;
        let mut newest = since;
        let mut cursor: Option<String> = None;
        let mut seen = 0usize;
        'chats: loop {
            let page = provider.chats(cursor.as_deref()).await?;
            let empty = page.items.is_empty();
            for chat in page.items {
                if let (Some(w), Some(at)) = (since, chat.last_activity_at)
                    && at < w
                {
                    break 'chats; // newest first: everything below was seen by an earlier pass
                }
                if seen >= MAX_CHATS_PER_PASS {
                    break 'chats;
                }
                seen += 1;
                self.sync_chat(account, provider, &chat, since).await?;
                // A chat dated in the far future must not push the watermark past every later chat.
                newest = newest.max(chat.last_activity_at.map(|at| bounded_time(at, self.now())));
                self.keep_lease(lease).await?;
            }
            match page.cursor {
                Some(next) if !empty => cursor = Some(next),
                _ => break,
            }
        }
        // Connections are swept on their own, slower, schedule (acceptances and new contacts).
        let now = self.now();
        let (mut last_relation_at, mut next_sweep) = (state.last_relation_at, state.next_relation_sweep_at);
        if next_sweep.is_none_or(|at| at <= now) {
            match self.relations_pass(lease, account, provider, state.last_relation_at).await {
                Ok(newest) => {
                    last_relation_at = newest;
                    next_sweep = Some(self.next_relation_sweep(account, self.now()));
                }
                // Out of budget or hours for relation reads: sweep when they allow; the chats count.
                Err(PassError::Provider(LinkedInError::BudgetSpent { until, .. })) => {
                    next_sweep = Some(until.max(self.next_relation_sweep(account, now)));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(InboxSyncState {
            linkedin_account_id: account.id.clone(),
            backfilled: true,
            last_activity_at: newest,
            last_synced_at: Some(self.now()),
            last_relation_at,
            next_relation_sweep_at: next_sweep,
        })
    }

    /// Stores a chat's new messages, then what the listing says about the chat.
    async fn sync_chat(
        &self,
        account: &LinkedInAccount,
        provider: &SharedLinkedIn,
        chat: &Chat,
        since: Option<Timestamp>,
    ) -> Result<(), PassError> {
        let mut cursor: Option<String> = None;
        let mut pages = 0usize;
        'pages: loop {
            let page = match provider.chat_messages(&chat.chat_id, cursor.as_deref()).await {
                Ok(page) => page,
                // Unipile answers a chat it no longer has with 404, which the connector reads as
                // `NotReachable` (the chat cannot be written to); the sandbox says `NotFound`. Either
                // way this chat is skipped and the pass goes on with the others.
                Err(LinkedInError::NotFound(_) | LinkedInError::NotReachable(_)) => {
                    tracing::info!(account = %account.id, chat = %chat.chat_id, "chat vanished during the inbox sync");
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            };
            pages += 1;
            let empty = page.items.is_empty();
            for message in page.items {
                let sent_at = message.sent_at;
                let event = ProviderEvent::MessageReceived(message);
                match handle_event(&self.store, self.clock.as_ref(), account, &event).await {
                    // A stored message the previous pass could see: everything older is stored too.
                    Ok(EventOutcome::Message { is_new: false, .. }) if since.is_some_and(|w| sent_at <= w) => {
                        break 'pages;
                    }
                    Ok(_) => {}
                    Err(e) if e.status < 500 => {
                        tracing::warn!(account = %account.id, chat = %chat.chat_id, error = %e, "message skipped");
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            match page.cursor {
                Some(next) if !empty && pages < MAX_MESSAGE_PAGES_PER_CHAT => cursor = Some(next),
                _ => break,
            }
        }
        record_chat(&self.store, self.clock.as_ref(), account, chat).await?;
        Ok(())
    }

    /// Feeds new connections (newest first, down to the last one seen) to
    /// `handle_event`; returns the newest connection time seen.
    async fn relations_pass(
        &self,
        lease: &mut Lease<'_>,
        account: &LinkedInAccount,
        provider: &SharedLinkedIn,
        since: Option<Timestamp>,
    ) -> Result<Option<Timestamp>, PassError> {
        let mut newest = since;
        let mut cursor: Option<String> = None;
        let mut seen = 0usize;
        'relations: loop {
            let page = provider.relations(cursor.as_deref()).await?;
            let empty = page.items.is_empty();
            let mut undated = false;
            for relation in page.items {
                match (since, relation.connected_at) {
                    (Some(w), Some(at)) if at < w => break 'relations,
                    (Some(_), None) => undated = true,
                    _ => {}
                }
                if seen >= MAX_RELATIONS_PER_PASS {
                    break 'relations;
                }
                seen += 1;
                newest = newest.max(relation.connected_at.map(|at| bounded_time(at, self.now())));
                let event = ProviderEvent::NewRelation(relation);
                match handle_event(&self.store, self.clock.as_ref(), account, &event).await {
                    Ok(_) => {}
                    Err(e) if e.status < 500 => {
                        tracing::warn!(account = %account.id, error = %e, "connection skipped");
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            self.keep_lease(lease).await?;
            // Without dates, an incremental pass cannot tell new from old: it reads one page.
            match page.cursor {
                Some(next) if !empty && !undated => cursor = Some(next),
                _ => break,
            }
        }
        Ok(newest)
    }
}
