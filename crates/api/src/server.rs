//! The HTTP server: our own accept loop over hyper's HTTP/1.1 connections,
//! because `axum::serve` exposes none of what a server facing the internet
//! needs (see docs/decisions.md, "Connections").
//!
//! - **Header timeout.** A request head (request line and headers) must arrive
//!   within [`ServerConfig::header_timeout`], counted from the connection's
//!   accept for its first request and from the first byte for later ones. A
//!   partial head is then answered `408 REQUEST_TIMEOUT` and closed; a
//!   connection that sent nothing is closed quietly.
//! - **Idle timeout.** A keep-alive connection with no request under way is
//!   closed quietly after [`ServerConfig::idle_timeout`].
//! - **Body timeout.** A request body must arrive whole within
//!   [`ServerConfig::body_timeout`] of its head; a request that fails because
//!   it did not is answered `408 REQUEST_TIMEOUT` with `Connection: close`.
//! - **Protocol errors in the envelope.** hyper answers heads it cannot parse
//!   (400, 414, 431) itself, with an empty body; the connection replaces those
//!   answers with the envelope and an `x-trace-id` ([`conn`]).
//! - **Bounded graceful shutdown.** When `shutdown` resolves the listener is
//!   closed, connections between requests are closed, requests under way get
//!   until [`ServerConfig::shutdown_timeout`] to finish, and whatever is left is
//!   cut; one log line says what was cut ([`ShutdownReport`]).

mod body;
mod conn;

use axum::Router;
use conn::{ConnIo, ConnState};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// At most this many header fields per request (431 `HEADERS_TOO_LARGE` above).
pub const MAX_HEADERS: usize = 100;
/// At most this many bytes of request line and headers (431 `HEADERS_TOO_LARGE`
/// above, or 414 `URI_TOO_LONG` when the request line alone does not fit).
pub const MAX_HEAD_BYTES: usize = 96 * 1024;
/// The longest request target hyper represents (414 `URI_TOO_LONG` above).
pub const MAX_URI_BYTES: usize = 65_534;

/// The connection timeouts and the shutdown deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// The whole request head must arrive within this.
    pub header_timeout: Duration,
    /// A keep-alive connection without a request under way is closed after this.
    pub idle_timeout: Duration,
    /// A request body must arrive whole within this, counted from its head.
    pub body_timeout: Duration,
    /// After the shutdown signal, requests under way get this long to finish.
    pub shutdown_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(20),
        }
    }
}

/// What the shutdown deadline cut: connections still open when it passed, and
/// the requests under way on them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    pub connections: usize,
    pub requests: usize,
}

/// State shared by every connection of one server.
struct Shared {
    app: Router,
    config: ServerConfig,
    http: hyper::server::conn::http1::Builder,
    /// Requests handed to the application whose answer is not written yet.
    requests: Arc<AtomicUsize>,
    /// Set when shutdown begins: an answer written from then on says
    /// `connection: close`, whichever of its connection's task and the stop
    /// signal is polled first.
    stopping: AtomicBool,
}

/// Serves `app` on `listener` until `shutdown` resolves, then shuts down
/// within the deadline (see the module docs) and reports what was cut.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> ShutdownReport {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(true)
        .max_headers(MAX_HEADERS)
        .max_header_size(MAX_HEAD_BYTES)
        // A head that never ends stops at this (hyper may read somewhat more before it looks).
        .max_buf_size(MAX_HEAD_BYTES)
        // Our connections time heads themselves (hyper's timer would also cut idle keep-alives).
        .header_read_timeout(None);
    let shared = Arc::new(Shared { app, config, http, requests: Arc::default(), stopping: AtomicBool::new(false) });
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(stream, peer, shared.clone(), stopping.clone()));
                }
                Err(e) => accept_failed(e).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    shared.stopping.store(true, Ordering::SeqCst);
    let _ = stop.send(true);
    let deadline = tokio::time::sleep(config.shutdown_timeout);
    tokio::pin!(deadline);
    while !connections.is_empty() {
        tokio::select! {
            () = &mut deadline => break,
            _ = connections.join_next() => {}
        }
    }
    let report = ShutdownReport { connections: connections.len(), requests: shared.requests.load(Ordering::SeqCst) };
    connections.shutdown().await;
    if report.connections == 0 {
        tracing::info!("every connection finished before the shutdown deadline; nothing was cut");
    } else {
        tracing::warn!(
            connections = report.connections,
            requests = report.requests,
            deadline_ms = config.shutdown_timeout.as_millis() as u64,
            "shutdown deadline passed: cut {} open connection(s) with {} request(s) under way",
            report.connections,
            report.requests
        );
    }
    report
}

/// Accept fails for reasons of the peer (reset before accept) or of the
/// process (out of file descriptors); neither may end the server, and the
/// second must not spin.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionReset, Interrupted};
    if !matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted) {
        tracing::warn!(error = %e, "cannot accept a connection; retrying shortly");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One connection, from accept to close.
async fn connection(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, mut stopping: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let state = Arc::new(ConnState::new());
    let io = ConnIo::new(stream, state.clone(), shared.config);
    let service = {
        let (shared, state) = (shared.clone(), state.clone());
        hyper::service::service_fn(move |req| handle(shared.clone(), state.clone(), peer, req))
    };
    let conn = shared.http.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => return finished(result, peer),
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    // Shutting down: a connection between requests (or in the middle of a
    // head) is closed now; one serving a request finishes it, then closes.
    if state.is_serving() {
        conn.as_mut().graceful_shutdown();
        finished(conn.await, peer);
    }
}

fn finished(result: hyper::Result<()>, peer: SocketAddr) {
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// Hands one request to the application, with its body under the body
/// timeout and the peer's address as [`axum::extract::ConnectInfo`], and keeps
/// the connection's phase while the answer is written.
async fn handle(
    shared: Arc<Shared>,
    state: Arc<ConnState>,
    peer: SocketAddr,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<body::Tracked>, Infallible> {
    let guard = body::RequestGuard::new(state, &shared.requests);
    let timeout = shared.config.body_timeout;
    let expired = body::Expired::default();
    let mut req = req.map(|incoming| body::timed(incoming, timeout, &expired));
    req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
    let response = match shared.app.clone().oneshot(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let mut response = if expired.is_set() { body::timed_out(response, timeout) } else { response };
    if shared.stopping.load(Ordering::SeqCst) {
        // hyper closes the connection after an answer that says so.
        response.headers_mut().insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
    }
    Ok(response.map(|inner| body::Tracked::new(inner, guard)))
}
