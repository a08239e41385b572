use std::fmt;

/// A storage failure. Unique violations are classified by kind (not by a
/// backend-specific code) so callers can turn them into 409s where it matters.
#[derive(Debug)]
pub enum StoreError {
    UniqueViolation(String),
    Database(sqlx::Error),
    Migration(sqlx::migrate::MigrateError),
    Config(String),
    /// The database could not be opened or reached; the message names the
    /// file or server and the cause, ready to show to an operator.
    Connect(String),
    /// No connection could be had in time (pool exhausted or closed) or the
    /// connection to the server was lost: retryable.
    Unavailable(sqlx::Error),
    /// Concurrent writers kept winning a race this write could not resolve
    /// (e.g. one Idempotency-Key), or the database gave this transaction up to
    /// let another go on (a PostgreSQL deadlock or serialization failure,
    /// SQLite's busy timeout): retryable.
    Contended(String),
}

impl StoreError {
    /// Whether the same operation may succeed if retried shortly.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Contended(_))
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UniqueViolation(m) => write!(f, "unique violation: {m}"),
            Self::Database(e) => write!(f, "database error: {e}"),
            Self::Migration(e) => write!(f, "migration error: {e}"),
            Self::Config(m) => write!(f, "database configuration error: {m}"),
            Self::Connect(m) => f.write_str(m),
            Self::Unavailable(e) => write!(f, "database unavailable: {e}"),
            Self::Contended(m) => write!(f, "write contended: {m}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Database(e) | Self::Unavailable(e) => Some(e),
            Self::Migration(e) => Some(e),
            Self::UniqueViolation(_) | Self::Config(_) | Self::Connect(_) | Self::Contended(_) => None,
        }
    }
}

/// Queries of this process that waited for a pooled connection past the pool's
/// acquire timeout (see [`crate::Store::pool_timeouts`]).
static POOL_TIMEOUTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many times a query of this process found no free connection in time.
pub(crate) fn pool_timeouts() -> u64 {
    POOL_TIMEOUTS.load(std::sync::atomic::Ordering::Relaxed)
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.kind() == sqlx::error::ErrorKind::UniqueViolation
        {
            return Self::UniqueViolation(db.message().to_owned());
        }
        if let sqlx::Error::Database(db) = &e
            && db.code().as_deref().is_some_and(gave_way)
        {
            return Self::Contended(db.message().to_owned());
        }
        if matches!(e, sqlx::Error::PoolTimedOut) {
            POOL_TIMEOUTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => Self::Unavailable(e),
            e => Self::Database(e),
        }
    }
}

/// Whether a database error code says this transaction gave way to another and
/// may simply be run again: PostgreSQL's 40P01 (deadlock_detected) and 40001
/// (serialization_failure); SQLite's BUSY and LOCKED with their extended codes
/// (e.g. 517, BUSY_SNAPSHOT: a read transaction that another writer overtook).
fn gave_way(code: &str) -> bool {
    match code {
        "40P01" | "40001" => true,
        _ => code.parse::<u32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6)),
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Migration(e)
    }
}

#[cfg(test)]
mod tests {
    use super::gave_way;

    #[test]
    fn deadlocks_serialization_failures_and_busy_databases_are_retryable() {
        for code in ["40P01", "40001", "5", "6", "261", "517", "773", "262"] {
            assert!(gave_way(code), "{code}");
        }
        for code in ["23505", "42P01", "19", "2067", "1", "", "4OP01"] {
            assert!(!gave_way(code), "{code}");
        }
    }
}
