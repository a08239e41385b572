//! The HTTP front door: a small Unipile (API v1) over a [`FaultyNetwork`],
//! for tests that run a real `sonarly serve` against a Unipile account.
//!
//! It answers the routes the connector uses for messaging and invitations
//! (`/users/me`, `/users/{id}`, `/users/relations`, `/users/invite`,
//! `/users/invite/sent`, `/chats`, `/chats/{id}`, `/chats/{id}/messages`,
//! `/linkedin/inmail_balance`, plus follows and reactions) in the contract's
//! shapes, one request per connection (`Connection: close`). Writes take the
//! network's next fault: a status answers Unipile's problem body, a reset
//! closes the connection unanswered, a timeout (and a hang) keeps the
//! connection silent longer than any client waits, a slow write delivers and
//! answers after its delay (wall-clock: this door is for real processes).

use super::network::{ChatRec, FaultyNetwork, MsgRec, Refusal};
use super::{Failure, Fault};
use serde_json::{Value, json};
use sonarly_domain::Timestamp;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running mock; stops when dropped.
pub struct UnipileMock {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

/// Requests bigger than this are refused (nothing the connector sends comes close).
const MAX_REQUEST: usize = 1 << 20;

struct Request {
    method: String,
    segments: Vec<String>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Form fields of a multipart body (text parts only).
    fn form(&self) -> Vec<(String, String)> {
        let Some(boundary) = self.header("content-type").and_then(|c| c.split("boundary=").nth(1)) else {
            return Vec::new();
        };
        let boundary = format!("--{}", boundary.trim_matches('"'));
        let body = String::from_utf8_lossy(&self.body);
        body.split(boundary.as_str())
            .filter_map(|part| {
                let (head, value) = part.split_once("\r\n\r\n")?;
                let name = head.split("name=\"").nth(1)?.split('"').next()?.to_owned();
                Some((name, value.strip_suffix("\r\n").unwrap_or(value).to_owned()))
            })
            .collect()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// What to send back.
enum Answer {
    Json(u16, Value),
    /// Close the connection without answering.
    Reset,
}

fn problem(status: u16, kind: &str, title: &str) -> Answer {
    Answer::Json(status, json!({ "status": status, "type": kind, "title": title }))
}

fn refusal(r: Refusal) -> Answer {
    match r {
        Refusal::NotConnected => problem(422, "errors/no_connection_with_recipient", "Recipient cannot be reached"),
        Refusal::NotReachable(m) => problem(422, "errors/invalid_recipient", &m),
        Refusal::NotFound(m) => problem(404, "errors/resource_not_found", &m),
        Refusal::AlreadyDone(m) => problem(422, "errors/already_invited_recently", &m),
    }
}

fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()))
            .flatten();
        match (bytes[i], hex) {
            (_, Some(b)) => {
                out.push(b);
                i += 3;
                continue;
            }
            (b'+', None) if plus_is_space => out.push(b' '),
            (b, None) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339()
}

fn chat_json(chat: &ChatRec, last: Option<Timestamp>) -> Value {
    json!({
        "object": "Chat", "id": chat.unipile_id, "account_id": UnipileMock::ACCOUNT_ID, "account_type": "LINKEDIN",
        "provider_id": chat.thread_id, "attendee_provider_id": chat.attendee, "name": null, "type": 0,
        "timestamp": last.map(rfc3339), "unread_count": 0, "archived": 0, "read_only": 0,
        "content_type": if chat.is_inmail { Value::from("inmail") } else { Value::Null },
    })
}

fn message_json(m: &MsgRec) -> Value {
    json!({
        "object": "Message", "id": m.id, "account_id": UnipileMock::ACCOUNT_ID, "chat_provider_id": m.thread_id,
        "provider_id": format!("2-{}", m.id), "sender_id": m.sender, "text": m.text, "timestamp": rfc3339(m.at),
        "is_sender": i64::from(m.is_sender), "attachments": [], "reactions": [], "seen": 0, "hidden": 0,
        "deleted": 0, "edited": 0, "is_event": 0, "delivered": 1,
    })
}

fn list(object: &str, items: Vec<Value>) -> Answer {
    Answer::Json(200, json!({ "object": object, "items": items, "cursor": null }))
}

impl UnipileMock {
    /// The access token the mock expects in `X-API-KEY`.
    pub const API_KEY: &'static str = "mockKey0.ZmF1bHR5LXVuaXBpbGUtbW9jaw==";
    /// The Unipile account id it serves.
    pub const ACCOUNT_ID: &'static str = "FaultyMockAccount00001";

    /// Serves `net` on a free local port.
    pub async fn start(net: FaultyNetwork) -> std::io::Result<Self> {
        Self::start_with_timeout_hold(net, Duration::from_secs(120)).await
    }

    /// Like [`Self::start`]; a timed-out or hung write keeps its connection silent for `hold`.
    pub async fn start_with_timeout_hold(net: FaultyNetwork, hold: Duration) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let net = net.clone();
                tokio::spawn(async move { serve(stream, net, hold).await });
            }
        });
        Ok(Self { addr, task })
    }

    /// The DSN to configure the Unipile account with.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for UnipileMock {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, net: FaultyNetwork, hold: Duration) {
    let Ok(Some(request)) = read_request(&mut stream).await else { return };
    let answer = if request.header("x-api-key") != Some(UnipileMock::API_KEY) {
        problem(401, "errors/missing_credentials", "Missing credentials")
    } else {
        route(&request, &net, hold).await
    };
    if let Answer::Json(status, body) = answer {
        let body = body.to_string();
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(body.as_bytes()).await;
        let _ = stream.shutdown().await;
    }
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() > MAX_REQUEST {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split_whitespace();
    let method = first.next().unwrap_or_default().to_owned();
    let target = first.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = buf[head_end + 4..].to_vec();
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if let Some(length) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while body.len() < length.min(MAX_REQUEST) {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(None);
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body.truncate(length);
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        body = loop {
            if let Some(decoded) = dechunk(&body) {
                break decoded;
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 || body.len() > MAX_REQUEST {
                return Ok(None);
            }
            body.extend_from_slice(&chunk[..n]);
        };
    }
    let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    let segments = path.split('/').filter(|s| !s.is_empty()).map(|s| percent_decode(s, false)).collect();
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect();
    Ok(Some(Request { method, segments, query, headers, body }))
}

/// A complete chunked body, decoded; `None` while more is needed.
fn dechunk(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let line_end = at + raw[at..].windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&raw[at..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        at = line_end + 2;
        if size == 0 {
            return Some(out);
        }
        if raw.len() < at + size + 2 {
            return None;
        }
        out.extend_from_slice(&raw[at..at + size]);
        at += size + 2;
    }
}

async fn route(req: &Request, net: &FaultyNetwork, hold: Duration) -> Answer {
    let segments: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let Some(["api", "v1", rest @ ..]) = Some(segments.as_slice()) else {
        return problem(404, "errors/resource_not_found", "Not found");
    };
    match (req.method.as_str(), rest) {
        ("GET", ["users", "me"]) => {
            let id = net.own_member_id();
            Answer::Json(
                200,
                json!({ "object": "AccountOwnerProfile", "provider_id": id, "public_identifier": "faulty-self",
                         "first_name": "Faulty", "last_name": "Self", "premium": true }),
            )
        }
        ("GET", ["users", "relations"]) => {
            let mut members = net.connections();
            members.reverse();
            list(
                "UserRelationsList",
                members
                    .iter()
                    .map(|m| {
                        json!({ "object": "UserRelation", "member_id": m.provider_id, "first_name": m.first_name,
                                "last_name": m.last_name, "public_identifier": m.public_identifier,
                                "created_at": m.connected_at.as_millis() })
                    })
                    .collect(),
            )
        }
        ("GET", ["users", "invite", "sent"]) => list(
            "InvitationList",
            net.pending_invitations()
                .iter()
                .map(|i| {
                    json!({ "object": "InvitationSent", "id": i.id, "invited_user": null,
                            "invited_user_id": i.recipient, "invited_user_public_id": null,
                            "invited_user_description": null, "date": "Sent today",
                            "parsed_datetime": rfc3339(i.at), "invitation_text": i.note })
                })
                .collect(),
        ),
        ("POST", ["users", "invite"]) => {
            let body = req.json();
            let recipient = body["provider_id"].as_str().unwrap_or_default().to_owned();
            let note = body["message"].as_str().map(str::to_owned);
            if let Err(r) = net.check_invitation(&recipient) {
                return refusal(r);
            }
            write(net, hold, note.as_deref(), 200, |at| {
                let d = net.deliver_invitation(None, &recipient, note.as_deref(), at);
                json!({ "object": "UserInvitationSent", "invitation_id": d.provider_id, "usage": 10 })
            })
            .await
        }
        ("GET", ["users", _, "posts"]) => list("PostList", Vec::new()),
        ("GET", ["users", identifier]) => match net.member(identifier) {
            None => problem(422, "errors/invalid_recipient", "Recipient cannot be reached"),
            Some((m, pending)) => Answer::Json(
                200,
                json!({
                    "object": "UserProfile", "provider": "LINKEDIN", "provider_id": m.provider_id,
                    "public_identifier": m.public_identifier, "first_name": m.first_name, "last_name": m.last_name,
                    "network_distance": if m.connected { "FIRST_DEGREE" } else { "SECOND_DEGREE" },
                    "is_relationship": m.connected,
                    "invitation": if pending { json!({ "type": "SENT", "status": "PENDING" }) } else { Value::Null },
                }),
            ),
        },
        ("POST", ["linkedin"]) => {
            let url = req.json()["request_url"].as_str().unwrap_or_default().to_owned();
            let member = url.rsplit(':').next().unwrap_or_default().to_owned();
            write(net, hold, None, 200, |at| {
                net.deliver_engagement(super::DeliveryKind::Follow, None, &member, at);
                json!({ "object": "LinkedinRawData", "data": {} })
            })
            .await
        }
        ("POST", ["posts", "reaction"]) => {
            let post = req.json()["post_id"].as_str().unwrap_or_default().to_owned();
            write(net, hold, None, 201, |at| {
                net.deliver_engagement(super::DeliveryKind::Reaction, None, &post, at);
                json!({ "object": "ReactionAdded" })
            })
            .await
        }
        ("GET", ["linkedin", "inmail_balance"]) => {
            Answer::Json(200, json!({ "object": "InMailBalance", "premium": 1000, "sales_navigator": null }))
        }
        ("GET", ["chats"]) => {
            list("ChatList", net.visible_chats().iter().map(|(c, last)| chat_json(c, Some(*last))).collect())
        }
        ("GET", ["chats", key])
            if key.starts_with("2-") && req.query("account_id") != Some(UnipileMock::ACCOUNT_ID) =>
        {
            problem(400, "errors/invalid_parameters", "account_id is required with a provider thread id")
        }
        ("GET", ["chats", key]) => match net.chat(key) {
            Some(chat) => Answer::Json(200, chat_json(&chat, None)),
            None => problem(404, "errors/resource_not_found", "Chat not found"),
        },
        ("GET", ["chats", key, "messages"]) => match net.visible_messages(key) {
            Some(messages) => list("MessageList", messages.iter().map(message_json).collect()),
            None => problem(404, "errors/resource_not_found", "Chat not found"),
        },
        ("POST", ["chats", key, "messages"]) => {
            let form = req.form();
            let text = form.iter().find(|(k, _)| k == "text").map(|(_, v)| v.clone()).unwrap_or_default();
            if let Err(r) = net.check_message(key) {
                return refusal(r);
            }
            let key = (*key).to_owned();
            write(net, hold, Some(&text), 201, |at| {
                let d = net.deliver_message(None, &key, &text, at);
                json!({ "object": "MessageSent", "message_id": d.provider_id })
            })
            .await
        }
        ("POST", ["chats"]) => {
            let form = req.form();
            let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            let recipient = field("attendees_ids").unwrap_or_default();
            let text = field("text").unwrap_or_default();
            let subject = field("subject");
            let inmail = field("linkedin[inmail]").as_deref() == Some("true") || subject.is_some();
            if let Err(r) = net.check_start_chat(&recipient, inmail) {
                return refusal(r);
            }
            write(net, hold, Some(&text), 201, |at| {
                let (d, chat) = net.deliver_start_chat(None, &recipient, subject.as_deref(), &text, at);
                json!({ "object": "ChatStarted", "chat_id": chat, "message_id": d.provider_id })
            })
            .await
        }
        _ => problem(404, "errors/resource_not_found", &format!("no mock route {} {}", req.method, rest.join("/"))),
    }
}

/// One write under the network's next fault; `deliver` performs it at the given time and builds the body.
async fn write(
    net: &FaultyNetwork,
    hold: Duration,
    text: Option<&str>,
    status: u16,
    deliver: impl FnOnce(Timestamp) -> Value,
) -> Answer {
    let fail = |failure: Failure| async move {
        match failure {
            Failure::Status(s) => problem(s, "errors/service_unavailable", "Service unavailable"),
            Failure::Reset => Answer::Reset,
            Failure::Timeout => {
                tokio::time::sleep(hold).await;
                problem(504, "errors/request_timeout", "Request timeout")
            }
        }
    };
    match net.next_fault(text) {
        Fault::None => Answer::Json(status, deliver(net.now())),
        Fault::FailBefore(f) => fail(f).await,
        Fault::DeliverThenFail(f) => {
            deliver(net.now());
            fail(f).await
        }
        Fault::Slow(ms) => {
            let body = deliver(net.now().plus_millis(ms));
            tokio::time::sleep(Duration::from_millis(ms.max(0) as u64)).await;
            Answer::Json(status, body)
        }
        Fault::Hang { deliver: delivered } => {
            if delivered {
                deliver(net.now());
            }
            net.stuck_enter();
            tokio::time::sleep(hold).await;
            net.stuck_leave();
            Answer::Reset
        }
        Fault::Hold => {
            net.stuck_enter();
            net.wait_release().await;
            net.stuck_leave();
            Answer::Json(status, deliver(net.now()))
        }
    }
}
