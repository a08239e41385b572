//! Prospects, prospecting jobs, plans, credits and quotas.

use crate::GroupId;
use crate::state::wire_enum;
use crate::{DomainError, FieldIssue, Timestamp};

wire_enum! {
    /// The plan of an account group: caps `maxResults` and sizes the monthly quota.
    pub enum Plan ("plan") {
        Tester = "tester",
        Starter = "starter",
        Scale = "scale",
        Enterprise = "enterprise",
    }
}

impl Plan {
    /// Documented caps on `maxResults`.
    pub const fn max_results_cap(self) -> u32 {
        match self {
            Self::Tester => 100,
            Self::Starter => 1_000,
            Self::Scale | Self::Enterprise => 2_000,
        }
    }

    /// Prospects importable per list type per calendar month (UTC).
    pub const fn monthly_quota(self) -> u32 {
        match self {
            Self::Tester => 500,
            Self::Starter => 10_000,
            Self::Scale => 50_000,
            Self::Enterprise => 200_000,
        }
    }
}

/// Credits one imported prospect costs: one, or two when emails are also searched for.
pub const fn credits_per_prospect(search_emails: bool) -> i64 {
    if search_emails { 2 } else { 1 }
}

/// Credits a new group starts with, and what the Demo group gets.
pub const NEW_GROUP_CREDITS: i64 = 200;
pub const DEMO_GROUP_CREDITS: i64 = 20_000;

/// Where a prospecting job finds people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProspectingSource {
    LinkedInSearch { search_url: String },
    SalesNavigatorSavedSearch { saved_search_id: String },
    SalesNavigatorLeadList { lead_list_id: String },
    PostCommenters { post_url: String },
    UrlUpload { profile_urls: Vec<String> },
}

impl ProspectingSource {
    /// The documented `type` value.
    pub fn source_type(&self) -> SourceType {
        match self {
            Self::LinkedInSearch { .. } => SourceType::LinkedInSearch,
            Self::SalesNavigatorSavedSearch { .. } | Self::SalesNavigatorLeadList { .. } => SourceType::SalesNavigator,
            Self::PostCommenters { .. } => SourceType::PostCommenters,
            Self::UrlUpload { .. } => SourceType::UrlUpload,
        }
    }

    /// The quota list the job counts against.
    pub fn list_type(&self) -> ListType {
        match self {
            Self::LinkedInSearch { search_url } if search_url.contains("/sales/") => ListType::SalesNavigator,
            Self::SalesNavigatorSavedSearch { .. } | Self::SalesNavigatorLeadList { .. } => ListType::SalesNavigator,
            _ => ListType::LinkedInClassic,
        }
    }

    pub fn needs_sales_navigator(&self) -> bool {
        self.list_type() == ListType::SalesNavigator
    }
}

wire_enum! {
    /// Where a prospecting job finds people: the `type` of a start request.
    pub enum SourceType ("prospecting source type") {
        LinkedInSearch = "linkedin_search",
        SalesNavigator = "sales_navigator",
        PostCommenters = "post_commenters",
        UrlUpload = "url_upload",
    }
}

wire_enum! {
    /// Quota lists (`listType` / `quotaType` of the quota endpoint).
    pub enum ListType ("quota list type") {
        LinkedInClassic = "LINKEDIN_CLASSIC",
        SalesNavigator = "SALES_NAVIGATOR",
    }
}

impl ListType {
    pub const fn quota_type(self) -> &'static str {
        match self {
            Self::LinkedInClassic => "linkedinClassicSearch",
            Self::SalesNavigator => "salesNavigatorSearch",
        }
    }
}

wire_enum! {
    /// Where a prospecting job (or a signal scan) is in its life.
    pub enum JobStatus ("job status") {
        Queued = "queued",
        Running = "running",
        Completed = "completed",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

impl JobStatus {
    /// Queued or running: it can still make progress or be cancelled.
    pub const fn is_active(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }

    /// What a stage still open when the job ends becomes.
    pub const fn as_stage(self) -> StageStatus {
        match self {
            Self::Queued => StageStatus::Queued,
            Self::Running => StageStatus::Running,
            Self::Completed => StageStatus::Completed,
            Self::Failed => StageStatus::Failed,
            Self::Cancelled => StageStatus::Cancelled,
        }
    }
}

wire_enum! {
    /// Where one stage (import, enrichment) of a prospecting job is.
    pub enum StageStatus ("stage status") {
        Queued = "queued",
        Running = "running",
        Completed = "completed",
        Failed = "failed",
        Cancelled = "cancelled",
        /// The stage does not apply (enrichment without `searchEmails`).
        Skipped = "skipped",
    }
}

/// The first instant of the month containing `at` (UTC) and of the next one.
pub fn month_bounds(at: Timestamp) -> (Timestamp, Timestamp) {
    // An instant outside the years -9999..=9999 counts as the epoch's month.
    let (y, m, _) = at.utc_date().unwrap_or((1970, 1, 1));
    let start = Timestamp::from_utc(y, m, 1, 0, 0, 0).unwrap_or_default();
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (start, Timestamp::from_utc(ny, nm, 1, 0, 0, 0).unwrap_or(start))
}

/// A prospect: one LinkedIn member in one account group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prospect {
    pub id: String,
    pub group_id: GroupId,
    /// The id the prospect was imported under (`ACoAA…`, or a Sales Navigator `ACw…`).
    pub provider_id: String,
    /// The member id (`ACoAA…`) when known and different sources disagree.
    pub member_id: Option<String>,
    /// Stable id of the person across groups (derived from the member id).
    pub person_id: String,
    pub public_identifier: Option<String>,
    pub linkedin_url: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name: String,
    pub headline: Option<String>,
    pub about: Option<String>,
    pub photo_url: Option<String>,
    pub title: Option<String>,
    pub location: Option<String>,
    pub company_name: Option<String>,
    pub company_linkedin_identifier: Option<String>,
    pub company_linkedin_url: Option<String>,
    pub company_industry: Option<String>,
    pub company_website: Option<String>,
    pub email: Option<String>,
    pub connection_degree: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A prospecting job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProspectingJob {
    pub id: String,
    pub group_id: GroupId,
    pub name: String,
    pub source_type: SourceType,
    /// JSON of the source fields as sent.
    pub source: String,
    pub list_type: ListType,
    pub max_results: i64,
    pub search_emails: bool,
    pub status: JobStatus,
    pub audience_id: String,
    pub linkedin_account_id: String,
    pub import_status: StageStatus,
    pub import_done: i64,
    pub import_target: i64,
    pub enrichment_status: StageStatus,
    pub enrichment_done: i64,
    pub provider_cursor: Option<String>,
    pub pages_fetched: i64,
    pub credits_charged: i64,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub cancel_requested: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ProspectingJob {
    pub fn is_active(&self) -> bool {
        self.status.is_active()
    }

    /// Import progress in [0, 1].
    pub fn import_progress(&self) -> f64 {
        match self.import_status {
            StageStatus::Completed => 1.0,
            _ if self.import_target <= 0 => 0.0,
            _ => (self.import_done as f64 / self.import_target as f64).clamp(0.0, 1.0),
        }
    }

    pub fn enrichment_progress(&self) -> f64 {
        match self.enrichment_status {
            StageStatus::Completed | StageStatus::Skipped => 1.0,
            _ if self.import_done <= 0 => 0.0,
            _ => (self.enrichment_done as f64 / self.import_done as f64).clamp(0.0, 1.0),
        }
    }

    pub fn credit_cost_per_prospect(&self) -> i64 {
        if self.search_emails { 2 } else { 1 }
    }
}

/// Validates a LinkedIn profile URL and returns its public identifier.
pub fn profile_url_identifier(url: &str) -> Option<String> {
    let rest = url.trim().strip_prefix("https://").or_else(|| url.trim().strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/')?;
    if host != "linkedin.com" && !host.ends_with(".linkedin.com") {
        return None;
    }
    let slug = path.strip_prefix("in/")?.split(['/', '?', '#']).next()?;
    let valid = !slug.is_empty()
        && slug.len() <= 100
        && slug.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == '%');
    valid.then(|| slug.to_owned())
}

/// Checks a provider id for the lookup route (422 when malformed).
pub fn validate_provider_id(provider_id: &str) -> Result<(), DomainError> {
    let ok = !provider_id.is_empty()
        && provider_id.len() <= 200
        && provider_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | '='));
    if ok {
        Ok(())
    } else {
        Err(DomainError {
            fields: vec![FieldIssue::new(
                "providerId",
                "must be 1 to 200 characters of letters, digits, '-', '_', ':', '.', '='",
            )],
            ..DomainError::unprocessable("Request validation failed.")
        }
        .with_details("providerId: must be 1 to 200 characters of letters, digits, '-', '_', ':', '.', '='"))
    }
}

/// A stable person id (24 hex) for a member id.
pub fn person_id_for(member_id: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(member_id.as_bytes())[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_bounds_cover_year_ends() {
        let at = Timestamp::parse_rfc3339("2026-12-15T10:00:00Z").unwrap();
        let (start, next) = month_bounds(at);
        assert_eq!(start.to_rfc3339(), "2026-12-01T00:00:00.000Z");
        assert_eq!(next.to_rfc3339(), "2027-01-01T00:00:00.000Z");
    }

    #[test]
    fn profile_urls() {
        assert_eq!(
            profile_url_identifier("https://www.linkedin.com/in/avery-stone-1a/").as_deref(),
            Some("avery-stone-1a")
        );
        assert_eq!(profile_url_identifier("https://linkedin.com/in/x?trk=1").as_deref(), Some("x"));
        assert!(profile_url_identifier("https://evil.com/in/x").is_none());
        assert!(profile_url_identifier("https://www.linkedin.com/company/x").is_none());
        assert!(profile_url_identifier("linkedin.com/in/x").is_none());
    }

    #[test]
    fn provider_ids_are_checked() {
        assert!(validate_provider_id("ACoAAB1234_-x").is_ok());
        assert_eq!(validate_provider_id("has space").unwrap_err().status, 422);
        assert!(validate_provider_id(&"a".repeat(201)).is_err());
    }
}
