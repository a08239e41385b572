//! The unified inbox: conversations and messages of every connected LinkedIn
//! account, the inbox sync's per-account state, and the small queue helpers
//! the sync worker needs.
//!
//! Conversations are keyed by (account, provider chat id) and messages by
//! (account, provider message id), so the poller, webhooks and the outbound
//! scheduler can all record the same message and it is stored once.

use crate::page::{Keyset, ListQuery};
use crate::queue::{WorkItem, release_in};
use crate::{Store, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::id::new_hex_id;
use sonarly_domain::linkedin_account::AccountType;
use sonarly_domain::page::PageRequest;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// Work-item kind of the per-account inbox sync (one row per account, never finished).
pub const INBOX_SYNC_WORK: &str = "inbox_sync";

/// What we know about a conversation when recording into it. `None` fields
/// leave what is stored untouched.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChatRef {
    /// The provider's thread id (`2-…`).
    pub provider_chat_id: String,
    pub name: Option<String>,
    /// The other participant's member id.
    pub participant_provider_id: Option<String>,
    /// Our prospect behind the participant, when it resolves to exactly one.
    pub prospect_id: Option<String>,
    pub is_inmail: bool,
}

/// A message to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub provider_message_id: String,
    pub sender_provider_id: String,
    /// True when the connected account sent it.
    pub is_sender: bool,
    pub body: String,
    pub sent_at: Timestamp,
    /// The provider id of the message this one answers.
    pub parent_message_id: Option<String>,
    /// Attachment metadata as a JSON array.
    pub attachments_json: String,
    /// `None` takes the conversation's prospect.
    pub prospect_id: Option<String>,
}

/// What recording a message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestedMessage {
    pub conversation_id: String,
    pub message_id: String,
    /// False when the message was already stored (nothing changed).
    pub is_new: bool,
}

/// A stored conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: String,
    pub group_id: GroupId,
    pub linkedin_account_id: String,
    pub provider_chat_id: String,
    pub name: Option<String>,
    pub participant_provider_id: Option<String>,
    pub prospect_id: Option<String>,
    pub is_inmail: bool,
    pub unread_count: i64,
    pub last_message_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One message of the inbox listing, joined with its conversation and account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxMessage {
    pub id: String,
    pub text: String,
    pub sent_at: Timestamp,
    pub account_id: String,
    pub account_type: AccountType,
    pub conversation_id: String,
    pub conversation_provider_id: String,
    pub conversation_name: Option<String>,
    pub participant_provider_id: Option<String>,
    pub sender_id: String,
    pub is_sender: bool,
    pub unread_count: i64,
    /// Our id of the parent message, when it is stored.
    pub parent_message_id: Option<String>,
    /// The provider's id of the parent message, as the provider gave it.
    pub parent_provider_message_id: Option<String>,
    pub attachments_json: String,
    pub prospect_id: Option<String>,
}

/// Where the inbox sync of one account stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InboxSyncState {
    pub linkedin_account_id: String,
    /// The first full pass is done.
    pub backfilled: bool,
    /// The most recent chat activity seen (provider time): the next pass stops below it.
    pub last_activity_at: Option<Timestamp>,
    pub last_synced_at: Option<Timestamp>,
    /// The most recent connection seen.
    pub last_relation_at: Option<Timestamp>,
    /// When the next sweep of connections is due (`None`: at the next pass).
    pub next_relation_sweep_at: Option<Timestamp>,
}

fn millis(row: &AnyRow, name: &str) -> Result<Option<Timestamp>, sqlx::Error> {
    Ok(row.try_get::<Option<i64>, _>(name)?.map(Timestamp::from_millis))
}

fn conversation_from_row(row: &AnyRow) -> Result<Conversation, sqlx::Error> {
    Ok(Conversation {
        id: row.try_get("id")?,
        group_id: GroupId::new(row.try_get::<String, _>("group_id")?),
        linkedin_account_id: row.try_get("linkedin_account_id")?,
        provider_chat_id: row.try_get("provider_chat_id")?,
        name: row.try_get("name")?,
        participant_provider_id: row.try_get("participant_provider_id")?,
        prospect_id: row.try_get("prospect_id")?,
        is_inmail: row.try_get::<i64, _>("is_inmail")? != 0,
        unread_count: row.try_get("unread_count")?,
        last_message_at: millis(row, "last_message_at")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

fn message_from_row(row: &AnyRow) -> Result<InboxMessage, sqlx::Error> {
    Ok(InboxMessage {
        id: row.try_get("id")?,
        text: row.try_get("body")?,
        sent_at: Timestamp::from_millis(row.try_get("sent_at")?),
        account_id: row.try_get("linkedin_account_id")?,
        account_type: crate::sql::one_of(row, "account_type", AccountType::parse)?,
        conversation_id: row.try_get("conversation_id")?,
        conversation_provider_id: row.try_get("provider_chat_id")?,
        conversation_name: row.try_get("conversation_name")?,
        participant_provider_id: row.try_get("participant_provider_id")?,
        sender_id: row.try_get("sender_provider_id")?,
        is_sender: row.try_get::<i64, _>("is_sender")? != 0,
        unread_count: row.try_get("unread_count")?,
        parent_message_id: row.try_get("parent_id")?,
        parent_provider_message_id: row.try_get("parent_message_id")?,
        attachments_json: row.try_get("attachments")?,
        prospect_id: row.try_get("prospect_id")?,
    })
}

fn sync_state_from_row(row: &AnyRow) -> Result<InboxSyncState, sqlx::Error> {
    Ok(InboxSyncState {
        linkedin_account_id: row.try_get("linkedin_account_id")?,
        backfilled: row.try_get::<i64, _>("backfilled")? != 0,
        last_activity_at: millis(row, "last_activity_at")?,
        last_synced_at: millis(row, "last_synced_at")?,
        last_relation_at: millis(row, "last_relation_at")?,
        next_relation_sweep_at: millis(row, "next_relation_sweep_at")?,
    })
}

/// The listing's columns: the message, its conversation, its account, and our
/// id of the parent message (one indexed lookup per row, only when there is a parent).
const LIST_SELECT: &str = "SELECT m.id, m.body, m.sent_at, m.linkedin_account_id, la.account_type, m.conversation_id, \
     c.provider_chat_id, c.name AS conversation_name, c.participant_provider_id, m.sender_provider_id, m.is_sender, \
     c.unread_count, m.parent_message_id, pm.id AS parent_id, m.attachments, \
     COALESCE(m.prospect_id, c.prospect_id) AS prospect_id \
     FROM messages m JOIN conversations c ON c.id = m.conversation_id \
     JOIN linkedin_accounts la ON la.id = m.linkedin_account_id \
     LEFT JOIN messages pm ON pm.linkedin_account_id = m.linkedin_account_id \
     AND pm.provider_message_id = m.parent_message_id \
     WHERE m.group_id = $1";

/// Inserts the conversation when missing, otherwise fills only what it does
/// not know yet (a message alone cannot tell more than the provider's chat
/// listing did). Returns its id.
async fn fill_conversation_in(
    tx: &mut Transaction<'static, Any>,
    account_id: &str,
    group_id: &GroupId,
    chat: &ChatRef,
    now: Timestamp,
) -> StoreResult<String> {
    let id: String = sqlx::query_scalar(
        "INSERT INTO conversations (id, group_id, linkedin_account_id, provider_chat_id, name, participant_provider_id, \
         prospect_id, is_inmail, unread_count, last_message_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, NULL, $9, $9) \
         ON CONFLICT (linkedin_account_id, provider_chat_id) DO UPDATE SET \
         name = COALESCE(conversations.name, excluded.name), \
         participant_provider_id = COALESCE(conversations.participant_provider_id, excluded.participant_provider_id), \
         prospect_id = COALESCE(conversations.prospect_id, excluded.prospect_id), \
         is_inmail = CASE WHEN excluded.is_inmail > conversations.is_inmail THEN excluded.is_inmail \
         ELSE conversations.is_inmail END \
         RETURNING id",
    )
    .bind(new_hex_id(now))
    .bind(group_id.as_str())
    .bind(account_id)
    .bind(&chat.provider_chat_id)
    .bind(&chat.name)
    .bind(&chat.participant_provider_id)
    .bind(&chat.prospect_id)
    .bind(i64::from(chat.is_inmail))
    .bind(now.as_millis())
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// Records one message (once) into its conversation, creating the
/// conversation when needed. A new message moves `last_message_at` forward;
/// an inbound one adds to `unread_count`, an outbound one at least as recent
/// as the conversation resets it (LinkedIn marks a thread read when you write in it).
async fn ingest_in(
    tx: &mut Transaction<'static, Any>,
    account_id: &str,
    group_id: &GroupId,
    chat: &ChatRef,
    message: &NewMessage,
    now: Timestamp,
) -> StoreResult<IngestedMessage> {
    let conversation_id = fill_conversation_in(tx, account_id, group_id, chat, now).await?;
    let inserted: Option<String> = sqlx::query_scalar(
        "INSERT INTO messages (id, group_id, linkedin_account_id, conversation_id, provider_message_id, \
         sender_provider_id, is_sender, body, sent_at, parent_message_id, attachments, prospect_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
         COALESCE($12, (SELECT prospect_id FROM conversations WHERE id = $4)), $13) \
         ON CONFLICT (linkedin_account_id, provider_message_id) DO NOTHING RETURNING id",
    )
    .bind(new_hex_id(message.sent_at))
    .bind(group_id.as_str())
    .bind(account_id)
    .bind(&conversation_id)
    .bind(&message.provider_message_id)
    .bind(&message.sender_provider_id)
    .bind(i64::from(message.is_sender))
    .bind(&message.body)
    .bind(message.sent_at.as_millis())
    .bind(&message.parent_message_id)
    .bind(&message.attachments_json)
    .bind(&message.prospect_id)
    .bind(now.as_millis())
    .fetch_optional(&mut **tx)
    .await?;
    let Some(message_id) = inserted else {
        let existing: String =
            sqlx::query_scalar("SELECT id FROM messages WHERE linkedin_account_id = $1 AND provider_message_id = $2")
                .bind(account_id)
                .bind(&message.provider_message_id)
                .fetch_one(&mut **tx)
                .await?;
        return Ok(IngestedMessage { conversation_id, message_id: existing, is_new: false });
    };
    let unread = if message.is_sender {
        "CASE WHEN last_message_at IS NULL OR last_message_at <= $2 THEN 0 ELSE unread_count END"
    } else {
        "unread_count + 1"
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE conversations SET unread_count = {unread}, \
         last_message_at = CASE WHEN last_message_at IS NULL OR last_message_at < $2 THEN $2 ELSE last_message_at END, \
         updated_at = $3 WHERE id = $1"
    )))
    .bind(&conversation_id)
    .bind(message.sent_at.as_millis())
    .bind(now.as_millis())
    .execute(&mut **tx)
    .await?;
    crate::events::append_message_event_in(tx, account_id, group_id, &conversation_id, &message_id, chat, message, now)
        .await?;
    Ok(IngestedMessage { conversation_id, message_id, is_new: true })
}

impl Store {
    /// Records what the provider's chat listing says about a conversation: its
    /// name, participant, prospect link and kind replace what was stored (when
    /// given); `unread_count`, when given, is taken as is; `last_activity_at`
    /// only moves `last_message_at` forward. Messages of the conversation not
    /// yet linked to a prospect are linked to the conversation's. Returns its id.
    pub async fn upsert_conversation(
        &self,
        account_id: &str,
        group_id: &GroupId,
        chat: &ChatRef,
        unread_count: Option<i64>,
        last_activity_at: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<String> {
        let mut tx = self.writer.begin().await?;
        let id: String = sqlx::query_scalar(
            "INSERT INTO conversations (id, group_id, linkedin_account_id, provider_chat_id, name, \
             participant_provider_id, prospect_id, is_inmail, unread_count, last_message_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9, 0), $10, $11, $11) \
             ON CONFLICT (linkedin_account_id, provider_chat_id) DO UPDATE SET \
             name = COALESCE(excluded.name, conversations.name), \
             participant_provider_id = COALESCE(excluded.participant_provider_id, conversations.participant_provider_id), \
             prospect_id = COALESCE(excluded.prospect_id, conversations.prospect_id), \
             is_inmail = CASE WHEN excluded.is_inmail > conversations.is_inmail THEN excluded.is_inmail \
             ELSE conversations.is_inmail END, \
             unread_count = COALESCE($9, conversations.unread_count), \
             last_message_at = CASE WHEN excluded.last_message_at IS NOT NULL AND (conversations.last_message_at IS NULL \
             OR excluded.last_message_at > conversations.last_message_at) THEN excluded.last_message_at \
             ELSE conversations.last_message_at END, \
             updated_at = excluded.updated_at \
             RETURNING id",
        )
        .bind(new_hex_id(now))
        .bind(group_id.as_str())
        .bind(account_id)
        .bind(&chat.provider_chat_id)
        .bind(&chat.name)
        .bind(&chat.participant_provider_id)
        .bind(&chat.prospect_id)
        .bind(i64::from(chat.is_inmail))
        .bind(unread_count)
        .bind(last_activity_at.map(Timestamp::as_millis))
        .bind(now.as_millis())
        .fetch_one(&mut *tx)
        .await?;
        if let Some(prospect_id) = &chat.prospect_id {
            sqlx::query("UPDATE messages SET prospect_id = $2 WHERE conversation_id = $1 AND prospect_id IS NULL")
                .bind(&id)
                .bind(prospect_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Records a message once by (account, provider message id), creating its
    /// conversation when needed, in one transaction. A repeat changes nothing
    /// and reports `is_new: false` with the stored ids.
    pub async fn ingest_message(
        &self,
        account_id: &str,
        group_id: &GroupId,
        chat: &ChatRef,
        message: &NewMessage,
        now: Timestamp,
    ) -> StoreResult<IngestedMessage> {
        let mut tx = self.writer.begin().await?;
        let ingested = ingest_in(&mut tx, account_id, group_id, chat, message, now).await?;
        tx.commit().await?;
        Ok(ingested)
    }

    /// For the outbound scheduler: a message the account just sent shows in
    /// the inbox at once (the sync later finds the same provider message id and
    /// skips it). Returns (conversation id, message id), the stored ones on a repeat.
    pub async fn record_outbound_message(
        &self,
        account_id: &str,
        group_id: &GroupId,
        chat: &ChatRef,
        message: &NewMessage,
    ) -> StoreResult<(String, String)> {
        let ingested = self.ingest_message(account_id, group_id, chat, message, message.sent_at).await?;
        Ok((ingested.conversation_id, ingested.message_id))
    }

    /// A conversation of the group by our id.
    pub async fn get_conversation(
        &self,
        group_id: &GroupId,
        conversation_id: &str,
    ) -> StoreResult<Option<Conversation>> {
        let row = sqlx::query("SELECT * FROM conversations WHERE group_id = $1 AND id = $2")
            .bind(group_id.as_str())
            .bind(conversation_id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(conversation_from_row).transpose()?)
    }

    /// A conversation of an account by the provider's thread id.
    pub async fn conversation_by_provider_chat(
        &self,
        account_id: &str,
        provider_chat_id: &str,
    ) -> StoreResult<Option<Conversation>> {
        let row = sqlx::query("SELECT * FROM conversations WHERE linkedin_account_id = $1 AND provider_chat_id = $2")
            .bind(account_id)
            .bind(provider_chat_id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(conversation_from_row).transpose()?)
    }

    /// Every conversation of an account, most recent first (tests, tools).
    pub async fn account_conversations(&self, account_id: &str) -> StoreResult<Vec<Conversation>> {
        let rows = sqlx::query(
            "SELECT * FROM conversations WHERE linkedin_account_id = $1 ORDER BY last_message_at DESC, id DESC",
        )
        .bind(account_id)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.iter().map(conversation_from_row).collect::<Result<_, _>>()?)
    }

    /// The `sent_at` of message `message_id` of `group_id` (its place in the message list).
    pub async fn message_sent_at(&self, group_id: &GroupId, message_id: &str) -> StoreResult<Option<Timestamp>> {
        let at: Option<i64> = sqlx::query_scalar("SELECT sent_at FROM messages WHERE group_id = $1 AND id = $2")
            .bind(group_id.as_str())
            .bind(message_id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(at.map(Timestamp::from_millis))
    }

    /// One page of the group's messages (or one conversation's), newest first
    /// (`limit + 1` rows). The cursor position is (sent_at, id); both orders
    /// walk an index, so a deep page costs what the first does.
    pub async fn list_messages(
        &self,
        group_id: &GroupId,
        conversation_id: Option<&str>,
        page: &PageRequest,
    ) -> StoreResult<Vec<InboxMessage>> {
        let rows = ListQuery::new(LIST_SELECT)
            .bind(group_id)
            .and_eq("m.conversation_id", conversation_id)
            .page(&Keyset::page(page).by("m.sent_at", "m.id"))
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.iter().map(message_from_row).collect::<Result<_, _>>()?)
    }

    /// Messages stored for an account (tests, metrics).
    pub async fn count_account_messages(&self, account_id: &str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE linkedin_account_id = $1")
            .bind(account_id)
            .fetch_one(&self.reader)
            .await?)
    }

    /// The provider's ids of every message stored for an account (tests, audits against the provider).
    pub async fn account_provider_message_ids(&self, account_id: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT provider_message_id FROM messages WHERE linkedin_account_id = $1")
            .bind(account_id)
            .fetch_all(&self.reader)
            .await?)
    }

    /// Where the inbox sync of an account stands (`None` before its first pass).
    pub async fn inbox_sync_state(&self, account_id: &str) -> StoreResult<Option<InboxSyncState>> {
        let row = sqlx::query("SELECT * FROM inbox_sync_state WHERE linkedin_account_id = $1")
            .bind(account_id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(sync_state_from_row).transpose()?)
    }

    /// Writes an account's sync state (outside any pass: tools, tests).
    pub async fn save_inbox_sync_state(&self, state: &InboxSyncState) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        save_sync_state_in(&mut tx, state).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a sync pass: saves the new state and hands the account's row back
    /// to the queue for `next_run_at`, in one transaction guarded by the lease.
    /// False when the lease was lost (nothing is written; the other holder's
    /// pass decides).
    pub async fn complete_inbox_sync(
        &self,
        item: &WorkItem,
        state: &InboxSyncState,
        next_run_at: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        if !release_in(&mut tx, item, false, next_run_at, None).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        save_sync_state_in(&mut tx, state).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Queues a `kind` row for `ref_id` unless one exists; true when inserted.
    pub async fn ensure_work(
        &self,
        kind: &str,
        ref_id: &str,
        group_id: &GroupId,
        run_at: Timestamp,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO work_items (id, kind, ref_id, group_id, run_at, attempts, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $5) ON CONFLICT (kind, ref_id) DO NOTHING",
        )
        .bind(new_hex_id(run_at))
        .bind(kind)
        .bind(ref_id)
        .bind(group_id.as_str())
        .bind(run_at.as_millis())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Connected LinkedIn accounts (id, group id) with no `kind` row queued:
    /// one read, so checking on every engine step costs nothing when all are queued.
    pub(crate) async fn accounts_without_work(&self, kind: &str) -> StoreResult<Vec<(String, GroupId)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT la.id, la.group_id FROM linkedin_accounts la WHERE NOT EXISTS \
             (SELECT 1 FROM work_items w WHERE w.kind = $1 AND w.ref_id = la.id) ORDER BY la.created_at, la.id",
        )
        .bind(kind)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.into_iter().map(|(id, group)| (id, GroupId::new(group))).collect())
    }

    /// A member became a first-degree connection: the group's prospects known
    /// under that id say so. Returns how many prospects changed.
    pub async fn mark_prospects_connected(
        &self,
        group_id: &GroupId,
        provider_id: &str,
        now: Timestamp,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE prospects SET connection_degree = 1, updated_at = $3 WHERE group_id = $1 \
             AND (provider_id = $2 OR member_id = $2) AND (connection_degree IS NULL OR connection_degree <> 1)",
        )
        .bind(group_id.as_str())
        .bind(provider_id)
        .bind(now.as_millis())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }
}

async fn save_sync_state_in(tx: &mut Transaction<'static, Any>, state: &InboxSyncState) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO inbox_sync_state (linkedin_account_id, backfilled, last_activity_at, last_synced_at, \
         last_relation_at, next_relation_sweep_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (linkedin_account_id) DO UPDATE SET \
         backfilled = excluded.backfilled, last_activity_at = excluded.last_activity_at, \
         last_synced_at = excluded.last_synced_at, last_relation_at = excluded.last_relation_at, \
         next_relation_sweep_at = excluded.next_relation_sweep_at",
    )
    .bind(&state.linkedin_account_id)
    .bind(i64::from(state.backfilled))
    .bind(state.last_activity_at.map(Timestamp::as_millis))
    .bind(state.last_synced_at.map(Timestamp::as_millis))
    .bind(state.last_relation_at.map(Timestamp::as_millis))
    .bind(state.next_relation_sweep_at.map(Timestamp::as_millis))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
