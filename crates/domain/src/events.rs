//! The event log: facts a user cares about, appended in the same transaction
//! as the change they describe, readable through `GET …/events` and delivered
//! to webhook endpoints.
//!
//! An event is `{id, type, createdAt, accountGroupId, data}`. Its id is
//! `evt_` + ULID (time part = `createdAt`); it is also the `webhook-id` of
//! every delivery, so receivers deduplicate on it. `data` carries the ids and
//! the fields a consumer needs to act without a second call, never secrets,
//! and always `accountGroupId` (the webhook body has no other place for it).
//! The payload builders live here, one per kind of fact, beside the
//! documentation's examples; a test of the API (`catalog.rs`) checks that
//! every type's real payload has exactly the fields of its example.

use crate::GroupId;
use crate::prospecting::ProspectingJob;
use crate::signals::SignalScan;
use crate::{DomainError, Timestamp};
use serde::Serialize;
/// For the store, which builds a few payloads from its rows.
pub use serde_json::{Value, json};

/// The list name of `GET …/events` cursors, newest first.
pub const EVENTS_LIST: &str = "events";
/// The list name of `GET …/events?after=…` cursors, oldest first.
pub const EVENTS_AFTER_LIST: &str = "events-after";
/// Events are kept this long unless the operator says otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// Catch-up (`after=`) only returns events at least this old, so that a
/// transaction stamped earlier but committed later cannot be skipped by a
/// reader that already moved past its position.
pub const CATCH_UP_SETTLE_MS: i64 = 2_000;
/// `credits.low` fires when a charge takes the balance from at least this
/// many credits to fewer.
pub const CREDITS_LOW_THRESHOLD: i64 = 100;

/// Every event type. `webhook.test` is only ever delivered to the endpoint
/// being tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    MessageReceived,
    MessageSent,
    ResponseSent,
    ResponseFailed,
    ResponseCancelled,
    InvitationSent,
    InvitationAccepted,
    ProspectingJobCompleted,
    ProspectingJobFailed,
    ProspectingJobCancelled,
    SignalsScanCompleted,
    CampaignStarted,
    CampaignStopped,
    CampaignCompleted,
    CampaignLeadStepCompleted,
    CampaignLeadReplied,
    CampaignLeadStopped,
    CampaignApprovalRequired,
    LinkedinAccountStatusChanged,
    CreditsLow,
    WebhookEndpointDisabled,
    WebhookTest,
}

impl EventType {
    pub const ALL: [EventType; 22] = [
        Self::MessageReceived,
        Self::MessageSent,
        Self::ResponseSent,
        Self::ResponseFailed,
        Self::ResponseCancelled,
        Self::InvitationSent,
        Self::InvitationAccepted,
        Self::ProspectingJobCompleted,
        Self::ProspectingJobFailed,
        Self::ProspectingJobCancelled,
        Self::SignalsScanCompleted,
        Self::CampaignStarted,
        Self::CampaignStopped,
        Self::CampaignCompleted,
        Self::CampaignLeadStepCompleted,
        Self::CampaignLeadReplied,
        Self::CampaignLeadStopped,
        Self::CampaignApprovalRequired,
        Self::LinkedinAccountStatusChanged,
        Self::CreditsLow,
        Self::WebhookEndpointDisabled,
        Self::WebhookTest,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MessageReceived => "message.received",
            Self::MessageSent => "message.sent",
            Self::ResponseSent => "response.sent",
            Self::ResponseFailed => "response.failed",
            Self::ResponseCancelled => "response.cancelled",
            Self::InvitationSent => "invitation.sent",
            Self::InvitationAccepted => "invitation.accepted",
            Self::ProspectingJobCompleted => "prospecting.job.completed",
            Self::ProspectingJobFailed => "prospecting.job.failed",
            Self::ProspectingJobCancelled => "prospecting.job.cancelled",
            Self::SignalsScanCompleted => "signals.scan.completed",
            Self::CampaignStarted => "campaign.started",
            Self::CampaignStopped => "campaign.stopped",
            Self::CampaignCompleted => "campaign.completed",
            Self::CampaignLeadStepCompleted => "campaign.lead.step_completed",
            Self::CampaignLeadReplied => "campaign.lead.replied",
            Self::CampaignLeadStopped => "campaign.lead.stopped",
            Self::CampaignApprovalRequired => "campaign.approval.required",
            Self::LinkedinAccountStatusChanged => "linkedin_account.status_changed",
            Self::CreditsLow => "credits.low",
            Self::WebhookEndpointDisabled => "webhook_endpoint.disabled",
            Self::WebhookTest => "webhook.test",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// What the event means, for the documentation.
    pub const fn description(self) -> &'static str {
        match self {
            Self::MessageReceived => "A prospect's message arrived in a connected account's inbox.",
            Self::MessageSent => "A connected account sent a message (through Sonarly or on LinkedIn directly).",
            Self::ResponseSent => "A scheduled response was delivered.",
            Self::ResponseFailed => "A scheduled response failed for good.",
            Self::ResponseCancelled => "A scheduled response was cancelled before it was sent.",
            Self::InvitationSent => "A connection invitation was sent.",
            Self::InvitationAccepted => "A prospect accepted a connection invitation.",
            Self::ProspectingJobCompleted => "A prospecting job finished; its audience is ready.",
            Self::ProspectingJobFailed => "A prospecting job stopped with an error; what it imported is kept.",
            Self::ProspectingJobCancelled => "A prospecting job was cancelled; what it imported is kept.",
            Self::SignalsScanCompleted => "A signal scan evaluated every prospect it covers.",
            Self::CampaignStarted => "A campaign started.",
            Self::CampaignStopped => "A campaign was stopped.",
            Self::CampaignCompleted => "Every lead of a campaign reached the end of the workflow.",
            Self::CampaignLeadStepCompleted => "A campaign lead completed a workflow step.",
            Self::CampaignLeadReplied => "A campaign lead replied.",
            Self::CampaignLeadStopped => "A campaign lead left the workflow early.",
            Self::CampaignApprovalRequired => "A campaign step waits for approval.",
            Self::LinkedinAccountStatusChanged => "A connected LinkedIn account changed health state.",
            Self::CreditsLow => "The account group's credit balance fell below the low-credit threshold.",
            Self::WebhookEndpointDisabled => "A webhook endpoint failed for 5 days and was disabled.",
            Self::WebhookTest => "A test event sent by `POST …/webhook-endpoints/{id}/test`.",
        }
    }

    /// An example `data` object, shown in the OpenAPI document.
    pub fn example_data(self) -> Value {
        let group = "69f495c0a1b2c3d4e5f60718";
        let mut data = match self {
            Self::MessageReceived | Self::MessageSent => json!({
                "messageId": "6a1b2c3d4e5f60718293a4b5", "conversationId": "6a1b2c3d4e5f60718293a4b6",
                "linkedinAccountId": "6a0b1c2d3e4f506172839405", "prospectId": "6a1b2c3d4e5f60718293a4b7",
                "providerMessageId": "7412345678901234567", "providerChatId": "2-YWJjZGVm",
                "senderProviderId": "ACoAAB1234567890abcdef", "isSender": self == Self::MessageSent,
                "text": "Thanks for reaching out, happy to talk next week.", "sentAt": "2026-06-03T10:15:00.000Z"
            }),
            Self::ResponseSent | Self::ResponseFailed | Self::ResponseCancelled => json!({
                "responseId": "6a1b2c3d4e5f60718293a4c0", "linkedinAccountId": "6a0b1c2d3e4f506172839405",
                "prospectId": "6a1b2c3d4e5f60718293a4b7", "conversationId": "6a1b2c3d4e5f60718293a4b6",
                "status": match self { Self::ResponseSent => "sent", Self::ResponseFailed => "failed", _ => "cancelled" },
                "channel": "direct_message",
                "messageId": if self == Self::ResponseSent { json!("6a1b2c3d4e5f60718293a4b5") } else { Value::Null },
                "sentAt": if self == Self::ResponseSent { json!("2026-06-03T10:15:00.000Z") } else { Value::Null },
                "error": if self == Self::ResponseFailed {
                    json!({"code": "RECIPIENT_UNREACHABLE", "message": "LinkedIn refused the message."})
                } else { Value::Null }
            }),
            Self::ProspectingJobCompleted | Self::ProspectingJobFailed | Self::ProspectingJobCancelled => json!({
                "jobId": "69f4a1b2c3d4e5f607182930", "name": "Heads of Growth, Berlin",
                "audienceId": "aud_01HYR7X8Q4M8K9P2V6N3B5C0D1",
                "status": match self {
                    Self::ProspectingJobCompleted => "completed", Self::ProspectingJobFailed => "failed", _ => "cancelled"
                },
                "importedCount": 250, "enrichedCount": 0, "creditsCharged": 250,
                "error": if self == Self::ProspectingJobFailed {
                    json!({"code": "INSUFFICIENT_CREDITS", "message": "The account group ran out of credits during the import."})
                } else { Value::Null }
            }),
            Self::SignalsScanCompleted => json!({
                "scanId": "69f4a1b2c3d4e5f607182940", "signalSpecificationId": "507f1f77bcf86cd799439011",
                "audienceId": "aud_01HYR7X8Q4M8K9P2V6N3B5C0D1", "status": "completed",
                "counts": {"total": 250, "evaluated": 248, "skipped": 2, "withSignals": 61, "signals": 94}
            }),
            Self::CampaignStarted | Self::CampaignStopped | Self::CampaignCompleted => json!({
                "campaignId": "6b09a1b2c3d4e5f607182930", "name": "Q3 founders",
                "status": match self {
                    Self::CampaignStarted => "active", Self::CampaignStopped => "stopped", _ => "completed"
                }
            }),
            // A lead's workflow as it stands after the fact: `step` is the step just performed (null
            // when none was), `stepIndex` the position of its next step, `state` active, completed,
            // stopped or not_eligible, with `stopReason` once it stopped.
            Self::InvitationSent
            | Self::InvitationAccepted
            | Self::CampaignLeadStepCompleted
            | Self::CampaignLeadReplied
            | Self::CampaignLeadStopped
            | Self::CampaignApprovalRequired => json!({
                "campaignId": "6b09a1b2c3d4e5f607182930", "workflowInstanceId": "6b09a1b2c3d4e5f607182931",
                "prospectId": "6a1b2c3d4e5f60718293a4b7", "providerId": "ACoAAB1234567890abcdef",
                "linkedinAccountId": "6a0b1c2d3e4f506172839405",
                "step": match self {
                    Self::InvitationSent => json!("send_invitation"),
                    Self::InvitationAccepted => json!("invitation_accepted"),
                    Self::CampaignLeadStepCompleted => json!("direct_message_1"),
                    _ => Value::Null,
                },
                "stepIndex": match self {
                    Self::InvitationSent => 1, Self::InvitationAccepted => 2, Self::CampaignApprovalRequired => 0, _ => 5
                },
                "state": match self {
                    Self::CampaignLeadReplied | Self::CampaignLeadStopped => "stopped", _ => "active"
                },
                "stopReason": match self {
                    Self::CampaignLeadReplied => json!("REPLY_RECEIVED"),
                    Self::CampaignLeadStopped => json!("INVITATION_NOT_ACCEPTED"),
                    _ => Value::Null,
                }
            }),
            Self::LinkedinAccountStatusChanged => json!({
                "linkedinAccountId": "6a0b1c2d3e4f506172839405", "previousStatus": "connected",
                "status": "disconnected"
            }),
            Self::CreditsLow => json!({"credits": 95, "threshold": CREDITS_LOW_THRESHOLD}),
            Self::WebhookEndpointDisabled => json!({
                "endpointId": "we_01J2X3Y4Z5A6B7C8D9E0F1G2H3", "url": "https://hooks.example.com/sonarly",
                "failingSince": "2026-05-29T10:00:00.000Z", "reason": "failing"
            }),
            Self::WebhookTest => json!({
                "endpointId": "we_01J2X3Y4Z5A6B7C8D9E0F1G2H3", "message": "A test event from Sonarly."
            }),
        };
        data["accountGroupId"] = json!(group);
        data
    }
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub group_id: GroupId,
    pub event_type: EventType,
    pub data: Value,
    pub created_at: Timestamp,
}

impl Event {
    /// The Standard Webhooks body: `{type, timestamp, data}`.
    pub fn webhook_body(&self) -> String {
        json!({"type": self.event_type.as_str(), "timestamp": self.created_at.to_rfc3339(), "data": self.data})
            .to_string()
    }
}

/// Reads stored `data` JSON text; unreadable text (never written by this code) reads as null.
pub fn data_from_storage(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// A new event id for `at`: `evt_` + ULID.
pub fn new_event_id(at: Timestamp) -> String {
    crate::id::new_prefixed_ulid("evt", at)
}

/// Parses `types=a,b` (the list filter and `eventTypes`): known types, no
/// empties; the error names `field`.
pub fn parse_type_list(field: &str, text: &str) -> Result<Vec<EventType>, DomainError> {
    let mut types = Vec::new();
    for part in text.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(DomainError::invalid_field(field, "must be a comma-separated list of event types"));
        }
        match EventType::parse(part) {
            Some(t) => types.push(t),
            None => return Err(DomainError::invalid_field(field, format!("unknown event type `{part}`"))),
        }
    }
    types.sort();
    types.dedup();
    Ok(types)
}

/// Adds `accountGroupId` to a payload object.
fn with_group(group_id: &str, data: impl Serialize) -> Value {
    let mut value = serde_json::to_value(data).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.insert("accountGroupId".into(), Value::String(group_id.to_owned()));
    }
    value
}

/// `{code, message}` of a failure, or null.
fn error_value(code: Option<&str>, message: Option<&str>) -> Value {
    match (code, message) {
        (Some(code), message) => json!({"code": code, "message": message.unwrap_or("")}),
        _ => Value::Null,
    }
}

/// `prospecting.job.*` data.
pub fn prospecting_job_data(job: &ProspectingJob) -> Value {
    with_group(
        &job.group_id,
        json!({
            "jobId": job.id, "name": job.name, "audienceId": job.audience_id, "status": job.status,
            "importedCount": job.import_done, "enrichedCount": job.enrichment_done,
            "creditsCharged": job.credits_charged,
            "error": error_value(job.error_code.as_deref(), job.error_message.as_deref()),
        }),
    )
}

/// `response.sent`, `response.failed` and `response.cancelled` data.
pub fn response_data(r: &crate::responses::ScheduledResponse) -> Value {
    with_group(
        &r.group_id,
        json!({
            "responseId": r.id, "linkedinAccountId": r.linkedin_account_id, "prospectId": r.prospect_id,
            "conversationId": r.conversation_id, "status": r.status, "channel": r.channel,
            "messageId": r.message_id, "sentAt": r.sent_at,
            "error": error_value(r.failure_code.as_deref(), r.failure_message.as_deref()),
        }),
    )
}

/// `signals.scan.completed` data.
pub fn scan_data(scan: &SignalScan) -> Value {
    with_group(
        &scan.group_id,
        json!({
            "scanId": scan.id, "signalSpecificationId": scan.specification_id, "audienceId": scan.audience_id,
            "status": scan.status,
            "counts": {
                "total": scan.total_count, "evaluated": scan.evaluated_count, "skipped": scan.skipped_count,
                "withSignals": scan.matched_count, "signals": scan.signal_count
            }
        }),
    )
}

/// A message as `message.received` and `message.sent` describe it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageFacts {
    pub message_id: String,
    pub conversation_id: String,
    pub linkedin_account_id: String,
    pub prospect_id: Option<String>,
    pub provider_message_id: String,
    pub provider_chat_id: String,
    pub sender_provider_id: String,
    pub is_sender: bool,
    pub text: String,
    pub sent_at: Timestamp,
}

/// `message.received` / `message.sent` data.
pub fn message_data(group_id: &str, facts: &MessageFacts) -> Value {
    with_group(group_id, facts)
}

/// `linkedin_account.status_changed` data.
pub fn account_status_data(group_id: &str, account_id: &str, previous: &str, status: &str) -> Value {
    with_group(group_id, json!({"linkedinAccountId": account_id, "previousStatus": previous, "status": status}))
}

/// `credits.low` data.
pub fn credits_low_data(group_id: &str, credits: i64) -> Value {
    with_group(group_id, json!({"credits": credits, "threshold": CREDITS_LOW_THRESHOLD}))
}

/// True when a balance change from `before` to `after` crosses the low-credit threshold.
pub fn crosses_credits_low(before: i64, after: i64) -> bool {
    before >= CREDITS_LOW_THRESHOLD && after < CREDITS_LOW_THRESHOLD
}

/// `webhook_endpoint.disabled` data.
pub fn endpoint_disabled_data(group_id: &str, endpoint_id: &str, url: &str, failing_since: Timestamp) -> Value {
    with_group(
        group_id,
        json!({"endpointId": endpoint_id, "url": url, "failingSince": failing_since.to_rfc3339(),
               "reason": crate::webhooks::DisabledReason::Failing}),
    )
}

/// `webhook.test` data.
pub fn webhook_test_data(group_id: &str, endpoint_id: &str) -> Value {
    with_group(group_id, json!({"endpointId": endpoint_id, "message": "A test event from Sonarly."}))
}

/// Generic data for the flows that describe themselves with a few fields
/// (responses, invitations, campaigns): the given object plus `accountGroupId`.
pub fn data_with_group(group_id: &str, fields: Value) -> Value {
    with_group(group_id, fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_and_has_an_example_naming_its_group() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert!(!t.description().is_empty());
            let example = t.example_data();
            assert!(example["accountGroupId"].is_string(), "{}", t.as_str());
        }
        assert_eq!(EventType::parse("message.deleted"), None);
    }

    #[test]
    fn type_lists_name_the_field_on_unknown_or_empty_entries() {
        assert_eq!(
            parse_type_list("types", "message.sent, message.received,message.sent").unwrap(),
            vec![EventType::MessageReceived, EventType::MessageSent]
        );
        let err = parse_type_list("types", "message.sent,nope").unwrap_err();
        assert_eq!(err.fields[0].field, "types");
        assert!(err.fields[0].message.contains("nope"));
        assert!(parse_type_list("eventTypes", "message.sent,").is_err());
    }

    #[test]
    fn the_webhook_body_is_type_timestamp_and_data() {
        let event = Event {
            id: new_event_id(Timestamp::from_millis(1_777_636_800_000)),
            group_id: "g".into(),
            event_type: EventType::CreditsLow,
            data: credits_low_data("g", 42),
            created_at: Timestamp::from_millis(1_777_636_800_000),
        };
        assert!(event.id.starts_with("evt_") && event.id.len() == 30);
        let body: Value = serde_json::from_str(&event.webhook_body()).unwrap();
        assert_eq!(
            body,
            json!({"type": "credits.low", "timestamp": "2026-05-01T12:00:00.000Z",
                   "data": {"accountGroupId": "g", "credits": 42, "threshold": 100}})
        );
    }

    #[test]
    fn credits_low_fires_only_on_the_crossing() {
        assert!(crosses_credits_low(100, 99));
        assert!(crosses_credits_low(150, 0));
        assert!(!crosses_credits_low(99, 50));
        assert!(!crosses_credits_low(200, 100));
    }
}
