//! Health tracking: track scripts, interfaces and built-in signals feed VRRP priorities.
//!
//! Every health signal is published under a key in the `TrackHub`; VRRP instances watch
//! the keys they track and recompute their effective priority or FAULT state.

pub mod hysteresis;
pub mod link;
pub mod process;
pub mod script;
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
}

pub type HealthMap = Arc<BTreeMap<String, Health>>;

pub fn script_key(name: &str) -> String {
    format!("script:{name}")
}

pub fn interface_key(name: &str) -> String {
    format!("interface:{name}")
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
        self.tx.send_if_modified(|map| {
            if let Some(h) = map.get(key)
                && h.up == up
                && h.detail == detail
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

/// The trackers the config asks for: the scripts VRRP instances reference and the
/// interfaces they sit on or track.
pub struct Tracking {
    pub hub: TrackHub,
    metrics: TrackMetrics,
    scripts: HashMap<String, ScriptTracker>,
    statuses: Arc<Mutex<BTreeMap<String, Arc<Mutex<ScriptStatus>>>>>,
    links: Option<LinkWatch>,
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
            security: true,
        }
    }

    /// Starts, restarts (changed config) or stops trackers to match `cfg`. Unchanged
    /// trackers keep running and keep their state.
    pub async fn apply(&mut self, cfg: &Config) {
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

    pub fn status_provider(&self) -> impl Fn() -> Value + Send + Sync + 'static {
        let statuses = self.statuses.clone();
        let hub = self.hub.clone();
        move || {
            let scripts: serde_json::Map<String, Value> = statuses
                .lock()
                .map(|m| {
                    m.iter()
                        .filter_map(|(n, s)| s.lock().ok().map(|s| (n.clone(), s.to_json())))
                        .collect()
                })
                .unwrap_or_default();
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
            json!({ "scripts": scripts, "signals": health })
        }
    }
}
