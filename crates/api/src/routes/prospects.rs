//! Prospect reads: the provider-id lookup (P8) and an audience's prospects (A7).

use super::{GroupAccess, ListData, ListParams, page_request};
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok};
use crate::extract::{ApiPath, ApiQuery};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use sonarly_app::audiences::member_added_at;
use sonarly_app::prospects::{AUDIENCE_PROSPECTS_LIST, audience_prospects, lookup_by_provider_id as lookup};
use sonarly_domain::prospecting::Prospect;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderMatchView {
    pub prospect_id: String,
    pub person_id: String,
    pub public_identifier: Option<String>,
    pub linkedin_url: Option<String>,
    pub name: String,
    pub company_name: Option<String>,
    pub title: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderLookupView {
    pub provider_id: String,
    /// `none`, `unique` or `ambiguous` (several matches, none picked).
    pub resolution: String,
    pub matches: Vec<ProviderMatchView>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderIdPath {
    #[allow(dead_code)]
    account_group_id: String,
    provider_id: String,
}

/// Map an external provider id to this account group's prospects; never guesses.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/prospects/by-provider-id/{providerId}", tag = "Prospects",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("providerId" = String, Path, pattern = "^[A-Za-z0-9_:.=-]{1,200}$", description = "External provider ID used to map the source record to Sonarly: 1 to 200 letters, digits, `-`, `_`, `:`, `.`, `=` (anything else is 422).")),
    responses(
        (status = 200, description = "Provider ID prospect lookup result", body = Envelope<ProviderLookupView>),
        (status = 422, description = "Request validation failed", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["prospects:read"]))
)]
pub async fn lookup_by_provider_id(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<ProviderIdPath>,
) -> ApiResult {
    let (resolution, matches) = lookup(&state.store, &access.group_id, &path.provider_id).await?;
    Ok(ok(ProviderLookupView {
        provider_id: path.provider_id,
        resolution: resolution.as_str().into(),
        matches: matches
            .into_iter()
            .map(|p| ProviderMatchView {
                prospect_id: p.id,
                person_id: p.person_id,
                public_identifier: p.public_identifier,
                linkedin_url: p.linkedin_url,
                name: p.name,
                company_name: p.company_name,
                title: p.title,
            })
            .collect(),
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyView {
    pub name: Option<String>,
    pub linkedin_identifier: Option<String>,
    pub linkedin_url: Option<String>,
    pub industry: Option<String>,
    pub website: Option<String>,
}

/// A prospect in an audience (spec A7, plus `providerId` for the lookup and a few enriched fields).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AudienceProspectView {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name: String,
    pub headline: Option<String>,
    pub about: Option<String>,
    pub photo_url: Option<String>,
    pub linkedin_url: Option<String>,
    pub public_identifier: Option<String>,
    pub company: CompanyView,
    pub provider_id: String,
    pub title: Option<String>,
    pub location: Option<String>,
    pub email: Option<String>,
    pub connection_degree: Option<i64>,
}

impl From<Prospect> for AudienceProspectView {
    fn from(p: Prospect) -> Self {
        Self {
            id: p.id,
            first_name: p.first_name,
            last_name: p.last_name,
            name: p.name,
            headline: p.headline,
            about: p.about,
            photo_url: p.photo_url,
            linkedin_url: p.linkedin_url,
            public_identifier: p.public_identifier,
            company: CompanyView {
                name: p.company_name,
                linkedin_identifier: p.company_linkedin_identifier,
                linkedin_url: p.company_linkedin_url,
                industry: p.company_industry,
                website: p.company_website,
            },
            provider_id: p.provider_id,
            title: p.title,
            location: p.location,
            email: p.email,
            connection_degree: p.connection_degree,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudiencePath {
    #[allow(dead_code)]
    account_group_id: String,
    audience_id: String,
}

/// List the prospects of an audience, in the order they were added.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/audiences/{audienceId}/prospects", tag = "Audiences",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("audienceId" = String, Path, description = "Audience ID."), ListParams),
    responses(
        (status = 200, description = "Paginated prospects", body = Envelope<ListData<AudienceProspectView>>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "AUDIENCE_NOT_READY", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["prospects:read"]))
)]
pub async fn list_audience_prospects(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<AudiencePath>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult {
    let (store, group, audience) = (&state.store, &access.group_id, path.audience_id.as_str());
    let (limit, cursor) = (q.limit.as_deref(), q.cursor.as_deref());
    let page = page_request(&state.cursors, AUDIENCE_PROSPECTS_LIST, limit, cursor, |id| async move {
        member_added_at(store, group, audience, &id).await
    })
    .await?;
    let prospects =
        audience_prospects(&state.store, &state.cursors, &access.group_id, &path.audience_id, &page).await?;
    Ok(ok(ListData::from_page(prospects, AudienceProspectView::from)))
}
