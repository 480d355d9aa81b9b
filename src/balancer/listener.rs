//! One listener: its socket (IP_FREEBIND, so the backup box listens on the VIP before it
//! holds it), the accept loop (never accepts beyond `maxconn`: the rest wait in the
//! kernel's backlog), and the sessions it starts.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use socket2::{Domain, Protocol, Socket, TcpKeepalive, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

use super::metrics::BalancerMetrics;
use super::pick::{Candidate, Picker};
use super::proxy_proto::{self, Header};
use super::rate::{FreqCtr, GlobalRates};
use super::relay::{self, End, Mode, Timeouts};
use super::server::{Active, ServerState};
use super::sessions::{Phase, Session};
use super::stick::StickTable;
use crate::config::balancer::{Balance, Listener, ProxyVersion, Relay, Stick, StickOn};

/// Everything a session needs from the listener's current config (swapped on reload).
pub struct Runtime {
    pub cfg: Listener,
    pub servers: Vec<Arc<ServerState>>,
    pub picker: Mutex<Picker>,
}

impl Runtime {
    pub fn new(cfg: Listener, servers: Vec<Arc<ServerState>>) -> Runtime {
        let picker = Picker::new(cfg.balance, cfg.source_compat, cfg.allbackups);
        Runtime {
            cfg,
            servers,
            picker: Mutex::new(picker),
        }
    }

    fn timeouts(&self) -> Timeouts {
        relay_timeouts(&self.cfg.timeouts)
    }

    /// Picks a server for `client`, never `skip`, and takes a slot on it while still
    /// holding the picker's lock, so concurrent picks see each other's connections in
    /// progress (server `maxconn`, leastconn). `stuck`: the server the stick table holds
    /// for this connection; it is used while it is up and not in maintenance (a
    /// draining server still takes its sticky clients, as in haproxy), and when it is
    /// at its `maxconn` the client waits for it (`None`), as haproxy queues persistent
    /// connections on their server.
    pub fn pick(
        &self,
        client: IpAddr,
        skip: Option<usize>,
        stuck: Option<&str>,
    ) -> Option<(usize, Active)> {
        let mut picker = self.picker.lock().ok()?;
        if skip.is_none()
            && let Some(name) = stuck
            && let Some(i) = self.servers.iter().position(|s| s.name() == name)
            && let Some(s) = self.servers.get(i)
            && s.available()
        {
            let full = s
                .effective_maxconn()
                .is_some_and(|m| s.active.load(Ordering::Relaxed) >= m);
            return if full { None } else { Some((i, s.reserve())) };
        }
        let cands: Vec<Candidate<'_>> = self
            .servers
            .iter()
            .map(|s| {
                let (static_weight, backup) = s.with_cfg(|c| (u32::from(c.weight), c.backup));
                Candidate {
                    name: s.name(),
                    weight: s.effective_weight(),
                    static_weight,
                    available: s.available(),
                    backup,
                    active: s.active.load(Ordering::Relaxed),
                    maxconn: s.effective_maxconn(),
                }
            })
            .collect();
        let i = picker.pick(&cands, client, skip)?;
        let slot = self.servers.get(i)?.reserve();
        Some((i, slot))
    }

    /// Active (not backup) servers that could take a connection now (haproxy's
    /// `srv_act`).
    fn usable_active(&self) -> usize {
        self.servers
            .iter()
            .filter(|s| s.available() && s.effective_weight() > 0 && !s.with_cfg(|c| c.backup))
            .count()
    }

    /// Whether a new connection could be served now (for `track_listeners`).
    pub fn has_usable_server(&self) -> bool {
        self.servers
            .iter()
            .any(|s| s.available() && s.effective_weight() > 0)
    }
}

/// One line of the connection log (haproxy `tcplog` fields).
#[derive(Debug, Clone)]
pub struct LogLine {
    pub client: SocketAddr,
    pub accepted: SystemTime,
    pub listener: String,
    pub server: String,
    /// Time waiting for a slot, to connect, and the whole session (ms; -1: never).
    pub tw: i64,
    pub tc: i64,
    pub tt: i64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub term: &'static str,
    /// haproxy's `%fc`, `%bc`, `%sc`, taken when the line is written (at the end of
    /// the session, as haproxy's tcplog): the listener's sessions with this one, the
    /// same without it (haproxy releases the backend before logging), and the server's
    /// sessions without it.
    pub listener_conns: u32,
    pub backend_conns: u32,
    pub server_conns: u32,
    pub retries: u32,
    pub redispatched: bool,
    /// Connections across all listeners (haproxy's `%ac`), this one included.
    pub actconn: u32,
    /// Clients already waiting for a server slot when this one had to wait (haproxy's
    /// `%bq`).
    pub queue_ahead: u32,
}

/// Shared by a listener's sessions.
pub struct Shared {
    pub name: String,
    pub runtime: RwLock<Arc<Runtime>>,
    pub active: std::sync::atomic::AtomicU32,
    /// Connections across all listeners (haproxy's actconn).
    pub global_active: Arc<std::sync::atomic::AtomicU32>,
    pub max_active: std::sync::atomic::AtomicU32,
    pub total: std::sync::atomic::AtomicU64,
    pub bytes_in: std::sync::atomic::AtomicU64,
    pub bytes_out: std::sync::atomic::AtomicU64,
    pub metrics: BalancerMetrics,
    /// This listener's series.
    pub m: super::metrics::ListenerMetrics,
    pub log: mpsc::Sender<LogLine>,
    /// Signalled when a server slot may have freed for a queued client: a session ended,
    /// a connect failed, a server came up or back from maintenance, a weight or the
    /// config changed.
    pub freed: tokio::sync::Notify,
    /// Clients waiting for a server slot now (haproxy's `qcur`), and the most seen.
    pub queued: std::sync::atomic::AtomicU32,
    pub max_queued: std::sync::atomic::AtomicU32,
    /// The stick table, when the listener has `stick` (kept across reloads).
    pub stick: Mutex<Option<StickState>>,
    /// The backend's session times (haproxy's BACKEND `qtime`, ... `lastsess`).
    pub times: Mutex<super::server::TimeStats>,
    /// Connections accepted per second (FRONTEND `conn_rate`), and sessions started
    /// (FRONTEND and BACKEND `rate`: each connection is one session of this listener's
    /// backend).
    pub conn_rate: FreqCtr,
    pub sess_rate: FreqCtr,
    /// The process-wide rates of `show info` (ConnRate, SessRate).
    pub global_rates: Arc<GlobalRates>,
    /// The backend's own up/down (its BACKEND row's status, lastchg, downtime, chkdown).
    pub backend: Mutex<BackendState>,
    /// Sessions that found no server or no slot in time (part of the BACKEND's `econ`).
    pub no_server: std::sync::atomic::AtomicU64,
    /// Every session of the balancer (`show sess`).
    pub sessions: Arc<super::sessions::Sessions>,
    /// The `maxconn` in force: the configured one until `set maxconn frontend` changes
    /// it; a reload that changes the configured one replaces it.
    pub maxconn: std::sync::atomic::AtomicU32,
    /// Stopped by `disable frontend`: not listening (connections are refused) until
    /// `enable frontend`.
    pub paused: std::sync::atomic::AtomicBool,
    /// `shutdown frontend`: paused until a reload (`enable frontend` refused).
    pub stopped: std::sync::atomic::AtomicBool,
}

impl Shared {
    /// The `maxconn` in force: the configured one, or the operator's `set maxconn frontend`.
    pub fn maxconn(&self) -> u32 {
        self.maxconn.load(Ordering::Relaxed)
    }

    /// haproxy's `clear counters` for this listener's FRONTEND and BACKEND rows and its
    /// servers: the maxima; with `all`, every counter (not the states: sessions now,
    /// up/down, last change, down time).
    pub fn clear_counters(&self, all: bool) {
        self.max_active.store(0, Ordering::Relaxed);
        self.max_queued.store(0, Ordering::Relaxed);
        if let Ok(mut t) = self.times.lock() {
            if all {
                *t = super::server::TimeStats::default();
            } else {
                t.max = [0; 3];
            }
        }
        if all {
            self.conn_rate.clear();
            self.sess_rate.clear();
            for c in [
                &self.total,
                &self.bytes_in,
                &self.bytes_out,
                &self.no_server,
            ] {
                c.store(0, Ordering::Relaxed);
            }
            if let Ok(mut b) = self.backend.lock() {
                b.downs = 0;
            }
        } else {
            self.conn_rate.clear_max();
            self.sess_rate.clear_max();
        }
        for s in &self.runtime().servers {
            s.counters.clear(all);
        }
    }
}

/// Why the servers in use may have changed, for haproxy's accounting of the backend's
/// down time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendCause {
    /// A server came up (check), left `drain`, or a reload changed the servers: a backend
    /// back up counts the time it was down.
    ServerUp,
    /// A server left maintenance: haproxy restarts `lastchg` without counting the down
    /// time.
    LeftMaint,
    /// A weight changed: haproxy neither restarts `lastchg` nor counts the down time when
    /// this brings the backend back.
    Weight,
}

/// haproxy's backend state: UP while some server (active, or backup) can take a new
/// connection, with the time of its last change, the time it spent down and how often
/// it went down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendState {
    pub up: bool,
    /// Unix seconds of the last change (haproxy's `last_change`).
    pub last_change: u64,
    /// Seconds down before the last change (haproxy's `down_time`).
    pub down_time: u64,
    /// Times it went down (haproxy's `down_trans`: the BACKEND row's `chkdown`).
    pub downs: u64,
}

impl BackendState {
    pub fn new(up: bool, now: u64) -> BackendState {
        BackendState {
            up,
            last_change: now,
            down_time: 0,
            downs: 0,
        }
    }

    /// Applies whether a server is usable now (`up`), as haproxy does: losing the last
    /// one is a change (and a down); getting one back is a change that counts the down
    /// time, except as `cause` says. Returns whether the state changed.
    pub fn observe(&mut self, up: bool, cause: BackendCause, now: u64) -> bool {
        match (self.up, up) {
            (true, false) => {
                self.last_change = now;
                self.downs += 1;
            }
            (false, true) => match cause {
                BackendCause::ServerUp => {
                    self.down_time += now.saturating_sub(self.last_change);
                    self.last_change = now;
                }
                BackendCause::LeftMaint => self.last_change = now,
                BackendCause::Weight => {}
            },
            _ => return false,
        }
        self.up = up;
        true
    }

    /// Seconds down in all (haproxy's `be_downtime`): the time down so far while down.
    pub fn downtime(&self, now: u64) -> u64 {
        if self.up {
            self.down_time
        } else {
            now.saturating_sub(self.last_change) + self.down_time
        }
    }
}

/// Unix seconds now (haproxy's `now.tv_sec`).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A listener's stick table and what it is keyed on.
pub struct StickState {
    pub on: StickOn,
    pub table: StickTable,
}

impl StickState {
    pub fn for_config(cfg: Option<Stick>) -> Option<StickState> {
        cfg.map(|c| StickState {
            on: c.on,
            table: StickTable::new(c.size, c.expire.map(|d| d.get())),
        })
    }
}

impl Shared {
    /// The server stored for `key`.
    fn stick_lookup(&self, key: IpAddr) -> Option<Arc<str>> {
        let mut g = self.stick.lock().ok()?;
        g.as_mut()?.table.lookup(key, Instant::now())
    }

    /// Records whether a server can take a new connection now (after a server's health,
    /// admin state or weight changed, or a reload).
    pub fn note_backend(&self, cause: BackendCause) {
        let up = self.runtime().has_usable_server();
        if let Ok(mut b) = self.backend.lock() {
            b.observe(up, cause, unix_now());
        }
    }

    fn stick_store(&self, key: IpAddr, server: &str) {
        if let Ok(mut g) = self.stick.lock()
            && let Some(st) = g.as_mut()
        {
            st.table.store(key, server, Instant::now());
        }
    }

    /// Applies a reloaded `stick`: the same key keeps its entries (those of servers
    /// still configured), another key or none starts over.
    pub fn reconfigure_stick(&self, cfg: Option<Stick>, servers: &[Arc<ServerState>]) {
        let Ok(mut g) = self.stick.lock() else {
            return;
        };
        match (g.as_mut(), cfg) {
            (Some(st), Some(c)) if st.on == c.on => {
                st.table
                    .resize(c.size, c.expire.map(|d| d.get()), Instant::now());
                st.table
                    .retain_servers(|n| servers.iter().any(|s| s.name() == n));
            }
            (_, c) => *g = StickState::for_config(c),
        }
    }

    pub fn runtime(&self) -> Arc<Runtime> {
        match self.runtime.read() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

/// A listening socket, registered with the reactor for readiness only: the accept loop
/// accepts itself, after it holds the slots for the connection.
pub type ListenSocket = AsyncFd<Socket>;

/// Opens the listening socket: SO_REUSEADDR, IP_FREEBIND, the configured backlog.
pub fn bind(addr: SocketAddr, backlog: Option<u32>) -> io::Result<ListenSocket> {
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    if addr.is_ipv6() {
        s.set_freebind_v6(true)?;
        s.set_only_v6(true)?;
    } else {
        s.set_freebind_v4(true)?;
    }
    s.set_nonblocking(true)?;
    // Accepted sockets inherit TCP_NODELAY: one setsockopt per listener, not per client.
    s.set_tcp_nodelay(true)?;
    s.bind(&addr.into())?;
    s.listen(backlog_arg(backlog))?;
    // SAFETY: the Socket owns its descriptor, which stays open and the same until the
    // AsyncFd (and the Socket in it) is dropped.
    unsafe { AsyncFd::register_with_interest(s, Interest::READABLE) }.map_err(|e| e.into_parts().1)
}

/// Applies a reloaded `backlog` to a socket kept across the reload: listen(2) on a
/// socket that already listens only changes its backlog (connections waiting in it stay).
pub fn set_backlog(s: &ListenSocket, backlog: Option<u32>) -> io::Result<()> {
    s.get_ref().listen(backlog_arg(backlog))
}

/// haproxy's pause of a TCP listener (`disable frontend`): connect(2) to AF_UNSPEC takes
/// the socket out of the listening state, so connections waiting in its backlog are
/// reset and new ones refused, while the socket (and its port) stays ours;
/// [`set_backlog`] (listen(2)) resumes it.
pub fn pause(s: &ListenSocket) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a zeroed sockaddr with family AF_UNSPEC, passed with its own size, to a
    // descriptor the AsyncFd keeps open.
    let rc = unsafe {
        let mut sa: libc::sockaddr = std::mem::zeroed();
        sa.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
        libc::connect(
            s.get_ref().as_raw_fd(),
            &sa,
            std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn backlog_arg(backlog: Option<u32>) -> i32 {
    backlog.map_or(libc::SOMAXCONN, |b| i32::try_from(b).unwrap_or(i32::MAX))
}

/// One accept4(2), non-blocking and close-on-exec like tokio's own accept.
fn accept_one(socket: &Socket) -> io::Result<(TcpStream, SocketAddr)> {
    let (s, addr) = socket.accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)?;
    let stream = TcpStream::from_std(std::net::TcpStream::from(s))?;
    let peer = addr
        .as_socket()
        .ok_or_else(|| io::Error::other("accepted a connection that is not TCP/IP"))?;
    Ok((stream, peer))
}

/// A connection limit (`maxconn`) that a reload can change while connections hold
/// slots: raising it frees slots at once; lowering it takes free slots back at once and
/// the rest as connections end (each returning slot is retired until the debt is paid).
#[derive(Debug)]
pub struct Limit {
    sem: Arc<Semaphore>,
    /// The configured number of slots; `None`: no limit.
    cap: Mutex<Option<u32>>,
    /// Slots still to retire as they come back.
    debt: std::sync::atomic::AtomicUsize,
}

/// Slots a limit without a configured number has (never reached in practice).
const UNLIMITED: usize = 1 << 28;

fn slots_of(cap: Option<u32>) -> usize {
    cap.map_or(UNLIMITED, |c| c as usize)
}

impl Limit {
    pub fn new(cap: Option<u32>) -> Arc<Limit> {
        Arc::new(Limit {
            sem: Arc::new(Semaphore::new(slots_of(cap))),
            cap: Mutex::new(cap),
            debt: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Changes the number of slots.
    /// The configured number of slots (`None`: no limit).
    pub fn cap(&self) -> Option<u32> {
        self.cap.lock().ok().and_then(|c| *c)
    }

    pub fn set(&self, new: Option<u32>) {
        let Ok(mut cap) = self.cap.lock() else {
            return;
        };
        let (from, to) = (slots_of(*cap), slots_of(new));
        *cap = new;
        if to > from {
            // Cancel debt first, then hand out the rest.
            let mut grow = to - from;
            let _ = self
                .debt
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| {
                    let paid = d.min(grow);
                    Some(d - paid)
                })
                .map(|d| grow -= d.min(grow));
            if grow > 0 {
                self.sem.add_permits(grow);
            }
        } else if to < from {
            let want = from - to;
            let taken = self.sem.forget_permits(want);
            if taken < want {
                self.debt.fetch_add(want - taken, Ordering::AcqRel);
            }
        }
    }

    /// Waits for a slot.
    pub async fn acquire(self: &Arc<Self>) -> Option<Slot> {
        let p = self.sem.clone().acquire_owned().await.ok()?;
        Some(Slot {
            permit: Some(p),
            limit: self.clone(),
        })
    }
}

/// A held slot of a [`Limit`]; given back (or retired, while the limit is in debt) when
/// dropped.
#[derive(Debug)]
pub struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    limit: Arc<Limit>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(p) = self.permit.take() else {
            return;
        };
        let retired = self
            .limit
            .debt
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1))
            .is_ok();
        if retired {
            p.forget();
        }
    }
}

/// accept(2) errors that concern only the connection being accepted (it was reset or
/// refused by a filter before we took it): accept the next one at once.
fn per_connection_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ECONNABORTED
                | libc::EPROTO
                | libc::EPERM
                | libc::EINTR
                | libc::ENETDOWN
                | libc::ENETUNREACH
                | libc::EHOSTDOWN
                | libc::EHOSTUNREACH
                | libc::ENONET
                | libc::ENOPROTOOPT
                | libc::EOPNOTSUPP
        )
    )
}

/// The accept loop. A connection is accepted only once it has its slots (listener and
/// global `maxconn`), so connections beyond a limit stay in the kernel backlog until a
/// slot frees. The listener's own slot is taken first; the global one only when a
/// connection is waiting, so an idle listener never sits on a global slot that another
/// listener's client could use. Running out of descriptors or memory backs off (logged
/// once per 10 s); an error that concerns only the connection being accepted does not.
pub fn spawn_accept(
    socket: Arc<ListenSocket>,
    shared: Arc<Shared>,
    slots: Arc<Limit>,
    global: Arc<Limit>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_error_log: Option<Instant> = None;
        let mut last_limit_log: Option<Instant> = None;
        let mut backoff = Duration::from_millis(10);
        loop {
            let own = tokio::select! {
                p = slots.acquire() => match p { Some(p) => p, None => return },
                _ = stop.changed() => return,
            };
            let mut ready = tokio::select! {
                r = socket.readable() => match r { Ok(r) => r, Err(_) => return },
                _ = stop.changed() => return,
            };
            // Rate limits, once a connection waits: beyond them it stays in the backlog
            // until the rate falls below (haproxy's listener waits the same way).
            loop {
                let (wait, limit) = rate_wait(&shared, super::rate::now_ms());
                let Some((which, rate)) = limit else { break };
                shared
                    .metrics
                    .rate_limited
                    .with_label_values(&[&shared.name, which])
                    .inc();
                if last_limit_log.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                    let what = match which {
                        "sessions" => "its session rate limit",
                        "global_connections" => "the global connection rate limit",
                        _ => "the global session rate limit",
                    };
                    tracing::warn!(listener = %shared.name, limit = which, rate, "listener {}: {what} ({rate}/s) reached; new connections wait in the backlog (logged once per 10s)", shared.name);
                    last_limit_log = Some(Instant::now());
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(u64::from(wait))) => {}
                    _ = stop.changed() => return,
                }
            }
            let shared_slot = tokio::select! {
                p = global.acquire() => match p { Some(p) => p, None => return },
                _ = stop.changed() => return,
            };
            let accepted = match ready.try_io(|s| accept_one(s.get_ref())) {
                Ok(r) => r,
                // Nothing to accept after all: readiness cleared, slots go back.
                Err(_would_block) => continue,
            };
            let permits = (own, shared_slot);
            match accepted {
                Ok((stream, peer)) => {
                    backoff = Duration::from_millis(10);
                    // haproxy counts a connection as it is accepted, and the process's
                    // session as the listener takes it.
                    let now = super::rate::now_ms();
                    shared.conn_rate.add(now);
                    // The session is counted here rather than in its task, so that the
                    // next turn of this loop sees it against `rate_limit_sessions`.
                    shared.sess_rate.add(now);
                    shared.global_rates.conn.add(now);
                    shared.global_rates.sess.add(now);
                    shared
                        .global_rates
                        .cum_conns
                        .fetch_add(1, Ordering::Relaxed);
                    let shared = shared.clone();
                    tokio::spawn(session(stream, peer, shared, permits));
                }
                Err(e) if per_connection_error(&e) => {
                    shared
                        .metrics
                        .accept_errors
                        .with_label_values(&[&shared.name, "aborted"])
                        .inc();
                    tracing::debug!(listener = %shared.name, "listener {}: a connection failed while being accepted: {e}", shared.name);
                }
                Err(e) => {
                    let kind = match e.raw_os_error() {
                        Some(libc::EMFILE) => "emfile",
                        Some(libc::ENFILE) => "enfile",
                        Some(libc::ENOBUFS) | Some(libc::ENOMEM) => "enomem",
                        _ => "other",
                    };
                    shared
                        .metrics
                        .accept_errors
                        .with_label_values(&[&shared.name, kind])
                        .inc();
                    if last_error_log.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                        tracing::error!(listener = %shared.name, error = kind, "listener {}: accept failed: {e}; backing off (logged once per 10s)", shared.name);
                        last_error_log = Some(Instant::now());
                    }
                    drop(permits);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    })
}

/// How long (ms) the accept loop waits before its next connection: the longest wait of
/// the listener's `rate_limit_sessions` and the global `maxconnrate` / `maxsessrate`,
/// with the limit that asks for it (its metric label, its rate); `(0, None)`: none.
fn rate_wait(shared: &Shared, now: u32) -> (u32, Option<(&'static str, u32)>) {
    let g = &shared.global_rates;
    let own = shared.runtime().cfg.rate_limit_sessions.unwrap_or(0);
    let mut out = (0, None);
    for (which, ctr, limit) in [
        ("sessions", &shared.sess_rate, own),
        (
            "global_connections",
            &g.conn,
            g.conn_limit.load(Ordering::Relaxed),
        ),
        (
            "global_sessions",
            &g.sess,
            g.sess_limit.load(Ordering::Relaxed),
        ),
    ] {
        let w = ctr.wait_ms(limit, now);
        if w > out.0 {
            out = (w, Some((which, limit)));
        }
    }
    out
}

fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

/// The relay's timeouts from a listener's: as haproxy, an unset `client_fin`/`server_fin`
/// is the timeout that side had before the half-close (`tunnel` when set, else
/// `client`/`server`).
fn relay_timeouts(t: &crate::config::balancer::Timeouts) -> Timeouts {
    Timeouts {
        client: t.client.get(),
        server: t.server.get(),
        tunnel: t.tunnel.map(|d| d.get()),
        client_fin: t.client_fin.or(t.tunnel).unwrap_or(t.client).get(),
        server_fin: t.server_fin.or(t.tunnel).unwrap_or(t.server).get(),
    }
}

/// What one look at the start of a client's data found.
enum Peeked {
    /// A whole header of this length.
    Header(Header, usize),
    /// Incomplete, and the buffer is full: it must grow to see more.
    Full,
    /// Incomplete, and the client sent its FIN (or nothing at all): no more will come.
    Closed,
    /// Not a valid header.
    Bad(proxy_proto::ParseError),
}

/// The most a PROXY header can take: a v2 header with 64 KiB of address and TLVs.
const PROXY_MAX: usize = 16 + u16::MAX as usize;

/// Reads a PROXY header without consuming the data after it (peek, then read exactly
/// the header), so the rest can be spliced. Waits for more data only when the header is
/// incomplete and the client is still sending: a client that closes inside the header
/// ends at once. A v2 header longer than a first look (TLVs) is read whole.
async fn read_proxy_header(s: &TcpStream, limit: Duration) -> Result<Header, String> {
    let work = async {
        let mut buf = vec![0u8; 536];
        loop {
            let ready = s
                .ready(Interest::READABLE)
                .await
                .map_err(|e| e.to_string())?;
            let peeked = s.try_io(Interest::READABLE, || {
                // SAFETY: recv into our buffer, within its length; MSG_PEEK leaves the
                // data in the socket.
                let n = unsafe {
                    libc::recv(
                        std::os::fd::AsRawFd::as_raw_fd(s),
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                        libc::MSG_PEEK,
                    )
                };
                if n < 0 {
                    return Err(io::Error::last_os_error());
                }
                let n = n as usize;
                if n == 0 {
                    return Ok(Peeked::Closed);
                }
                match proxy_proto::parse(&buf[..n]) {
                    Ok((h, len)) => Ok(Peeked::Header(h, len)),
                    Err(proxy_proto::ParseError::Incomplete) if n == buf.len() => Ok(Peeked::Full),
                    // Everything the client sent before its FIN is in the socket already.
                    Err(proxy_proto::ParseError::Incomplete) if ready.is_read_closed() => {
                        Ok(Peeked::Closed)
                    }
                    // Wait for more: clears the readiness, so the next wait sleeps until
                    // new data (or the FIN) arrives.
                    Err(proxy_proto::ParseError::Incomplete) => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(e) => Ok(Peeked::Bad(e)),
                }
            });
            match peeked {
                Ok(Peeked::Header(h, len)) => {
                    let mut skip = vec![0u8; len];
                    let mut got = 0;
                    while got < len {
                        s.readable().await.map_err(|e| e.to_string())?;
                        match s.try_read(&mut skip[got..]) {
                            Ok(0) => return Err("closed inside the PROXY header".into()),
                            Ok(m) => got += m,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                            Err(e) => return Err(e.to_string()),
                        }
                    }
                    return Ok(h);
                }
                Ok(Peeked::Full) => {
                    // Only a v2 header can be longer than the first look: its length is
                    // in its first 16 bytes.
                    let want = match buf.get(14..16) {
                        Some(l) if buf.starts_with(&proxy_proto::V2_SIG) => {
                            16 + usize::from(u16::from_be_bytes([l[0], l[1]]))
                        }
                        _ => 0,
                    };
                    if want <= buf.len() || want > PROXY_MAX {
                        return Err("PROXY header too long".into());
                    }
                    buf.resize(want, 0);
                }
                Ok(Peeked::Closed) => {
                    return Err("connection closed inside the PROXY header".into());
                }
                Ok(Peeked::Bad(e)) => return Err(e.to_string()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    };
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or_else(|_| Err("timeout waiting for the PROXY header".into()))
}

async fn connect(
    addr: SocketAddr,
    limit: Duration,
    keepalive: crate::config::balancer::TcpKeepalive,
    source: Option<IpAddr>,
) -> io::Result<TcpStream> {
    let sock = if addr.is_ipv6() {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    {
        let s = socket2::SockRef::from(&sock);
        if let Some(ip) = source.filter(|ip| ip.is_ipv6() == addr.is_ipv6()) {
            // No port is reserved at bind time: the kernel picks it at connect, so the
            // source address's ports are shared across servers.
            set_bind_address_no_port(&s)?;
            sock.bind(SocketAddr::new(ip, 0))?;
        }
        if keepalive.server {
            let params: TcpKeepalive = keepalive.params();
            let _ = s.set_tcp_keepalive(&params);
        }
    }
    let s = tokio::time::timeout(limit, sock.connect(addr))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timeout"))??;
    let _ = s.set_nodelay(true);
    Ok(s)
}

fn set_bind_address_no_port(s: &socket2::SockRef<'_>) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: setsockopt with a pointer to a live c_int.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// haproxy waits before retrying a connection that failed at once, so a restarting
/// server gets a moment; a timed-out attempt is retried at once.
fn retry_delay(took: Duration, connect_timeout: Duration) -> Duration {
    if took < Duration::from_millis(100) {
        connect_timeout
            .min(Duration::from_millis(1000))
            .saturating_sub(took)
    } else {
        Duration::ZERO
    }
}

async fn session(client: TcpStream, peer: SocketAddr, shared: Arc<Shared>, permits: (Slot, Slot)) {
    let accepted_at = Instant::now();
    let accepted = SystemTime::now();
    let rt = shared.runtime();
    let listener_conns = shared.active.fetch_add(1, Ordering::Relaxed) + 1;
    shared
        .max_active
        .fetch_max(listener_conns, Ordering::Relaxed);
    let actconn = shared.global_active.fetch_add(1, Ordering::Relaxed) + 1;
    shared.total.fetch_add(1, Ordering::Relaxed);
    shared
        .metrics
        .active
        .with_label_values(&[&shared.name])
        .inc();
    let _count = Counted(shared.clone());
    let _permits = permits;
    let mut line = LogLine {
        client: peer,
        accepted,
        listener: shared.name.clone(),
        server: "<NOSRV>".into(),
        tw: 0,
        tc: -1,
        tt: -1,
        bytes_in: 0,
        bytes_out: 0,
        term: "--",
        listener_conns,
        backend_conns: 0,
        server_conns: 0,
        retries: 0,
        redispatched: false,
        actconn,
        queue_ahead: 0,
    };
    let mut src = peer;
    // The address the client reached (for PROXY headers), looked up only if needed.
    let mut dst: Option<SocketAddr> = None;
    if rt.cfg.accept_proxy {
        match read_proxy_header(&client, rt.cfg.timeouts.client.get()).await {
            Ok(Header::Proxy { src: s, dst: d }) => {
                src = s;
                dst = Some(d);
                line.client = s;
            }
            Ok(Header::Local) => {}
            Err(e) => {
                shared.m.proxy_errors.inc();
                tracing::debug!(listener = %shared.name, "listener {}: bad PROXY header from {peer}: {e}", shared.name);
                line.term = "CR";
                line.tt = ms(accepted_at.elapsed());
                emit(&shared, line);
                return;
            }
        }
    }
    // Listed by `show sess` from here on, until the session ends.
    let reg = shared
        .sessions
        .register(&shared, src, dst, accepted, accepted_at);
    let me = &reg.session;
    if rt.cfg.tcp_keepalive.client {
        let params: TcpKeepalive = rt.cfg.tcp_keepalive.params();
        let _ = socket2::SockRef::from(&client).set_tcp_keepalive(&params);
    }

    // The stick table's key and the server it holds for it.
    let stick_key = rt.cfg.stick.map(|st| match st.on {
        StickOn::Src => src.ip(),
        StickOn::Dst => dst
            .or_else(|| client.local_addr().ok())
            .map_or(peer.ip(), |d| d.ip()),
    });
    let stuck = stick_key.and_then(|k| shared.stick_lookup(k));
    let stuck = stuck.as_deref();

    // Pick (waiting for a slot when every usable server is at its maxconn, up to
    // `timeouts.queue`, by default the connect timeout as haproxy's `timeout queue`),
    // connect, retry (the last retry goes elsewhere with `redispatch`, as does any retry
    // once the server is down).
    let connect_timeout = rt.cfg.timeouts.connect.get();
    let queue_timeout = rt.cfg.timeouts.queue().get();
    let queued_at = Instant::now();
    let mut picked = rt.pick(src.ip(), None, stuck);
    let mut waited = false;
    while picked.is_none() {
        // Register for "a slot freed" first, then look again, so no release is missed.
        let freed = shared.freed.notified();
        tokio::pin!(freed);
        freed.as_mut().enable();
        picked = rt.pick(src.ip(), None, stuck);
        if picked.is_some() {
            break;
        }
        let usable = rt.has_usable_server();
        let left = queue_timeout.saturating_sub(queued_at.elapsed());
        if !usable || left.is_zero() {
            shared.m.no_server.inc();
            shared.no_server.fetch_add(1, Ordering::Relaxed);
            line.term = if usable { "sQ" } else { "SC" };
            // haproxy: -1 for a session that never reached the queue (no server).
            line.tw = if usable || waited {
                ms(queued_at.elapsed())
            } else {
                -1
            };
            line.tt = ms(accepted_at.elapsed());
            emit(&shared, line);
            return;
        }
        let q = shared.queued.fetch_add(1, Ordering::Relaxed) + 1;
        shared.max_queued.fetch_max(q, Ordering::Relaxed);
        if line.queue_ahead == 0 {
            line.queue_ahead = q - 1;
        }
        let killed = tokio::select! {
            _ = tokio::time::timeout(left, freed) => false,
            () = me.kill.notified() => true,
        };
        waited = true;
        shared.queued.fetch_sub(1, Ordering::Relaxed);
        if killed {
            // `shutdown session` while it waited for a server slot: haproxy's `KQ`.
            line.term = "KQ";
            line.tw = ms(queued_at.elapsed());
            line.tt = ms(accepted_at.elapsed());
            emit(&shared, line);
            return;
        }
    }
    line.tw = ms(queued_at.elapsed());
    let Some((mut idx, mut slot)) = picked else {
        return;
    };
    // haproxy's `lbtot` counts a server the balancing chose (a stick entry's is not),
    // and the backend's `lastsess` restarts when a server is assigned.
    if stuck.is_none_or(|n| n != slot.server().name()) {
        slot.server()
            .counters
            .lb_picks
            .fetch_add(1, Ordering::Relaxed);
    }
    mark_session(&shared.times);
    let mut attempt = 0u32;
    let conn = loop {
        let s = slot.server().clone();
        // `observe: layer4`: the error limit when this server's live traffic counts
        // (its own `check` may say otherwise than the listener's; a server that is not
        // checked, or tracks another, has nothing to tell).
        let observe = rt.cfg.check.as_ref().and_then(|c| {
            s.with_cfg(|sc| {
                (sc.check && sc.track.is_none())
                    .then(|| sc.check_tuning.observe_limit(c))
                    .flatten()
            })
        });
        // Each attempt is one of the server's sessions in haproxy's counts (`stot`,
        // `connect`, `rate`, `lastsess`).
        s.counters.attempts.fetch_add(1, Ordering::Relaxed);
        s.counters.rate.add(super::rate::now_ms());
        mark_session(&s.counters.times);
        // Subscribed before connecting: a kill while the connection is made (server
        // marked down, an active server back for a backup's session) still ends it.
        let kill = s.kill_signal();
        me.set_server(&s);
        me.set_phase(Phase::Connect);
        let t0 = Instant::now();
        let connected = tokio::select! {
            r = connect(
                s.addr(),
                connect_timeout,
                rt.cfg.tcp_keepalive,
                rt.cfg.source,
            ) => r,
            () = me.kill.notified() => {
                // `shutdown session` while it connected: haproxy's `KC`.
                line.server = s.name().to_string();
                line.server_conns = s.active.load(Ordering::Relaxed).saturating_sub(1);
                line.term = "KC";
                break None;
            }
        };
        match connected {
            Ok(conn) => {
                if observe.is_some() {
                    s.observe_ok();
                }
                shared.m.connect.observe(t0.elapsed().as_secs_f64());
                line.tc = ms(t0.elapsed());
                break Some((conn, kill));
            }
            Err(e) => {
                if let Some(limit) = observe {
                    s.observe_error(limit);
                }
                s.counters.connect_errors.fetch_add(1, Ordering::Relaxed);
                if let Some(m) = s.metrics() {
                    m.connect_errors.inc();
                }
                tracing::debug!(listener = %shared.name, server = %s.name(), "listener {}: connect to {}/{} ({}) failed: {e}", shared.name, shared.name, s.name(), s.addr());
                if attempt >= rt.cfg.retries {
                    s.counters.failed_conns.fetch_add(1, Ordering::Relaxed);
                    line.server = s.name().to_string();
                    line.server_conns = s.active.load(Ordering::Relaxed).saturating_sub(1);
                    line.term = if e.kind() == io::ErrorKind::TimedOut {
                        "sC"
                    } else {
                        "SC"
                    };
                    break None;
                }
                attempt += 1;
                line.retries = attempt;
                me.retries.store(attempt, Ordering::Relaxed);
                // haproxy 2.6 (stream_choose_redispatch): with `redispatch`, a retry
                // goes back to the balancing on the last retry, when the server is down,
                // and on every retry for every algorithm but a hash (`source`) while more
                // than one active server is usable. It pauses (up to a second, the
                // connect timeout at most) only before a retry on the same server or
                // when at most one active server is usable. A retry that moves counts as
                // a redispatch, one that stays as a retry.
                let usable = rt.usable_active();
                let spread = rt.cfg.balance != Balance::Source && usable > 1;
                let move_on =
                    rt.cfg.redispatch && (attempt == rt.cfg.retries || !s.available() || spread);
                if !move_on || usable <= 1 {
                    tokio::time::sleep(retry_delay(t0.elapsed(), connect_timeout)).await;
                }
                let moved = if move_on {
                    rt.pick(src.ip(), Some(idx), None)
                        .filter(|(o, _)| *o != idx)
                } else {
                    None
                };
                match moved {
                    Some((other, other_slot)) => {
                        s.counters.redispatches.fetch_add(1, Ordering::Relaxed);
                        other_slot
                            .server()
                            .counters
                            .lb_picks
                            .fetch_add(1, Ordering::Relaxed);
                        mark_session(&shared.times);
                        shared.m.redispatches.inc();
                        line.redispatched = true;
                        idx = other;
                        // The old server's slot goes back; a queued client may take it.
                        slot = other_slot;
                        shared.freed.notify_waiters();
                    }
                    None => {
                        s.counters.retries.fetch_add(1, Ordering::Relaxed);
                        shared.m.retries.inc();
                    }
                }
            }
        }
    };
    let Some((conn, kill)) = conn else {
        drop(slot);
        line.tt = ms(accepted_at.elapsed());
        emit(&shared, line);
        return;
    };
    let server = slot.server().clone();
    if let Some(k) = stick_key {
        shared.stick_store(k, server.name());
    }
    server.counters.connections.fetch_add(1, Ordering::Relaxed);
    line.server = server.name().to_string();
    let sm = server.metrics();
    if let Some(m) = &sm {
        m.connections.inc();
        m.active.inc();
    }
    // Un-counts the server's active gauge on every path out of the session.
    struct GaugeGuard(Option<super::metrics::ServerMetrics>);
    impl Drop for GaugeGuard {
        fn drop(&mut self) {
            if let Some(m) = &self.0 {
                m.active.dec();
            }
        }
    }
    let _gauge = GaugeGuard(sm);
    if let Some(v) = server.cfg().send_proxy {
        let dst = dst.unwrap_or_else(|| client.local_addr().unwrap_or(peer));
        let header = match v {
            ProxyVersion::V1 => proxy_proto::v1(src, dst),
            ProxyVersion::V2 => proxy_proto::v2(src, dst),
        };
        if write_all(&conn, &header).await.is_err() {
            line.server_conns = server.active.load(Ordering::Relaxed).saturating_sub(1);
            line.term = "SC";
            line.tt = ms(accepted_at.elapsed());
            emit(&shared, line);
            return;
        }
    }
    let mode = match rt.cfg.relay {
        Relay::Splice => Mode::Splice,
        Relay::Buffered => Mode::Buffered,
    };
    let meter = SessionMeter {
        shared: &shared,
        server: &server,
        session: me,
    };
    me.set_phase(Phase::Data);
    let out = relay::relay(
        &client,
        &conn,
        mode,
        rt.timeouts(),
        kill,
        Some(&me.kill),
        &meter,
    )
    .await;
    line.bytes_in = out.bytes_in;
    line.bytes_out = out.bytes_out;
    line.term = out.end.code();
    line.tt = ms(accepted_at.elapsed());
    let c = &server.counters;
    if let Some(client) = out.end.abort_side() {
        let n = if client {
            &c.client_aborts
        } else {
            &c.server_aborts
        };
        n.fetch_add(1, Ordering::Relaxed);
    }
    if out.end != End::Normal {
        tracing::trace!(listener = %shared.name, "session from {peer} ended: {}", out.end.code());
    }
    line.server_conns = server.active.load(Ordering::Relaxed).saturating_sub(1);
    let ms_of = |v: i64| u64::try_from(v).unwrap_or(0);
    for t in [&server.counters.times, &shared.times] {
        if let Ok(mut t) = t.lock() {
            t.record(ms_of(line.tw), ms_of(line.tc), ms_of(line.tt));
        }
    }
    emit(&shared, line);
}

/// Restarts a `lastsess` (a server's: a connection attempt; the backend's: a server
/// assigned).
fn mark_session(t: &Mutex<super::server::TimeStats>) {
    if let Ok(mut t) = t.lock() {
        t.last_session = Some(Instant::now());
    }
}

/// Counts bytes as the relay moves them (listener, server and metrics), so a long
/// session's traffic shows while it runs, not only when it ends.
struct SessionMeter<'a> {
    shared: &'a Shared,
    server: &'a ServerState,
    session: &'a Session,
}

impl relay::Meter for SessionMeter<'_> {
    fn moved(&self, upstream: bool, bytes: u64) {
        let c = &self.server.counters;
        let (server, listener, metric, session) = if upstream {
            (
                &c.bytes_in,
                &self.shared.bytes_in,
                &self.shared.m.bytes_in,
                &self.session.bytes_in,
            )
        } else {
            (
                &c.bytes_out,
                &self.shared.bytes_out,
                &self.shared.m.bytes_out,
                &self.session.bytes_out,
            )
        };
        session.fetch_add(bytes, Ordering::Relaxed);
        server.fetch_add(bytes, Ordering::Relaxed);
        listener.fetch_add(bytes, Ordering::Relaxed);
        metric.inc_by(bytes);
        if !upstream {
            let g = &self.shared.global_rates;
            g.total_bytes_out.fetch_add(bytes, Ordering::Relaxed);
            g.bytes_out.add_n(
                super::rate::now_ms(),
                u32::try_from(bytes).unwrap_or(u32::MAX),
            );
        }
    }
}

async fn write_all(s: &TcpStream, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        s.writable().await?;
        match s.try_write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Queues a log line; when the logger cannot keep up, the line is dropped and counted —
/// the data path never waits for logging.
fn emit(shared: &Shared, mut line: LogLine) {
    if !shared.runtime().cfg.log {
        return;
    }
    // The counts when the line is written, as haproxy's: this session still counts
    // for the listener and in all, not for the backend.
    line.actconn = shared.global_active.load(Ordering::Relaxed);
    line.listener_conns = shared.active.load(Ordering::Relaxed);
    line.backend_conns = line.listener_conns.saturating_sub(1);
    if shared.log.try_send(line).is_err() {
        shared.metrics.log_dropped.inc();
    }
}

/// Un-counts a listener session when it ends, whatever the path, and wakes a client
/// waiting for a server slot.
struct Counted(Arc<Shared>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
        self.0.global_active.fetch_sub(1, Ordering::Relaxed);
        self.0
            .metrics
            .active
            .with_label_values(&[&self.0.name])
            .dec();
        self.0.freed.notify_waiters();
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[test]
    fn backend_state_follows_haproxy_s_rules() {
        let mut b = BackendState::new(true, 100);
        assert_eq!((b.downtime(150), b.downs), (0, 0));
        // The last server goes: a change and a down; the down time runs.
        assert!(b.observe(false, BackendCause::ServerUp, 110));
        assert_eq!((b.up, b.last_change, b.downs), (false, 110, 1));
        assert_eq!(b.downtime(115), 5);
        // No change while still down.
        assert!(!b.observe(false, BackendCause::Weight, 116));
        // A server comes up: the down time is kept, lastchg restarts.
        assert!(b.observe(true, BackendCause::ServerUp, 120));
        assert_eq!((b.last_change, b.downtime(200)), (120, 10));
        // Out of maintenance: lastchg restarts, the down time is not counted.
        b.observe(false, BackendCause::ServerUp, 130);
        b.observe(true, BackendCause::LeftMaint, 140);
        assert_eq!((b.last_change, b.downtime(300), b.downs), (140, 10, 2));
        // A weight back from 0: neither.
        b.observe(false, BackendCause::Weight, 150);
        b.observe(true, BackendCause::Weight, 170);
        assert_eq!((b.last_change, b.downtime(300), b.downs), (150, 10, 3));
    }

    #[test]
    fn fin_timeouts_default_to_the_side_s_timeout_before_the_half_close() {
        use crate::config::balancer::Timeouts as Cfg;
        use crate::config::types::Dur;
        let s = Duration::from_secs;
        let base = Cfg {
            client: Dur::secs(30),
            server: Dur::secs(40),
            ..Cfg::default()
        };
        let t = relay_timeouts(&base);
        assert_eq!((t.client_fin, t.server_fin, t.tunnel), (s(30), s(40), None));
        let tunnel = Cfg {
            tunnel: Some(Dur::secs(28800)),
            ..base.clone()
        };
        let t = relay_timeouts(&tunnel);
        assert_eq!((t.client_fin, t.server_fin), (s(28800), s(28800)));
        let own = Cfg {
            client_fin: Some(Dur::secs(1)),
            server_fin: Some(Dur::secs(2)),
            ..tunnel
        };
        let t = relay_timeouts(&own);
        assert_eq!((t.client_fin, t.server_fin), (s(1), s(2)));
    }

    #[test]
    fn a_refused_connect_is_retried_after_a_pause_a_timed_out_one_at_once() {
        let ms = Duration::from_millis;
        // Refused at once: wait out the connect timeout, at most 1 s in all.
        assert_eq!(retry_delay(ms(2), ms(200)), ms(198));
        assert_eq!(retry_delay(ms(10), ms(5000)), ms(990));
        assert_eq!(retry_delay(ms(99), ms(50)), Duration::ZERO);
        // Took 100 ms or more (a timeout): no pause.
        assert_eq!(retry_delay(ms(100), ms(5000)), Duration::ZERO);
        assert_eq!(retry_delay(ms(300), ms(300)), Duration::ZERO);
    }

    fn free(l: &Limit) -> usize {
        l.sem.available_permits()
    }

    #[tokio::test]
    async fn lowering_retires_slots_as_they_come_back_and_raising_cancels_debt() {
        let l = Limit::new(Some(3));
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(l.acquire().await.expect("slot"));
        }
        l.set(Some(1));
        held.pop();
        assert_eq!(
            free(&l),
            0,
            "3 → 1 with 3 held: the first two returns are retired"
        );
        held.pop();
        assert_eq!(free(&l), 0);
        held.pop();
        assert_eq!(free(&l), 1);
        // Debt cancelled by a raise before it is paid.
        let a = l.acquire().await.expect("slot");
        l.set(Some(0));
        assert_eq!(free(&l), 0);
        l.set(Some(2));
        assert_eq!(free(&l), 1, "debt of 1 cancelled, 1 new slot");
        drop(a);
        assert_eq!(free(&l), 2);
        // No limit, then a limit again.
        l.set(None);
        assert!(free(&l) > 1_000_000);
        l.set(Some(2));
        assert_eq!(free(&l), 2);
    }
}
