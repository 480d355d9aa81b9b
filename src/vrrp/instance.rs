//! One VRRP instance: a tokio task around the sans-IO machine. It does the receive
//! checks keepalived does, sends adverts, moves the VIPs and announces them, and keeps
//! the log, metrics and status up to date.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::demux::{Demux, Inbound, QUEUE};
use super::machine::{Action, GarpTiming, Machine, MachineConfig, Reason, State};
use super::metrics::VrrpMetrics;
use super::notify::{FifoSlot, Notifier};
use super::packet::{Advert, Auth, ChecksumStyle, Version};
use super::socket::{VrrpSocket, group, is_group};
use super::sync::{Change, Group, MemberView};
use crate::config::vrrp::{V3Checksum, VrrpInstance, VrrpVersion};
use crate::net::addr::{AddrEvent, AddrEvents, AddrWatch, RestoreBackoff, VipSpec};
use crate::net::announce::{FrameSender, garp_frame, na_frame};
use crate::net::link::{
    IfAddr, Netlink, global_ipv6, is_link_local_v6, link_local_ipv6, primary_ipv4,
};
use crate::track::{Health, HealthMap, TrackHub, default_health};

/// Rate limit of repeated warnings (drops, send errors).
const WARN_EVERY: Duration = Duration::from_secs(60);
/// Retry interval while the interface or its address is missing.
const RETRY: Duration = Duration::from_secs(1);
/// A timer that fires this late means the loop did not run (stopped or starved process).
const STALLED: Duration = Duration::from_millis(100);
/// How long a stalled timer waits for adverts still on their way from the socket.
const STALL_GRACE: Duration = Duration::from_millis(100);

pub enum Command {
    Stop(oneshot::Sender<()>),
    Reconfigure(Box<VrrpInstance>, Vec<TrackerRef>),
    /// Operator maintenance: `Some(reason)` holds the instance in FAULT (a master hands
    /// the VIP over with priority 0 first); `None` resumes.
    Resign(Option<String>),
    /// The instance's sync group changed (joined, left, or the group's members changed):
    /// applied in place, the state stays.
    SetGroup(Option<Group>),
}

/// One health signal an instance tracks: weight 0 means FAULT while it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerRef {
    pub key: String,
    pub label: String,
    pub weight: i32,
    /// keepalived's `weight N reverse`: the weight counts in the other direction.
    pub reverse: bool,
}

/// What an instance needs besides its config.
#[derive(Clone)]
pub struct Context {
    pub net: Netlink,
    pub addrs: AddrWatch,
    pub demux: Demux,
    pub metrics: VrrpMetrics,
    pub hub: TrackHub,
    pub group: Option<Group>,
    pub fifo: FifoSlot,
}

/// What `/status` shows of an instance.
#[derive(Debug, Clone)]
pub struct InstanceStatus {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub version: u8,
    pub state: State,
    pub since: SystemTime,
    pub detail: Option<String>,
    pub base_priority: u8,
    pub priority: u8,
    pub master: Option<IpAddr>,
    pub source: Option<IpAddr>,
    pub last_advert: Option<Instant>,
    pub vips: Vec<String>,
    pub vips_held: bool,
    pub sent: u64,
    pub received: u64,
    pub dropped: HashMap<&'static str, u64>,
    pub fault: Option<String>,
    pub trackers: Vec<Value>,
    pub sync_group: Option<String>,
}

impl InstanceStatus {
    pub fn to_json(&self) -> Value {
        let age = self
            .last_advert
            .map(|t| (t.elapsed().as_millis() as f64) / 1000.0);
        json!({
            "name": self.name,
            "interface": self.interface,
            "virtual_router_id": self.vrid,
            "version": self.version,
            "state": self.state.name(),
            "since": humantime::format_rfc3339_seconds(self.since).to_string(),
            "detail": self.detail,
            "priority": self.priority,
            "base_priority": self.base_priority,
            "master": self.master.map(|m| m.to_string()),
            "source": self.source.map(|m| m.to_string()),
            "last_advert_age_seconds": age,
            "vips": self.vips,
            "vips_held": self.vips_held,
            "adverts_sent": self.sent,
            "adverts_received": self.received,
            "dropped": self.dropped,
            "fault": self.fault,
            "trackers": self.trackers,
            "sync_group": self.sync_group,
        })
    }
}

pub struct Handle {
    pub name: String,
    pub config: VrrpInstance,
    pub trackers: Vec<TrackerRef>,
    pub status: Arc<Mutex<InstanceStatus>>,
    tx: mpsc::Sender<Command>,
    task: tokio::task::JoinHandle<()>,
    /// Resigned by the operator (`tandem vrrp resign`) and not resumed since.
    resigned: std::sync::atomic::AtomicBool,
}

impl Handle {
    /// Stops gracefully: a master sends priority 0 and drops its VIPs.
    pub async fn stop(self) {
        let (done, wait) = oneshot::channel();
        // Leaving takes a moment, plus the STOP hooks (bounded by their timeout).
        let limit = Duration::from_secs(5) + self.config.notify.timeout.get() * 2;
        if self.tx.send(Command::Stop(done)).await.is_ok() {
            let _ = tokio::time::timeout(limit, wait).await;
        }
        self.task.abort();
    }

    /// Operator maintenance (`Some(reason)`) or back to normal (`None`): whether it was
    /// resigned before, or `None` when the instance task is gone or busy.
    pub fn resign(&self, reason: Option<String>) -> Option<bool> {
        let resign = reason.is_some();
        self.tx.try_send(Command::Resign(reason)).ok()?;
        Some(
            self.resigned
                .swap(resign, std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Moves the instance to another sync group (or out of any), in place.
    pub async fn set_group(&self, group: Option<Group>) {
        let _ = self.tx.send(Command::SetGroup(group)).await;
    }

    pub async fn reconfigure(&mut self, cfg: VrrpInstance, trackers: Vec<TrackerRef>) {
        self.config = cfg.clone();
        self.trackers = trackers.clone();
        let _ = self
            .tx
            .send(Command::Reconfigure(Box::new(cfg), trackers))
            .await;
    }
}

/// The first unicast peer that is an IPv6 address beyond the link (not link-local).
fn global_peer(c: &VrrpInstance) -> Option<std::net::Ipv6Addr> {
    c.unicast_peers.iter().find_map(|p| match p.address {
        IpAddr::V6(a) if !is_link_local_v6(a) => Some(a),
        _ => None,
    })
}

/// The source address of adverts: `unicast_src_ip` (or `mcast_src_ip`) when set. Else,
/// over IPv4, the interface's primary address; over IPv6, the interface's own
/// link-local address (RFC 5798 §5.1.2.1, and what keepalived sends), except in unicast
/// mode towards a global peer address: then the interface's own global address (the
/// one in the peer's subnet), so that the source is the address the peer lists in its
/// own `unicast_peers` (its unknown-peer check, or keepalived's `check_unicast_src`,
/// drops a link-local source), and one that a router forwards. With no usable global
/// address, the link-local one. Never a VIP.
fn source_address(
    cfg: &VrrpInstance,
    addrs: &[IfAddr],
    vips: &[IpAddr],
    ifname: &str,
) -> Result<IpAddr, String> {
    if let Some(s) = cfg.unicast_src_ip.or(cfg.mcast_src_ip) {
        return Ok(s);
    }
    if cfg.is_ipv6() {
        if let Some(g) = global_peer(cfg).and_then(|peer| global_ipv6(addrs, vips, peer)) {
            return Ok(IpAddr::V6(g));
        }
        return link_local_ipv6(addrs, vips)
            .map(IpAddr::V6)
            .ok_or_else(|| format!("interface {ifname} has no link-local IPv6 address"));
    }
    primary_ipv4(addrs, vips).map(IpAddr::V4).ok_or_else(|| {
        format!(
            "interface {ifname} has no IPv4 address to send adverts from (set unicast_src_ip or mcast_src_ip)"
        )
    })
}

/// Whether `src` is the link-local address an IPv6 instance without a configured source
/// falls back to while its interface has no global address for its global peers.
fn is_fallback_source(cfg: &VrrpInstance, src: IpAddr) -> bool {
    global_peer(cfg).is_some()
        && cfg.unicast_src_ip.or(cfg.mcast_src_ip).is_none()
        && matches!(src, IpAddr::V6(s) if is_link_local_v6(s))
}

/// The parts of an instance that cannot change without restarting it. The unicast peer
/// list is not one of them (only unicast versus multicast is): a changed list is applied
/// in place, as keepalived does, without giving up the VIPs.
pub fn identity(c: &VrrpInstance) -> impl PartialEq + use<> {
    (
        c.interface.clone(),
        c.virtual_router_id,
        c.version,
        c.is_ipv6(),
        c.unicast_src_ip,
        c.is_unicast(),
        c.mcast_src_ip,
    )
}

/// Starts an instance. Its task first waits for `after` (instances being stopped that it
/// must not overlap with: the previous run of the same instance, or one on the same VRID
/// or VIPs) to be done, each signalling `true` (or dropping its sender).
pub fn spawn(
    cfg: VrrpInstance,
    trackers: Vec<TrackerRef>,
    ctx: Context,
    after: Vec<watch::Receiver<bool>>,
) -> Handle {
    let status = Arc::new(Mutex::new(InstanceStatus {
        name: cfg.name.clone(),
        interface: cfg.interface.clone(),
        vrid: cfg.virtual_router_id,
        version: cfg.version.number(),
        state: State::Init,
        since: SystemTime::now(),
        detail: None,
        base_priority: cfg.priority,
        priority: cfg.priority,
        master: None,
        source: None,
        last_advert: None,
        vips: cfg
            .virtual_ipaddresses
            .iter()
            .map(|v| v.address.to_string())
            .collect(),
        vips_held: false,
        sent: 0,
        received: 0,
        dropped: HashMap::new(),
        fault: None,
        trackers: Vec::new(),
        sync_group: ctx.group.as_ref().map(|g| g.name.clone()),
    }));
    let (tx, rx) = mpsc::channel(16);
    let name = cfg.name.clone();
    let task = tokio::spawn(run(
        cfg.clone(),
        trackers.clone(),
        ctx,
        status.clone(),
        rx,
        after,
    ));
    Handle {
        name,
        config: cfg,
        trackers,
        status,
        tx,
        task,
        resigned: std::sync::atomic::AtomicBool::new(false),
    }
}

const OWNER_PRIORITY: u8 = 255;

struct Evaluation {
    priority: u8,
    fault: Option<String>,
    notes: Vec<String>,
    items: Vec<Value>,
}

/// Resolved IO state of a running instance.
struct Io {
    socket: Arc<VrrpSocket>,
    /// The index `interface` had when the socket was opened.
    ifindex: u32,
    src: IpAddr,
    vips: Vec<VipSpec>,
    /// Per VIP interface: (sender, MAC).
    senders: HashMap<u32, (FrameSender, [u8; 6])>,
}

struct Inst {
    cfg: VrrpInstance,
    net: Netlink,
    demux: Demux,
    metrics: VrrpMetrics,
    status: Arc<Mutex<InstanceStatus>>,
    machine: Option<Machine>,
    io: Option<Io>,
    /// Every VIP was added (what /status shows).
    vips_held: bool,
    /// At least one VIP was added: there is something to remove.
    vips_added: bool,
    /// The VIPs (addresses) this instance put on and has not removed since: while MASTER,
    /// one of them missing from its interface was removed by someone else.
    held: HashSet<IpAddr>,
    /// Address notifications (RTM_NEWADDR / RTM_DELADDR).
    addr_events: AddrEvents,
    /// When to look at the VIPs again (a put-back that failed, was held back, or waits
    /// for its interface to come up).
    vip_check: Option<Instant>,
    restore: RestoreBackoff,
    /// Held VIPs that went away with their interface going down (IPv6 addresses do).
    gone_with_link: HashSet<IpAddr>,
    /// Why the IO state must be rebuilt (an interface went away under it).
    io_stale: Option<String>,
    /// The health of the interfaces the IO state uses, as last seen.
    links_seen: Vec<(String, Option<bool>)>,
    /// Where the receive side delivers this instance's adverts.
    inbound: mpsc::Sender<Inbound>,
    warned: HashMap<String, (Instant, u64)>,
    trackers: Vec<TrackerRef>,
    health: watch::Receiver<HealthMap>,
    own_fault: Option<String>,
    /// Held in FAULT by the operator (`tandem vrrp resign`).
    resigned: Option<String>,
    group: Option<Group>,
    group_fault: Option<String>,
    notifier: Option<Notifier>,
    stopping: bool,
    /// A unicast peer sent the VRRPv3 checksum of keepalived ≤ 1.3.6: we send that form
    /// too from then on, as keepalived 2.2.7 does (it could not hear us otherwise).
    old_unicast_checksum: bool,
    /// IPv6 unicast to a global peer without `unicast_src_ip`, while the interface had no
    /// global address yet (adverts go out from the link-local one): when to look again
    /// (an address from SLAAC or DHCPv6 may come after the daemon started).
    source_recheck: Option<Instant>,
}

fn version(c: &VrrpInstance) -> Version {
    match c.version {
        VrrpVersion::V2 => Version::V2,
        VrrpVersion::V3 => Version::V3,
    }
}

fn interval_cs(c: &VrrpInstance) -> u16 {
    (c.advert_int.get().as_millis() / 10).min(4095) as u16
}

fn machine_config(c: &VrrpInstance, primary: IpAddr) -> MachineConfig {
    MachineConfig {
        version: version(c),
        priority: c.priority,
        advert_interval_cs: interval_cs(c),
        preempt: !c.nopreempt,
        preempt_delay: c.preempt_delay.get(),
        primary,
        garp: GarpTiming {
            delay: c.garp.master_delay.get(),
            repeat: c.garp.master_repeat,
            refresh: c.garp.master_refresh.get(),
            refresh_repeat: c.garp.master_refresh_repeat,
        },
    }
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why an advert's address list is not ours: another count, or another set (order does
/// not matter, as in keepalived, which looks each of its addresses up in the advert).
fn vip_mismatch(src: IpAddr, theirs: &[IpAddr], ours: &[IpAddr]) -> Option<String> {
    let list = |v: &[IpAddr]| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if theirs.len() != ours.len() {
        return Some(format!(
            "advert from {src} lists {} VIPs [{}], we have {} [{}]: dropped (the VIP lists must match on all boxes)",
            theirs.len(),
            list(theirs),
            ours.len(),
            list(ours)
        ));
    }
    let mine: std::collections::HashSet<&IpAddr> = ours.iter().collect();
    let other: std::collections::HashSet<&IpAddr> = theirs.iter().collect();
    (mine != other).then(|| {
        format!(
            "advert from {src} lists VIPs [{}], ours are [{}]: dropped (the VIP lists must match on all boxes)",
            list(theirs),
            list(ours)
        )
    })
}

async fn run(
    mut cfg: VrrpInstance,
    mut trackers: Vec<TrackerRef>,
    mut ctx: Context,
    status: Arc<Mutex<InstanceStatus>>,
    mut commands: mpsc::Receiver<Command>,
    after: Vec<watch::Receiver<bool>>,
) {
    // Until the overlapping stops are done, commands still apply: a stop (the instance
    // removed again, or the daemon shutting down) ends it before it ever started (no
    // hooks, no adverts, no VIPs), and a reload's changes are what it starts with.
    let mut resigned = None;
    if !after.is_empty()
        && let Ok(mut st) = status.lock()
    {
        st.detail =
            Some("waiting for a previous run (this instance, its VRID or a VIP) to stop".into());
    }
    let mut waiting = std::pin::pin!(async move {
        for mut w in after {
            // A sender dropped without `true` (its stop was aborted) is done as well.
            let _ = w.wait_for(|done| *done).await;
        }
    });
    loop {
        tokio::select! {
            _ = &mut waiting => break,
            c = commands.recv() => match c {
                Some(Command::Stop(done)) => {
                    let _ = done.send(());
                    return;
                }
                None => return,
                Some(Command::Reconfigure(new, t)) => {
                    cfg = *new;
                    trackers = t;
                    if let Ok(mut st) = status.lock() {
                        st.base_priority = cfg.priority;
                        st.vips = cfg
                            .virtual_ipaddresses
                            .iter()
                            .map(|v| v.address.to_string())
                            .collect();
                    }
                }
                Some(Command::Resign(r)) => resigned = r,
                Some(Command::SetGroup(g)) => {
                    if let Ok(mut st) = status.lock() {
                        st.sync_group = g.as_ref().map(|g| g.name.clone());
                    }
                    ctx.group = g;
                }
            },
        }
    }
    let notifier = Notifier::spawn(&cfg.name, cfg.notify.clone(), ctx.fifo.clone());
    let mut group_rx = ctx.group.as_ref().map(|g| g.subscribe());
    let (tx, mut inbound) = mpsc::channel::<Inbound>(QUEUE);
    let mut inst = Inst {
        cfg,
        net: ctx.net,
        demux: ctx.demux,
        metrics: ctx.metrics,
        status,
        machine: None,
        io: None,
        vips_held: false,
        vips_added: false,
        held: HashSet::new(),
        addr_events: ctx.addrs.subscribe(),
        vip_check: None,
        restore: RestoreBackoff::default(),
        gone_with_link: HashSet::new(),
        io_stale: None,
        links_seen: Vec::new(),
        inbound: tx,
        warned: HashMap::new(),
        trackers,
        health: ctx.hub.subscribe(),
        own_fault: None,
        resigned,
        group: ctx.group,
        group_fault: None,
        notifier: Some(notifier),
        stopping: false,
        old_unicast_checksum: false,
        source_recheck: None,
    };
    inst.metrics
        .state
        .with_label_values(&[&inst.cfg.name])
        .set(State::Init.metric());
    inst.metrics
        .priority
        .with_label_values(&[&inst.cfg.name])
        .set(i64::from(inst.cfg.priority));
    let mut setup_error: Option<String> = None;
    loop {
        if inst.io.is_none() {
            match inst.setup().await {
                Ok(()) => {
                    if setup_error.take().is_some() {
                        tracing::info!(instance = %inst.cfg.name, "({}) interface {} is ready", inst.cfg.name, inst.cfg.interface);
                    }
                    inst.start().await;
                }
                Err(e) => {
                    if setup_error.as_deref() != Some(e.as_str()) {
                        tracing::error!(instance = %inst.cfg.name, "({}) cannot start: {e}; retrying every {}s", inst.cfg.name, RETRY.as_secs());
                        inst.set_detail(Some(e.clone()));
                        setup_error = Some(e);
                    }
                    tokio::select! {
                        c = commands.recv() => match c {
                            // Through `stop` like a running instance: an instance that
                            // ran before (its interface went away and came back without
                            // its address) still owes its STOP hooks.
                            Some(Command::Stop(done)) => {
                                inst.stop().await;
                                let _ = done.send(());
                                return;
                            }
                            None => {
                                inst.stop().await;
                                return;
                            }
                            Some(Command::Reconfigure(new, trackers)) => {
                                let old = std::mem::replace(&mut inst.cfg, *new);
                                inst.trackers = trackers;
                                inst.adopt_in_place(&old);
                            }
                            Some(Command::Resign(r)) => inst.resigned = r,
                            Some(Command::SetGroup(g)) => {
                                group_rx = g.as_ref().map(|g| g.subscribe());
                                inst.set_group(g).await;
                            }
                        },
                        _ = tokio::time::sleep(RETRY) => {}
                    }
                    continue;
                }
            }
        }
        let deadline = inst.next_deadline();
        tokio::select! {
            c = commands.recv() => match c {
                Some(Command::Stop(done)) => {
                    inst.stop().await;
                    let _ = done.send(());
                    return;
                }
                None => {
                    inst.stop().await;
                    return;
                }
                Some(Command::Reconfigure(new, trackers)) => inst.reconfigure(*new, trackers).await,
                Some(Command::Resign(r)) => inst.resign(r).await,
                Some(Command::SetGroup(g)) => {
                    group_rx = g.as_ref().map(|g| g.subscribe());
                    inst.set_group(g).await;
                }
            },
            Some(p) = inbound.recv() => inst.on_packet(p).await,
            ev = inst.addr_events.next() => inst.on_addr_event(ev).await,
            _ = sleep_until(deadline) => {
                // The timer fired long after its deadline: the process was stopped
                // (SIGSTOP, a frozen VM) or starved. The peer's adverts of that time may
                // still sit in the kernel socket, not yet handed over by the reader task,
                // which wakes together with this timer; give it a moment, or a backup
                // takes over from a live master, announces the VIP and flaps straight back.
                if deadline.is_some_and(|d| Instant::now().saturating_duration_since(d) > STALLED)
                    && let Ok(Some(p)) = tokio::time::timeout(STALL_GRACE, inbound.recv()).await
                {
                    inst.on_packet(p).await;
                }
                // Adverts that arrived before the deadline but are still queued (the loop
                // ran late) count first: otherwise a backup could take over from a
                // master it has heard, and flap straight back. Bounded by the queue.
                for _ in 0..QUEUE {
                    match inbound.try_recv() {
                        Ok(p) => inst.on_packet(p).await,
                        Err(_) => break,
                    }
                }
                inst.on_timer().await
            }
            r = inst.health.changed() => {
                if r.is_ok() {
                    inst.check_links().await;
                    if inst.io.is_some() {
                        inst.apply_tracking().await;
                    }
                    // A VIP waiting for its interface: it may be up now.
                    if !inst.gone_with_link.is_empty() {
                        inst.check_vips().await;
                    }
                }
            }
            Some(change) = recv_group(&mut group_rx) => inst.on_group_change(change).await,
        }
        if let Some(why) = inst.io_stale.take() {
            inst.rebuild_io(&why).await;
        }
    }
}

/// The next sync-group change, skipping what a slow receiver missed.
async fn recv_group(rx: &mut Option<broadcast::Receiver<Change>>) -> Option<Change> {
    let Some(rx) = rx.as_mut() else {
        return std::future::pending().await;
    };
    loop {
        match rx.recv().await {
            Ok(c) => return Some(c),
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return std::future::pending().await,
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

impl Inst {
    fn v6(&self) -> bool {
        self.cfg.is_ipv6()
    }

    /// Resolves the interface, our source address and the VIPs' interfaces, and joins
    /// the receive side.
    async fn setup(&mut self) -> Result<(), String> {
        let tx = self.inbound.clone();
        let link = self
            .net
            .link(&self.cfg.interface)
            .await
            .map_err(|e| e.to_string())?;
        let addrs = self
            .net
            .addresses(link.index)
            .await
            .map_err(|e| e.to_string())?;
        let vip_addrs: Vec<IpAddr> = self
            .cfg
            .virtual_ipaddresses
            .iter()
            .map(|v| v.address.addr())
            .collect();
        let src = source_address(&self.cfg, &addrs, &vip_addrs, &link.name)?;
        self.source_recheck = is_fallback_source(&self.cfg, src).then(|| Instant::now() + RETRY);
        if let Some(peer) = global_peer(&self.cfg)
            && self.source_recheck.is_some()
        {
            tracing::warn!(
                instance = %self.cfg.name,
                "({}) interface {} has no global IPv6 address: unicast adverts to {peer} go out from the link-local {src} (a peer that checks the source, or one beyond a router, drops them; set unicast_src_ip)",
                self.cfg.name,
                link.name
            );
        }
        let (vips, senders) = self.resolve_vips(&link).await?;
        let socket = self
            .demux
            .register(
                &link.name,
                link.index,
                self.v6(),
                !self.cfg.is_unicast(),
                self.cfg.virtual_router_id,
                tx,
            )
            .map_err(|e| format!("cannot open the VRRP socket on {}: {e}", link.name))?;
        if let Ok(mut st) = self.status.lock() {
            st.source = Some(src);
        }
        self.links_seen = self.link_health(&vips);
        self.io = Some(Io {
            socket,
            ifindex: link.index,
            src,
            vips,
            senders,
        });
        Ok(())
    }

    /// Re-reads the interface's addresses and chooses the source of adverts again: after
    /// a reload changed the unicast peers (an IPv6 instance without a configured source
    /// sends from a global address to global peers and from the link-local one to
    /// link-local peers, see `source_address`), and while a global address is awaited
    /// (`source_recheck`). Returns whether the source changed (the caller reconfigures
    /// the machine).
    async fn refresh_source(&mut self) -> bool {
        let Some(io) = &self.io else { return false };
        let ifindex = io.ifindex;
        let addrs = match self.net.addresses(ifindex).await {
            Ok(a) => a,
            Err(e) => {
                self.io_stale = Some(format!(
                    "cannot read the addresses of {}: {e}",
                    self.cfg.interface
                ));
                return false;
            }
        };
        let vip_addrs: Vec<IpAddr> = self
            .cfg
            .virtual_ipaddresses
            .iter()
            .map(|v| v.address.addr())
            .collect();
        let src = match source_address(&self.cfg, &addrs, &vip_addrs, &self.cfg.interface) {
            Ok(s) => s,
            Err(e) => {
                self.io_stale = Some(e);
                return false;
            }
        };
        self.source_recheck = is_fallback_source(&self.cfg, src).then(|| Instant::now() + RETRY);
        let Some(io) = self.io.as_mut() else {
            return false;
        };
        if io.src == src {
            return false;
        }
        tracing::info!(instance = %self.cfg.name, source = %src, "({}) adverts are now sent from {src} (was {})", self.cfg.name, io.src);
        io.src = src;
        if let Ok(mut st) = self.status.lock() {
            st.source = Some(src);
        }
        true
    }

    /// Each VIP with its interface, and a frame sender per interface.
    async fn resolve_vips(
        &self,
        link: &crate::net::link::LinkInfo,
    ) -> Result<(Vec<VipSpec>, HashMap<u32, (FrameSender, [u8; 6])>), String> {
        let mut vips = Vec::new();
        let mut senders: HashMap<u32, (FrameSender, [u8; 6])> = HashMap::new();
        for v in &self.cfg.virtual_ipaddresses {
            let dev = v.dev.clone().unwrap_or_else(|| self.cfg.interface.clone());
            let l = if dev == link.name {
                link.clone()
            } else {
                self.net.link(&dev).await.map_err(|e| e.to_string())?
            };
            if let std::collections::hash_map::Entry::Vacant(e) = senders.entry(l.index) {
                let mac = l
                    .mac
                    .ok_or_else(|| format!("interface {} has no Ethernet address", l.name))?;
                let sender = FrameSender::new(l.index)
                    .map_err(|e| format!("cannot open a packet socket on {}: {e}", l.name))?;
                e.insert((sender, mac));
            }
            vips.push(VipSpec {
                address: v.address,
                ifindex: l.index,
                ifname: l.name.clone(),
                label: v.label.clone(),
            });
        }
        Ok((vips, senders))
    }

    /// The hub's view of the interfaces the IO state uses (ours and the VIPs').
    fn link_health(&self, vips: &[VipSpec]) -> Vec<(String, Option<bool>)> {
        let map = self.health.borrow().clone();
        let mut names = vec![self.cfg.interface.clone()];
        for v in vips {
            if !names.contains(&v.ifname) {
                names.push(v.ifname.clone());
            }
        }
        names
            .into_iter()
            .map(|n| {
                let up = map.get(&crate::track::interface_key(&n)).and_then(|h| h.up);
                (n, up)
            })
            .collect()
    }

    /// After an interface's health changed: if it came back under a new index (deleted
    /// and re-created), the sockets and senders point at a device that is gone.
    async fn check_links(&mut self) {
        let Some(io) = &self.io else { return };
        let seen = self.link_health(&io.vips);
        if seen == self.links_seen {
            return;
        }
        self.links_seen = seen;
        let mut used = vec![(self.cfg.interface.clone(), io.ifindex)];
        for v in &io.vips {
            if !used.iter().any(|(n, _)| *n == v.ifname) {
                used.push((v.ifname.clone(), v.ifindex));
            }
        }
        for (name, index) in used {
            if let Ok(l) = self.net.link(&name).await
                && l.index != index
            {
                self.io_stale = Some(format!(
                    "interface {name} was re-created (index {index} is now {})",
                    l.index
                ));
                break;
            }
        }
        if let Some(why) = self.io_stale.take() {
            self.rebuild_io(&why).await;
        }
    }

    /// Reopens the sockets and senders on the interfaces as they are now. The state
    /// machine carries on; a master puts its VIPs on the new devices. If that cannot work
    /// yet, the instance goes to FAULT and starts over once the interface is usable.
    async fn rebuild_io(&mut self, why: &str) {
        let Some(old) = self.io.take() else { return };
        tracing::warn!(instance = %self.cfg.name, "({}) {why}: reopening the VRRP socket and VIP senders", self.cfg.name);
        self.demux.unregister(
            &self.cfg.interface,
            self.cfg.is_ipv6(),
            self.cfg.virtual_router_id,
        );
        match self.setup().await {
            Ok(()) => {
                let now = Instant::now();
                if let Some(io) = &self.io
                    && io.src != old.src
                    && let Some(m) = self.machine.as_mut()
                {
                    let a = m.reconfigure(now, machine_config(&self.cfg, io.src));
                    self.perform(a).await;
                }
                if self.machine.as_ref().map(|m| m.state()) == Some(State::Master) {
                    self.add_vips().await;
                    self.announce(self.cfg.garp.master_repeat);
                }
                self.refresh_status();
            }
            Err(e) => {
                tracing::error!(instance = %self.cfg.name, "({}) cannot reopen on {}: {e}", self.cfg.name, self.cfg.interface);
                // Leave MASTER (and the VIPs) through FAULT with the old IO state, then
                // retry the setup from scratch.
                self.io = Some(old);
                let now = Instant::now();
                if let Some(m) = self.machine.as_mut() {
                    let a =
                        m.set_fault(now, Some(format!("interface {}: {e}", self.cfg.interface)));
                    self.perform(a).await;
                }
                if self.vips_held || self.vips_added {
                    self.remove_vips().await;
                }
                self.refresh_status();
                self.io = None;
            }
        }
    }

    /// Removes VIPs a crashed predecessor left behind, then starts the machine.
    async fn start(&mut self) {
        let Some(io) = &self.io else { return };
        let src = io.src;
        let vips = io.vips.clone();
        for v in &vips {
            match self.net.remove_vip(v).await {
                Ok(true) => {
                    tracing::warn!(instance = %self.cfg.name, vip = %v.address, "({}) removed VIP {} left behind by a previous run", self.cfg.name, v.address)
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(instance = %self.cfg.name, "({}) cannot check VIP {}: {e}", self.cfg.name, v.address)
                }
            }
        }
        tracing::info!(
            instance = %self.cfg.name,
            interface = %self.cfg.interface,
            vrid = self.cfg.virtual_router_id,
            version = self.cfg.version.number(),
            priority = self.cfg.priority,
            source = %src,
            mode = if self.cfg.is_unicast() { "unicast" } else { "multicast" },
            "({}) started on {} (VRID {}, VRRPv{}, priority {}, {} from {})",
            self.cfg.name,
            self.cfg.interface,
            self.cfg.virtual_router_id,
            self.cfg.version.number(),
            self.cfg.priority,
            if self.cfg.is_unicast() { "unicast" } else { "multicast" },
            src
        );
        self.set_detail(None);
        let now = Instant::now();
        let mut m = Machine::new(machine_config(&self.cfg, src), now);
        // Trackers decide the starting priority and whether we start in FAULT.
        let ev = self.evaluate();
        self.own_fault = self.resigned.clone().or(ev.fault.clone());
        if let Some(g) = &self.group {
            self.group_fault = g
                .faulted_other(&self.cfg.name)
                .map(|o| format!("sync group {}: {o} is in FAULT", g.name));
        }
        m.set_priority(now, ev.priority);
        m.set_fault(now, self.own_fault.clone().or(self.group_fault.clone()));
        let actions = m.start(now);
        self.machine = Some(m);
        self.perform(actions).await;
        self.publish_trackers(&ev);
    }

    async fn stop(&mut self) {
        self.stopping = true;
        if let Some(m) = self.machine.as_mut() {
            let a = m.shutdown(Instant::now());
            self.perform(a).await;
        }
        if self.vips_held || self.vips_added {
            // Never leave addresses behind, whatever state we were in.
            self.remove_vips().await;
        }
        if let Some(io) = self.io.take() {
            self.demux.unregister(
                &self.cfg.interface,
                self.cfg.is_ipv6(),
                self.cfg.virtual_router_id,
            );
            drop(io);
        }
        self.set_state_metric(State::Init);
        // The STOP hooks run before we go.
        if let Some(n) = self.notifier.take() {
            n.finish().await;
        }
    }

    /// Applies a reloaded config that keeps the instance's identity (see `identity`).
    async fn reconfigure(&mut self, new: VrrpInstance, trackers: Vec<TrackerRef>) {
        let old = std::mem::replace(&mut self.cfg, new);
        self.trackers = trackers;
        tracing::info!(instance = %self.cfg.name, "({}) configuration updated", self.cfg.name);
        self.adopt_in_place(&old);
        if let Ok(mut st) = self.status.lock() {
            st.base_priority = self.cfg.priority;
            st.vips = self
                .cfg
                .virtual_ipaddresses
                .iter()
                .map(|v| v.address.to_string())
                .collect();
        }
        if old.virtual_ipaddresses != self.cfg.virtual_ipaddresses {
            self.replace_vips().await;
        }
        if global_peer(&old) != global_peer(&self.cfg) {
            // The machine is reconfigured with the new source just below.
            self.refresh_source().await;
        }
        let Some(io) = &self.io else { return };
        let cfg = machine_config(&self.cfg, io.src);
        if let Some(m) = self.machine.as_mut() {
            let a = m.reconfigure(Instant::now(), cfg);
            self.perform(a).await;
        }
        // The configured priority may have changed: re-apply the trackers' weights.
        self.apply_tracking().await;
    }

    /// What a reload changes without touching the state machine: the notify hooks (later
    /// transitions run the new ones) and the unicast peers (`send` and `on_packet` read
    /// `self.cfg`, so the next advert goes to the new list and only the new peers are
    /// accepted).
    fn adopt_in_place(&mut self, old: &VrrpInstance) {
        if old.notify != self.cfg.notify
            && let Some(n) = self.notifier.as_mut()
            && n.set_config(self.cfg.notify.clone())
        {
            tracing::info!(instance = %self.cfg.name, "({}) notify hooks updated", self.cfg.name);
        }
        let peers = |c: &VrrpInstance| {
            c.unicast_peers
                .iter()
                .map(|p| p.address)
                .collect::<Vec<_>>()
        };
        let (was, now) = (peers(old), peers(&self.cfg));
        if was != now {
            let list = |v: &[IpAddr]| {
                v.iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            tracing::info!(
                instance = %self.cfg.name,
                "({}) unicast peers changed from [{}] to [{}]",
                self.cfg.name,
                list(&was),
                list(&now)
            );
        }
    }

    /// Joins another sync group (or leaves its group), keeping its state; the group's
    /// rules apply from now on (a member in FAULT puts this one in FAULT).
    async fn set_group(&mut self, group: Option<Group>) {
        let from = self.group.as_ref().map(|g| g.name.clone());
        let to = group.as_ref().map(|g| g.name.clone());
        self.group = group;
        if from != to {
            match (&from, &to) {
                (_, Some(g)) => {
                    tracing::info!(instance = %self.cfg.name, group = g.as_str(), "({}) now in sync group {g}", self.cfg.name)
                }
                (Some(g), None) => {
                    tracing::info!(instance = %self.cfg.name, group = g.as_str(), "({}) left sync group {g}", self.cfg.name)
                }
                (None, None) => {}
            }
        }
        if let Ok(mut st) = self.status.lock() {
            st.sync_group = to;
        }
        self.group_fault = self.group.as_ref().and_then(|g| {
            g.faulted_other(&self.cfg.name)
                .map(|o| format!("sync group {}: {o} is in FAULT", g.name))
        });
        // Publishes our view in the new group, then applies its verdict.
        self.refresh_status();
        self.apply_tracking().await;
        // A master joining a group in which another member follows a live master
        // follows it to BACKUP, as it would have on that member's transition.
        if let Some(g) = self.group.clone()
            && let Some(o) = g.follower_other(&self.cfg.name)
            && let Some(m) = self.machine.as_mut()
            && m.state() == State::Master
        {
            let a = m.force_backup(
                Instant::now(),
                format!("{o} of group {} follows another master", g.name),
            );
            self.perform(a).await;
        }
    }

    /// Switches to a changed VIP list; while master, the addresses that went are
    /// removed and the new ones added and announced.
    async fn replace_vips(&mut self) {
        let link = match self.net.link(&self.cfg.interface).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(instance = %self.cfg.name, "({}) VIP change not applied: {e}", self.cfg.name);
                return;
            }
        };
        let (vips, senders) = match self.resolve_vips(&link).await {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(instance = %self.cfg.name, "({}) VIP change not applied: {e}", self.cfg.name);
                return;
            }
        };
        let Some(io) = self.io.as_mut() else { return };
        let old = std::mem::replace(&mut io.vips, vips.clone());
        io.senders = senders;
        if !self.vips_held && !self.vips_added {
            return;
        }
        for v in old.iter().filter(|o| !vips.contains(o)) {
            // Dropped by the reload: its removal is not one to undo.
            self.held.remove(&v.addr());
            if let Err(e) = self.net.remove_vip(v).await {
                tracing::error!(instance = %self.cfg.name, "({}) cannot remove VIP {}: {e}", self.cfg.name, v.address);
            }
        }
        for v in vips.iter().filter(|n| !old.contains(n)) {
            match self.net.add_vip(v).await {
                Ok(()) => {
                    self.held.insert(v.addr());
                }
                Err(e) => {
                    tracing::error!(instance = %self.cfg.name, "({}) cannot add VIP {}: {e}", self.cfg.name, v.address);
                }
            }
        }
        self.metrics
            .vips_held
            .with_label_values(&[&self.cfg.name])
            .set(vips.len() as i64);
        self.announce(self.cfg.garp.master_repeat);
    }

    fn next_deadline(&self) -> Option<Instant> {
        let m = self.machine.as_ref()?;
        let vips = self.vip_check.filter(|_| m.state() == State::Master);
        [m.next_deadline(), vips].into_iter().flatten().min()
    }

    async fn on_timer(&mut self) {
        let now = Instant::now();
        if self.vip_check.is_some_and(|t| now >= t) {
            self.check_vips().await;
        }
        if self.source_recheck.is_some_and(|t| now >= t)
            && self.refresh_source().await
            && let Some(io) = &self.io
            && let Some(m) = self.machine.as_mut()
        {
            let a = m.reconfigure(now, machine_config(&self.cfg, io.src));
            self.perform(a).await;
        }
        let hold = self
            .group
            .as_ref()
            .is_some_and(|g| g.other_follows_master(&self.cfg.name));
        let Some(m) = self.machine.as_mut() else {
            return;
        };
        m.set_hold(hold);
        let a = m.on_timeout(now);
        self.perform(a).await;
    }

    /// The receive checks, in keepalived's spirit; each drop is counted by reason.
    async fn on_packet(&mut self, p: Inbound) {
        self.metrics
            .received
            .with_label_values(&[&self.cfg.name])
            .inc();
        if let Ok(mut st) = self.status.lock() {
            st.received += 1;
        }
        let Some(io) = &self.io else { return };
        let src = p.rx.src;
        let a = &p.advert;
        let unicast = self.cfg.is_unicast();
        let drop = if src == io.src {
            Some((
                "own_address",
                format!("an advert with our own address {src} as source"),
            ))
        } else if !unicast && p.rx.ttl != Some(255) {
            Some((
                "ttl",
                format!(
                    "TTL/hop limit {} from {src} (must be 255: the packet was routed)",
                    p.rx.ttl
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "unknown".into())
                ),
            ))
        } else if a.version != version(&self.cfg) {
            Some((
                "version",
                format!(
                    "peer {src} speaks VRRPv{}, we speak VRRPv{}",
                    a.version.number(),
                    self.cfg.version.number()
                ),
            ))
        } else if unicast == is_group(p.rx.dst) {
            Some((
                "mode_mismatch",
                format!(
                    "{} advert from {src}, but this instance is {}",
                    if unicast { "a multicast" } else { "a unicast" },
                    if unicast { "unicast" } else { "multicast" }
                ),
            ))
        } else if unicast && !self.cfg.unicast_peers.iter().any(|x| x.address == src) {
            Some((
                "unknown_peer",
                format!("an advert from {src}, which is not in unicast_peers"),
            ))
        } else if let Some(why) = self.auth_mismatch(a) {
            Some(why)
        } else if a.version == Version::V2 && a.interval_cs != interval_cs(&self.cfg) {
            Some((
                "interval",
                format!(
                    "advertisement interval mismatch: {src} sends every {}s, ours is {}",
                    a.interval_cs / 100,
                    self.cfg.advert_int
                ),
            ))
        } else {
            // keepalived's vrrp_in_chk: a different address count, or an address of ours
            // missing from the advert, is an addr_list_err and the advert is dropped (there
            // is no skip_check_adv_addr here), whatever its priority.
            let ours: Vec<IpAddr> = io.vips.iter().map(|v| v.addr()).collect();
            vip_mismatch(src, &a.addrs, &ours).map(|text| ("vip_mismatch", text))
        };
        if let Some((reason, text)) = drop {
            self.metrics.drop_reason(reason);
            if let Ok(mut st) = self.status.lock() {
                *st.dropped.entry(reason).or_insert(0) += 1;
            }
            self.warn_limited(reason, &text);
            return;
        }
        if p.style == ChecksumStyle::MessageOnly && a.version == Version::V3 && src.is_ipv4() {
            tracing::debug!(instance = %self.cfg.name, "({}) {src} uses the RFC 9568 checksum", self.cfg.name);
        }
        if p.style == ChecksumStyle::MulticastPseudoHeader
            && self.cfg.v3_checksum == V3Checksum::Keepalived
            && !self.old_unicast_checksum
        {
            self.old_unicast_checksum = true;
            tracing::info!(instance = %self.cfg.name, peer = %src, "({}) {src} uses the unicast VRRPv3 checksum of keepalived <= 1.3.6: sending it too", self.cfg.name);
        }
        let Some(m) = self.machine.as_mut() else {
            return;
        };
        let actions = m.on_advert(p.at, src, a.priority, a.interval_cs);
        self.perform(actions).await;
        self.refresh_status();
    }

    fn auth_mismatch(&self, a: &Advert) -> Option<(&'static str, String)> {
        if a.version != Version::V2 {
            return None;
        }
        let want = match &self.cfg.auth_pass {
            Some(p) => Auth::pass(p),
            None => Auth::None,
        };
        match (want, a.auth) {
            (Auth::None, Auth::None) => None,
            (Auth::Pass(w), Auth::Pass(g)) => (!ct_eq(&w, &g)).then(|| {
                (
                    "auth",
                    "authentication failure: wrong auth_pass".to_string(),
                )
            }),
            (w, g) => Some((
                "auth_type",
                format!(
                    "authentication type {} received, {} expected",
                    g.type_number(),
                    w.type_number()
                ),
            )),
        }
    }

    /// Whether a message of `kind` may be logged now (at most once a minute per kind):
    /// `Some` with how many were suppressed since the last one, else `None` (counted).
    fn limited(&mut self, kind: &str) -> Option<u64> {
        let now = Instant::now();
        let e = self
            .warned
            .entry(kind.to_string())
            .or_insert((now - WARN_EVERY * 2, 0));
        if now.duration_since(e.0) >= WARN_EVERY {
            let suppressed = e.1;
            *e = (now, 0);
            Some(suppressed)
        } else {
            e.1 += 1;
            None
        }
    }

    /// Logs at most once a minute per kind, with how many were suppressed.
    fn warn_limited(&mut self, kind: &str, text: &str) {
        match self.limited(kind) {
            Some(0) => {
                tracing::warn!(instance = %self.cfg.name, reason = kind, "({}) {text}", self.cfg.name)
            }
            Some(suppressed) => {
                tracing::warn!(instance = %self.cfg.name, reason = kind, "({}) {text} (and {suppressed} more in the last minute)", self.cfg.name)
            }
            None => {}
        }
    }

    fn is_master(&self) -> bool {
        !self.stopping && self.machine.as_ref().map(|m| m.state()) == Some(State::Master)
    }

    /// An address appeared on or went from an interface of the box. Only a VIP of ours
    /// matters; the notification only says where to look (it may be stale: we may have
    /// put the address back, or removed it, since), the interface says what is true.
    async fn on_addr_event(&mut self, ev: AddrEvent) {
        let Some(io) = &self.io else { return };
        let ours = |ifindex: u32, addr: IpAddr| {
            io.vips
                .iter()
                .find(|v| v.ifindex == ifindex && v.addr() == addr)
                .cloned()
        };
        match ev {
            AddrEvent::Removed { ifindex, addr } => {
                if self.is_master() && self.held.contains(&addr) && ours(ifindex, addr).is_some() {
                    self.check_vips().await;
                }
            }
            AddrEvent::Resync => {
                if self.is_master() && !self.held.is_empty() {
                    self.check_vips().await;
                }
            }
            AddrEvent::Added { ifindex, addr } => {
                // As keepalived, a VIP someone adds by hand while we are not MASTER is
                // left alone; but it is said, once a minute at most.
                if !self.is_master()
                    && !self.stopping
                    && self.held.is_empty()
                    && let Some(v) = ours(ifindex, addr)
                {
                    self.check_foreign_vip(v).await;
                }
            }
        }
    }

    /// While MASTER: puts back the VIPs we added that are no longer on their interface
    /// (someone ran `ip addr del` or `flush`, NetworkManager or ifupdown reapplied a
    /// profile, a DHCP client reset the interface…), announces them again, and counts
    /// them. keepalived 2.2.7 goes to BACKUP instead (priority 0 advert, all VIPs
    /// removed) and becomes master again after its skew time, which adds them back; here
    /// the state stays, nothing is handed over, and only the missing VIPs are touched.
    async fn check_vips(&mut self) {
        self.vip_check = None;
        if !self.is_master() {
            return;
        }
        let Some(io) = &self.io else { return };
        let vips: Vec<VipSpec> = io
            .vips
            .iter()
            .filter(|v| self.held.contains(&v.addr()))
            .cloned()
            .collect();
        if vips.is_empty() {
            return;
        }
        let present = match self.net.vips_present(&vips).await {
            Ok(p) => p,
            Err(e) => {
                if e.is_no_device() {
                    self.io_stale = Some(format!("checking the VIPs failed: {e}"));
                } else {
                    self.warn_limited("vip_check", &format!("cannot check the VIPs: {e}"));
                    self.vip_check = Some(Instant::now() + RETRY);
                }
                return;
            }
        };
        let mut up = present.iter().filter(|p| **p).count();
        let missing: Vec<VipSpec> = vips
            .into_iter()
            .zip(present)
            .filter(|(_, p)| !p)
            .map(|(v, _)| v)
            .collect();
        let mut restored = Vec::new();
        for v in &missing {
            if self.io_stale.is_some() {
                break;
            }
            if self.restore_one(v).await {
                restored.push(v.addr());
                up += 1;
            }
        }
        if !restored.is_empty() {
            self.announce_some(self.cfg.garp.master_repeat, Some(&restored));
        }
        let total = self.io.as_ref().map_or(0, |io| io.vips.len());
        self.vips_held = up == total;
        self.metrics
            .vips_held
            .with_label_values(&[&self.cfg.name])
            .set(up as i64);
        self.refresh_status();
    }

    /// Puts back one VIP found missing while MASTER, unless its interface is down or it
    /// was put back a moment ago (then `vip_check` says when to look again). Returns
    /// whether it is back.
    async fn restore_one(&mut self, v: &VipSpec) -> bool {
        let name = self.cfg.name.clone();
        let now = Instant::now();
        let later = |this: &mut Self, at: Instant| {
            this.vip_check = Some(this.vip_check.map_or(at, |t| t.min(at)));
        };
        match self.net.link(&v.ifname).await {
            Ok(l) if l.index != v.ifindex => {
                self.io_stale = Some(format!(
                    "interface {} was re-created (index {} is now {})",
                    v.ifname, v.ifindex, l.index
                ));
                return false;
            }
            // An interface set down takes its IPv6 addresses with it: what goes on with
            // the interface (FAULT while ours is down) decides; the VIP comes back when
            // it is up again if we are still MASTER then.
            Ok(l) if !l.up => {
                if self.gone_with_link.insert(v.addr()) {
                    tracing::info!(instance = %name, vip = %v.address, interface = %v.ifname, "({name}) VIP {} went away with interface {} going down: it is added back when the interface is up, if still MASTER", v.address, v.ifname);
                }
                later(self, now + RETRY);
                return false;
            }
            Ok(_) => {}
            // Deleted (maybe being re-created): the interface tracking deals with it.
            Err(e) if e.is_no_device() => {
                tracing::debug!(instance = %name, vip = %v.address, "({name}) VIP {} went away with interface {}: {e}", v.address, v.ifname);
                later(self, now + RETRY);
                return false;
            }
            Err(e) => {
                if self
                    .limited(&format!("vip_restore_failed:{}", v.address))
                    .is_some()
                {
                    tracing::error!(instance = %name, vip = %v.address, interface = %v.ifname, "({name}) VIP {} is gone from {}, and the interface cannot be read: {e}; retrying every {}s", v.address, v.ifname, RETRY.as_secs());
                }
                later(self, now + RETRY);
                return false;
            }
        }
        let due = self.restore.due(v.addr(), now);
        if due > now {
            tracing::debug!(instance = %name, vip = %v.address, interface = %v.ifname, "({name}) VIP {} removed from {} again: adding it back in {}ms", v.address, v.ifname, due.duration_since(now).as_millis());
            later(self, due);
            return false;
        }
        match self.net.add_vip(v).await {
            Ok(()) => {
                let times = self.restore.restored(v.addr(), now);
                self.metrics.vips_restored.with_label_values(&[&name]).inc();
                if self.gone_with_link.remove(&v.addr()) {
                    tracing::info!(instance = %name, vip = %v.address, interface = %v.ifname, "({name}) VIP {} added back on {} now that it is up, and announced", v.address, v.ifname);
                } else if let Some(suppressed) =
                    self.limited(&format!("vip_restored:{}", v.address))
                {
                    let again = if times > 1 {
                        format!(
                            " ({times} times in a row: something keeps removing it; NetworkManager, ifupdown or a DHCP client managing {}?)",
                            v.ifname
                        )
                    } else {
                        String::new()
                    };
                    let more = and_more(suppressed);
                    tracing::warn!(instance = %name, vip = %v.address, interface = %v.ifname, "({name}) VIP {} was removed from {} while MASTER, not by tandem: added back and announced{again}{more}", v.address, v.ifname);
                }
                true
            }
            Err(e) => {
                if e.is_no_device() {
                    self.io_stale = Some(format!("adding back VIP {} failed: {e}", v.address));
                } else {
                    if let Some(suppressed) =
                        self.limited(&format!("vip_restore_failed:{}", v.address))
                    {
                        let more = and_more(suppressed);
                        tracing::error!(instance = %name, vip = %v.address, interface = %v.ifname, "({name}) VIP {} was removed from {} while MASTER and cannot be added back: {e}; retrying every {}s{more}", v.address, v.ifname, RETRY.as_secs());
                    }
                    later(self, now + RETRY);
                }
                false
            }
        }
    }

    /// A VIP of ours appeared while we are not MASTER: if it is really there (the
    /// notification may be about our own add just before we left MASTER), says so.
    async fn check_foreign_vip(&mut self, v: VipSpec) {
        let Ok(present) = self.net.vips_present(std::slice::from_ref(&v)).await else {
            return;
        };
        if present != [true] || !self.held.is_empty() || self.is_master() {
            return;
        }
        let state = self
            .machine
            .as_ref()
            .map_or(State::Init, |m| m.state())
            .name();
        if let Some(suppressed) = self.limited(&format!("vip_foreign:{}", v.address)) {
            let more = and_more(suppressed);
            tracing::warn!(instance = %self.cfg.name, vip = %v.address, interface = %v.ifname, "({}) VIP {} was added to {} while {state}, not by tandem: left in place, but if the master holds it too both boxes answer for it{more}", self.cfg.name, v.address, v.ifname);
        }
    }

    async fn perform(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Send { priority } => {
                    self.send(priority);
                    if priority == 0 {
                        // keepalived's words: the hand-over shows in the leaving box's log.
                        tracing::info!(instance = %self.cfg.name, "({}) sent 0 priority", self.cfg.name);
                    }
                }
                Action::AddVips => self.add_vips().await,
                Action::RemoveVips => self.remove_vips().await,
                Action::Announce { repeat } => self.announce(repeat),
                Action::Transition { from, to, reason } => self.transition(from, to, &reason),
                Action::AdoptInterval {
                    from_cs,
                    to_cs,
                    master,
                } => {
                    tracing::info!(instance = %self.cfg.name, peer = %master, "({}) advertisement interval updated from {}ms to {}ms by master {master}", self.cfg.name, u32::from(from_cs) * 10, u32::from(to_cs) * 10);
                }
            }
        }
        self.refresh_status();
    }

    fn send(&mut self, priority: u8) {
        let Some(io) = &self.io else { return };
        let advert = Advert {
            version: version(&self.cfg),
            vrid: self.cfg.virtual_router_id,
            priority,
            interval_cs: interval_cs(&self.cfg),
            addrs: io.vips.iter().map(|v| v.addr()).collect(),
            auth: match (&self.cfg.auth_pass, self.cfg.version) {
                (Some(p), VrrpVersion::V2) => Auth::pass(p),
                _ => Auth::None,
            },
        };
        let style = match self.cfg.v3_checksum {
            V3Checksum::Keepalived if self.old_unicast_checksum => {
                ChecksumStyle::MulticastPseudoHeader
            }
            V3Checksum::Keepalived => ChecksumStyle::PseudoHeader,
            V3Checksum::Rfc9568 => ChecksumStyle::MessageOnly,
        };
        let dsts: Vec<IpAddr> = if self.cfg.is_unicast() {
            self.cfg.unicast_peers.iter().map(|p| p.address).collect()
        } else {
            vec![group(self.v6())]
        };
        let mut errors = Vec::new();
        for dst in dsts {
            let bytes = advert.encode(io.src, dst, style);
            match io.socket.send(io.src, dst, &bytes) {
                Ok(()) => {
                    self.metrics.sent.with_label_values(&[&self.cfg.name]).inc();
                    if let Ok(mut st) = self.status.lock() {
                        st.sent += 1;
                    }
                }
                Err(e) => {
                    self.metrics
                        .send_errors
                        .with_label_values(&[&self.cfg.name])
                        .inc();
                    if matches!(e.raw_os_error(), Some(libc::ENODEV) | Some(libc::ENXIO)) {
                        self.io_stale = Some(format!("sending an advert failed: {e}"));
                    }
                    errors.push(format!("cannot send an advert to {dst}: {e}"));
                }
            }
        }
        for e in errors {
            self.warn_limited("send_error", &e);
        }
    }

    async fn add_vips(&mut self) {
        let Some(io) = &self.io else { return };
        let vips = io.vips.clone();
        let mut held = 0;
        for v in &vips {
            match self.net.add_vip(v).await {
                Ok(()) => {
                    held += 1;
                    self.held.insert(v.addr());
                }
                Err(e) => {
                    self.held.remove(&v.addr());
                    if e.is_no_device() {
                        self.io_stale = Some(format!("adding VIP {} failed: {e}", v.address));
                    }
                    tracing::error!(instance = %self.cfg.name, vip = %v.address, "({}) cannot add VIP {} on {}: {e}", self.cfg.name, v.address, v.ifname)
                }
            }
        }
        self.vips_held = held == vips.len();
        self.vips_added |= held > 0;
        self.metrics
            .vips_held
            .with_label_values(&[&self.cfg.name])
            .set(held as i64);
        tracing::info!(instance = %self.cfg.name, "({}) added {held} VIP(s): {}", self.cfg.name, vips.iter().map(|v| v.address.to_string()).collect::<Vec<_>>().join(", "));
    }

    async fn remove_vips(&mut self) {
        let vips = match &self.io {
            Some(io) => io.vips.clone(),
            None => return,
        };
        let mut removed = Vec::new();
        for v in &vips {
            // A VIP left behind means two holders: a failed removal is retried.
            let mut last = None;
            for attempt in 0..5 {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                match self.net.remove_vip(v).await {
                    Ok(_) => {
                        last = None;
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            match last {
                None => removed.push(v.address.to_string()),
                Some(e) => {
                    tracing::error!(instance = %self.cfg.name, vip = %v.address, "({}) cannot remove VIP {} from {}: {e}", self.cfg.name, v.address, v.ifname)
                }
            }
        }
        self.vips_held = false;
        self.vips_added = false;
        // From here on a VIP going away is our own doing, not something to put back.
        self.held.clear();
        self.gone_with_link.clear();
        self.vip_check = None;
        self.metrics
            .vips_held
            .with_label_values(&[&self.cfg.name])
            .set(0);
        if !removed.is_empty() {
            tracing::info!(instance = %self.cfg.name, "({}) removed VIP(s): {}", self.cfg.name, removed.join(", "));
        }
    }

    /// `repeat` rounds of gratuitous ARP / unsolicited NA over all VIPs.
    fn announce(&mut self, repeat: u32) {
        self.announce_some(repeat, None);
    }

    /// `repeat` rounds of gratuitous ARP / unsolicited NA over the VIPs in `only` (all
    /// when `None`).
    fn announce_some(&mut self, repeat: u32, only: Option<&[IpAddr]>) {
        let Some(io) = &self.io else { return };
        let mut sent = 0u64;
        let mut errors = Vec::new();
        for _ in 0..repeat {
            for v in io
                .vips
                .iter()
                .filter(|v| only.is_none_or(|o| o.contains(&v.addr())))
            {
                let Some((sender, mac)) = io.senders.get(&v.ifindex) else {
                    continue;
                };
                let r = match v.addr() {
                    IpAddr::V4(a) => sender.send(&garp_frame(*mac, a)),
                    IpAddr::V6(a) => sender.send(&na_frame(*mac, a)),
                };
                match r {
                    Ok(()) => sent += 1,
                    Err(e) => errors.push(format!(
                        "cannot announce {} on {}: {e}",
                        v.address, v.ifname
                    )),
                }
            }
        }
        self.metrics
            .announcements
            .with_label_values(&[&self.cfg.name])
            .inc_by(sent);
        for e in errors {
            self.warn_limited("announce_error", &e);
        }
    }

    fn transition(&mut self, from: State, to: State, reason: &Reason) {
        let priority = self.machine.as_ref().map(|m| m.priority()).unwrap_or(0);
        let peer = match reason {
            Reason::HigherPriority { from, .. }
            | Reason::HigherAddress { from, .. }
            | Reason::MasterLeft(from) => Some(from.to_string()),
            _ => None,
        };
        let reason_text = reason.to_string();
        tracing::info!(
            instance = %self.cfg.name,
            from = from.name(),
            to = to.name(),
            reason = reason_text.as_str(),
            priority,
            peer = peer.as_deref(),
            "({}) Entering {} STATE",
            self.cfg.name,
            to.name()
        );
        if let Some(n) = &self.notifier {
            n.notify(to, self.stopping, priority);
        }
        self.set_state_metric(to);
        self.metrics
            .transitions
            .with_label_values(&[&self.cfg.name, to.name()])
            .inc();
        if let Ok(mut st) = self.status.lock() {
            st.since = SystemTime::now();
        }
    }

    fn set_state_metric(&self, s: State) {
        self.metrics
            .state
            .with_label_values(&[&self.cfg.name])
            .set(s.metric());
        if let Ok(mut st) = self.status.lock() {
            st.state = s;
        }
    }

    fn set_detail(&self, d: Option<String>) {
        if let Ok(mut st) = self.status.lock() {
            st.detail = d;
        }
    }

    fn refresh_status(&self) {
        let Some(m) = &self.machine else { return };
        self.metrics
            .priority
            .with_label_values(&[&self.cfg.name])
            .set(i64::from(m.priority()));
        if let Ok(mut st) = self.status.lock() {
            st.state = m.state();
            st.priority = m.priority();
            st.master = m.master();
            st.last_advert = m.last_advert();
            st.vips_held = self.vips_held;
            st.fault = m.fault().map(str::to_string);
        }
        if let Some(g) = &self.group {
            g.update(
                &self.cfg.name,
                MemberView {
                    state: m.state(),
                    follows_master: m.follows_master(Instant::now()),
                    own_fault: self.own_fault.is_some(),
                },
            );
        }
    }

    /// The trackers' verdict: effective priority, FAULT reason, and a note per tracker.
    fn evaluate(&self) -> Evaluation {
        let map = self.health.borrow().clone();
        evaluate_trackers(self.cfg.priority, &self.trackers, &map)
    }

    fn publish_trackers(&self, ev: &Evaluation) {
        if let Ok(mut st) = self.status.lock() {
            st.trackers = ev.items.clone();
        }
    }

    /// Operator maintenance in or out.
    async fn resign(&mut self, r: Option<String>) {
        match &r {
            Some(why) => tracing::warn!(
                instance = %self.cfg.name,
                "({}) resigned by the operator: {why}; it stays in FAULT until `tandem vrrp resume`",
                self.cfg.name
            ),
            None if self.resigned.is_some() => tracing::info!(
                instance = %self.cfg.name,
                "({}) resumed by the operator",
                self.cfg.name
            ),
            None => {}
        }
        self.resigned = r;
        self.apply_tracking().await;
    }

    /// Applies the trackers: effective priority, and FAULT in or out.
    async fn apply_tracking(&mut self) {
        let ev = self.evaluate();
        self.publish_trackers(&ev);
        self.own_fault = self.resigned.clone().or(ev.fault.clone());
        let now = Instant::now();
        let Some(m) = self.machine.as_mut() else {
            return;
        };
        let mut actions = Vec::new();
        if ev.priority != m.priority() {
            let why = if ev.notes.is_empty() {
                "all trackers healthy".to_string()
            } else {
                ev.notes.join(", ")
            };
            tracing::info!(
                instance = %self.cfg.name,
                from = m.priority(),
                to = ev.priority,
                reason = why.as_str(),
                "({}) Changing effective priority from {} to {}",
                self.cfg.name,
                m.priority(),
                ev.priority
            );
            actions.extend(m.set_priority(now, ev.priority));
        }
        let fault = self.own_fault.clone().or(self.group_fault.clone());
        if fault.as_deref() != m.fault() {
            actions.extend(m.set_fault(now, fault));
        }
        self.perform(actions).await;
    }

    /// Another member of the sync group changed state.
    async fn on_group_change(&mut self, change: Change) {
        let Some(g) = self.group.clone() else { return };
        if change.member == self.cfg.name {
            return;
        }
        self.group_fault = g
            .faulted_other(&self.cfg.name)
            .map(|o| format!("sync group {}: {o} is in FAULT", g.name));
        let now = Instant::now();
        let mut actions = Vec::new();
        if let Some(m) = self.machine.as_mut() {
            let fault = self.own_fault.clone().or(self.group_fault.clone());
            if fault.as_deref() != m.fault() {
                actions.extend(m.set_fault(now, fault));
            }
            if change.from == State::Master
                && change.to == State::Backup
                && m.state() == State::Master
            {
                actions.extend(m.force_backup(
                    now,
                    format!("{} of group {} left MASTER", change.member, g.name),
                ));
            } else if m.state() == State::Master
                && let Some(o) = g.follower_other(&self.cfg.name)
            {
                // The member's MASTER → BACKUP edge may have been announced in a group
                // object we had not joined yet (a reload changing membership).
                actions.extend(m.force_backup(
                    now,
                    format!("{o} of group {} follows another master", g.name),
                ));
            }
            // No other member follows a live master any more: a BACKUP held only by
            // that takes over now if its own master-down timer ran out meanwhile.
            if g.other_follows_master(&self.cfg.name) {
                m.set_hold(true);
            } else {
                actions.extend(m.release_hold(now));
            }
        }
        self.perform(actions).await;
    }
}

/// What a rate-limited line adds about the ones it stood for.
fn and_more(suppressed: u64) -> String {
    if suppressed > 0 {
        format!(" (and {suppressed} more in the last minute)")
    } else {
        String::new()
    }
}

/// The trackers' verdict for an instance configured with priority `base`.
///
/// As keepalived: a negative weight is added while the tracker fails, a positive one
/// while it is ok, weight 0 means FAULT while it fails. `reverse` flips both the sign and
/// the sense (keepalived's `weight N reverse`): a positive weight is subtracted while the
/// tracker is ok, a negative one added while it fails, and weight 0 means FAULT while it
/// is ok. The address owner (255) keeps its priority.
fn evaluate_trackers(
    base: u8,
    trackers: &[TrackerRef],
    map: &BTreeMap<String, Health>,
) -> Evaluation {
    let mut delta: i32 = 0;
    let mut faults = Vec::new();
    let mut notes = Vec::new();
    let mut items = Vec::new();
    for t in trackers {
        let h = map
            .get(&t.key)
            .cloned()
            .unwrap_or_else(|| default_health(&t.key));
        let state = match h.up {
            Some(true) => "ok",
            Some(false) => "failing",
            None => "unknown",
        };
        let mut item = json!({
            "tracker": t.label,
            "weight": t.weight,
            "state": state,
            "detail": h.detail,
        });
        if t.reverse {
            item["reverse"] = json!(true);
        }
        // A track file: its number × the weight (keepalived's track_file).
        if let Some(v) = h.value {
            item["state"] = json!("value");
            item["value"] = json!(v);
            items.push(item);
            if t.weight == 0 {
                if (v != 0) != t.reverse {
                    faults.push(format!(
                        "{} holds {v}{}",
                        t.label,
                        if t.reverse {
                            " (weight 0 reverse: FAULT while 0)"
                        } else {
                            " (weight 0: FAULT while not 0)"
                        }
                    ));
                }
                continue;
            }
            let sign: i64 = if t.reverse { -1 } else { 1 };
            let status = v
                .saturating_mul(i64::from(t.weight))
                .saturating_mul(sign)
                .clamp(-254, 253);
            if status == -254 {
                faults.push(format!(
                    "{} holds {v}: × weight {} is below -253",
                    t.label,
                    i64::from(t.weight) * sign
                ));
            } else if status != 0 {
                delta += status as i32;
                notes.push(format!("{} value {v} ({status:+})", t.label));
            }
            continue;
        }
        items.push(item);
        let sign = if t.reverse { -1 } else { 1 };
        match (t.weight, h.up) {
            (0, Some(false)) if !t.reverse => {
                faults.push(format!("{} is failing ({})", t.label, h.detail))
            }
            (0, Some(true)) if t.reverse => faults.push(format!(
                "{} is ok and tracked with reverse ({})",
                t.label, h.detail
            )),
            (w, Some(false)) if w < 0 => {
                let w = w * sign;
                delta += w;
                notes.push(format!("{} failing ({w:+})", t.label));
            }
            (w, Some(true)) if w > 0 => {
                let w = w * sign;
                delta += w;
                notes.push(format!("{} ok ({w:+})", t.label));
            }
            _ => {}
        }
    }
    let priority = if base == OWNER_PRIORITY {
        base
    } else {
        (i32::from(base) + delta).clamp(1, 254) as u8
    };
    Evaluation {
        priority,
        fault: (!faults.is_empty()).then(|| faults.join("; ")),
        notes,
        items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(v: &[&str]) -> Vec<IpAddr> {
        v.iter().filter_map(|x| x.parse().ok()).collect()
    }

    #[test]
    fn vip_lists_compare_as_sets() {
        let src = IpAddr::from([198, 18, 0, 2]);
        let ours = ips(&["198.18.0.100", "198.18.0.101"]);
        assert_eq!(ours.len(), 2);
        assert_eq!(vip_mismatch(src, &ours, &ours), None);
        let reordered = ips(&["198.18.0.101", "198.18.0.100"]);
        assert_eq!(vip_mismatch(src, &reordered, &ours), None);
        let fewer = ips(&["198.18.0.100"]);
        let why = vip_mismatch(src, &fewer, &ours).unwrap_or_default();
        assert!(why.contains("lists 1 VIPs"), "{why}");
        let other = ips(&["198.18.0.100", "198.18.0.102"]);
        let why = vip_mismatch(src, &other, &ours).unwrap_or_default();
        assert!(why.contains("198.18.0.102"), "{why}");
        let dup = ips(&["198.18.0.100", "198.18.0.100"]);
        assert!(vip_mismatch(src, &dup, &ours).is_some());
        assert!(vip_mismatch(src, &[], &[]).is_none());
        assert!(vip_mismatch(src, &fewer, &[]).is_some());
    }

    fn instance(extra: &str) -> VrrpInstance {
        let src = format!(
            "node: t\nvrrp:\n  instances:\n    - {{ name: VI_6, interface: eth0, virtual_router_id: 51, version: 3, virtual_ipaddresses: [\"2001:db8::100/64\"]{extra} }}\n"
        );
        match crate::config::check_str(&src, "t.yaml", std::path::Path::new("/")).into_result() {
            Ok((cfg, _)) => cfg
                .vrrp
                .and_then(|v| v.instances.into_iter().next())
                .unwrap_or_else(|| panic!("no instance in {src}")),
            Err(e) => panic!("{e:?}"),
        }
    }

    fn if_addrs(v: &[&str]) -> Vec<IfAddr> {
        ips(v)
            .into_iter()
            .map(|addr| IfAddr {
                addr,
                prefix_len: 64,
                label: None,
                message: Default::default(),
            })
            .collect()
    }

    /// IPv6 without `unicast_src_ip`: link-local to ff02::12 and to link-local peers (as
    /// keepalived), the interface's own global address to global peers (the address
    /// they list); never a VIP.
    #[test]
    fn ipv6_source_follows_the_peers_scope() {
        // Newest first, as the kernel lists them: a leftover VIP, the box's own global
        // address, its link-local one.
        let addrs = if_addrs(&["2001:db8::100", "2001:db8::1", "fe80::1"]);
        let vips = ips(&["2001:db8::100"]);
        let src = |extra: &str, addrs: &[IfAddr]| {
            source_address(&instance(extra), addrs, &vips, "eth0").map(|a| a.to_string())
        };
        let ok = |a: &str| Ok(a.to_string());
        assert_eq!(src("", &addrs), ok("fe80::1"));
        assert_eq!(src(", unicast_peers: [\"fe80::2\"]", &addrs), ok("fe80::1"));
        assert_eq!(
            src(", unicast_peers: [\"2001:db8::2\"]", &addrs),
            ok("2001:db8::1")
        );
        // A mixed list: the global address.
        assert_eq!(
            src(", unicast_peers: [\"fe80::2\", \"2001:db8::2\"]", &addrs),
            ok("2001:db8::1")
        );
        // No global address of our own: link-local after all.
        assert_eq!(
            src(", unicast_peers: [\"2001:db8::2\"]", &addrs[..1]),
            Err("interface eth0 has no link-local IPv6 address".to_string())
        );
        let no_global = if_addrs(&["2001:db8::100", "fe80::1"]);
        assert_eq!(
            src(", unicast_peers: [\"2001:db8::2\"]", &no_global),
            ok("fe80::1")
        );
        // A configured source wins.
        assert_eq!(
            src(
                ", unicast_src_ip: \"fe80::1\", unicast_peers: [\"2001:db8::2\"]",
                &addrs
            ),
            ok("fe80::1")
        );
        assert_eq!(
            src(
                ", unicast_src_ip: \"2001:db8::7\", unicast_peers: [\"fe80::2\"]",
                &addrs
            ),
            ok("2001:db8::7")
        );
    }

    fn tracker(key: &str, weight: i32, reverse: bool) -> TrackerRef {
        TrackerRef {
            key: key.into(),
            label: format!("track script `{key}`"),
            weight,
            reverse,
        }
    }

    fn health(states: &[(&str, bool)]) -> BTreeMap<String, Health> {
        states
            .iter()
            .map(|(k, up)| {
                let h = Health {
                    up: Some(*up),
                    detail: if *up { "exited 0" } else { "exited 1" }.into(),
                    since: std::time::SystemTime::UNIX_EPOCH,
                    value: None,
                };
                (k.to_string(), h)
            })
            .collect()
    }

    /// keepalived's track_file arithmetic (process_update_vrrp_track_file_status).
    #[test]
    fn track_file_values_weigh_as_keepalived() {
        let eval = |w: i32, reverse: bool, v: i64| {
            let t = [tracker("file:f", w, reverse)];
            let map: BTreeMap<String, Health> = [(
                "file:f".to_string(),
                Health {
                    up: Some(v == 0),
                    detail: format!("value {v}"),
                    since: std::time::SystemTime::UNIX_EPOCH,
                    value: Some(v),
                },
            )]
            .into();
            let ev = evaluate_trackers(100, &t, &map);
            (ev.priority, ev.fault.is_some())
        };
        // value × weight added; reverse negates.
        assert_eq!(eval(1, false, 30), (130, false));
        assert_eq!(eval(1, false, -60), (40, false));
        assert_eq!(eval(10, true, 3), (70, false));
        assert_eq!(eval(-2, false, 5), (90, false));
        // Clamped to 1..254, FAULT below -253.
        assert_eq!(eval(1, false, 200), (254, false));
        assert_eq!(eval(1, false, -253), (1, false));
        assert_eq!(eval(1, false, -254), (100, true));
        assert_eq!(eval(254, false, -1), (100, true));
        // weight 0: FAULT while not 0; reverse: FAULT while 0.
        assert_eq!(eval(0, false, 0), (100, false));
        assert_eq!(eval(0, false, 7), (100, true));
        assert_eq!(eval(0, true, 0), (100, true));
        assert_eq!(eval(0, true, -1), (100, false));
        // Not read yet: no effect.
        let ev = evaluate_trackers(100, &[tracker("file:g", 1, false)], &BTreeMap::new());
        assert_eq!((ev.priority, ev.fault.is_some()), (100, false));
    }

    /// keepalived's arithmetic: process_script_update_priority with multiplier -1 for
    /// `reverse`.
    #[test]
    fn tracker_weights_count_as_keepalived_including_reverse() {
        let eval = |w: i32, reverse: bool, up: bool| {
            let t = [tracker("a", w, reverse)];
            let ev = evaluate_trackers(100, &t, &health(&[("a", up)]));
            (ev.priority, ev.fault.is_some())
        };
        // weight > 0: added while ok; reverse: subtracted while ok.
        assert_eq!(eval(20, false, true), (120, false));
        assert_eq!(eval(20, false, false), (100, false));
        assert_eq!(eval(20, true, true), (80, false));
        assert_eq!(eval(20, true, false), (100, false));
        // weight < 0: subtracted while failing; reverse: added while failing.
        assert_eq!(eval(-20, false, false), (80, false));
        assert_eq!(eval(-20, false, true), (100, false));
        assert_eq!(eval(-20, true, false), (120, false));
        assert_eq!(eval(-20, true, true), (100, false));
        // weight 0: FAULT while failing; reverse: FAULT while ok.
        assert_eq!(eval(0, false, false), (100, true));
        assert_eq!(eval(0, false, true), (100, false));
        assert_eq!(eval(0, true, true), (100, true));
        assert_eq!(eval(0, true, false), (100, false));

        let t = [tracker("a", 0, true)];
        let ev = evaluate_trackers(100, &t, &health(&[("a", true)]));
        assert_eq!(
            ev.fault.as_deref(),
            Some("track script `a` is ok and tracked with reverse (exited 0)")
        );
        assert_eq!(ev.items[0]["reverse"], json!(true));
        let ev = evaluate_trackers(100, &[tracker("a", 20, true)], &health(&[("a", true)]));
        assert_eq!(ev.notes, vec!["track script `a` ok (-20)".to_string()]);

        // Several add up, clamped to 1..254; an address owner keeps 255.
        let t = [tracker("a", -90, false), tracker("b", -90, true)];
        let both = health(&[("a", false), ("b", false)]);
        assert_eq!(evaluate_trackers(100, &t, &both).priority, 100);
        let t = [tracker("a", 200, false), tracker("b", -200, true)];
        let both = health(&[("a", true), ("b", false)]);
        assert_eq!(evaluate_trackers(100, &t, &both).priority, 254);
        assert_eq!(evaluate_trackers(255, &t, &both).priority, 255);
        // Unknown (no result yet): no change, no FAULT, in either direction.
        let t = [tracker("x", 0, true), tracker("y", 0, false)];
        let ev = evaluate_trackers(100, &t, &BTreeMap::new());
        assert_eq!((ev.priority, ev.fault), (100, None));
    }
}
