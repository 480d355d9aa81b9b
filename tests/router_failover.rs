//! Write-host failover drills under load: a real primary → replica pair (GTID
//! replication) behind the router as MyCat's two-writeHost data host, eight clients
//! writing through the router and keeping a ledger of every write and what the router
//! answered, the primary killed (SIGKILL), hung (SIGSTOP) or shut down cleanly in the
//! middle, then every ledger entry checked against what the servers hold.
//!
//! Counts that depend on timing (writes lost to replication lag, client errors) are
//! printed, not asserted; the invariants are: no client waits past a bound, every write
//! acknowledged after the switch is on the new write host, every acknowledged write is
//! on one of the servers (on the new one with semi-synchronous replication), no
//! transaction is half applied, a transaction whose COMMIT was never sent is applied
//! nowhere, the router does not switch back and writes nothing to the old primary.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::mariadb::{MariaDb, mariadb_client_pw};
use common::replication::ReplicaPair;
use common::router::{RouterDaemon, db_host_yaml, start_router_config};
use common::wait_for;
use common::wire::Conn;

/// Client threads.
const CLIENTS: usize = 8;
/// Operations per client at most (the load is also bounded in time: [`LOAD_LIMIT`]).
const MAX_OPS: usize = 3000;
/// The load stops after this long whatever happens.
const LOAD_LIMIT: Duration = Duration::from_secs(40);
/// A statement without an answer for this long is a hang (a bound, not a timing
/// assertion: failover here takes a second or two).
const STMT_BOUND: Duration = Duration::from_secs(20);
/// Acknowledged writes before the fault, and after the switch before the load stops.
const BEFORE: usize = 160;
const AFTER: usize = 160;

/// The router's code for a backend connection lost (outcome unknown).
const BACKEND_LOST: u16 = 1158;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// SIGKILL: a crash.
    Kill,
    /// SIGSTOP: a hung server (TCP still accepted, nothing answered); SIGCONT later.
    Hang,
    /// SIGTERM: a clean shutdown.
    Shutdown,
}

#[derive(Clone, Debug)]
enum Outcome {
    Acked,
    /// The router answered with an error that says the statement was not run (or
    /// the transaction rolled back).
    Refused(u16, String),
    /// The connection broke or the router said the backend connection was lost: the
    /// write may or may not have happened.
    Unknown(u16, String),
}

/// One write: an autocommit INSERT (one row) or a transaction (two rows and an UPDATE
/// of the first).
#[derive(Clone, Debug)]
struct Op {
    id: i64,
    txn: bool,
    /// The statement that failed ("insert", "begin", "insert 2", "update", "commit").
    stage: &'static str,
    started: Instant,
    ended: Instant,
    outcome: Outcome,
    /// Started after the main thread saw the switch in the router's log.
    after_switch: bool,
}

impl Op {
    fn ids(&self) -> Vec<i64> {
        if self.txn {
            vec![self.id, self.id + 1]
        } else {
            vec![self.id]
        }
    }
}

struct Load {
    stop: AtomicBool,
    switched: AtomicBool,
    acked: AtomicUsize,
    acked_after_switch: AtomicUsize,
}

type Clients = Vec<std::thread::JoinHandle<(Vec<Op>, usize)>>;

/// `CLIENTS` writer threads through the router at `addr`, until `stop` or `LOAD_LIMIT`.
fn start_load(addr: SocketAddr) -> (Arc<Load>, Clients) {
    let load = Arc::new(Load {
        stop: AtomicBool::new(false),
        switched: AtomicBool::new(false),
        acked: AtomicUsize::new(0),
        acked_after_switch: AtomicUsize::new(0),
    });
    let deadline = Instant::now() + LOAD_LIMIT;
    let threads = (0..CLIENTS)
        .map(|t| {
            let load = load.clone();
            std::thread::spawn(move || client(t, addr, &load, deadline))
        })
        .collect();
    (load, threads)
}

fn classify(e: &common::wire::Err) -> Outcome {
    if e.code == 0 || e.code == BACKEND_LOST {
        Outcome::Unknown(e.code, e.msg.clone())
    } else {
        Outcome::Refused(e.code, e.msg.clone())
    }
}

/// One client: a connection through the router, a bounded loop of writes; after an
/// error it closes its connection (the router must roll back what it held) and opens a
/// new one.
fn client(t: usize, addr: SocketAddr, load: &Load, deadline: Instant) -> (Vec<Op>, usize) {
    let mut ops = Vec::new();
    let mut connect_errors = 0;
    let mut conn: Option<Conn> = None;
    for i in 0..MAX_OPS {
        if load.stop.load(Ordering::Acquire) || Instant::now() > deadline {
            break;
        }
        if conn.is_none() {
            match Conn::connect(addr, "u", "pw", Some("shop")) {
                Ok(c) => {
                    if c.set_read_timeout(STMT_BOUND).is_err() {
                        connect_errors += 1;
                        continue;
                    }
                    conn = Some(c);
                }
                Err(_) => {
                    connect_errors += 1;
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let id = (t as i64 + 1) * 1_000_000 + i as i64 * 2;
        let txn = i % 4 == 3;
        let after_switch = load.switched.load(Ordering::Acquire);
        let started = Instant::now();
        let r = if txn {
            transaction(c, id)
        } else {
            c.exec(&format!(
                "INSERT INTO ledger (id, thread, txn) VALUES ({id}, {t}, NULL)"
            ))
            .map(|_| ())
            .map_err(|e| ("insert", e))
        };
        let ended = Instant::now();
        let (stage, outcome) = match r {
            Ok(()) => {
                load.acked.fetch_add(1, Ordering::AcqRel);
                if after_switch {
                    load.acked_after_switch.fetch_add(1, Ordering::AcqRel);
                }
                ("", Outcome::Acked)
            }
            Err((stage, e)) => {
                conn = None;
                (stage, classify(&e))
            }
        };
        let failed = !matches!(outcome, Outcome::Acked);
        ops.push(Op {
            id,
            txn,
            stage,
            started,
            ended,
            outcome,
            after_switch,
        });
        if failed {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    (ops, connect_errors)
}

fn transaction(c: &mut Conn, id: i64) -> Result<(), (&'static str, common::wire::Err)> {
    let steps: [(&'static str, String); 5] = [
        ("begin", "BEGIN".into()),
        (
            "insert 1",
            format!("INSERT INTO ledger (id, thread, txn) VALUES ({id}, 0, {id})"),
        ),
        (
            "insert 2",
            format!(
                "INSERT INTO ledger (id, thread, txn) VALUES ({}, 0, {id})",
                id + 1
            ),
        ),
        (
            "update",
            format!("UPDATE ledger SET v = v + 1 WHERE id = {id}"),
        ),
        ("commit", "COMMIT".into()),
    ];
    for (stage, sql) in steps {
        c.exec(&sql).map_err(|e| (stage, e))?;
    }
    Ok(())
}

/// The ledger table's rows on a server: id → (txn, v).
fn rows(db: &MariaDb) -> HashMap<i64, (Option<i64>, i64)> {
    let out = db.sql("SELECT id, IFNULL(txn, -1), v FROM shopdb.ledger");
    out.lines()
        .filter_map(|l| {
            let mut f = l.split('\t').map(|x| x.parse::<i64>().ok());
            let (id, txn, v) = (f.next()??, f.next()??, f.next()??);
            Some((id, ((txn >= 0).then_some(txn), v)))
        })
        .collect()
}

/// Waits until the replica has applied everything it received (its IO thread may be
/// down: the primary is).
fn wait_relay_applied(pair: &ReplicaPair) {
    let ok = wait_for(Duration::from_secs(30), || {
        let s = pair.slave_status();
        let g = |k: &str| s.get(k).cloned().unwrap_or_default();
        (g("Slave_SQL_Running") == "Yes"
            && g("Master_Log_File") == g("Relay_Master_Log_File")
            && g("Read_Master_Log_Pos") == g("Exec_Master_Log_Pos"))
        .then_some(())
    });
    assert!(
        ok.is_some(),
        "the replica did not apply its relay log: {:?}",
        pair.slave_status()
    );
}

fn signal(db: &MariaDb, sig: nix::sys::signal::Signal) {
    if let Some(pid) = db.pid() {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig);
    }
}

/// Continues a SIGSTOPped server when the test ends (pass or fail), so that its Drop
/// (SIGKILL + wait) does not leave a stopped process behind.
struct Continue(Option<u32>);

impl Drop for Continue {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGCONT,
            );
        }
    }
}

fn admin(r: &RouterDaemon, stmt: &str) -> String {
    mariadb_client_pw(r.admin, "root", "adm", None, stmt)
        .unwrap_or_else(|e| panic!("admin {stmt}: {e}\n{}", r.logs()))
}

#[derive(Clone, Copy)]
struct Drill {
    fault: Fault,
    switch_type: i8,
    semi_sync: bool,
    /// The replica stops fetching (`STOP SLAVE IO_THREAD`) a little before the fault:
    /// the writes acknowledged meanwhile are on the primary only.
    lag: bool,
}

/// What a drill measured.
#[derive(Debug, Default)]
struct Figures {
    acked: usize,
    client_errors: usize,
    unknown: usize,
    connect_errors: usize,
    lost_to_lag: usize,
    first_ack_after_fault: Option<Duration>,
}

/// The ledger table every drill writes to.
const LEDGER_DDL: &str = "CREATE DATABASE shopdb; CREATE TABLE shopdb.ledger (id BIGINT \
    PRIMARY KEY, thread INT NOT NULL, txn BIGINT NULL, v INT NOT NULL DEFAULT 0) ENGINE=InnoDB";

/// A primary/replica pair with the ledger table (and `extra` statements, if any) on
/// both.
fn ledger_pair(extra: &str) -> ReplicaPair {
    let pair = ReplicaPair::start();
    pair.primary.sql(LEDGER_DDL);
    if !extra.is_empty() {
        pair.primary.sql(extra);
    }
    pair.wait_caught_up();
    pair
}

fn drill(d: Drill) -> Figures {
    let mut pair = ReplicaPair::start();
    if d.semi_sync {
        // Turned on once the replica is connected: a primary with it on from the start
        // makes the harness's own first commits wait out the timeout (no replica yet).
        pair.primary.sql(
            "SET GLOBAL rpl_semi_sync_master_timeout = 60000; \
             SET GLOBAL rpl_semi_sync_master_enabled = ON",
        );
        pair.replica.sql(
            "SET GLOBAL rpl_semi_sync_slave_enabled = ON; \
             STOP SLAVE IO_THREAD; START SLAVE IO_THREAD",
        );
        pair.wait_threads("Yes", "Yes");
    }
    pair.primary.sql(LEDGER_DDL);
    pair.wait_caught_up();
    if d.semi_sync {
        let on = wait_for(Duration::from_secs(20), || {
            let st = pair.primary.sql(
                "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS \
                 WHERE VARIABLE_NAME = 'RPL_SEMI_SYNC_MASTER_CLIENTS'",
            );
            (st == "1").then_some(())
        });
        assert!(
            on.is_some(),
            "the replica did not connect as a semi-synchronous one"
        );
    }
    let body = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n    - {{ name: root, password: adm, admin: true }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      switch_type: {}\n      max_retry: 2\n      heartbeat_interval: 300ms\n      borrow_timeout: 3s\n      min_con: 2\n      max_con: 40\n      write_hosts:\n        - {}\n        - {}\n",
        d.switch_type,
        db_host_yaml("M1", &pair.primary),
        db_host_yaml("M2", &pair.replica),
    );
    let r = start_router_config(&body);

    let (load, threads) = start_load(r.addr);
    let stop_load = |threads: Clients| {
        load.stop.store(true, Ordering::Release);
        let mut ops = Vec::new();
        let mut connect_errors = 0;
        for t in threads {
            let (o, c) = t.join().expect("client thread");
            ops.extend(o);
            connect_errors += c;
        }
        (ops, connect_errors)
    };

    let warm = wait_for(Duration::from_secs(30), || {
        (load.acked.load(Ordering::Acquire) >= BEFORE).then_some(())
    });
    if warm.is_none() {
        let (ops, _) = stop_load(threads);
        let errs: Vec<_> = ops
            .iter()
            .filter(|o| !matches!(o.outcome, Outcome::Acked))
            .take(5)
            .collect();
        panic!("the load did not get going: {errs:?}\n{}", r.logs());
    }
    // A transaction open (idle between statements) when the primary fails.
    const OPEN_TXN: i64 = 800_000_000;
    let mut open = Conn::connect(r.addr, "u", "pw", Some("shop"))
        .unwrap_or_else(|e| panic!("connect: {e}\n{}", r.logs()));
    for sql in [
        "BEGIN".to_string(),
        format!("INSERT INTO ledger (id, thread, txn) VALUES ({OPEN_TXN}, 0, {OPEN_TXN})"),
    ] {
        open.exec(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", r.logs()));
    }
    if d.lag {
        pair.replica.sql("STOP SLAVE IO_THREAD");
        pair.wait_threads("No", "Yes");
        let at = load.acked.load(Ordering::Acquire);
        let more = wait_for(Duration::from_secs(30), || {
            (load.acked.load(Ordering::Acquire) >= at + 40).then_some(())
        });
        assert!(more.is_some(), "the load stalled: {}", r.logs());
    }
    if d.semi_sync {
        // Every commit so far waited for the replica (none fell back to asynchronous).
        let st = pair.primary.sql(
            "SELECT GROUP_CONCAT(VARIABLE_VALUE ORDER BY VARIABLE_NAME) FROM \
             information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN \
             ('RPL_SEMI_SYNC_MASTER_STATUS', 'RPL_SEMI_SYNC_MASTER_NO_TX')",
        );
        assert_eq!(st, "0,ON", "semi-synchronous replication (no_tx, status)");
    }
    // Writes acknowledged before the fault are on the primary; how many reached the
    // replica depends on the lag at that moment.
    let guard = (d.fault == Fault::Hang).then(|| Continue(pair.primary.pid()));
    let fault_at = Instant::now();
    match d.fault {
        Fault::Kill => pair.primary.kill(),
        Fault::Hang => signal(&pair.primary, nix::sys::signal::Signal::SIGSTOP),
        Fault::Shutdown => signal(&pair.primary, nix::sys::signal::Signal::SIGTERM),
    }
    let switched = wait_for(Duration::from_secs(30), || {
        r.logs()
            .contains("write host switched from M1 to M2")
            .then_some(())
    });
    load.switched.store(true, Ordering::Release);
    let switch_seen = Instant::now();
    if switched.is_none() {
        let _ = stop_load(threads);
        panic!("the router did not switch to M2: {}", r.logs());
    }
    // The open transaction goes on after the switch: its statement ends with an error
    // (its connection was on M1), and a COMMIT sent anyway commits nothing of it.
    let next = open.exec(&format!(
        "INSERT INTO ledger (id, thread, txn) VALUES ({}, 0, {OPEN_TXN})",
        OPEN_TXN + 1
    ));
    let commit = open.exec("COMMIT");
    let enough = wait_for(Duration::from_secs(30), || {
        (load.acked_after_switch.load(Ordering::Acquire) >= AFTER).then_some(())
    });
    let (ops, connect_errors) = stop_load(threads);
    let failures: Vec<&Op> = ops
        .iter()
        .filter(|o| !matches!(o.outcome, Outcome::Acked))
        .collect();
    assert!(
        enough.is_some(),
        "writes did not resume on M2 after the switch: {} acknowledged; errors: {:?}\n{}",
        load.acked_after_switch.load(Ordering::Acquire),
        failures.iter().rev().take(5).collect::<Vec<_>>(),
        r.logs()
    );

    // No client waited past the bound: each statement ended with a result or an error
    // of its own, none with the client giving up.
    let hung: Vec<&&Op> = failures
        .iter()
        .filter(|o| {
            matches!(&o.outcome, Outcome::Unknown(0, m)
                if m.contains("timed out") || m.contains("temporarily unavailable"))
        })
        .collect();
    assert!(hung.is_empty(), "statements hung: {hung:?}\n{}", r.logs());
    // After the switch (seen in the log) every statement succeeds.
    let bad_after: Vec<&&Op> = failures.iter().filter(|o| o.after_switch).collect();
    assert!(
        bad_after.is_empty(),
        "statements started after the switch failed: {bad_after:?}\n{}",
        r.logs()
    );

    // What the operator sees: the log lines, the admin port, the metrics.
    let logs = r.logs();
    assert!(logs.contains("host M1 is DOWN"), "{logs}");
    let datanode = admin(&r, "show @@datanode");
    assert!(
        datanode
            .lines()
            .any(|l| l.starts_with("dn1\tdh1/shopdb\t1\t")),
        "show @@datanode does not give index 1: {datanode}"
    );
    let heartbeat = admin(&r, "show @@heartbeat");
    assert!(
        heartbeat
            .lines()
            .any(|l| l.starts_with("M1\t") && l.contains("\t-1\t")),
        "show @@heartbeat does not show M1 failing: {heartbeat}"
    );
    // The gauges are refreshed at scrape time: one scrape shows the switch.
    let want = [
        "tandem_router_write_host_switches_total{data_host=\"dh1\"} 1",
        "tandem_router_active_write_host_index{data_host=\"dh1\"} 1",
        "tandem_router_host_up{data_host=\"dh1\",host=\"M1\"} 0",
        "tandem_router_host_up{data_host=\"dh1\",host=\"M2\"} 1",
    ];
    let m = common::http_get(r.observe, "/metrics")
        .map(|m| m.1)
        .unwrap_or_else(|e| panic!("metrics: {e}"));
    assert!(
        want.iter().all(|w| m.contains(w)),
        "{m}\n{}",
        r.logs()
            .lines()
            .filter(|l| !l.contains("INFO"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let errors: Vec<&str> = m
        .lines()
        .filter(|l| l.starts_with("tandem_router_errors_total"))
        .collect();

    // The ledger against the new write host, once it applied what it had received
    // (and before the old primary is back: the replica would fetch the rest from it).
    wait_relay_applied(&pair);
    let on_m2 = rows(&pair.replica);

    // The old primary comes back.
    drop(guard);
    match d.fault {
        Fault::Kill | Fault::Shutdown => pair.primary.restart(),
        Fault::Hang => {}
    }
    let up = wait_for(Duration::from_secs(30), || {
        r.logs().contains("host M1 is UP").then_some(())
    });
    assert!(up.is_some(), "M1 never came back: {}", r.logs());
    let on_m1 = rows(&pair.primary);
    let m1_pos = pair.primary.sql("SELECT @@gtid_binlog_pos");

    assert!(
        next.is_err(),
        "a statement of a transaction begun on M1 succeeded after the switch\n{}",
        r.logs()
    );
    for (name, set) in [("M2", &on_m2), ("M1", &on_m1)] {
        assert!(
            !set.contains_key(&OPEN_TXN) && !set.contains_key(&(OPEN_TXN + 1)),
            "the transaction open at the fault is on {name} (next {next:?}, commit {commit:?})"
        );
    }
    let mut figures = Figures {
        connect_errors,
        ..Default::default()
    };
    let mut problems = Vec::new();
    for o in &ops {
        let ids = o.ids();
        let count = |set: &HashMap<i64, (Option<i64>, i64)>| {
            ids.iter().filter(|i| set.contains_key(i)).count()
        };
        let (n2, n1) = (count(&on_m2), count(&on_m1));
        match &o.outcome {
            Outcome::Acked => {
                figures.acked += 1;
                if o.started > fault_at {
                    let t = o.ended.duration_since(fault_at);
                    figures.first_ack_after_fault =
                        Some(figures.first_ack_after_fault.map_or(t, |f| f.min(t)));
                }
                if n2 == ids.len() {
                    continue;
                }
                if o.started > switch_seen || o.ended > switch_seen {
                    problems.push(format!("acknowledged after the switch, not on M2: {o:?}"));
                } else if n1 == ids.len() {
                    figures.lost_to_lag += 1;
                } else {
                    problems.push(format!(
                        "acknowledged, on neither server: {o:?} (M2 {n2}, M1 {n1})"
                    ));
                }
            }
            Outcome::Refused(..) => {
                figures.client_errors += 1;
                if n1 + n2 > 0 {
                    problems.push(format!("refused, yet applied: {o:?} (M2 {n2}, M1 {n1})"));
                }
            }
            Outcome::Unknown(..) => {
                figures.client_errors += 1;
                figures.unknown += 1;
                if o.txn && o.stage != "commit" && n1 + n2 > 0 {
                    problems.push(format!(
                        "transaction whose COMMIT was never sent is applied: {o:?} (M2 {n2}, M1 {n1})"
                    ));
                }
            }
        }
    }
    // No transaction half applied, on either server.
    for (name, set) in [("M2", &on_m2), ("M1", &on_m1)] {
        let mut by_txn: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
        for (id, (txn, v)) in set {
            if let Some(t) = txn {
                by_txn.entry(*t).or_default().push((*id, *v));
            }
        }
        for (t, mut rows) in by_txn {
            rows.sort();
            if rows != [(t, 1), (t + 1, 0)] {
                problems.push(format!("transaction {t} half applied on {name}: {rows:?}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}\n{}",
        problems.len(),
        problems.join("\n"),
        r.logs()
    );
    // The router itself stays up: logins never fail, whatever the write hosts do.
    assert_eq!(
        figures.connect_errors,
        0,
        "logins to the router failed\n{}",
        r.logs()
    );
    if d.lag {
        assert!(
            figures.lost_to_lag > 0,
            "no acknowledged write was missing on M2 though the replica stopped fetching"
        );
    }
    if d.semi_sync {
        assert_eq!(
            figures.lost_to_lag, 0,
            "semi-synchronous replication lost acknowledged writes"
        );
    }

    // M1 is up again: the write role stays on M2 and nothing is written to M1.
    let mut c = Conn::connect(r.addr, "u", "pw", Some("shop"))
        .unwrap_or_else(|e| panic!("connect: {e}\n{}", r.logs()));
    for i in 0..20 {
        let id = 900_000_000 + i;
        c.exec(&format!(
            "INSERT INTO ledger (id, thread) VALUES ({id}, 99)"
        ))
        .unwrap_or_else(|e| panic!("write after M1 is back: {e}\n{}", r.logs()));
    }
    let back = rows(&pair.replica);
    assert!(
        (900_000_000..900_000_020).all(|i| back.contains_key(&i)),
        "writes after M1 came back are not on M2"
    );
    assert_eq!(
        pair.primary.sql("SELECT @@gtid_binlog_pos"),
        m1_pos,
        "something was written to the old primary"
    );
    assert_eq!(
        pair.primary
            .sql("SELECT COUNT(*) FROM shopdb.ledger WHERE id >= 900000000"),
        "0"
    );
    let logs = r.logs();
    assert_eq!(
        logs.matches("write host switched").count(),
        1,
        "the write role moved again: {logs}"
    );
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for o in &failures {
        let (code, msg) = match &o.outcome {
            Outcome::Refused(c, m) | Outcome::Unknown(c, m) => (*c, m.as_str()),
            Outcome::Acked => continue,
        };
        let head: String = msg.chars().take(70).collect();
        *kinds
            .entry(format!("{} {code} {head}", o.stage))
            .or_default() += 1;
    }
    eprintln!(
        "drill {:?} switch_type {} semi_sync {}: {figures:?}\nerrors: {kinds:#?}\n\
         open transaction: next {next:?}, commit {commit:?}\nmetrics: {errors:?}",
        d.fault, d.switch_type, d.semi_sync
    );
    if std::env::var_os("DRILL_LOG").is_some() {
        eprintln!("{}", r.logs());
    }
    figures
}

#[test]
fn primary_killed_under_write_load_switch_type_1() {
    drill(Drill {
        fault: Fault::Kill,
        switch_type: 1,
        semi_sync: false,
        lag: false,
    });
}

#[test]
fn primary_hung_under_write_load_switch_type_1() {
    drill(Drill {
        fault: Fault::Hang,
        switch_type: 1,
        semi_sync: false,
        lag: false,
    });
}

#[test]
fn primary_shut_down_under_write_load_switch_type_1() {
    drill(Drill {
        fault: Fault::Shutdown,
        switch_type: 1,
        semi_sync: false,
        lag: false,
    });
}

#[test]
fn primary_killed_under_write_load_with_semi_sync_loses_nothing_switch_type_2() {
    drill(Drill {
        fault: Fault::Kill,
        switch_type: 2,
        semi_sync: true,
        lag: false,
    });
}

/// The replica stopped fetching before the crash (asynchronous replication that fell
/// behind): the writes acknowledged meanwhile are on the old primary only. switch_type 1
/// switches anyway (as MyCat does); the ledger counts them, and each is on M1.
#[test]
fn primary_killed_with_the_replica_behind_loses_only_unreplicated_writes() {
    let f = drill(Drill {
        fault: Fault::Kill,
        switch_type: 1,
        semi_sync: false,
        lag: true,
    });
    assert!(f.lost_to_lag > 0);
}

/// MyCat's other layout: one write host with the replica as its read host. Nothing can
/// take the write role when the primary dies: writes end with errors (none hangs), the
/// router says once that no write host can take over, reads go on from the replica with
/// `temp_read_host_available`, and once the primary is back writes resume on it; every
/// acknowledged write is on the primary and, caught up, on the replica.
#[test]
fn primary_killed_under_write_load_with_the_replica_as_its_read_host() {
    let mut pair = ledger_pair("");
    let body = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      balance: 1\n      temp_read_host_available: true\n      switch_type: 1\n      max_retry: 2\n      heartbeat_interval: 300ms\n      borrow_timeout: 3s\n      min_con: 2\n      write_hosts:\n        - {{ host: M1, url: \"{}\", user: root, password: \"\", read_hosts: [ {{ host: R1, url: \"{}\", user: root, password: \"\" }} ] }}\n",
        pair.primary.addr, pair.replica.addr
    );
    let r = start_router_config(&body);
    let (load, threads) = start_load(r.addr);
    let warm = wait_for(Duration::from_secs(30), || {
        (load.acked.load(Ordering::Acquire) >= BEFORE).then_some(())
    });
    pair.primary.kill();
    let fault_at = Instant::now();
    let stuck = wait_for(Duration::from_secs(30), || {
        r.logs()
            .contains("no other write host can take over")
            .then_some(())
    });
    // Reads still answer, from the replica.
    let read = common::mariadb::mariadb_client_pw(
        r.addr,
        "u",
        "pw",
        Some("shop"),
        "SELECT COUNT(*) > 0 FROM ledger",
    );
    // Writes keep failing for a while (the load goes on), then the primary is back.
    std::thread::sleep(Duration::from_secs(2));
    let failing_from = load.acked.load(Ordering::Acquire);
    pair.primary.restart();
    let resumed = wait_for(Duration::from_secs(30), || {
        (load.acked.load(Ordering::Acquire) >= failing_from + 80).then_some(())
    });
    load.stop.store(true, Ordering::Release);
    let mut ops = Vec::new();
    for t in threads {
        ops.extend(t.join().expect("client thread").0);
    }
    assert!(warm.is_some(), "the load did not get going: {}", r.logs());
    assert!(stuck.is_some(), "{}", r.logs());
    assert_eq!(read.as_deref(), Ok("1"), "no read during the outage");
    assert!(
        resumed.is_some(),
        "writes did not resume on M1: {}",
        r.logs()
    );
    let failed_during: Vec<&Op> = ops
        .iter()
        .filter(|o| o.started > fault_at && !matches!(o.outcome, Outcome::Acked))
        .collect();
    assert!(
        !failed_during.is_empty(),
        "no write failed while M1 was down"
    );
    let hung: Vec<&&Op> = failed_during
        .iter()
        .filter(|o| {
            matches!(&o.outcome, Outcome::Unknown(0, m)
                if m.contains("timed out") || m.contains("temporarily unavailable"))
        })
        .collect();
    assert!(hung.is_empty(), "statements hung: {hung:?}");
    assert!(!r.logs().contains("write host switched"), "{}", r.logs());
    pair.wait_caught_up();
    let (on_m1, on_r1) = (rows(&pair.primary), rows(&pair.replica));
    for o in &ops {
        let applied = o.ids().iter().all(|i| on_m1.contains_key(i));
        match &o.outcome {
            Outcome::Acked => {
                assert!(applied, "acknowledged, not on M1: {o:?}");
                assert!(
                    o.ids().iter().all(|i| on_r1.contains_key(i)),
                    "acknowledged, not replicated: {o:?}"
                );
            }
            Outcome::Refused(..) => assert!(
                o.ids().iter().all(|i| !on_m1.contains_key(i)),
                "refused, yet applied: {o:?}"
            ),
            Outcome::Unknown(..) => {}
        }
    }
    eprintln!(
        "read-host layout: {} acknowledged, {} failed while M1 was down",
        ops.iter()
            .filter(|o| matches!(o.outcome, Outcome::Acked))
            .count(),
        failed_during.len()
    );
}

/// A session in `autocommit=0` (JDBC's `setAutoCommit(false)`, the usual mode of
/// application pools) across a failover: the transaction open on the old primary ends
/// with an error, and the session stays in `autocommit=0` on the new write host: what
/// it writes next is committed by its COMMIT and undone by its ROLLBACK, never
/// committed statement by statement behind its back.
#[test]
fn an_autocommit_off_session_keeps_its_mode_across_a_failover() {
    let mut pair = ledger_pair("");
    let body = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      switch_type: 1\n      max_retry: 2\n      heartbeat_interval: 300ms\n      min_con: 2\n      write_hosts:\n        - {}\n        - {}\n",
        db_host_yaml("M1", &pair.primary),
        db_host_yaml("M2", &pair.replica),
    );
    let r = start_router_config(&body);
    let mut c = Conn::connect(r.addr, "u", "pw", Some("shop"))
        .unwrap_or_else(|e| panic!("connect: {e}\n{}", r.logs()));
    let run = |c: &mut Conn, sql: &str| c.exec(sql).map(|_| ());
    // Another client with a server-side prepared INSERT (JDBC useServerPrepStmts,
    // sysbench), prepared on M1 and executed again after the switch.
    let mut ps = Conn::connect(r.addr, "u", "pw", Some("shop"))
        .unwrap_or_else(|e| panic!("connect: {e}\n{}", r.logs()));
    let st = ps
        .prepare("INSERT INTO ledger (id, thread) VALUES (?, ?)")
        .unwrap_or_else(|e| panic!("prepare: {e}\n{}", r.logs()));
    ps.execute(st, 0, &[Some("10"), Some("2")], &[])
        .unwrap_or_else(|e| panic!("execute on M1: {e}\n{}", r.logs()));
    run(&mut c, "SET autocommit=0").expect("set");
    run(&mut c, "INSERT INTO ledger (id, thread) VALUES (1, 1)").expect("insert 1");
    run(&mut c, "COMMIT").expect("commit 1");
    run(&mut c, "INSERT INTO ledger (id, thread) VALUES (2, 1)").expect("insert 2");
    pair.wait_caught_up();
    pair.primary.kill();
    assert!(
        wait_for(Duration::from_secs(30), || r
            .logs()
            .contains("write host switched from M1 to M2")
            .then_some(()))
        .is_some(),
        "{}",
        r.logs()
    );
    // The transaction that held row 2 is gone with M1.
    let e = run(&mut c, "INSERT INTO ledger (id, thread) VALUES (3, 1)")
        .expect_err("the transaction begun on M1 went on");
    assert_eq!(e.code, 1213, "{e}");
    // Still autocommit=0: rolled back, not committed.
    run(&mut c, "INSERT INTO ledger (id, thread) VALUES (4, 1)")
        .unwrap_or_else(|e| panic!("insert 4: {e}\n{}", r.logs()));
    let seen = c.value("SELECT @@autocommit").expect("select");
    run(&mut c, "ROLLBACK").expect("rollback");
    run(&mut c, "INSERT INTO ledger (id, thread) VALUES (5, 1)").expect("insert 5");
    run(&mut c, "COMMIT").expect("commit 5");
    ps.execute(st, 0, &[Some("11"), Some("2")], &[])
        .unwrap_or_else(|e| panic!("execute after the switch: {e}\n{}", r.logs()));
    let on_m2 = rows(&pair.replica);
    let mut ids: Vec<i64> = on_m2.keys().copied().collect();
    ids.sort();
    assert_eq!(
        ids,
        [1, 5, 10, 11],
        "rows on M2 (session said autocommit={seen:?}):\n{}",
        r.logs()
    );
    assert_eq!(seen.as_deref(), Some("0"));
}

/// A hung primary (SIGSTOP: the kernel accepts and acknowledges, nothing answers) that
/// no other write host can replace (the replica is its read host): once the heartbeat
/// marks it DOWN, the statement running on it ends with an error instead of waiting for
/// ever, and new statements do not go to its pooled connections (where they would hang
/// too): they fail within the connect timeout. Reads go on from the replica; once the
/// primary answers again, writes resume on it.
#[test]
fn a_hung_primary_without_a_successor_does_not_hold_statements() {
    use nix::sys::signal::Signal;
    let pair = ledger_pair("");
    let body = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      balance: 1\n      temp_read_host_available: true\n      switch_type: 1\n      max_retry: 2\n      heartbeat_interval: 300ms\n      borrow_timeout: 3s\n      min_con: 4\n      write_hosts:\n        - {{ host: M1, url: \"{}\", user: root, password: \"\", read_hosts: [ {{ host: R1, url: \"{}\", user: root, password: \"\" }} ] }}\n",
        pair.primary.addr, pair.replica.addr
    );
    let r = start_router_config(&body);
    let session = || {
        let c = Conn::connect(r.addr, "u", "pw", Some("shop"))
            .unwrap_or_else(|e| panic!("connect: {e}\n{}", r.logs()));
        c.set_read_timeout(STMT_BOUND).expect("read timeout");
        c
    };
    let mut a = session();
    a.exec("INSERT INTO ledger (id, thread) VALUES (1, 1)")
        .unwrap_or_else(|e| panic!("insert: {e}\n{}", r.logs()));
    // The pool holds idle connections to M1 (min_con).
    assert!(
        wait_for(Duration::from_secs(20), || {
            let n = pair.primary.sql(
                "SELECT COUNT(*) FROM information_schema.processlist WHERE user = 'root' AND id <> CONNECTION_ID()",
            );
            (n.parse::<u32>().unwrap_or(0) >= 4).then_some(())
        })
        .is_some(),
        "the pool was not warmed: {}",
        r.logs()
    );
    signal(&pair.primary, Signal::SIGSTOP);
    let _cont = Continue(pair.primary.pid());
    let in_flight = a.exec("INSERT INTO ledger (id, thread) VALUES (2, 1)");
    let mut b = session();
    let new = b.exec("INSERT INTO ledger (id, thread) VALUES (3, 1)");
    let mut c = session();
    let read = c.value("SELECT COUNT(*) FROM ledger WHERE id = 1");
    let logs = r.logs();
    assert!(logs.contains("host M1 is DOWN"), "{logs}");
    let e = in_flight.expect_err("an INSERT into a hung server succeeded");
    assert_eq!(e.code, BACKEND_LOST, "the statement in flight: {e}\n{logs}");
    assert!(e.msg.contains("host M1 of data host dh1 is DOWN"), "{e}");
    let e = new.expect_err("an INSERT into a hung server succeeded");
    assert_ne!(e.code, 0, "a new statement hung: {e}\n{logs}");
    assert_eq!(read, Ok(Some("1".into())), "no read from the replica");
    signal(&pair.primary, Signal::SIGCONT);
    assert!(
        wait_for(Duration::from_secs(30), || r
            .logs()
            .contains("host M1 is UP")
            .then_some(()))
        .is_some(),
        "{}",
        r.logs()
    );
    let mut d = session();
    d.exec("INSERT INTO ledger (id, thread) VALUES (4, 1)")
        .unwrap_or_else(|e| panic!("insert after M1 answers again: {e}\n{}", r.logs()));
    let on_m1 = rows(&pair.primary);
    assert!(on_m1.contains_key(&1) && on_m1.contains_key(&4));
}

/// A hung read host (`balance: 3`, so reads go to it): the read running on it ends with
/// an error once the heartbeat marks it DOWN, instead of waiting for ever, and the
/// next reads go to the write host.
#[test]
fn a_read_on_a_hung_read_host_ends_when_it_is_marked_down() {
    use nix::sys::signal::Signal;
    let pair = ledger_pair("INSERT INTO shopdb.ledger (id, thread) VALUES (1, 1)");
    let body = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      balance: 3\n      switch_type: 1\n      max_retry: 2\n      heartbeat_interval: 300ms\n      min_con: 2\n      write_hosts:\n        - {{ host: M1, url: \"{}\", user: root, password: \"\", read_hosts: [ {{ host: R1, url: \"{}\", user: root, password: \"\" }} ] }}\n",
        pair.primary.addr, pair.replica.addr
    );
    let r = start_router_config(&body);
    let mut c = Conn::connect(r.addr, "u", "pw", Some("shop"))
        .unwrap_or_else(|e| panic!("connect: {e}\n{}", r.logs()));
    c.set_read_timeout(STMT_BOUND).expect("read timeout");
    // Reads go to R1.
    let on_r1 = wait_for(Duration::from_secs(20), || {
        c.value("SELECT @@server_id")
            .ok()
            .flatten()
            .filter(|v| v == "2")
    });
    assert!(on_r1.is_some(), "reads never reached R1: {}", r.logs());
    signal(&pair.replica, Signal::SIGSTOP);
    let _cont = Continue(pair.replica.pid());
    let hung = c.value("SELECT COUNT(*) FROM ledger");
    match &hung {
        Ok(v) => assert_eq!(v.as_deref(), Some("1")),
        Err(e) => {
            assert_eq!(
                e.code,
                BACKEND_LOST,
                "the read on R1 hung: {e}\n{}",
                r.logs()
            );
            assert!(e.msg.contains("host R1 of data host dh1 is DOWN"), "{e}");
        }
    }
    // Answered (by M1, when the router found R1's pooled connection dead before using
    // it) or cut: either way the heartbeat marks R1 DOWN, maybe a moment later.
    let down = wait_for(Duration::from_secs(20), || {
        r.logs().contains("host R1 is DOWN").then_some(())
    });
    assert!(down.is_some(), "{}", r.logs());
    // The session goes on; its reads now go to M1.
    let mut next = Conn::connect(r.addr, "u", "pw", Some("shop"))
        .unwrap_or_else(|e| panic!("connect: {e}\n{}", r.logs()));
    next.set_read_timeout(STMT_BOUND).expect("read timeout");
    for _ in 0..5 {
        assert_eq!(
            next.value("SELECT @@server_id")
                .unwrap_or_else(|e| panic!("read while R1 hangs: {e}\n{}", r.logs())),
            Some("1".into())
        );
    }
}

/// How the new write host is told to stop replicating at a switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StopRepl {
    /// `stop_replication_on_switch` off (MyCat): M2 goes on replicating from M1.
    Off,
    /// On, the router connecting as root.
    On,
    /// On, the router connecting as a user without SUPER / REPLICATION SLAVE ADMIN.
    OnWithoutPrivilege,
}

/// The old primary's unreplicated writes after a switch: M1 takes writes the replica
/// has not fetched (its IO thread stopped), dies (SIGKILL), the replica's IO thread is
/// started again (it retries every second: replication still points at M1), the
/// router switches to M2 and writes there, M1 is restarted. Returns (M1-only ids found
/// on M2, `v` of row 1 on M2, M2's Slave_IO_Running, the router's logs, its metrics).
fn old_primary_comes_back(mode: StopRepl) -> (Vec<i64>, String, String, String, String, String) {
    let mut pair =
        ledger_pair("CREATE USER 'tdm'@'127.0.0.1'; GRANT ALL ON shopdb.* TO 'tdm'@'127.0.0.1'");
    let host = |name: &str, db: &MariaDb| match mode {
        StopRepl::OnWithoutPrivilege => {
            format!(
                "{{ host: {name}, url: \"{}\", user: tdm, password: \"\" }}",
                db.addr
            )
        }
        _ => db_host_yaml(name, db),
    };
    let body = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n    - {{ name: root, password: adm, admin: true }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      switch_type: 1\n      stop_replication_on_switch: {}\n      max_retry: 2\n      heartbeat_interval: 300ms\n      borrow_timeout: 3s\n      min_con: 2\n      write_hosts:\n        - {}\n        - {}\n",
        mode != StopRepl::Off,
        host("M1", &pair.primary),
        host("M2", &pair.replica),
    );
    let r = start_router_config(&body);
    let mut c = Conn::connect(r.addr, "u", "pw", Some("shop"))
        .unwrap_or_else(|e| panic!("connect: {e}\n{}", r.logs()));
    let write = |c: &mut Conn, sql: &str| {
        c.exec(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", r.logs()));
    };
    for id in 1..=10 {
        write(
            &mut c,
            &format!("INSERT INTO ledger (id, thread) VALUES ({id}, 0)"),
        );
    }
    pair.wait_caught_up();
    // Acknowledged on M1 only.
    pair.replica.sql("STOP SLAVE IO_THREAD");
    pair.wait_threads("No", "Yes");
    const M1_ONLY: std::ops::RangeInclusive<i64> = 100..=119;
    for id in M1_ONLY {
        write(
            &mut c,
            &format!("INSERT INTO ledger (id, thread) VALUES ({id}, 1)"),
        );
    }
    write(&mut c, "UPDATE ledger SET v = 1 WHERE id = 1");
    pair.primary.kill();
    // Replication still points at M1: the IO thread retries until M1 answers.
    pair.replica.sql("START SLAVE IO_THREAD");
    let switched = wait_for(Duration::from_secs(30), || {
        r.logs()
            .contains("write host switched from M1 to M2")
            .then_some(())
    });
    assert!(
        switched.is_some(),
        "the router did not switch: {}",
        r.logs()
    );
    // Writes on M2 (the first ones may still meet the connection that was on M1).
    let mut done = 0;
    for _ in 0..50 {
        let mut c = match Conn::connect(r.addr, "u", "pw", Some("shop")) {
            Ok(c) => c,
            Err(_) => continue,
        };
        let ok = c.exec("UPDATE ledger SET v = 2 WHERE id = 1").is_ok()
            && (200..220).all(|id| {
                c.exec(&format!(
                    "INSERT INTO ledger (id, thread) VALUES ({id}, 2) \
                     ON DUPLICATE KEY UPDATE thread = 2"
                ))
                .is_ok()
            });
        if ok {
            done += 1;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        done,
        1,
        "writes through the router did not succeed on M2\n{}",
        r.logs()
    );
    assert_eq!(
        pair.replica
            .sql("SELECT COUNT(*) FROM shopdb.ledger WHERE id BETWEEN 200 AND 219"),
        "20"
    );

    pair.primary.restart();
    let up = wait_for(Duration::from_secs(30), || {
        r.logs().contains("host M1 is UP").then_some(())
    });
    assert!(up.is_some(), "M1 never came back: {}", r.logs());
    let m1_only = || -> Vec<i64> {
        rows(&pair.replica)
            .into_keys()
            .filter(|id| M1_ONLY.contains(id))
            .collect()
    };
    if mode == StopRepl::On {
        // Replication from M1 is off: its IO thread (retrying every second) would have
        // fetched the rows by now. A bounded wait, then the check.
        std::thread::sleep(Duration::from_secs(5));
    } else {
        let back = wait_for(Duration::from_secs(30), || {
            (m1_only().len() == M1_ONLY.count()).then_some(())
        });
        assert!(
            back.is_some(),
            "M1's unreplicated rows did not reach M2: {:?}\n{}",
            pair.slave_status(),
            r.logs()
        );
        pair.wait_caught_up();
    }
    let mut ids = m1_only();
    ids.sort();
    let v1 = pair.replica.sql("SELECT v FROM shopdb.ledger WHERE id = 1");
    let io = pair.threads().0;
    let metrics = common::http_get(r.observe, "/metrics")
        .map(|m| m.1)
        .unwrap_or_else(|e| panic!("metrics: {e}"));
    let status = common::http_get(r.observe, "/status")
        .map(|m| m.1)
        .unwrap_or_else(|e| panic!("status: {e}"));
    (ids, v1, io, r.logs(), metrics, status)
}

/// dh1's `stop_replication_on_switch` and `replication_stop_failures` in /status.
fn status_stop_replication(status: &str) -> (serde_json::Value, serde_json::Value) {
    let v: serde_json::Value =
        serde_json::from_str(status).unwrap_or_else(|e| panic!("status: {e}\n{status}"));
    let dh = v["subsystems"]["router"]["data_hosts"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["name"] == "dh1"))
        .unwrap_or_else(|| panic!("no data host dh1 in {status}"));
    (
        dh["stop_replication_on_switch"].clone(),
        dh["replication_stop_failures"].clone(),
    )
}

/// `stop_replication_on_switch: true`: the router stops M2's IO thread at the switch,
/// so M1's writes that never reached M2 stay off it when M1 is back, and the update
/// made on M2 after the switch stands.
#[test]
fn stop_replication_on_switch_keeps_the_old_primarys_unreplicated_writes_off_the_new_one() {
    let (ids, v1, io, logs, metrics, status) = old_primary_comes_back(StopRepl::On);
    assert!(
        metrics.contains("tandem_router_replication_stop_failures_total{data_host=\"dh1\"} 0"),
        "{metrics}"
    );
    assert_eq!(
        status_stop_replication(&status),
        (serde_json::json!(true), serde_json::json!(0))
    );
    assert!(
        logs.contains("data host dh1: replication stopped on M2 (IO thread"),
        "{logs}"
    );
    assert!(
        ids.is_empty(),
        "M1's unreplicated rows reached M2: {ids:?}\n{logs}"
    );
    assert_eq!(
        v1, "2",
        "the update made on M2 after the switch was overwritten"
    );
    assert_eq!(io, "No", "Slave_IO_Running on M2");
}

/// MyCat's behaviour (the key off): M2 goes on replicating from M1, and when M1 is
/// back M2 fetches M1's unreplicated writes and applies them over the ones it took
/// since the switch: the rows reappear and the later update is overwritten.
#[test]
fn without_stop_replication_on_switch_the_old_primarys_unreplicated_writes_come_back() {
    let (ids, v1, io, logs, _, status) = old_primary_comes_back(StopRepl::Off);
    assert_eq!(
        status_stop_replication(&status),
        (serde_json::json!(false), serde_json::json!(0))
    );
    assert!(!logs.contains("replication stopped on"), "{logs}");
    assert_eq!(ids, (100..=119).collect::<Vec<_>>());
    assert_eq!(v1, "1", "M1's update did not overwrite M2's");
    assert_eq!(io, "Yes", "Slave_IO_Running on M2");
}

/// The router's user may not stop replication (no SUPER / REPLICATION SLAVE ADMIN):
/// the switch goes on, one WARN line says what to do by hand, the metric counts it,
/// and M2 goes on replicating as with the key off.
#[test]
fn stop_replication_on_switch_without_the_privilege_warns_and_switches_anyway() {
    let (ids, v1, io, logs, metrics, status) = old_primary_comes_back(StopRepl::OnWithoutPrivilege);
    assert!(
        metrics.contains("tandem_router_replication_stop_failures_total{data_host=\"dh1\"} 1"),
        "{metrics}"
    );
    assert_eq!(
        status_stop_replication(&status),
        (serde_json::json!(true), serde_json::json!(1))
    );
    let warn: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("cannot stop replication on new write host M2"))
        .collect();
    assert_eq!(warn.len(), 1, "{logs}");
    assert!(
        warn[0].contains("WARN") && warn[0].contains("run `STOP SLAVE IO_THREAD` on M2 by hand"),
        "{}",
        warn[0]
    );
    assert_eq!(ids.len(), 20, "{ids:?}");
    assert_eq!(v1, "1");
    assert_eq!(io, "Yes");
}

/// `switch @@datasource` on the admin port stops replication on the new write host
/// too; switching back to M1, which replicates from nothing, has nothing to stop.
#[test]
fn admin_switch_with_stop_replication_on_switch_stops_the_replica_io_thread() {
    let pair = ledger_pair("");
    let body = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n    - {{ name: root, password: adm, admin: true }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      stop_replication_on_switch: true\n      heartbeat_interval: 300ms\n      min_con: 1\n      write_hosts:\n        - {}\n        - {}\n",
        db_host_yaml("M1", &pair.primary),
        db_host_yaml("M2", &pair.replica),
    );
    let r = start_router_config(&body);
    assert_eq!(pair.threads(), ("Yes".to_string(), "Yes".to_string()));
    admin(&r, "switch @@datasource dh1:1");
    // The first scrape after the switch already shows it.
    let m = common::http_get(r.observe, "/metrics")
        .map(|m| m.1)
        .unwrap_or_else(|e| panic!("metrics: {e}"));
    for want in [
        "tandem_router_write_host_switches_total{data_host=\"dh1\"} 1",
        "tandem_router_active_write_host_index{data_host=\"dh1\"} 1",
    ] {
        assert!(m.contains(want), "{want} not in\n{m}");
    }
    let logs = r.logs();
    assert!(
        logs.contains("data host dh1: replication stopped on M2 (IO thread"),
        "{logs}"
    );
    assert_eq!(pair.threads(), ("No".to_string(), "Yes".to_string()));
    let mut c = Conn::connect(r.addr, "u", "pw", Some("shop"))
        .unwrap_or_else(|e| panic!("connect: {e}\n{}", r.logs()));
    c.exec("INSERT INTO ledger (id, thread) VALUES (1, 0)")
        .unwrap_or_else(|e| panic!("insert: {e}\n{}", r.logs()));
    assert_eq!(
        pair.replica
            .sql("SELECT COUNT(*) FROM shopdb.ledger WHERE id = 1"),
        "1"
    );
    assert_eq!(
        pair.primary
            .sql("SELECT COUNT(*) FROM shopdb.ledger WHERE id = 1"),
        "0"
    );
    admin(&r, "switch @@datasource dh1:0");
    let logs = r.logs();
    assert!(
        logs.contains("data host dh1: M1 is not a replica, no replication to stop"),
        "{logs}"
    );
    assert!(!logs.contains("cannot stop replication"), "{logs}");
    assert_eq!(logs.matches("write host switched").count(), 2, "{logs}");
}
