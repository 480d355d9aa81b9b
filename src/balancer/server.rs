//! A server's live state: health, admin state, weight, connection counts and statistics.
//! Shared (`Arc`) between the accept loop, its sessions, the health checker and the admin
//! commands; it survives reloads when the server keeps its name and address.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime};

use tokio::sync::{Notify, watch};

use crate::config::balancer::Server;

/// Operator state (haproxy `set server ... state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admin {
    Ready,
    /// No new connections; established ones stay; checks go on.
    Drain,
    /// No traffic, no checks.
    Maint,
}

impl Admin {
    pub fn name(self) -> &'static str {
        match self {
            Admin::Ready => "ready",
            Admin::Drain => "drain",
            Admin::Maint => "maint",
        }
    }

    fn from_u8(v: u8) -> Admin {
        match v {
            1 => Admin::Drain,
            2 => Admin::Maint,
            _ => Admin::Ready,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Admin::Ready => 0,
            Admin::Drain => 1,
            Admin::Maint => 2,
        }
    }
}

#[derive(Debug, Default)]
pub struct Counters {
    pub connections: AtomicU64,
    pub max_active: AtomicU32,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    /// Failed connection attempts (each retry counts).
    pub connect_errors: AtomicU64,
    /// Sessions that could not connect once their retries were spent (haproxy's `econ`,
    /// which counts a session that got through on a retry as no error).
    pub failed_conns: AtomicU64,
    pub retries: AtomicU64,
    pub redispatches: AtomicU64,
    pub check_failures: AtomicU64,
    pub downs: AtomicU64,
    /// Sessions the client ended by an abort or its timeout (`CD`, `cD`: haproxy's
    /// `cli_abrt`), and the server (`SD`, `sD`: `srv_abrt`).
    pub client_aborts: AtomicU64,
    pub server_aborts: AtomicU64,
    /// Session times (`qtime`, `ctime`, `ttime` and their maxima) and the last session.
    pub times: Mutex<TimeStats>,
    /// Connection attempts, retries included (haproxy's server `stot` and `connect`:
    /// it counts a session per attempt).
    pub attempts: AtomicU64,
    /// Attempts per second and the most in one second (`rate`, `rate_max`).
    pub rate: super::rate::FreqCtr,
    /// Times the balancing chose it (haproxy's `lbtot`: not a stick entry, not a retry
    /// on the same server).
    pub lb_picks: AtomicU64,
    /// Times live traffic reached `error_limit` (haproxy's `hanafail`).
    pub hana_failures: AtomicU64,
}

impl Counters {
    /// haproxy's `clear counters`: the maxima (`smax`, `rate_max`, the time maxima);
    /// with `all` (`clear counters all`), every counter.
    pub fn clear(&self, all: bool) {
        self.max_active.store(0, Ordering::Relaxed);
        if let Ok(mut t) = self.times.lock() {
            if all {
                *t = TimeStats::default();
            } else {
                t.max = [0; 3];
            }
        }
        if !all {
            self.rate.clear_max();
            return;
        }
        self.rate.clear();
        for c in [
            &self.connections,
            &self.bytes_in,
            &self.bytes_out,
            &self.connect_errors,
            &self.failed_conns,
            &self.retries,
            &self.redispatches,
            &self.check_failures,
            &self.downs,
            &self.client_aborts,
            &self.server_aborts,
            &self.attempts,
            &self.lb_picks,
            &self.hana_failures,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// haproxy's session time averages: a sliding average over the last 512 sessions
/// (its `swrate`), the maxima, and when the last session was assigned (`lastsess`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeStats {
    samples: u64,
    /// Sums in haproxy's `swrate` form: queue, connect, total (ms).
    sums: [u64; 3],
    pub max: [u64; 3],
    pub last_session: Option<Instant>,
}

impl TimeStats {
    const WINDOW: u64 = 512;

    /// Adds one ended session's times (ms): waiting for a slot, connecting, in all.
    pub fn record(&mut self, queue: u64, connect: u64, total: u64) {
        self.samples += 1;
        let n = self.samples.min(Self::WINDOW);
        for (i, v) in [queue, connect, total].into_iter().enumerate() {
            let sum = self.sums[i];
            self.sums[i] = sum - sum.div_ceil(n).min(sum) + v;
            self.max[i] = self.max[i].max(v);
        }
    }

    /// The averages (queue, connect, total), 0 before any session.
    pub fn averages(&self) -> [u64; 3] {
        let n = self.samples.min(Self::WINDOW);
        if n == 0 {
            return [0; 3];
        }
        self.sums.map(|s| s.div_ceil(n))
    }

    /// Seconds since the last session (-1: none yet, as haproxy writes it).
    pub fn last_session_secs(&self) -> i64 {
        self.last_session.map_or(-1, |t| {
            i64::try_from(t.elapsed().as_secs()).unwrap_or(i64::MAX)
        })
    }
}

/// Health-check details for status and `show stat`.
#[derive(Debug, Clone, Default)]
pub struct CheckInfo {
    pub last: Option<String>,
    pub last_duration_ms: u64,
    /// A check is running now (haproxy shows `* L4OK`, with no `last_chk`, meanwhile).
    pub in_progress: bool,
    pub last_change: Option<SystemTime>,
    pub down_since: Option<Instant>,
    pub downtime_secs: u64,
    /// haproxy's check health (`None`: not checked yet, or no check).
    pub health: Option<super::check::Health>,
    /// The HTTP status of the last `http` check that got one (haproxy's `check_code`).
    pub code: Option<u16>,
}

/// The agent check's state (haproxy's `agent` check): `show stat` `agent_*` columns,
/// `last_agt`, and whether the agent holds the server down.
#[derive(Debug, Clone)]
pub struct AgentInfo {
    /// Its listener's config gives it an agent check.
    pub configured: bool,
    /// Runs (`disable agent` stops it; a reload that keeps it configured keeps this).
    pub enabled: bool,
    /// haproxy's agent health: 1 up (also before the first answer), 0 it said down.
    pub health: u32,
    /// The last status (`INI` before the first answer).
    pub status: &'static str,
    /// `last_agt`: what the agent said, or why it could not be asked.
    pub desc: String,
    pub duration_ms: u64,
    pub in_progress: bool,
    /// `set server ... agent-addr / agent-port / agent-send`, over the configured ones.
    pub addr: Option<std::net::IpAddr>,
    pub port: Option<u16>,
    pub send: Option<String>,
}

impl Default for AgentInfo {
    fn default() -> AgentInfo {
        AgentInfo {
            configured: false,
            enabled: false,
            health: 1,
            status: "INI",
            desc: String::new(),
            duration_ms: 0,
            in_progress: false,
            addr: None,
            port: None,
            send: None,
        }
    }
}

#[derive(Debug)]
pub struct ServerState {
    /// Identity: a server that keeps its name and configured address across a reload is
    /// the same object (health, admin state, counters, sessions and its check task carry
    /// over).
    name: String,
    /// Where new connections and checks go: the configured address until `set server
    /// L/S addr` changes it.
    address: RwLock<SocketAddr>,
    /// The rest of its config, updated in place by a reload.
    cfg: RwLock<Arc<Server>>,
    /// Up: its health check says so (or it has none) and its agent does not hold it down.
    up: AtomicBool,
    /// What its health check says (true without one).
    check_up: AtomicBool,
    /// Its agent check runs and said down.
    agent_down: AtomicBool,
    /// haproxy's NOLB (`set server ... health stopping`): up, but no new connections
    /// from the balancing (as drain), until a check passes or the health is set again.
    stopping: AtomicBool,
    /// Its agent check.
    pub agent: Mutex<AgentInfo>,
    /// Serializes the updates of `check_up`, `agent_down` and `up`.
    updown: Mutex<()>,
    /// Connections to it that failed in a row (`observe: layer4`).
    consecutive_errors: AtomicU32,
    /// The count when they reached `error_limit` (0: none pending); its check applies
    /// `on_error`, woken by `hana`.
    pub hana_hits: AtomicU32,
    pub hana: Notify,
    /// `set server ... check-addr / check-port`: where its health check goes instead.
    check_target: Mutex<(Option<std::net::IpAddr>, Option<u16>)>,
    admin: AtomicU8,
    /// Inherited from the server it tracks (`track`).
    inherited: AtomicU8,
    /// The server it tracks (`listener/server`).
    tracked: Mutex<Option<(String, std::sync::Weak<ServerState>)>>,
    /// Bumped on each change of its state (for the servers tracking it).
    state_gen: watch::Sender<u64>,
    weight: AtomicU32,
    /// The runtime `maxconn` (`set maxconn server`; 0: none), the configured one until
    /// the operator changes it; a reload that changes the configured one replaces it.
    maxconn: AtomicU32,
    pub active: AtomicU32,
    pub counters: Counters,
    pub check: Mutex<CheckInfo>,
    /// Bumped to close this server's sessions (shutdown_sessions, maint,
    /// shutdown_backup_sessions).
    kill: watch::Sender<super::relay::Kill>,
    /// Its metric series (labelled with its listener's name; replaced on a rename).
    metrics: RwLock<Option<super::metrics::ServerMetrics>>,
    /// Signalled when the operator changes its admin state (the check loop reacts at once).
    pub admin_changed: Notify,
    /// When its `slowstart` began (nanoseconds after [`epoch`], 0: not ramping): it came
    /// up, or out of maintenance. Read on every pick, hence an atomic.
    ramp_from: AtomicU64,
    /// Has been in maintenance (haproxy then zeroes an unchecked server's check health
    /// for good: `show servers state` shows it).
    pub was_maint: AtomicBool,
    /// Its health check runs (haproxy's `CHK_ST_ENABLED`; `disable health` stops it
    /// and the server keeps the state it had).
    pub check_enabled: AtomicBool,
}

/// The process's reference instant for [`ServerState::ramp_from`].
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// haproxy's `slowstart`: `full` scaled by how far into the ramp the server is, rounded
/// up, at least 1 (0 stays 0), `full` once the ramp is over.
pub fn ramped(full: u32, elapsed: std::time::Duration, slowstart: std::time::Duration) -> u32 {
    if full == 0 || elapsed >= slowstart || slowstart.is_zero() {
        return full;
    }
    let scaled = (u128::from(full) * elapsed.as_nanos()).div_ceil(slowstart.as_nanos());
    u32::try_from(scaled).unwrap_or(full).clamp(1, full)
}

impl ServerState {
    pub fn new(cfg: Server) -> ServerState {
        let (kill, _) = watch::channel(super::relay::Kill::default());
        ServerState {
            up: AtomicBool::new(true),
            check_up: AtomicBool::new(true),
            agent_down: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            agent: Mutex::new(AgentInfo::default()),
            updown: Mutex::new(()),
            consecutive_errors: AtomicU32::new(0),
            hana_hits: AtomicU32::new(0),
            hana: Notify::new(),
            check_target: Mutex::new((None, None)),
            admin: AtomicU8::new(0),
            inherited: AtomicU8::new(0),
            tracked: Mutex::new(None),
            state_gen: watch::channel(0).0,
            weight: AtomicU32::new(u32::from(cfg.weight)),
            maxconn: AtomicU32::new(cfg.maxconn.unwrap_or(0)),
            active: AtomicU32::new(0),
            counters: Counters::default(),
            check: Mutex::new(CheckInfo {
                last_change: Some(SystemTime::now()),
                ..CheckInfo::default()
            }),
            kill,
            name: cfg.name.clone(),
            address: RwLock::new(cfg.address),
            cfg: RwLock::new(Arc::new(cfg)),
            metrics: RwLock::new(None),
            admin_changed: Notify::new(),
            ramp_from: AtomicU64::new(0),
            was_maint: AtomicBool::new(false),
            check_enabled: AtomicBool::new(true),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn addr(&self) -> SocketAddr {
        match self.address.read() {
            Ok(a) => *a,
            Err(p) => *p.into_inner(),
        }
    }

    /// `set server L/S addr`: new connections and checks go to `a`; open sessions stay
    /// where they are. Returns the address before.
    pub fn set_addr(&self, a: SocketAddr) -> SocketAddr {
        let mut g = match self.address.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        std::mem::replace(&mut *g, a)
    }

    /// Its current config (weight, maxconn, backup, check, send_proxy).
    pub fn cfg(&self) -> Arc<Server> {
        match self.cfg.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Reads its current config in place (the picker's path: no clone, no allocation).
    pub fn with_cfg<R>(&self, f: impl FnOnce(&Server) -> R) -> R {
        match self.cfg.read() {
            Ok(c) => f(&c),
            Err(p) => f(&p.into_inner()),
        }
    }

    /// A reload's new config for this server (same name and address). A changed
    /// configured weight or maxconn replaces the runtime one; otherwise a `set weight`
    /// or `set maxconn server` stays.
    pub fn update_cfg(&self, new: Server) {
        let old = self.cfg();
        if *old == new {
            return;
        }
        if old.weight != new.weight {
            self.set_weight(u32::from(new.weight));
        }
        if old.maxconn != new.maxconn {
            self.set_maxconn(new.maxconn);
        }
        match self.cfg.write() {
            Ok(mut c) => *c = Arc::new(new),
            Err(p) => *p.into_inner() = Arc::new(new),
        }
    }

    pub fn metrics(&self) -> Option<super::metrics::ServerMetrics> {
        match self.metrics.read() {
            Ok(m) => m.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn set_metrics(&self, m: super::metrics::ServerMetrics) {
        match self.metrics.write() {
            Ok(mut g) => *g = Some(m),
            Err(p) => *p.into_inner() = Some(m),
        }
    }

    /// Health (true until checks say otherwise, as haproxy starts servers up).
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Records the check's health counter (for `UP 2/3` and `check_health`).
    pub fn set_health(&self, h: Option<super::check::Health>) {
        if let Ok(mut c) = self.check.lock() {
            c.health = h;
        }
    }

    /// Records what its health check says; returns whether the server's state (up or
    /// down) changed: it is up when the check says so and its agent does not hold it
    /// down.
    pub fn set_up(&self, up: bool) -> bool {
        let _g = self.lock_updown();
        self.check_up.store(up, Ordering::Relaxed);
        self.recompute()
    }

    /// Held while a verdict is stored and `up` recomputed: the check's task, the
    /// agent's and the commands do not interleave there (a state that matches neither).
    fn lock_updown(&self) -> std::sync::MutexGuard<'_, ()> {
        match self.updown.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Tells the servers that track this one that its state may have changed.
    fn bump(&self) {
        self.state_gen.send_modify(|g| *g = g.wrapping_add(1));
    }

    /// Changes when its state may have (up/down, administrative state, NOLB): what a
    /// server that tracks it waits on.
    pub fn state_changes(&self) -> watch::Receiver<u64> {
        self.state_gen.subscribe()
    }

    /// The server it tracks, as written (`listener/server`) and resolved.
    pub fn tracked(&self) -> Option<(String, Arc<ServerState>)> {
        let g = match self.tracked.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let (name, w) = g.as_ref()?;
        Some((name.clone(), w.upgrade()?))
    }

    pub fn set_tracked(&self, t: Option<(String, &Arc<ServerState>)>) {
        let mut g = match self.tracked.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = t.map(|(n, s)| (n, Arc::downgrade(s)));
    }

    /// What its health check says (true without one), whatever its agent says.
    pub fn check_up(&self) -> bool {
        self.check_up.load(Ordering::Relaxed)
    }

    /// Records what its agent says (haproxy's agent health: up or down); returns
    /// whether the server's state changed.
    pub fn set_agent_health(&self, up: bool) -> bool {
        let _g = self.lock_updown();
        if let Ok(mut a) = self.agent.lock() {
            a.health = u32::from(up);
            self.agent_down
                .store(a.configured && a.enabled && !up, Ordering::Relaxed);
        }
        self.recompute()
    }

    /// Its agent check configured (a reload) and running (`enable`/`disable agent`);
    /// returns whether the server's state changed (a stopped agent holds nothing down).
    pub fn set_agent_mode(&self, configured: bool, enabled: bool) -> bool {
        let _g = self.lock_updown();
        if let Ok(mut a) = self.agent.lock() {
            if (!a.configured && configured) || (!a.enabled && enabled) {
                // Newly configured, or enabled again: up until it answers (what it said
                // before it was stopped no longer counts).
                a.health = 1;
                a.status = "INI";
                a.desc.clear();
            }
            a.configured = configured;
            a.enabled = configured && enabled;
            self.agent_down
                .store(a.enabled && a.health == 0, Ordering::Relaxed);
        }
        self.recompute()
    }

    /// Its agent check's settings changed (a reload): asked afresh, up until it
    /// answers, and the runtime `agent-addr`/`agent-port`/`agent-send` forgotten.
    /// Returns whether the server's state changed.
    pub fn reset_agent(&self) -> bool {
        let _g = self.lock_updown();
        if let Ok(mut a) = self.agent.lock() {
            a.health = 1;
            a.status = "INI";
            a.desc.clear();
            a.addr = None;
            a.port = None;
            a.send = None;
            self.agent_down.store(false, Ordering::Relaxed);
        }
        self.recompute()
    }

    /// Forgets `set server ... check-addr / check-port` (the check's settings changed).
    pub fn clear_check_target(&self) -> bool {
        let mut g = match self.check_target.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let had = *g != (None, None);
        *g = (None, None);
        had
    }

    /// Its agent check runs and said down.
    pub fn agent_down(&self) -> bool {
        self.agent_down.load(Ordering::Relaxed)
    }

    /// The agent's state, copied.
    pub fn agent_info(&self) -> AgentInfo {
        match self.agent.lock() {
            Ok(a) => a.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// A connection to it failed (`observe: layer4`): at `limit` in a row, its check is
    /// told to apply `on_error`.
    pub fn observe_error(&self, limit: u32) {
        let n = self.consecutive_errors.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= limit {
            self.consecutive_errors.store(0, Ordering::Relaxed);
            self.hana_hits.store(n, Ordering::Relaxed);
            self.hana.notify_one();
        }
    }

    /// Forgets the errors seen and a pending `on_error` (a check passed, or it left
    /// maintenance: haproxy clears them on a passing check).
    pub fn observe_reset(&self) {
        self.consecutive_errors.store(0, Ordering::Relaxed);
        self.hana_hits.store(0, Ordering::Relaxed);
    }

    /// Forgets the errors counted so far (a check passed), not a pending `on_error`.
    pub fn observe_clear_errors(&self) {
        self.consecutive_errors.store(0, Ordering::Relaxed);
    }

    /// A connection to it was made (`observe: layer4`).
    pub fn observe_ok(&self) {
        if self.consecutive_errors.load(Ordering::Relaxed) != 0 {
            self.consecutive_errors.store(0, Ordering::Relaxed);
        }
    }

    /// haproxy's NOLB (`set server ... health stopping`).
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Enters or leaves NOLB. For a server that is up this is a change of state in
    /// haproxy (`lastchg` restarts), and leaving it sets the server running again:
    /// its `slowstart` ramp starts over, as haproxy's STOPPING -> STARTING.
    pub fn set_stopping(&self, on: bool) {
        if self.stopping.swap(on, Ordering::Relaxed) != on {
            if self.is_up() {
                if let Ok(mut c) = self.check.lock() {
                    c.last_change = Some(SystemTime::now());
                }
                if !on {
                    self.start_ramp();
                }
            }
            self.bump();
        }
    }

    /// Where its health check goes instead of its address (`check-addr`, `check-port`).
    pub fn check_target(&self) -> (Option<std::net::IpAddr>, Option<u16>) {
        match self.check_target.lock() {
            Ok(t) => *t,
            Err(p) => *p.into_inner(),
        }
    }

    pub fn set_check_target(&self, addr: Option<std::net::IpAddr>, port: Option<u16>) {
        let mut g = match self.check_target.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if addr.is_some() {
            g.0 = addr;
        }
        // Port 0: the configured one again (haproxy's check port 0).
        if let Some(p) = port {
            g.1 = (p != 0).then_some(p);
        }
    }

    /// Sets `up` from the check's and the agent's verdicts; returns whether it changed.
    fn recompute(&self) -> bool {
        let up = self.check_up.load(Ordering::Relaxed) && !self.agent_down.load(Ordering::Relaxed);
        let was = self.up.swap(up, Ordering::Relaxed);
        if was != up {
            self.bump();
            if let Ok(mut c) = self.check.lock() {
                c.last_change = Some(SystemTime::now());
                if up {
                    if let Some(t) = c.down_since.take() {
                        c.downtime_secs += t.elapsed().as_secs();
                    }
                } else {
                    c.down_since = Some(Instant::now());
                }
            }
            if up {
                self.start_ramp();
            } else {
                self.stopping.store(false, Ordering::Relaxed);
                self.counters.downs.fetch_add(1, Ordering::Relaxed);
            }
        }
        was != up
    }

    /// Starts its `slowstart` ramp now (a no-op without `slowstart`).
    fn start_ramp(&self) {
        let at = epoch().elapsed().as_nanos();
        let at = u64::try_from(at).unwrap_or(u64::MAX).max(1);
        self.ramp_from.store(at, Ordering::Relaxed);
    }

    /// How far into its `slowstart` ramp the server is: (elapsed, slowstart), or `None`
    /// when it is not ramping (no `slowstart`, never came up since start, or done).
    fn ramp(&self) -> Option<(std::time::Duration, std::time::Duration)> {
        let from = self.ramp_from.load(Ordering::Relaxed);
        if from == 0 {
            return None;
        }
        let slowstart = self.with_cfg(|c| c.slowstart)?.get();
        let now = u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX);
        let elapsed = std::time::Duration::from_nanos(now.saturating_sub(from));
        if elapsed >= slowstart {
            self.ramp_from.store(0, Ordering::Relaxed);
            return None;
        }
        Some((elapsed, slowstart))
    }

    /// Ramping up after `slowstart` now (haproxy's STARTING state).
    pub fn ramping(&self) -> bool {
        self.ramp().is_some()
    }

    /// Its `maxconn`, lowered while it ramps up after `slowstart` (at least 1).
    pub fn effective_maxconn(&self) -> Option<u32> {
        let max = self.maxconn()?;
        Some(match self.ramp() {
            Some((elapsed, slowstart)) => ramped(max, elapsed, slowstart),
            None => max,
        })
    }

    /// Its administrative state: the operator's (or its agent's), or what it inherits
    /// from the server it tracks, whichever is stronger (maint over drain over ready).
    pub fn admin(&self) -> Admin {
        Admin::from_u8(
            self.admin
                .load(Ordering::Relaxed)
                .max(self.inherited.load(Ordering::Relaxed)),
        )
    }

    /// The state the operator (or its agent) set (haproxy's forced flags).
    pub fn own_admin(&self) -> Admin {
        Admin::from_u8(self.admin.load(Ordering::Relaxed))
    }

    /// The state it inherits from the server it tracks (haproxy's `IMAINT`/`IDRAIN`).
    pub fn inherited_admin(&self) -> Admin {
        Admin::from_u8(self.inherited.load(Ordering::Relaxed))
    }

    pub fn set_admin(&self, a: Admin) {
        let before = self.admin();
        self.admin.store(a.to_u8(), Ordering::Relaxed);
        self.admin_moved(before);
    }

    /// What it inherits from the server it tracks; returns whether its state changed.
    pub fn set_inherited(&self, a: Admin) -> bool {
        let before = self.admin();
        self.inherited.store(a.to_u8(), Ordering::Relaxed);
        self.admin_moved(before);
        before != self.admin()
    }

    /// A state change's bookkeeping (`lastchg`, `chkdown`, down time, slowstart).
    fn admin_moved(&self, before: Admin) {
        let a = self.admin();
        if before != a {
            self.bump();
        }
        // haproxy restarts `lastchg` on an operator's state change too (drain, maint,
        // ready), not on a weight change.
        if before != a
            && let Ok(mut c) = self.check.lock()
        {
            let now = SystemTime::now();
            // haproxy adds the time spent draining (since the last change) to the
            // server's down time when it leaves drain for ready.
            if before == Admin::Drain && a == Admin::Ready {
                let secs = |t: SystemTime| {
                    t.duration_since(SystemTime::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs())
                };
                let since = c.last_change.map_or(secs(now), secs);
                c.downtime_secs += secs(now).saturating_sub(since);
            }
            c.last_change = Some(now);
            // haproxy takes a running server down for maintenance: one more down
            // (`chkdown`), its down time running while the maintenance lasts; out of
            // it, that time is not kept (haproxy 2.6 adds it nowhere).
            if before != Admin::Maint && a == Admin::Maint && self.is_up() {
                self.counters.downs.fetch_add(1, Ordering::Relaxed);
                c.down_since = Some(Instant::now());
            } else if before == Admin::Maint && a != Admin::Maint && self.is_up() {
                c.down_since = None;
            }
        }
        if a == Admin::Maint {
            self.was_maint.store(true, Ordering::Relaxed);
        }
        // Out of maintenance a server starts slowly again, as after coming up.
        if before == Admin::Maint && a != Admin::Maint && self.is_up() {
            self.start_ramp();
        }
        self.admin_changed.notify_waiters();
    }

    /// The runtime `maxconn` (`None`: no limit).
    pub fn maxconn(&self) -> Option<u32> {
        match self.maxconn.load(Ordering::Relaxed) {
            0 => None,
            m => Some(m),
        }
    }

    pub fn set_maxconn(&self, m: Option<u32>) {
        self.maxconn.store(m.unwrap_or(0), Ordering::Relaxed);
    }

    /// The runtime weight (`set weight`), before drain is applied.
    pub fn weight(&self) -> u32 {
        self.weight.load(Ordering::Relaxed)
    }

    pub fn set_weight(&self, w: u32) {
        self.weight.store(w, Ordering::Relaxed);
    }

    /// What the picker uses: 0 while draining, lowered while it ramps up after
    /// `slowstart`.
    pub fn effective_weight(&self) -> u32 {
        if self.stopping() {
            return 0;
        }
        match self.admin() {
            Admin::Ready => match self.ramp() {
                Some((elapsed, slowstart)) => ramped(self.weight(), elapsed, slowstart),
                None => self.weight(),
            },
            _ => 0,
        }
    }

    /// Takes new connections at all (up and not in maintenance).
    pub fn available(&self) -> bool {
        self.is_up() && self.admin() != Admin::Maint
    }

    /// A receiver that changes when this server's sessions must close.
    pub fn kill_signal(&self) -> watch::Receiver<super::relay::Kill> {
        self.kill.subscribe()
    }

    /// Closes the established sessions of this server, logged with `cause`.
    pub fn kill_sessions(&self, cause: super::relay::KillCause) {
        self.kill.send_modify(|k| {
            k.generation += 1;
            k.cause = cause;
        });
    }

    /// Takes one of its connection slots for a session about to connect (counted in
    /// `active` from the pick on, so `maxconn` and leastconn see connections in progress);
    /// the guard gives it back.
    pub fn reserve(self: &Arc<Self>) -> Active {
        let n = self.active.fetch_add(1, Ordering::Relaxed) + 1;
        self.counters.max_active.fetch_max(n, Ordering::Relaxed);
        Active(self.clone())
    }
}

/// A session's slot on a server (connecting or connected).
pub struct Active(Arc<ServerState>);

impl Active {
    pub fn server(&self) -> &Arc<ServerState> {
        &self.0
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// C's `strtol` in base 10, as haproxy reads numbers: leading blanks, a sign, digits
/// (saturating); the value and what follows, or `None` without a digit.
pub fn strtol(text: &str) -> Option<(i64, &str)> {
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, unsigned) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let mut v: i64 = 0;
    for b in unsigned[..digits].bytes() {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    Some((if neg { -v } else { v }, &unsigned[digits..]))
}

/// Reads a weight as haproxy 2.6's `set weight` does (C `strtol`, then the range): an
/// absolute 0..256, or `N%` of `initial` (capped at 256). The error is haproxy's text,
/// byte for byte (some of its messages end without a newline).
pub fn parse_weight(text: &str, initial: u32) -> Result<u32, &'static str> {
    if text.is_empty() {
        return Err("Require <weight> or <weight%>.\n");
    }
    let Some((w, rest)) = strtol(text) else {
        return Err("Empty weight string empty or preceded by garbage");
    };
    if rest == "%" {
        if w < 0 {
            return Err("Relative weight must be positive.\n");
        }
        let w = i64::from(initial) * w.min(25_600) / 100;
        return Ok(u32::try_from(w.min(256)).unwrap_or(256));
    }
    if !(0..=256).contains(&w) {
        return Err("Absolute weight can only be between 0 and 256 inclusive.\n");
    }
    if !rest.is_empty() {
        return Err("Trailing garbage in weight string");
    }
    Ok(u32::try_from(w).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{parse_weight, ramped};

    /// haproxy 2.6.12's answers to the same words (checked against it by hand and by
    /// tests/balancer.rs's side-by-side test).
    #[test]
    fn weights_read_as_haproxy_reads_them() {
        assert_eq!(parse_weight("5", 1), Ok(5));
        assert_eq!(parse_weight("+5", 1), Ok(5));
        assert_eq!(parse_weight("50%", 4), Ok(2));
        assert_eq!(parse_weight("150%", 1), Ok(1));
        assert_eq!(parse_weight("1000%", 100), Ok(256));
        assert_eq!(
            parse_weight("99999999999999999999", 1),
            Err("Absolute weight can only be between 0 and 256 inclusive.\n")
        );
        assert_eq!(
            parse_weight("-1", 1),
            Err("Absolute weight can only be between 0 and 256 inclusive.\n")
        );
        assert_eq!(
            parse_weight("-5%", 1),
            Err("Relative weight must be positive.\n")
        );
        assert_eq!(
            parse_weight("5x", 1),
            Err("Trailing garbage in weight string")
        );
        assert_eq!(
            parse_weight("5%x", 1),
            Err("Trailing garbage in weight string")
        );
        assert_eq!(
            parse_weight("abc", 1),
            Err("Empty weight string empty or preceded by garbage")
        );
        assert_eq!(parse_weight("", 1), Err("Require <weight> or <weight%>.\n"));
    }

    #[test]
    fn slowstart_ramps_the_weight_up_rounded_up_from_one() {
        let ss = Duration::from_secs(10);
        assert_eq!(ramped(100, Duration::ZERO, ss), 1);
        assert_eq!(ramped(100, Duration::from_millis(1), ss), 1);
        assert_eq!(ramped(100, Duration::from_secs(1), ss), 10);
        assert_eq!(ramped(100, Duration::from_millis(1001), ss), 11);
        assert_eq!(ramped(100, Duration::from_secs(5), ss), 50);
        assert_eq!(ramped(100, Duration::from_secs(10), ss), 100);
        assert_eq!(ramped(100, Duration::from_secs(60), ss), 100);
        assert_eq!(ramped(3, Duration::from_secs(4), ss), 2);
        // Weight 0 (no new connections) stays 0; 1 stays 1.
        assert_eq!(ramped(0, Duration::from_secs(1), ss), 0);
        assert_eq!(ramped(1, Duration::ZERO, ss), 1);
        assert_eq!(
            ramped(u32::MAX, Duration::from_secs(5), ss),
            u32::MAX / 2 + 1
        );
    }
}
