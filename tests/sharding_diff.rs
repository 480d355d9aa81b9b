//! Differential test of the sharding router: the same deterministic data set is loaded
//! through the router (multi-row INSERTs that it splits over two data nodes) and into one
//! plain reference database; then every SELECT of tests/data/sharding/corpus.sql runs
//! through the router and directly on the reference, and the outputs (column header and
//! rows) must be identical — in order when the statement has a top-level ORDER BY, as
//! multisets otherwise. Statements marked `!refuse ` must get an error from the router
//! (they are valid SQL the reference answers, but a sharding router cannot answer them
//! correctly by pushing them down). Every mismatch is listed at the end.
//!
//! The router config is the one of tests/sharding.rs (tests/common/shard.rs): customer and
//! my_order range-long on id (5,000,000 is the boundary), order_item ER child of my_order,
//! user_info file-map on province_id, product mod-long 2, province global.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::mariadb::MariaDb;
use common::shard::{DDL, Mysql, PASSWORD, SCHEMA, USER, router_body, start_router, two_servers};

/// Rows per INSERT statement.
const BATCH: usize = 100;

/// Knuth's MMIX LCG; deterministic, no dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True `pct` percent of the time.
    /// Below `n` for `n` above 2^31 too.
    fn wide(&mut self, n: u64) -> u64 {
        ((self.next() << 31) | self.next()) % n
    }

    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len() as u64) as usize]
    }
}

/// A table's rows as SQL literals.
struct Table {
    name: &'static str,
    cols: &'static [&'static str],
    rows: Vec<Vec<String>>,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Cents as a DECIMAL(12,2) literal.
fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

/// `days` after 1970-01-01 as a quoted DATE literal (Howard Hinnant's civil_from_days).
fn date(days: i64) -> String {
    let (y, m, d) = tandem::civil::from_days(days);
    format!("'{y:04}-{m:02}-{d:02}'")
}

/// Days from 1970-01-01 to 2019-01-01, 2021-01-01 and 1960-01-01.
const D2019: i64 = 17_897;
const D2021: i64 = 18_628;
const D1960: i64 = -3_653;

fn opt(r: &mut Lcg, null_pct: u64, v: impl FnOnce(&mut Lcg) -> String) -> String {
    if r.chance(null_pct) {
        "NULL".into()
    } else {
        v(r)
    }
}

/// Mixed case and duplicates on purpose (customer.name, user_info.name).
const NAMES: &[&str] = &[
    "Alice", "alice", "ALICE", "Bob", "bob", "Carol", "carol", "Dave", "Eve", "eve", "Frank",
    "Grace", "grace", "Heidi", "Ivan", "Judy", "Mallory", "Oscar", "Peggy", "Trent", "Victor",
    "Walter", "Zoe", "zoe",
];
/// One spelling each: safe to GROUP BY and DISTINCT.
const CITIES: &[&str] = &[
    "Beijing",
    "Shanghai",
    "Guangzhou",
    "Shenzhen",
    "Chengdu",
    "Hangzhou",
    "Wuhan",
    "Xian",
    "Nanjing",
    "Tianjin",
];
const PROVINCES: &[&str] = &[
    "Anhui",
    "Beijing",
    "Chongqing",
    "Fujian",
    "Gansu",
    "Guangdong",
    "Guangxi",
    "Guizhou",
    "Hainan",
    "Hebei",
    "Heilongjiang",
    "Henan",
    "Hubei",
    "Hunan",
    "Jiangsu",
    "Jiangxi",
    "Jilin",
    "Liaoning",
    "Ningxia",
    "Qinghai",
    "Shaanxi",
    "Shandong",
    "Shanghai",
    "Shanxi",
    "Sichuan",
    "Tianjin",
    "Tibet",
    "Xinjiang",
    "Yunnan",
    "Zhejiang",
];
const REGIONS: &[&str] = &["North", "South", "East", "West", "Central"];
const ADJECTIVES: &[&str] = &["Blue", "Red", "Small", "Large", "Smart", "Quiet", "Fast"];
const NOUNS: &[&str] = &[
    "Lamp", "Chair", "Phone", "Kettle", "Book", "Drill", "Tent", "Ball",
];
const CATEGORIES: &[&str] = &["books", "toys", "garden", "tools", "food", "sports"];
const STATUSES: &[&str] = &["new", "paid", "shipped", "done", "cancelled"];
const NOTES: &[&str] = &["gift", "fragile", "express", "bulk"];
const DOMAINS: &[&str] = &["example.com", "mail.test", "corp.test"];

/// The range-long boundary: ids up to it go to dn0, above it to dn1.
const BOUNDARY: i64 = 5_000_000;

fn customer_ids() -> Vec<i64> {
    let mut v: Vec<i64> = (0..1450).map(|i| 1 + i * 3389).collect();
    v.extend(4_999_951..=5_000_050);
    v.extend((0..1450).map(|i| 5_000_100 + i * 3413));
    v
}

fn order_ids() -> Vec<i64> {
    let mut v: Vec<i64> = (0..1000).map(|i| 10 + i * 4871).collect();
    v.extend(4_999_981..=5_000_020);
    v.extend((0..960).map(|i| 5_000_500 + i * 5101));
    v
}

/// province_id of user_info row `id`: 10000 (dn0), 10010 (dn1), or unmapped (dn0).
fn user_province(r: &mut Lcg) -> i64 {
    match r.below(10) {
        0..=3 => 10000,
        4..=7 => 10010,
        8 => 10001,
        _ => 10086,
    }
}

/// The data set, parents before children.
fn dataset() -> Vec<Table> {
    let mut r = Lcg(0x005e_ed0f_5a4d_1e57);
    let province = Table {
        name: "province",
        cols: &["id", "name", "region"],
        rows: PROVINCES
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let id = i as i64 + 1;
                let region = if id % 7 == 0 {
                    "NULL".into()
                } else {
                    quote(REGIONS[id as usize % REGIONS.len()])
                };
                vec![id.to_string(), quote(n), region]
            })
            .collect(),
    };
    let cids = customer_ids();
    let customer = Table {
        name: "customer",
        cols: &[
            "id",
            "name",
            "city",
            "province_id",
            "level",
            "balance",
            "created",
        ],
        rows: cids
            .iter()
            .map(|id| {
                vec![
                    id.to_string(),
                    quote(r.pick(NAMES)),
                    opt(&mut r, 10, |r| quote(r.pick(CITIES))),
                    opt(&mut r, 8, |r| (1 + r.below(30)).to_string()),
                    opt(&mut r, 12, |r| (1 + r.below(10)).to_string()),
                    opt(&mut r, 7, |r| money(r.below(5_050_000) as i64 - 50_000)),
                    opt(&mut r, 5, |r| date(D2019 + r.below(1461) as i64)),
                ]
            })
            .collect(),
    };
    let user_info = Table {
        name: "user_info",
        cols: &["id", "province_id", "name", "email", "score", "birthday"],
        rows: (1..=1500i64)
            .map(|id| {
                vec![
                    id.to_string(),
                    user_province(&mut r).to_string(),
                    quote(r.pick(NAMES)),
                    opt(&mut r, 20, |r| {
                        quote(&format!("user{id}@{}", r.pick(DOMAINS)))
                    }),
                    opt(&mut r, 10, |r| r.below(101).to_string()),
                    opt(&mut r, 15, |r| date(D1960 + r.below(15_000) as i64)),
                ]
            })
            .collect(),
    };
    let product = Table {
        name: "product",
        cols: &["id", "name", "category", "price", "stock", "weight_g"],
        rows: (1..=2000i64)
            .map(|id| {
                let name = format!("{} {}", r.pick(ADJECTIVES), r.pick(NOUNS));
                vec![
                    id.to_string(),
                    quote(&name),
                    opt(&mut r, 8, |r| quote(r.pick(CATEGORIES))),
                    money(99 + r.below(99_901) as i64),
                    opt(&mut r, 10, |r| r.below(501).to_string()),
                    opt(&mut r, 10, |r| (1 + r.wide(5_000_000_000_000)).to_string()),
                ]
            })
            .collect(),
    };
    let oids = order_ids();
    let my_order = Table {
        name: "my_order",
        cols: &[
            "id",
            "customer_id",
            "province_id",
            "status",
            "total",
            "order_date",
        ],
        rows: oids
            .iter()
            .map(|id| {
                vec![
                    id.to_string(),
                    cids[r.below(cids.len() as u64) as usize].to_string(),
                    opt(&mut r, 10, |r| (1 + r.below(30)).to_string()),
                    quote(r.pick(STATUSES)),
                    opt(&mut r, 6, |r| money(100 + r.below(2_000_000) as i64)),
                    date(D2021 + r.below(730) as i64),
                ]
            })
            .collect(),
    };
    let order_item = Table {
        name: "order_item",
        cols: &["id", "order_id", "product_id", "qty", "price", "note"],
        rows: (1..=5000i64)
            .map(|id| {
                vec![
                    id.to_string(),
                    oids[r.below(oids.len() as u64) as usize].to_string(),
                    (1 + r.below(2000)).to_string(),
                    (1 + r.below(10)).to_string(),
                    money(50 + r.below(49_951) as i64),
                    opt(&mut r, 75, |r| quote(r.pick(NOTES))),
                ]
            })
            .collect(),
    };
    vec![province, customer, user_info, product, my_order, order_item]
}

/// Multi-row INSERTs of `BATCH` rows, one per line.
fn insert_script(tables: &[Table]) -> String {
    let mut s = String::new();
    for t in tables {
        for chunk in t.rows.chunks(BATCH) {
            let values: Vec<String> = chunk
                .iter()
                .map(|row| format!("({})", row.join(", ")))
                .collect();
            s += &format!(
                "INSERT INTO {} ({}) VALUES {};\n",
                t.name,
                t.cols.join(", "),
                values.join(", ")
            );
        }
    }
    s
}

/// Whether `sql` has an ORDER BY outside parentheses and string literals.
fn top_level(sql: &str, keyword: &str) -> bool {
    let low = sql.to_ascii_lowercase();
    let b = low.as_bytes();
    let kw = keyword.as_bytes();
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
        } else {
            match c {
                b'\'' | b'"' | b'`' => quote = Some(c),
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ => {
                    let word_start =
                        i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
                    if depth == 0 && word_start && b[i..].starts_with(kw) {
                        let end = i + kw.len();
                        if end == b.len() || !(b[end].is_ascii_alphanumeric() || b[end] == b'_') {
                            return true;
                        }
                    }
                }
            }
        }
        i += 1;
    }
    false
}

/// ORDER BY written with any whitespace between the words.
fn has_top_level_order_by(sql: &str) -> bool {
    let norm: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    top_level(&norm, "order by")
}

/// A corpus statement.
struct Case {
    line: usize,
    sql: String,
    refuse: bool,
}

fn corpus() -> Vec<Case> {
    let path = common::repo_root().join("tests/data/sharding/corpus.sql");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let l = l.trim();
            if l.is_empty() || l.starts_with('#') {
                return None;
            }
            let (refuse, sql) = match l.strip_prefix("!refuse ") {
                Some(rest) => (true, rest.trim()),
                None => (false, l),
            };
            Some(Case {
                line: i + 1,
                sql: sql.trim_end_matches(';').to_string(),
                refuse,
            })
        })
        .collect()
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let cut: String = s.chars().take(n).collect();
        format!("{cut}… ({} chars)", s.chars().count())
    }
}

/// A client result for a failure message: truncated, continuation lines indented.
fn show(r: &Result<Vec<String>, String>) -> String {
    let text = match r {
        Ok(lines) => truncate(&lines.join("\n"), 800),
        Err(e) => format!("ERROR: {}", truncate(e, 800)),
    };
    text.replace('\n', "\n          ")
}

/// Whether the two outputs agree: header line equal, rows equal (in order when
/// `ordered`, as multisets otherwise).
fn same(router: &[String], direct: &[String], ordered: bool) -> bool {
    if router.first() != direct.first() {
        return false;
    }
    let (mut a, mut b) = (router.to_vec(), direct.to_vec());
    if !ordered {
        let (ka, kb) = (a.len().min(1), b.len().min(1));
        a[ka..].sort();
        b[kb..].sort();
    }
    a == b
}

/// The expected placement on each node: (node 0 query result, node 1 query result).
fn placement_checks(tables: &[Table]) -> Vec<(&'static str, String, String)> {
    let rows = |name: &str| &tables.iter().find(|t| t.name == name).expect("table").rows;
    let id_of = |row: &Vec<String>, col: usize| row[col].parse::<i64>().expect("int");
    let range = |ids: Vec<i64>| {
        let show = |v: Vec<i64>| {
            format!(
                "{}\t{}\t{}",
                v.len(),
                v.iter().min().map_or("NULL".into(), |x| x.to_string()),
                v.iter().max().map_or("NULL".into(), |x| x.to_string())
            )
        };
        let (lo, hi): (Vec<i64>, Vec<i64>) = ids.into_iter().partition(|id| *id <= BOUNDARY);
        (show(lo), show(hi))
    };
    let mut out = Vec::new();
    let (a, b) = range(rows("customer").iter().map(|r| id_of(r, 0)).collect());
    out.push(("SELECT COUNT(*), MIN(id), MAX(id) FROM customer", a, b));
    let (a, b) = range(rows("my_order").iter().map(|r| id_of(r, 0)).collect());
    out.push(("SELECT COUNT(*), MIN(id), MAX(id) FROM my_order", a, b));
    let (a, b) = range(rows("order_item").iter().map(|r| id_of(r, 1)).collect());
    out.push((
        "SELECT COUNT(*), MIN(order_id), MAX(order_id) FROM order_item",
        a,
        b,
    ));
    out.push((
        "SELECT COUNT(*) FROM order_item i LEFT JOIN my_order o ON o.id = i.order_id WHERE o.id IS NULL",
        "0".into(),
        "0".into(),
    ));
    let on1 = rows("user_info").iter().filter(|r| r[1] == "10010").count();
    out.push((
        "SELECT COUNT(*), SUM(province_id = 10010) FROM user_info",
        format!("{}\t0", rows("user_info").len() - on1),
        format!("{on1}\t{on1}"),
    ));
    let odd = rows("product")
        .iter()
        .filter(|r| id_of(r, 0) % 2 == 1)
        .count();
    out.push((
        "SELECT COUNT(*), SUM(id % 2) FROM product",
        format!("{}\t0", rows("product").len() - odd),
        format!("{odd}\t{odd}"),
    ));
    let n = rows("province").len();
    out.push((
        "SELECT COUNT(*) FROM province",
        n.to_string(),
        n.to_string(),
    ));
    out
}

#[test]
fn router_answers_like_one_unsharded_database() {
    let cases = corpus();
    let selects = cases.iter().filter(|c| !c.refuse).count();
    assert!(
        selects >= 200,
        "the corpus should have at least 200 compared SELECTs, has {selects}"
    );
    let (a, b): (MariaDb, MariaDb) = two_servers();
    a.sql(&format!(
        "CREATE DATABASE shop_0; CREATE DATABASE ref; USE shop_0; {DDL} USE ref; {DDL}"
    ));
    b.sql(&format!("CREATE DATABASE shop_1; USE shop_1; {DDL}"));
    let router = start_router(&router_body(a.addr, b.addr));
    let long = Duration::from_secs(300);
    let via_router = Mysql::new(router.addr, USER, PASSWORD).db(SCHEMA);
    let direct = Mysql::new(a.addr, "root", "").db("ref");

    let tables = dataset();
    let script = insert_script(&tables);
    direct
        .clone()
        .timeout(long)
        .script(&script)
        .unwrap_or_else(|e| panic!("loading the reference database: {}", truncate(&e, 3000)));
    if let Err(e) = via_router.clone().timeout(long).script(&script) {
        panic!(
            "loading through the router (multi-row INSERTs of {BATCH} rows): {}\n{}",
            truncate(&e, 3000),
            tail(&router.daemon.logs(), 4000)
        );
    }

    let mut problems: Vec<String> = Vec::new();
    // Rows are where the rules put them, and nowhere else.
    for (sql, want0, want1) in placement_checks(&tables) {
        let got0 = a.sql(&format!("USE shop_0; {sql}"));
        let got1 = b.sql(&format!("USE shop_1; {sql}"));
        if got0 != want0 || got1 != want1 {
            problems.push(format!(
                "placement: {sql}\n  dn0: {got0:?}, expected {want0:?}\n  dn1: {got1:?}, expected {want1:?}"
            ));
        }
    }

    let (mut compared, mut ordered_n, mut refused) = (0, 0, 0);
    for case in &cases {
        let ordered = has_top_level_order_by(&case.sql);
        if !ordered && top_level(&case.sql, "limit") {
            problems.push(format!(
                "corpus line {}: LIMIT without ORDER BY has no single right answer: {}",
                case.line, case.sql
            ));
            continue;
        }
        let want = direct.clone().header().lines(&case.sql);
        let got = via_router.clone().header().lines(&case.sql);
        if case.refuse {
            refused += 1;
            if want.is_err() {
                problems.push(format!(
                    "corpus line {}: the reference database rejects a !refuse statement, so a refusal proves nothing: {}\n  {}",
                    case.line,
                    case.sql,
                    show(&want)
                ));
            }
            if got.is_ok() {
                problems.push(format!(
                    "line {}: expected the router to refuse\n  SQL:    {}\n  router: {}\n  direct: {}",
                    case.line,
                    case.sql,
                    show(&got),
                    show(&want)
                ));
            }
            continue;
        }
        compared += 1;
        if ordered {
            ordered_n += 1;
        }
        let ok = match (&got, &want) {
            (Ok(g), Ok(w)) => same(g, w, ordered),
            _ => false,
        };
        if !ok {
            problems.push(format!(
                "line {}: {} mismatch\n  SQL:    {}\n  router: {}\n  direct: {}",
                case.line,
                if ordered { "ordered" } else { "unordered" },
                case.sql,
                show(&got),
                show(&want)
            ));
        }
    }
    let distinct_sql: BTreeSet<&str> = cases.iter().map(|c| c.sql.as_str()).collect();
    println!(
        "sharding diff: {compared} compared ({ordered_n} in order), {refused} refused, {} distinct statements, {} problems",
        distinct_sql.len(),
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems ({compared} compared, {refused} expected refusals):\n\n{}\n\nrouter log (tail):\n{}",
        problems.len(),
        problems.join("\n\n"),
        tail(&router.daemon.logs(), 4000)
    );
}

fn tail(s: &str, n: usize) -> String {
    let count = s.chars().count();
    if count <= n {
        s.to_string()
    } else {
        s.chars().skip(count - n).collect()
    }
}

/// Tables for [`enum_set_and_collations_merge_like_one_server`]: `audit` is sharded
/// (mod-long on id), `province` global.
const TYPED_DDL: &str = "\
CREATE TABLE audit (
  id INT NOT NULL PRIMARY KEY,
  e ENUM('zeta','alpha','mid') NULL,
  s SET('z','a','m') NULL,
  u VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
  n VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_nopad_ci NULL,
  l VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci NULL,
  g VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL
) ENGINE=InnoDB;
CREATE TABLE province (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(40) NOT NULL,
  region VARCHAR(40) NULL,
  created DATETIME(6) NULL,
  stamp BIGINT NULL,
  touched TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB;
";

/// ENUM columns sort by member position and SET columns by their bits on a server, and
/// text by the column's own collation (utf8mb4_unicode_ci: 'ß' = 'ss'; latin1_swedish_ci:
/// 'Å', 'Ä', 'Ö' after 'Z'; NO PAD: trailing spaces count), none of which the column
/// definitions reveal: the router's merge must still give one server's order. And a
/// write to a global table leaves its copies identical (one clock reading for NOW() and
/// for column defaults, per-node functions refused).
#[test]
fn enum_set_and_collations_merge_like_one_server() {
    let shard = common::shard::Shard::start_with_ddl(TYPED_DDL);
    let words = [
        "ss", "ß", "sa", "st", "Alpha", "alpha", "Ärla", "Zeta", "Öst", "Åsa", "b", "b ", "B",
        "äpple", "ae", "z", "s", "Sz", "b\t",
    ];
    let enums = ["zeta", "alpha", "mid"];
    let sets = ["", "z", "a", "m", "z,a", "a,m", "z,m", "z,a,m"];
    let mut values = Vec::new();
    for i in 0..40usize {
        let w = words[i % words.len()];
        let w2 = words[(i * 7 + 3) % words.len()];
        let e = if i % 9 == 4 {
            "NULL".to_string()
        } else {
            format!("'{}'", enums[(i * 5) % 3])
        };
        let s = format!("'{}'", sets[(i * 3) % sets.len()]);
        let lit = |w: &str| format!("'{}'", w.replace('\t', "\\t"));
        values.push(format!(
            "({}, {e}, {s}, {}, {}, {}, {})",
            i + 1,
            lit(w),
            lit(w2),
            lit(w2),
            lit(w)
        ));
    }
    let insert = format!(
        "INSERT INTO audit (id, e, s, u, n, l, g) VALUES {}",
        values.join(", ")
    );
    shard.q(&insert).expect("insert through the router");
    shard.a.sql(&format!(
        "CREATE DATABASE ref; USE ref; {TYPED_DDL} {insert}"
    ));
    let on0 = shard.on0("SELECT COUNT(*) FROM audit");
    let on1 = shard.on1("SELECT COUNT(*) FROM audit");
    assert!(
        on0.trim() != "0" && on1.trim() != "0",
        "rows on both nodes: {on0} {on1}"
    );
    let reference = Mysql::new(shard.a.addr, "root", "").db("ref");
    let cases = [
        "SELECT id, e FROM audit ORDER BY e, id",
        "SELECT id, e FROM audit ORDER BY e DESC, id LIMIT 7",
        "SELECT e AS k, id FROM audit ORDER BY k, id",
        "SELECT e, COUNT(*) FROM audit GROUP BY e",
        "SELECT e, COUNT(*) FROM audit GROUP BY e ORDER BY e DESC",
        "SELECT id, s FROM audit ORDER BY s, id",
        "SELECT s, COUNT(*) FROM audit GROUP BY s",
        "SELECT id FROM audit ORDER BY e, s DESC, id",
        "SELECT MIN(e), MAX(e), MIN(s), MAX(s) FROM audit",
        "SELECT id, u FROM audit ORDER BY u, id",
        "SELECT id FROM audit ORDER BY u DESC, id LIMIT 10",
        "SELECT COUNT(*), MIN(id) FROM audit GROUP BY u",
        "SELECT id, n FROM audit ORDER BY n, id",
        "SELECT COUNT(*), MIN(id) FROM audit GROUP BY n",
        "SELECT id, l FROM audit ORDER BY l, id",
        "SELECT COUNT(*), MIN(id) FROM audit GROUP BY l",
        "SELECT id, g FROM audit ORDER BY g, id",
        "SELECT COUNT(*), MIN(id) FROM audit GROUP BY g",
        // Sort keys and aggregate arguments whose parser positions cover only part of
        // them: the hidden columns carry the whole expression.
        "SELECT id, e FROM audit ORDER BY e IS NULL, e, id",
        "SELECT id FROM audit ORDER BY IFNULL(e, 'alpha'), id",
        "SELECT id, g FROM audit ORDER BY BINARY g, id",
        "SELECT e, AVG(IFNULL(id, 0)) FROM audit GROUP BY e ORDER BY e",
        "SELECT id, e, s FROM audit ORDER BY e, s, id",
        "SELECT a.id, a.e FROM audit a ORDER BY a.e DESC, a.id LIMIT 5",
        "SELECT DISTINCT e FROM audit ORDER BY e",
        // Expression keys compare in the expression's collation (the nodes' weights).
        "SELECT id, LOWER(u) FROM audit ORDER BY LOWER(u), id",
        "SELECT id FROM audit ORDER BY CONCAT(u, '!') DESC, id LIMIT 12",
        "SELECT id FROM audit ORDER BY CONCAT(l, 'x'), id",
        "SELECT id FROM audit ORDER BY TRIM(n), id",
        "SELECT id, REPLACE(n, 'a', 'b') AS k FROM audit ORDER BY k, id",
        "SELECT id FROM audit ORDER BY g COLLATE utf8mb4_bin, id",
        "SELECT id FROM audit ORDER BY u COLLATE utf8mb4_general_ci DESC, id",
        "SELECT COUNT(*), MIN(id) FROM audit GROUP BY UPPER(u)",
        "SELECT COUNT(*), MIN(id) FROM audit GROUP BY CONCAT(l, '')",
        "SELECT id FROM audit ORDER BY LENGTH(u), id",
        // MIN/MAX of text: each node's best by its collation, the merged one by the
        // weights (latin1_swedish_ci puts Å Ä Ö after Z).
        "SELECT MAX(l), MIN(l), MAX(u), MAX(CONCAT(l, '')) FROM audit",
        // (Not the NULL group: its MAX(l) ties 'b', 'b ' and 'B', which a server picks
        // by scan order.)
        "SELECT e, MAX(l) AS m FROM audit WHERE e IS NOT NULL GROUP BY e ORDER BY m DESC, e",
        "SELECT e, MIN(l), MAX(l) FROM audit WHERE e IS NOT NULL GROUP BY e",
    ];
    let mut bad = Vec::new();
    for sql in cases {
        let routed = shard.q(sql);
        let direct = reference.run(sql).map(|s| s.trim_end().to_string());
        if routed != direct {
            bad.push(format!("{sql}\n  router: {routed:?}\n  direct: {direct:?}"));
        }
    }
    // DISTINCT on unsorted columns: as many rows as one server gives (which of the
    // values that compare equal, 'ß' or 'ss', stands for them is the server's pick).
    for sql in [
        "SELECT DISTINCT u FROM audit",
        "SELECT DISTINCT l FROM audit",
        "SELECT DISTINCT LOWER(n) FROM audit",
        "SELECT DISTINCT u, l FROM audit",
    ] {
        let routed = shard.q(sql).map(|t| t.lines().count());
        let direct = reference.run(sql).map(|t| t.trim_end().lines().count());
        if routed != direct {
            bad.push(format!(
                "{sql}\n  router: {routed:?} rows\n  direct: {direct:?} rows"
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );

    // Global table: one clock reading for every copy; per-node functions refused.
    shard
        .q("INSERT INTO province (id, name, created, stamp) VALUES (1, 'one', NOW(6), UNIX_TIMESTAMP())")
        .expect("insert");
    shard
        .q("INSERT INTO province (id, name, created) VALUES (2, 'two', CURRENT_TIMESTAMP(6))")
        .expect("insert");
    shard
        .q("UPDATE province SET region = CURTIME(6), created = NOW(6) WHERE id = 2")
        .expect("update");
    // `touched` is set by the column's DEFAULT / ON UPDATE, to the microsecond: equal
    // only when every node ran the write with the same clock.
    let copy = "SELECT id, name, region, created, stamp, touched FROM province ORDER BY id";
    let (c0, c1) = (shard.on0(copy), shard.on1(copy));
    assert_eq!(c0, c1, "the copies differ");
    assert!(
        !c0.contains("NULL\tNULL\tNULL") && c0.lines().count() == 2,
        "{c0}"
    );
    for sql in [
        "INSERT INTO province (id, name) VALUES (3, UUID())",
        "UPDATE province SET region = RAND()",
        "INSERT INTO province (id, name) VALUES (4, SYSDATE())",
    ] {
        let e = shard.q(sql).expect_err(sql);
        assert!(e.contains("global table"), "{sql}: {e}");
    }
    assert_eq!(shard.on0(copy), c0);
    assert_eq!(shard.on1(copy), c0);
    // A client's own `SET timestamp` is the statement clock, as on one server.
    shard
        .q("SET timestamp = 1000000000.5; INSERT INTO province (id, name, created, stamp) VALUES (5, 'five', NOW(6), UNIX_TIMESTAMP())")
        .expect("insert with the session's timestamp");
    let five =
        "SELECT stamp, UNIX_TIMESTAMP(created), UNIX_TIMESTAMP(touched) FROM province WHERE id = 5";
    assert_eq!(
        shard.on0(five),
        "1000000000\t1000000000.500000\t1000000000.500000"
    );
    assert_eq!(shard.on1(five), shard.on0(five));
}
