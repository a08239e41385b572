//! The README is executed: this test starts the real `sonarly` binary on a
//! temp SQLite database and a free port, checks that it prints the Demo key
//! as the quick start shows, then runs the README's shell blocks (those with
//! `curl`, and every block of the "Walk-through" sections) in order through
//! `bash`, and compares each answer with the one the README shows right after
//! the block. Finally it runs the "Admin CLI" example with the binary in place
//! of `cargo run --release -q --`. The README stays the source of truth: the
//! commands, the answers and where each id comes from are read from it; this
//! test only knows how to fill the placeholders and which steps to poll.
//! Set `SONARLY_README=path` to run it against another copy of the README.
//! It needs `bash`, `curl` and `jq`, and fails saying so when one is missing.
//!
//! # Variables and placeholders
//!
//! - `SONARLY_KEY` is the key the server printed; `BASE` its address.
//! - `export NAME=…   # data.path` binds `NAME` to that field of the answer just
//!   before (the comment is the README's own hint for readers, e.g.
//!   `# data.audienceId`, or `jq -r '.data.items[0].id'`); an export without
//!   such a path fails. `export NAME=$(…)` is run as written.
//! - `<data.path>` in a command is that field of the answer just before;
//!   the other placeholders are listed in [`PLACEHOLDERS`]. A placeholder the
//!   test does not know fails the test.
//!
//! # Polling
//!
//! The steps in [`POLLS`] (a job until `completed`, a reply until `sent`, a
//! scan until `completed`, the inbox until its first sync landed) are repeated
//! until done, for up to [`POLL_DEADLINE`]; the binary runs on the real clock.
//! Nothing depends on the hour: the Demo accounts work around the clock.
//!
//! # Matching an answer
//!
//! A ```` ```json ```` block right after a shell block (blank lines only in
//! between) is the answer of the block's last request; other requests must
//! answer 2xx with `"success":true`.
//!
//! - Status: an answer with `"success":true` must come with a 2xx status,
//!   exactly the one the paragraph before the block gives in parentheses, e.g.
//!   "(202)", for the block's first request. An error answer must come with the
//!   status the paragraph pairs with its code, e.g. "a 400 `VALIDATION_ERROR`";
//!   the README must state it.
//! - Objects must have exactly the README's keys; a bare `…` (or `...`) among
//!   the members allows more. Arrays must have exactly the README's elements,
//!   compared in order; a bare `…` as the last element allows more.
//! - A bare `…` as a value matches any value.
//! - Strings are literal, except: a 24-hex id (`69f495c0a1b2c3d4e5f60718`) or an
//!   id prefix (`6b09…`) matches any 24-hex id; a timestamp
//!   (`2026-05-01T12:00:00.000Z`) or a date prefix (`2026-…Z`) matches any
//!   timestamp; any other string with `…` or `...` is a glob where each
//!   ellipsis matches any text (`trace_01…`, `Hi …, I enjoyed ….`).
//! - Numbers compare by value (`1.0` equals `1`); booleans and `null` literally.
//!
//! A ```` ```text ```` answer after `curl -si` is a status line and headers: the
//! status line must match; each header must be present with that exact name,
//! its value matching with `…`, `...` and `<…>` as wildcards and every run of
//! digits matching any run of digits (counters and seconds change with each
//! request); a `...` line allows other headers. `x-trace-id` must equal the
//! body's `traceId`. The quick start's ```` ```text ```` block is matched the
//! same way (without the digit rule) against the server's first stdout lines.

mod markdown;
mod runner;
mod shape;

use markdown::{Block, Command};
use runner::{BIN, Outcome, Server, Shell, lookup, path_in_comment};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");

/// How long a polled step may take (generous: debug build, busy CI machine).
const POLL_DEADLINE: Duration = Duration::from_secs(180);
const POLL_EVERY: Duration = Duration::from_millis(250);

/// Placeholders the README writes in commands, and the field of the answer
/// just before that replaces each.
const PLACEHOLDERS: &[(&str, &str)] = &[
    // A providerId from the audience's prospects list.
    ("ACoAA…", "data.items[0].providerId"),
    // The inbox's newest message.
    ("<participantProviderId>", "data.items[0].participantProviderId"),
    ("<jobId>", "data.jobId"),
    ("<audienceId>", "data.audienceId"),
    // The imported contact, from its audience's prospects list.
    ("<prospectId>", "data.items[0].id"),
    // The reply just queued.
    ("<id>", "data.id"),
    ("<conversationId>", "data.conversationId"),
    // A slot that takes the walk-through's writing style (a `direct_message` style).
    ("<slotId>", "data.items[channel=direct_message].id"),
    ("<workflowInstanceId>", "data.items[0].workflowInstanceId"),
];

/// A step repeated until the answer's `field` reaches `until` (or merely
/// exists when `until` is `None`); `gives_up_on` ends it as a failure. The
/// path is the end of the request's URL, `*` standing for a `$VARIABLE` or a
/// `<placeholder>`.
struct Poll {
    path: &'static [&'static str],
    field: &'static str,
    until: Option<&'static str>,
    gives_up_on: &'static [&'static str],
}

const POLLS: &[Poll] = &[
    Poll {
        path: &["prospecting", "*"],
        field: "data.status",
        until: Some("completed"),
        gives_up_on: &["failed", "cancelled"],
    },
    Poll {
        path: &["messages", "responses", "*"],
        field: "data.status",
        until: Some("sent"),
        gives_up_on: &["failed", "cancelled"],
    },
    Poll {
        path: &["signals", "scans", "*"],
        field: "data.status",
        until: Some("completed"),
        gives_up_on: &["failed", "cancelled"],
    },
    Poll { path: &["messages"], field: "data.items[0]", until: None, gives_up_on: &[] },
];

#[test]
fn the_readme_quick_start_walk_through_and_admin_cli_work_as_written() {
    runner::require_tools();
    let path = std::env::var("SONARLY_README").unwrap_or_else(|_| README.to_owned());
    let readme = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let blocks = markdown::blocks(&readme);
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let key = quick_start(&blocks, &mut server);
    server.wait_until_listening(Duration::from_secs(60));

    let mut walk = Walk { readme: path, shell: Shell::new(dir.path()), last: None, requests: BTreeMap::new() };
    walk.shell.vars.insert("SONARLY_KEY".into(), key);
    walk.shell.vars.insert("BASE".into(), server.base.clone());
    for (i, block) in blocks.iter().enumerate() {
        let walk_through = block.section.starts_with("Walk-through");
        if block.lang == "sh" && (walk_through || block.text.contains("curl")) {
            walk.block(&blocks, i);
        }
    }
    let sections: BTreeSet<&str> =
        blocks.iter().map(|b| b.section.as_str()).filter(|s| s.starts_with("Walk-through")).collect();
    assert!(sections.len() >= 5, "the README's walk-through sections are missing: {sections:?}");
    for section in sections {
        assert!(walk.requests.get(section).is_some_and(|n| *n > 0), "README section \"{section}\" ran no request");
    }
    metrics_after_the_walk_through(&server.scrape_metrics());
    walk.admin_cli(&blocks, &server);
}

/// What `curl /metrics` shows on the server that ran the walk-through: every
/// family with a non-zero sample, but those the README does not exercise (it
/// runs no webhook receiver and stays within its key's rate limit; a healthy
/// pool never times out; the walk-through leaves no work waiting, so nothing is
/// due). The API's test covers those, names and labels included.
fn metrics_after_the_walk_through(text: &str) {
    const NOT_EXERCISED: [&str; 6] = [
        sonarly_app::metrics::QUEUE_DUE,
        sonarly_app::metrics::QUEUE_OLDEST_DUE_AGE,
        sonarly_app::metrics::RATE_LIMIT_REFUSALS,
        sonarly_app::metrics::WEBHOOK_DELIVERIES,
        sonarly_app::metrics::WEBHOOK_DURATION,
        sonarly_app::metrics::DB_POOL_TIMEOUTS,
    ];
    for (family, _, _) in sonarly_app::metrics::FAMILIES {
        if NOT_EXERCISED.contains(&family) {
            continue;
        }
        let nonzero = text
            .lines()
            .filter(|l| l.starts_with(family) && !l.starts_with('#'))
            .any(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()).is_some_and(|v| v > 0.0));
        assert!(nonzero, "GET /metrics after the README walk-through has no non-zero {family}:\n{text}");
    }
}

/// Matches the server's first stdout lines with the quick start's ```text
/// block and returns the printed key.
fn quick_start(blocks: &[Block], server: &mut Server) -> String {
    let block = blocks
        .iter()
        .take_while(|b| !b.section.starts_with("Walk-through"))
        .find(|b| b.lang == "text" && b.text.contains("sk_live_"))
        .expect("the README's quick start no longer shows what the server prints (a ```text block with sk_live_)");
    let expected: Vec<&str> = block.text.lines().collect();
    let actual = server.stdout_lines(expected.len(), Duration::from_secs(120));
    for (e, a) in expected.iter().zip(&actual) {
        assert!(
            shape::line_matches(e, a, false),
            "README line {}: the server's stdout does not match the quick start.\nexpected:\n{}\nactual:\n{}",
            block.line,
            block.text,
            actual.join("\n")
        );
    }
    let key = actual.iter().find(|l| l.starts_with("sk_live_")).expect("no sk_live_ key on stdout").clone();
    assert!(key.len() >= 40 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'), "odd key {key:?}");
    key
}

struct Answer {
    json: Value,
    line: usize,
}

struct Walk {
    readme: String,
    shell: Shell,
    /// The latest JSON answer and the README line of its command.
    last: Option<Answer>,
    /// Requests run per section.
    requests: BTreeMap<String, usize>,
}

/// `export NAME=VALUE` → (NAME, VALUE).
fn export(command: &Command) -> Option<(&str, &str)> {
    let rest = command.text.strip_prefix("export ")?;
    let (name, value) = rest.split_once('=')?;
    name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_').then_some((name, value))
}

/// "(202)" or "(202;" in a paragraph: the status of the block's first request.
fn status_in_parentheses(prose: &str) -> Option<u16> {
    prose.match_indices('(').find_map(|(i, _)| {
        let digits = prose.get(i + 1..i + 4)?;
        let after = prose[i + 4..].chars().next();
        (digits.bytes().all(|b| b.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit()))
            .then(|| digits.parse().ok())?
    })
}

/// "a 400 `VALIDATION_ERROR`" or "409 `CONFLICT`" in a paragraph.
fn status_of_code(prose: &str, code: &str) -> Option<u16> {
    let prose = prose.replace('\n', " ");
    let at = prose.find(&format!(" `{code}`"))?;
    let digits = prose.get(at.checked_sub(3)?..at)?;
    digits.parse().ok()
}

fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn url_path(command: &str) -> Option<Vec<&str>> {
    let start = command.find("\"$BASE")? + 1;
    let url = &command[start..start + command[start..].find('"')?];
    let path = url.split('?').next()?.trim_start_matches("$BASE");
    Some(path.split('/').filter(|s| !s.is_empty()).collect())
}

fn poll_for(command: &str) -> Option<&'static Poll> {
    if command.contains("-X ") {
        return None;
    }
    let path = url_path(command)?;
    POLLS.iter().find(|p| {
        path.len() >= p.path.len()
            && path[path.len() - p.path.len()..].iter().zip(p.path).all(|(seg, want)| {
                if *want == "*" { seg.starts_with('$') || seg.starts_with('<') } else { seg == want }
            })
    })
}

impl Walk {
    fn fail(&self, block: &Block, command: &Command, why: &str, script: &str, outcome: Option<&Outcome>) -> ! {
        let mut report = format!(
            "{}:{} (section \"{}\"): {why}\n\ncommand (as run):\n{}\n",
            self.readme, command.line, block.section, script
        );
        if let Some(o) = outcome {
            let status = o.status.map_or("no HTTP answer".to_owned(), |s| format!("HTTP {s}"));
            let exit = o.exit.map_or("killed by a signal".to_owned(), |c| format!("exit {c}"));
            report.push_str(&format!("\nactual ({status}, {exit}):\n{}\n", o.stdout.trim_end()));
            if !o.stderr.trim().is_empty() {
                report.push_str(&format!("stderr:\n{}\n", o.stderr.trim_end()));
            }
        }
        panic!("{report}");
    }

    fn count(&mut self, block: &Block) {
        *self.requests.entry(block.section.clone()).or_default() += 1;
    }

    fn block(&mut self, blocks: &[Block], index: usize) {
        let block = &blocks[index];
        let commands = markdown::commands(&block.text, block.line);
        let answer = block.answer.map(|i| &blocks[i]).filter(|b| b.lang == "json" || b.lang == "text");
        let last_request = commands.iter().rposition(|c| export(c).is_none());
        let first_request = commands.iter().position(|c| export(c).is_none());
        for (i, command) in commands.iter().enumerate() {
            if let Some((name, value)) = export(command) {
                self.bind(block, command, name, value);
                continue;
            }
            let expected = if Some(i) == last_request { answer } else { None };
            let stated = if Some(i) == first_request { status_in_parentheses(&block.prose) } else { None };
            self.request(block, command, expected, stated);
        }
    }

    fn bind(&mut self, block: &Block, command: &Command, name: &str, value: &str) {
        if name == "SONARLY_KEY" || name == "BASE" {
            return; // the printed key and the server's address
        }
        let bound = if value.contains("$(") {
            let script = self.substitute(block, command);
            let outcome = self.shell.run(&script, Some(name), &[]);
            self.count(block);
            let value = outcome.value.clone().unwrap_or_default();
            if outcome.exit != Some(0) || !outcome.status.is_some_and(|s| (200..300).contains(&s)) {
                self.fail(block, command, &format!("`export {name}=$(…)` failed"), &script, Some(&outcome));
            }
            if value.trim().is_empty() || value.trim() == "null" {
                self.fail(block, command, &format!("`export {name}=$(…)` gave no value"), &script, Some(&outcome));
            }
            value.trim().to_owned()
        } else {
            let Some(path) = command.comment.as_deref().and_then(path_in_comment) else {
                self.fail(
                    block,
                    command,
                    &format!("`export {name}=…` needs a `# data.…` comment naming the answer field it comes from"),
                    &command.text,
                    None,
                );
            };
            self.field(block, command, &path)
        };
        self.shell.vars.insert(name.to_owned(), bound);
    }

    /// A field of the answer just before, as text.
    fn field(&self, block: &Block, command: &Command, path: &str) -> String {
        let Some(last) = &self.last else {
            self.fail(block, command, &format!("`{path}` is used before any answer"), &command.text, None);
        };
        match lookup(&last.json, path).and_then(value_text) {
            Some(value) => value,
            None => self.fail(
                block,
                command,
                &format!("`{path}` is not in the answer before (of README line {}):\n{}", last.line, last.json),
                &command.text,
                None,
            ),
        }
    }

    fn substitute(&self, block: &Block, command: &Command) -> String {
        let mut script = command.text.clone();
        for (placeholder, path) in PLACEHOLDERS {
            if script.contains(placeholder) {
                script = script.replace(placeholder, &self.field(block, command, path));
            }
        }
        while let Some(start) = script.find("<data.") {
            let Some(len) = script[start..].find('>') else { break };
            let path = script[start + 1..start + len].to_owned();
            script = script.replacen(&format!("<{path}>"), &self.field(block, command, &path), 1);
        }
        let unknown = script.find('…').or_else(|| script.find("...")).or_else(|| {
            script.match_indices('<').map(|(i, _)| i).find(|i| {
                let rest = &script[i + 1..];
                let name: String =
                    rest.chars().take_while(|c| c.is_ascii_alphanumeric() || "_.[]=".contains(*c)).collect();
                !name.is_empty() && rest[name.len()..].starts_with('>')
            })
        });
        if let Some(at) = unknown {
            let excerpt: String = script[at..].chars().take(30).collect();
            self.fail(
                block,
                command,
                &format!(
                    "unknown placeholder at `{excerpt}`: add it to PLACEHOLDERS in crates/cli/tests/cli/readme/mod.rs"
                ),
                &script,
                None,
            );
        }
        script
    }

    fn request(&mut self, block: &Block, command: &Command, expected: Option<&Block>, stated: Option<u16>) {
        let script = self.substitute(block, command);
        let poll = poll_for(&command.text);
        // Attempts rather than an instant, so a frozen fake clock cannot make it wait forever.
        let mut attempts = POLL_DEADLINE.as_millis() / POLL_EVERY.as_millis();
        let outcome = loop {
            let outcome = self.shell.run(&script, None, &[]);
            let Some(poll) = poll else { break outcome };
            let json = outcome.json().unwrap_or(Value::Null);
            let state = lookup(&json, poll.field);
            let done = match poll.until {
                Some(want) => state.and_then(Value::as_str) == Some(want),
                None => state.is_some(),
            };
            if done || outcome.exit != Some(0) || !outcome.status.is_some_and(|s| (200..300).contains(&s)) {
                break outcome;
            }
            if let Some(s) = state.and_then(Value::as_str).filter(|s| poll.gives_up_on.contains(s)) {
                self.fail(
                    block,
                    command,
                    &format!("polled until {:?}, got {s:?}", poll.until),
                    &script,
                    Some(&outcome),
                );
            }
            attempts -= 1;
            if attempts == 0 {
                let why = format!("polled {POLL_DEADLINE:?} for {} = {:?}; never got there", poll.field, poll.until);
                self.fail(block, command, &why, &script, Some(&outcome));
            }
            std::thread::sleep(POLL_EVERY);
        };
        self.count(block);
        if outcome.exit != Some(0) {
            self.fail(block, command, "the command failed", &script, Some(&outcome));
        }
        let problems = match expected {
            Some(answer) if answer.lang == "json" => self.check_json(block, answer, stated, &outcome),
            Some(answer) => check_text(answer, &outcome),
            None => {
                let mut problems = Vec::new();
                if !outcome.status.is_some_and(|s| stated.map_or((200..300).contains(&s), |want| s == want)) {
                    problems.push(format!("expected status {}", stated.map_or("2xx".to_owned(), |s| s.to_string())));
                }
                if outcome.json().and_then(|j| j.get("success").cloned()) != Some(Value::Bool(true)) {
                    problems.push("expected a JSON envelope with \"success\":true".to_owned());
                }
                problems
            }
        };
        if !problems.is_empty() {
            let mut why = format!("the answer differs from the README:\n  - {}", problems.join("\n  - "));
            if let Some(answer) = expected {
                why.push_str(&format!("\n\nexpected ({}:{}):\n{}", self.readme, answer.line, answer.text));
            }
            self.fail(block, command, &why, &script, Some(&outcome));
        }
        if let Some(json) = outcome.json() {
            self.last = Some(Answer { json, line: command.line });
        }
    }

    fn check_json(&self, block: &Block, answer: &Block, stated: Option<u16>, outcome: &Outcome) -> Vec<String> {
        let expected = match shape::parse_expected(&answer.text) {
            Ok(value) => value,
            Err(e) => return vec![format!("README line {}: {e}", answer.line)],
        };
        let mut problems = Vec::new();
        let want = if expected.get("success") == Some(&Value::Bool(false)) {
            let code = expected.pointer("/error/code").and_then(Value::as_str).unwrap_or("?");
            match status_of_code(&block.prose, code) {
                Some(status) => Some(status),
                None => {
                    problems.push(format!(
                        "the README shows a `{code}` answer without its status: write e.g. \"409 `{code}`\" in the paragraph before"
                    ));
                    None
                }
            }
        } else {
            stated
        };
        let status_ok = outcome.status.is_some_and(|s| want.map_or((200..300).contains(&s), |w| s == w));
        if !status_ok && problems.is_empty() {
            problems.push(format!("expected status {}", want.map_or("2xx".to_owned(), |s| s.to_string())));
        }
        match outcome.json() {
            Some(actual) => problems.extend(shape::compare(&expected, &actual)),
            None => problems.push("the answer is not JSON".to_owned()),
        }
        problems
    }

    /// Runs the "Admin CLI" example with the binary in place of cargo, then
    /// uses the key it created.
    fn admin_cli(&mut self, blocks: &[Block], server: &Server) {
        const CARGO: &str = "cargo run --release -q --";
        let block = blocks
            .iter()
            .find(|b| b.lang == "sh" && b.text.contains(CARGO))
            .expect("the README's Admin CLI example (`cargo run --release -q -- …`) is missing");
        let names: Vec<&str> =
            block.text.lines().filter_map(|l| l.split_once("=$(").map(|(name, _)| name.trim())).collect();
        let mut script = block.text.replace(CARGO, &format!("'{BIN}'"));
        script.push_str(&format!(
            "\nprintf '%s\\n' {}\n",
            names.iter().map(|n| format!("\"${n}\"")).collect::<Vec<_>>().join(" ")
        ));
        let command = Command { text: script.clone(), comment: None, line: block.line };
        let outcome = self.shell.run(&script, None, &[("SONARLY_DATABASE_URL", server.database.as_str())]);
        let values: Vec<&str> = outcome.stdout.lines().collect();
        if outcome.exit != Some(0) || values.len() != names.len() || values.iter().any(|v| v.is_empty()) {
            self.fail(block, &command, "the Admin CLI example failed or printed nothing", &script, Some(&outcome));
        }
        let key = values.iter().find(|v| v.starts_with("sk_live_"));
        let group = values.iter().find(|v| v.len() == 24 && v.bytes().all(|b| b.is_ascii_hexdigit()));
        let (Some(key), Some(group)) = (key, group) else {
            self.fail(block, &command, "expected a group id and an sk_live_ key", &script, Some(&outcome));
        };
        let env = [("KEY", *key), ("GROUP", *group)];
        let accounts = self.shell.run("curl -s \"$BASE/v1/accounts\" -H \"Authorization: Bearer $KEY\"", None, &env);
        let listed = accounts.json().and_then(|j| lookup(&j, "data.items[0].id").and_then(value_text));
        assert_eq!(listed.as_deref(), Some(*group), "the new key should list the new group: {}", accounts.stdout);
        let allowed = "curl -s \"$BASE/v1/accounts/$GROUP/audiences\" -H \"Authorization: Bearer $KEY\"";
        assert_eq!(self.shell.run(allowed, None, &env).status, Some(200), "audiences:read is one of the key's scopes");
        let denied = "curl -s \"$BASE/v1/accounts/$GROUP/messages\" -H \"Authorization: Bearer $KEY\"";
        let denied = self.shell.run(denied, None, &env);
        assert_eq!(denied.status, Some(403), "messages:read is not one of the key's scopes: {}", denied.stdout);
    }
}

/// A `curl -si` answer against the README's status line and headers.
fn check_text(answer: &Block, outcome: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    let (head, body) = outcome.stdout.split_once("\r\n\r\n").unwrap_or((&outcome.stdout, ""));
    let mut actual = head.lines().map(|l| l.trim_end_matches('\r'));
    let mut expected = answer.text.lines();
    let (want_status, got_status) = (expected.next().unwrap_or(""), actual.next().unwrap_or(""));
    if !shape::line_matches(want_status, got_status, false) {
        problems.push(format!("status line: expected {want_status:?}, got {got_status:?}"));
    }
    let headers: Vec<(&str, &str)> = actual.filter_map(|l| l.split_once(": ")).collect();
    let mut others_allowed = false;
    let mut shown = Vec::new();
    for line in expected {
        if matches!(line.trim(), "..." | "…") {
            others_allowed = true;
            continue;
        }
        let (name, want) = line.split_once(": ").unwrap_or((line, ""));
        shown.push(name);
        match headers.iter().find(|(n, _)| *n == name) {
            Some((_, got)) if shape::line_matches(want, got, true) => {}
            Some((_, got)) => problems.push(format!("header {name}: expected {want:?}, got {got:?}")),
            None => problems.push(format!("header {name}: missing")),
        }
    }
    if !others_allowed {
        for (name, _) in headers.iter().filter(|(n, _)| !shown.contains(n)) {
            problems.push(format!("header {name}: not in the README (add a `...` line to allow others)"));
        }
    }
    let trace = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("x-trace-id")).map(|(_, v)| *v);
    let body_trace =
        serde_json::from_str::<Value>(body.trim()).ok().and_then(|j| j["traceId"].as_str().map(str::to_owned));
    if trace.is_some() && trace != body_trace.as_deref() {
        problems.push(format!("x-trace-id {trace:?} differs from the body's traceId {body_trace:?}"));
    }
    problems
}

#[test]
fn statuses_are_read_from_the_prose() {
    assert_eq!(status_in_parentheses("the reply is queued (202), goes"), Some(202));
    assert_eq!(status_in_parentheses("Start a scan (202; the same"), Some(202));
    assert_eq!(status_in_parentheses("(the first of the audience) (2024 was)"), None);
    assert_eq!(status_of_code("A limit outside 1 to 100 is a 400 `VALIDATION_ERROR`:", "VALIDATION_ERROR"), Some(400));
    assert_eq!(status_of_code("so approving answers\n409 `CONFLICT`:", "CONFLICT"), Some(409));
    assert_eq!(status_of_code("answers `CONFLICT`", "CONFLICT"), None);
}

#[test]
fn polls_match_the_end_of_the_url() {
    let job = r#"curl -s "$BASE/v1/accounts/$ACCOUNT_GROUP_ID/prospecting/$JOB_ID" -H "x""#;
    assert_eq!(poll_for(job).map(|p| p.until), Some(Some("completed")));
    let reply = r#"curl -s "$BASE/v1/accounts/$ACCOUNT_GROUP_ID/messages/responses/<id>" -H "x""#;
    assert_eq!(poll_for(reply).map(|p| p.until), Some(Some("sent")));
    let quota = r#"curl -s "$BASE/v1/accounts/$ACCOUNT_GROUP_ID/prospecting/quota""#;
    assert!(poll_for(quota).is_none());
    let create = r#"curl -s -X POST "$BASE/v1/accounts/$ACCOUNT_GROUP_ID/prospecting""#;
    assert!(poll_for(create).is_none());
}
