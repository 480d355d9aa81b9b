//! Semantic checks that look across keys: references, duplicates, settings that
//! cannot work together, and elections that cannot go the way the operator expects.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::decode::{Ctx, Severity, suggest};
use std::net::IpAddr;

use super::model::{COMM_MAX, Config, Failed};
use super::router::{
    ChildTable, FunctionType, RouterConfig, SequenceConfig, SequenceHandlerType, TableType,
};
use super::types::Dur;
use super::vrrp::{TrackRef, UnicastPeer, Vip};
use super::vrrp::{VrrpInstance, VrrpVersion};
use crate::router::rules::Partition;

/// Another box's view of one of our VRRP instances: its name and base priority.
#[derive(Debug, Clone)]
pub struct Peer {
    pub label: String,
    pub priority: u8,
    /// Its source address, when known.
    pub address: Option<std::net::IpAddr>,
}

fn err(cx: &mut Ctx, path: &str, msg: impl Into<String>) {
    cx.at_path(Severity::Error, path, msg, None);
}

fn err_hint(cx: &mut Ctx, path: &str, msg: impl Into<String>, hint: Option<String>) {
    cx.at_path(Severity::Error, path, msg, hint);
}

fn warn(cx: &mut Ctx, path: &str, msg: impl Into<String>) {
    cx.at_path(Severity::Warning, path, msg, None);
}

fn did_you_mean<'a>(word: &str, names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    suggest(word, names).map(|s| format!("did you mean `{s}`?"))
}

/// Reports each name that appears twice, at its second appearance.
fn unique<'a>(cx: &mut Ctx, items: impl IntoIterator<Item = (String, &'a str)>, what: &str) {
    let mut seen: HashMap<&str, String> = HashMap::new();
    for (path, name) in items {
        if let Some(first) = seen.get(name) {
            let at = match cx.mark_of(first) {
                Some(m) => format!("line {}, {first}", m.line),
                None => first.clone(),
            };
            err(
                cx,
                &path,
                format!("duplicate {what} `{name}` (also at {at})"),
            );
        } else {
            seen.insert(name, path);
        }
    }
}

/// Every single-file check. `elections` runs the election lints against the peer
/// priorities annotated in `unicast_peers` (a cluster check does them itself).
pub fn lint(cfg: &Config, cx: &mut Ctx, base_dir: &Path, elections: bool, failed: Failed) {
    if cfg.vrrp.is_none() && cfg.balancer.is_none() && cfg.router.is_none() && !failed.any() {
        let what = if cfg.observe.is_some() {
            "tandem will only serve `observe`"
        } else {
            "tandem will do nothing (there is no `observe` section either)"
        };
        warn(
            cx,
            "",
            format!("no subsystem is configured (vrrp, balancer, router): {what}"),
        );
    }
    if !failed.vrrp {
        lint_track_scripts(cfg, cx);
    }
    lint_track_processes(cfg, cx, failed);
    lint_track_files(cfg, cx, failed);
    if !failed.track_scripts && !failed.vrrp {
        lint_commands(cfg, cx);
    }
    lint_vrrp(cfg, cx, elections, failed);
    lint_balancer(cfg, cx);
    lint_listen_addresses(cfg, cx);
    if let Some(r) = &cfg.router {
        lint_router(r, cx, base_dir);
    }
}

fn lint_track_scripts(cfg: &Config, cx: &mut Ctx) {
    let used = cfg.tracked_scripts();
    for s in &cfg.track_scripts {
        let p = format!("track_scripts.{}", s.name);
        if !used.contains(s.name.as_str()) {
            warn(
                cx,
                &p,
                "defined but no VRRP instance tracks it; it will not run",
            );
        }
        if s.timeout > s.interval {
            warn(
                cx,
                &format!("{p}.timeout"),
                format!(
                    "timeout {} is longer than interval {}: runs never overlap, so a slow run delays the next one",
                    s.timeout, s.interval
                ),
            );
        }
    }
}

fn lint_track_files(cfg: &Config, cx: &mut Ctx, failed: Failed) {
    let used = cfg.tracked_files();
    for t in &cfg.track_files {
        if !failed.vrrp && !used.contains(t.name.as_str()) {
            warn(
                cx,
                &format!("track_files.{}", t.name),
                "defined but no VRRP instance tracks it; it will not be watched",
            );
        }
    }
}

fn lint_track_processes(cfg: &Config, cx: &mut Ctx, failed: Failed) {
    let used = cfg.tracked_processes();
    for t in &cfg.track_processes {
        let p = format!("track_processes.{}", t.name);
        if !failed.vrrp && !used.contains(t.name.as_str()) {
            warn(
                cx,
                &p,
                "defined but no VRRP instance tracks it; it will not be watched",
            );
        }
        if t.process.is_empty() {
            err(cx, &format!("{p}.process"), "must not be empty");
        } else if !t.uses_cmdline() && t.process.len() > COMM_MAX {
            err_hint(
                cx,
                &format!("{p}.process"),
                format!(
                    "`{}` is {} bytes long, but the kernel keeps only the first {COMM_MAX} bytes of a process name, so it would never match",
                    t.process,
                    t.process.len()
                ),
                Some(format!(
                    "write the name as `ps -o comm` shows it (`{}`), or set `full_command: true` to match the command line",
                    truncate_comm(&t.process)
                )),
            );
        }
        if let Some(max) = t.quorum_max
            && t.quorum > max
        {
            err(
                cx,
                &format!("{p}.quorum"),
                format!("quorum {} is more than quorum_max {max}", t.quorum),
            );
        }
    }
}

/// A name as the kernel keeps it (its first 15 bytes, on a character boundary).
fn truncate_comm(name: &str) -> &str {
    let mut end = COMM_MAX.min(name.len());
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

fn lint_vrrp(cfg: &Config, cx: &mut Ctx, elections: bool, failed: Failed) {
    let Some(v) = &cfg.vrrp else { return };
    if v.instances.is_empty() {
        warn(cx, "vrrp", "no instances: vrrp has nothing to do");
    }
    let ip = |i: usize| format!("vrrp.instances[{i}]");
    unique(
        cx,
        v.instances
            .iter()
            .enumerate()
            .map(|(i, x)| (format!("{}.name", ip(i)), x.name.as_str())),
        "instance name",
    );

    // One VRID per interface and address family.
    let mut vrids: HashMap<(&str, u8, bool), usize> = HashMap::new();
    let mut vips: HashMap<std::net::IpAddr, usize> = HashMap::new();
    for (i, inst) in v.instances.iter().enumerate() {
        let p = ip(i);
        let key = (
            inst.interface.as_str(),
            inst.virtual_router_id,
            inst.is_ipv6(),
        );
        if let Some(first) = vrids.insert(key, i) {
            err(
                cx,
                &format!("{p}.virtual_router_id"),
                format!(
                    "instance `{}` uses virtual_router_id {} on {} like instance `{}`: one VRID per interface",
                    inst.name, inst.virtual_router_id, inst.interface, v.instances[first].name
                ),
            );
        }
        for (j, vip) in inst.virtual_ipaddresses.iter().enumerate() {
            if let Some(first) = vips.insert(vip.address.addr(), i) {
                if first != i {
                    err(
                        cx,
                        &format!("{p}.virtual_ipaddresses[{j}]"),
                        format!(
                            "{} is also a VIP of instance `{}`: two instances would fight over it",
                            vip.address.addr(),
                            v.instances[first].name
                        ),
                    );
                } else {
                    err(
                        cx,
                        &format!("{p}.virtual_ipaddresses[{j}]"),
                        format!("{} is listed twice", vip.address.addr()),
                    );
                }
            }
        }
        lint_instance(cfg, inst, &p, cx, failed);
    }

    // Sync groups.
    let mut member_of: HashMap<&str, &str> = HashMap::new();
    unique(
        cx,
        v.sync_groups
            .iter()
            .enumerate()
            .map(|(g, x)| (format!("vrrp.sync_groups[{g}].name"), x.name.as_str())),
        "sync group name",
    );
    for (g, group) in v.sync_groups.iter().enumerate() {
        let gp = format!("vrrp.sync_groups[{g}]");
        if group.instances.len() < 2 {
            warn(
                cx,
                &format!("{gp}.instances"),
                "a sync group of fewer than two instances has no effect",
            );
        }
        for (k, name) in group.instances.iter().enumerate() {
            let path = format!("{gp}.instances[{k}]");
            if !v.instances.iter().any(|x| &x.name == name) {
                err_hint(
                    cx,
                    &path,
                    format!("instance `{name}` is not defined in vrrp.instances"),
                    did_you_mean(name, v.instances.iter().map(|x| x.name.as_str())),
                );
            } else if let Some(other) = member_of.insert(name.as_str(), group.name.as_str()) {
                err(
                    cx,
                    &path,
                    format!("instance `{name}` is already in sync group `{other}`"),
                );
            }
        }
    }

    // Elections against peer priorities we know from unicast peer annotations.
    if elections && !failed.any() {
        for (i, inst) in v.instances.iter().enumerate() {
            lint_election(cfg, inst, &ip(i), &annotated_peers(inst), cx);
        }
    }
}

/// `script_security` and identities: every command tracking or notify hooks would run.
fn lint_commands(cfg: &Config, cx: &mut Ctx) {
    use crate::track::{process, security};
    let used = cfg.tracked_scripts();
    for s in &cfg.track_scripts {
        let p = format!("track_scripts.{}", s.name);
        let id = match process::identity(s.user.as_deref(), s.group.as_deref()) {
            Ok(id) => id,
            Err(e) => {
                let key = if s.user.is_some() && e.starts_with("user") {
                    "user"
                } else {
                    "group"
                };
                err(cx, &format!("{p}.{key}"), e);
                continue;
            }
        };
        if cfg.script_security
            && used.contains(s.name.as_str())
            && let Err(why) = security::check_command(&s.argv(), id.uid, id.gid)
        {
            err_hint(
                cx,
                &format!("{p}.command"),
                format!("unsafe to run: {why}"),
                Some("fix the permissions, or set `script_security: false`".into()),
            );
        }
    }
    for (i, inst) in cfg.vrrp.iter().flat_map(|v| &v.instances).enumerate() {
        let np = format!("vrrp.instances[{i}].notify");
        let n = &inst.notify;
        let id = match process::identity(n.user.as_deref(), n.group.as_deref()) {
            Ok(id) => id,
            Err(e) => {
                err(cx, &np, e);
                continue;
            }
        };
        if !cfg.script_security {
            continue;
        }
        for (key, cmd) in [
            ("master", &n.master),
            ("backup", &n.backup),
            ("fault", &n.fault),
            ("stop", &n.stop),
            ("any", &n.any),
        ] {
            if let Some(c) = cmd
                && let Err(why) = security::check_command(&c.0, id.uid, id.gid)
            {
                err_hint(
                    cx,
                    &format!("{np}.{key}"),
                    format!("unsafe to run: {why}"),
                    Some("fix the permissions, or set `script_security: false`".into()),
                );
            }
        }
    }
}

fn lint_instance(cfg: &Config, inst: &VrrpInstance, p: &str, cx: &mut Ctx, failed: Failed) {
    // Trackers: each at most once (twice would apply its weight twice).
    for (key, list) in [
        ("track_scripts", &inst.track_scripts),
        ("track_processes", &inst.track_processes),
        ("track_files", &inst.track_files),
        ("track_listeners", &inst.track_listeners),
    ] {
        let mut seen = HashSet::new();
        for (k, t) in list.iter().enumerate() {
            if !seen.insert(t.name.as_str()) {
                err(
                    cx,
                    &format!("{p}.{key}[{k}]"),
                    format!("`{}` is listed twice", t.name),
                );
            }
        }
    }
    for (k, t) in inst.track_scripts.iter().enumerate() {
        if !failed.track_scripts && cfg.track_script(&t.name).is_none() {
            err_hint(
                cx,
                &format!("{p}.track_scripts[{k}]"),
                format!("track script `{}` is not defined in track_scripts", t.name),
                did_you_mean(&t.name, cfg.track_scripts.iter().map(|s| s.name.as_str())),
            );
        }
    }
    for (k, t) in inst.track_processes.iter().enumerate() {
        if !failed.track_processes && cfg.track_process(&t.name).is_none() {
            err_hint(
                cx,
                &format!("{p}.track_processes[{k}]"),
                format!(
                    "track process `{}` is not defined in track_processes",
                    t.name
                ),
                did_you_mean(&t.name, cfg.track_processes.iter().map(|s| s.name.as_str())),
            );
        }
    }
    for (k, t) in inst.track_files.iter().enumerate() {
        if !failed.track_files && cfg.track_file(&t.name).is_none() {
            err_hint(
                cx,
                &format!("{p}.track_files[{k}]"),
                format!("track file `{}` is not defined in track_files", t.name),
                did_you_mean(&t.name, cfg.track_files.iter().map(|s| s.name.as_str())),
            );
        }
    }
    for (k, t) in inst.track_listeners.iter().enumerate() {
        let tp = format!("{p}.track_listeners[{k}]");
        match &cfg.balancer {
            None if failed.balancer => {}
            None => err(
                cx,
                &tp,
                format!(
                    "tracks balancer listener `{}`, but the balancer is not configured",
                    t.name
                ),
            ),
            Some(b) if !b.listeners.iter().any(|l| l.name == t.name) => err_hint(
                cx,
                &tp,
                format!("balancer listener `{}` is not defined", t.name),
                did_you_mean(&t.name, b.listeners.iter().map(|l| l.name.as_str())),
            ),
            _ => {}
        }
    }
    if inst.track_router.is_some() && cfg.router.is_none() && !failed.router {
        err(
            cx,
            &format!("{p}.track_router"),
            "tracks the router, but the router is not configured",
        );
    }
    if inst.priority == 255 && weighted_trackers(cfg, inst).any(|(_, w, _)| w != 0) {
        warn(
            cx,
            &format!("{p}.priority"),
            "tracker weights are never applied to an address owner (priority 255); only weight-0 (FAULT) trackers act",
        );
    }
}

/// What is known of an instance while decoding it: each field is `None` when it was
/// invalid, so these checks run even when other keys of the instance have errors.
pub struct InstanceFields<'a> {
    pub version: Option<VrrpVersion>,
    pub priority: Option<u8>,
    pub interface: Option<&'a str>,
    pub auth_pass: Option<Option<&'a str>>,
    pub vips: Option<&'a [Vip]>,
    pub unicast_src_ip: Option<Option<IpAddr>>,
    pub unicast_peers: Option<&'a [UnicastPeer]>,
    pub mcast_src_ip: Option<Option<IpAddr>>,
    pub nopreempt: Option<bool>,
    pub preempt_delay: Option<Dur>,
    pub track_interfaces: Option<&'a [TrackRef]>,
}

/// Checks that need only the instance itself; `p` is its key path.
pub fn instance_local(f: &InstanceFields<'_>, p: &str, cx: &mut Ctx) {
    let v6 = f
        .vips
        .and_then(|v| v.first())
        .is_some_and(|v| v.address.addr().is_ipv6());
    if let (Some(VrrpVersion::V3), Some(Some(_))) = (f.version, f.auth_pass) {
        err_hint(
            cx,
            &format!("{p}.auth_pass"),
            "VRRPv3 has no authentication (RFC 5798 removed it)",
            Some("remove auth_pass, or use `version: 2`".into()),
        );
    }
    if let Some(Some(pass)) = f.auth_pass
        && pass.len() > 8
    {
        warn(
            cx,
            &format!("{p}.auth_pass"),
            format!(
                "only the first 8 characters are sent (`{}`), as keepalived does",
                &pass[..8]
            ),
        );
    }
    if f.version == Some(VrrpVersion::V2) && cx.was_set(&format!("{p}.v3_checksum")) {
        warn(
            cx,
            &format!("{p}.v3_checksum"),
            "has no effect with `version: 2`",
        );
    }
    if let Some(vips) = f.vips {
        if vips.is_empty() {
            warn(
                cx,
                &format!("{p}.virtual_ipaddresses"),
                "no virtual addresses: the election runs but nothing moves",
            );
        }
        for (j, vip) in vips.iter().enumerate() {
            let vp = format!("{p}.virtual_ipaddresses[{j}]");
            let a = vip.address.addr();
            if a.is_ipv6() != v6 {
                err(
                    cx,
                    &vp,
                    "mixes IPv4 and IPv6: one instance carries one address family (use two instances)",
                );
            }
            if a.is_ipv6() && f.version == Some(VrrpVersion::V2) {
                err_hint(
                    cx,
                    &vp,
                    "VRRPv2 carries only IPv4 addresses",
                    Some("use `version: 3` for IPv6".into()),
                );
            }
            if a.is_unspecified() || a.is_multicast() || a.is_loopback() {
                err(cx, &vp, format!("{a} cannot be a virtual address"));
            }
            if let ipnet::IpNet::V4(net) = vip.address.0 {
                // /31 (RFC 3021) and /32 have no network or broadcast address.
                let subnet = format!("{}/{}", net.network(), net.prefix_len());
                if net.prefix_len() < 31 && a == net.broadcast() {
                    err_hint(
                        cx,
                        &vp,
                        format!(
                            "{a} is the broadcast address of {subnet}: packets to it go to every \
                             host on the subnet"
                        ),
                        Some("use a host address of the subnet, or a /32".into()),
                    );
                } else if net.prefix_len() < 31 && a == net.network() {
                    warn(
                        cx,
                        &vp,
                        format!(
                            "{a} is the network address of {subnet}: some hosts and routers \
                             treat it as a broadcast address and will not reach it"
                        ),
                    );
                }
            }
            if f.unicast_peers
                .unwrap_or(&[])
                .iter()
                .any(|x| x.address == a)
            {
                err(
                    cx,
                    &vp,
                    format!(
                        "{a} is also listed in unicast_peers: a peer's own address cannot be a \
                         virtual address (this box would take it when it becomes master)"
                    ),
                );
            }
            for (key, own) in [
                ("unicast_src_ip", f.unicast_src_ip),
                ("mcast_src_ip", f.mcast_src_ip),
            ] {
                if own == Some(Some(a)) && f.priority.is_some_and(|p| p != 255) {
                    err_hint(
                        cx,
                        &vp,
                        format!(
                            "{a} is also this box's {key}: a virtual address must be an extra \
                             address, or this box loses its own address when it is not master"
                        ),
                        Some("use a free address for the VIP (only an address owner, priority 255, may use its own)".into()),
                    );
                }
            }
            if let (Some(label), Some(dev)) = (&vip.label, vip.dev.as_deref().or(f.interface)) {
                if a.is_ipv6() {
                    err(cx, &format!("{vp}.label"), "IPv6 addresses have no labels");
                } else if !label.starts_with(dev) {
                    err(
                        cx,
                        &format!("{vp}.label"),
                        format!(
                            "label `{label}` must start with the interface name `{dev}` (e.g. `{dev}:vip`)"
                        ),
                    );
                }
            }
        }
    }
    let peers = f.unicast_peers.unwrap_or(&[]);
    if let Some(Some(src)) = f.unicast_src_ip {
        if f.unicast_peers.is_some_and(|p| p.is_empty()) {
            err(
                cx,
                &format!("{p}.unicast_src_ip"),
                "unicast_src_ip without unicast_peers: list the peers, or remove it for multicast",
            );
        }
        if f.vips.is_some() && src.is_ipv6() != v6 {
            err(
                cx,
                &format!("{p}.unicast_src_ip"),
                format!("{src} is not of the instance's address family"),
            );
        }
    }
    let mut seen = HashSet::new();
    for (k, peer) in peers.iter().enumerate() {
        let pp = format!("{p}.unicast_peers[{k}]");
        if f.unicast_src_ip == Some(Some(peer.address)) {
            err(cx, &pp, "a peer cannot be our own unicast_src_ip");
        }
        if f.vips.is_some() && peer.address.is_ipv6() != v6 {
            err(
                cx,
                &pp,
                format!("{} is not of the instance's address family", peer.address),
            );
        }
        if !seen.insert(peer.address) {
            err(cx, &pp, format!("{} is listed twice", peer.address));
        }
    }
    if !peers.is_empty() && matches!(f.mcast_src_ip, Some(Some(_))) {
        warn(
            cx,
            &format!("{p}.mcast_src_ip"),
            "ignored in unicast mode (unicast_src_ip is the source)",
        );
    }
    if f.nopreempt == Some(true) && f.priority == Some(255) {
        warn(
            cx,
            &format!("{p}.nopreempt"),
            "an address owner (priority 255) always takes over; nopreempt has no effect",
        );
    }
    if f.nopreempt == Some(true) && f.preempt_delay.is_some_and(|d| !d.is_zero()) {
        warn(cx, &format!("{p}.preempt_delay"), "ignored with nopreempt");
    }
    let mut seen_if = HashSet::new();
    for (k, t) in f.track_interfaces.unwrap_or(&[]).iter().enumerate() {
        if let Err(e) = super::vrrp::valid_ifname(&t.name) {
            err(cx, &format!("{p}.track_interfaces[{k}]"), e);
        }
        if !seen_if.insert(t.name.as_str()) {
            err(
                cx,
                &format!("{p}.track_interfaces[{k}]"),
                format!("`{}` is listed twice", t.name),
            );
        }
    }
}

/// (tracker label, weight, reverse) of every tracker of an instance.
fn weighted_trackers<'a>(
    cfg: &'a Config,
    inst: &'a VrrpInstance,
) -> impl Iterator<Item = (String, i32, bool)> + 'a {
    let scripts = inst.track_scripts.iter().map(move |t| {
        let def = cfg.track_script(&t.name);
        let w = t.weight.or_else(|| def.map(|s| s.weight)).unwrap_or(0);
        let r = t.reverse.unwrap_or(def.is_some_and(|s| s.reverse));
        (format!("track script `{}`", t.name), w, r)
    });
    let procs = inst.track_processes.iter().map(move |t| {
        let def = cfg.track_process(&t.name);
        let w = t.weight.or_else(|| def.map(|s| s.weight)).unwrap_or(0);
        let r = t.reverse.unwrap_or(def.is_some_and(|s| s.reverse));
        (format!("track process `{}`", t.name), w, r)
    });
    let ifs = inst.track_interfaces.iter().map(|t| {
        (
            format!("interface `{}`", t.name),
            t.weight.unwrap_or(0),
            t.reverse.unwrap_or(false),
        )
    });
    let ls = inst.track_listeners.iter().map(|t| {
        (
            format!("listener `{}`", t.name),
            t.weight.unwrap_or(0),
            t.reverse.unwrap_or(false),
        )
    });
    let r = inst
        .track_router
        .map(|w| ("the router tracker".to_string(), w, false));
    scripts.chain(procs).chain(ifs).chain(ls).chain(r)
}

/// The peers whose priority `unicast_peers` entries state.
pub fn annotated_peers(inst: &VrrpInstance) -> Vec<Peer> {
    inst.unicast_peers
        .iter()
        .filter_map(|p| {
            p.priority.map(|prio| Peer {
                label: format!("peer {}", p.address),
                priority: prio,
                address: Some(p.address),
            })
        })
        .collect()
}

/// Election lints for one instance against what we know of its peers.
pub fn lint_election(cfg: &Config, inst: &VrrpInstance, p: &str, peers: &[Peer], cx: &mut Ctx) {
    let Some(top) = peers.iter().max_by_key(|x| x.priority) else {
        return;
    };
    let own = inst.priority;
    if inst.nopreempt && top.priority > own {
        warn(
            cx,
            &format!("{p}.nopreempt"),
            format!(
                "has no effect on a node that is not the highest priority ({} has {}, this node {}): \
                 set nopreempt on the highest-priority node to keep it from taking the VIP back",
                top.label, top.priority, own
            ),
        );
    }
    if own == 255 || top.priority == own {
        return;
    }
    let q = i32::from(top.priority);
    let base = i32::from(own);
    let top_node = base > q;
    for (label, w, reverse) in weighted_trackers(cfg, inst) {
        if w == 0 {
            continue;
        }
        // Positive weights count while the tracker succeeds, negative ones while it fails;
        // `reverse` subtracts the positive ones and adds the negative ones.
        let signed = if reverse { -w } else { w };
        let (ok, failing) = if w > 0 {
            ((base + signed).clamp(1, 254), base)
        } else {
            (base, (base + signed).clamp(1, 254))
        };
        // A tracker that lowers a lower node matters when the top node degrades too, so
        // only the cases that can never matter are reported.
        let never = if top_node {
            ok > q && failing > q
        } else {
            let high = ok.max(failing);
            high > base && high < q
        };
        let w = if reverse {
            format!("{w:+} reverse")
        } else {
            format!("{w:+}")
        };
        if never {
            let verdict = if top_node {
                "this node stays above"
            } else {
                "this node stays below"
            };
            warn(
                cx,
                &format!("{p}.priority"),
                format!(
                    "weight {w} of {label} can never move mastership: {verdict} {} ({}) either way \
                     (effective priority {ok} when healthy, {failing} when failing)",
                    top.label, top.priority
                ),
            );
        }
    }
}

/// Consistency between two boxes' views of the same virtual router.
pub fn lint_pair(a: &VrrpInstance, pa: &str, b: &VrrpInstance, b_file: &str, cx: &mut Ctx) {
    let other = format!("{b_file} (`{}`)", b.name);
    if a.version != b.version {
        err(
            cx,
            &format!("{pa}.version"),
            format!(
                "VRRPv{} here, VRRPv{} in {other}: the boxes would not hear each other",
                a.version.number(),
                b.version.number()
            ),
        );
    }
    if a.advert_int != b.advert_int {
        let sev = if a.version == VrrpVersion::V2 {
            "VRRPv2 drops adverts with another interval, so both boxes would become master"
        } else {
            "VRRPv3 backups adopt the master's interval, but failover timing then depends on who is master"
        };
        let msg = format!(
            "advert_int {} here, {} in {other}: {sev}",
            a.advert_int, b.advert_int
        );
        if a.version == VrrpVersion::V2 {
            err(cx, &format!("{pa}.advert_int"), msg);
        } else {
            warn(cx, &format!("{pa}.advert_int"), msg);
        }
    }
    if a.auth_pass != b.auth_pass {
        err(
            cx,
            &format!("{pa}.auth_pass"),
            format!("auth_pass differs from {other}: adverts would be dropped"),
        );
    }
    let set = |i: &VrrpInstance| -> Vec<String> {
        let mut v: Vec<String> = i
            .virtual_ipaddresses
            .iter()
            .map(|x| x.address.to_string())
            .collect();
        v.sort();
        v
    };
    if set(a) != set(b) {
        err(
            cx,
            &format!("{pa}.virtual_ipaddresses"),
            format!(
                "VIPs differ from {other}: [{}] here, [{}] there",
                set(a).join(", "),
                set(b).join(", ")
            ),
        );
    }
    if a.priority == 255 && b.priority == 255 {
        err(
            cx,
            &format!("{pa}.priority"),
            format!("both this node and {other} claim to own the addresses (priority 255)"),
        );
    } else if a.priority == b.priority {
        warn(
            cx,
            &format!("{pa}.priority"),
            format!(
                "same priority {} as {other}: the higher primary IP address wins, which is easy to get wrong",
                a.priority
            ),
        );
    }
    if a.is_unicast() != b.is_unicast() {
        err(
            cx,
            &format!("{pa}.unicast_peers"),
            format!("one box uses unicast and {other} multicast: they would not hear each other"),
        );
    } else if a.is_unicast()
        && let Some(src) = b.unicast_src_ip
        && !a.unicast_peers.iter().any(|p| p.address == src)
    {
        err(
            cx,
            &format!("{pa}.unicast_peers"),
            format!(
                "{other} sends from {src}, which is not in unicast_peers here: its adverts would be dropped"
            ),
        );
    }
}

/// Consistency between two boxes' routers: `time` sequences (snowflake ids) need a
/// `worker_id`/`datacenter_id` pair of their own on each router, or both hand out the
/// same ids (duplicate primary keys once inserts reach both routers).
pub fn lint_router_pair(a: &RouterConfig, b: &RouterConfig, b_file: &str, cx: &mut Ctx) {
    // Clients reach whichever router holds the VIP: the same TLS rules on both, or a
    // failover changes what a client may do.
    let on = |r: &RouterConfig| r.tls.is_some();
    let required = |r: &RouterConfig| r.tls.as_ref().is_some_and(|t| t.require_secure_transport);
    if on(a) != on(b) {
        warn(
            cx,
            "router.tls",
            format!(
                "TLS is {} here and {} in {b_file}: after a failover, clients that ask for TLS (MariaDB 11.4+ clients always do) {}",
                if on(a) { "on" } else { "off" },
                if on(b) { "on" } else { "off" },
                "are refused by the router without it",
            ),
        );
    } else if required(a) != required(b) {
        warn(
            cx,
            "router.tls.require_secure_transport",
            format!(
                "require_secure_transport is {} here and {} in {b_file}: clients without TLS work on one box and are refused on the other",
                required(a),
                required(b)
            ),
        );
    }
    if a.local_infile != b.local_infile {
        warn(
            cx,
            "router.local_infile",
            format!(
                "local_infile is {} here and {} in {b_file}: LOAD DATA LOCAL INFILE works through one router and gets error 4166 from the other, so a bulk load fails after a failover",
                a.local_infile, b.local_infile
            ),
        );
    }
    let (Some(sa), Some(sb)) = (&a.sequence, &b.sequence) else {
        return;
    };
    if sa.handler != SequenceHandlerType::Time || sb.handler != SequenceHandlerType::Time {
        return;
    }
    if let (Some(w), Some(d)) = (sa.worker_id, sa.datacenter_id)
        && sb.worker_id == Some(w)
        && sb.datacenter_id == Some(d)
    {
        err_hint(
            cx,
            "router.sequence.worker_id",
            format!(
                "worker_id {w} with datacenter_id {d} is also the `time` sequence pair of {b_file}: both routers would hand out the same ids (duplicate keys for `auto_increment` tables and `next value for MYCATSEQ_...`)"
            ),
            Some(format!(
                "give each router its own pair, e.g. worker_id {w} here and {} there",
                if w == 31 { 30 } else { w + 1 }
            )),
        );
    }
}

/// Every socket tandem listens on (observe, router, router admin, balancer listeners)
/// must have an address of its own: the second bind would fail at start. A wildcard
/// address (`0.0.0.0`, `::`) takes the port on every address of its family.
fn lint_listen_addresses(cfg: &Config, cx: &mut Ctx) {
    let mut socks: Vec<(String, String, std::net::SocketAddr)> = Vec::new();
    if let Some(o) = &cfg.observe {
        socks.push(("observe.listen".into(), "observe.listen".into(), o.listen));
    }
    if let Some(r) = &cfg.router {
        socks.push(("router.listen".into(), "router.listen".into(), r.listen));
        if let Some(a) = r.admin_listen {
            socks.push((
                "router.admin_listen".into(),
                "router.admin_listen".into(),
                a,
            ));
        }
    }
    if let Some(b) = &cfg.balancer {
        for (i, l) in b.listeners.iter().enumerate() {
            socks.push((
                format!("balancer.listeners[{i}].bind"),
                format!("balancer listener `{}`", l.name),
                l.bind,
            ));
        }
    }
    // In file order, so the later of two is the one reported.
    socks.sort_by_key(|(p, _, _)| cx.mark_of(p).map(|m| (m.line, m.col)));
    for (j, (path, _, addr)) in socks.iter().enumerate() {
        let clash = socks[..j].iter().find(|(_, _, a)| {
            a.port() == addr.port()
                && addr.port() != 0
                && a.is_ipv4() == addr.is_ipv4()
                && (a.ip() == addr.ip() || a.ip().is_unspecified() || addr.ip().is_unspecified())
        });
        if let Some((first_path, first_what, first)) = clash {
            let line = cx
                .mark_of(first_path)
                .map(|m| format!(" (line {})", m.line))
                .unwrap_or_default();
            let msg = if first == addr {
                format!(
                    "{addr} is also where {first_what} listens{line}: two sockets cannot listen on one address"
                )
            } else {
                format!(
                    "{addr} overlaps {first} of {first_what}{line}: a wildcard address takes port {} on every address",
                    addr.port()
                )
            };
            let hint = (!cx.was_set(path))
                .then(|| format!("{addr} is the default of {path}: set {path} to another address"));
            err_hint(cx, path, msg, hint);
        }
    }
}

fn lint_balancer(cfg: &Config, cx: &mut Ctx) {
    let Some(b) = &cfg.balancer else { return };
    if b.listeners.is_empty() {
        warn(
            cx,
            "balancer",
            "no listeners: the balancer has nothing to do",
        );
    }
    unique(
        cx,
        b.listeners
            .iter()
            .enumerate()
            .map(|(i, l)| (format!("balancer.listeners[{i}].name"), l.name.as_str())),
        "listener name",
    );
    let router_port = cfg.router.as_ref().and_then(|r| {
        r.tls
            .as_ref()
            .is_some_and(|t| t.require_secure_transport)
            .then_some(r.listen.port())
    });
    for (i, l) in b.listeners.iter().enumerate() {
        let lp = format!("balancer.listeners[{i}]");
        if let (Some(port), Some(c)) = (router_port, &l.check)
            && c.kind == super::balancer::CheckType::Mysql
            && c.user.is_some()
            && l.servers
                .iter()
                .any(|s| c.port.unwrap_or(s.address.port()) == port)
        {
            warn(
                cx,
                &format!("{lp}.check.user"),
                format!(
                    "this check logs in without TLS, and a tandem router on port {port} with router.tls.require_secure_transport refuses it (error 3159): the server would be marked DOWN; drop `user` (the greeting alone shows the router is up)"
                ),
            );
        }
        if l.servers.is_empty() {
            err(
                cx,
                &format!("{lp}.servers"),
                "no servers: nothing to balance to",
            );
        }
        unique(
            cx,
            l.servers
                .iter()
                .enumerate()
                .map(|(k, s)| (format!("{lp}.servers[{k}].name"), s.name.as_str())),
            "server name",
        );
        let mut seen: HashMap<std::net::SocketAddr, &str> = HashMap::new();
        for (k, s) in l.servers.iter().enumerate() {
            if let Some(first) = seen.insert(s.address, &s.name) {
                warn(
                    cx,
                    &format!("{lp}.servers[{k}].address"),
                    format!(
                        "{} is also server `{first}`'s address: both get their own share and \
                         health check but reach the same process (to give it more traffic, \
                         raise its weight)",
                        s.address
                    ),
                );
            }
            if s.address == l.bind {
                err(
                    cx,
                    &format!("{lp}.servers[{k}].address"),
                    "is the listener's own bind address: connections would loop",
                );
            }
        }
        if !l.servers.is_empty() && l.servers.iter().all(|s| s.backup) {
            warn(
                cx,
                &format!("{lp}.servers"),
                "every server is a backup: backups are used only when no active server is up",
            );
        }
        if !l.servers.is_empty()
            && l.servers
                .iter()
                .filter(|s| !s.backup)
                .all(|s| s.weight == 0)
        {
            warn(
                cx,
                &format!("{lp}.servers"),
                "every active server has weight 0: no new connection will reach them",
            );
        }
        if l.on_marked_up == super::balancer::OnMarkedUp::ShutdownBackupSessions
            && !l.servers.iter().any(|s| s.backup)
        {
            warn(
                cx,
                &format!("{lp}.on_marked_up"),
                "the listener has no backup server: `shutdown_backup_sessions` has nothing to close",
            );
        }
        let set = |key: &str| cx.was_set(&format!("{lp}.{key}"));
        if l.balance != super::balancer::Balance::Source && set("source_compat") {
            warn(
                cx,
                &format!("{lp}.source_compat"),
                "only applies to `balance: source`",
            );
        }
        if let Some(c) = &l.check {
            let cp = format!("{lp}.check");
            let cset = |key: &str| cx.was_set(&format!("{cp}.{key}"));
            if c.kind != super::balancer::CheckType::Http
                && (cset("path") || cset("expect_status") || cset("disable_on_404"))
            {
                warn(
                    cx,
                    &cp,
                    "`path`, `expect_status` and `disable_on_404` only apply to `type: http`",
                );
            }
            if c.kind != super::balancer::CheckType::Mysql && c.user.is_some() {
                warn(cx, &format!("{cp}.user"), "only applies to `type: mysql`");
            }
            if c.kind != super::balancer::CheckType::Tcp && (c.send.is_some() || c.expect.is_some())
            {
                warn(cx, &cp, "`send` and `expect` only apply to `type: tcp`");
            }
            if c.observe.is_none()
                && (cx.was_set(&format!("{cp}.error_limit"))
                    || cx.was_set(&format!("{cp}.on_error")))
            {
                warn(
                    cx,
                    &cp,
                    "`error_limit` and `on_error` only apply with `observe: layer4`",
                );
            }
        }
        lint_agents(l, &lp, cx);
    }
    lint_tracks(b, cx);
}

/// `track`: the server exists, the chain ends at a checked server, without a loop, and
/// a tracking server has no check timing of its own (haproxy: "unable to enable checks
/// and tracking at the same time").
fn lint_tracks(b: &super::balancer::BalancerConfig, cx: &mut Ctx) {
    let find = |l: &str, s: &str| {
        b.listeners.iter().enumerate().find_map(|(i, x)| {
            (x.name == l)
                .then(|| x.servers.iter().position(|y| y.name == s).map(|j| (i, j)))
                .flatten()
        })
    };
    for (i, l) in b.listeners.iter().enumerate() {
        for (j, s) in l.servers.iter().enumerate() {
            let Some((tl, ts)) = s.tracks(&l.name) else {
                continue;
            };
            let path = format!("balancer.listeners[{i}].servers[{j}].track");
            if !s.check_tuning.is_empty() {
                err(
                    cx,
                    &format!("balancer.listeners[{i}].servers[{j}].check"),
                    "a server that tracks another has no check of its own: drop `check` or `track`",
                );
            }
            let mut at = (i, j);
            let mut seen = vec![at];
            let mut bad = None;
            let mut target = (tl, ts);
            loop {
                let Some(next) = find(&target.0, &target.1) else {
                    bad = Some(format!(
                        "`{}/{}` is not a server of this balancer",
                        target.0, target.1
                    ));
                    break;
                };
                if seen.contains(&next) {
                    bad = Some(
                        "the servers track each other in a loop: one of them must be checked"
                            .to_string(),
                    );
                    break;
                }
                seen.push(next);
                at = next;
                let (nl, ns) = (&b.listeners[at.0], &b.listeners[at.0].servers[at.1]);
                match ns.tracks(&nl.name) {
                    Some(t) => target = t,
                    None => {
                        let checked = nl.check.is_some() && ns.check;
                        let agent = super::balancer::agent_of(nl, ns).is_some();
                        if !checked && !agent {
                            bad = Some(format!(
                                "`{}/{}` is neither checked nor has an agent check: there is no state to follow",
                                nl.name, ns.name
                            ));
                        }
                        break;
                    }
                }
            }
            if let Some(m) = bad {
                err(cx, &path, m);
            }
        }
    }
}

/// Every agent check has a port to ask (haproxy: "agent-check requires agent-port").
fn lint_agents(l: &super::balancer::Listener, lp: &str, cx: &mut Ctx) {
    let listener_port = l.agent.as_ref().and_then(|a| a.port);
    for (j, s) in l.servers.iter().enumerate() {
        let on = s.agent.unwrap_or(l.agent.is_some());
        if !on || listener_port.or(s.agent_tuning.port).is_some() {
            continue;
        }
        let sp = format!("{lp}.servers[{j}].agent");
        let path = if s.agent.is_some() {
            sp
        } else {
            format!("{lp}.agent")
        };
        err_hint(
            cx,
            &path,
            format!("the agent check of server `{}` has no port to ask", s.name),
            Some(
                "give `port` (haproxy's `agent-port`) in the listener's `agent` or the server's"
                    .into(),
            ),
        );
    }
}

/// `router.tls`: the certificate and key load as the router will load them, and the
/// certificate is not about to expire.
fn lint_router_tls(r: &RouterConfig, cx: &mut Ctx, base_dir: &Path) {
    let Some(t) = &r.tls else {
        return;
    };
    let mut t = t.clone();
    for f in [&mut t.cert, &mut t.key].into_iter().flatten() {
        if f.is_relative() {
            *f = base_dir.join(&*f);
        }
    }
    let path = if t.cert.is_some() {
        "router.tls.cert"
    } else {
        "router.tls"
    };
    match crate::router::tls::TlsState::load(&t) {
        Err(e) => err(cx, path, e),
        Ok(s) if s.expires_in() < 30 * 86_400 => warn(
            cx,
            path,
            format!(
                "the certificate expires on {} (in {} days)",
                s.not_after_text(),
                s.expires_in().div_euclid(86_400)
            ),
        ),
        Ok(_) => {}
    }
}

fn lint_router(r: &RouterConfig, cx: &mut Ctx, base_dir: &Path) {
    let schema_names: Vec<&str> = r.schemas.iter().map(|s| s.name.as_str()).collect();
    let node_names: Vec<&str> = r.data_nodes.iter().map(|n| n.name.as_str()).collect();
    let host_names: Vec<&str> = r.data_hosts.iter().map(|h| h.name.as_str()).collect();
    let rule_names: Vec<&str> = r.rules.iter().map(|x| x.name.as_str()).collect();

    if r.users.is_empty() {
        err(cx, "router.users", "no users: no client could log in");
    }
    unique(
        cx,
        r.users
            .iter()
            .enumerate()
            .map(|(i, u)| (format!("router.users[{i}].name"), u.name.as_str())),
        "user",
    );
    lint_router_tls(r, cx, base_dir);
    for (i, u) in r.users.iter().enumerate() {
        let up = format!("router.users[{i}]");
        if u.require_tls && r.tls.is_none() {
            err_hint(
                cx,
                &format!("{up}.require_tls"),
                "this user must use TLS, but router.tls is off",
                Some("turn router.tls on (the default), or drop require_tls".into()),
            );
        }
        for (k, s) in u.schemas.iter().enumerate() {
            if !schema_names.contains(&s.as_str()) {
                err_hint(
                    cx,
                    &format!("{up}.schemas[{k}]"),
                    format!("schema `{s}` is not defined in router.schemas"),
                    did_you_mean(s, schema_names.iter().copied()),
                );
            }
        }
        if let Some(d) = &u.default_schema
            && !u.schemas.contains(d)
        {
            err(
                cx,
                &format!("{up}.default_schema"),
                format!("`{d}` is not one of this user's schemas"),
            );
        }
        for pr in &u.privileges {
            let pp = format!("{up}.privileges.{}", pr.schema);
            if !u.schemas.contains(&pr.schema) {
                err(
                    cx,
                    &pp,
                    format!(
                        "privileges for schema `{}`, which this user cannot use",
                        pr.schema
                    ),
                );
            }
        }
        if u.admin && r.admin_listen.is_none() {
            warn(
                cx,
                &format!("{up}.admin"),
                "admin user, but router.admin_listen is off",
            );
        }
        if u.password.is_empty() {
            warn(cx, &format!("{up}.password"), "empty password");
        }
    }
    let user_names: Vec<&str> = r.users.iter().map(|u| u.name.as_str()).collect();
    for (i, w) in r.firewall.whitelist.iter().enumerate() {
        if !w.users.is_empty() && w.hosts().any(|h| h.is_pattern()) {
            warn(
                cx,
                &format!("router.firewall.whitelist[{i}].users"),
                format!(
                    "`{}` has a pattern (`*` or `%`), which admits every user, as in MyCat: these users are not checked for it",
                    w.host
                ),
            );
        }
        for (k, u) in w.users.iter().enumerate() {
            if !user_names.contains(&u.as_str()) {
                err_hint(
                    cx,
                    &format!("router.firewall.whitelist[{i}].users[{k}]"),
                    format!("user `{u}` is not defined in router.users"),
                    did_you_mean(u, user_names.iter().copied()),
                );
            }
        }
    }

    unique(
        cx,
        r.schemas
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("router.schemas[{i}].name"), s.name.as_str())),
        "schema",
    );
    let mut used_nodes: HashSet<&str> = HashSet::new();
    let mut used_rules: HashSet<&str> = HashSet::new();
    let mut node_ref = |cx: &mut Ctx, path: &str, n: &str| {
        if node_names.contains(&n) {
            used_nodes.insert(node_names[node_names.iter().position(|x| *x == n).unwrap_or(0)]);
        } else {
            err_hint(
                cx,
                path,
                format!("data node `{n}` is not defined in router.data_nodes"),
                did_you_mean(n, node_names.iter().copied()),
            );
        }
    };
    for (i, s) in r.schemas.iter().enumerate() {
        let sp = format!("router.schemas[{i}]");
        if let Some(dn) = &s.data_node {
            node_ref(cx, &format!("{sp}.data_node"), dn);
        } else if s.tables.is_empty() {
            err(
                cx,
                &sp,
                "neither `data_node` nor `tables`: statements on this schema could go nowhere",
            );
        }
        let mut table_names: Vec<(String, &str)> = Vec::new();
        for (t, table) in s.tables.iter().enumerate() {
            let tp = format!("{sp}.tables[{t}]");
            table_names.push((format!("{tp}.name"), table.name.as_str()));
            collect_children(&table.children, &tp, &mut table_names);
            for n in &table.data_nodes {
                node_ref(cx, &format!("{tp}.data_nodes"), n);
            }
            match (table.kind, &table.rule) {
                (TableType::Global, Some(_)) => err(
                    cx,
                    &format!("{tp}.rule"),
                    "a global table has a copy on every data node; it takes no rule",
                ),
                (TableType::Sharded, None) if table.data_nodes.len() > 1 => err_hint(
                    cx,
                    &format!("{tp}.rule"),
                    format!(
                        "table `{}` is spread over {} data nodes but has no rule",
                        table.name,
                        table.data_nodes.len()
                    ),
                    Some("add `rule: <name>`, or `type: global` for a copy on every node".into()),
                ),
                (TableType::Global, None) if !table.children.is_empty() => err(
                    cx,
                    &format!("{tp}.children"),
                    "child tables follow a sharded parent; a global table cannot have them",
                ),
                _ => {}
            }
            if let Some(rule) = &table.rule {
                if rule_names.contains(&rule.as_str()) {
                    used_rules
                        .insert(rule_names[rule_names.iter().position(|x| x == rule).unwrap_or(0)]);
                } else {
                    err_hint(
                        cx,
                        &format!("{tp}.rule"),
                        format!("rule `{rule}` is not defined in router.rules"),
                        did_you_mean(rule, rule_names.iter().copied()),
                    );
                }
            }
            if table.rule_required {
                match (table.kind, &table.rule) {
                    (TableType::Global, _) => warn(
                        cx,
                        &format!("{tp}.rule_required"),
                        "a global table has no sharding column: rule_required does nothing here (as in MyCat)",
                    ),
                    (TableType::Sharded, None) => err(
                        cx,
                        &format!("{tp}.rule_required"),
                        "rule_required needs a rule: without a sharding column every statement on this table would be refused",
                    ),
                    _ => {}
                }
            }
            if table.auto_increment && r.sequence.is_none() {
                warn(
                    cx,
                    &format!("{tp}.auto_increment"),
                    "auto_increment fills primary keys from router.sequence, which is not configured: such INSERTs will fail",
                );
            }
            let mut dn_seen = HashSet::new();
            for n in &table.data_nodes {
                if !dn_seen.insert(n) {
                    err(
                        cx,
                        &format!("{tp}.data_nodes"),
                        format!("data node `{n}` is listed twice"),
                    );
                }
            }
        }
        unique(
            cx,
            table_names.iter().map(|(p, n)| (p.clone(), *n)),
            "table",
        );
    }

    if let Some(seq) = &r.sequence {
        lint_sequence(seq, &node_names, &mut used_nodes, cx, base_dir);
    }

    unique(
        cx,
        r.data_nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (format!("router.data_nodes[{i}].name"), n.name.as_str())),
        "data node",
    );
    for (i, n) in r.data_nodes.iter().enumerate() {
        if !host_names.contains(&n.data_host.as_str()) {
            err_hint(
                cx,
                &format!("router.data_nodes[{i}].data_host"),
                format!(
                    "data host `{}` of data node `{}` is not defined in router.data_hosts",
                    n.data_host, n.name
                ),
                did_you_mean(&n.data_host, host_names.iter().copied()),
            );
        }
        if !used_nodes.contains(n.name.as_str()) {
            warn(
                cx,
                &format!("router.data_nodes[{i}]"),
                format!("data node `{}` is not used by any schema", n.name),
            );
        }
    }
    unique(
        cx,
        r.data_hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (format!("router.data_hosts[{i}].name"), h.name.as_str())),
        "data host",
    );
    for (i, h) in r.data_hosts.iter().enumerate() {
        let hp = format!("router.data_hosts[{i}]");
        if h.write_hosts.is_empty() {
            err(cx, &format!("{hp}.write_hosts"), "no write hosts");
        }
        let mut tls = h.tls.clone();
        if let Some(f) = tls.ca.as_mut()
            && f.is_relative()
        {
            *f = base_dir.join(&*f);
        }
        if let Err(e) = crate::router::tls::BackendTlsSetup::check(&tls) {
            err(cx, &format!("{hp}.tls.ca"), e);
        }
        let mut names: Vec<(String, &str)> = Vec::new();
        for (w, wh) in h.write_hosts.iter().enumerate() {
            names.push((format!("{hp}.write_hosts[{w}].host"), wh.host.as_str()));
            for (k, rh) in wh.read_hosts.iter().enumerate() {
                names.push((
                    format!("{hp}.write_hosts[{w}].read_hosts[{k}].host"),
                    rh.host.as_str(),
                ));
            }
        }
        unique(cx, names, "host name");
        // Reads find no host of their own: the active write host serves them (the
        // router falls back to it when a balance has no candidate, as MyCat's
        // randomSelect of an empty list does).
        let no_reader = h.write_hosts.iter().all(|w| w.read_hosts.is_empty());
        let other_reader = match h.balance {
            1 | 2 => h.write_hosts.len() > 1,
            _ => false,
        };
        if h.balance > 0 && no_reader && !other_reader {
            let hosts = match h.balance {
                1 => "read hosts and standby write hosts",
                2 => "every host",
                _ => "read hosts",
            };
            warn(
                cx,
                &format!("{hp}.balance"),
                format!(
                    "balance {} reads from {hosts}, and this data host has no host besides its write host: the write host serves every read, as with balance 0",
                    h.balance
                ),
            );
        }
        if h.stop_replication_on_switch && h.write_hosts.len() < 2 {
            warn(
                cx,
                &format!("{hp}.stop_replication_on_switch"),
                "this data host has one write host, so there is no switch and nothing to stop: list the replica that takes over as a second write host",
            );
        }
        if !r.data_nodes.iter().any(|n| n.data_host == h.name) {
            warn(
                cx,
                &hp,
                format!("data host `{}` is not used by any data node", h.name),
            );
        }
    }
    unique(
        cx,
        r.rules
            .iter()
            .enumerate()
            .map(|(i, x)| (format!("router.rules[{i}].name"), x.name.as_str())),
        "rule",
    );
    // Each rule's function, built as the router will build it.
    let mut built: HashMap<&str, Partition> = HashMap::new();
    for (i, rule) in r.rules.iter().enumerate() {
        let rp = format!("router.rules[{i}]");
        if !used_rules.contains(rule.name.as_str()) {
            warn(
                cx,
                &rp,
                format!("rule `{}` is not used by any table", rule.name),
            );
        }
        // The decoder already reported problems with this rule: building it would only
        // repeat them.
        let mut reported = cx.diags.iter().any(|d| {
            d.severity == Severity::Error && (d.path == rp || d.path.starts_with(&format!("{rp}.")))
        });
        for (key, file) in [
            ("map_file", &rule.function.map_file),
            ("weight_map_file", &rule.function.weight_map_file),
        ] {
            if let Some(f) = file {
                let full = base_dir.join(f);
                if !full.is_file() {
                    err(
                        cx,
                        &format!("{rp}.function.{key}"),
                        format!("cannot read {}", full.display()),
                    );
                    reported = true;
                }
            }
        }
        if !rule.function.map.is_empty() && rule.function.map_file.is_some() {
            err(
                cx,
                &format!("{rp}.function.map"),
                "give `map` or `map_file`, not both",
            );
            reported = true;
        }
        if reported {
            continue;
        }
        match Partition::build_located(&rule.function, base_dir) {
            Ok(p) => {
                built.entry(rule.name.as_str()).or_insert(p);
            }
            Err(e) => {
                let path = if e.key.is_empty() {
                    format!("{rp}.function")
                } else {
                    format!("{rp}.function.{}", e.key)
                };
                err(cx, &path, e.message);
            }
        }
    }
    // A rule must not place rows on a node the table does not have.
    for (i, s) in r.schemas.iter().enumerate() {
        for (t, table) in s.tables.iter().enumerate() {
            if table.kind != TableType::Sharded {
                continue;
            }
            let Some(rule) = &table.rule else { continue };
            let Some(max) = built.get(rule.as_str()).and_then(Partition::max_node) else {
                continue;
            };
            let k = table.data_nodes.len();
            if max >= k as i64 {
                let natural = r.rules.iter().any(|x| {
                    x.name == *rule
                        && x.function.kind == Some(FunctionType::Date)
                        && x.function.natural_day == Some(true)
                });
                // MyCat loads this (its partition-count check skips natural days
                // without an end date) and fails each statement on a missing node.
                let why = if natural {
                    format!(
                        ": `natural_day: true` puts a row on node (day of the month - 1), so the table needs 31 data nodes. MyCat 1.6 loads such a table (it checks the node count of a date rule only when it has `end_date`) and then fails every statement dated from the {} to the 31st of a month (node index {k} and up does not exist), so only rows dated up to the {k}{} can exist there; tandem refuses the rule instead of routing some dates nowhere: give the table 31 data nodes, or use `begin_date` with `partition_day`",
                        ordinal(k + 1),
                        ordinal_suffix(k)
                    )
                } else {
                    String::new()
                };
                err(
                    cx,
                    &format!("router.schemas[{i}].tables[{t}].rule"),
                    format!(
                        "rule `{rule}` can place rows on node index {max} but table `{}` has only {k} data nodes{why}",
                        table.name
                    ),
                );
            }
        }
    }
}

/// `router.sequence`: the keys of its handler and no others, data nodes that exist, a
/// readable local file. Data nodes holding sequences count as used.
fn lint_sequence<'a>(
    seq: &SequenceConfig,
    node_names: &[&'a str],
    used_nodes: &mut HashSet<&'a str>,
    cx: &mut Ctx,
    base_dir: &Path,
) {
    let p = "router.sequence";
    let h = seq.handler;
    let given = [
        ("file", seq.file.is_some()),
        ("data_node", seq.data_node.is_some()),
        ("nodes", !seq.nodes.is_empty()),
        ("worker_id", seq.worker_id.is_some()),
        ("datacenter_id", seq.datacenter_id.is_some()),
    ];
    let applies: &[&str] = match h {
        SequenceHandlerType::LocalFile => &["file"],
        SequenceHandlerType::Database => &["data_node", "nodes"],
        SequenceHandlerType::Time => &["worker_id", "datacenter_id"],
    };
    for (key, set) in given {
        if set && !applies.contains(&key) {
            err_hint(
                cx,
                &format!("{p}.{key}"),
                format!("`{key}` does not apply to the `{h}` sequence handler"),
                Some(format!("`{h}` takes: {}", applies.join(", "))),
            );
        }
    }
    let missing = |cx: &mut Ctx, what: &str| {
        err(
            cx,
            &format!("{p}.handler"),
            format!("a `{h}` sequence needs {what}"),
        )
    };
    match h {
        SequenceHandlerType::LocalFile => match &seq.file {
            None => missing(cx, "`file` (a MyCat sequence_conf.properties)"),
            Some(f) => {
                let full = base_dir.join(f);
                if let Err(e) = crate::router::sequence::check_local_file(&full) {
                    err(cx, &format!("{p}.file"), format!("{}: {e}", full.display()));
                }
            }
        },
        SequenceHandlerType::Database => {
            if seq.data_node.is_none() && seq.nodes.is_empty() {
                missing(cx, "`data_node` or `nodes`");
            }
            let refs = seq
                .data_node
                .iter()
                .map(|n| (format!("{p}.data_node"), n))
                .chain(seq.nodes.iter().map(|(k, n)| (format!("{p}.nodes.{k}"), n)));
            for (path, n) in refs {
                match node_names.iter().find(|x| **x == n.as_str()) {
                    Some(x) => {
                        used_nodes.insert(x);
                    }
                    None => err_hint(
                        cx,
                        &path,
                        format!("data node `{n}` is not defined in router.data_nodes"),
                        did_you_mean(n, node_names.iter().copied()),
                    ),
                }
            }
            for k in seq.nodes.keys() {
                if !crate::router::sequence::is_name(k) {
                    err(
                        cx,
                        &format!("{p}.nodes.{k}"),
                        format!(
                            "`{k}` is not a sequence name: 1 to 64 letters, digits and underscores"
                        ),
                    );
                }
            }
        }
        SequenceHandlerType::Time => {
            for (key, v) in [
                ("worker_id", seq.worker_id),
                ("datacenter_id", seq.datacenter_id),
            ] {
                if v.is_none() {
                    missing(cx, &format!("`{key}` (0 to 31, unique per router)"));
                }
            }
        }
    }
}

fn collect_children<'a>(
    children: &'a [ChildTable],
    parent: &str,
    out: &mut Vec<(String, &'a str)>,
) {
    for (c, child) in children.iter().enumerate() {
        let cp = format!("{parent}.children[{c}]");
        out.push((format!("{cp}.name"), child.name.as_str()));
        collect_children(&child.children, &cp, out);
    }
}

/// `1st`, `2nd`, `3rd`, `4th`, ... `31st`.
fn ordinal(n: usize) -> String {
    format!("{n}{}", ordinal_suffix(n))
}

fn ordinal_suffix(n: usize) -> &'static str {
    match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}
