//! The inbox sync on both backends, with a manual clock and a sandbox account.

use crate::world::Setup;
use sonarly_app::inbox::{EventOutcome, handle_event};
use sonarly_domain::Timestamp;
use sonarly_domain::clock::Clock;
use sonarly_domain::linkedin_account::AccountStatus;
use sonarly_domain::page::PageRequest;
use sonarly_domain::prospecting::{Prospect, person_id_for};
use sonarly_engine::Engine;
use sonarly_linkedin::sandbox::SandboxConfig;
use sonarly_linkedin::{
    Chat, ChatMessage, LinkedInError, LinkedInResult, OutboundToken, ProviderEvent, ProviderPage, SentMessage,
    SharedLinkedIn,
};
use sonarly_store::{ChatRef, INBOX_SYNC_WORK, NewMessage};
use sonarly_testkit::{TestBackend, both_backends};
use std::sync::Arc;

const HOUR_MS: i64 = 3_600_000;

struct World(crate::world::World);

impl std::ops::Deref for World {
    type Target = crate::world::World;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl World {
    async fn new(backend: TestBackend, config: SandboxConfig) -> Self {
        let setup = Setup { sandbox: sonarly_testkit::pinned_sandbox(config), ..Setup::default() };
        Self(crate::world::World::new(backend, setup).await)
    }

    fn engine(&self) -> Engine {
        self.0.engine("test")
    }

    fn provider(&self) -> SharedLinkedIn {
        self.registry.provider(&self.account).unwrap()
    }

    async fn messages(&self) -> i64 {
        self.store().count_account_messages(&self.account.id).await.unwrap()
    }

    /// Every chat the provider shows, newest first.
    async fn provider_chats(&self) -> Vec<Chat> {
        let provider = self.provider();
        let (mut chats, mut cursor) = (Vec::new(), None);
        loop {
            let page = provider.chats(cursor.as_deref()).await.unwrap();
            chats.extend(page.items);
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return chats,
            }
        }
    }

    async fn provider_messages(&self, chat_id: &str) -> Vec<ChatMessage> {
        let provider = self.provider();
        let (mut messages, mut cursor) = (Vec::new(), None);
        loop {
            let page = provider.chat_messages(chat_id, cursor.as_deref()).await.unwrap();
            messages.extend(page.items);
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return messages,
            }
        }
    }

    async fn prospect(&self, provider_id: &str, member_id: Option<&str>, degree: Option<i64>) -> String {
        let now = self.clock.now();
        let prospect = Prospect {
            id: sonarly_domain::id::new_hex_id(now),
            group_id: self.group.id.clone(),
            provider_id: provider_id.to_owned(),
            member_id: member_id.map(str::to_owned),
            person_id: person_id_for(member_id.unwrap_or(provider_id)),
            name: "Someone".into(),
            connection_degree: degree,
            created_at: now,
            updated_at: now,
            ..Default::default()
        };
        self.store().upsert_prospects(&[prospect], None).await.unwrap().remove(0)
    }
}

fn replies_always() -> SandboxConfig {
    SandboxConfig { reply_rate: 1.0, ..SandboxConfig::default() }
}

both_backends!(the_first_sync_backfills_every_conversation, |backend| async move {
    let w = World::new(backend, replies_always()).await;
    let chats = w.provider_chats().await;
    assert!(!chats.is_empty(), "the sandbox account has background conversations");
    let mut expected = 0;
    for chat in &chats {
        expected += w.provider_messages(&chat.chat_id).await.len() as i64;
    }

    w.engine().run_until_idle().await;
    let stored = w.store().account_conversations(&w.account.id).await.unwrap();
    assert_eq!(stored.len(), chats.len());
    assert_eq!(w.messages().await, expected);
    for chat in &chats {
        let c = w.store().conversation_by_provider_chat(&w.account.id, &chat.chat_id).await.unwrap().unwrap();
        assert_eq!(c.group_id, w.group.id);
        assert_eq!(c.name, chat.name);
        assert_eq!(c.participant_provider_id, chat.attendee_provider_id);
        assert_eq!(c.unread_count, i64::from(chat.unread_count));
        assert_eq!(c.last_message_at, chat.last_activity_at);
        assert!(sonarly_domain::id::is_hex_id(&c.id));
    }
    let state = w.store().inbox_sync_state(&w.account.id).await.unwrap().unwrap();
    assert!(state.backfilled);
    assert_eq!(state.last_activity_at, chats[0].last_activity_at);
    assert!(state.last_relation_at.is_some());

    // Attachments and sender flags come through.
    let page = w.store().list_messages(&w.group.id, None, &PageRequest::first(100)).await.unwrap();
    assert_eq!(page.len() as i64, expected);
    assert!(page.iter().any(|m| m.is_sender) && page.iter().any(|m| !m.is_sender));
    assert!(page.windows(2).all(|p| (p[0].sent_at, &p[0].id) > (p[1].sent_at, &p[1].id)), "newest first");
    assert!(
        page.iter()
            .all(|m| m.account_type == sonarly_linkedin::AccountType::Classic && m.attachments_json.starts_with('['))
    );

    // Not due again within the interval; a second pass after it stores nothing new.
    assert!(!w.engine().step().await, "the next sync waits for the interval");
    w.clock.advance_millis(61_000); // one to two intervals (randomised)
    assert!(w.engine().step().await);
    w.engine().run_until_idle().await;
    assert_eq!(w.messages().await, expected);
    assert_eq!(w.store().account_conversations(&w.account.id).await.unwrap().len(), chats.len());
    assert_eq!(w.store().count_work(INBOX_SYNC_WORK).await.unwrap(), 1, "one row per account, kept");
});

both_backends!(a_reply_to_a_sent_message_is_stored_exactly_once, |backend| async move {
    let w = World::new(backend, replies_always()).await;
    w.engine().run_until_idle().await;
    let before = w.messages().await;
    let chat = w.provider_chats().await.remove(0);

    // The outbound scheduler sends and records the message at once.
    let sent =
        w.provider().send_message(&OutboundToken::new("response-1"), &chat.chat_id, "Shall we talk?").await.unwrap();
    let sent_id = sent.message_id.clone().unwrap();
    let (conversation_id, message_id) = w
        .store()
        .record_outbound_message(
            &w.account.id,
            &w.group.id,
            &ChatRef {
                provider_chat_id: sent.chat_id.clone(),
                participant_provider_id: chat.attendee_provider_id.clone(),
                ..Default::default()
            },
            &NewMessage {
                provider_message_id: sent_id.clone(),
                sender_provider_id: w.account.id.clone(),
                is_sender: true,
                body: "Shall we talk?".into(),
                sent_at: sent.sent_at,
                parent_message_id: None,
                attachments_json: "[]".into(),
                prospect_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(w.messages().await, before + 1);
    let conversation = w.store().get_conversation(&w.group.id, &conversation_id).await.unwrap().unwrap();
    assert_eq!(conversation.provider_chat_id, chat.chat_id, "the existing conversation");
    assert_eq!(conversation.unread_count, 0, "writing in a thread reads it");

    // The reply arrives within 48 hours.
    w.clock.advance_millis(49 * HOUR_MS);
    w.engine().run_until_idle().await;
    assert_eq!(w.messages().await, before + 2, "the reply, and not the sent message again");
    let page = w.store().list_messages(&w.group.id, Some(&conversation_id), &PageRequest::first(10)).await.unwrap();
    let (reply, ours) = (&page[0], &page[1]);
    assert!(!reply.is_sender);
    assert_eq!(reply.sender_id, chat.attendee_provider_id.clone().unwrap());
    assert_eq!(reply.parent_message_id.as_deref(), Some(message_id.as_str()), "threads to our message");
    assert_eq!(reply.parent_provider_message_id.as_deref(), Some(sent_id.as_str()));
    assert_eq!(reply.unread_count, 1);
    assert_eq!((ours.id.as_str(), ours.is_sender, ours.text.as_str()), (message_id.as_str(), true, "Shall we talk?"));

    // Again: nothing new, by polling or by the same event pushed again.
    w.clock.advance_millis(31_000);
    w.engine().run_until_idle().await;
    assert_eq!(w.messages().await, before + 2);
    let replayed = w.provider_messages(&chat.chat_id).await.remove(0);
    let outcome =
        handle_event(w.store(), &w.clock, &w.account, &ProviderEvent::MessageReceived(replayed)).await.unwrap();
    assert_eq!(
        outcome,
        EventOutcome::Message { conversation_id: conversation_id.clone(), message_id: reply.id.clone(), is_new: false }
    );
    assert_eq!(w.messages().await, before + 2);
});

both_backends!(messages_from_prospects_are_linked_and_connections_recorded, |backend| async move {
    let w = World::new(backend, replies_always()).await;
    let chats = w.provider_chats().await;
    let linked = chats[0].attendee_provider_id.clone().unwrap();
    let ambiguous = chats[1].attendee_provider_id.clone().unwrap();
    let prospect_id = w.prospect(&linked, Some(&linked), Some(1)).await;
    // Two prospects answer to the same member id: never guessed.
    w.prospect(&ambiguous, None, None).await;
    w.prospect("ACwAAAsalesnav", Some(&ambiguous), None).await;
    // A connection the prospect list does not know yet as one.
    let relation = w.provider().relations(None).await.unwrap().items.remove(0);
    let connected = w.prospect(&relation.provider_id, None, Some(2)).await;

    w.engine().run_until_idle().await;
    let c = w.store().conversation_by_provider_chat(&w.account.id, &chats[0].chat_id).await.unwrap().unwrap();
    assert_eq!(c.prospect_id.as_deref(), Some(prospect_id.as_str()));
    let messages = w.store().list_messages(&w.group.id, Some(&c.id), &PageRequest::first(50)).await.unwrap();
    assert!(!messages.is_empty());
    assert!(messages.iter().all(|m| m.prospect_id.as_deref() == Some(prospect_id.as_str())), "{messages:?}");
    assert!(messages.iter().all(|m| m.participant_provider_id.as_deref() == Some(linked.as_str())));
    let other = w.store().conversation_by_provider_chat(&w.account.id, &chats[1].chat_id).await.unwrap().unwrap();
    assert_eq!(other.prospect_id, None);
    let degree = w.store().get_prospect(&w.group.id, &connected).await.unwrap().unwrap().connection_degree;
    assert_eq!(degree, Some(1), "the new relation went through the event path");

    // A webhook-style event from a prospect in a new chat is linked too.
    let newcomer = w.prospect("ACoAAAnewcomer", None, None).await;
    let outcome = handle_event(
        w.store(),
        &w.clock,
        &w.account,
        &ProviderEvent::MessageReceived(ChatMessage {
            message_id: "2-newcomer-1".into(),
            chat_id: "2-newchat".into(),
            sender_provider_id: "ACoAAAnewcomer".into(),
            is_sender: false,
            text: "Hi!".into(),
            sent_at: w.clock.now(),
            attachments: vec![],
            parent_message_id: None,
        }),
    )
    .await
    .unwrap();
    let EventOutcome::Message { conversation_id, is_new: true, .. } = outcome else { panic!("{outcome:?}") };
    let c = w.store().get_conversation(&w.group.id, &conversation_id).await.unwrap().unwrap();
    assert_eq!((c.prospect_id.as_deref(), c.unread_count), (Some(newcomer.as_str()), 1));
});

both_backends!(status_faults_and_leases, |backend| async move {
    let w = World::new(backend, SandboxConfig { fault_rate: 1.0, ..replies_always() }).await;
    // Transient failures: logged, nothing recorded, retried after the interval.
    assert!(w.engine().step().await);
    assert_eq!(w.messages().await, 0);
    assert!(w.store().inbox_sync_state(&w.account.id).await.unwrap().is_none());
    assert!(!w.engine().step().await, "waits for the next interval");
    // Webhooks silent: the next pass comes one to two intervals later (randomised, never a fixed beat).
    let next = w.store().next_work_at(INBOX_SYNC_WORK, w.clock.now()).await.unwrap().unwrap();
    assert!(next >= w.clock.now().plus_millis(30_000) && next <= w.clock.now().plus_millis(60_000), "{next}");

    // Another instance holding the row keeps this one off it.
    w.clock.set(next);
    let now = w.clock.now();
    let held = w.store().claim_work(INBOX_SYNC_WORK, "other", now, now.plus_millis(60_000), 1).await.unwrap();
    assert_eq!(held.len(), 1);
    assert!(!w.engine().step().await, "the lease protects the account");

    // The provider says the owner must act (credentials): the account stops syncing.
    let event = ProviderEvent::AccountStatus { status: "CREDENTIALS".into(), message: None };
    let outcome = handle_event(w.store(), &w.clock, &w.account, &event).await.unwrap();
    assert_eq!(outcome, EventOutcome::AccountStatus { status: AccountStatus::NeedsAction });
    let account = w.store().system().linkedin_account(&w.account.id).await.unwrap().unwrap();
    assert_eq!(account.status, AccountStatus::NeedsAction);
    w.clock.advance_millis(61_000);
    assert!(w.engine().step().await, "the expired lease is claimed again");
    assert!(w.store().inbox_sync_state(&w.account.id).await.unwrap().is_none(), "a disconnected account is skipped");
});

/// The sandbox, except that one chat's messages answer as Unipile answers a
/// chat it no longer has (404, read as `NotReachable`).
struct OneChatGone {
    inner: SharedLinkedIn,
    gone: String,
}

#[async_trait::async_trait]
impl sonarly_linkedin::LinkedIn for OneChatGone {
    async fn own_profile(&self) -> LinkedInResult<sonarly_linkedin::OwnProfile> {
        self.inner.own_profile().await
    }
    async fn seat_health(&self) -> LinkedInResult<sonarly_linkedin::SeatHealth> {
        self.inner.seat_health().await
    }
    async fn search_people(
        &self,
        source: &sonarly_linkedin::PeopleSource,
        cursor: Option<&str>,
        page_size: u32,
    ) -> LinkedInResult<ProviderPage<sonarly_linkedin::Person>> {
        self.inner.search_people(source, cursor, page_size).await
    }
    async fn saved_searches(&self) -> LinkedInResult<Vec<sonarly_linkedin::NamedList>> {
        self.inner.saved_searches().await
    }
    async fn lead_lists(&self) -> LinkedInResult<Vec<sonarly_linkedin::NamedList>> {
        self.inner.lead_lists().await
    }
    async fn profile(&self, identifier: &str) -> LinkedInResult<sonarly_linkedin::Person> {
        self.inner.profile(identifier).await
    }
    async fn visit_profile(&self, token: &OutboundToken, identifier: &str) -> LinkedInResult<sonarly_linkedin::Person> {
        self.inner.visit_profile(token, identifier).await
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
    ) -> LinkedInResult<sonarly_linkedin::Invitation> {
        self.inner.send_invitation(token, provider_id, note).await
    }
    async fn withdraw_invitation(&self, invitation_id: &str) -> LinkedInResult<()> {
        self.inner.withdraw_invitation(invitation_id).await
    }
    async fn sent_invitations(
        &self,
        cursor: Option<&str>,
    ) -> LinkedInResult<ProviderPage<sonarly_linkedin::Invitation>> {
        self.inner.sent_invitations(cursor).await
    }
    async fn relations(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<sonarly_linkedin::Relation>> {
        self.inner.relations(cursor).await
    }
    async fn chats(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Chat>> {
        self.inner.chats(cursor).await
    }
    async fn chat_messages(&self, chat_id: &str, cursor: Option<&str>) -> LinkedInResult<ProviderPage<ChatMessage>> {
        if chat_id == self.gone {
            return Err(LinkedInError::NotReachable(format!("Unipile 404 errors/resource_not_found: chat {chat_id}")));
        }
        self.inner.chat_messages(chat_id, cursor).await
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
        self.inner.find_email(provider_id).await
    }
    async fn recent_activity(&self, provider_id: &str) -> LinkedInResult<Vec<sonarly_linkedin::ActivityItem>> {
        self.inner.recent_activity(provider_id).await
    }
    async fn reconcile(
        &self,
        token: &OutboundToken,
        attempt: &sonarly_linkedin::OutboundAttempt,
        started_at: Timestamp,
    ) -> LinkedInResult<Vec<sonarly_linkedin::Trace>> {
        self.inner.reconcile(token, attempt, started_at).await
    }
}

both_backends!(a_chat_the_provider_no_longer_has_is_skipped_and_the_pass_goes_on, |backend| async move {
    let w = World::new(backend, replies_always()).await;
    let chats = w.provider_chats().await;
    assert!(chats.len() >= 2, "the sandbox account has several conversations");
    let gone = chats[0].chat_id.clone();
    let mut expected = 0;
    for chat in &chats[1..] {
        expected += w.provider_messages(&chat.chat_id).await.len() as i64;
    }
    w.registry.set_provider(&w.account.id, Arc::new(OneChatGone { inner: w.provider(), gone: gone.clone() }));

    w.engine().run_until_idle().await;
    assert_eq!(w.messages().await, expected, "every other chat's messages are stored");
    let state = w.store().inbox_sync_state(&w.account.id).await.unwrap().unwrap();
    assert!(state.backfilled, "the pass completed");
    assert_eq!(
        w.store().system().linkedin_account(&w.account.id).await.unwrap().unwrap().status,
        AccountStatus::Connected
    );
});
