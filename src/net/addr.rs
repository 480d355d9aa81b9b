//! VIPs: added and removed over rtnetlink, like `ip addr add/del`. Only addresses the
//! config names are ever touched. [`AddrWatch`] reports address changes (RTM_NEWADDR /
//! RTM_DELADDR) so that a master notices a VIP someone else removed, and
//! [`RestoreBackoff`] decides when it may put it back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};
use rtnetlink::MulticastGroup;
use rtnetlink::sys::AsyncSocket;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::link::{IfAddr, NetError, Netlink};
use crate::config::types::Cidr;

/// One VIP as it is put on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSpec {
    pub address: Cidr,
    pub ifindex: u32,
    pub ifname: String,
    pub label: Option<String>,
}

impl VipSpec {
    pub fn addr(&self) -> IpAddr {
        self.address.addr()
    }
}

impl Netlink {
    /// Adds a VIP; an address that is already there counts as added.
    pub async fn add_vip(&self, vip: &VipSpec) -> Result<(), NetError> {
        let mut req = self
            .handle
            .address()
            .add(vip.ifindex, vip.addr(), vip.address.prefix_len());
        let msg = req.message_mut();
        if let Some(l) = &vip.label {
            msg.attributes.push(AddressAttribute::Label(l.clone()));
        }
        if vip.addr().is_ipv6() {
            // No duplicate address detection: the address must work at once, and the
            // peer that held it a moment ago would make DAD fail.
            msg.header.flags |= AddressHeaderFlags::Nodad;
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        match req.execute().await {
            Ok(()) => Ok(()),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EEXIST => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a VIP if it is present with the configured prefix; returns whether it was.
    pub async fn remove_vip(&self, vip: &VipSpec) -> Result<bool, NetError> {
        let present = self
            .addresses(vip.ifindex)
            .await?
            .into_iter()
            .find(|a| a.addr == vip.addr() && a.prefix_len == vip.address.prefix_len());
        let Some(a) = present else { return Ok(false) };
        match self.handle.address().del(a.message).execute().await {
            Ok(()) => Ok(true),
            Err(rtnetlink::Error::NetlinkError(e))
                if e.raw_code() == -libc::EADDRNOTAVAIL || e.raw_code() == -libc::ENOENT =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Which of `vips` are on their interface now (with their configured prefix), one
    /// address dump per interface.
    pub async fn vips_present(&self, vips: &[VipSpec]) -> Result<Vec<bool>, NetError> {
        let mut dumps: HashMap<u32, Vec<IfAddr>> = HashMap::new();
        let mut out = Vec::with_capacity(vips.len());
        for v in vips {
            let addrs = match dumps.entry(v.ifindex) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(self.addresses(v.ifindex).await?)
                }
            };
            out.push(
                addrs
                    .iter()
                    .any(|a| a.addr == v.addr() && a.prefix_len == v.address.prefix_len()),
            );
        }
        Ok(out)
    }
}

/// An address change on some interface of the box, or word that changes were lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrEvent {
    /// RTM_NEWADDR: `addr` appeared on interface `ifindex` (or changed its flags).
    Added { ifindex: u32, addr: IpAddr },
    /// RTM_DELADDR: `addr` went from interface `ifindex`.
    Removed { ifindex: u32, addr: IpAddr },
    /// Notifications may have been lost (the kernel dropped some because the monitor's
    /// receive buffer was full, a subscriber fell behind, or the monitor was reopened):
    /// whoever cares about an address must look at the interface again.
    Resync,
}

impl AddrEvent {
    fn from_message(msg: NetlinkMessage<RouteNetlinkMessage>) -> Option<AddrEvent> {
        let change = |m: &AddressMessage| IfAddr::from_message(m).map(|a| (m.header.index, a.addr));
        match msg.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(m)) => {
                change(&m).map(|(ifindex, addr)| AddrEvent::Added { ifindex, addr })
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(m)) => {
                change(&m).map(|(ifindex, addr)| AddrEvent::Removed { ifindex, addr })
            }
            // ENOBUFS on the socket (netlink-proto hands it over as an overrun).
            NetlinkPayload::Overrun(_) => Some(AddrEvent::Resync),
            _ => None,
        }
    }
}

/// How many events a slow subscriber may be behind before it is told to resync.
const EVENT_QUEUE: usize = 1024;
/// The monitor socket's receive buffer: room for the burst of an `ip addr flush` on a
/// busy box (the kernel caps it at net.core.rmem_max).
const MONITOR_RCVBUF: usize = 1 << 20;
/// Wait before reopening a monitor socket that failed.
const REOPEN: Duration = Duration::from_secs(1);

/// Aborts a task when the last owner goes.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

type Messages = BoxStream<
    'static,
    (
        NetlinkMessage<RouteNetlinkMessage>,
        rtnetlink::sys::SocketAddr,
    ),
>;

/// Subscribes to RTNLGRP_IPV4_IFADDR and RTNLGRP_IPV6_IFADDR (`ip monitor address`).
fn open_monitor() -> Result<(AbortOnDrop, Messages), NetError> {
    let (mut conn, _handle, messages) = rtnetlink::new_multicast_connection(&[
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
    ])
    .map_err(NetError::Open)?;
    // Best effort: the default buffer still works, overruns are caught as Resync.
    let _ = conn.socket_mut().socket_ref().set_rx_buf_sz(MONITOR_RCVBUF);
    Ok((AbortOnDrop(tokio::spawn(conn)), messages.boxed()))
}

/// Address notifications for the whole box, shared by every VRRP instance: one netlink
/// socket, fanned out to subscribers. Stops when the last clone is dropped.
#[derive(Clone)]
pub struct AddrWatch {
    tx: broadcast::Sender<AddrEvent>,
    _task: Arc<AbortOnDrop>,
}

impl AddrWatch {
    /// Opens the monitor socket (needs a tokio runtime).
    pub fn start() -> Result<AddrWatch, NetError> {
        let (tx, _) = broadcast::channel(EVENT_QUEUE);
        let first = open_monitor()?;
        let task = tokio::spawn(monitor(first, tx.clone()));
        Ok(AddrWatch {
            tx,
            _task: Arc::new(AbortOnDrop(task)),
        })
    }

    /// Changes from now on.
    pub fn subscribe(&self) -> AddrEvents {
        AddrEvents(self.tx.subscribe())
    }
}

/// Forwards the monitor's notifications; reopens the socket if it ever stops (and says
/// `Resync`, as changes of that time are lost).
async fn monitor(first: (AbortOnDrop, Messages), tx: broadcast::Sender<AddrEvent>) {
    let mut current = first;
    loop {
        let (conn, mut messages) = current;
        while let Some((msg, _)) = messages.next().await {
            if let Some(ev) = AddrEvent::from_message(msg) {
                if ev == AddrEvent::Resync {
                    tracing::warn!(
                        "netlink address notifications were lost (receive buffer overrun): VIPs are checked again"
                    );
                }
                // No subscriber is not an error.
                let _ = tx.send(ev);
            }
        }
        drop(conn);
        tracing::error!(
            "the netlink address monitor stopped: reopening it (a VIP removed meanwhile is found by the check that follows)"
        );
        let mut failed = false;
        current = loop {
            tokio::time::sleep(REOPEN).await;
            match open_monitor() {
                Ok(c) => break c,
                Err(e) if !failed => {
                    failed = true;
                    tracing::error!(
                        "cannot reopen the netlink address monitor: {e}; retrying every {}s",
                        REOPEN.as_secs()
                    );
                }
                Err(_) => {}
            }
        };
        tracing::info!("netlink address monitor reopened");
        let _ = tx.send(AddrEvent::Resync);
    }
}

/// One subscriber's view of [`AddrWatch`].
pub struct AddrEvents(broadcast::Receiver<AddrEvent>);

impl AddrEvents {
    /// The next event; `Resync` when this subscriber fell behind and missed some. Never
    /// returns once the watch is gone.
    pub async fn next(&mut self) -> AddrEvent {
        match self.0.recv().await {
            Ok(ev) => ev,
            Err(broadcast::error::RecvError::Lagged(_)) => AddrEvent::Resync,
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

/// The quiet time after which a VIP put back is forgotten: one removed again sooner
/// means something keeps removing it.
pub const FIGHT_WINDOW: Duration = Duration::from_secs(60);
/// The longest a master waits before putting back a VIP something keeps removing.
pub const MAX_RESTORE_DELAY: Duration = Duration::from_secs(30);

/// When a master may put back a VIP that something else removed (sans IO). The first
/// time at once; if it is removed again within [`FIGHT_WINDOW`] of being put back, the
/// next time only after 1s, then 2s, 4s… up to [`MAX_RESTORE_DELAY`]: a tool that insists
/// (NetworkManager, ifupdown, a script) is not fought in a tight loop, and the VIP still
/// comes back.
#[derive(Debug, Default)]
pub struct RestoreBackoff {
    /// VIP → (last put back, how many times in a row, each within the window of the
    /// one before).
    vips: HashMap<IpAddr, (Instant, u32)>,
}

impl RestoreBackoff {
    fn streak(&self, vip: IpAddr, now: Instant) -> Option<(Instant, u32)> {
        self.vips
            .get(&vip)
            .copied()
            .filter(|(last, _)| now.saturating_duration_since(*last) < FIGHT_WINDOW)
    }

    /// The earliest time `vip`, missing at `now`, may be put back (`now` or later).
    pub fn due(&self, vip: IpAddr, now: Instant) -> Instant {
        match self.streak(vip, now) {
            None => now,
            Some((last, n)) => {
                let delay = Duration::from_secs(1u64 << n.saturating_sub(1).min(16));
                (last + delay.min(MAX_RESTORE_DELAY)).max(now)
            }
        }
    }

    /// `vip` was put back at `now`; returns how many times in a row (1 the first time).
    pub fn restored(&mut self, vip: IpAddr, now: Instant) -> u32 {
        let n = self
            .streak(vip, now)
            .map_or(1, |(_, n)| n.saturating_add(1));
        self.vips.insert(vip, (now, n));
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn address(addr: &str, index: u32) -> AddressMessage {
        let mut m = AddressMessage::default();
        m.header.index = index;
        m.header.prefix_len = 24;
        m.attributes.push(AddressAttribute::Local(ip(addr)));
        m.attributes.push(AddressAttribute::Address(ip(addr)));
        m
    }

    fn message(
        payload: NetlinkPayload<RouteNetlinkMessage>,
    ) -> NetlinkMessage<RouteNetlinkMessage> {
        NetlinkMessage::new(Default::default(), payload)
    }

    #[test]
    fn notifications_become_events_and_an_overrun_a_resync() {
        let del = message(NetlinkPayload::InnerMessage(
            RouteNetlinkMessage::DelAddress(address("198.18.0.100", 7)),
        ));
        assert_eq!(
            AddrEvent::from_message(del),
            Some(AddrEvent::Removed {
                ifindex: 7,
                addr: ip("198.18.0.100")
            })
        );
        let new = message(NetlinkPayload::InnerMessage(
            RouteNetlinkMessage::NewAddress(address("2001:db8::100", 3)),
        ));
        assert_eq!(
            AddrEvent::from_message(new),
            Some(AddrEvent::Added {
                ifindex: 3,
                addr: ip("2001:db8::100")
            })
        );
        // ENOBUFS: changes were lost.
        assert_eq!(
            AddrEvent::from_message(message(NetlinkPayload::Overrun(Vec::new()))),
            Some(AddrEvent::Resync)
        );
        assert_eq!(AddrEvent::from_message(message(NetlinkPayload::Noop)), None);
    }

    #[tokio::test]
    async fn a_subscriber_that_fell_behind_is_told_to_resync() {
        let (tx, rx) = broadcast::channel(2);
        let mut events = AddrEvents(rx);
        for i in 0..5u8 {
            let _ = tx.send(AddrEvent::Removed {
                ifindex: 1,
                addr: IpAddr::from([198, 18, 0, i]),
            });
        }
        assert_eq!(events.next().await, AddrEvent::Resync);
        // Then the ones still queued.
        assert_eq!(
            events.next().await,
            AddrEvent::Removed {
                ifindex: 1,
                addr: IpAddr::from([198, 18, 0, 3])
            }
        );
    }

    #[test]
    fn a_vip_removed_once_comes_back_at_once() {
        let mut b = RestoreBackoff::default();
        let t0 = Instant::now();
        let vip = ip("198.18.0.100");
        assert_eq!(b.due(vip, t0), t0);
        // Asking again (a retry, a resync) does not push it further.
        assert_eq!(b.due(vip, t0), t0);
        assert_eq!(b.restored(vip, t0), 1);
        // Removed again after a quiet minute: at once again, a new streak.
        let later = t0 + FIGHT_WINDOW;
        assert_eq!(b.due(vip, later), later);
        assert_eq!(b.restored(vip, later), 1);
    }

    #[test]
    fn a_vip_something_keeps_removing_comes_back_ever_later() {
        let mut b = RestoreBackoff::default();
        let vip = ip("2001:db8::100");
        let other = ip("198.18.0.101");
        let mut now = Instant::now();
        // Each time removed 10ms after it was put back: how long after the previous
        // put-back it may come back.
        let mut last: Option<Instant> = None;
        let mut gaps = Vec::new();
        for _ in 0..9 {
            now += Duration::from_millis(10);
            let due = b.due(vip, now);
            gaps.push(last.map_or(0, |l| due.duration_since(l).as_secs()));
            now = due;
            b.restored(vip, now);
            last = Some(now);
        }
        assert_eq!(gaps, [0, 1, 2, 4, 8, 16, 30, 30, 30]);
        // Another VIP is not held back by it.
        assert_eq!(b.due(other, now), now);
        // Never earlier than now, whatever the streak.
        let far = now + Duration::from_secs(45);
        assert_eq!(b.due(vip, far), far);
    }
}
