//! COM_STMT_EXECUTE of a prepared statement on sharded tables: the parameter values of
//! the packet are decoded into SQL literals, filled into the statement text and planned
//! (a write reaching several nodes runs as that text). Arbitrary packet bytes with an
//! arbitrary declared parameter count, remembered types and long-data parameters must
//! never panic.
//!
//! It runs the router's own functions (`router::session::{sent_types, decode_params,
//! fill_placeholders, with_types}`, exposed for this target) and feeds the filled text
//! to the planner, `plan::plan`, with a catalog that has a table for each partition
//! function (dates, strings and numbers from binary values reach every rule).
//!
//! Input: `[template][params u16 LE][flags][long-data ids u16 LE...][remembered types]
//! [sql NUL, only for template >= TEMPLATES.len()][packet]`, where flags bit 0 = the
//! statement has remembered types (`2 * params` bytes follow, fewer when the input is
//! short: then they do not count, as in the router) and bits 1-2 = number of long-data
//! parameter ids. The packet is the client's COM_STMT_EXECUTE payload, command byte
//! included.
//!
//! With `TANDEM_FUZZ_STRICT=1` the target also checks that each literal lexes as whole
//! tokens that stay whole in the filled text (no literal merges with the text around
//! its `?`), and that filling adds no statement.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tandem::router::plan::{self, Catalog, Lookups, Planned};
use tandem::router::session;
use tandem::router::sql::{self, Tok};

const TEMPLATES: &[&str] = &[
    "INSERT INTO customer (id, name) VALUES (?, ?)",
    "INSERT INTO customer (id, name) VALUES (?, ?), (?, ?)",
    "UPDATE product SET name = ? WHERE id IN (?, ?)",
    "DELETE FROM user_info WHERE province_id = ? OR province_id = ?",
    "SELECT * FROM customer WHERE id BETWEEN ? AND ?",
    "INSERT INTO order_item (id, order_id, qty) VALUES (?, ?, ?)",
    "INSERT INTO ev_day (d, v) VALUES (?, ?)",
    "UPDATE ev_month SET v = ? WHERE d = ?",
    "INSERT INTO s_hash (k, v) VALUES (?, ?)",
    "DELETE FROM s_murmur WHERE k IN (?, ?, ?)",
    "INSERT INTO s_sub (k) VALUES (?)",
    "UPDATE s_long SET v = ? WHERE id = ?",
    "INSERT INTO s_jump (id, v) VALUES (?, ?)",
    "DELETE FROM s_hashmod WHERE id = ?",
    "INSERT INTO s_latest (d, v) VALUES (?, ?)",
    "INSERT INTO product (name) VALUES (?)",
    "INSERT INTO item_note (id, item_id) VALUES (?, ?)",
    "INSERT INTO customer (id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE name = ?",
    "REPLACE INTO province (id, name) VALUES (?, ?)",
    "SELECT ?, id FROM customer WHERE id = ? AND name LIKE ?",
    "UPDATE ev_day SET v = ? WHERE d BETWEEN ? AND ?",
    "DELETE FROM s_hash WHERE k = ? AND v = ?",
];

fn config() -> String {
    let mut nodes = String::new();
    for i in 0..32 {
        nodes.push_str(&format!(
            "    - {{ name: dn{i}, data_host: h{}, database: shop_{i} }}\n",
            i % 2
        ));
    }
    format!(
        r#"node: t
router:
  listen: 127.0.0.1:18068
  admin_listen: off
  users:
    - {{ name: app, password: x, schemas: [shop] }}
  sequence: {{ handler: time, worker_id: 1, datacenter_id: 1 }}
  schemas:
    - name: shop
      data_node: dn0
      tables:
        - {{ name: customer, primary_key: id, data_nodes: "dn$0-1", rule: by-id }}
        - {{ name: product, primary_key: id, auto_increment: true, data_nodes: "dn0,dn1", rule: by-mod }}
        - {{ name: user_info, data_nodes: "dn0,dn1", rule: by-province }}
        - {{ name: province, data_nodes: "dn0,dn1", type: global }}
        - {{ name: ev_day, data_nodes: "dn$0-5", rule: by-day }}
        - {{ name: ev_month, data_nodes: "dn$0-11", rule: by-month }}
        - {{ name: s_hash, data_nodes: "dn$0-1", rule: by-hash }}
        - {{ name: s_murmur, data_nodes: "dn$0-1", rule: by-murmur }}
        - {{ name: s_sub, data_nodes: "dn$0-7", rule: by-sub }}
        - {{ name: s_long, data_nodes: "dn$0-2", rule: by-long }}
        - {{ name: s_jump, data_nodes: "dn$0-3", rule: by-jump }}
        - {{ name: s_hashmod, data_nodes: "dn$0-3", rule: by-hashmod }}
        - {{ name: s_latest, data_nodes: "dn$0-30", rule: by-latest }}
        - name: my_order
          data_nodes: "dn0,dn1"
          rule: by-id
          children:
            - name: order_item
              join_key: order_id
              parent_key: id
              children: [ {{ name: item_note, join_key: item_id, parent_key: id }} ]
  data_nodes:
{nodes}  data_hosts:
    - {{ name: h0, write_hosts: [ {{ host: m0, url: "127.0.0.1:3306", user: root }} ] }}
    - {{ name: h1, write_hosts: [ {{ host: m1, url: "127.0.0.1:3307", user: root }} ] }}
  rules:
    - {{ name: by-id, column: id, function: {{ type: range-long, map: ["0-500M=0", "500M-1000M=1"] }} }}
    - {{ name: by-mod, column: id, function: {{ type: mod-long, count: 2 }} }}
    - {{ name: by-province, column: province_id, function: {{ type: file-map, key_type: int, map: ["10000=0", "10010=1"], default_node: 0 }} }}
    - {{ name: by-day, column: d, function: {{ type: date, date_format: yyyy-MM-dd, begin_date: "2014-01-01", partition_day: 10, end_date: "2014-03-01" }} }}
    - {{ name: by-month, column: d, function: {{ type: month, date_format: "yyyy-MM-dd HH:mm:ss", begin_date: "2014-01-01 00:00:00", end_date: "2014-12-01 00:00:00" }} }}
    - {{ name: by-hash, column: k, function: {{ type: string-hash, partition_length: 512, partition_count: 2, hash_slice: "-4:0" }} }}
    - {{ name: by-murmur, column: k, function: {{ type: murmur, seed: 0, count: 2, virtual_bucket_times: 160 }} }}
    - {{ name: by-sub, column: k, function: {{ type: substring, start_index: 0, size: 2, partition_count: 8, default_partition: 0 }} }}
    - {{ name: by-long, column: id, function: {{ type: long, partition_count: "2,1", partition_length: "256,512" }} }}
    - {{ name: by-jump, column: id, function: {{ type: jump-consistent-hash, total_buckets: 4 }} }}
    - {{ name: by-hashmod, column: id, function: {{ type: hash-mod, count: 4 }} }}
    - {{ name: by-latest, column: d, function: {{ type: latest-month, split_one_day: 1 }} }}
"#
    )
}

fn catalog() -> &'static Catalog {
    static CAT: OnceLock<Catalog> = OnceLock::new();
    CAT.get_or_init(|| {
        let cfg = config();
        let checked = tandem::config::check_str(&cfg, "fuzz.yaml", std::path::Path::new("/"));
        let (cfg, _) = checked
            .into_result()
            .unwrap_or_else(|d| panic!("fuzz config is invalid: {d:?}"));
        Catalog::build(cfg.router.as_ref().expect("router"), std::path::Path::new("/"))
            .expect("catalog")
    })
}

fn strict() -> bool {
    static S: OnceLock<bool> = OnceLock::new();
    *S.get_or_init(|| std::env::var_os("TANDEM_FUZZ_STRICT").is_some_and(|v| v == "1"))
}


/// Literal spans that a token of the filled text crosses (strict mode).
fn check_fill(sql_text: &str, lits: &[Option<String>], filled: &str) {
    // Where each literal landed, by the same walk as fill_placeholders (which puts a
    // space between a literal and a word or quote it would touch).
    let sticks = |b: Option<&u8>| {
        b.is_some_and(|&b| {
            !b.is_ascii_whitespace() && !matches!(b, b'(' | b')' | b',' | b';')
        })
    };
    let bytes = sql_text.as_bytes();
    let mut spans = Vec::new();
    let mut shift: isize = 0;
    let mut k = 0;
    for t in sql::lex(sql_text) {
        if t.punct(b'?') {
            if let Some(Some(v)) = lits.get(k) {
                let before = isize::from(t.start > 0 && sticks(bytes.get(t.start - 1)));
                let after = isize::from(sticks(bytes.get(t.end)));
                let start = (t.start as isize + shift + before) as usize;
                spans.push((start, start + v.len(), v.clone()));
                shift += before + after + v.len() as isize - (t.end - t.start) as isize;
            }
            k += 1;
        }
    }
    for (_, _, v) in &spans {
        let toks = sql::lex(v);
        assert!(
            !toks.iter().any(|t| t.tok == Tok::Semi || t.punct(b'?')),
            "literal {v:?} lexes with a `;` or `?`: {toks:?}"
        );
        if v.starts_with('\'') {
            assert!(
                toks.len() == 1 && toks[0].tok == Tok::Str && toks[0].end == v.len(),
                "string literal {v:?} is not one string token: {toks:?}"
            );
        }
    }
    let toks = sql::lex(filled);
    for (s, e, v) in &spans {
        if let Some(t) = toks
            .iter()
            .find(|t| (t.start < *s && t.end > *s) || (t.start < *e && t.end > *e))
        {
            panic!(
                "literal {v:?} at {s}..{e} merges with the text around its `?`: token {t:?}\nsql: {sql_text:?}\nfilled: {filled:?}"
            );
        }
    }
    let semis = |ts: &[sql::Token]| ts.iter().filter(|t| t.tok == Tok::Semi).count();
    assert_eq!(
        semis(&sql::lex(sql_text)),
        semis(&toks),
        "filling changed the statement count\nsql: {sql_text:?}\nfilled: {filled:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let template = usize::from(data[0]);
    let params = u16::from_le_bytes([data[1], data[2]]);
    let flags = data[3];
    let mut rest = &data[4..];
    let mut long = Vec::new();
    for _ in 0..(flags >> 1) & 3 {
        let Some((id, r)) = rest.split_first_chunk::<2>() else {
            return;
        };
        long.push(u16::from_le_bytes(*id));
        rest = r;
    }
    let remembered = if flags & 1 != 0 {
        let n = (2 * usize::from(params)).min(rest.len());
        let (t, r) = rest.split_at(n);
        rest = r;
        Some(t)
    } else {
        None
    };
    let custom;
    let sql_text: &str = match TEMPLATES.get(template) {
        Some(t) => t,
        None => {
            let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            custom = String::from_utf8_lossy(&rest[..end]).into_owned();
            rest = rest.get(end + 1..).unwrap_or(&[]);
            &custom
        }
    };
    let p = rest;
    if p.is_empty() {
        // The router never sees an empty packet (the command byte is there).
        return;
    }

    // Session::execute_routed → execute_sharded.
    let mut long_ids = long.clone();
    long_ids.dedup();
    let types = match session::sent_types(p, params) {
        Some(t) => t,
        None => remembered,
    };
    let lits = session::decode_params(p, params, types, &long_ids);
    assert_eq!(lits.len(), usize::from(params));
    let text = session::fill_placeholders(sql_text, &lits);
    if strict() {
        check_fill(sql_text, &lits, &text);
    }
    // Session::execute_on (one node): the packet as forwarded.
    if let Some(t) = remembered {
        let _ = session::with_types(p, params, t);
    }

    let cat = catalog();
    let mut l = Lookups::new();
    match plan::plan(cat, "shop", &text, &l) {
        Ok(Planned::Lookup(ls)) => {
            for x in ls {
                l.insert(x, Some("dn1".into()));
            }
            let _ = plan::plan(cat, "shop", &text, &l);
        }
        Ok(Planned::Ids { count, .. }) => {
            l.ids = Some((1..=count.min(4096) as i64).collect());
            let _ = plan::plan(cat, "shop", &text, &l);
        }
        _ => {}
    }
});
