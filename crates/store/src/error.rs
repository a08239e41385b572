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
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UniqueViolation(m) => write!(f, "unique violation: {m}"),
            Self::Database(e) => write!(f, "database error: {e}"),
            Self::Migration(e) => write!(f, "migration error: {e}"),
            Self::Config(m) => write!(f, "database configuration error: {m}"),
            Self::Connect(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.kind() == sqlx::error::ErrorKind::UniqueViolation
        {
            return Self::UniqueViolation(db.message().to_owned());
        }
        Self::Database(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Migration(e)
    }
}
