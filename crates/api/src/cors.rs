//! Cross-origin requests from browsers, for an allow-list of origins set by
//! the operator (`serve --cors-origins`); off by default (docs/decisions.md,
//! "CORS").
//!
//! With no list every request is answered as if CORS did not exist: an
//! `OPTIONS` gets the route's usual answer (405 in the envelope, or 401 on a
//! `/v1` route without a key). With a list, tower-http's CORS layer does the
//! work:
//! - a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
//!   from a listed origin is answered `204` with the allowed methods and
//!   headers, before authentication (browsers send no credentials on it);
//!   from any other origin it is answered as without CORS;
//! - every other response gets `Vary: Origin`, and for a listed origin
//!   `Access-Control-Allow-Origin` plus the headers a client may read
//!   (`x-trace-id`, `RateLimit-*`, `Retry-After`, `Idempotent-Replayed`).
//!
//! No credentials mode: API keys travel in `Authorization`, never in cookies.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Duration;
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may cache a preflight answer.
pub const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The operator's allow-list and the layer built from it.
#[derive(Clone, Debug)]
pub struct CorsPolicy {
    origins: Vec<HeaderValue>,
    layer: CorsLayer,
}

impl CorsPolicy {
    /// A policy for `origins`, each `scheme://host[:port]` as browsers send it
    /// (`http` or `https`, no path; a trailing `/` is dropped, case is
    /// ignored). The error names the origin at fault.
    pub fn new<S: AsRef<str>>(origins: &[S]) -> Result<Self, String> {
        let mut parsed = Vec::new();
        for raw in origins {
            let origin = normalize_origin(raw.as_ref())?;
            let value =
                HeaderValue::from_str(&origin).map_err(|_| format!("{:?} is not a valid origin", raw.as_ref()))?;
            if !parsed.contains(&value) {
                parsed.push(value);
            }
        }
        if parsed.is_empty() {
            return Err("the list of origins is empty".into());
        }
        let layer = CorsLayer::new()
            .allow_origin(AllowOrigin::list(parsed.clone()))
            .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, HeaderName::from_static("idempotency-key")])
            .expose_headers(
                [
                    crate::middleware::TRACE_HEADER,
                    "ratelimit-limit",
                    "ratelimit-remaining",
                    "ratelimit-reset",
                    "retry-after",
                    "idempotent-replayed",
                ]
                .map(HeaderName::from_static),
            )
            .max_age(PREFLIGHT_MAX_AGE);
        Ok(Self { origins: parsed, layer })
    }

    /// The origins, as listed.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.origins.iter().filter_map(|o| o.to_str().ok())
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        self.origins.iter().any(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes()))
    }
}

/// `https://App.example:8443/` → `https://app.example:8443`.
fn normalize_origin(raw: &str) -> Result<String, String> {
    let bad = |why: &str| format!("{raw:?} is not an origin ({why}); write it as https://host or https://host:port");
    let trimmed = raw.trim();
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    let (scheme, rest) = trimmed.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(bad("the scheme must be http or https"));
    }
    if rest.is_empty() {
        return Err(bad("no host"));
    }
    if rest.contains(['/', '?', '#', '@', ' ', '*']) {
        return Err(bad("only a host and a port may follow the scheme"));
    }
    if let Some((_, port)) = rest.rsplit_once(':').filter(|_| !rest.ends_with(']'))
        && port.parse::<u16>().is_err()
    {
        return Err(bad("the port is not a number"));
    }
    Ok(format!("{scheme}://{}", rest.to_ascii_lowercase()))
}

/// The middleware (see the module docs); a no-op without a policy.
pub async fn cors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(policy) = state.cors.clone() else { return next.run(req).await };
    let preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        && req.headers().get(header::ORIGIN).is_some_and(|origin| policy.allows(origin));
    if req.method() == Method::OPTIONS && !preflight {
        return next.run(req).await;
    }
    let mut response = match policy.layer.layer(next).oneshot(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if preflight {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalized_and_mistakes_named() {
        let policy =
            CorsPolicy::new(&["https://App.example/", "http://localhost:3000", "https://app.example"]).unwrap();
        assert_eq!(policy.origins().collect::<Vec<_>>(), ["https://app.example", "http://localhost:3000"]);
        assert!(policy.allows(&HeaderValue::from_static("https://APP.example")));
        assert!(!policy.allows(&HeaderValue::from_static("https://app.example.evil")));
        for bad in ["app.example", "ftp://a.example", "https://a.example/path", "https://", "*", "https://a:x"] {
            let err = CorsPolicy::new(&[bad]).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
        assert!(CorsPolicy::new::<&str>(&[]).is_err());
        assert!(CorsPolicy::new(&["http://[::1]:8080"]).is_ok());
    }
}
