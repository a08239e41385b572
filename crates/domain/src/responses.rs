//! Scheduled message responses: replies queued through the outbound scheduler.

use crate::GroupId;
use crate::Timestamp;
use crate::linkedin_account::DeferredReason;
use crate::state::wire_enum;

wire_enum! {
    /// Where a scheduled response is in its life.
    pub enum ResponseStatus ("scheduled response status") {
        Queued = "queued",
        /// Claimed by the scheduler; the provider call is in flight or its outcome unknown.
        Sending = "sending",
        Sent = "sent",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

impl ResponseStatus {
    /// Still owned by the scheduler: queued, or sending with an outcome to settle.
    pub const fn is_open(self) -> bool {
        matches!(self, Self::Queued | Self::Sending)
    }
}

wire_enum! {
    /// How a scheduled response reaches the prospect.
    pub enum ResponseChannel ("response channel") {
        DirectMessage = "direct_message",
        InMail = "inmail",
    }
}

/// LinkedIn's text limits for what a response may carry.
pub const DIRECT_MESSAGE_MAX_CHARS: usize = 8_000;
pub const INMAIL_SUBJECT_MAX_CHARS: usize = 200;
pub const INMAIL_BODY_MAX_CHARS: usize = 1_900;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledResponse {
    pub id: String,
    pub group_id: GroupId,
    pub prospect_id: String,
    pub linkedin_account_id: String,
    pub channel: ResponseChannel,
    pub body: String,
    pub subject: Option<String>,
    /// Our conversation id, when replying in (or once sent into) a conversation.
    pub conversation_id: Option<String>,
    pub recipient_provider_id: String,
    pub provider_chat_id: Option<String>,
    pub status: ResponseStatus,
    pub scheduled_at: Timestamp,
    /// True once a safety rule moved `scheduled_at` later.
    pub deferred: bool,
    /// The rule that last moved `scheduled_at` (set with `deferred`).
    pub deferred_reason: Option<DeferredReason>,
    pub sent_at: Option<Timestamp>,
    /// Our inbox message id once sent.
    pub message_id: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
