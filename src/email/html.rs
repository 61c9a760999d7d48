//! The one HTML sanitizer for what senders write (`body_html`): used when a
//! notification is stored, when it is shown back, and when each email is
//! rendered, so that a row written by direct SQL carries no script either.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use sha2::{Digest, Sha256};

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    // Links and images leave the email: absolute web and mail addresses only
    // (no relative URL, no sms:, magnet:, data: …).
    b.url_schemes(["https", "http", "mailto"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::Deny);
    b
});

/// `html` with scripts, event handlers, styles that could hide content and
/// unlisted URL schemes removed.
pub fn sanitize(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

/// Clean versions kept by content (a SHA-256): the worker renders the same
/// notification for each of its recipients, and cleaning 100,000 characters
/// 50,000 times would cost minutes of CPU.
const CACHED: usize = 16;
static CACHE: LazyLock<Mutex<HashMap<[u8; 32], String>>> = LazyLock::new(Default::default);

pub fn sanitize_cached(html: &str) -> String {
    let key: [u8; 32] = Sha256::digest(html.as_bytes()).into();
    if let Some(clean) = CACHE.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return clean.clone();
    }
    let clean = sanitize(html);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= CACHED {
        cache.clear();
    }
    cache.insert(key, clean.clone());
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_odd_schemes_go() {
        let dirty = r#"<p onclick="x()">Hi<script>alert(1)</script> <a href="javascript:alert(1)">a</a> <a href="sms:+1">b</a> <a href="/relative">c</a> <a href="https://ok.test/">d</a> <img src="data:image/png;base64,AA"></p>"#;
        let clean = sanitize(dirty);
        for gone in [
            "script",
            "onclick",
            "javascript:",
            "sms:",
            "/relative",
            "data:",
        ] {
            assert!(!clean.contains(gone), "{gone} in {clean}");
        }
        assert!(clean.contains(r#"href="https://ok.test/""#), "{clean}");
        assert_eq!(sanitize_cached(dirty), clean);
        assert_eq!(sanitize_cached(dirty), clean);
    }
}
