//! A small W3C WebDriver client over reqwest (already in the dependency tree),
//! for Debian's ChromeDriver driving headless Chromium: a session, navigation,
//! CSS look-ups, clicks, typing, keys, scripts, screenshots and the viewport.
//!
//! Only what the console tests use. Chromium runs with a temp profile, no
//! sandbox (root in CI), no GPU, and no network beyond loopback: every host
//! name but localhost resolves to nothing and every other address goes to a
//! proxy on a closed port, so a stray third-party request fails instead of
//! leaving the machine (the console's own check that it makes none is in the
//! test).

use base64::Engine as _;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The W3C key of an element reference in a WebDriver answer.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where ChromeDriver is: `SONARLY_CHROMEDRIVER`, else `chromedriver` on PATH,
/// else Debian's /usr/bin/chromedriver.
pub fn find_chromedriver() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SONARLY_CHROMEDRIVER").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("chromedriver"))
        .find(|p| p.is_file());
    on_path.or_else(|| Some(PathBuf::from("/usr/bin/chromedriver")).filter(|p| p.is_file()))
}

/// The Chromium binary next to the driver: `SONARLY_CHROMIUM`, else `chromium`
/// on PATH or /usr/bin/chromium; `None` lets ChromeDriver look for itself.
fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SONARLY_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
        .or_else(|| Some(PathBuf::from("/usr/bin/chromium")).filter(|p| p.is_file()))
}

/// A running ChromeDriver process, killed on drop.
pub struct Driver {
    child: Child,
    port: u16,
    pub base: String,
    http: reqwest::Client,
    /// Every session opened, ended on drop (a test that panics never quits its browser).
    sessions: Sessions,
}

/// The ids of the sessions still open on a driver.
type Sessions = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

impl Driver {
    /// Starts `path` on a free loopback port and waits until it answers /status.
    pub async fn start(path: &Path) -> Result<Self, String> {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
            listener.local_addr().map_err(|e| e.to_string())?.port()
        };
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", path.display()))?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().map_err(|e| e.to_string())?;
        let base = format!("http://127.0.0.1:{port}");
        let driver = Self { child, port, base, http, sessions: Default::default() };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = driver.http.get(format!("{}/status", driver.base)).send().await
                && r.status().is_success()
            {
                return Ok(driver);
            }
            if Instant::now() > deadline {
                return Err(format!("{} did not answer on port {port} within 20 s", path.display()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A new headless Chromium session with a fresh profile in `profile`.
    pub async fn session(&self, profile: &Path) -> Result<Browser, String> {
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            format!("--user-data-dir={}", profile.display()),
            "--window-size=1280,800".into(),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            "--disable-extensions".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-default-apps".into(),
            "--disable-domain-reliability".into(),
            "--disable-client-side-phishing-detection".into(),
            "--disable-breakpad".into(),
            "--no-pings".into(),
            "--metrics-recording-only".into(),
            "--disable-features=Translate,OptimizationHints,MediaRouter,NetworkTimeServiceQuerying".into(),
            // Nothing but loopback: names resolve to nothing, other addresses go to a closed port.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1".into(),
            "--proxy-server=http://127.0.0.1:9".into(),
            "--lang=en-US".into(),
        ];
        let mut options = json!({ "args": args });
        if let Some(binary) = find_chromium() {
            options["binary"] = json!(binary.display().to_string());
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "timeouts": { "script": 30_000, "pageLoad": 30_000, "implicit": 0 },
        }}});
        let answer = call(&self.http, reqwest::Method::POST, &format!("{}/session", self.base), Some(caps)).await?;
        let id = answer["sessionId"].as_str().ok_or_else(|| format!("no sessionId in {answer}"))?.to_owned();
        self.sessions.lock().unwrap().push(id.clone());
        Ok(Browser {
            http: self.http.clone(),
            base: format!("{}/session/{id}", self.base),
            id,
            open: self.sessions.clone(),
        })
    }
}

impl Drop for Driver {
    /// Ends the sessions still open (so their browsers exit; killing ChromeDriver alone
    /// would leave them running), then ChromeDriver. Blocking and bounded: drop cannot await.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        for id in self.sessions.lock().map(|s| s.clone()).unwrap_or_default() {
            let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else { break };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(15)));
            let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
            let request = format!(
                "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.port
            );
            if stream.write_all(request.as_bytes()).is_ok() {
                // The answer's head is enough: the session is gone once ChromeDriver answers.
                let mut answer = Vec::new();
                let mut chunk = [0u8; 1024];
                while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => answer.extend_from_slice(&chunk[..n]),
                    }
                }
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebDriver command; the answer's `value`, or the driver's error text.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut req = http.request(method.clone(), url);
    // W3C: a POST always carries a JSON body, `{}` when the command has none.
    if method == reqwest::Method::POST {
        req = req.json(&body.unwrap_or_else(|| json!({})));
    }
    let reply = req.send().await.map_err(|e| format!("{method} {url}: {e}"))?;
    let status = reply.status();
    let text = reply.text().await.map_err(|e| format!("{method} {url}: {e}"))?;
    let value: Value = serde_json::from_str(&text).map_err(|_| format!("{method} {url}: {status}: {text}"))?;
    if !status.is_success() {
        let error = value["value"]["error"].as_str().unwrap_or("?");
        let message = value["value"]["message"].as_str().unwrap_or("");
        let first_line = message.lines().next().unwrap_or("");
        return Err(format!("{method} {url}: {status} {error}: {first_line}"));
    }
    Ok(value["value"].clone())
}

/// An element found on the page.
#[derive(Clone, Debug)]
pub struct Element {
    pub id: String,
}

impl Element {
    fn from_value(v: &Value) -> Option<Self> {
        v.get(ELEMENT_KEY).and_then(Value::as_str).map(|id| Self { id: id.to_owned() })
    }

    /// The element as a script argument.
    pub fn arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }
}

/// A browser session; ended (the browser closed) by [`Browser::quit`].
pub struct Browser {
    http: reqwest::Client,
    base: String,
    id: String,
    open: Sessions,
}

impl Browser {
    async fn get(&self, path: &str) -> Result<Value, String> {
        call(&self.http, reqwest::Method::GET, &format!("{}{path}", self.base), None).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        call(&self.http, reqwest::Method::POST, &format!("{}{path}", self.base), Some(body)).await
    }

    pub async fn quit(self) {
        if call(&self.http, reqwest::Method::DELETE, &self.base, None).await.is_ok()
            && let Ok(mut open) = self.open.lock()
        {
            open.retain(|id| *id != self.id);
        }
    }

    pub async fn goto(&self, url: &str) -> Result<(), String> {
        self.post("/url", json!({ "url": url })).await.map(|_| ())
    }

    pub async fn url(&self) -> Result<String, String> {
        Ok(self.get("/url").await?.as_str().unwrap_or_default().to_owned())
    }

    /// Every element matching `css`, in document order.
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, String> {
        let found = self.post("/elements", json!({ "using": "css selector", "value": css })).await?;
        Ok(found.as_array().map(|a| a.iter().filter_map(Element::from_value).collect()).unwrap_or_default())
    }

    /// The first element matching `css`, if any (no waiting).
    pub async fn find(&self, css: &str) -> Result<Option<Element>, String> {
        Ok(self.find_all(css).await?.into_iter().next())
    }

    /// The first element matching `css`, waiting up to `within` for it to appear.
    pub async fn wait_for(&self, css: &str, within: Duration) -> Result<Element, String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(e) = self.find(css).await? {
                return Ok(e);
            }
            if Instant::now() > deadline {
                return Err(format!("no element matches {css} after {within:?} (at {})", self.url().await?));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, e: &Element) -> Result<(), String> {
        self.post(&format!("/element/{}/click", e.id), json!({})).await.map(|_| ())
    }

    pub async fn clear(&self, e: &Element) -> Result<(), String> {
        self.post(&format!("/element/{}/clear", e.id), json!({})).await.map(|_| ())
    }

    /// Types `text` into `e` (focused first by the driver).
    pub async fn type_into(&self, e: &Element, text: &str) -> Result<(), String> {
        self.post(&format!("/element/{}/value", e.id), json!({ "text": text })).await.map(|_| ())
    }

    pub async fn text(&self, e: &Element) -> Result<String, String> {
        Ok(self.get(&format!("/element/{}/text", e.id)).await?.as_str().unwrap_or_default().to_owned())
    }

    /// An attribute as written in the DOM (`None` when absent).
    pub async fn attr(&self, e: &Element, name: &str) -> Result<Option<String>, String> {
        Ok(self.get(&format!("/element/{}/attribute/{name}", e.id)).await?.as_str().map(str::to_owned))
    }

    /// A DOM property (e.g. a progress bar's `value`).
    pub async fn prop(&self, e: &Element, name: &str) -> Result<Value, String> {
        self.get(&format!("/element/{}/property/{name}", e.id)).await
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its result.
    pub async fn script(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        self.post("/execute/sync", json!({ "script": script, "args": args })).await
    }

    /// Runs `script`, which ends by calling `arguments[arguments.length - 1](result)`.
    pub async fn script_async(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        self.post("/execute/async", json!({ "script": script, "args": args })).await
    }

    /// Presses and releases `key` (one character) on whatever has the focus.
    pub async fn press(&self, key: &str) -> Result<(), String> {
        let actions = json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": [
            { "type": "keyDown", "value": key }, { "type": "keyUp", "value": key },
        ]}]});
        self.post("/actions", actions).await?;
        call(&self.http, reqwest::Method::DELETE, &format!("{}/actions", self.base), None).await.map(|_| ())
    }

    /// A Chrome DevTools command through ChromeDriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Result<Value, String> {
        self.post("/goog/cdp/execute", json!({ "cmd": cmd, "params": params })).await
    }

    /// Makes the viewport exactly `width` x `height` CSS pixels (a phone when narrow).
    pub async fn viewport(&self, width: u32, height: u32) -> Result<(), String> {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600 }),
        )
        .await
        .map(|_| ())
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Result<Vec<u8>, String> {
        let b64 = self.get("/screenshot").await?;
        base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap_or_default()).map_err(|e| e.to_string())
    }
}
