//! Fenced outbound sends: the one record every provider action of a response
//! or a campaign step goes through (docs/decisions.md, "Exactly-once sends").
//!
//! A send is keyed by its action's token and holds the exact payload, stored
//! before the first attempt, so retries and reconciliation use the same text.
//! Before calling the provider the worker begins an attempt (number, owner,
//! start, deadline; `in_flight`); the call ends `delivered`, `ready` again
//! (the provider refused: nothing was delivered), or `unknown` (timeout,
//! reset, 5xx) until a settle time. Every statement that ends an attempt is
//! fenced by its number and state ([`Settle`]), so a stale owner finishing
//! late changes nothing. `provider_ref` attributes a provider message or
//! invitation to at most one send of an account (a unique constraint).

use crate::queue::{WorkItem, release_in};
use crate::{Store, StoreResult};
use sonarly_domain::Timestamp;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row, Transaction};

/// Where a send stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendState {
    /// Stored, no attempt running: the next attempt may begin.
    Ready,
    /// An attempt is calling the provider (until its deadline).
    InFlight,
    /// An attempt ended without a known outcome; reconciled after `settle_at`.
    Unknown,
    /// Done: the provider performed it (attributed by `provider_ref` when it named it).
    Delivered,
    /// Given up (its response or step failed with a reason).
    Failed,
}

impl SendState {
    pub const ALL: [Self; 5] = [Self::Ready, Self::InFlight, Self::Unknown, Self::Delivered, Self::Failed];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::InFlight => "in_flight",
            Self::Unknown => "unknown",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// An attempt whose outcome is not established yet.
    pub fn is_pending(self) -> bool {
        matches!(self, Self::InFlight | Self::Unknown)
    }
}

/// The provider action a send performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendAction {
    /// A message in an existing conversation.
    Message,
    /// A message that starts (or finds) the conversation with the recipient.
    StartChat,
    InMail,
    Invitation,
    Visit,
    Follow,
    Reaction,
}

impl SendAction {
    pub const ALL: [Self; 7] =
        [Self::Message, Self::StartChat, Self::InMail, Self::Invitation, Self::Visit, Self::Follow, Self::Reaction];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::StartChat => "start_chat",
            Self::InMail => "inmail",
            Self::Invitation => "invitation",
            Self::Visit => "visit",
            Self::Follow => "follow",
            Self::Reaction => "reaction",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A send as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundSend {
    pub token: String,
    pub linkedin_account_id: String,
    /// The work row that owns it (`outbound` or `campaign_step`) and its ref.
    pub work_kind: String,
    pub ref_id: String,
    pub action: SendAction,
    pub recipient_provider_id: String,
    pub provider_chat_id: Option<String>,
    pub subject: Option<String>,
    /// The exact text (message, InMail body, invitation note), composed once.
    pub body: Option<String>,
    pub state: SendState,
    /// Attempts begun so far (0 before the first); the current attempt's number.
    pub attempt: i64,
    pub owner: Option<String>,
    pub started_at: Option<Timestamp>,
    pub deadline: Option<Timestamp>,
    pub settle_at: Option<Timestamp>,
    /// What the provider produced, once attributed (`message:<id>`, `invitation:<id>`).
    pub provider_ref: Option<String>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A payload to store before the first attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSend {
    pub token: String,
    pub linkedin_account_id: String,
    pub work_kind: String,
    pub ref_id: String,
    pub action: SendAction,
    pub recipient_provider_id: String,
    pub provider_chat_id: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
}

/// The attempt a statement speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub token: String,
    pub attempt: i64,
}

/// How a finishing statement ends the attempt it speaks for: applied in the
/// same transaction, and the whole statement does nothing unless the attempt
/// is still the current one and not ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settle<'a> {
    pub fence: &'a Fence,
    pub state: SendState,
    /// The provider message or invitation now attributed to this send.
    pub provider_ref: Option<&'a str>,
    pub error: Option<&'a str>,
}

fn ms(row: &AnyRow, column: &str) -> Result<Option<Timestamp>, sqlx::Error> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(Timestamp::from_millis))
}

fn send_from_row(row: &AnyRow) -> Result<OutboundSend, sqlx::Error> {
    let action: String = row.try_get("action")?;
    let state: String = row.try_get("state")?;
    Ok(OutboundSend {
        token: row.try_get("token")?,
        linkedin_account_id: row.try_get("linkedin_account_id")?,
        work_kind: row.try_get("work_kind")?,
        ref_id: row.try_get("ref_id")?,
        action: SendAction::parse(&action)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown send action {action}").into()))?,
        recipient_provider_id: row.try_get("recipient_provider_id")?,
        provider_chat_id: row.try_get("provider_chat_id")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        state: SendState::parse(&state)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown send state {state}").into()))?,
        attempt: row.try_get("attempt")?,
        owner: row.try_get("owner")?,
        started_at: ms(row, "started_at")?,
        deadline: ms(row, "deadline")?,
        settle_at: ms(row, "settle_at")?,
        provider_ref: row.try_get("provider_ref")?,
        last_error: row.try_get("last_error")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

/// Ends the attempt `settle` speaks for, inside a caller's transaction; false
/// when it is no longer the current, unended attempt (the caller rolls back).
/// A `provider_ref` another send holds fails with a unique violation.
pub(crate) async fn settle_in(
    tx: &mut Transaction<'static, Any>,
    settle: &Settle<'_>,
    now: Timestamp,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE outbound_sends SET state = $3, provider_ref = COALESCE($4, provider_ref), \
         last_error = COALESCE($5, last_error), updated_at = $6 \
         WHERE token = $1 AND attempt = $2 AND state IN ($7, $8)",
    )
    .bind(&settle.fence.token)
    .bind(settle.fence.attempt)
    .bind(settle.state.as_str())
    .bind(settle.provider_ref)
    .bind(settle.error)
    .bind(now.as_millis())
    .bind(SendState::InFlight.as_str())
    .bind(SendState::Unknown.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Opens a finishing transaction: settles the attempt first when there is
/// one; `None` means the fence failed and nothing may be written.
pub(crate) async fn begin_finish(
    store: &Store,
    settle: Option<&Settle<'_>>,
    now: Timestamp,
) -> StoreResult<Option<Transaction<'static, Any>>> {
    let mut tx = store.writer.begin().await?;
    if let Some(settle) = settle
        && !settle_in(&mut tx, settle, now).await?
    {
        tx.rollback().await?;
        return Ok(None);
    }
    Ok(Some(tx))
}

/// The columns of a [`NewSend`], in the order [`bind_payload`] binds them (`$1` to `$9`).
const PAYLOAD_COLUMNS: &str =
    "token, linkedin_account_id, work_kind, ref_id, action, recipient_provider_id, provider_chat_id, subject, body";

/// Binds a [`NewSend`]'s payload to `$1` to `$9` ([`PAYLOAD_COLUMNS`]).
fn bind_payload<'q>(query: Query<'q, Any, AnyArguments>, new: &NewSend) -> Query<'q, Any, AnyArguments> {
    query
        .bind(&new.token)
        .bind(&new.linkedin_account_id)
        .bind(&new.work_kind)
        .bind(&new.ref_id)
        .bind(new.action.as_str())
        .bind(&new.recipient_provider_id)
        .bind(&new.provider_chat_id)
        .bind(&new.subject)
        .bind(&new.body)
}

impl Store {
    /// Stores a send's payload before its first attempt; when one exists for
    /// the token already, that one is kept (and returned): text is composed once.
    pub async fn prepare_send(&self, new: &NewSend, now: Timestamp) -> StoreResult<OutboundSend> {
        let sql = format!(
            "INSERT INTO outbound_sends ({PAYLOAD_COLUMNS}, state, attempt, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $11) ON CONFLICT (token) DO NOTHING"
        );
        bind_payload(sqlx::query(sqlx::AssertSqlSafe(sql)), new)
            .bind(SendState::Ready.as_str())
            .bind(now.as_millis())
            .execute(&self.writer)
            .await?;
        self.stored_send(&new.token).await
    }

    /// Stores the payload of an action that may already have been attempted
    /// without a record (a row claimed before this table existed, or a claim
    /// that died between reserving the slot and storing the send): its one
    /// attempt counts as started at `started_at` with an outcome unknown until
    /// `settle_at`, so it is reconciled before anything is sent. An existing send is kept.
    pub async fn adopt_unrecorded_attempt(
        &self,
        new: &NewSend,
        started_at: Timestamp,
        settle_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<OutboundSend> {
        let sql = format!(
            "INSERT INTO outbound_sends ({PAYLOAD_COLUMNS}, state, attempt, started_at, deadline, settle_at, last_error, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11, $12, $13, $14, $14) \
             ON CONFLICT (token) DO NOTHING"
        );
        bind_payload(sqlx::query(sqlx::AssertSqlSafe(sql)), new)
            .bind(SendState::Unknown.as_str())
            .bind(started_at.as_millis())
            .bind(settle_at.as_millis())
            .bind("an earlier claim may have sent it without a record")
            .bind(now.as_millis())
            .execute(&self.writer)
            .await?;
        self.stored_send(&new.token).await
    }

    /// The send just inserted (or kept) under `token`, read back on the
    /// connection that wrote it.
    async fn stored_send(&self, token: &str) -> StoreResult<OutboundSend> {
        send_on(&self.writer, token)
            .await?
            .ok_or_else(|| crate::StoreError::Config(format!("send {token} vanished after insert")))
    }

    pub async fn get_send(&self, token: &str) -> StoreResult<Option<OutboundSend>> {
        send_on(&self.reader, token).await
    }

    /// Begins attempt `after + 1` of a `ready` send whose current attempt is
    /// `after`, recorded durably before the provider is called; `None` when
    /// someone else began (or ended) one first. `chat` updates the target
    /// conversation when one became known.
    #[allow(clippy::too_many_arguments)]
    pub async fn begin_attempt(
        &self,
        token: &str,
        after: i64,
        owner: &str,
        chat: Option<&str>,
        now: Timestamp,
        deadline: Timestamp,
    ) -> StoreResult<Option<Fence>> {
        let done = sqlx::query(
            "UPDATE outbound_sends SET attempt = attempt + 1, state = $3, owner = $4, started_at = $5, deadline = $6, \
             settle_at = NULL, provider_chat_id = COALESCE($7, provider_chat_id), updated_at = $5 \
             WHERE token = $1 AND attempt = $2 AND state = $8",
        )
        .bind(token)
        .bind(after)
        .bind(SendState::InFlight.as_str())
        .bind(owner)
        .bind(now.as_millis())
        .bind(deadline.as_millis())
        .bind(chat)
        .bind(SendState::Ready.as_str())
        .execute(&self.writer)
        .await?;
        Ok((done.rows_affected() == 1).then(|| Fence { token: token.to_owned(), attempt: after + 1 }))
    }

    /// Stores a payload and begins its first attempt in one statement (the
    /// payload is stored elsewhere already, so nothing waits between the two:
    /// a scheduled response); `None` when a send for the token exists.
    pub async fn begin_first_attempt(
        &self,
        new: &NewSend,
        owner: &str,
        now: Timestamp,
        deadline: Timestamp,
    ) -> StoreResult<Option<Fence>> {
        let done = sqlx::query(
            "INSERT INTO outbound_sends (token, linkedin_account_id, work_kind, ref_id, action, recipient_provider_id, \
             provider_chat_id, subject, body, state, attempt, owner, started_at, deadline, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $13, $12, $12) ON CONFLICT (token) DO NOTHING",
        )
        .bind(&new.token)
        .bind(&new.linkedin_account_id)
        .bind(&new.work_kind)
        .bind(&new.ref_id)
        .bind(new.action.as_str())
        .bind(&new.recipient_provider_id)
        .bind(&new.provider_chat_id)
        .bind(&new.subject)
        .bind(&new.body)
        .bind(SendState::InFlight.as_str())
        .bind(owner)
        .bind(now.as_millis())
        .bind(deadline.as_millis())
        .execute(&self.writer)
        .await?;
        Ok((done.rows_affected() == 1).then(|| Fence { token: new.token.clone(), attempt: 1 }))
    }

    /// Marks the attempt's outcome unknown until `settle_at` and releases the
    /// work row to run then (under its lease; a claim that only waits is not
    /// counted); false when the attempt was already ended or superseded.
    pub async fn mark_send_unknown(
        &self,
        item: &WorkItem,
        fence: &Fence,
        settle_at: Timestamp,
        error: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "UPDATE outbound_sends SET state = $3, settle_at = $4, last_error = $5, updated_at = $6 \
             WHERE token = $1 AND attempt = $2 AND state = $7",
        )
        .bind(&fence.token)
        .bind(fence.attempt)
        .bind(SendState::Unknown.as_str())
        .bind(settle_at.as_millis())
        .bind(error)
        .bind(now.as_millis())
        .bind(SendState::InFlight.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        release_in(&mut tx, item, false, settle_at, Some("OUTCOME_UNKNOWN")).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Reconciliation found no trace of the attempt: the send is `ready` for
    /// the next one. Fenced; false when someone else moved it on.
    pub async fn reset_send(&self, fence: &Fence, now: Timestamp) -> StoreResult<bool> {
        let settle = Settle { fence, state: SendState::Ready, provider_ref: None, error: None };
        let mut tx = self.writer.begin().await?;
        if !settle_in(&mut tx, &settle, now).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Releases a work row to run at `run_at` without counting the claim (a
    /// send waiting to settle, or a reconciliation to try again later); false
    /// when the lease was lost.
    pub async fn wait_send(&self, item: &WorkItem, run_at: Timestamp, reason: &str) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        let done = release_in(&mut tx, item, false, run_at, Some(reason)).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Which of `refs` are attributed to a send of the account already.
    pub async fn attributed_refs(&self, account_id: &str, refs: &[String]) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        for r in refs {
            let held: Option<String> = sqlx::query_scalar(
                "SELECT provider_ref FROM outbound_sends WHERE linkedin_account_id = $1 AND provider_ref = $2",
            )
            .bind(account_id)
            .bind(r)
            .fetch_optional(&self.reader)
            .await?;
            out.extend(held);
        }
        Ok(out)
    }

    /// Sends of an account holding the same provider ref (tests: never more than one).
    pub async fn count_attributed(&self, account_id: &str, provider_ref: &str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbound_sends WHERE linkedin_account_id = $1 AND provider_ref = $2",
        )
        .bind(account_id)
        .bind(provider_ref)
        .fetch_one(&self.reader)
        .await?)
    }

    /// Every send of an account (tests and audits).
    pub async fn sends_of_account(&self, account_id: &str) -> StoreResult<Vec<OutboundSend>> {
        let rows =
            sqlx::query("SELECT * FROM outbound_sends WHERE linkedin_account_id = $1 ORDER BY created_at, token")
                .bind(account_id)
                .fetch_all(&self.reader)
                .await?;
        Ok(rows.iter().map(send_from_row).collect::<Result<_, _>>()?)
    }
}

async fn send_on<'c>(
    pool: impl sqlx::Executor<'c, Database = sqlx::Any>,
    token: &str,
) -> StoreResult<Option<OutboundSend>> {
    let row = sqlx::query("SELECT * FROM outbound_sends WHERE token = $1").bind(token).fetch_optional(pool).await?;
    Ok(row.as_ref().map(send_from_row).transpose()?)
}
