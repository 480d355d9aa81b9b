//! Interop with keepalived 2.2 from Debian, in network namespaces: tandem and keepalived
//! elect each other correctly in both directions, for VRRPv2 with PASS auth, VRRPv3, in
//! multicast and in unicast; either takes over when the other dies; never two masters.
//! IPv6 likewise (VRRPv3 multicast from link-local sources, unicast between global and
//! between link-local addresses), with the new master's unsolicited neighbour
//! advertisement seen in a client's neighbour table; and IPv6 unicast without
//! `unicast_src_ip` (keepalived checking the source with `check_unicast_src`). Settings
//! that differ between the boxes: VRRPv3 backups follow the master's advert interval, a
//! VRRPv2 password mismatch makes two masters (counted as `auth` drops), and a
//! `nopreempt` tandem does not take over a lower-priority keepalived master.

mod common;

use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use common::netns::Lab;
use common::{Daemon, wait_for};
use nix::sys::signal::Signal;

const VIP: &str = "198.18.0.100/24";

#[derive(Clone, Copy, Debug)]
struct Mode {
    version: u8,
    unicast: bool,
}

const MODES: [Mode; 4] = [
    Mode {
        version: 2,
        unicast: false,
    },
    Mode {
        version: 3,
        unicast: false,
    },
    Mode {
        version: 2,
        unicast: true,
    },
    Mode {
        version: 3,
        unicast: true,
    },
];

fn keepalived_conf(mode: Mode, node: usize, peer: usize, priority: u8) -> String {
    let auth = if mode.version == 2 {
        "    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n"
    } else {
        ""
    };
    let unicast = if mode.unicast {
        format!(
            "    unicast_src_ip 198.18.0.{}\n    unicast_peer {{\n        198.18.0.{}\n    }}\n",
            node + 1,
            peer + 1
        )
    } else {
        String::new()
    };
    format!(
        "global_defs {{
    router_id ka{node}
    vrrp_version {}
    vrrp_garp_master_delay 2
    vrrp_garp_master_repeat 3
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int {}
{auth}{unicast}    virtual_ipaddress {{
        {VIP}
    }}
}}
",
        mode.version,
        if mode.version == 2 { "1" } else { "0.1" },
    )
}

fn tandem_conf(mode: Mode, node: usize, peer: usize, priority: u8) -> String {
    let auth = if mode.version == 2 {
        "      auth_pass: \"1111\"\n"
    } else {
        ""
    };
    let unicast = if mode.unicast {
        format!(
            "      unicast_src_ip: 198.18.0.{}\n      unicast_peers: [198.18.0.{}]\n",
            node + 1,
            peer + 1
        )
    } else {
        String::new()
    };
    format!(
        "node: t{node}
observe: {{ listen: 127.0.0.1:9188 }}
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      priority: {priority}
      version: {}
      advert_int: {}
      virtual_ipaddresses: [\"{VIP}\"]
      garp: {{ master_delay: 2s, master_repeat: 3 }}
{auth}{unicast}",
        mode.version,
        if mode.version == 2 { "1s" } else { "100ms" },
    )
}

fn keepalived(lab: &Lab, i: usize, conf: &str) -> Daemon {
    let dir = lab.dir.path();
    let f = lab.file(&format!("ka{i}.conf"), conf);
    let mut cmd = Command::new("ip");
    cmd.args([
        "netns",
        "exec",
        lab.ns(i),
        "keepalived",
        "-n",
        "-l",
        "-D",
        "-P",
        "-f",
    ])
    .arg(&f)
    .arg("-p")
    .arg(dir.join(format!("ka{i}.pid")))
    .arg("-r")
    .arg(dir.join(format!("ka{i}-vrrp.pid")))
    .arg("-c")
    .arg(dir.join(format!("ka{i}-chk.pid")));
    Daemon::spawn(cmd)
}

/// Kills every process in node `i`'s namespace with SIGKILL (keepalived has a parent and
/// a VRRP child).
fn crash(lab: &Lab, i: usize) {
    let out = Command::new("ip")
        .args(["netns", "pids", lab.ns(i)])
        .output()
        .expect("ip netns pids");
    for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        if let Ok(p) = pid.parse::<i32>() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), Signal::SIGKILL);
        }
    }
}

fn only_holder(lab: &Lab, who: &str, context: &str) {
    only_holder_of(lab, VIP, who, context);
}

/// Which node holds `vip` now; exactly `who`, and it stays that way: no second master
/// appears over a few advert intervals.
fn only_holder_of(lab: &Lab, vip: &str, who: &str, context: &str) {
    let ok = wait_for(Duration::from_secs(30), || {
        (lab.holders(vip) == vec![who.to_string()]).then_some(())
    });
    assert!(
        ok.is_some(),
        "{context}: {vip} held by {:?}, expected only {who}",
        lab.holders(vip)
    );
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(
            lab.holders(vip),
            vec![who.to_string()],
            "{context}: dual master"
        );
    }
}

#[test]
fn keepalived_master_tandem_backup_then_tandem_takes_over() {
    for mode in MODES {
        let ctx = format!("{mode:?}");
        let lab = Lab::new(&["ka", "td"]);
        let ka = keepalived(&lab, 0, &keepalived_conf(mode, 0, 1, 150));
        let td = lab.tandem(1, &tandem_conf(mode, 1, 0, 100));
        // keepalived (150) wins; tandem (100) accepts its adverts and stays backup.
        only_holder(&lab, "ka", &ctx);
        assert!(lab.wait_state(1, "VI_1", "BACKUP"), "{ctx}");
        let st = lab.status(1).expect("status");
        assert_eq!(
            st["subsystems"]["vrrp"]["instances"][0]["master"], "198.18.0.1",
            "{ctx}"
        );
        assert!(
            st["subsystems"]["vrrp"]["instances"][0]["dropped"]
                .as_object()
                .is_some_and(|d| d.is_empty()),
            "{ctx}: {st}"
        );
        // keepalived dies: tandem takes over.
        crash(&lab, 0);
        drop(ka);
        assert!(lab.wait_state(1, "VI_1", "MASTER"), "{ctx}: {}", td.logs());
        assert!(lab.has(1, VIP), "{ctx}");
    }
}

#[test]
fn tandem_master_keepalived_backup_then_keepalived_takes_over() {
    for mode in MODES {
        let ctx = format!("{mode:?}");
        let lab = Lab::new(&["td", "ka"]);
        let td = lab.tandem(0, &tandem_conf(mode, 0, 1, 150));
        let ka = keepalived(&lab, 1, &keepalived_conf(mode, 1, 0, 100));
        assert!(lab.wait_state(0, "VI_1", "MASTER"), "{ctx}");
        only_holder(&lab, "td", &ctx);
        assert!(
            ka.wait_log("(VI_1) Entering BACKUP STATE"),
            "{ctx}: {}",
            ka.logs()
        );
        // tandem dies hard: keepalived takes over.
        crash(&lab, 0);
        drop(td);
        assert!(
            ka.wait_log("(VI_1) Entering MASTER STATE"),
            "{ctx}: {}",
            ka.logs()
        );
        assert!(
            wait_for(Duration::from_secs(20), || lab.has(1, VIP).then_some(())).is_some(),
            "{ctx}"
        );
    }
}

#[test]
fn graceful_handover_both_ways() {
    for mode in [MODES[0], MODES[1]] {
        let ctx = format!("{mode:?}");
        // tandem master stops: keepalived takes over after its skew time.
        let lab = Lab::new(&["td", "ka"]);
        let mut td = lab.tandem(0, &tandem_conf(mode, 0, 1, 150));
        let ka = keepalived(&lab, 1, &keepalived_conf(mode, 1, 0, 100));
        assert!(lab.wait_state(0, "VI_1", "MASTER"), "{ctx}");
        assert!(ka.wait_log("(VI_1) Entering BACKUP STATE"), "{ctx}");
        td.signal(Signal::SIGTERM);
        assert_eq!(
            td.wait_exit(Duration::from_secs(5)).and_then(|s| s.code()),
            Some(0)
        );
        assert!(
            ka.wait_log("(VI_1) Entering MASTER STATE"),
            "{ctx}: {}",
            ka.logs()
        );
        // keepalived logs that the master left with priority 0.
        assert!(ka.logs().contains("priority 0"), "{ctx}: {}", ka.logs());
        only_holder(&lab, "ka", &ctx);
        drop(ka);
        drop(lab);

        // keepalived master stops: tandem takes over because of the priority-0 advert.
        let lab = Lab::new(&["ka", "td"]);
        let mut ka = keepalived(&lab, 0, &keepalived_conf(mode, 0, 1, 150));
        let td = lab.tandem(1, &tandem_conf(mode, 1, 0, 100));
        only_holder(&lab, "ka", &ctx);
        assert!(lab.wait_state(1, "VI_1", "BACKUP"), "{ctx}");
        ka.signal(Signal::SIGTERM);
        let _ = ka.wait_exit(Duration::from_secs(10));
        assert!(lab.wait_state(1, "VI_1", "MASTER"), "{ctx}");
        assert!(
            td.logs().contains("reason=\"priority 0 from 198.18.0.1\""),
            "{ctx}: {}",
            td.logs()
        );
        only_holder(&lab, "td", &ctx);
    }
}

/// A lab of `ka` (node 0) and `td` (node 1) where keepalived, with `priority`, runs alone
/// and holds the VIP.
fn keepalived_alone(mode: Mode, priority: u8) -> (Lab, Daemon) {
    let lab = Lab::new(&["ka", "td"]);
    let ka = keepalived(&lab, 0, &keepalived_conf(mode, 0, 1, priority));
    only_holder(&lab, "ka", "keepalived alone");
    (lab, ka)
}

#[test]
fn preemption_between_tandem_and_keepalived() {
    // keepalived (100) is master alone; tandem (150) joins and preempts it; keepalived
    // yields on tandem's higher-priority advert.
    let mode = MODES[0];
    let (lab, ka) = keepalived_alone(mode, 100);
    let _td = lab.tandem(1, &tandem_conf(mode, 1, 0, 150));
    assert!(lab.wait_state(1, "VI_1", "MASTER"));
    assert!(
        ka.wait_log(
            "(VI_1) Master received advert from 198.18.0.2 with higher priority 150, ours 100"
        ),
        "{}",
        ka.logs()
    );
    only_holder(&lab, "td", "tandem preempted");
}

// ---------------------------------------------------------------------------------------
// IPv6: VRRPv3 over ff02::12 from link-local sources, and unicast between 2001:db8::/64
// or link-local addresses. A third namespace, `client`, watches the VIP's neighbour entry: the new
// master's unsolicited neighbour advertisement (Override flag) must move it.

const VIP6: &str = "2001:db8::100/64";
const VIP6_ADDR: &str = "2001:db8::100";

/// How the two boxes reach each other.
#[derive(Clone, Copy, Debug, PartialEq)]
enum V6 {
    /// To ff02::12, from each box's link-local address.
    Multicast,
    /// `unicast_src_ip` / `unicast_peers` from 2001:db8::/64.
    Unicast,
    /// `unicast_src_ip` / `unicast_peers` naming link-local addresses (sent with eth0 as
    /// the scope).
    UnicastLinkLocal,
}

const V6_MODES: [V6; 3] = [V6::Multicast, V6::Unicast, V6::UnicastLinkLocal];

fn v6_ctx(mode: V6) -> String {
    format!("IPv6 VRRPv3 {mode:?}")
}

/// The address node `i` sends its adverts from (and tandem's status names as master when
/// node `i` is): its 2001:db8:: address in `Unicast`, else its link-local address.
fn v6_address(lab: &Lab, mode: V6, i: usize) -> String {
    match mode {
        V6::Unicast => lab.nodes[i].ip6.to_string(),
        V6::Multicast | V6::UnicastLinkLocal => {
            lab.link_local(i).map(|a| a.to_string()).unwrap_or_default()
        }
    }
}

fn keepalived_conf6(lab: &Lab, mode: V6, node: usize, peer: usize, priority: u8) -> String {
    let unicast = if mode == V6::Multicast {
        String::new()
    } else {
        format!(
            "    unicast_src_ip {}\n    unicast_peer {{\n        {}\n    }}\n",
            v6_address(lab, mode, node),
            v6_address(lab, mode, peer)
        )
    };
    format!(
        "global_defs {{
    router_id ka{node}
    vrrp_version 3
    vrrp_garp_master_delay 2
    vrrp_garp_master_repeat 3
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 0.1
{unicast}    virtual_ipaddress {{
        {VIP6}
    }}
}}
"
    )
}

fn tandem_conf6(lab: &Lab, mode: V6, node: usize, peer: usize, priority: u8) -> String {
    let unicast = if mode == V6::Multicast {
        String::new()
    } else {
        format!(
            "      unicast_src_ip: \"{}\"\n      unicast_peers: [\"{}\"]\n",
            v6_address(lab, mode, node),
            v6_address(lab, mode, peer)
        )
    };
    format!(
        "node: t{node}
log: {{ level: debug }}
observe: {{ listen: 127.0.0.1:9188 }}
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      priority: {priority}
      version: 3
      advert_int: 100ms
      virtual_ipaddresses: [\"{VIP6}\"]
      garp: {{ master_delay: 2s, master_repeat: 3 }}
{unicast}"
    )
}

/// A lab with `labels[0]` and `labels[1]` as the VRRP boxes and a client. Duplicate
/// address detection is switched on for the boxes' eth0 (the lab turns it off for its own
/// addresses), so a VIP added without `nodad` would sit "tentative" and could fail DAD.
fn lab6(labels: [&str; 2]) -> (Lab, usize) {
    let lab = Lab::new(&[labels[0], labels[1], "client"]);
    for i in 0..2 {
        let out = lab.exec(i, &["sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=1"]);
        assert!(out.status.success(), "sysctl: {out:?}");
    }
    (lab, 2)
}

fn only_holder6(lab: &Lab, who: &str, context: &str) {
    only_holder_of(lab, VIP6, who, context);
}

/// The VIP on node `i` is usable at once: added with `nodad` (tandem does, as keepalived
/// 2.2.7 does), so never "tentative" or "dadfailed" even with DAD on.
fn vip6_usable(lab: &Lab, i: usize, context: &str) {
    let entry = lab.addr_entry(i, VIP6_ADDR);
    let ok = entry
        .as_ref()
        .is_some_and(|e| e["nodad"] == true && e["tentative"] != true && e["dadfailed"] != true);
    assert!(
        ok,
        "{context}: VIP on {} not usable at once: {entry:?}",
        lab.nodes[i].label
    );
}

/// The client resolves the VIP now (to the current master's MAC).
fn client_resolves(lab: &Lab, client: usize, owner: usize, context: &str) {
    let ip: IpAddr = VIP6_ADDR.parse().unwrap_or(IpAddr::from([0u16; 8]));
    let mac = lab.nodes[owner].mac.clone();
    let ok = wait_for(Duration::from_secs(10), || {
        lab.touch(client, ip);
        (lab.neighbour(client, VIP6_ADDR).as_deref() == Some(mac.as_str())).then_some(())
    });
    assert!(
        ok.is_some(),
        "{context}: client resolves the VIP to {:?}, expected {mac}",
        lab.neighbour(client, VIP6_ADDR)
    );
}

/// Without sending anything, the client's entry for the VIP moves to `owner`'s MAC: only
/// the new master's unsolicited NA (Override set) can do that.
fn client_follows_na(lab: &Lab, client: usize, owner: usize, context: &str) {
    let mac = lab.nodes[owner].mac.clone();
    let ok = wait_for(Duration::from_secs(15), || {
        (lab.neighbour(client, VIP6_ADDR).as_deref() == Some(mac.as_str())).then_some(())
    });
    assert!(
        ok.is_some(),
        "{context}: the client's entry for the VIP is {:?}, expected {mac} (no unsolicited NA?)",
        lab.neighbour(client, VIP6_ADDR)
    );
}

/// The box dies: every process in its namespace is killed and its link goes down (the
/// kernel then drops its IPv6 addresses, as a powered-off box holds none).
fn power_off(lab: &Lab, i: usize) {
    crash(lab, i);
    let out = Command::new("ip")
        .args(["-n", lab.ns(i), "link", "set", "eth0", "down"])
        .output()
        .expect("ip link set down");
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn ipv6_keepalived_master_tandem_backup_then_tandem_takes_over() {
    for mode in V6_MODES {
        let ctx = &v6_ctx(mode);
        let (lab, client) = lab6(["ka", "td"]);
        let ka = keepalived(&lab, 0, &keepalived_conf6(&lab, mode, 0, 1, 150));
        assert!(
            ka.wait_log("(VI_1) Entering MASTER STATE"),
            "{ctx}: {}",
            ka.logs()
        );
        only_holder6(&lab, "ka", ctx);
        vip6_usable(&lab, 0, ctx);
        // tandem joins an established master: it must hear it from the start.
        let td = lab.tandem(1, &tandem_conf6(&lab, mode, 1, 0, 100));
        assert!(lab.wait_state(1, "VI_1", "BACKUP"), "{ctx}: {}", td.logs());
        only_holder6(&lab, "ka", ctx);
        let st = lab.status(1).expect("status");
        let inst = &st["subsystems"]["vrrp"]["instances"][0];
        assert_eq!(
            inst["adverts_sent"],
            0,
            "{ctx}: never master: {}",
            td.logs()
        );
        assert_eq!(
            inst["master"].as_str(),
            Some(v6_address(&lab, mode, 0).as_str()),
            "{ctx}: {st}"
        );
        // Every advert keepalived sent was accepted: checksum, hop limit, source, count.
        assert!(
            inst["dropped"].as_object().is_some_and(|d| d.is_empty()),
            "{ctx}: {st}"
        );
        assert!(
            inst["adverts_received"].as_u64().is_some_and(|n| n > 0),
            "{ctx}: {st}"
        );
        client_resolves(&lab, client, 0, ctx);

        // keepalived's box dies: tandem takes over, and tells the client.
        power_off(&lab, 0);
        drop(ka);
        assert!(lab.wait_state(1, "VI_1", "MASTER"), "{ctx}: {}", td.logs());
        only_holder6(&lab, "td", ctx);
        vip6_usable(&lab, 1, ctx);
        client_follows_na(&lab, client, 1, ctx);
    }
}

#[test]
fn ipv6_tandem_master_keepalived_backup_then_keepalived_takes_over() {
    for mode in V6_MODES {
        let ctx = &v6_ctx(mode);
        let (lab, client) = lab6(["td", "ka"]);
        let td = lab.tandem(0, &tandem_conf6(&lab, mode, 0, 1, 150));
        assert!(lab.wait_state(0, "VI_1", "MASTER"), "{ctx}: {}", td.logs());
        // keepalived joins an established master and accepts its adverts from the start
        // (it would time out and enter MASTER otherwise).
        let ka = keepalived(&lab, 1, &keepalived_conf6(&lab, mode, 1, 0, 100));
        assert!(
            ka.wait_log("(VI_1) Entering BACKUP STATE"),
            "{ctx}: {}",
            ka.logs()
        );
        only_holder6(&lab, "td", ctx);
        vip6_usable(&lab, 0, ctx);
        assert!(
            !ka.logs().contains("Entering MASTER STATE"),
            "{ctx}: {}",
            ka.logs()
        );
        client_resolves(&lab, client, 0, ctx);

        // tandem's box dies: keepalived takes over.
        power_off(&lab, 0);
        drop(td);
        assert!(
            ka.wait_log("(VI_1) Entering MASTER STATE"),
            "{ctx}: {}",
            ka.logs()
        );
        only_holder6(&lab, "ka", ctx);
        vip6_usable(&lab, 1, ctx);
        client_follows_na(&lab, client, 1, ctx);
    }
}

#[test]
fn ipv6_graceful_handover_both_ways() {
    for mode in V6_MODES {
        let ctx = &v6_ctx(mode);
        // tandem master stops: priority 0, keepalived takes over, the client follows.
        let (lab, client) = lab6(["td", "ka"]);
        let mut td = lab.tandem(0, &tandem_conf6(&lab, mode, 0, 1, 150));
        let ka = keepalived(&lab, 1, &keepalived_conf6(&lab, mode, 1, 0, 100));
        assert!(lab.wait_state(0, "VI_1", "MASTER"), "{ctx}: {}", td.logs());
        assert!(
            ka.wait_log("(VI_1) Entering BACKUP STATE"),
            "{ctx}: {}",
            ka.logs()
        );
        only_holder6(&lab, "td", ctx);
        client_resolves(&lab, client, 0, ctx);
        td.signal(Signal::SIGTERM);
        assert_eq!(
            td.wait_exit(Duration::from_secs(5)).and_then(|s| s.code()),
            Some(0),
            "{ctx}"
        );
        assert!(
            ka.wait_log("(VI_1) Entering MASTER STATE"),
            "{ctx}: {}",
            ka.logs()
        );
        assert!(ka.logs().contains("priority 0"), "{ctx}: {}", ka.logs());
        only_holder6(&lab, "ka", ctx);
        client_follows_na(&lab, client, 1, ctx);
        drop(ka);
        drop(lab);

        // keepalived master stops: tandem takes over on the priority-0 advert.
        let (lab, client) = lab6(["ka", "td"]);
        let mut ka = keepalived(&lab, 0, &keepalived_conf6(&lab, mode, 0, 1, 150));
        let td = lab.tandem(1, &tandem_conf6(&lab, mode, 1, 0, 100));
        only_holder6(&lab, "ka", ctx);
        assert!(lab.wait_state(1, "VI_1", "BACKUP"), "{ctx}: {}", td.logs());
        client_resolves(&lab, client, 0, ctx);
        ka.signal(Signal::SIGTERM);
        let _ = ka.wait_exit(Duration::from_secs(10));
        assert!(lab.wait_state(1, "VI_1", "MASTER"), "{ctx}: {}", td.logs());
        let from = v6_address(&lab, mode, 0);
        assert!(
            td.logs()
                .contains(&format!("reason=\"priority 0 from {from}\"")),
            "{ctx}: {}",
            td.logs()
        );
        only_holder6(&lab, "td", ctx);
        vip6_usable(&lab, 1, ctx);
        client_follows_na(&lab, client, 1, ctx);
    }
}

#[test]
fn ipv6_preemption_between_tandem_and_keepalived() {
    // keepalived (100) is master alone; tandem (150) joins and preempts it.
    for mode in V6_MODES {
        let ctx = &v6_ctx(mode);
        let (lab, client) = lab6(["ka", "td"]);
        let ka = keepalived(&lab, 0, &keepalived_conf6(&lab, mode, 0, 1, 100));
        only_holder6(&lab, "ka", ctx);
        client_resolves(&lab, client, 0, ctx);
        let td = lab.tandem(1, &tandem_conf6(&lab, mode, 1, 0, 150));
        assert!(lab.wait_state(1, "VI_1", "MASTER"), "{ctx}: {}", td.logs());
        let from = v6_address(&lab, mode, 1);
        assert!(
            ka.wait_log(&format!(
                "(VI_1) Master received advert from {from} with higher priority 150, ours 100"
            )),
            "{ctx}: {}",
            ka.logs()
        );
        only_holder6(&lab, "td", ctx);
        vip6_usable(&lab, 1, ctx);
        client_follows_na(&lab, client, 1, ctx);
    }
}

#[test]
fn ipv6_link_local_vip_first_and_leftovers_from_a_crash() {
    // RFC 5798 §5.2.9 and keepalived ("the first IPv6 VIP address should be link local"):
    // an IPv6 virtual router's first address is link-local. A crashed tandem left both VIPs
    // on its interface; when it starts again it must send from the interface's own
    // link-local address, never from the link-local VIP (which it removes at once, and
    // which the peer then holds).
    const LL_VIP: &str = "fe80::100/64";
    let (lab, client) = lab6(["ka", "td"]);
    let own_ll = lab.link_local(1).expect("link-local");
    let ka_ll = lab.link_local(0).expect("link-local");
    for vip in [LL_VIP, VIP6] {
        let out = lab.exec(1, &["ip", "addr", "add", vip, "dev", "eth0", "nodad"]);
        assert!(out.status.success(), "{out:?}");
    }
    // Both lists name the link-local VIP first.
    let ka_conf = keepalived_conf6(&lab, V6::Multicast, 0, 1, 150).replace(
        &format!("\n        {VIP6}"),
        &format!("\n        {LL_VIP}\n        {VIP6}"),
    );
    let td_conf = tandem_conf6(&lab, V6::Multicast, 1, 0, 100).replace(
        &format!("[\"{VIP6}\"]"),
        &format!("[\"{LL_VIP}\", \"{VIP6}\"]"),
    );
    assert!(ka_conf.contains(LL_VIP) && td_conf.contains(LL_VIP));
    let td = lab.tandem(1, &td_conf);
    assert!(
        td.wait_log("removed VIP fe80::100/64 left behind by a previous run"),
        "{}",
        td.logs()
    );
    let source = wait_for(Duration::from_secs(10), || {
        lab.status(1)?["subsystems"]["vrrp"]["instances"][0]["source"]
            .as_str()
            .map(str::to_string)
    });
    assert_eq!(source, Some(own_ll.to_string()), "{}", td.logs());
    // keepalived (150) joins and takes over; tandem backs off and hands both VIPs over.
    let ka = keepalived(&lab, 0, &ka_conf);
    assert!(lab.wait_state(1, "VI_1", "BACKUP"), "{}", td.logs());
    only_holder6(&lab, "ka", "link-local VIP");
    assert!(lab.has(0, LL_VIP), "{:?}", lab.addrs(0));
    assert!(!lab.has(1, LL_VIP), "{:?}", lab.addrs(1));
    let st = lab.status(1).expect("status");
    let inst = &st["subsystems"]["vrrp"]["instances"][0];
    assert!(
        inst["dropped"].as_object().is_some_and(|d| d.is_empty()),
        "{st}"
    );
    assert_eq!(
        inst["master"].as_str(),
        Some(ka_ll.to_string().as_str()),
        "{st}"
    );
    client_resolves(&lab, client, 0, "link-local VIP");
    power_off(&lab, 0);
    drop(ka);
    assert!(lab.wait_state(1, "VI_1", "MASTER"), "{}", td.logs());
    only_holder6(&lab, "td", "link-local VIP");
    assert!(lab.has(1, LL_VIP), "{:?}", lab.addrs(1));
    client_follows_na(&lab, client, 1, "link-local VIP");
}

// ---------------------------------------------------------------------------------------
// IPv6 unicast without `unicast_src_ip`. keepalived 2.2.7 then sends from the interface's
// link-local address (the first non-VIP one) with the kernel's default hop limit, and
// binds its receive socket to that same address: it hears unicast adverts sent to its
// link-local address only, never to a global one. It accepts any source unless
// `check_unicast_src` is set. tandem sends from its link-local address to link-local
// peers, and from its own global address to global peers (the address the peer lists,
// so that the peer's source check passes).

/// Which addresses the two boxes list as each other's `unicast_peers`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum NoSrc {
    /// Link-local addresses, and neither box sets `unicast_src_ip`: the one setup where
    /// keepalived needs none.
    LinkLocalPeers,
    /// 2001:db8:: addresses; tandem without `unicast_src_ip`. keepalived must set its own
    /// (without one it listens on its link-local address only, so nothing sent to its
    /// global address reaches it, even from another keepalived).
    GlobalPeers,
}

impl NoSrc {
    /// The address node `i` is listed under by its peer, and sends from.
    fn address(self, lab: &Lab, i: usize) -> String {
        let mode = match self {
            NoSrc::LinkLocalPeers => V6::UnicastLinkLocal,
            NoSrc::GlobalPeers => V6::Unicast,
        };
        v6_address(lab, mode, i)
    }
}

/// keepalived with `check_unicast_src`: it drops ("unicast source address ... not a
/// unicast peer") any advert whose source is not in its `unicast_peer` list.
fn keepalived_conf6_nosrc(lab: &Lab, mode: NoSrc, node: usize, peer: usize, prio: u8) -> String {
    let src = match mode {
        NoSrc::LinkLocalPeers => String::new(),
        NoSrc::GlobalPeers => format!("    unicast_src_ip {}\n", mode.address(lab, node)),
    };
    let unicast = format!(
        "    advert_int 0.1\n{src}    check_unicast_src\n    unicast_peer {{\n        {}\n    }}\n",
        mode.address(lab, peer)
    );
    let conf = keepalived_conf6(lab, V6::Multicast, node, peer, prio);
    assert!(conf.contains("    advert_int 0.1\n"), "{conf}");
    conf.replace("    advert_int 0.1\n", &unicast)
}

/// tandem with `unicast_peers` only.
fn tandem_conf6_nosrc(lab: &Lab, mode: NoSrc, node: usize, peer: usize, prio: u8) -> String {
    let conf = tandem_conf6(lab, V6::Multicast, node, peer, prio);
    assert!(!conf.contains("unicast"), "{conf}");
    format!(
        "{conf}      unicast_peers: [\"{}\"]\n",
        mode.address(lab, peer)
    )
}

/// The VRRPv3 checksum over the IPv6 pseudo-header (src, dst, length, next header 112)
/// is right.
fn v6_checksum_ok(src: IpAddr, dst: IpAddr, payload: &[u8]) -> bool {
    let (IpAddr::V6(s), IpAddr::V6(d)) = (src, dst) else {
        return false;
    };
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&s.octets());
    bytes.extend_from_slice(&d.octets());
    bytes.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&[0, 0, 0, 112]);
    bytes.extend_from_slice(payload);
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum == 0xffff
}

/// tandem's adverts as keepalived's box sees them on the wire: at least one, each from
/// `src` to `dst`, hop limit 255, VRRPv3 for VRID 51 with a valid pseudo-header checksum.
fn tandem_adverts_on_the_wire(
    frames: &[common::pcap::Frame],
    tandem_mac: &str,
    src: &str,
    dst: &str,
    ctx: &str,
) {
    let mac: Vec<u8> = tandem_mac
        .split(':')
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect();
    let adverts: Vec<_> = frames
        .iter()
        .filter(|f| f.eth_src().as_slice() == mac.as_slice())
        .filter_map(|f| f.ip())
        .filter(|p| p.protocol == 112)
        .collect();
    assert!(!adverts.is_empty(), "{ctx}: no advert from tandem captured");
    for p in &adverts {
        let what = format!(
            "{ctx}: advert {} -> {} hop limit {} {:02x?}",
            p.src, p.dst, p.ttl, p.payload
        );
        assert_eq!(p.src.to_string(), src, "{what}");
        assert_eq!(p.dst.to_string(), dst, "{what}");
        assert_eq!(p.ttl, 255, "{what}");
        assert_eq!(p.payload.first(), Some(&0x31), "{what}");
        assert_eq!(p.payload.get(1), Some(&51), "{what}");
        assert!(v6_checksum_ok(p.src, p.dst, p.payload), "{what}: checksum");
    }
}

#[test]
fn ipv6_unicast_without_unicast_src_ip() {
    for mode in [NoSrc::LinkLocalPeers, NoSrc::GlobalPeers] {
        let ctx = &format!("IPv6 VRRPv3 unicast without unicast_src_ip, {mode:?}");

        // keepalived (150) is master; tandem (100) joins as backup, accepts its adverts
        // (source = the address tandem lists), and takes over when keepalived's box dies.
        let (lab, _client) = lab6(["ka", "td"]);
        let ka = keepalived(&lab, 0, &keepalived_conf6_nosrc(&lab, mode, 0, 1, 150));
        assert!(
            ka.wait_log("(VI_1) Entering MASTER STATE"),
            "{ctx}: {}",
            ka.logs()
        );
        let td = lab.tandem(1, &tandem_conf6_nosrc(&lab, mode, 1, 0, 100));
        assert!(lab.wait_state(1, "VI_1", "BACKUP"), "{ctx}: {}", td.logs());
        only_holder6(&lab, "ka", ctx);
        assert_eq!(
            lab.vrrp_state(1, "VI_1").as_deref(),
            Some("BACKUP"),
            "{ctx}"
        );
        let st = lab.status(1).expect("status");
        let inst = &st["subsystems"]["vrrp"]["instances"][0];
        assert_eq!(
            inst["source"].as_str(),
            Some(mode.address(&lab, 1).as_str()),
            "{ctx}: {st}"
        );
        assert_eq!(
            inst["master"].as_str(),
            Some(mode.address(&lab, 0).as_str()),
            "{ctx}: {st}"
        );
        assert_eq!(inst["adverts_sent"], 0, "{ctx}: {}", td.logs());
        assert!(
            inst["adverts_received"].as_u64().is_some_and(|n| n > 0),
            "{ctx}: {st}"
        );
        assert!(
            inst["dropped"].as_object().is_some_and(|d| d.is_empty()),
            "{ctx}: {st}"
        );
        power_off(&lab, 0);
        drop(ka);
        assert!(lab.wait_state(1, "VI_1", "MASTER"), "{ctx}: {}", td.logs());
        only_holder6(&lab, "td", ctx);
        vip6_usable(&lab, 1, ctx);
        drop(td);
        drop(lab);

        // tandem (150) is master; keepalived (100) joins as backup: with
        // check_unicast_src it accepts tandem's adverts only from the address it lists.
        let (lab, _client) = lab6(["td", "ka"]);
        let mut td = lab.tandem(0, &tandem_conf6_nosrc(&lab, mode, 0, 1, 150));
        assert!(lab.wait_state(0, "VI_1", "MASTER"), "{ctx}: {}", td.logs());
        let sniff = common::netns::Sniffer::start(&lab, 1);
        let ka = keepalived(&lab, 1, &keepalived_conf6_nosrc(&lab, mode, 1, 0, 100));
        assert!(
            ka.wait_log("(VI_1) Entering BACKUP STATE"),
            "{ctx}: {}",
            ka.logs()
        );
        only_holder6(&lab, "td", ctx);
        let frames = sniff.stop();
        tandem_adverts_on_the_wire(
            &frames,
            &lab.nodes[0].mac,
            &mode.address(&lab, 0),
            &mode.address(&lab, 1),
            ctx,
        );
        assert!(
            !ka.logs().contains("Entering MASTER STATE"),
            "{ctx}: {}",
            ka.logs()
        );
        // A graceful stop: keepalived takes over on tandem's priority-0 advert.
        td.signal(Signal::SIGTERM);
        assert_eq!(
            td.wait_exit(Duration::from_secs(5)).and_then(|s| s.code()),
            Some(0),
            "{ctx}"
        );
        assert!(
            ka.wait_log("(VI_1) Entering MASTER STATE"),
            "{ctx}: {}",
            ka.logs()
        );
        only_holder6(&lab, "ka", ctx);
        // tandem comes back and preempts: keepalived names the source it saw.
        let td = lab.tandem(0, &tandem_conf6_nosrc(&lab, mode, 0, 1, 150));
        assert!(lab.wait_state(0, "VI_1", "MASTER"), "{ctx}: {}", td.logs());
        assert!(
            ka.wait_log(&format!(
                "(VI_1) Master received advert from {} with higher priority 150, ours 100",
                mode.address(&lab, 0)
            )),
            "{ctx}: {}",
            ka.logs()
        );
        only_holder6(&lab, "td", ctx);
        // tandem's box dies: keepalived takes over.
        let before = ka.logs().matches("Entering MASTER STATE").count();
        power_off(&lab, 0);
        drop(td);
        assert!(
            wait_for(Duration::from_secs(20), || {
                (ka.logs().matches("Entering MASTER STATE").count() > before).then_some(())
            })
            .is_some(),
            "{ctx}: {}",
            ka.logs()
        );
        only_holder6(&lab, "ka", ctx);
        vip6_usable(&lab, 1, ctx);
        assert!(
            !ka.logs().contains("not a unicast peer"),
            "{ctx}: {}",
            ka.logs()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Settings that differ between the two boxes, and preemption rules, against keepalived.

/// Neither box may hold `vip` other than `who` at any point over `rounds` × 150 ms.
fn stays_only_holder(lab: &Lab, who: &str, rounds: usize, context: &str) {
    for _ in 0..rounds {
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(lab.holders(VIP), vec![who.to_string()], "{context}");
    }
}

/// VRRPv3: a backup times the master out by the interval in the master's adverts (RFC 5798
/// Master_Adver_Interval), not by its own `advert_int`: a keepalived master advertising
/// every 1 s is not timed out by a tandem backup configured with 100 ms, and the other
/// way round keepalived (100 ms) keeps following a tandem master sending every 1 s.
#[test]
fn v3_backup_follows_the_masters_advert_interval() {
    let mode = MODES[1];
    // keepalived master at 1 s, tandem backup configured at 100 ms.
    let lab = Lab::new(&["ka", "td"]);
    let ka_conf = keepalived_conf(mode, 0, 1, 150).replace("advert_int 0.1", "advert_int 1");
    let ka = keepalived(&lab, 0, &ka_conf);
    only_holder(&lab, "ka", "keepalived alone");
    let td = lab.tandem(1, &tandem_conf(mode, 1, 0, 100));
    // Like keepalived, tandem may time out once on its own 100 ms before keepalived's
    // first advert arrives (and yield to it); from that advert on it follows 1 s.
    let following = wait_for(Duration::from_secs(20), || {
        let st = lab.status(1)?;
        let i = &st["subsystems"]["vrrp"]["instances"][0];
        (i["state"] == "BACKUP" && i["master"] == "198.18.0.1").then_some(())
    });
    assert!(following.is_some(), "{}", td.logs());
    let masters = td.logs().matches("Entering MASTER STATE").count();
    // Several of keepalived's 1 s intervals: a backup timing out after 3 × 100 ms would
    // take the VIP every time.
    stays_only_holder(&lab, "ka", 25, "tandem backup, keepalived master at 1s");
    assert_eq!(lab.vrrp_state(1, "VI_1").as_deref(), Some("BACKUP"));
    assert_eq!(
        td.logs().matches("Entering MASTER STATE").count(),
        masters,
        "{}",
        td.logs()
    );
    crash(&lab, 0);
    drop(ka);
    assert!(lab.wait_state(1, "VI_1", "MASTER"), "{}", td.logs());
    drop(td);
    drop(lab);

    // tandem master at 1 s, keepalived backup configured at 100 ms.
    let lab = Lab::new(&["td", "ka"]);
    let td_conf = tandem_conf(mode, 0, 1, 150).replace("advert_int: 100ms", "advert_int: 1s");
    let _td = lab.tandem(0, &td_conf);
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    let ka = keepalived(&lab, 1, &keepalived_conf(mode, 1, 0, 100));
    // keepalived may time out once on its own 100 ms before tandem's first advert
    // arrives; from that advert on it follows tandem's interval.
    assert!(
        ka.wait_log("(VI_1) advertisement interval updated from 100ms to 1000ms by master"),
        "{}",
        ka.logs()
    );
    assert!(ka.wait_log("(VI_1) Entering BACKUP STATE"), "{}", ka.logs());
    let masters = ka.logs().matches("Entering MASTER STATE").count();
    stays_only_holder(&lab, "td", 25, "keepalived backup, tandem master at 1s");
    assert_eq!(
        ka.logs().matches("Entering MASTER STATE").count(),
        masters,
        "{}",
        ka.logs()
    );
}

/// VRRPv2 with different passwords: each box drops the other's adverts, so both become
/// master, as two keepalived boxes would; tandem counts the drops as `auth`.
#[test]
fn v2_password_mismatch_makes_two_masters_and_is_counted() {
    let mode = MODES[0];
    let (lab, ka) = keepalived_alone(mode, 150);
    let td_conf =
        tandem_conf(mode, 1, 0, 100).replace("auth_pass: \"1111\"", "auth_pass: \"2222\"");
    let td = lab.tandem(1, &td_conf);
    assert!(lab.wait_state(1, "VI_1", "MASTER"), "{}", td.logs());
    let both = wait_for(Duration::from_secs(20), || {
        (lab.holders(VIP) == vec!["ka".to_string(), "td".to_string()]).then_some(())
    });
    assert!(both.is_some(), "holders: {:?}", lab.holders(VIP));
    let dropped = wait_for(Duration::from_secs(20), || {
        let st = lab.status(1)?;
        let n = st["subsystems"]["vrrp"]["instances"][0]["dropped"]["auth"].as_u64()?;
        (n > 0).then_some(n)
    });
    assert!(dropped.is_some(), "{:?}", lab.status(1));
    // keepalived stays master too: it refuses tandem's adverts likewise.
    assert!(
        ka.wait_log("(VI_1) received an invalid passwd!"),
        "{}",
        ka.logs()
    );
    let logs = ka.logs();
    let last = logs.lines().rev().find(|l| l.contains("(VI_1) Entering"));
    assert!(
        last.is_some_and(|l| l.contains("Entering MASTER STATE")),
        "{logs}"
    );
    assert_eq!(lab.holders(VIP), vec!["ka".to_string(), "td".to_string()]);
}

/// `nopreempt` on the higher-priority box: tandem (150) joining a keepalived master (100)
/// stays backup, as keepalived does with `nopreempt`; it takes over once keepalived
/// leaves (priority 0).
#[test]
fn nopreempt_tandem_does_not_take_over_a_lower_keepalived_master() {
    let mode = MODES[0];
    let (lab, mut ka) = keepalived_alone(mode, 100);
    let td_conf = tandem_conf(mode, 1, 0, 150).replace(
        "      priority: 150\n",
        "      priority: 150\n      nopreempt: true\n",
    );
    let td = lab.tandem(1, &td_conf);
    assert!(lab.wait_state(1, "VI_1", "BACKUP"), "{}", td.logs());
    // Beyond tandem's master-down interval (3 × 1 s + skew): it must still be backup.
    stays_only_holder(
        &lab,
        "ka",
        30,
        "nopreempt tandem beside a keepalived master",
    );
    assert_eq!(lab.vrrp_state(1, "VI_1").as_deref(), Some("BACKUP"));
    ka.signal(Signal::SIGTERM);
    let _ = ka.wait_exit(Duration::from_secs(10));
    assert!(lab.wait_state(1, "VI_1", "MASTER"), "{}", td.logs());
    only_holder(&lab, "td", "keepalived stopped");
}
