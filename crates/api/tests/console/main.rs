//! The web console (`/console`, issue 18) driven in real headless Chromium
//! through ChromeDriver, against a live server on the sandbox with a manual
//! clock: `cargo test -p sonarly-api --test console`.
//!
//! - Browser: ChromeDriver from `SONARLY_CHROMEDRIVER`, else `chromedriver` on
//!   PATH (Debian's `chromium-driver`; `bash .ci/browser` installs it). Without
//!   one the tests print a loud SKIP line and pass, unless
//!   `SONARLY_REQUIRE_BROWSER=1` (set by `.ci/run` once `.ci/browser` worked):
//!   then they fail.
//! - Selectors: the console's DOM contract (`data-page`/`data-ready` on
//!   `main#view`, then ids, classes and `data-` attributes per page, as
//!   crates/api/console/app.js draws them); docs/decisions.md, "The console".
//! - Screenshots: every page at 1280x800 and 390x844, written to
//!   `target/console-screenshots/PAGE-WIDTH.png`; with `UPDATE_SCREENSHOTS=1`
//!   the seats and campaign pages at 1280 are also copied to `docs/console/`
//!   (the README shows them).
//! - Network: after each page, every URL the page loaded (its resource
//!   timings and the document's own URL) must be on the server's origin, and
//!   the console's answer carries a strict Content-Security-Policy.
//!
//! Time is an input: the server and the engine run on a manual clock that the
//! test moves, stepping the engine by hand; only the waits for the page (it
//! polls every few seconds) are in real time, bounded.

mod webdriver;
mod world;

use serde_json::{Value, json};
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use webdriver::{Browser, Driver, Element};
use world::World;

const MINUTE: i64 = 60_000;

/// How long a page may take to show its data (debug build, busy machine).
const READY: Duration = Duration::from_secs(20);

/// The viewports every page is photographed at: a laptop and a phone.
const SIZES: [(u32, u32); 2] = [(1280, 800), (390, 844)];

/// Pages whose 1280-px screenshot goes to docs/console/ with UPDATE_SCREENSHOTS=1.
const README_SHOTS: [&str; 2] = ["seats", "campaign"];

/// Fails when the browser is required, else says loudly that the test is skipped.
fn skip_or_fail(why: &str) {
    if std::env::var("SONARLY_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!("SONARLY_REQUIRE_BROWSER=1 but {why}");
    }
    // Straight to stderr: the test harness captures eprintln! of a passing test, and a skip must show.
    let _ = writeln!(
        std::io::stderr(),
        "\n======== SKIP: browser test not run: {why} (install chromium and chromium-driver: bash .ci/browser) ========\n"
    );
}

/// A server, ChromeDriver and one browser session on it.
struct Console {
    world: World,
    browser: Browser,
    shots: PathBuf,
    _profile: tempfile::TempDir,
    _driver: Driver,
}

impl Console {
    /// The world with `extra` routes, and a browser; `None` (after a loud
    /// SKIP) when there is no browser and none is required.
    async fn launch(extra: axum::Router) -> Option<Self> {
        let Some(path) = webdriver::find_chromedriver() else {
            skip_or_fail("chromedriver was not found (SONARLY_CHROMEDRIVER, PATH, /usr/bin)");
            return None;
        };
        let driver = match Driver::start(&path).await {
            Ok(d) => d,
            Err(e) => {
                skip_or_fail(&format!("ChromeDriver did not start: {e}"));
                return None;
            }
        };
        let profile = tempfile::tempdir().unwrap();
        let browser = match driver.session(profile.path()).await {
            Ok(b) => b,
            Err(e) => {
                skip_or_fail(&format!("Chromium did not start: {e}"));
                return None;
            }
        };
        // Requests the Content-Security-Policy refused never reach the resource timings: each
        // document notes them from its first script on, and the network check reads them too.
        let note = "window.__refused = [];
                    document.addEventListener('securitypolicyviolation',
                      (e) => window.__refused.push(e.blockedURI + ' (' + e.violatedDirective + ')'));";
        browser.cdp("Page.addScriptToEvaluateOnNewDocument", json!({ "source": note })).await.unwrap();
        let world = World::start(extra).await;
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Some(Self { world, browser, shots, _profile: profile, _driver: driver })
    }

    async fn close(self) {
        self.browser.quit().await;
        self.world.stop().await;
    }

    /// Opens `/console#/{route}` (a same-document hash change once the console is loaded).
    async fn open(&self, route: &str) {
        self.browser.goto(&format!("{}/console#/{route}", self.world.base)).await.unwrap();
    }

    /// Waits until `main#view` shows `page` with its data loaded.
    async fn ready(&self, page: &str) -> Element {
        let css = format!("main#view[data-page={page}][data-ready=true]");
        match self.browser.wait_for(&css, READY).await {
            Ok(e) => e,
            Err(e) => panic!("{e}; toast: {:?}", self.toast().await),
        }
    }

    /// Follows the menu link to `page` and waits for it.
    async fn nav(&self, page: &str) {
        let link = self.must(&format!("nav#menu a[data-nav={page}]")).await;
        self.browser.click(&link).await.unwrap();
        self.ready(page).await;
    }

    /// The toast's kind and text, if one shows.
    async fn toast(&self) -> Option<(String, String)> {
        let toast = self.browser.find("#toast").await.ok()??;
        let kind = self.browser.attr(&toast, "data-kind").await.ok()?.unwrap_or_default();
        // Its text even once it hid itself (WebDriver's text is the visible text).
        let text = self.browser.prop(&toast, "textContent").await.ok()?;
        Some((kind, text.as_str().unwrap_or_default().to_owned()))
    }

    /// The element for `css`, which must appear within [`READY`].
    async fn must(&self, css: &str) -> Element {
        self.browser.wait_for(css, READY).await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// The text of `css`, which must appear within [`READY`] (read in one script: pages
    /// that refresh themselves replace their elements).
    async fn text_of(&self, css: &str) -> String {
        let deadline = Instant::now() + READY;
        loop {
            if let Some(text) = self.text_now(css).await {
                return text;
            }
            assert!(Instant::now() < deadline, "no element matches {css} at {}", self.route().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.must(css).await;
        self.browser.clear(&e).await.unwrap();
        self.browser.type_into(&e, text).await.unwrap();
    }

    /// Clicks `css`, scrolled to the middle of the viewport first (the header sticks to the top).
    async fn click(&self, css: &str) {
        let e = self.must(css).await;
        self.browser.script("arguments[0].scrollIntoView({ block: 'center' });", vec![e.arg()]).await.unwrap();
        self.browser.click(&e).await.unwrap();
    }

    /// Chooses the option of `select` whose value is `value`, or else whose
    /// text contains it, as a person would (clicking it).
    async fn choose(&self, select: &str, value: &str) {
        self.must(&format!("{select} option")).await;
        let options = self.browser.find_all(&format!("{select} option")).await.unwrap();
        let mut texts = Vec::new();
        for pass in 0..2 {
            for o in &options {
                let v = self.browser.prop(o, "value").await.unwrap();
                let t = self.browser.text(o).await.unwrap();
                if (pass == 0 && v.as_str() == Some(value)) || (pass == 1 && t.contains(value)) {
                    // A change event is watched for: headless Chromium may select a
                    // dropdown's option on a click without firing one, which a person's
                    // choice always does; then it is fired as the browser would.
                    let watch = "const s = arguments[0].closest('select'); s.__changed = false;
                                 s.addEventListener('change', () => { s.__changed = true; }, { once: true });";
                    self.browser.script(watch, vec![o.arg()]).await.unwrap();
                    self.browser.click(o).await.unwrap();
                    let fire = "const o = arguments[0], s = o.closest('select');
                                if (!o.selected) return false;
                                if (!s.__changed) {
                                  s.dispatchEvent(new Event('input', { bubbles: true }));
                                  s.dispatchEvent(new Event('change', { bubbles: true }));
                                }
                                return true;";
                    let chosen = self.browser.script(fire, vec![o.arg()]).await.unwrap();
                    assert_eq!(chosen, json!(true), "{select}: clicking {t:?} chose it");
                    return;
                }
                if pass == 0 {
                    texts.push(format!("{v}: {t}"));
                }
            }
        }
        panic!("{select} has no option {value:?}: {texts:?}");
    }

    /// The current `#/…` route.
    async fn route(&self) -> String {
        let url = self.browser.url().await.unwrap();
        url.split_once('#').map(|(_, r)| r.to_owned()).unwrap_or_default()
    }

    /// Screenshots of the page as it is, at both sizes, then the network check.
    async fn snap(&self, name: &str) {
        for (width, height) in SIZES {
            self.browser.viewport(width, height).await.unwrap();
            // Let the layout settle at the new size (media queries, a reflow).
            tokio::time::sleep(Duration::from_millis(250)).await;
            let png = self.browser.screenshot().await.unwrap();
            let path = self.shots.join(format!("{name}-{width}.png"));
            std::fs::write(&path, &png).unwrap();
            if width == 1280
                && README_SHOTS.contains(&name)
                && std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1")
            {
                let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/console");
                std::fs::create_dir_all(&docs).unwrap();
                std::fs::write(docs.join(format!("{name}-{width}.png")), &png).unwrap();
            }
        }
        self.browser.viewport(SIZES[0].0, SIZES[0].1).await.unwrap();
        self.own_origin_only(name).await;
    }

    /// Every URL the page loaded since the last check (resource timings, the
    /// document's URL) is on the server's own origin.
    async fn own_origin_only(&self, page: &str) {
        let foreign = self.foreign_urls().await;
        assert!(foreign.is_empty(), "page {page} loaded from other origins than {}: {foreign:?}", self.world.base);
        let refused =
            self.browser.script("const r = window.__refused || []; window.__refused = []; return r;", vec![]).await;
        let refused = refused.unwrap();
        assert_eq!(refused, json!([]), "page {page} tried what its Content-Security-Policy refuses");
    }

    /// The URLs the page loaded since the last look (its resource timings and
    /// the document's own URL) that are not on the server's origin. The timings
    /// are then cleared (and their buffer made large: the pages poll).
    async fn foreign_urls(&self) -> Vec<String> {
        let urls = self
            .browser
            .script(
                "const urls = [document.location.href, ...performance.getEntriesByType('resource').map(e => e.name)];
                 performance.clearResourceTimings();
                 performance.setResourceTimingBufferSize(100000);
                 return urls;",
                vec![],
            )
            .await
            .unwrap();
        let urls: Vec<String> = serde_json::from_value(urls).unwrap();
        assert!(!urls.is_empty());
        let own = format!("{}/", self.world.base);
        urls.into_iter().filter(|u| !u.starts_with(&own)).collect()
    }

    /// Signs in with `key` on the sign-in page and waits for the seats.
    async fn sign_in(&self, key: &str) {
        self.open("signin").await;
        self.ready("signin").await;
        self.fill("input#key", key).await;
        self.click("button#signin-submit").await;
        self.ready("seats").await;
    }

    async fn sign_out(&self) {
        self.click("button#signout").await;
        self.ready("signin").await;
        let stored = self.browser.script("return sessionStorage.getItem('sonarly.key');", vec![]).await.unwrap();
        assert_eq!(stored, Value::Null, "signing out forgets the key");
    }

    /// The funnel's count per stage, as the page shows it (read in one script: the
    /// page re-renders itself while a campaign runs).
    async fn funnel(&self) -> std::collections::BTreeMap<String, i64> {
        let read = "const out = {};
                    for (const e of document.querySelectorAll('.funnel-stage[data-stage]')) {
                      out[e.dataset.stage] = Number(e.dataset.count);
                    }
                    return out;";
        serde_json::from_value(self.browser.script(read, vec![]).await.unwrap()).unwrap()
    }

    /// The text of the first element matching `css` now, if any (one script, never stale).
    async fn text_now(&self, css: &str) -> Option<String> {
        let read = "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;";
        self.browser.script(read, vec![json!(css)]).await.unwrap().as_str().map(str::to_owned)
    }

    /// Attribute `name` of the first element matching `css`, waiting up to [`READY`] for one.
    async fn attr_of(&self, css: &str, name: &str) -> String {
        let read = "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;";
        let deadline = Instant::now() + READY;
        loop {
            if let Some(v) = self.browser.script(read, vec![json!(css), json!(name)]).await.unwrap().as_str() {
                return v.to_owned();
            }
            assert!(Instant::now() < deadline, "no {css} with {name} at {}", self.route().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The `data-instance-id`s of the approval queue, in order.
    async fn approvals(&self) -> Vec<String> {
        let read =
            "return [...document.querySelectorAll('li.approval[data-instance-id]')].map(e => e.dataset.instanceId);";
        serde_json::from_value(self.browser.script(read, vec![]).await.unwrap()).unwrap()
    }

    /// Forges `POST path` (on the group) from the page with `key`: the status and the body.
    async fn forge_post(&self, path: &str, key: &str) -> (i64, Value) {
        let url = format!("/v1/accounts/{}{path}", self.world.group.id);
        let answer = self
            .browser
            .script_async(
                "const [url, key, done] = arguments;
                 fetch(url, { method: 'POST', headers: { 'Authorization': 'Bearer ' + key } })
                   .then(async r => done({ status: r.status, body: await r.json() }))
                   .catch(e => done({ status: -1, body: String(e) }));",
                vec![json!(url), json!(key)],
            )
            .await
            .unwrap();
        (answer["status"].as_i64().unwrap(), answer["body"].clone())
    }
}

/// Waits up to `within` (real time) for `check` to hold, moving the clock `step` (and
/// running the engine) between looks, and looking every `every` ticks (so the
/// page, which polls in real time, gets a chance to refresh).
macro_rules! until {
    ($console:expr, $what:expr, within $within:expr, tick $step:expr, every $every:expr, $check:expr) => {{
        let deadline = Instant::now() + $within;
        let mut ticks = 0u64;
        loop {
            if $check {
                break;
            }
            if Instant::now() > deadline {
                panic!(
                    "{} did not happen within {:?} ({} ticks of {} ms); toast: {:?}",
                    $what,
                    $within,
                    ticks,
                    $step,
                    $console.toast().await
                );
            }
            for _ in 0..$every {
                $console.world.tick($step).await;
                ticks += 1;
            }
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
    }};
}

/// The harness itself, on a page of its own (no console needed): the driver,
/// clicks, typing, keys, scripts, screenshots at both sizes and the network
/// check, which catches a request to another origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_harness_drives_a_page_and_sees_its_requests() {
    let page = axum::Router::new().route(
        "/harness",
        axum::routing::get(|| async {
            axum::response::Html(
                "<!doctype html><title>harness</title>
                 <main id=view data-page=harness data-ready=true>
                 <label>Text <input id=text></label><button id=go>Go</button><p id=out></p>
                 <ul><li id=item tabindex=0>item</li></ul></main>
                 <script src=/harness.js></script>",
            )
        }),
    );
    let page = page.route(
        "/harness.js",
        axum::routing::get(|| async {
            (
                [("content-type", "text/javascript")],
                "document.getElementById('go').onclick = () => {
                   document.getElementById('out').textContent = 'got ' + document.getElementById('text').value; };
                 document.getElementById('item').onkeydown = e => { e.target.dataset.key = e.key; };",
            )
        }),
    );
    let page = page.route(
        "/harness-csp",
        axum::routing::get(|| async {
            (
                [("content-security-policy", "default-src 'self'")],
                axum::response::Html("<!doctype html><title>csp</title><img src=http://example.invalid/y.png>"),
            )
        }),
    );
    let Some(c) = Console::launch(page).await else { return };
    c.browser.goto(&format!("{}/harness", c.world.base)).await.unwrap();
    c.ready("harness").await;
    c.fill("#text", "hello").await;
    c.click("#go").await;
    assert_eq!(c.text_of("#out").await, "got hello");
    let item = c.must("#item").await;
    c.browser.script("arguments[0].focus();", vec![item.arg()]).await.unwrap();
    c.browser.press("a").await.unwrap();
    assert_eq!(c.browser.attr(&item, "data-key").await.unwrap().as_deref(), Some("a"));
    c.snap("harness").await;
    let png = std::fs::read(c.shots.join("harness-390.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    // 390 px wide: the width is the PNG header's bytes 16..20.
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 390);

    // A request elsewhere (blocked: nothing leaves the machine) shows in the check.
    c.browser
        .script("const i = new Image(); i.src = 'http://example.invalid/x.png'; document.body.append(i);", vec![])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(c.foreign_urls().await, ["http://example.invalid/x.png"]);
    // One the Content-Security-Policy refuses leaves no timing, but is noted.
    c.browser.goto(&format!("{}/harness-csp", c.world.base)).await.unwrap();
    let deadline = Instant::now() + READY;
    let refused = loop {
        let refused = c.browser.script("return window.__refused;", vec![]).await.unwrap();
        if refused.as_array().is_some_and(|r| !r.is_empty()) || Instant::now() > deadline {
            break refused;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(refused, json!(["http://example.invalid/y.png (img-src)"]));
    c.close().await;
}

/// The walk through the console, as the Demo key: sign in, seats with
/// budget bars, an import to 100 %, a reply queued from a thread, a campaign
/// from a starter template started and its funnel moving as the sandbox
/// accepts and replies, approvals by keyboard, sign out; then a key without
/// `campaigns:execute` sees no start button, and the API refuses the call it
/// forges from the page. Every page is photographed and network-checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_walks_through_seats_imports_inbox_campaigns_and_approvals() {
    let Some(c) = Console::launch(axum::Router::new()).await else { return };
    let started = Instant::now();
    csp_is_strict(&c.world).await;

    // Sign-in: a refused key says so; the Demo key opens the seats.
    c.open("seats").await;
    c.ready("signin").await;
    c.snap("signin").await;
    c.fill("input#key", "sk_live_not_a_key").await;
    c.click("button#signin-submit").await;
    let refused = c.must("#signin-error").await;
    let deadline = Instant::now() + READY;
    while c.browser.text(&refused).await.unwrap().trim().is_empty() {
        assert!(Instant::now() < deadline, "a refused key shows no #signin-error text");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.sign_in(&c.world.key).await;

    // Seats: both Demo seats, each with today's and this week's budget bars.
    let seats = c.browser.find_all("article.seat[data-seat-id]").await.unwrap();
    assert_eq!(seats.len(), 2, "the two Demo seats");
    for kind in ["invitation", "message"] {
        for scope in ["today", "week"] {
            let bars = c.browser.find_all(&format!(".bar[data-kind={kind}][data-scope={scope}]")).await.unwrap();
            assert_eq!(bars.len(), 2, "a {scope} {kind} bar per seat");
            for bar in bars {
                let used = c.browser.attr(&bar, "data-used").await.unwrap();
                assert_eq!(used.as_deref(), Some("0"), "nothing used yet");
            }
        }
    }
    c.must("svg.activity-chart").await;
    c.snap("seats").await;

    // Prospecting: an import from a LinkedIn search URL, watched to 100 %.
    c.nav("prospecting").await;
    c.fill("input#job-url", "https://www.linkedin.com/search/results/people/?keywords=founder").await;
    c.fill("input#job-audience", "Founders").await;
    c.fill("input#job-max", "40").await;
    let estimate = c.text_of("#job-estimate").await;
    assert!(!estimate.trim().is_empty(), "the plan cap, credit cost and quota show before starting");
    c.snap("prospecting").await;
    c.click("button#job-start").await;
    let job_id = c.attr_of("tr.job[data-job-id]", "data-job-id").await;
    let row = format!("tr.job[data-job-id='{job_id}']");
    let mut seen = Vec::new();
    until!(c, "the import reaching 100 %", within Duration::from_secs(60), tick MINUTE, every 5, {
        let read = "const e = document.querySelector(arguments[0]); return e ? e.value : null;";
        let css = format!("{row} progress.job-progress");
        let value = c.browser.script(read, vec![json!(css)]).await.unwrap().as_f64().unwrap_or(-1.0);
        if seen.last() != Some(&value) {
            seen.push(value);
        }
        let status = c.text_of(&format!("{row} .job-status")).await;
        value == 100.0 && status.trim() == "completed"
    });
    eprintln!("import progress seen by the page: {seen:?}");
    assert!(c.browser.find(&format!("{row} button.job-cancel")).await.unwrap().is_none(), "no cancel once done");
    c.snap("prospecting").await;

    // The new audience and its prospects.
    let audience_id = c.attr_of("tr.audience[data-audience-id]", "data-audience-id").await;
    c.click(&format!("tr.audience[data-audience-id='{audience_id}'] a.audience-open")).await;
    c.ready("audience").await;
    c.must("tr.prospect[data-prospect-id]").await;
    c.snap("audience").await;

    // Inbox: the seats' conversations (synced by the engine), a thread, a reply queued.
    c.nav("inbox").await;
    until!(c, "a conversation in the inbox", within Duration::from_secs(30), tick 10 * MINUTE, every 1, {
        c.open("inbox").await;
        c.ready("inbox").await;
        c.browser.find("li.conversation a.conversation-open").await.unwrap().is_some()
    });
    c.snap("inbox").await;
    // The Demo inbox's contacts are not prospects yet, and a reply needs one: the thread
    // offers to import its participant (a URL import run by the engine).
    let conversation = c.attr_of("li.conversation[data-conversation-id]", "data-conversation-id").await;
    c.click(&format!("li.conversation[data-conversation-id='{conversation}'] a.conversation-open")).await;
    c.ready("thread").await;
    c.click("button#import-participant-start").await;
    until!(c, "the participant imported", within Duration::from_secs(30), tick MINUTE, every 1, {
        c.browser.find("main#view[data-page=thread][data-ready=true]").await.unwrap().is_some()
            && c.browser.find("#import-participant").await.unwrap().is_none()
    });
    c.ready("thread").await;
    c.must(".message").await;
    c.fill("textarea#reply-text", "Thanks, glad to hear from you. Talk on Thursday?").await;
    c.click("button#reply-send").await;
    let status = c.must("#reply-status").await;
    let deadline = Instant::now() + READY;
    while c.browser.text(&status).await.unwrap().trim().is_empty() {
        assert!(Instant::now() < deadline, "#reply-status says when the reply goes out; toast: {:?}", c.toast().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("reply status: {}", c.browser.text(&status).await.unwrap());
    c.snap("thread").await;
    c.nav("inbox").await;
    c.must("tr.response[data-response-id]").await;

    // Campaigns: one from a starter template on the imported audience. Its first message
    // will be written from a style with only a fallback sample (made through the API), so
    // that each one waits for a person's approval.
    c.world
        .api_send(
            reqwest::Method::POST,
            "/writing-styles",
            json!({"name": "Careful", "contentType": "direct_message",
                   "samples": [{"type": "fallback", "message": "Hi, thanks for connecting. Worth a short call?"}]}),
        )
        .await;
    c.nav("campaigns").await;
    c.fill("input#campaign-name", "Founders Q3").await;
    c.choose("select#campaign-template", "connect-engage-dm").await;
    c.choose("select#campaign-audience", &audience_id).await;
    if c.browser.find("select#campaign-seat").await.unwrap().is_some() {
        c.choose("select#campaign-seat", "Demo Classic").await;
    }
    c.snap("campaigns").await;
    c.click("button#campaign-create").await;
    c.ready("campaign").await;
    let route = c.route().await;
    let campaign_id = route.strip_prefix("/campaigns/").unwrap_or_else(|| panic!("at {route}")).to_owned();
    assert!(c.text_of(".campaign-status").await.contains("draft"));
    c.must(".slot[data-slot-id] .slot-preview").await;
    let mut linked = false;
    for slot in c.browser.find_all(".slot[data-slot-id]").await.unwrap() {
        if c.browser.text(&slot).await.unwrap().contains("First message") {
            let id = c.browser.attr(&slot, "data-slot-id").await.unwrap().unwrap();
            c.choose(&format!(".slot[data-slot-id='{id}'] select"), "Careful").await;
            linked = true;
        }
    }
    assert!(linked, "a First message slot");
    let linked_toast = Instant::now() + READY;
    while c.toast().await.is_none_or(|(kind, text)| kind != "ok" || !text.contains("linked")) {
        assert!(Instant::now() < linked_toast, "linking the style: {:?}", c.toast().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let before = c.funnel().await;
    assert!(before.get("leads").is_some_and(|n| *n > 0), "the funnel counts the leads: {before:?}");
    c.click("button#campaign-start").await;
    until!(c, "the campaign active", within READY, tick MINUTE, every 1, {
        c.text_now(".campaign-status").await.is_some_and(|s| s.contains("active"))
    });
    // Invitations go out a minute or two apart (the seat's spacing); the sandbox accepts
    // hours later, the first message follows two days after an acceptance, and a reply
    // up to two days after a message (with these seeds: 13 of 40 accept, 4 reply
    // within a week).
    let leads = before["leads"];
    // (Most leads: one who is already a connection is not invited.)
    until!(c, "most leads invited", within Duration::from_secs(60), tick 2 * MINUTE, every 10, {
        c.funnel().await.get("invited").is_some_and(|n| 2 * *n >= leads)
    });
    until!(c, "invitations accepted and messages waiting for approval", within Duration::from_secs(150),
        tick 60 * MINUTE, every 4, {
        let f = c.funnel().await;
        f.get("accepted").is_some_and(|n| *n > 0) && c.approvals().await.len() >= 2
    });
    let moved = c.funnel().await;
    assert!(moved["invited"] > before.get("invited").copied().unwrap_or(0), "{before:?} -> {moved:?}");
    c.snap("campaign").await;

    // One keystroke each: `a` approves, `d` discards the focused item.
    decide(&c, 'a').await;
    decide(&c, 'd').await;
    // The rest approved too, as more arrive, until a lead replies to one.
    until!(c, "a reply in the funnel", within Duration::from_secs(150), tick 60 * MINUTE, every 6, {
        while !c.approvals().await.is_empty() {
            decide(&c, 'a').await;
        }
        c.funnel().await.get("replied").is_some_and(|n| *n > 0)
    });
    let after = c.funnel().await;
    eprintln!("funnel: before start {before:?}, after {after:?}");
    assert!(after["accepted"] >= moved["accepted"] && after["replied"] > 0, "{moved:?} -> {after:?}");
    // The page's counts are the API's (the page refreshes itself; the clock stands still now).
    let api = c.world.api_get(&format!("/campaigns/{campaign_id}/funnel")).await;
    let mut expected: std::collections::BTreeMap<String, i64> = api["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["stage"].as_str().unwrap().to_owned(), s["count"].as_i64().unwrap()))
        .collect();
    expected.insert("leads".into(), api["leads"].as_i64().unwrap());
    let deadline = Instant::now() + READY;
    loop {
        let shown = c.funnel().await;
        if expected.iter().all(|(stage, n)| shown.get(stage) == Some(n)) {
            break;
        }
        assert!(Instant::now() < deadline, "the page shows {shown:?}, the API says {api}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    c.must("tr.lead[data-lead-id] .lead-status").await;
    c.snap("campaign").await;

    // The remaining pages, photographed and checked.
    c.nav("templates").await;
    c.snap("templates").await;
    c.nav("events").await;
    c.snap("events").await;
    c.sign_out().await;

    // A key without campaigns:execute: no start or stop button, and the API's 403 when forged.
    let limited = c.world.key_without(sonarly_domain::scope::Scope::CampaignsExecute).await;
    c.sign_in(&limited).await;
    c.open(&format!("campaigns/{campaign_id}")).await;
    c.ready("campaign").await;
    for button in ["#campaign-start", "#campaign-stop"] {
        assert!(c.browser.find(button).await.unwrap().is_none(), "{button} shows without campaigns:execute");
    }
    let (status, body) = c.forge_post(&format!("/campaigns/{campaign_id}/start"), &limited).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        (body["success"].as_bool(), body["error"]["code"].as_str()),
        (Some(false), Some("SCOPE_DENIED")),
        "{body}"
    );
    c.own_origin_only("campaign (limited key)").await;
    c.sign_out().await;
    eprintln!("console walk-through took {:?}", started.elapsed());
    c.close().await;
}

/// Focuses the first pending approval and presses `key` (`a` or `d`); the item leaves the queue.
async fn decide(c: &Console, key: char) {
    let Some(id) = c.approvals().await.into_iter().next() else { panic!("no pending approval") };
    let css = format!("li.approval[data-instance-id='{id}']");
    let focus =
        "const e = document.querySelector(arguments[0]); if (e) e.focus(); return document.activeElement === e;";
    assert_eq!(c.browser.script(focus, vec![json!(css)]).await.unwrap(), json!(true), "{css} takes the focus");
    c.browser.press(&key.to_string()).await.unwrap();
    let deadline = Instant::now() + READY;
    while c.approvals().await.contains(&id) {
        assert!(Instant::now() < deadline, "pressing {key} left {id} in the queue; toast: {:?}", c.toast().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if let Some((kind, text)) = c.toast().await {
        assert_ne!(kind, "error", "pressing {key} on {id}: {text}");
    }
}

/// The console's answer carries a Content-Security-Policy of `default-src
/// 'self'` (or `'none'`) and no `'unsafe-inline'` for scripts.
async fn csp_is_strict(world: &World) {
    let reply = world.http.get(format!("{}/console", world.base)).send().await.unwrap();
    assert!(reply.status().is_success(), "GET /console: {}", reply.status());
    let csp = reply
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("/console has no Content-Security-Policy"))
        .to_owned();
    let directive = |name: &str| -> Option<Vec<String>> {
        csp.split(';').map(str::trim).find_map(|d| {
            let mut parts = d.split_whitespace();
            (parts.next()? == name).then(|| parts.map(str::to_owned).collect())
        })
    };
    let default = directive("default-src").unwrap_or_else(|| panic!("no default-src in {csp}"));
    assert!(default == ["'self'"] || default == ["'none'"], "default-src must be 'self' or stricter: {csp}");
    let scripts = directive("script-src").unwrap_or(default);
    assert!(!scripts.iter().any(|s| s == "'unsafe-inline'" || s == "'unsafe-eval'"), "scripts: {csp}");
    assert!(!scripts.iter().any(|s| s == "*" || s.starts_with("http")), "scripts from elsewhere: {csp}");
}
