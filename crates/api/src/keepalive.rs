//! Keep-alive connections survive early answers.
//!
//! Many answers come before the request body is read: 401, 403 and 429 from
//! the pipeline, 405, 413 and 415. If the body is then dropped unread, hyper
//! tries one cheap drain and otherwise closes the connection after the answer,
//! without saying so: the client's next request on that connection fails with
//! "connection closed without response", depending on whether the body had
//! arrived in time.
//!
//! This outermost layer watches the body. If the answer is ready while the
//! body is not fully read, the rest is read and discarded before answering,
//! as long as the whole body stays within [`MAX_REQUEST_BODY_BYTES`] and
//! arrives within [`DRAIN_TIMEOUT`]; the connection then stays usable. When it
//! cannot (a body above the limit, a client waiting for `100 Continue`, a
//! stalled sender), the answer says `Connection: close`, and what the client
//! already sent is read for a little while after answering, so the close is a
//! clean one and the client reads the answer instead of a reset.

use crate::MAX_REQUEST_BODY_BYTES;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::header::{CONNECTION, CONTENT_LENGTH, EXPECT};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::oneshot;

/// How long an early answer waits for the rest of a small body.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// After announcing a close: at most this many more bytes are read, for at
/// most [`LINGER_TIMEOUT`], so the client's data does not turn the close into a reset.
const LINGER_BYTES: usize = 8 * MAX_REQUEST_BODY_BYTES;
const LINGER_TIMEOUT: Duration = Duration::from_secs(10);

/// The layer (`axum::middleware::from_fn`).
pub async fn drain_unread_body(req: Request, next: Next) -> Response {
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let waits_for_continue = expects_continue(req.headers());
    let declared = declared_length(req.headers());
    let (parts, body) = req.into_parts();
    let (back, mut returned) = oneshot::channel();
    let watched = Watched { inner: Some(body), read: 0, finished: false, back: Some(back) };
    let response = next.run(Request::from_parts(parts, Body::new(watched))).await;

    let unread = match returned.try_recv() {
        Ok(unread) => unread,
        // Read to the end (the sender went away without a body to return).
        Err(oneshot::error::TryRecvError::Closed) => return response,
        // Still held somewhere: nothing can be promised about the connection.
        Err(oneshot::error::TryRecvError::Empty) => return close(response),
    };
    let allowance = MAX_REQUEST_BODY_BYTES.saturating_sub(unread.read);
    let too_big = declared.is_some_and(|n| n > MAX_REQUEST_BODY_BYTES as u64) || allowance == 0;
    if waits_for_continue && unread.read == 0 {
        // The client has not sent the body and will not until asked; asking
        // now would only make it upload what is already refused.
        return close(response);
    }
    if too_big {
        linger(unread.body);
        return close(response);
    }
    match tokio::time::timeout(DRAIN_TIMEOUT, discard(unread.body, allowance)).await {
        Ok(Drained::Complete) => response,
        Ok(Drained::OverLimit(rest)) => {
            linger(rest);
            close(response)
        }
        Ok(Drained::Failed) | Err(_) => close(response),
    }
}

fn close(mut response: Response) -> Response {
    response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

fn expects_continue(headers: &HeaderMap) -> bool {
    headers.get(EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

enum Drained {
    Complete,
    /// More than the allowance arrived; the rest of the body is left to linger.
    OverLimit(Body),
    Failed,
}

/// Reads and drops up to `allowance` bytes until the body ends.
async fn discard(mut body: Body, allowance: usize) -> Drained {
    let mut seen = 0usize;
    loop {
        match body.frame().await {
            None => return Drained::Complete,
            Some(Err(_)) => return Drained::Failed,
            Some(Ok(frame)) => {
                seen += frame.data_ref().map_or(0, Bytes::len);
                if seen > allowance {
                    return Drained::OverLimit(body);
                }
            }
        }
    }
}

/// Reads what the client keeps sending after a close was announced, in the
/// background, so the connection ends with the answer delivered.
fn linger(body: Body) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(LINGER_TIMEOUT, discard(body, LINGER_BYTES)).await;
    });
}

/// What is left of a body its reader dropped early.
struct Unread {
    body: Body,
    /// Bytes the handler had already read.
    read: usize,
}

/// The request body as the handlers see it: counts what they read and, when
/// dropped before its end, hands the rest back to [`drain_unread_body`].
struct Watched {
    inner: Option<Body>,
    read: usize,
    finished: bool,
    back: Option<oneshot::Sender<Unread>>,
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else { return Poll::Ready(None) };
        let polled = Pin::new(inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => this.read += frame.data_ref().map_or(0, Bytes::len),
            Poll::Ready(None) => this.finished = true,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.finished || self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.as_ref().map(HttpBody::size_hint).unwrap_or_else(|| SizeHint::with_exact(0))
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let (Some(body), Some(back)) = (self.inner.take(), self.back.take()) else { return };
        if !self.finished && !body.is_end_stream() {
            let _ = back.send(Unread { body, read: self.read });
        }
    }
}
