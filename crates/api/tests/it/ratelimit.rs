//! Rate-limit headers over HTTP: one meaning for `RateLimit-Reset` on every
//! answer, `Retry-After` on every 429 (the key's budget and the prospecting
//! quota alike). The limiters run on a manual clock, so every number is exact.

use crate::support::*;
use sonarly_api::ratelimit::{FakeRelativeClock, LimiterClock, RateLimits};
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
