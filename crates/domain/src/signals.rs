//! Signals (spec 2.6): signal scans, the deterministic relevance score of one
//! activity item against a signal specification, and the shape of a
//! prospect's signal results (grouped by source `type`, filtered by `minScore`).
//!
//! The score (0 to 100) is
//!
//! ```text
//! score = round(100 × sourceWeight × recency × (0.2 + 0.8 × overlap))
//! ```
//!
//! * `overlap` (0 to 1): the specification's terms found in the item, weighted
//!   (name ×2, `specifications` strings ×1.5, description ×1), divided by
//!   `min(total weight, 5)`, capped at 1. Terms are lower-cased words of at
//!   least three letters (or a known two-letter term such as `ai`), without
//!   stop words, with plurals and `-ing`/`-ed` endings folded (`hiring` =
//!   `hired` = `hire`).
//! * `recency` (0.35 to 1): `0.35 + 0.65 × 2^(−age in days / 30)`.
//! * `sourceWeight`: posts 1.0, job changes 1.0, funding 1.0, hiring 0.9,
//!   comments 0.8, company news 0.75.
//!
//! An item without any matching term scores at most 20; a fresh post matching
//! the specification fully scores 100. Everything here is pure: the same
//! specification, item and clock always give the same score, reasoning and summary.

use crate::GroupId;
use crate::template::{JsonValue, SignalSource, SignalSpecification};
use crate::{DomainError, FieldIssue, Timestamp};

/// Statuses of a scan (the same lifecycle as prospecting jobs).
pub use crate::prospecting::JobStatus;

/// Most prospect ids a scan request may name.
pub const MAX_PROSPECT_IDS: usize = 1_000;
/// Longest id accepted in a scan request body, in characters.
pub const ID_MAX_CHARS: usize = 100;
/// A prospect's stored signals at or above this score feed `{{ Signal }}` in
/// previews and campaigns, unless the caller asks for another threshold.
pub const DEFAULT_COMPOSE_MIN_SCORE: u8 = 40;

const DAY_MS: f64 = 86_400_000.0;
const SATURATION: f64 = 5.0;
const HALF_LIFE_DAYS: f64 = 30.0;

/// A stored signal scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalScan {
    pub id: String,
    pub group_id: GroupId,
    pub specification_id: String,
    /// The specification as it was when the scan started ([`specification_snapshot`]).
    pub specification_snapshot: String,
    pub audience_id: String,
    pub linkedin_account_id: String,
    /// `{specification name} on {audience name}`, for messages that name the scan.
    pub name: String,
    pub status: JobStatus,
    /// True when the request narrowed the audience with `prospectIds`.
    pub narrowed: bool,
    /// Prospects to evaluate.
    pub total_count: i64,
    /// Prospects done (evaluated or skipped).
    pub processed_count: i64,
    /// Prospects with a completed evaluation.
    pub evaluated_count: i64,
    /// Prospects whose activity could not be read (unreachable profile).
    pub skipped_count: i64,
    /// Evaluated prospects with at least one stored item.
    pub matched_count: i64,
    /// Items stored.
    pub signal_count: i64,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl SignalScan {
    pub fn is_active(&self) -> bool {
        self.status.is_active()
    }

    /// Share of prospects done, in [0, 1]; 1 once completed.
    pub fn progress(&self) -> f64 {
        if self.status == JobStatus::Completed {
            1.0
        } else if self.total_count <= 0 {
            0.0
        } else {
            (self.processed_count as f64 / self.total_count as f64).clamp(0.0, 1.0)
        }
    }
}

/// The specification as a scan copies it: JSON of its name, description,
/// sources and specifications, so edits made while the scan runs do not mix
/// two versions into one scan's results.
pub fn specification_snapshot(spec: &SignalSpecification) -> String {
    serde_json::json!({
        "id": spec.id,
        "name": spec.name,
        "description": spec.description,
        "sources": spec.sources.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "specifications": spec.specifications,
    })
    .to_string()
}

/// Reads a [`specification_snapshot`] back.
pub fn specification_from_snapshot(group_id: &GroupId, text: &str) -> Result<SignalSpecification, String> {
    let value: JsonValue = serde_json::from_str(text).map_err(|e| format!("bad specification snapshot: {e}"))?;
    let text_of = |key: &str| value.get(key).and_then(JsonValue::as_str).map(str::to_owned);
    let sources = value
        .get("sources")
        .and_then(JsonValue::as_array)
        .map(|list| list.iter().filter_map(|s| s.as_str().and_then(SignalSource::parse)).collect())
        .unwrap_or_default();
    Ok(SignalSpecification {
        id: text_of("id").unwrap_or_default(),
        group_id: group_id.clone(),
        name: text_of("name").unwrap_or_default(),
        description: text_of("description"),
        sources,
        specifications: value.get("specifications").and_then(JsonValue::as_array).cloned().unwrap_or_default(),
        use_value_proposition: false,
        value_proposition_ids: Vec::new(),
        created_at: Timestamp::from_millis(0),
        updated_at: Timestamp::from_millis(0),
    })
}

/// One scored activity item of a prospect, as stored and returned (spec S5 item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalItem {
    pub source: SignalSource,
    /// The provider's id of the item (unique per prospect and source within a scan).
    pub item_id: String,
    pub score: u8,
    pub reasoning: String,
    pub summary: String,
    pub title: Option<String>,
    /// When a post, job change, job posting or news item was published.
    pub posted_at: Option<Timestamp>,
    pub post_link: Option<String>,
    pub total_likes: Option<i64>,
    pub total_comments: Option<i64>,
    pub reply_summary: Option<String>,
    /// When a comment was written.
    pub commented_at: Option<Timestamp>,
    pub comment_link: Option<String>,
    pub job_url: Option<String>,
    pub company_name: Option<String>,
}

impl SignalItem {
    /// When it happened, whatever the source.
    pub fn occurred_at(&self) -> Timestamp {
        self.posted_at.or(self.commented_at).unwrap_or_default()
    }
}

/// An activity item as the score reads it (the provider layer's item, borrowed).
#[derive(Debug, Clone, Copy)]
pub struct Activity<'a> {
    pub source: SignalSource,
    pub id: &'a str,
    pub title: Option<&'a str>,
    pub text: &'a str,
    pub occurred_at: Timestamp,
    pub post_link: Option<&'a str>,
    pub total_likes: Option<u32>,
    pub total_comments: Option<u32>,
    pub reply_summary: Option<&'a str>,
    pub comment_link: Option<&'a str>,
    pub job_url: Option<&'a str>,
    pub company_name: Option<&'a str>,
}

/// Source weights of the score.
pub const fn source_weight(source: SignalSource) -> f64 {
    match source {
        SignalSource::LinkedinPosts | SignalSource::JobChanges | SignalSource::Funding => 1.0,
        SignalSource::Hiring => 0.9,
        SignalSource::LinkedinComments => 0.8,
        SignalSource::CompanyNews => 0.75,
    }
}

/// Human name of a source, for reasoning text.
const fn source_label(source: SignalSource) -> &'static str {
    match source {
        SignalSource::LinkedinPosts => "LinkedIn post",
        SignalSource::LinkedinComments => "LinkedIn comment",
        SignalSource::JobChanges => "Job change",
        SignalSource::CompanyNews => "Company news",
        SignalSource::Hiring => "Job posting",
        SignalSource::Funding => "Funding news",
    }
}

const STOP_WORDS: &[&str] = &[
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "and",
    "any",
    "are",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "can",
    "could",
    "did",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "her",
    "here",
    "hers",
    "him",
    "his",
    "how",
    "into",
    "its",
    "just",
    "more",
    "most",
    "not",
    "now",
    "off",
    "once",
    "only",
    "other",
    "our",
    "ours",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "too",
    "under",
    "until",
    "very",
    "was",
    "way",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "who",
    "get",
    "got",
    "one",
    "use",
    "using",
    "like",
    "want",
    "wants",
    "looking",
    "interested",
    "people",
    "person",
    "prospect",
    "prospects",
    "signal",
    "signals",
    "linkedin",
    "recent",
    "recently",
    "etc",
];

/// Two-letter words that carry meaning in B2B outreach.
const SHORT_TERMS: &[&str] = &["ai", "ml", "hr", "ux", "ui", "vp", "qa", "ci", "cd", "bi", "ar", "vr", "5g", "3d"];

/// Folds plurals and common endings: `hiring`, `hired`, `hires`, `hire` → `hir`.
fn stem(word: &str) -> String {
    let mut w = word.to_owned();
    for (suffix, replacement) in [("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")] {
        if suffix == "s" && (w.ends_with("ss") || w.ends_with("us") || w.ends_with("is")) {
            continue;
        }
        if w.ends_with(suffix) && w.chars().count() >= suffix.chars().count() + 3 {
            w.truncate(w.len() - suffix.len());
            w.push_str(replacement);
            break;
        }
    }
    if w.ends_with('e') && w.chars().count() >= 4 {
        w.pop();
    }
    w
}

/// The terms of a text: (stem, the word as first written).
fn terms(text: &str) -> Vec<(String, String)> {
    let lower = text.to_lowercase();
    let mut out: Vec<(String, String)> = Vec::new();
    for word in lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let count = word.chars().count();
        let keep = (count >= 3 && !STOP_WORDS.contains(&word)) || SHORT_TERMS.contains(&word);
        if !keep || word.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let stemmed = stem(word);
        if !out.iter().any(|(s, _)| *s == stemmed) {
            out.push((stemmed, word.to_owned()));
        }
    }
    out
}

fn json_strings(value: &JsonValue, out: &mut Vec<String>) {
    match value {
        JsonValue::String(s) => out.push(s.clone()),
        JsonValue::Array(items) => items.iter().for_each(|v| json_strings(v, out)),
        JsonValue::Object(map) => map.values().for_each(|v| json_strings(v, out)),
        JsonValue::Number(n) => out.push(n.to_string()),
        JsonValue::Bool(_) | JsonValue::Null => {}
    }
}

/// The weighted terms of a signal specification, computed once per scan.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecTerms {
    /// (stem, display word, weight), in first-seen order.
    terms: Vec<(String, String, f64)>,
    sources: Vec<SignalSource>,
}

impl SpecTerms {
    pub fn new(spec: &SignalSpecification) -> Self {
        let mut weighted: Vec<(String, String, f64)> = Vec::new();
        let mut add = |text: &str, weight: f64| {
            for (stemmed, word) in terms(text) {
                match weighted.iter_mut().find(|(s, _, _)| *s == stemmed) {
                    Some(entry) => entry.2 = entry.2.max(weight),
                    None => weighted.push((stemmed, word, weight)),
                }
            }
        };
        add(&spec.name, 2.0);
        let mut strings = Vec::new();
        spec.specifications.iter().for_each(|v| json_strings(v, &mut strings));
        for s in &strings {
            add(s, 1.5);
        }
        if let Some(description) = &spec.description {
            add(description, 1.0);
        }
        Self { terms: weighted, sources: spec.sources.clone() }
    }

    /// Whether items of `source` are wanted by the specification.
    pub fn wants(&self, source: SignalSource) -> bool {
        self.sources.contains(&source)
    }

    fn total_weight(&self) -> f64 {
        self.terms.iter().map(|t| t.2).sum()
    }
}

/// The score of one item, with why and what to say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scored {
    pub score: u8,
    pub reasoning: String,
    pub summary: String,
}

/// Scores `activity` against the specification at `now` (see the module docs).
pub fn score(spec: &SpecTerms, activity: &Activity<'_>, now: Timestamp) -> Scored {
    let mut haystack = String::new();
    for part in [activity.title, Some(activity.text), activity.company_name].into_iter().flatten() {
        haystack.push_str(part);
        haystack.push(' ');
    }
    let item_terms: Vec<String> = terms(&haystack).into_iter().map(|(s, _)| s).collect();
    let matched: Vec<&(String, String, f64)> = spec.terms.iter().filter(|(s, _, _)| item_terms.contains(s)).collect();
    let matched_weight: f64 = matched.iter().map(|t| t.2).sum();
    let saturation = spec.total_weight().min(SATURATION);
    let overlap = if saturation > 0.0 { (matched_weight / saturation).min(1.0) } else { 0.0 };
    let age_ms = (now.as_millis() - activity.occurred_at.as_millis()).max(0) as f64;
    let age_days = age_ms / DAY_MS;
    let recency = 0.35 + 0.65 * (-age_days / HALF_LIFE_DAYS).exp2();
    let weight = source_weight(activity.source);
    let raw = 100.0 * weight * recency * (0.2 + 0.8 * overlap);
    let score = raw.round().clamp(0.0, 100.0) as u8;

    let shown: Vec<&str> = matched.iter().take(6).map(|t| t.1.as_str()).collect();
    let terms_part = if matched.is_empty() {
        format!("No term of the specification appears in it (0 of {}).", spec.terms.len())
    } else {
        format!(
            "Matches {} of {} specification terms ({}{}).",
            matched.len(),
            spec.terms.len(),
            shown.join(", "),
            if matched.len() > shown.len() { ", …" } else { "" }
        )
    };
    let age = match age_days.floor() as i64 {
        0 => "today".to_owned(),
        1 => "1 day ago".to_owned(),
        n => format!("{n} days ago"),
    };
    let reasoning = format!(
        "{terms_part} {} from {age}. Score = 100 × {weight:.2} source weight × {recency:.2} recency × (0.2 + 0.8 × {overlap:.2} overlap) = {score}.",
        source_label(activity.source)
    );
    Scored { score, reasoning, summary: summarize(activity) }
}

/// At most `max` characters, cut at a word boundary with `…`.
fn shorten(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let cut: String = one_line.chars().take(max).collect();
    let at = cut.rfind(' ').filter(|&i| i > max / 2).unwrap_or(cut.len());
    format!("{}…", cut[..at].trim_end_matches([',', ';', ':', '.', '-']))
}

/// The first sentence of `text`.
fn first_sentence(text: &str) -> &str {
    let end = text.char_indices().find(|&(i, c)| {
        matches!(c, '.' | '!' | '?') && text[i + c.len_utf8()..].chars().next().is_none_or(char::is_whitespace)
    });
    match end {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// A noun phrase for `{{ Signal }}`: what the prospect did, in their terms.
pub fn summarize(activity: &Activity<'_>) -> String {
    let title = activity.title.map(str::trim).filter(|t| !t.is_empty());
    let company = activity.company_name.map(str::trim).filter(|c| !c.is_empty());
    let gist = || shorten(title.unwrap_or_else(|| first_sentence(activity.text.trim())), 90);
    match activity.source {
        SignalSource::LinkedinPosts => format!("your post \"{}\"", gist()),
        SignalSource::LinkedinComments => match title {
            Some(t) => format!("your comment on {}", shorten(t, 90)),
            None => format!("your comment \"{}\"", shorten(first_sentence(activity.text.trim()), 90)),
        },
        SignalSource::JobChanges => match (title, company) {
            (Some(t), Some(c)) => format!("your move to {t} at {c}"),
            (Some(t), None) => format!("your move to {t}"),
            (None, Some(c)) => format!("your move to {c}"),
            (None, None) => "your new role".to_owned(),
        },
        SignalSource::Hiring => match (title, company) {
            (Some(t), Some(c)) => format!("the {t} role {c} is hiring for"),
            (Some(t), None) => format!("the {t} role your team is hiring for"),
            _ => format!("the roles {} is hiring for", company.unwrap_or("your team")),
        },
        SignalSource::CompanyNews | SignalSource::Funding => format!("the news that {}", gist()),
    }
}

/// Builds the stored item from an activity and its score.
pub fn scored_item(spec: &SpecTerms, activity: &Activity<'_>, now: Timestamp) -> SignalItem {
    let Scored { score, reasoning, summary } = score(spec, activity, now);
    let is_comment = activity.source == SignalSource::LinkedinComments;
    let own = |s: Option<&str>| s.map(str::to_owned);
    SignalItem {
        source: activity.source,
        item_id: activity.id.to_owned(),
        score,
        reasoning,
        summary,
        title: own(activity.title),
        posted_at: (!is_comment).then_some(activity.occurred_at),
        post_link: own(activity.post_link),
        total_likes: activity.total_likes.map(i64::from),
        total_comments: activity.total_comments.map(i64::from),
        reply_summary: own(activity.reply_summary),
        commented_at: is_comment.then_some(activity.occurred_at),
        comment_link: own(activity.comment_link),
        job_url: own(activity.job_url),
        company_name: own(activity.company_name),
    }
}

/// One source group of a prospect's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalGroup {
    pub source: SignalSource,
    pub items: Vec<SignalItem>,
}

/// Groups items by source, keeping those scoring at least `min_score`; groups
/// left empty are dropped. Items are ordered by score (highest first), then
/// newest first; groups by their best item, then in [`SignalSource::ALL`] order.
pub fn group_items(items: Vec<SignalItem>, min_score: Option<u8>) -> Vec<SignalGroup> {
    let mut groups: Vec<SignalGroup> = Vec::new();
    for item in items.into_iter().filter(|i| min_score.is_none_or(|m| i.score >= m)) {
        match groups.iter_mut().find(|g| g.source == item.source) {
            Some(group) => group.items.push(item),
            None => groups.push(SignalGroup { source: item.source, items: vec![item] }),
        }
    }
    for group in &mut groups {
        group.items.sort_by(|a, b| {
            b.score.cmp(&a.score).then(b.occurred_at().cmp(&a.occurred_at())).then(a.item_id.cmp(&b.item_id))
        });
    }
    let rank = |s: SignalSource| SignalSource::ALL.iter().position(|x| *x == s).unwrap_or(usize::MAX);
    groups.sort_by(|a, b| {
        let best = |g: &SignalGroup| g.items.first().map_or(0, |i| i.score);
        best(b).cmp(&best(a)).then(rank(a.source).cmp(&rank(b.source)))
    });
    groups
}

/// The prospect's signals for the composer: items scoring at least
/// `min_score`, best first, as (tag = source type, summary).
pub fn compose_signals(items: &[SignalItem], min_score: u8) -> Vec<crate::composer::ProspectSignal> {
    let mut kept: Vec<&SignalItem> = items.iter().filter(|i| i.score >= min_score).collect();
    kept.sort_by(|a, b| {
        b.score.cmp(&a.score).then(b.occurred_at().cmp(&a.occurred_at())).then(a.item_id.cmp(&b.item_id))
    });
    kept.into_iter()
        .map(|i| crate::composer::ProspectSignal { tag: i.source.as_str().to_owned(), summary: i.summary.clone() })
        .collect()
}

/// Parses `minScore` (an integer from 0 to 100; 400 otherwise).
pub fn parse_min_score(field: &str, raw: Option<&str>) -> Result<Option<u8>, DomainError> {
    match raw {
        None => Ok(None),
        Some(text) => match text.trim().parse::<u8>() {
            Ok(n) if n <= 100 => Ok(Some(n)),
            _ => Err(DomainError::invalid_field(field, "must be an integer from 0 to 100")),
        },
    }
}

/// A scan start body as received (every field optional, so every problem is reported at once).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanRequest {
    pub signal_specification_id: Option<String>,
    pub audience_id: Option<String>,
    pub prospect_ids: Option<Vec<String>>,
}

/// A validated scan start body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidScanRequest {
    pub signal_specification_id: String,
    pub audience_id: String,
    /// Distinct ids in the order given; `None` scans the whole audience.
    pub prospect_ids: Option<Vec<String>>,
}

impl ScanRequest {
    /// 400 for a missing or malformed field; existence is checked later (422/409).
    pub fn validate(self) -> Result<ValidScanRequest, DomainError> {
        let mut issues = Vec::new();
        let mut id = |field: &str, value: Option<String>| -> String {
            match value.as_deref().map(str::trim) {
                None => issues.push(FieldIssue::new(field, "is required")),
                Some("") => issues.push(FieldIssue::new(field, "must not be empty")),
                Some(v) if v.chars().count() > ID_MAX_CHARS => {
                    issues.push(FieldIssue::new(field, format!("must be at most {ID_MAX_CHARS} characters")))
                }
                Some(_) => {}
            }
            value.map(|v| v.trim().to_owned()).unwrap_or_default()
        };
        let signal_specification_id = id("signalSpecificationId", self.signal_specification_id);
        let audience_id = id("audienceId", self.audience_id);
        let prospect_ids = self.prospect_ids.map(|ids| {
            if ids.is_empty() || ids.len() > MAX_PROSPECT_IDS {
                issues.push(FieldIssue::new("prospectIds", format!("must hold 1 to {MAX_PROSPECT_IDS} ids")));
            }
            let mut unique: Vec<String> = Vec::new();
            for (i, raw) in ids.iter().enumerate() {
                let trimmed = raw.trim();
                if trimmed.is_empty() || trimmed.chars().count() > ID_MAX_CHARS {
                    issues.push(FieldIssue::new(
                        format!("prospectIds[{i}]"),
                        format!("must be 1 to {ID_MAX_CHARS} characters"),
                    ));
                } else if !unique.iter().any(|u| u == trimmed) {
                    unique.push(trimmed.to_owned());
                }
            }
            unique
        });
        if issues.is_empty() {
            Ok(ValidScanRequest { signal_specification_id, audience_id, prospect_ids })
        } else {
            Err(DomainError::invalid(issues))
        }
    }
}

/// 422 for body references that name nothing usable in the group.
pub fn unknown_reference(field: &str, message: &str) -> DomainError {
    DomainError { fields: vec![FieldIssue::new(field, message)], ..DomainError::unprocessable(message) }
        .with_details(format!("{field}: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    fn spec(name: &str, description: Option<&str>, specs: Vec<JsonValue>) -> SignalSpecification {
        SignalSpecification {
            id: "s".into(),
            group_id: "g".into(),
            name: name.into(),
            description: description.map(Into::into),
            sources: SignalSource::ALL.to_vec(),
            specifications: specs,
            use_value_proposition: false,
            value_proposition_ids: vec![],
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    fn post(title: &str, text: &str, days_ago: i64) -> Activity<'static> {
        let title: &'static str = Box::leak(title.to_owned().into_boxed_str());
        let text: &'static str = Box::leak(text.to_owned().into_boxed_str());
        Activity {
            source: SignalSource::LinkedinPosts,
            id: "urn:li:activity:1",
            title: Some(title),
            text,
            occurred_at: Timestamp::from_millis(NOW - days_ago * 86_400_000),
            post_link: None,
            total_likes: Some(3),
            total_comments: Some(1),
            reply_summary: None,
            comment_link: None,
            job_url: None,
            company_name: None,
        }
    }

    #[test]
    fn snapshots_round_trip() {
        let original = spec("Hiring", Some("d"), vec![serde_json::json!({"k": ["v"]})]);
        let back = specification_from_snapshot(&GroupId::new("g"), &specification_snapshot(&original)).unwrap();
        assert_eq!(SpecTerms::new(&back), SpecTerms::new(&original));
        assert_eq!((back.name.as_str(), back.sources.len()), ("Hiring", SignalSource::ALL.len()));
        assert!(specification_from_snapshot(&GroupId::new("g"), "nope").is_err());
    }

    #[test]
    fn stems_fold_common_endings() {
        for (a, b) in [("hiring", "hire"), ("hired", "hires"), ("engineers", "engineering"), ("companies", "company")] {
            assert_eq!(stem(a), stem(b), "{a} / {b}");
        }
        assert_eq!(stem("process"), stem("processes"));
        assert_ne!(stem("data"), stem("date"));
        let t: Vec<String> =
            terms("The AI team is hiring: 3 Data Engineers in Zürich!").into_iter().map(|t| t.0).collect();
        assert_eq!(t, ["ai", "team", "hir", "data", "engineer", "zürich"]);
    }

    #[test]
    fn the_formula_as_documented() {
        let s = SpecTerms::new(&spec("Hiring engineers", Some("Teams hiring senior backend engineers"), vec![]));
        // Terms: hir ×2, engineer ×2, team, senior, backend: total 7, saturation 5.
        let full = score(&s, &post("We are hiring", "Backend engineers wanted", 0), Timestamp::from_millis(NOW));
        assert_eq!(full.score, 100, "{}", full.reasoning);
        assert!(
            full.reasoning.contains("Matches 3 of 5 specification terms (hiring, engineers, backend)"),
            "{}",
            full.reasoning
        );
        let none = score(&s, &post("Holiday pictures", "Sunny beach", 0), Timestamp::from_millis(NOW));
        assert_eq!(none.score, 20, "{}", none.reasoning);
        // Half the weight, 30 days old: 100 × 1 × (0.35 + 0.65 × 0.5) × (0.2 + 0.8 × 0.4) = 35.1.
        let half = score(&s, &post("Engineers", "nothing else", 30), Timestamp::from_millis(NOW));
        assert_eq!(half.score, 35, "{}", half.reasoning);
        assert!(half.reasoning.contains("30 days ago"));
        // Old items keep a floor, and comments weigh less than posts.
        let old = score(&s, &post("Hiring backend engineers", "", 400), Timestamp::from_millis(NOW));
        assert_eq!(old.score, 35);
        let comment = Activity { source: SignalSource::LinkedinComments, ..post("Hiring backend engineers", "", 0) };
        assert_eq!(score(&s, &comment, Timestamp::from_millis(NOW)).score, 80);
    }

    #[test]
    fn specifications_json_counts_and_is_deterministic() {
        let s = SpecTerms::new(&spec(
            "Growth",
            None,
            vec![serde_json::json!({"keywords": ["Kubernetes", "observability"]})],
        ));
        let item = post("Our Kubernetes growth journey", "Observability first.", 2);
        let a = score(&s, &item, Timestamp::from_millis(NOW));
        assert_eq!(a, score(&s, &item, Timestamp::from_millis(NOW)));
        assert!(a.score > 80, "{}", a.reasoning);
        assert!(!a.reasoning.contains("keywords"), "object keys are not terms");
    }

    #[test]
    fn summaries_read_as_noun_phrases() {
        let p = post("Lessons from a year of Rust in production", "…", 1);
        assert_eq!(summarize(&p), "your post \"Lessons from a year of Rust in production\"");
        let untitled = Activity { title: None, text: "We shipped v2. More soon.", ..p };
        assert_eq!(summarize(&untitled), "your post \"We shipped v2\"");
        let job = Activity {
            source: SignalSource::JobChanges,
            title: Some("VP of Engineering"),
            company_name: Some("Zephyr Robotics"),
            ..p
        };
        assert_eq!(summarize(&job), "your move to VP of Engineering at Zephyr Robotics");
        let hiring =
            Activity { source: SignalSource::Hiring, title: Some("Data Engineer"), company_name: Some("Acme"), ..p };
        assert_eq!(summarize(&hiring), "the Data Engineer role Acme is hiring for");
        let long_title = "word ".repeat(40);
        let long = Activity { title: Some(&long_title), ..p };
        let s = summarize(&long);
        assert!(s.chars().count() < 110 && s.ends_with("…\""), "{s}");
    }

    #[test]
    fn grouping_filters_and_orders() {
        let s = SpecTerms::new(&spec("Hiring engineers", None, vec![]));
        let now = Timestamp::from_millis(NOW);
        let mk =
            |source, title: &'static str, days| scored_item(&s, &Activity { source, ..post(title, "", days) }, now);
        let items = vec![
            mk(SignalSource::LinkedinPosts, "Hiring engineers", 1),
            mk(SignalSource::LinkedinPosts, "Beach", 1),
            mk(SignalSource::CompanyNews, "Office party", 2),
            mk(SignalSource::Hiring, "Engineers", 0),
        ];
        let all = group_items(items.clone(), None);
        assert_eq!(
            all.iter().map(|g| g.source).collect::<Vec<_>>(),
            [SignalSource::LinkedinPosts, SignalSource::Hiring, SignalSource::CompanyNews]
        );
        assert_eq!(all[0].items.len(), 2);
        assert!(all[0].items[0].score >= all[0].items[1].score);
        let filtered = group_items(items.clone(), Some(50));
        assert_eq!(
            filtered.iter().map(|g| g.source).collect::<Vec<_>>(),
            [SignalSource::LinkedinPosts, SignalSource::Hiring]
        );
        assert!(filtered.iter().all(|g| g.items.iter().all(|i| i.score >= 50)));
        let comment_item =
            scored_item(&s, &Activity { source: SignalSource::LinkedinComments, ..post("x", "y", 3) }, now);
        assert!(comment_item.posted_at.is_none() && comment_item.commented_at.is_some());
    }

    #[test]
    fn min_score_and_requests_are_validated() {
        assert_eq!(parse_min_score("minScore", None).unwrap(), None);
        assert_eq!(parse_min_score("minScore", Some("0")).unwrap(), Some(0));
        assert_eq!(parse_min_score("minScore", Some("100")).unwrap(), Some(100));
        for bad in ["101", "-1", "4.5", "high", ""] {
            assert_eq!(parse_min_score("minScore", Some(bad)).unwrap_err().status, 400, "{bad}");
        }
        let err = ScanRequest::default().validate().unwrap_err();
        let fields: Vec<_> = err.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["signalSpecificationId", "audienceId"]);
        let ok = ScanRequest {
            signal_specification_id: Some(" s1 ".into()),
            audience_id: Some("a".into()),
            prospect_ids: Some(vec!["p1".into(), "p1".into(), "p2".into()]),
        }
        .validate()
        .unwrap();
        assert_eq!(
            (ok.signal_specification_id.as_str(), ok.prospect_ids.unwrap()),
            ("s1", vec!["p1".to_owned(), "p2".to_owned()])
        );
        let err = ScanRequest { prospect_ids: Some(vec![]), ..Default::default() }.validate().unwrap_err();
        assert!(err.fields.iter().any(|f| f.field == "prospectIds"));
        let err = ScanRequest { prospect_ids: Some(vec![" ".into()]), ..Default::default() }.validate().unwrap_err();
        assert!(err.fields.iter().any(|f| f.field == "prospectIds[0]"));
    }
}
