//! Input types that parse once: after `parse`, the value is proof of validity.
//! Each parser reports a field error naming the JSON field it came from.

mod email;
pub mod enums;
mod page;
mod password;
mod text;

pub use email::{Email, MAX_EMAIL_CHARS};
pub use page::{DEFAULT_PER_PAGE, MAX_PAGE, MAX_PER_PAGE, Page};
pub use password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, Password};
pub use text::{FullName, MAX_NAME_CHARS, OrganizationName, display_name};

use serde::Serialize;

/// A field-level validation error (for 422 responses). `row` numbers the
/// element of a batch (1 is the first) when the request holds several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            row: None,
        }
    }

    pub fn in_row(mut self, row: u32) -> Self {
        self.row = Some(row);
        self
    }
}

/// Input that did not parse.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// The fields named, each with its message (a 422).
    #[error("invalid fields")]
    Fields(Vec<FieldError>),
    /// A value used without having been checked: a bug, not the client's.
    #[error("a field was used before it was checked")]
    Unchecked,
}

/// Collects field errors across several parsers, so one 422 lists them all.
#[derive(Default)]
pub struct Fields {
    errors: Vec<FieldError>,
}

impl Fields {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value, or records the error under `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(message) => {
                self.errors.push(FieldError::new(field, message));
                None
            }
        }
    }

    /// Records an error not tied to one parser.
    pub fn reject(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .push(FieldError::new(field.to_owned(), message.into()));
    }

    /// `Ok(())` when nothing was recorded, else every error recorded.
    pub fn finish(self) -> Result<(), Invalid> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Invalid::Fields(self.errors))
        }
    }
}

/// Unwraps values checked through [`Fields`] after `finish()` returned Ok.
pub fn checked<T>(value: Option<T>) -> Result<T, Invalid> {
    value.ok_or(Invalid::Unchecked)
}
