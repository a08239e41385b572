//! The console's page and assets: served from the binary, under a strict
//! Content-Security-Policy, revalidated by ETag, and written so the policy holds
//! (no inline script or style, no other host named).

use crate::support::*;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use sonarly_testkit::both_backends;
use tower::ServiceExt;

async fn fetch(app: &TestApp, path: &str, if_none_match: Option<&str>) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::builder().uri(path);
    if let Some(tag) = if_none_match {
        req = req.header("if-none-match", tag);
    }
    let res = app.router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = to_bytes(body, 4 << 20).await.unwrap();
    (parts.status, parts.headers, String::from_utf8_lossy(&bytes).into_owned())
}

const PATHS: [&str; 4] = ["/console", "/console/assets/app.js", "/console/assets/app.css", "/console/assets/icon.svg"];

both_backends!(the_console_and_its_assets_are_served_without_a_key_under_a_strict_policy, |backend| async move {
    let app = TestApp::new(backend).await;
    for path in PATHS {
        let (status, headers, body) = fetch(&app, path, None).await;
        assert_eq!(status, 200, "{path}");
        assert!(!body.is_empty(), "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'none';"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self';") && csp.contains("connect-src 'self';"), "{csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains("http"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-cache");
    }
    let (_, headers, _) = fetch(&app, "/console", None).await;
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let (_, headers, _) = fetch(&app, "/console/assets/app.js", None).await;
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
});

both_backends!(
    a_console_asset_the_browser_already_has_is_a_304_and_an_unknown_one_a_404_envelope,
    |backend| async move {
        let app = TestApp::new(backend).await;
        let (_, headers, _) = fetch(&app, "/console/assets/app.js", None).await;
        let etag = headers["etag"].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.len() == 18, "{etag}");
        let (status, again, body) = fetch(&app, "/console/assets/app.js", Some(&etag)).await;
        assert_eq!(status, 304);
        assert!(body.is_empty());
        assert_eq!(again["etag"].to_str().unwrap(), etag);
        let (status, _, body) = fetch(&app, "/console/assets/app.js", Some("\"0000000000000000\"")).await;
        assert_eq!(status, 200);
        assert!(!body.is_empty());

        let (status, _, body) = fetch(&app, "/console/assets/../../etc/passwd", None).await;
        assert_eq!(status, 404);
        assert!(body.contains("\"NOT_FOUND\""), "{body}");
        let (status, _, body) = fetch(&app, "/console/assets/secret.js", None).await;
        assert_eq!(status, 404);
        assert!(body.contains("\"success\":false"), "{body}");
        let (status, headers, _) = fetch(&app, "/console/", None).await;
        assert_eq!(status, 308);
        assert_eq!(headers["location"], "/console");
    }
);

both_backends!(the_console_names_no_other_host_and_has_no_inline_script_or_style, |backend| async move {
    let app = TestApp::new(backend).await;
    let (_, _, page) = fetch(&app, "/console", None).await;
    // Every script is a file of this origin; no handler attribute, no style attribute.
    assert_eq!(page.matches("<script").count(), page.matches("<script src=\"/console/assets/").count(), "{page}");
    for inline in [" onclick=", " onload=", " style=", "<style", "javascript:"] {
        assert!(!page.contains(inline), "the page has {inline}");
    }
    for path in PATHS {
        let (_, _, body) = fetch(&app, path, None).await;
        for host in ["http://", "https://", "//fonts.", "//cdn"] {
            let named: Vec<&str> = body.match_indices(host).map(|(i, _)| &body[i..(i + 60).min(body.len())]).collect();
            // The only absolute URLs are LinkedIn examples in placeholders and the SVG namespace.
            assert!(
                named
                    .iter()
                    .all(|n| n.starts_with("http://www.w3.org/2000/svg") || n.starts_with("https://www.linkedin.com/")),
                "{path} names another host: {named:?}"
            );
        }
    }
    let (_, _, script) = fetch(&app, "/console/assets/app.js", None).await;
    assert!(!script.contains("innerHTML") && !script.contains("eval("), "the script builds pages with DOM calls only");
    assert!(script.contains("sessionStorage"), "the key is kept in the tab's session storage");
    assert!(!script.contains("localStorage"), "the key never outlives the tab");
});
