//! The password policy (DESIGN.md, "Limits on what people type"): at least
//! [`MIN_CHARS`] characters, not only spaces, not the login, not a common
//! password. No rules about character classes: length beats clever, and
//! the common list catches what guessers try first.
//!
//! ```
//! use domain::password::{check, Weakness};
//! assert_eq!(check(Some("hz001"), "        "), Err(Weakness::OnlySpaces));
//! assert_eq!(check(Some("hz001"), "12345678"), Err(Weakness::TooShort));
//! assert_eq!(check(Some("hz001"), "WoAiNi1314"), Err(Weakness::Common));
//! assert_eq!(check(Some("zhangjianguo"), "ZhangJianGuo"), Err(Weakness::SameAsLogin));
//! assert_eq!(check(Some("hz001"), "大村村河长巡河2026"), Ok(()));
//! ```

/// The shortest password accepted, in characters.
pub const MIN_CHARS: usize = 10;

/// Common passwords, lower case, one a line (`#` lines are comments).
const COMMON: &str = include_str!("common_passwords.txt");

/// Which rule a refused password breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    OnlySpaces,
    TooShort,
    SameAsLogin,
    Common,
}

impl Weakness {
    /// The rule's stable name (the API's `details.rule`).
    pub fn rule(self) -> &'static str {
        match self {
            Self::OnlySpaces => "only_spaces",
            Self::TooShort => "too_short",
            Self::SameAsLogin => "same_as_login",
            Self::Common => "common_password",
        }
    }

    /// What is wrong, for the person choosing the password.
    pub fn message(self) -> String {
        match self {
            Self::OnlySpaces => "a password cannot be only spaces".to_owned(),
            Self::TooShort => format!("a password needs at least {MIN_CHARS} characters"),
            Self::SameAsLogin => "a password cannot be the login".to_owned(),
            Self::Common => {
                "this password is among the most common ones; choose another".to_owned()
            }
        }
    }
}

/// Checks `password` against the policy; `login` is the account's, when
/// there is one yet.
pub fn check(login: Option<&str>, password: &str) -> Result<(), Weakness> {
    let trimmed = password.trim();
    if trimmed.is_empty() {
        return Err(Weakness::OnlySpaces);
    }
    if password.chars().count() < MIN_CHARS {
        return Err(Weakness::TooShort);
    }
    if login.is_some_and(|login| trimmed.eq_ignore_ascii_case(login.trim())) {
        return Err(Weakness::SameAsLogin);
    }
    if is_common(trimmed) {
        return Err(Weakness::Common);
    }
    Ok(())
}

fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    COMMON
        .lines()
        .filter(|line| !line.starts_with('#'))
        .any(|line| line == lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_refuses_its_passwords() {
        let cases = [
            ("        ", Err(Weakness::OnlySpaces)),
            ("\t  \n  ", Err(Weakness::OnlySpaces)),
            ("12345678", Err(Weakness::TooShort)),
            ("abc", Err(Weakness::TooShort)),
            ("hz00199999", Ok(())),
            ("Chief-Wang", Err(Weakness::SameAsLogin)),
            (" chief-wang ", Err(Weakness::SameAsLogin)),
            ("123456789a", Err(Weakness::Common)),
            ("WOAINI1314", Err(Weakness::Common)),
            ("Password123", Err(Weakness::Common)),
            ("qq123456789", Err(Weakness::Common)),
            ("1qaz2wsx3edc", Err(Weakness::Common)),
            ("demo-chief-2026", Ok(())),
            ("牛栏江每周巡河至少一次", Ok(())),
        ];
        for (password, expected) in cases {
            assert_eq!(
                check(Some("chief-wang"), password),
                expected,
                "{password:?}"
            );
        }
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // Nine Chinese characters are 27 bytes but still too short.
        assert_eq!(check(None, "牛栏江每周巡河一"), Err(Weakness::TooShort));
    }

    #[test]
    fn the_list_is_lower_case_without_blanks() {
        for line in COMMON.lines().filter(|l| !l.starts_with('#')) {
            assert!(!line.is_empty() && line.trim() == line, "{line:?}");
            assert_eq!(line, line.to_lowercase());
        }
        assert!(COMMON.lines().count() > 250);
    }
}
