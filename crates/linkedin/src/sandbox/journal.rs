//! The sandbox's memory: every outbound action it was asked to perform,
//! keyed by idempotency token. Everything dynamic in the sandbox (pending and
//! accepted invitations, conversations, replies, credits used, limits) is
//! derived from this journal, the seed and the clock, so persisting the
//! journal is enough to survive restarts, and a shared journal lets several
//! server processes drive one simulated account.

use crate::error::LinkedInResult;
use async_trait::async_trait;
use sonarly_domain::Timestamp;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SandboxActionKind {
    Invitation,
    Message,
    StartChat,
    InMail,
    Visit,
    Follow,
    Reaction,
    /// A pending invitation withdrawn (`result_id` is the invitation's id).
    Withdrawal,
}

impl SandboxActionKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::Message => "message",
            Self::StartChat => "start_chat",
            Self::InMail => "inmail",
            Self::Visit => "visit",
            Self::Follow => "follow",
            Self::Reaction => "reaction",
            Self::Withdrawal => "withdrawal",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Invitation,
            Self::Message,
            Self::StartChat,
            Self::InMail,
            Self::Visit,
            Self::Follow,
            Self::Reaction,
            Self::Withdrawal,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }

    /// Actions that deliver text to the other person.
    pub fn delivers_message(self) -> bool {
        matches!(self, Self::Message | Self::StartChat | Self::InMail)
    }
}

/// One action the sandbox performed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxAction {
    /// Order of recording, assigned by the journal (0 before recording).
    pub seq: i64,
    pub account_id: String,
    pub token: String,
    pub kind: SandboxActionKind,
    pub recipient_provider_id: String,
    pub chat_id: Option<String>,
    pub text: Option<String>,
    pub subject: Option<String>,
    /// What the action produced: invitation id, message id, post id.
    pub result_id: String,
    pub at: Timestamp,
}

/// Where the journal lives. The server stores it in the database; tests may
/// keep it in memory.
#[async_trait]
pub trait SandboxJournal: Send + Sync {
    /// Records `action` unless one with the same (account, token) exists, and
    /// returns the stored action (the earlier one on a repeat).
    async fn record(&self, action: SandboxAction) -> LinkedInResult<SandboxAction>;

    /// The account's actions with `seq > after`, in `seq` order.
    async fn actions_since(&self, account_id: &str, after: i64) -> LinkedInResult<Vec<SandboxAction>>;
}

/// A journal in process memory (tests, throwaway sandboxes).
#[derive(Default)]
pub struct MemoryJournal {
    actions: Mutex<Vec<SandboxAction>>,
}

#[async_trait]
impl SandboxJournal for MemoryJournal {
    async fn record(&self, mut action: SandboxAction) -> LinkedInResult<SandboxAction> {
        let mut actions = self.actions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = actions.iter().find(|a| a.account_id == action.account_id && a.token == action.token) {
            return Ok(existing.clone());
        }
        action.seq = actions.len() as i64 + 1;
        actions.push(action.clone());
        Ok(action)
    }

    async fn actions_since(&self, account_id: &str, after: i64) -> LinkedInResult<Vec<SandboxAction>> {
        let actions = self.actions.lock().unwrap_or_else(|p| p.into_inner());
        Ok(actions.iter().filter(|a| a.account_id == account_id && a.seq > after).cloned().collect())
    }
}

/// The journal as one sandbox process last read it, indexed so each call
/// costs about the same however many actions were recorded (the scheduler
/// benchmark drives 100,000 of them through one account).
#[derive(Debug, Clone, Default)]
pub struct JournalIndex {
    actions: Vec<SandboxAction>,
    by_seq: std::collections::HashMap<i64, usize>,
    by_token: std::collections::HashMap<String, usize>,
    by_recipient: std::collections::HashMap<String, Vec<usize>>,
    by_chat: std::collections::HashMap<String, String>,
    /// Action times per kind, sorted, for windowed counts.
    times: std::collections::HashMap<SandboxActionKind, Vec<i64>>,
}

impl JournalIndex {
    /// Adds an action once (by seq).
    pub fn insert(&mut self, action: SandboxAction) {
        if self.by_seq.contains_key(&action.seq) {
            return;
        }
        let at = self.actions.len();
        self.by_seq.insert(action.seq, at);
        self.by_token.insert(action.token.clone(), at);
        self.by_recipient.entry(action.recipient_provider_id.clone()).or_default().push(at);
        if let Some(chat) = &action.chat_id {
            self.by_chat.insert(chat.clone(), action.recipient_provider_id.clone());
        }
        let times = self.times.entry(action.kind).or_default();
        let t = action.at.as_millis();
        let pos = times.partition_point(|x| *x <= t);
        times.insert(pos, t);
        self.actions.push(action);
    }

    pub fn newest_seq(&self) -> i64 {
        self.by_seq.keys().copied().max().unwrap_or(0)
    }

    pub fn all(&self) -> &[SandboxAction] {
        &self.actions
    }

    pub fn by_token(&self, token: &str) -> Option<&SandboxAction> {
        self.by_token.get(token).map(|&i| &self.actions[i])
    }

    /// Actions aimed at one member, in recording order.
    pub fn for_recipient<'a>(&'a self, provider_id: &str) -> impl Iterator<Item = &'a SandboxAction> + 'a {
        self.by_recipient.get(provider_id).into_iter().flatten().map(move |&i| &self.actions[i])
    }

    /// The member a chat created by an action belongs to.
    pub fn chat_recipient(&self, chat_id: &str) -> Option<&str> {
        self.by_chat.get(chat_id).map(String::as_str)
    }

    /// Actions of `kinds` with `since < at <= until`.
    pub fn count_between(&self, kinds: &[SandboxActionKind], since: i64, until: i64) -> u32 {
        kinds
            .iter()
            .filter_map(|k| self.times.get(k))
            .map(|times| times.partition_point(|t| *t <= until) - times.partition_point(|t| *t <= since))
            .sum::<usize>() as u32
    }
}
