//! The user name a login request claims, checked before anything is
//! recorded: the audit log names the actor of every login, so whatever an
//! anonymous client sends there must be short and printable.

use std::fmt;

/// Longest user name (`users::check_username` creates none longer).
pub const MAX_LOGIN_NAME_CHARS: usize = 64;
/// How much of a refused name the audit log keeps.
const KEPT_CHARS: usize = 32;

/// A claimed name of 1 to 64 printable characters. It is not known to
/// exist: it is what the client said.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoginName(String);

/// A name that is not a `LoginName`, cut short and marked so that it can be
/// recorded without repeating what was sent ("bbbb…[7168 characters]").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedName(String);

impl LoginName {
    pub fn parse(claimed: &str) -> Result<LoginName, RefusedName> {
        let chars = claimed.chars().count();
        if (1..=MAX_LOGIN_NAME_CHARS).contains(&chars) && claimed.chars().all(printable) {
            return Ok(LoginName(claimed.to_owned()));
        }
        let kept: String = claimed.chars().take(KEPT_CHARS).map(|c| if printable(c) { c } else { '\u{fffd}' }).collect();
        Err(RefusedName(format!("{kept}…[{chars} characters, refused]")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl RefusedName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LoginName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Not a control character, and not one of the invisible characters that
/// make two different names look the same (zero-width spaces and joiners,
/// direction marks and overrides, the byte-order mark, the soft hyphen).
fn printable(c: char) -> bool {
    !c.is_control() && !matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_and_printable_or_refused_in_brief() {
        assert_eq!(LoginName::parse("ana").unwrap().as_str(), "ana");
        assert!(LoginName::parse(&"a".repeat(64)).is_ok());
        let refused = LoginName::parse(&"b".repeat(2_000_000)).unwrap_err();
        assert_eq!(refused.as_str(), format!("{}…[2000000 characters, refused]", "b".repeat(32)));
        assert_eq!(LoginName::parse("").unwrap_err().as_str(), "…[0 characters, refused]");
        assert_eq!(LoginName::parse("ana\u{0}").unwrap_err().as_str(), "ana\u{fffd}…[4 characters, refused]");
        assert!(LoginName::parse("ana\u{200b}").is_err());
        assert!(LoginName::parse("ana\u{202e}").is_err());
    }
}
