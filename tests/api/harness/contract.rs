//! Every response a test app serves, checked against the OpenAPI document.
//!
//! The harness wraps the app's router in [`layer`]: each response is read
//! whole, matched to its operation (method and path template), and checked:
//! the status must be one the operation documents, the content type one of
//! that status's, the body valid against its schema (JSON Schema 2020-12,
//! formats checked, closed objects: an undocumented field fails), and the
//! headers the document marks `required` present (`X-Request-Id` on every
//! response, `WWW-Authenticate` on a 401, `Retry-After` on a 429 and a 503,
//! `Allow` on a 405). A path no operation has (an unknown route, the admin
//! gate's catch-all) must still answer errors as a `Problem`; the pages that
//! are not part of the API (Swagger UI, the dev mailbox) are left alone.
//!
//! What does not conform is recorded in the app's [`Violations`]; the test's
//! next request through the harness fails on it, and so does the end of the
//! test (`TestApp`'s drop), whichever client sent the request. The same
//! rules check Newman's traffic in CI (scripts/check-responses.py).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

/// What did not conform, one line per response.
pub type Violations = Arc<Mutex<Vec<String>>>;

struct Contract {
    document: Value,
    /// (method, path template split on `/`, JSON pointer of the operation).
    operations: Vec<(String, Vec<String>, String)>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// The document an app serves: with `GET /metrics` when its main listener
/// routes it (METRICS_TOKEN set), without otherwise.
fn contract(metrics_route: bool) -> &'static Contract {
    static WITH: OnceLock<Contract> = OnceLock::new();
    static WITHOUT: OnceLock<Contract> = OnceLock::new();
    let cell = if metrics_route { &WITH } else { &WITHOUT };
    cell.get_or_init(|| {
        let document = vectra::http::openapi::document(metrics_route);
        let mut operations = Vec::new();
        for (path, item) in document["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                operations.push((
                    method.to_uppercase(),
                    path.split('/').map(str::to_owned).collect(),
                    format!("/paths/{}/{method}", escape(path)),
                ));
            }
        }
        Contract {
            document,
            operations,
            validators: Mutex::new(HashMap::new()),
        }
    })
}

/// A JSON pointer token (RFC 6901).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn matches(template: &[String], path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').collect();
    segments.len() == template.len()
        && template.iter().zip(&segments).all(|(t, s)| {
            if t.starts_with('{') {
                !s.is_empty()
            } else {
                t == s
            }
        })
}

impl Contract {
    /// The validator of the schema at `pointer` in the document (compiled
    /// once, with the document as its root so that `$ref`s resolve).
    fn validator(&self, pointer: &str) -> Result<Arc<jsonschema::Validator>, String> {
        let cached = |cache: &Mutex<HashMap<String, Arc<jsonschema::Validator>>>| {
            cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(pointer)
                .cloned()
        };
        if let Some(v) = cached(&self.validators) {
            return Ok(v);
        }
        let mut root = self.document.clone();
        // The pointer as a URI fragment: `{` and `}` of path templates
        // percent-encoded.
        let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
        root["$ref"] = Value::String(format!("#{fragment}"));
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("the schema at {pointer} does not compile: {e}"))?;
        let validator = Arc::new(validator);
        self.validators
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pointer.to_owned(), validator.clone());
        Ok(validator)
    }

    fn check_body(&self, pointer: &str, bytes: &[u8], out: &mut Vec<String>) {
        let body: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                out.push(format!("the body is not JSON ({e})"));
                return;
            }
        };
        let validator = match self.validator(pointer) {
            Ok(v) => v,
            Err(e) => {
                out.push(e);
                return;
            }
        };
        for error in validator.iter_errors(&body) {
            out.push(format!("at {:?}: {error}", error.instance_path().as_str()));
        }
    }

    /// The violations of one response.
    fn check(
        &self,
        method: &Method,
        path: &str,
        status: u16,
        headers: &axum::http::HeaderMap,
        bytes: &[u8],
    ) -> Vec<String> {
        let mut out = Vec::new();
        if headers.get("x-request-id").is_none() {
            out.push("no X-Request-Id header".to_owned());
        }
        let media = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let lookup = if method == Method::HEAD {
            "GET".to_owned()
        } else {
            method.as_str().to_owned()
        };
        let operation = self
            .operations
            .iter()
            .find(|(m, t, _)| *m == lookup && matches(t, path));
        let Some((_, _, op)) = operation else {
            // Not an operation: an unknown route, a method the route does
            // not take, the admin gate; errors are problems all the same.
            if status >= 400 {
                if media != "application/problem+json" {
                    out.push(format!(
                        "an error as {media:?}, not application/problem+json"
                    ));
                } else if method != Method::HEAD {
                    self.check_body("/components/schemas/Problem", bytes, &mut out);
                }
                let common = format!("/components/responses/Error{status}");
                self.check_headers(&common, status, headers, &mut out);
            }
            return out;
        };
        let responses = format!("{op}/responses");
        let pointer = format!("{responses}/{status}");
        let Some(response) = self.document.pointer(&pointer) else {
            let documented: Vec<&String> = self
                .document
                .pointer(&responses)
                .and_then(Value::as_object)
                .map(|r| r.keys().collect())
                .unwrap_or_default();
            out.push(format!(
                "status {status} is not documented (documented: {documented:?})"
            ));
            return out;
        };
        let response = self.resolve(response);
        self.check_headers_of(response, status, headers, &mut out);
        let content = response.get("content").and_then(Value::as_object);
        match content {
            None if !bytes.is_empty() && method != Method::HEAD => {
                out.push(format!("a body ({media}) where none is documented"));
            }
            None => {}
            Some(content) => match content.get(&media) {
                None => out.push(format!(
                    "content type {media:?} is not documented (documented: {:?})",
                    content.keys().collect::<Vec<_>>()
                )),
                Some(_) if method == Method::HEAD => {}
                Some(_) if media.ends_with("json") => {
                    let schema = format!("{pointer}/content/{}/schema", escape(&media));
                    let schema = self.schema_pointer(&schema);
                    self.check_body(&schema, bytes, &mut out);
                }
                Some(_) => {}
            },
        }
        out
    }

    /// A `$ref`'d response or schema, followed.
    fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        while let Some(r) = value.get("$ref").and_then(Value::as_str) {
            value = self
                .document
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("unresolved {r}"));
        }
        value
    }

    /// The pointer of a schema, through the responses' `$ref`s.
    fn schema_pointer(&self, pointer: &str) -> String {
        // /paths/…/responses/401/content/… may run through a $ref'd response.
        let mut parts = pointer.splitn(2, "/content/");
        let head = parts.next().unwrap_or_default();
        let tail = parts.next().unwrap_or_default();
        match self
            .document
            .pointer(head)
            .and_then(|r| r.get("$ref"))
            .and_then(Value::as_str)
        {
            Some(r) => format!("{}/content/{tail}", r.trim_start_matches('#')),
            None => pointer.to_owned(),
        }
    }

    fn check_headers(
        &self,
        pointer: &str,
        status: u16,
        headers: &axum::http::HeaderMap,
        out: &mut Vec<String>,
    ) {
        if let Some(response) = self.document.pointer(pointer) {
            self.check_headers_of(response, status, headers, out);
        }
    }

    /// The headers a response documents as required, present (and those
    /// of a status every operation shares: 401, 405, 429, 503).
    fn check_headers_of(
        &self,
        response: &Value,
        status: u16,
        headers: &axum::http::HeaderMap,
        out: &mut Vec<String>,
    ) {
        let mut required: Vec<String> = Vec::new();
        if let Some(documented) = response.get("headers").and_then(Value::as_object) {
            for (name, header) in documented {
                if self.resolve(header)["required"] == true {
                    required.push(name.to_ascii_lowercase());
                }
            }
        }
        match status {
            401 => required.push("www-authenticate".into()),
            405 => required.push("allow".into()),
            429 | 503 => required.push("retry-after".into()),
            _ => {}
        }
        required.sort();
        required.dedup();
        for name in required {
            if headers.get(&name).is_none() {
                out.push(format!("no {name} header on a {status}"));
            }
        }
    }
}

/// The violations of one response to `method path`: what the layer checks,
/// for a test to check a response it made up.
pub fn check(
    method: &str,
    path: &str,
    status: u16,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Vec<String> {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    contract(false).check(&method, path, status, headers, body)
}

/// Whether the path is a page of ours that is not part of the API.
fn outside_the_api(path: &str) -> bool {
    path == "/docs" || path.starts_with("/docs/") || path.starts_with("/dev/")
}

/// The layer: checks each response, records what does not conform, and
/// passes the response on unchanged.
pub async fn layer(
    violations: Violations,
    metrics_route: bool,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    // A CORS preflight is CORS's, not an operation's (docs/api.md).
    if method == Method::OPTIONS || outside_the_api(&path) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            record(&violations, &method, &path, 0, vec![format!("body: {e}")]);
            return Response::from_parts(parts, Body::empty());
        }
    };
    let status = parts.status.as_u16();
    let found = contract(metrics_route).check(&method, &path, status, &parts.headers, &bytes);
    record(&violations, &method, &path, status, found);
    Response::from_parts(parts, Body::from(bytes))
}

fn record(violations: &Violations, method: &Method, path: &str, status: u16, found: Vec<String>) {
    if found.is_empty() {
        return;
    }
    let line = format!(
        "{method} {path} answered {status}, which the OpenAPI document does not describe: {}",
        found.join("; ")
    );
    violations
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(line);
}

/// Panics with what was recorded, if anything (and forgets it).
#[track_caller]
pub fn assert_conforms(violations: &Violations) {
    let found = std::mem::take(&mut *violations.lock().unwrap_or_else(|e| e.into_inner()));
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_whole_segments() {
        let t: Vec<String> = "/api/v1/user/leads/{lead_id}"
            .split('/')
            .map(str::to_owned)
            .collect();
        assert!(matches(&t, "/api/v1/user/leads/abc"));
        assert!(!matches(&t, "/api/v1/user/leads/"));
        assert!(!matches(&t, "/api/v1/user/leads/abc/x"));
    }
}
