//! Webhook payloads (contract §5.3–§5.5) and the shared-secret check.

use serde_json::json;
use sonarly_domain::Timestamp;
use sonarly_linkedin::unipile::{parse_webhook, webhook_secret_matches};
use sonarly_linkedin::{LinkedInError, ProviderEvent};

const THREAD: &str = "2-OWYyMjMyNTItYzkzZC00ZjdjLWJjMjYtMTBlNTJmNDJlNTkyXzEwMA==";

/// The guide's sample merged with the keys of a live capture (contract §5.3).
fn message_received() -> serde_json::Value {
    json!({
        "account_id": "dfXlh46vQYCsMbVarumWlg",
        "account_type": "LINKEDIN",
        "account_info": { "type": "LINKEDIN", "feature": "classic", "user_id": "ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E" },
        "event": "message_received",
        "chat_id": "R8J-xM9WX7eoHLp6gSVtWQ",
        "timestamp": "2023-09-24T13:49:07.965Z",
        "webhook_name": "Webhook demo",
        "message_id": "ykmhfXlRW0W_cqReJYrfBw",
        "message": "Hello World !",
        "sender": {
            "attendee_id": "12Siz1Vcmfnke_Vai4Gg",
            "attendee_name": "Bastien Unipile",
            "attendee_provider_id": "ACoAAAh_Ffqss54sqAGQOD8u7sl5of04y9_3AwyM",
            "attendee_profile_url": "https://www.linkedin.com/in/ACoAAAh_Ffqss54sqAGQOD8u7sl5of04y9_3AwyM/"
        },
        "attendees": [{ "attendee_id": "C8zaRZTlVcmfnke_Vai4Gg", "attendee_name": "Kim Unipile",
                        "attendee_provider_id": "ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E" }],
        "attachments": { "id": "2-MTY5MzQ3ODM0XzAxMw==", "type": "img", "mimetype": "image/jpeg",
                         "size": { "height": "150", "width": "150" }, "sticker": "false", "unavailable": "false",
                         "url": "att://iWfwCtGXSr288YQm5MbWVaeGtYNHQyaEZQcVpPbW5PdGNsQQ==" },
        "subject": null,
        "provider_chat_id": THREAD,
        "provider_message_id": "2-MTc3OTE5XzEwMA==",
        "is_sender": false,
        "is_event": 0,
        "quoted": null,
        "chat_content_type": null,
        "message_type": "MESSAGE",
        "is_group": false,
        "folder": ["INBOX", "INBOX_LINKEDIN_CLASSIC"],
        "chat_pinned": 0,
        "is_forwarded": 0
    })
}

fn parse(value: serde_json::Value) -> Result<Vec<ProviderEvent>, LinkedInError> {
    parse_webhook(value.to_string().as_bytes())
}

#[test]
fn message_received_becomes_a_chat_message() {
    let events = parse(message_received()).unwrap();
    let [ProviderEvent::MessageReceived(message)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!(message.message_id, "ykmhfXlRW0W_cqReJYrfBw");
    assert_eq!(message.chat_id, THREAD, "thread id, like the REST listing");
    assert_eq!(message.sender_provider_id, "ACoAAAh_Ffqss54sqAGQOD8u7sl5of04y9_3AwyM");
    assert!(!message.is_sender);
    assert_eq!(message.text, "Hello World !");
    assert_eq!(message.sent_at, Timestamp::parse_rfc3339("2023-09-24T13:49:07.965Z").unwrap());
    assert_eq!(message.attachments.len(), 1);
    assert_eq!(message.attachments[0].kind, "img");
    assert_eq!(message.attachments[0].mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(message.parent_message_id, None);
}

#[test]
fn our_own_messages_come_back_with_is_sender() {
    let mut echo = message_received();
    echo["is_sender"] = json!(true);
    echo["attachments"] = json!([]);
    let events = parse(echo).unwrap();
    assert!(matches!(&events[..], [ProviderEvent::MessageReceived(m)] if m.is_sender && m.attachments.is_empty()));

    // Without the flag, the sender being the account's own member id says the same.
    let mut own = message_received();
    own.as_object_mut().unwrap().remove("is_sender");
    own["sender"]["attendee_provider_id"] = json!("ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E");
    let events = parse(own).unwrap();
    assert!(matches!(&events[..], [ProviderEvent::MessageReceived(m)] if m.is_sender));

    let mut as_int = message_received();
    as_int["is_sender"] = json!(1);
    assert!(matches!(&parse(as_int).unwrap()[..], [ProviderEvent::MessageReceived(m)] if m.is_sender));
}

#[test]
fn a_reply_names_its_parent_by_the_unipile_message_id_rest_uses() {
    // Live shape: `reply_to` as in the REST `Message` (OAS), next to `quoted`.
    let mut reply = message_received();
    reply["reply_to"] = json!({
        "id": "lD0rb4Q5W4KdoUICf_MgDQ", "provider_id": "2-MTc3OTE4XzEwMA==", "timestamp": "2023-09-24T13:40:00.000Z",
        "sender_attendee_id": "C8zaRZTlVcmfnke_Vai4Gg", "sender_id": "ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E",
        "text": "Are you free on Monday?"
    });
    reply["quoted"] = json!({ "provider_id": "2-MTc3OTE4XzEwMA==", "sender_id": "ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E",
                              "text": "Are you free on Monday?", "attachments": [] });
    let events = parse(reply).unwrap();
    let [ProviderEvent::MessageReceived(message)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!(message.parent_message_id.as_deref(), Some("lD0rb4Q5W4KdoUICf_MgDQ"));

    // OAS shape: only `quoted`, which has LinkedIn's id alone.
    let mut quoted = message_received();
    quoted["quoted"] = json!({ "provider_id": "2-MTc3OTE4XzEwMA==", "sender_id": "ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E",
                               "text": "Are you free on Monday?", "attachments": [] });
    let events = parse(quoted).unwrap();
    let [ProviderEvent::MessageReceived(message)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!(message.parent_message_id.as_deref(), Some("2-MTc3OTE4XzEwMA=="));
}

#[test]
fn new_relation_becomes_a_relation() {
    let body = json!({
        "event": "new_relation",
        "account_id": "SDF4tGaPSPSzNe1D1xsOs",
        "account_type": "LINKEDIN",
        "webhook_name": "",
        "user_full_name": "Julien Crépieux",
        "user_provider_id": "ACoAAAh_Ffqss54sqAGQOD8u7sl5of04y9_3AwyM",
        "user_public_identifier": "julien-crepieux",
        "user_profile_url": "https://www.linkedin.com/in/julien-crepieux/",
        "user_picture_url": "https://media.licdn.com/dms/image/v2/x"
    });
    let events = parse(body).unwrap();
    let [ProviderEvent::NewRelation(relation)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!(relation.provider_id, "ACoAAAh_Ffqss54sqAGQOD8u7sl5of04y9_3AwyM");
    assert_eq!(relation.public_identifier.as_deref(), Some("julien-crepieux"));
    assert_eq!(relation.name, "Julien Crépieux");
    assert_eq!(relation.connected_at, None);
}

#[test]
fn account_status_changes() {
    let disconnected = json!({ "AccountStatus": { "account_id": "h_EKCy2lRLef5NzHp0iw4A", "account_type": "LINKEDIN", "message": "CREDENTIALS" } });
    let events = parse(disconnected).unwrap();
    let [ProviderEvent::AccountStatus { status, message }] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!(status, "CREDENTIALS");
    assert!(message.as_deref().unwrap().contains("reconnect"));

    let healthy = json!({ "AccountStatus": { "account_id": "h_EKCy2lRLef5NzHp0iw4A", "account_type": "LINKEDIN",
                                             "message": "OK", "Product": "sales_navigator" } });
    let events = parse(healthy).unwrap();
    let [ProviderEvent::AccountStatus { status, message }] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!(status, "OK");
    assert!(message.as_deref().unwrap().contains("sales_navigator"));

    // The hosted-auth notify_url callback.
    let created = json!({ "status": "CREATION_SUCCESS", "account_id": "e54m8LR22bA7G5qsAc8w", "name": "myuser1234" });
    let events = parse(created).unwrap();
    assert!(matches!(&events[..], [ProviderEvent::AccountStatus { status, .. }] if status == "CREATION_SUCCESS"));
}

#[test]
fn other_events_and_other_providers_are_ignored() {
    let mut read = message_received();
    read["event"] = json!("message_read");
    assert!(parse(read).unwrap().is_empty());
    let mut reaction = message_received();
    reaction["event"] = json!("message_reaction");
    assert!(parse(reaction).unwrap().is_empty());
    assert!(parse(json!({ "event": "something_new", "account_type": "LINKEDIN" })).unwrap().is_empty());
    let mut whatsapp = message_received();
    whatsapp["account_type"] = json!("WHATSAPP");
    assert!(parse(whatsapp).unwrap().is_empty());
    let mut system_event = message_received();
    system_event["is_event"] = json!(1);
    assert!(parse(system_event).unwrap().is_empty());
}

#[test]
fn malformed_bodies_are_invalid_input() {
    assert!(matches!(parse_webhook(b"not json"), Err(LinkedInError::InvalidInput(_))));
    assert!(matches!(parse_webhook(b"42"), Err(LinkedInError::InvalidInput(_))));
    let mut no_id = message_received();
    no_id.as_object_mut().unwrap().remove("message_id");
    assert!(matches!(parse(no_id), Err(LinkedInError::InvalidInput(_))));
    let mut bad_time = message_received();
    bad_time["timestamp"] = json!("yesterday");
    assert!(matches!(parse(bad_time), Err(LinkedInError::InvalidInput(_))));
}

#[test]
fn a_batch_of_events_is_parsed_in_order() {
    let batch = json!([message_received(), { "event": "message_read", "account_type": "LINKEDIN" },
                       { "AccountStatus": { "account_id": "a", "account_type": "LINKEDIN", "message": "OK" } }]);
    let events = parse(batch).unwrap();
    assert_eq!(events.len(), 2);
    assert!(matches!(events[0], ProviderEvent::MessageReceived(_)));
    assert!(matches!(events[1], ProviderEvent::AccountStatus { .. }));
}

#[test]
fn the_webhook_secret_is_compared_exactly() {
    assert!(webhook_secret_matches("s3cr3t-value", Some("s3cr3t-value")));
    assert!(!webhook_secret_matches("s3cr3t-value", Some("s3cr3t-valuf")));
    assert!(!webhook_secret_matches("s3cr3t-value", Some("s3cr3t")));
    assert!(!webhook_secret_matches("s3cr3t-value", Some("")));
    assert!(!webhook_secret_matches("s3cr3t-value", None));
    assert!(!webhook_secret_matches("", Some("")), "an unset secret accepts nothing");
}

#[test]
fn events_keep_the_unipile_account_they_concern() {
    use sonarly_linkedin::unipile::parse_webhook_with_accounts;
    let batch = json!([message_received(),
                       { "AccountStatus": { "account_id": "h_EKCy2lRLef5NzHp0iw4A", "account_type": "LINKEDIN", "message": "OK" } }]);
    let events = parse_webhook_with_accounts(batch.to_string().as_bytes()).unwrap();
    let accounts: Vec<Option<&str>> = events.iter().map(|e| e.account_id.as_deref()).collect();
    assert_eq!(accounts, [Some("dfXlh46vQYCsMbVarumWlg"), Some("h_EKCy2lRLef5NzHp0iw4A")]);
}
