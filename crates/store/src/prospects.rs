//! Prospects and audience membership.

use crate::page::{Keyset, ListQuery};
use crate::{Store, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::prospecting::Prospect;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

pub(crate) fn prospect_from_row(row: &AnyRow) -> Result<Prospect, sqlx::Error> {
    Ok(Prospect {
        id: row.try_get("id")?,
        group_id: GroupId::new(row.try_get::<String, _>("group_id")?),
        provider_id: row.try_get("provider_id")?,
        member_id: row.try_get("member_id")?,
        person_id: row.try_get("person_id")?,
        public_identifier: row.try_get("public_identifier")?,
        linkedin_url: row.try_get("linkedin_url")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        name: row.try_get("name")?,
        headline: row.try_get("headline")?,
        about: row.try_get("about")?,
        photo_url: row.try_get("photo_url")?,
        title: row.try_get("title")?,
        location: row.try_get("location")?,
        company_name: row.try_get("company_name")?,
        company_linkedin_identifier: row.try_get("company_linkedin_identifier")?,
        company_linkedin_url: row.try_get("company_linkedin_url")?,
        company_industry: row.try_get("company_industry")?,
        company_website: row.try_get("company_website")?,
        email: row.try_get("email")?,
        connection_degree: row.try_get("connection_degree")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

/// Inserts or refreshes a prospect of `p.group_id` keyed by provider id;
/// returns its id. An email already found is never erased by a refresh.
pub(crate) async fn upsert_prospect_in(tx: &mut Transaction<'static, Any>, p: &Prospect) -> StoreResult<String> {
    let id: String = sqlx::query_scalar(
        "INSERT INTO prospects (id, group_id, provider_id, member_id, person_id, public_identifier, linkedin_url, \
         first_name, last_name, name, headline, about, photo_url, title, location, company_name, \
         company_linkedin_identifier, company_linkedin_url, company_industry, company_website, email, \
         connection_degree, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $23) \
         ON CONFLICT (group_id, provider_id) DO UPDATE SET \
         member_id = COALESCE(excluded.member_id, prospects.member_id), \
         public_identifier = COALESCE(excluded.public_identifier, prospects.public_identifier), \
         linkedin_url = COALESCE(excluded.linkedin_url, prospects.linkedin_url), \
         first_name = excluded.first_name, last_name = excluded.last_name, name = excluded.name, \
         headline = excluded.headline, about = COALESCE(excluded.about, prospects.about), \
         photo_url = COALESCE(excluded.photo_url, prospects.photo_url), title = excluded.title, \
         location = excluded.location, company_name = excluded.company_name, \
         company_linkedin_identifier = excluded.company_linkedin_identifier, \
         company_linkedin_url = excluded.company_linkedin_url, company_industry = excluded.company_industry, \
         company_website = excluded.company_website, email = COALESCE(excluded.email, prospects.email), \
         connection_degree = COALESCE(excluded.connection_degree, prospects.connection_degree), \
         updated_at = excluded.updated_at \
         RETURNING id",
    )
    .bind(&p.id)
    .bind(p.group_id.as_str())
    .bind(&p.provider_id)
    .bind(&p.member_id)
    .bind(&p.person_id)
    .bind(&p.public_identifier)
    .bind(&p.linkedin_url)
    .bind(&p.first_name)
    .bind(&p.last_name)
    .bind(&p.name)
    .bind(&p.headline)
    .bind(&p.about)
    .bind(&p.photo_url)
    .bind(&p.title)
    .bind(&p.location)
    .bind(&p.company_name)
    .bind(&p.company_linkedin_identifier)
    .bind(&p.company_linkedin_url)
    .bind(&p.company_industry)
    .bind(&p.company_website)
    .bind(&p.email)
    .bind(p.connection_degree)
    .bind(p.updated_at.as_millis())
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// Adds a prospect to an audience (once), keeping `prospect_count` in step.
pub(crate) async fn add_to_audience_in(
    tx: &mut Transaction<'static, Any>,
    audience_id: &str,
    prospect_id: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    let added = sqlx::query(
        "INSERT INTO audience_prospects (audience_id, prospect_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(audience_id)
    .bind(prospect_id)
    .bind(now.as_millis())
    .execute(&mut **tx)
    .await?;
    if added.rows_affected() == 1 {
        sqlx::query("UPDATE audiences SET prospect_count = prospect_count + 1, updated_at = $2 WHERE id = $1")
            .bind(audience_id)
            .bind(now.as_millis())
            .execute(&mut **tx)
            .await?;
        return Ok(true);
    }
    Ok(false)
}

impl Store {
    /// Inserts or refreshes prospects outside any job (tests, data generators).
    pub async fn upsert_prospects(
        &self,
        prospects: &[Prospect],
        audience_id: Option<&str>,
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.writer.begin().await?;
        let mut ids = Vec::with_capacity(prospects.len());
        for p in prospects {
            let id = upsert_prospect_in(&mut tx, p).await?;
            if let Some(audience_id) = audience_id {
                add_to_audience_in(&mut tx, audience_id, &id, p.updated_at).await?;
            }
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    pub async fn get_prospect(&self, group_id: &GroupId, prospect_id: &str) -> StoreResult<Option<Prospect>> {
        let row = sqlx::query("SELECT * FROM prospects WHERE group_id = $1 AND id = $2")
            .bind(group_id.as_str())
            .bind(prospect_id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(prospect_from_row).transpose()?)
    }

    /// Every prospect of `group_id` known under `provider_id`, as import id or
    /// member id (two indexed equality lookups; constant time at any size).
    pub async fn prospects_by_provider_id(&self, group_id: &GroupId, provider_id: &str) -> StoreResult<Vec<Prospect>> {
        let rows = sqlx::query(
            "SELECT * FROM prospects WHERE group_id = $1 AND provider_id = $2 \
             UNION SELECT * FROM prospects WHERE group_id = $1 AND member_id = $2 ORDER BY created_at, id LIMIT 50",
        )
        .bind(group_id.as_str())
        .bind(provider_id)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.iter().map(prospect_from_row).collect::<Result<_, _>>()?)
    }

    /// One page of an audience's prospects in the order they were added
    /// (`limit + 1` rows); the cursor position is (added_at, prospect id).
    pub async fn list_audience_prospects(
        &self,
        group_id: &GroupId,
        audience_id: &str,
        after: Option<(Timestamp, &str)>,
        fetch: i64,
    ) -> StoreResult<Vec<(Timestamp, Prospect)>> {
        let keyset = Keyset::oldest_first(after.map(|(at, id)| (at, id.to_owned())), fetch);
        let rows = ListQuery::new(
            "SELECT ap.added_at AS added_at, p.* FROM audience_prospects ap JOIN prospects p ON p.id = ap.prospect_id \
             WHERE ap.audience_id = $1 AND p.group_id = $2",
        )
        .bind(audience_id)
        .bind(group_id.as_str())
        .page(&keyset.by("ap.added_at", "ap.prospect_id"))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| Ok((Timestamp::from_millis(row.try_get("added_at")?), prospect_from_row(row)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    pub async fn count_prospects(&self, group_id: &GroupId) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM prospects WHERE group_id = $1")
            .bind(group_id.as_str())
            .fetch_one(&self.reader)
            .await?)
    }
}
