//! Own profile, profiles and visits, follow, reactions, invitations, relations, email.

use super::support::*;
use serde_json::json;
use sonarly_linkedin::unipile::UnipileConfig;
use sonarly_linkedin::{AccountType, LinkedIn, LinkedInError};
use wiremock::ResponseTemplate;
use wiremock::matchers::{body_partial_json, query_param, query_param_is_missing};

fn own_profile_body(
    sales_navigator: serde_json::Value,
    recruiter: serde_json::Value,
    premium: bool,
) -> serde_json::Value {
    json!({
        "object": "AccountOwnerProfile",
        "provider": "LINKEDIN",
        "provider_id": MEMBER,
        "entity_urn": format!("urn:li:fsd_profile:{MEMBER}"),
        "object_urn": "urn:li:member:76351639",
        "first_name": "Kim",
        "last_name": "Unipile",
        "profile_picture_url": null,
        "public_identifier": "kim-unipile",
        "headline": "Head of Sales at Unipile",
        "email": "kim@example.com",
        "premium": premium,
        "open_profile": false,
        "organizations": [],
        "recruiter": recruiter,
        "sales_navigator": sales_navigator
    })
}

#[tokio::test]
async fn own_profile_reads_users_me_with_account_id_in_query() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/users/me")
        .and(query_param("account_id", ACC))
        .respond_with(ok(own_profile_body(json!({"owner_seat_id": "123", "contract_id": "456"}), json!(null), true)))
        .expect(1)
        .mount(&server)
        .await;

    let me = li.own_profile().await.unwrap();
    assert_eq!(me.provider_id, MEMBER);
    assert_eq!(me.public_identifier.as_deref(), Some("kim-unipile"));
    assert_eq!((me.first_name.as_str(), me.last_name.as_str()), ("Kim", "Unipile"));
    assert_eq!(me.headline.as_deref(), Some("Head of Sales at Unipile"));
    assert_eq!(me.account_type, AccountType::SalesNavigator);
    assert!(me.is_premium);
    let seen = requests_to(&server, "/api/v1/users/me").await;
    assert_eq!(seen[0].headers.get("accept").unwrap(), "application/json");
}

#[tokio::test]
async fn own_profile_account_types_follow_active_seats() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/users/me")
        .respond_with(ok(own_profile_body(json!({"error": "DISCONNECTED"}), json!(null), false)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let classic = li.own_profile().await.unwrap();
    assert_eq!(classic.account_type, AccountType::Classic);
    assert!(!classic.is_premium);

    route("GET", "/api/v1/users/me")
        .respond_with(ok(own_profile_body(json!(null), json!({"owner_seat_id": "9", "contract_id": "8"}), false)))
        .mount(&server)
        .await;
    let recruiter = li.own_profile().await.unwrap();
    assert_eq!(recruiter.account_type, AccountType::Recruiter);
    assert!(recruiter.is_premium);
}

#[tokio::test]
async fn profile_asks_for_experience_without_notifying() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/users/julien-crepieux")
        .and(query_param("account_id", ACC))
        .and(query_param("linkedin_sections", "experience"))
        .and(query_param_is_missing("notify"))
        .respond_with(ok(user_profile(OTHER_MEMBER, "julien-crepieux")))
        .expect(1)
        .mount(&server)
        .await;

    let person = li.profile("julien-crepieux").await.unwrap();
    assert_eq!(person.provider_id, OTHER_MEMBER);
    assert_eq!(person.public_identifier, "julien-crepieux");
    assert_eq!(person.profile_url, "https://www.linkedin.com/in/julien-crepieux");
    assert_eq!(person.full_name(), "Julien Crépieux");
    assert_eq!(person.title.as_deref(), Some("CEO"));
    let company = person.company.unwrap();
    assert_eq!(company.name, "Unipile");
    assert_eq!(company.linkedin_identifier.as_deref(), Some("103848457"));
    assert_eq!(person.about.as_deref(), Some("Building APIs."));
    assert_eq!(person.location.as_deref(), Some("Paris, Île-de-France, France"));
    assert_eq!(person.connection_degree, Some(2));
}

#[tokio::test]
async fn profile_accepts_a_profile_url() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/users/julien-crepieux")
        .respond_with(ok(user_profile(OTHER_MEMBER, "julien-crepieux")))
        .expect(1)
        .mount(&server)
        .await;
    let person = li.profile("https://www.linkedin.com/in/julien-crepieux/?trk=x").await.unwrap();
    assert_eq!(person.provider_id, OTHER_MEMBER);
}

#[tokio::test]
async fn visit_forwards_notify_true() {
    let (server, li) = setup().await;
    route("GET", format!("/api/v1/users/{OTHER_MEMBER}").as_str())
        .and(query_param("account_id", ACC))
        .and(query_param("notify", "true"))
        .respond_with(ok(user_profile(OTHER_MEMBER, "julien-crepieux")))
        .expect(1)
        .mount(&server)
        .await;
    let person = li.visit_profile(&token(), OTHER_MEMBER).await.unwrap();
    assert_eq!(person.public_identifier, "julien-crepieux");
}

#[tokio::test]
async fn follow_goes_through_the_raw_route() {
    let (server, li) = setup().await;
    route("POST", "/api/v1/linkedin")
        .and(body_partial_json(json!({
            "account_id": ACC,
            "method": "POST",
            "request_url": format!("https://www.linkedin.com/voyager/api/feed/dash/followingStates/urn:li:fsd_followingState:urn:li:fsd_profile:{OTHER_MEMBER}"),
            "body": { "patch": { "$set": { "following": true } } },
            "encoding": false
        })))
        .respond_with(ok(json!({ "object": "LinkedinRawData", "data": {} })))
        .expect(1)
        .mount(&server)
        .await;
    li.follow(&token(), OTHER_MEMBER).await.unwrap();
}

#[tokio::test]
async fn follow_resolves_a_slug_first() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/users/julien-crepieux")
        .and(query_param_is_missing("notify"))
        .respond_with(ok(user_profile(OTHER_MEMBER, "julien-crepieux")))
        .expect(1)
        .mount(&server)
        .await;
    route("POST", "/api/v1/linkedin")
        .respond_with(ok(json!({ "object": "LinkedinRawData", "data": {} })))
        .expect(1)
        .mount(&server)
        .await;
    li.follow(&token(), "julien-crepieux").await.unwrap();
    let body = json_body(&requests_to(&server, "/api/v1/linkedin").await[0]);
    assert!(body["request_url"].as_str().unwrap().ends_with(OTHER_MEMBER));
}

fn post(id: &str, date: &str, repost: bool, reacted: Option<&str>) -> serde_json::Value {
    json!({
        "object": "Post", "provider": "LINKEDIN", "id": id,
        "social_id": format!("urn:li:activity:{id}"),
        "share_url": format!("https://www.linkedin.com/posts/x-activity-{id}-AbCd"),
        "text": "Hello", "date": "3d", "parsed_datetime": date,
        "reaction_counter": 1, "comment_counter": 0, "repost_counter": 0, "impressions_counter": 10,
        "user_reacted": reacted,
        "author": { "public_identifier": "julien-crepieux", "id": OTHER_MEMBER, "name": "Julien", "is_company": false },
        "permissions": { "can_react": true, "can_share": true, "can_post_comments": true },
        "is_repost": repost, "attachments": []
    })
}

#[tokio::test]
async fn react_likes_the_newest_own_post() {
    let (server, li) = setup().await;
    route("GET", format!("/api/v1/users/{OTHER_MEMBER}/posts").as_str())
        .and(query_param("account_id", ACC))
        .and(query_param("limit", "5"))
        .respond_with(ok(json!({
            "object": "PostList",
            "items": [
                post("7332661864792854999", "2026-04-30T10:00:00.000Z", true, None),
                post("7332661864792854528", "2026-04-29T10:00:00.000Z", false, None),
                post("7332661864792854000", "2026-04-01T10:00:00.000Z", false, None)
            ],
            "cursor": null, "paging": { "page_count": 3 }
        })))
        .mount(&server)
        .await;
    route("POST", "/api/v1/posts/reaction")
        .and(body_partial_json(json!({
            "account_id": ACC, "post_id": "urn:li:activity:7332661864792854528", "reaction_type": "like"
        })))
        .respond_with(created(json!({ "object": "ReactionAdded" })))
        .expect(1)
        .mount(&server)
        .await;
    let reacted = li.react_to_recent_post(&token(), OTHER_MEMBER).await.unwrap();
    assert_eq!(reacted.as_deref(), Some("urn:li:activity:7332661864792854528"));
}

#[tokio::test]
async fn react_without_posts_is_none_and_already_liked_is_not_liked_twice() {
    let (server, li) = setup().await;
    route("GET", format!("/api/v1/users/{OTHER_MEMBER}/posts").as_str())
        .respond_with(ok(json!({ "object": "PostList", "items": [], "cursor": null })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    route("POST", "/api/v1/posts/reaction").respond_with(created(json!({}))).expect(0).mount(&server).await;
    assert_eq!(li.react_to_recent_post(&token(), OTHER_MEMBER).await.unwrap(), None);

    route("GET", format!("/api/v1/users/{OTHER_MEMBER}/posts").as_str())
        .respond_with(ok(json!({
            "object": "PostList",
            "items": [post("7332661864792854528", "2026-04-29T10:00:00.000Z", false, Some("LIKE"))],
            "cursor": null
        })))
        .mount(&server)
        .await;
    let again = li.react_to_recent_post(&token(), OTHER_MEMBER).await.unwrap();
    assert_eq!(again.as_deref(), Some("urn:li:activity:7332661864792854528"));
}

#[tokio::test]
async fn invitation_posts_account_provider_id_and_note() {
    let (server, li) = setup().await;
    route("POST", "/api/v1/users/invite")
        .and(body_partial_json(json!({ "account_id": ACC, "provider_id": OTHER_MEMBER, "message": "Hi Julien" })))
        .respond_with(ok(
            json!({ "object": "UserInvitationSent", "invitation_id": "7221821214065876992", "usage": 75 }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let invitation = li.send_invitation(&token(), OTHER_MEMBER, Some("Hi Julien")).await.unwrap();
    assert_eq!(invitation.invitation_id, "7221821214065876992");
    assert_eq!(invitation.recipient_provider_id, OTHER_MEMBER);
    assert_eq!(invitation.note.as_deref(), Some("Hi Julien"));
    assert_eq!(invitation.sent_at, now());
}

#[tokio::test]
async fn invitation_without_note_omits_message_and_resolves_sales_navigator_ids() {
    let (server, li) = setup().await;
    route("GET", format!("/api/v1/users/{SN_LEAD}").as_str())
        .respond_with(ok(user_profile(OTHER_MEMBER, "julien-crepieux")))
        .expect(1)
        .mount(&server)
        .await;
    route("POST", "/api/v1/users/invite")
        .respond_with(ok(json!({ "object": "UserInvitationSent", "invitation_id": 7221821214065876993u64 })))
        .expect(1)
        .mount(&server)
        .await;
    let invitation = li.send_invitation(&token(), SN_LEAD, None).await.unwrap();
    assert_eq!(invitation.invitation_id, "7221821214065876993");
    assert_eq!(invitation.recipient_provider_id, OTHER_MEMBER);
    let body = json_body(&requests_to(&server, "/api/v1/users/invite").await[0]);
    assert_eq!(body, json!({ "account_id": ACC, "provider_id": OTHER_MEMBER }));
}

#[tokio::test]
async fn a_person_costs_one_profile_fetch_per_thirty_days_whatever_the_actions() {
    let server = wiremock::MockServer::start().await;
    let clock = std::sync::Arc::new(sonarly_domain::clock::ManualClock::new(now()));
    let li = connector_for(&server.uri()).with_clock(clock.clone());
    route("GET", format!("/api/v1/users/{SN_LEAD}").as_str())
        .respond_with(ok(user_profile(OTHER_MEMBER, "julien-crepieux")))
        .mount(&server)
        .await;
    route("POST", "/api/v1/users/invite")
        .respond_with(ok(json!({ "object": "UserInvitationSent", "invitation_id": "7221821214065876992" })))
        .mount(&server)
        .await;
    route("POST", "/api/v1/linkedin")
        .respond_with(ok(json!({ "object": "LinkedinRawData", "data": {} })))
        .mount(&server)
        .await;
    route("GET", format!("/api/v1/users/{OTHER_MEMBER}/posts").as_str())
        .respond_with(ok(json!({ "object": "PostList", "items": [], "cursor": null })))
        .mount(&server)
        .await;

    // A Sales Navigator lead: invited, followed, liked, invited again: one profile read.
    li.send_invitation(&token(), SN_LEAD, None).await.unwrap();
    li.follow(&token(), SN_LEAD).await.unwrap();
    assert_eq!(li.react_to_recent_post(&token(), SN_LEAD).await.unwrap(), None);
    clock.advance_millis(29 * 86_400_000);
    li.send_invitation(&token(), SN_LEAD, None).await.unwrap();
    assert_eq!(requests_to(&server, &format!("/api/v1/users/{SN_LEAD}")).await.len(), 1);
    for request in requests_to(&server, "/api/v1/users/invite").await {
        assert_eq!(json_body(&request)["provider_id"], OTHER_MEMBER);
    }

    // Thirty days after it was read, the resolution is read again (people can change ids).
    clock.advance_millis(86_400_000);
    li.follow(&token(), SN_LEAD).await.unwrap();
    assert_eq!(requests_to(&server, &format!("/api/v1/users/{SN_LEAD}")).await.len(), 2);

    // A profile read by slug resolves the slug too: the invitation after it fetches nothing.
    route("GET", "/api/v1/users/ada-lovelace")
        .respond_with(ok(user_profile(MEMBER, "ada-lovelace")))
        .expect(1)
        .mount(&server)
        .await;
    li.profile("https://www.linkedin.com/in/ada-lovelace/").await.unwrap();
    li.send_invitation(&token(), "ada-lovelace", None).await.unwrap();
    let last = requests_to(&server, "/api/v1/users/invite").await.pop().unwrap();
    assert_eq!(json_body(&last)["provider_id"], MEMBER);
}

#[tokio::test]
async fn a_free_seat_notes_stop_at_200_characters_and_premium_seats_at_300() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/users/me")
        .and(query_param("account_id", ACC))
        .respond_with(ok(own_profile_body(json!(null), json!(null), false)))
        .expect(1)
        .mount(&server)
        .await;
    route("POST", "/api/v1/users/invite")
        .respond_with(ok(json!({ "object": "UserInvitationSent", "invitation_id": "7221821214065876992" })))
        .mount(&server)
        .await;
    // Up to 200 characters nobody asks what the seat is.
    li.send_invitation(&token(), OTHER_MEMBER, Some(&"a".repeat(200))).await.unwrap();
    assert!(requests_to(&server, "/api/v1/users/me").await.is_empty());
    // Past 200 on a free seat: refused before LinkedIn sees it; the tier is read once.
    for _ in 0..2 {
        let error = li.send_invitation(&token(), OTHER_MEMBER, Some(&"é".repeat(201))).await.unwrap_err();
        assert!(matches!(&error, LinkedInError::InvalidInput(m) if m.contains("200")), "{error:?}");
    }
    assert_eq!(requests_to(&server, "/api/v1/users/invite").await.len(), 1);

    let (server, li) = setup().await;
    let sales_navigator = json!({ "owner_seat_id": "1234", "contract_id": "5678" });
    route("GET", "/api/v1/users/me")
        .respond_with(ok(own_profile_body(sales_navigator, json!(null), false)))
        .expect(1)
        .mount(&server)
        .await;
    route("POST", "/api/v1/users/invite")
        .and(body_partial_json(json!({ "message": "b".repeat(300) })))
        .respond_with(ok(json!({ "object": "UserInvitationSent", "invitation_id": "7221821214065876993" })))
        .expect(1)
        .mount(&server)
        .await;
    li.send_invitation(&token(), OTHER_MEMBER, Some(&"b".repeat(300))).await.unwrap();
}

#[tokio::test]
async fn invitation_note_over_300_characters_is_refused_before_any_call() {
    let (server, li) = setup().await;
    let note = "é".repeat(301);
    let error = li.send_invitation(&token(), OTHER_MEMBER, Some(&note)).await.unwrap_err();
    assert!(matches!(error, LinkedInError::InvalidInput(_)), "{error:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// `GET /users/invite/sent` (OAS `InvitationList`) with pending invitations to `recipients`.
fn pending_invitations(recipients: &[&str], cursor: Option<&str>) -> serde_json::Value {
    let items: Vec<_> = recipients
        .iter()
        .enumerate()
        .map(|(n, recipient)| {
            json!({ "object": "InvitationSent", "id": format!("74320500217868574{n:02}"), "invited_user": "Someone",
                    "invited_user_id": recipient, "invited_user_public_id": null, "invited_user_description": null,
                    "date": "Sent 3 days ago", "parsed_datetime": "2026-04-28T09:00:00.000Z", "invitation_text": null })
        })
        .collect();
    json!({ "object": "InvitationList", "cursor": cursor, "items": items })
}

fn invited_recently() -> ResponseTemplate {
    ResponseTemplate::new(422).set_body_json(json!({
        "status": 422,
        "type": "errors/already_invited_recently",
        "title": "Should delay new invitation to this recipient",
        "detail": "An invitation has already been sent recently to this recipient. Please try again later."
    }))
}

#[tokio::test]
async fn invited_recently_with_a_pending_invitation_to_them_is_already_done() {
    let (server, li) = setup().await;
    route("POST", "/api/v1/users/invite").respond_with(invited_recently()).expect(1).mount(&server).await;
    route("GET", "/api/v1/users/invite/sent")
        .and(query_param("account_id", ACC))
        .and(query_param_is_missing("cursor"))
        .respond_with(ok(pending_invitations(&[MEMBER, OTHER_MEMBER], None)))
        .expect(1)
        .mount(&server)
        .await;
    let error = li.send_invitation(&token(), OTHER_MEMBER, None).await.unwrap_err();
    assert!(matches!(&error, LinkedInError::AlreadyDone(m) if m.contains("pending")), "{error:?}");
}

#[tokio::test]
async fn invited_recently_after_a_withdrawn_invitation_is_not_reachable_for_now() {
    let (server, li) = setup().await;
    route("POST", "/api/v1/users/invite").respond_with(invited_recently()).expect(1).mount(&server).await;
    // Nothing pending to them, and the profile shows no pending invitation and no connection:
    // the earlier invitation was withdrawn, LinkedIn makes us wait.
    route("GET", "/api/v1/users/invite/sent")
        .respond_with(ok(pending_invitations(&[MEMBER], None)))
        .expect(1)
        .mount(&server)
        .await;
    let mut profile = user_profile(OTHER_MEMBER, "julien-crepieux");
    profile["invitation"] = json!({ "type": "SENT", "status": "WITHDRAWN" });
    route("GET", format!("/api/v1/users/{OTHER_MEMBER}").as_str())
        .and(query_param_is_missing("notify"))
        .respond_with(ok(profile))
        .expect(1)
        .mount(&server)
        .await;
    let error = li.send_invitation(&token(), OTHER_MEMBER, None).await.unwrap_err();
    assert_eq!(
        error,
        LinkedInError::NotReachable(
            "LinkedIn refuses a new invitation to this person for now (an earlier invitation was withdrawn)".into()
        )
    );
}

#[tokio::test]
async fn invited_recently_past_the_pages_read_or_once_connected_asks_the_profile() {
    let (server, li) = setup().await;
    route("POST", "/api/v1/users/invite").respond_with(invited_recently()).mount(&server).await;
    route("GET", "/api/v1/users/invite/sent")
        .and(query_param_is_missing("cursor"))
        .respond_with(ok(pending_invitations(&[SN_LEAD], Some("cGFnZTI="))))
        .expect(2)
        .mount(&server)
        .await;
    route("GET", "/api/v1/users/invite/sent")
        .and(query_param("cursor", "cGFnZTI="))
        .respond_with(ok(pending_invitations(&[SN_LEAD], Some("cGFnZTM="))))
        .expect(2)
        .mount(&server)
        .await;
    // Two pages read, more pending: the profile shows ours pending.
    let mut pending = user_profile(OTHER_MEMBER, "julien-crepieux");
    pending["invitation"] = json!({ "type": "SENT", "status": "PENDING" });
    route("GET", format!("/api/v1/users/{OTHER_MEMBER}").as_str())
        .and(query_param_is_missing("notify"))
        .respond_with(ok(pending))
        .expect(1)
        .mount(&server)
        .await;
    let error = li.send_invitation(&token(), OTHER_MEMBER, None).await.unwrap_err();
    assert!(matches!(error, LinkedInError::AlreadyDone(_)), "{error:?}");

    // They accepted in the meantime: nothing pending any more, but done all the same.
    let mut connected = user_profile(MEMBER, "ada-lovelace");
    connected["network_distance"] = json!("FIRST_DEGREE");
    connected["is_relationship"] = json!(true);
    route("GET", format!("/api/v1/users/{MEMBER}").as_str()).respond_with(ok(connected)).expect(1).mount(&server).await;
    let error = li.send_invitation(&token(), MEMBER, None).await.unwrap_err();
    assert!(matches!(error, LinkedInError::AlreadyDone(_)), "{error:?}");
}

#[tokio::test]
async fn sent_invitations_page_with_cursor() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/users/invite/sent")
        .and(query_param("account_id", ACC))
        .and(query_param("limit", "100"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ok(json!({
            "object": "InvitationList",
            "cursor": "eyJsaW1pdCI6MTAwLCJjdXJzb3IiOjEwMH0=",
            "items": [
                { "object": "InvitationSent", "id": "7432050021786857473", "invited_user": "Julien Crépieux",
                  "invited_user_id": OTHER_MEMBER, "invited_user_public_id": "julien-crepieux",
                  "invited_user_description": "Co-founder", "date": "Sent today",
                  "parsed_datetime": "2026-04-30T08:15:00.000Z", "invitation_text": "Hi Julien" },
                { "object": "InvitationSent", "id": "7432050021786857474", "invited_user": "Ada",
                  "invited_user_id": MEMBER, "invited_user_public_id": null, "invited_user_description": null,
                  "date": "Sent 2 days ago", "parsed_datetime": null, "invitation_text": null },
                { "object": "InvitationSent", "id": "7432050021786857475", "invited_user": null,
                  "invited_user_id": null, "invited_user_public_id": null, "invited_user_description": null,
                  "date": "Sent today", "parsed_datetime": null, "invitation_text": null }
            ]
        })))
        .mount(&server)
        .await;
    route("GET", "/api/v1/users/invite/sent")
        .and(query_param("cursor", "eyJsaW1pdCI6MTAwLCJjdXJzb3IiOjEwMH0="))
        .respond_with(ok(json!({ "object": "InvitationList", "cursor": null, "items": [] })))
        .mount(&server)
        .await;

    let first = li.sent_invitations(None).await.unwrap();
    assert_eq!(first.items.len(), 2, "the item without a recipient id is left out");
    assert_eq!(first.items[0].invitation_id, "7432050021786857473");
    assert_eq!(first.items[0].recipient_provider_id, OTHER_MEMBER);
    assert_eq!(first.items[0].note.as_deref(), Some("Hi Julien"));
    assert_eq!(first.items[0].sent_at, ts("2026-04-30T08:15:00.000Z"));
    assert_eq!(first.items[1].sent_at, now().plus_millis(-2 * 86_400_000), "from the human date");
    let second = li.sent_invitations(first.cursor.as_deref()).await.unwrap();
    assert!(second.items.is_empty());
    assert_eq!(second.cursor, None);
}

#[tokio::test]
async fn relations_map_epoch_millis_and_page() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/users/relations")
        .and(query_param("account_id", ACC))
        .and(query_param("cursor", "eyJsaW1pdCI6MTAwLCJzdGFydEluZGV4IjoxMDB9"))
        .respond_with(ok(json!({
            "object": "UserRelationsList",
            "cursor": null,
            "items": [{
                "object": "UserRelation", "member_id": OTHER_MEMBER,
                "member_urn": format!("urn:li:fsd_profile:{OTHER_MEMBER}"),
                "connection_urn": format!("urn:li:fsd_connection:{OTHER_MEMBER}"),
                "created_at": 1_777_000_000_000i64, "first_name": "Julien", "last_name": "Crépieux",
                "headline": "Co-founder", "public_identifier": "julien-crepieux",
                "public_profile_url": "https://www.linkedin.com/in/julien-crepieux"
            }]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let page = li.relations(Some("eyJsaW1pdCI6MTAwLCJzdGFydEluZGV4IjoxMDB9")).await.unwrap();
    assert_eq!(page.cursor, None);
    let relation = &page.items[0];
    assert_eq!(relation.provider_id, OTHER_MEMBER);
    assert_eq!(relation.public_identifier.as_deref(), Some("julien-crepieux"));
    assert_eq!(relation.name, "Julien Crépieux");
    assert_eq!(relation.connected_at.unwrap().as_millis(), 1_777_000_000_000);
}

#[tokio::test]
async fn find_email_reads_contact_info_without_visiting() {
    let (server, li) = setup().await;
    let mut with_email = user_profile(OTHER_MEMBER, "julien-crepieux");
    with_email["contact_info"] = json!({ "emails": ["julien@unipile.com"], "phones": [] });
    route("GET", format!("/api/v1/users/{OTHER_MEMBER}").as_str())
        .and(query_param("account_id", ACC))
        .and(query_param_is_missing("notify"))
        .respond_with(ok(with_email))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    assert_eq!(li.find_email(OTHER_MEMBER).await.unwrap().as_deref(), Some("julien@unipile.com"));

    route("GET", format!("/api/v1/users/{OTHER_MEMBER}").as_str())
        .respond_with(ok(user_profile(OTHER_MEMBER, "julien-crepieux")))
        .mount(&server)
        .await;
    assert_eq!(li.find_email(OTHER_MEMBER).await.unwrap(), None);
}

#[tokio::test]
async fn config_debug_never_prints_the_key_and_dsn_forms_are_accepted() {
    let printed = format!("{:?}", config("https://api8.unipile.com:13851"));
    assert!(!printed.contains(KEY) && printed.contains("<redacted>"), "{printed}");
    let connector = sonarly_linkedin::unipile::UnipileLinkedIn::new(config("api8.unipile.com:13851")).unwrap();
    assert!(!format!("{connector:?}").contains(KEY));
    assert_eq!(connector.account_id(), ACC);

    let empty_key = UnipileConfig { api_key: String::new(), ..config("https://api8.unipile.com:13851") };
    assert!(matches!(
        sonarly_linkedin::unipile::UnipileLinkedIn::new(empty_key).unwrap_err(),
        LinkedInError::Unauthorized(_)
    ));
    let no_host = config("https://");
    assert!(matches!(
        sonarly_linkedin::unipile::UnipileLinkedIn::new(no_host).unwrap_err(),
        LinkedInError::InvalidInput(_)
    ));
}

#[tokio::test]
async fn a_dsn_with_api_v1_suffix_is_not_doubled() {
    let (server, _) = setup().await;
    route("GET", "/api/v1/users/me")
        .respond_with(ok(own_profile_body(json!(null), json!(null), false)))
        .expect(1)
        .mount(&server)
        .await;
    let li = connector_for(&format!("{}/api/v1/", server.uri()));
    li.own_profile().await.unwrap();
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized() {
    let (server, _) = setup().await;
    route("GET", "/api/v1/users/me").respond_with(ResponseTemplate::new(500)).expect(0).mount(&server).await;
    let wrong = UnipileConfig { api_key: "wrong.key".into(), ..config(&server.uri()) };
    let li = sonarly_linkedin::unipile::UnipileLinkedIn::new(wrong).unwrap();
    let error = li.own_profile().await.unwrap_err();
    assert!(matches!(error, LinkedInError::Unauthorized(_)), "{error:?}");
    assert!(error.stops_account());
}

const INVITATION_ID: &str = "7432050021786857473";

#[tokio::test]
async fn withdrawing_an_invitation_deletes_it_with_the_account_in_the_query() {
    let (server, li) = setup().await;
    // OAS / SDK `users.cancelInvitationSent`: 200 `{"object": "InvitationCanceled"}`.
    route("DELETE", format!("/api/v1/users/invite/sent/{INVITATION_ID}").as_str())
        .and(query_param("account_id", ACC))
        .respond_with(ok(json!({ "object": "InvitationCanceled" })))
        .expect(1)
        .mount(&server)
        .await;
    li.withdraw_invitation(INVITATION_ID).await.unwrap();
}

#[tokio::test]
async fn withdrawing_an_invitation_already_gone_is_success() {
    let (server, li) = setup().await;
    route("DELETE", format!("/api/v1/users/invite/sent/{INVITATION_ID}").as_str())
        .respond_with(problem(404, "errors/resource_not_found", "Invitation not found"))
        .expect(1)
        .mount(&server)
        .await;
    li.withdraw_invitation(INVITATION_ID).await.unwrap();
    // An empty answer is an acknowledgement too.
    let (server, li) = setup().await;
    route("DELETE", format!("/api/v1/users/invite/sent/{INVITATION_ID}").as_str())
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    li.withdraw_invitation(INVITATION_ID).await.unwrap();
}

#[tokio::test]
async fn a_withdrawal_refused_for_volume_is_a_limit_or_a_rate_limit() {
    let (server, li) = setup().await;
    route("DELETE", format!("/api/v1/users/invite/sent/{INVITATION_ID}").as_str())
        .respond_with(problem(422, "errors/limit_exceeded", "Limit exceeded"))
        .mount(&server)
        .await;
    let error = li.withdraw_invitation(INVITATION_ID).await.unwrap_err();
    assert_eq!(error, LinkedInError::LimitReached(sonarly_linkedin::LimitKind::DailyActions));

    let (server, li) = setup().await;
    route("DELETE", format!("/api/v1/users/invite/sent/{INVITATION_ID}").as_str())
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "120"))
        .mount(&server)
        .await;
    let error = li.withdraw_invitation(INVITATION_ID).await.unwrap_err();
    assert_eq!(error, LinkedInError::RateLimited { retry_after: Some(std::time::Duration::from_secs(120)) });
}

#[tokio::test]
async fn withdrawing_on_a_deleted_unipile_account_disconnects_the_seat() {
    let (server, li) = setup().await;
    route("DELETE", format!("/api/v1/users/invite/sent/{INVITATION_ID}").as_str())
        .respond_with(problem(404, "errors/resource_not_found", "Account not found"))
        .mount(&server)
        .await;
    let error = li.withdraw_invitation(INVITATION_ID).await.unwrap_err();
    assert!(matches!(error, LinkedInError::AccountDisconnected(_)), "{error:?}");
}

#[tokio::test]
async fn an_empty_invitation_id_is_refused_before_any_call() {
    let (server, li) = setup().await;
    let error = li.withdraw_invitation("  ").await.unwrap_err();
    assert!(matches!(error, LinkedInError::InvalidInput(_)), "{error:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
}
