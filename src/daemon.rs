//! The daemon: starts the configured subsystems, serves `observe`, reloads on SIGHUP and
//! stops gracefully on SIGTERM/SIGINT.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::signal::unix::{SignalKind, signal};

use crate::admin::{self, AdminSocket};
use crate::balancer::Balancer;
use crate::balancer::metrics::BalancerMetrics;
use crate::config::{self, Config, Diagnostic, Severity};
use crate::observe::http;
use crate::observe::logging::LogHandle;
use crate::observe::metrics::Metrics;
use crate::observe::status::{ConfigState, StatusHub};
use crate::router::metrics::RouterMetrics;
use crate::router::{ReloadKind, ReloadRequest, Router};
use crate::systemd;
use crate::track::script::TrackMetrics;
use crate::track::{TrackHub, Tracking};
use crate::vrrp::Vrrp;
use crate::vrrp::metrics::VrrpMetrics;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Observe(#[from] http::BindError),
    #[error("vrrp: {0}")]
    Vrrp(#[from] crate::vrrp::VrrpError),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error(transparent)]
    Balancer(#[from] crate::balancer::BindError),
    #[error(transparent)]
    Router(#[from] crate::router::RouterError),
    #[error("cannot install the {0} signal handler: {1}")]
    Signal(&'static str, std::io::Error),
}

/// How long a graceful stop may take before the daemon exits anyway.
const STOP_GRACE: Duration = Duration::from_secs(15);

const SUBSYSTEMS: [&str; 3] = ["vrrp", "balancer", "router"];

fn enabled(cfg: &Config, name: &str) -> bool {
    match name {
        "vrrp" => cfg.vrrp.is_some(),
        "balancer" => cfg.balancer.is_some(),
        "router" => cfg.router.is_some(),
        _ => false,
    }
}

/// Logs a config finding as one line at the right level.
/// A finding about the whole file (no position, no key) carries no `line`, `column` or
/// `key` field rather than empty ones.
pub fn log_diagnostic(d: &Diagnostic) {
    let line = (d.line > 0).then_some(d.line);
    let column = (d.line > 0).then_some(d.column);
    let key = (!d.path.is_empty()).then_some(d.path.as_str());
    match d.severity {
        Severity::Error => {
            tracing::error!(file = %d.file, line, column, key, "{d}")
        }
        Severity::Warning => {
            tracing::warn!(file = %d.file, line, column, key, "{d}")
        }
    }
}

struct Daemon {
    path: PathBuf,
    config: Config,
    generation: u64,
    metrics: Metrics,
    status: StatusHub,
    observe: Option<http::Server>,
    log: LogHandle,
    vrrp: Option<Vrrp>,
    vrrp_metrics: Option<VrrpMetrics>,
    /// For a reload that enables VRRP (see `Vrrp::prepare`).
    vrrp_prepared: Option<crate::vrrp::Prepared>,
    /// VRRP a reload disabled, still running its STOP hooks.
    vrrp_stopping: Option<crate::vrrp::Stopped>,
    tracking: Tracking,
    balancer: Option<Balancer>,
    balancer_metrics: Option<BalancerMetrics>,
    /// Listening sockets a reload bound before changing anything.
    balancer_prepared: Option<crate::balancer::Prepared>,
    /// The router's part of a reload, likewise prepared before anything changes.
    router_prepared: Option<crate::router::Prepared>,
    admin: Option<AdminSocket>,
    targets: admin::Targets,
    router: Option<Router>,
    router_metrics: Option<RouterMetrics>,
    reload_tx: tokio::sync::mpsc::Sender<ReloadRequest>,
    /// The config that ran before the last successful reload, and how that reload was
    /// asked for, for `rollback @@config`. Cleared by a rollback: as MyCat, one rollback
    /// per reload.
    previous: Option<(Config, ReloadKind)>,
}

impl Daemon {
    /// Brings the subsystems in line with `self.config`.
    async fn apply_subsystems(&mut self) -> Result<(), DaemonError> {
        self.tracking.apply(&self.config).await;
        // The balancer first: VRRP instances tracking its listeners see them bound.
        if let Some(cfg) = &self.config.balancer {
            crate::balancer::ensure_fd_limit(cfg);
        }
        match (&mut self.balancer, &self.config.balancer) {
            (None, Some(cfg)) => {
                let metrics = match &self.balancer_metrics {
                    Some(m) => m.clone(),
                    None => {
                        let m = BalancerMetrics::register(&self.metrics.registry)?;
                        self.balancer_metrics = Some(m.clone());
                        m
                    }
                };
                let b = Balancer::start(
                    cfg,
                    metrics,
                    self.tracking.hub.clone(),
                    self.balancer_prepared.take(),
                )?;
                self.status.register("balancer", b.status_provider());
                if let Ok(mut t) = self.targets.balancer.write() {
                    *t = Some(b.admin());
                }
                self.balancer = Some(b);
            }
            (Some(b), Some(cfg)) => {
                b.apply(cfg, self.balancer_prepared.take()).await?;
            }
            (Some(_), None) => {
                if let Some(b) = self.balancer.take() {
                    b.stop();
                }
                if let Ok(mut t) = self.targets.balancer.write() {
                    *t = None;
                }
                self.status.unregister("balancer");
            }
            (None, None) => {}
        }
        match (&mut self.router, &self.config.router) {
            (None, Some(cfg)) => {
                let metrics = match &self.router_metrics {
                    Some(m) => m.clone(),
                    None => {
                        let m = RouterMetrics::register(&self.metrics.registry)?;
                        self.router_metrics = Some(m.clone());
                        m
                    }
                };
                let r = Router::start(
                    cfg,
                    self.router_prepared.take(),
                    metrics,
                    Some(self.reload_tx.clone()),
                    Some(self.tracking.hub.clone()),
                )?;
                self.status.register("router", r.status_provider());
                self.metrics.register_refresh("router", r.gauge_refresher());
                if let Ok(mut t) = self.targets.router.write() {
                    *t = Some(r.shared.clone());
                }
                self.router = Some(r);
            }
            (Some(r), Some(cfg)) => {
                r.apply(cfg, self.router_prepared.take()).await?;
            }
            (Some(_), None) => {
                if let Some(r) = self.router.take() {
                    r.stop();
                }
                if let Ok(mut t) = self.targets.router.write() {
                    *t = None;
                }
                self.status.unregister("router");
                self.metrics.unregister_refresh("router");
            }
            (None, None) => {}
        }
        match (&mut self.vrrp, &self.config.vrrp) {
            (None, Some(_)) => {
                let metrics = match &self.vrrp_metrics {
                    Some(m) => m.clone(),
                    None => {
                        let m = VrrpMetrics::register(&self.metrics.registry)?;
                        self.vrrp_metrics = Some(m.clone());
                        m
                    }
                };
                let prepared = match self.vrrp_prepared.take() {
                    Some(p) => p,
                    None => Vrrp::prepare()?,
                };
                let v = Vrrp::start_after(
                    &self.config,
                    metrics,
                    self.tracking.hub.clone(),
                    prepared,
                    self.vrrp_stopping.take(),
                );
                self.status.register("vrrp", v.status_provider());
                self.status
                    .register("track", self.tracking.status_provider());
                if let Ok(mut t) = self.targets.vrrp.write() {
                    *t = Some(v.admin());
                }
                self.vrrp = Some(v);
            }
            (Some(v), Some(_)) => v.apply(&self.config).await,
            (Some(_), None) => {
                // Off the main loop: STOP hooks may take their time (bounded), and a
                // VRRP enabled again later waits for them.
                if let Some(v) = self.vrrp.take() {
                    self.vrrp_stopping = Some(v.stop_detached());
                }
                if let Ok(mut t) = self.targets.vrrp.write() {
                    *t = None;
                }
                self.status.unregister("vrrp");
                self.status.unregister("track");
            }
            (None, None) => {}
        }
        for name in SUBSYSTEMS {
            let on = enabled(&self.config, name);
            self.metrics
                .subsystem_enabled
                .with_label_values(&[name])
                .set(i64::from(on));
        }
        Ok(())
    }

    /// The admin socket; a failure is logged, not fatal (the daemon's job does not
    /// depend on it).
    async fn start_admin(&mut self) {
        let want = self.config.admin.socket.clone();
        let have = self.admin.as_ref().map(|a| a.path().to_path_buf());
        if want == have {
            return;
        }
        if let Some(a) = self.admin.take() {
            a.stop();
        }
        if let Some(p) = want {
            match AdminSocket::start(&p, self.targets.clone()).await {
                Ok(a) => self.admin = Some(a),
                Err(e) => tracing::warn!(
                    "admin socket: {e}; `tandem balancer ...` commands will not reach this daemon"
                ),
            }
        }
    }

    async fn start_observe(&mut self) -> Result<(), http::BindError> {
        if let Some(o) = &self.config.observe {
            let s = http::Server::start(
                o.listen,
                self.metrics.clone(),
                self.status.clone(),
                self.targets.clone(),
                o.stats.clone(),
            )
            .await?;
            self.observe = Some(s);
        }
        Ok(())
    }

    /// A reload asked for on the router's admin port (`reload @@config[_all]`) or the
    /// admin socket (`tandem config reload`), or a rollback (`rollback @@config`,
    /// `tandem config rollback`).
    async fn admin_reload(&mut self, kind: ReloadKind) -> Result<u64, String> {
        if kind == ReloadKind::Rollback {
            return self.rollback().await;
        }
        self.pools_for(kind);
        let before = self.generation;
        self.reload_as(kind).await;
        if self.generation > before {
            Ok(self.generation)
        } else {
            // A refused reload leaves no pool instruction behind for the next one.
            if let Some(r) = &self.router {
                r.clear_next_apply();
            }
            Err(self
                .status
                .last_reload_errors()
                .unwrap_or_else(|| "see the daemon log".into()))
        }
    }

    /// Tells the router how the next apply treats its pools: kept (`reload @@config`),
    /// all rebuilt (`reload @@config_all`), or rebuilt where a data host changed (SIGHUP).
    fn pools_for(&self, kind: ReloadKind) {
        if let Some(r) = &self.router {
            match kind {
                ReloadKind::Config => r.keep_pools_next_apply(),
                ReloadKind::ConfigAll => r
                    .shared
                    .force_rebuild
                    .store(true, std::sync::atomic::Ordering::Release),
                ReloadKind::Rollback | ReloadKind::File => {}
            }
        }
    }

    /// `rollback @@config` (MyCat's): runs again the config that ran before the last
    /// successful reload, its pools treated as that reload treated them. Once per reload;
    /// the file is not touched, so the next reload reads it again.
    async fn rollback(&mut self) -> Result<u64, String> {
        let Some((old, kind)) = self.previous.take() else {
            tracing::warn!(
                "config rollback refused: no reload since the start or the last rollback"
            );
            return Err("no reload to roll back since the start or the last rollback".into());
        };
        self.pools_for(kind);
        let reload_ms = self.router.as_ref().map(|r| r.shared.loaded_at_ms());
        let keep = old.clone();
        if let Err(e) = self.apply(old).await {
            tracing::error!(
                "config rollback refused: {e}; still running config generation {}",
                self.generation
            );
            self.previous = Some((keep, kind));
            if let Some(r) = &self.router {
                r.clear_next_apply();
            }
            return Err(e.to_string());
        }
        self.generation += 1;
        let g = self.generation;
        let now = SystemTime::now();
        if let (Some(r), Some(ms)) = (&self.router, reload_ms) {
            r.shared.note_rollback(ms);
        }
        tracing::warn!(
            generation = g,
            file = %self.path.display(),
            "config rolled back: now running generation {g}, the config from before the last reload; {} is unchanged and the next reload applies it",
            self.path.display()
        );
        self.metrics
            .config_reloads
            .with_label_values(&["rolled_back"])
            .inc();
        self.metrics.config_generation.set(g as i64);
        self.status.update_config(|c| {
            c.generation = g;
            c.loaded_at = now;
        });
        systemd::ready(&self.ready_text());
        Ok(g)
    }

    /// Re-reads the config file (SIGHUP).
    async fn reload(&mut self) {
        self.reload_as(ReloadKind::File).await
    }

    /// Re-reads the config file. A config with errors is refused and the running one stays.
    /// `kind` is how it was asked for, remembered for a rollback.
    async fn reload_as(&mut self, kind: ReloadKind) {
        systemd::reloading();
        tracing::info!(file = %self.path.display(), "SIGHUP: reloading {}", self.path.display());
        // Off the async threads: reading the file and resolving server host names may
        // block (a slow DNS server), and the relays must not wait for it.
        let path = self.path.clone();
        let checked = match tokio::task::spawn_blocking(move || config::check_file(&path)).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(
                    "reload refused: checking {} failed: {e}",
                    self.path.display()
                );
                self.refused(
                    SystemTime::now(),
                    vec![format!("checking the file failed: {e}")],
                );
                return;
            }
        };
        let now = SystemTime::now();
        match checked.into_result() {
            Err(diags) => {
                let errors: Vec<String> = diags
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .map(|d| d.to_string())
                    .collect();
                for d in &diags {
                    log_diagnostic(d);
                }
                tracing::error!(
                    errors = errors.len(),
                    generation = self.generation,
                    "reload refused: {} error(s) in {}; still running config generation {}",
                    errors.len(),
                    self.path.display(),
                    self.generation
                );
                self.refused(now, errors);
            }
            Ok((new, warnings)) => {
                for d in &warnings {
                    log_diagnostic(d);
                }
                let old = self.config.clone();
                if let Err(e) = self.apply(new).await {
                    tracing::error!(
                        "reload refused: {e}; still running config generation {}",
                        self.generation
                    );
                    self.refused(now, vec![e.to_string()]);
                } else {
                    self.previous = Some((old, kind));
                    self.generation += 1;
                    let g = self.generation;
                    tracing::info!(
                        generation = g,
                        "config reloaded: now running generation {g}"
                    );
                    self.metrics
                        .config_reloads
                        .with_label_values(&["applied"])
                        .inc();
                    self.metrics.config_last_reload_successful.set(1);
                    self.metrics.config_generation.set(g as i64);
                    self.status.update_config(|c| {
                        c.generation = g;
                        c.loaded_at = now;
                        c.last_reload = Some((now, true, Vec::new()));
                    });
                }
            }
        }
        systemd::ready(&self.ready_text());
    }

    /// Records a refused reload in metrics and status.
    fn refused(&mut self, at: SystemTime, errors: Vec<String>) {
        self.metrics
            .config_reloads
            .with_label_values(&["refused"])
            .inc();
        self.metrics.config_last_reload_successful.set(0);
        self.status
            .update_config(|c| c.last_reload = Some((at, false, errors)));
    }

    /// Switches to a validated config. Fails (changing nothing) when a resource of the
    /// new config cannot be had, e.g. the new observe address cannot be bound.
    async fn apply(&mut self, new: Config) -> Result<(), DaemonError> {
        let r = self.apply_inner(new).await;
        // Sockets bound for a reload that then failed elsewhere are closed, not kept.
        self.balancer_prepared = None;
        self.router_prepared = None;
        self.vrrp_prepared = None;
        r
    }

    async fn apply_inner(&mut self, new: Config) -> Result<(), DaemonError> {
        // The balancer's new addresses first: one that cannot be bound refuses the reload
        // while everything still runs as before.
        self.balancer_prepared = match &new.balancer {
            Some(cfg) => Some(Balancer::prepare(self.balancer.as_ref(), cfg)?),
            None => None,
        };
        // The router's likewise (its catalog, new listen and admin addresses).
        self.router_prepared = match &new.router {
            Some(cfg) => Some(Router::prepare(self.router.as_ref(), cfg)?),
            None => None,
        };
        // VRRP newly enabled: its netlink socket.
        self.vrrp_prepared = match (&new.vrrp, &self.vrrp) {
            (Some(_), None) => Some(Vrrp::prepare()?),
            _ => None,
        };
        let old_listen = self.config.observe.as_ref().map(|o| o.listen);
        let new_listen = new.observe.as_ref().map(|o| o.listen);
        if old_listen != new_listen {
            let fresh = match &new.observe {
                Some(o) => Some(
                    http::Server::start(
                        o.listen,
                        self.metrics.clone(),
                        self.status.clone(),
                        self.targets.clone(),
                        o.stats.clone(),
                    )
                    .await?,
                ),
                None => None,
            };
            if let Some(old) = self.observe.take() {
                old.stop().await;
            }
            self.observe = fresh;
            if new_listen.is_none() {
                tracing::info!("observe endpoint stopped (no `observe` section)");
            }
        } else if let (Some(srv), Some(o)) = (&self.observe, &new.observe) {
            srv.set_stats(&o.stats);
        }
        if let Some(note) = self.log.apply(&new.log) {
            tracing::warn!("{note}");
        }
        if new.node != self.config.node {
            self.status.set_node(&new.node);
            if let Ok(mut n) = self.targets.node.write() {
                n.clone_from(&new.node);
            }
        }
        let admin_changed = new.admin != self.config.admin;
        let before: Vec<bool> = SUBSYSTEMS
            .iter()
            .map(|s| enabled(&self.config, s))
            .collect();
        self.config = new;
        if admin_changed {
            self.start_admin().await;
        }
        self.apply_subsystems().await?;
        for (i, name) in SUBSYSTEMS.iter().enumerate() {
            let now = enabled(&self.config, name);
            if before[i] != now {
                tracing::info!(
                    subsystem = *name,
                    "{name} {}",
                    if now { "enabled" } else { "disabled" }
                );
            }
        }
        Ok(())
    }

    fn ready_text(&self) -> String {
        let on: Vec<&str> = SUBSYSTEMS
            .iter()
            .copied()
            .filter(|s| enabled(&self.config, s))
            .collect();
        let mut text = format!(
            "running config generation {} ({})",
            self.generation,
            if on.is_empty() {
                "no subsystems".to_string()
            } else {
                on.join(", ")
            }
        );
        // `systemctl reload` cannot fail on a refusal the daemon finds itself (a listener
        // that cannot be bound, ...): `systemctl status` shows it here.
        if let Some(errors) = self.status.last_reload_refusal() {
            // One line: sd_notify reads a newline as the end of the assignment.
            let first = errors
                .first()
                .map_or_else(|| "see the log".to_string(), |e| e.replace('\n', " "));
            text.push_str(&format!(
                "; last reload REFUSED: {first} (`tandem status` lists every error)"
            ));
        }
        text
    }

    async fn stop(mut self) {
        systemd::stopping();
        if let Some(v) = self.vrrp.take() {
            v.stop().await;
        }
        if let Some(s) = self.vrrp_stopping.take() {
            s.wait().await;
        }
        if let Some(b) = self.balancer.take() {
            b.stop();
        }
        if let Some(r) = self.router.take() {
            r.stop();
        }
        if let Some(a) = self.admin.take() {
            a.stop();
        }
        if let Some(o) = self.observe.take() {
            o.stop().await;
        }
    }
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(path: &Path, config: Config, log: LogHandle) -> Result<(), DaemonError> {
    let mut term =
        signal(SignalKind::terminate()).map_err(|e| DaemonError::Signal("SIGTERM", e))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| DaemonError::Signal("SIGINT", e))?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| DaemonError::Signal("SIGHUP", e))?;

    let metrics = Metrics::new();
    let status = StatusHub::new(
        &config.node,
        ConfigState {
            path: path.display().to_string(),
            generation: 1,
            loaded_at: SystemTime::now(),
            last_reload: None,
        },
    );
    let tracking = Tracking::new(TrackHub::new(), TrackMetrics::register(&metrics.registry)?);
    let (reload_tx, mut reload_rx) = tokio::sync::mpsc::channel::<ReloadRequest>(4);
    let mut d = Daemon {
        path: path.to_path_buf(),
        config,
        generation: 1,
        metrics,
        status,
        observe: None,
        log,
        vrrp: None,
        vrrp_metrics: None,
        vrrp_prepared: None,
        vrrp_stopping: None,
        tracking,
        balancer: None,
        balancer_metrics: None,
        balancer_prepared: None,
        router_prepared: None,
        admin: None,
        targets: admin::Targets {
            reload: Some(reload_tx.clone()),
            ..Default::default()
        },
        router: None,
        router_metrics: None,
        reload_tx,
        previous: None,
    };
    if let Ok(mut n) = d.targets.node.write() {
        n.clone_from(&d.config.node);
    }
    d.start_observe().await?;
    d.start_admin().await;
    d.apply_subsystems().await?;
    tracing::info!(
        node = %d.config.node,
        version = crate::observe::metrics::VERSION,
        pid = std::process::id(),
        "tandem {} started on {} ({})",
        crate::observe::metrics::VERSION,
        d.config.node,
        d.ready_text()
    );
    systemd::ready(&d.ready_text());

    let mut watchdog = systemd::watchdog_interval().map(tokio::time::interval);
    let why = loop {
        tokio::select! {
            _ = term.recv() => break "SIGTERM",
            _ = int.recv() => break "SIGINT",
            // A stop signal during a reload (one stuck on DNS, say) abandons the reload:
            // the stop must stay within its bound.
            _ = hup.recv() => {
                tokio::select! {
                    _ = with_watchdog(d.reload(), &mut watchdog, systemd::watchdog_ping) => {}
                    _ = term.recv() => break abandon("SIGTERM"),
                    _ = int.recv() => break abandon("SIGINT"),
                }
            }
            Some((kind, answer)) = reload_rx.recv() => {
                // Whoever asked has given up waiting (its time limit passed while an
                // earlier reload ran): a late reload or rollback would surprise them.
                if answer.is_closed() {
                    tracing::warn!("{kind:?} request dropped: whoever asked stopped waiting for it");
                    continue;
                }
                tokio::select! {
                    r = with_watchdog(d.admin_reload(kind), &mut watchdog, systemd::watchdog_ping) => {
                        let _ = answer.send(r);
                    }
                    _ = term.recv() => break abandon("SIGTERM"),
                    _ = int.recv() => break abandon("SIGINT"),
                }
            }
            _ = async { match watchdog.as_mut() { Some(w) => { w.tick().await; } None => std::future::pending().await } } => {
                systemd::watchdog_ping();
            }
        }
    };
    tracing::info!(signal = why, "{why}: stopping");
    let stop = d.stop();
    tokio::select! {
        _ = stop => {}
        _ = tokio::time::sleep(STOP_GRACE) => tracing::warn!("graceful stop took longer than {STOP_GRACE:?}; exiting anyway"),
        _ = term.recv() => tracing::warn!("second SIGTERM: exiting now"),
        _ = int.recv() => tracing::warn!("second SIGINT: exiting now"),
    }
    tracing::info!("tandem stopped");
    Ok(())
}

/// Logs that a reload in progress is given up for a stop signal.
fn abandon(signal: &'static str) -> &'static str {
    tracing::warn!(
        signal,
        "{signal} during a reload: abandoning the reload and stopping"
    );
    signal
}

/// How long a reload keeps the systemd watchdog fed. A reload that waits on the network
/// (DNS, netlink, stopping hooks) is not a hung daemon, but one stuck for longer than
/// this should let the watchdog restart it.
const RELOAD_WATCHDOG_GRACE: Duration = Duration::from_secs(120);

/// Runs `f` (a reload) while pinging the watchdog, for at most [`RELOAD_WATCHDOG_GRACE`].
async fn with_watchdog<F: std::future::Future>(
    f: F,
    watchdog: &mut Option<tokio::time::Interval>,
    mut ping: impl FnMut(),
) -> F::Output {
    tokio::pin!(f);
    let grace = tokio::time::sleep(RELOAD_WATCHDOG_GRACE);
    tokio::pin!(grace);
    let mut feeding = watchdog.is_some();
    loop {
        tokio::select! {
            r = &mut f => return r,
            _ = async {
                match watchdog.as_mut() {
                    Some(w) => {
                        w.tick().await;
                    }
                    None => std::future::pending().await,
                }
            }, if feeding => ping(),
            _ = &mut grace, if feeding => {
                feeding = false;
                tracing::warn!(
                    "reload still running after {RELOAD_WATCHDOG_GRACE:?}: no more watchdog pings until it ends"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pings_during(reload: Duration) -> u32 {
        // 7 s: no tick falls on the same instant as the reload's end or the 120 s grace
        // (two timers due at once would let `select!` pick either).
        let mut wd = Some(tokio::time::interval(Duration::from_secs(7)));
        let mut n = 0;
        with_watchdog(tokio::time::sleep(reload), &mut wd, || n += 1).await;
        n
    }

    #[tokio::test(start_paused = true)]
    async fn a_reload_feeds_the_watchdog_for_a_while_but_not_forever() {
        // An interval ticks at once, then every 7 s: a 33 s reload gets 5 pings (0..28 s).
        assert_eq!(pings_during(Duration::from_secs(33)).await, 5);
        // A reload stuck for 10 minutes gets pings for the first 120 s only (0..119 s).
        assert_eq!(pings_during(Duration::from_secs(600)).await, 18);
        // Without a watchdog nothing is pinged and the reload's result comes back.
        let mut none = None;
        let r = with_watchdog(async { 7 }, &mut none, || panic!("no watchdog")).await;
        assert_eq!(r, 7);
    }
}
