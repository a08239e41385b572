//! Persistence for Sonarly on SQLite (embedded default) and PostgreSQL.
//!
//! One API, two backends: queries go through sqlx's `Any` driver with SQL that
//! both dialects accept (`$n` placeholders, `ON CONFLICT`, `RETURNING`, row-value
//! keyset comparisons). The few differences (connection setup, migrations) stay
//! in `db.rs`. Every query on group-owned data takes the account group id first,
//! so a lookup can never cross into another group.

mod audiences;
mod campaigns;
mod db;
mod error;
mod events;
mod folders;
mod generate;
mod groups;
mod idempotency;
mod inbox;
mod keys;
mod ledger;
mod linkedin_accounts;
mod page;
mod profile_cache;
mod prospecting_jobs;
mod prospects;
mod queue;
mod rate_budgets;
mod readers;
mod responses;
mod seat_pauses;
mod sends;
mod settings;
mod signals;
mod sql;
mod system;
mod templates;
mod webhooks;
mod withdrawals;

pub use audiences::AudienceDeletion;
pub use campaigns::{
    ApprovalOutcome, CAMPAIGN_WORK, CampaignLead, FunnelCounts, FunnelGroup, FunnelSteps, SlotUpdate, StartOutcome,
    StepRecord, StopOutcome,
};
pub use db::{Backend, LockError, PoolStat, ServeLock, Store};
pub use error::StoreError;
pub use events::{EventsQuery, WEBHOOK_DELIVERY_WORK};
pub use inbox::{ChatRef, Conversation, INBOX_SYNC_WORK, InboxMessage, InboxSyncState, IngestedMessage, NewMessage};
pub use ledger::{QUARTER_HOUR_MS, SlotClaim, SlotRequest};
pub use linkedin_accounts::{SEAT_HEALTH_WORK, SandboxActionRow};
pub use profile_cache::CachedRead;
pub use prospecting_jobs::{ImportPage, ImportStop, JobCreation, PROSPECTING_WORK, PageOutcome};
pub use queue::{QueueStat, QueuedWork, WorkItem};
pub use responses::{ConversationTarget, OUTBOUND_WORK, ResponseCreation, ResponseSent};
pub use seat_pauses::SeatPause;
pub use sends::{Fence, NewSend, OutboundSend, SendAction, SendState, Settle};
pub use signals::{Evaluation, HistoryMessage, NewScan, ProspectOutcome, SIGNAL_SCAN_WORK, ScanCreation};
pub use system::System;
pub use templates::{TemplateDelete, TemplateWrite};
pub use webhooks::{AttemptEnd, AttemptStart, EndpointChanges, INTERRUPTED};
pub use withdrawals::{StaleInvitation, WITHDRAWAL_WORK, WithdrawalState};

pub type StoreResult<T> = Result<T, StoreError>;
