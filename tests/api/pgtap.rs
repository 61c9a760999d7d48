//! Runs the pgTAP files of `sql/tests/` against the test server, each as a
//! test of its own in a fresh copy of the migrated template. pgTAP missing
//! is a failure.

use tokio_postgres::SimpleQueryMessage;

use crate::harness::TestDb;

/// The TAP lines a file printed, and whether they describe a passing run.
fn judge(file: &str, lines: &[String]) {
    let plan = lines
        .iter()
        .find_map(|l| {
            l.strip_prefix("1..")
                .and_then(|n| n.trim().parse::<usize>().ok())
        })
        .unwrap_or_else(|| panic!("{file}: no TAP plan in output:\n{}", lines.join("\n")));
    let failed: Vec<&String> = lines.iter().filter(|l| l.starts_with("not ok")).collect();
    let passed = lines.iter().filter(|l| l.starts_with("ok ")).count();
    assert!(
        failed.is_empty() && passed == plan,
        "{file}: {passed}/{plan} passed\n{}",
        lines.join("\n")
    );
}

/// Runs one file of `sql/tests/` in a fresh copy of the migrated template.
async fn run(name: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sql/tests")
        .join(name);
    let sql = std::fs::read_to_string(&path).expect("read pgTAP file");
    let db = TestDb::new().await;
    let admin = db.admin().await;
    admin
        .batch_execute("create extension pgtap")
        .await
        .expect("pgTAP is not installed on the test server (use the vectra-test-postgres image)");
    // The migration owner's default privileges keep new functions from
    // PUBLIC; pgTAP's assertions must run under every role.
    admin
        .batch_execute("grant execute on all functions in schema public to public")
        .await
        .expect("grant pgTAP");
    let messages = admin
        .simple_query(&sql)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let lines: Vec<String> = messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .flat_map(|s| s.lines().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    judge(name, &lines);
}

/// One test per file, so that the first failure does not hide the rest.
macro_rules! pgtap_files {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[tokio::test]
            async fn $test() {
                run($file).await;
            }
        )*

        const FILES: &[&str] = &[$($file),*];
    };
}

pgtap_files! {
    pgtap_01_structure => "01_structure.sql",
    pgtap_02_tenant_isolation => "02_tenant_isolation.sql",
    pgtap_03_organization => "03_organization.sql",
    pgtap_04_direct_sql => "04_direct_sql.sql",
    pgtap_05_search_path => "05_search_path.sql",
    pgtap_06_prospecting => "06_prospecting.sql",
    pgtap_07_admin_console => "07_admin_console.sql",
    pgtap_08_notifications => "08_notifications.sql",
    pgtap_09_notification_limits => "09_notification_limits.sql",
    pgtap_10_function_plans => "10_function_plans.sql",
    pgtap_11_page_and_role_checks => "11_page_and_role_checks.sql",
    pgtap_12_advisory_locks => "12_advisory_locks.sql",
    pgtap_13_tenant_mail => "13_tenant_mail.sql",
    pgtap_14_abuse_limits => "14_abuse_limits.sql",
    pgtap_15_no_session_state => "15_no_session_state.sql",
    pgtap_16_lists => "16_lists.sql",
    pgtap_17_citus_ready => "17_citus_ready.sql",
}

/// A new file in `sql/tests/` gets its test above.
#[test]
fn every_pgtap_file_has_its_test() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql/tests");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .expect("sql/tests")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    found.sort();
    assert_eq!(found, FILES, "sql/tests and the pgtap_files! list differ");
}

#[test]
fn the_tap_judge_rejects_failures_and_short_runs() {
    let ok = |s: &str| s.lines().map(str::to_owned).collect::<Vec<_>>();
    judge("good", &ok("1..2\nok 1 - a\nok 2 - b"));
    assert!(
        std::panic::catch_unwind(|| judge("bad", &ok("1..2\nok 1 - a\nnot ok 2 - b"))).is_err()
    );
    assert!(std::panic::catch_unwind(|| judge("short", &ok("1..3\nok 1 - a\nok 2 - b"))).is_err());
    assert!(std::panic::catch_unwind(|| judge("no plan", &ok("ok 1 - a"))).is_err());
}
