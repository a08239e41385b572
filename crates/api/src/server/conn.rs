//! One connection's socket as hyper sees it, with the two things hyper's own
//! HTTP/1.1 server cannot do:
//!
//! - **Timing heads and idleness apart.** hyper's header timer also runs while
//!   a keep-alive connection waits for its next request, so one setting would
//!   cut either slow heads too late or idle connections too early. The socket
//!   knows the connection's [`Phase`] (the service marks when a request is
//!   handed over and when its answer is written) and, while hyper waits for
//!   bytes, applies the header or the idle deadline itself.
//! - **Protocol errors in the envelope.** A head hyper cannot parse never
//!   reaches the application: hyper writes `400`, `414` or `431` with an empty
//!   body and closes. Such an answer is the only response head written while no
//!   request is being served that lacks `x-trace-id`, so the socket holds back
//!   every response head written between requests and replaces hyper's own
//!   with the envelope (code, message naming what was refused, trace id).

use super::{MAX_HEAD_BYTES, MAX_HEADERS, MAX_URI_BYTES, ServerConfig};
use crate::envelope::{ErrorBody, ErrorEnvelope, FieldIssueBody, current_trace_id};
use crate::middleware::TRACE_HEADER;
use axum::http::StatusCode;
use sonarly_domain::{DomainError, ErrorCode};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// Where a connection is between two requests.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request head since `since`; `started` once a byte of it arrived.
    Head { since: Instant, started: bool },
    /// A request was handed to the application; its answer is not written yet.
    Serving,
    /// Between requests on a keep-alive connection, since `since`.
    Idle { since: Instant },
}

/// The phase, shared by the socket and the service of one connection.
pub(super) struct ConnState {
    inner: Mutex<Shared>,
}

struct Shared {
    phase: Phase,
    /// The task waiting for the socket to be readable: it must look at the
    /// deadline again when a request's answer is written (hyper may not read
    /// again by itself until the client sends something).
    reader: Option<Waker>,
}

impl ConnState {
    /// A new connection waits for its first head from now on.
    pub(super) fn new() -> Self {
        let phase = Phase::Head { since: Instant::now(), started: false };
        Self { inner: Mutex::new(Shared { phase, reader: None }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn phase(&self) -> Phase {
        self.lock().phase
    }

    fn set(&self, phase: Phase) {
        self.lock().phase = phase;
    }

    fn wait_to_read(&self, waker: &Waker) {
        let mut inner = self.lock();
        match &mut inner.reader {
            Some(known) if known.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
    }

    pub(super) fn serving(&self) {
        self.set(Phase::Serving);
    }

    /// The answer is written: the idle deadline starts now.
    pub(super) fn idle(&self) {
        let reader = {
            let mut inner = self.lock();
            inner.phase = Phase::Idle { since: Instant::now() };
            inner.reader.take()
        };
        if let Some(reader) = reader {
            reader.wake();
        }
    }

    pub(super) fn is_serving(&self) -> bool {
        matches!(self.phase(), Phase::Serving)
    }
}

/// Bytes of a request line kept to name what a 400 refused.
const LINE_KEPT: usize = 8 * 1024;
/// A held-back response head longer than this is not hyper's error answer.
const HELD_LIMIT: usize = 4 * 1024;

/// The socket under hyper (see the module docs).
pub(super) struct ConnIo {
    stream: TcpStream,
    state: Arc<ConnState>,
    config: ServerConfig,
    timer: Pin<Box<Sleep>>,
    timer_at: Option<Instant>,
    /// The current head's request line, up to [`LINE_KEPT`] bytes, and its full length so far.
    line: Vec<u8>,
    line_len: usize,
    line_done: bool,
    /// A response head held back until it is whole.
    held: Option<Vec<u8>>,
    /// Bytes that go out before anything else hyper writes.
    out: Vec<u8>,
    out_pos: usize,
}

impl ConnIo {
    pub(super) fn new(stream: TcpStream, state: Arc<ConnState>, config: ServerConfig) -> Self {
        Self {
            stream,
            state,
            config,
            timer: Box::pin(tokio::time::sleep_until(Instant::now())),
            timer_at: None,
            line: Vec::new(),
            line_len: 0,
            line_done: false,
            held: None,
            out: Vec::new(),
            out_pos: 0,
        }
    }

    /// Bytes arrived: a head starts or goes on.
    fn observe(&mut self, bytes: &[u8]) {
        match self.state.phase() {
            Phase::Serving => return,
            Phase::Idle { .. } => {
                self.state.set(Phase::Head { since: Instant::now(), started: true });
                self.line.clear();
                self.line_len = 0;
                self.line_done = false;
            }
            Phase::Head { since, started: false } => self.state.set(Phase::Head { since, started: true }),
            Phase::Head { started: true, .. } => {}
        }
        for &byte in bytes {
            match byte {
                _ if self.line_done => break,
                // Empty lines before a request line are allowed and skipped.
                b'\r' | b'\n' if self.line_len == 0 => {}
                b'\n' => self.line_done = true,
                _ => {
                    if self.line.len() < LINE_KEPT {
                        self.line.push(byte);
                    }
                    self.line_len += 1;
                }
            }
        }
    }

    /// The deadline while hyper waits for bytes, and whether a partial head is at stake.
    fn deadline(&self) -> Option<(Instant, bool)> {
        match self.state.phase() {
            Phase::Serving => None,
            Phase::Head { since, started } => Some((since + self.config.header_timeout, started)),
            Phase::Idle { since } => Some((since + self.config.idle_timeout, false)),
        }
    }

    /// Answers a head that stopped half-way, as far as the socket takes it now.
    fn answer_head_timeout(&mut self) {
        let ms = self.config.header_timeout.as_millis();
        let error =
            DomainError::new(ErrorCode::RequestTimeout, format!("The request head did not arrive within {ms} ms."));
        let _ = self.stream.try_write(&raw_answer(error));
    }

    /// Writes `out` until it is gone.
    fn poll_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_pos < self.out.len() {
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.out[self.out_pos..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out_pos += n;
        }
        self.out.clear();
        self.out_pos = 0;
        Poll::Ready(Ok(()))
    }

    /// Lets a held-back head go: hyper's own error answer replaced, any other as it was.
    fn release(&mut self) {
        if let Some(head) = self.held.take() {
            let replaced = self.replacement(&head);
            self.out.extend_from_slice(replaced.as_deref().unwrap_or(&head));
        }
    }

    /// The envelope answer for hyper's own error answer `head`, if it is one.
    fn replacement(&self, head: &[u8]) -> Option<Vec<u8>> {
        let status = std::str::from_utf8(head.get(9..12)?).ok()?.parse::<u16>().ok()?;
        if !matches!(status, 400 | 414 | 431) || has_header(head, TRACE_HEADER) {
            return None;
        }
        let error = match status {
            // A request line that did not end within the head limit, or is longer than any target
            // can be, makes the target the culprit.
            414 | 431 if status == 414 || !self.line_done || self.line_len > MAX_URI_BYTES => DomainError::new(
                ErrorCode::UriTooLong,
                format!("The request target is longer than the server reads ({MAX_URI_BYTES} bytes)."),
            ),
            431 => DomainError::new(
                ErrorCode::HeadersTooLarge,
                format!(
                    "The request has more than {MAX_HEADERS} header fields or more than {MAX_HEAD_BYTES} bytes of \
                     request line and headers."
                ),
            ),
            _ => {
                let (field, message) = refused_part(&self.line, self.line_len, self.line_done);
                DomainError::invalid_field(field, message)
            }
        };
        Some(raw_answer(error))
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                this.observe(&buf.filled()[before..]);
                return Poll::Ready(Ok(()));
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => this.state.wait_to_read(cx.waker()),
        }
        let Some((at, partial_head)) = this.deadline() else { return Poll::Pending };
        if this.timer_at != Some(at) {
            this.timer.as_mut().reset(at);
            this.timer_at = Some(at);
        }
        ready!(this.timer.as_mut().poll(cx));
        if partial_head {
            this.answer_head_timeout();
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the request head timed out")));
        }
        // Nothing started: an end of stream, which hyper takes as a quiet close.
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_out(cx))?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if this.held.is_none() && !this.state.is_serving() && buf.starts_with(b"HTTP/1.") {
            this.held = Some(Vec::new());
        }
        let Some(held) = this.held.as_mut() else {
            return Pin::new(&mut this.stream).poll_write(cx, buf);
        };
        let before = held.len();
        let search_from = before.saturating_sub(3);
        held.extend_from_slice(buf);
        match find(&held[search_from..], b"\r\n\r\n") {
            Some(at) => {
                let end = search_from + at + 4;
                held.truncate(end);
                this.release();
                Poll::Ready(Ok(end - before))
            }
            None => {
                if held.len() > HELD_LIMIT {
                    this.release();
                }
                Poll::Ready(Ok(buf.len()))
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.release();
        ready!(this.poll_out(cx))?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.release();
        ready!(this.poll_out(cx))?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether the response head holds a header `name` (lower case).
fn has_header(head: &[u8], name: &str) -> bool {
    head.split(|b| *b == b'\n').skip(1).any(|line| {
        line.len() > name.len() && line[name.len()] == b':' && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
    })
}

/// Which part of a head hyper refused with 400, judged from its request line
/// (`line`: the first bytes of it; `len`: its whole length so far).
fn refused_part(line: &[u8], len: usize, done: bool) -> (&'static str, &'static str) {
    if line.is_empty() {
        return ("request", "is not an HTTP/1.1 request");
    }
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|b| *b == b' ');
    let method = parts.next().unwrap_or_default();
    if method.is_empty() || !method.iter().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b)) {
        return ("method", "is not an HTTP method");
    }
    let target = parts.next().unwrap_or_default();
    if target.is_empty() {
        return ("path", "is missing");
    }
    if !target.iter().all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%[]".contains(b)) {
        return (
            "path",
            "holds a character that must be percent-encoded (spaces, quotes, braces, control characters or bytes \
             outside ASCII)",
        );
    }
    if !done || len > LINE_KEPT {
        return ("request", "could not be parsed as HTTP/1.1");
    }
    match (parts.next(), parts.next()) {
        (Some(_), Some(_)) => ("path", "must not contain spaces"),
        (Some(b"HTTP/1.1" | b"HTTP/1.0"), None) => {
            ("headers", "hold a name or value with a character HTTP does not allow")
        }
        _ => ("version", "must be HTTP/1.1 or HTTP/1.0"),
    }
}

/// A whole HTTP/1.1 answer in the envelope, closing the connection; logged
/// with its trace id like a request.
fn raw_answer(error: DomainError) -> Vec<u8> {
    let trace_id = current_trace_id();
    tracing::info!(trace_id, status = error.status, code = error.code.as_str(), "request refused before routing");
    let status = error.status;
    let envelope = ErrorEnvelope {
        success: false,
        data: None,
        error: ErrorBody {
            code: error.code.as_str().to_owned(),
            message: error.message,
            details: error.details,
            fields: error.fields.into_iter().map(|i| FieldIssueBody { field: i.field, message: i.message }).collect(),
        },
        trace_id: trace_id.clone(),
    };
    let body = serde_json::to_vec(&envelope).unwrap_or_default();
    let reason = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
    let mut answer = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         {TRACE_HEADER}: {trace_id}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(line: &str) -> &'static str {
        refused_part(line.as_bytes(), line.len(), true).0
    }

    #[test]
    fn a_refused_head_is_blamed_on_the_part_of_the_request_line_at_fault() {
        assert_eq!(part("GET /v1/accounts HTTP/1.1\r"), "headers");
        assert_eq!(part("G(T /v1/accounts HTTP/1.1\r"), "method");
        assert_eq!(part("GET /v1/acc\u{e9}unts HTTP/1.1\r"), "path");
        assert_eq!(part("GET /v1/{x} HTTP/1.1\r"), "path");
        assert_eq!(part("GET /v1/a b HTTP/1.1\r"), "path");
        assert_eq!(part("GET /v1/accounts HTTP/2.0\r"), "version");
        assert_eq!(part(""), "request");
    }

    #[test]
    fn response_headers_are_found_whatever_their_case() {
        let head = b"HTTP/1.1 400 Bad Request\r\nX-Trace-Id: t\r\ncontent-length: 0\r\n\r\n";
        assert!(has_header(head, "x-trace-id"));
        assert!(!has_header(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n", "x-trace-id"));
    }
}
