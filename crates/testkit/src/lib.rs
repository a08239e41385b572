//! Test harness: a fresh, migrated database per test on SQLite (temp file) or
//! PostgreSQL (a throwaway cluster this process starts itself), so the same
//! test body runs on both backends with no manual setup.

pub mod fault;
mod postgres;

use sonarly_store::Store;
use std::path::PathBuf;

pub use postgres::postgres_available;

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// A fresh migrated database that lives as long as this value.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    _guard: DbGuard,
}

enum DbGuard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] postgres::DatabaseGuard),
}

impl TestDb {
    /// A migrated database on `backend`, or `None` when PostgreSQL is not
    /// installed here and `SONARLY_REQUIRE_POSTGRES` is not set (a loud
    /// message says the PostgreSQL half was skipped).
    pub async fn new(backend: TestBackend) -> Option<Self> {
        let (url, guard) = match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path: PathBuf = dir.path().join("sonarly-test.db");
                (format!("sqlite://{}", path.display()), DbGuard::Sqlite(dir))
            }
            TestBackend::Postgres => {
                let guard = postgres::fresh_database()?;
                (guard.url.clone(), DbGuard::Postgres(guard))
            }
        };
        let store = Store::connect(&url).await.expect("connect to test database");
        store.migrate().await.expect("migrate test database");
        Some(Self { store, url, _guard: guard })
    }

    /// A URL for a database that exists but is not migrated (for migration tests).
    pub async fn empty(backend: TestBackend) -> Option<(String, EmptyDbGuard)> {
        match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("empty.db").display());
                Some((url, EmptyDbGuard(DbGuard::Sqlite(dir))))
            }
            TestBackend::Postgres => {
                let guard = postgres::fresh_database()?;
                Some((guard.url.clone(), EmptyDbGuard(DbGuard::Postgres(guard))))
            }
        }
    }
}

/// Keeps an unmigrated test database alive.
pub struct EmptyDbGuard(#[allow(dead_code)] DbGuard);

/// Emits one `#[tokio::test]` per backend from one async body taking a
/// [`TestBackend`]: `both_backends!(name, |backend| async move { ... });`
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::TestBackend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if !$crate::postgres_available() {
                    return;
                }
                ($body)($crate::TestBackend::Postgres).await
            }
        }
    };
}

/// A prospect of `group_id` for one of a seat's first-degree connections
/// (an item of the provider's `relations()`), stored under `id`.
pub fn connection_prospect(
    group_id: &sonarly_domain::GroupId,
    id: String,
    relation: &sonarly_linkedin::Relation,
    now: sonarly_domain::Timestamp,
) -> sonarly_domain::prospecting::Prospect {
    sonarly_domain::prospecting::Prospect {
        id,
        group_id: group_id.clone(),
        provider_id: relation.provider_id.clone(),
        member_id: Some(relation.provider_id.clone()),
        person_id: sonarly_domain::prospecting::person_id_for(&relation.provider_id),
        name: relation.name.clone(),
        connection_degree: Some(1),
        created_at: now,
        updated_at: now,
        ..Default::default()
    }
}

/// The seed a test seat's sandbox network is built from when the test names none. Left to
/// the default, a sandbox seat's network follows its (random) id, so each run would meet
/// different people and a test could pass or fail on who it happens to meet.
pub const TEST_ACCOUNT_SEED: u64 = 20_261_130;

/// `config` with its account seed pinned to [`TEST_ACCOUNT_SEED`] unless the test chose one.
pub fn pinned_sandbox(config: sonarly_linkedin::sandbox::SandboxConfig) -> sonarly_linkedin::sandbox::SandboxConfig {
    let default_seed = sonarly_linkedin::sandbox::SandboxConfig::default().account_seed;
    if config.account_seed == default_seed {
        sonarly_linkedin::sandbox::SandboxConfig { account_seed: TEST_ACCOUNT_SEED, ..config }
    } else {
        config
    }
}
