//! serde's error messages, rewritten for API clients: they say what the field
//! must be in JSON terms ("a non-negative integer", "an object") and never
//! name a Rust type (`u32`, `struct CreateFolderBody`, `enum Channel`).

/// A field problem in client terms: `subfield` is set when the message is
/// about a field below the failing path (a missing or unknown field).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Humanized {
    pub subfield: Option<String>,
    pub message: String,
}

/// The message for a field the body's type does not have.
pub(crate) const UNKNOWN_FIELD: &str = "is not a known field";

/// Rewrites one serde error message (without its " at line … column …").
pub(crate) fn humanize(message: &str) -> Humanized {
    let plain = |message: String| Humanized { subfield: None, message };
    let about =
        |field: &str, message: &str| Humanized { subfield: Some(field.to_owned()), message: message.to_owned() };
    if let Some(field) = quoted_after(message, "missing field ") {
        return about(field, "is required");
    }
    if let Some(field) = quoted_after(message, "unknown field ") {
        return about(field, UNKNOWN_FIELD);
    }
    if let Some(field) = quoted_after(message, "duplicate field ") {
        return about(field, "is given more than once");
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (given, allowed) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let allowed = allowed.strip_prefix("one of ").unwrap_or(allowed);
        return plain(if allowed.is_empty() || allowed.starts_with("there are no") {
            format!("has no accepted value (got {given})")
        } else {
            format!("must be one of {allowed} (got {given})")
        });
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.split_once(", expected ")
        {
            return plain(format!("must be {} (got {})", expected_text(expected), found_text(found)));
        }
    }
    if let Some(rest) = message.strip_prefix("invalid length ")
        && let Some((length, expected)) = rest.split_once(", expected ")
    {
        return plain(format!("must have {} (got {length})", length_text(expected)));
    }
    if message.starts_with("data did not match any variant") {
        return plain("does not match any accepted form".into());
    }
    // A message written by one of our own deserializers: already for clients,
    // unless it slipped a Rust name in.
    plain(if names_rust(message) { "is not valid".into() } else { message.to_owned() })
}

/// The text between the backquotes right after `prefix`.
fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.split_once('`').map(|(name, _)| name)
}

/// serde's "expected …" (a Rust type or a visitor's words) in JSON terms.
fn expected_text(expected: &str) -> String {
    let text = match expected {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a non-negative integer",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer",
        "f32" | "f64" => "a number",
        "a string" | "a borrowed string" | "string" | "a character" | "char" => "a string",
        "a boolean" | "bool" => "true or false",
        "unit" | "null" => "null",
        "a sequence" | "a tuple" | "tuple" => "an array",
        "a map" | "map" | "an object" => "an object",
        other if other.starts_with("struct ") => "an object",
        other if other.starts_with("tuple") || other.starts_with("a tuple") => "an array",
        other if other.contains("enum ") || other.starts_with("variant") => "one of the accepted values",
        other if names_rust(other) => "a valid value",
        other => return other.to_owned(),
    };
    text.to_owned()
}

/// serde's `Unexpected` (what the input held) in JSON terms.
fn found_text(found: &str) -> String {
    let number = |prefix: &str| found.strip_prefix(prefix).map(|n| n.trim_matches('`').to_owned());
    if let Some(n) = number("integer ").or_else(|| number("floating point ")) {
        return n;
    }
    let text = match found {
        "sequence" => "an array",
        "map" => "an object",
        "unit value" | "null" | "Option value" => "null",
        other if other.starts_with("boolean ") => other.trim_start_matches("boolean ").trim_matches('`'),
        other if other.starts_with("string ") || other.starts_with("character ") => "a string",
        _ => "another type",
    };
    text.to_owned()
}

/// "struct X with 2 elements", "a tuple of size 2", "2 elements", "an array of length 3" in JSON terms.
fn length_text(expected: &str) -> String {
    let count = expected.split_whitespace().find_map(|word| word.parse::<usize>().ok());
    match count {
        Some(1) => "1 element".into(),
        Some(n) => format!("{n} elements"),
        None if names_rust(expected) => "a different number of elements".into(),
        None => expected.to_owned(),
    }
}

/// Whether `text` names a Rust type: a path (`a::B`), a struct or enum, or a primitive.
fn names_rust(text: &str) -> bool {
    const PRIMITIVES: [&str; 14] =
        ["u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64"];
    text.contains("::")
        || text.contains("struct ")
        || text.contains("enum ")
        || text.split(|c: char| !c.is_ascii_alphanumeric()).any(|word| PRIMITIVES.contains(&word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(raw: &str) -> String {
        humanize(raw).message
    }

    #[test]
    fn missing_unknown_and_duplicate_fields_name_the_field() {
        assert_eq!(
            humanize("missing field `name`"),
            Humanized { subfield: Some("name".into()), message: "is required".into() }
        );
        assert_eq!(humanize("unknown field `nmae`, expected `name` or `type`").subfield.as_deref(), Some("nmae"));
        assert_eq!(humanize("duplicate field `name`").message, "is given more than once");
    }

    #[test]
    fn types_are_said_in_json_terms() {
        let cases = [
            ("invalid type: floating point `5.5`, expected u32", "must be a non-negative integer (got 5.5)"),
            ("invalid value: integer `-1`, expected u32", "must be a non-negative integer (got -1)"),
            ("invalid type: sequence, expected struct CreateFolderBody", "must be an object (got an array)"),
            ("invalid type: sequence, expected an object", "must be an object (got an array)"),
            ("invalid type: string \"ten\", expected i64", "must be an integer (got a string)"),
            ("invalid type: map, expected a string", "must be a string (got an object)"),
            ("invalid type: null, expected a sequence", "must be an array (got null)"),
            ("invalid type: boolean `true`, expected f64", "must be a number (got true)"),
            ("invalid type: integer `3`, expected enum Channel", "must be one of the accepted values (got 3)"),
            ("invalid type: integer `3`, expected a boolean", "must be true or false (got 3)"),
            ("invalid length 1, expected struct Pair with 2 elements", "must have 2 elements (got 1)"),
            ("unknown variant `x`, expected one of `a`, `b`", "must be one of `a`, `b` (got `x`)"),
            ("unknown variant `x`, expected `a`", "must be one of `a` (got `x`)"),
            ("data did not match any variant of untagged enum Either", "does not match any accepted form"),
            ("must be an https URL", "must be an https URL"),
            ("expected sonarly_domain::Foo", "is not valid"),
        ];
        for (raw, expected) in cases {
            assert_eq!(message(raw), expected, "{raw}");
        }
    }

    #[test]
    fn no_rewritten_message_names_a_rust_type() {
        for raw in [
            "invalid type: sequence, expected struct X",
            "invalid type: string \"a\", expected u64",
            "invalid value: integer `300`, expected u8",
            "invalid type: map, expected tuple struct T",
            "invalid type: unit value, expected i32",
            "invalid length 0, expected tuple struct T with 3 elements",
        ] {
            let text = message(raw);
            assert!(!names_rust(&text), "{raw} → {text}");
        }
    }
}
