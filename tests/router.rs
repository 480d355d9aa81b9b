//! The router against real MariaDB servers: the mariadb CLI, sysbench, PyMySQL and
//! Connector/J through it; access control; read/write split per `balance`; write-host
//! failover (heartbeat and replication aware); pool exhaustion; the admin port.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::mariadb::MariaDb;
// The mariadb CLI with a password; stdout trimmed, or stderr.
use common::mariadb::mariadb_client_pw as cli;
use common::replication::ReplicaPair;
use common::router::{RouterDaemon, db_host_yaml as host_yaml, start_router_config};
use common::{wait_for, write};

type Router = RouterDaemon;

/// Starts `tandem run` with a router section; `body` is YAML indented for `router:`
/// (users, schemas, data_nodes, data_hosts).
fn router(body: &str) -> Router {
    start_router_config(body)
}

/// One schema `shop` on data node dn1 → data host dh1 (database shopdb).
fn single(db: &MariaDb, users: &str, dh_extra: &str) -> String {
    format!(
        "  users:\n{users}  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      heartbeat_interval: 500ms\n      min_con: 1\n{dh_extra}      write_hosts:\n        - {}\n",
        host_yaml("m1", db)
    )
}

const APP: &str = "    - { name: app, password: s3cret, schemas: [shop] }\n";

#[test]
fn cli_round_trip_local_answers_and_session_state() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb");
    let r = router(&single(&db, APP, ""));
    let q = |s: &str| cli(r.addr, "app", "s3cret", Some("shop"), s);
    q("CREATE TABLE item (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40))").expect("ddl");
    q("INSERT INTO item (name) VALUES ('apple'), ('pear')").expect("insert");
    assert_eq!(
        q("SELECT name FROM item ORDER BY id").expect("select"),
        "apple\npear"
    );
    // The rows really are on the server, in the data node's database.
    assert_eq!(db.sql("SELECT COUNT(*) FROM shopdb.item"), "2");
    // LAST_INSERT_ID() follows the session even though connections are pooled.
    let out = q("INSERT INTO item (name) VALUES ('fig'); SELECT LAST_INSERT_ID(); SELECT name FROM item WHERE id = LAST_INSERT_ID()").expect("lid");
    assert_eq!(out, "3\nfig");
    // Answered by the router.
    let out = q("SELECT DATABASE(), USER(), CURRENT_USER(); SELECT @@version_comment LIMIT 1; SHOW DATABASES").expect("local");
    assert_eq!(out, "shop\tapp@127.0.0.1\tapp@%\ntandem router\nshop");
    let out = q("SHOW TABLES").expect("show tables");
    assert_eq!(out, "item");
    let v = q("SELECT VERSION()").expect("version");
    assert!(v.contains("MariaDB") && !v.starts_with("5.5.5-"), "{v}");
    // @@version with the identity functions: all from the router (the schema, the
    // client's login), none from the server (shopdb, root).
    let out = q("SELECT @@version, DATABASE(), USER()").expect("identity");
    assert_eq!(out, format!("{v}\tshop\tapp@127.0.0.1"));
    // Session variables are replayed onto whichever connection runs the next statement.
    let out = q("SET SESSION sql_mode = 'ANSI_QUOTES'; SELECT @@SESSION.sql_mode; SELECT \"name\" FROM item WHERE id = 1").expect("set");
    assert_eq!(out, "ANSI_QUOTES\napple");
    // An expression is evaluated by the server and replayed as its result.
    let out = q("SET SESSION sql_mode = CONCAT('ANSI_QUOTES', ',', 'NO_ZERO_DATE'); SELECT 1; SELECT @@SESSION.sql_mode").expect("expr set");
    assert_eq!(out, "1\nANSI_QUOTES,NO_ZERO_DATE");
    // A bad value gets the server's error.
    let e = q("SET SESSION sql_mode = 'NO_SUCH_MODE'").expect_err("bad set");
    assert!(e.contains("1231"), "{e}");
    // USE of an unknown schema, SET GLOBAL, an empty statement.
    let e = q("USE nope").expect_err("use");
    assert!(e.contains("1049"), "{e}");
    let e = q("SET GLOBAL max_connections = 5").expect_err("global");
    assert!(e.contains("1227"), "{e}");
    // Server errors pass through untouched.
    let e = q("SELECT * FROM missing_table").expect_err("missing");
    assert!(e.contains("1146") && e.contains("42S02"), "{e}");
    // Transactions: rollback undoes, commit keeps.
    q("BEGIN; INSERT INTO item (name) VALUES ('gone'); ROLLBACK; START TRANSACTION; INSERT INTO item (name) VALUES ('kept'); COMMIT").expect("txn");
    assert_eq!(
        q("SELECT GROUP_CONCAT(name ORDER BY id) FROM item").expect("list"),
        "apple,pear,fig,kept"
    );
    // autocommit=0: statements stay on one connection until COMMIT.
    q("SET autocommit = 0; INSERT INTO item (name) VALUES ('ac0'); SELECT COUNT(*) FROM item; COMMIT; SET autocommit = 1").expect("ac0");
    assert_eq!(
        db.sql("SELECT COUNT(*) FROM shopdb.item WHERE name = 'ac0'"),
        "1"
    );
    // A user variable binds the session to one connection: it keeps its value.
    assert_eq!(q("SET @x = 41; SELECT @x + 1").expect("uservar"), "42");
}

#[test]
fn access_control() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb; CREATE TABLE shopdb.item (id INT PRIMARY KEY, v INT); CREATE TABLE shopdb.user (id INT PRIMARY KEY)");
    let users = "    - { name: app, password: s3cret, schemas: [shop] }\n    - { name: ro, password: ro-pw, schemas: [shop], read_only: true }\n    - { name: limited, password: l-pw, schemas: [shop], privileges: { shop: { dml: \"0110\", tables: { user: \"0010\" } } } }\n    - { name: one, password: one-pw, schemas: [shop], max_connections: 1 }\n    - { name: outsider, password: o-pw, schemas: [shop] }\n  firewall:\n    whitelist:\n      - { host: \"198.18.0.1,127.0.0.1\", users: [app, ro, limited, one] }\n";
    let r = router(&single(&db, users, ""));
    // Before any event, the counters an alert watches exist at 0: every login-failure
    // reason, each data host's write-host switches, each host's borrow timeouts.
    let (_, fresh) = common::http_get(r.observe, "/metrics").expect("metrics");
    for series in [
        "tandem_router_login_failures_total{reason=\"password\"} 0",
        "tandem_router_login_failures_total{reason=\"max_connections\"} 0",
        "tandem_router_write_host_switches_total{data_host=\"dh1\"} 0",
        "tandem_router_pool_borrow_timeouts_total{data_host=\"dh1\",host=\"m1\"} 0",
    ] {
        assert!(fresh.contains(series), "{series}: {fresh}");
    }
    // Wrong password, unknown user: 1045, counted.
    let e = cli(r.addr, "app", "wrong", Some("shop"), "SELECT 1").expect_err("wrong pw");
    assert!(e.contains("1045") && e.contains("Access denied"), "{e}");
    let e = cli(r.addr, "ghost", "x", None, "SELECT 1").expect_err("unknown user");
    assert!(e.contains("1045"), "{e}");
    // The host is on the whitelist, but not for this user: the refusal says so.
    let e = cli(r.addr, "outsider", "o-pw", Some("shop"), "SELECT 1").expect_err("whitelist");
    assert!(
        e.contains("1045")
            && e.contains(
                "(host 127.0.0.1 is on the router's whitelist, but not for user 'outsider')"
            ),
        "{e}"
    );
    let (_, metrics) = common::http_get(r.observe, "/metrics").expect("metrics");
    // `ghost` is not on the whitelist either: refused before its password is looked at.
    assert!(
        metrics.contains("tandem_router_login_failures_total{reason=\"password\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tandem_router_login_failures_total{reason=\"whitelist\"} 2"),
        "{metrics}"
    );
    // read_only: reads fine, writes refused with 1290.
    assert_eq!(
        cli(
            r.addr,
            "ro",
            "ro-pw",
            Some("shop"),
            "SELECT COUNT(*) FROM item"
        )
        .expect("ro read"),
        "0"
    );
    let e = cli(
        r.addr,
        "ro",
        "ro-pw",
        Some("shop"),
        "INSERT INTO item VALUES (1, 1)",
    )
    .expect_err("ro write");
    assert!(e.contains("1290"), "{e}");
    assert_eq!(db.sql("SELECT COUNT(*) FROM shopdb.item"), "0");
    // DML bits: schema 0110 = update + select; table user 0010 = select only.
    let l = |s: &str| cli(r.addr, "limited", "l-pw", Some("shop"), s);
    let e = l("INSERT INTO item VALUES (1, 1)").expect_err("no insert");
    assert!(e.contains("1142") && e.contains("INSERT"), "{e}");
    db.sql("INSERT INTO shopdb.item VALUES (1, 1); INSERT INTO shopdb.user VALUES (1)");
    l("UPDATE item SET v = 2 WHERE id = 1").expect("update allowed");
    assert_eq!(l("SELECT v FROM item").expect("select"), "2");
    let e = l("DELETE FROM item").expect_err("no delete");
    assert!(e.contains("1142"), "{e}");
    let e = l("UPDATE user SET id = 2").expect_err("table override");
    assert!(e.contains("1142") && e.contains("'user'"), "{e}");
    assert_eq!(l("SELECT id FROM user").expect("select user"), "1");
    // max_connections 1: a second concurrent session is refused with 1203.
    let addr = r.addr;
    let hold =
        std::thread::spawn(move || cli(addr, "one", "one-pw", Some("shop"), "SELECT SLEEP(3)"));
    // Only once the holder's session is open (polling earlier could take the slot).
    let open = wait_for(Duration::from_secs(10), || {
        common::http_get(r.observe, "/status")
            .ok()
            .filter(|(_, b)| b.contains("\"sessions\": 1"))
    });
    assert!(open.is_some(), "the holding session never opened");
    let busy = wait_for(Duration::from_secs(10), || {
        cli(r.addr, "one", "one-pw", Some("shop"), "SELECT 1")
            .err()
            .filter(|e| e.contains("1203"))
    });
    assert!(
        busy.is_some(),
        "second session of a max_connections: 1 user was not refused"
    );
    assert!(hold.join().expect("join").is_ok());
}

/// The whitelist as MyCat reads it: comma-separated hosts in one entry, patterns with
/// `*` and `%`, and a matching pattern admits every user (MyCat's masked hosts do not
/// look at their users); an address entry admits its users only.
#[test]
fn whitelist_patterns_and_lists_as_mycat_reads_them() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb");
    let users = |wl: &str| {
        format!(
            "    - {{ name: app, password: a-pw, schemas: [shop] }}\n    - {{ name: other, password: o-pw, schemas: [shop] }}\n  firewall:\n    whitelist:\n{wl}"
        )
    };
    let login = |r: &Router, user: &str, pw: &str| cli(r.addr, user, pw, Some("shop"), "SELECT 7");
    // A pattern matching 127.0.0.1 (`%` and `*` are runs of digits) admits `other` too,
    // although its entry lists only `app`.
    let r = router(&single(
        &db,
        &users("      - { host: \"192.0.2.1, 127.0.%.1*\", users: [app] }\n"),
        "",
    ));
    assert_eq!(login(&r, "app", "a-pw").expect("app"), "7");
    assert_eq!(
        login(&r, "other", "o-pw").expect("pattern admits any user"),
        "7"
    );
    // ... but not a wrong password.
    let e = login(&r, "other", "nope").expect_err("password");
    assert!(
        e.contains("1045") && e.contains("using password: YES"),
        "{e}"
    );
    drop(r);
    // An address in a list admits the entry's users; a pattern that does not match
    // 127.0.0.1 admits nobody from here.
    let r = router(&single(
        &db,
        &users(
            "      - { host: \"192.0.2.1,127.0.0.1\", users: [app] }\n      - { host: \"127.0.1.*\", users: [other] }\n",
        ),
        "",
    ));
    assert_eq!(login(&r, "app", "a-pw").expect("app"), "7");
    let e = login(&r, "other", "o-pw").expect_err("not for other");
    assert!(
        e.contains("1045")
            && e.contains(
                "(host 127.0.0.1 is on the router's whitelist, but not for user 'other')"
            ),
        "{e}"
    );
    drop(r);
    let r = router(&single(
        &db,
        &users("      - { host: \"10.*\", users: [app, other] }\n"),
        "",
    ));
    let e = login(&r, "app", "a-pw").expect_err("host not listed");
    assert!(
        e.contains("1045") && e.contains("(host not in the router's whitelist)"),
        "{e}"
    );
}

/// Two independent servers: a row tells which one answered.
fn marked(name: &str) -> MariaDb {
    let db = MariaDb::start();
    db.sql(&format!("CREATE DATABASE shopdb; CREATE TABLE shopdb.who (v VARCHAR(10)); INSERT INTO shopdb.who VALUES ('{name}')"));
    db
}

fn who_counts(addr: SocketAddr, user: &str, schema: &str, sql: &str) -> (usize, usize) {
    let out = cli(addr, user, "pw", Some(schema), sql).expect("reads");
    let w = out.lines().filter(|l| *l == "writer").count();
    let r = out.lines().filter(|l| *l == "reader").count();
    (w, r)
}

#[test]
fn read_write_split_for_each_balance() {
    let w = marked("writer");
    let rd = marked("reader");
    let mut body = String::from(
        "  users:\n    - { name: u, password: pw, schemas: [s0, s1, s2, s3] }\n  schemas:\n",
    );
    for b in 0..4 {
        body += &format!("    - {{ name: s{b}, data_node: dn{b} }}\n");
    }
    body += "  data_nodes:\n";
    for b in 0..4 {
        body += &format!("    - {{ name: dn{b}, data_host: dh{b}, database: shopdb }}\n");
    }
    body += "  data_hosts:\n";
    for b in 0..4 {
        body += &format!(
            "    - name: dh{b}\n      balance: {b}\n      heartbeat_interval: 500ms\n      min_con: 0\n      write_hosts:\n        - {{ host: w{b}, url: \"{}\", user: root, password: \"\", read_hosts: [ {{ host: r{b}, url: \"{}\", user: root, password: \"\" }} ] }}\n",
            w.addr, rd.addr
        );
    }
    let r = router(&body);
    let reads = "SELECT v FROM who;".repeat(40);
    assert_eq!(
        who_counts(r.addr, "u", "s0", &reads),
        (40, 0),
        "balance 0: all reads on the writer"
    );
    assert_eq!(
        who_counts(r.addr, "u", "s1", &reads),
        (0, 40),
        "balance 1: reads on the read host"
    );
    let (a, b) = who_counts(r.addr, "u", "s2", &reads);
    assert!(
        a > 0 && b > 0 && a + b == 40,
        "balance 2: reads on both ({a}, {b})"
    );
    assert_eq!(
        who_counts(r.addr, "u", "s3", &reads),
        (0, 40),
        "balance 3: reads on the read host"
    );
    // Inside a transaction reads go to the writer; after it, to the read host again.
    let txn = format!("BEGIN; {reads} COMMIT; SELECT v FROM who");
    assert_eq!(who_counts(r.addr, "u", "s3", &txn), (40, 1));
    // SELECT ... FOR UPDATE is a write.
    assert_eq!(
        who_counts(r.addr, "u", "s3", "SELECT v FROM who FOR UPDATE"),
        (1, 0)
    );
    // The servers agree: Com_select grew on the read host for balance 3.
    let before = rd.status("Com_select");
    who_counts(r.addr, "u", "s3", &reads);
    assert!(rd.status("Com_select") >= before + 40);
    // Writes always go to the writer.
    cli(
        r.addr,
        "u",
        "pw",
        Some("s3"),
        "INSERT INTO who VALUES ('new')",
    )
    .expect("write");
    assert_eq!(
        w.sql("SELECT COUNT(*) FROM shopdb.who WHERE v = 'new'"),
        "1"
    );
    assert_eq!(
        rd.sql("SELECT COUNT(*) FROM shopdb.who WHERE v = 'new'"),
        "0"
    );
}

#[test]
fn switch_type_1_fails_over_and_remembers_across_restart() {
    let mut w1 = marked("w1");
    let w2 = marked("w2");
    let body = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      switch_type: 1\n      max_retry: 2\n      heartbeat_interval: 300ms\n      min_con: 1\n      write_hosts:\n        - {}\n        - {}\n",
        host_yaml("w1", &w1),
        host_yaml("w2", &w2)
    );
    let r = router(&body);
    let q = |r: &Router, s: &str| cli(r.addr, "u", "pw", Some("shop"), s);
    assert_eq!(q(&r, "SELECT v FROM who").expect("before"), "w1");
    w1.kill();
    let moved = wait_for(Duration::from_secs(30), || {
        q(
            &r,
            "INSERT INTO who VALUES ('after'); SELECT GROUP_CONCAT(v ORDER BY v) FROM who",
        )
        .ok()
    });
    assert_eq!(moved.as_deref(), Some("after,w2"), "{}", r.daemon.logs());
    let switched = wait_for(Duration::from_secs(5), || {
        let (_, m) = common::http_get(r.observe, "/metrics").ok()?;
        m.contains("tandem_router_write_host_switches_total{data_host=\"dh1\"} 1")
            .then_some(())
    });
    assert!(switched.is_some(), "the switch was not counted in /metrics");
    assert!(
        r.daemon
            .logs()
            .contains("write host switched from w1 to w2"),
        "{}",
        r.daemon.logs()
    );
    // The active index is on disk; a restart stays on w2 even with w1 back.
    w1.restart();
    let r = r.restart();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        q(&r, "SELECT GROUP_CONCAT(v ORDER BY v) FROM who").expect("after restart"),
        "after,w2"
    );
    let a = cli(r.admin, "u", "pw", None, "show @@datanode").expect_err("u is not admin");
    assert!(a.contains("1045"), "{a}");
}

/// As MyCat 1.6: when a write host's heartbeat fails, its read hosts (which replicate
/// from it, so they fall behind) get no reads either, unless `temp_read_host_available`.
#[test]
fn a_down_write_host_takes_its_read_hosts_with_it_unless_temp_read_host_available() {
    let mut w = marked("writer");
    let rd = marked("reader");
    let mut body = String::from(
        "  users:\n    - { name: u, password: pw, schemas: [plain, temp] }\n  schemas:\n    - { name: plain, data_node: dn_plain }\n    - { name: temp, data_node: dn_temp }\n  data_nodes:\n    - { name: dn_plain, data_host: dh_plain, database: shopdb }\n    - { name: dn_temp, data_host: dh_temp, database: shopdb }\n  data_hosts:\n",
    );
    for (name, extra) in [
        ("plain", ""),
        ("temp", "      temp_read_host_available: true\n"),
    ] {
        body += &format!(
            "    - name: dh_{name}\n      balance: 3\n      switch_type: -1\n      heartbeat_interval: 300ms\n      min_con: 0\n{extra}      write_hosts:\n        - {{ host: w_{name}, url: \"{}\", user: root, password: \"\", read_hosts: [ {{ host: r_{name}, url: \"{}\", user: root, password: \"\" }} ] }}\n",
            w.addr, rd.addr
        );
    }
    let r = router(&body);
    let reads = "SELECT v FROM who;".repeat(5);
    for schema in ["plain", "temp"] {
        assert_eq!(who_counts(r.addr, "u", schema, &reads), (0, 5), "{schema}");
    }
    w.kill();
    assert!(
        r.daemon
            .wait_log("data host dh_plain: host w_plain is DOWN"),
        "{}",
        r.daemon.logs()
    );
    assert!(
        r.daemon.wait_log("data host dh_temp: host w_temp is DOWN"),
        "{}",
        r.daemon.logs()
    );
    // The reason reads as the README quotes it: no "(os error 111)".
    let logs = r.daemon.logs();
    let down = logs
        .lines()
        .find(|l| l.contains("host w_plain is DOWN"))
        .unwrap_or_default();
    assert!(
        down.contains(": Connection refused, ") && !down.contains("os error"),
        "{down}"
    );
    // Where reads go now, per /status: dh_plain's to its (dead) write host, which has
    // them when no host qualifies; dh_temp's to its read host.
    let (_, status) = common::http_get(r.observe, "/status").expect("status");
    let v: serde_json::Value = serde_json::from_str(&status).expect("json");
    let takes = |dh: usize, host: usize| {
        v["subsystems"]["router"]["data_hosts"][dh]["hosts"][host]["reads"].as_bool()
    };
    assert_eq!(
        (takes(0, 0), takes(0, 1)),
        (Some(true), Some(false)),
        "{status}"
    );
    assert_eq!(
        (takes(1, 0), takes(1, 1)),
        (Some(false), Some(true)),
        "{status}"
    );
    // Every host has had its heartbeat by now (`checked`; `tandem status` shows "not
    // checked yet" before).
    assert_eq!(
        v["subsystems"]["router"]["data_hosts"][0]["hosts"][0]["checked"], true,
        "{status}"
    );
    // temp_read_host_available: the read host goes on serving.
    assert_eq!(who_counts(r.addr, "u", "temp", &reads), (0, 5));
    // Otherwise the read goes to the (dead) write host: an error, never the stale replica.
    let e = cli(r.addr, "u", "pw", Some("plain"), "SELECT v FROM who").expect_err("no host");
    assert!(!e.contains("reader"), "{e}");
    let (_, status) = common::http_get(r.observe, "/status").expect("status");
    assert!(
        status.contains("\"no_reads_reason\": \"its write host w_plain is down\""),
        "{status}"
    );
    // Back: the read host serves again.
    w.restart();
    let back = wait_for(Duration::from_secs(20), || {
        cli(r.addr, "u", "pw", Some("plain"), "SELECT v FROM who")
            .ok()
            .filter(|v| v == "reader")
    });
    assert!(back.is_some(), "{}", r.daemon.logs());
}

#[test]
fn switch_type_2_reads_leave_a_lagging_replica() {
    let pair = ReplicaPair::start();
    pair.primary
        .sql("CREATE DATABASE shopdb; CREATE TABLE shopdb.t (id INT PRIMARY KEY)");
    pair.wait_caught_up();
    let body = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n{ADMIN_ROOT}  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      balance: 3\n      switch_type: 2\n      slave_threshold: 5\n      heartbeat: show slave status\n      heartbeat_interval: 300ms\n      min_con: 0\n      write_hosts:\n        - {{ host: p, url: \"{}\", user: root, password: \"\", read_hosts: [ {{ host: r, url: \"{}\", user: root, password: \"\" }} ] }}\n",
        pair.primary.addr, pair.replica.addr
    );
    let r = router(&body);
    let server_id = || cli(r.addr, "u", "pw", Some("shop"), "SELECT @@server_id").ok();
    let replica_id = pair.replica.sql("SELECT @@server_id");
    let primary_id = pair.primary.sql("SELECT @@server_id");
    assert!(
        wait_for(Duration::from_secs(20), || server_id()
            .filter(|s| *s == replica_id))
        .is_some(),
        "reads never reached the replica"
    );
    pair.stop_sql_thread();
    assert!(
        wait_for(Duration::from_secs(20), || server_id()
            .filter(|s| *s == primary_id))
        .is_some(),
        "reads stayed on a replica whose SQL thread is stopped: {}",
        r.daemon.logs()
    );
    // Several reads in a row all avoid it.
    for _ in 0..10 {
        assert_eq!(server_id().as_deref(), Some(primary_id.as_str()));
    }
    // The operator reads why, once.
    let no_reads = "data host dh1: host r gets no reads (replication SQL thread not running)";
    assert!(r.daemon.wait_log(no_reads), "{}", r.daemon.logs());
    // MyCat's `show @@datasource.synstatus`: the replica's SHOW SLAVE STATUS fields.
    let mut adm = common::wire::Conn::connect(r.admin, "root", "adm", None).expect("admin");
    let rows = adm.query("show @@datasource.synstatus").expect("synstatus");
    let types: Vec<u8> = adm.last_types.iter().map(|t| t.0).collect();
    assert_eq!(
        types,
        [253, 253, 253, 253, 3, 253, 3, 253, 253, 253, 3, 253, 253, 3]
    );
    let row = rows
        .iter()
        .find(|row| row[0].as_deref() == Some("r"))
        .unwrap_or_else(|| panic!("no row for the replica: {rows:?}"));
    let port = pair.primary.addr.port().to_string();
    assert_eq!(row[1].as_deref(), Some("127.0.0.1"), "{row:?}");
    assert_eq!(
        row[4].as_deref(),
        Some(port.as_str()),
        "Master_Port: {row:?}"
    );
    assert_eq!(row[7].as_deref(), Some("Yes"), "Slave_IO_Running: {row:?}");
    assert_eq!(row[8].as_deref(), Some("No"), "Slave_SQL_Running: {row:?}");
    assert_eq!(row[13].as_deref(), Some("0"), "Last_SQL_Errno: {row:?}");
    assert!(
        rows.iter().all(|row| row[0].as_deref() != Some("p")),
        "the primary is no replica: {rows:?}"
    );
    let (_, status) = common::http_get(r.observe, "/status").expect("status");
    assert!(
        status.contains("\"no_reads_reason\": \"replication SQL thread not running\""),
        "{status}"
    );
    // Its lag is unknown: no lag series (not a sentinel value).
    let lag_series = "tandem_router_replication_lag_seconds{data_host=\"dh1\",host=\"r\"}";
    let metrics = || {
        common::http_get(r.observe, "/metrics")
            .map(|(_, m)| m)
            .unwrap_or_default()
    };
    assert!(
        wait_for(Duration::from_secs(20), || (!metrics()
            .contains(lag_series))
        .then_some(()))
        .is_some(),
        "{}",
        metrics()
    );
    pair.start_sql_thread();
    pair.wait_caught_up();
    assert!(
        wait_for(Duration::from_secs(20), || server_id()
            .filter(|s| *s == replica_id))
        .is_some(),
        "reads did not come back to the replica"
    );
    assert!(
        r.daemon
            .wait_log("data host dh1: host r gets reads again (replication running, lag "),
        "{}",
        r.daemon.logs()
    );
    assert_eq!(
        r.daemon.logs().matches(no_reads).count(),
        1,
        "{}",
        r.daemon.logs()
    );
    assert!(
        wait_for(Duration::from_secs(20), || metrics()
            .lines()
            .any(|l| l.starts_with(lag_series))
            .then_some(()))
        .is_some(),
        "{}",
        metrics()
    );
    let (_, status) = common::http_get(r.observe, "/status").expect("status");
    assert!(status.contains("\"replica\": true"), "{status}");
}

#[test]
fn pool_exhaustion_is_an_error_not_a_hang() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb");
    let r = router(&single(
        &db,
        APP,
        "      max_con: 1\n      borrow_timeout: 1s\n",
    ));
    let addr = r.addr;
    // This session holds the only connection inside a transaction.
    let hold = std::thread::spawn(move || {
        cli(
            addr,
            "app",
            "s3cret",
            Some("shop"),
            "BEGIN; SELECT SLEEP(5); COMMIT",
        )
    });
    let refused = wait_for(Duration::from_secs(10), || {
        let start = std::time::Instant::now();
        cli(r.addr, "app", "s3cret", Some("shop"), "SELECT 1 + 1")
            .err()
            .filter(|e| e.contains("1040"))
            .map(|e| (e, start.elapsed()))
    });
    let (e, _took) = refused.expect("no pool exhaustion error");
    assert!(
        e.contains("no free connection") && e.contains("max_con"),
        "{e}"
    );
    assert!(hold.join().expect("join").is_ok());
    // Free again afterwards.
    assert_eq!(
        cli(r.addr, "app", "s3cret", Some("shop"), "SELECT 1 + 1").expect("after"),
        "2"
    );
}

fn sysbench(addr: SocketAddr, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(["--tables=2", "--table-size=10000", "--db-ps-mode=auto"]);
    common::clients::sysbench_sb(None, addr, &all)
}

#[test]
fn sysbench_oltp_read_write_with_server_side_prepared_statements() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE sbdb");
    let users = "    - { name: sb, password: sbpw, schemas: [sbtest] }\n";
    let body = format!(
        "  users:\n{users}  schemas:\n    - {{ name: sbtest, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: sbdb }}\n  data_hosts:\n    - name: dh1\n      min_con: 2\n      max_con: 16\n      write_hosts:\n        - {}\n",
        host_yaml("m1", &db)
    );
    let r = router(&body);
    sysbench(r.addr, &["oltp_read_write", "prepare"]);
    let ignored = |out: &str| {
        out.lines()
            .find(|l| l.contains("ignored errors:"))
            .and_then(|l| l.split_whitespace().nth(2))
            .and_then(|n| n.parse::<u64>().ok())
    };
    // One thread: nothing can deadlock, so any error would be the router's.
    let out = sysbench(
        r.addr,
        &[
            "oltp_read_write",
            "run",
            "--threads=1",
            "--events=150",
            "--time=60",
        ],
    );
    assert_eq!(ignored(&out), Some(0), "{out}");
    assert!(
        out.contains("total number of events:              150"),
        "{out}"
    );
    // Four threads: every transaction completes; the only errors sysbench tolerates are
    // the server's deadlock/lock-wait answers (InnoDB picks a victim now and then, as it
    // does without the router), and they stay rare.
    let out = sysbench(
        r.addr,
        &[
            "oltp_read_write",
            "run",
            "--threads=4",
            "--events=400",
            "--time=60",
        ],
    );
    assert!(ignored(&out).is_some_and(|n| n <= 4), "{out}");
    assert!(
        out.contains("total number of events:              400"),
        "{out}"
    );
    sysbench(r.addr, &["oltp_read_write", "cleanup"]);
    assert_eq!(
        db.sql("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'sbdb'"),
        "0"
    );
    // The server saw prepared statements (binary protocol), not text queries.
    assert!(db.status("Com_stmt_execute") > 1000);
}

#[test]
fn pymysql_and_connector_j_scripts() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb");
    let r = router(&single(&db, APP, ""));
    let (ok, out) = common::clients::run_pymysql(r.addr, "app", "s3cret", "shop", "py_smoke");
    assert!(
        ok,
        "PyMySQL through the router:\n{out}\n{}",
        r.daemon.logs()
    );
    let (ok, out) = common::clients::run_connector_j(r.addr, "app", "s3cret", "shop", "j_smoke");
    assert!(
        ok,
        "Connector/J through the router:\n{out}\n{}",
        r.daemon.logs()
    );
    assert!(db.status("Com_stmt_prepare") > 0);
}

/// MyCat monitoring tools read the admin port over JDBC.
#[test]
fn admin_port_over_jdbc() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb");
    let r = router(&single(&db, &format!("{APP}{ADMIN_ROOT}"), ""));
    let (ok, out) = common::clients::run_connector_j_admin(r.admin, "root", "adm");
    assert!(
        ok,
        "Connector/J on the admin port:\n{out}\n{}",
        r.daemon.logs()
    );
    assert!(
        out.contains("show @@processor: NAME,NET_IN,NET_OUT"),
        "{out}"
    );
    // What other drivers and tools ask, answered by the admin port itself.
    let mut adm = common::wire::Conn::connect(r.admin, "root", "adm", None).expect("login");
    let rows = adm
        .query("/* mysql-connector-java-5.1.49 */SELECT @@session.auto_increment_increment AS auto_increment_increment, @@max_allowed_packet, 1")
        .expect("variables");
    assert_eq!(
        adm.last_names,
        ["auto_increment_increment", "@@max_allowed_packet", "1"]
    );
    assert_eq!(
        rows,
        [[
            Some("1".to_string()),
            Some("1048576".into()),
            Some("1".into())
        ]]
    );
    let rows = adm
        .query("SHOW VARIABLES LIKE 'max_allowed%'")
        .expect("show variables");
    assert_eq!(
        rows,
        [[
            Some("max_allowed_packet".to_string()),
            Some("1048576".into())
        ]]
    );
    assert!(
        adm.query("SHOW COLLATION")
            .expect("collation")
            .iter()
            .any(|r| r[0].as_deref() == Some("utf8mb4_general_ci"))
    );
    let e = adm.query("SELECT @@nosuch").expect_err("unknown");
    assert_eq!(e.code, 1193, "{e}");
}

#[test]
fn admin_port_commands() {
    let w1 = marked("w1");
    let w2 = marked("w2");
    let body = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n    - {{ name: root, password: adm, admin: true }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      switch_type: -1\n      heartbeat_interval: 500ms\n      min_con: 1\n      write_hosts:\n        - {}\n        - {}\n",
        host_yaml("w1", &w1),
        host_yaml("w2", &w2)
    );
    let r = router(&body);
    let adm = |s: &str| {
        let mut cmd = Command::new("mariadb");
        cmd.arg("--no-defaults")
            .arg(format!("--host={}", r.admin.ip()))
            .arg(format!("--port={}", r.admin.port()))
            .args([
                "--user=root",
                "--password=adm",
                "--protocol=TCP",
                "--batch",
                "--connect-timeout=10",
                "-e",
                s,
            ])
            .stdin(Stdio::null());
        let out = cmd.output().expect("mariadb");
        assert!(
            out.status.success(),
            "{s}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let help = adm("show @@help");
    assert!(help.starts_with("STATEMENT\tDESCRIPTION"), "{help}");
    let ds = adm("show @@datasource");
    assert!(
        ds.starts_with("DATANODE\tNAME\tTYPE\tHOST\tPORT\tW/R\tACTIVE\tIDLE\tSIZE\tEXECUTE"),
        "{ds}"
    );
    assert!(ds.contains("\tw1\t") && ds.contains("\tw2\t"), "{ds}");
    let dn = adm("show @@datanode");
    assert!(dn.contains("dn1\tdh1/shopdb\t0"), "{dn}");
    let hb = adm("show @@heartbeat");
    assert!(hb.starts_with("NAME\tTYPE\tHOST\tPORT\tRS_CODE"), "{hb}");
    // EXECUTE_TIME: MyCat's mean response times (ms) over 1, 10 and 30 minutes.
    let w1_row: Vec<&str> = hb
        .lines()
        .find(|l| l.starts_with("w1\t"))
        .map(|l| l.split('\t').collect())
        .unwrap_or_default();
    let avgs: Vec<&str> = w1_row
        .get(8)
        .map(|v| v.split(',').collect())
        .unwrap_or_default();
    assert!(
        avgs.len() == 3 && avgs.iter().all(|a| a.parse::<u64>().is_ok()),
        "{hb}"
    );
    // Each heartbeat of a host, with its time (UTC) and response time.
    let detail = wait_for(Duration::from_secs(10), || {
        let d = adm("show @@heartbeat.detail where name = w1");
        (d.lines().count() >= 3).then_some(d)
    })
    .expect("heartbeats recorded");
    let mut lines = detail.lines();
    assert_eq!(
        lines.next(),
        Some("NAME\tTYPE\tHOST\tPORT\tTIME\tEXECUTE_TIME")
    );
    for l in lines {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(
            f[..4],
            [
                "w1",
                "mysql",
                "127.0.0.1",
                w1.addr.port().to_string().as_str()
            ]
        );
        assert!(
            f[4].len() == 19 && f[4].starts_with("20") && f[4].as_bytes()[10] == b' ',
            "{l}"
        );
        assert!(f[5].parse::<u64>().is_ok(), "{l}");
    }
    let e = cli(
        r.admin,
        "root",
        "adm",
        None,
        "show @@heartbeat.detail where name = nosuch",
    )
    .expect_err("unknown host");
    assert!(e.contains("no host named 'nosuch'"), "{e}");
    assert!(adm("show @@sysparam").contains("PARAM_NAME"));
    // switch @@datasource moves writes.
    let q = |s: &str| cli(r.addr, "u", "pw", Some("shop"), s);
    assert_eq!(q("SELECT v FROM who").expect("w1"), "w1");
    adm("switch @@datasource dh1:1");
    assert_eq!(q("SELECT v FROM who").expect("w2"), "w2");
    assert!(r.daemon.logs().contains("admin: switch @@datasource"));
    // kill @@connection ends a client session.
    let addr = r.addr;
    let victim = std::thread::spawn(move || cli(addr, "u", "pw", Some("shop"), "SELECT SLEEP(20)"));
    let id = wait_for(Duration::from_secs(10), || {
        adm("show @@connection")
            .lines()
            .find(|l| l.contains("\tu\t"))
            .and_then(|l| l.split('\t').nth(1).map(str::to_string))
    })
    .expect("victim session listed");
    adm(&format!("kill @@connection {id}"));
    let res = victim.join().expect("join");
    assert!(res.is_err(), "killed session still answered: {res:?}");
    // Nothing to roll back before a reload (MyCat's error).
    let e = cli(r.admin, "root", "adm", None, "rollback @@config").expect_err("no reload yet");
    assert!(
        e.contains("1003") && e.contains("Rollback config failure"),
        "{e}"
    );
    let server_row = |adm: &dyn Fn(&str) -> String| -> Vec<String> {
        let out = adm("show @@server");
        let mut lines = out.lines();
        assert_eq!(
            lines.next(),
            Some(
                "UPTIME\tUSED_MEMORY\tTOTAL_MEMORY\tMAX_MEMORY\tRELOAD_TIME\tROLLBACK_TIME\tCHARSET\tSTATUS"
            )
        );
        lines
            .next()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .unwrap_or_default()
    };
    assert_eq!(server_row(&adm)[5], "-1", "no rollback yet");
    // reload @@config picks up a new user without touching pools.
    let text = std::fs::read_to_string(&r.config).expect("config");
    std::fs::write(&r.config, text.replace("    - { name: u, password: pw, schemas: [shop] }\n", "    - { name: u, password: pw, schemas: [shop] }\n    - { name: v, password: pw2, schemas: [shop] }\n")).expect("write");
    adm("reload @@config");
    assert_eq!(
        cli(r.addr, "v", "pw2", Some("shop"), "SELECT 7").expect("new user"),
        "7"
    );
    let reloaded_at = server_row(&adm)[4].clone();
    // rollback @@config runs the config from before the reload again: v is gone, the
    // pools kept (as that reload kept them), the file untouched.
    adm("rollback @@config");
    let e = cli(r.addr, "v", "pw2", Some("shop"), "SELECT 7").expect_err("rolled back");
    assert!(e.contains("1045"), "{e}");
    assert_eq!(q("SELECT v FROM who").expect("pools kept"), "w2");
    let row = server_row(&adm);
    assert_eq!(row[4], reloaded_at, "RELOAD_TIME stays the reload's");
    assert!(
        row[5]
            .parse::<u64>()
            .is_ok_and(|t| t >= reloaded_at.parse::<u64>().unwrap_or(0)),
        "ROLLBACK_TIME: {row:?}"
    );
    assert!(
        r.daemon
            .wait_log("config rolled back: now running generation")
    );
    // Once per reload, as MyCat.
    let e = cli(r.admin, "root", "adm", None, "rollback @@config").expect_err("twice");
    assert!(
        e.contains("1003") && e.contains("Rollback config failure"),
        "{e}"
    );
    // The next reload reads the file again.
    adm("reload @@config");
    assert_eq!(
        cli(r.addr, "v", "pw2", Some("shop"), "SELECT 8").expect("file applied again"),
        "8"
    );
    for unsupported in [
        "reload @@user",
        "reload @@route",
        "rollback @@user",
        "rollback @@route",
    ] {
        let e = cli(r.admin, "root", "adm", None, unsupported).expect_err(unsupported);
        assert!(
            e.contains("1003") && e.contains("Unsupported statement"),
            "{unsupported}: {e}"
        );
    }
    let bad = cli(r.admin, "root", "adm", None, "reload @@nothing").expect_err("unknown");
    assert!(bad.contains("1064"), "{bad}");
    let _ = Path::new("/");
}

/// The mariadb CLI starting with a given auth plugin.
fn cli_auth(addr: SocketAddr, user: &str, pw: &str, plugin: &str) -> Result<String, String> {
    let out = Command::new("mariadb")
        .arg("--no-defaults")
        .arg(format!("--host={}", addr.ip()))
        .arg(format!("--port={}", addr.port()))
        .arg(format!("--user={user}"))
        .arg(format!("--password={pw}"))
        .arg(format!("--default-auth={plugin}"))
        .args([
            "--protocol=TCP",
            "--batch",
            "--skip-column-names",
            "--connect-timeout=10",
        ])
        .args(["-e", "SELECT CURRENT_USER()"])
        .stdin(Stdio::null())
        .output()
        .expect("mariadb");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

#[test]
fn auth_plugins_and_auth_switch_both_ways() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb");
    // Default: the router asks for mysql_native_password.
    let native = router(&single(&db, APP, ""));
    for plugin in [
        "mysql_native_password",
        "caching_sha2_password",
        "client_ed25519",
    ] {
        assert_eq!(
            cli_auth(native.addr, "app", "s3cret", plugin).as_deref(),
            Ok("app@%"),
            "client starting with {plugin}"
        );
    }
    let e = cli_auth(native.addr, "app", "nope", "caching_sha2_password").expect_err("bad pw");
    assert!(e.contains("1045"), "{e}");
    // caching_sha2_password: the fast path, and a native client switched to it.
    let body = single(&db, APP, "").replacen(
        "  users:\n",
        "  auth_plugin: caching_sha2_password\n  users:\n",
        1,
    );
    let sha2 = router(&body);
    for plugin in ["caching_sha2_password", "mysql_native_password"] {
        assert_eq!(
            cli_auth(sha2.addr, "app", "s3cret", plugin).as_deref(),
            Ok("app@%"),
            "client starting with {plugin}"
        );
    }
    let e = cli_auth(sha2.addr, "app", "nope", "mysql_native_password").expect_err("bad pw");
    assert!(e.contains("1045"), "{e}");
    // PyMySQL and Connector/J follow the switch too.
    let (ok, out) = common::clients::run_pymysql(sha2.addr, "app", "s3cret", "shop", "py_sha2");
    assert!(ok, "PyMySQL with caching_sha2_password:\n{out}");
}

/// The statements MySQL Connector/J 8.0 and 5.1 send when they connect (the driver is not
/// packaged in Debian; its startup probes are replayed here as it sends them).
#[test]
fn mysql_connector_j_startup_probes() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb");
    let r = router(&single(&db, APP, ""));
    let probe8 = "/* mysql-connector-j-8.0.33 (Revision: 7d6b0800528b6b25c68b52dc10d6c1c8429c100c) */SELECT  @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS character_set_client, @@character_set_connection AS character_set_connection, @@character_set_results AS character_set_results, @@character_set_server AS character_set_server, @@collation_server AS collation_server, @@collation_connection AS collation_connection, @@init_connect AS init_connect, @@interactive_timeout AS interactive_timeout, @@license AS license, @@lower_case_table_names AS lower_case_table_names, @@max_allowed_packet AS max_allowed_packet, @@net_write_timeout AS net_write_timeout, @@performance_schema AS performance_schema, @@sql_mode AS sql_mode, @@system_time_zone AS system_time_zone, @@time_zone AS time_zone, @@tx_isolation AS transaction_isolation, @@wait_timeout AS wait_timeout";
    let script = format!(
        "{probe8}; SET character_set_results = NULL; SET autocommit=1; SELECT @@session.tx_read_only; \
         SHOW VARIABLES WHERE Variable_name = 'language' OR Variable_name = 'net_write_timeout'; \
         SET NAMES utf8mb4; SET sql_mode='STRICT_TRANS_TABLES'; SELECT @@session.auto_increment_increment; \
         SELECT @@session.sql_mode; SELECT DATABASE()"
    );
    let out = cli(r.addr, "app", "s3cret", Some("shop"), &script).expect("Connector/J probes");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].split('\t').count(), 19, "{out}");
    assert!(lines.contains(&"0"), "tx_read_only answered: {out}");
    assert!(
        lines.iter().any(|l| l.starts_with("net_write_timeout\t")),
        "{out}"
    );
    // The session's sql_mode followed it, and the schema is the router's name.
    assert_eq!(lines[lines.len() - 2], "STRICT_TRANS_TABLES", "{out}");
    assert_eq!(lines[lines.len() - 1], "shop", "{out}");
}

#[test]
fn kill_query_statistics_and_ping() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb");
    let users = "    - { name: app, password: s3cret, schemas: [shop] }\n    - { name: root, password: adm, admin: true }\n";
    let r = router(&single(&db, users, ""));
    // A long statement in one session...
    let addr = r.addr;
    let victim =
        std::thread::spawn(move || cli(addr, "app", "s3cret", Some("shop"), "SELECT SLEEP(30)"));
    // ...found through the router's own connection ids...
    let victim_id = || {
        wait_for(Duration::from_secs(10), || {
            cli(r.admin, "root", "adm", None, "show @@connection")
                .ok()?
                .lines()
                .find(|l| l.contains("\tapp\t"))
                .and_then(|l| l.split('\t').nth(1).map(str::to_string))
        })
        .expect("victim listed")
    };
    let id = victim_id();
    // ...and stopped by KILL QUERY from another session.
    std::thread::sleep(Duration::from_millis(300));
    cli(
        r.addr,
        "app",
        "s3cret",
        Some("shop"),
        &format!("KILL QUERY {id}"),
    )
    .expect("kill query");
    let out = victim.join().expect("join");
    // MariaDB reports the interruption (1317); MySQL's SLEEP() returns 1 (an
    // uninterrupted SLEEP returns 0).
    let interrupted = match &out {
        Ok(v) => v == "1",
        Err(e) => e.contains("1317"),
    };
    assert!(interrupted, "{out:?}");
    // KILL CONNECTION: the statement stops and the client loses its connection, as
    // from a server (no answer: the CLI reports 2013), and the router goes on.
    let victim = std::thread::spawn(move || {
        cli(
            addr,
            "app",
            "s3cret",
            Some("shop"),
            "SELECT SLEEP(30); SELECT 'after'",
        )
    });
    let id = victim_id();
    let sleeping = || {
        db.sql(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(30)'",
        )
    };
    wait_for(Duration::from_secs(10), || {
        (sleeping().trim() == "1").then_some(())
    })
    .expect("the statement runs on the server");
    cli(
        r.addr,
        "app",
        "s3cret",
        Some("shop"),
        &format!("KILL CONNECTION {id}"),
    )
    .expect("kill connection");
    let out = victim.join().expect("join");
    let e = out.expect_err("killed");
    assert!(e.contains("2013") && !e.contains("after"), "{e}");
    wait_for(Duration::from_secs(10), || {
        (sleeping().trim() == "0").then_some(())
    })
    .expect("the statement stopped on the server");
    let e = cli(r.addr, "app", "s3cret", Some("shop"), "KILL 999999").expect_err("unknown id");
    assert!(e.contains("1094"), "{e}");
    // COM_STATISTICS and COM_PING through mariadb-admin, also for an operator user with
    // no schemas (the router's own figures).
    for (user, cmd, want) in [
        ("-uapp -ps3cret", "status", "Uptime:"),
        ("-uapp -ps3cret", "ping", "mysqld is alive"),
        ("-uroot -padm", "status", "Threads:"),
        ("-uroot -padm", "ping", "mysqld is alive"),
    ] {
        let out = Command::new("mariadb-admin")
            .args(["--no-defaults", "--protocol=TCP", "-h127.0.0.1"])
            .arg(format!("-P{}", r.addr.port()))
            .args(user.split(' '))
            .arg(cmd)
            .stdin(Stdio::null())
            .output()
            .expect("mariadb-admin");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(want),
            "{user} {cmd}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn sessions_keep_their_backend_connection_while_it_is_free() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb");
    let r = router(&single(&db, APP, ""));
    // Two clients interleave statements; each one's statements run on one server thread
    // (after the first two, while the pool still sorts itself out), and not the same
    // one for both.
    let script: String = (0..25)
        .map(|_| "SELECT @@pseudo_thread_id; DO SLEEP(0.01);")
        .collect();
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (addr, script) = (r.addr, script.clone());
            std::thread::spawn(move || cli(addr, "app", "s3cret", Some("shop"), &script))
        })
        .collect();
    let mut steady = Vec::new();
    for c in clients {
        let out = c.join().expect("join").expect("client script");
        let ids: Vec<&str> = out.lines().collect();
        assert_eq!(ids.len(), 25, "{out}");
        let later: std::collections::BTreeSet<&str> = ids[2..].iter().copied().collect();
        assert_eq!(
            later.len(),
            1,
            "one session moved between server threads: {ids:?}"
        );
        steady.push(ids[24].to_string());
    }
    assert_ne!(steady[0], steady[1], "both sessions on one server thread");
}

/// One data host with a single backend connection, so that consecutive clients share it.
fn one_connection(db: &MariaDb) -> Router {
    router(&single(db, APP, "      max_con: 1\n"))
}

#[test]
fn session_state_does_not_leak_to_the_next_client_of_a_pooled_connection() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb; CREATE TABLE shopdb.t (id INT PRIMARY KEY)");
    let r = one_connection(&db);
    let q = |s: &str| cli(r.addr, "app", "s3cret", Some("shop"), s);
    let default_mode = q("SELECT @@SESSION.sql_mode").expect("mode");
    assert!(!default_mode.contains("ANSI_QUOTES"), "{default_mode}");
    // Client A changes its session, with constants (the router replays them itself).
    q("SET SESSION sql_mode = 'ANSI_QUOTES'; SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE; SET NAMES latin1").expect("a");
    // Client B, next on the same server connection, has a fresh session.
    let out =
        q("SELECT @@SESSION.sql_mode, @@SESSION.tx_isolation, @@SESSION.character_set_client")
            .expect("b");
    let default_cs = q("SELECT @@SESSION.character_set_client").expect("cs");
    assert_eq!(
        out,
        format!("{default_mode}\tREPEATABLE-READ\t{default_cs}")
    );
    assert_ne!(default_cs, "latin1");
    // autocommit=0 together with another variable goes to the server: the connection
    // is not handed to the next client in that state.
    q("SET autocommit = 0, sql_mode = 'NO_ZERO_DATE'; INSERT INTO t VALUES (7)").expect("ac0");
    assert_eq!(
        q("SELECT @@autocommit, @@SESSION.sql_mode").expect("c"),
        format!("1\t{default_mode}")
    );
    q("INSERT INTO t VALUES (8)").expect("insert");
    // 7 was never committed (client A quit inside its transaction); 8 was.
    assert_eq!(db.sql("SELECT GROUP_CONCAT(id) FROM shopdb.t"), "8");
}

#[test]
fn an_error_inside_a_transaction_keeps_it_on_its_connection_until_rollback() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb; CREATE TABLE shopdb.t (id INT PRIMARY KEY)");
    let r = one_connection(&db);
    let (ok, out) =
        common::clients::run_router_session_checks(r.addr, "app", "s3cret", "txn-error");
    assert!(ok, "{out}\n{}", r.daemon.logs());
    // The ROLLBACK after the duplicate-key error reached the server: row 1 is gone, row
    // 2 (autocommit) is committed, and no transaction is left open in the pool.
    assert_eq!(db.sql("SELECT GROUP_CONCAT(id) FROM shopdb.t"), "2");
    assert_eq!(
        db.sql("SELECT COUNT(*) FROM information_schema.innodb_trx"),
        "0"
    );
}

#[test]
fn prepared_statements_are_closed_on_the_server_and_bound_to_their_database() {
    let db = MariaDb::start();
    db.sql(
        "CREATE DATABASE db_one; CREATE TABLE db_one.t (id INT PRIMARY KEY, name TEXT); \
         INSERT INTO db_one.t VALUES (1, 'one'); \
         CREATE DATABASE db_two; CREATE TABLE db_two.t (id INT PRIMARY KEY, name TEXT); \
         INSERT INTO db_two.t VALUES (1, 'two'); CREATE DATABASE shopdb",
    );
    let body = format!(
        "  users:\n    - {{ name: app, password: s3cret, schemas: [shop, one, two] }}\n  schemas:\n    - {{ name: shop, data_node: dn0 }}\n    - {{ name: one, data_node: dn1 }}\n    - {{ name: two, data_node: dn2 }}\n  data_nodes:\n    - {{ name: dn0, data_host: dh1, database: shopdb }}\n    - {{ name: dn1, data_host: dh1, database: db_one }}\n    - {{ name: dn2, data_host: dh1, database: db_two }}\n  data_hosts:\n    - name: dh1\n      min_con: 1\n      max_con: 1\n      write_hosts:\n        - {}\n",
        host_yaml("m1", &db)
    );
    let r = router(&body);
    // prepare / execute / close, 3,000 times: the server does not pile up statements.
    let (ok, out) =
        common::clients::run_router_session_checks(r.addr, "app", "s3cret", "stmt-loop");
    assert!(ok, "{out}\n{}", r.daemon.logs());
    let held = db.status("Prepared_stmt_count");
    assert!(held <= 300, "{held} prepared statements held on the server");
    // The same text prepared in two databases on one server connection: each execute
    // reads its own database.
    let (ok, out) = common::clients::run_router_session_checks(r.addr, "app", "s3cret", "stmt-db");
    assert!(ok, "{out}\n{}", r.daemon.logs());
}

#[test]
fn a_command_of_16_mib_or_more_is_answered_in_sequence() {
    let db = MariaDb::start_with(&["--max-allowed-packet=64M"]);
    db.sql("CREATE DATABASE shopdb; CREATE TABLE shopdb.b (id INT PRIMARY KEY, v LONGTEXT)");
    let r = router(&single(&db, APP, ""));
    // 17 MiB of statement text: two physical packets from the client, so the answer
    // must start at sequence id 2 (the client reports "Packets out of order" otherwise).
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 17 * 1024 * 1024;
    let script = format!(
        "INSERT INTO b VALUES (1, '{}');\nSELECT id, LENGTH(v) FROM b;\n",
        "x".repeat(n)
    );
    let path = write(dir.path(), "big.sql", &script);
    let out = Command::new("mariadb")
        .args([
            "--no-defaults",
            "--protocol=TCP",
            "--batch",
            "--skip-column-names",
        ])
        .arg("--host=127.0.0.1")
        .arg(format!("--port={}", r.addr.port()))
        .args(["--user=app", "--password=s3cret", "--database=shop"])
        .arg("--max-allowed-packet=64M")
        .stdin(std::fs::File::open(&path).expect("open script"))
        .output()
        .expect("mariadb client");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}\n{}", r.daemon.logs());
    assert_eq!(text.trim(), format!("1\t{n}"));
}

/// A router with two write hosts (no automatic switching) and an admin user.
fn two_writers(w1: &MariaDb, w2: &MariaDb) -> Router {
    let body = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n    - {{ name: root, password: adm, admin: true }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      switch_type: -1\n      heartbeat_interval: 500ms\n      min_con: 1\n      write_hosts:\n        - {}\n        - {}\n",
        host_yaml("w1", w1),
        host_yaml("w2", w2)
    );
    router(&body)
}

fn admin(r: &Router, stmt: &str) {
    if let Err(e) = cli(r.admin, "root", "adm", None, stmt) {
        panic!("{stmt}: {e}\n{}", r.daemon.logs());
    }
}

fn session(r: &Router, user: &str, pw: &str) -> common::wire::Conn {
    common::wire::Conn::connect(r.addr, user, pw, Some("shop"))
        .unwrap_or_else(|e| panic!("login: {e}\n{}", r.daemon.logs()))
}

#[test]
fn a_writer_switch_ends_sessions_pinned_to_the_old_writer() {
    let w1 = marked("w1");
    let w2 = marked("w2");
    for w in [&w1, &w2] {
        w.sql("CREATE TABLE shopdb.t (id INT PRIMARY KEY) ENGINE=InnoDB");
    }
    let r = two_writers(&w1, &w2);
    // An open transaction and a session holding a user variable only w1 knows (set
    // from a query: the router cannot replay it), both on w1.
    let mut txn = session(&r, "u", "pw");
    txn.query("BEGIN").expect("begin");
    txn.query("INSERT INTO t VALUES (1)").expect("insert 1");
    let mut sticky = session(&r, "u", "pw");
    sticky.query("SET @x = (SELECT 41)").expect("set @x");
    // One set to a literal is replayed: it survives the switch.
    let mut replayed = session(&r, "u", "pw");
    replayed.query("SET @z = 41").expect("set @z");
    assert_eq!(
        sticky.value("SELECT @x + 1").expect("@x"),
        Some("42".into())
    );
    admin(&r, "switch @@datasource dh1:1");
    // The transaction's next statement does not reach w1: the client is told its
    // transaction was rolled back (retryable), and COMMIT commits nothing there.
    let e = txn
        .query("INSERT INTO t VALUES (2)")
        .expect_err("statement after the switch");
    assert_eq!((e.code, e.state.as_str()), (1213, "40001"), "{e}");
    assert!(e.msg.contains("switched to w2"), "{e}");
    txn.query("COMMIT").expect("commit");
    let rolled_back = wait_for(Duration::from_secs(20), || {
        (w1.sql("SELECT COUNT(*) FROM shopdb.t") == "0"
            && w1.sql("SELECT COUNT(*) FROM information_schema.innodb_trx") == "0")
            .then_some(())
    });
    assert!(
        rolled_back.is_some(),
        "w1 still has the transaction's rows: {}",
        w1.sql("SELECT GROUP_CONCAT(id) FROM shopdb.t")
    );
    // The same client carries on, on w2.
    txn.query("BEGIN").expect("begin again");
    txn.query("INSERT INTO t VALUES (3)").expect("insert 3");
    txn.query("COMMIT").expect("commit 3");
    assert_eq!(w2.sql("SELECT GROUP_CONCAT(id) FROM shopdb.t"), "3");
    assert_eq!(w1.sql("SELECT COUNT(*) FROM shopdb.t"), "0");
    assert_eq!(
        txn.value("SELECT v FROM who").expect("who"),
        Some("w2".into())
    );
    assert_eq!(
        replayed
            .value("SELECT @z + 1, v FROM who")
            .expect("@z on w2"),
        Some("42".into())
    );
    assert_eq!(
        replayed.value("SELECT v FROM who").expect("who"),
        Some("w2".into())
    );
    // The sticky session learns that its variable is gone, then works on w2.
    let e = sticky.query("SELECT @x + 1").expect_err("state lost");
    assert_eq!(e.code, 1105, "{e}");
    assert!(
        e.msg.contains("Session state lost") && e.msg.contains("w2"),
        "{e}"
    );
    assert_eq!(
        sticky.value("SELECT v FROM who").expect("who"),
        Some("w2".into())
    );
    sticky.query("SET @y = 6").expect("set @y");
    assert_eq!(
        sticky.value("SELECT @y * 7").expect("@y"),
        Some("42".into())
    );
    // A pinned ROLLBACK after a switch is simply done.
    txn.query("BEGIN").expect("begin");
    txn.query("INSERT INTO t VALUES (4)").expect("insert 4");
    admin(&r, "switch @@datasource dh1:0");
    txn.query("ROLLBACK").expect("rollback after the switch");
    assert_eq!(
        txn.value("SELECT v FROM who").expect("who"),
        Some("w1".into())
    );
    let logs = r.daemon.logs();
    assert!(logs.contains("on the old connection is lost"), "{logs}");
    let (_, m) = common::http_get(r.observe, "/metrics").expect("metrics");
    assert!(
        m.contains("tandem_router_errors_total{reason=\"session_lost\"} 2"),
        "{m}"
    );
}

/// A switch ends a statement running on the old write host at once (its connection is
/// shut down, as MyCat closes the old source's connections) instead of letting it run
/// on there, or wait for the TCP timeouts when that host is unreachable; the client's
/// next statement runs on the new write host.
#[test]
fn a_writer_switch_ends_statements_in_flight_on_the_old_writer() {
    let w1 = marked("w1");
    let w2 = marked("w2");
    let r = two_writers(&w1, &w2);
    let mut s = session(&r, "u", "pw");
    let running = std::thread::spawn(move || {
        let res = s.query("SELECT SLEEP(120)");
        (s, res)
    });
    let on_w1 = wait_for(Duration::from_secs(20), || {
        (w1.sql(
            "SELECT COUNT(*) FROM information_schema.processlist WHERE info = 'SELECT SLEEP(120)'",
        ) == "1")
            .then_some(())
    });
    assert!(on_w1.is_some(), "the statement never reached w1");
    admin(&r, "switch @@datasource dh1:1");
    let (mut s, res) = running.join().expect("join");
    let e = res.expect_err("the switch ends the statement");
    assert_eq!((e.code, e.state.as_str()), (1158, "08S01"), "{e}");
    assert!(
        e.msg.contains("Lost connection to backend w1") && e.msg.contains("was switched to w2"),
        "{e}"
    );
    assert_eq!(
        s.value("SELECT v FROM who").expect("who"),
        Some("w2".into())
    );
    let logs = r.daemon.logs();
    assert!(
        logs.contains("router: host w1: 1 connection(s) in use shut down"),
        "{logs}"
    );
}

/// IDLE of host `name` in `show @@datasource`.
fn idle_of(r: &Router, name: &str) -> Option<usize> {
    let ds = cli(r.admin, "root", "adm", None, "show @@datasource").ok()?;
    let line = ds.lines().find(|l| l.split('\t').nth(1) == Some(name))?;
    line.split('\t').nth(7)?.parse().ok()
}

/// A connection that a reload moved to the new pool while that pool was full holds
/// the old pool's permit: given back, it is closed, so the new pool never keeps more
/// than `max_con` connections.
#[test]
fn a_connection_moved_into_a_full_pool_by_a_reload_is_closed_when_given_back() {
    let w1 = marked("w1");
    w1.sql("CREATE TABLE shopdb.t (id INT PRIMARY KEY) ENGINE=InnoDB");
    let body = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n    - {{ name: root, password: adm, admin: true }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      heartbeat_interval: 500ms\n      min_con: 1\n      max_con: 1\n      borrow_timeout: 2s\n      write_hosts:\n        - {}\n",
        host_yaml("m1", &w1)
    );
    let r = router(&body);
    let mut txn = session(&r, "u", "pw");
    txn.query("BEGIN").expect("begin");
    txn.query("INSERT INTO t VALUES (1)").expect("insert 1");
    // New pools; the new one of m1 gets its only connection (given back: idle).
    admin(&r, "reload @@config_all");
    let mut other = session(&r, "u", "pw");
    assert_eq!(
        other.value("SELECT COUNT(*) FROM t").expect("count"),
        Some("0".into())
    );
    // The transaction's connection moves over (the same server) though the pool is
    // full, and goes back to it after the COMMIT.
    txn.query("INSERT INTO t VALUES (2)").expect("insert 2");
    txn.query("COMMIT").expect("commit");
    assert_eq!(
        other.value("SELECT COUNT(*) FROM t").expect("count"),
        Some("2".into())
    );
    let settled = wait_for(Duration::from_secs(10), || {
        (idle_of(&r, "m1") == Some(1)).then_some(())
    });
    assert!(
        settled.is_some(),
        "m1 keeps {:?} idle connections with max_con 1",
        idle_of(&r, "m1")
    );
    assert_eq!(
        w1.sql("SELECT GROUP_CONCAT(id ORDER BY id) FROM shopdb.t"),
        "1,2"
    );
}

#[test]
fn reload_config_all_keeps_sessions_on_unchanged_hosts_and_ends_them_on_replaced_ones() {
    let w1 = marked("w1");
    let w2 = marked("w2");
    w1.sql("CREATE TABLE shopdb.t (id INT PRIMARY KEY) ENGINE=InnoDB");
    let body = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n    - {{ name: root, password: adm, admin: true }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      heartbeat_interval: 500ms\n      min_con: 1\n      write_hosts:\n        - {}\n",
        host_yaml("m1", &w1)
    );
    let r = router(&body);
    let mut sticky = session(&r, "u", "pw");
    // A user variable only this connection knows (the router cannot replay it).
    sticky.query("SET @x = (SELECT 41)").expect("set @x");
    let mut txn = session(&r, "u", "pw");
    txn.query("BEGIN").expect("begin");
    txn.query("INSERT INTO t VALUES (1)").expect("insert 1");
    // Every data host gets new pools; the server behind m1 is the same one.
    admin(&r, "reload @@config_all");
    assert_eq!(
        sticky.value("SELECT @x + 1").expect("@x after the reload"),
        Some("42".into())
    );
    txn.query("INSERT INTO t VALUES (2)").expect("insert 2");
    txn.query("COMMIT").expect("commit");
    assert_eq!(
        w1.sql("SELECT GROUP_CONCAT(id ORDER BY id) FROM shopdb.t"),
        "1,2"
    );
    // Now m1 points at another server: the old connections are retired.
    txn.query("BEGIN").expect("begin");
    txn.query("INSERT INTO t VALUES (3)").expect("insert 3");
    let text = std::fs::read_to_string(&r.config).expect("config");
    std::fs::write(
        &r.config,
        text.replace(&w1.addr.to_string(), &w2.addr.to_string()),
    )
    .expect("write config");
    admin(&r, "reload @@config_all");
    let e = sticky.query("SELECT @x + 1").expect_err("state lost");
    assert_eq!(e.code, 1105, "{e}");
    assert!(e.msg.contains("reload"), "{e}");
    assert_eq!(
        sticky.value("SELECT v FROM who").expect("who"),
        Some("w2".into())
    );
    sticky.query("SET @y = 1").expect("set @y");
    assert_eq!(sticky.value("SELECT @y").expect("@y"), Some("1".into()));
    let e = txn.query("COMMIT").expect_err("commit after the reload");
    assert_eq!((e.code, e.state.as_str()), (1213, "40001"), "{e}");
    let rolled_back = wait_for(Duration::from_secs(20), || {
        (w1.sql("SELECT COUNT(*) FROM information_schema.innodb_trx") == "0").then_some(())
    });
    assert!(
        rolled_back.is_some(),
        "the transaction on the old server stayed open"
    );
    assert_eq!(
        w1.sql("SELECT GROUP_CONCAT(id ORDER BY id) FROM shopdb.t"),
        "1,2"
    );
}

/// Duplicates a socket of process `pid` whose peer is `peer` (pidfd_getfd, Linux 5.6).
fn socket_of(pid: i32, peer: SocketAddr) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    assert!(
        pidfd >= 0,
        "pidfd_open: {}",
        std::io::Error::last_os_error()
    );
    let pidfd = unsafe { std::os::fd::OwnedFd::from_raw_fd(pidfd as i32) };
    use std::os::fd::AsRawFd;
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        let Ok(link) = std::fs::read_link(entry.path()) else {
            continue;
        };
        if !link.to_string_lossy().starts_with("socket:") {
            continue;
        }
        let Some(n) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), n, 0) };
        if fd < 0 {
            panic!("pidfd_getfd: {}", std::io::Error::last_os_error());
        }
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) };
        let s = socket2::SockRef::from(&fd);
        if s.peer_addr().ok().and_then(|a| a.as_socket()) == Some(peer) {
            return Some(fd);
        }
    }
    None
}

#[test]
fn backend_sockets_get_keepalive_and_a_user_timeout() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb");
    let tuned = single(&db, APP, "").replacen(
        "  users:\n",
        "  backend_keepalive: { idle: 17s, interval: 7s, count: 4 }\n  backend_user_timeout: 45s\n  users:\n",
        1,
    );
    for (body, idle, intvl, cnt, ut) in [
        (single(&db, APP, ""), 30, 10, 3, 60_000),
        (tuned, 17, 7, 4, 45_000),
    ] {
        let r = router(&body);
        assert_eq!(
            cli(r.addr, "app", "s3cret", Some("shop"), "SELECT 1").expect("query"),
            "1"
        );
        let fd = socket_of(r.daemon.pid(), db.addr)
            .unwrap_or_else(|| panic!("no socket to {} in the daemon", db.addr));
        let s = socket2::SockRef::from(&fd);
        assert!(s.keepalive().expect("SO_KEEPALIVE"));
        assert_eq!(
            s.tcp_keepalive_time().expect("idle"),
            Duration::from_secs(idle)
        );
        assert_eq!(
            s.tcp_keepalive_interval().expect("interval"),
            Duration::from_secs(intvl)
        );
        assert_eq!(s.tcp_keepalive_retries().expect("count"), cnt);
        assert_eq!(
            s.tcp_user_timeout().expect("TCP_USER_TIMEOUT"),
            Some(Duration::from_millis(ut))
        );
    }
}

/// Long data over the limit, then executes, a reset and an execute: the error codes
/// and SQLSTATEs seen (0 for success).
fn long_data_overflow(c: &mut common::wire::Conn) -> Vec<(u16, String)> {
    let st = c.prepare("INSERT INTO t VALUES (?, ?)").expect("prepare");
    c.send_long_data(st, 1, &[b'a'; 600]).expect("long data");
    c.send_long_data(st, 1, &[b'b'; 600]).expect("long data");
    let mut seen = Vec::new();
    let mut note = |r: Result<(), common::wire::Err>| {
        seen.push(r.map_or_else(|e| (e.code, e.state), |()| (0, String::new())));
    };
    note(c.execute(st, 0, &[Some("10"), None], &[1]).map(|_| ()));
    // Still refused without long data, until COM_STMT_RESET.
    note(c.execute(st, 0, &[Some("11"), Some("x")], &[]).map(|_| ()));
    note(c.reset(st));
    note(c.execute(st, 0, &[Some("12"), Some("x")], &[]).map(|_| ()));
    c.close_stmt(st).expect("close");
    seen
}

#[test]
fn long_data_is_capped_and_statement_reset_clears_it_and_closes_the_cursor() {
    // The server's own limit matches the router's, to compare their answers.
    let db = MariaDb::start_with(&["--max-allowed-packet=1024"]);
    db.sql("CREATE DATABASE shopdb; CREATE TABLE shopdb.t (id INT PRIMARY KEY, v TEXT)");
    let body =
        single(&db, APP, "").replacen("  users:\n", "  max_long_data_size: 1K\n  users:\n", 1);
    let r = router(&body);
    let mut c = session(&r, "app", "s3cret");
    let ins = c.prepare("INSERT INTO t VALUES (?, ?)").expect("prepare");
    // Within the limit: the long data is the value.
    c.send_long_data(ins, 1, &[b'a'; 500]).expect("long data");
    c.send_long_data(ins, 1, &[b'b'; 500]).expect("long data");
    c.execute(ins, 0, &[Some("1"), None], &[1])
        .expect("execute 1");
    assert_eq!(
        db.sql("SELECT LENGTH(v) FROM shopdb.t WHERE id = 1"),
        "1000"
    );
    // Over it: the execute gets the server's error, again until COM_STMT_RESET; the
    // same sequence straight against MariaDB gets the same answers.
    c.send_long_data(ins, 1, &[b'a'; 600]).expect("long data");
    c.send_long_data(ins, 1, &[b'b'; 600]).expect("long data");
    let e = c
        .execute(ins, 0, &[Some("2"), None], &[1])
        .expect_err("over max_long_data_size");
    assert_eq!((e.code, e.state.as_str()), (1105, "HY000"), "{e}");
    assert!(
        e.msg.contains("mysql_send_long_data()") && e.msg.contains("max_long_data_size"),
        "{e}"
    );
    c.reset(ins).expect("reset");
    let via_router = long_data_overflow(&mut c);
    db.sql("DELETE FROM shopdb.t WHERE id >= 10");
    let mut direct =
        common::wire::Conn::connect(db.addr, "root", "", Some("shopdb")).expect("direct login");
    assert_eq!(via_router, long_data_overflow(&mut direct));
    assert_eq!(
        via_router.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        [1105, 1105, 0, 0]
    );
    db.sql("DELETE FROM shopdb.t WHERE id >= 10");
    c.execute(ins, 0, &[Some("2"), Some("bound")], &[])
        .expect("execute after reset");
    // Long data then reset: the execute's own value counts.
    c.send_long_data(ins, 1, b"long data").expect("long data");
    c.reset(ins).expect("reset");
    c.execute(ins, 0, &[Some("3"), Some("plain")], &[])
        .expect("execute 3");
    assert_eq!(
        db.sql("SELECT GROUP_CONCAT(v ORDER BY id) FROM shopdb.t WHERE id > 1"),
        "bound,plain"
    );
    let e = c
        .reset(common::wire::Stmt {
            id: 999,
            params: 0,
            columns: 0,
        })
        .expect_err("unknown");
    assert!(e.code == 1243 && e.msg.contains("mysqld_stmt_reset"), "{e}");
    // A cursor: reset closes it, as on the server.
    let sel = c
        .prepare("SELECT id FROM t ORDER BY id")
        .expect("prepare select");
    c.execute(sel, common::wire::CURSOR_READ_ONLY, &[], &[])
        .expect("open cursor");
    assert_eq!(c.fetch(sel, 1).expect("fetch"), 1);
    c.reset(sel).expect("reset cursor");
    let e = c.fetch(sel, 1).expect_err("fetch after reset");
    assert_eq!(e.code, 1421, "{e}");
    c.execute(sel, common::wire::CURSOR_READ_ONLY, &[], &[])
        .expect("open cursor again");
    assert_eq!(c.fetch(sel, 10).expect("fetch all"), 3);
    c.close_stmt(sel).expect("close");
    assert_eq!(
        c.value("SELECT COUNT(*) FROM t").expect("count"),
        Some("3".into())
    );
}

#[test]
fn set_names_replay_resets_the_character_set_variables() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb");
    // One backend connection: the sessions' statements take turns on it.
    let r = one_connection(&db);
    let mut a = session(&r, "app", "s3cret");
    let mut b = session(&r, "app", "s3cret");
    b.query("SET NAMES utf8mb4").expect("b names");
    b.query("SET character_set_results = NULL")
        .expect("b results");
    a.query("SET NAMES latin1").expect("a names");
    a.query("SET character_set_results = NULL")
        .expect("a results");
    // b's SET NAMES is replayed on the connection, and its character_set_results after it.
    assert_eq!(
        b.query("SELECT @@character_set_results, @@character_set_client")
            .expect("b reads"),
        vec![vec![None, Some("utf8mb4".to_string())]]
    );
    assert_eq!(
        a.query("SELECT @@character_set_results, @@character_set_client")
            .expect("a reads"),
        vec![vec![None, Some("latin1".to_string())]]
    );
    // A new session (utf8mb4 from its handshake) gets what SET NAMES utf8mb4 gives, not
    // the server's global default.
    let mut c = session(&r, "app", "s3cret");
    assert_eq!(
        c.query(
            "SELECT @@character_set_results, @@character_set_connection, @@collation_connection"
        )
        .expect("c reads"),
        vec![vec![
            Some("utf8mb4".to_string()),
            Some("utf8mb4".to_string()),
            Some("utf8mb4_general_ci".to_string())
        ]]
    );
}

/// What clients other than the mariadb CLI send the admin port: SETs at connect (OK, as
/// from MyCat's manager port), `show @@version`, a COM_STMT_CLOSE (never answered), a
/// prepare or a packet over the admin port's 1 MiB (errors); bad admin statements get
/// MySQL errors and the connection goes on.
#[test]
fn admin_port_answers_driver_commands_and_bad_input_with_errors() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb");
    let users = format!("{APP}    - {{ name: root, password: adm, admin: true }}\n");
    let r = router(&single(&db, &users, ""));
    let mut c = common::wire::Conn::connect(r.admin, "root", "adm", None)
        .unwrap_or_else(|e| panic!("admin login: {e}\n{}", r.daemon.logs()));
    c.query("SET NAMES utf8mb4").expect("SET NAMES");
    c.query("SET autocommit=1, sql_mode='STRICT_TRANS_TABLES'")
        .expect("SET");
    let v = c.value("show @@version").expect("show @@version");
    assert!(v.as_deref().is_some_and(|v| v.contains("tandem")), "{v:?}");
    // COM_STMT_CLOSE gets no answer: the ping's answer is the next packet.
    c.send(&[0x19, 1, 0, 0, 0]).expect("close");
    c.send(&[0x18, 1, 0, 0, 0, 0, 0, b'x']).expect("long data");
    c.ping().expect("ping after COM_STMT_CLOSE");
    let e = c.prepare("show @@help").expect_err("no prepares");
    assert_eq!(e.code, 1047, "{e}");
    for bad in [
        "",
        "show @@",
        "kill @@connection abc",
        "kill @@connection 99999999999",
        "switch @@datasource",
        "switch @@datasource nosuch:0",
        "switch @@datasource dh1:7",
        "switch @@datasource dh1:x",
        "switch @@datasource dh1",
        "reload @@config extra",
        "\u{0}\u{ff}",
    ] {
        let e = c.query(bad).expect_err(bad);
        assert!(matches!(e.code, 1064 | 1105), "{bad}: {e}");
    }
    assert!(c.value("show @@version").is_ok());
    // MyCat's filtered forms.
    let ds = c
        .query("show @@datasource where dataNode = dn1")
        .expect("datasource where");
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(ds[0][0].as_deref(), Some("dn1"));
    let none = c
        .query("show @@datasource where dataNode = 'nosuch'")
        .expect("datasource where, no node");
    assert!(none.is_empty(), "{none:?}");
    let dn = c
        .query("show @@datanode where schema = shop")
        .expect("datanode where");
    assert_eq!(dn.len(), 1, "{dn:?}");
    assert_eq!(dn[0][0].as_deref(), Some("dn1"));
    let e = c
        .query("show @@datanode where schema = nosuch")
        .expect_err("unknown schema");
    assert_eq!(e.code, 1049, "{e}");
    for bad in [
        "show @@datanode where",
        "show @@datanode where table = t",
        "show @@datasource where dataNode =",
    ] {
        let e = c.query(bad).expect_err(bad);
        assert_eq!(e.code, 1064, "{bad}: {e}");
    }
    // A command over 1 MiB: an error, then the connection is closed.
    let big = format!("show @@help /* {} */", "x".repeat(1 << 20));
    let e = c.query(&big).expect_err("too big");
    assert_eq!(e.code, 1153, "{e}");
}

/// `max_long_data_size` bounds the long data a session holds over all its statements:
/// long data sent to many statements that are never executed does not pile up in the
/// router (each statement alone within the cap, together over it).
#[test]
fn long_data_is_capped_per_session_over_all_statements() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb; CREATE TABLE shopdb.t (id INT PRIMARY KEY, v TEXT)");
    let body =
        single(&db, APP, "").replacen("  users:\n", "  max_long_data_size: 1K\n  users:\n", 1);
    let r = router(&body);
    let mut c = session(&r, "app", "s3cret");
    let a = c.prepare("INSERT INTO t VALUES (?, ?)").expect("prepare a");
    let b = c.prepare("INSERT INTO t VALUES (?, ?)").expect("prepare b");
    c.send_long_data(a, 1, &[b'a'; 600]).expect("long data a");
    c.send_long_data(b, 1, &[b'b'; 600]).expect("long data b");
    c.execute(a, 0, &[Some("1"), None], &[1])
        .expect("a within the cap");
    let e = c
        .execute(b, 0, &[Some("2"), None], &[1])
        .expect_err("b over the session's cap");
    assert_eq!(e.code, 1105, "{e}");
    // a's execute gave its share back: after a reset, b's long data fits again.
    c.reset(b).expect("reset");
    c.send_long_data(b, 1, &[b'c'; 600])
        .expect("long data b again");
    c.execute(b, 0, &[Some("3"), None], &[1])
        .expect("b after reset");
    assert_eq!(
        db.sql("SELECT GROUP_CONCAT(id, ':', LENGTH(v) ORDER BY id) FROM shopdb.t"),
        "1:600,3:600"
    );
}

/// A SET sent as a prepared statement (Go's `db.Exec("SET time_zone = ?", tz)`, PDO
/// without emulated prepares) changes only its own session: the backend connection it
/// ran on is not handed to the next client with that state.
#[test]
fn a_prepared_set_does_not_leak_to_the_next_client_of_a_pooled_connection() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb; CREATE TABLE shopdb.t (id INT PRIMARY KEY)");
    let r = one_connection(&db);
    let q = |s: &str| cli(r.addr, "app", "s3cret", Some("shop"), s);
    let default_mode = q("SELECT @@SESSION.sql_mode").expect("mode");
    assert!(!default_mode.contains("ANSI_QUOTES"), "{default_mode}");
    {
        let mut a = session(&r, "app", "s3cret");
        let set = a.prepare("SET SESSION sql_mode = ?").expect("prepare SET");
        a.execute(set, 0, &[Some("ANSI_QUOTES")], &[])
            .expect("execute SET");
        a.close_stmt(set).expect("close");
        // The session itself has the mode.
        assert_eq!(
            a.value("SELECT @@SESSION.sql_mode").expect("a's mode"),
            Some("ANSI_QUOTES".into())
        );
    }
    // The next client (with the same capabilities, so the pool may hand it the same
    // single server connection) does not.
    let mut b = session(&r, "app", "s3cret");
    let out = b.value("SELECT @@SESSION.sql_mode").expect("b");
    assert_eq!(out, Some(default_mode), "{}", r.daemon.logs());
}

/// `mariadb-admin ping` against `addr` as app: (exit status success, stdout + stderr).
fn admin_ping(addr: SocketAddr) -> (bool, String) {
    let out = Command::new("mariadb-admin")
        .args([
            "--no-defaults",
            "--protocol=TCP",
            "-h127.0.0.1",
            "-uapp",
            "-ps3cret",
        ])
        .arg(format!("-P{}", addr.port()))
        .arg("ping")
        .stdin(Stdio::null())
        .output()
        .expect("mariadb-admin");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

const ADMIN_ROOT: &str = "    - { name: root, password: adm, admin: true }\n";

/// MyCat's `offline` / `online` on the admin port, and `tandem router offline|online` on
/// the admin socket: while offline a ping on the SQL port fails with 1053, so
/// `mariadb-admin ping` (a keepalived track script's check) fails; observe's
/// /health/router answers 404 (a balancer http check with `disable_on_404` drains the
/// router), `show @@server`, /status and the metric say OFF; open sessions and new
/// logins go on, as MyCat's. `online` undoes each of these.
#[test]
fn offline_takes_the_router_out_of_service_as_mycat() {
    use common::wire::Conn;
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb");
    let r = router(&single(&db, &format!("{APP}{ADMIN_ROOT}"), ""));
    let health = || common::http_get(r.observe, "/health/router").expect("/health/router");
    let status = || -> serde_json::Value {
        let (code, body) = common::http_get(r.observe, "/status").expect("/status");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).expect("status JSON")
    };
    let metric = || {
        let (_, body) = common::http_get(r.observe, "/metrics").expect("/metrics");
        body.lines()
            .find_map(|l| l.strip_prefix("tandem_router_online ").map(str::to_string))
            .unwrap_or_default()
    };
    let mut adm = Conn::connect(r.admin, "root", "adm", None).expect("admin login");
    let server = |adm: &mut Conn| -> Vec<Option<String>> {
        let rows = adm.query("show @@server").expect("show @@server");
        assert_eq!(rows.len(), 1, "{rows:?}");
        rows[0].clone()
    };
    // Online: as before.
    let (ok, out) = admin_ping(r.addr);
    assert!(ok && out.contains("mysqld is alive"), "{out}");
    let (code, body) = health();
    assert_eq!((code, body.as_str()), (200, "router online\n"));
    let row = server(&mut adm);
    assert_eq!(row.len(), 8, "{row:?}");
    // MyCat's column types: numbers are LONGLONG (8), text VAR_STRING (253); the
    // signed ROLLBACK_TIME (-1) is a LONG (3).
    let types: Vec<u8> = adm.last_types.iter().map(|t| t.0).collect();
    assert_eq!(types, [253, 8, 8, 8, 8, 3, 253, 253], "{row:?}");
    assert_eq!(row[7].as_deref(), Some("ON"), "{row:?}");
    assert_eq!(row[5].as_deref(), Some("-1"), "ROLLBACK_TIME: {row:?}");
    let loaded: u64 = row[4].as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
    let now: u64 = adm
        .value("show @@time.current")
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let started: u64 = adm
        .value("show @@time.startup")
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(
        started > 0 && started <= loaded && loaded <= now,
        "{started} {loaded} {now}"
    );
    assert_eq!(adm.last_types.first().map(|t| t.0), Some(8));
    assert!(
        row[0]
            .as_deref()
            .is_some_and(|u| u.ends_with("ms") || u.ends_with("s ")),
        "UPTIME as MyCat writes it: {row:?}"
    );
    assert!(
        row[1]
            .as_deref()
            .and_then(|m| m.parse::<u64>().ok())
            .unwrap_or(0)
            > 0,
        "{row:?}"
    );
    assert_eq!(
        adm.value("show @@database").ok().flatten().as_deref(),
        Some("shop")
    );
    assert_eq!(status()["subsystems"]["router"]["online"], true);
    assert_eq!(metric(), "1");
    let mut open = session(&r, "app", "s3cret");
    open.ping().expect("ping while online");
    // MyCat's SQL-port status check, and `SELECT USER()`, answered while online.
    assert_eq!(
        open.value("SHOW `MYCAT_STATUS`")
            .expect("status")
            .as_deref(),
        Some("ON")
    );
    assert_eq!(open.last_names, ["STATUS"]);
    assert!(
        open.value("select user()")
            .expect("user()")
            .is_some_and(|u| u.starts_with("app@")),
    );

    // Offline: one affected row, as MyCat (any case, a trailing semicolon).
    assert_eq!(adm.exec("  OFFLINE; ").expect("offline").0, 1);
    assert_eq!(server(&mut adm)[7].as_deref(), Some("OFF"));
    let e = open.ping().expect_err("ping while offline");
    assert_eq!((e.code, e.state.as_str()), (1053, "08S01"), "{e}");
    let (ok, out) = admin_ping(r.addr);
    assert!(
        !ok && out.contains("doesn't answer to ping") && out.contains("the router is offline"),
        "{out}"
    );
    // So do MyCat's status check and `SELECT USER()` (health checks run them); other
    // statements, even `SELECT USER(), DATABASE()` or `SELECT SESSION_USER()`, are served.
    assert!(
        open.value("SELECT SESSION_USER()")
            .expect("session_user()")
            .is_some_and(|u| u.starts_with("app@"))
    );
    for q in [
        "show mycat_status",
        "SHOW MYCAT_STATUS;",
        "SELECT USER()",
        "select current_user()",
    ] {
        let e = open.value(q).expect_err(q);
        assert_eq!((e.code, e.state.as_str()), (1053, "08S01"), "{q}: {e}");
    }
    // Prepared too (JDBC pools validate with a prepared statement).
    let st = open.prepare("SELECT USER()").expect("prepare");
    let e = open.execute(st, 0, &[], &[]).expect_err("prepared user()");
    assert_eq!((e.code, e.state.as_str()), (1053, "08S01"), "{e}");
    open.close_stmt(st).expect("close");
    assert!(
        open.query("SELECT USER(), DATABASE()")
            .expect("user() and more")
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .is_some_and(|u| u.starts_with("app@")),
    );
    // The open session and new logins go on.
    assert_eq!(
        open.value("SELECT 40 + 2").expect("query").as_deref(),
        Some("42")
    );
    assert_eq!(
        cli(r.addr, "app", "s3cret", Some("shop"), "SELECT 7").expect("new login"),
        "7"
    );
    let (code, body) = health();
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("router offline"), "{body}");
    // haproxy's `option httpchk /health/router` sends OPTIONS; HEAD has the status only.
    for method in ["OPTIONS", "HEAD"] {
        let (code, _) = common::http_request(r.observe, method, "/health/router").expect(method);
        assert_eq!(code, 404, "{method}");
    }
    // A reload keeps the router offline (`reload @@config_all` rebuilds the pools).
    adm.exec("reload @@config_all").expect("reload");
    assert_eq!(health().0, 404);
    assert_eq!(server(&mut adm)[7].as_deref(), Some("OFF"));
    assert_eq!(status()["subsystems"]["router"]["online"], false);
    assert_eq!(metric(), "0");
    // Asked again: still one affected row, no second log line.
    assert_eq!(adm.exec("offline").expect("offline again").0, 1);
    assert!(
        r.daemon.wait_log("router: OFFLINE (admin port"),
        "{}",
        r.logs()
    );
    let logs = r.logs();
    assert_eq!(logs.matches("router: OFFLINE").count(), 1, "{logs}");
    assert!(
        logs.contains("router: OFFLINE (admin port, user root from 127.0.0.1:"),
        "{logs}"
    );
    // `tandem status` shows it.
    let cfg = r.config.to_str().expect("utf8");
    let (code, out, err) = common::tandem(&["status", "-c", cfg]);
    assert!(
        code == 0
            && out
                .lines()
                .any(|l| l.starts_with("router ") && l.contains("OFFLINE")),
        "{out}{err}"
    );

    // Online.
    assert_eq!(adm.exec("Online;").expect("online").0, 1);
    assert_eq!(server(&mut adm)[7].as_deref(), Some("ON"));
    open.ping().expect("ping online again");
    let (ok, out) = admin_ping(r.addr);
    assert!(ok, "{out}");
    assert_eq!(health().0, 200);
    assert_eq!(
        common::http_request(r.observe, "OPTIONS", "/health/router")
            .expect("OPTIONS")
            .0,
        200
    );
    assert!(
        r.daemon.wait_log("router: ONLINE (admin port, user root"),
        "{}",
        r.logs()
    );

    // The admin socket (`tandem router ...`) does the same.
    let sock = r.dir.path().join("admin.sock");
    let sock = sock.to_str().expect("utf8");
    let (code, out, err) = common::tandem(&["router", "offline", "--socket", sock]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("router offline: pings fail"), "{out}");
    assert_eq!(health().0, 404);
    assert!(open.ping().is_err());
    let (_, out, _) = common::tandem(&["router", "offline", "--socket", sock]);
    assert_eq!(out, "router already offline\n");
    assert!(
        r.daemon.wait_log("router: OFFLINE (admin socket)"),
        "{}",
        r.logs()
    );
    let (code, out, err) = common::tandem(&["router", "online", "--socket", sock]);
    assert_eq!((code, out.as_str()), (0, "router online\n"), "{err}");
    assert_eq!(health().0, 200);
    open.ping().expect("ping after tandem router online");
}

/// Draining a router for maintenance, as haproxy's `http-check disable-on-404` with the
/// status script MyCat setups run under xinetd: a balancer checks the router's box at
/// /health/router; `offline` drains the router (NOLB: no new connections from the
/// balancing, the open session goes on) and `online` brings it back. One daemon runs
/// the router and the balancer, as on a box of the two-box setup; the balancer's other
/// server is the MariaDB server itself.
#[test]
fn offline_drains_the_router_from_a_balancer_http_check() {
    use common::wire::Conn;
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb; CREATE USER app@'%' IDENTIFIED BY 's3cret'; GRANT ALL ON *.* TO app@'%'");
    let lb_port = common::free_port();
    let body = single(&db, &format!("{APP}{ADMIN_ROOT}"), "");
    let r = RouterDaemon::start_with(&body, true, |p| {
        format!(
            "balancer:\n  listeners:\n    - name: mysql\n      bind: 127.0.0.1:{lb_port}\n      balance: roundrobin\n      check: {{ type: http, port: {obs}, path: /health/router, disable_on_404: true, inter: 100ms, rise: 1, fall: 1 }}\n      servers:\n        - {{ name: router, address: 127.0.0.1:{sql} }}\n        - {{ name: direct, address: \"{db}\", check: false }}\n",
            obs = p.observe.unwrap_or(0),
            sql = p.sql,
            db = db.addr
        )
    });
    let lb: SocketAddr = ([127, 0, 0, 1], lb_port).into();
    let sock = r.dir.path().join("admin.sock");
    let router_status = || -> Option<String> {
        let (code, out, _) = common::tandem(&["admin", "--socket", sock.to_str()?, "show", "stat"]);
        if code != 0 {
            return None;
        }
        let mut lines = out.lines();
        let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
        let at = header.iter().position(|h| *h == "status")?;
        lines
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find(|f| f.get(1) == Some(&"router"))
            .and_then(|f| f.get(at).map(|s| s.to_string()))
    };
    let wait_status = |want: &str| {
        wait_for(Duration::from_secs(20), || {
            (router_status().as_deref() == Some(want)).then_some(())
        })
        .unwrap_or_else(|| panic!("router never {want}: {:?}\n{}", router_status(), r.logs()))
    };
    let comment = |c: &mut Conn| {
        c.value("SELECT @@version_comment")
            .expect("version_comment")
            .unwrap_or_default()
    };
    let through_lb =
        || Conn::connect(lb, "app", "s3cret", None).expect("login through the balancer");
    wait_status("UP");
    // Round robin: of two new connections, one reaches the router.
    let mut held = None;
    for _ in 0..2 {
        let mut c = through_lb();
        if comment(&mut c) == "tandem router" {
            held = Some(c);
        }
    }
    let mut held = held.expect("a connection through the balancer reached the router");

    let mut adm = Conn::connect(r.admin, "root", "adm", None).expect("admin login");
    adm.exec("offline").expect("offline");
    wait_status("NOLB");
    // No new connection reaches the router...
    for i in 0..6 {
        let mut c = through_lb();
        assert_ne!(
            comment(&mut c),
            "tandem router",
            "connection {i} reached the drained router"
        );
    }
    // ... while the open session goes on.
    assert_eq!(comment(&mut held), "tandem router");
    assert!(held.ping().is_err(), "pings fail while offline");
    assert!(
        r.logs()
            .contains("server mysql/router is NOLB (check: HTTP status 404, disable_on_404)"),
        "{}",
        r.logs()
    );

    adm.exec("online").expect("online");
    wait_status("UP");
    let reached = (0..4).any(|_| comment(&mut through_lb()) == "tandem router");
    assert!(reached, "the router takes connections again\n{}", r.logs());
    held.ping().expect("ping online again");
}

/// MyCat's `stop @@heartbeat dh1:600` for planned maintenance of a primary: the active
/// write host gets no heartbeat meanwhile, so its death starts no failover (`show
/// @@heartbeat` STOP, `show @@datanode` RECOVERY_TIME and /status say so); `:0` ends the
/// pause and the failover happens as usual.
#[test]
fn stop_heartbeat_holds_off_a_failover_as_mycat() {
    use common::wire::Conn;
    let mut w1 = marked("w1");
    let w2 = marked("w2");
    let body = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n{ADMIN_ROOT}  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      switch_type: 1\n      max_retry: 2\n      heartbeat_interval: 300ms\n      min_con: 1\n      write_hosts:\n        - {}\n        - {}\n",
        host_yaml("w1", &w1),
        host_yaml("w2", &w2)
    );
    let r = router(&body);
    let q = |s: &str| cli(r.addr, "u", "pw", Some("shop"), s);
    assert_eq!(q("SELECT v FROM who").expect("before"), "w1");
    let mut adm = Conn::connect(r.admin, "root", "adm", None).expect("admin login");
    // One affected row per data host found, as MyCat; a form without seconds is refused.
    assert_eq!(
        adm.exec("stop @@heartbeat nosuch:600").expect("unknown").0,
        0
    );
    let e = adm.exec("stop @@heartbeat dh1").expect_err("no seconds");
    assert_eq!(e.code, 1064, "{e}");
    assert_eq!(adm.exec("STOP @@HEARTBEAT DH1 : 600").expect("stop").0, 1);
    assert!(
        r.daemon.wait_log(
            "data host dh1: heartbeat of write host w1 stopped for 600s (stop @@heartbeat, admin port, user root from 127.0.0.1:"
        ),
        "{}",
        r.logs()
    );
    let hb = adm.query("show @@heartbeat").expect("show @@heartbeat");
    let stop_of = |rows: &Vec<Vec<Option<String>>>, name: &str| {
        rows.iter()
            .find(|r| r[0].as_deref() == Some(name))
            .and_then(|r| r[10].clone())
    };
    assert_eq!(stop_of(&hb, "w1").as_deref(), Some("true"), "{hb:?}");
    assert_eq!(stop_of(&hb, "w2").as_deref(), Some("false"), "{hb:?}");
    let dn = adm.query("show @@datanode").expect("show @@datanode");
    let recovery: i64 = dn[0][11]
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1);
    assert!((590..=600).contains(&recovery), "RECOVERY_TIME: {dn:?}");
    let (_, st) = common::http_get(r.observe, "/status").expect("/status");
    let st: serde_json::Value = serde_json::from_str(&st).expect("json");
    assert!(
        st["subsystems"]["router"]["data_hosts"][0]["heartbeat_paused_seconds"]
            .as_u64()
            .is_some_and(|s| s > 500),
        "{st}"
    );
    // The primary dies. While w2's heartbeats go on (eight more recorded), w1 gets
    // none and no failover starts.
    w1.kill();
    let count = |adm: &mut Conn, host: &str| {
        adm.query(&format!("show @@heartbeat.detail where name={host}"))
            .map(|rows| rows.len())
            .unwrap_or(0)
    };
    let (w1_beats, w2_beats) = (count(&mut adm, "w1"), count(&mut adm, "w2"));
    assert!(
        wait_for(Duration::from_secs(30), || {
            (count(&mut adm, "w2") >= w2_beats + 8).then_some(())
        })
        .is_some(),
        "w2's heartbeats stopped: {}",
        r.logs()
    );
    assert_eq!(
        count(&mut adm, "w1"),
        w1_beats,
        "the paused w1 got heartbeats"
    );
    assert!(!r.logs().contains("write host switched"), "{}", r.logs());
    assert_eq!(
        adm.query("show @@datanode").expect("datanode")[0][2].as_deref(),
        Some("0"),
        "still on write host 0"
    );
    // The pause ends: the heartbeat finds w1 dead and fails over to w2.
    assert_eq!(adm.exec("stop @@heartbeat dh1:0").expect("resume").0, 1);
    assert!(
        r.daemon.wait_log("write host switched from w1 to w2"),
        "{}",
        r.logs()
    );
    assert!(
        r.daemon.wait_log(
            "data host dh1: heartbeat of write host w1 resumed (stop @@heartbeat, admin port, user root from 127.0.0.1:"
        ),
        "{}",
        r.logs()
    );
    let hb = adm.query("show @@heartbeat").expect("show @@heartbeat");
    assert_eq!(stop_of(&hb, "w1").as_deref(), Some("false"), "{hb:?}");
    let moved = wait_for(Duration::from_secs(30), || {
        q("INSERT INTO who VALUES ('after'); SELECT GROUP_CONCAT(v ORDER BY v) FROM who").ok()
    });
    assert_eq!(moved.as_deref(), Some("after,w2"), "{}", r.logs());
    // A pause of the new write host ends by itself when its time is over.
    assert_eq!(adm.exec("stop @@heartbeat dh1:1").expect("stop w2").0, 1);
    assert!(
        r.daemon.wait_log(
            "data host dh1: heartbeat of write host w2 runs again (the stop @@heartbeat time is over)"
        ),
        "{}",
        r.logs()
    );
}

/// MyCat's slow SQL records: statements (text and prepared) that took at least the
/// threshold (`reload @@sqlslow=N`, 100 ms at start) show in `show @@sql.slow`, each
/// user's slowest first, with start, duration, text, client IP and schema;
/// `show @@sql.slow true` forgets them once shown; the metric counts them.
#[test]
fn slow_statements_show_in_show_sql_slow_as_mycat() {
    use common::wire::Conn;
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb");
    let r = router(&single(&db, &format!("{APP}{ADMIN_ROOT}"), ""));
    let mut adm = Conn::connect(r.admin, "root", "adm", None).expect("admin login");
    let param = |adm: &mut Conn| {
        adm.query("show @@sysparam")
            .expect("sysparam")
            .into_iter()
            .find(|row| row[0].as_deref() == Some("sql_slow_time"))
            .and_then(|row| row[1].clone())
    };
    assert_eq!(param(&mut adm).as_deref(), Some("100"));
    let e = adm.exec("reload @@sqlslow=soon").expect_err("not a number");
    assert_eq!(e.code, 1064, "{e}");
    assert_eq!(adm.exec("reload @@sqlslow = 250").expect("threshold").0, 1);
    assert_eq!(param(&mut adm).as_deref(), Some("250"));
    assert!(
        r.logs()
            .contains("router: slow statement threshold 250 ms (was 100 ms"),
        "{}",
        r.logs()
    );
    let before = adm
        .value("show @@time.current")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let mut app = session(&r, "app", "s3cret");
    app.value("SELECT SLEEP(1)").expect("slow query");
    app.value("SELECT 1").expect("fast query");
    let st = app.prepare("SELECT SLEEP(?)").expect("prepare");
    app.execute(st, 0, &[Some("0.5")], &[])
        .expect("slow execute");
    // Recorded right after the answer is sent: wait for the last one.
    let rows = wait_for(Duration::from_secs(10), || {
        let rows = adm.query("show @@sql.slow").expect("show @@sql.slow");
        (rows.len() == 2).then_some(rows)
    })
    .unwrap_or_else(|| adm.query("show @@sql.slow").expect("show @@sql.slow"));
    let types: Vec<u8> = adm.last_types.iter().map(|t| t.0).collect();
    assert_eq!(types, [253, 253, 8, 8, 253, 253, 253]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let sql: Vec<&str> = rows.iter().filter_map(|r| r[4].as_deref()).collect();
    assert_eq!(sql, ["SELECT SLEEP(1)", "SELECT SLEEP(?)"], "slowest first");
    for row in &rows {
        assert_eq!(row[0].as_deref(), Some("app"));
        assert_eq!(row[1], None, "DATASOURCE, empty as in MyCat");
        let start: u64 = row[2].as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
        let took: u64 = row[3].as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
        assert!(start >= before.saturating_sub(1000), "{row:?} {before}");
        assert!(took >= 500, "{row:?}");
        assert_eq!(row[5].as_deref(), Some("127.0.0.1"));
        assert_eq!(row[6].as_deref(), Some("shop"));
    }
    let (_, metrics) = common::http_get(r.observe, "/metrics").expect("/metrics");
    assert!(
        metrics.contains("tandem_router_slow_statements_total 2"),
        "{metrics}"
    );
    // `true`: shown once more, then forgotten.
    assert_eq!(
        adm.query("show @@sql.slow true").expect("and clear").len(),
        2
    );
    assert!(adm.query("show @@sql.slow").expect("cleared").is_empty());
    // A new threshold forgets the records too, as MyCat.
    app.value("SELECT SLEEP(0.3)").expect("slow again");
    assert!(
        wait_for(Duration::from_secs(10), || {
            (adm.query("show @@sql.slow").expect("one").len() == 1).then_some(())
        })
        .is_some()
    );
    adm.exec("reload @@sqlslow=250").expect("same threshold");
    assert!(adm.query("show @@sql.slow").expect("forgotten").is_empty());
}

/// MyCat's SQL statistics (`useSqlStat`; `router.sql_stat`): `show @@sql`, `show
/// @@sql.sum`, `show @@sql.sum.table`, `show @@sql.high`, `show @@sql.large`, `show
/// @@sql.resultset` with MyCat's columns; `true` clears, `reload @@user_stat` resets,
/// `reload @@sqlstat=close|open` switches them.
#[test]
fn sql_statistics_as_mycat() {
    use common::wire::Conn;
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb; CREATE TABLE shopdb.t (id INT PRIMARY KEY, v INT); CREATE TABLE shopdb.u (id INT PRIMARY KEY)");
    let r = router(&single(
        &db,
        &format!("{APP}{ADMIN_ROOT}  sql_stat: true\n"),
        "",
    ));
    let mut adm = Conn::connect(r.admin, "root", "adm", None).expect("admin login");
    let num = |v: &Option<String>| {
        v.as_deref()
            .and_then(|x| x.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let before = num(&adm.value("show @@time.current").expect("now"));
    let mut app = session(&r, "app", "s3cret");
    app.exec("INSERT INTO t VALUES (1, 10), (2, 20)")
        .expect("insert");
    app.exec("UPDATE t SET v = 11 WHERE id = 1")
        .expect("update");
    assert_eq!(
        app.value("SELECT v FROM t WHERE id = 1")
            .expect("select")
            .as_deref(),
        Some("11")
    );
    assert_eq!(
        app.value("SELECT v FROM t WHERE id = 2")
            .expect("select")
            .as_deref(),
        Some("20")
    );
    app.query("/*!mycat:datanode=dn1*/ SELECT t.v FROM t JOIN u ON u.id = t.id")
        .expect("join behind a hint");
    // Not counted: a SET, a failing statement, what the router answers itself.
    app.exec("SET @x = 1").expect("set");
    app.query("SELECT nope FROM t").expect_err("unknown column");
    app.query("SELECT @@version_comment LIMIT 1")
        .expect("local");
    // A prepared execute counts as its statement.
    let st = app
        .prepare("SELECT v FROM t WHERE id = ?")
        .expect("prepare");
    app.execute(st, 0, &[Some("2")], &[]).expect("execute");
    // Over 10,000 rows; 512 KiB or more.
    assert_eq!(
        app.query("SELECT seq FROM seq_1_to_10001")
            .expect("many rows")
            .len(),
        10_001
    );
    app.value("SELECT REPEAT('x', 600000)").expect("a big row");

    // show @@sql: newest first, numbered per user. (A statement is recorded right after
    // its answer is sent: wait for the last.)
    let rows = wait_for(Duration::from_secs(10), || {
        let rows = adm.query("show @@sql").expect("show @@sql");
        (rows.len() == 8).then_some(rows)
    })
    .unwrap_or_else(|| adm.query("show @@sql").expect("show @@sql"));
    assert_eq!(
        adm.last_names,
        ["ID", "USER", "START_TIME", "EXECUTE_TIME", "SQL", "IP"]
    );
    let types: Vec<u8> = adm.last_types.iter().map(|t| t.0).collect();
    assert_eq!(types, [8, 15, 8, 8, 253, 253]);
    let sql: Vec<&str> = rows.iter().filter_map(|r| r[4].as_deref()).collect();
    assert_eq!(
        sql,
        [
            "SELECT REPEAT('x', 600000)",
            "SELECT seq FROM seq_1_to_10001",
            "SELECT v FROM t WHERE id = ?",
            "/*!mycat:datanode=dn1*/ SELECT t.v FROM t JOIN u ON u.id = t.id",
            "SELECT v FROM t WHERE id = 2",
            "SELECT v FROM t WHERE id = 1",
            "UPDATE t SET v = 11 WHERE id = 1",
            "INSERT INTO t VALUES (1, 10), (2, 20)",
        ],
        "{rows:?}"
    );
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(num(&row[0]), i as u64 + 1);
        assert_eq!(row[1].as_deref(), Some("app"));
        assert!(num(&row[2]) >= before.saturating_sub(1000), "{row:?}");
        assert_eq!(row[5].as_deref(), Some("127.0.0.1"));
    }

    // show @@sql.sum: 6 reads, 2 writes.
    let sum = adm.query("show @@sql.sum").expect("sum");
    assert_eq!(
        adm.last_names,
        [
            "ID",
            "USER",
            "R",
            "W",
            "R%",
            "MAX",
            "NET_IN",
            "NET_OUT",
            "TIME_COUNT",
            "TTL_COUNT",
            "LAST_TIME"
        ]
    );
    assert_eq!(sum.len(), 1, "{sum:?}");
    let row = &sum[0];
    assert_eq!(
        (row[1].as_deref(), num(&row[2]), num(&row[3])),
        (Some("app"), 6, 2),
        "{row:?}"
    );
    assert_eq!(row[4].as_deref(), Some("0.75"));
    assert_eq!(row[5].as_deref(), Some("1"));
    assert!(num(&row[6]) > 100 && num(&row[7]) > 600_000, "{row:?}");
    let total = |h: &Option<String>| -> u64 {
        h.as_deref()
            .unwrap_or("")
            .trim_matches(|c| c == '[' || c == ']')
            .split(", ")
            .filter_map(|x| x.parse::<u64>().ok())
            .sum()
    };
    assert_eq!((total(&row[8]), total(&row[9])), (8, 8), "{row:?}");
    assert!(num(&row[10]) >= num(&rows[0][2]), "{row:?}");
    assert_eq!(adm.value("show @@sql.sum.user").expect("sum.user"), row[0]);

    // show @@sql.high: the two `id = ?` SELECTs are one shape.
    let high = adm.query("show @@sql.high").expect("high");
    assert_eq!(adm.last_names.len(), 10);
    let shape = high
        .iter()
        .find(|r| r[8].as_deref() == Some("SELECT v FROM t WHERE id = ?"))
        .unwrap_or_else(|| panic!("{high:?}"));
    // The two texts and the prepared one.
    assert_eq!(num(&shape[2]), 3, "{shape:?}");
    assert!(
        high.iter()
            .any(|r| r[8].as_deref() == Some("INSERT INTO t VALUES (?, ?)")),
        "{high:?}"
    );

    // show @@sql.sum.table: t first (read 5 times, written twice), u with it.
    let tables = adm.query("show @@sql.sum.table").expect("tables");
    assert_eq!(
        adm.last_names,
        [
            "ID",
            "TABLE",
            "R",
            "W",
            "R%",
            "RELATABLE",
            "RELACOUNT",
            "LAST_TIME"
        ]
    );
    assert_eq!(tables[0][1].as_deref(), Some("t"), "{tables:?}");
    assert_eq!(
        (num(&tables[0][2]), num(&tables[0][3])),
        (4, 2),
        "{tables:?}"
    );
    assert_eq!(
        (tables[0][5].as_deref(), tables[0][6].as_deref()),
        (Some("u, "), Some("1, "))
    );
    // As MyCat, `true` does not clear the tables or `sql.sum.user`.
    assert_eq!(
        adm.query("show @@sql.sum.table true")
            .expect("tables")
            .len(),
        tables.len()
    );
    assert_eq!(
        adm.query("show @@sql.sum.table").expect("tables").len(),
        tables.len()
    );
    adm.query("show @@sql.sum.user true").expect("sum.user");
    assert_eq!(num(&adm.query("show @@sql.sum").expect("sum")[0][2]), 6);

    // show @@sql.large / @@sql.resultset.
    let large = adm.query("show @@sql.large").expect("large");
    assert_eq!(
        adm.last_names,
        ["USER", "ROWS", "START_TIME", "EXECUTE_TIME", "SQL", "IP"]
    );
    assert_eq!(large.len(), 1, "{large:?}");
    assert_eq!(
        (num(&large[0][1]), large[0][4].as_deref()),
        (10_001, Some("SELECT seq FROM seq_1_to_10001"))
    );
    let big = adm.query("show @@sql.resultset").expect("resultset");
    assert_eq!(
        adm.last_names,
        ["ID", "USER", "FREQUENCY", "SQL", "RESULTSET_SIZE"]
    );
    assert_eq!(big.len(), 1, "{big:?}");
    assert_eq!(
        (num(&big[0][2]), big[0][3].as_deref()),
        (0, Some("SELECT REPEAT(?, ?)"))
    );
    assert!(num(&big[0][4]) > 600_000, "{big:?}");

    // `true` shows, then forgets.
    assert_eq!(adm.query("show @@sql true").expect("clear").len(), 8);
    assert!(adm.query("show @@sql").expect("cleared").is_empty());
    // reload @@user_stat resets the sums (the shapes stay, as MyCat).
    assert_eq!(adm.exec("reload @@user_stat").expect("user_stat").0, 1);
    let row = adm.query("show @@sql.sum").expect("sum");
    assert_eq!(
        (num(&row[0][2]), num(&row[0][3]), num(&row[0][10])),
        (0, 0, 0),
        "{row:?}"
    );
    assert!(!adm.query("show @@sql.high").expect("high").is_empty());

    // Switched off: forgotten, not recorded; the sysparam says so.
    let param = |adm: &mut Conn| {
        adm.query("show @@sysparam")
            .expect("sysparam")
            .into_iter()
            .find(|row| row[0].as_deref() == Some("sql_stat"))
            .and_then(|row| row[1].clone())
    };
    assert_eq!(param(&mut adm).as_deref(), Some("on"));
    assert_eq!(adm.exec("reload @@sqlstat=close").expect("close").0, 1);
    assert_eq!(param(&mut adm).as_deref(), Some("off"));
    app.value("SELECT 1 FROM t").expect("select");
    for q in [
        "show @@sql",
        "show @@sql.sum",
        "show @@sql.high",
        "show @@sql.sum.table",
    ] {
        assert!(adm.query(q).expect(q).is_empty(), "{q}");
    }
    let e = adm.exec("reload @@sqlstat=maybe").expect_err("usage");
    assert_eq!(e.code, 1064);
    assert_eq!(
        adm.exec("reload @@sqlstat=close").expect("close").0,
        0,
        "no change"
    );
    assert_eq!(adm.exec("reload @@sqlstat=open").expect("open").0, 1);
    app.value("SELECT 2 FROM t").expect("select");
    assert!(
        wait_for(Duration::from_secs(10), || {
            (adm.query("show @@sql").expect("again").len() == 1).then_some(())
        })
        .is_some()
    );
    assert!(
        r.daemon
            .wait_log("router: SQL statistics off (reload @@sqlstat, "),
        "{}",
        r.logs()
    );
    assert!(
        r.daemon
            .wait_log("router: SQL statistics on (reload @@sqlstat, "),
        "{}",
        r.logs()
    );
    // MyCat's condition statistics: the values SELECTs on t ask of t.id.
    let cond = |adm: &mut Conn| -> Vec<String> {
        adm.query("show @@sql.condition")
            .expect("condition")
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| v.clone().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    assert_eq!(
        cond(&mut adm),
        [
            "1 null.null.valuekey size 0",
            "2 null.null.valuecount total 0"
        ]
    );
    assert_eq!(adm.last_names, ["ID", "KEY", "VALUE", "COUNT"]);
    assert_eq!(adm.exec("reload @@query_cf=t&id").expect("watch").0, 1);
    for q in [
        "SELECT v FROM t WHERE id = 1",
        "SELECT v FROM t WHERE id = 1 AND v > 0",
        "SELECT v FROM t WHERE id IN (1, 2)",
        "SELECT id FROM u WHERE id = 9",
        "UPDATE t SET v = v WHERE id = 2",
    ] {
        app.query(q).expect(q);
    }
    let want = [
        "0 t.id 1 3",
        "1 t.id 2 1",
        "3 t.id.valuekey size 2",
        "4 t.id.valuecount total 4",
    ];
    let got = wait_for(Duration::from_secs(10), || {
        let c = cond(&mut adm);
        (c == want).then_some(c)
    });
    assert!(got.is_some(), "{:?}", cond(&mut adm));
    let e = adm.exec("reload @@query_cf=t").expect_err("usage");
    assert_eq!(e.code, 1064);
    assert_eq!(adm.exec("reload @@query_cf=NULL").expect("stop").0, 1);
    assert_eq!(cond(&mut adm).len(), 2);
    assert!(
        r.daemon
            .wait_log("router: SQL condition statistics watch t.id")
    );
}

/// MyCat's `show @@white`: a row per whitelisted host with the users it admits (every
/// user for a pattern or an entry without users); `show @@white.set` points to the config.
#[test]
fn show_white_lists_the_whitelist_as_it_admits() {
    use common::wire::Conn;
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb");
    let users = format!(
        "{APP}{ADMIN_ROOT}  firewall:\n    whitelist:\n      - {{ host: \"192.0.2.1, 127.0.0.1\", users: [app, root] }}\n      - {{ host: \"10.1.*\", users: [app] }}\n      - {{ host: \"198.18.0.0/15\" }}\n      - {{ host: \"192.0.2.7\", users: [app] }}\n"
    );
    let r = router(&single(&db, &users, ""));
    let mut adm = Conn::connect(r.admin, "root", "adm", None).expect("admin login");
    let rows: Vec<(String, String)> = adm
        .query("show @@white")
        .expect("show @@white")
        .into_iter()
        .map(|r| {
            (
                r[0].clone().unwrap_or_default(),
                r[1].clone().unwrap_or_default(),
            )
        })
        .collect();
    let want = [
        ("192.0.2.1", "app,root"),
        ("127.0.0.1", "app,root"),
        ("10.1.*", "app,root"),
        ("198.18.0.0/15", "app,root"),
        ("192.0.2.7", "app"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(h, u)| (h.to_string(), u.to_string()))
        .collect();
    assert_eq!(rows, want);
    let e = adm
        .query("show @@white.set=198.18.0.9,app")
        .expect_err("runtime change");
    assert!(e.msg.contains("router.firewall.whitelist"), "{e}");
}

/// MyCat's monitoring commands (`show @@command`, `@@processor`, `@@threadpool`,
/// `@@session`): their columns and what they count for a real session.
#[test]
fn monitoring_commands_as_mycat() {
    use common::wire::Conn;
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shopdb; CREATE TABLE shopdb.t (id INT PRIMARY KEY)");
    let r = router(&single(&db, &format!("{APP}{ADMIN_ROOT}"), ""));
    let mut adm = Conn::connect(r.admin, "root", "adm", None).expect("admin login");
    // (column, value) of each row.
    let table = |adm: &mut Conn, sql: &str| -> Vec<Vec<(String, String)>> {
        let rows = adm.query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.into_iter()
            .map(|row| {
                adm.last_names
                    .iter()
                    .cloned()
                    .zip(row.into_iter().map(Option::unwrap_or_default))
                    .collect()
            })
            .collect()
    };
    let one = |adm: &mut Conn, sql: &str| -> Vec<(String, String)> {
        let mut t = table(adm, sql);
        assert_eq!(t.len(), 1, "{sql}: {t:?}");
        t.remove(0)
    };
    let num = |row: &[(String, String)], col: &str| -> u64 {
        row.iter()
            .find(|(c, _)| c == col)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or_else(|| panic!("{col} in {row:?}"))
    };
    let names =
        |row: &[(String, String)]| -> Vec<String> { row.iter().map(|(c, _)| c.clone()).collect() };
    let before = one(&mut adm, "show @@command");
    assert_eq!(
        names(&before),
        [
            "PROCESSOR",
            "INIT_DB",
            "QUERY",
            "STMT_PREPARE",
            "STMT_EXECUTE",
            "STMT_CLOSE",
            "PING",
            "KILL",
            "QUIT",
            "OTHER"
        ]
    );
    assert_eq!(before[0].1, "Processor0");
    let proc0 = one(&mut adm, "show @@processor");
    assert_eq!(
        names(&proc0),
        [
            "NAME",
            "NET_IN",
            "NET_OUT",
            "REACT_COUNT",
            "R_QUEUE",
            "W_QUEUE",
            "FREE_BUFFER",
            "TOTAL_BUFFER",
            "BU_PERCENT",
            "BU_WARNS",
            "FC_COUNT",
            "BC_COUNT"
        ]
    );
    let pool0 = one(&mut adm, "show @@threadpool");
    assert_eq!(
        names(&pool0),
        [
            "NAME",
            "POOL_SIZE",
            "ACTIVE_COUNT",
            "TASK_QUEUE_SIZE",
            "COMPLETED_TASK",
            "TOTAL_TASK"
        ]
    );
    assert!(num(&pool0, "POOL_SIZE") >= 1, "{pool0:?}");
    // The worker answering this is busy.
    assert!(num(&pool0, "ACTIVE_COUNT") >= 1, "{pool0:?}");
    assert!(table(&mut adm, "show @@session").is_empty());
    assert_eq!(
        adm.last_names,
        ["SESSION", "DN_COUNT", "DN_LIST"],
        "show @@session columns"
    );
    // show @@syslog: the daemon's last log lines, the newest first.
    adm.exec("offline").expect("offline");
    adm.exec("online").expect("online");
    let log = table(&mut adm, "show @@syslog limit=50");
    assert_eq!(names(&log[0]), ["DATE", "LOG"]);
    // The newest first: ONLINE before OFFLINE.
    let at = |word: &str| log.iter().position(|row| row[1].1.contains(word));
    assert!(
        matches!((at("router: ONLINE"), at("router: OFFLINE")), (Some(a), Some(b)) if a < b),
        "{log:?}"
    );
    assert_eq!(table(&mut adm, "show @@syslog limit=2").len(), 2);
    let date = &log[0][0].1;
    assert!(
        date.len() == 19 && date.starts_with("20") && date.as_bytes()[10] == b' ',
        "{date}"
    );
    assert!(table(&mut adm, "show @@syslog limit=1000").len() > 2);
    let e = adm.query("show @@syslog").expect_err("no limit");
    assert!(e.to_string().contains("limit="), "{e}");

    // One session sends each kind of command.
    let mut app = session(&r, "app", "s3cret");
    let mut p = vec![0x02];
    p.extend_from_slice(b"shop");
    app.send(&p).expect("init db");
    app.results(false).expect("COM_INIT_DB");
    for _ in 0..3 {
        assert_eq!(app.value("SELECT 1").expect("select").as_deref(), Some("1"));
    }
    let st = app.prepare("SELECT ?").expect("prepare");
    app.execute(st, 0, &[Some("5")], &[]).expect("execute");
    app.close_stmt(st).expect("close");
    app.ping().expect("ping");
    let mut kill = vec![0x0c];
    kill.extend_from_slice(&999_999u32.to_le_bytes());
    app.send(&kill).expect("kill");
    app.results(false).expect_err("no such thread");
    // A transaction keeps its connection between statements: show @@session lists it.
    let id = app
        .value("SELECT CONNECTION_ID()")
        .expect("id")
        .unwrap_or_default();
    app.exec("BEGIN").expect("begin");
    app.exec("INSERT INTO t VALUES (1)").expect("insert");
    // (Published as the command ends, just after its answer went out.)
    let sessions = wait_for(Duration::from_secs(10), || {
        let t = table(&mut adm, "show @@session");
        (t.len() == 1).then_some(t)
    })
    .unwrap_or_else(|| panic!("one session: {:?}", table(&mut adm, "show @@session")));
    assert_eq!(sessions[0][0].1, id, "{sessions:?}");
    assert_eq!(sessions[0][1].1, "1", "{sessions:?}");
    let list = &sessions[0][2].1;
    let thread = db
        .sql("SELECT trx_mysql_thread_id FROM information_schema.INNODB_TRX")
        .trim()
        .to_string();
    assert!(
        list.starts_with("MySQLConnection [name=")
            && list.ends_with(&format!("threadId={thread}]\r\n")),
        "{list:?} (transaction on server thread {thread})"
    );
    // show @@backend shows it borrowed by that session, too.
    let backend = adm.query("show @@backend").expect("backend");
    assert!(
        backend.iter().any(
            |row| row.get(2).cloned().flatten().as_deref() == Some(thread.as_str())
                && row.get(6).cloned().flatten().as_deref() == Some("true")
                && row.get(7).cloned().flatten().as_deref() == Some(id.as_str())
        ),
        "{backend:?}"
    );
    let held = one(&mut adm, "show @@processor");
    assert!(num(&held, "FC_COUNT") >= 2, "{held:?}");
    assert!(num(&held, "BC_COUNT") >= 1, "{held:?}");
    app.exec("COMMIT").expect("commit");
    assert!(
        wait_for(Duration::from_secs(10), || table(
            &mut adm,
            "show @@session"
        )
        .is_empty()
        .then_some(()))
        .is_some(),
        "the connection went back to the pool"
    );
    app.send(&[0x01]).expect("quit");
    drop(app);
    let after = wait_for(Duration::from_secs(10), || {
        let a = one(&mut adm, "show @@command");
        (num(&a, "QUIT") > num(&before, "QUIT")).then_some(a)
    })
    .expect("QUIT counted");
    let diff = |col: &str| num(&after, col) - num(&before, col);
    assert_eq!(
        [
            diff("INIT_DB"),
            diff("QUERY"),
            diff("STMT_PREPARE"),
            diff("STMT_EXECUTE"),
            diff("STMT_CLOSE"),
            diff("PING"),
            diff("KILL"),
            diff("QUIT"),
            diff("OTHER"),
        ],
        // QUERY: 3 SELECT 1, CONNECTION_ID(), BEGIN, INSERT, COMMIT.
        [1, 7, 1, 1, 1, 1, 1, 1, 0],
        "{before:?} -> {after:?}"
    );
    // The client bytes, the login's and the commands'.
    let proc1 = one(&mut adm, "show @@processor");
    assert!(
        num(&proc1, "NET_IN") > num(&proc0, "NET_IN") + 100,
        "{proc1:?}"
    );
    assert!(
        num(&proc1, "NET_OUT") > num(&proc0, "NET_OUT") + 100,
        "{proc1:?}"
    );
    // (COM_QUIT is counted done just after it is counted received.)
    let pool1 = wait_for(Duration::from_secs(10), || {
        let p = one(&mut adm, "show @@threadpool");
        (num(&p, "COMPLETED_TASK") == num(&p, "TOTAL_TASK")).then_some(p)
    })
    .expect("every command done");
    // The 14 commands above, received and done (COM_QUIT included).
    assert_eq!(
        (
            num(&pool1, "COMPLETED_TASK") - num(&pool0, "COMPLETED_TASK"),
            num(&pool1, "TOTAL_TASK") - num(&pool0, "TOTAL_TASK")
        ),
        (14, 14),
        "{pool0:?} -> {pool1:?}"
    );
}
