//! Campaigns over HTTP (spec 2.5), on both backends.

use crate::support::*;
use axum::body::Body;
use axum::http::Method;
use serde_json::{Value, json};
use sonarly_domain::Timestamp;
use sonarly_domain::campaign::CampaignStatus;
use sonarly_domain::models::{AccountGroup, Audience};
use sonarly_domain::prospecting::{Plan, Prospect, person_id_for};
use sonarly_testkit::both_backends;

const CAMPAIGN_FIELDS: [&str; 12] = [
    "id",
    "name",
    "description",
    "status",
    "selectedLeadCount",
    "includeConversationHistory",
    "autoCancelOnMessageReceived",
    "outreachLanguage",
    "createdAt",
    "updatedAt",
    "startedAt",
    "rateLimitedUntil",
];

/// An audience of `n` fabricated prospects.
pub(crate) async fn audience_with(
    app: &TestApp,
    group: &AccountGroup,
    n: usize,
    filling: Option<&str>,
) -> (Audience, Vec<String>) {
    let audience = app.audience(group, "Leads", app.now_ms(), filling).await;
    let now = Timestamp::from_millis(app.now_ms());
    let prospects: Vec<Prospect> = (0..n)
        .map(|k| {
            let provider_id = format!("ACoAAtest{}{k:04}", &group.id[..8]);
            Prospect {
                id: sonarly_domain::id::new_hex_id(now),
                group_id: group.id.clone(),
                person_id: person_id_for(&provider_id),
                provider_id,
                first_name: if k % 2 == 0 { Some(format!("Lead{k}")) } else { None },
                name: format!("Lead {k}"),
                headline: Some(format!("Engineer {k} at Acme")),
                company_name: Some("Acme".into()),
                created_at: now,
                updated_at: now,
                ..Prospect::default()
            }
        })
        .collect();
    let ids = app.db.store.upsert_prospects(&prospects, Some(&audience.id)).await.unwrap();
    (audience, ids)
}

async fn patch_json(app: &TestApp, path: &str, key: &str, json: &str) -> Reply {
    app.send(Method::PATCH, path, Some(key), &[("content-type", "application/json")], Body::from(json.to_owned())).await
}

async fn create(app: &TestApp, base: &str, key: &str, body: Value) -> Reply {
    app.post_json(&format!("{base}/campaigns"), key, &[], &body.to_string()).await
}

both_backends!(starter_templates_reflect_accounts_and_credits, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 100).await;
    let bare = app.group("No LinkedIn").await;
    let key = app.key(&[&group, &bare]).await;
    let reply = app.get(&format!("/v1/accounts/{}/campaigns/starter-templates", group.id), &key).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let items = reply.body["data"]["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["engage-inmail", "engage-connect-dm", "connect-engage-dm", "connect"]);
    assert!(items.iter().all(|i| i["available"] == true && i["name"].is_string() && i["description"].is_string()));
    let reply = app.get(&format!("/v1/accounts/{}/campaigns/starter-templates", bare.id), &key).await;
    assert!(reply.body["data"]["items"].as_array().unwrap().iter().all(|i| i["available"] == false));
    let reader = app.key_with(&[&group], "audiences:read", 100).await;
    let denied = app.get(&format!("/v1/accounts/{}/campaigns/starter-templates", group.id), &reader).await;
    assert_error(&denied, 403, "SCOPE_DENIED");
});

both_backends!(drafts_are_created_validated_listed_and_read, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 100).await;
    let other = app.prospecting_group(Plan::Starter, 100).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);
    let (audience, leads) = audience_with(&app, &group, 6, None).await;

    let reply = create(
        &app,
        &base,
        &key,
        json!({"starterTemplateId": "connect-engage-dm", "name": " Q3 ", "audienceId": audience.id}),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let c = &reply.body["data"];
    for field in CAMPAIGN_FIELDS {
        assert!(c.get(field).is_some(), "{field}");
    }
    assert_eq!(
        (c["status"].as_str(), c["name"].as_str(), c["selectedLeadCount"].as_i64()),
        (Some("draft"), Some("Q3"), Some(6))
    );
    assert_eq!(
        (c["outreachLanguage"].as_str(), c["startedAt"].is_null(), c["rateLimitedUntil"].is_null()),
        (Some("en"), true, true)
    );
    let id = c["id"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&format!("{base}/campaigns/{id}"), &key).await.body["data"], reply.body["data"]);

    // A subset of the audience, a minute later (the list is newest first).
    app.clock.advance_millis(60_000);
    let subset = create(&app, &base, &key, json!({"starterTemplateId": "connect", "name": "Two", "audienceId": audience.id, "leadIds": [leads[0], leads[1], leads[0]]})).await;
    assert_eq!(subset.body["data"]["selectedLeadCount"], 2, "{}", subset.body);

    // 400: missing fields, unknown template, empty leadIds, foreign audience or lead (the page lists no 422);
    // 409: audience filling.
    assert_error(&create(&app, &base, &key, json!({"name": "x"})).await, 400, "VALIDATION_ERROR");
    let bad =
        create(&app, &base, &key, json!({"starterTemplateId": "scratch", "name": "x", "audienceId": audience.id}))
            .await;
    assert_error(&bad, 400, "VALIDATION_ERROR");
    assert_eq!(bad.body["error"]["fields"][0]["field"], "starterTemplateId");
    let empty = create(
        &app,
        &base,
        &key,
        json!({"starterTemplateId": "connect", "name": "x", "audienceId": audience.id, "leadIds": []}),
    )
    .await;
    assert_error(&empty, 400, "VALIDATION_ERROR");
    let (foreign_audience, foreign_leads) = audience_with(&app, &other, 2, None).await;
    let foreign = create(
        &app,
        &base,
        &key,
        json!({"starterTemplateId": "connect", "name": "x", "audienceId": foreign_audience.id}),
    )
    .await;
    assert_error(&foreign, 400, "VALIDATION_ERROR");
    assert_eq!(foreign.body["error"]["fields"][0]["field"], "audienceId");
    let outsider = create(&app, &base, &key, json!({"starterTemplateId": "connect", "name": "x", "audienceId": audience.id, "leadIds": [leads[0], foreign_leads[0]]})).await;
    assert_error(&outsider, 400, "VALIDATION_ERROR");
    assert_eq!(outsider.body["error"]["fields"][0]["field"], "leadIds[1]");
    let (filling, _) = audience_with(&app, &group, 1, Some("job")).await;
    let busy =
        create(&app, &base, &key, json!({"starterTemplateId": "connect", "name": "x", "audienceId": filling.id})).await;
    assert_error(&busy, 409, "AUDIENCE_NOT_READY");

    // List: newest first, paginated, status filter; unknown status is 400; foreign or unknown id is 404.
    let list = app.get(&format!("{base}/campaigns?limit=1"), &key).await;
    assert_eq!(list.body["data"]["items"][0]["name"], "Two");
    assert_eq!(list.body["data"]["hasMore"], true);
    let next = app
        .get(&format!("{base}/campaigns?limit=1&cursor={}", list.body["data"]["nextCursor"].as_str().unwrap()), &key)
        .await;
    assert_eq!(next.body["data"]["items"][0]["id"], id.as_str());
    assert_eq!(
        app.get(&format!("{base}/campaigns?status=draft"), &key).await.body["data"]["items"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        app.get(&format!("{base}/campaigns?status=active"), &key).await.body["data"]["items"].as_array().unwrap().len(),
        0
    );
    assert_error(&app.get(&format!("{base}/campaigns?status=running"), &key).await, 400, "VALIDATION_ERROR");
    assert_error(&app.get(&format!("{base}/campaigns/nope"), &key).await, 404, "NOT_FOUND");
    let other_key = app.key(&[&other]).await;
    assert_error(&app.get(&format!("/v1/accounts/{}/campaigns/{id}", other.id), &other_key).await, 404, "NOT_FOUND");
});

both_backends!(content_slots_link_fitting_writing_styles, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 100).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);
    let (audience, _) = audience_with(&app, &group, 3, None).await;
    let c = create(
        &app,
        &base,
        &key,
        json!({"starterTemplateId": "engage-connect-dm", "name": "Slots", "audienceId": audience.id}),
    )
    .await;
    let id = c.body["data"]["id"].as_str().unwrap().to_owned();
    let slots = app.get(&format!("{base}/campaigns/{id}/content-slots"), &key).await;
    assert_eq!(slots.status, 200);
    let items = slots.body["data"]["items"].as_array().unwrap().clone();
    let shape: Vec<(String, i64, i64)> = items
        .iter()
        .map(|s| {
            (
                s["channel"].as_str().unwrap().to_owned(),
                s["position"].as_i64().unwrap(),
                s["channelPosition"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [("connection_request".into(), 1, 1), ("direct_message".into(), 2, 1), ("direct_message".into(), 3, 2)]
    );
    assert!(items.iter().all(|s| s["templateId"].is_string() && s["label"].is_string()), "defaults are linked");

    let style = |content_type: &str| json!({"name": "Mine", "contentType": content_type, "samples": [{"type": "basic", "message": "Hi {{ FirstName }}"}]});
    let dm = app.post_json(&format!("{base}/writing-styles"), &key, &[], &style("direct_message").to_string()).await;
    let dm_id = dm.body["data"]["id"].as_str().unwrap().to_owned();
    let slot2 = items[1]["id"].as_str().unwrap();
    let slot1 = items[0]["id"].as_str().unwrap();
    let ok = patch_json(
        &app,
        &format!("{base}/campaigns/{id}/content-slots/{slot2}"),
        &key,
        &json!({"templateId": dm_id}).to_string(),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["data"]["templateId"], dm_id.as_str());
    // A direct-message style cannot write the invitation note; unknown styles and slots; bad bodies.
    let wrong = patch_json(
        &app,
        &format!("{base}/campaigns/{id}/content-slots/{slot1}"),
        &key,
        &json!({"templateId": dm_id}).to_string(),
    )
    .await;
    assert_error(&wrong, 422, "VALIDATION_ERROR");
    let unknown =
        patch_json(&app, &format!("{base}/campaigns/{id}/content-slots/{slot1}"), &key, r#"{"templateId":"nope"}"#)
            .await;
    assert_error(&unknown, 422, "VALIDATION_ERROR");
    assert_error(
        &patch_json(&app, &format!("{base}/campaigns/{id}/content-slots/nope"), &key, r#"{"templateId":"x"}"#).await,
        404,
        "NOT_FOUND",
    );
    assert_error(
        &patch_json(&app, &format!("{base}/campaigns/{id}/content-slots/{slot1}"), &key, "{}").await,
        400,
        "VALIDATION_ERROR",
    );
    // The linked style cannot be deleted while the campaign uses it.
    let del = app.send(Method::DELETE, &format!("{base}/writing-styles/{dm_id}"), Some(&key), &[], Body::empty()).await;
    assert_error(&del, 409, "CONFLICT");
    // Once started, slots are frozen.
    assert_eq!(app.post_json(&format!("{base}/campaigns/{id}/start"), &key, &[], "").await.status, 200);
    let frozen = patch_json(
        &app,
        &format!("{base}/campaigns/{id}/content-slots/{slot2}"),
        &key,
        &json!({"templateId": dm_id}).to_string(),
    )
    .await;
    assert_error(&frozen, 409, "CONFLICT");
});

both_backends!(start_stop_lead_status_and_duplicate, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 100).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);
    let (audience, leads) = audience_with(&app, &group, 4, None).await;
    let c = create(&app, &base, &key, json!({"starterTemplateId": "connect", "name": "Run", "audienceId": audience.id, "leadIds": [leads[0], leads[1], leads[2]]})).await;
    let id = c.body["data"]["id"].as_str().unwrap().to_owned();
    let status_of = |ids: String| format!("{base}/campaigns/{id}/lead-status?leadIds={ids}");

    let before = app.get(&status_of(format!("{},{},nope", leads[0], leads[3])), &key).await;
    assert_eq!(before.status, 200, "{}", before.body);
    let rows = before.body["data"]["items"].as_array().unwrap();
    let statuses: Vec<&str> = rows.iter().map(|r| r["workflowStatus"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["not_started", "not_in_campaign", "not_in_campaign"]);
    assert_eq!(rows[2]["leadId"], "nope");
    assert!(rows.iter().all(|r| r["workflowInstanceId"].is_null() && r["hasPendingApproval"] == false));
    assert_error(&app.get(&format!("{base}/campaigns/{id}/lead-status"), &key).await, 400, "VALIDATION_ERROR");

    // Stop before start is 409; start creates one instance per lead; a second start is 409.
    assert_error(&app.post_json(&format!("{base}/campaigns/{id}/stop"), &key, &[], "").await, 409, "CONFLICT");
    let started = app.post_json(&format!("{base}/campaigns/{id}/start"), &key, &[], "").await;
    assert_eq!(started.status, 200, "{}", started.body);
    assert_eq!(
        (started.body["data"]["triggered"].as_bool(), started.body["data"]["instancesCreated"].as_i64()),
        (Some(true), Some(3))
    );
    assert_eq!(started.body["data"]["campaign"]["status"], "active");
    assert!(started.body["data"]["campaign"]["startedAt"].is_string());
    assert_error(&app.post_json(&format!("{base}/campaigns/{id}/start"), &key, &[], "").await, 409, "CONFLICT");
    let running = app.get(&status_of(format!("{},{}", leads[0], leads[3])), &key).await;
    let row = &running.body["data"]["items"][0];
    assert!(["pending", "waiting"].contains(&row["workflowStatus"].as_str().unwrap()), "{row}");
    assert!(row["workflowInstanceId"].is_string());
    assert_eq!(running.body["data"]["items"][1]["workflowStatus"], "not_in_campaign");

    // Duplicating onto leads with a live workflow conflicts; onto the free lead it works.
    let dup = app
        .post_json(
            &format!("{base}/campaigns/{id}/duplicate"),
            &key,
            &[],
            &json!({"audienceId": audience.id}).to_string(),
        )
        .await;
    assert_error(&dup, 409, "CONFLICT");
    let dup = app
        .post_json(
            &format!("{base}/campaigns/{id}/duplicate"),
            &key,
            &[],
            &json!({"audienceId": audience.id, "leadIds": [leads[3]]}).to_string(),
        )
        .await;
    assert_eq!(dup.status, 201, "{}", dup.body);
    assert_eq!(
        (
            dup.body["data"]["name"].as_str(),
            dup.body["data"]["status"].as_str(),
            dup.body["data"]["selectedLeadCount"].as_i64()
        ),
        (Some("Run (copy)"), Some("draft"), Some(1))
    );
    assert_error(
        &app.post_json(
            &format!("{base}/campaigns/nope/duplicate"),
            &key,
            &[],
            &json!({"audienceId": audience.id}).to_string(),
        )
        .await,
        404,
        "NOT_FOUND",
    );
    assert_error(
        &app.post_json(&format!("{base}/campaigns/{id}/duplicate"), &key, &[], "{}").await,
        400,
        "VALIDATION_ERROR",
    );
    // The duplicate page lists 400 and 404, no 422: an unknown audience or a lead
    // outside the audience is a 400 naming the field; an unknown source is the 404.
    let duplicate = |body: Value| {
        let (app, path, key) = (&app, format!("{base}/campaigns/{id}/duplicate"), &key);
        async move { app.post_json(&path, key, &[], &body.to_string()).await }
    };
    let unknown_audience = duplicate(json!({"audienceId": "aud_nope"})).await;
    assert_error(&unknown_audience, 400, "VALIDATION_ERROR");
    assert_eq!(unknown_audience.body["error"]["fields"][0]["field"], "audienceId");
    let stranger = duplicate(json!({"audienceId": audience.id, "leadIds": [leads[3], "not-a-lead"]})).await;
    assert_error(&stranger, 400, "VALIDATION_ERROR");
    assert_eq!(stranger.body["error"]["fields"][0]["field"], "leadIds[1]");

    // Stop: every live instance stops; a second stop is 409.
    let stopped = app.post_json(&format!("{base}/campaigns/{id}/stop"), &key, &[], "").await;
    assert_eq!(stopped.status, 200, "{}", stopped.body);
    assert_eq!(
        (stopped.body["data"]["campaign"]["status"].as_str(), stopped.body["data"]["instancesStopped"].as_i64()),
        (Some("stopped"), Some(3))
    );
    assert_error(&app.post_json(&format!("{base}/campaigns/{id}/stop"), &key, &[], "").await, 409, "CONFLICT");
    let after = app.get(&status_of(leads[1].clone()), &key).await;
    assert_eq!(after.body["data"]["items"][0]["workflowStatus"], "stopped");
    assert_eq!(after.body["data"]["items"][0]["workflowStopReason"], "CAMPAIGN_STOPPED");
    assert_error(&app.post_json(&format!("{base}/campaigns/{id}/start"), &key, &[], "").await, 409, "CONFLICT");

    // Not startable: no leads, no connected account.
    let (empty, _) = audience_with(&app, &group, 0, None).await;
    let none =
        create(&app, &base, &key, json!({"starterTemplateId": "connect", "name": "Empty", "audienceId": empty.id}))
            .await;
    let none_id = none.body["data"]["id"].as_str().unwrap();
    assert_error(&app.post_json(&format!("{base}/campaigns/{none_id}/start"), &key, &[], "").await, 409, "CONFLICT");
    let bare = app.group("Bare").await;
    let bare_key = app.key(&[&bare]).await;
    let (bare_audience, _) = audience_with(&app, &bare, 2, None).await;
    let bare_base = format!("/v1/accounts/{}", bare.id);
    let draft = create(
        &app,
        &bare_base,
        &bare_key,
        json!({"starterTemplateId": "connect", "name": "B", "audienceId": bare_audience.id}),
    )
    .await;
    let draft_id = draft.body["data"]["id"].as_str().unwrap();
    assert_error(
        &app.post_json(&format!("{bare_base}/campaigns/{draft_id}/start"), &bare_key, &[], "").await,
        409,
        "CONFLICT",
    );
    let executor = app.key_with(&[&group], "campaigns:read,campaigns:write", 100).await;
    assert_error(
        &app.post_json(&format!("{base}/campaigns/{none_id}/start"), &executor, &[], "").await,
        403,
        "SCOPE_DENIED",
    );
});

both_backends!(fallback_content_waits_for_approval, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 100).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);
    let (audience, leads) = audience_with(&app, &group, 2, None).await;
    let style = json!({"name": "Fallback only", "contentType": "connection_request",
        "samples": [{"type": "fallback", "message": "Hi, glad to connect."}]});
    let style_id =
        app.post_json(&format!("{base}/writing-styles"), &key, &[], &style.to_string()).await.body["data"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let c =
        create(&app, &base, &key, json!({"starterTemplateId": "connect", "name": "Gate", "audienceId": audience.id}))
            .await;
    let id = c.body["data"]["id"].as_str().unwrap().to_owned();
    let slots = app.get(&format!("{base}/campaigns/{id}/content-slots"), &key).await;
    let slot = slots.body["data"]["items"][0]["id"].as_str().unwrap().to_owned();
    let linked = patch_json(
        &app,
        &format!("{base}/campaigns/{id}/content-slots/{slot}"),
        &key,
        &json!({"templateId": style_id}).to_string(),
    )
    .await;
    assert_eq!(linked.status, 200);
    app.post_json(&format!("{base}/campaigns/{id}/start"), &key, &[], "").await;
    app.engine().run_until_idle().await;

    let rows = app.get(&format!("{base}/campaigns/{id}/lead-status?leadIds={},{}", leads[0], leads[1]), &key).await;
    let items = rows.body["data"]["items"].as_array().unwrap().clone();
    assert!(items.iter().all(|r| r["hasPendingApproval"] == true && r["workflowStatus"] == "waiting"), "{items:?}");
    let (first, second) =
        (items[0]["workflowInstanceId"].as_str().unwrap(), items[1]["workflowInstanceId"].as_str().unwrap());

    let approved =
        app.post_json(&format!("{base}/campaigns/{id}/workflow-instances/{first}/approve"), &key, &[], "").await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(
        (approved.body["data"]["action"].as_str(), approved.body["data"]["workflowInstanceId"].as_str()),
        (Some("approved"), Some(first))
    );
    assert_eq!(approved.body["data"]["leadStatus"]["hasPendingApproval"], false);
    assert_error(
        &app.post_json(&format!("{base}/campaigns/{id}/workflow-instances/{first}/approve"), &key, &[], "").await,
        409,
        "CONFLICT",
    );

    let discarded =
        app.post_json(&format!("{base}/campaigns/{id}/workflow-instances/{second}/discard"), &key, &[], "").await;
    assert_eq!(discarded.status, 200, "{}", discarded.body);
    assert_eq!(discarded.body["data"]["action"], "discarded");
    assert_eq!(discarded.body["data"]["leadStatus"]["workflowStatus"], "stopped");
    assert_eq!(discarded.body["data"]["leadStatus"]["workflowStopReason"], "CONTENT_DISCARDED");
    assert_error(
        &app.post_json(&format!("{base}/campaigns/{id}/workflow-instances/{second}/discard"), &key, &[], "").await,
        409,
        "CONFLICT",
    );
    assert_error(
        &app.post_json(&format!("{base}/campaigns/{id}/workflow-instances/nope/approve"), &key, &[], "").await,
        404,
        "NOT_FOUND",
    );
});

/// `n` draft campaigns on `audience`, one a second apart, stored directly (the
/// list is what is tested here, not creation).
pub(crate) async fn stored_campaigns(
    app: &TestApp,
    group: &AccountGroup,
    audience: &Audience,
    n: usize,
) -> Vec<String> {
    let mut ids = Vec::new();
    for k in 0..n {
        let at = Timestamp::from_millis(app.now_ms() + k as i64 * 1_000);
        let template = sonarly_domain::campaign::StarterTemplate::parse("connect").unwrap();
        let campaign = sonarly_domain::campaign::Campaign {
            id: sonarly_domain::id::new_hex_id(at),
            group_id: group.id.clone(),
            name: format!("Campaign {k}"),
            description: None,
            starter_template: template,
            workflow_version: template.version(),
            audience_id: audience.id.clone(),
            status: if k % 3 == 0 { CampaignStatus::Stopped } else { CampaignStatus::Draft },
            include_conversation_history: true,
            auto_cancel_on_message_received: true,
            outreach_language: "en".into(),
            linkedin_account_id: None,
            selected_lead_count: 0,
            created_at: at,
            updated_at: at,
            started_at: None,
            stopped_at: None,
        };
        assert!(app.db.store.insert_campaign(&campaign, &[], &[]).await.unwrap());
        ids.push(campaign.id);
    }
    ids.reverse(); // newest first, as listed
    ids
}

both_backends!(the_campaign_list_as_documented_without_parameters_returns_every_campaign, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 100).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);
    let (audience, _) = audience_with(&app, &group, 1, None).await;
    // 31 as in the report, then enough to need several internal reads of 100.
    let ids = stored_campaigns(&app, &group, &audience, 31).await;
    let all = app.get(&format!("{base}/campaigns"), &key).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let listed: Vec<&str> =
        all.body["data"]["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids, "every campaign, newest first");
    assert_eq!((all.body["data"]["hasMore"].as_bool(), all.body["data"]["nextCursor"].is_null()), (Some(false), true));

    app.clock.advance_millis(3_600_000);
    let more = stored_campaigns(&app, &group, &audience, 230).await;
    let all = app.get(&format!("{base}/campaigns"), &key).await;
    let listed: Vec<String> =
        all.body["data"]["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
    let expected: Vec<String> = more.iter().chain(ids.iter()).cloned().collect();
    assert_eq!(listed, expected);
    assert_eq!(all.body["data"]["hasMore"], false);

    // The status filter applies to the whole list too.
    let stopped = app.get(&format!("{base}/campaigns?status=stopped"), &key).await;
    assert_eq!(stopped.body["data"]["items"].as_array().unwrap().len(), 11 + 77);
    // Cursor paging stays available: `limit` pages, a cursor without `limit` returns the rest.
    let first = app.get(&format!("{base}/campaigns?limit=100"), &key).await;
    assert_eq!(first.body["data"]["items"].as_array().unwrap().len(), 100);
    assert_eq!(first.body["data"]["hasMore"], true);
    let cursor = first.body["data"]["nextCursor"].as_str().unwrap();
    let rest = app.get(&format!("{base}/campaigns?cursor={cursor}"), &key).await;
    let rest: Vec<String> =
        rest.body["data"]["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(rest, expected[100..].to_vec());
    for bad in ["0", "101", "x"] {
        assert_error(&app.get(&format!("{base}/campaigns?limit={bad}"), &key).await, 400, "VALIDATION_ERROR");
    }
});

// Audience delete (spec A6 lists 409): an audience an active campaign uses is
// not deleted; the 409 names the campaigns. Drafts and stopped campaigns do not block.
both_backends!(deleting_an_audience_an_active_campaign_uses_is_a_409_naming_the_campaigns, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 100).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);
    let (audience, _) = audience_with(&app, &group, 2, None).await;
    let new = |name: &str| json!({"starterTemplateId": "connect", "name": name, "audienceId": audience.id});
    let running = create(&app, &base, &key, new("Running")).await.body["data"]["id"].as_str().unwrap().to_owned();
    let draft = create(&app, &base, &key, new("Draft")).await.body["data"]["id"].as_str().unwrap().to_owned();
    let started = app.post_json(&format!("{base}/campaigns/{running}/start"), &key, &[], "").await;
    assert_eq!(started.status, 200, "{}", started.body);

    let path = format!("{base}/audiences/{}", audience.id);
    let refused = app.send(Method::DELETE, &path, Some(&key), &[], Body::empty()).await;
    assert_error(&refused, 409, "CONFLICT");
    let details = refused.body["error"]["details"].as_str().unwrap();
    assert!(details.contains(&running) && !details.contains(&draft), "{details}");
    assert_eq!(app.get(&path, &key).await.status, 200, "nothing was deleted");
    assert_eq!(app.get(&format!("{path}/prospects"), &key).await.body["data"]["items"].as_array().unwrap().len(), 2);

    // Once stopped, the campaign no longer holds the audience.
    let stopped = app.post_json(&format!("{base}/campaigns/{running}/stop"), &key, &[], "").await;
    assert_eq!(stopped.status, 200, "{}", stopped.body);
    let deleted = app.send(Method::DELETE, &path, Some(&key), &[], Body::empty()).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.body["data"], json!({"deleted": true}));
    assert_error(&app.get(&path, &key).await, 404, "NOT_FOUND");
    assert_error(&app.send(Method::DELETE, &path, Some(&key), &[], Body::empty()).await, 404, "NOT_FOUND");
    // An audience still being filled keeps its documented 409.
    let (filling, _) = audience_with(&app, &group, 1, Some("job")).await;
    let busy =
        app.send(Method::DELETE, &format!("{base}/audiences/{}", filling.id), Some(&key), &[], Body::empty()).await;
    assert_error(&busy, 409, "AUDIENCE_NOT_READY");
});

const HOUR: i64 = 3_600_000;

/// A group whose sandbox seat works around the clock with no spacing and roomy caps, and whose
/// people all accept invitations within hours and answer every message within hours: every lead
/// of a campaign goes all the way, on a seeded (so repeatable) network.
async fn eager_sandbox_group(app: &TestApp) -> (AccountGroup, sonarly_domain::linkedin_account::LinkedInAccount) {
    use sonarly_domain::linkedin_account::{ReadBudgets, SendingRules, WorkingHours};
    use sonarly_linkedin::sandbox::{EnforcementConfig, SandboxConfig};
    let group =
        sonarly_app::accounts::create_group_on(&app.db.store, &app.clock, "Funnel", Plan::Starter, 100).await.unwrap();
    let rules = SendingRules {
        working_hours: WorkingHours::AROUND_THE_CLOCK,
        min_spacing_secs: 0,
        max_spacing_secs: 0,
        daily_invitations: 100,
        weekly_invitations: 1_000,
        daily_messages: 1_000,
        daily_profile_visits: 1_000,
        daily_engagements: 1_000,
        reads: ReadBudgets { profile_fetches: 1_000, ..Default::default() },
        ..SendingRules::default()
    };
    let sandbox = SandboxConfig {
        account_seed: sonarly_testkit::TEST_ACCOUNT_SEED,
        acceptance_rate: 1.0,
        acceptance_delay_ms: (HOUR, 6 * HOUR),
        reply_rate: 1.0,
        reply_delay_ms: (HOUR, 6 * HOUR),
        enforcement: EnforcementConfig::off(),
        ..SandboxConfig::default()
    };
    let input = sonarly_app::linkedin::ConnectAccount {
        group_id: group.id.clone(),
        name: "Sandbox".into(),
        account_type: sonarly_linkedin::AccountType::Classic,
        rules,
        provider: sonarly_app::linkedin::ProviderSetup::Sandbox(sandbox),
    };
    let account = sonarly_app::linkedin::connect_account(&app.db.store, &app.clock, input).await.unwrap();
    (group, account)
}

/// An audience of `n` people a sandbox search finds who are not connections of the seat yet
/// (so each of them gets an invitation).
async fn audience_of_strangers(
    app: &TestApp,
    group: &AccountGroup,
    account: &sonarly_domain::linkedin_account::LinkedInAccount,
    n: usize,
) -> Audience {
    let provider = app.state.registry.provider(account).unwrap();
    let search = sonarly_linkedin::PeopleSource::SearchUrl(
        "https://www.linkedin.com/search/results/people/?keywords=software%20engineer".into(),
    );
    let people: Vec<sonarly_linkedin::Person> = provider
        .search_people(&search, None, 50)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| p.connection_degree != Some(1))
        .take(n)
        .collect();
    assert_eq!(people.len(), n, "the sandbox search finds enough strangers");
    let audience = app.audience(group, "Strangers", app.now_ms(), None).await;
    let now = Timestamp::from_millis(app.now_ms());
    let prospects: Vec<Prospect> = people
        .iter()
        .map(|p| Prospect {
            id: sonarly_domain::id::new_hex_id(now),
            group_id: group.id.clone(),
            provider_id: p.provider_id.clone(),
            member_id: Some(p.provider_id.clone()),
            person_id: person_id_for(&p.provider_id),
            first_name: Some(p.first_name.clone()),
            last_name: Some(p.last_name.clone()),
            name: p.full_name(),
            headline: p.headline.clone(),
            company_name: p.company.as_ref().map(|c| c.name.clone()),
            connection_degree: p.connection_degree.map(i64::from),
            created_at: now,
            updated_at: now,
            ..Prospect::default()
        })
        .collect();
    app.db.store.upsert_prospects(&prospects, Some(&audience.id)).await.unwrap();
    audience
}

/// `(outcome, reason, count)` rows of a funnel answer.
type Outcomes = Vec<(String, Option<String>, i64)>;

/// `[(stage, count)]`, `[(outcome, reason, count)]` and `pendingApproval` of a funnel answer.
fn funnel_counts(reply: &Reply) -> (Vec<(String, i64)>, Outcomes, i64) {
    assert_eq!(reply.status, 200, "{}", reply.body);
    let data = &reply.body["data"];
    let stages = data["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["stage"].as_str().unwrap().to_owned(), s["count"].as_i64().unwrap()))
        .collect();
    let outcomes = data["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["outcome"].as_str().unwrap().to_owned(),
                o["reason"].as_str().map(str::to_owned),
                o["count"].as_i64().unwrap(),
            )
        })
        .collect();
    (stages, outcomes, data["pendingApproval"].as_i64().unwrap())
}

fn stages(counts: [i64; 4]) -> Vec<(String, i64)> {
    ["invited", "accepted", "messaged", "replied"].iter().zip(counts).map(|(s, n)| ((*s).to_owned(), n)).collect()
}

both_backends!(the_funnel_moves_as_the_sandbox_invites_accepts_and_replies, |backend| async move {
    let app = TestApp::new(backend).await;
    let (group, account) = eager_sandbox_group(&app).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);
    let audience = audience_of_strangers(&app, &group, &account, 4).await;
    let c = create(
        &app,
        &base,
        &key,
        json!({"starterTemplateId": "connect-engage-dm", "name": "Funnel", "audienceId": audience.id}),
    )
    .await;
    assert_eq!(c.status, 201, "{}", c.body);
    let id = c.body["data"]["id"].as_str().unwrap().to_owned();
    let funnel = format!("{base}/campaigns/{id}/funnel");

    // A draft: four leads, none started, every stage of its workflow at zero.
    let draft = app.get(&funnel, &key).await;
    assert_eq!(draft.body["data"]["leads"], 4, "{}", draft.body);
    assert_eq!(funnel_counts(&draft), (stages([0, 0, 0, 0]), vec![("not_started".into(), None, 4)], 0));

    // Started: the invitations go out at once; nobody has accepted yet.
    let started = app.post_json(&format!("{base}/campaigns/{id}/start"), &key, &[], "").await;
    assert_eq!(started.status, 200, "{}", started.body);
    let engine = app.engine();
    engine.run_until_idle().await;
    let invited = app.get(&funnel, &key).await;
    assert_eq!(funnel_counts(&invited), (stages([4, 0, 0, 0]), vec![("active".into(), None, 4)], 0));

    // Hour by hour: acceptances, then the first messages, then replies, each counted as the
    // engine records it; no count ever goes down, and a reply counts as soon as the inbox
    // has it, before the workflow stops for it at its next step.
    let mut last = stages([4, 0, 0, 0]);
    let (mut saw_accepted, mut saw_messaged, mut saw_reply_while_active) = (false, false, false);
    let done = vec![("stopped".to_owned(), Some("REPLY_RECEIVED".to_owned()), 4)];
    let mut outcomes = Vec::new();
    for _ in 0..(10 * 24 / 2) {
        app.clock.advance_millis(2 * HOUR);
        engine.run_until_idle().await;
        let (now, seen, pending) = funnel_counts(&app.get(&funnel, &key).await);
        assert_eq!(pending, 0);
        for ((stage, before), (_, after)) in last.iter().zip(&now) {
            assert!(after >= before, "{stage} went down: {last:?} -> {now:?}");
        }
        assert!(now[1].1 <= now[0].1, "accepted <= invited: {now:?}");
        assert_eq!(seen.iter().map(|o| o.2).sum::<i64>(), 4, "outcomes add up to the leads: {seen:?}");
        saw_accepted |= now[1].1 == 4 && now[2].1 < 4;
        saw_messaged |= now[2].1 == 4 && now[3].1 < 4;
        saw_reply_while_active |= now[3].1 == 4 && seen == vec![("active".to_owned(), None, 4)];
        last = now;
        outcomes = seen;
        if outcomes == done {
            break;
        }
    }
    assert_eq!(last, stages([4, 4, 4, 4]));
    assert_eq!(outcomes, done, "every lead replied after the first message and stopped before the follow-up");
    assert!(
        saw_accepted && saw_messaged && saw_reply_while_active,
        "{saw_accepted} {saw_messaged} {saw_reply_while_active}"
    );
    let campaign = app.get(&format!("{base}/campaigns/{id}"), &key).await;
    assert_eq!(campaign.body["data"]["status"], "completed");
    // The lead list tells the same story, lead by lead.
    let leads = app.get(&format!("{base}/campaigns/{id}/leads"), &key).await;
    let items = leads.body["data"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{}", leads.body);
    assert!(items.iter().all(|l| l["workflowStatus"] == "stopped"
        && l["workflowStopReason"] == "REPLY_RECEIVED"
        && l["latestStep"] == "direct_message_1"
        && l["name"].is_string()));

    // Another group's campaign is not found; the funnel needs campaigns:read.
    let other = app.group("Other").await;
    let other_key = app.key(&[&other]).await;
    assert_error(
        &app.get(&format!("/v1/accounts/{}/campaigns/{id}/funnel", other.id), &other_key).await,
        404,
        "NOT_FOUND",
    );
    assert_error(&app.get(&format!("{base}/campaigns/nope/funnel"), &key).await, 404, "NOT_FOUND");
    let reader = app.key_with(&[&group], "audiences:read", 100).await;
    assert_error(&app.get(&funnel, &reader).await, 403, "SCOPE_DENIED");
});

fn lead_ids(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"]["items"].as_array().unwrap().iter().map(|l| l["leadId"].as_str().unwrap().to_owned()).collect()
}

both_backends!(the_lead_list_pages_in_selection_order_and_its_filter_is_the_approval_queue, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 100).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);
    let (audience, all) = audience_with(&app, &group, 6, None).await;
    // Five of the six, in an order of their own: the list follows the selection.
    let selected: Vec<String> = [4, 0, 3, 1, 2].iter().map(|k| all[*k].clone()).collect();
    // An invitation note whose only sample is a fallback: every lead's note waits for approval.
    let style = json!({"name": "Fallback only", "contentType": "connection_request",
        "samples": [{"type": "fallback", "message": "Hi, glad to connect."}]});
    let style_id =
        app.post_json(&format!("{base}/writing-styles"), &key, &[], &style.to_string()).await.body["data"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let c = create(
        &app,
        &base,
        &key,
        json!({"starterTemplateId": "connect", "name": "Queue", "audienceId": audience.id, "leadIds": selected}),
    )
    .await;
    let id = c.body["data"]["id"].as_str().unwrap().to_owned();
    let slots = app.get(&format!("{base}/campaigns/{id}/content-slots"), &key).await;
    let slot = slots.body["data"]["items"][0]["id"].as_str().unwrap().to_owned();
    let linked = patch_json(
        &app,
        &format!("{base}/campaigns/{id}/content-slots/{slot}"),
        &key,
        &json!({"templateId": style_id}).to_string(),
    )
    .await;
    assert_eq!(linked.status, 200, "{}", linked.body);
    let leads = format!("{base}/campaigns/{id}/leads");

    // A draft: every lead not started, with its prospect's name and headline.
    let draft = app.get(&format!("{leads}?limit=100"), &key).await;
    assert_eq!(lead_ids(&draft), selected);
    let first = &draft.body["data"]["items"][0];
    assert_eq!((first["name"].as_str(), first["headline"].as_str()), (Some("Lead 4"), Some("Engineer 4 at Acme")));
    assert_eq!(first["workflowStatus"], "not_started");
    assert!(first["workflowInstanceId"].is_null() && first["pendingContent"].is_null());
    assert_eq!(first["hasPendingApproval"], false);

    app.post_json(&format!("{base}/campaigns/{id}/start"), &key, &[], "").await;
    app.engine().run_until_idle().await;

    // Pages of two, in selection order, each cursor going on where the last page ended.
    let mut paged = Vec::new();
    let mut path = format!("{leads}?limit=2");
    let mut pages = 0;
    loop {
        let page = app.get(&path, &key).await;
        paged.extend(lead_ids(&page));
        pages += 1;
        match page.body["data"]["nextCursor"].as_str() {
            Some(cursor) => {
                assert_eq!(page.body["data"]["hasMore"], true);
                path = format!("{leads}?limit=2&cursor={cursor}");
            }
            None => {
                assert_eq!(page.body["data"]["hasMore"], false);
                break;
            }
        }
    }
    assert_eq!((paged, pages), (selected.clone(), 3));
    // A lead id is a cursor too: the page starts after that lead.
    assert_eq!(lead_ids(&app.get(&format!("{leads}?cursor={}", selected[2]), &key).await), selected[3..].to_vec());

    // The approval queue holds every lead, each with the content approve would send.
    let queue = app.get(&format!("{leads}?pendingApproval=true"), &key).await;
    assert_eq!(lead_ids(&queue), selected);
    for lead in queue.body["data"]["items"].as_array().unwrap() {
        assert_eq!(lead["hasPendingApproval"], true);
        assert_eq!(lead["workflowStatus"], "waiting");
        assert_eq!(
            lead["pendingContent"],
            json!({"step": "send_invitation", "channel": "connection_request", "subject": null, "text": "Hi, glad to connect."})
        );
    }
    assert!(lead_ids(&app.get(&format!("{leads}?pendingApproval=false"), &key).await).is_empty());
    let funnel = funnel_counts(&app.get(&format!("{base}/campaigns/{id}/funnel"), &key).await);
    let connect_stages =
        |invited: i64| vec![("invited".to_owned(), invited), ("accepted".into(), 0), ("replied".into(), 0)];
    assert_eq!(funnel, (connect_stages(0), vec![("active".into(), None, 5)], 5));

    // Approved, a lead leaves the queue (its invitation goes out); discarded, another leaves it stopped.
    let instance_of = |k: usize| queue.body["data"]["items"][k]["workflowInstanceId"].as_str().unwrap().to_owned();
    let approve = format!("{base}/campaigns/{id}/workflow-instances/{}/approve", instance_of(1));
    assert_eq!(app.post_json(&approve, &key, &[], "").await.status, 200);
    let discard = format!("{base}/campaigns/{id}/workflow-instances/{}/discard", instance_of(3));
    assert_eq!(app.post_json(&discard, &key, &[], "").await.status, 200);
    let queue = app.get(&format!("{leads}?pendingApproval=true&limit=2"), &key).await;
    assert_eq!(lead_ids(&queue), [selected[0].clone(), selected[2].clone()]);
    let cursor = queue.body["data"]["nextCursor"].as_str().unwrap();
    let rest = app.get(&format!("{leads}?pendingApproval=true&limit=2&cursor={cursor}"), &key).await;
    assert_eq!(lead_ids(&rest), [selected[4].clone()]);
    let others = app.get(&format!("{leads}?pendingApproval=false"), &key).await;
    assert_eq!(lead_ids(&others), [selected[1].clone(), selected[3].clone()]);
    let discarded = &others.body["data"]["items"][1];
    assert_eq!(
        (discarded["workflowStatus"].as_str(), discarded["workflowStopReason"].as_str()),
        (Some("stopped"), Some("CONTENT_DISCARDED"))
    );
    assert!(others.body["data"]["items"].as_array().unwrap().iter().all(|l| l["pendingContent"].is_null()));
    app.engine().run_until_idle().await;
    let (stages, outcomes, pending) = funnel_counts(&app.get(&format!("{base}/campaigns/{id}/funnel"), &key).await);
    assert_eq!(pending, 3);
    assert!(stages[0].1 <= 1, "at most the approved lead was invited: {stages:?}");
    assert!(outcomes.contains(&("stopped".into(), Some("CONTENT_DISCARDED".into()), 1)), "{outcomes:?}");

    // Bad parameters are 400; another group's campaign, or an unknown one, is 404; reading needs campaigns:read.
    for bad in ["pendingApproval=maybe", "limit=0", "limit=101", "cursor=not.a.cursor", "cursor=nope"] {
        assert_error(&app.get(&format!("{leads}?{bad}"), &key).await, 400, "VALIDATION_ERROR");
    }
    let other = app.prospecting_group(Plan::Starter, 100).await;
    let other_key = app.key(&[&other]).await;
    let foreign = format!("/v1/accounts/{}/campaigns/{id}/leads", other.id);
    assert_error(&app.get(&foreign, &other_key).await, 404, "NOT_FOUND");
    assert_error(&app.get(&format!("{base}/campaigns/nope/leads"), &key).await, 404, "NOT_FOUND");
    let reader = app.key_with(&[&group], "audiences:read", 100).await;
    assert_error(&app.get(&leads, &reader).await, 403, "SCOPE_DENIED");
});
