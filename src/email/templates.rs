//! Email templates: `templates/emails/<name>/{subject.txt, body.txt, body.html}`,
//! embedded at build time. HTML is autoescaped (by file extension); the text
//! part is not.

use minijinja::Environment;
use serde_json::Value;

/// The parts of a rendered email, and the headers it needs beyond the usual.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Extra headers, e.g. `List-Unsubscribe` (RFC 2369) and
    /// `List-Unsubscribe-Post` (RFC 8058) on bulk mail.
    pub headers: Vec<(&'static str, String)>,
    /// The sender's display name when an organization speaks ("Acme via
    /// Vectra"); `None`: the platform's own (`EMAIL_FROM`).
    pub from_name: Option<String>,
    /// Where replies go when an organization speaks: its sender.
    pub reply_to: Option<String>,
}

pub struct Templates {
    env: Environment<'static>,
    base_url: String,
    app_name: String,
}

/// The emails the service knows how to render.
pub const TEMPLATES: &[&str] = &[
    "verify-email",
    "reset-password",
    "invite-user",
    "organization-update",
    "account-exists",
    "notification",
];

/// Where an email's one-click unsubscribe link points, under PUBLIC_BASE_URL.
pub const UNSUBSCRIBE_PATH: &str = "/api/v1/unsubscribe?token=";

impl Templates {
    /// `base_url` (PUBLIC_BASE_URL) prefixes every link; the platform is
    /// called "Vectra" unless [`Templates::named`].
    pub fn new(base_url: &str) -> Self {
        let mut env = Environment::new();
        minijinja_embed::load_templates!(&mut env);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        Self {
            env,
            base_url: base_url.trim_end_matches('/').to_owned(),
            app_name: "Vectra".to_owned(),
        }
    }

    /// The platform's name in every email and page (`PLATFORM_NAME`).
    pub fn named(mut self, platform_name: &str) -> Self {
        self.app_name = platform_name.to_owned();
        self
    }

    pub fn render(&self, template: &str, context: &Value) -> Result<Rendered, minijinja::Error> {
        let mut ctx = match context {
            Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        ctx.insert("base_url".into(), Value::String(self.base_url.clone()));
        ctx.insert("app_name".into(), Value::String(self.app_name.clone()));
        // HTML written by a sender is sanitized again here, whoever stored
        // it: a row queued by direct SQL gets no script into an email either.
        // What the checker refuses (only a row written around the API can
        // hold it) goes out as its text part alone.
        if let Some(Value::String(html)) = ctx.get("body_html") {
            match super::html::sanitize_cached(html) {
                Ok(clean) => ctx.insert("body_html".into(), Value::String(clean)),
                Err(_) => ctx.remove("body_html"),
            };
        }
        let mut headers = Vec::new();
        if let Some(Value::String(token)) = ctx.get("unsubscribe_token") {
            let url = format!("{}{UNSUBSCRIBE_PATH}{token}", self.base_url);
            headers.push(("List-Unsubscribe", format!("<{url}>")));
            headers.push((
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".to_owned(),
            ));
            ctx.insert("unsubscribe_url".into(), Value::String(url));
        }
        // An organization's mail says who sends it, under the platform's
        // address: "Acme via Vectra", replies to its sender.
        let organization = match (template, ctx.get("type").and_then(Value::as_str)) {
            ("invite-user", _)
            | ("notification", Some("org_to_prospects" | "org_owner_to_members")) => {
                ctx.get("organization_name").and_then(Value::as_str)
            }
            _ => None,
        };
        let from_name = organization.map(|o| format!("{o} via {}", self.app_name));
        let reply_to = organization
            .and_then(|_| ctx.get("reply_to").and_then(Value::as_str))
            .map(str::to_owned);
        let ctx = minijinja::Value::from(minijinja::value::Serde(Value::Object(ctx)));
        let part = |name: &str| {
            self.env
                .get_template(&format!("emails/{template}/{name}"))
                .and_then(|t| t.render(&ctx))
        };
        Ok(Rendered {
            // A subject is one line, whatever the template's whitespace.
            subject: part("subject.txt")?
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            text: part("body.txt")?,
            html: part("body.html")?,
            headers,
            from_name,
            reply_to,
        })
    }

    /// A page the service shows in a browser (`templates/pages/<name>`),
    /// autoescaped.
    pub fn render_page(&self, name: &str, context: &Value) -> Result<String, minijinja::Error> {
        let mut ctx = match context {
            Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        ctx.insert("app_name".into(), Value::String(self.app_name.clone()));
        self.env
            .get_template(&format!("pages/{name}"))
            .and_then(|t| t.render(minijinja::value::Serde(Value::Object(ctx))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_template_renders_with_its_link() {
        let t = Templates::new("https://app.example.com/");
        for name in TEMPLATES {
            let r = t
                .render(name, &sample_context())
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert!(!r.subject.is_empty() && !r.subject.contains('\n'), "{name}");
            match *name {
                "organization-update" => {
                    assert!(r.text.contains("name and settings"), "{}", r.text)
                }
                // The sender's words, the action link and the unsubscribe link.
                "notification" => {
                    assert!(
                        r.text.contains("Spring offer")
                            && r.text.contains("https://shop.example/offer"),
                        "{}",
                        r.text
                    );
                    assert!(
                        r.text
                            .contains("https://app.example.com/api/v1/unsubscribe?token=tok123"),
                        "{}",
                        r.text
                    );
                    assert!(r.html.contains("<p>Our <b>new</b> range</p>"), "{}", r.html);
                    assert_eq!(
                        r.headers,
                        vec![
                            (
                                "List-Unsubscribe",
                                "<https://app.example.com/api/v1/unsubscribe?token=tok123>"
                                    .to_owned()
                            ),
                            (
                                "List-Unsubscribe-Post",
                                "List-Unsubscribe=One-Click".to_owned()
                            ),
                        ]
                    );
                }
                // No token: the address's owner signs in or asks for a reset.
                "account-exists" => {
                    assert!(
                        r.text.contains("https://app.example.com/login"),
                        "{}",
                        r.text
                    );
                    assert!(r.text.contains("https://app.example.com/forgot-password"));
                    assert!(r.html.contains("forgot-password"), "{}", r.html);
                    assert!(!r.text.contains("token="), "{}", r.text);
                }
                // Every other email carries a one-time link.
                _ => {
                    let link = "https://app.example.com/";
                    assert!(r.text.contains(link), "{name}: {}", r.text);
                    assert!(r.text.contains("token=tok123"), "{name}");
                    assert!(r.html.contains("token=tok123"), "{name}");
                }
            }
            assert!(r.html.starts_with("<!doctype html>"), "{name}");
        }
    }

    /// Every variable any template uses.
    fn sample_context() -> serde_json::Value {
        json!({
            "name": "Ann", "token": "tok123", "organization_name": "Acme",
            "inviter_name": "Olive", "role": "admin", "expires_at": "2026-12-04 10:00 UTC",
            "actor_name": "Olive", "changes": ["name", "settings"],
            "type": "org_to_prospects", "subject": "Spring offer", "body": "Spring offer\n\nSee it.",
            "body_html": "<p>Our <b>new</b> range</p><script>alert(1)</script>",
            "action_url": "https://shop.example/offer", "action_text": "See the offer",
            "sender_name": "Olive", "unsubscribe_token": "tok123",
        })
    }

    /// The console's changes list what changed, from and to.
    #[test]
    fn organization_update_lists_the_details_when_given() {
        let t = Templates::new("http://localhost:8080");
        let r = t
            .render(
                "organization-update",
                &json!({"name": "Ann", "organization_name": "Acme", "actor_name": "The Vectra team",
                        "changes": ["plan", "status"],
                        "details": ["plan: free → pro", "status: active → suspended"]}),
            )
            .expect("render");
        assert!(
            r.text
                .contains("- plan: free → pro\n- status: active → suspended"),
            "{}",
            r.text
        );
        assert!(
            r.html.contains("<li>status: active → suspended</li>"),
            "{}",
            r.html
        );
    }

    #[test]
    fn a_notification_never_carries_a_script() {
        let t = Templates::new("https://app.example.com");
        let r = t
            .render(
                "notification",
                &json!({"type": "vectra_to_users", "subject": "s", "body": "b",
                        "body_html": "<img src=x onerror=alert(1)><a href=\"javascript:alert(2)\">x</a><script>alert(3)</script>"}),
            )
            .expect("render");
        for needle in ["<script", "onerror", "javascript:"] {
            assert!(!r.html.contains(needle), "{needle} in {}", r.html);
        }
        assert!(r.headers.is_empty(), "no unsubscribe token, no header");
    }

    #[test]
    fn an_organizations_mail_says_who_sends_it() {
        let t = Templates::new("https://app.example.com").named("Acmeplatform");
        let r = t
            .render(
                "notification",
                &json!({"type": "org_to_prospects", "subject": "s", "body": "b",
                        "organization_name": "Initech", "sender_name": "Olive", "reply_to": "olive@initech.test"}),
            )
            .expect("render");
        assert_eq!(r.from_name.as_deref(), Some("Initech via Acmeplatform"));
        assert_eq!(r.reply_to.as_deref(), Some("olive@initech.test"));
        let r = t
            .render(
                "invite-user",
                &json!({"token": "t", "organization_name": "Initech", "inviter_name": "Olive",
                        "role": "member", "expires_at": "soon"}),
            )
            .expect("render");
        assert_eq!(r.from_name.as_deref(), Some("Initech via Acmeplatform"));
        assert!(r.subject.ends_with("on Acmeplatform"), "{}", r.subject);
        // The platform's own mail is the platform's, whatever the context says.
        let r = t
            .render(
                "notification",
                &json!({"type": "system_alerts", "subject": "s", "body": "b",
                        "organization_name": "Initech", "reply_to": "olive@initech.test"}),
            )
            .expect("render");
        assert_eq!((r.from_name, r.reply_to), (None, None));
    }

    #[test]
    fn system_alerts_look_like_alerts_and_have_no_unsubscribe_link() {
        let t = Templates::new("https://app.example.com");
        let r = t
            .render(
                "notification",
                &json!({"type": "system_alerts", "subject": "Maintenance", "body": "Tonight."}),
            )
            .expect("render");
        assert!(r.subject.starts_with("[Alert]"), "{}", r.subject);
        assert!(r.html.contains("role=\"alert\""), "{}", r.html);
        assert!(!r.text.contains("unsubscribe"), "{}", r.text);
    }

    #[test]
    fn the_unsubscribe_page_asks_then_confirms() {
        let t = Templates::new("https://app.example.com");
        let ask = t
            .render_page("unsubscribe.html", &json!({"token": "a.b", "target": {
                "kind": "prospects", "email": "lea@x.test", "organization_name": "<Acme>", "unsubscribed": false}}))
            .expect("render");
        assert!(
            ask.contains("Stop sending emails from &lt;Acme&gt; to <strong>lea@x.test</strong>"),
            "{ask}"
        );
        assert!(ask.contains("action=\"?token=a.b\""), "{ask}");
        let done = t
            .render_page("unsubscribe.html", &json!({"token": "a.b", "target": {
                "kind": "announcements", "email": "u@x.test", "organization_name": null, "unsubscribed": true}}))
            .expect("render");
        assert!(
            done.contains("will receive no more announcements from the Vectra team"),
            "{done}"
        );
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let t = Templates::new("http://localhost:8080");
        let r = t
            .render(
                "verify-email",
                &json!({"name": "<b>Eve</b> & co", "token": "t"}),
            )
            .expect("render");
        assert!(
            r.html.contains("&lt;b&gt;Eve&lt;&#x2f;b&gt; &amp; co")
                || r.html.contains("&lt;b&gt;Eve&lt;/b&gt; &amp; co"),
            "{}",
            r.html
        );
        assert!(!r.html.contains("<b>Eve</b>"));
        assert!(r.text.contains("<b>Eve</b> & co"));
    }

    #[test]
    fn a_missing_variable_is_an_error_not_a_blank() {
        let t = Templates::new("http://localhost:8080");
        assert!(t.render("verify-email", &json!({"name": "Ann"})).is_err());
        assert!(t.render("no-such-email", &json!({})).is_err());
    }
}
