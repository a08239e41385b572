//! Data generators for benchmarks (`bench/`): bulk rows made inside the
//! database in one statement, so loading a million rows takes seconds.

use crate::{Backend, Store, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;

const CONVERSATIONS_SQLITE: &str = "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < $3) \
     INSERT INTO conversations (id, group_id, linkedin_account_id, provider_chat_id, name, participant_provider_id, \
     prospect_id, is_inmail, unread_count, last_message_at, created_at, updated_at) \
     SELECT printf('c%023x', n), $1, $2, printf('2-bench%d', n), printf('Contact %d', n), printf('ACoAAbench%029d', n), \
     NULL, 0, 0, $4, $4, $4 FROM seq";

const CONVERSATIONS_POSTGRES: &str = "INSERT INTO conversations (id, group_id, linkedin_account_id, provider_chat_id, name, \
     participant_provider_id, prospect_id, is_inmail, unread_count, last_message_at, created_at, updated_at) \
     SELECT 'c' || lpad(to_hex(n), 23, '0'), $1, $2, '2-bench' || n, 'Contact ' || n, 'ACoAAbench' || lpad(n::text, 29, '0'), \
     NULL, 0, 0, $4, $4, $4 FROM generate_series(0, $3 - 1) AS n";

const MESSAGES_SQLITE: &str = "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < $4) \
     INSERT INTO messages (id, group_id, linkedin_account_id, conversation_id, provider_message_id, sender_provider_id, \
     is_sender, body, sent_at, parent_message_id, attachments, prospect_id, created_at) \
     SELECT printf('m%023x', n), $1, $2, printf('c%023x', n % $3), printf('2-msg%d', n), printf('ACoAAbench%029d', n % $3), \
     n % 2, printf('Benchmark message %d', n), $5 + n * 1000, NULL, '[]', NULL, $5 FROM seq";

const MESSAGES_POSTGRES: &str = "INSERT INTO messages (id, group_id, linkedin_account_id, conversation_id, provider_message_id, \
     sender_provider_id, is_sender, body, sent_at, parent_message_id, attachments, prospect_id, created_at) \
     SELECT 'm' || lpad(to_hex(n), 23, '0'), $1, $2, 'c' || lpad(to_hex(n % $3), 23, '0'), '2-msg' || n, \
     'ACoAAbench' || lpad((n % $3)::text, 29, '0'), n % 2, 'Benchmark message ' || n, $5 + n * 1000, NULL, '[]', NULL, $5 \
     FROM generate_series(0, $4 - 1) AS n";

impl Store {
    /// Creates `conversations` conversations and `messages` messages (spread
    /// over them, one second apart from `start`) for one account of a group.
    pub async fn generate_messages(
        &self,
        group_id: &GroupId,
        account_id: &str,
        conversations: i64,
        messages: i64,
        start: Timestamp,
    ) -> StoreResult<()> {
        let (conversations_sql, messages_sql) = match self.backend() {
            Backend::Sqlite => (CONVERSATIONS_SQLITE, MESSAGES_SQLITE),
            Backend::Postgres => (CONVERSATIONS_POSTGRES, MESSAGES_POSTGRES),
        };
        let mut tx = self.writer.begin().await?;
        sqlx::query(conversations_sql)
            .bind(group_id.as_str())
            .bind(account_id)
            .bind(conversations)
            .bind(start.as_millis())
            .execute(&mut *tx)
            .await?;
        sqlx::query(messages_sql)
            .bind(group_id.as_str())
            .bind(account_id)
            .bind(conversations)
            .bind(messages)
            .bind(start.as_millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
