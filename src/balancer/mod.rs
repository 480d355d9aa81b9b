//! The L4 balancer: haproxy `mode tcp` listeners in front of routers (or any TCP service).
//!
//! `pick` (server selection) is pure; `listener` (accept loop, sessions), `relay` (byte
//! moving), `check` (health checks) are the IO. Listening sockets are kept across
//! reloads, so a reload never refuses a connection; established sessions keep running
//! with the settings they started with.

pub mod check;
pub mod listener;
pub mod metrics;
pub mod pick;
pub mod proxy_proto;
pub mod relay;
pub mod server;
pub mod stats;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::balancer::{BalancerConfig, Check, Listener, OnMarkedDown};
use crate::track::hysteresis::Hysteresis;
use crate::track::{TrackHub, listener_key};
use listener::{LogLine, Runtime, Shared};
use metrics::BalancerMetrics;
use server::{Admin, ServerState};

/// Connection log lines waiting for the logger; beyond this they are dropped and counted.
const LOG_QUEUE: usize = 4096;

struct Live {
    bind: SocketAddr,
    shared: Arc<Shared>,
    socket: Arc<listener::ListenSocket>,
    slots: Arc<Semaphore>,
    maxconn: u32,
    stop: watch::Sender<bool>,
    accept: JoinHandle<()>,
    /// Health-check tasks by server name, with the check they run.
    checks: HashMap<String, (Check, JoinHandle<()>)>,
}

impl Live {
    fn shutdown(self) {
        let _ = self.stop.send(true);
        self.accept.abort();
        for (_, (_, h)) in self.checks {
            h.abort();
        }
    }
}

/// Everything a health-check task updates.
#[derive(Clone)]
struct CheckCtx {
    shared: Arc<Shared>,
    hub: TrackHub,
    metrics: BalancerMetrics,
}

pub struct Balancer {
    metrics: BalancerMetrics,
    hub: TrackHub,
    live: Arc<Mutex<Vec<Live>>>,
    global: Option<(Arc<Semaphore>, u32)>,
    log_tx: mpsc::Sender<LogLine>,
    _logger: JoinHandle<()>,
    actconn: Arc<AtomicU32>,
}

#[derive(Debug, thiserror::Error)]
#[error("listener {name}: cannot listen on {bind}: {source}")]
pub struct BindError {
    pub name: String,
    pub bind: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

/// Publishes whether `shared`'s listener could serve a new connection now.
fn publish(hub: &TrackHub, shared: &Shared) {
    let rt = shared.runtime();
    if rt.has_usable_server() {
        hub.set(&listener_key(&shared.name), Some(true), "serving");
    } else {
        hub.set(
            &listener_key(&shared.name),
            Some(false),
            "no server is up and ready",
        );
    }
}

fn spread(name: &str, inter: Duration) -> Duration {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    name.hash(&mut h);
    Instant::now().hash(&mut h);
    let ms = inter.as_millis().max(1) as u64;
    Duration::from_millis(h.finish() % ms)
}

fn spawn_check(check: Check, server: Arc<ServerState>, ctx: CheckCtx) -> JoinHandle<()> {
    tokio::spawn(async move {
        // Spread the first checks so a restart does not hit every server at once.
        tokio::time::sleep(spread(server.name(), check.inter.get())).await;
        // A new server is up until its first check, which decides (haproxy: one failure
        // at startup takes it down); a server kept across a reload keeps its state.
        let fresh = server
            .check
            .lock()
            .map(|c| c.last.is_none())
            .unwrap_or(true);
        let mut hyst = if fresh {
            Hysteresis::new(check.rise, check.fall)
        } else {
            Hysteresis::starting(server.is_up(), check.rise, check.fall)
        };
        let listener = ctx.shared.name.clone();
        let up_gauge = ctx
            .metrics
            .server_up
            .with_label_values(&[&listener, server.name()]);
        up_gauge.set(i64::from(server.is_up()));
        loop {
            if server.admin() == Admin::Maint {
                // Out of maintenance the server is up, and the next check decides.
                hyst = Hysteresis::new(check.rise, check.fall);
                server.set_up(true);
                tokio::time::sleep(check.inter.get()).await;
                continue;
            }
            let t0 = Instant::now();
            let result = check::run(&check, server.addr()).await;
            let took = t0.elapsed();
            if let Ok(mut c) = server.check.lock() {
                c.last = Some(match &result {
                    Ok(()) => "succeeded".into(),
                    Err(e) => e.clone(),
                });
                c.last_duration_ms = took.as_millis() as u64;
            }
            if result.is_err() {
                server
                    .counters
                    .check_failures
                    .fetch_add(1, Ordering::Relaxed);
            }
            let before = hyst.progress();
            let first = hyst.up().is_none();
            if let Some(up) = hyst
                .observe(result.is_ok())
                .filter(|&u| !(first && u && server.is_up()))
            {
                server.set_up(up);
                up_gauge.set(i64::from(up));
                let rt = ctx.shared.runtime();
                let left_active = rt
                    .servers
                    .iter()
                    .filter(|s| !s.cfg.backup && s.available())
                    .count();
                let left_backup = rt
                    .servers
                    .iter()
                    .filter(|s| s.cfg.backup && s.available())
                    .count();
                let (n, of) = (before.0 + 1, before.1);
                if up {
                    tracing::info!(listener = %listener, server = %server.name(), "server {listener}/{} is UP (check: succeeded, {n}/{of}); {left_active} active and {left_backup} backup servers online", server.name());
                } else {
                    let why = result.as_ref().err().cloned().unwrap_or_default();
                    tracing::warn!(listener = %listener, server = %server.name(), reason = %why, "server {listener}/{} is DOWN (check: {why}, {n}/{of}); {left_active} active and {left_backup} backup servers left", server.name());
                    if rt.cfg.on_marked_down == OnMarkedDown::ShutdownSessions {
                        server.kill_sessions();
                    }
                }
                publish(&ctx.hub, &ctx.shared);
            }
            let changing = hyst.progress().0 > 0 || hyst.up().is_none();
            let up = hyst.up().unwrap_or(true);
            tokio::time::sleep(check::next_interval(&check, up, changing)).await;
        }
    })
}

/// haproxy's `[%t]`: `22/Nov/2026:16:00:00.123` (UTC).
fn haproxy_date(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{:02}/{}/{}:{:02}:{:02}:{:02}.{:03}",
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// haproxy's `option tcplog` line:
/// `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq`.
fn format_line(l: &LogLine) -> String {
    let t = haproxy_date(l.accepted);
    let rc = if l.redispatched {
        format!("+{}", l.retries)
    } else {
        l.retries.to_string()
    };
    format!(
        "{} [{}] {} {}/{} {}/{}/{} {} {} {}/{}/{}/{}/{} 0/0",
        l.client,
        t,
        l.listener,
        l.listener,
        l.server,
        l.tw,
        l.tc,
        l.tt,
        l.bytes_out,
        l.term,
        l.actconn,
        l.listener_conns,
        l.listener_conns,
        l.server_conns,
        rc
    )
}

impl Balancer {
    /// Binds every listener (an address that cannot be bound is an error) and starts
    /// the health checks.
    pub fn start(
        cfg: &BalancerConfig,
        metrics: BalancerMetrics,
        hub: TrackHub,
    ) -> Result<Balancer, BindError> {
        let (log_tx, mut log_rx) = mpsc::channel::<LogLine>(LOG_QUEUE);
        let actconn = Arc::new(AtomicU32::new(0));
        let logger = tokio::spawn(async move {
            while let Some(l) = log_rx.recv().await {
                let line = format_line(&l);
                tracing::info!(
                    target: "tandem::balancer::connection",
                    listener = %l.listener,
                    server = %l.server,
                    client = %l.client,
                    bytes_in = l.bytes_in,
                    bytes_out = l.bytes_out,
                    termination = l.term,
                    "{line}"
                );
            }
        });
        let global = cfg
            .maxconn
            .map(|m| (Arc::new(Semaphore::new(m as usize)), m));
        let mut b = Balancer {
            metrics,
            hub,
            live: Arc::new(Mutex::new(Vec::new())),
            global,
            log_tx,
            _logger: logger,
            actconn,
        };
        for l in &cfg.listeners {
            let socket = listener::bind(l.bind, l.backlog).map_err(|source| BindError {
                name: l.name.clone(),
                bind: l.bind,
                source,
            })?;
            let live = b.start_listener(l.clone(), Arc::new(socket), HashMap::new());
            if let Ok(mut v) = b.live.lock() {
                v.push(live);
            }
        }
        b.log_started();
        Ok(b)
    }

    fn log_started(&mut self) {
        if let Ok(v) = self.live.lock() {
            for l in v.iter() {
                let rt = l.shared.runtime();
                tracing::info!(listener = %l.shared.name, bind = %l.bind, "listener {} on {} ({} servers, balance {}, maxconn {})", l.shared.name, l.bind, rt.servers.len(), rt.cfg.balance, rt.cfg.maxconn);
            }
        }
    }

    fn start_listener(
        &self,
        cfg: Listener,
        socket: Arc<listener::ListenSocket>,
        mut reuse: HashMap<String, Arc<ServerState>>,
    ) -> Live {
        let servers: Vec<Arc<ServerState>> = cfg
            .servers
            .iter()
            .map(|s| match reuse.remove(&s.name) {
                Some(old) if old.cfg.address == s.address => adopt(old, s.clone()),
                _ => Arc::new(ServerState::new(s.clone())),
            })
            .collect();
        let shared = Arc::new(Shared {
            name: cfg.name.clone(),
            runtime: RwLock::new(Arc::new(Runtime::new(cfg.clone(), servers.clone()))),
            active: AtomicU32::new(0),
            global_active: self.actconn.clone(),
            max_active: AtomicU32::new(0),
            total: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            metrics: self.metrics.clone(),
            m: self.metrics.listener(&cfg.name),
            log: self.log_tx.clone(),
            freed: tokio::sync::Notify::new(),
        });
        for s in &servers {
            let _ = s.metrics.set(self.metrics.server(&cfg.name, s.name()));
        }
        let slots = Arc::new(Semaphore::new(cfg.maxconn as usize));
        let (stop, stop_rx) = watch::channel(false);
        let accept = listener::spawn_accept(
            socket.clone(),
            shared.clone(),
            slots.clone(),
            self.global.as_ref().map(|g| g.0.clone()),
            stop_rx,
        );
        let ctx = CheckCtx {
            shared: shared.clone(),
            hub: self.hub.clone(),
            metrics: self.metrics.clone(),
        };
        let mut checks = HashMap::new();
        if let Some(c) = &cfg.check {
            for s in servers.iter().filter(|s| s.cfg.check) {
                checks.insert(
                    s.name().to_string(),
                    (c.clone(), spawn_check(c.clone(), s.clone(), ctx.clone())),
                );
            }
        }
        for s in &servers {
            self.metrics
                .server_up
                .with_label_values(&[&cfg.name, s.name()])
                .set(i64::from(s.is_up()));
        }
        publish(&self.hub, &shared);
        Live {
            bind: cfg.bind,
            shared,
            socket,
            slots,
            maxconn: cfg.maxconn,
            stop,
            accept,
            checks,
        }
    }

    /// Applies a reloaded config. Listening sockets on unchanged addresses are kept, so no
    /// connection is refused; server state (health, drain/maint, counters) carries over
    /// for servers that keep their name and address. Returns the listeners that failed.
    pub async fn apply(&mut self, cfg: &BalancerConfig) -> Vec<BindError> {
        let mut errors = Vec::new();
        let old: Vec<Live> = match self.live.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(_) => return errors,
        };
        // Global maxconn.
        match (&mut self.global, cfg.maxconn) {
            (Some((sem, cur)), Some(new)) if *cur != new => {
                resize(sem, *cur, new);
                *cur = new;
            }
            (None, Some(new)) => self.global = Some((Arc::new(Semaphore::new(new as usize)), new)),
            (Some(_), None) => self.global = None,
            _ => {}
        }
        let mut old_by_bind: HashMap<SocketAddr, Live> =
            old.into_iter().map(|l| (l.bind, l)).collect();
        let mut next = Vec::new();
        for l in &cfg.listeners {
            match old_by_bind.remove(&l.bind) {
                Some(mut live) if live.shared.name == l.name => {
                    self.update_listener(&mut live, l.clone());
                    next.push(live);
                }
                Some(live) => {
                    // Renamed: new name, same socket.
                    let socket = live.socket.clone();
                    let reuse = servers_by_name(&live.shared);
                    self.hub.remove(&listener_key(&live.shared.name));
                    live.shutdown();
                    next.push(self.start_listener(l.clone(), socket, reuse));
                }
                None => match listener::bind(l.bind, l.backlog) {
                    Ok(s) => next.push(self.start_listener(l.clone(), Arc::new(s), HashMap::new())),
                    Err(source) => {
                        tracing::error!(listener = %l.name, "listener {}: cannot listen on {}: {source}", l.name, l.bind);
                        self.hub.set(
                            &listener_key(&l.name),
                            Some(false),
                            &format!("not bound: {source}"),
                        );
                        errors.push(BindError {
                            name: l.name.clone(),
                            bind: l.bind,
                            source,
                        });
                    }
                },
            }
        }
        for (_, live) in old_by_bind {
            tracing::info!(listener = %live.shared.name, "listener {} removed: no new connections on {}", live.shared.name, live.bind);
            self.hub.remove(&listener_key(&live.shared.name));
            live.shutdown();
        }
        if let Ok(mut v) = self.live.lock() {
            *v = next;
        }
        errors
    }

    fn update_listener(&self, live: &mut Live, cfg: Listener) {
        let mut reuse = servers_by_name(&live.shared);
        let servers: Vec<Arc<ServerState>> = cfg
            .servers
            .iter()
            .map(|s| match reuse.remove(&s.name) {
                Some(old) if old.cfg.address == s.address => adopt(old, s.clone()),
                _ => Arc::new(ServerState::new(s.clone())),
            })
            .collect();
        for s in &servers {
            let _ = s.metrics.set(self.metrics.server(&cfg.name, s.name()));
        }
        if cfg.maxconn != live.maxconn {
            resize(&live.slots, live.maxconn, cfg.maxconn);
            live.maxconn = cfg.maxconn;
        }
        // Checks: keep the unchanged ones, restart changed ones, stop removed ones.
        let ctx = CheckCtx {
            shared: live.shared.clone(),
            hub: self.hub.clone(),
            metrics: self.metrics.clone(),
        };
        let mut checks = std::mem::take(&mut live.checks);
        let mut next_checks = HashMap::new();
        for s in &servers {
            let want = cfg.check.clone().filter(|_| s.cfg.check);
            match (checks.remove(s.name()), want) {
                (Some((c, h)), Some(w)) if c == w && !h.is_finished() => {
                    next_checks.insert(s.name().to_string(), (c, h));
                }
                (old, Some(w)) => {
                    if let Some((_, h)) = old {
                        h.abort();
                    }
                    let h = spawn_check(w.clone(), s.clone(), ctx.clone());
                    next_checks.insert(s.name().to_string(), (w, h));
                }
                (Some((_, h)), None) => {
                    h.abort();
                    // Unchecked servers count as up.
                    s.set_up(true);
                }
                (None, None) => s.set_up(true),
            }
        }
        for (_, (_, h)) in checks {
            h.abort();
        }
        live.checks = next_checks;
        for s in &reuse {
            let _ = self
                .metrics
                .server_up
                .remove_label_values(&[&live.shared.name, s.0]);
        }
        if let Ok(mut rt) = live.shared.runtime.write() {
            *rt = Arc::new(Runtime::new(cfg, servers));
        }
        publish(&self.hub, &live.shared);
    }

    /// Stops accepting; established sessions end with the process.
    pub fn stop(self) {
        if let Ok(mut v) = self.live.lock() {
            for l in v.drain(..) {
                self.hub.remove(&listener_key(&l.shared.name));
                l.shutdown();
            }
        }
    }

    pub fn status_provider(&self) -> impl Fn() -> Value + Send + Sync + 'static {
        let live = self.live.clone();
        move || {
            let listeners: Vec<Value> = live
                .lock()
                .map(|v| {
                    v.iter()
                        .map(|l| stats::listener_json(&l.shared, l.bind))
                        .collect()
                })
                .unwrap_or_default();
            json!({ "enabled": true, "running": true, "listeners": listeners })
        }
    }

    /// A handle for admin commands (cheap to clone, usable while the balancer runs).
    pub fn admin(&self) -> BalancerAdmin {
        BalancerAdmin {
            live: self.live.clone(),
            hub: self.hub.clone(),
        }
    }
}

/// Operator actions on a running balancer.
#[derive(Clone)]
pub struct BalancerAdmin {
    live: Arc<Mutex<Vec<Live>>>,
    hub: TrackHub,
}

impl BalancerAdmin {
    fn find(&self, target: &str) -> Result<(Arc<Shared>, Arc<ServerState>), String> {
        let (l, s) = target
            .split_once('/')
            .ok_or_else(|| format!("`{target}`: give <listener>/<server>"))?;
        let v = self.live.lock().map_err(|_| "internal error".to_string())?;
        let live = v
            .iter()
            .find(|x| x.shared.name == l)
            .ok_or_else(|| format!("no listener `{l}`"))?;
        let rt = live.shared.runtime();
        let server = rt
            .servers
            .iter()
            .find(|x| x.name() == s)
            .cloned()
            .ok_or_else(|| format!("no server `{s}` in listener `{l}`"))?;
        Ok((live.shared.clone(), server))
    }

    /// `set server L/S state ready|drain|maint`.
    pub fn set_state(&self, target: &str, state: Admin) -> Result<String, String> {
        let (shared, server) = self.find(target)?;
        let before = server.admin();
        server.set_admin(state);
        tracing::warn!(listener = %shared.name, server = %server.name(), from = before.name(), to = state.name(), "server {target} set to {} by the operator (was {})", state.name(), before.name());
        publish(&self.hub, &shared);
        Ok(format!(
            "{target}: {} (was {})",
            state.name(),
            before.name()
        ))
    }

    /// `set server L/S weight N` (0..256).
    pub fn set_weight(&self, target: &str, weight: u32) -> Result<String, String> {
        if weight > 256 {
            return Err(format!("weight {weight} is out of range 0..256"));
        }
        let (shared, server) = self.find(target)?;
        let before = server.weight();
        server.set_weight(weight);
        tracing::warn!(listener = %shared.name, server = %server.name(), from = before, to = weight, "server {target} weight set to {weight} by the operator (was {before})");
        publish(&self.hub, &shared);
        Ok(format!("{target}: weight {weight} (was {before})"))
    }

    /// haproxy `show stat` CSV.
    pub fn show_stat(&self) -> String {
        let v = match self.live.lock() {
            Ok(v) => v,
            Err(_) => return String::new(),
        };
        let shared: Vec<Arc<Shared>> = v.iter().map(|l| l.shared.clone()).collect();
        stats::csv(&shared)
    }

    /// One line per server: listener/server status weight active.
    pub fn show_servers(&self) -> String {
        let v = match self.live.lock() {
            Ok(v) => v,
            Err(_) => return String::new(),
        };
        let mut out = String::new();
        for l in v.iter() {
            let rt = l.shared.runtime();
            for s in &rt.servers {
                let checked = rt.cfg.check.is_some() && s.cfg.check;
                out.push_str(&format!(
                    "{}/{} {} {} weight {} active {}\n",
                    l.shared.name,
                    s.name(),
                    s.addr(),
                    stats::server_status(s, checked),
                    s.effective_weight(),
                    s.active.load(Ordering::Relaxed)
                ));
            }
        }
        out
    }
}

/// A surviving server gets the new config; its live state stays (the Arc is shared with
/// sessions, so a changed weight goes in through the runtime weight).
fn adopt(old: Arc<ServerState>, new: crate::config::balancer::Server) -> Arc<ServerState> {
    if old.cfg == new {
        return old;
    }
    let s = ServerState::new(new.clone());
    s.set_up(old.is_up());
    s.set_admin(old.admin());
    if old.cfg.weight != new.weight {
        s.set_weight(u32::from(new.weight));
    } else {
        s.set_weight(old.weight());
    }
    Arc::new(s)
}

fn servers_by_name(shared: &Shared) -> HashMap<String, Arc<ServerState>> {
    shared
        .runtime()
        .servers
        .iter()
        .map(|s| (s.name().to_string(), s.clone()))
        .collect()
}

/// Grows or shrinks a semaphore's capacity (shrinking takes effect as slots free up).
fn resize(sem: &Semaphore, from: u32, to: u32) {
    if to > from {
        sem.add_permits((to - from) as usize);
    } else {
        let want = (from - to) as usize;
        let forgotten = sem.forget_permits(want);
        if forgotten < want {
            tracing::debug!(
                "maxconn lowered by {want}, {forgotten} slots taken back now; the rest as connections end"
            );
        }
    }
}
