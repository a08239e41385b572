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
