//! The router's own process list and privileges through the router, against a real
//! MariaDB: `SHOW [FULL] PROCESSLIST` (the mariadb CLI, `mariadb-admin processlist`),
//! `information_schema.PROCESSLIST` with WHERE filters, `KILL` of an id it shows,
//! `information_schema.*_PRIVILEGES`; never the backend login's threads, SQL or grants.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::mariadb::MariaDb;
use common::mariadb::mariadb_client_pw as cli;
use common::router::{RouterDaemon, db_host_yaml, start_router_config};
use common::wait_for;
use common::wire::Conn;

/// A router on `db` (schema `shop` on database shopdb; the backend login is root) with
/// users `app`, `other` (read_only), `ops` (admin) and `root_ops` (admin without
/// schemas, as the operators of config/lab).
fn router(db: &MariaDb) -> RouterDaemon {
    db.sql("CREATE DATABASE shopdb; CREATE TABLE shopdb.t (id INT PRIMARY KEY)");
    start_router_config(&format!(
        "  users:\n    - {{ name: app, password: a-pw, schemas: [shop] }}\n    - {{ name: other, password: o-pw, schemas: [shop], read_only: true }}\n    - {{ name: ops, password: ops-pw, schemas: [shop], admin: true }}\n    - {{ name: root_ops, password: ops-pw, admin: true }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      heartbeat_interval: 500ms\n      min_con: 1\n      write_hosts:\n        - {}\n",
        db_host_yaml("m1", db)
    ))
}

fn session(r: &RouterDaemon, user: &str, pw: &str) -> Conn {
    Conn::connect(r.addr, user, pw, Some("shop"))
        .unwrap_or_else(|e| panic!("login of {user}: {e}\n{}", r.daemon.logs()))
}

/// `mariadb-admin [-v] processlist` through the router; its stdout.
fn admin_processlist(r: &RouterDaemon, user: &str, pw: &str, verbose: bool) -> String {
    let mut cmd = Command::new("mariadb-admin");
    cmd.arg("--no-defaults")
        .arg(format!("--host={}", r.addr.ip()))
        .arg(format!("--port={}", r.addr.port()))
        .arg(format!("--user={user}"))
        .arg(format!("--password={pw}"))
        .args(["--protocol=TCP", "--connect-timeout=10"]);
    if verbose {
        cmd.arg("--verbose");
    }
    let out = cmd
        .arg("processlist")
        .stdin(Stdio::null())
        .output()
        .expect("mariadb-admin (apt-get install mariadb-client)");
    assert!(
        out.status.success(),
        "mariadb-admin: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `sql` on `c` in a thread (a statement that sleeps); joined by the caller.
fn running(
    mut c: Conn,
    sql: &'static str,
) -> std::thread::JoinHandle<(Conn, Result<common::wire::Rows, common::wire::Err>)> {
    std::thread::spawn(move || {
        let r = c.query(sql);
        (c, r)
    })
}

#[test]
fn processlist_shows_the_routers_sessions_of_the_same_user_only() {
    let db = MariaDb::start();
    let r = router(&db);
    let q = |user: &str, pw: &str, sql: &str| {
        cli(r.addr, user, pw, Some("shop"), sql)
            .unwrap_or_else(|e| panic!("{user}: {sql}: {e}\n{}", r.daemon.logs()))
    };
    let mut a = session(&r, "app", "a-pw");
    let a_id = a
        .value("SELECT CONNECTION_ID()")
        .expect("id")
        .expect("not null");
    // CONNECTION_ID() is the id of the greeting, which KILL takes.
    assert_eq!(a_id, a.id.to_string());
    let b = session(&r, "other", "o-pw");
    let b_id = b.id.to_string();
    let a_run = running(a, "SELECT SLEEP(60) AS app_sleeps");
    let b_run = running(b, "SELECT 'other-secret', SLEEP(60)");
    // Both statements run (seen on the server, bounded wait).
    let started = wait_for(Duration::from_secs(20), || {
        (db.sql("SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE '%SLEEP(60)%' AND info NOT LIKE '%processlist%'") == "2")
            .then_some(())
    });
    assert!(started.is_some(), "the sleeps never started");

    // app sees its own sessions only: the sleeping one as Query with its SQL.
    let full = q("app", "a-pw", "SHOW FULL PROCESSLIST");
    let rows: Vec<Vec<&str>> = full.lines().map(|l| l.split('\t').collect()).collect();
    let sleeping = rows
        .iter()
        .find(|r| r.first() == Some(&a_id.as_str()))
        .unwrap_or_else(|| panic!("session {a_id} not listed:\n{full}"));
    assert_eq!(sleeping.len(), 9, "{full}");
    assert_eq!(
        (sleeping[1], sleeping[3], sleeping[4], sleeping[6]),
        ("app", "shop", "Query", "executing"),
        "{full}"
    );
    assert!(sleeping[2].starts_with("127.0.0.1:"), "{full}");
    assert_eq!(sleeping[7], "SELECT SLEEP(60) AS app_sleeps", "{full}");
    assert_eq!(sleeping[8], "0.000", "{full}");
    // The CLI's own session shows its statement.
    assert!(
        rows.iter()
            .any(|r| r.get(4) == Some(&"Query") && r.get(7) == Some(&"SHOW FULL PROCESSLIST")),
        "{full}"
    );
    assert!(rows.iter().all(|r| r.get(1) == Some(&"app")), "{full}");
    // Another user's SQL, the backend login and the data node's database never appear.
    for absent in ["other-secret", "root", "shopdb"] {
        assert!(!full.contains(absent), "{absent} in:\n{full}");
    }
    assert!(!rows.iter().any(|r| r[0] == b_id), "{full}");
    // mariadb-admin processlist (SHOW PROCESSLIST, and with -v SHOW FULL PROCESSLIST).
    let out = admin_processlist(&r, "app", "a-pw", false);
    assert!(
        out.contains("SELECT SLEEP(60) AS app_sleeps") && out.contains("Progress"),
        "{out}"
    );
    assert!(
        !out.contains("other-secret") && !out.contains("root"),
        "{out}"
    );
    let out = admin_processlist(&r, "other", "o-pw", true);
    assert!(
        out.contains("other-secret") && !out.contains("app_sleeps"),
        "{out}"
    );

    // information_schema.PROCESSLIST with a WHERE filter and CONNECTION_ID().
    let is = q(
        "app",
        "a-pw",
        "SELECT ID, USER, DB, COMMAND, INFO FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Sleep' AND ID <> CONNECTION_ID() ORDER BY ID",
    );
    assert_eq!(
        is,
        format!("{a_id}\tapp\tshop\tQuery\tSELECT SLEEP(60) AS app_sleeps"),
        "{is}"
    );
    let mine = q(
        "app",
        "a-pw",
        "SELECT COUNT(*), MAX(USER), MIN(TIME_MS) >= 0 FROM information_schema.processlist p WHERE p.ID = CONNECTION_ID() AND p.INFO LIKE 'SELECT COUNT(*)%'",
    );
    assert_eq!(mine, "1\tapp\t1");
    // The admin user sees every session (not the backend's).
    let all = q(
        "ops",
        "ops-pw",
        "SELECT GROUP_CONCAT(USER ORDER BY ID) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SLEEP(60)%' AND ID <> CONNECTION_ID()",
    );
    assert_eq!(all, "app,other");
    let n: usize = q(
        "app",
        "a-pw",
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER <> 'app'",
    )
    .parse()
    .expect("count");
    assert_eq!(n, 0);

    // KILL of an id the process list showed ends that session.
    q("app", "a-pw", &format!("KILL {a_id}"));
    let (mut a, res) = a_run.join().expect("join");
    assert!(res.is_err(), "the killed session's statement: {res:?}");
    assert!(a.value("SELECT 1").is_err(), "the killed session is closed");
    // Another user's session cannot be killed by app; the admin user can.
    let e =
        cli(r.addr, "app", "a-pw", Some("shop"), &format!("KILL {b_id}")).expect_err("not owner");
    assert!(e.contains("1095"), "{e}");
    q("ops", "ops-pw", &format!("KILL QUERY {b_id}"));
    // SLEEP() stops (its statement ends, with or without an error) and the session
    // stays.
    let (mut b, _) = b_run.join().expect("join");
    assert_eq!(b.value("SELECT 2").expect("alive").as_deref(), Some("2"));
    let gone = wait_for(Duration::from_secs(10), || {
        let l = q("app", "a-pw", "SHOW PROCESSLIST");
        (!l.lines()
            .any(|x| x.split('\t').next() == Some(a_id.as_str())))
        .then_some(())
    });
    assert!(gone.is_some(), "the killed session is still listed");

    // The admin port's show @@connection.sql has the same ids and the last statement.
    let sql = cli(r.admin, "ops", "ops-pw", None, "show @@connection.sql").expect("admin");
    assert!(
        sql.lines().any(
            |l| l.starts_with(&format!("{b_id}\t127.0.0.1\tother\tshop\t"))
                && l.ends_with("SELECT 2")
        ),
        "{sql}"
    );
}

#[test]
fn privileges_tables_and_refusals() {
    let db = MariaDb::start();
    let r = router(&db);
    let q = |user: &str, pw: &str, sql: &str| cli(r.addr, user, pw, Some("shop"), sql);
    let ok = |user: &str, pw: &str, sql: &str| {
        q(user, pw, sql).unwrap_or_else(|e| panic!("{user}: {sql}: {e}\n{}", r.daemon.logs()))
    };
    assert_eq!(
        ok(
            "app",
            "a-pw",
            "SELECT * FROM information_schema.USER_PRIVILEGES"
        ),
        "'app'@'%'\tdef\tUSAGE\tNO"
    );
    assert_eq!(
        ok(
            "ops",
            "ops-pw",
            "SELECT GROUP_CONCAT(PRIVILEGE_TYPE ORDER BY PRIVILEGE_TYPE) FROM information_schema.USER_PRIVILEGES"
        ),
        "CONNECTION ADMIN,PROCESS"
    );
    // An admin user without schemas: the SELECT is evaluated on a data node all the
    // same (it got "no data node to evaluate the WHERE condition on").
    let _idle = session(&r, "app", "a-pw");
    assert_eq!(
        cli(
            r.addr,
            "root_ops",
            "ops-pw",
            None,
            "SELECT USER, DB, COMMAND FROM information_schema.PROCESSLIST WHERE USER = 'app'; SELECT GROUP_CONCAT(PRIVILEGE_TYPE ORDER BY PRIVILEGE_TYPE) FROM information_schema.USER_PRIVILEGES"
        )
        .unwrap_or_else(|e| panic!("root_ops: {e}\n{}", r.daemon.logs())),
        "app\tshop\tSleep\nCONNECTION ADMIN,PROCESS"
    );
    assert_eq!(
        ok("ops", "ops-pw", "SHOW GRANTS").lines().next(),
        Some("GRANT PROCESS, CONNECTION ADMIN ON *.* TO `ops`@`%`")
    );
    let s = ok(
        "app",
        "a-pw",
        "SELECT TABLE_SCHEMA, COUNT(*), SUM(PRIVILEGE_TYPE = 'SELECT') FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''%''') GROUP BY TABLE_SCHEMA",
    );
    assert_eq!(s, "shop\t19\t1");
    assert_eq!(
        ok(
            "other",
            "o-pw",
            "SELECT GROUP_CONCAT(PRIVILEGE_TYPE) FROM information_schema.SCHEMA_PRIVILEGES"
        ),
        "SELECT,SHOW VIEW"
    );
    assert_eq!(
        ok(
            "app",
            "a-pw",
            "SELECT COUNT(*) FROM information_schema.TABLE_PRIVILEGES JOIN information_schema.COLUMN_PRIVILEGES"
        ),
        "0"
    );
    // The backend login (root) is nowhere.
    for t in [
        "USER_PRIVILEGES",
        "SCHEMA_PRIVILEGES",
        "TABLE_PRIVILEGES",
        "PROCESSLIST",
    ] {
        let out = ok(
            "app",
            "a-pw",
            &format!("SELECT * FROM information_schema.{t}"),
        );
        assert!(
            !out.contains("root") && !out.contains("shopdb"),
            "{t}: {out}"
        );
    }

    // What the router cannot answer is refused, never sent to the server.
    for sql in [
        "SELECT * FROM information_schema.PROCESSLIST JOIN t",
        "SELECT * FROM information_schema.PROCESSLIST WHERE ID IN (SELECT id FROM t)",
        "INSERT INTO t SELECT ID FROM information_schema.PROCESSLIST",
        "SELECT * FROM information_schema.PROCESSLIST FOR UPDATE",
        "PREPARE s FROM 'SHOW PROCESSLIST'",
    ] {
        let e = q("app", "a-pw", sql).expect_err(sql);
        assert!(e.contains("1105"), "{sql}: {e}");
    }
    assert_eq!(ok("app", "a-pw", "SELECT COUNT(*) FROM t"), "0");
    // In a multi-statement text (the CLI splits its input: a driver's text, as JDBC's
    // allowMultiQueries sends it), nothing runs.
    let mut m = Conn::connect_multi(r.addr, "app", "a-pw", Some("shop")).expect("login");
    for sql in [
        "SELECT 1; SELECT * FROM information_schema.PROCESSLIST",
        "SET @a = 1; SELECT * FROM information_schema.PROCESSLIST",
        "SELECT 1; SHOW PROCESSLIST",
        "SHOW FULL PROCESSLIST; SELECT 1",
    ] {
        let e = m.query(sql).expect_err(sql);
        assert_eq!(e.code, 1105, "{sql}: {e}");
    }
    // Prepared: SHOW PROCESSLIST is answered; the tables are for the text protocol
    // (1295, on which Connector/J prepares on the client side).
    let mut c = session(&r, "app", "a-pw");
    let st = c.prepare("SHOW FULL PROCESSLIST").expect("prepare");
    assert_eq!(st.columns, 9);
    let rows = c.execute(st, 0, &[], &[]).expect("execute");
    let id = Some(c.id.to_string());
    assert!(
        rows.iter().any(|r| r[0] == id
            && r[4].as_deref() == Some("Execute")
            && r[7].as_deref() == Some("SHOW FULL PROCESSLIST")),
        "{rows:?}"
    );
    let st = c
        .prepare("/*!mycat:datanode=dn1*/ SHOW PROCESSLIST")
        .expect("prepare hinted");
    let rows = c.execute(st, 0, &[], &[]).expect("execute");
    assert!(
        rows.iter().all(|r| r[1].as_deref() == Some("app")),
        "{rows:?}"
    );
    for sql in [
        "SELECT * FROM information_schema.PROCESSLIST",
        "/*!mycat:datanode=dn1*/ SELECT * FROM information_schema.PROCESSLIST",
    ] {
        let e = c.prepare(sql).expect_err(sql);
        assert_eq!(e.code, 1295, "{sql}: {e}");
    }
    // Behind a MyCat hint (which only routes): the router's list, never the server's.
    let out = ok(
        "app",
        "a-pw",
        "/*!mycat:datanode=dn1*/ SHOW FULL PROCESSLIST",
    );
    assert!(
        out.lines().all(|l| l.split('\t').nth(1) == Some("app")),
        "{out}"
    );
    let e = q(
        "app",
        "a-pw",
        "/*!mycat:datanode=dn1*/ SELECT * FROM information_schema.PROCESSLIST",
    )
    .expect_err("hinted I_S");
    assert!(e.contains("1105"), "{e}");
    // COM_PROCESS_INFO (0x0a), as old clients ask.
    c.send(&[0x0a]).expect("send");
    let rows = c.results(false).expect("process info");
    assert!(
        rows.iter()
            .any(|r| r[0] == id && r[4].as_deref() == Some("Processlist")),
        "{rows:?}"
    );
}
