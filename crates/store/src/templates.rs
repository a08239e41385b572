//! Templates: value propositions, writing styles and signal specifications.
//!
//! References between templates are foreign keys on `(group_id, id)`, so they
//! can never cross account groups. Writes that reference value propositions
//! check them inside the write's transaction; a concurrent delete that slips in
//! between surfaces as a foreign-key violation, reported the same way.

use crate::page::{Keyset, ListQuery};
use crate::sql::placeholders;
use crate::{Store, StoreError, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::page::PageRequest;
use sonarly_domain::prospecting::JobStatus;
use sonarly_domain::template::{
    ContentType, SignalSpecification, TemplateReference, ValueProposition, WritingStyle, codec,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// The outcome of a write that may reference value propositions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateWrite {
    Written,
    /// The template to update does not exist in the group.
    NotFound,
    /// These referenced value propositions do not exist in the group.
    MissingValuePropositions(Vec<String>),
}

/// The outcome of a delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateDelete {
    Deleted,
    NotFound,
    /// Still referenced by these resources; nothing was deleted.
    InUse(Vec<TemplateReference>),
}

/// A query listing the resources that reference a template: `$1` is the
/// account group, `$2` the template id, `$3…` the `states` in order; it
/// selects `id, name`.
struct ReferenceQuery {
    kind: &'static str,
    sql: &'static str,
    states: &'static [&'static str],
}

/// Who may reference a value proposition.
const VALUE_PROPOSITION_USERS: &[ReferenceQuery] = &[
    ReferenceQuery {
        kind: "writing style",
        sql: "SELECT id, name FROM writing_styles WHERE group_id = $1 AND value_proposition_id = $2 \
              ORDER BY created_at, id",
        states: &[],
    },
    ReferenceQuery {
        kind: "signal specification",
        sql: "SELECT s.id, s.name FROM signal_specifications s JOIN signal_specification_value_propositions l \
              ON l.group_id = s.group_id AND l.specification_id = s.id \
              WHERE l.group_id = $1 AND l.value_proposition_id = $2 ORDER BY s.created_at, s.id",
        states: &[],
    },
];

/// Who may reference a writing style: campaign content slots (`templateId`);
/// deleting a writing style they use answers 409.
const WRITING_STYLE_USERS: &[ReferenceQuery] = &[ReferenceQuery {
    kind: "campaign",
    sql: "SELECT c.id, c.name FROM campaigns c WHERE c.group_id = $1 AND EXISTS (SELECT 1 FROM \
          campaign_content_slots s WHERE s.campaign_id = c.id AND s.template_id = $2) ORDER BY c.created_at, c.id",
    states: &[],
}];

/// Who may reference a signal specification: signal scans still queued or
/// running (finished scans keep a copy of the specification they used).
const SIGNAL_SPECIFICATION_USERS: &[ReferenceQuery] = &[ReferenceQuery {
    kind: "signal scan",
    sql: "SELECT id, name FROM signal_scans WHERE group_id = $1 AND specification_id = $2 \
          AND status IN ($3, $4) ORDER BY created_at, id",
    states: &[JobStatus::Queued.as_str(), JobStatus::Running.as_str()],
}];

async fn references(
    conn: &mut AnyConnection,
    queries: &[ReferenceQuery],
    group_id: &GroupId,
    id: &str,
) -> StoreResult<Vec<TemplateReference>> {
    let mut out = Vec::new();
    for query in queries {
        let mut select = sqlx::query_as(query.sql).bind(group_id.as_str()).bind(id);
        for state in query.states {
            select = select.bind(*state);
        }
        let rows: Vec<(String, String)> = select.fetch_all(&mut *conn).await?;
        out.extend(rows.into_iter().map(|(id, name)| TemplateReference { kind: query.kind, id, name }));
    }
    Ok(out)
}

fn is_foreign_key_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(sqlx::Error::Database(db)) if db.kind() == sqlx::error::ErrorKind::ForeignKeyViolation)
}

fn decode<T>(result: Result<T, String>) -> Result<T, sqlx::Error> {
    result.map_err(|e| sqlx::Error::Decode(e.into()))
}

fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

fn value_proposition_from_row(row: &AnyRow) -> Result<ValueProposition, sqlx::Error> {
    Ok(ValueProposition {
        id: row.try_get("id")?,
        group_id: GroupId::new(row.try_get::<String, _>("group_id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        values: decode(codec::decode_strings(&row.try_get::<String, _>("value_items")?))?,
        challenges: decode(codec::decode_strings(&row.try_get::<String, _>("challenge_items")?))?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

fn writing_style_from_row(row: &AnyRow) -> Result<WritingStyle, sqlx::Error> {
    let content_type: String = row.try_get("content_type")?;
    Ok(WritingStyle {
        id: row.try_get("id")?,
        group_id: GroupId::new(row.try_get::<String, _>("group_id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        content_type: decode(
            ContentType::parse(&content_type).ok_or_else(|| format!("unknown content type `{content_type}`")),
        )?,
        samples: decode(codec::decode_samples(&row.try_get::<String, _>("samples")?))?,
        include_rules: decode(codec::decode_strings(&row.try_get::<String, _>("include_rules")?))?,
        exclude_rules: decode(codec::decode_strings(&row.try_get::<String, _>("exclude_rules")?))?,
        use_strict_template: flag(row, "use_strict_template")?,
        value_proposition_id: row.try_get("value_proposition_id")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

/// A specification without its `value_proposition_ids` (they live in a link table).
fn signal_specification_from_row(row: &AnyRow) -> Result<SignalSpecification, sqlx::Error> {
    Ok(SignalSpecification {
        id: row.try_get("id")?,
        group_id: GroupId::new(row.try_get::<String, _>("group_id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        sources: decode(codec::decode_sources(&row.try_get::<String, _>("sources")?))?,
        specifications: decode(codec::decode_json_list(&row.try_get::<String, _>("specifications")?))?,
        use_value_proposition: flag(row, "use_value_proposition")?,
        value_proposition_ids: Vec::new(),
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

/// The ids among `ids` that name no value proposition of `group_id`.
async fn missing_value_propositions(
    conn: &mut AnyConnection,
    group_id: &GroupId,
    ids: &[String],
) -> StoreResult<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql =
        format!("SELECT id FROM value_propositions WHERE group_id = $1 AND id IN ({})", placeholders(2, ids.len()));
    let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(group_id.as_str());
    for id in ids {
        query = query.bind(id);
    }
    let found = query.fetch_all(&mut *conn).await?;
    Ok(ids.iter().filter(|id| !found.contains(id)).cloned().collect())
}

/// One keyset page (`limit + 1` rows, newest first) of `table` in `group_id`.
async fn page_rows(
    store: &Store,
    table: &'static str,
    group_id: &GroupId,
    page: &PageRequest,
) -> StoreResult<Vec<AnyRow>> {
    ListQuery::new(format!("SELECT * FROM {table} WHERE group_id = $1"))
        .bind(group_id)
        .page(&Keyset::page(page))
        .fetch_all(&store.reader)
        .await
}

async fn get_row(store: &Store, table: &'static str, group_id: &GroupId, id: &str) -> StoreResult<Option<AnyRow>> {
    let sql = format!("SELECT * FROM {table} WHERE group_id = $1 AND id = $2");
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(group_id.as_str()).bind(id).fetch_optional(&store.reader).await?)
}

/// Deletes one template after checking who uses it, in one transaction. A
/// reference added concurrently fails the delete on its foreign key and is
/// reported like any other.
async fn delete_template(
    store: &Store,
    table: &'static str,
    users: &[ReferenceQuery],
    group_id: &GroupId,
    id: &str,
) -> StoreResult<TemplateDelete> {
    match try_delete(store, table, users, group_id, id).await {
        Err(e) if is_foreign_key_violation(&e) => {
            let mut conn = store.reader.acquire().await?;
            let users = references(&mut conn, users, group_id, id).await;
            conn.done_if(users.is_ok());
            Ok(TemplateDelete::InUse(users?))
        }
        other => other,
    }
}

async fn try_delete(
    store: &Store,
    table: &'static str,
    users: &[ReferenceQuery],
    group_id: &GroupId,
    id: &str,
) -> StoreResult<TemplateDelete> {
    let mut tx = store.writer.begin().await?;
    let users_now = references(&mut tx, users, group_id, id).await?;
    if !users_now.is_empty() {
        return Ok(TemplateDelete::InUse(users_now));
    }
    let sql = format!("DELETE FROM {table} WHERE group_id = $1 AND id = $2");
    let deleted = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(group_id.as_str()).bind(id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(if deleted.rows_affected() == 0 { TemplateDelete::NotFound } else { TemplateDelete::Deleted })
}

/// Runs a write that references `vp_ids`, turning a foreign-key violation (a
/// value proposition deleted concurrently) into `MissingValuePropositions`.
async fn guarded_write(
    store: &Store,
    group_id: &GroupId,
    vp_ids: &[String],
    write: impl Future<Output = StoreResult<TemplateWrite>>,
) -> StoreResult<TemplateWrite> {
    match write.await {
        Err(e) if is_foreign_key_violation(&e) => {
            let mut conn = store.reader.acquire().await?;
            let missing = missing_value_propositions(&mut conn, group_id, vp_ids).await;
            conn.done_if(missing.is_ok());
            let missing = missing?;
            if missing.is_empty() { Err(e) } else { Ok(TemplateWrite::MissingValuePropositions(missing)) }
        }
        other => other,
    }
}

async fn try_save_writing_style(
    store: &Store,
    ws: &WritingStyle,
    vp_ids: &[String],
    creating: bool,
) -> StoreResult<TemplateWrite> {
    let mut tx = store.writer.begin().await?;
    let missing = missing_value_propositions(&mut tx, &ws.group_id, vp_ids).await?;
    if !missing.is_empty() {
        return Ok(TemplateWrite::MissingValuePropositions(missing));
    }
    let sql = if creating {
        "INSERT INTO writing_styles (group_id, id, name, description, content_type, samples, include_rules, \
         exclude_rules, use_strict_template, value_proposition_id, updated_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    } else {
        "UPDATE writing_styles SET name = $3, description = $4, content_type = $5, samples = $6, \
         include_rules = $7, exclude_rules = $8, use_strict_template = $9, value_proposition_id = $10, \
         updated_at = $11 WHERE group_id = $1 AND id = $2 AND created_at = $12"
    };
    let done = sqlx::query(sql)
        .bind(ws.group_id.as_str())
        .bind(&ws.id)
        .bind(&ws.name)
        .bind(&ws.description)
        .bind(ws.content_type.as_str())
        .bind(codec::encode_samples(&ws.samples))
        .bind(codec::encode_strings(&ws.include_rules))
        .bind(codec::encode_strings(&ws.exclude_rules))
        .bind(i64::from(ws.use_strict_template))
        .bind(&ws.value_proposition_id)
        .bind(ws.updated_at.as_millis())
        .bind(ws.created_at.as_millis())
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(TemplateWrite::NotFound);
    }
    tx.commit().await?;
    Ok(TemplateWrite::Written)
}

async fn try_save_signal_specification(
    store: &Store,
    spec: &SignalSpecification,
    creating: bool,
) -> StoreResult<TemplateWrite> {
    let mut tx = store.writer.begin().await?;
    let missing = missing_value_propositions(&mut tx, &spec.group_id, &spec.value_proposition_ids).await?;
    if !missing.is_empty() {
        return Ok(TemplateWrite::MissingValuePropositions(missing));
    }
    let sql = if creating {
        "INSERT INTO signal_specifications (group_id, id, name, description, sources, specifications, \
         use_value_proposition, updated_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    } else {
        "UPDATE signal_specifications SET name = $3, description = $4, sources = $5, specifications = $6, \
         use_value_proposition = $7, updated_at = $8 WHERE group_id = $1 AND id = $2 AND created_at = $9"
    };
    let done = sqlx::query(sql)
        .bind(spec.group_id.as_str())
        .bind(&spec.id)
        .bind(&spec.name)
        .bind(&spec.description)
        .bind(codec::encode_sources(&spec.sources))
        .bind(codec::encode_json_list(&spec.specifications))
        .bind(i64::from(spec.use_value_proposition))
        .bind(spec.updated_at.as_millis())
        .bind(spec.created_at.as_millis())
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(TemplateWrite::NotFound);
    }
    sqlx::query("DELETE FROM signal_specification_value_propositions WHERE group_id = $1 AND specification_id = $2")
        .bind(spec.group_id.as_str())
        .bind(&spec.id)
        .execute(&mut *tx)
        .await?;
    for (position, vp_id) in spec.value_proposition_ids.iter().enumerate() {
        sqlx::query(
            "INSERT INTO signal_specification_value_propositions \
             (group_id, specification_id, value_proposition_id, position) VALUES ($1, $2, $3, $4)",
        )
        .bind(spec.group_id.as_str())
        .bind(&spec.id)
        .bind(vp_id)
        .bind(position as i64)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(TemplateWrite::Written)
}

impl Store {
    // --- value propositions -------------------------------------------------

    pub async fn insert_value_proposition(&self, vp: &ValueProposition) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO value_propositions (id, group_id, name, description, value_items, challenge_items, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&vp.id)
        .bind(vp.group_id.as_str())
        .bind(&vp.name)
        .bind(&vp.description)
        .bind(codec::encode_strings(&vp.values))
        .bind(codec::encode_strings(&vp.challenges))
        .bind(vp.created_at.as_millis())
        .bind(vp.updated_at.as_millis())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Stores the mutable fields of `vp`; false when it no longer exists.
    pub async fn update_value_proposition(&self, vp: &ValueProposition) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE value_propositions SET name = $3, description = $4, value_items = $5, challenge_items = $6, \
             updated_at = $7 WHERE group_id = $1 AND id = $2",
        )
        .bind(vp.group_id.as_str())
        .bind(&vp.id)
        .bind(&vp.name)
        .bind(&vp.description)
        .bind(codec::encode_strings(&vp.values))
        .bind(codec::encode_strings(&vp.challenges))
        .bind(vp.updated_at.as_millis())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn get_value_proposition(&self, group_id: &GroupId, id: &str) -> StoreResult<Option<ValueProposition>> {
        let row = get_row(self, "value_propositions", group_id, id).await?;
        Ok(row.as_ref().map(value_proposition_from_row).transpose()?)
    }

    /// Value propositions of `group_id`, newest first, one page (`limit + 1` rows).
    pub async fn list_value_propositions(
        &self,
        group_id: &GroupId,
        page: &PageRequest,
    ) -> StoreResult<Vec<ValueProposition>> {
        let rows = page_rows(self, "value_propositions", group_id, page).await?;
        Ok(rows.iter().map(value_proposition_from_row).collect::<Result<_, _>>()?)
    }

    /// Deletes a value proposition unless a writing style or signal specification uses it.
    pub async fn delete_value_proposition(&self, group_id: &GroupId, id: &str) -> StoreResult<TemplateDelete> {
        delete_template(self, "value_propositions", VALUE_PROPOSITION_USERS, group_id, id).await
    }

    // --- writing styles -----------------------------------------------------

    /// Inserts (`creating`) or updates a writing style, checking its value
    /// proposition in the same transaction.
    pub async fn save_writing_style(&self, ws: &WritingStyle, creating: bool) -> StoreResult<TemplateWrite> {
        let vp_ids: Vec<String> = ws.value_proposition_id.iter().cloned().collect();
        guarded_write(self, &ws.group_id, &vp_ids, try_save_writing_style(self, ws, &vp_ids, creating)).await
    }

    pub async fn get_writing_style(&self, group_id: &GroupId, id: &str) -> StoreResult<Option<WritingStyle>> {
        let row = get_row(self, "writing_styles", group_id, id).await?;
        Ok(row.as_ref().map(writing_style_from_row).transpose()?)
    }

    /// Writing styles of `group_id`, newest first, one page (`limit + 1` rows).
    pub async fn list_writing_styles(&self, group_id: &GroupId, page: &PageRequest) -> StoreResult<Vec<WritingStyle>> {
        let rows = page_rows(self, "writing_styles", group_id, page).await?;
        Ok(rows.iter().map(writing_style_from_row).collect::<Result<_, _>>()?)
    }

    /// The resources that use a writing style (and so block its deletion).
    /// None do yet; campaign content slots plug in through `WRITING_STYLE_USERS`.
    pub async fn references_to_writing_style(
        &self,
        group_id: &GroupId,
        writing_style_id: &str,
    ) -> StoreResult<Vec<TemplateReference>> {
        let mut conn = self.reader.acquire().await?;
        let users = references(&mut conn, WRITING_STYLE_USERS, group_id, writing_style_id).await;
        conn.done_if(users.is_ok());
        users
    }

    /// Deletes a writing style unless something uses it (see [`Store::references_to_writing_style`]).
    pub async fn delete_writing_style(&self, group_id: &GroupId, id: &str) -> StoreResult<TemplateDelete> {
        delete_template(self, "writing_styles", WRITING_STYLE_USERS, group_id, id).await
    }

    // --- signal specifications ----------------------------------------------

    /// Inserts (`creating`) or updates a signal specification and its value
    /// proposition links, checking them in the same transaction.
    pub async fn save_signal_specification(
        &self,
        spec: &SignalSpecification,
        creating: bool,
    ) -> StoreResult<TemplateWrite> {
        guarded_write(
            self,
            &spec.group_id,
            &spec.value_proposition_ids,
            try_save_signal_specification(self, spec, creating),
        )
        .await
    }

    pub async fn get_signal_specification(
        &self,
        group_id: &GroupId,
        id: &str,
    ) -> StoreResult<Option<SignalSpecification>> {
        let Some(row) = get_row(self, "signal_specifications", group_id, id).await? else {
            return Ok(None);
        };
        let mut specs = vec![signal_specification_from_row(&row)?];
        self.attach_value_proposition_ids(group_id, &mut specs).await?;
        Ok(specs.pop())
    }

    /// Signal specifications of `group_id`, newest first, one page (`limit + 1` rows).
    pub async fn list_signal_specifications(
        &self,
        group_id: &GroupId,
        page: &PageRequest,
    ) -> StoreResult<Vec<SignalSpecification>> {
        let rows = page_rows(self, "signal_specifications", group_id, page).await?;
        let mut specs = rows.iter().map(signal_specification_from_row).collect::<Result<Vec<_>, _>>()?;
        self.attach_value_proposition_ids(group_id, &mut specs).await?;
        Ok(specs)
    }

    async fn attach_value_proposition_ids(
        &self,
        group_id: &GroupId,
        specs: &mut [SignalSpecification],
    ) -> StoreResult<()> {
        if specs.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "SELECT specification_id, value_proposition_id FROM signal_specification_value_propositions \
             WHERE group_id = $1 AND specification_id IN ({}) ORDER BY specification_id, position",
            placeholders(2, specs.len())
        );
        let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql)).bind(group_id.as_str());
        for spec in specs.iter() {
            query = query.bind(&spec.id);
        }
        for (spec_id, vp_id) in query.fetch_all(&self.reader).await? {
            if let Some(spec) = specs.iter_mut().find(|s| s.id == spec_id) {
                spec.value_proposition_ids.push(vp_id);
            }
        }
        Ok(())
    }

    /// The resources that use a signal specification (signal scans still queued or running).
    pub async fn references_to_signal_specification(
        &self,
        group_id: &GroupId,
        specification_id: &str,
    ) -> StoreResult<Vec<TemplateReference>> {
        let mut conn = self.reader.acquire().await?;
        let users = references(&mut conn, SIGNAL_SPECIFICATION_USERS, group_id, specification_id).await;
        conn.done_if(users.is_ok());
        users
    }

    pub async fn delete_signal_specification(&self, group_id: &GroupId, id: &str) -> StoreResult<TemplateDelete> {
        delete_template(self, "signal_specifications", SIGNAL_SPECIFICATION_USERS, group_id, id).await
    }
}

#[cfg(test)]
mod tests {
    //! The race paths: a reference that appears or vanishes between the check
    //! and the write is caught by the foreign keys, on both backends.

    use super::*;
    use sonarly_domain::template::{ContentType, Sample, SampleType};
    use sonarly_testkit::{TestBackend, TestDb, both_backends};

    async fn store(backend: TestBackend) -> (Store, sonarly_testkit::EmptyDbGuard) {
        let (url, guard) = TestDb::empty(backend).await.expect("test database");
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        for group in ["g1", "g2"] {
            sqlx::query("INSERT INTO account_groups (id, name, created_at) VALUES ($1, $1, 0)")
                .bind(group)
                .execute(&store.writer)
                .await
                .unwrap();
        }
        (store, guard)
    }

    fn vp(group: &str, id: &str) -> ValueProposition {
        ValueProposition {
            id: id.into(),
            group_id: group.into(),
            name: id.into(),
            description: None,
            values: vec![],
            challenges: vec![],
            created_at: Timestamp::from_millis(1),
            updated_at: Timestamp::from_millis(1),
        }
    }

    fn style(group: &str, id: &str, vp: Option<&str>) -> WritingStyle {
        WritingStyle {
            id: id.into(),
            group_id: group.into(),
            name: id.into(),
            description: None,
            content_type: ContentType::Comment,
            samples: vec![Sample {
                sample_type: SampleType::Basic,
                message: "Hi.".into(),
                subject: None,
                signal_tag: None,
            }],
            include_rules: vec![],
            exclude_rules: vec![],
            use_strict_template: true,
            value_proposition_id: vp.map(Into::into),
            created_at: Timestamp::from_millis(2),
            updated_at: Timestamp::from_millis(2),
        }
    }

    both_backends!(a_reference_that_vanishes_before_the_write_is_missing, |backend| async move {
        let (store, _guard) = store(backend).await;
        store.insert_value_proposition(&vp("g1", "vp1")).await.unwrap();
        // Skip the in-transaction check (empty id list) to reach the foreign key.
        let unchecked = try_save_writing_style(&store, &style("g1", "ws1", Some("gone")), &[], true).await;
        assert!(unchecked.as_ref().is_err_and(is_foreign_key_violation), "{unchecked:?}");
        let ids = vec!["gone".to_owned()];
        let guarded = guarded_write(
            &store,
            &GroupId::from("g1"),
            &ids,
            try_save_writing_style(&store, &style("g1", "ws1", Some("gone")), &[], true),
        )
        .await
        .unwrap();
        assert_eq!(guarded, TemplateWrite::MissingValuePropositions(ids));
        // Another group's value proposition fails the composite key the same way.
        let foreign = try_save_writing_style(&store, &style("g2", "ws2", Some("vp1")), &[], true).await;
        assert!(foreign.as_ref().is_err_and(is_foreign_key_violation), "{foreign:?}");
        assert!(store.get_writing_style(&GroupId::from("g2"), "ws2").await.unwrap().is_none());
    });

    both_backends!(a_reference_that_appears_before_the_delete_blocks_it, |backend| async move {
        let (store, _guard) = store(backend).await;
        store.insert_value_proposition(&vp("g1", "vp1")).await.unwrap();
        assert_eq!(
            store.save_writing_style(&style("g1", "ws1", Some("vp1")), true).await.unwrap(),
            TemplateWrite::Written
        );
        // Without the reference check the delete reaches the foreign key, and is refused.
        let outcome = delete_template(&store, "value_propositions", &[], &GroupId::from("g1"), "vp1").await.unwrap();
        assert_eq!(outcome, TemplateDelete::InUse(vec![]));
        assert!(store.get_value_proposition(&GroupId::from("g1"), "vp1").await.unwrap().is_some());
        // With it, the users are named.
        let TemplateDelete::InUse(users) = store.delete_value_proposition(&GroupId::from("g1"), "vp1").await.unwrap()
        else {
            panic!("expected InUse");
        };
        assert_eq!(users, [TemplateReference { kind: "writing style", id: "ws1".into(), name: "ws1".into() }]);
        assert!(store.references_to_writing_style(&GroupId::from("g1"), "ws1").await.unwrap().is_empty());
        assert_eq!(store.delete_writing_style(&GroupId::from("g1"), "ws1").await.unwrap(), TemplateDelete::Deleted);
        assert_eq!(store.delete_value_proposition(&GroupId::from("g1"), "vp1").await.unwrap(), TemplateDelete::Deleted);
        assert_eq!(
            store.delete_value_proposition(&GroupId::from("g1"), "vp1").await.unwrap(),
            TemplateDelete::NotFound
        );
    });
}
