//! Service metrics, kept by `metrics-exporter-prometheus` and read two ways:
//! the Prometheus text format at `GET /metrics` (for a scraper) and the JSON
//! of `GET /api/v1/admin/system/metrics` (for the console), which is built
//! from the same rendered samples so the two never disagree.
//!
//! Each [`Metrics`] owns its recorder (no process-global one), so several
//! applications in one process (the test suite) keep separate counts.
//!
//! Latency is recorded twice. A summary gives p50, p95 and p99 over a rolling
//! window of [`LATENCY_WINDOW`] (what the console shows), plus cumulative
//! `_sum` and `_count`; its quantiles cannot be combined across instances or
//! routes, so a histogram with fixed [`LATENCY_BUCKETS`] carries the same
//! observations for Prometheus to aggregate (`histogram_quantile` over
//! `sum by (le)`). Label values are bounded: the route template the router
//! matched (never the raw path), a known method and a status code the service
//! produced.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use serde_json::{Map, Value, json};

/// How far back the latency quantiles look.
pub const LATENCY_WINDOW: Duration = Duration::from_secs(300);
const WINDOW_BUCKETS: u32 = 5;

pub const REQUESTS: &str = "vectra_http_requests_total";
pub const REQUEST_SECONDS: &str = "vectra_http_request_duration_seconds";
pub const ALL_REQUEST_SECONDS: &str = "vectra_http_all_requests_duration_seconds";
/// The histogram of the same observations as [`REQUEST_SECONDS`].
pub const REQUEST_LATENCY: &str = "vectra_http_request_latency_seconds";
pub const EMAILS: &str = "vectra_outbox_deliveries_total";
pub const SMTP_SECONDS: &str = "vectra_smtp_send_duration_seconds";
/// Access tokens checked, by outcome (`auth::jwt::TokenChecks`).
pub const TOKEN_CHECKS: &str = "vectra_access_token_checks_total";

/// The upper bounds of [`REQUEST_LATENCY`]'s buckets, in seconds: from a
/// cached read (about a millisecond) to the default request timeout.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Every gauge the service sets (at each scrape), with its help text. A
/// gauge missing here would be exposed without `# HELP`, which Prometheus'
/// `promtool check metrics` rejects: [`Metrics::set_gauge`] refuses it in
/// debug builds.
pub const GAUGES: &[(&str, &str)] = &[
    (
        "vectra_uptime_seconds",
        "Seconds since this process started",
    ),
    (
        "vectra_db_pool_max_size",
        "Connections the service's database pool may open (DATABASE_POOL_SIZE)",
    ),
    (
        "vectra_db_pool_size",
        "Connections the service's database pool holds open",
    ),
    (
        "vectra_db_pool_in_use",
        "Connections of the pool lent to a request or the outbox worker",
    ),
    (
        "vectra_db_pool_waiting",
        "Requests waiting for a connection of the pool",
    ),
    (
        "vectra_database_up",
        "1 when the last read of the database figures succeeded, else 0",
    ),
    (
        "vectra_database_size_bytes",
        "Size of the service's database (pg_database_size), read at most every 10 s",
    ),
    (
        "vectra_database_connections",
        "Server connections to the service's database (pg_stat_activity), read at most every 10 s",
    ),
    (
        "vectra_access_token_cache_entries",
        "Access tokens this instance remembers as verified (at most ACCESS_TOKEN_CACHE_SIZE)",
    ),
    (
        "vectra_outbox_pending",
        "Emails of the outbox waiting for their first or next attempt",
    ),
    (
        "vectra_outbox_sending",
        "Emails of the outbox claimed by a worker and being sent",
    ),
    (
        "vectra_outbox_failed",
        "Emails of the outbox given up after their last attempt",
    ),
    (
        "vectra_outbox_cancelled",
        "Emails of the outbox withheld (their organization or sender no longer active), never sent",
    ),
    (
        "vectra_outbox_sent_last_24h",
        "Emails sent in the last 24 hours",
    ),
    (
        "vectra_email_delivery_p50_seconds",
        "Median time from queued to sent of the emails sent in the last 24 hours",
    ),
    (
        "vectra_email_delivery_p95_seconds",
        "95th percentile of the time from queued to sent of the emails sent in the last 24 hours",
    ),
    (
        "vectra_email_delivery_p99_seconds",
        "99th percentile of the time from queued to sent of the emails sent in the last 24 hours",
    ),
];

/// The route label of a request no route matched (so an attacker's random
/// paths all land in one series).
pub const UNMATCHED: &str = "unmatched";

#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
    /// The handles of each (route, method, status) seen so far: a request
    /// adds to them under a read lock, without building (and allocating)
    /// the three labelled keys and looking them up in the recorder again.
    /// Bounded like the labels: route templates, known methods, statuses.
    series: Arc<RwLock<SeriesByRoute>>,
    /// Registered with the first request, so that until then the console
    /// shows no latency rather than zeros.
    all_requests: Arc<OnceLock<Histogram>>,
    started: Instant,
    /// The last `auth.service_stats()` and when it was read; the lock is
    /// held while one scrape refreshes it, so scrapes never pile up queries.
    stats: Arc<tokio::sync::Mutex<Option<(Instant, Value)>>>,
}

/// The series of one route: by method and status.
type SeriesByRoute = HashMap<Box<str>, HashMap<(&'static str, u16), RequestSeries>>;

/// What one request adds to: its count, and its latency twice (the summary
/// and the histogram of the same observations).
struct RequestSeries {
    count: Counter,
    seconds: Histogram,
    latency: Histogram,
}

impl RequestSeries {
    fn record(&self, seconds: f64) {
        self.count.increment(1);
        self.seconds.record(seconds);
        self.latency.record(seconds);
    }
}

/// How long a scrape reuses the database figures of an earlier one.
pub const STATS_MAX_AGE: Duration = Duration::from_secs(10);

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_quantiles(&[0.5, 0.95, 0.99])
            .and_then(|b| b.set_bucket_duration(LATENCY_WINDOW / WINDOW_BUCKETS))
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(REQUEST_LATENCY.to_owned()), LATENCY_BUCKETS)
            })
            .expect("valid quantiles, window and buckets")
            .set_bucket_count(NonZeroU32::new(WINDOW_BUCKETS).expect("non-zero"))
            .build_recorder();
        let handle = recorder.handle();
        let metrics = Self {
            recorder: Arc::new(recorder),
            handle,
            series: Arc::default(),
            all_requests: Arc::default(),
            started: Instant::now(),
            stats: Arc::default(),
        };
        metrics.describe();
        metrics
    }

    fn describe(&self) {
        metrics::with_local_recorder(&*self.recorder, || {
            metrics::describe_counter!(
                REQUESTS,
                "HTTP requests answered, by method, route and status"
            );
            metrics::describe_histogram!(
                REQUEST_SECONDS,
                metrics::Unit::Seconds,
                "HTTP request latency by method and route (quantiles over the last 5 minutes)"
            );
            metrics::describe_histogram!(
                ALL_REQUEST_SECONDS,
                metrics::Unit::Seconds,
                "HTTP request latency over every route (quantiles over the last 5 minutes)"
            );
            metrics::describe_histogram!(
                REQUEST_LATENCY,
                metrics::Unit::Seconds,
                "HTTP request latency by method and route (histogram: aggregate across instances and routes with sum by (le))"
            );
            metrics::describe_counter!(
                EMAILS,
                "Outbox delivery attempts by outcome (sent, retry, failed)"
            );
            metrics::describe_counter!(
                TOKEN_CHECKS,
                "Access tokens checked by outcome, before the database checks their session: remembered (passed, verified before and only the expiry checked), verified (passed, signature checked), refused"
            );
            metrics::describe_histogram!(
                SMTP_SECONDS,
                metrics::Unit::Seconds,
                "Time to hand one email to the SMTP server"
            );
            for (name, help) in GAUGES {
                metrics::describe_gauge!(*name, *help);
            }
        });
    }

    /// The database figures for a scrape: `fetch`'s answer, reused for
    /// [`STATS_MAX_AGE`], with at most one `fetch` running at a time.
    pub async fn service_stats<F, Fut, E>(&self, fetch: F) -> Result<Value, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Value, E>>,
    {
        let mut cached = self.stats.lock().await;
        if let Some((at, stats)) = cached.as_ref()
            && at.elapsed() < STATS_MAX_AGE
        {
            return Ok(stats.clone());
        }
        let stats = fetch().await?;
        *cached = Some((Instant::now(), stats.clone()));
        Ok(stats)
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// One answered request.
    pub fn record_request(&self, method: &Method, route: &str, status: u16, elapsed: Duration) {
        let method = known_method(method);
        let seconds = elapsed.as_secs_f64();
        self.all_requests
            .get_or_init(|| {
                metrics::with_local_recorder(&*self.recorder, || {
                    metrics::histogram!(ALL_REQUEST_SECONDS)
                })
            })
            .record(seconds);
        let series = self.series.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = series.get(route).and_then(|r| r.get(&(method, status))) {
            s.record(seconds);
            return;
        }
        drop(series);
        let s = metrics::with_local_recorder(&*self.recorder, || RequestSeries {
            count: metrics::counter!(REQUESTS, "method" => method, "route" => route.to_owned(), "status" => status.to_string()),
            seconds: metrics::histogram!(REQUEST_SECONDS, "method" => method, "route" => route.to_owned()),
            latency: metrics::histogram!(REQUEST_LATENCY, "method" => method, "route" => route.to_owned()),
        });
        s.record(seconds);
        self.series
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(route.into())
            .or_default()
            .insert((method, status), s);
    }

    /// One outbox delivery attempt: `outcome` is sent, retry or failed.
    pub fn record_delivery(&self, outcome: &'static str, smtp: Option<Duration>) {
        metrics::with_local_recorder(&*self.recorder, || {
            metrics::counter!(EMAILS, "outcome" => outcome).increment(1);
            if let Some(d) = smtp {
                metrics::histogram!(SMTP_SECONDS).record(d.as_secs_f64());
            }
        });
    }

    /// The access tokens checked since start, and those remembered, read
    /// at scrape time.
    pub fn set_token_checks(&self, checks: crate::auth::jwt::TokenChecks) {
        metrics::with_local_recorder(&*self.recorder, || {
            for (outcome, n) in [
                ("remembered", checks.remembered),
                ("verified", checks.verified),
                ("refused", checks.refused),
            ] {
                metrics::counter!(TOKEN_CHECKS, "outcome" => outcome).absolute(n);
            }
        });
        self.set_gauge("vectra_access_token_cache_entries", checks.entries as f64);
    }

    /// Point-in-time values read at scrape time (pool, database, outbox).
    pub fn set_gauge(&self, name: &'static str, value: f64) {
        debug_assert!(
            GAUGES.iter().any(|(n, _)| *n == name),
            "gauge {name} has no help text in metrics::GAUGES"
        );
        metrics::with_local_recorder(&*self.recorder, || metrics::gauge!(name).set(value));
    }

    /// Drains recorded samples into the summaries; run every few seconds so
    /// memory stays flat between scrapes.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// The Prometheus text format.
    pub fn render(&self) -> String {
        self.set_gauge("vectra_uptime_seconds", self.uptime().as_secs_f64());
        self.handle.render()
    }

    /// The HTTP part of the console's JSON: requests by status class and
    /// latency quantiles overall and per route.
    pub fn http_summary(&self) -> Value {
        let samples = parse(&self.render());
        let mut total = 0u64;
        let mut classes: Map<String, Value> = ["1xx", "2xx", "3xx", "4xx", "5xx"]
            .into_iter()
            .map(|c| (c.to_owned(), json!(0)))
            .collect();
        for s in samples.iter().filter(|s| s.name == REQUESTS) {
            let n = s.value as u64;
            total += n;
            if let Some(class) = s
                .label("status")
                .and_then(|code| code.chars().next())
                .map(|d| format!("{d}xx"))
                && let Some(Value::Number(c)) = classes.get(&class)
            {
                let sum = c.as_u64().unwrap_or(0) + n;
                classes.insert(class, json!(sum));
            }
        }
        let overall = latency(&samples, ALL_REQUEST_SECONDS, &[]);
        let mut routes: Vec<Value> = samples
            .iter()
            .filter(|s| s.name == format!("{REQUEST_SECONDS}_count"))
            .filter_map(|s| {
                let method = s.label("method")?;
                let route = s.label("route")?;
                let mut entry = json!({"method": method, "route": route});
                let l = latency(
                    &samples,
                    REQUEST_SECONDS,
                    &[("method", method), ("route", route)],
                );
                entry.as_object_mut()?.extend(l.as_object()?.clone());
                Some(entry)
            })
            .collect();
        routes.sort_by(|a, b| {
            (a["route"].as_str(), a["method"].as_str())
                .cmp(&(b["route"].as_str(), b["method"].as_str()))
        });
        json!({
            "requests": {"total": total, "by_status_class": classes},
            "latency_seconds": {
                "window_seconds": LATENCY_WINDOW.as_secs(),
                "overall": overall,
                "routes": routes,
            },
        })
    }
}

fn known_method(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `count` (cumulative) and the window's p50, p95, p99 (null when the
/// window saw no request) of summary `name` with `labels`.
fn latency(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Value {
    let matches = |s: &&Sample| labels.iter().all(|(k, v)| s.label(k) == Some(v));
    let count = samples
        .iter()
        .filter(|s| s.name == format!("{name}_count"))
        .find(matches)
        .map_or(0.0, |s| s.value);
    let quantile = |q: &str| {
        samples
            .iter()
            .filter(|s| s.name == name && s.label("quantile") == Some(q))
            .find(matches)
            .map(|s| s.value)
            .filter(|v| v.is_finite())
    };
    json!({
        "count": count as u64,
        "p50": quantile("0.5"),
        "p95": quantile("0.95"),
        "p99": quantile("0.99"),
    })
}

/// One line of the Prometheus text format.
#[derive(Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses the exposition text (`name{k="v",…} value`), skipping comments
/// and anything malformed.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let (name, rest) = match line.find(['{', ' ']) {
        Some(i) => line.split_at(i),
        None => return None,
    };
    let mut labels = Vec::new();
    let rest = if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices();
        let mut end = None;
        loop {
            // key
            let mut key = String::new();
            for (i, c) in chars.by_ref() {
                match c {
                    '=' => break,
                    '}' => {
                        end = Some(i);
                        break;
                    }
                    ',' => {}
                    c => key.push(c),
                }
            }
            if end.is_some() {
                break;
            }
            if chars.next()?.1 != '"' {
                return None;
            }
            let mut value = String::new();
            loop {
                match chars.next()?.1 {
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        c => value.push(c),
                    },
                    '"' => break,
                    c => value.push(c),
                }
            }
            labels.push((key, value));
        }
        &body[end? + 1..]
    } else {
        rest
    };
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Where [`tag_route`] leaves the route template the router matched, for
/// [`record`] to read whatever answered in the end: the handler, an
/// extractor's rejection (a bad UUID in the path), the route's 405, the body
/// limit's 413, or the timeout's 504. It travels in the request, not the
/// response: the response may be rebuilt on the way out (the problem+json
/// of bare errors) or never come from inside (the timeout drops the inner
/// future), and the slot outlives both.
#[derive(Clone, Default)]
struct RouteSlot(Arc<OnceLock<MatchedPath>>);

/// Middleware around every route and the fallback, inside the router (so
/// after it matched the path and set `MatchedPath`, which a route's 405
/// answer also runs under): tells [`record`] which route template it was.
/// The fallback (no route) leaves the slot empty.
pub async fn tag_route(req: Request, next: Next) -> Response {
    if let (Some(slot), Some(route)) = (
        req.extensions().get::<RouteSlot>(),
        req.extensions().get::<MatchedPath>(),
    ) {
        let _ = slot.0.set(route.clone());
    }
    next.run(req).await
}

/// Middleware (outermost): counts and times every request, under the route
/// template [`tag_route`] saw, or [`UNMATCHED`].
pub async fn record(State(metrics): State<Metrics>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let slot = RouteSlot::default();
    req.extensions_mut().insert(slot.clone());
    let started = Instant::now();
    let response = next.run(req).await;
    let route = slot.0.get().map_or(UNMATCHED, MatchedPath::as_str);
    metrics.record_request(
        &method,
        route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_labels_and_values() {
        let samples = parse(
            "# TYPE x counter\nx{a=\"1\",b=\"q\\\"uo\\\\te\"} 3\ny 0.25\nz{quantile=\"0.5\"} NaN\n\nbroken\n",
        );
        assert_eq!(samples.len(), 3, "{samples:?}");
        assert_eq!(samples[0].name, "x");
        assert_eq!(samples[0].label("a"), Some("1"));
        assert_eq!(samples[0].label("b"), Some("q\"uo\\te"));
        assert_eq!(samples[0].value, 3.0);
        assert_eq!(
            samples[1],
            Sample {
                name: "y".into(),
                labels: vec![],
                value: 0.25
            }
        );
        assert!(samples[2].value.is_nan());
    }

    #[test]
    fn no_request_yet_means_no_latency_rather_than_zeros() {
        let m = Metrics::new();
        let overall = &m.http_summary()["latency_seconds"]["overall"];
        assert_eq!(
            *overall,
            json!({"count": 0, "p50": null, "p95": null, "p99": null})
        );
        assert!(!m.render().contains(ALL_REQUEST_SECONDS), "{}", m.render());
    }

    #[test]
    fn counts_requests_by_class_and_route() {
        let m = Metrics::new();
        let ms = Duration::from_millis;
        m.record_request(&Method::GET, "/a/{id}", 404, ms(30));
        for _ in 0..99 {
            m.record_request(&Method::GET, "/a/{id}", 200, ms(10));
        }
        m.record_request(&Method::POST, "/b", 201, ms(20));
        m.record_request(&Method::from_bytes(b"BREW").unwrap(), UNMATCHED, 405, ms(1));
        let s = m.http_summary();
        assert_eq!(s["requests"]["total"], 102);
        assert_eq!(s["requests"]["by_status_class"]["2xx"], 100);
        assert_eq!(s["requests"]["by_status_class"]["4xx"], 2);
        assert_eq!(s["requests"]["by_status_class"]["5xx"], 0);
        assert_eq!(s["latency_seconds"]["overall"]["count"], 102);
        let routes = s["latency_seconds"]["routes"].as_array().unwrap();
        let a = routes.iter().find(|r| r["route"] == "/a/{id}").unwrap();
        assert_eq!(a["method"], "GET");
        assert_eq!(a["count"], 100);
        // 99 requests of 10 ms and one of 30 ms.
        let p50 = a["p50"].as_f64().unwrap();
        assert!((0.0099..=0.0101).contains(&p50), "{p50}");
        let max = a["p99"].as_f64().unwrap();
        assert!((0.0099..=0.0301).contains(&max), "{max}");
        let other = routes.iter().find(|r| r["route"] == UNMATCHED).unwrap();
        assert_eq!(other["method"], "other", "unknown methods share one label");
        let text = m.render();
        assert!(
            text.contains(
                "vectra_http_requests_total{method=\"POST\",route=\"/b\",status=\"201\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("vectra_uptime_seconds"));
    }

    #[tokio::test]
    async fn scrapes_share_one_recent_database_read() {
        let m = Metrics::new();
        let calls = std::sync::atomic::AtomicU32::new(0);
        let fetch = || async {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, ()>(json!({"n": 1}))
        };
        let (a, b) = tokio::join!(m.service_stats(fetch), m.service_stats(fetch));
        assert_eq!((a, b), (Ok(json!({"n": 1})), Ok(json!({"n": 1}))));
        assert_eq!(m.service_stats(fetch).await, Ok(json!({"n": 1})));
        assert_eq!(
            calls.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "one query for three scrapes"
        );
        // A failed read is not cached.
        let m = Metrics::new();
        assert_eq!(
            m.service_stats(|| async { Err::<Value, _>("down") }).await,
            Err("down")
        );
        assert_eq!(m.service_stats(fetch).await, Ok(json!({"n": 1})));
    }

    #[test]
    fn every_family_has_help_text() {
        let m = Metrics::new();
        m.record_request(&Method::GET, "/x", 200, Duration::from_millis(3));
        m.record_delivery("sent", Some(Duration::from_millis(40)));
        for (name, _) in GAUGES {
            m.set_gauge(name, 1.0);
        }
        let text = m.render();
        let families: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        assert!(families.len() > GAUGES.len(), "{text}");
        for name in families {
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{name} has no HELP in\n{text}"
            );
        }
        assert!(
            text.contains(&format!("# TYPE {REQUEST_LATENCY} histogram")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "{REQUEST_LATENCY}_bucket{{method=\"GET\",route=\"/x\",le=\"0.005\"}} 1"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("# TYPE {REQUEST_SECONDS} summary")),
            "{text}"
        );
    }

    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "has no help text")]
    fn a_gauge_without_help_is_refused() {
        Metrics::new().set_gauge("vectra_undocumented", 1.0);
    }

    /// The two middlewares around a small router stacked as `http::router`
    /// stacks them: the route template is known whatever answers, the
    /// timeout included.
    #[tokio::test]
    async fn the_route_is_known_whatever_answers() {
        use axum::Router;
        use axum::body::Body;
        use axum::extract::Path;
        use axum::middleware::{from_fn, from_fn_with_state};
        use axum::routing::get;
        use tower::ServiceExt;

        let m = Metrics::new();
        let app = Router::new()
            .route(
                "/items/{id}",
                get(|Path(_): Path<uuid::Uuid>| async { "item" })
                    .post(|body: String| async move { body }),
            )
            .route("/slow", get(std::future::pending::<()>))
            .layer(
                tower::ServiceBuilder::new()
                    .layer(from_fn(tag_route))
                    .layer(tower_http::limit::RequestBodyLimitLayer::new(8))
                    .map_request(|req: axum::http::Request<_>| req.map(Body::new)),
            )
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                axum::http::StatusCode::GATEWAY_TIMEOUT,
                Duration::from_millis(20),
            ))
            .layer(from_fn_with_state(m.clone(), record));
        let id = uuid::Uuid::new_v4();
        for (method, uri, body, status) in [
            ("GET", format!("/items/{id}"), "", 200),
            ("DELETE", format!("/items/{id}"), "", 405),
            ("GET", "/items/not-a-uuid".to_owned(), "", 400),
            ("POST", format!("/items/{id}"), "more than eight bytes", 413),
            ("GET", "/slow".to_owned(), "", 504),
            ("GET", "/elsewhere/1".to_owned(), "", 404),
            ("PUT", "/elsewhere/2".to_owned(), "", 404),
        ] {
            let request = axum::http::Request::builder()
                .method(method)
                .uri(&uri)
                .body(Body::from(body))
                .expect("request");
            let response = app.clone().oneshot(request).await.expect("infallible");
            assert_eq!(response.status().as_u16(), status, "{method} {uri}");
        }
        let text = m.render();
        for (method, route, status) in [
            ("GET", "/items/{id}", 200),
            ("DELETE", "/items/{id}", 405),
            ("GET", "/items/{id}", 400),
            ("POST", "/items/{id}", 413),
            ("GET", "/slow", 504),
            ("GET", UNMATCHED, 404),
            ("PUT", UNMATCHED, 404),
        ] {
            let line = format!(
                "{REQUESTS}{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} 1"
            );
            assert!(text.contains(&line), "{line} missing from\n{text}");
        }
        assert!(!text.contains("elsewhere"), "{text}");
    }

    #[test]
    fn two_instances_count_apart() {
        let (a, b) = (Metrics::new(), Metrics::new());
        a.record_request(&Method::GET, "/x", 200, Duration::from_millis(1));
        assert_eq!(a.http_summary()["requests"]["total"], 1);
        assert_eq!(b.http_summary()["requests"]["total"], 0);
    }
}
