//! The MySQL router against direct MariaDB and haproxy 2.6 (`mode tcp`), with sysbench,
//! in one run on one MariaDB server.
//!
//!   sudo apt-get install -y mariadb-server mariadb-client sysbench haproxy
//!   sudo cargo bench --bench router
//!
//! One MariaDB server (temporary data directory, free loopback port; buffer pool large
//! enough for the whole data set), database `sbtest` prepared by `sysbench
//! oltp_read_only prepare` (4 tables of 10,000 rows), user `sb`@`127.0.0.1`. Three
//! targets, all on loopback:
//! - direct: sysbench straight to MariaDB;
//! - haproxy: `mode tcp`, one frontend, one backend server = MariaDB, `nbthread` = the
//!   number of CPUs (tandem's tokio runtime also runs one worker per CPU), timeouts 1m;
//! - router: `tandem run` with a `router:` section: one schema on one data node on one
//!   data host whose write host is MariaDB (`balance: 0`, `switch_type: -1`, pool 16..64).
//!
//! Nothing is pinned: sysbench, MariaDB and the proxy share all CPUs, so a proxy's cost
//! shows as lower QPS and higher latency. Each target first gets a short unmeasured
//! warm-up (which also checks that it works); then for each workload (`oltp_point_select`,
//! `oltp_read_only`; server-side prepared statements, 16 threads) every target runs once
//! per round, the order rotating from round to round so that no target always runs
//! first. Medians over the rounds are reported, with the ratios between targets.
//!
//! Environment: `TANDEM_BENCH_SECS` (seconds per measured run, default 20),
//! `TANDEM_BENCH_ROUNDS` (default 1), `TANDEM_BENCH_THREADS` (sysbench threads, default
//! 16), `TANDEM_BENCH_TLS=1` (every client connection uses TLS: MariaDB gets a
//! certificate, sysbench `--mysql-ssl=on`; direct and haproxy carry TLS to MariaDB,
//! which decrypts; the router decrypts itself (`router.tls` with the same certificate)
//! and talks plain TCP to MariaDB, its default), `TANDEM_BENCH_SQL_STAT=1` (the router
//! records MyCat's SQL statistics, `router.sql_stat: true`, to measure what they cost).
//!
//! When the router does not come up or a sysbench run through it fails, its rows say
//! `router failed: <reason>`, direct and haproxy are still reported, and the exit
//! status is 1.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use common::mariadb::MariaDb;
use common::{Daemon, free_port, tandem_bin};

mod bench_util;
use bench_util::{
    Guard, cpu_us, env_u64, field, median, run_bounded, tail, version, wait_login_with,
};

const TABLES: u32 = 4;
const TABLE_SIZE: u32 = 10_000;
const USER: &str = "sb";
const PASSWORD: &str = "sbpw";
const DB: &str = "sbtest";
const WORKLOADS: [&str; 2] = ["oltp_point_select", "oltp_read_only"];
/// Unmeasured run per target before the rounds.
const WARMUP_SECS: u64 = 5;
/// How long a target may take to accept a MySQL login.
const READY_LIMIT: Duration = Duration::from_secs(30);

/// With `TANDEM_BENCH_TLS=1`: the directory with the certificate (`server.pem`,
/// `server.key`) and the files sysbench 1.0's `--mysql-ssl=on` loads from its working
/// directory (`cacert.pem`, `client-cert.pem`, `client-key.pem`).
static TLS_DIR: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();

fn tls_dir() -> Option<&'static Path> {
    TLS_DIR.get().and_then(|d| d.as_deref())
}

/// A CA and a certificate it signed for 127.0.0.1, written into `dir` under the names
/// above.
fn make_certs(dir: &Path) -> Result<(), String> {
    let e = |x: rcgen::Error| format!("certificate: {x}");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    // Distinct names: a leaf whose subject equals its issuer's looks self-signed to OpenSSL.
    ca.distinguished_name = rcgen::DistinguishedName::new();
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "tandem bench CA");
    let ca_key = rcgen::KeyPair::generate().map_err(e)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(e)?;
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let mut leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).map_err(e)?;
    leaf.distinguished_name = rcgen::DistinguishedName::new();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "tandem bench server");
    let key = rcgen::KeyPair::generate().map_err(e)?;
    let cert = leaf.signed_by(&key, &issuer).map_err(e)?;
    for (name, text) in [
        ("cacert.pem", ca_cert.pem()),
        ("server.pem", cert.pem()),
        ("server.key", key.serialize_pem()),
        ("client-cert.pem", cert.pem()),
        ("client-key.pem", key.serialize_pem()),
    ] {
        std::fs::write(dir.join(name), text).map_err(|x| format!("write {name}: {x}"))?;
    }
    Ok(())
}

/// `select 1` as the benchmark user through `port`, bounded.
fn login_ok(port: u16) -> Result<(), String> {
    let mut cmd = Command::new("mariadb");
    cmd.arg("--no-defaults")
        .args(["--host=127.0.0.1", "--protocol=TCP"])
        .arg(format!("--port={port}"))
        .arg(format!("--user={USER}"))
        .arg(format!("--password={PASSWORD}"))
        .arg(format!("--database={DB}"))
        .args(["--batch", "--skip-column-names", "--connect-timeout=5"])
        .args(["-e", "select 1"]);
    let out = run_bounded(cmd, Duration::from_secs(15))?;
    if out.status.success() && out.stdout.trim() == "1" {
        Ok(())
    } else {
        Err(format!(
            "mariadb client: {}",
            format!("{}{}", out.stderr, out.stdout).trim()
        ))
    }
}

/// Waits until `port` accepts a MySQL login; `dead` says whether the process behind it
/// has exited (then there is no point waiting).
fn wait_login(port: u16, mut dead: impl FnMut() -> Option<String>) -> Result<(), String> {
    wait_login_with(port, READY_LIMIT, || login_ok(port), &mut dead)
}

fn sysbench_args(cmd: &mut Command, port: u16) {
    if let Some(d) = tls_dir() {
        cmd.current_dir(d).arg("--mysql-ssl=on");
    }
    cmd.args(["--db-driver=mysql", "--mysql-host=127.0.0.1"])
        .arg(format!("--mysql-port={port}"))
        .arg(format!("--mysql-user={USER}"))
        .arg(format!("--mysql-password={PASSWORD}"))
        .arg(format!("--mysql-db={DB}"))
        .arg(format!("--tables={TABLES}"))
        .arg(format!("--table-size={TABLE_SIZE}"));
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    qps: f64,
    queries: u64,
    p95_ms: f64,
    errors: u64,
    reconnects: u64,
    /// The proxy's CPU time (user + system) per query, µs; None for direct.
    cpu_us_per_query: Option<f64>,
}

/// The number after `label` on the line that starts with it, and the "(X per sec.)"
/// figure on that line if any.
fn parse_sysbench(out: &str) -> Result<Sample, String> {
    let (queries, qps) = field(out, "queries:").ok_or("no `queries:` line")?;
    let qps = qps.ok_or("no queries per second")?;
    let (p95_ms, _) = field(out, "95th percentile:").ok_or("no 95th percentile")?;
    let errors = field(out, "ignored errors:").map_or(0, |(v, _)| v as u64);
    let reconnects = field(out, "reconnects:").map_or(0, |(v, _)| v as u64);
    Ok(Sample {
        qps,
        queries: queries as u64,
        p95_ms,
        errors,
        reconnects,
        cpu_us_per_query: None,
    })
}

/// One sysbench run of `workload` against `port` for `secs`; `pid` is the proxy's.
fn sysbench_run(
    workload: &str,
    port: u16,
    secs: u64,
    threads: u64,
    pid: Option<u32>,
) -> Result<Sample, String> {
    let mut cmd = Command::new("sysbench");
    cmd.arg(workload);
    sysbench_args(&mut cmd, port);
    cmd.arg(format!("--threads={threads}"))
        .arg(format!("--time={secs}"))
        .args([
            "--events=0",
            "--db-ps-mode=auto",
            "--report-interval=0",
            "--percentile=95",
        ])
        .arg("run");
    let cpu0 = pid.map(cpu_us);
    // sysbench stops issuing queries at --time; a hung target is killed a minute later.
    let out = run_bounded(cmd, Duration::from_secs(secs + 60))?;
    let cpu = pid.zip(cpu0).map(|(p, c0)| cpu_us(p).saturating_sub(c0));
    let all = format!("{}\n{}", out.stdout, out.stderr);
    if !out.status.success() {
        let fatal: Vec<&str> = all
            .lines()
            .filter(|l| l.contains("FATAL") || l.contains("error"))
            .take(3)
            .collect();
        return Err(if fatal.is_empty() {
            format!("sysbench exited with {}{}", out.status, tail(&all, 3))
        } else {
            format!("sysbench exited with {}: {}", out.status, fatal.join(" | "))
        });
    }
    let mut s = parse_sysbench(&out.stdout).map_err(|e| format!("sysbench output: {e}"))?;
    if let Some(c) = cpu {
        s.cpu_us_per_query = Some(c as f64 / s.queries.max(1) as f64);
    }
    Ok(s)
}

struct Haproxy {
    _child: Guard,
    pid: u32,
    port: u16,
    _dir: tempfile::TempDir,
}

fn start_haproxy(backend_port: u16, nbthread: usize) -> Result<Haproxy, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let port = free_port();
    let cfg = format!(
        "global\n  maxconn 2000\n  nbthread {nbthread}\n\
         defaults\n  mode tcp\n  timeout connect 1m\n  timeout client 1m\n  timeout server 1m\n\
         frontend mysql\n  bind 127.0.0.1:{port}\n  default_backend mariadb\n\
         backend mariadb\n  server m1 127.0.0.1:{backend_port}\n"
    );
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(&path, cfg).map_err(|e| format!("write {}: {e}", path.display()))?;
    let log = dir.path().join("haproxy.log");
    let log_file = std::fs::File::create(&log).map_err(|e| format!("haproxy log: {e}"))?;
    let child = Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("haproxy: {e} (apt-get install haproxy)"))?;
    let pid = child.id();
    let mut child = Guard(Some(child));
    wait_login(port, || {
        let c = child.0.as_mut()?;
        let st = c.try_wait().ok().flatten()?;
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        Some(format!("{st}{}", tail(&log, 3)))
    })?;
    Ok(Haproxy {
        _child: child,
        pid,
        port,
        _dir: dir,
    })
}

struct Router {
    daemon: Daemon,
    port: u16,
    _dir: tempfile::TempDir,
}

fn router_config(port: u16, state_dir: &Path, backend_port: u16) -> String {
    let tls = tls_dir().map_or(String::new(), |d| {
        format!(
            "  tls: {{ cert: \"{}\", key: \"{}\" }}\n",
            d.join("server.pem").display(),
            d.join("server.key").display()
        )
    });
    let sql_stat = if env_u64("TANDEM_BENCH_SQL_STAT", 0) == 1 {
        "  sql_stat: true\n"
    } else {
        ""
    };
    format!(
        r#"node: bench
log: {{ level: warn }}
admin: {{ socket: off }}
router:
  listen: 127.0.0.1:{port}
  admin_listen: off
  state_dir: "{state}"
{sql_stat}{tls}  users:
    - {{ name: {USER}, password: {PASSWORD}, schemas: [{DB}] }}
  schemas:
    - {{ name: {DB}, data_node: dn1 }}
  data_nodes:
    - {{ name: dn1, data_host: dh1, database: {DB} }}
  data_hosts:
    - name: dh1
      balance: 0
      switch_type: -1
      min_con: 16
      max_con: 64
      write_hosts:
        - {{ host: m1, url: "127.0.0.1:{backend_port}", user: root, password: "" }}
"#,
        state = state_dir.display()
    )
}

fn start_router(backend_port: u16) -> Result<Router, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let state = dir.path().join("state");
    std::fs::create_dir(&state).map_err(|e| format!("state dir: {e}"))?;
    let port = free_port();
    let path = dir.path().join("tandem.yaml");
    std::fs::write(&path, router_config(port, &state, backend_port))
        .map_err(|e| format!("write {}: {e}", path.display()))?;
    let mut check = Command::new(tandem_bin());
    check.args(["check", "-c"]).arg(&path);
    let out = run_bounded(check, Duration::from_secs(30))?;
    if !out.status.success() {
        return Err(format!(
            "`tandem check` rejects the config ({}){}",
            out.status,
            tail(&format!("{}{}", out.stdout, out.stderr), 5)
        ));
    }
    let mut daemon = Daemon::start(&path);
    let ready = wait_login(port, || {
        daemon
            .child
            .try_wait()
            .ok()
            .flatten()
            .map(|st| st.to_string())
    });
    if let Err(e) = ready {
        return Err(format!("{e}; tandem log{}", tail(&daemon.logs(), 3)));
    }
    Ok(Router {
        daemon,
        port,
        _dir: dir,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Direct,
    Haproxy,
    Router,
}

const TARGETS: [Target; 3] = [Target::Direct, Target::Haproxy, Target::Router];

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Direct => "direct",
            Target::Haproxy => "haproxy",
            Target::Router => "router",
        }
    }
}

/// The result of one target and workload over all rounds.
enum Summary {
    Ok {
        qps: f64,
        p95_ms: f64,
        errors: u64,
        reconnects: u64,
        cpu: Option<f64>,
    },
    Failed(String),
}

fn summarize(runs: &[Result<Sample, String>]) -> Summary {
    if let Some(Err(e)) = runs.iter().find(|r| r.is_err()) {
        return Summary::Failed(e.clone());
    }
    let ok: Vec<Sample> = runs
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    if ok.is_empty() {
        return Summary::Failed("not run".into());
    }
    let cpu: Vec<f64> = ok.iter().filter_map(|s| s.cpu_us_per_query).collect();
    Summary::Ok {
        qps: median(ok.iter().map(|s| s.qps).collect()),
        p95_ms: median(ok.iter().map(|s| s.p95_ms).collect()),
        errors: ok.iter().map(|s| s.errors).sum(),
        reconnects: ok.iter().map(|s| s.reconnects).sum(),
        cpu: (!cpu.is_empty()).then(|| median(cpu)),
    }
}

fn ratio(a: &Summary, b: &Summary, f: fn(&Summary) -> Option<f64>) -> String {
    match (f(a), f(b)) {
        (Some(x), Some(y)) if y > 0.0 => format!("{:.2}", x / y),
        _ => "-".into(),
    }
}

fn qps_of(s: &Summary) -> Option<f64> {
    match s {
        Summary::Ok { qps, .. } => Some(*qps),
        Summary::Failed(_) => None,
    }
}

fn p95_of(s: &Summary) -> Option<f64> {
    match s {
        Summary::Ok { p95_ms, .. } => Some(*p95_ms),
        Summary::Failed(_) => None,
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("router bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The whole benchmark; every process it starts is owned here and killed when it
/// returns (or unwinds). Ok(false): the router (or another target) failed.
fn run() -> Result<bool, String> {
    let secs = env_u64("TANDEM_BENCH_SECS", 20);
    let rounds = env_u64("TANDEM_BENCH_ROUNDS", 1) as usize;
    let threads = env_u64("TANDEM_BENCH_THREADS", 16);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());

    let tls_tmp = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let tls = env_u64("TANDEM_BENCH_TLS", 0) == 1;
    if tls {
        make_certs(tls_tmp.path())?;
    }
    let _ = TLS_DIR.set(tls.then(|| tls_tmp.path().to_path_buf()));
    let mut opts = vec![
        "--innodb-buffer-pool-size=256M".to_string(),
        "--innodb-log-file-size=64M".to_string(),
        "--max-connections=1000".to_string(),
        "--max-prepared-stmt-count=100000".to_string(),
    ];
    if let Some(d) = tls_dir() {
        opts.push(format!("--ssl-cert={}", d.join("server.pem").display()));
        opts.push(format!("--ssl-key={}", d.join("server.key").display()));
        // sysbench sends client-cert.pem: MariaDB checks it against the CA.
        opts.push(format!("--ssl-ca={}", d.join("cacert.pem").display()));
    }
    eprintln!("== MariaDB{}", if tls { " (TLS)" } else { "" });
    let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
    let db = MariaDb::start_with(&opts);
    db.sql(&format!(
        "CREATE DATABASE {DB}; CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'; \
         GRANT ALL PRIVILEGES ON {DB}.* TO '{USER}'@'127.0.0.1'"
    ));
    let mariadb_version = db.sql("SELECT VERSION()");

    eprintln!("== sysbench oltp_read_only prepare ({TABLES} tables x {TABLE_SIZE} rows)");
    let mut prep = Command::new("sysbench");
    prep.arg("oltp_read_only");
    sysbench_args(&mut prep, db.port);
    prep.arg(format!("--threads={TABLES}")).arg("prepare");
    let out = run_bounded(prep, Duration::from_secs(600))
        .map_err(|e| format!("{e} (apt-get install sysbench)"))?;
    // sysbench may exit 0 after a FATAL in one of its threads.
    if !out.status.success() || out.stdout.contains("FATAL") || out.stderr.contains("FATAL") {
        return Err(format!(
            "sysbench prepare: {}{}",
            out.status,
            tail(&format!("{}{}", out.stdout, out.stderr), 5)
        ));
    }

    eprintln!("== haproxy (nbthread {cpus})");
    let haproxy = start_haproxy(db.port, cpus);
    if let Err(e) = &haproxy {
        eprintln!("  haproxy failed: {e}");
    }

    eprintln!("== tandem router ({})", tandem_bin().display());
    let router = start_router(db.port);
    match &router {
        Ok(_) => eprintln!("  router accepts logins"),
        Err(e) => eprintln!("  router failed: {e}"),
    }

    // Per target: its port and proxy pid, or why it is out of the run.
    let mut up: Vec<Result<(u16, Option<u32>), String>> = TARGETS
        .iter()
        .map(|t| match t {
            Target::Direct => Ok((db.port, None)),
            Target::Haproxy => haproxy
                .as_ref()
                .map(|h| (h.port, Some(h.pid)))
                .map_err(Clone::clone),
            Target::Router => router
                .as_ref()
                .map(|r| (r.port, Some(r.daemon.child.id())))
                .map_err(Clone::clone),
        })
        .collect();

    // Warm-up: the buffer pool (first run), the proxies' connection pools and code
    // paths; a target that fails here is not measured.
    for (t, slot) in TARGETS.iter().zip(up.iter_mut()) {
        let Ok((port, _)) = *slot else { continue };
        let secs = WARMUP_SECS.min(secs);
        eprintln!("== warm-up: {} (oltp_read_only, {secs} s)", t.name());
        if let Err(e) = sysbench_run("oltp_read_only", port, secs, threads, None) {
            eprintln!("  {} failed in the warm-up: {e}", t.name());
            *slot = Err(format!("warm-up: {e}"));
        }
    }

    // results[workload][target] = one entry per round.
    let mut results: Vec<Vec<Vec<Result<Sample, String>>>> =
        vec![vec![Vec::new(); TARGETS.len()]; WORKLOADS.len()];
    for round in 0..rounds {
        for (w, workload) in WORKLOADS.iter().enumerate() {
            for k in 0..TARGETS.len() {
                let i = (k + round) % TARGETS.len();
                let t = TARGETS[i];
                let Ok((port, pid)) = up[i] else { continue };
                eprintln!(
                    "== round {}/{rounds}: {workload} via {} ({secs} s, {threads} threads)",
                    round + 1,
                    t.name()
                );
                let r = sysbench_run(workload, port, secs, threads, pid);
                match &r {
                    Ok(s) => eprintln!(
                        "  {:.0} qps, p95 {:.2} ms, {} errors, {} reconnects",
                        s.qps, s.p95_ms, s.errors, s.reconnects
                    ),
                    Err(e) => eprintln!("  failed: {e}"),
                }
                results[w][i].push(r);
            }
        }
    }
    if let Ok(r) = &router {
        let logs = r.daemon.logs();
        if !logs.trim().is_empty() {
            eprintln!("== tandem log (level warn){}", tail(&logs, 10));
        }
    }

    let summaries: Vec<Vec<Summary>> = results
        .iter()
        .map(|per_target| {
            per_target
                .iter()
                .zip(&up)
                .map(|(runs, u)| match u {
                    Err(e) => Summary::Failed(e.clone()),
                    Ok(_) => summarize(runs),
                })
                .collect()
        })
        .collect();

    println!(
        "router vs haproxy vs direct MariaDB: sysbench {threads} threads, {secs} s per run, \
         {rounds} round(s), medians; {TABLES} tables x {TABLE_SIZE} rows, --db-ps-mode=auto{}",
        if tls {
            "; clients over TLS (--mysql-ssl=on): direct and haproxy to MariaDB's TLS, the router's own"
        } else {
            ""
        }
    );
    println!(
        "{cpus} CPUs, nothing pinned; MariaDB {mariadb_version}; {}; {}; haproxy nbthread {cpus}",
        version("sysbench", "--version"),
        version("haproxy", "-v")
            .split(" - ")
            .next()
            .unwrap_or("")
            .trim()
    );
    println!(
        "{:<8} {:<18} {:>10} {:>9} {:>7} {:>11}",
        "target", "workload", "QPS", "p95 ms", "errors", "CPU us/q"
    );
    for (w, workload) in WORKLOADS.iter().enumerate() {
        for (i, t) in TARGETS.iter().enumerate() {
            match &summaries[w][i] {
                Summary::Ok {
                    qps,
                    p95_ms,
                    errors,
                    reconnects,
                    cpu,
                } => println!(
                    "{:<8} {:<18} {:>10.0} {:>9.2} {:>7} {:>11}{}",
                    t.name(),
                    workload,
                    qps,
                    p95_ms,
                    errors,
                    cpu.map_or("-".into(), |c| format!("{c:.1}")),
                    if *reconnects > 0 {
                        format!("  ({reconnects} reconnects)")
                    } else {
                        String::new()
                    }
                ),
                Summary::Failed(e) => {
                    println!("{:<8} {:<18} {} failed: {e}", t.name(), workload, t.name())
                }
            }
        }
    }
    println!(
        "(p95: latency of one sysbench event: one query for oltp_point_select, one \
         transaction of 16 queries for oltp_read_only; errors: sysbench's ignored errors; \
         CPU us/q: the proxy process's user + system CPU time per query)"
    );
    for (w, workload) in WORKLOADS.iter().enumerate() {
        let [d, h, r] = [&summaries[w][0], &summaries[w][1], &summaries[w][2]];
        println!(
            "ratio {workload}: QPS router/direct {} router/haproxy {} haproxy/direct {}; \
             p95 router/direct {} router/haproxy {} haproxy/direct {}",
            ratio(r, d, qps_of),
            ratio(r, h, qps_of),
            ratio(h, d, qps_of),
            ratio(r, d, p95_of),
            ratio(r, h, p95_of),
            ratio(h, d, p95_of),
        );
    }
    // The machine's speed drifts over minutes; router and haproxy run next to each
    // other in every round, so the ratio within a round is the steadier figure.
    for (w, workload) in WORKLOADS.iter().enumerate() {
        let per: Vec<f64> = results[w][2]
            .iter()
            .zip(&results[w][1])
            .filter_map(|(r, h)| match (r, h) {
                (Ok(r), Ok(h)) if h.qps > 0.0 => Some(r.qps / h.qps),
                _ => None,
            })
            .collect();
        if per.is_empty() {
            continue;
        }
        let list: Vec<String> = per.iter().map(|x| format!("{x:.2}")).collect();
        let lo = per.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = per.iter().copied().fold(0.0, f64::max);
        println!(
            "per-round QPS router/haproxy {workload}: {} (median {:.2}, range {lo:.2}..{hi:.2})",
            list.join(" "),
            median(per.clone()),
        );
    }
    let all_ok = summaries
        .iter()
        .flatten()
        .all(|s| matches!(s, Summary::Ok { .. }));
    drop(router);
    drop(haproxy);
    drop(db);
    Ok(all_ok)
}
