//! Runs the pgTAP files of `sql/tests/` against the test server, each in a
//! fresh copy of the migrated template. pgTAP missing is a failure.

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

#[tokio::test]
async fn pgtap_suites_pass() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql/tests");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("sql/tests")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no pgTAP files in {}", dir.display());

    for path in files {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let sql = std::fs::read_to_string(&path).expect("read pgTAP file");
        let db = TestDb::new().await;
        let admin = db.admin().await;
        admin.batch_execute("create extension pgtap").await.expect(
            "pgTAP is not installed on the test server (use the vectra-test-postgres image)",
        );
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
        judge(&name, &lines);
    }
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
