//! The router's backend side against real MariaDB servers: heartbeats, write-host
//! failover state, backend session initialisation and the saved active write host.

mod common;

use std::time::Duration;

use common::mariadb::MariaDb;
use common::router::{RouterDaemon, db_host_yaml as host_yaml, start_router_config};
use common::wait_for;

use tandem::router::backend::{load_index, save_index};

type Router = RouterDaemon;

/// Starts `tandem run` with a router section; `body` is YAML indented for `router:`.
fn router(body: &str) -> Router {
    start_router_config(body)
}

/// Users `u`/`pw`, schema `shop` on dn1 → dh1 (database shopdb) with `dh_extra` (YAML
/// lines indented six spaces) and the given write hosts.
fn body(dh_extra: &str, writers: &[(&str, &MariaDb)]) -> String {
    let min_con = if dh_extra.contains("min_con:") {
        ""
    } else {
        "      min_con: 1\n"
    };
    let mut b = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n{min_con}{dh_extra}      write_hosts:\n"
    );
    for (name, db) in writers {
        b.push_str(&format!("        - {}\n", host_yaml(name, db)));
    }
    b
}

fn q(r: &Router, stmt: &str) -> Result<String, String> {
    common::mariadb::mariadb_client_pw(r.addr, "u", "pw", Some("shop"), stmt)
}

/// A server with database shopdb holding table `who` with one row naming it.
fn marked(name: &str, extra: &[&str]) -> MariaDb {
    let db = MariaDb::start_with(extra);
    db.sql(&format!(
        "CREATE DATABASE shopdb; CREATE TABLE shopdb.who (v VARCHAR(20)); INSERT INTO shopdb.who VALUES ('{name}'); COMMIT"
    ));
    db
}

/// Kills every connection of `user` on the server but the one doing it.
fn kill_connections_of(db: &MariaDb, user: &str) -> usize {
    let ids = db.sql(&format!(
        "SELECT id FROM information_schema.processlist WHERE user = '{user}' AND id <> CONNECTION_ID()"
    ));
    let ids: Vec<&str> = ids.split_whitespace().collect();
    for id in &ids {
        // It may have gone by itself in the meantime.
        let _ = db.try_sql("root", &format!("KILL {id}"));
    }
    ids.len()
}

/// Two data hosts failing over at the same moment (both had their write host on the
/// server that died) save their new index into the one shared file at once: neither
/// update may be lost, or a restart sends that data host's writes back to the dead (or
/// stale) write host.
#[test]
fn concurrent_index_saves_of_several_data_hosts_keep_every_line() {
    let d = tempfile::tempdir().expect("tempdir");
    let f = d.path().join("state").join("dnindex.properties");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let f = f.clone();
            std::thread::spawn(move || {
                let name = format!("dh{t}");
                let mut errors = Vec::new();
                for i in 0..60 {
                    if let Err(e) = save_index(&f, &name, i % 3) {
                        errors.push(e.to_string());
                    }
                }
                // The last save says 1 (59 % 3 = 2; one more to end on a known value).
                if let Err(e) = save_index(&f, &name, 1) {
                    errors.push(e.to_string());
                }
                errors
            })
        })
        .collect();
    for t in threads {
        let errors = t.join().expect("thread");
        assert!(errors.is_empty(), "saves failed: {errors:?}");
    }
    let text = std::fs::read_to_string(&f).expect("read");
    for t in 0..8 {
        assert_eq!(
            load_index(&f, &format!("dh{t}")),
            Some(1),
            "dh{t} lost its line:\n{text}"
        );
    }
    assert!(
        !f.with_extension("properties.tmp").exists(),
        "temporary file left behind"
    );
}

/// A damaged file (garbage bytes, an unreadable value) is read as "nothing saved" for
/// the entries it spoils, and a save keeps the other data hosts' readable lines.
#[test]
fn a_damaged_index_file_is_read_as_unsaved_and_rewritten() {
    let d = tempfile::tempdir().expect("tempdir");
    let f = d.path().join("dnindex.properties");
    std::fs::write(&f, b"dh1=x\n\xff\xfe garbage\ndh2 = 1\r\n=\n").expect("write");
    assert_eq!(load_index(&f, "dh1"), None);
    assert_eq!(load_index(&f, "dh2"), Some(1));
    assert_eq!(load_index(&f, "dh3"), None);
    save_index(&f, "dh1", 1).expect("save");
    assert_eq!(load_index(&f, "dh1"), Some(1));
    assert_eq!(load_index(&f, "dh2"), Some(1));
    let missing = d.path().join("nowhere").join("dnindex.properties");
    assert_eq!(load_index(&missing, "dh1"), None);
}

/// A server whose sessions start with autocommit off (`autocommit=0` in its config, as
/// some sites run): a client of the router is in autocommit mode, so its INSERT must be
/// committed, not left open on a pooled connection and lost.
#[test]
fn a_server_with_autocommit_off_still_commits_autocommit_statements() {
    let db = marked("m1", &["--autocommit=0"]);
    assert_eq!(db.sql("SELECT @@global.autocommit"), "0");
    let r = router(&body("      heartbeat_interval: 500ms\n", &[("m1", &db)]));
    q(&r, "INSERT INTO who VALUES ('through the router')")
        .unwrap_or_else(|e| panic!("insert: {e}\n{}", r.daemon.logs()));
    // Another connection (autocommit off too, so each SELECT starts a fresh snapshot)
    // sees the row only when it was committed.
    let seen = wait_for(Duration::from_secs(5), || {
        let n = db.sql("SELECT COUNT(*) FROM shopdb.who WHERE v = 'through the router'");
        (n == "1").then_some(())
    });
    assert!(
        seen.is_some(),
        "the router's autocommit INSERT was not committed on the server"
    );
    assert_eq!(
        q(&r, "SELECT @@autocommit").expect("select"),
        "1",
        "the backend connection does not run in autocommit mode"
    );
}

/// `init_connect='SET autocommit=0'` (another way sites switch autocommit off) runs
/// after the server has sent the login OK, whose flags still say autocommit is on, and
/// only for users without SUPER: the router's backend user here has none. The router
/// must see the real state before the first statement and commit the client's
/// autocommit INSERT.
#[test]
fn init_connect_autocommit_off_still_commits_autocommit_statements() {
    let db = marked("m1", &[]);
    db.sql(
        "CREATE USER 'rt'@'%' IDENTIFIED BY 'rtpw'; GRANT ALL ON shopdb.* TO 'rt'@'%'; \
         GRANT PROCESS, REPLICATION CLIENT ON *.* TO 'rt'@'%'; \
         SET GLOBAL init_connect = 'SET autocommit=0'",
    );
    // The server does run it for that user.
    assert_eq!(
        common::mariadb::mariadb_client_pw(db.addr, "rt", "rtpw", None, "SELECT @@autocommit")
            .expect("direct"),
        "0",
        "init_connect did not switch autocommit off for the backend user"
    );
    let host = format!(
        "{{ host: m1, url: \"{}\", user: rt, password: \"rtpw\" }}",
        db.addr
    );
    let text = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      min_con: 1\n      heartbeat_interval: 500ms\n      write_hosts:\n        - {host}\n"
    );
    let r = router(&text);
    q(&r, "INSERT INTO who VALUES ('through the router')")
        .unwrap_or_else(|e| panic!("insert: {e}\n{}", r.daemon.logs()));
    let seen = wait_for(Duration::from_secs(5), || {
        let n = db.sql("SELECT COUNT(*) FROM shopdb.who WHERE v = 'through the router'");
        (n == "1").then_some(())
    });
    assert!(
        seen.is_some(),
        "the router's autocommit INSERT was not committed on the server"
    );
    assert_eq!(
        q(&r, "SELECT @@autocommit").expect("select"),
        "1",
        "the backend connection does not run in autocommit mode"
    );
}

/// A heartbeat connection closed under the router (a DBA's `KILL`, `wait_timeout`, a
/// server restart) says nothing about the server: the next heartbeat uses a new
/// connection instead of failing on the dead one. With `max_retry: 1` a failed attempt
/// is a failed round, which would mark the active write host DOWN and fail it over.
#[test]
fn a_killed_heartbeat_connection_is_not_a_failed_heartbeat() {
    let w1 = marked("w1", &[]);
    let w2 = marked("w2", &[]);
    let r = router(&body(
        "      switch_type: 1\n      max_retry: 1\n      heartbeat_interval: 300ms\n",
        &[("w1", &w1), ("w2", &w2)],
    ));
    assert_eq!(q(&r, "SELECT v FROM who").expect("before"), "w1");
    // Several kills, each landing between heartbeats.
    for _ in 0..5 {
        let n = kill_connections_of(&w1, "root");
        assert!(n > 0, "no router connection on w1");
        std::thread::sleep(Duration::from_millis(700));
    }
    let logs = r.daemon.logs();
    assert!(!logs.contains("is DOWN"), "{logs}");
    assert!(!logs.contains("write host switched"), "{logs}");
    // Pool connections killed while idle are replaced, never handed to the client.
    for _ in 0..3 {
        assert_eq!(
            q(&r, "SELECT v FROM who")
                .unwrap_or_else(|e| panic!("read after kill: {e}\n{}", r.daemon.logs())),
            "w1"
        );
        kill_connections_of(&w1, "root");
        std::thread::sleep(Duration::from_millis(300));
    }
    let (_, m) = common::http_get(r.observe, "/metrics").expect("metrics");
    assert!(
        !m.contains("tandem_router_write_host_switches_total{data_host=\"dh1\"} 1"),
        "{m}"
    );
}

/// Open file descriptors of a process.
fn fd_count(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn signal(db: &MariaDb, sig: nix::sys::signal::Signal) {
    let pid = db.pid().expect("server runs");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).expect("signal");
}

/// A write host that hangs (SIGSTOP: the kernel still accepts TCP connections, nothing
/// answers) fails its heartbeats by timeout and the write role moves; heartbeats to it
/// stay bounded (no descriptor piles up); once it answers again it is UP but the write
/// role stays where it is, as in MyCat.
#[test]
fn a_hung_write_host_is_timed_out_failed_over_and_not_switched_back() {
    use nix::sys::signal::Signal;
    let w1 = marked("w1", &[]);
    let w2 = marked("w2", &[]);
    let r = router(&body(
        "      switch_type: 1\n      max_retry: 2\n      heartbeat_interval: 300ms\n      borrow_timeout: 2s\n",
        &[("w1", &w1), ("w2", &w2)],
    ));
    assert_eq!(q(&r, "SELECT v FROM who").expect("before"), "w1");
    signal(&w1, Signal::SIGSTOP);
    let moved = wait_for(Duration::from_secs(60), || {
        q(
            &r,
            "INSERT INTO who VALUES ('after'); SELECT GROUP_CONCAT(v ORDER BY v) FROM who",
        )
        .ok()
    });
    if moved.as_deref() != Some("after,w2") {
        signal(&w1, Signal::SIGCONT);
        panic!("writes did not move to w2: {moved:?}\n{}", r.daemon.logs());
    }
    let logs = r.daemon.logs();
    assert!(logs.contains("host w1 is DOWN"), "{logs}");
    assert!(logs.contains("write host switched from w1 to w2"), "{logs}");
    // Heartbeats keep timing out against the hung server: each closes what it opened.
    let before = fd_count(r.daemon.pid());
    std::thread::sleep(Duration::from_secs(4));
    let after = fd_count(r.daemon.pid());
    signal(&w1, Signal::SIGCONT);
    assert!(
        after <= before + 4,
        "descriptors grew from {before} to {after} while w1 hung"
    );
    let up = wait_for(Duration::from_secs(30), || {
        r.daemon.logs().contains("host w1 is UP").then_some(())
    });
    assert!(up.is_some(), "w1 never came back: {}", r.daemon.logs());
    for _ in 0..5 {
        assert_eq!(
            q(&r, "SELECT GROUP_CONCAT(v ORDER BY v) FROM who").expect("after w1 is back"),
            "after,w2"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let logs = r.daemon.logs();
    assert_eq!(
        logs.matches("write host switched").count(),
        1,
        "the write role moved again: {logs}"
    );
}

/// A write host down with none to take over (the common single-master data host) is
/// logged once per outage, not at every heartbeat.
#[test]
fn a_write_host_down_with_no_successor_is_logged_once_per_outage() {
    let mut m1 = marked("m1", &[]);
    let r = router(&body(
        "      switch_type: 1\n      max_retry: 1\n      heartbeat_interval: 200ms\n",
        &[("m1", &m1)],
    ));
    const STUCK: &str = "no other write host can take over";
    let count = |r: &Router| r.daemon.logs().matches(STUCK).count();
    m1.kill();
    assert!(
        wait_for(Duration::from_secs(20), || (count(&r) > 0).then_some(())).is_some(),
        "{}",
        r.daemon.logs()
    );
    // Many more rounds fail.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(count(&r), 1, "{}", r.daemon.logs());
    m1.restart();
    assert!(
        wait_for(Duration::from_secs(30), || r
            .daemon
            .logs()
            .contains("host m1 is UP")
            .then_some(()))
        .is_some(),
        "{}",
        r.daemon.logs()
    );
    m1.kill();
    assert!(
        wait_for(Duration::from_secs(20), || (count(&r) > 1).then_some(())).is_some(),
        "a second outage was not logged: {}",
        r.daemon.logs()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(count(&r), 2, "{}", r.daemon.logs());
}

/// Server thread ids of `user`'s connections, but the one asking.
fn connections_of(db: &MariaDb, user: &str) -> Vec<String> {
    db.sql(&format!(
        "SELECT id FROM information_schema.processlist WHERE user = '{user}' AND id <> CONNECTION_ID()"
    ))
    .split_whitespace()
    .map(str::to_string)
    .collect()
}

/// `min_con` connections closed by the server while idle (its `wait_timeout`, shorter
/// than the router's `idle_timeout`) are noticed by the heartbeat and replaced, so the
/// pool keeps `min_con` usable connections instead of dead ones.
#[test]
fn idle_connections_closed_by_wait_timeout_are_replaced_by_the_heartbeat() {
    let m1 = marked("m1", &["--wait-timeout=2"]);
    let r = router(&body(
        "      min_con: 2\n      heartbeat_interval: 300ms\n",
        &[("m1", &m1)],
    ));
    // Heartbeat connection + min_con.
    let first = wait_for(Duration::from_secs(20), || {
        let c = connections_of(&m1, "root");
        (c.len() >= 3).then_some(c)
    })
    .unwrap_or_else(|| panic!("the pool was not warmed: {}", r.daemon.logs()));
    // The server closes the idle pool connections after 2 s; new ones take their place.
    let renewed = wait_for(Duration::from_secs(30), || {
        let fresh = connections_of(&m1, "root")
            .into_iter()
            .filter(|c| !first.contains(c))
            .count();
        (fresh >= 2).then_some(())
    });
    assert!(
        renewed.is_some(),
        "dead idle connections were not replaced (first {first:?}, now {:?})\n{}",
        connections_of(&m1, "root"),
        r.daemon.logs()
    );
    assert_eq!(q(&r, "SELECT v FROM who").expect("read"), "m1");
}

/// With `switch_type: 2` a read host must prove it replicates: one that reports no
/// replication (`SHOW SLAVE STATUS` empty: replication reset or never set up) gets no
/// reads, as in MyCat, rather than serving data nothing keeps current.
#[test]
fn switch_type_2_gives_no_reads_to_a_read_host_that_does_not_replicate() {
    let w1 = marked("w1", &[]);
    let r1 = marked("r1", &[]);
    let b = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      balance: 3\n      switch_type: 2\n      heartbeat_interval: 300ms\n      min_con: 0\n      write_hosts:\n        - {{ host: w1, url: \"{}\", user: root, password: \"\", read_hosts: [ {{ host: r1, url: \"{}\", user: root, password: \"\" }} ] }}\n",
        w1.addr, r1.addr
    );
    let r = router(&b);
    // Several heartbeat rounds.
    std::thread::sleep(Duration::from_secs(2));
    for _ in 0..10 {
        assert_eq!(
            q(&r, "SELECT v FROM who").unwrap_or_else(|e| panic!("read: {e}\n{}", r.daemon.logs())),
            "w1",
            "a read went to the read host that does not replicate"
        );
    }
    // It is up (heartbeats answer), just not readable.
    assert!(
        !r.daemon.logs().contains("host r1 is DOWN"),
        "{}",
        r.daemon.logs()
    );
}

/// With read hosts (`balance: 3`; the read host here is an independent server, so a
/// misrouted read shows): reads that depend on state only the write host or the
/// session's last connection has are not sent to a read host. A sequence's next value
/// taken on a replica hands out numbers the primary hands out again; `SHOW WARNINGS`
/// and `@@warning_count` after a write, `@@identity` after an INSERT, read elsewhere,
/// answer "nothing" / 0.
#[test]
fn reads_of_write_host_and_session_state_do_not_go_to_a_read_host() {
    let w = marked("writer", &[]);
    let rd = marked("reader", &[]);
    for db in [&w, &rd] {
        db.sql(
            "CREATE TABLE shopdb.ai (id INT AUTO_INCREMENT PRIMARY KEY, s VARCHAR(3)); \
             CREATE SEQUENCE shopdb.sq",
        );
    }
    w.sql("INSERT INTO shopdb.ai (s) VALUES ('a'), ('a'), ('a'), ('a'), ('a')");
    let b = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      balance: 3\n      heartbeat_interval: 300ms\n      min_con: 0\n      write_hosts:\n        - {{ host: w1, url: \"{}\", user: root, password: \"\", read_hosts: [ {{ host: r1, url: \"{}\", user: root, password: \"\" }} ] }}\n",
        w.addr, rd.addr
    );
    let r = router(&b);
    let ok =
        |stmt: &str| q(&r, stmt).unwrap_or_else(|e| panic!("{stmt}: {e}\n{}", r.daemon.logs()));
    // Plain reads do go to the read host.
    let split = wait_for(Duration::from_secs(20), || {
        q(&r, "SELECT v FROM who").ok().filter(|v| v == "reader")
    });
    assert!(split.is_some(), "{}", r.daemon.logs());
    // Sequences: the write host's, the replica's left alone.
    assert_eq!(ok("SELECT NEXTVAL(sq), v FROM who"), "1\twriter");
    assert_eq!(ok("SELECT NEXT VALUE FOR sq, v FROM who"), "2\twriter");
    assert_eq!(ok("SELECT SETVAL(sq, 100), v FROM who"), "100\twriter");
    assert_eq!(
        rd.sql("SELECT next_not_cached_value FROM shopdb.sq"),
        "1",
        "the read host's sequence moved"
    );
    // Locks live on the write host.
    assert_eq!(ok("SELECT IS_FREE_LOCK('k'), v FROM who"), "1\twriter");
    // Diagnostics of the previous statement, from the connection that ran it.
    let warn = ok("INSERT IGNORE INTO ai (s) VALUES ('toolong'); SHOW WARNINGS");
    assert!(
        warn.contains("1265"),
        "SHOW WARNINGS lost the INSERT's warning: {warn:?}"
    );
    assert_eq!(
        ok("INSERT IGNORE INTO ai (s) VALUES ('toolong'); SELECT @@warning_count"),
        "1"
    );
    assert_eq!(
        ok("INSERT IGNORE INTO ai (s) VALUES ('toolong'); SHOW COUNT(*) WARNINGS"),
        "1"
    );
    // @@identity is the session's LAST_INSERT_ID(), wherever the read runs.
    let out = ok("INSERT INTO ai (s) VALUES ('b'); SELECT @@identity + 0, @@last_insert_id");
    let id = w.sql("SELECT MAX(id) FROM shopdb.ai");
    assert_eq!(out, format!("{id}\t{id}"));
    // MyCat's db_type hints, in each spelling (the CLI keeps comments with --comments):
    // slave lets the read go to the read host, master sends it to the write host.
    let hinted = |stmt: &str| {
        common::mariadb::mariadb_client_args(r.addr, "u", "pw", Some("shop"), &["--comments"], stmt)
            .unwrap_or_else(|e| panic!("{stmt}: {e}"))
    };
    for open in ["/*!mycat:", "/*#mycat:", "/* mycat:"] {
        for (db_type, want) in [("slave", "reader"), ("master", "writer")] {
            let stmt = format!("{open}db_type={db_type}*/ SELECT v FROM who");
            assert_eq!(hinted(&stmt), want, "{stmt}");
        }
    }
}
