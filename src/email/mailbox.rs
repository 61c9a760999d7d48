//! The local mailbox of `vectra dev` (when `SMTP_URL` is not set): every
//! email the outbox worker delivers is kept in memory, newest last, and shown
//! at `/dev/mailbox` (see `http::dev`). Bounded: the oldest messages go first.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use lettre::message::Mailbox;
use serde::Serialize;
use time::OffsetDateTime;

use super::Rendered;

/// Messages kept; older ones are dropped.
pub const MAILBOX_CAPACITY: usize = 1_000;

/// An address as MailDev's REST API shows it, so clients written for MailDev
/// read this mailbox unchanged.
#[derive(Clone, Debug, Serialize)]
pub struct Address {
    pub address: String,
    pub name: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct StoredMail {
    pub id: String,
    pub from: Vec<Address>,
    pub to: Vec<Address>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Header names in lower case, as MailDev gives them.
    pub headers: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    pub date: OffsetDateTime,
}

#[derive(Default)]
pub struct LocalMailbox {
    mails: Mutex<VecDeque<StoredMail>>,
    next_id: AtomicU64,
}

fn address(m: &Mailbox) -> Address {
    Address {
        address: m.email.to_string(),
        name: m.name.clone().unwrap_or_default(),
    }
}

impl LocalMailbox {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn deliver(&self, from: &Mailbox, to: &Mailbox, email: &Rendered) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let mut headers: BTreeMap<String, String> = email
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        headers.insert("from".into(), from.to_string());
        headers.insert("to".into(), to.to_string());
        headers.insert("subject".into(), email.subject.clone());
        if let Some(reply_to) = &email.reply_to {
            headers.insert("reply-to".into(), reply_to.clone());
        }
        let mail = StoredMail {
            id: id.to_string(),
            from: vec![address(from)],
            to: vec![address(to)],
            subject: email.subject.clone(),
            text: email.text.clone(),
            html: email.html.clone(),
            headers,
            date: OffsetDateTime::now_utc(),
        };
        let mut mails = self.mails.lock().unwrap_or_else(|e| e.into_inner());
        if mails.len() == MAILBOX_CAPACITY {
            mails.pop_front();
        }
        mails.push_back(mail);
    }

    /// Every message, oldest first.
    pub fn all(&self) -> Vec<StoredMail> {
        let mails = self.mails.lock().unwrap_or_else(|e| e.into_inner());
        mails.iter().cloned().collect()
    }

    pub fn get(&self, id: &str) -> Option<StoredMail> {
        let mails = self.mails.lock().unwrap_or_else(|e| e.into_inner());
        mails.iter().find(|m| m.id == id).cloned()
    }

    pub fn clear(&self) {
        self.mails.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(subject: &str) -> Rendered {
        Rendered {
            subject: subject.into(),
            text: "text".into(),
            html: "<p>html</p>".into(),
            headers: vec![("List-Unsubscribe", "<https://x.test/u>".into())],
            from_name: None,
            reply_to: None,
        }
    }

    #[test]
    fn keeps_the_newest_within_its_capacity() {
        let mb = LocalMailbox::new();
        let from: Mailbox = "Vectra <no-reply@vectra.local>".parse().unwrap();
        let to: Mailbox = "ann@example.com".parse().unwrap();
        for i in 0..MAILBOX_CAPACITY + 5 {
            mb.deliver(&from, &to, &rendered(&format!("mail {i}")));
        }
        let all = mb.all();
        assert_eq!(all.len(), MAILBOX_CAPACITY);
        assert_eq!(all[0].subject, "mail 5");
        assert_eq!(
            all.last().unwrap().subject,
            format!("mail {}", MAILBOX_CAPACITY + 4)
        );
        let last = mb.get(&all.last().unwrap().id).expect("by id");
        assert_eq!(last.to[0].address, "ann@example.com");
        assert_eq!(last.from[0].name, "Vectra");
        assert_eq!(last.headers["list-unsubscribe"], "<https://x.test/u>");
        mb.clear();
        assert!(mb.all().is_empty());
    }
}
