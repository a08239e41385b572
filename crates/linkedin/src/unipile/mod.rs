//! The Unipile connector: the [`LinkedIn`] trait over Unipile's API v1
//! (`/work/shared/design/unipile-contract.md`).
//!
//! One [`UnipileLinkedIn`] serves one connected LinkedIn account (a Unipile
//! account id) through one `reqwest::Client`. Every route of contract §8 maps to
//! one trait method; payloads are read leniently (`wire`) and mapped into the
//! trait's types (`mapping`); failures become typed [`LinkedInError`]s
//! following contract §2.3 (`errors`).
//!
//! Unipile has no idempotency key, so the [`OutboundToken`] of a write is only
//! recorded in tracing; exactly-once comes from the engine recording each
//! attempt and, for an attempt whose outcome is unknown, calling
//! [`LinkedIn::reconcile`] once it settles, which reads back what LinkedIn shows.

mod account;
mod activity;
mod errors;
mod http;
mod mapping;
mod messaging;
mod onboarding;
mod people;
mod reconcile;
mod search;
pub mod webhook;
mod wire;

pub use onboarding::{
    ACCOUNT_STATUS_EVENTS, CheckpointOutcome, HostedLinkKind, HostedLinkRequest, UnipileAdmin, WEBHOOK_SECRET_HEADER,
    WebhookRequest, WebhookSource, normalized_dsn,
};
pub use webhook::{WebhookEvent, parse_webhook, parse_webhook_with_accounts, webhook_secret_matches};

use crate::error::{LinkedInError, LinkedInResult};
use crate::provider::{LinkedIn, OutboundToken};
use crate::types::*;
use async_trait::async_trait;
use http::Http;
use sonarly_domain::Timestamp;
use sonarly_domain::clock::{SharedClock, SystemClock};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::Instrument;

/// Connect timeout of the HTTP client.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request timeout; Unipile answers sensitive LinkedIn calls in a few seconds.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How to reach one connected account through Unipile.
#[derive(Clone, PartialEq, Eq)]
pub struct UnipileConfig {
    /// The DSN, e.g. `https://api8.unipile.com:13851` (a scheme-less DSN or a trailing `/api/v1` is accepted).
    pub base_url: String,
    /// The Unipile access token, sent as `X-API-KEY`.
    pub api_key: String,
    /// The Unipile account id of the connected LinkedIn account.
    pub account_id: String,
}

impl fmt::Debug for UnipileConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnipileConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// The [`LinkedIn`] implementation backed by Unipile.
pub struct UnipileLinkedIn {
    http: Http,
    /// LinkedIn thread id (`2-…`) → Unipile chat id. The trait speaks thread ids,
    /// the chat routes take Unipile ids; the pair never changes, so it is cached.
    chat_ids: Mutex<HashMap<String, String>>,
    /// Public identifier or Sales Navigator id → (classic member id, when it was read).
    /// Invitations, messages, follows and likes need the member id; without this every
    /// action on a prospect sourced by slug or Sales Navigator fetched a profile
    /// (unipile-review M1). Entries expire after [`MEMBER_CACHE_TTL_MS`].
    members: Mutex<HashMap<String, (String, Timestamp)>>,
    /// Whether the seat is a free one (no Premium, Sales Navigator or Recruiter), from
    /// `GET /users/me`, and when that was read: its invitation notes stop at 200 characters.
    free_seat: Mutex<Option<(bool, Timestamp)>>,
}

impl fmt::Debug for UnipileLinkedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnipileLinkedIn").field("account_id", &self.http.account_id).finish_non_exhaustive()
    }
}

/// Bound on the chat-id cache; past it the cache starts over (ids are re-resolved on demand).
const CHAT_CACHE_LIMIT: usize = 10_000;
/// Bound on the member-id cache; past it expired entries go first, then the oldest one.
const MEMBER_CACHE_LIMIT: usize = 10_000;
/// How long a resolved member id is trusted: a person costs at most one profile fetch per period.
pub(crate) const MEMBER_CACHE_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;

impl UnipileLinkedIn {
    /// A connector with the default timeouts (connect 10 s, request 30 s) and the system clock.
    pub fn new(config: UnipileConfig) -> LinkedInResult<Self> {
        Self::with_timeouts(config, CONNECT_TIMEOUT, REQUEST_TIMEOUT)
    }

    /// A connector with explicit timeouts (tests use short ones).
    pub fn with_timeouts(config: UnipileConfig, connect: Duration, request: Duration) -> LinkedInResult<Self> {
        let clock: SharedClock = Arc::new(SystemClock);
        let http = Http::new(&config.base_url, &config.api_key, &config.account_id, connect, request, clock)?;
        Ok(Self {
            http,
            chat_ids: Mutex::new(HashMap::new()),
            members: Mutex::new(HashMap::new()),
            free_seat: Mutex::new(None),
        })
    }

    /// Replaces the clock that stamps sends (Unipile returns no send time) and reads `Retry-After` dates.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.http.clock = clock;
        self
    }

    /// The Unipile account id this connector acts for.
    pub fn account_id(&self) -> &str {
        &self.http.account_id
    }

    fn now(&self) -> Timestamp {
        self.http.clock.now()
    }

    fn remember_chat(&self, thread_id: &str, unipile_id: &str) {
        if thread_id.is_empty() || unipile_id.is_empty() || thread_id == unipile_id {
            return;
        }
        let mut cache = self.chat_ids.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= CHAT_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(thread_id.to_owned(), unipile_id.to_owned());
    }

    fn cached_chat(&self, thread_id: &str) -> Option<String> {
        self.chat_ids.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(thread_id).cloned()
    }

    /// Remembers that `identifier` (a slug or Sales Navigator id) is the member `member_id`.
    fn remember_member(&self, identifier: &str, member_id: &str) {
        if identifier.is_empty() || identifier == member_id || !mapping::is_member_id(member_id) {
            return;
        }
        let now = self.now();
        let mut cache = self.members.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= MEMBER_CACHE_LIMIT && !cache.contains_key(identifier) {
            cache.retain(|_, (_, at)| !member_expired(*at, now));
            if cache.len() >= MEMBER_CACHE_LIMIT
                && let Some(oldest) = cache.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| k.clone())
            {
                cache.remove(&oldest);
            }
        }
        cache.insert(identifier.to_owned(), (member_id.to_owned(), now));
    }

    /// The member id `identifier` resolved to within the last [`MEMBER_CACHE_TTL_MS`].
    fn cached_member(&self, identifier: &str) -> Option<String> {
        let now = self.now();
        let mut cache = self.members.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match cache.get(identifier) {
            Some((member, at)) if !member_expired(*at, now) => Some(member.clone()),
            Some(_) => {
                cache.remove(identifier);
                None
            }
            None => None,
        }
    }
}

#[async_trait]
impl LinkedIn for UnipileLinkedIn {
    async fn own_profile(&self) -> LinkedInResult<OwnProfile> {
        self.get_own_profile().await
    }

    async fn seat_health(&self) -> LinkedInResult<SeatHealth> {
        self.get_seat_health().await
    }

    async fn search_people(
        &self,
        source: &PeopleSource,
        cursor: Option<&str>,
        page_size: u32,
    ) -> LinkedInResult<ProviderPage<Person>> {
        self.search(source, cursor, page_size).await
    }

    async fn saved_searches(&self) -> LinkedInResult<Vec<NamedList>> {
        self.search_parameters("SAVED_SEARCHES").await
    }

    async fn lead_lists(&self) -> LinkedInResult<Vec<NamedList>> {
        self.search_parameters("LEAD_LISTS").await
    }

    async fn profile(&self, identifier: &str) -> LinkedInResult<Person> {
        self.get_profile(identifier, false).await
    }

    async fn visit_profile(&self, token: &OutboundToken, identifier: &str) -> LinkedInResult<Person> {
        let span = tracing::info_span!("unipile.visit_profile", token = token.as_str());
        self.get_profile(identifier, true).instrument(span).await
    }

    async fn follow(&self, token: &OutboundToken, provider_id: &str) -> LinkedInResult<()> {
        let span = tracing::info_span!("unipile.follow", token = token.as_str());
        self.do_follow(provider_id).instrument(span).await
    }

    async fn react_to_recent_post(&self, token: &OutboundToken, provider_id: &str) -> LinkedInResult<Option<String>> {
        let span = tracing::info_span!("unipile.react_to_recent_post", token = token.as_str());
        self.do_react(provider_id).instrument(span).await
    }

    async fn send_invitation(
        &self,
        token: &OutboundToken,
        provider_id: &str,
        note: Option<&str>,
    ) -> LinkedInResult<Invitation> {
        let span = tracing::info_span!("unipile.send_invitation", token = token.as_str());
        self.do_invite(provider_id, note).instrument(span).await
    }

    async fn withdraw_invitation(&self, invitation_id: &str) -> LinkedInResult<()> {
        let span = tracing::info_span!("unipile.withdraw_invitation", invitation_id);
        self.do_withdraw(invitation_id).instrument(span).await
    }

    async fn sent_invitations(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Invitation>> {
        self.list_sent_invitations(cursor, people::INVITATION_PAGE).await
    }

    async fn relations(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Relation>> {
        self.list_relations(cursor).await
    }

    async fn chats(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Chat>> {
        self.list_chats(cursor, messaging::CHAT_PAGE).await
    }

    async fn chat_messages(&self, chat_id: &str, cursor: Option<&str>) -> LinkedInResult<ProviderPage<ChatMessage>> {
        self.list_messages(chat_id, cursor, messaging::MESSAGE_PAGE).await
    }

    async fn send_message(&self, token: &OutboundToken, chat_id: &str, text: &str) -> LinkedInResult<SentMessage> {
        let span = tracing::info_span!("unipile.send_message", token = token.as_str());
        self.do_send_message(chat_id, text).instrument(span).await
    }

    async fn start_chat(&self, token: &OutboundToken, provider_id: &str, text: &str) -> LinkedInResult<SentMessage> {
        let span = tracing::info_span!("unipile.start_chat", token = token.as_str());
        self.do_start_chat(provider_id, text).instrument(span).await
    }

    async fn send_inmail(
        &self,
        token: &OutboundToken,
        provider_id: &str,
        subject: &str,
        body: &str,
    ) -> LinkedInResult<SentMessage> {
        let span = tracing::info_span!("unipile.send_inmail", token = token.as_str());
        self.do_send_inmail(provider_id, subject, body).instrument(span).await
    }

    async fn inmail_credits(&self) -> LinkedInResult<Option<u32>> {
        let balance = self.inmail_balance().await?;
        Ok(match (balance.premium, balance.sales_navigator) {
            (None, None) => None,
            (premium, sales_navigator) => Some(premium.unwrap_or(0).saturating_add(sales_navigator.unwrap_or(0))),
        })
    }

    async fn find_email(&self, provider_id: &str) -> LinkedInResult<Option<String>> {
        self.email_from_profile(provider_id).await
    }

    async fn recent_activity(&self, provider_id: &str) -> LinkedInResult<Vec<ActivityItem>> {
        self.list_activity(provider_id).await
    }

    async fn reconcile(
        &self,
        token: &OutboundToken,
        attempt: &OutboundAttempt,
        started_at: Timestamp,
    ) -> LinkedInResult<Vec<Trace>> {
        let span = tracing::info_span!("unipile.reconcile", token = token.as_str());
        self.do_reconcile(attempt, started_at).instrument(span).await
    }
}

fn member_expired(resolved_at: Timestamp, now: Timestamp) -> bool {
    now.as_millis().saturating_sub(resolved_at.as_millis()) >= MEMBER_CACHE_TTL_MS
}

/// Rejects empty text before it costs a LinkedIn call.
fn require_text(what: &str, text: &str) -> LinkedInResult<()> {
    if text.trim().is_empty() {
        return Err(LinkedInError::InvalidInput(format!("{what} is empty")));
    }
    Ok(())
}
