//! The schema as the migrations leave it, checked in under `sql/schema/`
//! (see its README.md): a fresh database is migrated, its catalog written
//! out by `schema/generate.sql`, and the files compared with the checked-in
//! ones. `VECTRA_UPDATE_SCHEMA=1` writes them instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tokio_postgres::Client;

use crate::harness::TestDb;

const UPDATE_ENV: &str = "VECTRA_UPDATE_SCHEMA";
const REGENERATE: &str = "VECTRA_UPDATE_SCHEMA=1 cargo test --test api schema::";

/// Settings that change how the catalog is printed: names qualified but
/// pg_catalog's, and constants (intervals, times) in PostgreSQL's defaults.
const SESSION: &str = "set search_path = ''; set intervalstyle = 'postgres'; \
                       set datestyle = 'ISO, MDY'; set timezone = 'UTC'; \
                       set extra_float_digits = 1; set bytea_output = 'hex'";

const GENERATE: &str = include_str!("schema/generate.sql");

/// Objects the generator does not write: a migration that creates one must
/// extend `schema/generate.sql` first, or the files would silently miss it.
const UNSUPPORTED: &str = r#"
with ours as (
  select oid from pg_catalog.pg_namespace
   where nspname <> 'information_schema' and nspname !~ '^pg_'
),
ext as (select classid, objid from pg_catalog.pg_depend where deptype = 'e')
select format('%s %s', k, n) collate "C" as what from (
  select case c.relkind when 'S' then 'sequence' when 'f' then 'foreign table' end as k, c.oid::pg_catalog.regclass::text as n
    from pg_catalog.pg_class c
   where c.relnamespace in (select oid from ours) and c.relkind in ('S', 'f')
     and not exists (select 1 from ext e where e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass and e.objid = c.oid)
  union all
  select 'partition or inheritance', i.inhrelid::pg_catalog.regclass::text
    from pg_catalog.pg_inherits i join pg_catalog.pg_class c on c.oid = i.inhrelid
   where c.relnamespace in (select oid from ours)
  union all
  select 'index of a materialized view', i.indexrelid::pg_catalog.regclass::text
    from pg_catalog.pg_index i join pg_catalog.pg_class c on c.oid = i.indrelid
   where c.relkind = 'm' and c.relnamespace in (select oid from ours)
  union all
  select 'aggregate', p.oid::pg_catalog.regprocedure::text
    from pg_catalog.pg_proc p
   where p.pronamespace in (select oid from ours) and p.prokind = 'a'
     and not exists (select 1 from ext e where e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and e.objid = p.oid)
  union all
  select 'type', t.oid::pg_catalog.regtype::text
    from pg_catalog.pg_type t
   where t.typnamespace in (select oid from ours) and t.typtype in ('b', 'r', 'm', 'p') and t.typcategory <> 'A'
     and not exists (select 1 from ext e where e.classid = 'pg_catalog.pg_type'::pg_catalog.regclass and e.objid = t.oid)
  union all
  select 'operator', o.oid::pg_catalog.regoperator::text
    from pg_catalog.pg_operator o
   where o.oprnamespace in (select oid from ours)
     and not exists (select 1 from ext e where e.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass and e.objid = o.oid)
  union all
  select 'operator class', c.opcname::text from pg_catalog.pg_opclass c
   where c.opcnamespace in (select oid from ours)
     and not exists (select 1 from ext e where e.classid = 'pg_catalog.pg_opclass'::pg_catalog.regclass and e.objid = c.oid)
  union all
  select 'collation', c.collname::text from pg_catalog.pg_collation c where c.collnamespace in (select oid from ours)
  union all
  select 'statistics object', s.stxname::text from pg_catalog.pg_statistic_ext s where s.stxnamespace in (select oid from ours)
  union all
  select 'text search configuration', c.cfgname::text from pg_catalog.pg_ts_config c where c.cfgnamespace in (select oid from ours)
  union all
  select 'rule', r.rulename || ' on ' || r.ev_class::pg_catalog.regclass::text
    from pg_catalog.pg_rewrite r join pg_catalog.pg_class c on c.oid = r.ev_class
   where c.relnamespace in (select oid from ours) and r.rulename <> '_RETURN'
  union all
  select 'column statistics or options', a.attrelid::pg_catalog.regclass::text || '.' || a.attname
    from pg_catalog.pg_attribute a join pg_catalog.pg_class c on c.oid = a.attrelid
   where c.relnamespace in (select oid from ours) and c.relkind in ('r', 'p') and a.attnum > 0
     -- (pg_attver=…: an option some PostgreSQL builds set on every column
     -- themselves, Debian's 15.20 among them; not the migrations'.)
     and (a.attstattarget <> -1
          or exists (select 1 from pg_catalog.unnest(a.attoptions) o (opt) where o.opt !~ '^pg_attver='))
  union all
  select 'replica identity', c.oid::pg_catalog.regclass::text
    from pg_catalog.pg_class c
   where c.relnamespace in (select oid from ours) and c.relkind in ('r', 'p') and c.relreplident <> 'd'
  union all
  select 'event trigger', evtname::text from pg_catalog.pg_event_trigger
  union all
  select 'publication', pubname::text from pg_catalog.pg_publication
  union all
  select 'foreign server', srvname::text from pg_catalog.pg_foreign_server
  union all
  select 'cast', c.castsource::pg_catalog.regtype::text || ' as ' || c.casttarget::pg_catalog.regtype::text
    from pg_catalog.pg_cast c
   where c.oid >= 16384
     and not exists (select 1 from ext e where e.classid = 'pg_catalog.pg_cast'::pg_catalog.regclass and e.objid = c.oid)
  union all
  select 'language', l.lanname::text from pg_catalog.pg_language l
   where l.oid >= 16384 and l.lanname <> 'plpgsql'
     and not exists (select 1 from ext e where e.classid = 'pg_catalog.pg_language'::pg_catalog.regclass and e.objid = l.oid)
) x(k, n)
order by 1
"#;

/// The first line of each file after the common header.
fn title(file: &str) -> String {
    let stem = file.trim_end_matches(".sql");
    if let Some(table) = stem.strip_prefix("tables/") {
        return format!(
            "Table {table}: columns, constraints, indexes, triggers, row-level security, \
             policies, privileges."
        );
    }
    if let Some(group) = stem.strip_prefix("functions/") {
        let (schema, kind) = group.split_once('.').unwrap_or((group, ""));
        return match kind {
            "invoker" => format!(
                "Functions of schema {schema} that run as their caller (SECURITY INVOKER): \
                 the caller's privileges and policies apply."
            ),
            "definer.migration_owner" => format!(
                "SECURITY DEFINER functions of schema {schema} owned by the migration owner: \
                 they run as a superuser or BYPASSRLS role, past row-level security."
            ),
            _ => {
                let owner = kind.trim_start_matches("definer.");
                format!(
                    "SECURITY DEFINER functions of schema {schema} owned by {owner}: they run \
                     with {owner}'s privileges, under its policies."
                )
            }
        };
    }
    match stem {
        "roles" => "Roles, memberships, the database's and schemas' privileges, default \
                    privileges, and privileges changed on PostgreSQL's own objects."
            .to_owned(),
        "types" => "Extensions and types.".to_owned(),
        "views" => "Views.".to_owned(),
        other => other.to_owned(),
    }
}

/// The heading of a section of a file, if it has one.
fn section_heading(file: &str, section: i32) -> Option<&'static str> {
    if file.starts_with("tables/") {
        return match section {
            2 => Some("Constraints"),
            3 => Some("Indexes (besides those of the constraints)"),
            4 => Some("Triggers"),
            5 => Some("Row-level security"),
            6 => Some("Policies"),
            7 => Some("Privileges"),
            _ => None,
        };
    }
    match (file, section) {
        ("roles.sql", 1) => Some("Roles (cluster-wide; attributes, settings and comments)"),
        ("roles.sql", 2) => Some("Memberships"),
        ("roles.sql", 3) => Some("The database"),
        ("roles.sql", 4) => Some("Schemas"),
        ("roles.sql", 5) => Some("Default privileges"),
        ("roles.sql", 6) => Some("PostgreSQL's own objects: privileges that differ from initdb's"),
        ("types.sql", 1) => Some("Extensions"),
        ("types.sql", 2) => Some("Enums"),
        ("types.sql", 3) => Some("Domains"),
        ("types.sql", 4) => Some("Composite types"),
        _ => None,
    }
}

/// The files of `sql/schema/` (README.md aside) for the database `client`
/// is connected to, as the migration owner.
pub async fn generate(client: &Client) -> BTreeMap<String, String> {
    client.batch_execute(SESSION).await.expect("session");
    let unsupported: Vec<String> = client
        .query(UNSUPPORTED, &[])
        .await
        .expect("unsupported objects")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        unsupported.is_empty(),
        "the migrations create objects tests/api/schema/generate.sql does not write yet; \
         extend it: {unsupported:?}"
    );
    let rows = client.query(GENERATE, &[]).await.expect("generate.sql");
    type Block = (i32, String, i32, String);
    let mut blocks: BTreeMap<String, Vec<Block>> = BTreeMap::new();
    for row in rows {
        let (file, section, key, sub, text): (String, i32, String, i32, Option<String>) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        if let Some(text) = text {
            blocks
                .entry(file)
                .or_default()
                .push((section, key, sub, text));
        }
    }
    blocks
        .into_iter()
        .map(|(file, mut blocks)| {
            // Byte order, as COLLATE "C": the same on every machine.
            blocks.sort_by(|a, b| (a.0, a.1.as_bytes(), a.2).cmp(&(b.0, b.1.as_bytes(), b.2)));
            let mut out = format!(
                "-- {}\n-- Generated from a freshly migrated database by tests/api/schema.rs: do not \
                 edit.\n-- Regenerate: {REGENERATE} (see sql/schema/README.md).\n-- CURRENT_USER \
                 stands for the migration owner (the role of DATABASE_ADMIN_URL).\n",
                title(&file)
            );
            let mut last: Option<(i32, &str)> = None;
            for (section, key, _, text) in &blocks {
                // The blocks of one key follow each other; keys are apart.
                if last != Some((*section, key.as_str())) {
                    out.push('\n');
                    if last.map(|(s, _)| s) != Some(*section)
                        && let Some(heading) = section_heading(&file, *section)
                    {
                        out.push_str(&format!("-- {heading}\n\n"));
                    }
                }
                out.push_str(text);
                out.push('\n');
                last = Some((*section, key));
            }
            (file, out)
        })
        .collect()
}

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sql/schema")
}

/// The checked-in `.sql` files, by path relative to `sql/schema/`.
fn checked_in(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|x| x == "sql") {
                let rel = path
                    .strip_prefix(root)
                    .expect("below sql/schema")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.insert(rel, std::fs::read_to_string(&path).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Where two texts first differ, for the failure message.
fn first_difference(old: &str, new: &str) -> String {
    let (old_lines, new_lines): (Vec<&str>, Vec<&str>) =
        (old.lines().collect(), new.lines().collect());
    let at = old_lines
        .iter()
        .zip(&new_lines)
        .position(|(a, b)| a != b)
        .unwrap_or(old_lines.len().min(new_lines.len()));
    let line = |lines: &[&str]| {
        lines
            .get(at)
            .map_or("(end of file)".to_owned(), |l| l.to_string())
    };
    format!(
        "line {}:\n      checked in: {}\n      migrations: {}",
        at + 1,
        line(&old_lines),
        line(&new_lines)
    )
}

/// What differs between the checked-in files and the generated ones.
fn differences(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (file, text) in new {
        match old.get(file) {
            None => out.push(format!("  missing: sql/schema/{file}")),
            Some(checked) if checked != text => out.push(format!(
                "  differs: sql/schema/{file}, {}",
                first_difference(checked, text)
            )),
            Some(_) => {}
        }
    }
    for file in old.keys().filter(|f| !new.contains_key(*f)) {
        out.push(format!("  not made by the migrations: sql/schema/{file}"));
    }
    out
}

/// Writes the generated files and removes the `.sql` files no longer made.
fn write(dir: &Path, old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) {
    for file in old.keys().filter(|f| !new.contains_key(*f)) {
        std::fs::remove_file(dir.join(file)).expect("remove a stale file");
    }
    for (file, text) in new {
        if old.get(file) != Some(text) {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("create dir");
            std::fs::write(&path, text).expect("write");
        }
    }
}

#[tokio::test]
async fn the_checked_in_schema_is_what_the_migrations_make() {
    let db = TestDb::empty().await;
    vectra::db::migrate::run(&crate::harness::migrate_config(&db.admin_url(), None))
        .await
        .expect("migrate");
    let generated = generate(&db.admin().await).await;
    let dir = schema_dir();
    let old = checked_in(&dir);
    if std::env::var_os(UPDATE_ENV).is_some_and(|v| !v.is_empty()) {
        write(&dir, &old, &generated);
        eprintln!(
            "{UPDATE_ENV}: wrote {} files under sql/schema/",
            generated.len()
        );
        return;
    }
    let diffs = differences(&old, &generated);
    assert!(
        diffs.is_empty(),
        "sql/schema/ is not what the migrations make:\n{}\n\nRegenerate it from the migrations \
         and review the diff:\n  {REGENERATE}\n(with VECTRA_TEST_DATABASE_URL set as for the \
         other tests when they use an existing server)",
        diffs.join("\n")
    );
}

#[test]
fn a_difference_names_the_file_and_the_line() {
    let old = BTreeMap::from([
        ("a.sql".to_owned(), "one\ntwo\n".to_owned()),
        ("gone.sql".to_owned(), "x\n".to_owned()),
    ]);
    let new = BTreeMap::from([
        ("a.sql".to_owned(), "one\nthree\n".to_owned()),
        ("b.sql".to_owned(), "y\n".to_owned()),
    ]);
    let diffs = differences(&old, &new);
    assert_eq!(diffs.len(), 3, "{diffs:?}");
    assert!(
        diffs[0].contains("sql/schema/a.sql, line 2"),
        "{}",
        diffs[0]
    );
    assert!(diffs[0].contains("checked in: two") && diffs[0].contains("migrations: three"));
    assert!(diffs[1].contains("missing: sql/schema/b.sql"));
    assert!(diffs[2].contains("not made by the migrations: sql/schema/gone.sql"));
    assert!(differences(&new, &new).is_empty());
}
