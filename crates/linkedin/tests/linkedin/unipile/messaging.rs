//! Chats, messages, direct messages, InMail and credits.

use super::support::*;
use serde_json::json;
use sonarly_linkedin::{LimitKind, LinkedIn, LinkedInError};
use wiremock::matchers::{query_param, query_param_is_missing};

pub fn chat_json(
    id: &str,
    thread: &str,
    attendee: &str,
    timestamp: &str,
    content_type: Option<&str>,
) -> serde_json::Value {
    json!({
        "object": "Chat", "id": id, "account_id": ACC, "account_type": "LINKEDIN",
        "provider_id": thread, "attendee_provider_id": attendee, "name": null, "type": 0,
        "timestamp": timestamp, "unread_count": 2, "archived": 0, "read_only": 0, "muted_until": null,
        "content_type": content_type, "folder": ["INBOX", "INBOX_LINKEDIN_CLASSIC"], "pinned": 0, "unread": 1
    })
}

pub fn message_json(id: &str, is_sender: u8, text: &str, timestamp: &str) -> serde_json::Value {
    json!({
        "object": "Message", "id": id, "account_id": ACC, "chat_id": CHAT,
        "provider_id": format!("2-MTc3OTE5{id}XzEwMA=="), "chat_provider_id": THREAD,
        "sender_id": if is_sender == 1 { MEMBER } else { OTHER_MEMBER },
        "sender_attendee_id": "C8zaRZTlVcmfnke_Vai4Gg",
        "text": text, "timestamp": timestamp, "is_sender": is_sender, "attachments": [],
        "reactions": [], "seen": 0, "seen_by": {}, "delivered": 1, "hidden": 0, "deleted": 0, "edited": 0,
        "is_event": 0, "behavior": null, "original": "", "message_type": "MESSAGE"
    })
}

/// `GET /chats/{thread}?account_id` resolving the thread id to Unipile's chat id.
pub async fn mount_thread_lookup(server: &wiremock::MockServer) {
    route("GET", format!("/api/v1/chats/{THREAD}").as_str())
        .and(query_param("account_id", ACC))
        .respond_with(ok(chat_json(CHAT, THREAD, OTHER_MEMBER, "2026-05-01T11:00:00.000Z", None)))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn chats_list_with_thread_ids_and_cursor() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/chats")
        .and(query_param("account_id", ACC))
        .and(query_param("account_type", "LINKEDIN"))
        .and(query_param("limit", "100"))
        .and(query_param("cursor", "eyJsaW1pdCI6MTAwfQ=="))
        .respond_with(ok(json!({
            "object": "ChatList",
            "items": [
                chat_json(CHAT, THREAD, OTHER_MEMBER, "2026-05-01T11:00:00.000Z", None),
                chat_json("dMW1cjFwXq-dYoAEaMXo2d", "2-SU5NQUlMXzEwMA==", MEMBER, "2026-04-30T09:00:00.000Z", Some("inmail"))
            ],
            "cursor": "eyJsaW1pdCI6MTAwLCJjdXJzb3IiOnt9fQ=="
        })))
        .expect(1)
        .mount(&server)
        .await;
    let page = li.chats(Some("eyJsaW1pdCI6MTAwfQ==")).await.unwrap();
    assert_eq!(page.cursor.as_deref(), Some("eyJsaW1pdCI6MTAwLCJjdXJzb3IiOnt9fQ=="));
    let chat = &page.items[0];
    assert_eq!(chat.chat_id, THREAD);
    assert_eq!(chat.attendee_provider_id.as_deref(), Some(OTHER_MEMBER));
    assert_eq!(chat.unread_count, 2);
    assert_eq!(chat.last_activity_at, Some(ts("2026-05-01T11:00:00.000Z")));
    assert!(!chat.is_inmail);
    assert!(page.items[1].is_inmail);

    // The listing taught the connector the Unipile id: no lookup before reading messages.
    route("GET", format!("/api/v1/chats/{CHAT}/messages").as_str())
        .respond_with(ok(json!({ "object": "MessageList", "items": [], "cursor": null })))
        .expect(1)
        .mount(&server)
        .await;
    li.chat_messages(THREAD, None).await.unwrap();
    assert!(requests_to(&server, &format!("/api/v1/chats/{THREAD}")).await.is_empty());
}

#[tokio::test]
async fn chat_messages_map_flags_attachments_and_skip_events() {
    let (server, li) = setup().await;
    mount_thread_lookup(&server).await;
    let mut with_files = message_json("lD0rb4Q5W4KdoUICf_MgDQ", 0, "Here you go", "2026-05-01T10:00:00.000Z");
    with_files["attachments"] = json!([
        { "id": "5882031366722404334", "type": "img", "unavailable": false, "mimetype": "image/jpeg",
          "url": "att://iWfwCtGXSr288YQm5MbWVaeGtYNHQyaEZQcVpPbW5PdGNsQQ==", "size": { "width": 150, "height": 150 }, "sticker": false },
        { "id": "D4D22AQE5ozOIW8_vfQ", "type": "file", "unavailable": false, "file_name": "deck.pdf", "mimetype": "application/pdf" },
        { "id": "2-MTY5XzAxMw==", "type": "audio", "unavailable": false, "voice_note": true, "duration": 12 },
        { "id": "v1", "type": "video", "unavailable": false, "gif": false, "size": { "width": 1, "height": 1 } },
        { "id": "p1", "type": "linkedin_post", "unavailable": false }
    ]);
    with_files["reply_to"] = json!({ "id": "3aRdnf34UiympaebB4-NRA", "provider_id": "2-x", "timestamp": "2026-05-01T09:00:00.000Z",
                                     "sender_attendee_id": "a", "sender_id": MEMBER, "text": "Can you send it?" });
    let mut event = message_json("event1", 0, "", "2026-05-01T10:30:00.000Z");
    event["is_event"] = json!(1);
    let mut deleted = message_json("deleted1", 0, "oops", "2026-05-01T10:20:00.000Z");
    deleted["deleted"] = json!(1);
    route("GET", format!("/api/v1/chats/{CHAT}/messages").as_str())
        .and(query_param("limit", "100"))
        .and(query_param_is_missing("account_id"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ok(json!({
            "object": "MessageList",
            "items": [event, deleted, with_files, message_json("3aRdnf34UiympaebB4-NRA", 1, "Can you send it?", "2026-05-01T09:00:00.000Z")],
            "cursor": "bmV4dA=="
        })))
        .expect(1)
        .mount(&server)
        .await;

    let page = li.chat_messages(THREAD, None).await.unwrap();
    assert_eq!(page.cursor.as_deref(), Some("bmV4dA=="));
    assert_eq!(page.items.len(), 2, "event and deleted messages are left out");
    let inbound = &page.items[0];
    assert_eq!(inbound.message_id, "lD0rb4Q5W4KdoUICf_MgDQ");
    assert_eq!(inbound.chat_id, THREAD);
    assert_eq!(inbound.sender_provider_id, OTHER_MEMBER);
    assert!(!inbound.is_sender);
    assert_eq!(inbound.sent_at, ts("2026-05-01T10:00:00.000Z"));
    assert_eq!(inbound.parent_message_id.as_deref(), Some("3aRdnf34UiympaebB4-NRA"));
    let kinds: Vec<&str> = inbound.attachments.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["img", "file", "audio", "video", "linkedin_post"]);
    assert_eq!(inbound.attachments[0].mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(inbound.attachments[0].url.as_deref(), Some("att://iWfwCtGXSr288YQm5MbWVaeGtYNHQyaEZQcVpPbW5PdGNsQQ=="));
    assert_eq!(inbound.attachments[1].file_name.as_deref(), Some("deck.pdf"));
    assert!(page.items[1].is_sender);

    // Second call: the thread id is cached (the lookup mock expects exactly one call).
    route("GET", format!("/api/v1/chats/{CHAT}/messages").as_str())
        .and(query_param("cursor", "bmV4dA=="))
        .respond_with(ok(json!({ "object": "MessageList", "items": [], "cursor": null })))
        .expect(1)
        .mount(&server)
        .await;
    let next = li.chat_messages(THREAD, page.cursor.as_deref()).await.unwrap();
    assert_eq!(next.cursor, None);
}

#[tokio::test]
async fn send_message_posts_multipart_text_with_account_guard() {
    let (server, li) = setup().await;
    mount_thread_lookup(&server).await;
    route("POST", format!("/api/v1/chats/{CHAT}/messages").as_str())
        .respond_with(created(json!({ "object": "MessageSent", "message_id": "ykmhfXlRW0W_cqReJYrfBw" })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let sent = li.send_message(&token(), THREAD, "Hello Julien,\nthanks!").await.unwrap();
    assert_eq!(sent.chat_id, THREAD);
    assert_eq!(sent.message_id.as_deref(), Some("ykmhfXlRW0W_cqReJYrfBw"));
    assert_eq!(sent.sent_at, now());
    let request = &requests_to(&server, &format!("/api/v1/chats/{CHAT}/messages")).await[0];
    let fields = multipart_fields(request);
    assert_eq!(field(&fields, "text"), Some("Hello Julien,\nthanks!"));
    assert_eq!(field(&fields, "account_id"), Some(ACC));

    // LinkedIn may answer without a message id: still a success.
    route("POST", format!("/api/v1/chats/{CHAT}/messages").as_str())
        .respond_with(created(json!({ "object": "MessageSent", "message_id": null })))
        .mount(&server)
        .await;
    let again = li.send_message(&token(), THREAD, "Second").await.unwrap();
    assert_eq!(again.message_id, None);
}

#[tokio::test]
async fn send_message_to_a_missing_chat_is_not_reachable() {
    let (server, li) = setup().await;
    route("POST", "/api/v1/chats/unknownChatId000000000/messages")
        .respond_with(problem(404, "errors/resource_not_found", "Chat not found"))
        .mount(&server)
        .await;
    let error = li.send_message(&token(), "unknownChatId000000000", "Hi").await.unwrap_err();
    assert!(matches!(error, LinkedInError::NotReachable(_)), "{error:?}");
}

#[tokio::test]
async fn start_chat_posts_attendee_and_reads_back_the_thread_id() {
    let (server, li) = setup().await;
    route("POST", "/api/v1/chats")
        .respond_with(created(json!({ "object": "ChatStarted", "chat_id": "dMW1cjFwXq-dYoAEaMXo2d", "message_id": "Gav3xjVKVNe0IRZBEC9mSg" })))
        .expect(1)
        .mount(&server)
        .await;
    route("GET", "/api/v1/chats/dMW1cjFwXq-dYoAEaMXo2d")
        .respond_with(ok(chat_json("dMW1cjFwXq-dYoAEaMXo2d", THREAD, OTHER_MEMBER, "2026-05-01T12:00:00.000Z", None)))
        .expect(1)
        .mount(&server)
        .await;
    let sent = li.start_chat(&token(), OTHER_MEMBER, "Hi Julien").await.unwrap();
    assert_eq!(sent.chat_id, THREAD);
    assert_eq!(sent.message_id.as_deref(), Some("Gav3xjVKVNe0IRZBEC9mSg"));
    let fields = multipart_fields(&requests_to(&server, "/api/v1/chats").await[0]);
    assert_eq!(field(&fields, "account_id"), Some(ACC));
    assert_eq!(field(&fields, "attendees_ids"), Some(OTHER_MEMBER));
    assert_eq!(field(&fields, "text"), Some("Hi Julien"));
    assert_eq!(field(&fields, "linkedin[inmail]"), None);
    assert_eq!(field(&fields, "subject"), None);
}

#[tokio::test]
async fn start_chat_with_null_ids_finds_the_chat_among_recent_ones() {
    let (server, li) = setup().await;
    route("POST", "/api/v1/chats")
        .respond_with(created(json!({ "object": "ChatStarted", "chat_id": null, "message_id": null })))
        .mount(&server)
        .await;
    route("GET", "/api/v1/chats")
        .and(query_param("account_id", ACC))
        .respond_with(ok(json!({
            "object": "ChatList",
            "items": [
                chat_json("other00000000000000000", "2-T1RIRVI=", MEMBER, "2026-05-01T12:00:00.000Z", None),
                chat_json(CHAT, THREAD, OTHER_MEMBER, "2026-05-01T12:00:00.000Z", None)
            ],
            "cursor": null
        })))
        .mount(&server)
        .await;
    let sent = li.start_chat(&token(), OTHER_MEMBER, "Hi").await.unwrap();
    assert_eq!(sent.chat_id, THREAD);
    assert_eq!(sent.message_id, None);
}

#[tokio::test]
async fn start_chat_with_a_non_connection_is_not_connected() {
    let (server, li) = setup().await;
    route("POST", "/api/v1/chats")
        .respond_with(problem(422, "errors/no_connection_with_recipient", "Recipient cannot be reached"))
        .mount(&server)
        .await;
    let error = li.start_chat(&token(), OTHER_MEMBER, "Hi").await.unwrap_err();
    assert_eq!(error, LinkedInError::NotConnected);
}

fn balance(premium: Option<u32>, sales_navigator: Option<u32>) -> serde_json::Value {
    json!({ "object": "LinkedinInmailBalance", "premium": premium, "recruiter": null, "sales_navigator": sales_navigator })
}

#[tokio::test]
async fn inmail_sends_subject_and_the_classic_inmail_fields() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/linkedin/inmail_balance")
        .and(query_param("account_id", ACC))
        .respond_with(ok(balance(Some(5), Some(48))))
        .mount(&server)
        .await;
    route("POST", "/api/v1/chats")
        .respond_with(created(json!({ "object": "ChatStarted", "chat_id": THREAD, "message_id": "m1" })))
        .expect(1)
        .mount(&server)
        .await;
    let sent = li.send_inmail(&token(), OTHER_MEMBER, "Quick question", "Hello Julien").await.unwrap();
    assert_eq!(sent.chat_id, THREAD);
    let fields = multipart_fields(&requests_to(&server, "/api/v1/chats").await[0]);
    assert_eq!(field(&fields, "account_id"), Some(ACC));
    assert_eq!(field(&fields, "attendees_ids"), Some(OTHER_MEMBER));
    assert_eq!(field(&fields, "text"), Some("Hello Julien"));
    assert_eq!(field(&fields, "subject"), Some("Quick question"));
    assert_eq!(field(&fields, "linkedin[api]"), Some("classic"));
    assert_eq!(field(&fields, "linkedin[inmail]"), Some("true"));
}

#[tokio::test]
async fn inmail_with_only_sales_navigator_credits_uses_that_api() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/linkedin/inmail_balance").respond_with(ok(balance(None, Some(48)))).mount(&server).await;
    route("POST", "/api/v1/chats")
        .respond_with(created(json!({ "object": "ChatStarted", "chat_id": THREAD, "message_id": null })))
        .expect(1)
        .mount(&server)
        .await;
    li.send_inmail(&token(), SN_LEAD, "Subject", "Body").await.unwrap();
    let fields = multipart_fields(&requests_to(&server, "/api/v1/chats").await[0]);
    assert_eq!(field(&fields, "linkedin[api]"), Some("sales_navigator"));
    assert_eq!(field(&fields, "linkedin[inmail]"), None);
    assert_eq!(field(&fields, "attendees_ids"), Some(SN_LEAD));
}

#[tokio::test]
async fn a_sales_navigator_inmail_to_a_slug_or_lead_url_names_a_provider_id() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/linkedin/inmail_balance").respond_with(ok(balance(None, Some(48)))).mount(&server).await;
    route("GET", "/api/v1/users/julien-crepieux")
        .respond_with(ok(user_profile(OTHER_MEMBER, "julien-crepieux")))
        .expect(1)
        .mount(&server)
        .await;
    route("POST", "/api/v1/chats")
        .respond_with(created(json!({ "object": "ChatStarted", "chat_id": THREAD, "message_id": "m1" })))
        .expect(2)
        .mount(&server)
        .await;
    li.send_inmail(&token(), "https://www.linkedin.com/in/julien-crepieux/", "Subject", "Body").await.unwrap();
    let lead_url = format!("https://www.linkedin.com/sales/lead/{SN_LEAD},NAME_SEARCH,abcd");
    li.send_inmail(&token(), &lead_url, "Subject", "Body").await.unwrap();
    let sent = requests_to(&server, "/api/v1/chats").await;
    assert_eq!(field(&multipart_fields(&sent[0]), "attendees_ids"), Some(OTHER_MEMBER));
    assert_eq!(field(&multipart_fields(&sent[1]), "attendees_ids"), Some(SN_LEAD));
    assert_eq!(field(&multipart_fields(&sent[1]), "linkedin[api]"), Some("sales_navigator"));
}

#[tokio::test]
async fn inmail_without_credits_is_refused_before_sending() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/linkedin/inmail_balance").respond_with(ok(balance(Some(0), Some(0)))).mount(&server).await;
    route("POST", "/api/v1/chats").respond_with(created(json!({}))).expect(0).mount(&server).await;
    let error = li.send_inmail(&token(), OTHER_MEMBER, "Subject", "Body").await.unwrap_err();
    assert_eq!(error, LinkedInError::LimitReached(LimitKind::InMailCredits));
}

#[tokio::test]
async fn inmail_refused_for_credits_upstream_is_limit_reached() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/linkedin/inmail_balance").respond_with(ok(balance(Some(1), None))).mount(&server).await;
    route("POST", "/api/v1/chats")
        .respond_with(problem(422, "errors/insufficient_credits", "Insufficient credits"))
        .mount(&server)
        .await;
    let error = li.send_inmail(&token(), OTHER_MEMBER, "Subject", "Body").await.unwrap_err();
    assert_eq!(error, LinkedInError::LimitReached(LimitKind::InMailCredits));
}

#[tokio::test]
async fn inmail_credits_add_premium_and_sales_navigator() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/linkedin/inmail_balance")
        .and(query_param("account_id", ACC))
        .respond_with(ok(balance(Some(5), Some(48))))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    assert_eq!(li.inmail_credits().await.unwrap(), Some(53));
    route("GET", "/api/v1/linkedin/inmail_balance").respond_with(ok(balance(None, None))).mount(&server).await;
    assert_eq!(li.inmail_credits().await.unwrap(), None);
}

#[tokio::test]
async fn empty_texts_are_refused_locally() {
    let (server, li) = setup().await;
    assert!(matches!(li.send_message(&token(), THREAD, "  ").await, Err(LinkedInError::InvalidInput(_))));
    assert!(matches!(li.start_chat(&token(), OTHER_MEMBER, "").await, Err(LinkedInError::InvalidInput(_))));
    assert!(matches!(li.send_inmail(&token(), OTHER_MEMBER, "", "x").await, Err(LinkedInError::InvalidInput(_))));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn inmail_without_a_readable_balance_still_sends_as_classic() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/linkedin/inmail_balance")
        .respond_with(problem(403, "errors/insufficient_permissions", "Insufficient permissions"))
        .mount(&server)
        .await;
    route("POST", "/api/v1/chats")
        .respond_with(created(json!({ "object": "ChatStarted", "chat_id": THREAD, "message_id": "m2" })))
        .expect(1)
        .mount(&server)
        .await;
    li.send_inmail(&token(), OTHER_MEMBER, "Subject", "Body").await.unwrap();
    let fields = multipart_fields(&requests_to(&server, "/api/v1/chats").await[0]);
    assert_eq!(field(&fields, "linkedin[inmail]"), Some("true"));
}

#[tokio::test]
async fn a_started_chat_that_cannot_be_named_asks_for_reconciliation() {
    let (server, li) = setup().await;
    route("POST", "/api/v1/chats")
        .respond_with(created(json!({ "object": "ChatStarted", "chat_id": null, "message_id": null })))
        .expect(1)
        .mount(&server)
        .await;
    route("GET", "/api/v1/chats")
        .respond_with(ok(json!({ "object": "ChatList", "items": [], "cursor": null })))
        .mount(&server)
        .await;
    let error = li.start_chat(&token(), OTHER_MEMBER, "Hi").await.unwrap_err();
    assert!(matches!(&error, LinkedInError::Transient(m) if m.contains("reconcile")), "{error:?}");
}
