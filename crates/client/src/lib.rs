//! A typed Rust client of the Sonarly API v1, as served by Sonarly Server (`docs/openapi.json`).
//!
//! - One method per route ([`ROUTES`] lists them; a test checks it against `docs/openapi.json`),
//!   with typed requests and responses ([`types`]).
//! - Errors carry the server's `code`, `message`, `details` and `traceId` ([`ApiError`]) and
//!   say whether a retry can help ([`Error::is_retryable`]).
//! - Lists come a page at a time (`list_…`) or as a [`Stream`](futures_core::Stream) of every
//!   item that follows `nextCursor` (`list_…_stream`).
//! - 429, 502 and 503 answers and refused connections are retried with jittered exponential
//!   backoff, waiting at least what `Retry-After` says ([`RetryPolicy`]). A POST is retried only
//!   when it carries an `Idempotency-Key`: the routes that honour one (prospecting, signal scans,
//!   scheduled responses) get a generated key, the same for every retry of one call.
//! - Request and connect timeouts are configurable ([`ClientBuilder`]); nothing panics.
//!
//! # Example
//!
//! ```no_run
//! use futures_util::TryStreamExt;
//! use sonarly_client::{Client, ListParams, SourceType, StartJobBody, JobStatus};
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), sonarly_client::Error> {
//! let client = Client::builder("http://127.0.0.1:8080", "sk_live_…")
//!     .timeout(Duration::from_secs(30))
//!     .build()?;
//!
//! let group = client.list_accounts(&ListParams::default()).await?.items.remove(0);
//!
//! // Start a prospecting job, then poll it until it ends.
//! let body = StartJobBody {
//!     search_url: Some("https://www.linkedin.com/search/results/people/?keywords=rust".into()),
//!     max_results: Some(50),
//!     ..StartJobBody::new(SourceType::LinkedinSearch, "Rust engineers")
//! };
//! let job = client.start_job(&group.id, &body).await?;
//! let done = loop {
//!     let status = client.get_job(&group.id, &job.job_id).await?;
//!     if status.status.is_final() {
//!         break status;
//!     }
//!     tokio::time::sleep(Duration::from_secs(2)).await;
//! };
//! assert_eq!(done.status, JobStatus::Completed);
//!
//! // Every prospect of its audience, page after page.
//! let prospects: Vec<_> = client
//!     .list_audience_prospects_stream(&group.id, &done.audience_id, ListParams::default())
//!     .try_collect()
//!     .await?;
//! println!("{} prospects", prospects.len());
//! # Ok(())
//! # }
//! ```
//!
//! Errors:
//!
//! ```no_run
//! # async fn run(client: sonarly_client::Client) {
//! match client.get_audience("grp_1", "aud_missing").await {
//!     Ok(audience) => println!("{}", audience.name),
//!     Err(e) if e.code() == Some("NOT_FOUND") => println!("no such audience (trace {:?})", e.trace_id()),
//!     Err(e) => eprintln!("{e}"),
//! }
//! # }
//! ```

#![warn(missing_docs)]

#[macro_use]
mod macros;
mod error;
mod routes;
pub mod types;

pub use error::{ApiError, Error, FieldIssue};
pub use routes::*;
pub use types::*;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

impl JobStatus {
    /// True once the job ended (`completed`, `failed` or `cancelled`).
    pub fn is_final(&self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled)
    }
}

impl ScanStatus {
    /// True once the scan ended (`completed`, `failed` or `cancelled`).
    pub fn is_final(&self) -> bool {
        matches!(self, ScanStatus::Completed | ScanStatus::Failed | ScanStatus::Cancelled)
    }
}

impl ResponseStatus {
    /// True once the response ended (`sent`, `failed` or `cancelled`).
    pub fn is_final(&self) -> bool {
        matches!(self, ResponseStatus::Sent | ResponseStatus::Failed | ResponseStatus::Cancelled)
    }
}

/// One page of a list: `items`, and `nextCursor` to ask for the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// True when another page follows.
    pub has_more: bool,
    /// The cursor of the next page (`cursor` of the next call); `None` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// Pagination of a list route: where to start and how many items per page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// Where the page starts: a `nextCursor`, or the id of an item of this list.
    pub cursor: Option<String>,
    /// Items per page (1 to 100; the server's default is 20).
    pub limit: Option<u32>,
}

impl ListParams {
    /// Pages of `limit` items.
    pub fn limit(limit: u32) -> Self {
        Self { cursor: None, limit: Some(limit) }
    }

    pub(crate) fn to_query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(v) = &self.cursor {
            q.push(("cursor", v.clone()));
        }
        if let Some(v) = self.limit {
            q.push(("limit", v.to_string()));
        }
        q
    }
}

/// Query parameters of a paginated route.
pub(crate) trait Paged: Clone {
    fn with_cursor(&self, cursor: Option<String>) -> Self;
    fn cursor(&self) -> Option<String>;
    fn query(&self) -> Vec<(&'static str, String)>;
}

impl Paged for ListParams {
    fn with_cursor(&self, cursor: Option<String>) -> Self {
        Self { cursor, ..self.clone() }
    }
    fn cursor(&self) -> Option<String> {
        self.cursor.clone()
    }
    fn query(&self) -> Vec<(&'static str, String)> {
        self.to_query()
    }
}

/// How a failed call is retried: on 429, 502 and 503 answers and refused connections, with
/// jittered exponential backoff, never sooner than `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (1: never retry). Default 4.
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry, doubled each retry (the wait is drawn
    /// between half of it and all of it). Default 250 ms.
    pub initial_backoff: Duration,
    /// The largest backoff. Default 10 s.
    pub max_backoff: Duration,
    /// The longest `Retry-After` the client waits; a longer one ends the call with the error.
    /// Default 60 s.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// The wait before retry number `retry` (1-based), given the server's `Retry-After`;
    /// `None` when that is longer than [`RetryPolicy::max_retry_after`].
    fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let ceiling = self.initial_backoff.saturating_mul(1u32 << (retry - 1).min(20)).min(self.max_backoff);
        let jitter = (random_u64() % 1_000_000) as f64 / 1_000_000.0;
        let backoff = ceiling.mul_f64(0.5 + jitter / 2.0);
        match retry_after {
            Some(after) if after > self.max_retry_after => None,
            Some(after) => Some(after.max(backoff)),
            None => Some(backoff),
        }
    }
}

/// Configures a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: String,
    api_key: String,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    retry: RetryPolicy,
    user_agent: String,
}

impl ClientBuilder {
    /// The whole-request timeout (connect, send, answer). Default 60 s; `None` waits forever.
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.timeout = timeout.into();
        self
    }

    /// The connect timeout. Default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How failed calls are retried (default [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The `User-Agent` header (default `sonarly-client-rust/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The client, or [`Error::InvalidInput`] for a base URL that is not `http(s)://…` or an
    /// API key that cannot be sent in a header.
    pub fn build(self) -> Result<Client, Error> {
        let base = self.base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.contains(['?', '#']) {
            return Err(Error::InvalidInput(format!(
                "the base URL must be http(s)://host[:port][/path], not {base:?}"
            )));
        }
        if self.api_key.is_empty() || !self.api_key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::InvalidInput("the API key must be non-empty visible ASCII".into()));
        }
        let mut http = reqwest::Client::builder().connect_timeout(self.connect_timeout).user_agent(self.user_agent);
        if let Some(timeout) = self.timeout {
            http = http.timeout(timeout);
        }
        let http = http.build().map_err(|e| Error::InvalidInput(format!("cannot build the HTTP client: {e}")))?;
        // Marked sensitive: a debug print of a request or its headers shows no key.
        let mut auth = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.api_key))
            .map_err(|_| Error::InvalidInput("the API key holds characters a header cannot carry".into()))?;
        auth.set_sensitive(true);
        Ok(Client { http, base, auth, retry: self.retry })
    }
}

/// A client of one Sonarly server with one API key. Cheap to clone (clones share connections).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: reqwest::header::HeaderValue,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the API key.
        f.debug_struct("Client").field("base", &self.base).field("retry", &self.retry).finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorEnvelope {
    error: ErrorBody,
    #[serde(default)]
    trace_id: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    fields: Vec<FieldIssue>,
}

impl Client {
    /// A builder for a server at `base_url` (e.g. `http://127.0.0.1:8080`) with `api_key`.
    pub fn builder(base_url: impl Into<String>, api_key: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            api_key: api_key.into(),
            timeout: Some(Duration::from_secs(60)),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            user_agent: concat!("sonarly-client-rust/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// A client with the default timeouts and retries.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Result<Self, Error> {
        Self::builder(base_url, api_key).build()
    }

    /// The base URL calls go to (without a trailing `/`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// One logical call: attempts until success, a final error, or the retry policy says stop.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        query: Vec<(&'static str, String)>,
        body: Option<serde_json::Value>,
        idempotency_key: Option<String>,
    ) -> Result<T, Error> {
        if let Some(key) = &idempotency_key
            && (key.is_empty() || key.len() > 256 || !key.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(Error::InvalidInput("an Idempotency-Key is 1 to 256 visible ASCII characters".into()));
        }
        let url = format!("{}{}", self.base, path);
        // A POST changes something: only one the server recognises as a repeat may be sent twice.
        let repeatable = method != Method::POST || idempotency_key.is_some();
        let mut attempt = 1;
        loop {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .header(reqwest::header::AUTHORIZATION, self.auth.clone())
                .header("accept", "application/json");
            if !query.is_empty() {
                request = request.query(&query);
            }
            if let Some(key) = &idempotency_key {
                request = request.header("idempotency-key", key);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let outcome = match request.send().await {
                Ok(response) => decode(response).await,
                Err(e) => Err(Error::from_reqwest(e)),
            };
            let error = match outcome {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            // With an Idempotency-Key a repeat is answered with the first result, so a timeout or a
            // broken connection (the request may have arrived) is retried too, with the same key.
            let keyed_failure = idempotency_key.is_some() && matches!(error, Error::Timeout(_) | Error::Transport(_));
            let may_retry = (error.is_retryable() || keyed_failure) && (repeatable || error.nothing_sent());
            if !may_retry || attempt >= self.retry.max_attempts {
                return Err(error);
            }
            let Some(delay) = self.retry.delay(attempt, error.retry_after()) else { return Err(error) };
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Every item of a paginated route, following `nextCursor`; an error ends the stream.
    pub(crate) fn paginate<T, P>(
        &self,
        path: String,
        params: P,
    ) -> impl futures_core::Stream<Item = Result<T, Error>> + Send + 'static
    where
        T: DeserializeOwned + Send + 'static,
        P: Paged + Send + Sync + 'static,
    {
        struct State<T, P> {
            client: Client,
            path: String,
            params: P,
            cursor: Option<String>,
            buffer: VecDeque<T>,
            done: bool,
        }
        let state =
            State { client: self.clone(), path, cursor: params.cursor(), params, buffer: VecDeque::new(), done: false };
        futures_util::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(item) = st.buffer.pop_front() {
                    return Some((Ok(item), st));
                }
                if st.done {
                    return None;
                }
                let query = st.params.with_cursor(st.cursor.clone()).query();
                match st.client.call::<Page<T>>(Method::GET, st.path.clone(), query, None, None).await {
                    Ok(page) => {
                        st.buffer.extend(page.items);
                        match page.next_cursor {
                            Some(next) if page.has_more && Some(&next) != st.cursor.as_ref() => st.cursor = Some(next),
                            _ => st.done = true,
                        }
                    }
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                }
            }
        })
    }
}

async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, Error> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.map_err(Error::from_reqwest)?;
    if (200..300).contains(&status) {
        return serde_json::from_slice::<Envelope<T>>(&bytes)
            .map(|e| e.data)
            .map_err(|source| Error::Decode { status, source });
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let retry_after = header("retry-after").and_then(|v| v.parse::<u64>().ok()).map(Duration::from_secs);
    let header_trace = header("x-trace-id").map(str::to_owned);
    let error = match serde_json::from_slice::<ErrorEnvelope>(&bytes) {
        Ok(envelope) => ApiError {
            status,
            code: envelope.error.code,
            message: envelope.error.message,
            details: envelope.error.details,
            fields: envelope.error.fields,
            trace_id: envelope.trace_id.or(header_trace),
            retry_after,
        },
        Err(_) => {
            let text = String::from_utf8_lossy(&bytes);
            let snippet: String = text.trim().chars().take(200).collect();
            ApiError {
                status,
                code: format!("HTTP_{status}"),
                message: if snippet.is_empty() { format!("HTTP status {status} without a body") } else { snippet },
                details: None,
                fields: Vec::new(),
                trace_id: header_trace,
                retry_after,
            }
        }
    };
    Err(Error::Api(Box::new(error)))
}

/// A path segment, percent-encoded (everything but RFC 3986's unreserved characters).
pub(crate) fn seg(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // `RandomState` is seeded from the OS once per thread; the counter makes every draw differ.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// A fresh `Idempotency-Key`: `sonarly-rs-` and 32 random hex digits.
pub fn generate_idempotency_key() -> String {
    format!("sonarly-rs-{:016x}{:016x}", random_u64(), random_u64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(seg("aud_01H-x.y~z"), "aud_01H-x.y~z");
        assert_eq!(seg("a b/c?d"), "a%20b%2Fc%3Fd");
    }

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(400),
            max_retry_after: Duration::from_secs(5),
        };
        for _ in 0..50 {
            let first = policy.delay(1, None).unwrap();
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100), "{first:?}");
            let late = policy.delay(8, None).unwrap();
            assert!(late >= Duration::from_millis(200) && late <= Duration::from_millis(400), "{late:?}");
        }
        assert_eq!(policy.delay(1, Some(Duration::from_secs(2))), Some(Duration::from_secs(2)));
        assert_eq!(policy.delay(1, Some(Duration::from_secs(6))), None);
    }

    #[test]
    fn idempotency_keys_are_valid_and_distinct() {
        let a = generate_idempotency_key();
        let b = generate_idempotency_key();
        assert_ne!(a, b);
        assert!(a.len() <= 256 && a.bytes().all(|c| c.is_ascii_graphic()));
    }

    #[test]
    fn unknown_enum_values_and_fields_decode() {
        let status: JobStatus = serde_json::from_str("\"paused\"").unwrap();
        assert_eq!(status, JobStatus::Other("paused".into()));
        assert_eq!(serde_json::to_string(&status).unwrap(), "\"paused\"");
        assert_eq!(serde_json::from_str::<JobStatus>("\"completed\"").unwrap(), JobStatus::Completed);
        let account: AccountView =
            serde_json::from_str(r#"{"id":"g","name":"n","createdAt":"t","addedLater":1}"#).unwrap();
        assert_eq!(account.id, "g");
    }
}
