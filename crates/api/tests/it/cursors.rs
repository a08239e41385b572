//! Cursors (spec 1.5 and the quickstart): besides the opaque `nextCursor`,
//! every keyset list takes the id of one of its items as `cursor` and starts
//! the page after that item, as the quickstart's next-page example does
//! (`cursor=aud_…`). On both backends.

use crate::campaigns::{audience_with, stored_campaigns};
use crate::support::*;
use serde_json::{Value, json};
use sonarly_app::linkedin::{ConnectAccount, ProviderSetup, connect_account};
use sonarly_domain::prospecting::Plan;
use sonarly_testkit::both_backends;

const SEARCH: &str = r#"{"type":"linkedin_search","name":"Engineers","searchUrl":"https://www.linkedin.com/search/results/people/?keywords=software%20engineer","maxResults":25}"#;

fn ids(page: &Reply, field: &str) -> Vec<String> {
    page.body["data"]["items"].as_array().unwrap().iter().map(|i| i[field].as_str().unwrap().to_owned()).collect()
}

/// For the first items of `path` (a list URL with or without a query string),
/// the item's id as `cursor` answers exactly the items after it, like the
/// opaque cursor issued after that item; an id the list does not hold is 400.
async fn item_ids_work_as_cursors(app: &TestApp, key: &str, path: &str, id_field: &str, foreign_id: &str) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let all = app.get(&format!("{path}{sep}limit=100"), key).await;
    assert_eq!(all.status, 200, "{path}: {}", all.body);
    let every = ids(&all, id_field);
    assert!(every.len() >= 3, "{path} needs at least three items, has {}", every.len());
    for k in 0..every.len().min(6) {
        let page = app.get(&format!("{path}{sep}limit=2&cursor={}", every[k]), key).await;
        assert_eq!(page.status, 200, "{path} after {}: {}", every[k], page.body);
        let expected: Vec<String> = every.iter().skip(k + 1).take(2).cloned().collect();
        assert_eq!(ids(&page, id_field), expected, "{path} after item {k}");
        assert_eq!(page.body["data"]["hasMore"], every.len() > k + 3, "{path} after item {k}");
        // The opaque cursor issued after the same item reads the same page.
        if k + 1 < every.len() {
            let before = app.get(&format!("{path}{sep}limit={}", k + 1), key).await;
            let opaque = before.body["data"]["nextCursor"].as_str().unwrap();
            let same = app.get(&format!("{path}{sep}limit=2&cursor={opaque}"), key).await;
            assert_eq!(same.body["data"], page.body["data"], "{path}: opaque cursor after item {k}");
        }
    }
    for unknown in ["507f1f77bcf86cd799439011", "aud_01HYR8B9P4D6Y2A7C3E1F0G5H9", foreign_id] {
        let refused = app.get(&format!("{path}{sep}cursor={unknown}"), key).await;
        assert_error(&refused, 400, "VALIDATION_ERROR");
        assert_eq!(refused.body["error"]["fields"][0]["field"], "cursor", "{path}");
    }
}

async fn create(app: &TestApp, key: &str, path: &str, body: Value) -> String {
    let reply = app.post_json(path, key, &[], &body.to_string()).await;
    assert!(reply.status.is_success(), "{path}: {}", reply.body);
    let data = &reply.body["data"];
    data["id"].as_str().or(data["scanId"].as_str()).or(data["jobId"].as_str()).unwrap().to_owned()
}

both_backends!(the_quickstarts_next_page_example_passes_an_audience_id_as_the_cursor, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("Acme Growth").await;
    let key = app.key(&[&group]).await;
    let mut audiences = Vec::new();
    for k in 0..12 {
        audiences.push(app.audience(&group, &format!("List {k}"), app.now_ms() + k * 1_000, None).await.id);
    }
    audiences.reverse(); // newest first
    let first = app.get(&format!("/v1/accounts/{}/audiences?limit=10", group.id), &key).await;
    assert_eq!(ids(&first, "id"), audiences[..10].to_vec());
    // "To fetch the next page, pass …" — here the last item's id, as the quickstart shows.
    let next = app.get(&format!("/v1/accounts/{}/audiences?limit=10&cursor={}", group.id, audiences[9]), &key).await;
    assert_eq!(next.status, 200, "{}", next.body);
    assert_eq!(ids(&next, "id"), audiences[10..].to_vec());
    assert_eq!(
        (next.body["data"]["hasMore"].as_bool(), next.body["data"]["nextCursor"].is_null()),
        (Some(false), true)
    );
    // The opaque nextCursor keeps working and reads the same page.
    let opaque = first.body["data"]["nextCursor"].as_str().unwrap();
    let same = app.get(&format!("/v1/accounts/{}/audiences?limit=10&cursor={opaque}", group.id), &key).await;
    assert_eq!(same.body["data"], next.body["data"]);
    // An audience still being filled is not an item of the list.
    let filling = app.audience(&group, "Filling", app.now_ms(), Some("job")).await;
    let refused = app.get(&format!("/v1/accounts/{}/audiences?cursor={}", group.id, filling.id), &key).await;
    assert_error(&refused, 400, "VALIDATION_ERROR");
});

both_backends!(every_keyset_list_takes_an_item_id_as_cursor, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 10_000).await;
    let other = app.prospecting_group(Plan::Starter, 10_000).await;
    let (third, fourth) = (app.group("Third").await, app.group("Fourth").await);
    let key = app.key(&[&group, &third, &fourth]).await;
    let other_key = app.key(&[&other]).await;
    let base = format!("/v1/accounts/{}", group.id);
    let other_base = format!("/v1/accounts/{}", other.id);
    for name in ["Second", "Third"] {
        let input = ConnectAccount {
            group_id: group.id.clone(),
            name: name.into(),
            account_type: sonarly_linkedin::AccountType::Classic,
            rules: Default::default(),
            provider: ProviderSetup::Sandbox(Default::default()),
        };
        connect_account(&app.db.store, &app.clock, input).await.unwrap();
    }
    // A finished prospecting job fills an audience; the inbox sync fills the messages.
    let job = create(&app, &key, &format!("{base}/prospecting"), serde_json::from_str(SEARCH).unwrap()).await;
    app.engine().run_until_idle().await;
    let job = app.get(&format!("{base}/prospecting/{job}"), &key).await;
    let filled = job.body["data"]["audienceId"].as_str().unwrap().to_owned();
    let foreign_job =
        create(&app, &other_key, &format!("{other_base}/prospecting"), serde_json::from_str(SEARCH).unwrap()).await;
    app.engine().run_until_idle().await;
    let (foreign_audience, foreign_leads) = audience_with(&app, &other, 1, None).await;
    let foreign_campaign = stored_campaigns(&app, &other, &foreign_audience, 1).await.remove(0);

    let spec = json!({"name": "Hiring", "sources": ["hiring"]});
    let mut specs = Vec::new();
    for _ in 0..3 {
        app.clock.advance_millis(1_000);
        create(&app, &key, &format!("{base}/value-propositions"), json!({"name": "Value"})).await;
        create(
            &app,
            &key,
            &format!("{base}/writing-styles"),
            json!({"name": "Style", "samples": [{"type": "basic", "message": "Hi"}]}),
        )
        .await;
        specs.push(create(&app, &key, &format!("{base}/signal-specifications"), spec.clone()).await);
        create(&app, &key, &format!("{base}/prospecting"), serde_json::from_str(SEARCH).unwrap()).await;
        create(
            &app,
            &key,
            &format!("{base}/signals/scans"),
            json!({"signalSpecificationId": specs[0], "audienceId": filled}),
        )
        .await;
        app.audience(&group, "List", app.now_ms(), None).await;
    }
    let (audience, _) = audience_with(&app, &group, 3, None).await;
    stored_campaigns(&app, &group, &audience, 3).await;
    let foreign_spec = create(&app, &other_key, &format!("{other_base}/signal-specifications"), spec).await;
    let foreign_message = app.get(&format!("{other_base}/messages?limit=1"), &other_key).await;
    let foreign_message = ids(&foreign_message, "id").remove(0);

    item_ids_work_as_cursors(&app, &key, "/v1/accounts", "id", &other.id).await;
    item_ids_work_as_cursors(&app, &key, &format!("{base}/audiences"), "id", &foreign_audience.id).await;
    item_ids_work_as_cursors(&app, &key, &format!("{base}/audiences/{filled}/prospects"), "id", &foreign_leads[0])
        .await;
    item_ids_work_as_cursors(&app, &key, &format!("{base}/campaigns"), "id", &foreign_campaign).await;
    item_ids_work_as_cursors(&app, &key, &format!("{base}/linkedin-accounts"), "id", "nope").await;
    item_ids_work_as_cursors(&app, &key, &format!("{base}/messages"), "id", &foreign_message).await;
    item_ids_work_as_cursors(&app, &key, &format!("{base}/prospecting"), "jobId", &foreign_job).await;
    item_ids_work_as_cursors(&app, &key, &format!("{base}/signals/scans"), "scanId", "nope").await;
    item_ids_work_as_cursors(&app, &key, &format!("{base}/signal-specifications"), "id", &foreign_spec).await;
    item_ids_work_as_cursors(&app, &key, &format!("{base}/value-propositions"), "id", "nope").await;
    item_ids_work_as_cursors(&app, &key, &format!("{base}/writing-styles"), "id", "nope").await;
    // A filter still applies after the item: the campaign list by status, jobs by status.
    let queued = app.get(&format!("{base}/prospecting?status=queued&limit=100"), &key).await;
    let queued = ids(&queued, "jobId");
    let after = app.get(&format!("{base}/prospecting?status=queued&cursor={}", queued[0]), &key).await;
    assert_eq!(ids(&after, "jobId"), queued[1..].to_vec());
    // An item of another list (a campaign id on the audience list) is not an item of this one.
    let campaign = app.get(&format!("{base}/campaigns?limit=1"), &key).await;
    let campaign = ids(&campaign, "id").remove(0);
    assert_error(&app.get(&format!("{base}/audiences?cursor={campaign}"), &key).await, 400, "VALIDATION_ERROR");
});
