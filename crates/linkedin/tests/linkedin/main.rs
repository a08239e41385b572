//! The LinkedIn provider layer's integration tests, in one test binary (one
//! link of the dependency graph instead of one per file), e.g.
//! `cargo test -p sonarly-linkedin --test linkedin unipile::`.

mod enforcement;
mod sandbox;
mod unipile;
