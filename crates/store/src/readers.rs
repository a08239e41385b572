//! The read connections: a small pool that takes a connection back without a
//! round trip.
//!
//! sqlx's pool tests every connection it is given back: it spawns a task that
//! pings the connection (on SQLite a trip through the connection's worker
//! thread, on PostgreSQL a network round trip) before the next query may have
//! it. A read route paid that on every query (issue 16), and the connection
//! stayed out of reach until the ping came back. The ping exists for
//! connections left half-way through a query by a cancelled future or broken
//! on the wire; a query that ran to its end leaves its connection in a known
//! state. So this pool:
//!
//! - takes a connection whose query ran to its end (rows, or an error of the
//!   database such as a constraint) back at once, in the caller's own thread;
//! - drops one whose query was abandoned half-way (its future dropped) or
//!   failed on the wire; the next lend opens a new connection;
//! - pings a connection idle for longer than [`CHECK_IDLE_AFTER`] before
//!   lending it (PostgreSQL may have closed it: a restart, a failover, an idle
//!   timeout), so a lost connection costs no failed query. A busy pool never
//!   pings (HikariCP's "alive bypass window" is the same idea).
//!
//! Reads only: writes and transactions stay on sqlx's pool (the writer), whose
//! `Transaction` type the write paths are built on.

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use sqlx::any::{AnyConnectOptions, AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo};
use sqlx::{Any, AnyConnection, Connection, Either, Execute, Executor, SqlStr};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A connection idle for longer is pinged before it is lent.
pub(crate) const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

/// Opens one connection ready for reads (pragmas applied).
type Open = Box<dyn Fn() -> BoxFuture<'static, Result<AnyConnection, sqlx::Error>> + Send + Sync>;

/// The pool of read connections. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Readers(Arc<Inner>);

struct Inner {
    open: Open,
    idle: Mutex<Vec<Idle>>,
    permits: Arc<Semaphore>,
    max: u32,
    /// Connections open now: lent or idle.
    size: AtomicU32,
    closed: AtomicBool,
    acquire_timeout: Duration,
    /// [`CHECK_IDLE_AFTER`], but for tests.
    check_idle_after: Duration,
}

struct Idle {
    conn: AnyConnection,
    since: Instant,
    /// Ping it before lending it, however recent.
    check: bool,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("max", &self.0.max).field("size", &self.size()).finish()
    }
}

impl Readers {
    /// A pool of at most `max` connections opened by `options` (then `setup`,
    /// run on each new connection). Opens one at once, so a database that
    /// cannot be opened is reported now rather than at the first read.
    pub(crate) async fn connect(
        options: AnyConnectOptions,
        setup: Vec<&'static str>,
        max: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, sqlx::Error> {
        Self::open(options, setup, max, acquire_timeout, CHECK_IDLE_AFTER).await
    }

    async fn open(
        options: AnyConnectOptions,
        setup: Vec<&'static str>,
        max: u32,
        acquire_timeout: Duration,
        check_idle_after: Duration,
    ) -> Result<Self, sqlx::Error> {
        let open: Open = Box::new(move || {
            let (options, setup) = (options.clone(), setup.clone());
            Box::pin(async move {
                let mut conn = AnyConnection::connect_with(&options).await?;
                for statement in &setup {
                    conn.execute(*statement).await?;
                }
                Ok(conn)
            })
        });
        let readers = Self(Arc::new(Inner {
            open,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max as usize)),
            max,
            size: AtomicU32::new(0),
            closed: AtomicBool::new(false),
            acquire_timeout,
            check_idle_after,
        }));
        readers.acquire().await?.done_if(true);
        Ok(readers)
    }

    /// Lends a connection: an idle one (pinged first when it has been idle
    /// long), else a new one while under `max`, else the first one given back.
    pub(crate) async fn acquire(&self) -> Result<Lent, sqlx::Error> {
        let inner = &self.0;
        if inner.closed.load(Ordering::Acquire) {
            return Err(sqlx::Error::PoolClosed);
        }
        let deadline = tokio::time::Instant::now() + inner.acquire_timeout;
        let permit = tokio::time::timeout_at(deadline, inner.permits.clone().acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        loop {
            let idle = lock(&inner.idle).pop();
            let Some(Idle { mut conn, since, check }) = idle else { break };
            if !check && since.elapsed() < inner.check_idle_after {
                return Ok(self.lend(conn, permit));
            }
            // Not counted while it is checked: a caller that gives up meanwhile drops it.
            // A server that vanished without closing the socket fails the check at the deadline.
            inner.size.fetch_sub(1, Ordering::AcqRel);
            if let Ok(Ok(())) = tokio::time::timeout_at(deadline, conn.ping()).await {
                inner.size.fetch_add(1, Ordering::AcqRel);
                return Ok(self.lend(conn, permit));
            }
        }
        let conn = tokio::time::timeout_at(deadline, (inner.open)()).await.map_err(|_| sqlx::Error::PoolTimedOut)??;
        inner.size.fetch_add(1, Ordering::AcqRel);
        Ok(self.lend(conn, permit))
    }

    fn lend(&self, conn: AnyConnection, permit: OwnedSemaphorePermit) -> Lent {
        Lent { conn: Some(conn), readers: self.clone(), end: End::Broken, _permit: permit }
    }

    /// Connections open now (lent or idle).
    pub(crate) fn size(&self) -> u32 {
        self.0.size.load(Ordering::Acquire)
    }

    /// Connections waiting to be lent.
    pub(crate) fn num_idle(&self) -> u32 {
        u32::try_from(lock(&self.0.idle).len()).unwrap_or(u32::MAX)
    }

    pub(crate) fn max(&self) -> u32 {
        self.0.max
    }

    /// Refuses new lends and closes the idle connections; a lent one is
    /// closed when it comes back.
    pub(crate) async fn close(&self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.permits.close();
        let idle = std::mem::take(&mut *lock(&self.0.idle));
        for Idle { conn, .. } in idle {
            self.0.size.fetch_sub(1, Ordering::AcqRel);
            let _ = conn.close().await;
        }
    }
}

/// A lent connection; back to the pool when dropped, unless [`Lent::settle`]
/// never saw its use end (abandoned half-way) or saw it break.
pub(crate) struct Lent {
    conn: Option<AnyConnection>,
    readers: Readers,
    end: End,
    _permit: OwnedSemaphorePermit,
}

/// How a lent connection's use ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    /// Its query ran to its end: lend it again as it is.
    Clean,
    /// Its query ended in an error of the database: ping it before the next lend.
    Check,
    /// Abandoned half-way or broken on the wire: close it.
    Broken,
}

impl Lent {
    /// Records how the connection's last use ended: after a result it goes
    /// back to the pool as it is; after an error of the database (a
    /// constraint, a syntax error, or a server that is closing the session) it
    /// goes back to be checked before its next lend; after a failure on the
    /// wire or in the driver it is closed.
    pub(crate) fn settle<T>(&mut self, result: &Result<T, sqlx::Error>) {
        self.end = match result {
            Ok(_) | Err(sqlx::Error::RowNotFound) => End::Clean,
            Err(sqlx::Error::Database(_)) => End::Check,
            Err(_) => End::Broken,
        };
    }

    /// For a caller that ran its own queries on the connection: `clean` when
    /// they all finished (see [`Lent::settle`]).
    pub(crate) fn done_if(&mut self, clean: bool) {
        self.end = if clean { End::Clean } else { End::Check };
    }
}

impl std::ops::Deref for Lent {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.conn.as_ref().expect("a lent connection is present until dropped")
    }
}

impl std::ops::DerefMut for Lent {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.conn.as_mut().expect("a lent connection is present until dropped")
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let inner = &self.readers.0;
        if self.end != End::Broken && !inner.closed.load(Ordering::Acquire) {
            lock(&inner.idle).push(Idle { conn, since: Instant::now(), check: self.end == End::Check });
        } else {
            inner.size.fetch_sub(1, Ordering::AcqRel);
            // Dropping closes it: the SQLite worker thread ends, the socket is shut.
            drop(conn);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `$call` (an expression on `$conn`, the lent connection) and settles
/// the connection by its result: the one shape of every read below.
macro_rules! on_lent {
    ($readers:expr, |$conn:ident| $call:expr) => {
        async move {
            let mut $conn = $readers.acquire().await?;
            let result = $call.await;
            $conn.settle(&result);
            result
        }
    };
}

impl<'c> Executor<'c> for &'c Readers {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        // Collected before they are handed on: the connection goes back whole.
        // Every read of the store collects its rows anyway.
        let all = on_lent!(self, |conn| (&mut *conn).fetch_many(query).try_collect::<Vec<_>>());
        stream::once(all)
            .map(|all| match all {
                Ok(items) => stream::iter(items.into_iter().map(Ok)).left_stream(),
                Err(e) => stream::iter([Err(e)]).right_stream(),
            })
            .flatten()
            .boxed()
    }

    fn fetch_all<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Vec<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        Box::pin(on_lent!(self, |conn| (&mut *conn).fetch_all(query)))
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        Box::pin(on_lent!(self, |conn| (&mut *conn).fetch_optional(query)))
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement, sqlx::Error>>
    where
        'c: 'e,
    {
        Box::pin(on_lent!(self, |conn| (&mut *conn).prepare_with(sql, parameters)))
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<sqlx::Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        Box::pin(on_lent!(self, |conn| (&mut *conn).describe(sql)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonarly_testkit::{TestBackend, TestDb, both_backends};
    use std::str::FromStr;

    /// Readers on an empty database of `backend`, and what keeps it alive.
    async fn readers(backend: TestBackend, check_idle_after: Duration) -> (Readers, impl Sized) {
        sqlx::any::install_default_drivers();
        let (url, guard) = TestDb::empty(backend).await.expect("a test database");
        let url = if url.starts_with("sqlite:") { format!("{url}?mode=rwc") } else { url };
        let options = AnyConnectOptions::from_str(&url).unwrap();
        let readers = Readers::open(options, Vec::new(), 2, Duration::from_secs(10), check_idle_after).await.unwrap();
        (readers, guard)
    }

    /// A query that keeps its connection busy for a while.
    fn slow_query(backend: TestBackend) -> &'static str {
        match backend {
            TestBackend::Sqlite => {
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT COUNT(*) FROM c"
            }
            TestBackend::Postgres => "SELECT pg_sleep(2)",
        }
    }

    both_backends!(a_finished_read_gives_its_connection_back_for_the_next_one, |backend| async move {
        let (readers, _db) = readers(backend, CHECK_IDLE_AFTER).await;
        assert_eq!((readers.size(), readers.num_idle()), (1, 1), "one connection opened at start");
        for n in 0..20_i64 {
            let read: i64 = sqlx::query_scalar("SELECT $1").bind(n).fetch_one(&readers).await.unwrap();
            assert_eq!(read, n);
            assert_eq!((readers.size(), readers.num_idle()), (1, 1), "read {n} reused the one connection");
        }
        // An error of the database leaves the connection usable: it stays (checked before its next lend).
        let missing =
            sqlx::query("SELECT * FROM no_such_table").fetch_all(&readers).await.err().expect("no such table");
        assert!(matches!(missing, sqlx::Error::Database(_)), "{missing}");
        assert_eq!((readers.size(), readers.num_idle()), (1, 1));
        let read: i64 = sqlx::query_scalar("SELECT 3").fetch_one(&readers).await.unwrap();
        assert_eq!((read, readers.size()), (3, 1));
        // Reads at once spread over the connections, up to the maximum.
        let reads = (0..6_i64).map(|n| sqlx::query_scalar::<_, i64>("SELECT $1").bind(n).fetch_one(&readers));
        let values = futures_util::future::try_join_all(reads).await.unwrap();
        assert_eq!(values, (0..6).collect::<Vec<i64>>());
        assert!(readers.size() <= 2 && readers.num_idle() == readers.size(), "{readers:?}");
    });

    both_backends!(a_read_abandoned_half_way_closes_its_connection_instead_of_lending_it_again, |backend| async move {
        let (readers, _db) = readers(backend, CHECK_IDLE_AFTER).await;
        let slow = sqlx::query(slow_query(backend)).fetch_all(&readers);
        // Polled once (the query is under way), then dropped, as a cancelled request would.
        assert!(tokio::time::timeout(Duration::ZERO, slow).await.is_err(), "the slow query was under way");
        assert_eq!((readers.size(), readers.num_idle()), (0, 0), "the abandoned connection is closed, not lent again");
        let read: i64 = sqlx::query_scalar("SELECT 7").fetch_one(&readers).await.unwrap();
        assert_eq!(read, 7, "the next read opens a fresh connection");
        assert_eq!((readers.size(), readers.num_idle()), (1, 1));
    });

    /// The PostgreSQL process behind the reader's idle connection.
    async fn idle_backend_pid(readers: &Readers) -> i32 {
        sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(readers).await.unwrap()
    }

    async fn terminate(readers: &Readers, pid: i32) {
        let mut other = (readers.0.open)().await.unwrap();
        let done: bool =
            sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(pid).fetch_one(&mut other).await.unwrap();
        assert!(done);
        let _ = other.close().await;
    }

    #[tokio::test]
    async fn a_connection_idle_past_the_window_is_checked_so_a_server_side_close_costs_no_failed_read() {
        if !sonarly_testkit::postgres_available() {
            return;
        }
        let (readers, _db) = readers(TestBackend::Postgres, Duration::ZERO).await;
        let first = idle_backend_pid(&readers).await;
        terminate(&readers, first).await;
        let second = idle_backend_pid(&readers).await;
        assert_ne!(first, second, "the closed connection was found by its check and replaced");
        assert_eq!(readers.size(), 1);
    }

    #[tokio::test]
    async fn within_the_window_a_connection_closed_by_the_server_fails_one_read_and_is_replaced() {
        if !sonarly_testkit::postgres_available() {
            return;
        }
        let (readers, _db) = readers(TestBackend::Postgres, Duration::from_secs(3600)).await;
        let first = idle_backend_pid(&readers).await;
        terminate(&readers, first).await;
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&readers).await.unwrap_err();
        assert_ne!(idle_backend_pid(&readers).await, first, "the failed connection is not lent again as it was");
        assert_eq!(readers.size(), 1);
    }
}
