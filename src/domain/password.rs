use super::Email;

/// A password acceptable as a new password: 10 to 128 characters and not the
/// account's email. Never logged, never shown in `Debug`.
pub struct Password(String);

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;

impl Password {
    /// `email` is the account's, when known (an invalid email in the same
    /// request leaves only the length rules to check).
    pub fn parse(raw: &str, email: Option<&Email>) -> Result<Self, String> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(format!("must be at least {MIN_PASSWORD_CHARS} characters"));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(format!("must be at most {MAX_PASSWORD_CHARS} characters"));
        }
        if email.is_some_and(|e| raw.trim().to_lowercase() == e.as_str()) {
            return Err("must not be your email address".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email::parse("ann@example.com").expect("email")
    }

    #[test]
    fn length_bounds_count_characters_not_bytes() {
        assert!(Password::parse("short", Some(&email())).is_err());
        assert!(Password::parse("exactly10!", Some(&email())).is_ok());
        assert!(Password::parse(&"é".repeat(10), Some(&email())).is_ok());
        assert!(Password::parse(&"x".repeat(128), Some(&email())).is_ok());
        assert!(Password::parse(&"x".repeat(129), Some(&email())).is_err());
    }

    #[test]
    fn the_email_is_not_a_password() {
        let err = Password::parse("Ann@Example.com", Some(&email())).expect_err("refused");
        assert!(err.contains("email"));
    }

    #[test]
    fn debug_hides_the_value() {
        let p = Password::parse("correct horse battery", Some(&email())).expect("ok");
        assert_eq!(format!("{p:?}"), "Password(***)");
    }
}
