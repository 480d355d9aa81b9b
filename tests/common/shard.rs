//! Sharding fixtures: two MariaDB servers (A and B) as data nodes dn0/dn1 behind a router
//! configured like MyCat's tutorial (range-long, file-map, mod-long, a global table and an
//! ER parent/child pair), and a `mariadb` CLI wrapper with a time limit that can keep
//! column headers, keep comments (hints), report affected rows or read a script on stdin.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::mariadb::MariaDb;
use super::router::{RouterDaemon, host_yaml, router_config_text, start_router_config};
use super::wait_for;

pub const USER: &str = "app";
pub const PASSWORD: &str = "s3cret";
pub const SCHEMA: &str = "shop";
/// The admin user of [`Shard::start_with_admin`].
pub const ADMIN_USER: &str = "ops";
pub const ADMIN_PASSWORD: &str = "ops-pw";

/// The tables of schema `shop`, created the same way on each node (and in the
/// differential test's unsharded reference database).
pub const DDL: &str = "\
CREATE TABLE customer (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(40) NOT NULL,
  city VARCHAR(40) NULL,
  province_id INT NULL,
  level INT NULL,
  balance DECIMAL(12,2) NULL,
  created DATE NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE TABLE user_info (
  id INT NOT NULL PRIMARY KEY,
  province_id INT NOT NULL,
  name VARCHAR(40) NOT NULL,
  email VARCHAR(60) NULL,
  score INT NULL,
  birthday DATE NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE TABLE product (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(60) NOT NULL,
  category VARCHAR(20) NULL,
  price DECIMAL(12,2) NOT NULL,
  stock INT NULL,
  weight_g BIGINT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE TABLE province (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(40) NOT NULL,
  region VARCHAR(20) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE TABLE my_order (
  id BIGINT NOT NULL PRIMARY KEY,
  customer_id BIGINT NOT NULL,
  province_id INT NULL,
  status VARCHAR(12) NOT NULL,
  total DECIMAL(12,2) NULL,
  order_date DATE NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE TABLE order_item (
  id BIGINT NOT NULL PRIMARY KEY,
  order_id BIGINT NOT NULL,
  product_id INT NOT NULL,
  qty INT NOT NULL,
  price DECIMAL(12,2) NOT NULL,
  note VARCHAR(40) NULL,
  KEY (order_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
";

/// The `router:` body (indented for it): user app/s3cret on schema `shop`; dn0 = h0
/// (`a`) database shop_0, dn1 = h1 (`b`) database shop_1.
///
/// - `customer`, `my_order`: range-long on `id`, 0-5,000,000 → dn0, 5,000,000-10,000,000
///   → dn1; `order_item` is `my_order`'s ER child (`order_id` = `my_order.id`);
/// - `user_info`: file-map on `province_id`, 10000 → dn0, 10010 → dn1, others → dn0;
/// - `product`, `audit`: mod-long (2) on `id`;
/// - `province`: global;
/// - every other table lives on dn0 (the schema's data node).
pub fn router_body(a: SocketAddr, b: SocketAddr) -> String {
    format!(
        "  users:
    - {{ name: {USER}, password: {PASSWORD}, schemas: [{SCHEMA}] }}
  schemas:
    - name: {SCHEMA}
      data_node: dn0
      tables:
        - {{ name: customer, primary_key: id, data_nodes: \"dn0,dn1\", rule: by-id-range }}
        - {{ name: user_info, primary_key: id, data_nodes: \"dn0,dn1\", rule: by-province }}
        - {{ name: product, primary_key: id, data_nodes: \"dn0,dn1\", rule: by-id-mod }}
        - {{ name: province, data_nodes: \"dn0,dn1\", type: global }}
        - name: my_order
          primary_key: id
          data_nodes: \"dn0,dn1\"
          rule: by-id-range
          children: [ {{ name: order_item, join_key: order_id, parent_key: id }} ]
        - {{ name: audit, primary_key: id, data_nodes: \"dn0,dn1\", rule: by-id-mod }}
  data_nodes:
    - {{ name: dn0, data_host: h0, database: shop_0 }}
    - {{ name: dn1, data_host: h1, database: shop_1 }}
  data_hosts:
    - name: h0
      heartbeat_interval: 500ms
      min_con: 1
      write_hosts:
        - {}
    - name: h1
      heartbeat_interval: 500ms
      min_con: 1
      write_hosts:
        - {}
  rules:
    - name: by-id-range
      column: id
      function: {{ type: range-long, map: [\"0-500M=0\", \"500M-1000M=1\"] }}
    - name: by-province
      column: province_id
      function: {{ type: file-map, map: [\"10000=0\", \"10010=1\"], key_type: int, default_node: 0 }}
    - name: by-id-mod
      column: id
      function: {{ type: mod-long, count: 2 }}
",
        host_yaml("a", a),
        host_yaml("b", b)
    )
}

/// A whole config file with `body` under `router:`; returns (text, client port).
pub fn config_text(dir: &Path, body: &str) -> (String, u16) {
    let (text, ports) = router_config_text(dir, body, true);
    (text, ports.sql)
}

/// A running `tandem run` with a router section.
pub type ShardRouter = RouterDaemon;

/// Checks the config with `tandem check` and starts the router on it.
pub fn start_router(body: &str) -> ShardRouter {
    start_router_config(body)
}

/// Starts two MariaDB servers at once (A, B).
pub fn two_servers() -> (MariaDb, MariaDb) {
    std::thread::scope(|s| {
        let a = s.spawn(MariaDb::start);
        let b = s.spawn(MariaDb::start);
        (a.join().expect("start A"), b.join().expect("start B"))
    })
}

/// Two data nodes with the tables created directly on them (shop_0 on A, shop_1 on B)
/// and the router in front.
pub struct Shard {
    pub a: MariaDb,
    pub b: MariaDb,
    pub router: ShardRouter,
}

impl Shard {
    /// Nodes with the [`DDL`] tables, router started.
    pub fn start() -> Shard {
        Self::start_with_ddl(DDL)
    }

    /// Nodes whose databases get `ddl` (may be empty), router started.
    pub fn start_with_ddl(ddl: &str) -> Shard {
        Self::start_body(ddl, |body| body)
    }

    /// [`Shard::start`] with an admin user [`ADMIN_USER`] for the admin port.
    pub fn start_with_admin() -> Shard {
        Self::start_body(DDL, |body| {
            body.replacen(
                "  users:\n",
                &format!(
                    "  users:\n    - {{ name: {ADMIN_USER}, password: {ADMIN_PASSWORD}, admin: true }}\n"
                ),
                1,
            )
        })
    }

    fn start_body(ddl: &str, edit: impl FnOnce(String) -> String) -> Shard {
        let (a, b) = two_servers();
        a.sql(&format!("CREATE DATABASE shop_0; USE shop_0; {ddl}"));
        b.sql(&format!("CREATE DATABASE shop_1; USE shop_1; {ddl}"));
        let router = start_router(&edit(router_body(a.addr, b.addr)));
        Shard { a, b, router }
    }

    /// An admin command as [`ADMIN_USER`] (needs [`Shard::start_with_admin`]): the
    /// header and the rows, tab-separated, or the client's error.
    pub fn admin(&self, sql: &str) -> Result<String, String> {
        Mysql::new(self.router.admin, ADMIN_USER, ADMIN_PASSWORD)
            .header()
            .run(sql)
            .map(|s| s.trim_end().to_string())
    }

    /// A statement (or several, `;`-separated) through the router, schema `shop`;
    /// tab-separated rows without the header, or the client's error.
    pub fn q(&self, sql: &str) -> Result<String, String> {
        Mysql::new(self.router.addr, USER, PASSWORD)
            .db(SCHEMA)
            .run(sql)
            .map(|s| s.trim_end().to_string())
    }

    /// [`Shard::q`] that must succeed: panics with the statement, the error and the
    /// router's log.
    pub fn ok(&self, sql: &str) -> String {
        self.q(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", self.logs()))
    }

    /// [`Shard::q`] with comments kept, for MyCat hints.
    pub fn hinted(&self, sql: &str) -> Result<String, String> {
        Mysql::new(self.router.addr, USER, PASSWORD)
            .db(SCHEMA)
            .comments()
            .run(sql)
            .map(|s| s.trim_end().to_string())
    }

    /// Affected rows the client saw for `sql` through the router.
    pub fn affected(&self, sql: &str) -> Result<u64, String> {
        Mysql::new(self.router.addr, USER, PASSWORD)
            .db(SCHEMA)
            .affected(sql)
    }

    /// `sql` on node 0 (A, database shop_0), directly; panics on error.
    pub fn on0(&self, sql: &str) -> String {
        self.a.sql(&format!("USE shop_0; {sql}"))
    }

    /// `sql` on node 1 (B, database shop_1), directly; panics on error.
    pub fn on1(&self, sql: &str) -> String {
        self.b.sql(&format!("USE shop_1; {sql}"))
    }

    /// Router logs, for assertion messages.
    pub fn logs(&self) -> String {
        self.router.daemon.logs()
    }
}

/// One run of the `mariadb` command-line client, bounded in time.
#[derive(Clone)]
pub struct Mysql {
    addr: SocketAddr,
    user: String,
    password: String,
    database: Option<String>,
    header: bool,
    comments: bool,
    local_infile: Option<bool>,
    timeout: Duration,
}

impl Mysql {
    pub fn new(addr: SocketAddr, user: &str, password: &str) -> Mysql {
        Mysql {
            addr,
            user: user.into(),
            password: password.into(),
            database: None,
            header: false,
            comments: false,
            local_infile: None,
            timeout: Duration::from_secs(60),
        }
    }

    pub fn db(mut self, db: &str) -> Mysql {
        self.database = Some(db.into());
        self
    }

    /// Keep the column header line (`--batch` prints it first).
    pub fn header(mut self) -> Mysql {
        self.header = true;
        self
    }

    /// Send comments to the server (`--comments`), as MyCat hints need.
    pub fn comments(mut self) -> Mysql {
        self.comments = true;
        self
    }

    /// Serve `LOAD DATA LOCAL INFILE` or not (`--local-infile=1|0`; the client's
    /// default, without the option, is to serve it).
    pub fn local_infile(mut self, on: bool) -> Mysql {
        self.local_infile = Some(on);
        self
    }

    pub fn timeout(mut self, t: Duration) -> Mysql {
        self.timeout = t;
        self
    }

    fn command(&self, extra: &[&str]) -> Command {
        let mut cmd = Command::new("mariadb");
        cmd.arg("--no-defaults")
            .arg(format!("--host={}", self.addr.ip()))
            .arg(format!("--port={}", self.addr.port()))
            .arg(format!("--user={}", self.user));
        if !self.password.is_empty() {
            cmd.arg(format!("--password={}", self.password));
        }
        cmd.args(["--protocol=TCP", "--batch", "--connect-timeout=10"]);
        if !self.header {
            cmd.arg("--skip-column-names");
        }
        if self.comments {
            cmd.arg("--comments");
        }
        if let Some(on) = self.local_infile {
            cmd.arg(format!("--local-infile={}", u8::from(on)));
        }
        if let Some(db) = &self.database {
            cmd.arg(format!("--database={db}"));
        }
        cmd.args(extra);
        cmd
    }

    /// Runs `sql` (`-e`); stdout as is, or the client's stderr.
    pub fn run(&self, sql: &str) -> Result<String, String> {
        run_bounded(self.command(&["-e", sql]), None, self.timeout)
    }

    /// Runs `sql`; the output lines (with the header line first when asked for).
    pub fn lines(&self, sql: &str) -> Result<Vec<String>, String> {
        let out = self.run(sql)?;
        Ok(out.lines().map(str::to_string).collect())
    }

    /// Runs a script read from stdin (any size; stops at the first error).
    pub fn script(&self, script: &str) -> Result<String, String> {
        run_bounded(self.command(&[]), Some(script.as_bytes()), self.timeout)
    }

    /// Runs one data-changing statement; the affected-row count the client reports.
    pub fn affected(&self, sql: &str) -> Result<u64, String> {
        let out = run_bounded(self.command(&["-vv", "-e", sql]), None, self.timeout)?;
        out.lines()
            .find_map(|l| {
                let rest = l.strip_prefix("Query OK, ")?;
                rest.split_whitespace().next()?.parse().ok()
            })
            .ok_or_else(|| format!("no affected-row count in the client's output: {out}"))
    }
}

/// Runs `cmd` with `input` on stdin; kills it after `limit`. Stdout, or stderr on failure.
pub fn run_bounded(
    mut cmd: Command,
    input: Option<&[u8]>,
    limit: Duration,
) -> Result<String, String> {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("spawn {cmd:?}: {e} (apt-get install mariadb-client)"))?;
    let feeder = input.map(|data| {
        let data = data.to_vec();
        let mut stdin = child.stdin.take().expect("stdin pipe");
        std::thread::spawn(move || {
            // A client that stopped at an error closes its stdin: not our failure.
            let _ = stdin.write_all(&data);
        })
    });
    let out_t = drain(child.stdout.take().expect("stdout pipe"));
    let err_t = drain(child.stderr.take().expect("stderr pipe"));
    let status = wait_for(limit, || child.try_wait().ok().flatten());
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("timed out after {limit:?}: {cmd:?}"));
    };
    if let Some(f) = feeder {
        let _ = f.join();
    }
    let out = String::from_utf8_lossy(&out_t.join().unwrap_or_default()).into_owned();
    let err = String::from_utf8_lossy(&err_t.join().unwrap_or_default()).into_owned();
    if status.success() {
        Ok(out)
    } else {
        Err(if err.trim().is_empty() {
            format!("exit {status}: {out}")
        } else {
            err.trim().to_string()
        })
    }
}

/// `tandem ARGS` with `input` on stdin, bounded; (exit code, stdout, stderr).
pub fn tandem_stdin(args: &[&str], input: &str, limit: Duration) -> (i32, String, String) {
    let mut cmd = Command::new(super::tandem_bin());
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn tandem");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = input.to_string();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(data.as_bytes());
    });
    let out_t = drain(child.stdout.take().expect("stdout"));
    let err_t = drain(child.stderr.take().expect("stderr"));
    let status = wait_for(limit, || child.try_wait().ok().flatten());
    let code = match status {
        Some(s) => s.code().unwrap_or(-1),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            -2
        }
    };
    let _ = feeder.join();
    // Not UTF-8: empty, as `read_to_string` leaves it.
    let text = |t: std::thread::JoinHandle<Vec<u8>>| {
        String::from_utf8(t.join().unwrap_or_default()).unwrap_or_default()
    };
    (code, text(out_t), text(err_t))
}

/// Reads `pipe` to its end on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = pipe.read_to_end(&mut v);
        v
    })
}
