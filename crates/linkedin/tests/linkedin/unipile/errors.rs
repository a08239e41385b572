//! The error mapping of contract §2.3, row by row, plus unknown types by status,
//! rate limits with and without `Retry-After`, and transport failures.

use super::support::*;
use sonarly_linkedin::unipile::UnipileLinkedIn;
use sonarly_linkedin::{LimitKind, LinkedIn, LinkedInError};
use std::time::Duration;
use wiremock::ResponseTemplate;

/// What kind of error, ignoring the message.
fn kind(error: &LinkedInError) -> String {
    match error {
        LinkedInError::LimitReached(limit) => format!("LimitReached({limit:?})"),
        LinkedInError::RateLimited { retry_after } => format!("RateLimited({retry_after:?})"),
        other => format!("{other:?}").split('(').next().unwrap_or("").to_owned(),
    }
}

/// `GET /users/me` answering `template`: a route with no special meaning for 404s or limits.
async fn own_profile_error(template: ResponseTemplate) -> LinkedInError {
    let (server, li) = setup().await;
    route("GET", "/api/v1/users/me").respond_with(template).mount(&server).await;
    li.own_profile().await.unwrap_err()
}

#[tokio::test]
async fn every_row_of_the_mapping_table() {
    let table: &[(u16, &str, &str)] = &[
        (429, "errors/too_many_requests", "RateLimited(None)"),
        (422, "errors/cannot_resend_yet", "LimitReached(WeeklyInvitations)"),
        (422, "errors/insufficient_credits", "LimitReached(InMailCredits)"),
        (422, "errors/no_connection_with_recipient", "NotConnected"),
        (422, "errors/invalid_recipient", "NotReachable"),
        (422, "errors/user_unreachable", "NotReachable"),
        (422, "errors/blocked_recipient", "NotReachable"),
        (422, "errors/not_allowed_inmail", "NotReachable"),
        (422, "errors/cannot_invite_attendee", "NotReachable"),
        (422, "errors/already_invited_recently", "AlreadyDone"),
        (422, "errors/action_already_performed", "AlreadyDone"),
        (401, "errors/disconnected_account", "AccountDisconnected"),
        (403, "errors/account_restricted", "AccountDisconnected"),
        (401, "errors/expired_credentials", "ActionRequired"),
        (401, "errors/invalid_credentials", "ActionRequired"),
        (401, "errors/checkpoint_error", "ActionRequired"),
        (401, "errors/invalid_checkpoint_solution", "ActionRequired"),
        (403, "errors/action_required", "ActionRequired"),
        (401, "errors/disconnected_feature", "FeatureUnavailable"),
        (401, "errors/multiple_sessions", "FeatureUnavailable"),
        (403, "errors/feature_not_subscribed", "FeatureUnavailable"),
        (403, "errors/subscription_required", "FeatureUnavailable"),
        (403, "errors/insufficient_permissions", "FeatureUnavailable"),
        (422, "errors/invalid_account", "FeatureUnavailable"),
        (400, "errors/invalid_parameters", "InvalidInput"),
        (400, "errors/too_many_characters", "InvalidInput"),
        (400, "errors/unescaped_characters", "InvalidInput"),
        (415, "errors/unsupported_media_type", "InvalidInput"),
        (422, "errors/invalid_message", "InvalidInput"),
        (422, "errors/invalid_post", "InvalidInput"),
        (422, "errors/unprocessable_entity", "InvalidInput"),
        (500, "errors/unexpected_error", "Transient"),
        (500, "errors/provider_error", "Transient"),
        (502, "errors/proxy_error", "Transient"),
        (503, "errors/no_client_session", "Transient"),
        (422, "errors/realtime_client_not_initialized", "Transient"),
        (422, "errors/provider_unreachable", "Transient"),
        (503, "errors/service_unavailable", "Transient"),
        (504, "errors/request_timeout", "Transient"),
        (408, "errors/request_timeout", "Transient"),
        (401, "errors/missing_credentials", "Unauthorized"),
        // `GET /users/me` is about the account alone: its 404 is "Account not found".
        (404, "errors/resource_not_found", "AccountDisconnected"),
    ];
    for (status, error_type, expected) in table {
        let error = own_profile_error(problem(*status, error_type, "Title")).await;
        assert_eq!(kind(&error), *expected, "{status} {error_type} gave {error:?}");
        assert!(error.to_string().len() < 400);
    }
}

#[tokio::test]
async fn unknown_types_map_by_status() {
    let table: &[(u16, &str, &str)] = &[
        (400, "errors/something_new", "InvalidInput"),
        (401, "errors/wrong_account", "AccountDisconnected"),
        (403, "errors/session_mismatch", "FeatureUnavailable"),
        (404, "errors/invalid_resource_identifier", "NotFound"),
        (409, "errors/already_exists", "InvalidInput"),
        (422, "errors/cant_send_message", "InvalidInput"),
        (425, "errors/auth_in_progress", "Transient"),
        (429, "errors/api_too_many", "RateLimited(None)"),
        (500, "errors/authentication_intent_error", "Transient"),
        (501, "errors/feature_not_implemented", "FeatureUnavailable"),
        (503, "errors/brand_new_outage", "Transient"),
    ];
    for (status, error_type, expected) in table {
        let error = own_profile_error(problem(*status, error_type, "Title")).await;
        assert_eq!(kind(&error), *expected, "{status} {error_type} gave {error:?}");
    }
    // Bodies that are not problem details at all.
    let html = ResponseTemplate::new(502).set_body_raw("<html>Bad gateway</html>", "text/html");
    let error = own_profile_error(html).await;
    assert_eq!(kind(&error), "Transient");
    assert!(error.to_string().contains("Bad gateway"), "{error}");
    assert_eq!(kind(&own_profile_error(ResponseTemplate::new(403)).await), "FeatureUnavailable");
}

#[tokio::test]
async fn error_messages_carry_type_title_and_detail() {
    let template = ResponseTemplate::new(422).set_body_json(serde_json::json!({
        "status": 422,
        "type": "errors/already_invited_recently",
        "title": "Should delay new invitation to this recipient",
        "detail": "An invitation has already been sent recently to this recipient. Please try again later."
    }));
    let error = own_profile_error(template).await;
    let text = error.to_string();
    assert!(text.contains("already_invited_recently") && text.contains("Should delay"), "{text}");
    assert!(!text.contains(KEY));
}

#[tokio::test]
async fn limits_depend_on_the_route() {
    let (server, li) = setup().await;
    route("POST", "/api/v1/users/invite")
        .respond_with(problem(422, "errors/limit_exceeded", "Limit exceeded"))
        .mount(&server)
        .await;
    let error = li.send_invitation(&token(), OTHER_MEMBER, None).await.unwrap_err();
    assert_eq!(error, LinkedInError::LimitReached(LimitKind::WeeklyInvitations));

    route("POST", format!("/api/v1/chats/{CHAT}/messages").as_str())
        .respond_with(problem(422, "errors/limit_exceeded", "Limit exceeded"))
        .mount(&server)
        .await;
    let error = li.send_message(&token(), CHAT, "Hi").await.unwrap_err();
    assert_eq!(error, LinkedInError::LimitReached(LimitKind::DailyActions));

    route("POST", "/api/v1/posts/reaction")
        .respond_with(problem(422, "errors/cannot_resend_within_24hrs", "Cannot resend"))
        .mount(&server)
        .await;
    route("GET", format!("/api/v1/users/{OTHER_MEMBER}/posts").as_str())
        .respond_with(ok(serde_json::json!({ "object": "PostList", "items": [{
            "object": "Post", "id": "1", "social_id": "urn:li:activity:1", "parsed_datetime": "2026-04-30T10:00:00.000Z",
            "is_repost": false, "text": "x", "date": "1d" }], "cursor": null })))
        .mount(&server)
        .await;
    let error = li.react_to_recent_post(&token(), OTHER_MEMBER).await.unwrap_err();
    assert_eq!(error, LinkedInError::LimitReached(LimitKind::DailyActions));
}

#[tokio::test]
async fn not_found_means_unreachable_for_people_and_not_found_for_chats_and_posts() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/users/nobody-here")
        .respond_with(problem(404, "errors/resource_not_found", "User not found"))
        .mount(&server)
        .await;
    assert!(matches!(li.profile("nobody-here").await.unwrap_err(), LinkedInError::NotReachable(_)));

    route("GET", "/api/v1/users/locked-profile")
        .respond_with(problem(422, "errors/invalid_recipient", "Recipient cannot be reached"))
        .mount(&server)
        .await;
    assert!(matches!(li.profile("locked-profile").await.unwrap_err(), LinkedInError::NotReachable(_)));

    // A chat Unipile no longer has: the inbox skips it and goes on.
    route("GET", format!("/api/v1/chats/{THREAD}").as_str())
        .respond_with(problem(404, "errors/resource_not_found", "Chat not found"))
        .mount(&server)
        .await;
    assert!(matches!(li.chat_messages(THREAD, None).await.unwrap_err(), LinkedInError::NotFound(_)));
    route("GET", format!("/api/v1/chats/{CHAT}/messages").as_str())
        .respond_with(problem(404, "errors/resource_not_found", "Chat not found"))
        .mount(&server)
        .await;
    assert!(matches!(li.chat_messages(CHAT, None).await.unwrap_err(), LinkedInError::NotFound(_)));
    // The OAS's wording for a send names three resources, not the account alone; the
    // person cannot be reached through that conversation.
    route("POST", format!("/api/v1/chats/{CHAT}/messages").as_str())
        .respond_with(problem(404, "errors/resource_not_found", "Account, chat or thread not found"))
        .mount(&server)
        .await;
    assert!(matches!(li.send_message(&token(), CHAT, "Hi").await.unwrap_err(), LinkedInError::NotReachable(_)));

    route("GET", "/api/v1/posts/7332661864792854528")
        .respond_with(problem(404, "errors/resource_not_found", "Post not found"))
        .mount(&server)
        .await;
    let source = sonarly_linkedin::PeopleSource::PostCommenters("7332661864792854528".into());
    assert!(matches!(li.search_people(&source, None, 10).await.unwrap_err(), LinkedInError::NotFound(_)));
}

/// Unipile's 404 with a title and a detail (OAS `NotFoundResponse`).
fn not_found_with(title: &str, detail: &str) -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(serde_json::json!({
        "status": 404, "type": "errors/resource_not_found", "title": title, "detail": detail
    }))
}

#[tokio::test]
async fn a_deleted_unipile_account_stops_the_seat_instead_of_failing_each_prospect() {
    let (server, li) = setup().await;
    // Routes about the account alone answer "Account not found" (OAS) once it is deleted,
    // whatever the title says.
    route("GET", "/api/v1/users/relations")
        .respond_with(problem(404, "errors/resource_not_found", "Resource not found."))
        .mount(&server)
        .await;
    let error = li.relations(None).await.unwrap_err();
    assert!(
        matches!(&error, LinkedInError::AccountDisconnected(m) if m.contains("no longer has this account")),
        "{error:?}"
    );
    assert!(error.stops_account());

    for (route_path, label) in [
        ("/api/v1/users/invite/sent", "sent invitations"),
        ("/api/v1/chats", "chat list"),
        ("/api/v1/linkedin/inmail_balance", "InMail balance"),
    ] {
        route("GET", route_path).respond_with(not_found_with("Resource not found.", "")).mount(&server).await;
        let error = match label {
            "sent invitations" => li.sent_invitations(None).await.unwrap_err(),
            "chat list" => li.chats(None).await.unwrap_err(),
            _ => li.inmail_credits().await.unwrap_err(),
        };
        assert!(matches!(error, LinkedInError::AccountDisconnected(_)), "{label}: {error:?}");
    }

    // On a route about a person, only a body naming the account says the account is gone:
    // the invitation ends the seat's run, not the prospect.
    route("POST", "/api/v1/users/invite")
        .respond_with(not_found_with("Resource not found.", "Account not found"))
        .mount(&server)
        .await;
    let error = li.send_invitation(&token(), OTHER_MEMBER, None).await.unwrap_err();
    assert!(matches!(error, LinkedInError::AccountDisconnected(_)), "{error:?}");

    route("GET", "/api/v1/users/someone")
        .respond_with(not_found_with("Account not found", "The requested resource were not found."))
        .mount(&server)
        .await;
    let error = li.profile("someone").await.unwrap_err();
    assert!(matches!(error, LinkedInError::AccountDisconnected(_)), "{error:?}");

    // A person who is not found is still the prospect's problem.
    route("GET", "/api/v1/users/gone-person")
        .respond_with(not_found_with("Resource not found.", "User not found"))
        .mount(&server)
        .await;
    assert!(matches!(li.profile("gone-person").await.unwrap_err(), LinkedInError::NotReachable(_)));
}

#[tokio::test]
async fn route_scoped_401s_stop_only_that_feature_and_checkpoints_ask_the_owner() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/linkedin/search/parameters")
        .respond_with(problem(401, "errors/disconnected_feature", "Disconnected feature"))
        .mount(&server)
        .await;
    // The Sales Navigator session is gone: no saved searches, the seat itself goes on.
    assert!(li.saved_searches().await.unwrap().is_empty());

    route("POST", "/api/v1/chats")
        .respond_with(problem(401, "errors/multiple_sessions", "Multiple sessions"))
        .mount(&server)
        .await;
    let error = li.start_chat(&token(), OTHER_MEMBER, "Hi").await.unwrap_err();
    assert!(matches!(error, LinkedInError::FeatureUnavailable(_)) && !error.stops_account(), "{error:?}");

    route("POST", "/api/v1/users/invite")
        .respond_with(problem(403, "errors/action_required", "Action required"))
        .mount(&server)
        .await;
    let error = li.send_invitation(&token(), OTHER_MEMBER, None).await.unwrap_err();
    assert!(matches!(error, LinkedInError::ActionRequired(_)) && error.stops_account(), "{error:?}");

    route("GET", "/api/v1/users/me")
        .respond_with(problem(422, "errors/realtime_client_not_initialized", "Realtime client not initialized"))
        .mount(&server)
        .await;
    assert!(li.own_profile().await.unwrap_err().is_retryable());
}

#[tokio::test]
async fn rate_limits_read_retry_after_in_seconds_or_as_a_date() {
    let seconds = problem(429, "errors/too_many_requests", "Too many requests").insert_header("Retry-After", "120");
    assert_eq!(
        own_profile_error(seconds).await,
        LinkedInError::RateLimited { retry_after: Some(Duration::from_secs(120)) }
    );

    // The mock clock is 2026-05-01T12:00:00Z (a Friday); 90 s later:
    let date = problem(429, "errors/too_many_requests", "Too many requests")
        .insert_header("Retry-After", "Fri, 01 May 2026 12:01:30 GMT");
    assert_eq!(
        own_profile_error(date).await,
        LinkedInError::RateLimited { retry_after: Some(Duration::from_secs(90)) }
    );

    let none = problem(429, "errors/too_many_requests", "Too many requests");
    let error = own_profile_error(none).await;
    assert_eq!(error, LinkedInError::RateLimited { retry_after: None });
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    // Bind then drop a listener: the port is closed, nothing answers.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let li = connector_for(&format!("http://127.0.0.1:{port}"));
    let error = li.own_profile().await.unwrap_err();
    assert!(matches!(error, LinkedInError::Transient(_)), "{error:?}");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_timeout_is_transient() {
    let (server, _) = setup().await;
    route("GET", "/api/v1/users/me")
        .respond_with(ok(serde_json::json!({})).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let li = UnipileLinkedIn::with_timeouts(config(&server.uri()), Duration::from_secs(1), Duration::from_millis(200))
        .unwrap();
    let error = li.own_profile().await.unwrap_err();
    assert!(matches!(&error, LinkedInError::Transient(m) if m.contains("timed out")), "{error:?}");
}

#[tokio::test]
async fn an_unreadable_success_body_on_a_read_is_transient() {
    let error = own_profile_error(ResponseTemplate::new(200).set_body_raw("not json", "text/plain")).await;
    assert!(matches!(error, LinkedInError::Transient(_)), "{error:?}");
}

#[tokio::test]
async fn same_host_redirects_are_followed_and_others_never_get_the_key() {
    let (server, li) = setup().await;
    // Unipile's trailing-slash redirect on profiles (contract §4.3).
    route("GET", "/api/v1/users/julien-crepieux")
        .respond_with(
            ResponseTemplate::new(301)
                .insert_header("Location", format!("{}/api/v1/users/julien-crepieux/?account_id={ACC}", server.uri())),
        )
        .mount(&server)
        .await;
    route("GET", "/api/v1/users/julien-crepieux/")
        .respond_with(ok(user_profile(OTHER_MEMBER, "julien-crepieux")))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(li.profile("julien-crepieux").await.unwrap().provider_id, OTHER_MEMBER);

    let elsewhere = wiremock::MockServer::start().await;
    route("GET", "/api/v1/users/somebody")
        .respond_with(ResponseTemplate::new(302).insert_header("Location", format!("{}/steal", elsewhere.uri())))
        .mount(&server)
        .await;
    let error = li.profile("somebody").await.unwrap_err();
    assert!(matches!(error, LinkedInError::Transient(_)), "{error:?}");
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}
