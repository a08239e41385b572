//! Connected LinkedIn accounts: connecting, listing, and turning an account
//! row into a live provider (sandbox or Unipile).

mod connect;
mod governor;
mod journal;
mod metered;
pub mod onboard;
pub mod onboard_api;
mod registry;
pub mod seat;
mod secrets;

pub use connect::{
    ConnectAccount, LINKEDIN_ACCOUNTS_LIST, ProviderSetup, UnipileSetup, connect_account, connect_account_with,
    list_accounts, update_seat,
};
pub use governor::{Governed, Urgency};
pub use journal::StoreJournal;
pub use registry::{ProviderRegistry, unipile_account_id};
pub use secrets::{ResealReport, reseal_provider_secrets};
