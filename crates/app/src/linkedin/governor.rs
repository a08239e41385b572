//! The safety governor: every provider read a seat makes is classified
//! ([`CallKind`]) and charged in the action ledger against the seat's daily
//! budget for that kind, before the call. A read past its budget, while its
//! kind is paused, or (for background work) outside the seat's working hours
//! is not made: it answers [`LinkedInError::BudgetSpent`] with the moment it
//! may be tried again, and the worker waits until then.
//!
//! Sends (messages, invitations, visits, engagements, withdrawals) pass through: the
//! outbound scheduler already charged their slot in the same ledger (see
//! `engine::safety`). Reads a send depends on (the read-back after an unknown
//! outcome) are charged but never refused, so a delivery is never left
//! unconfirmed for want of budget. Calls that reach no LinkedIn page (the
//! seat's own profile, InMail balance, seat health) are free.
//!
//! Profiles and email lookups are remembered per seat for
//! [`PROFILE_CACHE_MS`] (a profile's connection degree, unless first, for
//! [`DEGREE_CACHE_MS`]): asking again within that time costs no budget and
//! reaches no LinkedIn page. A visit refreshes the profile it read.

use async_trait::async_trait;
use sonarly_domain::Timestamp;
use sonarly_domain::clock::SharedClock;
use sonarly_domain::linkedin_account::{CallKind, DEGREE_CACHE_MS, LinkedInAccount, PROFILE_CACHE_MS};
use sonarly_linkedin::*;
use sonarly_store::{CachedRead, Store};

/// Who is asking, which decides what may refuse a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// Background work (imports, syncs, scans): budgets, pauses and working hours apply.
    Background,
    /// A person waiting on an API answer: budgets and pauses apply, working hours do not.
    Interactive,
}

/// Kinds of reads in the seat's profile cache.
const PROFILE: &str = "profile";
const EMAIL: &str = "email";

/// A seat's provider behind its budgets.
pub struct Governed {
    inner: SharedLinkedIn,
    store: Store,
    clock: SharedClock,
    account: LinkedInAccount,
    urgency: Urgency,
}

impl Governed {
    pub fn new(
        inner: SharedLinkedIn,
        store: Store,
        clock: SharedClock,
        account: LinkedInAccount,
        urgency: Urgency,
    ) -> Self {
        Self { inner, store, clock, account, urgency }
    }

    /// Charges one read of `kind`, or says until when it must wait.
    async fn charge(&self, kind: CallKind) -> LinkedInResult<()> {
        let now = self.clock.now();
        let rules = &self.account.rules;
        let spent = |until: Timestamp| LinkedInError::BudgetSpent { kind: kind.as_str(), until };
        let ledger = |e: sonarly_store::StoreError| LinkedInError::Transient(format!("the action ledger failed: {e}"));
        if let Some(until) = self.account.rate_limited_until.filter(|u| *u > now) {
            return Err(spent(until));
        }
        if let Some(until) = self.store.seat_paused_until(&self.account.id, kind.as_str(), now).await.map_err(ledger)? {
            return Err(spent(until));
        }
        // The inbox is read from the provider's synced copy: any hour. Everything else that
        // touches LinkedIn's pages waits for the seat's working hours, like a person would.
        if self.urgency == Urgency::Background && kind != CallKind::InboxRead {
            let working = rules.next_working_moment(now);
            if working > now {
                return Err(spent(working));
            }
        }
        let budget = self.account.effective_cap(rules.reads.daily(kind), now);
        let day_start = rules.local_day_start(now);
        // Profile visits are profile retrievals too: one budget for both (Unipile's 80-100 a day).
        let shared: &[&str] = if kind == CallKind::ProfileFetch { &["profile_visit"] } else { &[] };
        let charged = self
            .store
            .charge_call(&self.account.id, kind.as_str(), shared, day_start, Some(budget), now)
            .await
            .map_err(ledger)?;
        if !charged {
            return Err(spent(rules.next_working_moment(rules.next_local_day_start(now))));
        }
        crate::metrics::budget_used(&self.account.id, kind.as_str());
        Ok(())
    }

    /// Charges one read of `kind` and makes it; a refusal is applied to the seat
    /// (see [`super::seat`]): a LinkedIn limit or rate limit pauses the kind or
    /// the seat and answers `BudgetSpent` with the moment it lifts.
    async fn read<T>(&self, kind: CallKind, call: impl Future<Output = LinkedInResult<T>>) -> LinkedInResult<T> {
        self.charge(kind).await?;
        let e = match call.await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let now = self.clock.now();
        match super::seat::seat_refused(&self.store, &self.account, kind.as_str(), &e, now).await {
            Ok(super::seat::Refused::RetryAt(until))
                if matches!(e, LinkedInError::RateLimited { .. } | LinkedInError::LimitReached(_)) =>
            {
                Err(LinkedInError::BudgetSpent { kind: kind.as_str(), until })
            }
            Ok(_) => Err(e),
            Err(store) => {
                tracing::warn!(account = %self.account.id, error = %store, "could not record what a refusal means for the seat");
                Err(e)
            }
        }
    }

    /// A profile the seat read recently enough, if any.
    async fn cached_profile(&self, identifier: &str) -> Option<Person> {
        let now = self.clock.now();
        let read = self.cached(PROFILE, identifier, now.plus_millis(-PROFILE_CACHE_MS)).await?;
        let person: Person = serde_json::from_str(&read.body).ok()?;
        let degree_fresh = read.fetched_at >= now.plus_millis(-DEGREE_CACHE_MS);
        (person.connection_degree == Some(1) || degree_fresh).then_some(person)
    }

    /// An email lookup the seat made recently enough (`Some(None)`: LinkedIn showed none).
    async fn cached_email(&self, provider_id: &str) -> Option<Option<String>> {
        let read = self.cached(EMAIL, provider_id, self.clock.now().plus_millis(-PROFILE_CACHE_MS)).await?;
        serde_json::from_str(&read.body).ok()
    }

    async fn cached(&self, kind: &str, identifier: &str, fresh_since: Timestamp) -> Option<CachedRead> {
        match self.store.cached_read(&self.account.id, kind, identifier, fresh_since).await {
            Ok(read) => read,
            Err(e) => {
                tracing::warn!(account = %self.account.id, error = %e, "the profile cache could not be read");
                None
            }
        }
    }

    /// Remembers a read under each of `identifiers`; a failure costs only a later re-read.
    async fn remember(&self, kind: &str, identifiers: &[&str], body: &impl serde::Serialize) {
        let Ok(body) = serde_json::to_string(body) else { return };
        let now = self.clock.now();
        let expired = now.plus_millis(-PROFILE_CACHE_MS);
        if let Err(e) = self.store.remember_read(&self.account.id, kind, identifiers, &body, now, expired).await {
            tracing::warn!(account = %self.account.id, error = %e, "the profile cache could not be written");
        }
    }

    async fn remember_profile(&self, asked: &str, person: &Person) {
        let mut identifiers = vec![asked, person.provider_id.as_str(), person.public_identifier.as_str()];
        identifiers.retain(|i| !i.is_empty());
        identifiers.sort_unstable();
        identifiers.dedup();
        self.remember(PROFILE, &identifiers, person).await;
    }

    /// Charges a read a send depends on: counted, never refused.
    async fn charge_urgent(&self, kind: CallKind) -> LinkedInResult<()> {
        let now = self.clock.now();
        let day_start = self.account.rules.local_day_start(now);
        self.store
            .charge_call(&self.account.id, kind.as_str(), &[], day_start, None, now)
            .await
            .map_err(|e| LinkedInError::Transient(format!("the action ledger failed: {e}")))?;
        crate::metrics::budget_used(&self.account.id, kind.as_str());
        Ok(())
    }
}

#[async_trait]
impl LinkedIn for Governed {
    async fn own_profile(&self) -> LinkedInResult<OwnProfile> {
        self.inner.own_profile().await
    }

    async fn seat_health(&self) -> LinkedInResult<SeatHealth> {
        self.inner.seat_health().await
    }

    async fn search_people(
        &self,
        source: &PeopleSource,
        cursor: Option<&str>,
        page_size: u32,
    ) -> LinkedInResult<ProviderPage<Person>> {
        self.read(CallKind::SearchPage, self.inner.search_people(source, cursor, page_size)).await
    }

    async fn saved_searches(&self) -> LinkedInResult<Vec<NamedList>> {
        self.read(CallKind::SearchPage, self.inner.saved_searches()).await
    }

    async fn lead_lists(&self) -> LinkedInResult<Vec<NamedList>> {
        self.read(CallKind::SearchPage, self.inner.lead_lists()).await
    }

    async fn profile(&self, identifier: &str) -> LinkedInResult<Person> {
        if let Some(person) = self.cached_profile(identifier).await {
            return Ok(person);
        }
        let person = self.read(CallKind::ProfileFetch, self.inner.profile(identifier)).await?;
        self.remember_profile(identifier, &person).await;
        Ok(person)
    }

    async fn visit_profile(&self, token: &OutboundToken, identifier: &str) -> LinkedInResult<Person> {
        let person = self.inner.visit_profile(token, identifier).await?;
        self.remember_profile(identifier, &person).await;
        Ok(person)
    }

    async fn follow(&self, token: &OutboundToken, provider_id: &str) -> LinkedInResult<()> {
        self.inner.follow(token, provider_id).await
    }

    async fn react_to_recent_post(&self, token: &OutboundToken, provider_id: &str) -> LinkedInResult<Option<String>> {
        self.inner.react_to_recent_post(token, provider_id).await
    }

    async fn send_invitation(
        &self,
        token: &OutboundToken,
        provider_id: &str,
        note: Option<&str>,
    ) -> LinkedInResult<Invitation> {
        self.inner.send_invitation(token, provider_id, note).await
    }

    /// A write, like a send: the engine charged its slot (kind `withdrawal`) before the call.
    async fn withdraw_invitation(&self, invitation_id: &str) -> LinkedInResult<()> {
        self.inner.withdraw_invitation(invitation_id).await
    }

    async fn sent_invitations(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Invitation>> {
        self.read(CallKind::RelationRead, self.inner.sent_invitations(cursor)).await
    }

    async fn relations(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Relation>> {
        self.read(CallKind::RelationRead, self.inner.relations(cursor)).await
    }

    async fn chats(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Chat>> {
        self.read(CallKind::InboxRead, self.inner.chats(cursor)).await
    }

    async fn chat_messages(&self, chat_id: &str, cursor: Option<&str>) -> LinkedInResult<ProviderPage<ChatMessage>> {
        self.read(CallKind::InboxRead, self.inner.chat_messages(chat_id, cursor)).await
    }

    async fn send_message(&self, token: &OutboundToken, chat_id: &str, text: &str) -> LinkedInResult<SentMessage> {
        self.inner.send_message(token, chat_id, text).await
    }

    async fn start_chat(&self, token: &OutboundToken, provider_id: &str, text: &str) -> LinkedInResult<SentMessage> {
        self.inner.start_chat(token, provider_id, text).await
    }

    async fn send_inmail(
        &self,
        token: &OutboundToken,
        provider_id: &str,
        subject: &str,
        body: &str,
    ) -> LinkedInResult<SentMessage> {
        self.inner.send_inmail(token, provider_id, subject, body).await
    }

    async fn inmail_credits(&self) -> LinkedInResult<Option<u32>> {
        self.inner.inmail_credits().await
    }

    async fn find_email(&self, provider_id: &str) -> LinkedInResult<Option<String>> {
        if let Some(email) = self.cached_email(provider_id).await {
            return Ok(email);
        }
        let email = self.read(CallKind::ProfileFetch, self.inner.find_email(provider_id)).await?;
        self.remember(EMAIL, &[provider_id], &email).await;
        Ok(email)
    }

    async fn recent_activity(&self, provider_id: &str) -> LinkedInResult<Vec<ActivityItem>> {
        self.read(CallKind::ActivityRead, self.inner.recent_activity(provider_id)).await
    }

    async fn reconcile(
        &self,
        token: &OutboundToken,
        attempt: &OutboundAttempt,
        started_at: Timestamp,
    ) -> LinkedInResult<Vec<Trace>> {
        self.charge_urgent(CallKind::InboxRead).await?;
        self.inner.reconcile(token, attempt, started_at).await
    }
}
