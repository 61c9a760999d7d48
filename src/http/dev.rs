//! Routes of `vectra dev` only, never of `vectra serve`: the local mailbox
//! (`/dev/mailbox`, its JSON, a MailDev-compatible `/dev/mailbox/email`) and
//! the three pages the emails link to (`/verify-email`, `/reset-password`,
//! `/accept-invitation`), standing in for the web front end so that every
//! link of a dev email works.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use crate::email::LocalMailbox;
use crate::email::mailbox::StoredMail;
use crate::error::{ApiError, Problem};

/// `with_mailbox`: `/dev/mailbox*` too (no `SMTP_URL`).
pub fn router(with_mailbox: bool) -> Router<AppState> {
    let links = Router::new()
        .route("/verify-email", get(link_page))
        .route("/reset-password", get(link_page))
        .route("/accept-invitation", get(link_page));
    let routes = if !with_mailbox {
        links
    } else {
        links
            .route("/dev/mailbox", get(mailbox_page))
            .route("/dev/mailbox.json", get(mailbox_json))
            .route("/dev/mailbox/email", get(maildev_list))
            .route("/dev/mailbox/email/all", delete(clear))
            .route("/dev/mailbox/{id}", get(mail_page))
            .route("/dev/mailbox/{id}/html", get(mail_html))
    };
    routes.route_layer(middleware::from_fn(local_only))
}

/// The mailbox shows every email's tokens: it answers only to a browser that
/// asked for `localhost` (a page elsewhere cannot reach it by rebinding a
/// name of its own to 127.0.0.1), and nothing of it is cached.
async fn local_only(req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    if !matches!(name, "localhost" | "127.0.0.1" | "::1") {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "The dev pages answer on localhost only",
        )
        .into_response();
    }
    let mut response = next.run(req).await;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn mailbox(state: &AppState) -> Result<&Arc<LocalMailbox>, ApiError> {
    // Routed only when the mailbox exists; `None` would be a wiring bug.
    state
        .dev
        .as_ref()
        .and_then(|d| d.mailbox.as_ref())
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("dev routes without a mailbox")))
}

fn page(
    state: &AppState,
    name: &str,
    context: Value,
    csp: &'static str,
) -> Result<Response, ApiError> {
    let html = state
        .templates
        .render_page(name, &context)
        .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("{name}: {e:#}")))?;
    Ok(super::html_page(html, csp))
}

const PAGE_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; img-src 'self' data:";

/// `GET /dev/mailbox`: newest first.
async fn mailbox_page(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut mails = mailbox(&state)?.all();
    mails.reverse();
    page(
        &state,
        "dev-mailbox.html",
        json!({ "mails": mails }),
        PAGE_CSP,
    )
}

/// `GET /dev/mailbox.json`: every message, newest first, in MailDev's shape.
async fn mailbox_json(State(state): State<AppState>) -> Result<Json<Vec<StoredMail>>, ApiError> {
    let mut mails = mailbox(&state)?.all();
    mails.reverse();
    Ok(Json(mails))
}

/// `GET /dev/mailbox/email`: oldest first, as MailDev's `GET /email`, so a
/// MailDev client works with `mail_url` = `<API>/dev/mailbox`.
async fn maildev_list(State(state): State<AppState>) -> Result<Json<Vec<StoredMail>>, ApiError> {
    Ok(Json(mailbox(&state)?.all()))
}

/// `DELETE /dev/mailbox/email/all`: empties the mailbox (MailDev's route).
async fn clear(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    mailbox(&state)?.clear();
    Ok(Json(json!({"deleted": true})))
}

fn find(state: &AppState, id: &str) -> Result<StoredMail, ApiError> {
    mailbox(state)?
        .get(id)
        .ok_or_else(|| ApiError::not_found("Message not found"))
}

/// `GET /dev/mailbox/{id}`: one message, its HTML part framed and its text
/// part with the links made clickable.
async fn mail_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mail = find(&state, &id)?;
    let text_html = linkify(&mail.text);
    page(
        &state,
        "dev-mail.html",
        json!({ "mail": mail, "text_html": text_html }),
        PAGE_CSP,
    )
}

/// `GET /dev/mailbox/{id}/html`: the HTML part alone, sandboxed (no script),
/// its links opening in a new tab.
async fn mail_html(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mail = find(&state, &id)?;
    let html = match mail.html.find("<head>") {
        Some(i) => format!(
            "{}<base target=\"_blank\">{}",
            &mail.html[..i + 6],
            &mail.html[i + 6..]
        ),
        None => format!("<base target=\"_blank\">{}", mail.html),
    };
    Ok(super::html_page(
        html,
        "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src * data:; frame-ancestors 'self'",
    ))
}

/// The front end's pages that emails link to, in their simplest form: the
/// token from the link and a form that calls the API.
async fn link_page(
    State(state): State<AppState>,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    let kind = uri.path().trim_start_matches('/').to_owned();
    page(
        &state,
        "dev-link.html",
        json!({ "kind": kind }),
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'",
    )
}

/// Escapes `text` for HTML and turns each `http(s)://…` into a link.
pub fn linkify(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(start) = ["https://", "http://"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        escape_into(&mut out, &rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\''))
            .unwrap_or(tail.len());
        let url = tail[..end].trim_end_matches(['.', ',', ')', ';', ':']);
        let mut escaped = String::new();
        escape_into(&mut escaped, url);
        out.push_str(&format!("<a href=\"{escaped}\">{escaped}</a>"));
        rest = &tail[url.len()..];
    }
    escape_into(&mut out, rest);
    out
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::linkify;

    #[test]
    fn links_are_clickable_and_the_rest_escaped() {
        assert_eq!(
            linkify("Open http://localhost:8080/verify-email?token=a_b-c.\n<b>&"),
            "Open <a href=\"http://localhost:8080/verify-email?token=a_b-c\">http://localhost:8080/verify-email?token=a_b-c</a>.\n&lt;b&gt;&amp;"
        );
        assert_eq!(
            linkify("x https://a.test/?q=\"><script> y"),
            "x <a href=\"https://a.test/?q=\">https://a.test/?q=</a>&quot;&gt;&lt;script&gt; y"
        );
        assert_eq!(linkify("no link"), "no link");
    }
}
