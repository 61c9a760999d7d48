//! Resident memory of the rate limiters under a key flood (issue: 1,800
//! requests with 900 kB emails from 60 addresses took the server from 11 MB
//! to 1.7 GB when keys were the raw strings). Run with
//! `cargo bench --bench rate_limit_memory`; prints, does not assert.
//!
//! Memory is read from /proc/self/status (Linux), after each phase.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use vectra::auth::rate_limit::{Key, LoginFailures, RateLimiter};

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn report(what: &str, before: u64, keys: usize, started: Instant) {
    let after = rss_kb();
    println!(
        "{what:<70} keys held {keys:>7}   RSS {:>7.1} MB (+{:>6.1} MB)   {:>6.0} ms",
        after as f64 / 1024.0,
        after.saturating_sub(before) as f64 / 1024.0,
        started.elapsed().as_secs_f64() * 1000.0
    );
}

fn main() {
    let base = rss_kb();
    println!("baseline RSS {:.1} MB", base as f64 / 1024.0);

    // 100,000 distinct emails and 100,000 distinct IPv4 addresses into one
    // limiter with the default ceiling of 100,000 keys: the ceiling holds.
    let limiter = RateLimiter::new(10, 100_000);
    let t = Instant::now();
    for i in 0..100_000u32 {
        let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        let email = format!("user{i}@example.com");
        let _ = limiter.check(&[Key::Ip("login", ip), Key::Email("register", &email)]);
    }
    report(
        "200,000 keys: 100,000 addresses + 100,000 emails (ceiling 100,000)",
        base,
        limiter.len(),
        t,
    );

    // The attack of the issue, scaled: 1,800 emails of 900 kB each. The
    // limiter keeps 8-byte hashes, so nothing of the strings stays.
    let before = rss_kb();
    let flood = RateLimiter::new(10, 100_000);
    let t = Instant::now();
    let tail = "x".repeat(900_000 - 8);
    for i in 0..1_800u32 {
        let email = format!("{i:08}{tail}");
        let _ = flood.check(&[Key::Email("forgot-password", &email)]);
    }
    drop(tail);
    report("1,800 distinct emails of 900 kB", before, flood.len(), t);

    // 100,000 distinct emails alone: the figure the issue asks for.
    let before = rss_kb();
    let emails = RateLimiter::new(10, 100_000);
    let t = Instant::now();
    for i in 0..100_000u32 {
        let _ = emails.check(&[Key::Email(
            "forgot-password",
            &format!("someone{i}@example.com"),
        )]);
    }
    report("100,000 distinct emails", before, emails.len(), t);

    // A million distinct IPv6 /64s against the ceiling: memory stops growing.
    let before = rss_kb();
    let capped = RateLimiter::new(10, 100_000);
    let t = Instant::now();
    for i in 0..1_000_000u64 {
        let ip = IpAddr::V6(Ipv6Addr::from(
            (0x2001_0db8u128 << 96) | (u128::from(i) << 64),
        ));
        let _ = capped.check(&[Key::Ip("login", ip)]);
    }
    report(
        "1,000,000 IPv6 /64s (ceiling 100,000)",
        before,
        capped.len(),
        t,
    );
    // The same addresses' hosts inside one /64 count once.
    let before = rss_kb();
    let one = RateLimiter::new(10, 100_000);
    let t = Instant::now();
    for i in 0..100_000u128 {
        let _ = one.check(&[Key::Ip(
            "login",
            IpAddr::V6(Ipv6Addr::from((0x2001_0db8u128 << 96) | i)),
        )]);
    }
    report("100,000 hosts of one IPv6 /64", before, one.len(), t);

    // Failed logins for 100,000 distinct emails (the backoff table).
    let before = rss_kb();
    let failures = LoginFailures::new(5, 100_000);
    let t = Instant::now();
    for i in 0..150_000u32 {
        failures.failed(&format!("victim{i}@example.com"));
    }
    report(
        "150,000 emails failing logins (ceiling 100,000)",
        before,
        failures.len(),
        t,
    );

    println!(
        "total RSS {:.1} MB (started at {:.1} MB)",
        rss_kb() as f64 / 1024.0,
        base as f64 / 1024.0
    );
}
