//! The one rule every text input follows, checked at the edge (JSON bodies, query strings, headers)
//! rather than field by field: no control character except tab, line feed and carriage return.
//!
//! PostgreSQL text cannot hold U+0000, SQLite's full-text query syntax fails on it, and the other
//! control characters are invisible in the portal, in emails and in CSV exports. Tab, LF and CR stay
//! allowed: a reason or a comment may span lines. Fields with a stricter rule (display names, slugs)
//! keep it. The contract states the rule once, as [`PATTERN`] on every free-text string.

use serde_json::Value;

use crate::error::ApiError;

/// The rule as an ECMA-262 regular expression, for the OpenAPI document.
pub const PATTERN: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$";

/// What a client is told when a text breaks the rule.
pub const MESSAGE: &str = "must not contain control characters (U+0000-U+0008, U+000B, U+000C, \
                           U+000E-U+001F, U+007F); tab, line feed and carriage return are allowed";

/// Every forbidden character is ASCII, so a byte test is exact on UTF-8.
const fn is_forbidden_byte(byte: u8) -> bool {
    matches!(byte, 0x00..=0x08 | 0x0B | 0x0C | 0x0E..=0x1F | 0x7F)
}

pub fn is_allowed(text: &str) -> bool {
    !text.bytes().any(is_forbidden_byte)
}

/// Fast pass over a raw JSON body: could it hold a forbidden character? Raw control bytes are
/// already invalid JSON (serde refuses them) except DEL; escaped ones are `\u00XX`, `\b` or `\f`. A hit may be a
/// false alarm (`\\u0000` is a backslash and text): [`first_forbidden`] then decides.
pub fn json_may_hold_forbidden(body: &[u8]) -> bool {
    body.iter().enumerate().any(|(at, &byte)| match byte {
        0x7F => true,
        // `\b` and `\f` are JSON's short escapes of U+0008 and U+000C.
        b'\\' if matches!(body.get(at + 1), Some(b'b' | b'f')) => true,
        b'\\' => match body.get(at + 1..at + 6) {
            Some([b'u', b'0', b'0', high, low]) => {
                let hex = |b: &u8| (*b as char).to_digit(16);
                matches!((hex(high), hex(low)), (Some(h), Some(l)) if is_forbidden_byte((h * 16 + l) as u8))
            }
            _ => false,
        },
        _ => false,
    })
}

/// The JSON path (as field errors name them: `steps[0].name`) of the first string or key that
/// holds a forbidden character.
pub fn first_forbidden(value: &Value) -> Option<String> {
    fn walk(value: &Value, path: &mut String) -> Option<String> {
        match value {
            Value::String(text) if !is_allowed(text) => Some(path.clone()),
            Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                let found = walk(item, path);
                path.truncate(len);
                found
            }),
            Value::Object(members) => members.iter().find_map(|(key, member)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key.escape_default().to_string());
                let found = if is_allowed(key) {
                    walk(member, path)
                } else {
                    Some(path.clone())
                };
                path.truncate(len);
                found
            }),
            _ => None,
        }
    }
    walk(value, &mut String::new()).map(|path| {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path
        }
    })
}

/// A JSON body's text: a 422 naming the field that breaks the rule. Cheap when none does.
pub fn check_json(body: &[u8]) -> Result<(), ApiError> {
    if !json_may_hold_forbidden(body) {
        return Ok(());
    }
    // Unreadable JSON is left to the deserializer's 400.
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Ok(());
    };
    match first_forbidden(&value) {
        Some(field) => Err(ApiError::invalid_field(&field, MESSAGE)),
        None => Ok(()),
    }
}

/// Every parameter of a query string (repeated ones and those no handler reads included): a 400
/// naming the parameter that breaks the rule.
pub fn check_query(query: &str) -> Result<(), ApiError> {
    // Percent-encoding is the only way a control character gets into a query string.
    if !query.contains('%') && is_allowed(query) {
        return Ok(());
    }
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if !is_allowed(&name) || !is_allowed(&value) {
            return Err(ApiError::bad_field(
                &name.escape_default().to_string(),
                MESSAGE,
            ));
        }
    }
    Ok(())
}

/// A header the API reads, as text: absent is `None`; a value that is not printable ASCII (tab
/// allowed) is a 400 naming the header.
pub fn header<'r>(
    req: &'r actix_web::HttpRequest,
    name: &str,
) -> Result<Option<&'r str>, ApiError> {
    match req.headers().get(name) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .ok()
            .filter(|text| is_allowed(text))
            .map(Some)
            .ok_or_else(|| ApiError::bad_field(name, "must be printable ASCII text")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn control_characters_are_refused_and_line_breaks_and_tabs_kept() {
        for c in (0u8..0x20).chain([0x7F]) {
            let allowed = matches!(c, b'\t' | b'\n' | b'\r');
            assert_eq!(is_allowed(&format!("a{}b", c as char)), allowed, "{c:#x}");
        }
        assert!(is_allowed("Zoë – 日本 🙂"));
    }

    #[test]
    fn the_fast_pass_finds_every_escaped_forbidden_character() {
        for c in (0u8..0x20).chain([0x7F]) {
            let body = serde_json::to_vec(&json!({ "a": format!("x{}", c as char) })).unwrap();
            assert_eq!(
                json_may_hold_forbidden(&body),
                !matches!(c, b'\t' | b'\n' | b'\r'),
                "{c:#x}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        assert!(json_may_hold_forbidden(br#"{"a":"\u001F"}"#));
        assert!(json_may_hold_forbidden(br#"{"a":"\u001f"}"#));
        assert!(!json_may_hold_forbidden(br#"{"a":"\u00e9\n"}"#));
    }

    #[test]
    fn the_slow_pass_names_the_json_path() {
        let value = json!({ "steps": [{ "name": "ok" }, { "name": "a\u{0}" }] });
        assert_eq!(first_forbidden(&value).as_deref(), Some("steps[1].name"));
        assert_eq!(
            first_forbidden(&json!({ "a\u{1}": 1 })).as_deref(),
            Some("a\\u{1}")
        );
        assert_eq!(first_forbidden(&json!({ "a": "\\u0000" })), None);
        assert!(check_json(br#"{"a": "\\u0000"}"#).is_ok());
        assert!(check_json(br#"{"reason": "x\u0000"}"#).is_err());
    }

    #[test]
    fn query_parameters_are_named() {
        assert!(check_query("q=a%09b&status=pending,error").is_ok());
        match check_query("q=ok&requester=a%00") {
            Err(ApiError::BadRequest { errors, .. }) => assert_eq!(errors[0].field, "requester"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(check_query("q=%7F").is_err());
    }
}
