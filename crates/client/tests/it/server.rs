//! The client against the real server: `sonarly_api` served on a local port over a fresh
//! database, on SQLite and PostgreSQL, one flow per resource family. The server runs on a
//! `ManualClock`, and the background workers are driven by hand (`run_until_idle`).

use futures_util::TryStreamExt;
use sonarly_api::AppState;
use sonarly_api::server::{ServerConfig, serve};
use sonarly_client::*;
use sonarly_domain::Timestamp;
use sonarly_domain::clock::{ManualClock, SharedClock};
use sonarly_domain::models::AccountGroup;
use sonarly_domain::prospecting::{Plan, Prospect};
use sonarly_testkit::{TestBackend, TestDb, both_backends};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Wednesday 2026-06-03, 10:00 UTC: inside every default working day.
const TEST_START: &str = "2026-06-03T10:00:00Z";

struct Server {
    db: TestDb,
    state: AppState,
    clock: ManualClock,
    base_url: String,
    _stop: oneshot::Sender<()>,
}

impl Server {
    async fn start(backend: TestBackend) -> Option<Self> {
        Self::start_with(backend, |state| state).await
    }

    async fn start_with(backend: TestBackend, configure: impl FnOnce(AppState) -> AppState) -> Option<Self> {
        let db = TestDb::new(backend).await?;
        let clock = ManualClock::new(Timestamp::parse_rfc3339(TEST_START).unwrap());
        let shared: SharedClock = Arc::new(clock.clone());
        let state = configure(AppState::new(db.store.clone(), shared).await.unwrap());
        let router = sonarly_api::router(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve(listener, router, ServerConfig::default(), async {
            let _ = stopped.await;
        }));
        Some(Self { db, state, clock, base_url, _stop: stop })
    }

    fn engine(&self) -> sonarly_engine::Engine {
        sonarly_engine::Engine::new(
            self.db.store.clone(),
            self.state.registry.clone(),
            self.state.clock.clone(),
            "test",
        )
    }

    /// A group with a sandbox Sales Navigator seat, on the Starter plan with `credits`.
    async fn prospecting_group(&self, credits: i64) -> AccountGroup {
        let group =
            sonarly_app::accounts::create_group_on(&self.db.store, &self.clock, "Prospecting", Plan::Starter, credits)
                .await
                .unwrap();
        let input = sonarly_app::linkedin::ConnectAccount {
            group_id: group.id.clone(),
            name: "Sandbox".into(),
            account_type: sonarly_linkedin::AccountType::SalesNavigator,
            rules: Default::default(),
            provider: sonarly_app::linkedin::ProviderSetup::Sandbox(
                sonarly_testkit::pinned_sandbox(Default::default()),
            ),
        };
        sonarly_app::linkedin::connect_account(&self.db.store, &self.clock, input).await.unwrap();
        group
    }

    /// A client with an all-scopes key of `group`.
    async fn client(&self, group: &AccountGroup) -> Client {
        let new = sonarly_app::keys::NewKey {
            name: "client".into(),
            group_ids: vec![group.id.clone()],
            scopes: sonarly_domain::scope::ScopeSet::parse("all").unwrap(),
            rate_limit_per_minute: 10_000,
        };
        let (_, key) = sonarly_app::keys::create_key(&self.db.store, &self.clock, new).await.unwrap();
        Client::builder(&self.base_url, key.plaintext())
            .timeout(Duration::from_secs(60))
            .retry(RetryPolicy { initial_backoff: Duration::from_millis(5), ..RetryPolicy::default() })
            .build()
            .unwrap()
    }

    /// Prospects of `group`: connections of its sandbox seat.
    async fn connected_prospects(&self, group: &AccountGroup, n: usize) -> Vec<Prospect> {
        let accounts = self.db.store.group_linkedin_accounts(&group.id).await.unwrap();
        let provider = self.state.registry.provider(&accounts[0]).unwrap();
        let relations = provider.relations(None).await.unwrap().items;
        let now = Timestamp::parse_rfc3339(TEST_START).unwrap();
        let prospects: Vec<Prospect> = relations
            .iter()
            .take(n)
            .enumerate()
            .map(|(k, r)| sonarly_testkit::connection_prospect(&group.id, format!("{:024x}", k + 1), r, now))
            .collect();
        self.db.store.upsert_prospects(&prospects, None).await.unwrap();
        prospects
    }
}

fn search(name: &str, max: i64) -> StartJobBody {
    StartJobBody {
        search_url: Some("https://www.linkedin.com/search/results/people/?keywords=software%20engineer".into()),
        max_results: Some(max),
        search_emails: Some(false),
        ..StartJobBody::new(SourceType::LinkedinSearch, name)
    }
}

/// Starts a 30-prospect job and runs it: its audience id.
async fn filled_audience(server: &Server, client: &Client, group: &AccountGroup) -> String {
    let job = client.start_job(&group.id, &search("Berlin Software Engineers", 30)).await.unwrap();
    server.engine().run_until_idle().await;
    let done = client.get_job(&group.id, &job.job_id).await.unwrap();
    assert_eq!(done.status, JobStatus::Completed, "{done:?}");
    done.audience_id
}

both_backends!(accounts_audiences_and_prospecting, |backend| async move {
    let Some(server) = Server::start(backend).await else { return };
    let group = server.prospecting_group(10_000).await;
    let client = server.client(&group).await;

    let accounts: Vec<AccountView> = client.list_accounts_stream(ListParams::default()).try_collect().await.unwrap();
    assert_eq!(accounts.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), [group.id.as_str()]);
    assert_eq!(client.get_account(&group.id).await.unwrap().name, "Prospecting");

    // Start with a key, replay it: one job.
    let body = search("Berlin Software Engineers", 30);
    let started = client.start_job_with_idempotency_key(&group.id, &body, "job-key-1").await.unwrap();
    assert_eq!(started.status, JobStatus::Queued);
    let replayed = client.start_job_with_idempotency_key(&group.id, &body, "job-key-1").await.unwrap();
    assert_eq!(replayed.job_id, started.job_id);
    let other = StartJobBody { name: "Another name".into(), ..body.clone() };
    let conflict = client.start_job_with_idempotency_key(&group.id, &other, "job-key-1").await.unwrap_err();
    assert_eq!((conflict.status(), conflict.code()), (Some(409), Some("IDEMPOTENCY_CONFLICT")));
    assert!(conflict.trace_id().is_some_and(|t| !t.is_empty()));

    let queued = client.get_job(&group.id, &started.job_id).await.unwrap();
    assert!(!queued.status.is_final());
    let not_ready = client.get_audience(&group.id, &queued.audience_id).await.unwrap_err();
    assert_eq!(not_ready.code(), Some("AUDIENCE_NOT_READY"));

    server.engine().run_until_idle().await;
    let done = client.get_job(&group.id, &started.job_id).await.unwrap();
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.stages.import.progress, 1.0);
    assert!(done.error.is_none());
    let jobs = client
        .list_jobs(&group.id, &ListJobsParams { status: Some(JobStatus::Completed), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(jobs.items[0].job_id, started.job_id);
    assert!(client.get_quota(&group.id, &GetQuotaParams::default()).await.unwrap().limit > 0);

    // Prospects: by pages of 7, and as a stream.
    let audience = done.audience_id.clone();
    let first = client.list_audience_prospects(&group.id, &audience, &ListParams::limit(7)).await.unwrap();
    assert_eq!((first.items.len(), first.has_more), (7, true));
    let all: Vec<AudienceProspectView> =
        client.list_audience_prospects_stream(&group.id, &audience, ListParams::limit(7)).try_collect().await.unwrap();
    assert_eq!(all.len(), 30);
    assert_eq!(all[..7], first.items[..]);
    let rest: Vec<AudienceProspectView> = client
        .list_audience_prospects_stream(
            &group.id,
            &audience,
            ListParams { cursor: first.next_cursor.clone(), limit: Some(10) },
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rest[..], all[7..]);
    let found = client.lookup_by_provider_id(&group.id, &all[0].provider_id).await.unwrap();
    assert_eq!(found.matches[0].prospect_id, all[0].id);

    // Audiences: read, update (clearing the description), folders.
    let updated = client
        .update_audience(
            &group.id,
            &audience,
            &UpdateAudienceBody { name: Some("Berlin".into()), description: Some(Some("Engineers".into())) },
        )
        .await
        .unwrap();
    assert_eq!((updated.name.as_str(), updated.description.as_deref()), ("Berlin", Some("Engineers")));
    let cleared = client
        .update_audience(&group.id, &audience, &UpdateAudienceBody { name: None, description: Some(None) })
        .await
        .unwrap();
    assert_eq!((cleared.name.as_str(), cleared.description), ("Berlin", None));
    let listed = client.list_audiences(&group.id, &ListParams::default()).await.unwrap();
    assert_eq!(listed.items[0].id, audience);
    let folder =
        client.create_folder(&group.id, &CreateFolderBody::new("Germany", AudienceType::OnDemand)).await.unwrap();
    let moved = client.move_to_folder(&group.id, &audience, &MoveToFolderBody::new(&folder.id)).await.unwrap();
    assert_eq!(moved.folder_id.as_deref(), Some(folder.id.as_str()));
    let navigation = client.navigation(&group.id).await.unwrap();
    assert_eq!(navigation.folders[0].audiences[0].id, audience);

    // Errors decode with their code, fields and trace id.
    let missing = client.get_audience(&group.id, "aud_nope").await.unwrap_err();
    let api = missing.api().expect("an API error");
    assert_eq!((api.status, api.code.as_str()), (404, "NOT_FOUND"));
    assert!(api.trace_id.as_deref().is_some_and(|t| t.starts_with("trace_")), "{api:?}");
    assert!(!missing.is_retryable());
    let invalid =
        client.start_job(&group.id, &StartJobBody::new(SourceType::LinkedinSearch, "No URL")).await.unwrap_err();
    let api = invalid.api().unwrap();
    assert_eq!(api.code, "VALIDATION_ERROR");
    assert!(api.fields.iter().any(|f| f.field == "searchUrl"), "{api:?}");
    let bad_key = Client::new(&server.base_url, "sk_not_a_key").unwrap();
    assert_eq!(bad_key.list_accounts(&ListParams::default()).await.unwrap_err().status(), Some(401));
});

both_backends!(linkedin_accounts_messages_and_responses, |backend| async move {
    let Some(server) = Server::start(backend).await else { return };
    let group = server.prospecting_group(100).await;
    let client = server.client(&group).await;

    let seats = client.list_linkedin_accounts(&group.id, &ListParams::default()).await.unwrap();
    let seat = &seats.items[0];
    assert_eq!(client.get_linkedin_account(&group.id, &seat.id).await.unwrap().id, seat.id);
    let renamed = client
        .update_linkedin_account(
            &group.id,
            &seat.id,
            &SeatSettingsBody { name: Some("Avery (sales)".into()), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Avery (sales)");

    let prospects = server.connected_prospects(&group, 2).await;
    let body = QueueResponseBody {
        channel: Some(ResponseChannel::DirectMessage),
        ..QueueResponseBody::new(&prospects[0].id, "Thanks for connecting!")
    };
    let queued = client.queue_response_with_idempotency_key(&group.id, &body, "reply-001").await.unwrap();
    assert_eq!((queued.status.clone(), queued.idempotency_key.as_deref()), (ResponseStatus::Queued, Some("reply-001")));
    let again = client.queue_response_with_idempotency_key(&group.id, &body, "reply-001").await.unwrap();
    assert_eq!(again.id, queued.id);

    server.engine().run_until_idle().await;
    let sent = client.get_response(&group.id, &queued.id).await.unwrap();
    assert_eq!(sent.status, ResponseStatus::Sent);
    assert!(sent.status.is_final());
    let conversation = sent.conversation_id.clone().unwrap();
    let thread = client
        .list_messages(
            &group.id,
            &ListMessagesParams { conversation_id: Some(conversation.clone()), ..Default::default() },
        )
        .await
        .unwrap();
    assert!(thread.items.iter().any(|m| m.text == "Thanks for connecting!" && m.is_sender));
    let inbox: Vec<MessageView> =
        client.list_messages_stream(&group.id, ListMessagesParams::default()).try_collect().await.unwrap();
    assert!(inbox.iter().any(|m| m.conversation_id == conversation));

    // Queue without a key (one is generated), then cancel.
    let later = client.queue_response(&group.id, &QueueResponseBody::new(&prospects[1].id, "Later")).await.unwrap();
    let cancelled = client.cancel_response(&group.id, &later.id).await.unwrap();
    assert_eq!(cancelled.status, ResponseStatus::Cancelled);
    let again = client.cancel_response(&group.id, &later.id).await.unwrap_err();
    assert_eq!(again.code(), Some("VALIDATION_ERROR"));
    let listed = client
        .list_responses(&group.id, &ListResponsesParams { status: Some(ResponseStatus::Sent), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(listed.items.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [queued.id.as_str()]);
});

both_backends!(campaigns_and_templates, |backend| async move {
    let Some(server) = Server::start(backend).await else { return };
    let group = server.prospecting_group(10_000).await;
    let client = server.client(&group).await;
    let audience = filled_audience(&server, &client, &group).await;
    let leads: Vec<String> = client
        .list_audience_prospects(&group.id, &audience, &ListParams::limit(3))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.id)
        .collect();

    let templates = client.starter_templates(&group.id).await.unwrap();
    assert!(!templates.items.is_empty());
    let campaign = client
        .create_campaign(
            &group.id,
            &CreateCampaignBody {
                lead_ids: Some(leads.clone()),
                ..CreateCampaignBody::new(StarterTemplateId::Connect, "Run", &audience)
            },
        )
        .await
        .unwrap();
    assert_eq!((campaign.status.clone(), campaign.selected_lead_count), (CampaignStatus::Draft, 3));
    let drafts = client
        .list_campaigns(&group.id, &ListCampaignsParams { status: Some(CampaignStatus::Draft), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(drafts.items[0].id, campaign.id);
    let not_started = client.stop_campaign(&group.id, &campaign.id).await.unwrap_err();
    assert_eq!((not_started.status(), not_started.code()), (Some(409), Some("CONFLICT")));
    let started = client.start_campaign(&group.id, &campaign.id).await.unwrap();
    assert_eq!((started.triggered, started.instances_created), (true, 3));
    assert_eq!(started.campaign.status, CampaignStatus::Active);
    let status =
        client.lead_status(&group.id, &campaign.id, &LeadStatusParams { lead_ids: leads.join(",") }).await.unwrap();
    assert_eq!(status.items.len(), 3);
    let stopped = client.stop_campaign(&group.id, &campaign.id).await.unwrap();
    assert_eq!((stopped.campaign.status, stopped.instances_stopped), (CampaignStatus::Stopped, 3));

    // Templates: a value proposition, a writing style linked to it, a signal specification.
    let proposition = client
        .create_value_proposition(
            &group.id,
            &CreateValuePropositionBody {
                values: Some(vec!["Faster builds".into()]),
                ..CreateValuePropositionBody::new("Build speed")
            },
        )
        .await
        .unwrap();
    let style = client
        .create_writing_style(
            &group.id,
            &CreateWritingStyleBody {
                content_type: Some(ContentType::DirectMessage),
                value_proposition_id: Some(proposition.id.clone()),
                ..CreateWritingStyleBody::new(
                    "Friendly",
                    vec![SampleBody::new(SampleType::Basic, "Hi {{firstName}}, glad to connect!")],
                )
            },
        )
        .await
        .unwrap();
    assert_eq!(style.content_type, ContentType::DirectMessage);
    let unlinked = client
        .update_writing_style(
            &group.id,
            &style.id,
            &UpdateWritingStyleBody { value_proposition_id: Some(None), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(unlinked.value_proposition_id, None);
    let styles: Vec<WritingStyleView> =
        client.list_writing_styles_stream(&group.id, ListParams::limit(1)).try_collect().await.unwrap();
    let every = client.list_writing_styles(&group.id, &ListParams::limit(100)).await.unwrap();
    assert_eq!(styles, every.items);
    assert!(styles.iter().any(|s| s.id == style.id));
    assert!(client.delete_writing_style(&group.id, &style.id).await.unwrap().deleted);
    let gone = client.get_writing_style(&group.id, &style.id).await.unwrap_err();
    assert_eq!(gone.code(), Some("NOT_FOUND"));
    let spec = client
        .create_signal_specification(
            &group.id,
            &CreateSignalSpecificationBody::new("Hiring", vec![SignalSource::Hiring, SignalSource::JobChanges]),
        )
        .await
        .unwrap();
    assert_eq!(spec.sources, [SignalSource::Hiring, SignalSource::JobChanges]);
    let specs = client.list_signal_specifications(&group.id, &ListParams::default()).await.unwrap();
    assert_eq!(specs.items[0].id, spec.id);
    assert_eq!(client.list_value_propositions(&group.id, &ListParams::default()).await.unwrap().items.len(), 1);
});

both_backends!(signals_webhooks_and_events, |backend| async move {
    let Some(server) =
        Server::start_with(backend, |s| s.with_webhook_policy(sonarly_domain::webhooks::UrlPolicy::PERMISSIVE)).await
    else {
        return;
    };
    let group = server.prospecting_group(10_000).await;
    let client = server.client(&group).await;
    let audience = filled_audience(&server, &client, &group).await;

    let spec = client
        .create_signal_specification(
            &group.id,
            &CreateSignalSpecificationBody {
                specifications: Some(vec![serde_json::json!({"keywords": ["Rust"]})]),
                ..CreateSignalSpecificationBody::new(
                    "Platform teams",
                    vec![SignalSource::LinkedinPosts, SignalSource::Hiring],
                )
            },
        )
        .await
        .unwrap();
    let body = StartScanBody::new(&spec.id, &audience);
    let scan = client.start_scan_with_idempotency_key(&group.id, &body, "scan-1").await.unwrap();
    assert_eq!(scan.status, ScanStatus::Queued);
    assert_eq!(client.start_scan_with_idempotency_key(&group.id, &body, "scan-1").await.unwrap().scan_id, scan.scan_id);
    server.engine().run_until_idle().await;
    let done = client.get_scan(&group.id, &scan.scan_id).await.unwrap();
    assert_eq!(done.status, ScanStatus::Completed, "{done:?}");
    assert_eq!(done.counts.total, 30);
    let scans = client.list_scans(&group.id, &ListScansParams::default()).await.unwrap();
    assert_eq!(scans.items[0].scan_id, scan.scan_id);
    let prospect = client.list_audience_prospects(&group.id, &audience, &ListParams::limit(1)).await.unwrap().items;
    let signals = client.prospect_signals(&group.id, &prospect[0].id, &ProspectSignalsParams::default()).await.unwrap();
    assert_eq!(signals.prospect_id, prospect[0].id);

    // Webhook endpoints: the secret once, a test event, its attempts.
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", receiver.local_addr().unwrap());
    tokio::spawn(async move {
        let app = axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }));
        let _ = axum::serve(receiver, app).await;
    });
    let endpoint = client
        .create_endpoint(
            &group.id,
            &CreateEndpointBody { event_types: Some(vec![EventType::CreditsLow]), ..CreateEndpointBody::new(&url) },
        )
        .await
        .unwrap();
    assert!(endpoint.secret.as_deref().is_some_and(|s| s.starts_with("whsec_")));
    let read = client.get_endpoint(&group.id, &endpoint.id).await.unwrap();
    assert_eq!(read.secret, None);
    let every_type = client
        .update_endpoint(&group.id, &endpoint.id, &UpdateEndpointBody { event_types: Some(None), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(every_type.event_types, None);
    let test = client.test_endpoint(&group.id, &endpoint.id).await.unwrap();
    assert!(test.event_id.starts_with("evt_"));
    let engine = server.engine().with_config(sonarly_engine::EngineConfig {
        webhooks: sonarly_engine::WebhookConfig {
            policy: sonarly_domain::webhooks::UrlPolicy::PERMISSIVE,
            ..Default::default()
        },
        ..Default::default()
    });
    engine.run_webhooks_until_idle().await;
    let redelivery = client.redeliver(&group.id, &endpoint.id, &test.event_id).await.unwrap();
    assert_eq!(redelivery.event_id, test.event_id);
    engine.run_webhooks_until_idle().await;
    let attempts: Vec<AttemptView> =
        client.list_attempts_stream(&group.id, &endpoint.id, ListParams::limit(1)).try_collect().await.unwrap();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(attempts.iter().all(|a| a.event_id == test.event_id && a.response_status == Some(200)), "{attempts:?}");
    let endpoints = client.list_endpoints(&group.id, &ListParams::default()).await.unwrap();
    assert_eq!(endpoints.items[0].id, endpoint.id);
    assert!(client.delete_endpoint(&group.id, &endpoint.id).await.unwrap().deleted);

    // Events: the job and the scan left theirs, newest first, every one reachable by stream.
    let events: Vec<EventView> = client
        .list_events_stream(&group.id, ListEventsParams { limit: Some(1), ..Default::default() })
        .try_collect()
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"prospecting.job.completed") && kinds.contains(&"signals.scan.completed"), "{kinds:?}");
    let only = client
        .list_events(
            &group.id,
            &ListEventsParams { types: Some("signals.scan.completed".into()), ..Default::default() },
        )
        .await
        .unwrap();
    assert!(only.items.iter().all(|e| e.kind == "signals.scan.completed") && !only.items.is_empty());
});
