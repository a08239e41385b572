//! The HTTP plumbing: one `reqwest::Client`, route building, and turning
//! answers into typed results.

use super::errors::{self, Ctx};
use crate::error::{LinkedInError, LinkedInResult};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, multipart::Form};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sonarly_domain::clock::SharedClock;
use std::time::Duration;
use url::Url;

/// Query pairs; values are owned so callers can build them inline.
pub(crate) type Query = Vec<(&'static str, String)>;

pub(crate) struct Http {
    client: reqwest::Client,
    /// The DSN root (scheme, host, port, and any path prefix), without `/api/v1`.
    root: Url,
    pub(crate) account_id: String,
    pub(crate) clock: SharedClock,
}

impl Http {
    pub(crate) fn new(
        base_url: &str,
        api_key: &str,
        account_id: &str,
        connect_timeout: Duration,
        request_timeout: Duration,
        clock: SharedClock,
    ) -> LinkedInResult<Self> {
        if account_id.trim().is_empty() {
            return Err(LinkedInError::InvalidInput("Unipile account_id is empty".into()));
        }
        Self::workspace(base_url, api_key, account_id, connect_timeout, request_timeout, clock)
    }

    /// A client for the workspace-wide routes (hosted-auth links, webhooks, checkpoints),
    /// which name the account, if any, in their body: `account_id` may be empty.
    pub(crate) fn workspace(
        base_url: &str,
        api_key: &str,
        account_id: &str,
        connect_timeout: Duration,
        request_timeout: Duration,
        clock: SharedClock,
    ) -> LinkedInResult<Self> {
        if api_key.trim().is_empty() {
            return Err(LinkedInError::Unauthorized("Unipile api_key is empty".into()));
        }
        let root = normalize_dsn(base_url)?;
        let mut key = HeaderValue::from_str(api_key.trim())
            .map_err(|_| LinkedInError::Unauthorized("Unipile api_key is not a valid header value".into()))?;
        // Keeps the key out of reqwest's Debug output.
        key.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert("X-API-KEY", key);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(same_host_redirects())
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            .build()
            .map_err(|e| LinkedInError::Transient(format!("cannot build the Unipile HTTP client: {e}")))?;
        Ok(Self { client, root, account_id: account_id.trim().to_owned(), clock })
    }

    /// `{root}/api/v1/{segments…}`, each segment percent-encoded (ids contain `/`, `+`, `=`, `:`).
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.root.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        url
    }

    /// The DSN root as Unipile names it (`https://host:port`, no trailing `/`): hosted-auth `api_url`.
    pub(crate) fn dsn(&self) -> String {
        self.root.as_str().trim_end_matches('/').to_owned()
    }

    /// `account_id` as a query pair, for the routes that take it there.
    pub(crate) fn account(&self) -> (&'static str, String) {
        ("account_id", self.account_id.clone())
    }

    /// A read: decode errors are upstream faults (`Transient`).
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: Query,
        ctx: Ctx,
    ) -> LinkedInResult<T> {
        let request = self.client.request(Method::GET, self.url(segments)).query(&query);
        let body = self.execute(request, ctx).await?;
        crate::decode_provider_json(&body).map_err(|e| {
            LinkedInError::Transient(format!("unexpected Unipile payload for /{}: {e}", segments.join("/")))
        })
    }

    /// A JSON write. Once Unipile answered 2xx the action happened, so a body we
    /// cannot read is logged and replaced by the default, never turned into an error
    /// that would invite a second send.
    pub(crate) async fn post_json<T, B>(&self, segments: &[&str], query: Query, body: &B, ctx: Ctx) -> LinkedInResult<T>
    where
        T: DeserializeOwned + Default,
        B: Serialize + ?Sized,
    {
        let request = self.client.request(Method::POST, self.url(segments)).query(&query).json(body);
        let answer = self.execute(request, ctx).await?;
        Ok(lenient(&answer, segments))
    }

    /// A `DELETE`, lenient like [`Self::post_json`] (its answer is only an acknowledgement).
    pub(crate) async fn delete<T>(&self, segments: &[&str], query: Query, ctx: Ctx) -> LinkedInResult<T>
    where
        T: DeserializeOwned + Default,
    {
        let request = self.client.request(Method::DELETE, self.url(segments)).query(&query);
        let answer = self.execute(request, ctx).await?;
        Ok(lenient(&answer, segments))
    }

    /// A multipart write (`POST /chats`, `POST /chats/{id}/messages`), lenient like [`Self::post_json`].
    pub(crate) async fn post_multipart<T>(&self, segments: &[&str], form: Form, ctx: Ctx) -> LinkedInResult<T>
    where
        T: DeserializeOwned + Default,
    {
        let request = self.client.request(Method::POST, self.url(segments)).multipart(form);
        let answer = self.execute(request, ctx).await?;
        Ok(lenient(&answer, segments))
    }

    /// A JSON read sent as POST (`/linkedin/search`): strict decoding like [`Self::get`].
    pub(crate) async fn post_read<T, B>(&self, segments: &[&str], query: Query, body: &B, ctx: Ctx) -> LinkedInResult<T>
    where
        T: DeserializeOwned,
        B: Serialize + ?Sized,
    {
        let request = self.client.request(Method::POST, self.url(segments)).query(&query).json(body);
        let answer = self.execute(request, ctx).await?;
        crate::decode_provider_json(&answer).map_err(|e| {
            LinkedInError::Transient(format!("unexpected Unipile payload for /{}: {e}", segments.join("/")))
        })
    }

    async fn execute(&self, request: RequestBuilder, ctx: Ctx) -> LinkedInResult<Vec<u8>> {
        let response = request.send().await.map_err(errors::transport)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| errors::parse_retry_after(v, self.clock.now()));
        let body = response.bytes().await.map_err(errors::transport)?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let error = errors::from_response(status.as_u16(), &body, retry_after, ctx);
        tracing::debug!(status = status.as_u16(), reason = error.reason_code(), "Unipile call failed");
        Err(error)
    }
}

/// Unipile answers `GET /users/{id}` with a 301 to add a trailing slash (contract §4.3),
/// so redirects are followed, but only on the same host: reqwest would forward our
/// custom `X-API-KEY` header to any other host a redirect names.
fn same_host_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_host = attempt.previous().first().is_some_and(|first| {
            first.host_str() == attempt.url().host_str()
                && first.port_or_known_default() == attempt.url().port_or_known_default()
        });
        if attempt.previous().len() > 5 {
            attempt.error("too many redirects")
        } else if same_host {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

fn lenient<T: DeserializeOwned + Default>(body: &[u8], segments: &[&str]) -> T {
    if body.iter().all(u8::is_ascii_whitespace) {
        return T::default();
    }
    crate::decode_provider_json(body).unwrap_or_else(|error| {
        tracing::warn!(%error, route = %segments.join("/"), "Unipile accepted the write but its answer does not decode");
        T::default()
    })
}

/// Accepts `https://api8.unipile.com:13851`, a scheme-less `api8.unipile.com:13851`,
/// and either with a trailing `/` or `/api/v1` (contract §1).
pub(crate) fn normalize_dsn(raw: &str) -> LinkedInResult<Url> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(LinkedInError::InvalidInput("Unipile base_url (DSN) is empty".into()));
    }
    let with_scheme = if trimmed.contains("://") { trimmed.to_owned() } else { format!("https://{trimmed}") };
    let mut url = Url::parse(&with_scheme)
        .map_err(|e| LinkedInError::InvalidInput(format!("Unipile base_url is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(LinkedInError::InvalidInput("Unipile base_url must be an http(s) URL with a host".into()));
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/');
    let path = path.strip_suffix("/api/v1").unwrap_or(path).to_owned();
    url.set_path(if path.is_empty() { "/" } else { &path });
    Ok(url)
}
