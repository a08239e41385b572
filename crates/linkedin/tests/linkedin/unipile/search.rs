//! People search from URLs, saved searches, lead lists and post commenters.

use super::support::*;
use serde_json::json;
use sonarly_linkedin::{LinkedIn, LinkedInError, PeopleSource};
use wiremock::matchers::{body_json, query_param, query_param_is_missing};

const CLASSIC_URL: &str = "https://www.linkedin.com/search/results/people/?keywords=cto&origin=GLOBAL_SEARCH_HEADER";
const SN_URL: &str = "https://www.linkedin.com/sales/search/people?query=(keywords%3Acto)";
const CURSOR: &str = "eyJhY2NvdW50X2lkIjoiOFJma0txU0tSTy1JbXpKT2k4T1I1USIsImxpbWl0Ijo1LCJzdGFydCI6NX0=";

fn classic_result() -> serde_json::Value {
    json!({
        "object": "SearchResult", "type": "PEOPLE",
        "id": "ACoAAAdHsOUBpLYOPTKmvsvHbWNAlRx8YsJ7Qzg",
        "name": "Ada Lovelace King",
        "member_urn": "urn:li:member:122138853",
        "public_identifier": null, "public_profile_url": null,
        "profile_url": "https://www.linkedin.com/in/ada-lovelace?miniProfileUrn=urn%3Ali%3Afs_miniProfile%3AACoAAAdHsOUB",
        "profile_picture_url": null, "profile_picture_url_large": null,
        "headline": "CTO at Analytical Engines | Speaker",
        "location": "London, England, United Kingdom",
        "industry": null,
        "network_distance": "DISTANCE_2"
    })
}

fn sales_navigator_result() -> serde_json::Value {
    json!({
        "object": "SearchResult", "type": "PEOPLE",
        "id": SN_LEAD,
        "name": "Grace Hopper", "first_name": "Grace", "last_name": "Hopper",
        "public_identifier": "grace-hopper",
        "public_profile_url": "https://www.linkedin.com/in/grace-hopper",
        "profile_url": format!("https://www.linkedin.com/sales/lead/{SN_LEAD},NAME_SEARCH,abcd"),
        "profile_picture_url": "https://media.licdn.com/dms/image/grace",
        "profile_picture_url_large": null,
        "member_urn": null,
        "headline": "Rear Admiral",
        "location": "Arlington, Virginia",
        "industry": "Armed Forces",
        "network_distance": "OUT_OF_NETWORK",
        "premium": true,
        "current_positions": [{
            "company": "US Navy", "company_id": "1441", "description": null, "role": "Rear Admiral",
            "location": null, "industry": ["Armed Forces"], "skills": null
        }]
    })
}

fn company_result() -> serde_json::Value {
    json!({ "object": "SearchResult", "type": "COMPANY", "id": "1441", "name": "Acme", "location": null,
            "profile_url": "https://www.linkedin.com/company/1441", "industry": "Software", "summary": null })
}

fn search_page(items: Vec<serde_json::Value>, cursor: Option<&str>, total: u32) -> serde_json::Value {
    json!({
        "object": "LinkedinSearch",
        "items": items,
        "config": { "params": { "api": "classic", "category": "people" } },
        "paging": { "start": 0, "page_count": 2, "total_count": total },
        "cursor": cursor
    })
}

#[tokio::test]
async fn url_search_pages_with_the_cursor_only_body_and_caps_classic_at_50() {
    let (server, li) = setup().await;
    route("POST", "/api/v1/linkedin/search")
        .and(query_param("account_id", ACC))
        .and(query_param("limit", "50"))
        .and(query_param_is_missing("cursor"))
        .and(body_json(json!({ "url": CLASSIC_URL })))
        .respond_with(ok(search_page(vec![classic_result(), company_result()], Some(CURSOR), 123)))
        .expect(1)
        .mount(&server)
        .await;
    // Page 2: the OAS's cursor-only body, no url (it would "override the entire body").
    route("POST", "/api/v1/linkedin/search")
        .and(query_param("account_id", ACC))
        .and(query_param("limit", "50"))
        .and(query_param_is_missing("cursor"))
        .and(body_json(json!({ "cursor": CURSOR })))
        .respond_with(ok(search_page(vec![], None, 123)))
        .expect(1)
        .mount(&server)
        .await;

    let source = PeopleSource::SearchUrl(CLASSIC_URL.into());
    let first = li.search_people(&source, None, 80).await.unwrap();
    assert_eq!(first.total, Some(123));
    assert_eq!(first.cursor.as_deref(), Some(CURSOR));
    assert_eq!(first.items.len(), 1, "companies are not people");
    let ada = &first.items[0];
    assert_eq!(ada.provider_id, "ACoAAAdHsOUBpLYOPTKmvsvHbWNAlRx8YsJ7Qzg");
    assert_eq!(ada.public_identifier, "ada-lovelace", "slug parsed from profile_url");
    assert_eq!(ada.profile_url, "https://www.linkedin.com/in/ada-lovelace");
    assert_eq!((ada.first_name.as_str(), ada.last_name.as_str()), ("Ada", "Lovelace King"));
    assert_eq!(ada.title.as_deref(), Some("CTO"));
    assert_eq!(ada.company.as_ref().unwrap().name, "Analytical Engines");
    assert_eq!(ada.connection_degree, Some(2));

    let second = li.search_people(&source, first.cursor.as_deref(), 80).await.unwrap();
    assert!(second.items.is_empty());
    assert_eq!(second.cursor, None);
}

#[tokio::test]
async fn sales_navigator_url_allows_100_and_maps_positions() {
    let (server, li) = setup().await;
    route("POST", "/api/v1/linkedin/search")
        .and(query_param("limit", "100"))
        .and(body_json(json!({ "url": SN_URL })))
        .respond_with(ok(search_page(vec![sales_navigator_result()], None, 1)))
        .expect(1)
        .mount(&server)
        .await;
    let page = li.search_people(&PeopleSource::SearchUrl(SN_URL.into()), None, 500).await.unwrap();
    let grace = &page.items[0];
    assert_eq!(grace.provider_id, SN_LEAD);
    assert_eq!(grace.public_identifier, "grace-hopper");
    assert_eq!(grace.title.as_deref(), Some("Rear Admiral"));
    let company = grace.company.as_ref().unwrap();
    assert_eq!(company.name, "US Navy");
    assert_eq!(company.linkedin_identifier.as_deref(), Some("1441"));
    assert_eq!(company.industry.as_deref(), Some("Armed Forces"));
    assert_eq!(grace.photo_url.as_deref(), Some("https://media.licdn.com/dms/image/grace"));
    assert_eq!(grace.connection_degree, Some(3));
}

#[tokio::test]
async fn saved_searches_and_lead_lists_use_the_documented_sales_navigator_body() {
    let (server, li) = setup().await;
    route("POST", "/api/v1/linkedin/search")
        .and(query_param("account_id", ACC))
        .and(query_param("limit", "25"))
        .and(body_json(json!({ "api": "sales_navigator", "category": "people", "saved_search_id": "1830437123" })))
        .respond_with(ok(search_page(vec![sales_navigator_result()], None, 1)))
        .expect(2)
        .mount(&server)
        .await;
    route("POST", "/api/v1/linkedin/search")
        .and(query_param("account_id", ACC))
        .and(query_param("limit", "100"))
        .and(body_json(json!({
            "api": "sales_navigator", "category": "people", "lead_lists": { "include": ["7012345678901234567"] }
        })))
        .respond_with(ok(search_page(vec![sales_navigator_result()], Some(CURSOR), 150)))
        .expect(2)
        .mount(&server)
        .await;
    route("POST", "/api/v1/linkedin/search")
        .and(query_param_is_missing("cursor"))
        .and(body_json(json!({ "cursor": CURSOR })))
        .respond_with(ok(search_page(vec![], None, 150)))
        .expect(1)
        .mount(&server)
        .await;

    let saved = li.search_people(&PeopleSource::SavedSearch("1830437123".into()), None, 25).await.unwrap();
    assert_eq!(saved.items.len(), 1);
    let from_url = "https://www.linkedin.com/sales/search/people?savedSearchId=1830437123&sessionId=abc";
    li.search_people(&PeopleSource::SavedSearch(from_url.into()), None, 25).await.unwrap();

    let list = li.search_people(&PeopleSource::LeadList("7012345678901234567".into()), None, 100).await.unwrap();
    assert_eq!((list.items.len(), list.total, list.cursor.as_deref()), (1, Some(150), Some(CURSOR)));
    let list_url = "https://www.linkedin.com/sales/lists/people/7012345678901234567?sortCriteria=CREATED_TIME";
    li.search_people(&PeopleSource::LeadList(list_url.into()), None, 100).await.unwrap();
    let next = li.search_people(&PeopleSource::LeadList(list_url.into()), list.cursor.as_deref(), 100).await.unwrap();
    assert_eq!((next.items.len(), next.cursor), (0, None));
}

#[tokio::test]
async fn a_lead_list_that_is_no_id_is_refused_locally() {
    let (server, li) = setup().await;
    for reference in ["Q3 targets", "https://www.linkedin.com/sales/lists/company/123"] {
        let error = li.search_people(&PeopleSource::LeadList(reference.into()), None, 10).await.unwrap_err();
        assert!(matches!(error, LinkedInError::InvalidInput(_)), "{reference}: {error:?}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_sales_navigator_url_on_a_classic_account_is_feature_unavailable() {
    let (server, li) = setup().await;
    route("POST", "/api/v1/linkedin/search")
        .respond_with(problem(403, "errors/feature_not_subscribed", "Feature not subscribed"))
        .mount(&server)
        .await;
    let error = li.search_people(&PeopleSource::SearchUrl(SN_URL.into()), None, 10).await.unwrap_err();
    assert!(matches!(error, LinkedInError::FeatureUnavailable(_)), "{error:?}");
}

#[tokio::test]
async fn a_non_linkedin_url_is_refused_locally() {
    let (server, li) = setup().await;
    let error = li.search_people(&PeopleSource::SearchUrl("https://example.com/x".into()), None, 10).await.unwrap_err();
    assert!(matches!(error, LinkedInError::InvalidInput(_)));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn saved_searches_and_lead_lists_come_from_search_parameters() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/linkedin/search/parameters")
        .and(query_param("account_id", ACC))
        .and(query_param("type", "SAVED_SEARCHES"))
        .respond_with(ok(json!({
            "object": "LinkedinSearchParametersList",
            "items": [{ "object": "LinkedinSearchParameter", "id": "1830437123", "title": "CTOs in Paris" }],
            "paging": { "page_count": 1 }
        })))
        .expect(1)
        .mount(&server)
        .await;
    route("GET", "/api/v1/linkedin/search/parameters")
        .and(query_param("type", "LEAD_LISTS"))
        .respond_with(ok(json!({
            "object": "LinkedinSearchParametersList",
            "items": [{ "object": "LinkedinSearchParameter", "id": 7012345678901234567u64, "title": "Q3 targets" }],
            "paging": { "page_count": 1 }
        })))
        .expect(1)
        .mount(&server)
        .await;
    let saved = li.saved_searches().await.unwrap();
    assert_eq!((saved[0].id.as_str(), saved[0].name.as_str()), ("1830437123", "CTOs in Paris"));
    let lists = li.lead_lists().await.unwrap();
    assert_eq!((lists[0].id.as_str(), lists[0].name.as_str()), ("7012345678901234567", "Q3 targets"));
}

#[tokio::test]
async fn without_sales_navigator_the_lists_are_empty() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/linkedin/search/parameters")
        .respond_with(problem(403, "errors/feature_not_subscribed", "Feature not subscribed"))
        .mount(&server)
        .await;
    assert!(li.saved_searches().await.unwrap().is_empty());
    assert!(li.lead_lists().await.unwrap().is_empty());
}

fn comments_page(cursor: Option<&str>) -> serde_json::Value {
    let ada = json!({
        "object": "Comment", "id": "7335000001439513601", "author": "Ada Lovelace",
        "author_details": { "id": "ACoAAB1xYz", "headline": "Engineer at Analytical Engines",
                            "profile_url": "https://www.linkedin.com/in/ada-lovelace", "network_distance": "DISTANCE_2" },
        "date": "2d", "text": "Great post", "reaction_counter": 1, "reply_counter": 0
    });
    let mut again = ada.clone();
    again["id"] = json!("7335000001439513602");
    json!({
        "object": "CommentList",
        "items": [
            ada,
            { "object": "Comment", "id": "7335000001439513603", "author": "Acme",
              "author_details": { "id": "1441", "headline": null, "profile_url": null, "network_distance": null },
              "date": "1d", "text": "Thanks", "reaction_counter": 0, "reply_counter": 0 },
            again
        ],
        "cursor": cursor,
        "total_items": 3,
        "paging": { "page_count": 3 }
    })
}

#[tokio::test]
async fn post_commenters_from_a_urn_url_use_the_comments_route() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/posts/urn:li:activity:7332661864792854528/comments")
        .and(query_param("account_id", ACC))
        .and(query_param("limit", "20"))
        .respond_with(ok(comments_page(Some("Y29tbWVudHM="))))
        .expect(1)
        .mount(&server)
        .await;
    let source = PeopleSource::PostCommenters(
        "https://www.linkedin.com/feed/update/urn:li:activity:7332661864792854528/".into(),
    );
    let page = li.search_people(&source, None, 20).await.unwrap();
    assert_eq!(page.items.len(), 1, "company authors left out, one person once");
    let ada = &page.items[0];
    assert_eq!(ada.provider_id, "ACoAAB1xYz");
    assert_eq!(ada.public_identifier, "ada-lovelace");
    assert_eq!(ada.full_name(), "Ada Lovelace");
    assert_eq!(ada.company.as_ref().unwrap().name, "Analytical Engines");
    assert_eq!(page.cursor.as_deref(), Some("Y29tbWVudHM="));
    assert_eq!(page.total, Some(3));
}

#[tokio::test]
async fn post_commenters_from_a_share_url_look_up_the_social_id() {
    let (server, li) = setup().await;
    route("GET", "/api/v1/posts/7332661864792854528")
        .and(query_param("account_id", ACC))
        .respond_with(ok(json!({
            "object": "Post", "provider": "LINKEDIN", "id": "7332661864792854528",
            "social_id": "urn:li:ugcPost:7332661864792854111", "text": "x", "date": "3d",
            "parsed_datetime": "2026-04-28T10:00:00.000Z", "is_repost": false
        })))
        .expect(1)
        .mount(&server)
        .await;
    route("GET", "/api/v1/posts/urn:li:ugcPost:7332661864792854111/comments")
        .and(query_param("cursor", "Y29tbWVudHM="))
        .respond_with(ok(comments_page(None)))
        .expect(1)
        .mount(&server)
        .await;
    let source = PeopleSource::PostCommenters(
        "https://www.linkedin.com/posts/julien-crepieux_api-activity-7332661864792854528-AbCd/".into(),
    );
    let page = li.search_people(&source, Some("Y29tbWVudHM="), 500).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.cursor, None);
    let seen = requests_to(&server, "/api/v1/posts/urn:li:ugcPost:7332661864792854111/comments").await;
    assert_eq!(query(&seen[0], "limit").as_deref(), Some("100"), "capped at the route's maximum");
}
