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
        "[ \"$cargo_status\" -eq 0 ] && [ \"$newman_status\" -eq 0 ] && [ \"$topology_status\" -eq 0 ] && [ \"$schemathesis_status\" -eq 0 ] && [ \"$walk_status\" -eq 0 ] && [ \"$citus_status\" -eq 0 ] && [ \"$bench_status\" -eq 0 ]"
    ));
}

/// The files whose texts name scripts and documents.
fn texts() -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, ext: &[&str], out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, ext, out);
            } else if ext.is_empty()
                || path
                    .extension()
                    .is_some_and(|e| ext.iter().any(|x| e == *x))
            {
                out.push(path);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<std::path::PathBuf> = ["README.md", ".ci/run", "Dockerfile"]
        .iter()
        .map(|f| root.join(f))
        .collect();
    for (dir, ext) in [
        ("docs", &["md"][..]),
        ("scripts", &[]),
        ("bench", &[]),
        ("benches", &["rs"]),
        ("src", &["rs"]),
        ("tests", &["rs"]),
    ] {
        walk(&root.join(dir), ext, &mut out);
    }
    out
}

/// GitHub's anchor of a Markdown heading.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every script and document the repository's texts name, and every
/// Markdown link between its documents (with its #anchor), exists: a file
/// moved or merged (the benchmark scripts into bench/, benchmarks.md into
/// performance.md) leaves no stale reference behind.
#[test]
fn every_named_script_document_and_anchor_exists() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let is_path = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-');
    let mut missing = Vec::new();
    for file in texts() {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let name = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for prefix in ["scripts/", "bench/", "benches/", "docs/"] {
            for (i, _) in text.match_indices(prefix) {
                if text[..i].chars().next_back().is_some_and(is_path) {
                    continue;
                }
                let path: String = text[i..].chars().take_while(|c| is_path(*c)).collect();
                let path = path.trim_end_matches('.');
                let named_file = [".sh", ".py", ".lua", ".rs", ".md"]
                    .iter()
                    .any(|ext| path.ends_with(ext));
                if named_file && !root.join(path).exists() {
                    missing.push(format!("{name}: {path}"));
                }
            }
        }
        if file.extension().is_some_and(|e| e == "md") {
            for (i, _) in text.match_indices("](") {
                let target: String = text[i + 2..].chars().take_while(|c| *c != ')').collect();
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (path, fragment) = target.split_once('#').unwrap_or((&target, ""));
                let linked = if path.is_empty() {
                    file.clone()
                } else {
                    file.parent().expect("a directory").join(path)
                };
                if !linked.exists() {
                    missing.push(format!("{name}: link to {target}"));
                    continue;
                }
                if fragment.is_empty() || linked.extension().is_none_or(|e| e != "md") {
                    continue;
                }
                let headings = std::fs::read_to_string(&linked).unwrap_or_default();
                let found = headings
                    .lines()
                    .filter(|l| l.starts_with('#'))
                    .any(|l| anchor(l.trim_start_matches('#')) == fragment);
                if !found {
                    missing.push(format!("{name}: link to {target} (no such heading)"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "stale references:\n{}",
        missing.join("\n")
    );
}
