//! Audience folders and audience edits.

use crate::{Store, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::folder::{AudienceFolder, AudienceKind};
use sqlx::Row;
use sqlx::any::AnyRow;

fn folder_from_row(row: &AnyRow) -> Result<AudienceFolder, sqlx::Error> {
    Ok(AudienceFolder {
        id: row.try_get("id")?,
        group_id: GroupId::new(row.try_get::<String, _>("group_id")?),
        name: row.try_get("name")?,
        audience_type: crate::sql::one_of(row, "audience_type", AudienceKind::parse)?,
        is_pinned: row.try_get::<i64, _>("is_pinned")? != 0,
        position: row.try_get("position")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

impl Store {
    /// Inserts a folder at the end of the group's folders; returns it with its position.
    pub async fn insert_folder(&self, folder: &AudienceFolder) -> StoreResult<AudienceFolder> {
        let mut tx = self.writer.begin().await?;
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM audience_folders WHERE group_id = $1")
            .bind(folder.group_id.as_str())
            .fetch_one(&mut *tx)
            .await?;
        let mut folder = folder.clone();
        folder.position = last.map_or(0, |p| p + 1);
        sqlx::query(
            "INSERT INTO audience_folders (id, group_id, name, audience_type, is_pinned, position, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&folder.id)
        .bind(folder.group_id.as_str())
        .bind(&folder.name)
        .bind(folder.audience_type.as_str())
        .bind(i64::from(folder.is_pinned))
        .bind(folder.position)
        .bind(folder.created_at.as_millis())
        .bind(folder.updated_at.as_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(folder)
    }

    pub async fn get_folder(&self, group_id: &GroupId, id: &str) -> StoreResult<Option<AudienceFolder>> {
        let row = sqlx::query("SELECT * FROM audience_folders WHERE group_id = $1 AND id = $2")
            .bind(group_id.as_str())
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(folder_from_row).transpose()?)
    }

    pub async fn rename_folder(&self, group_id: &GroupId, id: &str, name: &str, now: Timestamp) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE audience_folders SET name = $3, updated_at = $4 WHERE group_id = $1 AND id = $2")
                .bind(group_id.as_str())
                .bind(id)
                .bind(name)
                .bind(now.as_millis())
                .execute(&self.writer)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The group's folders in display order (pinned first).
    pub async fn list_folders(&self, group_id: &GroupId) -> StoreResult<Vec<AudienceFolder>> {
        let rows =
            sqlx::query("SELECT * FROM audience_folders WHERE group_id = $1 ORDER BY is_pinned DESC, position, id")
                .bind(group_id.as_str())
                .fetch_all(&self.reader)
                .await?;
        Ok(rows.iter().map(folder_from_row).collect::<Result<_, _>>()?)
    }

    /// Updates an audience's name and description (`None` keeps a field), only
    /// while no job fills it; false when absent or not ready.
    pub async fn update_audience(
        &self,
        group_id: &GroupId,
        id: &str,
        name: Option<&str>,
        description: Option<Option<&str>>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE audiences SET name = COALESCE($3, name), \
             description = CASE WHEN $4 = 1 THEN $5 ELSE description END, updated_at = $6 \
             WHERE group_id = $1 AND id = $2 AND filling_job_id IS NULL",
        )
        .bind(group_id.as_str())
        .bind(id)
        .bind(name)
        .bind(i64::from(description.is_some()))
        .bind(description.flatten())
        .bind(now.as_millis())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets or clears an audience's folder while no job fills it.
    pub async fn set_audience_folder(
        &self,
        group_id: &GroupId,
        id: &str,
        folder_id: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE audiences SET folder_id = $3, updated_at = $4 WHERE group_id = $1 AND id = $2 AND filling_job_id IS NULL",
        )
        .bind(group_id.as_str())
        .bind(id)
        .bind(folder_id)
        .bind(now.as_millis())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes an audience (and its memberships) while no job fills it.
    pub async fn delete_audience(&self, group_id: &GroupId, id: &str) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "DELETE FROM audience_prospects WHERE audience_id IN \
             (SELECT id FROM audiences WHERE group_id = $1 AND id = $2 AND filling_job_id IS NULL)",
        )
        .bind(group_id.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM audiences WHERE group_id = $1 AND id = $2 AND filling_job_id IS NULL")
            .bind(group_id.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every ready audience of the group, newest first (for navigation).
    pub async fn all_ready_audiences(&self, group_id: &GroupId) -> StoreResult<Vec<sonarly_domain::models::Audience>> {
        let page = sonarly_domain::page::PageRequest { limit: 10_000, after: None };
        self.list_ready_audiences(group_id, &page).await
    }
}
