//! Permissions. The scope list (spec 1.9, plus `events:read`, `webhooks:read` and
//! `webhooks:write` for the event log and webhooks, and `linkedin-accounts:write` for
//! connecting seats) and the route → scope table live here,
//! in one place, so a route cannot exist without a decision about its scope.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    AudiencesRead,
    AudiencesWrite,
    ProspectsRead,
    ProspectingRead,
    ProspectingWrite,
    MessagesRead,
    MessagesWrite,
    CampaignsRead,
    CampaignsWrite,
    CampaignsExecute,
    SignalsRead,
    SignalsWrite,
    TemplatesRead,
    TemplatesWrite,
    EventsRead,
    WebhooksRead,
    WebhooksWrite,
    /// Connect, reconnect and unblock LinkedIn seats (hosted-auth links, checkpoints, webhooks).
    LinkedInAccountsWrite,
}

impl Scope {
    pub const ALL: [Scope; 18] = [
        Scope::AudiencesRead,
        Scope::AudiencesWrite,
        Scope::ProspectsRead,
        Scope::ProspectingRead,
        Scope::ProspectingWrite,
        Scope::MessagesRead,
        Scope::MessagesWrite,
        Scope::CampaignsRead,
        Scope::CampaignsWrite,
        Scope::CampaignsExecute,
        Scope::SignalsRead,
        Scope::SignalsWrite,
        Scope::TemplatesRead,
        Scope::TemplatesWrite,
        Scope::EventsRead,
        Scope::WebhooksRead,
        Scope::WebhooksWrite,
        Scope::LinkedInAccountsWrite,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::AudiencesRead => "audiences:read",
            Scope::AudiencesWrite => "audiences:write",
            Scope::ProspectsRead => "prospects:read",
            Scope::ProspectingRead => "prospecting:read",
            Scope::ProspectingWrite => "prospecting:write",
            Scope::MessagesRead => "messages:read",
            Scope::MessagesWrite => "messages:write",
            Scope::CampaignsRead => "campaigns:read",
            Scope::CampaignsWrite => "campaigns:write",
            Scope::CampaignsExecute => "campaigns:execute",
            Scope::SignalsRead => "signals:read",
            Scope::SignalsWrite => "signals:write",
            Scope::TemplatesRead => "templates:read",
            Scope::TemplatesWrite => "templates:write",
            Scope::EventsRead => "events:read",
            Scope::WebhooksRead => "webhooks:read",
            Scope::WebhooksWrite => "webhooks:write",
            Scope::LinkedInAccountsWrite => "linkedin-accounts:write",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL.iter().copied().find(|scope| scope.as_str() == s).ok_or_else(|| format!("unknown scope `{s}`"))
    }
}

/// A set of scopes, stored as a sorted comma-separated list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeSet(Vec<Scope>);

impl ScopeSet {
    pub fn all() -> Self {
        Self(Scope::ALL.to_vec())
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// Parses `all` or a comma-separated list such as `audiences:read,messages:write`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == "all" {
            return Ok(Self::all());
        }
        let mut scopes = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            scopes.push(part.parse::<Scope>()?);
        }
        if scopes.is_empty() {
            return Err("at least one scope (or `all`) is required".into());
        }
        scopes.sort();
        scopes.dedup();
        Ok(Self(scopes))
    }

    pub fn to_storage(&self) -> String {
        self.0.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
    }
}

/// What a route needs from the caller's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteAccess {
    /// Any valid key (`GET /v1/accounts`, `GET /v1/accounts/{accountGroupId}`, `GET /v1/api-keys/current`
    /// and reading the group's seats).
    AnyKey,
    Scope(Scope),
}

/// Every documented route (and the ones we add), with the scope it needs. The
/// API layer looks the matched route up here; a route missing from this table is
/// refused, so forgetting an entry fails closed.
pub const ROUTE_ACCESS: &[(&str, &str, RouteAccess)] = {
    use RouteAccess::{AnyKey, Scope as S};
    use Scope::*;
    &[
        ("GET", "/v1/accounts", AnyKey),
        ("GET", "/v1/accounts/{accountGroupId}", AnyKey),
        // The calling key itself (docs/decisions.md "Additions for the console").
        ("GET", "/v1/api-keys/current", AnyKey),
        // Connected LinkedIn accounts (not in the spec; any key of the group may read them).
        ("GET", "/v1/accounts/{accountGroupId}/linkedin-accounts", AnyKey),
        ("GET", "/v1/accounts/{accountGroupId}/linkedin-accounts/{linkedinAccountId}", AnyKey),
        // Changing a seat's settings (docs/decisions.md "Seat settings").
        ("PATCH", "/v1/accounts/{accountGroupId}/linkedin-accounts/{linkedinAccountId}", S(LinkedInAccountsWrite)),
        // Connecting seats through Unipile (issue 13.4; docs/decisions.md "Seat onboarding through the API")
        ("POST", "/v1/accounts/{accountGroupId}/linkedin-accounts", S(LinkedInAccountsWrite)),
        ("POST", "/v1/accounts/{accountGroupId}/linkedin-accounts/connect-link", S(LinkedInAccountsWrite)),
        (
            "POST",
            "/v1/accounts/{accountGroupId}/linkedin-accounts/{linkedinAccountId}/reconnect-link",
            S(LinkedInAccountsWrite),
        ),
        (
            "POST",
            "/v1/accounts/{accountGroupId}/linkedin-accounts/{linkedinAccountId}/checkpoint",
            S(LinkedInAccountsWrite),
        ),
        (
            "POST",
            "/v1/accounts/{accountGroupId}/linkedin-accounts/{linkedinAccountId}/webhooks",
            S(LinkedInAccountsWrite),
        ),
        // Audiences
        ("GET", "/v1/accounts/{accountGroupId}/audiences", S(AudiencesRead)),
        ("POST", "/v1/accounts/{accountGroupId}/audiences", S(AudiencesWrite)),
        ("GET", "/v1/accounts/{accountGroupId}/audiences/navigation", S(AudiencesRead)),
        ("GET", "/v1/accounts/{accountGroupId}/audiences/{audienceId}", S(AudiencesRead)),
        ("PATCH", "/v1/accounts/{accountGroupId}/audiences/{audienceId}", S(AudiencesWrite)),
        ("DELETE", "/v1/accounts/{accountGroupId}/audiences/{audienceId}", S(AudiencesWrite)),
        ("GET", "/v1/accounts/{accountGroupId}/audiences/{audienceId}/prospects", S(ProspectsRead)),
        ("POST", "/v1/accounts/{accountGroupId}/audiences/{audienceId}/move-to-folder", S(AudiencesWrite)),
        ("POST", "/v1/accounts/{accountGroupId}/audiences/{audienceId}/remove-from-folder", S(AudiencesWrite)),
        ("POST", "/v1/accounts/{accountGroupId}/audiences/folders", S(AudiencesWrite)),
        ("PATCH", "/v1/accounts/{accountGroupId}/audiences/folders/{folderId}", S(AudiencesWrite)),
        // Prospecting and prospects
        ("POST", "/v1/accounts/{accountGroupId}/prospecting", S(ProspectingWrite)),
        ("GET", "/v1/accounts/{accountGroupId}/prospecting", S(ProspectingRead)),
        ("GET", "/v1/accounts/{accountGroupId}/prospecting/quota", S(ProspectingRead)),
        ("GET", "/v1/accounts/{accountGroupId}/prospecting/{jobId}", S(ProspectingRead)),
        ("POST", "/v1/accounts/{accountGroupId}/prospecting/{jobId}/cancel", S(ProspectingWrite)),
        ("GET", "/v1/accounts/{accountGroupId}/sales-navigator/saved-searches", S(ProspectingRead)),
        ("GET", "/v1/accounts/{accountGroupId}/sales-navigator/lead-lists", S(ProspectingRead)),
        ("GET", "/v1/accounts/{accountGroupId}/prospects/by-provider-id/{providerId}", S(ProspectsRead)),
        // Messages
        ("GET", "/v1/accounts/{accountGroupId}/messages", S(MessagesRead)),
        ("POST", "/v1/accounts/{accountGroupId}/messages/responses", S(MessagesWrite)),
        ("GET", "/v1/accounts/{accountGroupId}/messages/responses", S(MessagesRead)),
        ("GET", "/v1/accounts/{accountGroupId}/messages/responses/{responseId}", S(MessagesRead)),
        ("POST", "/v1/accounts/{accountGroupId}/messages/responses/{responseId}/cancel", S(MessagesWrite)),
        // Campaigns
        ("GET", "/v1/accounts/{accountGroupId}/campaigns", S(CampaignsRead)),
        ("POST", "/v1/accounts/{accountGroupId}/campaigns", S(CampaignsWrite)),
        ("GET", "/v1/accounts/{accountGroupId}/campaigns/starter-templates", S(CampaignsRead)),
        ("GET", "/v1/accounts/{accountGroupId}/campaigns/{campaignId}", S(CampaignsRead)),
        ("POST", "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/duplicate", S(CampaignsWrite)),
        ("GET", "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/content-slots", S(CampaignsRead)),
        ("PATCH", "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/content-slots/{slotId}", S(CampaignsWrite)),
        ("POST", "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/start", S(CampaignsExecute)),
        ("POST", "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/stop", S(CampaignsExecute)),
        ("GET", "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/lead-status", S(CampaignsRead)),
        ("GET", "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/funnel", S(CampaignsRead)),
        ("GET", "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/leads", S(CampaignsRead)),
        (
            "POST",
            "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/workflow-instances/{workflowInstanceId}/approve",
            S(CampaignsExecute),
        ),
        (
            "POST",
            "/v1/accounts/{accountGroupId}/campaigns/{campaignId}/workflow-instances/{workflowInstanceId}/discard",
            S(CampaignsExecute),
        ),
        // Signals
        ("POST", "/v1/accounts/{accountGroupId}/signals/scans", S(SignalsWrite)),
        ("GET", "/v1/accounts/{accountGroupId}/signals/scans", S(SignalsRead)),
        ("GET", "/v1/accounts/{accountGroupId}/signals/scans/{scanId}", S(SignalsRead)),
        ("POST", "/v1/accounts/{accountGroupId}/signals/scans/{scanId}/cancel", S(SignalsWrite)),
        ("GET", "/v1/accounts/{accountGroupId}/prospects/{prospectId}/signals", S(ProspectsRead)),
        // Templates
        ("GET", "/v1/accounts/{accountGroupId}/signal-specifications", S(TemplatesRead)),
        ("POST", "/v1/accounts/{accountGroupId}/signal-specifications", S(TemplatesWrite)),
        ("GET", "/v1/accounts/{accountGroupId}/signal-specifications/{specificationId}", S(TemplatesRead)),
        ("PATCH", "/v1/accounts/{accountGroupId}/signal-specifications/{specificationId}", S(TemplatesWrite)),
        ("DELETE", "/v1/accounts/{accountGroupId}/signal-specifications/{specificationId}", S(TemplatesWrite)),
        ("GET", "/v1/accounts/{accountGroupId}/value-propositions", S(TemplatesRead)),
        ("POST", "/v1/accounts/{accountGroupId}/value-propositions", S(TemplatesWrite)),
        ("GET", "/v1/accounts/{accountGroupId}/value-propositions/{valuePropositionId}", S(TemplatesRead)),
        ("PATCH", "/v1/accounts/{accountGroupId}/value-propositions/{valuePropositionId}", S(TemplatesWrite)),
        ("DELETE", "/v1/accounts/{accountGroupId}/value-propositions/{valuePropositionId}", S(TemplatesWrite)),
        ("GET", "/v1/accounts/{accountGroupId}/writing-styles", S(TemplatesRead)),
        ("POST", "/v1/accounts/{accountGroupId}/writing-styles", S(TemplatesWrite)),
        ("GET", "/v1/accounts/{accountGroupId}/writing-styles/{writingStyleId}", S(TemplatesRead)),
        ("PATCH", "/v1/accounts/{accountGroupId}/writing-styles/{writingStyleId}", S(TemplatesWrite)),
        ("DELETE", "/v1/accounts/{accountGroupId}/writing-styles/{writingStyleId}", S(TemplatesWrite)),
        ("POST", "/v1/accounts/{accountGroupId}/writing-styles/{writingStyleId}/preview", S(TemplatesRead)),
        // Event log and outbound webhooks (issue 15; docs/decisions.md "Events and webhooks")
        ("GET", "/v1/accounts/{accountGroupId}/events", S(EventsRead)),
        ("GET", "/v1/accounts/{accountGroupId}/webhook-endpoints", S(WebhooksRead)),
        ("POST", "/v1/accounts/{accountGroupId}/webhook-endpoints", S(WebhooksWrite)),
        ("GET", "/v1/accounts/{accountGroupId}/webhook-endpoints/{endpointId}", S(WebhooksRead)),
        ("PATCH", "/v1/accounts/{accountGroupId}/webhook-endpoints/{endpointId}", S(WebhooksWrite)),
        ("DELETE", "/v1/accounts/{accountGroupId}/webhook-endpoints/{endpointId}", S(WebhooksWrite)),
        ("POST", "/v1/accounts/{accountGroupId}/webhook-endpoints/{endpointId}/rotate-secret", S(WebhooksWrite)),
        ("POST", "/v1/accounts/{accountGroupId}/webhook-endpoints/{endpointId}/test", S(WebhooksWrite)),
        ("GET", "/v1/accounts/{accountGroupId}/webhook-endpoints/{endpointId}/attempts", S(WebhooksRead)),
        (
            "POST",
            "/v1/accounts/{accountGroupId}/webhook-endpoints/{endpointId}/events/{eventId}/redeliver",
            S(WebhooksWrite),
        ),
    ]
};

/// The access rule for a matched route, or `None` when the route is unknown
/// (which callers must treat as "deny").
pub fn route_access(method: &str, path_template: &str) -> Option<RouteAccess> {
    ROUTE_ACCESS.iter().find(|(m, p, _)| *m == method && *p == path_template).map(|(_, _, access)| *access)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_and_lists() {
        assert_eq!(ScopeSet::parse("all").unwrap(), ScopeSet::all());
        let set = ScopeSet::parse("messages:write, audiences:read").unwrap();
        assert!(set.contains(Scope::AudiencesRead) && set.contains(Scope::MessagesWrite));
        assert!(!set.contains(Scope::MessagesRead));
        assert_eq!(set.to_storage(), "audiences:read,messages:write");
        assert!(ScopeSet::parse("audiences:admin").is_err());
        assert!(ScopeSet::parse(" , ").is_err());
    }

    #[test]
    fn every_scope_round_trips() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>().unwrap(), scope);
        }
    }

    #[test]
    fn route_table_has_no_duplicates_and_answers_lookups() {
        for (i, (m, p, _)) in ROUTE_ACCESS.iter().enumerate() {
            assert!(!ROUTE_ACCESS[i + 1..].iter().any(|(m2, p2, _)| m2 == m && p2 == p), "{m} {p} twice");
        }
        assert_eq!(route_access("GET", "/v1/accounts"), Some(RouteAccess::AnyKey));
        assert_eq!(
            route_access("GET", "/v1/accounts/{accountGroupId}/audiences"),
            Some(RouteAccess::Scope(Scope::AudiencesRead))
        );
        assert_eq!(route_access("PUT", "/v1/accounts"), None);
    }
}
