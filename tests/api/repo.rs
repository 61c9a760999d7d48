//! Checks that keep the repository's recipes true to the code.

fn read(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The Dockerfile's dependency layer builds a stand-in crate; cargo refuses a
/// manifest whose declared targets are missing, so each needs a stand-in.
#[test]
fn the_dockerfile_stubs_every_declared_bench() {
    let manifest = read("Cargo.toml");
    let dockerfile = read("Dockerfile");
    let benches: Vec<&str> = manifest
        .split("[[bench]]")
        .skip(1)
        .filter_map(|section| {
            section
                .lines()
                .find_map(|l| l.trim().strip_prefix("name = "))
                .map(|n| n.trim_matches('"'))
        })
        .collect();
    assert!(!benches.is_empty());
    for bench in benches {
        assert!(
            dockerfile.contains(&format!("benches/{bench}.rs")),
            "Dockerfile does not stub benches/{bench}.rs"
        );
    }
    assert!(dockerfile.contains("COPY benches ./benches"));
}

/// CI runs the README's test command (its output kept for the summary
/// line), and fails when it fails.
#[test]
fn ci_runs_the_readme_test_command() {
    assert!(read("README.md").contains("```sh\ncargo test\n```"));
    let ci = read(".ci/run");
    assert!(
        ci.lines()
            .any(|l| l.trim() == "cargo test 2>&1 | tee \"$CI_TMP/cargo-test.log\""),
        "{ci}"
    );
    assert!(ci.contains("cargo_status=${PIPESTATUS[0]}"));
    assert!(ci.contains(
        "[ \"$cargo_status\" -eq 0 ] && [ \"$newman_status\" -eq 0 ] && [ \"$schemathesis_status\" -eq 0 ] && [ \"$bench_status\" -eq 0 ]"
    ));
}
