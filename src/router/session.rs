//! One client session: login, access control, session state, routing of each command
//! to a pooled backend connection, raw forwarding of the response.

use foldhash::HashMap;
use foldhash::HashMapExt;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::tls::{ClientStream, Prefixed, TlsState};

use super::backend::{self, BackendConn, DataHostRt, Pooled};
use super::sql::{self, Kind, LocalItem, MapKind, Meta, SetItem};
use super::wire::handshake::{self, CACHING_SHA2, NATIVE};
use super::wire::response::{Expect, Outcome, Tracker};
use super::wire::*;
use super::{SessionCtl, Shared, Snapshot, plan};
use crate::config::router::{Dml, RouterUser};

mod infile;
mod meta;
mod shard;

// For the fuzz targets (fuzz/): the decoding of COM_STMT_EXECUTE parameters.
#[doc(hidden)]
pub use shard::{
    Decoded, decode_params, decode_params_in, fill_placeholders, sent_types, with_types,
};

/// Statement handed to a backend: what to send and how to read the answer.
struct Fwd<'a> {
    payload: &'a [u8],
    expect: Expect,
    read: bool,
    /// COM_STMT_PREPARE: the router's id to write into the answer.
    stmt_id: Option<u32>,
    /// The statement mentions LAST_INSERT_ID(): sync it first.
    needs_last_id: bool,
    kind: &'static str,
}

struct PreparedStmt {
    /// Shared: every execute looks it up in the backend connection's cache.
    sql: Arc<str>,
    read: bool,
    params: u16,
    types: Option<Vec<u8>>,
    long_data: Vec<(u16, Vec<u8>)>,
    /// Bytes in `long_data`.
    long_len: usize,
    /// More long data came than `max_long_data_size`: executes are refused until
    /// COM_STMT_RESET, as the server does.
    long_overflow: bool,
    /// An execute opened a cursor on the session's pinned connection.
    cursor: bool,
    /// The backend database of the last execute: the cursor's statement is found on
    /// the pinned connection under it (a later statement may have changed its database).
    exec_db: Option<String>,
    /// Names configured tables: each execute is routed by its parameter values.
    sharded: bool,
    /// The statement mentions LAST_INSERT_ID(): each execute syncs it first (the
    /// connection it runs on need not be the one that did the session's last insert).
    needs_last_id: bool,
    /// The schema selected at prepare time: as on the server, the statement keeps
    /// reading and writing there after a later `USE` (`None`: the user's default).
    schema: Option<String>,
    /// A statement the router answers itself, as in the text protocol (the server
    /// would answer with its own databases, tables or ids).
    local: Option<Local>,
    /// A SHOW or DESCRIBE naming a database: the data node it runs on (its `sql` names
    /// that node's database).
    node: Option<String>,
    /// A SET: each execute runs as the text SET with its values filled in, tracked and
    /// replayed as the text form is.
    set: bool,
}

impl PreparedStmt {
    /// A statement as prepared: no types, long data or cursor yet, routed as written.
    fn new(sql: &str, read: bool, params: u16, schema: Option<String>) -> Self {
        PreparedStmt {
            sql: sql.into(),
            read,
            params,
            types: None,
            long_data: Vec::new(),
            long_len: 0,
            long_overflow: false,
            cursor: false,
            exec_db: None,
            sharded: false,
            needs_last_id: false,
            schema,
            local: None,
            node: None,
            set: false,
        }
    }
}

/// What a prepared statement the router answers itself returns.
#[derive(Debug, Clone)]
enum Local {
    Databases,
    Tables,
    CreateDatabase,
    Select(Vec<(String, LocalItem)>),
    Meta(Meta),
    /// `EXPLAIN <statement>` (the router's plan).
    Explain,
    Grants,
    /// `SHOW [FULL] PROCESSLIST`.
    Processlist(bool),
    /// `SHOW VARIABLES ...` (the router's `local_infile`).
    Variables,
}

/// Prepared statements one session may hold (MySQL's default
/// `max_prepared_stmt_count`); more get error 1461, as from the server.
const MAX_SESSION_STMTS: usize = 16_382;

/// Bytes of statement text one session's prepared statements may hold together.
const MAX_SESSION_STMT_BYTES: usize = 128 << 20;

/// COM_STMT_EXECUTE flags that ask for a cursor (CURSOR_TYPE_READ_ONLY, _FOR_UPDATE,
/// _SCROLLABLE).
const CURSOR_FLAGS: u8 = 0x01 | 0x02 | 0x04;

/// The sticky reason of an open cursor: it ends with the cursor (other reasons last for
/// the session).
const CURSOR: &str = "cursor";

/// The answer to COM_STATISTICS (`mariadb-admin status`), in the server's format, from
/// the router's uptime, open client sessions and commands counted.
fn statistics_text(uptime: std::time::Duration, threads: u64, questions: u64) -> String {
    let secs = uptime.as_secs();
    let per_ms = questions.saturating_mul(1000) / secs.max(1);
    format!(
        "Uptime: {secs}  Threads: {threads}  Questions: {questions}  Slow queries: 0  Opens: 0  Open tables: 0  Queries per second avg: {}.{:03}",
        per_ms / 1000,
        per_ms % 1000
    )
}

/// Session variables a `SET NAMES` sets on the server.
fn is_names_var(name: &str) -> bool {
    matches!(
        name,
        "character_set_client"
            | "character_set_connection"
            | "character_set_results"
            | "collation_connection"
    )
}

/// What the server answers an execute of a statement whose long data overflowed.
fn long_data_too_long(cap: u64) -> SqlError {
    SqlError::new(
        1105,
        "HY000",
        format!(
            "Parameter of prepared statement which is set through mysql_send_long_data() is longer than 'max_allowed_packet' bytes (the router's max_long_data_size: {cap} bytes)"
        ),
    )
}

/// A failure that ends the session.
struct Fatal;

type Res<T> = Result<T, Fatal>;

pub struct Session {
    shared: Arc<Shared>,
    snap: Arc<Snapshot>,
    ctl: Arc<SessionCtl>,
    io: PacketIo<ClientStream>,
    peer: SocketAddr,
    caps: u32,
    profile: u32,
    deprecate_eof: bool,
    user: RouterUser,
    schema: Option<String>,
    handshake_names: String,
    /// Planning a prepared statement's execute (its values written into the text).
    executing: bool,
    names: String,
    autocommit: bool,
    vars: Vec<(String, String)>,
    /// User variables set to literals (`SET @x = 1`): (name as written, literal),
    /// replayed on every connection the session uses.
    user_vars: Vec<(String, String)>,
    txn: Option<String>,
    last_insert_id: u64,
    in_trans: bool,
    pinned: Option<Pooled>,
    /// Connections to other data hosts held by a transaction that spans several.
    pinned_more: Vec<Pooled>,
    /// The data node the statement being run goes to (sharding); `None` = the schema's.
    route_node: Option<String>,
    /// The current transaction's multi-host warning was logged.
    dtx_logged: bool,
    /// The connection being acquired joins a running transaction: start one on it
    /// after its session state is synced.
    begin_pending: bool,
    sticky: Option<&'static str>,
    /// The statement that made the session sticky (an excerpt), for error messages.
    sticky_since: String,
    stmts: HashMap<u32, PreparedStmt>,
    /// Bytes of statement text in `stmts`.
    stmt_bytes: usize,
    next_stmt: u32,
    nonce: [u8; 20],
    /// Keep the connection of the next forwarded statement pinned (to read back what a
    /// SET did).
    hold_next: bool,
    /// Resolved `queries_total` counters (label lookups are not free per statement).
    counters: Vec<(&'static str, String, prometheus::IntCounter)>,
    /// Server thread id of the backend connection the last statement used.
    last_backend: u32,
    /// The host that connection is on.
    last_host: Option<Arc<backend::Host>>,
    /// The statement being forwarded reads the previous one's diagnostics (`SHOW
    /// WARNINGS`): it goes to the host and connection that ran it, not to a read host.
    follow_last: bool,
    /// The client started TLS.
    tls: bool,
    /// Affected rows the client was told for a write the router ran on several nodes
    /// (no single server knows the total): `SELECT ROW_COUNT()` right after it is
    /// answered with this.
    row_count_told: Option<u64>,
    /// [`Self::row_count_told`] of the previous command, for the current one.
    prev_row_count: Option<u64>,
    /// The diagnostics of the last statement when the router merged it from several
    /// nodes (`SHOW WARNINGS` reads them here), and those of the statement before the
    /// current one.
    diag: Option<super::diag::Diagnostics>,
    prev_diag: Option<super::diag::Diagnostics>,
    /// The current command answered with an error (not recorded by the SQL statistics,
    /// as MyCat's).
    cmd_failed: bool,
    /// Rows of the current command's result sets, where the router sees them.
    cmd_rows: u64,
    /// The router answered the current command itself (not counted by the SQL
    /// statistics, as MyCat's).
    cmd_local: bool,
    /// `io.read` / `io.written` already counted in `shared.front`.
    front_in: u64,
    front_out: u64,
    /// What `ctl.held` shows: (host, server thread id) of each kept connection.
    held_shown: Vec<(usize, u32)>,
}

/// A statement the SQL statistics count, at its start.
struct StatStart {
    generation: u64,
    /// Bytes written to the client before it.
    written: u64,
    /// Its text, cut to [`super::sqlstat::TEXT_CAP`].
    sql: Arc<str>,
    rw: super::sqlstat::Rw,
}

fn names_for(collation: u8) -> String {
    use mysql_common::collations::{Collation, CollationId};
    if collation == 0 || collation == backend::conn::BACKEND_COLLATION {
        return backend::conn::BACKEND_NAMES.to_string();
    }
    let c = Collation::from(CollationId::from(u16::from(collation)));
    let cs = c.charset();
    if cs.is_empty() || c.collation().is_empty() {
        return backend::conn::BACKEND_NAMES.to_string();
    }
    // utf8mb4_0900_* exist only on MySQL 8; the charset alone is portable.
    if c.is_default() || c.collation().contains("0900") {
        cs.to_string()
    } else {
        format!("{cs} COLLATE {}", c.collation())
    }
}

/// Whether `firewall.whitelist` lets `user` log in from `ip`, as MyCat's
/// checkFirewallWhiteHostPolicy decides: an empty list admits everyone; an entry
/// whose address or CIDR matches admits its `users` (all when it lists none); a
/// matching pattern (`*`, `%`) admits every user, whatever its entry lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whitelisted {
    Yes,
    /// The host is listed, but not for this user.
    NotForUser,
    /// No entry names the host.
    NoHost,
}

pub fn whitelisted(
    wl: &[crate::config::router::WhitelistEntry],
    user: &str,
    ip: std::net::IpAddr,
) -> Whitelisted {
    if wl.is_empty() {
        return Whitelisted::Yes;
    }
    let mut listed = false;
    for e in wl {
        for h in e.hosts() {
            if !h.matches(ip) {
                continue;
            }
            if h.is_pattern() || e.users.is_empty() || e.users.iter().any(|u| u == user) {
                return Whitelisted::Yes;
            }
            listed = true;
        }
    }
    if listed {
        Whitelisted::NotForUser
    } else {
        Whitelisted::NoHost
    }
}

/// Entry point for an accepted connection.
pub async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, admin: bool) {
    let mut io = PacketIo::new(ClientStream::Plain(stream));
    let id = shared.next_conn_id();
    let nonce = nonce();
    let version = shared.server_version_at_login().await;
    let be_eof = shared
        .all_data_hosts()
        .first()
        .is_some_and(|dh| dh.writer().deprecate_eof.load(Ordering::Relaxed));
    let snap = shared.snapshot();
    let mut caps = handshake::server_caps(be_eof);
    if snap.tls.is_some() {
        caps |= Caps::CLIENT_SSL;
    }
    if snap.cfg.local_infile {
        caps |= Caps::CLIENT_LOCAL_FILES;
    }
    let status = StatusFlags::SERVER_STATUS_AUTOCOMMIT.bits();
    let g = handshake::greeting(
        &version,
        id,
        &nonce,
        caps,
        45,
        status,
        snap.cfg.auth_plugin.name(),
    );
    if io.send(0, &g).await.is_err() {
        return;
    }
    let login = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        login(&mut io, &shared, &snap, peer, &nonce, admin),
    )
    .await;
    let Ok(Some((hello, user, seq, tls))) = login else {
        return;
    };
    let ctl = Arc::new(SessionCtl {
        id,
        user: Mutex::new(user.name.clone()),
        peer,
        started: Instant::now(),
        schema: Mutex::new(None),
        killed: Default::default(),
        kill: Default::default(),
        current: Mutex::new(None),
        fanout: Mutex::new(Vec::new()),
        held: Mutex::new(Vec::new()),
        admin,
        activity: Mutex::new(super::processlist::Activity::new(Instant::now())),
    });
    // max_connections is checked against live sessions at login.
    if !admin && let Some(e) = over_max_connections(&shared, &user) {
        let _ = io.send(seq, &e.packet()).await;
        return;
    }
    shared.register(ctl.clone());
    shared.metrics.active.inc();
    let caps_c = hello.caps & caps.bits();
    let names = names_for(hello.collation);
    let mut s = Session {
        shared: shared.clone(),
        snap,
        ctl: ctl.clone(),
        io,
        peer,
        caps: caps_c,
        profile: caps_c & handshake::PROFILE_MASK,
        deprecate_eof: caps_c & Caps::CLIENT_DEPRECATE_EOF.bits() != 0,
        user,
        schema: None,
        handshake_names: names.clone(),
        executing: false,
        names,
        autocommit: true,
        vars: Vec::new(),
        user_vars: Vec::new(),
        txn: None,
        last_insert_id: 0,
        in_trans: false,
        pinned: None,
        pinned_more: Vec::new(),
        route_node: None,
        dtx_logged: false,
        begin_pending: false,
        sticky: None,
        sticky_since: String::new(),
        stmts: HashMap::new(),
        stmt_bytes: 0,
        next_stmt: 1,
        nonce,
        hold_next: false,
        counters: Vec::new(),
        last_backend: 0,
        last_host: None,
        follow_last: false,
        tls: tls.is_some(),
        row_count_told: None,
        prev_row_count: None,
        diag: None,
        prev_diag: None,
        cmd_failed: false,
        cmd_rows: 0,
        cmd_local: false,
        front_in: 0,
        front_out: 0,
        held_shown: Vec::new(),
    };
    let db = hello
        .database
        .clone()
        .or_else(|| s.user.default_schema.clone());
    let ok = match db {
        Some(db) => match s.check_schema(&db) {
            Ok(()) => {
                s.set_schema(Some(db));
                true
            }
            Err(e) => {
                let _ = s.io.send(seq, &e.packet()).await;
                false
            }
        },
        None => true,
    };
    if ok {
        let st = s.status();
        let mut ok = ok_packet(0, 0, st, 0);
        // A MariaDB 11.4+ client checks a certificate it cannot verify against this.
        if let Some(proof) = tls
            .as_ref()
            .and_then(|t| t.proof(s.snap.cfg.auth_plugin.name(), &s.user.password, &s.nonce))
        {
            put_lenenc_str(&mut ok, &proof);
        }
        if s.io.send(seq, &ok).await.is_ok() {
            tracing::debug!(id, user = %s.user.name, peer = %peer, "router: session {id} opened");
            if admin {
                let who = format!("admin port, user {} from {peer}", s.user.name);
                super::admin::run(&mut s.io, &shared, s.deprecate_eof, &who).await;
            } else {
                s.run().await;
            }
        }
        if !admin {
            // The login's bytes and the last command's.
            shared.front.bytes(
                id,
                s.io.read.saturating_sub(s.front_in),
                s.io.written.saturating_sub(s.front_out),
            );
        }
    }
    shared.unregister(id);
    shared.metrics.active.dec();
}

/// Reads the client's handshake response (after starting TLS if the client asks) and
/// authenticates it. Returns the hello, the user, the sequence id for the final OK and
/// the TLS state the connection uses.
async fn login(
    io: &mut PacketIo<ClientStream>,
    shared: &Shared,
    snap: &Snapshot,
    peer: SocketAddr,
    nonce: &[u8; 20],
    admin: bool,
) -> Option<(
    handshake::ClientHello,
    RouterUser,
    u8,
    Option<Arc<TlsState>>,
)> {
    let (seq, mut p) = io.read_packet(1 << 16).await.ok()?;
    let mut seq = seq.wrapping_add(1);
    let fail = |reason: &str| {
        shared
            .metrics
            .login_failures
            .with_label_values(&[reason])
            .inc();
    };
    let mut tls = None;
    if let Ok(h) = handshake::parse_hello(&p)
        && h.ssl_request
    {
        let Some(state) = snap.tls.clone() else {
            fail("ssl_requested");
            let e = SqlError::new(
                1043,
                "08S01",
                "TLS was requested, but the router does not offer it (router.tls is off; connect with --ssl=0 / sslMode=DISABLED)",
            );
            let _ = io.send(seq, &e.packet()).await;
            return None;
        };
        if let Err(e) = start_tls(io, &state).await {
            fail("tls_handshake");
            tracing::warn!(peer = %peer, "router: TLS handshake with {peer} failed: {e}");
            return None;
        }
        shared.metrics.tls_sessions.inc();
        tls = Some(state);
        let (s, q) = io.read_packet(1 << 16).await.ok()?;
        seq = s.wrapping_add(1);
        p = q;
    }
    let hello = match handshake::parse_hello(&p) {
        Ok(h) if h.ssl_request => {
            fail("bad_handshake");
            let e = SqlError::new(1043, "08S01", "Bad handshake: a second SSLRequest");
            let _ = io.send(seq, &e.packet()).await;
            return None;
        }
        Ok(h) => h,
        Err(e) => {
            fail("bad_handshake");
            tracing::warn!(peer = %peer, "router: bad handshake from {peer}: {e}");
            let _ = io
                .send(
                    seq,
                    &SqlError::new(1043, "08S01", format!("Bad handshake: {e}")).packet(),
                )
                .await;
            return None;
        }
    };
    if tls.is_none()
        && snap
            .tls
            .as_ref()
            .is_some_and(|t| t.require_secure_transport)
    {
        fail("insecure_transport");
        tracing::warn!(peer = %peer, user = %hello.user, "router: login of {} from {} refused: router.tls.require_secure_transport is on and the client did not start TLS", hello.user, peer.ip());
        let e = SqlError::new(
            3159,
            "HY000",
            "Connections using insecure transport are prohibited while --require_secure_transport=ON.",
        );
        let _ = io.send(seq, &e.packet()).await;
        return None;
    }
    let (user, seq) = authenticate(
        io,
        shared,
        snap,
        peer,
        nonce,
        seq,
        &hello.user,
        hello.plugin.as_deref(),
        hello.auth.clone(),
        admin,
        tls.is_some(),
    )
    .await
    .ok()?;
    Some((hello, user, seq, tls))
}

/// Upgrades the client connection to TLS after its SSLRequest. Bytes of the ClientHello
/// already in the packet buffer are handed to the TLS layer first.
async fn start_tls(io: &mut PacketIo<ClientStream>, state: &TlsState) -> std::io::Result<()> {
    let ClientStream::Plain(tcp) = std::mem::replace(&mut io.stream, ClientStream::Taken) else {
        return Err(std::io::Error::other("TLS started twice"));
    };
    let early = io.buffered().to_vec();
    let n = early.len();
    io.consume(n);
    let tls = state.acceptor.accept(Prefixed::new(early, tcp)).await?;
    io.stream = ClientStream::Tls(Box::new(tls));
    Ok(())
}

/// Checks a login, from the handshake or COM_CHANGE_USER: the whitelist (before the
/// password), an auth switch to the configured plugin, the scramble compared in constant
/// time (against a dummy for unknown users, so timing does not tell which names exist),
/// the admin flag. Returns the user and the next sequence id; when the login is refused
/// the client has its ERR packet and the reason is counted.
#[allow(clippy::too_many_arguments)]
async fn authenticate(
    io: &mut PacketIo<ClientStream>,
    shared: &Shared,
    snap: &Snapshot,
    peer: SocketAddr,
    nonce: &[u8; 20],
    mut seq: u8,
    name: &str,
    plugin: Option<&str>,
    mut auth: Vec<u8>,
    admin: bool,
    tls: bool,
) -> Result<(RouterUser, u8), AuthFail> {
    let ip = peer.ip();
    let fail = |reason: &str| {
        shared
            .metrics
            .login_failures
            .with_label_values(&[reason])
            .inc();
    };
    let deny = |why: &str| {
        SqlError::new(
            1045,
            "28000",
            format!("Access denied for user '{name}'@'{ip}' ({why})"),
        )
    };
    let why = match whitelisted(&snap.cfg.firewall.whitelist, name, ip) {
        Whitelisted::Yes => None,
        Whitelisted::NotForUser => Some(format!(
            "host {ip} is on the router's whitelist, but not for user '{name}'"
        )),
        Whitelisted::NoHost => Some("host not in the router's whitelist".to_string()),
    };
    if let Some(why) = why {
        fail("whitelist");
        tracing::warn!(peer = %peer, user = %name, "router: login of {name} from {ip} refused by the whitelist: {why}");
        io.send(seq, &deny(&why).packet()).await?;
        return Err(AuthFail::Refused);
    }
    let want = snap.cfg.auth_plugin.name();
    if plugin.unwrap_or(NATIVE) != want {
        io.send(seq, &handshake::auth_switch(want, nonce)).await?;
        let (s, p) = io.read_packet(1 << 16).await?;
        seq = s.wrapping_add(1);
        auth = p;
    }
    // MySQL's caching_sha2_password client sends one zero byte for an empty password.
    if want == CACHING_SHA2 && auth == [0] {
        auth.clear();
    }
    let user = snap.user(name).cloned();
    let password = user
        .as_ref()
        .map_or("\u{1}unknown-user", |u| u.password.as_str());
    let good = ct_eq(&auth, &handshake::expected_scramble(want, nonce, password)) && user.is_some();
    let Some(user) = user.filter(|_| good) else {
        fail("password");
        tracing::warn!(peer = %peer, user = %name, "router: login of {name} from {ip} failed (wrong password or unknown user)");
        let using = if auth.is_empty() { "NO" } else { "YES" };
        let e = SqlError::new(
            1045,
            "28000",
            format!("Access denied for user '{name}'@'{ip}' (using password: {using})"),
        );
        io.send(seq, &e.packet()).await?;
        return Err(AuthFail::Refused);
    };
    if user.require_tls && !tls {
        fail("tls_required");
        tracing::warn!(peer = %peer, user = %name, "router: login of {name} from {ip} refused: the user has require_tls and the client did not start TLS");
        let e = SqlError::new(
            1045,
            "28000",
            format!("Access denied for user '{name}'@'{ip}' (using password: YES)"),
        );
        io.send(seq, &e.packet()).await?;
        return Err(AuthFail::Refused);
    }
    if admin && !user.admin {
        fail("not_admin");
        io.send(seq, &deny("not an admin user: set admin: true").packet())
            .await?;
        return Err(AuthFail::Refused);
    }
    if want == CACHING_SHA2 && !auth.is_empty() {
        // Fast authentication succeeded (an empty password gets the OK alone, as from
        // MySQL).
        seq = io.send(seq, &[0x01, 0x03]).await?;
    }
    Ok((user, seq))
}

/// Error 1203 (counted) when `user` already has its `max_connections` sessions.
fn over_max_connections(shared: &Shared, user: &RouterUser) -> Option<SqlError> {
    let max = user.max_connections?;
    if shared.sessions_of(&user.name) < max as usize {
        return None;
    }
    shared
        .metrics
        .login_failures
        .with_label_values(&["max_connections"])
        .inc();
    Some(SqlError::new(
        1203,
        "42000",
        format!(
            "User {} already has more than 'max_user_connections' active connections",
            user.name
        ),
    ))
}

/// Why [`authenticate`] did not let a client in.
enum AuthFail {
    /// Refused: the client has its ERR packet and the connection is in step.
    Refused,
    /// The connection failed during the exchange.
    Wire,
}

impl From<WireError> for AuthFail {
    fn from(_: WireError) -> Self {
        AuthFail::Wire
    }
}

/// Whether `user` may use schema `db`: 1049 for an unknown schema, 1044 for one not
/// granted.
fn schema_error(snap: &Snapshot, user: &RouterUser, db: &str) -> Option<SqlError> {
    // The servers' own databases but information_schema: the operator's (see guard).
    let private = ["mysql", "performance_schema", "sys"]
        .iter()
        .any(|d| d.eq_ignore_ascii_case(db));
    if snap.schema(db).is_none() && !private {
        return Some(SqlError::new(
            1049,
            "42000",
            format!("Unknown database '{db}'"),
        ));
    }
    if !user.schemas.iter().any(|s| s == db) {
        return Some(SqlError::new(
            1044,
            "42000",
            format!(
                "Access denied for user '{}'@'%' to database '{db}'",
                user.name
            ),
        ));
    }
    None
}

/// Databases every server has: statements naming them go to the server unchanged
/// (unless a schema has that name).
const SYSTEM_DBS: &[&str] = &["information_schema", "performance_schema", "mysql", "sys"];

/// What a ping, `SELECT USER()` and `SHOW MYCAT_STATUS` get while the router is
/// offline (MyCat's ER_SERVER_SHUTDOWN).
fn offline_error() -> SqlError {
    SqlError::new(
        1053,
        "08S01",
        "Server shutdown in progress: the router is offline (admin command `offline`; `online` ends it)",
    )
}

/// The text starts with a MyCat hint (the statement then runs as written).
fn hinted(sql: &str) -> bool {
    let t = sql.trim_start();
    t.starts_with("/*!mycat:") || t.starts_with("/*#mycat:") || t.starts_with("/* mycat:")
}

/// The statement behind a mycat hint, if any.
fn hint_body(sql: &str) -> &str {
    match plan::strip_hint(sql) {
        Ok(Some((_, b))) => b,
        _ => sql,
    }
}

/// Is `sql` (behind a mycat hint, if any) an EXPLAIN of a statement?
fn explains(sql: &str) -> bool {
    let body = match plan::strip_hint(sql) {
        Ok(Some((_, b))) => b,
        _ => sql,
    };
    plan::explain::form(body).is_some()
}

/// A statement the router answers itself that its parser could not read.
fn unreadable(what: &str) -> SqlError {
    SqlError::new(
        1064,
        "42000",
        format!("the router could not read this {what} statement"),
    )
}

/// A parameter placeholder in a statement the router answers itself.
fn no_params(what: &str) -> SqlError {
    SqlError::new(
        1105,
        "HY000",
        format!(
            "{what} is answered by the router, which does not take `?` parameters in it: write the values into the statement"
        ),
    )
}

/// `text` with each of `spans` replaced by `with`.
fn splice(text: &str, spans: &[(usize, usize)], with: &str) -> String {
    let mut spans = spans.to_vec();
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len() + with.len());
    let mut at = 0;
    for (a, b) in spans {
        if a < at {
            continue;
        }
        out.push_str(text.get(at..a).unwrap_or_default());
        out.push_str(with);
        at = b;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}

/// The WHERE of a SHOW the router answers runs on a server with the router's own login:
/// a subquery in it would read tables past the user's `privileges`, which a SELECT of
/// them gets checked against. Conditions on the listed columns need none.
fn no_subquery(cond: &str) -> Result<(), SqlError> {
    if sql::lex(cond).iter().any(|t| t.is("SELECT")) {
        return Err(SqlError::new(
            1105,
            "HY000",
            "a subquery in the WHERE of a SHOW the router answers is not supported: compare the listed columns with values, or use LIKE",
        ));
    }
    Ok(())
}

/// SHOW OPEN TABLES is refused: a server's table cache has no counterpart in the
/// router's schemas.
fn open_tables_refused() -> SqlError {
    SqlError::new(
        1105,
        "HY000",
        "SHOW OPEN TABLES lists a server's table cache, which the router's schemas do not map to: run it on the data nodes' servers directly",
    )
}

/// MariaDB's columns of SHOW TABLE STATUS, for a schema without any data node to ask.
const TABLE_STATUS_COLUMNS: &[&str] = &[
    "Name",
    "Engine",
    "Version",
    "Row_format",
    "Rows",
    "Avg_row_length",
    "Data_length",
    "Max_data_length",
    "Index_length",
    "Data_free",
    "Auto_increment",
    "Create_time",
    "Update_time",
    "Check_time",
    "Collation",
    "Checksum",
    "Create_options",
    "Comment",
    "Max_index_length",
    "Temporary",
];

/// MariaDB's (and MySQL's) columns of SHOW EVENTS.
const EVENTS_COLUMNS: &[&str] = &[
    "Db",
    "Name",
    "Definer",
    "Time zone",
    "Type",
    "Execute at",
    "Interval value",
    "Interval field",
    "Starts",
    "Ends",
    "Status",
    "Originator",
    "character_set_client",
    "collation_connection",
    "Database Collation",
];

/// MariaDB's (and MySQL's) columns of SHOW PROCEDURE|FUNCTION STATUS.
const ROUTINES_COLUMNS: &[&str] = &[
    "Db",
    "Name",
    "Type",
    "Definer",
    "Modified",
    "Created",
    "Security_type",
    "Comment",
    "character_set_client",
    "collation_connection",
    "Database Collation",
];

/// A result set with the columns of a [`Meta`] statement typed as the server types
/// them: counts and sizes BIGINT, times DATETIME, the rest text.
fn meta_result_set<S: AsRef<str>>(cols: &[S]) -> ResultSet {
    const NUMBERS: &[&str] = &[
        "Version",
        "Rows",
        "Avg_row_length",
        "Data_length",
        "Max_data_length",
        "Index_length",
        "Data_free",
        "Auto_increment",
        "Checksum",
        "Max_index_length",
        "Originator",
    ];
    const TIMES: &[&str] = &[
        "Create_time",
        "Update_time",
        "Check_time",
        "Execute at",
        "Starts",
        "Ends",
        "Modified",
        "Created",
    ];
    ResultSet {
        columns: cols
            .iter()
            .map(|c| {
                let c = c.as_ref();
                let ty = if NUMBERS.contains(&c) {
                    TYPE_LONGLONG
                } else if TIMES.contains(&c) {
                    TYPE_DATETIME
                } else {
                    TYPE_VAR_STRING
                };
                (c.to_string(), ty)
            })
            .collect(),
        rows: Vec::new(),
    }
}

/// Keeps the rows whose first column matches the LIKE pattern `p` (SHOW ... LIKE).
fn like_filter(rows: &mut Vec<Vec<Option<String>>>, p: &str) {
    rows.retain(|r| {
        r.first()
            .and_then(Option::as_deref)
            .is_some_and(|n| sql::wild_match(n, p))
    });
}

/// `` CREATE DATABASE `shop_1` ... `` (SHOW CREATE DATABASE's second column) with the
/// database name replaced by `name`, quoted as the server quoted it.
fn rename_create_database(create: &str, name: &str) -> String {
    let t = sql::lex(create);
    let Some(at) = t.iter().position(|x| x.is("DATABASE") || x.is("SCHEMA")) else {
        return create.to_string();
    };
    let Some(db) = t[at + 1..]
        .iter()
        .find(|x| !(x.is("IF") || x.is("NOT") || x.is("EXISTS")))
    else {
        return create.to_string();
    };
    let quoted = match db.text.as_bytes().first() {
        Some(b'"') => format!("\"{}\"", name.replace('"', "\"\"")),
        Some(b'`') => plan::text::quote_ident(name),
        _ if name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$') =>
        {
            name.to_string()
        }
        _ => plan::text::quote_ident(name),
    };
    splice(create, &[(db.start, db.end)], &quoted)
}

/// The query that evaluates a SHOW statement's `WHERE cond` on a server: the listed
/// rows as a derived table (values as hex literals, so no sql_mode changes their
/// meaning), returning the 1-based numbers of the rows that meet `cond`.
fn where_query(cols: &[String], rows: &[Vec<Option<String>>], cond: &str) -> String {
    let lit = |v: &Option<String>| plan::text::text_literal(v.as_deref());
    let mut sel = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let mut items = vec![format!("{} AS `__tandem_row`", i + 1)];
        for (c, v) in cols.iter().zip(r) {
            items.push(format!("{} AS {}", lit(v), plan::text::quote_ident(c)));
        }
        sel.push(format!("SELECT {}", items.join(", ")));
    }
    if sel.is_empty() {
        // No rows: the condition is still checked (an unknown column is an error).
        let mut items = vec!["0 AS `__tandem_row`".to_string()];
        for c in cols {
            items.push(format!(
                "CONVERT('' USING utf8mb4) AS {}",
                plan::text::quote_ident(c)
            ));
        }
        sel.push(format!("SELECT {}", items.join(", ")));
    }
    format!(
        "SELECT `__tandem_row` FROM ({}) AS `__tandem_show` WHERE ({cond}) ORDER BY 1",
        sel.join(" UNION ALL ")
    )
}

impl Session {
    fn status(&self) -> u16 {
        let mut s = 0;
        if self.autocommit {
            s |= StatusFlags::SERVER_STATUS_AUTOCOMMIT.bits();
        }
        if self.in_trans {
            s |= StatusFlags::SERVER_STATUS_IN_TRANS.bits();
        }
        s
    }

    async fn send_ok(&mut self, seq: u8) -> Res<()> {
        let p = ok_packet(0, 0, self.status(), 0);
        self.io.send(seq, &p).await.map(|_| ()).map_err(|_| Fatal)
    }

    async fn send_err(&mut self, seq: u8, e: &SqlError) -> Res<()> {
        self.send_err_as(seq, e, reason_of(e.code)).await
    }

    async fn send_err_as(&mut self, seq: u8, e: &SqlError, reason: &str) -> Res<()> {
        self.cmd_failed = true;
        self.shared
            .metrics
            .errors
            .with_label_values(&[reason])
            .inc();
        self.io
            .send(seq, &e.packet())
            .await
            .map(|_| ())
            .map_err(|_| Fatal)
    }

    fn set_schema(&mut self, s: Option<String>) {
        if let Ok(mut c) = self.ctl.schema.lock() {
            c.clone_from(&s);
        }
        self.schema = s;
    }

    fn check_schema(&self, db: &str) -> Result<(), SqlError> {
        match schema_error(&self.snap, &self.user, db) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// [`plan::qualify`] for this session's user and schema.
    fn qualify(&self, sql: &str) -> Result<plan::Qualified, SqlError> {
        plan::qualify(
            &self.snap.catalog,
            &plan::Grants::user(&self.user.name, &self.user.schemas),
            self.schema_name().ok(),
            sql,
        )
    }

    /// [`plan::check_kept`] for a statement that runs on the schema's data node.
    fn check_kept_default(&self, kept: &[String]) -> Result<(), SqlError> {
        if kept.is_empty() {
            return Ok(());
        }
        let Ok(schema) = self.schema_name() else {
            return Ok(());
        };
        let Some(node) = self
            .snap
            .catalog
            .schema(schema)
            .and_then(|sc| sc.default_node.as_deref())
        else {
            return Ok(());
        };
        plan::check_kept(&self.snap.catalog, schema, kept, [node])
    }

    /// The session's `character_set_client` as the server has it: set on its own, else
    /// from `SET NAMES` or the handshake; `None` when the router cannot tell.
    fn client_charset(&self) -> Option<String> {
        let v = match self.vars.iter().find(|(k, _)| k == "character_set_client") {
            Some((_, v)) => v
                .trim()
                .trim_matches(|c| c == '\'' || c == '"' || c == '`')
                .to_ascii_lowercase(),
            None => self
                .names
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase(),
        };
        (!v.is_empty()
            && v != "default"
            && !v.bytes().all(|b| b.is_ascii_digit())
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then_some(v)
    }

    /// The schema statements run in: the selected one, else the user's only one.
    fn effective_schema(&self) -> Result<String, SqlError> {
        self.schema_name().map(str::to_string)
    }

    fn schema_name(&self) -> Result<&str, SqlError> {
        if let Some(s) = &self.schema {
            return Ok(s);
        }
        if let Some(d) = &self.user.default_schema {
            return Ok(d);
        }
        if self.user.schemas.len() == 1 {
            return Ok(&self.user.schemas[0]);
        }
        Err(SqlError::new(1046, "3D000", "No database selected"))
    }

    /// The data node the next statement runs on: the routed one, else the current
    /// schema's.
    fn target_node(&self) -> Result<&str, SqlError> {
        // A statement routed to a node needs no current schema (`SHOW TABLES FROM shop`
        // before any `USE`).
        if let Some(n) = &self.route_node {
            return Ok(n);
        }
        let schema = self.schema_name()?;
        let sc = self
            .snap
            .schema(schema)
            .ok_or_else(|| SqlError::new(1049, "42000", format!("Unknown database '{schema}'")))?;
        sc.data_node.as_deref().ok_or_else(|| {
            SqlError::new(
                1105,
                "HY000",
                format!("schema '{schema}' has no data_node for statements that name no configured table"),
            )
        })
    }

    /// Counts a statement sent to the target node (`show @@datanode` EXECUTE).
    fn count_execute(&self) {
        if let Ok(n) = self.target_node() {
            self.shared.count_execute(n);
        }
    }

    /// The data host and database of the current schema.
    fn target(&self) -> Result<(Arc<DataHostRt>, String), SqlError> {
        let node = self.target_node()?;
        let (dh, db) = self.snap.nodes.get(node).ok_or_else(|| {
            SqlError::new(
                1105,
                "HY000",
                format!("data node '{node}' is not configured"),
            )
        })?;
        let rt = self.shared.data_host(dh).ok_or_else(|| {
            SqlError::new(1105, "HY000", format!("data host '{dh}' is not running"))
        })?;
        Ok((rt, db.clone()))
    }

    /// read_only users and DML privilege bits.
    fn check_access(&self, sql: &str, a: &sql::Analysis) -> Result<(), SqlError> {
        if self.user.read_only && a.is_write() {
            return Err(SqlError::new(
                1290,
                "HY000",
                format!(
                    "User '{}' is read-only (router config read_only: true) so it cannot execute this statement",
                    self.user.name
                ),
            ));
        }
        if self.user.privileges.is_empty() {
            return Ok(());
        }
        let (bit, cmd): (fn(&Dml) -> bool, &str) = match a.kind {
            Kind::Insert | Kind::Replace => (|d| d.insert, "INSERT"),
            Kind::Update => (|d| d.update, "UPDATE"),
            Kind::Delete => (|d| d.delete, "DELETE"),
            Kind::Select { .. } => (|d| d.select, "SELECT"),
            _ => return Ok(()),
        };
        let Ok(schema) = self.effective_schema() else {
            return Ok(());
        };
        let Some(p) = self.user.privileges.iter().find(|p| p.schema == schema) else {
            return Ok(());
        };
        let tables = tables_of(sql).map_err(|e| {
            SqlError::new(
                1064,
                "42000",
                format!("the router could not parse this statement to check DML privileges: {e}"),
            )
        })?;
        let deny = |t: &str| {
            SqlError::new(
                1142,
                "42000",
                format!(
                    "{cmd} command denied to user '{}'@'%' for table '{t}'",
                    self.user.name
                ),
            )
        };
        if tables.is_empty() && !bit(&p.dml) {
            return Err(deny(&schema));
        }
        for t in &tables {
            let d = p
                .tables
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(t))
                .map(|(_, d)| *d)
                .unwrap_or(p.dml);
            if !bit(&d) {
                return Err(deny(t));
            }
        }
        Ok(())
    }

    async fn run(&mut self) {
        // One registration for the whole session (not one per command).
        let ctl = self.ctl.clone();
        let killed = ctl.kill.notified();
        tokio::pin!(killed);
        let mut p = Vec::new();
        loop {
            if p.capacity() > 1 << 20 {
                // After a huge statement, give the memory back.
                p = Vec::new();
            }
            let r = tokio::select! {
                biased;
                r = self.io.read_packet_into(MAX_LOGICAL, &mut p) => r,
                _ = &mut killed => break,
            };
            if self.ctl.killed.load(Ordering::Acquire) {
                break;
            }
            match r {
                // Answers continue the command's sequence.
                Ok(seq) => self.io.seq_shift = seq,
                Err(WireError::TooLarge(n)) => {
                    let e = SqlError::new(
                        1153,
                        "08S01",
                        format!("Got a packet bigger than 'max_allowed_packet' bytes ({n})"),
                    );
                    let _ = self.send_err(1, &e).await;
                    // Read (and drop) what the client still sends, for a bounded time,
                    // so it gets the error rather than a reset.
                    self.io
                        .linger(
                            n.saturating_add(64 * 1024),
                            std::time::Duration::from_secs(2),
                        )
                        .await;
                    break;
                }
                Err(_) => break,
            }
            self.shared.front.command(self.ctl.id, p.first().copied());
            let t0 = std::time::Instant::now();
            // Commands without an answer do not show in the process list.
            let shown = !matches!(
                p.first().copied(),
                Some(COM_QUIT | COM_STMT_CLOSE | COM_STMT_SEND_LONG_DATA)
            );
            let mut stat = None;
            if shown && let Some(&c) = p.first() {
                let info = self.command_info(&p);
                if matches!(c, COM_QUERY | COM_STMT_EXECUTE)
                    && self.shared.sql_stat_on.load(Ordering::Relaxed)
                    && let Some(text) = &info
                {
                    stat = self.stat_begin(text);
                }
                self.ctl.begin(super::processlist::Command::of(c), info, t0);
            }
            // KILL [CONNECTION] from another session ends a running command: a server
            // closes the connection without an answer (the client reports it lost).
            // Dropping the command closes the backend connections it holds.
            let done = tokio::select! {
                biased;
                _ = &mut killed => {
                    if let Some(st) = stat.take() {
                        self.stat_end(st, 0, std::time::Duration::ZERO, false);
                    }
                    // Ended by the kill (its bytes are added when the session ends).
                    self.shared.front.done(self.ctl.id, 0, 0);
                    break;
                }
                d = self.command(&p) => d,
            };
            let t1 = std::time::Instant::now();
            if shown {
                self.ctl.end(t1);
            }
            let d = &self.shared.metrics.durations;
            let h = match p.first().copied() {
                Some(COM_QUERY) => Some(&d.query),
                Some(COM_STMT_PREPARE) => Some(&d.prepare),
                Some(COM_STMT_EXECUTE) => Some(&d.execute),
                Some(COM_STMT_FETCH) => Some(&d.fetch),
                // No answer to time.
                Some(COM_QUIT | COM_STMT_CLOSE | COM_STMT_SEND_LONG_DATA) => None,
                _ => Some(&d.other),
            };
            if let (Some(h), Ok(())) = (h, &done) {
                h.observe(t1.saturating_duration_since(t0).as_secs_f64());
            }
            if matches!(p.first().copied(), Some(COM_QUERY | COM_STMT_EXECUTE)) && done.is_ok() {
                self.note_if_slow(t1.saturating_duration_since(t0));
            }
            if let Some(st) = stat {
                self.stat_end(
                    st,
                    p.len() as u64,
                    t1.saturating_duration_since(t0),
                    done.is_ok(),
                );
            }
            // Ended, whether answered or not (COM_QUIT, a lost client).
            self.front_done();
            if done.is_err() {
                break;
            }
            if self.ctl.killed.load(Ordering::Acquire) {
                break;
            }
        }
        let _ = self.io.stream.shutdown().await;
    }

    /// The SQL statistics at the start of a statement with text `text` (its own, or a
    /// prepared statement's): a SELECT, INSERT, UPDATE, DELETE or REPLACE (behind a
    /// MyCat hint or not) is counted running; what [`Session::stat_end`] needs.
    fn stat_begin(&mut self, text: &Arc<str>) -> Option<StatStart> {
        let sql = if text.len() > super::sqlstat::TEXT_CAP {
            super::processlist::info_text(&text.as_bytes()[..super::sqlstat::TEXT_CAP])
        } else {
            text.clone()
        };
        let rw = super::sqlstat::rw_of(hint_body(&sql))?;
        self.cmd_failed = false;
        self.cmd_local = false;
        self.cmd_rows = 0;
        let generation = self.shared.sql_stats.lock().ok()?.begin(&self.user.name);
        Some(StatStart {
            generation,
            written: self.io.written,
            sql,
            rw,
        })
    }

    /// The SQL statistics at the end of a statement [`Session::stat_begin`] counted: it
    /// is recorded unless it failed or the router answered it itself, as MyCat
    /// (`net_in`: its packet's bytes).
    fn stat_end(&mut self, st: StatStart, net_in: u64, took: std::time::Duration, ok: bool) {
        use super::sqlstat;
        if !ok || self.cmd_failed || self.cmd_local {
            if let Ok(mut stats) = self.shared.sql_stats.lock() {
                stats.end(&self.user.name, st.generation);
            }
            return;
        }
        let body = hint_body(&st.sql);
        let end_ms = super::epoch_ms();
        let rec = sqlstat::Statement {
            user: self.user.name.clone(),
            ip: self.ctl.peer.ip().to_string(),
            shape: sqlstat::cut(sqlstat::shape_of(body), sqlstat::SHAPE_CAP),
            tables: sqlstat::tables_of(body),
            sql: st.sql,
            rw: st.rw,
            start_ms: end_ms.saturating_sub(took.as_millis() as u64),
            end_ms,
            local_hour: sqlstat::local_hour(end_ms),
            net_in,
            net_out: self.io.written.saturating_sub(st.written),
            rows: self.cmd_rows,
        };
        if let Ok(mut stats) = self.shared.sql_stats.lock() {
            stats.record(&rec, st.generation);
        }
        if rec.rw == sqlstat::Rw::Read && self.shared.conditions_on.load(Ordering::Relaxed) {
            self.count_conditions(hint_body(&rec.sql));
        }
    }

    /// `show @@sql.condition`: counts the values this SELECT asks of the watched column
    /// (parsed outside the lock).
    fn count_conditions(&self, sql: &str) {
        let watch = self
            .shared
            .conditions
            .lock()
            .ok()
            .and_then(|c| c.watch.clone());
        let Some((table, column)) = watch else {
            return;
        };
        let values = super::sqlcond::values_in(sql, &table, &column);
        if values.is_empty() {
            return;
        }
        if let Ok(mut c) = self.shared.conditions.lock()
            && c.watch.as_ref() == Some(&(table, column))
        {
            c.count(values);
        }
    }

    /// `show @@sql.slow`: records the statement that just took `took`, when that is at
    /// least the threshold (`reload @@sqlslow=N`).
    fn note_if_slow(&self, took: std::time::Duration) {
        let sh = &self.shared;
        let exec_ms = took.as_millis() as u64;
        if exec_ms < sh.slow_ms.load(Ordering::Relaxed) {
            return;
        }
        sh.metrics.slow_statements.inc();
        let Some(mut sql) = self.ctl.activity.lock().ok().and_then(|a| a.info.clone()) else {
            return;
        };
        // A prepared statement's text is shared uncapped: keep at most what the process
        // list keeps of a query.
        if sql.len() > super::processlist::INFO_CAP {
            sql = super::processlist::info_text(sql.as_bytes());
        }
        let rec = super::slowlog::SlowRecord {
            user: self.ctl.user(),
            start_ms: super::epoch_ms().saturating_sub(exec_ms),
            exec_ms,
            sql,
            ip: self.ctl.peer.ip().to_string(),
            schema: self.ctl.schema.lock().ok().and_then(|s| s.clone()),
        };
        if let Ok(mut l) = sh.slow.lock() {
            l.add(rec);
        }
    }

    /// The statement text a command shows in the process list: COM_QUERY's and
    /// COM_STMT_PREPARE's (a capped copy), a prepared statement's for COM_STMT_EXECUTE
    /// (shared, not copied).
    fn command_info(&self, p: &[u8]) -> Option<Arc<str>> {
        match *p.first()? {
            COM_QUERY | COM_STMT_PREPARE => Some(super::processlist::info_text(&p[1..])),
            COM_STMT_EXECUTE => {
                let id = Reader::new(&p[1..]).u32()?;
                self.stmts.get(&id).map(|s| s.sql.clone())
            }
            _ => None,
        }
    }

    async fn command(&mut self, p: &[u8]) -> Res<()> {
        // Commands without an answer leave the server's ROW_COUNT() alone too.
        if !matches!(p.first(), Some(&(COM_STMT_CLOSE | COM_STMT_SEND_LONG_DATA))) {
            self.prev_row_count = self.row_count_told.take();
            self.prev_diag = self.diag.take();
        }
        let Some(&cmd) = p.first() else {
            return self
                .send_err(1, &SqlError::new(1047, "08S01", "Unknown command"))
                .await;
        };
        if matches!(
            cmd,
            COM_FIELD_LIST
                | COM_STATISTICS
                | COM_STMT_PREPARE
                | COM_STMT_EXECUTE
                | COM_STMT_FETCH
                | COM_STMT_RESET
        ) && let Some(e) = self.check_pins()
        {
            return self.send_err_as(1, &e, "session_lost").await;
        }
        match cmd {
            COM_QUIT => Err(Fatal),
            // MyCat: a ping fails while the router is offline (track scripts running
            // `mariadb-admin ping` see it).
            COM_PING if self.shared.is_offline() => {
                self.send_err_as(1, &offline_error(), "offline").await
            }
            COM_PING => self.send_ok(1).await,
            COM_QUERY => {
                // Borrowed unless the text is not UTF-8.
                let sql = String::from_utf8_lossy(&p[1..]);
                self.query(p, &sql).await
            }
            COM_INIT_DB => {
                let db = String::from_utf8_lossy(&p[1..]).into_owned();
                match self.check_schema(&db) {
                    Ok(()) => {
                        self.set_schema(Some(db));
                        self.send_ok(1).await
                    }
                    Err(e) => self.send_err(1, &e).await,
                }
            }
            COM_FIELD_LIST => self
                .forward(Fwd {
                    payload: p,
                    expect: Expect::FieldList,
                    read: true,
                    stmt_id: None,
                    needs_last_id: false,
                    kind: "other",
                })
                .await
                .map(|_| ()),
            COM_STATISTICS => {
                // The router's own figures: a server's would count the router's
                // backend logins, and a user without schemas has no server to ask.
                self.count("local", "router");
                let questions: u64 =
                    prometheus::core::Collector::collect(&self.shared.metrics.queries)
                        .iter()
                        .flat_map(|f| f.get_metric())
                        .map(|m| m.get_counter().get_value() as u64)
                        .sum();
                let text = statistics_text(
                    self.shared.started.elapsed(),
                    u64::try_from(self.shared.metrics.active.get()).unwrap_or(0),
                    questions,
                );
                self.io
                    .send(1, text.as_bytes())
                    .await
                    .map(|_| ())
                    .map_err(|_| Fatal)
            }
            COM_PROCESS_INFO => {
                self.count("local", "router");
                let rs = self.processlist_result(false);
                self.send_rs(rs).await
            }
            COM_PROCESS_KILL => {
                let id = Reader::new(&p[1..]).u32().unwrap_or(0);
                self.kill(id, false).await
            }
            COM_RESET_CONNECTION => {
                self.reset();
                self.send_ok(1).await
            }
            COM_CHANGE_USER => self.change_user(p).await,
            COM_SET_OPTION => {
                // 0: MYSQL_OPTION_MULTI_STATEMENTS_ON, 1: _OFF; anything else is refused
                // as the server refuses it.
                let on = match Reader::new(&p[1..]).u16() {
                    Some(0) => true,
                    Some(1) => false,
                    _ => {
                        return self
                            .send_err(1, &SqlError::new(1047, "08S01", "Unknown command"))
                            .await;
                    }
                };
                let bit = Caps::CLIENT_MULTI_STATEMENTS.bits();
                if on {
                    self.profile |= bit;
                } else {
                    self.profile &= !bit;
                }
                // Pinned connections keep the option they were opened with; let go.
                if self.pinned.is_some() && !self.in_trans && self.sticky.is_none() {
                    self.release_pinned();
                }
                let p = if self.deprecate_eof {
                    let mut ok = ok_packet(0, 0, self.status(), 0);
                    ok[0] = 0xfe;
                    ok
                } else {
                    eof_packet(self.status(), 0)
                };
                self.io.send(1, &p).await.map(|_| ()).map_err(|_| Fatal)
            }
            COM_STMT_PREPARE => self.prepare(p).await,
            COM_STMT_EXECUTE => self.execute(p).await,
            COM_STMT_SEND_LONG_DATA => {
                // No answer, as from the server; an overflow is reported at execute.
                self.long_data(p);
                Ok(())
            }
            COM_STMT_CLOSE => {
                if let Some(id) = Reader::new(&p[1..]).u32()
                    && let Some(st) = self.stmts.remove(&id)
                {
                    self.stmt_bytes = self.stmt_bytes.saturating_sub(st.sql.len());
                    if st.cursor {
                        self.close_cursor(&st.sql, st.exec_db.as_deref()).await;
                    }
                }
                Ok(())
            }
            COM_STMT_RESET => self.stmt_reset(p).await,
            COM_STMT_FETCH => self.fetch(p).await,
            _ => {
                self.send_err(
                    1,
                    &SqlError::new(1047, "08S01", format!("Unknown command {cmd:#04x}")),
                )
                .await
            }
        }
    }

    /// COM_STMT_SEND_LONG_DATA: kept until the execute, up to `max_long_data_size`
    /// bytes per session (all its statements together).
    fn long_data(&mut self, p: &[u8]) {
        let cap = self.snap.cfg.max_long_data_size;
        let mut r = Reader::new(p.get(1..).unwrap_or_default());
        let (Some(id), Some(param)) = (r.u32(), r.u16()) else {
            return;
        };
        // The cap holds for the session's long data over all its statements (a client
        // sending long data to thousands of statements never executed would otherwise
        // hold that many times the cap).
        let held: usize = self.stmts.values().map(|s| s.long_len).sum();
        let Some(s) = self.stmts.get_mut(&id) else {
            return;
        };
        if s.long_overflow {
            return;
        }
        let data = r.rest();
        if (held as u64).saturating_add(data.len() as u64) > cap {
            s.long_overflow = true;
            s.long_data = Vec::new();
            s.long_len = 0;
            tracing::warn!(
                id = self.ctl.id,
                user = %self.user.name,
                "router: session {}: long data of prepared statement {id} is over max_long_data_size ({cap} bytes); its execute is refused until COM_STMT_RESET",
                self.ctl.id
            );
            return;
        }
        s.long_len += data.len();
        s.long_data.push((param, data.to_vec()));
    }

    /// COM_STMT_RESET: forgets the statement's long data and error, and closes its
    /// cursor on the server (a fetch then gets the server's "no open cursor").
    async fn stmt_reset(&mut self, p: &[u8]) -> Res<()> {
        let id = Reader::new(p.get(1..).unwrap_or_default())
            .u32()
            .unwrap_or(0);
        let Some(s) = self.stmts.get_mut(&id) else {
            return self
                .send_err(1, &unknown_stmt(id, "mysqld_stmt_reset"))
                .await;
        };
        s.long_data = Vec::new();
        s.long_len = 0;
        s.long_overflow = false;
        let cursor = std::mem::take(&mut s.cursor);
        let (sql, db) = (s.sql.clone(), s.exec_db.clone());
        if cursor && let Some(mut pc) = self.pinned.take() {
            if let Some(bid) = cursor_stmt_id(&mut pc.conn, &sql, db.as_deref()).await {
                let mut q = vec![COM_STMT_RESET];
                q.extend_from_slice(&bid.to_le_bytes());
                self.unstick_cursor();
                let r = relay(&mut pc.conn, &mut self.io, &q, Expect::Single, None).await;
                return self.finish(pc, r).await.map(|_| ());
            }
            self.pinned = Some(pc);
        }
        self.unstick_cursor();
        self.send_ok(1).await
    }

    /// A closed statement's cursor is closed on the server too (it holds a temporary
    /// table there until then).
    async fn close_cursor(&mut self, sql: &str, db: Option<&str>) {
        if let Some(mut pc) = self.pinned.take() {
            if let Some(bid) = cursor_stmt_id(&mut pc.conn, sql, db).await {
                let mut q = vec![COM_STMT_RESET];
                q.extend_from_slice(&bid.to_le_bytes());
                if let Err(e) = pc.conn.command(&q, Expect::Single).await
                    && !matches!(e, backend::BackendError::Sql { .. })
                {
                    tracing::debug!(id = self.ctl.id, "router: closing a cursor failed: {e}");
                    // The connection is gone; a transaction on it too.
                    self.in_trans = false;
                    self.unstick_cursor();
                    return;
                }
            }
            self.pinned = Some(pc);
        }
        self.unstick_cursor();
        if !self.in_trans && self.autocommit && self.sticky.is_none() && self.pinned_more.is_empty()
        {
            self.release_pinned();
        }
    }

    /// No statement has an open cursor any more: a session pinned only for its cursor
    /// is free again.
    fn unstick_cursor(&mut self) {
        if self.sticky == Some(CURSOR) && !self.stmts.values().any(|s| s.cursor) {
            self.sticky = None;
        }
    }

    /// Sets a lasting sticky reason (it replaces a cursor's, which ends with the cursor);
    /// `stmt` is the statement that does it.
    fn stick(&mut self, why: &'static str, stmt: &str) {
        if self.sticky.is_none_or(|s| s == CURSOR) {
            tracing::debug!(
                id = self.ctl.id,
                reason = why,
                "router: session {} now uses one backend connection for good ({why})",
                self.ctl.id
            );
            self.sticky = Some(why);
            self.sticky_since = excerpt(stmt);
        }
    }

    /// Why the session cannot use data host `dh` while it holds its connection to
    /// `held`: what binds it, since which statement, and what to do.
    fn bound_error(&self, held: &Pooled, dh: &DataHostRt) -> SqlError {
        let host = &held.host.name;
        let other = &dh.cfg.name;
        let msg = match self.sticky {
            Some(CURSOR) => format!(
                "this session keeps its connection to host {host} for an open cursor of a prepared statement; statements for data host {other} cannot run until it is closed: fetch all its rows, or close or reset the statement (COM_STMT_CLOSE / COM_STMT_RESET)"
            ),
            Some(why) => format!(
                "this session is bound to its connection to host {host} since `{}` ({why}): that state exists only on that connection, so statements for data host {other} cannot run in this session{}; keep such sessions on one data host, or end the binding with COM_RESET_CONNECTION or a new connection",
                self.sticky_since,
                if self.in_trans {
                    " (a transaction is open too)"
                } else {
                    ""
                }
            ),
            None => format!(
                "this session's open transaction holds a connection to host {host}; statements for data host {other} cannot join it: commit or roll back first"
            ),
        };
        SqlError::new(1105, "HY000", msg)
    }

    /// Checks the backend connections this session holds against writer switches and
    /// reloads. A retired connection (its host lost the write role, or a reload
    /// replaced it by a different server) is closed, which rolls back what it held on
    /// the server; when that was a transaction or sticky session state the client gets
    /// an error for the statement it sent, the session forgets that state, and later
    /// statements go to the current write host. A reload that kept the same server moves
    /// the connection over silently.
    fn check_pins(&mut self) -> Option<SqlError> {
        if self.pinned.is_none() && self.pinned_more.is_empty() {
            return None;
        }
        let mut why: Option<String> = None;
        let mut check = |p: Pooled| match p.revalidate() {
            backend::Revalidated::Current(p) => Some(p),
            backend::Revalidated::Retired(w) => {
                why.get_or_insert(w);
                None
            }
        };
        let main = self.pinned.take().and_then(&mut check);
        let more: Vec<Pooled> = std::mem::take(&mut self.pinned_more)
            .into_iter()
            .filter_map(&mut check)
            .collect();
        let Some(why) = why else {
            self.pinned = main;
            self.pinned_more = more;
            return None;
        };
        let txn = self.in_trans || !more.is_empty();
        let sticky = self.sticky;
        if !txn && sticky.is_none() {
            // Held for autocommit=0 before any statement, or between the two halves of
            // a SET: nothing on it is lost.
            self.pinned = main;
            self.pinned_more = more;
            self.release_pinned();
            return None;
        }
        // Closing the others rolls back the rest of a transaction over several hosts.
        drop(main);
        drop(more);
        self.forget_server_state();
        let lost = match (txn, sticky) {
            (true, Some(s)) => format!("its open transaction and session state ({s})"),
            (true, None) => "its open transaction".to_string(),
            (false, Some(s)) => format!("its session state ({s})"),
            (false, None) => String::new(),
        };
        tracing::warn!(
            id = self.ctl.id,
            user = %self.user.name,
            reason = %why,
            "router: session {}: {why}: {lost} on the old connection is lost; the client gets an error",
            self.ctl.id
        );
        Some(if txn {
            // A rollback the client can retry: JDBC maps SQLSTATE 40001 to
            // SQLTransactionRollbackException and keeps the connection.
            SqlError::new(
                1213,
                "40001",
                format!(
                    "Transaction rolled back by the router: {why}; nothing of it was committed: restart the transaction"
                ),
            )
        } else {
            SqlError::new(
                1105,
                "HY000",
                format!(
                    "Session state lost: {why}; {lost} (user variables, temporary tables, locks, cursors) is gone and this statement was not run; the next statements run on the current write host"
                ),
            )
        })
    }

    fn reset(&mut self) {
        self.vars.clear();
        self.user_vars.clear();
        self.names = self.handshake_names.clone();
        self.autocommit = true;
        self.txn = None;
        self.last_insert_id = 0;
        self.stmts.clear();
        self.stmt_bytes = 0;
        self.sticky = None;
        self.in_trans = false;
        // A pinned connection may hold a transaction, locks or temporary tables:
        // closing it is the only way to be sure they are gone.
        self.pinned = None;
        self.pinned_more.clear();
    }

    async fn change_user(&mut self, p: &[u8]) -> Res<()> {
        let h = match handshake::parse_change_user(p, self.caps) {
            Ok(h) => h,
            Err(e) => {
                return self
                    .send_err(
                        1,
                        &SqlError::new(1043, "08S01", format!("Bad handshake: {e}")),
                    )
                    .await;
            }
        };
        // As the server does: the session is reset whether or not the new login works
        // (its transaction rolled back, its variables and statements gone).
        self.reset();
        let (user, seq) = match authenticate(
            &mut self.io,
            &self.shared,
            &self.snap,
            self.peer,
            &self.nonce,
            1,
            &h.user,
            h.plugin.as_deref(),
            h.auth.clone(),
            false,
            self.tls,
        )
        .await
        {
            Ok(x) => x,
            // The client has its error and goes on as the user it was (as with MariaDB,
            // whose client libraries keep the old user after a failed change).
            Err(AuthFail::Refused) => return Ok(()),
            Err(AuthFail::Wire) => return Err(Fatal),
        };
        // A schema the new user may not use fails the whole change: the old user and
        // schema stay (not the new user in the old user's schema).
        let db = h.database.or_else(|| user.default_schema.clone());
        if let Some(db) = &db
            && let Some(e) = schema_error(&self.snap, &user, db)
        {
            return self.send_err(seq, &e).await;
        }
        // The new user's max_connections counts this session (as the server's
        // max_user_connections does on a change of user).
        if user.name != self.user.name
            && let Some(e) = over_max_connections(&self.shared, &user)
        {
            return self.send_err(seq, &e).await;
        }
        if let Ok(mut u) = self.ctl.user.lock() {
            u.clone_from(&user.name);
        }
        self.user = user;
        if h.collation != 0 {
            self.handshake_names = names_for(h.collation);
            self.names = self.handshake_names.clone();
        }
        self.set_schema(db);
        self.send_ok(seq).await
    }

    async fn kill(&mut self, id: u32, query: bool) -> Res<()> {
        if id == self.ctl.id && !query {
            let e = SqlError::new(1927, "70100", "Connection was killed");
            let _ = self.send_err(1, &e).await;
            return Err(Fatal);
        }
        match self.shared.session(id) {
            None => {
                self.send_err(
                    1,
                    &SqlError::new(1094, "HY000", format!("Unknown thread id: {id}")),
                )
                .await
            }
            Some(c) if c.user() != self.user.name && !self.user.admin => {
                self.send_err(
                    1,
                    &SqlError::new(1095, "HY000", format!("You are not owner of thread {id}")),
                )
                .await
            }
            Some(_) => {
                self.shared.kill(id, query).await;
                self.send_ok(1).await
            }
        }
    }

    async fn query(&mut self, p: &[u8], sql: &str) -> Res<()> {
        // EXPLAIN2 runs `EXPLAIN <statement>` on the data node it names: as the statement
        // under a `datanode=` hint, with that hint's checks.
        let explain2;
        let (p, sql): (&[u8], &str) = match self.explain2_text(sql) {
            None => (p, sql),
            Some(Ok(text)) => {
                explain2 = (shard::query_payload(&text), text);
                (&explain2.0, &explain2.1)
            }
            Some(Err(e)) => return self.send_err(1, &e).await,
        };
        // What runs is the text behind a mycat hint (the hint never reaches a server;
        // read as SQL, `/*!mycat:db_type=slave*/` made every hinted read a write).
        // The guard reads the whole text.
        let a = sql::analyze(hint_body(sql));
        if let Err(e) = self.guard(sql) {
            return self.send_err(1, &e).await;
        }
        // `@@local_infile` and the variables tables read by a statement the server
        // answers: the router's setting, as SELECT @@local_infile and SHOW VARIABLES
        // give it (clients decide from it whether to send files).
        let infile_text = if matches!(a.kind, Kind::Select { .. }) && !a.multi && !hinted(sql) {
            sql::with_local_infile(sql, self.snap.cfg.local_infile)
        } else {
            None
        };
        let infile_payload = infile_text.as_deref().map(shard::query_payload);
        let (p, sql) = match (&infile_payload, &infile_text) {
            (Some(payload), Some(text)) => (payload.as_slice(), text.as_str()),
            _ => (p, sql),
        };
        if let Some(e) = self.check_pins() {
            if matches!(a.kind, Kind::Rollback) && !a.multi {
                // What ROLLBACK asks for has happened.
                self.count("local", "router");
                return self.send_ok(1).await;
            }
            return self.send_err_as(1, &e, "session_lost").await;
        }
        if a.multi
            && let Some(e) = self.multi_refused(&a)
        {
            return self.send_err(1, &e).await;
        }
        if let Some(e) = self.embedded_load(sql) {
            return self.send_err(1, &e).await;
        }
        if !a.multi && !hinted(sql) {
            match plan::explain::form(sql) {
                // EXPLAIN <statement>: the router's plan, as MyCat answers it.
                Some(plan::explain::Form::Router { inner }) => {
                    self.count("local", "router");
                    return match self.explain_result(inner).await {
                        Ok(rs) => self.send_rs(rs).await,
                        Err(e) => self.send_err(1, &e).await,
                    };
                }
                // ANALYZE runs the statement on the server: the access rules of running it.
                Some(plan::explain::Form::Node {
                    inner,
                    analyze: true,
                    ..
                }) => {
                    if let Err(e) = self.check_access(inner, &sql::analyze(inner)) {
                        return self.send_err(1, &e).await;
                    }
                }
                _ => {}
            }
        }
        // SHOW WARNINGS and the like after a statement merged from several nodes: the
        // router holds its diagnostics (and keeps them, as a server does).
        if a.diagnostics
            && !a.multi
            && let Some(d) = self.prev_diag.take()
        {
            let answer = super::diag::answer(sql, &d);
            self.diag = Some(d);
            if let Some(rs) = answer {
                self.count("local", "router");
                return self.send_rs(rs).await;
            }
        }
        // The router's own process list and information_schema tables (never the
        // servers', which show the backend login).
        // (A statement behind a MyCat hint is analyzed with the hint's words.)
        let behind_hint = hinted(sql);
        if ((matches!(a.kind, Kind::Show) && !a.multi) || behind_hint)
            && let Some(full) = super::processlist::show_processlist(hint_body(sql))
        {
            self.count("local", "router");
            let rs = self.processlist_result(full);
            return self.send_rs(rs).await;
        }
        if (matches!(a.kind, Kind::Select { .. }) || behind_hint)
            && let Some(own) = super::own_tables::mentioned(sql)
        {
            if matches!(a.kind, Kind::Select { lock: false }) && a.is_read() && !behind_hint {
                return self.own_tables(sql).await;
            }
            return self
                .send_err(1, &super::own_tables::not_here(own.name()))
                .await;
        }
        match &a.kind {
            Kind::Empty => {
                return self
                    .send_err(1, &SqlError::new(1065, "42000", "Query was empty"))
                    .await;
            }
            Kind::Use(db) => {
                let db = db.clone();
                return match self.check_schema(&db) {
                    Ok(()) => {
                        self.set_schema(Some(db));
                        self.send_ok(1).await
                    }
                    Err(e) => self.send_err(1, &e).await,
                };
            }
            Kind::ShowDatabases => return self.show_databases(sql).await,
            Kind::ShowTables if !self.system_db_list(sql) => return self.show_tables(sql).await,
            Kind::ShowMeta(m) if !self.system_db_list(sql) => {
                return match self.meta_result(sql, *m).await {
                    Ok(rs) => self.send_rs(rs).await,
                    Err(e) => self.send_err(1, &e).await,
                };
            }
            Kind::Show if !a.multi && !hinted(sql) => {
                if sql::is_show_mycat_status(sql) {
                    return self.mycat_status().await;
                }
                if self.own_grants(sql) {
                    let rs = self.grants_result();
                    return self.send_rs(rs).await;
                }
                if let Some(m) = sql::mapped(sql)
                    && !self.is_system_db(&m.db)
                {
                    return self.show_mapped(sql, m).await;
                }
                if sql::is_show_variables(sql)
                    && let Ok(node) = self.any_node()
                {
                    return self.show_variables(&node, sql).await;
                }
            }
            // In a multi-statement text the SET goes to the server with the rest (the
            // session keeps that connection: what the other statements did is not
            // recorded); a refused SET is refused either way.
            Kind::Set(items)
                if !a.multi || items.iter().any(|i| matches!(i, SetItem::Refused(_))) =>
            {
                // A SET reading a table (`SET @x = (SELECT ...)`) runs on the session's
                // connection: the same qualifiers as any statement, but not planned. (A
                // refused SET is refused as such.)
                let refused = items.iter().any(|i| matches!(i, SetItem::Refused(_)));
                if let Some(e) = self.set_statement_refusal(sql) {
                    return self.send_err_as(1, &e, "unroutable").await;
                }
                let q = match self.qualify(sql) {
                    _ if refused => Ok(plan::Qualified::default()),
                    Ok(q) if q.schema.is_some() => Err(SqlError::new(
                        1105,
                        "HY000",
                        "a SET runs in the session's schema: read the tables of another schema in a statement of its own",
                    )),
                    Ok(q) => self.check_kept_default(&q.kept).map(|()| q),
                    Err(e) => Err(e),
                };
                return match q {
                    Ok(q) => {
                        let rewritten = q.text.as_deref().map(shard::query_payload);
                        self.set(rewritten.as_deref().unwrap_or(p), items.clone())
                            .await
                    }
                    Err(e) => self.send_err(1, &e).await,
                };
            }
            Kind::Kill { query, id } => {
                let (q, id) = (*query, *id);
                return self.kill(u32::try_from(id).unwrap_or(0), q).await;
            }
            Kind::Commit | Kind::Rollback if !self.pinned_more.is_empty() => {
                let commit = matches!(a.kind, Kind::Commit);
                return self.end_distributed(commit).await;
            }
            Kind::Commit | Kind::Rollback if self.pinned.is_none() && !a.multi => {
                self.count("local", "router");
                return self.send_ok(1).await;
            }
            Kind::Select { lock: false } if !a.multi => {
                if let Some(items) = sql::local_select(sql) {
                    return self.local_select(items).await;
                }
                if !hinted(sql)
                    && let Some(r) = self.info_schema_plan(sql)
                {
                    match (self.qualify(sql), r) {
                        (Err(e), _) | (Ok(_), Err(e)) => return self.send_err(1, &e).await,
                        (Ok(q), Ok(targets)) if q == plan::Qualified::default() => {
                            return self.info_schema(targets).await;
                        }
                        _ => {}
                    }
                }
                if let Some(n) = self.prev_row_count
                    && let Some(name) = row_count_select(sql)
                {
                    self.count("local", "router");
                    let mut rs = ResultSet::default();
                    rs.columns.push((name, TYPE_LONGLONG));
                    rs.rows.push(vec![Some(n.to_string())]);
                    return self.send_rs(rs).await;
                }
            }
            _ => {}
        }
        // Database qualifiers: refused, removed, or the statement moves to the schema
        // all its tables are in (for its duration, as an execute runs in the schema it
        // was prepared in).
        let q = match self.qualify(sql) {
            Ok(q) => q,
            Err(e) => return self.send_err(1, &e).await,
        };
        let rewritten = q.text.as_deref().map(shard::query_payload);
        let (p, sql) = match (&rewritten, &q.text) {
            (Some(payload), Some(text)) => (payload.as_slice(), text.as_str()),
            _ => (p, sql),
        };
        let saved = q.schema.clone().map(|h| self.schema.replace(h));
        // DDL may change tables' columns: the names the planner keeps are dropped
        // (again once it has run, so that no read during it stays).
        let ddl = (matches!(a.kind, Kind::Other) || a.multi)
            && crate::router::columns::may_change_columns(sql);
        if ddl {
            self.forget_columns();
        }
        let r = self.query_routed(p, sql, &a, &q.kept).await;
        if ddl {
            self.forget_columns();
        }
        if let Some(s) = saved {
            self.schema = s;
        }
        r
    }

    /// Drops the column names the planner keeps ([`crate::router::columns`]).
    fn forget_columns(&self) {
        if let Ok(mut c) = self.shared.columns.lock() {
            c.clear();
        }
    }

    /// [`Session::query`] of a statement the router does not answer itself, its
    /// qualifiers dealt with (`kept`: [`plan::Qualified::kept`]).
    async fn query_routed(
        &mut self,
        p: &[u8],
        sql: &str,
        a: &sql::Analysis,
        kept: &[String],
    ) -> Res<()> {
        if let Err(e) = self.check_access(sql, a) {
            return self.send_err(1, &e).await;
        }
        if plan::infile::local_load(sql) == plan::infile::LocalLoad::Alone {
            return self.load_local(p, sql).await;
        }
        // Global sequences: `next value for MYCATSEQ_X` becomes the id.
        let filled;
        // Not for an EXPLAIN, which takes no ids (MyCat refuses it; the planner does).
        let (p, sql): (std::borrow::Cow<'_, [u8]>, &str) = if sql
            .as_bytes()
            .windows(9)
            .any(|w| w.eq_ignore_ascii_case(b"mycatseq_"))
            && !explains(sql)
        {
            match self.fill_nextval(sql).await {
                Ok(Some(text)) => {
                    filled = text;
                    (shard::query_payload(&filled).into(), filled.as_str())
                }
                Ok(None) => (p.into(), sql),
                Err(e) => return self.send_err(1, &e).await,
            }
        } else {
            (p.into(), sql)
        };
        let p: &[u8] = &p;
        // A statement that binds the session to its connection (user variables,
        // FOUND_ROWS(), several statements) is not planned for `sql_max_limit` alone.
        if let Some(planned) = self.shard_plan(sql, a.sticky.is_none()) {
            return self.run_planned(p, sql, a, planned).await;
        }
        if let Err(e) = self.check_kept_default(kept) {
            return self.send_err(1, &e).await;
        }
        if let Some(why) = a.sticky {
            self.stick(why, sql);
        }
        let read = a.is_read();
        self.follow_last = a.diagnostics;
        self.forward(Fwd {
            payload: p,
            expect: Expect::Results,
            read,
            stmt_id: None,
            needs_last_id: a.last_insert_id,
            kind: if read { "read" } else { "write" },
        })
        .await
        .map(|_| ())
    }

    /// `EXPLAIN2 [FORMAT=JSON] datanode=dn sql=<statement>` as the statement the router
    /// runs for it: `EXPLAIN [FORMAT=JSON] <statement>` under a `datanode=` hint (MyCat's
    /// Explain2Handler sends exactly that to the node). `None` for other statements.
    fn explain2_text(&self, sql: &str) -> Option<Result<String, SqlError>> {
        let plan::explain::Form::Node2 { node, sql: text } = plan::explain::form(sql)? else {
            return None;
        };
        if node.is_empty() {
            return Some(Err(SqlError::new(
                1064,
                "42000",
                format!("EXPLAIN2 is written {}", plan::explain::EXPLAIN2_SYNTAX),
            )));
        }
        if node.contains("*/") {
            return Some(Err(SqlError::new(
                1105,
                "HY000",
                format!("EXPLAIN2 datanode={node}: no such data node"),
            )));
        }
        Some(Ok(format!("/*#mycat:datanode={node}*/{text}")))
    }

    /// `EXPLAIN <statement>`: the router's plan of the statement in MyCat's form, a row
    /// `DATA_NODE`, `SQL` per node it runs on. The statement's qualifiers are checked as
    /// if it ran; nothing runs but the lookups of ER parent rows an INSERT needs.
    async fn explain_result(&mut self, inner: &str) -> Result<ResultSet, SqlError> {
        if !crate::router::sequence::find_nextval(inner).is_empty() {
            return Err(plan::explain::sequence_refused());
        }
        let q = self.qualify(inner)?;
        let text = q.text.clone().unwrap_or_else(|| inner.to_string());
        let saved = q.schema.clone().map(|h| self.schema.replace(h));
        let r = self.explain_plan(&text).await;
        if let Some(s) = saved {
            self.schema = s;
        }
        let p = r.inspect_err(|_| {
            self.shared
                .metrics
                .errors
                .with_label_values(&["unroutable"])
                .inc();
        })?;
        let mut rs = ResultSet::new(&["DATA_NODE", "SQL"]);
        for (node, sql) in plan::explain::rows(&p, &text) {
            rs.row(vec![Some(node), Some(sql)]);
        }
        Ok(rs)
    }

    /// A multi-statement text runs on the server as a whole, with one answer per
    /// statement; one holding a statement the router answers or tracks itself (which it
    /// cannot split off, and the server must not run in its place: a `KILL` there would
    /// take the router's id for a server thread id) gets an error instead.
    fn multi_refused(&self, a: &sql::Analysis) -> Option<SqlError> {
        let distributed = !self.pinned_more.is_empty();
        let what = match &a.kind {
            Kind::Use(_) => "USE",
            Kind::ShowDatabases => "SHOW DATABASES",
            Kind::ShowTables => "SHOW TABLES",
            Kind::ShowMeta(m) => m.what(),
            Kind::Show if a.first_mapped => sql::MAPPED,
            Kind::Kill { .. } => "KILL",
            Kind::Commit | Kind::Rollback if distributed => {
                "COMMIT or ROLLBACK of a transaction over several data hosts"
            }
            _ => match a.later_router {
                Some(w) => w,
                None if a.later_txn_end && distributed => {
                    "COMMIT or ROLLBACK of a transaction over several data hosts"
                }
                None => return None,
            },
        };
        Some(SqlError::new(
            1105,
            "HY000",
            format!(
                "{what} is answered by the router and cannot be part of a multi-statement text: send it as a statement of its own (nothing of this text was run)"
            ),
        ))
    }

    fn count(&mut self, kind: &'static str, target: &str) {
        if kind == "local" {
            self.cmd_local = true;
        }
        if let Some((_, _, c)) = self
            .counters
            .iter()
            .find(|(k, t, _)| *k == kind && t == target)
        {
            c.inc();
            return;
        }
        let c = self
            .shared
            .metrics
            .queries
            .with_label_values(&[kind, target]);
        c.inc();
        if self.counters.len() < 32 {
            self.counters.push((kind, target.to_string(), c));
        }
    }

    async fn set(&mut self, p: &[u8], items: Vec<SetItem>) -> Res<()> {
        if let Some(SetItem::Refused(what)) =
            items.iter().find(|i| matches!(i, SetItem::Refused(_)))
        {
            let e = SqlError::new(
                1227,
                "42000",
                format!(
                    "{what} is not allowed through the router; run it on the MySQL servers directly"
                ),
            );
            return self.send_err(1, &e).await;
        }
        if items.iter().any(|i| matches!(i, SetItem::Sticky)) {
            let text = String::from_utf8_lossy(p.get(1..).unwrap_or_default());
            self.stick("SET the router cannot replay", &text);
            return self
                .forward(Fwd {
                    payload: p,
                    expect: Expect::Results,
                    read: false,
                    stmt_id: None,
                    needs_last_id: false,
                    kind: "write",
                })
                .await
                .map(|_| ());
        }
        let only_autocommit = items.iter().all(|i| matches!(i, SetItem::Autocommit(_)));
        if only_autocommit && self.pinned.is_none() {
            for i in &items {
                if let SetItem::Autocommit(v) = i {
                    self.autocommit = *v;
                }
            }
            self.count("local", "router");
            return self.send_ok(1).await;
        }
        let exprs: Vec<String> = items
            .iter()
            .filter_map(|i| match i {
                SetItem::Expr { name } => Some(name.clone()),
                _ => None,
            })
            .collect();
        // Keep the connection until its recorded state matches what the SET did: a
        // connection back in the pool with unrecorded session state would hand that
        // state (sql_mode, charset, isolation, autocommit=0) to the next client.
        self.hold_next = true;
        // Validate on a real server (a bad value gets the server's error), then record.
        let out = self
            .forward(Fwd {
                payload: p,
                expect: Expect::Results,
                read: false,
                stmt_id: None,
                needs_last_id: false,
                kind: "write",
            })
            .await?;
        self.hold_next = false;
        if out.is_some_and(|o| o.error.is_none()) {
            let mut items = items;
            if !exprs.is_empty() {
                let text = String::from_utf8_lossy(p.get(1..).unwrap_or_default());
                items.extend(self.read_back(&exprs, &text).await);
            }
            self.record_set(&items);
        }
        if !self.in_trans && self.autocommit && self.sticky.is_none() && self.pinned_more.is_empty()
        {
            self.release_pinned();
        }
        Ok(())
    }

    /// Reads the values expression-valued SETs produced, as replayable constants. If
    /// that fails the session keeps its connection for good instead.
    async fn read_back(&mut self, names: &[String], stmt: &str) -> Vec<SetItem> {
        let Some(p) = self.pinned.as_mut() else {
            return Vec::new();
        };
        let cols: Vec<String> = names.iter().map(|n| format!("@@SESSION.{n}")).collect();
        match p.conn.query(&format!("SELECT {}", cols.join(", "))).await {
            Ok(r) if r.rows.len() == 1 => names
                .iter()
                .zip(&r.rows[0])
                .map(|(n, v)| SetItem::Var {
                    name: n.clone(),
                    value: sql_literal(v.as_deref()),
                })
                .collect(),
            _ => {
                self.stick("SET the router could not read back", stmt);
                Vec::new()
            }
        }
    }

    fn record_set(&mut self, items: &[SetItem]) {
        for i in items {
            match i {
                SetItem::Names(n) => {
                    self.names = n.clone();
                    // `SET NAMES` also resets these three; forget older values.
                    self.vars.retain(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "character_set_client"
                                | "character_set_connection"
                                | "character_set_results"
                                | "collation_connection"
                        )
                    });
                }
                SetItem::Autocommit(v) => self.autocommit = *v,
                SetItem::Var { name, value } => {
                    match self.vars.iter_mut().find(|(k, _)| k == name) {
                        Some(v) => v.1 = value.clone(),
                        None => self.vars.push((name.clone(), value.clone())),
                    }
                }
                SetItem::SessionTransaction(t) => self.txn = Some(t.clone()),
                SetItem::UserVar { name, value } => {
                    match self
                        .user_vars
                        .iter_mut()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    {
                        Some(v) => v.1 = value.clone(),
                        None => self.user_vars.push((name.clone(), value.clone())),
                    }
                }
                SetItem::Sticky | SetItem::Refused(_) | SetItem::Expr { .. } => {}
            }
        }
        // The connection that ran the SET now has exactly this state.
        let (names, ac, vars, txn, uv) = (
            self.names.clone(),
            self.autocommit,
            self.vars.clone(),
            self.txn.clone(),
            self.user_vars.clone(),
        );
        if let Some(p) = self.pinned.as_mut() {
            p.conn.names = names;
            p.conn.autocommit = ac;
            p.conn.vars = vars;
            p.conn.txn = txn;
            p.conn.user_vars = uv;
        }
    }

    /// Keeps `pc` for the next statements; a connection already kept for another data
    /// host stays kept too (a transaction over several).
    fn pin(&mut self, pc: Pooled) {
        if let Some(old) = self.pinned.replace(pc) {
            self.pinned_more.push(old);
        }
    }

    fn release_pinned(&mut self) {
        if let Some(p) = self.pinned.take() {
            let host = p.host.clone();
            host.pool.put(p);
        }
    }

    /// Gets the connection for a statement: the pinned one, else one from the pool of
    /// the read or write host.
    async fn acquire(&mut self, read: bool) -> Result<(Pooled, String), SqlError> {
        let follow_last = std::mem::take(&mut self.follow_last);
        let (mut dh, db) = self.target()?;
        if let Some(i) = self
            .pinned_more
            .iter()
            .position(|p| dh.hosts.iter().any(|h| Arc::ptr_eq(h, &p.host)))
        {
            self.count_execute();
            return Ok((self.pinned_more.swap_remove(i), db));
        }
        if let Some(p) = self.pinned.take() {
            if dh.hosts.iter().any(|h| Arc::ptr_eq(h, &p.host)) {
                self.count_execute();
                return Ok((p, db));
            }
            if self.sticky.is_none() && (self.in_trans || !self.autocommit) {
                // A transaction reaching a second data host.
                if let Err(e) = self.second_host(&p, &dh) {
                    self.pinned = Some(p);
                    return Err(e);
                }
                self.pinned_more.push(p);
                self.begin_pending = self.autocommit;
            } else if self.sticky.is_none() {
                // Held for nothing that lasts (no transaction, no state only it has):
                // back to its pool.
                p.host.clone().pool.put(p);
            } else {
                let e = self.bound_error(&p, &dh);
                self.pinned = Some(p);
                return Err(e);
            }
        }
        let write = !(read && self.autocommit && !self.in_trans && self.sticky.is_none());
        let mut host = if write { dh.writer() } else { dh.reader() };
        // Its connection is idle in its pool: borrowing prefers it below.
        if follow_last
            && !write
            && let Some(last) = self.last_host.as_ref().filter(|h| {
                dh.hosts.iter().any(|x| Arc::ptr_eq(x, h))
                    && h.pool.idle_threads().contains(&self.last_backend)
            })
        {
            host = last.clone();
        }
        let mut tries = 0;
        loop {
            let r = backend::borrow_prefer(&host, self.profile, self.last_backend).await;
            let p = match r {
                Ok(p) => p,
                // A read host that cannot be reached (it died since its last heartbeat):
                // the statement has not started, so the write host answers it.
                Err(e)
                    if !write
                        && e.code != 1040
                        && tries < 2
                        && !Arc::ptr_eq(&dh.writer(), &host) =>
                {
                    let writer = dh.writer();
                    tracing::warn!(
                        data_host = %dh.cfg.name,
                        host = %host.name,
                        "data host {}: read host {} cannot be reached, read sent to write host {}: {}",
                        dh.cfg.name,
                        host.name,
                        writer.name,
                        e.msg
                    );
                    tries += 1;
                    host = writer;
                    continue;
                }
                Err(e) => {
                    self.shared
                        .metrics
                        .borrow_timeouts
                        .with_label_values(&[&dh.cfg.name, &host.name])
                        .inc();
                    return Err(e);
                }
            };
            // A reload replaced the data host while the connection was being borrowed
            // (its old hosts are retired as the new ones are put in place).
            if tries < 2
                && let Some(cur) = self.shared.data_host(&dh.cfg.name)
                && !Arc::ptr_eq(&cur, &dh)
            {
                tries += 1;
                drop(p);
                dh = cur;
                host = if write { dh.writer() } else { dh.reader() };
                continue;
            }
            // The write role moved while the connection was being borrowed.
            let now = dh.writer();
            if write && !Arc::ptr_eq(&now, &p.host) && tries < 2 {
                tries += 1;
                host = now;
                p.host.clone().pool.put(p);
                continue;
            }
            self.count_execute();
            return Ok((p, db));
        }
    }

    /// Brings a backend connection's session state in line with the client's.
    async fn sync(
        &mut self,
        c: &mut BackendConn,
        db: &str,
        needs_last_id: bool,
    ) -> Result<(), backend::BackendError> {
        if c.db.as_deref() != Some(db) {
            c.init_db(db).await?;
        }
        let mut sets: Vec<String> = Vec::new();
        // A character set variable the connection has and the session has not (or with
        // another value) is undone by SET NAMES, not by `=DEFAULT` (the server's global
        // default is not what the session's SET NAMES gave it).
        let names_vars_differ = c
            .vars
            .iter()
            .any(|(k, v)| is_names_var(k) && !self.vars.iter().any(|(n, w)| n == k && w == v));
        if c.names != self.names || names_vars_differ {
            // SET NAMES is its own statement; it sets character_set_client,
            // character_set_connection, character_set_results and collation_connection,
            // so the values recorded for those are gone (the session's own are set again
            // below).
            c.query(&format!("SET NAMES {}", self.names)).await?;
            c.names = self.names.clone();
            c.vars.retain(|(k, _)| !is_names_var(k));
        }
        if c.autocommit != self.autocommit {
            sets.push(format!("autocommit={}", u8::from(self.autocommit)));
        }
        if c.vars != self.vars {
            for (k, _) in &c.vars {
                if !self.vars.iter().any(|(n, _)| n == k) {
                    sets.push(format!("{k}=DEFAULT"));
                }
            }
            for (k, v) in &self.vars {
                if !c.vars.iter().any(|(n, w)| n == k && w == v) {
                    sets.push(format!("{k}={v}"));
                }
            }
        }
        if !sets.is_empty() {
            c.query(&format!("SET SESSION {}", sets.join(", "))).await?;
            c.autocommit = self.autocommit;
            c.vars = self.vars.clone();
        }
        if c.user_vars != self.user_vars {
            // A variable the session does not have is set to NULL, which is what reading
            // an unset one gives.
            let mut uv: Vec<String> = Vec::new();
            for (k, _) in &c.user_vars {
                if !self
                    .user_vars
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(k))
                {
                    uv.push(format!("{k}=NULL"));
                }
            }
            for (k, v) in &self.user_vars {
                if !c.user_vars.iter().any(|(n, w)| n == k && w == v) {
                    uv.push(format!("{k}={v}"));
                }
            }
            if !uv.is_empty() {
                c.query(&format!("SET {}", uv.join(", "))).await?;
            }
            c.user_vars = self.user_vars.clone();
        }
        if c.txn != self.txn {
            // Without one of its own the session gets the server's defaults back (its
            // global isolation level, which need not be REPEATABLE READ).
            let t = self.txn.clone().unwrap_or_else(|| {
                if c.version.contains("MariaDB") {
                    "SET SESSION tx_isolation=DEFAULT, tx_read_only=DEFAULT".into()
                } else {
                    "SET SESSION transaction_isolation=DEFAULT, transaction_read_only=DEFAULT"
                        .into()
                }
            });
            c.query(&t).await?;
            c.txn = self.txn.clone();
        }
        if std::mem::take(&mut self.begin_pending) {
            c.query("START TRANSACTION").await?;
        }
        if needs_last_id && c.last_insert_id != self.last_insert_id {
            c.query(&format!("SELECT LAST_INSERT_ID({})", self.last_insert_id))
                .await?;
            c.last_insert_id = self.last_insert_id;
        }
        Ok(())
    }

    /// Sends a command to a backend and forwards the answer. `Ok(None)` when the
    /// client got an error instead.
    async fn forward(&mut self, f: Fwd<'_>) -> Res<Option<Outcome>> {
        let read = f.read || matches!(f.expect, Expect::FieldList);
        let (mut pc, db) = match self.acquire(read).await {
            Ok(x) => x,
            Err(e) => {
                self.send_err(1, &e).await?;
                return Ok(None);
            }
        };
        if let Err(e) = self.sync(&mut pc.conn, &db, f.needs_last_id).await {
            let host = pc.host.name.clone();
            drop(pc);
            self.in_trans = false;
            self.send_err(1, &e.to_sql(&host)).await?;
            return Ok(None);
        }
        self.count(f.kind, &pc.host.name);
        self.set_current(Some((pc.host.clone(), pc.conn.thread_id)));
        let r = relay(&mut pc.conn, &mut self.io, f.payload, f.expect, f.stmt_id).await;
        self.set_current(None);
        self.finish(pc, r).await
    }

    /// A command is done: counts it and its bytes (`show @@command`, `show @@processor`)
    /// and shows the connections the session keeps (`show @@session`, `show @@backend`).
    fn front_done(&mut self) {
        let (r, w) = (self.io.read, self.io.written);
        self.shared.front.done(
            self.ctl.id,
            r.saturating_sub(self.front_in),
            w.saturating_sub(self.front_out),
        );
        (self.front_in, self.front_out) = (r, w);
        // Published only when the kept connections changed (not at every statement of
        // a transaction).
        let key = |pc: &backend::Pooled| (Arc::as_ptr(&pc.host) as usize, pc.conn.thread_id);
        let kept = self.pinned.iter().chain(&self.pinned_more);
        if kept.clone().map(key).eq(self.held_shown.iter().copied()) {
            return;
        }
        self.held_shown = kept.clone().map(key).collect();
        let v: Vec<_> = kept
            .map(|pc| (pc.host.clone(), pc.conn.thread_id))
            .collect();
        if let Ok(mut h) = self.ctl.held.lock() {
            *h = v;
        }
    }

    fn set_current(&self, v: Option<(Arc<backend::Host>, u32)>) {
        if let Ok(mut c) = self.ctl.current.lock() {
            *c = v;
        }
    }

    /// The pinned connections are gone (closed or lost): what lived on them — an open
    /// transaction, session state, cursors — is gone too.
    fn forget_server_state(&mut self) {
        self.in_trans = false;
        self.sticky = None;
        self.dtx_logged = false;
        self.begin_pending = false;
        self.hold_next = false;
        self.last_backend = 0;
        self.last_host = None;
        for s in self.stmts.values_mut() {
            s.cursor = false;
        }
    }

    /// After a forwarded command: session updates, pin or release the connection.
    async fn finish(
        &mut self,
        mut pc: Pooled,
        r: Result<Outcome, RelayError>,
    ) -> Res<Option<Outcome>> {
        match r {
            Ok(o) => {
                self.cmd_rows += o.rows;
                self.cmd_failed |= o.error.is_some();
                self.last_backend = pc.conn.thread_id;
                self.last_host = Some(pc.host.clone());
                if o.last_insert_id != 0 {
                    self.last_insert_id = o.last_insert_id;
                    pc.conn.last_insert_id = o.last_insert_id;
                }
                // An ERR packet carries no status flags: an error inside a transaction
                // leaves the transaction open on the server (a deadlock rolls it back,
                // which the next statement's status then tells), so it stays pinned.
                // Nor does a prepare's answer: a COM_STMT_PREPARE inside a transaction
                // must not hand its connection, transaction open, back to the pool.
                self.in_trans = if o.error.is_some() || !o.status_seen {
                    self.in_trans || o.in_trans()
                } else {
                    o.in_trans()
                };
                let is_writer = matches!(pc.host.role, backend::Role::Writer(_));
                let keep = is_writer
                    && (self.in_trans
                        || !self.autocommit
                        || self.sticky.is_some()
                        || o.cursor()
                        || std::mem::take(&mut self.hold_next));
                if o.cursor() && self.sticky.is_none() {
                    self.sticky = Some(CURSOR);
                }
                if keep {
                    self.pin(pc);
                } else {
                    pc.host.clone().pool.put(pc);
                }
                Ok(Some(o))
            }
            Err(RelayError::Client) => Err(Fatal),
            Err(RelayError::Backend { forwarded, err }) => {
                let host = pc.host.name.clone();
                // Shut down by a write-host switch: the switch is what the client needs
                // to read, not the socket error it caused.
                let err = pc.switched_away().unwrap_or(err);
                drop(pc);
                let was_pinned = self.in_trans || self.sticky.is_some();
                self.in_trans = false;
                tracing::warn!(id = self.ctl.id, host = %host, "router: session {}: backend {host} failed during a statement: {err}", self.ctl.id);
                if forwarded {
                    return Err(Fatal);
                }
                let mut msg = format!("Lost connection to backend {host} during query: {err}");
                if was_pinned {
                    msg.push_str(" (the transaction or session state on it is lost)");
                    self.sticky = None;
                    for s in self.stmts.values_mut() {
                        s.cursor = false;
                    }
                }
                self.send_err(1, &SqlError::new(BACKEND_LOST, BACKEND_LOST_STATE, msg))
                    .await?;
                Ok(None)
            }
        }
    }

    async fn local_select(&mut self, items: Vec<(String, LocalItem)>) -> Res<()> {
        // MyCat fails `SELECT USER()` and `SELECT CURRENT_USER()` while offline, for the
        // health checks that run them.
        // (MyCat's parser matches those two spellings only: SESSION_USER() and an
        // aliased `USER() AS u` go on.)
        if self.offline_refuses(&items) {
            return self.send_err_as(1, &offline_error(), "offline").await;
        }
        self.count("local", "router");
        let rs = self.local_result(items);
        let st = self.status();
        rs.queue(&mut self.io, 1, self.deprecate_eof, st);
        self.io.flush().await.map_err(|_| Fatal)
    }

    /// Whether offline fails this local SELECT: `SELECT USER()` or `SELECT
    /// CURRENT_USER()` alone (MyCat's health-check statements), as text or prepared.
    fn offline_refuses(&self, items: &[(String, LocalItem)]) -> bool {
        matches!(items, [(name, LocalItem::User | LocalItem::CurrentUser)]
            if name.eq_ignore_ascii_case("USER()") || name.eq_ignore_ascii_case("CURRENT_USER()"))
            && self.shared.is_offline()
    }

    /// The one row of a SELECT the router answers itself.
    fn local_result(&self, items: Vec<(String, LocalItem)>) -> ResultSet {
        let mut rs = ResultSet::default();
        let mut row = Vec::new();
        for (name, it) in items {
            let (v, ty) = match it {
                LocalItem::VersionComment => (Some("tandem router".to_string()), TYPE_VAR_STRING),
                LocalItem::Database => (self.schema.clone(), TYPE_VAR_STRING),
                LocalItem::User => (
                    Some(format!("{}@{}", self.user.name, self.peer.ip())),
                    TYPE_VAR_STRING,
                ),
                LocalItem::CurrentUser => (Some(format!("{}@%", self.user.name)), TYPE_VAR_STRING),
                LocalItem::Version => {
                    // MariaDB 10 prefixes its handshake version with "5.5.5-"; VERSION()
                    // does not.
                    let v = self.shared.server_version();
                    (
                        Some(v.strip_prefix("5.5.5-").unwrap_or(&v).to_string()),
                        TYPE_VAR_STRING,
                    )
                }
                LocalItem::ConnectionId => (Some(self.ctl.id.to_string()), TYPE_LONGLONG),
                LocalItem::LastInsertId => (Some(self.last_insert_id.to_string()), TYPE_LONGLONG),
                LocalItem::AutoIncrementIncrement => (Some("1".into()), TYPE_LONGLONG),
                LocalItem::TxReadOnly => {
                    let ro = self.vars.iter().any(|(k, v)| {
                        (k == "transaction_read_only" || k == "tx_read_only")
                            && matches!(
                                v.to_ascii_uppercase().trim_matches('\''),
                                "1" | "ON" | "TRUE"
                            )
                    });
                    (Some(u8::from(ro).to_string()), TYPE_LONGLONG)
                }
                LocalItem::LocalInfile => (
                    Some(u8::from(self.snap.cfg.local_infile).to_string()),
                    TYPE_LONGLONG,
                ),
            };
            rs.columns.push((name, ty));
            row.push(v);
        }
        rs.rows.push(row);
        rs
    }

    /// MyCat's `SHOW MYCAT_STATUS`: one row `STATUS` = `ON`, or 1053 while offline.
    async fn mycat_status(&mut self) -> Res<()> {
        if self.shared.is_offline() {
            return self.send_err_as(1, &offline_error(), "offline").await;
        }
        self.count("local", "router");
        let mut rs = ResultSet::default();
        rs.columns.push(("STATUS".to_string(), TYPE_VAR_STRING));
        rs.rows.push(vec![Some("ON".to_string())]);
        self.send_rs(rs).await
    }

    async fn send_rs(&mut self, rs: ResultSet) -> Res<()> {
        self.cmd_rows += rs.rows.len() as u64;
        let st = self.status();
        rs.queue(&mut self.io, 1, self.deprecate_eof, st);
        self.io.flush().await.map_err(|_| Fatal)
    }

    /// SHOW DATABASES [LIKE | WHERE]: the schemas the user may use.
    async fn show_databases(&mut self, sql: &str) -> Res<()> {
        self.count("local", "router");
        match self.databases_result(sql).await {
            Ok(rs) => self.send_rs(rs).await,
            Err(e) => self.send_err(1, &e).await,
        }
    }

    fn databases_header(l: &sql::ShowList) -> String {
        match &l.filter {
            sql::Filter::Like(p) => format!("Database ({p})"),
            _ => "Database".to_string(),
        }
    }

    async fn databases_result(&mut self, sql: &str) -> Result<ResultSet, SqlError> {
        let l = sql::show_list(sql).ok_or_else(|| unreadable("SHOW DATABASES"))?;
        let col = Self::databases_header(&l);
        let mut rows: Vec<Vec<Option<String>>> = self
            .snap
            .cfg
            .schemas
            .iter()
            .filter(|s| self.user.schemas.contains(&s.name))
            .map(|s| vec![Some(s.name.clone())])
            .collect();
        match &l.filter {
            sql::Filter::None => {}
            sql::Filter::Like(p) => like_filter(&mut rows, p),
            sql::Filter::Where(cond) => {
                let node = self.any_node()?;
                rows = self
                    .filter_where(&node, std::slice::from_ref(&col), rows, cond)
                    .await?;
            }
        }
        let mut rs = ResultSet::new(&[&col]);
        rs.rows = rows;
        Ok(rs)
    }

    /// `SHOW VARIABLES ...` as data node `node` answers it, with the router's own
    /// `local_infile` (clients decide from it whether to send files).
    async fn show_variables(&mut self, node: &str, sql: &str) -> Res<()> {
        match self.variables_result(node, sql).await {
            Ok(rs) => {
                self.count("local", "router");
                self.send_rs(rs).await
            }
            Err(e) => self.send_err(1, &e).await,
        }
    }

    /// The result of `SHOW VARIABLES ...` on data node `node`, `local_infile` the
    /// router's.
    async fn variables_result(&mut self, node: &str, sql: &str) -> Result<ResultSet, SqlError> {
        let res = self.query_node(node, sql).await?;
        let on = if self.snap.cfg.local_infile {
            "ON"
        } else {
            "OFF"
        };
        let mut rs = ResultSet::new(&res.columns.iter().map(String::as_str).collect::<Vec<_>>());
        rs.rows = res.rows;
        for r in &mut rs.rows {
            if r.first()
                .and_then(Option::as_deref)
                .is_some_and(|n| n.eq_ignore_ascii_case("local_infile"))
                && let Some(v) = r.get_mut(1)
            {
                *v = Some(on.to_string());
            }
        }
        Ok(rs)
    }

    /// A node to evaluate a condition on: the current schema's, else one of the user's
    /// schemas'.
    fn any_node(&self) -> Result<String, SqlError> {
        let cur = self.schema_name().ok().map(str::to_string);
        cur.iter()
            .chain(self.user.schemas.iter())
            .find_map(|s| {
                self.snap
                    .catalog
                    .schema(s)
                    .and_then(plan::SchemaCat::any_node)
            })
            .ok_or_else(|| {
                SqlError::new(
                    1105,
                    "HY000",
                    "no data node to evaluate the WHERE condition on",
                )
            })
    }

    /// The rows that meet a SHOW statement's `WHERE cond`, as the server evaluates it.
    async fn filter_where(
        &mut self,
        node: &str,
        cols: &[String],
        rows: Vec<Vec<Option<String>>>,
        cond: &str,
    ) -> Result<Vec<Vec<Option<String>>>, SqlError> {
        no_subquery(cond)?;
        let q = where_query(cols, &rows, cond);
        let res = self.query_node(node, &q).await?;
        let mut keep = vec![false; rows.len()];
        for r in &res.rows {
            if let Some(i) = r
                .first()
                .and_then(Option::as_deref)
                .and_then(|v| v.parse::<usize>().ok())
                .and_then(|i| i.checked_sub(1))
                && let Some(k) = keep.get_mut(i)
            {
                *k = true;
            }
        }
        Ok(rows
            .into_iter()
            .zip(keep)
            .filter_map(|(r, k)| k.then_some(r))
            .collect())
    }

    /// Runs `sql` (a read) on data node `node` and returns its result.
    async fn query_node(
        &mut self,
        node: &str,
        sql: &str,
    ) -> Result<backend::conn::QueryResult, SqlError> {
        self.route_node = Some(node.to_string());
        let acquired = self.acquire(true).await;
        self.route_node = None;
        let (mut pc, db) = acquired?;
        let r = match self.sync(&mut pc.conn, &db, false).await {
            Ok(()) => pc.conn.query(sql).await,
            Err(e) => Err(e),
        };
        let host = pc.host.name.clone();
        self.count("read", &host);
        match r {
            Ok(res) => {
                self.finish_quiet(pc);
                Ok(res)
            }
            Err(e) => {
                // A server-side error (an unknown column in WHERE) leaves the connection
                // fine.
                if matches!(e, backend::BackendError::Sql { .. }) {
                    self.finish_quiet(pc);
                } else {
                    drop(pc);
                }
                Err(e.to_sql(&host))
            }
        }
    }

    /// SHOW [FULL] TABLES [FROM db] [LIKE | WHERE]: the data node's tables and the
    /// schema's configured ones, under the schema's name.
    async fn show_tables(&mut self, sql: &str) -> Res<()> {
        match self.tables_result(sql).await {
            Ok(rs) => self.send_rs(rs).await,
            Err(e) => self.send_err(1, &e).await,
        }
    }

    /// The schema a SHOW TABLES lists (checked) and its column names.
    fn tables_columns(&self, l: &sql::ShowList) -> Result<(String, Vec<String>), SqlError> {
        let schema = self.listed_schema(l)?;
        let mut first = format!("Tables_in_{schema}");
        if let sql::Filter::Like(p) = &l.filter {
            first = format!("{first} ({p})");
        }
        let mut cols = vec![first];
        if l.full {
            cols.push("Table_type".to_string());
        }
        Ok((schema, cols))
    }

    /// `SHOW TABLES FROM information_schema` and the like: the server answers.
    fn system_db_list(&self, sql: &str) -> bool {
        sql::show_list(sql)
            .and_then(|l| l.db)
            .is_some_and(|d| self.is_system_db(&d))
    }

    fn is_system_db(&self, db: &str) -> bool {
        SYSTEM_DBS.iter().any(|s| s.eq_ignore_ascii_case(db)) && self.snap.schema(db).is_none()
    }

    /// The schema a SHOW names (checked), else the current one.
    fn listed_schema(&self, l: &sql::ShowList) -> Result<String, SqlError> {
        match &l.db {
            Some(d) => {
                self.check_schema(d)?;
                Ok(d.clone())
            }
            None => self.effective_schema(),
        }
    }

    /// The schema's data_node, and a node to evaluate a WHERE on (that one, else a
    /// configured table's).
    fn schema_nodes(&self, schema: &str) -> (Option<String>, Option<String>) {
        match self.snap.catalog.schema(schema) {
            Some(sc) => (sc.default_node.clone(), sc.any_node()),
            None => (None, None),
        }
    }

    /// The tables of `schema` as SHOW TABLES lists them, by name: (name, Table_type) of
    /// its data_node's tables and of its configured tables that node lacks.
    async fn schema_tables(&mut self, schema: &str) -> Result<Vec<(String, String)>, SqlError> {
        let (default, _) = self.schema_nodes(schema);
        let configured = match self.snap.catalog.schema(schema) {
            Some(sc) => {
                let mut names: Vec<String> = sc.tables.values().map(|t| t.name.clone()).collect();
                names.sort();
                names
            }
            None => Vec::new(),
        };
        let mut tables: Vec<(String, String)> = Vec::new();
        if let Some(node) = &default {
            let db = self.node_db(node)?;
            let q = format!("SHOW FULL TABLES FROM {}", plan::text::quote_ident(&db));
            let res = self.query_node(node, &q).await?;
            for r in res.rows {
                let mut r = r.into_iter();
                if let Some(Some(n)) = r.next() {
                    tables.push((n, r.next().flatten().unwrap_or_default()));
                }
            }
        }
        for t in configured {
            if !tables.iter().any(|(n, _)| n.eq_ignore_ascii_case(&t)) {
                tables.push((t, "BASE TABLE".to_string()));
            }
        }
        // As the server lists them: by name.
        tables.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(tables)
    }

    async fn tables_result(&mut self, sql: &str) -> Result<ResultSet, SqlError> {
        let l = sql::show_list(sql).ok_or_else(|| unreadable("SHOW TABLES"))?;
        let (schema, cols) = self.tables_columns(&l)?;
        let (default, any) = self.schema_nodes(&schema);
        let tables = self.schema_tables(&schema).await?;
        let mut rows: Vec<Vec<Option<String>>> = tables
            .into_iter()
            .map(|(n, ty)| {
                if l.full {
                    vec![Some(n), Some(ty)]
                } else {
                    vec![Some(n)]
                }
            })
            .collect();
        match &l.filter {
            sql::Filter::None => {}
            sql::Filter::Like(p) => like_filter(&mut rows, p),
            sql::Filter::Where(cond) => {
                let node = default.or(any).ok_or_else(|| {
                    SqlError::new(
                        1105,
                        "HY000",
                        format!("schema '{schema}' has no data nodes"),
                    )
                })?;
                rows = self.filter_where(&node, &cols, rows, cond).await?;
            }
        }
        let refs: Vec<&str> = cols.iter().map(String::as_str).collect();
        let mut rs = ResultSet::new(&refs);
        rs.rows = rows;
        Ok(rs)
    }

    /// The answer to a [`Meta`] statement (SHOW TABLE STATUS, SHOW EVENTS, SHOW
    /// {PROCEDURE|FUNCTION|PACKAGE [BODY]} STATUS; SHOW OPEN TABLES is refused).
    async fn meta_result(&mut self, sql: &str, m: Meta) -> Result<ResultSet, SqlError> {
        if sql::lex(sql).iter().any(|t| t.punct(b'?')) {
            return Err(no_params(m.what()));
        }
        let l = sql::show_list(sql).ok_or_else(|| unreadable(m.what()))?;
        match m {
            Meta::TableStatus => self.table_status_result(&l).await,
            Meta::Events => self.events_result(&l).await,
            Meta::Routines(words) => self.routines_result(words, &l).await,
            Meta::OpenTables => Err(open_tables_refused()),
        }
    }

    /// SHOW TABLE STATUS [{FROM|IN} schema] [LIKE | WHERE]: a row for each table SHOW
    /// TABLES lists (the same names, in the same order), each the row of one data node
    /// that holds the table: the schema's data_node for its own tables and for a
    /// configured table on that node, else the configured table's first data node. For
    /// a sharded table every column is that one node's: Rows, Avg_row_length,
    /// Data_length, Index_length, Data_free and Auto_increment describe its shard there,
    /// not the whole table (nothing is added up over the nodes). A configured table its
    /// node lacks is not listed. LIKE matches the names as the server does
    /// (case-sensitive); WHERE is evaluated by each node on its own rows, so with the
    /// server's column types and collations.
    async fn table_status_result(&mut self, l: &sql::ShowList) -> Result<ResultSet, SqlError> {
        let schema = self.listed_schema(l)?;
        let cond = match &l.filter {
            sql::Filter::Where(c) => {
                no_subquery(c)?;
                Some(c.clone())
            }
            _ => None,
        };
        let (default, any) = self.schema_nodes(&schema);
        let mut tables = self.schema_tables(&schema).await?;
        if let sql::Filter::Like(p) = &l.filter {
            tables.retain(|(n, _)| sql::wild_match(n, p));
        }
        // (table, the node its row comes from)
        let mut wanted: Vec<(String, String)> = Vec::new();
        for (name, _) in tables {
            let configured = self
                .snap
                .catalog
                .schema(&schema)
                .and_then(|sc| sc.table(&name));
            let node = match configured {
                Some(tb) => match &default {
                    Some(d) if tb.nodes.contains(d) => Some(d.clone()),
                    _ => tb.nodes.first().cloned(),
                },
                None => default.clone(),
            };
            if let Some(n) = node {
                wanted.push((name, n));
            }
        }
        let mut nodes: Vec<String> = Vec::new();
        for (_, n) in &wanted {
            if !nodes.contains(n) {
                nodes.push(n.clone());
            }
        }
        if nodes.is_empty() {
            // Nothing to list: a node still answers, for its columns (and the server's
            // error for an unknown column in WHERE).
            nodes.extend(default.or(any));
        }
        let mut columns: Vec<String> = Vec::new();
        let mut found: Vec<(String, Vec<Vec<Option<String>>>)> = Vec::new();
        for node in nodes {
            let db = self.node_db(&node)?;
            let mut q = format!("SHOW TABLE STATUS FROM {}", plan::text::quote_ident(&db));
            if let Some(c) = &cond {
                q = format!("{q} WHERE {c}");
            }
            let res = self.query_node(&node, &q).await?;
            if columns.is_empty() {
                columns = res.columns;
            }
            found.push((node, res.rows));
        }
        let mut rs = if columns.is_empty() {
            meta_result_set(TABLE_STATUS_COLUMNS)
        } else {
            meta_result_set(&columns)
        };
        let name_of = |r: &Vec<Option<String>>| r.first().cloned().flatten();
        for (name, node) in wanted {
            let Some((_, rows)) = found.iter().find(|(n, _)| *n == node) else {
                continue;
            };
            // The node's own spelling first; a configured name may differ in case.
            let row = rows
                .iter()
                .find(|r| name_of(r).as_deref() == Some(name.as_str()))
                .or_else(|| {
                    rows.iter()
                        .find(|r| name_of(r).is_some_and(|n| n.eq_ignore_ascii_case(&name)))
                });
            if let Some(r) = row {
                let mut r = r.clone();
                if let Some(c) = r.first_mut() {
                    *c = Some(name);
                }
                rs.row(r);
            }
        }
        Ok(rs)
    }

    /// SHOW EVENTS [{FROM|IN} schema] [LIKE | WHERE]: the events of the database of the
    /// schema's data_node (where a CREATE EVENT sent in the schema runs), with the
    /// schema's name as Db; a schema without data_node has none.
    async fn events_result(&mut self, l: &sql::ShowList) -> Result<ResultSet, SqlError> {
        let schema = self.listed_schema(l)?;
        let (default, any) = self.schema_nodes(&schema);
        let mut cols: Vec<String> = EVENTS_COLUMNS.iter().map(|c| c.to_string()).collect();
        let mut rows = Vec::new();
        if let Some(node) = &default {
            let db = self.node_db(node)?;
            let q = format!("SHOW EVENTS FROM {}", plan::text::quote_ident(&db));
            let res = self.query_node(node, &q).await?;
            cols = res.columns;
            rows = res.rows;
            for r in &mut rows {
                if let Some(c) = r.first_mut() {
                    *c = Some(schema.clone());
                }
            }
        }
        let node = default.or(any).map_or_else(|| self.any_node(), Ok)?;
        self.named_filter(&node, cols, rows, &l.filter).await
    }

    /// SHOW {PROCEDURE|FUNCTION|PACKAGE [BODY]} STATUS [LIKE | WHERE]: the stored
    /// routines of each of the user's schemas, read from the database of its data_node
    /// (where a CREATE PROCEDURE sent in the schema runs), with the schema's name as Db;
    /// never those of the servers' other databases. By Db, then as the server orders
    /// them.
    async fn routines_result(
        &mut self,
        words: &str,
        l: &sql::ShowList,
    ) -> Result<ResultSet, SqlError> {
        let mut schemas = self.user.schemas.clone();
        schemas.sort();
        let mut cols: Vec<String> = ROUTINES_COLUMNS.iter().map(|c| c.to_string()).collect();
        let mut rows = Vec::new();
        let mut first = true;
        for schema in schemas {
            let (Some(node), _) = self.schema_nodes(&schema) else {
                continue;
            };
            let db = self.node_db(&node)?;
            // A hex literal compares bytes, whatever the session's sql_mode and collation.
            let hex: String = db.bytes().map(|b| format!("{b:02x}")).collect();
            let q = format!("SHOW {words} STATUS WHERE `Db` = X'{hex}'");
            let res = self.query_node(&node, &q).await?;
            if std::mem::take(&mut first) {
                cols = res.columns;
            }
            for mut r in res.rows {
                if let Some(c) = r.first_mut()
                    && c.as_deref() == Some(db.as_str())
                {
                    *c = Some(schema.clone());
                    rows.push(r);
                }
            }
        }
        let node = self.any_node()?;
        self.named_filter(&node, cols, rows, &l.filter).await
    }

    /// Rows of SHOW EVENTS / SHOW ... STATUS filtered as the server filters them: LIKE
    /// on Name (the second column) ignoring case, WHERE evaluated by a server (on
    /// `node`) on these rows.
    async fn named_filter(
        &mut self,
        node: &str,
        cols: Vec<String>,
        mut rows: Vec<Vec<Option<String>>>,
        filter: &sql::Filter,
    ) -> Result<ResultSet, SqlError> {
        match filter {
            sql::Filter::None => {}
            sql::Filter::Like(p) => rows.retain(|r| {
                r.get(1)
                    .and_then(Option::as_deref)
                    .is_some_and(|n| sql::wild_match_ci(n, p))
            }),
            sql::Filter::Where(cond) => {
                rows = self.filter_where(node, &cols, rows, cond).await?;
            }
        }
        let mut rs = meta_result_set(&cols);
        rs.rows = rows;
        Ok(rs)
    }

    /// Where a statement about `schema` (and `table`) runs: a node holding the configured
    /// table, else the schema's data_node.
    fn meta_node(&self, schema: &str, table: Option<&str>) -> Option<String> {
        let sc = self.snap.catalog.schema(schema)?;
        if let Some(tb) = table.and_then(|t| sc.table(t)) {
            return tb.nodes.first().cloned();
        }
        sc.default_node.clone()
    }

    fn node_db(&self, node: &str) -> Result<String, SqlError> {
        self.snap
            .nodes
            .get(node)
            .map(|(_, db)| db.clone())
            .ok_or_else(|| {
                SqlError::new(
                    1105,
                    "HY000",
                    format!("data node '{node}' is not configured"),
                )
            })
    }

    /// A SHOW or DESCRIBE naming a database: the node it runs on and its text there
    /// (the schema's name replaced by the node's database). Errors as the server gives
    /// them: 1146 / 1142 for a table of an unknown / forbidden schema, 1049 / 1044 for
    /// the schema itself.
    fn map_stmt(&self, sql: &str, m: &sql::Mapped) -> Result<(String, String), SqlError> {
        let db = m.db.as_str();
        let table = m.table.as_deref().unwrap_or_default();
        let no_table =
            || SqlError::new(1146, "42S02", format!("Table '{db}.{table}' doesn't exist"));
        let node = match m.kind {
            MapKind::Table { show } => {
                if self.snap.schema(db).is_none() {
                    return Err(no_table());
                }
                if !self.user.schemas.iter().any(|s| s == db) {
                    return Err(SqlError::new(
                        1142,
                        "42000",
                        format!(
                            "{} command denied to user '{}'@'%' for table `{db}`.`{table}`",
                            if show { "SHOW" } else { "SELECT" },
                            self.user.name
                        ),
                    ));
                }
                self.meta_node(db, m.table.as_deref())
                    .ok_or_else(no_table)?
            }
            MapKind::Database => {
                self.check_schema(db)?;
                self.meta_node(db, None).ok_or_else(|| {
                    SqlError::new(
                        1105,
                        "HY000",
                        format!(
                            "schema '{db}' has no data_node, so its tables are on several data nodes: run this statement on the data nodes directly"
                        ),
                    )
                })?
            }
            MapKind::CreateDatabase => {
                self.check_schema(db)?;
                self.snap
                    .catalog
                    .schema(db)
                    .and_then(plan::SchemaCat::any_node)
                    .ok_or_else(|| {
                        SqlError::new(1105, "HY000", format!("schema '{db}' has no data nodes"))
                    })?
            }
        };
        let backend_db = self.node_db(&node)?;
        let text = splice(sql, &m.spans, &plan::text::quote_ident(&backend_db));
        Ok((node, text))
    }

    /// A SHOW or DESCRIBE naming a database (see [`sql::mapped`]).
    async fn show_mapped(&mut self, sql: &str, m: sql::Mapped) -> Res<()> {
        if m.kind == MapKind::CreateDatabase {
            return match self.create_database_result(sql, &m).await {
                Ok(rs) => self.send_rs(rs).await,
                Err(e) => self.send_err(1, &e).await,
            };
        }
        let (node, text) = match self.map_stmt(sql, &m) {
            Ok(x) => x,
            Err(e) => return self.send_err(1, &e).await,
        };
        self.read_on(node, &text).await
    }

    /// Runs the read `text` on data node `node` and relays its answer to the client.
    async fn read_on(&mut self, node: String, text: &str) -> Res<()> {
        let payload = shard::query_payload(text);
        self.route_node = Some(node);
        let r = self
            .forward(Fwd {
                payload: &payload,
                expect: Expect::Results,
                read: true,
                stmt_id: None,
                needs_last_id: false,
                kind: "read",
            })
            .await;
        self.route_node = None;
        r.map(|_| ())
    }

    /// SHOW CREATE DATABASE db: the node's answer under the schema's name.
    async fn create_database_result(
        &mut self,
        sql: &str,
        m: &sql::Mapped,
    ) -> Result<ResultSet, SqlError> {
        let (node, text) = self.map_stmt(sql, m)?;
        let res = self.query_node(&node, &text).await?;
        let mut rs = ResultSet::new(&["Database", "Create Database"]);
        for r in res.rows {
            let create = r
                .get(1)
                .cloned()
                .flatten()
                .map(|c| rename_create_database(&c, &m.db));
            rs.row(vec![Some(m.db.clone()), create]);
        }
        Ok(rs)
    }

    /// The columns (and, but for SHOW TABLES, the rows) of a statement the router
    /// answers itself, or `None` for one the server answers.
    fn local_stmt(&self, sql: &str, a: &sql::Analysis) -> Option<Result<Local, SqlError>> {
        if a.multi {
            return None;
        }
        if let Some(l) = self.local_explain(sql, a) {
            return Some(l);
        }
        if (matches!(a.kind, Kind::Show) || hinted(sql))
            && let Some(full) = super::processlist::show_processlist(hint_body(sql))
        {
            return Some(Ok(Local::Processlist(full)));
        }
        if matches!(a.kind, Kind::Show)
            && !a.multi
            && !hinted(sql)
            && sql::is_show_variables(sql)
            && !sql::lex(sql).iter().any(|t| t.punct(b'?'))
            && self.any_node().is_ok()
        {
            return Some(Ok(Local::Variables));
        }
        match &a.kind {
            Kind::ShowDatabases | Kind::ShowTables => {
                let l = sql::show_list(sql)?;
                let tables = matches!(a.kind, Kind::ShowTables);
                if tables && l.db.as_deref().is_some_and(|d| self.is_system_db(d)) {
                    return None;
                }
                let what = if tables {
                    "SHOW TABLES"
                } else {
                    "SHOW DATABASES"
                };
                if l.params {
                    return Some(Err(no_params(what)));
                }
                if !tables {
                    return Some(Ok(Local::Databases));
                }
                Some(self.tables_columns(&l).map(|_| Local::Tables))
            }
            Kind::ShowMeta(m) => {
                let l = sql::show_list(sql);
                if let Some(d) = l.as_ref().and_then(|l| l.db.as_deref())
                    && self.is_system_db(d)
                {
                    return None;
                }
                let params = sql::lex(sql).iter().any(|t| t.punct(b'?'));
                Some(match l {
                    _ if params => Err(no_params(m.what())),
                    None => Err(unreadable(m.what())),
                    Some(_) if *m == Meta::OpenTables => Err(open_tables_refused()),
                    Some(_) => Ok(Local::Meta(*m)),
                })
            }
            Kind::Show if !hinted(sql) && self.own_grants(sql) => Some(Ok(Local::Grants)),
            Kind::Show if !hinted(sql) => {
                let m = sql::mapped(sql)?;
                if m.kind != MapKind::CreateDatabase || self.is_system_db(&m.db) {
                    return None;
                }
                Some(self.map_stmt(sql, &m).map(|_| Local::CreateDatabase))
            }
            Kind::Select { lock: false } => sql::local_select(sql).map(|i| Ok(Local::Select(i))),
            _ => None,
        }
    }

    /// A prepared `EXPLAIN <statement>`: the router's plan, without parameters (the plan
    /// depends on their values).
    fn local_explain(&self, sql: &str, a: &sql::Analysis) -> Option<Result<Local, SqlError>> {
        if a.multi || hinted(sql) {
            return None;
        }
        let plan::explain::Form::Router { .. } = plan::explain::form(sql)? else {
            return None;
        };
        Some(if sql::lex(sql).iter().any(|t| t.punct(b'?')) {
            Err(no_params("EXPLAIN"))
        } else {
            Ok(Local::Explain)
        })
    }

    /// The columns a local prepared statement announces at prepare time.
    async fn local_columns(&mut self, sql: &str, l: &Local) -> Result<ResultSet, SqlError> {
        Ok(match l {
            Local::Databases => {
                let col = sql::show_list(sql)
                    .map_or_else(|| "Database".to_string(), |l| Self::databases_header(&l));
                ResultSet::new(&[&col])
            }
            Local::Select(items) => {
                let mut rs = self.local_result(items.clone());
                rs.rows.clear();
                rs
            }
            Local::Tables => {
                let cols = sql::show_list(sql)
                    .and_then(|l| self.tables_columns(&l).ok())
                    .map(|(_, c)| c)
                    .unwrap_or_default();
                let refs: Vec<&str> = cols.iter().map(String::as_str).collect();
                ResultSet::new(&refs)
            }
            Local::CreateDatabase => ResultSet::new(&["Database", "Create Database"]),
            Local::Explain => ResultSet::new(&["DATA_NODE", "SQL"]),
            Local::Grants => {
                let mut rs = self.grants_result();
                rs.rows.clear();
                rs
            }
            Local::Processlist(_) => super::processlist::show_result(&[], false),
            Local::Variables => ResultSet::new(&["Variable_name", "Value"]),
            // The columns of the servers' answer (the servers check the statement too).
            Local::Meta(m) => {
                let mut rs = self.meta_result(sql, *m).await?;
                rs.rows.clear();
                rs
            }
        })
    }

    /// COM_STMT_EXECUTE of a statement the router answers itself.
    async fn execute_local(&mut self, sql: &str, l: Local) -> Res<()> {
        let r = match l {
            Local::Databases => {
                self.count("local", "router");
                self.databases_result(sql).await
            }
            Local::Select(items) if self.offline_refuses(&items) => Err(offline_error()),
            Local::Select(items) => {
                self.count("local", "router");
                Ok(self.local_result(items))
            }
            Local::Tables => self.tables_result(sql).await,
            Local::Variables => match self.any_node() {
                Ok(node) => {
                    self.count("local", "router");
                    self.variables_result(&node, sql).await
                }
                Err(e) => Err(e),
            },
            Local::Meta(m) => self.meta_result(sql, m).await,
            Local::Grants => {
                self.count("local", "router");
                Ok(self.grants_result())
            }
            Local::Processlist(full) => {
                self.count("local", "router");
                Ok(self.processlist_result(full))
            }
            Local::CreateDatabase => match sql::mapped(sql) {
                Some(m) => self.create_database_result(sql, &m).await,
                None => Err(unreadable("SHOW CREATE DATABASE")),
            },
            Local::Explain => {
                self.count("local", "router");
                match plan::explain::form(sql) {
                    Some(plan::explain::Form::Router { inner }) => {
                        let inner = inner.to_string();
                        self.explain_result(&inner).await
                    }
                    _ => Err(unreadable("EXPLAIN")),
                }
            }
        };
        let rs = match r {
            Ok(rs) => rs,
            Err(e) => return self.send_err(1, &e).await,
        };
        let st = self.status();
        rs.queue_as(&mut self.io, 1, self.deprecate_eof, st, true);
        self.io.flush().await.map_err(|_| Fatal)
    }

    /// Keeps a prepared statement under `id`, counting its text against the session's
    /// limit.
    fn add_stmt(&mut self, id: u32, st: PreparedStmt) {
        self.stmt_bytes = self.stmt_bytes.saturating_add(st.sql.len());
        if let Some(old) = self.stmts.insert(id, st) {
            self.stmt_bytes = self.stmt_bytes.saturating_sub(old.sql.len());
        }
    }

    /// The next statement id: after a wrap of the counter, an id still in use is
    /// skipped (at most MAX_SESSION_STMTS are).
    fn next_free_stmt_id(&mut self) -> u32 {
        let mut id = self.next_stmt;
        for _ in 0..=MAX_SESSION_STMTS {
            if !self.stmts.contains_key(&id) {
                break;
            }
            id = id.wrapping_add(1).max(1);
        }
        self.next_stmt = id.wrapping_add(1).max(1);
        id
    }

    async fn prepare(&mut self, p: &[u8]) -> Res<()> {
        let sql = String::from_utf8_lossy(&p[1..]).into_owned();
        // EXPLAIN2 as the statement it runs (see `query`).
        let explain2;
        let (sql, p): (String, &[u8]) = match self.explain2_text(&sql) {
            None => (sql, p),
            Some(Ok(text)) => {
                let mut v = Vec::with_capacity(text.len() + 1);
                v.push(COM_STMT_PREPARE);
                v.extend_from_slice(text.as_bytes());
                explain2 = v;
                (text, &explain2)
            }
            Some(Err(e)) => return self.send_err(1, &e).await,
        };
        let a = sql::analyze(&sql);
        if let Err(e) = self.guard(&sql) {
            return self.send_err(1, &e).await;
        }
        // KILL takes the router's connection ids, which the server would read as its own
        // thread ids (killing some other connection): only the text protocol has it.
        // Connector/J then prepares it on the client side (emulateUnsupportedPstmts).
        if matches!(a.kind, Kind::Kill { .. })
            || sql::lex(&sql).first().is_some_and(|t| t.is("KILL"))
            // The router's own information_schema tables are answered in the text
            // protocol (Connector/J then prepares on the client side).
            || super::own_tables::mentioned(&sql).is_some()
        {
            let e = SqlError::new(
                1295,
                "HY000",
                "This command is not supported in the prepared statement protocol yet",
            );
            return self.send_err(1, &e).await;
        }
        // A SHOW or DESCRIBE naming a database: prepared (and executed) on the node it
        // maps to, as the text with the node's database.
        let mut stmt_node = None;
        let mapped_payload;
        let mapped = if matches!(a.kind, Kind::Show) && !a.multi && !hinted(&sql) {
            sql::mapped(&sql)
        } else {
            None
        };
        let (sql, p): (String, &[u8]) = match mapped {
            Some(m) if m.kind != MapKind::CreateDatabase && !self.is_system_db(&m.db) => {
                match self.map_stmt(&sql, &m) {
                    Ok((node, text)) => {
                        let mut q = Vec::with_capacity(text.len() + 1);
                        q.push(COM_STMT_PREPARE);
                        q.extend_from_slice(text.as_bytes());
                        mapped_payload = q;
                        stmt_node = Some(node);
                        (text, &mapped_payload)
                    }
                    Err(e) => return self.send_err(1, &e).await,
                }
            }
            _ => (sql, p),
        };
        // Database qualifiers, as for a text statement: the server prepares the text
        // without the ones the router removes, and a statement on another schema's
        // tables keeps that schema for its executes.
        let q = if stmt_node.is_none() {
            match self.qualify(&sql) {
                Ok(q) => q,
                Err(e) => return self.send_err(1, &e).await,
            }
        } else {
            plan::Qualified::default()
        };
        let plan::Qualified {
            schema: in_schema,
            text,
            kept,
        } = q;
        let qualified_payload;
        let (sql, p): (String, &[u8]) = match text {
            Some(t) => {
                let mut v = Vec::with_capacity(t.len() + 1);
                v.push(COM_STMT_PREPARE);
                v.extend_from_slice(t.as_bytes());
                qualified_payload = v;
                (t, &qualified_payload)
            }
            None => (sql, p),
        };
        // The router's `local_infile`, as for a text SELECT (see `query`); a SELECT of
        // only such items the router answers itself.
        let infile_payload;
        let (sql, p): (String, &[u8]) = match matches!(a.kind, Kind::Select { .. })
            && !a.multi
            && !hinted(&sql)
            && sql::local_select(&sql).is_none()
        {
            true => match sql::with_local_infile(&sql, self.snap.cfg.local_infile) {
                Some(t) => {
                    let mut v = Vec::with_capacity(t.len() + 1);
                    v.push(COM_STMT_PREPARE);
                    v.extend_from_slice(t.as_bytes());
                    infile_payload = v;
                    (t, &infile_payload)
                }
                None => (sql, p),
            },
            false => (sql, p),
        };
        let saved = in_schema.map(|h| self.schema.replace(h));
        let r = self.prepare_routed(p, sql, &a, stmt_node, &kept).await;
        if let Some(s) = saved {
            self.schema = s;
        }
        r
    }

    /// [`Session::prepare`] once the statement's text and schema are settled.
    async fn prepare_routed(
        &mut self,
        p: &[u8],
        sql: String,
        a: &sql::Analysis,
        stmt_node: Option<String>,
        kept: &[String],
    ) -> Res<()> {
        if let Err(e) = self.check_access(&sql, a) {
            return self.send_err(1, &e).await;
        }
        // A prepared LOAD DATA LOCAL: refused as the router refuses it everywhere but
        // as a text statement of its own (the planner cannot read one).
        if plan::infile::local_load(&sql) != plan::infile::LocalLoad::No {
            return self
                .send_err_as(1, &infile::not_plain_load(), "unroutable")
                .await;
        }
        // On configured tables: prepare on a node that has them (the metadata is the
        // same on each); executes are routed by their parameters.
        let sharded = match self.shard_plan(&sql, false) {
            _ if stmt_node.is_some() => false,
            // Answered by the router (below).
            _ if self.local_explain(&sql, a).is_some() => false,
            // Answered by the router (below).
            _ if matches!(a.kind, Kind::ShowMeta(_)) && !self.system_db_list(&sql) => false,
            None => false,
            Some(Err(e)) => return self.send_err(1, &e).await,
            Some(Ok(plan::Planned::Route(p))) => {
                self.route_node = p.targets.first().map(|t| t.node.clone());
                true
            }
            Some(Ok(plan::Planned::Lookup(l))) => {
                self.route_node = l.first().and_then(|l| l.nodes.first().cloned());
                true
            }
            Some(Ok(plan::Planned::Columns(c))) => {
                self.route_node = c.first().map(|c| c.node.clone());
                true
            }
            // The ids are taken at each execute, for the rows it brings: prepared on
            // one of the table's nodes meanwhile.
            Some(Ok(plan::Planned::Ids { .. })) => match self.insert_node(&sql) {
                Some(node) => {
                    self.route_node = Some(node);
                    true
                }
                None => {
                    let e = SqlError::new(
                        1105,
                        "HY000",
                        "the router could not find the auto_increment table this INSERT writes to",
                    );
                    return self.send_err(1, &e).await;
                }
            },
        };
        if !sharded
            && stmt_node.is_none()
            && let Err(e) = self.check_kept_default(kept)
        {
            self.route_node = None;
            return self.send_err(1, &e).await;
        }
        // A client that prepares without ever closing would hold router memory (and
        // backend statements) without bound: refused past the server's default limit.
        if self.stmts.len() >= MAX_SESSION_STMTS
            || self.stmt_bytes.saturating_add(sql.len()) > MAX_SESSION_STMT_BYTES
        {
            self.route_node = None;
            let e = SqlError::new(
                1461,
                "42000",
                format!(
                    "Can't create more than max_prepared_stmt_count statements (current value: {MAX_SESSION_STMTS}; the router also holds at most {} MiB of statement text per session): close statements with COM_STMT_CLOSE",
                    MAX_SESSION_STMT_BYTES >> 20
                ),
            );
            return self.send_err(1, &e).await;
        }
        let local = match self.local_stmt(&sql, a) {
            None => None,
            Some(Ok(l)) => Some(l),
            Some(Err(e)) => {
                self.route_node = None;
                return self.send_err(1, &e).await;
            }
        };
        if let Some(l) = local {
            self.route_node = None;
            let id = self.next_free_stmt_id();
            let rs = match self.local_columns(&sql, &l).await {
                Ok(rs) => rs,
                Err(e) => return self.send_err(1, &e).await,
            };
            self.count("prepare", "router");
            let st = PreparedStmt {
                local: Some(l),
                ..PreparedStmt::new(&sql, true, 0, self.schema.clone())
            };
            self.add_stmt(id, st);
            let st = self.status();
            rs.queue_prepared(&mut self.io, id, self.deprecate_eof, st);
            return self.io.flush().await.map_err(|_| Fatal);
        }
        if let Some(why) = a.sticky {
            self.stick(why, &sql);
        }
        // A prepared SET runs at each execute as the text SET with its values (see
        // `execute_set`): tracked and replayed like one, so it binds the session only
        // where the text form would.
        let set = matches!(a.kind, Kind::Set(_)) && !a.multi;
        let id = self.next_free_stmt_id();
        let read = a.is_read();
        if let Some(n) = &stmt_node {
            self.route_node = Some(n.clone());
        }
        let acquired = self.acquire(read).await;
        self.route_node = None;
        let (mut pc, db) = match acquired {
            Ok(x) => x,
            Err(e) => return self.send_err(1, &e).await,
        };
        if let Err(e) = self.sync(&mut pc.conn, &db, false).await {
            let host = pc.host.name.clone();
            drop(pc);
            return self.send_err(1, &e.to_sql(&host)).await;
        }
        self.count("prepare", &pc.host.name);
        let r = relay(&mut pc.conn, &mut self.io, p, Expect::Prepare, Some(id)).await;
        if let Ok(o) = &r
            && let Some((backend_id, _cols, params)) = o.prepared
        {
            if let Err(e) = pc.conn.remember_stmt(&sql, backend_id, params).await {
                // Only a failed send: the next statement on this connection reports the
                // lost connection (and the pool does not take a dead one back).
                tracing::debug!(id = self.ctl.id, "router: closing a statement failed: {e}");
            }
            let st = PreparedStmt {
                sharded,
                needs_last_id: a.last_insert_id,
                node: stmt_node,
                set,
                ..PreparedStmt::new(&sql, read, params, self.schema.clone())
            };
            self.add_stmt(id, st);
        }
        self.finish(pc, r).await.map(|_| ())
    }

    async fn execute(&mut self, p: &[u8]) -> Res<()> {
        let id = Reader::new(&p[1..]).u32().unwrap_or(0);
        let Some(st) = self.stmts.get(&id) else {
            return self
                .send_err(1, &unknown_stmt(id, "mysqld_stmt_execute"))
                .await;
        };
        if st.long_overflow {
            let e = long_data_too_long(self.snap.cfg.max_long_data_size);
            return self.send_err(1, &e).await;
        }
        let ddl = crate::router::columns::may_change_columns(&st.sql);
        // The statement runs in the schema it was prepared in, whatever `USE` came since.
        let saved = std::mem::replace(&mut self.schema, st.schema.clone());
        if ddl {
            self.forget_columns();
        }
        let r = self.execute_routed(p, id).await;
        if ddl {
            self.forget_columns();
        }
        self.schema = saved;
        // The server forgets a statement's long data after each execute.
        if let Some(s) = self.stmts.get_mut(&id) {
            s.long_data = Vec::new();
            s.long_len = 0;
        }
        r
    }

    async fn execute_routed(&mut self, p: &[u8], id: u32) -> Res<()> {
        let Some(st) = self.stmts.get(&id) else {
            return self
                .send_err(1, &unknown_stmt(id, "mysqld_stmt_execute"))
                .await;
        };
        if let Some(l) = st.local.clone() {
            let sql = st.sql.clone();
            return self.execute_local(&sql, l).await;
        }
        if let Some(node) = st.node.clone() {
            self.route_node = Some(node);
            let r = self.execute_on(p).await;
            self.route_node = None;
            return r;
        }
        if st.set {
            return self.execute_set(p, id).await;
        }
        if !st.sharded {
            return self.execute_on(p).await;
        }
        let (sql, params) = (st.sql.clone(), st.params);
        let mut long: Vec<u16> = st.long_data.iter().map(|(i, _)| *i).collect();
        long.dedup();
        let types = if let Some(t) = shard::sent_types(p, params) {
            let t = t.map(<[u8]>::to_vec);
            // Remembered here too: an execute that runs on several nodes as text never
            // reaches `execute_on`, and the next one may leave the types out.
            if let Some(s) = self.stmts.get_mut(&id) {
                s.types.clone_from(&t);
            }
            t
        } else {
            st.types.clone()
        };
        match self
            .execute_sharded(p, &sql, params, types.as_deref(), &long)
            .await
        {
            Ok(None) => {
                let r = self.execute_on(p).await;
                self.route_node = None;
                r
            }
            Ok(Some(plan)) => {
                if plan.merge.is_some() {
                    // A merged read opens no cursor, whatever the execute's flags ask:
                    // the whole result goes out with its rows and no
                    // SERVER_STATUS_CURSOR_EXISTS, which clients take as "no cursor"
                    // (as for a statement a server opens none for). This execute closes
                    // the statement's cursor from an earlier one, as a server would.
                    if let Some(s) = self.stmts.get_mut(&id)
                        && std::mem::take(&mut s.cursor)
                    {
                        let db = s.exec_db.clone();
                        self.close_cursor(&sql, db.as_deref()).await;
                    }
                }
                self.execute_multi(plan).await
            }
            Err(e) => {
                self.route_node = None;
                self.send_err(1, &e).await
            }
        }
    }

    async fn execute_on(&mut self, p: &[u8]) -> Res<()> {
        let mut r = Reader::new(&p[1..]);
        let id = r.u32().unwrap_or(0);
        let Some(st) = self.stmts.get(&id) else {
            return self
                .send_err(1, &unknown_stmt(id, "mysqld_stmt_execute"))
                .await;
        };
        let (sql, read, params) = (st.sql.clone(), st.read, st.params);
        let needs_last_id = st.needs_last_id;
        // An execute that opens a cursor runs on the write host, whose connection the
        // session keeps for COM_STMT_FETCH (a read host's would go back to the pool
        // with the cursor on it).
        let read = read && p.get(5).is_none_or(|f| f & CURSOR_FLAGS == 0);
        // Remember the parameter types when the client sends them.
        if let Some(t) = shard::sent_types(p, params)
            && let Some(s) = self.stmts.get_mut(&id)
        {
            s.types = t.map(<[u8]>::to_vec);
        }
        let (mut pc, db) = match self.acquire(read).await {
            Ok(x) => x,
            Err(e) => return self.send_err(1, &e).await,
        };
        let prep = match self.sync(&mut pc.conn, &db, needs_last_id).await {
            Ok(()) => pc.conn.ensure_prepared(&sql).await,
            Err(e) => Err(e),
        };
        let backend_id = match prep {
            Ok(c) => c,
            Err(e) => {
                let host = pc.host.name.clone();
                // A server-side error (e.g. the table is gone) leaves the connection fine.
                if matches!(e, backend::BackendError::Sql { .. }) {
                    self.finish_quiet(pc);
                } else {
                    drop(pc);
                }
                return self.send_err(1, &e.to_sql(&host)).await;
            }
        };
        // Long data first (no answers).
        let long = self
            .stmts
            .get_mut(&id)
            .map(|s| std::mem::take(&mut s.long_data))
            .unwrap_or_default();
        for (param, data) in long {
            let mut q = Vec::with_capacity(7 + data.len());
            q.push(COM_STMT_SEND_LONG_DATA);
            q.extend_from_slice(&backend_id.to_le_bytes());
            q.extend_from_slice(&param.to_le_bytes());
            q.extend_from_slice(&data);
            if pc.conn.io.send(0, &q).await.is_err() {
                drop(pc);
                return self
                    .send_err(
                        1,
                        &SqlError::new(
                            BACKEND_LOST,
                            BACKEND_LOST_STATE,
                            "Lost connection to backend while sending long data",
                        ),
                    )
                    .await;
            }
        }
        // The execute goes out as the client sent it, with the backend's statement id;
        // it is written into the backend's send buffer directly (no copy per statement).
        let mut with_types = None;
        if params > 0
            && let Some(t) = self.stmts.get(&id).and_then(|s| s.types.as_deref())
        {
            let conn_stmt = pc.conn.cached_stmt(&sql);
            let conn_has = conn_stmt.as_ref().and_then(|c| c.types.as_deref()) == Some(t);
            if !conn_has {
                // The client relies on types it sent on another connection: send them.
                with_types = shard::with_types(p, params, t);
            }
            if !conn_has && let Some(c) = conn_stmt {
                c.types = Some(t.to_vec());
            }
        }
        let at = pc.conn.io.wbuf_len() + 4;
        pc.conn.io.queue(0, with_types.as_deref().unwrap_or(p));
        if let Some(idb) = pc.conn.io.wbuf.get_mut(at + 1..at + 5) {
            idb.copy_from_slice(&backend_id.to_le_bytes());
        }
        self.count(if read { "read" } else { "write" }, &pc.host.name);
        self.set_current(Some((pc.host.clone(), pc.conn.thread_id)));
        let r = relay_queued(&mut pc.conn, &mut self.io, Expect::Results, None).await;
        self.set_current(None);
        // A new execute closes the statement's previous cursor on the server.
        let cursor = matches!(&r, Ok(o) if o.cursor());
        // Client statements with the same text share one server statement per
        // connection: this execute closed the cursor another one had open there (its
        // fetches must get "no open cursor", not this execute's rows).
        for (k, s) in self.stmts.iter_mut() {
            if *k != id && s.cursor && s.sql == sql && s.exec_db.as_deref() == Some(db.as_str()) {
                s.cursor = false;
            }
        }
        if let Some(s) = self.stmts.get_mut(&id) {
            s.cursor = cursor;
            s.exec_db = Some(db);
        }
        if !cursor {
            self.unstick_cursor();
        }
        self.finish(pc, r).await.map(|_| ())
    }

    /// COM_STMT_EXECUTE of a prepared SET: the text SET with the values filled in, run
    /// and recorded as a text SET is (its OK is the same in both protocols). Values the
    /// router cannot write as text (long data) leave it to run natively, on a
    /// connection the session then keeps.
    async fn execute_set(&mut self, p: &[u8], id: u32) -> Res<()> {
        let Some(st) = self.stmts.get(&id) else {
            return self
                .send_err(1, &unknown_stmt(id, "mysqld_stmt_execute"))
                .await;
        };
        let (sql, params) = (st.sql.clone(), st.params);
        let long: Vec<u16> = st.long_data.iter().map(|(i, _)| *i).collect();
        let types = match shard::sent_types(p, params) {
            Some(t) => {
                let t = t.map(<[u8]>::to_vec);
                if let Some(s) = self.stmts.get_mut(&id) {
                    s.types.clone_from(&t);
                }
                t
            }
            None => st.types.clone(),
        };
        let cs = self.client_charset();
        let lits = decode_params_in(p, params, types.as_deref(), &long, cs.as_deref()).lits;
        if long.is_empty() && lits.iter().all(Option::is_some) {
            let text = fill_placeholders(&sql, &lits);
            let a = sql::analyze(&text);
            if let Kind::Set(items) = a.kind
                && !a.multi
            {
                return self.set(&shard::query_payload(&text), items).await;
            }
        }
        self.stick("prepared SET with values the router cannot replay", &sql);
        self.execute_on(p).await
    }

    /// The first data node of the configured table an INSERT writes to.
    fn insert_node(&self, sql: &str) -> Option<String> {
        let schema = self.effective_schema().ok()?;
        let sc = self.snap.catalog.schema(&schema)?;
        let tables = tables_of(sql).ok()?;
        tables
            .iter()
            .find_map(|t| sc.table(t))
            .and_then(|t| t.nodes.first().cloned())
    }

    fn finish_quiet(&mut self, pc: Pooled) {
        if self.in_trans || self.sticky.is_some() || !self.autocommit {
            // Pinned beside the session's other connections: one taken from
            // `pinned_more` must not replace (and close) the main one, which may hold
            // the transaction's part on another data host.
            self.pin(pc);
        } else {
            pc.host.clone().pool.put(pc);
        }
    }

    async fn fetch(&mut self, p: &[u8]) -> Res<()> {
        let id = Reader::new(&p[1..]).u32().unwrap_or(0);
        let Some((sql, db, cursor)) = self
            .stmts
            .get(&id)
            .map(|s| (s.sql.clone(), s.exec_db.clone(), s.cursor))
        else {
            return self
                .send_err(1, &unknown_stmt(id, "mysqld_stmt_fetch"))
                .await;
        };
        if !cursor {
            // Without a cursor of its own the server statement may hold another client
            // statement's cursor (same text): never fetch from that one.
            return self
                .send_err(
                    1,
                    &SqlError::new(1421, "HY000", "The statement has no open cursor"),
                )
                .await;
        }
        let Some(mut pc) = self.pinned.take() else {
            return self
                .send_err(
                    1,
                    &SqlError::new(1421, "HY000", "The statement has no open cursor"),
                )
                .await;
        };
        let Some(bid) = cursor_stmt_id(&mut pc.conn, &sql, db.as_deref()).await else {
            self.pinned = Some(pc);
            return self
                .send_err(
                    1,
                    &SqlError::new(1421, "HY000", "The statement has no open cursor"),
                )
                .await;
        };
        let mut q = p.to_vec();
        q[1..5].copy_from_slice(&bid.to_le_bytes());
        let r = relay(&mut pc.conn, &mut self.io, &q, Expect::Rows, None).await;
        // After the last row the server closes the cursor.
        let last = StatusFlags::SERVER_STATUS_LAST_ROW_SENT.bits();
        if matches!(&r, Ok(o) if o.error.is_none() && o.status & last != 0)
            && let Some(s) = self.stmts.get_mut(&id)
        {
            s.cursor = false;
            self.unstick_cursor();
        }
        self.finish(pc, r).await.map(|_| ())
    }
}

/// The backend's id of the statement `sql` last executed in database `db` on `conn`
/// (which a cursor of it is on), after moving the connection back to `db` when a later
/// statement changed its database (a cursor survives COM_INIT_DB).
async fn cursor_stmt_id(conn: &mut BackendConn, sql: &str, db: Option<&str>) -> Option<u32> {
    if let Some(db) = db
        && conn.db.as_deref() != Some(db)
        && conn.init_db(db).await.is_err()
    {
        return None;
    }
    conn.cached_stmt(sql).map(|c| c.id)
}

/// A value read from the server as SQL text: numbers bare, strings quoted.
fn sql_literal(v: Option<&str>) -> String {
    match v {
        None => "NULL".into(),
        Some(v)
            if !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
                && v.parse::<f64>().is_ok() =>
        {
            v.to_string()
        }
        Some(v) => format!("'{}'", v.replace('\\', "\\\\").replace('\'', "''")),
    }
}

fn unknown_stmt(id: u32, to: &str) -> SqlError {
    SqlError::new(
        1243,
        "HY000",
        format!("Unknown prepared statement handler ({id}) given to {to}"),
    )
}

fn reason_of(code: u16) -> &'static str {
    match code {
        1040 => "pool_exhausted",
        1044 | 1045 | 1142 | 1290 | 1227 => "access",
        1046 | 1049 => "schema",
        BACKEND_LOST => "backend",
        1105 => "unroutable",
        1243 | 1421 | 1461 => "statement",
        _ => "other",
    }
}

/// The start of a statement, for messages: its first 80 characters, on one line.
fn excerpt(sql: &str) -> String {
    let one: String = sql
        .trim()
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .take(81)
        .collect();
    if one.chars().count() > 80 {
        format!("{}...", one.chars().take(77).collect::<String>())
    } else {
        one
    }
}

/// `SELECT ROW_COUNT() [[AS] name]`: the column name, or `None` for anything else.
fn row_count_select(sql: &str) -> Option<String> {
    let t = sql::lex(sql);
    let mut t: &[sql::Token<'_>] = &t;
    while t.last().is_some_and(|x| x.tok == sql::Tok::Semi) {
        t = &t[..t.len() - 1];
    }
    match t {
        [s, f, o, c, rest @ ..]
            if s.is("SELECT") && f.is("ROW_COUNT") && o.punct(b'(') && c.punct(b')') =>
        {
            match rest {
                [] => Some(sql[f.start..c.end].to_string()),
                [a, n] if a.is("AS") => Some(n.ident().to_string()),
                [n] if matches!(
                    n.tok,
                    sql::Tok::Word | sql::Tok::QuotedIdent | sql::Tok::Str
                ) =>
                {
                    Some(n.ident().to_string())
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Tables a statement reads or writes (for DML privileges).
fn tables_of(sql: &str) -> Result<Vec<String>, String> {
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::parser::Parser;
    let stmts = Parser::parse_sql(&MySqlDialect {}, sql).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let _ = sqlparser::ast::visit_relations(&stmts, |rel| {
        if let Some(last) = rel.0.last() {
            let n = last.to_string();
            let n = n.trim_matches('`').to_string();
            if !out.contains(&n) {
                out.push(n);
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    Ok(out)
}

enum RelayError {
    Client,
    Backend { forwarded: bool, err: String },
}

/// Sends `payload` to the backend and forwards the answer packet by packet (sequence
/// ids renumbered, bytes untouched otherwise) until the response tracker says it ended.
async fn relay(
    be: &mut BackendConn,
    client: &mut PacketIo<ClientStream>,
    payload: &[u8],
    expect: Expect,
    stmt_id: Option<u32>,
) -> Result<Outcome, RelayError> {
    be.io.queue(0, payload);
    relay_queued(be, client, expect, stmt_id).await
}

/// `relay` for a command already queued in the backend's send buffer.
async fn relay_queued(
    be: &mut BackendConn,
    client: &mut PacketIo<ClientStream>,
    expect: Expect,
    stmt_id: Option<u32>,
) -> Result<Outcome, RelayError> {
    if let Err(e) = be.io.flush().await {
        return Err(RelayError::Backend {
            forwarded: false,
            err: e.to_string(),
        });
    }
    let mut t = Tracker::new(expect, be.deprecate_eof());
    let mut seq: u8 = client.seq_shift.wrapping_add(1);
    let mut forwarded = false;
    let mut first = true;
    loop {
        let buf = be.io.buffered_mut();
        let mut off = 0;
        // A request for a LOCAL INFILE file: (its length, the server's sequence id).
        let mut infile: Option<(usize, u8)> = None;
        while !t.done() && buf.len() - off >= 4 {
            let len = usize::from(buf[off])
                | usize::from(buf[off + 1]) << 8
                | usize::from(buf[off + 2]) << 16;
            if buf.len() - off < 4 + len {
                break;
            }
            let server_seq = buf[off + 3];
            if let Err(e) = t.feed(&buf[off + 4..off + 4 + len]) {
                return Err(RelayError::Backend {
                    forwarded,
                    err: e.to_string(),
                });
            }
            if t.outcome.local_infile {
                // Not for the client: the router did not send this statement as a LOAD
                // it serves.
                infile = Some((len, server_seq));
                break;
            }
            buf[off + 3] = seq;
            seq = seq.wrapping_add(1);
            if first {
                first = false;
                // The client sees the router's statement id (after the tracker read the
                // server's).
                if let Some(id) = stmt_id
                    && len >= 5
                    && buf[off + 4] == 0
                {
                    buf[off + 5..off + 9].copy_from_slice(&id.to_le_bytes());
                }
            }
            off += 4 + len;
        }
        if off > 0 {
            let chunk = &be.io.buffered()[..off];
            if client.stream.write_all(chunk).await.is_err() {
                be.io.consume(off);
                return Err(RelayError::Client);
            }
            client.written += off as u64;
            forwarded = true;
            be.io.consume(off);
        }
        if let Some((len, server_seq)) = infile {
            be.io.consume(4 + len);
            return refuse_infile_request(be, client, server_seq, seq, forwarded).await;
        }
        if t.done() {
            if !be.io.buffered().is_empty() {
                return Err(RelayError::Backend {
                    forwarded,
                    err: "unexpected data after the response".into(),
                });
            }
            return Ok(t.outcome);
        }
        if let Err(e) = be.io.fill().await {
            return Err(RelayError::Backend {
                forwarded,
                err: e.to_string(),
            });
        }
    }
}

/// A server asked for a LOCAL INFILE file in answer to a statement the router relays as
/// it is (one it did not recognise as `LOAD DATA LOCAL`, which it serves itself): the
/// server gets an empty file (it loads nothing), its answer is read and dropped, and the
/// client gets an error in its place (`seq`: the client's next sequence id).
async fn refuse_infile_request(
    be: &mut BackendConn,
    client: &mut PacketIo<ClientStream>,
    server_seq: u8,
    seq: u8,
    forwarded: bool,
) -> Result<Outcome, RelayError> {
    let lost = |e: WireError| RelayError::Backend {
        forwarded,
        err: e.to_string(),
    };
    be.io
        .send(server_seq.wrapping_add(1), &[])
        .await
        .map_err(lost)?;
    let mut t = Tracker::new(Expect::Results, be.deprecate_eof());
    while !t.done() {
        let (_, p) = be.io.read_packet(MAX_LOGICAL).await.map_err(lost)?;
        t.feed(&p).map_err(|e| RelayError::Backend {
            forwarded,
            err: e.to_string(),
        })?;
    }
    let e = infile::not_plain_load();
    let mut out = t.outcome;
    out.local_infile = false;
    out.error = Some((e.code, e.state.to_string(), e.msg.clone()));
    // Sequence ids continue from what the client got (`seq` already has the shift).
    let saved = client.seq_shift;
    client.seq_shift = 0;
    let r = client.send(seq, &e.packet()).await;
    client.seq_shift = saved;
    r.map_err(|_| RelayError::Client)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_in_the_servers_format() {
        assert_eq!(
            statistics_text(std::time::Duration::from_millis(8_900), 2, 35),
            "Uptime: 8  Threads: 2  Questions: 35  Slow queries: 0  Opens: 0  Open tables: 0  Queries per second avg: 4.375"
        );
        assert!(statistics_text(std::time::Duration::ZERO, 0, 0).ends_with("avg: 0.000"));
    }

    #[test]
    fn whitelist_follows_mycat() {
        use crate::config::router::WhitelistEntry;
        let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("ip");
        let e = |host: &str, users: &[&str]| WhitelistEntry {
            host: host.into(),
            users: users.iter().map(|u| u.to_string()).collect(),
        };
        assert_eq!(whitelisted(&[], "x", ip("10.0.0.1")), Whitelisted::Yes);
        let wl = [
            e("127.0.0.1, 10.1.2.3", &["app"]),
            e("192.168.1.*", &["app"]),
            e("10.9.0.0/16", &[]),
        ];
        // An address entry admits its users only; the refusal says the host is listed.
        assert_eq!(whitelisted(&wl, "app", ip("127.0.0.1")), Whitelisted::Yes);
        assert_eq!(whitelisted(&wl, "app", ip("10.1.2.3")), Whitelisted::Yes);
        assert_eq!(
            whitelisted(&wl, "ops", ip("127.0.0.1")),
            Whitelisted::NotForUser
        );
        assert_eq!(
            whitelisted(&wl, "app", ip("::ffff:127.0.0.1")),
            Whitelisted::Yes
        );
        // A pattern admits every user (MyCat's whitehostMask ignores its users).
        assert_eq!(
            whitelisted(&wl, "ops", ip("192.168.1.77")),
            Whitelisted::Yes
        );
        assert_eq!(
            whitelisted(&wl, "app", ip("192.168.2.1")),
            Whitelisted::NoHost
        );
        // A CIDR without users admits everyone from it.
        assert_eq!(whitelisted(&wl, "any", ip("10.9.200.1")), Whitelisted::Yes);
        assert_eq!(whitelisted(&wl, "any", ip("::1")), Whitelisted::NoHost);
    }

    #[test]
    fn tables_for_privileges() {
        assert_eq!(
            tables_of("select * from a join b on a.x=b.x").ok(),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            tables_of("insert into `user` values (1)").ok(),
            Some(vec!["user".to_string()])
        );
        assert!(tables_of("select from where").is_err());
    }

    #[test]
    fn row_count_selects_and_excerpts() {
        assert_eq!(
            row_count_select("SELECT ROW_COUNT()").as_deref(),
            Some("ROW_COUNT()")
        );
        assert_eq!(
            row_count_select("select row_count() as n;").as_deref(),
            Some("n")
        );
        assert_eq!(row_count_select("SELECT ROW_COUNT(), 1"), None);
        assert_eq!(row_count_select("SELECT ROW_COUNT() FROM t"), None);
        assert_eq!(excerpt("  SET @x =\n 1 "), "SET @x =  1");
        let long = format!("SELECT {}", "a".repeat(100));
        assert_eq!(excerpt(&long).chars().count(), 80);
        assert!(excerpt(&long).ends_with("..."));
    }

    #[test]
    fn collation_names() {
        assert_eq!(names_for(45), "utf8mb4");
        assert_eq!(names_for(46), "utf8mb4 COLLATE utf8mb4_bin");
        assert_eq!(names_for(8), "latin1");
        assert_eq!(names_for(255), "utf8mb4");
    }
}
