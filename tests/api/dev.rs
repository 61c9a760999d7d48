//! `vectra dev` from the outside: the binary started against this machine's
//! PostgreSQL server binaries in a temporary directory, driven over HTTP, its
//! mailbox read as JSON and in a real headless browser (Debian's chromium),
//! stopped with SIGTERM, killed, restarted; and `vectra serve` never routing
//! the dev pages.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

use crate::harness::TestApp;

const PASSWORD: &str = "correct horse battery staple";

struct Dev {
    child: Child,
    api: String,
    output: Arc<Mutex<Vec<String>>>,
}

fn vectra_dev(dir: &std::path::Path, extra_env: &[(&str, &str)]) -> Child {
    vectra_dev_args(dir, &[], extra_env)
}

fn vectra_dev_args(dir: &std::path::Path, args: &[&str], extra_env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vectra"));
    cmd.arg("dev")
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .env("RATE_LIMIT_PER_MINUTE", "1000");
    for var in [
        "SMTP_URL",
        "JWT_SECRET",
        "DATABASE_URL",
        "DATABASE_ADMIN_URL",
        "PUBLIC_BASE_URL",
        "WORKER_THREADS",
        "TOKIO_WORKER_THREADS",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vectra dev")
}

/// Collects stdout and stderr lines as they come.
fn collect(child: &mut Child) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let out = child.stdout.take().expect("stdout");
    let err = child.stderr.take().expect("stderr");
    for stream in [
        Box::new(out) as Box<dyn std::io::Read + Send>,
        Box::new(err),
    ] {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
    }
    lines
}

impl Dev {
    async fn start(dir: &std::path::Path) -> Dev {
        Self::start_with(dir, &[]).await
    }

    async fn start_with(dir: &std::path::Path, args: &[&str]) -> Dev {
        Self::start_env(dir, args, &[]).await
    }

    async fn start_env(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Dev {
        let mut child = vectra_dev_args(dir, args, env);
        let output = collect(&mut child);
        let deadline = Instant::now() + Duration::from_secs(120);
        let api = loop {
            let found = output.lock().unwrap().iter().find_map(|l| {
                l.trim()
                    .strip_prefix("API")
                    .map(|r| r.trim().split(' ').next().unwrap_or("").to_owned())
            });
            if let Some(api) = found {
                break api;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "vectra dev exited ({status}): {:#?}",
                    output.lock().unwrap()
                );
            }
            assert!(
                Instant::now() < deadline,
                "vectra dev did not start: {:#?}",
                output.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let dev = Dev { child, api, output };
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if let Ok(r) = client.get(format!("{}/ready", dev.api)).send().await
                && r.status() == 200
            {
                return dev;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{}/ready never answered 200", dev.api);
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    #[track_caller]
    fn assert_said(&self, text: &str) {
        let output = self.output();
        assert!(output.contains(text), "{text:?} not in: {output}");
    }

    /// The status of Ann's login.
    async fn login_status(&self) -> u16 {
        let (status, _) = self
            .post(
                "/api/v1/auth/login",
                json!({"email": "ann@example.com", "password": PASSWORD}),
                None,
            )
            .await;
        status
    }

    /// SIGTERM, then the exit status and the whole output.
    async fn stop(mut self) -> String {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).expect("SIGTERM");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                tokio::time::sleep(Duration::from_millis(200)).await;
                assert!(
                    status.success(),
                    "vectra dev exited with {status}: {}",
                    self.output()
                );
                return self.output();
            }
            assert!(
                Instant::now() < deadline,
                "vectra dev did not stop: {}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: a crash, which leaves its PostgreSQL running.
    fn crash(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait");
    }

    async fn post(&self, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
        let mut req = reqwest::Client::new()
            .post(format!("{}{path}", self.api))
            .json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("request");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut req = reqwest::Client::new().get(format!("{}{path}", self.api));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("request");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }

    /// Waits for an email to `to` with `subject` in `/dev/mailbox.json`.
    async fn mail(&self, to: &str, subject: &str) -> Value {
        for _ in 0..200 {
            let (status, body) = self.get("/dev/mailbox.json", None).await;
            assert_eq!(status, 200, "{body}");
            let mails: Vec<Value> = serde_json::from_str(&body).expect("json");
            if let Some(m) = mails
                .into_iter()
                .find(|m| m["subject"] == subject && m["to"][0]["address"] == to)
            {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no email {subject:?} to {to} in the dev mailbox");
    }
}

/// What headless chromium built from `url` (`--dump-dom`).
fn browser_dom(url: &str) -> String {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--dump-dom",
        ])
        .arg(url)
        .output()
        .expect("chromium (Debian package `chromium`; .ci/run installs it)");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vectra-dev-test-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `PGPASSWORD=… psql -h 127.0.0.1 -p … -U vectra_dba vectra` from the banner.
fn dba_login(output: &str) -> (String, u16) {
    let line = output
        .lines()
        .find(|l| l.contains("-U vectra_dba vectra"))
        .unwrap_or_else(|| panic!("no DBA psql line in: {output}"));
    let password = line
        .split("PGPASSWORD=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    let port = line
        .split(" -p ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (password, port)
}

#[tokio::test]
async fn vectra_dev_runs_the_service_keeps_its_data_and_shows_the_mail() {
    let root = temp_dir("walk");
    let dir = root.join(".vectra");
    let dev = Dev::start(&dir).await;
    let banner = dev.output();
    assert!(
        banner.contains(&format!("Mailbox        {}/dev/mailbox", dev.api)),
        "{banner}"
    );
    assert!(banner.contains("register with admin@vectra.io"), "{banner}");
    assert!(banner.contains("created a PostgreSQL"), "{banner}");
    // One worker thread unless WORKER_THREADS says otherwise: its
    // PostgreSQL shares the host (docs/performance.md, "Worker threads").
    assert!(
        banner.contains("Threads        1 worker thread serving requests"),
        "{banner}"
    );
    // No transparent huge pages for the process (`small_pages_only` in
    // main.rs): mimalloc's arenas made 2 MiB resident for a few bytes used.
    let status = std::fs::read_to_string(format!("/proc/{}/status", dev.child.id()))
        .expect("the process's status");
    assert!(status.contains("THP_enabled:\t0"), "{status}");

    // Register; the verification email is in the mailbox, its link points
    // at this service, whose stand-in page for the front end answers.
    let (status, _) = dev
        .post(
            "/api/v1/auth/register",
            json!({"email": "ann@example.com", "password": PASSWORD, "full_name": "Ann Lee", "organization_name": "Acme"}),
            None,
        )
        .await;
    assert_eq!(status, 202);
    let mail = dev
        .mail("ann@example.com", "Confirm your email address for Vectra")
        .await;
    let text = mail["text"].as_str().unwrap();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/verify-email?token="))
        .unwrap_or_else(|| panic!("no link in {text}"));
    assert!(
        link.starts_with(&format!("{}/verify-email?token=", dev.api)),
        "{link}"
    );
    let token = link.split("token=").nth(1).unwrap();
    let (status, page) = dev.get(&format!("/verify-email?token={token}"), None).await;
    assert_eq!(status, 200);
    assert!(page.contains("fetch('/api/v1/auth/verify-email'"), "{page}");
    let (status, verified) = dev
        .post("/api/v1/auth/verify-email", json!({"token": token}), None)
        .await;
    assert_eq!(status, 200, "{verified}");
    assert_eq!(verified["user"]["email_verified"], true);
    let (status, login) = dev
        .post(
            "/api/v1/auth/login",
            json!({"email": "ann@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{login}");
    let access = login["access_token"].as_str().unwrap().to_owned();

    // The mailbox in a real browser: the list shows the subject and the
    // message page the link, clickable.
    let list = browser_dom(&format!("{}/dev/mailbox", dev.api));
    assert!(
        list.contains("Confirm your email address for Vectra"),
        "{list}"
    );
    assert!(list.contains("ann@example.com"), "{list}");
    let one = browser_dom(&format!(
        "{}/dev/mailbox/{}",
        dev.api,
        mail["id"].as_str().unwrap()
    ));
    assert!(
        one.contains(&format!("<a href=\"{link}\">{link}</a>")),
        "{one}"
    );
    // Only a browser that asked for localhost reads the mailbox (no DNS
    // rebinding), and nothing of it is cached.
    let rebound = reqwest::Client::new()
        .get(format!("{}/dev/mailbox.json", dev.api))
        .header("Host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);
    let local = reqwest::Client::new()
        .get(format!("{}/dev/mailbox.json", dev.api))
        .send()
        .await
        .unwrap();
    assert_eq!(local.headers()["cache-control"], "no-store");
    // MailDev's shape at /dev/mailbox/email, oldest first.
    let (_, maildev) = dev.get("/dev/mailbox/email", None).await;
    let maildev: Vec<Value> = serde_json::from_str(&maildev).unwrap();
    assert_eq!(
        maildev[0]["subject"],
        "Confirm your email address for Vectra"
    );

    // The DBA login of the banner sees one tenant, and only with its id.
    let (dba_password, pg_port) = dba_login(&banner);
    let (dba, conn) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={pg_port} user=vectra_dba password={dba_password} dbname=vectra"
        ),
        tokio_postgres::NoTls,
    )
    .await
    .expect("the banner's DBA login");
    tokio::spawn(conn);
    let count = |sql: &'static str| {
        let dba = &dba;
        async move { dba.query_one(sql, &[]).await.expect(sql).get::<_, i64>(0) }
    };
    assert_eq!(count("select count(*) from users").await, 0);
    let org = login["user"]["organization"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    dba.batch_execute(&format!("begin; select set_config('app.org_id', '{org}', true), set_config('app.role', 'owner', true)"))
        .await
        .unwrap();
    assert_eq!(count("select count(*) from users").await, 1);
    assert!(
        dba.batch_execute("update users set full_name = 'x'")
            .await
            .is_err()
    );
    drop(dba);

    let stopped = dev.stop().await;
    assert!(stopped.contains("vectra dev: stopped"), "{stopped}");
    assert!(
        !dir.join("postgres/data/postmaster.pid").exists(),
        "PostgreSQL still running after SIGTERM"
    );

    // Again: the same data, the same JWT secret (the old token works), the
    // organization in the banner's DBA lines; the threads WORKER_THREADS asks.
    let dev = Dev::start_env(&dir, &[], &[("WORKER_THREADS", "2")]).await;
    assert!(
        dev.output()
            .contains("Threads        2 worker threads serving requests"),
        "{}",
        dev.output()
    );
    assert!(
        !dev.output().contains("created a PostgreSQL"),
        "{}",
        dev.output()
    );
    assert!(dev.output().contains(&org), "{}", dev.output());
    let (status, me) = dev.get("/api/v1/user/me", Some(&access)).await;
    assert_eq!(status, 200, "{me}");
    // A crash leaves PostgreSQL running; the next start stops it and goes on.
    dev.crash();
    assert!(dir.join("postgres/data/postmaster.pid").exists());
    let dev = Dev::start(&dir).await;
    dev.assert_said("left running by an earlier `vectra dev`");
    assert_eq!(dev.login_status().await, 200);
    dev.stop().await;

    // A stale postmaster.pid (a server that died with the machine).
    std::fs::write(dir.join("postgres/data/postmaster.pid"), "999999\n").unwrap();
    let dev = Dev::start(&dir).await;
    dev.assert_said("removed a stale postmaster.pid");
    dev.stop().await;

    // --reset starts afresh: nobody is registered any more.
    let dev = Dev::start_with(&dir, &["--reset"]).await;
    dev.assert_said("--reset: deleting");
    dev.assert_said("created a PostgreSQL");
    assert_eq!(dev.login_status().await, 401);
    dev.stop().await;
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn vectra_dev_says_what_is_wrong_instead_of_hanging() {
    let root = temp_dir("errors");
    // No server binaries where VECTRA_PG_BIN points.
    let empty = root.join("no-postgres-here");
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vectra"))
        .args(["dev", "--dir"])
        .arg(root.join(".vectra"))
        .env("VECTRA_PG_BIN", &empty)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no initdb, pg_ctl and postgres there"),
        "{err}"
    );

    // A bad WORKER_THREADS: refused before the runtime (or anything) starts.
    let out = Command::new(env!("CARGO_BIN_EXE_vectra"))
        .args(["dev", "--dir"])
        .arg(root.join("threads"))
        .env("WORKER_THREADS", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("WORKER_THREADS: must be greater than zero"),
        "{err}"
    );
    assert!(!root.join("threads").exists(), "it started anyway");

    // An address other machines reach, without --listen-anywhere: refused
    // before anything starts, saying what would be exposed.
    let out = Command::new(env!("CARGO_BIN_EXE_vectra"))
        .args(["dev", "--dir"])
        .arg(root.join("public"))
        .env("BIND_ADDR", "0.0.0.0:0")
        .env_remove("SMTP_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--listen-anywhere") && err.contains("/dev/mailbox: every email"),
        "{err}"
    );
    assert!(!root.join("public").exists(), "it started anyway");

    // The API's port taken: a message, and the cluster stopped again.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let mut child = vectra_dev(
        &root.join(".vectra"),
        &[("BIND_ADDR", &format!("127.0.0.1:{port}"))],
    );
    let output = collect(&mut child);
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "vectra dev hung: {:#?}",
            output.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let text = output.lock().unwrap().join("\n");
    assert!(!status.success(), "{text}");
    assert!(text.contains(&format!("port {port} is in use")), "{text}");
    assert!(
        !root.join(".vectra/postgres/data/postmaster.pid").exists(),
        "cluster left running: {text}"
    );
    drop(taken);
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn vectra_serve_never_routes_the_dev_pages() {
    let app = TestApp::spawn().await;
    for path in [
        "/dev/mailbox",
        "/dev/mailbox.json",
        "/dev/mailbox/email",
        "/dev/mailbox/1",
        "/verify-email?token=x",
        "/accept-invitation?token=x",
        "/reset-password?token=x",
    ] {
        let r = app.get(path, None).await;
        let route = path.split('?').next().unwrap();
        r.problem(404, &format!("No route for GET {route}"));
    }
}
