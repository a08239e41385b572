//! A campaign's leads as the console sees them: the funnel (how many leads
//! reached each stage, and how they ended) and the lead list with each lead's
//! workflow and pending content. Both read what the executor records: the
//! workflow instances, the fenced sends of their steps and the inbox.

use super::*;
use crate::sends::SendState;
use sonarly_domain::GroupId;
use sonarly_domain::campaign::step_token_suffix;

/// The workflow steps the funnel reads, as indexes into the campaign's
/// starter template (the use case derives them from the template).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunnelSteps {
    /// Steps that send an invitation.
    pub invitations: Vec<usize>,
    /// The acceptance wait: a lead whose invitation was delivered and who is
    /// past this step (or completed its workflow) had it accepted.
    pub acceptance: Option<usize>,
    /// Steps that send a direct message or an InMail.
    pub messages: Vec<usize>,
}

/// The instances of one campaign in one `(state, stop reason)` group, with
/// how many of them reached each stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelGroup {
    pub state: InstanceState,
    pub stop_reason: Option<StopReason>,
    pub leads: i64,
    pub pending_approval: i64,
    pub invited: i64,
    pub accepted: i64,
    pub messaged: i64,
    pub replied: i64,
}

/// The funnel's raw counts: the selected leads and the instance groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelCounts {
    pub selected_leads: i64,
    pub groups: Vec<FunnelGroup>,
}

/// One selected lead of a campaign, with its prospect's name and headline
/// (absent when the prospect is gone) and its workflow instance (absent
/// before start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignLead {
    pub lead_id: String,
    /// Its place in the selection: the list's order and cursor key.
    pub position: i64,
    pub name: Option<String>,
    pub headline: Option<String>,
    pub instance: Option<WorkflowInstance>,
}

/// `1` when a delivered send exists for one of `count` step tokens of the
/// instance `i`, whose suffixes are bound from `$first`; `0` without steps.
fn delivered_step(first: usize, count: usize, delivered: usize) -> String {
    if count == 0 {
        return "0".into();
    }
    let tokens = (first..first + count).map(|n| format!("i.id || ${n}")).collect::<Vec<_>>().join(", ");
    format!(
        "CASE WHEN EXISTS (SELECT 1 FROM outbound_sends s WHERE s.token IN ({tokens}) AND s.state = ${delivered}) \
         THEN 1 ELSE 0 END"
    )
}

impl Store {
    /// A campaign's funnel in one grouped read: per `(state, stop reason)`,
    /// the instances, those awaiting approval, and those that were invited
    /// (an invitation step's send delivered), accepted (invited, and past the
    /// acceptance wait or completed), messaged (a message or InMail step's
    /// send delivered) and replied (stopped with `REPLY_RECEIVED`, or the lead
    /// wrote to the group since its workflow started: the executor's own
    /// reply rule). Plus the count of selected leads.
    pub async fn campaign_funnel(
        &self,
        group_id: &GroupId,
        campaign_id: &str,
        steps: &FunnelSteps,
    ) -> StoreResult<FunnelCounts> {
        // $1 group, $2 campaign, $3 delivered, $4 completed, $5 acceptance step,
        // $6 REPLY_RECEIVED, then the invitation and message token suffixes.
        let first_invitation = 7;
        let first_message = first_invitation + steps.invitations.len();
        let invited = delivered_step(first_invitation, steps.invitations.len(), 3);
        let messaged = delivered_step(first_message, steps.messages.len(), 3);
        let passed = if steps.acceptance.is_some() {
            "CASE WHEN i.state = $4 OR i.step_index > $5 THEN 1 ELSE 0 END"
        } else {
            "0"
        };
        let sql = format!(
            "SELECT state, stop_reason, COUNT(*) AS leads, SUM(pending) AS pending, SUM(invited) AS invited, \
             SUM(CASE WHEN invited = 1 AND passed = 1 THEN 1 ELSE 0 END) AS accepted, SUM(messaged) AS messaged, \
             SUM(replied) AS replied FROM (\
               SELECT i.state, i.stop_reason, CASE WHEN i.pending_approval = 1 THEN 1 ELSE 0 END AS pending, \
               {invited} AS invited, {passed} AS passed, {messaged} AS messaged, \
               CASE WHEN i.stop_reason = $6 OR EXISTS (\
                 SELECT 1 FROM prospects p \
                 JOIN conversations cv ON cv.group_id = p.group_id \
                   AND cv.participant_provider_id IN (p.provider_id, p.member_id) \
                 JOIN messages m ON m.conversation_id = cv.id \
                 WHERE p.group_id = i.group_id AND p.id = i.prospect_id AND m.is_sender = 0 \
                   AND m.sent_at >= i.started_at) THEN 1 ELSE 0 END AS replied \
               FROM campaign_instances i WHERE i.group_id = $1 AND i.campaign_id = $2\
             ) f GROUP BY state, stop_reason"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(group_id.as_str())
            .bind(campaign_id)
            .bind(SendState::Delivered.as_str())
            .bind(InstanceState::Completed.as_str())
            .bind(steps.acceptance.map_or(i64::MAX, |a| a as i64))
            .bind(StopReason::ReplyReceived.as_str());
        for index in steps.invitations.iter().chain(&steps.messages) {
            q = q.bind(step_token_suffix(*index));
        }
        let rows = q.fetch_all(&self.reader).await?;
        let groups = rows
            .iter()
            .map(|row| {
                Ok(FunnelGroup {
                    state: one_of(row, "state", InstanceState::parse)?,
                    stop_reason: opt_one_of(row, "stop_reason", StopReason::parse)?,
                    leads: row.try_get("leads")?,
                    pending_approval: row.try_get("pending")?,
                    invited: row.try_get("invited")?,
                    accepted: row.try_get("accepted")?,
                    messaged: row.try_get("messaged")?,
                    replied: row.try_get("replied")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let selected_leads: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM campaign_leads l JOIN campaigns c ON c.id = l.campaign_id \
             WHERE l.campaign_id = $1 AND c.group_id = $2",
        )
        .bind(campaign_id)
        .bind(group_id.as_str())
        .fetch_one(&self.reader)
        .await?;
        Ok(FunnelCounts { selected_leads, groups })
    }

    /// One page of a campaign's selected leads in selection order, each with
    /// its prospect and instance; `pending_approval` keeps only the leads
    /// whose content awaits approval (`true`) or the others (`false`). The
    /// page's key is the lead's position (see [`CampaignLead::position`]).
    pub async fn campaign_leads_page(
        &self,
        group_id: &GroupId,
        campaign_id: &str,
        pending_approval: Option<bool>,
        page: &PageRequest,
    ) -> StoreResult<Vec<CampaignLead>> {
        let mut base = String::from(
            "SELECT i.*, l.prospect_id AS lead_id, l.position AS lead_position, p.name AS lead_name, \
             p.headline AS lead_headline FROM campaign_leads l JOIN campaigns c ON c.id = l.campaign_id \
             LEFT JOIN campaign_instances i ON i.campaign_id = l.campaign_id AND i.prospect_id = l.prospect_id \
             LEFT JOIN prospects p ON p.group_id = c.group_id AND p.id = l.prospect_id \
             WHERE l.campaign_id = $1 AND c.group_id = $2",
        );
        match pending_approval {
            Some(true) => base.push_str(" AND i.pending_approval = 1"),
            Some(false) => base.push_str(" AND (i.id IS NULL OR i.pending_approval = 0)"),
            None => {}
        }
        let after = page.after.as_ref().map(|p| (p.created_at, p.id.clone()));
        let keyset = Keyset::oldest_first(after, page.fetch_limit()).by("l.position", "l.prospect_id");
        let rows = ListQuery::new(base).bind(campaign_id).bind(group_id).page(&keyset).fetch_all(&self.reader).await?;
        let leads = rows
            .iter()
            .map(|row| {
                let instance_id: Option<String> = row.try_get("id")?;
                Ok(CampaignLead {
                    lead_id: row.try_get("lead_id")?,
                    position: row.try_get("lead_position")?,
                    name: row.try_get("lead_name")?,
                    headline: row.try_get("lead_headline")?,
                    instance: instance_id.map(|_| instance_from_row(row)).transpose()?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(leads)
    }

    /// The position of a selected lead in the campaign (the lead list's key), if it is one.
    pub async fn campaign_lead_position(
        &self,
        group_id: &GroupId,
        campaign_id: &str,
        lead_id: &str,
    ) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT l.position FROM campaign_leads l JOIN campaigns c ON c.id = l.campaign_id \
             WHERE l.campaign_id = $1 AND c.group_id = $2 AND l.prospect_id = $3",
        )
        .bind(campaign_id)
        .bind(group_id.as_str())
        .bind(lead_id)
        .fetch_optional(&self.reader)
        .await?)
    }
}
