//! Reconciliation reads back invitations, chat messages and new chats, and
//! returns every trace an attempt may have left (the engine attributes one).

use super::messaging::{chat_json, message_json, mount_thread_lookup};
use super::support::*;
use serde_json::json;
use sonarly_linkedin::{LinkedIn, OutboundAttempt, SentMessage, Trace};
use wiremock::matchers::query_param;

fn invitation_list(recipient: &str) -> serde_json::Value {
    json!({
        "object": "InvitationList", "cursor": null,
        "items": [{ "object": "InvitationSent", "id": "7432050021786857473", "invited_user": "Julien",
                    "invited_user_id": recipient, "invited_user_public_id": "julien-crepieux",
                    "invited_user_description": null, "date": "Sent today",
                    "parsed_datetime": "2026-05-01T11:59:00.000Z", "invitation_text": null }]
    })
}

#[tokio::test]
async fn an_invitation_pending_in_the_sent_list_is_found_by_its_id() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/users/invite/sent")
        .and(query_param("account_id", ACC))
        .respond_with(ok(invitation_list(OTHER_MEMBER)))
        .expect(1)
        .mount(&server)
        .await;
    let attempt = OutboundAttempt::Invitation { recipient_provider_id: OTHER_MEMBER.into() };
    let found = li.reconcile(&token(), &attempt, now()).await.unwrap();
    assert_eq!(found, vec![Trace::Invitation(Some("7432050021786857473".into()))]);
    assert_eq!(found[0].provider_ref().as_deref(), Some("invitation:7432050021786857473"));
}

#[tokio::test]
async fn an_invitation_absent_everywhere_was_not_sent_and_one_shown_on_the_profile_was() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/users/invite/sent").respond_with(ok(invitation_list(MEMBER))).mount(&server).await;
    route("GET", format!("/api/v1/users/{OTHER_MEMBER}").as_str())
        .respond_with(ok(user_profile(OTHER_MEMBER, "julien-crepieux")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let attempt = OutboundAttempt::Invitation { recipient_provider_id: OTHER_MEMBER.into() };
    assert_eq!(li.reconcile(&token(), &attempt, now()).await.unwrap(), vec![]);

    // Accepted in the meantime: gone from the pending list, but the profile shows the connection.
    let mut connected = user_profile(OTHER_MEMBER, "julien-crepieux");
    connected["is_relationship"] = json!(true);
    connected["network_distance"] = json!("FIRST_DEGREE");
    route("GET", format!("/api/v1/users/{OTHER_MEMBER}").as_str()).respond_with(ok(connected)).mount(&server).await;
    assert_eq!(li.reconcile(&token(), &attempt, now()).await.unwrap(), vec![Trace::Invitation(None)]);
}

#[tokio::test]
async fn own_messages_with_the_text_since_the_attempt_are_the_traces() {
    let (server, li) = setup().await;
    mount_thread_lookup(&server).await;
    route("GET", format!("/api/v1/chats/{CHAT}/messages").as_str())
        .respond_with(ok(json!({
            "object": "MessageList",
            "items": [
                message_json("inbound00000000000000a", 0, "Hello   Julien, thanks!", "2026-05-01T12:00:30.000Z"),
                message_json("second0000000000000000", 1, "Hello Julien, thanks!", "2026-05-01T12:00:20.000Z"),
                message_json("ours000000000000000000", 1, "Hello Julien,\r\nthanks!", "2026-05-01T11:59:40.000Z"),
                message_json("minuteago000000000000", 1, "Hello Julien, thanks!", "2026-05-01T11:59:00.000Z"),
                message_json("older00000000000000000", 1, "Hello Julien, thanks!", "2026-04-20T08:00:00.000Z")
            ],
            "cursor": null
        })))
        .mount(&server)
        .await;
    let attempt = OutboundAttempt::Message { chat_id: THREAD.into(), text: "Hello Julien,\nthanks!".into() };
    // Within the clock skew allowed (30 s) before the attempt, oldest first; the
    // copy sent a minute before the attempt, the old one and the inbound one are not.
    let found = li.reconcile(&token(), &attempt, now()).await.unwrap();
    let message = |id: &str, at: &str| {
        Trace::Message(SentMessage { chat_id: THREAD.into(), message_id: Some(id.into()), sent_at: ts(at) })
    };
    assert_eq!(
        found,
        vec![
            message("ours000000000000000000", "2026-05-01T11:59:40.000Z"),
            message("second0000000000000000", "2026-05-01T12:00:20.000Z"),
        ]
    );

    // Later attempts see none of these.
    let later = now().plus_millis(60 * 60 * 1000);
    assert_eq!(li.reconcile(&token(), &attempt, later).await.unwrap(), vec![]);
    let other = OutboundAttempt::Message { chat_id: THREAD.into(), text: "Something else".into() };
    assert_eq!(li.reconcile(&token(), &other, now()).await.unwrap(), vec![]);
}

#[tokio::test]
async fn a_started_chat_is_found_in_the_chats_with_the_recipient() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/chats")
        .and(query_param("account_id", ACC))
        .respond_with(ok(json!({
            "object": "ChatList",
            "items": [
                chat_json("someoneElse00000000000", "2-U09NRU9ORQ==", MEMBER, "2026-05-01T12:01:00.000Z", None),
                chat_json(CHAT, THREAD, OTHER_MEMBER, "2026-05-01T12:00:10.000Z", None),
                chat_json("old0000000000000000000", "2-T0xE", OTHER_MEMBER, "2026-03-01T12:00:10.000Z", None)
            ],
            "cursor": "bmV4dA=="
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    route("GET", format!("/api/v1/chats/{CHAT}/messages").as_str())
        .respond_with(ok(json!({
            "object": "MessageList",
            "items": [message_json("ours000000000000000000", 1, "Nice to meet you", "2026-05-01T12:00:10.000Z")],
            "cursor": null
        })))
        .expect(2)
        .mount(&server)
        .await;
    let start =
        OutboundAttempt::StartChat { recipient_provider_id: OTHER_MEMBER.into(), text: "Nice to meet you".into() };
    let found = li.reconcile(&token(), &start, now()).await.unwrap();
    assert!(matches!(found.as_slice(), [Trace::Message(s)] if s.chat_id == THREAD), "{found:?}");

    // An InMail with another body: the scan stops at the first chat older than the attempt
    // (the chat list mock expects a single call in total, so no second page is read).
    route("GET", "/api/v1/chats")
        .respond_with(ok(json!({ "object": "ChatList", "items": [
        chat_json(CHAT, THREAD, OTHER_MEMBER, "2026-05-01T12:00:10.000Z", None),
        chat_json("old0000000000000000000", "2-T0xE", OTHER_MEMBER, "2026-03-01T12:00:10.000Z", None)
    ], "cursor": "bmV4dA==" })))
        .expect(1)
        .mount(&server)
        .await;
    let inmail = OutboundAttempt::InMail { recipient_provider_id: OTHER_MEMBER.into(), body: "Different".into() };
    assert_eq!(li.reconcile(&token(), &inmail, now()).await.unwrap(), vec![]);
}
