/// A person's name as shown to colleagues: trimmed, 1 to 200 characters, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullName(String);

/// An organization's display name: trimmed, 1 to 200 characters, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationName(String);

fn display_text(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("is required".into());
    }
    if s.chars().count() > 200 {
        return Err("must be at most 200 characters".into());
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(s.to_owned())
}

impl FullName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        display_text(raw).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl OrganizationName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        display_text(raw).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            FullName::parse("  Ann Lee ").map(|n| n.0),
            Ok("Ann Lee".into())
        );
        assert!(FullName::parse("   ").is_err());
        assert!(FullName::parse(&"x".repeat(201)).is_err());
        assert!(OrganizationName::parse("Acme\u{0}").is_err());
        assert!(OrganizationName::parse("Société Générale").is_ok());
    }
}
