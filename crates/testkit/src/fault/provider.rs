//! The in-process front door: a [`LinkedIn`] over a [`FaultyNetwork`] on a
//! manual clock. A slow call moves the clock forward as it "takes" its time;
//! a call slower than the client timeout moves it by the timeout, answers a
//! timeout, and delivers when the provider gets to it.

use super::network::{ChatRec, Delivery, DeliveryKind, FaultyNetwork, MsgRec, Refusal};
use super::{Failure, Fault};
use async_trait::async_trait;
use sonarly_domain::Timestamp;
use sonarly_domain::clock::ManualClock;
use sonarly_linkedin::*;

/// What the Unipile connector tolerates between its clock and LinkedIn's when reading back.
const RECONCILE_SKEW_MS: i64 = 30_000;

/// The in-process fault-injecting provider for one account.
#[derive(Clone)]
pub struct FaultyLinkedIn {
    net: FaultyNetwork,
    clock: ManualClock,
    client_timeout_ms: i64,
}

/// Counts a call as stuck while it lives (held, or hung until cancelled).
struct Stuck<'a>(&'a FaultyNetwork);

impl<'a> Stuck<'a> {
    fn enter(net: &'a FaultyNetwork) -> Self {
        net.stuck_enter();
        Self(net)
    }
}

impl Drop for Stuck<'_> {
    fn drop(&mut self) {
        self.0.stuck_leave();
    }
}

fn refused(r: Refusal) -> LinkedInError {
    match r {
        Refusal::NotConnected => LinkedInError::NotConnected,
        Refusal::NotReachable(m) => LinkedInError::NotReachable(m),
        Refusal::NotFound(m) => LinkedInError::NotFound(m),
        Refusal::AlreadyDone(m) => LinkedInError::AlreadyDone(m),
    }
}

fn chat_of(chat: &ChatRec, last: Timestamp) -> Chat {
    Chat {
        chat_id: chat.thread_id.clone(),
        name: None,
        attendee_provider_id: Some(chat.attendee.clone()),
        unread_count: 0,
        last_activity_at: Some(last),
        is_inmail: chat.is_inmail,
    }
}

fn message_of(m: &MsgRec) -> ChatMessage {
    ChatMessage {
        message_id: m.id.clone(),
        chat_id: m.thread_id.clone(),
        sender_provider_id: m.sender.clone(),
        is_sender: m.is_sender,
        text: m.text.clone(),
        sent_at: m.at,
        attachments: Vec::new(),
        parent_message_id: None,
    }
}

fn sent_of(d: &Delivery) -> SentMessage {
    SentMessage {
        chat_id: d.chat_id.clone().unwrap_or_default(),
        message_id: Some(d.provider_id.clone()),
        sent_at: d.at,
    }
}

fn one_page<T>(items: Vec<T>) -> ProviderPage<T> {
    let total = Some(items.len() as u32);
    ProviderPage { items, cursor: None, total }
}

impl FaultyLinkedIn {
    /// `clock` must be the clock the network was built with.
    pub fn new(net: FaultyNetwork, clock: ManualClock) -> Self {
        Self { net, clock, client_timeout_ms: 30_000 }
    }

    /// How long the simulated client waits for an answer (30 s, like the Unipile client, unless told).
    pub fn with_client_timeout(mut self, ms: i64) -> Self {
        self.client_timeout_ms = ms;
        self
    }

    pub fn network(&self) -> &FaultyNetwork {
        &self.net
    }

    fn now(&self) -> Timestamp {
        self.net.now()
    }

    fn failure(&self, failure: Failure) -> LinkedInError {
        match failure {
            Failure::Status(429) => LinkedInError::RateLimited { retry_after: None },
            Failure::Status(status) => LinkedInError::Transient(format!("faulty provider: HTTP {status}")),
            Failure::Reset => LinkedInError::Transient("faulty provider: connection reset".into()),
            Failure::Timeout => {
                self.clock.advance_millis(self.client_timeout_ms);
                LinkedInError::Transient("faulty provider: request timed out".into())
            }
        }
    }

    /// One write under the next fault; `deliver` performs it at the given time.
    async fn write<T>(&self, text: Option<&str>, deliver: impl FnOnce(Timestamp) -> T) -> LinkedInResult<T> {
        match self.net.next_fault(text) {
            Fault::None => Ok(deliver(self.now())),
            Fault::FailBefore(f) => Err(self.failure(f)),
            Fault::DeliverThenFail(f) => {
                deliver(self.now());
                Err(self.failure(f))
            }
            Fault::Slow(ms) if ms <= self.client_timeout_ms => {
                self.clock.advance_millis(ms);
                Ok(deliver(self.now()))
            }
            Fault::Slow(ms) => {
                deliver(self.now().plus_millis(ms));
                Err(self.failure(Failure::Timeout))
            }
            Fault::Hang { deliver: delivered } => {
                if delivered {
                    deliver(self.now());
                }
                let _stuck = Stuck::enter(&self.net);
                std::future::pending::<()>().await;
                unreachable!("a hung call never answers")
            }
            Fault::Hold => {
                {
                    let _stuck = Stuck::enter(&self.net);
                    self.net.wait_release().await;
                }
                Ok(deliver(self.now()))
            }
        }
    }

    fn person(&self, identifier: &str) -> LinkedInResult<Person> {
        let (m, _) = self
            .net
            .member(identifier)
            .ok_or_else(|| LinkedInError::NotReachable(format!("no LinkedIn member {identifier}")))?;
        Ok(Person {
            provider_id: m.provider_id.clone(),
            public_identifier: m.public_identifier.clone(),
            profile_url: format!("https://www.linkedin.com/in/{}", m.public_identifier),
            first_name: m.first_name.clone(),
            last_name: m.last_name.clone(),
            headline: None,
            title: Some("Engineer".into()),
            company: None,
            location: None,
            about: None,
            photo_url: None,
            connection_degree: Some(if m.connected { 1 } else { 2 }),
        })
    }

    /// Own visible messages with this text in a chat since `since`, oldest first.
    fn own_messages(&self, chat: &str, text: &str, since: Timestamp) -> Vec<Trace> {
        let messages: Vec<ChatMessage> =
            self.net.visible_messages(chat).unwrap_or_default().iter().map(message_of).collect();
        sonarly_linkedin::readback::own_messages_with(&messages, text, since)
    }

    /// The same across the visible chats with the recipient.
    fn chats_with(&self, recipient: &str, text: &str, since: Timestamp) -> Vec<Trace> {
        let Ok(recipient) = self.net.check_member(recipient) else { return Vec::new() };
        let mut found: Vec<Trace> = self
            .net
            .visible_chats()
            .into_iter()
            .filter(|(c, _)| c.attendee == recipient)
            .flat_map(|(c, _)| self.own_messages(&c.thread_id, text, since))
            .collect();
        found.sort_by_key(|t| t.message().map(|m| m.sent_at));
        found
    }
}

#[async_trait]
impl LinkedIn for FaultyLinkedIn {
    async fn seat_health(&self) -> LinkedInResult<SeatHealth> {
        Ok(SeatHealth::Ok)
    }

    async fn own_profile(&self) -> LinkedInResult<OwnProfile> {
        Ok(OwnProfile {
            provider_id: self.net.own_member_id(),
            public_identifier: Some("faulty-self".into()),
            first_name: "Faulty".into(),
            last_name: "Self".into(),
            headline: None,
            account_type: AccountType::Classic,
            is_premium: true,
        })
    }

    async fn search_people(
        &self,
        _source: &PeopleSource,
        _cursor: Option<&str>,
        _page_size: u32,
    ) -> LinkedInResult<ProviderPage<Person>> {
        let people = self.net.members().iter().map(|m| self.person(&m.provider_id)).collect::<Result<_, _>>()?;
        Ok(one_page(people))
    }

    async fn saved_searches(&self) -> LinkedInResult<Vec<NamedList>> {
        Ok(Vec::new())
    }

    async fn lead_lists(&self) -> LinkedInResult<Vec<NamedList>> {
        Ok(Vec::new())
    }

    async fn profile(&self, identifier: &str) -> LinkedInResult<Person> {
        self.person(identifier)
    }

    async fn visit_profile(&self, token: &OutboundToken, identifier: &str) -> LinkedInResult<Person> {
        let recipient = self.net.check_member(identifier).map_err(refused)?;
        self.write(None, |at| self.net.deliver_engagement(DeliveryKind::Visit, Some(token.as_str()), &recipient, at))
            .await?;
        self.person(identifier)
    }

    async fn follow(&self, token: &OutboundToken, provider_id: &str) -> LinkedInResult<()> {
        let recipient = self.net.check_member(provider_id).map_err(refused)?;
        self.write(None, |at| self.net.deliver_engagement(DeliveryKind::Follow, Some(token.as_str()), &recipient, at))
            .await?;
        Ok(())
    }

    async fn react_to_recent_post(&self, token: &OutboundToken, provider_id: &str) -> LinkedInResult<Option<String>> {
        let recipient = self.net.check_member(provider_id).map_err(refused)?;
        let d = self
            .write(None, |at| self.net.deliver_engagement(DeliveryKind::Reaction, Some(token.as_str()), &recipient, at))
            .await?;
        Ok(Some(d.provider_id))
    }

    async fn send_invitation(
        &self,
        token: &OutboundToken,
        provider_id: &str,
        note: Option<&str>,
    ) -> LinkedInResult<Invitation> {
        self.net.check_invitation(provider_id).map_err(refused)?;
        let d = self.write(note, |at| self.net.deliver_invitation(Some(token.as_str()), provider_id, note, at)).await?;
        Ok(Invitation { invitation_id: d.provider_id, recipient_provider_id: d.recipient, note: d.text, sent_at: d.at })
    }

    async fn withdraw_invitation(&self, invitation_id: &str) -> LinkedInResult<()> {
        self.net.withdraw_invitation(invitation_id);
        Ok(())
    }

    async fn sent_invitations(&self, _cursor: Option<&str>) -> LinkedInResult<ProviderPage<Invitation>> {
        Ok(one_page(
            self.net
                .pending_invitations()
                .into_iter()
                .map(|i| Invitation {
                    invitation_id: i.id,
                    recipient_provider_id: i.recipient,
                    note: i.note,
                    sent_at: i.at,
                })
                .collect(),
        ))
    }

    async fn relations(&self, _cursor: Option<&str>) -> LinkedInResult<ProviderPage<Relation>> {
        let mut connected = self.net.connections();
        connected.reverse();
        Ok(one_page(
            connected
                .into_iter()
                .map(|m| Relation {
                    name: format!("{} {}", m.first_name, m.last_name),
                    provider_id: m.provider_id,
                    public_identifier: Some(m.public_identifier),
                    connected_at: Some(m.connected_at),
                })
                .collect(),
        ))
    }

    async fn chats(&self, _cursor: Option<&str>) -> LinkedInResult<ProviderPage<Chat>> {
        Ok(one_page(self.net.visible_chats().iter().map(|(c, last)| chat_of(c, *last)).collect()))
    }

    async fn chat_messages(&self, chat_id: &str, _cursor: Option<&str>) -> LinkedInResult<ProviderPage<ChatMessage>> {
        let messages =
            self.net.visible_messages(chat_id).ok_or_else(|| LinkedInError::NotFound(format!("chat {chat_id}")))?;
        Ok(one_page(messages.iter().map(message_of).collect()))
    }

    async fn send_message(&self, token: &OutboundToken, chat_id: &str, text: &str) -> LinkedInResult<SentMessage> {
        self.net.check_message(chat_id).map_err(refused)?;
        let d = self.write(Some(text), |at| self.net.deliver_message(Some(token.as_str()), chat_id, text, at)).await?;
        Ok(sent_of(&d))
    }

    async fn start_chat(&self, token: &OutboundToken, provider_id: &str, text: &str) -> LinkedInResult<SentMessage> {
        self.net.check_start_chat(provider_id, false).map_err(refused)?;
        let (d, _) = self
            .write(Some(text), |at| self.net.deliver_start_chat(Some(token.as_str()), provider_id, None, text, at))
            .await?;
        Ok(sent_of(&d))
    }

    async fn send_inmail(
        &self,
        token: &OutboundToken,
        provider_id: &str,
        subject: &str,
        body: &str,
    ) -> LinkedInResult<SentMessage> {
        self.net.check_start_chat(provider_id, true).map_err(refused)?;
        let (d, _) = self
            .write(Some(body), |at| {
                self.net.deliver_start_chat(Some(token.as_str()), provider_id, Some(subject), body, at)
            })
            .await?;
        Ok(sent_of(&d))
    }

    async fn inmail_credits(&self) -> LinkedInResult<Option<u32>> {
        Ok(Some(1_000_000))
    }

    async fn find_email(&self, _provider_id: &str) -> LinkedInResult<Option<String>> {
        Ok(None)
    }

    async fn recent_activity(&self, _provider_id: &str) -> LinkedInResult<Vec<ActivityItem>> {
        Ok(Vec::new())
    }

    /// Reads back like the Unipile connector (never by token): own visible
    /// messages with the text since the attempt started, the pending
    /// invitation, or a profile that shows the invitation or the connection.
    async fn reconcile(
        &self,
        _token: &OutboundToken,
        attempt: &OutboundAttempt,
        started_at: Timestamp,
    ) -> LinkedInResult<Vec<Trace>> {
        let since = started_at.plus_millis(-RECONCILE_SKEW_MS);
        Ok(match attempt {
            OutboundAttempt::Invitation { recipient_provider_id } => {
                let (member, pending) = self
                    .net
                    .member(recipient_provider_id)
                    .ok_or_else(|| LinkedInError::NotReachable(recipient_provider_id.clone()))?;
                let mut listed: Vec<Trace> = self
                    .net
                    .pending_invitations()
                    .into_iter()
                    .filter(|i| i.recipient == member.provider_id)
                    .map(|i| Trace::Invitation(Some(i.id)))
                    .collect();
                listed.reverse();
                match (listed.is_empty(), pending || member.connected) {
                    (false, _) => listed,
                    (true, true) => vec![Trace::Invitation(None)],
                    (true, false) => Vec::new(),
                }
            }
            OutboundAttempt::Message { chat_id, text } => self.own_messages(chat_id, text, since),
            OutboundAttempt::StartChat { recipient_provider_id, text } => {
                self.chats_with(recipient_provider_id, text, since)
            }
            OutboundAttempt::InMail { recipient_provider_id, body } => {
                self.chats_with(recipient_provider_id, body, since)
            }
            OutboundAttempt::Engagement { .. } => Vec::new(),
        })
    }
}
