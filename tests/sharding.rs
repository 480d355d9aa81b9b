//! The sharding router against two real MariaDB data nodes, as in MyCat 1.6's tutorial:
//! row placement per partition rule (range-long, file-map with a default node, mod-long, a
//! global table, an ER parent/child pair), multi-row INSERT split, refused statements, DDL
//! broadcast, MyCat hints, cross-shard merging, and `tandem explain`.
//!
//! Config (tests/common/shard.rs): dn0 = server A database shop_0, dn1 = server B database
//! shop_1; `customer` and `my_order` range-long on `id` (0-5,000,000 → dn0,
//! 5,000,000-10,000,000 → dn1), `order_item` the ER child of `my_order` (order_id = id),
//! `user_info` file-map on `province_id` (10000 → dn0, 10010 → dn1, default dn0),
//! `product` and `audit` mod-long 2 on `id`, `province` global; other tables on dn0.
//! Tables are created directly on the nodes unless a test says otherwise.

mod common;

use std::time::Duration;

use common::shard::{Mysql, PASSWORD, SCHEMA, Shard, USER, config_text, router_body, tandem_stdin};
use common::write;

/// Lines sorted, for results whose order is not specified.
fn sorted(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// Every customer row on each node, to show that a refused statement changed nothing.
fn customers(s: &Shard) -> (String, String) {
    let q = "SELECT id, name, city, balance FROM customer ORDER BY id";
    (s.on0(q), s.on1(q))
}

#[test]
fn rows_land_on_the_node_their_rule_picks_and_read_back() {
    let s = Shard::start();
    let q = |sql: &str| s.ok(sql);

    // customer: range-long on id.
    q("INSERT INTO customer (id, name) VALUES (1, 'a')");
    q("INSERT INTO customer (id, name) VALUES (5000001, 'b')");
    assert_eq!(s.on0("SELECT id, name FROM customer"), "1\ta");
    assert_eq!(s.on1("SELECT id, name FROM customer"), "5000001\tb");

    // user_info: file-map on province_id; an unmapped value goes to default_node 0.
    q("INSERT INTO user_info (id, province_id, name) VALUES (1, 10000, 'u1')");
    q("INSERT INTO user_info (id, province_id, name) VALUES (2, 10010, 'u2')");
    q("INSERT INTO user_info (id, province_id, name) VALUES (3, 10086, 'u3')");
    assert_eq!(
        s.on0("SELECT id, province_id FROM user_info ORDER BY id"),
        "1\t10000\n3\t10086"
    );
    assert_eq!(
        s.on1("SELECT id, province_id FROM user_info ORDER BY id"),
        "2\t10010"
    );

    // product: mod-long 2 on id.
    q("INSERT INTO product (id, name, price) VALUES (4, 'even', 1.00)");
    q("INSERT INTO product (id, name, price) VALUES (7, 'odd', 2.00)");
    assert_eq!(s.on0("SELECT id FROM product"), "4");
    assert_eq!(s.on1("SELECT id FROM product"), "7");

    // province: global, a copy on every node; read back once.
    q(
        "INSERT INTO province (id, name, region) VALUES (1, 'Beijing', 'North'), (2, 'Sichuan', 'West')",
    );
    let both = "1\tBeijing\n2\tSichuan";
    assert_eq!(s.on0("SELECT id, name FROM province ORDER BY id"), both);
    assert_eq!(s.on1("SELECT id, name FROM province ORDER BY id"), both);
    assert_eq!(q("SELECT id, name FROM province ORDER BY id"), both);
    assert_eq!(sorted(&q("SELECT id, name FROM province")), sorted(both));
    assert_eq!(q("SELECT COUNT(*) FROM province"), "2");

    // ER: an order_item goes where its my_order is.
    q(
        "INSERT INTO my_order (id, customer_id, status, order_date) VALUES (6000000, 5000001, 'new', '2024-01-02')",
    );
    q(
        "INSERT INTO my_order (id, customer_id, status, order_date) VALUES (1, 1, 'paid', '2024-01-03')",
    );
    q(
        "INSERT INTO order_item (id, order_id, product_id, qty, price) VALUES (10, 6000000, 7, 2, 9.99)",
    );
    q("INSERT INTO order_item (id, order_id, product_id, qty, price) VALUES (11, 1, 4, 1, 5.00)");
    assert_eq!(s.on1("SELECT id FROM my_order"), "6000000");
    assert_eq!(s.on1("SELECT id, order_id FROM order_item"), "10\t6000000");
    assert_eq!(s.on0("SELECT id FROM my_order"), "1");
    assert_eq!(s.on0("SELECT id, order_id FROM order_item"), "11\t1");
    assert_eq!(
        q("SELECT id, order_id FROM order_item ORDER BY id"),
        "10\t6000000\n11\t1"
    );
    assert_eq!(
        q(
            "SELECT o.id, i.id, i.qty FROM my_order o JOIN order_item i ON o.id = i.order_id ORDER BY o.id"
        ),
        "1\t11\t1\n6000000\t10\t2"
    );
    assert_eq!(
        q(
            "SELECT i.id, o.status FROM my_order o JOIN order_item i ON o.id = i.order_id WHERE o.id = 6000000"
        ),
        "10\tnew"
    );

    // Reads: point, IN, BETWEEN, unfiltered.
    q("INSERT INTO customer (id, name) VALUES (3, 'c')");
    q("INSERT INTO customer (id, name) VALUES (7000000, 'd')");
    assert_eq!(
        q("SELECT id, name FROM customer WHERE id = 5000001"),
        "5000001\tb"
    );
    assert_eq!(q("SELECT id, name FROM customer WHERE id = 1"), "1\ta");
    assert_eq!(
        q("SELECT id, name FROM customer WHERE id IN (1, 5000001) ORDER BY id"),
        "1\ta\n5000001\tb"
    );
    assert_eq!(
        sorted(&q("SELECT id, name FROM customer WHERE id IN (1, 5000001)")),
        sorted("1\ta\n5000001\tb")
    );
    assert_eq!(
        q("SELECT id, name FROM customer WHERE id BETWEEN 1 AND 5000001 ORDER BY id"),
        "1\ta\n3\tc\n5000001\tb"
    );
    assert_eq!(
        q("SELECT id, name FROM customer ORDER BY id"),
        "1\ta\n3\tc\n5000001\tb\n7000000\td"
    );
    assert_eq!(
        sorted(&q("SELECT id, name FROM customer")),
        sorted("1\ta\n3\tc\n5000001\tb\n7000000\td")
    );

    // A point read goes to the one node the rule picks: a stray copy planted on the
    // other node is not seen.
    s.on0("INSERT INTO customer (id, name) VALUES (5000001, 'stray')");
    s.on1("INSERT INTO customer (id, name) VALUES (1, 'stray')");
    assert_eq!(q("SELECT name FROM customer WHERE id = 5000001"), "b");
    assert_eq!(q("SELECT name FROM customer WHERE id = 1"), "a");
}

#[test]
fn multi_row_insert_is_split_per_node_and_counted_once() {
    let s = Shard::start();
    let n = s
        .affected(
            "INSERT INTO customer (id, name, balance) VALUES \
             (1, 'a', 1.00), (5000001, 'b', 2.00), (2, 'c', 3.00), (9000000, 'd', 4.00), (5000000, 'e', 5.00)",
        )
        .unwrap_or_else(|e| panic!("insert: {e}\n{}", s.logs()));
    assert_eq!(n, 5, "affected rows of a split INSERT");
    // 5,000,000 is the end of the first range ("0-500M=0"): both ends of a range belong
    // to it, and the first matching range wins (MyCat AutoPartitionByLong).
    assert_eq!(
        s.on0("SELECT id, name, balance FROM customer ORDER BY id"),
        "1\ta\t1.00\n2\tc\t3.00\n5000000\te\t5.00"
    );
    assert_eq!(
        s.on1("SELECT id, name, balance FROM customer ORDER BY id"),
        "5000001\tb\t2.00\n9000000\td\t4.00"
    );
    assert_eq!(s.q("SELECT COUNT(*) FROM customer").expect("count"), "5");

    // file-map with a default node: three rows to dn0, two to dn1.
    let n = s
        .affected(
            "INSERT INTO user_info (id, province_id, name) VALUES \
             (1, 10010, 'x'), (2, 10000, 'y'), (3, 99999, 'z'), (4, 10010, 'w'), (5, 10000, 'v')",
        )
        .expect("user_info insert");
    assert_eq!(n, 5);
    assert_eq!(s.on0("SELECT id FROM user_info ORDER BY id"), "2\n3\n5");
    assert_eq!(s.on1("SELECT id FROM user_info ORDER BY id"), "1\n4");

    // A global table: every node gets every row, the client is told about them once.
    let n = s
        .affected(
            "INSERT INTO province (id, name) VALUES (1, 'Beijing'), (2, 'Sichuan'), (3, 'Hubei')",
        )
        .expect("province insert");
    assert_eq!(n, 3, "affected rows of a global-table INSERT");
    assert_eq!(s.on0("SELECT COUNT(*) FROM province"), "3");
    assert_eq!(s.on1("SELECT COUNT(*) FROM province"), "3");

    // ER parent and children in multi-row INSERTs.
    let n = s
        .affected(
            "INSERT INTO my_order (id, customer_id, status, order_date) VALUES \
             (10, 1, 'new', '2024-01-01'), (6000000, 5000001, 'new', '2024-01-02')",
        )
        .expect("order insert");
    assert_eq!(n, 2);
    let n = s
        .affected(
            "INSERT INTO order_item (id, order_id, product_id, qty, price) VALUES \
             (1, 10, 1, 1, 1.00), (2, 6000000, 1, 1, 1.00), (3, 10, 2, 3, 2.50)",
        )
        .unwrap_or_else(|e| panic!("order_item insert: {e}\n{}", s.logs()));
    assert_eq!(n, 3);
    assert_eq!(s.on0("SELECT id FROM order_item ORDER BY id"), "1\n3");
    assert_eq!(s.on1("SELECT id FROM order_item ORDER BY id"), "2");
}

#[test]
fn statements_a_sharded_table_cannot_take_are_refused() {
    let s = Shard::start();
    s.on0("INSERT INTO customer (id, name) VALUES (1, 'a')");
    s.on1("INSERT INTO customer (id, name) VALUES (5000001, 'b')");
    s.on0("INSERT INTO product (id, name, price) VALUES (2, 'p2', 1.00)");
    s.on1("INSERT INTO product (id, name, price) VALUES (1, 'p1', 1.00)");
    let before = customers(&s);

    // Changing the sharding column would strand the row on the wrong node.
    let e = s
        .q("UPDATE customer SET id = 7 WHERE id = 1")
        .expect_err("UPDATE of the sharding column accepted");
    assert!(!e.is_empty());
    assert_eq!(customers(&s), before, "a refused UPDATE changed rows");
    let e = s
        .q("UPDATE customer SET id = 5000002 WHERE id = 5000001")
        .expect_err("UPDATE of the sharding column accepted");
    assert!(!e.is_empty());
    assert_eq!(customers(&s), before, "a refused UPDATE changed rows");

    // An INSERT without the sharding column has no node (the column is AUTO_INCREMENT,
    // so a server would have taken the row).
    let e = s
        .q("INSERT INTO customer (name) VALUES ('nokey')")
        .expect_err("INSERT without the sharding column accepted");
    assert!(!e.is_empty());
    assert_eq!(customers(&s), before, "a refused INSERT changed rows");

    // A join of two tables sharded by different rules and not ER-related.
    let e = s
        .q("SELECT c.id, p.id FROM customer c JOIN product p ON c.id = p.id")
        .expect_err("cross-rule JOIN accepted");
    let low = e.to_lowercase();
    assert!(
        low.contains("customer") && low.contains("product"),
        "the error should name both tables: {e}"
    );
    assert_eq!(customers(&s), before);

    // Allowed: SET of the sharding column to the value the WHERE pins, and non-key SETs.
    s.q("UPDATE customer SET id = 1, name = 'x' WHERE id = 1")
        .unwrap_or_else(|e| panic!("same-value UPDATE refused: {e}\n{}", s.logs()));
    s.q("UPDATE customer SET name = 'y' WHERE id = 5000001")
        .unwrap_or_else(|e| panic!("UPDATE refused: {e}\n{}", s.logs()));
    assert_eq!(s.on0("SELECT id, name FROM customer"), "1\tx");
    assert_eq!(s.on1("SELECT id, name FROM customer"), "5000001\ty");
}

/// MariaDB's `SET STATEMENT ... FOR <statement>` runs as a SET on the session's one
/// connection: on sharded tables it is refused (it used to count, update and alter dn0's
/// rows only); on unlisted tables it runs.
#[test]
fn set_statement_for_a_sharded_table_is_refused_not_run_on_one_node() {
    let s = Shard::start();
    s.on0("INSERT INTO customer (id, name) VALUES (1, 'a')");
    s.on1("INSERT INTO customer (id, name) VALUES (5000001, 'b')");
    let before = customers(&s);
    for q in [
        "SET STATEMENT max_statement_time=10 FOR SELECT COUNT(*) FROM customer",
        "set statement sql_mode='', max_statement_time=(10) for /* x */ update `customer` set name = 'z'",
        "SET STATEMENT lock_wait_timeout=100 FOR ALTER TABLE customer ADD COLUMN tag INT",
    ] {
        let e = s
            .q(q)
            .expect_err(&format!("SET STATEMENT on a sharded table accepted: {q}"));
        assert!(
            e.contains("1105") && e.contains("SET STATEMENT"),
            "{q}: {e}"
        );
    }
    assert_eq!(
        customers(&s),
        before,
        "a refused SET STATEMENT changed rows"
    );
    assert_eq!(column_count(&s.a, "shop_0", "customer", "tag"), "0");
    assert_eq!(column_count(&s.b, "shop_1", "customer", "tag"), "0");
    // SQL-level PREPARE and EXECUTE IMMEDIATE run their text on the session's one
    // connection as well (they counted dn0's rows only): refused.
    for q in [
        "PREPARE p FROM 'SET STATEMENT max_statement_time=10 FOR SELECT COUNT(*) FROM customer'",
        "PREPARE p FROM 'SELECT COUNT(*) FROM customer'",
        "EXECUTE IMMEDIATE 'UPDATE customer SET name = ''z'''",
    ] {
        let e = s.q(q).expect_err(&format!("{q} accepted"));
        assert!(
            e.contains("1105") && e.contains("one data node"),
            "{q}: {e}"
        );
    }
    assert_eq!(
        customers(&s),
        before,
        "a refused EXECUTE IMMEDIATE changed rows"
    );
    // On a table the schema does not list it runs on the default node, as before.
    s.on0("CREATE TABLE IF NOT EXISTS plain (id INT)");
    s.on0("INSERT INTO plain VALUES (1), (2)");
    assert_eq!(
        s.q("SET STATEMENT max_statement_time=10 FOR SELECT COUNT(*) FROM plain")
            .unwrap_or_else(|e| panic!("SET STATEMENT on an unlisted table refused: {e}")),
        "2"
    );
    assert_eq!(
        s.q("EXECUTE IMMEDIATE 'SELECT COUNT(*) FROM plain'")
            .unwrap_or_else(|e| panic!("EXECUTE IMMEDIATE on an unlisted table refused: {e}")),
        "2"
    );
}

fn table_count(db: &common::mariadb::MariaDb, schema: &str, table: &str) -> String {
    db.sql(&format!(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{schema}' AND table_name = '{table}'"
    ))
}

fn column_count(db: &common::mariadb::MariaDb, schema: &str, table: &str, col: &str) -> String {
    db.sql(&format!(
        "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = '{schema}' AND table_name = '{table}' AND column_name = '{col}'"
    ))
}

#[test]
fn ddl_on_a_sharded_table_runs_on_every_node() {
    let s = Shard::start();
    let q = |sql: &str| s.ok(sql);
    // `audit` is configured (mod-long on id) but exists on no node yet.
    assert_eq!(table_count(&s.a, "shop_0", "audit"), "0");
    q("CREATE TABLE audit (id INT NOT NULL PRIMARY KEY, msg VARCHAR(40))");
    assert_eq!(table_count(&s.a, "shop_0", "audit"), "1");
    assert_eq!(table_count(&s.b, "shop_1", "audit"), "1");

    q("ALTER TABLE audit ADD COLUMN note VARCHAR(20) NULL");
    assert_eq!(column_count(&s.a, "shop_0", "audit", "note"), "1");
    assert_eq!(column_count(&s.b, "shop_1", "audit", "note"), "1");
    // The new column is usable on both nodes through the router.
    q("INSERT INTO audit (id, msg, note) VALUES (1, 'one', 'n1'), (2, 'two', 'n2')");
    assert_eq!(s.on0("SELECT id, note FROM audit"), "2\tn2");
    assert_eq!(s.on1("SELECT id, note FROM audit"), "1\tn1");
    assert_eq!(q("SELECT id, note FROM audit ORDER BY id"), "1\tn1\n2\tn2");

    q("DROP TABLE audit");
    assert_eq!(table_count(&s.a, "shop_0", "audit"), "0");
    assert_eq!(table_count(&s.b, "shop_1", "audit"), "0");

    // A global table's DDL also goes everywhere.
    q("ALTER TABLE province ADD COLUMN code VARCHAR(8) NULL");
    assert_eq!(column_count(&s.a, "shop_0", "province", "code"), "1");
    assert_eq!(column_count(&s.b, "shop_1", "province", "code"), "1");

    // A table the schema does not list lives on the schema's data node only.
    q("CREATE TABLE misc (id INT)");
    assert_eq!(table_count(&s.a, "shop_0", "misc"), "1");
    assert_eq!(table_count(&s.b, "shop_1", "misc"), "0");
}

#[test]
fn mycat_hints_pick_the_node() {
    let s = Shard::start();
    s.on0("INSERT INTO customer (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')");
    s.on1("INSERT INTO customer (id, name) VALUES (5000001, 'd'), (5000002, 'e')");
    let h = |sql: &str| {
        s.hinted(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", s.logs()))
    };
    // Without a hint: both nodes.
    assert_eq!(h("SELECT COUNT(*) FROM customer"), "5");
    // datanode=: the statement runs on that node only.
    assert_eq!(
        h("/*!mycat: datanode=dn1 */ SELECT COUNT(*) FROM customer"),
        "2"
    );
    assert_eq!(
        h("/*!mycat:datanode=dn1*/ SELECT COUNT(*) FROM customer"),
        "2"
    );
    assert_eq!(
        h("/*#mycat: datanode=dn0 */ SELECT COUNT(*) FROM customer"),
        "3"
    );
    assert_eq!(
        h("/* mycat: datanode=dn0 */ SELECT COUNT(*) FROM customer"),
        "3"
    );
    // sql=: the outer statement runs where the inner one routes.
    assert_eq!(
        h(
            "/*!mycat: sql=SELECT id FROM customer WHERE id = 5000001 */ SELECT COUNT(*) FROM customer"
        ),
        "2"
    );
    assert_eq!(
        h("/*!mycat: sql=SELECT id FROM customer WHERE id = 1 */ SELECT COUNT(*) FROM customer"),
        "3"
    );
    // A hinted DDL statement runs on the hinted node only.
    h("/*!mycat: datanode=dn1 */ CREATE TABLE hint_only (id INT)");
    assert_eq!(table_count(&s.b, "shop_1", "hint_only"), "1");
    assert_eq!(table_count(&s.a, "shop_0", "hint_only"), "0");
}

#[test]
fn cross_shard_reads_are_merged() {
    let s = Shard::start();
    s.on0(
        "INSERT INTO customer (id, name, city, level, balance) VALUES \
         (1, 'a', 'x', 1, 10.00), (2, 'b', 'y', 2, 20.50), (3, 'c', 'x', NULL, 30.25)",
    );
    s.on1(
        "INSERT INTO customer (id, name, city, level, balance) VALUES \
         (5000001, 'd', 'x', 4, 40.00), (6000000, 'e', 'y', 5, 50.75)",
    );
    let q = |sql: &str| s.ok(sql);
    assert_eq!(q("SELECT COUNT(*) FROM customer"), "5");
    assert_eq!(q("SELECT COUNT(level) FROM customer"), "4");
    assert_eq!(q("SELECT SUM(balance) FROM customer"), "151.50");
    assert_eq!(q("SELECT SUM(level) FROM customer"), "12");
    assert_eq!(
        q("SELECT MIN(balance), MAX(balance) FROM customer"),
        "10.00\t50.75"
    );
    // AVG is the total over the total count, not an average of the nodes' averages.
    assert_eq!(q("SELECT AVG(balance) FROM customer"), "30.300000");
    assert_eq!(
        q("SELECT id FROM customer ORDER BY id DESC LIMIT 2"),
        "6000000\n5000001"
    );
    assert_eq!(q("SELECT id FROM customer ORDER BY id LIMIT 1,2"), "2\n3");
    assert_eq!(
        q("SELECT id FROM customer ORDER BY id LIMIT 2 OFFSET 2"),
        "3\n5000001"
    );
    assert_eq!(
        q("SELECT id FROM customer ORDER BY balance DESC LIMIT 3"),
        "6000000\n5000001\n3"
    );
    assert_eq!(
        q("SELECT city, COUNT(*), SUM(balance) FROM customer GROUP BY city ORDER BY city"),
        "x\t3\t80.25\ny\t2\t71.25"
    );
    assert_eq!(
        q("SELECT city, COUNT(*) AS n FROM customer GROUP BY city HAVING n > 2"),
        "x\t3"
    );
    assert_eq!(
        sorted(&q("SELECT DISTINCT city FROM customer")),
        sorted("x\ny")
    );
}

/// The JSON objects in `out`: the whole text as one document, else one per line.
fn json_docs(out: &str) -> Vec<serde_json::Value> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(out) {
        return vec![v];
    }
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// The sorted `nodes` of an explain document.
fn nodes_of(v: &serde_json::Value) -> Vec<String> {
    let mut n: Vec<String> = v
        .get("nodes")
        .and_then(|n| n.as_array())
        .unwrap_or_else(|| panic!("no `nodes` array: {v}"))
        .iter()
        .map(|x| {
            x.as_str()
                .unwrap_or_else(|| panic!("node name: {x}"))
                .to_string()
        })
        .collect();
    n.sort();
    n
}

#[test]
fn explain_prints_the_plan_without_servers() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Nothing listens on these ports: explain must not need the servers.
    let body = router_body(
        "127.0.0.1:1".parse().expect("addr"),
        "127.0.0.1:2".parse().expect("addr"),
    );
    let (text, _) = config_text(dir.path(), &body);
    let config = write(dir.path(), "tandem.yaml", &text);
    let config = config.to_str().expect("utf8");
    let limit = Duration::from_secs(30);

    let explain = |sql: &str| {
        let (code, out, err) = tandem_stdin(
            &["explain", "-c", config, "--schema", "shop", sql],
            "",
            limit,
        );
        assert_eq!(code, 0, "explain {sql}: {out}{err}");
        let docs = json_docs(&out);
        assert_eq!(docs.len(), 1, "one statement, one plan: {out}");
        docs.into_iter().next().expect("one")
    };
    let v = explain("SELECT * FROM customer WHERE id = 5000001");
    assert_eq!(nodes_of(&v), ["dn1"], "{v}");
    assert!(v.get("sql").is_some(), "no `sql`: {v}");
    let v = explain("SELECT * FROM customer WHERE id BETWEEN 1 AND 100");
    assert_eq!(nodes_of(&v), ["dn0"], "{v}");
    let v = explain("SELECT * FROM customer");
    assert_eq!(nodes_of(&v), ["dn0", "dn1"], "{v}");

    // One statement per line on stdin, one JSON object per line out.
    let script = "\
SELECT * FROM customer WHERE id = 1
SELECT COUNT(*) FROM customer
INSERT INTO user_info (id, province_id, name) VALUES (7, 10010, 'x')
INSERT INTO user_info (id, province_id, name) VALUES (8, 12345, 'y')
SELECT * FROM product WHERE id = 3
SELECT * FROM order_item WHERE order_id = 6000000
SELECT * FROM not_listed
UPDATE customer SET name = 'z' WHERE id IN (1, 5000001)
INSERT INTO province (id, name) VALUES (9, 'Hubei')
SELECT name FROM province WHERE id = 9
";
    let want: [&[&str]; 10] = [
        &["dn0"],
        &["dn0", "dn1"],
        &["dn1"],
        &["dn0"],
        &["dn1"],
        &["dn1"],
        &["dn0"],
        &["dn0", "dn1"],
        &["dn0", "dn1"],
        &[],
    ];
    let (code, out, err) = tandem_stdin(
        &["explain", "-c", config, "--schema", "shop"],
        script,
        limit,
    );
    assert_eq!(code, 0, "explain from stdin: {out}{err}");
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), want.len(), "one JSON object per line:\n{out}");
    for ((line, want), sql) in lines.iter().zip(want).zip(script.lines()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
        let nodes = nodes_of(&v);
        if want.is_empty() {
            // A read of a global table: any one copy (the plan may list the candidates).
            assert!(
                !nodes.is_empty() && nodes.iter().all(|n| n == "dn0" || n == "dn1"),
                "{sql}: {v}"
            );
        } else {
            assert_eq!(nodes, want, "{sql}: {v}");
        }
        assert!(v.get("sql").is_some(), "{sql}: no `sql`: {v}");
    }
}

/// A transaction over both nodes: ROLLBACK undoes both sides, COMMIT keeps both
/// (MyCat's weak XA: committed on each node in turn, with a warning in the log).
#[test]
fn transactions_over_two_nodes_commit_and_roll_back_on_each() {
    let s = Shard::start();
    let count = |s: &Shard| {
        (
            s.on0("SELECT COUNT(*) FROM customer"),
            s.on1("SELECT COUNT(*) FROM customer"),
        )
    };
    s.q("BEGIN; INSERT INTO customer (id, name) VALUES (11, 'a'); INSERT INTO customer (id, name) VALUES (5000011, 'b'); ROLLBACK")
        .unwrap_or_else(|e| panic!("{e}\n{}", s.logs()));
    assert_eq!(count(&s), ("0".to_string(), "0".to_string()));
    // Inside the transaction both rows are visible through the router.
    let seen = s
        .q("START TRANSACTION; INSERT INTO customer (id, name) VALUES (12, 'a'); INSERT INTO customer (id, name) VALUES (5000012, 'b'); SELECT COUNT(*) FROM customer; COMMIT")
        .unwrap_or_else(|e| panic!("{e}\n{}", s.logs()));
    assert_eq!(seen.trim(), "2");
    assert_eq!(count(&s), ("1".to_string(), "1".to_string()));
    // A statement on both nodes inside a transaction is part of it on each node.
    let names = |s: &Shard| {
        (
            s.on0("SELECT name FROM customer"),
            s.on1("SELECT name FROM customer"),
        )
    };
    s.q("BEGIN; UPDATE customer SET name = 'zz'; ROLLBACK")
        .unwrap_or_else(|e| panic!("{e}\n{}", s.logs()));
    assert_eq!(names(&s), ("a".to_string(), "b".to_string()));
    s.q("SET autocommit = 0; UPDATE customer SET name = 'yy'; ROLLBACK")
        .unwrap_or_else(|e| panic!("{e}\n{}", s.logs()));
    assert_eq!(names(&s), ("a".to_string(), "b".to_string()));
    s.q("START TRANSACTION; INSERT INTO customer (id, name) VALUES (13, 'c'); UPDATE customer SET name = 'ww'; COMMIT")
        .unwrap_or_else(|e| panic!("{e}\n{}", s.logs()));
    assert_eq!(names(&s), ("ww\nww".to_string(), "ww".to_string()));
    // Logged with the data hosts' names (and the servers), as in the config.
    assert!(
        common::wait_for(Duration::from_secs(5), || s
            .logs()
            .contains("transaction spans data hosts h0 (host a)")
            .then_some(()))
        .is_some(),
        "{}",
        s.logs()
    );
    let logs = s.logs();
    assert!(
        logs.contains(" and h1: it will be committed on each in turn"),
        "{logs}"
    );
    let commit = logs
        .lines()
        .find(|l| l.contains("COMMIT of a transaction over data hosts "))
        .unwrap_or_default();
    assert!(
        commit.contains("h0 (host a)") && commit.contains("h1 (host b)"),
        "{logs}"
    );
}

/// sysbench through the router on a table sharded by id: prepare (DDL broadcast,
/// multi-row INSERT split, CREATE INDEX on both nodes), then point selects with
/// server-side prepared statements, each execute routed by its parameter.
#[test]
fn sysbench_point_select_with_prepared_statements_on_a_sharded_table() {
    let (a, b) = common::shard::two_servers();
    a.sql("CREATE DATABASE sb_0");
    b.sql("CREATE DATABASE sb_1");
    let host = |n: &str, db: &common::mariadb::MariaDb| {
        format!(
            "{{ host: {n}, url: \"{}\", user: root, password: \"\" }}",
            db.addr
        )
    };
    let body = format!(
        "  users:
    - {{ name: sb, password: sbpw, schemas: [sbtest] }}
  schemas:
    - name: sbtest
      data_node: dn0
      tables:
        - {{ name: sbtest1, primary_key: id, data_nodes: \"dn0,dn1\", rule: by-id }}
  data_nodes:
    - {{ name: dn0, data_host: h0, database: sb_0 }}
    - {{ name: dn1, data_host: h1, database: sb_1 }}
  data_hosts:
    - {{ name: h0, min_con: 1, max_con: 16, write_hosts: [ {} ] }}
    - {{ name: h1, min_con: 1, max_con: 16, write_hosts: [ {} ] }}
  rules:
    - {{ name: by-id, column: id, function: {{ type: mod-long, count: 2 }} }}
",
        host("a", &a),
        host("b", &b)
    );
    let r = common::shard::start_router(&body);
    let sysbench = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend([
            "--tables=1",
            "--table-size=2000",
            "--auto-inc=off",
            "--db-ps-mode=auto",
        ]);
        common::clients::sysbench_sb(None, r.addr, &all)
    };
    sysbench(&["oltp_point_select", "prepare"]);
    assert_eq!(
        a.sql("SELECT COUNT(*), SUM(id % 2) FROM sb_0.sbtest1")
            .trim(),
        "1000\t0"
    );
    assert_eq!(
        b.sql("SELECT COUNT(*), SUM(id % 2) FROM sb_1.sbtest1")
            .trim(),
        "1000\t1000"
    );
    assert!(a.sql("SHOW INDEX FROM sb_0.sbtest1").contains("k_1"));
    assert!(b.sql("SHOW INDEX FROM sb_1.sbtest1").contains("k_1"));
    let out = sysbench(&[
        "oltp_point_select",
        "run",
        "--threads=2",
        "--events=2000",
        "--time=60",
    ]);
    assert!(
        out.contains("ignored errors:                      0"),
        "{out}"
    );
    // Both nodes answered executes of server-side prepared statements.
    for db in [&a, &b] {
        let n: u64 = db
            .sql("SHOW GLOBAL STATUS LIKE 'Com_stmt_execute'")
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(n > 100, "Com_stmt_execute = {n}");
    }
}

/// Global sequences through two router processes sharing MyCat's database handler:
/// `auto_increment` inserts (primary key left out, or NULL) and `next value for
/// MYCATSEQ_GLOBAL` from 4 concurrent clients never produce the same id, and every row
/// lands on the node its filled-in id picks.
#[test]
fn sequence_ids_from_two_routers_are_unique_and_routed() {
    let (a, b) = common::shard::two_servers();
    let ddl = "CREATE TABLE audit (id BIGINT PRIMARY KEY, note VARCHAR(40));";
    a.sql(&format!(
        "CREATE DATABASE shop_0; USE shop_0; {ddl} CREATE TABLE gseq (id BIGINT PRIMARY KEY);"
    ));
    b.sql(&format!("CREATE DATABASE shop_1; USE shop_1; {ddl}"));
    common::mariadb::mariadb_client(
        a.addr,
        "root",
        Some("shop_0"),
        include_str!("data/sequence/dbseq.sql"),
    )
    .expect("dbseq.sql");
    a.sql("INSERT INTO shop_0.MYCAT_SEQUENCE VALUES ('AUDIT', 0, 7); UPDATE shop_0.MYCAT_SEQUENCE SET current_value = 100000, increment = 5 WHERE name = 'GLOBAL'");
    let body = router_body(a.addr, b.addr)
        .replace(
            "{ name: audit, primary_key: id, data_nodes: \"dn0,dn1\", rule: by-id-mod }",
            "{ name: audit, primary_key: id, auto_increment: true, data_nodes: \"dn0,dn1\", rule: by-id-mod }",
        )
        .replace(
            "  data_nodes:\n",
            "  sequence: { handler: database, data_node: dn0 }\n  data_nodes:\n",
        );
    let r1 = common::shard::start_router(&body);
    let r2 = common::shard::start_router(&body);
    let routers = [r1.addr, r2.addr];
    std::thread::scope(|s| {
        for t in 0..4 {
            let addr = routers[t % 2];
            s.spawn(move || {
                let m = common::shard::Mysql::new(addr, common::shard::USER, common::shard::PASSWORD)
                    .db(common::shard::SCHEMA);
                for i in 0..15 {
                    m.run(&format!(
                        "INSERT INTO audit (note) VALUES ('t{t}-{i}a'), ('t{t}-{i}b'); INSERT INTO audit (id, note) VALUES (NULL, 't{t}-{i}n'); INSERT INTO gseq (id) VALUES (next value for MYCATSEQ_GLOBAL)"
                    ))
                    .unwrap_or_else(|e| panic!("client {t}: {e}"));
                }
            });
        }
    });
    let on0 = a.sql("SELECT COUNT(*), COUNT(DISTINCT id), SUM(id % 2) FROM shop_0.audit");
    let on1 = b.sql("SELECT COUNT(*), COUNT(DISTINCT id), SUM(id % 2 = 1) FROM shop_1.audit");
    let nums = |s: &str| -> Vec<u64> {
        s.split_whitespace()
            .map(|x| x.parse().unwrap_or(u64::MAX))
            .collect()
    };
    let (n0, n1) = (nums(&on0), nums(&on1));
    // Every row on the node its id picks (mod 2), ids unique, nothing lost.
    assert_eq!(n0[0], n0[1], "{on0}");
    assert_eq!(n0[2], 0, "{on0}");
    assert_eq!(n1[0], n1[1], "{on1}");
    assert_eq!(n1[2], n1[0], "{on1}");
    assert_eq!(n0[0] + n1[0], 4 * 15 * 3);
    let ids0 = a.sql("SELECT id FROM shop_0.audit");
    let ids1 = b.sql("SELECT id FROM shop_1.audit");
    let mut all: Vec<&str> = ids0.lines().chain(ids1.lines()).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 180);
    assert_eq!(
        a.sql("SELECT COUNT(*), COUNT(DISTINCT id), MIN(id) > 100000 FROM shop_0.gseq")
            .trim(),
        "60\t60\t1"
    );
}

/// `handle_distributed_transactions: reject`: the statement that would take a
/// transaction to a second data host is refused and the transaction stays usable.
#[test]
fn reject_policy_refuses_a_transaction_reaching_a_second_host() {
    let s = Shard::start();
    let body = format!(
        "  handle_distributed_transactions: reject\n{}",
        router_body(s.a.addr, s.b.addr)
    );
    let r = common::shard::start_router(&body);
    let m = common::shard::Mysql::new(r.addr, common::shard::USER, common::shard::PASSWORD)
        .db(common::shard::SCHEMA);
    let err = m
        .run("BEGIN; INSERT INTO customer (id, name) VALUES (21, 'a'); INSERT INTO customer (id, name) VALUES (5000021, 'b')")
        .expect_err("second host refused");
    assert!(
        err.contains("handle_distributed_transactions: reject")
            && err.contains("already runs on data host h0 (host a)")
            && err.contains("to extend it to data host h1"),
        "{err}"
    );
    // Nothing committed on either node (the client disconnected mid-transaction).
    assert_eq!(s.on0("SELECT COUNT(*) FROM customer").trim(), "0");
    assert_eq!(s.on1("SELECT COUNT(*) FROM customer").trim(), "0");
    // One host per transaction is fine.
    m.run("BEGIN; INSERT INTO customer (id, name) VALUES (22, 'a'); INSERT INTO customer (id, name) VALUES (23, 'b'); COMMIT")
        .expect("single-host transaction");
    assert_eq!(s.on0("SELECT COUNT(*) FROM customer").trim(), "2");
}

/// An ER grandchild whose parent key is not its parent's routing column: each row goes
/// where its parent row is found (a lookup on the parent's nodes) — also inside a
/// transaction that inserted the parent moments before, and never onto a node without
/// the parent.
#[test]
fn er_grandchild_rows_follow_their_parent_found_by_lookup() {
    let ddl = format!(
        "{}CREATE TABLE item_note (id BIGINT PRIMARY KEY, item_id BIGINT NOT NULL, txt VARCHAR(20));",
        common::shard::DDL
    );
    let (a, b) = common::shard::two_servers();
    a.sql(&format!("CREATE DATABASE shop_0; USE shop_0; {ddl}"));
    b.sql(&format!("CREATE DATABASE shop_1; USE shop_1; {ddl}"));
    let body = router_body(a.addr, b.addr).replace(
        "children: [ { name: order_item, join_key: order_id, parent_key: id } ]",
        "children: [ { name: order_item, join_key: order_id, parent_key: id, children: [ { name: item_note, join_key: item_id, parent_key: id } ] } ]",
    );
    assert!(body.contains("item_note"), "{body}");
    let r = common::shard::start_router(&body);
    let m = common::shard::Mysql::new(r.addr, common::shard::USER, common::shard::PASSWORD)
        .db(common::shard::SCHEMA);
    let run = |sql: &str| {
        m.run(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", r.daemon.logs()))
    };
    run(
        "INSERT INTO my_order (id, customer_id, status, total, order_date) VALUES (7, 1, 'new', 1.00, '2024-01-01'), (6000007, 1, 'new', 2.00, '2024-01-01')",
    );
    run(
        "INSERT INTO order_item (id, order_id, product_id, qty, price) VALUES (70, 7, 1, 1, 1.00), (71, 6000007, 1, 1, 2.00)",
    );
    // Item 71 lives on node 1 (its order's node): the note follows it there.
    run("INSERT INTO item_note (id, item_id, txt) VALUES (1, 71, 'n1'), (2, 70, 'n0')");
    assert_eq!(a.sql("SELECT id FROM shop_0.item_note").trim(), "2");
    assert_eq!(b.sql("SELECT id FROM shop_1.item_note").trim(), "1");
    // Inside a transaction: the parent inserted in it is found on the transaction's
    // own connection.
    run(
        "BEGIN; INSERT INTO order_item (id, order_id, product_id, qty, price) VALUES (72, 6000007, 1, 1, 2.00); INSERT INTO item_note (id, item_id, txt) VALUES (3, 72, 'n3'); COMMIT",
    );
    assert_eq!(
        b.sql("SELECT id FROM shop_1.item_note ORDER BY id").trim(),
        "1\n3"
    );
    // No parent anywhere: refused, nothing written.
    let e = m
        .run("INSERT INTO item_note (id, item_id, txt) VALUES (4, 999, 'x')")
        .expect_err("no parent");
    assert!(e.contains("no parent row"), "{e}");
    assert_eq!(a.sql("SELECT COUNT(*) FROM shop_0.item_note").trim(), "1");
    assert_eq!(b.sql("SELECT COUNT(*) FROM shop_1.item_note").trim(), "2");
}

/// The layout of MyCat's tutorials, two data nodes of one schema on one server (dn0 =
/// A/shop_0, dn1 = A/shop_1), plus schema `hr` on B (its database is also named `hr`,
/// `check_sql_schema` off), schema `legacy` on B (database `legacy_db`, off too), and a
/// database `secret` on A that is no schema. The router logs in as root, so only the
/// router stands between a client and `secret`.
fn qualified_layout(a: &common::mariadb::MariaDb, b: &common::mariadb::MariaDb) -> String {
    format!(
        "  users:
    - {{ name: app, password: s3cret, schemas: [shop, hr, legacy], default_schema: shop }}
    - {{ name: shop_only, password: s3cret, schemas: [shop] }}
  schemas:
    - name: shop
      data_node: dn0
      check_sql_schema: true
      tables:
        - {{ name: customer, primary_key: id, data_nodes: \"dn0,dn1\", rule: by-id-range }}
    - {{ name: hr, data_node: dn2 }}
    - {{ name: legacy, data_node: dn3 }}
  data_nodes:
    - {{ name: dn0, data_host: h0, database: shop_0 }}
    - {{ name: dn1, data_host: h0, database: shop_1 }}
    - {{ name: dn2, data_host: h1, database: hr }}
    - {{ name: dn3, data_host: h1, database: legacy_db }}
  data_hosts:
    - {{ name: h0, heartbeat_interval: 500ms, min_con: 1, write_hosts: [ {} ] }}
    - {{ name: h1, heartbeat_interval: 500ms, min_con: 1, write_hosts: [ {} ] }}
  rules:
    - name: by-id-range
      column: id
      function: {{ type: range-long, map: [\"0-500M=0\", \"500M-1000M=1\"] }}
",
        common::router::db_host_yaml("a", a),
        common::router::db_host_yaml("b", b)
    )
}

/// Statements that reached server `db` and mention `word` (its general log, which the
/// test switched on), this query excepted.
fn logged(db: &common::mariadb::MariaDb, word: &str) -> String {
    db.sql(&format!(
        "SELECT argument FROM mysql.general_log WHERE argument LIKE '%{word}%' AND argument NOT LIKE '%general_log%'"
    ))
}

#[test]
fn database_qualifiers_are_checked_before_anything_runs() {
    let (a, b) = common::shard::two_servers();
    let table = "CREATE TABLE customer (id BIGINT PRIMARY KEY, name VARCHAR(20))";
    a.sql(&format!(
        "CREATE DATABASE shop_0; CREATE DATABASE shop_1; CREATE DATABASE secret;
         USE shop_0; {table}; USE shop_1; {table};
         CREATE TABLE secret.t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO secret.t VALUES (1, 'top')"
    ));
    b.sql(
        "CREATE DATABASE hr; CREATE DATABASE legacy_db;
         CREATE TABLE hr.emp (id INT PRIMARY KEY, name VARCHAR(20));
         INSERT INTO hr.emp VALUES (1, 'ann'), (2, 'bob');
         CREATE TABLE legacy_db.t (id INT)",
    );
    let r = common::shard::start_router(&qualified_layout(&a, &b));
    let as_user = |user: &str| {
        common::shard::Mysql::new(r.addr, user, "s3cret")
            .db("shop")
            .comments()
    };
    let app = as_user("app");
    let q = |sql: &str| {
        app.run(sql)
            .map(|s| s.trim_end().to_string())
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", r.logs()))
    };
    q("INSERT INTO customer (id, name) VALUES (1, 'a'), (5000001, 'b')");
    assert_eq!(a.sql("SELECT id FROM shop_0.customer"), "1");
    assert_eq!(a.sql("SELECT id FROM shop_1.customer"), "5000001");
    // One row each: the sharded table, with or without the schema's qualifier.
    assert_eq!(q("SELECT id FROM customer ORDER BY id"), "1\n5000001");
    assert_eq!(q("SELECT id FROM shop.customer ORDER BY id"), "1\n5000001");
    assert_eq!(
        q("SELECT c.id FROM shop . customer c WHERE c.id = 5000001"),
        "5000001"
    );

    // From here on server A logs every statement it gets.
    a.sql("SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = 1");
    // A data node's database is no name for clients: before, `shop_1.customer` ran on
    // both nodes of the one server (5000001 twice) and this DELETE on dn1 as well.
    for sql in [
        "SELECT id, name FROM shop_1.customer",
        "SELECT id FROM `shop_0`.customer WHERE id = 1",
        "DELETE FROM shop_0.customer WHERE id = 5000001",
        "UPDATE shop_1.customer SET name = 'x' WHERE id = 5000001",
    ] {
        let e = app.run(sql).expect_err(sql);
        assert!(
            e.contains("ERROR 1044 (42000)")
                && e.contains("is the database of data node")
                && e.contains("use schema 'shop'"),
            "{sql}: {e}"
        );
    }
    // Another database of the server: 1044, as from a server to a user without grants.
    for sql in [
        "SELECT * FROM secret.t",
        "SELECT id FROM customer WHERE id IN (SELECT id FROM secret.t)",
        "SELECT secret.t.v FROM customer",
        "INSERT INTO secret.t VALUES (2, 'new')",
        "UPDATE secret.t SET v = 'changed'",
        "REPLACE INTO secret.t VALUES (1, 'replaced')",
        "DELETE FROM secret.t",
        "DROP TABLE secret.t",
        "CREATE TABLE secret.t2 (id INT)",
        "SET @x = (SELECT v FROM secret.t)",
        "SELECT 1 /*!, (SELECT v FROM secret.t) */",
        "SELECT 1 /*M!, (SELECT v FROM secret.t) */",
        "/*!mycat: datanode=dn0 */ SELECT * FROM secret.t",
        "SELECT * FROM `secret`.`t` PROCEDURE ANALYSE() OOPS",
        "SELECT 1; SELECT v FROM secret.t",
        "SHOW CREATE PROCEDURE secret.p",
        "EXPLAIN SELECT * FROM secret.t",
    ] {
        let e = app.run(sql).expect_err(sql);
        assert!(
            e.contains("ERROR 1044 (42000)")
                && e.contains("Access denied for user 'app'@'%' to database 'secret'"),
            "{sql}: {e}"
        );
    }
    // SHOW and DESCRIBE naming a database: answered or refused by the router.
    for sql in [
        "SHOW TABLES FROM secret",
        "SHOW TABLE STATUS FROM secret",
        "SHOW COLUMNS FROM secret.t",
        "SHOW INDEX FROM t FROM secret",
        "SHOW CREATE TABLE secret.t",
        "DESCRIBE secret.t",
        "SHOW TRIGGERS FROM secret",
    ] {
        let e = app.run(sql).expect_err(sql);
        assert!(e.contains("'secret"), "{sql}: {e}");
    }
    // Text the server would build: refused, whatever it holds.
    let e = app
        .run("SET @q = CONCAT('SELECT v FROM sec', 'ret.t'); PREPARE s FROM @q; EXECUTE s")
        .expect_err("PREPARE FROM @q");
    assert!(
        e.contains("ERROR 1105") && e.contains("string literal"),
        "{e}"
    );
    // Nothing of it reached the server.
    assert_eq!(logged(&a, "secret"), "");
    assert_eq!(logged(&a, "shop_1"), "");
    // The servers' own databases pass through.
    assert_eq!(
        q("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'shop_0'"),
        "1"
    );

    // Another schema of the user: planned there, its qualifier as written (its
    // database has the schema's name, check_sql_schema is off).
    assert_eq!(
        q("SELECT id, name FROM hr.emp ORDER BY id"),
        "1\tann\n2\tbob"
    );
    q("INSERT INTO hr.emp VALUES (3, 'cy')");
    assert_eq!(b.sql("SELECT name FROM hr.emp WHERE id = 3"), "cy");
    assert_eq!(q("SELECT DATABASE()"), "shop");
    let e = app
        .run("SELECT * FROM hr.emp e JOIN customer c ON c.id = e.id")
        .expect_err("two schemas");
    assert!(e.contains("ERROR 1105") && e.contains("`customer`"), "{e}");
    // Not for a user without it; nor does a datanode hint open hr's node to that user.
    let other = as_user("shop_only");
    let e = other.run("SELECT * FROM hr.emp").expect_err("not granted");
    assert!(
        e.contains("ERROR 1044 (42000)")
            && e.contains("Access denied for user 'shop_only'@'%' to database 'hr'"),
        "{e}"
    );
    let e = other
        .run("/*!mycat: datanode=dn2 */ SELECT COUNT(*) FROM emp")
        .expect_err("hint");
    assert!(e.contains("datanode=dn2"), "{e}");
    assert_eq!(q("/*!mycat: datanode=dn2 */ SELECT COUNT(*) FROM emp"), "3");
    // check_sql_schema off and a database named otherwise: refused, not sent as written.
    let e = common::shard::Mysql::new(r.addr, "app", "s3cret")
        .db("legacy")
        .run("SELECT * FROM legacy.t")
        .expect_err("legacy.");
    assert!(
        e.contains("check_sql_schema") && e.contains("legacy_db"),
        "{e}"
    );

    // Prepared statements get the same checks; the server prepares the text without
    // the qualifiers the router removes.
    let mut c = common::wire::Conn::connect(r.addr, "app", "s3cret", Some("shop")).expect("login");
    for (sql, code) in [
        ("SELECT v FROM secret.t WHERE id = ?", 1044),
        ("SELECT name FROM shop_1.customer WHERE id = ?", 1044),
        (
            "SELECT name FROM hr.emp e JOIN customer c ON c.id = e.id WHERE e.id = ?",
            1105,
        ),
    ] {
        let e = c.prepare(sql).expect_err(sql);
        assert_eq!(e.code, code, "{sql}: {e}");
    }
    let st = c
        .prepare("SELECT name FROM shop.customer WHERE id = ?")
        .expect("prepare shop.customer");
    let rows = c.execute(st, 0, &[Some("5000001")], &[]).expect("execute");
    assert_eq!(rows, vec![vec![Some("b".to_string())]]);
    let st = c
        .prepare("SELECT name FROM hr.emp WHERE id = ?")
        .expect("prepare hr.emp");
    let rows = c.execute(st, 0, &[Some("2")], &[]).expect("execute");
    assert_eq!(rows, vec![vec![Some("bob".to_string())]]);
    assert_eq!(
        c.value("SELECT DATABASE()").expect("database"),
        Some("shop".into())
    );
    assert_eq!(logged(&a, "secret"), "");
    assert_eq!(logged(&a, "shop_1.customer"), "");
    // And the data is as it was.
    a.sql("SET GLOBAL general_log = 0");
    assert_eq!(a.sql("SELECT id, v FROM secret.t"), "1\ttop");
    assert_eq!(a.sql("SHOW TABLES FROM secret"), "t");
    assert_eq!(a.sql("SELECT id, name FROM shop_1.customer"), "5000001\tb");
}

/// Servers A and B with the [`common::shard::DDL`] tables plus `item_note` (an ER
/// grandchild found by lookup), a plain table `plain` on A, MyCat's sequence tables on
/// A; the router with `audit` as an `auto_increment` table (sequence AUDIT) and
/// `item_note` under `order_item`.
fn session_fixture() -> Shard {
    let ddl = format!(
        "{}CREATE TABLE item_note (id BIGINT PRIMARY KEY, item_id BIGINT NOT NULL, txt VARCHAR(20));
CREATE TABLE audit (id BIGINT PRIMARY KEY, note VARCHAR(40));",
        common::shard::DDL
    );
    let (a, b) = common::shard::two_servers();
    a.sql(&format!(
        "CREATE DATABASE shop_0; USE shop_0; {ddl} CREATE TABLE plain (id INT PRIMARY KEY);"
    ));
    b.sql(&format!("CREATE DATABASE shop_1; USE shop_1; {ddl}"));
    common::mariadb::mariadb_client(
        a.addr,
        "root",
        Some("shop_0"),
        include_str!("data/sequence/dbseq.sql"),
    )
    .expect("dbseq.sql");
    a.sql("INSERT INTO shop_0.MYCAT_SEQUENCE VALUES ('AUDIT', 1000, 1)");
    let body = router_body(a.addr, b.addr)
        .replace(
            "children: [ { name: order_item, join_key: order_id, parent_key: id } ]",
            "children: [ { name: order_item, join_key: order_id, parent_key: id, children: [ { name: item_note, join_key: item_id, parent_key: id } ] } ]",
        )
        .replace(
            "{ name: audit, primary_key: id, data_nodes: \"dn0,dn1\", rule: by-id-mod }",
            "{ name: audit, primary_key: id, auto_increment: true, data_nodes: \"dn0,dn1\", rule: by-id-mod }",
        )
        .replace(
            "  data_nodes:\n",
            "  sequence: { handler: database, data_node: dn0 }\n  data_nodes:\n",
        );
    assert!(
        body.contains("item_note") && body.contains("auto_increment"),
        "{body}"
    );
    let router = common::shard::start_router(&body);
    Shard { a, b, router }
}

fn session(s: &Shard) -> common::wire::Conn {
    common::wire::Conn::connect(
        s.router.addr,
        common::shard::USER,
        common::shard::PASSWORD,
        Some(common::shard::SCHEMA),
    )
    .expect("login")
}

/// A prepared INSERT with `?` in the sharding column (mysql-connector's
/// `cursor(prepared=True)`, PDO without emulated prepares, mysqli, Connector/J
/// `useServerPrepStmts`) is prepared, and each execute places its rows by its values:
/// one row natively on its node, several rows split over the nodes, an ER grandchild
/// where the parent lookup finds its parent, ids from the sequence for an
/// `auto_increment` table, every copy of a global table. A value no node takes is a
/// MySQL error at that execute, and the statement stays usable.
#[test]
fn prepared_inserts_are_placed_by_each_executes_values() {
    let s = session_fixture();
    let mut c = session(&s);
    let fail = |what: &str, e: common::wire::Err| -> ! {
        panic!("{what}: {e}\n{}", s.logs());
    };
    // One row per execute, on the node of its id.
    let one = c
        .prepare("INSERT INTO my_order (id, customer_id, status, order_date) VALUES (?, ?, 'new', '2024-01-01')")
        .unwrap_or_else(|e| fail("prepare single-row", e));
    for (id, cust) in [("301", "1"), ("6000301", "2")] {
        c.execute(one, 0, &[Some(id), Some(cust)], &[])
            .unwrap_or_else(|e| fail("execute single-row", e));
    }
    assert_eq!(
        s.on0("SELECT id, customer_id FROM my_order").trim(),
        "301\t1"
    );
    assert_eq!(
        s.on1("SELECT id, customer_id FROM my_order").trim(),
        "6000301\t2"
    );
    // Several rows over both nodes.
    let two = c
        .prepare("INSERT INTO my_order (id, customer_id, status, order_date) VALUES (?, 3, 'new', '2024-01-01'), (?, 4, 'new', '2024-01-01'), (?, 5, 'new', '2024-01-01')")
        .unwrap_or_else(|e| fail("prepare multi-row", e));
    c.execute(two, 0, &[Some("302"), Some("6000302"), Some("303")], &[])
        .unwrap_or_else(|e| fail("execute multi-row", e));
    assert_eq!(
        s.on0("SELECT id FROM my_order ORDER BY id").trim(),
        "301\n302\n303"
    );
    assert_eq!(
        s.on1("SELECT id FROM my_order ORDER BY id").trim(),
        "6000301\n6000302"
    );
    // An ER child placed by its parent's rule, and a grandchild by looking its parent up.
    let item = c
        .prepare("INSERT INTO order_item (id, order_id, product_id, qty, price) VALUES (?, ?, 1, 1, 1.00)")
        .unwrap_or_else(|e| fail("prepare child", e));
    c.execute(item, 0, &[Some("71"), Some("6000301")], &[])
        .unwrap_or_else(|e| fail("execute child", e));
    c.execute(item, 0, &[Some("70"), Some("301")], &[])
        .unwrap_or_else(|e| fail("execute child", e));
    let note = c
        .prepare("INSERT INTO item_note (id, item_id, txt) VALUES (?, ?, ?)")
        .unwrap_or_else(|e| fail("prepare grandchild", e));
    c.execute(note, 0, &[Some("1"), Some("71"), Some("on b")], &[])
        .unwrap_or_else(|e| fail("execute grandchild", e));
    c.execute(note, 0, &[Some("2"), Some("70"), Some("on a")], &[])
        .unwrap_or_else(|e| fail("execute grandchild", e));
    assert_eq!(s.on0("SELECT id, txt FROM item_note").trim(), "2\ton a");
    assert_eq!(s.on1("SELECT id, txt FROM item_note").trim(), "1\ton b");
    let e = c
        .execute(note, 0, &[Some("3"), Some("999"), Some("x")], &[])
        .expect_err("no parent");
    assert!(e.code == 1105 && e.msg.contains("no parent row"), "{e}");
    // An auto_increment table: the ids come from the sequence at each execute, for a
    // left-out key and for a NULL one; each row on the node its id picks.
    let aut = c
        .prepare("INSERT INTO audit (note) VALUES (?)")
        .unwrap_or_else(|e| fail("prepare auto_increment", e));
    let aut_null = c
        .prepare("INSERT INTO audit (id, note) VALUES (?, ?)")
        .unwrap_or_else(|e| fail("prepare auto_increment with id", e));
    for n in ["a", "b", "c"] {
        c.execute(aut, 0, &[Some(n)], &[])
            .unwrap_or_else(|e| fail("execute auto_increment", e));
    }
    c.execute(aut_null, 0, &[None, Some("d")], &[])
        .unwrap_or_else(|e| fail("execute auto_increment NULL", e));
    let ids0 = s.on0("SELECT id FROM audit");
    let ids1 = s.on1("SELECT id FROM audit");
    let mut all: Vec<u64> = Vec::new();
    for (ids, rem) in [(&ids0, 0), (&ids1, 1)] {
        for id in ids.split_whitespace() {
            let id: u64 = id.parse().expect("id");
            assert_eq!(id % 2, rem, "{ids0} / {ids1}");
            assert!(id > 1000, "{id}");
            all.push(id);
        }
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 4, "{ids0} / {ids1}");
    // A global table: every copy.
    let prov = c
        .prepare("INSERT INTO province (id, name) VALUES (?, ?)")
        .unwrap_or_else(|e| fail("prepare global", e));
    c.execute(prov, 0, &[Some("10000"), Some("north")], &[])
        .unwrap_or_else(|e| fail("execute global", e));
    assert_eq!(
        s.on0("SELECT id, name FROM province").trim(),
        "10000\tnorth"
    );
    assert_eq!(
        s.on1("SELECT id, name FROM province").trim(),
        "10000\tnorth"
    );
    // A value outside every range: an error at that execute; nothing written, and the
    // statement and the session go on.
    let e = c
        .execute(one, 0, &[Some("2000000000"), Some("9")], &[])
        .expect_err("outside every range");
    assert!(
        e.code == 1105 && e.msg.contains("outside every range"),
        "{e}"
    );
    c.execute(one, 0, &[Some("304"), Some("9")], &[])
        .unwrap_or_else(|e| fail("execute after the error", e));
    assert_eq!(s.on0("SELECT COUNT(*) FROM my_order").trim(), "4");
    assert_eq!(s.on1("SELECT COUNT(*) FROM my_order").trim(), "2");
}

/// State the router tracks does not bind a session to one host: Laravel's connect
/// sequence with PDO native prepares (prepared SET NAMES ... COLLATE and SET sql_mode),
/// user variables set to literals (text and prepared), a multi-statement text without
/// a SET. Each is replayed on the other data host's connection. What cannot be replayed
/// still binds, and the error then says what bound it, since which statement, and
/// never that a transaction is open when none is.
#[test]
fn tracked_session_state_follows_the_session_to_every_data_host() {
    let s = session_fixture();
    s.on0("INSERT INTO my_order (id, customer_id, status, order_date) VALUES (1, 1, 'a', '2024-01-01')");
    s.on1("INSERT INTO my_order (id, customer_id, status, order_date) VALUES (6000001, 2, 'b', '2024-01-01')");
    let mut c = session(&s);
    let fail = |what: &str, e: common::wire::Err| -> ! {
        panic!("{what}: {e}\n{}", s.logs());
    };
    for set in [
        "set names 'utf8mb4' collate 'utf8mb4_unicode_ci'",
        "set session sql_mode='NO_ENGINE_SUBSTITUTION,STRICT_TRANS_TABLES,ANSI_QUOTES'",
    ] {
        let st = c.prepare(set).unwrap_or_else(|e| fail(set, e));
        c.execute(st, 0, &[], &[]).unwrap_or_else(|e| fail(set, e));
        c.close_stmt(st).expect("close");
    }
    let sel = c
        .prepare("select id, status from my_order where id = ?")
        .unwrap_or_else(|e| fail("prepare select", e));
    for (id, status) in [("6000001", "b"), ("1", "a")] {
        let rows = c
            .execute(sel, 0, &[Some(id)], &[])
            .unwrap_or_else(|e| fail("select on each host", e));
        assert_eq!(
            rows,
            vec![vec![Some(id.to_string()), Some(status.to_string())]]
        );
    }
    // Both hosts' connections have the session's settings.
    for id in ["1", "6000001"] {
        let rows = c
            .query(&format!(
                "SELECT @@collation_connection, @@SESSION.sql_mode LIKE '%ANSI_QUOTES%' FROM my_order WHERE id = {id}"
            ))
            .unwrap_or_else(|e| fail("settings", e));
        assert_eq!(
            rows,
            vec![vec![Some("utf8mb4_unicode_ci".into()), Some("1".into())]],
            "id {id}"
        );
    }
    // User variables set to literals, as text and as a prepared SET, are replayed on
    // each host; a transaction then reaches both hosts.
    c.exec("SET @x = 5, @s = 'it''s'")
        .unwrap_or_else(|e| fail("SET @x", e));
    let setp = c
        .prepare("SET @p = ?")
        .unwrap_or_else(|e| fail("prepare SET @p", e));
    c.execute(setp, 0, &[Some("seven")], &[])
        .unwrap_or_else(|e| fail("execute SET @p", e));
    for id in ["6000001", "1"] {
        let rows = c
            .query(&format!("SELECT @x, @s, @p FROM my_order WHERE id = {id}"))
            .unwrap_or_else(|e| fail("read user variables", e));
        assert_eq!(
            rows,
            vec![vec![
                Some("5".into()),
                Some("it's".into()),
                Some("seven".into())
            ]],
            "id {id}"
        );
    }
    for sql in [
        "BEGIN",
        "UPDATE my_order SET total = @x WHERE id = 1",
        "UPDATE my_order SET total = @x + 1 WHERE id = 6000001",
        "COMMIT",
    ] {
        c.exec(sql).unwrap_or_else(|e| fail(sql, e));
    }
    assert_eq!(s.on0("SELECT total FROM my_order").trim(), "5.00");
    assert_eq!(s.on1("SELECT total FROM my_order").trim(), "6.00");
    // A multi-statement text without a SET binds nothing either.
    let mut m = common::wire::Conn::connect_multi(
        s.router.addr,
        common::shard::USER,
        common::shard::PASSWORD,
        Some(common::shard::SCHEMA),
    )
    .expect("login");
    m.query("INSERT INTO plain VALUES (1); INSERT INTO plain VALUES (2)")
        .unwrap_or_else(|e| fail("multi-statement", e));
    assert_eq!(
        m.value("SELECT status FROM my_order WHERE id = 6000001")
            .unwrap_or_else(|e| fail("other host after multi-statement", e)),
        Some("b".into())
    );
    // One with a SET does bind; the error says so, and names no transaction.
    m.query("SET @m = 1; INSERT INTO plain VALUES (3)")
        .unwrap_or_else(|e| fail("multi-statement with SET", e));
    let e = m
        .value("SELECT status FROM my_order WHERE id = 6000001")
        .expect_err("bound by the multi-statement SET");
    assert!(
        e.code == 1105
            && e.msg.contains("multi-statement text with a SET")
            && e.msg
                .contains("since `SET @m = 1; INSERT INTO plain VALUES (3)`")
            && e.msg.contains("data host h1")
            && !e.msg.contains("transaction"),
        "{e}"
    );
    // A user variable the server computes binds too.
    c.exec("SET @y = (SELECT COUNT(*) FROM plain)")
        .unwrap_or_else(|e| fail("SET @y", e));
    assert_eq!(
        c.value("SELECT @y").unwrap_or_else(|e| fail("@y", e)),
        Some("3".into())
    );
    let e = c
        .value("SELECT status FROM my_order WHERE id = 6000001")
        .expect_err("bound by SET @y");
    assert!(
        e.code == 1105
            && e.msg
                .contains("since `SET @y = (SELECT COUNT(*) FROM plain)`")
            && e.msg.contains("SET the router cannot replay")
            && e.msg.contains("COM_RESET_CONNECTION")
            && !e.msg.contains("transaction"),
        "{e}"
    );
    // The same host is fine.
    assert_eq!(
        c.value("SELECT status FROM my_order WHERE id = 1")
            .unwrap_or_else(|e| fail("same host", e)),
        Some("a".into())
    );
}

/// Writes on several nodes answer as one server would: `RETURNING` rows (each node's
/// in turn, one copy's for a global table), the info string of an UPDATE and a
/// multi-row INSERT with the counts added up (in MariaDB's format, compared with a
/// server's own), and `SELECT ROW_COUNT()` right after gives the affected rows the
/// client was told. A prepared write with RETURNING that would run as text on several
/// nodes is refused before anything is written.
#[test]
fn multi_node_writes_return_rows_info_and_row_count() {
    let s = session_fixture();
    let mut c = session(&s);
    let fail = |what: &str, e: common::wire::Err| -> ! {
        panic!("{what}: {e}\n{}", s.logs());
    };
    let rows = c
        .query("INSERT INTO my_order (id, customer_id, status, order_date) VALUES (7101, 1, 'n', '2024-01-01'), (6007102, 2, 'n', '2024-01-01'), (7103, 3, 'n', '2024-01-01') RETURNING id, customer_id")
        .unwrap_or_else(|e| fail("INSERT RETURNING", e));
    let s2 = |a: &str, b: &str| vec![Some(a.to_string()), Some(b.to_string())];
    assert_eq!(
        rows,
        vec![s2("7101", "1"), s2("7103", "3"), s2("6007102", "2")]
    );
    let rows = c
        .query("INSERT INTO province (id, name) VALUES (1, 'a'), (2, 'b') RETURNING id, name")
        .unwrap_or_else(|e| fail("global INSERT RETURNING", e));
    assert_eq!(rows, vec![s2("1", "a"), s2("2", "b")]);
    assert_eq!(s.on1("SELECT COUNT(*) FROM province").trim(), "2");
    // A server's own info strings, for the format.
    let mut direct =
        common::wire::Conn::connect(s.a.addr, "root", "", Some("shop_0")).expect("direct login");
    let (_, server_insert) = direct
        .exec("INSERT INTO plain VALUES (1), (2), (3)")
        .expect("direct insert");
    assert_eq!(server_insert, "Records: 3  Duplicates: 0  Warnings: 0");
    let (_, server_update) = direct
        .exec("UPDATE plain SET id = id + 10")
        .expect("direct update");
    assert_eq!(server_update, "Rows matched: 3  Changed: 3  Warnings: 0");
    let (n, info) = c
        .exec("INSERT INTO my_order (id, customer_id, status, order_date) VALUES (7104, 4, 'n', '2024-01-01'), (6007105, 5, 'n', '2024-01-01'), (7106, 6, 'n', '2024-01-01')")
        .unwrap_or_else(|e| fail("multi-node INSERT", e));
    assert_eq!(
        (n, info.as_str()),
        (3, "Records: 3  Duplicates: 0  Warnings: 0")
    );
    assert_eq!(
        c.value("SELECT ROW_COUNT()")
            .unwrap_or_else(|e| fail("ROW_COUNT", e)),
        Some("3".into())
    );
    let (n, info) = c
        .exec("UPDATE my_order SET status = 'x' WHERE id IN (7101, 6007102, 7103, 7104, 6007105)")
        .unwrap_or_else(|e| fail("multi-node UPDATE", e));
    assert_eq!(
        (n, info.as_str()),
        (5, "Rows matched: 5  Changed: 5  Warnings: 0")
    );
    assert_eq!(
        c.value("SELECT ROW_COUNT() AS n")
            .unwrap_or_else(|e| fail("ROW_COUNT", e)),
        Some("5".into())
    );
    let rows = c
        .query("DELETE FROM my_order WHERE id IN (7101, 6007102) RETURNING id")
        .unwrap_or_else(|e| fail("DELETE RETURNING", e));
    assert_eq!(
        rows,
        vec![vec![Some("7101".into())], vec![Some("6007102".into())]]
    );
    // Prepared, several nodes: refused, nothing written.
    let st = c
        .prepare("INSERT INTO my_order (id, customer_id, status, order_date) VALUES (?, 1, 'n', '2024-01-01'), (?, 2, 'n', '2024-01-01') RETURNING id")
        .unwrap_or_else(|e| fail("prepare RETURNING", e));
    let e = c
        .execute(st, 0, &[Some("7201"), Some("6007202")], &[])
        .expect_err("binary RETURNING over two nodes");
    assert!(e.code == 1105 && e.msg.contains("RETURNING"), "{e}");
    assert_eq!(
        s.on0("SELECT COUNT(*) FROM my_order WHERE id = 7201")
            .trim(),
        "0"
    );
    // On one node it runs natively.
    let rows = c
        .execute(st, 0, &[Some("7203"), Some("7204")], &[])
        .unwrap_or_else(|e| fail("prepared RETURNING on one node", e));
    assert_eq!(
        rows,
        vec![vec![Some("7203".into())], vec![Some("7204".into())]]
    );
}

/// KILL QUERY of a session whose statement runs on several nodes stops it on every
/// node: a merged SELECT and an UPDATE; the client gets 1317 and keeps its connection.
/// KILL [CONNECTION] stops it too, and closes the client's connection without an
/// answer, as a MariaDB server does (the client reports a lost connection).
#[test]
fn kill_query_stops_a_statement_on_every_node() {
    let s = session_fixture();
    s.on0("INSERT INTO my_order (id, customer_id, status, order_date) VALUES (1, 1, 'a', '2024-01-01')");
    s.on1("INSERT INTO my_order (id, customer_id, status, order_date) VALUES (6000001, 2, 'b', '2024-01-01')");
    let running = |db: &common::mariadb::MariaDb| {
        db.sql("SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE '%SLEEP(60)%' AND info NOT LIKE '%processlist%'")
            .trim()
            == "1"
    };
    for (sql, kill) in [
        (
            "SELECT id, SLEEP(60) FROM my_order WHERE id IN (1, 6000001)",
            "KILL QUERY",
        ),
        (
            "UPDATE my_order SET status = IF(SLEEP(60), 'y', 'z') WHERE id IN (1, 6000001)",
            "KILL QUERY",
        ),
        (
            "SELECT id, SLEEP(60) FROM my_order WHERE id IN (1, 6000001)",
            "KILL",
        ),
        (
            "UPDATE my_order SET status = IF(SLEEP(60), 'y', 'z') WHERE id IN (1, 6000001)",
            "KILL CONNECTION",
        ),
        ("SELECT SLEEP(60) FROM my_order WHERE id = 6000001", "KILL"),
    ] {
        let mut victim = session(&s);
        let id = victim.id;
        let t = std::thread::spawn(move || {
            let out = victim.query(sql);
            (out, victim.query("SELECT 1"))
        });
        let both = sql.contains("IN (");
        common::wait_for(Duration::from_secs(30), || {
            (running(&s.b) && (running(&s.a) || !both)).then_some(())
        })
        .unwrap_or_else(|| panic!("{sql} is not running on its nodes\n{}", s.logs()));
        let mut killer = session(&s);
        killer
            .exec(&format!("{kill} {id}"))
            .unwrap_or_else(|e| panic!("{kill}: {e}"));
        let (out, after) = t.join().expect("victim");
        let e = out.expect_err(sql);
        if kill == "KILL QUERY" {
            assert_eq!(e.code, 1317, "{sql}: {e}");
            assert_eq!(after, Ok(vec![vec![Some("1".into())]]), "{kill}");
        } else {
            // No answer: the connection is closed (code 0 = a broken connection).
            assert_eq!(e.code, 0, "{kill} {sql}: {e}");
            let e = after.expect_err("the killed connection is closed");
            assert_eq!(e.code, 0, "{kill}: {e}");
        }
        // The killer's session and the pools go on.
        assert_eq!(
            killer.query("SELECT COUNT(*) FROM my_order WHERE id IN (1, 6000001)"),
            Ok(vec![vec![Some("2".into())]])
        );
        // Neither node is still running it.
        common::wait_for(Duration::from_secs(30), || {
            (!running(&s.a) && !running(&s.b)).then_some(())
        })
        .unwrap_or_else(|| panic!("{sql} still runs on a node"));
    }
    assert_eq!(s.on0("SELECT status FROM my_order").trim(), "a");
    assert_eq!(s.on1("SELECT status FROM my_order").trim(), "b");
}

/// MyCat's EXPLAIN: `EXPLAIN <statement>` is the router's plan (DATA_NODE, SQL per node),
/// EXPLAIN with options runs on the node the statement routes to, `EXPLAIN2` on the node
/// it names. The row with id 5000001 lives on dn1 (server B): a server without it
/// answers "Impossible WHERE".
#[test]
fn explain_answers_as_mycat_and_options_reach_the_routed_node() {
    let s = Shard::start();
    s.q("INSERT INTO customer (id, name) VALUES (1, 'a'), (5000001, 'b')")
        .expect("insert");
    let with_header = |sql: &str| {
        Mysql::new(s.router.addr, USER, PASSWORD)
            .db(SCHEMA)
            .header()
            .run(sql)
            .map(|o| o.trim_end().to_string())
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", s.logs()))
    };
    let q = |sql: &str| s.ok(sql);
    assert_eq!(
        with_header("EXPLAIN SELECT * FROM customer WHERE id = 5000001"),
        "DATA_NODE\tSQL\ndn1\tSELECT * FROM customer WHERE id = 5000001"
    );
    // Several nodes: a row each, with the text each gets.
    let both = q("EXPLAIN SELECT name FROM customer ORDER BY name");
    let nodes: Vec<&str> = both.lines().filter_map(|l| l.split('\t').next()).collect();
    assert_eq!(nodes, ["dn0", "dn1"], "{both}");
    assert!(both.contains("ORDER BY name"), "{both}");
    // A table that is not listed: the schema's node; line breaks become spaces.
    assert_eq!(
        q("EXPLAIN SELECT *\nFROM misc\nWHERE id = 3"),
        "dn0\tSELECT * FROM misc WHERE id = 3"
    );
    // A statement the router refuses gets the planner's error.
    let e = s
        .q("EXPLAIN SELECT * FROM customer c JOIN user_info u ON c.id = u.id")
        .expect_err("not colocated");
    assert!(
        e.contains("1105") && e.contains("do not live together"),
        "{e}"
    );
    // With options: the server's EXPLAIN on the node holding the row.
    let json = q("EXPLAIN FORMAT=JSON SELECT * FROM customer WHERE id = 5000001");
    assert!(json.contains("\"access_type\": \"const\""), "{json}");
    assert!(!json.contains("Impossible WHERE"), "{json}");
    let ext = q("EXPLAIN EXTENDED SELECT * FROM customer WHERE id = 5000001");
    assert!(
        ext.contains("const") && !ext.contains("Impossible"),
        "{ext}"
    );
    let an = q("ANALYZE SELECT * FROM customer WHERE id = 5000001");
    assert!(an.contains("const") && !an.contains("Impossible"), "{an}");
    let e = s
        .q("EXPLAIN FORMAT=JSON SELECT * FROM customer")
        .expect_err("two nodes");
    assert!(e.contains("dn0,dn1") && e.contains("EXPLAIN2"), "{e}");
    // EXPLAIN2: MyCat's syntax, `EXPLAIN <statement>` on the named node.
    let on1 = q("EXPLAIN2 datanode=dn1 sql=SELECT * FROM customer WHERE id = 5000001");
    assert!(
        on1.contains("const") && !on1.contains("Impossible"),
        "{on1}"
    );
    let on0 = q("explain2 datanode=dn0 sql=select * from customer where id = 5000001");
    assert!(on0.contains("Impossible WHERE"), "{on0}");
    let e = s.q("EXPLAIN2 sql=SELECT 1").expect_err("syntax");
    assert!(e.contains("datanode=<data node>"), "{e}");
    let e = s
        .q("EXPLAIN2 datanode=dn7 sql=SELECT 1")
        .expect_err("unknown node");
    assert!(e.contains("dn7"), "{e}");
    // EXPLAIN and DESCRIBE of a table as before.
    assert!(q("EXPLAIN customer").starts_with("id\tbigint"));
    assert!(q("DESCRIBE customer").contains("\nname\tvarchar(40)"));
    // Prepared (binary protocol): the same answers; `?` in the router's form is refused.
    let mut c =
        common::wire::Conn::connect(s.router.addr, USER, PASSWORD, Some(SCHEMA)).expect("login");
    let st = c
        .prepare("EXPLAIN SELECT * FROM customer WHERE id = 5000001")
        .expect("prepare EXPLAIN");
    assert_eq!(st.columns, 2);
    assert_eq!(
        c.execute(st, 0, &[], &[]).expect("execute EXPLAIN"),
        vec![vec![
            Some("dn1".to_string()),
            Some("SELECT * FROM customer WHERE id = 5000001".to_string())
        ]]
    );
    let e = c
        .prepare("EXPLAIN SELECT * FROM customer WHERE id = ?")
        .expect_err("parameters");
    assert_eq!(e.code, 1105, "{e}");
    let st = c
        .prepare("EXPLAIN2 datanode=dn1 sql=SELECT id FROM customer WHERE id = 5000001")
        .expect("prepare EXPLAIN2");
    let rows = c.execute(st, 0, &[], &[]).expect("execute EXPLAIN2");
    assert!(
        rows.iter().flatten().flatten().any(|v| v == "const"),
        "{rows:?}"
    );
}

/// `show @@datanode` counts the statements each data node ran (MyCat's EXECUTE).
#[test]
fn admin_datanode_counts_statements_per_node() {
    let s = Shard::start_with_admin();
    let r = &s.router;
    let execute = |node: &str| -> u64 {
        let out = s.admin("show @@datanode").expect("show @@datanode");
        let mut lines = out.lines();
        let head: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        let col = head
            .iter()
            .position(|c| *c == "EXECUTE")
            .unwrap_or_else(|| panic!("no EXECUTE column: {out}"));
        lines
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .find(|row| row.first() == Some(&node))
            .and_then(|row| row.get(col).and_then(|v| v.parse().ok()))
            .unwrap_or_else(|| panic!("no row for {node}: {out}"))
    };
    let q = |sql: &str| {
        Mysql::new(r.addr, USER, PASSWORD)
            .db(SCHEMA)
            .run(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", r.logs()))
    };
    let (dn0, dn1) = (execute("dn0"), execute("dn1"));
    // A write and a read on dn1, a read on both.
    q("INSERT INTO customer (id, name) VALUES (5000001, 'b')");
    q("SELECT name FROM customer WHERE id = 5000001");
    q("SELECT COUNT(*) FROM customer");
    assert!(execute("dn1") >= dn1 + 3, "dn1 {dn1} -> {}", execute("dn1"));
    let dn0_now = execute("dn0");
    assert!(dn0_now > dn0, "dn0 {dn0} -> {dn0_now}");
    // Statements on dn0 only leave dn1's count alone.
    let dn1_now = execute("dn1");
    q("SELECT name FROM customer WHERE id = 1");
    q("INSERT INTO customer (id, name) VALUES (2, 'c')");
    assert_eq!(execute("dn1"), dn1_now);
    assert!(execute("dn0") >= dn0_now + 2);
}

/// The README's dump recipe: `mariadb-dump --single-transaction --skip-add-locks
/// --complete-insert --no-tablespaces` through the router, restored through the router
/// into emptied tables: every row back on its node.
#[test]
fn mariadb_dump_through_the_router_restores_every_row_on_its_node() {
    let s = Shard::start();
    s.q("INSERT INTO customer (id, name, city) VALUES (1, 'a', 'x'), (6000000, 'b', 'y'), (2, 'c', NULL)")
        .expect("customers");
    s.q("INSERT INTO province (id, name) VALUES (10000, 'p0'), (10010, 'p1')")
        .expect("provinces");
    s.q("INSERT INTO product (id, name, price) VALUES (1, 'odd', 1.50), (2, 'even', 2.25)")
        .expect("products");
    let dump = std::process::Command::new("mariadb-dump")
        .args([
            "--no-defaults",
            "--protocol=TCP",
            "-h",
            "127.0.0.1",
            "-P",
            &s.router.addr.port().to_string(),
            "-u",
            USER,
            &format!("-p{PASSWORD}"),
            "--single-transaction",
            "--skip-add-locks",
            "--complete-insert",
            "--no-tablespaces",
            "--skip-ssl",
            SCHEMA,
            "customer",
            "province",
            "product",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("mariadb-dump (apt-get install mariadb-client)");
    let text = String::from_utf8_lossy(&dump.stdout).to_string();
    assert!(
        dump.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&dump.stderr),
        s.logs()
    );
    assert!(text.contains("INSERT INTO `customer` (`id`,"), "{text}");
    // Restore: the dump drops and recreates the tables on every node, then inserts.
    Mysql::new(s.router.addr, USER, PASSWORD)
        .db(SCHEMA)
        .script(&text)
        .unwrap_or_else(|e| panic!("restore: {e}\n{}", s.logs()));
    assert_eq!(s.on0("SELECT id FROM customer ORDER BY id"), "1\n2");
    assert_eq!(s.on1("SELECT id FROM customer ORDER BY id"), "6000000");
    assert_eq!(s.on0("SELECT COUNT(*) FROM province"), "2");
    assert_eq!(s.on1("SELECT COUNT(*) FROM province"), "2");
    assert_eq!(s.on0("SELECT id FROM product"), "2");
    assert_eq!(s.on1("SELECT id FROM product"), "1");
    assert_eq!(
        s.q("SELECT name FROM customer ORDER BY id")
            .expect("read back"),
        "a\nc\nb"
    );
}

/// A prepared SELECT whose parameter values reach both nodes (PDO without emulated
/// prepares, Connector/J `useServerPrepStmts`) is merged as the text query is and
/// answered with binary rows: the same rows and values as the query sent as text, with
/// the same column types (INT, BIGINT UNSIGNED, DECIMAL, VARCHAR, DATE, DATETIME(6),
/// TIME, NULL), through ORDER BY, GROUP BY with COUNT/AVG/SUM/MIN/MAX, DISTINCT and
/// LIMIT. An execute asking for a cursor gets the whole result without one.
#[test]
fn prepared_selects_over_both_nodes_are_merged_into_binary_rows() {
    let ddl = format!(
        "{} CREATE TABLE audit (
  id INT NOT NULL PRIMARY KEY,
  grp VARCHAR(10) NOT NULL,
  big BIGINT UNSIGNED NULL,
  amount DECIMAL(12,2) NULL,
  label VARCHAR(40) NULL,
  d DATE NULL,
  dt DATETIME(6) NULL,
  t TIME NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;",
        common::shard::DDL
    );
    let s = Shard::start_with_ddl(&ddl);
    // mod-long 2 on id: even ids on dn0, odd ones on dn1.
    s.on0(
        "SET sql_mode=''; INSERT INTO audit VALUES
         (2, 'b', 0, -3.25, 'two', '0000-00-00', '2024-01-02 00:00:00', '00:00:00'),
         (4, 'b', 7, 100.00, 'four', '2023-12-31', '2023-12-31 23:59:59', '12:34:56'),
         (6, 'b', NULL, 9.99, 'six', '2024-03-01', '0000-00-00 00:00:00', '-01:02:03')",
    );
    s.on1(
        "SET sql_mode=''; INSERT INTO audit VALUES
         (1, 'a', 18446744073709551615, 12.50, 'one', '2024-01-02', '2024-01-02 03:04:05.123456', '-838:59:59'),
         (3, 'a', 5, NULL, NULL, NULL, NULL, NULL),
         (5, 'a', 42, 0.01, 'five', '2024-02-29', '2024-02-29 00:00:00.000001', '838:59:59')",
    );
    let mut c = session(&s);
    let cols = "id, grp, big, amount, label, d, dt, t";
    // (prepared text, parameter values, whether the order is defined)
    let cases: Vec<(String, Vec<&str>, bool)> = vec![
        (
            format!("SELECT {cols} FROM audit WHERE id IN (?, ?) ORDER BY id"),
            vec!["1", "4"],
            true,
        ),
        (
            format!("SELECT {cols}, NULL AS n FROM audit WHERE id >= ? ORDER BY dt DESC, id LIMIT 4"),
            vec!["1"],
            true,
        ),
        (
            "SELECT grp, COUNT(*), AVG(amount), SUM(big), MIN(d), MAX(dt), MIN(t) FROM audit WHERE id <= ? GROUP BY grp ORDER BY grp"
                .to_string(),
            vec!["6"],
            true,
        ),
        (
            "SELECT DISTINCT grp FROM audit WHERE id > ? ORDER BY grp DESC".to_string(),
            vec!["0"],
            true,
        ),
        (
            format!("SELECT {cols} FROM audit WHERE label IS NULL OR id BETWEEN ? AND ?"),
            vec!["2", "5"],
            false,
        ),
        (
            "SELECT COUNT(*), AVG(id), MAX(big) FROM audit WHERE id IN (?, ?, ?)".to_string(),
            vec!["1", "2", "3"],
            true,
        ),
        // Expressions over aggregates and COUNT(DISTINCT), recomputed after the merge
        // and typed by the nodes' column definitions.
        (
            "SELECT grp, IFNULL(SUM(amount), 0), ROUND(AVG(amount), 1), COUNT(*) * 2, SUM(amount) / COUNT(*), COUNT(DISTINCT label), AVG(id) * 1e0 FROM audit WHERE id <= ? GROUP BY grp ORDER BY grp"
                .to_string(),
            vec!["6"],
            true,
        ),
        (
            "SELECT IFNULL(SUM(amount), 0), COUNT(*) - 1, ROUND(AVG(id), 3), COUNT(DISTINCT grp) FROM audit WHERE id > ?"
                .to_string(),
            vec!["100"],
            true,
        ),
    ];
    let sort = |mut r: common::wire::Rows, ordered: bool| {
        if !ordered {
            r.sort();
        }
        r
    };
    for (sql, vals, ordered) in &cases {
        let mut text = sql.clone();
        for v in vals {
            text = text.replacen('?', &format!("'{v}'"), 1);
        }
        let want = c
            .query(&text)
            .unwrap_or_else(|e| panic!("{text}: {e}\n{}", s.logs()));
        let want_types = c.last_types.clone();
        assert!(!want.is_empty(), "{text}: no rows");
        let st = c
            .prepare(sql)
            .unwrap_or_else(|e| panic!("prepare {sql}: {e}\n{}", s.logs()));
        let args: Vec<Option<&str>> = vals.iter().map(|v| Some(*v)).collect();
        for flags in [0, common::wire::CURSOR_READ_ONLY] {
            let got = c
                .execute(st, flags, &args, &[])
                .unwrap_or_else(|e| panic!("execute {sql} (flags {flags}): {e}\n{}", s.logs()));
            assert_eq!(
                sort(got, *ordered),
                sort(want.clone(), *ordered),
                "{sql} with {vals:?} (flags {flags})"
            );
            assert_eq!(c.last_types, want_types, "{sql}: column types");
        }
        // The cursor execute opened no cursor: a fetch says so.
        let e = c.fetch(st, 10).expect_err("fetch without a cursor");
        assert_eq!(e.code, 1421, "{e}");
        c.close_stmt(st).expect("close");
    }
    // The recomputed values, spelled out (one server: group a has 12.50, NULL, 0.01 and
    // labels one, NULL, five; group b -3.25, 100.00, 9.99 and three labels).
    let st = c
        .prepare("SELECT grp, IFNULL(SUM(amount), 0), ROUND(AVG(amount), 1), COUNT(*) * 2, SUM(amount) / COUNT(*), COUNT(DISTINCT label) FROM audit WHERE id <= ? GROUP BY grp ORDER BY grp")
        .expect("prepare");
    let rows = c.execute(st, 0, &[Some("6")], &[]).expect("execute");
    let want: Vec<Vec<Option<String>>> = [
        ["a", "12.51", "6.3", "6", "4.170000", "2"],
        ["b", "106.74", "35.6", "6", "35.580000", "3"],
    ]
    .iter()
    .map(|r| r.iter().map(|v| Some(v.to_string())).collect())
    .collect();
    assert_eq!(rows, want);
    let types: Vec<u8> = c.last_types.iter().map(|t| t.0).collect();
    assert_eq!(
        types,
        vec![0xfd, 0xf6, 0xf6, 0x08, 0xf6, 0x08],
        "{:?}",
        c.last_types
    );
    c.close_stmt(st).expect("close");
    // The values the binary rows carried, spelled out for the first query.
    let st = c
        .prepare(&format!(
            "SELECT {cols} FROM audit WHERE id IN (?, ?) ORDER BY id"
        ))
        .expect("prepare");
    let rows = c
        .execute(st, 0, &[Some("1"), Some("6")], &[])
        .expect("execute");
    let some = |v: &[&str]| -> Vec<Option<String>> {
        v.iter()
            .map(|x| (*x != "NULL").then(|| x.to_string()))
            .collect()
    };
    assert_eq!(
        rows,
        vec![
            some(&[
                "1",
                "a",
                "18446744073709551615",
                "12.50",
                "one",
                "2024-01-02",
                "2024-01-02 03:04:05.123456",
                "-838:59:59"
            ]),
            some(&[
                "6",
                "b",
                "NULL",
                "9.99",
                "six",
                "2024-03-01",
                "0000-00-00 00:00:00.000000",
                "-01:02:03"
            ]),
        ]
    );
    let types: Vec<u8> = c.last_types.iter().map(|t| t.0).collect();
    assert_eq!(
        types,
        vec![0x03, 0xfd, 0x08, 0xf6, 0xfd, 0x0a, 0x0c, 0x0b],
        "{:?}",
        c.last_types
    );
    assert!(c.last_types[2].1, "BIGINT UNSIGNED");
    // A value the same statement places on one node still runs natively there.
    let one = c
        .execute(st, 0, &[Some("3"), Some("5")], &[])
        .expect("execute on dn1");
    assert_eq!(one.len(), 2);
    assert_eq!(one[0][0].as_deref(), Some("3"));
    // `LIMIT ? OFFSET ?` over both nodes with the values sent as strings (mysql2's
    // `execute()`, PDO): the page the server would give, not a refusal.
    let st = c
        .prepare("SELECT id FROM audit WHERE id > ? ORDER BY id DESC LIMIT ? OFFSET ?")
        .expect("prepare LIMIT ?");
    let page = c
        .execute(st, 0, &[Some("0"), Some("2"), Some("1")], &[])
        .unwrap_or_else(|e| panic!("execute LIMIT ?: {e}\n{}", s.logs()));
    assert_eq!(page, vec![some(&["5"]), some(&["4"])]);
}

/// `GROUP BY <name>` where `<name>` is a select alias over both nodes: the router reads
/// the table's columns from a node to resolve it as a server does (a column of that name
/// wins over the alias), and forgets them when DDL passes through it, so the answer
/// follows the table as it is now. Text and prepared statements, in and out of a
/// transaction, and EXPLAIN.
#[test]
fn group_by_an_alias_follows_the_tables_columns() {
    let s = Shard::start();
    let q = |sql: &str| s.ok(sql);
    q("INSERT INTO customer (id, name, city, level) VALUES
       (1, 'a', 'Wuhan', 1), (2, 'b', 'Xian', 2), (3, 'c', 'Beijing', 5),
       (5000001, 'd', 'Wuhan', 3), (5000002, 'e', 'Beijing', 1)");
    let by_alias =
        "SELECT LEFT(city, 1) AS x, COUNT(*), SUM(level) FROM customer GROUP BY x ORDER BY x";
    let want_alias = "B\t2\t6\nW\t2\t4\nX\t1\t2";
    assert_eq!(q(by_alias), want_alias);
    // The count per group alone: which row's `LEFT(city, 1)` a column group shows is
    // up to the server.
    let counts = "SELECT COUNT(*) AS n, LEFT(city, 1) AS x FROM customer GROUP BY x ORDER BY n";
    let first_column = |out: String| -> Vec<String> {
        out.lines()
            .map(|l| l.split('\t').next().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(first_column(q(counts)), vec!["1", "2", "2"]);

    // A column `x` added through the router wins from the next statement on.
    q("ALTER TABLE customer ADD COLUMN x INT NOT NULL DEFAULT 0");
    q("UPDATE customer SET x = id % 2");
    assert_eq!(first_column(q(counts)), vec!["2", "3"]);
    // EXPLAIN shows the plan that reads column `x` in a hidden column.
    let explained = q(&format!("EXPLAIN {counts}"));
    assert!(explained.contains("x AS `__tandem_"), "{explained}");
    // A prepared statement and a transaction (the columns are read on the session's
    // connection) agree.
    let mut c = common::wire::Conn::connect(
        s.router.addr,
        common::shard::USER,
        common::shard::PASSWORD,
        Some(common::shard::SCHEMA),
    )
    .expect("login");
    let st = c
        .prepare("SELECT COUNT(*) AS n FROM customer WHERE level > ? GROUP BY x ORDER BY n")
        .unwrap_or_else(|e| panic!("prepare: {e}\n{}", s.logs()));
    let rows = c
        .execute(st, 0, &[Some("0")], &[])
        .unwrap_or_else(|e| panic!("execute: {e}\n{}", s.logs()));
    assert_eq!(
        rows,
        vec![vec![Some("2".to_string())], vec![Some("3".to_string())]]
    );
    // DDL through the router drops the names read so far: inside the transaction they
    // are read again on the session's own connection.
    q("ALTER TABLE customer COMMENT 'customers'");
    c.query("BEGIN").expect("begin");
    c.query("UPDATE customer SET x = 5 WHERE id IN (1, 5000001)")
        .expect("update");
    let rows = c
        .query("SELECT COUNT(*) AS n, LEFT(city, 1) AS x FROM customer GROUP BY x ORDER BY n")
        .unwrap_or_else(|e| panic!("in a transaction: {e}\n{}", s.logs()));
    let ns: Vec<Option<String>> = rows.into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(
        ns,
        vec![Some("1".into()), Some("2".into()), Some("2".into())]
    );
    c.query("ROLLBACK").expect("rollback");

    // Dropped through the router: the alias again.
    q("ALTER TABLE customer DROP COLUMN x");
    assert_eq!(q(by_alias), want_alias);
    // Grouping on an aggregate's alias is the server's error.
    let e = s
        .q("SELECT city, COUNT(*) AS n FROM customer GROUP BY city, n")
        .expect_err("grouping on COUNT(*)");
    assert!(
        e.contains("1056") && e.contains("Can't group on 'n'"),
        "{e}"
    );
}

/// A server's error for a statement that runs on several nodes (a merged SELECT, a
/// multi-node UPDATE or INSERT) reaches the client with the server's SQLSTATE, as from
/// one server: drivers map SQLSTATEs to exception classes (JDBC's `23000` to
/// `SQLIntegrityConstraintViolationException`, `22001` to a data truncation); it was
/// `HY000` for all of them.
#[test]
fn errors_from_statements_on_several_nodes_keep_the_servers_sqlstate() {
    let s = Shard::start();
    let mut c = session(&s);
    c.exec("INSERT INTO customer (id, name) VALUES (1, 'a'), (6000000, 'b')")
        .unwrap_or_else(|e| panic!("insert: {e}\n{}", s.logs()));
    let long = "x".repeat(50);
    let cases = [
        (
            "SELECT nosuch FROM customer ORDER BY id".to_string(),
            1054,
            "42S22",
        ),
        (
            format!("UPDATE customer SET name = '{long}' WHERE id IN (1, 6000000)"),
            1406,
            "22001",
        ),
        (
            "INSERT INTO customer (id, name) VALUES (2, 'c'), (6000000, 'dup')".to_string(),
            1062,
            "23000",
        ),
    ];
    for (sql, code, state) in cases {
        let e = c.exec(&sql).expect_err(&sql);
        assert_eq!((e.code, e.state.as_str()), (code, state), "{sql}: {e}");
    }
    assert_eq!(s.on0("SELECT name FROM customer WHERE id = 1").trim(), "a");
}

/// A write that runs on several nodes reports one server's warnings: each node's
/// count added up (one copy's for a global table, whose copies all run it), and `SHOW
/// WARNINGS`, `SHOW COUNT(*) WARNINGS` and `@@warning_count` right after it list and
/// count every node's, not one node's share.
#[test]
fn warnings_of_a_write_on_several_nodes_are_all_listed() {
    let s = Shard::start();
    let mut c = session(&s);
    c.exec("SET SESSION sql_mode = ''")
        .unwrap_or_else(|e| panic!("sql_mode: {e}\n{}", s.logs()));
    c.exec("INSERT INTO customer (id, name) VALUES (1, 'a'), (2, 'b'), (6000000, 'c')")
        .unwrap_or_else(|e| panic!("insert: {e}\n{}", s.logs()));
    c.exec("INSERT INTO province (id, name) VALUES (1, 'p')")
        .unwrap_or_else(|e| panic!("insert: {e}\n{}", s.logs()));
    let long = "x".repeat(50);
    for (sql, n) in [
        // Two rows on dn0, one on dn1: each truncated (1265).
        (
            format!("UPDATE customer SET name = '{long}' WHERE id IN (1, 2, 6000000)"),
            3usize,
        ),
        // The global table: one row, on each copy.
        (
            format!("UPDATE province SET name = '{long}' WHERE id = 1"),
            1,
        ),
    ] {
        let (_, info) = c
            .exec(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", s.logs()));
        assert!(info.ends_with(&format!("Warnings: {n}")), "{sql}: {info}");
        for _ in 0..2 {
            let listed = c.query("SHOW WARNINGS").expect("show warnings");
            assert_eq!(listed.len(), n, "{sql}: {listed:?}");
            assert!(
                listed.iter().all(|w| w[1].as_deref() == Some("1265")
                    && w[2]
                        .as_deref()
                        .is_some_and(|m| m.starts_with("Data truncated for column 'name'"))),
                "{sql}: {listed:?}"
            );
            let count = c.query("SHOW COUNT(*) WARNINGS").expect("count");
            assert_eq!(count, vec![vec![Some(n.to_string())]], "{sql}");
            let count = c.query("SELECT @@warning_count").expect("count");
            assert_eq!(count, vec![vec![Some(n.to_string())]], "{sql}");
        }
    }
    // The next statement clears them.
    c.exec("UPDATE customer SET city = 'z' WHERE id IN (1, 6000000)")
        .expect("update without warnings");
    assert!(c.query("SHOW WARNINGS").expect("show warnings").is_empty());
}

/// Server-side prepared statements inside a transaction (Go's database/sql without
/// `interpolateParams`, mysql2's `execute()`, Connector/J `useServerPrepStmts`, PDO
/// without emulation): a COM_STMT_PREPARE, whose answer carries no transaction status,
/// left the transaction's connection in the pool with the transaction open; an execute
/// on the second node then ran in autocommit (committed at once) and the ROLLBACK was
/// answered by the router without reaching either node. Now both rows are rolled back,
/// and another session never runs inside this one's transaction.
#[test]
fn prepared_statements_inside_a_transaction_stay_in_it_on_every_node() {
    let s = Shard::start();
    let fail = |what: &str, e: common::wire::Err| -> ! { panic!("{what}: {e}\n{}", s.logs()) };
    let mut c = session(&s);
    let mut other = session(&s);
    c.exec("START TRANSACTION")
        .unwrap_or_else(|e| fail("begin", e));
    // As Go does: prepare, execute, close for each statement.
    for (id, other_id) in [("21", 22), ("5000021", 5000022)] {
        let st = c
            .prepare("INSERT INTO customer (id, name) VALUES (?, 'tx')")
            .unwrap_or_else(|e| fail("prepare", e));
        // Another session's autocommit write between the prepare and the execute
        // (it would take the transaction's connection, were it in the pool).
        other
            .exec(&format!(
                "INSERT INTO customer (id, name) VALUES ({other_id}, 'other')"
            ))
            .unwrap_or_else(|e| fail("other session's insert", e));
        c.execute(st, 0, &[Some(id)], &[])
            .unwrap_or_else(|e| fail("execute", e));
        c.close_stmt(st).unwrap_or_else(|e| fail("close", e));
    }
    // Inside the transaction both rows are seen, through a prepared SELECT too.
    let st = c
        .prepare("SELECT COUNT(*) FROM customer WHERE name = ?")
        .unwrap_or_else(|e| fail("prepare count", e));
    let rows = c
        .execute(st, 0, &[Some("tx")], &[])
        .unwrap_or_else(|e| fail("count", e));
    assert_eq!(rows.len(), 1, "{rows:?}");
    c.exec("ROLLBACK").unwrap_or_else(|e| fail("rollback", e));
    drop(other);
    let tx = "SELECT COUNT(*) FROM customer WHERE name = 'tx'";
    let others = "SELECT COUNT(*) FROM customer WHERE name = 'other'";
    assert_eq!(
        (s.on0(tx).trim(), s.on1(tx).trim()),
        ("0", "0"),
        "rolled back on both nodes\n{}",
        s.logs()
    );
    assert_eq!(
        (s.on0(others).trim(), s.on1(others).trim()),
        ("1", "1"),
        "the other session's rows are committed\n{}",
        s.logs()
    );
    // The session goes on: a new transaction may set its isolation level (the server
    // refused that while the old transaction was open on the connection).
    c.exec("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        .unwrap_or_else(|e| fail("set transaction", e));
    c.exec("START TRANSACTION")
        .unwrap_or_else(|e| fail("begin", e));
    c.exec("COMMIT").unwrap_or_else(|e| fail("commit", e));
}

/// A quoted value of an integer sharding column is placed where the server stores it:
/// `' 5000007'`, `'+5000008'`, `'0005000009'`, `'5000010\r'`, `'5000011.0'` are the
/// integers 5000007.. on the node `WHERE id = 5000007` reads (text and prepared INSERTs,
/// multi-row, and the WHERE of SELECT/UPDATE/DELETE). A value the server would round,
/// or that is no number, is refused with 1105 and nothing is written.
#[test]
fn quoted_integer_sharding_values_land_where_the_server_reads_them() {
    let s = Shard::start();
    let q = |sql: &str| {
        s.q(sql)
            .map_err(|e| format!("{e}\n{}", s.logs()))
            .expect(sql)
    };
    q("INSERT INTO customer (id, name) VALUES (' 5000007', 'a')");
    q(
        "INSERT INTO customer (id, name) VALUES ('+5000008', 'b'), ('0005000009', 'c'), (' 7 ', 'd')",
    );
    q("INSERT INTO customer (id, name) VALUES ('5000010\\r', 'e'), ('5000011.0', 'f')");
    let mut c = session(&s);
    let ins = c
        .prepare("INSERT INTO customer (id, name) VALUES (?, ?)")
        .unwrap_or_else(|e| panic!("prepare: {e}\n{}", s.logs()));
    c.execute(ins, 0, &[Some(" 05000012"), Some("g")], &[])
        .unwrap_or_else(|e| panic!("execute: {e}\n{}", s.logs()));
    assert_eq!(
        s.on1("SELECT id FROM customer ORDER BY id"),
        "5000007\n5000008\n5000009\n5000010\n5000011\n5000012"
    );
    assert_eq!(s.on0("SELECT id FROM customer ORDER BY id"), "7");
    // Reads and writes by such values reach the row.
    assert_eq!(q("SELECT name FROM customer WHERE id = ' 5000007'"), "a");
    assert_eq!(
        sorted(&q(
            "SELECT name FROM customer WHERE id IN ('+5000008', '07')"
        )),
        ["b", "d"]
    );
    assert_eq!(
        s.affected("UPDATE customer SET city = 'x' WHERE id = '0005000009 '")
            .unwrap_or_else(|e| panic!("{e}\n{}", s.logs())),
        1
    );
    assert_eq!(s.on1("SELECT city FROM customer WHERE id = 5000009"), "x");
    assert_eq!(
        s.affected("DELETE FROM customer WHERE id = ' +5000010'")
            .unwrap_or_else(|e| panic!("{e}\n{}", s.logs())),
        1
    );
    // Not a whole number, not a number: refused, nothing written.
    let before = customers(&s);
    for v in ["5000013.5", "abc", "", "- 5000013"] {
        let sql = format!("INSERT INTO customer (id, name) VALUES ('{v}', 'z')");
        let e = s.q(&sql).expect_err(&sql);
        assert!(
            e.contains("1105") && e.contains("integer sharding column `id`"),
            "{sql}: {e}"
        );
    }
    match c.execute(ins, 0, &[Some("5000013.5"), Some("z")], &[]) {
        Err(e) => assert!(
            e.code == 1105 && e.msg.contains("not a whole number"),
            "{e}"
        ),
        Ok(r) => panic!("a value the server would round was placed: {r:?}"),
    }
    assert_eq!(customers(&s), before);
}

/// The table of [`binary_parameters_reaching_several_nodes_are_the_servers_bytes`]:
/// `audit` (mod-long on id) with binary and latin1/utf8mb4 text columns.
const BIN_AUDIT: &str = "CREATE TABLE audit (id BIGINT PRIMARY KEY, b BLOB, vb VARBINARY(20), bn BINARY(4), l VARCHAR(20) CHARACTER SET latin1, u VARCHAR(20) CHARACTER SET utf8mb4, lt TEXT CHARACTER SET latin1, ut TEXT CHARACTER SET utf8mb4) ENGINE=InnoDB;";

/// MYSQL_TYPE_LONGLONG, MYSQL_TYPE_STRING (Go's `[]byte`), MYSQL_TYPE_BLOB
/// (Connector/J's `setBytes`).
const LONGLONG: u8 = 0x08;
const STRING: u8 = 0xfe;
const BLOB: u8 = 0xfc;

/// The statements of the binary-parameter test, run on one connection (the router's or
/// the reference server's); a transcript of what each gave.
fn binary_parameter_steps(c: &mut common::wire::Conn) -> Vec<String> {
    let id = |n: i64| n.to_le_bytes();
    let mut out = Vec::new();
    let mut step = |c: &mut common::wire::Conn, sql: &str, vals: &[(u8, Option<&[u8]>)]| {
        let r = c
            .prepare(sql)
            .and_then(|st| c.execute_typed(st, vals))
            .map_err(|e| e.code);
        out.push(format!("{sql}: {r:?}"));
    };
    let (i1, i2, i3, i4) = (id(1), id(2), id(3), id(4));
    // A utf8mb4 client: bytes that are not UTF-8 into binary columns (ids 1 and 2 are
    // on different nodes), a BLOB parameter into a latin1 column.
    step(
        c,
        "INSERT INTO audit (id, b, vb, bn, l) VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)",
        &[
            (LONGLONG, Some(&i1)),
            (STRING, Some(b"\xe9\x00\xff")),
            (STRING, Some(b"\x80a\xff")),
            (STRING, Some(b"\xe9")),
            (BLOB, Some(b"\xe9A")),
            (LONGLONG, Some(&i2)),
            (BLOB, Some(b"\xfe\x01")),
            (STRING, Some(b"ok")),
            (STRING, Some(b"\xc3\x28")),
            (STRING, Some(b"plain")),
        ],
    );
    step(
        c,
        "SELECT id FROM audit WHERE b = ? ORDER BY id",
        &[(STRING, Some(b"\xe9\x00\xff"))],
    );
    step(
        c,
        "SELECT id, HEX(bn) FROM audit WHERE vb IN (?, ?) ORDER BY id",
        &[(STRING, Some(b"\x80a\xff")), (STRING, Some(b"ok"))],
    );
    step(
        c,
        "SELECT id FROM audit WHERE ? = bn OR b = ? ORDER BY id",
        &[(STRING, Some(b"\xc3\x28\x00\x00")), (BLOB, Some(b"\xff"))],
    );
    step(
        c,
        "UPDATE audit SET b = ?, bn = ? WHERE vb = ?",
        &[
            (STRING, Some(b"\xff\xfe")),
            (STRING, Some(b"\x81")),
            (STRING, Some(b"\x80a\xff")),
        ],
    );
    // A latin1 client: its strings are latin1, stored converted into utf8mb4 columns.
    out.push(format!(
        "SET NAMES latin1: {:?}",
        c.exec("SET NAMES latin1").map_err(|e| e.code)
    ));
    let mut step = |c: &mut common::wire::Conn, sql: &str, vals: &[(u8, Option<&[u8]>)]| {
        let r = c
            .prepare(sql)
            .and_then(|st| c.execute_typed(st, vals))
            .map_err(|e| e.code);
        out.push(format!("{sql}: {r:?}"));
    };
    step(
        c,
        "INSERT INTO audit (id, l, u, lt, ut, vb) VALUES (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?)",
        &[
            (LONGLONG, Some(&i3)),
            (STRING, Some(b"caf\xe9")),
            (STRING, Some(b"caf\xe9")),
            (STRING, Some(b"\xfc\xdf")),
            (STRING, Some(b"\xfc\xdf")),
            (STRING, Some(b"\xe9")),
            (LONGLONG, Some(&i4)),
            (STRING, Some(b"\xc3\xa9")),
            (STRING, Some(b"\xc3\xa9")),
            (STRING, None),
            (STRING, Some(b"x")),
            (STRING, Some(b"\xe9\xe9")),
        ],
    );
    step(
        c,
        "SELECT id FROM audit WHERE l = ? OR u IN (?, ?) ORDER BY id",
        &[
            (STRING, Some(b"CAF\xc9")),
            (STRING, Some(b"\xc3\xa9")),
            (STRING, Some(b"nothing\xff")),
        ],
    );
    step(
        c,
        "DELETE FROM audit WHERE vb = ? OR ut = ?",
        &[(STRING, Some(b"\xe9\xe9")), (STRING, Some(b"zz\xe0"))],
    );
    out.push(format!(
        "SET NAMES utf8mb4: {:?}",
        c.exec("SET NAMES utf8mb4").map_err(|e| e.code)
    ));
    out.push(format!(
        "contents: {:?}",
        c.query("SELECT id, HEX(b), HEX(vb), HEX(bn), HEX(l), HEX(u), HEX(lt), HEX(ut) FROM audit ORDER BY id")
            .map_err(|e| e.code)
    ));
    out
}

/// A prepared statement that reaches several data nodes runs there as text with its
/// parameters written in: string parameters whose bytes are not UTF-8 (Go's `[]byte`),
/// and BLOB parameters, are written so that the servers store and compare the same
/// bytes as a direct prepared statement (INSERT into BLOB/VARBINARY/BINARY and latin1
/// columns, SELECT with `=`/`IN`, UPDATE, DELETE; a latin1 client's strings converted
/// into utf8mb4 columns). Where a utf8 client's malformed string would go to a text
/// column, which the server refuses, the router refuses too, and writes nothing.
#[test]
fn binary_parameters_reaching_several_nodes_are_the_servers_bytes() {
    let s = Shard::start_with_ddl(&format!("{}{BIN_AUDIT}", common::shard::DDL));
    s.a.sql(&format!("CREATE DATABASE binref; USE binref; {BIN_AUDIT}"));
    let mut direct =
        common::wire::Conn::connect(s.a.addr, "root", "", Some("binref")).expect("direct login");
    let mut routed = session(&s);
    let want = binary_parameter_steps(&mut direct);
    let got = binary_parameter_steps(&mut routed);
    // The reference did what the test means (rows 1 and 2 inserted, matched by their
    // bytes; rows 3 and 4 latin1 converted).
    assert!(want.iter().all(|l| !l.contains("Err(")), "{want:#?}");
    assert!(want[1].ends_with("Ok([[Some(\"1\")]])"), "{want:#?}");
    assert!(
        want.last().is_some_and(|l| l.contains("\"636166C3A9\"")),
        "{want:#?}"
    );
    assert_eq!(got, want, "{}", s.logs());
    // The rows are on both nodes.
    assert_eq!(s.on0("SELECT id FROM audit ORDER BY id").trim(), "2");
    assert_eq!(s.on1("SELECT id FROM audit ORDER BY id").trim(), "1\n3");

    // A utf8mb4 client's malformed string into text columns on two nodes: the server
    // refuses it (1366), the router refuses to guess (1105), nothing is written.
    for col in ["u", "l"] {
        let sql = format!("INSERT INTO audit (id, {col}) VALUES (?, ?), (?, ?)");
        let vals: [(u8, Option<&[u8]>); 4] = [
            (LONGLONG, Some(&7i64.to_le_bytes())),
            (STRING, Some(b"\xe9")),
            (LONGLONG, Some(&8i64.to_le_bytes())),
            (STRING, Some(b"x")),
        ];
        let d = direct
            .prepare(&sql)
            .and_then(|st| direct.execute_typed(st, &vals));
        assert_eq!(d.map_err(|e| e.code), Err(1366), "{sql}");
        let st = routed.prepare(&sql).expect("prepare through the router");
        let e = routed.execute_typed(st, &vals).expect_err(&sql);
        assert_eq!(e.code, 1105, "{e}");
        assert!(
            e.msg.contains("parameter 2")
                && e.msg
                    .contains(&format!("column {col}, which is not binary")),
            "{e}"
        );
    }
    assert_eq!(
        routed
            .value("SELECT COUNT(*) FROM audit WHERE id IN (7, 8)")
            .expect("count"),
        Some("0".into())
    );
    // The session goes on.
    assert_eq!(
        routed.value("SELECT COUNT(*) FROM audit").expect("count"),
        Some("3".into())
    );
}

/// A text `LIMIT '3'` (or a quoted OFFSET) over several nodes is the server's syntax
/// error (1064, the same message); a prepared statement's `LIMIT ?` executed with a
/// string still takes it as the row count, as the server does.
#[test]
fn a_quoted_limit_in_a_text_query_is_a_syntax_error_as_on_the_server() {
    let s = Shard::start();
    s.q(
        "INSERT INTO customer (id, name) VALUES (1, 'a'), (2, 'b'), (5000001, 'c'), (5000002, 'd')",
    )
    .expect("insert");
    let mut direct =
        common::wire::Conn::connect(s.a.addr, "root", "", Some("shop_0")).expect("direct login");
    let mut c = session(&s);
    for sql in [
        "SELECT id FROM customer ORDER BY id LIMIT '3'",
        "SELECT id FROM customer ORDER BY id LIMIT 2 OFFSET '1'",
        "SELECT id FROM customer ORDER BY id LIMIT '1', 2",
        "SELECT id\nFROM customer\nLIMIT \"3\"",
    ] {
        let want = direct.query(sql).expect_err(sql);
        assert_eq!(want.code, 1064, "{want}");
        let got = c.query(sql).expect_err(sql);
        assert_eq!(got, want, "{sql}");
    }
    // Unquoted, across both nodes.
    assert_eq!(
        c.query("SELECT id FROM customer ORDER BY id LIMIT 1, 2")
            .expect("limit"),
        vec![
            vec![Some("2".to_string())],
            vec![Some("5000001".to_string())]
        ]
    );
    // Prepared, executed with a string: a row count.
    let st = c
        .prepare("SELECT id FROM customer ORDER BY id LIMIT ? OFFSET ?")
        .expect("prepare");
    assert_eq!(
        c.execute(st, 0, &[Some("2"), Some("1")], &[])
            .expect("execute"),
        vec![
            vec![Some("2".to_string())],
            vec![Some("5000001".to_string())]
        ]
    );
}

/// With `local_infile: false` on the router (the servers have it ON), every way a
/// client reads the variable gives the router's setting, as `SELECT @@local_infile`
/// and text SHOW VARIABLES do: with other select items (the column keeps its name), a
/// prepared SHOW VARIABLES, information_schema.GLOBAL_VARIABLES / SESSION_VARIABLES.
/// Other variables stay the server's.
#[test]
fn local_infile_reads_as_the_routers_setting_everywhere() {
    let (a, b) = common::shard::two_servers();
    a.sql(&format!(
        "CREATE DATABASE shop_0; USE shop_0; {}",
        common::shard::DDL
    ));
    b.sql(&format!(
        "CREATE DATABASE shop_1; USE shop_1; {}",
        common::shard::DDL
    ));
    let router = common::shard::start_router(&router_body(a.addr, b.addr).replacen(
        "  users:\n",
        "  local_infile: false\n  users:\n",
        1,
    ));
    let m = Mysql::new(router.addr, USER, PASSWORD).db(SCHEMA).header();
    let direct = Mysql::new(a.addr, "root", "").db("shop_0").header();
    let run = |m: &Mysql, sql: &str| {
        m.run(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", router.daemon.logs()))
            .trim()
            .to_string()
    };
    assert_eq!(
        run(&direct, "SELECT @@local_infile, 1"),
        "@@local_infile\t1\n1\t1"
    );
    assert_eq!(
        run(&m, "SELECT @@local_infile, 1"),
        "@@local_infile\t1\n0\t1"
    );
    assert_eq!(
        run(
            &m,
            "SELECT IF(@@GLOBAL.local_infile, 'y', 'n') AS f, @@local_infile + 0, COUNT(*) FROM customer WHERE @@local_infile = 0"
        ),
        "f\t@@local_infile + 0\tCOUNT(*)\nn\t0\t0"
    );
    for t in ["GLOBAL_VARIABLES", "SESSION_VARIABLES"] {
        let sql = format!(
            "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.{t} WHERE VARIABLE_NAME IN ('LOCAL_INFILE', 'LOWER_CASE_TABLE_NAMES') ORDER BY VARIABLE_NAME"
        );
        assert_eq!(
            run(&direct, &sql),
            "VARIABLE_NAME\tVARIABLE_VALUE\nLOCAL_INFILE\tON\nLOWER_CASE_TABLE_NAMES\t0"
        );
        assert_eq!(
            run(&m, &sql),
            "VARIABLE_NAME\tVARIABLE_VALUE\nLOCAL_INFILE\tOFF\nLOWER_CASE_TABLE_NAMES\t0",
            "{sql}"
        );
    }
    assert_eq!(
        run(
            &m,
            "SELECT v.VARIABLE_VALUE FROM INFORMATION_SCHEMA.GLOBAL_VARIABLES v WHERE v.VARIABLE_NAME = 'local_infile'"
        ),
        "VARIABLE_VALUE\nOFF"
    );
    // Prepared (Connector/J with useServerPrepStmts, mysql2's execute()).
    let mut c =
        common::wire::Conn::connect(router.addr, USER, PASSWORD, Some(SCHEMA)).expect("login");
    let st = c
        .prepare("SELECT @@local_infile, ? + 1, VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME = 'LOCAL_INFILE'")
        .expect("prepare");
    assert_eq!(
        c.execute(st, 0, &[Some("1")], &[]).expect("execute"),
        vec![vec![
            Some("0".to_string()),
            Some("2".to_string()),
            Some("OFF".to_string())
        ]]
    );
    let st = c
        .prepare("SHOW VARIABLES LIKE 'local_infile'")
        .expect("prepare");
    assert_eq!(st.columns, 2);
    assert_eq!(
        c.execute(st, 0, &[], &[]).expect("execute"),
        vec![vec![
            Some("local_infile".to_string()),
            Some("OFF".to_string())
        ]]
    );
    let st = c
        .prepare("SHOW VARIABLES WHERE Variable_name IN ('local_infile', 'lower_case_table_names')")
        .expect("prepare");
    assert_eq!(
        c.execute(st, 0, &[], &[]).expect("execute"),
        vec![
            vec![Some("local_infile".to_string()), Some("OFF".to_string())],
            vec![
                Some("lower_case_table_names".to_string()),
                Some("0".to_string())
            ]
        ]
    );
}

/// Each case (prepared text, parameter values, whether the order is defined), prepared
/// and executed with its values, answers the rows and column types of the text
/// statement with the values written in; the text answer must not be empty.
fn prepared_like_text(c: &mut common::wire::Conn, s: &Shard, cases: &[(&str, Vec<&str>, bool)]) {
    for (sql, vals, ordered) in cases {
        let mut text = sql.to_string();
        for v in vals {
            text = text.replacen('?', v, 1);
        }
        let mut want = c
            .query(&text)
            .unwrap_or_else(|e| panic!("{text}: {e}\n{}", s.logs()));
        let want_types = c.last_types.clone();
        assert!(!want.is_empty(), "{text}: no rows");
        let st = c
            .prepare(sql)
            .unwrap_or_else(|e| panic!("prepare {sql}: {e}\n{}", s.logs()));
        let args: Vec<Option<&str>> = vals.iter().map(|v| Some(*v)).collect();
        let mut got = c
            .execute(st, 0, &args, &[])
            .unwrap_or_else(|e| panic!("execute {sql}: {e}\n{}", s.logs()));
        if !ordered {
            want.sort();
            got.sort();
        }
        assert_eq!(got, want, "{sql} with {vals:?}");
        assert_eq!(c.last_types, want_types, "{sql}: column types");
        c.close_stmt(st).expect("close");
    }
}

/// UNION over both nodes (MyCat report queries: `orders ... UNION ALL orders_archive
/// ...`): prepared with parameters in several SELECTs, each execute merged as the text
/// query with its values is (binary rows, the same column types), or run on one node
/// when its values place every SELECT there; EXPLAIN shows each node's text; a node's
/// error (column counts differ) reaches the client as the server gives it; of values
/// the collation takes as one, UNION shows the first SELECT's.
#[test]
fn prepared_unions_over_both_nodes_merge_like_the_text_query() {
    let s = Shard::start();
    let q = |sql: &str| s.ok(sql);
    q("INSERT INTO customer (id, name, city, level) VALUES
       (1, 'Ann', 'Wuhan', 3), (2, 'bob', NULL, 7), (3, 'ZOE', 'Xian', NULL),
       (5000001, 'ann', 'wuhan', 3), (5000002, 'Carl', 'Xian', 9), (5000003, 'zoe', NULL, 1)");
    q(
        "INSERT INTO product (id, name, category, price, stock) VALUES
       (1, 'red cup', 'home', 2.50, 3), (2, 'blue cup', 'home', 3.00, NULL),
       (3, 'ann', 'toys', 9.99, 7), (4, 'kite', NULL, 12.00, 1)",
    );
    q(
        "INSERT INTO province (id, name, region) VALUES (1, 'Hubei', 'central'), (2, 'Shaanxi', NULL)",
    );
    let mut c =
        common::wire::Conn::connect(s.router.addr, USER, PASSWORD, Some(SCHEMA)).expect("login");
    // (prepared text, parameter values, whether the order is defined)
    let cases: Vec<(&str, Vec<&str>, bool)> = vec![
        (
            "SELECT id, name FROM customer WHERE id = ? UNION ALL SELECT id, name FROM customer WHERE id = ? ORDER BY id",
            vec!["1", "5000002"],
            true,
        ),
        (
            "SELECT id, name, level FROM customer WHERE id > ? UNION ALL SELECT id, name, stock FROM product WHERE price < ? ORDER BY 3 DESC, 1, 2 LIMIT ? OFFSET ?",
            vec!["0", "10", "4", "1"],
            true,
        ),
        (
            "SELECT name FROM customer WHERE level >= ? UNION SELECT name FROM product WHERE id <> ? UNION SELECT name FROM province WHERE id = ? ORDER BY name",
            vec!["1", "4", "1"],
            true,
        ),
        (
            "SELECT city FROM customer WHERE id < ? UNION SELECT category FROM product WHERE stock > ?",
            vec!["9000000", "0"],
            false,
        ),
        // INTERSECT / EXCEPT across nodes.
        (
            "SELECT id FROM customer WHERE id > ? INTERSECT SELECT id FROM product WHERE price < ? ORDER BY 1",
            vec!["0", "10"],
            true,
        ),
        (
            "SELECT level FROM customer WHERE id > ? EXCEPT SELECT stock FROM product WHERE id <> ? ORDER BY 1 DESC",
            vec!["1", "4"],
            true,
        ),
        // Every SELECT on dn1: runs there as prepared.
        (
            "SELECT id, name FROM customer WHERE id = ? UNION ALL SELECT id, name FROM customer WHERE id = ? ORDER BY id",
            vec!["5000001", "5000003"],
            true,
        ),
    ];
    prepared_like_text(&mut c, &s, &cases);
    let some = |v: &[&str]| -> Vec<Option<String>> {
        v.iter()
            .map(|x| (*x != "NULL").then(|| x.to_string()))
            .collect()
    };
    // The values, spelled out: levels and stocks merged in order, NULL last descending.
    assert_eq!(
        c.query(
            "SELECT id, name, level FROM customer WHERE id > 0 UNION ALL SELECT id, name, stock FROM product WHERE price < 10 ORDER BY 3 DESC, 1, 2 LIMIT 4 OFFSET 1"
        )
        .expect("union all"),
        vec![
            some(&["2", "bob", "7"]),
            some(&["3", "ann", "7"]),
            some(&["1", "Ann", "3"]),
            some(&["1", "red cup", "3"]),
        ]
    );
    // INTERSECT: customers 1, 2, 3 and products 1, 2, 3 below 10; EXCEPT: levels 7,
    // NULL, 3, 9, 1 (ids above 1) without stocks 3, NULL, 7 (NULLs are equal there).
    assert_eq!(
        q(
            "SELECT id FROM customer WHERE id > 0 INTERSECT SELECT id FROM product WHERE price < 10 ORDER BY 1"
        ),
        "1\n2\n3"
    );
    assert_eq!(
        q(
            "SELECT level FROM customer WHERE id > 1 EXCEPT SELECT stock FROM product WHERE id <> 4 ORDER BY 1 DESC"
        ),
        "9\n1"
    );
    // UNION: 'Ann' (dn0, first SELECT) and 'ann' (dn1, first SELECT; product 3, second
    // SELECT) are one value under utf8mb4_general_ci; the first SELECT's rows come first.
    let names = q(
        "SELECT name FROM customer WHERE id = 5000001 UNION SELECT name FROM customer WHERE id = 1 UNION SELECT name FROM product WHERE id = 3",
    );
    assert_eq!(names, "ann");
    let names = q(
        "SELECT name FROM product WHERE id = 3 UNION SELECT UPPER(name) FROM customer WHERE id IN (1, 5000001)",
    );
    assert_eq!(names, "ann");
    // EXPLAIN: each node's text; the SELECT whose rows are elsewhere made false there.
    let plan = q(
        "EXPLAIN SELECT id FROM customer WHERE id = 1 UNION ALL SELECT id FROM customer WHERE id = 5000001",
    );
    assert_eq!(
        plan,
        "dn0\tSELECT id FROM customer WHERE id = 1 UNION ALL SELECT id FROM customer WHERE ( id = 5000001) AND 0\n\
         dn1\tSELECT id FROM customer WHERE ( id = 1) AND 0 UNION ALL SELECT id FROM customer WHERE id = 5000001"
    );
    // The nodes' own error (code, SQLSTATE, text), naming the node.
    let e = c
        .query("SELECT id, name FROM customer UNION ALL SELECT id FROM product")
        .expect_err("column counts differ");
    assert!(
        e.code == 1222
            && e.msg
                .starts_with("The used SELECT statements have a different number of columns"),
        "{e}"
    );
    // Refused with a reason, nothing guessed.
    let e = c
        .query("SELECT level, COUNT(*) FROM customer GROUP BY level UNION ALL SELECT stock, 1 FROM product")
        .expect_err("GROUP BY in a SELECT of the UNION");
    assert!(e.code == 1105 && e.msg.contains("GROUP BY"), "{e}");
    let st = c
        .prepare(
            "SELECT id FROM customer WHERE id > ? INTERSECT ALL SELECT id FROM product WHERE id > ?",
        )
        .expect_err("INTERSECT ALL");
    assert!(st.code == 1105 && st.msg.contains("INTERSECT"), "{st}");
}

/// A UNION whose SELECTs give a text column in two collations (latin1 here, utf8mb4 in
/// the other): one server converts both to the collation the UNION derives before it
/// compares; the router, comparing each node's weights, cannot, so ORDER BY / UNION
/// DISTINCT over it is an error, never rows compared in the wrong collation. UNION ALL
/// without ORDER BY compares nothing and is answered.
#[test]
fn union_of_text_in_two_collations_is_an_error_not_a_wrong_order() {
    let ddl = format!(
        "{} CREATE TABLE audit (id INT NOT NULL PRIMARY KEY, label VARCHAR(20) CHARACTER SET latin1 NULL) ENGINE=InnoDB;",
        common::shard::DDL
    );
    let s = Shard::start_with_ddl(&ddl);
    s.q("INSERT INTO customer (id, name) VALUES (1, 'A'), (5000001, 'b')")
        .expect("customers");
    s.q("INSERT INTO audit (id, label) VALUES (1, 'Å'), (2, 'c')")
        .expect("audit");
    for sql in [
        "SELECT name FROM customer UNION SELECT label FROM audit",
        "SELECT name FROM customer UNION ALL SELECT label FROM audit ORDER BY 1",
    ] {
        let e = s.q(sql).expect_err(sql);
        assert!(
            e.contains("1105") && e.contains("latin1_swedish_ci"),
            "{sql}: {e}"
        );
    }
    let all = s
        .q("SELECT name FROM customer UNION ALL SELECT label FROM audit")
        .unwrap_or_else(|e| panic!("{e}\n{}", s.logs()));
    assert_eq!(sorted(&all), ["A", "b", "c", "Å"]);
    // Made to agree in each SELECT: merged.
    let agreed = s
        .q("SELECT name FROM customer UNION SELECT CONVERT(label USING utf8mb4) COLLATE utf8mb4_general_ci FROM audit ORDER BY 1")
        .unwrap_or_else(|e| panic!("{e}\n{}", s.logs()));
    assert_eq!(agreed, "A\nb\nc");
}

/// GROUP_CONCAT over both nodes answers what one server holding all rows answers:
/// element order (ORDER BY inside, by collation, DESC), NULL arguments skipped, a group
/// of NULLs is NULL, DISTINCT by collation ('a' = 'A'), multi-byte values, separators,
/// the column type, and `group_concat_max_len` (set by the client) cutting the value at
/// a character boundary with one warning per cut row. Text and prepared statements; a
/// `?` inside GROUP_CONCAT is refused at prepare.
#[test]
fn group_concat_over_both_nodes_is_one_servers_value() {
    let table = "CREATE TABLE audit (id INT NOT NULL PRIMARY KEY, grp VARCHAR(10) NOT NULL, label VARCHAR(40) NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;";
    let ddl = format!("{} {table}", common::shard::DDL);
    let s = Shard::start_with_ddl(&ddl);
    let rows = [
        (1, "a", Some("a")),
        (2, "a", Some("A")),
        (3, "a", Some("é")),
        (4, "a", Some("中文字")),
        (5, "a", None),
        (6, "a", Some("b")),
        (7, "b", Some("ßx")),
        (8, "b", Some("zz")),
        (9, "b", Some("😀")),
        (10, "b", None),
        (11, "c", None),
        (12, "a", Some("a")),
    ];
    let values = |odd: Option<bool>| -> String {
        rows.iter()
            .filter(|(id, _, _)| odd.is_none_or(|o| (id % 2 == 1) == o))
            .map(|(id, g, l)| {
                format!(
                    "({id}, '{g}', {})",
                    l.map_or("NULL".into(), |l| format!("'{l}'"))
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    // mod-long 2 on id: even ids on dn0, odd ones on dn1; the reference holds all.
    s.on0(&format!(
        "SET NAMES utf8mb4; INSERT INTO audit VALUES {}",
        values(Some(false))
    ));
    s.on1(&format!(
        "SET NAMES utf8mb4; INSERT INTO audit VALUES {}",
        values(Some(true))
    ));
    s.a.sql(&format!(
        "SET NAMES utf8mb4; CREATE DATABASE gc_ref; USE gc_ref; {table} INSERT INTO audit VALUES {}",
        values(None)
    ));
    let mut c = session(&s);
    let mut r =
        common::wire::Conn::connect(s.a.addr, "root", "", Some("gc_ref")).expect("reference login");
    let lower = |rows: common::wire::Rows| -> common::wire::Rows {
        rows.into_iter()
            .map(|r| r.into_iter().map(|v| v.map(|v| v.to_lowercase())).collect())
            .collect()
    };
    let exact = [
        "SELECT grp, GROUP_CONCAT(label ORDER BY id) FROM audit GROUP BY grp ORDER BY grp",
        "SELECT grp, GROUP_CONCAT(label ORDER BY label DESC, id SEPARATOR ' · ') AS g FROM audit GROUP BY grp ORDER BY grp",
        "SELECT GROUP_CONCAT(label, '/', id ORDER BY id DESC SEPARATOR ''), COUNT(*) FROM audit",
        "SELECT grp, GROUP_CONCAT(DISTINCT id % 3 ORDER BY id % 3 DESC) FROM audit GROUP BY grp ORDER BY grp",
        "SELECT GROUP_CONCAT(label ORDER BY id) FROM audit WHERE label IS NULL",
        "SELECT grp, GROUP_CONCAT(label ORDER BY id) FROM audit WHERE id > 100 GROUP BY grp",
    ];
    for limit in [None, Some(8)] {
        if let Some(l) = limit {
            let set = format!("SET SESSION group_concat_max_len = {l}");
            c.query(&set).expect("set through the router");
            r.query(&set).expect("set on the reference");
        }
        for sql in exact {
            let want = r
                .query(sql)
                .unwrap_or_else(|e| panic!("reference {sql}: {e}"));
            let (want_types, want_warnings) = (r.last_types.clone(), r.last_warnings);
            let got = c
                .query(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", s.logs()));
            assert_eq!(got, want, "{sql} (limit {limit:?})");
            assert_eq!(
                c.last_types, want_types,
                "{sql} (limit {limit:?}): column types"
            );
            assert_eq!(
                c.last_warnings, want_warnings,
                "{sql} (limit {limit:?}): warnings"
            );
        }
        if limit.is_some() {
            // 'a,A,é,中' is 10 bytes: cut to 8 would split '中'; 'ßx,zz,😀' too.
            let got = c.query(exact[0]).expect("cut values");
            assert_eq!(got[0][1].as_deref(), Some("a,A,é,"), "{got:?}");
            assert_eq!(got[1][1].as_deref(), Some("ßx,zz,"), "{got:?}");
            assert_eq!(c.last_warnings, 2);
        }
        // DISTINCT by collation: 'a' and 'A' are one element, either spelling.
        let sql = "SELECT grp, GROUP_CONCAT(DISTINCT label ORDER BY label) FROM audit GROUP BY grp ORDER BY grp";
        let want = r.query(sql).expect("reference");
        let got = c
            .query(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", s.logs()));
        assert_eq!(lower(got), lower(want), "{sql} (limit {limit:?})");
        // No ORDER BY inside: the elements in any order, cut to the same length.
        let sql = "SELECT grp, GROUP_CONCAT(label) FROM audit GROUP BY grp ORDER BY grp";
        let want = r.query(sql).expect("reference");
        let want_warnings = r.last_warnings;
        let got = c
            .query(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", s.logs()));
        assert_eq!(
            c.last_warnings, want_warnings,
            "{sql} (limit {limit:?}): warnings"
        );
        assert_eq!(got.len(), want.len(), "{sql}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g[0], w[0]);
            match limit {
                None => {
                    let elems = |v: &Option<String>| {
                        let mut e: Vec<String> = v
                            .iter()
                            .flat_map(|v| v.split(','))
                            .map(str::to_string)
                            .collect();
                        e.sort();
                        e
                    };
                    assert_eq!(elems(&g[1]), elems(&w[1]), "{sql}: {g:?} vs {w:?}");
                }
                Some(l) => {
                    let v = g[1].clone().unwrap_or_default();
                    let full = w[1].clone().unwrap_or_default();
                    assert!(
                        v.len() <= l && (v.len() + 3 >= l || v.len() == full.len()),
                        "{sql}: {g:?} vs {w:?}"
                    );
                }
            }
        }
        // Prepared: the same values in binary rows.
        let sql = "SELECT grp, GROUP_CONCAT(label, '/', id ORDER BY label, id SEPARATOR ';') FROM audit WHERE id > ? GROUP BY grp ORDER BY grp";
        let want = r.query(&sql.replace('?', "'1'")).expect("reference");
        let want_warnings = r.last_warnings;
        let st = c
            .prepare(sql)
            .unwrap_or_else(|e| panic!("prepare {sql}: {e}\n{}", s.logs()));
        let got = c
            .execute(st, 0, &[Some("1")], &[])
            .unwrap_or_else(|e| panic!("execute {sql}: {e}\n{}", s.logs()));
        assert_eq!(got, want, "prepared {sql} (limit {limit:?})");
        assert_eq!(c.last_warnings, want_warnings, "prepared {sql}: warnings");
        c.close_stmt(st).expect("close");
    }
    // After a statement merged from both nodes, SHOW WARNINGS, SHOW COUNT(*) WARNINGS
    // and @@warning_count read the router's diagnostics: the GROUP_CONCAT cuts it
    // counted, as one server lists them (its rows numbered by the merged rows), kept by
    // those statements and cleared by the next one. The nodes' warnings about the
    // router's rewrite (here 1292 for its sort keys) are not shown.
    let codes = |rows: common::wire::Rows| -> Vec<(Option<String>, Option<String>)> {
        rows.into_iter()
            .map(|r| (r.first().cloned().flatten(), r.get(1).cloned().flatten()))
            .collect()
    };
    c.query("SET SESSION group_concat_max_len = 8")
        .expect("set");
    r.query("SET SESSION group_concat_max_len = 8")
        .expect("set");
    for sql in [exact[0], exact[2]] {
        r.query(sql).expect("reference");
        let want_warnings = r.last_warnings;
        c.query(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", s.logs()));
        assert_eq!(c.last_warnings, want_warnings, "{sql}: warnings");
        assert!(want_warnings > 0, "{sql}: the test wants warnings");
        for _ in 0..2 {
            let listed = c.query("SHOW WARNINGS").expect("show warnings");
            let want_listed = r.query("SHOW WARNINGS").expect("reference show warnings");
            assert_eq!(codes(listed.clone()), codes(want_listed), "{sql}");
            assert!(
                listed.iter().all(|w| w[2].as_deref().is_some_and(
                    |m| m.starts_with("Row ") && m.ends_with(" was cut by GROUP_CONCAT()")
                )),
                "{listed:?}"
            );
            for diag in ["SHOW COUNT(*) WARNINGS", "SELECT @@warning_count"] {
                let got = c.query(diag).expect("count");
                let want = r.query(diag).expect("reference count");
                assert_eq!(got, want, "{sql}: {diag}");
            }
        }
        assert_eq!(c.query("SHOW WARNINGS LIMIT 1").expect("limit").len(), 1);
    }
    c.query("SELECT grp, COUNT(*) FROM audit GROUP BY grp")
        .expect("a merged statement without warnings");
    assert!(c.query("SHOW WARNINGS").expect("show warnings").is_empty());
    assert_eq!(
        c.query("SELECT @@warning_count").expect("count"),
        vec![vec![Some("0".to_string())]]
    );
    // A parameter inside GROUP_CONCAT: refused with the reason, at prepare.
    let e = c
        .prepare("SELECT GROUP_CONCAT(label, ? ORDER BY id) FROM audit")
        .expect_err("a parameter inside GROUP_CONCAT");
    assert!(e.to_string().contains("GROUP_CONCAT"), "{e}");
}

/// PageHelper's statements as Java apps send them with server-side prepared statements
/// (Connector/J `useServerPrepStmts`): a count and a page over a subquery in FROM, with
/// `?` in the inner WHERE (sharding column or not) and in the outer WHERE and LIMIT.
/// Each execute routes by its values and merges the outer SELECT like the text query;
/// the values are spelled out for the count and the page. A subquery in FROM that
/// depends on other nodes' rows is refused at prepare with the reason.
#[test]
fn prepared_pagehelper_count_and_page_over_a_subquery_in_from() {
    let s = Shard::start();
    s.ok("INSERT INTO customer (id, name, city, level) VALUES
       (1, 'Ann', 'Wuhan', 3), (2, 'bob', NULL, 7), (3, 'ZOE', 'Xian', 3),
       (5000001, 'ann', 'wuhan', 3), (5000002, 'Carl', 'Xian', 9), (5000003, 'zoe', NULL, 3)");
    let mut c =
        common::wire::Conn::connect(s.router.addr, USER, PASSWORD, Some(SCHEMA)).expect("login");
    // (prepared text, parameter values, whether the order is defined)
    let cases: Vec<(&str, Vec<&str>, bool)> = vec![
        (
            "SELECT count(0) FROM (SELECT id, name FROM customer WHERE level = ?) tmp_count",
            vec!["3"],
            true,
        ),
        (
            "SELECT * FROM (SELECT id, name FROM customer WHERE level = ? ORDER BY id) t ORDER BY t.id LIMIT ?, ?",
            vec!["3", "1", "2"],
            true,
        ),
        (
            "SELECT count(0) FROM (SELECT id FROM customer WHERE id = ?) tmp_count",
            vec!["5000002"],
            true,
        ),
        (
            "SELECT t.city, COUNT(*), MAX(t.id) FROM (SELECT id, city FROM customer WHERE level > ?) t WHERE t.id < ? GROUP BY t.city ORDER BY t.city",
            vec!["0", "5000003"],
            true,
        ),
        (
            "SELECT k FROM (SELECT id AS k, COUNT(*) n FROM customer WHERE level <> ? GROUP BY id) g",
            vec!["7"],
            false,
        ),
        // One node: a LIMIT inside is fine there.
        (
            "SELECT * FROM (SELECT id, name FROM customer WHERE id IN (?, ?) ORDER BY id LIMIT ?) t",
            vec!["5000001", "5000003", "1"],
            false,
        ),
    ];
    prepared_like_text(&mut c, &s, &cases);
    let row =
        |v: &[&str]| -> Vec<Option<String>> { v.iter().map(|x| Some(x.to_string())).collect() };
    // The values, spelled out: 4 customers of level 3 on both nodes; the page of two
    // after the first.
    let count = c
        .prepare("SELECT count(0) FROM (SELECT id, name FROM customer WHERE level = ?) tmp_count")
        .expect("prepare count");
    assert_eq!(
        c.execute(count, 0, &[Some("3")], &[]).expect("count"),
        vec![row(&["4"])]
    );
    assert_eq!(
        c.execute(count, 0, &[Some("9")], &[]).expect("count"),
        vec![row(&["1"])]
    );
    let page = c
        .prepare("SELECT * FROM (SELECT id, name FROM customer WHERE level = ?) t ORDER BY id LIMIT ?, ?")
        .expect("prepare page");
    assert_eq!(
        c.execute(page, 0, &[Some("3"), Some("1"), Some("2")], &[])
            .expect("page"),
        vec![row(&["3", "ZOE"]), row(&["5000001", "ann"])]
    );
    // PageHelper's count of a grouped query: the distinct cities of level 3 ('Wuhan' and
    // 'wuhan' are one in utf8mb4_general_ci, NULL is one too).
    let grouped = c
        .prepare("SELECT count(0) FROM (SELECT city FROM customer WHERE level = ? GROUP BY city) t")
        .expect("prepare grouped count");
    assert_eq!(
        c.execute(grouped, 0, &[Some("3")], &[])
            .expect("grouped count"),
        vec![row(&["3"])]
    );
    // A LIMIT inside on the node an execute's values pick; refused at an execute whose
    // values leave both nodes, and the statement stays usable.
    let one = c
        .prepare("SELECT * FROM (SELECT id, name FROM customer WHERE id IN (?, ?) ORDER BY id LIMIT ?) t")
        .expect("prepare inner LIMIT");
    let e = c
        .execute(one, 0, &[Some("1"), Some("5000001"), Some("1")], &[])
        .expect_err("inner LIMIT over both nodes");
    assert!(
        e.code == 1105 && e.msg.contains("LIMIT inside a subquery in FROM"),
        "{e}"
    );
    assert_eq!(
        c.execute(one, 0, &[Some("5000002"), Some("5000001"), Some("1")], &[])
            .expect("inner LIMIT on dn1"),
        vec![row(&["5000001", "ann"])]
    );
    // Refused at prepare, with the reason.
    let e = c
        .prepare("SELECT * FROM (SELECT id FROM customer WHERE level = ? ORDER BY id LIMIT 2) t ORDER BY id")
        .expect_err("inner LIMIT over both nodes");
    assert!(
        e.code == 1105 && e.msg.contains("LIMIT inside a subquery in FROM"),
        "{e}"
    );
    let e = c
        .prepare("SELECT * FROM (SELECT city FROM customer WHERE level = ? GROUP BY city) t")
        .expect_err("inner GROUP BY city over both nodes");
    assert!(
        e.code == 1105 && e.msg.contains("GROUP BY without a sharding column"),
        "{e}"
    );
    // EXPLAIN shows the whole statement on both nodes.
    let e = c
        .query("EXPLAIN SELECT count(0) FROM (SELECT id FROM customer WHERE level = 3) t")
        .expect("explain");
    let nodes: Vec<Option<String>> = e.iter().map(|r| r[0].clone()).collect();
    assert_eq!(nodes, [Some("dn0".into()), Some("dn1".into())], "{e:?}");
}

/// MyCat's `show @@check_global` on the admin port: a global table's copies compared by
/// row count and `CHECKSUM TABLE` on every data node.
#[test]
fn check_global_compares_the_copies_of_a_global_table() {
    let s = Shard::start_with_admin();
    s.ok("INSERT INTO province (id, name) VALUES (1, 'Beijing'), (2, 'Shanghai')");
    let adm = |sql: &str| s.admin(sql);
    let check = "show @@check_global -schema=shop -table=province -retry=2 -interval=10";
    assert_eq!(
        adm(check).expect("check"),
        "ID\tTABLENAME\tRESTULT\n1\tprovince\tYes"
    );
    // One copy changed behind the router's back.
    s.on1("UPDATE province SET name = 'Nanjing' WHERE id = 2");
    assert_eq!(
        adm(check).expect("check"),
        "ID\tTABLENAME\tRESTULT\n1\tprovince\tNo"
    );
    assert!(
        s.router.daemon.wait_log(
            "global table shop.province differs between data nodes (2 round(s)): dn0 2 rows"
        ),
        "{}",
        s.logs()
    );
    s.on1("UPDATE province SET name = 'Shanghai' WHERE id = 2");
    assert!(adm(check).expect("check").ends_with("\tYes"));
    // A missing row on one copy.
    s.on0("DELETE FROM province WHERE id = 1");
    assert!(adm(check).expect("check").ends_with("\tNo"));
    // Usage and lookups.
    for (bad, want) in [
        ("show @@check_global -table=province", "-schema= is missing"),
        ("show @@check_global -schema=shop", "-table= is missing"),
        (
            "show @@check_global -schema=nosuch -table=province",
            "Unknown database 'nosuch'",
        ),
        (
            "show @@check_global -schema=shop -table=customer",
            "customer is not a global table of schema shop",
        ),
        (
            "show @@check_global -schema=shop -table=province -retry=0",
            "-retry=0",
        ),
    ] {
        let e = adm(bad).expect_err(bad);
        assert!(e.contains(want), "{bad}: {e}");
    }
    // A copy the server cannot read: the error names the node.
    s.on1("DROP TABLE province");
    let e = adm(check).expect_err("table gone on dn1");
    assert!(e.contains("dn1") && e.contains("1146"), "{e}");
}
