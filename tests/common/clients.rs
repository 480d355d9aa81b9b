//! Real MySQL client libraries driven against a server (MariaDB, or tandem's router):
//! tests/clients/pymysql_smoke.py (PyMySQL, text protocol only),
//! tests/clients/ConnectorJSmoke.java (MariaDB Connector/J, server-side prepared
//! statements) and tests/clients/node_tls_check.js (MariaDB Connector/Node.js: TLS with
//! a CA, MariaDB 11.4 zero-configuration TLS, or no TLS). Each runs a short script and
//! prints OK; see the programs for what they check.
//!
//! Needs: PyMySQL installed by pip into target/test-deps/python (put on PYTHONPATH
//! here, so any python3 ≥ 3.7 works); Java 11+ and the Connector/J jar (Debian packages
//! default-jdk-headless and libmariadb-java); Node.js and the `mariadb` npm package
//! pinned by tests/clients/package-lock.json, installed by `npm ci` into
//! target/test-deps/node (put on NODE_PATH here). tests/run.sh installs all of them.
//! `TANDEM_TEST_PYTHON`, `TANDEM_TEST_JAVA`, `TANDEM_TEST_CONNECTOR_J` and
//! `TANDEM_TEST_NODE` override the python3, java, jar and node paths.
#![allow(dead_code)]

use std::io::Read;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::mariadb::MariaDb;
use super::repo_root;

/// A client program is killed after this long (a bound against hangs).
pub const CLIENT_LIMIT: Duration = Duration::from_secs(120);

/// Where tests/run.sh installs PyMySQL (`pip install --target`).
pub fn python_deps_dir() -> PathBuf {
    repo_root().join("target/test-deps/python")
}

/// The Connector/J jar from Debian's libmariadb-java.
pub fn connector_j_jar() -> PathBuf {
    std::env::var_os("TANDEM_TEST_CONNECTOR_J")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java/mariadb-java-client.jar"))
}

/// Runs tests/clients/pymysql_smoke.py against `addr`; returns (exited 0 and printed
/// OK, combined stdout and stderr).
pub fn run_pymysql(
    addr: SocketAddr,
    user: &str,
    password: &str,
    db: &str,
    table: &str,
) -> (bool, String) {
    run_pymysql_script(
        "pymysql_smoke.py",
        addr,
        user,
        password,
        db,
        &[format!("--table={table}")],
    )
}

/// Runs tests/clients/pymysql_load_data.py (LOAD DATA LOCAL INFILE of `file` into
/// `product`, `rows` rows) against `addr`; returns (exited 0 and printed OK, combined
/// stdout and stderr).
pub fn run_pymysql_load(
    addr: SocketAddr,
    user: &str,
    password: &str,
    db: &str,
    file: &std::path::Path,
    rows: usize,
) -> (bool, String) {
    run_pymysql_script(
        "pymysql_load_data.py",
        addr,
        user,
        password,
        db,
        &[
            format!("--file={}", file.display()),
            format!("--rows={rows}"),
        ],
    )
}

/// Runs a PyMySQL program of tests/clients/ with the connection arguments and `extra`.
fn run_pymysql_script(
    script: &str,
    addr: SocketAddr,
    user: &str,
    password: &str,
    db: &str,
    extra: &[String],
) -> (bool, String) {
    let deps = python_deps_dir();
    if !deps.join("pymysql").is_dir() {
        return (
            false,
            format!(
                "PyMySQL is not installed in {}; run tests/run.sh, or: python3 -m pip \
                 install --target {} 'PyMySQL==1.1.1'",
                deps.display(),
                deps.display()
            ),
        );
    }
    let python = std::env::var("TANDEM_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut cmd = Command::new(python);
    cmd.arg(repo_root().join("tests/clients").join(script))
        .arg(format!("--host={}", addr.ip()))
        .arg(format!("--port={}", addr.port()))
        .arg(format!("--user={user}"))
        .arg(format!("--password={password}"))
        .arg(format!("--database={db}"))
        .args(extra)
        .env("PYTHONPATH", &deps)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    run_bounded(cmd, CLIENT_LIMIT)
}

/// Where tests/run.sh installs the `mariadb` npm package: a copy of
/// tests/clients/package.json and package-lock.json, then `npm ci` there.
pub fn node_deps_dir() -> PathBuf {
    repo_root().join("target/test-deps/node")
}

/// Runs tests/clients/node_tls_check.js (MariaDB Connector/Node.js) against `addr`;
/// `mode` is `zero-config` (`ssl: true`, verification on, no CA: a self-signed
/// certificate passes only with MariaDB 11.4's password-based proof in the final OK
/// packet), `ca=PATH` (verification against that CA file) or `plain` (no TLS). Returns
/// (exited 0 and printed OK, combined stdout and stderr).
pub fn run_node_mariadb(
    addr: SocketAddr,
    user: &str,
    password: &str,
    db: &str,
    mode: &str,
) -> (bool, String) {
    let deps = node_deps_dir();
    let modules = deps.join("node_modules");
    if !modules.join("mariadb").is_dir() {
        return (
            false,
            format!(
                "the mariadb npm package is not installed in {}; run tests/run.sh, or: \
                 mkdir -p {} && cp tests/clients/package.json tests/clients/package-lock.json \
                 {} && npm ci --prefix {} --no-audit --no-fund",
                modules.display(),
                deps.display(),
                deps.display(),
                deps.display()
            ),
        );
    }
    let node = std::env::var("TANDEM_TEST_NODE").unwrap_or_else(|_| "node".into());
    let mut cmd = Command::new(node);
    cmd.arg(repo_root().join("tests/clients/node_tls_check.js"))
        .arg(format!("--host={}", addr.ip()))
        .arg(format!("--port={}", addr.port()))
        .arg(format!("--user={user}"))
        .arg(format!("--password={password}"))
        .arg(format!("--database={db}"))
        .arg(format!("--mode={mode}"))
        .env("NODE_PATH", &modules);
    run_bounded(cmd, CLIENT_LIMIT)
}

/// Runs tests/clients/ConnectorJSmoke.java (single-file source launch) against `addr`
/// with `jdbc:mariadb://ADDR/DB?useServerPrepStmts=true`; returns (exited 0 and printed
/// OK, combined stdout and stderr).
pub fn run_connector_j(
    addr: SocketAddr,
    user: &str,
    password: &str,
    db: &str,
    table: &str,
) -> (bool, String) {
    let url = format!(
        "jdbc:mariadb://{}:{}/{db}?useServerPrepStmts=true",
        addr.ip(),
        addr.port()
    );
    run_java_client("ConnectorJSmoke.java", &[&url, user, password, table])
}

/// Runs tests/clients/ConnectorJSmoke.java with the JDBC URL `url` as given (e.g. with
/// TLS options); returns (exited 0 and printed OK, combined stdout and stderr).
pub fn run_connector_j_url(url: &str, user: &str, password: &str, table: &str) -> (bool, String) {
    run_java_client("ConnectorJSmoke.java", &[url, user, password, table])
}

/// Runs tests/clients/AdminPortCheck.java (MyCat admin commands over JDBC) against the
/// admin port `addr`; returns (exited 0 and printed OK, combined stdout and stderr).
pub fn run_connector_j_admin(addr: SocketAddr, user: &str, password: &str) -> (bool, String) {
    let url = format!("jdbc:mariadb://{}:{}/", addr.ip(), addr.port());
    run_java_client("AdminPortCheck.java", &[&url, user, password])
}

/// Runs the single-file Java program tests/clients/`file` with Connector/J on the class
/// path and `args`; returns (exited 0 and printed OK, combined stdout and stderr).
fn run_java_client(file: &str, args: &[&str]) -> (bool, String) {
    let jar = connector_j_jar();
    if !jar.is_file() {
        return (
            false,
            format!(
                "{} is missing (apt-get install libmariadb-java)",
                jar.display()
            ),
        );
    }
    let java = std::env::var("TANDEM_TEST_JAVA").unwrap_or_else(|_| "java".into());
    let mut cmd = Command::new(java);
    cmd.arg("-cp")
        .arg(&jar)
        .arg(repo_root().join("tests/clients").join(file))
        .args(args);
    run_bounded(cmd, CLIENT_LIMIT)
}

/// Runs sysbench with `args` in `dir` (sysbench 1.0's `--mysql-ssl=on` reads its
/// certificates from the working directory); returns the output, panicking with it when
/// sysbench fails.
pub fn sysbench_in(dir: Option<&std::path::Path>, args: &[&str]) -> String {
    let mut cmd = Command::new("sysbench");
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let out = cmd
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("sysbench (apt-get install sysbench)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && !text.contains("FATAL"),
        "sysbench {args:?} failed:\n{text}"
    );
    text
}

/// [`sysbench_in`] against `addr` as user `sb` (password `sbpw`) on database `sbtest`,
/// the account every sysbench test sets up; `args` adds the workload, table options and
/// command.
pub fn sysbench_sb(dir: Option<&std::path::Path>, addr: SocketAddr, args: &[&str]) -> String {
    let port = format!("--mysql-port={}", addr.port());
    let mut all = args.to_vec();
    all.extend([
        "--mysql-host=127.0.0.1",
        &port,
        "--mysql-user=sb",
        "--mysql-password=sbpw",
        "--mysql-db=sbtest",
    ]);
    sysbench_in(dir, &all)
}

/// Runs `cmd` with stdin closed, killing it after `limit`. Success means exit status 0
/// and a last output line of `OK`.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> (bool, String) {
    let what = format!("{cmd:?}");
    // One pipe for both streams keeps the output in the order it was written.
    let (mut reader, writer) = match std::io::pipe() {
        Ok(p) => p,
        Err(e) => return (false, format!("pipe: {e}")),
    };
    let writer2 = match writer.try_clone() {
        Ok(w) => w,
        Err(e) => return (false, format!("pipe: {e}")),
    };
    // Its own process group, so a timeout kills anything it started as well (and the
    // pipe's last writer goes away).
    cmd.stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer2)
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return (false, format!("spawn {what}: {e}")),
    };
    // The parent's copies of the write end went into `cmd`; drop them so the reader sees
    // EOF when the child (and anything it started) exits.
    drop(cmd);
    let collector = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = reader.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    });
    let group = Pid::from_raw(child.id() as i32);
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if start.elapsed() <= limit => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = killpg(group, Signal::SIGKILL);
                let _ = child.wait();
                break None;
            }
        }
    };
    // Whatever the program left behind in its group must not keep the pipe open.
    let _ = killpg(group, Signal::SIGKILL);
    let mut out = collector.join().unwrap_or_default();
    match status {
        None => {
            out.push_str(&format!("\n[killed after {limit:?}: {what}]\n"));
            (false, out)
        }
        Some(st) => {
            let ok = st.success() && out.lines().last().map(str::trim) == Some("OK");
            if !st.success() {
                out.push_str(&format!("\n[{what} exited with {st}]\n"));
            }
            (ok, out)
        }
    }
}

/// Turns on the general query log of `db` into a file in its temporary directory and
/// returns the file's path (every statement every client sends, with its command:
/// Connect, Query, Prepare, Execute, Close stmt, Quit).
pub fn enable_general_log(db: &MariaDb) -> PathBuf {
    let path = db.dir().join("general.log");
    db.sql(&format!(
        "SET GLOBAL general_log_file = '{}'; SET GLOBAL general_log = 1",
        path.display()
    ));
    path
}

/// One general log entry: connection id, command (`Connect`, `Query`, `Prepare`,
/// `Execute`, `Close stmt`, `Quit`, ...), argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub id: u64,
    pub command: String,
    pub arg: String,
}

/// Parses a general log file: lines `[YYMMDD HH:MM:SS]\t[\t]   ID Command\tArgument`;
/// a line without that shape continues the previous entry's argument.
pub fn parse_general_log(log: &str) -> Vec<LogEntry> {
    let mut entries: Vec<LogEntry> = Vec::new();
    for line in log.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let parsed = fields.iter().enumerate().find_map(|(i, f)| {
            let (id, command) = f.trim().split_once(' ')?;
            let id = id.parse::<u64>().ok()?;
            let command = command.trim();
            let known = command.chars().all(|c| c.is_ascii_alphabetic() || c == ' ');
            (known && !command.is_empty()).then(|| LogEntry {
                id,
                command: command.to_string(),
                arg: fields[i + 1..].join("\t"),
            })
        });
        match parsed {
            Some(e) => entries.push(e),
            None => {
                if let Some(last) = entries.last_mut() {
                    last.arg.push('\n');
                    last.arg.push_str(line);
                }
            }
        }
    }
    entries
}

/// The entries of connection `id`, as `Command\tArgument` lines, in order.
pub fn general_log_of(log: &str, id: u64) -> Vec<String> {
    parse_general_log(log)
        .into_iter()
        .filter(|e| e.id == id)
        .map(|e| format!("{}\t{}", e.command, e.arg))
        .collect()
}

/// Connection ids whose Connect entry names `user` (`user@host on db ...`).
pub fn general_log_connections(log: &str, user: &str) -> Vec<u64> {
    let prefix = format!("{user}@");
    parse_general_log(log)
        .into_iter()
        .filter(|e| e.command == "Connect" && e.arg.starts_with(&prefix))
        .map(|e| e.id)
        .collect()
}

/// Runs tests/clients/RouterSessionChecks.java against `addr` in `mode` (see the file);
/// returns (exited 0 and printed OK, combined stdout and stderr).
pub fn run_router_session_checks(
    addr: SocketAddr,
    user: &str,
    password: &str,
    mode: &str,
) -> (bool, String) {
    run_java_client(
        "RouterSessionChecks.java",
        &[&addr.to_string(), user, password, mode],
    )
}

/// Runs tests/clients/MetaDataCheck.java (JDBC DatabaseMetaData by catalog `schema`)
/// with the JDBC URL `url`: `tables` must all be listed, `table`'s columns, primary key
/// `id` and PRIMARY index found; returns (exited 0 and printed OK, combined output).
pub fn run_metadata_check(
    url: &str,
    user: &str,
    password: &str,
    schema: &str,
    tables: &[&str],
    table: &str,
) -> (bool, String) {
    run_java_client(
        "MetaDataCheck.java",
        &[url, user, password, schema, &tables.join(","), table],
    )
}
