//! Unipile payloads → the trait's types.

use super::wire::*;
use crate::types::*;
use serde_json::Value;
use sonarly_domain::Timestamp;

const LINKEDIN: &str = "https://www.linkedin.com";

/// Whether an id is a classic member id (`ACoAA…`), the only form invitations and
/// classic messages accept (Sales Navigator `ACw…` ids and slugs must be resolved).
pub(crate) fn is_member_id(id: &str) -> bool {
    id.starts_with("ACo")
}

/// Accepts a member id, a public identifier, or a profile / Sales Navigator lead URL,
/// and returns what `GET /users/{identifier}` takes.
pub(crate) fn profile_identifier(input: &str) -> String {
    let input = input.trim();
    if let Some(slug) = slug_from_url(input) {
        return slug;
    }
    // `/sales/lead/ACwAA…,NAME_SEARCH,xxxx`
    if let Some(rest) = input.split("/sales/lead/").nth(1) {
        let id = rest.split([',', '/', '?', '#']).next().unwrap_or("");
        if !id.is_empty() {
            return id.to_owned();
        }
    }
    input.trim_matches('/').to_owned()
}

/// The `/in/<slug>` part of a LinkedIn profile URL.
pub(crate) fn slug_from_url(url: &str) -> Option<String> {
    let rest = url.split("/in/").nth(1)?;
    let slug = rest.split(['/', '?', '#']).next()?.trim();
    (!slug.is_empty()).then(|| slug.to_owned())
}

pub(crate) fn profile_url_for(slug: &str) -> String {
    format!("{LINKEDIN}/in/{slug}")
}

/// 1, 2 or 3 from `DISTANCE_1`, `FIRST_DEGREE`, `1`…; `None` for self or unknown.
pub(crate) fn degree(value: Option<&Value>) -> Option<u8> {
    match value? {
        Value::Number(n) => match n.as_i64()? {
            d @ 1..=3 => Some(d as u8),
            4 => Some(3),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_uppercase().as_str() {
            "DISTANCE_1" | "FIRST_DEGREE" | "1" => Some(1),
            "DISTANCE_2" | "SECOND_DEGREE" | "2" => Some(2),
            "DISTANCE_3" | "THIRD_DEGREE" | "OUT_OF_NETWORK" | "3" => Some(3),
            _ => None,
        },
        _ => None,
    }
}

/// `"Ada Lovelace King"` → (`Ada`, `Lovelace King`).
pub(crate) fn split_name(full: &str) -> (String, String) {
    let full = full.trim();
    match full.split_once(char::is_whitespace) {
        Some((first, last)) => (first.to_owned(), last.trim().to_owned()),
        None => (full.to_owned(), String::new()),
    }
}

/// Classic search results and comments carry no position: take title and company
/// from a headline shaped like `"CTO at Acme | Speaker"`.
pub(crate) fn split_headline(headline: &str) -> Option<(String, String)> {
    let (title, rest) = headline.split_once(" at ").or_else(|| headline.split_once(" @ "))?;
    let company = rest.split(['|', '·', ',']).next().unwrap_or("").trim();
    let title = title.trim();
    (!title.is_empty() && !company.is_empty()).then(|| (title.to_owned(), company.to_owned()))
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn company(name: Option<String>, id: Option<String>, industry: Option<String>) -> Option<Company> {
    let name = non_empty(name)?;
    let linkedin_url = id.as_ref().map(|id| format!("{LINKEDIN}/company/{id}/"));
    Some(Company { name, linkedin_identifier: id, linkedin_url, industry, website: None })
}

fn title_and_company_from_headline(headline: Option<&str>) -> (Option<String>, Option<Company>) {
    match headline.and_then(split_headline) {
        Some((title, name)) => (Some(title), company(Some(name), None, None)),
        None => (None, None),
    }
}

/// Fills `public_identifier` and `profile_url` from whatever the payload gives, falling
/// back to the member id (LinkedIn serves `/in/<member id>` too).
fn identity(provider_id: &str, slug: Option<String>, urls: [Option<&str>; 2]) -> (String, String) {
    let slug = non_empty(slug)
        .or_else(|| urls.iter().flatten().find_map(|u| slug_from_url(u)))
        .unwrap_or_else(|| provider_id.to_owned());
    (slug.clone(), profile_url_for(&slug))
}

pub(crate) fn own_profile(wire: OwnProfileWire) -> OwnProfile {
    let seat = |v: &Option<Value>| match v {
        Some(Value::Object(map)) => !map.contains_key("error") && !map.is_empty(),
        _ => false,
    };
    // Sales Navigator first: it is the seat this product's features (saved searches,
    // lead lists, 100-result pages) depend on.
    let account_type = if seat(&wire.sales_navigator) {
        AccountType::SalesNavigator
    } else if seat(&wire.recruiter) {
        AccountType::Recruiter
    } else {
        AccountType::Classic
    };
    OwnProfile {
        provider_id: wire.provider_id,
        public_identifier: non_empty(wire.public_identifier),
        first_name: wire.first_name.unwrap_or_default(),
        last_name: wire.last_name.unwrap_or_default(),
        headline: non_empty(wire.headline).or_else(|| non_empty(wire.occupation)),
        is_premium: wire.premium || account_type != AccountType::Classic,
        account_type,
    }
}

/// A people search result; `None` for companies, posts and results without an id.
pub(crate) fn search_person(wire: SearchResultWire) -> Option<Person> {
    if wire.kind.as_deref().is_some_and(|k| !k.eq_ignore_ascii_case("PEOPLE")) {
        return None;
    }
    let provider_id = non_empty(wire.id)?;
    let (first_name, last_name) = match (non_empty(wire.first_name), non_empty(wire.last_name)) {
        (Some(first), last) => (first, last.unwrap_or_default()),
        (None, _) => split_name(wire.name.as_deref().unwrap_or("")),
    };
    let (public_identifier, profile_url) = identity(
        &provider_id,
        wire.public_identifier,
        [wire.public_profile_url.as_deref(), wire.profile_url.as_deref()],
    );
    let headline = non_empty(wire.headline);
    let (title, company) = match wire.current_positions.into_iter().next() {
        Some(position) => {
            let industry = position.industry.as_ref().and_then(first_text).or(wire.industry.clone());
            (non_empty(position.role), company(position.company, position.company_id, industry))
        }
        None => title_and_company_from_headline(headline.as_deref()),
    };
    Some(Person {
        provider_id,
        public_identifier,
        profile_url,
        first_name,
        last_name,
        headline,
        title,
        company,
        location: non_empty(wire.location),
        about: None,
        photo_url: non_empty(wire.profile_picture_url),
        connection_degree: degree(wire.network_distance.as_ref()),
    })
}

fn first_text(value: &Value) -> Option<String> {
    match value {
        Value::Array(items) => items.iter().find_map(value_text),
        other => value_text(other),
    }
}

pub(crate) fn profile_person(wire: UserProfileWire) -> Person {
    let (public_identifier, profile_url) =
        identity(&wire.provider_id, wire.public_identifier, [wire.public_profile_url.as_deref(), None]);
    let headline = non_empty(wire.headline);
    let current = wire
        .work_experience
        .iter()
        .position(|e| e.current == Some(true))
        .or_else(|| wire.work_experience.iter().position(|e| e.current.is_none() && is_open(e.end.as_ref())));
    let (title, company) = match current.map(|i| &wire.work_experience[i]) {
        Some(e) => (non_empty(e.position.clone()), company(e.company.clone(), e.company_id.clone(), None)),
        None => title_and_company_from_headline(headline.as_deref()),
    };
    let connection_degree = if wire.is_relationship { Some(1) } else { degree(wire.network_distance.as_ref()) };
    Person {
        provider_id: wire.provider_id,
        public_identifier,
        profile_url,
        first_name: wire.first_name.unwrap_or_default(),
        last_name: wire.last_name.unwrap_or_default(),
        headline,
        title,
        company,
        location: non_empty(wire.location),
        about: non_empty(wire.summary),
        photo_url: non_empty(wire.profile_picture_url),
        connection_degree,
    }
}

fn is_open(end: Option<&Value>) -> bool {
    match end {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    }
}

/// A post commenter; `None` for company authors and authors without a member id.
pub(crate) fn commenter(wire: CommentWire) -> Option<Person> {
    let details = wire.author_details.unwrap_or_default();
    let provider_id = non_empty(details.id).filter(|id| id.starts_with("AC"))?;
    let (first_name, last_name) = split_name(wire.author.as_deref().unwrap_or(""));
    let (public_identifier, profile_url) = identity(&provider_id, None, [details.profile_url.as_deref(), None]);
    let headline = non_empty(details.headline);
    let (title, company) = title_and_company_from_headline(headline.as_deref());
    Some(Person {
        provider_id,
        public_identifier,
        profile_url,
        first_name,
        last_name,
        headline,
        title,
        company,
        location: None,
        about: None,
        photo_url: None,
        connection_degree: degree(details.network_distance.as_ref()),
    })
}

/// A pending invitation; `None` without an id or a recipient member id.
pub(crate) fn invitation(wire: InvitationWire, now: Timestamp) -> Option<Invitation> {
    let sent_at = wire
        .parsed_datetime
        .as_deref()
        .and_then(Timestamp::parse_rfc3339)
        .or_else(|| wire.date.as_deref().and_then(|d| human_date(d, now)))
        // No usable date: "now" keeps the invitation looking fresh, so nothing withdraws it early.
        .unwrap_or(now);
    Some(Invitation {
        invitation_id: non_empty(wire.id)?,
        recipient_provider_id: non_empty(wire.invited_user_id)?,
        note: non_empty(wire.invitation_text),
        sent_at,
    })
}

/// LinkedIn's relative dates on invitations: "Sent today", "Sent yesterday", "Sent 3 days ago"…
pub(crate) fn human_date(text: &str, now: Timestamp) -> Option<Timestamp> {
    const DAY: i64 = 86_400_000;
    let text = text.trim().to_ascii_lowercase();
    if text.contains("today") || text.contains("hour") || text.contains("minute") || text.contains("second") {
        return Some(now);
    }
    if text.contains("yesterday") {
        return Some(now.plus_millis(-DAY));
    }
    let count = text.split_whitespace().find_map(|w| w.parse::<i64>().ok()).unwrap_or(1);
    let unit = if text.contains("day") {
        DAY
    } else if text.contains("week") {
        7 * DAY
    } else if text.contains("month") {
        30 * DAY
    } else if text.contains("year") {
        365 * DAY
    } else {
        return None;
    };
    Some(now.plus_millis(-count.saturating_mul(unit)))
}

pub(crate) fn relation(wire: RelationWire) -> Relation {
    let name = format!("{} {}", wire.first_name.unwrap_or_default(), wire.last_name.unwrap_or_default());
    Relation {
        provider_id: wire.member_id,
        public_identifier: non_empty(wire.public_identifier),
        name: name.trim().to_owned(),
        connected_at: wire.created_at.as_ref().and_then(epoch_or_iso),
    }
}

/// Epoch milliseconds (number or numeric string) or an ISO timestamp.
pub(crate) fn epoch_or_iso(value: &Value) -> Option<Timestamp> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)).map(Timestamp::from_millis),
        Value::String(s) => {
            s.trim().parse::<i64>().ok().map(Timestamp::from_millis).or_else(|| Timestamp::parse_rfc3339(s.trim()))
        }
        _ => None,
    }
}

/// A chat, named by its thread id `2-…` (Unipile's id only when the thread id is missing).
pub(crate) fn chat(wire: &ChatWire) -> Chat {
    Chat {
        chat_id: wire.provider_id.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| wire.id.clone()),
        name: non_empty(wire.name.clone()),
        attendee_provider_id: non_empty(wire.attendee_provider_id.clone()),
        unread_count: wire.unread_count.unwrap_or(0),
        last_activity_at: wire.timestamp.as_deref().and_then(Timestamp::parse_rfc3339),
        is_inmail: wire.content_type.as_deref().is_some_and(|c| c.eq_ignore_ascii_case("inmail")),
    }
}

/// A message of a chat; `None` for events, hidden and deleted messages, or an unreadable timestamp.
pub(crate) fn message(wire: MessageWire, chat_id: &str) -> Option<ChatMessage> {
    if wire.is_event || wire.hidden || wire.deleted {
        return None;
    }
    let Some(sent_at) = Timestamp::parse_rfc3339(wire.timestamp.trim()) else {
        tracing::warn!(message_id = %wire.id, "skipping a Unipile message with an unreadable timestamp");
        return None;
    };
    Some(ChatMessage {
        message_id: wire.id,
        chat_id: non_empty(wire.chat_provider_id).unwrap_or_else(|| chat_id.to_owned()),
        sender_provider_id: wire.sender_id.unwrap_or_default(),
        is_sender: wire.is_sender,
        text: wire.text.unwrap_or_default(),
        sent_at,
        attachments: attachments(wire.attachments.as_ref()),
        parent_message_id: wire.reply_to.and_then(|r| non_empty(r.id)).or_else(|| non_empty(wire.parent)),
    })
}

/// Attachments as an array (REST, live webhooks) or a single object (the webhook docs sample).
pub(crate) fn attachments(value: Option<&Value>) -> Vec<Attachment> {
    let items: Vec<&Value> = match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(object @ Value::Object(_)) => vec![object],
        _ => Vec::new(),
    };
    items
        .into_iter()
        .filter_map(|item| {
            let field = |key: &str| item.get(key).and_then(value_text);
            Some(Attachment {
                kind: field("type").unwrap_or_else(|| "file".to_owned()),
                id: field("id")?,
                url: field("url"),
                file_name: field("file_name"),
                mime_type: field("mimetype").or_else(|| field("mime_type")),
            })
        })
        .collect()
}
