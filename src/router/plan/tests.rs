//! Planner tests on the MyCat tutorial schema.

use super::*;
use crate::router::merge::{helper_sql, text_helper_sql};

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
    refused("SELECT COUNT(DISTINCT name) FROM customer");
    refused("SELECT * FROM customer WHERE id IN (SELECT id FROM product)");
    refused("SELECT id FROM customer UNION SELECT id FROM product");
    refused("SELECT * FROM customer WHERE id = 99999999");
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

#[test]
fn sql_max_limit_is_opt_in() {
    let text = CFG.replace(
        "check_sql_schema: true",
        "check_sql_schema: true\n      sql_max_limit: 100",
    );
    let checked = crate::config::check_str(&text, "t.yaml", std::path::Path::new("/"));
    let (cfg, _) = checked.into_result().expect("valid config");
    let cat = Catalog::build(
        cfg.router.as_ref().expect("router"),
        std::path::Path::new("/"),
    )
    .expect("catalog");
    let p = match plan(
        &cat,
        "shop",
        "SELECT * FROM customer WHERE id = 1",
        &Lookups::new(),
    ) {
        Ok(Planned::Route(p)) => p,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        p.targets[0].sql.as_deref(),
        Some("SELECT * FROM customer WHERE id = 1 LIMIT 100")
    );
    let p = match plan(
        &cat,
        "shop",
        "SELECT name FROM customer ORDER BY name",
        &Lookups::new(),
    ) {
        Ok(Planned::Route(p)) => p,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        p.targets[1].sql.clone(),
        Some(format!(
            "SELECT name, {} AS `__tandem_0` FROM customer ORDER BY name LIMIT 100",
            helper_sql("name")
        ))
    );
    assert_eq!(p.merge.expect("merge").limit, Some(100));
    // Without the option nothing is added.
    assert_eq!(
        route("SELECT * FROM customer WHERE id = 1").targets[0].sql,
        None
    );
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

#[test]
fn group_by_name_that_is_also_an_alias() {
    let m = refused("SELECT a % 2 AS a, COUNT(*) FROM customer GROUP BY a");
    assert!(m.contains("GROUP BY `a`"), "{m}");
    // The column itself is selected: group by it.
    let p = route("SELECT b AS a, a AS b, COUNT(*) FROM customer GROUP BY a");
    assert_eq!(p.merge.expect("merge").group_by, vec![Col::Item(1)]);
    // An alias of the same column is fine.
    let p = route("SELECT c.a AS a, COUNT(*) FROM customer c GROUP BY a");
    assert_eq!(p.merge.expect("merge").group_by, vec![Col::Item(0)]);
    // ORDER BY still prefers the alias (as MySQL does).
    let p = route("SELECT a % 2 AS a, name FROM customer ORDER BY a");
    let m = p.merge.expect("merge");
    assert_eq!((m.hidden, m.order_by), (0, vec![(Col::Item(0), false)]));
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
