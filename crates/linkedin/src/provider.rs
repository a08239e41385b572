//! The provider trait.

use crate::error::LinkedInResult;
use crate::types::*;
use async_trait::async_trait;
use std::sync::Arc;

/// A caller-chosen token identifying one outbound action. The same token
/// always means the same action: a provider that honours tokens (the sandbox)
/// never performs it twice; for one that cannot (Unipile), the engine records
/// each attempt before the call and, when an attempt's outcome is unknown,
/// waits for it to settle and reconciles with [`LinkedIn::reconcile`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OutboundToken(pub String);

impl OutboundToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One connected LinkedIn account.
#[async_trait]
pub trait LinkedIn: Send + Sync {
    /// The connected account's own profile.
    async fn own_profile(&self) -> LinkedInResult<OwnProfile>;

    /// The seat's state as the provider sees it (asked while the seat is not
    /// connected, to learn when it may act again). Cheap: no LinkedIn call.
    async fn seat_health(&self) -> LinkedInResult<SeatHealth>;

    /// People from a search URL, saved search, lead list or post, one page at
    /// a time (`page_size` is capped by the provider: 50 classic, 100 Sales Navigator).
    async fn search_people(
        &self,
        source: &PeopleSource,
        cursor: Option<&str>,
        page_size: u32,
    ) -> LinkedInResult<ProviderPage<Person>>;

    /// Sales Navigator saved searches (empty without Sales Navigator).
    async fn saved_searches(&self) -> LinkedInResult<Vec<NamedList>>;

    /// Sales Navigator lead lists (empty without Sales Navigator).
    async fn lead_lists(&self) -> LinkedInResult<Vec<NamedList>>;

    /// A profile by member id (`ACoAA…`) or public identifier, without notifying them.
    async fn profile(&self, identifier: &str) -> LinkedInResult<Person>;

    /// Visits a profile (the member may see the visit).
    async fn visit_profile(&self, token: &OutboundToken, identifier: &str) -> LinkedInResult<Person>;

    /// Follows a member.
    async fn follow(&self, token: &OutboundToken, provider_id: &str) -> LinkedInResult<()>;

    /// Likes the member's most recent post; `None` when they have no recent post.
    async fn react_to_recent_post(&self, token: &OutboundToken, provider_id: &str) -> LinkedInResult<Option<String>>;

    /// Sends a connection request with an optional note.
    async fn send_invitation(
        &self,
        token: &OutboundToken,
        provider_id: &str,
        note: Option<&str>,
    ) -> LinkedInResult<Invitation>;

    /// Withdraws a pending invitation we sent (LinkedIn's "Withdraw"). Idempotent: an
    /// invitation already gone (accepted, declined, withdrawn before) is success, so it
    /// needs no [`OutboundToken`]; retrying it is always safe. After a withdrawal LinkedIn
    /// refuses a new invitation to the same person for about three weeks.
    async fn withdraw_invitation(&self, invitation_id: &str) -> LinkedInResult<()>;

    /// Pending sent invitations.
    async fn sent_invitations(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Invitation>>;

    /// First-degree connections, newest first (acceptances show up here).
    async fn relations(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Relation>>;

    /// Conversations, most recent activity first.
    async fn chats(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Chat>>;

    /// Messages of one conversation, newest first.
    async fn chat_messages(&self, chat_id: &str, cursor: Option<&str>) -> LinkedInResult<ProviderPage<ChatMessage>>;

    /// Sends a message in an existing conversation.
    async fn send_message(&self, token: &OutboundToken, chat_id: &str, text: &str) -> LinkedInResult<SentMessage>;

    /// Starts a conversation with a first-degree connection.
    async fn start_chat(&self, token: &OutboundToken, provider_id: &str, text: &str) -> LinkedInResult<SentMessage>;

    /// Sends an InMail (needs credits).
    async fn send_inmail(
        &self,
        token: &OutboundToken,
        provider_id: &str,
        subject: &str,
        body: &str,
    ) -> LinkedInResult<SentMessage>;

    /// InMail credits left, when the provider says.
    async fn inmail_credits(&self) -> LinkedInResult<Option<u32>>;

    /// Finds a professional email for a member (enrichment); `None` when not found.
    async fn find_email(&self, provider_id: &str) -> LinkedInResult<Option<String>>;

    /// What a member (member id or public identifier) did recently, newest
    /// first: posts and comments they wrote, job changes, and their company's
    /// job postings, news and funding rounds, as far as the provider can see.
    async fn recent_activity(&self, provider_id: &str) -> LinkedInResult<Vec<ActivityItem>>;

    /// After an attempt whose outcome is unknown: what the provider shows that
    /// it may have produced, oldest first (empty: no trace of it). Only what
    /// an attempt started at `started_at` can have produced counts: own
    /// messages with the attempt's text sent since then, the pending
    /// invitation to the recipient. Never a judgement by text alone: the
    /// engine attributes one trace to the attempt, and a trace another action
    /// holds is not this attempt's.
    async fn reconcile(
        &self,
        token: &OutboundToken,
        attempt: &OutboundAttempt,
        started_at: sonarly_domain::Timestamp,
    ) -> LinkedInResult<Vec<Trace>>;
}

pub type SharedLinkedIn = Arc<dyn LinkedIn>;
