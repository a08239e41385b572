//! Comparing a real answer with the one the README shows. The rules are
//! described in the module doc of `main.rs`; this file implements them.

use serde_json::Value;

/// A bare `…` in value position: any value.
const ANY: &str = "\u{1}any";
/// A bare `…` among an object's members: other members may follow.
const MORE: &str = "\u{1}more";
/// A bare `…` as an array's last element: more elements may follow.
const REST: &str = "\u{1}rest";

fn ellipsis_at(chars: &[char], i: usize) -> Option<usize> {
    if chars[i] == '…' {
        Some(1)
    } else if chars[i..].starts_with(&['.', '.', '.']) {
        Some(3)
    } else {
        None
    }
}

/// Parses a README JSON answer, turning the bare ellipses (outside strings)
/// into markers.
pub fn parse_expected(text: &str) -> Result<Value, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut stack: Vec<char> = Vec::new();
    let mut last = ' ';
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
                last = '"';
            }
            i += 1;
            continue;
        }
        if let Some(len) = ellipsis_at(&chars, i) {
            let marker = match (last, stack.last()) {
                (':', _) => format!("\"{}\"", escape(ANY)),
                ('{' | ',', Some('{')) => format!("\"{}\":null", escape(MORE)),
                ('[' | ',', Some('[')) => format!("\"{}\"", escape(REST)),
                _ => return Err(format!("an ellipsis at character {i} is neither a value, a member nor an element")),
            };
            out.push_str(&marker);
            last = '"';
            i += len;
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => stack.push(c),
            '}' | ']' => {
                stack.pop();
            }
            _ => {}
        }
        if !c.is_whitespace() {
            last = c;
        }
        out.push(c);
        i += 1;
    }
    serde_json::from_str(&out).map_err(|e| format!("the README's JSON does not parse: {e}"))
}

fn escape(marker: &str) -> String {
    marker.replace('\u{1}', "\\u0001")
}

/// Every difference between `expected` (from [`parse_expected`]) and `actual`,
/// each as "path: what".
pub fn compare(expected: &Value, actual: &Value) -> Vec<String> {
    let mut out = Vec::new();
    compare_at("$", expected, actual, &mut out);
    out
}

fn compare_at(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::String(e), _) if e == ANY => {}
        (Value::Object(e), Value::Object(a)) => {
            let open = e.contains_key(MORE);
            for (key, value) in e.iter().filter(|(k, _)| *k != MORE) {
                match a.get(key) {
                    Some(actual) => compare_at(&format!("{path}.{key}"), value, actual, out),
                    None => out.push(format!("{path}.{key}: missing from the answer")),
                }
            }
            if !open {
                for key in a.keys().filter(|k| !e.contains_key(*k)) {
                    out.push(format!("{path}.{key}: in the answer but not in the README"));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            let rest = e.last().is_some_and(|v| v.as_str() == Some(REST));
            let shown = if rest { &e[..e.len() - 1] } else { &e[..] };
            let fits = if rest { a.len() >= shown.len() } else { a.len() == shown.len() };
            if !fits {
                let at_least = if rest { "at least " } else { "" };
                out.push(format!("{path}: expected {at_least}{} elements, got {}", shown.len(), a.len()));
            }
            for (i, (e, a)) in shown.iter().zip(a).enumerate() {
                compare_at(&format!("{path}[{i}]"), e, a, out);
            }
        }
        (Value::String(e), Value::String(a)) => {
            if !string_matches(e, a) {
                out.push(format!("{path}: expected {expected}, got {actual}"));
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            if e.as_f64() != a.as_f64() {
                out.push(format!("{path}: expected {e}, got {a}"));
            }
        }
        (e, a) if e == a => {}
        (e, a) => out.push(format!("{path}: expected {e}, got {a}")),
    }
}

/// A 24-hex-digit id, as the product writes them.
fn is_hex_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && s.ends_with('Z')
        && (b.len() == 20 || (b[19] == b'.' && digits(20..b.len() - 1) && b.len() > 21))
}

/// A README string against the real one: ids and timestamps match any id or
/// timestamp; a string with ellipses is a glob; anything else is literal.
pub fn string_matches(pattern: &str, actual: &str) -> bool {
    if is_hex_id(pattern) {
        return is_hex_id(actual);
    }
    if is_timestamp(pattern) {
        return is_timestamp(actual);
    }
    let tokens = tokenize(pattern, false);
    if !tokens.contains(&Token::Any) {
        return pattern == actual;
    }
    if let Some(Token::Lit(head)) = tokens.first() {
        if head.bytes().all(|b| b.is_ascii_hexdigit()) && tokens.len() == 2 {
            return is_hex_id(actual); // "6b09…": an id
        }
        if head.len() >= 5 && head[..4].bytes().all(|b| b.is_ascii_digit()) && head.as_bytes()[4] == b'-' {
            return is_timestamp(actual); // "2026-…Z": a timestamp
        }
    }
    glob(&tokens, actual)
}

/// A line of the README's text answers (stdout, headers): `…`, `...` and
/// `<placeholder>` match any text; with `digits`, every run of digits matches
/// any run of digits.
pub fn line_matches(pattern: &str, actual: &str, digits: bool) -> bool {
    glob(&tokenize(pattern, digits), actual)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Lit(String),
    Any,
    Digits,
}

fn tokenize(pattern: &str, digits: bool) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    let flush = |lit: &mut String, tokens: &mut Vec<Token>| {
        if !lit.is_empty() {
            tokens.push(Token::Lit(std::mem::take(lit)));
        }
    };
    while i < chars.len() {
        if let Some(len) = ellipsis_at(&chars, i) {
            flush(&mut lit, &mut tokens);
            tokens.push(Token::Any);
            i += len;
        } else if chars[i] == '<'
            && let Some(end) = chars[i..].iter().position(|c| *c == '>')
            && end > 1
        {
            flush(&mut lit, &mut tokens);
            tokens.push(Token::Any);
            i += end + 1;
        } else if digits && chars[i].is_ascii_digit() {
            flush(&mut lit, &mut tokens);
            tokens.push(Token::Digits);
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
        } else {
            lit.push(chars[i]);
            i += 1;
        }
    }
    flush(&mut lit, &mut tokens);
    tokens
}

fn glob(tokens: &[Token], actual: &str) -> bool {
    match tokens.split_first() {
        None => actual.is_empty(),
        Some((Token::Lit(lit), rest)) => actual.strip_prefix(lit.as_str()).is_some_and(|tail| glob(rest, tail)),
        Some((Token::Digits, rest)) => {
            let n = actual.bytes().take_while(u8::is_ascii_digit).count();
            n > 0 && glob(rest, &actual[n..])
        }
        Some((Token::Any, rest)) => {
            actual.char_indices().map(|(i, _)| i).chain([actual.len()]).any(|i| glob(rest, &actual[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn diff(expected: &str, actual: Value) -> Vec<String> {
        compare(&parse_expected(expected).unwrap(), &actual)
    }

    #[test]
    fn literal_values_keys_and_lengths_must_match() {
        assert!(diff(r#"{"a":"queued","n":1.0,"b":null}"#, json!({"a":"queued","n":1,"b":null})).is_empty());
        assert_eq!(diff(r#"{"a":"queued"}"#, json!({"a":"sent"})), [r#"$.a: expected "queued", got "sent""#]);
        assert_eq!(
            diff(r#"{"status":"x"}"#, json!({"state":"x"})),
            ["$.status: missing from the answer", "$.state: in the answer but not in the README"]
        );
        assert_eq!(diff(r#"[1,2]"#, json!([1])).len(), 1);
        assert_eq!(diff(r#"{"a":1}"#, json!({"a":"1"})).len(), 1);
    }

    #[test]
    fn ellipses_open_objects_arrays_and_values() {
        assert!(diff(r#"{"a":1,…}"#, json!({"a":1,"b":2})).is_empty());
        assert!(diff(r#"{"a":…}"#, json!({"a":[1]})).is_empty());
        assert!(diff(r#"[{"a":1},…]"#, json!([{"a":1},{"z":0}])).is_empty());
        assert_eq!(diff(r#"[{"a":1},…]"#, json!([])).len(), 1);
        assert!(diff(r#"{"a":[…]}"#, json!({"a":[]})).is_empty());
        assert!(diff(r#"{"t":"trace_01...","u":"a...b"}"#, json!({"t":"trace_01XYZ","u":"a-b"})).is_empty());
    }

    #[test]
    fn ids_timestamps_and_globs_are_wildcards_of_their_kind() {
        assert!(string_matches("69f495c0a1b2c3d4e5f60718", "6b0c932f0d41a9121c2137d9"));
        assert!(string_matches("6b09…", "6b0c932f0d41a9121c2137d9"));
        assert!(!string_matches("6b09…", "aud_01M8MHY7GCV31VF8AN8W4SYG8V"));
        assert!(string_matches("2026-05-01T12:00:00.000Z", "2031-01-02T03:04:05.678Z"));
        assert!(string_matches("2026-…Z", "2031-01-02T03:04:05Z"));
        assert!(!string_matches("2026-…Z", "yesterday"));
        assert!(string_matches("aud_01…", "aud_01M8MHY7GCV31VF8AN8W4SYG8V"));
        assert!(string_matches("Hi …, I enjoyed …. Worth it?", "Hi Lea, I enjoyed a post. Worth it?"));
        assert!(!string_matches("Hi …, I enjoyed …. Worth it?", "Hi Lea, teams like X. Worth it?"));
        assert!(string_matches("…", ""));
        assert!(!string_matches("queued", "queued "));
    }

    #[test]
    fn text_lines_take_placeholders_and_optional_digit_wildcards() {
        assert!(line_matches(
            "Created the \"Demo\" account group (<24-hex id>).",
            "Created the \"Demo\" account group (6b0c).",
            false
        ));
        assert!(line_matches("sk_live_...", "sk_live_abc", false));
        assert!(line_matches("ratelimit-remaining: 599", "ratelimit-remaining: 17", true));
        assert!(!line_matches("ratelimit-remaining: 599", "ratelimit-remaining: 17", false));
        assert!(!line_matches("limit=600, w=60", "limit=600", true));
    }
}
