//! Global sequences (`next value for MYCATSEQ_<NAME>`): the database handler against a
//! real MariaDB with MyCat's own dbseq.sql (MYCAT_SEQUENCE and mycat_seq_nextval), two
//! handler instances standing for two routers; the local_file handler's file; and the
//! `router.sequence` config checks.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::mariadb::{MariaDb, mariadb_client};
use tandem::config;
use tandem::router::sequence::{NoDb, SeqDb, SequenceError, Sequences};

const DBSEQ_SQL: &str = include_str!("data/sequence/dbseq.sql");

/// Runs the handler's statement with the mariadb CLI in database `seqdb` (a fresh
/// connection per call: autocommit, on the one server).
struct CliDb {
    addr: SocketAddr,
    calls: AtomicUsize,
}

impl SeqDb for CliDb {
    fn query<'a>(
        &'a self,
        data_node: &'a str,
        sql: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send + 'a>> {
        Box::pin(async move {
            assert_eq!(data_node, "dn0");
            self.calls.fetch_add(1, Ordering::SeqCst);
            let (addr, sql) = (self.addr, sql.to_string());
            let out = tokio::task::spawn_blocking(move || {
                mariadb_client(addr, "root", Some("seqdb"), &sql)
            })
            .await
            .map_err(|e| e.to_string())??;
            Ok((out != "NULL").then_some(out))
        })
    }
}

fn seq_config(yaml: &str, dir: &Path) -> tandem::config::router::SequenceConfig {
    let checked = config::check_str(&router_yaml(yaml), "t.yaml", dir);
    let errors: Vec<String> = checked.errors().iter().map(|d| d.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    checked
        .config
        .and_then(|c| c.router)
        .and_then(|r| r.sequence)
        .expect("router.sequence")
}

/// A valid router section with data nodes dn0 and dn1, plus `sequence` (indented by 4).
fn router_yaml(sequence: &str) -> String {
    format!(
        "\
router:
  users: [{{ name: app, password: x, schemas: [shop] }}]
  schemas: [{{ name: shop, data_node: dn0 }}]
  data_nodes:
    - {{ name: dn0, data_host: db1, database: shop }}
    - {{ name: dn1, data_host: db1, database: seq }}
  data_hosts:
    - {{ name: db1, write_hosts: [{{ host: M1, url: \"127.0.0.1:3306\", user: root }}] }}
  sequence:
{sequence}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_handler_two_routers_never_repeat_an_id() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE seqdb");
    // MyCat's script as shipped, DELIMITER lines and all.
    mariadb_client(db.addr, "root", Some("seqdb"), DBSEQ_SQL).expect("dbseq.sql");
    db.sql("INSERT INTO seqdb.MYCAT_SEQUENCE VALUES ('ORDERS', 1000, 7)");
    let cli = Arc::new(CliDb {
        addr: db.addr,
        calls: AtomicUsize::new(0),
    });

    let dir = tempfile::tempdir().unwrap();
    let cfg = seq_config("    handler: database\n    data_node: dn0\n", dir.path());
    let routers: Vec<Arc<Sequences>> = (0..2)
        .map(|_| Arc::new(Sequences::new(&cfg).unwrap()))
        .collect();

    // MyCat's initial row ('GLOBAL', 1, 1): the function answers "2,1".
    assert_eq!(routers[0].next("GLOBAL", &*cli).await.unwrap(), 2);
    assert_eq!(routers[1].next("GLOBAL", &*cli).await.unwrap(), 3);

    // 8 tasks per router, 125 ids each: 2000 ids from blocks of 7.
    let mut tasks = Vec::new();
    for r in &routers {
        for t in 0..8usize {
            let (r, cli) = (r.clone(), cli.clone());
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                let mut i = 0;
                while got.len() < 125 {
                    let want = (1 + (t + i) % 5).min(125 - got.len());
                    if want == 1 {
                        got.push(r.next("orders", &*cli).await.unwrap());
                    } else {
                        got.extend(r.next_n("ORDERS", want, &*cli).await.unwrap());
                    }
                    i += 1;
                }
                got
            }));
        }
    }
    let mut ids = BTreeSet::new();
    for t in tasks {
        for id in t.await.unwrap() {
            assert!(ids.insert(id), "id {id} handed out twice");
        }
    }
    assert_eq!(ids.len(), 2000);
    let current: i64 = db
        .sql("SELECT current_value FROM seqdb.MYCAT_SEQUENCE WHERE name = 'ORDERS'")
        .parse()
        .unwrap();
    // Every id lies in what the table gave out: (1000, current_value].
    assert!(*ids.first().unwrap() > 1000);
    assert!(*ids.last().unwrap() <= current, "{ids:?} vs {current}");
    // Each router wastes at most the rest of its last block.
    assert!(current - 1000 < 2000 + 2 * 7, "{current}");
    // 2 GLOBAL calls + about 2000 / 7 ORDERS calls: blocks are fetched once each.
    let calls = cli.calls.load(Ordering::SeqCst);
    assert!(calls <= 2 + 2000 / 7 + 2, "{calls} fetches");

    // A name with no row: the function answers "0,0".
    let e = routers[0].next("NOPE", &*cli).await.unwrap_err();
    assert!(matches!(e, SequenceError::NotInTable { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("`NOPE`") && msg.contains("MYCAT_SEQUENCE") && msg.contains("dn0"),
        "{msg}"
    );
    // The function missing altogether: the server's error text comes through.
    db.sql("DROP FUNCTION seqdb.mycat_seq_nextval");
    let e = routers[1].next("NOPE", &*cli).await.unwrap_err();
    assert!(matches!(e, SequenceError::Database { .. }), "{e}");
    assert!(
        e.to_string().contains("mycat_seq_nextval does not exist"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn local_file_curid_covers_every_id_handed_out() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sequence_conf.properties");
    std::fs::write(
        &file,
        "#default global sequence\nGLOBAL.HISIDS=\nGLOBAL.MINID=10001\nGLOBAL.MAXID=20000\nGLOBAL.CURID=10000\n\n# self define sequence\nCOMPANY.HISIDS=\nCOMPANY.MINID=1001\nCOMPANY.MAXID=2000\nCOMPANY.CURID=1000\n",
    )
    .unwrap();
    // Relative to the config file's directory.
    let cfg = seq_config(
        "    handler: local_file\n    file: sequence_conf.properties\n",
        dir.path(),
    );
    assert_eq!(cfg.file.as_deref(), Some(file.as_path()));

    let seqs = Arc::new(Sequences::new(&cfg).unwrap());
    let mut tasks = Vec::new();
    for t in 0..8usize {
        let s = seqs.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in 0..240usize {
                // CUSTOMER is not in the file: it uses GLOBAL.
                let name = ["GLOBAL", "COMPANY", "CUSTOMER"][(t + i) % 3];
                let key = if name == "COMPANY" {
                    "COMPANY"
                } else {
                    "GLOBAL"
                };
                for id in s.next_n(name, 1 + i % 4, &NoDb).await.unwrap() {
                    got.push((key, id));
                }
            }
            got
        }));
    }
    let mut all = BTreeSet::new();
    let mut max: HashMap<&str, i64> = HashMap::new();
    for t in tasks {
        for (k, id) in t.await.unwrap() {
            assert!(all.insert((k, id)), "{k} {id} handed out twice");
            let m = max.entry(k).or_default();
            *m = (*m).max(id);
        }
    }
    let curid = |text: &str, k: &str| -> i64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}.CURID=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    let text = std::fs::read_to_string(&file).unwrap();
    for (k, m) in &max {
        assert!(curid(&text, k) >= *m, "{k}: CURID below {m}:\n{text}");
    }
    // COMPANY ran past MAXID 2000 into MyCat's next period.
    assert!(max["COMPANY"] > 2000);
    assert!(text.contains("COMPANY.HISIDS=1001-2000\n"), "{text}");
    assert!(
        text.contains("COMPANY.MINID=2001\nCOMPANY.MAXID=3000\n"),
        "{text}"
    );

    // A restart (a new instance on the same file) continues above everything.
    drop(seqs);
    let again = Sequences::new(&cfg).unwrap();
    for k in ["GLOBAL", "COMPANY"] {
        assert!(again.next(k, &NoDb).await.unwrap() > max[k]);
    }
}

#[test]
fn config_checks() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.properties"),
        "A.MINID=1\nA.MAXID=x\nA.CURID=0\n",
    )
    .unwrap();
    let errors = |seq: &str| -> Vec<String> {
        config::check_str(&router_yaml(seq), "t.yaml", dir.path())
            .errors()
            .iter()
            .map(|d| d.to_string())
            .collect()
    };
    let bad = dir.path().join("bad.properties");
    let missing = dir.path().join("missing.properties");
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "    handler: databse\n",
            vec!["t.yaml:10:14: router.sequence.handler: unknown value `databse`: expected one of local_file, database, time; did you mean `database`?".into()],
        ),
        (
            "    handler: database\n    data_node: dn9\n    nodes: { ORDERS: dn1, USERS: dnx }\n    worker_id: 1\n",
            vec![
                "t.yaml:11:16: router.sequence.data_node: data node `dn9` is not defined in router.data_nodes; did you mean `dn0`?".into(),
                "t.yaml:12:34: router.sequence.nodes.USERS: data node `dnx` is not defined in router.data_nodes; did you mean `dn0`?".into(),
                "t.yaml:13:16: router.sequence.worker_id: `worker_id` does not apply to the `database` sequence handler; `database` takes: data_node, nodes".into(),
            ],
        ),
        (
            "    handler: database\n",
            vec!["t.yaml:10:14: router.sequence.handler: a `database` sequence needs `data_node` or `nodes`".into()],
        ),
        (
            "    handler: time\n    worker_id: 32\n",
            vec!["t.yaml:11:16: router.sequence.worker_id: 32 is out of range: must be between 0 and 31".into()],
        ),
        (
            "    handler: time\n    datacenter_id: 3\n    file: x\n",
            vec![
                "t.yaml:10:14: router.sequence.handler: a `time` sequence needs `worker_id` (0 to 31, unique per router)".into(),
                "t.yaml:12:11: router.sequence.file: `file` does not apply to the `time` sequence handler; `time` takes: worker_id, datacenter_id".into(),
            ],
        ),
        (
            "    handler: local_file\n",
            vec!["t.yaml:10:14: router.sequence.handler: a `local_file` sequence needs `file` (a MyCat sequence_conf.properties)".into()],
        ),
        (
            "    handler: local_file\n    file: missing.properties\n",
            vec![format!("t.yaml:11:11: router.sequence.file: {}: cannot read: No such file or directory (os error 2)", missing.display())],
        ),
        (
            "    handler: local_file\n    file: bad.properties\n",
            vec![format!("t.yaml:11:11: router.sequence.file: {}: line 2: A.MAXID `x` is not a whole number", bad.display())],
        ),
        (
            "    handler: local_file\n    file: bad.properties\n    worker_idd: 1\n",
            vec![
                format!("t.yaml:11:11: router.sequence.file: {}: line 2: A.MAXID `x` is not a whole number", bad.display()),
                "t.yaml:12:5: router.sequence.worker_idd: unknown key `worker_idd`; did you mean `worker_id`?".into(),
            ],
        ),
    ];
    for (seq, want) in cases {
        assert_eq!(errors(seq), want, "{seq}");
    }
    // A data node used only by sequences is not reported as unused.
    let src =
        router_yaml("    handler: database\n    data_node: dn0\n    nodes: { ORDERS: dn1 }\n");
    let checked = config::check_str(&src, "t.yaml", dir.path());
    assert!(checked.is_valid());
    let warnings: Vec<String> = checked.warnings().iter().map(|d| d.to_string()).collect();
    assert!(warnings.iter().all(|w| !w.contains("dn1")), "{warnings:?}");
    // The config serializes with the key (tandem config dumps).
    let json = serde_json::to_value(checked.config.unwrap().router.unwrap()).unwrap();
    assert_eq!(
        json["sequence"],
        serde_json::json!({ "handler": "database", "data_node": "dn0", "nodes": { "ORDERS": "dn1" } })
    );
}
