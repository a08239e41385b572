//! The LinkedIn provider layer.
//!
//! Everything that touches LinkedIn goes through the [`LinkedIn`] trait: one
//! object per connected LinkedIn account. Two implementations exist and nothing
//! above this crate can tell them apart: [`sandbox`], a deterministic simulated
//! network for trying the product and for tests, and [`unipile`], the HTTP
//! connector to Unipile's API for real accounts.
//!
//! Errors are typed ([`LinkedInError`]) so the engine decides retries from the
//! kind of failure, never from message strings.

mod error;
mod provider;
pub mod readback;
pub mod sandbox;
mod sanitize;
pub mod search_url;
mod types;
pub mod unipile;

pub use error::{LimitKind, LinkedInError, LinkedInResult};
pub use provider::{LinkedIn, OutboundToken, SharedLinkedIn};
pub use sanitize::{decode_provider_json, sanitize_provider_json, sanitize_provider_text};
pub use types::*;
