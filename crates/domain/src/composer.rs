//! The built-in deterministic content composer: fills a writing style's
//! samples for one prospect and one channel, without any AI and without IO.
//! The same inputs always give the same output.
//!
//! 1. **Sample choice.** Candidates are tried in this order, and the first one
//!    that can be filled completely wins:
//!    signal samples whose `signalTag` matches one of the prospect's signals (in
//!    the order of the prospect's signals), then, when the prospect has any
//!    signal, the other signal samples (untagged first), then `basic` samples,
//!    then `fallback` samples (each group in declared order).
//! 2. **Variables.** `{{ Name }}`, case-insensitive, spaces, `_` and `-` inside
//!    the braces ignored: `FirstName`, `LastName`, `Company`, `Title`,
//!    `Location`, `Signal` (the selected signal's summary: the matching signal
//!    for a tagged signal sample, else the prospect's first signal),
//!    `Signal_anonym` (a generic phrase derived from that signal's tag that names
//!    neither the event nor the source), `ValueProposition`, `Value` and `Challenge` (name, first
//!    value and first challenge of the first value proposition). A sample with a
//!    variable that has no value (or an unknown variable, or an unclosed `{{`) is
//!    skipped; the output never holds an unfilled `{{…}}`.
//! 3. **Rules.** Each exclude rule is a phrase that must not appear: every
//!    sentence containing it is removed. Each include rule is a phrase that must
//!    appear: when missing, it is appended as a sentence. Matching ignores case.
//! 4. **Length.** The body (and the subject) is cut to the channel's limit at a
//!    sentence end, or else at a word boundary followed by `…`, never inside a
//!    filled value; appended include rules always fit.

use crate::DomainError;
use crate::FieldIssue;
use crate::template::{ContentType, Sample, SampleType, ValueProposition, WritingStyle};

/// Where the composed content is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    DirectMessage,
    InMail,
    ConnectionRequest,
    Comment,
    Email,
}

impl Channel {
    pub const ALL: [Channel; 5] =
        [Self::DirectMessage, Self::InMail, Self::ConnectionRequest, Self::Comment, Self::Email];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DirectMessage => "direct_message",
            Self::InMail => "inmail",
            Self::ConnectionRequest => "connection_request",
            Self::Comment => "comment",
            Self::Email => "email",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// Longest body, in characters (LinkedIn's limits; email is ours).
    pub const fn body_limit(self) -> usize {
        match self {
            Self::ConnectionRequest => 300,
            Self::DirectMessage => 8_000,
            Self::InMail => 1_900,
            Self::Comment => 1_250,
            Self::Email => 10_000,
        }
    }

    /// Longest subject in characters, for the channels that have one.
    pub const fn subject_limit(self) -> Option<usize> {
        match self {
            Self::InMail | Self::Email => Some(200),
            _ => None,
        }
    }

    /// InMails cannot be sent without a subject.
    pub const fn requires_subject(self) -> bool {
        matches!(self, Self::InMail)
    }
}

impl ContentType {
    /// Whether a style of this content type may be composed for `channel`.
    pub fn allows(self, channel: Channel) -> bool {
        match self {
            Self::DirectMessage => channel == Channel::DirectMessage,
            Self::InMail => channel == Channel::InMail,
            Self::DirectMessageInMail => matches!(channel, Channel::DirectMessage | Channel::InMail),
            Self::Email => channel == Channel::Email,
            Self::Comment => channel == Channel::Comment,
            Self::ConnectionRequest => channel == Channel::ConnectionRequest,
        }
    }
}

/// What the composer knows about the prospect. Blank fields count as missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProspectProfile {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub title: Option<String>,
    pub location: Option<String>,
}

/// One signal of the prospect, most relevant first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProspectSignal {
    /// The signal's tag or type (e.g. `funding`, `linkedin_posts`).
    pub tag: String,
    pub summary: String,
}

/// The result of composing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: Option<String>,
    pub body: String,
    pub sample_type_used: SampleType,
}

/// Composes content from `style` for one prospect on `channel`.
pub fn compose(
    style: &WritingStyle,
    value_propositions: &[ValueProposition],
    profile: &ProspectProfile,
    signals: &[ProspectSignal],
    channel: Channel,
) -> Result<Composed, DomainError> {
    if !style.content_type.allows(channel) {
        return Err(DomainError {
            fields: vec![FieldIssue::new(
                "channel",
                format!("a {} writing style cannot compose {}", style.content_type.as_str(), channel.as_str()),
            )],
            ..DomainError::unprocessable(format!(
                "This writing style writes {} content; it cannot compose a {} message.",
                style.content_type.as_str(),
                channel.as_str()
            ))
        });
    }
    let context = Context { profile, value_proposition: value_propositions.first() };
    let mut failures: Vec<(usize, SampleType, Failure)> = Vec::new();
    for candidate in candidates(&style.samples, signals) {
        match compose_candidate(style, &context, &candidate, channel) {
            Ok(composed) => return Ok(composed),
            Err(failure) => failures.push((candidate.index, candidate.sample.sample_type, failure)),
        }
    }
    Err(no_sample_fits(&failures))
}

fn no_sample_fits(failures: &[(usize, SampleType, Failure)]) -> DomainError {
    let mut missing: Vec<&str> = Vec::new();
    for (_, _, failure) in failures {
        if let Failure::Missing(names) = failure {
            for name in names {
                if !missing.contains(&name.as_str()) {
                    missing.push(name);
                }
            }
        }
    }
    let message = if missing.is_empty() {
        "No sample of this writing style can be composed for this prospect and channel.".to_owned()
    } else {
        format!("No sample of this writing style can be filled for this prospect: no value for {}.", missing.join(", "))
    };
    let details = failures
        .iter()
        .map(|(i, t, failure)| format!("samples[{i}] ({}): {failure}", t.as_str()))
        .collect::<Vec<_>>()
        .join("; ");
    let fields = missing.iter().map(|name| FieldIssue::new("variables", format!("{name} has no value"))).collect();
    let error = DomainError { fields, ..DomainError::unprocessable(message) };
    if details.is_empty() { error } else { error.with_details(details) }
}

/// Why one sample could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    /// These variables (as written, e.g. `{{ Company }}`) have no value.
    Missing(Vec<String>),
    Unclosed,
    NoSubject,
    EmptyAfterExclude,
    Contradiction {
        include: String,
        exclude: String,
    },
    TooLong,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing(names) => write!(f, "no value for {}", names.join(", ")),
            Self::Unclosed => f.write_str("a `{{` is never closed with `}}`"),
            Self::NoSubject => f.write_str("the channel needs a subject and the sample has none"),
            Self::EmptyAfterExclude => f.write_str("every sentence contains an excluded phrase"),
            Self::Contradiction { include, exclude } => {
                write!(f, "the include rule \"{include}\" contains the excluded phrase \"{exclude}\"")
            }
            Self::TooLong => f.write_str("the content cannot fit the channel's length limit"),
        }
    }
}

struct Context<'a> {
    profile: &'a ProspectProfile,
    value_proposition: Option<&'a ValueProposition>,
}

struct Candidate<'a> {
    index: usize,
    sample: &'a Sample,
    signal: Option<&'a ProspectSignal>,
}

/// Lower-case letters and digits only: `{{ First_Name }}` = `{{firstname}}`.
fn normalize_key(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

fn candidates<'a>(samples: &'a [Sample], signals: &'a [ProspectSignal]) -> Vec<Candidate<'a>> {
    let mut used = vec![false; samples.len()];
    let mut out = Vec::new();
    let mut take = |index: usize, signal: Option<&'a ProspectSignal>, out: &mut Vec<Candidate<'a>>| {
        if !used[index] {
            used[index] = true;
            out.push(Candidate { index, sample: &samples[index], signal });
        }
    };
    let of_type = |t: SampleType| samples.iter().enumerate().filter(move |(_, s)| s.sample_type == t);
    for signal in signals {
        let tag = normalize_key(&signal.tag);
        for (i, sample) in of_type(SampleType::Signal) {
            if sample.signal_tag.as_deref().is_some_and(|t| !tag.is_empty() && normalize_key(t) == tag) {
                take(i, Some(signal), &mut out);
            }
        }
    }
    let first = signals.first();
    if first.is_some() {
        for (i, sample) in of_type(SampleType::Signal) {
            if sample.signal_tag.is_none() {
                take(i, first, &mut out);
            }
        }
        for (i, _) in of_type(SampleType::Signal) {
            take(i, first, &mut out);
        }
    }
    for t in [SampleType::Basic, SampleType::Fallback] {
        for (i, _) in of_type(t) {
            take(i, first, &mut out);
        }
    }
    out
}

/// A value as it goes into the text: one line, no braces, no outer spaces.
fn clean_value(value: &str) -> Option<String> {
    let cleaned: String = value.split_whitespace().collect::<Vec<_>>().join(" ").replace(['{', '}'], "");
    let cleaned = cleaned.trim().to_owned();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// A generic phrase for a signal: it names neither the event nor the source.
pub fn anonymize_signal(tag: &str) -> &'static str {
    let key = normalize_key(tag);
    let has = |words: &[&str]| words.iter().any(|w| key.contains(w));
    if has(&["comment", "reply", "discussion"]) {
        "a conversation you joined recently"
    } else if has(&["hiring", "recruit", "jobpost", "opening", "vacanc"]) {
        "how your team is growing"
    } else if has(&["funding", "raise", "invest", "round"]) {
        "an exciting milestone for your company"
    } else if has(&["job", "role", "position", "promot", "move"]) {
        "your recent move"
    } else if has(&["news", "announce", "press", "launch"]) {
        "what's been happening at your company lately"
    } else if has(&["post", "share", "article", "publish", "content"]) {
        "something you shared recently"
    } else {
        "something you've been working on recently"
    }
}

impl Context<'_> {
    fn value(&self, key: &str, signal: Option<&ProspectSignal>) -> Option<String> {
        let p = self.profile;
        let vp = self.value_proposition;
        let raw: Option<String> = match key {
            "firstname" => p.first_name.clone(),
            "lastname" => p.last_name.clone(),
            "company" => p.company.clone(),
            "title" => p.title.clone(),
            "location" => p.location.clone(),
            "signal" => signal.map(|s| s.summary.clone()),
            "signalanonym" => signal.map(|s| anonymize_signal(&s.tag).to_owned()),
            "valueproposition" => vp.map(|v| v.name.clone()),
            "value" => vp.and_then(|v| v.values.first().cloned()),
            "challenge" => vp.and_then(|v| v.challenges.first().cloned()),
            _ => None,
        };
        raw.as_deref().and_then(clean_value)
    }
}

/// Text with the byte ranges of filled values, which are never split.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rich {
    text: String,
    protected: Vec<(usize, usize)>,
}

impl Rich {
    /// True when `pos` lies strictly inside a filled value.
    fn inside(&self, pos: usize) -> bool {
        self.protected.iter().any(|&(s, e)| s < pos && pos < e)
    }
}

fn fill(template: &str, value: &dyn Fn(&str) -> Option<String>) -> Result<Rich, Failure> {
    let mut text = String::with_capacity(template.len());
    let mut protected = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        text.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or(Failure::Unclosed)?;
        let raw = &after[..close];
        match value(&normalize_key(raw)) {
            Some(v) => {
                let start = text.len();
                text.push_str(&v);
                protected.push((start, text.len()));
            }
            None => {
                let shown = format!("{{{{ {} }}}}", raw.trim());
                if !missing.contains(&shown) {
                    missing.push(shown);
                }
            }
        }
        rest = &after[close + 2..];
    }
    text.push_str(rest);
    if missing.is_empty() { Ok(Rich { text, protected }) } else { Err(Failure::Missing(missing)) }
}

/// A sentence (or line): `[start, content_end)` is the text, up to `end` its
/// trailing whitespace.
#[derive(Debug, Clone, Copy)]
struct Unit {
    start: usize,
    content_end: usize,
    end: usize,
}

fn is_terminal(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…')
}

fn is_closer(c: char) -> bool {
    matches!(c, '"' | '\'' | ')' | ']' | '”' | '’' | '»')
}

/// Splits into sentences: after `.`, `!`, `?` or `…` (plus closing quotes)
/// followed by whitespace, and at line breaks; never inside a filled value.
fn units(rich: &Rich) -> Vec<Unit> {
    let text = rich.text.as_str();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
    let skip_space = |mut i: usize| {
        while i < chars.len() && chars[i].1.is_whitespace() {
            i += 1;
        }
        i
    };
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < chars.len() {
        let (pos, c) = chars[i];
        let boundary = if c == '\n' && !rich.inside(pos) {
            Some((pos, i))
        } else if is_terminal(c) {
            let mut j = i;
            while j < chars.len() && (is_terminal(chars[j].1) || is_closer(chars[j].1)) {
                j += 1;
            }
            let end = byte(j);
            if (j == chars.len() || chars[j].1.is_whitespace()) && !rich.inside(end) {
                Some((end, j))
            } else {
                i = j;
                continue;
            }
        } else {
            None
        };
        match boundary {
            Some((content_end, j)) => {
                let next = skip_space(j);
                out.push(Unit { start, content_end, end: byte(next) });
                start = byte(next);
                i = next;
            }
            None => i += 1,
        }
    }
    if start < text.len() {
        let content_end = start + text[start..].trim_end().len();
        out.push(Unit { start, content_end, end: text.len() });
    }
    out
}

/// Rebuilds the text without the units marked in `remove`. A removed unit's
/// paragraph break is kept, so removing a paragraph's last sentence keeps the
/// paragraphs apart.
fn remove_units(rich: &Rich, units: &[Unit], remove: &[bool]) -> Rich {
    let mut text = String::with_capacity(rich.text.len());
    let mut protected = Vec::new();
    let mut last_sep: Option<usize> = None;
    let newlines = |s: &str| s.matches('\n').count();
    for (unit, &removed) in units.iter().zip(remove) {
        let sep = &rich.text[unit.content_end..unit.end];
        if removed {
            if let Some(at) = last_sep
                && newlines(sep) > newlines(&text[at..])
            {
                text.truncate(at);
                text.push_str(sep);
            }
            continue;
        }
        let offset = text.len();
        text.push_str(&rich.text[unit.start..unit.content_end]);
        for &(s, e) in &rich.protected {
            if s >= unit.start && e <= unit.content_end {
                protected.push((s - unit.start + offset, e - unit.start + offset));
            }
        }
        last_sep = Some(text.len());
        text.push_str(sep);
    }
    let trimmed = text.trim_end().len();
    text.truncate(trimmed);
    Rich { text, protected }
}

fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

fn fold_str(text: &str) -> String {
    text.chars().map(fold).collect()
}

/// Byte ranges of the case-insensitive, non-overlapping occurrences of
/// `needle` in `hay`. Linear: the search runs on a folded copy (std's
/// two-way search) whose offsets map back to `hay`.
fn find_all(hay: &str, needle: &str) -> Vec<(usize, usize)> {
    let needle = fold_str(needle);
    if needle.is_empty() {
        return Vec::new();
    }
    let mut folded = String::with_capacity(hay.len());
    // (offset in `folded`, offset in `hay`) at every character start, and at the end.
    let mut offsets = Vec::with_capacity(hay.len() + 1);
    for (i, c) in hay.char_indices() {
        offsets.push((folded.len(), i));
        folded.push(fold(c));
    }
    offsets.push((folded.len(), hay.len()));
    let original =
        |f: usize| offsets.binary_search_by_key(&f, |&(folded_at, _)| folded_at).map_or(hay.len(), |k| offsets[k].1);
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = folded[from..].find(&needle) {
        let (start, end) = (from + found, from + found + needle.len());
        out.push((original(start), original(end)));
        from = end;
    }
    out
}

fn contains(hay: &str, needle: &str) -> bool {
    let needle = fold_str(needle);
    !needle.is_empty() && fold_str(hay).contains(&needle)
}

/// Removes every sentence that contains an excluded phrase.
fn apply_excludes(mut rich: Rich, excludes: &[String]) -> Rich {
    loop {
        let units = units(&rich);
        let mut remove = vec![false; units.len()];
        let mut any = false;
        for phrase in excludes {
            for (s, e) in find_all(&rich.text, phrase) {
                // Units are in text order: skip those ending before the match.
                let first = units.partition_point(|unit| unit.end <= s);
                for (k, _) in units.iter().enumerate().skip(first).take_while(|(_, unit)| unit.start < e) {
                    remove[k] = true;
                    any = true;
                }
            }
        }
        if !any {
            return rich;
        }
        rich = remove_units(&rich, &units, &remove);
    }
}

fn char_len(text: &str) -> usize {
    text.chars().count()
}

/// Cuts `rich` to at most `limit` characters: at the last sentence end that
/// keeps at least half the limit, else at the last word boundary outside a
/// filled value, followed by `…`. `None` when nothing sensible fits.
fn trim_to(rich: &Rich, limit: usize) -> Option<String> {
    let text = rich.text.trim_end();
    if char_len(text) <= limit {
        return Some(text.to_owned());
    }
    // A cut at byte `e` keeps at most `limit` characters exactly when `e <= within`.
    let within = text.char_indices().nth(limit).map_or(text.len(), |(b, _)| b);
    let sentence_cut = units(rich).iter().map(|u| u.content_end).filter(|&e| e > 0 && e <= within).max();
    if let Some(end) = sentence_cut
        && char_len(&text[..end]) * 2 >= limit
    {
        return Some(text[..end].trim_end().to_owned());
    }
    let budget = limit.checked_sub(1)?;
    let mut best: Option<&str> = None;
    let mut previous_was_space = true;
    for (count, (pos, c)) in text.char_indices().enumerate() {
        if count > budget {
            break;
        }
        let space = c.is_whitespace();
        // Only the first space of a run can end a longer piece.
        if space && !previous_was_space && !rich.inside(pos) {
            let piece = text[..pos].trim_end_matches([',', ';', ':', '-', '–', '—']).trim_end();
            if !piece.is_empty() {
                best = Some(piece);
            }
        }
        previous_was_space = space;
    }
    best.map(|piece| format!("{piece}…"))
}

/// An include rule written as a sentence.
fn as_sentence(rule: &str) -> String {
    let mut chars = rule.trim().chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with(|c: char| is_terminal(c) || is_closer(c)) {
        out.push('.');
    }
    out
}

/// Appends sentences to a body: on a new line when the body has several lines.
fn append(body: &str, tail: &[String]) -> String {
    if tail.is_empty() {
        return body.to_owned();
    }
    let mut out = body.to_owned();
    if out.ends_with(|c: char| c.is_alphanumeric()) {
        out.push('.');
    }
    out.push_str(if body.contains('\n') { "\n" } else { " " });
    out.push_str(&tail.join(" "));
    out
}

/// Trims the body to `limit` while keeping (or appending) every include rule.
fn fit_with_includes(core: &Rich, includes: &[String], limit: usize) -> Result<String, Failure> {
    let mut extra: Vec<usize> = (0..includes.len()).filter(|&i| !contains(&core.text, &includes[i])).collect();
    loop {
        let tail: Vec<String> = extra.iter().map(|&i| as_sentence(&includes[i])).collect();
        // The tail, its separator and a period the body may need.
        let reserve = if tail.is_empty() { 0 } else { char_len(&tail.join(" ")) + 2 };
        let room = limit.checked_sub(reserve).filter(|&r| r > 0).ok_or(Failure::TooLong)?;
        let trimmed = trim_to(core, room).ok_or(Failure::TooLong)?;
        let body = append(&trimmed, &tail);
        let newly: Vec<usize> =
            (0..includes.len()).filter(|i| !extra.contains(i) && !contains(&body, &includes[*i])).collect();
        if newly.is_empty() {
            return Ok(body);
        }
        extra.extend(newly);
        extra.sort_unstable();
    }
}

fn compose_candidate(
    style: &WritingStyle,
    context: &Context<'_>,
    candidate: &Candidate<'_>,
    channel: Channel,
) -> Result<Composed, Failure> {
    let value = |key: &str| context.value(key, candidate.signal);
    let fill_rules = |rules: &[String]| -> Result<Vec<String>, Failure> {
        rules
            .iter()
            .map(|r| fill(r, &value).map(|rich| rich.text.trim().to_owned()))
            .filter(|r| !matches!(r, Ok(t) if t.is_empty()))
            .collect()
    };
    let body = fill(&candidate.sample.message, &value)?;
    let includes = fill_rules(&style.include_rules)?;
    let excludes = fill_rules(&style.exclude_rules)?;
    for include in &includes {
        if let Some(exclude) = excludes.iter().find(|e| contains(include, e)) {
            return Err(Failure::Contradiction { include: include.clone(), exclude: exclude.clone() });
        }
    }
    let core = apply_excludes(body, &excludes);
    if core.text.trim().is_empty() {
        return Err(Failure::EmptyAfterExclude);
    }
    let body = fit_with_includes(&core, &includes, channel.body_limit())?;
    let subject = match (channel.subject_limit(), &candidate.sample.subject) {
        (Some(limit), Some(template)) => {
            let filled = fill(template, &value)?;
            let one_line = Rich { text: filled.text.replace(['\n', '\r', '\t'], " "), protected: filled.protected };
            let kept = apply_excludes(one_line, &excludes);
            if kept.text.trim().is_empty() { None } else { Some(trim_to(&kept, limit).ok_or(Failure::TooLong)?) }
        }
        _ => None,
    };
    if channel.requires_subject() && subject.is_none() {
        return Err(Failure::NoSubject);
    }
    // Final guards: no variable left, no excluded phrase (even across a join).
    let all = format!("{}\n{}", subject.as_deref().unwrap_or(""), body);
    if all.contains("{{") {
        return Err(Failure::Unclosed);
    }
    if excludes.iter().any(|e| contains(&all, e)) {
        return Err(Failure::EmptyAfterExclude);
    }
    Ok(Composed { subject, body, sample_type_used: candidate.sample.sample_type })
}

/// Checks content written by another composer (an AI model) against the rules
/// the built-in composer follows for the same style, prospect and channel: a
/// non-empty body, no `{{` or `}}` left, no excluded phrase, every include
/// rule present (missing ones are appended as sentences, as the built-in
/// composer does), a subject only where the channel has one (required for
/// InMail), and the channel's length limits. Content over a limit is refused,
/// never cut: the caller falls back to the built-in composer. The error says why.
/// The result's `sample_type_used` is `basic`; the caller sets the type of the
/// sample the model was asked to follow.
pub fn check_external(
    style: &WritingStyle,
    value_propositions: &[ValueProposition],
    profile: &ProspectProfile,
    signals: &[ProspectSignal],
    channel: Channel,
    subject: Option<&str>,
    body: &str,
) -> Result<Composed, String> {
    let context = Context { profile, value_proposition: value_propositions.first() };
    let signal = signals.first();
    let value = |key: &str| context.value(key, signal);
    let fill_rules = |rules: &[String]| -> Vec<String> {
        rules
            .iter()
            .filter_map(|r| fill(r, &value).ok().map(|rich| rich.text.trim().to_owned()))
            .filter(|r| !r.is_empty())
            .collect()
    };
    let body = body.trim();
    if body.is_empty() {
        return Err("the body is empty".into());
    }
    let subject = match channel.subject_limit() {
        None => None,
        Some(limit) => match subject.map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")) {
            Some(s) if !s.is_empty() => {
                if char_len(&s) > limit {
                    return Err(format!("the subject has {} characters; the limit is {limit}", char_len(&s)));
                }
                Some(s)
            }
            _ => None,
        },
    };
    if channel.requires_subject() && subject.is_none() {
        return Err("the channel needs a subject and none was written".into());
    }
    let all = format!("{}\n{body}", subject.as_deref().unwrap_or(""));
    if all.contains("{{") || all.contains("}}") {
        return Err("the content holds an unfilled {{variable}}".into());
    }
    if let Some(phrase) = fill_rules(&style.exclude_rules).iter().find(|e| contains(&all, e)) {
        return Err(format!("the content contains the excluded phrase \"{phrase}\""));
    }
    let missing: Vec<String> =
        fill_rules(&style.include_rules).iter().filter(|i| !contains(body, i)).map(|i| as_sentence(i)).collect();
    let body = append(body, &missing);
    let limit = channel.body_limit();
    if char_len(&body) > limit {
        return Err(format!("the body has {} characters; the limit is {limit}", char_len(&body)));
    }
    Ok(Composed { subject, body, sample_type_used: SampleType::Basic })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;

    fn sample(t: SampleType, message: &str) -> Sample {
        Sample { sample_type: t, message: message.into(), subject: None, signal_tag: None }
    }

    fn tagged(tag: &str, message: &str) -> Sample {
        Sample { signal_tag: Some(tag.into()), ..sample(SampleType::Signal, message) }
    }

    fn style(content_type: ContentType, samples: Vec<Sample>) -> WritingStyle {
        WritingStyle {
            id: "ws".into(),
            group_id: "g".into(),
            name: "Style".into(),
            description: None,
            content_type,
            samples,
            include_rules: vec![],
            exclude_rules: vec![],
            use_strict_template: true,
            value_proposition_id: None,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    fn dm(samples: Vec<Sample>) -> WritingStyle {
        style(ContentType::DirectMessage, samples)
    }

    fn anna() -> ProspectProfile {
        ProspectProfile {
            first_name: Some("Anna".into()),
            last_name: Some("Schmidt".into()),
            company: Some("Acme Robotics".into()),
            title: Some("VP Engineering".into()),
            location: Some("Berlin".into()),
        }
    }

    fn signal(tag: &str, summary: &str) -> ProspectSignal {
        ProspectSignal { tag: tag.into(), summary: summary.into() }
    }

    fn run(
        style: &WritingStyle,
        profile: &ProspectProfile,
        signals: &[ProspectSignal],
    ) -> Result<Composed, DomainError> {
        compose(style, &[], profile, signals, Channel::DirectMessage)
    }

    #[test]
    fn fills_profile_variables_case_insensitively_with_spaces() {
        let s = dm(vec![sample(
            SampleType::Basic,
            "Hi {{FirstName}} {{ lastname }}, {{  TITLE  }} at {{ Company }} in {{ first_name }}'s {{Location}}.",
        )]);
        let out = run(&s, &anna(), &[]).unwrap();
        assert_eq!(out.body, "Hi Anna Schmidt, VP Engineering at Acme Robotics in Anna's Berlin.");
        assert_eq!(out.sample_type_used, SampleType::Basic);
        assert_eq!(out.subject, None);
    }

    #[test]
    fn prefers_the_signal_sample_matching_a_signal_tag() {
        let s = dm(vec![
            sample(SampleType::Basic, "Basic for {{ FirstName }}."),
            tagged("hiring", "Saw you are hiring: {{ Signal }}."),
            tagged("funding", "Congrats on {{ Signal }}!"),
            sample(SampleType::Fallback, "Fallback."),
        ]);
        let signals = [signal("Funding", "the Series B"), signal("hiring", "3 open roles")];
        let out = run(&s, &anna(), &signals).unwrap();
        // The prospect's first signal (funding) decides, even though the hiring sample comes first.
        assert_eq!(out.body, "Congrats on the Series B!");
        assert_eq!(out.sample_type_used, SampleType::Signal);
    }

    #[test]
    fn any_signal_sample_serves_a_prospect_with_an_unmatched_signal() {
        let s = dm(vec![
            sample(SampleType::Basic, "Basic."),
            tagged("hiring", "Tagged: {{ Signal }}."),
            sample(SampleType::Signal, "Untagged: {{ Signal }}."),
        ]);
        let out = run(&s, &anna(), &[signal("linkedin_posts", "your post on robotics")]).unwrap();
        assert_eq!(out.body, "Untagged: your post on robotics.");
        // Without an untagged one, a tagged signal sample still beats basic.
        let s = dm(vec![sample(SampleType::Basic, "Basic."), tagged("hiring", "Tagged: {{ Signal }}.")]);
        assert_eq!(run(&s, &anna(), &[signal("x", "news")]).unwrap().body, "Tagged: news.");
    }

    #[test]
    fn without_signals_basic_then_fallback() {
        let s = dm(vec![
            sample(SampleType::Signal, "Signal {{ Signal }}."),
            sample(SampleType::Fallback, "Hello there."),
            sample(SampleType::Basic, "Hi {{ FirstName }}."),
        ]);
        let out = run(&s, &anna(), &[]).unwrap();
        assert_eq!((out.body.as_str(), out.sample_type_used), ("Hi Anna.", SampleType::Basic));
        let nameless = ProspectProfile { first_name: Some("  ".into()), ..anna() };
        let out = run(&s, &nameless, &[]).unwrap();
        assert_eq!((out.body.as_str(), out.sample_type_used), ("Hello there.", SampleType::Fallback));
    }

    #[test]
    fn a_missing_variable_falls_back_signal_to_basic_to_fallback() {
        let s = dm(vec![
            sample(SampleType::Signal, "About {{ Signal }} at {{ Company }}."),
            sample(SampleType::Basic, "Hi {{ FirstName }} from {{ Company }}."),
            sample(SampleType::Fallback, "Hi {{ FirstName }}."),
        ]);
        let no_company = ProspectProfile { company: None, ..anna() };
        let out = run(&s, &no_company, &[signal("post", "your post")]).unwrap();
        assert_eq!((out.body.as_str(), out.sample_type_used), ("Hi Anna.", SampleType::Fallback));
        let out = run(&s, &anna(), &[signal("post", "your post")]).unwrap();
        assert_eq!(out.sample_type_used, SampleType::Signal);
    }

    #[test]
    fn nothing_fillable_is_a_422_naming_the_variables() {
        let s = dm(vec![
            sample(SampleType::Signal, "About {{ Signal }}."),
            sample(SampleType::Basic, "Hi {{ FirstName }} at {{ Company }}."),
            sample(SampleType::Fallback, "Hi {{ Nickname }}."),
        ]);
        let err = run(&s, &ProspectProfile { company: Some("Acme".into()), ..Default::default() }, &[]).unwrap_err();
        assert_eq!(err.status, 422);
        assert_eq!(err.code.as_str(), "VALIDATION_ERROR");
        assert!(err.message.contains("{{ FirstName }}"), "{}", err.message);
        assert!(err.message.contains("{{ Nickname }}"), "{}", err.message);
        // The signal sample is not even a candidate without signals.
        assert!(!err.message.contains("{{ Signal }}"), "{}", err.message);
        assert!(err.details.unwrap().contains("samples[1] (basic)"));
    }

    #[test]
    fn unknown_and_unclosed_variables_never_leak() {
        let s = dm(vec![
            sample(SampleType::Basic, "Hi {{ Unknown }}."),
            sample(SampleType::Basic, "Hi {{ FirstName"),
            sample(SampleType::Fallback, "Hi {{FirstName}}, {{ }}."),
        ]);
        let err = run(&s, &anna(), &[]).unwrap_err();
        assert_eq!(err.status, 422);
        assert!(err.details.unwrap().contains("never closed"));
    }

    #[test]
    fn values_cannot_inject_variables_or_break_lines() {
        let s = dm(vec![sample(SampleType::Basic, "Hi {{ FirstName }} of {{ Company }}.")]);
        let sneaky =
            ProspectProfile { first_name: Some("{{ Signal }}".into()), company: Some("Acme\n\nInc".into()), ..anna() };
        let out = run(&s, &sneaky, &[]).unwrap();
        assert_eq!(out.body, "Hi Signal of Acme Inc.");
    }

    #[test]
    fn signal_anonym_softens_without_naming_the_source() {
        let s = dm(vec![sample(SampleType::Signal, "I enjoyed {{ Signal_anonym }}. {{ signal anonym }}?")]);
        let out = run(&s, &anna(), &[signal("linkedin_posts", "Your LinkedIn post about Rust")]).unwrap();
        assert_eq!(out.body, "I enjoyed something you shared recently. something you shared recently?");
        assert!(!out.body.contains("LinkedIn"));
        assert_eq!(anonymize_signal("job_changes"), "your recent move");
        assert_eq!(anonymize_signal("linkedin_comments"), "a conversation you joined recently");
        assert_eq!(anonymize_signal("hiring"), "how your team is growing");
        assert_eq!(anonymize_signal("funding"), "an exciting milestone for your company");
        assert_eq!(anonymize_signal("company_news"), "what's been happening at your company lately");
        assert_eq!(anonymize_signal("weird"), "something you've been working on recently");
    }

    #[test]
    fn value_proposition_variables() {
        let vp = ValueProposition {
            id: "vp".into(),
            group_id: "g".into(),
            name: "Faster hiring".into(),
            description: None,
            values: vec!["cut time-to-hire by half".into()],
            challenges: vec!["slow pipelines".into()],
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        };
        let s = dm(vec![sample(SampleType::Basic, "{{ ValueProposition }}: we {{ Value }} and fix {{ Challenge }}.")]);
        let out = compose(&s, std::slice::from_ref(&vp), &anna(), &[], Channel::DirectMessage).unwrap();
        assert_eq!(out.body, "Faster hiring: we cut time-to-hire by half and fix slow pipelines.");
        assert!(compose(&s, &[], &anna(), &[], Channel::DirectMessage).is_err());
    }

    #[test]
    fn exclude_rules_remove_whole_sentences() {
        let mut s = dm(vec![sample(
            SampleType::Basic,
            "Hi {{ FirstName }},\nWe cut costs. Our PRICING is great! Want a demo?\n\nBest,\nSam",
        )]);
        s.exclude_rules = vec!["pricing".into()];
        let out = run(&s, &anna(), &[]).unwrap();
        assert_eq!(out.body, "Hi Anna,\nWe cut costs. Want a demo?\n\nBest,\nSam");
        // Removing a paragraph's last sentence keeps the paragraph break.
        s.exclude_rules = vec!["demo".into()];
        assert_eq!(run(&s, &anna(), &[]).unwrap().body, "Hi Anna,\nWe cut costs. Our PRICING is great!\n\nBest,\nSam");
    }

    #[test]
    fn exclude_rules_apply_to_filled_values_and_can_exhaust_a_sample() {
        let mut s = dm(vec![
            sample(SampleType::Signal, "Congrats on {{ Signal }}."),
            sample(SampleType::Basic, "Hi {{ FirstName }}. Congrats anyway."),
        ]);
        s.exclude_rules = vec!["series b".into()];
        let out = run(&s, &anna(), &[signal("funding", "the Series B")]).unwrap();
        assert_eq!((out.body.as_str(), out.sample_type_used), ("Hi Anna. Congrats anyway.", SampleType::Basic));
    }

    #[test]
    fn periods_inside_values_do_not_split_sentences() {
        let mut s = dm(vec![sample(SampleType::Signal, "Loved this: {{ Signal }} Keep going. Cheap plug.")]);
        s.exclude_rules = vec!["plug".into()];
        let out = run(&s, &anna(), &[signal("post", "Rust 2.0 ships. Wow. Really.")]).unwrap();
        assert_eq!(out.body, "Loved this: Rust 2.0 ships. Wow. Really. Keep going.");
    }

    #[test]
    fn include_rules_are_appended_when_missing() {
        let mut s = dm(vec![sample(SampleType::Basic, "Hi {{ FirstName }}, quick question")]);
        s.include_rules =
            vec!["Happy to share a case study".into(), "quick question".into(), "see you, {{ FirstName }}".into()];
        let out = run(&s, &anna(), &[]).unwrap();
        assert_eq!(out.body, "Hi Anna, quick question. Happy to share a case study. See you, Anna.");
        let multi = dm(vec![sample(SampleType::Basic, "Hi,\nThanks!")]);
        let mut multi = multi;
        multi.include_rules = vec!["no pressure".into()];
        assert_eq!(run(&multi, &anna(), &[]).unwrap().body, "Hi,\nThanks!\nNo pressure.");
    }

    #[test]
    fn contradictory_rules_fail_the_sample() {
        let mut s = dm(vec![sample(SampleType::Basic, "Hi.")]);
        s.include_rules = vec!["book a call".into()];
        s.exclude_rules = vec!["call".into()];
        let err = run(&s, &anna(), &[]).unwrap_err();
        assert!(err.details.unwrap().contains("contains the excluded phrase"));
    }

    #[test]
    fn connection_requests_fit_300_characters_at_a_sentence_end() {
        let first = format!("Hi {{{{ FirstName }}}}, {}.", "a".repeat(200));
        let message = format!("{first} {}.", "b ".repeat(100).trim_end());
        let s = style(ContentType::ConnectionRequest, vec![sample(SampleType::Basic, &message)]);
        let out = compose(&s, &[], &anna(), &[], Channel::ConnectionRequest).unwrap();
        assert!(out.body.chars().count() <= 300);
        assert_eq!(out.body, format!("Hi Anna, {}.", "a".repeat(200)));
    }

    #[test]
    fn word_cut_with_ellipsis_never_splits_a_value() {
        // One long sentence: no sentence end fits, so the cut is at a word boundary.
        let message = format!("{} {{{{ Company }}}} tail", "word ".repeat(57).trim_end());
        let s = style(ContentType::ConnectionRequest, vec![sample(SampleType::Basic, &message)]);
        let company = ProspectProfile { company: Some("Acme Robotics International".into()), ..anna() };
        let out = compose(&s, &[], &company, &[], Channel::ConnectionRequest).unwrap();
        assert!(out.body.chars().count() <= 300, "{}", out.body.chars().count());
        assert!(out.body.ends_with('…'));
        // 57 words of 5 chars = 285; the company (27 chars) would cross 300, so it is left out whole.
        assert!(!out.body.contains("Acme"), "{}", out.body);
        assert!(out.body.ends_with("word…"));
    }

    #[test]
    fn limits_per_channel() {
        let long = "Lorem ipsum dolor sit amet. ".repeat(400);
        for (channel, content_type, limit) in [
            (Channel::ConnectionRequest, ContentType::ConnectionRequest, 300),
            (Channel::DirectMessage, ContentType::DirectMessage, 8_000),
            (Channel::InMail, ContentType::InMail, 1_900),
            (Channel::Comment, ContentType::Comment, 1_250),
            (Channel::Email, ContentType::Email, 10_000),
        ] {
            let mut sample = sample(SampleType::Basic, &long);
            sample.subject = Some(format!("Subject {}", "x ".repeat(150)));
            let mut s = style(content_type, vec![sample]);
            s.include_rules = vec!["Reply STOP to opt out".into()];
            let out = compose(&s, &[], &anna(), &[], channel).unwrap();
            let n = out.body.chars().count();
            assert!(n <= limit && n > limit / 2, "{channel:?}: {n}");
            assert!(out.body.ends_with("Reply STOP to opt out."), "{channel:?}");
            match channel.subject_limit() {
                Some(max) => assert!(out.subject.as_ref().unwrap().chars().count() <= max),
                None => assert!(out.subject.is_none()),
            }
        }
        assert_eq!(Channel::InMail.subject_limit(), Some(200));
    }

    #[test]
    fn include_rules_that_cannot_fit_fail() {
        let mut s = style(ContentType::ConnectionRequest, vec![sample(SampleType::Basic, "Hi.")]);
        s.include_rules = vec!["x".repeat(299)];
        let err = compose(&s, &[], &anna(), &[], Channel::ConnectionRequest).unwrap_err();
        assert!(err.details.unwrap().contains("length limit"));
    }

    #[test]
    fn inmail_needs_a_subject_and_fills_it() {
        let mut with_subject = sample(SampleType::Basic, "Hi {{ FirstName }}.");
        with_subject.subject = Some("Idea for {{ Company }}".into());
        let s = style(ContentType::DirectMessageInMail, vec![sample(SampleType::Basic, "No subject."), with_subject]);
        let out = compose(&s, &[], &anna(), &[], Channel::InMail).unwrap();
        assert_eq!(out.subject.as_deref(), Some("Idea for Acme Robotics"));
        assert_eq!(out.body, "Hi Anna.");
        // A direct message has no subject, so the first sample serves.
        let out = compose(&s, &[], &anna(), &[], Channel::DirectMessage).unwrap();
        assert_eq!((out.subject, out.body.as_str()), (None, "No subject."));
        let only_plain = style(ContentType::InMail, vec![sample(SampleType::Basic, "No subject.")]);
        let err = compose(&only_plain, &[], &anna(), &[], Channel::InMail).unwrap_err();
        assert!(err.details.unwrap().contains("subject"));
    }

    #[test]
    fn external_content_follows_the_same_rules() {
        let mut s = dm(vec![sample(SampleType::Basic, "Hi {{ FirstName }}.")]);
        s.include_rules = vec!["Reply STOP to opt out".into()];
        s.exclude_rules = vec!["pricing".into()];
        let check = |s: &WritingStyle, channel, subject: Option<&str>, body: &str| {
            check_external(s, &[], &anna(), &[], channel, subject, body)
        };
        let ok = check(&s, Channel::DirectMessage, Some("ignored"), "  Hi Anna, loved your post.  ").unwrap();
        assert_eq!(ok.body, "Hi Anna, loved your post. Reply STOP to opt out.");
        assert_eq!(ok.subject, None, "direct messages have no subject");
        assert!(check(&s, Channel::DirectMessage, None, " ").unwrap_err().contains("empty"));
        assert!(check(&s, Channel::DirectMessage, None, "Hi {{ FirstName }}").unwrap_err().contains("unfilled"));
        assert!(check(&s, Channel::DirectMessage, None, "Our Pricing is great").unwrap_err().contains("excluded"));
        let long = "é".repeat(8_001);
        assert!(check(&s, Channel::DirectMessage, None, &long).unwrap_err().contains("8000"));
        let inmail = style(ContentType::InMail, vec![sample(SampleType::Basic, "x")]);
        assert!(check(&inmail, Channel::InMail, None, "Body").unwrap_err().contains("subject"));
        assert!(check(&inmail, Channel::InMail, Some(&"s".repeat(201)), "Body").unwrap_err().contains("subject"));
        let good = check(&inmail, Channel::InMail, Some(" Idea \n for Zoë "), "Body").unwrap();
        assert_eq!(good.subject.as_deref(), Some("Idea for Zoë"));
        let note = style(ContentType::ConnectionRequest, vec![sample(SampleType::Basic, "x")]);
        assert!(check(&note, Channel::ConnectionRequest, None, &"ü".repeat(300)).is_ok());
        assert!(check(&note, Channel::ConnectionRequest, None, &"ü".repeat(301)).is_err());
    }

    #[test]
    fn channel_must_match_the_content_type() {
        let s = style(ContentType::ConnectionRequest, vec![sample(SampleType::Basic, "Hi.")]);
        let err = compose(&s, &[], &anna(), &[], Channel::InMail).unwrap_err();
        assert_eq!(err.status, 422);
        assert_eq!(err.fields[0].field, "channel");
        assert!(ContentType::DirectMessageInMail.allows(Channel::DirectMessage));
        assert!(ContentType::DirectMessageInMail.allows(Channel::InMail));
        assert!(!ContentType::DirectMessageInMail.allows(Channel::Email));
    }

    #[test]
    fn deterministic() {
        let mut s = dm(vec![
            tagged("funding", "Congrats on {{ Signal }}, {{ FirstName }}! Saw {{ Signal_anonym }}."),
            sample(SampleType::Basic, "Hi {{ FirstName }}."),
        ]);
        s.include_rules = vec!["Worth a chat?".into()];
        s.exclude_rules = vec!["nothing".into()];
        let signals = [signal("hiring", "roles"), signal("funding", "your raise")];
        let first = run(&s, &anna(), &signals).unwrap();
        for _ in 0..20 {
            assert_eq!(run(&s, &anna(), &signals).unwrap(), first);
        }
        assert_eq!(
            first.body,
            "Congrats on your raise, Anna! Saw an exciting milestone for your company. Worth a chat?"
        );
    }

    #[test]
    fn adversarial_inputs_stay_fast() {
        // 50 samples that all fail late, long rules that almost match everywhere.
        let text = format!("{} {{{{ Nickname }}}}", "a".repeat(7_900));
        let mut s = dm(vec![sample(SampleType::Basic, &text); 50]);
        s.exclude_rules = vec![format!("{}b", "a".repeat(499)); 50];
        s.include_rules = vec![format!("{}c", "a".repeat(499)); 50];
        let started = std::time::Instant::now();
        assert!(run(&s, &anna(), &[]).is_err());
        let mut s = dm(vec![sample(SampleType::Basic, &format!("{}.", "aaaa. ".repeat(1_300)))]);
        s.exclude_rules = vec!["b".into(); 50];
        s.include_rules = (0..50).map(|i| format!("rule {i}")).collect();
        assert!(run(&s, &anna(), &[]).is_ok());
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    }

    #[test]
    fn case_insensitive_search_handles_unicode() {
        assert_eq!(find_all("Grüße an ÄRZTE", "ärzte"), vec![(11, 17)]);
        assert_eq!(find_all("İx İX", "i̇x"), vec![]);
        assert_eq!(find_all("aXa xA", "xa"), vec![(1, 3), (4, 6)]);
        assert!(contains("Hello WORLD", "world") && !contains("Hello", ""));
        assert!(find_all("abc", "").is_empty());
        assert!(find_all("ab", "abc").is_empty());
    }
}
