//! VRRP: keepalived-compatible elections and VIP ownership.
//!
//! `packet` (codec) and `machine` (RFC 5798 state machine) are pure; `socket`, `demux`
//! and `instance` are the tokio IO around them.

pub mod demux;
pub mod instance;
pub mod machine;
pub mod metrics;
pub mod packet;
pub mod socket;

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::config::vrrp::VrrpConfig;
use crate::net::link::{NetError, Netlink};
use demux::Demux;
use instance::Handle;
use metrics::VrrpMetrics;

/// The running VRRP subsystem.
pub struct Vrrp {
    net: Netlink,
    demux: Demux,
    metrics: VrrpMetrics,
    instances: Arc<Mutex<Vec<Handle>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum VrrpError {
    #[error(transparent)]
    Net(#[from] NetError),
}

impl Vrrp {
    /// Starts every instance (each retries on its own while its interface is missing).
    pub fn start(cfg: &VrrpConfig, metrics: VrrpMetrics) -> Result<Vrrp, VrrpError> {
        let net = Netlink::open()?;
        let demux = Demux::new(metrics.clone());
        let handles = cfg
            .instances
            .iter()
            .map(|i| instance::spawn(i.clone(), net.clone(), demux.clone(), metrics.clone()))
            .collect();
        Ok(Vrrp {
            net,
            demux,
            metrics,
            instances: Arc::new(Mutex::new(handles)),
        })
    }

    /// A status provider for `/status`.
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
    /// version or addressing changed).
    pub async fn apply(&self, cfg: &VrrpConfig) {
        let old: Vec<Handle> = match self.instances.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(_) => return,
        };
        let mut keep = Vec::new();
        for mut h in old {
            match cfg.instances.iter().find(|i| i.name == h.name) {
                None => {
                    tracing::info!(instance = %h.name, "({}) removed from the config: stopping", h.name);
                    let name = h.name.clone();
                    h.stop().await;
                    self.metrics.forget(&name);
                }
                Some(new) if *new == h.config => keep.push(h),
                Some(new) if instance::identity(new) == instance::identity(&h.config) => {
                    h.reconfigure(new.clone()).await;
                    keep.push(h);
                }
                Some(new) => {
                    tracing::info!(instance = %h.name, "({}) interface, VRID, version or addressing changed: restarting", h.name);
                    h.stop().await;
                    keep.push(instance::spawn(
                        new.clone(),
                        self.net.clone(),
                        self.demux.clone(),
                        self.metrics.clone(),
                    ));
                }
            }
        }
        for i in &cfg.instances {
            if !keep.iter().any(|h| h.name == i.name) {
                keep.push(instance::spawn(
                    i.clone(),
                    self.net.clone(),
                    self.demux.clone(),
                    self.metrics.clone(),
                ));
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
