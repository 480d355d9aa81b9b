//! Interface state from rtnetlink link notifications (no polling): an interface counts as
//! up while it is administratively up and has carrier.

use std::collections::{HashMap, HashSet};

use futures_util::StreamExt;
use netlink_packet_core::NetlinkPayload;
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::MulticastGroup;
use tokio::task::JoinHandle;

use super::script::TrackMetrics;
use super::{TrackHub, interface_key};
use crate::net::link::{LinkInfo, NetError, Netlink};

/// Watches `names`; the task ends when dropped (abort).
pub struct LinkWatch {
    task: JoinHandle<()>,
    pub names: HashSet<String>,
}

impl Drop for LinkWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn publish(hub: &TrackHub, metrics: &TrackMetrics, info: &LinkInfo) {
    let up = info.up && info.lower_up;
    let detail = match (info.up, info.lower_up) {
        (true, true) => "up",
        (false, _) => "administratively down",
        (true, false) => "no carrier",
    };
    let before = hub.get(&interface_key(&info.name)).up;
    if before != Some(up) {
        if up {
            tracing::info!(interface = %info.name, "interface {} is up", info.name);
        } else {
            tracing::warn!(interface = %info.name, "interface {} is down ({detail})", info.name);
        }
    }
    metrics
        .interface_up
        .with_label_values(&[&info.name])
        .set(i64::from(up));
    hub.set(&interface_key(&info.name), Some(up), detail);
}

/// A watched name that no longer names an interface (removed, or renamed to `detail`).
fn publish_gone(hub: &TrackHub, metrics: &TrackMetrics, name: &str, detail: &str) {
    tracing::warn!(interface = %name, "interface {name} was {detail}");
    metrics.interface_up.with_label_values(&[name]).set(0);
    hub.set(&interface_key(name), Some(false), detail);
}

/// What a link notification means for the watched names.
#[derive(Debug, Clone)]
pub enum LinkEvent {
    /// A watched name's interface, with its current flags.
    State(LinkInfo),
    /// A watched name names no interface any more: `detail` says why ("removed",
    /// "renamed to X").
    Gone { name: String, detail: String },
}

/// Which interface (by ifindex) each watched name is, sans IO: a watched interface that
/// is renamed no longer counts under its old name, and one that is deleted and created
/// again (a new ifindex) counts under its name again.
#[derive(Debug, Default)]
pub struct Links {
    watched: HashSet<String>,
    /// ifindex → the watched name it has.
    by_index: HashMap<u32, String>,
}

impl Links {
    pub fn new(watched: HashSet<String>) -> Links {
        Links {
            watched,
            by_index: HashMap::new(),
        }
    }

    /// An RTM_NEWLINK (also the answer to the initial query).
    pub fn new_link(&mut self, info: LinkInfo) -> Vec<LinkEvent> {
        let mut out = Vec::new();
        if let Some(old) = self.by_index.get(&info.index)
            && *old != info.name
        {
            // Renamed: the old name names nothing now (unless another interface takes
            // it, which comes as its own notification).
            let old = old.clone();
            self.by_index.remove(&info.index);
            out.push(LinkEvent::Gone {
                detail: format!("renamed to {}", info.name),
                name: old,
            });
        }
        if self.watched.contains(&info.name) {
            // Another ifindex that had this name is gone by now (the kernel keeps names
            // unique), e.g. its removal was not seen.
            self.by_index.retain(|_, n| *n != info.name);
            self.by_index.insert(info.index, info.name.clone());
            out.push(LinkEvent::State(info));
        }
        out
    }

    /// An RTM_DELLINK.
    pub fn del_link(&mut self, info: &LinkInfo) -> Vec<LinkEvent> {
        let known = self.by_index.remove(&info.index);
        // The name it had as far as we know (a rename we missed), else the message's.
        let name = known.unwrap_or_else(|| info.name.clone());
        if !self.watched.contains(&name) {
            return Vec::new();
        }
        // Another interface has the name by now: this removal is not about it.
        if self.by_index.values().any(|n| *n == name) {
            return Vec::new();
        }
        vec![LinkEvent::Gone {
            name,
            detail: "removed".into(),
        }]
    }
}

fn apply(hub: &TrackHub, metrics: &TrackMetrics, events: Vec<LinkEvent>) {
    for ev in events {
        match ev {
            LinkEvent::State(info) => publish(hub, metrics, &info),
            LinkEvent::Gone { name, detail } => publish_gone(hub, metrics, &name, &detail),
        }
    }
}

impl LinkWatch {
    pub async fn start(
        names: HashSet<String>,
        hub: TrackHub,
        metrics: TrackMetrics,
    ) -> Result<LinkWatch, NetError> {
        let (conn, _handle, mut messages) =
            rtnetlink::new_multicast_connection(&[MulticastGroup::Link]).map_err(NetError::Open)?;
        tokio::spawn(conn);
        // The current state, after subscribing so no change is missed.
        let net = Netlink::open()?;
        let mut links = Links::new(names.clone());
        for n in &names {
            match net.link(n).await {
                Ok(info) => apply(&hub, &metrics, links.new_link(info)),
                Err(NetError::NoSuchInterface(_)) => {
                    tracing::warn!(interface = %n, "interface {n} does not exist");
                    hub.set(&interface_key(n), Some(false), "does not exist");
                    metrics.interface_up.with_label_values(&[n]).set(0);
                }
                Err(e) => return Err(e),
            }
        }
        let task = tokio::spawn(async move {
            while let Some((msg, _)) = messages.next().await {
                let events = match msg.payload {
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => {
                        links.new_link(LinkInfo::from_message(&l))
                    }
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l)) => {
                        links.del_link(&LinkInfo::from_message(&l))
                    }
                    _ => Vec::new(),
                };
                apply(&hub, &metrics, events);
            }
            tracing::error!("the netlink link monitor stopped: interface tracking is blind");
        });
        Ok(LinkWatch { task, names })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(index: u32, name: &str, up: bool) -> LinkInfo {
        LinkInfo {
            index,
            name: name.into(),
            mac: None,
            up,
            lower_up: up,
        }
    }

    fn watching(names: &[&str]) -> Links {
        Links::new(names.iter().map(|n| n.to_string()).collect())
    }

    /// (name, Some(up)) for a state, (name, None) with the detail for a name gone.
    fn summary(events: &[LinkEvent]) -> Vec<(String, Result<bool, String>)> {
        events
            .iter()
            .map(|e| match e {
                LinkEvent::State(i) => (i.name.clone(), Ok(i.up && i.lower_up)),
                LinkEvent::Gone { name, detail } => (name.clone(), Err(detail.clone())),
            })
            .collect()
    }

    #[test]
    fn a_renamed_interface_no_longer_counts_under_its_old_name() {
        let mut l = watching(&["eth0"]);
        assert_eq!(
            summary(&l.new_link(link(5, "eth0", true))),
            [("eth0".into(), Ok(true))]
        );
        // Renamed while up: the message names only the new name.
        assert_eq!(
            summary(&l.new_link(link(5, "wan0", true))),
            [("eth0".into(), Err("renamed to wan0".into()))]
        );
        // Later changes of the renamed interface are not about eth0.
        assert!(l.new_link(link(5, "wan0", false)).is_empty());
        assert!(l.del_link(&link(5, "wan0", false)).is_empty());
        // Another interface renamed to eth0 is eth0 from now on.
        assert!(l.new_link(link(7, "lan0", true)).is_empty());
        assert_eq!(
            summary(&l.new_link(link(7, "eth0", true))),
            [("eth0".into(), Ok(true))]
        );
    }

    #[test]
    fn a_recreated_interface_counts_under_its_name_with_its_new_index() {
        let mut l = watching(&["eth0", "eth1"]);
        l.new_link(link(5, "eth0", true));
        l.new_link(link(6, "eth1", true));
        assert_eq!(
            summary(&l.del_link(&link(5, "eth0", false))),
            [("eth0".into(), Err("removed".into()))]
        );
        assert_eq!(
            summary(&l.new_link(link(9, "eth0", false))),
            [("eth0".into(), Ok(false))]
        );
        assert_eq!(
            summary(&l.new_link(link(9, "eth0", true))),
            [("eth0".into(), Ok(true))]
        );
        // A late removal of the old index does not take the new eth0 down.
        assert!(l.del_link(&link(5, "eth0", false)).is_empty());
        // Swapping names: each old name is reported gone, then taken again.
        let ev = summary(&l.new_link(link(9, "eth1", true)));
        assert_eq!(
            ev,
            [
                ("eth0".into(), Err("renamed to eth1".into())),
                ("eth1".into(), Ok(true))
            ]
        );
        // Index 6 is still known as eth1 until its own notification comes.
        assert_eq!(
            summary(&l.new_link(link(6, "eth0", true))),
            [("eth0".into(), Ok(true))]
        );
        assert!(l.del_link(&link(6, "eth0", false)).len() == 1);
    }
}
