//! Real MariaDB servers for tests: each in its own temporary data directory, on a free
//! loopback port, killed and removed when the handle is dropped (pass or fail).
//!
//! Needs `mariadb-install-db`, `mariadbd` and the `mariadb` client (Debian packages
//! mariadb-server and mariadb-client; tests/run.sh installs them).
#![allow(dead_code)]

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, wait_for};

/// Options that keep a test server small and fast to start.
const SMALL: &[&str] = &[
    "--innodb-buffer-pool-size=16M",
    "--innodb-log-file-size=4M",
    "--skip-log-bin",
    "--skip-name-resolve",
    "--performance-schema=OFF",
];

pub struct MariaDb {
    pub addr: SocketAddr,
    pub port: u16,
    child: Option<Child>,
    datadir: PathBuf,
    extra: Vec<String>,
    dir: tempfile::TempDir,
}

impl MariaDb {
    /// A server with default settings; `root@127.0.0.1` has an empty password.
    pub fn start() -> MariaDb {
        Self::start_with(&[])
    }

    /// A server with extra `mariadbd` options, e.g. `--max-connections=10`.
    pub fn start_with(extra: &[&str]) -> MariaDb {
        let mut db = Self::install(extra);
        db.launch();
        db
    }

    /// A Galera node (`extra` holds its wsrep options). A joining node receives its data
    /// by rsync state transfer, whose rsync daemon runs as `nobody` when started by
    /// root: the data directory is given to `nobody` and the directories above it made
    /// traversable.
    pub fn start_galera_node(extra: &[&str]) -> MariaDb {
        use std::os::unix::fs::PermissionsExt;
        let mut db = Self::install(extra);
        std::fs::set_permissions(db.dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod test dir");
        let out = Command::new("chown")
            .args(["-R", "nobody:"])
            .arg(&db.datadir)
            .output()
            .expect("chown");
        assert!(out.status.success(), "chown: {out:?}");
        db.launch();
        db
    }

    /// A data directory made by `mariadb-install-db` and a free port; not started.
    fn install(extra: &[&str]) -> MariaDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let datadir = dir.path().join("data");
        // Each server has its own tmpdir: a starting mariadbd deletes every `#sql*` file in
        // its tmpdir, which in a shared /tmp includes the temporary tables of another
        // test's mariadb-install-db running at that moment (its bootstrap then fails with
        // "Unknown table 'mysql.tmp_user_sys'").
        let tmpdir = dir.path().join("tmp");
        std::fs::create_dir_all(&tmpdir).expect("tmpdir");
        // Should mariadb-install-db still fail on a loaded machine, a fresh attempt gets
        // two more tries.
        let mut last = String::new();
        for attempt in 0..3 {
            if attempt > 0 {
                let _ = std::fs::remove_dir_all(&datadir);
                std::thread::sleep(Duration::from_millis(300));
            }
            let out = Command::new("mariadb-install-db")
                .arg("--no-defaults")
                .arg(format!("--datadir={}", datadir.display()))
                .arg(format!("--tmpdir={}", tmpdir.display()))
                .args([
                    "--user=root",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                ])
                .args(SMALL)
                .stdin(Stdio::null())
                .output()
                .expect("mariadb-install-db (apt-get install mariadb-server)");
            if out.status.success() {
                last.clear();
                break;
            }
            last = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(last.is_empty(), "mariadb-install-db failed 3 times: {last}");
        let port = free_port();
        MariaDb {
            addr: format!("127.0.0.1:{port}").parse().expect("addr"),
            port,
            child: None,
            datadir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            dir,
        }
    }

    fn launch(&mut self) {
        self.launch_on(false);
    }

    /// Starts mariadbd and checks that the server answering on the port is this one
    /// (its datadir): another test may have taken the port between `free_port()` and the
    /// bind. On the first start such a clash picks a new port and tries again.
    fn launch_on(&mut self, restart: bool) {
        for _ in 0..5 {
            let d = self.dir.path();
            let child = Command::new("mariadbd")
                .arg("--no-defaults")
                .arg(format!("--datadir={}", self.datadir.display()))
                .arg(format!("--tmpdir={}", d.join("tmp").display()))
                .arg(format!("--port={}", self.port))
                .arg("--bind-address=127.0.0.1")
                .arg(format!("--socket={}", d.join("mysqld.sock").display()))
                .arg(format!("--pid-file={}", d.join("mysqld.pid").display()))
                .arg(format!("--log-error={}", d.join("error.log").display()))
                .arg("--user=root")
                .args(self.small_options())
                .args(&self.extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("mariadbd");
            self.child = Some(child);
            let ours = format!("{}/", self.datadir.display());
            let up = wait_for(Duration::from_secs(60), || {
                if let Some(c) = self.child.as_mut()
                    && let Ok(Some(_)) = c.try_wait()
                {
                    return Some(false);
                }
                let dir = self.try_sql("root", "SELECT @@datadir").ok()?;
                Some(dir.trim_end_matches('/') == ours.trim_end_matches('/'))
            });
            match up {
                Some(true) => return,
                Some(false) if !restart => {
                    // Someone else's server on our port, or ours could not bind it.
                    self.kill();
                    self.port = free_port();
                    self.addr = format!("127.0.0.1:{}", self.port).parse().expect("addr");
                }
                _ => break,
            }
        }
        panic!(
            "mariadbd did not start on 127.0.0.1:{}: {}",
            self.port,
            self.error_log()
        );
    }

    /// SMALL, without `--skip-log-bin` when the extra options turn the binary log on
    /// (`--log-bin` or `--log-bin=NAME`, e.g. a replication primary).
    fn small_options(&self) -> impl Iterator<Item = &'static str> + '_ {
        let log_bin = self
            .extra
            .iter()
            .any(|o| o == "--log-bin" || o.starts_with("--log-bin="));
        SMALL
            .iter()
            .copied()
            .filter(move |o| !(log_bin && *o == "--skip-log-bin"))
    }

    /// The server's error log (for assertion messages).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// Runs SQL as root; panics with the client's error. Output: tab-separated rows.
    pub fn sql(&self, stmt: &str) -> String {
        match self.try_sql("root", stmt) {
            Ok(out) => out,
            Err(e) => panic!("SQL failed: {stmt}: {e}"),
        }
    }

    /// Runs SQL as `user` (empty password) with the `mariadb` client.
    pub fn try_sql(&self, user: &str, stmt: &str) -> Result<String, String> {
        mariadb_client(self.addr, user, None, stmt)
    }

    /// A global status counter, e.g. `Aborted_connects`.
    pub fn status(&self, name: &str) -> u64 {
        let out = self.sql(&format!("SHOW GLOBAL STATUS LIKE '{name}'"));
        out.split('\t')
            .nth(1)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("status {name}: {out:?}"))
    }

    /// Kills the server (SIGKILL: a crash, as in a failover drill).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the killed server again on the same port and data directory.
    pub fn restart(&mut self) {
        self.kill();
        self.launch_on(true);
    }

    /// The server process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the server accepts TCP connections now.
    pub fn accepting(&self) -> bool {
        TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs SQL with the `mariadb` command-line client against `addr`; stdout trimmed, or
/// the client's stderr.
pub fn mariadb_client(
    addr: SocketAddr,
    user: &str,
    database: Option<&str>,
    stmt: &str,
) -> Result<String, String> {
    mariadb_client_pw(addr, user, "", database, stmt)
}

/// [`mariadb_client`] with a password.
pub fn mariadb_client_pw(
    addr: SocketAddr,
    user: &str,
    password: &str,
    database: Option<&str>,
    stmt: &str,
) -> Result<String, String> {
    mariadb_client_args(addr, user, password, database, &[], stmt)
}

/// [`mariadb_client_pw`] with more client options (e.g. `--ssl-ca=...`).
pub fn mariadb_client_args(
    addr: SocketAddr,
    user: &str,
    password: &str,
    database: Option<&str>,
    args: &[&str],
    stmt: &str,
) -> Result<String, String> {
    let mut cmd = Command::new("mariadb");
    cmd.arg("--no-defaults")
        .arg(format!("--host={}", addr.ip()))
        .arg(format!("--port={}", addr.port()))
        .arg(format!("--user={user}"));
    if !password.is_empty() {
        cmd.arg(format!("--password={password}"));
    }
    cmd.args(["--protocol=TCP", "--batch", "--skip-column-names"])
        .arg("--connect-timeout=10");
    if let Some(db) = database {
        cmd.arg(format!("--database={db}"));
    }
    let out = cmd
        .args(args)
        .arg("-e")
        .arg(stmt)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("mariadb client: {e} (apt-get install mariadb-client)"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}
