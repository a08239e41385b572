//! Installation-wide settings, such as the cursor-signing secret.

use crate::{Store, StoreResult};

impl Store {
    /// Returns the setting `name`, storing `initial` first if it has none yet.
    /// Concurrent first calls agree on one value.
    pub async fn setting_or_init(&self, name: &str, initial: &str) -> StoreResult<String> {
        sqlx::query("INSERT INTO server_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(initial)
            .execute(&self.writer)
            .await?;
        let value: String = sqlx::query_scalar("SELECT value FROM server_settings WHERE name = $1")
            .bind(name)
            .fetch_one(&self.writer)
            .await?;
        Ok(value)
    }
}
