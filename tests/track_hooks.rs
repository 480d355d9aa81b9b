//! Health tracking and hooks against a real kernel: interface tracking through netlink
//! in a network namespace the test creates.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::netns::{Lab, sh};
use tandem::track::link::LinkWatch;
use tandem::track::script::TrackMetrics;
use tandem::track::{Health, TrackHub, interface_key};

/// Polls `hub` (bounded) until `name`'s health satisfies `want`; returns the last seen.
async fn wait_health(
    hub: &TrackHub,
    name: &str,
    want: impl Fn(&Health) -> bool,
) -> Result<Health, Health> {
    let mut last = hub.get(&interface_key(name));
    for _ in 0..500 {
        last = hub.get(&interface_key(name));
        if want(&last) {
            return Ok(last);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(last)
}

/// A tracked interface renamed while up no longer counts as up under its old name; an
/// interface renamed to (or created again under) the tracked name counts again, with
/// its new ifindex.
#[test]
fn a_renamed_or_recreated_interface_is_tracked_by_name() {
    let lab = Lab::new(&["a"]);
    // The namespace's name lives as long as the test process; the closures below are
    // 'static.
    let ns: &'static str = String::leak(lab.ns(0).to_string());
    let ip = move |args: &[&str]| {
        let mut full = vec!["ip", "-n", ns];
        full.extend_from_slice(args);
        sh(&full);
    };
    let veth = move |name: &str, peer: &str| {
        ip(&["link", "add", name, "type", "veth", "peer", "name", peer]);
        ip(&["link", "set", peer, "up"]);
        ip(&["link", "set", name, "up"]);
    };
    veth("trk0", "trk0p");
    let result = lab.in_ns(0, move || -> Result<(), String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async move {
            let hub = TrackHub::new();
            let metrics =
                TrackMetrics::register(&prometheus::Registry::new()).map_err(|e| e.to_string())?;
            let names: HashSet<String> = ["trk0".to_string()].into();
            let _watch = LinkWatch::start(names, hub.clone(), metrics)
                .await
                .map_err(|e| e.to_string())?;
            wait_health(&hub, "trk0", |h| h.up == Some(true))
                .await
                .map_err(|h| format!("trk0 never up: {h:?}"))?;
            // Renamed while up (the kernel allows that): trk0 names nothing now.
            ip(&["link", "set", "trk0", "name", "trk9"]);
            wait_health(&hub, "trk0", |h| h.up == Some(false))
                .await
                .map_err(|h| format!("trk0 still counts after its rename: {h:?}"))?;
            let h = hub.get(&interface_key("trk0"));
            if !h.detail.contains("renamed to trk9") {
                return Err(format!("detail: {h:?}"));
            }
            // What the renamed interface does is not about trk0 any more.
            ip(&["link", "set", "trk9", "down"]);
            ip(&["link", "set", "trk9", "up"]);
            // Another interface renamed to trk0 is trk0 from now on.
            veth("spare", "sparep");
            ip(&["link", "set", "spare", "down"]);
            ip(&["link", "set", "spare", "name", "trk0"]);
            wait_health(&hub, "trk0", |h| h.detail == "administratively down")
                .await
                .map_err(|h| format!("the new trk0 is not tracked: {h:?}"))?;
            ip(&["link", "set", "trk0", "up"]);
            wait_health(&hub, "trk0", |h| h.up == Some(true))
                .await
                .map_err(|h| format!("the new trk0 never up: {h:?}"))?;
            // Deleted, then created again under the same name (a new ifindex).
            ip(&["link", "del", "trk0"]);
            wait_health(&hub, "trk0", |h| {
                h.up == Some(false) && h.detail == "removed"
            })
            .await
            .map_err(|h| format!("removal not seen: {h:?}"))?;
            veth("trk0", "trk0q");
            wait_health(&hub, "trk0", |h| h.up == Some(true))
                .await
                .map_err(|h| format!("the recreated trk0 never up: {h:?}"))?;
            ip(&["link", "set", "trk0", "down"]);
            wait_health(&hub, "trk0", |h| h.up == Some(false))
                .await
                .map_err(|h| format!("the recreated trk0 going down not seen: {h:?}"))?;
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
