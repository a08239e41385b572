//! The `sonarly` binary's integration tests, in one test binary (one link of
//! the dependency graph instead of one per file): each module is one area, so a
//! test is named after it, e.g. `cargo test -p sonarly-cli --test cli readme::`.
//! Every module runs the binary built by Cargo (`CARGO_BIN_EXE_sonarly`).

mod api;
mod cli;
mod edge;
mod events_tail;
mod exactly_once;
mod readme;
mod secrets;
mod webhooks_crash;
