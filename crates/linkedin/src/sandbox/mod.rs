//! The sandbox LinkedIn: a deterministic simulated network.
//!
//! People come from a seeded universe ([`population`]); what the account did
//! is a journal of actions keyed by idempotency token ([`journal`]); what it
//! sees at any moment (acceptances, replies, conversations) is derived from
//! both and the injected clock ([`world`]). It imitates LinkedIn's limits,
//! error kinds, id shapes and search caps, with knobs for acceptance and reply
//! rates and a fault rate ([`SandboxConfig`]). It enforces like LinkedIn:
//! calls past a kind's daily threshold are refused and a seat that keeps
//! pushing is restricted for days ([`enforcement`], counted in a
//! [`SandboxMeter`] that outlives the sandbox value). Unlike LinkedIn it
//! honours idempotency tokens, so tests can count exactly what was sent.

mod activity;
mod config;
pub mod enforcement;
mod hash;
mod journal;
mod population;
mod vocab;
mod world;

pub use crate::search_url::{SearchQuery, check_post_url, parse_search_url};
pub use config::SandboxConfig;
pub use enforcement::{CallKind, EnforcementConfig, Restriction, SandboxMeter};
pub use journal::{JournalIndex, MemoryJournal, SandboxAction, SandboxActionKind, SandboxJournal};
pub use population::{CLASSIC_RESULT_CAP, SALES_NAVIGATOR_RESULT_CAP, UNIVERSE_SIZE};

use crate::error::{LimitKind, LinkedInError, LinkedInResult};
use crate::provider::{LinkedIn, OutboundToken};
use crate::types::*;
use async_trait::async_trait;
use hash::{mix, mix_str, unit};
use population::Population;
use sonarly_domain::Timestamp;
use sonarly_domain::clock::SharedClock;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use world::World;

const DAY_MS: i64 = 86_400_000;
const WEEK_MS: i64 = 7 * DAY_MS;
/// LinkedIn's text limits.
pub const INVITATION_NOTE_MAX_CHARS: usize = 300;
pub const MESSAGE_MAX_CHARS: usize = 8_000;
pub const INMAIL_SUBJECT_MAX_CHARS: usize = 200;
pub const INMAIL_BODY_MAX_CHARS: usize = 1_900;
const FAULT: u64 = 0xFA17;
/// Journal entries read again on every refresh (see `refresh`).
const REREAD_WINDOW: i64 = 64;

/// One simulated LinkedIn account.
pub struct Sandbox {
    account_id: String,
    config: SandboxConfig,
    clock: SharedClock,
    journal: Arc<dyn SandboxJournal>,
    population: Arc<Population>,
    connections: OnceLock<Vec<u32>>,
    /// The journal as last read, indexed.
    cache: Mutex<Arc<JournalIndex>>,
    calls: AtomicU64,
    /// What the seat did as LinkedIn counts it, and its restrictions (shared across rebuilds).
    meter: Arc<SandboxMeter>,
}

/// Populations are shared by world seed: building one is free, but their
/// search caches are worth sharing between accounts.
type PopulationsBySeed = Mutex<Vec<(u64, Arc<Population>)>>;

fn population_for(seed: u64) -> Arc<Population> {
    static POPULATIONS: OnceLock<PopulationsBySeed> = OnceLock::new();
    let all = POPULATIONS.get_or_init(Default::default);
    let mut all = all.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, p)) = all.iter().find(|(s, _)| *s == seed) {
        return p.clone();
    }
    let population = Arc::new(Population::new(seed));
    all.push((seed, population.clone()));
    population
}

impl Sandbox {
    /// A sandbox with a meter of its own: its counts and restrictions end with it.
    pub fn new(account_id: &str, config: SandboxConfig, clock: SharedClock, journal: Arc<dyn SandboxJournal>) -> Self {
        Self::with_meter(account_id, config, clock, journal, Arc::new(SandboxMeter::new()))
    }

    /// A sandbox counting into `meter`: pass the account's meter every time the
    /// sandbox is rebuilt, so counts and restrictions survive the rebuild.
    pub fn with_meter(
        account_id: &str,
        config: SandboxConfig,
        clock: SharedClock,
        journal: Arc<dyn SandboxJournal>,
        meter: Arc<SandboxMeter>,
    ) -> Self {
        Self {
            account_id: account_id.to_owned(),
            population: population_for(config.world_seed),
            config,
            clock,
            journal,
            connections: OnceLock::new(),
            cache: Mutex::new(Arc::new(JournalIndex::default())),
            calls: AtomicU64::new(0),
            meter,
        }
    }

    /// The seat's meter: calls per kind and day, refusals, restrictions.
    pub fn meter(&self) -> &Arc<SandboxMeter> {
        &self.meter
    }

    /// The restriction in force now, if any.
    pub fn restriction_now(&self) -> Option<Restriction> {
        self.meter.restriction_at(self.clock.now())
    }

    /// Runs `call` as one call of `kind` (`None`: uncounted) under LinkedIn's
    /// enforcement: refused during an outage or restriction, or past the kind's
    /// threshold; a refusal for volume may restrict the seat.
    async fn gated<T>(
        &self,
        kind: Option<CallKind>,
        call: impl Future<Output = LinkedInResult<T>>,
    ) -> LinkedInResult<T> {
        let now = self.clock.now();
        self.meter.admit(&self.config, kind, now)?;
        let result = call.await;
        self.meter.settle(&self.config, kind, now, result)
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Everything this account was asked to do, in order (for tests and audits).
    pub async fn ledger(&self) -> LinkedInResult<Vec<SandboxAction>> {
        let mut all = self.refresh().await?.all().to_vec();
        all.sort_by_key(|a| a.seq);
        Ok(all)
    }

    /// Reads new journal entries. The last few sequence numbers are read
    /// again: on PostgreSQL concurrent inserts may commit out of sequence
    /// order, and a late commit must not be skipped.
    async fn refresh(&self) -> LinkedInResult<Arc<JournalIndex>> {
        let newest = self.cache.lock().unwrap_or_else(|p| p.into_inner()).newest_seq();
        let fresh = self.journal.actions_since(&self.account_id, (newest - REREAD_WINDOW).max(0)).await?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if fresh.iter().any(|a| cache.by_token(&a.token).is_none()) {
            let index = Arc::make_mut(&mut cache);
            for action in fresh {
                index.insert(action);
            }
        }
        Ok(cache.clone())
    }

    fn connections(&self) -> &[u32] {
        self.connections.get_or_init(|| world::background_connections(&self.config))
    }

    fn world<'a>(&'a self, journal: &'a JournalIndex) -> World<'a> {
        World {
            config: &self.config,
            population: &self.population,
            connections: self.connections(),
            journal,
            now: self.clock.now(),
        }
    }

    /// Fails a share of calls with a transient error, as a flaky upstream would.
    fn maybe_fault(&self) -> LinkedInResult<()> {
        if self.config.fault_rate <= 0.0 {
            return Ok(());
        }
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        if unit(mix(self.config.account_seed ^ FAULT, n)) < self.config.fault_rate {
            return Err(LinkedInError::Transient("sandbox: simulated upstream failure".into()));
        }
        Ok(())
    }

    fn person_index(&self, identifier: &str) -> LinkedInResult<u32> {
        self.population
            .index_of(identifier.trim())
            .ok_or_else(|| LinkedInError::NotReachable(format!("no LinkedIn member {identifier}")))
    }

    /// Records an outbound action once per token. A repeated token returns
    /// the first recording without performing anything; limits are checked
    /// only for new actions.
    async fn perform(
        &self,
        token: &OutboundToken,
        kind: SandboxActionKind,
        recipient: String,
        check: impl FnOnce(&World<'_>) -> LinkedInResult<()>,
        build: impl FnOnce(&World<'_>) -> (Option<String>, Option<String>, Option<String>, String),
    ) -> LinkedInResult<SandboxAction> {
        self.maybe_fault()?;
        // The snapshot is dropped before recording, so the next refresh can
        // extend the shared index in place instead of copying it.
        let action = {
            let actions = self.refresh().await?;
            if let Some(existing) = actions.by_token(token.as_str()) {
                return Ok(existing.clone());
            }
            let world = self.world(&actions);
            if self.config.burst_per_minute > 0
                && world.count_recent(&ALL_KINDS, 60_000) >= self.config.burst_per_minute
            {
                return Err(LinkedInError::RateLimited { retry_after: Some(std::time::Duration::from_secs(60)) });
            }
            check(&world)?;
            let (chat_id, text, subject, result_id) = build(&world);
            SandboxAction {
                seq: 0,
                account_id: self.account_id.clone(),
                token: token.as_str().to_owned(),
                kind,
                recipient_provider_id: recipient,
                chat_id,
                text,
                subject,
                result_id,
                at: world.now,
            }
        };
        let stored = self.journal.record(action).await?;
        self.refresh().await?;
        Ok(stored)
    }

    fn daily_cap(&self, world: &World<'_>, kinds: &[SandboxActionKind], cap: u32) -> LinkedInResult<()> {
        if world.count_recent(kinds, DAY_MS) >= cap {
            return Err(LinkedInError::LimitReached(LimitKind::DailyActions));
        }
        Ok(())
    }

    fn sent(&self, action: &SandboxAction) -> SentMessage {
        SentMessage {
            chat_id: action.chat_id.clone().unwrap_or_default(),
            message_id: Some(action.result_id.clone()),
            sent_at: action.at,
        }
    }

    fn saved_search_list(&self) -> Vec<(NamedList, &'static str)> {
        const SAVED: [(&str, &str); 3] = [
            ("Founders in Berlin", "https://www.linkedin.com/sales/search/people?query=(keywords%3Afounder%20berlin)"),
            (
                "Engineering leaders",
                "https://www.linkedin.com/sales/search/people?query=(keywords%3Ahead%20engineering)",
            ),
            ("Sales heads in SaaS", "https://www.linkedin.com/sales/search/people?query=(keywords%3Ahead%20sales)"),
        ];
        SAVED
            .iter()
            .enumerate()
            .map(|(k, (name, url))| {
                let id = 1_000_000_000 + mix(self.config.account_seed, k as u64) % 8_999_999_999;
                (NamedList { id: id.to_string(), name: (*name).to_owned() }, *url)
            })
            .collect()
    }

    fn lead_list_list(&self) -> Vec<NamedList> {
        ["Q3 target accounts", "Conference leads"]
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let id = 7_000_000_000 + mix(self.config.account_seed ^ 0x1EAD, k as u64) % 999_999_999;
                NamedList { id: id.to_string(), name: (*name).to_owned() }
            })
            .collect()
    }

    fn require_sales_navigator(&self) -> LinkedInResult<()> {
        if self.config.account_type == AccountType::Classic {
            return Err(LinkedInError::FeatureUnavailable("Sales Navigator is not available on this account".into()));
        }
        Ok(())
    }
}

const ALL_KINDS: [SandboxActionKind; 8] = [
    SandboxActionKind::Invitation,
    SandboxActionKind::Message,
    SandboxActionKind::StartChat,
    SandboxActionKind::InMail,
    SandboxActionKind::Visit,
    SandboxActionKind::Follow,
    SandboxActionKind::Reaction,
    SandboxActionKind::Withdrawal,
];

fn offset(cursor: Option<&str>) -> LinkedInResult<usize> {
    match cursor {
        None => Ok(0),
        Some(c) => c.parse().map_err(|_| LinkedInError::InvalidInput(format!("bad cursor {c}"))),
    }
}

fn page_of<T: Clone>(all: &[T], cursor: Option<&str>, size: usize) -> LinkedInResult<ProviderPage<T>> {
    let start = offset(cursor)?.min(all.len());
    let end = (start + size).min(all.len());
    Ok(ProviderPage {
        items: all[start..end].to_vec(),
        cursor: (end < all.len()).then(|| end.to_string()),
        total: Some(all.len() as u32),
    })
}

fn too_long(what: &str, text: &str, max: usize) -> LinkedInResult<()> {
    if text.chars().count() > max {
        return Err(LinkedInError::InvalidInput(format!("{what} exceeds {max} characters")));
    }
    if text.trim().is_empty() {
        return Err(LinkedInError::InvalidInput(format!("{what} is empty")));
    }
    Ok(())
}

#[async_trait]
impl LinkedIn for Sandbox {
    async fn seat_health(&self) -> LinkedInResult<SeatHealth> {
        Ok(self.meter.health(&self.config, self.clock.now()))
    }

    async fn own_profile(&self) -> LinkedInResult<OwnProfile> {
        self.gated(None, async {
            self.maybe_fault()?;
            let h = self.config.account_seed;
            let first = sandbox_name(h, 0);
            let last = sandbox_name(h, 1);
            Ok(OwnProfile {
                provider_id: world::own_provider_id(&self.config, &self.population),
                public_identifier: Some(format!("{}-{}-sandbox", first.to_lowercase(), last.to_lowercase())),
                first_name: first,
                last_name: last,
                headline: Some("Sandbox account".into()),
                account_type: self.config.account_type,
                is_premium: self.config.account_type != AccountType::Classic,
            })
        })
        .await
    }

    async fn search_people(
        &self,
        source: &PeopleSource,
        cursor: Option<&str>,
        page_size: u32,
    ) -> LinkedInResult<ProviderPage<Person>> {
        self.gated(Some(CallKind::SearchPage), async {
            self.maybe_fault()?;
            let members: Arc<Vec<u32>> = match source {
                PeopleSource::SearchUrl(url) => {
                    let query =
                        parse_search_url(url).map_err(|e| LinkedInError::InvalidInput(format!("searchUrl {e}")))?;
                    if query.sales_navigator {
                        self.require_sales_navigator()?;
                    }
                    self.population.search(&query)
                }
                PeopleSource::SavedSearch(id) => {
                    self.require_sales_navigator()?;
                    let (_, url) = self
                        .saved_search_list()
                        .into_iter()
                        .find(|(list, _)| list.id == *id)
                        .ok_or_else(|| LinkedInError::NotFound(format!("saved search {id}")))?;
                    let query = parse_search_url(url).map_err(LinkedInError::InvalidInput)?;
                    self.population.search(&query)
                }
                PeopleSource::LeadList(id) => {
                    self.require_sales_navigator()?;
                    if !self.lead_list_list().iter().any(|l| l.id == *id) {
                        return Err(LinkedInError::NotFound(format!("lead list {id}")));
                    }
                    Arc::new(self.population.lead_list(id))
                }
                PeopleSource::PostCommenters(url) => {
                    check_post_url(url).map_err(|e| LinkedInError::InvalidInput(format!("postUrl {e}")))?;
                    Arc::new(self.population.post_commenters(url))
                }
            };
            let max = if self.config.account_type == AccountType::Classic { 50 } else { 100 };
            let size = page_size.clamp(1, max) as usize;
            let page = page_of(&members, cursor, size)?;
            let actions = self.refresh().await?;
            let world = self.world(&actions);
            Ok(ProviderPage {
                items: page.items.iter().map(|&i| self.population.person(i, Some(world.degree(i)))).collect(),
                cursor: page.cursor,
                total: page.total,
            })
        })
        .await
    }

    async fn saved_searches(&self) -> LinkedInResult<Vec<NamedList>> {
        self.gated(Some(CallKind::SearchPage), async {
            self.maybe_fault()?;
            if self.config.account_type == AccountType::Classic {
                return Ok(vec![]);
            }
            Ok(self.saved_search_list().into_iter().map(|(list, _)| list).collect())
        })
        .await
    }

    async fn lead_lists(&self) -> LinkedInResult<Vec<NamedList>> {
        self.gated(Some(CallKind::SearchPage), async {
            self.maybe_fault()?;
            if self.config.account_type == AccountType::Classic {
                return Ok(vec![]);
            }
            Ok(self.lead_list_list())
        })
        .await
    }

    async fn profile(&self, identifier: &str) -> LinkedInResult<Person> {
        self.gated(Some(CallKind::ProfileView), async {
            self.maybe_fault()?;
            let i = self.person_index(identifier)?;
            let actions = self.refresh().await?;
            Ok(self.population.person(i, Some(self.world(&actions).degree(i))))
        })
        .await
    }

    async fn visit_profile(&self, token: &OutboundToken, identifier: &str) -> LinkedInResult<Person> {
        self.gated(Some(CallKind::ProfileView), async {
            let i = self.person_index(identifier)?;
            let cap = self.config.visits_per_day;
            self.perform(
                token,
                SandboxActionKind::Visit,
                self.population.provider_id(i),
                |w| self.daily_cap(w, &[SandboxActionKind::Visit], cap),
                |_| (None, None, None, format!("visit-{}", token.as_str())),
            )
            .await?;
            let actions = self.refresh().await?;
            Ok(self.population.person(i, Some(self.world(&actions).degree(i))))
        })
        .await
    }

    async fn follow(&self, token: &OutboundToken, provider_id: &str) -> LinkedInResult<()> {
        self.gated(Some(CallKind::Engagement), async {
            let i = self.person_index(provider_id)?;
            let cap = self.config.other_actions_per_day;
            self.perform(
                token,
                SandboxActionKind::Follow,
                self.population.provider_id(i),
                |w| self.daily_cap(w, &[SandboxActionKind::Follow, SandboxActionKind::Reaction], cap),
                |_| (None, None, None, format!("follow-{}", token.as_str())),
            )
            .await?;
            Ok(())
        })
        .await
    }

    async fn react_to_recent_post(&self, token: &OutboundToken, provider_id: &str) -> LinkedInResult<Option<String>> {
        self.gated(Some(CallKind::Engagement), async {
            let i = self.person_index(provider_id)?;
            // About two people in three posted recently.
            let post = mix(self.config.world_seed ^ 0x9057, u64::from(i));
            if post.is_multiple_of(3) {
                return Ok(None);
            }
            let cap = self.config.other_actions_per_day;
            let action = self
                .perform(
                    token,
                    SandboxActionKind::Reaction,
                    self.population.provider_id(i),
                    |w| self.daily_cap(w, &[SandboxActionKind::Follow, SandboxActionKind::Reaction], cap),
                    |_| {
                        (
                            None,
                            None,
                            None,
                            format!("urn:li:activity:{}", 7_000_000_000_000_000_000u64 + post % 1_000_000_000_000_000),
                        )
                    },
                )
                .await?;
            Ok(Some(action.result_id))
        })
        .await
    }

    async fn send_invitation(
        &self,
        token: &OutboundToken,
        provider_id: &str,
        note: Option<&str>,
    ) -> LinkedInResult<Invitation> {
        self.gated(Some(CallKind::Invitation), async {
            if let Some(note) = note {
                too_long("invitation note", note, INVITATION_NOTE_MAX_CHARS)?;
            }
            let i = self.person_index(provider_id)?;
            let recipient = self.population.provider_id(i);
            let (per_day, per_week) = (self.config.invitations_per_day, self.config.invitations_per_week);
            let action = self
                .perform(
                    token,
                    SandboxActionKind::Invitation,
                    recipient.clone(),
                    |w| {
                        if w.degree(i) == 1 {
                            return Err(LinkedInError::AlreadyDone("already connected".into()));
                        }
                        // A pending invitation is done already; a withdrawn one blocks a new one
                        // for LinkedIn's cool-down (Unipile's `already_invited_recently`, which the
                        // connector tells apart the same way).
                        for earlier in w.journal.for_recipient(&recipient) {
                            if earlier.kind != SandboxActionKind::Invitation {
                                continue;
                            }
                            match w.withdrawn_at(earlier) {
                                None => return Err(LinkedInError::AlreadyDone("already invited recently".into())),
                                Some(at) if w.now < at.plus_millis(world::WITHDRAWAL_COOLDOWN_MS) => {
                                    return Err(LinkedInError::NotReachable(
                                        "LinkedIn refuses a new invitation to this person for now (an earlier \
                                         invitation was withdrawn)"
                                            .into(),
                                    ));
                                }
                                Some(_) => {}
                            }
                        }
                        let kinds = [SandboxActionKind::Invitation];
                        if w.count_recent(&kinds, DAY_MS) >= per_day || w.count_recent(&kinds, WEEK_MS) >= per_week {
                            return Err(LinkedInError::LimitReached(LimitKind::WeeklyInvitations));
                        }
                        Ok(())
                    },
                    |_| {
                        (
                            None,
                            note.map(str::to_owned),
                            None,
                            world::message_id(self.config.account_seed, &format!("inv-{}", token.as_str()))
                                .replacen("2-", "inv-", 1),
                        )
                    },
                )
                .await?;
            Ok(Invitation {
                invitation_id: action.result_id,
                recipient_provider_id: action.recipient_provider_id,
                note: action.text,
                sent_at: action.at,
            })
        })
        .await
    }

    async fn withdraw_invitation(&self, invitation_id: &str) -> LinkedInResult<()> {
        self.gated(Some(CallKind::Withdrawal), async {
            let invitation_id = invitation_id.trim();
            let (recipient, token) = {
                let actions = self.refresh().await?;
                let world = self.world(&actions);
                // Gone already (never sent, accepted, withdrawn before): nothing to do.
                let Some(invitation) = world.invitation(invitation_id) else { return Ok(()) };
                if world.withdrawn_at(invitation).is_some()
                    || world.acceptance_time(invitation).is_some_and(|t| t <= world.now)
                {
                    return Ok(());
                }
                (invitation.recipient_provider_id.clone(), OutboundToken::new(format!("withdraw-{invitation_id}")))
            };
            let cap = self.config.withdrawals_per_day;
            self.perform(
                &token,
                SandboxActionKind::Withdrawal,
                recipient,
                |w| self.daily_cap(w, &[SandboxActionKind::Withdrawal], cap),
                |_| (None, None, None, invitation_id.to_owned()),
            )
            .await?;
            Ok(())
        })
        .await
    }

    async fn sent_invitations(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Invitation>> {
        self.gated(Some(CallKind::RelationPoll), async {
            self.maybe_fault()?;
            let actions = self.refresh().await?;
            page_of(&self.world(&actions).pending_invitations(), cursor, 50)
        })
        .await
    }

    async fn relations(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Relation>> {
        self.gated(Some(CallKind::RelationPoll), async {
            self.maybe_fault()?;
            let actions = self.refresh().await?;
            page_of(&self.world(&actions).relations(), cursor, 100)
        })
        .await
    }

    async fn chats(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Chat>> {
        self.gated(Some(CallKind::InboxRead), async {
            self.maybe_fault()?;
            let actions = self.refresh().await?;
            page_of(&self.world(&actions).chats(), cursor, 50)
        })
        .await
    }

    async fn chat_messages(&self, chat_id: &str, cursor: Option<&str>) -> LinkedInResult<ProviderPage<ChatMessage>> {
        self.gated(Some(CallKind::InboxRead), async {
            self.maybe_fault()?;
            let actions = self.refresh().await?;
            let world = self.world(&actions);
            let person =
                *world.chat_people().get(chat_id).ok_or_else(|| LinkedInError::NotFound(format!("chat {chat_id}")))?;
            page_of(&world.messages_with(person), cursor, 50)
        })
        .await
    }

    async fn send_message(&self, token: &OutboundToken, chat_id: &str, text: &str) -> LinkedInResult<SentMessage> {
        self.gated(Some(CallKind::Message), async {
            too_long("message", text, MESSAGE_MAX_CHARS)?;
            let person = {
                let actions = self.refresh().await?;
                let person = self.world(&actions).chat_person(chat_id);
                // A repeated token answers the first result even if the chat changed since.
                match (person, actions.by_token(token.as_str())) {
                    (_, Some(existing)) => return Ok(self.sent(existing)),
                    (Some(p), None) => p,
                    (None, None) => return Err(LinkedInError::NotFound(format!("chat {chat_id}"))),
                }
            };
            let cap = self.config.messages_per_day;
            let action = self
                .perform(
                    token,
                    SandboxActionKind::Message,
                    self.population.provider_id(person),
                    |w| self.daily_cap(w, &[SandboxActionKind::Message, SandboxActionKind::StartChat], cap),
                    |_| {
                        let id = world::message_id(self.config.account_seed, &format!("msg-{}", token.as_str()));
                        (Some(chat_id.to_owned()), Some(text.to_owned()), None, id)
                    },
                )
                .await?;
            Ok(self.sent(&action))
        })
        .await
    }

    async fn start_chat(&self, token: &OutboundToken, provider_id: &str, text: &str) -> LinkedInResult<SentMessage> {
        self.gated(Some(CallKind::Message), async {
            too_long("message", text, MESSAGE_MAX_CHARS)?;
            let i = self.person_index(provider_id)?;
            let cap = self.config.messages_per_day;
            let action = self
                .perform(
                    token,
                    SandboxActionKind::StartChat,
                    self.population.provider_id(i),
                    |w| {
                        if w.degree(i) != 1 {
                            return Err(LinkedInError::NotConnected);
                        }
                        self.daily_cap(w, &[SandboxActionKind::Message, SandboxActionKind::StartChat], cap)
                    },
                    |_| {
                        let id = world::message_id(self.config.account_seed, &format!("msg-{}", token.as_str()));
                        (Some(world::chat_id_for(&self.config, i)), Some(text.to_owned()), None, id)
                    },
                )
                .await?;
            Ok(self.sent(&action))
        })
        .await
    }

    async fn send_inmail(
        &self,
        token: &OutboundToken,
        provider_id: &str,
        subject: &str,
        body: &str,
    ) -> LinkedInResult<SentMessage> {
        self.gated(Some(CallKind::Message), async {
            too_long("InMail subject", subject, INMAIL_SUBJECT_MAX_CHARS)?;
            too_long("InMail body", body, INMAIL_BODY_MAX_CHARS)?;
            let i = self.person_index(provider_id)?;
            let (credits, per_day) = (self.config.inmail_credits, self.config.inmails_per_day);
            let refuses = mix(self.config.world_seed ^ 0x1A11, u64::from(i)).is_multiple_of(20);
            let action = self
                .perform(
                    token,
                    SandboxActionKind::InMail,
                    self.population.provider_id(i),
                    |w| {
                        if refuses {
                            return Err(LinkedInError::NotReachable("the recipient does not accept InMail".into()));
                        }
                        if w.count_recent(&[SandboxActionKind::InMail], i64::MAX / 4) >= credits {
                            return Err(LinkedInError::LimitReached(LimitKind::InMailCredits));
                        }
                        self.daily_cap(w, &[SandboxActionKind::InMail], per_day)
                    },
                    |_| {
                        let id = world::message_id(self.config.account_seed, &format!("inmail-{}", token.as_str()));
                        (Some(world::chat_id_for(&self.config, i)), Some(body.to_owned()), Some(subject.to_owned()), id)
                    },
                )
                .await?;
            Ok(self.sent(&action))
        })
        .await
    }

    async fn inmail_credits(&self) -> LinkedInResult<Option<u32>> {
        self.gated(None, async {
            self.maybe_fault()?;
            let actions = self.refresh().await?;
            let used = actions.count_between(&[SandboxActionKind::InMail], i64::MIN, i64::MAX);
            Ok(Some(self.config.inmail_credits.saturating_sub(used)))
        })
        .await
    }

    async fn find_email(&self, provider_id: &str) -> LinkedInResult<Option<String>> {
        self.gated(Some(CallKind::ProfileView), async {
            self.maybe_fault()?;
            let i = self.person_index(provider_id)?;
            Ok(self.population.email(i, self.config.email_find_rate))
        })
        .await
    }

    async fn recent_activity(&self, provider_id: &str) -> LinkedInResult<Vec<ActivityItem>> {
        self.gated(Some(CallKind::ProfileView), async {
            self.maybe_fault()?;
            let i = self.person_index(provider_id)?;
            Ok(activity::recent(&self.population, self.config.world_seed, i, self.clock.now()))
        })
        .await
    }

    /// The sandbox honours tokens, so it answers by token, exactly.
    async fn reconcile(
        &self,
        token: &OutboundToken,
        _attempt: &OutboundAttempt,
        _started_at: Timestamp,
    ) -> LinkedInResult<Vec<Trace>> {
        self.gated(None, async {
            let actions = self.refresh().await?;
            Ok(match actions.by_token(token.as_str()) {
                Some(action) if action.kind.delivers_message() => vec![Trace::Message(self.sent(action))],
                Some(action) if action.kind == SandboxActionKind::Invitation => {
                    vec![Trace::Invitation(Some(action.result_id.clone()))]
                }
                Some(_) => vec![Trace::Performed],
                None => Vec::new(),
            })
        })
        .await
    }
}

fn sandbox_name(seed: u64, part: u64) -> String {
    use population::NAME_PARTS;
    let list = NAME_PARTS[part as usize];
    list[(mix_str(seed, "own-name").rotate_left(part as u32 * 17) % list.len() as u64) as usize].to_owned()
}
