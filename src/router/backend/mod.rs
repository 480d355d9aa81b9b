//! Backend hosts: connection pools, heartbeats, read-host choice and write-host failover
//! (MyCat dataHost semantics).

pub mod conn;
pub mod hbrecord;
pub mod heartbeat;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

pub use conn::{BackendConn, BackendError};

use crate::config::router::DataHost;
use crate::router::wire::SqlError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Writer(usize),
    /// A read host of write host `writer`.
    Reader {
        writer: usize,
    },
}

/// What the heartbeats know about a host.
#[derive(Debug, Clone, Default)]
pub struct Health {
    pub up: bool,
    pub failures: u32,
    pub last_error: Option<String>,
    pub last_check: Option<Instant>,
    pub last_ok: Option<Instant>,
    /// Replication (switch_type 2): `Seconds_Behind_Master`, thread states.
    pub lag: Option<u64>,
    pub io_running: Option<bool>,
    pub sql_running: Option<bool>,
    /// Everything received from the primary has been applied.
    pub relay_applied: Option<bool>,
    pub is_replica: bool,
}

/// `SHOW STATUS LIKE 'wsrep%'` as (name, value).
pub type WsrepStatus = Vec<(String, String)>;

pub struct Host {
    pub name: String,
    pub target: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub role: Role,
    pub weight: u32,
    pub pool: Pool,
    pub health: Mutex<Health>,
    pub version: Mutex<Option<String>>,
    pub deprecate_eof: AtomicBool,
    /// Socket options of connections to the host.
    pub tcp: BackendTcp,
    /// TLS on connections to the host (`data_hosts[].tls`); `None` = off.
    pub tls: Option<Arc<crate::router::tls::BackendTlsSetup>>,
    /// Bumped when the host's connections are retired (its write role moved away, or a
    /// reload replaced it): a connection opened in an older epoch is not used again.
    epoch: AtomicU64,
    retirement: Mutex<Option<Retirement>>,
    /// The pool connections opened to this host (or moved to it by a reload), idle or
    /// in use, for a switch to end the statements in flight on them.
    live: Mutex<Vec<Weak<conn::Abort>>>,
    /// The last `SHOW SLAVE STATUS` the heartbeat read from the host (`switch_type: 2`),
    /// for `show @@datasource.synstatus`; kept while the host does not answer.
    pub repl_status: Mutex<Option<Arc<ReplStatus>>>,
    /// `switch_type: 3`: the last `SHOW STATUS LIKE 'wsrep%'` the heartbeat read, as
    /// (name, value) (`show @@datasource.cluster`); kept while the host does not answer.
    pub wsrep_status: Mutex<Option<Arc<WsrepStatus>>>,
    /// Each heartbeat's response time, for `show @@heartbeat[.detail]`.
    pub heartbeats: Mutex<hbrecord::HeartbeatRecorder>,
}

/// The replication fields of `SHOW SLAVE STATUS` that MyCat's
/// `show @@datasource.synstatus` shows, as the server wrote them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplStatus {
    pub master_host: Option<String>,
    pub master_port: Option<String>,
    pub master_user: Option<String>,
    pub seconds_behind_master: Option<String>,
    pub io_running: Option<String>,
    pub sql_running: Option<String>,
    pub io_state: Option<String>,
    pub connect_retry: Option<String>,
    pub last_io_error: Option<String>,
    pub last_sql_error: Option<String>,
    pub last_sql_errno: Option<String>,
}

/// Why and into what a host's connections were retired.
#[derive(Clone)]
pub struct Retirement {
    /// For the error the client of a detached session gets, e.g. "write host w1 of data
    /// host dh1 was switched to w2 (admin: switch @@datasource)".
    pub why: String,
    /// A reload kept the same server (same address, user, password and role) under a
    /// new host object: (that host, its epoch then). Connections may move over to it.
    pub successor: Option<(Arc<Host>, u64)>,
}

/// TCP keepalive and TCP_USER_TIMEOUT of backend sockets (`router.backend_keepalive`,
/// `router.backend_user_timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BackendTcp {
    /// (idle, interval, count); `None` = no keepalive probes.
    pub keepalive: Option<(Duration, Duration, u32)>,
    /// `None` = the kernel's default.
    pub user_timeout: Option<Duration>,
}

impl BackendTcp {
    pub fn from_config(cfg: &crate::config::router::RouterConfig) -> BackendTcp {
        BackendTcp {
            keepalive: cfg
                .backend_keepalive
                .map(|k| (k.idle.get(), k.interval.get(), k.count)),
            user_timeout: cfg.backend_user_timeout.map(|d| d.get()),
        }
    }

    /// Sets the options on a connected socket.
    pub fn apply(&self, s: socket2::SockRef<'_>) -> std::io::Result<()> {
        match self.keepalive {
            Some((idle, interval, count)) => s.set_tcp_keepalive(
                &socket2::TcpKeepalive::new()
                    .with_time(idle)
                    .with_interval(interval)
                    .with_retries(count),
            )?,
            None => s.set_keepalive(false)?,
        }
        if let Some(t) = self.user_timeout {
            s.set_tcp_user_timeout(Some(t))?;
        }
        Ok(())
    }
}

impl Host {
    /// The epoch connections opened now belong to.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Retires every connection to this host opened so far: idle ones are closed now,
    /// busy ones when they come back (or, pinned by a session, at its next statement).
    /// With `abort_busy` (a write-host switch) the busy and pinned ones are also shut
    /// down now, so a statement in flight on them ends at once with a lost-connection
    /// error and the server rolls back what they held.
    pub fn retire(&self, why: String, successor: Option<Arc<Host>>, abort_busy: bool) {
        let successor = successor.map(|h| {
            let e = h.epoch();
            (h, e)
        });
        let heirs = successor.as_ref().map(|(h, _)| h.clone());
        if let Ok(mut r) = self.retirement.lock() {
            *r = Some(Retirement { why, successor });
        }
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.pool.close_idle();
        let live = self
            .live
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default();
        if abort_busy {
            let n = live
                .iter()
                .filter_map(Weak::upgrade)
                .filter(|a| a.abort())
                .count();
            if n > 0 {
                tracing::info!(
                    host = %self.name,
                    connections = n,
                    "router: host {}: {n} connection(s) in use shut down",
                    self.name
                );
            }
        } else if let Some(h) = heirs {
            // Connections that may still move over: a later switch of the host that
            // replaced this one must find them.
            for a in live.iter().filter_map(Weak::upgrade) {
                h.track(&a);
            }
        }
    }

    /// Remembers a pool connection for [`Host::retire`].
    fn track(&self, a: &Arc<conn::Abort>) {
        if let Ok(mut l) = self.live.lock() {
            if l.len() == l.capacity() {
                // Pruned before the vector grows: amortized O(1), bounded by twice the
                // live connections.
                l.retain(|w| w.strong_count() > 0);
            }
            l.push(Arc::downgrade(a));
        }
    }

    /// Why the host's older connections were retired.
    pub fn retirement(&self) -> Option<Retirement> {
        self.retirement.lock().ok().and_then(|r| r.clone())
    }

    pub fn health(&self) -> Health {
        self.health.lock().map(|h| h.clone()).unwrap_or_default()
    }

    pub async fn resolve(&self) -> Result<SocketAddr, BackendError> {
        let mut it = tokio::net::lookup_host((self.target.as_str(), self.port))
            .await
            .map_err(|err| BackendError::Connect {
                addr: SocketAddr::from(([0, 0, 0, 0], self.port)),
                err,
            })?;
        it.next().ok_or(BackendError::Connect {
            addr: SocketAddr::from(([0, 0, 0, 0], self.port)),
            err: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
        })
    }

    /// A new connection, outside the pool.
    pub async fn connect(
        &self,
        profile: u32,
        timeout: Duration,
    ) -> Result<BackendConn, BackendError> {
        let addr = self.resolve().await?;
        let c = BackendConn::connect(
            addr,
            &self.user,
            &self.password,
            profile,
            timeout,
            &self.tcp,
            self.tls.as_deref().map(|t| (t, self.target.as_str())),
        )
        .await?;
        if let Ok(mut v) = self.version.lock() {
            *v = Some(c.version.clone());
        }
        self.deprecate_eof.store(
            c.server_caps & crate::router::wire::Caps::CLIENT_DEPRECATE_EOF.bits() != 0,
            Ordering::Relaxed,
        );
        Ok(c)
    }

    pub fn usable_for_reads(&self, switch_type: i8, threshold: u32) -> bool {
        let h = self.health();
        h.up && self.weight != 0 && self.replication_block(&h, switch_type, threshold).is_none()
    }

    /// Why replication keeps reads away from this host, if it does: with switch_type 2
    /// (as MyCat's canSelectAsReadNode) a replica reads only while in sync, and a read
    /// host that reports no replication at all (replication reset or never set up, so
    /// nothing keeps it current) is not read from either.
    pub fn replication_block(&self, h: &Health, switch_type: i8, threshold: u32) -> Option<String> {
        if switch_type != 2 || !(h.is_replica || matches!(self.role, Role::Reader { .. })) {
            return None;
        }
        if !h.is_replica {
            return Some("it reports no replication (SHOW SLAVE STATUS is empty)".into());
        }
        if h.io_running != Some(true) {
            return Some("replication IO thread not running".into());
        }
        if h.sql_running != Some(true) {
            return Some("replication SQL thread not running".into());
        }
        match h.lag {
            None => Some("replication lag unknown".into()),
            Some(l) if l >= u64::from(threshold) => Some(format!(
                "replication lag {l}s, slave_threshold {threshold}s"
            )),
            Some(_) => None,
        }
    }
}

/// A pooled connection: returned to its host's pool with `Pool::put`, closed when
/// dropped.
pub struct Pooled {
    /// Boxed: a pooled connection moves between the pool and sessions on every
    /// statement, and a pointer is cheaper to move than the whole state.
    pub conn: Box<BackendConn>,
    pub host: Arc<Host>,
    /// The host's epoch when the connection was opened (or moved to it).
    epoch: u64,
    _permit: OwnedSemaphorePermit,
}

/// What became of a connection whose host was retired.
pub enum Revalidated {
    /// Still current (possibly moved to the host that replaced its own on a reload).
    Current(Pooled),
    /// Retired: the connection is closed; the reason is for the client.
    Retired(String),
}

impl Pooled {
    /// Opened before its host was retired?
    pub fn retired(&self) -> bool {
        self.epoch != self.host.epoch()
    }

    /// Why the connection was shut down under its user, when its host's switch (not a
    /// reload that kept the server) retired it.
    pub fn switched_away(&self) -> Option<String> {
        if !self.retired() {
            return None;
        }
        self.host
            .retirement()
            .filter(|r| r.successor.is_none())
            .map(|r| r.why)
    }

    /// A retired connection moves to the host a reload put in its host's place when
    /// that is the same server in the same role and has not been retired since;
    /// otherwise it is closed.
    pub fn revalidate(self) -> Revalidated {
        let mut p = self;
        // Reloads can chain (a → a' → a''); a handful of hops is plenty.
        for _ in 0..8 {
            if !p.retired() {
                return Revalidated::Current(p);
            }
            let Some(r) = p.host.retirement() else {
                return Revalidated::Retired(format!("host {} was retired", p.host.name));
            };
            match r.successor {
                Some((next, epoch)) if next.epoch() == epoch => {
                    let permit = match next.pool.permits.clone().try_acquire_owned() {
                        Ok(permit) => permit,
                        // The new pool is full: the connection keeps counting against
                        // the old one until it closes, which is when it is given back
                        // (`Pool::put` does not pool it).
                        Err(_) => p._permit,
                    };
                    next.track(&p.conn.abort);
                    p = Pooled {
                        conn: p.conn,
                        host: next,
                        epoch,
                        _permit: permit,
                    };
                }
                _ => return Revalidated::Retired(r.why),
            }
        }
        Revalidated::Retired(format!("host {} was retired", p.host.name))
    }
}

pub struct Pool {
    idle: Mutex<Vec<Pooled>>,
    permits: Arc<Semaphore>,
    returned: Notify,
    pub max_con: u32,
    pub min_con: u32,
    pub idle_timeout: Duration,
    pub borrow_timeout: Duration,
    pub created_total: AtomicU64,
    pub borrow_timeouts_total: AtomicU64,
    pub warm_profile: AtomicU64,
}

/// How long a backend login may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl Pool {
    fn new(cfg: &DataHost) -> Pool {
        Pool {
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(cfg.max_con as usize)),
            returned: Notify::new(),
            max_con: cfg.max_con,
            min_con: cfg.min_con,
            idle_timeout: cfg.idle_timeout.0,
            borrow_timeout: cfg.borrow_timeout.0,
            created_total: AtomicU64::new(0),
            borrow_timeouts_total: AtomicU64::new(0),
            warm_profile: AtomicU64::new(0),
        }
    }

    pub fn idle_count(&self) -> usize {
        self.idle.lock().map(|i| i.len()).unwrap_or(0)
    }

    /// Connections open (idle + in use).
    pub fn open_count(&self) -> usize {
        self.max_con as usize - self.permits.available_permits()
    }

    /// The idle connection with the server thread id `prefer` if it has the profile,
    /// else the most recently returned one with the profile.
    fn take_idle(&self, profile: u32, prefer: u32) -> Option<Pooled> {
        let mut idle = self.idle.lock().ok()?;
        let i = idle
            .iter()
            .rposition(|p| p.conn.thread_id == prefer && p.conn.profile == profile)
            .or_else(|| idle.iter().rposition(|p| p.conn.profile == profile))?;
        Some(idle.swap_remove(i))
    }

    fn drop_other_idle(&self) -> bool {
        let Ok(mut idle) = self.idle.lock() else {
            return false;
        };
        if idle.is_empty() {
            return false;
        }
        // The oldest idle connection goes.
        if let Some(i) = idle
            .iter()
            .enumerate()
            .min_by_key(|(_, p)| p.conn.idle_since)
            .map(|(i, _)| i)
        {
            idle.swap_remove(i);
        }
        true
    }

    /// Closes every idle connection.
    pub fn close_idle(&self) {
        let closed = self.idle.lock().map(|mut i| std::mem::take(&mut *i));
        // Dropped outside the lock.
        drop(closed);
    }

    pub fn put(&self, mut p: Pooled) {
        if p.retired() {
            // Its host was retired while it was in use: closed, not pooled.
            return;
        }
        if !Arc::ptr_eq(p._permit.semaphore(), &self.permits) {
            // Moved here by a reload while this pool was full (see
            // [`Pooled::revalidate`]): it holds a permit of the old pool, so pooling it
            // would keep more than `max_con` connections open; closed instead.
            return;
        }
        p.conn.idle_since = Instant::now();
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(p);
        }
        self.returned.notify_one();
    }

    /// Closes idle connections the server has closed (its `wait_timeout`, a `KILL`, a
    /// restart), so that the heartbeat's [`warm`] replaces them and `min_con` means
    /// usable connections; then those past the idle timeout, keeping `min_con`.
    pub fn reap(&self) {
        let mut gone = Vec::new();
        {
            let Ok(mut idle) = self.idle.lock() else {
                return;
            };
            let mut i = 0;
            while i < idle.len() {
                let p = &mut idle[i];
                if p.retired() || !p.conn.looks_alive() {
                    gone.push(idle.swap_remove(i));
                } else {
                    i += 1;
                }
            }
            let keep = self.min_con as usize;
            let now = Instant::now();
            let mut i = 0;
            while i < idle.len() {
                if idle.len() > keep
                    && now.duration_since(idle[i].conn.idle_since) > self.idle_timeout
                {
                    gone.push(idle.swap_remove(i));
                } else {
                    i += 1;
                }
            }
        }
        // Closed outside the lock.
        drop(gone);
    }
}

/// Borrows a connection with the client's capability profile from `host`'s pool.
pub async fn borrow(host: &Arc<Host>, profile: u32) -> Result<Pooled, SqlError> {
    borrow_prefer(host, profile, 0).await
}

/// `borrow`, preferring the idle connection whose server thread id is `prefer` (the one
/// the session used last): a client keeps talking to the same server thread while the
/// pool allows, as it would over a direct connection.
pub async fn borrow_prefer(
    host: &Arc<Host>,
    profile: u32,
    prefer: u32,
) -> Result<Pooled, SqlError> {
    let pool = &host.pool;
    // Taken when the borrow first has to wait or connect (an idle connection is the
    // common case and needs no clock).
    let mut started = None;
    loop {
        while let Some(mut p) = pool.take_idle(profile, prefer) {
            if !p.retired() && p.conn.looks_alive() {
                return Ok(p);
            }
            // Dead idle connection: dropped here, its permit freed.
        }
        let permit = match pool.permits.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => {
                if pool.drop_other_idle() {
                    continue;
                }
                let notified = pool.returned.notified();
                let deadline =
                    *started.get_or_insert_with(tokio::time::Instant::now) + pool.borrow_timeout;
                tokio::select! {
                    p = pool.permits.clone().acquire_owned() => p.ok(),
                    _ = notified => None,
                    _ = tokio::time::sleep_until(deadline) => {
                        pool.borrow_timeouts_total.fetch_add(1, Ordering::Relaxed);
                        return Err(SqlError::new(
                            1040,
                            "08004",
                            format!(
                                "no free connection to {} within {:?}: all {} connections of the pool are in use (max_con)",
                                host.name, pool.borrow_timeout, pool.max_con
                            ),
                        ));
                    }
                }
            }
        };
        if let Some(permit) = permit {
            pool.warm_profile
                .store(u64::from(profile), Ordering::Relaxed);
            let epoch = host.epoch();
            let deadline =
                *started.get_or_insert_with(tokio::time::Instant::now) + pool.borrow_timeout;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let conn = host
                .connect(
                    profile,
                    CONNECT_TIMEOUT.min(left.max(Duration::from_millis(100))),
                )
                .await
                .map_err(|e| e.to_sql(&host.name))?;
            pool.created_total.fetch_add(1, Ordering::Relaxed);
            host.track(&conn.abort);
            return Ok(Pooled {
                conn: Box::new(conn),
                host: host.clone(),
                epoch,
                _permit: permit,
            });
        }
    }
}

/// Opens connections until the pool holds `min_con` (best effort).
pub async fn warm(host: &Arc<Host>) {
    let pool = &host.pool;
    while pool.open_count() < pool.min_con as usize {
        let Ok(permit) = pool.permits.clone().try_acquire_owned() else {
            return;
        };
        let profile = pool.warm_profile.load(Ordering::Relaxed) as u32;
        let epoch = host.epoch();
        match host.connect(profile, CONNECT_TIMEOUT).await {
            Ok(conn) => {
                pool.created_total.fetch_add(1, Ordering::Relaxed);
                host.track(&conn.abort);
                pool.put(Pooled {
                    conn: Box::new(conn),
                    host: host.clone(),
                    epoch,
                    _permit: permit,
                });
            }
            Err(_) => return,
        }
    }
}

/// A data host at run time.
pub struct DataHostRt {
    pub cfg: DataHost,
    pub hosts: Vec<Arc<Host>>,
    /// Host index of each write host.
    pub writers: Vec<usize>,
    active: AtomicUsize,
    pub switches_total: AtomicU64,
    /// How many of them the metrics counter has seen.
    pub switches_reported: AtomicU64,
    /// `stop_replication_on_switch`: switches where the new write host's replication
    /// could not be stopped.
    pub repl_stop_failures: AtomicU64,
    /// How many of them the metrics counter has seen.
    pub repl_stop_failures_reported: AtomicU64,
    state_file: PathBuf,
    /// Serializes writes of `state_file`.
    save: tokio::sync::Mutex<()>,
    pub tcp: BackendTcp,
    rng: Mutex<u64>,
    /// MyCat's `stop @@heartbeat name:seconds`: until then the write host that was
    /// active at the command gets no heartbeat (it keeps the state it had, so no
    /// failover starts from it, and none goes to it).
    heartbeat_pause: Mutex<Option<HeartbeatPause>>,
}

/// A `stop @@heartbeat` in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HeartbeatPause {
    until: Instant,
    /// The paused write host (index into `writers`).
    writer: usize,
}

impl DataHostRt {
    pub fn new(cfg: &DataHost, state_dir: &Path, tcp: BackendTcp) -> Arc<DataHostRt> {
        let mut hosts = Vec::new();
        let mut writers = Vec::new();
        let tls = crate::router::tls::BackendTlsSetup::new(&cfg.tls);
        let host = |name: &str,
                    url: &crate::config::types::HostPort,
                    user: &str,
                    password: &str,
                    role,
                    weight| {
            Arc::new(Host {
                name: name.to_string(),
                target: url.host.clone(),
                port: url.port,
                user: user.to_string(),
                password: password.to_string(),
                role,
                weight,
                pool: Pool::new(cfg),
                health: Mutex::new(Health {
                    up: true,
                    ..Default::default()
                }),
                version: Mutex::new(None),
                deprecate_eof: AtomicBool::new(false),
                tcp,
                tls: tls.clone(),
                epoch: AtomicU64::new(0),
                retirement: Mutex::new(None),
                live: Mutex::new(Vec::new()),
                repl_status: Mutex::new(None),
                wsrep_status: Mutex::new(None),
                heartbeats: Mutex::new(hbrecord::HeartbeatRecorder::default()),
            })
        };
        for (wi, w) in cfg.write_hosts.iter().enumerate() {
            writers.push(hosts.len());
            hosts.push(host(
                &w.host,
                &w.url,
                &w.user,
                &w.password,
                Role::Writer(wi),
                1,
            ));
            for r in &w.read_hosts {
                hosts.push(host(
                    &r.host,
                    &r.url,
                    &r.user,
                    &r.password,
                    Role::Reader { writer: wi },
                    r.weight,
                ));
            }
        }
        let state_file = state_dir.join("dnindex.properties");
        let mut active = load_index(&state_file, &cfg.name).unwrap_or(0);
        if active >= writers.len() {
            tracing::warn!(
                data_host = %cfg.name,
                "{}: saved write host index {active} is out of range; using 0",
                state_file.display()
            );
            active = 0;
        } else if active != 0 {
            tracing::info!(
                data_host = %cfg.name,
                index = active,
                "data host {}: write host {} is active (remembered in {})",
                cfg.name,
                cfg.write_hosts[active].host,
                state_file.display()
            );
        }
        let mut seed = [0u8; 8];
        crate::router::wire::random_bytes(&mut seed);
        Arc::new(DataHostRt {
            cfg: cfg.clone(),
            hosts,
            writers,
            active: AtomicUsize::new(active),
            switches_total: AtomicU64::new(0),
            switches_reported: AtomicU64::new(0),
            repl_stop_failures: AtomicU64::new(0),
            repl_stop_failures_reported: AtomicU64::new(0),
            state_file,
            save: tokio::sync::Mutex::new(()),
            tcp,
            rng: Mutex::new(u64::from_le_bytes(seed) | 1),
            heartbeat_pause: Mutex::new(None),
        })
    }

    /// `stop @@heartbeat`: no heartbeat for the active write host during `d` (0 ends a
    /// pause), as MyCat's heartbeat recovery time: the pause stays with that host when
    /// the write role moves. `by` says who asked, for the log line.
    pub fn pause_heartbeat(&self, d: Duration, by: &str) {
        let Ok(mut p) = self.heartbeat_pause.lock() else {
            return;
        };
        if d.is_zero() {
            if let Some(old) = p.take() {
                tracing::info!(
                    data_host = %self.cfg.name,
                    "data host {}: heartbeat of write host {} resumed ({by})",
                    self.cfg.name,
                    self.writer_name(old.writer)
                );
            }
            return;
        }
        let writer = self.active_index();
        *p = Some(HeartbeatPause {
            until: Instant::now().checked_add(d).unwrap_or_else(Instant::now),
            writer,
        });
        tracing::warn!(
            data_host = %self.cfg.name,
            "data host {}: heartbeat of write host {} stopped for {}s ({by}): no failover from it or to it meanwhile",
            self.cfg.name,
            self.writer_name(writer),
            d.as_secs()
        );
    }

    fn writer_name(&self, writer: usize) -> &str {
        self.cfg
            .write_hosts
            .get(writer)
            .map_or("?", |w| w.host.as_str())
    }

    /// The write host (index into `writers`) whose heartbeat `stop @@heartbeat` pauses,
    /// and for how long still.
    pub fn heartbeat_paused(&self) -> Option<(usize, Duration)> {
        let p = (*self.heartbeat_pause.lock().ok()?)?;
        let left = p.until.saturating_duration_since(Instant::now());
        (!left.is_zero()).then_some((p.writer, left))
    }

    /// How long the heartbeat of host `host` (index into `hosts`) stays paused.
    pub fn host_paused_for(&self, host: usize) -> Option<Duration> {
        self.heartbeat_paused()
            .filter(|(w, _)| self.writers.get(*w) == Some(&host))
            .map(|(_, left)| left)
    }

    /// Ends a pause whose time is over; returns the paused write host's name then.
    pub fn expire_heartbeat_pause(&self) -> Option<String> {
        let mut p = self.heartbeat_pause.lock().ok()?;
        let pause = (*p)?;
        if pause.until > Instant::now() {
            return None;
        }
        *p = None;
        Some(self.writer_name(pause.writer).to_string())
    }

    pub fn active_index(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// A reload replaced `old` by this data host: when the write hosts are the same
    /// servers in the same order, the write host active in `old` stays active. (The
    /// state file can lag behind a switch that is still saving it, and must not send
    /// writes back to the write host just switched away from.)
    pub fn carry_active_from(&self, old: &DataHostRt) {
        let same = |a: &DataHostRt, b: &DataHostRt| {
            a.cfg.write_hosts.len() == b.cfg.write_hosts.len()
                && a.cfg
                    .write_hosts
                    .iter()
                    .zip(&b.cfg.write_hosts)
                    .all(|(x, y)| x.host == y.host && x.url == y.url)
        };
        if !same(self, old) {
            if let Some((w, _)) = old.heartbeat_paused() {
                tracing::warn!(
                    data_host = %self.cfg.name,
                    "data host {}: the stop @@heartbeat pause of write host {} ended: the reload changed the data host's write hosts",
                    self.cfg.name,
                    old.writer_name(w)
                );
            }
            return;
        }
        if let (Ok(mut mine), Ok(theirs)) =
            (self.heartbeat_pause.lock(), old.heartbeat_pause.lock())
        {
            *mine = *theirs;
        }
        let (was, now) = (self.active_index(), old.active_index());
        if was != now && now < self.writers.len() {
            self.active.store(now, Ordering::Release);
            tracing::info!(
                data_host = %self.cfg.name,
                index = now,
                "data host {}: write host {} stays active across the reload",
                self.cfg.name,
                self.cfg.write_hosts[now].host
            );
        }
    }

    pub fn writer(&self) -> Arc<Host> {
        self.hosts[self.writers[self.active_index()]].clone()
    }

    fn random(&self) -> u64 {
        let Ok(mut s) = self.rng.lock() else {
            return 0;
        };
        // xorshift64*
        let mut x = *s;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *s = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Hosts a read may go to under the data host's `balance`, as MyCat 1.6's
    /// getAllActiveRWSources: `1` the standby write hosts and every write host's read
    /// hosts, `2` the write hosts and the read hosts, `3` the read hosts only. The read
    /// hosts of a write host that is down go with it (they replicate from it, so they
    /// fall behind), unless `temp_read_host_available`.
    pub fn read_candidates(&self) -> Vec<Arc<Host>> {
        let active = self.active_index();
        let st = self.cfg.switch_type;
        let th = self.cfg.slave_threshold;
        let writer_up = |w: usize| {
            self.writers
                .get(w)
                .and_then(|&i| self.hosts.get(i))
                .is_some_and(|h| h.health().up)
        };
        self.hosts
            .iter()
            .filter(|h| match (self.cfg.balance, h.role) {
                (1, Role::Writer(w)) => w != active,
                (2, Role::Writer(_)) => true,
                (1..=3, Role::Reader { writer }) => {
                    self.cfg.temp_read_host_available || writer_up(writer)
                }
                _ => false,
            })
            .filter(|h| match h.role {
                Role::Writer(w) if w == active => h.health().up,
                _ => h.usable_for_reads(st, th),
            })
            .cloned()
            .collect()
    }

    /// Where a read goes: weighted random among the candidates, else the active writer.
    pub fn reader(&self) -> Arc<Host> {
        if self.cfg.balance == 0 {
            return self.writer();
        }
        let c = self.read_candidates();
        let total: u64 = c.iter().map(|h| u64::from(h.weight)).sum();
        if total == 0 {
            return self.writer();
        }
        let mut x = self.random() % total;
        for h in &c {
            let w = u64::from(h.weight);
            if x < w {
                return h.clone();
            }
            x -= w;
        }
        self.writer()
    }

    /// Makes write host `to` active, retires the connections to the one it replaces
    /// (as MyCat closes the old source's connections), remembers the index on disk and
    /// logs why.
    pub async fn switch_to(&self, to: usize, why: &str) -> Result<(), String> {
        if to >= self.writers.len() {
            return Err(format!(
                "data host {} has {} write host(s); index {to} does not exist",
                self.cfg.name,
                self.writers.len()
            ));
        }
        // Before the new write host gets any write: writes still go to the old one (or
        // fail, it being down) for at most REPL_STOP_TIMEOUT.
        if self.cfg.stop_replication_on_switch && self.active_index() != to {
            self.stop_replication(self.active_index(), to).await;
        }
        let from = self.active.swap(to, Ordering::AcqRel);
        if from == to {
            return Ok(());
        }
        self.switches_total.fetch_add(1, Ordering::Relaxed);
        let (from_name, to_name) = (
            &self.cfg.write_hosts[from].host,
            &self.cfg.write_hosts[to].host,
        );
        tracing::warn!(
            data_host = %self.cfg.name,
            from = %from_name,
            to = %to_name,
            index = to,
            reason = why,
            "data host {}: write host switched from {from_name} to {to_name} (index {to}): {why}",
            self.cfg.name,
        );
        self.hosts[self.writers[from]].retire(
            format!(
                "write host {from_name} of data host {} was switched to {to_name} ({why})",
                self.cfg.name
            ),
            None,
            true,
        );
        self.save_active().await;
        Ok(())
    }

    /// `stop_replication_on_switch`: stops the IO thread of write host `to` (the SQL
    /// thread goes on applying what it has received), so that it does not fetch writes
    /// from write host `from` once that one is back. Never fails the switch: a refusal
    /// is logged with what to do by hand and counted.
    async fn stop_replication(&self, from: usize, to: usize) {
        let (from_name, to_name) = (
            &self.cfg.write_hosts[from].host,
            &self.cfg.write_hosts[to].host,
        );
        let host = &self.hosts[self.writers[to]];
        let r = match tokio::time::timeout(REPL_STOP_TIMEOUT, stop_io_thread(host)).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {REPL_STOP_TIMEOUT:?}")),
        };
        let name = &self.cfg.name;
        match r {
            Ok(ReplStop::Stopped(sql)) => tracing::info!(
                data_host = %name,
                host = %to_name,
                "data host {name}: replication stopped on {to_name} (IO thread, `{sql}`), so that it does not fetch {from_name}'s unreplicated writes when {from_name} comes back; the SQL thread still applies what was received"
            ),
            Ok(ReplStop::NotReplica(msg)) => tracing::info!(
                data_host = %name,
                host = %to_name,
                "data host {name}: {to_name} is not a replica, no replication to stop ({msg})"
            ),
            Err(err) => {
                self.repl_stop_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    data_host = %name,
                    host = %to_name,
                    "data host {name}: cannot stop replication on new write host {to_name}: {err}; run `STOP SLAVE IO_THREAD` on {to_name} by hand before {from_name} comes back, or {to_name} fetches {from_name}'s unreplicated writes and applies them over the new ones (the router's user needs SUPER or REPLICATION SLAVE ADMIN to do it)"
                );
            }
        }
    }

    /// Writes the active index to `state_file` off the async threads. Saves are
    /// serialized and each writes the index active when it runs, so the file ends with
    /// the latest one.
    async fn save_active(&self) {
        let _one_at_a_time = self.save.lock().await;
        let (path, name, index) = (
            self.state_file.clone(),
            self.cfg.name.clone(),
            self.active_index(),
        );
        let r = tokio::task::spawn_blocking(move || save_index(&path, &name, index)).await;
        let err = match r {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        tracing::error!(
            data_host = %self.cfg.name,
            "cannot save the active write host in {}: {err}; a restart will start on the saved/first one",
            self.state_file.display()
        );
    }
}

/// Bound on stopping replication at a switch (connect and statement).
const REPL_STOP_TIMEOUT: Duration = Duration::from_secs(3);

enum ReplStop {
    /// The statement that stopped it.
    Stopped(&'static str),
    /// The server's answer.
    NotReplica(String),
}

/// `STOP SLAVE IO_THREAD`, or `STOP REPLICA IO_THREAD` on a server that refuses the
/// first syntax.
async fn stop_io_thread(host: &Host) -> Result<ReplStop, String> {
    let mut c = host
        .connect(0, REPL_STOP_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    // No replication configured: nothing to stop. (A refusal here, e.g. a server
    // without this syntax, is no answer: the STOP statement says.)
    if let Ok(r) = c.query("SHOW SLAVE STATUS").await
        && r.rows.is_empty()
    {
        return Ok(ReplStop::NotReplica("SHOW SLAVE STATUS is empty".into()));
    }
    let mut last = String::new();
    for sql in ["STOP SLAVE IO_THREAD", "STOP REPLICA IO_THREAD"] {
        match c.query(sql).await {
            Ok(_) => return Ok(ReplStop::Stopped(sql)),
            // ER_PARSE_ERROR: try the other syntax.
            Err(BackendError::Sql { err, .. }) if err.code == 1064 => {
                last = format!("{} ({})", err.msg, err.code);
            }
            // ER_BAD_SLAVE, ER_SLAVE_NOT_CONFIGURED: nothing replicates into it.
            Err(BackendError::Sql { err, .. }) if matches!(err.code, 1200 | 1617) => {
                return Ok(ReplStop::NotReplica(format!("{} ({})", err.msg, err.code)));
            }
            Err(BackendError::Sql { err, .. }) => {
                return Err(format!("`{sql}`: {} ({})", err.msg, err.code));
            }
            Err(e) => return Err(format!("`{sql}`: {e}")),
        }
    }
    Err(last)
}

/// Reads `name=index` from a MyCat-style `dnindex.properties`.
pub fn load_index(path: &Path, name: &str) -> Option<usize> {
    // Lossy: a damaged byte on another line must not make every data host forget its
    // write host (and fail back to the first one on a restart).
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == name)
        .and_then(|(_, v)| v.trim().parse().ok())
}

/// Serializes [`save_index`] across data hosts: they share one file, and two saves
/// running at once (two data hosts failing over together when a server dies) would
/// each rewrite it from the same old text, losing one update, and share one temporary
/// file.
static SAVE_INDEX: Mutex<()> = Mutex::new(());

/// Writes `name=index` into the file, keeping other data hosts' lines: written to a
/// temporary file, flushed to disk and renamed over the old one (then the directory is
/// flushed), so a crash leaves either the old file or the new one, never a partial one.
pub fn save_index(path: &Path, name: &str, index: usize) -> std::io::Result<()> {
    use std::io::Write;
    let _one_at_a_time = SAVE_INDEX.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Lossy: a damaged byte must not cost the other data hosts their lines.
    let old = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let mut lines: Vec<String> = old
        .lines()
        .filter(|l| l.split_once('=').is_none_or(|(k, _)| k.trim() != name))
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    if lines.is_empty() || !lines[0].starts_with('#') {
        lines.insert(
            0,
            "# active write host index per data host (tandem router)".into(),
        );
    }
    lines.push(format!("{name}={index}"));
    let tmp = path.with_extension("properties.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all((lines.join("\n") + "\n").as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        // Makes the rename itself durable; best effort (not every file system allows
        // opening a directory for this).
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

impl Pool {
    /// Server thread ids of the idle connections.
    pub fn idle_threads(&self) -> Vec<u32> {
        self.idle
            .lock()
            .map(|i| i.iter().map(|p| p.conn.thread_id).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_file_round_trip() {
        let d = std::env::temp_dir().join(format!("tandem-dnindex-{}", std::process::id()));
        let f = d.join("dnindex.properties");
        let _ = std::fs::remove_file(&f);
        assert_eq!(load_index(&f, "dh1"), None);
        save_index(&f, "dh1", 1).expect("save");
        save_index(&f, "dh2", 0).expect("save");
        save_index(&f, "dh1", 2).expect("save");
        assert_eq!(load_index(&f, "dh1"), Some(2));
        assert_eq!(load_index(&f, "dh2"), Some(0));
        let _ = std::fs::remove_dir_all(&d);
    }

    fn two_writer_host(name: &str) -> DataHost {
        let src = format!(
            "router:\n  users: [ {{ name: u, password: p, schemas: [s] }} ]\n  schemas: [ {{ name: s, data_node: dn }} ]\n  data_nodes: [ {{ name: dn, data_host: {name}, database: d }} ]\n  data_hosts:\n    - name: {name}\n      write_hosts:\n        - {{ host: w1, url: \"127.0.0.1:1\", user: u, password: p }}\n        - {{ host: w2, url: \"127.0.0.1:2\", user: u, password: p }}\n"
        );
        let checked = crate::config::check_str(&src, "t.yaml", Path::new("/"));
        let (cfg, _) = checked
            .into_result()
            .map_err(|d| format!("{d:?}"))
            .expect("config");
        let r = cfg.router.expect("router");
        r.data_hosts[0].clone()
    }

    /// Two write hosts with a read host each; `extra` is added to the data host.
    fn read_split_host(extra: &str) -> DataHost {
        let src = format!(
            "router:\n  users: [ {{ name: u, password: p, schemas: [s] }} ]\n  schemas: [ {{ name: s, data_node: dn }} ]\n  data_nodes: [ {{ name: dn, data_host: dh, database: d }} ]\n  data_hosts:\n    - name: dh\n{extra}      write_hosts:\n        - {{ host: w1, url: \"127.0.0.1:1\", user: u, password: p, read_hosts: [ {{ host: r1, url: \"127.0.0.1:3\", user: u, password: p }} ] }}\n        - {{ host: w2, url: \"127.0.0.1:2\", user: u, password: p, read_hosts: [ {{ host: r2, url: \"127.0.0.1:4\", user: u, password: p }} ] }}\n"
        );
        let checked = crate::config::check_str(&src, "t.yaml", Path::new("/"));
        let (cfg, _) = checked
            .into_result()
            .map_err(|d| format!("{d:?}"))
            .expect("config");
        cfg.router.expect("router").data_hosts[0].clone()
    }

    /// Read candidates as MyCat 1.6's getAllActiveRWSources picks them: balance 1 the
    /// standby write hosts and all read hosts, 2 all, 3 every write host's read hosts
    /// (not only the active one's); a write host that is down takes its read hosts with
    /// it unless temp_read_host_available.
    #[test]
    fn read_candidates_follow_mycat() {
        let d = tempfile::tempdir().expect("tempdir");
        let names = |dh: &DataHostRt| {
            let mut v: Vec<String> = dh
                .read_candidates()
                .iter()
                .map(|h| h.name.clone())
                .collect();
            v.sort();
            v.join(",")
        };
        let set_up = |dh: &DataHostRt, name: &str, up: bool| {
            let h = dh.hosts.iter().find(|h| h.name == name).expect("host");
            h.health.lock().expect("health").up = up;
        };
        for (balance, all_up, w2_down, w1_down) in [
            (0, "", "", ""),
            (1, "r1,r2,w2", "r1", "r2,w2"),
            (2, "r1,r2,w1,w2", "r1,w1", "r2,w2"),
            (3, "r1,r2", "r1", "r2"),
        ] {
            let dh = DataHostRt::new(
                &read_split_host(&format!("      balance: {balance}\n")),
                d.path(),
                BackendTcp::default(),
            );
            for h in ["w1", "w2", "r1", "r2"] {
                set_up(&dh, h, true);
            }
            assert_eq!(names(&dh), all_up, "balance {balance}, all up");
            set_up(&dh, "w2", false);
            assert_eq!(names(&dh), w2_down, "balance {balance}, w2 down");
            set_up(&dh, "w2", true);
            set_up(&dh, "w1", false);
            assert_eq!(names(&dh), w1_down, "balance {balance}, w1 (active) down");
        }
        // temp_read_host_available: the read hosts stay with their write host down.
        let dh = DataHostRt::new(
            &read_split_host("      balance: 3\n      temp_read_host_available: true\n"),
            d.path(),
            BackendTcp::default(),
        );
        for h in ["w1", "w2", "r1", "r2"] {
            set_up(&dh, h, true);
        }
        set_up(&dh, "w1", false);
        set_up(&dh, "w2", false);
        assert_eq!(names(&dh), "r1,r2");
    }

    #[tokio::test]
    async fn switches_retire_the_old_writer_and_the_file_keeps_the_last_index() {
        let d = tempfile::tempdir().expect("tempdir");
        let dh = DataHostRt::new(&two_writer_host("dhs"), d.path(), BackendTcp::default());
        let (w1, w2) = (
            dh.hosts[dh.writers[0]].clone(),
            dh.hosts[dh.writers[1]].clone(),
        );
        assert_eq!((w1.epoch(), w2.epoch()), (0, 0));
        // Concurrent switches: saves run one at a time off the async threads, each with
        // the index active when it runs.
        let (a, b, c) = tokio::join!(
            dh.switch_to(1, "test a"),
            dh.switch_to(0, "test b"),
            dh.switch_to(1, "test c")
        );
        assert!(a.is_ok() && b.is_ok() && c.is_ok());
        assert_eq!(dh.active_index(), 1);
        let f = d.path().join("dnindex.properties");
        assert_eq!(load_index(&f, "dhs"), Some(1));
        // w1 lost the write role twice, w2 once.
        assert_eq!((w1.epoch(), w2.epoch()), (2, 1));
        let why = w1.retirement().map(|r| r.why).unwrap_or_default();
        assert!(why.contains("switched to w2 (test c)"), "{why}");
        assert!(dh.switch_to(5, "x").await.is_err());
    }

    #[tokio::test]
    async fn a_reload_keeps_the_active_write_host_even_before_it_is_saved() {
        let d = tempfile::tempdir().expect("tempdir");
        let old = DataHostRt::new(&two_writer_host("dhc"), d.path(), BackendTcp::default());
        // Switched in memory; the state file still says 0 (its save has not run yet).
        old.active.store(1, Ordering::Release);
        let new = DataHostRt::new(&two_writer_host("dhc"), d.path(), BackendTcp::default());
        assert_eq!(new.active_index(), 0);
        new.carry_active_from(&old);
        assert_eq!(new.active_index(), 1);
        // Other write hosts: the index means something else, not carried.
        let mut other = two_writer_host("dhc");
        other.write_hosts.swap(0, 1);
        let moved = DataHostRt::new(&other, d.path(), BackendTcp::default());
        moved.carry_active_from(&old);
        assert_eq!(moved.active_index(), 0);
    }

    #[test]
    fn backend_socket_options() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let s = std::net::TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
        let tcp = BackendTcp {
            keepalive: Some((Duration::from_secs(21), Duration::from_secs(4), 5)),
            user_timeout: Some(Duration::from_secs(33)),
        };
        tcp.apply(socket2::SockRef::from(&s)).expect("apply");
        let r = socket2::SockRef::from(&s);
        assert!(r.keepalive().expect("keepalive"));
        assert_eq!(
            r.tcp_keepalive_time().expect("idle"),
            Duration::from_secs(21)
        );
        assert_eq!(
            r.tcp_keepalive_interval().expect("intvl"),
            Duration::from_secs(4)
        );
        assert_eq!(r.tcp_keepalive_retries().expect("cnt"), 5);
        assert_eq!(
            r.tcp_user_timeout().expect("user timeout"),
            Some(Duration::from_secs(33))
        );
        let off = BackendTcp::default();
        off.apply(socket2::SockRef::from(&s)).expect("apply");
        assert!(!r.keepalive().expect("keepalive"));
    }
}
