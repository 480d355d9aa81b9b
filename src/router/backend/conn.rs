//! One connection from the router to a MySQL/MariaDB server: login, internal queries,
//! and the session state the router has applied on it.

use foldhash::HashMap;
use foldhash::HashMapExt;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::router::tls::{BackendStream, BackendTlsSetup};

use crate::router::wire::handshake::{self, CACHING_SHA2, NATIVE};
use crate::router::wire::response::{Expect, Tracker};
use crate::router::wire::{
    BACKEND_LOST, BACKEND_LOST_STATE, COM_INIT_DB, COM_QUERY, COM_STMT_CLOSE, COM_STMT_PREPARE,
    Caps, MAX_LOGICAL, PacketIo, Reader, SqlError, WireError, parse_err,
};

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("cannot connect to {addr}: {}", crate::observe::logging::io_text(.err))]
    Connect {
        addr: SocketAddr,
        err: std::io::Error,
    },
    #[error("{addr}: timed out after {after:?} ({during})")]
    Timeout {
        addr: SocketAddr,
        after: Duration,
        during: &'static str,
    },
    #[error("{addr}: {err}")]
    Wire { addr: SocketAddr, err: WireError },
    #[error("{addr}: login refused: {msg}")]
    Auth { addr: SocketAddr, msg: String },
    #[error("{addr}: {err}")]
    Sql { addr: SocketAddr, err: SqlError },
    #[error("{addr}: protocol error: {what}")]
    Protocol { addr: SocketAddr, what: String },
    #[error("{addr}: TLS: {msg}")]
    Tls { addr: SocketAddr, msg: String },
}

impl BackendError {
    /// The error a client sees when its statement could not reach a server.
    pub fn to_sql(&self, host: &str) -> SqlError {
        match self {
            BackendError::Sql { err, .. } => err.clone(),
            other => SqlError::new(
                BACKEND_LOST,
                BACKEND_LOST_STATE,
                format!("backend {host}: {other}"),
            ),
        }
    }
}

/// Capabilities of every backend connection; the client-dependent ones (`PROFILE_MASK`)
/// are added per connection. CLIENT_LOCAL_FILES: the router runs `LOAD DATA LOCAL
/// INFILE` on the data nodes and serves their requests for the file itself (a request it
/// did not ask for is answered with an empty file and the client gets an error).
pub fn base_caps() -> u32 {
    (Caps::CLIENT_LONG_PASSWORD
        | Caps::CLIENT_LOCAL_FILES
        | Caps::CLIENT_LONG_FLAG
        | Caps::CLIENT_PROTOCOL_41
        | Caps::CLIENT_TRANSACTIONS
        | Caps::CLIENT_SECURE_CONNECTION
        | Caps::CLIENT_MULTI_RESULTS
        | Caps::CLIENT_PS_MULTI_RESULTS
        | Caps::CLIENT_PLUGIN_AUTH
        | Caps::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | Caps::CLIENT_CONNECT_ATTRS)
        .bits()
}

/// `SERVER_STATUS_AUTOCOMMIT` of an OK packet's status flags.
const SERVER_STATUS_AUTOCOMMIT: u16 = 0x0002;

/// The collation backend connections log in with (utf8mb4_general_ci).
pub const BACKEND_COLLATION: u8 = 45;
pub const BACKEND_NAMES: &str = "utf8mb4";

/// A statement prepared on this connection.
#[derive(Debug, Clone)]
pub struct CachedStmt {
    pub id: u32,
    pub params: u16,
    /// Parameter types last sent for it (to re-send when a client omits them).
    pub types: Option<Vec<u8>>,
    pub last_use: u64,
}

pub struct BackendConn {
    pub io: PacketIo<BackendStream>,
    pub addr: SocketAddr,
    pub thread_id: u32,
    pub version: String,
    pub server_caps: u32,
    /// The client-dependent capability bits this connection was opened with.
    pub profile: u32,
    pub db: Option<String>,
    pub names: String,
    pub autocommit: bool,
    pub vars: Vec<(String, String)>,
    /// User variables a session set here (`@x`, literal), as the session records them.
    pub user_vars: Vec<(String, String)>,
    pub txn: Option<String>,
    pub last_insert_id: u64,
    /// Server-side statements by (default database when prepared, SQL text): a
    /// statement resolves unqualified table names in the database it was prepared in.
    stmts: HashMap<(Option<String>, String), CachedStmt>,
    pub stmt_clock: u64,
    pub idle_since: Instant,
    pub created: Instant,
    /// Shuts the socket down from another task (see [`Abort`]).
    pub abort: Arc<Abort>,
}

/// A handle that shuts a backend connection's socket down while a session is using it:
/// a write-host switch ends statements in flight on the old write host at once (as
/// MyCat's clearCons closes the old source's connections) instead of leaving them to
/// the TCP timeouts when that host is unreachable. The read or write in progress then
/// fails like any lost connection. Disarmed before the connection's socket closes, so
/// it never touches a reused descriptor.
#[derive(Debug)]
pub struct Abort {
    fd: Mutex<Option<RawFd>>,
}

impl Abort {
    fn new(fd: RawFd) -> Abort {
        Abort {
            fd: Mutex::new(Some(fd)),
        }
    }

    /// Shuts both directions of the socket down; false when the connection is gone.
    pub fn abort(&self) -> bool {
        let Ok(fd) = self.fd.lock() else {
            return false;
        };
        match *fd {
            // SAFETY: the descriptor is open: the connection clears it (under this
            // lock) before its socket is closed.
            Some(fd) => unsafe { libc::shutdown(fd, libc::SHUT_RDWR) == 0 },
            None => false,
        }
    }

    fn disarm(&self) {
        if let Ok(mut fd) = self.fd.lock() {
            *fd = None;
        }
    }
}

impl Drop for BackendConn {
    fn drop(&mut self) {
        // Runs before the fields (and so the socket) are dropped.
        self.abort.disarm();
    }
}

impl BackendConn {
    pub fn deprecate_eof(&self) -> bool {
        self.profile & Caps::CLIENT_DEPRECATE_EOF.bits() != 0
    }

    /// Connects and logs in.
    pub async fn connect(
        addr: SocketAddr,
        user: &str,
        password: &str,
        profile: u32,
        timeout: Duration,
        tcp: &super::BackendTcp,
        tls: Option<(&BackendTlsSetup, &str)>,
    ) -> Result<BackendConn, BackendError> {
        match tokio::time::timeout(
            timeout,
            Self::connect_inner(addr, user, password, profile, tcp, tls),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(BackendError::Timeout {
                addr,
                after: timeout,
                during: "login",
            }),
        }
    }

    async fn connect_inner(
        addr: SocketAddr,
        user: &str,
        password: &str,
        profile: u32,
        tcp: &super::BackendTcp,
        tls: Option<(&BackendTlsSetup, &str)>,
    ) -> Result<BackendConn, BackendError> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|err| BackendError::Connect { addr, err })?;
        let _ = stream.set_nodelay(true);
        // Keepalive probes and TCP_USER_TIMEOUT end a connection to a server that went
        // away without a word (a partition, a powered-off box); no read timeout, so long
        // statements still run as long as they need.
        tcp.apply(socket2::SockRef::from(&stream))
            .map_err(|err| BackendError::Connect { addr, err })?;
        let w = |err| BackendError::Wire { addr, err };
        let mut io = PacketIo::with_buffer(BackendStream::Plain(stream), 64 * 1024);
        let (seq, hello) = io.read_packet(1 << 16).await.map_err(w)?;
        if hello.first() == Some(&0xff) {
            let (code, _, msg) = parse_err(&hello).unwrap_or_default();
            return Err(BackendError::Auth {
                addr,
                msg: format!("{code} {msg}"),
            });
        }
        let sh = handshake::parse_server_hello(&hello).ok_or(BackendError::Protocol {
            addr,
            what: "unreadable server greeting".into(),
        })?;
        let profile = profile & sh.caps;
        let mut caps = (base_caps() | profile) & (sh.caps | Caps::CLIENT_CONNECT_ATTRS.bits());
        let mut seq = seq.wrapping_add(1);
        let encrypted = match tls {
            Some((t, target)) if sh.caps & Caps::CLIENT_SSL.bits() != 0 => {
                caps |= Caps::CLIENT_SSL.bits();
                seq = start_tls(&mut io, addr, t, target, caps, seq).await?;
                true
            }
            Some((t, _)) if t.required() => {
                return Err(BackendError::Tls {
                    addr,
                    msg: format!(
                        "the server does not offer TLS (have_ssl is not YES), and data_hosts[].tls is {}",
                        t.mode.as_str()
                    ),
                });
            }
            _ => false,
        };
        let plugin = if sh.plugin == CACHING_SHA2 {
            CACHING_SHA2
        } else {
            NATIVE
        };
        let auth = handshake::client_scramble(plugin, &sh.nonce, password);
        let hello = handshake::client_hello(caps, BACKEND_COLLATION, user, &auth, plugin);
        io.send(seq, &hello).await.map_err(w)?;
        let mut nonce = sh.nonce.clone();
        let mut plugin = plugin.to_string();
        let status = loop {
            let (s, p) = io.read_packet(1 << 16).await.map_err(w)?;
            let seq = s.wrapping_add(1);
            match p.first() {
                // The status flags say whether the session starts in autocommit mode
                // (a server running with `autocommit=0` starts it off).
                Some(0x00) => break crate::router::wire::parse_ok(&p).map(|o| o.status),
                Some(0xff) => {
                    let (code, _, msg) = parse_err(&p).unwrap_or_default();
                    return Err(BackendError::Auth {
                        addr,
                        msg: format!("{code} {msg}"),
                    });
                }
                Some(0xfe) => {
                    // Auth switch.
                    let mut r = Reader::new(&p[1..]);
                    plugin = String::from_utf8_lossy(r.nul_str().unwrap_or_default()).into_owned();
                    let n = r.rest();
                    nonce = n.strip_suffix(&[0]).unwrap_or(n).to_vec();
                    if plugin != NATIVE && plugin != CACHING_SHA2 {
                        return Err(BackendError::Auth {
                            addr,
                            msg: format!(
                                "server wants auth plugin {plugin}, which the router does not speak (use mysql_native_password or caching_sha2_password for the router's backend user)"
                            ),
                        });
                    }
                    let a = handshake::client_scramble(&plugin, &nonce, password);
                    io.send(seq, &a).await.map_err(w)?;
                }
                Some(0x01) if plugin == CACHING_SHA2 => match p.get(1) {
                    Some(3) => {} // fast auth OK; the OK packet follows
                    Some(4) if encrypted => {
                        // Full authentication over TLS: the password itself.
                        let mut pw = password.as_bytes().to_vec();
                        pw.push(0);
                        io.send(seq, &pw).await.map_err(w)?;
                    }
                    Some(4) => {
                        // Full authentication without TLS: ask for the RSA key.
                        io.send(seq, &[2]).await.map_err(w)?;
                        let (s, key) = io.read_packet(1 << 16).await.map_err(w)?;
                        let seq = s.wrapping_add(1);
                        let key = key.get(1..).unwrap_or_default();
                        let mut pw = password.as_bytes().to_vec();
                        pw.push(0);
                        for (i, b) in pw.iter_mut().enumerate() {
                            *b ^= nonce.get(i % nonce.len().max(1)).copied().unwrap_or(0);
                        }
                        let enc = mysql_common::crypto::encrypt(&pw, key).map_err(|e| {
                            BackendError::Auth {
                                addr,
                                msg: format!("RSA key from server unusable: {e:?}"),
                            }
                        })?;
                        io.send(seq, &enc).await.map_err(w)?;
                    }
                    _ => {
                        return Err(BackendError::Protocol {
                            addr,
                            what: "unexpected caching_sha2_password message".into(),
                        });
                    }
                },
                _ => {
                    return Err(BackendError::Protocol {
                        addr,
                        what: "unexpected packet during login".into(),
                    });
                }
            }
        };
        let now = Instant::now();
        let fd = io.stream.tcp().map_or(-1, |t| t.as_raw_fd());
        let abort = Arc::new(Abort::new(fd));
        Ok(BackendConn {
            abort,
            io,
            addr,
            thread_id: sh.conn_id,
            version: sh.version,
            server_caps: sh.caps,
            profile,
            db: None,
            names: BACKEND_NAMES.to_string(),
            // Without readable flags assume it is off, so the session's setting is sent.
            autocommit: status.is_some_and(|st| st & SERVER_STATUS_AUTOCOMMIT != 0),
            vars: Vec::new(),
            user_vars: Vec::new(),
            txn: None,
            last_insert_id: 0,
            stmts: HashMap::new(),
            stmt_clock: 0,
            idle_since: now,
            created: now,
        })
    }

    fn w(&self) -> impl Fn(WireError) -> BackendError + use<> {
        let addr = self.addr;
        move |err| BackendError::Wire { addr, err }
    }

    /// Sends a command and reads its whole response without forwarding it; returns the
    /// outcome and, for result sets, the rows as text.
    pub async fn command(
        &mut self,
        payload: &[u8],
        expect: Expect,
    ) -> Result<(crate::router::wire::response::Outcome, QueryResult), BackendError> {
        let w = self.w();
        self.io.send(0, payload).await.map_err(&w)?;
        let mut t = Tracker::new(expect, self.deprecate_eof());
        let mut res = QueryResult::default();
        let mut cols_left: Option<u64> = None;
        while !t.done() {
            let (_, p) = self.io.read_packet(MAX_LOGICAL).await.map_err(&w)?;
            let before_sets = t.outcome.result_sets;
            t.feed(&p).map_err(|e| BackendError::Protocol {
                addr: self.addr,
                what: e.to_string(),
            })?;
            if expect != Expect::Results {
                continue;
            }
            if t.outcome.result_sets != before_sets {
                cols_left = Reader::new(&p).lenenc_int();
                res.columns.clear();
                res.rows.clear();
                continue;
            }
            match cols_left {
                Some(n) if n > 0 => {
                    res.columns.push(column_name(&p));
                    cols_left = Some(n - 1);
                }
                _ => {
                    if !t.done() && p.first() != Some(&0xfe) && p.first() != Some(&0xff) {
                        let mut r = Reader::new(&p);
                        let mut row = Vec::with_capacity(res.columns.len());
                        for _ in 0..res.columns.len() {
                            row.push(
                                r.lenenc_str()
                                    .flatten()
                                    .map(|b| String::from_utf8_lossy(b).into_owned()),
                            );
                        }
                        res.rows.push(row);
                    }
                }
            }
        }
        if let Some((code, state, msg)) = &t.outcome.error {
            return Err(BackendError::Sql {
                addr: self.addr,
                err: SqlError::from_server(*code, state, msg.clone()),
            });
        }
        // Every final OK/EOF carries the session's autocommit flag (a prepare's answer
        // does not): keep ours in line with the server's. The server runs
        // `init_connect` (which may say `SET autocommit=0`) after it has sent the
        // login OK, so the login's flag can be stale; a new connection's first
        // command (its COM_INIT_DB) tells the truth before any statement runs.
        if t.outcome.prepared.is_none() {
            self.autocommit = t.outcome.status & SERVER_STATUS_AUTOCOMMIT != 0;
        }
        Ok((t.outcome, res))
    }

    /// Runs an internal statement (session sync, heartbeat, admin).
    pub async fn query(&mut self, sql: &str) -> Result<QueryResult, BackendError> {
        let mut p = Vec::with_capacity(sql.len() + 1);
        p.push(COM_QUERY);
        p.extend_from_slice(sql.as_bytes());
        let (o, mut r) = self.command(&p, Expect::Results).await?;
        r.status = o.status;
        Ok(r)
    }

    pub async fn init_db(&mut self, db: &str) -> Result<(), BackendError> {
        let mut p = vec![COM_INIT_DB];
        p.extend_from_slice(db.as_bytes());
        self.command(&p, Expect::Results).await?;
        self.db = Some(db.to_string());
        Ok(())
    }

    fn stmt_key(&self, sql: &str) -> (Option<String>, String) {
        (self.db.clone(), sql.to_string())
    }

    /// The statement prepared for `sql` in the current database, if any.
    pub fn cached_stmt(&mut self, sql: &str) -> Option<&mut CachedStmt> {
        let key = self.stmt_key(sql);
        self.stmts.get_mut(&key)
    }

    /// Prepares `sql` here unless it already is; returns the server's statement id.
    pub async fn ensure_prepared(&mut self, sql: &str) -> Result<u32, BackendError> {
        self.stmt_clock += 1;
        let clock = self.stmt_clock;
        if let Some(s) = self.cached_stmt(sql) {
            s.last_use = clock;
            return Ok(s.id);
        }
        if self.stmts.len() >= MAX_CACHED_STMTS {
            self.evict_stmt().await?;
        }
        let mut p = vec![COM_STMT_PREPARE];
        p.extend_from_slice(sql.as_bytes());
        let (o, _) = self.command(&p, Expect::Prepare).await?;
        let (id, _cols, params) = o.prepared.ok_or(BackendError::Protocol {
            addr: self.addr,
            what: "prepare answered without a statement id".into(),
        })?;
        self.stmts.insert(
            self.stmt_key(sql),
            CachedStmt {
                id,
                params,
                types: None,
                last_use: clock,
            },
        );
        Ok(id)
    }

    /// Records a statement the client's prepare created on this connection. The same
    /// text prepared before in the same database is closed on the server (clients that
    /// prepare, execute and close every time would otherwise pile up statements until
    /// the server's max_prepared_stmt_count refuses all prepares); past the cache size
    /// the least recently used statement is closed.
    pub async fn remember_stmt(
        &mut self,
        sql: &str,
        id: u32,
        params: u16,
    ) -> Result<(), BackendError> {
        self.stmt_clock += 1;
        let key = self.stmt_key(sql);
        if !self.stmts.contains_key(&key) && self.stmts.len() >= MAX_CACHED_STMTS {
            self.evict_stmt().await?;
        }
        let old = self.stmts.insert(
            key,
            CachedStmt {
                id,
                params,
                types: None,
                last_use: self.stmt_clock,
            },
        );
        match old {
            Some(o) if o.id != id => self.close_stmt(o.id).await,
            _ => Ok(()),
        }
    }

    async fn close_stmt(&mut self, id: u32) -> Result<(), BackendError> {
        let mut p = vec![COM_STMT_CLOSE];
        p.extend_from_slice(&id.to_le_bytes());
        let w = self.w();
        self.io.send(0, &p).await.map_err(w)?;
        Ok(())
    }

    async fn evict_stmt(&mut self) -> Result<(), BackendError> {
        let Some((sql, id)) = self
            .stmts
            .iter()
            .min_by_key(|(_, s)| s.last_use)
            .map(|(k, s)| (k.clone(), s.id))
        else {
            return Ok(());
        };
        self.stmts.remove(&sql);
        self.close_stmt(id).await
    }

    /// Is the idle connection still usable? A readable socket means the server closed
    /// it (or sent something unexpected); either way it is not.
    pub fn looks_alive(&mut self) -> bool {
        if !self.io.buffered().is_empty() {
            return false;
        }
        !self.io.stream.peer_spoke()
    }
}

/// Statements cached per backend connection before the least recently used is closed.
pub const MAX_CACHED_STMTS: usize = 256;

fn column_name(p: &[u8]) -> String {
    let mut r = Reader::new(p);
    for _ in 0..4 {
        r.lenenc_str();
    }
    r.lenenc_str()
        .flatten()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// A text result read by the router itself.
#[derive(Debug, Default, Clone)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    pub status: u16,
}

impl QueryResult {
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }
    pub fn get(&self, row: usize, name: &str) -> Option<&str> {
        let i = self.col(name)?;
        self.rows.get(row)?.get(i)?.as_deref()
    }
}

/// Sends the SSLRequest (sequence id `seq`) and starts TLS on a backend connection;
/// returns the sequence id of the handshake response that follows.
async fn start_tls(
    io: &mut PacketIo<BackendStream>,
    addr: SocketAddr,
    t: &BackendTlsSetup,
    target: &str,
    caps: u32,
    seq: u8,
) -> Result<u8, BackendError> {
    let tls_err = |msg: String| BackendError::Tls { addr, msg };
    let connector = t.connector().map_err(tls_err)?;
    let mut req = Vec::with_capacity(32);
    req.extend_from_slice(&caps.to_le_bytes());
    req.extend_from_slice(&(16u32 << 20).to_le_bytes());
    req.push(BACKEND_COLLATION);
    req.extend_from_slice(&[0u8; 23]);
    io.send(seq, &req)
        .await
        .map_err(|err| BackendError::Wire { addr, err })?;
    if !io.buffered().is_empty() {
        return Err(BackendError::Protocol {
            addr,
            what: "data before the TLS handshake".into(),
        });
    }
    let BackendStream::Plain(tcp) = std::mem::replace(&mut io.stream, BackendStream::Taken) else {
        return Err(tls_err("TLS started twice".into()));
    };
    let name = crate::router::tls::server_name(target, addr.ip());
    let tls = connector.connect(name, tcp).await.map_err(|e| {
        tls_err(format!(
            "TLS handshake: {}",
            crate::observe::logging::io_text(&e)
        ))
    })?;
    io.stream = BackendStream::Tls(Box::new(tls));
    Ok(seq.wrapping_add(1))
}
