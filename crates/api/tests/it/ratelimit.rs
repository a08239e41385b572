//! Rate-limit headers over HTTP: one meaning for `RateLimit-Reset` on every
//! answer, `Retry-After` on every 429 (the key's budget and the prospecting
//! quota alike). The limiters run on a manual clock, so every number is exact.

use crate::support::*;
use sonarly_api::AppState;
use sonarly_api::ratelimit::{FakeRelativeClock, LimiterClock, RateLimits};
use sonarly_domain::Timestamp;
use sonarly_domain::clock::ManualClock;
use sonarly_domain::prospecting::Plan;
use sonarly_testkit::both_backends;
use std::sync::Arc;
use std::time::Duration;

/// Rebuilds `app`'s router with limiters on a manual clock, returned to the test.
fn manual_limiter(app: &mut TestApp) -> FakeRelativeClock {
    let clock = FakeRelativeClock::default();
    app.state.rate_limits = Arc::new(RateLimits::with_clock(LimiterClock::manual(clock.clone())));
    app.router = sonarly_api::router(app.state.clone());
    clock
}

fn budget(reply: &Reply) -> (&str, &str, &str) {
    (reply.header("ratelimit-limit"), reply.header("ratelimit-remaining"), reply.header("ratelimit-reset"))
}

both_backends!(reset_is_the_time_until_the_whole_budget_is_back_on_every_answer, |backend| async move {
    let mut app = TestApp::new(backend).await;
    let clock = manual_limiter(&mut app);
    let group = app.group("G").await;
    // 3 a minute: one request's share is 20 s.
    let key = app.key_with(&[&group], "all", 3).await;
    for (remaining, reset) in [("2", "20"), ("1", "40"), ("0", "60")] {
        let reply = app.get("/v1/accounts", &key).await;
        assert_eq!(reply.status, 200);
        assert_eq!(budget(&reply), ("3", remaining, reset));
        assert_eq!(reply.header("retry-after"), "");
    }
    let limited = app.get("/v1/accounts", &key).await;
    assert_error(&limited, 429, "RATE_LIMIT_EXCEEDED");
    assert_eq!(budget(&limited), ("3", "0", "60"));
    assert_eq!(limited.header("retry-after"), "20");

    clock.advance(Duration::from_secs(5));
    let limited = app.get("/v1/accounts", &key).await;
    assert_error(&limited, 429, "RATE_LIMIT_EXCEEDED");
    assert_eq!(budget(&limited), ("3", "0", "55"));
    assert_eq!(limited.header("retry-after"), "15");

    // Waiting Retry-After is enough.
    clock.advance(Duration::from_secs(15));
    let passed = app.get("/v1/accounts", &key).await;
    assert_eq!(passed.status, 200, "{}", passed.body);
    assert_eq!(budget(&passed), ("3", "0", "60"));

    // Waiting RateLimit-Reset gives the whole budget back.
    clock.advance(Duration::from_secs(60));
    assert_eq!(budget(&app.get("/v1/accounts", &key).await), ("3", "2", "20"));
});

both_backends!(retry_after_is_rounded_up_and_never_zero_while_a_retry_would_fail, |backend| async move {
    let mut app = TestApp::new(backend).await;
    let clock = manual_limiter(&mut app);
    let group = app.group("G").await;
    let key = app.key_with(&[&group], "all", 2).await;
    for _ in 0..2 {
        assert_eq!(app.get("/v1/accounts", &key).await.status, 200);
    }
    // 1 ms before the next request's share is back.
    clock.advance(Duration::from_millis(29_999));
    let limited = app.get("/v1/accounts", &key).await;
    assert_error(&limited, 429, "RATE_LIMIT_EXCEEDED");
    assert_eq!(limited.header("retry-after"), "1");
    assert_eq!(limited.header("ratelimit-reset"), "31");
    clock.advance(Duration::from_millis(1));
    assert_eq!(app.get("/v1/accounts", &key).await.status, 200);
});

both_backends!(budget_headers_ride_on_errors_of_authenticated_requests_only, |backend| async move {
    let mut app = TestApp::new(backend).await;
    manual_limiter(&mut app);
    let group = app.group("G").await;
    let key = app.key_with(&[&group], "all", 3).await;
    let other = app.key_with(&[&group], "audiences:read", 3).await;
    app.get("/v1/accounts", &key).await;

    // Each key has its own budget; 404 and 403 answers carry it too.
    let missing = app.get("/v1/accounts/507f1f77bcf86cd799439011", &other).await;
    assert_error(&missing, 404, "NOT_FOUND");
    assert_eq!(budget(&missing), ("3", "2", "20"));
    let denied = app.get(&format!("/v1/accounts/{}/prospecting", group.id), &other).await;
    assert_error(&denied, 403, "SCOPE_DENIED");
    assert_eq!(budget(&denied), ("3", "1", "40"));

    // Without a valid key there is no budget to report.
    let anonymous = app.get("/v1/accounts", "sk_live_nope").await;
    assert_error(&anonymous, 401, "UNAUTHORIZED");
    assert_eq!(budget(&anonymous), ("", "", ""));
});

fn at(rfc3339: &str) -> Timestamp {
    Timestamp::parse_rfc3339(rfc3339).unwrap()
}

/// Rebuilds `app` on an app clock at `start` (API and workers) and limiters on
/// a manual clock.
async fn manual_clocks(app: &mut TestApp, start: &str) -> ManualClock {
    let clock = ManualClock::new(at(start));
    let mut state = AppState::new(app.db.store.clone(), Arc::new(clock.clone())).await.unwrap();
    state.rate_limits = Arc::new(RateLimits::with_clock(LimiterClock::manual(FakeRelativeClock::default())));
    app.router = sonarly_api::router(state.clone());
    app.state = state;
    clock
}

const SEARCH: &str = r#"{"type":"linkedin_search","name":"Berlin","searchUrl":"https://www.linkedin.com/search/results/people/?keywords=software%20engineer","maxResults":100}"#;

both_backends!(a_quota_refusal_says_retry_after_its_reset_and_keeps_the_key_budget, |backend| async move {
    let mut app = TestApp::new(backend).await;
    let clock = manual_clocks(&mut app, "2026-06-03T10:00:00Z").await;
    // Tester plan: 500 LinkedIn-classic prospects a month, 100 a job.
    let group = app.prospecting_group(Plan::Tester, 100_000).await;
    let key = app.key_with(&[&group], "all", 100).await;
    let start = format!("/v1/accounts/{}/prospecting", group.id);
    for _ in 0..5 {
        let started = app.post_json(&start, &key, &[], SEARCH).await;
        assert_eq!(started.status, 202, "{}", started.body);
        app.engine().run_until_idle().await;
    }
    let quota = app.get(&format!("{start}/quota"), &key).await;
    assert_eq!(
        (quota.body["data"]["used"].as_i64(), quota.body["data"]["exhausted"].as_bool()),
        (Some(500), Some(true))
    );
    assert_eq!(quota.body["data"]["resetAt"], "2026-07-01T00:00:00.000Z");

    let refused = app.post_json(&start, &key, &[], SEARCH).await;
    assert_error(&refused, 429, "QUOTA_EXCEEDED");
    assert_eq!(refused.body["error"]["details"], "resetAt: 2026-07-01T00:00:00.000Z");
    // 27 days and 14 hours until the quota's reset.
    assert_eq!(refused.header("retry-after"), (27 * 86_400 + 14 * 3_600).to_string());
    // RateLimit-* still describe the key's request budget, a different limit:
    // 7 requests spent of 100 a minute (one back every 0.6 s), none refused.
    assert_eq!(
        (refused.header("ratelimit-limit"), refused.header("ratelimit-remaining"), refused.header("ratelimit-reset")),
        ("100", "93", "5")
    );

    // Just before the reset a retry still fails, and Retry-After is 1, not 0.
    clock.set(at("2026-06-30T23:59:59.001Z"));
    let refused = app.post_json(&start, &key, &[], SEARCH).await;
    assert_error(&refused, 429, "QUOTA_EXCEEDED");
    assert_eq!(refused.header("retry-after"), "1");
    // Waiting Retry-After is enough: the new month has a fresh quota.
    clock.advance_millis(999);
    let started = app.post_json(&start, &key, &[], SEARCH).await;
    assert_eq!(started.status, 202, "{}", started.body);
    assert_eq!(started.header("retry-after"), "");
});
