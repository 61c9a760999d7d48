//! The test image (PostgreSQL 15 with pgTAP): used when Docker has it, built
//! by the harness itself when it does not, so that `cargo test` alone works
//! on a fresh machine with Docker.
//!
//! * Without Docker (no `docker` command, or a daemon that does not answer),
//!   the tests stop with one message saying what to install or start, or to
//!   set `VECTRA_TEST_DATABASE_URL` instead.
//! * A missing image is built once: by one thread of the test binary (the
//!   server is started under a `OnceLock`), and by one test process of those
//!   started at the same time (a lock file next to the build log, in the
//!   temporary directory: the Docker daemon is the machine's, so is the
//!   lock). The others wait, then find the image built.
//! * The recipe is `scripts/build-test-image.sh --registry` when a registry
//!   answers (the `FROM` image of `docker/test-postgres/Dockerfile` can be
//!   pulled), `--debian` otherwise (Debian's packages, no registry; needs
//!   root, like mmdebstrap). Its output goes to a log file; one line says
//!   what is happening and about how long it takes.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// What `docker info` says about Docker on this machine.
#[derive(Debug, PartialEq)]
pub enum Docker {
    /// No `docker` command.
    Missing,
    /// The command is there, the daemon does not answer: its first line.
    Down(String),
    Up,
}

pub fn docker_state(docker: &str) -> Docker {
    match Command::new(docker)
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdin(Stdio::null())
        .output()
    {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Docker::Missing,
        Err(e) => Docker::Down(e.to_string()),
        Ok(out) if out.status.success() => Docker::Up,
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stderr);
            let line = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("no answer");
            Docker::Down(line.to_owned())
        }
    }
}

const USE_A_SERVER: &str = "Or run the tests against a PostgreSQL 15 server with pgTAP of yours \
     (Debian: apt-get install postgresql-15 postgresql-15-pgtap), without Docker: \
     VECTRA_TEST_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres cargo test";

/// What to tell a newcomer whose Docker cannot run the test image.
pub fn no_docker_message(state: &Docker) -> String {
    match state {
        Docker::Up => String::new(),
        Docker::Missing => format!(
            "The integration tests need PostgreSQL 15 with pgTAP, which they run in Docker, and \
             there is no `docker` command here. Install Docker (Debian or Ubuntu: \
             `sudo apt-get install docker.io`, or `sudo scripts/ensure-docker.sh`, which also \
             starts it; macOS or Windows: Docker Desktop); the tests then build their image \
             themselves. {USE_A_SERVER}"
        ),
        Docker::Down(why) => format!(
            "The integration tests need PostgreSQL 15 with pgTAP, which they run in Docker, and \
             the Docker daemon does not answer (`docker info`: {why}). Start it (`sudo \
             systemctl start docker`, `sudo scripts/ensure-docker.sh`, or Docker Desktop), or \
             give your user access to it (the `docker` group). {USE_A_SERVER}"
        ),
    }
}

/// The two ways of `scripts/build-test-image.sh`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Recipe {
    Registry,
    Debian,
}

impl Recipe {
    fn flag(self) -> &'static str {
        match self {
            Recipe::Registry => "--registry",
            Recipe::Debian => "--debian",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Recipe::Registry => {
                "docker build of docker/test-postgres/Dockerfile (the official postgres:15 image \
                 plus pgTAP); about a minute"
            }
            Recipe::Debian => {
                "no registry answered: mmdebstrap of Debian bookworm with postgresql-15 and \
                 pgTAP, then docker import; about a minute, more on a slow network"
            }
        }
    }
}

/// The registry's recipe when a registry answers; Debian's otherwise,
/// which needs root (mmdebstrap's root mode, as the script says).
pub fn choose_recipe(registry_answers: bool, root: bool, image: &str) -> Result<Recipe, String> {
    match (registry_answers, root) {
        (true, _) => Ok(Recipe::Registry),
        (false, true) => Ok(Recipe::Debian),
        (false, false) => Err(format!(
            "The test image {image} is missing, no container registry answers, and building it \
             from Debian's packages needs root: run `sudo scripts/build-test-image.sh --debian` \
             once (a few minutes), then `cargo test` again. {USE_A_SERVER}"
        )),
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The image the registry recipe starts from: `FROM` in its Dockerfile.
fn registry_base() -> Option<String> {
    let dockerfile =
        std::fs::read_to_string(repo().join("docker/test-postgres/Dockerfile")).ok()?;
    dockerfile
        .lines()
        .find_map(|l| l.trim().strip_prefix("FROM "))
        .map(|image| image.trim().to_owned())
}

fn image_present(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", image])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A registry answers when the registry recipe's base image can be pulled
/// (which is that recipe's first step anyway).
fn registry_answers(log: &mut File) -> bool {
    let Some(base) = registry_base() else {
        return false;
    };
    let _ = writeln!(log, "$ docker pull {base}");
    let (out, err) = match (log.try_clone(), log.try_clone()) {
        (Ok(o), Ok(e)) => (Stdio::from(o), Stdio::from(e)),
        _ => (Stdio::null(), Stdio::null()),
    };
    Command::new("docker")
        .args(["pull", &base])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .is_ok_and(|s| s.success())
}

/// Writes past the test harness's output capture (`eprintln!` in a test
/// thread is only shown when the test fails): the newcomer waiting for a
/// build sees why.
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "vectra tests: {line}");
}

fn file_stem(image: &str) -> String {
    image
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Where a build of `image` logs, and the lock that lets one process build it.
fn paths(image: &str) -> (PathBuf, PathBuf) {
    let stem = format!("vectra-test-image-{}", file_stem(image));
    let dir = std::env::temp_dir();
    (
        dir.join(format!("{stem}.log")),
        dir.join(format!("{stem}.lock")),
    )
}

/// Runs `build` unless `present` says it is not needed, with the lock file
/// `lock` held: of all the processes (and threads) that find the image
/// missing at the same time, the first builds it and the others, once they
/// have the lock, find it present (`waiting` is called while they wait).
/// Returns whether this caller built it.
pub fn build_once(
    lock: &Path,
    present: &dyn Fn() -> bool,
    waiting: &dyn Fn(),
    build: &dyn Fn() -> Result<(), String>,
) -> Result<bool, String> {
    if present() {
        return Ok(false);
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock)
        .map_err(|e| format!("cannot open the lock file {}: {e}", lock.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            waiting();
            file.lock()
                .map_err(|e| format!("cannot lock {}: {e}", lock.display()))?;
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(format!("cannot lock {}: {e}", lock.display()));
        }
    }
    // Held until `file` is dropped, even if `build` panics.
    if present() {
        return Ok(false);
    }
    build().map(|()| true)
}

/// Makes sure Docker answers and has `image`, building it when missing.
pub fn ensure(image: &str) -> Result<(), String> {
    let docker = docker_state("docker");
    if docker != Docker::Up {
        return Err(no_docker_message(&docker));
    }
    let (log_path, lock) = paths(image);
    build_once(
        &lock,
        &|| image_present(image),
        &|| {
            say(&format!(
                "another test process is building {image}; waiting for it"
            ))
        },
        &|| build(image, &log_path),
    )?;
    Ok(())
}

fn build(image: &str, log_path: &Path) -> Result<(), String> {
    let mut log =
        File::create(log_path).map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let root = nix::unistd::geteuid().is_root();
    let recipe = choose_recipe(registry_answers(&mut log), root, image)?;
    say(&format!(
        "the test image {image} is missing: building it once with scripts/build-test-image.sh {} \
         ({}; log: {})",
        recipe.flag(),
        recipe.what(),
        log_path.display()
    ));
    let started = Instant::now();
    let _ = writeln!(log, "$ scripts/build-test-image.sh {}", recipe.flag());
    let (out, err) = match (log.try_clone(), log.try_clone()) {
        (Ok(o), Ok(e)) => (o, e),
        (Err(e), _) | (_, Err(e)) => return Err(format!("{}: {e}", log_path.display())),
    };
    let status = Command::new(repo().join("scripts/build-test-image.sh"))
        .arg(recipe.flag())
        .env("VECTRA_TEST_PG_IMAGE", image)
        .current_dir(repo())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| format!("cannot run scripts/build-test-image.sh: {e}"))?;
    if !status.success() || !image_present(image) {
        let text = std::fs::read_to_string(log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        return Err(format!(
            "building the test image {image} failed ({status}); the end of {}:\n{tail}",
            log_path.display()
        ));
    }
    say(&format!(
        "built {image} in {} s",
        started.elapsed().as_secs()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "vectra-harness-{name}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    }

    #[test]
    fn without_docker_the_message_says_what_to_install() {
        let state = docker_state("/nonexistent/bin/docker");
        assert_eq!(state, Docker::Missing);
        let message = no_docker_message(&state);
        for part in [
            "no `docker` command",
            "sudo apt-get install docker.io",
            "Docker Desktop",
            "VECTRA_TEST_DATABASE_URL=postgres://",
            "postgresql-15-pgtap",
        ] {
            assert!(message.contains(part), "{part:?} not in {message}");
        }
    }

    #[test]
    fn a_daemon_that_does_not_answer_is_told_apart() {
        let dir = scratch("docker");
        let docker = dir.join("docker");
        std::fs::write(
            &docker,
            "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. \
             Is the docker daemon running?' >&2\nexit 1\n",
        )
        .expect("fake docker");
        std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let state = docker_state(docker.to_str().expect("utf-8 path"));
        assert_eq!(
            state,
            Docker::Down(
                "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the \
                 docker daemon running?"
                    .to_owned()
            )
        );
        let message = no_docker_message(&state);
        assert!(message.contains("daemon does not answer"), "{message}");
        assert!(
            message.contains("Is the docker daemon running?"),
            "{message}"
        );
        assert!(message.contains("VECTRA_TEST_DATABASE_URL="), "{message}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn the_registry_recipe_where_a_registry_answers_else_debian_as_root() {
        let image = "vectra-test-postgres:15";
        assert_eq!(choose_recipe(true, false, image), Ok(Recipe::Registry));
        assert_eq!(choose_recipe(true, true, image), Ok(Recipe::Registry));
        assert_eq!(choose_recipe(false, true, image), Ok(Recipe::Debian));
        let refused = choose_recipe(false, false, image).expect_err("Debian needs root");
        assert!(
            refused.contains("sudo scripts/build-test-image.sh --debian"),
            "{refused}"
        );
        assert_eq!(registry_base().as_deref(), Some("postgres:15-bookworm"));
    }

    /// Eight callers find the image missing at the same moment (a barrier
    /// holds each at its first look until all have looked), each with its
    /// own open of the lock file, as separate processes would: one builds,
    /// the others wait and find it built.
    #[test]
    fn callers_that_find_the_image_missing_together_build_it_once() {
        const CALLERS: usize = 8;
        let dir = scratch("lock");
        let lock = dir.join("image.lock");
        let built = Arc::new(AtomicBool::new(false));
        let builds = Arc::new(AtomicUsize::new(0));
        let all_looked = Arc::new(Barrier::new(CALLERS));
        let callers: Vec<_> = (0..CALLERS)
            .map(|_| {
                let (lock, built, builds, all_looked) = (
                    lock.clone(),
                    built.clone(),
                    builds.clone(),
                    all_looked.clone(),
                );
                std::thread::spawn(move || {
                    let first_look = Cell::new(true);
                    let present = || {
                        let now = built.load(Ordering::SeqCst);
                        if first_look.replace(false) {
                            all_looked.wait();
                        }
                        now
                    };
                    let build = || {
                        builds.fetch_add(1, Ordering::SeqCst);
                        // A build takes a while: the others run meanwhile.
                        for _ in 0..1000 {
                            std::thread::yield_now();
                        }
                        built.store(true, Ordering::SeqCst);
                        Ok(())
                    };
                    build_once(&lock, &present, &|| {}, &build)
                })
            })
            .collect();
        let results: Vec<Result<bool, String>> = callers
            .into_iter()
            .map(|c| c.join().expect("caller"))
            .collect();
        assert_eq!(builds.load(Ordering::SeqCst), 1, "{results:?}");
        assert_eq!(
            results.iter().filter(|r| **r == Ok(true)).count(),
            1,
            "{results:?}"
        );
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        std::fs::remove_dir_all(dir).ok();
    }

    /// A failed build is reported, and the next caller tries again (the
    /// lock is released with the failure).
    #[test]
    fn a_failed_build_is_reported_and_releases_the_lock() {
        let dir = scratch("fail");
        let lock = dir.join("image.lock");
        let failed = build_once(&lock, &|| false, &|| {}, &|| Err("no network".to_owned()));
        assert_eq!(failed, Err("no network".to_owned()));
        let attempts = AtomicUsize::new(0);
        let again = build_once(&lock, &|| false, &|| {}, &|| {
            attempts.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        assert_eq!((again, attempts.load(Ordering::SeqCst)), (Ok(true), 1));
        std::fs::remove_dir_all(dir).ok();
    }
}

/// What the built image must be: PostgreSQL 15 with pgTAP available. Also
/// the test `.ci/run` runs on its own, with a `VECTRA_TEST_PG_IMAGE` that
/// does not exist yet, to prove the harness builds a missing image.
#[tokio::test]
async fn the_test_server_is_postgresql_15_with_pgtap() {
    let db = super::TestDb::new().await;
    let admin = db.admin().await;
    let version: i32 = admin
        .query_one("select current_setting('server_version_num')::int", &[])
        .await
        .expect("version")
        .get(0);
    assert_eq!(version / 10000, 15, "server_version_num {version}");
    let pgtap: i64 = admin
        .query_one(
            "select count(*) from pg_available_extensions where name = 'pgtap'",
            &[],
        )
        .await
        .expect("extensions")
        .get(0);
    assert_eq!(pgtap, 1, "pgTAP is not available");
}
