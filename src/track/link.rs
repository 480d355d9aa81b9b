//! Interface state from rtnetlink link notifications (no polling): an interface counts as
//! up while it is administratively up and has carrier.

use std::collections::HashSet;

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
        for n in &names {
            match net.link(n).await {
                Ok(info) => publish(&hub, &metrics, &info),
                Err(NetError::NoSuchInterface(_)) => {
                    tracing::warn!(interface = %n, "interface {n} does not exist");
                    hub.set(&interface_key(n), Some(false), "does not exist");
                    metrics.interface_up.with_label_values(&[n]).set(0);
                }
                Err(e) => return Err(e),
            }
        }
        let watched = names.clone();
        let task = tokio::spawn(async move {
            while let Some((msg, _)) = messages.next().await {
                match msg.payload {
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => {
                        let info = LinkInfo::from_message(&l);
                        if watched.contains(&info.name) {
                            publish(&hub, &metrics, &info);
                        }
                    }
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l)) => {
                        let info = LinkInfo::from_message(&l);
                        if watched.contains(&info.name) {
                            tracing::warn!(interface = %info.name, "interface {} was removed", info.name);
                            metrics.interface_up.with_label_values(&[&info.name]).set(0);
                            hub.set(&interface_key(&info.name), Some(false), "removed");
                        }
                    }
                    _ => {}
                }
            }
            tracing::error!("the netlink link monitor stopped: interface tracking is blind");
        });
        Ok(LinkWatch { task, names })
    }
}
