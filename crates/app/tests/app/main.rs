//! The use cases' integration tests, in one test binary (one link of the
//! dependency graph instead of one per file), e.g.
//! `cargo test -p sonarly-app --test app composer::`.

mod composer;
mod linkedin;
mod onboard;
