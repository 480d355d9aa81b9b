//! The client programs of tests/clients (PyMySQL; MariaDB Connector/J with server-side
//! prepared statements) against a MariaDB server directly: proves the programs and the
//! harness before they are pointed at tandem's router.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::clients::{
    enable_general_log, general_log_connections, general_log_of, run_bounded, run_connector_j,
    run_pymysql,
};
use common::mariadb::MariaDb;

fn server() -> MariaDb {
    let db = MariaDb::start();
    db.sql(
        "CREATE DATABASE app; \
         CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'pw'; \
         GRANT ALL PRIVILEGES ON app.* TO 'app'@'127.0.0.1'",
    );
    db
}

/// The statements a connection sent before `first`, the first statement of the script.
fn startup(entries: &[String], first: &str) -> Vec<String> {
    entries
        .iter()
        .skip_while(|e| e.starts_with("Connect\t"))
        .take_while(|e| !e.ends_with(first))
        .cloned()
        .collect()
}

#[test]
fn pymysql_and_connector_j_against_mariadb() {
    let db = server();
    let log = enable_general_log(&db);

    let t = Instant::now();
    let (ok, out) = run_pymysql(db.addr, "app", "pw", "app", "py_smoke");
    assert!(ok, "PyMySQL smoke test failed:\n{out}");
    eprintln!("pymysql_smoke: {:?}\n{out}", t.elapsed());

    let t = Instant::now();
    let (ok, out) = run_connector_j(db.addr, "app", "pw", "app", "cj_smoke");
    assert!(ok, "Connector/J smoke test failed:\n{out}");
    eprintln!("ConnectorJSmoke: {:?}\n{out}", t.elapsed());

    db.sql("SET GLOBAL general_log = 0");
    let log = std::fs::read_to_string(&log).expect("general log");
    let conns = general_log_connections(&log, "app");
    assert_eq!(conns.len(), 2, "one connection per program:\n{log}");
    let py = general_log_of(&log, conns[0]);
    let cj = general_log_of(&log, conns[1]);

    // What each driver sends before the script's first statement (the router has to
    // answer these); printed for `--nocapture`.
    let py_start = startup(&py, "DROP TABLE IF EXISTS `py_smoke`");
    let cj_start = startup(&cj, "SHOW SESSION STATUS LIKE 'Com_stmt_prepare'");
    eprintln!("PyMySQL startup: {py_start:#?}\nConnector/J startup: {cj_start:#?}");
    assert_eq!(py_start, ["Query\tSET NAMES utf8mb4"], "{log}");
    assert!(
        !cj_start.is_empty()
            && cj_start.iter().all(|e| e.starts_with("Query\t")
                && (e.to_ascii_lowercase().starts_with("query\tset ")
                    || e.starts_with("Query\tSELECT @@"))),
        "Connector/J startup: {cj_start:#?}"
    );

    // PyMySQL: text protocol only. Connector/J: server-side prepared statements.
    assert!(py.iter().all(|e| !e.starts_with("Prepare\t")), "{py:#?}");
    let prepares = cj.iter().filter(|e| e.starts_with("Prepare\t")).count();
    let executes = cj.iter().filter(|e| e.starts_with("Execute\t")).count();
    assert!(prepares >= 5 && executes > prepares, "{cj:#?}");
}

#[test]
fn client_failures_are_reported() {
    let db = server();
    let (ok, out) = run_pymysql(db.addr, "app", "wrong", "app", "py_smoke");
    assert!(!ok, "{out}");
    assert!(out.contains("Access denied"), "{out}");
    let (ok, out) = run_connector_j(db.addr, "app", "wrong", "app", "cj_smoke");
    assert!(!ok, "{out}");
    assert!(out.contains("Access denied"), "{out}");

    // A hung client is killed at the bound.
    let mut sleep = Command::new("sleep");
    sleep.arg("30");
    let (ok, out) = run_bounded(sleep, Duration::from_secs(1));
    assert!(!ok && out.contains("killed after"), "{out}");
}
