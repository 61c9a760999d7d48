//! Fixtures: two organizations with rows in every tenant table, plus the
//! platform admin and its platform-wide rows. Inserted as the superuser.

use tokio_postgres::Client;
use uuid::Uuid;
use vectra::db::SessionClaims;

/// Every table with an `organization_id` column.
pub const TENANT_TABLES: &[&str] = &[
    "users",
    "invitations",
    "notifications",
    "email_outbox",
    "audit_log",
    "campaigns",
    "leads",
    "meetings",
    "lead_suppressions",
];

#[derive(Debug, Clone)]
pub struct Org {
    pub id: Uuid,
    pub owner: Uuid,
    pub member: Uuid,
    pub owner_session: Uuid,
    pub member_session: Uuid,
}

impl Org {
    pub fn owner_claims(&self) -> SessionClaims {
        SessionClaims {
            session_id: self.owner_session,
            user_id: self.owner,
            org_id: Some(self.id),
            role: "owner".into(),
        }
    }

    pub fn member_claims(&self) -> SessionClaims {
        SessionClaims {
            session_id: self.member_session,
            user_id: self.member,
            org_id: Some(self.id),
            role: "member".into(),
        }
    }

    /// The settings `auth.begin_request` would set for this org's owner.
    pub fn owner_settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("app.org_id", self.id.to_string()),
            ("app.user_id", self.owner.to_string()),
            ("app.role", "owner".into()),
        ]
    }
}

#[derive(Debug, Clone)]
pub struct Seed {
    pub a: Org,
    pub b: Org,
    pub platform_admin: Uuid,
    pub platform_session: Uuid,
}

impl Seed {
    pub fn platform_claims(&self) -> SessionClaims {
        SessionClaims {
            session_id: self.platform_session,
            user_id: self.platform_admin,
            org_id: None,
            role: "platform_admin".into(),
        }
    }
}

async fn one(
    client: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Uuid {
    client
        .query_one(sql, params)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

async fn user(client: &Client, org: Option<Uuid>, email: &str, role: &str) -> Uuid {
    let id = one(
        client,
        "insert into users (organization_id, email, password_hash, full_name, role, email_verified_at)
         values ($1, $2, 'not-a-real-hash', initcap(split_part($2, '@', 1)), $3::text::user_role, now())
         returning id",
        &[&org, &email, &role],
    )
    .await;
    // As the service's functions do (organizations.users_count), on a
    // schema that has the function (an upgrade test seeds older ones).
    if org.is_some()
        && client
            .query_one(
                "select to_regprocedure('auth.count_users(uuid)') is not null",
                &[],
            )
            .await
            .expect("auth.count_users?")
            .get::<_, bool>(0)
    {
        client
            .execute("select auth.count_users($1)", &[&org])
            .await
            .expect("auth.count_users");
    }
    id
}

async fn session(client: &Client, user: Uuid) -> Uuid {
    one(
        client,
        "insert into sessions (user_id, token_hash, expires_at)
         values ($1, sha256(gen_random_uuid()::text::bytea), now() + interval '1 day')
         returning id",
        &[&user],
    )
    .await
}

async fn org(client: &Client, slug: &str) -> Org {
    let id = one(
        client,
        "insert into organizations (name, slug) values (initcap($1), $1) returning id",
        &[&slug],
    )
    .await;
    let owner = user(client, Some(id), &format!("owner@{slug}.test"), "owner").await;
    let member = user(client, Some(id), &format!("member@{slug}.test"), "member").await;
    let owner_session = session(client, owner).await;
    let member_session = session(client, member).await;
    client
        .execute(
            "insert into one_time_tokens (user_id, purpose, token_hash, expires_at)
             values ($1, 'verify_email', sha256(gen_random_uuid()::text::bytea), now() + interval '1 day')",
            &[&member],
        )
        .await
        .expect("one_time_tokens");
    client
        .execute(
            "insert into invitations (organization_id, email, role, token_hash, invited_by, expires_at)
             values ($1, 'invitee@' || $2 || '.test', 'member', sha256(gen_random_uuid()::text::bytea), $3,
                     now() + interval '7 days')",
            &[&id, &slug, &owner],
        )
        .await
        .expect("invitations");
    let notification = one(
        client,
        "insert into notifications (organization_id, type, sender_id, subject, body, recipient_count)
         values ($1, 'org_owner_to_members', $2, 'Hello ' || $3, 'Body', 1) returning id",
        &[&id, &owner, &slug],
    )
    .await;
    client
        .execute(
            "insert into email_outbox (organization_id, notification_id, to_email, template, context)
             values ($1, $2, 'member@' || $3 || '.test', 'notification', '{}')",
            &[&id, &notification, &slug],
        )
        .await
        .expect("email_outbox");
    client
        .execute(
            "insert into audit_log (organization_id, actor_id, action, target_type, target_id)
             values ($1, $2, 'user.invite', 'invitation', null),
                    ($1, $2, 'organization.update', 'organization', $1)",
            &[&id, &owner],
        )
        .await
        .expect("audit_log");
    let campaign = one(
        client,
        "insert into campaigns (organization_id, name, status) values ($1, 'Launch ' || $2, 'active') returning id",
        &[&id, &slug],
    )
    .await;
    let lead = one(
        client,
        "insert into leads (organization_id, campaign_id, email, status)
         values ($1, $2, 'lead1@prospect-' || $3 || '.test', 'contacted') returning id",
        &[&id, &campaign, &slug],
    )
    .await;
    client
        .execute(
            "insert into leads (organization_id, campaign_id, email, status)
             values ($1, $2, 'lead2@prospect-' || $3 || '.test', 'converted')",
            &[&id, &campaign, &slug],
        )
        .await
        .expect("leads");
    client
        .execute(
            "insert into meetings (organization_id, lead_id, scheduled_at) values ($1, $2, now() + interval '2 days')",
            &[&id, &lead],
        )
        .await
        .expect("meetings");
    client
        .execute(
            "insert into lead_suppressions (organization_id, email) values ($1, 'gone@prospect-' || $2 || '.test')",
            &[&id, &slug],
        )
        .await
        .expect("lead_suppressions");
    Org {
        id,
        owner,
        member,
        owner_session,
        member_session,
    }
}

/// Organizations `alpha` (A) and `beta` (B) with rows in every tenant table,
/// the verified platform admin, a platform-wide notification, email and audit entry.
pub async fn two_orgs(client: &Client) -> Seed {
    let a = org(client, "alpha").await;
    let b = org(client, "beta").await;
    let platform_admin = user(client, None, "admin@vectra.test", "platform_admin").await;
    let platform_session = session(client, platform_admin).await;
    // Platform rows as the schema at hand keeps them: under the reserved
    // organization, or under none before it existed (the upgrade test seeds
    // the previous schema).
    let reserved: bool = client
        .query_one(
            "select to_regprocedure('app.platform_org_id()') is not null",
            &[],
        )
        .await
        .expect("platform organization")
        .get(0);
    let platform_org: Option<Uuid> = if reserved {
        client
            .query_one("select app.platform_org_id()", &[])
            .await
            .expect("platform organization")
            .get(0)
    } else {
        None
    };
    let notification = one(
        client,
        "insert into notifications (organization_id, type, sender_id, subject, body, recipient_count)
         values ($2, 'system_alerts', $1, 'Maintenance', 'Tonight', 4) returning id",
        &[&platform_admin, &platform_org],
    )
    .await;
    client
        .execute(
            "insert into email_outbox (organization_id, notification_id, to_email, template, context)
             values ($2, $1, 'owner@alpha.test', 'notification', '{}')",
            &[&notification, &platform_org],
        )
        .await
        .expect("platform outbox");
    client
        .execute(
            "insert into audit_log (organization_id, actor_id, action) values ($2, $1, 'organization.create')",
            &[&platform_admin, &platform_org],
        )
        .await
        .expect("platform audit");
    Seed {
        a,
        b,
        platform_admin,
        platform_session,
    }
}
