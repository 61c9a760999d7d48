//! `vectra seed-demo`: a realistic, reproducible dataset for demos, DBAs and
//! benchmarks. Organizations with their teams, campaigns, a funnel of leads
//! and meetings in the past and the future, written with COPY in one
//! transaction as the migration owner, every user sharing one password
//! (hashed once).
//!
//! The same seed gives the same organizations, people, companies, statuses
//! and links between them; times are relative to now (meetings are "next
//! week", not a fixed date), so only they differ between two runs.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use futures_util::SinkExt;
use time::OffsetDateTime;
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::auth::password::Passwords;

/// Every demo user's password.
pub const DEMO_PASSWORD: &str = "demo password";
/// Demo users' addresses end with this, which tells them from real ones.
pub const DEMO_EMAIL_SUFFIX: &str = ".demo.example";

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub organizations: u32,
    pub users_per_org: u32,
    pub leads_per_org: u32,
    pub seed: u64,
    /// Add demo data to a database that has users seed-demo did not create.
    pub force: bool,
}

#[derive(Debug, Default)]
pub struct DemoSummary {
    pub organizations: u64,
    pub users: u64,
    pub campaigns: u64,
    pub leads: u64,
    pub meetings: u64,
    /// One owner per organization: (organization, plan, status, email).
    pub owners: Vec<(String, &'static str, &'static str, String)>,
    pub elapsed: Duration,
}

const FIRST: &[&str] = &[
    "Ada", "Alan", "Amara", "Ana", "Ben", "Bianca", "Carlos", "Chen", "Chloe", "Dario", "Dina",
    "Elena", "Emeka", "Emma", "Farah", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jonas",
    "Julia", "Kai", "Kenji", "Lara", "Leo", "Lina", "Lucas", "Maya", "Mei", "Mila", "Nadia",
    "Noah", "Nora", "Omar", "Oscar", "Paula", "Priya", "Quinn", "Rafael", "Rosa", "Sami", "Sara",
    "Sofia", "Tariq", "Theo", "Uma", "Victor", "Wen", "Yara", "Yusuf", "Zoe", "Arjun", "Beatriz",
    "Dmitri", "Ewa", "Ingrid",
];
const LAST: &[&str] = &[
    "Adeyemi",
    "Andersen",
    "Baker",
    "Becker",
    "Bianchi",
    "Brown",
    "Castro",
    "Chen",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Gomez",
    "Haddad",
    "Hansen",
    "Ibrahim",
    "Ito",
    "Jansen",
    "Khan",
    "Kim",
    "Kowalski",
    "Larsen",
    "Lee",
    "Lopez",
    "Martin",
    "Meyer",
    "Moreau",
    "Mueller",
    "Nakamura",
    "Nguyen",
    "Novak",
    "Okafor",
    "Olsen",
    "Patel",
    "Pereira",
    "Petrov",
    "Quinn",
    "Rossi",
    "Santos",
    "Schmidt",
    "Silva",
    "Singh",
    "Smith",
    "Sorensen",
    "Suzuki",
    "Tanaka",
    "Torres",
    "Wagner",
    "Walker",
    "Wang",
    "Weber",
    "Wilson",
    "Yilmaz",
    "Zhang",
    "Ferrari",
    "Lindqvist",
    "Horvat",
];
const COMPANY_A: &[&str] = &[
    "Northwind",
    "Blue Harbor",
    "Copper Leaf",
    "Silverline",
    "Greenfield",
    "Redwood",
    "Brightpath",
    "Ironbridge",
    "Summit",
    "Clearwater",
    "Stonegate",
    "Sunrise",
    "Maple",
    "Orbit",
    "Atlas",
    "Beacon",
    "Cobalt",
    "Evergreen",
    "Horizon",
    "Juniper",
    "Keystone",
    "Lighthouse",
    "Meridian",
    "Nimbus",
    "Pioneer",
    "Quartz",
    "Riverbend",
    "Sterling",
    "Tidewater",
    "Vertex",
];
const COMPANY_B: &[&str] = &[
    "Analytics",
    "Logistics",
    "Foods",
    "Health",
    "Robotics",
    "Software",
    "Energy",
    "Capital",
    "Studio",
    "Labs",
    "Systems",
    "Partners",
    "Media",
    "Retail",
    "Freight",
    "Pharma",
    "Consulting",
    "Ventures",
    "Works",
    "Digital",
];
const CAMPAIGN: &[&str] = &[
    "Spring outbound",
    "Q3 enterprise push",
    "Webinar follow-up",
    "Trade show leads",
    "Partner referrals",
    "Renewal upsell",
    "New market: Nordics",
    "Startup program",
    "Holiday promo",
    "Product launch",
    "Win-back",
    "Inbound nurture",
];

/// Turns a name into the `a-z0-9-` form of slugs and email domains.
fn slugify(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// One CSV field for COPY: quoted, quotes doubled; `None` is NULL (unquoted empty).
fn field(out: &mut Vec<u8>, value: Option<&str>) {
    if let Some(v) = value {
        out.push(b'"');
        for b in v.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    }
}

fn row(out: &mut Vec<u8>, values: &[Option<&str>]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        field(out, *v);
    }
    out.push(b'\n');
}

/// A COPY … FROM STDIN in CSV, fed in chunks of about 1 MiB.
struct Copy {
    sink: std::pin::Pin<Box<tokio_postgres::CopyInSink<Bytes>>>,
    buf: Vec<u8>,
    rows: u64,
}

impl Copy {
    async fn start(client: &Transaction<'_>, table: &str, columns: &str) -> anyhow::Result<Self> {
        let sink = client
            .copy_in(&format!(
                "copy public.{table} ({columns}) from stdin (format csv)"
            ))
            .await
            .with_context(|| format!("copy into {table}"))?;
        Ok(Self {
            sink: Box::pin(sink),
            buf: Vec::with_capacity(1 << 20),
            rows: 0,
        })
    }

    async fn push(&mut self, values: &[Option<&str>]) -> anyhow::Result<()> {
        row(&mut self.buf, values);
        self.rows += 1;
        if self.buf.len() >= 1 << 20 {
            let chunk = Bytes::from(std::mem::replace(
                &mut self.buf,
                Vec::with_capacity(1 << 20),
            ));
            self.sink.send(chunk).await?;
        }
        Ok(())
    }

    async fn finish(mut self) -> anyhow::Result<u64> {
        if !self.buf.is_empty() {
            self.sink
                .send(Bytes::from(std::mem::take(&mut self.buf)))
                .await?;
        }
        self.sink.as_mut().finish().await?;
        Ok(self.rows)
    }
}

struct Gen {
    rng: fastrand::Rng,
    now: OffsetDateTime,
}

impl Gen {
    fn uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        self.rng.fill(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.rng.usize(..list.len())]
    }

    /// A time `days` days ago at most (and at least `min_days`).
    fn ago(&mut self, min_days: u32, days: u32) -> String {
        let secs = self
            .rng
            .u64(u64::from(min_days) * 86_400..=u64::from(days.max(min_days + 1)) * 86_400);
        ts(self.now - time::Duration::seconds(secs as i64))
    }

    /// Weighted choice: `weights` as (value, weight).
    fn weighted(&mut self, weights: &[(&'static str, u32)]) -> &'static str {
        let total: u32 = weights.iter().map(|(_, w)| w).sum();
        let mut n = self.rng.u32(..total);
        for (v, w) in weights {
            if n < *w {
                return v;
            }
            n -= w;
        }
        weights[0].0
    }
}

fn ts(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "now".to_owned())
}

pub async fn seed_demo(admin_url: &str, o: &DemoOptions) -> anyhow::Result<DemoSummary> {
    let started = Instant::now();
    anyhow::ensure!(o.organizations >= 1, "--orgs must be at least 1");
    anyhow::ensure!(
        o.users_per_org >= 1,
        "--users-per-org must be at least 1 (the owner)"
    );
    let mut client = crate::db::connect(admin_url).await?;
    let applied: i32 = client
        .query_one(
            "select coalesce(max(version), 0) from public.refinery_schema_history",
            &[],
        )
        .await
        .context("reading the schema version (is the database migrated? run `vectra migrate`)")?
        .get(0);
    if i64::from(applied) < crate::db::migrate::latest_version() {
        bail!(
            "the database schema is at version {applied}, this build needs {}: run `vectra migrate` first",
            crate::db::migrate::latest_version()
        );
    }
    let real: i64 = client
        .query_one(
            "select count(*) from public.users where email not like '%' || $1",
            &[&DEMO_EMAIL_SUFFIX],
        )
        .await?
        .get(0);
    if real > 0 && !o.force {
        bail!(
            "the database has {real} users that seed-demo did not create; it adds demo data to an empty \
             or demo database only (pass --force to add it anyway)"
        );
    }
    let hash = Passwords::new(1).hash(DEMO_PASSWORD.to_owned()).await?;
    let mut g = Gen {
        rng: fastrand::Rng::with_seed(o.seed),
        now: OffsetDateTime::now_utc(),
    };
    let mut summary = DemoSummary::default();

    let tx = client.transaction().await?;
    // One COPY at a time per connection: organizations, then their users.
    struct Org {
        id: Uuid,
        name: String,
        domain: String,
        plan: &'static str,
        status: &'static str,
    }
    let mut orgs = Vec::with_capacity(o.organizations as usize);
    let mut copy = Copy::start(
        &tx,
        "organizations",
        "id, name, slug, plan, status, created_at, deleted_at",
    )
    .await?;
    for i in 0..o.organizations {
        let id = g.uuid();
        let name = format!("{} {}", g.pick(COMPANY_A), g.pick(COMPANY_B));
        let slug = format!("{}-s{}-{}", slugify(&name), o.seed, i + 1);
        let plan = g.weighted(&[
            ("free", 50),
            ("starter", 25),
            ("pro", 18),
            ("enterprise", 7),
        ]);
        let status = g.weighted(&[("active", 95), ("suspended", 4), ("deleted", 1)]);
        let created = g.ago(30, 730);
        let deleted_at = (status == "deleted").then(|| g.ago(1, 29));
        copy.push(&[
            Some(&id.to_string()),
            Some(&name),
            Some(&slug),
            Some(plan),
            Some(status),
            Some(&created),
            deleted_at.as_deref(),
        ])
        .await?;
        orgs.push(Org {
            id,
            name,
            domain: format!("{slug}{DEMO_EMAIL_SUFFIX}"),
            plan,
            status,
        });
    }
    summary.organizations = copy.finish().await?;

    let mut copy = Copy::start(&tx, "users", "id, organization_id, email, password_hash, full_name, role, status, email_verified_at, created_at, last_login_at, deleted_at").await?;
    for org in &orgs {
        for u in 0..o.users_per_org {
            let (first, last) = (g.pick(FIRST), g.pick(LAST));
            let email = format!(
                "{}.{}{}@{}",
                first.to_lowercase(),
                last.to_lowercase(),
                u + 1,
                org.domain
            );
            let (role, status) = if u == 0 {
                ("owner", "active")
            } else {
                (
                    g.weighted(&[("admin", 15), ("manager", 30), ("member", 55)]),
                    g.weighted(&[("active", 92), ("suspended", 3), ("removed", 5)]),
                )
            };
            let joined = g.ago(0, 29);
            let last_login = g.ago(0, 14);
            let removed_at = (status == "removed").then(|| g.ago(0, 5));
            copy.push(&[
                Some(&g.uuid().to_string()),
                Some(&org.id.to_string()),
                Some(&email),
                Some(&hash),
                Some(&format!("{first} {last}")),
                Some(role),
                Some(status),
                Some(&joined),
                Some(&joined),
                Some(&last_login),
                removed_at.as_deref(),
            ])
            .await?;
            if u == 0 {
                summary
                    .owners
                    .push((org.name.clone(), org.plan, org.status, email));
            }
        }
    }
    summary.users = copy.finish().await?;
    // organizations.users_count, as the service's functions keep it.
    tx.execute("select auth.count_users(null)", &[]).await?;
    let org_ids: Vec<Uuid> = orgs.iter().map(|o| o.id).collect();

    let mut campaigns_of: Vec<Vec<Uuid>> = Vec::with_capacity(org_ids.len());
    let mut campaigns = Copy::start(
        &tx,
        "campaigns",
        "id, organization_id, name, status, created_at",
    )
    .await?;
    for org in &org_ids {
        let n = g.rng.usize(2..=6);
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            let id = g.uuid();
            let status = g.weighted(&[
                ("draft", 15),
                ("active", 45),
                ("paused", 15),
                ("completed", 25),
            ]);
            let created = g.ago(10, 365);
            campaigns
                .push(&[
                    Some(&id.to_string()),
                    Some(&org.to_string()),
                    Some(g.pick(CAMPAIGN)),
                    Some(status),
                    Some(&created),
                ])
                .await?;
            ids.push(id);
        }
        campaigns_of.push(ids);
    }
    summary.campaigns = campaigns.finish().await?;

    // Leads first (meetings refer to them), remembering which get meetings.
    let mut leads = Copy::start(
        &tx,
        "leads",
        "id, organization_id, campaign_id, email, full_name, company, status, created_at",
    )
    .await?;
    let mut meeting_plan: Vec<(Uuid, Uuid, &'static str)> = Vec::new();
    for (org, campaigns) in org_ids.iter().zip(&campaigns_of) {
        for l in 0..o.leads_per_org {
            let id = g.uuid();
            let (first, last) = (g.pick(FIRST), g.pick(LAST));
            let company = format!("{} {}", g.pick(COMPANY_A), g.pick(COMPANY_B));
            let email = format!(
                "{}.{}.{}@{}.example",
                first.to_lowercase(),
                last.to_lowercase(),
                l + 1,
                slugify(&company)
            );
            let status = g.weighted(&[
                ("new", 35),
                ("contacted", 25),
                ("replied", 13),
                ("qualified", 10),
                ("converted", 7),
                ("lost", 10),
            ]);
            let campaign =
                (g.rng.u8(..10) < 8).then(|| campaigns[g.rng.usize(..campaigns.len())].to_string());
            let name = (g.rng.u8(..10) < 9).then(|| format!("{first} {last}"));
            let company = (g.rng.u8(..10) < 8).then_some(company);
            let created = g.ago(1, 365);
            leads
                .push(&[
                    Some(&id.to_string()),
                    Some(&org.to_string()),
                    campaign.as_deref(),
                    Some(&email),
                    name.as_deref(),
                    company.as_deref(),
                    Some(status),
                    Some(&created),
                ])
                .await?;
            if matches!(status, "replied" | "qualified" | "converted") {
                meeting_plan.push((*org, id, status));
            }
        }
    }
    summary.leads = leads.finish().await?;

    let mut meetings = Copy::start(
        &tx,
        "meetings",
        "id, organization_id, lead_id, scheduled_at, status, created_at",
    )
    .await?;
    for (org, lead, lead_status) in meeting_plan {
        // A converted lead had a meeting; a qualified one has one coming; a
        // replied one, one or the other.
        let upcoming = match lead_status {
            "converted" => false,
            "qualified" => true,
            _ => g.rng.bool(),
        };
        let (at, status) = if upcoming {
            let secs = g.rng.i64(3_600..30 * 86_400);
            (ts(g.now + time::Duration::seconds(secs)), "scheduled")
        } else {
            (
                g.ago(1, 120),
                g.weighted(&[("completed", 80), ("cancelled", 20)]),
            )
        };
        let created = g.ago(0, 0);
        meetings
            .push(&[
                Some(&g.uuid().to_string()),
                Some(&org.to_string()),
                Some(&lead.to_string()),
                Some(&at),
                Some(status),
                Some(&created),
            ])
            .await?;
    }
    summary.meetings = meetings.finish().await?;
    tx.commit().await?;
    // Fresh statistics for the planner after a bulk load.
    client
        .batch_execute("analyze public.organizations, public.users, public.campaigns, public.leads, public.meetings")
        .await?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}
