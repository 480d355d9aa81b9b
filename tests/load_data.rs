//! `LOAD DATA LOCAL INFILE` through the router against two real MariaDB data nodes (the
//! fixture of tests/sharding.rs: `product` mod-long 2 on `id`, `customer` range-long on
//! `id` with no default node, `province` global, `order_item` the ER child of `my_order`
//! by `order_id`, other tables on dn0): every row lands on its node (checked on each node
//! directly, and against the same file loaded by one server), the answer adds up, and
//! refused loads leave nothing behind and the connection usable. Clients: the `mariadb`
//! CLI with `--local-infile=1` and tests/common/wire.rs's client, which sends the file in
//! pieces of its choosing.

mod common;

use common::shard::{Mysql, PASSWORD, SCHEMA, Shard, USER};
use common::wire::Conn;

/// Lines sorted, for results whose order is not specified.
fn sorted(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

fn conn(s: &Shard) -> Conn {
    Conn::connect_local(s.router.addr, USER, PASSWORD, Some(SCHEMA), false)
        .unwrap_or_else(|e| panic!("login: {e}\n{}", s.logs()))
}

/// The file of the CSV test: quotes, separators and line ends inside quotes, escapes,
/// `\N`, CRLF, a header line and a last line without its terminator.
const PRODUCT_CSV: &str = "id,name,category,price\r\n\
1,\"plain\",toys,1.50\r\n\
2,\"with, comma\",\\N,2.00\r\n\
3,\"quote \"\"q\"\" here\",books,3.25\r\n\
4,\"two\r\nlines\",\"\",4.00\r\n\
5,tab\\there,NULL,5.00\r\n\
6,\"esc \\\" quote\",toys,6.00\r\n\
7,last,toys,7.00";

const PRODUCT_LOAD: &str = "LOAD DATA LOCAL INFILE '{file}' INTO TABLE product CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\r\\n' IGNORE 1 LINES (id, name, @cat, @price) SET category = NULLIF(@cat, ''), price = @price * 2";

const PRODUCT_ROWS: &str =
    "SELECT id, name, IFNULL(category, 'NULL'), price FROM product ORDER BY id";

/// The mariadb CLI loads a sharded table: rows by `id` mod 2 on dn0/dn1, parsed as one
/// server parses the same file (loaded directly into a reference database), the header
/// skipped once, the SET applied on each node; the count the client prints adds up.
#[test]
fn cli_loads_rows_of_a_sharded_table_onto_their_nodes() {
    let s = Shard::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = common::write(dir.path(), "product.csv", PRODUCT_CSV);
    let sql = PRODUCT_LOAD.replace("{file}", &file.display().to_string());
    let n = Mysql::new(s.router.addr, USER, PASSWORD)
        .db(SCHEMA)
        .local_infile(true)
        .affected(&sql)
        .unwrap_or_else(|e| panic!("{e}\n{}", s.logs()));
    assert_eq!(n, 7);
    // The same file into one server: what every row must look like.
    s.a.sql(&format!(
        "CREATE DATABASE ref; USE ref; {}",
        common::shard::DDL
    ));
    let direct = Mysql::new(s.a.addr, "root", "")
        .db("ref")
        .local_infile(true)
        .affected(&sql)
        .expect("direct load");
    assert_eq!(direct, 7);
    let reference = s.a.sql(&format!("USE ref; {PRODUCT_ROWS}"));
    let (on0, on1) = (s.on0(PRODUCT_ROWS), s.on1(PRODUCT_ROWS));
    assert_eq!(
        sorted(&format!("{on0}\n{on1}")),
        sorted(&reference),
        "dn0:\n{on0}\ndn1:\n{on1}"
    );
    assert_eq!(
        s.on0("SELECT GROUP_CONCAT(id ORDER BY id) FROM product"),
        "2,4,6"
    );
    assert_eq!(
        s.on1("SELECT GROUP_CONCAT(id ORDER BY id) FROM product"),
        "1,3,5,7"
    );
    assert!(reference.contains("quote \"q\" here"), "{reference}");
    assert_eq!(
        s.q(PRODUCT_ROWS).expect("read back"),
        reference.trim_end(),
        "merged through the router"
    );
}

/// The wire client sends the file in pieces that cut rows anywhere; the answer's info
/// string adds up over the nodes; a global table gets every row on each node (one copy's
/// count), an unlisted table and an ER child (placed by its join key) as on a server.
#[test]
fn sharded_global_and_unsharded_tables_and_the_answer() {
    let s = Shard::start();
    s.on0("CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(20))");
    s.on1("CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(20))");
    let mut c = conn(&s);
    let fail =
        |what: &str, e: common::wire::Err| -> String { format!("{what}: {e}\n{}", s.logs()) };
    // Sharded, default format, no column list (the table's column order), pieces of 7
    // bytes; a duplicate key is skipped (LOCAL implies IGNORE) and counted.
    let mut file = String::new();
    for id in 1..=40 {
        file.push_str(&format!("{id}\tp{id}\tcat\t{id}.00\t{id}\t\\N\n"));
    }
    file.push_str("2\tdup\tcat\t1.00\t1\t\\N\n");
    let pieces: Vec<&[u8]> = file.as_bytes().chunks(7).collect();
    let (asked, r) = c.load("LOAD DATA LOCAL INFILE 'p.tsv' INTO TABLE product", &pieces);
    assert_eq!(asked.as_deref(), Some(&b"p.tsv"[..]));
    let (n, info) = r.unwrap_or_else(|e| panic!("{}", fail("load product", e)));
    assert_eq!(
        (n, info.as_str()),
        (40, "Records: 41  Deleted: 0  Skipped: 1  Warnings: 1")
    );
    assert_eq!(s.on0("SELECT COUNT(*), SUM(id % 2) FROM product"), "20\t0");
    assert_eq!(s.on1("SELECT COUNT(*), SUM(id % 2) FROM product"), "20\t20");
    assert_eq!(
        s.on0("SELECT name, price, weight_g IS NULL FROM product WHERE id = 2"),
        "p2\t2.00\t1"
    );
    assert_eq!(
        c.value("SELECT ROW_COUNT()").expect("row count"),
        Some("40".into())
    );
    // Global: every node gets every row; the client sees one copy's count.
    let (_, r) = c.load(
        "LOAD DATA LOCAL INFILE 'prov.csv' REPLACE INTO TABLE province FIELDS TERMINATED BY ',' (id, name, region)",
        &[b"1,Beijing,North\n2,Sichuan,", b"West\n3,Tibet,West\n"],
    );
    let (n, info) = r.unwrap_or_else(|e| panic!("{}", fail("load province", e)));
    assert_eq!(
        (n, info.as_str()),
        (3, "Records: 3  Deleted: 0  Skipped: 0  Warnings: 0")
    );
    let all = "1\tBeijing\tNorth\n2\tSichuan\tWest\n3\tTibet\tWest";
    assert_eq!(s.on0("SELECT * FROM province ORDER BY id"), all);
    assert_eq!(s.on1("SELECT * FROM province ORDER BY id"), all);
    // Unlisted: the schema's data node only, the file as it is (IGNORE done there).
    let (_, r) = c.load(
        "LOAD DATA LOCAL INFILE 'n.txt' INTO TABLE notes LINES STARTING BY '>' IGNORE 1 LINES",
        &[b">id\tbody\n>1\tone\nnoise\n>2\ttwo\n"],
    );
    let (n, _) = r.unwrap_or_else(|e| panic!("{}", fail("load notes", e)));
    assert_eq!(n, 2);
    assert_eq!(s.on0("SELECT * FROM notes ORDER BY id"), "1\tone\n2\ttwo");
    assert_eq!(s.on1("SELECT COUNT(*) FROM notes"), "0");
    // ER child placed by its join key (the parent's sharding column).
    let (_, r) = c.load(
        "LOAD DATA LOCAL INFILE 'items' INTO TABLE order_item FIELDS TERMINATED BY ',' (id, order_id, product_id, qty, price)",
        &[b"1,7,1,1,1.00\n2,6000000,1,1,1.00\n"],
    );
    r.unwrap_or_else(|e| panic!("{}", fail("load order_item", e)));
    assert_eq!(s.on0("SELECT id FROM order_item"), "1");
    assert_eq!(s.on1("SELECT id FROM order_item"), "2");
    // @variables: assigned on the nodes, not kept by the session or its connections.
    let (_, r) = c.load(
        "LOAD DATA LOCAL INFILE 'v' INTO TABLE product FIELDS TERMINATED BY ',' (id, name, @c, price) SET category = UPPER(@c)",
        &[b"101,x,low,1.00\n102,y,mid,2.00\n"],
    );
    assert_eq!(
        r.unwrap_or_else(|e| panic!("{}", fail("load with @c", e)))
            .0,
        2
    );
    assert_eq!(s.on1("SELECT category FROM product WHERE id = 101"), "LOW");
    let mut other = conn(&s);
    for k in [&mut c, &mut other] {
        assert_eq!(k.value("SELECT @c").expect("read @c"), None);
        assert_eq!(
            k.value("SELECT @c FROM product WHERE id = 102")
                .expect("read @c on dn0"),
            None
        );
    }
    // The client refuses (cannot open the file): an empty file, nothing loaded.
    let (asked, r) = c.load("LOAD DATA LOCAL INFILE 'missing' INTO TABLE product", &[]);
    assert!(asked.is_some());
    assert_eq!(
        r.unwrap_or_else(|e| panic!("{}", fail("empty file", e))),
        (0, "Records: 0  Deleted: 0  Skipped: 0  Warnings: 0".into())
    );
    assert_eq!(c.value("SELECT 1").expect("usable"), Some("1".into()));
}

/// Refusals: before the file is asked for (SET of the sharding column, a @variable in
/// its place, a client without CLIENT_LOCAL_FILES, LOAD in a multi-statement text), or
/// after it was read (a row no node takes, a NULL sharding value, a short row): the
/// client gets its error, nothing is loaded on any node, the connection goes on.
#[test]
fn refused_loads_leave_nothing_and_the_connection_usable() {
    let s = Shard::start();
    let mut c = conn(&s);
    let nothing = |s: &Shard| {
        assert_eq!(s.on0("SELECT COUNT(*) FROM customer"), "0");
        assert_eq!(s.on1("SELECT COUNT(*) FROM customer"), "0");
        assert_eq!(s.on0("SELECT COUNT(*) FROM product"), "0");
        assert_eq!(s.on1("SELECT COUNT(*) FROM product"), "0");
    };
    let before = |sql: &str, c: &mut Conn, needle: &str| {
        let (asked, r) = c.load(sql, &[b"1\tx\n"]);
        let e = r.expect_err(sql);
        assert!(asked.is_none(), "{sql}: the file was asked for");
        assert!(e.code == 1105 && e.msg.contains(needle), "{sql}: {e}");
    };
    before(
        "LOAD DATA LOCAL INFILE 'f' INTO TABLE product (@id, name) SET id = @id + 1",
        &mut c,
        "may not SET the sharding column `id`",
    );
    before(
        "LOAD DATA LOCAL INFILE 'f' INTO TABLE product (@id, name)",
        &mut c,
        "must name the sharding column `id`",
    );
    before(
        "LOAD DATA LOCAL INFILE 'f' INTO TABLE product FIELDS TERMINATED BY '' (id, name)",
        &mut c,
        "fixed-width",
    );
    // After the file: rows are placed before any is sent, so nothing reaches a node.
    let after = |cols: &str, file: &[&[u8]], c: &mut Conn, needle: &str| {
        let (asked, r) = c.load(
            &format!("LOAD DATA LOCAL INFILE 'c.tsv' INTO TABLE customer ({cols})"),
            file,
        );
        assert!(asked.is_some());
        let e = r.expect_err("refused");
        assert!(e.code == 1105 && e.msg.contains(needle), "{e}");
        assert_eq!(c.value("SELECT 1").expect("usable"), Some("1".into()));
    };
    after(
        "id, name",
        &[b"1\ta\n5000001\tb\n", b"10000001\tc\n2\td\n"],
        &mut c,
        "LOAD DATA row 3: can't find a data node for table `customer`",
    );
    after("id, name", &[b"1\ta\n\\N\tb\n"], &mut c, "is NULL");
    after(
        "name, id",
        &[b"a\t1\nb\n"],
        &mut c,
        "row 2 of the file has no field",
    );
    nothing(&s);
    // A table that does not exist: the nodes' error.
    let (_, r) = c.load("LOAD DATA LOCAL INFILE 'f' INTO TABLE nosuch", &[b"1\n"]);
    assert_eq!(r.expect_err("no table").code, 1146);
    // In a multi-statement text: refused, nothing of it runs.
    let mut m =
        Conn::connect_local(s.router.addr, USER, PASSWORD, Some(SCHEMA), true).expect("login");
    let e = m
        .query("INSERT INTO product (id, name, price) VALUES (1, 'x', 1); LOAD DATA LOCAL INFILE 'f' INTO TABLE product")
        .expect_err("multi-statement");
    assert!(
        e.code == 1105 && e.msg.contains("statement of its own"),
        "{e}"
    );
    nothing(&s);
    // A LOAD the router does not see as one (EXECUTE IMMEDIATE, a prepared statement):
    // the server's request for the file gets an empty file, the client an error.
    s.on0("CREATE TABLE notes (id INT PRIMARY KEY)");
    let (asked, r) = c.load(
        "EXECUTE IMMEDIATE 'LOAD DATA LOCAL INFILE ''f'' INTO TABLE notes'",
        &[b"1\n"],
    );
    let e = r.expect_err("EXECUTE IMMEDIATE");
    assert!(
        asked.is_none() && e.code == 1105 && e.msg.contains("plain statement"),
        "{e}"
    );
    assert_eq!(
        c.value("SELECT COUNT(*) FROM notes").expect("usable"),
        Some("0".into())
    );
    // COM_STMT_PREPARE of a LOAD (mysql-connector-python's prepared cursor): refused at
    // the prepare with the same error, on a sharded table (it got the planner's "cannot
    // parse") as on an unlisted one.
    for t in ["product", "notes"] {
        let e = c
            .prepare(&format!("LOAD DATA LOCAL INFILE 'f' INTO TABLE {t}"))
            .expect_err("prepared LOAD");
        assert!(
            e.code == 1105 && e.msg.contains("plain statement"),
            "{t}: {e}"
        );
    }
    nothing(&s);
    // A client that does not serve files gets MariaDB's error.
    let mut plain = Conn::connect(s.router.addr, USER, PASSWORD, Some(SCHEMA)).expect("login");
    let e = plain
        .query("LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE product")
        .expect_err("no CLIENT_LOCAL_FILES");
    assert_eq!(e.code, 4166, "{e}");
    assert_eq!(plain.value("SELECT 1").expect("usable"), Some("1".into()));
    // LOAD DATA without LOCAL reads the servers' files: still refused.
    let e = c
        .query("LOAD DATA INFILE '/etc/hostname' INTO TABLE product")
        .expect_err("server-side file");
    assert_eq!(e.code, 1045, "{e}");
    // The CLI with --local-infile=0 gets what a MariaDB server answers it.
    let e = Mysql::new(s.router.addr, USER, PASSWORD)
        .db(SCHEMA)
        .local_infile(false)
        .run("LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE product")
        .expect_err("CLI with --local-infile=0");
    assert!(
        e.contains("ERROR 4166 (HY000)") && e.contains("has disabled the local infile capability"),
        "{e}"
    );
}

/// Inside a transaction the LOAD joins it on each node: ROLLBACK undoes every node's
/// part, COMMIT keeps it. A file larger than what the router holds, with a row no node
/// takes at its end, is stopped after rows went out: each node's LOAD is rolled back,
/// and inside a transaction the client is told the transaction is gone.
#[test]
fn loads_in_transactions_and_failures_after_rows_were_sent() {
    let s = Shard::start();
    let mut c = conn(&s);
    let file: &[&[u8]] = &[b"1\ta\n2\tb\n5000001\tc\n"];
    let load = "LOAD DATA LOCAL INFILE 'c' INTO TABLE customer (id, name)";
    c.query("BEGIN").expect("begin");
    let (_, r) = c.load(load, file);
    assert_eq!(r.expect("load in txn").0, 3);
    assert_eq!(
        s.on0("SELECT COUNT(*) FROM customer"),
        "0",
        "not committed yet"
    );
    c.query("ROLLBACK").expect("rollback");
    assert_eq!(s.on0("SELECT COUNT(*) FROM customer"), "0");
    assert_eq!(s.on1("SELECT COUNT(*) FROM customer"), "0");
    c.query("SET autocommit = 0").expect("autocommit 0");
    let (_, r) = c.load(load, file);
    assert_eq!(r.expect("load, autocommit 0").0, 3);
    c.query("COMMIT").expect("commit");
    c.query("SET autocommit = 1").expect("autocommit 1");
    assert_eq!(s.on0("SELECT COUNT(*) FROM customer"), "2");
    assert_eq!(s.on1("SELECT COUNT(*) FROM customer"), "1");
    // About 6 MiB of good rows on both nodes, then one no rule places.
    let mut big = String::new();
    for i in 0..120_000u64 {
        let id = if i % 2 == 0 { 100 + i } else { 5_000_100 + i };
        big.push_str(&format!("{id}\tname-{i:040}\n"));
    }
    big.push_str("99999999\tnowhere\n");
    let pieces: Vec<&[u8]> = big.as_bytes().chunks(16 * 1024).collect();
    let (_, r) = c.load(load, &pieces);
    let e = r.expect_err("stopped");
    assert!(
        e.code == 1105 && e.msg.contains("row 120001") && e.msg.contains("stopped"),
        "{e}"
    );
    assert_eq!(
        c.value("SELECT COUNT(*) FROM customer").expect("usable"),
        Some("3".into())
    );
    assert_eq!(s.on0("SELECT COUNT(*) FROM customer"), "2");
    assert_eq!(s.on1("SELECT COUNT(*) FROM customer"), "1");
    c.query("BEGIN").expect("begin");
    c.query("INSERT INTO customer (id, name) VALUES (7, 'in txn')")
        .expect("insert");
    let (_, r) = c.load(load, &pieces);
    let e = r.expect_err("stopped in txn");
    assert!(e.code == 1213 && e.msg.contains("rolled back"), "{e}");
    // The transaction is gone: its INSERT too; the session goes on.
    c.query("COMMIT").expect("commit after");
    assert_eq!(s.on0("SELECT COUNT(*) FROM customer WHERE id = 7"), "0");
    assert_eq!(
        c.value("SELECT COUNT(*) FROM customer").expect("usable"),
        Some("3".into())
    );
    assert!(
        s.logs().contains("LOAD DATA stopped after rows were sent"),
        "{}",
        s.logs()
    );
}

/// A LOAD in a transaction that already wrote on both data hosts keeps both parts (the
/// columns read before the LOAD took one host's connection and closed the other's, which
/// rolled that part back, and the COMMIT still said done on each); a row no node takes
/// in a small file is refused with nothing sent, and the transaction goes on (it was
/// ended with 1213); integer sharding values with the whitespace a server skips (a CRLF
/// file's `\r`) are placed by the number the server stores.
#[test]
fn loads_keep_the_transaction_and_place_integers_as_the_server_reads_them() {
    let s = Shard::start();
    let mut c = conn(&s);
    let load = "LOAD DATA LOCAL INFILE 'c' INTO TABLE customer (id, name)";
    let on = |n: u8| {
        let q = "SELECT GROUP_CONCAT(id ORDER BY id) FROM customer";
        if n == 0 { s.on0(q) } else { s.on1(q) }
    };
    c.query("BEGIN").expect("begin");
    c.query("INSERT INTO customer (id, name) VALUES (1, 'dn0')")
        .expect("insert on dn0");
    c.query("INSERT INTO customer (id, name) VALUES (5000001, 'dn1')")
        .expect("insert on dn1");
    let (_, r) = c.load(load, &[b"2\tb\n5000002\tc\n"]);
    assert_eq!(r.expect("load in txn").0, 2);
    let (_, r) = c.load(load, &[b"3\td\n\\N\tnull\n"]);
    let e = r.expect_err("NULL sharding value");
    assert!(
        e.code == 1105 && e.msg.contains("NULL") && !e.msg.contains("stopped"),
        "{e}"
    );
    c.query("COMMIT").expect("commit");
    assert_eq!(on(0), "1,2", "{}", s.logs());
    assert_eq!(on(1), "5000001,5000002", "{}", s.logs());

    let (_, r) = c.load(
        load,
        &[b" 5000003\tlead\n5000004 \ttrail\n5000005\r\tcr\n+7\tplus\n06.0\tzeros\n"],
    );
    assert_eq!(r.expect("values with whitespace").0, 5);
    let (_, r) = c.load(
        "LOAD DATA LOCAL INFILE 'c' INTO TABLE customer (name, id)",
        &[b"crlf\t5000006\r\ncrlf\t8\r\n"],
    );
    assert_eq!(r.expect("CRLF file read with LINES TERMINATED BY \\n").0, 2);
    assert_eq!(on(0), "1,2,6,7,8");
    assert_eq!(on(1), "5000001,5000002,5000003,5000004,5000005,5000006");
    // A number that is not whole: the server would round it; refused, nothing loaded.
    let (_, r) = c.load(load, &[b"9\tok\n5000007.5\tdec\n"]);
    let e = r.expect_err("decimal sharding value");
    assert!(
        e.code == 1105 && e.msg.contains("not a whole number"),
        "{e}"
    );
    assert_eq!(on(0), "1,2,6,7,8");
}

/// A MyCat migration: a table dumped as text with `mariadb-dump --tab` on the old
/// server is loaded through the router with `mariadb-import --local`, each row onto the
/// node its rule picks.
#[test]
fn mariadb_import_local_loads_a_tab_dump_through_the_router() {
    let s = Shard::start();
    let dir = tempfile::tempdir().expect("tempdir");
    s.a.sql(&format!(
        "CREATE DATABASE old; USE old; {} INSERT INTO product (id, name, price, category) VALUES (10, 'a\\tb', 1.00, NULL), (11, 'c\\nd', 2.00, 'x'), (12, 'e,f', 3.00, ''), (13, '\"q\"', 4.00, 'y');",
        common::shard::DDL
    ));
    let tab = dir.path().to_string_lossy().into_owned();
    let out = std::process::Command::new("mariadb-dump")
        .args([
            "--no-defaults",
            "--protocol=TCP",
            &format!("--host={}", s.a.addr.ip()),
            &format!("--port={}", s.a.addr.port()),
            "--user=root",
            &format!("--tab={tab}"),
            "old",
            "product",
        ])
        .output()
        .expect("mariadb-dump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let txt = dir.path().join("product.txt");
    let mut cmd = std::process::Command::new("mariadb-import");
    cmd.args([
        "--no-defaults",
        "--protocol=TCP",
        &format!("--host={}", s.router.addr.ip()),
        &format!("--port={}", s.router.addr.port()),
        &format!("--user={USER}"),
        &format!("--password={PASSWORD}"),
        "--local",
        SCHEMA,
    ])
    .arg(&txt);
    let out = common::shard::run_bounded(cmd, None, std::time::Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("mariadb-import: {e}\n{}", s.logs()));
    assert!(
        out.contains("shop.product: Records: 4  Deleted: 0  Skipped: 0  Warnings: 0"),
        "{out}"
    );
    let q = "SELECT id, name, price, IFNULL(category, 'NULL'), '|' FROM product ORDER BY id";
    let reference = s.a.sql(&format!("USE old; {q}"));
    assert_eq!(
        sorted(&format!("{}\n{}", s.on0(q), s.on1(q))),
        sorted(&reference)
    );
    assert_eq!(s.on0("SELECT GROUP_CONCAT(id) FROM product"), "10,12");
    assert_eq!(s.on1("SELECT GROUP_CONCAT(id) FROM product"), "11,13");
}

/// PyMySQL with `local_infile=True` loads a CSV into a sharded table through the router
/// (tests/clients/pymysql_load_data.py), and a refused load leaves its connection usable;
/// `router.local_infile: false` turns the capability off (error 4166, as from a server).
#[test]
fn pymysql_loads_and_local_infile_off_refuses() {
    let s = Shard::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = common::write(
        dir.path(),
        "rows.csv",
        "1,one,1.00\n2,\"t,wo\",2.00\n3,three,3.00\n4,four,4.00\n5,five,5.00\n6,six,6.00\n",
    );
    let (ok, out) =
        common::clients::run_pymysql_load(s.router.addr, USER, PASSWORD, SCHEMA, &file, 6);
    assert!(ok, "{out}\n{}", s.logs());
    assert_eq!(
        s.on0("SELECT GROUP_CONCAT(id ORDER BY id) FROM product"),
        "2,4,6"
    );
    assert_eq!(
        s.on1("SELECT GROUP_CONCAT(id ORDER BY id) FROM product"),
        "1,3,5"
    );
    assert_eq!(s.on0("SELECT name FROM product WHERE id = 2"), "t,wo");
    let off =
        common::shard::start_router(&common::shard::router_body(s.a.addr, s.b.addr).replacen(
            "  users:\n",
            "  local_infile: false\n  users:\n",
            1,
        ));
    let e = Mysql::new(off.addr, USER, PASSWORD)
        .db(SCHEMA)
        .local_infile(true)
        .run(&format!(
            "LOAD DATA LOCAL INFILE '{}' INTO TABLE product FIELDS TERMINATED BY ','",
            file.display()
        ))
        .expect_err("local_infile: false");
    assert!(e.contains("ERROR 4166 (HY000)"), "{e}");
    assert_eq!(s.on0("SELECT COUNT(*) FROM product"), "3");
    // Clients read the setting from the variable: the router's, not the servers' (ON).
    for (addr, num, word) in [(s.router.addr, "1", "ON"), (off.addr, "0", "OFF")] {
        let m = Mysql::new(addr, USER, PASSWORD).db(SCHEMA);
        let run = |sql: &str| {
            m.run(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .trim()
                .to_string()
        };
        assert_eq!(
            run("SELECT @@local_infile, @@GLOBAL.local_infile"),
            format!("{num}\t{num}")
        );
        for show in [
            "SHOW VARIABLES LIKE 'local_infile'",
            "SHOW GLOBAL VARIABLES WHERE Variable_name LIKE 'local\\_%'",
        ] {
            assert_eq!(run(show), format!("local_infile\t{word}"), "{show}");
        }
        // Other variables are the server's.
        assert_eq!(
            run("SHOW VARIABLES LIKE 'lower_case_table_names'"),
            "lower_case_table_names\t0"
        );
        let e = m
            .run("SELECT @@SESSION.local_infile")
            .expect_err("global only");
        assert!(e.contains("1238"), "{e}");
    }
}
