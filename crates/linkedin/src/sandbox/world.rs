//! What the simulated account looks like at a moment in time, derived from
//! the seed, the recorded actions and the clock: who is connected, which
//! invitations were accepted, which conversations exist and which replies have
//! arrived. Nothing here is stored; it is recomputed from the journal.

use super::config::SandboxConfig;
use super::hash::{between, mix, mix_str, unit};
use super::journal::{JournalIndex, SandboxAction, SandboxActionKind};
use super::population::{Population, UNIVERSE_SIZE};
use super::vocab::{BACKGROUND_MESSAGES, REPLIES};
use crate::types::{Attachment, Chat, ChatMessage, Invitation, Relation};
use sonarly_domain::Timestamp;
use std::collections::{BTreeSet, HashMap};

const DAY_MS: i64 = 86_400_000;
/// How long LinkedIn refuses a new invitation to someone after one to them was
/// withdrawn: "up to 3 weeks" (LinkedIn Help, "Withdraw a sent invitation").
pub const WITHDRAWAL_COOLDOWN_MS: i64 = 21 * DAY_MS;
/// About one member in 500 is already a connection of the account.
const CONNECTION_ONE_IN: u64 = 500;
/// Of those, this many have conversations from before the account was connected.
const BACKGROUND_CHATS: usize = 12;

/// Salts, so each simulated decision uses an independent hash.
const ACCEPT: u64 = 0xACCE;
const REPLY: u64 = 0x4E91;
const DEGREE: u64 = 0xDE64;
const CHAT: u64 = 0xC4A7;

/// The account's pre-existing connections, fixed by its seed.
pub fn background_connections(config: &SandboxConfig) -> Vec<u32> {
    (0..UNIVERSE_SIZE)
        .filter(|&i| mix(config.account_seed ^ CONNECTION_ONE_IN, u64::from(i)).is_multiple_of(CONNECTION_ONE_IN))
        .collect()
}

pub fn chat_id_for(config: &SandboxConfig, person: u32) -> String {
    let h = mix(config.account_seed ^ CHAT, u64::from(person));
    format!("2-{}", base64ish(h, mix(h, 7)))
}

fn base64ish(a: u64, b: u64) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for word in [a, b] {
        for k in 0..10 {
            out.push(A[((word >> (6 * k)) & 63) as usize] as char);
        }
    }
    out
}

pub fn message_id(seed: u64, salt: &str) -> String {
    let h = mix_str(seed, salt);
    format!("2-{}", base64ish(h, mix(h, 11)))
}

/// The state of the account at `now`.
pub struct World<'a> {
    pub config: &'a SandboxConfig,
    pub population: &'a Population,
    pub connections: &'a [u32],
    pub journal: &'a JournalIndex,
    pub now: Timestamp,
}

impl World<'_> {
    fn connected_at(&self) -> Timestamp {
        Timestamp::from_millis(self.config.connected_at_ms)
    }

    /// When the invitation in `action` is (or will be) accepted, if ever: never when it
    /// was withdrawn before its member would have accepted it.
    pub fn acceptance_time(&self, action: &SandboxAction) -> Option<Timestamp> {
        let person = self.population.index_of(&action.recipient_provider_id)?;
        let h = mix(self.config.account_seed ^ ACCEPT, u64::from(person));
        if unit(h) >= self.config.acceptance_rate {
            return None;
        }
        let (min, max) = self.config.acceptance_delay_ms;
        let at = action.at.plus_millis(between(mix(h, 1), min, max));
        match self.withdrawn_at(action) {
            Some(withdrawn) if withdrawn <= at => None,
            _ => Some(at),
        }
    }

    /// When the invitation in `action` was withdrawn, if it was.
    pub fn withdrawn_at(&self, action: &SandboxAction) -> Option<Timestamp> {
        self.journal
            .for_recipient(&action.recipient_provider_id)
            .find(|a| a.kind == SandboxActionKind::Withdrawal && a.result_id == action.result_id)
            .map(|a| a.at)
    }

    /// The invitation with this id, if one was sent.
    pub fn invitation(&self, invitation_id: &str) -> Option<&SandboxAction> {
        self.journal.all().iter().find(|a| a.kind == SandboxActionKind::Invitation && a.result_id == invitation_id)
    }

    pub fn is_background_connection(&self, person: u32) -> bool {
        self.connections.binary_search(&person).is_ok()
    }

    /// Accepted by now?
    pub fn accepted(&self, person: u32) -> Option<Timestamp> {
        let provider_id = self.population.provider_id(person);
        self.journal
            .for_recipient(&provider_id)
            .filter(|a| a.kind == SandboxActionKind::Invitation)
            .filter_map(|a| self.acceptance_time(a))
            .filter(|t| *t <= self.now)
            .min()
    }

    /// 1 for connections, else a stable 2 or 3.
    pub fn degree(&self, person: u32) -> u8 {
        if self.is_background_connection(person) || self.accepted(person).is_some() {
            1
        } else if mix(self.config.account_seed ^ DEGREE, u64::from(person)) % 100 < 40 {
            2
        } else {
            3
        }
    }

    pub fn pending_invitations(&self) -> Vec<Invitation> {
        let mut pending: Vec<Invitation> = self
            .journal
            .all()
            .iter()
            .filter(|a| a.kind == SandboxActionKind::Invitation && a.at <= self.now)
            .filter(|a| self.acceptance_time(a).is_none_or(|t| t > self.now))
            .filter(|a| self.withdrawn_at(a).is_none_or(|t| t > self.now))
            .map(|a| Invitation {
                invitation_id: a.result_id.clone(),
                recipient_provider_id: a.recipient_provider_id.clone(),
                note: a.text.clone(),
                sent_at: a.at,
            })
            .collect();
        pending.sort_by(|a, b| b.sent_at.cmp(&a.sent_at).then(b.invitation_id.cmp(&a.invitation_id)));
        pending
    }

    pub fn relations(&self) -> Vec<Relation> {
        let mut relations: Vec<Relation> = self
            .connections
            .iter()
            .map(|&i| {
                let days = between(mix(self.config.account_seed, u64::from(i)), 1, 900);
                self.relation(i, self.connected_at().plus_millis(-days * DAY_MS))
            })
            .collect();
        let mut accepted = BTreeSet::new();
        for action in self.journal.all().iter().filter(|a| a.kind == SandboxActionKind::Invitation) {
            if let (Some(i), Some(t)) =
                (self.population.index_of(&action.recipient_provider_id), self.acceptance_time(action))
                && t <= self.now
                && !self.is_background_connection(i)
                && accepted.insert(i)
            {
                relations.push(self.relation(i, t));
            }
        }
        relations.sort_by(|a, b| b.connected_at.cmp(&a.connected_at).then(b.provider_id.cmp(&a.provider_id)));
        relations
    }

    fn relation(&self, i: u32, at: Timestamp) -> Relation {
        let person = self.population.person(i, Some(1));
        Relation {
            provider_id: person.provider_id.clone(),
            public_identifier: Some(person.public_identifier.clone()),
            name: person.full_name(),
            connected_at: Some(at),
        }
    }

    /// Every member with a conversation, mapped to their chat id.
    pub fn chat_people(&self) -> HashMap<String, u32> {
        let mut people: HashMap<String, u32> = HashMap::new();
        for &i in self.connections.iter().take(BACKGROUND_CHATS) {
            people.insert(chat_id_for(self.config, i), i);
        }
        for action in self.journal.all().iter().filter(|a| a.kind.delivers_message() && a.at <= self.now) {
            if let Some(i) = self.population.index_of(&action.recipient_provider_id) {
                people.insert(chat_id_for(self.config, i), i);
            }
        }
        people
    }

    /// The member behind a chat id, if the chat exists now.
    pub fn chat_person(&self, chat_id: &str) -> Option<u32> {
        if let Some(&i) =
            self.connections.iter().take(BACKGROUND_CHATS).find(|&&i| chat_id_for(self.config, i) == chat_id)
        {
            return Some(i);
        }
        let recipient = self.journal.chat_recipient(chat_id)?;
        let person = self.population.index_of(recipient)?;
        let started = self.journal.for_recipient(recipient).any(|a| a.kind.delivers_message() && a.at <= self.now);
        started.then_some(person)
    }

    /// Messages with `person` visible at `now`, newest first.
    pub fn messages_with(&self, person: u32) -> Vec<ChatMessage> {
        let chat_id = chat_id_for(self.config, person);
        let them = self.population.provider_id(person);
        let me = own_provider_id(self.config, self.population);
        let mut messages = Vec::new();
        if self.connections.iter().take(BACKGROUND_CHATS).any(|&c| c == person) {
            let h = mix(self.config.account_seed ^ CHAT, u64::from(person));
            let count = 2 + (h % 4) as usize;
            let start = self.connected_at().plus_millis(-between(h, 3, 60) * DAY_MS);
            for k in 0..count {
                let inbound = k % 2 == 0;
                messages.push(ChatMessage {
                    message_id: message_id(self.config.account_seed, &format!("bg-{person}-{k}")),
                    chat_id: chat_id.clone(),
                    sender_provider_id: if inbound { them.clone() } else { me.clone() },
                    is_sender: !inbound,
                    text: BACKGROUND_MESSAGES[((h >> (k * 3)) % BACKGROUND_MESSAGES.len() as u64) as usize].to_owned(),
                    sent_at: start.plus_millis(k as i64 * between(mix(h, k as u64), 600_000, DAY_MS)),
                    attachments: if k == 1 && h.is_multiple_of(3) {
                        vec![Attachment {
                            kind: "file".into(),
                            id: format!("att-{person}"),
                            url: Some(format!("https://sandbox.sonarly.local/attachments/att-{person}.pdf")),
                            file_name: Some("deck.pdf".into()),
                            mime_type: Some("application/pdf".into()),
                        }]
                    } else {
                        vec![]
                    },
                    parent_message_id: None,
                });
            }
        }
        for action in self.journal.for_recipient(&them).filter(|a| a.kind.delivers_message()) {
            if action.at <= self.now {
                messages.push(ChatMessage {
                    message_id: action.result_id.clone(),
                    chat_id: chat_id.clone(),
                    sender_provider_id: me.clone(),
                    is_sender: true,
                    text: action.text.clone().unwrap_or_default(),
                    sent_at: action.at,
                    attachments: vec![],
                    parent_message_id: None,
                });
            }
            if let Some(reply) = self.reply_to(action)
                && reply.sent_at <= self.now
            {
                messages.push(reply);
            }
        }
        messages.sort_by(|a, b| b.sent_at.cmp(&a.sent_at).then(b.message_id.cmp(&a.message_id)));
        messages
    }

    /// The reply a delivered message will get, if its recipient answers.
    fn reply_to(&self, action: &SandboxAction) -> Option<ChatMessage> {
        let person = self.population.index_of(&action.recipient_provider_id)?;
        let h = mix_str(self.config.account_seed ^ REPLY, &action.token);
        if unit(h) >= self.config.reply_rate {
            return None;
        }
        let (min, max) = self.config.reply_delay_ms;
        Some(ChatMessage {
            message_id: message_id(self.config.account_seed, &format!("reply-{}", action.token)),
            chat_id: chat_id_for(self.config, person),
            sender_provider_id: action.recipient_provider_id.clone(),
            is_sender: false,
            text: REPLIES[(mix(h, 3) % REPLIES.len() as u64) as usize].to_owned(),
            sent_at: action.at.plus_millis(between(mix(h, 2), min, max)),
            attachments: vec![],
            parent_message_id: Some(action.result_id.clone()),
        })
    }

    /// Conversations, most recent activity first.
    pub fn chats(&self) -> Vec<Chat> {
        let mut chats: Vec<Chat> = self
            .chat_people()
            .into_iter()
            .filter_map(|(chat_id, person)| {
                let messages = self.messages_with(person);
                let last = messages.first()?.sent_at;
                let unread = messages.iter().take_while(|m| !m.is_sender).count() as u32;
                let them = self.population.provider_id(person);
                let is_inmail = self
                    .journal
                    .for_recipient(&them)
                    .find(|a| a.kind.delivers_message())
                    .is_some_and(|a| a.kind == SandboxActionKind::InMail);
                Some(Chat {
                    chat_id,
                    name: Some(self.population.person(person, None).full_name()),
                    attendee_provider_id: Some(them),
                    unread_count: unread,
                    last_activity_at: Some(last),
                    is_inmail,
                })
            })
            .collect();
        chats.sort_by(|a, b| b.last_activity_at.cmp(&a.last_activity_at).then(b.chat_id.cmp(&a.chat_id)));
        chats
    }

    /// How many actions of `kind` happened in the `window_ms` before now.
    pub fn count_recent(&self, kinds: &[SandboxActionKind], window_ms: i64) -> u32 {
        let since = self.now.as_millis().saturating_sub(window_ms);
        self.journal.count_between(kinds, since, self.now.as_millis())
    }
}

/// The connected account's own member id.
pub fn own_provider_id(config: &SandboxConfig, population: &Population) -> String {
    population.provider_id(UNIVERSE_SIZE + (config.account_seed % 1_000_000) as u32)
}
