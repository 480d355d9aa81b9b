//! The MySQL-protocol router (MyCat server side): clients log in to it, it forwards their
//! statements to data hosts, splitting reads from writes and failing over write hosts.

pub mod admin;
pub mod adminvars;
pub mod backend;
pub mod columns;
pub mod counters;
pub mod diag;
pub mod globalcheck;
pub mod guard;
pub mod infoschema;
pub mod merge;
pub mod metrics;
pub mod own_tables;
pub mod plan;
pub mod processlist;
pub mod rules;
pub mod sequence;
pub mod session;
pub mod slowlog;
pub mod sql;
pub mod sqlcond;
pub mod sqlstat;
pub mod tls;
pub mod wire;

use foldhash::HashMap;
use foldhash::HashMapExt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::config::router::{RouterConfig, RouterUser, Schema};
use backend::{DataHostRt, Host};
use metrics::RouterMetrics;

/// Version string when neither `server_version` nor a reachable write host gives one.
pub const FALLBACK_VERSION: &str = "5.7.44-tandem";

#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("router: cannot listen on {addr}: {err}")]
    Bind {
        addr: SocketAddr,
        err: std::io::Error,
    },
    #[error("router: {0}")]
    Config(String),
}

/// The parts of the config sessions read; swapped whole on reload.
pub struct Snapshot {
    pub cfg: RouterConfig,
    /// Tables, rules and data nodes as the sharding planner sees them.
    pub catalog: plan::Catalog,
    /// data node → (data host, database)
    pub nodes: HashMap<String, (String, String)>,
    /// Global sequences (`router.sequence`).
    pub sequences: Option<Arc<sequence::Sequences>>,
    /// The certificate offered to clients; `None` = `tls: off`.
    pub tls: Option<Arc<tls::TlsState>>,
}

impl Snapshot {
    fn new(cfg: &RouterConfig) -> Result<Snapshot, String> {
        // Map file paths were made absolute when the config was read.
        let catalog = plan::Catalog::build(cfg, std::path::Path::new("/"))?;
        let sequences = match &cfg.sequence {
            Some(s) => Some(Arc::new(
                sequence::Sequences::new(s).map_err(|e| format!("router.sequence: {e}"))?,
            )),
            None => None,
        };
        let tls = match &cfg.tls {
            Some(t) => Some(Arc::new(
                tls::TlsState::load(t).map_err(|e| format!("router.tls: {e}"))?,
            )),
            None => None,
        };
        Ok(Snapshot {
            catalog,
            sequences,
            tls,
            nodes: cfg
                .data_nodes
                .iter()
                .map(|n| (n.name.clone(), (n.data_host.clone(), n.database.clone())))
                .collect(),
            cfg: cfg.clone(),
        })
    }
    pub fn user(&self, name: &str) -> Option<&RouterUser> {
        self.cfg.users.iter().find(|u| u.name == name)
    }
    pub fn schema(&self, name: &str) -> Option<&Schema> {
        self.cfg.schemas.iter().find(|s| s.name == name)
    }
}

/// A live client session as others see it (admin, KILL).
pub struct SessionCtl {
    pub id: u32,
    /// The logged-in user (COM_CHANGE_USER changes it): read with [`SessionCtl::user`].
    pub user: Mutex<String>,
    pub peer: SocketAddr,
    pub started: Instant,
    pub schema: Mutex<Option<String>>,
    pub killed: AtomicBool,
    pub kill: Notify,
    /// The backend connection a statement is running on now: (host, thread id).
    pub current: Mutex<Option<(Arc<Host>, u32)>>,
    /// The backend connections a statement on several data nodes is running on now.
    pub fanout: Mutex<Vec<(Arc<Host>, u32)>>,
    /// The backend connections the session keeps between commands (a transaction,
    /// session state), as of its last command.
    pub held: Mutex<Vec<(Arc<Host>, u32)>>,
    pub admin: bool,
    /// What the session is doing (the process list).
    pub activity: Mutex<processlist::Activity>,
}

impl SessionCtl {
    /// The user the session is logged in as now.
    pub fn user(&self) -> String {
        self.user.lock().map(|u| u.clone()).unwrap_or_default()
    }

    fn is_user(&self, name: &str) -> bool {
        self.user.lock().is_ok_and(|u| *u == name)
    }

    /// A command starts (`info`: its statement's text, if it has one).
    pub fn begin(&self, command: processlist::Command, info: Option<Arc<str>>, now: Instant) {
        let old = self
            .activity
            .lock()
            .ok()
            .and_then(|mut a| a.begin(command, info, now));
        // The replaced text is freed outside the lock.
        drop(old);
    }

    /// The command ended.
    pub fn end(&self, now: Instant) {
        if let Ok(mut a) = self.activity.lock() {
            a.end(now);
        }
    }

    /// The backend connections the session uses now (a running statement's) or keeps,
    /// each once: (host, server thread id).
    pub fn backend_conns(&self) -> Vec<(Arc<Host>, u32)> {
        let mut v: Vec<(Arc<Host>, u32)> = Vec::new();
        let mut add = |c: &(Arc<Host>, u32)| {
            if !v.iter().any(|(h, t)| *t == c.1 && Arc::ptr_eq(h, &c.0)) {
                v.push(c.clone());
            }
        };
        if let Ok(c) = self.current.lock() {
            c.iter().for_each(&mut add);
        }
        if let Ok(f) = self.fanout.lock() {
            f.iter().for_each(&mut add);
        }
        if let Ok(h) = self.held.lock() {
            h.iter().for_each(&mut add);
        }
        v
    }

    /// The session as the process list shows it at `now`.
    pub fn process(&self, now: Instant) -> Option<processlist::Proc> {
        let a = self.activity.lock().ok()?.clone();
        let db = self.schema.lock().ok().and_then(|s| s.clone());
        Some(processlist::Proc::of(
            self.id,
            self.user(),
            self.peer,
            db,
            &a,
            now,
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadKind {
    /// Users, schemas, rules; pools untouched.
    Config,
    /// Everything; data hosts rebuilt with new pools.
    ConfigAll,
    /// `rollback @@config`: the config from before the last reload.
    Rollback,
    /// As SIGHUP (`tandem config reload`): data hosts whose settings changed get new
    /// pools.
    File,
}

pub type ReloadRequest = (ReloadKind, oneshot::Sender<Result<u64, String>>);

pub struct Shared {
    pub snap: RwLock<Arc<Snapshot>>,
    pub data_hosts: RwLock<HashMap<String, Arc<DataHostRt>>>,
    pub sessions: Mutex<HashMap<u32, Arc<SessionCtl>>>,
    next_id: AtomicU32,
    pub metrics: RouterMetrics,
    pub reload: Option<mpsc::Sender<ReloadRequest>>,
    pub force_rebuild: AtomicBool,
    pub started: Instant,
    /// Statements sent to each data node since the start (`show @@datanode` EXECUTE,
    /// MyCat's per-node execute count); kept across reloads by name.
    executes: RwLock<HashMap<String, Arc<AtomicU64>>>,
    /// Column names of tables, for GROUP BY names the planner resolves.
    pub columns: Mutex<columns::ColumnCache>,
    /// MyCat's `offline` (admin port) holds the router out of service: see
    /// [`Shared::set_offline`].
    offline: AtomicBool,
    /// When the configuration was last loaded or reloaded, in ms since the Unix epoch
    /// (`show @@server` RELOAD_TIME).
    loaded_at_ms: AtomicU64,
    /// When `rollback @@config` last ran, ms since the Unix epoch; -1 before
    /// (`show @@server` ROLLBACK_TIME).
    rolled_back_at_ms: std::sync::atomic::AtomicI64,
    /// When the router started, in ms since the Unix epoch (`show @@time.startup`).
    pub started_ms: u64,
    /// `show @@sql.slow`: statements that took at least `slow_ms`.
    pub slow: Mutex<slowlog::SlowLog>,
    /// MyCat's `reload @@sqlslow=N` (ms).
    pub slow_ms: AtomicU64,
    /// MyCat's `useSqlStat` (`router.sql_stat`, `reload @@sqlstat=open|close`).
    pub sql_stat_on: AtomicBool,
    /// `show @@sql`, `show @@sql.sum`, ...: what statements did while `sql_stat_on`.
    pub sql_stats: Mutex<sqlstat::SqlStats>,
    /// `show @@command` / `show @@processor`: what the SQL port's sessions sent.
    pub front: counters::FrontCounters,
    /// MyCat's `reload @@query_cf` / `show @@sql.condition`: the values SELECTs ask of
    /// one column (counted with the SQL statistics, while a column is watched).
    pub conditions: Mutex<sqlcond::Conditions>,
    /// A column is watched (saves the lock when none is).
    pub conditions_on: AtomicBool,
}

/// Now in ms since the Unix epoch.
pub(crate) fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Shared {
    /// Whether the admin command `offline` holds the router out of service.
    pub fn is_offline(&self) -> bool {
        self.offline.load(Ordering::Acquire)
    }

    /// MyCat's `offline` / `online`. While offline, COM_PING on the SQL port fails with
    /// error 1053 (so `mariadb-admin ping` track scripts fail), observe's `/health/router`
    /// answers 404 (an http check with `disable_on_404` drains the router), and
    /// `track_router` is down; sessions go on and logins are still taken, as MyCat's.
    /// `by` names who asked, for the log line. Returns whether the state changed.
    pub fn set_offline(&self, offline: bool, by: &str) -> bool {
        let was = self.offline.swap(offline, Ordering::AcqRel);
        if was == offline {
            return false;
        }
        if offline {
            tracing::warn!(
                by,
                "router: OFFLINE ({by}): pings on the SQL port fail with 1053, /health/router answers 404 and track_router is down; sessions go on, logins are still taken; `online` ends it"
            );
        } else {
            tracing::info!(by, "router: ONLINE ({by})");
        }
        self.metrics.online.set(i64::from(!self.is_offline()));
        true
    }

    /// Turns the SQL statistics on or off (`by`: who, for the log line); off forgets
    /// what they held. Returns whether the state changed.
    pub fn set_sql_stat(&self, on: bool, by: &str) -> bool {
        if self.sql_stat_on.swap(on, Ordering::AcqRel) == on {
            return false;
        }
        if on {
            tracing::info!(
                by,
                "router: SQL statistics on ({by}): show @@sql, @@sql.sum, @@sql.high, ..."
            );
        } else {
            if let Ok(mut s) = self.sql_stats.lock() {
                s.clear();
            }
            tracing::info!(
                by,
                "router: SQL statistics off ({by}); what they held is forgotten"
            );
        }
        true
    }

    /// When the configuration was last loaded, ms since the Unix epoch.
    pub fn loaded_at_ms(&self) -> u64 {
        self.loaded_at_ms.load(Ordering::Relaxed)
    }

    /// When `rollback @@config` last ran (ms since the Unix epoch), -1 before.
    pub fn rolled_back_at_ms(&self) -> i64 {
        self.rolled_back_at_ms.load(Ordering::Relaxed)
    }

    /// Records a `rollback @@config` that just applied: RELOAD_TIME stays `reload_ms`
    /// (the apply set it), ROLLBACK_TIME is now, as MyCat's `show @@server`.
    pub fn note_rollback(&self, reload_ms: u64) {
        self.loaded_at_ms.store(reload_ms, Ordering::Relaxed);
        self.rolled_back_at_ms.store(
            i64::try_from(epoch_ms()).unwrap_or(i64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Counts one statement sent to data node `node`.
    pub fn count_execute(&self, node: &str) {
        if let Ok(m) = self.executes.read()
            && let Some(c) = m.get(node)
        {
            c.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Ok(mut m) = self.executes.write() {
            m.entry(node.to_string())
                .or_insert_with(|| Arc::new(AtomicU64::new(0)))
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Statements sent to data node `node` so far.
    pub fn executes(&self, node: &str) -> u64 {
        self.executes
            .read()
            .ok()
            .and_then(|m| m.get(node).map(|c| c.load(Ordering::Relaxed)))
            .unwrap_or(0)
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snap
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    pub fn data_host(&self, name: &str) -> Option<Arc<DataHostRt>> {
        self.data_hosts.read().ok()?.get(name).cloned()
    }

    pub fn all_data_hosts(&self) -> Vec<Arc<DataHostRt>> {
        let mut v: Vec<_> = self
            .data_hosts
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by(|a: &Arc<DataHostRt>, b| a.cfg.name.cmp(&b.cfg.name));
        v
    }

    pub fn next_conn_id(&self) -> u32 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if id == 0 {
            self.next_id.fetch_add(1, Ordering::Relaxed)
        } else {
            id
        }
    }

    /// The version clients see: configured, else the first write host's real one.
    pub fn server_version(&self) -> String {
        let snap = self.snapshot();
        if let Some(v) = &snap.cfg.server_version {
            return v.clone();
        }
        for dh in self.all_data_hosts() {
            if let Some(v) = dh.writer().version.lock().ok().and_then(|v| v.clone()) {
                return v;
            }
        }
        FALLBACK_VERSION.to_string()
    }

    /// The handshake version; right after start it waits (at most 2 s) for the first
    /// heartbeat to learn the write host's real version.
    pub async fn server_version_at_login(&self) -> String {
        let deadline = Instant::now() + std::time::Duration::from_secs(2);
        loop {
            let v = self.server_version();
            if v != FALLBACK_VERSION
                || Instant::now() >= deadline
                || self.started.elapsed().as_secs() > 10
            {
                return v;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub fn register(&self, ctl: Arc<SessionCtl>) {
        if let Ok(mut s) = self.sessions.lock() {
            s.insert(ctl.id, ctl);
        }
    }

    pub fn unregister(&self, id: u32) {
        if let Ok(mut s) = self.sessions.lock() {
            s.remove(&id);
        }
    }

    pub fn session(&self, id: u32) -> Option<Arc<SessionCtl>> {
        self.sessions.lock().ok()?.get(&id).cloned()
    }

    pub fn sessions_of(&self, user: &str) -> usize {
        self.sessions
            .lock()
            .map(|s| s.values().filter(|c| c.is_user(user) && !c.admin).count())
            .unwrap_or(0)
    }

    /// The client sessions (not the admin port's) `viewer` may see in the process
    /// list, by id: its own, or with `all` (an `admin` user) every one.
    pub fn processes(&self, viewer: &str, all: bool) -> Vec<processlist::Proc> {
        let ctls: Vec<Arc<SessionCtl>> = match self.sessions.lock() {
            Ok(s) => s
                .values()
                .filter(|c| !c.admin && (all || c.is_user(viewer)))
                .cloned()
                .collect(),
            Err(_) => return Vec::new(),
        };
        let now = Instant::now();
        let mut v: Vec<processlist::Proc> = ctls.iter().filter_map(|c| c.process(now)).collect();
        v.sort_by_key(|p| p.id);
        v
    }

    /// Kills session `id` (`query`: only its running statement).
    pub async fn kill(&self, id: u32, query: bool) -> bool {
        let Some(ctl) = self.session(id) else {
            return false;
        };
        // The statement's connection, or every connection of a statement on several
        // data nodes.
        let mut running: Vec<(Arc<Host>, u32)> =
            ctl.fanout.lock().map(|f| f.clone()).unwrap_or_default();
        running.extend(ctl.current.lock().ok().and_then(|c| c.clone()));
        if !query {
            // First the session: it drops its command at once (closing the backend
            // connections it used, never pooling them) and its client gets no answer,
            // as from a server; then the statements those connections still run.
            ctl.killed.store(true, Ordering::Release);
            ctl.kill.notify_one();
        }
        for (host, thread) in running {
            kill_backend_query(&host, thread).await;
        }
        true
    }

    /// Refreshes the gauges from the data hosts (called at scrape and status time).
    pub fn refresh_gauges(&self) {
        let m = &self.metrics;
        m.online.set(i64::from(!self.is_offline()));
        for dh in self.all_data_hosts() {
            let n = &dh.cfg.name;
            m.active_writer
                .with_label_values(&[n])
                .set(dh.active_index() as i64);
            let total = dh.switches_total.load(Ordering::Relaxed);
            let seen = dh.switches_reported.swap(total, Ordering::Relaxed);
            // Touched every time, so each data host's series exists (at 0) before its
            // first switch.
            let switches = m.failovers.with_label_values(&[n]);
            if total > seen {
                switches.inc_by(total - seen);
            }
            let total = dh.repl_stop_failures.load(Ordering::Relaxed);
            let seen = dh
                .repl_stop_failures_reported
                .swap(total, Ordering::Relaxed);
            let stops = m.repl_stop_failures.with_label_values(&[n]);
            if total > seen {
                stops.inc_by(total - seen);
            }
            for h in &dh.hosts {
                m.borrow_timeouts.with_label_values(&[n, &h.name]);
                let hl = h.health();
                m.host_up
                    .with_label_values(&[n, &h.name])
                    .set(i64::from(hl.up));
                if hl.is_replica {
                    // No series while the lag is unknown (replication stopped or broken):
                    // a sentinel value would mislead max()/alerts on the gauge.
                    match hl.lag {
                        Some(l) => m
                            .lag
                            .with_label_values(&[n, &h.name])
                            .set(i64::try_from(l).unwrap_or(i64::MAX)),
                        None => {
                            let _ = m.lag.remove_label_values(&[n, &h.name]);
                        }
                    }
                }
                let idle = h.pool.idle_count() as i64;
                let open = h.pool.open_count() as i64;
                m.pool.with_label_values(&[n, &h.name, "idle"]).set(idle);
                m.pool
                    .with_label_values(&[n, &h.name, "active"])
                    .set((open - idle).max(0));
            }
        }
    }
}

/// A reload replaced (or removed) data host `old`: its idle connections close, and
/// connections in use move to the same server in the same role in `new` (so sessions
/// holding one keep their transaction or session state) or are closed when their
/// session next uses them.
fn retire_replaced(old: &DataHostRt, new: Option<&Arc<DataHostRt>>) {
    let old_active = old.active_index();
    for h in &old.hosts {
        let successor = new.and_then(|n| {
            n.hosts
                .iter()
                .find(|c| {
                    c.name == h.name
                        && c.target == h.target
                        && c.port == h.port
                        && c.user == h.user
                        && c.password == h.password
                        && old.cfg.tls == n.cfg.tls
                        && match (h.role, c.role) {
                            // A writer's connections follow only if it keeps the write
                            // role.
                            (backend::Role::Writer(a), backend::Role::Writer(b)) => {
                                a == old_active && b == n.active_index()
                            }
                            (backend::Role::Reader { .. }, backend::Role::Reader { .. }) => true,
                            _ => false,
                        }
                })
                .cloned()
        });
        let why = match new {
            Some(_) => format!(
                "host {} of data host {} was replaced by a reload (reload @@config_all or SIGHUP)",
                h.name, old.cfg.name
            ),
            None => format!(
                "data host {} was removed from the configuration by a reload",
                old.cfg.name
            ),
        };
        h.retire(why, successor, false);
    }
}

/// `KILL QUERY` on a backend thread, over a fresh connection.
pub async fn kill_backend_query(host: &Arc<Host>, thread: u32) {
    match host.connect(0, backend::CONNECT_TIMEOUT).await {
        Ok(mut c) => {
            if let Err(e) = c.query(&format!("KILL QUERY {thread}")).await {
                tracing::warn!(host = %host.name, "KILL QUERY {thread} on {}: {e}", host.name);
            }
        }
        Err(e) => {
            tracing::warn!(host = %host.name, "KILL QUERY {thread}: cannot reach {}: {e}", host.name)
        }
    }
}

pub struct Router {
    pub shared: Arc<Shared>,
    listen: SocketAddr,
    admin_listen: Option<SocketAddr>,
    accept: JoinHandle<()>,
    admin_accept: Option<JoinHandle<()>>,
    heartbeats: HashMap<String, (Arc<DataHostRt>, watch::Sender<bool>)>,
    keep_pools: AtomicBool,
    health: Option<JoinHandle<()>>,
}

/// A bind failure while the router already listens on `old`: moving between a wildcard
/// and a specific address on one port needs a restart (both cannot be bound at once).
fn moved_hint(e: RouterError, old: Option<SocketAddr>) -> RouterError {
    match (e, old) {
        (RouterError::Bind { addr, err }, Some(old))
            if old.port() == addr.port() && err.kind() == std::io::ErrorKind::AddrInUse =>
        {
            RouterError::Bind {
                addr,
                err: std::io::Error::new(
                    err.kind(),
                    format!(
                        "{err} (the router listens on {old} now: moving between a wildcard and a specific address on one port needs a restart)"
                    ),
                ),
            }
        }
        (e, _) => e,
    }
}

fn bind(addr: SocketAddr) -> Result<TcpListener, RouterError> {
    let e = |err| RouterError::Bind { addr, err };
    let s = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )
    .map_err(e)?;
    s.set_reuse_address(true).map_err(e)?;
    let _ = s.set_freebind_v4(true);
    s.set_nonblocking(true).map_err(e)?;
    s.bind(&addr.into()).map_err(e)?;
    s.listen(1024).map_err(e)?;
    TcpListener::from_std(s.into()).map_err(e)
}

/// What a (re)start of the router needs that can fail, had before anything changes: the
/// catalog built from the config and the sockets of new listen addresses. A reload whose
/// router part cannot be prepared is refused with everything still running as before.
pub struct Prepared {
    snap: Snapshot,
    /// Bound when the router is new or its `listen` address changed.
    listener: Option<TcpListener>,
    /// Bound when `admin_listen` is set and new or changed.
    admin: Option<TcpListener>,
}

impl Router {
    /// Builds the catalog and binds the addresses `cfg` adds to `current` (all of them
    /// when there is no router yet).
    pub fn prepare(current: Option<&Router>, cfg: &RouterConfig) -> Result<Prepared, RouterError> {
        let snap = Snapshot::new(cfg).map_err(RouterError::Config)?;
        let listener = match current {
            Some(r) if r.listen == cfg.listen => None,
            _ => Some(bind(cfg.listen).map_err(|e| moved_hint(e, current.map(|r| r.listen)))?),
        };
        let admin = match (cfg.admin_listen, current.and_then(|r| r.admin_listen)) {
            (Some(new), Some(old)) if new == old => None,
            (Some(new), old) => Some(bind(new).map_err(|e| moved_hint(e, old))?),
            (None, _) => None,
        };
        Ok(Prepared {
            snap,
            listener,
            admin,
        })
    }

    pub fn start(
        cfg: &RouterConfig,
        prepared: Option<Prepared>,
        metrics: RouterMetrics,
        reload: Option<mpsc::Sender<ReloadRequest>>,
        hub: Option<crate::track::TrackHub>,
    ) -> Result<Router, RouterError> {
        let prepared = match prepared {
            Some(p) => p,
            None => Router::prepare(None, cfg)?,
        };
        let snap = prepared.snap;
        let listener = match prepared.listener {
            Some(l) => l,
            None => bind(cfg.listen)?,
        };
        let admin_listener = match (prepared.admin, cfg.admin_listen) {
            (Some(l), _) => Some(l),
            (None, Some(addr)) => Some(bind(addr)?),
            (None, None) => None,
        };
        let started_ms = epoch_ms();
        let shared = Arc::new(Shared {
            snap: RwLock::new(Arc::new(snap)),
            data_hosts: RwLock::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            next_id: AtomicU32::new(1),
            metrics,
            reload,
            force_rebuild: AtomicBool::new(false),
            started: Instant::now(),
            executes: RwLock::new(HashMap::new()),
            columns: Mutex::new(columns::ColumnCache::default()),
            offline: AtomicBool::new(false),
            loaded_at_ms: AtomicU64::new(started_ms),
            rolled_back_at_ms: std::sync::atomic::AtomicI64::new(-1),
            started_ms,
            slow: Mutex::new(slowlog::SlowLog::default()),
            slow_ms: AtomicU64::new(slowlog::DEFAULT_THRESHOLD_MS),
            sql_stat_on: AtomicBool::new(cfg.sql_stat),
            sql_stats: Mutex::new(sqlstat::SqlStats::default()),
            front: counters::FrontCounters::default(),
            conditions: Mutex::new(sqlcond::Conditions::default()),
            conditions_on: AtomicBool::new(false),
        });
        shared.metrics.online.set(1);
        let mut r = Router {
            listen: cfg.listen,
            admin_listen: cfg.admin_listen,
            accept: tokio::spawn(accept_loop(listener, shared.clone(), false)),
            admin_accept: admin_listener
                .map(|l| tokio::spawn(accept_loop(l, shared.clone(), true))),
            shared,
            heartbeats: HashMap::new(),
            keep_pools: AtomicBool::new(false),
            health: None,
        };
        r.apply_data_hosts(cfg, false);
        r.health = Some(tokio::spawn(maintain(r.shared.clone(), hub)));
        let admin = cfg
            .admin_listen
            .map_or_else(|| "off".to_string(), |a| a.to_string());
        tracing::info!(
            listen = %cfg.listen,
            admin = %admin,
            "router listening on {}, admin port {} ({} data host(s), {} user(s))",
            cfg.listen,
            admin,
            cfg.data_hosts.len(),
            cfg.users.len()
        );
        let snap = r.shared.snapshot();
        log_tls(None, snap.tls.as_deref(), &r.shared.metrics);
        Ok(r)
    }

    fn apply_data_hosts(&mut self, cfg: &RouterConfig, rebuild_all: bool) {
        let tcp = backend::BackendTcp::from_config(cfg);
        let mut map = HashMap::new();
        let mut keep = HashMap::new();
        let mut replaced: Vec<(Arc<DataHostRt>, Option<Arc<DataHostRt>>)> = Vec::new();
        for dh in &cfg.data_hosts {
            match self.heartbeats.remove(&dh.name) {
                Some((rt, stop)) if rt.cfg == *dh && rt.tcp == tcp && !rebuild_all => {
                    map.insert(dh.name.clone(), rt.clone());
                    keep.insert(dh.name.clone(), (rt, stop));
                }
                old => {
                    let rt = DataHostRt::new(dh, &cfg.state_dir, tcp);
                    if let Some((old, stop)) = old {
                        let _ = stop.send(true);
                        rt.carry_active_from(&old);
                        replaced.push((old, Some(rt.clone())));
                    }
                    let (tx, rx) = watch::channel(false);
                    tokio::spawn(backend::heartbeat::run(rt.clone(), rx));
                    map.insert(dh.name.clone(), rt.clone());
                    keep.insert(dh.name.clone(), (rt, tx));
                }
            }
        }
        // Data hosts no longer configured: stop their heartbeats and retire their
        // connections (sessions holding one get an error at their next statement).
        for (_, (old, stop)) in self.heartbeats.drain() {
            let _ = stop.send(true);
            replaced.push((old, None));
        }
        self.heartbeats = keep;
        // The old hosts are retired together with the switch to the new data hosts (under
        // the same lock): a session that borrowed from an old host and read its epoch
        // after the retirement finds the new data host when it checks after borrowing,
        // instead of keeping a connection that counts as current and is never retired.
        let mut d = self.shared.data_hosts.write();
        if let Ok(d) = d.as_mut() {
            **d = map;
        }
        for (old, new) in replaced {
            retire_replaced(&old, new.as_ref());
        }
        drop(d);
    }

    /// Applies a reloaded config: users, schemas and rules at once; changed data hosts get
    /// new pools (old connections finish their statements and close).
    /// `prepared` comes from [`Router::prepare`] with this router and `cfg`; without it
    /// the preparation happens here (and a failure changes nothing).
    pub async fn apply(
        &mut self,
        cfg: &RouterConfig,
        prepared: Option<Prepared>,
    ) -> Result<(), RouterError> {
        let prepared = match prepared {
            Some(p) => p,
            None => Router::prepare(Some(self), cfg)?,
        };
        if cfg.listen != self.listen {
            let l = match prepared.listener {
                Some(l) => l,
                None => bind(cfg.listen)?,
            };
            self.accept.abort();
            self.accept = tokio::spawn(accept_loop(l, self.shared.clone(), false));
            self.listen = cfg.listen;
        }
        if cfg.admin_listen != self.admin_listen {
            let fresh = match (prepared.admin, cfg.admin_listen) {
                (Some(l), _) => Some(l),
                (None, Some(addr)) => Some(bind(addr)?),
                (None, None) => None,
            };
            if let Some(a) = self.admin_accept.take() {
                a.abort();
            }
            self.admin_accept =
                fresh.map(|l| tokio::spawn(accept_loop(l, self.shared.clone(), true)));
            self.admin_listen = cfg.admin_listen;
        }
        let old = self.shared.snapshot();
        // A reload that changes `sql_stat` applies it; others keep what `reload
        // @@sqlstat` set.
        if old.cfg.sql_stat != cfg.sql_stat {
            self.shared.set_sql_stat(cfg.sql_stat, "config reload");
        }
        let fresh = Arc::new(prepared.snap);
        if let Ok(mut s) = self.shared.snap.write() {
            *s = fresh.clone();
        }
        self.shared
            .loaded_at_ms
            .store(epoch_ms(), Ordering::Relaxed);
        log_tls(
            Some(old.tls.as_deref()),
            fresh.tls.as_deref(),
            &self.shared.metrics,
        );
        let all = self.shared.force_rebuild.swap(false, Ordering::AcqRel);
        if self.keep_pools.swap(false, Ordering::AcqRel) {
            // `reload @@config`: users, schemas and rules only.
            tracing::info!("router: users, schemas and rules reloaded; data hosts and pools kept");
            return Ok(());
        }
        self.apply_data_hosts(cfg, all);
        Ok(())
    }

    /// The next `apply` changes users/schemas/rules only (`reload @@config`).
    pub fn keep_pools_next_apply(&self) {
        self.keep_pools.store(true, Ordering::Release);
    }

    /// Forgets what [`Router::keep_pools_next_apply`] or `force_rebuild` asked of an
    /// apply that did not happen (the reload was refused).
    pub fn clear_next_apply(&self) {
        self.keep_pools.store(false, Ordering::Release);
        self.shared.force_rebuild.store(false, Ordering::Release);
    }

    pub fn stop(self) {
        if let Some(h) = self.health {
            h.abort();
        }
        self.shared.metrics.online.set(0);
        self.accept.abort();
        if let Some(a) = self.admin_accept {
            a.abort();
        }
        for (_, (_, stop)) in self.heartbeats {
            let _ = stop.send(true);
        }
        if let Ok(s) = self.shared.sessions.lock() {
            for c in s.values() {
                c.killed.store(true, Ordering::Release);
                c.kill.notify_one();
            }
        }
    }

    pub fn status_provider(&self) -> impl Fn() -> Value + Send + Sync + 'static {
        let shared = self.shared.clone();
        move || status(&shared)
    }

    /// Refreshes the router's gauges at scrape time (see [`Metrics::register_refresh`]).
    ///
    /// [`Metrics::register_refresh`]: crate::observe::metrics::Metrics::register_refresh
    pub fn gauge_refresher(&self) -> impl Fn() + Send + Sync + 'static {
        let shared = self.shared.clone();
        move || shared.refresh_gauges()
    }
}

pub fn status(shared: &Shared) -> Value {
    shared.refresh_gauges();
    let snap = shared.snapshot();
    let dhs: Vec<Value> = shared
        .all_data_hosts()
        .iter()
        .map(|dh| {
            let active = dh.active_index();
            let readable: Vec<String> = dh.read_candidates().iter().map(|h| h.name.clone()).collect();
            json!({
                "name": dh.cfg.name,
                "balance": dh.cfg.balance,
                "switch_type": dh.cfg.switch_type,
                "active_write_host": dh.cfg.write_hosts.get(active).map(|w| w.host.clone()),
                "active_index": active,
                "readable": readable,
                "switches": dh.switches_total.load(Ordering::Relaxed),
                // `stop @@heartbeat`: seconds left (null: running).
                "heartbeat_paused_seconds": dh.heartbeat_paused().map(|(_, d)| d.as_secs().max(1)),
                "heartbeat_paused_host": dh.heartbeat_paused().and_then(|(w, _)| dh.cfg.write_hosts.get(w).map(|h| h.host.clone())),
                "stop_replication_on_switch": dh.cfg.stop_replication_on_switch,
                "replication_stop_failures": dh.repl_stop_failures.load(Ordering::Relaxed),
                "hosts": dh.hosts.iter().map(|h| {
                    let hl = h.health();
                    let is_active = matches!(h.role, backend::Role::Writer(w) if w == active);
                    let writer_down = match h.role {
                        backend::Role::Reader { writer } if !dh.cfg.temp_read_host_available => dh
                            .writers
                            .get(writer)
                            .and_then(|&i| dh.hosts.get(i))
                            .filter(|w| !w.health().up)
                            .map(|w| format!("its write host {} is down", w.name)),
                        _ => None,
                    };
                    let no_reads = h
                        .replication_block(&hl, dh.cfg.switch_type, dh.cfg.slave_threshold)
                        .filter(|_| !is_active)
                        .or(writer_down);
                    json!({
                        "name": h.name,
                        "address": format!("{}:{}", h.target, h.port),
                        "role": match h.role { backend::Role::Writer(_) => "write", backend::Role::Reader { .. } => "read" },
                        "up": hl.up,
                        // No heartbeat has answered or failed yet (just started or
                        // reloaded): `up` is the starting assumption, not a result.
                        "checked": hl.last_check.is_some(),
                        "last_error": hl.last_error,
                        "replica": hl.is_replica,
                        "lag_seconds": hl.lag,
                        "io_running": hl.io_running,
                        "sql_running": hl.sql_running,
                        // With no candidate (balance 0, or none up) the active write
                        // host takes the reads.
                        "reads": readable.contains(&h.name) || (is_active && readable.is_empty()),
                        "no_reads_reason": no_reads,
                        "pool": { "open": h.pool.open_count(), "idle": h.pool.idle_count(), "max_con": h.pool.max_con },
                    })
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    let sessions = shared.sessions.lock().map(|s| s.len()).unwrap_or(0);
    json!({
        "enabled": true,
        "running": true,
        "online": !shared.is_offline(),
        "listen": snap.cfg.listen.to_string(),
        "admin_listen": snap.cfg.admin_listen.map(|a| a.to_string()),
        "server_version": shared.server_version(),
        "tls": snap.tls.as_ref().map_or_else(|| json!("off"), |t| t.status_json()),
        "sessions": sessions,
        "data_hosts": dhs,
    })
}

/// Logs the certificate clients are offered (at start, and on a reload when it changed:
/// `prev` is `Some` on reload), warns when it expires within 30 days, and sets the expiry
/// gauge.
fn log_tls(prev: Option<Option<&tls::TlsState>>, now: Option<&tls::TlsState>, m: &RouterMetrics) {
    m.tls_expiry.set(now.map_or(0, |t| t.not_after));
    let Some(t) = now else {
        if matches!(prev, None | Some(Some(_))) {
            tracing::info!(
                "router: TLS is off (router.tls: off): clients that ask for TLS are refused"
            );
        }
        return;
    };
    if let Some(Some(p)) = prev
        && p.fingerprint == t.fingerprint
        && p.require_secure_transport == t.require_secure_transport
    {
        return;
    }
    let what = match &t.source {
        tls::CertSource::SelfSigned => {
            "a self-signed certificate made at start (MariaDB 11.4+ clients verify it through the password)".to_string()
        }
        tls::CertSource::Files { cert, .. } => format!("certificate {}", cert.display()),
    };
    let verb = if prev.is_some() {
        "now offers"
    } else {
        "offers"
    };
    let require = if t.require_secure_transport {
        "; clients without TLS are refused"
    } else {
        ""
    };
    tracing::info!(
        sha256 = %t.fingerprint_text(),
        "router: TLS {verb} {what}: {}, SHA-256 {}, valid until {}{require}",
        t.subject,
        t.fingerprint_text(),
        t.not_after_text()
    );
    if t.expires_in() < 30 * 86_400 {
        tracing::warn!(
            "router: the TLS certificate expires on {} (in {} days): replace it and reload",
            t.not_after_text(),
            t.expires_in().div_euclid(86_400)
        );
    }
}

/// Keeps the pool/host gauges current for /metrics, and publishes `track_router`
/// health: up while every data host's active write host answers its heartbeat.
async fn maintain(shared: Arc<Shared>, hub: Option<crate::track::TrackHub>) {
    struct Clear(Option<crate::track::TrackHub>);
    impl Drop for Clear {
        fn drop(&mut self) {
            if let Some(h) = &self.0 {
                h.remove(crate::track::ROUTER_KEY);
            }
        }
    }
    let _clear = Clear(hub.clone());
    loop {
        shared.refresh_gauges();
        if let Some(hub) = &hub {
            publish_health(&shared, hub);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

fn publish_health(shared: &Shared, hub: &crate::track::TrackHub) {
    let dhs = shared.all_data_hosts();
    let mut down = Vec::new();
    for dh in &dhs {
        let w = dh.writer();
        let h = w.health();
        if h.last_check.is_none() {
            down.push(format!(
                "data host {}: write host {} not checked yet",
                dh.cfg.name, w.name
            ));
        } else if !h.up {
            down.push(format!(
                "data host {}: write host {} is down",
                dh.cfg.name, w.name
            ));
        }
    }
    let (up, why) = health_verdict(shared.is_offline(), dhs.len(), &down);
    hub.set(crate::track::ROUTER_KEY, Some(up), &why);
}

/// `track_router`: down while offline, with no data hosts, or while a data host's
/// active write host is down or not checked yet (`down` says which).
fn health_verdict(offline: bool, data_hosts: usize, down: &[String]) -> (bool, String) {
    if offline {
        (
            false,
            "the router is offline (admin command `offline`)".to_string(),
        )
    } else if data_hosts == 0 {
        (false, "the router has no data hosts".to_string())
    } else if down.is_empty() {
        (true, "every data host has a write host up".to_string())
    } else {
        (false, down.join("; "))
    }
}

async fn accept_loop(l: TcpListener, shared: Arc<Shared>, admin: bool) {
    let port = if admin { "admin" } else { "sql" };
    let mut last_err: Option<Instant> = None;
    loop {
        match l.accept().await {
            Ok((s, peer)) => {
                let _ = s.set_nodelay(true);
                shared.metrics.connections.with_label_values(&[port]).inc();
                let sh = shared.clone();
                tokio::spawn(async move {
                    session::serve(s, peer, sh, admin).await;
                });
            }
            Err(e) => {
                if last_err.is_none_or(|t| t.elapsed().as_secs() >= 10) {
                    tracing::error!("router: accept on {port} port failed: {e}");
                    last_err = Some(Instant::now());
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

#[cfg(test)]
mod health_tests {
    use super::health_verdict;

    #[test]
    fn offline_holds_track_router_down_whatever_the_data_hosts() {
        let down = vec!["data host dh1: write host w1 is down".to_string()];
        assert_eq!(
            health_verdict(false, 2, &[]),
            (true, "every data host has a write host up".to_string())
        );
        assert_eq!(
            health_verdict(false, 2, &down),
            (false, "data host dh1: write host w1 is down".to_string())
        );
        assert_eq!(
            health_verdict(false, 0, &[]),
            (false, "the router has no data hosts".to_string())
        );
        for (n, d) in [(2, &[][..]), (2, &down[..]), (0, &[][..])] {
            assert_eq!(
                health_verdict(true, n, d),
                (
                    false,
                    "the router is offline (admin command `offline`)".to_string()
                )
            );
        }
    }
}
