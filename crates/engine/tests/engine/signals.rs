//! The signal scan runner on both backends, with a manual clock: complete
//! scans, a scan killed mid-way and resumed, a stale worker, cancellation,
//! upstream faults and unreachable profiles.

use crate::world::Setup;
use sonarly_app::prospecting::{StartRequest, get_job, start_job};
use sonarly_app::signals::{StartScanRequest, cancel_scan, get_scan, prospect_signals, start_scan};
use sonarly_app::templates::create_signal_specification;
use sonarly_domain::clock::Clock;
use sonarly_domain::linkedin_account::{ReadBudgets, SendingRules, WorkingHours};
use sonarly_domain::prospecting::{JobStatus, Prospect, person_id_for};
use sonarly_domain::signals::SignalScan;
use sonarly_domain::template::{Patch, SignalSpecificationInput};
use sonarly_engine::Engine;
use sonarly_linkedin::sandbox::{EnforcementConfig, SandboxConfig};
use sonarly_store::{ProspectOutcome, SIGNAL_SCAN_WORK};
use sonarly_testkit::{TestBackend, both_backends};
use std::collections::HashSet;

const ENGINEERS: &str = "https://www.linkedin.com/search/results/people/?keywords=software%20engineer";

/// The engine tests' World with an audience and a signal specification.
struct World {
    base: crate::world::World,
    audience_id: String,
    spec_id: String,
}

impl std::ops::Deref for World {
    type Target = crate::world::World;
    fn deref(&self) -> &Self::Target {
        &self.base
    }
}

impl World {
    /// A group with a sandbox account, an audience of `size` engineers and a specification.
    async fn new(backend: TestBackend, size: i64, sandbox: SandboxConfig) -> Self {
        let setup = Setup {
            credits: 10_000,
            // Around the clock and roomy activity reads: these tests are about scans, not budgets.
            rules: SendingRules {
                working_hours: WorkingHours::AROUND_THE_CLOCK,
                reads: ReadBudgets { activity_reads: 10_000, ..ReadBudgets::default() },
                ..SendingRules::default()
            },
            sandbox: sonarly_testkit::pinned_sandbox(sandbox),
            ..Setup::default()
        };
        let base = crate::world::World::new(backend, setup).await;
        let request = StartRequest {
            source_type: Some("linkedin_search".into()),
            name: Some("Engineers".into()),
            search_url: Some(ENGINEERS.into()),
            max_results: Some(size),
            ..Default::default()
        };
        let job = start_job(base.store(), &base.clock, &base.group.id, &request, None).await.unwrap().job;
        let mut world = Self { base, audience_id: String::new(), spec_id: String::new() };
        world.drain(&world.engine("setup")).await;
        let job = get_job(world.store(), &world.group.id, &job.id).await.unwrap();
        assert_eq!(job.status, JobStatus::Completed);
        world.audience_id = job.audience_id;
        let spec = SignalSpecificationInput {
            name: Patch::Value("Engineering teams scaling their platform".into()),
            description: Patch::Value("Posts about hiring engineers, Kubernetes, observability or CI pipelines".into()),
            sources: Patch::Value(vec![
                "linkedin_posts".into(),
                "linkedin_comments".into(),
                "job_changes".into(),
                "hiring".into(),
            ]),
            specifications: Patch::Value(vec![serde_json::json!({"keywords": ["developer productivity", "Rust"]})]),
            ..Default::default()
        };
        world.spec_id =
            create_signal_specification(world.store(), &world.clock, &world.group.id, spec).await.unwrap().id;
        world
    }

    /// Runs the queue to empty, moving the clock past retry backoffs (upstream faults).
    async fn drain(&self, engine: &Engine) {
        for _ in 0..500 {
            engine.run_until_idle().await;
            let left = self.store().count_work(SIGNAL_SCAN_WORK).await.unwrap()
                + self.store().count_work(sonarly_store::PROSPECTING_WORK).await.unwrap();
            if left == 0 {
                return;
            }
            self.clock.advance_millis(10 * 60_000);
        }
        panic!("the queue never drained");
    }

    fn request(&self, prospect_ids: Option<Vec<String>>) -> StartScanRequest {
        StartScanRequest {
            signal_specification_id: Some(self.spec_id.clone()),
            audience_id: Some(self.audience_id.clone()),
            prospect_ids,
        }
    }

    async fn start(&self) -> SignalScan {
        start_scan(self.store(), &self.clock, &self.group.id, &self.request(None), None).await.unwrap().scan
    }

    async fn scan(&self, id: &str) -> SignalScan {
        get_scan(self.store(), &self.group.id, id).await.unwrap()
    }

    async fn prospect_ids(&self) -> Vec<String> {
        let rows = self.store().list_audience_prospects(&self.group.id, &self.audience_id, None, 10_000).await.unwrap();
        rows.into_iter().map(|(_, p)| p.id).collect()
    }
}

both_backends!(a_scan_evaluates_every_prospect_and_stores_scored_results, |backend| async move {
    let w = World::new(backend, 45, SandboxConfig::default()).await;
    let scan = w.start().await;
    assert_eq!((scan.status, scan.total_count, scan.progress()), (JobStatus::Queued, 45, 0.0));
    let prospects = w.prospect_ids().await;
    let before = prospect_signals(w.store(), &w.group.id, &prospects[0], None).await.unwrap();
    assert_eq!(before.status(), "pending");
    assert!(before.groups.is_empty());

    let engine = w.engine("a");
    assert!(engine.step().await);
    let partial = w.scan(&scan.id).await;
    assert_eq!(partial.status, JobStatus::Running);
    assert_eq!(partial.processed_count, 10, "one batch per step");
    assert!(partial.progress() > 0.0 && partial.progress() < 1.0);

    engine.run_until_idle().await;
    let done = w.scan(&scan.id).await;
    assert_eq!(done.status, JobStatus::Completed, "{done:?}");
    assert_eq!((done.processed_count, done.evaluated_count, done.skipped_count), (45, 45, 0));
    assert_eq!(done.progress(), 1.0);
    assert!(done.signal_count > 45, "people are active: {}", done.signal_count);
    assert!(done.matched_count > 0 && done.matched_count <= 45);
    assert_eq!(w.store().count_signal_evaluations(&scan.id).await.unwrap(), 45);
    assert_eq!(w.store().count_work(SIGNAL_SCAN_WORK).await.unwrap(), 0);
    let keys = w.store().signal_item_keys(&scan.id).await.unwrap();
    assert_eq!(keys.len() as i64, done.signal_count);

    let mut seen_sources = HashSet::new();
    for id in &prospects {
        let signals = prospect_signals(w.store(), &w.group.id, id, None).await.unwrap();
        assert_eq!(signals.status(), "evaluated");
        assert_eq!(signals.evaluation.as_ref().unwrap().scan_id, scan.id);
        for group in &signals.groups {
            seen_sources.insert(group.source.as_str());
            assert!(["linkedin_posts", "linkedin_comments", "job_changes", "hiring"].contains(&group.source.as_str()));
            for item in &group.items {
                assert!(item.score <= 100 && !item.reasoning.is_empty() && !item.summary.is_empty());
                assert!(item.occurred_at() <= w.clock.now());
            }
        }
    }
    assert!(seen_sources.len() >= 3, "{seen_sources:?}");
    assert!(!seen_sources.contains("company_news"), "sources outside the specification are not stored");

    // The same scan again gives the same items (deterministic), and becomes the latest evaluation.
    w.clock.advance_millis(1_000);
    let again = w.start().await;
    w.engine("a").run_until_idle().await;
    let again_keys = w.store().signal_item_keys(&again.id).await.unwrap();
    assert_eq!(again_keys, keys);
    let first = prospect_signals(w.store(), &w.group.id, &prospects[3], None).await.unwrap();
    assert_eq!(first.evaluation.as_ref().unwrap().scan_id, again.id, "the latest evaluation answers");
});

both_backends!(a_scan_killed_mid_way_resumes_without_duplicates, |backend| async move {
    // Three scans of 60 profiles in a row are past LinkedIn's profile wall; not under test here.
    let w =
        World::new(backend, 60, SandboxConfig { enforcement: EnforcementConfig::off(), ..SandboxConfig::default() })
            .await;
    let reference = w.start().await;
    w.engine("reference").run_until_idle().await;
    let expected = w.store().signal_item_keys(&reference.id).await.unwrap();

    let scan = w.start().await;
    let first = w.engine("first-instance");
    for _ in 0..3 {
        assert!(first.step().await);
    }
    assert_eq!(w.scan(&scan.id).await.processed_count, 30);
    // The first instance dies while holding the row (it had claimed the next batch).
    let now = w.clock.now();
    let held = w.store().claim_work(SIGNAL_SCAN_WORK, "first-instance", now, now.plus_millis(60_000), 1).await.unwrap();
    assert_eq!(held.len(), 1);
    let second = w.engine("second-instance");
    assert!(!second.step().await, "the lease protects the row until it expires");
    w.clock.advance_millis(61_000);
    second.run_until_idle().await;

    let done = w.scan(&scan.id).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!((done.processed_count, done.evaluated_count), (60, 60));
    assert_eq!(w.store().count_signal_evaluations(&scan.id).await.unwrap(), 60);
    let keys = w.store().signal_item_keys(&scan.id).await.unwrap();
    assert_eq!(keys.len() as i64, done.signal_count, "the counts match what is stored");
    let unique: HashSet<_> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "no item stored twice");
    assert_eq!(keys, expected, "the same items as an uninterrupted scan");

    // A stale worker whose lease was taken over cannot write its batch.
    let stale_scan = w.start().await;
    let now = w.clock.now();
    let stale =
        w.store().claim_work(SIGNAL_SCAN_WORK, "stale", now, now.plus_millis(1_000), 1).await.unwrap().remove(0);
    w.clock.advance_millis(2_000);
    let pending = w.store().system().pending_scan_prospects(&stale_scan.id, 10).await.unwrap();
    w.engine("fresh").run_until_idle().await;
    let outcomes: Vec<(String, ProspectOutcome)> =
        pending.iter().map(|p| (p.id.clone(), ProspectOutcome::Evaluated(vec![]))).collect();
    let running = SignalScan { status: JobStatus::Running, ..w.scan(&stale_scan.id).await };
    let written = w
        .store()
        .record_scan_batch(&stale, &running, &outcomes, w.clock.now(), w.clock.now().plus_millis(60_000))
        .await
        .unwrap();
    assert!(!written, "the lease was lost");
    let after = w.scan(&stale_scan.id).await;
    assert_eq!((after.status, after.evaluated_count), (JobStatus::Completed, 60));
    assert_eq!(w.store().signal_item_keys(&stale_scan.id).await.unwrap(), expected);
});

both_backends!(cancelling_stops_the_scan_and_keeps_completed_evaluations, |backend| async move {
    let w = World::new(backend, 50, SandboxConfig::default()).await;
    let scan = w.start().await;
    let engine = w.engine("a");
    engine.step().await;
    engine.step().await;
    let cancelled = cancel_scan(w.store(), &w.clock, &w.group.id, &scan.id).await.unwrap();
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    engine.run_until_idle().await;
    let after = w.scan(&scan.id).await;
    assert_eq!((after.status, after.processed_count), (JobStatus::Cancelled, 20));
    assert_eq!(w.store().count_signal_evaluations(&scan.id).await.unwrap(), 20);
    let again = cancel_scan(w.store(), &w.clock, &w.group.id, &scan.id).await.unwrap_err();
    assert_eq!(again.status, 422);
    assert!(again.message.contains("not in a cancellable status"));
    // Prospects evaluated before the cancel are evaluated; the others stay pending.
    let ids = w.prospect_ids().await;
    let mut statuses = Vec::new();
    for id in &ids {
        statuses.push(prospect_signals(w.store(), &w.group.id, id, None).await.unwrap().status());
    }
    assert_eq!(statuses.iter().filter(|s| **s == "evaluated").count(), 20);
    assert_eq!(statuses.iter().filter(|s| **s == "pending").count(), 30);
    // A completed scan cannot be cancelled either.
    let other = w.start().await;
    engine.run_until_idle().await;
    assert_eq!(cancel_scan(w.store(), &w.clock, &w.group.id, &other.id).await.unwrap_err().status, 422);
});

both_backends!(upstream_faults_are_retried_and_unreachable_profiles_skipped, |backend| async move {
    let w = World::new(backend, 30, SandboxConfig { fault_rate: 0.3, ..SandboxConfig::default() }).await;
    // One more prospect in the audience that LinkedIn does not know.
    let now = w.clock.now();
    let ghost = Prospect {
        id: "ghost-prospect".into(),
        group_id: w.group.id.clone(),
        provider_id: "ACoAAghost".into(),
        person_id: person_id_for("ACoAAghost"),
        name: "Ghost".into(),
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    let ghost_id = w.store().upsert_prospects(&[ghost], Some(&w.audience_id)).await.unwrap().remove(0);
    let scan = w.start().await;
    assert_eq!(scan.total_count, 31);
    w.drain(&w.engine("a")).await;
    let done = w.scan(&scan.id).await;
    assert_eq!(done.status, JobStatus::Completed, "{done:?}");
    assert_eq!((done.evaluated_count, done.skipped_count, done.processed_count), (30, 1, 31));
    let keys = w.store().signal_item_keys(&scan.id).await.unwrap();
    assert_eq!(keys.len() as i64, done.signal_count);
    let ghost = prospect_signals(w.store(), &w.group.id, &ghost_id, None).await.unwrap();
    assert_eq!(ghost.status(), "pending", "a skipped prospect has no completed evaluation");
});

both_backends!(scan_requests_are_checked_against_the_group, |backend| async move {
    let w = World::new(backend, 12, SandboxConfig::default()).await;
    let start = |r: StartScanRequest| {
        let w = &w;
        async move { start_scan(w.store(), &w.clock, &w.group.id, &r, None).await }
    };
    let err = start(StartScanRequest::default()).await.err().unwrap();
    assert_eq!(err.status, 400);
    let err = start(StartScanRequest { signal_specification_id: Some("nope".into()), ..w.request(None) })
        .await
        .err()
        .unwrap();
    assert_eq!((err.status, err.fields[0].field.as_str()), (400, "signalSpecificationId"));
    let err = start(StartScanRequest { audience_id: Some("aud_nope".into()), ..w.request(None) }).await.err().unwrap();
    assert_eq!((err.status, err.fields[0].field.as_str()), (400, "audienceId"));
    let ids = w.prospect_ids().await;
    let err = start(w.request(Some(vec![ids[0].clone(), "stranger".into()]))).await.err().unwrap();
    assert_eq!((err.status, err.fields[0].field.as_str()), (400, "prospectIds[1]"));
    let narrowed = start(w.request(Some(vec![ids[2].clone(), ids[1].clone(), ids[2].clone()]))).await.unwrap().scan;
    assert_eq!((narrowed.total_count, narrowed.narrowed), (2, true));
    w.engine("a").run_until_idle().await;
    assert_eq!(w.scan(&narrowed.id).await.evaluated_count, 2);
    assert_eq!(prospect_signals(w.store(), &w.group.id, &ids[0], None).await.unwrap().status(), "pending");
    assert_eq!(prospect_signals(w.store(), &w.group.id, &ids[1], None).await.unwrap().status(), "evaluated");
    assert_eq!(prospect_signals(w.store(), &w.group.id, "nope", None).await.unwrap_err().status, 404);

    // A filling audience is not ready.
    let request = StartRequest {
        source_type: Some("linkedin_search".into()),
        name: Some("More".into()),
        search_url: Some(ENGINEERS.into()),
        max_results: Some(5),
        ..Default::default()
    };
    let job = start_job(w.store(), &w.clock, &w.group.id, &request, None).await.unwrap().job;
    let err =
        start(StartScanRequest { audience_id: Some(job.audience_id.clone()), ..w.request(None) }).await.err().unwrap();
    assert_eq!((err.status, err.code.as_str()), (409, "AUDIENCE_NOT_READY"));

    // Deleting the specification while a scan uses it is refused and names the scan.
    let active = start(w.request(None)).await.unwrap().scan;
    let err =
        sonarly_app::templates::delete_signal_specification(w.store(), &w.group.id, &w.spec_id).await.unwrap_err();
    assert_eq!(err.status, 409);
    assert!(err.message.contains(&active.id), "{}", err.message);
    w.engine("a").run_until_idle().await;
    sonarly_app::templates::delete_signal_specification(w.store(), &w.group.id, &w.spec_id).await.unwrap();
    // Results of finished scans stay readable.
    assert_eq!(prospect_signals(w.store(), &w.group.id, &ids[0], None).await.unwrap().status(), "evaluated");
});
