//! Health tracking: track scripts, interfaces and built-in signals feed VRRP priorities.
//!
//! Every health signal is published under a key in the `TrackHub`; VRRP instances watch
//! the keys they track and recompute their effective priority or FAULT state.

pub mod files;
pub mod hysteresis;
pub mod link;
pub mod process;
pub mod procs;
pub mod script;

pub use procs::process_key;
pub mod security;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::watch;

/// One health signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// `None` until known (e.g. before a script's first run).
    pub up: Option<bool>,
    /// Why, in words: "exited with status 1", "link down", ...
    pub detail: String,
    pub since: SystemTime,
    /// A track file's number (`None` for every other signal).
    pub value: Option<i64>,
}

pub type HealthMap = Arc<BTreeMap<String, Health>>;

pub fn script_key(name: &str) -> String {
    format!("script:{name}")
}

pub fn interface_key(name: &str) -> String {
    format!("interface:{name}")
}

pub fn file_key(name: &str) -> String {
    format!("file:{name}")
}

pub fn listener_key(name: &str) -> String {
    format!("listener:{name}")
}

pub const ROUTER_KEY: &str = "router";

/// The health a key has before anyone published it: scripts and interfaces are unknown
/// (not held against the instance), built-in listener and router signals are failing —
/// nothing is serving.
pub fn default_health(key: &str) -> Health {
    let failing = key == ROUTER_KEY || key.starts_with("listener:");
    Health {
        up: if failing { Some(false) } else { None },
        detail: if key == ROUTER_KEY {
            "the router is not running".into()
        } else if failing {
            "the listener is not bound".into()
        } else {
            "not known yet".into()
        },
        since: SystemTime::now(),
        value: None,
    }
}

/// Where health signals are published and watched.
#[derive(Clone)]
pub struct TrackHub {
    tx: Arc<watch::Sender<HealthMap>>,
}

impl Default for TrackHub {
    fn default() -> Self {
        TrackHub::new()
    }
}

impl TrackHub {
    pub fn new() -> TrackHub {
        let (tx, _) = watch::channel(Arc::new(BTreeMap::new()));
        TrackHub { tx: Arc::new(tx) }
    }

    /// Publishes `key`'s health; watchers wake only when `up` or `detail` changed.
    pub fn set(&self, key: &str, up: Option<bool>, detail: &str) {
        self.publish(key, up, detail, None)
    }

    /// Publishes a track file's number (up while it is 0).
    pub fn set_value(&self, key: &str, value: i64, detail: &str) {
        self.publish(key, Some(value == 0), detail, Some(value))
    }

    fn publish(&self, key: &str, up: Option<bool>, detail: &str, value: Option<i64>) {
        self.tx.send_if_modified(|map| {
            if let Some(h) = map.get(key)
                && h.up == up
                && h.detail == detail
                && h.value == value
            {
                return false;
            }
            let since = match map.get(key) {
                Some(h) if h.up == up => h.since,
                _ => SystemTime::now(),
            };
            Arc::make_mut(map).insert(
                key.to_string(),
                Health {
                    up,
                    detail: detail.to_string(),
                    since,
                    value,
                },
            );
            true
        });
    }

    pub fn remove(&self, key: &str) {
        self.tx
            .send_if_modified(|map| Arc::make_mut(map).remove(key).is_some());
    }

    pub fn get(&self, key: &str) -> Health {
        self.tx
            .borrow()
            .get(key)
            .cloned()
            .unwrap_or_else(|| default_health(key))
    }

    pub fn subscribe(&self) -> watch::Receiver<HealthMap> {
        self.tx.subscribe()
    }
}

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::config::model::Config;
use link::LinkWatch;
use script::{ScriptStatus, ScriptTracker, TrackMetrics};

/// The tracked scripts and the VRRP instances' notify hooks that a daemon running with
/// `me` cannot run as their `user`/`group` (see [`process::switch_refused`]): one entry
/// per script and one per instance with hooks, as (what, why). Unknown users are left to
/// the config check, which refuses them.
pub fn identity_warnings(cfg: &Config, me: &process::Credentials) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let refused = |user: Option<&str>, group: Option<&str>| {
        if user.is_none() && group.is_none() {
            return None;
        }
        let id = process::identity(user, group).ok()?;
        process::switch_refused(id, me)
    };
    let tracked = cfg.tracked_scripts();
    for s in &cfg.track_scripts {
        if tracked.contains(s.name.as_str())
            && let Some(why) = refused(s.user.as_deref(), s.group.as_deref())
        {
            out.push((format!("track script `{}`", s.name), why));
        }
    }
    for inst in cfg.vrrp.iter().flat_map(|v| &v.instances) {
        let n = &inst.notify;
        let hooks: Vec<&str> = [
            ("master", &n.master),
            ("backup", &n.backup),
            ("fault", &n.fault),
            ("stop", &n.stop),
            ("any", &n.any),
        ]
        .into_iter()
        .filter(|(_, c)| c.is_some())
        .map(|(k, _)| k)
        .collect();
        if hooks.is_empty() {
            continue;
        }
        if let Some(why) = refused(n.user.as_deref(), n.group.as_deref()) {
            out.push((
                format!(
                    "notify hooks ({}) of vrrp instance `{}`",
                    hooks.join(", "),
                    inst.name
                ),
                why,
            ));
        }
    }
    out
}

/// The trackers the config asks for: the scripts VRRP instances reference and the
/// interfaces they sit on or track.
pub struct Tracking {
    pub hub: TrackHub,
    metrics: TrackMetrics,
    scripts: HashMap<String, ScriptTracker>,
    statuses: Statuses<ScriptStatus>,
    links: Option<LinkWatch>,
    procs: Option<procs::ProcWatch>,
    proc_statuses: Statuses<procs::ProcessStatus>,
    files: Option<files::FileWatch>,
    security: bool,
}

impl Tracking {
    pub fn new(hub: TrackHub, metrics: TrackMetrics) -> Tracking {
        Tracking {
            hub,
            metrics,
            scripts: HashMap::new(),
            statuses: Arc::new(Mutex::new(BTreeMap::new())),
            links: None,
            procs: None,
            proc_statuses: Arc::new(Mutex::new(BTreeMap::new())),
            files: None,
            security: true,
        }
    }

    /// Starts, restarts (changed config) or stops trackers to match `cfg`. Unchanged
    /// trackers keep running and keep their state.
    pub async fn apply(&mut self, cfg: &Config) {
        // At start and at every reload: a script or hook this daemon cannot run as its
        // `user` fails at every run; say so once, up front.
        for (what, why) in identity_warnings(cfg, &process::Credentials::current()) {
            tracing::warn!("{what}: every run will fail: {why}");
        }
        let instances = cfg
            .vrrp
            .as_ref()
            .map(|v| v.instances.as_slice())
            .unwrap_or(&[]);
        let wanted = cfg.tracked_scripts();
        let security_changed = self.security != cfg.script_security;
        self.security = cfg.script_security;
        // A script that is no longer tracked stops and its signal goes. One whose
        // definition changed restarts from its current state: a reload does not flap the
        // priority of the instances tracking it (see `Hysteresis::carried`); a changed
        // weight alone does not even restart it.
        let mut changed: HashMap<String, ScriptTracker> = HashMap::new();
        let names: Vec<String> = self.scripts.keys().cloned().collect();
        for name in names {
            if !wanted.contains(name.as_str()) {
                self.scripts.remove(&name);
                self.hub.remove(&script_key(&name));
                continue;
            }
            let Some(new) = cfg.track_script(&name) else {
                continue;
            };
            let Some(t) = self.scripts.get_mut(&name) else {
                continue;
            };
            if !security_changed && script::same_run(&t.config, new) {
                t.config = new.clone();
                continue;
            }
            if let Some(t) = self.scripts.remove(&name) {
                changed.insert(name, t);
            }
        }
        for name in wanted {
            if self.scripts.contains_key(name) {
                continue;
            }
            if let Some(sc) = cfg.track_script(name) {
                let prior = changed.remove(name);
                if let Some(p) = &prior {
                    let state = match p.up() {
                        Some(true) => "OK",
                        Some(false) => "FAILING",
                        None => "not known yet",
                    };
                    tracing::info!(script = %name, "track script {name} changed: restarted, still {state} (rise/fall progress kept)");
                }
                let t = ScriptTracker::spawn(
                    sc.clone(),
                    cfg.script_security,
                    self.hub.clone(),
                    self.metrics.clone(),
                    prior,
                );
                self.scripts.insert(name.to_string(), t);
            }
        }
        if let Ok(mut st) = self.statuses.lock() {
            *st = self
                .scripts
                .iter()
                .map(|(n, t)| (n.clone(), t.status.clone()))
                .collect();
        }
        self.apply_processes(cfg);
        self.apply_files(cfg);
        let names: HashSet<String> = instances
            .iter()
            .flat_map(|i| {
                std::iter::once(i.interface.clone())
                    .chain(i.track_interfaces.iter().map(|t| t.name.clone()))
            })
            .collect();
        if self.links.as_ref().map(|l| &l.names) != Some(&names) {
            self.links = None;
            if !names.is_empty() {
                match LinkWatch::start(names, self.hub.clone(), self.metrics.clone()).await {
                    Ok(w) => self.links = Some(w),
                    Err(e) => {
                        tracing::error!("cannot watch interfaces: {e}; interface tracking is off")
                    }
                }
            }
        }
    }

    /// Starts, restarts (changed definitions, their states kept) or stops the process
    /// watch to match `cfg`.
    fn apply_processes(&mut self, cfg: &Config) {
        let wanted = cfg.tracked_processes();
        let mut specs: Vec<_> = cfg
            .track_processes
            .iter()
            .filter(|p| wanted.contains(p.name.as_str()))
            .cloned()
            .collect();
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        if self.procs.as_ref().map(|w| w.specs()) == Some(specs.as_slice()) {
            return;
        }
        let prior = self.procs.take();
        for old in prior.iter().flat_map(|p| p.specs()) {
            if !specs.iter().any(|s| s.name == old.name) {
                self.hub.remove(&process_key(&old.name));
                let _ = self.metrics.process_up.remove_label_values(&[&old.name]);
                let _ = self
                    .metrics
                    .process_running
                    .remove_label_values(&[&old.name]);
            }
        }
        if !specs.is_empty() {
            let w = procs::ProcWatch::start(
                specs,
                std::path::Path::new("/proc"),
                self.hub.clone(),
                self.metrics.clone(),
                prior,
            );
            if let Ok(mut st) = self.proc_statuses.lock() {
                *st = w.statuses.clone();
            }
            self.procs = Some(w);
        } else if let Ok(mut st) = self.proc_statuses.lock() {
            st.clear();
        }
    }

    /// Starts, restarts (changed definitions) or stops the track file watch to match
    /// `cfg`.
    fn apply_files(&mut self, cfg: &Config) {
        let wanted = cfg.tracked_files();
        let mut specs: Vec<_> = cfg
            .track_files
            .iter()
            .filter(|f| wanted.contains(f.name.as_str()))
            .cloned()
            .collect();
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        if self.files.as_ref().map(|w| w.specs()) == Some(specs.as_slice()) {
            return;
        }
        let old = self.files.take();
        for f in old.iter().flat_map(|o| o.specs()) {
            if !specs.iter().any(|s| s.name == f.name) {
                self.hub.remove(&file_key(&f.name));
            }
        }
        if !specs.is_empty() {
            self.files = Some(files::FileWatch::start(
                specs,
                self.hub.clone(),
                old.as_ref(),
            ));
        }
    }

    pub fn status_provider(&self) -> impl Fn() -> Value + Send + Sync + 'static {
        let proc_statuses = self.proc_statuses.clone();
        let statuses = self.statuses.clone();
        let hub = self.hub.clone();
        move || {
            let scripts = status_map(&statuses, ScriptStatus::to_json);
            let health: serde_json::Map<String, Value> = hub
                .subscribe()
                .borrow()
                .iter()
                .map(|(k, h)| {
                    (
                        k.clone(),
                        json!({
                            "up": h.up,
                            "detail": h.detail,
                            "since": humantime::format_rfc3339_seconds(h.since).to_string(),
                        }),
                    )
                })
                .collect();
            let processes = status_map(&proc_statuses, procs::ProcessStatus::to_json);
            json!({ "scripts": scripts, "processes": processes, "signals": health })
        }
    }
}

type Statuses<T> = Arc<Mutex<BTreeMap<String, Arc<Mutex<T>>>>>;

/// Each tracker's status as JSON, by name.
fn status_map<T>(m: &Statuses<T>, json: fn(&T) -> Value) -> serde_json::Map<String, Value> {
    m.lock()
        .map(|m| {
            m.iter()
                .filter_map(|(n, s)| s.lock().ok().map(|s| (n.clone(), json(&s))))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        let (cfg, _) = crate::config::check_str(text, "t.yaml", std::path::Path::new("/"))
            .into_result()
            .unwrap_or_else(|d| panic!("{text}: {d:?}"));
        cfg
    }

    const CONFIG: &str = "script_security: false
track_scripts:
  as_root: { command: [/bin/true], user: root }
  as_daemon: { command: [/bin/true] }
  untracked: { command: [/bin/true], user: root }
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      virtual_ipaddresses: [\"198.18.0.100/24\"]
      track_scripts: [as_root, as_daemon]
      notify: { master: /bin/true, backup: /bin/true, user: root }
    - name: VI_2
      interface: eth0
      virtual_router_id: 52
      virtual_ipaddresses: [\"198.18.0.101/24\"]
      notify: { user: root }
";

    /// One warning per tracked script and per instance with hooks that a daemon without
    /// CAP_SETUID/CAP_SETGID cannot run as their user; none for scripts no instance
    /// tracks, for an instance without hooks, or for a daemon that can switch.
    #[test]
    fn identity_warnings_name_each_script_and_hook_the_daemon_cannot_switch_for() {
        let cfg = config(CONFIG);
        let unprivileged = process::Credentials {
            ruid: 1000,
            euid: 1000,
            rgid: 1000,
            egid: 1000,
            caps: Some(0),
        };
        let w = identity_warnings(&cfg, &unprivileged);
        let what: Vec<&str> = w.iter().map(|(what, _)| what.as_str()).collect();
        assert_eq!(
            what,
            [
                "track script `as_root`",
                "notify hooks (master, backup) of vrrp instance `VI_1`"
            ]
        );
        assert!(
            w.iter()
                .all(|(_, why)| why.starts_with("cannot run as user root"))
        );
        let capable = process::Credentials {
            caps: Some((1 << 6) | (1 << 7)),
            ..unprivileged
        };
        assert!(identity_warnings(&cfg, &capable).is_empty());
        let root = process::Credentials {
            ruid: 0,
            euid: 0,
            rgid: 0,
            egid: 0,
            caps: Some(0),
        };
        assert!(identity_warnings(&cfg, &root).is_empty());
    }
}
