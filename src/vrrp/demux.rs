//! One receive task per interface and address family: reads the shared raw socket,
//! decodes, and hands each advert to the instance with its VRID.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::metrics::VrrpMetrics;
use super::packet::{Advert, ChecksumStyle};
use super::socket::{Received, VrrpSocket};

/// A decoded advert on its way to an instance.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub rx: Received,
    pub advert: Advert,
    pub style: ChecksumStyle,
    pub at: Instant,
}

type Routes = Arc<Mutex<HashMap<u8, mpsc::Sender<Inbound>>>>;

struct Port {
    socket: Arc<VrrpSocket>,
    routes: Routes,
    task: JoinHandle<()>,
    multicast: bool,
    /// The interface's index when the socket was opened: a re-created interface (same
    /// name, new index) needs a new socket.
    ifindex: u32,
}

/// The shared receive side. Cheap to clone.
#[derive(Clone)]
pub struct Demux {
    ports: Arc<Mutex<HashMap<(String, bool), Port>>>,
    metrics: VrrpMetrics,
}

/// How deep an instance's inbound queue may get before packets are dropped.
pub const QUEUE: usize = 256;

impl Demux {
    pub fn new(metrics: VrrpMetrics) -> Demux {
        Demux {
            ports: Arc::new(Mutex::new(HashMap::new())),
            metrics,
        }
    }

    /// Routes adverts for `vrid` on (`ifname`, family) to `tx`; returns the socket to
    /// send on. Fails if another instance already has that VRID there.
    pub fn register(
        &self,
        ifname: &str,
        ifindex: u32,
        v6: bool,
        multicast: bool,
        vrid: u8,
        tx: mpsc::Sender<Inbound>,
    ) -> std::io::Result<Arc<VrrpSocket>> {
        let mut ports = self
            .ports
            .lock()
            .map_err(|_| std::io::Error::other("demux lock poisoned"))?;
        let key = (ifname.to_string(), v6);
        if let Some(p) = ports.get_mut(&key) {
            if (multicast && !p.multicast) || ifindex != p.ifindex {
                // Reopen with the group joined, or on the re-created interface; the old
                // task ends when its socket goes.
                let want = multicast || p.multicast;
                let socket = Arc::new(VrrpSocket::open(ifname, ifindex, v6, want)?);
                p.task.abort();
                p.task = spawn_reader(socket.clone(), p.routes.clone(), self.metrics.clone());
                p.socket = socket;
                p.multicast = want;
                p.ifindex = ifindex;
            }
            let mut routes = p
                .routes
                .lock()
                .map_err(|_| std::io::Error::other("demux lock poisoned"))?;
            if routes.contains_key(&vrid) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    format!("VRID {vrid} is already used on {ifname}"),
                ));
            }
            routes.insert(vrid, tx);
            return Ok(p.socket.clone());
        }
        let socket = Arc::new(VrrpSocket::open(ifname, ifindex, v6, multicast)?);
        let routes: Routes = Arc::new(Mutex::new(HashMap::from([(vrid, tx)])));
        let task = spawn_reader(socket.clone(), routes.clone(), self.metrics.clone());
        ports.insert(
            key,
            Port {
                socket: socket.clone(),
                routes,
                task,
                multicast,
                ifindex,
            },
        );
        Ok(socket)
    }

    /// Stops routing `vrid`; the port closes with its last instance.
    pub fn unregister(&self, ifname: &str, v6: bool, vrid: u8) {
        let Ok(mut ports) = self.ports.lock() else {
            return;
        };
        let key = (ifname.to_string(), v6);
        let empty = match ports.get(&key) {
            Some(p) => match p.routes.lock() {
                Ok(mut r) => {
                    r.remove(&vrid);
                    r.is_empty()
                }
                Err(_) => false,
            },
            None => false,
        };
        if empty && let Some(p) = ports.remove(&key) {
            p.task.abort();
        }
    }
}

fn spawn_reader(socket: Arc<VrrpSocket>, routes: Routes, metrics: VrrpMetrics) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_error_log: Option<Instant> = None;
        loop {
            let rx = match socket.recv().await {
                Ok(r) => r,
                Err(e) => {
                    if last_error_log.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                        tracing::warn!("VRRP receive failed: {e}");
                        last_error_log = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            dispatch(rx, &routes, &metrics);
        }
    })
}

fn dispatch(rx: Received, routes: &Routes, metrics: &VrrpMetrics) {
    let (advert, style) = match Advert::decode(&rx.payload, rx.src, rx.dst) {
        Ok(v) => v,
        Err(e) => {
            metrics.drop_reason(e.reason());
            tracing::debug!(peer = %rx.src, "dropped a VRRP packet from {}: {e}", rx.src);
            return;
        }
    };
    let tx = routes
        .lock()
        .ok()
        .and_then(|r| r.get(&advert.vrid).cloned());
    let Some(tx) = tx else {
        metrics.drop_reason("wrong_vrid");
        tracing::debug!(peer = %rx.src, vrid = advert.vrid, "dropped an advert for VRID {} from {}: no instance here", advert.vrid, rx.src);
        return;
    };
    let inbound = Inbound {
        rx,
        advert,
        style,
        at: Instant::now(),
    };
    if tx.try_send(inbound).is_err() {
        metrics.drop_reason("queue_full");
    }
}
