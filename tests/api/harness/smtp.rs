//! A real SMTP server for tests: accepts every message over TCP, keeps it,
//! and can be stopped and restarted on the same port to simulate an outage.
//! Only the commands lettre sends are understood (EHLO/HELO, MAIL, RCPT,
//! DATA, RSET, NOOP, QUIT).
//!
//! A sink may be given the outbox of its app (`deliver_with`): then
//! `deliver` sends every due email of that app's outbox into it at once, and
//! `wait_for` delivers instead of waiting for the app's worker.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// One message as received, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Every header, name and (unfolded) value, in order.
    pub headers: Vec<(String, String)>,
}

impl Mail {
    /// The value of `?token=` in the first link of the text part.
    pub fn token(&self) -> String {
        let start = self.text.find("token=").expect("a link with a token") + "token=".len();
        self.text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }

    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path (under the test's `PUBLIC_BASE_URL`) of the one-click
    /// unsubscribe link in `List-Unsubscribe`.
    pub fn unsubscribe_path(&self) -> String {
        self.header("List-Unsubscribe")
            .expect("a List-Unsubscribe header")
            .trim_matches(|c| c == '<' || c == '>')
            .strip_prefix("http://app.vectra.test")
            .expect("under PUBLIC_BASE_URL")
            .to_owned()
    }

    /// The first link of the text part.
    pub fn link(&self) -> String {
        let start = self.text.find("http").expect("a link");
        self.text[start..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

#[derive(Default)]
struct Inbox {
    mails: Mutex<Vec<Mail>>,
    arrived: Notify,
}

pub struct SmtpSink {
    port: u16,
    inbox: Arc<Inbox>,
    server: Mutex<Option<JoinHandle<()>>>,
    /// The outbox the test drives itself, when the app's worker is idle.
    outbox: std::sync::OnceLock<vectra::email::Outbox>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind SMTP sink");
        let port = listener.local_addr().expect("addr").port();
        let inbox = Arc::new(Inbox::default());
        let server = tokio::spawn(serve(listener, inbox.clone()));
        Self {
            port,
            inbox,
            server: Mutex::new(Some(server)),
            outbox: std::sync::OnceLock::new(),
        }
    }

    /// From now on, `deliver` (and `wait_for`) run this outbox's rounds.
    pub fn deliver_with(&self, outbox: vectra::email::Outbox) {
        assert!(self.outbox.set(outbox).is_ok(), "one outbox per sink");
    }

    /// Runs delivery rounds until one finds nothing due: every email queued
    /// so far is then in this sink, or rescheduled or failed in the outbox.
    /// Returns how many rows were attempted. Without an outbox, nothing.
    pub async fn deliver(&self) -> usize {
        let Some(outbox) = self.outbox.get() else {
            return 0;
        };
        let mut attempted = 0;
        loop {
            match outbox.deliver_due().await.expect("an outbox round") {
                0 => return attempted,
                n => attempted += n,
            }
        }
    }

    /// Whether the test delivers (an outbox was given) rather than the app's worker.
    pub fn is_manual(&self) -> bool {
        self.outbox.get().is_some()
    }

    /// Forgets every message received so far.
    pub fn clear(&self) {
        self.inbox.mails.lock().expect("lock").clear();
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Closes the port and every open connection: the server is gone.
    pub fn stop(&self) {
        if let Some(server) = self.server.lock().expect("lock").take() {
            server.abort();
        }
    }

    /// Listens on the same port again.
    pub async fn restart(&self) {
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        *self.server.lock().expect("lock") =
            Some(tokio::spawn(serve(listener, self.inbox.clone())));
    }

    pub fn all(&self) -> Vec<Mail> {
        self.inbox.mails.lock().expect("lock").clone()
    }

    pub fn to(&self, address: &str) -> Vec<Mail> {
        self.all()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Every message `address` has received once all due email is
    /// delivered (needs an outbox: `deliver_with`).
    pub async fn delivered_to(&self, address: &str) -> Vec<Mail> {
        assert!(self.is_manual(), "no outbox to deliver from");
        self.deliver().await;
        self.to(address)
    }

    /// At least `count` messages to `address`, and returns them all. With an
    /// outbox, delivers what is due and fails at once if fewer arrived;
    /// otherwise waits (20 s at most) for the app's worker.
    pub async fn wait_for(&self, address: &str, count: usize) -> Vec<Mail> {
        if self.is_manual() {
            let mails = self.delivered_to(address).await;
            assert!(
                mails.len() >= count,
                "{address} received {} of {count} emails; all: {:?}",
                mails.len(),
                self.all()
                    .iter()
                    .map(|m| (&m.to, &m.subject))
                    .collect::<Vec<_>>()
            );
            return mails;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let arrived = self.inbox.arrived.notified();
            let mails = self.to(address);
            if mails.len() >= count {
                return mails;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "{address} received {} of {count} emails within 20 s; all: {:?}",
                    mails.len(),
                    self.all()
                        .iter()
                        .map(|m| (&m.to, &m.subject))
                        .collect::<Vec<_>>()
                );
            }
        }
    }

    /// The latest message to `address`, waiting for at least one.
    pub async fn last_to(&self, address: &str) -> Mail {
        let mails = self.wait_for(address, 1).await;
        mails.last().cloned().expect("at least one")
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(listener: TcpListener, inbox: Arc<Inbox>) {
    // Connections are children of this task: aborting it must close them
    // too, or a pooled client would keep talking to a "stopped" server.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                connections.spawn(session(stream, inbox.clone()));
            }
            Err(_) => return,
        }
    }
}

async fn session(stream: TcpStream, inbox: Arc<Inbox>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if command.starts_with("HELO") || command.starts_with("NOOP") {
            b"250 OK\r\n"
        } else if command.starts_with("MAIL FROM") {
            to.clear();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO") {
            let raw = line.trim_end();
            let address = raw[raw.find('<').map_or(8, |i| i + 1)..]
                .trim_end_matches('>')
                .to_owned();
            to.push(address);
            b"250 OK\r\n"
        } else if command == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = Vec::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let content = line.strip_prefix('.').unwrap_or(&line);
                data.extend_from_slice(content.as_bytes());
            }
            let mail = decode(std::mem::take(&mut to), &data);
            inbox.mails.lock().expect("lock").push(mail);
            inbox.arrived.notify_waiters();
            b"250 OK queued\r\n"
        } else if command == "RSET" {
            to.clear();
            b"250 OK\r\n"
        } else if command == "QUIT" {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 Command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

fn decode(to: Vec<String>, raw: &[u8]) -> Mail {
    let parsed = mailparse::parse_mail(raw).expect("a parseable message");
    let subject = parsed
        .headers
        .iter()
        .find(|h| h.get_key().eq_ignore_ascii_case("subject"))
        .map(|h| h.get_value())
        .unwrap_or_default();
    let mut text = String::new();
    let mut html = String::new();
    let mut parts = vec![&parsed];
    while let Some(part) = parts.pop() {
        if part.subparts.is_empty() {
            let body = part.get_body().unwrap_or_default();
            match part.ctype.mimetype.as_str() {
                "text/plain" => text = body,
                "text/html" => html = body,
                _ => {}
            }
        } else {
            parts.extend(part.subparts.iter());
        }
    }
    let headers = parsed
        .headers
        .iter()
        .map(|h| (h.get_key(), h.get_value()))
        .collect();
    Mail {
        to,
        subject,
        text,
        html,
        headers,
    }
}
