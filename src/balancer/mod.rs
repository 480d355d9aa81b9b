//! The L4 balancer: haproxy `mode tcp` listeners in front of routers (or any TCP service).
//!
//! `pick` (server selection) is pure; `listener` (accept loop, sessions), `relay` (byte
//! moving), `check` (health checks) are the IO. Listening sockets are kept across
//! reloads, so a reload never refuses a connection; established sessions keep running
//! with the settings they started with.

pub mod agent;
pub mod check;
pub mod info;
pub mod listener;
pub mod metrics;
pub mod pick;
pub mod proxy_proto;
pub mod rate;
pub mod relay;
pub mod server;
pub mod sessions;
pub mod stats;
pub mod stick;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::admin::{self, Refusal};
use crate::config::balancer::{
    Agent, Balance, BalancerConfig, Check, Listener, OnError, OnMarkedDown, OnMarkedUp,
    SourceCompat, agent_of,
};
use crate::track::{TrackHub, listener_key};
use check::Health;
use listener::{BackendCause, Limit, LogLine, Runtime, Shared};
use metrics::BalancerMetrics;
use relay::KillCause;
use server::{Admin, ServerState};

/// Connection log lines waiting for the logger; beyond this they are dropped and counted.
const LOG_QUEUE: usize = 4096;

struct Live {
    bind: SocketAddr,
    shared: Arc<Shared>,
    socket: Arc<listener::ListenSocket>,
    slots: Arc<Limit>,
    stop: watch::Sender<bool>,
    accept: JoinHandle<()>,
    /// Health-check tasks by server name, with the check they run.
    checks: HashMap<String, (Check, JoinHandle<()>)>,
    /// Agent-check tasks by server name, with the agent check they run.
    agents: HashMap<String, (Agent, JoinHandle<()>)>,
    /// Tracking tasks by server name: (the tracking server, the tracked one, task).
    tracks: HashMap<String, (usize, usize, JoinHandle<()>)>,
}

impl Drop for Live {
    /// A listener that goes away (removed, replaced, or its balancer stopped or never
    /// finished starting) stops accepting and stops its health checks.
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.accept.abort();
        for (_, (_, h)) in self.checks.drain() {
            h.abort();
        }
        for (_, (_, h)) in self.agents.drain() {
            h.abort();
        }
        for (_, (_, _, h)) in self.tracks.drain() {
            h.abort();
        }
    }
}

/// Listening sockets bound ahead of a (re)start, so a config whose addresses cannot all
/// be bound is refused before anything changes.
#[derive(Default)]
pub struct Prepared {
    sockets: HashMap<SocketAddr, Arc<listener::ListenSocket>>,
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
    /// The global `maxconn`, shared by every listener's accept loop (a reload changes it
    /// in place).
    global: Arc<Limit>,
    log_tx: mpsc::Sender<LogLine>,
    actconn: Arc<AtomicU32>,
    /// `show info`'s ConnRate and SessRate, over every listener.
    rates: Arc<rate::GlobalRates>,
    started: Instant,
    /// `show info`'s last CPU sample (for Idle_pct), shared by the admin handles.
    cpu_sample: Arc<Mutex<(Instant, Duration)>>,
    /// Every session now (`show sess`, `shutdown session`).
    sessions: Arc<sessions::Sessions>,
    /// The configured global `maxconn` (`set maxconn global` goes back to it).
    global_cfg: Arc<Mutex<Option<u32>>>,
}

#[derive(Debug, thiserror::Error)]
#[error("listener {name}: cannot listen on {bind}: {source}")]
pub struct BindError {
    pub name: String,
    pub bind: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

/// A connection count given to `set maxconn`: a whole number 0..=u32::MAX (haproxy
/// would read garbage as 0; tandem refuses it, with haproxy's text for a bad number).
fn parse_count(value: &str, haproxy: &'static str) -> Result<u32, Refusal> {
    value.trim().parse::<u32>().map_err(|_| {
        if value.trim().parse::<i64>().is_ok_and(|v| v < 0) {
            Refusal::new(
                "Value out of range.\n",
                format!("`{value}`: give 0 or more"),
            )
        } else {
            Refusal::new(haproxy, format!("`{value}` is not a number of connections"))
        }
    })
}

/// A server's maxconn as haproxy reads it (`strtol`: digits after optional blanks and
/// sign, nothing after them), with haproxy's texts; a negative one is refused (haproxy
/// would store it as a huge unsigned number).
fn parse_server_maxconn(value: &str) -> Result<u32, Refusal> {
    let t = value.trim_start();
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let digits = body.len() - body.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return Err(Refusal::new(
            "maxconn string empty or preceded by garbage",
            format!("`{value}` is not a number of connections"),
        ));
    }
    if digits < body.len() {
        return Err(Refusal::new(
            "Trailing garbage in maxconn string",
            format!("`{value}` is not a number of connections"),
        ));
    }
    parse_count(t, "Value out of range.\n")
}

/// Publishes whether `shared`'s listener could serve a new connection now, and wakes
/// its queued clients (a server may have become usable).
fn publish(hub: &TrackHub, shared: &Shared, cause: BackendCause) {
    shared.note_backend(cause);
    shared.freed.notify_waiters();
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

/// When the first check of the listener's server `pos` (of `n`) is due after a start:
/// as haproxy (without `spread-checks`), the servers' first checks are spread evenly
/// over `inter` in their order, the first one at once, so that a dead server is found
/// right after a start and a restart does not check every server at the same moment.
fn first_check_in(inter: Duration, pos: usize, n: usize) -> Duration {
    let n = n.max(1) as u32;
    let pos = pos.min(u32::MAX as usize) as u32 % n;
    inter / n * pos
}

fn spawn_check(
    check: Check,
    server: Arc<ServerState>,
    ctx: CheckCtx,
    first: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // A new server is up until its first check, which decides (haproxy: one failure
        // at startup takes it down); a server kept across a reload keeps its state.
        let fresh = server
            .check
            .lock()
            .map(|c| c.last.is_none())
            .unwrap_or(true);
        let mut health = if fresh {
            Health::fresh(check.rise, check.fall)
        } else {
            Health::settled(server.check_up(), check.rise, check.fall)
        };
        server.set_health(Some(health));
        let listener = ctx.shared.name.clone();
        let up_gauge = ctx
            .metrics
            .server_up
            .with_label_values(&[&listener, server.name()]);
        up_gauge.set(i64::from(server.is_up()));
        let failures = ctx
            .metrics
            .check_failures
            .with_label_values(&[&listener, server.name()]);
        let to_up = ctx
            .metrics
            .transitions
            .with_label_values(&[&listener, server.name(), "up"]);
        let to_down =
            ctx.metrics
                .transitions
                .with_label_values(&[&listener, server.name(), "down"]);
        // One result (a check's, or live traffic's on `on_error`): the health counter,
        // `chkfail`, the server's state and its log line. `took`: a check ran that long.
        // The live-traffic errors were logged in this run of failures (`observe`).
        let mut hana_logged = false;
        // `cond`: a conditional pass (`disable_on_404`), which drains the server.
        let settle = |health: &mut Health,
                      result: &Result<(), String>,
                      cond: bool,
                      took: Option<Duration>| {
            // Down by a command that came while this check ran (its health written
            // over): down it stays.
            if !server.check_up() && health.up() {
                *health = Health::settled(false, check.rise, check.fall);
            }
            if let Ok(mut c) = server.check.lock() {
                c.last = Some(match result {
                    Ok(()) if cond => "conditionally succeeded".into(),
                    Ok(()) => "succeeded".into(),
                    Err(e) => e.clone(),
                });
                if let Some(took) = took {
                    c.in_progress = false;
                    c.last_duration_ms = took.as_millis() as u64;
                }
            }
            // haproxy's chkfail counts only failures that take health away: none while
            // the server is fully down.
            let changed = if server.check_up() && !health.up() {
                // Up with no health to show for it (out of maintenance while its check
                // was stopped): as haproxy, the first result decides; a failure takes
                // it down at once (its health is 0 already: no chkfail), a success
                // makes it fully up.
                *health = Health::settled(result.is_ok(), check.rise, check.fall);
                result.is_err().then_some(false)
            } else {
                if result.is_err() && health.counts_failure() {
                    server
                        .counters
                        .check_failures
                        .fetch_add(1, Ordering::Relaxed);
                    failures.inc();
                }
                health.observe(result.is_ok())
            };
            server.set_health(Some(*health));
            // A passing check ends `health stopping` (haproxy's NOLB), as haproxy's
            // next good check sets the server running; a conditional one (a 404 under
            // `disable_on_404`) puts a server that is up into it.
            if result.is_ok()
                && health.up()
                && server.stopping() != cond
                && server.is_up()
                && server.admin() != Admin::Maint
            {
                server.set_stopping(cond);
                if cond {
                    tracing::warn!(listener = %listener, server = %server.name(), "server {listener}/{} is NOLB (check: HTTP status 404, disable_on_404): no new connections until it answers 2xx/3xx", server.name());
                    let (a, b) = servers_left(&ctx.shared.runtime());
                    alert_if_no_server(&listener, a + b);
                } else {
                    tracing::info!(listener = %listener, server = %server.name(), "server {listener}/{} is UP (leaving NOLB: check succeeded)", server.name());
                    shut_backup_sessions(&ctx.shared, &server);
                }
                publish(&ctx.hub, &ctx.shared, BackendCause::Weight);
            }
            let changed = changed.filter(|up| {
                    let moved = server.set_up(*up);
                    if !moved && *up && server.agent_down() {
                        tracing::info!(listener = %listener, server = %server.name(), "server {listener}/{}: its health check succeeds again, but its agent keeps it DOWN", server.name());
                    }
                    moved
                });
            if let Some(up) = changed {
                up_gauge.set(i64::from(up));
                if up {
                    to_up.inc()
                } else {
                    to_down.inc()
                }
                let rt = ctx.shared.runtime();
                let (left_active, left_backup) = servers_left(&rt);
                let of = if up { check.rise } else { check.fall };
                if up {
                    tracing::info!(listener = %listener, server = %server.name(), "server {listener}/{} is UP (check: succeeded, {of}/{of}); {left_active} active and {left_backup} backup servers online", server.name());
                    shut_backup_sessions(&ctx.shared, &server);
                } else {
                    let why = result.as_ref().err().cloned().unwrap_or_default();
                    tracing::warn!(listener = %listener, server = %server.name(), reason = %why, "server {listener}/{} is DOWN (check: {why}, {of}/{of}); {left_active} active and {left_backup} backup servers left", server.name());
                    if rt.cfg.on_marked_down == OnMarkedDown::ShutdownSessions {
                        server.kill_sessions(KillCause::Down);
                    }
                    alert_if_no_server(&listener, left_active + left_backup);
                }
                publish(&ctx.hub, &ctx.shared, BackendCause::ServerUp);
            }
        };
        let mut due = tokio::time::Instant::now() + first;
        loop {
            // Live traffic (`observe: layer4`) can act before the check is due.
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(due) => break,
                    () = server.hana.notified() => {
                        let n = server.hana_hits.swap(0, Ordering::Relaxed);
                        // Nothing to act on in maintenance or with the check stopped
                        // (the errors are forgotten when it resumes).
                        if n == 0
                            || check.observe.is_none()
                            || server.admin() == Admin::Maint
                            || !server.check_enabled.load(Ordering::Relaxed)
                        {
                            continue;
                        }
                        server.counters.hana_failures.fetch_add(1, Ordering::Relaxed);
                        let why = format!(
                            "Detected {n} consecutive errors, last one was: L4 unsuccessful connection"
                        );
                        // One line per run of failures (until a check passes); what
                        // `on_error` does to the server is logged as a check's result.
                        if !hana_logged {
                            hana_logged = true;
                            tracing::warn!(listener = %listener, server = %server.name(), errors = n, "server {listener}/{}: {n} connections in a row failed (observe: layer4, on_error: {})", server.name(), check.on_error);
                        }
                        if let Some(h) = server.check.lock().ok().and_then(|c| c.health) {
                            health = h;
                        }
                        match check.on_error {
                            OnError::Fastinter => {}
                            OnError::FailCheck => settle(&mut health, &Err(why), false, None),
                            OnError::SuddenDeath => {
                                // One more failure takes it down.
                                if health.value() > check.rise {
                                    health.set_value(check.rise + 1);
                                }
                                settle(&mut health, &Err(why), false, None);
                            }
                            OnError::MarkDown => {
                                if health.up() {
                                    health.set_value(check.rise);
                                }
                                settle(&mut health, &Err(why), false, None);
                            }
                        }
                        if let Some(fi) = check.fastinter {
                            due = due.min(tokio::time::Instant::now() + fi.get());
                        }
                    }
                }
            }
            if !server.check_enabled.load(Ordering::Relaxed) {
                // `disable health`: no checks; the server keeps its state until they
                // are enabled again (out of maintenance it is up: `set_state`).
                server.observe_reset();
                let changed = server.admin_changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if !server.check_enabled.load(Ordering::Relaxed) {
                    let _ = tokio::time::timeout(check.inter.get(), changed).await;
                }
                continue;
            }
            if server.admin() == Admin::Maint {
                // No checks in maintenance. Out of it the server counts as up and is
                // checked at once; the check decides.
                server.observe_reset();
                health = Health::fresh(check.rise, check.fall);
                server.set_health(Some(health));
                if server.set_up(true) {
                    up_gauge.set(1);
                    publish(&ctx.hub, &ctx.shared, BackendCause::ServerUp);
                }
                let changed = server.admin_changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if server.admin() == Admin::Maint {
                    let _ = tokio::time::timeout(check.inter.get(), changed).await;
                }
                continue;
            }
            let t0 = Instant::now();
            let source = ctx.shared.runtime().cfg.source;
            if let Ok(mut c) = server.check.lock() {
                c.in_progress = true;
            }
            // `set server ... check-addr / check-port` move the check elsewhere.
            let (check_ip, check_port) = server.check_target();
            let mut target = server.addr();
            if let Some(ip) = check_ip {
                target.set_ip(ip);
            }
            let result = match check_port {
                Some(p) => {
                    let moved = Check {
                        port: Some(p),
                        ..check.clone()
                    };
                    check::run(&moved, target, source).await
                }
                None => check::run(&check, target, source).await,
            };
            // `set server ... health` may have set the health meanwhile.
            if let Some(h) = server.check.lock().ok().and_then(|c| c.health) {
                health = h;
            }
            let passed_code = match &result {
                Ok(check::Pass::Full(c)) => *c,
                _ => None,
            };
            // haproxy evaluates disable-on-404 only for a server that is not down: a
            // 404 from a down server is a wrong status.
            let (result, cond) = match result {
                Ok(check::Pass::Conditional)
                    if server.is_up() && server.admin() != Admin::Maint =>
                {
                    (Ok(()), true)
                }
                // Then the 404 is judged as any status (`expect_status: 404` passes).
                Ok(check::Pass::Conditional) if check::status_passes(404, check.expect_status) => {
                    (Ok(()), false)
                }
                Ok(check::Pass::Conditional) => {
                    (Err(check::status_failure(404, check.expect_status)), false)
                }
                Ok(check::Pass::Full(_)) => (Ok(()), false),
                Err(e) => (Err(e), false),
            };
            // haproxy's `check_code`: the HTTP status an `http` check got.
            let code = match &result {
                _ if cond => Some(404),
                Ok(()) => passed_code,
                Err(e) => check::failure_code(e),
            };
            if let Ok(mut c) = server.check.lock() {
                c.code = code;
            }
            let took = t0.elapsed();
            settle(&mut health, &result, cond, Some(took));
            if result.is_ok() {
                // haproxy forgets the live-traffic errors on a passing check.
                server.observe_clear_errors();
                hana_logged = false;
            }
            // Until the next check: `inter`, `fastinter` or `downinter`.
            due = tokio::time::Instant::now()
                + check::next_interval(&check, health.up(), !health.settled_state());
        }
    })
}

/// A port as haproxy's CLI reads it (`strl2irc`, then 0..65535).
fn parse_cli_port(p: &str) -> Result<u16, &'static str> {
    let (neg, digits) = match p.as_bytes().first() {
        Some(b'-') => (true, &p[1..]),
        Some(b'+') => (false, &p[1..]),
        _ => (false, p),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("provided port is not an integer");
    }
    if neg && digits.bytes().any(|b| b != b'0') {
        return Err("provided port is invalid");
    }
    digits
        .parse::<u16>()
        .map_err(|_| "provided port is invalid")
}

/// A server's state change that no check result made (a command, a reload, its agent):
/// its gauge, and when it went up or down (`moved`), the transition count, the UP/DOWN
/// line with `why`, and what follows (`on_marked_*`, the no-server alert); then the
/// listener's state is published.
fn announce(
    hub: &TrackHub,
    metrics: &BalancerMetrics,
    shared: &Shared,
    server: &Arc<ServerState>,
    moved: bool,
    why: &str,
) {
    let up = server.is_up();
    metrics
        .server_up
        .with_label_values(&[&shared.name, server.name()])
        .set(i64::from(up));
    // In maintenance a server takes nothing either way: leaving it says how it is.
    if moved && server.admin() != Admin::Maint {
        metrics
            .transitions
            .with_label_values(&[
                shared.name.as_str(),
                server.name(),
                if up { "up" } else { "down" },
            ])
            .inc();
        let rt = shared.runtime();
        let (left_active, left_backup) = servers_left(&rt);
        let target = format!("{}/{}", shared.name, server.name());
        if up {
            tracing::info!(listener = %shared.name, server = %server.name(), "server {target} is UP ({why}); {left_active} active and {left_backup} backup servers online");
            shut_backup_sessions(shared, server);
        } else {
            tracing::warn!(listener = %shared.name, server = %server.name(), reason = why, "server {target} is DOWN ({why}); {left_active} active and {left_backup} backup servers left");
            if rt.cfg.on_marked_down == OnMarkedDown::ShutdownSessions {
                server.kill_sessions(KillCause::Down);
            }
            alert_if_no_server(&shared.name, left_active + left_backup);
        }
    }
    publish(hub, shared, BackendCause::ServerUp);
}

/// Starts, keeps, restarts or stops the agent checks of `servers` for `cfg`: one that
/// runs unchanged for the same server object goes on; `before`: the servers before a
/// reload.
fn sync_agents(
    cfg: &Listener,
    servers: &[Arc<ServerState>],
    mut old: HashMap<String, (Agent, JoinHandle<()>)>,
    before: &HashMap<String, Arc<ServerState>>,
    ctx: &CheckCtx,
) -> HashMap<String, (Agent, JoinHandle<()>)> {
    let mut next = HashMap::new();
    for s in servers {
        let want = s.with_cfg(|sc| agent_of(cfg, sc));
        let prev = s.agent_info();
        let same = before.get(s.name()).is_some_and(|o| Arc::ptr_eq(o, s));
        let running = old.remove(s.name());
        // A `disable agent` holds across a reload that keeps the agent configured.
        let mut moved = s.set_agent_mode(want.is_some(), !prev.configured || prev.enabled);
        let why = match (&running, &want) {
            (Some((a, _)), Some(w)) if a != w => {
                // Other settings: asked afresh (what the old agent said no longer
                // counts, nor the runtime agent-addr/-port/-send).
                moved |= s.reset_agent();
                "its agent check changed by a reload"
            }
            _ => "its agent check removed by a reload",
        };
        if prev.configured && want.is_none() {
            // What the agent set stays (as after an operator's command): say so.
            let target = format!("{}/{}", ctx.shared.name, s.name());
            let configured = s.cfg().weight;
            if s.own_admin() != Admin::Ready || s.weight() != u32::from(configured) {
                tracing::warn!(listener = %ctx.shared.name, server = %s.name(), "server {target}: its agent check is removed; the state {} and weight {} (configured {configured}) it may have set stay: `set server {target} state ready` / `set weight {target} {configured}` to undo", s.own_admin().name(), s.weight());
            }
        }
        if moved {
            announce(&ctx.hub, &ctx.metrics, &ctx.shared, s, true, why);
        }
        match (running, want) {
            (Some((a, h)), Some(w)) if same && a == w && !h.is_finished() => {
                next.insert(s.name().to_string(), (a, h));
            }
            (prev, Some(w)) => {
                if let Some((_, h)) = prev {
                    h.abort();
                }
                let h = agent::spawn(w.clone(), s.clone(), ctx.clone());
                next.insert(s.name().to_string(), (w, h));
            }
            (Some((_, h)), None) => h.abort(),
            (None, None) => {}
        }
    }
    for (_, (_, h)) in old {
        h.abort();
    }
    next
}

/// Sets a server's administrative state (`set server ... state`, the stats page, its
/// agent): logged as done `by`; returns the state before.
fn change_admin(
    hub: &TrackHub,
    metrics: &BalancerMetrics,
    shared: &Shared,
    server: &Arc<ServerState>,
    state: Admin,
    by: &str,
) -> Admin {
    let before_own = server.own_admin();
    let before = server.admin();
    server.set_admin(state);
    let target = format!("{}/{}", shared.name, server.name());
    let after = server.admin();
    let still = match server.tracked() {
        Some((via, _)) if after != state => format!(", still {} via {via}", after.name()),
        _ => String::new(),
    };
    let what = format!(
        "server {target} set to {} by {by} (was {}{still})",
        state.name(),
        before_own.name()
    );
    admin_effects(hub, metrics, shared, server, before, &what);
    before_own
}

/// What follows a server's change of administrative state (`before`: the state it had):
/// out of maintenance it runs again (NOLB ends, up without a running check) and the
/// backups' sessions may close; into it, its sessions may close; the line `what`, the
/// no-server alert, and the listener's state published.
fn admin_effects(
    hub: &TrackHub,
    metrics: &BalancerMetrics,
    shared: &Shared,
    server: &Arc<ServerState>,
    before: Admin,
    what: &str,
) {
    let state = server.admin();
    if before == Admin::Maint && state != Admin::Maint {
        // Out of maintenance a server runs again (haproxy leaves NOLB there too),
        // unless the server it tracks is in NOLB.
        let tracked_stopping = server.tracked().is_some_and(|(_, t)| t.stopping());
        server.set_stopping(tracked_stopping && server.is_up());
        // With its check stopped (`disable health`), a server is up: no check is
        // there to decide (haproxy). A tracking server follows its tracked one.
        if !server.check_enabled.load(Ordering::Relaxed) && server.tracked().is_none() {
            server.set_up(true);
        }
    }
    metrics
        .server_up
        .with_label_values(&[&shared.name, server.name()])
        .set(i64::from(server.is_up()));
    // Maintenance takes the server out like a failed check does, so
    // `on_marked_down: shutdown_sessions` closes its sessions then too (haproxy).
    if state == Admin::Maint
        && before != Admin::Maint
        && shared.runtime().cfg.on_marked_down == OnMarkedDown::ShutdownSessions
    {
        server.kill_sessions(KillCause::Down);
    }
    let (left_active, left_backup) = servers_left(&shared.runtime());
    tracing::warn!(listener = %shared.name, server = %server.name(), from = before.name(), to = state.name(), "{what}; {left_active} active and {left_backup} backup servers left");
    if state != Admin::Ready && before == Admin::Ready && server.is_up() {
        alert_if_no_server(&shared.name, left_active + left_backup);
    }
    // Out of maintenance an up server takes connections again, as after a check
    // (haproxy runs on-marked-up when a server leaves maintenance too).
    if before == Admin::Maint && state != Admin::Maint {
        shut_backup_sessions(shared, server);
    }
    let cause = if before == Admin::Maint {
        BackendCause::LeftMaint
    } else {
        BackendCause::ServerUp
    };
    publish(hub, shared, cause);
}

/// A tracking server takes the state of the server it tracks (`via`: its name): up or
/// down, NOLB, and its maintenance or drain as inherited (haproxy's propagation).
fn follow(ctx: &CheckCtx, me: &Arc<ServerState>, target: &ServerState, via: &str) {
    let shared = &ctx.shared;
    let before = me.admin();
    if me.set_inherited(target.admin()) {
        let what = format!(
            "server {}/{} set to {} via {via} (was {})",
            shared.name,
            me.name(),
            me.admin().name(),
            before.name()
        );
        admin_effects(&ctx.hub, &ctx.metrics, shared, me, before, &what);
    }
    let was_stopping = me.stopping();
    let moved = me.set_up(target.is_up());
    me.set_stopping(target.stopping() && me.is_up());
    if moved {
        announce(
            &ctx.hub,
            &ctx.metrics,
            shared,
            me,
            true,
            &format!("via {via}"),
        );
    } else if was_stopping != me.stopping() {
        let word = if me.stopping() { "NOLB" } else { "UP" };
        tracing::info!(listener = %shared.name, server = %me.name(), "server {}/{} is {word} (via {via})", shared.name, me.name());
        publish(&ctx.hub, shared, BackendCause::Weight);
    }
}

/// Follows `target`'s state for `me` until aborted (a reload that changes the track) or
/// `target` goes away.
fn spawn_track(
    me: Arc<ServerState>,
    target: Arc<ServerState>,
    via: String,
    ctx: CheckCtx,
) -> JoinHandle<()> {
    // Subscribed, then in step now (before the new config serves a connection), then
    // each change: none is missed, and only the task follows from here on.
    let mut changes = target.state_changes();
    changes.borrow_and_update();
    follow(&ctx, &me, &target, &via);
    let target = Arc::downgrade(&target);
    tokio::spawn(async move {
        loop {
            if changes.changed().await.is_err() {
                return;
            }
            let Some(t) = target.upgrade() else {
                return;
            };
            follow(&ctx, &me, &t, &via);
        }
    })
}

/// Sets a server's weight from `text` as haproxy reads it (0..256, or a share of the
/// configured weight; a static map takes only 0 and the configured one): `set weight`,
/// its agent. Logged as done `by`; returns the weight before and after.
fn change_weight(
    hub: &TrackHub,
    shared: &Shared,
    server: &ServerState,
    text: &str,
    by: &str,
) -> Result<(u32, u32), Refusal> {
    let configured = u32::from(server.cfg().weight);
    let weight = server::parse_weight(text, configured).map_err(|h| {
        let tandem = if text.is_empty() {
            "give a weight (0..256, or a percentage of the configured weight such as 50%)"
                .to_string()
        } else {
            format!(
                "`{text}` is not a weight (0..256, or a percentage of the configured weight such as 50%)"
            )
        };
        Refusal::new(h, tandem)
    })?;
    let rt = shared.runtime();
    let static_map = rt.cfg.balance == Balance::StaticRr
        || (rt.cfg.balance == Balance::Source && rt.cfg.source_compat == SourceCompat::Haproxy);
    if static_map && weight != 0 && weight != configured {
        // As haproxy: a static map is built from the configured weights.
        return Err(Refusal::new(
            admin::STATIC_WEIGHT,
            format!(
                "listener `{}` uses a static weight map (balance {}{}): only 0 or the configured weight {configured} can be set; change `weight` in the config and reload",
                shared.name,
                rt.cfg.balance,
                if rt.cfg.balance == Balance::Source {
                    ", source_compat haproxy"
                } else {
                    ""
                }
            ),
        ));
    }
    let before = server.weight();
    server.set_weight(weight);
    if before != weight || by == "the operator" {
        let target = format!("{}/{}", shared.name, server.name());
        tracing::warn!(listener = %shared.name, server = %server.name(), from = before, to = weight, "server {target} weight set to {weight} by {by} (was {before})");
    }
    publish(hub, shared, BackendCause::Weight);
    Ok((before, weight))
}

/// Descriptors the balancer needs for `cfg`: two per proxied connection (client and
/// server sockets), plus pipes for the ones moving data and some for the rest of the
/// daemon.
pub fn fds_needed(cfg: &BalancerConfig) -> u64 {
    let per_listener: u64 = cfg.listeners.iter().map(|l| u64::from(l.maxconn)).sum();
    let conns = cfg
        .maxconn
        .map_or(per_listener, |g| u64::from(g).min(per_listener));
    conns * 2 + 256
}

/// haproxy raises its open-file limit to what `maxconn` needs and refuses to start when
/// it cannot; tandem raises the soft limit up to the hard one and says so when that is
/// still short, since connections past it would fail to be accepted (EMFILE, counted in
/// `tandem_balancer_accept_errors_total`).
pub fn ensure_fd_limit(cfg: &BalancerConfig) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let need = fds_needed(cfg);
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    if soft >= need {
        return;
    }
    let want = need.min(hard);
    if want > soft && setrlimit(Resource::RLIMIT_NOFILE, want, hard).is_ok() {
        tracing::info!(
            from = soft,
            to = want,
            "open-file limit raised from {soft} to {want} for the balancer's maxconn"
        );
    }
    if want < need {
        let fits = hard.saturating_sub(256) / 2;
        tracing::warn!(
            needed = need,
            limit = hard,
            "balancer: the configured maxconn needs about {need} open files, but the limit is {hard} (LimitNOFILE / ulimit -Hn): past about {fits} connections new ones fail with EMFILE; raise the limit or lower maxconn"
        );
    }
}

/// The check a server of `cfg` runs: the listener's, with the server's own timing over
/// it (`None`: the listener has no check, or the server says `check: false`).
pub fn server_check(cfg: &Listener, s: &ServerState) -> Option<Check> {
    let c = cfg.check.as_ref()?;
    // A tracking server has no check of its own (haproxy).
    s.with_cfg(|sc| (sc.check && sc.track.is_none()).then(|| sc.check_tuning.apply(c)))
}

/// Active and backup servers that take new connections now (up, not in maintenance,
/// weight above 0: haproxy's `srv_act`/`srv_bck`).
fn servers_left(rt: &Runtime) -> (usize, usize) {
    let avail = |backup: bool| {
        rt.servers
            .iter()
            .filter(|s| {
                s.available() && s.effective_weight() > 0 && s.with_cfg(|c| c.backup) == backup
            })
            .count()
    };
    (avail(false), avail(true))
}

/// haproxy's `proxy 'mysql' has no server available!` alert, when the last server went.
fn alert_if_no_server(listener: &str, left: usize) {
    if left == 0 {
        tracing::error!(listener = %listener, "listener {listener} has no server available!");
    }
}

/// `on_marked_up: shutdown_backup_sessions`: an active server that takes new connections
/// again (its check brought it up, or it left maintenance while up) closes the sessions
/// of every backup server, so that all clients move back to the active servers (haproxy's
/// `on-marked-up shutdown-backup-sessions`, termination state `UD`).
fn shut_backup_sessions(shared: &Shared, up: &ServerState) {
    let rt = shared.runtime();
    if rt.cfg.on_marked_up != OnMarkedUp::ShutdownBackupSessions
        || up.with_cfg(|c| c.backup)
        || !up.available()
        || up.effective_weight() == 0
    {
        return;
    }
    let mut closed = 0u32;
    for s in rt.servers.iter().filter(|s| s.with_cfg(|c| c.backup)) {
        let n = s.active.load(Ordering::Relaxed);
        if n > 0 {
            s.kill_sessions(KillCause::BackupLeft);
            closed += n;
        }
    }
    if closed > 0 {
        let l = &shared.name;
        tracing::warn!(listener = %l, server = %up.name(), sessions = closed, "listener {l}: active server {l}/{} is up: closing {closed} sessions of backup servers (on_marked_up: shutdown_backup_sessions)", up.name());
    }
}

/// haproxy's `[%t]`: `22/Nov/2026:16:00:00.123` (UTC).
pub(crate) fn haproxy_date(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = crate::civil::from_days(days);
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
/// `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq` (the queue is
/// the listener's, so `%sq` is always 0).
fn format_line(l: &LogLine) -> String {
    let t = haproxy_date(l.accepted);
    let rc = if l.redispatched {
        format!("+{}", l.retries)
    } else {
        l.retries.to_string()
    };
    format!(
        "{} [{}] {} {}/{} {}/{}/{} {} {} {}/{}/{}/{}/{} 0/{}",
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
        l.backend_conns,
        l.server_conns,
        rc,
        l.queue_ahead
    )
}

/// The connection logger: its own thread, so a log sink that stalls (a blocked stderr
/// pipe, a busy journal) stalls only this thread; the queue in front of it fills and
/// further lines are dropped and counted, and the relay never waits.
fn spawn_logger(mut rx: mpsc::Receiver<LogLine>) {
    let spawned = std::thread::Builder::new()
        .name("tandem-connlog".into())
        .spawn(move || {
            while let Some(l) = rx.blocking_recv() {
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
    if let Err(e) = spawned {
        tracing::error!(
            "balancer: cannot start the connection logger thread: {e}; connection log lines will be dropped and counted"
        );
    }
}

impl Balancer {
    /// Binds the listening sockets `cfg` needs that `current` does not already hold. An
    /// address that cannot be bound is an error, and nothing has changed yet.
    pub fn prepare(
        current: Option<&Balancer>,
        cfg: &BalancerConfig,
    ) -> Result<Prepared, BindError> {
        let held: Vec<(String, SocketAddr)> = current
            .and_then(|b| {
                b.live
                    .lock()
                    .ok()
                    .map(|v| v.iter().map(|l| (l.shared.name.clone(), l.bind)).collect())
            })
            .unwrap_or_default();
        let mut p = Prepared::default();
        for l in &cfg.listeners {
            if held.iter().any(|(_, b)| *b == l.bind) || p.sockets.contains_key(&l.bind) {
                continue;
            }
            match listener::bind(l.bind, l.backlog) {
                Ok(s) => {
                    p.sockets.insert(l.bind, Arc::new(s));
                }
                Err(e) => {
                    // The usual cause on a reload: a running listener holds the port on
                    // an overlapping address (0.0.0.0:3306 and now VIP:3306).
                    let holder = held.iter().find(|(_, b)| {
                        b.port() == l.bind.port()
                            && b.is_ipv4() == l.bind.is_ipv4()
                            && (b.ip().is_unspecified() || l.bind.ip().is_unspecified())
                    });
                    let source = match holder {
                        Some((name, b)) if e.kind() == std::io::ErrorKind::AddrInUse => {
                            std::io::Error::new(
                                e.kind(),
                                format!(
                                    "{e}: the running listener `{name}` holds {b}; a listener cannot move between a wildcard and a specific address on the same port by reload (restart tandem instead)"
                                ),
                            )
                        }
                        _ => e,
                    };
                    return Err(BindError {
                        name: l.name.clone(),
                        bind: l.bind,
                        source,
                    });
                }
            }
        }
        Ok(p)
    }

    /// Binds every listener (an address that cannot be bound is an error, and then
    /// nothing runs) and starts the health checks. `prepared`: sockets bound already.
    pub fn start(
        cfg: &BalancerConfig,
        metrics: BalancerMetrics,
        hub: TrackHub,
        prepared: Option<Prepared>,
    ) -> Result<Balancer, BindError> {
        let mut prepared = match prepared {
            Some(p) => p,
            None => Balancer::prepare(None, cfg)?,
        };
        let (log_tx, log_rx) = mpsc::channel::<LogLine>(LOG_QUEUE);
        spawn_logger(log_rx);
        let actconn = Arc::new(AtomicU32::new(0));
        let b = Balancer {
            metrics,
            hub,
            live: Arc::new(Mutex::new(Vec::new())),
            global: Limit::new(cfg.maxconn),
            log_tx,
            actconn,
            rates: Arc::new(rate::GlobalRates::default()),
            started: Instant::now(),
            cpu_sample: Arc::new(Mutex::new((Instant::now(), info::process_cpu()))),
            sessions: Arc::new(sessions::Sessions::default()),
            global_cfg: Arc::new(Mutex::new(cfg.maxconn)),
        };
        b.rates.configure(cfg.maxconnrate, cfg.maxsessrate);
        let mut started = Vec::new();
        for l in &cfg.listeners {
            let socket = match prepared.sockets.remove(&l.bind) {
                Some(s) => s,
                None => {
                    Arc::new(
                        listener::bind(l.bind, l.backlog).map_err(|source| BindError {
                            name: l.name.clone(),
                            bind: l.bind,
                            source,
                        })?,
                    )
                }
            };
            started.push(b.start_listener(l.clone(), socket, HashMap::new(), None));
        }
        b.resolve_tracks(&mut started);
        if let Ok(mut v) = b.live.lock() {
            *v = started;
        }
        b.log_started();
        Ok(b)
    }

    fn log_started(&self) {
        if let Ok(v) = self.live.lock() {
            for l in v.iter() {
                let rt = l.shared.runtime();
                tracing::info!(listener = %l.shared.name, bind = %l.bind, "listener {} on {} ({} servers, balance {}, maxconn {})", l.shared.name, l.bind, rt.servers.len(), rt.cfg.balance, rt.cfg.maxconn);
            }
        }
    }

    /// The servers of `cfg`: the ones in `reuse` with the same name and address are kept
    /// (updated in place), the others are new.
    fn servers_for(
        &self,
        listener: &str,
        cfg: &Listener,
        reuse: &mut HashMap<String, Arc<ServerState>>,
    ) -> Vec<Arc<ServerState>> {
        let servers: Vec<Arc<ServerState>> = cfg
            .servers
            .iter()
            .map(|s| match reuse.remove(&s.name) {
                // The configured address decides: an operator's `set server addr`
                // stays until the reload changes the configured one.
                Some(old) if old.cfg().address == s.address => {
                    old.update_cfg(s.clone());
                    old
                }
                _ => Arc::new(ServerState::new(s.clone())),
            })
            .collect();
        for s in &servers {
            s.set_metrics(self.metrics.server(listener, s.name()));
        }
        servers
    }

    fn start_listener(
        &self,
        cfg: Listener,
        socket: Arc<listener::ListenSocket>,
        mut reuse: HashMap<String, Arc<ServerState>>,
        slots: Option<Arc<Limit>>,
    ) -> Live {
        let servers = self.servers_for(&cfg.name, &cfg, &mut reuse);
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
            queued: AtomicU32::new(0),
            max_queued: AtomicU32::new(0),
            stick: Mutex::new(listener::StickState::for_config(cfg.stick)),
            times: Mutex::new(server::TimeStats::default()),
            conn_rate: rate::FreqCtr::default(),
            sess_rate: rate::FreqCtr::default(),
            global_rates: self.rates.clone(),
            backend: Mutex::new(listener::BackendState::new(
                servers
                    .iter()
                    .any(|s| s.available() && s.effective_weight() > 0),
                listener::unix_now(),
            )),
            no_server: AtomicU64::new(0),
            sessions: self.sessions.clone(),
            maxconn: AtomicU32::new(cfg.maxconn),
            paused: std::sync::atomic::AtomicBool::new(false),
            stopped: std::sync::atomic::AtomicBool::new(false),
        });
        let slots = match slots {
            Some(l) => {
                l.set(Some(cfg.maxconn));
                l
            }
            None => Limit::new(Some(cfg.maxconn)),
        };
        let (stop, stop_rx) = watch::channel(false);
        let accept = listener::spawn_accept(
            socket.clone(),
            shared.clone(),
            slots.clone(),
            self.global.clone(),
            stop_rx,
        );
        let ctx = CheckCtx {
            shared: shared.clone(),
            hub: self.hub.clone(),
            metrics: self.metrics.clone(),
        };
        let mut checks = HashMap::new();
        for (pos, s) in servers.iter().enumerate() {
            if let Some(c) = server_check(&cfg, s) {
                let first = first_check_in(c.inter.get(), pos, servers.len());
                checks.insert(
                    s.name().to_string(),
                    (c.clone(), spawn_check(c, s.clone(), ctx.clone(), first)),
                );
            }
        }
        let agents = sync_agents(&cfg, &servers, HashMap::new(), &HashMap::new(), &ctx);
        for s in &servers {
            if (cfg.check.is_none() || !s.cfg().check) && s.cfg().track.is_none() {
                // Unchecked servers count as up (a tracking one follows its server).
                s.set_up(true);
            }
            self.metrics
                .server_up
                .with_label_values(&[&cfg.name, s.name()])
                .set(i64::from(s.is_up()));
        }
        publish(&self.hub, &shared, BackendCause::ServerUp);
        Live {
            bind: cfg.bind,
            shared,
            socket,
            slots,
            stop,
            accept,
            checks,
            agents,
            tracks: HashMap::new(),
        }
    }

    /// Applies a reloaded config. Listening sockets on unchanged addresses are kept, so no
    /// connection is refused; a server that keeps its name and address is the same server
    /// (health, drain/maint, counters, sessions and its health check carry over; a
    /// changed weight, maxconn, backup or send_proxy applies to it in place). New
    /// addresses come bound in `prepared` (see [`Balancer::prepare`]); one that is not
    /// and cannot be bound is an error, and then nothing has changed.
    pub async fn apply(
        &mut self,
        cfg: &BalancerConfig,
        prepared: Option<Prepared>,
    ) -> Result<(), BindError> {
        let mut prepared = match prepared {
            Some(p) => p,
            None => Balancer::prepare(Some(self), cfg)?,
        };
        // A `set maxconn global` stays unless the configured global maxconn changed.
        if let Ok(mut g) = self.global_cfg.lock()
            && *g != cfg.maxconn
        {
            *g = cfg.maxconn;
            self.global.set(cfg.maxconn);
        }
        // Likewise a `set rate-limit ... global`.
        self.rates.configure(cfg.maxconnrate, cfg.maxsessrate);
        let live = self.live.clone();
        // Held for the whole switch (no await inside): admin commands and status wait a
        // moment instead of seeing no listeners.
        let Ok(mut guard) = live.lock() else {
            return Ok(());
        };
        let mut old_by_bind: HashMap<SocketAddr, Live> = std::mem::take(&mut *guard)
            .into_iter()
            .map(|l| (l.bind, l))
            .collect();
        let mut next = Vec::new();
        // Listener names that lost their listener, with their servers' names.
        let mut gone: Vec<(String, Vec<String>)> = Vec::new();
        // The running servers by listener name, each set taken by one new listener at
        // most: the one on the same address, or the renamed one, or the same name on a
        // new address (a moved listener keeps its servers' health, admin state, weights
        // and counters).
        let mut pool: HashMap<String, HashMap<String, Arc<ServerState>>> = old_by_bind
            .values()
            .map(|l| (l.shared.name.clone(), servers_by_name(&l.shared)))
            .collect();
        for l in &cfg.listeners {
            // A listener stopped by `disable frontend` stays stopped (and takes the new
            // backlog when enabled), unless it is renamed: a new listener starts.
            if let Some(live) = old_by_bind.get(&l.bind)
                && (!live.shared.paused.load(Ordering::Relaxed) || live.shared.name != l.name)
                && let Err(e) = listener::set_backlog(&live.socket, l.backlog)
            {
                tracing::warn!(listener = %l.name, "listener {}: the new backlog is not applied: {e}", l.name);
            }
            match old_by_bind.remove(&l.bind) {
                Some(mut live) if live.shared.name == l.name => {
                    pool.remove(&l.name);
                    self.update_listener(&mut live, l.clone());
                    // `shutdown frontend` lasts until a reload, as in haproxy (whose
                    // reload is a new process).
                    if live.shared.stopped.load(Ordering::Relaxed) {
                        match resume_listening(&mut live, &self.global) {
                            Ok(()) => {
                                tracing::info!(listener = %l.name, "listener {} (shut down) listening on {} again after the reload", l.name, l.bind)
                            }
                            Err(e) => {
                                tracing::warn!(listener = %l.name, "listener {}: cannot listen on {} again: {e}", l.name, l.bind)
                            }
                        }
                    }
                    next.push(live);
                }
                Some(live) => {
                    // Renamed: new name, same socket, same slots (its sessions hold them).
                    tracing::info!(listener = %l.name, "listener {} renamed {} on {}", live.shared.name, l.name, l.bind);
                    let socket = live.socket.clone();
                    let slots = live.slots.clone();
                    let reuse = pool.remove(&live.shared.name).unwrap_or_default();
                    gone.push((
                        live.shared.name.clone(),
                        reuse.keys().cloned().collect::<Vec<_>>(),
                    ));
                    drop(live);
                    next.push(self.start_listener(l.clone(), socket, reuse, Some(slots)));
                }
                None => {
                    let socket = match prepared.sockets.remove(&l.bind) {
                        Some(s) => s,
                        None => match listener::bind(l.bind, l.backlog) {
                            Ok(s) => Arc::new(s),
                            Err(source) => {
                                // Put everything back as it was.
                                next.extend(old_by_bind.into_values());
                                self.resolve_tracks(&mut next);
                                *guard = next;
                                return Err(BindError {
                                    name: l.name.clone(),
                                    bind: l.bind,
                                    source,
                                });
                            }
                        },
                    };
                    tracing::info!(listener = %l.name, bind = %l.bind, "listener {} added on {}", l.name, l.bind);
                    let reuse = pool.remove(&l.name).unwrap_or_default();
                    next.push(self.start_listener(l.clone(), socket, reuse, None));
                }
            }
        }
        for (_, live) in old_by_bind {
            tracing::info!(listener = %live.shared.name, "listener {} removed: no new connections on {}", live.shared.name, live.bind);
            let names = servers_by_name(&live.shared);
            gone.push((live.shared.name.clone(), names.into_keys().collect()));
        }
        // The series and track signal of a listener name that is gone. A name still in
        // use (a listener moved to another address, or a rename onto an old name) keeps
        // what its new listener published, and so do the servers it still has.
        for (name, servers) in gone {
            let now = next.iter().find(|l| l.shared.name == name).map(|l| {
                l.shared
                    .runtime()
                    .servers
                    .iter()
                    .map(|s| s.name().to_string())
                    .collect::<Vec<_>>()
            });
            let stale: Vec<String> = servers
                .into_iter()
                .filter(|s| now.as_ref().is_none_or(|n| !n.contains(s)))
                .collect();
            self.forget_series(&name, stale.iter());
            if now.is_none() {
                self.hub.remove(&listener_key(&name));
            }
        }
        self.resolve_tracks(&mut next);
        *guard = next;
        Ok(())
    }

    /// Starts, keeps or stops the servers' tracking (`track`) once every listener has
    /// its servers: a tracking server follows the tracked one's state from now on.
    fn resolve_tracks(&self, lives: &mut [Live]) {
        let index: HashMap<(String, String), Arc<ServerState>> = lives
            .iter()
            .flat_map(|l| {
                let name = l.shared.name.clone();
                l.shared
                    .runtime()
                    .servers
                    .iter()
                    .map(|s| ((name.clone(), s.name().to_string()), s.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        for live in lives.iter_mut() {
            let rt = live.shared.runtime();
            let ctx = CheckCtx {
                shared: live.shared.clone(),
                hub: self.hub.clone(),
                metrics: self.metrics.clone(),
            };
            let mut old = std::mem::take(&mut live.tracks);
            let mut next = HashMap::new();
            for s in &rt.servers {
                let want = s.with_cfg(|c| c.tracks(&live.shared.name));
                let target = want.as_ref().and_then(|(l, n)| {
                    index
                        .get(&(l.clone(), n.clone()))
                        .map(|t| (format!("{l}/{n}"), t.clone()))
                });
                let me = Arc::as_ptr(s) as usize;
                let named = s.tracked().map(|(n, _)| n);
                match (old.remove(s.name()), target) {
                    (Some((m, t, h)), Some((via, target)))
                        if m == me
                            && t == Arc::as_ptr(&target) as usize
                            && named.as_deref() == Some(via.as_str())
                            && !h.is_finished() =>
                    {
                        // Unchanged: its task goes on following.
                        next.insert(s.name().to_string(), (m, t, h));
                    }
                    (prev, Some((via, target))) => {
                        if let Some((_, _, h)) = prev {
                            h.abort();
                        }
                        s.set_tracked(Some((via.clone(), &target)));
                        let t = Arc::as_ptr(&target) as usize;
                        let h = spawn_track(s.clone(), target, via, ctx.clone());
                        next.insert(s.name().to_string(), (me, t, h));
                    }
                    (prev, None) => {
                        if let Some((_, _, h)) = prev {
                            h.abort();
                        }
                        if s.tracked().is_some() || s.inherited_admin() != Admin::Ready {
                            // No longer tracking: its own state only.
                            s.set_tracked(None);
                            let before = s.admin();
                            if s.set_inherited(Admin::Ready) {
                                let what = format!(
                                    "server {}/{} no longer tracks another: {} (was {})",
                                    live.shared.name,
                                    s.name(),
                                    s.admin().name(),
                                    before.name()
                                );
                                admin_effects(
                                    &ctx.hub,
                                    &ctx.metrics,
                                    &ctx.shared,
                                    s,
                                    before,
                                    &what,
                                );
                            }
                            if server_check(&rt.cfg, s).is_none() {
                                let moved = s.set_up(true);
                                announce(
                                    &ctx.hub,
                                    &ctx.metrics,
                                    &ctx.shared,
                                    s,
                                    moved,
                                    "no longer tracks another",
                                );
                            }
                        }
                    }
                }
            }
            for (_, (_, _, h)) in old {
                h.abort();
            }
            live.tracks = next;
        }
    }

    /// Removes the per-server series of servers that are gone from `listener`.
    fn forget_series<'a>(&self, listener: &str, servers: impl Iterator<Item = &'a String>) {
        for s in servers {
            let _ = self.metrics.server_up.remove_label_values(&[listener, s]);
            let _ = self
                .metrics
                .server_active
                .remove_label_values(&[listener, s]);
        }
    }

    fn update_listener(&self, live: &mut Live, cfg: Listener) {
        let mut reuse = servers_by_name(&live.shared);
        let before = reuse.clone();
        let servers = self.servers_for(&cfg.name, &cfg, &mut reuse);
        // A `set maxconn frontend` stays unless the configured maxconn changed.
        if live.shared.runtime().cfg.maxconn != cfg.maxconn {
            live.shared.maxconn.store(cfg.maxconn, Ordering::Relaxed);
        }
        live.slots.set(Some(live.shared.maxconn()));
        // Checks: keep the unchanged ones, restart changed ones, stop removed ones.
        let ctx = CheckCtx {
            shared: live.shared.clone(),
            hub: self.hub.clone(),
            metrics: self.metrics.clone(),
        };
        let mut checks = std::mem::take(&mut live.checks);
        let mut next_checks = HashMap::new();
        for (pos, s) in servers.iter().enumerate() {
            let want = server_check(&cfg, s);
            // A running check belongs to the server object it was started for: a server
            // whose address changed is a new one, and its old check must not go on.
            let same = before.get(s.name()).is_some_and(|o| Arc::ptr_eq(o, s));
            match (checks.remove(s.name()), want) {
                (Some((c, h)), Some(w)) if same && c == w && !h.is_finished() => {
                    next_checks.insert(s.name().to_string(), (c, h));
                }
                (old, Some(w)) => {
                    if let Some((c, h)) = old {
                        h.abort();
                        // Other check settings: `check-addr`/`check-port` no longer hold.
                        if c != w && s.clear_check_target() {
                            tracing::info!(listener = %cfg.name, server = %s.name(), "server {}/{}: its check changed by the reload; the check-addr/check-port set at run time are dropped", cfg.name, s.name());
                        }
                    }
                    let first = first_check_in(w.inter.get(), pos, servers.len());
                    let h = spawn_check(w.clone(), s.clone(), ctx.clone(), first);
                    next_checks.insert(s.name().to_string(), (w, h));
                }
                // A server that tracks (or tracked until now) is left to
                // `resolve_tracks`, which follows, or logs it coming up on its own.
                (Some((_, h)), None) => {
                    h.abort();
                    if s.cfg().track.is_none() && s.tracked().is_none() {
                        // Unchecked servers count as up.
                        s.set_up(true);
                        s.set_stopping(false);
                    }
                }
                (None, None) if s.cfg().track.is_none() && s.tracked().is_none() => {
                    s.set_up(true);
                    s.set_stopping(false);
                }
                (None, None) => {}
            }
            self.metrics
                .server_up
                .with_label_values(&[&cfg.name, s.name()])
                .set(i64::from(s.is_up()));
        }
        for (_, (_, h)) in checks {
            h.abort();
        }
        live.checks = next_checks;
        self.forget_series(&live.shared.name, reuse.keys());
        live.shared.reconfigure_stick(cfg.stick, &servers);
        if let Ok(mut rt) = live.shared.runtime.write() {
            *rt = Arc::new(Runtime::new(cfg.clone(), servers.clone()));
        }
        // After the swap: what an agent's change logs and does follows the new config.
        let agents = std::mem::take(&mut live.agents);
        live.agents = sync_agents(&cfg, &servers, agents, &before, &ctx);
        for s in &servers {
            self.metrics
                .server_up
                .with_label_values(&[&cfg.name, s.name()])
                .set(i64::from(s.is_up()));
        }
        publish(&self.hub, &live.shared, BackendCause::ServerUp);
    }

    /// Stops accepting; established sessions end with the process.
    pub fn stop(self) {
        if let Ok(mut v) = self.live.lock() {
            for l in v.drain(..) {
                self.hub.remove(&listener_key(&l.shared.name));
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
            actconn: self.actconn.clone(),
            rates: self.rates.clone(),
            global: self.global.clone(),
            started: self.started,
            metrics: self.metrics.clone(),
            cpu_sample: self.cpu_sample.clone(),
            sessions: self.sessions.clone(),
            global_cfg: self.global_cfg.clone(),
        }
    }
}

/// Stops a listener's accept loop and its listening (connections are refused; the
/// socket stays open, so the port stays ours). On failure it accepts again.
fn pause_listening(live: &mut Live, global: &Arc<Limit>) -> std::io::Result<()> {
    // The accept loop stops first: a socket that no longer listens would make it fail
    // on every wakeup.
    let (stop, stop_rx) = watch::channel(false);
    let _ = std::mem::replace(&mut live.stop, stop).send(true);
    live.accept.abort();
    if let Err(e) = listener::pause(&live.socket) {
        live.accept = listener::spawn_accept(
            live.socket.clone(),
            live.shared.clone(),
            live.slots.clone(),
            global.clone(),
            stop_rx,
        );
        return Err(e);
    }
    live.shared.paused.store(true, Ordering::Relaxed);
    Ok(())
}

/// haproxy's answer when a listener cannot stop listening, and tandem's reason.
fn pause_refused(name: &str, bind: SocketAddr, e: &std::io::Error) -> Refusal {
    Refusal::new(
        "Failed to pause frontend, check logs for precise cause.\n",
        format!("listener {name}: cannot stop listening on {bind}: {e}"),
    )
}

/// Listens again on a paused listener's socket (with its configured backlog) and starts
/// its accept loop.
fn resume_listening(live: &mut Live, global: &Arc<Limit>) -> std::io::Result<()> {
    listener::set_backlog(&live.socket, live.shared.runtime().cfg.backlog)?;
    let (stop, stop_rx) = watch::channel(false);
    let accept = listener::spawn_accept(
        live.socket.clone(),
        live.shared.clone(),
        live.slots.clone(),
        global.clone(),
        stop_rx,
    );
    let _ = std::mem::replace(&mut live.stop, stop).send(true);
    std::mem::replace(&mut live.accept, accept).abort();
    live.shared.paused.store(false, Ordering::Relaxed);
    live.shared.stopped.store(false, Ordering::Relaxed);
    Ok(())
}

/// Operator actions on a running balancer.
#[derive(Clone)]
pub struct BalancerAdmin {
    live: Arc<Mutex<Vec<Live>>>,
    hub: TrackHub,
    actconn: Arc<AtomicU32>,
    rates: Arc<rate::GlobalRates>,
    global: Arc<Limit>,
    started: Instant,
    metrics: BalancerMetrics,
    /// The last `show info`'s (time, process CPU time), for `Idle_pct`.
    cpu_sample: Arc<Mutex<(Instant, Duration)>>,
    sessions: Arc<sessions::Sessions>,
    global_cfg: Arc<Mutex<Option<u32>>>,
}

/// What `show info` takes from the admin socket.
#[derive(Debug, Clone, Default)]
pub struct InfoCtx {
    /// haproxy's `node`: the config's `node`.
    pub node: String,
    /// Admin socket connections open now (haproxy counts its CLI's in `Jobs`).
    pub admin_connections: u32,
}

impl BalancerAdmin {
    /// The server a `<listener>/<server>` names; refused with haproxy's `cli_find_server`
    /// texts.
    fn find(&self, target: &str) -> Result<(Arc<Shared>, Arc<ServerState>), Refusal> {
        let (l, s) = target.split_once('/').ok_or_else(|| {
            Refusal::new(
                admin::REQUIRE_TARGET,
                format!("`{target}`: give <listener>/<server>"),
            )
        })?;
        let v = self.live.lock().map_err(|_| Refusal::internal())?;
        let live = v
            .iter()
            .find(|x| x.shared.name == l)
            .ok_or_else(|| Refusal::new(admin::NO_BACKEND, format!("no listener `{l}`")))?;
        let rt = live.shared.runtime();
        let server = rt
            .servers
            .iter()
            .find(|x| x.name() == s)
            .cloned()
            .ok_or_else(|| {
                Refusal::new(
                    admin::NO_SERVER,
                    format!("no server `{s}` in listener `{l}`"),
                )
            })?;
        Ok((live.shared.clone(), server))
    }

    /// The listeners in `iid` order.
    fn listeners(&self) -> Vec<Arc<Shared>> {
        self.live
            .lock()
            .map(|v| v.iter().map(|l| l.shared.clone()).collect())
            .unwrap_or_default()
    }

    /// The index of the listener a `show servers ... <backend>` names.
    fn listener_index(&self, name: &str) -> Result<usize, Refusal> {
        self.listeners()
            .iter()
            .position(|l| l.name == name)
            .ok_or_else(|| Refusal::new(admin::NO_BACKEND_FOUND, format!("no listener `{name}`")))
    }

    /// haproxy `show backend`: `# name`, then each listener (a `listen` section is a
    /// backend).
    pub fn show_backend(&self) -> String {
        let mut out = String::from("# name\n");
        for l in self.listeners() {
            out.push_str(&l.name);
            out.push('\n');
        }
        out
    }

    /// haproxy `clear counters [all]`: the maxima of every listener and server and of
    /// `show info` (MaxConnRate, MaxSessRate); with `all`, every `show stat` counter
    /// (the process totals of `show info` stay, as in haproxy).
    pub fn clear_counters(&self, all: bool) -> String {
        let listeners = self.listeners();
        for l in &listeners {
            l.clear_counters(all);
        }
        self.rates.conn.clear_max();
        self.rates.sess.clear_max();
        let what = if all { "all counters" } else { "the maxima" };
        tracing::warn!("balancer: {what} cleared by the operator");
        format!("{what} cleared on {} listeners", listeners.len())
    }

    /// haproxy `disable health L/S` / `enable health L/S`: stops or resumes the server's
    /// health check; while stopped the server keeps the state it had.
    pub fn set_health_check(&self, target: &str, enabled: bool) -> Result<String, Refusal> {
        let (shared, server) = self.find(target)?;
        let configured = server_check(&shared.runtime().cfg, &server).is_some();
        if enabled && !configured {
            return Err(Refusal::new(
                "Health check was not configured on this server, cannot enable.\n",
                format!("{target} has no health check configured"),
            ));
        }
        let before = server.check_enabled.swap(enabled, Ordering::Relaxed);
        server.admin_changed.notify_waiters();
        let word = if enabled { "enabled" } else { "disabled" };
        if before != enabled {
            tracing::warn!(listener = %shared.name, server = %server.name(), "server {target}: health check {word} by the operator");
        }
        Ok(format!("{target}: health check {word}"))
    }

    /// haproxy `shutdown sessions server L/S`: closes the server's sessions now (logged
    /// `KD`).
    pub fn shutdown_sessions(&self, target: &str) -> Result<String, Refusal> {
        let (shared, server) = self.find(target)?;
        let n = server.active.load(Ordering::Relaxed);
        server.kill_sessions(KillCause::Operator);
        tracing::warn!(listener = %shared.name, server = %server.name(), sessions = n, "server {target}: {n} sessions closed by the operator");
        Ok(format!("{target}: {n} sessions closed"))
    }

    /// haproxy `show sess [<id>|all]`: one line per session, or the detail of one (or
    /// of all). A handle that does not read lists them all, as in haproxy.
    pub fn show_sess(&self, arg: Option<&str>) -> String {
        let now = Instant::now();
        let listeners = self.listeners();
        let ids = sessions::Ids {
            listeners: &listeners,
        };
        match arg {
            Some("all") => self
                .sessions
                .all()
                .iter()
                .map(|s| sessions::detail(s, &ids, now))
                .collect(),
            Some(a) if sessions::parse_handle(a).is_some() => {
                match sessions::parse_handle(a).and_then(|id| self.sessions.get(id)) {
                    Some(s) => sessions::detail(&s, &ids, now),
                    None => "Session not found.\n".to_string(),
                }
            }
            _ => self
                .sessions
                .all()
                .iter()
                .map(|s| sessions::line(s, now))
                .collect(),
        }
    }

    /// haproxy `shutdown session <id>`: closes that session now (logged `KD`, or `KQ`
    /// / `KC` while it waits for a server slot or connects).
    pub fn shutdown_session(&self, arg: &str) -> Result<String, Refusal> {
        let id = sessions::parse_handle(arg).ok_or_else(|| {
            Refusal::new(
                "Session pointer expected (use 'show sess').\n",
                format!("`{arg}` is not a session id: give one that `show sess` lists (0x...)"),
            )
        })?;
        let s = self.sessions.get(id).ok_or_else(|| {
            Refusal::new(
                "No such session (use 'show sess').\n",
                format!("no session {id:#x} (it may have ended); `show sess` lists them"),
            )
        })?;
        s.kill.notify_one();
        let server = s
            .server()
            .map_or_else(|| "<none>".to_string(), |v| v.name().to_string());
        tracing::warn!(listener = %s.listener.name, server = %server, session = %s.handle(), "session {} (listener {}, server {server}, client {}) closed by the operator", s.handle(), s.listener.name, s.src);
        Ok(format!(
            "session {} (listener {}, server {server}, client {}) closed",
            s.handle(),
            s.listener.name,
            s.src
        ))
    }

    /// haproxy `set maxconn frontend <listener> <n>`: the listener's `maxconn` until the
    /// next reload (0: no new connections; they wait in the kernel's backlog).
    pub fn set_maxconn_frontend(&self, name: &str, value: &str) -> Result<String, Refusal> {
        if name.is_empty() {
            return Err(Refusal::new(
                "A frontend name is expected.\n",
                "give the listener: set maxconn frontend <listener> <n>",
            ));
        }
        let v = self.live.lock().map_err(|_| Refusal::internal())?;
        let live = v
            .iter()
            .find(|l| l.shared.name == name)
            .ok_or_else(|| Refusal::new("No such frontend.\n", format!("no listener `{name}`")))?;
        let n = parse_count(value, "Integer value expected.\n")?;
        let before = live.shared.maxconn.swap(n, Ordering::Relaxed);
        live.slots.set(Some(n));
        tracing::warn!(listener = %name, from = before, to = n, "listener {name}: maxconn set to {n} by the operator (was {before})");
        Ok(format!("{name}: maxconn {n} (was {before})"))
    }

    /// haproxy `set maxconn server <listener>/<server> <n>`: the server's `maxconn` until
    /// the next reload (0: no limit); queued clients take the new slots at once.
    pub fn set_maxconn_server(&self, target: &str, value: &str) -> Result<String, Refusal> {
        let (shared, server) = self.find(target)?;
        if value.is_empty() {
            return Err(Refusal::new(
                "Require <maxconn>.\n",
                "give the maxconn: set maxconn server <listener>/<server> <n> (0: no limit)",
            ));
        }
        let n = parse_server_maxconn(value)?;
        let before = server.maxconn();
        server.set_maxconn((n > 0).then_some(n));
        shared.freed.notify_waiters();
        let shown = |m: Option<u32>| m.map_or_else(|| "none".to_string(), |m| m.to_string());
        let (from, to) = (shown(before), shown(server.maxconn()));
        tracing::warn!(listener = %shared.name, server = %server.name(), from = %from, to = %to, "server {target}: maxconn set to {to} by the operator (was {from})");
        Ok(format!("{target}: maxconn {to} (was {from})"))
    }

    /// haproxy `set maxconn global <n>`: the connections across all listeners, until the
    /// next reload; at most the configured global `maxconn` (0 or less: back to it, or
    /// to no global limit when none is configured).
    pub fn set_maxconn_global(&self, value: &str) -> Result<String, Refusal> {
        if value.is_empty() {
            return Err(Refusal::new(
                "Expects an integer value.\n",
                "give the maxconn: set maxconn global <n>",
            ));
        }
        let n: i64 = value.trim().parse().map_err(|_| {
            Refusal::new(
                "Expects an integer value.\n",
                format!("`{value}` is not a number"),
            )
        })?;
        // haproxy's hard maxconn: the configured global one, else what the listeners
        // take together (`show info`'s Hard_maxconn).
        let configured = self
            .global_cfg
            .lock()
            .map_err(|_| Refusal::internal())?
            .to_owned();
        let summed: u64 = self
            .listeners()
            .iter()
            .map(|l| u64::from(l.maxconn()))
            .sum();
        let hard = configured.map_or(summed, u64::from);
        if u64::try_from(n).is_ok_and(|n| n > hard) || n > i64::from(u32::MAX) {
            return Err(Refusal::new(
                "Value out of range.\n",
                match configured {
                    Some(c) => format!(
                        "{n} is above the configured global maxconn {c}: raise `maxconn` in the config and reload"
                    ),
                    None => format!(
                        "{n} is above the listeners' maxconn together ({summed}); raise theirs first"
                    ),
                },
            ));
        }
        // 0 or less: back to the configured one (none: no global limit).
        let new = if n <= 0 {
            configured
        } else {
            u32::try_from(n).ok()
        };
        let before = self.global.cap();
        self.global.set(new);
        let shown = |m: Option<u32>| m.map_or_else(|| "none".to_string(), |m| m.to_string());
        tracing::warn!(from = %shown(before), to = %shown(new), "balancer: global maxconn set to {} by the operator (was {})", shown(new), shown(before));
        Ok(format!(
            "global maxconn {} (was {})",
            shown(new),
            shown(before)
        ))
    }

    /// haproxy `set rate-limit connections|sessions global <n>`: the global
    /// `maxconnrate` / `maxsessrate` in force until a reload changes the configured one
    /// (0: no limit).
    pub fn set_rate_limit(&self, what: &str, value: &str) -> Result<String, Refusal> {
        let (live, key) = match what {
            "connections" => (&self.rates.conn_limit, "maxconnrate"),
            "sessions" => (&self.rates.sess_limit, "maxsessrate"),
            _ => return Err(Refusal::internal()),
        };
        let n: i64 = value.trim().parse().map_err(|_| {
            Refusal::new(
                "Expects an integer value.\n",
                if value.is_empty() {
                    format!("give the rate: set rate-limit {what} global <n>")
                } else {
                    format!("`{value}` is not a number")
                },
            )
        })?;
        let n = u32::try_from(n).map_err(|_| {
            Refusal::new(
                "Value out of range.\n",
                format!("{n}: give 0 (no limit) to {}", u32::MAX),
            )
        })?;
        let before = live.swap(n, Ordering::Relaxed);
        let shown = |v: u32| {
            if v == 0 {
                "none".to_string()
            } else {
                format!("{v}/s")
            }
        };
        tracing::warn!(
            from = before,
            to = n,
            "balancer: global {key} set to {} by the operator (was {})",
            shown(n),
            shown(before)
        );
        Ok(format!("global {key} {} (was {})", shown(n), shown(before)))
    }

    /// haproxy `disable frontend L` / `enable frontend L`: stop listening (connections
    /// are refused; sessions already open go on) or listen again. Survives a reload.
    /// `Ok((false, notice))`: it already was so (haproxy answers with the notice).
    pub fn set_frontend(&self, name: &str, enable: bool) -> Result<(bool, String), Refusal> {
        if name.is_empty() {
            return Err(Refusal::new(
                "A frontend name is expected.\n",
                format!(
                    "give the listener: {} frontend <listener>",
                    if enable { "enable" } else { "disable" }
                ),
            ));
        }
        let mut v = self.live.lock().map_err(|_| Refusal::internal())?;
        let live = v
            .iter_mut()
            .find(|l| l.shared.name == name)
            .ok_or_else(|| Refusal::new("No such frontend.\n", format!("no listener `{name}`")))?;
        if live.shared.stopped.load(Ordering::Relaxed) {
            let verb = if enable { "enable" } else { "disable" };
            return Err(Refusal::new(
                format!("Frontend was previously shut down, cannot {verb}.\n"),
                format!(
                    "listener {name} was shut down (`shutdown frontend`): a reload starts it again"
                ),
            ));
        }
        let paused = live.shared.paused.load(Ordering::Relaxed);
        if paused != enable {
            // Already so: haproxy's notice, as output.
            return Ok((
                false,
                if enable {
                    "All sockets are already enabled.\n".to_string()
                } else {
                    "All sockets are already disabled.\n".to_string()
                },
            ));
        }
        if enable {
            resume_listening(live, &self.global).map_err(|e| {
                Refusal::new(
                    "Failed to resume frontend, check logs for precise cause (port conflict?).\n",
                    format!("listener {name}: cannot listen on {} again: {e}", live.bind),
                )
            })?;
            tracing::warn!(listener = %name, bind = %live.bind, "listener {name}: enabled by the operator, listening on {} again", live.bind);
            Ok((true, format!("{name}: listening on {} again", live.bind)))
        } else {
            pause_listening(live, &self.global).map_err(|e| pause_refused(name, live.bind, &e))?;
            let open = live.shared.active.load(Ordering::Relaxed);
            tracing::warn!(listener = %name, bind = %live.bind, "listener {name}: disabled by the operator: new connections to {} are refused, {open} open sessions go on", live.bind);
            Ok((
                true,
                format!("{name}: disabled: new connections refused, {open} open sessions go on"),
            ))
        }
    }

    /// haproxy `set server L/S addr <ip> [port <port>]`: new connections and checks go
    /// there; open sessions stay. haproxy's replies (`IP changed from ...`).
    pub fn set_server_addr(&self, target: &str, args: &[&str]) -> Result<String, Refusal> {
        const BY: &str = " by 'stats socket command'\n";
        let (shared, server) = self.find(target)?;
        let Some(ip_text) = args.first() else {
            return Err(Refusal::new(
                "set server <b>/<s> addr requires an address and optionally a port.\n",
                format!("give the address: set server {target} addr <ip> [port <port>]"),
            ));
        };
        let Ok(ip) = ip_text.parse::<std::net::IpAddr>() else {
            return Err(Refusal::new(
                format!("Invalid addr '{ip_text}'{BY}"),
                format!("`{ip_text}` is not an IP address"),
            ));
        };
        let before = server.addr();
        let mut parts = Vec::new();
        let mut port = before.port();
        let ip_part = if ip == before.ip() {
            "no need to change the addr".to_string()
        } else {
            format!("IP changed from '{}' to '{ip}'", before.ip())
        };
        parts.push(ip_part);
        let mut port_problem = None;
        if let ["port", p, ..] = &args[1..] {
            match p.parse::<u16>() {
                Ok(n) if n > 0 && !p.starts_with('+') => {
                    if n == before.port() {
                        parts.push("no need to change the port".into());
                    } else {
                        parts.push(format!("port changed from '{}' to '{n}'", before.port()));
                        port = n;
                    }
                }
                _ => {
                    parts.push(format!("problem converting port '{p}' to an int"));
                    port_problem = Some(p.to_string());
                }
            }
        }
        let after = SocketAddr::new(ip, port);
        if after != before {
            server.set_addr(after);
            let open = server.active.load(Ordering::Relaxed);
            tracing::warn!(listener = %shared.name, server = %server.name(), from = %before, to = %after, "server {}/{} address changed from {before} to {after} by the operator; new connections and checks go there, {open} open sessions stay", shared.name, server.name());
            server.admin_changed.notify_one();
        }
        let haproxy = format!("{}{BY}", parts.join(", "));
        match port_problem {
            // haproxy changes the address and reports the port it could not read.
            Some(p) => Err(Refusal::new(
                haproxy,
                format!("port `{p}` is not a port (1-65535); the address is {after}"),
            )),
            None => Ok(haproxy),
        }
    }

    /// haproxy `enable agent L/S` / `disable agent L/S`: resumes or stops the server's
    /// agent check. A stopped agent holds nothing down: the server's state is then its
    /// health check's (haproxy waits for the next passing check).
    pub fn set_agent(&self, target: &str, enabled: bool) -> Result<String, Refusal> {
        let (shared, server) = self.find(target)?;
        let info = server.agent_info();
        if enabled && !info.configured {
            return Err(Refusal::new(
                "Agent was not configured on this server, cannot enable.\n",
                format!("{target} has no agent check configured"),
            ));
        }
        let moved = server.set_agent_mode(info.configured, enabled);
        server.admin_changed.notify_waiters();
        let word = if enabled { "enabled" } else { "disabled" };
        if info.enabled != enabled && info.configured {
            tracing::warn!(listener = %shared.name, server = %server.name(), "server {target}: agent check {word} by the operator");
        }
        let why = format!("agent check {word} by the operator");
        self.after_health_change(&shared, &server, moved, &why);
        Ok(format!("{target}: agent check {word}"))
    }

    /// Logs and publishes a server's state change made by a command (`moved`: it went
    /// up or down).
    fn after_health_change(
        &self,
        shared: &Shared,
        server: &Arc<ServerState>,
        moved: bool,
        why: &str,
    ) {
        announce(&self.hub, &self.metrics, shared, server, moved, why);
    }

    /// haproxy `set server L/S agent up|down`: what the agent would say, now.
    pub fn set_server_agent(&self, target: &str, word: &str) -> Result<String, Refusal> {
        let (shared, server) = self.find(target)?;
        if !server.agent_info().enabled {
            return Err(Refusal::new(
                "agent checks are not enabled on this server.\n",
                format!("{target} has no agent check running"),
            ));
        }
        let up = match word {
            "up" => true,
            "down" => false,
            _ => {
                return Err(Refusal::new(
                    "'set server <srv> agent' expects 'up' or 'down'.\n",
                    format!("unknown agent state `{word}`: up or down"),
                ));
            }
        };
        let moved = server.set_agent_health(up);
        self.after_health_change(&shared, &server, moved, "agent set by the operator");
        // Its health check says down: the server stays down.
        let held = up && !server.is_up() && server.admin() != Admin::Maint;
        if held {
            tracing::warn!(listener = %shared.name, server = %server.name(), "server {target}: agent set to up by the operator, but its health check keeps it DOWN");
        }
        Ok(format!(
            "{target}: agent {word}{}",
            if held {
                " (its health check keeps it DOWN)"
            } else {
                ""
            }
        ))
    }

    /// haproxy `set server L/S health up|stopping|down`: what the health check would
    /// say, now (`stopping`: haproxy's NOLB, up but no new connections from the
    /// balancing, until a check passes). The next checks go on from there.
    pub fn set_server_health(&self, target: &str, word: &str) -> Result<String, Refusal> {
        let (shared, server) = self.find(target)?;
        if let Some((via, _)) = server.tracked() {
            return Err(Refusal::new(
                "cannot change health on a tracking server.\n",
                format!("{target} tracks {via}: change that server's health"),
            ));
        }
        let (up, stopping) = match word {
            "up" => (true, false),
            "stopping" => (true, true),
            "down" => (false, false),
            _ => {
                return Err(Refusal::new(
                    "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n",
                    format!("unknown health `{word}`: up, stopping or down"),
                ));
            }
        };
        if let Some(c) = server_check(&shared.runtime().cfg, &server) {
            server.set_health(Some(Health::settled(up, c.rise, c.fall)));
        }
        let was_stopping = server.stopping();
        let moved = server.set_up(up);
        let now_stopping = stopping && server.is_up();
        server.set_stopping(now_stopping);
        if now_stopping != was_stopping && !moved {
            let target = format!("{}/{}", shared.name, server.name());
            if now_stopping {
                tracing::warn!(listener = %shared.name, server = %server.name(), "server {target} is NOLB (changed by the operator): no new connections from the balancing");
            } else {
                tracing::info!(listener = %shared.name, server = %server.name(), "server {target} is UP (leaving NOLB: changed by the operator)");
            }
        }
        let why = if now_stopping {
            "health set to stopping by the operator: NOLB, no new connections from the balancing"
        } else {
            "health set by the operator"
        };
        self.after_health_change(&shared, &server, moved, why);
        // Its agent says down: the server stays down (haproxy lets it up until the
        // agent's next answer).
        let held = up && !server.is_up();
        if held {
            tracing::warn!(listener = %shared.name, server = %server.name(), "server {target}: health set to {word} by the operator, but its agent keeps it DOWN");
        }
        Ok(format!(
            "{target}: health {word}{}",
            if held {
                " (its agent keeps it DOWN)"
            } else {
                ""
            }
        ))
    }

    /// haproxy `set server L/S agent-addr <ip> [port <port>]`, `agent-port <port>`,
    /// `check-addr <ip> [port <port>]`, `check-port <port>`: where the agent check or the
    /// health check goes from now on (until a restart). `what`: `agent-addr`,
    /// `agent-port`, `check-addr` or `check-port`.
    pub fn set_check_target(
        &self,
        target: &str,
        what: &str,
        args: &[&str],
    ) -> Result<String, Refusal> {
        let (shared, server) = self.find(target)?;
        let agent = what.starts_with("agent");
        let with_addr = what.ends_with("-addr");
        let first = args.first().copied().unwrap_or("");
        if first.is_empty() {
            return Err(Refusal::new(
                if with_addr {
                    format!(
                        "set server <b>/<s> {what} requires an address and optionally a port.\n"
                    )
                } else {
                    format!("set server <b>/<s> {what} requires a port.\n")
                },
                format!(
                    "give the {}: set server {target} {what} {}",
                    if with_addr { "address" } else { "port" },
                    if with_addr {
                        "<ip> [port <port>]"
                    } else {
                        "<port>"
                    }
                ),
            ));
        }
        let enabled = if agent {
            server.agent_info().enabled
        } else {
            server_check(&shared.runtime().cfg, &server).is_some()
                && server.check_enabled.load(Ordering::Relaxed)
        };
        if !enabled {
            let kind = if agent { "agent" } else { "health" };
            return Err(Refusal::new(
                format!("{kind} checks are not enabled on this server"),
                format!("{target} has no {kind} check running"),
            ));
        }
        let (addr_text, port_text) = if with_addr {
            (
                Some(first),
                match args.get(1..) {
                    Some(["port", p, ..]) => Some(*p),
                    Some(["port"]) => Some(""),
                    _ => None,
                },
            )
        } else {
            (None, Some(first))
        };
        let addr = match addr_text {
            Some(a) => match a.parse::<std::net::IpAddr>() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    return Err(Refusal::new(
                        format!("invalid addr '{a}'"),
                        format!("`{a}` is not an IP address"),
                    ));
                }
            },
            None => None,
        };
        let port = match port_text {
            Some(p) => Some(
                parse_cli_port(p)
                    .map_err(|h| Refusal::new(h, format!("`{p}` is not a port (1-65535)")))?,
            ),
            None => None,
        };
        let kind = if agent { "agent check" } else { "health check" };
        if agent {
            if port == Some(0) {
                return Err(Refusal::new(
                    "provided port is invalid",
                    "the agent's port cannot be 0".to_string(),
                ));
            }
            if let Ok(mut a) = server.agent.lock() {
                if addr.is_some() {
                    a.addr = addr;
                }
                if port.is_some() {
                    a.port = port;
                }
            }
        } else {
            // haproxy's check port 0: the server's own port again.
            server.set_check_target(addr, port);
        }
        server.admin_changed.notify_waiters();
        let mut to = Vec::new();
        if let Some(a) = addr {
            to.push(format!("address {a}"));
        }
        if let Some(p) = port {
            to.push(format!("port {p}"));
        }
        let to = to.join(", ");
        tracing::warn!(listener = %shared.name, server = %server.name(), "server {target}: its {kind} now goes to {to} (set by the operator)");
        Ok(format!("{target}: {kind} goes to {to}"))
    }

    /// haproxy `set server L/S agent-send <text>`: what the agent check writes.
    pub fn set_agent_send(&self, target: &str, text: &str) -> Result<String, Refusal> {
        let (shared, server) = self.find(target)?;
        if !server.agent_info().enabled {
            return Err(Refusal::new(
                "agent checks are not enabled on this server.\n",
                format!("{target} has no agent check running"),
            ));
        }
        if let Ok(mut a) = server.agent.lock() {
            a.send = Some(text.to_string());
        }
        tracing::warn!(listener = %shared.name, server = %server.name(), "server {target}: its agent check now sends {text:?} (set by the operator)");
        Ok(format!("{target}: agent check sends {text:?}"))
    }

    /// haproxy `shutdown frontend L`: stop listening for good (until a reload, which
    /// listens again as haproxy's new process does); open sessions go on.
    /// `Ok((false, notice))`: it already was.
    pub fn shutdown_frontend(&self, name: &str) -> Result<(bool, String), Refusal> {
        if name.is_empty() {
            return Err(Refusal::new(
                "A frontend name is expected.\n",
                "give the listener: shutdown frontend <listener>",
            ));
        }
        let mut v = self.live.lock().map_err(|_| Refusal::internal())?;
        let live = v
            .iter_mut()
            .find(|l| l.shared.name == name)
            .ok_or_else(|| Refusal::new("No such frontend.\n", format!("no listener `{name}`")))?;
        if live.shared.stopped.load(Ordering::Relaxed) {
            return Ok((false, "Frontend was already shut down.\n".to_string()));
        }
        if !live.shared.paused.load(Ordering::Relaxed) {
            pause_listening(live, &self.global).map_err(|e| pause_refused(name, live.bind, &e))?;
        }
        live.shared.stopped.store(true, Ordering::Relaxed);
        let open = live.shared.active.load(Ordering::Relaxed);
        let total = live.shared.total.load(Ordering::Relaxed);
        tracing::warn!(listener = %name, bind = %live.bind, "listener {name} stopped by the operator (cumulated conns: {total}): new connections to {} are refused until a reload, {open} open sessions go on", live.bind);
        Ok((
            true,
            format!(
                "{name}: shut down: new connections refused until a reload, {open} open sessions go on"
            ),
        ))
    }

    /// `set server L/S state ready|drain|maint`.
    pub fn set_state(&self, target: &str, state: Admin) -> Result<String, Refusal> {
        let (shared, server) = self.find(target)?;
        let before = change_admin(
            &self.hub,
            &self.metrics,
            &shared,
            &server,
            state,
            "the operator",
        );
        let still = match server.tracked() {
            Some((via, _)) if server.admin() != state => {
                format!(", still {} via {via}", server.admin().name())
            }
            _ => String::new(),
        };
        Ok(format!(
            "{target}: {} (was {}{still})",
            state.name(),
            before.name()
        ))
    }

    /// `set server L/S weight N|N%` and `set weight L/S ...`, read as haproxy reads it
    /// (0..256, or a share of the configured weight).
    pub fn set_weight(&self, target: &str, text: &str) -> Result<String, Refusal> {
        let (shared, server) = self.find(target)?;
        let (before, weight) = change_weight(&self.hub, &shared, &server, text, "the operator")?;
        Ok(format!("{target}: weight {weight} (was {before})"))
    }

    /// haproxy `get weight L/S`: `current (initial configured)`.
    pub fn get_weight(&self, target: &str) -> Result<String, Refusal> {
        let (_, server) = self.find(target)?;
        Ok(format!(
            "{} (initial {})\n",
            server.weight(),
            server.cfg().weight
        ))
    }

    /// haproxy 2.6's `show info [typed|json] [desc]`: every field of haproxy 2.6.12, in
    /// its order. `ctx`: what the admin socket knows (node name, its open connections).
    pub fn show_info(&self, words: &[&str], ctx: &InfoCtx) -> String {
        info::render(&self.info_values(ctx), info::InfoFormat::parse(words))
    }

    /// The `show info` values, by haproxy's field names.
    fn info_values(&self, ctx: &InfoCtx) -> Vec<(&'static str, String)> {
        let up = self.started.elapsed().as_secs();
        let now = rate::now_ms();
        let cum = self.rates.cum_conns.load(Ordering::Relaxed);
        let (listeners, summed_maxconn) = match self.live.lock() {
            Ok(v) => (
                v.len(),
                v.iter().map(|l| u64::from(l.shared.maxconn())).sum::<u64>(),
            ),
            Err(_) => (0, 0),
        };
        // The connections the balancer takes at most: the global maxconn, or the
        // listeners' together; two descriptors each and some for the rest (as
        // `fds_needed`).
        let maxconn = self
            .global
            .cap()
            .map_or(summed_maxconn, |g| u64::from(g).min(summed_maxconn));
        // `set maxconn global` can go back up to the configured global maxconn, no
        // further (haproxy's hard maxconn).
        let configured = self.global_cfg.lock().ok().and_then(|g| *g);
        let hard = configured.map_or(summed_maxconn, |g| u64::from(g).min(summed_maxconn));
        let maxsock = maxconn * 2 + 256;
        let ulimit = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map_or(0, |(soft, _)| soft);
        let threads =
            tokio::runtime::Handle::try_current().map_or(1, |h| h.metrics().num_workers());
        let tasks =
            tokio::runtime::Handle::try_current().map_or(0, |h| h.metrics().num_alive_tasks());
        let run_queue =
            tokio::runtime::Handle::try_current().map_or(0, |h| h.metrics().global_queue_depth());
        let idle = {
            let cpu = info::process_cpu();
            let at = Instant::now();
            match self.cpu_sample.lock() {
                Ok(mut last) => {
                    let (t0, c0) = *last;
                    // Over the time since the previous `show info` (at least a
                    // second's worth: a second call right away reads the last one).
                    let wall = at.duration_since(t0);
                    if wall >= Duration::from_secs(1) {
                        *last = (at, cpu);
                    }
                    info::idle_pct(cpu.saturating_sub(c0), wall, threads)
                }
                Err(_) => 100,
            }
        };
        let (pipes_used, pipes_free) = relay::pipes();
        let rss = info::resident_bytes();
        let started_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs().saturating_sub(up));
        let curr = self.actconn.load(Ordering::Relaxed);
        // haproxy counts its stats socket as one more listener, and the jobs are the
        // listeners, the client connections and the CLI connections.
        let all_listeners = listeners + 1;
        let jobs = all_listeners as u64 + u64::from(curr) + u64::from(ctx.admin_connections);
        let version = crate::observe::metrics::VERSION;
        let zero = || "0".to_string();
        let mut v: Vec<(&'static str, String)> = vec![
            ("Name", "tandem".into()),
            ("Version", version.into()),
            ("Release_date", env!("TANDEM_RELEASE_DATE").into()),
            ("Nbthread", threads.to_string()),
            ("Nbproc", "1".into()),
            ("Process_num", "1".into()),
            ("Pid", std::process::id().to_string()),
            ("Uptime", info::uptime(up)),
            ("Uptime_sec", up.to_string()),
            ("Memmax_MB", zero()),
            ("PoolAlloc_MB", (rss >> 20).to_string()),
            ("PoolUsed_MB", (rss >> 20).to_string()),
            ("PoolFailed", zero()),
            ("Ulimit-n", ulimit.to_string()),
            ("Maxsock", maxsock.to_string()),
            ("Maxconn", maxconn.to_string()),
            ("Hard_maxconn", hard.to_string()),
            ("CurrConns", curr.to_string()),
            ("CumConns", cum.to_string()),
            // One stream per TCP session, as haproxy counts it.
            ("CumReq", cum.to_string()),
            // Each session may hold one pipe per direction.
            ("Maxpipes", (maxconn * 2).to_string()),
            ("PipesUsed", pipes_used.to_string()),
            ("PipesFree", pipes_free.to_string()),
            ("ConnRate", self.rates.conn.rate(now).to_string()),
            (
                "ConnRateLimit",
                self.rates.conn_limit.load(Ordering::Relaxed).to_string(),
            ),
            ("MaxConnRate", self.rates.conn.max().to_string()),
            ("SessRate", self.rates.sess.rate(now).to_string()),
            (
                "SessRateLimit",
                self.rates.sess_limit.load(Ordering::Relaxed).to_string(),
            ),
            ("MaxSessRate", self.rates.sess.max().to_string()),
            ("Tasks", tasks.to_string()),
            ("Run_queue", run_queue.to_string()),
            ("Idle_pct", idle.to_string()),
            ("node", ctx.node.clone()),
            ("Stopping", zero()),
            ("Jobs", jobs.to_string()),
            ("Unstoppable Jobs", zero()),
            ("Listeners", all_listeners.to_string()),
            ("DroppedLogs", self.metrics.log_dropped.get().to_string()),
            (
                "TotalBytesOut",
                self.rates
                    .total_bytes_out
                    .load(Ordering::Relaxed)
                    .to_string(),
            ),
            ("TotalSplicdedBytesOut", relay::spliced_out().to_string()),
            ("BytesOutRate", self.rates.bytes_out.rate(now).to_string()),
            (
                "Build info",
                format!("{version}-{}", crate::observe::metrics::COMMIT),
            ),
            ("Memmax_bytes", zero()),
            ("PoolAlloc_bytes", rss.to_string()),
            ("PoolUsed_bytes", rss.to_string()),
            ("Start_time_sec", started_unix.to_string()),
            ("Tainted", zero()),
        ];
        // No SSL, compression, peers, busy polling, DNS resolvers, debug commands or
        // log forwarding: haproxy's 0 with none configured.
        for name in [
            "MaxSslConns",
            "CurrSslConns",
            "CumSslConns",
            "SslRate",
            "SslRateLimit",
            "MaxSslRate",
            "SslFrontendKeyRate",
            "SslFrontendMaxKeyRate",
            "SslFrontendSessionReuse_pct",
            "SslBackendKeyRate",
            "SslBackendMaxKeyRate",
            "SslCacheLookups",
            "SslCacheMisses",
            "CompressBpsIn",
            "CompressBpsOut",
            "CompressBpsRateLim",
            "ActivePeers",
            "ConnectedPeers",
            "BusyPolling",
            "FailedResolutions",
            "DebugCommandsIssued",
            "CumRecvLogs",
        ] {
            v.push((name, zero()));
        }
        v
    }

    /// Whether `<listener>/<server>` names a server (haproxy's refusals otherwise).
    pub fn locate(&self, target: &str) -> Result<(), Refusal> {
        self.find(target).map(|_| ())
    }

    /// haproxy `show stat [<iid>|<proxy> <type> <sid>] [typed] [up|no-maint]`.
    pub fn show_stat(&self, args: &[&str]) -> Result<String, Refusal> {
        let listeners = self.listeners();
        let names: Vec<&str> = listeners.iter().map(|l| l.name.as_str()).collect();
        let filter = stats::parse_stat_args(args, &names)
            .map_err(|h| Refusal::new(h, h.trim_end().to_string()))?;
        Ok(stats::show_stat(&listeners, &filter))
    }

    /// haproxy `show servers state [backend]`.
    pub fn show_servers_state(&self, listener: Option<&str>) -> Result<String, Refusal> {
        let only = listener.map(|l| self.listener_index(l)).transpose()?;
        Ok(stats::servers_state(&self.listeners(), only))
    }

    /// haproxy `show servers conn [backend]`.
    pub fn show_servers_conn(&self, listener: Option<&str>) -> Result<String, Refusal> {
        let only = listener.map(|l| self.listener_index(l)).transpose()?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(stats::servers_conn(&self.listeners(), only, threads))
    }

    /// haproxy `show table [listener]`: the stick tables and their entries.
    /// `haproxy`: haproxy 2.6's format (`# table: l, type: ip, size:100, used:1`, then with
    /// a listener named the entries as `0x...: key=IP use=0 exp=MS server_id=N
    /// server_key=NAME`; without one, the table lines only); else tandem's.
    pub fn show_table(&self, listener: Option<&str>, haproxy: bool) -> Result<String, Refusal> {
        let v = self.live.lock().map_err(|_| Refusal::internal())?;
        if let Some(l) = listener
            && !v.iter().any(|x| x.shared.name == l)
        {
            return Err(Refusal::new(admin::NO_TABLE, format!("no listener `{l}`")));
        }
        let now = std::time::Instant::now();
        let mut out = String::new();
        for live in v.iter() {
            if listener.is_some_and(|l| l != live.shared.name) {
                continue;
            }
            let Ok(g) = live.shared.stick.lock() else {
                continue;
            };
            let Some(st) = g.as_ref() else {
                if listener.is_some() {
                    return Err(Refusal::new(
                        admin::NO_TABLE,
                        format!("listener `{}` has no stick table", live.shared.name),
                    ));
                }
                continue;
            };
            let entries = st.table.entries(now);
            let rt = live.shared.runtime();
            let cfg = rt.cfg.stick;
            if haproxy {
                let v6 = entries.iter().any(|e| e.key.is_ipv6());
                out.push_str(&format!(
                    "# table: {}, type: {}, size:{}, used:{}\n",
                    live.shared.name,
                    if v6 { "ipv6" } else { "ip" },
                    cfg.map_or(0, |c| c.size),
                    entries.len()
                ));
                if listener.is_none() {
                    continue;
                }
                for (i, e) in entries.iter().enumerate() {
                    let id = rt
                        .servers
                        .iter()
                        .position(|s| s.name() == e.server)
                        .map_or(0, |p| p + 1);
                    // haproxy prints the entry's address; tandem an opaque number.
                    out.push_str(&format!(
                        "0x{:x}: key={} use=0 exp={} server_id={id} server_key={}\n",
                        0x1000 + i * 0x40,
                        e.key,
                        e.left.map_or(0, |l| l.as_millis()),
                        e.server
                    ));
                }
                continue;
            }
            out.push_str(&format!(
                "# table: {}, on: {}, size: {}, used: {}\n",
                live.shared.name,
                st.on,
                cfg.map_or(0, |c| c.size),
                entries.len()
            ));
            for e in entries {
                out.push_str(&format!(
                    "key={} server={} idle={}ms{}\n",
                    e.key,
                    e.server,
                    e.idle.as_millis(),
                    e.left
                        .map(|l| format!(" exp={}ms", l.as_millis()))
                        .unwrap_or_default()
                ));
            }
        }
        Ok(out)
    }

    /// haproxy `clear table <listener> [key <ip>]`.
    pub fn clear_table(&self, listener: &str, key: Option<IpAddr>) -> Result<String, Refusal> {
        let v = self.live.lock().map_err(|_| Refusal::internal())?;
        let live = v
            .iter()
            .find(|x| x.shared.name == listener)
            .ok_or_else(|| Refusal::new(admin::NO_TABLE, format!("no listener `{listener}`")))?;
        let mut g = live.shared.stick.lock().map_err(|_| Refusal::internal())?;
        let st = g.as_mut().ok_or_else(|| {
            Refusal::new(
                admin::NO_TABLE,
                format!("listener `{listener}` has no stick table"),
            )
        })?;
        let n = st.table.clear(key);
        tracing::warn!(listener = %listener, "listener {listener}: {n} stick table entries cleared by the operator{}", key.map(|k| format!(" (key {k})")).unwrap_or_default());
        Ok(format!("{listener}: {n} entries cleared"))
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
                let checked = stats::shows_checked(&rt.cfg, s);
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

fn servers_by_name(shared: &Shared) -> HashMap<String, Arc<ServerState>> {
    shared
        .runtime()
        .servers
        .iter()
        .map(|s| (s.name().to_string(), s.clone()))
        .collect()
}
