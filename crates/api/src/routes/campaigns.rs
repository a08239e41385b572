//! Campaigns (spec 2.5): starter templates, drafts, duplication, content
//! slots, start/stop, lead status and the approval gate.

use super::contract::schemas::{one_of, strings};
use super::{GroupAccess, ListData, item_key, page_request};
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok, respond};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sonarly_app::campaigns::{
    self as uc, ApprovalAction, CAMPAIGN_LEADS_LIST, CAMPAIGNS_LIST, CampaignFunnel, CampaignLeadRow, CampaignState,
    CreateCampaignRequest, DuplicateCampaignRequest, LeadStatus, PendingContent,
};
use sonarly_domain::campaign::{CampaignStatus, ContentSlot, StopReason, WorkflowStatus};
use utoipa::{IntoParams, ToSchema};

/// Campaign metadata, without workflow definitions.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// `draft`, `active`, `stopped` or `completed`.
    #[schema(value_type = String)]
    pub status: CampaignStatus,
    pub selected_lead_count: i64,
    pub include_conversation_history: bool,
    pub auto_cancel_on_message_received: bool,
    pub outreach_language: String,
    pub created_at: String,
    pub updated_at: String,
    pub started_at: Option<String>,
    /// While LinkedIn asks the campaign's account to pause: until when.
    pub rate_limited_until: Option<String>,
    /// The starter template it was created from (an addition).
    pub starter_template_id: String,
    /// The audience its leads were selected from (an addition).
    pub audience_id: String,
}

impl From<CampaignState> for CampaignView {
    fn from(s: CampaignState) -> Self {
        let c = s.campaign;
        Self {
            id: c.id,
            name: c.name,
            description: c.description,
            status: c.status,
            selected_lead_count: c.selected_lead_count,
            include_conversation_history: c.include_conversation_history,
            auto_cancel_on_message_received: c.auto_cancel_on_message_received,
            outreach_language: c.outreach_language,
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
            started_at: c.started_at.map(|t| t.to_rfc3339()),
            rate_limited_until: s.rate_limited_until.map(|t| t.to_rfc3339()),
            starter_template_id: c.starter_template.id().to_owned(),
            audience_id: c.audience_id,
        }
    }
}

/// One entry of the starter-template catalog.
#[derive(Serialize, ToSchema)]
pub struct StarterTemplateView {
    /// `engage-inmail`, `engage-connect-dm`, `connect-engage-dm` or `connect`.
    pub id: String,
    pub name: String,
    pub description: String,
    /// Whether the group's connected accounts (and InMail credits) can run it.
    pub available: bool,
}

#[derive(Serialize, ToSchema)]
pub struct StarterTemplateList {
    pub items: Vec<StarterTemplateView>,
}

/// An editable content slot.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContentSlotView {
    pub id: String,
    /// `direct_message`, `inmail` or `connection_request`.
    pub channel: String,
    pub label: String,
    pub position: u32,
    pub channel_position: u32,
    /// The linked writing style.
    pub template_id: Option<String>,
}

impl From<ContentSlot> for ContentSlotView {
    fn from(s: ContentSlot) -> Self {
        Self {
            id: s.id,
            channel: s.channel.as_str().to_owned(),
            label: s.label,
            position: s.position,
            channel_position: s.channel_position,
            template_id: s.template_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContentSlotList {
    pub items: Vec<ContentSlotView>,
}

/// A lead's workflow status in one campaign.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadStatusView {
    pub lead_id: String,
    /// `pending`, `waiting`, `completed`, `stopped`, `not_started`, `not_in_campaign` or `not_eligible`.
    #[schema(value_type = String)]
    pub workflow_status: WorkflowStatus,
    pub workflow_instance_id: Option<String>,
    pub latest_step: Option<String>,
    /// e.g. `CONTENT_DISCARDED`, `REPLY_RECEIVED`, `INVITATION_NOT_ACCEPTED`, `CAMPAIGN_STOPPED`, `NO_INMAIL_CREDITS`.
    #[schema(value_type = Option<String>)]
    pub workflow_stop_reason: Option<StopReason>,
    pub has_pending_approval: bool,
}

impl From<LeadStatus> for LeadStatusView {
    fn from(s: LeadStatus) -> Self {
        Self {
            lead_id: s.lead_id,
            workflow_status: s.workflow_status,
            workflow_instance_id: s.workflow_instance_id,
            latest_step: s.latest_step,
            workflow_stop_reason: s.workflow_stop_reason,
            has_pending_approval: s.has_pending_approval,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LeadStatusList {
    pub items: Vec<LeadStatusView>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartedCampaignView {
    pub campaign: CampaignView,
    pub triggered: bool,
    pub instances_created: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoppedCampaignView {
    pub campaign: CampaignView,
    pub instances_stopped: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalResultView {
    /// `approved` or `discarded`.
    pub action: String,
    pub workflow_instance_id: String,
    pub lead_status: LeadStatusView,
}

// The route deserializes this type, so the schema documents what is parsed.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateCampaignBody {
    #[schema(schema_with = starter_template_id, example = "connect-engage-dm")]
    pub starter_template_id: String,
    /// Human-readable name for this resource (1 to 200 characters, not blank; trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// A ready audience of this account group (1 to 100 characters; unknown or
    /// foreign is 400, still being filled is 409 AUDIENCE_NOT_READY).
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub audience_id: String,
    #[schema(schema_with = lead_ids)]
    pub lead_ids: Option<Vec<String>>,
}

// The route deserializes this type, so the schema documents what is parsed.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateCampaignBody {
    /// Name of the copy (1 to 200 characters, not blank); `<name> (copy)` when absent.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: Option<String>,
    /// A ready audience of this account group (1 to 100 characters; unknown or
    /// foreign is 400, still being filled is 409 AUDIENCE_NOT_READY).
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub audience_id: String,
    #[schema(schema_with = lead_ids)]
    pub lead_ids: Option<Vec<String>>,
}

impl From<CreateCampaignBody> for CreateCampaignRequest {
    fn from(body: CreateCampaignBody) -> Self {
        let CreateCampaignBody { starter_template_id, name, audience_id, lead_ids } = body;
        Self { starter_template_id, name, audience_id, lead_ids }
    }
}

impl From<DuplicateCampaignBody> for DuplicateCampaignRequest {
    fn from(body: DuplicateCampaignBody) -> Self {
        let DuplicateCampaignBody { name, audience_id, lead_ids } = body;
        Self { name, audience_id, lead_ids }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateContentSlotBody {
    /// The writing style to link (1 to 100 characters; an unknown one, or one
    /// whose contentType does not fit the slot's channel, is 422).
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub template_id: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignListParams {
    /// Opaque pagination cursor returned by the previous page (`nextCursor`),
    /// or the id of a campaign of this list: the page then starts after it.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
    /// Maximum number of campaigns in this page (1 to 100). Without it, as the
    /// campaign list is documented, every campaign is returned in one page (up
    /// to 10,000; past that the answer pages with `hasMore` and `nextCursor`).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Only campaigns in this status.
    #[param(schema_with = campaign_status)]
    pub status: Option<String>,
}

fn campaign_status() -> utoipa::openapi::Object {
    one_of(&CampaignStatus::ALL.map(CampaignStatus::as_str), "A campaign status.")
}

fn starter_template_id() -> utoipa::openapi::Object {
    let ids: Vec<&str> = sonarly_domain::campaign::StarterTemplate::ALL.iter().map(|t| t.id()).collect();
    one_of(&ids, "Starter template ID used to create the campaign draft.")
}

fn lead_ids() -> utoipa::openapi::Array {
    strings(
        1,
        uc::MAX_LEAD_IDS,
        100,
        true,
        "Lead IDs to include: a subset of the audience's prospects (1 to 10,000 ids of 1 to 100 characters, \
         repeats counted once; each must be a lead of the audience, else 400 naming `leadIds[i]`). The whole \
         audience when absent.",
    )
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct LeadStatusParams {
    /// Comma-separated lead IDs: 1 to 100 distinct ids of at most 100
    /// characters each (repeats counted once; at most 10,100 characters in all).
    #[param(required = true, min_length = 1, max_length = 10_100)]
    pub lead_ids: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignPath {
    #[allow(dead_code)]
    account_group_id: String,
    campaign_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlotPath {
    #[allow(dead_code)]
    account_group_id: String,
    campaign_id: String,
    slot_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstancePath {
    #[allow(dead_code)]
    account_group_id: String,
    campaign_id: String,
    workflow_instance_id: String,
}

/// List curated public starter templates for campaign creation.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/campaigns/starter-templates", tag = "Campaigns",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request.")),
    responses(
        (status = 200, description = "Starter template catalog", body = Envelope<StarterTemplateList>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["campaigns:read"]))
)]
pub async fn starter_templates(State(state): State<AppState>, access: GroupAccess) -> ApiResult {
    let items = uc::starter_templates(&state.store, &state.registry, &access.group_id).await?;
    Ok(ok(StarterTemplateList {
        items: items
            .into_iter()
            .map(|i| StarterTemplateView {
                id: i.template.id().to_owned(),
                name: i.template.name().to_owned(),
                description: i.template.description().to_owned(),
                available: i.available,
            })
            .collect(),
    }))
}

/// List campaigns for an account group, newest first.
///
/// As documented, without parameters the answer holds every campaign; `limit`,
/// `cursor` and `status` are additions (cursor paging like every other list).
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/campaigns", tag = "Campaigns",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."), CampaignListParams),
    responses(
        (status = 200, description = "Campaign metadata without workflow definitions", body = Envelope<ListData<CampaignView>>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["campaigns:read"]))
)]
pub async fn list_campaigns(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiQuery(q): ApiQuery<CampaignListParams>,
) -> ApiResult {
    let (store, clock, codec, group) = (&state.store, state.clock.as_ref(), &state.cursors, &access.group_id);
    let page = page_request(codec, CAMPAIGNS_LIST, q.limit.as_deref(), q.cursor.as_deref(), |id| async move {
        item_key(uc::get_campaign(store, group, &id).await, |c| c.created_at)
    })
    .await?;
    let status = q.status.as_deref().map(str::trim);
    let rows = if q.limit.is_none() {
        uc::list_all_campaigns(store, clock, codec, group, status, page.after).await?
    } else {
        uc::list_campaigns(store, clock, codec, group, status, &page).await?
    };
    Ok(ok(ListData::from_page(rows, CampaignView::from)))
}

/// Create a draft campaign from a curated starter template.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/campaigns", tag = "Campaigns",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request.")),
    request_body = CreateCampaignBody,
    responses(
        (status = 201, description = "Created draft campaign metadata", body = Envelope<CampaignView>),
        (status = 400, description = "Request validation failed, including an audienceId or leadIds entry that names nothing usable in the group (VALIDATION_ERROR naming the field)", body = ErrorEnvelope),
        (status = 409, description = "Conflict (AUDIENCE_NOT_READY)", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["campaigns:write"]))
)]
pub async fn create_campaign(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiJson(body): ApiJson<CreateCampaignBody>,
) -> ApiResult {
    let body = CreateCampaignRequest::from(body);
    let campaign = uc::create_campaign(&state.store, state.clock.as_ref(), &access.group_id, &body).await?;
    let view = uc::campaign_state(&state.store, state.clock.as_ref(), campaign).await?;
    Ok(respond(StatusCode::CREATED, CampaignView::from(view)))
}

/// Get a single campaign.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/campaigns/{campaignId}", tag = "Campaigns",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("campaignId" = String, Path, description = "Campaign ID that identifies the campaign to read or mutate.")),
    responses(
        (status = 200, description = "Campaign metadata without workflow definitions", body = Envelope<CampaignView>),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["campaigns:read"]))
)]
pub async fn get_campaign(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<CampaignPath>,
) -> ApiResult {
    let view = uc::get_campaign_state(&state.store, state.clock.as_ref(), &access.group_id, &path.campaign_id).await?;
    Ok(ok(CampaignView::from(view)))
}

/// Duplicate a campaign into a draft with a target audience and selected leads.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/duplicate", tag = "Campaigns",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("campaignId" = String, Path, description = "Campaign ID that identifies the campaign to read or mutate.")),
    request_body = DuplicateCampaignBody,
    responses(
        (status = 201, description = "Duplicated draft campaign metadata", body = Envelope<CampaignView>),
        (status = 400, description = "Request validation failed, including an audienceId or leadIds entry that names nothing usable in the group (VALIDATION_ERROR naming the field)", body = ErrorEnvelope),
        (status = 404, description = "The source campaign was not found", body = ErrorEnvelope),
        (status = 409, description = "Conflict (leads in an active workflow, AUDIENCE_NOT_READY)", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["campaigns:write"]))
)]
pub async fn duplicate_campaign(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<CampaignPath>,
    ApiJson(body): ApiJson<DuplicateCampaignBody>,
) -> ApiResult {
    let body = DuplicateCampaignRequest::from(body);
    let campaign =
        uc::duplicate_campaign(&state.store, state.clock.as_ref(), &access.group_id, &path.campaign_id, &body).await?;
    let view = uc::campaign_state(&state.store, state.clock.as_ref(), campaign).await?;
    Ok(respond(StatusCode::CREATED, CampaignView::from(view)))
}

/// List editable campaign content slots without exposing workflow definitions.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/content-slots", tag = "Campaigns",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("campaignId" = String, Path, description = "Campaign ID that identifies the campaign to read or mutate.")),
    responses(
        (status = 200, description = "Editable campaign content slots", body = Envelope<ContentSlotList>),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["campaigns:read"]))
)]
pub async fn list_content_slots(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<CampaignPath>,
) -> ApiResult {
    let slots = uc::content_slots(&state.store, &access.group_id, &path.campaign_id).await?;
    Ok(ok(ContentSlotList { items: slots.into_iter().map(ContentSlotView::from).collect() }))
}

/// Update the linked template (writing style) of one editable content slot.
#[utoipa::path(
    patch, path = "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/content-slots/{slotId}", tag = "Campaigns",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("campaignId" = String, Path, description = "Campaign ID that identifies the campaign to read or mutate."),
           ("slotId" = String, Path, description = "Campaign content slot ID that identifies the generated content item.")),
    request_body = UpdateContentSlotBody,
    responses(
        (status = 200, description = "Updated campaign content slot", body = Envelope<ContentSlotView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "The campaign is not a draft", body = ErrorEnvelope),
        (status = 422, description = "The writing style is unknown or does not fit the slot's channel", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["campaigns:write"]))
)]
pub async fn update_content_slot(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<SlotPath>,
    ApiJson(body): ApiJson<UpdateContentSlotBody>,
) -> ApiResult {
    let slot = uc::update_content_slot(
        &state.store,
        state.clock.as_ref(),
        &access.group_id,
        &path.campaign_id,
        &path.slot_id,
        &body.template_id,
    )
    .await?;
    Ok(ok(ContentSlotView::from(slot)))
}

/// Start a campaign: one workflow instance per selected lead.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/start", tag = "Campaigns",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("campaignId" = String, Path, description = "Campaign ID that identifies the campaign to read or mutate.")),
    responses(
        (status = 200, description = "Started campaign metadata and trigger summary", body = Envelope<StartedCampaignView>),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "Not startable (not a draft, no leads, unlinked slots, no connected account)", body = ErrorEnvelope),
        (status = 422, description = "A linked writing style no longer fits its slot", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["campaigns:execute"]))
)]
pub async fn start_campaign(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<CampaignPath>,
) -> ApiResult {
    let started =
        uc::start_campaign(&state.store, &state.registry, state.clock.as_ref(), &access.group_id, &path.campaign_id)
            .await?;
    Ok(ok(StartedCampaignView {
        campaign: CampaignView::from(started.campaign),
        triggered: started.triggered,
        instances_created: started.instances_created,
    }))
}

/// Stop an active campaign and every live workflow instance.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/stop", tag = "Campaigns",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("campaignId" = String, Path, description = "Campaign ID that identifies the campaign to read or mutate.")),
    responses(
        (status = 200, description = "Stopped campaign metadata and instance summary", body = Envelope<StoppedCampaignView>),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "The campaign is not active", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["campaigns:execute"]))
)]
pub async fn stop_campaign(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<CampaignPath>,
) -> ApiResult {
    let (campaign, stopped) =
        uc::stop_campaign(&state.store, state.clock.as_ref(), &access.group_id, &path.campaign_id).await?;
    Ok(ok(StoppedCampaignView { campaign: CampaignView::from(campaign), instances_stopped: stopped }))
}

/// Campaign workflow status for a specific set of leads (one row per requested id).
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/lead-status", tag = "Campaigns",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("campaignId" = String, Path, description = "Campaign ID that identifies the campaign to read or mutate."),
           LeadStatusParams),
    responses(
        (status = 200, description = "Campaign workflow status for the requested leads", body = Envelope<LeadStatusList>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["campaigns:read"]))
)]
pub async fn lead_status(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<CampaignPath>,
    ApiQuery(q): ApiQuery<LeadStatusParams>,
) -> ApiResult {
    let ids = uc::parse_lead_ids(q.lead_ids.as_deref())?;
    let rows = uc::lead_status(&state.store, state.clock.as_ref(), &access.group_id, &path.campaign_id, &ids).await?;
    Ok(ok(LeadStatusList { items: rows.into_iter().map(LeadStatusView::from).collect() }))
}

async fn resolve(state: AppState, access: GroupAccess, path: InstancePath, action: ApprovalAction) -> ApiResult {
    let status = uc::resolve_approval(
        &state.store,
        state.clock.as_ref(),
        &access.group_id,
        &path.campaign_id,
        &path.workflow_instance_id,
        action,
    )
    .await?;
    Ok(ok(ApprovalResultView {
        action: action.as_str().to_owned(),
        workflow_instance_id: path.workflow_instance_id,
        lead_status: LeadStatusView::from(status),
    }))
}

/// Approve pending campaign content for a workflow instance.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/workflow-instances/{workflowInstanceId}/approve",
    tag = "Campaigns",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("campaignId" = String, Path, description = "Campaign ID that identifies the campaign to read or mutate."),
           ("workflowInstanceId" = String, Path, description = "Unique identifier for the workflow instance.")),
    responses(
        (status = 200, description = "Pending campaign content approved and workflow status refreshed", body = Envelope<ApprovalResultView>),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "Nothing is pending approval", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["campaigns:execute"]))
)]
pub async fn approve(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<InstancePath>,
) -> ApiResult {
    resolve(state, access, path, ApprovalAction::Approve).await
}

/// Discard pending campaign content for a workflow instance (stops it with CONTENT_DISCARDED).
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/workflow-instances/{workflowInstanceId}/discard",
    tag = "Campaigns",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("campaignId" = String, Path, description = "Campaign ID that identifies the campaign to read or mutate."),
           ("workflowInstanceId" = String, Path, description = "Unique identifier for the workflow instance.")),
    responses(
        (status = 200, description = "Pending campaign content discarded and workflow status refreshed", body = Envelope<ApprovalResultView>),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "Nothing is pending approval", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["campaigns:execute"]))
)]
pub async fn discard(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<InstancePath>,
) -> ApiResult {
    resolve(state, access, path, ApprovalAction::Discard).await
}

/// How many leads reached one stage of the funnel.
#[derive(Serialize, ToSchema)]
pub struct FunnelStageView {
    /// `invited` (invitation delivered), `accepted` (that invitation accepted), `messaged` (a message or
    /// InMail delivered) or `replied` (the lead wrote back since its workflow started).
    pub stage: String,
    pub count: i64,
}

/// How many leads ended (or stand) one way.
#[derive(Serialize, ToSchema)]
pub struct FunnelOutcomeView {
    /// `not_started` (draft), `active`, `completed`, `stopped` or `not_eligible`.
    pub outcome: String,
    /// For `stopped` and `not_eligible`: the stop reason (e.g. `REPLY_RECEIVED`,
    /// `INVITATION_NOT_ACCEPTED`, `NO_INMAIL_CREDITS`); otherwise null.
    pub reason: Option<String>,
    pub count: i64,
}

/// A campaign's leads by stage and outcome (an addition, for the console).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignFunnelView {
    /// Selected leads of the campaign.
    pub leads: i64,
    /// The stages the campaign's workflow has, in workflow order (`invited` and `accepted` only when it
    /// sends invitations, `messaged` only when it sends messages or InMails; `replied` always).
    pub stages: Vec<FunnelStageView>,
    /// Non-empty outcomes: `not_started`, `active`, `completed`, then `stopped` and `not_eligible` per
    /// reason. Their counts add up to `leads`.
    pub outcomes: Vec<FunnelOutcomeView>,
    /// Active leads whose composed content waits for approval.
    pub pending_approval: i64,
}

impl From<CampaignFunnel> for CampaignFunnelView {
    fn from(f: CampaignFunnel) -> Self {
        Self {
            leads: f.leads,
            stages: f
                .stages
                .into_iter()
                .map(|(stage, count)| FunnelStageView { stage: stage.as_str().to_owned(), count })
                .collect(),
            outcomes: f
                .outcomes
                .into_iter()
                .map(|(outcome, reason, count)| FunnelOutcomeView {
                    outcome: outcome.as_str().to_owned(),
                    reason: reason.map(|r| r.as_str().to_owned()),
                    count,
                })
                .collect(),
            pending_approval: f.pending_approval,
        }
    }
}

/// Content held for approval: what `approve` sends and `discard` drops.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingContentView {
    /// The step that sends it: `send_invitation`, `direct_message_1`, `direct_message_2` or `inmail`.
    pub step: String,
    /// `connection_request`, `direct_message` or `inmail`.
    pub channel: String,
    /// The InMail subject; null for other channels.
    pub subject: Option<String>,
    pub text: String,
}

impl From<PendingContent> for PendingContentView {
    fn from(p: PendingContent) -> Self {
        Self { step: p.step.to_owned(), channel: p.channel.as_str().to_owned(), subject: p.subject, text: p.text }
    }
}

/// One lead of a campaign with its workflow (an addition, for the console).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignLeadView {
    /// The prospect id.
    pub lead_id: String,
    /// The prospect's name and headline (null if the prospect was deleted).
    pub name: Option<String>,
    pub headline: Option<String>,
    /// As in the lead status: `not_started`, `pending`, `waiting`, `completed`, `stopped` or `not_eligible`.
    #[schema(value_type = String)]
    pub workflow_status: WorkflowStatus,
    pub workflow_instance_id: Option<String>,
    pub latest_step: Option<String>,
    #[schema(value_type = Option<String>)]
    pub workflow_stop_reason: Option<StopReason>,
    pub has_pending_approval: bool,
    /// While the lead waits for approval: the content `approve` would send.
    pub pending_content: Option<PendingContentView>,
}

impl From<CampaignLeadRow> for CampaignLeadView {
    fn from(r: CampaignLeadRow) -> Self {
        let s = r.status;
        Self {
            lead_id: s.lead_id,
            name: r.name,
            headline: r.headline,
            workflow_status: s.workflow_status,
            workflow_instance_id: s.workflow_instance_id,
            latest_step: s.latest_step,
            workflow_stop_reason: s.workflow_stop_reason,
            has_pending_approval: s.has_pending_approval,
            pending_content: r.pending_content.map(PendingContentView::from),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct CampaignLeadsParams {
    /// Opaque pagination cursor returned by the previous page (`nextCursor`),
    /// or the id of a lead of this campaign: the page then starts after it.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
    /// Maximum number of leads in this page (1 to 100, default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `true`: only leads whose content waits for approval (the approval
    /// queue); `false`: only the others. All leads when absent.
    #[param(value_type = Option<bool>)]
    pub pending_approval: Option<String>,
}

/// A campaign's funnel: leads by stage and outcome (an addition, for the console).
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/funnel", tag = "Campaigns",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("campaignId" = String, Path, description = "Campaign ID that identifies the campaign to read or mutate.")),
    responses(
        (status = 200, description = "Leads by stage reached and by outcome", body = Envelope<CampaignFunnelView>),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["campaigns:read"]))
)]
pub async fn campaign_funnel(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<CampaignPath>,
) -> ApiResult {
    let funnel = uc::campaign_funnel(&state.store, &access.group_id, &path.campaign_id).await?;
    Ok(ok(CampaignFunnelView::from(funnel)))
}

/// Every lead of a campaign in selection order, with its workflow and any content awaiting approval
/// (an addition, for the console); `pendingApproval=true` is the approval queue.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/leads", tag = "Campaigns",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("campaignId" = String, Path, description = "Campaign ID that identifies the campaign to read or mutate."),
           CampaignLeadsParams),
    responses(
        (status = 200, description = "One page of the campaign's leads", body = Envelope<ListData<CampaignLeadView>>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["campaigns:read"]))
)]
pub async fn campaign_leads(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<CampaignPath>,
    ApiQuery(q): ApiQuery<CampaignLeadsParams>,
) -> ApiResult {
    let (store, codec, group) = (&state.store, &state.cursors, &access.group_id);
    let campaign = uc::get_campaign(store, group, &path.campaign_id).await?;
    let pending = uc::parse_pending_approval(q.pending_approval.as_deref())?;
    let campaign_id = campaign.id.as_str();
    let page = page_request(codec, CAMPAIGN_LEADS_LIST, q.limit.as_deref(), q.cursor.as_deref(), |id| async move {
        item_key(uc::campaign_lead_key(store, group, campaign_id, &id).await, |key| key)
    })
    .await?;
    let rows = uc::list_campaign_leads(store, state.clock.as_ref(), codec, group, campaign_id, pending, &page).await?;
    Ok(ok(ListData::from_page(rows, CampaignLeadView::from)))
}
