//! Email: templates (minijinja, embedded from `templates/emails/`), the SMTP
//! mailer (lettre) and the outbox worker that connects them.
//!
//! Nothing sends email directly: SQL functions write `email_outbox` rows in
//! the transaction that causes them, and the worker delivers them.

pub mod html;
pub mod mailbox;
pub mod mailer;
pub mod templates;
pub mod worker;

pub use mailbox::LocalMailbox;
pub use mailer::Mailer;
pub use templates::{Rendered, Templates};
pub use worker::{Outbox, OutboxSettings};
