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
/// answered by the write host instead of failing with 2013.
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
