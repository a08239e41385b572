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
    /// (e.g. one Idempotency-Key): retryable.
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

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.kind() == sqlx::error::ErrorKind::UniqueViolation
        {
            return Self::UniqueViolation(db.message().to_owned());
        }
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => Self::Unavailable(e),
            e => Self::Database(e),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Migration(e)
    }
}
