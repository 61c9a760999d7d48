//! Rate limits for the routes an attacker can call in bulk, answering 429
//! with `Retry-After`, counted once for the whole deployment: [`Limits`]
//! asks the database (`auth.hit_limits`, `auth.check_login`: one statement
//! per limited request), where every instance meets. In front of it, each
//! instance keeps the in-memory limiters below: they count only what this
//! instance saw, so they never refuse what the database would allow, and a
//! flood of one key stops here without costing the database anything.
//!
//! Memory is bounded whatever clients send:
//! * a key is a 64-bit hash (keyed per process) of the route and the value,
//!   never the value itself, so a 900 kB "email" costs 8 bytes;
//! * IPv6 clients are keyed by their /64, which one host usually holds whole;
//! * each limiter holds at most `max_keys` keys; when full, new keys share one
//!   overflow bucket until pruning makes room (`prune`, every minute).
//!
//! [`LoginFailures`] is the per-email login limit: it counts failures only,
//! backs off progressively, and a success resets it, so a stranger's bad
//! guesses cannot lock the real user out for long.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::{Quota, RateLimiter as Governor};
use uuid::Uuid;

use crate::db::{self, Actor, Db, calls};

/// What a request is counted against.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// The client address (IPv6 by its /64), per route.
    Ip(&'static str, IpAddr),
    /// An email as typed (trimmed, case-folded), per route.
    Email(&'static str, &'a str),
    /// A signed-in user, per route.
    User(&'static str, Uuid),
}

/// Characters of an email that make its key: more than any valid address.
const MAX_KEYED_CHARS: usize = 320;

impl Key<'_> {
    /// The key as the database counts it (`route|kind|value`, the email
    /// folded as below, the address by its /64); the database stores only
    /// its HMAC.
    pub fn shared(&self) -> String {
        match self {
            Key::Ip(route, ip) => format!("{route}|ip|{}", normalized(*ip)),
            Key::Email(route, email) => format!("{route}|email|{}", folded(email)),
            Key::User(route, id) => format!("{route}|user|{id}"),
        }
    }
}

/// An email as typed, trimmed and case-folded, cut at [`MAX_KEYED_CHARS`]:
/// the spellings the login lookup treats as one address make one key.
pub fn folded(email: &str) -> String {
    email
        .trim()
        .chars()
        .flat_map(char::to_lowercase)
        .take(MAX_KEYED_CHARS)
        .collect()
}

/// The shared bucket of keys that arrive while a limiter is full. Hashed
/// keys are always odd, so none is this one.
const OVERFLOW: u64 = 0;

/// Hashes keys the same way for a limiter's lifetime, with a per-process
/// secret (an attacker cannot aim two emails at one bucket).
#[derive(Clone, Default)]
struct Keyer(RandomState);

impl Keyer {
    fn key(&self, key: &Key<'_>) -> u64 {
        let mut h = self.0.build_hasher();
        match key {
            Key::Ip(route, ip) => {
                (0u8, route).hash(&mut h);
                normalized(*ip).hash(&mut h);
            }
            Key::Email(route, email) => {
                (1u8, route).hash(&mut h);
                // Folded on the fly, no copy made, and no more than an email
                // can hold: a 900 kB "email" costs what a real one does
                // (all such strings share their first characters' bucket).
                // Length counted after folding, so that spellings the login
                // lookup treats as one address (a Kelvin sign for a `k`)
                // share one key.
                let mut folded = email.trim().chars().flat_map(char::to_lowercase);
                let mut n = 0;
                for c in folded.by_ref().take(MAX_KEYED_CHARS) {
                    h.write_u32(c as u32);
                    n += 1;
                }
                (n, folded.next().is_some()).hash(&mut h);
            }
            Key::User(route, id) => {
                (2u8, route).hash(&mut h);
                id.hash(&mut h);
            }
        }
        h.finish() | 1
    }
}

/// IPv4 as is (IPv4-mapped IPv6 too); other IPv6 addresses by their /64.
pub fn normalized(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// governor's DashMap store with a ceiling on the number of keys.
struct BoundedStore {
    map: DashMapStateStore<u64>,
    max_keys: usize,
}

impl StateStore for BoundedStore {
    type Key = u64;

    fn measure_and_replace<T, F, E>(&self, key: &u64, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let key = if self.map.len() >= self.max_keys && !self.map.contains_key(key) {
            &OVERFLOW
        } else {
            key
        };
        self.map.measure_and_replace(key, f)
    }
}

impl ShrinkableKeyedStateStore<u64> for BoundedStore {
    fn retain_recent(&self, drop_below: Nanos) {
        ShrinkableKeyedStateStore::retain_recent(&self.map, drop_below);
    }
    fn shrink_to_fit(&self) {
        self.map.shrink_to_fit();
    }
    fn len(&self) -> usize {
        self.map.len()
    }
    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Governor<u64, BoundedStore, DefaultClock>>,
    clock: DefaultClock,
    keyer: Keyer,
    max_keys: usize,
    last_prune: Arc<AtomicU64>,
    started: Instant,
}

impl RateLimiter {
    /// `per_minute` requests per key per minute, all usable at once; at most
    /// `max_keys` keys held.
    pub fn new(per_minute: u32, max_keys: usize) -> Self {
        let n = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let clock = DefaultClock::default();
        let store = BoundedStore {
            map: DashMapStateStore::default(),
            max_keys: max_keys.max(1),
        };
        Self {
            inner: Arc::new(Governor::new(Quota::per_minute(n), store, clock.clone())),
            clock,
            keyer: Keyer::default(),
            max_keys: max_keys.max(1),
            last_prune: Arc::new(AtomicU64::new(0)),
            started: Instant::now(),
        }
    }

    /// Counts one request against each key; refuses if any is exhausted.
    pub fn check(&self, keys: &[Key<'_>]) -> Result<(), Limited> {
        if self.inner.len() >= self.max_keys {
            self.prune_at_most_every(Duration::from_secs(1));
        }
        for key in keys {
            if let Err(not_until) = self.inner.check_key(&self.keyer.key(key)) {
                let wait = not_until.wait_time_from(self.clock.now());
                return Err(too_many(wait));
            }
        }
        Ok(())
    }

    /// Forgets keys whose limits have fully recovered.
    pub fn prune(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }

    fn prune_at_most_every(&self, every: Duration) {
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.last_prune.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= every.as_millis() as u64
            && self
                .last_prune
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.inner.retain_recent();
        }
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

/// The limits as the routes see them: this instance's memory first, then
/// the deployment's count in the database.
#[derive(Clone)]
pub struct Limits {
    memory: RateLimiter,
    failures: LoginFailures,
    per_minute: i32,
    free_failures: i32,
}

/// Why a limited request may not go on.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Limited(#[from] Limited),
    /// The database could not count it: refused too (fail closed).
    #[error(transparent)]
    Db(#[from] db::Error),
}

impl Limits {
    /// `per_minute` attempts per key a minute (`RATE_LIMIT_PER_MINUTE`),
    /// `free_failures` failed logins per email before the backoff
    /// (`LOGIN_FAILURES_BEFORE_BACKOFF`), at most `max_keys` keys in memory.
    pub fn new(per_minute: u32, free_failures: u32, max_keys: usize) -> Self {
        Self {
            memory: RateLimiter::new(per_minute, max_keys),
            failures: LoginFailures::new(free_failures, max_keys),
            per_minute: per_minute.clamp(1, i32::MAX as u32) as i32,
            free_failures: free_failures.min(i32::MAX as u32) as i32,
        }
    }

    /// Counts one attempt against each key; refused if any is spent.
    pub async fn check(&self, db: &Db, keys: &[Key<'_>]) -> Result<(), Refusal> {
        self.memory.check(keys)?;
        let shared: Vec<String> = keys.iter().map(Key::shared).collect();
        let shared: Vec<&str> = shared.iter().map(String::as_str).collect();
        refused(calls::hit_limits(db, &Actor::Anonymous, &shared, self.per_minute).await?)
    }

    /// Before a login's password is checked: the address's limit and the
    /// email's backoff.
    pub async fn check_login(&self, db: &Db, client: IpAddr, email: &str) -> Result<(), Refusal> {
        let address = Key::Ip("login", client);
        self.memory.check(&[address])?;
        self.failures.check(email)?;
        let wait = calls::check_login(
            db,
            &Actor::Anonymous,
            &address.shared(),
            &folded(email),
            self.per_minute,
        )
        .await?;
        refused(wait)
    }

    /// A wrong password (or no such account) for this email.
    pub async fn login_failed(&self, db: &Db, email: &str) -> Result<(), db::Error> {
        self.failures.failed(email);
        calls::login_failed(db, &Actor::Anonymous, &folded(email), self.free_failures).await
    }

    /// A successful login: the email starts afresh.
    pub async fn login_succeeded(&self, db: &Db, email: &str) -> Result<(), db::Error> {
        self.failures.succeeded(email);
        calls::login_succeeded(db, &Actor::Anonymous, &folded(email)).await
    }

    /// Forgets the in-memory keys that recovered (the database's are the
    /// worker's to prune: `auth.prune_limits`).
    pub fn prune(&self) {
        self.memory.prune();
        self.failures.prune();
    }
}

fn refused(wait: Option<f64>) -> Result<(), Refusal> {
    match wait {
        Some(secs) => Err(Limited {
            wait: Duration::try_from_secs_f64(secs).unwrap_or(Duration::from_secs(1)),
        }
        .into()),
        None => Ok(()),
    }
}

/// A refused attempt (a 429), and how long until the next is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Too many attempts; try again later")]
pub struct Limited {
    pub wait: Duration,
}

impl Limited {
    /// `Retry-After`: whole seconds, at least one.
    pub fn retry_after_secs(&self) -> u64 {
        self.wait.as_secs_f64().ceil().max(1.0) as u64
    }
}

fn too_many(wait: Duration) -> Limited {
    Limited { wait }
}

/// A failed login is forgotten this long after the last one.
const FAILURE_MEMORY: Duration = Duration::from_secs(3600);
/// The longest wait between attempts, however many failures.
pub const MAX_LOGIN_BACKOFF: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    blocked_until: Instant,
}

/// Failed logins per email. The first `free` failures cost nothing; each
/// further one makes the next attempt wait 1 s, 2 s, 4 s … up to
/// [`MAX_LOGIN_BACKOFF`]. A successful login clears the email.
#[derive(Default)]
struct FailureTable {
    entries: HashMap<u64, Failures>,
    /// When a full table was last scanned for stale entries: a flood of new
    /// emails must not rescan it on every request.
    last_scan: Option<Instant>,
}

#[derive(Clone)]
pub struct LoginFailures {
    inner: Arc<Mutex<FailureTable>>,
    keyer: Keyer,
    free: u32,
    max_keys: usize,
}

impl LoginFailures {
    pub fn new(free: u32, max_keys: usize) -> Self {
        Self {
            inner: Arc::default(),
            keyer: Keyer::default(),
            free,
            max_keys: max_keys.max(1),
        }
    }

    fn key(&self, email: &str) -> u64 {
        self.keyer.key(&Key::Email("login", email))
    }

    fn table(&self) -> std::sync::MutexGuard<'_, FailureTable> {
        // A panic while holding the lock leaves plain counters behind: usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// 429 while the email is backing off.
    pub fn check(&self, email: &str) -> Result<(), Limited> {
        let now = Instant::now();
        match self.table().entries.get(&self.key(email)) {
            Some(f) if f.blocked_until > now => Err(too_many(f.blocked_until - now)),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt.
    pub fn failed(&self, email: &str) {
        let now = Instant::now();
        let key = self.key(email);
        let mut table = self.table();
        if !table.entries.contains_key(&key) && table.entries.len() >= self.max_keys {
            if table
                .last_scan
                .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1))
            {
                table.last_scan = Some(now);
                table.entries.retain(|_, f| {
                    f.blocked_until > now || now.duration_since(f.last) < FAILURE_MEMORY
                });
            }
            if table.entries.len() >= self.max_keys {
                // Full of recent failures (an attack on many emails): make
                // room by forgetting one entry. The map's order is random
                // (a per-process hasher), so an attacker cannot aim at one
                // victim: evicting a given email takes about `max_keys` new
                // failed logins, each rate-limited per address.
                if let Some(victim) = table.entries.keys().next().copied() {
                    table.entries.remove(&victim);
                }
                tracing::warn!(
                    keys = self.max_keys,
                    "login failure table full; forgot one email to track a new one"
                );
            }
        }
        let f = table.entries.entry(key).or_insert(Failures {
            count: 0,
            last: now,
            blocked_until: now,
        });
        if now.duration_since(f.last) >= FAILURE_MEMORY {
            f.count = 0;
        }
        f.count = f.count.saturating_add(1);
        f.last = now;
        if f.count > self.free {
            let exponent = (f.count - self.free - 1).min(20);
            let wait = Duration::from_secs(1u64 << exponent).min(MAX_LOGIN_BACKOFF);
            f.blocked_until = now + wait;
        }
    }

    /// A successful login: the email starts afresh.
    pub fn succeeded(&self, email: &str) {
        let key = self.key(email);
        self.table().entries.remove(&key);
    }

    /// Forgets emails whose last failure is old and whose wait is over.
    pub fn prune(&self) {
        let now = Instant::now();
        let mut table = self.table();
        table
            .entries
            .retain(|_, f| f.blocked_until > now || now.duration_since(f.last) < FAILURE_MEMORY);
        table.entries.shrink_to_fit();
    }

    pub fn len(&self) -> usize {
        self.table().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table().entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry_after(result: Result<(), Limited>) -> u64 {
        match result {
            Err(limited) => limited.retry_after_secs(),
            other => panic!("not limited: {other:?}"),
        }
    }

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    #[test]
    fn the_eleventh_attempt_in_a_minute_is_refused_with_retry_after() {
        let limiter = RateLimiter::new(10, 1000);
        for _ in 0..10 {
            limiter.check(&[Key::Ip("login", IP)]).expect("allowed");
        }
        let wait = retry_after(limiter.check(&[Key::Ip("login", IP)]));
        assert!((1..=60).contains(&wait), "{wait}");
        limiter
            .check(&[Key::Ip("register", IP)])
            .expect("other routes are independent");
        limiter
            .check(&[Key::Ip("login", "192.0.2.2".parse().expect("ip"))])
            .expect("other addresses are independent");
    }

    #[test]
    fn emails_are_keyed_case_insensitively_and_hashed() {
        let limiter = RateLimiter::new(2, 1000);
        limiter
            .check(&[Key::Email("forgot", " Ann@Example.com")])
            .expect("1");
        limiter
            .check(&[Key::Email("forgot", "ann@example.COM ")])
            .expect("2");
        retry_after(limiter.check(&[Key::Email("forgot", "ANN@EXAMPLE.COM")]));
        // A huge "email" is a key like any other: 8 bytes held, and its
        // tail past any real address's length makes no new key.
        let huge = "x".repeat(900_000);
        limiter.check(&[Key::Email("forgot", &huge)]).expect("huge");
        let other = format!("{}y", "x".repeat(899_999));
        limiter
            .check(&[Key::Email("forgot", &other)])
            .expect("huge");
        assert_eq!(limiter.len(), 2);
        retry_after(limiter.check(&[Key::Email("forgot", &huge)]));
    }

    #[test]
    fn ipv6_clients_share_their_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb:cccc:dddd:eeee".parse().expect("ip");
        let other: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(normalized(a), normalized(b));
        assert_ne!(normalized(a), normalized(other));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        assert_eq!(normalized(mapped), IP);
        let limiter = RateLimiter::new(1, 1000);
        limiter.check(&[Key::Ip("login", a)]).expect("first");
        retry_after(limiter.check(&[Key::Ip("login", b)]));
        limiter
            .check(&[Key::Ip("login", other)])
            .expect("another /64");
    }

    #[test]
    fn a_full_limiter_holds_no_more_keys_and_newcomers_share_one_bucket() {
        let limiter = RateLimiter::new(3, 100);
        for i in 0..10_000u32 {
            let _ = limiter.check(&[Key::Email("register", &format!("user{i}@example.com"))]);
        }
        // 100 keys, plus the overflow bucket.
        assert!(limiter.len() <= 101, "{}", limiter.len());
        // The overflow bucket is exhausted: a newcomer is refused …
        retry_after(limiter.check(&[Key::Email("register", "new@example.com")]));
        // … while a key that was already held keeps its own bucket.
        limiter
            .check(&[Key::Email("register", "user0@example.com")])
            .expect("existing key");
    }

    #[test]
    fn login_failures_back_off_progressively_and_a_success_resets() {
        let failures = LoginFailures::new(3, 1000);
        for _ in 0..3 {
            failures.check("ann@example.com").expect("free attempts");
            failures.failed("ann@example.com");
        }
        failures
            .check("ann@example.com")
            .expect("three failures are free");
        failures.failed("ANN@example.com");
        assert_eq!(retry_after(failures.check("ann@example.com")), 1);
        failures.failed("ann@example.com");
        assert_eq!(retry_after(failures.check("ann@example.com")), 2);
        failures.failed("ann@example.com");
        assert_eq!(retry_after(failures.check("ann@example.com")), 4);
        for _ in 0..30 {
            failures.failed("ann@example.com");
        }
        assert_eq!(
            retry_after(failures.check("ann@example.com")),
            MAX_LOGIN_BACKOFF.as_secs()
        );
        failures
            .check("bob@example.com")
            .expect("other emails are independent");
        failures.succeeded("ann@example.com");
        failures.check("ann@example.com").expect("reset");
        assert!(failures.is_empty());
    }

    #[test]
    fn the_failure_table_is_bounded_and_keeps_tracking_new_emails() {
        let failures = LoginFailures::new(0, 50);
        for i in 0..1000 {
            failures.failed(&format!("user{i}@example.com"));
        }
        assert_eq!(failures.len(), 50);
        // The newest email is tracked (its first failure already waits, free = 0).
        retry_after(failures.check("user999@example.com"));
    }

    #[test]
    fn spellings_the_login_treats_as_one_email_share_one_key() {
        let limiter = RateLimiter::new(2, 1000);
        // U+212A KELVIN SIGN lowercases to `k`, as Email::parse then sees it.
        for email in ["kate@bank.test", "\u{212A}ate@bank.test"] {
            assert_eq!(
                crate::domain::Email::parse(email).map(|e| e.to_string()),
                Ok("kate@bank.test".to_owned())
            );
        }
        limiter
            .check(&[Key::Email("login", "KATE@bank.test")])
            .expect("1");
        limiter
            .check(&[Key::Email("login", "\u{212A}ate@bank.test")])
            .expect("2");
        retry_after(limiter.check(&[Key::Email("login", "kate@bank.test")]));
    }
}
