//! Templates (spec 2.7): writing styles, value propositions and signal
//! specifications, with the validation of every field a client may send.
//!
//! Create and update bodies share one shape per resource, made of [`Patch`]
//! fields: a field that is absent keeps the current value (or takes its
//! default on create), `null` clears a nullable field, and a value replaces it.
//! Validation runs on the body alone, before any lookup, so a malformed body is
//! a 400 whatever the state of the resource; references to other templates are
//! checked by the store inside the write's transaction (422 when missing).

use crate::GroupId;
use crate::{DomainError, FieldIssue, Timestamp};
use serde::{Deserialize, Deserializer, Serialize};

/// Any JSON value (signal specifications carry an array of arbitrary JSON).
pub use serde_json::Value as JsonValue;

/// Longest name, in characters.
pub const NAME_MAX_CHARS: usize = 200;
/// Longest description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 2_000;
/// Most samples in one writing style.
pub const MAX_SAMPLES: usize = 50;
/// Longest sample message, in characters (LinkedIn's direct-message limit).
pub const SAMPLE_MESSAGE_MAX_CHARS: usize = 8_000;
/// Longest sample subject, in characters (LinkedIn's InMail subject limit).
pub const SAMPLE_SUBJECT_MAX_CHARS: usize = 200;
/// Longest signal tag, in characters.
pub const SIGNAL_TAG_MAX_CHARS: usize = 100;
/// Most include (or exclude) rules in one writing style.
pub const MAX_RULES: usize = 50;
/// Longest include or exclude rule, in characters.
pub const RULE_MAX_CHARS: usize = 500;
/// Most `values` (or `challenges`) in one value proposition.
pub const MAX_VALUE_ITEMS: usize = 50;
/// Longest single value or challenge, in characters.
pub const VALUE_ITEM_MAX_CHARS: usize = 1_000;
/// Most entries in a signal specification's `specifications`.
pub const MAX_SPECIFICATIONS: usize = 100;
/// Largest serialized `specifications` array, in bytes.
pub const SPECIFICATIONS_MAX_BYTES: usize = 64 * 1024;
/// Most value propositions one signal specification may name.
pub const MAX_VALUE_PROPOSITION_IDS: usize = 50;
/// Longest id accepted in a body reference, in characters.
pub const REFERENCE_ID_MAX_CHARS: usize = 100;

/// A field of an update body: absent, explicitly `null`, or a value.
/// Fields of this type need `#[serde(default)]` so that absence is `Absent`.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<T> Patch<T> {
    /// `None` is absent (for create bodies, whose optional fields have no `null` meaning).
    pub fn from_option(value: Option<T>) -> Self {
        value.map_or(Self::Absent, Self::Value)
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(d).map(|v| v.map_or(Self::Null, Self::Value))
    }
}

/// What a writing style writes (spec 1.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentType {
    DirectMessage,
    InMail,
    DirectMessageInMail,
    Email,
    Comment,
    ConnectionRequest,
}

impl ContentType {
    pub const ALL: [ContentType; 6] = [
        Self::DirectMessage,
        Self::InMail,
        Self::DirectMessageInMail,
        Self::Email,
        Self::Comment,
        Self::ConnectionRequest,
    ];

    /// A style created without `contentType` writes direct messages.
    pub const DEFAULT: ContentType = ContentType::DirectMessage;

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DirectMessage => "direct_message",
            Self::InMail => "inmail",
            Self::DirectMessageInMail => "direct_message_inmail",
            Self::Email => "email",
            Self::Comment => "comment",
            Self::ConnectionRequest => "connection_request",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// Which situation a sample is written for (spec 2.7: signal, basic, fallback).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SampleType {
    /// For a prospect with a signal (optionally only signals tagged `signalTag`).
    Signal,
    /// For a prospect without a usable signal.
    Basic,
    /// The last resort when neither of the others can be filled.
    Fallback,
}

impl SampleType {
    pub const ALL: [SampleType; 3] = [Self::Signal, Self::Basic, Self::Fallback];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Signal => "signal",
            Self::Basic => "basic",
            Self::Fallback => "fallback",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// The sources a signal specification may watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalSource {
    /// Posts the prospect published on LinkedIn.
    LinkedinPosts,
    /// Comments the prospect wrote on LinkedIn.
    LinkedinComments,
    /// A new role or company.
    JobChanges,
    /// News about the prospect's company.
    CompanyNews,
    /// Open roles at the prospect's company.
    Hiring,
    /// A funding round of the prospect's company.
    Funding,
}

impl SignalSource {
    pub const ALL: [SignalSource; 6] =
        [Self::LinkedinPosts, Self::LinkedinComments, Self::JobChanges, Self::CompanyNews, Self::Hiring, Self::Funding];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LinkedinPosts => "linkedin_posts",
            Self::LinkedinComments => "linkedin_comments",
            Self::JobChanges => "job_changes",
            Self::CompanyNews => "company_news",
            Self::Hiring => "hiring",
            Self::Funding => "funding",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One example message of a writing style.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    #[serde(rename = "type", with = "sample_type_text")]
    pub sample_type: SampleType,
    pub message: String,
    pub subject: Option<String>,
    pub signal_tag: Option<String>,
}

mod sample_type_text {
    use super::SampleType;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &SampleType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SampleType, D::Error> {
        let text = String::deserialize(d)?;
        SampleType::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("unknown sample type `{text}`")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WritingStyle {
    pub id: String,
    pub group_id: GroupId,
    pub name: String,
    pub description: Option<String>,
    pub content_type: ContentType,
    pub samples: Vec<Sample>,
    pub include_rules: Vec<String>,
    pub exclude_rules: Vec<String>,
    pub use_strict_template: bool,
    pub value_proposition_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueProposition {
    pub id: String,
    pub group_id: GroupId,
    pub name: String,
    pub description: Option<String>,
    pub values: Vec<String>,
    pub challenges: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SignalSpecification {
    pub id: String,
    pub group_id: GroupId,
    pub name: String,
    pub description: Option<String>,
    pub sources: Vec<SignalSource>,
    pub specifications: Vec<JsonValue>,
    pub use_value_proposition: bool,
    pub value_proposition_ids: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

// ---------------------------------------------------------------------------
// Bodies as received, and their validation.

/// A sample as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleInput {
    pub sample_type: String,
    pub message: String,
    pub subject: Option<String>,
    pub signal_tag: Option<String>,
}

/// A writing style create or update body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WritingStyleInput {
    pub name: Patch<String>,
    pub description: Patch<String>,
    pub content_type: Patch<String>,
    pub samples: Patch<Vec<SampleInput>>,
    pub value_proposition_id: Patch<String>,
    pub include_rules: Patch<Vec<String>>,
    pub exclude_rules: Patch<Vec<String>>,
    pub use_strict_template: Patch<bool>,
}

/// A validated writing style body: every present field is valid.
#[derive(Debug, Clone, PartialEq)]
pub struct WritingStyleChanges {
    pub name: Option<String>,
    pub description: Patch<String>,
    pub content_type: Option<ContentType>,
    pub samples: Option<Vec<Sample>>,
    pub value_proposition_id: Patch<String>,
    pub include_rules: Option<Vec<String>>,
    pub exclude_rules: Option<Vec<String>>,
    pub use_strict_template: Option<bool>,
}

/// Validation collects every problem of a body before answering.
#[derive(Default)]
struct Issues(Vec<FieldIssue>);

impl Issues {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldIssue::new(field, message));
    }

    fn finish<T>(self, value: T) -> Result<T, DomainError> {
        if self.0.is_empty() { Ok(value) } else { Err(DomainError::invalid(self.0)) }
    }

    /// A field that may not be `null` (and, when `required`, may not be absent).
    fn non_null<T>(&mut self, field: &str, patch: Patch<T>, required: bool) -> Option<T> {
        match patch {
            Patch::Value(v) => Some(v),
            Patch::Null => {
                self.push(field, "must not be null");
                None
            }
            Patch::Absent => {
                if required {
                    self.push(field, "is required");
                }
                None
            }
        }
    }

    /// Trimmed, non-empty text of at most `max` characters.
    fn text(&mut self, field: &str, text: &str, max: usize) -> String {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            self.push(field, "must not be empty");
        } else if trimmed.chars().count() > max {
            self.push(field, format!("must be at most {max} characters"));
        }
        trimmed.to_owned()
    }

    /// Optional text: trimmed; blank becomes absent.
    fn optional_text(&mut self, field: &str, text: Option<String>, max: usize) -> Option<String> {
        let trimmed = text.as_deref().map(str::trim).filter(|t| !t.is_empty())?;
        if trimmed.chars().count() > max {
            self.push(field, format!("must be at most {max} characters"));
        }
        Some(trimmed.to_owned())
    }

    fn name(&mut self, patch: Patch<String>, creating: bool) -> Option<String> {
        self.non_null("name", patch, creating).map(|n| self.text("name", &n, NAME_MAX_CHARS))
    }

    /// `description` is nullable: `null` or blank clears it.
    fn description(&mut self, patch: Patch<String>) -> Patch<String> {
        match patch {
            Patch::Value(d) => match self.optional_text("description", Some(d), DESCRIPTION_MAX_CHARS) {
                Some(d) => Patch::Value(d),
                None => Patch::Null,
            },
            other => other,
        }
    }

    /// A list of trimmed, non-empty strings.
    fn string_list(&mut self, field: &str, items: Vec<String>, max_items: usize, max_chars: usize) -> Vec<String> {
        if items.len() > max_items {
            self.push(field, format!("must have at most {max_items} items"));
        }
        items.iter().enumerate().map(|(i, item)| self.text(&format!("{field}[{i}]"), item, max_chars)).collect()
    }

    /// A reference to another resource by id (existence is checked later).
    fn reference(&mut self, field: &str, id: &str) -> String {
        let id = id.trim();
        if id.is_empty() {
            self.push(field, "must not be empty");
        } else if id.chars().count() > REFERENCE_ID_MAX_CHARS {
            self.push(field, format!("must be at most {REFERENCE_ID_MAX_CHARS} characters"));
        }
        id.to_owned()
    }
}

fn one_of<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> String {
    all.iter().map(|v| as_str(*v)).collect::<Vec<_>>().join(", ")
}

impl WritingStyleInput {
    /// Validates the body; `creating` makes `name` and `samples` required.
    pub fn validate(self, creating: bool) -> Result<WritingStyleChanges, DomainError> {
        let mut issues = Issues::default();
        let name = issues.name(self.name, creating);
        let description = issues.description(self.description);
        let content_type = issues.non_null("contentType", self.content_type, false).and_then(|text| {
            let parsed = ContentType::parse(&text);
            if parsed.is_none() {
                issues
                    .push("contentType", format!("must be one of {}", one_of(&ContentType::ALL, ContentType::as_str)));
            }
            parsed
        });
        let samples = issues.non_null("samples", self.samples, creating).map(|samples| {
            if samples.is_empty() {
                issues.push("samples", "must have at least one sample");
            } else if samples.len() > MAX_SAMPLES {
                issues.push("samples", format!("must have at most {MAX_SAMPLES} samples"));
            }
            samples.into_iter().enumerate().filter_map(|(i, s)| validate_sample(&mut issues, i, s)).collect()
        });
        let value_proposition_id = match self.value_proposition_id {
            Patch::Value(id) => Patch::Value(issues.reference("valuePropositionId", &id)),
            other => other,
        };
        let include_rules = issues
            .non_null("includeRules", self.include_rules, false)
            .map(|rules| issues.string_list("includeRules", rules, MAX_RULES, RULE_MAX_CHARS));
        let exclude_rules = issues
            .non_null("excludeRules", self.exclude_rules, false)
            .map(|rules| issues.string_list("excludeRules", rules, MAX_RULES, RULE_MAX_CHARS));
        let use_strict_template = issues.non_null("useStrictTemplate", self.use_strict_template, false);
        issues.finish(WritingStyleChanges {
            name,
            description,
            content_type,
            samples,
            value_proposition_id,
            include_rules,
            exclude_rules,
            use_strict_template,
        })
    }
}

fn validate_sample(issues: &mut Issues, i: usize, s: SampleInput) -> Option<Sample> {
    let field = |name: &str| format!("samples[{i}].{name}");
    let sample_type = SampleType::parse(s.sample_type.trim());
    if sample_type.is_none() {
        issues.push(field("type"), format!("must be one of {}", one_of(&SampleType::ALL, SampleType::as_str)));
    }
    // The message keeps its inner layout (line breaks); only the ends are trimmed.
    let message = issues.text(&field("message"), &s.message, SAMPLE_MESSAGE_MAX_CHARS);
    let subject = issues.optional_text(&field("subject"), s.subject, SAMPLE_SUBJECT_MAX_CHARS);
    let signal_tag = issues.optional_text(&field("signalTag"), s.signal_tag, SIGNAL_TAG_MAX_CHARS);
    Some(Sample { sample_type: sample_type?, message, subject, signal_tag })
}

fn apply<T>(target: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *target = v;
    }
}

fn apply_nullable<T>(target: &mut Option<T>, patch: Patch<T>) {
    match patch {
        Patch::Absent => {}
        Patch::Null => *target = None,
        Patch::Value(v) => *target = Some(v),
    }
}

impl WritingStyleChanges {
    /// A new writing style from a validated create body.
    pub fn into_new(self, id: String, group_id: GroupId, now: Timestamp) -> WritingStyle {
        let mut style = WritingStyle {
            id,
            group_id,
            name: String::new(),
            description: None,
            content_type: ContentType::DEFAULT,
            samples: Vec::new(),
            include_rules: Vec::new(),
            exclude_rules: Vec::new(),
            // Template mode is the default (spec 2.7).
            use_strict_template: true,
            value_proposition_id: None,
            created_at: now,
            updated_at: now,
        };
        self.apply_to(&mut style, now);
        style
    }

    /// Applies the present fields to `style`.
    pub fn apply_to(self, style: &mut WritingStyle, now: Timestamp) {
        apply(&mut style.name, self.name);
        apply_nullable(&mut style.description, self.description);
        apply(&mut style.content_type, self.content_type);
        apply(&mut style.samples, self.samples);
        apply_nullable(&mut style.value_proposition_id, self.value_proposition_id);
        apply(&mut style.include_rules, self.include_rules);
        apply(&mut style.exclude_rules, self.exclude_rules);
        apply(&mut style.use_strict_template, self.use_strict_template);
        style.updated_at = now;
    }
}

/// A value proposition create or update body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValuePropositionInput {
    pub name: Patch<String>,
    pub description: Patch<String>,
    pub values: Patch<Vec<String>>,
    pub challenges: Patch<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValuePropositionChanges {
    pub name: Option<String>,
    pub description: Patch<String>,
    pub values: Option<Vec<String>>,
    pub challenges: Option<Vec<String>>,
}

impl ValuePropositionInput {
    pub fn validate(self, creating: bool) -> Result<ValuePropositionChanges, DomainError> {
        let mut issues = Issues::default();
        let name = issues.name(self.name, creating);
        let description = issues.description(self.description);
        let values = issues
            .non_null("values", self.values, false)
            .map(|v| issues.string_list("values", v, MAX_VALUE_ITEMS, VALUE_ITEM_MAX_CHARS));
        let challenges = issues
            .non_null("challenges", self.challenges, false)
            .map(|v| issues.string_list("challenges", v, MAX_VALUE_ITEMS, VALUE_ITEM_MAX_CHARS));
        issues.finish(ValuePropositionChanges { name, description, values, challenges })
    }
}

impl ValuePropositionChanges {
    pub fn into_new(self, id: String, group_id: GroupId, now: Timestamp) -> ValueProposition {
        let mut vp = ValueProposition {
            id,
            group_id,
            name: String::new(),
            description: None,
            values: Vec::new(),
            challenges: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        self.apply_to(&mut vp, now);
        vp
    }

    pub fn apply_to(self, vp: &mut ValueProposition, now: Timestamp) {
        apply(&mut vp.name, self.name);
        apply_nullable(&mut vp.description, self.description);
        apply(&mut vp.values, self.values);
        apply(&mut vp.challenges, self.challenges);
        vp.updated_at = now;
    }
}

/// A signal specification create or update body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignalSpecificationInput {
    pub name: Patch<String>,
    pub description: Patch<String>,
    pub sources: Patch<Vec<String>>,
    pub specifications: Patch<Vec<JsonValue>>,
    pub use_value_proposition: Patch<bool>,
    pub value_proposition_ids: Patch<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SignalSpecificationChanges {
    pub name: Option<String>,
    pub description: Patch<String>,
    pub sources: Option<Vec<SignalSource>>,
    pub specifications: Option<Vec<JsonValue>>,
    pub use_value_proposition: Option<bool>,
    pub value_proposition_ids: Option<Vec<String>>,
}

impl SignalSpecificationInput {
    /// Validates the body; `creating` makes `name` and `sources` required.
    pub fn validate(self, creating: bool) -> Result<SignalSpecificationChanges, DomainError> {
        let mut issues = Issues::default();
        let name = issues.name(self.name, creating);
        let description = issues.description(self.description);
        let sources = issues.non_null("sources", self.sources, creating).map(|sources| {
            if sources.is_empty() {
                issues.push("sources", "must name at least one source");
            }
            let mut parsed: Vec<SignalSource> = Vec::new();
            for (i, text) in sources.iter().enumerate() {
                match SignalSource::parse(text.trim()) {
                    // A source named twice counts once.
                    Some(s) if parsed.contains(&s) => {}
                    Some(s) => parsed.push(s),
                    None => issues.push(
                        format!("sources[{i}]"),
                        format!("must be one of {}", one_of(&SignalSource::ALL, SignalSource::as_str)),
                    ),
                }
            }
            parsed
        });
        let specifications = issues.non_null("specifications", self.specifications, false).inspect(|specs| {
            if specs.len() > MAX_SPECIFICATIONS {
                issues.push("specifications", format!("must have at most {MAX_SPECIFICATIONS} items"));
            } else if serde_json::to_string(specs).map_or(usize::MAX, |s| s.len()) > SPECIFICATIONS_MAX_BYTES {
                issues.push("specifications", format!("must be at most {SPECIFICATIONS_MAX_BYTES} bytes as JSON"));
            }
        });
        let use_value_proposition = issues.non_null("useValueProposition", self.use_value_proposition, false);
        let value_proposition_ids =
            issues.non_null("valuePropositionIds", self.value_proposition_ids, false).map(|ids| {
                if ids.len() > MAX_VALUE_PROPOSITION_IDS {
                    issues.push("valuePropositionIds", format!("must have at most {MAX_VALUE_PROPOSITION_IDS} items"));
                }
                let mut unique: Vec<String> = Vec::new();
                for (i, id) in ids.iter().enumerate() {
                    let id = issues.reference(&format!("valuePropositionIds[{i}]"), id);
                    // An id named twice counts once.
                    if !unique.contains(&id) {
                        unique.push(id);
                    }
                }
                unique
            });
        issues.finish(SignalSpecificationChanges {
            name,
            description,
            sources,
            specifications,
            use_value_proposition,
            value_proposition_ids,
        })
    }
}

impl SignalSpecificationChanges {
    pub fn into_new(self, id: String, group_id: GroupId, now: Timestamp) -> SignalSpecification {
        let mut spec = SignalSpecification {
            id,
            group_id,
            name: String::new(),
            description: None,
            sources: Vec::new(),
            specifications: Vec::new(),
            use_value_proposition: false,
            value_proposition_ids: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        self.apply_to(&mut spec, now);
        spec
    }

    pub fn apply_to(self, spec: &mut SignalSpecification, now: Timestamp) {
        apply(&mut spec.name, self.name);
        apply_nullable(&mut spec.description, self.description);
        apply(&mut spec.sources, self.sources);
        apply(&mut spec.specifications, self.specifications);
        apply(&mut spec.use_value_proposition, self.use_value_proposition);
        apply(&mut spec.value_proposition_ids, self.value_proposition_ids);
        spec.updated_at = now;
    }
}

/// Something that uses a template (reported when deleting a template in use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateReference {
    /// What kind of resource holds the reference, e.g. `writing style`.
    pub kind: &'static str,
    pub id: String,
    pub name: String,
}

/// 409 CONFLICT for deleting `what` while `users` still reference it.
pub fn in_use(what: &str, users: &[TemplateReference]) -> DomainError {
    const SHOWN: usize = 10;
    if users.is_empty() {
        return DomainError::conflict(format!("The {what} is still in use; remove its references first."));
    }
    let mut listed: Vec<String> =
        users.iter().take(SHOWN).map(|r| format!("{} \"{}\" ({})", r.kind, r.name, r.id)).collect();
    if users.len() > SHOWN {
        listed.push(format!("and {} more", users.len() - SHOWN));
    }
    DomainError::conflict(format!("The {what} is still used by {}; remove those references first.", listed.join(", ")))
        .with_details(listed.join("; "))
}

/// 422 for body references to value propositions that do not exist in the group.
pub fn missing_value_propositions(field: &str, missing: &[(usize, String)], indexed: bool) -> DomainError {
    let fields: Vec<FieldIssue> = missing
        .iter()
        .map(|(i, id)| {
            let name = if indexed { format!("{field}[{i}]") } else { field.to_owned() };
            FieldIssue::new(name, format!("no value proposition `{id}` exists in this account group"))
        })
        .collect();
    let details = fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ");
    DomainError { fields, ..DomainError::unprocessable("The referenced value proposition does not exist.") }
        .with_details(details)
}

/// JSON text for the store's text columns (the store has no JSON library of its own).
pub mod codec {
    use super::{JsonValue, Sample, SignalSource};

    pub fn encode_strings(items: &[String]) -> String {
        serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
    }

    pub fn decode_strings(text: &str) -> Result<Vec<String>, String> {
        serde_json::from_str(text).map_err(|e| format!("bad string list: {e}"))
    }

    pub fn encode_samples(samples: &[Sample]) -> String {
        serde_json::to_string(samples).unwrap_or_else(|_| "[]".into())
    }

    pub fn decode_samples(text: &str) -> Result<Vec<Sample>, String> {
        serde_json::from_str(text).map_err(|e| format!("bad samples: {e}"))
    }

    pub fn encode_sources(sources: &[SignalSource]) -> String {
        let names: Vec<&str> = sources.iter().map(|s| s.as_str()).collect();
        serde_json::to_string(&names).unwrap_or_else(|_| "[]".into())
    }

    pub fn decode_sources(text: &str) -> Result<Vec<SignalSource>, String> {
        decode_strings(text)?
            .iter()
            .map(|s| SignalSource::parse(s).ok_or_else(|| format!("unknown signal source `{s}`")))
            .collect()
    }

    pub fn encode_json_list(items: &[JsonValue]) -> String {
        serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
    }

    pub fn decode_json_list(text: &str) -> Result<Vec<JsonValue>, String> {
        serde_json::from_str(text).map_err(|e| format!("bad JSON list: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: &str, message: &str) -> SampleInput {
        SampleInput { sample_type: t.into(), message: message.into(), subject: None, signal_tag: None }
    }

    fn create_body() -> WritingStyleInput {
        WritingStyleInput {
            name: Patch::Value("  Warm intro ".into()),
            samples: Patch::Value(vec![sample("signal", "Hi {{ FirstName }}")]),
            ..Default::default()
        }
    }

    #[test]
    fn patch_tells_absent_from_null() {
        #[derive(Deserialize)]
        struct Body {
            #[serde(default)]
            a: Patch<String>,
            #[serde(default)]
            b: Patch<String>,
            #[serde(default)]
            c: Patch<String>,
        }
        let body: Body = serde_json::from_str(r#"{"b": null, "c": "x"}"#).unwrap();
        assert_eq!((body.a, body.b, body.c), (Patch::Absent, Patch::Null, Patch::Value("x".into())));
    }

    #[test]
    fn create_defaults_and_trims() {
        let style = create_body().validate(true).unwrap().into_new("id".into(), "g".into(), Timestamp::from_millis(5));
        assert_eq!(style.name, "Warm intro");
        assert_eq!(style.content_type, ContentType::DirectMessage);
        assert!(style.use_strict_template);
        assert_eq!(style.samples[0].sample_type, SampleType::Signal);
        assert!(style.include_rules.is_empty() && style.description.is_none());
        assert_eq!(style.created_at, style.updated_at);
    }

    #[test]
    fn create_requires_name_and_samples_and_reports_every_issue() {
        let err = WritingStyleInput::default().validate(true).unwrap_err();
        assert_eq!(err.status, 400);
        let fields: Vec<_> = err.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["name", "samples"]);

        let body = WritingStyleInput {
            name: Patch::Value("  ".into()),
            content_type: Patch::Value("sms".into()),
            samples: Patch::Value(vec![sample("teaser", ""), sample("basic", &"x".repeat(8_001))]),
            include_rules: Patch::Value(vec!["ok".into(), " ".into()]),
            exclude_rules: Patch::Null,
            ..Default::default()
        };
        let err = body.validate(true).unwrap_err();
        let fields: Vec<_> = err.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "contentType",
                "samples[0].type",
                "samples[0].message",
                "samples[1].message",
                "includeRules[1]",
                "excludeRules"
            ]
        );
        assert!(err.fields[1].message.contains("direct_message_inmail"));
    }

    #[test]
    fn empty_samples_and_too_many_rules_are_refused() {
        let body = WritingStyleInput {
            samples: Patch::Value(vec![]),
            include_rules: Patch::Value(vec!["r".into(); MAX_RULES + 1]),
            ..Default::default()
        };
        let err = body.validate(false).unwrap_err();
        assert_eq!(err.fields[0].field, "samples");
        assert_eq!(err.fields[1].field, "includeRules");
    }

    #[test]
    fn update_keeps_absent_fields_and_clears_null_ones() {
        let now = Timestamp::from_millis(1);
        let mut style = WritingStyleInput {
            description: Patch::Value("d".into()),
            value_proposition_id: Patch::Value("vp".into()),
            ..create_body()
        }
        .validate(true)
        .unwrap()
        .into_new("id".into(), "g".into(), now);
        let patch = WritingStyleInput {
            description: Patch::Null,
            exclude_rules: Patch::Value(vec!["price".into()]),
            ..Default::default()
        };
        patch.validate(false).unwrap().apply_to(&mut style, Timestamp::from_millis(9));
        assert_eq!(style.name, "Warm intro");
        assert_eq!(style.description, None);
        assert_eq!(style.value_proposition_id.as_deref(), Some("vp"));
        assert_eq!(style.exclude_rules, ["price"]);
        assert_eq!(style.updated_at, Timestamp::from_millis(9));
        assert_eq!(style.created_at, now);
        let err = WritingStyleInput { name: Patch::Null, ..Default::default() }.validate(false).unwrap_err();
        assert_eq!(err.fields[0].field, "name");
    }

    #[test]
    fn signal_sources_are_a_closed_set() {
        let body = SignalSpecificationInput {
            name: Patch::Value("Hiring".into()),
            sources: Patch::Value(vec!["hiring".into(), "tiktok".into(), "hiring".into()]),
            value_proposition_ids: Patch::Value(vec!["a".into(), "a".into(), "".into()]),
            ..Default::default()
        };
        let err = body.clone().validate(true).unwrap_err();
        let fields: Vec<_> = err.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["sources[1]", "valuePropositionIds[2]"]);
        let ok = SignalSpecificationInput {
            sources: Patch::Value(vec!["hiring".into(), "funding".into(), "hiring".into()]),
            value_proposition_ids: Patch::Value(vec!["a".into(), "a".into()]),
            ..body
        }
        .validate(true)
        .unwrap();
        assert_eq!(ok.sources.unwrap(), [SignalSource::Hiring, SignalSource::Funding]);
        assert_eq!(ok.value_proposition_ids.unwrap(), ["a"]);
        let err = SignalSpecificationInput { name: Patch::Value("x".into()), ..Default::default() }
            .validate(true)
            .unwrap_err();
        assert_eq!(err.fields[0].field, "sources");
    }

    #[test]
    fn specifications_are_bounded() {
        let big = JsonValue::String("x".repeat(SPECIFICATIONS_MAX_BYTES));
        let err = SignalSpecificationInput { specifications: Patch::Value(vec![big]), ..Default::default() }
            .validate(false)
            .unwrap_err();
        assert_eq!(err.fields[0].field, "specifications");
    }

    #[test]
    fn codec_round_trips() {
        let samples = vec![Sample {
            sample_type: SampleType::Fallback,
            message: "m".into(),
            subject: Some("s".into()),
            signal_tag: None,
        }];
        assert_eq!(codec::decode_samples(&codec::encode_samples(&samples)).unwrap(), samples);
        let sources = vec![SignalSource::JobChanges, SignalSource::LinkedinPosts];
        assert_eq!(codec::decode_sources(&codec::encode_sources(&sources)).unwrap(), sources);
        assert!(codec::decode_sources(r#"["nope"]"#).is_err());
    }

    #[test]
    fn conflict_names_the_users() {
        let users = vec![TemplateReference { kind: "writing style", id: "w1".into(), name: "Intro".into() }];
        let err = in_use("value proposition", &users);
        assert_eq!(err.status, 409);
        assert_eq!(err.code.as_str(), "CONFLICT");
        assert!(err.message.contains("writing style \"Intro\" (w1)"));
        assert_eq!(in_use("writing style", &[]).status, 409);
    }
}
