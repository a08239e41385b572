//! Audiences (read side plus insert; the write use cases arrive with
//! prospecting) and the delete guard: an audience is deleted only when no job
//! fills it and no active campaign uses it.

use crate::page::{Keyset, ListQuery};
use crate::{Store, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::campaign::CampaignStatus;
use sonarly_domain::folder::AudienceType;
use sonarly_domain::models::Audience;
use sonarly_domain::page::PageRequest;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

fn audience_from_row(row: &AnyRow) -> Result<Audience, sqlx::Error> {
    Ok(Audience {
        id: row.try_get("id")?,
        group_id: GroupId::new(row.try_get::<String, _>("group_id")?),
        name: row.try_get("name")?,
        audience_type: crate::sql::one_of(row, "audience_type", AudienceType::parse)?,
        description: row.try_get("description")?,
        folder_id: row.try_get("folder_id")?,
        prospect_count: row.try_get("prospect_count")?,
        filling_job_id: row.try_get("filling_job_id")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

pub(crate) async fn insert_audience_in(tx: &mut Transaction<'static, Any>, audience: &Audience) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audiences (id, group_id, name, audience_type, description, folder_id, prospect_count, \
         filling_job_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&audience.id)
    .bind(audience.group_id.as_str())
    .bind(&audience.name)
    .bind(audience.audience_type.as_str())
    .bind(&audience.description)
    .bind(&audience.folder_id)
    .bind(audience.prospect_count)
    .bind(&audience.filling_job_id)
    .bind(audience.created_at.as_millis())
    .bind(audience.updated_at.as_millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What deleting an audience did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudienceDeletion {
    Deleted,
    /// No such audience in the group.
    Missing,
    /// A prospecting job still fills it.
    Filling,
    /// Active campaigns of the group use it (their ids, oldest first).
    InUse(Vec<String>),
}

/// The campaigns of `group_id` in status `$3` (active) that use `audience_id`.
const ACTIVE_CAMPAIGNS_USING: &str = "SELECT id FROM campaigns WHERE group_id = $1 AND audience_id = $2 \
     AND status = $3 ORDER BY created_at, id";

impl Store {
    /// Ids of the active campaigns of the group that use the audience, oldest first.
    pub async fn active_campaigns_using_audience(
        &self,
        group_id: &GroupId,
        audience_id: &str,
    ) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(ACTIVE_CAMPAIGNS_USING)
            .bind(group_id.as_str())
            .bind(audience_id)
            .bind(CampaignStatus::Active.as_str())
            .fetch_all(&self.reader)
            .await?)
    }

    /// Deletes an audience and its memberships unless a job fills it or an
    /// active campaign uses it; the guard and the delete run in one transaction
    /// (the DELETE itself re-checks both conditions).
    pub async fn delete_unused_audience(&self, group_id: &GroupId, audience_id: &str) -> StoreResult<AudienceDeletion> {
        let mut tx = self.writer.begin().await?;
        let filling: Option<Option<String>> =
            sqlx::query_scalar("SELECT filling_job_id FROM audiences WHERE group_id = $1 AND id = $2")
                .bind(group_id.as_str())
                .bind(audience_id)
                .fetch_optional(&mut *tx)
                .await?;
        let outcome = match filling {
            None => AudienceDeletion::Missing,
            Some(Some(_)) => AudienceDeletion::Filling,
            Some(None) => {
                let users: Vec<String> = sqlx::query_scalar(ACTIVE_CAMPAIGNS_USING)
                    .bind(group_id.as_str())
                    .bind(audience_id)
                    .bind(CampaignStatus::Active.as_str())
                    .fetch_all(&mut *tx)
                    .await?;
                if users.is_empty() {
                    sqlx::query("DELETE FROM audience_prospects WHERE audience_id = $1")
                        .bind(audience_id)
                        .execute(&mut *tx)
                        .await?;
                    let done = sqlx::query(
                        "DELETE FROM audiences WHERE group_id = $1 AND id = $2 AND filling_job_id IS NULL \
                         AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.group_id = $1 AND c.audience_id = $2 \
                         AND c.status = $3)",
                    )
                    .bind(group_id.as_str())
                    .bind(audience_id)
                    .bind(CampaignStatus::Active.as_str())
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 1 { AudienceDeletion::Deleted } else { AudienceDeletion::Missing }
                } else {
                    AudienceDeletion::InUse(users)
                }
            }
        };
        if outcome == AudienceDeletion::Deleted {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(outcome)
    }

    pub async fn insert_audience(&self, audience: &Audience) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        insert_audience_in(&mut tx, audience).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One audience of `group_id`, ready or not (callers decide about AUDIENCE_NOT_READY).
    pub async fn get_audience(&self, group_id: &GroupId, audience_id: &str) -> StoreResult<Option<Audience>> {
        let row = sqlx::query("SELECT * FROM audiences WHERE group_id = $1 AND id = $2")
            .bind(group_id.as_str())
            .bind(audience_id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(audience_from_row).transpose()?)
    }

    /// When `prospect_id` was added to audience `audience_id` of `group_id`.
    pub async fn audience_member_added_at(
        &self,
        group_id: &GroupId,
        audience_id: &str,
        prospect_id: &str,
    ) -> StoreResult<Option<Timestamp>> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT ap.added_at FROM audience_prospects ap JOIN audiences a ON a.id = ap.audience_id \
             WHERE a.group_id = $1 AND ap.audience_id = $2 AND ap.prospect_id = $3",
        )
        .bind(group_id.as_str())
        .bind(audience_id)
        .bind(prospect_id)
        .fetch_optional(&self.reader)
        .await?;
        Ok(at.map(Timestamp::from_millis))
    }

    /// Ready audiences of `group_id`, newest first, one page (`limit + 1` rows).
    pub async fn list_ready_audiences(&self, group_id: &GroupId, page: &PageRequest) -> StoreResult<Vec<Audience>> {
        let rows = ListQuery::new("SELECT * FROM audiences WHERE group_id = $1 AND filling_job_id IS NULL")
            .bind(group_id)
            .page(&Keyset::page(page))
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.iter().map(audience_from_row).collect::<Result<_, _>>()?)
    }
}
