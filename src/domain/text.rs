/// A person's name as shown to colleagues (see [`display_name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullName(String);

/// An organization's display name (see [`display_name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationName(String);

/// Code points a display name may not hold: control characters (Cc),
/// invisible formatting characters (Cf: bidirectional overrides and
/// isolates, zero-width characters, the BOM …) and the line and paragraph
/// separators (Zl, Zp). The database's rule, `app.display_name_error`
/// (sql/schema/functions/app.invoker.sql), lists the same ranges; a test
/// checks the two agree on every code point.
pub const FORBIDDEN_IN_NAMES: &[(u32, u32)] = &[
    (0x0000, 0x001F),
    (0x007F, 0x009F),
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

pub fn forbidden_in_names(c: char) -> bool {
    let c = c as u32;
    FORBIDDEN_IN_NAMES
        .iter()
        .any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// The messages are the database's (`app.display_name_error`), word for
/// word, so a name refused here or there reads the same.
pub const NAME_REQUIRED: &str = "is required";
/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
pub const NAME_TOO_LONG: &str = "must be at most 200 characters";
pub const NAME_INVISIBLE: &str = "must not contain control or invisible formatting characters";

/// A display name: spaces trimmed at both ends, 1 to 200 characters, no
/// forbidden code point.
pub fn display_name(raw: &str) -> Result<String, String> {
    let s = raw.trim_matches(' ');
    if s.is_empty() {
        return Err(NAME_REQUIRED.into());
    }
    if s.chars().count() > MAX_NAME_CHARS {
        return Err(NAME_TOO_LONG.into());
    }
    if s.chars().any(forbidden_in_names) {
        return Err(NAME_INVISIBLE.into());
    }
    Ok(s.to_owned())
}

impl FullName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        display_name(raw).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl OrganizationName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        display_name(raw).map(Self)
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
        assert!(OrganizationName::parse("株式会社 東京").is_ok());
    }

    #[test]
    fn invisible_and_bidi_characters_are_refused() {
        for bad in [
            "Acme\u{202E}moc.live",
            "Ac\u{200B}me",
            "Acme\u{2066}x\u{2069}",
            "\u{FEFF}Acme",
            "A\u{00AD}cme",
            "Line\u{2028}break",
            "Tab\there",
        ] {
            assert_eq!(
                OrganizationName::parse(bad),
                Err(NAME_INVISIBLE.to_owned()),
                "{bad:?}"
            );
        }
        // Visible non-Latin text and combining marks are names like any other.
        assert!(FullName::parse("José Müller-Lüdenscheidt").is_ok());
        assert!(FullName::parse("e\u{0301}lodie").is_ok());
    }
}
