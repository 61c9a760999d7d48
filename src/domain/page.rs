/// Pagination of list routes: `page` and `per_page` as whole numbers.
///
/// Their bounds (page from 1 to 1,000,000, per_page from 1 to 100) are the
/// database's rule, `app.check_page` (sql/schema/functions/app.invoker.sql),
/// which every list function applies and whose 422 names each bad one. This
/// side only reads the numbers: absent means the default, and anything that
/// is not a whole number is sent as 0, so the database refuses it with its
/// own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: i32,
    pub per_page: i32,
}

pub const DEFAULT_PER_PAGE: i32 = 20;
/// The bounds `app.check_page` enforces, for the document (a test checks
/// them against the function).
pub const MAX_PAGE: i32 = 1_000_000;
pub const MAX_PER_PAGE: i32 = 100;

impl Page {
    /// `page` and `per_page` from the raw query values.
    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> Self {
        Self {
            page: number(page, 1),
            per_page: number(per_page, DEFAULT_PER_PAGE),
        }
    }
}

/// A whole number, saturated to the `integer` range (out of bounds either
/// way); 0 for anything else (also out of bounds).
fn number(raw: Option<&str>, default: i32) -> i32 {
    let s = match raw.map(str::trim) {
        None | Some("") => return default,
        Some(s) => s,
    };
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    match s.parse::<i32>() {
        Ok(n) => n,
        Err(_) if s.starts_with('-') => i32::MIN,
        Err(_) => i32::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_numbers_and_what_the_database_will_refuse() {
        assert_eq!(
            Page::parse(None, None),
            Page {
                page: 1,
                per_page: 20
            }
        );
        assert_eq!(
            Page::parse(Some(""), Some(" ")),
            Page {
                page: 1,
                per_page: 20
            }
        );
        assert_eq!(
            Page::parse(Some("3"), Some("100")),
            Page {
                page: 3,
                per_page: 100
            }
        );
        assert_eq!(
            Page::parse(Some("+2"), Some("-1")),
            Page {
                page: 2,
                per_page: -1
            }
        );
        for junk in ["x", "1.5", "1e3", "-", "٣", "0x10"] {
            assert_eq!(number(Some(junk), 1), 0, "{junk}");
        }
        assert_eq!(number(Some("99999999999"), 1), i32::MAX);
        assert_eq!(number(Some("-99999999999"), 1), i32::MIN);
    }
}
