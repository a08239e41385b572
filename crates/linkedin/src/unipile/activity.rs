//! Recent activity of a member (contract §4.9): the posts they wrote
//! (`GET /users/{id}/posts`) and the comments they wrote
//! (`GET /users/{id}/comments`, Unipile's "List all comments": `CommentList`
//! of `Comment {id, post_id, post_urn, date, text, reaction_counter,
//! reply_counter}`). Unipile exposes no job changes, job postings or company
//! news for a member, so those sources stay empty for Unipile accounts.

use super::UnipileLinkedIn;
use super::errors::Ctx;
use super::wire::{ListEnvelope, value_count, value_flag, value_text};
use crate::error::LinkedInResult;
use crate::types::ActivityItem;
use serde_json::Value;
use sonarly_domain::Timestamp;
use sonarly_domain::template::SignalSource;

/// Items read per route (route max 100; the newest are what matters).
pub(crate) const ACTIVITY_PAGE: u32 = 25;

impl UnipileLinkedIn {
    /// The member's own posts and comments, newest first.
    pub(crate) async fn list_activity(&self, provider_id: &str) -> LinkedInResult<Vec<ActivityItem>> {
        let member = self.resolve_member(provider_id).await?;
        let query = || vec![self.http.account(), ("limit", ACTIVITY_PAGE.to_string())];
        let posts: ListEnvelope = self.http.get(&["users", &member, "posts"], query(), Ctx::Person).await?;
        let comments: ListEnvelope = self.http.get(&["users", &member, "comments"], query(), Ctx::Person).await?;
        let now = self.now();
        let mut items: Vec<ActivityItem> = posts.items.iter().filter_map(|p| post_item(p, now)).collect();
        items.extend(comments.items.iter().filter_map(|c| comment_item(c, now)));
        items.sort_by(|a, b| b.occurred_at.cmp(&a.occurred_at).then(a.id.cmp(&b.id)));
        Ok(items)
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(value_text).map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

fn count(v: &Value, key: &str) -> Option<u32> {
    v.get(key).and_then(value_count)
}

/// A post the member wrote; reposts (someone else's words) are left out.
fn post_item(v: &Value, now: Timestamp) -> Option<ActivityItem> {
    if v.get("is_repost").is_some_and(value_flag) {
        return None;
    }
    let id = text(v, "social_id").or_else(|| text(v, "id").map(|n| format!("urn:li:activity:{n}")))?;
    let occurred_at = text(v, "parsed_datetime")
        .and_then(|t| Timestamp::parse_rfc3339(&t))
        .or_else(|| text(v, "date").and_then(|d| parse_date(&d, now)))?;
    let body = text(v, "text").unwrap_or_default();
    let title = text(v, "title");
    if body.is_empty() && title.is_none() {
        return None;
    }
    Some(ActivityItem {
        post_link: text(v, "share_url").or_else(|| Some(format!("https://www.linkedin.com/feed/update/{id}"))),
        id,
        source: SignalSource::LinkedinPosts,
        title,
        text: body,
        occurred_at: occurred_at.min(now),
        total_likes: count(v, "reaction_counter"),
        total_comments: count(v, "comment_counter"),
        reply_summary: None,
        comment_link: None,
        job_url: None,
        company_name: None,
    })
}

/// A comment the member wrote (either of the two `Comment` shapes Unipile documents).
fn comment_item(v: &Value, now: Timestamp) -> Option<ActivityItem> {
    let id = text(v, "id").or_else(|| text(v, "provider_id"))?;
    let body = text(v, "text")?;
    let occurred_at = match text(v, "date") {
        Some(date) => parse_date(&date, now)?,
        None => {
            let raw = v.get("created_at").and_then(Value::as_i64)?;
            Timestamp::from_millis(if raw < 100_000_000_000 { raw * 1000 } else { raw })
        }
    };
    let post_number = text(v, "post_id")
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .or_else(|| text(v, "post_urn").and_then(|u| u.strip_prefix("urn:li:activity:").map(str::to_owned)));
    let post_urn = text(v, "post_urn").or_else(|| post_number.as_ref().map(|n| format!("urn:li:activity:{n}")));
    let post_link = post_urn.as_ref().map(|urn| format!("https://www.linkedin.com/feed/update/{urn}"));
    let comment_link = match (&post_link, &post_number) {
        (Some(link), Some(number)) if id.bytes().all(|b| b.is_ascii_digit()) => {
            Some(format!("{link}?commentUrn=urn%3Ali%3Acomment%3A%28activity%3A{number}%2C{id}%29"))
        }
        (Some(link), _) => Some(link.clone()),
        _ => None,
    };
    Some(ActivityItem {
        id: format!("comment:{id}"),
        source: SignalSource::LinkedinComments,
        title: None,
        text: body,
        occurred_at: occurred_at.min(now),
        post_link,
        total_likes: count(v, "reaction_counter").or_else(|| count(v, "comment_like_count")),
        total_comments: count(v, "reply_counter").or_else(|| count(v, "child_comment_count")),
        reply_summary: None,
        comment_link,
        job_url: None,
        company_name: None,
    })
}

/// An ISO date, or LinkedIn's relative one (`"45m"`, `"3h"`, `"2d"`, `"1w"`, `"5mo"`, `"1yr"`, `"3 days ago"`).
fn parse_date(text: &str, now: Timestamp) -> Option<Timestamp> {
    if let Some(at) = Timestamp::parse_rfc3339(text.trim()) {
        return Some(at);
    }
    let lower = text.trim().to_lowercase();
    let lower = lower.trim_end_matches("ago").trim_end_matches('•').trim();
    let digits: String = lower.chars().take_while(char::is_ascii_digit).collect();
    let n: i64 = digits.parse().ok()?;
    let unit = lower[digits.len()..].trim();
    const MINUTE: i64 = 60_000;
    let ms = match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "m" | "min" | "mins" | "minute" | "minutes" => MINUTE,
        "h" | "hr" | "hrs" | "hour" | "hours" => 60 * MINUTE,
        "d" | "day" | "days" => 1_440 * MINUTE,
        "w" | "wk" | "wks" | "week" | "weeks" => 7 * 1_440 * MINUTE,
        "mo" | "mos" | "month" | "months" => 30 * 1_440 * MINUTE,
        "y" | "yr" | "yrs" | "year" | "years" => 365 * 1_440 * MINUTE,
        _ => return None,
    };
    Some(now.plus_millis(-n.saturating_mul(ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_iso_dates() {
        let now = Timestamp::parse_rfc3339("2026-05-01T12:00:00Z").unwrap();
        assert_eq!(parse_date("2026-04-30T12:00:00.000Z", now).unwrap().to_rfc3339(), "2026-04-30T12:00:00.000Z");
        assert_eq!(parse_date("3d", now).unwrap().to_rfc3339(), "2026-04-28T12:00:00.000Z");
        assert_eq!(parse_date("2w", now).unwrap().to_rfc3339(), "2026-04-17T12:00:00.000Z");
        assert_eq!(parse_date("45m", now).unwrap().to_rfc3339(), "2026-05-01T11:15:00.000Z");
        assert_eq!(parse_date("1mo", now).unwrap().to_rfc3339(), "2026-04-01T12:00:00.000Z");
        assert_eq!(parse_date("3 days ago", now).unwrap().to_rfc3339(), "2026-04-28T12:00:00.000Z");
        assert!(parse_date("yesterday", now).is_none());
    }
}
