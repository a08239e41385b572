//! Provider text reaches the rest of the product without U+0000 or other C0
//! controls (tab, line feed and carriage return stay), whether it comes from
//! a REST answer, an error answer or a webhook.

use super::messaging::{message_json, mount_thread_lookup};
use super::support::*;
use serde_json::json;
use sonarly_linkedin::unipile::parse_webhook;
use sonarly_linkedin::{LinkedIn, ProviderEvent};

#[tokio::test]
async fn message_texts_from_unipile_lose_nul_and_keep_their_lines() {
    let (server, li) = setup().await;
    mount_thread_lookup(&server).await;
    let mut message = message_json("nul1", 0, "Hi\u{0} there\u{7}\r\nSecond\tline", "2026-05-01T10:00:00.000Z");
    message["sender_id"] = json!(format!("{OTHER_MEMBER}\u{0}"));
    route("GET", format!("/api/v1/chats/{CHAT}/messages").as_str())
        .respond_with(ok(json!({"object": "MessageList", "items": [message], "cursor": null})))
        .mount(&server)
        .await;
    let page = li.chat_messages(THREAD, None).await.unwrap();
    assert_eq!(page.items[0].text, "Hi there\r\nSecond\tline");
    assert_eq!(page.items[0].sender_provider_id, OTHER_MEMBER);
}

#[tokio::test]
async fn error_descriptions_from_unipile_lose_nul() {
    let (server, li) = setup().await;
    route("GET", format!("/api/v1/chats/{CHAT}/messages").as_str())
        .respond_with(problem(500, "errors/unexpected_error", "Boom\u{0} at \u{1b}[31mupstream"))
        .mount(&server)
        .await;
    mount_thread_lookup(&server).await;
    let error = li.chat_messages(THREAD, None).await.unwrap_err().to_string();
    assert!(error.contains("Boom at [31mupstream"), "{error}");
    assert!(!error.chars().any(|c| c <= '\u{1f}'), "{error:?}");
}

#[test]
fn webhook_texts_lose_nul() {
    let body = json!({
        "event": "message_received", "account_id": ACC, "account_type": "LINKEDIN",
        "message_id": "m\u{0}1", "provider_chat_id": THREAD, "timestamp": "2026-05-01T10:00:00.000Z",
        "message": "Hello\u{0} World", "sender": {"attendee_provider_id": OTHER_MEMBER, "attendee_name": "Ann\u{0}"},
        "is_event": 0
    });
    let events = parse_webhook(body.to_string().as_bytes()).unwrap();
    let [ProviderEvent::MessageReceived(message)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!((message.message_id.as_str(), message.text.as_str()), ("m1", "Hello World"));
}
