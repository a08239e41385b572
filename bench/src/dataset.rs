//! `generate-dataset`: fills a real database with a group's realistic data for
//! `bench/http-load.sh`, through the store (batched transactions and the
//! in-database message generator), so 100,000 messages take seconds instead
//! of 100,000 HTTP calls.
//!
//! The shape: `prospects` prospects (provider and member id
//! `ACoAAbench` + 29 digits, so the first 1,000 are the participants of the
//! generated conversations and can be answered with `POST …/messages/responses`),
//! one audience per campaign holding an equal share of them, `messages`
//! messages in 1,000 conversations of the account, and `campaigns` draft
//! campaigns from a starter template over those audiences.

use sonarly_app::campaigns::{CreateCampaignRequest, create_campaign};
use sonarly_domain::Timestamp;
use sonarly_domain::clock::SystemClock;
use sonarly_domain::folder::AudienceType;
use sonarly_domain::models::Audience;
use sonarly_domain::prospecting::Prospect;
use sonarly_store::Store;
use std::time::Instant;

/// Conversations the messages are spread over (as `generate_messages` names them).
const CONVERSATIONS: i64 = 1_000;

/// The provider (and member) id of generated prospect `n`: the participant of
/// generated conversation `n` for `n < 1,000`.
pub fn bench_provider_id(n: usize) -> String {
    format!("ACoAAbench{n:029}")
}

pub async fn generate(
    url: &str,
    group_id: &sonarly_domain::GroupId,
    account_id: &str,
    prospects: usize,
    messages: i64,
    campaigns: usize,
) {
    let store = Store::connect(url).await.expect("database");
    store.migrate().await.expect("migrate");
    let started = Instant::now();
    let base = Timestamp::from_millis(1_700_000_000_000);
    let audiences: Vec<Audience> = (0..campaigns.max(1))
        .map(|a| Audience {
            id: format!("{:024x}", 0xa0d1_0000_0000_u64 + a as u64),
            group_id: group_id.clone(),
            name: format!("Bench audience {a}"),
            audience_type: AudienceType::OnDemand,
            description: None,
            folder_id: None,
            prospect_count: 0,
            filling_job_id: None,
            created_at: Timestamp::from_millis(base.as_millis() + a as i64 * 1_000),
            updated_at: Timestamp::from_millis(base.as_millis() + a as i64 * 1_000),
        })
        .collect();
    for audience in &audiences {
        store.insert_audience(audience).await.expect("audience");
    }
    let per_audience = prospects.div_ceil(audiences.len());
    for (a, audience) in audiences.iter().enumerate() {
        let batch: Vec<Prospect> = (a * per_audience..((a + 1) * per_audience).min(prospects))
            .map(|i| {
                let at = Timestamp::from_millis(base.as_millis() + i as i64 * 10);
                Prospect {
                    id: format!("{:024x}", 0xb0d1_0000_0000_u64 + i as u64),
                    group_id: group_id.clone(),
                    provider_id: bench_provider_id(i),
                    member_id: Some(bench_provider_id(i)),
                    person_id: format!("{i:024x}"),
                    public_identifier: Some(format!("person-{i}")),
                    linkedin_url: Some(format!("https://www.linkedin.com/in/person-{i}")),
                    first_name: Some("Person".into()),
                    last_name: Some(format!("{i}")),
                    name: format!("Person {i}"),
                    headline: Some("Engineer at Acme, building things that last".into()),
                    company_name: Some("Acme".into()),
                    title: Some("Engineer".into()),
                    connection_degree: Some(1),
                    created_at: at,
                    updated_at: at,
                    ..Prospect::default()
                }
            })
            .collect();
        store.upsert_prospects(&batch, Some(&audience.id)).await.expect("prospects");
    }
    println!(
        "dataset: {prospects} prospects in {} audiences in {:.1} s",
        audiences.len(),
        started.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    store.generate_messages(group_id, account_id, CONVERSATIONS, messages, base).await.expect("messages");
    println!("dataset: {messages} messages in {CONVERSATIONS} conversations in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    for (c, audience) in audiences.iter().take(campaigns).enumerate() {
        let request = CreateCampaignRequest {
            starter_template_id: sonarly_domain::campaign::StarterTemplate::ALL[c % 4].id().to_owned(),
            name: format!("Bench campaign {c}"),
            audience_id: audience.id.clone(),
            lead_ids: None,
        };
        create_campaign(&store, &SystemClock, group_id, &request).await.expect("campaign");
    }
    println!("dataset: {campaigns} campaigns in {:.1} s", t.elapsed().as_secs_f64());
    store.close().await;
}
