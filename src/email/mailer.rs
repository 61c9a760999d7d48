//! Delivery: SMTP with lettre (async, pooled connections), or, in `vectra
//! dev` without `SMTP_URL`, the local mailbox shown at `/dev/mailbox`.

use std::time::Duration;

use anyhow::Context;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Rendered;
use super::mailbox::LocalMailbox;

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Local(std::sync::Arc<LocalMailbox>),
}

/// Why a delivery failed: retry later, or never.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
}

impl Mailer {
    /// `smtp_url` as lettre reads it (`smtp://host:port`, `smtps://…`);
    /// `from` a mailbox such as `Vectra <no-reply@example.com>`.
    pub fn new(smtp_url: &str, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .context("SMTP_URL")?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let from = from.parse().context("EMAIL_FROM")?;
        Ok(Self {
            transport: Transport::Smtp(transport),
            from,
        })
    }

    /// Keeps every email in `mailbox` instead of sending it (`vectra dev`).
    pub fn local(mailbox: std::sync::Arc<LocalMailbox>, from: &str) -> anyhow::Result<Self> {
        Ok(Self {
            transport: Transport::Local(mailbox),
            from: from.parse().context("EMAIL_FROM")?,
        })
    }

    pub async fn send(&self, to: &str, email: &Rendered) -> Result<(), SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::Permanent(format!("invalid recipient {to:?}: {e}")))?;
        // An organization's mail: its name before the platform's address,
        // replies to its sender.
        let from = match &email.from_name {
            Some(name) => Mailbox::new(Some(name.clone()), self.from.email.clone()),
            None => self.from.clone(),
        };
        let mut builder = Message::builder()
            .from(from.clone())
            .to(to.clone())
            .subject(email.subject.clone());
        if let Some(reply_to) = email
            .reply_to
            .as_deref()
            .and_then(|r| r.parse::<Mailbox>().ok())
        {
            builder = builder.reply_to(reply_to);
        }
        for (name, value) in &email.headers {
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str(name),
                value.clone(),
            ));
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| SendError::Permanent(format!("building the message: {e}")))?;
        let transport = match &self.transport {
            Transport::Smtp(t) => t,
            Transport::Local(mailbox) => {
                mailbox.deliver(&from, &to, email);
                return Ok(());
            }
        };
        match transport.send(message).await {
            Ok(_) => Ok(()),
            // 5xx answers are the server's final word; anything else
            // (connection refused, timeout, 4xx) may pass later.
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}
