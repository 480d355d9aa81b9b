//! `vrrp:` — keepalived's `vrrp_instance`, `vrrp_sync_group` and friends.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::Serialize;

use super::decode::{Ctx, Decode, MapReader};
use super::lint;
use super::types::{Cidr, Command, Dur, nonzero_check};
use super::yaml::{Kind, Node};
use crate::config_enum;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpConfig {
    pub instances: Vec<VrrpInstance>,
    pub sync_groups: Vec<SyncGroup>,
    /// A FIFO receiving keepalived-style lines `INSTANCE "VI_1" MASTER 150`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_fifo: Option<PathBuf>,
}

impl Decode for VrrpConfig {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let instances = m
            .get::<Vec<VrrpInstance>>(cx, "instances")
            .or_else(Vec::new);
        let sync_groups = m.get::<Vec<SyncGroup>>(cx, "sync_groups").or_else(Vec::new);
        let notify_fifo = m
            .get::<String>(cx, "notify_fifo")
            .check(cx, |p| {
                if p.starts_with('/') {
                    Ok(())
                } else {
                    Err(format!(
                        "`{p}` is not an absolute path: write the FIFO's full path, e.g. /run/tandem/notify.fifo"
                    ))
                }
            })
            .opt();
        m.finish(cx);
        Some(VrrpConfig {
            instances: instances?,
            sync_groups: sync_groups?,
            notify_fifo: notify_fifo?.map(PathBuf::from),
        })
    }
}

config_enum! {
    /// How the VRRPv3 IPv4 checksum is computed when sending.
    pub enum V3Checksum {
        /// With the IPv4 pseudo-header, as keepalived sends by default.
        Keepalived => "keepalived",
        /// Over the VRRP message only (RFC 9568).
        Rfc9568 => "rfc9568",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VrrpVersion {
    V2,
    V3,
}

impl Serialize for VrrpVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.number())
    }
}

impl VrrpVersion {
    pub fn number(self) -> u8 {
        match self {
            VrrpVersion::V2 => 2,
            VrrpVersion::V3 => 3,
        }
    }
}

impl Decode for VrrpVersion {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        match u8::decode(node, cx)? {
            2 => Some(VrrpVersion::V2),
            3 => Some(VrrpVersion::V3),
            v => {
                cx.error(
                    node.mark,
                    format!("VRRP version {v} does not exist: use 2 (RFC 3768) or 3 (RFC 5798)"),
                );
                None
            }
        }
    }
}

/// One VRRP virtual router on one interface.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpInstance {
    pub name: String,
    pub interface: String,
    pub virtual_router_id: u8,
    /// 1..255; 255 means this box owns the addresses.
    pub priority: u8,
    pub advert_int: Dur,
    pub version: VrrpVersion,
    pub nopreempt: bool,
    pub preempt_delay: Dur,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unicast_src_ip: Option<IpAddr>,
    pub unicast_peers: Vec<UnicastPeer>,
    /// Source address of multicast adverts (default: the interface's primary address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcast_src_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_pass: Option<String>,
    pub v3_checksum: V3Checksum,
    pub virtual_ipaddresses: Vec<Vip>,
    pub track_scripts: Vec<TrackRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_processes: Vec<TrackRef>,
    /// keepalived's `track_file`: names in `track_files`, weights override theirs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_files: Vec<TrackRef>,
    pub track_interfaces: Vec<TrackRef>,
    pub track_listeners: Vec<TrackRef>,
    /// Weight of the built-in router tracker; `None` when not tracked.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_track_router"
    )]
    pub track_router: Option<i32>,
    pub garp: Garp,
    pub notify: Notify,
}

impl VrrpInstance {
    /// The address family of the instance (from its VIPs; IPv4 when it has none).
    pub fn is_ipv6(&self) -> bool {
        self.virtual_ipaddresses
            .first()
            .is_some_and(|v| v.address.addr().is_ipv6())
    }

    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }
}

impl Decode for VrrpInstance {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let name = m.req_name(cx, "name");
        let interface = m.get::<String>(cx, "interface").check(cx, valid_ifname);
        let interface = m.required(cx, interface);
        let vrid = m.int::<u8>(cx, "virtual_router_id", 1, 255);
        let vrid = m.required(cx, vrid);
        let priority = m.int::<u8>(cx, "priority", 1, 255).or(100);
        let version = m.get::<VrrpVersion>(cx, "version").or(VrrpVersion::V2);
        let v = version.unwrap_or(VrrpVersion::V2);
        let advert_int = m
            .get::<Dur>(cx, "advert_int")
            .check(cx, |d| check_advert_int(v, *d))
            .or(Dur::secs(1));
        let nopreempt = m.get::<bool>(cx, "nopreempt").or(false);
        let preempt_delay = m
            .get::<Dur>(cx, "preempt_delay")
            .check(cx, |d| {
                if *d > Dur::secs(1000) {
                    Err(format!("{d} is too long: at most 1000s (as keepalived)"))
                } else {
                    Ok(())
                }
            })
            .or(Dur::ZERO);
        let unicast_src_ip = m.get::<IpAddr>(cx, "unicast_src_ip").opt();
        let unicast_peers = m
            .get::<Vec<UnicastPeer>>(cx, "unicast_peers")
            .or_else(Vec::new);
        let mcast_src_ip = m.get::<IpAddr>(cx, "mcast_src_ip").opt();
        let auth_pass = m
            .get::<String>(cx, "auth_pass")
            .check(cx, |p| {
                if p.is_empty() {
                    Err("must not be empty".into())
                } else if !p.is_ascii() {
                    Err("must be ASCII (it is sent as 8 bytes)".into())
                } else {
                    Ok(())
                }
            })
            .opt();
        let v3_checksum = m.get(cx, "v3_checksum").or(V3Checksum::Keepalived);
        let vips = m
            .get::<Vec<Vip>>(cx, "virtual_ipaddresses")
            .or_else(Vec::new);
        let track_scripts = m
            .get::<Vec<TrackRef>>(cx, "track_scripts")
            .or_else(Vec::new);
        let track_processes = m
            .get::<Vec<TrackRef>>(cx, "track_processes")
            .or_else(Vec::new);
        let track_files = m.get::<Vec<TrackRef>>(cx, "track_files").or_else(Vec::new);
        let track_interfaces = m
            .get::<Vec<TrackRef>>(cx, "track_interfaces")
            .or_else(Vec::new);
        let track_listeners = m
            .get::<Vec<TrackRef>>(cx, "track_listeners")
            .or_else(Vec::new);
        let track_router = m.get_with(cx, "track_router", decode_track_router).or(None);
        let garp = m.get::<Garp>(cx, "garp").or_else(Garp::default);
        let notify = m.get::<Notify>(cx, "notify").or_else(Notify::default);
        m.finish(cx);
        let p = cx.path_string();
        lint::instance_local(
            &lint::InstanceFields {
                version,
                priority,
                interface: interface.as_deref(),
                auth_pass: auth_pass.as_ref().map(|a| a.as_deref()),
                vips: vips.as_deref(),
                unicast_src_ip,
                unicast_peers: unicast_peers.as_deref(),
                mcast_src_ip,
                nopreempt,
                preempt_delay,
                track_interfaces: track_interfaces.as_deref(),
            },
            &p,
            cx,
        );
        Some(VrrpInstance {
            name: name?,
            interface: interface?,
            virtual_router_id: vrid?,
            priority: priority?,
            advert_int: advert_int?,
            version: version?,
            nopreempt: nopreempt?,
            preempt_delay: preempt_delay?,
            unicast_src_ip: unicast_src_ip?,
            unicast_peers: unicast_peers?,
            mcast_src_ip: mcast_src_ip?,
            auth_pass: auth_pass?,
            v3_checksum: v3_checksum?,
            virtual_ipaddresses: vips?,
            track_scripts: track_scripts?,
            track_processes: track_processes?,
            track_files: track_files?,
            track_interfaces: track_interfaces?,
            track_listeners: track_listeners?,
            track_router: track_router?,
            garp: garp?,
            notify: notify?,
        })
    }
}

/// VRRPv2 counts the interval in whole seconds (8 bits); VRRPv3 in centiseconds (12 bits).
fn check_advert_int(v: VrrpVersion, d: Dur) -> Result<(), String> {
    let ms = d.get().as_millis();
    match v {
        VrrpVersion::V2 => {
            if ms < 1000 {
                Err(format!(
                    "{d} is too short for VRRPv2: at least 1s (use `version: 3` for sub-second adverts)"
                ))
            } else if !ms.is_multiple_of(1000) || d.get().subsec_nanos() != 0 {
                Err(format!("{d}: VRRPv2 adverts are whole seconds"))
            } else if ms > 255_000 {
                Err(format!("{d} is too long: VRRPv2 allows at most 255s"))
            } else {
                Ok(())
            }
        }
        VrrpVersion::V3 => {
            if ms < 10 {
                Err(format!("{d} is too short: VRRPv3 allows at least 10ms"))
            } else if !ms.is_multiple_of(10) || !d.get().subsec_nanos().is_multiple_of(1_000_000) {
                Err(format!(
                    "{d}: VRRPv3 adverts are whole centiseconds (multiples of 10ms)"
                ))
            } else if ms > 40_950 {
                Err(format!("{d} is too long: VRRPv3 allows at most 40950ms"))
            } else {
                Ok(())
            }
        }
    }
}

pub(crate) fn valid_ifname(n: &String) -> Result<(), String> {
    if n.is_empty() || n.len() > 15 || n.contains(['/', ' ', '\t']) || n == "." || n == ".." {
        Err(format!(
            "`{n}` is not an interface name (1..15 characters, no `/` or spaces)"
        ))
    } else {
        Ok(())
    }
}

/// A unicast peer: an address, optionally with the priority it is configured with on
/// its own box (used only by `tandem check` to reason about elections).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnicastPeer {
    pub address: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
}

impl Decode for UnicastPeer {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        if let Kind::Map(_) = node.kind {
            let mut m = MapReader::new(node, cx)?;
            let address = m.req::<IpAddr>(cx, "address");
            let priority = m.int::<u8>(cx, "priority", 1, 255).opt();
            m.finish(cx);
            return Some(UnicastPeer {
                address: address?,
                priority: priority?,
            });
        }
        Some(UnicastPeer {
            address: IpAddr::decode(node, cx)?,
            priority: None,
        })
    }
}

/// A virtual address: `198.18.0.100/24`, or `{ address, dev, label }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vip {
    pub address: Cidr,
    /// Interface to add the address on (default: the instance's interface).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// IPv4 address label, e.g. `eth0:vip` (must start with the interface name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl Decode for Vip {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        if let Kind::Map(_) = node.kind {
            let mut m = MapReader::new(node, cx)?;
            let address = m.req::<Cidr>(cx, "address");
            let dev = m.get::<String>(cx, "dev").check(cx, valid_ifname).opt();
            let label = m
                .get::<String>(cx, "label")
                .check(cx, |l| {
                    if l.is_empty() || l.len() > 15 {
                        Err("labels are 1..15 characters".into())
                    } else {
                        Ok(())
                    }
                })
                .opt();
            m.finish(cx);
            return Some(Vip {
                address: address?,
                dev: dev?,
                label: label?,
            });
        }
        Some(Vip {
            address: Cidr::decode(node, cx)?,
            dev: None,
            label: None,
        })
    }
}

/// A reference to a tracker, with an optional weight: `chk` or `{ name: chk, weight: -20 }`,
/// and `reverse` (keepalived's `weight -20 reverse`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackRef {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// Unset: the track script's own `reverse` (false for other trackers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverse: Option<bool>,
}

impl Decode for TrackRef {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        if let Kind::Map(_) = node.kind {
            let mut m = MapReader::new(node, cx)?;
            let name = m.req_name(cx, "name");
            let weight = m.int::<i32>(cx, "weight", -253, 253).opt();
            let reverse = m.get::<bool>(cx, "reverse").opt();
            m.finish(cx);
            return Some(TrackRef {
                name: name?,
                weight: weight?,
                reverse: reverse?,
            });
        }
        Some(TrackRef {
            name: String::decode(node, cx)?,
            weight: None,
            reverse: None,
        })
    }
}

fn serialize_track_router<S: serde::Serializer>(w: &Option<i32>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    match w {
        None => s.serialize_bool(false),
        Some(0) => s.serialize_bool(true),
        Some(w) => {
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry("weight", w)?;
            m.end()
        }
    }
}

/// `track_router: true` (FAULT while failing), `false`, or `{ weight: -50 }`.
fn decode_track_router(node: &Node, cx: &mut Ctx) -> Option<Option<i32>> {
    if let Kind::Map(_) = node.kind {
        let mut m = MapReader::new(node, cx)?;
        let weight = m.int::<i32>(cx, "weight", -253, 253).or(0);
        m.finish(cx);
        return Some(Some(weight?));
    }
    Some(bool::decode(node, cx)?.then_some(0))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Garp {
    /// Delay before the second burst after becoming MASTER (0 = no second burst).
    pub master_delay: Dur,
    /// Packets per burst.
    pub master_repeat: u32,
    /// Period of refresh bursts while MASTER (0 = off).
    pub master_refresh: Dur,
    pub master_refresh_repeat: u32,
}

impl Default for Garp {
    fn default() -> Self {
        Garp {
            master_delay: Dur::secs(5),
            master_repeat: 5,
            master_refresh: Dur::ZERO,
            master_refresh_repeat: 1,
        }
    }
}

impl Decode for Garp {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let d = Garp::default();
        let mut m = MapReader::new(node, cx)?;
        let master_delay = m.get(cx, "master_delay").or(d.master_delay);
        let master_repeat = m
            .int::<u32>(cx, "master_repeat", 1, 255)
            .or(d.master_repeat);
        let master_refresh = m.get(cx, "master_refresh").or(d.master_refresh);
        let master_refresh_repeat = m
            .int::<u32>(cx, "master_refresh_repeat", 1, 255)
            .or(d.master_refresh_repeat);
        m.finish(cx);
        Some(Garp {
            master_delay: master_delay?,
            master_repeat: master_repeat?,
            master_refresh: master_refresh?,
            master_refresh_repeat: master_refresh_repeat?,
        })
    }
}

/// Commands run on state changes: `master`/`backup`/`fault`/`stop` exactly as written,
/// `any` as `<cmd> INSTANCE <name> <STATE> <priority>` (as keepalived).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notify {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master: Option<Command>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<Command>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<Command>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Command>,
    /// Called on every transition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub any: Option<Command>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// A hook still running after this is killed.
    pub timeout: Dur,
}

impl Default for Notify {
    fn default() -> Self {
        Notify {
            master: None,
            backup: None,
            fault: None,
            stop: None,
            any: None,
            user: None,
            group: None,
            timeout: Dur::secs(10),
        }
    }
}

impl Decode for Notify {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let master = m.get(cx, "master").opt();
        let backup = m.get(cx, "backup").opt();
        let fault = m.get(cx, "fault").opt();
        let stop = m.get(cx, "stop").opt();
        let any = m.get(cx, "any").opt();
        let user = m.get(cx, "user").opt();
        let group = m.get(cx, "group").opt();
        let timeout = m
            .get::<Dur>(cx, "timeout")
            .check(cx, nonzero_check)
            .or(Dur::secs(10));
        m.finish(cx);
        Some(Notify {
            master: master?,
            backup: backup?,
            fault: fault?,
            stop: stop?,
            any: any?,
            user: user?,
            group: group?,
            timeout: timeout?,
        })
    }
}

/// Instances that change state together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncGroup {
    pub name: String,
    pub instances: Vec<String>,
}

impl Decode for SyncGroup {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let name = m.req_name(cx, "name");
        let instances = m.req::<Vec<String>>(cx, "instances");
        m.finish(cx);
        Some(SyncGroup {
            name: name?,
            instances: instances?,
        })
    }
}
