//! Throughput and latency of the request transaction (docs/security.md):
//!
//! * `pipelined`: `Db::query`, the path every handler takes: begin, role and
//!   settings (`auth.begin_request`), a 20-row read under RLS, commit, sent
//!   together;
//! * `interactive`: `Db::transaction`, each statement awaited in turn;
//! * `bare`: the same read as the superuser with no transaction, role or
//!   policy, for scale.
//!
//! Needs a PostgreSQL 15 server: `VECTRA_BENCH_DATABASE_URL` (a superuser
//! URL, default `postgres://postgres:postgres@127.0.0.1:5432/postgres`). It
//! creates, migrates, seeds and finally drops its own database.
//!
//!     cargo bench --bench request_transaction
//!     bench/transaction.sh          (starts Debian's cluster first if needed)

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use uuid::Uuid;
use vectra::config::MigrateConfig;
use vectra::db::{Actor, Db, SessionClaims};

const READ: &str =
    "select id, email, full_name from users where organization_id = $1 order by email limit 20";
const RUN_FOR: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = std::env::var("VECTRA_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("vectra_bench_{}", std::process::id());
    let admin = vectra::db::connect(&server).await?;
    admin
        .batch_execute(&format!("create database {name}"))
        .await?;
    let result = run(&server, &name).await;
    drop(admin);
    let admin = vectra::db::connect(&server).await?;
    admin
        .batch_execute(&format!("drop database if exists {name} with (force)"))
        .await?;
    result
}

fn url_for(server: &str, db: &str, user: Option<(&str, &str)>) -> anyhow::Result<String> {
    let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(server);
    let url = format!("{base}/{db}");
    Ok(match user {
        None => url,
        Some((u, p)) => {
            let (scheme, rest) = url
                .split_once("://")
                .ok_or_else(|| anyhow::anyhow!("URL"))?;
            let host = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
            format!("{scheme}://{u}:{p}@{host}")
        }
    })
}

async fn run(server: &str, name: &str) -> anyhow::Result<()> {
    let admin_url = url_for(server, name, None)?;
    let auth_url = url_for(
        server,
        name,
        Some(("vectra_authenticator", "bench-password")),
    )?;
    vectra::db::migrate::run(&MigrateConfig::with_defaults(&admin_url, Some(&auth_url))?).await?;

    // Two organizations of 200 users each; we read org A's first 20.
    let admin = vectra::db::connect(&admin_url).await?;
    let mut claims = Vec::new();
    for slug in ["alpha", "beta"] {
        let org: Uuid = admin
            .query_one(
                "insert into organizations (name, slug) values ($1, $1) returning id",
                &[&slug],
            )
            .await?
            .get(0);
        admin
            .execute(
                "insert into users (organization_id, email, password_hash, full_name, role)
                 select $1, 'user' || g || '@' || $2 || '.test', 'x', 'User ' || g,
                        case when g = 1 then 'owner' else 'member' end::user_role
                   from generate_series(1, 200) g",
                &[&org, &slug],
            )
            .await?;
        let row = admin
            .query_one(
                "insert into sessions (user_id, token_hash, expires_at)
                 select id, sha256(id::text::bytea), now() + interval '1 day'
                   from users where organization_id = $1 and role = 'owner'
                 returning id, user_id",
                &[&org],
            )
            .await?;
        claims.push((
            org,
            SessionClaims {
                session_id: row.get(0),
                user_id: row.get(1),
                org_id: Some(org),
                role: "owner".into(),
            },
        ));
    }
    admin.batch_execute("analyze").await?;
    let (org, session) = claims[0].clone();

    println!(
        "request transaction, 20-row read, {}s per line, PostgreSQL at {}",
        RUN_FOR.as_secs(),
        host_of(server)
    );
    println!(
        "{:<12} {:>11} {:>10} {:>10} {:>10}",
        "path", "concurrency", "req/s", "p50 µs", "p99 µs"
    );
    for concurrency in [1usize, 8] {
        let db = Db::new(vectra::db::pool(&auth_url, concurrency)?);
        let actor = Actor::Member(session.clone());
        let pipelined = measure(concurrency, || {
            let (db, actor) = (db.clone(), actor.clone());
            async move {
                let rows = db
                    .query(&actor, READ, &[&org])
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                anyhow::ensure!(rows.len() == 20);
                Ok(())
            }
        })
        .await?;
        report("pipelined", concurrency, &pipelined);

        let interactive = measure(concurrency, || {
            let (db, actor) = (db.clone(), actor.clone());
            async move {
                let rows = db
                    .transaction(&actor, |tx| {
                        Box::pin(async move {
                            Ok::<_, vectra::db::Error>(tx.query(READ, &[&org]).await?)
                        })
                    })
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                anyhow::ensure!(rows.len() == 20);
                Ok(())
            }
        })
        .await?;
        report("interactive", concurrency, &interactive);

        let bare_pool = vectra::db::pool(&admin_url, concurrency)?;
        let bare = measure(concurrency, || {
            let pool = bare_pool.clone();
            async move {
                let client = pool.get().await?;
                let statement = client.prepare_cached(READ).await?;
                let rows = client.query(&statement, &[&org]).await?;
                anyhow::ensure!(rows.len() == 20);
                Ok(())
            }
        })
        .await?;
        report("bare", concurrency, &bare);
    }
    Ok(())
}

fn host_of(url: &str) -> &str {
    url.rsplit_once('@').map(|(_, h)| h).unwrap_or(url)
}

struct Sample {
    count: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn measure<F, Fut>(concurrency: usize, op: F) -> anyhow::Result<Sample>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    // Warm the pool and the statement caches.
    for _ in 0..concurrency * 20 {
        op().await?;
    }
    let start = Instant::now();
    let deadline = start + RUN_FOR;
    let latencies: Vec<anyhow::Result<Duration>> = futures_util::stream::iter(0..)
        .take_while(|_| std::future::ready(Instant::now() < deadline))
        .map(|_| {
            let fut = op();
            async move {
                let t = Instant::now();
                fut.await?;
                Ok(t.elapsed())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = start.elapsed();
    let mut latencies = latencies.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    latencies.sort();
    Ok(Sample {
        count: latencies.len(),
        elapsed,
        latencies,
    })
}

fn report(path: &str, concurrency: usize, s: &Sample) {
    let pct = |p: f64| {
        let i = ((s.latencies.len() as f64 - 1.0) * p).round() as usize;
        s.latencies.get(i).map(|d| d.as_micros()).unwrap_or(0)
    };
    println!(
        "{:<12} {:>11} {:>10.0} {:>10} {:>10}",
        path,
        concurrency,
        s.count as f64 / s.elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99)
    );
}
