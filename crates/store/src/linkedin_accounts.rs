//! Connected LinkedIn accounts and the sandbox journal.

use crate::page::{Keyset, ListQuery};
use crate::{Store, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::linkedin_account::{
    AccountStatus, AccountType, LinkedInAccount, ProviderKind, ReadBudgets, SendingRules, WorkingHours,
};
use sonarly_domain::page::PageRequest;
use sqlx::Row;
use sqlx::any::AnyRow;

/// Queue kind of the per-seat health check (one row per seat).
pub const SEAT_HEALTH_WORK: &str = "seat_health";

fn account_from_row(row: &AnyRow) -> Result<LinkedInAccount, sqlx::Error> {
    let int =
        |name: &str| -> Result<u32, sqlx::Error> { Ok(row.try_get::<i64, _>(name)?.clamp(0, u32::MAX as i64) as u32) };
    let status = crate::sql::one_of(row, "status", AccountStatus::parse)?;
    Ok(LinkedInAccount {
        id: row.try_get("id")?,
        group_id: GroupId::new(row.try_get::<String, _>("group_id")?),
        provider: crate::sql::one_of(row, "provider", ProviderKind::parse)?,
        display_name: row.try_get("display_name")?,
        account_type: crate::sql::one_of(row, "account_type", AccountType::parse)?,
        status,
        rules: SendingRules {
            timezone: row.try_get("timezone")?,
            working_hours: WorkingHours {
                start_minute: int("working_start_minute")? as u16,
                end_minute: int("working_end_minute")? as u16,
            },
            daily_messages: int("daily_messages")?,
            daily_inmails: int("daily_inmails")?,
            daily_invitations: int("daily_invitations")?,
            daily_profile_visits: int("daily_profile_visits")?,
            daily_engagements: int("daily_engagements")?,
            weekly_invitations: int("weekly_invitations")?,
            daily_withdrawals: int("daily_withdrawals")?,
            withdraw_invitations_after_days: int("withdraw_invitations_after_days")?,
            min_spacing_secs: int("min_spacing_secs")?,
            max_spacing_secs: int("max_spacing_secs")?,
            reads: ReadBudgets {
                profile_fetches: int("daily_profile_fetches")?,
                search_pages: int("daily_search_pages")?,
                relation_reads: int("daily_relation_reads")?,
                inbox_reads: int("daily_inbox_reads")?,
                activity_reads: int("daily_activity_reads")?,
            },
            ramp_up_weeks: int("ramp_up_weeks")?,
        },
        provider_settings: row.try_get("provider_settings")?,
        webhook_secret_hash: row.try_get("webhook_secret_hash")?,
        rate_limited_until: row.try_get::<Option<i64>, _>("rate_limited_until")?.map(Timestamp::from_millis),
        status_changed_at: Timestamp::from_millis(row.try_get("status_changed_at")?),
        last_webhook_at: row.try_get::<Option<i64>, _>("last_webhook_at")?.map(Timestamp::from_millis),
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

/// One row of the sandbox journal, in storage terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxActionRow {
    pub seq: i64,
    pub account_id: String,
    pub token: String,
    pub kind: String,
    pub recipient_provider_id: String,
    pub chat_id: Option<String>,
    pub body: Option<String>,
    pub subject: Option<String>,
    pub result_id: String,
    pub at: i64,
}

fn action_from_row(row: &AnyRow) -> Result<SandboxActionRow, sqlx::Error> {
    Ok(SandboxActionRow {
        seq: row.try_get("seq")?,
        account_id: row.try_get("account_id")?,
        token: row.try_get("token")?,
        kind: row.try_get("kind")?,
        recipient_provider_id: row.try_get("recipient_provider_id")?,
        chat_id: row.try_get("chat_id")?,
        body: row.try_get("body")?,
        subject: row.try_get("subject")?,
        result_id: row.try_get("result_id")?,
        at: row.try_get("at")?,
    })
}

const ACTION_COLUMNS: &str =
    "seq, account_id, token, kind, recipient_provider_id, chat_id, body, subject, result_id, at";

impl Store {
    /// Every seat's stored status and whether a pause or LinkedIn's slow-down holds it at
    /// `now` (what makes a connected seat `limited`): (seat id, status, limited). No group
    /// data: what a metrics scrape reads.
    pub(crate) async fn seat_states(&self, now: Timestamp) -> StoreResult<Vec<(String, String, bool)>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT a.id, a.status, CASE WHEN a.rate_limited_until > $1 OR EXISTS (SELECT 1 FROM account_pauses p \
             WHERE p.linkedin_account_id = a.id AND p.until > $1) THEN 1 ELSE 0 END \
             FROM linkedin_accounts a ORDER BY a.id",
        )
        .bind(now.as_millis())
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.into_iter().map(|(id, status, limited)| (id, status, limited == 1)).collect())
    }

    pub async fn insert_linkedin_account(&self, a: &LinkedInAccount) -> StoreResult<()> {
        let r = &a.rules;
        sqlx::query(
            "INSERT INTO linkedin_accounts (id, group_id, provider, display_name, account_type, status, timezone, \
             working_start_minute, working_end_minute, daily_messages, daily_inmails, daily_invitations, \
             daily_profile_visits, daily_engagements, weekly_invitations, min_spacing_secs, max_spacing_secs, \
             provider_settings, webhook_secret_hash, rate_limited_until, created_at, updated_at, \
             daily_profile_fetches, daily_search_pages, daily_relation_reads, daily_inbox_reads, \
             daily_activity_reads, status_changed_at, ramp_up_weeks, daily_withdrawals, \
             withdraw_invitations_after_days) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
             $23, $24, $25, $26, $27, $28, $29, $30, $31)",
        )
        .bind(&a.id)
        .bind(a.group_id.as_str())
        .bind(a.provider.as_str())
        .bind(&a.display_name)
        .bind(a.account_type.as_str())
        .bind(a.status.as_str())
        .bind(&r.timezone)
        .bind(i64::from(r.working_hours.start_minute))
        .bind(i64::from(r.working_hours.end_minute))
        .bind(i64::from(r.daily_messages))
        .bind(i64::from(r.daily_inmails))
        .bind(i64::from(r.daily_invitations))
        .bind(i64::from(r.daily_profile_visits))
        .bind(i64::from(r.daily_engagements))
        .bind(i64::from(r.weekly_invitations))
        .bind(i64::from(r.min_spacing_secs))
        .bind(i64::from(r.max_spacing_secs))
        .bind(&a.provider_settings)
        .bind(&a.webhook_secret_hash)
        .bind(a.rate_limited_until.map(Timestamp::as_millis))
        .bind(a.created_at.as_millis())
        .bind(a.updated_at.as_millis())
        .bind(i64::from(r.reads.profile_fetches))
        .bind(i64::from(r.reads.search_pages))
        .bind(i64::from(r.reads.relation_reads))
        .bind(i64::from(r.reads.inbox_reads))
        .bind(i64::from(r.reads.activity_reads))
        .bind(a.status_changed_at.as_millis())
        .bind(i64::from(r.ramp_up_weeks))
        .bind(i64::from(r.daily_withdrawals))
        .bind(i64::from(r.withdraw_invitations_after_days))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Replaces a seat's sending rules (and its display name); false when the group has no such seat.
    pub async fn update_linkedin_rules(
        &self,
        group_id: &GroupId,
        id: &str,
        name: &str,
        r: &SendingRules,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE linkedin_accounts SET display_name = $3, timezone = $4, working_start_minute = $5, \
             working_end_minute = $6, daily_messages = $7, daily_inmails = $8, daily_invitations = $9, \
             daily_profile_visits = $10, daily_engagements = $11, weekly_invitations = $12, \
             min_spacing_secs = $13, max_spacing_secs = $14, daily_profile_fetches = $15, \
             daily_search_pages = $16, daily_relation_reads = $17, daily_inbox_reads = $18, \
             daily_activity_reads = $19, ramp_up_weeks = $20, daily_withdrawals = $21, \
             withdraw_invitations_after_days = $22, updated_at = $23 WHERE group_id = $1 AND id = $2",
        )
        .bind(group_id.as_str())
        .bind(id)
        .bind(name)
        .bind(&r.timezone)
        .bind(i64::from(r.working_hours.start_minute))
        .bind(i64::from(r.working_hours.end_minute))
        .bind(i64::from(r.daily_messages))
        .bind(i64::from(r.daily_inmails))
        .bind(i64::from(r.daily_invitations))
        .bind(i64::from(r.daily_profile_visits))
        .bind(i64::from(r.daily_engagements))
        .bind(i64::from(r.weekly_invitations))
        .bind(i64::from(r.min_spacing_secs))
        .bind(i64::from(r.max_spacing_secs))
        .bind(i64::from(r.reads.profile_fetches))
        .bind(i64::from(r.reads.search_pages))
        .bind(i64::from(r.reads.relation_reads))
        .bind(i64::from(r.reads.inbox_reads))
        .bind(i64::from(r.reads.activity_reads))
        .bind(i64::from(r.ramp_up_weeks))
        .bind(i64::from(r.daily_withdrawals))
        .bind(i64::from(r.withdraw_invitations_after_days))
        .bind(now.as_millis())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn get_linkedin_account(&self, group_id: &GroupId, id: &str) -> StoreResult<Option<LinkedInAccount>> {
        let row = sqlx::query("SELECT * FROM linkedin_accounts WHERE group_id = $1 AND id = $2")
            .bind(group_id.as_str())
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(account_from_row).transpose()?)
    }

    /// An account by id alone: for webhooks, whose URL names the account and
    /// whose secret proves the caller.
    pub(crate) async fn find_linkedin_account(&self, id: &str) -> StoreResult<Option<LinkedInAccount>> {
        let row =
            sqlx::query("SELECT * FROM linkedin_accounts WHERE id = $1").bind(id).fetch_optional(&self.reader).await?;
        Ok(row.as_ref().map(account_from_row).transpose()?)
    }

    /// Every account of a group, oldest first (for workers and the CLI).
    pub async fn group_linkedin_accounts(&self, group_id: &GroupId) -> StoreResult<Vec<LinkedInAccount>> {
        let rows = sqlx::query("SELECT * FROM linkedin_accounts WHERE group_id = $1 ORDER BY created_at, id")
            .bind(group_id.as_str())
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.iter().map(account_from_row).collect::<Result<_, _>>()?)
    }

    /// Every account of every group (for workers).
    pub(crate) async fn all_linkedin_accounts(&self) -> StoreResult<Vec<LinkedInAccount>> {
        let rows =
            sqlx::query("SELECT * FROM linkedin_accounts ORDER BY created_at, id").fetch_all(&self.reader).await?;
        Ok(rows.iter().map(account_from_row).collect::<Result<_, _>>()?)
    }

    /// One page of a group's accounts, newest first (`limit + 1` rows).
    pub async fn list_linkedin_accounts(
        &self,
        group_id: &GroupId,
        page: &PageRequest,
    ) -> StoreResult<Vec<LinkedInAccount>> {
        let rows = ListQuery::new("SELECT * FROM linkedin_accounts WHERE group_id = $1")
            .bind(group_id)
            .page(&Keyset::page(page))
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.iter().map(account_from_row).collect::<Result<_, _>>()?)
    }

    /// Moves the account to `status`; a real change logs a
    /// `linkedin_account.status_changed` event in the same transaction.
    pub async fn set_linkedin_account_status(
        &self,
        id: &str,
        status: AccountStatus,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let before: Option<(String, String)> =
            sqlx::query_as("SELECT group_id, status FROM linkedin_accounts WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((group_id, previous)) = before.filter(|(_, previous)| previous != status.as_str()) else {
            return Ok(()); // no such account, or no change
        };
        sqlx::query("UPDATE linkedin_accounts SET status = $2, updated_at = $3, status_changed_at = $3 WHERE id = $1")
            .bind(id)
            .bind(status.as_str())
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
        {
            let data = sonarly_domain::events::account_status_data(&group_id, id, &previous, status.as_str());
            let event_type = sonarly_domain::events::EventType::LinkedinAccountStatusChanged;
            crate::events::append_in(&mut tx, &GroupId::new(group_id), event_type, &data, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records that the provider pushed an event for the seat (its webhooks work).
    pub async fn touch_linkedin_webhook(&self, id: &str, now: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE linkedin_accounts SET last_webhook_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now.as_millis())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Records that the provider asked us to pause the account until `until`.
    pub async fn set_linkedin_rate_limited_until(&self, id: &str, until: Option<Timestamp>) -> StoreResult<()> {
        sqlx::query("UPDATE linkedin_accounts SET rate_limited_until = $2 WHERE id = $1")
            .bind(id)
            .bind(until.map(Timestamp::as_millis))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Replaces the hash of the secret the provider sends back on the seat's webhooks
    /// (after its webhooks were registered again with a new secret).
    pub async fn set_linkedin_webhook_secret_hash(&self, id: &str, hash: &str, now: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE linkedin_accounts SET webhook_secret_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(hash)
            .bind(now.as_millis())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Replaces the account's provider settings if they still are `from` (so a concurrent
    /// edit is never overwritten); `updated_at` moves, so live providers are rebuilt.
    /// Whether the row changed.
    pub async fn replace_linkedin_provider_settings(
        &self,
        id: &str,
        from: &str,
        to: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE linkedin_accounts SET provider_settings = $3, updated_at = $4 \
             WHERE id = $1 AND provider_settings = $2",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(now.as_millis())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Inserts a sandbox action unless its (account, token) exists; returns the stored row.
    pub async fn record_sandbox_action(&self, action: &SandboxActionRow) -> StoreResult<SandboxActionRow> {
        sqlx::query(
            "INSERT INTO sandbox_actions (account_id, token, kind, recipient_provider_id, chat_id, body, subject, \
             result_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (account_id, token) DO NOTHING",
        )
        .bind(&action.account_id)
        .bind(&action.token)
        .bind(&action.kind)
        .bind(&action.recipient_provider_id)
        .bind(&action.chat_id)
        .bind(&action.body)
        .bind(&action.subject)
        .bind(&action.result_id)
        .bind(action.at)
        .execute(&self.writer)
        .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACTION_COLUMNS} FROM sandbox_actions WHERE account_id = $1 AND token = $2"
        )))
        .bind(&action.account_id)
        .bind(&action.token)
        .fetch_one(&self.writer)
        .await?;
        Ok(action_from_row(&row)?)
    }

    pub async fn sandbox_actions_since(&self, account_id: &str, after_seq: i64) -> StoreResult<Vec<SandboxActionRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACTION_COLUMNS} FROM sandbox_actions WHERE account_id = $1 AND seq > $2 ORDER BY seq"
        )))
        .bind(account_id)
        .bind(after_seq)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.iter().map(action_from_row).collect::<Result<_, _>>()?)
    }
}
