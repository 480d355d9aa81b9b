//! A server's live state: health, admin state, weight, connection counts and statistics.
//! Shared (`Arc`) between the accept loop, its sessions, the health checker and the admin
//! commands; it survives reloads when the server keeps its name and address.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime};

use tokio::sync::watch;

use crate::config::balancer::Server;

/// Operator state (haproxy `set server ... state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admin {
    Ready,
    /// No new connections; established ones stay; checks go on.
    Drain,
    /// No traffic, no checks.
    Maint,
}

impl Admin {
    pub fn name(self) -> &'static str {
        match self {
            Admin::Ready => "ready",
            Admin::Drain => "drain",
            Admin::Maint => "maint",
        }
    }

    fn from_u8(v: u8) -> Admin {
        match v {
            1 => Admin::Drain,
            2 => Admin::Maint,
            _ => Admin::Ready,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Admin::Ready => 0,
            Admin::Drain => 1,
            Admin::Maint => 2,
        }
    }
}

#[derive(Debug, Default)]
pub struct Counters {
    pub connections: AtomicU64,
    pub max_active: AtomicU32,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub connect_errors: AtomicU64,
    pub retries: AtomicU64,
    pub redispatches: AtomicU64,
    pub check_failures: AtomicU64,
    pub downs: AtomicU64,
}

/// Health-check details for status and `show stat`.
#[derive(Debug, Clone, Default)]
pub struct CheckInfo {
    pub last: Option<String>,
    pub last_duration_ms: u64,
    pub last_change: Option<SystemTime>,
    pub down_since: Option<Instant>,
    pub downtime_secs: u64,
}

#[derive(Debug)]
pub struct ServerState {
    pub cfg: Server,
    up: AtomicBool,
    admin: AtomicU8,
    weight: AtomicU32,
    pub active: AtomicU32,
    pub counters: Counters,
    pub check: Mutex<CheckInfo>,
    /// Bumped to close this server's sessions (shutdown_sessions, maint).
    kill: watch::Sender<u64>,
    /// Its metric series, set when its listener adopts it.
    pub metrics: OnceLock<super::metrics::ServerMetrics>,
}

impl ServerState {
    pub fn new(cfg: Server) -> ServerState {
        let (kill, _) = watch::channel(0u64);
        ServerState {
            up: AtomicBool::new(true),
            admin: AtomicU8::new(0),
            weight: AtomicU32::new(u32::from(cfg.weight)),
            active: AtomicU32::new(0),
            counters: Counters::default(),
            check: Mutex::new(CheckInfo {
                last_change: Some(SystemTime::now()),
                ..CheckInfo::default()
            }),
            kill,
            cfg,
            metrics: OnceLock::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn addr(&self) -> SocketAddr {
        self.cfg.address
    }

    /// Health (true until checks say otherwise, as haproxy starts servers up).
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    pub fn set_up(&self, up: bool) {
        let was = self.up.swap(up, Ordering::Relaxed);
        if was != up {
            if let Ok(mut c) = self.check.lock() {
                c.last_change = Some(SystemTime::now());
                if up {
                    if let Some(t) = c.down_since.take() {
                        c.downtime_secs += t.elapsed().as_secs();
                    }
                } else {
                    c.down_since = Some(Instant::now());
                }
            }
            if !up {
                self.counters.downs.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn admin(&self) -> Admin {
        Admin::from_u8(self.admin.load(Ordering::Relaxed))
    }

    pub fn set_admin(&self, a: Admin) {
        self.admin.store(a.to_u8(), Ordering::Relaxed);
    }

    /// The runtime weight (`set weight`), before drain is applied.
    pub fn weight(&self) -> u32 {
        self.weight.load(Ordering::Relaxed)
    }

    pub fn set_weight(&self, w: u32) {
        self.weight.store(w, Ordering::Relaxed);
    }

    /// What the picker uses: 0 while draining.
    pub fn effective_weight(&self) -> u32 {
        match self.admin() {
            Admin::Ready => self.weight(),
            _ => 0,
        }
    }

    /// Takes new connections at all (up and not in maintenance).
    pub fn available(&self) -> bool {
        self.is_up() && self.admin() != Admin::Maint
    }

    /// A receiver that changes when this server's sessions must close.
    pub fn kill_signal(&self) -> watch::Receiver<u64> {
        self.kill.subscribe()
    }

    /// Closes the established sessions of this server.
    pub fn kill_sessions(&self) {
        self.kill.send_modify(|g| *g += 1);
    }

    /// Counts a new session; returns a guard that un-counts it.
    pub fn enter(self: &std::sync::Arc<Self>) -> Active {
        let n = self.active.fetch_add(1, Ordering::Relaxed) + 1;
        self.counters.max_active.fetch_max(n, Ordering::Relaxed);
        self.counters.connections.fetch_add(1, Ordering::Relaxed);
        Active(self.clone())
    }
}

/// A live session on a server.
pub struct Active(std::sync::Arc<ServerState>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}
