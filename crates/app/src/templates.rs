//! Templates (spec 2.7): writing styles, value propositions and signal
//! specifications, plus the deterministic preview of a writing style.
//!
//! Every write validates its body first (400), then finds the resource (404),
//! then checks references inside the store's transaction (400 on the field:
//! the template pages list 400 for refused requests and no 422). Another
//! group's ids are simply absent: every store call takes the group first.

use crate::composer::{ComposeRequest, Composition, ContentComposer, HISTORY_LIMIT};
use crate::signals::signals_for_composer;
use crate::{AppResult, StoreResultExt};
use sonarly_domain::GroupId;
use sonarly_domain::clock::Clock;
use sonarly_domain::composer::{Channel, ProspectProfile, ProspectSignal};
use sonarly_domain::cursor::CursorCodec;
use sonarly_domain::id::new_hex_id;
use sonarly_domain::page::{Page, PageRequest};
use sonarly_domain::signals::unknown_reference;
use sonarly_domain::template::{
    Patch, SignalSpecification, SignalSpecificationInput, TemplateReference, ValueProposition, ValuePropositionInput,
    WritingStyle, WritingStyleInput, in_use, missing_value_propositions,
};
use sonarly_domain::{DomainError, FieldIssue};
use sonarly_store::{Store, TemplateDelete, TemplateWrite};

/// Cursor list names.
pub const WRITING_STYLES_LIST: &str = "writing_styles";
pub const VALUE_PROPOSITIONS_LIST: &str = "value_propositions";
pub const SIGNAL_SPECIFICATIONS_LIST: &str = "signal_specifications";

/// Longest profile field in a preview, in characters.
pub const PREVIEW_FIELD_MAX_CHARS: usize = 200;
/// Most entries a signal specification's `sources` may list (there are six
/// sources; a source named twice counts once, but the list stays bounded).
pub const MAX_SOURCES: usize = 50;
/// Most signals in a preview.
pub const PREVIEW_MAX_SIGNALS: usize = 50;
/// Longest signal summary in a preview, in characters.
pub const PREVIEW_SUMMARY_MAX_CHARS: usize = 2_000;

pub fn writing_style_not_found() -> DomainError {
    DomainError::not_found("Writing style")
}

pub fn value_proposition_not_found() -> DomainError {
    DomainError::not_found("Value proposition")
}

pub fn signal_specification_not_found() -> DomainError {
    DomainError::not_found("Signal specification")
}

/// The body field that references value propositions, and the ids it held.
struct VpRefs {
    field: &'static str,
    /// A list field (`valuePropositionIds[i]`) rather than a single id.
    indexed: bool,
    given: Vec<String>,
}

impl VpRefs {
    fn of_style(style: &WritingStyle) -> Self {
        Self {
            field: "valuePropositionId",
            indexed: false,
            given: style.value_proposition_id.iter().cloned().collect(),
        }
    }

    fn of_specification(spec: &SignalSpecification) -> Self {
        Self { field: "valuePropositionIds", indexed: true, given: spec.value_proposition_ids.clone() }
    }
}

/// Maps a store write outcome to the written value, 404, or 400 naming each
/// unknown value proposition.
fn written<T>(outcome: TemplateWrite, value: T, not_found: fn() -> DomainError, refs: VpRefs) -> AppResult<T> {
    match outcome {
        TemplateWrite::Written => Ok(value),
        TemplateWrite::NotFound => Err(not_found()),
        TemplateWrite::MissingValuePropositions(missing) => {
            let VpRefs { field, indexed, given } = refs;
            let missing: Vec<(usize, String)> = given
                .iter()
                .enumerate()
                .filter(|(_, id)| missing.contains(id))
                .map(|(i, id)| (i, id.clone()))
                .collect();
            let unknown = missing_value_propositions(field, &missing, indexed);
            Err(DomainError { message: unknown.message.clone(), ..DomainError::invalid(unknown.fields) })
        }
    }
}

fn deleted(outcome: TemplateDelete, what: &str, not_found: fn() -> DomainError) -> AppResult<()> {
    match outcome {
        TemplateDelete::Deleted => Ok(()),
        TemplateDelete::NotFound => Err(not_found()),
        TemplateDelete::InUse(users) => Err(in_use(what, &users)),
    }
}

// --- value propositions ------------------------------------------------------

pub async fn list_value_propositions(
    store: &Store,
    codec: &CursorCodec,
    group_id: &GroupId,
    page: &PageRequest,
) -> AppResult<Page<ValueProposition>> {
    let rows = store.list_value_propositions(group_id, page).await.or_internal()?;
    Ok(Page::from_rows(rows, page, codec, VALUE_PROPOSITIONS_LIST, |v| (v.created_at, v.id.clone())))
}

pub async fn get_value_proposition(store: &Store, group_id: &GroupId, id: &str) -> AppResult<ValueProposition> {
    store.get_value_proposition(group_id, id).await.or_internal()?.ok_or_else(value_proposition_not_found)
}

pub async fn create_value_proposition(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    input: ValuePropositionInput,
) -> AppResult<ValueProposition> {
    let changes = input.validate(true)?;
    let now = clock.now();
    let vp = changes.into_new(new_hex_id(now), group_id.to_owned(), now);
    store.insert_value_proposition(&vp).await.or_internal()?;
    Ok(vp)
}

pub async fn update_value_proposition(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    id: &str,
    input: ValuePropositionInput,
) -> AppResult<ValueProposition> {
    let changes = input.validate(false)?;
    let mut vp = get_value_proposition(store, group_id, id).await?;
    changes.apply_to(&mut vp, clock.now());
    if store.update_value_proposition(&vp).await.or_internal()? { Ok(vp) } else { Err(value_proposition_not_found()) }
}

/// Deletes a value proposition; 409 CONFLICT while a writing style or signal
/// specification uses it.
pub async fn delete_value_proposition(store: &Store, group_id: &GroupId, id: &str) -> AppResult<()> {
    let outcome = store.delete_value_proposition(group_id, id).await.or_internal()?;
    deleted(outcome, "value proposition", value_proposition_not_found)
}

// --- writing styles -----------------------------------------------------------

pub async fn list_writing_styles(
    store: &Store,
    codec: &CursorCodec,
    group_id: &GroupId,
    page: &PageRequest,
) -> AppResult<Page<WritingStyle>> {
    let rows = store.list_writing_styles(group_id, page).await.or_internal()?;
    Ok(Page::from_rows(rows, page, codec, WRITING_STYLES_LIST, |w| (w.created_at, w.id.clone())))
}

pub async fn get_writing_style(store: &Store, group_id: &GroupId, id: &str) -> AppResult<WritingStyle> {
    store.get_writing_style(group_id, id).await.or_internal()?.ok_or_else(writing_style_not_found)
}

pub async fn create_writing_style(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    input: WritingStyleInput,
) -> AppResult<WritingStyle> {
    let changes = input.validate(true)?;
    let now = clock.now();
    let style = changes.into_new(new_hex_id(now), group_id.to_owned(), now);
    let outcome = store.save_writing_style(&style, true).await.or_internal()?;
    let refs = VpRefs::of_style(&style);
    written(outcome, style, writing_style_not_found, refs)
}

pub async fn update_writing_style(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    id: &str,
    input: WritingStyleInput,
) -> AppResult<WritingStyle> {
    let changes = input.validate(false)?;
    let mut style = get_writing_style(store, group_id, id).await?;
    changes.apply_to(&mut style, clock.now());
    let outcome = store.save_writing_style(&style, false).await.or_internal()?;
    let refs = VpRefs::of_style(&style);
    written(outcome, style, writing_style_not_found, refs)
}

/// Who uses a writing style (campaign content slots, once they exist).
pub async fn writing_style_users(store: &Store, group_id: &GroupId, id: &str) -> AppResult<Vec<TemplateReference>> {
    store.references_to_writing_style(group_id, id).await.or_internal()
}

/// Deletes a writing style; 409 CONFLICT while something uses it.
pub async fn delete_writing_style(store: &Store, group_id: &GroupId, id: &str) -> AppResult<()> {
    let outcome = store.delete_writing_style(group_id, id).await.or_internal()?;
    deleted(outcome, "writing style", writing_style_not_found)
}

/// Who the preview is written for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewProspect {
    /// A profile and signals given in the request.
    Inline { profile: ProspectProfile, signals: Vec<ProspectSignal> },
    /// A stored prospect of the group: its profile, its stored signals (its
    /// latest completed evaluation, items scoring at least `min_score`, best
    /// first) and its latest conversation messages. What the caller may read
    /// decides what is used: the stored signals only `with_signals` (the key
    /// has `signals:read`), the conversation only `with_history`
    /// (`messages:read`); the API refuses the whole request without
    /// `prospects:read`.
    Stored { prospect_id: String, min_score: u8, with_signals: bool, with_history: bool },
}

fn validate_inline(profile: &ProspectProfile, signals: &[ProspectSignal]) -> AppResult<()> {
    let mut issues = Vec::new();
    let mut check = |field: &str, value: Option<&str>, max: usize| {
        if value.is_some_and(|v| v.chars().count() > max) {
            issues.push(FieldIssue::new(field, format!("must be at most {max} characters")));
        }
    };
    check("profile.firstName", profile.first_name.as_deref(), PREVIEW_FIELD_MAX_CHARS);
    check("profile.lastName", profile.last_name.as_deref(), PREVIEW_FIELD_MAX_CHARS);
    check("profile.company", profile.company.as_deref(), PREVIEW_FIELD_MAX_CHARS);
    check("profile.title", profile.title.as_deref(), PREVIEW_FIELD_MAX_CHARS);
    check("profile.location", profile.location.as_deref(), PREVIEW_FIELD_MAX_CHARS);
    for (i, s) in signals.iter().enumerate() {
        check(&format!("signals[{i}].tag"), Some(&s.tag), PREVIEW_FIELD_MAX_CHARS);
        check(&format!("signals[{i}].summary"), Some(&s.summary), PREVIEW_SUMMARY_MAX_CHARS);
    }
    if signals.len() > PREVIEW_MAX_SIGNALS {
        issues.push(FieldIssue::new("signals", format!("must have at most {PREVIEW_MAX_SIGNALS} items")));
    }
    if issues.is_empty() { Ok(()) } else { Err(DomainError::invalid(issues)) }
}

/// Parses a preview channel (400 when unknown).
pub fn parse_channel(text: &str) -> AppResult<Channel> {
    Channel::parse(text.trim()).ok_or_else(|| {
        let all = Channel::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");
        DomainError::invalid_field("channel", format!("must be one of {all}"))
    })
}

/// Composes a writing style for one prospect with `composer` (the built-in
/// deterministic composer, or the configured model when the style is not
/// strict); 422 when no sample can be filled. Order of checks: the inline
/// profile (400), the writing style (404), a stored prospect (422 when it is
/// not in the group).
pub async fn preview_writing_style(
    store: &Store,
    composer: &dyn ContentComposer,
    group_id: &GroupId,
    id: &str,
    channel: Channel,
    prospect: PreviewProspect,
) -> AppResult<Composition> {
    if let PreviewProspect::Inline { profile, signals } = &prospect {
        validate_inline(profile, signals)?;
    }
    let style = get_writing_style(store, group_id, id).await?;
    let (profile, signals, history) = match prospect {
        PreviewProspect::Inline { profile, signals } => (profile, signals, Vec::new()),
        PreviewProspect::Stored { prospect_id, min_score, with_signals, with_history } => {
            let Some(p) = store.get_prospect(group_id, &prospect_id).await.or_internal()? else {
                return Err(unknown_reference(
                    "prospectId",
                    &format!("no prospect `{prospect_id}` exists in this account group"),
                ));
            };
            let signals =
                if with_signals { signals_for_composer(store, group_id, &p.id, min_score).await? } else { Vec::new() };
            let history = if with_history {
                store.recent_prospect_messages(group_id, &p.id, HISTORY_LIMIT as i64).await.or_internal()?
            } else {
                Vec::new()
            };
            let profile = ProspectProfile {
                first_name: p.first_name,
                last_name: p.last_name,
                company: p.company_name,
                title: p.title,
                location: p.location,
            };
            (profile, signals, history)
        }
    };
    let mut value_propositions = Vec::new();
    if let Some(vp_id) = &style.value_proposition_id
        && let Some(vp) = store.get_value_proposition(group_id, vp_id).await.or_internal()?
    {
        value_propositions.push(vp);
    }
    composer.compose(&ComposeRequest { style, value_propositions, profile, signals, history, channel }).await
}

// --- signal specifications -----------------------------------------------------

pub async fn list_signal_specifications(
    store: &Store,
    codec: &CursorCodec,
    group_id: &GroupId,
    page: &PageRequest,
) -> AppResult<Page<SignalSpecification>> {
    let rows = store.list_signal_specifications(group_id, page).await.or_internal()?;
    Ok(Page::from_rows(rows, page, codec, SIGNAL_SPECIFICATIONS_LIST, |s| (s.created_at, s.id.clone())))
}

pub async fn get_signal_specification(store: &Store, group_id: &GroupId, id: &str) -> AppResult<SignalSpecification> {
    store.get_signal_specification(group_id, id).await.or_internal()?.ok_or_else(signal_specification_not_found)
}

/// 400 when `sources` lists more than [`MAX_SOURCES`] entries.
fn check_sources_count(input: &SignalSpecificationInput) -> AppResult<()> {
    match &input.sources {
        Patch::Value(sources) if sources.len() > MAX_SOURCES => {
            Err(DomainError::invalid_field("sources", format!("must have at most {MAX_SOURCES} items")))
        }
        _ => Ok(()),
    }
}

pub async fn create_signal_specification(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    input: SignalSpecificationInput,
) -> AppResult<SignalSpecification> {
    check_sources_count(&input)?;
    let changes = input.validate(true)?;
    let now = clock.now();
    let spec = changes.into_new(new_hex_id(now), group_id.to_owned(), now);
    let outcome = store.save_signal_specification(&spec, true).await.or_internal()?;
    let refs = VpRefs::of_specification(&spec);
    written(outcome, spec, signal_specification_not_found, refs)
}

pub async fn update_signal_specification(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    id: &str,
    input: SignalSpecificationInput,
) -> AppResult<SignalSpecification> {
    check_sources_count(&input)?;
    let changes = input.validate(false)?;
    let mut spec = get_signal_specification(store, group_id, id).await?;
    changes.apply_to(&mut spec, clock.now());
    let outcome = store.save_signal_specification(&spec, false).await.or_internal()?;
    let refs = VpRefs::of_specification(&spec);
    written(outcome, spec, signal_specification_not_found, refs)
}

pub async fn delete_signal_specification(store: &Store, group_id: &GroupId, id: &str) -> AppResult<()> {
    let outcome = store.delete_signal_specification(group_id, id).await.or_internal()?;
    deleted(outcome, "signal specification", signal_specification_not_found)
}
