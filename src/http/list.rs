//! The query string of list routes: `page`, `per_page`, `sort`, `order`, a
//! search and filters, parsed once with every error named (one 422 for all).
//!
//! Search length, id syntax and `order` are checked here; the page bounds,
//! which sort fields and which filter values a list accepts are the SQL
//! function's to say (`app.check_page`, `app.check_sort`,
//! `app.check_filter`), so those rules live in one place.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use uuid::Uuid;

use super::json::QueryParams;
use crate::domain::Page;
use crate::error::{ApiError, FieldError};

/// Longest search accepted (`q`, or `search`).
pub const MAX_SEARCH_CHARS: usize = 100;

/// Longest `cursor` accepted (the ones the service makes are far shorter).
pub const MAX_CURSOR_CHARS: usize = 1024;

pub struct ListQuery {
    pub page: Page,
    params: QueryParams,
    errors: Vec<FieldError>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = QueryParams::from_request_parts(parts, state).await?;
        Ok(Self::parse(params))
    }
}

impl ListQuery {
    pub fn parse(params: QueryParams) -> Self {
        let mut errors = Vec::new();
        let page = Page::parse(params.get("page"), params.get("per_page"));
        if let Some(order) = params.get("order")
            && order != "asc"
            && order != "desc"
        {
            errors.push(FieldError::new("order", "must be asc or desc"));
        }
        Self {
            page,
            params,
            errors,
        }
    }

    /// `sort`, or the route's default.
    pub fn sort<'a>(&'a self, default: &'a str) -> &'a str {
        self.params.get("sort").unwrap_or(default)
    }

    /// Whether `order` is `desc` (the route's default when absent).
    pub fn desc(&self, default: bool) -> bool {
        match self.params.get("order") {
            Some(order) => order == "desc",
            None => default,
        }
    }

    /// A filter's value, trimmed; `None` when absent or blank.
    pub fn filter(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }

    /// The search (`q`, or `search`): at most [`MAX_SEARCH_CHARS`] characters.
    pub fn search(&mut self) -> Option<String> {
        let (field, value) = ["q", "search"]
            .into_iter()
            .find_map(|k| self.params.get(k).map(|v| (k, v.to_owned())))?;
        if value.chars().count() > MAX_SEARCH_CHARS {
            self.errors.push(FieldError::new(
                field,
                format!("must be at most {MAX_SEARCH_CHARS} characters"),
            ));
            return None;
        }
        Some(value)
    }

    /// `cursor`: the `next_cursor` of the previous page, as it came (the
    /// database checks its signature and that it belongs to this list).
    pub fn cursor(&mut self) -> Option<String> {
        let raw = self.params.get("cursor")?;
        if raw.len() > MAX_CURSOR_CHARS
            || !raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            self.errors.push(FieldError::new(
                "cursor",
                "is not a cursor of this list; start again from the first page",
            ));
            return None;
        }
        Some(raw.to_owned())
    }

    /// A filter holding an id.
    pub fn uuid(&mut self, name: &str) -> Option<Uuid> {
        let raw = self.params.get(name)?;
        match raw.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                self.errors.push(FieldError::new(name, "must be a UUID"));
                None
            }
        }
    }

    /// The 422 of every bad parameter, or `Ok` when all were fine.
    pub fn finish(&mut self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(std::mem::take(&mut self.errors)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> ListQuery {
        ListQuery::parse(QueryParams(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }

    #[test]
    fn defaults_and_values() {
        let mut q = query(&[]);
        assert_eq!(
            q.page,
            Page {
                page: 1,
                per_page: 20
            }
        );
        assert_eq!(q.sort("created_at"), "created_at");
        assert!(q.desc(true));
        assert!(q.finish().is_ok());
        let mut q = query(&[
            ("page", "3"),
            ("per_page", "5"),
            ("sort", "name"),
            ("order", "asc"),
            ("q", " acme "),
        ]);
        assert_eq!(
            q.page,
            Page {
                page: 3,
                per_page: 5
            }
        );
        assert_eq!(q.sort("created_at"), "name");
        assert!(!q.desc(true));
        assert_eq!(q.search().as_deref(), Some("acme"));
        assert!(q.finish().is_ok());
    }

    #[test]
    fn every_bad_parameter_is_named_at_once() {
        let mut q = query(&[
            ("page", "0"),
            ("per_page", "101"),
            ("order", "sideways"),
            ("campaign_id", "x"),
        ]);
        q.uuid("campaign_id");
        let Err(ApiError::Problem(p)) = q.finish() else {
            panic!("accepted");
        };
        let fields: Vec<&str> = p.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["order", "campaign_id"]);
        // The page bounds are the database's (app.check_page): passed on.
        assert_eq!(
            q.page,
            Page {
                page: 0,
                per_page: 101
            }
        );
        let mut q = query(&[("search", &"x".repeat(101))]);
        assert!(q.search().is_none());
        assert!(q.finish().is_err());
    }
}
