//! Recent activity: the member's posts and comments (contract §4.9 and Unipile's
//! "List all comments"), mapped to activity items newest first.

use super::support::*;
use serde_json::json;
use sonarly_domain::template::SignalSource;
use sonarly_linkedin::{LinkedIn, LinkedInError};
use wiremock::matchers::query_param;

fn posts() -> serde_json::Value {
    json!({
        "object": "PostList",
        "items": [
            {
                "object": "Post", "provider": "LINKEDIN", "id": "7332661864792854528",
                "social_id": "urn:li:activity:7332661864792854528",
                "share_url": "https://www.linkedin.com/posts/julien-crepieux_rust-activity-7332661864792854528-abcd",
                "title": "Scaling our API", "text": "We moved our data pipelines to Rust. Hiring senior engineers!",
                "date": "2d", "parsed_datetime": "2026-04-29T09:30:00.000Z",
                "reaction_counter": 87, "comment_counter": "12", "repost_counter": 3, "impressions_counter": 4000,
                "is_repost": false,
                "author": { "public_identifier": "julien-crepieux", "id": MEMBER, "name": "Julien Crépieux", "is_company": false },
                "permissions": { "can_react": true, "can_share": true, "can_post_comments": true },
                "attachments": []
            },
            {
                "object": "Post", "provider": "LINKEDIN", "id": "7332000000000000001",
                "social_id": "urn:li:activity:7332000000000000001",
                "share_url": "https://www.linkedin.com/posts/someone-else_x",
                "text": "Someone else's words, reposted.", "date": "1w",
                "parsed_datetime": "2026-04-24T09:30:00.000Z", "reaction_counter": 1, "comment_counter": 0,
                "is_repost": true, "author": { "id": OTHER_MEMBER, "name": "Other", "is_company": false },
                "attachments": []
            },
            {
                "object": "Post", "provider": "LINKEDIN", "id": "7331000000000000002",
                "text": "An older note without a parsed date.", "date": "3w",
                "reaction_counter": 5, "comment_counter": 1, "is_repost": 0, "attachments": []
            }
        ],
        "cursor": null,
        "paging": { "page_count": 3 }
    })
}

fn comments() -> serde_json::Value {
    json!({
        "object": "CommentList",
        "items": [
            {
                "object": "Comment", "id": "7333000000000000042", "post_id": "7330000000000000007",
                "post_urn": "urn:li:activity:7330000000000000007", "author": "Julien Crépieux",
                "author_details": { "id": MEMBER, "headline": "CEO", "profile_url": null, "network_distance": null },
                "date": "2026-04-30T18:00:00.000Z", "text": "Great point about developer productivity.",
                "reaction_counter": 4, "reply_counter": 2
            },
            { "object": "Comment", "id": "broken-without-text" }
        ],
        "cursor": null,
        "paging": { "page_count": 1 }
    })
}

#[tokio::test]
async fn posts_and_comments_become_activity_items_newest_first() {
    let (server, li) = setup().await;
    route("GET", &format!("/api/v1/users/{MEMBER}/posts"))
        .and(query_param("account_id", ACC))
        .and(query_param("limit", "25"))
        .respond_with(ok(posts()))
        .expect(1)
        .mount(&server)
        .await;
    route("GET", &format!("/api/v1/users/{MEMBER}/comments"))
        .and(query_param("account_id", ACC))
        .and(query_param("limit", "25"))
        .respond_with(ok(comments()))
        .expect(1)
        .mount(&server)
        .await;

    let items = li.recent_activity(MEMBER).await.unwrap();
    assert_eq!(items.len(), 3, "the repost and the comment without text are left out: {items:#?}");
    let comment = &items[0];
    assert_eq!(comment.source, SignalSource::LinkedinComments);
    assert_eq!(comment.id, "comment:7333000000000000042");
    assert_eq!(comment.occurred_at, ts("2026-04-30T18:00:00.000Z"));
    assert_eq!(comment.text, "Great point about developer productivity.");
    assert_eq!(
        comment.post_link.as_deref(),
        Some("https://www.linkedin.com/feed/update/urn:li:activity:7330000000000000007")
    );
    assert_eq!(
        comment.comment_link.as_deref(),
        Some(
            "https://www.linkedin.com/feed/update/urn:li:activity:7330000000000000007?commentUrn=urn%3Ali%3Acomment%3A%28activity%3A7330000000000000007%2C7333000000000000042%29"
        )
    );
    assert_eq!((comment.total_likes, comment.total_comments), (Some(4), Some(2)));

    let post = &items[1];
    assert_eq!(post.source, SignalSource::LinkedinPosts);
    assert_eq!(post.id, "urn:li:activity:7332661864792854528");
    assert_eq!(post.title.as_deref(), Some("Scaling our API"));
    assert_eq!(post.occurred_at, ts("2026-04-29T09:30:00.000Z"));
    assert_eq!((post.total_likes, post.total_comments), (Some(87), Some(12)));
    assert!(post.post_link.as_deref().unwrap().contains("activity-7332661864792854528"));

    let older = &items[2];
    assert_eq!(older.id, "urn:li:activity:7331000000000000002");
    assert_eq!(older.occurred_at, ts("2026-04-10T12:00:00.000Z"), "3 weeks before the mock clock");
    assert_eq!(
        older.post_link.as_deref(),
        Some("https://www.linkedin.com/feed/update/urn:li:activity:7331000000000000002")
    );
}

#[tokio::test]
async fn a_slug_is_resolved_to_the_member_id_first() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/users/julien-crepieux")
        .respond_with(ok(user_profile(MEMBER, "julien-crepieux")))
        .expect(1)
        .mount(&server)
        .await;
    route("GET", &format!("/api/v1/users/{MEMBER}/posts"))
        .respond_with(ok(json!({ "object": "PostList", "items": [], "cursor": null, "paging": { "page_count": 0 } })))
        .expect(1)
        .mount(&server)
        .await;
    route("GET", &format!("/api/v1/users/{MEMBER}/comments"))
        .respond_with(ok(
            json!({ "object": "CommentList", "items": [], "cursor": null, "paging": { "page_count": 0 } }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    assert!(li.recent_activity("julien-crepieux").await.unwrap().is_empty());
}

#[tokio::test]
async fn locked_profiles_and_upstream_failures_are_typed() {
    let (server, li) = setup().await;
    route("GET", &format!("/api/v1/users/{MEMBER}/posts"))
        .respond_with(problem(422, "errors/invalid_recipient", "Recipient cannot be reached"))
        .mount(&server)
        .await;
    let err = li.recent_activity(MEMBER).await.unwrap_err();
    assert!(matches!(err, LinkedInError::NotReachable(_)), "{err:?}");

    let (server, li) = setup().await;
    route("GET", &format!("/api/v1/users/{MEMBER}/posts"))
        .respond_with(ok(json!({ "object": "PostList", "items": [], "cursor": null })))
        .mount(&server)
        .await;
    route("GET", &format!("/api/v1/users/{MEMBER}/comments"))
        .respond_with(problem(503, "errors/network_down", "Network down"))
        .mount(&server)
        .await;
    let err = li.recent_activity(MEMBER).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");

    let (server, li) = setup().await;
    route("GET", &format!("/api/v1/users/{MEMBER}/posts"))
        .respond_with(problem(429, "errors/too_many_requests", "Too many requests"))
        .mount(&server)
        .await;
    assert!(matches!(li.recent_activity(MEMBER).await.unwrap_err(), LinkedInError::RateLimited { .. }));
}
