//! Templates (spec 2.7): writing styles, value propositions, signal
//! specifications and the writing-style preview, on both backends.

use crate::support::*;
use axum::body::Body;
use axum::http::Method;
use serde_json::{Value, json};
use sonarly_domain::models::AccountGroup;
use sonarly_testkit::both_backends;

async fn patch_json(app: &TestApp, path: &str, key: &str, body: &Value) -> Reply {
    let headers = [("content-type", "application/json")];
    app.send(Method::PATCH, path, Some(key), &headers, Body::from(body.to_string())).await
}

async fn delete(app: &TestApp, path: &str, key: &str) -> Reply {
    app.send(Method::DELETE, path, Some(key), &[], Body::empty()).await
}

async fn post(app: &TestApp, path: &str, key: &str, body: &Value) -> Reply {
    app.post_json(path, key, &[], &body.to_string()).await
}

fn base(group: &AccountGroup, resource: &str) -> String {
    format!("/v1/accounts/{}/{resource}", group.id)
}

/// Creates a resource and returns its `data`.
async fn create(app: &TestApp, key: &str, group: &AccountGroup, resource: &str, body: Value) -> Value {
    let reply = post(app, &base(group, resource), key, &body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["success"], true);
    assert!(reply.body["error"].is_null());
    assert_trace(&reply);
    reply.body["data"].clone()
}

fn id(data: &Value) -> String {
    data["id"].as_str().unwrap().to_owned()
}

fn keys_of(data: &Value) -> Vec<String> {
    let mut keys: Vec<_> = data.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

/// Fields of a validation error, in order.
fn fields(reply: &Reply) -> Vec<String> {
    reply.body["error"]["fields"]
        .as_array()
        .map(|a| a.iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn style_body(name: &str) -> Value {
    json!({"name": name, "samples": [{"type": "basic", "message": "Hi {{ FirstName }}."}]})
}

both_backends!(writing_style_create_get_update_delete, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let vp = create(&app, &key, &group, "value-propositions", json!({"name": "Faster hiring"})).await;

    let created = create(
        &app,
        &key,
        &group,
        "writing-styles",
        json!({
            "name": "  Warm intro  ",
            "description": "For founders",
            "contentType": "direct_message_inmail",
            "samples": [
                {"type": "signal", "message": "Congrats on {{ Signal }}!", "subject": "Quick follow-up", "signalTag": "funding"},
                {"type": "basic", "message": "Hi {{ FirstName }}."},
                {"type": "fallback", "message": "Hello there."}
            ],
            "valuePropositionId": id(&vp),
            "includeRules": ["Worth a chat?"],
            "excludeRules": ["pricing"],
            "useStrictTemplate": false,
            "someFutureField": {"ignored": true}
        }),
    )
    .await;
    assert_eq!(
        keys_of(&created),
        [
            "contentType",
            "createdAt",
            "description",
            "excludeRules",
            "id",
            "includeRules",
            "name",
            "samples",
            "updatedAt",
            "useStrictTemplate",
            "valuePropositionId"
        ]
    );
    assert_eq!(created["id"].as_str().unwrap().len(), 24);
    assert_eq!(created["name"], "Warm intro");
    assert_eq!(created["contentType"], "direct_message_inmail");
    assert_eq!(
        created["samples"][0],
        json!({"type": "signal", "message": "Congrats on {{ Signal }}!", "subject": "Quick follow-up", "signalTag": "funding"})
    );
    assert_eq!(
        created["samples"][1],
        json!({"type": "basic", "message": "Hi {{ FirstName }}.", "subject": null, "signalTag": null})
    );
    assert_eq!(created["valuePropositionId"], id(&vp));
    assert_eq!(created["useStrictTemplate"], false);
    assert_eq!(created["createdAt"], created["updatedAt"]);
    assert!(created["createdAt"].as_str().unwrap().ends_with('Z'));

    let path = format!("{}/{}", base(&group, "writing-styles"), id(&created));
    let got = app.get(&path, &key).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["data"], created);

    // Absent fields are kept.
    let renamed = patch_json(&app, &path, &key, &json!({"name": "Renamed"})).await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let data = &renamed.body["data"];
    assert_eq!(data["name"], "Renamed");
    for field in ["description", "contentType", "samples", "includeRules", "excludeRules", "useStrictTemplate"] {
        assert_eq!(data[field], created[field], "{field}");
    }
    assert_eq!(data["createdAt"], created["createdAt"]);
    assert!(data["updatedAt"].as_str().unwrap() >= created["updatedAt"].as_str().unwrap());

    // null clears the nullable fields; lists are replaced whole.
    let cleared = patch_json(
        &app,
        &path,
        &key,
        &json!({"description": null, "valuePropositionId": null, "samples": [{"type": "fallback", "message": "Hi."}], "includeRules": []}),
    )
    .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    let data = &cleared.body["data"];
    assert!(data["description"].is_null() && data["valuePropositionId"].is_null());
    assert_eq!(data["samples"].as_array().unwrap().len(), 1);
    assert_eq!(data["includeRules"], json!([]));
    assert_eq!(data["excludeRules"], json!(["pricing"]));
    assert_eq!(app.get(&path, &key).await.body["data"], *data);

    // An empty PATCH changes nothing but is accepted.
    let noop = patch_json(&app, &path, &key, &json!({})).await;
    assert_eq!(noop.status, 200);
    assert_eq!(noop.body["data"]["name"], "Renamed");

    let gone = delete(&app, &path, &key).await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert_eq!(gone.body["data"], json!({"deleted": true}));
    assert_trace(&gone);
    assert_error(&app.get(&path, &key).await, 404, "NOT_FOUND");
    assert_error(&delete(&app, &path, &key).await, 404, "NOT_FOUND");
    assert_error(&patch_json(&app, &path, &key, &json!({"name": "x"})).await, 404, "NOT_FOUND");
});

both_backends!(writing_style_defaults_and_ignored_idempotency_key, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let path = base(&group, "writing-styles");
    let body = style_body("Minimal").to_string();
    let first = app.post_json(&path, &key, &[("idempotency-key", "same")], &body).await;
    let second = app.post_json(&path, &key, &[("idempotency-key", "same")], &body).await;
    assert_eq!((first.status.as_u16(), second.status.as_u16()), (201, 201));
    assert_ne!(first.body["data"]["id"], second.body["data"]["id"], "Idempotency-Key is not supported here");
    let data = &first.body["data"];
    assert_eq!(data["contentType"], "direct_message");
    assert_eq!(data["useStrictTemplate"], true);
    assert!(data["description"].is_null() && data["valuePropositionId"].is_null());
    assert_eq!((data["includeRules"].clone(), data["excludeRules"].clone()), (json!([]), json!([])));
});

both_backends!(writing_style_validation_errors, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let other = app.group("Other").await;
    let key = app.key(&[&group, &other]).await;
    let path = base(&group, "writing-styles");
    let sample = json!({"type": "basic", "message": "Hi."});

    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"name": "   ", "samples": [sample]}), vec!["name"]),
        (json!({"name": "x".repeat(201), "samples": [sample]}), vec!["name"]),
        (json!({"name": "N", "samples": []}), vec!["samples"]),
        (json!({"name": "N", "samples": [{"type": "teaser", "message": "Hi."}]}), vec!["samples[0].type"]),
        (json!({"name": "N", "samples": [{"type": "basic", "message": " "}]}), vec!["samples[0].message"]),
        (
            json!({"name": "N", "samples": [{"type": "basic", "message": "x".repeat(8_001)}]}),
            vec!["samples[0].message"],
        ),
        (
            json!({"name": "N", "samples": [{"type": "basic", "message": "m", "subject": "s".repeat(201)}]}),
            vec!["samples[0].subject"],
        ),
        (json!({"name": "N", "samples": [sample], "contentType": "sms"}), vec!["contentType"]),
        (json!({"name": "N", "samples": [sample], "includeRules": ["ok", ""]}), vec!["includeRules[1]"]),
        (json!({"name": "N", "samples": [sample], "excludeRules": ["r".repeat(501)]}), vec!["excludeRules[0]"]),
        (
            json!({"name": "", "samples": [sample], "contentType": "fax", "valuePropositionId": " "}),
            vec!["name", "contentType", "valuePropositionId"],
        ),
    ];
    for (body, expected) in cases {
        let reply = post(&app, &path, &key, &body).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        assert_eq!(fields(&reply), expected, "{body}");
        assert!(reply.body["error"]["details"].as_str().unwrap().contains(expected[0]));
    }
    // Schema problems caught while parsing name the JSON path.
    let missing_name = post(&app, &path, &key, &json!({"samples": [sample]})).await;
    assert_error(&missing_name, 400, "VALIDATION_ERROR");
    assert!(missing_name.body["error"]["details"].as_str().unwrap().contains("name"));
    let wrong_type = post(&app, &path, &key, &json!({"name": "N", "samples": "many"})).await;
    assert_error(&wrong_type, 400, "VALIDATION_ERROR");
    assert_eq!(fields(&wrong_type), ["samples"]);
    let no_message = post(&app, &path, &key, &json!({"name": "N", "samples": [{"type": "basic"}]})).await;
    assert_error(&no_message, 400, "VALIDATION_ERROR");
    assert_eq!(fields(&no_message), ["samples[0].message"]);
    let not_json = app.send(Method::POST, &path, Some(&key), &[], Body::from("name=x")).await;
    assert_error(&not_json, 415, "UNSUPPORTED_MEDIA_TYPE");

    // A value proposition that does not exist here is a 400 on its field (the pages list no 422),
    // even one of another group.
    let foreign_vp = create(&app, &key, &other, "value-propositions", json!({"name": "Theirs"})).await;
    for vp_id in ["507f1f77bcf86cd799439011".to_owned(), id(&foreign_vp)] {
        let reply =
            post(&app, &path, &key, &json!({"name": "N", "samples": [sample], "valuePropositionId": vp_id})).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        assert_eq!(fields(&reply), ["valuePropositionId"]);
        assert!(reply.body["error"]["details"].as_str().unwrap().contains(&vp_id));
    }
    let list = app.get(&path, &key).await;
    assert_eq!(list.body["data"]["items"], json!([]), "nothing was created");

    // Updates: null is refused for required fields; the body is checked before the id.
    let style = create(&app, &key, &group, "writing-styles", style_body("S")).await;
    let style_path = format!("{path}/{}", id(&style));
    for (body, field) in [
        (json!({"name": null}), "name"),
        (json!({"samples": null}), "samples"),
        (json!({"samples": []}), "samples"),
        (json!({"contentType": "letter"}), "contentType"),
        (json!({"useStrictTemplate": null}), "useStrictTemplate"),
        (json!({"includeRules": null}), "includeRules"),
    ] {
        let reply = patch_json(&app, &style_path, &key, &body).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        assert_eq!(fields(&reply), [field], "{body}");
    }
    let bad_on_missing = patch_json(&app, &format!("{path}/nope"), &key, &json!({"name": ""})).await;
    assert_error(&bad_on_missing, 400, "VALIDATION_ERROR");
    let unknown_vp = patch_json(&app, &style_path, &key, &json!({"valuePropositionId": id(&foreign_vp)})).await;
    assert_error(&unknown_vp, 400, "VALIDATION_ERROR");
    assert_eq!(app.get(&style_path, &key).await.body["data"], style, "a refused update changes nothing");
});

both_backends!(value_proposition_crud_and_delete_conflict, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let created = create(
        &app,
        &key,
        &group,
        "value-propositions",
        json!({"name": "Faster hiring", "description": "d", "values": ["speed", " reach "], "challenges": ["slow pipelines"]}),
    )
    .await;
    assert_eq!(keys_of(&created), ["challenges", "createdAt", "description", "id", "name", "updatedAt", "values"]);
    assert_eq!(created["values"], json!(["speed", "reach"]));
    let vp_path = format!("{}/{}", base(&group, "value-propositions"), id(&created));
    assert_eq!(app.get(&vp_path, &key).await.body["data"], created);

    let minimal = create(&app, &key, &group, "value-propositions", json!({"name": "Bare"})).await;
    assert_eq!((minimal["values"].clone(), minimal["challenges"].clone()), (json!([]), json!([])));

    let updated = patch_json(&app, &vp_path, &key, &json!({"values": ["quality"], "description": null})).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["data"]["values"], json!(["quality"]));
    assert_eq!(updated.body["data"]["challenges"], json!(["slow pipelines"]));
    assert!(updated.body["data"]["description"].is_null());
    assert_eq!(updated.body["data"]["name"], "Faster hiring");

    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"values": ["x".repeat(1_001)]}), "values[0]"),
        (json!({"challenges": null}), "challenges"),
        (json!({"values": vec!["v"; 51]}), "values"),
    ] {
        let reply = patch_json(&app, &vp_path, &key, &body).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        assert_eq!(fields(&reply), [field], "{body}");
    }
    let no_name = post(&app, &base(&group, "value-propositions"), &key, &json!({"values": []})).await;
    assert_error(&no_name, 400, "VALIDATION_ERROR");

    // In use by a writing style and a signal specification: 409 naming both.
    let style = create(
        &app,
        &key,
        &group,
        "writing-styles",
        json!({"name": "Intro style", "samples": [{"type": "basic", "message": "Hi."}], "valuePropositionId": id(&created)}),
    )
    .await;
    let spec = create(
        &app,
        &key,
        &group,
        "signal-specifications",
        json!({"name": "Funding watch", "sources": ["funding"], "valuePropositionIds": [id(&created)]}),
    )
    .await;
    let conflict = delete(&app, &vp_path, &key).await;
    assert_error(&conflict, 409, "CONFLICT");
    let message = conflict.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("writing style \"Intro style\""), "{message}");
    assert!(message.contains("signal specification \"Funding watch\""), "{message}");
    assert!(message.contains(&id(&style)) && message.contains(&id(&spec)), "{message}");
    assert_eq!(app.get(&vp_path, &key).await.status, 200, "still there");

    let style_path = format!("{}/{}", base(&group, "writing-styles"), id(&style));
    assert_eq!(patch_json(&app, &style_path, &key, &json!({"valuePropositionId": null})).await.status, 200);
    let still = delete(&app, &vp_path, &key).await;
    assert_error(&still, 409, "CONFLICT");
    assert!(!still.body["error"]["message"].as_str().unwrap().contains("Intro style"));
    let spec_path = format!("{}/{}", base(&group, "signal-specifications"), id(&spec));
    assert_eq!(delete(&app, &spec_path, &key).await.status, 200);

    let gone = delete(&app, &vp_path, &key).await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert_eq!(gone.body["data"], json!({"deleted": true}));
    assert_error(&app.get(&vp_path, &key).await, 404, "NOT_FOUND");
    // Nothing else uses a writing style yet, so it deletes freely.
    assert_eq!(delete(&app, &style_path, &key).await.status, 200);
});

both_backends!(signal_specification_crud_and_validation, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let vp1 = create(&app, &key, &group, "value-propositions", json!({"name": "One"})).await;
    let vp2 = create(&app, &key, &group, "value-propositions", json!({"name": "Two"})).await;
    let specifications =
        json!([{"keywords": ["series a", "raised"], "minScore": 60}, "plain text", 42, null, [1, [2]]]);
    let created = create(
        &app,
        &key,
        &group,
        "signal-specifications",
        json!({
            "name": "Funding and hiring",
            "description": "Growth signals",
            "sources": ["funding", "hiring", "funding"],
            "specifications": specifications,
            "useValueProposition": true,
            "valuePropositionIds": [id(&vp2), id(&vp1), id(&vp2)]
        }),
    )
    .await;
    assert_eq!(
        keys_of(&created),
        [
            "createdAt",
            "description",
            "id",
            "name",
            "sources",
            "specifications",
            "updatedAt",
            "useValueProposition",
            "valuePropositionIds"
        ]
    );
    assert_eq!(created["sources"], json!(["funding", "hiring"]));
    assert_eq!(created["specifications"], specifications);
    assert_eq!(created["valuePropositionIds"], json!([id(&vp2), id(&vp1)]));
    assert_eq!(created["useValueProposition"], true);

    let path = format!("{}/{}", base(&group, "signal-specifications"), id(&created));
    assert_eq!(app.get(&path, &key).await.body["data"], created);
    let listed = app.get(&base(&group, "signal-specifications"), &key).await;
    assert_eq!(listed.body["data"]["items"], json!([created.clone()]));

    let minimal =
        create(&app, &key, &group, "signal-specifications", json!({"name": "M", "sources": ["job_changes"]})).await;
    assert_eq!(minimal["specifications"], json!([]));
    assert_eq!(minimal["useValueProposition"], false);
    assert_eq!(minimal["valuePropositionIds"], json!([]));

    let updated = patch_json(
        &app,
        &path,
        &key,
        &json!({"sources": ["linkedin_posts", "linkedin_comments"], "valuePropositionIds": [id(&vp1)], "useValueProposition": false}),
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let data = &updated.body["data"];
    assert_eq!(data["sources"], json!(["linkedin_posts", "linkedin_comments"]));
    assert_eq!(data["valuePropositionIds"], json!([id(&vp1)]));
    assert_eq!(data["specifications"], specifications, "kept");
    assert_eq!(data["name"], "Funding and hiring", "kept");
    assert_eq!(app.get(&path, &key).await.body["data"], *data);
    // vp2 is free again.
    assert_eq!(delete(&app, &format!("{}/{}", base(&group, "value-propositions"), id(&vp2)), &key).await.status, 200);

    let list_path = base(&group, "signal-specifications");
    for (body, expected) in [
        (json!({"name": "N", "sources": ["funding", "tiktok"]}), vec!["sources[1]"]),
        (json!({"name": "N", "sources": []}), vec!["sources"]),
        (
            json!({"name": "N", "sources": ["funding"], "valuePropositionIds": ["", id(&vp1)]}),
            vec!["valuePropositionIds[0]"],
        ),
        (json!({"name": "N", "sources": ["funding"], "specifications": vec![json!(1); 101]}), vec!["specifications"]),
    ] {
        let reply = post(&app, &list_path, &key, &body).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        assert_eq!(fields(&reply), expected, "{body}");
    }
    let no_sources = post(&app, &list_path, &key, &json!({"name": "N"})).await;
    assert_error(&no_sources, 400, "VALIDATION_ERROR");
    let bad_spec_type =
        post(&app, &list_path, &key, &json!({"name": "N", "sources": ["funding"], "specifications": {}})).await;
    assert_error(&bad_spec_type, 400, "VALIDATION_ERROR");
    let missing_vp = post(
        &app,
        &list_path,
        &key,
        &json!({"name": "N", "sources": ["funding"], "valuePropositionIds": [id(&vp1), id(&vp2)]}),
    )
    .await;
    assert_error(&missing_vp, 400, "VALIDATION_ERROR");
    assert_eq!(fields(&missing_vp), ["valuePropositionIds[1]"]);
    let patch_missing = patch_json(&app, &path, &key, &json!({"valuePropositionIds": [id(&vp2)]})).await;
    assert_error(&patch_missing, 400, "VALIDATION_ERROR");
    assert_eq!(app.get(&path, &key).await.body["data"], *data, "unchanged");

    let gone = delete(&app, &path, &key).await;
    assert_eq!(gone.body["data"], json!({"deleted": true}));
    assert_error(&app.get(&path, &key).await, 404, "NOT_FOUND");
    // Its links went with it: vp1 deletes freely.
    assert_eq!(delete(&app, &format!("{}/{}", base(&group, "value-propositions"), id(&vp1)), &key).await.status, 200);
});

both_backends!(another_groups_templates_answer_404_like_absent_ones, |backend| async move {
    let app = TestApp::new(backend).await;
    let mine = app.group("Mine").await;
    let theirs = app.group("Theirs").await;
    let both = app.key(&[&mine, &theirs]).await;
    let only_mine = app.key(&[&mine]).await;
    let vp = create(&app, &both, &theirs, "value-propositions", json!({"name": "V"})).await;
    let style = create(&app, &both, &theirs, "writing-styles", style_body("S")).await;
    let spec =
        create(&app, &both, &theirs, "signal-specifications", json!({"name": "Sp", "sources": ["hiring"]})).await;

    for (resource, foreign_id) in
        [("value-propositions", id(&vp)), ("writing-styles", id(&style)), ("signal-specifications", id(&spec))]
    {
        let foreign = format!("{}/{foreign_id}", base(&mine, resource));
        let absent = format!("{}/507f1f77bcf86cd799439011", base(&mine, resource));
        let patch_body = json!({"name": "Hijacked"});
        for (f, a) in [
            (app.get(&foreign, &both).await, app.get(&absent, &both).await),
            (patch_json(&app, &foreign, &both, &patch_body).await, patch_json(&app, &absent, &both, &patch_body).await),
            (delete(&app, &foreign, &both).await, delete(&app, &absent, &both).await),
        ] {
            assert_error(&f, 404, "NOT_FOUND");
            assert_eq!(f.body_without_trace(), a.body_without_trace(), "{resource}");
        }
        // The other group's list does not show it either.
        let list = app.get(&base(&mine, resource), &both).await;
        assert_eq!(list.body["data"]["items"], json!([]));
        // A key without access to the group gets 404 for the group itself.
        let locked = app.get(&format!("{}/{foreign_id}", base(&theirs, resource)), &only_mine).await;
        assert_error(&locked, 404, "NOT_FOUND");
    }
    let preview = post(
        &app,
        &format!("{}/{}/preview", base(&mine, "writing-styles"), id(&style)),
        &both,
        &json!({"channel": "direct_message", "profile": {"firstName": "Anna"}}),
    )
    .await;
    assert_error(&preview, 404, "NOT_FOUND");
    // Untouched in its own group.
    let own = app.get(&format!("{}/{}", base(&theirs, "writing-styles"), id(&style)), &both).await;
    assert_eq!(own.body["data"], style);
});

both_backends!(template_lists_page_newest_first, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let other = app.group("Other").await;
    let key = app.key(&[&group, &other]).await;
    for (resource, body) in [
        ("writing-styles", style_body("S")),
        ("value-propositions", json!({"name": "V"})),
        ("signal-specifications", json!({"name": "Sp", "sources": ["funding"]})),
    ] {
        let mut created = Vec::new();
        for i in 0..7 {
            let mut body = body.clone();
            body["name"] = json!(format!("{resource} {i}"));
            created.push(create(&app, &key, &group, resource, body).await);
        }
        create(&app, &key, &other, resource, body.clone()).await;

        let mut seen: Vec<Value> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                None => format!("{}?limit=3", base(&group, resource)),
                Some(c) => format!("{}?limit=3&cursor={c}", base(&group, resource)),
            };
            let reply = app.get(&path, &key).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            pages += 1;
            seen.extend(reply.body["data"]["items"].as_array().unwrap().iter().cloned());
            match reply.body["data"]["nextCursor"].as_str() {
                Some(c) => {
                    assert_eq!(reply.body["data"]["hasMore"], true);
                    cursor = Some(c.to_owned());
                }
                None => {
                    assert_eq!(reply.body["data"]["hasMore"], false);
                    break;
                }
            }
        }
        assert_eq!(pages, 3, "{resource}");
        assert_eq!(seen.len(), 7, "{resource}");
        let order: Vec<(String, String)> =
            seen.iter().map(|v| (v["createdAt"].as_str().unwrap().to_owned(), id(v))).collect();
        let mut expected = order.clone();
        expected.sort_by(|a, b| b.cmp(a));
        assert_eq!(order, expected, "{resource}: newest first, id breaks ties");
        let mut ids: Vec<String> = created.iter().map(id).collect();
        ids.sort();
        let mut seen_ids: Vec<String> = seen.iter().map(id).collect();
        seen_ids.sort();
        assert_eq!(seen_ids, ids, "{resource}: exactly this group's items");

        assert_error(&app.get(&format!("{}?limit=0", base(&group, resource)), &key).await, 400, "VALIDATION_ERROR");
    }
    // A cursor of one list is refused by another.
    let styles = app.get(&format!("{}?limit=1", base(&group, "writing-styles")), &key).await;
    let cursor = styles.body["data"]["nextCursor"].as_str().unwrap().to_owned();
    let refused = app.get(&format!("{}?cursor={cursor}", base(&group, "value-propositions")), &key).await;
    assert_error(&refused, 400, "VALIDATION_ERROR");
    assert_eq!(fields(&refused), ["cursor"]);
});

both_backends!(template_scopes_are_enforced, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let admin = app.key(&[&group]).await;
    let reader = app.key_with(&[&group], "templates:read", 10_000).await;
    let writer = app.key_with(&[&group], "templates:write", 10_000).await;
    let outsider = app.key_with(&[&group], "audiences:read,signals:write", 10_000).await;
    let style = create(&app, &admin, &group, "writing-styles", style_body("S")).await;
    let vp = create(&app, &admin, &group, "value-propositions", json!({"name": "V"})).await;
    let spec =
        create(&app, &admin, &group, "signal-specifications", json!({"name": "Sp", "sources": ["hiring"]})).await;

    let bodies = [
        ("writing-styles", id(&style), style_body("New")),
        ("value-propositions", id(&vp), json!({"name": "New"})),
        ("signal-specifications", id(&spec), json!({"name": "New", "sources": ["hiring"]})),
    ];
    for (resource, item, body) in &bodies {
        let list = base(&group, resource);
        let one = format!("{list}/{item}");
        // Reads need templates:read.
        assert_eq!(app.get(&list, &reader).await.status, 200);
        assert_eq!(app.get(&one, &reader).await.status, 200);
        assert_error(&app.get(&list, &writer).await, 403, "SCOPE_DENIED");
        assert_error(&app.get(&one, &outsider).await, 403, "SCOPE_DENIED");
        // Writes need templates:write.
        for key in [&reader, &outsider] {
            assert_error(&post(&app, &list, key, body).await, 403, "SCOPE_DENIED");
            assert_error(&patch_json(&app, &one, key, body).await, 403, "SCOPE_DENIED");
            assert_error(&delete(&app, &one, key).await, 403, "SCOPE_DENIED");
        }
        assert_eq!(post(&app, &list, &writer, body).await.status, 201);
        assert_eq!(patch_json(&app, &one, &writer, body).await.status, 200);
    }
    // The preview only reads.
    let preview_path = format!("{}/{}/preview", base(&group, "writing-styles"), id(&style));
    let preview_body = json!({"channel": "direct_message", "profile": {"firstName": "Anna"}});
    assert_eq!(post(&app, &preview_path, &reader, &preview_body).await.status, 200);
    assert_error(&post(&app, &preview_path, &writer, &preview_body).await, 403, "SCOPE_DENIED");
    for (resource, item, _) in &bodies {
        assert_eq!(delete(&app, &format!("{}/{item}", base(&group, resource)), &writer).await.status, 200);
    }
    assert_error(
        &app.send(Method::GET, &base(&group, "writing-styles"), None, &[], Body::empty()).await,
        401,
        "UNAUTHORIZED",
    );
});

both_backends!(preview_composes_deterministically, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let vp = create(
        &app,
        &key,
        &group,
        "value-propositions",
        json!({"name": "Faster hiring", "values": ["halve time-to-hire"], "challenges": ["slow pipelines"]}),
    )
    .await;
    let style = create(
        &app,
        &key,
        &group,
        "writing-styles",
        json!({
            "name": "Outreach",
            "contentType": "direct_message_inmail",
            "valuePropositionId": id(&vp),
            "samples": [
                {"type": "fallback", "message": "Hello there, we help teams {{ Value }}."},
                {"type": "basic", "message": "Hi {{ FirstName }}, teams like {{ Company }} often fight {{ Challenge }}. Our pricing is fair.", "subject": "{{ Company }} and {{ValueProposition}}"},
                {"type": "signal", "signalTag": "funding", "message": "Hi {{ firstname }}, congrats on {{ Signal }}! Saw {{ Signal_anonym }}."},
                {"type": "signal", "message": "Hi {{ FirstName }}, I noticed {{ Signal_anonym }}."}
            ],
            "includeRules": ["Worth a quick chat?"],
            "excludeRules": ["pricing"]
        }),
    )
    .await;
    let path = format!("{}/{}/preview", base(&group, "writing-styles"), id(&style));
    let profile =
        json!({"firstName": "Anna", "lastName": "Schmidt", "company": "Acme", "title": "CTO", "location": "Berlin"});

    let funded = json!({
        "channel": "direct_message",
        "profile": profile,
        "signals": [{"tag": "hiring", "summary": "3 open roles"}, {"type": "Funding", "summary": "the Series B"}]
    });
    let reply = post(&app, &path, &key, &funded).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_trace(&reply);
    assert_eq!(
        reply.body["data"],
        json!({
            "subject": null,
            "body": "Hi Anna, congrats on the Series B! Saw an exciting milestone for your company. Worth a quick chat?",
            "sampleType": "signal",
            "composer": "builtin"
        })
    );
    for _ in 0..3 {
        assert_eq!(post(&app, &path, &key, &funded).await.body["data"], reply.body["data"], "deterministic");
    }

    // An unmatched signal uses the untagged signal sample.
    let posted = json!({"channel": "direct_message", "profile": profile, "signals": [{"tag": "linkedin_posts", "summary": "a post"}]});
    let reply = post(&app, &path, &key, &posted).await;
    assert_eq!(reply.body["data"]["body"], "Hi Anna, I noticed something you shared recently. Worth a quick chat?");

    // No signal: basic, with the excluded sentence removed and the subject filled for InMail.
    let plain = json!({"channel": "inmail", "profile": profile});
    let reply = post(&app, &path, &key, &plain).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["data"],
        json!({
            "subject": "Acme and Faster hiring",
            "body": "Hi Anna, teams like Acme often fight slow pipelines. Worth a quick chat?",
            "sampleType": "basic",
            "composer": "builtin"
        })
    );

    // Missing company: the basic sample cannot be filled, so fallback.
    let nameless = json!({"channel": "direct_message", "profile": {"firstName": "Anna", "company": "  "}});
    let reply = post(&app, &path, &key, &nameless).await;
    assert_eq!(reply.body["data"]["sampleType"], "fallback");
    assert_eq!(reply.body["data"]["body"], "Hello there, we help teams halve time-to-hire. Worth a quick chat?");

    // Nothing fillable: 422 naming the variable.
    let strict = create(
        &app,
        &key,
        &group,
        "writing-styles",
        json!({"name": "Strict", "contentType": "connection_request", "samples": [{"type": "basic", "message": "Hi {{ FirstName }} at {{ Company }}."}]}),
    )
    .await;
    let strict_path = format!("{}/{}/preview", base(&group, "writing-styles"), id(&strict));
    let reply =
        post(&app, &strict_path, &key, &json!({"channel": "connection_request", "profile": {"firstName": "Anna"}}))
            .await;
    assert_error(&reply, 422, "VALIDATION_ERROR");
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("{{ Company }}"), "{}", reply.body);
    // The channel must fit the content type.
    let reply = post(&app, &strict_path, &key, &json!({"channel": "inmail", "profile": profile})).await;
    assert_error(&reply, 422, "VALIDATION_ERROR");
    assert_eq!(fields(&reply), ["channel"]);

    // Connection notes fit 300 characters, cut at a sentence end.
    let long = create(
        &app,
        &key,
        &group,
        "writing-styles",
        json!({"name": "Long", "contentType": "connection_request", "samples": [{"type": "basic", "message": format!("Hi {{{{ FirstName }}}}. {}", "This sentence is filler text. ".repeat(20))}]}),
    )
    .await;
    let long_path = format!("{}/{}/preview", base(&group, "writing-styles"), id(&long));
    let reply = post(&app, &long_path, &key, &json!({"channel": "connection_request", "profile": profile})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.body["data"]["body"].as_str().unwrap();
    assert!(body.chars().count() <= 300 && body.starts_with("Hi Anna.") && body.ends_with("filler text."), "{body}");

    // Request validation: 400 before the lookup.
    for (body, expected) in [
        (json!({"channel": "sms", "profile": profile}), vec!["channel"]),
        (json!({"channel": "direct_message"}), vec!["profile"]),
        (json!({"channel": "carrier pigeon"}), vec!["channel", "profile"]),
        (json!({"channel": "direct_message", "profile": {"firstName": "x".repeat(201)}}), vec!["profile.firstName"]),
    ] {
        let reply = post(&app, &path, &key, &body).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        assert_eq!(fields(&reply), expected, "{body}");
    }
    let missing = post(&app, &format!("{}/nope/preview", base(&group, "writing-styles")), &key, &plain).await;
    assert_error(&missing, 404, "NOT_FOUND");
});
