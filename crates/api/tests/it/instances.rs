//! Several instances on one database: authentication comes from each
//! instance's key cache, a revocation reaches every instance within the
//! cache's revalidation interval (5 s), and on PostgreSQL a key's rate limit
//! holds for the whole deployment. Every instance runs on the same manual
//! clock, so each bound is checked to the millisecond.

use crate::support::*;
use sonarly_api::ratelimit::LEASE_TTL_MICROS;
use sonarly_app::auth::REVALIDATE_EVERY_MS;
use sonarly_testkit::{TestBackend, both_backends, postgres_available};

both_backends!(a_revocation_takes_effect_at_once_here_and_within_five_seconds_elsewhere, |backend| async move {
    let app = TestApp::new(backend).await;
    let other = app.instance().await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    assert_eq!(app.get("/v1/accounts", &key).await.status, 200);
    assert_eq!(app.get_on(&other, "/v1/accounts", &key).await.status, 200);

    let keys = sonarly_app::keys::list_keys(&app.db.store).await.unwrap();
    sonarly_app::keys::revoke_key(&app.db.store, &app.clock, &keys[0].id).await.unwrap();
    // The instance that revoked refuses the key at once.
    assert_error(&app.get("/v1/accounts", &key).await, 401, "UNAUTHORIZED");
    // Another one serves it from its cache until it revalidates.
    app.clock.advance_millis(REVALIDATE_EVERY_MS - 1);
    assert_eq!(app.get_on(&other, "/v1/accounts", &key).await.status, 200);
    app.clock.advance_millis(1);
    assert_error(&app.get_on(&other, "/v1/accounts", &key).await, 401, "UNAUTHORIZED");
    // And keeps refusing it.
    app.clock.advance_millis(60_000);
    assert_error(&app.get_on(&other, "/v1/accounts", &key).await, 401, "UNAUTHORIZED");
    assert_error(&app.get("/v1/accounts", &key).await, 401, "UNAUTHORIZED");
});

both_backends!(an_authenticated_read_does_not_look_the_key_up_again, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let other = app.key(&[&app.group("Other").await]).await;
    assert_eq!(app.get("/v1/accounts", &key).await.status, 200);
    assert_eq!(app.state.keys.len(), 1, "the key is cached");
    // The cached key keeps its groups: still only its own group is listed.
    let listed = app.get("/v1/accounts", &key).await;
    assert_eq!(listed.body["data"]["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["data"]["items"][0]["id"], group.id.as_str());
    assert_error(&app.get(&format!("/v1/accounts/{}", group.id), &other).await, 404, "NOT_FOUND");
    assert_eq!(app.state.keys.len(), 2);
    // Unknown keys are never cached.
    assert_error(&app.get("/v1/accounts", &format!("sk_live_{}", "x".repeat(40))).await, 401, "UNAUTHORIZED");
    assert_eq!(app.state.keys.len(), 2);
});

both_backends!(last_use_is_written_in_one_batch_at_most_once_a_minute, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let start = sonarly_domain::clock::Clock::now(&app.clock);
    assert_eq!(app.get("/v1/accounts", &key).await.status, 200);
    // The first use is due at once: write it here rather than wait for the request's task.
    app.state.keys.write_uses(&app.db.store, start).await.unwrap();
    let used = || async { sonarly_app::keys::list_keys(&app.db.store).await.unwrap()[0].last_used_at };
    assert_eq!(used().await, Some(start));
    // Later uses within the minute are noted, not written.
    app.clock.advance_millis(30_000);
    assert_eq!(app.get("/v1/accounts", &key).await.status, 200);
    assert!(!app.state.keys.note_use("unrelated", sonarly_domain::clock::Clock::now(&app.clock)), "no batch due yet");
    assert_eq!(used().await, Some(start));
});

/// A key's budget across three instances on one PostgreSQL database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_pass_at_most_one_keys_limit() {
    if !postgres_available() {
        return;
    }
    let app = TestApp::new(TestBackend::Postgres).await;
    let instances = [app.router.clone(), app.instance().await, app.instance().await];
    let group = app.group("G").await;
    // 60 a minute: one request's share is 1 s; each lease takes 3.
    let key = app.key_with(&[&group], "all", 60).await;

    // All at one moment: exactly the burst passes, whichever instance answers.
    let mut passed = 0;
    for round in 0..40 {
        for instance in &instances {
            let reply = app.get_on(instance, "/v1/accounts", &key).await;
            if reply.status == 200 {
                passed += 1;
            } else {
                assert_error(&reply, 429, "RATE_LIMIT_EXCEEDED");
                assert!(reply.header("retry-after").parse::<u64>().unwrap() >= 1, "round {round}");
                assert_eq!(reply.header("ratelimit-limit"), "60");
                assert_eq!(reply.header("ratelimit-remaining"), "0");
            }
        }
    }
    assert_eq!(passed, 60, "the burst, once, for the whole deployment");

    // Then under steady load from all three, each minute passes at most the
    // minute's refill plus the documented slack (one second's worth: 1).
    let slack = 1;
    for minute in 0..2 {
        let mut passed = 0;
        for _ in 0..240 {
            app.clock.advance_millis(250);
            for instance in &instances {
                for _ in 0..2 {
                    if app.get_on(instance, "/v1/accounts", &key).await.status == 200 {
                        passed += 1;
                    }
                }
            }
        }
        assert!(passed <= 60 + slack, "minute {minute}: {passed} passed");
        assert!(passed >= 60 - 3 * 3, "minute {minute}: only {passed} passed (at most a slice per instance lost)");
    }
    assert_eq!(LEASE_TTL_MICROS, 1_000_000, "the slack above is one second's worth of budget");
}

/// Shared budgets answer with the headers and envelope of the in-process one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_budget_answers_429_with_the_same_envelope_and_headers() {
    if !postgres_available() {
        return;
    }
    let app = TestApp::new(TestBackend::Postgres).await;
    let group = app.group("G").await;
    let budget = |r: &Reply| {
        (
            r.header("ratelimit-limit").to_owned(),
            r.header("ratelimit-remaining").to_owned(),
            r.header("ratelimit-reset").to_owned(),
        )
    };
    let expect = |l: &str, r: &str, s: &str| (l.to_owned(), r.to_owned(), s.to_owned());
    // 3 a minute: one request's share is 20 s.
    let key = app.key_with(&[&group], "all", 3).await;
    for (remaining, reset) in [("2", "20"), ("1", "40"), ("0", "60")] {
        let reply = app.get("/v1/accounts", &key).await;
        assert_eq!(reply.status, 200);
        assert_eq!(budget(&reply), expect("3", remaining, reset));
        assert_eq!(reply.header("retry-after"), "");
    }
    let limited = app.get("/v1/accounts", &key).await;
    assert_error(&limited, 429, "RATE_LIMIT_EXCEEDED");
    assert_eq!(budget(&limited), expect("3", "0", "60"));
    assert_eq!(limited.header("retry-after"), "20");
    app.clock.advance_millis(5_000);
    let limited = app.get("/v1/accounts", &key).await;
    assert_eq!(budget(&limited), expect("3", "0", "55"));
    assert_eq!(limited.header("retry-after"), "15");
    app.clock.advance_millis(15_000);
    let passed = app.get("/v1/accounts", &key).await;
    assert_eq!(passed.status, 200, "{}", passed.body);
    assert_eq!(budget(&passed), expect("3", "0", "60"));
    app.clock.advance_millis(60_000);
    assert_eq!(budget(&app.get("/v1/accounts", &key).await), expect("3", "2", "20"));

    // A budget leased in slices (100 a minute: 5 at a time) counts every request.
    let key = app.key_with(&[&group], "all", 100).await;
    let mut last = None;
    for _ in 0..7 {
        last = Some(app.get("/v1/accounts", &key).await);
    }
    assert_eq!(budget(&last.unwrap()), expect("100", "93", "5"));
}
