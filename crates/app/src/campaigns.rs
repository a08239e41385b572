//! Campaigns (spec 2.5): the starter-template catalog, drafts (from a starter
//! template or by duplication), content slots, start and stop, lead status,
//! and the approval gate. The workflows themselves are fixed definitions in
//! `sonarly_domain::campaign`; the engine (`sonarly_engine`) executes them.
//!
//! Errors: a body that breaks the schema is 400; a missing or foreign campaign,
//! slot or workflow instance in the path is 404; an audience or lead id in a
//! create or duplicate body that names nothing usable in the group is 400
//! VALIDATION_ERROR on that field (those pages list 400, no 422); a writing
//! style that does not fit a content slot is 422 (that page lists 422); a state
//! that prevents the operation (not a draft, not active, nothing pending,
//! nothing to start with) is 409.

use crate::linkedin::ProviderRegistry;
use crate::{AppResult, StoreResultExt};
use sonarly_domain::GroupId;
use sonarly_domain::campaign::{
    Campaign, CampaignStatus, ContentSlot, InstanceState, SlotChannel, StarterTemplate, StepAction, StopReason,
    WorkflowInstance, WorkflowStatus, default_content_types, default_style, lead_workflow_status,
};
use sonarly_domain::clock::Clock;
use sonarly_domain::cursor::{CursorCodec, CursorPosition};
use sonarly_domain::id::new_hex_id;
use sonarly_domain::linkedin_account::{AccountType, LinkedInAccount};
use sonarly_domain::page::{MAX_PAGE_LIMIT, Page, PageRequest};
use sonarly_domain::template::{Sample, WritingStyle};
use sonarly_domain::{DomainError, FieldIssue, Timestamp};
use sonarly_store::{ApprovalOutcome, FunnelSteps, SlotUpdate, StartOutcome, StopOutcome, Store};
use std::collections::{HashMap, HashSet};

pub const CAMPAIGNS_LIST: &str = "campaigns";
/// Most lead ids a create or duplicate may name.
pub const MAX_LEAD_IDS: usize = 10_000;
/// Most lead ids one lead-status request may name.
pub const MAX_STATUS_LEAD_IDS: usize = 100;
/// Longest id accepted in a list of ids.
const ID_MAX_CHARS: usize = 100;

pub fn campaign_not_found() -> DomainError {
    DomainError::not_found("Campaign")
}

fn unprocessable(field: &str, message: impl Into<String>) -> DomainError {
    let message = message.into();
    let mut e = DomainError::unprocessable("Request validation failed.").with_details(format!("{field}: {message}"));
    e.fields = vec![FieldIssue::new(field, message)];
    e
}

/// One entry of the starter-template catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarterTemplateInfo {
    pub template: StarterTemplate,
    pub available: bool,
}

/// Connected accounts of the group with their InMail credits (asked only of
/// accounts that can send InMails; a provider that fails counts as none).
async fn accounts_with_credits(
    store: &Store,
    registry: &ProviderRegistry,
    group_id: &GroupId,
) -> AppResult<Vec<(LinkedInAccount, Option<u32>)>> {
    let accounts = store.group_linkedin_accounts(group_id).await.or_internal()?;
    let mut out = Vec::new();
    for account in accounts.into_iter().filter(|a| a.status.can_act()) {
        let credits = if account.account_type.can_send_inmail() {
            match registry.interactive(&account) {
                Ok(p) => p.inmail_credits().await.unwrap_or(Some(0)),
                Err(_) => Some(0),
            }
        } else {
            Some(0)
        };
        out.push((account, credits));
    }
    Ok(out)
}

/// The catalog, with `available` reflecting the group's connected accounts and credits.
pub async fn starter_templates(
    store: &Store,
    registry: &ProviderRegistry,
    group_id: &GroupId,
) -> AppResult<Vec<StarterTemplateInfo>> {
    let accounts = accounts_with_credits(store, registry, group_id).await?;
    let summary: Vec<(AccountType, Option<u32>)> = accounts.iter().map(|(a, c)| (a.account_type, *c)).collect();
    Ok(StarterTemplate::ALL
        .into_iter()
        .map(|template| StarterTemplateInfo { template, available: template.available(&summary) })
        .collect())
}

/// A create body as received (the API converts its body type into it).
#[derive(Debug, Clone, Default)]
pub struct CreateCampaignRequest {
    pub starter_template_id: String,
    pub name: String,
    pub audience_id: String,
    pub lead_ids: Option<Vec<String>>,
}

/// A duplicate body as received (the API converts its body type into it).
#[derive(Debug, Clone, Default)]
pub struct DuplicateCampaignRequest {
    pub name: Option<String>,
    pub audience_id: String,
    pub lead_ids: Option<Vec<String>>,
}

/// Checks the shape of `leadIds` (400): non-empty when given, bounded, no blank ids.
/// Returns the distinct ids in first-seen order.
fn validate_lead_ids(lead_ids: Option<&[String]>, issues: &mut Vec<FieldIssue>) -> Option<Vec<String>> {
    let ids = lead_ids?;
    if ids.is_empty() {
        issues.push(FieldIssue::new("leadIds", "must hold at least one lead id when given"));
        return None;
    }
    if ids.len() > MAX_LEAD_IDS {
        issues.push(FieldIssue::new("leadIds", format!("must hold at most {MAX_LEAD_IDS} ids")));
        return None;
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let id = id.trim();
        if id.is_empty() || id.chars().count() > ID_MAX_CHARS {
            issues.push(FieldIssue::new(format!("leadIds[{i}]"), format!("must be 1 to {ID_MAX_CHARS} characters")));
        } else if seen.insert(id.to_owned()) {
            out.push(id.to_owned());
        }
    }
    Some(out)
}

fn validate_required_id(field: &str, value: &str, issues: &mut Vec<FieldIssue>) -> String {
    let v = value.trim();
    if v.is_empty() {
        issues.push(FieldIssue::new(field, "is required and must not be empty"));
    } else if v.chars().count() > ID_MAX_CHARS {
        issues.push(FieldIssue::new(field, format!("must be at most {ID_MAX_CHARS} characters")));
    }
    v.to_owned()
}

fn validate_name(field: &str, name: &str, issues: &mut Vec<FieldIssue>) -> String {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        issues.push(FieldIssue::new(field, "must not be empty"));
    } else if trimmed.chars().count() > 200 {
        issues.push(FieldIssue::new(field, "must be at most 200 characters"));
    }
    trimmed.to_owned()
}

/// The audience (ready, of the group) and the selected leads: the given
/// subset (each must be in the audience) or the whole audience. An unknown or
/// foreign audience or lead is 400 on its field, as the create and duplicate
/// pages list 400 (not 422) for a request they refuse.
async fn select_leads(
    store: &Store,
    group_id: &GroupId,
    audience_id: &str,
    lead_ids: Option<Vec<String>>,
) -> AppResult<Vec<String>> {
    let audience = store
        .get_audience(group_id, audience_id)
        .await
        .or_internal()?
        .ok_or_else(|| DomainError::invalid_field("audienceId", "is not an audience of this account group"))?;
    if !audience.is_ready() {
        return Err(crate::audiences::audience_not_ready());
    }
    match lead_ids {
        None => store.audience_prospect_ids(group_id, &audience.id).await.or_internal(),
        Some(ids) => {
            let found: HashSet<String> =
                store.audience_members_among(group_id, &audience.id, &ids).await.or_internal()?.into_iter().collect();
            let missing: Vec<(usize, &String)> =
                ids.iter().enumerate().filter(|(_, id)| !found.contains(*id)).collect();
            if !missing.is_empty() {
                let fields: Vec<FieldIssue> = missing
                    .iter()
                    .take(50)
                    .map(|(i, id)| {
                        FieldIssue::new(format!("leadIds[{i}]"), format!("`{id}` is not a lead of the audience"))
                    })
                    .collect();
                let message = format!("{} of the leadIds do not belong to the audience.", missing.len());
                return Err(DomainError { message, ..DomainError::invalid(fields) });
            }
            Ok(ids)
        }
    }
}

/// A writing style of the group that fits `channel`, creating the default one when none does.
async fn default_style_for(
    store: &Store,
    group_id: &GroupId,
    channel: SlotChannel,
    now: Timestamp,
) -> AppResult<String> {
    let types: Vec<&str> = default_content_types(channel).iter().map(|t| t.as_str()).collect();
    if let Some(id) = store.first_writing_style_of(group_id, &types).await.or_internal()? {
        return Ok(id);
    }
    let (name, content_type, samples) = default_style(channel);
    let style = WritingStyle {
        id: new_hex_id(now),
        group_id: group_id.to_owned(),
        name: name.to_owned(),
        description: Some("Created by Sonarly as the default for new campaign content slots.".into()),
        content_type,
        samples: samples
            .iter()
            .map(|(sample_type, subject, message)| Sample {
                sample_type: *sample_type,
                message: (*message).to_owned(),
                subject: subject.map(str::to_owned),
                signal_tag: None,
            })
            .collect(),
        include_rules: Vec::new(),
        exclude_rules: Vec::new(),
        use_strict_template: true,
        value_proposition_id: None,
        created_at: now,
        updated_at: now,
    };
    store.save_writing_style(&style, true).await.or_internal()?;
    Ok(style.id)
}

fn new_campaign(
    group_id: &GroupId,
    name: String,
    description: Option<String>,
    template: StarterTemplate,
    audience_id: &str,
    lead_count: usize,
    now: Timestamp,
) -> Campaign {
    Campaign {
        id: new_hex_id(now),
        group_id: group_id.to_owned(),
        name,
        description,
        starter_template: template,
        workflow_version: template.version(),
        audience_id: audience_id.to_owned(),
        status: CampaignStatus::Draft,
        include_conversation_history: true,
        auto_cancel_on_message_received: true,
        outreach_language: "en".to_owned(),
        linkedin_account_id: None,
        selected_lead_count: lead_count as i64,
        created_at: now,
        updated_at: now,
        started_at: None,
        stopped_at: None,
    }
}

async fn insert(store: &Store, campaign: &Campaign, slots: &[ContentSlot], leads: &[String]) -> AppResult<()> {
    if store.insert_campaign(campaign, slots, leads).await.or_internal()? {
        Ok(())
    } else {
        Err(DomainError::conflict("A linked writing style was deleted while the campaign was being created; retry."))
    }
}

/// Creates a draft from a starter template, linking a default writing style to every slot.
pub async fn create_campaign(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    req: &CreateCampaignRequest,
) -> AppResult<Campaign> {
    let mut issues = Vec::new();
    let template = StarterTemplate::parse(req.starter_template_id.trim());
    if template.is_none() {
        let all = StarterTemplate::ALL.iter().map(|t| t.id()).collect::<Vec<_>>().join(", ");
        issues.push(FieldIssue::new("starterTemplateId", format!("must be one of {all}")));
    }
    let name = validate_name("name", &req.name, &mut issues);
    let audience_id = validate_required_id("audienceId", &req.audience_id, &mut issues);
    let lead_ids = validate_lead_ids(req.lead_ids.as_deref(), &mut issues);
    let Some(template) = template.filter(|_| issues.is_empty()) else { return Err(DomainError::invalid(issues)) };
    let leads = select_leads(store, group_id, &audience_id, lead_ids).await?;
    let now = clock.now();
    let description =
        Some(format!("Created from the starter template \"{}\". {}", template.name(), template.description()));
    let campaign = new_campaign(group_id, name, description, template, &audience_id, leads.len(), now);
    let mut slots = Vec::new();
    for def in template.slots() {
        slots.push(ContentSlot {
            id: new_hex_id(now),
            group_id: group_id.to_owned(),
            campaign_id: campaign.id.clone(),
            position: def.position,
            channel: def.channel,
            channel_position: def.channel_position,
            label: def.label.to_owned(),
            template_id: Some(default_style_for(store, group_id, def.channel, now).await?),
        });
    }
    insert(store, &campaign, &slots, &leads).await?;
    Ok(campaign)
}

/// Duplicates a campaign into a draft for an audience (and optional lead
/// subset), keeping its starter template, settings and slot links. Leads with
/// a live workflow in an active campaign of the group are a conflict (409).
pub async fn duplicate_campaign(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    source_id: &str,
    req: &DuplicateCampaignRequest,
) -> AppResult<Campaign> {
    let mut issues = Vec::new();
    let name = req.name.as_deref().map(|n| validate_name("name", n, &mut issues));
    let audience_id = validate_required_id("audienceId", &req.audience_id, &mut issues);
    let lead_ids = validate_lead_ids(req.lead_ids.as_deref(), &mut issues);
    if !issues.is_empty() {
        return Err(DomainError::invalid(issues));
    }
    let source = get_campaign(store, group_id, source_id).await?;
    let leads = select_leads(store, group_id, &audience_id, lead_ids).await?;
    let busy = store.leads_in_active_workflows(group_id, &leads).await.or_internal()?;
    if !busy.is_empty() {
        let sample = busy.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
        return Err(DomainError::conflict(format!(
            "{} of the selected leads are in a running campaign workflow; wait for it or pick other leads.",
            busy.len()
        ))
        .with_details(format!("leads with an active workflow: {sample}")));
    }
    let now = clock.now();
    let name = name.unwrap_or_else(|| {
        let copy = format!("{} (copy)", source.name);
        copy.chars().take(200).collect()
    });
    let mut campaign = new_campaign(
        group_id,
        name,
        source.description.clone(),
        source.starter_template,
        &audience_id,
        leads.len(),
        now,
    );
    campaign.workflow_version = source.workflow_version;
    campaign.include_conversation_history = source.include_conversation_history;
    campaign.auto_cancel_on_message_received = source.auto_cancel_on_message_received;
    campaign.outreach_language = source.outreach_language.clone();
    let mut slots = store.content_slots(group_id, &source.id).await.or_internal()?;
    for slot in &mut slots {
        slot.id = new_hex_id(now);
        slot.campaign_id = campaign.id.clone();
        if slot.template_id.is_none() {
            slot.template_id = Some(default_style_for(store, group_id, slot.channel, now).await?);
        }
    }
    insert(store, &campaign, &slots, &leads).await?;
    Ok(campaign)
}

/// A campaign plus what its view derives at read time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignState {
    pub campaign: Campaign,
    /// The latest pause LinkedIn asked of its account(s), while in the future.
    pub rate_limited_until: Option<Timestamp>,
}

/// `rateLimitedUntil`: the pause of the campaign's account once started; of
/// the group's connected accounts (which could run it) before.
fn rate_limited_until(campaign: &Campaign, accounts: &[LinkedInAccount], now: Timestamp) -> Option<Timestamp> {
    accounts
        .iter()
        .filter(|a| match &campaign.linkedin_account_id {
            Some(id) => &a.id == id,
            None => a.status.can_act(),
        })
        .filter_map(|a| a.rate_limited_until)
        .filter(|t| *t > now)
        .max()
}

async fn with_state(store: &Store, clock: &dyn Clock, campaigns: Vec<Campaign>) -> AppResult<Vec<CampaignState>> {
    let mut by_group: HashMap<GroupId, Vec<LinkedInAccount>> = HashMap::new();
    let now = clock.now();
    let mut out = Vec::with_capacity(campaigns.len());
    for campaign in campaigns {
        if !by_group.contains_key(&campaign.group_id) {
            let accounts = store.group_linkedin_accounts(&campaign.group_id).await.or_internal()?;
            by_group.insert(campaign.group_id.clone(), accounts);
        }
        let accounts = by_group.get(&campaign.group_id).map(Vec::as_slice).unwrap_or_default();
        let rate_limited_until = rate_limited_until(&campaign, accounts, now);
        out.push(CampaignState { campaign, rate_limited_until });
    }
    Ok(out)
}

pub async fn get_campaign(store: &Store, group_id: &GroupId, id: &str) -> AppResult<Campaign> {
    store.get_campaign(group_id, id).await.or_internal()?.ok_or_else(campaign_not_found)
}

pub async fn campaign_state(store: &Store, clock: &dyn Clock, campaign: Campaign) -> AppResult<CampaignState> {
    let mut states = with_state(store, clock, vec![campaign]).await?;
    states.pop().ok_or_else(DomainError::internal)
}

pub async fn get_campaign_state(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    id: &str,
) -> AppResult<CampaignState> {
    let campaign = get_campaign(store, group_id, id).await?;
    campaign_state(store, clock, campaign).await
}

fn check_status_filter(status_filter: Option<&str>) -> AppResult<Option<CampaignStatus>> {
    crate::status_filter(status_filter, CampaignStatus::parse, CampaignStatus::names)
}

pub async fn list_campaigns(
    store: &Store,
    clock: &dyn Clock,
    codec: &CursorCodec,
    group_id: &GroupId,
    status_filter: Option<&str>,
    page: &PageRequest,
) -> AppResult<Page<CampaignState>> {
    let status_filter = check_status_filter(status_filter)?;
    let rows = store.list_campaigns(group_id, status_filter, page).await.or_internal()?;
    let page = Page::from_rows(rows, page, codec, CAMPAIGNS_LIST, |c| (c.created_at, c.id.clone()));
    let items = with_state(store, clock, page.items).await?;
    Ok(Page { items, next_cursor: page.next_cursor, has_more: page.has_more })
}

/// The most campaigns one answer without `limit` holds. The documented list
/// has no paging parameters, so without `limit` a client gets every campaign
/// (after `cursor`, when given); this bound only keeps one answer finite, and
/// past it the answer pages like any other (`hasMore`, `nextCursor`).
pub const UNPAGED_CAMPAIGNS_MAX: u32 = 10_000;

/// The campaign list as documented (no `limit`): every campaign of the group
/// after `after`, newest first, read in keyset pages of [`MAX_PAGE_LIMIT`].
pub async fn list_all_campaigns(
    store: &Store,
    clock: &dyn Clock,
    codec: &CursorCodec,
    group_id: &GroupId,
    status_filter: Option<&str>,
    after: Option<CursorPosition>,
) -> AppResult<Page<CampaignState>> {
    let status_filter = check_status_filter(status_filter)?;
    let mut rows: Vec<Campaign> = Vec::new();
    let mut after = after;
    loop {
        let chunk = PageRequest { limit: MAX_PAGE_LIMIT, after: after.take() };
        let mut found = store.list_campaigns(group_id, status_filter, &chunk).await.or_internal()?;
        let more = found.len() > MAX_PAGE_LIMIT as usize;
        found.truncate(MAX_PAGE_LIMIT as usize);
        after = found.last().map(|c| CursorPosition { created_at: c.created_at, id: c.id.clone() });
        rows.extend(found);
        if !more || rows.len() > UNPAGED_CAMPAIGNS_MAX as usize {
            break;
        }
    }
    let whole = PageRequest { limit: UNPAGED_CAMPAIGNS_MAX, after: None };
    let page = Page::from_rows(rows, &whole, codec, CAMPAIGNS_LIST, |c| (c.created_at, c.id.clone()));
    let items = with_state(store, clock, page.items).await?;
    Ok(Page { items, next_cursor: page.next_cursor, has_more: page.has_more })
}

pub async fn content_slots(store: &Store, group_id: &GroupId, campaign_id: &str) -> AppResult<Vec<ContentSlot>> {
    let campaign = get_campaign(store, group_id, campaign_id).await?;
    store.content_slots(group_id, &campaign.id).await.or_internal()
}

/// Links a writing style to a slot: 404 unknown campaign or slot, 409 unless
/// the campaign is a draft, 422 when the style is not in the group or its
/// contentType does not fit the slot's channel.
pub async fn update_content_slot(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    campaign_id: &str,
    slot_id: &str,
    template_id: &str,
) -> AppResult<ContentSlot> {
    let template_id = template_id.trim();
    if template_id.is_empty() || template_id.chars().count() > ID_MAX_CHARS {
        return Err(DomainError::invalid_field("templateId", format!("must be 1 to {ID_MAX_CHARS} characters")));
    }
    let campaign = get_campaign(store, group_id, campaign_id).await?;
    let slot = store
        .content_slots(group_id, &campaign.id)
        .await
        .or_internal()?
        .into_iter()
        .find(|s| s.id == slot_id)
        .ok_or_else(|| DomainError::not_found("Content slot"))?;
    if campaign.status != CampaignStatus::Draft {
        return Err(not_editable(campaign.status));
    }
    let style = store
        .get_writing_style(group_id, template_id)
        .await
        .or_internal()?
        .ok_or_else(|| unprocessable("templateId", "is not a writing style of this account group"))?;
    if !slot.channel.accepts(style.content_type) {
        return Err(unprocessable(
            "templateId",
            format!(
                "is a {} writing style; this slot needs one that writes {}",
                style.content_type.as_str(),
                slot.channel.as_str()
            ),
        ));
    }
    match store.set_slot_template(group_id, &campaign.id, &slot.id, &style.id, clock.now()).await.or_internal()? {
        SlotUpdate::Updated(slot) => Ok(slot),
        SlotUpdate::SlotNotFound => Err(DomainError::not_found("Content slot")),
        SlotUpdate::NotEditable(state) => Err(not_editable(state)),
        SlotUpdate::TemplateMissing => Err(unprocessable("templateId", "is not a writing style of this account group")),
    }
}

fn not_editable(state: CampaignStatus) -> DomainError {
    DomainError::conflict(format!("The campaign is {state}; only draft campaigns can change their content slots."))
}

/// What starting a campaign did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub campaign: CampaignState,
    pub triggered: bool,
    pub instances_created: u64,
}

/// The account that runs a campaign: for InMail workflows a connected Sales
/// Navigator or Recruiter account with credits; otherwise the first connected one.
async fn campaign_account(
    store: &Store,
    registry: &ProviderRegistry,
    group_id: &GroupId,
    template: StarterTemplate,
) -> AppResult<LinkedInAccount> {
    let accounts = accounts_with_credits(store, registry, group_id).await?;
    if accounts.is_empty() {
        return Err(DomainError::conflict("The account group has no connected LinkedIn account to run the campaign."));
    }
    if !template.needs_inmail() {
        return accounts.into_iter().next().map(|(a, _)| a).ok_or_else(DomainError::internal);
    }
    accounts
        .into_iter()
        .find(|(a, credits)| a.account_type.can_send_inmail() && credits.unwrap_or(0) > 0)
        .map(|(a, _)| a)
        .ok_or_else(|| {
            DomainError::conflict(
                "This workflow sends InMails: connect a Sales Navigator or Recruiter account with InMail credits.",
            )
        })
}

/// Starts a draft: one workflow instance per selected lead, queued at once.
/// 409 when it is not a draft (a second start included), has no leads, has an
/// unlinked slot or no connected account can run it; 422 when a linked
/// writing style no longer fits its slot (its contentType changed).
pub async fn start_campaign(
    store: &Store,
    registry: &ProviderRegistry,
    clock: &dyn Clock,
    group_id: &GroupId,
    campaign_id: &str,
) -> AppResult<Started> {
    let campaign = get_campaign(store, group_id, campaign_id).await?;
    if campaign.status != CampaignStatus::Draft {
        return Err(not_startable(campaign.status));
    }
    let leads = store.campaign_lead_ids(&campaign.group_id, &campaign.id).await.or_internal()?;
    if leads.is_empty() {
        return Err(DomainError::conflict("The campaign has no selected leads to start with."));
    }
    let slots = store.content_slots(group_id, &campaign.id).await.or_internal()?;
    let unlinked: Vec<String> = slots.iter().filter(|s| s.template_id.is_none()).map(|s| s.label.clone()).collect();
    if !unlinked.is_empty() {
        return Err(DomainError::conflict(format!(
            "Link a writing style to every content slot first (unlinked: {}).",
            unlinked.join(", ")
        )));
    }
    for slot in &slots {
        let Some(template_id) = &slot.template_id else { continue };
        let fits = store
            .get_writing_style(group_id, template_id)
            .await
            .or_internal()?
            .is_some_and(|style| slot.channel.accepts(style.content_type));
        if !fits {
            return Err(unprocessable(
                "templateId",
                format!("the writing style linked to \"{}\" no longer writes {}", slot.label, slot.channel.as_str()),
            ));
        }
    }
    let account = campaign_account(store, registry, group_id, campaign.starter_template).await?;
    let now = clock.now();
    let first_at = now.plus_millis(campaign.starter_template.steps().first().map(|s| s.delay_ms).unwrap_or(0));
    let instances: Vec<WorkflowInstance> = leads
        .iter()
        .map(|lead| WorkflowInstance {
            id: new_hex_id(now),
            group_id: group_id.to_owned(),
            campaign_id: campaign.id.clone(),
            prospect_id: lead.clone(),
            linkedin_account_id: account.id.clone(),
            step_index: 0,
            state: InstanceState::Active,
            stop_reason: None,
            latest_step: None,
            pending_approval: false,
            pending_subject: None,
            pending_body: None,
            approved: false,
            step_started_at: first_at,
            next_run_at: first_at,
            started_at: now,
            created_at: now,
            updated_at: now,
        })
        .collect();
    match store.start_campaign(group_id, &campaign.id, &account.id, &instances, now).await.or_internal()? {
        StartOutcome::Started(n) => {
            let campaign = get_campaign_state(store, clock, group_id, &campaign.id).await?;
            Ok(Started { campaign, triggered: n > 0, instances_created: n })
        }
        StartOutcome::NotDraft(Some(state)) => Err(not_startable(state)),
        StartOutcome::NotDraft(None) => Err(campaign_not_found()),
    }
}

fn not_startable(state: CampaignStatus) -> DomainError {
    match state {
        CampaignStatus::Active => DomainError::conflict("The campaign is already active."),
        other => DomainError::conflict(format!(
            "The campaign is {other}; only drafts can be started (duplicate it to run it again)."
        )),
    }
}

/// Stops an active campaign and every live workflow instance; 409 unless active.
pub async fn stop_campaign(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    campaign_id: &str,
) -> AppResult<(CampaignState, u64)> {
    let campaign = get_campaign(store, group_id, campaign_id).await?;
    match store.stop_campaign(group_id, &campaign.id, clock.now()).await.or_internal()? {
        StopOutcome::Stopped(n) => Ok((get_campaign_state(store, clock, group_id, &campaign.id).await?, n)),
        StopOutcome::NotActive(Some(state)) => {
            Err(DomainError::conflict(format!("The campaign is {state}; only active campaigns can be stopped.")))
        }
        StopOutcome::NotActive(None) => Err(campaign_not_found()),
    }
}

/// One row of the lead status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadStatus {
    pub lead_id: String,
    pub workflow_status: WorkflowStatus,
    pub workflow_instance_id: Option<String>,
    pub latest_step: Option<String>,
    pub workflow_stop_reason: Option<StopReason>,
    pub has_pending_approval: bool,
}

pub fn lead_status_of(campaign: &Campaign, instance: &WorkflowInstance, now: Timestamp) -> LeadStatus {
    LeadStatus {
        lead_id: instance.prospect_id.clone(),
        workflow_status: lead_workflow_status(
            instance.state,
            campaign.starter_template,
            instance.step_index,
            instance.pending_approval,
            instance.next_run_at,
            now,
        ),
        workflow_instance_id: Some(instance.id.clone()),
        latest_step: instance.latest_step.clone(),
        workflow_stop_reason: instance.stop_reason,
        has_pending_approval: instance.pending_approval,
    }
}

/// Parses `leadIds` (comma-separated, required): distinct ids in request order.
pub fn parse_lead_ids(raw: Option<&str>) -> AppResult<Vec<String>> {
    let Some(raw) = raw else { return Err(DomainError::invalid_field("leadIds", "is required")) };
    let max_len = MAX_STATUS_LEAD_IDS * (ID_MAX_CHARS + 1);
    if raw.chars().count() > max_len {
        return Err(DomainError::invalid_field("leadIds", format!("must be at most {max_len} characters")));
    }
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part.chars().count() > ID_MAX_CHARS {
            return Err(DomainError::invalid_field(
                "leadIds",
                format!("each id must be at most {ID_MAX_CHARS} characters"),
            ));
        }
        if seen.insert(part.to_owned()) {
            ids.push(part.to_owned());
        }
    }
    if ids.is_empty() {
        return Err(DomainError::invalid_field("leadIds", "must name at least one lead id (comma-separated)"));
    }
    if ids.len() > MAX_STATUS_LEAD_IDS {
        return Err(DomainError::invalid_field("leadIds", format!("must name at most {MAX_STATUS_LEAD_IDS} lead ids")));
    }
    Ok(ids)
}

/// One row per requested lead id (distinct, in request order), never dropping one.
pub async fn lead_status(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    campaign_id: &str,
    lead_ids: &[String],
) -> AppResult<Vec<LeadStatus>> {
    let campaign = get_campaign(store, group_id, campaign_id).await?;
    let selected: HashSet<String> = store
        .campaign_leads_among(&campaign.group_id, &campaign.id, lead_ids)
        .await
        .or_internal()?
        .into_iter()
        .collect();
    let instances: HashMap<String, WorkflowInstance> = store
        .instances_for_leads(&campaign.group_id, &campaign.id, lead_ids)
        .await
        .or_internal()?
        .into_iter()
        .map(|i| (i.prospect_id.clone(), i))
        .collect();
    let now = clock.now();
    Ok(lead_ids
        .iter()
        .map(|id| match instances.get(id) {
            Some(instance) => lead_status_of(&campaign, instance, now),
            None => LeadStatus {
                lead_id: id.clone(),
                workflow_status: if selected.contains(id) {
                    WorkflowStatus::NotStarted
                } else {
                    WorkflowStatus::NotInCampaign
                },
                workflow_instance_id: None,
                latest_step: None,
                workflow_stop_reason: None,
                has_pending_approval: false,
            },
        })
        .collect())
}

/// Approve or discard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalAction {
    Approve,
    Discard,
}

impl ApprovalAction {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Discard => "discarded",
        }
    }
}

/// Resolves a pending approval: approve queues the held step with the
/// approved content; discard stops the instance with `CONTENT_DISCARDED`.
/// 404 unknown campaign or instance; 409 when nothing is pending.
pub async fn resolve_approval(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    campaign_id: &str,
    instance_id: &str,
    action: ApprovalAction,
) -> AppResult<LeadStatus> {
    let campaign = get_campaign(store, group_id, campaign_id).await?;
    let now = clock.now();
    let outcome = match action {
        ApprovalAction::Approve => store.approve_instance(group_id, &campaign.id, instance_id, now).await,
        ApprovalAction::Discard => store.discard_instance(group_id, &campaign.id, instance_id, now).await,
    }
    .or_internal()?;
    match outcome {
        ApprovalOutcome::Done(instance) => Ok(lead_status_of(&campaign, &instance, now)),
        ApprovalOutcome::NothingPending(_) => {
            Err(DomainError::conflict("This workflow instance has no content waiting for approval."))
        }
        ApprovalOutcome::NotFound => Err(DomainError::not_found("Workflow instance")),
    }
}

// --- the funnel and the lead list (console additions) -------------------------

pub const CAMPAIGN_LEADS_LIST: &str = "campaign-leads";

/// A stage of the funnel: how far a lead's workflow got with the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunnelStage {
    /// An invitation was delivered.
    Invited,
    /// The delivered invitation was accepted (the workflow went past its acceptance wait).
    Accepted,
    /// A direct message or an InMail was delivered.
    Messaged,
    /// The lead wrote back since the workflow started (or was stopped for it).
    Replied,
}

impl FunnelStage {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Accepted => "accepted",
            Self::Messaged => "messaged",
            Self::Replied => "replied",
        }
    }
}

/// How a lead stands at the end (or not yet at the end) of its workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FunnelOutcome {
    /// A selected lead of a campaign not started yet (a draft).
    NotStarted,
    /// The workflow runs (waiting for time, an acceptance, an approval, or its turn).
    Active,
    Completed,
    Stopped,
    NotEligible,
}

impl FunnelOutcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Stopped => "stopped",
            Self::NotEligible => "not_eligible",
        }
    }

    fn of(state: InstanceState) -> Self {
        match state {
            InstanceState::Active => Self::Active,
            InstanceState::Completed => Self::Completed,
            InstanceState::Stopped => Self::Stopped,
            InstanceState::NotEligible => Self::NotEligible,
        }
    }
}

/// A campaign's funnel: its selected leads, how many reached each stage its
/// workflow has (in workflow order), how many ended each way (per stop reason),
/// and how many wait for approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignFunnel {
    pub leads: i64,
    pub stages: Vec<(FunnelStage, i64)>,
    /// Non-empty outcomes in [`FunnelOutcome`] order, then by reason.
    pub outcomes: Vec<(FunnelOutcome, Option<StopReason>, i64)>,
    pub pending_approval: i64,
}

/// The steps of a workflow the funnel counts.
fn funnel_steps(template: StarterTemplate) -> FunnelSteps {
    let indexes = |wanted: &[StepAction]| -> Vec<usize> {
        template.steps().iter().enumerate().filter(|(_, s)| wanted.contains(&s.action)).map(|(i, _)| i).collect()
    };
    FunnelSteps {
        invitations: indexes(&[StepAction::Invite]),
        acceptance: indexes(&[StepAction::AwaitAcceptance]).first().copied(),
        messages: indexes(&[StepAction::DirectMessage, StepAction::InMail]),
    }
}

/// The funnel of a campaign of the group (404 otherwise). Stages are those
/// its workflow has: `invited` and `accepted` when it sends an invitation,
/// `messaged` when it sends a message or an InMail, `replied` always. A lead
/// already connected skips the invitation, so it can be messaged without
/// being invited.
pub async fn campaign_funnel(store: &Store, group_id: &GroupId, campaign_id: &str) -> AppResult<CampaignFunnel> {
    let campaign = get_campaign(store, group_id, campaign_id).await?;
    let steps = funnel_steps(campaign.starter_template);
    let counts = store.campaign_funnel(group_id, &campaign.id, &steps).await.or_internal()?;
    let sum = |f: fn(&sonarly_store::FunnelGroup) -> i64| counts.groups.iter().map(f).sum::<i64>();
    let mut stages = Vec::new();
    if !steps.invitations.is_empty() {
        stages.push((FunnelStage::Invited, sum(|g| g.invited)));
        stages.push((FunnelStage::Accepted, sum(|g| g.accepted)));
    }
    if !steps.messages.is_empty() {
        stages.push((FunnelStage::Messaged, sum(|g| g.messaged)));
    }
    stages.push((FunnelStage::Replied, sum(|g| g.replied)));
    let mut outcomes: Vec<(FunnelOutcome, Option<StopReason>, i64)> = Vec::new();
    let not_started = counts.selected_leads - sum(|g| g.leads);
    if not_started > 0 {
        outcomes.push((FunnelOutcome::NotStarted, None, not_started));
    }
    for group in &counts.groups {
        let outcome = FunnelOutcome::of(group.state);
        // The reason only tells apart ways of ending; a running workflow has none.
        let reason = if matches!(outcome, FunnelOutcome::Stopped | FunnelOutcome::NotEligible) {
            group.stop_reason
        } else {
            None
        };
        match outcomes.iter_mut().find(|(o, r, _)| *o == outcome && *r == reason) {
            Some(row) => row.2 += group.leads,
            None => outcomes.push((outcome, reason, group.leads)),
        }
    }
    outcomes.sort_by_key(|(o, r, _)| (*o, r.map(StopReason::as_str)));
    Ok(CampaignFunnel {
        leads: counts.selected_leads.max(sum(|g| g.leads)),
        stages,
        outcomes,
        pending_approval: sum(|g| g.pending_approval),
    })
}

/// Content composed for a lead and held for approval: what `approve` sends and `discard` drops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingContent {
    /// The step that will send it (e.g. `send_invitation`, `direct_message_1`).
    pub step: &'static str,
    pub channel: SlotChannel,
    /// The InMail subject, when there is one.
    pub subject: Option<String>,
    pub text: String,
}

/// One lead of a campaign as the lead list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignLeadRow {
    pub status: LeadStatus,
    pub name: Option<String>,
    pub headline: Option<String>,
    pub pending_content: Option<PendingContent>,
    /// The list's key (the lead's place in the selection).
    pub position: i64,
}

fn pending_content(campaign: &Campaign, instance: &WorkflowInstance) -> Option<PendingContent> {
    if !instance.pending_approval {
        return None;
    }
    let template = campaign.starter_template;
    let step = template.step(instance.step_index)?;
    let slot = template.slots().iter().find(|s| Some(s.position) == step.slot)?;
    Some(PendingContent {
        step: step.key,
        channel: slot.channel,
        subject: instance.pending_subject.clone(),
        text: instance.pending_body.clone().unwrap_or_default(),
    })
}

/// `pendingApproval`: `true` or `false` (400 otherwise); absent lists every lead.
pub fn parse_pending_approval(raw: Option<&str>) -> AppResult<Option<bool>> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(DomainError::invalid_field("pendingApproval", "must be true or false")),
    }
}

/// The list key of a selected lead (a cursor may name it); 404 when it is not one.
pub async fn campaign_lead_key(
    store: &Store,
    group_id: &GroupId,
    campaign_id: &str,
    lead_id: &str,
) -> AppResult<Timestamp> {
    let position = store.campaign_lead_position(group_id, campaign_id, lead_id).await.or_internal()?;
    position.map(Timestamp::from_millis).ok_or_else(|| DomainError::not_found("Lead"))
}

/// One page of a campaign's selected leads, in selection order, each with its
/// prospect's name and headline, its workflow status and, while it waits for
/// approval, the pending content. `pending_approval` (`true`) is the approval
/// queue; `false`, every other lead. 404 for a campaign not of the group.
pub async fn list_campaign_leads(
    store: &Store,
    clock: &dyn Clock,
    codec: &CursorCodec,
    group_id: &GroupId,
    campaign_id: &str,
    pending_approval: Option<bool>,
    page: &PageRequest,
) -> AppResult<Page<CampaignLeadRow>> {
    let campaign = get_campaign(store, group_id, campaign_id).await?;
    let rows = store.campaign_leads_page(group_id, &campaign.id, pending_approval, page).await.or_internal()?;
    let now = clock.now();
    let rows: Vec<CampaignLeadRow> = rows
        .into_iter()
        .map(|lead| {
            let (status, pending) = match &lead.instance {
                Some(instance) => (lead_status_of(&campaign, instance, now), pending_content(&campaign, instance)),
                None => (
                    LeadStatus {
                        lead_id: lead.lead_id.clone(),
                        workflow_status: WorkflowStatus::NotStarted,
                        workflow_instance_id: None,
                        latest_step: None,
                        workflow_stop_reason: None,
                        has_pending_approval: false,
                    },
                    None,
                ),
            };
            CampaignLeadRow {
                status,
                name: lead.name,
                headline: lead.headline,
                pending_content: pending,
                position: lead.position,
            }
        })
        .collect();
    Ok(Page::from_rows(rows, page, codec, CAMPAIGN_LEADS_LIST, |r| {
        (Timestamp::from_millis(r.position), r.status.lead_id.clone())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_ids_are_required_trimmed_distinct_and_bounded() {
        assert_eq!(parse_lead_ids(None).unwrap_err().status, 400);
        assert_eq!(parse_lead_ids(Some(" , ,")).unwrap_err().fields[0].field, "leadIds");
        assert_eq!(parse_lead_ids(Some("b, a,b,,c")).unwrap(), vec!["b", "a", "c"]);
        let many = (0..101).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        assert_eq!(parse_lead_ids(Some(&many)).unwrap_err().status, 400);
    }

    #[test]
    fn the_funnel_reads_the_invitation_acceptance_and_message_steps_of_each_workflow() {
        let steps = funnel_steps(StarterTemplate::ConnectEngageDm);
        assert_eq!((steps.invitations, steps.acceptance, steps.messages), (vec![0], Some(1), vec![4, 5]));
        let steps = funnel_steps(StarterTemplate::EngageConnectDm);
        assert_eq!((steps.invitations, steps.acceptance, steps.messages), (vec![3], Some(4), vec![5, 6]));
        let steps = funnel_steps(StarterTemplate::EngageInmail);
        assert_eq!((steps.invitations, steps.acceptance, steps.messages), (vec![], None, vec![3]));
        let steps = funnel_steps(StarterTemplate::Connect);
        assert_eq!((steps.invitations, steps.acceptance, steps.messages), (vec![0], Some(1), vec![]));
    }

    #[test]
    fn pending_approval_is_true_false_or_absent() {
        assert_eq!(parse_pending_approval(None).unwrap(), None);
        assert_eq!(parse_pending_approval(Some("true")).unwrap(), Some(true));
        assert_eq!(parse_pending_approval(Some("false")).unwrap(), Some(false));
        let err = parse_pending_approval(Some("yes")).unwrap_err();
        assert_eq!((err.status, err.fields[0].field.as_str()), (400, "pendingApproval"));
    }

    #[test]
    fn lead_id_lists_in_bodies_are_checked() {
        let mut issues = Vec::new();
        assert_eq!(validate_lead_ids(None, &mut issues), None);
        assert_eq!(validate_lead_ids(Some(&[]), &mut issues), None);
        assert_eq!(issues.len(), 1);
        let ids = vec!["a".to_owned(), " a ".to_owned(), "b".to_owned()];
        let mut issues = Vec::new();
        assert_eq!(validate_lead_ids(Some(&ids), &mut issues), Some(vec!["a".to_owned(), "b".to_owned()]));
        assert!(issues.is_empty());
    }
}
