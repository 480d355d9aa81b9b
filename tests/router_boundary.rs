//! The router as its users' privilege boundary, and metadata by logical schema name,
//! against real MariaDB servers: statements that administer a server (SHUTDOWN,
//! accounts, grants, databases, replication, plugins, server files, the `mysql` and
//! `performance_schema` databases) are refused before anything is sent, however they
//! are written; SHOW GRANTS answers with the router user's own grants;
//! `information_schema` queries and JDBC DatabaseMetaData by schema name see the
//! schema's tables (a table on another node included) under the schema's name; SHOW and
//! DESCRIBE forms the SQL parser cannot read work on configured tables.

mod common;

use common::clients::run_metadata_check;
use common::shard::{
    DDL, Mysql, PASSWORD, SCHEMA, Shard, USER, router_body, start_router, two_servers,
};
use common::wire::Conn;

fn sorted(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn server_administration_is_refused_before_anything_runs() {
    let s = Shard::start();
    let app = Mysql::new(s.router.addr, USER, PASSWORD)
        .db(SCHEMA)
        .comments();
    for (sql, code) in [
        ("SHUTDOWN", 1227),
        ("shutdown", 1227),
        ("/*!50000 SHUTDOWN */", 1227),
        ("SET STATEMENT max_statement_time=10 FOR SHUTDOWN", 1227),
        ("RESTART", 1227),
        ("CREATE DATABASE foo", 1044),
        ("DROP DATABASE shop_1", 1044),
        ("DROP DATABASE shop", 1044),
        ("ALTER DATABASE shop CHARACTER SET latin1", 1044),
        ("CREATE USER evil IDENTIFIED BY 'x'", 1227),
        ("ALTER USER root@localhost IDENTIFIED BY 'x'", 1227),
        ("DROP USER root@localhost", 1227),
        ("RENAME USER root@localhost TO r2@localhost", 1227),
        ("GRANT ALL ON *.* TO app", 1227),
        ("REVOKE ALL ON *.* FROM root@localhost", 1227),
        ("CREATE ROLE r", 1227),
        ("SET DEFAULT ROLE r FOR root@localhost", 1227),
        ("FLUSH PRIVILEGES", 1227),
        ("RESET MASTER", 1227),
        ("INSTALL SONAME 'ha_blackhole'", 1142),
        ("UNINSTALL PLUGIN blackhole", 1142),
        ("CHANGE MASTER TO master_host = '127.0.0.1'", 1227),
        ("START SLAVE", 1227),
        ("STOP SLAVE", 1227),
        ("PURGE BINARY LOGS BEFORE NOW()", 1227),
        ("SELECT user, password FROM mysql.user", 1142),
        ("SELECT * FROM `mysql` . `user`", 1142),
        ("SELECT * FROM performance_schema.threads", 1142),
        ("SHOW TABLES FROM mysql", 1044),
        ("USE mysql", 1044),
        ("SHOW GRANTS FOR root@localhost", 1044),
        ("SHOW CREATE USER root@localhost", 1044),
        ("SELECT LOAD_FILE('/etc/hostname')", 1045),
        ("SELECT 1 INTO OUTFILE '/tmp/tandem-boundary-test'", 1045),
        ("LOAD DATA INFILE '/etc/hostname' INTO TABLE customer", 1045),
        ("KILL USER root", 1095),
    ] {
        let e = app.run(sql).expect_err(sql);
        assert!(e.contains(&format!("ERROR {code} ")), "{sql}: {e}");
    }
    // MySQL's own texts.
    let e = app.run("SHUTDOWN").expect_err("shutdown");
    assert!(
        e.contains(
            "Access denied; you need (at least one of) the SHUTDOWN privilege(s) for this operation"
        ),
        "{e}"
    );
    let e = app.run("CREATE DATABASE foo").expect_err("create database");
    assert!(
        e.contains("Access denied for user 'app'@'%' to database 'foo'"),
        "{e}"
    );
    let e = app.run("SELECT * FROM mysql.user").expect_err("mysql.user");
    assert!(
        e.contains("SELECT command denied to user 'app'@'%' for table 'user'"),
        "{e}"
    );
    // A multi-statement text and prepared statements: the same.
    let mut c = Conn::connect_multi(s.router.addr, USER, PASSWORD, Some(SCHEMA)).expect("login");
    let e = c.query("SELECT 1; SHUTDOWN").expect_err("multi");
    assert_eq!(e.code, 1227, "{e}");
    let e = c
        .query("SELECT 1; DROP USER root@localhost")
        .expect_err("multi");
    assert_eq!(e.code, 1227, "{e}");
    let e = c.prepare("SHUTDOWN").expect_err("prepare");
    assert_eq!(e.code, 1227, "{e}");
    let e = c.prepare("CREATE DATABASE foo").expect_err("prepare");
    assert_eq!(e.code, 1044, "{e}");
    let e = c.prepare("SELECT * FROM mysql.user").expect_err("prepare");
    assert_eq!(e.code, 1142, "{e}");
    // SHOW GRANTS: the router user's own grants, never the backend login's.
    let own = "GRANT USAGE ON *.* TO `app`@`%`\nGRANT ALL PRIVILEGES ON `shop`.* TO `app`@`%`";
    for sql in [
        "SHOW GRANTS",
        "SHOW GRANTS FOR CURRENT_USER()",
        "SHOW GRANTS FOR CURRENT_USER",
        "SHOW GRANTS FOR app",
    ] {
        assert_eq!(app.run(sql).expect(sql).trim_end(), own, "{sql}");
    }
    let st = c.prepare("SHOW GRANTS").expect("prepare SHOW GRANTS");
    let rows = c.execute(st, 0, &[], &[]).expect("execute SHOW GRANTS");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[1][0].as_deref(),
        Some("GRANT ALL PRIVILEGES ON `shop`.* TO `app`@`%`")
    );
    // Nothing reached the servers: both are up, nothing was created or changed.
    for db in [&s.a, &s.b] {
        assert_eq!(db.sql("SELECT 1"), "1");
        assert_eq!(
            db.sql("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'foo'"),
            "0"
        );
        assert_eq!(
            db.sql("SELECT COUNT(*) FROM mysql.user WHERE user IN ('evil', 'r', 'r2')"),
            "0"
        );
    }
    assert_eq!(s.on1("SELECT COUNT(*) FROM customer"), "0");
    assert!(!std::path::Path::new("/tmp/tandem-boundary-test").exists());
    // What the README documents keeps working.
    assert_eq!(
        app.run("SHOW DATABASES").expect("show databases").trim(),
        "shop"
    );
    app.run("CREATE TABLE scratch (id INT PRIMARY KEY); DROP TABLE scratch")
        .expect("ddl");
    assert_eq!(
        app.run("USE shop; SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'customer'")
            .expect("information_schema")
            .trim(),
        "1"
    );
    let e = app
        .run("SET GLOBAL max_connections = 5")
        .expect_err("set global");
    assert!(e.contains("ERROR 1227 "), "{e}");
}

#[test]
fn information_schema_and_metadata_by_schema_name() {
    let (a, b) = two_servers();
    a.sql(&format!("CREATE DATABASE shop_0; USE shop_0; {DDL}"));
    // `ledger` lives on dn1 only: not on the schema's data node.
    b.sql(&format!(
        "CREATE DATABASE shop_1; USE shop_1; {DDL} CREATE TABLE ledger (id INT PRIMARY KEY, amount INT, KEY by_amount (amount));"
    ));
    let body = router_body(a.addr, b.addr).replace(
        "      tables:\n",
        "      tables:\n        - { name: ledger, data_nodes: \"dn1\" }\n",
    );
    let r = start_router(&body);
    let app = Mysql::new(r.addr, USER, PASSWORD).db(SCHEMA);
    let q = |sql: &str| {
        app.run(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", r.daemon.logs()))
    };
    // The schema's tables under its name, the one on another node included.
    let tables = sorted(&q(
        "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop'",
    ));
    for t in ["customer", "ledger", "my_order", "order_item", "province"] {
        assert!(tables.contains(&format!("shop\t{t}")), "{t}: {tables:?}");
    }
    assert!(tables.iter().all(|l| l.starts_with("shop\t")), "{tables:?}");
    assert_eq!(
        q(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'ledger' ORDER BY ORDINAL_POSITION"
        ),
        "id\namount\n"
    );
    assert_eq!(
        q(
            "SELECT INDEX_SCHEMA, INDEX_NAME FROM information_schema.STATISTICS WHERE 'shop' = TABLE_SCHEMA AND TABLE_NAME = 'customer'"
        ),
        "shop\tPRIMARY\n"
    );
    assert_eq!(
        q(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'customer'"
        ),
        "customer\n"
    );
    // Only the user's schemas (and information_schema itself), never the servers' others.
    assert_eq!(
        q(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME <> 'information_schema'"
        ),
        "shop\n"
    );
    assert_eq!(
        sorted(&q(
            "SELECT DISTINCT TABLE_SCHEMA FROM information_schema.TABLES"
        )),
        vec!["information_schema", "shop"]
    );
    // SHOW and DESCRIBE forms the parser cannot read, on configured tables.
    let out = q("DESCRIBE customer '%'");
    assert!(out.starts_with("id\tbigint(20)"), "{out}");
    assert!(q("DESCRIBE customer id").starts_with("id\tbigint(20)"));
    assert!(q("DESCRIBE ledger amount").starts_with("amount\tint(11)"));
    let out = q("SHOW INDEX FROM customer WHERE Key_name = 'PRIMARY'");
    assert!(out.starts_with("customer\t0\tPRIMARY"), "{out}");
    let out = q("SHOW INDEX FROM ledger WHERE Key_name = 'by_amount'");
    assert!(out.starts_with("ledger\t1\tby_amount"), "{out}");
    // JDBC DatabaseMetaData by catalog, as GUI tools browse.
    let url = format!("jdbc:mariadb://{}:{}/{SCHEMA}", r.addr.ip(), r.addr.port());
    let (ok, out) = run_metadata_check(
        &url,
        USER,
        PASSWORD,
        SCHEMA,
        &["customer", "my_order", "ledger"],
        "ledger",
    );
    assert!(ok, "{out}\n{}", r.daemon.logs());
}
