//! The prospecting runner on both backends, with a manual clock.

use crate::world::Setup;
use sonarly_app::prospecting::{StartRequest, cancel_job, get_job, start_job};
use sonarly_domain::clock::Clock;
use sonarly_domain::prospecting::{JobStatus, Plan, StageStatus};
use sonarly_linkedin::AccountType;
use sonarly_store::PROSPECTING_WORK;
use sonarly_testkit::{TestBackend, both_backends};
use std::sync::Arc;

const ENGINEERS: &str = "https://www.linkedin.com/search/results/people/?keywords=software%20engineer";

struct World(crate::world::World);

impl std::ops::Deref for World {
    type Target = crate::world::World;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl World {
    async fn new(backend: TestBackend, plan: Plan, credits: i64) -> Self {
        let setup = Setup { plan, credits, account_type: AccountType::SalesNavigator, ..Setup::default() };
        Self(crate::world::World::new(backend, setup).await)
    }

    async fn start(&self, request: StartRequest) -> String {
        start_job(self.store(), &self.clock, &self.group.id, &request, None).await.unwrap().job.id
    }

    async fn credits(&self) -> i64 {
        self.store().group_plan(&self.group.id).await.unwrap().unwrap().1
    }
}

fn search(max: i64) -> StartRequest {
    StartRequest {
        source_type: Some("linkedin_search".into()),
        name: Some("Engineers".into()),
        search_url: Some(ENGINEERS.into()),
        max_results: Some(max),
        ..Default::default()
    }
}

both_backends!(a_job_imports_into_a_new_audience_and_charges_credits, |backend| async move {
    let w = World::new(backend, Plan::Starter, 5_000).await;
    let job_id = w.start(search(120)).await;
    let job = get_job(w.store(), &w.group.id, &job_id).await.unwrap();
    assert_eq!(job.status, JobStatus::Queued);
    let audience = w.store().get_audience(&w.group.id, &job.audience_id).await.unwrap().unwrap();
    assert!(!audience.is_ready(), "the audience is hidden while the job fills it");
    assert_eq!(audience.audience_type, sonarly_domain::folder::AudienceType::LinkedInSearch);

    w.engine("a").run_until_idle().await;
    let job = get_job(w.store(), &w.group.id, &job_id).await.unwrap();
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_eq!((job.import_done, job.import_progress(), job.enrichment_status), (120, 1.0, StageStatus::Skipped));
    let audience = w.store().get_audience(&w.group.id, &job.audience_id).await.unwrap().unwrap();
    assert!(audience.is_ready());
    assert_eq!(audience.prospect_count, 120);
    assert_eq!(w.credits().await, 5_000 - 120);
    assert_eq!(job.credits_charged, 120);
    assert_eq!(w.store().count_work(PROSPECTING_WORK).await.unwrap(), 0);

    // A second import of overlapping people reuses the prospects (one per person per group).
    let second = w.start(search(150)).await;
    w.engine("a").run_until_idle().await;
    let second = get_job(w.store(), &w.group.id, &second).await.unwrap();
    assert_eq!(second.import_done, 150);
    assert_eq!(w.store().count_prospects(&w.group.id).await.unwrap(), 150, "the first 120 are shared");
});

both_backends!(a_restart_mid_import_finishes_with_exactly_the_target, |backend| async move {
    let w = World::new(backend, Plan::Starter, 5_000).await;
    let job_id = w.start(search(1_000)).await;
    let first = w.engine("first-instance");
    for _ in 0..5 {
        assert!(first.step().await);
    }
    let partial = get_job(w.store(), &w.group.id, &job_id).await.unwrap();
    assert!(partial.import_done > 0 && partial.import_done < 1_000);
    assert!(partial.import_progress() > 0.0 && partial.import_progress() < 1.0);

    // The first instance dies while holding the row.
    let now = w.clock.now();
    let held = w.store().claim_work(PROSPECTING_WORK, "first-instance", now, now.plus_millis(60_000), 1).await.unwrap();
    assert_eq!(held.len(), 1);
    let second = w.engine("second-instance");
    assert!(!second.step().await, "the lease protects the row until it expires");
    w.clock.advance_millis(61_000);
    second.run_until_idle().await;

    let job = get_job(w.store(), &w.group.id, &job_id).await.unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.import_done, 1_000);
    let audience = w.store().get_audience(&w.group.id, &job.audience_id).await.unwrap().unwrap();
    assert_eq!(audience.prospect_count, 1_000);
    assert_eq!(w.store().count_prospects(&w.group.id).await.unwrap(), 1_000);
    assert_eq!(w.credits().await, 5_000 - 1_000, "charged once per prospect, never twice");
});

both_backends!(cancelling_stops_at_the_next_page_and_keeps_imports, |backend| async move {
    let w = World::new(backend, Plan::Starter, 5_000).await;
    let job_id = w.start(search(1_000)).await;
    let engine = w.engine("a");
    engine.step().await;
    engine.step().await;
    let cancelled = cancel_job(w.store(), &w.clock, &w.group.id, &job_id).await.unwrap();
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    engine.run_until_idle().await;
    let job = get_job(w.store(), &w.group.id, &job_id).await.unwrap();
    assert_eq!(job.status, JobStatus::Cancelled);
    let audience = w.store().get_audience(&w.group.id, &job.audience_id).await.unwrap().unwrap();
    assert!(audience.is_ready());
    assert_eq!(audience.prospect_count, job.import_done);
    assert!(job.import_done > 0 && job.import_done < 1_000);
    let again = cancel_job(w.store(), &w.clock, &w.group.id, &job_id).await.unwrap_err();
    assert_eq!(again.status, 422);
});

/// A worker of another instance holds the job's work item (its transaction
/// locks the `work_items` row, then the job's row, as `begin_job_run` and the
/// import do) while a cancel comes in. The cancel takes the same locks in the
/// same order, so it waits for the worker instead of deadlocking with it
/// (PostgreSQL then aborted one side, and the cancel answered 500: found by
/// `.ci/fuzz --postgres`). PostgreSQL only: SQLite has one writer per database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_waits_for_a_worker_holding_the_job_instead_of_deadlocking() {
    if !sonarly_testkit::postgres_available() {
        return;
    }
    let w = Arc::new(World::new(TestBackend::Postgres, Plan::Starter, 5_000).await);
    let job_id = w.start(search(10)).await;
    let other = sqlx::AnyPool::connect(&w.db.url).await.unwrap();
    let mut worker = other.begin().await.unwrap();
    let held = sqlx::query("UPDATE work_items SET attempts = attempts WHERE kind = $1 AND ref_id = $2")
        .bind(PROSPECTING_WORK)
        .bind(&job_id)
        .execute(&mut *worker)
        .await
        .unwrap();
    assert_eq!(held.rows_affected(), 1);
    let cancel = {
        let (w, job_id) = (w.clone(), job_id.clone());
        tokio::spawn(async move { cancel_job(w.store(), &w.clock, &w.group.id, &job_id).await })
    };
    // Let the cancel reach the lock it waits for. (Were it slower, the test
    // would pass without showing anything; it cannot fail for that.)
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    sqlx::query("UPDATE prospecting_jobs SET pages_fetched = pages_fetched + 1 WHERE id = $1")
        .bind(&job_id)
        .execute(&mut *worker)
        .await
        .expect("the worker is not blocked by the cancel");
    worker.commit().await.unwrap();
    let cancelled = cancel.await.unwrap().expect("the cancel succeeds once the worker is done");
    assert_eq!(cancelled.status.as_str(), "cancelled");
    assert_eq!(w.store().count_work(PROSPECTING_WORK).await.unwrap(), 0, "its work is withdrawn");
}

both_backends!(uploads_and_enrichment_and_sales_navigator_sources, |backend| async move {
    let w = World::new(backend, Plan::Starter, 5_000).await;
    // Known profiles from a search, plus one that does not exist.
    let probe = w.start(search(5)).await;
    w.engine("a").run_until_idle().await;
    let probe = get_job(w.store(), &w.group.id, &probe).await.unwrap();
    let known: Vec<String> = w
        .store()
        .list_audience_prospects(&w.group.id, &probe.audience_id, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, p)| p.linkedin_url.unwrap())
        .collect();
    let mut urls = known.clone();
    urls.push("https://www.linkedin.com/in/nobody-here-zzzz".into());
    let upload = w
        .start(StartRequest {
            source_type: Some("url_upload".into()),
            name: Some("Upload".into()),
            profile_urls: Some(urls),
            search_emails: Some(true),
            ..Default::default()
        })
        .await;
    w.engine("a").run_until_idle().await;
    let upload = get_job(w.store(), &w.group.id, &upload).await.unwrap();
    assert_eq!(upload.status, JobStatus::Completed);
    assert_eq!(upload.import_done, 5, "the unknown profile is skipped");
    assert_eq!((upload.enrichment_status, upload.enrichment_done), (StageStatus::Completed, 5));
    assert_eq!(upload.credits_charged, 10, "two credits each with searchEmails");

    let commenters = w
        .start(StartRequest {
            source_type: Some("post_commenters".into()),
            name: Some("Commenters".into()),
            post_url: Some("https://www.linkedin.com/posts/avery-stone_activity-71234".into()),
            ..Default::default()
        })
        .await;
    w.engine("a").run_until_idle().await;
    let commenters = get_job(w.store(), &w.group.id, &commenters).await.unwrap();
    assert_eq!(commenters.status, JobStatus::Completed);
    assert!(commenters.import_done >= 20);
});

both_backends!(credits_and_quota_bound_what_is_imported, |backend| async move {
    let w = World::new(backend, Plan::Tester, 60).await;
    let err = start_job(w.store(), &w.clock, &w.group.id, &search(100), None).await.err().unwrap();
    assert_eq!((err.status, err.code.as_str()), (402, "INSUFFICIENT_CREDITS"));
    assert_eq!(w.store().count_work(PROSPECTING_WORK).await.unwrap(), 0, "nothing queued");

    let job_id = w.start(search(50)).await;
    // Credits drain elsewhere before the job runs: it imports what is covered, then stops.
    w.store().add_group_credits(&w.group.id, -40).await.unwrap();
    w.engine("a").run_until_idle().await;
    let job = get_job(w.store(), &w.group.id, &job_id).await.unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(job.error_code.as_deref(), Some("INSUFFICIENT_CREDITS"));
    assert_eq!(job.import_done, 20);
    assert_eq!(w.credits().await, 0);
});

both_backends!(an_exhausted_monthly_quota_refuses_new_jobs, |backend| async move {
    let w = World::new(backend, Plan::Tester, 100_000).await;
    for _ in 0..5 {
        w.start(search(100)).await;
        w.engine("a").run_until_idle().await;
    }
    let quota = sonarly_app::prospecting::quota(w.store(), &w.clock, &w.group.id, None).await.unwrap();
    assert_eq!((quota.used, quota.limit), (500, 500));
    let err = start_job(w.store(), &w.clock, &w.group.id, &search(10), None).await.err().unwrap();
    assert_eq!((err.status, err.code.as_str()), (429, "QUOTA_EXCEEDED"));
    assert!(err.details.unwrap().starts_with("resetAt: "));
    // Sales Navigator has its own quota.
    let sales_navigator = StartRequest {
        search_url: Some("https://www.linkedin.com/sales/search/people?query=(keywords%3Acto)".into()),
        ..search(10)
    };
    assert!(start_job(w.store(), &w.clock, &w.group.id, &sales_navigator, None).await.is_ok());
});
