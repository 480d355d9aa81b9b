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

use crate::config::model::Config;
use crate::config::vrrp::{VrrpConfig, VrrpInstance};
use crate::net::addr::AddrWatch;
use crate::net::link::{NetError, Netlink};
use crate::track::{
    ROUTER_KEY, TrackHub, file_key, interface_key, listener_key, process_key, script_key,
};
use demux::Demux;
use instance::{Context, Handle, TrackerRef};
use metrics::VrrpMetrics;
use notify::{Fifo, FifoSlot};
use sync::Group;
use tokio::sync::watch;

/// An instance being stopped in the background (removed from the config, or restarted).
struct Stopping {
    config: VrrpInstance,
    /// `true` once it is gone (VIPs removed, socket closed, STOP hooks run or timed out).
    done: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Stopping {
    fn is_done(&self) -> bool {
        *self.done.borrow() || self.task.is_finished()
    }
}

/// Whether instance `new` must wait for `old` to be stopped before it starts: the same
/// instance (its STOP hooks run before the new run's hooks), the same VRID on the same
/// interface and family (one socket route per VRID), or a VIP in common (the old one
/// removes its VIPs on the way out).
pub fn must_wait_for(new: &VrrpInstance, old: &VrrpInstance) -> bool {
    let vips = |c: &VrrpInstance| {
        c.virtual_ipaddresses
            .iter()
            .map(|v| v.address.addr())
            .collect::<Vec<_>>()
    };
    let old_vips = vips(old);
    new.name == old.name
        || (new.interface == old.interface
            && new.virtual_router_id == old.virtual_router_id
            && new.is_ipv6() == old.is_ipv6())
        || vips(new).iter().any(|a| old_vips.contains(a))
}

/// The sync groups of a reloaded config, by member: a group whose name and members are
/// unchanged keeps its running `Group` (its members need no change), any other is new.
fn regroup(
    old_config: &[crate::config::vrrp::SyncGroup],
    old: &HashMap<String, Group>,
    new_config: &[crate::config::vrrp::SyncGroup],
) -> HashMap<String, Group> {
    let mut out = HashMap::new();
    for g in new_config {
        let kept = old_config
            .contains(g)
            .then(|| g.instances.first().and_then(|m| old.get(m)).cloned())
            .flatten()
            .filter(|running| running.name == g.name);
        let group = kept.unwrap_or_else(|| Group::new(&g.name, &g.instances));
        for m in &g.instances {
            out.insert(m.clone(), group.clone());
        }
    }
    out
}

/// The running VRRP subsystem.
pub struct Vrrp {
    net: Netlink,
    /// Address notifications: a master puts back a VIP someone else removed.
    addrs: AddrWatch,
    demux: Demux,
    metrics: VrrpMetrics,
    hub: TrackHub,
    fifo: FifoSlot,
    groups: HashMap<String, Group>,
    group_config: Vec<crate::config::vrrp::SyncGroup>,
    instances: Arc<Mutex<Vec<Handle>>>,
    /// Instances a reload stops, off the main loop.
    stopping: Vec<Stopping>,
    /// A previous VRRP subsystem still stopping (see `start_after`).
    prior: Option<watch::Receiver<bool>>,
}

/// A VRRP subsystem stopping in the background (see `Vrrp::stop_detached`).
#[derive(Clone)]
pub struct Stopped(watch::Receiver<bool>);

/// See [`Vrrp::prepare`].
pub struct Prepared {
    net: Netlink,
    addrs: AddrWatch,
}

impl Stopped {
    pub fn is_done(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until it is gone (its STOP hooks run or timed out).
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|done| *done).await;
    }
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
        // Already in the state asked for: resigned twice, or resumed without a resign.
        let mut already = Vec::new();
        for h in list.iter() {
            if instance.is_some_and(|n| n != h.name) {
                continue;
            }
            let reason = resign.then(|| "operator maintenance (tandem vrrp resign)".to_string());
            match h.resign(reason) {
                None => return Err(format!("instance {} is busy; try again", h.name)),
                Some(was) if was == resign => already.push(h.name.clone()),
                Some(_) => done.push(h.name.clone()),
            }
        }
        if done.is_empty() && already.is_empty() {
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
        let mut out = String::new();
        if !done.is_empty() {
            out.push_str(&if resign {
                format!(
                    "resigned: {} (FAULT: a master hands its VIPs to the peer with priority 0; `tandem vrrp resume` ends it)\n",
                    done.join(", ")
                )
            } else {
                format!("resumed: {}\n", done.join(", "))
            });
        }
        if !already.is_empty() {
            out.push_str(&if resign {
                format!("already resigned: {}\n", already.join(", "))
            } else {
                format!("not resigned, nothing to resume: {}\n", already.join(", "))
            });
        }
        Ok(out)
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
pub fn trackers_for(inst: &VrrpInstance, cfg: &Config) -> Vec<TrackerRef> {
    let scripts = &cfg.track_scripts;
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
            reverse: false,
        });
    }
    for t in &inst.track_interfaces {
        out.push(TrackerRef {
            key: interface_key(&t.name),
            label: format!("interface {}", t.name),
            weight: t.weight.unwrap_or(0),
            reverse: t.reverse.unwrap_or(false),
        });
    }
    for t in &inst.track_scripts {
        let script = scripts.iter().find(|s| s.name == t.name);
        out.push(TrackerRef {
            key: script_key(&t.name),
            label: format!("track script `{}`", t.name),
            weight: t.weight.unwrap_or(script.map_or(0, |s| s.weight)),
            reverse: t.reverse.unwrap_or(script.is_some_and(|s| s.reverse)),
        });
    }
    for t in &inst.track_processes {
        let def = cfg.track_process(&t.name);
        out.push(TrackerRef {
            key: process_key(&t.name),
            label: format!("track process `{}`", t.name),
            weight: t.weight.unwrap_or(def.map_or(0, |p| p.weight)),
            reverse: t.reverse.unwrap_or(def.is_some_and(|p| p.reverse)),
        });
    }
    for t in &inst.track_files {
        let def = cfg.track_file(&t.name);
        out.push(TrackerRef {
            key: file_key(&t.name),
            label: format!("track file `{}`", t.name),
            weight: t.weight.unwrap_or(def.map_or(1, |f| f.weight)),
            reverse: t.reverse.unwrap_or(def.is_some_and(|f| f.reverse)),
        });
    }
    for t in &inst.track_listeners {
        out.push(TrackerRef {
            key: listener_key(&t.name),
            label: format!("listener `{}`", t.name),
            weight: t.weight.unwrap_or(0),
            reverse: t.reverse.unwrap_or(false),
        });
    }
    if let Some(w) = inst.track_router {
        out.push(TrackerRef {
            key: ROUTER_KEY.to_string(),
            label: "router".to_string(),
            weight: w,
            reverse: false,
        });
    }
    out
}

impl Vrrp {
    /// Starts every instance (each retries on its own while its interface is missing).
    pub fn start(cfg: &Config, metrics: VrrpMetrics, hub: TrackHub) -> Result<Vrrp, VrrpError> {
        Ok(Vrrp::start_after(cfg, metrics, hub, Vrrp::prepare()?, None))
    }

    /// What starting VRRP needs that can fail (the netlink sockets), obtained before a
    /// reload that enables VRRP changes anything else.
    pub fn prepare() -> Result<Prepared, VrrpError> {
        Ok(Prepared {
            net: Netlink::open()?,
            addrs: AddrWatch::start()?,
        })
    }

    /// `start` with a [`Prepared`], every instance first waiting until `after` (a VRRP
    /// subsystem a reload disabled and that is still stopping, see `stop_detached`) is
    /// gone.
    pub fn start_after(
        cfg: &Config,
        metrics: VrrpMetrics,
        hub: TrackHub,
        prepared: Prepared,
        after: Option<Stopped>,
    ) -> Vrrp {
        let empty = VrrpConfig {
            instances: Vec::new(),
            sync_groups: Vec::new(),
            notify_fifo: None,
        };
        let vc = cfg.vrrp.as_ref().unwrap_or(&empty);
        let Prepared { net, addrs } = prepared;
        let demux = Demux::new(metrics.clone());
        let fifo = FifoSlot::new(vc.notify_fifo.clone().map(Fifo::open));
        let groups = sync::by_member(&vc.sync_groups);
        let v = Vrrp {
            net,
            addrs,
            demux,
            metrics,
            hub,
            fifo,
            groups,
            group_config: vc.sync_groups.clone(),
            instances: Arc::new(Mutex::new(Vec::new())),
            stopping: Vec::new(),
            prior: after.map(|s| s.0),
        };
        let handles = vc.instances.iter().map(|i| v.spawn(i, cfg)).collect();
        if let Ok(mut list) = v.instances.lock() {
            *list = handles;
        }
        v
    }

    /// Starts an instance once the instances being stopped that it overlaps with are gone.
    fn spawn(&self, inst: &VrrpInstance, cfg: &Config) -> Handle {
        let after = self
            .stopping
            .iter()
            .filter(|s| !s.is_done() && must_wait_for(inst, &s.config))
            .map(|s| s.done.clone())
            .chain(self.prior.clone().filter(|p| !*p.borrow()))
            .collect();
        instance::spawn(
            inst.clone(),
            trackers_for(inst, cfg),
            Context {
                net: self.net.clone(),
                addrs: self.addrs.clone(),
                demux: self.demux.clone(),
                metrics: self.metrics.clone(),
                hub: self.hub.clone(),
                group: self.groups.get(&inst.name).cloned(),
                fifo: self.fifo.clone(),
            },
            after,
        )
    }

    /// Stops an instance in a task of its own: the caller (the daemon's main loop) goes
    /// on at once, however long the STOP hooks take. `Handle::stop` bounds the wait.
    fn stop_in_background(&mut self, h: Handle, forget: bool) {
        let (tx, done) = watch::channel(false);
        let config = h.config.clone();
        let metrics = self.metrics.clone();
        let task = tokio::spawn(async move {
            let name = h.name.clone();
            h.stop().await;
            if forget {
                metrics.forget(&name);
            }
            tracing::info!(instance = %name, "({name}) stopped");
            let _ = tx.send(true);
        });
        self.stopping.push(Stopping { config, done, task });
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

    /// Applies a reloaded config: new instances start, removed ones stop gracefully in
    /// the background (the caller does not wait for their STOP hooks), changed ones are
    /// updated in place — including their notify hooks, unicast peers and sync group —
    /// or restarted when their interface, VRID, version or addressing changed.
    pub async fn apply(&mut self, cfg: &Config) {
        let Some(vc) = cfg.vrrp.as_ref() else { return };
        self.stopping.retain(|s| !s.is_done());
        if self.fifo.path() != vc.notify_fifo {
            match &vc.notify_fifo {
                Some(p) => tracing::info!("notify FIFO is now {}", p.display()),
                None => tracing::info!("notify FIFO closed (no `notify_fifo`)"),
            }
            self.fifo.set(vc.notify_fifo.as_deref());
        } else if let Some(p) = &vc.notify_fifo
            && self.fifo.stale()
        {
            // Same path, but it could not be opened before, or it was replaced since.
            tracing::info!("notify FIFO {} reopened", p.display());
            self.fifo.set(Some(p));
        }
        let groups = regroup(&self.group_config, &self.groups, &vc.sync_groups);
        let old_groups = std::mem::replace(&mut self.groups, groups);
        self.group_config = vc.sync_groups.clone();
        let same_group = |a: Option<&Group>, b: Option<&Group>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => a.same(b),
            _ => false,
        };
        let old: Vec<Handle> = match self.instances.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(_) => return,
        };
        let mut keep = Vec::new();
        for mut h in old {
            match vc.instances.iter().find(|i| i.name == h.name) {
                None => {
                    tracing::info!(instance = %h.name, "({}) removed from the config: stopping", h.name);
                    self.stop_in_background(h, true);
                }
                Some(new) if instance::identity(new) == instance::identity(&h.config) => {
                    let trackers = trackers_for(new, cfg);
                    if *new != h.config || trackers != h.trackers {
                        h.reconfigure(new.clone(), trackers).await;
                    }
                    let group = self.groups.get(&h.name);
                    if !same_group(old_groups.get(&h.name), group) {
                        h.set_group(group.cloned()).await;
                    }
                    keep.push(h);
                }
                Some(_) => {
                    tracing::info!(instance = %h.name, "({}) interface, VRID, version or addressing changed: restarting", h.name);
                    // Started below, once every stop of this reload is known: the new
                    // run may overlap with another instance this reload stops (its VRID
                    // or VIPs), not only with its own previous run.
                    self.stop_in_background(h, false);
                }
            }
        }
        for i in &vc.instances {
            if !keep.iter().any(|h| h.name == i.name) {
                keep.push(self.spawn(i, cfg));
            }
        }
        keep.sort_by_key(|h| vc.instances.iter().position(|i| i.name == h.name));
        if let Ok(mut v) = self.instances.lock() {
            *v = keep;
        }
    }

    /// `stop` in a task of its own, for a reload that disables VRRP: the caller goes on
    /// at once, however long the STOP hooks take.
    pub fn stop_detached(self) -> Stopped {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            self.stop().await;
            tracing::info!("vrrp stopped (its instances' STOP hooks are done)");
            let _ = tx.send(true);
        });
        Stopped(rx)
    }

    /// Stops every instance gracefully: masters send priority 0 and drop their VIPs.
    pub async fn stop(self) {
        let handles: Vec<Handle> = match self.instances.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(_) => return,
        };
        let stops: Vec<_> = handles.into_iter().map(|h| h.stop()).collect();
        // Instances a reload was still stopping finish too (each is bounded).
        let background = self.stopping.into_iter().map(|s| async move {
            let _ = s.task.await;
        });
        futures_util::future::join(
            futures_util::future::join_all(stops),
            futures_util::future::join_all(background),
        )
        .await;
        // And so does a VRRP subsystem a reload disabled before this one was enabled:
        // stopped only once that one is too, so whatever waits for this stop (a VRRP
        // enabled again, the daemon's shutdown) also waits for that one's STOP hooks.
        if let Some(mut p) = self.prior {
            let _ = p.wait_for(|done| *done).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vrrp::SyncGroup;

    fn instances(yaml: &str) -> Vec<VrrpInstance> {
        let src = format!("node: t\nvrrp:\n  instances:\n{yaml}");
        match crate::config::check_str(&src, "t.yaml", std::path::Path::new("/")).into_result() {
            Ok((cfg, _)) => cfg.vrrp.map(|v| v.instances).unwrap_or_default(),
            Err(e) => panic!("{e:?}"),
        }
    }

    fn inst(name: &str, iface: &str, vrid: u8, vip: &str) -> String {
        format!(
            "    - {{ name: {name}, interface: {iface}, virtual_router_id: {vrid}, priority: 100, virtual_ipaddresses: [\"{vip}\"] }}\n"
        )
    }

    /// Disabled, enabled and disabled again while the first run's STOP hooks still run:
    /// the second run's stop is not done before the first one is (a VRRP enabled again
    /// waits for it alone, and the daemon's shutdown too).
    #[tokio::test]
    async fn a_stop_waits_for_the_run_a_reload_disabled_before() {
        let cfg = match crate::config::check_str("node: t\n", "t.yaml", std::path::Path::new("/"))
            .into_result()
        {
            Ok((cfg, _)) => cfg,
            Err(e) => panic!("{e:?}"),
        };
        let metrics = match VrrpMetrics::register(&prometheus::Registry::new()) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        };
        let prepared = match Vrrp::prepare() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let (first, first_done) = watch::channel(false);
        let second = Vrrp::start_after(
            &cfg,
            metrics,
            TrackHub::new(),
            prepared,
            Some(Stopped(first_done)),
        )
        .stop_detached();
        for _ in 0..20 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(!second.is_done(), "stopped before the first run");
        let _ = first.send(true);
        let done = tokio::time::timeout(std::time::Duration::from_secs(10), second.wait()).await;
        assert!(done.is_ok(), "not stopped once the first run was");
    }

    #[test]
    fn a_new_instance_waits_only_for_overlapping_stops() {
        let v = instances(
            &[
                inst("VI_1", "eth0", 51, "198.18.0.100/24"),
                inst("VI_2", "eth0", 52, "198.18.0.101/24"),
                inst("VI_3", "eth1", 51, "198.18.1.100/24"),
            ]
            .concat(),
        );
        assert_eq!(v.len(), 3);
        // (Two instances of one config cannot share a VIP; one of a later config can.)
        let shares = instances(&inst("VI_4", "eth0", 53, "198.18.0.100/24"));
        // Itself (its STOP hooks before its new run).
        assert!(must_wait_for(&v[0], &v[0]));
        // Another VRID, other VIPs: independent.
        assert!(!must_wait_for(&v[1], &v[0]));
        // Same VRID on another interface: independent.
        assert!(!must_wait_for(&v[2], &v[0]));
        // A VIP in common.
        assert!(must_wait_for(&shares[0], &v[0]));
        // Same VRID and interface, under another name.
        let renamed = instances(&inst("VI_X", "eth0", 51, "198.18.0.200/24"));
        assert!(must_wait_for(&renamed[0], &v[0]));
    }

    #[test]
    fn unchanged_groups_keep_running_changed_ones_are_new() {
        let g = |name: &str, m: &[&str]| SyncGroup {
            name: name.into(),
            instances: m.iter().map(|s| s.to_string()).collect(),
        };
        let old_cfg = vec![g("A", &["VI_1", "VI_2"]), g("B", &["VI_3", "VI_4"])];
        let old = sync::by_member(&old_cfg);
        let new_cfg = vec![g("A", &["VI_1", "VI_2"]), g("B", &["VI_3", "VI_5"])];
        let new = regroup(&old_cfg, &old, &new_cfg);
        let same = |a: Option<&Group>, b: Option<&Group>| match (a, b) {
            (Some(a), Some(b)) => a.same(b),
            _ => false,
        };
        assert!(same(old.get("VI_1"), new.get("VI_1")));
        assert!(same(old.get("VI_2"), new.get("VI_2")));
        // B's members changed: a new group for all of its members.
        assert!(!same(old.get("VI_3"), new.get("VI_3")));
        assert!(same(new.get("VI_3"), new.get("VI_5")));
        assert!(!new.contains_key("VI_4"));
        // A renamed group is a new one.
        let renamed = regroup(&old_cfg, &old, &[g("C", &["VI_1", "VI_2"])]);
        assert!(!same(old.get("VI_1"), renamed.get("VI_1")));
        assert_eq!(renamed.get("VI_1").map(|g| g.name.as_str()), Some("C"));
    }
}
