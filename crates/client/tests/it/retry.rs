//! Retries, `Retry-After` and `Idempotency-Key` reuse against a tiny local stub that answers
//! what each test scripts (a real server cannot be made to answer 502 or 503 on demand).
//! Backoff is configured to a few milliseconds.

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use sonarly_client::{Client, Error, ListParams, RetryPolicy, SourceType, StartJobBody};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted answer: status, extra headers, body.
type Scripted = (u16, Vec<(&'static str, &'static str)>, &'static str);

#[derive(Default)]
struct Stub {
    script: Mutex<VecDeque<Scripted>>,
    /// (method, path, Idempotency-Key) of each request received.
    seen: Mutex<Vec<(String, String, Option<String>)>>,
}

const OK_PAGE: &str = r#"{"success":true,"data":{"items":[{"id":"g1","name":"One","createdAt":"2026-06-03T10:00:00.000Z"}],"hasMore":false,"nextCursor":null},"error":null,"traceId":"trace_ok"}"#;
const OK_JOB: &str = r#"{"success":true,"data":{"jobId":"job_1","status":"queued","createdAt":"2026-06-03T10:00:00.000Z"},"error":null,"traceId":"trace_ok"}"#;
const BUSY: &str =
    r#"{"success":false,"data":null,"error":{"code":"SERVICE_UNAVAILABLE","message":"busy"},"traceId":"trace_busy"}"#;
const LIMITED: &str = r#"{"success":false,"data":null,"error":{"code":"RATE_LIMIT_EXCEEDED","message":"slow down","details":"60 per minute"},"traceId":"trace_429"}"#;

async fn start(script: Vec<Scripted>) -> (Arc<Stub>, String) {
    let stub = Arc::new(Stub { script: Mutex::new(script.into()), ..Default::default() });
    let state = stub.clone();
    let app =
        Router::new().fallback(any(move |method: axum::http::Method, uri: axum::http::Uri, headers: HeaderMap| {
            let stub = state.clone();
            async move {
                let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
                stub.seen.lock().unwrap().push((method.to_string(), uri.path().to_owned(), key));
                let (status, extra, body) = stub.script.lock().unwrap().pop_front().unwrap_or((500, vec![], "{}"));
                let mut response: Response = (StatusCode::from_u16(status).unwrap(), body.to_owned()).into_response();
                for (name, value) in extra {
                    response.headers_mut().insert(name, value.parse().unwrap());
                }
                response
            }
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (stub, format!("http://{addr}"))
}

fn fast(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(2),
        max_backoff: Duration::from_millis(10),
        max_retry_after: Duration::from_secs(5),
    }
}

fn client(base: &str, retry: RetryPolicy) -> Client {
    Client::builder(base, "sk_test").retry(retry).timeout(Duration::from_secs(30)).build().unwrap()
}

fn job() -> StartJobBody {
    StartJobBody {
        search_url: Some("https://www.linkedin.com/search/results/people/".into()),
        ..StartJobBody::new(SourceType::LinkedinSearch, "Jobs")
    }
}

#[tokio::test]
async fn a_get_is_retried_on_503_and_502_until_it_succeeds() {
    let (stub, base) = start(vec![
        (503, vec![("retry-after", "0")], BUSY),
        (502, vec![], "<html>bad gateway</html>"),
        (200, vec![], OK_PAGE),
    ])
    .await;
    let page = client(&base, fast(4)).list_accounts(&ListParams::default()).await.unwrap();
    assert_eq!(page.items[0].id, "g1");
    assert_eq!(stub.seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn retries_of_a_start_reuse_one_generated_idempotency_key() {
    let (stub, base) =
        start(vec![(503, vec![], BUSY), (429, vec![("retry-after", "0")], LIMITED), (202, vec![], OK_JOB)]).await;
    let started = client(&base, fast(4)).start_job("grp_1", &job()).await.unwrap();
    assert_eq!(started.job_id, "job_1");
    let seen = stub.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    let key = seen[0].2.clone().expect("an Idempotency-Key is sent");
    assert!(key.starts_with("sonarly-rs-"));
    assert!(
        seen.iter().all(|(m, p, k)| m == "POST" && p == "/v1/accounts/grp_1/prospecting" && k.as_ref() == Some(&key))
    );
}

#[tokio::test]
async fn two_calls_get_two_keys_and_a_chosen_key_is_sent_as_is() {
    let (stub, base) = start(vec![(202, vec![], OK_JOB), (202, vec![], OK_JOB), (202, vec![], OK_JOB)]).await;
    let client = client(&base, fast(4));
    client.start_job("grp_1", &job()).await.unwrap();
    client.start_job("grp_1", &job()).await.unwrap();
    client.start_job_with_idempotency_key("grp_1", &job(), "my-key-1").await.unwrap();
    let seen = stub.seen.lock().unwrap();
    assert_ne!(seen[0].2, seen[1].2);
    assert_eq!(seen[2].2.as_deref(), Some("my-key-1"));
}

#[tokio::test]
async fn an_invalid_idempotency_key_is_refused_before_sending() {
    let (stub, base) = start(vec![(202, vec![], OK_JOB)]).await;
    let err = client(&base, fast(4)).start_job_with_idempotency_key("grp_1", &job(), "has space").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert!(stub.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_post_without_idempotency_key_is_not_retried() {
    let (stub, base) = start(vec![(503, vec![("retry-after", "0")], BUSY), (201, vec![], OK_JOB)]).await;
    let err = client(&base, fast(4)).start_campaign("grp_1", "cmp_1").await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.code(), Some("SERVICE_UNAVAILABLE"));
    assert!(err.is_retryable(), "the caller may retry it, knowing the route");
    assert_eq!(stub.seen.lock().unwrap().len(), 1);
    assert_eq!(stub.seen.lock().unwrap()[0].2, None);
}

#[tokio::test]
async fn attempts_stop_at_the_configured_maximum() {
    let busy = (503, vec![("retry-after", "0")], BUSY);
    let (stub, base) = start(vec![busy.clone(), busy.clone(), busy.clone(), busy]).await;
    let err = client(&base, fast(3)).get_account("grp_1").await.unwrap_err();
    assert_eq!(stub.seen.lock().unwrap().len(), 3);
    let api = err.api().expect("an API error");
    assert_eq!(
        (api.status, api.code.as_str(), api.trace_id.as_deref()),
        (503, "SERVICE_UNAVAILABLE", Some("trace_busy"))
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_policy_ends_the_call_with_it() {
    let (stub, base) = start(vec![(429, vec![("retry-after", "120")], LIMITED), (200, vec![], OK_PAGE)]).await;
    let err = client(&base, fast(4)).list_accounts(&ListParams::default()).await.unwrap_err();
    assert_eq!(stub.seen.lock().unwrap().len(), 1);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    let api = err.api().unwrap();
    assert_eq!((api.code.as_str(), api.details.as_deref()), ("RATE_LIMIT_EXCEEDED", Some("60 per minute")));
}

#[tokio::test]
async fn an_error_page_without_envelope_still_decodes() {
    let (_stub, base) = start(vec![(502, vec![("x-trace-id", "trace_hdr")], "<html>bad gateway</html>")]).await;
    let err = client(&base, RetryPolicy::none()).get_account("grp_1").await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!((api.status, api.code.as_str(), api.trace_id.as_deref()), (502, "HTTP_502", Some("trace_hdr")));
    assert!(api.message.contains("bad gateway"));
}

#[tokio::test]
async fn a_refused_connection_is_a_retryable_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = client(&format!("http://{addr}"), fast(2)).start_job("grp_1", &job()).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_success_body_of_the_wrong_shape_is_a_decode_error() {
    let (_stub, base) = start(vec![(200, vec![], r#"{"success":true,"data":{"nope":1},"traceId":"t"}"#)]).await;
    let err = client(&base, fast(2)).get_account("grp_1").await.unwrap_err();
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
    assert!(!err.is_retryable());
}

#[test]
fn bad_configuration_is_an_error_not_a_panic() {
    assert!(matches!(Client::new("localhost:8080", "k"), Err(Error::InvalidInput(_))));
    assert!(matches!(Client::new("http://localhost:8080", "bad key"), Err(Error::InvalidInput(_))));
    assert!(matches!(Client::new("http://localhost:8080", ""), Err(Error::InvalidInput(_))));
}
