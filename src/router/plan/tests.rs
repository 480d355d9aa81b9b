//! Planner tests on the MyCat tutorial schema.

use super::*;
use crate::router::merge::{Expr as MExpr, Func as MFunc, helper_sql, text_helper_sql};

const CFG: &str = r#"
node: t
router:
  listen: 127.0.0.1:18067
  admin_listen: off
  users:
    - { name: app, password: x, schemas: [shop] }
  schemas:
    - name: shop
      data_node: dn0
      check_sql_schema: true
      tables:
        - { name: customer, primary_key: id, data_nodes: "dn$0-1", rule: by-id }
        - { name: product, data_nodes: "dn0,dn1", rule: by-mod }
        - { name: user_info, data_nodes: "dn0,dn1", rule: by-province }
        - { name: province, data_nodes: "dn0,dn1", type: global }
        - { name: hashed, data_nodes: "dn0,dn1", rule: by-murmur }
        - name: my_order
          data_nodes: "dn0,dn1"
          rule: by-id
          children:
            - name: order_item
              join_key: order_id
              parent_key: id
              children: [ { name: item_note, join_key: item_id, parent_key: id } ]
  data_nodes:
    - { name: dn0, data_host: h0, database: shop_0 }
    - { name: dn1, data_host: h1, database: shop_1 }
  data_hosts:
    - { name: h0, write_hosts: [ { host: m0, url: "127.0.0.1:3306", user: root } ] }
    - { name: h1, write_hosts: [ { host: m1, url: "127.0.0.1:3307", user: root } ] }
  rules:
    - { name: by-id, column: id, function: { type: range-long, map: ["0-500M=0", "500M-1000M=1"] } }
    - { name: by-mod, column: id, function: { type: mod-long, count: 2 } }
    - { name: by-murmur, column: id, function: { type: murmur, count: 2 } }
    - { name: by-province, column: province_id, function: { type: file-map, key_type: int, map: ["10000=0", "10010=1"], default_node: 0 } }
"#;

fn cat() -> Catalog {
    let checked = crate::config::check_str(CFG, "t.yaml", std::path::Path::new("/"));
    let (cfg, _) = checked.into_result().expect("valid config");
    Catalog::build(
        cfg.router.as_ref().expect("router"),
        std::path::Path::new("/"),
    )
    .expect("catalog")
}

fn route(sql: &str) -> Plan {
    match plan(&cat(), "shop", sql, &Lookups::new()) {
        Ok(Planned::Route(p)) => p,
        other => panic!("{sql}: {other:?}"),
    }
}

fn refused(sql: &str) -> String {
    match plan(&cat(), "shop", sql, &Lookups::new()) {
        Err(e) => e.msg,
        other => panic!("{sql} should be refused: {other:?}"),
    }
}

#[test]
fn a_servers_own_table_is_not_the_configured_table_of_that_name() {
    // `customer` is sharded over dn0 and dn1; performance_schema.customer (say, a system
    // table with that name) is the server's own: the default node, as written.
    let p = route("SELECT * FROM performance_schema.customer WHERE id = 5000001");
    let nodes: Vec<&str> = p.targets.iter().map(|t| t.node.as_str()).collect();
    assert_eq!(nodes, ["dn0"]);
    let p = route("SELECT * FROM customer WHERE id = 5000001");
    let nodes: Vec<&str> = p.targets.iter().map(|t| t.node.as_str()).collect();
    assert_eq!(nodes, ["dn1"]);
}

#[test]
fn point_and_range_routing() {
    assert_eq!(
        route("SELECT * FROM customer WHERE id = 1").nodes(),
        ["dn0"]
    );
    assert_eq!(
        route("SELECT * FROM customer WHERE id = 5000001").nodes(),
        ["dn1"]
    );
    assert_eq!(
        route("select * from customer where id in (1, 5000001)").nodes(),
        ["dn0", "dn1"]
    );
    assert_eq!(
        route("SELECT * FROM customer WHERE id = 1 OR id = 2").nodes(),
        ["dn0"]
    );
    assert_eq!(
        route("SELECT * FROM customer WHERE name = 'x'").nodes(),
        ["dn0", "dn1"]
    );
    assert_eq!(
        route("SELECT * FROM customer WHERE id = 1 AND name = 'x'").nodes(),
        ["dn0"]
    );
    assert_eq!(
        route("SELECT * FROM customer WHERE id = 1 OR name = 'x'").nodes(),
        ["dn0", "dn1"]
    );
    assert_eq!(
        route("SELECT * FROM user_info WHERE province_id = 10010").nodes(),
        ["dn1"]
    );
    assert_eq!(route("SELECT * FROM product WHERE id = 3").nodes(), ["dn1"]);
    // Unlisted tables and table-less statements: the schema's node, text untouched.
    let p = route("SELECT * FROM other WHERE id = 1");
    assert_eq!(p.nodes(), ["dn0"]);
    assert_eq!(p.targets[0].sql, None);
    // Schema prefix stripped.
    let p = route("SELECT * FROM shop.customer WHERE id = 5000001");
    assert_eq!(
        p.targets[0].sql.as_deref(),
        Some("SELECT * FROM customer WHERE id = 5000001")
    );
}

#[test]
fn global_and_er() {
    let p = route("SELECT * FROM province");
    assert!(p.any_one);
    let p = route("INSERT INTO province (id, name) VALUES (1, 'x')");
    assert_eq!(p.nodes(), ["dn0", "dn1"]);
    assert_eq!(p.affected, Affected::First);
    // ER: item rows follow the order's rule through order_id.
    assert_eq!(
        route("INSERT INTO order_item (id, order_id) VALUES (1, 6000000)").nodes(),
        ["dn1"]
    );
    assert_eq!(
        route(
            "SELECT * FROM my_order o JOIN order_item i ON i.order_id = o.id WHERE o.id = 6000000"
        )
        .nodes(),
        ["dn1"]
    );
    assert_eq!(
        route("SELECT * FROM customer c JOIN province p ON p.id = c.province_id WHERE c.id = 1")
            .nodes(),
        ["dn0"]
    );
    // Grandchild: placed by looking its parent row up.
    match plan(
        &cat(),
        "shop",
        "INSERT INTO item_note (id, item_id) VALUES (1, 7)",
        &Lookups::new(),
    ) {
        Ok(Planned::Lookup(l)) => {
            assert_eq!(l[0].table, "order_item");
            let mut ans = Lookups::new();
            ans.insert(l[0].clone(), Some("dn1".to_string()));
            match plan(
                &cat(),
                "shop",
                "INSERT INTO item_note (id, item_id) VALUES (1, 7)",
                &ans,
            ) {
                Ok(Planned::Route(p)) => assert_eq!(p.nodes(), ["dn1"]),
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn refusals_name_the_problem() {
    let m = refused("SELECT * FROM customer c JOIN product p ON p.id = c.id");
    assert!(m.contains("customer") && m.contains("product"), "{m}");
    let m = refused("UPDATE customer SET id = 5000007 WHERE id = 1");
    assert!(m.contains("Sharding column"), "{m}");
    assert_eq!(
        route("UPDATE customer SET id = 1, name = 'x' WHERE id = 1").nodes(),
        ["dn0"]
    );
    let m = refused("INSERT INTO customer (name) VALUES ('x')");
    assert!(m.contains("sharding column"), "{m}");
    refused("SELECT STD(age) FROM customer");
    refused("SELECT * FROM customer WHERE id IN (SELECT id FROM product)");
    refused("SELECT id FROM customer INTERSECT ALL SELECT id FROM product");
    refused("SELECT * FROM customer WHERE id = 99999999");
}

/// SHOW and DESCRIBE forms sqlparser cannot read go to a node holding the table, as the
/// ones it reads do; EXPLAIN and `DESCRIBE <statement>` are not taken for them.
#[test]
fn show_and_describe_the_parser_cannot_read_go_to_a_node_of_the_table() {
    for sql in [
        "DESCRIBE customer '%'",
        "DESCRIBE customer id",
        "DESC `customer`",
        "describe shop.customer name",
        "SHOW INDEX FROM customer WHERE Key_name = 'PRIMARY'",
        "SHOW FULL COLUMNS FROM customer WHERE Field LIKE 'i%'",
        "SHOW CREATE TABLE customer",
    ] {
        let p = route(sql);
        assert_eq!(p.nodes(), vec!["dn0"], "{sql}");
        assert!(p.read, "{sql}");
    }
    assert_eq!(route("SHOW KEYS FROM my_order").nodes(), vec!["dn0"]);
    // `DESCRIBE SELECT ...` is an EXPLAIN: planned as before, not by the table name.
    let a = crate::router::sql::analyze("DESC SELECT * FROM customer WHERE id = 1");
    let t = Toks::new("DESC SELECT * FROM customer WHERE id = 1");
    let sc = cat();
    assert!(show_on_table(sc.schema("shop").expect("shop"), &a, &t, true).is_none());
    let a = crate::router::sql::analyze("EXPLAIN customer");
    let t = Toks::new("EXPLAIN customer");
    assert!(show_on_table(sc.schema("shop").expect("shop"), &a, &t, true).is_none());
}

#[test]
fn window_functions_and_sums_of_quotients_stay_on_one_node() {
    // ROW_NUMBER() would restart on every node; SUM() OVER () would be a node's total.
    for sql in [
        "SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM customer ORDER BY id DESC LIMIT 5",
        "SELECT id, LAG(id) OVER (ORDER BY id) AS prev FROM customer",
        "SELECT id FROM customer ORDER BY RANK() OVER (ORDER BY name), id",
        "SELECT id, RANK() OVER w FROM customer WINDOW w AS (ORDER BY id)",
    ] {
        let m = refused(sql);
        assert!(m.contains("window"), "{sql}: {m}");
    }
    assert_eq!(
        route("SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM customer WHERE id = 1").nodes(),
        ["dn0"]
    );
    // A quotient has more digits inside the server than its printed SUM shows.
    for sql in [
        "SELECT SUM(total / 3) FROM customer",
        "SELECT AVG(total / 3) FROM customer",
        "SELECT name, SUM(a / b) AS s FROM customer GROUP BY name ORDER BY s",
        "SELECT name FROM customer GROUP BY name HAVING AVG(x / 2) > 1",
        "SELECT name FROM customer GROUP BY name ORDER BY SUM(x / 2)",
    ] {
        let m = refused(sql);
        assert!(m.contains("division"), "{sql}: {m}");
    }
    route("SELECT SUM(total DIV 3), AVG(total * 3), MAX(total / 3) FROM customer");
    // A subquery over a sharded table in GROUP BY or ORDER BY sees one node's rows.
    for sql in [
        "SELECT COUNT(*) FROM customer GROUP BY (SELECT COUNT(*) FROM my_order o WHERE o.cid = customer.id)",
        "SELECT id FROM customer WHERE id = 1 GROUP BY id, (SELECT MAX(id) FROM product)",
        "SELECT id FROM customer WHERE id < 100 ORDER BY (SELECT COUNT(*) FROM my_order o WHERE o.cid = customer.id)",
    ] {
        let m = refused(sql);
        assert!(m.contains("subquery"), "{sql}: {m}");
    }
    route(
        "SELECT COUNT(*) FROM customer GROUP BY (SELECT region FROM province p WHERE p.id = customer.pid)",
    );
    // ORDER BY the alias of an item after `*`: that item's expression, not a column.
    let p = route(
        "SELECT p.*, c.level AS balance FROM customer c JOIN province p ON c.pid = p.id ORDER BY balance",
    );
    let text = p.targets[0].sql.clone().unwrap_or_default();
    assert!(text.contains("c.level AS `__tandem_0`"), "{text}");
    assert_eq!(
        route("SELECT SUM(total / 3) FROM customer WHERE id = 5000001").nodes(),
        ["dn1"]
    );
}

/// A string-hash rule hashes the number, not how it is written: `007` and `7` are the
/// same row (it hashed the text `007`, another node for some values).
#[test]
fn leading_zeros_of_a_number_do_not_move_a_hashed_row() {
    for v in 1..=40 {
        let plain = route(&format!("SELECT * FROM hashed WHERE id = {v}"));
        let plain = plain.nodes();
        assert_eq!(plain.len(), 1, "{v}");
        for written in [format!("00{v}"), format!("0{v}.0"), format!("+0{v}")] {
            let sql = format!("SELECT * FROM hashed WHERE id = {written}");
            assert_eq!(route(&sql).nodes(), plain, "{sql}");
            let ins = format!("INSERT INTO hashed (id) VALUES ({written})");
            assert_eq!(route(&ins).nodes(), plain, "{ins}");
        }
    }
}

#[test]
fn number_literals_route_by_their_value() {
    // MySQL compares 7.0 and 7e0 with an integer column as 7 (mod-long: dn1); mod-long
    // used to hash the text `7e0` onto dn0.
    for v in ["7", "7.0", "7e0", "0.7e1", "70e-1", "+7", "007"] {
        let sql = format!("SELECT * FROM product WHERE id = {v}");
        assert_eq!(route(&sql).nodes(), ["dn1"], "{sql}");
    }
    assert_eq!(
        route("SELECT * FROM customer WHERE id = 5.000001e6").nodes(),
        ["dn1"]
    );
    // Not a whole number: no row of an integer column matches, any node may answer; the
    // planner does not guess (all nodes).
    assert_eq!(
        route("SELECT * FROM product WHERE id = 7e-1").nodes().len(),
        2
    );
    assert_eq!(
        route("SELECT * FROM product WHERE id = 7.5").nodes().len(),
        2
    );
    assert_eq!(
        route("SELECT * FROM product WHERE id = 1e999")
            .nodes()
            .len(),
        2
    );
    // The row goes where the server's integer 7 belongs; 7.5 (stored as 8) is refused.
    let p = route("INSERT INTO product (id, name) VALUES (7.0, 'a'), (8e0, 'b')");
    assert_eq!(p.nodes(), ["dn0", "dn1"]);
    assert_eq!(
        p.targets[1].sql.as_deref(),
        Some("INSERT INTO product (id, name) VALUES (7.0, 'a')")
    );
    refused("INSERT INTO product (id, name) VALUES (7.5, 'a')");
}

#[test]
fn multi_row_insert_is_split() {
    let p = route("INSERT INTO customer (id, name) VALUES (1, 'a'), (5000001, 'b'), (2, 'c')");
    assert_eq!(p.nodes(), ["dn0", "dn1"]);
    assert_eq!(
        p.targets[0].sql.as_deref(),
        Some("INSERT INTO customer (id, name) VALUES (1, 'a'), (2, 'c')")
    );
    assert_eq!(
        p.targets[1].sql.as_deref(),
        Some("INSERT INTO customer (id, name) VALUES (5000001, 'b')")
    );
}

#[test]
fn prepared_insert_places_rows_at_execute() {
    // At prepare, a `?` in the sharding column (or an ER child's join key) is no error:
    // the statement may be prepared on any of the table's nodes, and each execute is
    // planned again with the values it brings.
    for sql in [
        "INSERT INTO customer (id, name) VALUES (?, ?)",
        "INSERT INTO customer (id, name) VALUES (?, 'a'), (5000001, ?)",
        "INSERT INTO customer SET id = ?, name = 'x'",
        "INSERT INTO order_item (id, order_id) VALUES (1, ?)",
    ] {
        let p = route(sql);
        assert_eq!(p.nodes(), ["dn0", "dn1"], "{sql}");
        assert!(p.note.as_deref().is_some_and(|n| n.contains('?')), "{sql}");
    }
    // Filled in, the values place the rows as in a text statement.
    let p = route("INSERT INTO customer (id, name) VALUES (5000001, 'b')");
    assert_eq!(p.nodes(), ["dn1"]);
    // Still refused: an expression that is not a literal, also around a parameter.
    let m = refused("INSERT INTO customer (id, name) VALUES (? + 1, 'a')");
    assert!(m.contains("must be a literal"), "{m}");
}

#[test]
fn scatter_rewrites_and_merges() {
    let p = route("SELECT id, name FROM customer ORDER BY name DESC, id LIMIT 10, 5");
    assert_eq!(
        p.targets[0].sql.clone(),
        Some(format!(
            "SELECT id, name, {} AS `__tandem_0`, {} AS `__tandem_1` FROM customer ORDER BY name DESC, id LIMIT 15",
            helper_sql("name"),
            helper_sql("id")
        ))
    );
    let m = p.merge.expect("merge");
    assert_eq!(
        m.order_by,
        vec![(Col::Item(1), true), (Col::Item(0), false)]
    );
    // Each plain-column key carries a helper (ENUM position, collation weights).
    assert_eq!(
        m.helpers,
        vec![
            (Col::Item(1), Col::Hidden(0)),
            (Col::Item(0), Col::Hidden(1))
        ]
    );
    assert_eq!((m.offset, m.limit), (10, Some(5)));

    let p = route(
        "SELECT province_id, AVG(age) AS a, COUNT(*) FROM customer GROUP BY province_id HAVING SUM(age) > 10 ORDER BY a LIMIT 3",
    );
    let sql = p.targets[0].sql.clone().expect("sql");
    assert_eq!(
        sql,
        format!(
            "SELECT province_id, SUM(age) AS `a`, COUNT(*), COUNT(age) AS `__tandem_0`, SUM(age) AS `__tandem_1`, {} AS `__tandem_2` FROM customer GROUP BY province_id  ORDER BY a ",
            helper_sql("province_id")
        )
    );
    let m = p.merge.expect("merge");
    assert_eq!(m.group_by, vec![Col::Item(0)]);
    // No helper for the AVG sort key: aggregates compare by value.
    assert_eq!(m.helpers, vec![(Col::Item(0), Col::Hidden(2))]);
    assert_eq!(m.hidden, 3);
    assert!(m.having.is_some());
    assert_eq!(p.avg_items, vec![1]);
    let spec = m.resolve(6).expect("resolve");
    assert_eq!(spec.visible, 3);
    assert_eq!(spec.helpers, vec![(0, 5)]);

    // ORDER BY a column not selected: a hidden column carries it.
    let p = route("SELECT name FROM customer ORDER BY id");
    assert_eq!(
        p.targets[0].sql.clone(),
        Some(format!(
            "SELECT name, id AS `__tandem_0`, {} AS `__tandem_1` FROM customer ORDER BY id",
            helper_sql("id")
        ))
    );
    let p = route("SELECT * FROM customer ORDER BY id LIMIT 2");
    assert_eq!(
        p.targets[0].sql.clone(),
        Some(format!(
            "SELECT *, id AS `__tandem_0`, {} AS `__tandem_1` FROM customer ORDER BY id LIMIT 2",
            helper_sql("id")
        ))
    );
    let spec = p.merge.expect("m").resolve(5).expect("r");
    assert_eq!(spec.order_by[0].col, 3);
    assert_eq!(spec.helpers, vec![(3, 4)]);
    // Expressions and positions into `*` get no ENUM/SET helper (the merge refuses an
    // ENUM there); an expression gets a text helper (its collation weights); an alias of
    // a column gets the full helper.
    let p = route("SELECT id FROM customer ORDER BY LOWER(name)");
    assert_eq!(
        p.targets[0].sql.clone(),
        Some(format!(
            "SELECT id, LOWER(name) AS `__tandem_0`, {} AS `__tandem_1` FROM customer ORDER BY LOWER(name)",
            text_helper_sql("LOWER(name)")
        ))
    );
    let m = p.merge.expect("m");
    assert!(m.helpers.is_empty());
    assert_eq!(m.text_helpers, vec![(Col::Hidden(0), Col::Hidden(1))]);
    // DISTINCT compares every selected column by its helper.
    let m = route("SELECT DISTINCT name, LOWER(name), id + 1 FROM customer")
        .merge
        .expect("m");
    assert_eq!(m.helpers, vec![(Col::Item(0), Col::Hidden(0))]);
    assert_eq!(m.text_helpers, vec![(Col::Item(1), Col::Hidden(1))]);
    // None for keys that cannot be evaluated again or are never text.
    for sql in [
        "SELECT id FROM customer ORDER BY CONCAT(name, RAND())",
        "SELECT id FROM customer ORDER BY CONCAT(name, UUID())",
        "SELECT id FROM customer ORDER BY CONCAT(name, (SELECT 1))",
        "SELECT id FROM customer ORDER BY CONCAT(name, @v := 1)",
        "SELECT id FROM customer ORDER BY CONCAT(name, ?)",
        "SELECT id FROM customer ORDER BY id % 3",
        "SELECT id FROM customer ORDER BY -id",
        "SELECT id FROM customer ORDER BY name IS NULL, name",
    ] {
        let m = route(sql).merge.expect("m");
        assert!(m.text_helpers.is_empty(), "{sql}: {:?}", m.text_helpers);
    }
    let p = route("SELECT name AS n FROM customer ORDER BY n");
    assert_eq!(
        p.targets[0].sql.clone(),
        Some(format!(
            "SELECT name AS n, {} AS `__tandem_0` FROM customer ORDER BY n",
            helper_sql("name")
        ))
    );
}

#[test]
fn hints() {
    assert_eq!(
        route("/*!mycat: datanode=dn1 */ SELECT COUNT(*) FROM customer").nodes(),
        ["dn1"]
    );
    let p = route(
        "/*!mycat: sql=SELECT id FROM customer WHERE id = 5000001 */ SELECT COUNT(*) FROM customer",
    );
    assert_eq!(p.nodes(), ["dn1"]);
    assert_eq!(
        p.targets[0].sql.as_deref(),
        Some(" SELECT COUNT(*) FROM customer")
    );
    assert!(!route("/*#mycat: db_type=master */ SELECT * FROM customer WHERE id = 1").read);
}

#[test]
fn ddl_broadcast() {
    assert_eq!(
        route("ALTER TABLE customer ADD COLUMN x INT").nodes(),
        ["dn0", "dn1"]
    );
    assert_eq!(
        route("CREATE TABLE IF NOT EXISTS customer (id INT)").nodes(),
        ["dn0", "dn1"]
    );
    assert_eq!(route("DROP TABLE customer").nodes(), ["dn0", "dn1"]);
    assert_eq!(route("CREATE TABLE other (id INT)").nodes(), ["dn0"]);
}

/// `sql` planned in `cat`'s schema shop.
fn route_in(cat: &Catalog, sql: &str) -> Plan {
    match plan(cat, "shop", sql, &Lookups::new()) {
        Ok(Planned::Route(p)) => p,
        other => panic!("{sql}: {other:?}"),
    }
}

fn refused_in(cat: &Catalog, sql: &str) -> String {
    match plan(cat, "shop", sql, &Lookups::new()) {
        Err(e) => e.msg,
        other => panic!("{sql} should be refused: {other:?}"),
    }
}

#[test]
fn sql_max_limit_is_opt_in_and_applied_as_mycat_does() {
    let cat = cat_of(
        &CFG.replace(
            "check_sql_schema: true",
            "check_sql_schema: true\n      sql_max_limit: 100",
        )
        .replace(
            "{ name: product, data_nodes: \"dn0,dn1\", rule: by-mod }",
            "{ name: product, primary_key: id, data_nodes: \"dn0,dn1\", rule: by-mod, need_add_limit: false }",
        ),
    );
    let sql_of = |sql: &str| {
        let p = route_in(&cat, sql);
        p.targets.iter().map(|t| t.sql.clone()).collect::<Vec<_>>()
    };
    // `id` is customer's primary key: a lookup by it finds few rows, MyCat adds no LIMIT
    // (=, IN, BETWEEN; OR of such).
    for sql in [
        "SELECT * FROM customer WHERE id = 1",
        "SELECT * FROM customer WHERE id IN (1, 2) AND name = 'x'",
        "SELECT * FROM customer WHERE id BETWEEN 1 AND 3",
        "SELECT * FROM customer c WHERE c.id = 1 OR c.id = 2",
    ] {
        assert_eq!(sql_of(sql), [None], "{sql}");
    }
    // Other conditions on one table: the LIMIT.
    assert_eq!(
        sql_of("SELECT * FROM customer WHERE id = 1 OR name = 'x'"),
        vec![Some("SELECT * FROM customer WHERE id = 1 OR name = 'x' LIMIT 100".to_string()); 2]
    );
    assert_eq!(
        sql_of("SELECT * FROM customer WHERE id > 5000001"),
        vec![Some("SELECT * FROM customer WHERE id > 5000001 LIMIT 100".to_string()); 2]
    );
    let p = route_in(&cat, "SELECT name FROM customer ORDER BY name");
    assert_eq!(
        p.targets[1].sql.clone(),
        Some(format!(
            "SELECT name, {} AS `__tandem_0` FROM customer ORDER BY name LIMIT 100",
            helper_sql("name")
        ))
    );
    assert_eq!(p.merge.expect("merge").limit, Some(100));
    // No primary key configured (user_info, the ER child order_item): always.
    assert_eq!(
        sql_of("SELECT * FROM user_info WHERE province_id = 10010"),
        [Some(
            "SELECT * FROM user_info WHERE province_id = 10010 LIMIT 100".to_string()
        )]
    );
    assert_eq!(
        sql_of("SELECT * FROM order_item WHERE id = 7 AND order_id = 1"),
        [Some(
            "SELECT * FROM order_item WHERE id = 7 AND order_id = 1 LIMIT 100".to_string()
        )]
    );
    // A global table: always, even by its key.
    assert_eq!(
        sql_of("SELECT * FROM province WHERE id = 1")[0],
        Some("SELECT * FROM province WHERE id = 1 LIMIT 100".to_string())
    );
    // need_add_limit: false.
    let p = route_in(&cat, "SELECT * FROM product ORDER BY price");
    assert!(p.merge.expect("merge").limit.is_none());
    assert!(
        p.targets
            .iter()
            .all(|t| !t.sql.as_deref().unwrap_or("").contains("LIMIT"))
    );
    // Several tables (a join, a subquery): none, as in MyCat.
    for sql in [
        "SELECT * FROM customer c JOIN province p ON c.province_id = p.id WHERE c.name = 'x'",
        "SELECT o.id, i.qty FROM my_order o JOIN order_item i ON o.id = i.order_id WHERE o.id = 1",
        "SELECT * FROM province WHERE id IN (SELECT province_id FROM other)",
    ] {
        assert!(
            sql_of(sql)
                .iter()
                .all(|s| !s.as_deref().unwrap_or("").contains("LIMIT")),
            "{sql}"
        );
    }
    // An own LIMIT stays.
    assert_eq!(sql_of("SELECT * FROM province LIMIT 5"), [None, None]);
    // A table that is not listed, alone: the LIMIT (MyCat parses it since the schema has
    // tables); joined or without tables: none.
    let p = route_in(&cat, "SELECT * FROM other WHERE id = 1");
    assert_eq!(p.nodes(), ["dn0"]);
    assert_eq!(
        p.targets[0].sql.as_deref(),
        Some("SELECT * FROM other WHERE id = 1 LIMIT 100")
    );
    assert_eq!(
        sql_of("SELECT * FROM other o JOIN other2 t ON o.id = t.id"),
        [None]
    );
    assert_eq!(sql_of("SELECT 1"), [None]);
    assert_eq!(
        sql_of("SELECT * FROM information_schema.columns WHERE table_schema = 'shop_0'"),
        [None]
    );
    assert_eq!(sql_of("UPDATE other SET a = 1"), [None]);
    assert!(may_add_limit(
        cat.schema("shop").expect("shop"),
        " select 1"
    ));
    // A schema without tables is not parsed (MyCat's isNoSharding): no LIMIT.
    let flat = cat_of(&CFG.replace(
        "  data_nodes:\n",
        "    - { name: flat, data_node: dn1, sql_max_limit: 10 }\n  data_nodes:\n",
    ));
    let p = match plan(&flat, "flat", "SELECT * FROM t", &Lookups::new()) {
        Ok(Planned::Route(p)) => p,
        other => panic!("{other:?}"),
    };
    assert_eq!((p.nodes(), p.targets[0].sql.clone()), (vec!["dn1"], None));
    assert!(!may_add_limit(
        flat.schema("flat").expect("flat"),
        "SELECT * FROM t"
    ));
    // Without the option nothing is added.
    assert_eq!(
        route("SELECT * FROM customer WHERE id = 7").targets[0].sql,
        None
    );
    assert_eq!(
        route("SELECT * FROM customer WHERE name = 'x'").targets[0]
            .sql
            .as_deref(),
        Some("SELECT * FROM customer WHERE name = 'x'")
    );
    assert_eq!(route("SELECT * FROM other").targets[0].sql, None);
}

#[test]
fn rule_required_refuses_statements_that_do_not_give_the_sharding_column() {
    let cat = cat_of(&CFG.replace(
        "{ name: customer, primary_key: id, data_nodes: \"dn$0-1\", rule: by-id }",
        "{ name: customer, primary_key: id, data_nodes: \"dn$0-1\", rule: by-id, rule_required: true }",
    ));
    for sql in [
        "SELECT * FROM customer WHERE name = 'x'",
        "SELECT * FROM customer",
        "SELECT * FROM customer WHERE id = 1 OR name = 'x'",
        "SELECT * FROM customer WHERE id > 7",
        "SELECT * FROM customer WHERE id <> 7",
        "UPDATE customer SET name = 'y' WHERE name = 'x'",
        "DELETE FROM customer",
    ] {
        let m = refused_in(&cat, sql);
        assert_eq!(
            m,
            format!(
                "route rule for table customer is required: {sql} (rule_required: the WHERE clause must give the sharding column `id` with =, IN or BETWEEN)"
            )
        );
    }
    for (sql, nodes) in [
        ("SELECT * FROM customer WHERE id = 5000001", vec!["dn1"]),
        (
            "SELECT * FROM customer c WHERE c.id IN (1, 5000001)",
            vec!["dn0", "dn1"],
        ),
        (
            "SELECT * FROM customer WHERE id BETWEEN 1 AND 9",
            vec!["dn0"],
        ),
        (
            "SELECT * FROM customer WHERE (id = 1 OR id = 2) AND name = 'x'",
            vec!["dn0"],
        ),
        (
            "UPDATE customer SET name = 'y' WHERE id = 5000001",
            vec!["dn1"],
        ),
        ("DELETE FROM customer WHERE id = 1", vec!["dn0"]),
        // INSERT always names the column; a statement on several tables is not checked
        // (MyCat checks single-table routes only).
        (
            "INSERT INTO customer (id, name) VALUES (1, 'a')",
            vec!["dn0"],
        ),
        (
            "SELECT * FROM customer c JOIN province p ON c.province_id = p.id",
            vec!["dn0", "dn1"],
        ),
        // Other tables are not affected.
        ("SELECT * FROM product", vec!["dn0", "dn1"]),
    ] {
        assert_eq!(route_in(&cat, sql).nodes(), nodes, "{sql}");
    }
    // EXPLAIN of a refused statement gets the same answer.
    assert!(
        refused_in(&cat, "EXPLAIN FORMAT=JSON SELECT * FROM customer")
            .starts_with("route rule for table customer is required")
    );
}

#[test]
fn explain_forms() {
    use explain::{Form, form};
    fn router(inner: &str) -> Option<Form<'_>> {
        Some(Form::Router { inner })
    }
    assert_eq!(form("EXPLAIN SELECT 1"), router("SELECT 1"));
    assert_eq!(
        form("  explain\n select * from t where id = 2"),
        router("select * from t where id = 2")
    );
    assert_eq!(form("EXPLAIN (SELECT 1)"), router("(SELECT 1)"));
    assert_eq!(
        form("EXPLAIN UPDATE t SET a = 1"),
        router("UPDATE t SET a = 1")
    );
    assert_eq!(
        form("EXPLAIN FORMAT=JSON SELECT 1"),
        Some(Form::Node {
            prefix: "EXPLAIN FORMAT=JSON ",
            inner: "SELECT 1",
            analyze: false
        })
    );
    assert_eq!(
        form("EXPLAIN EXTENDED DELETE FROM t"),
        Some(Form::Node {
            prefix: "EXPLAIN EXTENDED ",
            inner: "DELETE FROM t",
            analyze: false
        })
    );
    assert_eq!(
        form("explain partitions select 1"),
        Some(Form::Node {
            prefix: "explain partitions ",
            inner: "select 1",
            analyze: false
        })
    );
    assert_eq!(
        form("EXPLAIN ANALYZE FORMAT = TREE SELECT 1"),
        Some(Form::Node {
            prefix: "EXPLAIN ANALYZE FORMAT = TREE ",
            inner: "SELECT 1",
            analyze: true
        })
    );
    assert_eq!(
        form("ANALYZE FORMAT=JSON SELECT 1"),
        Some(Form::Node {
            prefix: "ANALYZE FORMAT=JSON ",
            inner: "SELECT 1",
            analyze: true
        })
    );
    assert_eq!(
        form("DESCRIBE SELECT 1"),
        Some(Form::Node {
            prefix: "DESCRIBE ",
            inner: "SELECT 1",
            analyze: false
        })
    );
    // A table, not a statement; other statements.
    for sql in [
        "EXPLAIN customer",
        "DESCRIBE customer",
        "DESC customer id",
        "EXPLAIN `select`",
        "ANALYZE TABLE customer",
        "EXPLAIN FOR CONNECTION 4",
        "SELECT 1",
        "EXPLAINED",
    ] {
        assert_eq!(form(sql), None, "{sql}");
    }
    // EXPLAIN2: MyCat's datanode= and sql=, FORMAT=JSON before sql=.
    assert_eq!(
        form("EXPLAIN2 datanode=dn1 sql=select * from t where id = 2"),
        Some(Form::Node2 {
            node: "dn1".into(),
            sql: "EXPLAIN select * from t where id = 2".into()
        })
    );
    assert_eq!(
        form("explain2 FORMAT=JSON DATANODE=dn0 SQL= SELECT 1"),
        Some(Form::Node2 {
            node: "dn0".into(),
            sql: "EXPLAIN FORMAT=JSON SELECT 1".into()
        })
    );
    for bad in [
        "EXPLAIN2 sql=SELECT 1",
        "EXPLAIN2 datanode=dn1",
        "EXPLAIN2 datanode=dn1 sql=",
        "EXPLAIN2 node=dn1 sql=SELECT 1",
    ] {
        assert_eq!(
            form(bad),
            Some(Form::Node2 {
                node: String::new(),
                sql: String::new()
            }),
            "{bad}"
        );
    }
}

#[test]
fn explain_rows_and_node_explains() {
    let cat = cat();
    let rows = |sql: &str| explain::rows(&route(sql), sql);
    // One row per node, with the text that node gets.
    assert_eq!(
        rows("SELECT * FROM customer WHERE id = 5000001"),
        [(
            "dn1".to_string(),
            "SELECT * FROM customer WHERE id = 5000001".to_string()
        )]
    );
    let r = rows("SELECT name FROM customer ORDER BY name");
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].0.as_str(), r[1].0.as_str()), ("dn0", "dn1"));
    assert!(r[0].1.contains("__tandem_0"), "{r:?}");
    // Tabs and line breaks as spaces; unlisted tables on the schema's node; one copy
    // of a global table.
    assert_eq!(
        rows("SELECT *\n\tFROM other\r\nWHERE a = 1"),
        [(
            "dn0".to_string(),
            "SELECT *  FROM other  WHERE a = 1".to_string()
        )]
    );
    assert_eq!(rows("SELECT * FROM province").len(), 1);
    let w = rows("UPDATE province SET name = 'x' WHERE id = 1");
    assert_eq!(w.len(), 2);
    // EXPLAIN with options: the server's EXPLAIN on the node the statement routes to.
    let p = route("EXPLAIN FORMAT=JSON SELECT * FROM shop.customer WHERE id = 5000001");
    assert_eq!(p.nodes(), ["dn1"]);
    assert_eq!(
        p.targets[0].sql.as_deref(),
        Some("EXPLAIN FORMAT=JSON SELECT * FROM customer WHERE id = 5000001")
    );
    assert!(p.read);
    assert!(!route("ANALYZE DELETE FROM customer WHERE id = 1").read);
    let p = route("EXPLAIN EXTENDED SELECT * FROM province");
    assert!(p.any_one);
    assert!(
        p.targets
            .iter()
            .all(|t| t.sql.as_deref() == Some("EXPLAIN EXTENDED SELECT * FROM province"))
    );
    let m = refused("EXPLAIN FORMAT=JSON SELECT * FROM customer");
    assert!(
        m.starts_with("EXPLAIN FORMAT=JSON runs on the data node its statement routes to, and this statement reaches data nodes dn0,dn1")
            && m.contains("EXPLAIN2 [FORMAT=JSON] datanode=<data node> sql=<statement>"),
        "{m}"
    );
    // The plain form in the planner (behind a db_type hint) is planned the same way.
    let p = route("/*!mycat: db_type=master */ EXPLAIN SELECT * FROM customer WHERE id = 1");
    assert_eq!(p.nodes(), ["dn0"]);
    assert!(!p.read);
    // EXPLAIN2 names the node; unknown nodes and bad syntax are refused.
    let p = route("EXPLAIN2 datanode=dn1 sql=SELECT * FROM customer WHERE id = 1");
    assert_eq!(p.nodes(), ["dn1"]);
    assert_eq!(
        p.targets[0].sql.as_deref(),
        Some("EXPLAIN SELECT * FROM customer WHERE id = 1")
    );
    assert!(refused("EXPLAIN2 datanode=dn9 sql=SELECT 1").contains("no such data node"));
    assert!(refused("EXPLAIN2 sql=SELECT 1").contains("EXPLAIN2 [FORMAT=JSON] datanode="));
    // Sequence ids are not taken for an EXPLAIN.
    assert!(
        refused("EXPLAIN ANALYZE INSERT INTO customer (id, name) VALUES (next value for MYCATSEQ_CUSTOMER, 'x')")
            .starts_with("insert sql using mycat seq")
    );
    // `tandem explain` shows the plans of statements as before.
    let v = super::explain(&cat, "shop", "SELECT * FROM customer WHERE id = 5000001");
    assert_eq!(v["nodes"], serde_json::json!(["dn1"]));
    let v = super::explain(&cat, "shop", "EXPLAIN customer");
    assert_eq!(v["nodes"], serde_json::json!(["dn0"]));
}

#[test]
fn auto_increment_asks_for_ids_then_fills_them() {
    let text = CFG.replace(
        "{ name: product, data_nodes: \"dn0,dn1\", rule: by-mod }",
        "{ name: product, primary_key: id, auto_increment: true, data_nodes: \"dn0,dn1\", rule: by-mod }",
    );
    let checked = crate::config::check_str(&text, "t.yaml", std::path::Path::new("/"));
    let (cfg, _) = checked.into_result().expect("valid config");
    let cat = Catalog::build(
        cfg.router.as_ref().expect("router"),
        std::path::Path::new("/"),
    )
    .expect("catalog");
    let sql = "INSERT INTO product (name) VALUES ('a'), ('b')";
    match plan(&cat, "shop", sql, &Lookups::new()) {
        Ok(Planned::Ids { sequence, count }) => {
            assert_eq!((sequence.as_str(), count), ("PRODUCT", 2))
        }
        other => panic!("{other:?}"),
    }
    let mut ans = Lookups::new();
    ans.ids = Some(vec![10, 11]);
    match plan(&cat, "shop", sql, &ans) {
        Ok(Planned::Route(p)) => {
            assert_eq!(p.nodes(), ["dn0", "dn1"]);
            assert_eq!(
                p.targets[0].sql.as_deref(),
                Some("INSERT INTO product (`id`, name) VALUES (10, 'a')")
            );
            assert_eq!(
                p.targets[1].sql.as_deref(),
                Some("INSERT INTO product (`id`, name) VALUES (11, 'b')")
            );
        }
        other => panic!("{other:?}"),
    }
    ans.ids = Some(vec![7]);
    match plan(
        &cat,
        "shop",
        "INSERT INTO product (id, name) VALUES (NULL, 'c')",
        &ans,
    ) {
        Ok(Planned::Route(p)) => {
            assert_eq!(
                p.targets[0].sql.as_deref(),
                Some("INSERT INTO product (id, name) VALUES (7, 'c')")
            );
            assert_eq!(p.nodes(), ["dn1"]);
        }
        other => panic!("{other:?}"),
    }
}

fn cat_of(text: &str) -> Catalog {
    let checked = crate::config::check_str(text, "t.yaml", std::path::Path::new("/"));
    let (cfg, _) = checked.into_result().expect("valid config");
    Catalog::build(
        cfg.router.as_ref().expect("router"),
        std::path::Path::new("/"),
    )
    .expect("catalog")
}

#[test]
fn writes_refuse_subqueries_over_other_nodes() {
    // A subquery over a sharded table would see one node's rows on each node.
    let m = refused("DELETE FROM customer WHERE id IN (SELECT order_id FROM my_order)");
    assert!(m.contains("my_order"), "{m}");
    refused("UPDATE customer SET name = 'x' WHERE id IN (SELECT id FROM product)");
    refused("UPDATE customer SET n = (SELECT COUNT(*) FROM my_order) WHERE id = 1");
    refused("DELETE FROM province WHERE id IN (SELECT province_id FROM customer)");
    refused("INSERT INTO customer (id, n) VALUES (1, (SELECT MAX(id) FROM product))");
    refused(
        "INSERT INTO customer (id, n) VALUES (1, 2) ON DUPLICATE KEY UPDATE n = (SELECT COUNT(*) FROM product)",
    );
    // Pinned to another node than the write.
    let m = refused(
        "DELETE FROM customer WHERE id = 1 AND x IN (SELECT id FROM my_order WHERE id = 5000001)",
    );
    assert!(m.contains("dn1"), "{m}");
    // Nested subqueries are checked too.
    refused(
        "DELETE FROM customer WHERE id = 1 AND x IN (SELECT id FROM province WHERE id IN (SELECT id FROM product))",
    );
    // An unlisted table lives on the default node only.
    let m = refused("UPDATE customer SET n = (SELECT MAX(v) FROM other) WHERE id IN (1, 5000001)");
    assert!(m.contains("other") && m.contains("dn1"), "{m}");
    assert_eq!(
        route("DELETE FROM customer WHERE x IN (SELECT 1 FROM dual)").nodes(),
        ["dn0", "dn1"]
    );
    // Allowed: pinned to the write's node, global tables, unlisted on the default node,
    // and sharded tables correlated with the written row on their routing columns.
    assert_eq!(
        route("DELETE FROM customer WHERE id = 1 AND x IN (SELECT id FROM my_order WHERE id = 2)")
            .nodes(),
        ["dn0"]
    );
    assert_eq!(
        route("UPDATE customer SET n = 1 WHERE province_id IN (SELECT id FROM province)").nodes(),
        ["dn0", "dn1"]
    );
    assert_eq!(
        route("UPDATE customer SET n = (SELECT MAX(v) FROM other) WHERE id = 1").nodes(),
        ["dn0"]
    );
    assert_eq!(
        route(
            "DELETE FROM my_order WHERE NOT EXISTS (SELECT 1 FROM order_item i WHERE i.order_id = my_order.id)"
        )
        .nodes(),
        ["dn0", "dn1"]
    );
    assert_eq!(
        route("UPDATE customer c SET n = (SELECT COUNT(*) FROM my_order o WHERE o.id = c.id)")
            .nodes(),
        ["dn0", "dn1"]
    );
    // ... but not when the name is reused inside (it would mean the inner table), nor
    // with an unqualified column, nor on a column that does not place the rows.
    refused(
        "DELETE FROM my_order WHERE EXISTS (SELECT 1 FROM my_order WHERE my_order.id = my_order.id)",
    );
    refused("UPDATE customer c SET n = (SELECT COUNT(*) FROM my_order o WHERE o.id = id)");
    refused("UPDATE customer c SET n = (SELECT COUNT(*) FROM my_order o WHERE o.cid = c.id)");
    refused("UPDATE customer c SET n = (SELECT COUNT(*) FROM product p WHERE p.id = c.id)");
}

#[test]
fn writes_to_unlisted_tables_refuse_sharded_reads() {
    let m = refused("INSERT INTO report SELECT * FROM customer");
    assert!(m.contains("customer"), "{m}");
    refused("UPDATE report SET x = (SELECT COUNT(*) FROM customer)");
    refused("DELETE FROM report WHERE id IN (SELECT id FROM product)");
    refused("INSERT INTO report (n) VALUES ((SELECT COUNT(*) FROM customer))");
    refused("INSERT INTO report SELECT * FROM customer WHERE id = 5000001");
    refused("UPDATE report r JOIN (SELECT id FROM customer) c ON c.id = r.id SET r.x = 1");
    refused("INSERT INTO report SELECT id FROM customer UNION SELECT id FROM other");
    // Rows that all live on the default node, and global tables, are fine.
    assert_eq!(
        route("INSERT INTO report SELECT * FROM customer WHERE id = 1").nodes(),
        ["dn0"]
    );
    assert_eq!(
        route("UPDATE report SET x = (SELECT COUNT(*) FROM province)").nodes(),
        ["dn0"]
    );
    // A global-table read with a subquery over an unlisted table: a copy next to it.
    let p = route("SELECT * FROM province WHERE id IN (SELECT pid FROM report)");
    assert_eq!(p.nodes(), ["dn0"]);
    refused("SELECT * FROM customer WHERE province_id IN (SELECT pid FROM report)");
}

#[test]
fn order_by_position_next_to_a_wildcard() {
    // Positions count result columns: with `*` first, position k is column k.
    let p = route("SELECT * FROM customer ORDER BY 1 LIMIT 3");
    assert_eq!(
        p.targets[0].sql.as_deref(),
        Some("SELECT * FROM customer ORDER BY 1 LIMIT 3")
    );
    let m = p.merge.expect("merge");
    assert_eq!(m.hidden, 0);
    assert_eq!(m.order_by, vec![(Col::Item(0), false)]);
    let p = route("SELECT id, c.* FROM customer c ORDER BY 3 DESC, 1");
    let m = p.merge.expect("merge");
    // Column 3 is inside `*` (no helper: an ENUM there is refused by the merge); column
    // 1 is `id`.
    assert_eq!(m.hidden, 1);
    assert_eq!(m.helpers, vec![(Col::Item(0), Col::Hidden(0))]);
    assert_eq!(
        m.order_by,
        vec![(Col::Item(2), true), (Col::Item(0), false)]
    );
    // Never a constant sort or group key.
    let m = refused("SELECT id, name FROM customer ORDER BY 3");
    assert!(m.contains("Unknown column '3'"), "{m}");
    refused("SELECT id, COUNT(*) FROM customer GROUP BY 0");
    refused("SELECT id FROM customer ORDER BY 1.5");
    let p = route("SELECT name, COUNT(*) FROM customer GROUP BY 1 ORDER BY 2 DESC");
    let m = p.merge.expect("merge");
    assert_eq!(m.hidden, 1);
    assert_eq!(m.helpers, vec![(Col::Item(0), Col::Hidden(0))]);
    assert_eq!(m.group_by, vec![Col::Item(0)]);
    assert_eq!(m.order_by, vec![(Col::Item(1), true)]);
}

/// `tables`' column names as read from data node dn0.
fn columns(tables: &[(&str, &[&str])]) -> Lookups {
    let mut l = Lookups::new();
    for (t, cols) in tables {
        l.insert_columns(
            ColumnsOf {
                table: t.to_string(),
                node: "dn0".into(),
            },
            cols.iter()
                .map(|c| (c.to_string(), "int(11)".to_string()))
                .collect(),
        );
    }
    l
}

fn planned_with(sql: &str, l: &Lookups) -> Result<Planned, SqlError> {
    plan(&cat(), "shop", sql, l)
}

fn route_with(sql: &str, tables: &[(&str, &[&str])]) -> Plan {
    match planned_with(sql, &columns(tables)) {
        Ok(Planned::Route(p)) => p,
        other => panic!("{sql}: {other:?}"),
    }
}

fn error_with(sql: &str, tables: &[(&str, &[&str])]) -> SqlError {
    match planned_with(sql, &columns(tables)) {
        Err(e) => e,
        other => panic!("{sql} should fail: {other:?}"),
    }
}

fn asks_columns_of(sql: &str) -> Vec<String> {
    match planned_with(sql, &Lookups::new()) {
        Ok(Planned::Columns(c)) => c
            .into_iter()
            .map(|c| format!("{}@{}", c.table, c.node))
            .collect(),
        other => panic!("{sql} should ask for columns: {other:?}"),
    }
}

#[test]
fn group_by_name_that_is_also_an_alias() {
    // A name that is the alias of another expression: the tables' columns decide.
    let sql = "SELECT a % 2 AS a, COUNT(*) FROM customer GROUP BY a";
    assert_eq!(asks_columns_of(sql), vec!["customer@dn0"]);
    // customer has a column `a`: it wins, read in a hidden column.
    let p = route_with(sql, &[("customer", &["id", "A", "name"])]);
    let text = p.targets[0].sql.clone().unwrap_or_default();
    assert!(text.contains("a AS `__tandem_0`"), "{text}");
    assert!(text.contains("GROUP BY a"), "{text}");
    assert_eq!(p.merge.expect("merge").group_by, vec![Col::Hidden(0)]);
    // No such column: the alias, i.e. the select item.
    let p = route_with(sql, &[("customer", &["id", "name"])]);
    let m = p.merge.expect("merge");
    assert_eq!((m.hidden, m.group_by), (0, vec![Col::Item(0)]));
    // The column itself is selected (so the table has it): group by it, no lookup.
    let p = route("SELECT b AS a, a AS b, COUNT(*) FROM customer GROUP BY a");
    assert_eq!(p.merge.expect("merge").group_by, vec![Col::Item(1)]);
    // An alias of the same column is fine.
    let p = route("SELECT c.a AS a, COUNT(*) FROM customer c GROUP BY a");
    assert_eq!(p.merge.expect("merge").group_by, vec![Col::Item(0)]);
    // A qualified name is a column, never an alias.
    let p = route("SELECT a % 2 AS a, COUNT(*) FROM customer c GROUP BY c.a");
    assert_eq!(p.merge.expect("merge").group_by, vec![Col::Hidden(0)]);
    // On one node the node resolves the name itself.
    let p = route("SELECT a % 2 AS a, COUNT(*) FROM customer WHERE id = 7 GROUP BY a");
    assert_eq!((p.targets.len(), p.merge), (1, None));
    // ORDER BY still prefers the alias (as MySQL does).
    let p = route("SELECT a % 2 AS a, name FROM customer ORDER BY a");
    let m = p.merge.expect("merge");
    assert_eq!((m.hidden, m.order_by), (0, vec![(Col::Item(0), false)]));
}

#[test]
fn group_by_alias_resolves_as_the_server_does() {
    // The common report: a function of a column, grouped and ordered by its alias.
    let sql = "SELECT DATE(created) AS d, COUNT(*) AS n, SUM(total) FROM customer GROUP BY d ORDER BY d DESC LIMIT 3";
    let p = route_with(sql, &[("customer", &["id", "created", "total"])]);
    let m = p.merge.expect("merge");
    assert_eq!(m.group_by, vec![Col::Item(0)]);
    assert_eq!(m.order_by, vec![(Col::Item(0), true)]);
    assert_eq!(m.limit, Some(3));
    // In parentheses, and in another case: the same name.
    for g in ["(d)", "D", "`d`"] {
        let p = route_with(
            &format!("SELECT DATE(created) AS d, COUNT(*) FROM customer GROUP BY {g}"),
            &[("customer", &["id", "created"])],
        );
        assert_eq!(p.merge.expect("merge").group_by, vec![Col::Item(0)], "{g}");
    }
    // GROUP BY took the column: ORDER BY the name still means the alias, HAVING the
    // GROUP BY column.
    let p = route_with(
        "SELECT DATE(created) AS d, COUNT(*) FROM customer GROUP BY d HAVING d > 5 ORDER BY d",
        &[("customer", &["id", "created", "d"])],
    );
    let m = p.merge.expect("merge");
    assert_eq!(m.group_by, vec![Col::Hidden(0)]);
    assert_eq!(m.order_by, vec![(Col::Item(0), false)]);
    let having = format!("{:?}", m.having);
    assert!(
        having.contains(&format!("Col({})", HIDDEN_BASE)),
        "{having}"
    );
    // HAVING on the alias the rows are grouped by.
    let p = route_with(
        "SELECT YEAR(created) AS y, COUNT(*) FROM customer GROUP BY y HAVING y > 2020",
        &[("customer", &["id", "created"])],
    );
    let m = p.merge.expect("merge");
    assert_eq!(m.group_by, vec![Col::Item(0)]);
    assert!(format!("{:?}", m.having).contains("Col(0)"));
    // Grouping on an aggregate's alias: the server's error.
    let e = error_with(
        "SELECT city, COUNT(*) AS n FROM customer GROUP BY city, n",
        &[("customer", &["id", "city"])],
    );
    assert_eq!(
        (e.code, e.state.as_ref(), e.msg.as_str()),
        (1056, "42000", "Can't group on 'n'")
    );
    // ... unless the table has that column.
    let p = route_with(
        "SELECT COUNT(*) AS n FROM customer GROUP BY n",
        &[("customer", &["id", "n"])],
    );
    assert_eq!(p.merge.expect("merge").group_by, vec![Col::Hidden(0)]);
    // Two items of that alias computing different things: ambiguous, with no lookup.
    for clause in ["GROUP BY", "ORDER BY"] {
        let sql =
            format!("SELECT name AS e, id AS e, COUNT(*) FROM customer GROUP BY 1, 2 {clause} e");
        let sql = sql.replace("GROUP BY 1, 2 GROUP BY", "GROUP BY");
        let e = match planned_with(&sql, &Lookups::new()) {
            Err(e) => e,
            other => panic!("{sql}: {other:?}"),
        };
        assert_eq!(
            (e.code, e.state.as_ref(), e.msg.clone()),
            (
                1052,
                "23000",
                format!("Column 'e' in {clause} is ambiguous")
            ),
            "{sql}"
        );
    }
    // The same expression twice is one.
    let p = route_with(
        "SELECT LOWER(name) AS e, LOWER(name) AS e, COUNT(*) FROM customer GROUP BY e",
        &[("customer", &["id", "name"])],
    );
    assert_eq!(p.merge.expect("merge").group_by, vec![Col::Item(0)]);
}

#[test]
fn group_by_alias_over_joins_counts_the_tables_with_that_column() {
    let sql = "SELECT DATE(c.created) AS d, COUNT(*) FROM customer c JOIN province p ON c.province_id = p.id GROUP BY d";
    assert_eq!(asks_columns_of(sql), vec!["customer@dn0", "province@dn0"]);
    // Both tables have `d`: ambiguous as a column, so the server takes the alias.
    let p = route_with(
        sql,
        &[
            ("customer", &["id", "created", "d"]),
            ("province", &["id", "d"]),
        ],
    );
    assert_eq!(p.merge.expect("merge").group_by, vec![Col::Item(0)]);
    // One of them has it: the column.
    let p = route_with(
        sql,
        &[("customer", &["id", "created"]), ("province", &["id", "D"])],
    );
    assert_eq!(p.merge.expect("merge").group_by, vec![Col::Hidden(0)]);
    // Half known: asks for the rest.
    match planned_with(sql, &columns(&[("customer", &["id"])])) {
        Ok(Planned::Columns(c)) => assert_eq!(
            c,
            vec![ColumnsOf {
                table: "province".into(),
                node: "dn0".into()
            }]
        ),
        other => panic!("{other:?}"),
    }
    // A table joined to itself has the column twice: ambiguous, the alias.
    let p = route_with(
        "SELECT a.level + 1 AS d, COUNT(*) FROM customer a JOIN customer b ON a.id = b.id GROUP BY d",
        &[("customer", &["id", "level", "d"])],
    );
    assert_eq!(p.merge.expect("merge").group_by, vec![Col::Item(0)]);
    // `tandem explain` shows the lookup.
    let v = explain(&cat(), "shop", sql);
    assert_eq!(v["columns"][1]["table"], "province", "{v}");
    assert_eq!(
        v["columns"][1]["sql"], "SHOW COLUMNS FROM `province`",
        "{v}"
    );
}

#[test]
fn er_child_join_key_is_not_updatable() {
    let m = refused("UPDATE item_note SET item_id = 77 WHERE id = 3");
    assert!(m.contains("item_id") && m.contains("item_note"), "{m}");
    refused("UPDATE order_item SET order_id = 5000001 WHERE order_id = 1");
    // Not a move: the same value.
    assert_eq!(
        route("UPDATE item_note SET item_id = 7, x = 1 WHERE item_id = 7").nodes(),
        ["dn0", "dn1"]
    );
    match plan(
        &cat(),
        "shop",
        "INSERT INTO item_note (id, item_id) VALUES (1, 7) ON DUPLICATE KEY UPDATE item_id = 8",
        &Lookups::new(),
    ) {
        Err(e) => assert!(e.msg.contains("item_id"), "{}", e.msg),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sharding_key_update_only_as_a_no_op() {
    let text = CFG
        .replace(
            "        - { name: province,",
            "        - { name: coded, data_nodes: \"dn0,dn1\", rule: by-code }\n        - { name: province,",
        )
        .replace(
            "  rules:\n",
            "  rules:\n    - { name: by-code, column: code, function: { type: file-map, key_type: string, map: [\"5=0\", \"05=1\"] } }\n",
        );
    let cat = cat_of(&text);
    let run = |sql: &str| plan(&cat, "shop", sql, &Lookups::new());
    match run("UPDATE coded SET code = '05' WHERE code = '5'") {
        Err(e) => assert!(e.msg.contains("Sharding column"), "{}", e.msg),
        other => panic!("{other:?}"),
    }
    match run("UPDATE coded SET code = '5', x = 1 WHERE code = '5'") {
        Ok(Planned::Route(p)) => assert_eq!(p.nodes(), ["dn0"]),
        other => panic!("{other:?}"),
    }
    // As MyCat: any other value is refused, even one the rule keeps on the same node.
    refused("UPDATE customer SET id = 7 WHERE id = 1");
    refused("UPDATE customer SET id = '01' WHERE id = 1");
    refused("UPDATE customer SET id = 5000007 WHERE id = 1");
    assert_eq!(
        route("UPDATE customer SET id = 1, name = 'x' WHERE id = 1").nodes(),
        ["dn0"]
    );
}

#[test]
fn sql_calc_found_rows_needs_one_node() {
    let m = refused("SELECT SQL_CALC_FOUND_ROWS * FROM customer LIMIT 10");
    assert!(m.contains("SQL_CALC_FOUND_ROWS"), "{m}");
    assert_eq!(
        route("SELECT SQL_CALC_FOUND_ROWS * FROM customer WHERE id = 1 LIMIT 10").nodes(),
        ["dn0"]
    );
}

fn at(sql: &str, now: std::time::Duration) -> Result<Plan, String> {
    let mut l = Lookups::new();
    l.now = Some(now);
    match plan(&cat(), "shop", sql, &l) {
        Ok(Planned::Route(p)) => Ok(p),
        Ok(other) => panic!("{sql}: {other:?}"),
        Err(e) => Err(e.msg),
    }
}

#[test]
fn global_writes_refuse_per_node_functions() {
    let now = std::time::Duration::from_secs(1_700_000_000);
    for sql in [
        "INSERT INTO province (id, name) VALUES (1, UUID())",
        "INSERT INTO province (id, name) VALUES (1, uuid_short())",
        "UPDATE province SET name = RAND() WHERE id = 1",
        "UPDATE province SET name = SYSDATE()",
        "DELETE FROM province WHERE id = CONNECTION_ID()",
        "INSERT INTO province (id, name) VALUES (LAST_INSERT_ID(), 'x')",
        "INSERT INTO province SET id = 2, name = DATABASE()",
        "INSERT INTO province (id, name) VALUES (3, @@hostname)",
        "UPDATE province SET name = @@GLOBAL.server_id WHERE id = 1",
    ] {
        let m = at(sql, now).expect_err(sql);
        assert!(
            m.contains("global table") && m.contains("different value"),
            "{sql}: {m}"
        );
    }
    // The same functions are fine where one node runs the write, in strings, as
    // qualified names, and LAST_INSERT_ID(expr) is deterministic.
    at("INSERT INTO customer (id, name) VALUES (1, UUID())", now).expect("sharded");
    at("INSERT INTO province (id, name) VALUES (1, 'UUID()')", now).expect("string");
    at("UPDATE province SET name = @@sql_mode WHERE id = 1", now).expect("same variable");
    at(
        "UPDATE province SET name = LAST_INSERT_ID(7) WHERE id = 1",
        now,
    )
    .expect("arg");
    let p = at("INSERT INTO province (id, name) VALUES (1, 'x')", now).expect("plain");
    assert!(p.targets.iter().all(|t| t.sql.is_none()), "{p:?}");
}

#[test]
fn global_writes_get_one_clock_reading() {
    let now = std::time::Duration::new(1_700_000_000, 123_456_789);
    let p = at(
        "INSERT INTO province (id, name, created, ts6, d, t, u) VALUES (1, 'x', NOW(), CURRENT_TIMESTAMP(6), CURDATE(), CURTIME(3), UNIX_TIMESTAMP())",
        now,
    )
    .expect("routed");
    assert_eq!(p.nodes(), ["dn0", "dn1"]);
    let want = "INSERT INTO province (id, name, created, ts6, d, t, u) VALUES (1, 'x', FROM_UNIXTIME(1700000000), FROM_UNIXTIME(1700000000.123456), DATE(FROM_UNIXTIME(1700000000)), TIME(FROM_UNIXTIME(1700000000.123)), 1700000000)";
    for t in &p.targets {
        assert_eq!(t.sql.as_deref(), Some(want));
    }
    let p = at(
        "UPDATE province SET region = CURRENT_TIMESTAMP, name = UTC_TIMESTAMP(), d = UTC_DATE WHERE created < now() - INTERVAL 1 DAY AND u > UNIX_TIMESTAMP('2020-01-01')",
        now,
    )
    .expect("routed");
    assert_eq!(
        p.targets[1].sql.as_deref(),
        Some(
            "UPDATE province SET region = FROM_UNIXTIME(1700000000), name = TIMESTAMP'2023-11-14 22:13:20', d = DATE'2023-11-14' WHERE created < FROM_UNIXTIME(1700000000) - INTERVAL 1 DAY AND u > UNIX_TIMESTAMP('2020-01-01')"
        )
    );
    let p = at("DELETE FROM province WHERE created < NOW(2)", now).expect("routed");
    assert_eq!(
        p.targets[0].sql.as_deref(),
        Some("DELETE FROM province WHERE created < FROM_UNIXTIME(1700000000.12)")
    );
    // A column named like a function is left alone; a sharded table keeps NOW().
    let p = at("UPDATE province SET now = 1 WHERE id = 1", now).expect("column");
    assert!(p.targets.iter().all(|t| t.sql.is_none()), "{p:?}");
    let p = at("UPDATE customer SET created = NOW() WHERE id = 1", now).expect("sharded");
    assert_eq!(p.targets[0].sql, None);
    // Without a clock reading the write is refused rather than left to diverge.
    let m = match plan(
        &cat(),
        "shop",
        "UPDATE province SET region = NOW()",
        &Lookups::default(),
    ) {
        Err(e) => e.msg,
        other => panic!("{other:?}"),
    };
    assert!(m.contains("clock"), "{m}");
}

#[test]
fn hidden_columns_carry_whole_expressions() {
    // The parser's positions end early for function calls (`IFNULL(name, 'a'`) and
    // `x IS NULL` (just `x`), and start late for `BINARY x`.
    let hidden = |sql: &str| {
        let p = route(sql);
        p.targets[0].sql.clone().unwrap_or_default()
    };
    let s = hidden("SELECT id FROM customer ORDER BY IFNULL(name, 'a'), id");
    assert!(
        s.starts_with("SELECT id, IFNULL(name, 'a') AS `__tandem_0`, "),
        "{s}"
    );
    let s = hidden("SELECT id, name FROM customer ORDER BY name IS NULL, name");
    assert!(
        s.starts_with("SELECT id, name, name IS NULL AS `__tandem_0`, "),
        "{s}"
    );
    let s = hidden("SELECT id FROM customer ORDER BY BINARY name, id");
    assert!(
        s.starts_with("SELECT id, CAST(name AS BINARY) AS `__tandem_0`, "),
        "{s}"
    );
    let s = hidden("SELECT id, AVG(IFNULL(age, 0)) FROM customer GROUP BY id");
    assert!(
        s.starts_with(
            "SELECT id, SUM(IFNULL(age, 0)) AS `AVG(IFNULL(age, 0))`, COUNT(IFNULL(age, 0)) AS `__tandem_0`, "
        ),
        "{s}"
    );
    // Original text kept where the positions are right (escapes included).
    let s = hidden(r"SELECT id FROM customer ORDER BY CONCAT(name, 'a\\b'), id");
    assert!(
        s.starts_with(r"SELECT id, CONCAT(name, 'a\\b') AS `__tandem_0`, "),
        "{s}"
    );
}

/// Three schemas over four nodes: `shop` (check_sql_schema, sharded `customer`), `hr`
/// (check_sql_schema, sharded `emp`) and `plain` (check_sql_schema off, on a node whose
/// database has the schema's name, and `wide`, spread over nodes whose databases do
/// not).
const QUALIFIED: &str = r#"
node: t
router:
  listen: 127.0.0.1:18067
  admin_listen: off
  users:
    - { name: app, password: x, schemas: [shop, hr] }
    - { name: shop_only, password: x, schemas: [shop] }
  schemas:
    - name: shop
      data_node: dn0
      check_sql_schema: true
      tables:
        - { name: customer, data_nodes: "dn0,dn1", rule: by-id }
    - name: hr
      data_node: dn2
      check_sql_schema: true
      tables:
        - { name: emp, data_nodes: "dn1,dn2", rule: by-id }
    - name: plain
      data_node: dn3
      tables:
        - { name: wide, data_nodes: "dn0,dn3", rule: by-id }
  data_nodes:
    - { name: dn0, data_host: h0, database: shop_0 }
    - { name: dn1, data_host: h0, database: shop_1 }
    - { name: dn2, data_host: h1, database: hr_db }
    - { name: dn3, data_host: h1, database: plain }
  data_hosts:
    - { name: h0, write_hosts: [ { host: m0, url: "127.0.0.1:3306", user: root } ] }
    - { name: h1, write_hosts: [ { host: m1, url: "127.0.0.1:3307", user: root } ] }
  rules:
    - { name: by-id, column: id, function: { type: range-long, map: ["0-500M=0", "500M-1000M=1"] } }
"#;

fn qualified_route(schema: &str, sql: &str) -> Plan {
    match plan(&cat_of(QUALIFIED), schema, sql, &Lookups::new()) {
        Ok(Planned::Route(p)) => p,
        other => panic!("{sql}: {other:?}"),
    }
}

fn qualified_err(schema: &str, sql: &str) -> SqlError {
    match plan(&cat_of(QUALIFIED), schema, sql, &Lookups::new()) {
        Err(e) => e,
        other => panic!("{sql} should be refused: {other:?}"),
    }
}

/// [`qualify`] as user `user` in `schema`.
fn qualify_as(user: &str, schema: Option<&str>, sql: &str) -> Result<Qualified, SqlError> {
    let cat = cat_of(QUALIFIED);
    let schemas: Vec<String> = if user == "app" {
        vec!["shop".into(), "hr".into()]
    } else {
        vec!["shop".into()]
    };
    qualify(&cat, &Grants::user(user, &schemas), schema, sql)
}

#[test]
fn backend_database_names_are_refused() {
    // `shop_1` is dn1's database: it never runs as the sharded `customer` on both nodes
    // (both nodes on one server would each read shop_1), nor on the default node.
    for sql in [
        "SELECT * FROM shop_1.customer",
        "SELECT * FROM `shop_1`.`customer` WHERE id = 1",
        "DELETE FROM shop_0.customer WHERE id = 5000001",
        "UPDATE shop_0.customer SET name = 'x' WHERE id = 1",
        "INSERT INTO shop_1.customer (id) VALUES (5000001)",
        "REPLACE INTO shop_1.customer (id) VALUES (5000001)",
        "SELECT * FROM customer c JOIN shop_1.other o ON o.id = c.id",
        "SELECT * FROM customer WHERE id IN (SELECT id FROM shop_1.other)",
        "SELECT shop_1.customer.id FROM customer",
        "CREATE TABLE shop_1.x (id INT)",
        "DROP TABLE IF EXISTS shop_0.customer",
        "ALTER TABLE shop_0.customer ADD COLUMN x INT",
        "TRUNCATE shop_0.other",
        "SHOW CREATE PROCEDURE shop_0.p",
        "CALL shop_0.p(1)",
        "SELECT shop_0.f(1)",
        "/*!mycat: datanode=dn1 */ SELECT * FROM shop_1.customer",
        "/*!mycat: sql=SELECT * FROM customer WHERE id = 1 */ SELECT * FROM shop_1.customer",
        "/*!mycat: sql=SELECT * FROM shop_1.customer */ SELECT 1",
        "SELECT * FROM shop_0 . other",
        "SELECT 1; SELECT * FROM shop_1.other",
    ] {
        let e = qualified_err("shop", sql);
        assert_eq!(e.code, 1044, "{sql}: {}", e.msg);
        assert!(
            e.msg.contains("use schema ") && e.msg.contains("'shop'"),
            "{sql}: {}",
            e.msg
        );
    }
    // As a user: the MySQL message, then which schema to use.
    let e = qualify_as("app", Some("shop"), "SELECT * FROM shop_1.customer").expect_err("refused");
    assert!(
        e.msg.starts_with("Access denied for user 'app'@'%' to database 'shop_1': 'shop_1' is the database of data node dn1"),
        "{}",
        e.msg
    );
    // A node of a schema the user may not use: no hint about it.
    let e = qualify_as("shop_only", Some("shop"), "SELECT * FROM hr_db.emp").expect_err("refused");
    assert_eq!(
        (e.code, e.msg.as_str()),
        (
            1044,
            "Access denied for user 'shop_only'@'%' to database 'hr_db'"
        )
    );
}

#[test]
fn other_databases_are_refused_with_1044() {
    for sql in [
        "SELECT * FROM otherdb.t",
        "SELECT * FROM otherdb.t WHERE id = 1",
        "SELECT a FROM t WHERE b IN (SELECT b FROM otherdb.t)",
        "INSERT INTO otherdb.t VALUES (1)",
        "INSERT INTO t SELECT * FROM otherdb.t",
        "UPDATE t JOIN otherdb.u ON u.id = t.id SET t.a = u.a",
        "DELETE t FROM t JOIN otherdb.u ON u.id = t.id",
        "SELECT otherdb.t.a FROM t",
        "SELECT * FROM t, otherdb.t2",
        "CREATE VIEW v AS SELECT * FROM otherdb.t",
        "RENAME TABLE t TO otherdb.t",
        "LOCK TABLES otherdb.t READ",
        "SELECT NEXTVAL(otherdb.s)",
        "EXPLAIN SELECT * FROM otherdb.t",
        "SELECT 1 /*!, (SELECT a FROM otherdb.t) */",
        "SELECT * FROM `otherdb`.t",
        "SELECT * FROM 1db.t",
        "SELECT * FROM customer WHERE id = 1 UNION SELECT * FROM otherdb.t",
        "/*!mycat: db_type=master */ SELECT * FROM otherdb.t",
        "PREPARE s FROM 'SELECT * FROM otherdb.t'",
        // Text the parser cannot read is checked by its tokens.
        "SELECT * FROM otherdb.t PROCEDURE ANALYSE() WITH ROLLUP OOPS",
    ] {
        let e = qualified_err("shop", sql);
        assert_eq!(e.code, 1044, "{sql}: {}", e.msg);
        assert!(
            e.msg.contains("'otherdb'") || e.msg.contains("'1db'"),
            "{sql}: {}",
            e.msg
        );
        let e = qualify_as("app", Some("shop"), sql).expect_err(sql);
        assert_eq!(e.code, 1044, "{sql}: {}", e.msg);
    }
    // A schema of the router the user may not use.
    let e = qualify_as("shop_only", Some("shop"), "SELECT * FROM hr.emp").expect_err("refused");
    assert_eq!(
        (e.code, e.msg.as_str()),
        (
            1044,
            "Access denied for user 'shop_only'@'%' to database 'hr'"
        )
    );
    // Without a schema selected too.
    let e = qualify_as("shop_only", None, "SELECT * FROM hr.emp").expect_err("refused");
    assert_eq!(e.code, 1044);
    // Text a server would build: refused, not guessed.
    for sql in [
        "PREPARE s FROM @q",
        "EXECUTE IMMEDIATE CONCAT('SELECT * FROM other', 'db.t')",
    ] {
        let e = qualify_as("app", Some("shop"), sql).expect_err(sql);
        assert_eq!(e.code, 1105, "{sql}");
    }
    assert_eq!(
        qualify_as(
            "app",
            Some("shop"),
            "PREPARE s FROM 'SELECT * FROM t WHERE id = ?'"
        ),
        Ok(Qualified::default())
    );
}

#[test]
fn table_and_alias_qualifiers_are_not_databases() {
    for sql in [
        "SELECT c.id, c.name FROM customer c WHERE c.id = 5000001",
        "SELECT customer.id FROM customer WHERE customer.id = 5000001",
        "SELECT c.* FROM customer AS c WHERE c.id = 5000001",
        "SELECT TRIM(BOTH ' ' FROM c.name) FROM customer c WHERE c.id = 5000001",
        "SELECT EXTRACT(YEAR FROM c.created) FROM customer c WHERE c.id = 5000001",
        "UPDATE customer c SET c.name = 'x' WHERE c.id = 5000001",
        "SELECT price * 1.5 FROM customer WHERE id = 5000001 AND name = 'a.b'",
        "SELECT id FROM customer WHERE id = 5000001 AND note = 'otherdb.t'",
    ] {
        let p = qualified_route("shop", sql);
        assert_eq!(p.nodes(), ["dn1"], "{sql}");
        assert_eq!(
            qualify_as("app", Some("shop"), sql),
            Ok(Qualified::default()),
            "{sql}"
        );
    }
    let p = qualified_route("shop", "SELECT x.id FROM (SELECT o.id FROM other o) x");
    assert_eq!((p.nodes(), p.targets[0].sql.clone()), (vec!["dn0"], None));
    // The servers' system databases pass through as written.
    let p = qualified_route("shop", "SELECT * FROM information_schema.tables");
    assert_eq!((p.nodes(), p.targets[0].sql.clone()), (vec!["dn0"], None));
    for sql in [
        "SELECT * FROM mysql.user",
        "SELECT * FROM performance_schema.threads",
        "SELECT * FROM sys.version",
        "SELECT * FROM INFORMATION_SCHEMA.TABLES t JOIN other o ON o.n = t.table_name",
    ] {
        assert_eq!(
            qualify_as("shop_only", Some("shop"), sql),
            Ok(Qualified::default()),
            "{sql}"
        );
    }
}

#[test]
fn another_schema_of_the_user_is_planned_there() {
    // MyCat 1.6 (ServerConnection.execute, checkSQLschema) routes a statement on
    // `hr.emp` in schema hr; tandem does when every table is in hr.
    let p = qualified_route("shop", "SELECT * FROM hr.emp WHERE id = 5000001");
    assert_eq!(p.nodes(), ["dn2"]);
    assert_eq!(
        p.targets[0].sql.as_deref(),
        Some("SELECT * FROM emp WHERE id = 5000001")
    );
    let p = qualified_route("shop", "SELECT e.name FROM hr.emp e WHERE e.id = 1");
    assert_eq!(p.nodes(), ["dn1"]);
    assert_eq!(
        p.targets[0].sql.as_deref(),
        Some("SELECT e.name FROM emp e WHERE e.id = 1")
    );
    // Unlisted tables of hr: its data node.
    let p = qualified_route("shop", "SELECT * FROM hr.dept");
    assert_eq!(
        (p.nodes(), p.targets[0].sql.as_deref()),
        (vec!["dn2"], Some("SELECT * FROM dept"))
    );
    let p = qualified_route("shop", "DELETE FROM hr.emp WHERE id = 1");
    assert_eq!(
        (p.nodes(), p.targets[0].sql.as_deref()),
        (vec!["dn1"], Some("DELETE FROM emp WHERE id = 1"))
    );
    let p = qualified_route(
        "shop",
        "SELECT COUNT(*) FROM hr.dept JOIN information_schema.tables t ON t.table_name = 'dept'",
    );
    assert_eq!(
        (p.nodes(), p.targets[0].sql.as_deref()),
        (
            vec!["dn2"],
            Some(
                "SELECT COUNT(*) FROM dept JOIN information_schema.tables t ON t.table_name = 'dept'"
            )
        )
    );
    // For a session: the schema and text to plan.
    assert_eq!(
        qualify_as("app", Some("shop"), "INSERT INTO hr.emp (id) VALUES (7)"),
        Ok(Qualified {
            schema: Some("hr".into()),
            text: Some("INSERT INTO emp (id) VALUES (7)".into()),
            kept: Vec::new(),
        })
    );
    assert_eq!(
        qualify_as("app", None, "SELECT * FROM hr.emp WHERE id = ?").map(|q| q.schema),
        Ok(Some("hr".into()))
    );
    // Tables of two schemas, or an unqualified one (the session's): refused.
    for (sql, word) in [
        (
            "SELECT * FROM hr.emp JOIN customer c ON c.id = emp.id",
            "`customer`",
        ),
        (
            "SELECT * FROM hr.emp e JOIN shop.customer c ON c.id = e.id",
            "schemas",
        ),
        (
            "SELECT * FROM hr.emp WHERE id IN (SELECT id FROM customer)",
            "`customer`",
        ),
        ("/*!mycat: datanode=dn2 */ SELECT * FROM hr.emp", "hint"),
        ("SELECT 1; SELECT * FROM hr.emp", "multi-statement"),
        (
            "SELECT * FROM hr.emp PROCEDURE ANALYSE() OOPS",
            "cannot parse",
        ),
    ] {
        let e = qualified_err("shop", sql);
        assert_eq!(e.code, 1105, "{sql}");
        assert!(e.msg.contains(word), "{sql}: {}", e.msg);
    }
    // WITH names are not tables.
    let p = qualified_route("shop", "WITH x AS (SELECT * FROM hr.dept) SELECT * FROM x");
    assert_eq!(
        (p.nodes(), p.targets[0].sql.as_deref()),
        (
            vec!["dn2"],
            Some("WITH x AS (SELECT * FROM dept) SELECT * FROM x")
        )
    );
}

#[test]
fn own_schema_qualifier_without_check_sql_schema() {
    // check_sql_schema off: `plain.` goes to the servers as written, which is right on
    // dn3 (database `plain`) and wrong on dn0 (database shop_0).
    let p = qualified_route("plain", "SELECT * FROM plain.other");
    assert_eq!((p.nodes(), p.targets[0].sql.clone()), (vec!["dn3"], None));
    let p = qualified_route("plain", "SELECT * FROM plain.wide WHERE id = 5000001");
    assert_eq!(p.nodes(), ["dn3"]);
    let e = qualified_err("plain", "SELECT * FROM plain.wide WHERE id = 1");
    assert!(e.msg.contains("data node dn0"), "{}", e.msg);
    let e = qualified_err("plain", "SELECT * FROM plain.wide");
    assert!(e.msg.contains("check_sql_schema"), "{}", e.msg);
    // An alias that happens to have the schema's name is no qualifier of it.
    let p = qualified_route(
        "plain",
        "SELECT plain.id FROM wide plain WHERE plain.id = 1",
    );
    assert_eq!(p.nodes(), ["dn0"]);
    let q = qualify_as("app", Some("plain"), "SELECT * FROM `plain`.other").expect("ok");
    assert_eq!(q.kept, ["plain"]);
    // check_sql_schema on: removed, also with spaces and in every statement of a text.
    assert_eq!(
        qualify_as(
            "app",
            Some("shop"),
            "SELECT * FROM shop . other; SELECT shop.t.a FROM shop.t"
        )
        .map(|q| q.text),
        Ok(Some("SELECT * FROM  other; SELECT t.a FROM t".into()))
    );
}

#[test]
fn datanode_hints_stay_within_the_users_schemas() {
    // The hint picks a node; it does not open the nodes of other schemas.
    let e = qualify_as(
        "shop_only",
        Some("shop"),
        "/*!mycat: datanode=dn2 */ SELECT * FROM emp",
    )
    .expect_err("refused");
    assert!(e.msg.contains("datanode=dn2"), "{}", e.msg);
    assert_eq!(
        qualify_as(
            "shop_only",
            Some("shop"),
            "/*!mycat: datanode=dn1 */ SELECT * FROM t"
        ),
        Ok(Qualified::default())
    );
    // With the schema's own qualifier (check_sql_schema: removed).
    let p = qualified_route("shop", "/*!mycat: datanode=dn1 */ SELECT * FROM shop.t");
    assert_eq!(p.targets[0].sql.as_deref(), Some(" SELECT * FROM t"));
}

#[test]
fn set_statement_and_dynamic_sql_on_listed_tables_are_refused() {
    assert_eq!(
        set_statement_body("SET STATEMENT a = (1), b = 'for' FOR SELECT 1 FOR UPDATE"),
        Some(" SELECT 1 FOR UPDATE")
    );
    assert_eq!(set_statement_body("SET @a = 1"), None);
    assert_eq!(set_statement_body("SET STATEMENT a = 1; SELECT 1"), None);
    let sc = cat();
    let shop = sc.schema("shop").expect("shop");
    assert!(
        set_statement_refusal(
            shop,
            "set statement max_statement_time=1 for select * from `customer`"
        )
        .is_some()
    );
    assert!(
        set_statement_refusal(
            shop,
            "SET STATEMENT max_statement_time=1 FOR SELECT * FROM plain"
        )
        .is_none()
    );
    // Planned (a prepared statement's text): refused, not run on dn0.
    assert!(
        refused("SET STATEMENT max_statement_time=1 FOR SELECT COUNT(*) FROM customer")
            .contains("SET STATEMENT")
    );
    let q = |sql: &str| qualify(&sc, &Grants::ALL, Some("shop"), sql);
    for sql in [
        "PREPARE s FROM 'SELECT * FROM customer'",
        "EXECUTE IMMEDIATE 'DELETE FROM product'",
    ] {
        let e = q(sql).expect_err(sql);
        assert!(e.msg.contains("one data node"), "{sql}: {}", e.msg);
    }
    assert!(q("EXECUTE IMMEDIATE 'SELECT * FROM plain'").is_ok());
}

#[test]
fn limit_of_an_executed_placeholder_is_a_row_count() {
    // `LIMIT ?` / `OFFSET ?` executed with a string (mysql2, PDO) or a DOUBLE (mysql2's
    // numbers) reaches the planner with the value filled in as the router renders it.
    for (sql, offset, limit) in [
        ("SELECT id FROM customer ORDER BY id LIMIT '3'", 0, 3),
        ("SELECT id FROM customer ORDER BY id LIMIT 3e0", 0, 3),
        (
            "SELECT id FROM customer ORDER BY id LIMIT '2' OFFSET '1'",
            1,
            2,
        ),
        ("SELECT id FROM customer ORDER BY id LIMIT 1e0, 2e0", 1, 2),
    ] {
        let mut executed = Lookups::new();
        executed.executed = true;
        let p = match plan(&cat(), "shop", sql, &executed) {
            Ok(Planned::Route(p)) => p,
            other => panic!("{sql}: {other:?}"),
        };
        let m = p.merge.expect("merge");
        assert_eq!((m.offset, m.limit), (offset, Some(limit)), "{sql}");
        let node = p.targets[0].sql.clone().unwrap_or_default();
        assert!(
            node.ends_with(&format!("LIMIT {}", offset + limit)),
            "{sql}: {node}"
        );
    }
    // At the prepare, `?` is planned to pick a node; the clause stays as written.
    for sql in [
        "SELECT id FROM customer ORDER BY id LIMIT ?",
        "SELECT id FROM customer ORDER BY id LIMIT ? OFFSET ?",
        "SELECT id FROM customer ORDER BY id LIMIT ?, ?",
    ] {
        let p = route(sql);
        assert_eq!(
            p.targets[0].sql.as_deref().map(|t| t.ends_with('?')),
            Some(true),
            "{sql}"
        );
    }
    for sql in [
        "SELECT id FROM customer ORDER BY id LIMIT '2.5'",
        "SELECT id FROM customer ORDER BY id LIMIT 2.5e0",
        "SELECT id FROM customer ORDER BY id LIMIT 'x'",
        "SELECT id FROM customer ORDER BY id LIMIT -1e0",
    ] {
        let mut l = columns(&[("customer", &["id"])]);
        l.executed = true;
        let e = planned_with(sql, &l).expect_err(sql);
        assert_eq!(e.code, 1105, "{sql}: {e}");
    }
    // In a text statement a quoted LIMIT or OFFSET is the server's syntax error.
    for (sql, near) in [
        ("SELECT id FROM customer ORDER BY id LIMIT '3'", "'3'"),
        (
            "SELECT id FROM customer ORDER BY id LIMIT 2 OFFSET '1' -- c",
            "'1' -- c",
        ),
        ("SELECT id FROM customer ORDER BY id LIMIT '1', 2", "'1', 2"),
    ] {
        let e = error_with(sql, &[("customer", &["id"])]);
        assert_eq!(e.code, 1064, "{sql}: {e}");
        assert_eq!(e.state, "42000");
        assert_eq!(
            e.msg,
            format!(
                "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near '{near}' at line 1"
            )
        );
    }
    let e = error_with(
        "SELECT id FROM customer\nORDER BY id\nLIMIT \"2\"",
        &[("customer", &["id"])],
    );
    assert!(e.msg.ends_with("near '\"2\"' at line 3"), "{e}");
}

/// `table`'s columns (name, type) as read from data node dn0.
fn typed(table: &str, cols: &[(&str, &str)]) -> Lookups {
    let mut l = Lookups::new();
    l.insert_columns(
        ColumnsOf {
            table: table.into(),
            node: "dn0".into(),
        },
        cols.iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
    );
    l
}

fn nodes_with(sql: &str, l: &Lookups) -> Vec<String> {
    match planned_with(sql, l) {
        Ok(Planned::Route(p)) => p.targets.into_iter().map(|t| t.node).collect(),
        other => panic!("{sql}: {other:?}"),
    }
}

#[test]
fn quoted_values_of_an_integer_sharding_column_are_read_as_the_server_stores_them() {
    // product: mod-long over dn0,dn1 on `id`; 7 lives on dn1, 8 on dn0.
    let int = typed("product", &[("id", "int(11)"), ("name", "varchar(20)")]);
    let quoted = [" 7", "7 ", "+7", "007", "7\\r", "7.0", "7e0", "\\t+0007 "];
    for v in quoted {
        for sql in [
            format!("INSERT INTO product (id, name) VALUES ('{v}', 'x')"),
            format!("INSERT INTO product (id, name) VALUES (8, 'y'), ('{v}', 'x')"),
            format!("SELECT * FROM product WHERE id = '{v}'"),
            format!("UPDATE product SET name = 'z' WHERE id = '{v}'"),
            format!("DELETE FROM product WHERE id IN ('{v}')"),
        ] {
            // The type decides how the server reads the value: the planner asks for it.
            assert_eq!(asks_columns_of(&sql), vec!["product@dn0"], "{sql}");
            let nodes = nodes_with(&sql, &int);
            assert_eq!(nodes.last().map(String::as_str), Some("dn1"), "{sql}");
        }
    }
    assert_eq!(
        nodes_with("SELECT * FROM product WHERE id = '-8'", &Lookups::new()),
        ["dn0"],
        "a value written as the server writes the number needs no type"
    );
    assert_eq!(
        nodes_with("SELECT * FROM product WHERE id = ' -0008'", &int),
        ["dn0"]
    );
    // Not a whole number, or not a number: refused, not guessed.
    for v in ["7.5", "abc", "", "- 7", "0x7", "7x"] {
        let sql = format!("INSERT INTO product (id, name) VALUES ('{v}', 'x')");
        let e = match planned_with(&sql, &int) {
            Err(e) => e,
            other => panic!("{sql} should be refused: {other:?}"),
        };
        assert_eq!(e.code, 1105, "{sql}");
        assert!(
            e.msg.contains("integer sharding column `id`"),
            "{sql}: {}",
            e.msg
        );
    }
    // A text column keeps the value as written (the partition function reads it).
    let text = typed("product", &[("id", "varchar(20)")]);
    assert_eq!(
        nodes_with("SELECT * FROM product WHERE id = '007'", &text),
        nodes_with("SELECT * FROM product WHERE id = 7", &text)
    );
    let e = match planned_with("SELECT * FROM product WHERE id = '7.5'", &text) {
        Err(e) => e.msg,
        Ok(p) => format!("{p:?}"),
    };
    assert!(!e.contains("integer sharding column"), "{e}");
}

#[test]
fn integer_text_as_mariadb_reads_it() {
    use route::{IntText, int_text};
    let w = |s: &str| IntText::Whole(s.into());
    assert_eq!(int_text(" 7"), w("7"));
    assert_eq!(int_text("7\r\n"), w("7"));
    assert_eq!(int_text("+007"), w("7"));
    assert_eq!(int_text("-0"), w("0"));
    assert_eq!(int_text("-070"), w("-70"));
    assert_eq!(int_text("0.7e1"), w("7"));
    assert_eq!(int_text("7.5"), IntText::NotWhole);
    assert_eq!(int_text("7e-1"), IntText::NotWhole);
    assert_eq!(int_text("abc"), IntText::NotANumber);
    assert_eq!(int_text(""), IntText::NotANumber);
    assert_eq!(int_text("+-7"), IntText::NotANumber);
    assert_eq!(int_text("7 7"), IntText::NotANumber);
}

#[test]
fn group_by_with_a_direction_sorts_the_merged_groups_that_way() {
    let p =
        route("SELECT name, province_id, COUNT(*) FROM customer GROUP BY name DESC, province_id");
    let m = p.merge.expect("merge");
    assert_eq!(m.group_by, vec![Col::Item(0), Col::Item(1)]);
    assert_eq!(
        m.order_by,
        vec![(Col::Item(0), true), (Col::Item(1), false)]
    );
    // The nodes get the statement as written (MariaDB takes the words).
    let text = p.targets[0].sql.clone().unwrap_or_default();
    assert!(text.contains("GROUP BY name DESC, province_id"), "{text}");
    // ORDER BY decides when there is one.
    let p = route("SELECT name, COUNT(*) FROM customer GROUP BY name DESC ORDER BY 2");
    assert_eq!(
        p.merge.expect("merge").order_by,
        vec![(Col::Item(1), false)]
    );
    // ASC alone is the implicit order.
    let p = route("SELECT name, COUNT(*) FROM customer GROUP BY name ASC");
    assert_eq!(p.merge.expect("merge").order_by, vec![]);
    // One node: the statement as it is.
    let p = route("SELECT name, COUNT(*) FROM customer WHERE id = 1 GROUP BY name DESC");
    assert_eq!(p.targets.len(), 1);
    assert!(p.merge.is_none());
}

#[test]
fn group_by_an_expression_of_a_select_alias() {
    let sql = "SELECT DATE(created) AS d, COUNT(*) FROM customer GROUP BY YEAR(d)";
    // Whether `d` is a column decides: the planner reads the columns.
    assert_eq!(asks_columns_of(sql), vec!["customer@dn0"]);
    let cols: &[&str] = &["id", "name", "created", "level"];
    let p = route_with(sql, &[("customer", cols)]);
    let text = p.targets[0].sql.clone().unwrap_or_default();
    assert!(text.contains("YEAR((DATE(created)))"), "{text}");
    assert_eq!(p.merge.expect("merge").group_by, vec![Col::Hidden(0)]);
    // A column of that name wins, as on the server: the expression as written.
    let p = route_with(
        "SELECT balance AS level, COUNT(*) FROM customer GROUP BY level + 1",
        &[("customer", cols)],
    );
    let text = p.targets[0].sql.clone().unwrap_or_default();
    assert!(text.contains("level + 1"), "{text}");
    // The alias of an aggregate: the server's error.
    let e = error_with(
        "SELECT city, COUNT(*) AS n FROM customer GROUP BY city, n + 1",
        &[("customer", cols)],
    );
    assert_eq!(e.code, 1247, "{}", e.msg);
    assert!(e.msg.contains("Reference 'n' not supported"), "{}", e.msg);
}

/// `tandem explain` reads no server: a quoted sharding value whose column type it cannot
/// know is placed as written, and the note says the router reads the type first.
#[test]
fn explain_places_a_quoted_value_as_written_and_says_so() {
    let v = super::explain(&cat(), "shop", "SELECT * FROM hashed WHERE id = '007'");
    assert_eq!(v["nodes"].as_array().map(Vec::len), Some(1), "{v}");
    let note = v["note"].as_str().unwrap_or_default();
    assert!(note.contains("placed as written here"), "{v}");
    let v = super::explain(&cat(), "shop", "SELECT * FROM hashed WHERE id = 7");
    assert!(v["note"].is_null(), "{v}");
}

#[test]
fn having_names_columns_as_the_server_resolves_them() {
    // A column only inside a GROUP BY / select expression is unknown to HAVING on one
    // server (error 1054), even when the whole expression is selected or grouped.
    for sql in [
        "SELECT LOWER(name) AS a0, COUNT(*) FROM customer GROUP BY LOWER(name) HAVING LOWER(name) IS NOT NULL",
        "SELECT LEFT(name, 2), COUNT(*) FROM customer GROUP BY 1 HAVING COUNT(*) > 1 OR LEFT(name, 2) IS NOT NULL",
        "SELECT COUNT(*) FROM customer c GROUP BY UPPER(c.name) HAVING UPPER(c.name) > 'B'",
    ] {
        let e = match plan(&cat(), "shop", sql, &Lookups::new()) {
            Err(e) => e,
            other => panic!("{sql} should fail: {other:?}"),
        };
        assert_eq!(
            (e.code, e.msg.contains("in 'HAVING'")),
            (1054, true),
            "{sql}: {}",
            e.msg
        );
    }
    // The column is grouped or selected as itself, or the name is an alias; columns
    // inside aggregates are the aggregate's.
    for sql in [
        "SELECT name, COUNT(*) FROM customer GROUP BY name, LEFT(name, 2) HAVING LEFT(name, 2) > 'a'",
        "SELECT name, LOWER(name) AS l, COUNT(*) FROM customer GROUP BY 2 HAVING LOWER(name) > 'a'",
        "SELECT LOWER(name) AS l, COUNT(*) FROM customer GROUP BY l HAVING IFNULL(COUNT(name), 0) > 1",
    ] {
        if let Err(e) = plan(&cat(), "shop", sql, &Lookups::new()) {
            assert_ne!(e.code, 1054, "{sql}: {}", e.msg);
        }
    }
}

// == UNION across data nodes (see select/union.rs) ==

/// The text each node gets.
fn node_sql(p: &Plan, node: &str) -> String {
    p.targets
        .iter()
        .find(|t| t.node == node)
        .and_then(|t| t.sql.clone())
        .unwrap_or_default()
}

#[test]
fn union_all_goes_to_every_node_holding_rows_of_a_select() {
    let sql = "SELECT id, name FROM customer WHERE id IN (1, 2) UNION ALL SELECT id, name FROM customer WHERE id = 5000001";
    let p = route(sql);
    assert_eq!(p.nodes(), ["dn0", "dn1"]);
    let m = p.merge.clone().expect("merge");
    assert!(m.is_concat(), "{m:?}");
    // Pruned SELECTs: made false where their rows are not, so that each node still
    // derives the same column types from both.
    assert_eq!(
        node_sql(&p, "dn0"),
        "SELECT id, name FROM customer WHERE id IN (1, 2) UNION ALL SELECT id, name FROM customer WHERE ( id = 5000001) AND 0"
    );
    assert_eq!(
        node_sql(&p, "dn1"),
        "SELECT id, name FROM customer WHERE ( id IN (1, 2)) AND 0 UNION ALL SELECT id, name FROM customer WHERE id = 5000001"
    );
    // Both SELECTs on one node: the statement as written.
    let p =
        route("SELECT id FROM customer WHERE id = 1 UNION SELECT id FROM my_order WHERE id = 2");
    assert_eq!(p.nodes(), ["dn0"]);
    assert_eq!(p.targets[0].sql, None);
    assert!(p.merge.is_none());
}

#[test]
fn union_rows_of_global_tables_and_constants_come_from_one_node() {
    let sql = "SELECT name FROM province UNION ALL SELECT 'x' UNION ALL SELECT name FROM customer";
    let p = route(sql);
    assert_eq!(p.nodes(), ["dn0", "dn1"]);
    assert_eq!(node_sql(&p, "dn0"), sql);
    assert_eq!(
        node_sql(&p, "dn1"),
        "SELECT name FROM province WHERE 0 UNION ALL SELECT 'x' FROM DUAL WHERE 0 UNION ALL SELECT name FROM customer"
    );
    // Global tables only: any one copy, unchanged.
    let p = route("SELECT name FROM province WHERE id < 3 UNION SELECT 'x'");
    assert!(p.any_one);
    assert_eq!(p.targets[0].sql, None);
}

#[test]
fn union_distinct_merges_in_select_order_with_collation_weights() {
    let p = route(
        "SELECT name FROM customer UNION SELECT name FROM province ORDER BY name DESC LIMIT 2, 3",
    );
    let m = p.merge.clone().expect("merge");
    assert!(m.distinct);
    assert_eq!((m.offset, m.limit, m.hidden), (2, Some(3), 2));
    // The name, then the SELECT's number: of equal names the first SELECT's shows.
    assert_eq!(m.order_by, [(Col::Item(0), true), (Col::Hidden(1), false)]);
    assert_eq!(m.text_helpers, [(Col::Item(0), Col::Hidden(0))]);
    let h = format!("CONCAT(COLLATION(name), {})", text_helper_sql("name"));
    assert_eq!(
        node_sql(&p, "dn0"),
        format!(
            "SELECT name, {h} AS `__tandem_0`, 1 AS `__tandem_1` FROM customer UNION SELECT name, {h} AS `__tandem_0`, 2 AS `__tandem_1` FROM province ORDER BY name DESC, `__tandem_1` "
        )
    );
    // UNION ALL: the nodes' LIMIT is offset + count.
    let p = route(
        "SELECT id AS k FROM customer UNION ALL SELECT id FROM product ORDER BY k DESC LIMIT 2, 3",
    );
    let m = p.merge.clone().expect("merge");
    assert_eq!(m.order_by, [(Col::Item(0), true)]);
    assert!(
        node_sql(&p, "dn1").ends_with("ORDER BY k DESC LIMIT 5"),
        "{p:?}"
    );
}

#[test]
fn union_order_by_names_a_result_column_as_the_server_does() {
    let err = |sql: &str| match plan(&cat(), "shop", sql, &Lookups::new()) {
        Err(e) => (e.code, e.msg),
        other => panic!("{sql}: {other:?}"),
    };
    let u = "SELECT id, name FROM customer UNION ALL SELECT id, name FROM product";
    assert_eq!(
        err(&format!("{u} ORDER BY 3")),
        (1054, "Unknown column '3' in 'ORDER BY'".into())
    );
    assert_eq!(
        err(&format!("{u} ORDER BY nm")),
        (1054, "Unknown column 'nm' in 'ORDER BY'".into())
    );
    assert_eq!(err(&format!("{u} ORDER BY customer.id")).0, 1250);
    assert_eq!(
        err(
            "SELECT id, name AS id FROM customer UNION ALL SELECT id, name FROM product ORDER BY id"
        )
        .0,
        1052
    );
    assert_eq!(err(&format!("{u} ORDER BY id + 1")).0, 1105);
    let p = route(&format!("{u} ORDER BY (NAME), 1 DESC"));
    assert_eq!(
        p.merge.expect("merge").order_by,
        [(Col::Item(1), false), (Col::Item(0), true)]
    );
}

#[test]
fn unions_the_merge_cannot_answer_are_refused() {
    for sql in [
        "SELECT id FROM customer INTERSECT ALL SELECT id FROM product",
        "SELECT id FROM customer EXCEPT SELECT id FROM product UNION ALL SELECT 1",
        "SELECT level, COUNT(*) FROM customer GROUP BY level INTERSECT SELECT stock, 1 FROM product",
        "SELECT id FROM customer INTERSECT (SELECT id FROM product EXCEPT SELECT id FROM my_order)",
        "SELECT id FROM customer EXCEPT SELECT id FROM product INTERSECT SELECT id FROM my_order",
        "SELECT id FROM customer INTERSECT SELECT id FROM product UNION SELECT id FROM my_order",
        "SELECT * FROM customer INTERSECT SELECT * FROM customer",
        "(SELECT id FROM customer ORDER BY id LIMIT 1) UNION SELECT id FROM product",
        "SELECT id FROM customer UNION (SELECT id FROM product LIMIT 1)",
        "SELECT level, COUNT(*) FROM customer GROUP BY level UNION SELECT 1, 2",
        "SELECT AVG(id) FROM customer UNION ALL SELECT COUNT(*) FROM product",
        "SELECT COUNT(*) + 1 FROM customer UNION ALL SELECT COUNT(*) FROM product",
        "SELECT MIN(id) FROM customer UNION ALL SELECT MAX(id) FROM product",
        "SELECT 'x', COUNT(*) FROM customer GROUP BY level UNION ALL SELECT 'y', COUNT(*) FROM product",
        "SELECT level, COUNT(*) FROM customer GROUP BY level HAVING COUNT(*) > 1 UNION ALL SELECT 1, 2 FROM product GROUP BY id",
        "SELECT level, COUNT(*) FROM customer GROUP BY level WITH ROLLUP UNION ALL SELECT id, 2 FROM product GROUP BY id",
        "SELECT COUNT(DISTINCT level) FROM customer UNION ALL SELECT COUNT(*) FROM product",
        "SELECT level, COUNT(*) FROM customer UNION ALL SELECT 1, COUNT(*) FROM product",
        "SELECT COUNT(*) FROM customer UNION ALL SELECT id FROM product",
        "(SELECT id FROM customer WHERE id = 1 ORDER BY COUNT(*) LIMIT 5) UNION ALL SELECT id FROM product",
        "(SELECT id FROM province ORDER BY (SELECT COUNT(*) FROM product) LIMIT 5) UNION ALL SELECT 1",
        "(SELECT DISTINCT name FROM customer WHERE id = 1 ORDER BY name LIMIT 2) UNION (SELECT name FROM product)",
        "SELECT DISTINCT level FROM customer UNION ALL SELECT id FROM product",
        "SELECT id FROM customer UNION SELECT id FROM unlisted",
        "SELECT id FROM customer UNION (SELECT id FROM product UNION SELECT id FROM my_order)",
        "(SELECT id FROM customer UNION ALL SELECT id FROM product) UNION SELECT id FROM my_order",
        "SELECT id FROM customer UNION ((SELECT id FROM customer LIMIT 2) LIMIT 1)",
        "SELECT id FROM customer UNION ALL (SELECT id FROM product FOR UPDATE)",
        "SELECT id FROM customer UNION SELECT id FROM product UNION ALL SELECT DISTINCT id FROM my_order",
        "SELECT * FROM customer UNION SELECT * FROM customer",
        "SELECT id, ROW_NUMBER() OVER () FROM customer UNION ALL SELECT id, 1 FROM product",
        "SELECT id FROM customer UNION ALL SELECT id FROM product FOR UPDATE",
        "SELECT * FROM province WHERE id IN (SELECT id FROM customer UNION SELECT id FROM product)",
    ] {
        let m = refused(sql);
        assert!(!m.is_empty(), "{sql}");
    }
    // DISTINCT under a UNION DISTINCT changes nothing.
    route("SELECT DISTINCT level FROM customer UNION SELECT id FROM product");
    // ALL before DISTINCT: everything is distinct.
    let m = route(
        "SELECT id FROM customer UNION ALL SELECT id FROM product UNION SELECT id FROM my_order",
    )
    .merge
    .expect("merge");
    assert!(m.distinct);
    assert_eq!(m.distinct_through, None);
    // ALL after DISTINCT: the SELECTs after the last UNION DISTINCT keep their rows.
    let m = route(
        "SELECT id FROM customer UNION SELECT id FROM product UNION ALL SELECT id FROM my_order UNION ALL SELECT 1",
    )
    .merge
    .expect("merge");
    assert!(m.distinct);
    assert_eq!(m.distinct_through, Some((Col::Hidden(1), 2)));
    assert_eq!(m.order_by, vec![(Col::Hidden(1), false)]);
}

/// A UNION of aggregating SELECTs across nodes: each node runs every SELECT over its
/// rows, the router groups by the SELECT's number and the key columns and adds up the
/// counts and sums (a count next to a sum adds up alike), MIN/MAX with their text
/// helpers.
#[test]
fn union_of_aggregates_is_merged_per_select() {
    let p = route(
        "SELECT 'c' AS t, COUNT(*) AS n FROM customer UNION ALL SELECT 'p', SUM(stock) FROM product ORDER BY n DESC",
    );
    assert_eq!(p.targets.len(), 2);
    let m = p.merge.expect("merge");
    assert_eq!(m.aggregates, vec![(Col::Item(1), AggT::Sum)]);
    let sql = p.targets[0].sql.clone().expect("sql");
    let h = m.group_by[0];
    assert_eq!(m.group_by, vec![h, Col::Item(0)]);
    assert!(
        sql.contains(&format!("1 AS `__tandem_{}` FROM customer", m.hidden - 1)),
        "{sql}"
    );
    assert_eq!(m.order_by, vec![(Col::Item(1), true)]);
    assert_eq!(m.limit, None);
    let p = route(
        "SELECT level, MIN(name) FROM customer GROUP BY level UNION SELECT stock, MIN(name) FROM product GROUP BY 1 LIMIT 4",
    );
    let m = p.merge.expect("merge");
    assert!(m.distinct);
    assert_eq!(m.aggregates, vec![(Col::Item(1), AggT::Min)]);
    assert!(
        m.text_helpers.iter().any(|(c, _)| *c == Col::Item(1)),
        "{m:?}"
    );
    // No LIMIT on the nodes: the router groups first.
    let sql = p.targets[0].sql.clone().expect("sql");
    assert!(!sql.contains("LIMIT"), "{sql}");
    // A grouped SELECT whose rows are not on a node: its WHERE made false before its
    // GROUP BY.
    let p = route(
        "SELECT level, COUNT(*) FROM customer WHERE id = 1 GROUP BY level UNION ALL SELECT stock, COUNT(*) FROM product GROUP BY stock",
    );
    let sql = p.targets[1].sql.clone().expect("sql");
    assert!(
        sql.contains("FROM customer WHERE ( id = 1) AND 0 GROUP BY level UNION ALL"),
        "{sql}"
    );
    let p = route(
        "SELECT 'c', COUNT(*) FROM customer GROUP BY 1 UNION ALL SELECT 'p', COUNT(*) FROM province GROUP BY 1",
    );
    let sql = p.targets[1].sql.clone().expect("sql");
    assert!(sql.contains("FROM province WHERE 0 GROUP BY 1"), "{sql}");
}

/// INTERSECT / EXCEPT across nodes: the nodes get UNION ALL with each SELECT's number
/// and a 0/1 per SELECT; the router groups by every column and keeps the groups the
/// operations select (INTERSECT binds tighter than UNION and EXCEPT), showing the
/// first SELECT's values.
#[test]
fn intersect_and_except_are_merged_by_which_selects_have_a_row() {
    let p = route(
        "SELECT id FROM customer INTERSECT SELECT id FROM product EXCEPT SELECT id FROM my_order ORDER BY 1 LIMIT 3",
    );
    assert_eq!(p.targets.len(), 2);
    let sql = p.targets[0].sql.clone().expect("sql");
    assert_eq!(sql.matches("UNION ALL").count(), 2, "{sql}");
    assert!(
        !sql.contains("INTERSECT") && !sql.contains("EXCEPT"),
        "{sql}"
    );
    assert!(!sql.contains("LIMIT"), "{sql}");
    assert!(sql.contains(", 2 AS `__tandem_1`, 0 AS `__tandem_2`, 1 AS `__tandem_3`, 0 AS `__tandem_4` FROM product"), "{sql}");
    let m = p.merge.expect("merge");
    assert_eq!(m.group_by, vec![Col::Item(0)]);
    assert_eq!(m.first_by, Some(Col::Hidden(1)));
    assert_eq!(
        m.aggregates,
        vec![
            (Col::Hidden(2), AggT::Max),
            (Col::Hidden(3), AggT::Max),
            (Col::Hidden(4), AggT::Max)
        ]
    );
    // (customer INTERSECT product) EXCEPT my_order.
    let has = |h: usize| {
        MExpr::Bin(
            Box::new(MExpr::Col(HIDDEN_BASE - h)),
            crate::router::merge::BinOp::Eq,
            Box::new(MExpr::Int(1)),
        )
    };
    let and = |a, b| MExpr::Bin(Box::new(a), crate::router::merge::BinOp::And, Box::new(b));
    assert_eq!(
        m.having,
        Some(and(and(has(2), has(3)), MExpr::Not(Box::new(has(4)))))
    );
    assert_eq!((m.offset, m.limit), (0, Some(3)));
    // On one node: as written.
    let p = route("SELECT id FROM customer WHERE id = 1 INTERSECT SELECT id FROM province");
    assert_eq!(p.targets.len(), 1);
    assert_eq!(p.targets[0].sql, None);
}

/// A SELECT of a UNION in parentheses: its own ORDER BY / LIMIT runs on the node that
/// holds its rows, the UNION's are the router's; the UNION's hidden SELECT number goes
/// after the last parenthesis, not into the last SELECT.
#[test]
fn parenthesised_selects_of_a_union() {
    let p = route(
        "(SELECT id FROM customer WHERE id = 1) UNION (SELECT id FROM product) ORDER BY 1 LIMIT 5",
    );
    assert_eq!(p.targets.len(), 2);
    let sql = p.targets[0].sql.clone().expect("sql");
    assert!(sql.starts_with("(SELECT id, "), "{sql}");
    assert!(
        sql.trim_end()
            .ends_with("AS `__tandem_1` FROM product) ORDER BY 1, `__tandem_1`"),
        "{sql}"
    );
    // The second node has no customer row below 10: that SELECT's WHERE is made false,
    // inside its parentheses.
    let sql = p.targets[1].sql.clone().expect("sql");
    assert!(sql.contains("WHERE ( id = 1) AND 0)"), "{sql}");
    let m = p.merge.expect("merge");
    assert_eq!(m.limit, Some(5));
    // A SELECT with its own LIMIT whose rows (product's) are on both nodes.
    assert_eq!(
        refused(
            "(SELECT id, name FROM customer WHERE id IN (1, 2) ORDER BY name DESC LIMIT 3) UNION ALL (SELECT id, name FROM product ORDER BY id LIMIT 2) ORDER BY 1"
        ),
        "a parenthesised SELECT with its own LIMIT whose rows are on several data nodes, in a UNION, is not routed (its LIMIT would have to run before the merge): restrict that SELECT to one data node, or move the LIMIT to the end of the UNION"
    );
    // Its own LIMIT, rows on one node (or a global table's copy): that node runs it,
    // elsewhere it returns nothing; ORDER BY without LIMIT changes nothing.
    let p = route(
        "(SELECT id, name FROM customer WHERE id IN (1, 2) ORDER BY name DESC LIMIT 3) UNION ALL (SELECT id, name FROM product ORDER BY id) UNION ALL ((SELECT id, name FROM province LIMIT 1))",
    );
    let sql = p.targets[1].sql.clone().expect("sql");
    assert!(
        sql.starts_with(
            "(SELECT id, name FROM customer WHERE ( id IN (1, 2)) AND 0 ORDER BY name DESC LIMIT 3) UNION ALL (SELECT id, name FROM product ORDER BY id) UNION ALL ((SELECT id, name FROM province WHERE 0 LIMIT 1))"
        ),
        "{sql}"
    );
}

/// An expression over aggregates stays in the nodes' select list (their column
/// definition is the client's); each aggregate it uses goes in a hidden column and the
/// merge recomputes the value. Other functions around an aggregate stay refused.
#[test]
fn expressions_over_aggregates_are_recomputed_from_hidden_aggregates() {
    let p = route(
        "SELECT province_id, IFNULL(SUM(age), 0) AS s, ROUND(AVG(age), 2) FROM customer GROUP BY province_id ORDER BY SUM(age) / COUNT(*)",
    );
    let sql = p.targets[0].sql.clone().expect("sql");
    assert!(
        sql.starts_with("SELECT province_id, IFNULL(SUM(age), 0) AS s, ROUND(AVG(age), 2), SUM(age) AS `__tandem_0`, SUM(age) AS `__tandem_1`, COUNT(age) AS `__tandem_2`"),
        "{sql}"
    );
    assert!(
        sql.contains("COUNT(*) AS `__tandem_4`, SUM(age) / COUNT(*) AS `__tandem_5`"),
        "{sql}"
    );
    let m = p.merge.expect("merge");
    let cols: Vec<Col> = m.computed.iter().map(|(c, _)| *c).collect();
    assert_eq!(cols, vec![Col::Item(1), Col::Item(2), Col::Hidden(5)]);
    assert_eq!(m.order_by, vec![(Col::Hidden(5), false)]);
    let spec = m.resolve(3 + m.hidden).expect("resolve");
    assert_eq!(
        spec.computed[0].1,
        MExpr::Func(MFunc::IfNull, vec![MExpr::Col(3), MExpr::Int(0)])
    );
    for sql in [
        "SELECT CONCAT(COUNT(*), 'x') FROM customer",
        "SELECT SQRT(SUM(age)) FROM customer",
        "SELECT province_id, COUNT(*) + age FROM customer GROUP BY province_id",
        "SELECT ROUND(AVG(age), age) FROM customer",
        "SELECT *, COUNT(*) + 1 FROM customer",
    ] {
        let m = refused(sql);
        assert!(
            m.contains("cannot be merged") || m.contains("not supported"),
            "{sql}: {m}"
        );
    }
}

/// COUNT(DISTINCT x): the nodes also group by x (after the statement's own keys, or in
/// a GROUP BY of their own), which travels in a hidden key column; without GROUP BY the
/// merge answers one row over no rows, and only aggregates may be selected.
#[test]
fn count_distinct_groups_the_nodes_by_its_arguments() {
    let p = route(
        "SELECT province_id, COUNT(DISTINCT name, age) FROM customer GROUP BY province_id HAVING COUNT(*) > 1 ORDER BY 2",
    );
    let sql = p.targets[0].sql.clone().expect("sql");
    assert!(
        sql.contains("name AS `__tandem_0`, age AS `__tandem_1`"),
        "{sql}"
    );
    assert!(
        sql.contains("GROUP BY province_id, name, age ") && !sql.contains("HAVING"),
        "{sql}"
    );
    let m = p.merge.expect("merge");
    assert!(m.aggregates.contains(&(
        Col::Item(1),
        AggT::CountDistinct {
            first: Col::Hidden(0),
            n: 2
        }
    )));
    assert!(!m.one_row);
    let p = route("SELECT COUNT(DISTINCT name) * 2, SUM(DISTINCT age) FROM customer WHERE age > 3");
    let sql = p.targets[0].sql.clone().expect("sql");
    assert!(sql.contains("WHERE age > 3 GROUP BY age, name"), "{sql}");
    let m = p.merge.expect("merge");
    assert!(m.one_row);
    let m = refused("SELECT COUNT(DISTINCT name), 'x' FROM customer");
    assert!(m.contains("without GROUP BY"), "{m}");
}

/// GROUP_CONCAT without DISTINCT / ORDER BY inside: each node's own value, its full
/// length and the limit in hidden columns; the statement's GROUP BY is left alone.
#[test]
fn group_concat_joins_the_nodes_values() {
    let p = route(
        "SELECT province_id, GROUP_CONCAT(name, age SEPARATOR '; ') FROM customer GROUP BY province_id",
    );
    let sql = p.targets[0].sql.clone().expect("sql");
    assert!(
        sql.contains("GROUP_CONCAT(name, age SEPARATOR '; '), SUM(LENGTH(CONCAT(name, age, '; '))) AS `__tandem_0`, @@group_concat_max_len AS `__tandem_1`"),
        "{sql}"
    );
    assert!(sql.ends_with("GROUP BY province_id"), "{sql}");
    let m = p.merge.expect("merge");
    assert_eq!(m.aggregates, vec![(Col::Item(1), AggT::GroupConcat(0))]);
    assert_eq!(
        m.concats,
        vec![ConcatT {
            sep: b"; ".to_vec(),
            max_len: Col::Hidden(1),
            how: ConcatHowT::Parts {
                len: Col::Hidden(0)
            },
        }]
    );
    assert!(!m.one_row);
}

/// GROUP_CONCAT(DISTINCT ... ORDER BY ...): the nodes group by the arguments and the
/// order keys (by the arguments' bytes too without DISTINCT) and count the rows; the
/// router builds the value. HAVING and ORDER BY on it use hidden copies.
#[test]
fn group_concat_with_distinct_or_order_groups_the_nodes_by_its_elements() {
    let p = route("SELECT GROUP_CONCAT(DISTINCT name ORDER BY name DESC) FROM customer");
    let sql = p.targets[0].sql.clone().expect("sql");
    assert!(
        sql.contains(
            "GROUP_CONCAT(DISTINCT name ORDER BY name DESC), name AS `__tandem_0`, @@group_concat_max_len AS `__tandem_1`, CONCAT(ELT(1,name)"
        ) && sql.ends_with("FROM customer GROUP BY name"),
        "{sql}"
    );
    let m = p.merge.expect("merge");
    assert!(m.one_row);
    assert_eq!(
        m.concats[0].how,
        ConcatHowT::Elems {
            args: vec![Col::Hidden(0)],
            order: vec![(Col::Hidden(0), true)],
            count: None,
            distinct: true,
        }
    );
    let p = route(
        "SELECT province_id, GROUP_CONCAT(name ORDER BY age) AS g FROM customer GROUP BY province_id HAVING g IS NOT NULL ORDER BY GROUP_CONCAT(name ORDER BY age)",
    );
    let sql = p.targets[0].sql.clone().expect("sql");
    assert!(
        sql.contains("COUNT(*) AS `__tandem_2`")
            && sql.contains("GROUP BY province_id, name, age, CAST((name) AS BINARY)"),
        "{sql}"
    );
    let m = p.merge.expect("merge");
    assert!(!m.one_row && m.having.is_some());
    assert_eq!(m.order_by, vec![(Col::Item(1), false)]);
    for (sql, why) in [
        (
            "SELECT GROUP_CONCAT(name ORDER BY 1) FROM customer",
            "position",
        ),
        ("SELECT GROUP_CONCAT(name LIMIT 2) FROM customer", "LIMIT"),
        ("SELECT GROUP_CONCAT(RAND()) FROM customer", "volatile"),
        (
            "SELECT GROUP_CONCAT(name ORDER BY ?) FROM customer",
            "parameter",
        ),
        ("SELECT GROUP_CONCAT(COUNT(*)) FROM customer", "nested"),
        (
            "SELECT GROUP_CONCAT(DISTINCT name), age FROM customer",
            "without GROUP BY",
        ),
    ] {
        let m = refused(sql);
        assert!(m.contains(why), "{sql}: {m}");
    }
}

#[test]
fn a_subquery_in_from_routes_with_its_inner_query_and_merges_the_outer_select() {
    // PageHelper's count: every node counts its rows, the router adds the counts.
    let sql = "SELECT count(0) FROM (SELECT id, name FROM customer WHERE level = 3) tmp_count";
    let p = route(sql);
    assert_eq!(p.nodes(), ["dn0", "dn1"]);
    let m = p.merge.clone().expect("merge");
    assert_eq!(m.aggregates, [(Col::Item(0), AggT::Count)]);
    assert!(p.targets.iter().all(|t| t.sql.as_deref() == Some(sql)));
    // The inner WHERE on the sharding column: one node, the statement as written.
    let p = route("SELECT count(0) FROM (SELECT id FROM customer WHERE id = 5000001) t");
    assert_eq!(p.nodes(), ["dn1"]);
    assert_eq!(p.targets[0].sql, None);
    // PageHelper's page: the outer ORDER BY / LIMIT are merged; each node returns its
    // first offset+count rows.
    let p = route(
        "SELECT * FROM (SELECT id, name FROM customer WHERE level = 3) t ORDER BY t.id LIMIT 20, 10",
    );
    let m = p.merge.clone().expect("merge");
    assert_eq!((m.offset, m.limit), (20, Some(10)));
    // (`*` hides the column's position: a hidden copy of `t.id` is the key.)
    assert_eq!(m.order_by, [(Col::Hidden(0), false)]);
    assert!(
        p.targets[0]
            .sql
            .as_deref()
            .expect("sql")
            .ends_with("LIMIT 30")
    );
    // Outer aggregates and GROUP BY over the derived table's columns and aliases.
    let p = route(
        "SELECT c, COUNT(*), AVG(b) FROM (SELECT city AS c, balance b FROM customer) x GROUP BY c HAVING COUNT(*) > 1 ORDER BY c",
    );
    let m = p.merge.clone().expect("merge");
    assert_eq!(m.group_by, [Col::Item(0)]);
    assert!(m.having.is_some());
    // Inner GROUP BY the sharding column: each group lives on one node.
    let p =
        route("SELECT COUNT(*), SUM(n) FROM (SELECT id, COUNT(*) n FROM customer GROUP BY id) g");
    assert_eq!(p.nodes(), ["dn0", "dn1"]);
    // ... by its alias or position, and DISTINCT with it; window partitioned by it.
    route("SELECT COUNT(*) FROM (SELECT id AS k, MAX(level) FROM customer GROUP BY k) g");
    route("SELECT COUNT(*) FROM (SELECT id, MAX(level) FROM customer GROUP BY 1) g");
    route("SELECT COUNT(*) FROM (SELECT DISTINCT id, city FROM customer) g");
    route(
        "SELECT MAX(r) FROM (SELECT ROW_NUMBER() OVER (PARTITION BY id ORDER BY level) r FROM customer) g",
    );
    // An ER child joined to its parent, grouped by the child's join key.
    let p = route(
        "SELECT COUNT(*) FROM (SELECT i.order_id, SUM(i.qty) q FROM my_order o JOIN order_item i ON i.order_id = o.id GROUP BY i.order_id) t WHERE q > 2",
    );
    assert_eq!(p.nodes(), ["dn0", "dn1"]);
    // Nested derived tables keep the sharding column through the levels.
    let p = route(
        "SELECT COUNT(*) FROM (SELECT k, COUNT(*) FROM (SELECT id AS k, level FROM customer WHERE level > 2) a GROUP BY k) b",
    );
    assert_eq!(p.nodes(), ["dn0", "dn1"]);
    // Global tables only: any one copy.
    let p = route("SELECT COUNT(*) FROM (SELECT id FROM province WHERE id < 10) t");
    assert!(p.any_one);
    assert!(p.merge.is_none());
    // A LIMIT or an aggregate inside is fine on one node.
    let p = route("SELECT * FROM (SELECT id FROM customer WHERE id = 1 LIMIT 5) t");
    assert_eq!(p.nodes(), ["dn0"]);
    route("SELECT * FROM (SELECT COUNT(*) n FROM customer WHERE id IN (1, 2)) t");
    // A prepared statement whose `?` gives the sharding column its value: planned at
    // its prepare on one node (each execute is planned with its values).
    let p = route("SELECT * FROM (SELECT id FROM customer WHERE id IN (?, ?) LIMIT ?) t");
    assert_eq!(p.nodes(), ["dn0"]);
    let msg = refused("SELECT * FROM (SELECT id FROM customer WHERE id IN (1, 5000001) LIMIT 2) t");
    assert!(msg.contains("LIMIT inside a subquery in FROM"), "{msg}");
}

#[test]
fn a_subquery_in_from_that_depends_on_other_nodes_rows_is_refused() {
    for (sql, why) in [
        (
            "SELECT * FROM (SELECT id FROM customer ORDER BY id LIMIT 10) t",
            "LIMIT inside a subquery in FROM over several data nodes",
        ),
        (
            "SELECT * FROM (SELECT city FROM customer GROUP BY city) t",
            "GROUP BY without a sharding column inside a subquery in FROM",
        ),
        (
            "SELECT city FROM (SELECT DISTINCT city FROM customer) t",
            "SELECT DISTINCT without a sharding column inside",
        ),
        (
            // Not a count alone: no COUNT(DISTINCT) rewrite.
            "SELECT COUNT(*), MAX(city) FROM (SELECT DISTINCT city FROM customer) t",
            "SELECT DISTINCT without a sharding column inside",
        ),
        (
            "SELECT COUNT(*) FROM (SELECT DISTINCT city, level FROM customer) t",
            "SELECT DISTINCT without a sharding column inside",
        ),
        (
            "SELECT * FROM (SELECT COUNT(*) n FROM customer) t",
            "an aggregate without GROUP BY inside",
        ),
        (
            "SELECT * FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) r FROM customer) t",
            "a window function not partitioned by a sharding column",
        ),
        (
            // `k` is the alias of city: GROUP BY k groups cities.
            "SELECT COUNT(*) FROM (SELECT id, city AS id2 FROM customer GROUP BY id2) t",
            "GROUP BY without a sharding column",
        ),
        (
            "SELECT COUNT(*) FROM (SELECT id, COUNT(*) FROM customer GROUP BY id WITH ROLLUP) t",
            "WITH ROLLUP",
        ),
        (
            "SELECT * FROM (SELECT id FROM customer) t JOIN my_order o ON o.id = t.id",
            "a subquery in FROM joined with tables other than global ones",
        ),
        (
            "SELECT * FROM (SELECT id FROM customer UNION ALL SELECT id FROM my_order) t",
            "a UNION inside a subquery in FROM",
        ),
        (
            "SELECT * FROM (SELECT id FROM customer WHERE id IN (SELECT customer_id FROM my_order)) t",
            "a subquery over sharded table `my_order`",
        ),
        (
            "SELECT id FROM (SELECT id FROM customer) t UNION SELECT id FROM product",
            "routed only as the whole FROM clause of a SELECT",
        ),
        (
            "SELECT MAX(k) FROM (SELECT k FROM (SELECT city AS k FROM customer) a GROUP BY k) b",
            "GROUP BY without a sharding column",
        ),
        (
            "SELECT * FROM (SELECT c.id FROM province p LEFT JOIN customer c ON c.province_id = p.id) t",
            "NULL-extending sharded table `customer`",
        ),
    ] {
        let msg = refused(sql);
        assert!(msg.contains(why), "{sql}: {msg}");
    }
}

#[test]
fn a_subquery_in_from_joined_with_global_tables() {
    let p = route(
        "SELECT p.name, COUNT(*) FROM (SELECT id, province_id FROM customer WHERE level > 3) t JOIN province p ON p.id = t.province_id GROUP BY p.name ORDER BY p.name",
    );
    assert_eq!(p.nodes(), ["dn0", "dn1"]);
    assert!(!p.merge.expect("merge").group_by.is_empty());
    let p = route(
        "SELECT t.id, p.name FROM (SELECT id, province_id FROM customer WHERE id = 5000001) t LEFT JOIN province p ON p.id = t.province_id",
    );
    assert_eq!(p.nodes(), ["dn1"]);
    assert_eq!(p.targets[0].sql, None);
    for (sql, why) in [
        (
            // The COUNT(DISTINCT) answer is for a subquery alone.
            "SELECT COUNT(*) FROM (SELECT DISTINCT province_id FROM customer) t JOIN province p ON p.id = t.province_id",
            "SELECT DISTINCT without a sharding column",
        ),
        (
            "SELECT * FROM province p LEFT JOIN (SELECT id, province_id FROM customer) t ON p.id = t.province_id",
            "joined with tables other than global ones",
        ),
        (
            "SELECT * FROM (SELECT id, province_id FROM customer) t RIGHT JOIN province p ON p.id = t.province_id",
            "NULL-extended side of an outer join with global table `province`",
        ),
        (
            "SELECT * FROM (SELECT id, province_id FROM customer) t JOIN user_info u ON u.id = t.id",
            "joined with tables other than global ones",
        ),
        (
            "SELECT * FROM (SELECT id FROM customer) t JOIN province p USING (id)",
            "USING",
        ),
    ] {
        let msg = refused(sql);
        assert!(msg.contains(why), "{sql}: {msg}");
    }
}

#[test]
fn a_count_of_a_distinct_or_grouped_subquery_is_merged_as_count_distinct() {
    let p = route(
        "SELECT count(0) FROM (SELECT DISTINCT city FROM customer WHERE level > 3) tmp_count",
    );
    let want = "SELECT COUNT(DISTINCT city) + COALESCE(MAX((city) IS NULL), 0) AS `count(0)`, ";
    assert_eq!(p.nodes(), ["dn0", "dn1"]);
    let m = p.merge.clone().expect("merge");
    assert!(
        m.aggregates
            .iter()
            .any(|(_, a)| matches!(a, AggT::CountDistinct { n: 1, .. })),
        "{m:?}"
    );
    assert!(
        p.targets.iter().all(|t| t
            .sql
            .as_deref()
            .is_some_and(|s| s.starts_with(want)
                && s.ends_with(" FROM customer WHERE level > 3 GROUP BY city"))),
        "{:?}",
        p.targets
    );
    let p =
        route("SELECT COUNT(*) AS total FROM (SELECT UPPER(name) AS u FROM customer GROUP BY u) t");
    assert!(
        p.targets[0]
            .sql
            .as_deref()
            .is_some_and(|s| s.starts_with(
                "SELECT COUNT(DISTINCT UPPER(name)) + COALESCE(MAX((UPPER(name)) IS NULL), 0) AS `total`, "
            ) && s.ends_with(" FROM customer GROUP BY UPPER(name)")),
        "{:?}",
        p.targets
    );
    // On one node the statement goes as written.
    let p = route("SELECT COUNT(*) FROM (SELECT DISTINCT city FROM customer WHERE id = 1) t");
    assert_eq!(p.nodes(), ["dn0"]);
    assert_eq!(p.targets[0].sql, None);
}

#[test]
fn a_subquery_in_from_gets_sql_max_limit_and_rule_required_like_its_table() {
    let cat = cat_of(&CFG.replace(
        "check_sql_schema: true",
        "check_sql_schema: true\n      sql_max_limit: 100",
    ));
    let p = route_in(
        &cat,
        "SELECT * FROM (SELECT id, name FROM customer WHERE level = 3) t",
    );
    assert_eq!(
        p.targets[0].sql.as_deref(),
        Some("SELECT * FROM (SELECT id, name FROM customer WHERE level = 3) t LIMIT 100")
    );
    assert_eq!(p.merge.expect("merge").limit, Some(100));
    // The primary key in the inner WHERE: no limit.
    let p = route_in(
        &cat,
        "SELECT * FROM (SELECT id FROM customer WHERE id = 1) t",
    );
    assert_eq!(p.targets[0].sql, None);
    // Two tables: none, as for a join.
    let p = route_in(
        &cat,
        "SELECT * FROM (SELECT o.id FROM my_order o JOIN order_item i ON i.order_id = o.id) t",
    );
    assert!(p.merge.expect("merge").limit.is_none());
    let cat = cat_of(&CFG.replace(
        "{ name: customer, primary_key: id, data_nodes: \"dn$0-1\", rule: by-id }",
        "{ name: customer, primary_key: id, data_nodes: \"dn$0-1\", rule: by-id, rule_required: true }",
    ));
    let msg = refused_in(
        &cat,
        "SELECT COUNT(*) FROM (SELECT id FROM customer WHERE level = 1) t",
    );
    assert!(
        msg.contains("route rule for table customer is required"),
        "{msg}"
    );
    route_in(
        &cat,
        "SELECT COUNT(*) FROM (SELECT id FROM customer WHERE id = 1) t",
    );
}

#[test]
fn group_by_a_name_over_a_subquery_in_from_is_resolved_with_its_columns() {
    // The subquery's own names: `city` is one of its columns, so it wins over the alias.
    let p = route(
        "SELECT level AS city, COUNT(*) FROM (SELECT id, city, level FROM customer) t GROUP BY city",
    );
    assert_eq!(p.merge.expect("merge").group_by, vec![Col::Hidden(0)]);
    // Not one of its columns: the alias.
    let p = route(
        "SELECT level AS town, COUNT(*) FROM (SELECT id, city, level FROM customer) t GROUP BY town",
    );
    assert_eq!(p.merge.expect("merge").group_by, vec![Col::Item(0)]);
    // `*` inside: the table's columns decide, read from the first node.
    let sql =
        "SELECT level AS a, COUNT(*) FROM (SELECT * FROM customer WHERE level > 1) t GROUP BY a";
    assert_eq!(asks_columns_of(sql), vec!["customer@dn0"]);
    let p = route_with(sql, &[("customer", &["id", "a", "level"])]);
    assert_eq!(p.merge.expect("merge").group_by, vec![Col::Hidden(0)]);
    let p = route_with(sql, &[("customer", &["id", "level"])]);
    assert_eq!(p.merge.expect("merge").group_by, vec![Col::Item(0)]);
}
