//! A private PostgreSQL cluster for `vectra dev`: the server binaries found
//! on this machine, a data directory of its own, started on a free loopback
//! port and stopped when dev mode ends.

use std::fs;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, bail};

/// The oldest server major version the migrations support.
pub const MIN_MAJOR: u32 = 15;
/// The newest one looked for in the usual install locations.
const MAX_MAJOR: u32 = 18;

/// A directory holding `initdb`, `pg_ctl` and `postgres` of one version.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub dir: PathBuf,
    pub major: u32,
}

pub const NO_BINARIES: &str = "no PostgreSQL server binaries found (initdb, pg_ctl, postgres; version 15 or newer). \
Install them (Debian/Ubuntu: `sudo apt install postgresql`; macOS: `brew install postgresql@15`) \
or point VECTRA_PG_BIN at their directory; or run the whole stack in containers with `docker compose up --build`";

impl Binaries {
    fn tool(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Whether Citus is installed for these binaries: `citus.so` in their
    /// library directory (`pg_config --pkglibdir` next to them, or
    /// `../lib`).
    pub fn has_citus(&self) -> bool {
        let pkglibdir = Command::new(self.tool("pg_config"))
            .arg("--pkglibdir")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim().to_owned()));
        pkglibdir
            .into_iter()
            .chain(self.dir.parent().map(|p| p.join("lib")))
            .any(|dir| dir.join("citus.so").is_file() || dir.join("citus.dylib").is_file())
    }

    /// `dir` when it holds the three programs, with their version.
    fn probe(dir: &Path) -> Option<Self> {
        let has = |n: &str| dir.join(n).is_file();
        if !(has("initdb") && has("pg_ctl") && has("postgres")) {
            return None;
        }
        let out = Command::new(dir.join("postgres"))
            .arg("--version")
            .output()
            .ok()?;
        // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        let text = String::from_utf8_lossy(&out.stdout);
        let version = text.split(") ").nth(1)?;
        let major = version
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()?;
        Some(Self {
            dir: dir.to_path_buf(),
            major,
        })
    }

    /// `VECTRA_PG_BIN`, `pg_config --bindir`, the `PATH`, then the usual
    /// locations of Debian's versioned packages, Homebrew and the PGDG RPMs,
    /// newest version first. Versions older than [`MIN_MAJOR`] are skipped.
    pub fn find() -> anyhow::Result<Self> {
        if let Some(dir) = std::env::var_os("VECTRA_PG_BIN").filter(|v| !v.is_empty()) {
            let dir = PathBuf::from(dir);
            return match Self::probe(&dir) {
                Some(b) if b.major >= MIN_MAJOR => Ok(b),
                Some(b) => bail!(
                    "VECTRA_PG_BIN={}: PostgreSQL {} is too old; version {MIN_MAJOR} or newer is needed",
                    dir.display(),
                    b.major
                ),
                None => bail!(
                    "VECTRA_PG_BIN={}: no initdb, pg_ctl and postgres there",
                    dir.display()
                ),
            };
        }
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
            && out.status.success()
        {
            candidates.push(PathBuf::from(
                String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            ));
        }
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path));
        }
        for major in (MIN_MAJOR..=MAX_MAJOR).rev() {
            candidates.push(format!("/usr/lib/postgresql/{major}/bin").into());
            candidates.push(format!("/opt/homebrew/opt/postgresql@{major}/bin").into());
            candidates.push(format!("/usr/local/opt/postgresql@{major}/bin").into());
            candidates.push(format!("/usr/pgsql-{major}/bin").into());
        }
        candidates.extend(["/opt/homebrew/bin".into(), "/usr/local/bin".into()]);
        candidates
            .iter()
            .filter_map(|d| Self::probe(d))
            .find(|b| b.major >= MIN_MAJOR)
            .ok_or_else(|| anyhow::anyhow!(NO_BINARIES))
    }
}

/// The OS user the server runs as when `vectra dev` runs as root.
#[derive(Debug, Clone)]
pub struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl RunAs {
    /// `None` unless root: `postgres` when it exists (Debian's packages make
    /// it), else `nobody`.
    pub fn for_this_process() -> anyhow::Result<Option<Self>> {
        if !nix::unistd::geteuid().is_root() {
            return Ok(None);
        }
        for name in ["postgres", "nobody"] {
            if let Some(u) =
                nix::unistd::User::from_name(name).context("reading the user database")?
            {
                return Ok(Some(Self {
                    name: name.to_owned(),
                    uid: u.uid.as_raw(),
                    gid: u.gid.as_raw(),
                }));
            }
        }
        bail!(
            "running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL (it refuses root)"
        )
    }

    /// Whether this user can reach `path` (search permission on every
    /// ancestor), as the server must reach its data directory.
    pub fn can_reach(&self, path: &Path) -> bool {
        path.ancestors().skip(1).all(|dir| match fs::metadata(dir) {
            Ok(m) => {
                let mode = m.mode();
                if m.uid() == self.uid {
                    mode & 0o100 != 0
                } else if m.gid() == self.gid {
                    mode & 0o010 != 0
                } else {
                    mode & 0o001 != 0
                }
            }
            Err(_) => false,
        })
    }
}

/// The cluster's files: `data/`, `run/` (the socket) and `postgres.log`.
pub struct Cluster {
    pub bin: Binaries,
    pub home: PathBuf,
    pub port: u16,
    pub run_as: Option<RunAs>,
    /// Settings added to this run's configuration (`vectra dev --citus`:
    /// the extension preloaded).
    pub extra_conf: String,
    running: bool,
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
    .trim()
    .to_owned()
}

/// Refuses a symbolic link where dev mode (perhaps as root) writes, changes
/// modes or owners: the cluster's directories belong to another OS user.
fn plain(path: &Path) -> anyhow::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            bail!("refusing to follow the symbolic link {}", path.display())
        }
        _ => Ok(()),
    }
}

/// Writes `text` to `path`, never through a symbolic link, mode 0600.
fn write_plain(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    plain(path)?;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// A loopback port nothing listens on now.
pub fn free_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
        .context("finding a free loopback port")?;
    Ok(l.local_addr()?.port())
}

pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).is_ok()
}

impl Cluster {
    pub fn new(bin: Binaries, home: PathBuf, port: u16, run_as: Option<RunAs>) -> Self {
        Self {
            bin,
            home,
            port,
            run_as,
            extra_conf: String::new(),
            running: false,
        }
    }

    pub fn data(&self) -> PathBuf {
        self.home.join("data")
    }

    fn run_dir(&self) -> PathBuf {
        self.home.join("run")
    }

    pub fn log(&self) -> PathBuf {
        self.home.join("postgres.log")
    }

    fn command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(self.bin.tool(tool));
        // A directory the server's user may enter (initdb and pg_ctl
        // complain about an unreadable working directory).
        cmd.current_dir(&self.home);
        // Only what the tools need: the service's own secrets (JWT_SECRET,
        // SMTP_URL …) stay out of the server's /proc/<pid>/environ.
        cmd.env_clear().env("LC_ALL", "C");
        for keep in ["PATH", "TZ"] {
            if let Some(v) = std::env::var_os(keep) {
                cmd.env(keep, v);
            }
        }
        if let Some(u) = &self.run_as {
            cmd.uid(u.uid).gid(u.gid);
        }
        cmd
    }

    fn chown(&self, path: &Path) -> anyhow::Result<()> {
        plain(path)?;
        if let Some(u) = &self.run_as {
            // lchown: never through a link the server's user could plant.
            std::os::unix::fs::lchown(path, Some(u.uid), Some(u.gid))
                .with_context(|| format!("giving {} to {}", path.display(), u.name))?;
        }
        Ok(())
    }

    /// The major version that made the data directory, when there is one.
    pub fn existing_major(&self) -> Option<u32> {
        fs::read_to_string(self.data().join("PG_VERSION"))
            .ok()
            .and_then(|v| v.trim().parse().ok())
    }

    /// Creates the home, and the cluster when there is none (a superuser
    /// `postgres` with `superuser_password`, SCRAM for every connection).
    /// Returns whether it was created now.
    pub fn ensure_initialized(&self, superuser_password: &str) -> anyhow::Result<bool> {
        for dir in [self.home.clone(), self.run_dir()] {
            plain(&dir)?;
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
            self.chown(&dir)?;
        }
        if let Some(major) = self.existing_major() {
            if major != self.bin.major {
                bail!(
                    "the cluster in {} was made by PostgreSQL {major} and these binaries ({}) are {}: \
                     point VECTRA_PG_BIN at PostgreSQL {major}'s, or start afresh with `vectra dev --reset`",
                    self.data().display(),
                    self.bin.dir.display(),
                    self.bin.major
                );
            }
            return Ok(false);
        }
        if self.data().exists() {
            // A half-made cluster (initdb interrupted): start it again.
            fs::remove_dir_all(self.data())?;
        }
        let pwfile = self.home.join("initdb.pw");
        write_plain(&pwfile, superuser_password)?;
        self.chown(&pwfile)?;
        let out = self
            .command("initdb")
            .arg("-D")
            .arg(self.data())
            .args([
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .context("running initdb");
        let _ = fs::remove_file(&pwfile);
        let out = out?;
        if !out.status.success() {
            bail!("initdb failed: {}", output_text(&out));
        }
        let conf = self.data().join("postgresql.conf");
        let mut text = fs::read_to_string(&conf)?;
        text.push_str("\n# vectra dev: port, addresses and socket of this run\ninclude_if_exists = 'vectra-dev.conf'\n");
        write_plain(&conf, &text)?;
        self.chown(&conf)?;
        Ok(true)
    }

    /// `pg_ctl status`: the pid of a server running on this data directory.
    pub fn running_pid(&self) -> anyhow::Result<Option<u32>> {
        let out = self
            .command("pg_ctl")
            .arg("status")
            .arg("-D")
            .arg(self.data())
            .output()
            .context("running pg_ctl status")?;
        if !out.status.success() {
            return Ok(None);
        }
        let text = output_text(&out);
        Ok(text
            .split("PID: ")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .and_then(|s| s.trim().parse().ok())
            .or(Some(0)))
    }

    /// A `postmaster.pid` left by a server that is no longer running.
    pub fn remove_stale_pid_file(&self) -> anyhow::Result<Option<String>> {
        let pid_file = self.data().join("postmaster.pid");
        match fs::read_to_string(&pid_file) {
            Ok(text) => {
                let pid = text.lines().next().unwrap_or("?").trim().to_owned();
                fs::remove_file(&pid_file)?;
                Ok(Some(pid))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", pid_file.display())),
        }
    }

    /// Starts the server and waits (at most a minute) until it accepts
    /// connections; on failure, the end of its log says why.
    pub fn start(&mut self) -> anyhow::Result<()> {
        let socket = self.run_dir().join(format!(".s.PGSQL.{}", self.port));
        // Unix socket paths are limited to about 100 bytes; TCP always works.
        let socket_dirs = if socket.as_os_str().len() < 100 {
            self.run_dir().display().to_string().replace('\'', "''")
        } else {
            String::new()
        };
        let conf = self.data().join("vectra-dev.conf");
        write_plain(
            &conf,
            &format!(
                "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{socket_dirs}'\n{}",
                self.port, self.extra_conf
            ),
        )?;
        self.chown(&conf)?;
        let log = self.log();
        plain(&log)?;
        if fs::symlink_metadata(&log).is_err() {
            write_plain(&log, "")?;
        }
        self.chown(&log)?;
        let out = self
            .command("pg_ctl")
            .arg("start")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60"])
            .output()
            .context("running pg_ctl start")?;
        if !out.status.success() {
            let tail: Vec<String> = fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .rev()
                .take(8)
                .map(str::to_owned)
                .collect();
            let tail: Vec<String> = tail.into_iter().rev().collect();
            bail!(
                "PostgreSQL did not start: {}\nlast lines of {}:\n{}",
                output_text(&out),
                log.display(),
                tail.join("\n")
            );
        }
        self.running = true;
        Ok(())
    }

    /// Fast shutdown (sessions ended, data flushed), waiting at most a
    /// minute, then an immediate one.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let stop = |mode: &str| {
            self.command("pg_ctl")
                .arg("stop")
                .arg("-D")
                .arg(self.data())
                .args(["-m", mode, "-w", "-t", "60"])
                .output()
        };
        let out = stop("fast").context("running pg_ctl stop")?;
        if !out.status.success() {
            let again = stop("immediate").context("running pg_ctl stop")?;
            if !again.status.success() {
                bail!("PostgreSQL did not stop: {}", output_text(&again));
            }
        }
        self.running = false;
        Ok(())
    }
}

impl Drop for Cluster {
    /// Whatever ends dev mode (an error, a panic), the server stops with it.
    fn drop(&mut self) {
        if self.running
            && let Err(e) = self.stop()
        {
            eprintln!("vectra dev: {e:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_never_follow_a_planted_link() {
        let dir = std::env::temp_dir().join(format!("vectra-plain-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let target = dir.join("target");
        fs::write(&target, "keep").unwrap();
        let link = dir.join("postgres.log");
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(write_plain(&link, "overwritten").is_err());
        assert!(plain(&link).is_err());
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep");
        write_plain(&dir.join("fresh"), "new").unwrap();
        let mode = fs::metadata(dir.join("fresh"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        fs::remove_dir_all(&dir).unwrap();
    }
}
