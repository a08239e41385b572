//! The state both front doors share: members, chats, messages, invitations,
//! every delivery ever made, and the fault plan.

use super::{Fault, FaultMix, Rng};
use sonarly_domain::Timestamp;
use sonarly_domain::clock::SharedClock;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{Semaphore, watch};

/// A LinkedIn member of the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// `ACoAA…`, as the Unipile connector expects.
    pub provider_id: String,
    pub public_identifier: String,
    pub first_name: String,
    pub last_name: String,
    /// A first-degree connection of the account.
    pub connected: bool,
    pub connected_at: Timestamp,
}

/// What a delivery was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryKind {
    Message,
    StartChat,
    InMail,
    Invitation,
    Visit,
    Follow,
    Reaction,
}

impl DeliveryKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::StartChat => "start_chat",
            Self::InMail => "inmail",
            Self::Invitation => "invitation",
            Self::Visit => "visit",
            Self::Follow => "follow",
            Self::Reaction => "reaction",
        }
    }

    /// Deliveries that put text in a conversation.
    pub fn is_message(self) -> bool {
        matches!(self, Self::Message | Self::StartChat | Self::InMail)
    }
}

/// One thing the network delivered. Nothing is ever deduplicated: the same
/// token twice is two deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub seq: u64,
    pub kind: DeliveryKind,
    /// The caller's token when it passed one (in-process only; never used to deduplicate).
    pub token: Option<String>,
    pub recipient: String,
    /// The conversation's thread id (`2-…`) for messages.
    pub chat_id: Option<String>,
    pub text: Option<String>,
    pub subject: Option<String>,
    /// The message id or invitation id the provider gave it.
    pub provider_id: String,
    pub at: Timestamp,
    /// When listings start to show it.
    pub visible_at: Timestamp,
}

#[derive(Debug, Clone)]
pub(crate) struct ChatRec {
    pub thread_id: String,
    pub unipile_id: String,
    pub attendee: String,
    pub is_inmail: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct MsgRec {
    pub id: String,
    pub thread_id: String,
    pub sender: String,
    pub is_sender: bool,
    pub text: String,
    pub at: Timestamp,
    pub visible_at: Timestamp,
}

#[derive(Debug, Clone)]
pub(crate) struct InvRec {
    pub id: String,
    pub recipient: String,
    pub note: Option<String>,
    pub at: Timestamp,
    pub visible_at: Timestamp,
    pub accepted: bool,
}

/// Why a write was refused outright (no fault: LinkedIn says no).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    NotConnected,
    NotReachable(String),
    NotFound(String),
    AlreadyDone(String),
}

pub(crate) struct State {
    pub own: Member,
    pub members: Vec<Member>,
    pub chats: Vec<ChatRec>,
    pub messages: Vec<MsgRec>,
    pub invitations: Vec<InvRec>,
    pub deliveries: Vec<Delivery>,
    script: VecDeque<Fault>,
    by_text: Vec<(String, Fault)>,
    mix: Option<(FaultMix, Rng)>,
    visibility_delay_ms: i64,
    seq: u64,
    faults_drawn: u64,
}

/// The shared network. Clones share everything.
#[derive(Clone)]
pub struct FaultyNetwork {
    state: Arc<Mutex<State>>,
    clock: SharedClock,
    stuck: Arc<watch::Sender<usize>>,
    held: Arc<Semaphore>,
}

fn member(k: usize, connected: bool, at: Timestamp) -> Member {
    // `ACoAA` + 34 characters: the classic member-id shape.
    Member {
        provider_id: format!("ACoAAF{}{:033}", if connected { 'C' } else { 'O' }, k),
        public_identifier: format!("member-{}-{k}", if connected { "c" } else { "o" }),
        first_name: format!("First{k}"),
        last_name: if connected { "Connected".into() } else { "Other".into() },
        connected,
        connected_at: at,
    }
}

impl FaultyNetwork {
    /// A network with `connections` first-degree connections and `others`
    /// members who are not (yet) connected; no faults until told.
    pub fn new(clock: SharedClock, connections: usize, others: usize) -> Self {
        let at = clock.now();
        let mut members: Vec<Member> = (0..connections).map(|k| member(k, true, at)).collect();
        members.extend((0..others).map(|k| member(k, false, at)));
        let own = Member {
            provider_id: "ACoAAFSELF000000000000000000000000000000".into(),
            public_identifier: "faulty-self".into(),
            first_name: "Faulty".into(),
            last_name: "Self".into(),
            connected: false,
            connected_at: at,
        };
        let state = State {
            own,
            members,
            chats: Vec::new(),
            messages: Vec::new(),
            invitations: Vec::new(),
            deliveries: Vec::new(),
            script: VecDeque::new(),
            by_text: Vec::new(),
            mix: None,
            visibility_delay_ms: 0,
            seq: 0,
            faults_drawn: 0,
        };
        Self {
            state: Arc::new(Mutex::new(state)),
            clock,
            stuck: Arc::new(watch::Sender::new(0)),
            held: Arc::new(Semaphore::new(0)),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The connected account's own member id.
    pub fn own_member_id(&self) -> String {
        self.lock().own.provider_id.clone()
    }

    pub fn members(&self) -> Vec<Member> {
        self.lock().members.clone()
    }

    /// First-degree connections, in creation order.
    pub fn connections(&self) -> Vec<Member> {
        self.lock().members.iter().filter(|m| m.connected).cloned().collect()
    }

    /// The next writes misbehave like this, in order (before any random mix).
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.lock().script.extend(faults);
    }

    /// The next write carrying exactly `text` misbehaves like this (before the
    /// script and the mix; several for one text apply in order).
    pub fn fault_for_text(&self, text: &str, fault: Fault) {
        self.lock().by_text.push((text.to_owned(), fault));
    }

    /// Once the script is used up, faults are drawn from `mix`.
    pub fn set_mix(&self, mix: FaultMix) {
        self.lock().mix = Some((mix, Rng::new(mix.seed)));
    }

    /// No more faults: the script is emptied and the mix removed.
    pub fn clear_faults(&self) {
        let mut state = self.lock();
        state.script.clear();
        state.by_text.clear();
        state.mix = None;
    }

    /// Deliveries show in listings this long after they happen.
    pub fn set_visibility_delay(&self, ms: i64) {
        self.lock().visibility_delay_ms = ms.max(0);
    }

    /// Every delivery, in order, duplicates included.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }

    /// How many deliveries carried exactly `text`.
    pub fn delivered_count(&self, text: &str) -> usize {
        self.lock().deliveries.iter().filter(|d| d.text.as_deref() == Some(text)).count()
    }

    /// The member accepts the pending invitation (it leaves the pending list).
    pub fn accept_invitation(&self, recipient: &str) {
        let now = self.now();
        let mut state = self.lock();
        for invitation in state.invitations.iter_mut().filter(|i| i.recipient == recipient) {
            invitation.accepted = true;
        }
        if let Some(m) = state.members.iter_mut().find(|m| m.provider_id == recipient) {
            m.connected = true;
            m.connected_at = now;
        }
    }

    /// Lets `n` held calls go on ([`Fault::Hold`]).
    pub fn release_held(&self, n: usize) {
        self.held.add_permits(n);
    }

    /// Calls currently held or hung.
    pub fn stuck_calls(&self) -> usize {
        *self.stuck.borrow()
    }

    /// Waits until at least `n` calls are held or hung (no timer: it wakes on change).
    pub async fn wait_stuck(&self, n: usize) {
        let mut rx = self.stuck.subscribe();
        let _ = rx.wait_for(|count| *count >= n).await;
    }

    pub(crate) fn stuck_enter(&self) {
        self.stuck.send_modify(|n| *n += 1);
    }

    pub(crate) fn stuck_leave(&self) {
        self.stuck.send_modify(|n| *n = n.saturating_sub(1));
    }

    pub(crate) async fn wait_release(&self) {
        if let Ok(permit) = self.held.acquire().await {
            permit.forget();
        }
    }

    /// Writes that met a fault so far.
    pub fn faults_drawn(&self) -> u64 {
        self.lock().faults_drawn
    }

    /// The fault for the next write (carrying `text`, when it has one).
    pub(crate) fn next_fault(&self, text: Option<&str>) -> Fault {
        let mut state = self.lock();
        let fault = if let Some(k) = text.and_then(|t| state.by_text.iter().position(|(x, _)| x == t)) {
            state.by_text.remove(k).1
        } else if let Some(fault) = state.script.pop_front() {
            fault
        } else {
            match &mut state.mix {
                Some((mix, rng)) => mix.pick(rng),
                None => Fault::None,
            }
        };
        if fault != Fault::None {
            state.faults_drawn += 1;
        }
        fault
    }

    pub(crate) fn member_index(state: &State, identifier: &str) -> Option<usize> {
        let id = identifier.trim();
        state.members.iter().position(|m| m.provider_id == id || m.public_identifier == id)
    }

    pub(crate) fn chat_index(state: &State, key: &str) -> Option<usize> {
        let key = key.trim();
        state.chats.iter().position(|c| c.thread_id == key || c.unipile_id == key)
    }

    // --- checks (refusals come before any fault) ------------------------------

    pub(crate) fn check_message(&self, chat: &str) -> Result<(), Refusal> {
        let state = self.lock();
        Self::chat_index(&state, chat).map(|_| ()).ok_or_else(|| Refusal::NotFound(format!("chat {chat}")))
    }

    pub(crate) fn check_start_chat(&self, recipient: &str, inmail: bool) -> Result<(), Refusal> {
        let state = self.lock();
        let i = Self::member_index(&state, recipient)
            .ok_or_else(|| Refusal::NotReachable(format!("no member {recipient}")))?;
        if !inmail && !state.members[i].connected {
            return Err(Refusal::NotConnected);
        }
        Ok(())
    }

    pub(crate) fn check_invitation(&self, recipient: &str) -> Result<(), Refusal> {
        let state = self.lock();
        let i = Self::member_index(&state, recipient)
            .ok_or_else(|| Refusal::NotReachable(format!("no member {recipient}")))?;
        let member = &state.members[i];
        if member.connected {
            return Err(Refusal::AlreadyDone("already connected".into()));
        }
        if state.invitations.iter().any(|inv| inv.recipient == member.provider_id && !inv.accepted) {
            return Err(Refusal::AlreadyDone("already invited recently".into()));
        }
        Ok(())
    }

    pub(crate) fn check_member(&self, recipient: &str) -> Result<String, Refusal> {
        let state = self.lock();
        let i = Self::member_index(&state, recipient)
            .ok_or_else(|| Refusal::NotReachable(format!("no member {recipient}")))?;
        Ok(state.members[i].provider_id.clone())
    }

    // --- deliveries -------------------------------------------------------------

    fn record(state: &mut State, mut delivery: Delivery) -> Delivery {
        state.seq += 1;
        delivery.seq = state.seq;
        state.deliveries.push(delivery.clone());
        delivery
    }

    fn visible(state: &State, at: Timestamp) -> Timestamp {
        at.plus_millis(state.visibility_delay_ms)
    }

    fn message_id(seq: u64) -> String {
        format!("msg{seq:019}")
    }

    /// A message into an existing chat, happening at `at`.
    pub(crate) fn deliver_message(&self, token: Option<&str>, chat: &str, text: &str, at: Timestamp) -> Delivery {
        let mut state = self.lock();
        let i = Self::chat_index(&state, chat).expect("checked chat");
        let chat = state.chats[i].clone();
        let id = Self::message_id(state.seq + 1);
        let visible_at = Self::visible(&state, at);
        let own = state.own.provider_id.clone();
        state.messages.push(MsgRec {
            id: id.clone(),
            thread_id: chat.thread_id.clone(),
            sender: own,
            is_sender: true,
            text: text.to_owned(),
            at,
            visible_at,
        });
        let delivery = Delivery {
            seq: 0,
            kind: DeliveryKind::Message,
            token: token.map(str::to_owned),
            recipient: chat.attendee,
            chat_id: Some(chat.thread_id),
            text: Some(text.to_owned()),
            subject: None,
            provider_id: id,
            at,
            visible_at,
        };
        Self::record(&mut state, delivery)
    }

    /// A message that starts (or reuses) the chat with `recipient`; InMail when `subject` is given.
    pub(crate) fn deliver_start_chat(
        &self,
        token: Option<&str>,
        recipient: &str,
        subject: Option<&str>,
        text: &str,
        at: Timestamp,
    ) -> (Delivery, String) {
        let mut state = self.lock();
        let i = Self::member_index(&state, recipient).expect("checked member");
        let attendee = state.members[i].provider_id.clone();
        let existing = state.chats.iter().position(|c| c.attendee == attendee);
        let chat = match existing {
            Some(k) => state.chats[k].clone(),
            None => {
                let n = state.chats.len() + 1;
                let chat = ChatRec {
                    thread_id: format!("2-thread{n:012}"),
                    unipile_id: format!("chat{n:018}"),
                    attendee: attendee.clone(),
                    is_inmail: subject.is_some(),
                };
                state.chats.push(chat.clone());
                chat
            }
        };
        let id = Self::message_id(state.seq + 1);
        let visible_at = Self::visible(&state, at);
        let own = state.own.provider_id.clone();
        state.messages.push(MsgRec {
            id: id.clone(),
            thread_id: chat.thread_id.clone(),
            sender: own,
            is_sender: true,
            text: text.to_owned(),
            at,
            visible_at,
        });
        let delivery = Delivery {
            seq: 0,
            kind: if subject.is_some() { DeliveryKind::InMail } else { DeliveryKind::StartChat },
            token: token.map(str::to_owned),
            recipient: attendee,
            chat_id: Some(chat.thread_id),
            text: Some(text.to_owned()),
            subject: subject.map(str::to_owned),
            provider_id: id,
            at,
            visible_at,
        };
        (Self::record(&mut state, delivery), chat.unipile_id)
    }

    pub(crate) fn deliver_invitation(
        &self,
        token: Option<&str>,
        recipient: &str,
        note: Option<&str>,
        at: Timestamp,
    ) -> Delivery {
        let mut state = self.lock();
        let i = Self::member_index(&state, recipient).expect("checked member");
        let recipient = state.members[i].provider_id.clone();
        let id = format!("{}", 7_000_000_000_000_000_000u64 + state.seq + 1);
        let visible_at = Self::visible(&state, at);
        state.invitations.push(InvRec {
            id: id.clone(),
            recipient: recipient.clone(),
            note: note.map(str::to_owned),
            at,
            visible_at,
            accepted: false,
        });
        let delivery = Delivery {
            seq: 0,
            kind: DeliveryKind::Invitation,
            token: token.map(str::to_owned),
            recipient,
            chat_id: None,
            text: note.map(str::to_owned),
            subject: None,
            provider_id: id,
            at,
            visible_at,
        };
        Self::record(&mut state, delivery)
    }

    pub(crate) fn deliver_engagement(
        &self,
        kind: DeliveryKind,
        token: Option<&str>,
        recipient: &str,
        at: Timestamp,
    ) -> Delivery {
        let mut state = self.lock();
        let visible_at = Self::visible(&state, at);
        let delivery = Delivery {
            seq: 0,
            kind,
            token: token.map(str::to_owned),
            recipient: recipient.to_owned(),
            chat_id: None,
            text: None,
            subject: None,
            provider_id: format!("{}-{}", kind.as_str(), state.seq + 1),
            at,
            visible_at,
        };
        Self::record(&mut state, delivery)
    }

    // --- what listings show ---------------------------------------------------------

    /// Chats with a visible message, most recent activity first: (chat, last activity).
    pub(crate) fn visible_chats(&self) -> Vec<(ChatRec, Timestamp)> {
        let now = self.now();
        let state = self.lock();
        let mut out: Vec<(ChatRec, Timestamp)> = state
            .chats
            .iter()
            .filter_map(|c| {
                let last = state
                    .messages
                    .iter()
                    .filter(|m| m.thread_id == c.thread_id && m.visible_at <= now)
                    .map(|m| m.at)
                    .max()?;
                Some((c.clone(), last))
            })
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.thread_id.cmp(&a.0.thread_id)));
        out
    }

    /// A chat by thread id or Unipile id.
    pub(crate) fn chat(&self, key: &str) -> Option<ChatRec> {
        let state = self.lock();
        Self::chat_index(&state, key).map(|i| state.chats[i].clone())
    }

    /// Visible messages of a chat, newest first.
    pub(crate) fn visible_messages(&self, key: &str) -> Option<Vec<MsgRec>> {
        let now = self.now();
        let state = self.lock();
        let chat = &state.chats[Self::chat_index(&state, key)?];
        let mut out: Vec<MsgRec> =
            state.messages.iter().filter(|m| m.thread_id == chat.thread_id && m.visible_at <= now).cloned().collect();
        out.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
        Some(out)
    }

    /// Visible pending invitations, newest first.
    /// Withdraws a pending invitation (gone already: nothing happens).
    pub(crate) fn withdraw_invitation(&self, invitation_id: &str) {
        self.lock().invitations.retain(|i| i.accepted || i.id != invitation_id);
    }

    pub(crate) fn pending_invitations(&self) -> Vec<InvRec> {
        let now = self.now();
        let state = self.lock();
        let mut out: Vec<InvRec> =
            state.invitations.iter().filter(|i| !i.accepted && i.visible_at <= now).cloned().collect();
        out.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
        out
    }

    /// A member by provider id or public identifier, with whether an invitation to them is pending and visible.
    pub(crate) fn member(&self, identifier: &str) -> Option<(Member, bool)> {
        let now = self.now();
        let state = self.lock();
        let m = state.members[Self::member_index(&state, identifier)?].clone();
        let pending =
            state.invitations.iter().any(|i| i.recipient == m.provider_id && !i.accepted && i.visible_at <= now);
        Some((m, pending))
    }
}
