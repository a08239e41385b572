//! People sources: LinkedIn search, Sales Navigator saved searches and lead lists,
//! post commenters (contract §4.7, §4.9).

use super::UnipileLinkedIn;
use super::errors::Ctx;
use super::mapping;
use super::people::paged;
use super::wire::*;
use crate::error::{LinkedInError, LinkedInResult};
use crate::types::*;
use serde_json::{Value, json};
use std::collections::HashSet;

/// Classic people search must not exceed 50 per call; Sales Navigator and Recruiter allow 100.
const CLASSIC_SEARCH_MAX: u32 = 50;
const PREMIUM_SEARCH_MAX: u32 = 100;
/// `GET /posts/{social_id}/comments` and `/linkedin/search/parameters` allow up to 100.
const COMMENTS_MAX: u32 = 100;
const PARAMETERS_MAX: u32 = 100;

impl UnipileLinkedIn {
    pub(crate) async fn search(
        &self,
        source: &PeopleSource,
        cursor: Option<&str>,
        page_size: u32,
    ) -> LinkedInResult<ProviderPage<Person>> {
        let reference = match source {
            PeopleSource::SearchUrl(s)
            | PeopleSource::SavedSearch(s)
            | PeopleSource::LeadList(s)
            | PeopleSource::PostCommenters(s) => s,
        };
        if reference.trim().is_empty() {
            return Err(LinkedInError::InvalidInput("people source is empty".into()));
        }
        let (body, premium) = match source {
            PeopleSource::SearchUrl(url) => (url_body(url)?, is_premium_url(url)),
            // Documented fields of the Sales Navigator people body (OAS `POST /linkedin/search`):
            // `saved_search_id` (ids from `type=SAVED_SEARCHES`) and `lead_lists.include`
            // (ids from `type=LEAD_LISTS`). A saved-search or lead-list page URL is read for its id.
            PeopleSource::SavedSearch(reference) => match saved_search_id(reference) {
                Some(id) => (sales_navigator_people(json!({ "saved_search_id": id })), true),
                None if is_url(reference) => (url_body(reference)?, true),
                None => {
                    return Err(LinkedInError::InvalidInput(format!(
                        "not a Sales Navigator saved search id or URL: {reference}"
                    )));
                }
            },
            PeopleSource::LeadList(reference) => match lead_list_id(reference) {
                Some(id) => (sales_navigator_people(json!({ "lead_lists": { "include": [id] } })), true),
                None => {
                    return Err(LinkedInError::InvalidInput(format!(
                        "not a Sales Navigator lead list id or URL: {reference}"
                    )));
                }
            },
            PeopleSource::PostCommenters(post) => return self.post_commenters(post, cursor, page_size).await,
        };
        let cap = if premium { PREMIUM_SEARCH_MAX } else { CLASSIC_SEARCH_MAX };
        let limit = page_size.clamp(1, cap);
        // account_id and limit go in the query. Page 2 on is the OAS's cursor-only body
        // `{"cursor": …}`: the cursor carries the search, and a `url` body would "override the
        // entire body", so it is not sent again.
        let query = vec![self.http.account(), ("limit", limit.to_string())];
        let body = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
            Some(cursor) => json!({ "cursor": cursor }),
            None => body,
        };
        let page: ListEnvelope = self.http.post_read(&["linkedin", "search"], query, &body, Ctx::Other).await?;
        let results: Vec<SearchResultWire> = decode_items(page.items, "search result");
        Ok(ProviderPage {
            items: results.into_iter().filter_map(mapping::search_person).collect(),
            cursor: page.cursor,
            total: page.paging.and_then(|p| p.total_count),
        })
    }

    /// Saved searches or lead lists through `GET /linkedin/search/parameters?type=…`;
    /// empty when the account has no Sales Navigator.
    pub(crate) async fn search_parameters(&self, kind: &str) -> LinkedInResult<Vec<NamedList>> {
        let query = vec![self.http.account(), ("type", kind.to_owned()), ("limit", PARAMETERS_MAX.to_string())];
        let page: ListEnvelope = match self.http.get(&["linkedin", "search", "parameters"], query, Ctx::Account).await {
            Ok(page) => page,
            Err(LinkedInError::FeatureUnavailable(reason)) => {
                tracing::debug!(%reason, kind, "no Sales Navigator on this account");
                return Ok(Vec::new());
            }
            Err(other) => return Err(other),
        };
        let items: Vec<SearchParameterWire> = decode_items(page.items, "search parameter");
        Ok(items
            .into_iter()
            .filter_map(|p| {
                let id = p.id?;
                let name = p.title.filter(|t| !t.trim().is_empty()).unwrap_or_else(|| id.clone());
                Some(NamedList { id, name })
            })
            .collect())
    }

    /// People who commented on a post: `GET /posts/{social_id}/comments`, one person per page entry.
    async fn post_commenters(
        &self,
        post: &str,
        cursor: Option<&str>,
        page_size: u32,
    ) -> LinkedInResult<ProviderPage<Person>> {
        let social_id = self.social_id(post).await?;
        let query = paged(vec![self.http.account(), ("limit", page_size.clamp(1, COMMENTS_MAX).to_string())], cursor);
        let page: ListEnvelope = self.http.get(&["posts", &social_id, "comments"], query, Ctx::Other).await?;
        let comments: Vec<CommentWire> = decode_items(page.items, "comment");
        let mut seen = HashSet::new();
        let items = comments
            .into_iter()
            .filter_map(mapping::commenter)
            .filter(|p| seen.insert(p.provider_id.clone()))
            .collect();
        Ok(ProviderPage { items, cursor: page.cursor, total: page.total_items })
    }

    /// The `social_id` the comment routes take. A URN in the URL is used as is; otherwise
    /// the numeric id of the URL is looked up with `GET /posts/{id}`, because the same
    /// number may be an `activity` or a `ugcPost` and only Unipile knows which.
    async fn social_id(&self, post: &str) -> LinkedInResult<String> {
        match post_reference(post) {
            Some(PostRef::Urn(urn)) => Ok(urn),
            Some(PostRef::Number(id)) => {
                let wire: PostWire = self.http.get(&["posts", &id], vec![self.http.account()], Ctx::Other).await?;
                wire.social_id.ok_or_else(|| LinkedInError::NotFound(format!("post {id} has no social_id")))
            }
            None => Err(LinkedInError::InvalidInput(format!("not a LinkedIn post URL: {post}"))),
        }
    }
}

fn sales_navigator_people(mut fields: Value) -> Value {
    fields["api"] = json!("sales_navigator");
    fields["category"] = json!("people");
    fields
}

/// A saved search id (digits, OAS pattern `^\d+$`), bare or as `savedSearchId=` in a Sales Navigator URL.
fn saved_search_id(reference: &str) -> Option<String> {
    let reference = reference.trim();
    if is_digits(reference) {
        return Some(reference.to_owned());
    }
    let rest = reference.split("savedSearchId=").nth(1)?;
    let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
    is_digits(&id).then_some(id)
}

/// A lead list id (OAS pattern `^(\d+|ALL)$`), bare or from a `/sales/lists/people/{id}` URL.
fn lead_list_id(reference: &str) -> Option<String> {
    let reference = reference.trim();
    if is_digits(reference) || reference == "ALL" {
        return Some(reference.to_owned());
    }
    let rest = reference.split("/sales/lists/people/").nth(1)?;
    let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
    is_digits(&id).then_some(id)
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn is_url(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with("https://") || t.starts_with("http://")
}

fn url_body(url: &str) -> LinkedInResult<Value> {
    let url = url.trim();
    if !is_url(url) || !url.contains("linkedin.com/") {
        return Err(LinkedInError::InvalidInput(format!("not a LinkedIn search URL: {url}")));
    }
    Ok(json!({ "url": url }))
}

/// Sales Navigator (`/sales/`) and Recruiter (`/talent/`) URLs allow 100-result pages.
fn is_premium_url(url: &str) -> bool {
    url.contains("/sales/") || url.contains("/talent/")
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PostRef {
    Urn(String),
    Number(String),
}

/// Finds the post in `…/feed/update/urn:li:activity:123/`, `…/posts/x_y-activity-123-AbCd/`,
/// a bare URN or a bare numeric id.
pub(crate) fn post_reference(post: &str) -> Option<PostRef> {
    let post = post.trim();
    let decoded = post.replace("%3A", ":").replace("%3a", ":");
    for kind in ["activity", "ugcPost", "share"] {
        let marker = format!("urn:li:{kind}:");
        if let Some(rest) = decoded.split(&marker).nth(1) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if !digits.is_empty() {
                return Some(PostRef::Urn(format!("{marker}{digits}")));
            }
        }
    }
    for marker in ["activity-", "ugcPost-", "share-"] {
        if let Some(rest) = decoded.split(marker).nth(1) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if digits.len() >= 10 {
                return Some(PostRef::Number(digits));
            }
        }
    }
    (!decoded.is_empty() && decoded.chars().all(|c| c.is_ascii_digit())).then_some(PostRef::Number(decoded))
}
