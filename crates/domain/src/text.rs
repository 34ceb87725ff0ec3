//! Limits on what people type (DESIGN.md, "Limits on what people type"):
//! the one place that says how long each kind of free text may be and
//! which characters it may hold. Text is trimmed; NUL and other control
//! characters are refused (newline and tab only inside multi-line text),
//! since PostgreSQL cannot store a NUL and a page cannot show the others.
//!
//! ```
//! use domain::text::{TextKind, clean};
//! assert_eq!(clean("notes", TextKind::Note, "  水面清澈\r\n无垃圾 ").unwrap(), "水面清澈\n无垃圾");
//! assert_eq!(clean("name", TextKind::Name, &"张".repeat(65)).unwrap_err().code(), "text_too_long");
//! ```

/// What a field holds; each kind has its own limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// Patrol notes and issue descriptions: 2,000 characters, multi-line.
    Note,
    /// Reasons and notes of transitions, overrides and exemptions: 1,000, multi-line.
    Reason,
    /// Names of people, places, rivers and branches: 64.
    Name,
    /// Phone numbers: 32 characters of digits, `+`, `-` and spaces.
    Phone,
    /// Any other one-line input (an address, an e-mail, a code): 200.
    Line,
}

impl TextKind {
    /// The most characters (Unicode scalar values) the kind may have.
    pub const fn max_chars(self) -> usize {
        match self {
            Self::Note => 2000,
            Self::Reason => 1000,
            Self::Name => 64,
            Self::Phone => 32,
            Self::Line => 200,
        }
    }

    fn multiline(self) -> bool {
        matches!(self, Self::Note | Self::Reason)
    }
}

/// Why a field's text was refused; `field` names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{field} is {length} characters long; at most {limit} are allowed")]
    TooLong {
        field: String,
        limit: usize,
        length: usize,
    },
    #[error("{field} contains a control character (U+{code_point:04X}) at character {position}")]
    ControlCharacter {
        field: String,
        /// Counted from 1, in characters.
        position: usize,
        code_point: u32,
    },
    #[error("{field} is not a phone number: only digits, '+', '-' and spaces are allowed")]
    InvalidPhone { field: String },
}

impl TextError {
    /// The stable snake_case code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLong { .. } => "text_too_long",
            Self::ControlCharacter { .. } => "control_character",
            Self::InvalidPhone { .. } => "invalid_phone",
        }
    }

    /// The field the error is about.
    pub fn field(&self) -> &str {
        match self {
            Self::TooLong { field, .. }
            | Self::ControlCharacter { field, .. }
            | Self::InvalidPhone { field } => field,
        }
    }
}

/// The text of `field` trimmed (line ends as `\n`), or why it is refused.
pub fn clean(field: &str, kind: TextKind, value: &str) -> Result<String, TextError> {
    let value = value.trim();
    refuse_control(field, value, kind.multiline())?;
    let length = value.chars().count();
    if length > kind.max_chars() {
        return Err(TextError::TooLong {
            field: field.to_owned(),
            limit: kind.max_chars(),
            length,
        });
    }
    if kind == TextKind::Phone
        && !value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
    {
        return Err(TextError::InvalidPhone {
            field: field.to_owned(),
        });
    }
    Ok(if kind.multiline() {
        value.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        value.to_owned()
    })
}

/// [`clean`] for an optional field: `None` when absent or blank.
pub fn clean_optional(
    field: &str,
    kind: TextKind,
    value: Option<&str>,
) -> Result<Option<String>, TextError> {
    let cleaned = value.map(|v| clean(field, kind, v)).transpose()?;
    Ok(cleaned.filter(|v| !v.is_empty()))
}

fn allowed_control(c: char, multiline: bool) -> bool {
    multiline && matches!(c, '\n' | '\t' | '\r')
}

/// Refuses a control character in `value` (newline and tab are allowed in
/// `multiline` text): for inputs that are not free text but must not carry
/// a NUL either (a code, a number, a date).
pub fn refuse_control(field: &str, value: &str, multiline: bool) -> Result<(), TextError> {
    match control_character(value, multiline) {
        Some((position, c)) => Err(TextError::ControlCharacter {
            field: field.to_owned(),
            position,
            code_point: u32::from(c),
        }),
        None => Ok(()),
    }
}

/// The first control character (position from 1) not allowed in `value`.
pub fn control_character(value: &str, multiline: bool) -> Option<(usize, char)> {
    value
        .chars()
        .enumerate()
        .find(|&(_, c)| c.is_control() && !allowed_control(c, multiline))
        .map(|(i, c)| (i + 1, c))
}

/// A control character (newline and tab aside) in the strings of a JSON
/// document, written raw or as an escape (`\u0000`, `\b`): its code point.
/// Reads the bytes once without building the document, so a 20 MiB import
/// costs no copy; anything that is not JSON is left for the parser to refuse.
pub fn json_control_character(json: &[u8]) -> Option<u32> {
    let mut in_string = false;
    let mut i = 0;
    while i < json.len() {
        let b = json[i];
        i += 1;
        if !in_string {
            in_string = b == b'"';
            continue;
        }
        let code_point = match b {
            b'"' => {
                in_string = false;
                continue;
            }
            b'\\' => {
                let escaped = json.get(i).copied();
                i += 1;
                match escaped {
                    Some(b'b') => 0x08,
                    Some(b'f') => 0x0C,
                    Some(b'u') => {
                        let hex = json.get(i..i + 4).and_then(|h| std::str::from_utf8(h).ok());
                        i += 4;
                        match hex.and_then(|h| u32::from_str_radix(h, 16).ok()) {
                            Some(c) => c,
                            None => continue,
                        }
                    }
                    _ => continue,
                }
            }
            // DEL; raw C0 bytes are not JSON, the parser refuses them.
            0x7F => 0x7F,
            // U+0080–U+009F (C1) in UTF-8.
            0xC2 if json.get(i).is_some_and(|n| (0x80..=0x9F).contains(n)) => {
                u32::from(json[i]) & 0xFF
            }
            _ => continue,
        };
        let c = char::from_u32(code_point).unwrap_or(' ');
        if c.is_control() && !allowed_control(c, true) {
            return Some(code_point);
        }
    }
    None
}

/// A control character in `application/x-www-form-urlencoded` text (a
/// query string or a form body), after percent-decoding: the decoded name
/// of the pair it is in and its byte. `multiline` allows newline and tab
/// (form fields may be free text; query parameters never are).
pub fn url_encoded_control_character(encoded: &[u8], multiline: bool) -> Option<(String, u8)> {
    for pair in encoded.split(|&b| b == b'&') {
        let mut parts = pair.splitn(2, |&b| b == b'=');
        let name = percent_decode(parts.next().unwrap_or_default());
        let value = percent_decode(parts.next().unwrap_or_default());
        let bad = |b: &u8| b.is_ascii_control() && !allowed_control(char::from(*b), multiline);
        if let Some(b) = name.iter().chain(&value).copied().find(bad) {
            return Some((String::from_utf8_lossy(&name).into_owned(), b));
        }
    }
    None
}

/// `%XX` and `+` decoded (a malformed escape is kept as it is).
pub fn percent_decode(encoded: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(encoded.len());
    let mut i = 0;
    while i < encoded.len() {
        let decoded = match encoded[i] {
            b'%' => encoded
                .get(i + 1..i + 3)
                .and_then(|h| Some(hex(h[0])? * 16 + hex(h[1])?)),
            _ => None,
        };
        match (encoded[i], decoded) {
            (_, Some(byte)) => {
                out.push(u8::try_from(byte).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (other, None) => {
                out.push(other);
                i += 1;
            }
        }
    }
    out
}

/// A short preview of long text for lists: at most `max_chars` characters,
/// ending in `…` when cut.
pub fn preview(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some(_) => {
            let kept: String = text.chars().take(max_chars.saturating_sub(1)).collect();
            format!("{}…", kept.trim_end())
        }
    }
}

/// How many characters a note keeps in a list (the detail has it all).
pub const PREVIEW_CHARS: usize = 140;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_limit() {
        for (kind, limit) in [
            (TextKind::Note, 2000),
            (TextKind::Reason, 1000),
            (TextKind::Name, 64),
            (TextKind::Phone, 32),
            (TextKind::Line, 200),
        ] {
            let fill = if kind == TextKind::Phone { "1" } else { "河" };
            assert!(clean("f", kind, &fill.repeat(limit)).is_ok(), "{kind:?}");
            assert_eq!(
                clean("f", kind, &format!(" {} ", fill.repeat(limit + 1))),
                Err(TextError::TooLong {
                    field: "f".into(),
                    limit,
                    length: limit + 1
                })
            );
        }
    }

    #[test]
    fn text_is_trimmed_and_line_ends_are_newlines() {
        assert_eq!(clean("n", TextKind::Name, "  张三\n").unwrap(), "张三");
        assert_eq!(
            clean("n", TextKind::Reason, "住院\r\n\t两周\r").unwrap(),
            "住院\n\t两周"
        );
        assert_eq!(clean_optional("n", TextKind::Note, Some("   ")), Ok(None));
        assert_eq!(clean_optional("n", TextKind::Note, None), Ok(None));
    }

    #[test]
    fn control_characters_are_refused_newline_and_tab_only_in_multiline_text() {
        let e = clean("notes", TextKind::Note, "ab\0c").unwrap_err();
        assert_eq!(e.code(), "control_character");
        assert_eq!(
            e,
            TextError::ControlCharacter {
                field: "notes".into(),
                position: 3,
                code_point: 0
            }
        );
        assert!(clean("n", TextKind::Name, "张\n三").is_err());
        assert!(clean("n", TextKind::Line, "a\u{7f}").is_err());
        assert!(clean("n", TextKind::Line, "a\u{85}b").is_err());
    }

    #[test]
    fn phones_are_digits_plus_minus_and_spaces() {
        assert_eq!(
            clean("phone", TextKind::Phone, "+86 138-0000-0000").unwrap(),
            "+86 138-0000-0000"
        );
        assert_eq!(
            clean("phone", TextKind::Phone, "138x").unwrap_err().code(),
            "invalid_phone"
        );
    }

    #[test]
    fn json_strings_with_control_escapes_are_found() {
        assert_eq!(json_control_character(br#"{"a": "b\u0000"}"#), Some(0));
        assert_eq!(json_control_character(br#"{"a\u001F": 1}"#), Some(0x1F));
        assert_eq!(json_control_character(br#"["\b"]"#), Some(8));
        assert_eq!(
            json_control_character("[\"\u{7f}\"]".as_bytes()),
            Some(0x7F)
        );
        assert_eq!(
            json_control_character("[\"\u{9f}\"]".as_bytes()),
            Some(0x9F)
        );
        // Newline, tab, a backslash before "u0000", text outside strings.
        for fine in [
            br#"{"a": "line\nnext\ttab\r\n\u000a\u0009"}"#.as_slice(),
            br#"{"a": "\\u0000"}"#,
            "{\"河\": \"\u{a0}é\"}".as_bytes(),
            b"{\n\t\"a\": 1\r\n}",
        ] {
            assert_eq!(json_control_character(fine), None, "{fine:?}");
        }
        assert_eq!(json_control_character(br#"{"a": "\"\u0000"}"#), Some(0));
    }

    #[test]
    fn url_encoded_control_characters_are_found_with_their_name() {
        assert_eq!(
            url_encoded_control_character(b"week=2026-W01%00&x=1", false),
            Some(("week".into(), 0))
        );
        assert_eq!(
            url_encoded_control_character(b"description=a%0D%0Ab%09c", true),
            None
        );
        assert_eq!(
            url_encoded_control_character(b"description=a%0Ab", false),
            Some(("description".into(), b'\n'))
        );
        assert_eq!(
            url_encoded_control_character(b"a%7f=1", false),
            Some(("a\u{7f}".into(), 0x7F))
        );
        assert_eq!(
            url_encoded_control_character(b"q=%E6%B2%B3+%zz%", false),
            None
        );
        assert_eq!(percent_decode(b"a+b%2Bc%4"), b"a b+c%4");
    }

    #[test]
    fn previews_cut_long_text_with_an_ellipsis() {
        assert_eq!(preview("短", 140), "短");
        let long = "河".repeat(300);
        let cut = preview(&long, 140);
        assert_eq!(cut.chars().count(), 140);
        assert!(cut.ends_with('…'));
        assert_eq!(preview(&"河".repeat(140), 140), "河".repeat(140));
    }
}
