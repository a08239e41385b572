//! The request pipeline, outermost first: trace id and request log,
//! authentication, rate limit (headers on every authenticated response),
//! routing, scope check, handler.

use crate::AppState;
use crate::envelope::{ApiError, TRACE_ID};
use crate::ratelimit::ClientBucket;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sonarly_domain::ErrorCode;
use sonarly_domain::id::new_trace_id;
use sonarly_domain::models::ApiKey;
use sonarly_domain::scope::{RouteAccess, route_access};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// Response header carrying the trace id.
pub const TRACE_HEADER: &str = "x-trace-id";

/// The authenticated caller, available to everything after authentication.
#[derive(Clone)]
pub struct Principal(pub Arc<ApiKey>);

/// The route template that answered, copied into the response for the request log.
#[derive(Clone)]
struct MatchedRoute(String);

/// Outermost layer: assigns the trace id, runs the request inside its scope
/// and a `request` span carrying it, sets the `x-trace-id` header and logs
/// one line per request. The line never
/// holds headers, bodies or query strings, so no key or message text is logged.
///
/// The request runs in a task of its own, so a client that goes away (or a
/// timeout around the connection) cannot stop it half-way: what it started
/// in the database finishes. A future dropped inside a database call can
/// leave its pooled connection inside a transaction the pool does not know
/// of (sqlx sends `BEGIN` and the answer is never read): the next borrower's
/// "autocommitted" writes then wait for someone else's `COMMIT`, holding
/// their row locks until then (issue 16: a benchmark's authenticated routes
/// stalled for 20 s behind one such connection on PostgreSQL).
pub async fn trace(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let trace_id = new_trace_id(state.clock.now());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let matched = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let started = Instant::now();
    // Every log line written while the request runs (use cases, the store) carries its trace id.
    let span = tracing::info_span!("request", trace_id = %trace_id);
    let run = TRACE_ID.scope(trace_id.clone(), next.run(req).instrument(span));
    let mut response = match tokio::spawn(run).await {
        Ok(response) => response,
        // Panics are answered inside (CatchPanicLayer); this is the runtime shutting down.
        Err(_) => ApiError::from(sonarly_domain::DomainError::internal()).into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        response.headers_mut().insert(TRACE_HEADER, value);
    }
    let route = response.extensions().get::<MatchedRoute>().map(|r| r.0.clone()).or(matched);
    let status = response.status().as_u16();
    // The template, never the raw path (ids would make a series each): a request no route
    // matched (404, or refused before routing) counts as `unmatched`.
    sonarly_app::metrics::http_request(
        route.as_deref().unwrap_or("unmatched"),
        method.as_str(),
        status,
        started.elapsed(),
    );
    // Milliseconds with at most two decimals (e.g. 0.24, 12.5).
    let latency_ms = (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
    let route = route.as_deref().unwrap_or(path.as_str());
    // A 500 is this server failing; 502-504 name an upstream (LinkedIn, Unipile) that failed
    // or is unreachable, which an operator watches but need not be paged for.
    if status == 500 || status > 504 {
        tracing::error!(trace_id, %method, route, status, latency_ms, "request");
    } else if status >= 500 {
        tracing::warn!(trace_id, %method, route, status, latency_ms, "request");
    } else {
        tracing::info!(trace_id, %method, route, status, latency_ms, "request");
    }
    response
}

/// Authenticates the bearer key and applies its rate limit. Every answer to an
/// authenticated request carries the key's budget (`RateLimit-*`, see
/// [`crate::ratelimit`]); every refusal that says when it lifts (its own 429
/// or an error carrying a retry moment) adds `Retry-After`.
///
/// Failed authentications count against the client address's budget
/// ([`crate::ratelimit::RateLimits::auth_failed`]); an address over it gets
/// 429 before its key is looked up.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let client = client_bucket(&req);
    if let Some(retry_after) = state.rate_limits.auth_blocked(client) {
        return too_many_failures(retry_after);
    }
    let presented = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .unwrap_or("");
    let key = match state.keys.authenticate(&state.store, state.clock.as_ref(), presented).await {
        Ok(key) => key,
        Err(e) => {
            // Only the caller's failures count; a failure of ours (5xx) does not.
            if e.status == 401
                && let Some(retry_after) = state.rate_limits.auth_failed(client)
            {
                return too_many_failures(retry_after);
            }
            return ApiError::from(e).into_response();
        }
    };
    let decision = state.rate_limits.check(&key.id, key.rate_limit_per_minute).await;
    let mut response = if decision.allowed {
        record_use(&state, &key);
        req.extensions_mut().insert(Principal(key));
        next.run(req).await
    } else {
        let retry_after = decision.retry_after_secs.unwrap_or(1);
        sonarly_app::metrics::rate_limited("api_key");
        ApiError::new(ErrorCode::RateLimitExceeded, "The API key exceeded its request limit; retry later.")
            .with_header("retry-after", retry_after.to_string())
            .into_response()
    };
    // A refusal by another limit (e.g. 429 QUOTA_EXCEEDED) says when it lifts.
    crate::envelope::set_retry_after(&mut response, state.clock.now());
    let headers = response.headers_mut();
    headers.insert("ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(decision.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(decision.reset_secs));
    response
}

/// The client address of `req` as the failed-authentication limit counts it:
/// the peer of the connection ([`ConnectInfo`], set by [`crate::server`]), or
/// the shared unknown bucket when the router is served without it.
fn client_bucket(req: &Request) -> ClientBucket {
    ClientBucket::of(req.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip()))
}

fn too_many_failures(retry_after: u64) -> Response {
    sonarly_app::metrics::rate_limited("auth_failures");
    ApiError::new(
        ErrorCode::RateLimitExceeded,
        "Too many failed authentications from this address; retry after the time in Retry-After.",
    )
    .with_header("retry-after", retry_after.to_string())
    .into_response()
}

/// `last_used_at` is bookkeeping: it must never slow or fail a request. Uses
/// are noted in memory and written in one batch at most once a minute, by a
/// task of its own ([`sonarly_app::auth::KeyCache::note_use`]).
fn record_use(state: &AppState, key: &Arc<ApiKey>) {
    let now = state.clock.now();
    if state.keys.note_use(&key.id, now) {
        let (store, keys) = (state.store.clone(), state.keys.clone());
        tokio::spawn(async move {
            let _ = keys.write_uses(&store, now).await;
        });
    }
}

/// After routing: checks the route's scope from the domain's route table.
/// A route missing from the table is refused (fail closed).
pub async fn require_scope(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(route) = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()) else {
        return ApiError::new(ErrorCode::NotFound, "No such route.").into_response();
    };
    // HEAD is answered by the GET handler, so it needs what GET needs.
    let method = if req.method() == axum::http::Method::HEAD { "GET" } else { req.method().as_str() };
    let access = route_access(method, &route)
        .or_else(|| state.extra_route_access.iter().find(|(m, p, _)| *m == method && *p == route).map(|(_, _, a)| *a));
    let principal = req.extensions().get::<Principal>().cloned();
    let allowed = match (access, &principal) {
        (Some(RouteAccess::AnyKey), Some(_)) => true,
        (Some(RouteAccess::Scope(scope)), Some(Principal(key))) => key.scopes.contains(scope),
        _ => false,
    };
    let mut response = if allowed {
        next.run(req).await
    } else {
        ApiError::new(ErrorCode::ScopeDenied, "The API key does not have permission to access this resource.")
            .into_response()
    };
    response.extensions_mut().insert(MatchedRoute(route));
    response
}
