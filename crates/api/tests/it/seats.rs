//! One seat, and changing its settings after it was connected (`GET` and `PATCH
//! …/linkedin-accounts/{linkedinAccountId}`): a change applies to what the seat does next, a
//! field left out keeps its value, a bad value is named and changes nothing, and only a key
//! with `linkedin-accounts:write` of the seat's own group may change it.

use crate::support::*;
use axum::body::Body;
use axum::http::Method;
use serde_json::{Value, json};
use sonarly_domain::linkedin_account::ActionKind;
use sonarly_testkit::{TestBackend, both_backends};

const SCOPE: &str = "linkedin-accounts:write";

async fn patch(app: &TestApp, path: &str, key: &str, body: &Value) -> Reply {
    let headers = [("content-type", "application/json")];
    app.send(Method::PATCH, path, Some(key), &headers, Body::from(body.to_string())).await
}

both_backends!(a_seat_s_settings_change_and_the_rest_stay, |backend: TestBackend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(sonarly_domain::prospecting::Plan::Starter, 10).await;
    let key = app.key_with(&[&group], SCOPE, 1_000).await;
    let seat = app.db.store.group_linkedin_accounts(&group.id).await.unwrap().remove(0);
    let path = format!("/v1/accounts/{}/linkedin-accounts/{}", group.id, seat.id);

    let before = app.get(&path, &key).await;
    assert_eq!(before.status, 200, "{}", before.body);
    assert_eq!(before.body["data"]["dailyCaps"]["invitations"], 80);
    assert_eq!(
        before.body["data"]["spacingSecs"],
        json!({ "min": seat.rules.min_spacing_secs, "max": seat.rules.max_spacing_secs })
    );

    let change = json!({
        "name": "Avery (sales)",
        "timezone": "Europe/Paris",
        "workingHours": "08:30-17:00",
        "dailyCaps": { "invitations": 20, "messages": 40 },
        "weeklyInvitationCap": 90,
        "dailyReadBudgets": { "profileFetches": 50 },
        "spacingSecs": { "min": 90, "max": 300 },
        "rampUpWeeks": 2,
        "withdrawInvitationsAfterDays": 14
    });
    let reply = patch(&app, &path, &key, &change).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let view = &reply.body["data"];
    assert_eq!(view["name"], "Avery (sales)");
    assert_eq!(view["timezone"], "Europe/Paris");
    assert_eq!(view["workingHours"], json!({ "start": "08:30", "end": "17:00" }));
    assert_eq!(view["dailyCaps"]["invitations"], 20);
    assert_eq!(view["dailyCaps"]["messages"], 40);
    // Left out: kept.
    assert_eq!(view["dailyCaps"]["inmails"], seat.rules.daily_inmails);
    assert_eq!(view["dailyReadBudgets"]["searchPages"], seat.rules.reads.search_pages);
    assert_eq!(view["weeklyInvitationCap"], 90);
    assert_eq!(view["dailyReadBudgets"]["profileFetches"], 50);
    assert_eq!(view["spacingSecs"], json!({ "min": 90, "max": 300 }));
    assert_eq!(view["rampUpWeeks"], 2);
    assert_eq!(view["withdrawInvitationsAfterDays"], 14);
    // What the scheduler and the governor read is the new rules: today's invitation cap in the
    // seat's report is the new cap, warmed up (week 1 of 2: a third).
    let stored = app.db.store.get_linkedin_account(&group.id, &seat.id).await.unwrap().unwrap();
    assert_eq!(stored.rules.daily_cap(ActionKind::Invitation), 20);
    let usage = view["usageToday"].as_array().unwrap();
    let invitations = usage.iter().find(|u| u["kind"] == "invitation").unwrap();
    assert_eq!(invitations["cap"], 20 / 3, "{invitations}");
    // The same answer on a read, and in the list.
    assert_eq!(app.get(&path, &key).await.body["data"], reply.body["data"]);

    // An empty change changes nothing.
    let same = patch(&app, &path, &key, &json!({})).await;
    assert_eq!(same.status, 200);
    assert_eq!(same.body["data"]["dailyCaps"], view["dailyCaps"]);
});

both_backends!(a_bad_seat_setting_is_named_and_changes_nothing, |backend: TestBackend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(sonarly_domain::prospecting::Plan::Starter, 10).await;
    let key = app.key_with(&[&group], SCOPE, 1_000).await;
    let seat = app.db.store.group_linkedin_accounts(&group.id).await.unwrap().remove(0);
    let path = format!("/v1/accounts/{}/linkedin-accounts/{}", group.id, seat.id);
    for (body, field) in [
        (json!({ "timezone": "Mars/Olympus" }), "timezone"),
        (json!({ "workingHours": "25:00-26:00" }), "workingHours"),
        (json!({ "spacingSecs": { "min": 600, "max": 60 } }), "spacingSecs"),
        (json!({ "weeklyInvitationCap": 0 }), "weeklyInvitationCap"),
        (json!({ "spacingSecs": { "min": 90_000 } }), "spacingSecs.min"),
        (json!({ "dailyCaps": { "invitations": 100_001 } }), "dailyCaps.invitations"),
        (json!({ "rampUpWeeks": 13 }), "rampUpWeeks"),
        (json!({ "name": "  " }), "name"),
        (json!({ "dailyCaps": { "invitations": -1 } }), "dailyCaps"),
        (json!({ "dailyCaps": { "invites": 5 } }), "dailyCaps"),
        (json!({ "colour": "blue" }), "colour"),
    ] {
        let reply = patch(&app, &path, &key, &body).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        let text = reply.body["error"].to_string();
        assert!(text.contains(field), "{body}: {text}");
    }
    let stored = app.db.store.get_linkedin_account(&group.id, &seat.id).await.unwrap().unwrap();
    assert_eq!((stored.rules, stored.display_name), (seat.rules, seat.display_name));
});

both_backends!(only_the_seat_s_group_with_the_scope_changes_it, |backend: TestBackend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(sonarly_domain::prospecting::Plan::Starter, 10).await;
    let other = app.prospecting_group(sonarly_domain::prospecting::Plan::Starter, 10).await;
    let seat = app.db.store.group_linkedin_accounts(&group.id).await.unwrap().remove(0);
    let path = format!("/v1/accounts/{}/linkedin-accounts/{}", group.id, seat.id);
    let change = json!({ "dailyCaps": { "invitations": 1 } });

    // Without the scope: 403; reading needs any key of the group.
    let reader = app.key_with(&[&group], "audiences:read", 1_000).await;
    assert_error(&patch(&app, &path, &reader, &change).await, 403, "SCOPE_DENIED");
    assert_eq!(app.get(&path, &reader).await.status, 200);
    // Another group's key: the seat does not exist for it, under either group's path.
    let other_key = app.key_with(&[&other], SCOPE, 1_000).await;
    assert_error(&patch(&app, &path, &other_key, &change).await, 404, "NOT_FOUND");
    let through_other = format!("/v1/accounts/{}/linkedin-accounts/{}", other.id, seat.id);
    assert_error(&patch(&app, &through_other, &other_key, &change).await, 404, "NOT_FOUND");
    assert_error(&app.get(&through_other, &other_key).await, 404, "NOT_FOUND");
    let unknown = format!("/v1/accounts/{}/linkedin-accounts/6650f0c2a1b2c3d4e5f60718", group.id);
    let key = app.key_with(&[&group], SCOPE, 1_000).await;
    assert_error(&patch(&app, &unknown, &key, &change).await, 404, "NOT_FOUND");
    let stored = app.db.store.get_linkedin_account(&group.id, &seat.id).await.unwrap().unwrap();
    assert_eq!(stored.rules, seat.rules);
});
