//! Account groups: the tenancy boundary.

use crate::page::{Keyset, ListQuery};
use crate::{Store, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::models::AccountGroup;
use sonarly_domain::page::PageRequest;
use sonarly_domain::prospecting::Plan;
use sqlx::Row;
use sqlx::any::AnyRow;

fn group_from_row(row: &AnyRow) -> Result<AccountGroup, sqlx::Error> {
    Ok(AccountGroup {
        id: GroupId::new(row.try_get::<String, _>("id")?),
        name: row.try_get("name")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

impl Store {
    /// Inserts a group on `plan` with a starting credit balance.
    pub async fn insert_group(&self, group: &AccountGroup, plan: Plan, credits: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO account_groups (id, name, created_at, plan, credits) VALUES ($1, $2, $3, $4, $5)")
            .bind(group.id.as_str())
            .bind(&group.name)
            .bind(group.created_at.as_millis())
            .bind(plan.as_str())
            .bind(credits)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn get_group(&self, id: &GroupId) -> StoreResult<Option<AccountGroup>> {
        let row = sqlx::query("SELECT id, name, created_at FROM account_groups WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(group_from_row).transpose()?)
    }

    pub async fn count_groups(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM account_groups").fetch_one(&self.reader).await?)
    }

    /// Every group, oldest first (for the admin CLI).
    pub async fn list_all_groups(&self) -> StoreResult<Vec<AccountGroup>> {
        let rows = sqlx::query("SELECT id, name, created_at FROM account_groups ORDER BY created_at, id")
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.iter().map(group_from_row).collect::<Result<_, _>>()?)
    }

    /// The groups an API key can access, newest first, one page (`limit + 1` rows).
    pub async fn list_groups_for_key(&self, key_id: &str, page: &PageRequest) -> StoreResult<Vec<AccountGroup>> {
        let rows = ListQuery::new(
            "SELECT g.id, g.name, g.created_at FROM account_groups g \
             JOIN api_key_groups k ON k.group_id = g.id WHERE k.key_id = $1",
        )
        .bind(key_id)
        .page(&Keyset::page(page).by("g.created_at", "g.id"))
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.iter().map(group_from_row).collect::<Result<_, _>>()?)
    }

    /// The group's plan and credit balance.
    pub async fn group_plan(&self, group_id: &GroupId) -> StoreResult<Option<(Plan, i64)>> {
        let row = sqlx::query("SELECT plan, credits FROM account_groups WHERE id = $1")
            .bind(group_id.as_str())
            .fetch_optional(&self.reader)
            .await?;
        let decode = |row: &AnyRow| -> Result<(Plan, i64), sqlx::Error> {
            Ok((crate::sql::one_of(row, "plan", Plan::parse)?, row.try_get("credits")?))
        };
        Ok(row.as_ref().map(decode).transpose()?)
    }

    pub async fn set_group_plan(&self, group_id: &GroupId, plan: Plan) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE account_groups SET plan = $2 WHERE id = $1")
            .bind(group_id.as_str())
            .bind(plan.as_str())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Adds (or with a negative amount, removes) credits; returns the new balance.
    pub async fn add_group_credits(&self, group_id: &GroupId, amount: i64) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar("UPDATE account_groups SET credits = credits + $2 WHERE id = $1 RETURNING credits")
            .bind(group_id.as_str())
            .bind(amount)
            .fetch_optional(&self.writer)
            .await?)
    }

    /// Prospects imported this period for a quota list.
    pub async fn quota_used(&self, group_id: &GroupId, list_type: &str, period_start: Timestamp) -> StoreResult<i64> {
        let used: Option<i64> = sqlx::query_scalar(
            "SELECT used FROM quota_usage WHERE group_id = $1 AND list_type = $2 AND period_start = $3",
        )
        .bind(group_id.as_str())
        .bind(list_type)
        .bind(period_start.as_millis())
        .fetch_optional(&self.reader)
        .await?;
        Ok(used.unwrap_or(0))
    }
}
