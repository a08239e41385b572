//! The Unipile connector against a local mock of Unipile API v1 (wiremock). Payloads
//! are shaped after `/work/shared/design/unipile-contract.md`; nothing touches the internet.
//! One test binary; the modules live under `tests/unipile/`.

#[path = "unipile/support.rs"]
mod support;

#[path = "unipile/activity.rs"]
mod activity;
#[path = "unipile/errors.rs"]
mod errors;
#[path = "unipile/messaging.rs"]
mod messaging;
#[path = "unipile/people.rs"]
mod people;
#[path = "unipile/reconcile.rs"]
mod reconcile;
#[path = "unipile/sanitize.rs"]
mod sanitize;
#[path = "unipile/search.rs"]
mod search;
#[path = "unipile/webhook.rs"]
mod webhook;
