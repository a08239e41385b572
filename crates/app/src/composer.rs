//! The content composer behind one trait, [`ContentComposer`], with two
//! implementations:
//!
//! * [`BuiltinComposer`]: the deterministic composer of the domain
//!   (`sonarly_domain::composer::compose`), pure and always available;
//! * [`OpenAiComposer`]: an OpenAI-compatible chat-completions connector
//!   (`POST {base URL}/chat/completions`), used when it is configured and the
//!   writing style's `useStrictTemplate` is false. It first composes with the
//!   built-in composer (that draft, and the sample it chose, guide the model
//!   and are the fallback), then asks the model to rewrite the draft for the
//!   prospect. Its answer must pass the same rules as the built-in composer's
//!   ([`check_external`]: channel limits, no unfilled variable, exclude and
//!   include rules, InMail subject). Any failure (HTTP error, timeout,
//!   unreadable, empty, over-long or unfilled output) falls back to the
//!   built-in draft, so composing never fails because of the model.
//!
//! It lives in the application layer because both the API (previews) and the
//! engine (campaign steps) compose, and only this layer is below both and may
//! do IO; the pure rules stay in the domain.

use crate::AppResult;
use async_trait::async_trait;
use serde_json::{Value, json};
use sonarly_domain::composer::{Channel, Composed, ProspectProfile, ProspectSignal, check_external, compose};
use sonarly_domain::template::{ValueProposition, WritingStyle};
use sonarly_store::HistoryMessage;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How long a model may take before the built-in draft is used instead.
pub const OPENAI_DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
/// Conversation messages shown to the model, at most.
pub const HISTORY_LIMIT: usize = 10;

/// Everything a composer needs for one message.
#[derive(Debug, Clone)]
pub struct ComposeRequest {
    pub style: WritingStyle,
    pub value_propositions: Vec<ValueProposition>,
    pub profile: ProspectProfile,
    /// Most relevant first.
    pub signals: Vec<ProspectSignal>,
    /// The conversation so far, newest first (may be empty).
    pub history: Vec<HistoryMessage>,
    pub channel: Channel,
}

/// Which composer wrote the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComposerKind {
    Builtin,
    OpenAi,
}

impl ComposerKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Builtin => "builtin",
            Self::OpenAi => "openai",
        }
    }
}

/// The composed content, who wrote it, and why the model's answer was not
/// used when it was asked and failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composition {
    pub composed: Composed,
    pub composer: ComposerKind,
    pub fallback_reason: Option<String>,
}

#[async_trait]
pub trait ContentComposer: Send + Sync {
    /// Composes one message; a 422 when no sample of the style can be filled.
    async fn compose(&self, request: &ComposeRequest) -> AppResult<Composition>;
}

pub type SharedComposer = Arc<dyn ContentComposer>;

fn builtin(request: &ComposeRequest) -> AppResult<Composed> {
    compose(&request.style, &request.value_propositions, &request.profile, &request.signals, request.channel)
}

/// The deterministic built-in composer.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinComposer;

#[async_trait]
impl ContentComposer for BuiltinComposer {
    async fn compose(&self, request: &ComposeRequest) -> AppResult<Composition> {
        Ok(Composition { composed: builtin(request)?, composer: ComposerKind::Builtin, fallback_reason: None })
    }
}

/// How to reach an OpenAI-compatible chat-completions API.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenAiConfig {
    /// E.g. `https://api.openai.com/v1`; `/chat/completions` is appended.
    pub base_url: String,
    /// Sent as `Authorization: Bearer …`; local servers may need none.
    pub api_key: Option<String>,
    pub model: String,
    pub timeout: Duration,
}

impl fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl OpenAiConfig {
    /// The configuration from its three settings: `None` when no base URL is
    /// set (the built-in composer only); an error when it is set without a model.
    pub fn from_settings(
        base_url: Option<String>,
        api_key: Option<String>,
        model: Option<String>,
    ) -> Result<Option<Self>, String> {
        let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let Some(base_url) = clean(base_url) else { return Ok(None) };
        let model = clean(model).ok_or("SONARLY_OPENAI_MODEL is required with SONARLY_OPENAI_BASE_URL")?;
        Ok(Some(Self { base_url, api_key: clean(api_key), model, timeout: OPENAI_DEFAULT_TIMEOUT }))
    }
}

/// The composer to use: the model when configured, else the built-in one.
pub fn composer_for(config: Option<OpenAiConfig>) -> Result<SharedComposer, String> {
    Ok(match config {
        None => Arc::new(BuiltinComposer),
        Some(config) => Arc::new(OpenAiComposer::new(config)?),
    })
}

/// The OpenAI-compatible composer (see the module docs).
pub struct OpenAiComposer {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    config: OpenAiConfig,
}

impl fmt::Debug for OpenAiComposer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiComposer").field("config", &self.config).finish_non_exhaustive()
    }
}

impl OpenAiComposer {
    pub fn new(config: OpenAiConfig) -> Result<Self, String> {
        let mut base = reqwest::Url::parse(config.base_url.trim())
            .map_err(|e| format!("SONARLY_OPENAI_BASE_URL is not a URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err("SONARLY_OPENAI_BASE_URL must be an http(s) URL".into());
        }
        let path = base.path().trim_end_matches('/').to_owned();
        base.set_path(&format!("{path}/chat/completions"));
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self { client, endpoint: base, config })
    }

    /// One chat completion: (subject, body) as the model wrote them.
    async fn generate(&self, request: &ComposeRequest, draft: &Composed) -> Result<(Option<String>, String), String> {
        let body = json!({
            "model": self.config.model,
            "temperature": 0.2,
            "messages": [
                { "role": "system", "content": SYSTEM_PROMPT },
                { "role": "user", "content": user_prompt(request, draft) },
            ],
        });
        let mut call = self.client.post(self.endpoint.clone()).json(&body);
        if let Some(key) = &self.config.api_key {
            call = call.bearer_auth(key);
        }
        let response = call.send().await.map_err(|e| {
            if e.is_timeout() { "the model did not answer in time".to_owned() } else { format!("HTTP error: {e}") }
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the model API answered HTTP {}", status.as_u16()));
        }
        let answer: Value = response.json().await.map_err(|e| format!("unreadable answer: {e}"))?;
        let content = answer["choices"][0]["message"]["content"]
            .as_str()
            .ok_or("the answer has no choices[0].message.content")?;
        parse_content(content, request.channel)
    }
}

#[async_trait]
impl ContentComposer for OpenAiComposer {
    async fn compose(&self, request: &ComposeRequest) -> AppResult<Composition> {
        let draft = builtin(request)?;
        if request.style.use_strict_template {
            return Ok(Composition { composed: draft, composer: ComposerKind::Builtin, fallback_reason: None });
        }
        let written = self.generate(request, &draft).await.and_then(|(subject, body)| {
            check_external(
                &request.style,
                &request.value_propositions,
                &request.profile,
                &request.signals,
                request.channel,
                subject.as_deref(),
                &body,
            )
        });
        Ok(match written {
            Ok(composed) => Composition {
                composed: Composed { sample_type_used: draft.sample_type_used, ..composed },
                composer: ComposerKind::OpenAi,
                fallback_reason: None,
            },
            Err(reason) => {
                tracing::warn!(style = %request.style.id, %reason, "the model's content was not used; built-in draft instead");
                Composition { composed: draft, composer: ComposerKind::Builtin, fallback_reason: Some(reason) }
            }
        })
    }
}

const SYSTEM_PROMPT: &str = "You write short, personal LinkedIn outreach messages for a B2B sales team. \
You rewrite a draft so it reads naturally for one prospect, keeping its intent, structure, language and facts. \
Never invent facts about the prospect. Never output template variables such as {{ FirstName }} or any text in \
double braces. Answer with a JSON object only: {\"subject\": string or null, \"body\": string}.";

fn user_prompt(request: &ComposeRequest, draft: &Composed) -> String {
    let channel = request.channel;
    let style = &request.style;
    let mut out = String::new();
    let line = |out: &mut String, text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(&mut out, format!("Channel: {} (body at most {} characters).", channel.as_str(), channel.body_limit()));
    match channel.subject_limit() {
        Some(limit) if channel.requires_subject() => {
            line(&mut out, format!("A subject is required, at most {limit} characters."))
        }
        Some(limit) => line(&mut out, format!("A subject is optional, at most {limit} characters.")),
        None => line(&mut out, "No subject: set \"subject\" to null.".into()),
    }
    line(&mut out, format!("Writing style: {}", style.name));
    if let Some(description) = &style.description {
        line(&mut out, format!("Style notes: {description}"));
    }
    let includes: Vec<&str> = style.include_rules.iter().map(String::as_str).collect();
    if !includes.is_empty() {
        line(&mut out, format!("Phrases that must appear verbatim: {}", quoted(&includes)));
    }
    let excludes: Vec<&str> = style.exclude_rules.iter().map(String::as_str).collect();
    if !excludes.is_empty() {
        line(&mut out, format!("Phrases that must never appear: {}", quoted(&excludes)));
    }
    if let Some(vp) = request.value_propositions.first() {
        line(&mut out, format!("Our value proposition: {}", vp.name));
        if !vp.values.is_empty() {
            line(&mut out, format!("Values: {}", vp.values.join("; ")));
        }
        if !vp.challenges.is_empty() {
            line(&mut out, format!("Challenges we solve: {}", vp.challenges.join("; ")));
        }
    }
    let p = &request.profile;
    let field = |name: &str, value: &Option<String>| value.as_deref().map(|v| format!("{name}: {v}"));
    let profile: Vec<String> = [
        field("First name", &p.first_name),
        field("Last name", &p.last_name),
        field("Title", &p.title),
        field("Company", &p.company),
        field("Location", &p.location),
    ]
    .into_iter()
    .flatten()
    .collect();
    line(&mut out, format!("Prospect: {}", if profile.is_empty() { "unknown".into() } else { profile.join("; ") }));
    if !request.signals.is_empty() {
        line(&mut out, "Recent signals, most relevant first:".into());
        for s in request.signals.iter().take(5) {
            line(&mut out, format!("- [{}] {}", s.tag, s.summary));
        }
    }
    if !request.history.is_empty() {
        line(&mut out, "Conversation so far, oldest first:".into());
        for m in request.history.iter().take(HISTORY_LIMIT).rev() {
            let who = if m.is_sender { "Us" } else { "Prospect" };
            line(&mut out, format!("- {who}: {}", m.text.split_whitespace().collect::<Vec<_>>().join(" ")));
        }
    }
    line(&mut out, "Draft to rewrite:".into());
    if let Some(subject) = &draft.subject {
        line(&mut out, format!("Subject: {subject}"));
    }
    out.push_str(&draft.body);
    out
}

fn quoted(items: &[&str]) -> String {
    items.iter().map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(", ")
}

/// Reads the model's answer: a JSON object `{subject, body}` (possibly in a
/// code fence); plain text is taken as the body for channels without a subject.
fn parse_content(content: &str, channel: Channel) -> Result<(Option<String>, String), String> {
    let trimmed = content.trim();
    let unfenced = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.trim_end().strip_suffix("```"))
        .map(str::trim)
        .unwrap_or(trimmed);
    match serde_json::from_str::<Value>(unfenced) {
        Ok(Value::Object(map)) => {
            let body = map.get("body").and_then(Value::as_str).ok_or("the JSON answer has no \"body\"")?;
            let subject = map.get("subject").and_then(Value::as_str).map(str::to_owned);
            Ok((subject, body.to_owned()))
        }
        _ if channel.subject_limit().is_none() && !unfenced.starts_with('{') => Ok((None, unfenced.to_owned())),
        _ => Err("the answer is not the requested JSON object".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_decide_whether_a_model_is_used() {
        assert_eq!(OpenAiConfig::from_settings(None, Some("k".into()), Some("m".into())).unwrap(), None);
        assert_eq!(OpenAiConfig::from_settings(Some(" ".into()), None, None).unwrap(), None);
        assert!(OpenAiConfig::from_settings(Some("http://x".into()), None, None).is_err());
        let c = OpenAiConfig::from_settings(Some("http://x/v1".into()), Some("".into()), Some("m".into()))
            .unwrap()
            .unwrap();
        assert_eq!((c.api_key.as_deref(), c.model.as_str()), (None, "m"));
        assert!(OpenAiComposer::new(OpenAiConfig { base_url: "ftp://x".into(), ..c.clone() }).is_err());
        let composer = OpenAiComposer::new(OpenAiConfig { base_url: "http://x/v1/".into(), ..c }).unwrap();
        assert_eq!(composer.endpoint.as_str(), "http://x/v1/chat/completions");
        assert!(
            !format!(
                "{:?}",
                OpenAiConfig::from_settings(Some("http://x".into()), Some("sk-secret".into()), Some("m".into()))
            )
            .contains("sk-secret")
        );
    }

    #[test]
    fn answers_are_read_leniently() {
        let dm = Channel::DirectMessage;
        assert_eq!(parse_content(r#"{"subject":null,"body":"Hi"}"#, dm).unwrap(), (None, "Hi".into()));
        assert_eq!(parse_content("```json\n{\"body\":\"Hi\"}\n```", dm).unwrap(), (None, "Hi".into()));
        assert_eq!(parse_content("Just text.", dm).unwrap(), (None, "Just text.".into()));
        assert!(parse_content("Just text.", Channel::InMail).is_err());
        assert!(parse_content(r#"{"text":"Hi"}"#, dm).is_err());
        assert_eq!(
            parse_content(r#"{"subject":"S","body":"B"}"#, Channel::InMail).unwrap(),
            (Some("S".into()), "B".into())
        );
    }
}
