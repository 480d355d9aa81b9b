//! Interop with keepalived 2.2 from Debian, in network namespaces: tandem and keepalived
//! elect each other correctly in both directions, for VRRPv2 with PASS auth, VRRPv3, in
//! multicast and in unicast; either takes over when the other dies; never two masters.

mod common;

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
    let ok = wait_for(Duration::from_secs(30), || {
        (lab.holders(VIP) == vec![who.to_string()]).then_some(())
    });
    assert!(
        ok.is_some(),
        "{context}: VIP held by {:?}, expected only {who}",
        lab.holders(VIP)
    );
    // And it stays that way: no second master appears over a few advert intervals.
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(
            lab.holders(VIP),
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

#[test]
fn preemption_between_tandem_and_keepalived() {
    // keepalived (100) is master alone; tandem (150) joins and preempts it; keepalived
    // yields on tandem's higher-priority advert.
    let mode = MODES[0];
    let lab = Lab::new(&["ka", "td"]);
    let ka = keepalived(&lab, 0, &keepalived_conf(mode, 0, 1, 100));
    only_holder(&lab, "ka", "keepalived alone");
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
