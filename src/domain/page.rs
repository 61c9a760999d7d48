/// Pagination of list routes: `page` from 1, `per_page` from 1 to 100
/// (default 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: i32,
    pub per_page: i32,
}

pub const MAX_PER_PAGE: i32 = 100;
pub const DEFAULT_PER_PAGE: i32 = 20;
/// Far past any real list; keeps `(page - 1) * per_page` a sane offset.
pub const MAX_PAGE: i32 = 1_000_000;

impl Page {
    /// Parses the raw query values; `None` takes the default.
    pub fn parse_page(raw: Option<&str>) -> Result<i32, String> {
        match raw.map(str::trim) {
            None | Some("") => Ok(1),
            Some(s) => match s.parse::<i32>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
                _ => Err(format!("must be a whole number from 1 to {MAX_PAGE}")),
            },
        }
    }

    pub fn parse_per_page(raw: Option<&str>) -> Result<i32, String> {
        match raw.map(str::trim) {
            None | Some("") => Ok(DEFAULT_PER_PAGE),
            Some(s) => match s.parse::<i32>() {
                Ok(n) if (1..=MAX_PER_PAGE).contains(&n) => Ok(n),
                _ => Err(format!("must be a whole number from 1 to {MAX_PER_PAGE}")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(Page::parse_page(None), Ok(1));
        assert_eq!(Page::parse_per_page(None), Ok(20));
        assert_eq!(Page::parse_per_page(Some("100")), Ok(100));
        for bad in ["0", "-1", "x", "1.5", "99999999999", "1000001"] {
            assert!(Page::parse_page(Some(bad)).is_err(), "{bad}");
        }
        for bad in ["0", "101", "x"] {
            assert!(Page::parse_per_page(Some(bad)).is_err(), "{bad}");
        }
    }
}
