//! The Sonarly domain: ids, timestamps, scopes, error codes, pagination cursors,
//! API-key material and resource models. Nothing in this crate performs IO, so
//! every rule here is testable without a database or a network.

pub mod apikey;
pub mod budget;
pub mod campaign;
pub mod clock;
pub mod composer;
pub mod cursor;
pub mod error;
pub mod events;
pub mod folder;
pub mod id;
pub mod idempotency;
pub mod linkedin_account;
pub mod models;
pub mod page;
pub mod prospecting;
pub mod responses;
pub mod scope;
pub mod secrets;
pub mod signals;
pub mod state;
pub mod template;
pub mod time;
pub mod webhooks;

pub use error::{DomainError, ErrorCode, FieldIssue};
pub use id::GroupId;
pub use time::Timestamp;
