//! `/status`: a JSON document assembled from every subsystem's current state.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use serde_json::{Value, json};

type Provider = Arc<dyn Fn() -> Value + Send + Sync>;

/// What the daemon knows about its config, for `/status`.
#[derive(Debug, Clone)]
pub struct ConfigState {
    pub path: String,
    pub generation: u64,
    pub loaded_at: SystemTime,
    /// The last SIGHUP: `(at, applied, errors)`.
    pub last_reload: Option<(SystemTime, bool, Vec<String>)>,
}

/// Subsystems register a closure that snapshots their state; `/status` calls them all.
#[derive(Clone)]
pub struct StatusHub {
    node: Arc<RwLock<String>>,
    started: SystemTime,
    config: Arc<RwLock<ConfigState>>,
    providers: Arc<RwLock<BTreeMap<String, Provider>>>,
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

impl StatusHub {
    pub fn new(node: &str, config: ConfigState) -> StatusHub {
        StatusHub {
            node: Arc::new(RwLock::new(node.to_string())),
            started: SystemTime::now(),
            config: Arc::new(RwLock::new(config)),
            providers: Arc::new(RwLock::new(BTreeMap::new())),
        }
    }

    pub fn set_node(&self, node: &str) {
        if let Ok(mut n) = self.node.write() {
            *n = node.to_string();
        }
    }

    pub fn register(&self, name: &str, provider: impl Fn() -> Value + Send + Sync + 'static) {
        if let Ok(mut p) = self.providers.write() {
            p.insert(name.to_string(), Arc::new(provider));
        }
    }

    pub fn unregister(&self, name: &str) {
        if let Ok(mut p) = self.providers.write() {
            p.remove(name);
        }
    }

    pub fn update_config(&self, f: impl FnOnce(&mut ConfigState)) {
        if let Ok(mut c) = self.config.write() {
            f(&mut c);
        }
    }

    /// The errors of the last refused reload, joined.
    pub fn last_reload_errors(&self) -> Option<String> {
        self.last_reload_refusal().map(|e| e.join("; "))
    }

    /// The errors of the last reload, when it was refused.
    pub fn last_reload_refusal(&self) -> Option<Vec<String>> {
        let c = self.config.read().ok()?;
        match &c.last_reload {
            Some((_, false, errors)) => Some(errors.clone()),
            _ => None,
        }
    }

    /// One subsystem's state, as in the snapshot; `None` when it is not running.
    pub fn subsystem(&self, name: &str) -> Option<Value> {
        let p = self.providers.read().ok()?.get(name).cloned()?;
        Some(p())
    }

    pub fn snapshot(&self) -> Value {
        let providers: Vec<(String, Provider)> = self
            .providers
            .read()
            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let mut subsystems = serde_json::Map::new();
        for (name, p) in providers {
            subsystems.insert(name, p());
        }
        let config = self
            .config
            .read()
            .map(|c| {
                let last = c.last_reload.as_ref().map(|(at, ok, errors)| {
                    json!({
                        "at": rfc3339(*at),
                        "result": if *ok { "applied" } else { "refused" },
                        "errors": errors,
                    })
                });
                json!({
                    "path": c.path,
                    "generation": c.generation,
                    "loaded_at": rfc3339(c.loaded_at),
                    "last_reload": last,
                })
            })
            .unwrap_or(Value::Null);
        let node = self.node.read().map(|n| n.clone()).unwrap_or_default();
        let uptime = SystemTime::now()
            .duration_since(self.started)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        json!({
            "node": node,
            "version": super::metrics::VERSION,
            "commit": super::metrics::COMMIT,
            "pid": std::process::id(),
            "started_at": rfc3339(self.started),
            "uptime_seconds": uptime,
            "config": config,
            "subsystems": subsystems,
        })
    }
}
