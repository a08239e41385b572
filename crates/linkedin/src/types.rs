//! What the provider layer returns. Shapes follow LinkedIn's, not any one
//! provider's payloads; connectors map into these.

use sonarly_domain::Timestamp;

pub use sonarly_domain::linkedin_account::AccountType;

/// The connected account's own profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnProfile {
    pub provider_id: String,
    pub public_identifier: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub headline: Option<String>,
    pub account_type: AccountType,
    pub is_premium: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Company {
    pub name: String,
    pub linkedin_identifier: Option<String>,
    pub linkedin_url: Option<String>,
    pub industry: Option<String>,
    pub website: Option<String>,
}

/// A LinkedIn member as search results and profiles describe them (serializable: the
/// governor keeps recent profiles in the seat's profile cache).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Person {
    /// Member id, `ACoAA…`.
    pub provider_id: String,
    /// The `/in/<slug>` part of the profile URL.
    pub public_identifier: String,
    pub profile_url: String,
    pub first_name: String,
    pub last_name: String,
    pub headline: Option<String>,
    pub title: Option<String>,
    pub company: Option<Company>,
    pub location: Option<String>,
    pub about: Option<String>,
    pub photo_url: Option<String>,
    /// 1, 2 or 3 (3 = third degree or more); `None` when unknown.
    pub connection_degree: Option<u8>,
}

impl Person {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name).trim().to_owned()
    }
}

/// Where to find people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeopleSource {
    /// A LinkedIn classic or Sales Navigator search URL.
    SearchUrl(String),
    /// A Sales Navigator saved search id.
    SavedSearch(String),
    /// A Sales Navigator lead list id.
    LeadList(String),
    /// People who commented on a post (post URL).
    PostCommenters(String),
}

/// One page from a provider listing; `cursor` fetches the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderPage<T> {
    pub items: Vec<T>,
    pub cursor: Option<String>,
    /// Total results when the provider says (searches).
    pub total: Option<u32>,
}

/// A Sales Navigator saved search or lead list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedList {
    pub id: String,
    pub name: String,
}

/// A sent invitation (pending, or seen again after acceptance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub invitation_id: String,
    pub recipient_provider_id: String,
    pub note: Option<String>,
    pub sent_at: Timestamp,
}

/// A first-degree connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub provider_id: String,
    pub public_identifier: Option<String>,
    pub name: String,
    pub connected_at: Option<Timestamp>,
}

/// A conversation (thread).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    /// Thread id, `2-…`.
    pub chat_id: String,
    pub name: Option<String>,
    /// The other participant's member id (one-to-one chats).
    pub attendee_provider_id: Option<String>,
    pub unread_count: u32,
    pub last_activity_at: Option<Timestamp>,
    /// `inmail` for InMail threads, else `direct_message`.
    pub is_inmail: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// `img`, `video`, `audio`, `file`, `linkedin_post`…
    pub kind: String,
    pub id: String,
    pub url: Option<String>,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub message_id: String,
    pub chat_id: String,
    pub sender_provider_id: String,
    /// True when the connected account sent it.
    pub is_sender: bool,
    pub text: String,
    pub sent_at: Timestamp,
    pub attachments: Vec<Attachment>,
    /// The message this one quotes or answers, when the provider says.
    pub parent_message_id: Option<String>,
}

/// The result of sending a message, starting a chat or sending an InMail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub chat_id: String,
    pub message_id: Option<String>,
    pub sent_at: Timestamp,
}

/// An outbound action whose outcome is unknown (timeout, reset, 5xx, crash):
/// what the engine asks the provider about, with the exact text the attempt
/// sent, before trying again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundAttempt {
    Invitation {
        recipient_provider_id: String,
    },
    Message {
        chat_id: String,
        text: String,
    },
    StartChat {
        recipient_provider_id: String,
        text: String,
    },
    InMail {
        recipient_provider_id: String,
        body: String,
    },
    /// A visit, follow or like: nothing to read back on LinkedIn (a provider
    /// that honours tokens answers by token).
    Engagement {
        recipient_provider_id: String,
    },
}

/// Something the provider shows that an attempt may have produced.
/// Reconciliation returns every candidate, oldest first; the engine
/// attributes the first one no other action holds (a provider message or
/// invitation belongs to at most one response or campaign step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trace {
    /// An own message with the attempt's text in a conversation with the
    /// recipient, sent since the attempt started.
    Message(SentMessage),
    /// A pending invitation to the recipient (its id), or `None` when the
    /// provider shows the invitation only indirectly (already accepted, or
    /// pending on the profile but not listed).
    Invitation(Option<String>),
    /// A provider that honours tokens says the token's action happened.
    Performed,
}

impl Trace {
    /// The key under which the store attributes it (`message:<id>`,
    /// `invitation:<id>`); `None` when the provider named nothing.
    pub fn provider_ref(&self) -> Option<String> {
        match self {
            Self::Message(m) => m.message_id.as_ref().map(|id| format!("message:{id}")),
            Self::Invitation(Some(id)) => Some(format!("invitation:{id}")),
            Self::Invitation(None) | Self::Performed => None,
        }
    }

    /// The message, for a message trace.
    pub fn message(&self) -> Option<&SentMessage> {
        match self {
            Self::Message(m) => Some(m),
            _ => None,
        }
    }
}

/// A change pushed by the provider (webhook) or found by polling; both feed
/// the same handling code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderEvent {
    MessageReceived(ChatMessage),
    NewRelation(Relation),
    AccountStatus { status: String, message: Option<String> },
}

/// One thing a member (or their company) did recently, as signal scans read
/// it: a post they wrote, a comment they wrote, a job change, a job posting,
/// news or a funding round of their company. `source` is the signal
/// specification source it belongs to (the result group `type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityItem {
    /// A stable id at the provider (activity URN, comment id, job id…), unique per member and source.
    pub id: String,
    pub source: sonarly_domain::template::SignalSource,
    /// A post's title or first line, the commented post's title, a job title, a news headline.
    pub title: Option<String>,
    /// The post, the comment, the job posting or the news text.
    pub text: String,
    /// When it happened: posted, commented, started, announced. Never after the provider's "now".
    pub occurred_at: Timestamp,
    /// The post (for a comment: the commented post).
    pub post_link: Option<String>,
    pub total_likes: Option<u32>,
    pub total_comments: Option<u32>,
    /// What the replies to a post say, when the provider knows.
    pub reply_summary: Option<String>,
    pub comment_link: Option<String>,
    pub job_url: Option<String>,
    pub company_name: Option<String>,
}

/// What the provider says about the seat itself (Unipile: `GET /accounts/{id}`,
/// `sources[].status`). Read while a seat is not connected, to know when it may
/// act again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatHealth {
    /// The seat works (`OK`).
    Ok,
    /// The provider is still connecting or syncing it (`CONNECTING`, `SYNC…`): ask again later.
    Connecting,
    /// Its owner must act (`CREDENTIALS`, a checkpoint, two-factor code, in-app validation, `PERMISSIONS`).
    NeedsAction(String),
    /// It cannot act and nothing its owner can do on LinkedIn helps right now (`ERROR`, `STOPPED`,
    /// a restriction): ask again later.
    Disconnected(String),
    /// The provider no longer has this account (deleted): it must be connected again.
    Gone(String),
}
