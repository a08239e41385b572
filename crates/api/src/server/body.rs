//! Request bodies under the body timeout, and answers that mark their request
//! as under way until hyper has written them.

use super::conn::ConnState;
use crate::envelope::{ApiError, TRACE_ID, current_trace_id};
use crate::middleware::TRACE_HEADER;
use axum::body::Body;
use axum::http::HeaderValue;
use axum::http::header::CONNECTION;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use sonarly_domain::ErrorCode;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Set when a request's body missed its deadline.
#[derive(Clone, Default)]
pub(super) struct Expired(Arc<AtomicBool>);

impl Expired {
    pub(super) fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The body as the application sees it: an empty body as is, any other one
/// under a deadline `timeout` from now.
pub(super) fn timed(incoming: Incoming, timeout: Duration, expired: &Expired) -> Body {
    if hyper::body::Body::is_end_stream(&incoming) {
        return Body::new(incoming);
    }
    let sleep = Box::pin(tokio::time::sleep_until(Instant::now() + timeout));
    Body::new(TimedBody { inner: incoming, sleep, expired: expired.clone() })
}

/// A request body that fails once its deadline passes before its end.
struct TimedBody {
    inner: Incoming,
    sleep: Pin<Box<Sleep>>,
    expired: Expired,
}

#[derive(Debug)]
struct BodyTimeout;

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimeout {}

impl hyper::body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = self.get_mut();
        if this.expired.is_set() {
            return Poll::Ready(Some(Err(BodyTimeout.into())));
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        ready!(this.sleep.as_mut().poll(cx));
        this.expired.0.store(true, Ordering::SeqCst);
        Poll::Ready(Some(Err(BodyTimeout.into())))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The answer to a request whose body missed its deadline. A request that
/// had already succeeded keeps its answer (only the connection closes); one
/// that failed failed because its body was incomplete, so it is a 408.
pub(super) fn timed_out(response: Response, timeout: Duration) -> Response {
    let mut response = if response.status().is_success() || response.status().is_redirection() {
        response
    } else {
        let trace_id = response
            .headers()
            .get(TRACE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(current_trace_id);
        tracing::warn!(
            trace_id,
            status = 408,
            timeout_ms = timeout.as_millis() as u64,
            "request body did not arrive in time"
        );
        let message = format!("The request body did not arrive within {} ms.", timeout.as_millis());
        let mut answer =
            TRACE_ID.sync_scope(trace_id.clone(), || ApiError::new(ErrorCode::RequestTimeout, message).into_response());
        if let Ok(value) = HeaderValue::from_str(&trace_id) {
            answer.headers_mut().insert(TRACE_HEADER, value);
        }
        answer
    };
    response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Marks its connection as serving a request, and counts the request, from
/// the moment hyper hands it over until hyper drops its answer (written).
pub(super) struct RequestGuard {
    state: Arc<ConnState>,
    shared: Arc<AtomicUsize>,
}

impl RequestGuard {
    pub(super) fn new(state: Arc<ConnState>, requests: &Arc<AtomicUsize>) -> Self {
        state.serving();
        requests.fetch_add(1, Ordering::SeqCst);
        Self { state, shared: requests.clone() }
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.state.idle();
        self.shared.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An answer body that holds its request's [`RequestGuard`].
pub(super) struct Tracked {
    inner: Body,
    _guard: RequestGuard,
}

impl Tracked {
    pub(super) fn new(inner: Body, guard: RequestGuard) -> Self {
        Self { inner, _guard: guard }
    }
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
