//! The web console at `/console`: a page and its assets, compiled into the binary.
//!
//! The console is a client of the public API and nothing more. Its script keeps the API key
//! in the browser tab's `sessionStorage` and calls the same `/v1` routes with it, so every
//! number it shows and every action it takes goes through the same use cases, scopes and
//! group isolation as any other client; the server keeps no console session of its own (see
//! docs/decisions.md, "The console").
//!
//! The assets are files under `crates/api/console/`, included at build time: serving them
//! needs no other runtime, and no request leaves for another host. Every answer carries a
//! strict Content-Security-Policy (scripts, styles, images and API calls from this origin
//! only; no inline script or style; no framing), `nosniff` and `no-referrer`.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// The policy on every console answer. `style-src 'self'` still lets the script size bars
/// through the CSSOM (`element.style.width`), which CSP does not restrict.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// One asset: its name under `/console/assets/`, its media type and its bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const PAGE: &[u8] = include_bytes!("../console/index.html");

const ASSETS: &[Asset] = &[
    Asset { name: "app.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../console/app.js") },
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", body: include_bytes!("../console/app.css") },
    Asset { name: "icon.svg", content_type: "image/svg+xml", body: include_bytes!("../console/icon.svg") },
];

/// Strong validators, computed once: the first 16 hex digits of each body's SHA-256.
static ETAGS: LazyLock<Vec<String>> =
    LazyLock::new(|| std::iter::once(PAGE).chain(ASSETS.iter().map(|a| a.body)).map(etag_of).collect());

fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// The console's routes; they need no key (the page asks for one).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/console", get(page))
        .route("/console/", get(|| async { Redirect::permanent("/console") }))
        .route("/console/assets/{name}", get(asset))
}

async fn page(headers: HeaderMap) -> Response {
    serve(&headers, "text/html; charset=utf-8", PAGE, &ETAGS[0])
}

async fn asset(headers: HeaderMap, Path(name): Path<String>) -> Response {
    match ASSETS.iter().position(|a| a.name == name) {
        Some(i) => serve(&headers, ASSETS[i].content_type, ASSETS[i].body, &ETAGS[i + 1]),
        None => crate::envelope::ApiError::new(sonarly_domain::ErrorCode::NotFound, "No such console asset.")
            .into_response(),
    }
}

/// The body with its headers, or a bare 304 when the browser already has this version.
fn serve(headers: &HeaderMap, content_type: &'static str, body: &'static [u8], etag: &str) -> Response {
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { body.into_response() };
    let h = response.headers_mut();
    if !fresh {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    if let Ok(value) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, value);
    }
    // Revalidated on every load: a new binary serves new assets at once.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
