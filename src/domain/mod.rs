//! Input types that parse once: after `parse`, the value is proof of validity.
//! Each parser reports a field error naming the JSON field it came from.

mod email;
mod page;
mod password;
mod text;

pub use email::Email;
pub use page::{DEFAULT_PER_PAGE, Page};
pub use password::Password;
pub use text::{FullName, OrganizationName, display_name};

use crate::error::{ApiError, FieldError};

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

    /// `Ok(())` when nothing was recorded, else the 422.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.errors))
        }
    }
}

/// Unwraps values checked through [`Fields`] after `finish()` returned Ok.
pub fn checked<T>(value: Option<T>) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("field checked but missing")))
}
