//! The Unipile connector against a local mock of Unipile API v1 (wiremock). Payloads
//! are shaped after `/work/shared/design/unipile-contract.md`; nothing touches the internet.
//! Part of the crate's one test binary (`tests/linkedin`); the modules live under `tests/linkedin/unipile/`.

mod support;

mod account;
mod activity;
mod errors;
mod messaging;
mod onboarding;
mod people;
mod reconcile;
mod sanitize;
mod search;
mod webhook;
