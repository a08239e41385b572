//! Running the README's commands: the `sonarly` server on a temp database and
//! a free port, `bash` with the walk-through's variables, and the answers.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_sonarly");

/// The child processes get a clean environment, except what sets the time
/// (libfaketime), so a run of the suite under `faketime` moves the server too.
fn clean_env(command: &mut Command) -> &mut Command {
    command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (name, value) in std::env::vars_os() {
        let name_text = name.to_string_lossy();
        if name_text == "LD_PRELOAD"
            || name_text == "TZ"
            || name_text.starts_with("FAKETIME")
            || name_text.starts_with("DONT_FAKE")
        {
            command.env(name, value);
        }
    }
    command
}

/// The real binary, killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub database: String,
    /// Where the server serves its metrics (`--metrics-listen`): HOST:PORT.
    pub metrics: String,
    stdout: mpsc::Receiver<String>,
    log: PathBuf,
}

impl Server {
    pub fn start(dir: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let metrics = format!("127.0.0.1:{}", TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port());
        let database = format!("sqlite://{}", dir.join("readme.db").display());
        let log = dir.join("server.log");
        let mut child = clean_env(&mut Command::new(BIN))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", &database])
            .args(["--metrics-listen", &metrics])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("cannot start the sonarly binary");
        let (tx, stdout) = mpsc::channel();
        let pipe = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, base: format!("http://127.0.0.1:{port}"), database, metrics, stdout, log }
    }

    /// `GET /metrics` on the metrics listener: the body in the Prometheus text format.
    pub fn scrape_metrics(&self) -> String {
        use std::io::{Read, Write};
        let mut stream = TcpStream::connect(&self.metrics).expect("the metrics listener accepts");
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(stream, "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.metrics).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("a metrics answer");
        let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        assert!(head.starts_with("HTTP/1.1 200"), "GET /metrics answered:\n{head}");
        assert!(!head.contains("transfer-encoding: chunked"), "a chunked answer is not read here:\n{head}");
        body.to_owned()
    }

    /// The end of what the server wrote on stderr, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The next `n` lines the server prints on stdout.
    pub fn stdout_lines(&mut self, n: usize, deadline: Duration) -> Vec<String> {
        let until = Instant::now() + deadline;
        let mut lines = Vec::new();
        while lines.len() < n {
            let left = until.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => panic!(
                    "the server printed {} of the {n} stdout lines the README's quick start shows within {deadline:?}: \
                     {lines:?} (exit: {:?}); its stderr ends with:\n{}",
                    lines.len(),
                    self.child.try_wait().ok().flatten(),
                    self.log_tail()
                ),
            }
        }
        lines
    }

    /// Waits (counting attempts, so a frozen fake clock cannot make it wait forever).
    pub fn wait_until_listening(&mut self, deadline: Duration) {
        let port: u16 = self.base.rsplit(':').next().unwrap().parse().unwrap();
        let mut attempts = deadline.as_millis() / 50;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the server exited before listening: {status}; its stderr ends with:\n{}", self.log_tail());
            }
            assert!(attempts > 0, "the server did not listen within {deadline:?}");
            attempts -= 1;
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one run of a command gave.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub exit: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The HTTP status of the command's last request, from curl's header dump.
    pub status: Option<u16>,
    /// For `export NAME=$(…)`: the value bash gave `NAME`.
    pub value: Option<String>,
}

impl Outcome {
    /// The answer's body as JSON (after the headers for `curl -i`).
    pub fn json(&self) -> Option<Value> {
        let body = match self.stdout.split_once("\r\n\r\n") {
            Some((head, body)) if head.starts_with("HTTP/") => body,
            _ => self.stdout.as_str(),
        };
        serde_json::from_str(body.trim()).ok()
    }
}

/// `bash` with the walk-through's variables and a `curl` that records each
/// response's headers (for the status), nothing else from the environment.
pub struct Shell {
    dir: PathBuf,
    pub vars: BTreeMap<String, String>,
}

impl Shell {
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_owned(), vars: BTreeMap::new() }
    }

    /// Runs `script`; with `capture`, also reports the value of that variable afterwards.
    pub fn run(&self, script: &str, capture: Option<&str>, extra_env: &[(&str, &str)]) -> Outcome {
        let headers = self.dir.join("headers.txt");
        let value = self.dir.join("value.txt");
        let _ = std::fs::remove_file(&headers);
        let _ = std::fs::remove_file(&value);
        let mut full = String::from(
            "set -u -o pipefail\n\
             curl() { command curl -q --max-time 60 --dump-header \"$README_HEADERS\" \"$@\"; }\n",
        );
        full.push_str(script);
        full.push('\n');
        if let Some(name) = capture {
            full.push_str(&format!("printf '%s' \"${{{name}-}}\" > \"$README_VALUE\"\n"));
        }
        let output = clean_env(&mut Command::new("bash"))
            .arg("-c")
            .arg(&full)
            .current_dir(&self.dir)
            .env("HOME", &self.dir)
            .env("LANG", "C.UTF-8")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .env("README_HEADERS", &headers)
            .env("README_VALUE", &value)
            .envs(&self.vars)
            .envs(extra_env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("cannot run bash");
        let status = std::fs::read_to_string(&headers).ok().and_then(|dump| {
            dump.lines().rfind(|l| l.starts_with("HTTP/")).and_then(|l| l.split(' ').nth(1)?.parse().ok())
        });
        Outcome {
            exit: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            status,
            value: capture.and_then(|_| std::fs::read_to_string(&value).ok()),
        }
    }
}

/// Fails with a clear message unless bash, curl and jq are installed.
pub fn require_tools() {
    for tool in ["bash", "curl", "jq"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "the README walk-through test needs `{tool}` on PATH (README: Prerequisites); install it, e.g. `apt-get install {tool}`"
        );
    }
}

/// A path into an answer: `data.items[0].id`, `.data.jobId`,
/// `data.items[channel=direct_message].id` (the first element whose field has
/// that value).
pub fn lookup<'a>(answer: &'a Value, path: &str) -> Option<&'a Value> {
    let mut at = answer;
    let path = path.trim_start_matches('.');
    for part in path.split('.') {
        let (name, selectors) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            at = at.get(name)?;
        }
        for selector in selectors.split(']').filter(|s| !s.is_empty()) {
            let selector = selector.trim_start_matches('[');
            at = match selector.split_once('=') {
                Some((field, value)) => {
                    at.as_array()?.iter().find(|item| item.get(field).and_then(Value::as_str) == Some(value))?
                }
                None => at.get(selector.parse::<usize>().ok()?)?,
            };
        }
    }
    Some(at)
}

/// The first `data.…` or `.data.…` path in a README comment, e.g.
/// `# data.audienceId` or `# or: ... | jq -r '.data.items[0].id'`.
pub fn path_in_comment(comment: &str) -> Option<String> {
    let start = comment.find(".data.").map(|i| i + 1).or_else(|| {
        comment
            .match_indices("data.")
            .map(|(i, _)| i)
            .find(|i| *i == 0 || !comment.as_bytes()[i - 1].is_ascii_alphanumeric())
    })?;
    let path: String = comment[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '='))
        .collect();
    Some(path.trim_end_matches('.').to_owned())
}

#[test]
fn paths_select_fields_indices_and_matching_elements() {
    let answer = serde_json::json!({"data":{"items":[{"channel":"a","id":"1"},{"channel":"b","id":"2"}],"jobId":"j"}});
    assert_eq!(lookup(&answer, "data.jobId"), Some(&Value::from("j")));
    assert_eq!(lookup(&answer, ".data.items[1].id"), Some(&Value::from("2")));
    assert_eq!(lookup(&answer, "data.items[channel=b].id"), Some(&Value::from("2")));
    assert_eq!(lookup(&answer, "data.items[5].id"), None);
    assert_eq!(path_in_comment("data.audienceId").as_deref(), Some("data.audienceId"));
    assert_eq!(path_in_comment("data.id (status \"draft\")").as_deref(), Some("data.id"));
    assert_eq!(path_in_comment("or: ... | jq -r '.data.items[0].id'").as_deref(), Some("data.items[0].id"));
    assert_eq!(path_in_comment("the Demo API key"), None);
}
