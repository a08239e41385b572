//! `cargo run --release -p sonarly-bench -- <scenario> [sqlite|postgres] [size]`
//!
//! Scenarios:
//! - `import`: one prospecting job importing `size` (default 2,000) people
//!   from the sandbox, end to end through the engine; prints the wall time.
//! - `lookup`: loads `size` (default 1,000,000) prospects into one group, then
//!   times 2,000 provider-id lookups (p50 / p99 / max).
//! - `messages`: generates `size` (default 1,000,000) messages in 1,000
//!   conversations, then times the messages list: the first page, page 10,000
//!   (limit 100, reached by following cursors), and every page in between.
//! - `scheduler`: queues `size` (default 100,000) responses on one sandbox
//!   account with the safety limits off, then times one engine draining them.
//! - `generate-dataset URL GROUP ACCOUNT PROSPECTS MESSAGES CAMPAIGNS`: fills a
//!   real database for `bench/http-load.sh` (see `dataset.rs`).
//! - `webhooks`: `size` (default 10,000) events fanned out to 3 local
//!   receivers; delivery throughput and event-to-receipt latency.
//!
//! PostgreSQL runs on a throwaway cluster started by the test kit.

use sonarly_app::linkedin::{ConnectAccount, ProviderRegistry, ProviderSetup, connect_account};
use sonarly_app::prospecting::{StartRequest, get_job, start_job};
use sonarly_domain::Timestamp;
use sonarly_domain::clock::{SharedClock, SystemClock};
use sonarly_domain::prospecting::{Plan, Prospect};
use sonarly_engine::Engine;
use sonarly_linkedin::AccountType;
use sonarly_testkit::{TestBackend, TestDb};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod dataset;
mod webhooks;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let scenario = args.get(1).map(String::as_str).unwrap_or("import");
    let backend = match args.get(2).map(String::as_str) {
        Some("postgres") => TestBackend::Postgres,
        _ => TestBackend::Sqlite,
    };
    let size: Option<usize> = args.get(3).and_then(|s| s.parse().ok());
    if scenario == "generate-messages" {
        // generate-messages DATABASE_URL GROUP_ID ACCOUNT_ID COUNT: fill a real database for bench/messages-load.sh.
        let store = sonarly_store::Store::connect(&args[2]).await.expect("database");
        store.migrate().await.expect("migrate");
        let count: i64 = args[5].parse().expect("count");
        let started = Instant::now();
        store
            .generate_messages(
                &sonarly_domain::GroupId::new(&*args[3]),
                &args[4],
                1_000,
                count,
                Timestamp::from_millis(1_700_000_000_000),
            )
            .await
            .unwrap();
        println!("generated {count} messages in {:.1} s", started.elapsed().as_secs_f64());
        return;
    }
    if scenario == "generate-dataset" {
        // generate-dataset DATABASE_URL GROUP_ID ACCOUNT_ID PROSPECTS MESSAGES CAMPAIGNS: for bench/http-load.sh.
        let number = |i: usize| args[i].parse::<usize>().expect("a count");
        dataset::generate(
            &args[2],
            &sonarly_domain::GroupId::new(&*args[3]),
            &args[4],
            number(5),
            number(6) as i64,
            number(7),
        )
        .await;
        return;
    }
    let db = TestDb::new(backend).await.expect("PostgreSQL binaries are needed for the postgres backend");
    match scenario {
        "import" => import(&db, size.unwrap_or(2_000)).await,
        "lookup" => lookup(&db, size.unwrap_or(1_000_000)).await,
        "scheduler" => scheduler(&db, size.unwrap_or(100_000)).await,
        "messages" => messages(&db, size.unwrap_or(1_000_000)).await,
        "webhooks" => webhooks::run(&db, size.unwrap_or(10_000)).await,
        other => eprintln!("unknown scenario {other}; use import or lookup"),
    }
}

async fn import(db: &TestDb, size: usize) {
    let clock: SharedClock = Arc::new(SystemClock);
    let group = sonarly_app::accounts::create_group_on(&db.store, &SystemClock, "Bench", Plan::Enterprise, 1_000_000)
        .await
        .unwrap();
    let input = ConnectAccount {
        group_id: group.id.clone(),
        name: "Sandbox".into(),
        account_type: AccountType::SalesNavigator,
        rules: Default::default(),
        provider: ProviderSetup::Sandbox(Default::default()),
    };
    connect_account(&db.store, &SystemClock, input).await.unwrap();
    let request = StartRequest {
        source_type: Some("linkedin_search".into()),
        name: Some("Bench".into()),
        search_url: Some("https://www.linkedin.com/sales/search/people?query=(keywords%3Aengineer)".into()),
        max_results: Some(size as i64),
        ..Default::default()
    };
    let started = Instant::now();
    let job = start_job(&db.store, &SystemClock, &group.id, &request, None).await.unwrap().job;
    let engine = Engine::new(db.store.clone(), ProviderRegistry::new(db.store.clone(), clock.clone()), clock, "bench");
    engine.run_until_idle().await;
    let elapsed = started.elapsed();
    let job = get_job(&db.store, &group.id, &job.id).await.unwrap();
    println!(
        "import: {} prospects ({}) in {:.2} s = {:.0} prospects/s",
        job.import_done,
        job.status,
        elapsed.as_secs_f64(),
        job.import_done as f64 / elapsed.as_secs_f64()
    );
}

async fn lookup(db: &TestDb, size: usize) {
    let group = sonarly_app::accounts::create_group(&db.store, &SystemClock, "Bench").await.unwrap();
    let started = Instant::now();
    const BATCH: usize = 2_000;
    let now = Timestamp::from_millis(1_780_000_000_000);
    for chunk in 0..size.div_ceil(BATCH) {
        let batch: Vec<Prospect> = (chunk * BATCH..((chunk + 1) * BATCH).min(size))
            .map(|i| Prospect {
                id: format!("{i:024x}"),
                group_id: group.id.clone(),
                provider_id: provider_id(i),
                member_id: Some(provider_id(i)),
                person_id: format!("{i:024x}"),
                name: format!("Person {i}"),
                company_name: Some("Acme".into()),
                title: Some("Engineer".into()),
                created_at: now,
                updated_at: now,
                ..Prospect::default()
            })
            .collect();
        db.store.upsert_prospects(&batch, None).await.unwrap();
    }
    println!("lookup: loaded {size} prospects in {:.1} s", started.elapsed().as_secs_f64());
    let mut times: Vec<Duration> = Vec::with_capacity(2_000);
    for k in 0..2_000usize {
        let i = (k * 7_919) % size;
        let t = Instant::now();
        let found = db.store.prospects_by_provider_id(&group.id, &provider_id(i)).await.unwrap();
        times.push(t.elapsed());
        assert_eq!(found.len(), 1);
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "lookup: 2000 provider-id lookups at {size} prospects: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        ms(times[times.len() / 2]),
        ms(times[times.len() * 99 / 100]),
        ms(times[times.len() - 1])
    );
}

fn provider_id(i: usize) -> String {
    format!("ACoAA{i:034}")
}

async fn scheduler(db: &TestDb, size: usize) {
    use sonarly_app::responses::{QueueResponseRequest, queue_response};
    use sonarly_domain::linkedin_account::{SendingRules, WorkingHours};
    use sonarly_linkedin::sandbox::SandboxConfig;
    // The load is spread over 20 sandbox accounts of one group, as a team's
    // accounts would share it; each account has its safety limits off.
    const ACCOUNTS: usize = 20;
    let clock: SharedClock = Arc::new(SystemClock);
    let group = sonarly_app::accounts::create_group(&db.store, &SystemClock, "Bench").await.unwrap();
    let registry = ProviderRegistry::new(db.store.clone(), clock.clone());
    let now = clock.now();
    let mut prospects: Vec<Prospect> = Vec::new();
    for a in 0..ACCOUNTS {
        let rules = SendingRules {
            working_hours: WorkingHours::AROUND_THE_CLOCK,
            min_spacing_secs: 0,
            max_spacing_secs: 0,
            daily_messages: u32::MAX,
            ..SendingRules::default()
        };
        let input = ConnectAccount {
            group_id: group.id.clone(),
            name: format!("Sandbox {a}"),
            account_type: AccountType::Classic,
            rules,
            provider: ProviderSetup::Sandbox(SandboxConfig {
                messages_per_day: u32::MAX,
                account_seed: 1_000 + a as u64,
                ..SandboxConfig::default()
            }),
        };
        let account = connect_account(&db.store, &SystemClock, input).await.unwrap();
        let relations = registry.provider(&account).unwrap().relations(None).await.unwrap().items;
        prospects.extend(relations.iter().map(|r| Prospect {
            id: String::new(),
            group_id: group.id.clone(),
            provider_id: r.provider_id.clone(),
            member_id: Some(r.provider_id.clone()),
            person_id: r.provider_id.clone(),
            name: r.name.clone(),
            connection_degree: Some(1),
            created_at: now,
            updated_at: now,
            ..Prospect::default()
        }));
    }
    prospects.sort_by(|a, b| a.provider_id.cmp(&b.provider_id));
    prospects.dedup_by(|a, b| a.provider_id == b.provider_id);
    for (k, p) in prospects.iter_mut().enumerate() {
        p.id = format!("{:024x}", k + 1);
    }
    db.store.upsert_prospects(&prospects, None).await.unwrap();
    let queued = Instant::now();
    for k in 0..size {
        let request = QueueResponseRequest {
            prospect_id: Some(prospects[k % prospects.len()].id.clone()),
            message: Some(format!("Bench {k}")),
            ..Default::default()
        };
        queue_response(&db.store, &registry, &SystemClock, &group.id, &request, None).await.unwrap();
    }
    println!("scheduler: queued {size} responses for {ACCOUNTS} accounts in {:.1} s", queued.elapsed().as_secs_f64());
    let engine = Engine::new(db.store.clone(), registry, clock, "bench");
    let started = Instant::now();
    engine.run_until_idle().await;
    let elapsed = started.elapsed().as_secs_f64();
    let sent = db.store.count_responses(&group.id, sonarly_domain::responses::ResponseStatus::Sent).await.unwrap();
    println!(
        "scheduler: drained {sent} of {size} responses in {elapsed:.1} s = {:.0} responses/s",
        sent as f64 / elapsed
    );
}

async fn messages(db: &TestDb, size: usize) {
    use sonarly_domain::cursor::CursorCodec;
    use sonarly_domain::page::PageRequest;
    let group = sonarly_app::accounts::create_group(&db.store, &SystemClock, "Bench").await.unwrap();
    let input = ConnectAccount {
        group_id: group.id.clone(),
        name: "Sandbox".into(),
        account_type: AccountType::Classic,
        rules: Default::default(),
        provider: ProviderSetup::Sandbox(Default::default()),
    };
    let account = connect_account(&db.store, &SystemClock, input).await.unwrap();
    let started = Instant::now();
    db.store
        .generate_messages(&group.id, &account.id, 1_000, size as i64, Timestamp::from_millis(1_700_000_000_000))
        .await
        .unwrap();
    println!("messages: generated {size} messages in {:.1} s", started.elapsed().as_secs_f64());
    let codec = CursorCodec::new(b"bench".to_vec());
    let mut page = PageRequest::parse(&codec, "messages", Some("100"), None).unwrap();
    let mut times = Vec::new();
    let mut seen = 0usize;
    loop {
        let t = Instant::now();
        let result = sonarly_app::inbox::list_messages(&db.store, &codec, &group.id, None, &page).await.unwrap();
        times.push(t.elapsed());
        seen += result.items.len();
        match result.next_cursor {
            Some(cursor) => page = PageRequest::parse(&codec, "messages", Some("100"), Some(&cursor)).unwrap(),
            None => break,
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let last = times.len() - 1;
    let mut sorted = times.clone();
    sorted.sort();
    println!(
        "messages: {} pages of 100 ({seen} messages): page 1 {:.3} ms, page {} {:.3} ms, median {:.3} ms, p99 {:.3} ms",
        times.len(),
        ms(times[0]),
        last + 1,
        ms(times[last]),
        ms(sorted[sorted.len() / 2]),
        ms(sorted[sorted.len() * 99 / 100])
    );
}
