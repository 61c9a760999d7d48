//! Email templates: `templates/emails/<name>/{subject.txt, body.txt, body.html}`,
//! embedded at build time. HTML is autoescaped (by file extension); the text
//! part is not.

use minijinja::Environment;
use serde_json::Value;

/// The three parts of a rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
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
];

impl Templates {
    /// `base_url` (PUBLIC_BASE_URL) prefixes every link.
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

    pub fn render(&self, template: &str, context: &Value) -> Result<Rendered, minijinja::Error> {
        let mut ctx = match context {
            Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        ctx.insert("base_url".into(), Value::String(self.base_url.clone()));
        ctx.insert("app_name".into(), Value::String(self.app_name.clone()));
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
        })
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
