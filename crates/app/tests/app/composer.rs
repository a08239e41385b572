//! The OpenAI-compatible composer against a local mock server (wiremock): the
//! model's text is used when it passes the built-in rules, and every failure
//! falls back to the built-in draft. Nothing touches the internet.

use serde_json::{Value, json};
use sonarly_app::composer::{
    BuiltinComposer, ComposeRequest, ComposerKind, ContentComposer, OpenAiComposer, OpenAiConfig,
};
use sonarly_domain::Timestamp;
use sonarly_domain::composer::{Channel, ProspectProfile, ProspectSignal};
use sonarly_domain::template::{ContentType, Sample, SampleType, ValueProposition, WritingStyle};
use sonarly_store::HistoryMessage;
use std::time::Duration;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn style(content_type: ContentType, strict: bool, samples: Vec<Sample>) -> WritingStyle {
    WritingStyle {
        id: "ws1".into(),
        group_id: "g".into(),
        name: "Warm intro".into(),
        description: Some("Friendly, short, no buzzwords".into()),
        content_type,
        samples,
        include_rules: vec!["Worth a chat?".into()],
        exclude_rules: vec!["pricing".into()],
        use_strict_template: strict,
        value_proposition_id: Some("vp1".into()),
        created_at: Timestamp::from_millis(0),
        updated_at: Timestamp::from_millis(0),
    }
}

fn sample(t: SampleType, message: &str, subject: Option<&str>) -> Sample {
    Sample { sample_type: t, message: message.into(), subject: subject.map(Into::into), signal_tag: None }
}

fn request(channel: Channel, strict: bool) -> ComposeRequest {
    let content_type = match channel {
        Channel::InMail => ContentType::InMail,
        Channel::ConnectionRequest => ContentType::ConnectionRequest,
        _ => ContentType::DirectMessage,
    };
    ComposeRequest {
        style: style(
            content_type,
            strict,
            vec![
                sample(SampleType::Signal, "Hi {{ FirstName }}, I enjoyed {{ Signal }}.", Some("About {{ Company }}")),
                sample(SampleType::Basic, "Hi {{ FirstName }}, quick idea for {{ Company }}.", Some("Idea")),
            ],
        ),
        value_propositions: vec![ValueProposition {
            id: "vp1".into(),
            group_id: "g".into(),
            name: "Faster hiring".into(),
            description: None,
            values: vec!["cut time-to-hire by half".into()],
            challenges: vec!["slow pipelines".into()],
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }],
        profile: ProspectProfile {
            first_name: Some("Zoë".into()),
            last_name: Some("Łukasiewicz-Núñez".into()),
            company: Some("Zephyr Robotics".into()),
            title: Some("VP of Engineering".into()),
            location: Some("Zürich".into()),
        },
        signals: vec![ProspectSignal {
            tag: "linkedin_posts".into(),
            summary: "your post \"Lessons from a year of Rust in production\"".into(),
        }],
        history: vec![HistoryMessage {
            is_sender: false,
            text: "Thanks for connecting!".into(),
            sent_at: Timestamp::from_millis(1),
        }],
        channel,
    }
}

fn config(server: &MockServer, timeout: Duration) -> OpenAiConfig {
    OpenAiConfig {
        base_url: format!("{}/v1", server.uri()),
        api_key: Some("sk-test".into()),
        model: "gpt-test".into(),
        timeout,
    }
}

fn completion(content: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-test",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }]
    }))
}

fn route() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-test"))
        .and(body_partial_json(json!({"model": "gpt-test"})))
}

async fn composer_with(template: ResponseTemplate, timeout: Duration) -> (MockServer, OpenAiComposer) {
    let server = MockServer::start().await;
    route().respond_with(template).mount(&server).await;
    let composer = OpenAiComposer::new(config(&server, timeout)).unwrap();
    (server, composer)
}

fn user_prompt(request: &Request) -> String {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    body["messages"][1]["content"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_models_text_is_used_when_it_follows_the_rules() {
    let answer = r#"{"subject": null, "body": "Hi Zoë, your Rust-in-production lessons resonated with our team. Worth a chat?"}"#;
    let (server, composer) = composer_with(completion(answer), Duration::from_secs(5)).await;
    let out = composer.compose(&request(Channel::DirectMessage, false)).await.unwrap();
    assert_eq!(out.composer, ComposerKind::OpenAi, "{out:?}");
    assert_eq!(out.fallback_reason, None);
    assert_eq!(out.composed.body, "Hi Zoë, your Rust-in-production lessons resonated with our team. Worth a chat?");
    assert_eq!(out.composed.subject, None);
    assert_eq!(out.composed.sample_type_used, SampleType::Signal, "the sample the draft used");

    let seen = server.received_requests().await.unwrap();
    assert_eq!(seen.len(), 1);
    let prompt = user_prompt(&seen[0]);
    for expected in [
        "Channel: direct_message (body at most 8000 characters)",
        "First name: Zoë",
        "Łukasiewicz-Núñez",
        "[linkedin_posts] your post",
        "Faster hiring",
        "\"Worth a chat?\"",
        "\"pricing\"",
        "Prospect: Thanks for connecting!",
        "Draft to rewrite:\nHi Zoë, I enjoyed your post",
    ] {
        assert!(prompt.contains(expected), "{expected:?} missing from:\n{prompt}");
    }
    assert!(!prompt.contains("{{"), "the draft is filled");
}

#[tokio::test]
async fn a_missing_include_rule_is_appended_and_inmail_subjects_are_kept() {
    let (_server, composer) = composer_with(
        completion(r#"{"subject": "Rust at Zephyr", "body": "Hi Zoë, loved the post."}"#),
        Duration::from_secs(5),
    )
    .await;
    let out = composer.compose(&request(Channel::InMail, false)).await.unwrap();
    assert_eq!(out.composer, ComposerKind::OpenAi);
    assert_eq!(out.composed.subject.as_deref(), Some("Rust at Zephyr"));
    assert_eq!(out.composed.body, "Hi Zoë, loved the post. Worth a chat?");
}

#[tokio::test]
async fn strict_templates_never_call_the_model() {
    let server = MockServer::start().await;
    route().respond_with(completion(r#"{"body":"x"}"#)).expect(0).mount(&server).await;
    let composer = OpenAiComposer::new(config(&server, Duration::from_secs(5))).unwrap();
    let out = composer.compose(&request(Channel::DirectMessage, true)).await.unwrap();
    let builtin = BuiltinComposer.compose(&request(Channel::DirectMessage, true)).await.unwrap();
    assert_eq!(out, builtin);
    assert_eq!(out.composer, ComposerKind::Builtin);
    assert_eq!(
        out.composed.body,
        "Hi Zoë, I enjoyed your post \"Lessons from a year of Rust in production\". Worth a chat?"
    );
}

#[tokio::test]
async fn every_failure_falls_back_to_the_built_in_draft() {
    let over_long = format!(r#"{{"body": "{}"}}"#, "é".repeat(301));
    let cases: Vec<(&str, ResponseTemplate, Channel, &str)> = vec![
        ("server error", ResponseTemplate::new(500).set_body_string("boom"), Channel::DirectMessage, "HTTP 500"),
        ("rate limited", ResponseTemplate::new(429), Channel::DirectMessage, "HTTP 429"),
        (
            "timeout",
            completion(r#"{"body":"late"}"#).set_delay(Duration::from_secs(3)),
            Channel::DirectMessage,
            "in time",
        ),
        ("empty body", completion(r#"{"subject": null, "body": "   "}"#), Channel::DirectMessage, "empty"),
        ("empty content", completion(""), Channel::DirectMessage, "empty"),
        ("over-long", completion(&over_long), Channel::ConnectionRequest, "limit is 300"),
        ("unfilled", completion(r#"{"body": "Hi {{ FirstName }}!"}"#), Channel::DirectMessage, "unfilled"),
        (
            "excluded",
            completion(r#"{"body": "Our pricing is great. Worth a chat?"}"#),
            Channel::DirectMessage,
            "excluded",
        ),
        ("no subject", completion(r#"{"body": "Hi"}"#), Channel::InMail, "subject"),
        ("not JSON", completion("Subject: hi\nBody"), Channel::InMail, "JSON"),
        (
            "no choices",
            ResponseTemplate::new(200).set_body_json(json!({"choices": []})),
            Channel::DirectMessage,
            "content",
        ),
        ("not JSON at all", ResponseTemplate::new(200).set_body_string("<html>"), Channel::DirectMessage, "unreadable"),
    ];
    for (name, template, channel, reason) in cases {
        let (_server, composer) = composer_with(template, Duration::from_millis(500)).await;
        let out = composer.compose(&request(channel, false)).await.unwrap();
        let builtin = BuiltinComposer.compose(&request(channel, false)).await.unwrap();
        assert_eq!(out.composer, ComposerKind::Builtin, "{name}");
        assert_eq!(out.composed, builtin.composed, "{name}: the built-in draft");
        let why = out.fallback_reason.unwrap_or_default();
        assert!(why.contains(reason), "{name}: {why}");
        assert!(out.composed.body.chars().count() <= channel.body_limit(), "{name}");
    }
}

#[tokio::test]
async fn an_unreachable_model_falls_back_too() {
    // Nothing listens on this port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let composer = OpenAiComposer::new(OpenAiConfig {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        api_key: None,
        model: "m".into(),
        timeout: Duration::from_secs(2),
    })
    .unwrap();
    let out = composer.compose(&request(Channel::DirectMessage, false)).await.unwrap();
    assert_eq!(out.composer, ComposerKind::Builtin);
    assert!(out.fallback_reason.unwrap().contains("HTTP error"));
}

#[tokio::test]
async fn no_fillable_sample_is_a_422_without_calling_the_model() {
    let server = MockServer::start().await;
    route().respond_with(completion(r#"{"body":"x"}"#)).expect(0).mount(&server).await;
    let composer = OpenAiComposer::new(config(&server, Duration::from_secs(5))).unwrap();
    let mut req = request(Channel::DirectMessage, false);
    req.style.samples = vec![sample(SampleType::Basic, "Hi {{ Nickname }}.", None)];
    let err = composer.compose(&req).await.unwrap_err();
    assert_eq!((err.status, err.code.as_str()), (422, "VALIDATION_ERROR"));
}

#[tokio::test]
async fn long_inputs_and_non_ascii_names_fit_the_limits() {
    let mut req = request(Channel::ConnectionRequest, true);
    req.profile.company = Some(format!("Zephyr {} Robotics", "Ünïcödé ".repeat(20).trim_end()));
    req.style.samples = vec![sample(
        SampleType::Basic,
        &format!(
            "Hi {{{{ FirstName }}}} {{{{ LastName }}}}, {} at {{{{ Company }}}}.",
            "I admire the work ".repeat(20)
        ),
        None,
    )];
    req.style.include_rules = vec![];
    let out = BuiltinComposer.compose(&req).await.unwrap();
    let n = out.composed.body.chars().count();
    assert!(n <= 300 && n > 150, "{n}: {}", out.composed.body);
    assert!(out.composed.body.starts_with("Hi Zoë Łukasiewicz-Núñez"), "{}", out.composed.body);
    assert!(!out.composed.body.contains("{{"));
}
