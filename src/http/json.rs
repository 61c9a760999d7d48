//! A JSON body extractor whose rejections are problem+json: malformed JSON
//! is a 400, a body of the wrong shape a 422 naming the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError, Problem};

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
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("Malformed JSON: {e}")))?;
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|e| ApiError::validation(vec![field_error(&e)]))
    }
}

fn field_error(e: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let message = e.inner().to_string();
    let path = e.path().to_string();
    // serde reports a missing field at its parent: "missing field `email`".
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        let field = if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return FieldError {
            field,
            message: "is required".to_owned(),
        };
    }
    FieldError {
        field: if path == "." { "body".to_owned() } else { path },
        message,
    }
}
