//! Prospecting: starting import jobs (validated up front, credits and quota
//! checked, idempotent by key), reading, listing and cancelling them, the
//! quota, and the Sales Navigator lists.

use crate::upstream::upstream_error;
use crate::{AppResult, StoreResultExt, validate_name};
use sonarly_domain::GroupId;
use sonarly_domain::clock::Clock;
use sonarly_domain::cursor::CursorCodec;
use sonarly_domain::id::{new_audience_id, new_hex_id};
use sonarly_domain::linkedin_account::{AccountType, LinkedInAccount};
use sonarly_domain::models::Audience;
use sonarly_domain::page::{Page, PageRequest};
use sonarly_domain::prospecting::{
    JobStatus, ListType, Plan, ProspectingJob, ProspectingSource, SourceType, StageStatus, month_bounds,
    profile_url_identifier,
};
use sonarly_domain::{DomainError, ErrorCode, FieldIssue, Timestamp};
use sonarly_linkedin::NamedList;
use sonarly_store::{JobCreation, Store};

pub const JOBS_LIST: &str = "prospecting-jobs";
pub const MAX_UPLOAD_URLS: usize = 1_000;
/// The longest URL accepted (`searchUrl`, `postUrl`, each of `profileUrls`).
pub const MAX_URL_CHARS: usize = 2_048;
/// The longest Sales Navigator list id accepted (`savedSearchId`, `leadListId`).
pub const MAX_LIST_ID_CHARS: usize = 100;

/// A start request as the API received it (all fields optional so every
/// problem can be reported at once). The API parses its own body type and
/// converts it into this one; the names in error messages are the wire names.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    pub source_type: Option<String>,
    pub name: Option<String>,
    pub search_url: Option<String>,
    pub saved_search_id: Option<String>,
    pub lead_list_id: Option<String>,
    pub post_url: Option<String>,
    pub profile_urls: Option<Vec<String>>,
    pub max_results: Option<i64>,
    pub search_emails: Option<bool>,
}

/// The validated request.
#[derive(Debug, Clone)]
struct ValidStart {
    name: String,
    source: ProspectingSource,
    max_results: Option<i64>,
    search_emails: bool,
}

fn validate(req: &StartRequest) -> Result<ValidStart, DomainError> {
    let mut issues = Vec::new();
    for (field, value, max) in [
        ("searchUrl", &req.search_url, MAX_URL_CHARS),
        ("postUrl", &req.post_url, MAX_URL_CHARS),
        ("savedSearchId", &req.saved_search_id, MAX_LIST_ID_CHARS),
        ("leadListId", &req.lead_list_id, MAX_LIST_ID_CHARS),
    ] {
        if value.as_deref().is_some_and(|v| v.chars().count() > max) {
            issues.push(FieldIssue::new(field, format!("must be at most {max} characters")));
            return Err(DomainError::invalid(issues));
        }
    }
    if let Some(urls) = &req.profile_urls
        && let Some(i) = urls.iter().position(|u| u.chars().count() > MAX_URL_CHARS)
    {
        issues
            .push(FieldIssue::new(format!("profileUrls[{i}]"), format!("must be at most {MAX_URL_CHARS} characters")));
        return Err(DomainError::invalid(issues));
    }
    let name = match req.name.as_deref().map(str::trim) {
        None | Some("") => {
            issues.push(FieldIssue::new("name", "is required"));
            String::new()
        }
        Some(n) if n.chars().count() > 200 => {
            issues.push(FieldIssue::new("name", "must be at most 200 characters"));
            String::new()
        }
        Some(n) => n.to_owned(),
    };
    let source = match req.source_type.as_deref().map(SourceType::parse) {
        None => {
            issues.push(FieldIssue::new("type", format!("is required ({})", SourceType::names())));
            None
        }
        Some(Ok(SourceType::LinkedInSearch)) => match req.search_url.as_deref() {
            None => {
                issues.push(FieldIssue::new("searchUrl", "is required for linkedin_search"));
                None
            }
            Some(url) => match sonarly_linkedin::search_url::parse_search_url(url) {
                Ok(_) => Some(ProspectingSource::LinkedInSearch { search_url: url.trim().to_owned() }),
                Err(e) => {
                    issues.push(FieldIssue::new("searchUrl", e));
                    None
                }
            },
        },
        Some(Ok(SourceType::SalesNavigator)) => match (req.saved_search_id.as_deref(), req.lead_list_id.as_deref()) {
            (Some(id), None) if !id.trim().is_empty() => {
                Some(ProspectingSource::SalesNavigatorSavedSearch { saved_search_id: id.trim().to_owned() })
            }
            (None, Some(id)) if !id.trim().is_empty() => {
                Some(ProspectingSource::SalesNavigatorLeadList { lead_list_id: id.trim().to_owned() })
            }
            (Some(_), Some(_)) => {
                issues.push(FieldIssue::new("savedSearchId", "give savedSearchId or leadListId, not both"));
                None
            }
            _ => {
                issues.push(FieldIssue::new(
                    "savedSearchId",
                    "savedSearchId or leadListId is required for sales_navigator",
                ));
                None
            }
        },
        Some(Ok(SourceType::PostCommenters)) => match req.post_url.as_deref() {
            None => {
                issues.push(FieldIssue::new("postUrl", "is required for post_commenters"));
                None
            }
            Some(url) => match sonarly_linkedin::sandbox::check_post_url(url) {
                Ok(()) => Some(ProspectingSource::PostCommenters { post_url: url.trim().to_owned() }),
                Err(e) => {
                    issues.push(FieldIssue::new("postUrl", e));
                    None
                }
            },
        },
        Some(Ok(SourceType::UrlUpload)) => match &req.profile_urls {
            None => {
                issues.push(FieldIssue::new(
                    "profileUrls",
                    "is required for url_upload (1 to 1000 LinkedIn profile URLs)",
                ));
                None
            }
            Some(urls) if urls.is_empty() || urls.len() > MAX_UPLOAD_URLS => {
                issues.push(FieldIssue::new(
                    "profileUrls",
                    format!("must hold 1 to {MAX_UPLOAD_URLS} URLs, not {}", urls.len()),
                ));
                None
            }
            Some(urls) => {
                let bad: Vec<usize> = urls
                    .iter()
                    .enumerate()
                    .filter(|(_, u)| profile_url_identifier(u).is_none())
                    .map(|(i, _)| i)
                    .collect();
                for i in bad.iter().take(10) {
                    issues.push(FieldIssue::new(
                        format!("profileUrls[{i}]"),
                        "is not a LinkedIn profile URL (https://www.linkedin.com/in/…)",
                    ));
                }
                bad.is_empty().then(|| ProspectingSource::UrlUpload {
                    profile_urls: urls.iter().map(|u| u.trim().to_owned()).collect(),
                })
            }
        },
        Some(Err(bad)) => {
            issues.push(FieldIssue::new("type", format!("`{}` is not one of {}", bad.value, SourceType::names())));
            None
        }
    };
    if let Some(max) = req.max_results
        && max < 1
    {
        issues.push(FieldIssue::new("maxResults", "must be at least 1"));
    }
    match source {
        Some(source) if issues.is_empty() => Ok(ValidStart {
            name,
            source,
            max_results: req.max_results,
            search_emails: req.search_emails.unwrap_or(false),
        }),
        _ => Err(DomainError::invalid(issues)),
    }
}

/// The answer to a start: the job, and whether it is a replay of a completed one (200).
pub struct Started {
    pub job: ProspectingJob,
    pub replayed_completed: bool,
}

/// Picks the connected account that can run `source`.
pub(crate) async fn account_for(
    store: &Store,
    group_id: &GroupId,
    sales_navigator: bool,
) -> AppResult<LinkedInAccount> {
    let accounts = store.group_linkedin_accounts(group_id).await.or_internal()?;
    let mut connected = accounts.into_iter().filter(|a| a.status.can_act()).peekable();
    if connected.peek().is_none() {
        return Err(DomainError::conflict("The account group has no connected LinkedIn account."));
    }
    let mut connected = connected.filter(|a| !sales_navigator || a.account_type != AccountType::Classic);
    connected
        .next()
        .ok_or_else(|| DomainError::conflict("This source needs a connected Sales Navigator or Recruiter account."))
}

/// A provider list shorter than this is complete (Unipile reads at most 100
/// saved searches or lead lists in one call): only then can an id missing from
/// it be called unknown.
const COMPLETE_LIST_BELOW: usize = 100;

/// Starts a job like [`start_job`], after asking the LinkedIn provider whether
/// a Sales Navigator `savedSearchId` or `leadListId` exists, where it can tell:
/// an id the account's complete list lacks is a 400 naming the field, instead
/// of a job that is accepted and fails later. A replay of the same
/// Idempotency-Key answers before the provider is asked; when the provider
/// cannot answer, the job is started and its run reports any problem.
pub async fn start_job_checked(
    store: &Store,
    registry: &crate::linkedin::ProviderRegistry,
    clock: &dyn Clock,
    group_id: &GroupId,
    request: &StartRequest,
    idempotency: Option<(&str, &str)>,
) -> AppResult<Started> {
    let valid = validate(request)?;
    if let Some((key, hash)) = idempotency
        && let Some(existing) = existing_for_key(store, group_id, key, clock.now()).await?
    {
        return replay(existing, hash);
    }
    check_sales_navigator_list(store, registry, group_id, &valid.source).await?;
    start_job(store, clock, group_id, request, idempotency).await
}

/// The 400 for a Sales Navigator list id the provider does not know.
async fn check_sales_navigator_list(
    store: &Store,
    registry: &crate::linkedin::ProviderRegistry,
    group_id: &GroupId,
    source: &ProspectingSource,
) -> AppResult<()> {
    let (field, id, which) = match source {
        ProspectingSource::SalesNavigatorSavedSearch { saved_search_id } => {
            ("savedSearchId", saved_search_id, SalesNavigatorList::SavedSearches)
        }
        ProspectingSource::SalesNavigatorLeadList { lead_list_id } => {
            ("leadListId", lead_list_id, SalesNavigatorList::LeadLists)
        }
        _ => return Ok(()),
    };
    // The account that would run the job (start_job picks the same one).
    let account = account_for(store, group_id, true).await?;
    let Ok(provider) = registry.interactive(&account) else { return Ok(()) };
    let (lists, route) = match which {
        SalesNavigatorList::SavedSearches => (provider.saved_searches().await, "saved-searches"),
        SalesNavigatorList::LeadLists => (provider.lead_lists().await, "lead-lists"),
    };
    match lists {
        Ok(lists) if lists.len() < COMPLETE_LIST_BELOW && !lists.iter().any(|l| l.id == *id) => {
            Err(DomainError::invalid_field(
                field,
                format!("`{id}` is not one of the account's Sales Navigator {route} (GET …/sales-navigator/{route})"),
            ))
        }
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::info!(account = %account.id, error = %e, field, "cannot check the Sales Navigator list; starting anyway");
            Ok(())
        }
    }
}

/// Starts a job. `idempotency` is (key, canonical request hash).
pub async fn start_job(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    request: &StartRequest,
    idempotency: Option<(&str, &str)>,
) -> AppResult<Started> {
    let valid = validate(request)?;
    let now = clock.now();
    if let Some((key, hash)) = idempotency
        && let Some(existing) = existing_for_key(store, group_id, key, now).await?
    {
        return replay(existing, hash);
    }
    let (plan, credits) =
        store.group_plan(group_id).await.or_internal()?.ok_or_else(crate::accounts::account_not_found)?;
    let account = account_for(store, group_id, valid.source.needs_sales_navigator()).await?;
    let list_type = valid.source.list_type();
    let (period_start, reset_at) = month_bounds(now);
    let used = store.quota_used(group_id, list_type.as_str(), period_start).await.or_internal()?;
    let remaining = i64::from(plan.monthly_quota()) - used;
    if remaining <= 0 {
        return Err(DomainError::new(
            ErrorCode::QuotaExceeded,
            format!("The monthly {} quota is exhausted.", list_type.as_str()),
        )
        .with_details(format!("resetAt: {}", reset_at.to_rfc3339()))
        .with_retry_at(reset_at));
    }
    let requested = match &valid.source {
        ProspectingSource::UrlUpload { profile_urls } => profile_urls.len() as i64,
        _ => valid.max_results.unwrap_or(i64::from(plan.max_results_cap())).min(i64::from(plan.max_results_cap())),
    };
    let target = requested.min(remaining);
    let cost = sonarly_domain::prospecting::credits_per_prospect(valid.search_emails);
    if credits < target * cost {
        return Err(DomainError::new(
            ErrorCode::InsufficientCredits,
            format!("This job needs up to {} credits; the account group has {credits}.", target * cost),
        ));
    }
    let job_id = new_hex_id(now);
    let source_json = serde_json::to_string(&source_json(&valid.source)).map_err(|_| DomainError::internal())?;
    let job = ProspectingJob {
        id: job_id.clone(),
        group_id: group_id.to_owned(),
        name: validate_name("name", &valid.name)?,
        source_type: valid.source.source_type(),
        source: source_json,
        list_type,
        max_results: target,
        search_emails: valid.search_emails,
        status: JobStatus::Queued,
        audience_id: new_audience_id(now),
        linkedin_account_id: account.id.clone(),
        import_status: StageStatus::Queued,
        import_done: 0,
        import_target: target,
        enrichment_status: if valid.search_emails { StageStatus::Queued } else { StageStatus::Skipped },
        enrichment_done: 0,
        provider_cursor: None,
        pages_fetched: 0,
        credits_charged: 0,
        error_code: None,
        error_message: None,
        idempotency_key: idempotency.map(|(k, _)| k.to_owned()),
        request_hash: idempotency.map(|(_, h)| h.to_owned()),
        cancel_requested: false,
        created_at: now,
        updated_at: now,
    };
    let audience = Audience {
        id: job.audience_id.clone(),
        group_id: group_id.to_owned(),
        name: job.name.clone(),
        audience_type: job.source_type.into(),
        description: None,
        folder_id: None,
        prospect_count: 0,
        filling_job_id: Some(job.id.clone()),
        created_at: now,
        updated_at: now,
    };
    match store.create_prospecting_job(&job, &audience, &new_hex_id(now), now).await.or_internal()? {
        JobCreation::Created(job) => Ok(Started { job, replayed_completed: false }),
        JobCreation::Existing(existing) => replay(existing, idempotency.map(|(_, h)| h).unwrap_or_default()),
    }
}

async fn existing_for_key(
    store: &Store,
    group_id: &GroupId,
    key: &str,
    now: Timestamp,
) -> AppResult<Option<ProspectingJob>> {
    // The store also resolves races at insert time; this read answers plain
    // replays without re-checking credits and quota against today's state.
    let job = store.prospecting_job_by_key(group_id, key).await.or_internal()?;
    Ok(job.filter(|j| sonarly_domain::idempotency::within_window(j.created_at, now)))
}

fn replay(existing: ProspectingJob, hash: &str) -> AppResult<Started> {
    if existing.request_hash.as_deref() != Some(hash) {
        return Err(DomainError::new(
            ErrorCode::IdempotencyConflict,
            "This Idempotency-Key was already used with a different request body.",
        ));
    }
    let completed = existing.status == JobStatus::Completed;
    Ok(Started { job: existing, replayed_completed: completed })
}

fn source_json(source: &ProspectingSource) -> serde_json::Value {
    match source {
        ProspectingSource::LinkedInSearch { search_url } => serde_json::json!({ "searchUrl": search_url }),
        ProspectingSource::SalesNavigatorSavedSearch { saved_search_id } => {
            serde_json::json!({ "savedSearchId": saved_search_id })
        }
        ProspectingSource::SalesNavigatorLeadList { lead_list_id } => serde_json::json!({ "leadListId": lead_list_id }),
        ProspectingSource::PostCommenters { post_url } => serde_json::json!({ "postUrl": post_url }),
        ProspectingSource::UrlUpload { profile_urls } => serde_json::json!({ "profileUrls": profile_urls }),
    }
}

/// Reads a stored source back.
pub fn source_from_job(job: &ProspectingJob) -> Option<ProspectingSource> {
    let value: serde_json::Value = serde_json::from_str(&job.source).ok()?;
    let text = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    match job.source_type {
        SourceType::LinkedInSearch => Some(ProspectingSource::LinkedInSearch { search_url: text("searchUrl")? }),
        SourceType::SalesNavigator => match (text("savedSearchId"), text("leadListId")) {
            (Some(id), _) => Some(ProspectingSource::SalesNavigatorSavedSearch { saved_search_id: id }),
            (None, Some(id)) => Some(ProspectingSource::SalesNavigatorLeadList { lead_list_id: id }),
            _ => None,
        },
        SourceType::PostCommenters => Some(ProspectingSource::PostCommenters { post_url: text("postUrl")? }),
        SourceType::UrlUpload => Some(ProspectingSource::UrlUpload {
            profile_urls: value
                .get("profileUrls")?
                .as_array()?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        }),
    }
}

pub async fn get_job(store: &Store, group_id: &GroupId, job_id: &str) -> AppResult<ProspectingJob> {
    store
        .get_prospecting_job(group_id, job_id)
        .await
        .or_internal()?
        .ok_or_else(|| DomainError::not_found("Prospecting job"))
}

pub async fn list_jobs(
    store: &Store,
    codec: &CursorCodec,
    group_id: &GroupId,
    status_filter: Option<&str>,
    page: &PageRequest,
) -> AppResult<Page<ProspectingJob>> {
    let status_filter = crate::status_filter(status_filter, JobStatus::parse, JobStatus::names)?;
    let rows = store.list_prospecting_jobs(group_id, status_filter, page).await.or_internal()?;
    Ok(Page::from_rows(rows, page, codec, JOBS_LIST, |j| (j.created_at, j.id.clone())))
}

pub async fn cancel_job(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    job_id: &str,
) -> AppResult<ProspectingJob> {
    match store.cancel_prospecting_job(group_id, job_id, clock.now()).await.or_internal()? {
        None => Err(DomainError::not_found("Prospecting job")),
        Some((true, job)) => Ok(job),
        Some((false, job)) => Err(DomainError::unprocessable(format!(
            "Job is not in a cancellable status (it is {}); only queued or running jobs can be cancelled.",
            job.status
        ))),
    }
}

/// The quota of one list type.
pub struct QuotaStatus {
    pub list_type: ListType,
    /// The group's plan (it caps one job's size) and its credit balance.
    pub plan: Plan,
    pub credits: i64,
    pub used: i64,
    pub limit: i64,
    pub reset_at: Timestamp,
}

pub async fn quota(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    list_type: Option<&str>,
) -> AppResult<QuotaStatus> {
    let list_type = match list_type {
        None => ListType::LinkedInClassic,
        Some(text) => ListType::parse(text)
            .map_err(|_| DomainError::invalid_field("listType", "must be LINKEDIN_CLASSIC or SALES_NAVIGATOR"))?,
    };
    let (plan, credits) =
        store.group_plan(group_id).await.or_internal()?.ok_or_else(crate::accounts::account_not_found)?;
    let (period_start, reset_at) = month_bounds(clock.now());
    let used = store.quota_used(group_id, list_type.as_str(), period_start).await.or_internal()?;
    Ok(QuotaStatus { list_type, plan, credits, used, limit: i64::from(plan.monthly_quota()), reset_at })
}

/// Which Sales Navigator list to read.
pub enum SalesNavigatorList {
    SavedSearches,
    LeadLists,
}

/// Saved searches or lead lists of the group's Sales Navigator accounts
/// (empty when it has none).
pub async fn sales_navigator_lists(
    store: &Store,
    registry: &crate::linkedin::ProviderRegistry,
    group_id: &GroupId,
    which: SalesNavigatorList,
) -> AppResult<Vec<NamedList>> {
    let accounts = store.group_linkedin_accounts(group_id).await.or_internal()?;
    let mut lists = Vec::new();
    for account in accounts.iter().filter(|a| a.status.can_act() && a.account_type != AccountType::Classic) {
        // Any provider failure here is the documented 502: these pages list no 409 or 422.
        let as_upstream = |e| DomainError { status: 502, code: ErrorCode::UpstreamError, ..upstream_error(e) };
        let provider = registry.interactive(account).map_err(as_upstream)?;
        let found = match which {
            SalesNavigatorList::SavedSearches => provider.saved_searches().await,
            SalesNavigatorList::LeadLists => provider.lead_lists().await,
        }
        .map_err(as_upstream)?;
        lists.extend(found);
    }
    Ok(lists)
}
