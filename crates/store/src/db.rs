//! Connections and migrations.
//!
//! SQLite runs in WAL mode with one writer connection (SQLite allows one writer
//! at a time; a single connection turns contention into queueing instead of
//! SQLITE_BUSY) and four read-only reader connections. PostgreSQL has a pool
//! of 16 connections for writes and transactions and 8 reader connections.
//!
//! Pure reads go to the readers ([`crate::readers`]: a connection whose read
//! finished goes back without the ping sqlx's pool sends on every release),
//! so the one writer spends its time writing; a read that confirms a write of the same call (an insert read back by its
//! key) stays on the writer. The SQLite readers are read-only (`query_only`),
//! so a write sent there by mistake fails loudly instead of racing the writer.
//! A reader sees every transaction committed before its query starts (WAL
//! snapshots are taken per statement outside transactions), so moving a read
//! there never hides an earlier write of the same use case.
//!
//! SQLite's writer is not pinged before each use (`test_before_acquire`):
//! there is no peer to hang up, and the ping is one more trip through sqlx's
//! connection thread before every query (issue 16). PostgreSQL's writer pool
//! is: the ping costs a round trip, but a connection the server dropped (a
//! restart, a failover, an idle timeout) is replaced before a query meets it,
//! instead of failing one query per pooled connection. The readers ping a
//! connection only when it has been idle a second or more.
//!
//! Opening is where operators meet configuration mistakes, so it reports them
//! plainly: a missing directory names the path, an unreachable PostgreSQL
//! names the server and the cause at once (not a pool timeout), and
//! `sqlite::memory:` gives every connection the same in-memory database.

use crate::readers::Readers;
use crate::{StoreError, StoreResult};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, install_default_drivers};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, AnyPool, Connection, Executor};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> StoreResult<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::Connect("the database URL must start with sqlite: or postgres://".into()))
        }
    }

    fn migrator(self) -> &'static sqlx::migrate::Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATOR,
            Self::Postgres => &POSTGRES_MIGRATOR,
        }
    }
}

/// One connection pool's use at a moment (see [`Store::pool_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStat {
    pub pool: &'static str,
    /// Connections lent out to a query or transaction.
    pub in_use: u32,
    /// Open connections waiting in the pool.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

/// The handle every layer uses to reach the database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    pub(crate) writer: AnyPool,
    pub(crate) reader: Readers,
    /// Key revocations made through this handle (and its clones): caches of
    /// authenticated keys in this process drop them at once (crate::keys).
    pub(crate) key_changes: std::sync::Arc<AtomicU64>,
}

impl Store {
    /// Connects to `url` (`sqlite://path`, `sqlite::memory:`, `postgres://…`).
    /// SQLite files are created when missing. Does not migrate; call
    /// [`Store::migrate`]. Failures to open or reach the database come back as
    /// [`StoreError::Connect`] naming the file or server and the cause.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        install_default_drivers();
        let backend = Backend::from_url(url)?;
        match backend {
            Backend::Sqlite => match SqliteTarget::parse(url)? {
                SqliteTarget::Memory => {
                    let url = memory_url();
                    // Both pools open the same named in-memory database; it lives
                    // while one connection does, so no pool may let its last go.
                    let writer = sqlite_writer(&url, true).await?;
                    let reader = sqlite_readers(&url, 4).await?;
                    Ok(Self { backend, writer, reader, key_changes: Default::default() })
                }
                SqliteTarget::File(path) => {
                    check_sqlite_directory(&path)?;
                    let url = sqlite_url(url);
                    let open = |e: StoreError| StoreError::Connect(format!("SQLite file {path}: {}", sqlite_reason(e)));
                    let writer = sqlite_writer(&url, false).await.map_err(open)?;
                    let reader = sqlite_readers(&url, 4).await.map_err(open)?;
                    Ok(Self { backend, writer, reader, key_changes: Default::default() })
                }
            },
            Backend::Postgres => {
                let options = AnyConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Connect(format!("the PostgreSQL URL is not valid: {e}")))?;
                check_postgres(&options).await?;
                let writer = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options.clone())
                    .await?;
                let reader = Readers::connect(options, Vec::new(), 8, ACQUIRE_TIMEOUT).await?;
                Ok(Self { backend, writer, reader, key_changes: Default::default() })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How many times a query of this process waited for a pooled connection
    /// past the acquire timeout and gave up (every store in the process counts).
    pub fn pool_timeouts(&self) -> u64 {
        crate::error::pool_timeouts()
    }

    /// Each connection pool's use now, for metrics: the `writer` (on SQLite one
    /// connection; on PostgreSQL also transactions) and the `reader`.
    pub fn pool_stats(&self) -> Vec<PoolStat> {
        let stat = |pool: &'static str, open: u32, idle: u32, max: u32| {
            let idle = idle.min(open);
            PoolStat { pool, in_use: open - idle, idle, max }
        };
        let writer = &self.writer;
        let writer_idle = u32::try_from(writer.num_idle()).unwrap_or(u32::MAX);
        let writer_max = writer.options().get_max_connections();
        let reader = &self.reader;
        vec![
            stat("writer", writer.size(), writer_idle, writer_max),
            stat("reader", reader.size(), reader.num_idle(), reader.max()),
        ]
    }

    /// Applies pending migrations for this backend.
    pub async fn migrate(&self) -> StoreResult<()> {
        self.backend.migrator().run(&self.writer).await?;
        Ok(())
    }

    /// True when the database answers and every migration this build knows is applied.
    pub async fn is_ready(&self) -> bool {
        let Some(latest) = self.backend.migrator().iter().map(|m| m.version).max() else {
            return true;
        };
        let applied: Result<Option<i64>, sqlx::Error> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.reader)
                .await;
        matches!(applied, Ok(Some(v)) if v >= latest)
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// What a `sqlite:` URL points at.
#[derive(Debug, PartialEq, Eq)]
enum SqliteTarget {
    /// `sqlite::memory:`, `sqlite://:memory:` or `mode=memory`.
    Memory,
    /// A file path, as written in the URL (percent-decoded).
    File(String),
}

impl SqliteTarget {
    fn parse(url: &str) -> StoreResult<Self> {
        let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
        let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
        let memory_mode = params.split('&').any(|p| p == "mode=memory");
        if database == ":memory:" || memory_mode {
            return Ok(Self::Memory);
        }
        if database.is_empty() {
            return Err(StoreError::Connect("the SQLite URL names no file: use sqlite://PATH".into()));
        }
        // SQLite itself percent-decodes the path (so a file name may hold `?`).
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Connect(format!("the SQLite URL {url} is not valid: {e}")))?;
        Ok(Self::File(options.get_filename().display().to_string()))
    }
}

/// One serving process per SQLite file: an exclusive advisory lock on
/// `<file>.lock`, next to the database, held while this value lives (the
/// operating system releases it when the process ends, however it ends).
/// Two servers on one file would fight over SQLite's single writer and answer
/// "database is locked"; short commands (`migrate`, `keys create`…) take no
/// lock and wait for the writer like any other connection. The file holds the
/// holder's process id, for the message of the process that is refused.
#[derive(Debug)]
pub struct ServeLock {
    _file: std::fs::File,
}

/// Why [`ServeLock::acquire`] failed.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds the lock.
    Held { database: String, lock_file: String, holder: Option<u32> },
    /// The lock file cannot be created or locked.
    Io { lock_file: String, error: std::io::Error },
    /// The URL names no usable SQLite file.
    Url(StoreError),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Held { database, lock_file, holder } => {
                let by = holder.map(|pid| format!(" (process {pid})")).unwrap_or_default();
                write!(f, "the SQLite file {database} is already served by another sonarly{by}; it holds {lock_file}")
            }
            Self::Io { lock_file, error } => write!(f, "cannot lock {lock_file}: {error}"),
            Self::Url(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LockError {}

impl ServeLock {
    /// Takes the lock for the database at `url`; `None` when there is nothing
    /// to lock (`sqlite::memory:` lives in this process, PostgreSQL serves
    /// several instances).
    pub fn acquire(url: &str) -> Result<Option<Self>, LockError> {
        if Backend::from_url(url).map_err(LockError::Url)? != Backend::Sqlite {
            return Ok(None);
        }
        let SqliteTarget::File(database) = SqliteTarget::parse(url).map_err(LockError::Url)? else {
            return Ok(None);
        };
        check_sqlite_directory(&database).map_err(LockError::Url)?;
        let lock_file = format!("{database}.lock");
        let io = |error| LockError::Io { lock_file: lock_file.clone(), error };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_file)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = std::io::Read::read_to_string(&mut file, &mut text);
                return Err(LockError::Held { database, lock_file, holder: text.trim().parse().ok() });
            }
            Err(std::fs::TryLockError::Error(error)) => return Err(io(error)),
        }
        file.set_len(0).map_err(io)?;
        std::io::Write::write_all(&mut file, format!("{}\n", std::process::id()).as_bytes()).map_err(io)?;
        Ok(Some(Self { _file: file }))
    }
}

/// A process-unique in-memory database shared by every connection that opens
/// it: the `memdb` VFS with a `/name` gives one database per name in the
/// process, with ordinary locking (so `busy_timeout` applies, unlike a shared
/// cache). A bare `:memory:` would give each connection its own empty database.
fn memory_url() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("sqlite:/sonarly-memory-{}-{n}?mode=rwc&vfs=memdb", std::process::id())
}

/// Names the missing or wrong directory before SQLite answers with a bare
/// "unable to open database file".
fn check_sqlite_directory(path: &str) -> StoreResult<()> {
    let file = Path::new(path);
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let fail = |reason: String| Err(StoreError::Connect(format!("SQLite file {path}: {reason}")));
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return fail(format!("{} is not a directory", dir.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return fail(format!("the directory {} does not exist; create it first", dir.display()));
        }
        Err(e) => return fail(format!("cannot reach the directory {}: {e}", dir.display())),
    }
    if file.is_dir() {
        return fail("it is a directory, not a file".into());
    }
    Ok(())
}

/// A SQLite failure to open, without the driver's "error returned from database" wrapping.
fn sqlite_reason(e: StoreError) -> String {
    match e {
        StoreError::Database(sqlx::Error::Database(db)) if db.code().as_deref() == Some("14") => {
            format!("{} (check that the file and its directory are writable)", db.message())
        }
        StoreError::Database(sqlx::Error::Database(db)) => db.message().to_owned(),
        other => other.to_string(),
    }
}

/// One direct connection before the pool: the pool retries a failing
/// connection until its acquire timeout and then only says "pool timed out",
/// where this reports the cause (refused, authentication, unknown database) at once.
async fn check_postgres(options: &AnyConnectOptions) -> StoreResult<()> {
    let url = &options.database_url;
    let server = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("PostgreSQL at {host}:{port}"),
        (Some(host), None) => format!("PostgreSQL at {host}"),
        _ => "PostgreSQL".to_owned(),
    };
    let fail = |reason: String| Err(StoreError::Connect(format!("{server}: {reason}")));
    match tokio::time::timeout(POSTGRES_CONNECT_TIMEOUT, AnyConnection::connect_with(options)).await {
        Err(_) => fail(format!("no answer within {} s", POSTGRES_CONNECT_TIMEOUT.as_secs())),
        Ok(Err(e)) => fail(postgres_reason(&e)),
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
    }
}

const POSTGRES_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection error in an operator's words.
fn postgres_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                "connection refused (is the server running and accepting TCP connections on that port?)".into()
            }
            std::io::ErrorKind::TimedOut => "the connection timed out".into(),
            _ => io.to_string(),
        },
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // invalid_catalog_name: the database in the URL does not exist.
            Some("3D000") => format!("{} (create it first, e.g. with createdb)", db.message()),
            _ => db.message().to_owned(),
        },
        sqlx::Error::Tls(tls) => format!("TLS failed: {tls}"),
        sqlx::Error::Configuration(c) => format!("the URL is not valid: {c}"),
        other => other.to_string(),
    }
}

/// Ensures the file is created when missing (`mode=rwc`).
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Every SQLite connection's settings. WAL lets readers run beside the
/// writer; NORMAL is durable in WAL mode except for the last transactions on
/// power loss.
const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 5000",
];

/// How long a query waits for a pooled connection before it gives up (retryable).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// SQLite's read-only connections (see [`crate::readers`]). An in-memory
/// database needs no connection of theirs to stay open: the writer keeps one
/// for good.
async fn sqlite_readers(url: &str, max: u32) -> StoreResult<Readers> {
    let options = AnyConnectOptions::from_str(url)?;
    let setup = [SQLITE_PRAGMAS, &["PRAGMA query_only = ON"]].concat();
    Ok(Readers::connect(options, setup, max, ACQUIRE_TIMEOUT).await?)
}

/// The writer: a pool of one connection. `keep` holds it open for good (an
/// in-memory database vanishes with its last connection).
async fn sqlite_writer(url: &str, keep: bool) -> StoreResult<AnyPool> {
    let mut options = AnyPoolOptions::new().max_connections(1).min_connections(1).test_before_acquire(false);
    if keep {
        options = options.idle_timeout(None).max_lifetime(None);
    }
    let pool = options
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                for pragma in SQLITE_PRAGMAS {
                    conn.execute(*pragma).await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await?;
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_a_file_or_the_memory() {
        assert_eq!(SqliteTarget::parse("sqlite::memory:").unwrap(), SqliteTarget::Memory);
        assert_eq!(SqliteTarget::parse("sqlite://:memory:").unwrap(), SqliteTarget::Memory);
        assert_eq!(SqliteTarget::parse("sqlite://x?mode=memory").unwrap(), SqliteTarget::Memory);
        assert_eq!(SqliteTarget::parse("sqlite://sonarly.db").unwrap(), SqliteTarget::File("sonarly.db".into()));
        assert_eq!(SqliteTarget::parse("sqlite:///var/x.db?mode=rwc").unwrap(), SqliteTarget::File("/var/x.db".into()));
        assert_eq!(SqliteTarget::parse("sqlite:a%3Fb.db").unwrap(), SqliteTarget::File("a?b.db".into()));
        assert!(SqliteTarget::parse("sqlite://").is_err());
    }

    #[test]
    fn one_process_at_a_time_serves_a_sqlite_file_and_memory_or_postgres_need_no_lock() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let first = ServeLock::acquire(&url).unwrap().expect("a file is locked");
        match ServeLock::acquire(&url) {
            Err(LockError::Held { holder, lock_file, .. }) => {
                assert_eq!(holder, Some(std::process::id()));
                assert!(lock_file.ends_with("s.db.lock"), "{lock_file}");
            }
            other => panic!("the second lock must be refused: {other:?}"),
        }
        drop(first);
        assert!(ServeLock::acquire(&url).unwrap().is_some(), "released with its holder");
        assert!(ServeLock::acquire("sqlite::memory:").unwrap().is_none());
        assert!(ServeLock::acquire("postgres://u@localhost/db").unwrap().is_none());
        let missing = format!("sqlite://{}", dir.path().join("nope/s.db").display());
        assert!(ServeLock::acquire(&missing).unwrap_err().to_string().contains("does not exist"));
    }

    #[tokio::test]
    async fn a_missing_directory_is_named_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/x.db");
        let err = Store::connect(&format!("sqlite://{}", path.display())).await.unwrap_err().to_string();
        let expected = format!("the directory {} does not exist", dir.path().join("missing").display());
        assert!(err.contains(&path.display().to_string()) && err.contains(&expected), "{err}");
        assert!(!dir.path().join("missing").exists(), "nothing is created");
    }

    #[tokio::test]
    async fn sqlite_readers_refuse_writes_and_see_what_the_writer_committed() {
        let dir = tempfile::tempdir().unwrap();
        for url in [format!("sqlite://{}", dir.path().join("r.db").display()), "sqlite::memory:".to_owned()] {
            let store = Store::connect(&url).await.unwrap();
            store.migrate().await.unwrap();
            let write = sqlx::query("INSERT INTO server_settings (name, value) VALUES ('probe', 'x')");
            let refused = write.execute(&store.reader).await.unwrap_err().to_string();
            assert!(refused.contains("readonly"), "{url}: {refused}");
            sqlx::query("INSERT INTO server_settings (name, value) VALUES ('probe', 'y')")
                .execute(&store.writer)
                .await
                .unwrap();
            let read: String = sqlx::query_scalar("SELECT value FROM server_settings WHERE name = 'probe'")
                .fetch_one(&store.reader)
                .await
                .unwrap();
            assert_eq!(read, "y", "{url}: a reader sees the committed write at once");
            store.close().await;
        }
    }

    #[tokio::test]
    async fn memory_databases_are_shared_by_the_writer_and_the_readers_and_not_between_stores() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        assert!(store.is_ready().await, "the readers see the writer's migrations");
        sqlx::query("INSERT INTO server_settings (name, value) VALUES ('probe', 'x')")
            .execute(&store.writer)
            .await
            .unwrap();
        // Concurrent reads spread over the reader connections; each sees the row.
        let reads: Vec<_> = (0..8)
            .map(|_| {
                let reader = store.reader.clone();
                tokio::spawn(async move {
                    sqlx::query_scalar::<_, String>("SELECT value FROM server_settings WHERE name = 'probe'")
                        .fetch_one(&reader)
                        .await
                })
            })
            .collect();
        for read in reads {
            assert_eq!(read.await.unwrap().unwrap(), "x");
        }
        let other = Store::connect("sqlite::memory:").await.unwrap();
        other.migrate().await.unwrap();
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM server_settings WHERE name = 'probe'")
            .fetch_one(&other.reader)
            .await
            .unwrap();
        assert_eq!(count, 0, "each store has its own memory database");
    }
}
