//! The schema on a Citus cluster (docs/scale-out.md). After the migrations,
//! when the database has the `citus` extension and nodes to put shards on,
//! `vectra migrate` distributes what is not yet distributed
//! (`sql/citus/distribute.sql`), makes the request settings reach the
//! shards, and lets the roles the service takes authenticate to the workers
//! (never to the coordinator, where clients connect). On plain PostgreSQL
//! none of it runs.

use anyhow::Context;
use tokio_postgres::Client;

/// Distributes the schema: reference tables, tenant tables by
/// `organization_id`, saved and remade functions and views.
const DISTRIBUTE: &str = include_str!("../../sql/citus/distribute.sql");

/// The roles a query may run as on the coordinator, and so the roles it
/// connects to the workers as: the request roles after `SET ROLE`, the
/// owners of SECURITY DEFINER functions, the DBAs' reader.
pub const WORKER_ROLES: &[&str] = &[
    "vectra_anon",
    "vectra_member",
    "vectra_platform_admin",
    "vectra_worker",
    "vectra_definer",
    "vectra_tenant_reader",
];

/// What one run did on a Citus cluster.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Tables that became reference or distributed tables now.
    pub converted: Vec<String>,
    /// Worker nodes the roles were made able to log in to.
    pub workers: usize,
}

/// Whether the database is a Citus coordinator with nodes for shards.
pub async fn is_cluster(client: &Client) -> anyhow::Result<bool> {
    let has_citus: bool = client
        .query_one(
            "select exists (select from pg_catalog.pg_extension where extname = 'citus')",
            &[],
        )
        .await?
        .get(0);
    if !has_citus {
        return Ok(false);
    }
    let nodes: i64 = client
        .query_one(
            "select count(*) from pg_catalog.pg_dist_node where noderole = 'primary' and isactive",
            &[],
        )
        .await
        .context("reading pg_dist_node")?
        .get(0);
    if nodes == 0 {
        tracing::warn!(
            "the citus extension is installed but no node is registered (citus_set_coordinator_host, citus_add_node): the tables stay local"
        );
    }
    Ok(nodes > 0)
}

/// Distributes what is left, on a Citus coordinator; `None` elsewhere.
pub async fn distribute(client: &mut Client) -> anyhow::Result<Option<Outcome>> {
    if !is_cluster(client).await? {
        return Ok(None);
    }
    let before = distributed(client).await?;
    let tx = client.transaction().await?;
    tx.batch_execute(DISTRIBUTE)
        .await
        .context("distributing the schema (sql/citus/distribute.sql)")?;
    tx.commit().await?;
    let after = distributed(client).await?;
    let converted = after.into_iter().filter(|t| !before.contains(t)).collect();

    // SET LOCAL of the request settings reaches the workers (set_config
    // does not: RLS there would then see no organization, and show nothing).
    client
        .batch_execute(
            "do $$ begin
               execute format('alter database %I set citus.propagate_set_commands = %L', current_database(), 'local');
             end $$",
        )
        .await
        .context("setting citus.propagate_set_commands")?;
    let workers = authenticate_roles_to_workers(client).await?;
    // A node added since the tables were made reference tables gets its
    // copies now, not lazily inside the first request that needs them
    // (which Citus then refuses to mix with the coordinator's local reads).
    client
        .batch_execute("select pg_catalog.replicate_reference_tables()")
        .await
        .context("copying the reference tables to every node")?;
    Ok(Some(Outcome { converted, workers }))
}

async fn distributed(client: &Client) -> anyhow::Result<Vec<String>> {
    Ok(client
        .query(
            "select logicalrelid::text from pg_catalog.pg_dist_partition order by 1",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// The coordinator opens its connections to the workers as the role the
/// query runs as. Those roles are NOLOGIN, and stay so on the coordinator;
/// on each worker they may log in, with a password only the coordinator
/// holds (`pg_dist_authinfo`, readable by superusers alone). Run again after
/// adding a node: a new worker gets the roles as the coordinator has them.
async fn authenticate_roles_to_workers(client: &Client) -> anyhow::Result<usize> {
    let workers: i64 = client
        .query_one(
            "select count(*) from pg_catalog.pg_dist_node where noderole = 'primary' and groupid <> 0",
            &[],
        )
        .await?
        .get(0);
    for role in WORKER_ROLES {
        let password: String = client
            .query_one(
                "select coalesce(
                   (select substring(authinfo from 'password=(\\S+)') from pg_catalog.pg_dist_authinfo
                     where rolename = $1 and nodeid = 0),
                   encode(extensions.gen_random_bytes(24), 'hex'))",
                &[role],
            )
            .await?
            .get(0);
        client
            .execute(
                "insert into pg_catalog.pg_dist_authinfo (nodeid, rolename, authinfo)
                 values (0, $1, 'password=' || $2)
                 on conflict (rolename, nodeid) do update set authinfo = excluded.authinfo",
                &[role, &password],
            )
            .await
            .with_context(|| format!("pg_dist_authinfo for {role}"))?;
        if workers > 0 {
            // Not propagated: the coordinator keeps the role NOLOGIN. A
            // SCRAM verifier, so the password itself is in no statement.
            let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
            let command = format!(
                "set citus.enable_alter_role_propagation = off; alter role {role} login password '{verifier}'"
            );
            let rows = client
                .query(
                    "select nodename, nodeport, success, result from pg_catalog.run_command_on_workers($1)",
                    &[&command],
                )
                .await
                .with_context(|| format!("letting {role} log in to the workers"))?;
            for row in rows {
                if !row.get::<_, bool>(2) {
                    anyhow::bail!(
                        "letting {role} log in to worker {}:{}: {}",
                        row.get::<_, String>(0),
                        row.get::<_, i32>(1),
                        row.get::<_, String>(3)
                    );
                }
            }
        }
    }
    // The workers reach each other too (a shard move, a query started on a
    // worker): every node gets the coordinator's pg_dist_authinfo, which
    // only superusers read.
    if workers > 0 {
        let rows = client
            .query(
                "select nodename, nodeport, success, result from pg_catalog.run_command_on_workers(
                   (select 'insert into pg_catalog.pg_dist_authinfo (nodeid, rolename, authinfo) values '
                           || string_agg(format('(%s, %L, %L)', nodeid, rolename, authinfo), ', ')
                           || ' on conflict (rolename, nodeid) do update set authinfo = excluded.authinfo'
                      from pg_catalog.pg_dist_authinfo))",
                &[],
            )
            .await
            .context("copying pg_dist_authinfo to the workers")?;
        for row in rows {
            if !row.get::<_, bool>(2) {
                anyhow::bail!(
                    "copying pg_dist_authinfo to worker {}:{}: {}",
                    row.get::<_, String>(0),
                    row.get::<_, i32>(1),
                    row.get::<_, String>(3)
                );
            }
        }
    }
    Ok(workers as usize)
}
