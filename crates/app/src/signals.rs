//! Signals (spec 2.6): starting signal scans (validated up front, idempotent
//! by key), reading, listing and cancelling them, and a prospect's signal
//! results. The engine runs the scans (`sonarly_engine`, `signals.rs`).

use crate::audiences::audience_not_ready;
use crate::prospecting::account_for;
use crate::{AppResult, StoreResultExt};
use sonarly_domain::GroupId;
use sonarly_domain::clock::Clock;
use sonarly_domain::composer::ProspectSignal;
use sonarly_domain::cursor::CursorCodec;
use sonarly_domain::id::new_hex_id;
use sonarly_domain::page::{Page, PageRequest};
use sonarly_domain::prospecting::JobStatus;
use sonarly_domain::signals::{ScanRequest, SignalGroup, SignalScan, compose_signals, group_items};
use sonarly_domain::{DomainError, ErrorCode, FieldIssue, Timestamp};
use sonarly_store::{NewScan, ScanCreation, Store};

pub const SCANS_LIST: &str = "signal-scans";

/// A start request as the API received it (the API converts its body type into it).
#[derive(Debug, Clone, Default)]
pub struct StartScanRequest {
    pub signal_specification_id: Option<String>,
    pub audience_id: Option<String>,
    pub prospect_ids: Option<Vec<String>>,
}

/// The answer to a start: the scan, and whether it replays a completed one (200).
pub struct StartedScan {
    pub scan: SignalScan,
    pub replayed_completed: bool,
}

pub fn scan_not_found() -> DomainError {
    DomainError::not_found("Signal scan")
}

pub fn prospect_not_found() -> DomainError {
    DomainError::not_found("Prospect")
}

/// Starts a scan. `idempotency` is (key, canonical request hash).
///
/// Order of checks: the body (400), a replay of the same key (200/202 or
/// 409 IDEMPOTENCY_CONFLICT), a connected LinkedIn account (409), then inside
/// the creating transaction the specification (400), the audience (400 when
/// absent, 409 AUDIENCE_NOT_READY while filling) and every `prospectIds`
/// entry's membership (400). References that name nothing are 400 on their
/// field because the scan-start page lists 400 and no 422.
pub async fn start_scan(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    request: &StartScanRequest,
    idempotency: Option<(&str, &str)>,
) -> AppResult<StartedScan> {
    let valid = ScanRequest {
        signal_specification_id: request.signal_specification_id.clone(),
        audience_id: request.audience_id.clone(),
        prospect_ids: request.prospect_ids.clone(),
    }
    .validate()?;
    let now = clock.now();
    if let Some((key, hash)) = idempotency
        && let Some(existing) = store.signal_scan_by_key(group_id, key).await.or_internal()?
        && sonarly_domain::idempotency::within_window(existing.created_at, now)
    {
        return replay(existing, hash);
    }
    let account = account_for(store, group_id, false).await?;
    let scan = SignalScan {
        id: new_hex_id(now),
        group_id: group_id.to_owned(),
        specification_id: valid.signal_specification_id.clone(),
        specification_snapshot: String::new(),
        audience_id: valid.audience_id.clone(),
        linkedin_account_id: account.id,
        name: String::new(),
        status: JobStatus::Queued,
        narrowed: valid.prospect_ids.is_some(),
        total_count: 0,
        processed_count: 0,
        evaluated_count: 0,
        skipped_count: 0,
        matched_count: 0,
        signal_count: 0,
        error_code: None,
        error_message: None,
        idempotency_key: idempotency.map(|(k, _)| k.to_owned()),
        request_hash: idempotency.map(|(_, h)| h.to_owned()),
        created_at: now,
        updated_at: now,
    };
    let work_id = new_hex_id(now);
    let outcome = store
        .create_signal_scan(NewScan {
            scan: &scan,
            prospect_ids: valid.prospect_ids.as_deref(),
            work_id: &work_id,
            now,
        })
        .await
        .or_internal()?;
    match outcome {
        ScanCreation::Created(scan) => Ok(StartedScan { scan, replayed_completed: false }),
        ScanCreation::Existing(existing) => replay(existing, idempotency.map(|(_, h)| h).unwrap_or_default()),
        ScanCreation::SpecificationMissing => Err(DomainError::invalid_field(
            "signalSpecificationId",
            format!("no signal specification `{}` exists in this account group", valid.signal_specification_id),
        )),
        ScanCreation::AudienceMissing => Err(DomainError::invalid_field(
            "audienceId",
            format!("no audience `{}` exists in this account group", valid.audience_id),
        )),
        ScanCreation::AudienceNotReady => Err(audience_not_ready()),
        ScanCreation::ProspectsNotInAudience(missing) => {
            let fields: Vec<FieldIssue> = missing
                .iter()
                .take(50)
                .map(|(i, id)| FieldIssue::new(format!("prospectIds[{i}]"), format!("`{id}` is not in the audience")))
                .collect();
            let message = format!(
                "{} of the requested prospects {} not in the audience.",
                missing.len(),
                if missing.len() == 1 { "is" } else { "are" }
            );
            Err(DomainError { message, ..DomainError::invalid(fields) })
        }
    }
}

fn replay(existing: SignalScan, hash: &str) -> AppResult<StartedScan> {
    if existing.request_hash.as_deref() != Some(hash) {
        return Err(DomainError::new(
            ErrorCode::IdempotencyConflict,
            "This Idempotency-Key was already used with a different request body.",
        ));
    }
    let completed = existing.status == JobStatus::Completed;
    Ok(StartedScan { scan: existing, replayed_completed: completed })
}

pub async fn get_scan(store: &Store, group_id: &GroupId, scan_id: &str) -> AppResult<SignalScan> {
    store.get_signal_scan(group_id, scan_id).await.or_internal()?.ok_or_else(scan_not_found)
}

pub async fn list_scans(
    store: &Store,
    codec: &CursorCodec,
    group_id: &GroupId,
    status_filter: Option<&str>,
    page: &PageRequest,
) -> AppResult<Page<SignalScan>> {
    let status_filter = crate::status_filter(status_filter, JobStatus::parse, JobStatus::names)?;
    let rows = store.list_signal_scans(group_id, status_filter, page).await.or_internal()?;
    Ok(Page::from_rows(rows, page, codec, SCANS_LIST, |s| (s.created_at, s.id.clone())))
}

/// Cancels a queued or running scan (422 otherwise); completed evaluations stay.
pub async fn cancel_scan(store: &Store, clock: &dyn Clock, group_id: &GroupId, scan_id: &str) -> AppResult<SignalScan> {
    match store.cancel_signal_scan(group_id, scan_id, clock.now()).await.or_internal()? {
        None => Err(scan_not_found()),
        Some((true, scan)) => Ok(scan),
        Some((false, scan)) => Err(DomainError::unprocessable(format!(
            "Scan is not in a cancellable status (it is {}); only queued or running scans can be cancelled.",
            scan.status
        ))),
    }
}

/// A prospect's signal results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProspectSignals {
    pub prospect_id: String,
    /// The evaluation the results come from; `None` while pending.
    pub evaluation: Option<EvaluationRef>,
    pub groups: Vec<SignalGroup>,
}

/// Which evaluation produced a prospect's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationRef {
    pub scan_id: String,
    pub specification_id: String,
    pub evaluated_at: Timestamp,
}

impl ProspectSignals {
    /// `pending` until a completed evaluation exists, then `evaluated` (even with no results).
    pub fn status(&self) -> &'static str {
        if self.evaluation.is_some() { "evaluated" } else { "pending" }
    }
}

/// The prospect's most recent completed evaluation, grouped by source type,
/// keeping items scoring at least `min_score` (groups left empty are dropped).
pub async fn prospect_signals(
    store: &Store,
    group_id: &GroupId,
    prospect_id: &str,
    min_score: Option<u8>,
) -> AppResult<ProspectSignals> {
    store.get_prospect(group_id, prospect_id).await.or_internal()?.ok_or_else(prospect_not_found)?;
    let evaluation = store.latest_signal_evaluation(group_id, prospect_id).await.or_internal()?;
    Ok(match evaluation {
        None => ProspectSignals { prospect_id: prospect_id.to_owned(), evaluation: None, groups: Vec::new() },
        Some(e) => ProspectSignals {
            prospect_id: prospect_id.to_owned(),
            groups: group_items(e.items, min_score),
            evaluation: Some(EvaluationRef {
                scan_id: e.scan_id,
                specification_id: e.specification_id,
                evaluated_at: e.evaluated_at,
            }),
        },
    })
}

/// The prospect's stored signals as the composer takes them (best first,
/// scoring at least `min_score`); empty while pending.
pub async fn signals_for_composer(
    store: &Store,
    group_id: &GroupId,
    prospect_id: &str,
    min_score: u8,
) -> AppResult<Vec<ProspectSignal>> {
    let evaluation = store.latest_signal_evaluation(group_id, prospect_id).await.or_internal()?;
    Ok(evaluation.map(|e| compose_signals(&e.items, min_score)).unwrap_or_default())
}
