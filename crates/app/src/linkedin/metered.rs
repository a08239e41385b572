//! Counts every call a seat's provider makes (`sonarly_provider_calls_total`,
//! see [`crate::metrics`]): which provider, which kind of call, and how it
//! ended (`ok` or the failure's reason code). It wraps the connector under the
//! governor, so a read the governor refused (no budget) is no call.

use async_trait::async_trait;
use sonarly_domain::Timestamp;
use sonarly_domain::linkedin_account::ProviderKind;
use sonarly_linkedin::*;
use std::sync::Arc;

/// A connector whose calls are counted.
pub(crate) struct Metered {
    inner: SharedLinkedIn,
    provider: &'static str,
}

impl Metered {
    pub(crate) fn wrap(inner: SharedLinkedIn, provider: ProviderKind) -> SharedLinkedIn {
        Arc::new(Self { inner, provider: provider.as_str() })
    }

    async fn call<T>(&self, kind: &'static str, call: impl Future<Output = LinkedInResult<T>>) -> LinkedInResult<T> {
        let result = call.await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.reason_code(),
        };
        crate::metrics::provider_call(self.provider, kind, outcome);
        result
    }
}

#[async_trait]
impl LinkedIn for Metered {
    async fn own_profile(&self) -> LinkedInResult<OwnProfile> {
        self.call("own_profile", self.inner.own_profile()).await
    }

    async fn seat_health(&self) -> LinkedInResult<SeatHealth> {
        self.call("seat_health", self.inner.seat_health()).await
    }

    async fn search_people(
        &self,
        source: &PeopleSource,
        cursor: Option<&str>,
        page_size: u32,
    ) -> LinkedInResult<ProviderPage<Person>> {
        self.call("search", self.inner.search_people(source, cursor, page_size)).await
    }

    async fn saved_searches(&self) -> LinkedInResult<Vec<NamedList>> {
        self.call("saved_searches", self.inner.saved_searches()).await
    }

    async fn lead_lists(&self) -> LinkedInResult<Vec<NamedList>> {
        self.call("lead_lists", self.inner.lead_lists()).await
    }

    async fn profile(&self, identifier: &str) -> LinkedInResult<Person> {
        self.call("profile", self.inner.profile(identifier)).await
    }

    async fn visit_profile(&self, token: &OutboundToken, identifier: &str) -> LinkedInResult<Person> {
        self.call("visit", self.inner.visit_profile(token, identifier)).await
    }

    async fn follow(&self, token: &OutboundToken, provider_id: &str) -> LinkedInResult<()> {
        self.call("follow", self.inner.follow(token, provider_id)).await
    }

    async fn react_to_recent_post(&self, token: &OutboundToken, provider_id: &str) -> LinkedInResult<Option<String>> {
        self.call("reaction", self.inner.react_to_recent_post(token, provider_id)).await
    }

    async fn send_invitation(
        &self,
        token: &OutboundToken,
        provider_id: &str,
        note: Option<&str>,
    ) -> LinkedInResult<Invitation> {
        self.call("invitation", self.inner.send_invitation(token, provider_id, note)).await
    }

    async fn withdraw_invitation(&self, invitation_id: &str) -> LinkedInResult<()> {
        self.call("withdrawal", self.inner.withdraw_invitation(invitation_id)).await
    }

    async fn sent_invitations(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Invitation>> {
        self.call("sent_invitations", self.inner.sent_invitations(cursor)).await
    }

    async fn relations(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Relation>> {
        self.call("relations", self.inner.relations(cursor)).await
    }

    async fn chats(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Chat>> {
        self.call("chats", self.inner.chats(cursor)).await
    }

    async fn chat_messages(&self, chat_id: &str, cursor: Option<&str>) -> LinkedInResult<ProviderPage<ChatMessage>> {
        self.call("chat_messages", self.inner.chat_messages(chat_id, cursor)).await
    }

    async fn send_message(&self, token: &OutboundToken, chat_id: &str, text: &str) -> LinkedInResult<SentMessage> {
        self.call("message", self.inner.send_message(token, chat_id, text)).await
    }

    async fn start_chat(&self, token: &OutboundToken, provider_id: &str, text: &str) -> LinkedInResult<SentMessage> {
        self.call("start_chat", self.inner.start_chat(token, provider_id, text)).await
    }

    async fn send_inmail(
        &self,
        token: &OutboundToken,
        provider_id: &str,
        subject: &str,
        body: &str,
    ) -> LinkedInResult<SentMessage> {
        self.call("inmail", self.inner.send_inmail(token, provider_id, subject, body)).await
    }

    async fn inmail_credits(&self) -> LinkedInResult<Option<u32>> {
        self.call("inmail_credits", self.inner.inmail_credits()).await
    }

    async fn find_email(&self, provider_id: &str) -> LinkedInResult<Option<String>> {
        self.call("find_email", self.inner.find_email(provider_id)).await
    }

    async fn recent_activity(&self, provider_id: &str) -> LinkedInResult<Vec<ActivityItem>> {
        self.call("recent_activity", self.inner.recent_activity(provider_id)).await
    }

    async fn reconcile(
        &self,
        token: &OutboundToken,
        attempt: &OutboundAttempt,
        started_at: Timestamp,
    ) -> LinkedInResult<Vec<Trace>> {
        self.call("reconcile", self.inner.reconcile(token, attempt, started_at)).await
    }
}
