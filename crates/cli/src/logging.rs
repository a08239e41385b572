//! The log output on stderr: one line per event that nobody can forge.
//!
//! Field values and messages carry user and provider text (ids, names, error
//! texts quoting an upstream answer). In the human format a line feed inside
//! such a value would start a line of its own that looks like one of ours, and
//! an escape sequence would reach the terminal; [`EscapedFields`] writes every
//! control character (C0, DEL, C1, and the Unicode line and paragraph
//! separators) as an escape (`\n`, `\u{1b}`) instead. In the JSON format
//! serde already escapes strings, but tracing flattens an event's fields into
//! the line, so a field named like the message (`message`) or like the line's
//! own keys would appear twice; [`OneKeyJson`] renames the later ones
//! (`message_2`), so every key, `message` included, appears once per line.

use super::LogFormat;
use std::fmt::{self, Write as _};
use tracing::field::{Field, Visit};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{Format, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// The log filter when `RUST_LOG` is unset or unparsable.
const DEFAULT_FILTER: &str = "info,sqlx=warn";

/// Installs the process's subscriber.
pub fn init(format: LogFormat, ansi: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    tracing::subscriber::set_global_default(subscriber(format, filter, std::io::stderr, ansi))
        .expect("the log subscriber is installed once");
}

/// The subscriber writing `format` to `writer` (tests capture it).
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    match format {
        LogFormat::Human => Box::new(builder.with_ansi(ansi).fmt_fields(EscapedFields).finish()),
        LogFormat::Json => Box::new(
            builder
                .with_ansi(false)
                .fmt_fields(JsonFields::new())
                .event_format(OneKeyJson(tracing_subscriber::fmt::format().json().flatten_event(true)))
                .finish(),
        ),
    }
}

/// Human fields: the message first, then `name=value`, every value escaped.
pub struct EscapedFields;

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = EscapingVisitor { writer, first: true, message_written: false, result: Ok(()) };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct EscapingVisitor<'writer> {
    writer: Writer<'writer>,
    first: bool,
    /// The event's message is written bare; a later field of that name is named.
    message_written: bool,
    result: fmt::Result,
}

impl Visit for EscapingVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        let text = escape_controls(&format!("{value:?}"));
        let separator = if self.first { "" } else { " " };
        self.first = false;
        let name = field.name();
        self.result = match name {
            "message" if !self.message_written => {
                self.message_written = true;
                write!(self.writer, "{separator}{text}")
            }
            name => write!(self.writer, "{separator}{}={text}", name.strip_prefix("r#").unwrap_or(name)),
        };
    }
}

/// `text` with every control character (and U+2028, U+2029) written as an escape.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// tracing-subscriber's flattened JSON line with each key once: a later key
/// equal to an earlier one (the event's own `message` comes first) is renamed
/// `key_2`, `key_3`, ….
pub struct OneKeyJson(pub Format<Json>);

impl<S, N> FormatEvent<S, N> for OneKeyJson
where
    S: tracing::Subscriber + for<'lookup> LookupSpan<'lookup>,
    N: for<'writer> FormatFields<'writer> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        writer.write_str(&unique_keys(&line))
    }
}

/// `line` (one JSON object and a line feed) with repeated top-level keys renamed.
fn unique_keys(line: &str) -> String {
    let Ok(Pairs(pairs)) = serde_json::from_str::<Pairs>(line) else { return line.to_owned() };
    let mut seen = std::collections::HashSet::new();
    if pairs.iter().all(|(key, _)| seen.insert(key.as_str())) {
        return line.to_owned();
    }
    let mut taken: std::collections::HashSet<String> = pairs.iter().map(|(key, _)| key.clone()).collect();
    let mut written = std::collections::HashSet::new();
    let mut object = String::from("{");
    for (key, value) in &pairs {
        let key = if written.contains(key.as_str()) {
            let renamed = (2..).map(|n| format!("{key}_{n}")).find(|k| !taken.contains(k)).unwrap_or_default();
            taken.insert(renamed.clone());
            renamed
        } else {
            key.clone()
        };
        if object.len() > 1 {
            object.push(',');
        }
        object.push_str(&serde_json::Value::String(key.clone()).to_string());
        object.push(':');
        object.push_str(&value.to_string());
        written.insert(key);
    }
    object.push_str("}\n");
    object
}

/// A JSON object's members in order, duplicates kept.
struct Pairs(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Pairs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> serde::de::Visitor<'de> for PairsVisitor {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A `MakeWriter` collecting everything written.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// What `format` writes for the events `emit` logs.
    fn capture(format: LogFormat, ansi: bool, emit: impl FnOnce()) -> String {
        let out = Captured::default();
        let subscriber = subscriber(format, EnvFilter::new("info"), out.clone(), ansi);
        tracing::subscriber::with_default(subscriber, emit);
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    const FORGED: &str = "lst_1\n2026-06-03T10:00:00Z  INFO sonarly_api: request status=200 \u{1b}[2J\u{2028}";

    fn forging_events() {
        let id = FORGED;
        tracing::info!(lead_list = id, "starting");
        tracing::info!(lead_list = %id, error = ?id, "failed for {id}");
        let message = format!("lead list {id} not found");
        tracing::warn!(job = "job_1", code = "NOT_FOUND", message, "prospecting job failed");
        let span = tracing::info_span!("upstream", token = %id);
        span.in_scope(|| tracing::info!("inside"));
    }

    #[test]
    fn human_lines_cannot_be_forged_by_field_values_or_messages() {
        for ansi in [false, true] {
            let out = capture(LogFormat::Human, ansi, forging_events);
            assert_eq!(out.lines().count(), 4, "one line per event:\n{out}");
            assert!(!out.contains('\u{1b}') || ansi, "no escape sequence from a value reaches the terminal:\n{out}");
            assert!(!out.contains("\u{1b}[2J") && !out.contains('\u{2028}'), "{out}");
            assert!(out.contains(r"lst_1\n2026-06-03T10:00:00Z"), "line feeds are written as \\n:\n{out}");
            assert!(out.contains(r"\u{1b}[2J"), "{out}");
            assert!(
                out.contains(r#"prospecting job failed job="job_1" code="NOT_FOUND" message=lead list lst_1\n"#),
                "{out}"
            );
        }
    }

    #[test]
    fn json_lines_hold_each_key_once_and_the_message_is_the_events() {
        let out = capture(LogFormat::Json, false, forging_events);
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        for line in &lines {
            let Pairs(pairs) = serde_json::from_str(line).unwrap();
            let mut keys: Vec<_> = pairs.iter().map(|(k, _)| k.clone()).collect();
            let count = keys.len();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), count, "a key repeats: {line}");
        }
        let failed: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
        assert_eq!(failed["message"], "prospecting job failed");
        assert_eq!(failed["message_2"], format!("lead list {FORGED} not found"));
        assert_eq!(failed["code"], "NOT_FOUND");
        let inside: serde_json::Value = serde_json::from_str(lines[3]).unwrap();
        assert_eq!(inside["span"]["token"], FORGED, "span fields survive: {}", lines[3]);
    }

    #[test]
    fn lines_without_repeated_keys_are_left_as_written() {
        let line = "{\"b\":1,\"a\":{\"z\":1,\"y\":2}}\n";
        assert_eq!(unique_keys(line), line);
        assert_eq!(unique_keys("{\"m\":1,\"m\":2,\"m_2\":3}\n"), "{\"m\":1,\"m_3\":2,\"m_2\":3}\n");
    }

    #[test]
    fn escapes_cover_every_control_character() {
        assert_eq!(escape_controls("a\tb\r\n\u{0}\u{7f}\u{85}é"), r"a\tb\r\n\u{0}\u{7f}\u{85}é");
    }
}
