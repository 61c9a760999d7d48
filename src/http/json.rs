//! Request extractors whose rejections are problem+json: malformed JSON is a
//! 400, a body of the wrong shape a 422 naming the field, and a NUL character
//! anywhere in a string (which PostgreSQL cannot store) a 422 naming where.
//!
//! Each kind of bad value has one wording and one status wherever it is (a
//! path, a query, a body): 422 naming the field, with the messages of
//! [`messages`]: `must be a UUID`, `must be one of a, b, c`, `must be a
//! string`, `is required` …

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, FieldError, Problem};

const NUL_MESSAGE: &str = "must not contain NUL characters";

/// The messages of the 422s for a value of the wrong kind, the same in a
/// path, a query string and a body.
pub mod messages {
    pub const UUID: &str = "must be a UUID";
    pub const DATE_TIME: &str = "must be an RFC 3339 date-time with an offset";
    pub const REQUIRED: &str = "is required";
    pub const STRING: &str = "must be a string";
    pub const BOOLEAN: &str = "must be true or false";
    pub const WHOLE_NUMBER: &str = "must be a whole number";
    pub const ARRAY: &str = "must be an array";
    pub const OBJECT: &str = "must be an object";
}

/// An id in the path: a UUID, or a 422 naming the parameter
/// (`lead_id: must be a UUID`), as a bad id in a query or a body is.
pub struct PathId(pub uuid::Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        match Path::<uuid::Uuid>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(PathId(id)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => match e.kind() {
                ErrorKind::ParseErrorAtKey { key, .. }
                | ErrorKind::DeserializeError { key, .. }
                | ErrorKind::InvalidUtf8InPathParam { key } => {
                    Err(ApiError::validation(vec![FieldError::new(
                        key.as_str(),
                        messages::UUID,
                    )]))
                }
                _ => Err(ApiError::Unexpected(anyhow::anyhow!(
                    "path parameters: {e}"
                ))),
            },
            Err(other) => Err(ApiError::Unexpected(anyhow::anyhow!(
                "path parameters: {}",
                other.body_text()
            ))),
        }
    }
}

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
            });
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Expected a JSON body with Content-Type: application/json",
            )
            .into());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| Problem::new(e.status(), e.body_text()))?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("Malformed JSON: {e}")))?;
        let mut nul = Vec::new();
        find_nul(&value, "", &mut nul);
        if !nul.is_empty() {
            return Err(ApiError::validation(nul));
        }
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|e| ApiError::validation(vec![field_error(&e, "body")]))
    }
}

/// A body's deserialization error as the field error of its kind: serde's
/// wording becomes the service's one (see [`messages`]). `whole` names the
/// value itself when the error is at its root (`body`, or `lead` for a row
/// of an import).
pub(crate) fn field_error(
    e: &serde_path_to_error::Error<serde_json::Error>,
    whole: &str,
) -> FieldError {
    let message = e.inner().to_string();
    let path = e.path().to_string();
    let at = |name: &str| {
        if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    // serde reports a missing field at its parent: "missing field `email`".
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        return FieldError::new(at(name), messages::REQUIRED);
    }
    // An unknown one at itself: "unknown field `x`, expected one of …".
    if let Some(name) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        let known: Vec<&str> = message
            .split_once("expected")
            .map(|(_, list)| list.split('`').skip(1).step_by(2).collect())
            .unwrap_or_default();
        let field = if path == "." { name.to_owned() } else { path };
        return FieldError::new(field, unknown_field(&known));
    }
    let field = if path == "." { whole.to_owned() } else { path };
    FieldError::new(field, normalized(&message))
}

/// The one wording of a field a body does not have.
pub fn unknown_field(known: &[&str]) -> String {
    format!("is not a known field (expected {})", known.join(", "))
}

/// serde's messages for a value of the wrong kind, in the service's words.
fn normalized(message: &str) -> String {
    if message.starts_with("UUID parsing failed") || message.contains("expected a UUID") {
        return messages::UUID.to_owned();
    }
    if let Some(expected) = message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.split_once(", expected "))
        .map(|(_, expected)| expected)
    {
        let expected = expected.trim();
        return match expected {
            "a string" | "a borrowed string" => messages::STRING,
            "a boolean" => messages::BOOLEAN,
            "a sequence" => messages::ARRAY,
            e if e.starts_with("struct ") || e == "a map" => messages::OBJECT,
            e if e.starts_with('i') || e.starts_with('u') => messages::WHOLE_NUMBER,
            e if e.contains("UUID") => messages::UUID,
            _ => return format!("must be {expected}"),
        }
        .to_owned();
    }
    message.to_owned()
}

/// Every place in `value` where a string (or an object key) holds a NUL, as
/// a field error named like the other 422s (`name`, `settings.a`, `items[2]`).
pub(crate) fn find_nul(value: &Value, path: &str, out: &mut Vec<FieldError>) {
    let here = |path: &str| {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => {
            out.push(FieldError::new(here(path), NUL_MESSAGE.to_owned()))
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_nul(item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if key.contains('\0') {
                    out.push(FieldError::new(
                        here(path),
                        "must not contain NUL characters in its keys".to_owned(),
                    ));
                } else {
                    find_nul(item, &child, out);
                }
            }
        }
        _ => {}
    }
}

/// The query string as a map of strings, refusing NUL in any name or value
/// (422 naming the parameter). A repeated parameter keeps its last value.
pub struct QueryParams(pub HashMap<String, String>);

impl QueryParams {
    /// A parameter's value, trimmed; `None` when absent or blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|s| s.trim()).filter(|s| !s.is_empty())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| ApiError::bad_request(format!("Malformed query string: {e}")))?;
        let mut errors = Vec::new();
        let mut map = HashMap::new();
        for (k, v) in pairs {
            if k.contains('\0') || v.contains('\0') {
                errors.push(FieldError::new(k.replace('\0', "\\0"), NUL_MESSAGE));
            } else {
                map.insert(k, v);
            }
        }
        if errors.is_empty() {
            Ok(Self(map))
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

/// A SQL function's `jsonb` answered as it came from the database.
impl axum::response::IntoResponse for crate::db::JsonText {
    fn into_response(self) -> axum::response::Response {
        (
            [(
                header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            self.0,
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_is_found_wherever_it_hides() {
        let mut out = Vec::new();
        find_nul(
            &json!({"name": "a\u{0}b", "settings": {"x": ["ok", "\u{0}"]}, "fine": "yes"}),
            "",
            &mut out,
        );
        let fields: Vec<&str> = out.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["name", "settings.x[1]"]);
        let mut out = Vec::new();
        find_nul(&json!("\u{0}"), "", &mut out);
        assert_eq!(out[0].field, "body");
        let mut out = Vec::new();
        find_nul(&json!({"a\u{0}": 1}), "", &mut out);
        assert_eq!(out.len(), 1);
    }
}
