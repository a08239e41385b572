//! What the console shows of a seat's use: this week's use per action kind against the weekly
//! cap (the rolling seven days the scheduler counts in), and its actions per local day.

use crate::support::*;
use axum::body::Body;
use axum::http::Method;
use serde_json::{Value, json};
use sonarly_domain::Timestamp;
use sonarly_domain::clock::Clock;
use sonarly_domain::linkedin_account::WEEK_MS;
use sonarly_testkit::{TestBackend, both_backends};

const DAY_MS: i64 = 86_400_000;

/// Records one action of `kind` for the seat in the action ledger at `at` (what a send's slot does).
async fn record(app: &TestApp, seat: &str, kind: &str, at: Timestamp) {
    app.db.store.charge_call(seat, kind, &[], at, None, at).await.unwrap();
}

fn usage<'a>(view: &'a Value, list: &str, kind: &str) -> &'a Value {
    view[list].as_array().unwrap().iter().find(|u| u["kind"] == kind).unwrap_or_else(|| panic!("{kind} in {view}"))
}

both_backends!(
    this_week_s_use_counts_the_rolling_seven_days_against_the_weekly_cap,
    |backend: TestBackend| async move {
        let app = TestApp::new(backend).await;
        let group = app.prospecting_group(sonarly_domain::prospecting::Plan::Starter, 10).await;
        let key = app.key_with(&[&group], "audiences:read", 1_000).await;
        let seat = app.db.store.group_linkedin_accounts(&group.id).await.unwrap().remove(0);
        let now = app.clock.now();
        // Inside the week: two invitations and a message; one invitation just outside it.
        record(&app, &seat.id, "invitation", now.plus_millis(-WEEK_MS + 60_000)).await;
        record(&app, &seat.id, "invitation", now.plus_millis(-2 * DAY_MS)).await;
        record(&app, &seat.id, "message", now.plus_millis(-DAY_MS)).await;
        record(&app, &seat.id, "invitation", now.plus_millis(-WEEK_MS - 60_000)).await;

        let path = format!("/v1/accounts/{}/linkedin-accounts/{}", group.id, seat.id);
        let one = app.get(&path, &key).await;
        assert_eq!(one.status, 200, "{}", one.body);
        let view = &one.body["data"];
        assert_eq!(usage(view, "usageThisWeek", "invitation"), &json!({ "kind": "invitation", "used": 2, "cap": 200 }));
        assert_eq!(usage(view, "usageThisWeek", "message"), &json!({ "kind": "message", "used": 1, "cap": null }));
        let kinds: Vec<&str> =
            view["usageThisWeek"].as_array().unwrap().iter().map(|u| u["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["message", "inmail", "invitation", "profile_visit", "engagement", "withdrawal"]);
        // Today's use is the local day only.
        assert_eq!(usage(view, "usageToday", "invitation")["used"], 0);

        // The list shows the same; a minute later the oldest invitation has left the week.
        let list = app.get(&format!("/v1/accounts/{}/linkedin-accounts", group.id), &key).await;
        assert_eq!(list.body["data"]["items"][0]["usageThisWeek"], view["usageThisWeek"]);
        app.clock.advance_millis(2 * 60_000);
        let later = app.get(&path, &key).await;
        assert_eq!(usage(&later.body["data"], "usageThisWeek", "invitation")["used"], 1);

        // The cap is the seat's weekly invitation cap as it applies now.
        let write = app.key_with(&[&group], "linkedin-accounts:write", 1_000).await;
        let headers = [("content-type", "application/json")];
        let body = Body::from(json!({ "weeklyInvitationCap": 90 }).to_string());
        let patched = app.send(Method::PATCH, &path, Some(&write), &headers, body).await;
        assert_eq!(patched.status, 200, "{}", patched.body);
        assert_eq!(usage(&patched.body["data"], "usageThisWeek", "invitation")["cap"], 90);
    }
);

fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

both_backends!(actions_show_on_the_seat_s_local_days_they_were_made, |backend: TestBackend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(sonarly_domain::prospecting::Plan::Starter, 10).await;
    let seat = app.db.store.group_linkedin_accounts(&group.id).await.unwrap().remove(0);
    let path = format!("/v1/accounts/{}/linkedin-accounts/{}", group.id, seat.id);
    // Kolkata is UTC+05:30: its midnight is 18:30 UTC the day before.
    let write = app.key_with(&[&group], "linkedin-accounts:write", 1_000).await;
    let headers = [("content-type", "application/json")];
    let body = Body::from(json!({ "timezone": "Asia/Kolkata" }).to_string());
    assert_eq!(app.send(Method::PATCH, &path, Some(&write), &headers, body).await.status, 200);
    // Now (the clock): 2026-06-03 10:00 UTC, 15:30 in Kolkata.
    record(&app, &seat.id, "message", at("2026-06-01T05:00:00Z")).await;
    record(&app, &seat.id, "message", at("2026-06-01T06:00:00Z")).await;
    record(&app, &seat.id, "invitation", at("2026-06-02T18:20:00Z")).await; // 23:50 on June 2nd
    record(&app, &seat.id, "invitation", at("2026-06-02T18:40:00Z")).await; // 00:10 on June 3rd
    record(&app, &seat.id, "profile_fetch", at("2026-06-02T18:40:00Z")).await; // a read, not an action
    record(&app, &seat.id, "message", at("2026-05-31T12:00:00Z")).await; // before the window

    let key = app.key_with(&[&group], "audiences:read", 1_000).await;
    let reply = app.get(&format!("{path}/activity?days=3"), &key).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let zero =
        json!({ "message": 0, "inmail": 0, "invitation": 0, "profile_visit": 0, "engagement": 0, "withdrawal": 0 });
    let with = |changes: &[(&str, i64)]| {
        let mut counts = zero.clone();
        for (kind, n) in changes {
            counts[*kind] = json!(n);
        }
        counts
    };
    assert_eq!(
        reply.body["data"],
        json!({
            "timezone": "Asia/Kolkata",
            "days": [
                { "date": "2026-06-01", "counts": with(&[("message", 2)]) },
                { "date": "2026-06-02", "counts": with(&[("invitation", 1)]) },
                { "date": "2026-06-03", "counts": with(&[("invitation", 1)]) },
            ]
        })
    );

    // A day later (the clock moves), an action recorded now shows on the new day, and the window moves.
    app.clock.advance_millis(DAY_MS);
    record(&app, &seat.id, "engagement", app.clock.now()).await;
    let later = app.get(&format!("{path}/activity?days=2"), &key).await;
    let days = later.body["data"]["days"].as_array().unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0], json!({ "date": "2026-06-03", "counts": with(&[("invitation", 1)]) }));
    assert_eq!(days[1], json!({ "date": "2026-06-04", "counts": with(&[("engagement", 1)]) }));

    // By default the last 30 days, every one present, oldest first.
    let month = app.get(&format!("{path}/activity"), &key).await;
    let days = month.body["data"]["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!((days[0]["date"].as_str(), days[29]["date"].as_str()), (Some("2026-05-06"), Some("2026-06-04")));
    assert_eq!(days[25]["date"], "2026-05-31");
    assert_eq!(days[25]["counts"], with(&[("message", 1)]));
});

both_backends!(
    activity_days_are_from_1_to_90_and_another_group_s_seat_is_not_found,
    |backend: TestBackend| async move {
        let app = TestApp::new(backend).await;
        let group = app.prospecting_group(sonarly_domain::prospecting::Plan::Starter, 10).await;
        let other = app.prospecting_group(sonarly_domain::prospecting::Plan::Starter, 10).await;
        let seat = app.db.store.group_linkedin_accounts(&group.id).await.unwrap().remove(0);
        let path = format!("/v1/accounts/{}/linkedin-accounts/{}/activity", group.id, seat.id);
        let key = app.key_with(&[&group], "audiences:read", 1_000).await;
        for days in ["0", "91", "abc", "-1", "2.5", ""] {
            let reply = app.get(&format!("{path}?days={days}"), &key).await;
            assert_error(&reply, 400, "VALIDATION_ERROR");
            assert_eq!(reply.body["error"]["fields"][0]["field"], "days", "{days}: {}", reply.body);
        }
        let most = app.get(&format!("{path}?days=90"), &key).await;
        assert_eq!(most.body["data"]["days"].as_array().unwrap().len(), 90);
        assert_eq!(app.get(&format!("{path}?days=1"), &key).await.body["data"]["days"].as_array().unwrap().len(), 1);

        let other_key = app.key_with(&[&other], "all", 1_000).await;
        assert_error(&app.get(&path, &other_key).await, 404, "NOT_FOUND");
        let through_other = format!("/v1/accounts/{}/linkedin-accounts/{}/activity", other.id, seat.id);
        assert_error(&app.get(&through_other, &other_key).await, 404, "NOT_FOUND");
    }
);
