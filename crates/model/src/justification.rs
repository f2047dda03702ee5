//! Why someone looks at sensitive data: the purpose and the case reference
//! that playback, plate searches, unit trails, unmask grants and legal holds
//! require, and that the audit log records next to the access.
//!
//! Both are read later by people (an auditor, a court), so they must be text
//! a person can read as written: trimmed, not empty, at most
//! [`MAX_JUSTIFICATION_CHARS`] characters, and free of characters that are
//! invisible or change how the rest is shown — control characters (NUL, line
//! breaks, escapes), format characters (zero-width spaces and joiners,
//! direction overrides, the BOM), line and paragraph separators and private-use
//! characters. Letters of every script are welcome ("Предмет 12/2026", "Šabac").

use std::fmt;

use crate::FieldError;

/// The longest purpose or case reference, in characters (not bytes).
pub const MAX_JUSTIFICATION_CHARS: usize = 500;

/// Why the data is accessed, e.g. "investigation of the theft at Knez Mihailova 5".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Purpose(String);

/// The case or incident the access belongs to, e.g. "KT 123/2026".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct CaseRef(String);

impl Purpose {
    /// Trims `raw` and checks it; the error names the field `purpose`.
    pub fn parse(raw: &str) -> Result<Purpose, FieldError> {
        readable_text(raw).map(Purpose).map_err(|reason| FieldError::new("purpose", reason))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl CaseRef {
    /// Trims `raw` and checks it; the error names the field `case_ref`.
    pub fn parse(raw: &str) -> Result<CaseRef, FieldError> {
        readable_text(raw).map(CaseRef).map_err(|reason| FieldError::new("case_ref", reason))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The trimmed text, or why it is refused (a sentence for the person who typed it).
fn readable_text(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("is empty; write it in words".into());
    }
    let chars = text.chars().count();
    if chars > MAX_JUSTIFICATION_CHARS {
        return Err(format!("is {chars} characters long; at most {MAX_JUSTIFICATION_CHARS} are allowed"));
    }
    if let Some((at, c)) = text.chars().enumerate().find(|(_, c)| !readable(*c)) {
        return Err(format!("contains an invisible or control character (U+{:04X}) at character {}; use printable text only", u32::from(c), at + 1));
    }
    Ok(text.to_owned())
}

/// False for Unicode's Cc (control), Cf (format), Zl, Zp and Co (private use)
/// characters; spaces of category Zs are fine inside the text.
fn readable(c: char) -> bool {
    !(c.is_control() || is_format(c) || matches!(c, '\u{2028}' | '\u{2029}') || is_private_use(c))
}

/// Unicode 15.1 general category Cf. The standard library has no category
/// lookup and the list is short and changes rarely, so it is written out.
fn is_format(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

fn is_private_use(c: char) -> bool {
    matches!(u32::from(c), 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_of_any_script_and_punctuation_pass_trimmed() {
        assert_eq!(CaseRef::parse("  Предмет 12/2026 ").unwrap().as_str(), "Предмет 12/2026");
        assert_eq!(Purpose::parse("Šabac, krađa — svedok \"A\"").unwrap().as_str(), "Šabac, krađa — svedok \"A\"");
        assert_eq!(Purpose::parse("调查 #7 (Ελλάδα)").unwrap().as_str(), "调查 #7 (Ελλάδα)");
        let longest = "ž".repeat(MAX_JUSTIFICATION_CHARS);
        assert_eq!(Purpose::parse(&longest).unwrap().as_str(), longest, "500 characters, 1000 bytes, pass");
    }

    #[test]
    fn empty_long_control_and_invisible_text_is_refused_with_a_reason() {
        let e = Purpose::parse(" \t ").unwrap_err();
        assert_eq!(e.field, "purpose");
        assert!(e.reason.contains("empty"), "{e}");
        let e = CaseRef::parse(&"x".repeat(MAX_JUSTIFICATION_CHARS + 1)).unwrap_err();
        assert_eq!(e.field, "case_ref");
        assert!(e.reason.contains("501 characters"), "{e}");
        for bad in ["a\0b", "KT\u{200B}1", "a\nb", "a\u{1b}[31m", "\u{202E}evil", "x\u{FEFF}", "a\u{2028}b", "a\u{E000}", "a\u{7F}", "tag\u{E0041}"] {
            let e = Purpose::parse(bad).expect_err(bad);
            assert!(e.reason.contains("invisible or control character"), "{bad:?}: {e}");
        }
        assert!(Purpose::parse("KT\u{200B}1").unwrap_err().reason.contains("U+200B"));
    }
}
