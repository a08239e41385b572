//! Writing styles (spec 2.7 T8–T11, plus delete and the deterministic preview).

use super::{
    DeletedView, channel_schema, content_type_schema, deleted, rules_or_null_schema, rules_schema, sample_type_schema,
};
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok, respond};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::{GroupAccess, ListData, ListParams, item_key, page_request};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sonarly_app::templates::{self as uc, PreviewProspect, WRITING_STYLES_LIST};
use sonarly_domain::composer::{ProspectProfile, ProspectSignal};
use sonarly_domain::scope::Scope;
use sonarly_domain::signals::DEFAULT_COMPOSE_MIN_SCORE;
use sonarly_domain::template::{Patch, Sample, SampleInput, WritingStyle, WritingStyleInput};
use sonarly_domain::{DomainError, ErrorCode, FieldIssue};
use utoipa::ToSchema;

/// One example message of a writing style.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SampleView {
    #[serde(rename = "type")]
    #[schema(schema_with = sample_type_schema)]
    pub sample_type: String,
    #[schema(example = "Hi {{ FirstName }}, congrats on {{ Signal }}!")]
    pub message: String,
    #[schema(example = "Quick follow-up")]
    pub subject: Option<String>,
    pub signal_tag: Option<String>,
}

impl From<Sample> for SampleView {
    fn from(s: Sample) -> Self {
        Self {
            sample_type: s.sample_type.as_str().to_owned(),
            message: s.message,
            subject: s.subject,
            signal_tag: s.signal_tag,
        }
    }
}

/// A writing style used for generated or templated content.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WritingStyleView {
    #[schema(example = "507f1f77bcf86cd799439011")]
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    #[schema(schema_with = content_type_schema)]
    pub content_type: String,
    pub samples: Vec<SampleView>,
    pub include_rules: Vec<String>,
    pub exclude_rules: Vec<String>,
    /// Whether the writing style uses template fill-in instead of AI free text.
    pub use_strict_template: bool,
    /// The value proposition used for campaign messaging, if any.
    pub value_proposition_id: Option<String>,
    #[schema(example = "2026-04-28T15:30:00.000Z")]
    pub created_at: String,
    /// When the writing style last changed (an addition to the documented shape).
    #[schema(example = "2026-04-28T15:30:00.000Z")]
    pub updated_at: String,
}

impl From<WritingStyle> for WritingStyleView {
    fn from(w: WritingStyle) -> Self {
        Self {
            id: w.id,
            name: w.name,
            description: w.description,
            content_type: w.content_type.as_str().to_owned(),
            samples: w.samples.into_iter().map(SampleView::from).collect(),
            include_rules: w.include_rules,
            exclude_rules: w.exclude_rules,
            use_strict_template: w.use_strict_template,
            value_proposition_id: w.value_proposition_id,
            created_at: w.created_at.to_rfc3339(),
            updated_at: w.updated_at.to_rfc3339(),
        }
    }
}

/// A sample as sent. Template variables use double braces (`{{ FirstName }}`,
/// `{{ Signal }}`, `{{ Signal_anonym }}`…) and are not validated on write.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SampleBody {
    #[serde(rename = "type")]
    #[schema(schema_with = sample_type_schema)]
    pub sample_type: String,
    /// 1 to 8,000 characters, not blank.
    #[schema(min_length = 1, max_length = 8000, pattern = "\\S")]
    pub message: String,
    /// Up to 200 characters; used for InMail and email.
    #[schema(max_length = 200)]
    pub subject: Option<String>,
    /// For `signal` samples: only prospects with a signal of this tag use it first (up to 100 characters).
    #[schema(max_length = 100)]
    pub signal_tag: Option<String>,
}

impl From<SampleBody> for SampleInput {
    fn from(b: SampleBody) -> Self {
        Self { sample_type: b.sample_type, message: b.message, subject: b.subject, signal_tag: b.signal_tag }
    }
}

fn samples(list: Vec<SampleBody>) -> Vec<SampleInput> {
    list.into_iter().map(SampleInput::from).collect()
}

/// Body of `POST …/writing-styles`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateWritingStyleBody {
    /// Human-readable name for this resource (1 to 200 characters, not blank; trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// Human-readable description for this resource (up to 2,000 characters).
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// Defaults to `direct_message`.
    #[schema(schema_with = content_type_schema)]
    pub content_type: Option<String>,
    /// 1 to 50 samples.
    #[schema(min_items = 1, max_items = 50)]
    pub samples: Vec<SampleBody>,
    /// A value proposition of the same account group (1 to 100 characters; 400 otherwise).
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub value_proposition_id: Option<String>,
    /// Phrases that must appear.
    #[schema(schema_with = rules_or_null_schema)]
    pub include_rules: Option<Vec<String>>,
    /// Phrases that must not appear.
    #[schema(schema_with = rules_or_null_schema)]
    pub exclude_rules: Option<Vec<String>>,
    /// Whether the writing style uses template fill-in instead of AI free text (default true).
    pub use_strict_template: Option<bool>,
}

impl From<CreateWritingStyleBody> for WritingStyleInput {
    fn from(b: CreateWritingStyleBody) -> Self {
        Self {
            name: Patch::Value(b.name),
            description: Patch::from_option(b.description),
            content_type: Patch::from_option(b.content_type),
            samples: Patch::Value(samples(b.samples)),
            value_proposition_id: Patch::from_option(b.value_proposition_id),
            include_rules: Patch::from_option(b.include_rules),
            exclude_rules: Patch::from_option(b.exclude_rules),
            use_strict_template: Patch::from_option(b.use_strict_template),
        }
    }
}

/// Body of `PATCH …/writing-styles/{writingStyleId}`: absent fields are kept;
/// `null` clears `description` and `valuePropositionId` (and is refused for the
/// others). `samples` replaces the whole list.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateWritingStyleBody {
    /// 1 to 200 characters, not blank; `null` is refused.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: Patch<String>,
    /// Up to 2,000 characters; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(schema_with = content_type_schema)]
    pub content_type: Patch<String>,
    /// 1 to 50 samples; replaces the whole list.
    #[serde(default)]
    #[schema(value_type = Vec<SampleBody>, min_items = 1, max_items = 50)]
    pub samples: Patch<Vec<SampleBody>>,
    /// 1 to 100 characters; `null` unlinks it.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100, pattern = "\\S")]
    pub value_proposition_id: Patch<String>,
    #[serde(default)]
    #[schema(schema_with = rules_schema)]
    pub include_rules: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(schema_with = rules_schema)]
    pub exclude_rules: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = bool)]
    pub use_strict_template: Patch<bool>,
}

impl From<UpdateWritingStyleBody> for WritingStyleInput {
    fn from(b: UpdateWritingStyleBody) -> Self {
        let samples = match b.samples {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(list) => Patch::Value(samples(list)),
        };
        Self {
            name: b.name,
            description: b.description,
            content_type: b.content_type,
            samples,
            value_proposition_id: b.value_proposition_id,
            include_rules: b.include_rules,
            exclude_rules: b.exclude_rules,
            use_strict_template: b.use_strict_template,
        }
    }
}

/// The prospect a preview is written for. Blank or absent fields have no value.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewProfileBody {
    #[schema(max_length = 200)]
    pub first_name: Option<String>,
    #[schema(max_length = 200)]
    pub last_name: Option<String>,
    #[schema(max_length = 200)]
    pub company: Option<String>,
    #[schema(max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 200)]
    pub location: Option<String>,
}

impl From<PreviewProfileBody> for ProspectProfile {
    fn from(b: PreviewProfileBody) -> Self {
        Self {
            first_name: b.first_name,
            last_name: b.last_name,
            company: b.company,
            title: b.title,
            location: b.location,
        }
    }
}

/// One signal of the prospect (most relevant first).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewSignalBody {
    /// The signal's tag or type, matched against samples' `signalTag` (`type` is accepted too).
    #[serde(alias = "type")]
    #[schema(example = "funding", max_length = 200)]
    pub tag: String,
    /// What `{{ Signal }}` says (up to 2,000 characters).
    #[schema(example = "the Series B you announced last week", max_length = 2000)]
    pub summary: Option<String>,
}

/// Body of `POST …/writing-styles/{writingStyleId}/preview`: the prospect is
/// given inline (`profile` + `signals`) or as a stored prospect (`prospectId`,
/// whose stored signals are used), one or the other.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewBody {
    #[schema(schema_with = channel_schema)]
    pub channel: String,
    /// The prospect's profile (required unless `prospectId` is given).
    pub profile: Option<PreviewProfileBody>,
    /// The prospect's signals, most relevant first (up to 50; only with `profile`).
    #[schema(max_items = 50)]
    pub signals: Option<Vec<PreviewSignalBody>>,
    /// A prospect of this account group: its profile, its stored signals and
    /// its conversation are used (instead of `profile` and `signals`). Needs
    /// the `prospects:read` permission besides `templates:read` (else 403
    /// SCOPE_DENIED); its stored signals are used only when the key also has
    /// `signals:read`, its conversation only with `messages:read`. 1 to 100
    /// characters; one that names no prospect of the group is 422.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub prospect_id: Option<String>,
    /// With `prospectId`: the lowest score of the stored signals used (0 to 100, default 40).
    #[schema(minimum = 0, maximum = 100)]
    pub min_score: Option<i64>,
}

/// What the built-in composer produced.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewView {
    /// For InMail and email samples with a subject; null otherwise.
    pub subject: Option<String>,
    pub body: String,
    /// The type of the sample that was used.
    #[schema(schema_with = sample_type_schema)]
    pub sample_type: String,
    /// Who wrote it: `builtin` (the deterministic composer) or `openai` (the
    /// configured model, for styles with `useStrictTemplate: false`).
    #[schema(example = "builtin")]
    pub composer: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WritingStylePath {
    #[allow(dead_code)]
    account_group_id: String,
    writing_style_id: String,
}

/// List writing styles, newest first.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/writing-styles", tag = "Templates",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."), ListParams),
    responses(
        (status = 200, description = "Paginated writing styles", body = Envelope<ListData<WritingStyleView>>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["templates:read"]))
)]
pub async fn list_writing_styles(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult {
    let (store, group) = (&state.store, &access.group_id);
    let page =
        page_request(&state.cursors, WRITING_STYLES_LIST, q.limit.as_deref(), q.cursor.as_deref(), |id| async move {
            item_key(uc::get_writing_style(store, group, &id).await, |t| t.created_at)
        })
        .await?;
    let items = uc::list_writing_styles(&state.store, &state.cursors, &access.group_id, &page).await?;
    Ok(ok(ListData::from_page(items, WritingStyleView::from)))
}

/// Create a writing style.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/writing-styles", tag = "Templates",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request.")),
    request_body = CreateWritingStyleBody,
    responses(
        (status = 201, description = "Writing style created", body = Envelope<WritingStyleView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["templates:write"]))
)]
pub async fn create_writing_style(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiJson(body): ApiJson<CreateWritingStyleBody>,
) -> ApiResult {
    let style = uc::create_writing_style(&state.store, state.clock.as_ref(), &access.group_id, body.into()).await?;
    Ok(respond(StatusCode::CREATED, WritingStyleView::from(style)))
}

/// Get a writing style.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/writing-styles/{writingStyleId}", tag = "Templates",
    params(
        ("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
        ("writingStyleId" = String, Path, description = "Writing style ID used for generated or templated content."),
    ),
    responses(
        (status = 200, description = "Writing style details", body = Envelope<WritingStyleView>),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["templates:read"]))
)]
pub async fn get_writing_style(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<WritingStylePath>,
) -> ApiResult {
    let style = uc::get_writing_style(&state.store, &access.group_id, &path.writing_style_id).await?;
    Ok(ok(WritingStyleView::from(style)))
}

/// Update a writing style; absent fields are kept.
#[utoipa::path(
    patch, path = "/v1/accounts/{accountGroupId}/writing-styles/{writingStyleId}", tag = "Templates",
    params(
        ("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
        ("writingStyleId" = String, Path, description = "Writing style ID used for generated or templated content."),
    ),
    request_body = UpdateWritingStyleBody,
    responses(
        (status = 200, description = "Writing style updated", body = Envelope<WritingStyleView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["templates:write"]))
)]
pub async fn update_writing_style(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<WritingStylePath>,
    ApiJson(body): ApiJson<UpdateWritingStyleBody>,
) -> ApiResult {
    let style = uc::update_writing_style(
        &state.store,
        state.clock.as_ref(),
        &access.group_id,
        &path.writing_style_id,
        body.into(),
    )
    .await?;
    Ok(ok(WritingStyleView::from(style)))
}

/// Delete a writing style (an addition: the docs name delete among the
/// `templates:write` operations but show no page for it). A writing style still
/// used elsewhere answers 409 CONFLICT naming its users.
#[utoipa::path(
    delete, path = "/v1/accounts/{accountGroupId}/writing-styles/{writingStyleId}", tag = "Templates",
    params(
        ("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
        ("writingStyleId" = String, Path, description = "Writing style ID used for generated or templated content."),
    ),
    responses(
        (status = 200, description = "Writing style deleted", body = Envelope<DeletedView>),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "Still in use (CONFLICT)", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["templates:write"]))
)]
pub async fn delete_writing_style(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<WritingStylePath>,
) -> ApiResult {
    uc::delete_writing_style(&state.store, &access.group_id, &path.writing_style_id).await?;
    Ok(deleted())
}

/// Preview a writing style for one prospect (an addition).
///
/// The prospect is given inline (`profile`, `signals`) or stored
/// (`prospectId`, with its stored signals). The built-in deterministic
/// composer picks a sample (signal, then basic, then fallback), fills the
/// variables, applies the include and exclude rules and fits the channel's
/// length limit; when a model is configured and the style is not strict, the
/// model rewrites that draft under the same rules (falling back to the draft
/// on any failure). Nothing is stored or sent.
///
/// Permissions: `templates:read`; with `prospectId` also `prospects:read`
/// (else 403 SCOPE_DENIED). The stored prospect's signals are used only when
/// the key has `signals:read`, its conversation only with `messages:read`;
/// otherwise the preview is composed without them.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/writing-styles/{writingStyleId}/preview", tag = "Templates",
    params(
        ("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
        ("writingStyleId" = String, Path, description = "Writing style ID used for generated or templated content."),
    ),
    request_body = PreviewBody,
    responses(
        (status = 200, description = "Composed content", body = Envelope<PreviewView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 422, description = "No sample can be filled for this prospect, the channel does not fit the content type, or prospectId names no prospect of this account group (VALIDATION_ERROR)", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["templates:read"]))
)]
pub async fn preview_writing_style(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<WritingStylePath>,
    ApiJson(body): ApiJson<PreviewBody>,
) -> ApiResult {
    let mut issues: Vec<FieldIssue> = Vec::new();
    let channel = uc::parse_channel(&body.channel).map_err(|e| issues.extend(e.fields)).ok();
    let prospect = match (body.profile, body.prospect_id) {
        (Some(_), Some(_)) => {
            issues.push(FieldIssue::new("prospectId", "give profile or prospectId, not both"));
            None
        }
        (Some(profile), None) => {
            if body.min_score.is_some() {
                issues.push(FieldIssue::new("minScore", "applies only with prospectId"));
            }
            Some(PreviewProspect::Inline {
                profile: profile.into(),
                signals: body
                    .signals
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| ProspectSignal { tag: s.tag, summary: s.summary.unwrap_or_default() })
                    .collect(),
            })
        }
        (None, Some(prospect_id)) => {
            let prospect_id = prospect_id.trim().to_owned();
            if prospect_id.is_empty() || prospect_id.chars().count() > 100 {
                issues.push(FieldIssue::new("prospectId", "must be 1 to 100 characters"));
            }
            if body.signals.is_some() {
                issues.push(FieldIssue::new("signals", "come from the stored prospect when prospectId is given"));
            }
            let min_score = match body.min_score {
                None => Some(DEFAULT_COMPOSE_MIN_SCORE),
                Some(n) => u8::try_from(n).ok().filter(|n| *n <= 100),
            };
            if min_score.is_none() {
                issues.push(FieldIssue::new("minScore", "must be an integer from 0 to 100"));
            }
            let scopes = &access.key.scopes;
            min_score.map(|min_score| PreviewProspect::Stored {
                prospect_id,
                min_score,
                with_signals: scopes.contains(Scope::SignalsRead),
                with_history: scopes.contains(Scope::MessagesRead),
            })
        }
        (None, None) => {
            issues.push(FieldIssue::new("profile", "is required (or give prospectId)"));
            None
        }
    };
    let (Some(channel), Some(prospect), true) = (channel, prospect, issues.is_empty()) else {
        return Err(DomainError::invalid(issues).into());
    };
    // A stored prospect is read on the caller's behalf: templates scopes alone
    // must not reveal what `prospects:read` guards.
    if matches!(prospect, PreviewProspect::Stored { .. }) && !access.key.scopes.contains(Scope::ProspectsRead) {
        return Err(DomainError::new(
            ErrorCode::ScopeDenied,
            "Previewing for a stored prospect (prospectId) needs the prospects:read permission.",
        )
        .into());
    }
    let composition = uc::preview_writing_style(
        &state.store,
        state.composer.as_ref(),
        &access.group_id,
        &path.writing_style_id,
        channel,
        prospect,
    )
    .await?;
    let composed = composition.composed;
    Ok(ok(PreviewView {
        subject: composed.subject,
        body: composed.body,
        sample_type: composed.sample_type_used.as_str().to_owned(),
        composer: composition.composer.as_str().to_owned(),
    }))
}
