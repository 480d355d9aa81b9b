//! VRRP: keepalived-compatible elections and VIP ownership.
//!
//! `packet` (codec) and `machine` (RFC 5798 state machine) are pure; `socket`, `demux`
//! and `instance` are the tokio IO around them.

pub mod demux;
pub mod instance;
pub mod machine;
pub mod metrics;
pub mod notify;
pub mod packet;
pub mod socket;
pub mod sync;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::config::model::{Config, TrackScript};
use crate::config::vrrp::{VrrpConfig, VrrpInstance};
use crate::net::link::{NetError, Netlink};
use crate::track::{ROUTER_KEY, TrackHub, interface_key, listener_key, script_key};
use demux::Demux;
use instance::{Context, Handle, TrackerRef};
use metrics::VrrpMetrics;
use notify::Fifo;
use sync::Group;

/// The running VRRP subsystem.
pub struct Vrrp {
    net: Netlink,
    demux: Demux,
    metrics: VrrpMetrics,
    hub: TrackHub,
    fifo: Option<Fifo>,
    groups: HashMap<String, Group>,
    group_config: Vec<crate::config::vrrp::SyncGroup>,
    instances: Arc<Mutex<Vec<Handle>>>,
}

/// What the admin socket can ask of the VRRP instances.
#[derive(Clone)]
pub struct VrrpAdmin {
    instances: Arc<Mutex<Vec<Handle>>>,
}

impl VrrpAdmin {
    /// `tandem vrrp resign|resume [instance]`: every instance, or the named one.
    pub fn resign(&self, instance: Option<&str>, resign: bool) -> Result<String, String> {
        let list = self
            .instances
            .lock()
            .map_err(|_| "the VRRP instances are not available".to_string())?;
        let mut done = Vec::new();
        for h in list.iter() {
            if instance.is_some_and(|n| n != h.name) {
                continue;
            }
            let reason = resign.then(|| "operator maintenance (tandem vrrp resign)".to_string());
            if !h.resign(reason) {
                return Err(format!("instance {} is busy; try again", h.name));
            }
            done.push(h.name.clone());
        }
        if done.is_empty() {
            return Err(match instance {
                Some(n) => format!(
                    "no VRRP instance `{n}`; instances: {}",
                    list.iter()
                        .map(|h| h.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => "no VRRP instance is configured".into(),
            });
        }
        Ok(if resign {
            format!(
                "resigned: {} (FAULT: a master hands its VIPs to the peer with priority 0; `tandem vrrp resume` ends it)\n",
                done.join(", ")
            )
        } else {
            format!("resumed: {}\n", done.join(", "))
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VrrpError {
    #[error(transparent)]
    Net(#[from] NetError),
}

/// The health signals an instance tracks, with their weights (0: FAULT while failing).
/// Its own interface is always tracked: down means FAULT, unless `track_interfaces`
/// gives it a weight.
pub fn trackers_for(inst: &VrrpInstance, scripts: &[TrackScript]) -> Vec<TrackerRef> {
    let mut out = Vec::new();
    if !inst
        .track_interfaces
        .iter()
        .any(|t| t.name == inst.interface)
    {
        out.push(TrackerRef {
            key: interface_key(&inst.interface),
            label: format!("interface {}", inst.interface),
            weight: 0,
        });
    }
    for t in &inst.track_interfaces {
        out.push(TrackerRef {
            key: interface_key(&t.name),
            label: format!("interface {}", t.name),
            weight: t.weight.unwrap_or(0),
        });
    }
    for t in &inst.track_scripts {
        let default = scripts
            .iter()
            .find(|s| s.name == t.name)
            .map(|s| s.weight)
            .unwrap_or(0);
        out.push(TrackerRef {
            key: script_key(&t.name),
            label: format!("track script `{}`", t.name),
            weight: t.weight.unwrap_or(default),
        });
    }
    for t in &inst.track_listeners {
        out.push(TrackerRef {
            key: listener_key(&t.name),
            label: format!("listener `{}`", t.name),
            weight: t.weight.unwrap_or(0),
        });
    }
    if let Some(w) = inst.track_router {
        out.push(TrackerRef {
            key: ROUTER_KEY.to_string(),
            label: "router".to_string(),
            weight: w,
        });
    }
    out
}

impl Vrrp {
    /// Starts every instance (each retries on its own while its interface is missing).
    pub fn start(cfg: &Config, metrics: VrrpMetrics, hub: TrackHub) -> Result<Vrrp, VrrpError> {
        let empty = VrrpConfig {
            instances: Vec::new(),
            sync_groups: Vec::new(),
            notify_fifo: None,
        };
        let vc = cfg.vrrp.as_ref().unwrap_or(&empty);
        let net = Netlink::open()?;
        let demux = Demux::new(metrics.clone());
        let fifo = vc.notify_fifo.clone().map(Fifo::open);
        let groups = sync::by_member(&vc.sync_groups);
        let v = Vrrp {
            net,
            demux,
            metrics,
            hub,
            fifo,
            groups,
            group_config: vc.sync_groups.clone(),
            instances: Arc::new(Mutex::new(Vec::new())),
        };
        let handles = vc
            .instances
            .iter()
            .map(|i| v.spawn(i, &cfg.track_scripts))
            .collect();
        if let Ok(mut list) = v.instances.lock() {
            *list = handles;
        }
        Ok(v)
    }

    fn spawn(&self, inst: &VrrpInstance, scripts: &[TrackScript]) -> Handle {
        instance::spawn(
            inst.clone(),
            trackers_for(inst, scripts),
            Context {
                net: self.net.clone(),
                demux: self.demux.clone(),
                metrics: self.metrics.clone(),
                hub: self.hub.clone(),
                group: self.groups.get(&inst.name).cloned(),
                fifo: self.fifo.clone(),
            },
        )
    }

    /// A status provider for `/status`.
    /// The handle the admin socket uses (`tandem vrrp resign|resume`).
    pub fn admin(&self) -> VrrpAdmin {
        VrrpAdmin {
            instances: self.instances.clone(),
        }
    }

    pub fn status_provider(&self) -> impl Fn() -> Value + Send + Sync + 'static {
        let instances = self.instances.clone();
        move || {
            let list: Vec<Value> = instances
                .lock()
                .map(|v| {
                    v.iter()
                        .filter_map(|h| h.status.lock().ok().map(|s| s.to_json()))
                        .collect()
                })
                .unwrap_or_default();
            json!({ "enabled": true, "running": true, "instances": list })
        }
    }

    /// Applies a reloaded config: new instances start, removed ones stop gracefully,
    /// changed ones are updated in place (or restarted when their interface, VRID,
    /// version, addressing or sync group changed).
    pub async fn apply(&mut self, cfg: &Config) {
        let Some(vc) = cfg.vrrp.as_ref() else { return };
        let groups_changed = vc.sync_groups != self.group_config;
        if groups_changed {
            self.groups = sync::by_member(&vc.sync_groups);
            self.group_config = vc.sync_groups.clone();
        }
        let in_group = |name: &str, list: &[crate::config::vrrp::SyncGroup]| {
            list.iter().any(|g| g.instances.iter().any(|i| i == name))
        };
        let old: Vec<Handle> = match self.instances.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(_) => return,
        };
        let mut keep = Vec::new();
        for mut h in old {
            let regroup = groups_changed
                && (in_group(&h.name, &vc.sync_groups)
                    || h.status
                        .lock()
                        .map(|s| s.sync_group.is_some())
                        .unwrap_or(false));
            match vc.instances.iter().find(|i| i.name == h.name) {
                None => {
                    tracing::info!(instance = %h.name, "({}) removed from the config: stopping", h.name);
                    let name = h.name.clone();
                    h.stop().await;
                    self.metrics.forget(&name);
                }
                Some(new)
                    if !regroup && instance::identity(new) == instance::identity(&h.config) =>
                {
                    let trackers = trackers_for(new, &cfg.track_scripts);
                    if *new != h.config || trackers != h.trackers {
                        h.reconfigure(new.clone(), trackers).await;
                    }
                    keep.push(h);
                }
                Some(new) => {
                    tracing::info!(instance = %h.name, "({}) interface, VRID, version, addressing or sync group changed: restarting", h.name);
                    h.stop().await;
                    keep.push(self.spawn(new, &cfg.track_scripts));
                }
            }
        }
        for i in &vc.instances {
            if !keep.iter().any(|h| h.name == i.name) {
                keep.push(self.spawn(i, &cfg.track_scripts));
            }
        }
        if let Ok(mut v) = self.instances.lock() {
            *v = keep;
        }
    }

    /// Stops every instance gracefully: masters send priority 0 and drop their VIPs.
    pub async fn stop(self) {
        let handles: Vec<Handle> = match self.instances.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(_) => return,
        };
        let stops: Vec<_> = handles.into_iter().map(|h| h.stop()).collect();
        futures_util::future::join_all(stops).await;
    }
}
