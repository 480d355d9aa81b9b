//! The router's client-facing MySQL protocol, command by command, against the same
//! commands sent to a real MariaDB directly: multi-statement text, COM_CHANGE_USER,
//! COM_RESET_CONNECTION, the single-packet and unknown commands, packets of exactly
//! 0xFFFFFF bytes, cursors under the read/write split. A raw client (below) sends
//! exactly the packets a driver sends, so each test can look at every packet of the
//! answer (and checks every sequence id).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::mariadb::MariaDb;
use common::router::RouterDaemon;
use common::wire::{frame, lenenc};

// ---- a raw protocol client --------------------------------------------------------------

const LONG_PASSWORD: u32 = 0x1;
const LONG_FLAG: u32 = 0x4;
const CONNECT_WITH_DB: u32 = 0x8;
const PROTOCOL_41: u32 = 0x200;
const TRANSACTIONS: u32 = 0x2000;
const SECURE_CONNECTION: u32 = 0x8000;
const MULTI_STATEMENTS: u32 = 0x1_0000;
const MULTI_RESULTS: u32 = 0x2_0000;
const PLUGIN_AUTH: u32 = 0x8_0000;
const DEPRECATE_EOF: u32 = 0x100_0000;

const BASE_CAPS: u32 = LONG_PASSWORD
    | LONG_FLAG
    | CONNECT_WITH_DB
    | PROTOCOL_41
    | TRANSACTIONS
    | SECURE_CONNECTION
    | MULTI_STATEMENTS
    | MULTI_RESULTS
    | PLUGIN_AUTH;

const MORE_RESULTS: u16 = 0x0008;

/// One result of a command: OK (its status flags), a result set's rows, or ERR.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Res {
    Ok,
    Rows(Vec<Vec<Option<String>>>),
    Err(u16, String),
}

/// A result set: column names and rows.
type Table = (Vec<String>, Vec<Vec<Option<String>>>);

struct Raw {
    s: TcpStream,
    seq: u8,
    caps: u32,
    nonce: Vec<u8>,
}

fn scramble(nonce: &[u8], pw: &str) -> Vec<u8> {
    if pw.is_empty() {
        return Vec::new();
    }
    mysql_common::auth::plugins::mysql_native_password::scramble_native(nonce, pw.as_bytes())
        .map(|s| s.to_vec())
        .expect("scramble")
}

fn err_of(p: &[u8]) -> Res {
    let code = u16::from_le_bytes([p[1], p[2]]);
    let msg = if p.get(3) == Some(&b'#') {
        String::from_utf8_lossy(&p[9..]).into_owned()
    } else {
        String::from_utf8_lossy(&p[3..]).into_owned()
    };
    Res::Err(code, msg)
}

fn ok_status(p: &[u8]) -> u16 {
    let mut r = &p[1..];
    let _ = lenenc(&mut r);
    let _ = lenenc(&mut r);
    u16::from_le_bytes([r[0], r[1]])
}

impl Raw {
    /// Connects and logs in with mysql_native_password and `caps` (plus the base ones).
    fn connect(addr: SocketAddr, user: &str, pw: &str, db: Option<&str>, caps: u32) -> Raw {
        let mut c = Raw::greet(addr, caps);
        let auth = scramble(&c.nonce, pw);
        c.hello(user, db, &auth, "mysql_native_password");
        match c.auth_reply(pw) {
            Res::Ok => c,
            other => panic!("login of {user} failed: {other:?}"),
        }
    }

    /// Connects and reads the server's greeting (its nonce and capabilities).
    fn greet(addr: SocketAddr, caps: u32) -> Raw {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect");
        // A bound against hangs, not a timing assertion.
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut c = Raw {
            s,
            seq: 0,
            caps: 0,
            nonce: Vec::new(),
        };
        let g = c.read();
        assert_eq!(g[0], 10, "greeting: {g:?}");
        let mut i = 1 + g[1..].iter().position(|b| *b == 0).expect("version") + 1 + 4;
        let mut nonce = g[i..i + 8].to_vec();
        i += 8 + 1;
        let lo = u16::from_le_bytes([g[i], g[i + 1]]);
        i += 2 + 1 + 2;
        let hi = u16::from_le_bytes([g[i], g[i + 1]]);
        i += 2;
        let auth_len = usize::from(g[i]);
        i += 1 + 10;
        let n2 = auth_len.saturating_sub(8).max(13) - 1;
        nonce.extend_from_slice(&g[i..i + n2]);
        let server_caps = u32::from(lo) | u32::from(hi) << 16;
        c.caps = (BASE_CAPS | caps) & server_caps;
        c.nonce = nonce;
        c
    }

    /// Sends the handshake response with `auth` as the answer for `plugin`.
    fn hello(&mut self, user: &str, db: Option<&str>, auth: &[u8], plugin: &str) {
        let mut h = Vec::new();
        h.extend_from_slice(&self.caps.to_le_bytes());
        h.extend_from_slice(&(1u32 << 24).to_le_bytes());
        h.push(45);
        h.extend_from_slice(&[0; 23]);
        h.extend_from_slice(user.as_bytes());
        h.push(0);
        h.push(auth.len() as u8);
        h.extend_from_slice(auth);
        h.extend_from_slice(db.unwrap_or("").as_bytes());
        h.push(0);
        h.extend_from_slice(plugin.as_bytes());
        h.push(0);
        let seq = self.seq;
        self.write(seq, &h);
    }

    /// Reads the answer to a login or COM_CHANGE_USER, following an auth switch.
    fn auth_reply(&mut self, pw: &str) -> Res {
        for _ in 0..3 {
            let p = self.read();
            match p[0] {
                0x00 => return Res::Ok,
                0xff => return err_of(&p),
                0xfe => {
                    let rest = &p[1..];
                    let nul = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
                    let n = rest.get(nul + 1..).unwrap_or_default();
                    let n = n.strip_suffix(&[0]).unwrap_or(n).to_vec();
                    let a = scramble(&n, pw);
                    let seq = self.seq;
                    self.write(seq, &a);
                }
                _ => panic!("unexpected packet during authentication: {p:?}"),
            }
        }
        panic!("too many auth round trips");
    }

    fn write(&mut self, seq: u8, payload: &[u8]) {
        let (out, seq) = frame(seq, payload);
        self.seq = seq;
        self.s.write_all(&out).expect("write");
    }

    /// One logical packet; panics when the connection is closed.
    fn read(&mut self) -> Vec<u8> {
        self.try_read().expect("read a packet")
    }

    fn try_read(&mut self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let mut h = [0u8; 4];
            self.s.read_exact(&mut h)?;
            let n = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
            assert_eq!(h[3], self.seq, "packet out of order");
            self.seq = h[3].wrapping_add(1);
            let at = out.len();
            out.resize(at + n, 0);
            self.s.read_exact(&mut out[at..])?;
            if n < 0xFF_FFFF {
                return Ok(out);
            }
        }
    }

    fn send(&mut self, payload: &[u8]) {
        self.write(0, payload);
    }

    fn deprecate_eof(&self) -> bool {
        self.caps & DEPRECATE_EOF != 0
    }

    /// Every result of a command (text protocol), up to the last one.
    fn results(&mut self) -> Vec<Res> {
        let mut out = Vec::new();
        loop {
            let p = self.read();
            let more = match p[0] {
                0x00 => {
                    out.push(Res::Ok);
                    ok_status(&p) & MORE_RESULTS != 0
                }
                0xff => {
                    out.push(err_of(&p));
                    false
                }
                _ => {
                    let cols = lenenc(&mut &p[..]).expect("column count") as usize;
                    for _ in 0..cols {
                        self.read();
                    }
                    if !self.deprecate_eof() {
                        self.read();
                    }
                    let mut rows = Vec::new();
                    let status = loop {
                        let r = self.read();
                        if r[0] == 0xfe && r.len() < 0xFF_FFFF {
                            break if self.deprecate_eof() {
                                ok_status(&r)
                            } else {
                                u16::from_le_bytes([r[3], r[4]])
                            };
                        }
                        if r[0] == 0xff {
                            out.push(err_of(&r));
                            return out;
                        }
                        let mut rr = &r[..];
                        let row = (0..cols)
                            .map(|_| {
                                let n = lenenc(&mut rr)? as usize;
                                let v = String::from_utf8_lossy(&rr[..n]).into_owned();
                                rr = &rr[n..];
                                Some(v)
                            })
                            .collect();
                        rows.push(row);
                    };
                    out.push(Res::Rows(rows));
                    status & MORE_RESULTS != 0
                }
            };
            if !more {
                return out;
            }
        }
    }

    /// COM_QUERY; every result.
    fn query(&mut self, sql: &str) -> Vec<Res> {
        let mut p = vec![0x03];
        p.extend_from_slice(sql.as_bytes());
        self.send(&p);
        self.results()
    }

    /// Any command answered like a query.
    fn query_raw(&mut self, payload: &[u8]) -> Vec<Res> {
        self.send(payload);
        self.results()
    }

    /// The single value of a one-statement, one-row, one-column query.
    fn value(&mut self, sql: &str) -> Option<String> {
        match self.query(sql).as_slice() {
            [Res::Rows(r)] => r.first().and_then(|r| r.first()).cloned().flatten(),
            other => panic!("{sql}: {other:?}"),
        }
    }

    /// A one-statement query: its column names and rows, or its error.
    fn table(&mut self, sql: &str) -> Result<Table, Res> {
        let mut p = vec![0x03];
        p.extend_from_slice(sql.as_bytes());
        self.send(&p);
        let first = self.read();
        match first[0] {
            0xff => return Err(err_of(&first)),
            0x00 => return Err(Res::Ok),
            _ => {}
        }
        let cols = lenenc(&mut &first[..]).expect("column count") as usize;
        let mut names = Vec::new();
        for _ in 0..cols {
            let d = self.read();
            let mut r = &d[..];
            let mut field = || {
                let n = lenenc(&mut r).expect("field") as usize;
                let v = String::from_utf8_lossy(&r[..n]).into_owned();
                r = &r[n..];
                v
            };
            // catalog, schema, table, org_table, name
            let name = (0..5).map(|_| field()).last().expect("name");
            names.push(name);
        }
        if !self.deprecate_eof() {
            self.read();
        }
        let mut rows = Vec::new();
        loop {
            let r = self.read();
            if r[0] == 0xfe && r.len() < 0xFF_FFFF {
                break;
            }
            if r[0] == 0xff {
                return Err(err_of(&r));
            }
            let mut rr = &r[..];
            let row = (0..cols)
                .map(|_| {
                    if rr.first() == Some(&0xfb) {
                        rr = &rr[1..];
                        return None;
                    }
                    let n = lenenc(&mut rr)? as usize;
                    let v = String::from_utf8_lossy(&rr[..n]).into_owned();
                    rr = &rr[n..];
                    Some(v)
                })
                .collect();
            rows.push(row);
        }
        Ok((names, rows))
    }

    /// COM_CHANGE_USER with mysql_native_password, collation utf8mb4_general_ci.
    fn change_user(&mut self, user: &str, pw: &str, db: Option<&str>) -> Res {
        let auth = scramble(&self.nonce, pw);
        let mut p = vec![0x11];
        p.extend_from_slice(user.as_bytes());
        p.push(0);
        p.push(auth.len() as u8);
        p.extend_from_slice(&auth);
        p.extend_from_slice(db.unwrap_or("").as_bytes());
        p.push(0);
        p.extend_from_slice(&45u16.to_le_bytes());
        p.extend_from_slice(b"mysql_native_password\0");
        self.send(&p);
        self.auth_reply(pw)
    }

    /// A command answered by one OK or ERR packet.
    fn simple(&mut self, payload: &[u8]) -> Res {
        self.send(payload);
        let p = self.read();
        match p[0] {
            0x00 => Res::Ok,
            0xff => err_of(&p),
            _ => panic!("not OK/ERR: {p:?}"),
        }
    }
}

// ---- the router -------------------------------------------------------------------------

type Router = RouterDaemon;

/// A router with schema `shop` (database shopdb) and schema `other` (database otherdb) on
/// `db`; users `app` (both schemas) and `solo` (`shop` only, one session at a time). `extra` is added to the
/// data host (e.g. `max_con: 1`).
fn router(db: &MariaDb, extra: &str) -> Router {
    router_with(db, extra, "")
}

/// [`router`] with `host_extra` added to the write host's map (e.g. its read hosts).
fn router_with(db: &MariaDb, extra: &str, host_extra: &str) -> Router {
    router_full(db, "", extra, host_extra)
}

/// [`router_with`] with `router_extra` added to the `router` section (e.g. `auth_plugin`).
/// It also has user `nopw`, whose password is empty.
fn router_full(db: &MariaDb, router_extra: &str, extra: &str, host_extra: &str) -> Router {
    let body = format!(
        "{router_extra}  users:\n    - {{ name: app, password: s3cret, schemas: [shop, other] }}\n    - {{ name: solo, password: solo-pw, schemas: [shop], max_connections: 1 }}\n    - {{ name: nopw, password: \"\", schemas: [shop] }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n    - {{ name: other, data_node: dn2 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n    - {{ name: dn2, data_host: dh1, database: otherdb }}\n  data_hosts:\n    - name: dh1\n      min_con: 1\n{extra}      write_hosts:\n        - {{ host: m1, url: \"{addr}\", user: root, password: \"\"{host_extra} }}\n",
        addr = db.addr,
    );
    // Without an observe listener, as these tests always had.
    RouterDaemon::start(&body, false)
}

fn server() -> MariaDb {
    let db = MariaDb::start();
    db.sql(
        "CREATE DATABASE shopdb; CREATE TABLE shopdb.t (id INT PRIMARY KEY); \
         CREATE DATABASE otherdb; CREATE TABLE otherdb.secret (v TEXT); \
         INSERT INTO otherdb.secret VALUES ('hidden')",
    );
    db
}

// ---- tests -------------------------------------------------------------------------------

/// A multi-statement text (CLIENT_MULTI_STATEMENTS, as JDBC's allowMultiQueries and
/// PyMySQL's MULTI_STATEMENTS send it) runs every statement in it and answers with one
/// result each, as MariaDB does, also when its first statement is one the router would
/// answer by itself when sent alone.
#[test]
fn multi_statement_text_runs_every_statement() {
    let db = server();
    let r = router(&db, "      max_con: 1\n");
    let mut direct = Raw::connect(db.addr, "root", "", Some("shopdb"), DEPRECATE_EOF);
    let mut routed = Raw::connect(r.addr, "app", "s3cret", Some("shop"), DEPRECATE_EOF);
    for (sql, want) in [
        (
            "COMMIT; SELECT 1",
            vec![Res::Ok, Res::Rows(vec![vec![Some("1".into())]])],
        ),
        (
            "ROLLBACK; SELECT 2",
            vec![Res::Ok, Res::Rows(vec![vec![Some("2".into())]])],
        ),
        (
            "SET autocommit = 1; SELECT 3",
            vec![Res::Ok, Res::Rows(vec![vec![Some("3".into())]])],
        ),
        (
            "SET autocommit = 0; INSERT INTO t VALUES (1); COMMIT",
            vec![Res::Ok, Res::Ok, Res::Ok],
        ),
    ] {
        assert_eq!(direct.query(sql), want, "MariaDB: {sql}");
        direct.query("SET autocommit = 1; DELETE FROM t");
        assert_eq!(
            routed.query(sql),
            want,
            "router: {sql}\n{}",
            r.daemon.logs()
        );
        // The connection is still in step (nothing left unread, nothing skipped).
        assert_eq!(routed.value("SELECT 42").as_deref(), Some("42"));
        direct.query("DELETE FROM t");
    }
    // The INSERT ran and was committed through the router.
    assert_eq!(db.sql("SELECT COUNT(*) FROM shopdb.t"), "0");
    routed.query("SET autocommit = 0; INSERT INTO t VALUES (9); COMMIT");
    assert_eq!(db.sql("SELECT GROUP_CONCAT(id) FROM shopdb.t"), "9");
    drop(routed);

    // State a SET in a multi-statement text gave the server connection does not reach
    // the next client of that (only) connection.
    let mut a = Raw::connect(r.addr, "app", "s3cret", Some("shop"), 0);
    assert_eq!(
        a.query("SET SESSION sql_mode = 'ANSI_QUOTES'; SET @leak = 'from a'"),
        vec![Res::Ok, Res::Ok]
    );
    assert_eq!(a.value("SELECT @leak").as_deref(), Some("from a"));
    drop(a);
    let mut b = Raw::connect(r.addr, "app", "s3cret", Some("shop"), 0);
    assert_eq!(b.value("SELECT @leak"), None, "{}", r.daemon.logs());
    let mode = b.value("SELECT @@SESSION.sql_mode").unwrap_or_default();
    assert!(!mode.contains("ANSI_QUOTES"), "{mode}");

    // Statements the router must answer itself cannot be part of a multi-statement
    // text: an error, not an answer to the first statement alone.
    for sql in [
        "USE other; SELECT * FROM secret",
        "SHOW DATABASES; SELECT 1",
        "KILL 1; SELECT 1",
        // Nor later in the text: the server would run them in the router's place (a
        // KILL with the router's id would hit an unrelated server thread).
        "SELECT 1; USE other",
        "SELECT 1; KILL 1",
        "SELECT 1;\nkill query 7",
        "SELECT 1; SHOW DATABASES",
        "SELECT 1; SHOW FULL TABLES",
    ] {
        let got = b.query(sql);
        assert!(
            matches!(got.as_slice(), [Res::Err(1105, _)]),
            "{sql}: {got:?}"
        );
        assert_eq!(b.value("SELECT DATABASE()").as_deref(), Some("shop"));
    }
}

/// COM_CHANGE_USER that fails (wrong password; a schema the new user may not use) leaves
/// the client logged in as before, on an open connection, as MariaDB does; one that
/// works makes the new user's rights apply.
#[test]
fn change_user_failures_keep_the_old_user_and_the_connection() {
    let db = server();
    db.sql(
        "CREATE USER 'solo'@'%' IDENTIFIED BY 'solo-pw'; \
         GRANT ALL PRIVILEGES ON shopdb.* TO 'solo'@'%'",
    );
    let r = router(&db, "");
    let mut direct = Raw::connect(db.addr, "root", "", Some("otherdb"), DEPRECATE_EOF);
    let mut routed = Raw::connect(r.addr, "app", "s3cret", Some("other"), DEPRECATE_EOF);
    let direct_user = direct.value("SELECT CURRENT_USER()");

    // A wrong password: 1045, and the session goes on as the old user.
    let got = direct.change_user("solo", "wrong", None);
    assert!(matches!(got, Res::Err(1045, _)), "MariaDB: {got:?}");
    assert_eq!(direct.value("SELECT CURRENT_USER()"), direct_user);
    let got = routed.change_user("solo", "wrong", None);
    assert!(matches!(got, Res::Err(1045, _)), "router: {got:?}");
    assert_eq!(
        routed.value("SELECT CURRENT_USER()").as_deref(),
        Some("app@%"),
        "{}",
        r.daemon.logs()
    );

    // The right password with a database the new user may not use: 1044, and the old
    // user stays (not the new user in the old user's database).
    let got = direct.change_user("solo", "solo-pw", Some("otherdb"));
    assert!(matches!(got, Res::Err(1044, _)), "MariaDB: {got:?}");
    assert_eq!(direct.value("SELECT CURRENT_USER()"), direct_user);
    let got = routed.change_user("solo", "solo-pw", Some("other"));
    assert!(matches!(got, Res::Err(1044, _)), "router: {got:?}");
    assert_eq!(
        routed.value("SELECT CURRENT_USER()").as_deref(),
        Some("app@%")
    );
    assert_eq!(routed.value("SELECT DATABASE()").as_deref(), Some("other"));

    // A change that works: the new user, no database, and the old schema's tables are
    // out of reach.
    assert_eq!(routed.change_user("solo", "solo-pw", None), Res::Ok);
    assert_eq!(
        routed.value("SELECT CURRENT_USER()").as_deref(),
        Some("solo@%")
    );
    assert_eq!(routed.value("SELECT DATABASE()"), None);
    let got = routed.query("SELECT v FROM secret");
    assert!(matches!(got.as_slice(), [Res::Err(1146, _)]), "{got:?}");
    let got = routed.query("USE other");
    assert!(matches!(got.as_slice(), [Res::Err(1044, _)]), "{got:?}");
}

/// After a COM_CHANGE_USER the router counts and checks the session as the new user:
/// its `max_connections` (the server's max_user_connections), and KILL ownership.
#[test]
fn change_user_moves_the_session_to_the_new_user() {
    let db = server();
    let r = router(&db, "");
    let mut first = Raw::connect(r.addr, "app", "s3cret", Some("shop"), DEPRECATE_EOF);
    assert_eq!(first.change_user("solo", "solo-pw", None), Res::Ok);
    let first_id = first
        .value("SELECT CONNECTION_ID()")
        .expect("connection id");

    // solo (max_connections: 1) has its one session now.
    let mut second = Raw::connect(r.addr, "app", "s3cret", Some("shop"), DEPRECATE_EOF);
    let got = second.change_user("solo", "solo-pw", None);
    assert!(matches!(got, Res::Err(1203, _)), "{got:?}");
    assert_eq!(
        second.value("SELECT CURRENT_USER()").as_deref(),
        Some("app@%")
    );
    // app may not kill a session that belongs to solo now.
    let got = second.query(&format!("KILL {first_id}"));
    assert!(matches!(got.as_slice(), [Res::Err(1095, _)]), "{got:?}");
    assert_eq!(first.value("SELECT 1").as_deref(), Some("1"));

    // Once solo's session changes back, solo's slot is free again.
    assert_eq!(first.change_user("app", "s3cret", Some("shop")), Res::Ok);
    assert_eq!(second.change_user("solo", "solo-pw", None), Res::Ok);
    assert_eq!(
        second.value("SELECT CURRENT_USER()").as_deref(),
        Some("solo@%")
    );
}

/// caching_sha2_password with an empty password: MySQL's client library sends one zero
/// byte, others nothing; either logs in, and the OK comes without the fast-auth packet
/// (as from MySQL, whose clients would otherwise answer that packet). A user with a
/// password who sends either is refused with "using password: NO".
#[test]
fn caching_sha2_empty_password_as_mysql_clients_send_it() {
    let db = server();
    let r = router_full(&db, "  auth_plugin: caching_sha2_password\n", "", "");
    for auth in [&[0u8][..], &[]] {
        let mut c = Raw::greet(r.addr, DEPRECATE_EOF);
        c.hello("nopw", Some("shop"), auth, "caching_sha2_password");
        let p = c.read();
        assert_eq!(p[0], 0x00, "auth {auth:?}: expected OK, got {p:?}");
        assert_eq!(c.value("SELECT 1").as_deref(), Some("1"));
        let mut c = Raw::greet(r.addr, DEPRECATE_EOF);
        c.hello("app", Some("shop"), auth, "caching_sha2_password");
        match err_of(&c.read()) {
            Res::Err(1045, m) => assert!(m.contains("using password: NO"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}

/// A pooled connection that served a session with its own isolation level goes back to
/// the server's default for the next session (here READ COMMITTED, not REPEATABLE READ).
#[test]
fn the_next_session_gets_the_servers_default_isolation_level() {
    let db = MariaDb::start_with(&["--transaction-isolation=READ-COMMITTED"]);
    db.sql(
        "CREATE DATABASE shopdb; CREATE TABLE shopdb.t (id INT PRIMARY KEY); \
         CREATE DATABASE otherdb",
    );
    // One connection in the pool: the second session gets the first one's.
    let r = router(&db, "      max_con: 1\n");
    let mut a = Raw::connect(r.addr, "app", "s3cret", Some("shop"), 0);
    assert_eq!(
        a.query("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY"),
        vec![Res::Ok]
    );
    assert_eq!(
        a.value("SELECT @@tx_isolation").as_deref(),
        Some("SERIALIZABLE")
    );
    drop(a);
    let mut b = Raw::connect(r.addr, "app", "s3cret", Some("shop"), 0);
    assert_eq!(
        b.value("SELECT @@tx_isolation").as_deref(),
        Some("READ-COMMITTED"),
        "{}",
        r.daemon.logs()
    );
    assert_eq!(b.value("SELECT @@tx_read_only").as_deref(), Some("0"));
    assert_eq!(b.query("INSERT INTO t VALUES (1)"), vec![Res::Ok]);
}

/// A read host that died since its last heartbeat: the read (not started anywhere) is
/// answered by the write host instead of failing with 1158.
#[test]
fn a_read_host_that_cannot_be_reached_sends_the_read_to_the_write_host() {
    let writer = server();
    writer.sql("INSERT INTO shopdb.t VALUES (1)");
    let reader = server();
    reader.sql("INSERT INTO shopdb.t VALUES (2)");
    // balance 3: reads go to the read host; the heartbeat (1h) will not notice the death.
    let r = router_with(
        &writer,
        "      balance: 3\n      heartbeat_interval: 1h\n",
        &format!(
            ", read_hosts: [ {{ host: r1, url: \"{}\", user: root, password: \"\" }} ]",
            reader.addr
        ),
    );
    let mut c = Raw::connect(r.addr, "app", "s3cret", Some("shop"), DEPRECATE_EOF);
    assert_eq!(c.value("SELECT id FROM t").as_deref(), Some("2"));
    drop(reader);
    assert_eq!(
        c.value("SELECT id FROM t").as_deref(),
        Some("1"),
        "{}",
        r.daemon.logs()
    );
    assert!(
        r.daemon
            .logs()
            .contains("read host r1 cannot be reached, read sent to write host m1"),
        "{}",
        r.daemon.logs()
    );
}

/// COM_RESET_CONNECTION: the transaction is rolled back, user variables, autocommit=0,
/// session variables and prepared statements are gone, the schema stays; as with
/// MariaDB.
#[test]
fn reset_connection_clears_the_session_state_as_mariadb_does() {
    let db = server();
    let r = router(&db, "");
    let mut direct = Raw::connect(db.addr, "root", "", Some("shopdb"), DEPRECATE_EOF);
    let mut routed = Raw::connect(r.addr, "app", "s3cret", Some("shop"), DEPRECATE_EOF);
    for (c, id) in [(&mut direct, "1"), (&mut routed, "2")] {
        for sql in [
            "SET autocommit = 0",
            "SET SESSION sql_mode = 'ANSI_QUOTES'",
            "SET @v = 'kept?'",
            &format!("INSERT INTO t VALUES ({id})"),
        ] {
            assert_eq!(c.query(sql), vec![Res::Ok], "{sql}");
        }
        let mut prep = vec![0x16];
        prep.extend_from_slice(b"SELECT 1");
        c.send(&prep);
        let ok = c.read();
        assert_eq!(ok[0], 0, "prepare: {ok:?}");
        let stmt = u32::from_le_bytes([ok[1], ok[2], ok[3], ok[4]]);
        // One column definition (no EOF with CLIENT_DEPRECATE_EOF).
        c.read();
        assert_eq!(c.simple(&[0x1f]), Res::Ok, "COM_RESET_CONNECTION");
        assert_eq!(c.value("SELECT @v"), None);
        assert_eq!(c.value("SELECT @@autocommit").as_deref(), Some("1"));
        let mode = c.value("SELECT @@SESSION.sql_mode").unwrap_or_default();
        assert!(!mode.contains("ANSI_QUOTES"), "{mode}");
        let mut exec = vec![0x17];
        exec.extend_from_slice(&stmt.to_le_bytes());
        exec.extend_from_slice(&[0, 1, 0, 0, 0]);
        let got = c.query_raw(&exec);
        assert!(matches!(got.as_slice(), [Res::Err(1243, _)]), "{got:?}");
        assert!(c.value("SELECT DATABASE()").is_some());
        assert_eq!(c.value("SELECT COUNT(*) FROM t").as_deref(), Some("0"));
    }
    assert_eq!(db.sql("SELECT COUNT(*) FROM shopdb.t"), "0");
    assert_eq!(
        db.sql("SELECT COUNT(*) FROM information_schema.innodb_trx"),
        "0"
    );
}

/// Reads packets up to the end of a COM_FIELD_LIST answer: (column definitions, ended
/// with ERR).
fn field_list(c: &mut Raw, table: &str) -> (usize, bool) {
    let mut p = vec![0x04];
    p.extend_from_slice(table.as_bytes());
    p.push(0);
    c.send(&p);
    let mut n = 0;
    for _ in 0..100 {
        let r = c.read();
        match r[0] {
            0xff => return (n, true),
            0xfe if r.len() < 0xFF_FFFF => return (n, false),
            _ => n += 1,
        }
    }
    panic!("no end of the field list");
}

/// The single-packet commands and unknown command bytes, with and without
/// CLIENT_DEPRECATE_EOF: the same kind of answer as from MariaDB, and the connection
/// stays usable.
#[test]
fn simple_commands_and_unknown_commands_answer_like_mariadb() {
    let db = server();
    db.sql("CREATE TABLE shopdb.cols (a INT, b TEXT, c DATE)");
    let r = router(&db, "");
    for caps in [0, DEPRECATE_EOF] {
        let mut direct = Raw::connect(db.addr, "root", "", Some("shopdb"), caps);
        let mut routed = Raw::connect(r.addr, "app", "s3cret", Some("shop"), caps);
        for (name, c) in [("MariaDB", &mut direct), ("router", &mut routed)] {
            assert_eq!(c.simple(&[0x0e]), Res::Ok, "{name}: COM_PING");
            assert_eq!(field_list(c, "cols"), (3, false), "{name}: COM_FIELD_LIST");
            assert_eq!(field_list(c, "nope"), (0, true), "{name}: COM_FIELD_LIST");
            c.send(&[0x09]);
            let st = c.read();
            assert!(st.starts_with(b"Uptime: "), "{name}: COM_STATISTICS {st:?}");
            for cmd in [0x00u8, 0x0f, 0x20, 0x7f, 0xfa] {
                let got = c.simple(&[cmd]);
                assert!(
                    matches!(got, Res::Err(_, _)),
                    "{name}: command {cmd:#x}: {got:?}"
                );
            }
            let mut kill = vec![0x0c];
            kill.extend_from_slice(&999_999u32.to_le_bytes());
            assert!(
                matches!(c.simple(&kill), Res::Err(1094, _)),
                "{name}: COM_PROCESS_KILL"
            );
            let mut bad = vec![0x02];
            bad.extend_from_slice(b"no_such_db");
            assert!(
                matches!(c.simple(&bad), Res::Err(1049, _)),
                "{name}: COM_INIT_DB"
            );
            // COM_SET_OPTION: 0 and 1 switch multi-statements on and off (an EOF or
            // OK answers), another value is an unknown command.
            for (v, ok) in [(0u16, true), (1, true), (2, false), (0xffff, false)] {
                let mut o = vec![0x1b];
                o.extend_from_slice(&v.to_le_bytes());
                c.send(&o);
                let p = c.read();
                if ok {
                    assert!(matches!(p[0], 0x00 | 0xfe), "{name}: set option {v}: {p:?}");
                } else {
                    assert!(
                        matches!(err_of(&p), Res::Err(1047, _)),
                        "{name}: set option {v}: {p:?}"
                    );
                }
            }
            assert_eq!(c.value("SELECT 7").as_deref(), Some("7"), "{name}");
        }
    }
}

/// Packets of exactly 0xFFFFFF bytes (a logical packet followed by an empty one) both
/// ways: a statement of that length, and a row of that length.
#[test]
fn packets_of_exactly_16_mib_minus_one_both_ways() {
    let db = MariaDb::start_with(&["--max-allowed-packet=64M"]);
    db.sql("CREATE DATABASE shopdb; CREATE DATABASE otherdb");
    let r = router(&db, "");
    let mut direct = Raw::connect(db.addr, "root", "", Some("shopdb"), DEPRECATE_EOF);
    let mut routed = Raw::connect(r.addr, "app", "s3cret", Some("shop"), DEPRECATE_EOF);
    for (name, c) in [("MariaDB", &mut direct), ("router", &mut routed)] {
        // COM_QUERY byte + text = 0xFFFFFF: the answer comes with sequence id 2.
        let head = "SELECT LENGTH('";
        let tail = "')";
        let n = 0xFF_FFFF - 1 - head.len() - tail.len();
        let sql = format!("{head}{}{tail}", "y".repeat(n));
        assert_eq!(
            c.query(&sql),
            vec![Res::Rows(vec![vec![Some(n.to_string())]])],
            "{name}"
        );
        // A row of exactly 0xFFFFFF bytes: 4 bytes of length, the rest value.
        let v = 0xFF_FFFF - 4;
        let rows = c.query(&format!("SELECT REPEAT('z', {v})"));
        let [Res::Rows(rows)] = rows.as_slice() else {
            panic!("{name}: {rows:?}");
        };
        assert_eq!(rows[0][0].as_ref().map(String::len), Some(v), "{name}");
        assert_eq!(c.value("SELECT 8").as_deref(), Some("8"), "{name}");
    }
}

/// A prepared SELECT executed with a cursor where reads go to a read host: the cursor
/// is opened on the connection the session keeps, so COM_STMT_FETCH finds it (as it
/// does on MariaDB directly).
#[test]
fn cursor_of_a_read_statement_survives_the_read_write_split() {
    let db = server();
    db.sql("INSERT INTO shopdb.t VALUES (1), (2), (3)");
    // balance 3: reads go to the read host (the same server under another name).
    let r = router_with(
        &db,
        "      balance: 3\n",
        &format!(
            ", read_hosts: [ {{ host: r1, url: \"{}\", user: root, password: \"\" }} ]",
            db.addr
        ),
    );
    let mut direct = Raw::connect(db.addr, "root", "", Some("shopdb"), DEPRECATE_EOF);
    let mut routed = Raw::connect(r.addr, "app", "s3cret", Some("shop"), DEPRECATE_EOF);
    for (name, c) in [("MariaDB", &mut direct), ("router", &mut routed)] {
        let mut prep = vec![0x16];
        prep.extend_from_slice(b"SELECT id FROM t ORDER BY id");
        c.send(&prep);
        let ok = c.read();
        assert_eq!(ok[0], 0, "{name}: prepare {ok:?}");
        let stmt = u32::from_le_bytes([ok[1], ok[2], ok[3], ok[4]]);
        c.read(); // the column definition
        let mut exec = vec![0x17];
        exec.extend_from_slice(&stmt.to_le_bytes());
        exec.extend_from_slice(&[1, 1, 0, 0, 0]); // CURSOR_TYPE_READ_ONLY
        c.send(&exec);
        assert_eq!(c.read(), vec![1], "{name}: one column");
        c.read();
        let end = c.read();
        assert_eq!(end[0], 0xfe, "{name}: {end:?}");
        for (want_rows, round) in [(2, 1), (1, 2)] {
            let mut f = vec![0x1c];
            f.extend_from_slice(&stmt.to_le_bytes());
            f.extend_from_slice(&2u32.to_le_bytes());
            c.send(&f);
            let mut rows = 0;
            loop {
                let p = c.read();
                match p[0] {
                    0xff => panic!(
                        "{name}: fetch {round}: {:?}\n{}",
                        err_of(&p),
                        r.daemon.logs()
                    ),
                    0xfe => break,
                    _ => rows += 1,
                }
            }
            assert_eq!(rows, want_rows, "{name}: fetch {round}");
        }
        assert_eq!(c.value("SELECT 5").as_deref(), Some("5"), "{name}");
    }
}

/// A prepared statement keeps the database it was prepared in, as on MariaDB: a later
/// `USE` does not move its executes to the new schema.
#[test]
fn a_prepared_statement_keeps_the_schema_it_was_prepared_in() {
    let db = server();
    db.sql("CREATE TABLE otherdb.t (id INT PRIMARY KEY)");
    let r = router(&db, "");
    for (name, addr, user, pw, first, second) in [
        ("MariaDB", db.addr, "root", "", "shopdb", "otherdb"),
        ("router", r.addr, "app", "s3cret", "shop", "other"),
    ] {
        let mut c = common::wire::Conn::connect(addr, user, pw, Some(first))
            .unwrap_or_else(|e| panic!("{name}: login: {e}"));
        let ins = c.prepare("INSERT INTO t VALUES (?)").expect("prepare");
        c.query(&format!("USE {second}")).expect("use");
        c.execute(ins, 0, &[Some("7")], &[])
            .unwrap_or_else(|e| panic!("{name}: execute: {e}\n{}", r.daemon.logs()));
        // A statement prepared after the USE runs in the new schema.
        let ins2 = c.prepare("INSERT INTO t VALUES (?)").expect("prepare 2");
        c.execute(ins2, 0, &[Some("8")], &[]).expect("execute 2");
        // And the first one still in its own, also on its second execute.
        c.execute(ins, 0, &[Some("9")], &[]).expect("execute 3");
        c.close_stmt(ins).expect("close");
        c.close_stmt(ins2).expect("close");
        assert_eq!(
            db.sql("SELECT GROUP_CONCAT(id ORDER BY id) FROM shopdb.t"),
            "7,9",
            "{name}"
        );
        assert_eq!(
            db.sql("SELECT GROUP_CONCAT(id ORDER BY id) FROM otherdb.t"),
            "8",
            "{name}"
        );
        db.sql("DELETE FROM shopdb.t; DELETE FROM otherdb.t");
    }
}

/// A client that prepares statements and never closes them gets MySQL's error 1461
/// at MySQL's default max_prepared_stmt_count (16382) instead of making the router
/// hold them without bound; closing one makes room again.
#[test]
fn a_session_holds_at_most_16382_prepared_statements() {
    let db = server();
    let r = router(&db, "");
    let mut c = common::wire::Conn::connect(r.addr, "app", "s3cret", Some("shop"))
        .unwrap_or_else(|e| panic!("login: {e}"));
    let mut first = None;
    for i in 0..16_382 {
        let st = c
            .prepare("SELECT 1")
            .unwrap_or_else(|e| panic!("prepare {i}: {e}\n{}", r.daemon.logs()));
        first.get_or_insert(st);
    }
    let e = c.prepare("SELECT 1").expect_err("one statement too many");
    assert_eq!((e.code, e.state.as_str()), (1461, "42000"), "{e}");
    let first = first.expect("a statement");
    c.close_stmt(first).expect("close");
    let st = c.prepare("SELECT ?").expect("prepare after a close");
    assert_eq!(st.params, 1);
    c.execute(st, 0, &[Some("5")], &[]).expect("execute");
    assert_eq!(c.value("SELECT 6").expect("query"), Some("6".into()));
    // Closing the same id again, or an id never given: no answer, as from MariaDB.
    c.close_stmt(first).expect("close again");
    c.ping().expect("ping after closes");
}

/// COM_STMT_EXECUTE of two INT parameters; `types` false leaves them out
/// (new_params_bound_flag 0, as PHP mysqlnd and Connector/C send a re-execute).
fn execute_ints(stmt: u32, values: [i32; 2], types: bool) -> Vec<u8> {
    let mut p = vec![0x17];
    p.extend_from_slice(&stmt.to_le_bytes());
    p.push(0);
    p.extend_from_slice(&1u32.to_le_bytes());
    p.push(0); // no NULLs
    if types {
        p.extend_from_slice(&[1, 0x03, 0, 0x03, 0]);
    } else {
        p.push(0);
    }
    for v in values {
        p.extend_from_slice(&v.to_le_bytes());
    }
    p
}

/// A prepared write on a sharded table that reaches several data nodes runs there as
/// text built from its parameters; its next execute may leave the parameter types out
/// (they were sent with the first), and still gets its values.
#[test]
fn a_multi_node_prepared_write_keeps_its_parameter_types_for_the_next_execute() {
    let db = MariaDb::start();
    db.sql(
        "CREATE DATABASE shard0; CREATE TABLE shard0.s (id INT PRIMARY KEY, v INT); \
         INSERT INTO shard0.s VALUES (2, 1), (4, 1); \
         CREATE DATABASE shard1; CREATE TABLE shard1.s (id INT PRIMARY KEY, v INT); \
         INSERT INTO shard1.s VALUES (1, 1), (3, 1)",
    );
    let body = format!(
        "  users:\n    - {{ name: app, password: s3cret, schemas: [shop] }}\n  schemas:\n    - name: shop\n      data_node: dn0\n      tables:\n        - {{ name: s, primary_key: id, data_nodes: \"dn0,dn1\", rule: by-id }}\n  data_nodes:\n    - {{ name: dn0, data_host: dh1, database: shard0 }}\n    - {{ name: dn1, data_host: dh1, database: shard1 }}\n  data_hosts:\n    - name: dh1\n      min_con: 1\n      write_hosts:\n        - {{ host: m1, url: \"{}\", user: root, password: \"\" }}\n  rules:\n    - {{ name: by-id, column: id, function: {{ type: mod-long, count: 2 }} }}\n",
        db.addr
    );
    let r = RouterDaemon::start(&body, false);
    let mut c = Raw::connect(r.addr, "app", "s3cret", Some("shop"), 0);
    let mut prep = vec![0x16];
    prep.extend_from_slice(b"UPDATE s SET v = ? WHERE v = ?");
    c.send(&prep);
    let ok = c.read();
    assert_eq!(ok[0], 0, "prepare: {:?}\n{}", err_of(&ok), r.daemon.logs());
    let stmt = u32::from_le_bytes([ok[1], ok[2], ok[3], ok[4]]);
    let params = u16::from_le_bytes([ok[7], ok[8]]);
    assert_eq!(params, 2);
    for _ in 0..params + 1 {
        c.read(); // parameter definitions and their EOF
    }
    for (values, types) in [([10, 1], true), ([20, 10], false), ([30, 20], false)] {
        let got = c.query_raw(&execute_ints(stmt, values, types));
        assert_eq!(got, vec![Res::Ok], "{values:?}\n{}", r.daemon.logs());
    }
    for d in ["shard0", "shard1"] {
        assert_eq!(
            db.sql(&format!("SELECT GROUP_CONCAT(v) FROM {d}.s")),
            "30,30",
            "{d}"
        );
    }
}

/// Executes a prepared statement without parameters that returns one string column and
/// one row (binary protocol, EOF packets); its value.
fn execute_one_string(c: &mut Raw, stmt: u32) -> Option<String> {
    let mut p = vec![0x17];
    p.extend_from_slice(&stmt.to_le_bytes());
    p.extend_from_slice(&[0, 1, 0, 0, 0]);
    c.send(&p);
    let head = c.read();
    assert_eq!(head, vec![1], "one column: {:?}", err_of(&head));
    c.read(); // the column definition
    assert_eq!(c.read()[0], 0xfe, "EOF after the columns");
    let row = c.read();
    assert_eq!(row[0], 0, "a binary row: {row:?}");
    let v = if row[1] & 0x04 != 0 {
        None
    } else {
        let mut r = &row[2..];
        let n = lenenc(&mut r).expect("length") as usize;
        Some(String::from_utf8_lossy(&r[..n]).into_owned())
    };
    assert_eq!(c.read()[0], 0xfe, "EOF after the row");
    v
}

/// A prepared statement that reads LAST_INSERT_ID() sees the session's last insert id
/// (as a text query does), also when it runs on another backend connection than the
/// insert did (here a read host).
#[test]
fn a_prepared_statement_reads_the_sessions_last_insert_id() {
    let db = server();
    db.sql("CREATE TABLE shopdb.a (id INT AUTO_INCREMENT PRIMARY KEY, v INT)");
    let r = router_with(
        &db,
        "      balance: 3\n",
        &format!(
            ", read_hosts: [ {{ host: r1, url: \"{}\", user: root, password: \"\" }} ]",
            db.addr
        ),
    );
    let mut direct = Raw::connect(db.addr, "root", "", Some("shopdb"), 0);
    let mut routed = Raw::connect(r.addr, "app", "s3cret", Some("shop"), 0);
    for (name, c) in [("MariaDB", &mut direct), ("router", &mut routed)] {
        for v in 1..=3 {
            assert_eq!(
                c.query(&format!("INSERT INTO a (v) VALUES ({v})")),
                vec![Res::Ok],
                "{name}"
            );
        }
        let want = c.value("SELECT LAST_INSERT_ID()");
        let mut prep = vec![0x16];
        prep.extend_from_slice(b"SELECT CAST(LAST_INSERT_ID() AS CHAR)");
        c.send(&prep);
        let ok = c.read();
        assert_eq!(ok[0], 0, "{name}: prepare {:?}", err_of(&ok));
        let stmt = u32::from_le_bytes([ok[1], ok[2], ok[3], ok[4]]);
        c.read(); // the column definition
        c.read(); // EOF
        assert_eq!(execute_one_string(c, stmt), want, "{name}");
        assert!(want.is_some(), "{name}");
    }
}

/// COM_STMT_FETCH of up to `n` rows: how many came (panics on an error).
fn fetch_rows(c: &mut Raw, stmt: u32, n: u32, name: &str) -> Result<usize, Res> {
    let mut f = vec![0x1c];
    f.extend_from_slice(&stmt.to_le_bytes());
    f.extend_from_slice(&n.to_le_bytes());
    c.send(&f);
    let mut rows = 0;
    for _ in 0..=n {
        let p = c.read();
        match p[0] {
            0xff => return Err(err_of(&p)),
            0xfe => return Ok(rows),
            _ => rows += 1,
        }
    }
    panic!("{name}: more rows than asked for");
}

/// A cursor opened in one schema keeps delivering rows after the client switched to
/// another schema and ran a statement there (on the connection that holds the cursor).
#[test]
fn a_cursor_survives_a_use_of_another_schema() {
    let db = server();
    db.sql("INSERT INTO shopdb.t VALUES (1), (2), (3)");
    let r = router(&db, "");
    let mut direct = Raw::connect(db.addr, "root", "", Some("shopdb"), 0);
    let mut routed = Raw::connect(r.addr, "app", "s3cret", Some("shop"), 0);
    for (name, c, other) in [
        ("MariaDB", &mut direct, "otherdb"),
        ("router", &mut routed, "other"),
    ] {
        let mut prep = vec![0x16];
        prep.extend_from_slice(b"SELECT id FROM t ORDER BY id");
        c.send(&prep);
        let ok = c.read();
        assert_eq!(ok[0], 0, "{name}: prepare {:?}", err_of(&ok));
        let stmt = u32::from_le_bytes([ok[1], ok[2], ok[3], ok[4]]);
        c.read(); // the column definition
        c.read(); // EOF
        let mut exec = vec![0x17];
        exec.extend_from_slice(&stmt.to_le_bytes());
        exec.extend_from_slice(&[1, 1, 0, 0, 0]); // CURSOR_TYPE_READ_ONLY
        c.send(&exec);
        assert_eq!(c.read(), vec![1], "{name}: one column");
        c.read();
        assert_eq!(c.read()[0], 0xfe, "{name}");
        assert_eq!(fetch_rows(c, stmt, 1, name), Ok(1), "{name}");
        assert_eq!(c.query(&format!("USE {other}")), vec![Res::Ok], "{name}");
        assert_eq!(c.value("SELECT v FROM secret").as_deref(), Some("hidden"));
        assert_eq!(
            fetch_rows(c, stmt, 5, name),
            Ok(2),
            "{name}\n{}",
            r.daemon.logs()
        );
        // Closing it after the schema changed again leaves the session usable.
        c.send(&[0x19, stmt as u8, (stmt >> 8) as u8, 0, 0]);
        assert_eq!(c.value("SELECT 4").as_deref(), Some("4"), "{name}");
    }
}

/// KILL with the router's connection ids cannot be prepared: the server would take the
/// id for one of its own threads. The prepare gets MySQL's "not supported in the
/// prepared statement protocol" (on which Connector/J prepares on the client side) and
/// the text KILL still works.
#[test]
fn kill_is_not_prepared_on_the_server() {
    let db = server();
    let r = router(&db, "");
    let mut c = Raw::connect(r.addr, "app", "s3cret", Some("shop"), 0);
    let mut victim = Raw::connect(r.addr, "app", "s3cret", Some("shop"), 0);
    let vid = victim.value("SELECT CONNECTION_ID()").expect("id");
    for sql in [
        format!("KILL {vid}"),
        format!("KILL QUERY {vid}"),
        "KILL ?".to_string(),
        "  kill connection ?".to_string(),
    ] {
        let mut prep = vec![0x16];
        prep.extend_from_slice(sql.as_bytes());
        c.send(&prep);
        let p = c.read();
        assert_eq!(p[0], 0xff, "{sql}: prepared");
        let Res::Err(code, _) = err_of(&p) else {
            unreachable!()
        };
        assert_eq!(code, 1295, "{sql}");
    }
    assert_eq!(victim.value("SELECT 1").as_deref(), Some("1"));
    assert_eq!(c.query(&format!("KILL {vid}")), vec![Res::Ok]);
    assert_eq!(c.value("SELECT 2").as_deref(), Some("2"));
}

/// Two client statements with the same text, each with a cursor: a fetch from the first
/// never returns the second one's rows (the router shares one server statement per text
/// on a connection, so the second execute closed the first cursor there: the first gets
/// "no open cursor" where MariaDB would go on; wrong rows would be worse).
#[test]
fn cursors_of_two_statements_with_the_same_text_never_mix_their_rows() {
    let db = server();
    db.sql("INSERT INTO shopdb.t VALUES (1), (2), (3)");
    let r = router(&db, "");
    let mut direct = Raw::connect(db.addr, "root", "", Some("shopdb"), 0);
    let mut routed = Raw::connect(r.addr, "app", "s3cret", Some("shop"), 0);
    for (name, c) in [("MariaDB", &mut direct), ("router", &mut routed)] {
        let mut ids = Vec::new();
        for _ in 0..2 {
            let mut prep = vec![0x16];
            prep.extend_from_slice(b"SELECT id FROM t ORDER BY id");
            c.send(&prep);
            let ok = c.read();
            assert_eq!(ok[0], 0, "{name}: prepare {:?}", err_of(&ok));
            ids.push(u32::from_le_bytes([ok[1], ok[2], ok[3], ok[4]]));
            c.read(); // the column definition
            c.read(); // EOF
        }
        let open = |c: &mut Raw, stmt: u32| {
            let mut exec = vec![0x17];
            exec.extend_from_slice(&stmt.to_le_bytes());
            exec.extend_from_slice(&[1, 1, 0, 0, 0]); // CURSOR_TYPE_READ_ONLY
            c.send(&exec);
            assert_eq!(c.read(), vec![1], "{name}: one column");
            c.read();
            assert_eq!(c.read()[0], 0xfe, "{name}");
        };
        let (x, y) = (ids[0], ids[1]);
        open(c, x);
        assert_eq!(fetch_rows(c, x, 1, name), Ok(1), "{name}");
        open(c, y);
        assert_eq!(fetch_rows(c, y, 2, name), Ok(2), "{name}");
        // x has two rows left on MariaDB; y has one.
        match fetch_rows(c, x, 5, name) {
            Ok(2) => {}
            Err(Res::Err(1421, _)) if name == "router" => {}
            other => panic!("{name}: fetch from x: {other:?}"),
        }
        assert_eq!(fetch_rows(c, y, 5, name), Ok(1), "{name}: y's last row");
        assert_eq!(c.value("SELECT 4").as_deref(), Some("4"), "{name}");
    }
}

/// Statements the router answers itself in the text protocol (SHOW DATABASES,
/// SHOW TABLES, SELECT DATABASE() / CONNECTION_ID() ...) get the same answers when they
/// are prepared, in the binary protocol: never the backend's databases or ids.
#[test]
fn prepared_statements_the_router_answers_itself() {
    let db = server();
    let r = router(&db, "");
    let mut c = common::wire::Conn::connect(r.addr, "app", "s3cret", Some("shop"))
        .unwrap_or_else(|e| panic!("login: {e}"));
    let s = |v: &[&str]| -> Vec<Vec<Option<String>>> {
        v.iter().map(|x| vec![Some(x.to_string())]).collect()
    };

    let dbs = c.prepare("SHOW DATABASES").expect("prepare SHOW DATABASES");
    assert_eq!((dbs.columns, dbs.params), (1, 0));
    let rows = c
        .execute(dbs, 0, &[], &[])
        .unwrap_or_else(|e| panic!("execute: {e}\n{}", r.daemon.logs()));
    assert_eq!(rows, s(&["shop", "other"]));

    let id = c.value("SELECT CONNECTION_ID()").expect("text id");
    let sel = c
        .prepare("SELECT DATABASE(), CONNECTION_ID() AS id")
        .expect("prepare local select");
    assert_eq!((sel.columns, sel.params), (2, 0));
    let rows = c.execute(sel, 0, &[], &[]).expect("execute local select");
    assert_eq!(rows, vec![vec![Some("shop".to_string()), id.clone()]]);

    let tables = c.prepare("SHOW TABLES").expect("prepare SHOW TABLES");
    let full = c
        .prepare("SHOW FULL TABLES")
        .expect("prepare SHOW FULL TABLES");
    assert_eq!((tables.columns, full.columns), (1, 2));
    assert_eq!(c.execute(tables, 0, &[], &[]).expect("tables"), s(&["t"]));
    assert_eq!(
        c.execute(full, 0, &[], &[]).expect("full tables"),
        vec![vec![Some("t".to_string()), Some("BASE TABLE".to_string())]]
    );

    // As every prepared statement, they keep the schema they were prepared in.
    c.query("USE other").expect("use");
    assert_eq!(
        c.execute(tables, 0, &[], &[]).expect("tables again"),
        s(&["t"])
    );
    let rows = c.execute(sel, 0, &[], &[]).expect("local select again");
    assert_eq!(rows, vec![vec![Some("shop".to_string()), id]]);
    let other = c.prepare("SHOW TABLES").expect("prepare in other");
    assert_eq!(
        c.execute(other, 0, &[], &[]).expect("other"),
        s(&["secret"])
    );

    // No cursor to fetch from; reset and close as for any statement.
    let e = c.fetch(dbs, 1).expect_err("no cursor");
    assert_eq!(e.code, 1421, "{e}");
    c.reset(dbs).expect("reset");
    for st in [dbs, sel, tables, full, other] {
        c.close_stmt(st).expect("close");
    }
    let e = c.execute(dbs, 0, &[], &[]).expect_err("closed");
    assert_eq!(e.code, 1243, "{e}");
    c.ping().expect("ping");
}

/// COM_STMT_EXECUTE of `INSERT INTO g (id, at, d, raw, f) VALUES (?, ?, ?, ?, ?)` with
/// binary values: INT, DATETIME with microseconds, negative TIME over a day, BLOB with
/// bytes that are not UTF-8, FLOAT. (No BIT: clients do not send it, and MariaDB does
/// not read it as a parameter type.)
fn execute_typed_row(stmt: u32, id: i32) -> Vec<u8> {
    let mut p = vec![0x17];
    p.extend_from_slice(&stmt.to_le_bytes());
    p.push(0);
    p.extend_from_slice(&1u32.to_le_bytes());
    p.push(0); // no NULLs
    p.push(1);
    p.extend_from_slice(&[0x03, 0, 0x0c, 0, 0x0b, 0, 0xfc, 0, 0x04, 0]);
    p.extend_from_slice(&id.to_le_bytes());
    p.extend_from_slice(&[11, 0xe4, 0x07, 2, 29, 23, 59, 58]);
    p.extend_from_slice(&123_456u32.to_le_bytes());
    p.extend_from_slice(&[12, 1, 1, 0, 0, 0, 2, 3, 4]);
    p.extend_from_slice(&5u32.to_le_bytes());
    p.extend_from_slice(&[4, 0x00, 0xc3, 0x28, b'\\']);
    p.extend_from_slice(&0.1f32.to_le_bytes());
    p
}

/// A prepared write to a global table runs on every node as text built from its
/// parameters: each value must arrive exactly as the server itself stores it from the
/// binary protocol (microseconds, TIME, raw bytes, FLOAT widening), and text that
/// cannot be written into statement text is refused with nothing written.
#[test]
fn a_multi_node_prepared_write_stores_binary_values_exactly_as_the_server_does() {
    let db = MariaDb::start();
    let table = "(id INT PRIMARY KEY, at DATETIME(6), d TIME(6), raw BLOB, f DOUBLE, v VARCHAR(8))";
    db.sql(&format!(
        "CREATE DATABASE g0; CREATE TABLE g0.g {table}; CREATE DATABASE g1; CREATE TABLE g1.g {table}; \
         CREATE DATABASE direct; CREATE TABLE direct.g {table}"
    ));
    let body = format!(
        "  users:\n    - {{ name: app, password: s3cret, schemas: [shop] }}\n  schemas:\n    - name: shop\n      data_node: dn0\n      tables:\n        - {{ name: g, data_nodes: \"dn0,dn1\", type: global }}\n  data_nodes:\n    - {{ name: dn0, data_host: dh1, database: g0 }}\n    - {{ name: dn1, data_host: dh1, database: g1 }}\n  data_hosts:\n    - name: dh1\n      min_con: 1\n      write_hosts:\n        - {{ host: m1, url: \"{}\", user: root, password: \"\" }}\n",
        db.addr
    );
    let r = RouterDaemon::start(&body, false);
    let sql = b"INSERT INTO g (id, at, d, raw, f) VALUES (?, ?, ?, ?, ?)";
    for (addr, user, pw, schema) in [
        (r.addr, "app", "s3cret", "shop"),
        (db.addr, "root", "", "direct"),
    ] {
        let mut c = Raw::connect(addr, user, pw, Some(schema), 0);
        let mut prep = vec![0x16];
        prep.extend_from_slice(sql);
        c.send(&prep);
        let ok = c.read();
        assert_eq!(ok[0], 0, "{schema}: prepare: {:?}", err_of(&ok));
        let stmt = u32::from_le_bytes([ok[1], ok[2], ok[3], ok[4]]);
        for _ in 0..6 {
            c.read(); // five parameter definitions and their EOF
        }
        let got = c.query_raw(&execute_typed_row(stmt, 1));
        assert_eq!(got, vec![Res::Ok], "{schema}\n{}", r.daemon.logs());
    }
    let row = |d: &str| {
        db.sql(&format!(
            "SELECT CONCAT_WS('|', id, at, d, HEX(raw), f) FROM {d}.g"
        ))
    };
    let direct = row("direct");
    assert_eq!(
        direct,
        "1|2020-02-29 23:59:58.123456|-26:03:04.000005|00C3285C|0.10000000149011612"
    );
    assert_eq!(row("g0"), direct);
    assert_eq!(row("g1"), direct);

    // VARCHAR bytes that are not UTF-8 from a utf8mb4 client, for a text column (the
    // server refuses them, 1366): refused, not mangled.
    let mut c = Raw::connect(r.addr, "app", "s3cret", Some("shop"), 0);
    let mut prep = vec![0x16];
    prep.extend_from_slice(b"INSERT INTO g (id, v) VALUES (?, ?)");
    c.send(&prep);
    let ok = c.read();
    assert_eq!(ok[0], 0, "prepare: {:?}", err_of(&ok));
    let stmt = u32::from_le_bytes([ok[1], ok[2], ok[3], ok[4]]);
    for _ in 0..3 {
        c.read();
    }
    let mut p = vec![0x17];
    p.extend_from_slice(&stmt.to_le_bytes());
    p.extend_from_slice(&[0, 1, 0, 0, 0, 0, 1, 0x03, 0, 0xfd, 0]);
    p.extend_from_slice(&2i32.to_le_bytes());
    p.extend_from_slice(&[1, 0xe9]);
    match c.query_raw(&p).as_slice() {
        [Res::Err(1105, msg)] => assert!(
            msg.contains("parameter 2")
                && msg.contains("not valid utf8mb4")
                && msg.contains("column v, which is not binary"),
            "{msg}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(db.sql("SELECT COUNT(*) FROM g0.g WHERE id = 2"), "0");
    assert_eq!(db.sql("SELECT COUNT(*) FROM g1.g WHERE id = 2"), "0");

    // The same bytes as a string parameter into the BLOB column, by its position (no
    // column list): stored as they are, as the server stores them.
    let sql = b"INSERT INTO g VALUES (?, NULL, NULL, ?, NULL, NULL)";
    for (addr, user, pw, schema) in [
        (r.addr, "app", "s3cret", "shop"),
        (db.addr, "root", "", "direct"),
    ] {
        let mut c = Raw::connect(addr, user, pw, Some(schema), 0);
        let mut prep = vec![0x16];
        prep.extend_from_slice(sql);
        c.send(&prep);
        let ok = c.read();
        assert_eq!(ok[0], 0, "{schema}: prepare: {:?}", err_of(&ok));
        let stmt = u32::from_le_bytes([ok[1], ok[2], ok[3], ok[4]]);
        for _ in 0..3 {
            c.read(); // two parameter definitions and their EOF
        }
        let mut p = vec![0x17];
        p.extend_from_slice(&stmt.to_le_bytes());
        p.extend_from_slice(&[0, 1, 0, 0, 0, 0, 1, 0x03, 0, 0xfe, 0]);
        p.extend_from_slice(&3i32.to_le_bytes());
        p.extend_from_slice(&[2, 0xe9, 0xff]);
        assert_eq!(
            c.query_raw(&p),
            vec![Res::Ok],
            "{schema}\n{}",
            r.daemon.logs()
        );
    }
    for d in ["direct", "g0", "g1"] {
        assert_eq!(
            db.sql(&format!("SELECT HEX(raw) FROM {d}.g WHERE id = 3")),
            "E9FF",
            "{d}"
        );
    }
}

// ---- metadata statements naming a schema ------------------------------------------------

/// Schema `shop` on shopdb (dn1) with table `orders` sharded over shop_2 and shop_3 (not
/// on dn1), schema `other` on otherdb (dn4) and schema `bare` without a data_node (its
/// table `g` global on shop_2 and shop_3); user `app` may use shop, other and bare,
/// `solo` only shop.
fn meta_router(db: &MariaDb) -> Router {
    db.sql(
        "CREATE DATABASE shopdb; CREATE TABLE shopdb.t (id INT PRIMARY KEY, name VARCHAR(10), KEY k (name)); \
         CREATE TABLE shopdb.Tab2 (x INT); CREATE VIEW shopdb.v AS SELECT id FROM shopdb.t; \
         CREATE DATABASE shop_2; CREATE DATABASE shop_3; \
         CREATE TABLE shop_2.orders (id INT PRIMARY KEY, total INT); \
         CREATE TABLE shop_3.orders (id INT PRIMARY KEY, total INT); \
         CREATE TABLE shop_2.g (k INT); CREATE TABLE shop_3.g (k INT); \
         CREATE DATABASE otherdb; CREATE TABLE otherdb.secret (v TEXT)",
    );
    let body = format!(
        "  users:\n    - {{ name: app, password: s3cret, schemas: [shop, other, bare] }}\n    - {{ name: solo, password: solo-pw, schemas: [shop] }}\n  schemas:\n    - name: shop\n      data_node: dn1\n      tables:\n        - {{ name: orders, primary_key: id, data_nodes: \"dn2,dn3\", rule: by-id-mod }}\n    - {{ name: other, data_node: dn4 }}\n    - name: bare\n      tables:\n        - {{ name: g, data_nodes: \"dn2,dn3\", type: global }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n    - {{ name: dn2, data_host: dh1, database: shop_2 }}\n    - {{ name: dn3, data_host: dh1, database: shop_3 }}\n    - {{ name: dn4, data_host: dh1, database: otherdb }}\n  data_hosts:\n    - name: dh1\n      min_con: 1\n      write_hosts:\n        - {{ host: m1, url: \"{addr}\", user: root, password: \"\" }}\n  rules:\n    - name: by-id-mod\n      column: id\n      function: {{ type: mod-long, count: 2 }}\n",
        addr = db.addr,
    );
    RouterDaemon::start(&body, false)
}

fn strs(v: &[&str]) -> Vec<Vec<Option<String>>> {
    v.iter().map(|x| vec![Some(x.to_string())]).collect()
}

fn names(t: &Table) -> Vec<String> {
    t.1.iter()
        .map(|r| r[0].clone().unwrap_or_default())
        .collect()
}

/// No backend database name in any column name or value.
fn no_backend_names(sql: &str, t: &Table) {
    let all = format!("{:?}{:?}", t.0, t.1);
    for b in ["shopdb", "shop_2", "shop_3", "otherdb"] {
        assert!(!all.contains(b), "{sql}: leaks {b}: {all}");
    }
}

/// `SHOW DATABASES` / `SHOW SCHEMAS` with LIKE and WHERE list the user's schemas (never
/// the servers' databases), filtered as MariaDB filters (LIKE case-sensitive, WHERE in
/// the column's case-insensitive collation), with MariaDB's column header.
#[test]
fn show_databases_with_like_and_where_lists_the_schemas() {
    let db = MariaDb::start();
    let r = meta_router(&db);
    let mut c = Raw::connect(r.addr, "app", "s3cret", None, 0);
    let t = c.table("SHOW DATABASES").expect("bare");
    assert_eq!(
        t,
        (
            vec!["Database".to_string()],
            strs(&["shop", "other", "bare"])
        )
    );
    let t = c.table("SHOW DATABASES LIKE 'sh%'").expect("like");
    assert_eq!(t, (vec!["Database (sh%)".to_string()], strs(&["shop"])));
    let t = c
        .table("SHOW SCHEMAS LIKE 'SH%'")
        .expect("like is case-sensitive");
    assert_eq!(t, (vec!["Database (SH%)".to_string()], vec![]));
    let t = c.table("show databases like '%e%'").expect("like");
    assert_eq!(names(&t), ["other", "bare"]);
    let t = c
        .table("SHOW SCHEMAS WHERE `Database` LIKE 'S%' OR `Database` = 'BARE'")
        .expect("where");
    assert_eq!(t, (vec!["Database".to_string()], strs(&["shop", "bare"])));
    // The condition runs with the router's login: no subquery reaches past the
    // user's privileges through it.
    match c.table("SHOW DATABASES WHERE `Database` NOT IN (SELECT v FROM otherdb.secret)") {
        Err(Res::Err(1105, m)) => assert!(m.contains("subquery"), "{m}"),
        other => panic!("subquery: {other:?}"),
    }
    let t = c.table("SHOW DATABASES WHERE 0").expect("nothing");
    assert_eq!(t.1.len(), 0);
    match c.table("SHOW DATABASES WHERE nosuch = 1") {
        Err(Res::Err(1054, m)) => assert!(m.contains("nosuch"), "{m}"),
        other => panic!("unknown column: {other:?}"),
    }
    let mut solo = Raw::connect(r.addr, "solo", "solo-pw", None, 0);
    let t = solo.table("SHOW DATABASES LIKE '%'").expect("solo");
    assert_eq!(names(&t), ["shop"]);
}

/// `SHOW [FULL] TABLES {FROM|IN} schema [LIKE|WHERE]` (what Connector/J's getTables,
/// DBeaver and Navicat send) lists the schema's tables under its name, with the
/// configured sharded table that its data_node lacks, whatever schema is current; bare
/// `SHOW TABLES LIKE` too. Unknown schemas get 1049, forbidden ones 1044.
#[test]
fn show_tables_from_a_schema_lists_it_under_its_name() {
    let db = MariaDb::start();
    let r = meta_router(&db);
    let mut c = Raw::connect(r.addr, "app", "s3cret", Some("other"), 0);
    for sql in [
        "SHOW TABLES FROM shop",
        "SHOW TABLES IN `shop`",
        "show tables from shop;",
    ] {
        let t = c.table(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        assert_eq!(t.0, ["Tables_in_shop"], "{sql}");
        assert_eq!(names(&t), ["Tab2", "orders", "t", "v"], "{sql}");
    }
    let t = c
        .table("SHOW FULL TABLES FROM `shop` LIKE '%'")
        .expect("jdbc");
    assert_eq!(t.0, ["Tables_in_shop (%)", "Table_type"]);
    assert_eq!(
        t.1,
        vec![
            vec![Some("Tab2".to_string()), Some("BASE TABLE".to_string())],
            vec![Some("orders".to_string()), Some("BASE TABLE".to_string())],
            vec![Some("t".to_string()), Some("BASE TABLE".to_string())],
            vec![Some("v".to_string()), Some("VIEW".to_string())],
        ]
    );
    let t = c.table("SHOW TABLES FROM shop LIKE 'o%'").expect("like");
    assert_eq!(
        t,
        (vec!["Tables_in_shop (o%)".to_string()], strs(&["orders"]))
    );
    let t = c
        .table("SHOW TABLES FROM shop LIKE 'T%'")
        .expect("case-sensitive");
    assert_eq!(names(&t), ["Tab2"]);
    let t = c
        .table("SHOW FULL TABLES IN shop WHERE Table_type = 'VIEW' OR Tables_in_shop = 'ORDERS'")
        .expect("where");
    assert_eq!(t.0, ["Tables_in_shop", "Table_type"]);
    assert_eq!(names(&t), ["orders", "v"]);
    // The current schema, with a filter.
    let t = c.table("SHOW TABLES LIKE 's%'").expect("current");
    assert_eq!(
        t,
        (vec!["Tables_in_other (s%)".to_string()], strs(&["secret"]))
    );
    let t = c
        .table("SHOW TABLES WHERE Tables_in_other <> 'x'")
        .expect("current where");
    assert_eq!(names(&t), ["secret"]);
    // A schema without data_node: its configured tables.
    let t = c.table("SHOW FULL TABLES FROM bare").expect("bare");
    assert_eq!(
        t.1,
        vec![vec![Some("g".to_string()), Some("BASE TABLE".to_string())]]
    );
    let t = c
        .table("SHOW TABLES FROM bare WHERE Tables_in_bare = 'x'")
        .expect("bare where");
    assert_eq!(t.1.len(), 0);
    // information_schema is the server's, as before.
    let t = c
        .table("SHOW TABLES FROM information_schema LIKE 'SCHEMATA'")
        .expect("information_schema");
    assert_eq!(names(&t), ["SCHEMATA"]);
    // Before any USE.
    let mut none = Raw::connect(r.addr, "app", "s3cret", None, 0);
    let t = none
        .table("SHOW TABLES IN other")
        .expect("no schema selected");
    assert_eq!(names(&t), ["secret"]);
    match none.table("SHOW TABLES") {
        Err(Res::Err(1046, _)) => {}
        other => panic!("no schema: {other:?}"),
    }
    match c.table("SHOW TABLES FROM shopdb") {
        Err(Res::Err(1049, m)) => assert_eq!(m, "Unknown database 'shopdb'"),
        other => panic!("backend name: {other:?}"),
    }
    let mut solo = Raw::connect(r.addr, "solo", "solo-pw", Some("shop"), 0);
    match solo.table("SHOW FULL TABLES FROM other LIKE '%'") {
        Err(Res::Err(1044, m)) => {
            assert_eq!(m, "Access denied for user 'solo'@'%' to database 'other'")
        }
        other => panic!("forbidden: {other:?}"),
    }
    match c.table("SHOW TABLES FROM shop WHERE nosuch = 1") {
        Err(Res::Err(1054, _)) => {}
        other => panic!("unknown column: {other:?}"),
    }
    // The session is fine after the errors.
    assert_eq!(c.value("SELECT 1").as_deref(), Some("1"));
}

/// SHOW COLUMNS / INDEX / CREATE TABLE / TABLE STATUS / CREATE DATABASE and DESCRIBE
/// naming a schema (`FROM shop`, `shop.t`) run on the node holding the table with the
/// node's database in place of the schema; answers carry no backend database name.
#[test]
fn statements_naming_a_schema_run_on_its_data_node() {
    let db = MariaDb::start();
    let r = meta_router(&db);
    let mut c = Raw::connect(r.addr, "app", "s3cret", Some("other"), 0);
    for sql in [
        "SHOW COLUMNS FROM t FROM shop",
        "SHOW FULL COLUMNS FROM `t` FROM `shop` LIKE '%'",
        "SHOW COLUMNS FROM shop.t",
        "SHOW FIELDS IN t IN shop",
        "DESCRIBE shop.t",
        "DESC `shop`.`t`",
        "EXPLAIN shop.t",
    ] {
        let t = c.table(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        assert_eq!(names(&t), ["id", "name"], "{sql}");
        no_backend_names(sql, &t);
    }
    let t = c.table("DESCRIBE shop.t name").expect("one column");
    assert_eq!(names(&t), ["name"]);
    for sql in [
        "SHOW INDEX FROM t IN shop",
        "SHOW KEYS FROM shop.t",
        "SHOW INDEXES FROM t FROM shop WHERE Key_name = 'k'",
    ] {
        let t = c.table(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        assert!(!t.1.is_empty(), "{sql}");
        assert!(
            t.1.iter().all(|r| r[0].as_deref() == Some("t")),
            "{sql}: {t:?}"
        );
        no_backend_names(sql, &t);
    }
    // The sharded table: from its first node.
    for sql in [
        "SHOW COLUMNS FROM orders FROM shop",
        "DESCRIBE shop.orders",
        "SHOW FULL COLUMNS FROM shop.orders",
    ] {
        let t = c.table(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        assert_eq!(names(&t), ["id", "total"], "{sql}");
    }
    let t = c.table("SHOW CREATE TABLE shop.orders").expect("create");
    assert_eq!(t.1[0][0].as_deref(), Some("orders"));
    assert!(
        t.1[0][1].as_deref().unwrap_or_default().contains("`total`"),
        "{t:?}"
    );
    let t = c.table("SHOW CREATE TABLE shop.t").expect("create t");
    assert!(
        t.1[0][1].as_deref().unwrap_or_default().contains("KEY `k`"),
        "{t:?}"
    );
    // A view of the schema prints its tables unqualified, as the server does for the
    // current database.
    let t = c.table("SHOW CREATE VIEW shop.v").expect("create view");
    no_backend_names("SHOW CREATE VIEW", &t);
    let t = c
        .table("SHOW TABLE STATUS FROM shop LIKE 't'")
        .expect("status");
    assert_eq!(t.0[0], "Name");
    assert_eq!(names(&t), ["t"]);
    let t = c
        .table("SHOW TABLE STATUS IN shop WHERE Comment = 'VIEW'")
        .expect("status where");
    assert_eq!(names(&t), ["v"]);
    // SHOW CREATE DATABASE: the schema's name.
    for (sql, want) in [
        ("SHOW CREATE DATABASE shop", "CREATE DATABASE `shop` /*"),
        (
            "SHOW CREATE SCHEMA IF NOT EXISTS `shop`",
            "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop` /*",
        ),
        ("SHOW CREATE DATABASE bare", "CREATE DATABASE `bare` /*"),
    ] {
        let t = c.table(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        assert_eq!(t.0, ["Database", "Create Database"], "{sql}");
        let name = sql.rsplit(' ').next().unwrap_or_default().trim_matches('`');
        assert_eq!(t.1[0][0].as_deref(), Some(name), "{sql}");
        let create = t.1[0][1].clone().unwrap_or_default();
        assert!(create.starts_with(want), "{sql}: {create}");
        no_backend_names(sql, &t);
    }
    // Errors as the server gives them.
    expect_errors(
        &mut c,
        &[
            (
                "SHOW COLUMNS FROM t FROM nosuch",
                1146,
                "Table 'nosuch.t' doesn't exist",
            ),
            ("DESCRIBE nosuch.t", 1146, "Table 'nosuch.t' doesn't exist"),
            (
                "SHOW TABLE STATUS FROM nosuch",
                1049,
                "Unknown database 'nosuch'",
            ),
            (
                "SHOW CREATE DATABASE nosuch",
                1049,
                "Unknown database 'nosuch'",
            ),
            (
                "SHOW CREATE DATABASE shopdb",
                1049,
                "Unknown database 'shopdb'",
            ),
            (
                "SHOW COLUMNS FROM nosuch FROM bare",
                1146,
                "Table 'bare.nosuch' doesn't exist",
            ),
        ],
    );
    match c.table("SHOW TRIGGERS FROM bare") {
        Err(Res::Err(1105, m)) => assert!(m.contains("no data_node"), "{m}"),
        other => panic!("triggers of bare: {other:?}"),
    }
    let mut solo = Raw::connect(r.addr, "solo", "solo-pw", Some("shop"), 0);
    expect_errors(
        &mut solo,
        &[
            (
                "SHOW COLUMNS FROM secret FROM other",
                1142,
                "SELECT command denied to user 'solo'@'%' for table `other`.`secret`",
            ),
            (
                "SHOW CREATE TABLE other.secret",
                1142,
                "SHOW command denied to user 'solo'@'%' for table `other`.`secret`",
            ),
            (
                "SHOW TABLE STATUS FROM other",
                1044,
                "Access denied for user 'solo'@'%' to database 'other'",
            ),
            (
                "SHOW CREATE DATABASE other",
                1044,
                "Access denied for user 'solo'@'%' to database 'other'",
            ),
        ],
    );
    // Unqualified forms still work in the current schema.
    let mut s = Raw::connect(r.addr, "app", "s3cret", Some("shop"), 0);
    assert_eq!(
        names(&s.table("SHOW COLUMNS FROM t").expect("bare")),
        ["id", "name"]
    );
    assert_eq!(
        names(&s.table("DESCRIBE orders").expect("sharded")),
        ["id", "total"]
    );
}

/// In a multi-statement text these statements are refused as the other statements the
/// router answers, and nothing of the text runs; prepared, they answer as in text.
#[test]
fn metadata_statements_in_multi_statement_text_and_prepared() {
    let db = MariaDb::start();
    let r = meta_router(&db);
    let mut c = Raw::connect(r.addr, "app", "s3cret", Some("shop"), 0);
    for sql in [
        "SHOW TABLES LIKE 't'; SELECT 1",
        "SELECT 1; SHOW FULL TABLES FROM shop LIKE '%'",
        "SHOW DATABASES LIKE 's%'; SELECT 1",
        "SELECT 1; SHOW COLUMNS FROM t FROM shop",
        "DESCRIBE shop.t; SELECT 1",
        "SELECT 1; SHOW CREATE DATABASE shop",
    ] {
        match c.query(sql).as_slice() {
            [Res::Err(1105, m)] => assert!(m.contains("multi-statement"), "{sql}: {m}"),
            other => panic!("{sql}: {other:?}"),
        }
    }
    // Statements without a schema name still run as a whole on the server.
    assert_eq!(
        c.query("SELECT 1; SHOW COLUMNS FROM t").len(),
        2,
        "unqualified SHOW in multi-statement text"
    );

    let mut p = common::wire::Conn::connect(r.addr, "app", "s3cret", Some("other"))
        .unwrap_or_else(|e| panic!("login: {e}"));
    let st = p
        .prepare("SHOW FULL TABLES FROM shop LIKE '%'")
        .expect("prepare tables");
    assert_eq!((st.columns, st.params), (2, 0));
    let rows = p.execute(st, 0, &[], &[]).expect("execute tables");
    let got: Vec<_> = rows
        .iter()
        .map(|r| r[0].clone().unwrap_or_default())
        .collect();
    assert_eq!(got, ["Tab2", "orders", "t", "v"]);
    let st = p
        .prepare("SHOW DATABASES WHERE `Database` <> 'other'")
        .expect("prepare databases");
    assert_eq!(
        p.execute(st, 0, &[], &[]).expect("dbs"),
        strs(&["shop", "bare"])
    );
    let st = p.prepare("SHOW DATABASES LIKE 'b%'").expect("prepare like");
    assert_eq!(
        p.execute(st, 0, &[], &[]).expect("dbs like"),
        strs(&["bare"])
    );
    let st = p
        .prepare("SHOW CREATE DATABASE shop")
        .expect("prepare create db");
    assert_eq!(st.columns, 2);
    let rows = p.execute(st, 0, &[], &[]).expect("create db");
    assert_eq!(rows[0][0].as_deref(), Some("shop"));
    assert!(
        rows[0][1]
            .as_deref()
            .unwrap_or_default()
            .starts_with("CREATE DATABASE `shop`"),
        "{rows:?}"
    );
    for sql in ["SHOW COLUMNS FROM t FROM shop", "DESCRIBE shop.t"] {
        let st = p
            .prepare(sql)
            .unwrap_or_else(|e| panic!("prepare {sql}: {e}"));
        let rows = p
            .execute(st, 0, &[], &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let got: Vec<_> = rows
            .iter()
            .map(|r| r[0].clone().unwrap_or_default())
            .collect();
        assert_eq!(got, ["id", "name"], "{sql}");
        // Again, after a USE of another schema (same node's statement).
        p.query("USE bare").expect("use");
        let rows = p
            .execute(st, 0, &[], &[])
            .unwrap_or_else(|e| panic!("{sql} again: {e}"));
        assert_eq!(rows.len(), 2, "{sql}");
        p.query("USE other").expect("use");
    }
    let st = p
        .prepare("SHOW COLUMNS FROM orders FROM shop")
        .expect("prepare sharded");
    let rows = p.execute(st, 0, &[], &[]).expect("sharded columns");
    assert_eq!(rows.len(), 2);
    for (sql, code) in [
        ("SHOW TABLES FROM nosuch", 1049),
        ("SHOW COLUMNS FROM t FROM nosuch", 1146),
        ("SHOW CREATE DATABASE nosuch", 1049),
        ("SHOW TABLES WHERE Tables_in_other = ?", 1105),
    ] {
        let e = p.prepare(sql).expect_err(sql);
        assert_eq!(e.code, code, "{sql}: {e}");
    }
    p.ping().expect("ping");
}

/// The rows of `sql` sent to the MariaDB server directly, as root.
fn direct_table(db: &MariaDb, sql: &str) -> Table {
    let mut d = Raw::connect(db.addr, "root", "", None, 0);
    d.table(sql)
        .unwrap_or_else(|e| panic!("{sql} on the server: {e:?}"))
}

/// `SHOW TABLE STATUS [{FROM|IN} schema] [LIKE|WHERE]` lists the tables SHOW TABLES
/// lists (also the sharded and global ones the schema's data_node lacks), each row
/// exactly as the server has it on a node holding the table (a sharded table's first
/// node), under the logical name; LIKE is case-sensitive as on MariaDB, WHERE is the
/// server's; prepared, it answers the same in the binary protocol.
#[test]
fn show_table_status_lists_every_table_of_the_schema() {
    let db = MariaDb::start();
    let r = meta_router(&db);
    // Tell the nodes' copies apart.
    db.sql(
        "ALTER TABLE shop_2.orders COMMENT 'orders on dn2'; \
         ALTER TABLE shop_3.orders COMMENT 'orders on dn3'; \
         ALTER TABLE shop_2.g COMMENT 'g on dn2'; ALTER TABLE shop_3.g COMMENT 'g on dn3'",
    );
    let mut c = Raw::connect(r.addr, "app", "s3cret", Some("other"), 0);
    let status = |c: &mut Raw, sql: &str| -> Table {
        let t = c.table(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        no_backend_names(sql, &t);
        t
    };
    let tables = names(&c.table("SHOW TABLES FROM shop").expect("tables"));
    let server = direct_table(&db, "SHOW TABLE STATUS FROM shopdb LIKE 't'");
    let comment = server
        .0
        .iter()
        .position(|n| n == "Comment")
        .expect("Comment");
    for sql in [
        "SHOW TABLE STATUS FROM shop",
        "show table status in `shop`",
        "SHOW TABLE STATUS FROM shop;",
    ] {
        let t = status(&mut c, sql);
        assert_eq!(t.0, server.0, "{sql}: the server's columns");
        assert_eq!(names(&t), tables, "{sql}: the names SHOW TABLES lists");
    }
    assert_eq!(tables, ["Tab2", "orders", "t", "v"]);
    // Each row is the server's row of one node holding the table.
    let t = status(&mut c, "SHOW TABLE STATUS FROM shop");
    let on = |sql: &str| direct_table(&db, sql).1;
    assert_eq!(t.1[2..3], on("SHOW TABLE STATUS FROM shopdb LIKE 't'")[..]);
    assert_eq!(t.1[3..4], on("SHOW TABLE STATUS FROM shopdb LIKE 'v'")[..]);
    assert_eq!(
        t.1[1..2],
        on("SHOW TABLE STATUS FROM shop_2 LIKE 'orders'")[..]
    );
    assert_eq!(t.1[1][comment].as_deref(), Some("orders on dn2"));
    // LIKE on the logical names, case-sensitive as on the server.
    for (sql, want) in [
        ("SHOW TABLE STATUS FROM shop LIKE 'o%'", &["orders"][..]),
        ("SHOW TABLE STATUS FROM shop LIKE 'ORDERS'", &[]),
        ("SHOW TABLE STATUS IN shop LIKE 'T%'", &["Tab2"]),
        ("SHOW TABLE STATUS FROM shop LIKE 't%'", &["t"]),
        ("SHOW TABLE STATUS FROM shop LIKE '_'", &["t", "v"]),
        ("SHOW TABLE STATUS FROM shop LIKE 'nosuch'", &[]),
    ] {
        let t = status(&mut c, sql);
        assert_eq!(t.0, server.0, "{sql}");
        assert_eq!(names(&t), want, "{sql}");
    }
    // WHERE: the server's types and collations (`Name = 'T'` finds `t`).
    for (sql, want) in [
        (
            "SHOW TABLE STATUS FROM shop WHERE Comment LIKE 'orders%' OR Name = 'T'",
            &["orders", "t"][..],
        ),
        (
            "SHOW TABLE STATUS FROM shop WHERE `Rows` >= 0 AND Engine = 'InnoDB'",
            &["Tab2", "orders", "t"],
        ),
        ("SHOW TABLE STATUS IN shop WHERE Comment = 'VIEW'", &["v"]),
        (
            "SHOW TABLE STATUS FROM shop WHERE Comment = 'orders on dn3'",
            &[],
        ),
        ("SHOW TABLE STATUS FROM shop WHERE 0", &[]),
    ] {
        assert_eq!(names(&status(&mut c, sql)), want, "{sql}");
    }
    // The current schema; a schema without data_node (its global table from its first
    // node); another schema.
    let mut s = Raw::connect(r.addr, "app", "s3cret", Some("shop"), 0);
    assert_eq!(names(&status(&mut s, "SHOW TABLE STATUS")), tables);
    assert_eq!(
        names(&status(&mut s, "SHOW TABLE STATUS LIKE '%r%'")),
        ["orders"]
    );
    let t = status(&mut c, "SHOW TABLE STATUS FROM bare");
    assert_eq!(names(&t), ["g"]);
    assert_eq!(t.1[0][comment].as_deref(), Some("g on dn2"));
    assert_eq!(
        names(&status(
            &mut c,
            "SHOW TABLE STATUS FROM bare WHERE Name = 'x'"
        )),
        Vec::<String>::new()
    );
    assert_eq!(names(&status(&mut c, "SHOW TABLE STATUS")), ["secret"]);
    // The servers' own databases pass through.
    let t = c
        .table("SHOW TABLE STATUS FROM information_schema LIKE 'SCHEMATA'")
        .expect("information_schema");
    assert_eq!(names(&t), ["SCHEMATA"]);
    expect_errors(
        &mut c,
        &[
            (
                "SHOW TABLE STATUS FROM nosuch",
                1049,
                "Unknown database 'nosuch'",
            ),
            (
                "SHOW TABLE STATUS FROM shopdb",
                1049,
                "Unknown database 'shopdb'",
            ),
            (
                "SHOW TABLE STATUS FROM shop WHERE nosuch = 1",
                1054,
                "Unknown column 'nosuch' in 'WHERE'",
            ),
        ],
    );
    match c.table("SHOW TABLE STATUS FROM shop WHERE Name IN (SELECT v FROM otherdb.secret)") {
        Err(Res::Err(1105, m)) => assert!(m.contains("subquery"), "{m}"),
        other => panic!("subquery: {other:?}"),
    }
    match c.query("SELECT 1; SHOW TABLE STATUS").as_slice() {
        [Res::Err(1105, m)] => assert!(m.contains("multi-statement"), "{m}"),
        other => panic!("multi-statement: {other:?}"),
    }
    let mut solo = Raw::connect(r.addr, "solo", "solo-pw", Some("shop"), 0);
    expect_errors(
        &mut solo,
        &[(
            "SHOW TABLE STATUS IN other LIKE '%'",
            1044,
            "Access denied for user 'solo'@'%' to database 'other'",
        )],
    );
    let mut none = Raw::connect(r.addr, "app", "s3cret", None, 0);
    expect_errors(
        &mut none,
        &[("SHOW TABLE STATUS", 1046, "No database selected")],
    );
    assert_eq!(
        names(&status(&mut none, "SHOW TABLE STATUS IN other")),
        ["secret"]
    );

    // Prepared: the same rows in the binary protocol as MariaDB sends them for the
    // node's table (the test client decodes up to the first DATETIME, Create_time, and
    // sums up the bytes after it).
    let mut p = common::wire::Conn::connect(r.addr, "app", "s3cret", Some("other"))
        .unwrap_or_else(|e| panic!("login: {e}"));
    let mut d = common::wire::Conn::connect(db.addr, "root", "", None)
        .unwrap_or_else(|e| panic!("server login: {e}"));
    for (sql, direct) in [
        (
            "SHOW TABLE STATUS FROM shop LIKE 'orders'",
            "SHOW TABLE STATUS FROM shop_2 LIKE 'orders'",
        ),
        (
            "SHOW TABLE STATUS FROM shop WHERE Name = 't'",
            "SHOW TABLE STATUS FROM shopdb WHERE Name = 't'",
        ),
    ] {
        let st = p
            .prepare(sql)
            .unwrap_or_else(|e| panic!("prepare {sql}: {e}"));
        let ds = d
            .prepare(direct)
            .unwrap_or_else(|e| panic!("prepare {direct}: {e}"));
        assert_eq!((st.columns, st.params), (ds.columns, 0), "{sql}");
        let rows = p
            .execute(st, 0, &[], &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let want = d
            .execute(ds, 0, &[], &[])
            .unwrap_or_else(|e| panic!("{direct}: {e}"));
        assert_eq!(rows.len(), 1, "{sql}");
        assert_eq!(rows, want, "{sql}");
        // Again after a USE: the schema it was prepared in.
        p.query("USE shop").expect("use");
        assert_eq!(p.execute(st, 0, &[], &[]).expect("again"), want, "{sql}");
        p.query("USE other").expect("use");
    }
    let st = p.prepare("SHOW TABLE STATUS").expect("prepare in other");
    let rows = p.execute(st, 0, &[], &[]).expect("other");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0].as_deref(), Some("secret"));
    for (sql, code) in [
        ("SHOW TABLE STATUS FROM nosuch", 1049),
        ("SHOW TABLE STATUS FROM shop WHERE Name = ?", 1105),
        ("SHOW TABLE STATUS FROM shop WHERE nosuch = 1", 1054),
    ] {
        let e = p.prepare(sql).expect_err(sql);
        assert_eq!(e.code, code, "{sql}: {e}");
    }
    p.ping().expect("ping");
}

/// With MariaDB's default `lower_case_table_names=0` on Linux, `SHOW DATABASES LIKE`
/// and `SHOW TABLES LIKE` match names case-sensitively (`LIKE 'SHOP%'` finds no
/// `shop`), while `WHERE ... LIKE` compares in the column's case-insensitive collation:
/// the router answers as the server does.
#[test]
fn show_like_is_case_sensitive_as_on_mariadb() {
    let db = MariaDb::start();
    let r = meta_router(&db);
    let mut d = Raw::connect(db.addr, "root", "", None, 0);
    assert_eq!(
        d.value("SELECT @@lower_case_table_names").as_deref(),
        Some("0")
    );
    let mut c = Raw::connect(r.addr, "app", "s3cret", Some("other"), 0);
    // The server: databases shopdb, shop_2, shop_3, otherdb; otherdb's table `secret`.
    for (server, router, want) in [
        (
            "SHOW DATABASES LIKE 'SHOPDB%'",
            "SHOW DATABASES LIKE 'SHOP%'",
            &[][..],
        ),
        (
            "SHOW DATABASES LIKE 'shopdb%'",
            "SHOW DATABASES LIKE 'shop%'",
            &["shop"],
        ),
        (
            "SHOW SCHEMAS LIKE 'OTHERDB'",
            "SHOW SCHEMAS LIKE 'OTHER'",
            &[],
        ),
        (
            "SHOW TABLES FROM otherdb LIKE 'SECRET'",
            "SHOW TABLES LIKE 'SECRET'",
            &[],
        ),
        (
            "SHOW TABLES FROM otherdb LIKE 'Sec%'",
            "SHOW TABLES LIKE 'Sec%'",
            &[],
        ),
        (
            "SHOW TABLES FROM otherdb LIKE 'sec%'",
            "SHOW TABLES LIKE 'sec%'",
            &["secret"],
        ),
        (
            "SHOW FULL TABLES FROM otherdb LIKE '%ECRET'",
            "SHOW FULL TABLES FROM other LIKE '%ECRET'",
            &[],
        ),
        (
            "SHOW TABLE STATUS FROM otherdb LIKE 'SECRET'",
            "SHOW TABLE STATUS LIKE 'SECRET'",
            &[],
        ),
        (
            "SHOW DATABASES WHERE `Database` LIKE 'SHOPDB%'",
            "SHOW DATABASES WHERE `Database` LIKE 'SHOP%'",
            &["shop"],
        ),
        (
            "SHOW TABLES FROM otherdb WHERE Tables_in_otherdb LIKE 'SECRET'",
            "SHOW TABLES WHERE Tables_in_other LIKE 'SECRET'",
            &["secret"],
        ),
    ] {
        let on_server = d
            .table(server)
            .unwrap_or_else(|e| panic!("{server}: {e:?}"));
        let got = c
            .table(router)
            .unwrap_or_else(|e| panic!("{router}: {e:?}"));
        assert_eq!(
            on_server.1.is_empty(),
            want.is_empty(),
            "{server}: {on_server:?}"
        );
        assert_eq!(names(&got), want, "{router}");
    }
}

/// SHOW EVENTS and SHOW PROCEDURE|FUNCTION STATUS list the objects of the user's
/// schemas (from the database of each schema's data_node) with the schema's name as
/// Db, never the servers' other databases or their names; LIKE ignores case as on the
/// server. SHOW OPEN TABLES (a server's table cache) is refused but for the servers'
/// own databases.
#[test]
fn events_and_routines_are_listed_under_the_schemas_name() {
    let db = MariaDb::start();
    let r = meta_router(&db);
    db.sql(
        "CREATE EVENT shopdb.ev1 ON SCHEDULE EVERY 1 DAY DISABLE DO SELECT 1; \
         CREATE EVENT otherdb.Hidden_ev ON SCHEDULE EVERY 1 DAY DISABLE DO SELECT 1; \
         CREATE PROCEDURE shopdb.p_shop() SELECT 1; \
         CREATE FUNCTION shopdb.F_shop() RETURNS INT RETURN 1; \
         CREATE PROCEDURE otherdb.p_other() SELECT 1; \
         CREATE PROCEDURE shop_2.p_node2() SELECT 1; \
         CREATE DATABASE stray; CREATE PROCEDURE stray.p_stray() SELECT 1; \
         CREATE EVENT stray.e_stray ON SCHEDULE EVERY 1 DAY DISABLE DO SELECT 1",
    );
    let mut c = Raw::connect(r.addr, "app", "s3cret", Some("shop"), 0);
    let two = |t: &Table| -> Vec<(String, String)> {
        t.1.iter()
            .map(|r| {
                (
                    r[0].clone().unwrap_or_default(),
                    r[1].clone().unwrap_or_default(),
                )
            })
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    let events_cols = direct_table(&db, "SHOW EVENTS FROM shopdb").0;
    let routine_cols = direct_table(&db, "SHOW PROCEDURE STATUS WHERE Db = 'shopdb'").0;
    let ask = |c: &mut Raw, sql: &str| -> Table {
        let t = c.table(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        no_backend_names(sql, &t);
        let all = format!("{t:?}");
        assert!(
            !all.contains("stray") && !all.contains("sys"),
            "{sql}: {all}"
        );
        t
    };
    for (sql, want) in [
        ("SHOW EVENTS", &[("shop", "ev1")][..]),
        ("SHOW EVENTS FROM other", &[("other", "Hidden_ev")]),
        ("SHOW EVENTS IN `shop` LIKE 'EV%'", &[("shop", "ev1")]),
        (
            "SHOW EVENTS FROM other LIKE 'hidden%'",
            &[("other", "Hidden_ev")],
        ),
        ("SHOW EVENTS LIKE 'x%'", &[]),
        ("SHOW EVENTS FROM bare", &[]),
        (
            "SHOW EVENTS WHERE Db = 'shop' AND Status = 'DISABLED'",
            &[("shop", "ev1")],
        ),
        ("SHOW EVENTS WHERE Db = 'shopdb'", &[]),
    ] {
        let t = ask(&mut c, sql);
        assert_eq!(t.0, events_cols, "{sql}");
        assert_eq!(two(&t), pairs(want), "{sql}");
    }
    for (sql, want) in [
        (
            "SHOW PROCEDURE STATUS",
            &[("other", "p_other"), ("shop", "p_shop")][..],
        ),
        ("SHOW PROCEDURE STATUS LIKE 'P\\_S%'", &[("shop", "p_shop")]),
        (
            "SHOW PROCEDURE STATUS WHERE Db = 'other'",
            &[("other", "p_other")],
        ),
        ("SHOW FUNCTION STATUS", &[("shop", "F_shop")]),
        ("SHOW FUNCTION STATUS LIKE 'f%'", &[("shop", "F_shop")]),
        ("SHOW FUNCTION STATUS WHERE Name = 'nosuch'", &[]),
    ] {
        let t = ask(&mut c, sql);
        assert_eq!(t.0, routine_cols, "{sql}");
        assert_eq!(two(&t), pairs(want), "{sql}");
    }
    // A user with one schema sees its routines only.
    let mut solo = Raw::connect(r.addr, "solo", "solo-pw", Some("shop"), 0);
    assert_eq!(
        two(&ask(&mut solo, "SHOW PROCEDURE STATUS")),
        pairs(&[("shop", "p_shop")])
    );
    expect_errors(
        &mut solo,
        &[(
            "SHOW EVENTS FROM other",
            1044,
            "Access denied for user 'solo'@'%' to database 'other'",
        )],
    );
    let open = "SHOW OPEN TABLES lists a server's table cache, which the router's schemas do not map to: run it on the data nodes' servers directly";
    expect_errors(
        &mut c,
        &[
            ("SHOW EVENTS FROM nosuch", 1049, "Unknown database 'nosuch'"),
            (
                "SHOW EVENTS FROM otherdb",
                1049,
                "Unknown database 'otherdb'",
            ),
            ("SHOW OPEN TABLES", 1105, open),
            ("SHOW OPEN TABLES FROM shop LIKE 't'", 1105, open),
            ("SHOW OPEN TABLES WHERE `Database` = 'shop'", 1105, open),
            (
                "SHOW EVENTS WHERE nosuch = 1",
                1054,
                "Unknown column 'nosuch' in 'WHERE'",
            ),
        ],
    );
    // The servers' own databases are not the router users' (router::guard).
    expect_errors(
        &mut c,
        &[(
            "SHOW OPEN TABLES FROM mysql",
            1044,
            "Access denied for user 'app'@'%' to database 'mysql'",
        )],
    );
    let mut none = Raw::connect(r.addr, "app", "s3cret", None, 0);
    expect_errors(&mut none, &[("SHOW EVENTS", 1046, "No database selected")]);
    assert_eq!(
        two(&ask(&mut none, "SHOW PROCEDURE STATUS")),
        pairs(&[("other", "p_other"), ("shop", "p_shop")])
    );
    for sql in ["SHOW EVENTS; SELECT 1", "SELECT 1; SHOW FUNCTION STATUS"] {
        match c.query(sql).as_slice() {
            [Res::Err(1105, m)] => assert!(m.contains("multi-statement"), "{sql}: {m}"),
            other => panic!("{sql}: {other:?}"),
        }
    }
    // Prepared: the same answers (the test client decodes up to the first DATETIME).
    let mut p = common::wire::Conn::connect(r.addr, "app", "s3cret", Some("shop"))
        .unwrap_or_else(|e| panic!("login: {e}"));
    let st = p
        .prepare("SHOW PROCEDURE STATUS LIKE 'p%'")
        .expect("prepare routines");
    assert_eq!((st.columns, st.params), (11, 0));
    let rows = p.execute(st, 0, &[], &[]).expect("routines");
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r[0].clone().unwrap_or_default(),
                r[1].clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(got, pairs(&[("other", "p_other"), ("shop", "p_shop")]));
    let st = p.prepare("SHOW EVENTS FROM other").expect("prepare events");
    assert_eq!(st.columns, 15);
    let rows = p.execute(st, 0, &[], &[]).expect("events");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0][0].as_deref(), rows[0][1].as_deref()),
        (Some("other"), Some("Hidden_ev"))
    );
    for (sql, code) in [
        ("SHOW OPEN TABLES", 1105),
        ("SHOW EVENTS FROM nosuch", 1049),
        ("SHOW FUNCTION STATUS LIKE ?", 1105),
    ] {
        let e = p.prepare(sql).expect_err(sql);
        assert_eq!(e.code, code, "{sql}: {e}");
    }
    p.ping().expect("ping");
}

/// Each statement gets exactly this error (code and message).
fn expect_errors(c: &mut Raw, cases: &[(&str, u16, &str)]) {
    for &(sql, code, msg) in cases {
        match c.table(sql) {
            Err(Res::Err(n, m)) => assert_eq!((n, m.as_str()), (code, msg), "{sql}"),
            other => panic!("{sql}: {other:?}"),
        }
    }
}

/// Every command that gets an answer is timed in
/// `tandem_router_command_duration_seconds{command}`: queries, prepares, executes and the
/// rest (here a ping); COM_STMT_CLOSE, which gets none, is not.
#[test]
fn commands_are_timed_by_kind() {
    let db = server();
    let body = format!(
        "  users:\n    - {{ name: app, password: s3cret, schemas: [shop] }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      write_hosts:\n        - {{ host: m1, url: \"{}\", user: root, password: \"\" }}\n",
        db.addr
    );
    let r = RouterDaemon::start(&body, true);
    let mut c = Raw::connect(r.addr, "app", "s3cret", Some("shop"), 0);
    for i in 1..=3 {
        assert_eq!(c.value(&format!("SELECT {i}")), Some(i.to_string()));
    }
    let mut prep = vec![0x16];
    prep.extend_from_slice(b"SELECT CAST(41 + 1 AS CHAR)");
    c.send(&prep);
    let ok = c.read();
    assert_eq!(ok[0], 0, "prepare {:?}", err_of(&ok));
    let stmt = u32::from_le_bytes([ok[1], ok[2], ok[3], ok[4]]);
    c.read(); // the column definition
    c.read(); // EOF
    for _ in 0..2 {
        assert_eq!(execute_one_string(&mut c, stmt), Some("42".into()));
    }
    assert_eq!(c.simple(&[0x0e]), Res::Ok, "ping");
    let mut close = vec![0x19];
    close.extend_from_slice(&stmt.to_le_bytes());
    c.send(&close);
    // A ping after the close: its answer shows the close was handled.
    assert_eq!(c.simple(&[0x0e]), Res::Ok, "ping");
    let (_, m) = common::http_get(r.observe, "/metrics").expect("metrics");
    for (command, n) in [
        ("query", 3),
        ("prepare", 1),
        ("execute", 2),
        ("fetch", 0),
        ("other", 2),
    ] {
        let count =
            format!("tandem_router_command_duration_seconds_count{{command=\"{command}\"}} {n}\n");
        let inf = format!(
            "tandem_router_command_duration_seconds_bucket{{command=\"{command}\",le=\"+Inf\"}} {n}\n"
        );
        assert!(m.contains(&count) && m.contains(&inf), "{count}{m}");
    }
}
