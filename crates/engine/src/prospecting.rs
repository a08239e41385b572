//! The prospecting runner: one page of a job per step.

use crate::Engine;
use crate::worker::Next;
use sonarly_app::prospecting::source_from_job;
use sonarly_domain::GroupId;
use sonarly_domain::id::new_hex_id;
use sonarly_domain::prospecting::{
    JobStatus, Plan, Prospect, ProspectingJob, ProspectingSource, StageStatus, month_bounds, person_id_for,
    profile_url_identifier,
};
use sonarly_linkedin::{LinkedInError, PeopleSource, Person, SharedLinkedIn};
use sonarly_store::{ImportPage, ImportStop, WorkItem};

/// Profiles looked up per step for `url_upload`.
const URLS_PER_STEP: usize = 25;
/// Emails looked up per enrichment step.
const ENRICHMENT_BATCH: i64 = 25;

fn to_prospect(group_id: &GroupId, person: Person, now: sonarly_domain::Timestamp) -> Prospect {
    let member_id = person.provider_id.starts_with("ACoAA").then(|| person.provider_id.clone());
    let company = person.company.unwrap_or_default();
    let non_empty = |s: String| (!s.is_empty()).then_some(s);
    Prospect {
        id: new_hex_id(now),
        group_id: group_id.clone(),
        person_id: person_id_for(member_id.as_deref().unwrap_or(&person.provider_id)),
        name: format!("{} {}", person.first_name, person.last_name).trim().to_owned(),
        provider_id: person.provider_id,
        member_id,
        public_identifier: non_empty(person.public_identifier),
        linkedin_url: non_empty(person.profile_url),
        first_name: non_empty(person.first_name),
        last_name: non_empty(person.last_name),
        headline: person.headline,
        about: person.about,
        photo_url: person.photo_url,
        title: person.title,
        location: person.location,
        company_name: non_empty(company.name),
        company_linkedin_identifier: company.linkedin_identifier,
        company_linkedin_url: company.linkedin_url,
        company_industry: company.industry,
        company_website: company.website,
        email: None,
        connection_degree: person.connection_degree.map(i64::from),
        created_at: now,
        updated_at: now,
    }
}

impl Engine {
    /// Advances a claimed job by one step.
    pub(crate) async fn advance_job(&self, item: &WorkItem) -> Result<Next, sonarly_store::StoreError> {
        let Some(job) = self.store.begin_job_run(item, self.now(), self.lease_until()).await? else {
            return Ok(Next::Ended); // lease lost: someone else has it
        };
        if job.status != JobStatus::Running {
            self.store.finish_work(item).await?;
            return Ok(Next::Ended);
        }
        let Some(account) = self.store.system().linkedin_account(&job.linkedin_account_id).await? else {
            return self
                .fail(item, &job, "ACCOUNT_MISSING", "The LinkedIn account running this job was removed.")
                .await;
        };
        let provider = match self.registry.provider(&account) {
            Ok(p) => p,
            Err(e) => return self.fail(item, &job, e.reason_code(), &e.to_string()).await,
        };
        let Some(source) = source_from_job(&job) else {
            return self.fail(item, &job, "INVALID_SOURCE", "The job's source could not be read.").await;
        };
        if job.import_status == StageStatus::Running {
            return self.import_step(item, &job, &provider, &source).await;
        }
        if job.enrichment_status == StageStatus::Running {
            return self.enrichment_step(item, &job, &provider).await;
        }
        self.store.end_job(item, &job, JobStatus::Completed, None, self.now()).await?;
        tracing::info!(job = %job.id, imported = job.import_done, "prospecting job completed");
        Ok(Next::Ended)
    }

    async fn fail(
        &self,
        item: &WorkItem,
        job: &ProspectingJob,
        code: &str,
        message: &str,
    ) -> Result<Next, sonarly_store::StoreError> {
        tracing::warn!(job = %job.id, code, reason = message, "prospecting job failed");
        self.store.end_job(item, job, JobStatus::Failed, Some((code, message)), self.now()).await?;
        Ok(Next::Ended)
    }

    async fn import_step(
        &self,
        item: &WorkItem,
        job: &ProspectingJob,
        provider: &SharedLinkedIn,
        source: &ProspectingSource,
    ) -> Result<Next, sonarly_store::StoreError> {
        let remaining = job.import_target - job.import_done;
        if remaining <= 0 {
            self.store.finish_import(item, job, self.now(), self.lease_until()).await?;
            return Ok(Next::Continue);
        }
        let people_source = match source {
            ProspectingSource::LinkedInSearch { search_url } => Ok(PeopleSource::SearchUrl(search_url.clone())),
            ProspectingSource::SalesNavigatorSavedSearch { saved_search_id } => {
                Ok(PeopleSource::SavedSearch(saved_search_id.clone()))
            }
            ProspectingSource::SalesNavigatorLeadList { lead_list_id } => {
                Ok(PeopleSource::LeadList(lead_list_id.clone()))
            }
            ProspectingSource::PostCommenters { post_url } => Ok(PeopleSource::PostCommenters(post_url.clone())),
            ProspectingSource::UrlUpload { profile_urls } => Err(profile_urls),
        };
        let fetched = match people_source {
            Err(urls) => self.fetch_uploaded(provider, urls, job.provider_cursor.as_deref()).await,
            Ok(people_source) => {
                let size = remaining.clamp(1, 100) as u32;
                provider
                    .search_people(&people_source, job.provider_cursor.as_deref(), size)
                    .await
                    .map(|p| (p.items, p.cursor))
            }
        };
        let (people, next_cursor) = match fetched {
            Ok(page) => page,
            Err(e) if e.is_retryable() => return Ok(Next::Retry(e)),
            Err(e) => return self.fail(item, job, e.reason_code(), &e.to_string()).await,
        };
        let now = self.now();
        let prospects: Vec<Prospect> =
            people.into_iter().take(remaining as usize).map(|p| to_prospect(&job.group_id, p, now)).collect();
        let plan = self.store.group_plan(&job.group_id).await?.map_or(Plan::Tester, |(plan, _)| plan);
        let (period_start, _) = month_bounds(now);
        let page = ImportPage {
            job,
            prospects: &prospects,
            next_cursor: next_cursor.as_deref(),
            period_start,
            quota_limit: i64::from(plan.monthly_quota()),
            now,
            lease_until: self.lease_until(),
        };
        let Some(outcome) = self.store.import_page(item, page).await? else {
            return Ok(Next::Ended); // cancelled or lease lost; the page was rolled back
        };
        let credits = outcome.added * job.credit_cost_per_prospect();
        sonarly_app::metrics::prospects_imported(job.list_type.as_str(), outcome.added, credits);
        match outcome.stop {
            Some(ImportStop::InsufficientCredits) => {
                return self
                    .fail(item, job, "INSUFFICIENT_CREDITS", "The account group ran out of credits during the import.")
                    .await;
            }
            Some(ImportStop::QuotaExhausted) => {
                return self
                    .fail(item, job, "QUOTA_EXCEEDED", "The monthly prospecting quota ran out during the import.")
                    .await;
            }
            None => {}
        }
        let done = job.import_done + outcome.added >= job.import_target;
        if done || next_cursor.is_none() {
            self.store.finish_import(item, job, self.now(), self.lease_until()).await?;
        }
        Ok(Next::Continue)
    }

    /// The next slice of an upload: profiles by public identifier. People
    /// LinkedIn cannot show are skipped; the cursor is the index reached.
    async fn fetch_uploaded(
        &self,
        provider: &SharedLinkedIn,
        urls: &[String],
        cursor: Option<&str>,
    ) -> Result<(Vec<Person>, Option<String>), LinkedInError> {
        let start: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0).min(urls.len());
        let end = (start + URLS_PER_STEP).min(urls.len());
        let mut people = Vec::new();
        for url in &urls[start..end] {
            let Some(identifier) = profile_url_identifier(url) else { continue };
            match provider.profile(&identifier).await {
                Ok(person) => people.push(person),
                Err(LinkedInError::NotReachable(_) | LinkedInError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok((people, (end < urls.len()).then(|| end.to_string())))
    }

    async fn enrichment_step(
        &self,
        item: &WorkItem,
        job: &ProspectingJob,
        provider: &SharedLinkedIn,
    ) -> Result<Next, sonarly_store::StoreError> {
        let pending = self.store.pending_enrichment(&job.id, ENRICHMENT_BATCH).await?;
        if pending.is_empty() {
            self.store.end_job(item, job, JobStatus::Completed, None, self.now()).await?;
            tracing::info!(job = %job.id, imported = job.import_done, "prospecting job completed with enrichment");
            return Ok(Next::Ended);
        }
        let mut results = Vec::with_capacity(pending.len());
        for (prospect_id, provider_id) in pending {
            match provider.find_email(&provider_id).await {
                Ok(email) => results.push((prospect_id, email)),
                Err(e) if e.is_retryable() => {
                    // Keep what was found so far; retry the rest later.
                    self.store.record_enrichment(item, job, &results, self.now(), self.lease_until()).await?;
                    return Ok(Next::Retry(e));
                }
                Err(_) => results.push((prospect_id, None)),
            }
        }
        self.store.record_enrichment(item, job, &results, self.now(), self.lease_until()).await?;
        Ok(Next::Continue)
    }
}
