//! The sharding router against one direct MariaDB node: sysbench `oltp_point_select` on a
//! table sharded by id over two nodes, and two scatter queries (`SELECT COUNT(*)`,
//! `ORDER BY ... LIMIT`) across both nodes.
//!
//!   sudo apt-get install -y mariadb-server mariadb-client sysbench
//!   sudo TANDEM_BENCH_SECS=15 TANDEM_BENCH_ROUNDS=3 cargo bench --bench sharding
//!
//! Two MariaDB servers A and B (temporary data directories, free loopback ports, 256 MB
//! buffer pools). Direct baseline: `sysbench oltp_point_select prepare` fills
//! `sbtest.sbtest1` on A with `TANDEM_BENCH_ROWS` rows (default 100,000). Sharded copy:
//! the same table (sysbench's DDL) in `sb_0` on A and `sb_1` on B, the rows split by
//! `id % 2` (`INSERT ... SELECT` on A, `mariadb-dump --where "id % 2 = 1"` piped into B).
//! The router (checked with `tandem check`) serves schema `sbtest`: table `sbtest1` with
//! rule `mod-long` (count 2) on `id` over dn0 (A, sb_0) and dn1 (B, sb_1); pools 8..64.
//!
//! Workloads, each against direct (A, `sbtest`) and the router (`sbtest`), the target order
//! alternating from round to round:
//! - `oltp_point_select`, 8 threads, `--db-ps-mode=disable` (text protocol);
//! - `oltp_point_select` with server-side prepared statements (`--db-ps-mode=auto`), only
//!   if a probe run through the router succeeds (otherwise the reason is printed);
//! - `SELECT COUNT(*) FROM sbtest1`, 4 threads, a sysbench Lua script;
//! - `SELECT id, k FROM sbtest1 ORDER BY k DESC, id LIMIT 10`, 4 threads, likewise.
//!
//! - `LOAD DATA LOCAL INFILE` of one CSV file of `TANDEM_BENCH_LOAD_ROWS` rows (default
//!   500,000, about 77 bytes each) with the `mariadb` client: into table `ld` on A
//!   directly; through the router into `ld1`, a table it does not list (on A: the file
//!   is passed through); and through the router into `ld` sharded by id over A and B (the
//!   router reads the file and sends each row to its node); tables emptied before each run,
//!   counts and placement checked after each router run; wall time, rows/s and the
//!   router's CPU per 1000 rows.
//!
//! `TANDEM_BENCH_ONLY=load` runs only the LOAD DATA workload.
//!
//! Before the rounds, the answers of the router and of direct A are compared for both
//! scatter queries and a few point selects. Printed: per round and median QPS, p95 latency
//! of one query, and the router's CPU time (utime + stime from /proc) per 1000 queries.
//!
//! Environment: `TANDEM_BENCH_SECS` (seconds per measured run, default 20),
//! `TANDEM_BENCH_ROUNDS` (default 3), `TANDEM_BENCH_ROWS` (default 100000).
//!
//! A workload the router fails is reported as `router failed: <reason>`; the exit status
//! is then 1. Every process is killed and every temporary directory removed on exit.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use common::mariadb::MariaDb;
use common::{Daemon, free_port, tandem_bin};

mod bench_util;
use bench_util::{
    Guard, cpu_us, drain, env_u64, field, median, run_bounded, tail, version, wait_bounded,
    wait_login_with,
};

const USER: &str = "sb";
const PASSWORD: &str = "sb";
const DB: &str = "sbtest";
const POINT_THREADS: u64 = 8;
const SCATTER_THREADS: u64 = 4;
/// Unmeasured run per target before the rounds.
const WARMUP_SECS: u64 = 5;
/// How long a target may take to accept a MySQL login.
const READY_LIMIT: Duration = Duration::from_secs(30);
/// The table on the data nodes: what sysbench creates (the index is added after loading).
const NODE_DDL: &str = "CREATE TABLE sbtest1 (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, \
     k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '', \
     pad CHAR(60) NOT NULL DEFAULT '', KEY k_1(k)) ENGINE=InnoDB";
const COUNT_SQL: &str = "SELECT COUNT(*) FROM sbtest1";
const TOPK_SQL: &str = "SELECT id, k FROM sbtest1 ORDER BY k DESC, id LIMIT 10";

/// The `mariadb` client against 127.0.0.1:`port` (no statement yet).
fn client(port: u16, user: &str, password: &str, db: Option<&str>) -> Command {
    let mut cmd = Command::new("mariadb");
    cmd.arg("--no-defaults")
        .args(["--host=127.0.0.1", "--protocol=TCP"])
        .arg(format!("--port={port}"))
        .arg(format!("--user={user}"));
    if !password.is_empty() {
        cmd.arg(format!("--password={password}"));
    }
    if let Some(db) = db {
        cmd.arg(format!("--database={db}"));
    }
    cmd.args(["--batch", "--skip-column-names", "--connect-timeout=5"]);
    cmd
}

/// `sql` as the benchmark user in `sbtest` through `port`, bounded; stdout.
fn query(port: u16, sql: &str) -> Result<String, String> {
    let mut cmd = client(port, USER, PASSWORD, Some(DB));
    cmd.args(["-e", sql]);
    let out = run_bounded(cmd, Duration::from_secs(120))?;
    if out.status.success() {
        Ok(out.stdout.trim_end().to_string())
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
    let probe = || match query(port, "select 1") {
        Ok(v) if v.trim() == "1" => Ok(()),
        Ok(v) => Err(format!("`select 1` answered {v:?}")),
        Err(e) => Err(e),
    };
    wait_login_with(port, READY_LIMIT, probe, &mut dead)
}

fn sysbench_conn_args(cmd: &mut Command, port: u16) {
    cmd.args(["--db-driver=mysql", "--mysql-host=127.0.0.1"])
        .arg(format!("--mysql-port={port}"))
        .arg(format!("--mysql-user={USER}"))
        .arg(format!("--mysql-password={PASSWORD}"))
        .arg(format!("--mysql-db={DB}"));
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    qps: f64,
    queries: u64,
    p95_ms: f64,
    errors: u64,
    reconnects: u64,
    /// The router's CPU time (user + system) per 1000 queries, seconds; None for direct.
    cpu_s_per_kq: Option<f64>,
    /// The same, less the router's idle CPU rate over the run's wall-clock time.
    net_cpu_s_per_kq: Option<f64>,
    /// 1-minute load average of the machine when the run started.
    load: f64,
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
        cpu_s_per_kq: None,
        net_cpu_s_per_kq: None,
        load: 0.0,
    })
}

/// The 1-minute load average (other work on the machine shows up here).
fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// The router's CPU use while no client talks to it, µs per second (heartbeats, timers).
fn idle_cpu_rate(pid: u32, over: Duration) -> f64 {
    let c0 = cpu_us(pid);
    let t = Instant::now();
    std::thread::sleep(over);
    cpu_us(pid).saturating_sub(c0) as f64 / t.elapsed().as_secs_f64()
}

/// A measured workload.
#[derive(Clone, Copy)]
enum Workload {
    /// sysbench `oltp_point_select`; `true`: server-side prepared statements.
    PointSelect { ps: bool },
    /// A Lua script that runs one statement per event.
    Script {
        name: &'static str,
        sql: &'static str,
    },
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::PointSelect { ps: false } => "point_select (text)",
            Workload::PointSelect { ps: true } => "point_select (PS)",
            Workload::Script { name, .. } => name,
        }
    }

    fn threads(self) -> u64 {
        match self {
            Workload::PointSelect { .. } => POINT_THREADS,
            Workload::Script { .. } => SCATTER_THREADS,
        }
    }
}

/// A sysbench Lua script that runs `sql` once per event on one connection per thread.
fn lua_script(sql: &str) -> String {
    format!(
        "function thread_init()\n  drv = sysbench.sql.driver()\n  con = drv:connect()\nend\n\
         function event()\n  con:query(\"{sql}\")\nend\n\
         function thread_done()\n  con:disconnect()\nend\n"
    )
}

/// One sysbench run of `w` against `port` for `secs`; `router`: the router's pid and its
/// idle CPU rate (µs/s).
fn sysbench_run(
    w: Workload,
    port: u16,
    secs: u64,
    rows: u64,
    scripts: &Path,
    router: Option<(u32, f64)>,
) -> Result<Sample, String> {
    let pid = router.map(|r| r.0);
    let mut cmd = Command::new("sysbench");
    match w {
        Workload::PointSelect { ps } => {
            cmd.arg("oltp_point_select");
            sysbench_conn_args(&mut cmd, port);
            cmd.arg("--tables=1")
                .arg(format!("--table-size={rows}"))
                .arg(if ps {
                    "--db-ps-mode=auto"
                } else {
                    "--db-ps-mode=disable"
                });
        }
        Workload::Script { name, .. } => {
            cmd.arg(scripts.join(format!("{name}.lua")));
            sysbench_conn_args(&mut cmd, port);
        }
    }
    cmd.arg(format!("--threads={}", w.threads()))
        .arg(format!("--time={secs}"))
        .args(["--events=0", "--report-interval=0", "--percentile=95"])
        .arg("run");
    let load = loadavg();
    let cpu0 = pid.map(cpu_us);
    let start = Instant::now();
    // sysbench stops issuing queries at --time; a hung target is killed a minute later.
    let out = run_bounded(cmd, Duration::from_secs(secs + 60))?;
    let cpu = pid.zip(cpu0).map(|(p, c0)| cpu_us(p).saturating_sub(c0));
    let wall = start.elapsed().as_secs_f64();
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
    if s.errors > 0 {
        // Read-only statements on a healthy target: any ignored error is a failure.
        return Err(format!("{} ignored errors{}", s.errors, tail(&all, 3)));
    }
    s.load = load;
    if let Some(c) = cpu {
        let per_kq = |us: f64| us / 1e6 / s.queries.max(1) as f64 * 1000.0;
        s.cpu_s_per_kq = Some(per_kq(c as f64));
        let idle = router.map_or(0.0, |r| r.1) * wall;
        s.net_cpu_s_per_kq = Some(per_kq((c as f64 - idle).max(0.0)));
    }
    Ok(s)
}

struct Router {
    daemon: Daemon,
    port: u16,
    _dir: tempfile::TempDir,
}

fn router_config(port: u16, state_dir: &Path, a: u16, b: u16) -> String {
    format!(
        r#"node: bench
log: {{ level: warn }}
admin: {{ socket: off }}
router:
  listen: 127.0.0.1:{port}
  admin_listen: off
  state_dir: "{state}"
  users:
    - {{ name: {USER}, password: {PASSWORD}, schemas: [{DB}] }}
  schemas:
    - name: {DB}
      data_node: dn0
      tables:
        - {{ name: sbtest1, data_nodes: "dn0,dn1", rule: by-id }}
        - {{ name: ld, data_nodes: "dn0,dn1", rule: by-id }}
  data_nodes:
    - {{ name: dn0, data_host: h0, database: sb_0 }}
    - {{ name: dn1, data_host: h1, database: sb_1 }}
  data_hosts:
    - name: h0
      balance: 0
      switch_type: -1
      min_con: 8
      max_con: 64
      write_hosts:
        - {{ host: a, url: "127.0.0.1:{a}", user: root, password: "" }}
    - name: h1
      balance: 0
      switch_type: -1
      min_con: 8
      max_con: 64
      write_hosts:
        - {{ host: b, url: "127.0.0.1:{b}", user: root, password: "" }}
  rules:
    - {{ name: by-id, column: id, function: {{ type: mod-long, count: 2 }} }}
"#,
        state = state_dir.display()
    )
}

fn start_router(a: u16, b: u16) -> Result<Router, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let state = dir.path().join("state");
    std::fs::create_dir(&state).map_err(|e| format!("state dir: {e}"))?;
    let port = free_port();
    let path = dir.path().join("tandem.yaml");
    std::fs::write(&path, router_config(port, &state, a, b))
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

/// Fills the nodes: even ids into A `sb_0` (INSERT ... SELECT on A), odd ids into B `sb_1`
/// (`mariadb-dump` from A piped into the client on B); checks the counts.
fn load_nodes(a: &MariaDb, b: &MariaDb, rows: u64) -> Result<(), String> {
    a.sql(&format!(
        "CREATE DATABASE sb_0; USE sb_0; {NODE_DDL}; \
         INSERT INTO sb_0.sbtest1 SELECT * FROM {DB}.sbtest1 WHERE id % 2 = 0"
    ));
    b.sql(&format!("CREATE DATABASE sb_1; USE sb_1; {NODE_DDL}"));

    let mut dump = Command::new("mariadb-dump");
    dump.arg("--no-defaults")
        .args(["--host=127.0.0.1", "--protocol=TCP", "--user=root"])
        .arg(format!("--port={}", a.port))
        .args([
            "--no-create-info",
            "--skip-triggers",
            "--single-transaction",
            "--where=id % 2 = 1",
            DB,
            "sbtest1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut dump = dump
        .spawn()
        .map_err(|e| format!("mariadb-dump: {e} (apt-get install mariadb-client)"))?;
    let dump_out = dump.stdout.take().ok_or("mariadb-dump: no stdout")?;
    let dump_err = drain(dump.stderr.take());
    let mut dump = Guard(Some(dump));
    let mut load = client(b.port, "root", "", Some("sb_1"));
    load.stdin(Stdio::from(dump_out))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut load = load.spawn().map_err(|e| format!("mariadb: {e}"))?;
    let load_out = drain(load.stdout.take());
    let load_err = drain(load.stderr.take());
    let mut load = Guard(Some(load));
    let limit = Duration::from_secs(600);
    let dumped = wait_bounded(&mut dump, limit)?;
    let loaded = wait_bounded(&mut load, limit)?;
    let (de, lo, le) = (
        dump_err.join().unwrap_or_default(),
        load_out.join().unwrap_or_default(),
        load_err.join().unwrap_or_default(),
    );
    match (dumped, loaded) {
        (Some(d), Some(l)) if d.success() && l.success() => {}
        (d, l) => {
            return Err(format!(
                "loading B: mariadb-dump {} / mariadb {}{}",
                d.map_or("timed out".into(), |s| s.to_string()),
                l.map_or("timed out".into(), |s| s.to_string()),
                tail(&format!("{de}{lo}{le}"), 5)
            ));
        }
    }

    let n0: u64 = a
        .sql("SELECT COUNT(*) FROM sb_0.sbtest1")
        .trim()
        .parse()
        .unwrap_or(0);
    let n1: u64 = b
        .sql("SELECT COUNT(*) FROM sb_1.sbtest1")
        .trim()
        .parse()
        .unwrap_or(0);
    if n0 + n1 != rows || n0 != rows / 2 {
        return Err(format!(
            "after loading: {n0} rows on A sb_0 + {n1} on B sb_1, expected {rows} split evenly"
        ));
    }
    Ok(())
}

/// The router's and direct A's answers to the scatter queries and a few point selects
/// (some spanning both nodes) must be identical.
fn verify(router: u16, direct: u16, rows: u64) -> Result<(), String> {
    let mut checks: Vec<String> = vec![COUNT_SQL.into(), TOPK_SQL.into()];
    for id in [1, 2, rows / 2, rows / 2 + 1, rows - 1, rows] {
        checks.push(format!("SELECT c FROM sbtest1 WHERE id={id}"));
    }
    checks.push(format!(
        "SELECT id, k, c, pad FROM sbtest1 WHERE id IN (3, 4, {}, {rows}) ORDER BY id",
        rows / 3
    ));
    checks.push("SELECT SUM(k), MIN(id), MAX(id) FROM sbtest1".into());
    for sql in &checks {
        let d = query(direct, sql).map_err(|e| format!("direct: {sql}: {e}"))?;
        let r = query(router, sql).map_err(|e| format!("router: {sql}: {e}"))?;
        if d.is_empty() {
            return Err(format!("direct answered nothing to {sql}"));
        }
        if d != r {
            return Err(format!(
                "router and direct differ on {sql}:\n  direct: {d:?}\n  router: {r:?}"
            ));
        }
    }
    let count = query(direct, COUNT_SQL)?;
    let topk = query(direct, TOPK_SQL)?;
    eprintln!(
        "  {} statements answered identically (COUNT(*) = {count}; top k,id: {})",
        checks.len(),
        topk.lines()
            .take(3)
            .map(|l| l.replace('\t', "/"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// The result of one target and workload over all rounds.
enum Summary {
    Ok {
        qps: f64,
        p95_ms: f64,
        reconnects: u64,
        cpu: Option<f64>,
        net_cpu: Option<f64>,
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
    let cpu: Vec<f64> = ok.iter().filter_map(|s| s.cpu_s_per_kq).collect();
    let net: Vec<f64> = ok.iter().filter_map(|s| s.net_cpu_s_per_kq).collect();
    Summary::Ok {
        qps: median(ok.iter().map(|s| s.qps).collect()),
        p95_ms: median(ok.iter().map(|s| s.p95_ms).collect()),
        reconnects: ok.iter().map(|s| s.reconnects).sum(),
        cpu: (!cpu.is_empty()).then(|| median(cpu)),
        net_cpu: (!net.is_empty()).then(|| median(net)),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("sharding bench: {e}");
            ExitCode::FAILURE
        }
    }
}

const TARGETS: [&str; 2] = ["direct", "router"];

/// The whole benchmark; every process it starts is owned here and killed when it
/// returns (or unwinds). Ok(false): the router failed a workload.
fn run() -> Result<bool, String> {
    let secs = env_u64("TANDEM_BENCH_SECS", 20);
    let rounds = env_u64("TANDEM_BENCH_ROUNDS", 3) as usize;
    let rows = env_u64("TANDEM_BENCH_ROWS", 100_000).max(8);
    let load_rows = env_u64("TANDEM_BENCH_LOAD_ROWS", 500_000).max(2);
    let only_load = std::env::var("TANDEM_BENCH_ONLY").is_ok_and(|v| v == "load");
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let scripts = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;

    eprintln!("== MariaDB A and B");
    let opts = [
        "--innodb-buffer-pool-size=256M",
        "--innodb-log-file-size=64M",
        "--max-connections=1000",
        "--max-prepared-stmt-count=100000",
    ];
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| MariaDb::start_with(&opts));
        let b = s.spawn(|| MariaDb::start_with(&opts));
        (a.join(), b.join())
    });
    let (a, b) = (
        a.map_err(|_| "MariaDB A did not start")?,
        b.map_err(|_| "MariaDB B did not start")?,
    );
    a.sql(&format!(
        "CREATE DATABASE {DB}; CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'; \
         GRANT ALL PRIVILEGES ON {DB}.* TO '{USER}'@'127.0.0.1'"
    ));
    let mariadb_version = a.sql("SELECT VERSION()");

    eprintln!("== sysbench oltp_point_select prepare on A ({DB}.sbtest1, {rows} rows)");
    let mut prep = Command::new("sysbench");
    prep.arg("oltp_point_select");
    sysbench_conn_args(&mut prep, a.port);
    prep.args(["--tables=1", "--threads=1"])
        .arg(format!("--table-size={rows}"))
        .arg("prepare");
    let out = run_bounded(prep, Duration::from_secs(600))
        .map_err(|e| format!("{e} (apt-get install sysbench)"))?;
    if !out.status.success() {
        return Err(format!(
            "sysbench prepare: {}{}",
            out.status,
            tail(&format!("{}{}", out.stdout, out.stderr), 5)
        ));
    }

    eprintln!("== shards: even ids -> A sb_0, odd ids -> B sb_1");
    let t = Instant::now();
    load_nodes(&a, &b, rows)?;
    eprintln!("  loaded in {:.1} s", t.elapsed().as_secs_f64());

    eprintln!("== tandem router ({})", tandem_bin().display());
    let router = start_router(a.port, b.port);
    let mut router_err: Option<String> = None;
    match &router {
        Ok(_) => eprintln!("  router accepts logins"),
        Err(e) => {
            eprintln!("  router failed: {e}");
            router_err = Some(e.clone());
        }
    }

    // A wrong answer is reported (and fails the bench) but does not stop the timing.
    let mut verify_err: Option<String> = None;
    if let Ok(r) = &router {
        eprintln!("== answers: router vs direct");
        if let Err(e) = verify(r.port, a.port, rows) {
            eprintln!("  MISMATCH: {e}");
            verify_err = Some(e);
        }
    }

    let mut load_result: Option<Result<LoadSummary, String>> = None;
    if let (Ok(r), None) = (&router, &router_err) {
        load_result = Some(load_phase(&a, &b, r, load_rows, rounds, scripts.path()));
        if only_load {
            drop(router);
            drop(b);
            drop(a);
            return Ok(print_load(load_rows, rounds, load_result));
        }
    }

    let mut workloads = vec![
        Workload::PointSelect { ps: false },
        Workload::Script {
            name: "count",
            sql: COUNT_SQL,
        },
        Workload::Script {
            name: "order_limit",
            sql: TOPK_SQL,
        },
    ];
    for w in &workloads {
        if let Workload::Script { name, sql } = w {
            let path = scripts.path().join(format!("{name}.lua"));
            std::fs::write(&path, lua_script(sql))
                .map_err(|e| format!("write {}: {e}", path.display()))?;
        }
    }
    let point = workloads[0];

    // Warm-up (buffer pools, the router's pools); the PS probe decides whether PS runs.
    let mut ps_note = String::new();
    let warm = WARMUP_SECS.min(secs);
    eprintln!("== warm-up: direct ({}, {warm} s)", point.name());
    sysbench_run(point, a.port, warm, rows, scripts.path(), None)
        .map_err(|e| format!("direct warm-up: {e}"))?;
    if let (Ok(r), None) = (&router, &router_err) {
        eprintln!("== warm-up: router ({}, {warm} s)", point.name());
        if let Err(e) = sysbench_run(point, r.port, warm, rows, scripts.path(), None) {
            eprintln!("  router failed in the warm-up: {e}");
            router_err = Some(format!("warm-up: {e}"));
        }
        let ps = Workload::PointSelect { ps: true };
        eprintln!("== probe: router ({}, {warm} s)", ps.name());
        match sysbench_run(ps, r.port, warm, rows, scripts.path(), None) {
            Ok(s) => {
                eprintln!("  router accepts prepared statements ({:.0} qps)", s.qps);
                workloads.insert(1, ps);
            }
            Err(e) => {
                eprintln!("  router fails with prepared statements: {e}");
                ps_note = format!("point_select with --db-ps-mode=auto through the router: {e}");
            }
        }
    }

    // The router's own CPU use with no clients, subtracted in the "net" CPU figure.
    let mut idle_rate = 0.0;
    if let (Ok(r), None) = (&router, &router_err) {
        idle_rate = idle_cpu_rate(r.daemon.child.id(), Duration::from_secs(WARMUP_SECS));
        eprintln!("== tandem idle CPU: {:.2} ms/s", idle_rate / 1000.0);
    }

    // results[workload][target] = one entry per round.
    let mut results: Vec<Vec<Vec<Result<Sample, String>>>> =
        vec![vec![Vec::new(); TARGETS.len()]; workloads.len()];
    for round in 0..rounds {
        for (w, workload) in workloads.iter().enumerate() {
            for k in 0..TARGETS.len() {
                let i = (k + round) % TARGETS.len();
                let (port, pid) = if i == 0 {
                    (a.port, None)
                } else {
                    match (&router, &router_err) {
                        (Ok(r), None) => (r.port, Some((r.daemon.child.id(), idle_rate))),
                        _ => continue,
                    }
                };
                eprintln!(
                    "== round {}/{rounds}: {} via {} ({secs} s, {} threads)",
                    round + 1,
                    workload.name(),
                    TARGETS[i],
                    workload.threads()
                );
                let r = sysbench_run(*workload, port, secs, rows, scripts.path(), pid);
                match &r {
                    Ok(s) => eprintln!(
                        "  {:.0} qps, p95 {:.2} ms, {} reconnects, load {:.2}{}",
                        s.qps,
                        s.p95_ms,
                        s.reconnects,
                        s.load,
                        s.cpu_s_per_kq
                            .map_or(String::new(), |c| format!(", tandem CPU {c:.4} s/1000 q"))
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

    let summaries: Vec<[Summary; 2]> = results
        .iter()
        .map(|per| {
            let router = match &router_err {
                Some(e) => Summary::Failed(e.clone()),
                None => summarize(&per[1]),
            };
            [summarize(&per[0]), router]
        })
        .collect();

    println!(
        "sharding router vs one direct MariaDB node: sbtest1 with {rows} rows; router: \
         mod-long(2) on id over A sb_0 + B sb_1; {secs} s per run, {rounds} round(s)"
    );
    println!(
        "{cpus} CPUs, nothing pinned; MariaDB {mariadb_version} x2; {}; point_select {POINT_THREADS} \
         threads, scatter {SCATTER_THREADS} threads",
        version("sysbench", "--version")
    );
    let loads: Vec<f64> = results
        .iter()
        .flatten()
        .flatten()
        .filter_map(|r| r.as_ref().ok().map(|s| s.load))
        .collect();
    println!(
        "1-min load average at the start of the runs: {:.2}..{:.2}; tandem idle CPU {:.2} ms/s",
        loads.iter().copied().fold(f64::INFINITY, f64::min),
        loads.iter().copied().fold(0.0, f64::max),
        idle_rate / 1000.0
    );
    println!("per round (QPS, p95 ms):");
    for (w, workload) in workloads.iter().enumerate() {
        for (i, t) in TARGETS.iter().enumerate() {
            let runs: Vec<String> = results[w][i]
                .iter()
                .map(|r| match r {
                    Ok(s) => format!("{:.0} / {:.2}", s.qps, s.p95_ms),
                    Err(_) => "failed".into(),
                })
                .collect();
            println!("  {:<22} {:<7} {}", workload.name(), t, runs.join("  |  "));
        }
    }
    println!("medians:");
    println!(
        "| {:<22} | {:>10} | {:>10} | {:>14} | {:>13} | {:>13} | {:>20} | {:>9} |",
        "workload",
        "direct qps",
        "router qps",
        "router/direct",
        "direct p95 ms",
        "router p95 ms",
        "tandem CPU s/1000 q",
        "net idle"
    );
    let mut all_ok = true;
    for (w, workload) in workloads.iter().enumerate() {
        let [d, r] = &summaries[w];
        let (dq, dp) = match d {
            Summary::Ok { qps, p95_ms, .. } => (format!("{qps:.0}"), format!("{p95_ms:.2}")),
            Summary::Failed(_) => ("failed".into(), "-".into()),
        };
        let (rq, rp, ratio, cpu, net) = match r {
            Summary::Ok {
                qps,
                p95_ms,
                cpu,
                net_cpu,
                ..
            } => (
                format!("{qps:.0}"),
                format!("{p95_ms:.2}"),
                match d {
                    Summary::Ok { qps: dq, .. } if *dq > 0.0 => format!("{:.2}", qps / dq),
                    _ => "-".into(),
                },
                cpu.map_or("-".into(), |c| format!("{c:.4}")),
                net_cpu.map_or("-".into(), |c| format!("{c:.4}")),
            ),
            Summary::Failed(_) => (
                "failed".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ),
        };
        println!(
            "| {:<22} | {dq:>10} | {rq:>10} | {ratio:>14} | {dp:>13} | {rp:>13} | {cpu:>20} | {net:>9} |",
            workload.name()
        );
    }
    for (w, workload) in workloads.iter().enumerate() {
        for (i, s) in summaries[w].iter().enumerate() {
            match s {
                Summary::Failed(e) => {
                    all_ok = false;
                    println!(
                        "{} {}: {} failed: {e}",
                        workload.name(),
                        TARGETS[i],
                        TARGETS[i]
                    );
                }
                Summary::Ok { reconnects, .. } if *reconnects > 0 => {
                    println!(
                        "{} {}: {reconnects} reconnects",
                        workload.name(),
                        TARGETS[i]
                    );
                }
                Summary::Ok { .. } => {}
            }
        }
    }
    if !ps_note.is_empty() {
        println!("not measured: {ps_note}");
    }
    match &verify_err {
        Some(e) => {
            all_ok = false;
            println!("ANSWERS DIFFER: {e}");
        }
        None if router_err.is_none() => println!(
            "answers: router = direct for COUNT(*), ORDER BY k DESC, id LIMIT 10, SUM/MIN/MAX \
             and point selects on both nodes"
        ),
        None => {}
    }
    println!(
        "(p95: latency of one query; tandem CPU: the router process's user + system time per \
         1000 queries, = ms per query; net idle: the same less its idle CPU rate over the run; \
         text = --db-ps-mode=disable, PS = --db-ps-mode=auto)"
    );
    all_ok &= print_load(load_rows, rounds, load_result);
    drop(router);
    drop(b);
    drop(a);
    Ok(all_ok)
}

/// Medians of the LOAD DATA workload, per target of [`LOAD_TARGETS`].
struct LoadSummary {
    secs: [f64; 3],
    /// The router's CPU time per 1000 rows, in milliseconds (targets 1 and 2).
    router_cpu_ms: [f64; 3],
    per_round: Vec<[f64; 3]>,
}

const LOAD_TARGETS: [&str; 3] = ["direct", "router, one node", "router, sharded"];

/// The CSV the LOAD DATA workload reads: `id,k,"c",pad` lines.
fn write_csv(path: &Path, rows: u64) -> Result<(), String> {
    use std::io::Write;
    let f = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    for id in 1..=rows {
        let k = id.wrapping_mul(2_654_435_761) % 1_000_000;
        writeln!(
            w,
            "{id},{k},\"{:016x}-{:016x}, with a comma\",pad-{:08}",
            id.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            k.wrapping_mul(0xc2b2_ae3d_27d4_eb4f),
            id % 100_000_000
        )
        .map_err(|e| format!("write {}: {e}", path.display()))?;
    }
    w.flush()
        .map_err(|e| format!("write {}: {e}", path.display()))
}

/// `LOAD DATA LOCAL INFILE` of the same file direct into A, through the router into
/// `ld1` (not listed: on dn0 = A, the file passed through) and into `ld` (sharded over A
/// and B, split row by row), `rounds` times, the order rotating.
fn load_phase(
    a: &MariaDb,
    b: &MariaDb,
    router: &Router,
    rows: u64,
    rounds: usize,
    dir: &Path,
) -> Result<LoadSummary, String> {
    const DDL: &str = "CREATE TABLE {t} (id INT NOT NULL PRIMARY KEY, k INT NOT NULL, \
         c VARCHAR(80) NOT NULL, pad CHAR(12) NOT NULL) ENGINE=InnoDB";
    a.sql(&DDL.replace("{t}", &format!("{DB}.ld")));
    a.sql(&DDL.replace("{t}", "sb_0.ld"));
    a.sql(&DDL.replace("{t}", "sb_0.ld1"));
    b.sql(&DDL.replace("{t}", "sb_1.ld"));
    let csv = dir.join("ld.csv");
    write_csv(&csv, rows)?;
    let size = std::fs::metadata(&csv).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "== LOAD DATA LOCAL: {rows} rows, {:.1} MB",
        size as f64 / 1e6
    );
    let load = |table: &str| {
        format!(
            "LOAD DATA LOCAL INFILE '{}' INTO TABLE {table} FIELDS TERMINATED BY ',' \
             OPTIONALLY ENCLOSED BY '\"'",
            csv.display()
        )
    };
    let count = |db: &MariaDb, t: &str| {
        db.sql(&format!(
            "SELECT COUNT(*), COALESCE(SUM(id % 2), 0) FROM {t}"
        ))
    };
    let mut secs: [Vec<f64>; 3] = Default::default();
    let mut cpu: [Vec<f64>; 3] = Default::default();
    let mut per_round = Vec::new();
    let pid = router.daemon.child.id();
    for round in 0..rounds {
        let mut times = [0.0; 3];
        for k in 0..LOAD_TARGETS.len() {
            let i = (k + round) % LOAD_TARGETS.len();
            let (port, table) = match i {
                0 => {
                    a.sql(&format!("TRUNCATE TABLE {DB}.ld"));
                    (a.port, "ld")
                }
                1 => {
                    a.sql("TRUNCATE TABLE sb_0.ld1");
                    (router.port, "ld1")
                }
                _ => {
                    a.sql("TRUNCATE TABLE sb_0.ld");
                    b.sql("TRUNCATE TABLE sb_1.ld");
                    (router.port, "ld")
                }
            };
            let cpu0 = cpu_us(pid);
            let mut cmd = client(port, USER, PASSWORD, Some(DB));
            cmd.args(["--local-infile=1", "-e", &load(table)]);
            let t = Instant::now();
            let out = run_bounded(cmd, Duration::from_secs(900))?;
            let took = t.elapsed().as_secs_f64();
            let used_ms_per_k = cpu_us(pid).saturating_sub(cpu0) as f64 / rows as f64;
            if !out.status.success() {
                return Err(format!(
                    "LOAD DATA via {}: {}{}",
                    LOAD_TARGETS[i],
                    out.status,
                    tail(&format!("{}{}", out.stderr, out.stdout), 5)
                ));
            }
            let odd = rows.div_ceil(2);
            let (got, want) = match i {
                0 => (count(a, &format!("{DB}.ld")), format!("{rows}\t{odd}")),
                1 => (count(a, "sb_0.ld1"), format!("{rows}\t{odd}")),
                _ => (
                    format!("{} / {}", count(a, "sb_0.ld"), count(b, "sb_1.ld")),
                    format!("{}\t0 / {odd}\t{odd}", rows / 2),
                ),
            };
            if got.trim() != want {
                return Err(format!(
                    "{}: (rows, odd ids) loaded {got:?}, want {want:?}",
                    LOAD_TARGETS[i]
                ));
            }
            secs[i].push(took);
            cpu[i].push(used_ms_per_k);
            times[i] = took;
            eprintln!(
                "  round {}/{rounds} via {}: {took:.2} s, {:.0} rows/s, tandem CPU {used_ms_per_k:.2} ms / 1000 rows",
                round + 1,
                LOAD_TARGETS[i],
                rows as f64 / took,
            );
        }
        per_round.push(times);
    }
    let [s0, s1, s2] = secs.map(median);
    let [c0, c1, c2] = cpu.map(median);
    Ok(LoadSummary {
        secs: [s0, s1, s2],
        router_cpu_ms: [c0, c1, c2],
        per_round,
    })
}

/// Prints the LOAD DATA figures; false when the workload failed.
fn print_load(rows: u64, rounds: usize, r: Option<Result<LoadSummary, String>>) -> bool {
    match r {
        None => true,
        Some(Err(e)) => {
            println!("load_data: router failed: {e}");
            false
        }
        Some(Ok(s)) => {
            println!(
                "LOAD DATA LOCAL INFILE, {rows} rows (mariadb --local-infile=1), {rounds} round(s): \
                 direct into A; the router into `ld1` on A (passed through) and into `ld` sharded \
                 by id over A and B"
            );
            let rounds: Vec<String> = s
                .per_round
                .iter()
                .map(|t| format!("{:.2} / {:.2} / {:.2}", t[0], t[1], t[2]))
                .collect();
            println!(
                "  per round, seconds (direct / router one node / router sharded): {}",
                rounds.join("  |  ")
            );
            println!(
                "| target | seconds | rows/s | rows/s vs direct | tandem CPU ms / 1000 rows |"
            );
            for (i, t) in LOAD_TARGETS.iter().enumerate() {
                println!(
                    "| {t} | {:.2} | {:.0} | {:.2} | {} |",
                    s.secs[i],
                    rows as f64 / s.secs[i],
                    s.secs[0] / s.secs[i],
                    if i == 0 {
                        "-".to_string()
                    } else {
                        format!("{:.2}", s.router_cpu_ms[i])
                    }
                );
            }
            true
        }
    }
}
