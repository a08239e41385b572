//! Audience reads. Audiences still filled by an active prospecting job are
//! hidden from lists and answer 409 AUDIENCE_NOT_READY (spec rule 2).

use crate::{AppResult, StoreResultExt, validate_name};
use sonarly_domain::GroupId;
use sonarly_domain::clock::Clock;
use sonarly_domain::cursor::CursorCodec;
use sonarly_domain::folder::{AudienceFolder, AudienceKind};
use sonarly_domain::id::{new_audience_id, new_hex_id};
use sonarly_domain::models::Audience;
use sonarly_domain::page::{Page, PageRequest};
use sonarly_domain::{DomainError, ErrorCode};
use sonarly_store::{AudienceDeletion, Store};

pub const AUDIENCES_LIST: &str = "audiences";

pub async fn list_ready(
    store: &Store,
    codec: &CursorCodec,
    group_id: &GroupId,
    page: &PageRequest,
) -> AppResult<Page<Audience>> {
    let rows = store.list_ready_audiences(group_id, page).await.or_internal()?;
    Ok(Page::from_rows(rows, page, codec, AUDIENCES_LIST, |a| (a.created_at, a.id.clone())))
}

pub async fn get_ready(store: &Store, group_id: &GroupId, audience_id: &str) -> AppResult<Audience> {
    let audience = store
        .get_audience(group_id, audience_id)
        .await
        .or_internal()?
        .ok_or_else(|| DomainError::not_found("Audience"))?;
    if !audience.is_ready() {
        return Err(audience_not_ready());
    }
    Ok(audience)
}

/// When prospect `prospect_id` joined audience `audience_id` of the group (its
/// place in the audience's prospect list), for a cursor that names it; `None`
/// when it is not a member or the audience is not the group's.
pub async fn member_added_at(
    store: &Store,
    group_id: &GroupId,
    audience_id: &str,
    prospect_id: &str,
) -> AppResult<Option<sonarly_domain::Timestamp>> {
    store.audience_member_added_at(group_id, audience_id, prospect_id).await.or_internal()
}

pub fn audience_not_ready() -> DomainError {
    DomainError::new(ErrorCode::AudienceNotReady, "The audience is still being populated by an active prospecting job.")
}

/// The store's "not updated" answer means absent or still filling; tell which.
async fn absent_or_not_ready(store: &Store, group_id: &GroupId, audience_id: &str) -> DomainError {
    match store.get_audience(group_id, audience_id).await {
        Ok(Some(a)) if !a.is_ready() => audience_not_ready(),
        Ok(_) => DomainError::not_found("Audience"),
        Err(e) => {
            tracing::error!(error = %e, "storage failure");
            DomainError::internal()
        }
    }
}

fn check_description(description: Option<&str>) -> AppResult<()> {
    if description.is_some_and(|d| d.chars().count() > 2_000) {
        return Err(DomainError::invalid_field("description", "must be at most 2000 characters"));
    }
    Ok(())
}

/// Creates an empty audience (`on_demand` or `monitoring`).
pub async fn create(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    name: &str,
    description: Option<&str>,
    audience_type: &str,
) -> AppResult<Audience> {
    let name = validate_name("name", name)?;
    check_description(description)?;
    let kind = AudienceKind::parse(audience_type)
        .map_err(|_| DomainError::invalid_field("type", "must be on_demand or monitoring"))?;
    let now = clock.now();
    let audience = Audience {
        id: new_audience_id(now),
        group_id: group_id.to_owned(),
        name,
        audience_type: kind.into(),
        description: description.map(str::to_owned),
        folder_id: None,
        prospect_count: 0,
        filling_job_id: None,
        created_at: now,
        updated_at: now,
    };
    store.insert_audience(&audience).await.or_internal()?;
    Ok(audience)
}

/// Partial update: `name` and/or `description` (`Some(None)` clears it).
pub async fn update(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    audience_id: &str,
    name: Option<&str>,
    description: Option<Option<&str>>,
) -> AppResult<Audience> {
    if name.is_none() && description.is_none() {
        return Err(DomainError::unprocessable("At least one mutable field (name, description) is required."));
    }
    let name = name.map(|n| validate_name("name", n)).transpose()?;
    check_description(description.flatten())?;
    if !store.update_audience(group_id, audience_id, name.as_deref(), description, clock.now()).await.or_internal()? {
        return Err(absent_or_not_ready(store, group_id, audience_id).await);
    }
    get_ready(store, group_id, audience_id).await
}

/// Deletes an audience: 404 when absent, 409 AUDIENCE_NOT_READY while a job
/// fills it, and 409 CONFLICT naming the campaigns while active campaigns use
/// it (deleting it would leave them pointing at nothing).
pub async fn delete(store: &Store, group_id: &GroupId, audience_id: &str) -> AppResult<()> {
    match store.delete_unused_audience(group_id, audience_id).await.or_internal()? {
        AudienceDeletion::Deleted => Ok(()),
        AudienceDeletion::Missing => Err(DomainError::not_found("Audience")),
        AudienceDeletion::Filling => Err(audience_not_ready()),
        AudienceDeletion::InUse(campaigns) => Err(audience_in_use(&campaigns)),
    }
}

/// The 409 for an audience active campaigns use; `details` lists their ids.
pub fn audience_in_use(campaigns: &[String]) -> DomainError {
    let shown = campaigns.iter().take(20).cloned().collect::<Vec<_>>().join(", ");
    let more = campaigns.len().saturating_sub(20);
    let details = if more > 0 { format!("campaigns: {shown} and {more} more") } else { format!("campaigns: {shown}") };
    DomainError::conflict(format!(
        "The audience is used by {} active campaign{}; stop {} before deleting the audience.",
        campaigns.len(),
        if campaigns.len() == 1 { "" } else { "s" },
        if campaigns.len() == 1 { "it" } else { "them" },
    ))
    .with_details(details)
}

pub async fn create_folder(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    name: &str,
    audience_type: &str,
) -> AppResult<AudienceFolder> {
    let name = validate_name("name", name)?;
    let kind = AudienceKind::parse(audience_type)
        .map_err(|_| DomainError::invalid_field("audienceType", "must be on_demand or monitoring"))?;
    let now = clock.now();
    let folder = AudienceFolder {
        id: new_hex_id(now),
        group_id: group_id.to_owned(),
        name,
        audience_type: kind,
        is_pinned: false,
        position: 0,
        created_at: now,
        updated_at: now,
    };
    store.insert_folder(&folder).await.or_internal()
}

pub async fn rename_folder(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    folder_id: &str,
    name: &str,
) -> AppResult<AudienceFolder> {
    let name = validate_name("name", name)?;
    if !store.rename_folder(group_id, folder_id, &name, clock.now()).await.or_internal()? {
        return Err(DomainError::not_found("Folder"));
    }
    store.get_folder(group_id, folder_id).await.or_internal()?.ok_or_else(|| DomainError::not_found("Folder"))
}

/// Moves a ready audience into a folder of the same group and a compatible kind.
pub async fn move_to_folder(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    audience_id: &str,
    folder_id: &str,
) -> AppResult<Audience> {
    let folder_id = folder_id.trim();
    if folder_id.is_empty() || folder_id.chars().count() > 100 {
        return Err(DomainError::invalid_field("folderId", "must be 1 to 100 characters"));
    }
    let audience = get_ready(store, group_id, audience_id).await?;
    let folder =
        store.get_folder(group_id, folder_id).await.or_internal()?.ok_or_else(|| DomainError::not_found("Folder"))?;
    if folder.audience_type != audience.audience_type.folder_kind() {
        return Err(DomainError::unprocessable(format!(
            "Folder move failed validation: a {} folder cannot hold a {} audience.",
            folder.audience_type,
            audience.audience_type.folder_kind()
        )));
    }
    if !store.set_audience_folder(group_id, audience_id, Some(folder_id), clock.now()).await.or_internal()? {
        return Err(absent_or_not_ready(store, group_id, audience_id).await);
    }
    get_ready(store, group_id, audience_id).await
}

pub async fn remove_from_folder(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    audience_id: &str,
) -> AppResult<Audience> {
    get_ready(store, group_id, audience_id).await?;
    if !store.set_audience_folder(group_id, audience_id, None, clock.now()).await.or_internal()? {
        return Err(absent_or_not_ready(store, group_id, audience_id).await);
    }
    get_ready(store, group_id, audience_id).await
}

/// Folders with their audiences, and audiences in no folder (ready ones only).
pub async fn navigation(
    store: &Store,
    group_id: &GroupId,
) -> AppResult<(Vec<(AudienceFolder, Vec<Audience>)>, Vec<Audience>)> {
    let folders = store.list_folders(group_id).await.or_internal()?;
    let audiences = store.all_ready_audiences(group_id).await.or_internal()?;
    let mut grouped: Vec<(AudienceFolder, Vec<Audience>)> = folders.into_iter().map(|f| (f, Vec::new())).collect();
    let mut ungrouped = Vec::new();
    for audience in audiences {
        match grouped.iter_mut().find(|(f, _)| Some(&f.id) == audience.folder_id.as_ref()) {
            Some((_, list)) => list.push(audience),
            None => ungrouped.push(audience),
        }
    }
    Ok((grouped, ungrouped))
}
