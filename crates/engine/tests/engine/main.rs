//! The engine's integration tests, in one test binary (one link of the
//! dependency graph instead of one per file): each module is one area, so a
//! test is named after it, e.g. `cargo test -p sonarly-engine --test engine campaigns::`.

mod campaigns;
mod exactly_once;
mod inbox;
mod outbound;
mod prospecting;
mod seat_month;
mod seat_safety;
mod signals;
mod webhooks;
mod withdrawals;
mod world;
