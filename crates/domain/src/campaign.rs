//! Campaigns (spec 2.5): the curated starter templates as fixed, versioned
//! workflows defined in code, their content slots, the campaign status and the
//! per-lead workflow state machine. Pure: the engine executes these
//! definitions, the store persists their state.
//!
//! A workflow is a sequence of steps. Each step waits `delay_ms` after the
//! previous one finished, then performs one action: visit the profile, follow,
//! like a recent post ("engage"), send an invitation with an optional note
//! ("connect"), wait for the invitation to be accepted (with a timeout), send a
//! direct message or an InMail. Message steps take their content from a
//! content slot, which links a writing style composed at send time.

use crate::GroupId;
use crate::Timestamp;
use crate::composer::Channel;
use crate::linkedin_account::{AccountType, ActionKind};
use crate::state::wire_enum;
use crate::template::ContentType;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// How long an invitation may stay unanswered before the lead stops with
/// `INVITATION_NOT_ACCEPTED`.
pub const ACCEPTANCE_TIMEOUT_MS: i64 = 21 * DAY_MS;
/// How often a waiting lead looks whether its invitation was accepted (a read of our own
/// store: the relation sweep and `new_relation` webhooks record acceptances).
pub const ACCEPTANCE_POLL_MS: i64 = HOUR_MS;

wire_enum! {
    /// Where a campaign is in its life.
    pub enum CampaignStatus ("campaign status") {
        Draft = "draft",
        Active = "active",
        Stopped = "stopped",
        Completed = "completed",
    }
}

wire_enum! {
    /// Stored states of a workflow instance (one per lead of a started campaign).
    pub enum InstanceState ("workflow instance state") {
        /// The workflow runs: its next step is queued, delayed, or waits for an event or an approval.
        Active = "active",
        Completed = "completed",
        Stopped = "stopped",
        /// The lead cannot take this workflow (e.g. no InMail credits, refuses InMail).
        NotEligible = "not_eligible",
    }
}

wire_enum! {
    /// `workflowStatus` values of the lead status (spec: documented set).
    pub enum WorkflowStatus ("workflow status") {
        /// The next action is due and waits only for the outbound scheduler.
        Pending = "pending",
        /// Waiting for time (a delay between steps), an event (invitation
        /// acceptance) or a decision (pending approval).
        Waiting = "waiting",
        Completed = "completed",
        Stopped = "stopped",
        /// In the campaign, but the campaign has not started (draft).
        NotStarted = "not_started",
        /// Not one of the campaign's selected leads (or not a lead of this group at all).
        NotInCampaign = "not_in_campaign",
        NotEligible = "not_eligible",
    }
}

wire_enum! {
    /// `workflowStopReason` values: why a lead's workflow stopped or could not run.
    pub enum StopReason ("workflow stop reason") {
        ContentDiscarded = "CONTENT_DISCARDED",
        ReplyReceived = "REPLY_RECEIVED",
        InvitationNotAccepted = "INVITATION_NOT_ACCEPTED",
        CampaignStopped = "CAMPAIGN_STOPPED",
        /// The lead cannot take this workflow (generic).
        NotEligible = "NOT_ELIGIBLE",
        NoInmailCredits = "NO_INMAIL_CREDITS",
        /// LinkedIn says the person cannot be reached (e.g. refuses InMail, unknown profile).
        NotReachable = "NOT_REACHABLE",
        /// A direct message needs a first-degree connection and there is none.
        NotConnected = "NOT_CONNECTED",
        /// No sample of the linked writing style can be composed for this lead.
        ContentUnavailable = "CONTENT_UNAVAILABLE",
        /// LinkedIn refused the action permanently, or transient failures ran out of retries.
        SendFailed = "SEND_FAILED",
        /// The campaign's LinkedIn account was disconnected or removed.
        AccountDisconnected = "ACCOUNT_DISCONNECTED",
    }
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepAction {
    VisitProfile,
    Follow,
    LikeRecentPost,
    /// Connection request; the note comes from the step's slot and is optional.
    Invite,
    /// Waits until the invitation is accepted or `ACCEPTANCE_TIMEOUT_MS` passes.
    AwaitAcceptance,
    DirectMessage,
    InMail,
}

impl StepAction {
    /// The action the outbound scheduler meters, if any (waiting is free).
    pub const fn metered(self) -> Option<ActionKind> {
        match self {
            Self::VisitProfile => Some(ActionKind::ProfileVisit),
            Self::Follow | Self::LikeRecentPost => Some(ActionKind::Engagement),
            Self::Invite => Some(ActionKind::Invitation),
            Self::AwaitAcceptance => None,
            Self::DirectMessage => Some(ActionKind::Message),
            Self::InMail => Some(ActionKind::InMail),
        }
    }
}

/// One step of a workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Stable name, reported as `latestStep` once performed (e.g. `direct_message_1`).
    pub key: &'static str,
    pub action: StepAction,
    /// Wait after the previous step finished before this one runs.
    pub delay_ms: i64,
    /// The content slot (its `position`) that writes this step's text.
    pub slot: Option<u32>,
}

const fn step(key: &'static str, action: StepAction, delay_ms: i64, slot: Option<u32>) -> Step {
    Step { key, action, delay_ms, slot }
}

/// The channel of a content slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotChannel {
    DirectMessage,
    InMail,
    ConnectionRequest,
}

impl SlotChannel {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DirectMessage => "direct_message",
            Self::InMail => "inmail",
            Self::ConnectionRequest => "connection_request",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::DirectMessage, Self::InMail, Self::ConnectionRequest].into_iter().find(|c| c.as_str() == text)
    }

    /// The composer channel.
    pub const fn composer_channel(self) -> Channel {
        match self {
            Self::DirectMessage => Channel::DirectMessage,
            Self::InMail => Channel::InMail,
            Self::ConnectionRequest => Channel::ConnectionRequest,
        }
    }

    /// Whether a writing style of `content_type` can write this slot.
    pub fn accepts(self, content_type: ContentType) -> bool {
        content_type.allows(self.composer_channel())
    }
}

/// An editable content slot of a workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotDef {
    /// 1-based, in workflow order.
    pub position: u32,
    pub channel: SlotChannel,
    /// 1-based position among the slots of the same channel.
    pub channel_position: u32,
    pub label: &'static str,
}

/// The curated starter templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StarterTemplate {
    EngageInmail,
    EngageConnectDm,
    ConnectEngageDm,
    Connect,
}

use StepAction::*;

const ENGAGE_INMAIL_STEPS: &[Step] = &[
    step("visit_profile", VisitProfile, 0, None),
    step("follow", Follow, DAY_MS, None),
    step("like_recent_post", LikeRecentPost, DAY_MS, None),
    step("inmail", InMail, 2 * DAY_MS, Some(1)),
];
const ENGAGE_INMAIL_SLOTS: &[SlotDef] =
    &[SlotDef { position: 1, channel: SlotChannel::InMail, channel_position: 1, label: "InMail" }];

const ENGAGE_CONNECT_DM_STEPS: &[Step] = &[
    step("visit_profile", VisitProfile, 0, None),
    step("follow", Follow, DAY_MS, None),
    step("like_recent_post", LikeRecentPost, DAY_MS, None),
    step("send_invitation", Invite, DAY_MS, Some(1)),
    step("invitation_accepted", AwaitAcceptance, 0, None),
    step("direct_message_1", DirectMessage, DAY_MS, Some(2)),
    step("direct_message_2", DirectMessage, 4 * DAY_MS, Some(3)),
];
const CONNECT_ENGAGE_DM_STEPS: &[Step] = &[
    step("send_invitation", Invite, 0, Some(1)),
    step("invitation_accepted", AwaitAcceptance, 0, None),
    step("visit_profile", VisitProfile, HOUR_MS, None),
    step("like_recent_post", LikeRecentPost, DAY_MS, None),
    step("direct_message_1", DirectMessage, DAY_MS, Some(2)),
    step("direct_message_2", DirectMessage, 4 * DAY_MS, Some(3)),
];
const CONNECT_DM_SLOTS: &[SlotDef] = &[
    SlotDef { position: 1, channel: SlotChannel::ConnectionRequest, channel_position: 1, label: "Invitation note" },
    SlotDef { position: 2, channel: SlotChannel::DirectMessage, channel_position: 1, label: "First message" },
    SlotDef { position: 3, channel: SlotChannel::DirectMessage, channel_position: 2, label: "Follow-up message" },
];

const CONNECT_STEPS: &[Step] =
    &[step("send_invitation", Invite, 0, Some(1)), step("invitation_accepted", AwaitAcceptance, 0, None)];
const CONNECT_SLOTS: &[SlotDef] =
    &[SlotDef { position: 1, channel: SlotChannel::ConnectionRequest, channel_position: 1, label: "Invitation note" }];

impl StarterTemplate {
    pub const ALL: [StarterTemplate; 4] =
        [Self::EngageInmail, Self::EngageConnectDm, Self::ConnectEngageDm, Self::Connect];

    pub const fn id(self) -> &'static str {
        match self {
            Self::EngageInmail => "engage-inmail",
            Self::EngageConnectDm => "engage-connect-dm",
            Self::ConnectEngageDm => "connect-engage-dm",
            Self::Connect => "connect",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.id() == text)
    }

    /// The workflow definition's version; stored with each campaign so a
    /// changed definition never alters campaigns created before it.
    pub const fn version(self) -> u32 {
        1
    }

    pub const fn name(self) -> &'static str {
        match self {
            Self::EngageInmail => "Engage, then InMail",
            Self::EngageConnectDm => "Engage, connect, then message",
            Self::ConnectEngageDm => "Connect, engage, then message",
            Self::Connect => "Connect",
        }
    }

    pub const fn description(self) -> &'static str {
        match self {
            Self::EngageInmail => {
                "Visits the profile, follows and likes a recent post, then sends an InMail. \
                 Needs a Sales Navigator or Recruiter account with InMail credits."
            }
            Self::EngageConnectDm => {
                "Visits the profile, follows and likes a recent post, sends an invitation with a note, \
                 and once accepted sends a message and a follow-up."
            }
            Self::ConnectEngageDm => {
                "Sends an invitation with a note; once accepted, visits the profile, likes a recent post, \
                 then sends a message and a follow-up."
            }
            Self::Connect => "Sends an invitation with a note and waits for it to be accepted.",
        }
    }

    pub const fn steps(self) -> &'static [Step] {
        match self {
            Self::EngageInmail => ENGAGE_INMAIL_STEPS,
            Self::EngageConnectDm => ENGAGE_CONNECT_DM_STEPS,
            Self::ConnectEngageDm => CONNECT_ENGAGE_DM_STEPS,
            Self::Connect => CONNECT_STEPS,
        }
    }

    pub const fn slots(self) -> &'static [SlotDef] {
        match self {
            Self::EngageInmail => ENGAGE_INMAIL_SLOTS,
            Self::EngageConnectDm | Self::ConnectEngageDm => CONNECT_DM_SLOTS,
            Self::Connect => CONNECT_SLOTS,
        }
    }

    /// Whether the workflow sends InMails (and so needs an account with credits).
    pub fn needs_inmail(self) -> bool {
        self.steps().iter().any(|s| s.action == StepAction::InMail)
    }

    /// Whether it is available to a group with these connected accounts:
    /// `(account type, InMail credits left)`.
    pub fn available(self, accounts: &[(AccountType, Option<u32>)]) -> bool {
        if self.needs_inmail() {
            accounts.iter().any(|(kind, credits)| kind.can_send_inmail() && credits.unwrap_or(0) > 0)
        } else {
            !accounts.is_empty()
        }
    }

    pub fn step(self, index: usize) -> Option<&'static Step> {
        self.steps().get(index)
    }
}

/// Where a lead's workflow goes after `index` is done (or skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Run step `index` at `at`.
    Step { index: usize, at: Timestamp },
    /// No step left: the workflow is completed.
    Completed,
}

/// The step after `index`, scheduled `delay_ms` after `now`.
pub fn next_after(template: StarterTemplate, index: usize, now: Timestamp) -> Next {
    match template.step(index + 1) {
        Some(step) => Next::Step { index: index + 1, at: now.plus_millis(step.delay_ms) },
        None => Next::Completed,
    }
}

/// The step after an invitation that was skipped because the lead is already
/// a first-degree connection: the acceptance wait is skipped too.
pub fn next_after_skipped_invitation(template: StarterTemplate, index: usize, now: Timestamp) -> Next {
    match template.step(index + 1) {
        Some(s) if s.action == StepAction::AwaitAcceptance => next_after(template, index + 1, now),
        _ => next_after(template, index, now),
    }
}

/// What an acceptance check decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptanceCheck {
    Accepted,
    /// Check again at this time.
    KeepWaiting(Timestamp),
    TimedOut,
}

/// The acceptance wait started at `waiting_since`.
pub fn acceptance_check(connected: bool, waiting_since: Timestamp, now: Timestamp) -> AcceptanceCheck {
    if connected {
        AcceptanceCheck::Accepted
    } else if now.as_millis() - waiting_since.as_millis() >= ACCEPTANCE_TIMEOUT_MS {
        AcceptanceCheck::TimedOut
    } else {
        let deadline = waiting_since.plus_millis(ACCEPTANCE_TIMEOUT_MS);
        AcceptanceCheck::KeepWaiting(now.plus_millis(ACCEPTANCE_POLL_MS).min(deadline))
    }
}

/// The provider token of one step of one instance: the same step always has
/// the same token, so a retry after a crash can never perform it twice.
pub fn step_token(instance_id: &str, step_index: usize) -> String {
    format!("{instance_id}{}", step_token_suffix(step_index))
}

/// What [`step_token`] appends to the instance id (queries build tokens from it).
pub fn step_token_suffix(step_index: usize) -> String {
    format!("-s{step_index}")
}

/// The public `workflowStatus` of a stored instance at `now`.
pub fn lead_workflow_status(
    state: InstanceState,
    template: StarterTemplate,
    step_index: usize,
    pending_approval: bool,
    next_run_at: Timestamp,
    now: Timestamp,
) -> WorkflowStatus {
    match state {
        InstanceState::Completed => WorkflowStatus::Completed,
        InstanceState::Stopped => WorkflowStatus::Stopped,
        InstanceState::NotEligible => WorkflowStatus::NotEligible,
        InstanceState::Active => {
            let awaiting = template.step(step_index).is_some_and(|s| s.action == StepAction::AwaitAcceptance);
            if pending_approval || awaiting || next_run_at > now {
                WorkflowStatus::Waiting
            } else {
                WorkflowStatus::Pending
            }
        }
    }
}

/// When composed content must be approved before it is sent: when the
/// composer had to fall back to a `fallback` sample (the lead lacked what the
/// preferred samples need), a person should look at it first.
pub fn needs_approval(sample_type_used: crate::template::SampleType) -> bool {
    sample_type_used == crate::template::SampleType::Fallback
}

/// Which writing-style content types a default link may use for a slot, best first.
pub fn default_content_types(channel: SlotChannel) -> &'static [ContentType] {
    match channel {
        SlotChannel::DirectMessage => &[ContentType::DirectMessage, ContentType::DirectMessageInMail],
        SlotChannel::InMail => &[ContentType::InMail, ContentType::DirectMessageInMail],
        SlotChannel::ConnectionRequest => &[ContentType::ConnectionRequest],
    }
}

/// A default sample: (type, subject, message).
pub type DefaultSample = (crate::template::SampleType, Option<&'static str>, &'static str);

/// The default writing style created for a slot channel when the group has
/// none that fits: `(name, content type, samples as (type, subject, message))`.
pub fn default_style(channel: SlotChannel) -> (&'static str, ContentType, &'static [DefaultSample]) {
    use crate::template::SampleType::{Basic, Fallback};
    match channel {
        SlotChannel::ConnectionRequest => (
            "Default invitation note",
            ContentType::ConnectionRequest,
            &[
                (
                    Basic,
                    None,
                    "Hi {{ FirstName }}, I came across your work at {{ Company }} and would be glad to connect.",
                ),
                (Fallback, None, "Hi, I came across your profile and would be glad to connect."),
            ],
        ),
        SlotChannel::DirectMessage => (
            "Default direct message",
            ContentType::DirectMessage,
            &[
                (
                    Basic,
                    None,
                    "Thanks for connecting, {{ FirstName }}! I'm curious how things are going at {{ Company }}. \
                     Would you be open to a short chat?",
                ),
                (Fallback, None, "Thanks for connecting! Would you be open to a short chat?"),
            ],
        ),
        SlotChannel::InMail => (
            "Default InMail",
            ContentType::InMail,
            &[
                (
                    Basic,
                    Some("A quick idea for {{ Company }}"),
                    "Hi {{ FirstName }}, I have been following {{ Company }} and had an idea I'd like to share. \
                     Would you be open to a short chat?",
                ),
                (
                    Fallback,
                    Some("A quick idea"),
                    "Hi, I had an idea I'd like to share. Would you be open to a short chat?",
                ),
            ],
        ),
    }
}

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: String,
    pub group_id: GroupId,
    pub name: String,
    pub description: Option<String>,
    pub starter_template: StarterTemplate,
    pub workflow_version: u32,
    pub audience_id: String,
    pub status: CampaignStatus,
    pub include_conversation_history: bool,
    pub auto_cancel_on_message_received: bool,
    pub outreach_language: String,
    /// The connected LinkedIn account that runs it (chosen at start).
    pub linkedin_account_id: Option<String>,
    pub selected_lead_count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub stopped_at: Option<Timestamp>,
}

/// A content slot of a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentSlot {
    pub id: String,
    pub group_id: GroupId,
    pub campaign_id: String,
    pub position: u32,
    pub channel: SlotChannel,
    pub channel_position: u32,
    pub label: String,
    /// The linked writing style.
    pub template_id: Option<String>,
}

/// One lead's run through a started campaign's workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowInstance {
    pub id: String,
    pub group_id: GroupId,
    pub campaign_id: String,
    pub prospect_id: String,
    pub linkedin_account_id: String,
    /// The step to run next (or the one waiting), index into the template's steps.
    pub step_index: usize,
    pub state: InstanceState,
    pub stop_reason: Option<StopReason>,
    /// Key of the last step performed (or skipped).
    pub latest_step: Option<String>,
    pub pending_approval: bool,
    pub pending_subject: Option<String>,
    pub pending_body: Option<String>,
    /// The pending content was approved: send it as is.
    pub approved: bool,
    /// When the current step became due (the acceptance wait counts from here).
    pub step_started_at: Timestamp,
    /// When the workflow wants its current step (safety rules may release it later).
    pub next_run_at: Timestamp,
    pub started_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_have_ids_versions_and_coherent_slots() {
        for t in StarterTemplate::ALL {
            assert_eq!(StarterTemplate::parse(t.id()), Some(t));
            assert_eq!(t.version(), 1);
            // Every slot is used by exactly one step, positions are 1..=n.
            for (k, slot) in t.slots().iter().enumerate() {
                assert_eq!(slot.position as usize, k + 1);
                let users = t.steps().iter().filter(|s| s.slot == Some(slot.position)).count();
                assert_eq!(users, 1, "{} slot {}", t.id(), slot.position);
                let same_channel_before = t.slots()[..k].iter().filter(|s| s.channel == slot.channel).count();
                assert_eq!(slot.channel_position as usize, same_channel_before + 1);
            }
            // Every step's slot has the channel its action writes.
            for s in t.steps() {
                let expected = match s.action {
                    StepAction::Invite => Some(SlotChannel::ConnectionRequest),
                    StepAction::DirectMessage => Some(SlotChannel::DirectMessage),
                    StepAction::InMail => Some(SlotChannel::InMail),
                    _ => None,
                };
                let got = s.slot.map(|p| t.slots()[p as usize - 1].channel);
                assert_eq!(got, expected, "{} {}", t.id(), s.key);
            }
            // An acceptance wait always follows an invitation.
            for (i, s) in t.steps().iter().enumerate() {
                if s.action == StepAction::AwaitAcceptance {
                    assert_eq!(t.steps()[i - 1].action, StepAction::Invite);
                }
            }
        }
        assert!(StarterTemplate::parse("scratch").is_none());
        assert!(StarterTemplate::EngageInmail.needs_inmail());
        assert!(!StarterTemplate::ConnectEngageDm.needs_inmail());
    }

    #[test]
    fn availability_follows_accounts_and_credits() {
        let classic = (AccountType::Classic, Some(0));
        let nav_empty = (AccountType::SalesNavigator, Some(0));
        let nav = (AccountType::SalesNavigator, Some(5));
        assert!(!StarterTemplate::Connect.available(&[]));
        assert!(StarterTemplate::Connect.available(&[classic]));
        assert!(!StarterTemplate::EngageInmail.available(&[classic, nav_empty]));
        assert!(StarterTemplate::EngageInmail.available(&[classic, nav]));
    }

    #[test]
    fn next_steps_and_skips() {
        let t = StarterTemplate::ConnectEngageDm;
        let now = Timestamp::from_millis(1_000);
        assert_eq!(next_after(t, 1, now), Next::Step { index: 2, at: now.plus_millis(HOUR_MS) });
        // A first-degree connection skips the invitation and the wait.
        assert_eq!(next_after_skipped_invitation(t, 0, now), Next::Step { index: 2, at: now.plus_millis(HOUR_MS) });
        assert_eq!(next_after(t, t.steps().len() - 1, now), Next::Completed);
        assert_eq!(next_after_skipped_invitation(StarterTemplate::Connect, 0, now), Next::Completed);
    }

    #[test]
    fn acceptance_waits_polls_and_times_out() {
        let since = Timestamp::from_millis(0);
        assert_eq!(acceptance_check(true, since, since), AcceptanceCheck::Accepted);
        assert_eq!(
            acceptance_check(false, since, Timestamp::from_millis(1)),
            AcceptanceCheck::KeepWaiting(Timestamp::from_millis(1 + ACCEPTANCE_POLL_MS))
        );
        let late = Timestamp::from_millis(ACCEPTANCE_TIMEOUT_MS - 1);
        assert_eq!(
            acceptance_check(false, since, late),
            AcceptanceCheck::KeepWaiting(Timestamp::from_millis(ACCEPTANCE_TIMEOUT_MS))
        );
        assert_eq!(
            acceptance_check(false, since, Timestamp::from_millis(ACCEPTANCE_TIMEOUT_MS)),
            AcceptanceCheck::TimedOut
        );
    }

    #[test]
    fn lead_status_reflects_state_time_and_approval() {
        let t = StarterTemplate::ConnectEngageDm;
        let now = Timestamp::from_millis(10_000);
        let later = now.plus_millis(1);
        use InstanceState as S;
        use WorkflowStatus as W;
        assert_eq!(lead_workflow_status(S::Active, t, 0, false, now, now), W::Pending);
        assert_eq!(lead_workflow_status(S::Active, t, 0, false, later, now), W::Waiting);
        assert_eq!(lead_workflow_status(S::Active, t, 1, false, now, now), W::Waiting);
        assert_eq!(lead_workflow_status(S::Active, t, 4, true, now, now), W::Waiting);
        assert_eq!(lead_workflow_status(S::Stopped, t, 4, false, now, now), W::Stopped);
        assert_eq!(lead_workflow_status(S::Completed, t, 5, false, now, now), W::Completed);
        assert_eq!(lead_workflow_status(S::NotEligible, t, 0, false, now, now), W::NotEligible);
    }

    #[test]
    fn slots_accept_fitting_content_types_and_defaults_fit() {
        assert!(SlotChannel::DirectMessage.accepts(ContentType::DirectMessageInMail));
        assert!(SlotChannel::InMail.accepts(ContentType::DirectMessageInMail));
        assert!(!SlotChannel::ConnectionRequest.accepts(ContentType::DirectMessage));
        assert!(!SlotChannel::DirectMessage.accepts(ContentType::Email));
        for channel in [SlotChannel::DirectMessage, SlotChannel::InMail, SlotChannel::ConnectionRequest] {
            let (_, content_type, samples) = default_style(channel);
            assert!(channel.accepts(content_type));
            assert!(default_content_types(channel).iter().all(|c| channel.accepts(*c)));
            assert!(samples.iter().all(|(_, subject, _)| subject.is_some() == (channel == SlotChannel::InMail)));
        }
        assert!(needs_approval(crate::template::SampleType::Fallback));
        assert!(!needs_approval(crate::template::SampleType::Basic));
        assert_eq!(step_token("abc", 3), "abc-s3");
    }
}
