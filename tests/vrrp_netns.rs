//! VRRP between tandem daemons in network namespaces: elections, failover on kill -9 and
//! on graceful stop, preemption rules, receive checks, and what the LAN sees (GARP).
//! Addresses: 198.18.0.0/24 on a bridge; VIP 198.18.0.100.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::netns::{Lab, Sniffer};
use common::{Daemon, wait_for};
use nix::sys::signal::Signal;

const VIP: &str = "198.18.0.100/24";

struct Inst<'a> {
    priority: u8,
    auth: Option<&'a str>,
    version: u8,
    advert: &'a str,
    extra: &'a str,
    unicast: Option<(&'a str, &'a [&'a str])>,
}

impl Default for Inst<'_> {
    fn default() -> Self {
        Inst {
            priority: 100,
            auth: None,
            version: 2,
            advert: "1s",
            extra: "",
            unicast: None,
        }
    }
}

fn config(node: &str, i: &Inst) -> String {
    let unicast = match i.unicast {
        Some((src, peers)) => format!(
            "      unicast_src_ip: {src}\n      unicast_peers: [{}]\n",
            peers.join(", ")
        ),
        None => String::new(),
    };
    let auth = i
        .auth
        .map(|p| format!("      auth_pass: \"{p}\"\n"))
        .unwrap_or_default();
    let vip = if i.version == 3 && i.extra.contains("IPV6") {
        "2001:db8::100/64"
    } else {
        VIP
    };
    format!(
        "node: {node}
log: {{ level: debug }}
observe: {{ listen: 127.0.0.1:9188 }}
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      priority: {}
      version: {}
      advert_int: {}
      virtual_ipaddresses: [\"{vip}\"]
      garp: {{ master_delay: 2s, master_repeat: 3 }}
{unicast}{auth}{}",
        i.priority,
        i.version,
        i.advert,
        i.extra.replace("IPV6", "")
    )
}

/// A VRRPv2 instance with PASS authentication.
fn with_pass(priority: u8, pass: &'static str) -> Inst<'static> {
    Inst {
        priority,
        auth: Some(pass),
        ..Inst::default()
    }
}

fn ab_lab() -> (Lab, usize, usize, usize) {
    let lab = Lab::new(&["a", "b", "client"]);
    (lab, 0, 1, 2)
}

/// Exactly one of the boxes holds `cidr`, and it is `who`.
fn only_holder(lab: &Lab, cidr: &str, who: &str) {
    let ok = wait_for(Duration::from_secs(30), || {
        (lab.holders(cidr) == vec![who.to_string()]).then_some(())
    });
    assert!(
        ok.is_some(),
        "{cidr} held by {:?}, expected only {who}",
        lab.holders(cidr)
    );
}

fn vip_ip() -> IpAddr {
    "198.18.0.100"
        .parse()
        .unwrap_or(IpAddr::from([198, 18, 0, 100]))
}

#[test]
fn v2_multicast_election_kill9_and_arp() {
    let (lab, a, b, client) = ab_lab();
    let _da = lab.tandem(a, &config("a", &with_pass(150, "1111")));
    let _db = lab.tandem(b, &config("b", &with_pass(100, "1111")));
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    assert!(lab.wait_state(b, "VI_1", "BACKUP"));
    only_holder(&lab, VIP, "a");

    // The client learns the VIP at a's MAC.
    lab.touch(client, vip_ip());
    assert_eq!(
        lab.neighbour(client, "198.18.0.100").as_deref(),
        Some(lab.nodes[a].mac.as_str())
    );

    // kill -9 a: b takes over after its master down interval and announces itself.
    let mut da = _da;
    da.signal(Signal::SIGKILL);
    let _ = da.wait_exit(Duration::from_secs(5));
    assert!(lab.wait_state(b, "VI_1", "MASTER"));
    assert!(lab.has(b, VIP));
    let moved = wait_for(Duration::from_secs(10), || {
        (lab.neighbour(client, "198.18.0.100").as_deref() == Some(lab.nodes[b].mac.as_str()))
            .then_some(())
    });
    assert!(
        moved.is_some(),
        "the client's ARP entry moved to b (by GARP, without new traffic)"
    );
    let st = lab.status(b).expect("status");
    let inst = &st["subsystems"]["vrrp"]["instances"][0];
    assert_eq!(inst["vips_held"], true);
    assert!(
        _db.logs().contains("(VI_1) Entering MASTER STATE"),
        "{}",
        _db.logs()
    );
    assert!(
        _db.logs().contains("reason=\"master down timer expired\""),
        "{}",
        _db.logs()
    );

    // a comes back (a crash left its VIP behind): it removes the leftover, then preempts.
    let _da2 = lab.tandem(a, &config("a", &with_pass(150, "1111")));
    assert!(_da2.wait_log("removed VIP 198.18.0.100/24 left behind by a previous run"));
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    assert!(lab.wait_state(b, "VI_1", "BACKUP"));
    only_holder(&lab, VIP, "a");
}

/// The UTC time of the first log line containing `needle`, in seconds of the day.
fn log_time(logs: &str, needle: &str) -> Option<f64> {
    let line = logs.lines().find(|l| l.contains(needle))?;
    let ts = line.split_whitespace().next()?;
    let t = ts.split('T').nth(1)?.trim_end_matches('Z');
    let mut parts = t.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

const FAST: Inst<'static> = Inst {
    priority: 100,
    auth: None,
    version: 3,
    advert: "100ms",
    extra: "",
    unicast: None,
};

/// `a` at priority 150 and `b` at 100 (fast adverts), started and settled: a MASTER
/// holding the VIP, b BACKUP.
fn fast_pair(lab: &Lab, a: usize, b: usize) -> (Daemon, Daemon) {
    let fast = |node: &str, priority: u8| config(node, &Inst { priority, ..FAST });
    let da = lab.tandem(a, &fast("a", 150));
    let db = lab.tandem(b, &fast("b", 100));
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    assert!(lab.wait_state(b, "VI_1", "BACKUP"));
    only_holder(lab, VIP, "a");
    (da, db)
}

#[test]
fn v3_graceful_stop_hands_over_and_preempt_fails_back() {
    let (lab, a, b, _) = ab_lab();
    let (mut da, db) = fast_pair(&lab, a, b);

    da.signal(Signal::SIGTERM);
    let st = da.wait_exit(Duration::from_secs(5)).expect("a exits");
    assert_eq!(st.code(), Some(0));
    assert!(
        da.logs().contains("(VI_1) Entering INIT STATE"),
        "{}",
        da.logs()
    );
    assert!(da.logs().contains("reason=\"shutdown\""), "{}", da.logs());
    // The leaving master says it handed over (keepalived's words).
    assert!(
        da.logs().contains("(VI_1) sent 0 priority"),
        "{}",
        da.logs()
    );
    assert!(lab.wait_state(b, "VI_1", "MASTER"));
    // b took over because of a's priority-0 advert (after its skew time), not because
    // a's adverts stopped.
    assert!(
        db.logs().contains("reason=\"priority 0 from 198.18.0.1\""),
        "{}",
        db.logs()
    );
    only_holder(&lab, VIP, "b");

    // a comes back and, preempting, takes the VIP back.
    let da2 = lab.tandem(
        a,
        &config(
            "a",
            &Inst {
                priority: 150,
                ..FAST
            },
        ),
    );
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    assert!(lab.wait_state(b, "VI_1", "BACKUP"));
    only_holder(&lab, VIP, "a");
    assert!(
        db.logs()
            .contains("reason=\"higher priority advert from 198.18.0.1 (150 > 100)\""),
        "{}",
        db.logs()
    );
    drop(da2);
}

#[test]
fn nopreempt_keeps_the_current_master() {
    let (lab, a, b, _) = ab_lab();
    let a_cfg = config(
        "a",
        &Inst {
            priority: 150,
            extra: "      nopreempt: true\n",
            ..FAST
        },
    );
    let mut da = lab.tandem(a, &a_cfg);
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    let _db = lab.tandem(
        b,
        &config(
            "b",
            &Inst {
                priority: 100,
                ..FAST
            },
        ),
    );
    assert!(lab.wait_state(b, "VI_1", "BACKUP"));
    da.signal(Signal::SIGTERM);
    let _ = da.wait_exit(Duration::from_secs(5));
    assert!(lab.wait_state(b, "VI_1", "MASTER"));

    let da2 = lab.tandem(a, &a_cfg);
    assert!(lab.wait_state(a, "VI_1", "BACKUP"));
    // Many master-down intervals (0.3s + skew each) pass: a stays backup.
    for _ in 0..30 {
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(lab.vrrp_state(a, "VI_1").as_deref(), Some("BACKUP"));
        assert_eq!(lab.vrrp_state(b, "VI_1").as_deref(), Some("MASTER"));
    }
    only_holder(&lab, VIP, "b");
    assert!(
        !da2.logs().contains("Entering MASTER STATE"),
        "{}",
        da2.logs()
    );
}

#[test]
fn preempt_delay_is_respected() {
    let (lab, a, b, _) = ab_lab();
    let _db = lab.tandem(
        b,
        &config(
            "b",
            &Inst {
                priority: 100,
                ..FAST
            },
        ),
    );
    assert!(lab.wait_state(b, "VI_1", "MASTER"));
    let da = lab.tandem(
        a,
        &config(
            "a",
            &Inst {
                priority: 150,
                extra: "      preempt_delay: 3s\n",
                ..FAST
            },
        ),
    );
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    only_holder(&lab, VIP, "a");
    let logs = da.logs();
    let backup = log_time(&logs, "(VI_1) Entering BACKUP STATE").expect("backup line");
    let master = log_time(&logs, "(VI_1) Entering MASTER STATE").expect("master line");
    assert!(
        master - backup >= 3.0,
        "preempted {}s after start: {logs}",
        master - backup
    );
}

fn metric(lab: &Lab, i: usize, line_prefix: &str) -> u64 {
    let text = lab.in_ns(i, || {
        common::http_get("127.0.0.1:9188".parse().expect("addr"), "/metrics")
            .map(|(_, b)| b)
            .unwrap_or_default()
    });
    text.lines()
        .find(|l| l.starts_with(line_prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn auth_mismatch_and_wrong_vrid_are_dropped_and_counted() {
    let lab = Lab::new(&["a", "b", "c"]);
    let (a, b, c) = (0, 1, 2);
    let _da = lab.tandem(a, &config("a", &with_pass(150, "1111")));
    let db = lab.tandem(b, &config("b", &with_pass(100, "2222")));
    // c runs VRID 52 with another VIP on the same LAN.
    let c_cfg = config("c", &with_pass(100, "1111"))
        .replace("virtual_router_id: 51", "virtual_router_id: 52")
        .replace(VIP, "198.18.0.101/24");
    let _dc = lab.tandem(c, &c_cfg);
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    // b ignores a's adverts (wrong password) and so becomes master too.
    assert!(lab.wait_state(b, "VI_1", "MASTER"));
    let drops = wait_for(Duration::from_secs(20), || {
        let st = lab.status(b)?;
        let n = st["subsystems"]["vrrp"]["instances"][0]["dropped"]["auth"].as_u64()?;
        (n >= 2).then_some(n)
    });
    assert!(drops.is_some(), "b counts auth drops: {:?}", lab.status(b));
    assert!(
        metric(
            &lab,
            b,
            "tandem_vrrp_adverts_dropped_total{reason=\"auth\"}"
        ) >= 2
    );
    assert!(db.wait_log("(VI_1) authentication failure: wrong auth_pass"));
    // a and b see c's VRID 52 adverts and drop them as another router's.
    let wrong = wait_for(Duration::from_secs(20), || {
        let n = metric(
            &lab,
            a,
            "tandem_vrrp_adverts_dropped_total{reason=\"wrong_vrid\"}",
        );
        (n >= 2).then_some(n)
    });
    assert!(wrong.is_some(), "a counts wrong-VRID drops");
    assert!(metric(&lab, a, "tandem_vrrp_adverts_sent_total{instance=\"VI_1\"}") >= 2);
    // Reasons that never happened have their series at 0 (alerts see the first drop).
    let text = lab.in_ns(a, || {
        common::http_get("127.0.0.1:9188".parse().expect("addr"), "/metrics")
            .map(|(_, b)| b)
            .unwrap_or_default()
    });
    for reason in ["ttl", "vip_mismatch", "queue_full"] {
        let line = format!("tandem_vrrp_adverts_dropped_total{{reason=\"{reason}\"}} 0");
        assert!(text.lines().any(|l| l == line), "{line}: {text}");
    }
}

/// Announcements sent by node `i`'s daemon, per its metrics.
fn garps_seen(lab: &Lab, i: usize) -> u64 {
    metric(
        lab,
        i,
        "tandem_vrrp_announcements_sent_total{instance=\"VI_1\"}",
    )
}

#[test]
fn garp_bursts_are_seen_on_the_lan() {
    let (lab, a, _, client) = ab_lab();
    let sniff = Sniffer::start(&lab, client);
    let _da = lab.tandem(
        a,
        &config(
            "a",
            &Inst {
                priority: 150,
                ..Inst::default()
            },
        ),
    );
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    // master_repeat 3 now, and 3 more after master_delay 2s.
    let mac = lab.nodes[a].mac.clone();
    let mac_bytes: Vec<u8> = mac
        .split(':')
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect();
    let garps = |frames: &[common::pcap::Frame]| -> Vec<f64> {
        frames
            .iter()
            .filter(|f| {
                f.arp().is_some_and(|a| {
                    a[14..18] == [198, 18, 0, 100] && a[24..28] == [198, 18, 0, 100]
                })
            })
            .map(|f| f.time)
            .collect()
    };
    // Wait for the second burst (master_delay 2s) to have gone out.
    let _ = wait_for(Duration::from_secs(10), || {
        (garps_seen(&lab, a) >= 6).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    let frames = sniff.stop();
    let times = garps(&frames);
    assert_eq!(times.len(), 6, "3 + 3 gratuitous ARPs: {times:?}");
    assert!(
        times[3] - times[2] >= 1.9,
        "second burst after master_delay: {times:?}"
    );
    let first = frames
        .iter()
        .find(|f| f.arp().is_some_and(|a| a[14..18] == [198, 18, 0, 100]))
        .expect("garp");
    let mut m = [0u8; 6];
    m.copy_from_slice(&mac_bytes);
    assert_eq!(
        &first.data[..42],
        &tandem::net::announce::garp_frame(m, "198.18.0.100".parse().expect("ip"))[..]
    );
    // Adverts on the wire: TTL 255, TOS 0xc0, to 224.0.0.18 / 01:00:5e:00:00:12, no DF.
    let advert = frames
        .iter()
        .find(|f| f.ip().is_some_and(|ip| ip.protocol == 112))
        .expect("an advert");
    let ip = advert.ip().expect("ip");
    assert_eq!((ip.ttl, ip.tos), (255, 0xc0));
    assert_eq!(ip.dst.to_string(), "224.0.0.18");
    assert_eq!(advert.eth_dst(), [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12]);
    assert_eq!(advert.data[14 + 6] & 0x40, 0, "DF not set");
}

#[test]
fn v3_ipv6_with_unsolicited_na() {
    let (lab, a, b, client) = ab_lab();
    let vip6 = "2001:db8::100/64";
    let sniff = Sniffer::start(&lab, client);
    let mut da = lab.tandem(
        a,
        &config(
            "a",
            &Inst {
                priority: 150,
                extra: "IPV6",
                ..FAST
            },
        ),
    );
    let _db = lab.tandem(
        b,
        &config(
            "b",
            &Inst {
                priority: 100,
                extra: "IPV6",
                ..FAST
            },
        ),
    );
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    assert!(lab.wait_state(b, "VI_1", "BACKUP"));
    only_holder(&lab, vip6, "a");
    let entry = lab.addr_entry(a, "2001:db8::100").expect("VIP entry");
    assert_eq!(entry["nodad"], true, "{entry}");
    std::thread::sleep(Duration::from_millis(300));
    let frames = sniff.stop();
    let na = frames
        .iter()
        .find(|f| {
            f.ip()
                .is_some_and(|ip| ip.protocol == 58 && ip.payload.first() == Some(&136))
        })
        .expect("an unsolicited NA");
    let ip = na.ip().expect("ip");
    assert_eq!(ip.src.to_string(), "2001:db8::100");
    assert_eq!(ip.dst.to_string(), "ff02::1");
    assert_eq!(ip.ttl, 255);
    assert_eq!(ip.payload[4] & 0x20, 0x20, "override flag");
    let advert = frames
        .iter()
        .find(|f| f.ip().is_some_and(|ip| ip.protocol == 112))
        .expect("a v6 advert");
    let aip = advert.ip().expect("ip");
    assert!(
        aip.src.to_string().starts_with("fe80::"),
        "from link-local: {}",
        aip.src
    );
    assert_eq!(aip.dst.to_string(), "ff02::12");
    assert_eq!((aip.ttl, aip.tos), (255, 0xc0));

    da.signal(Signal::SIGKILL);
    let _ = da.wait_exit(Duration::from_secs(5));
    assert!(lab.wait_state(b, "VI_1", "MASTER"));
    assert!(lab.has(b, vip6));
}

#[test]
fn unicast_v2_and_v3() {
    for (version, advert) in [(2u8, "1s"), (3u8, "100ms")] {
        let lab = Lab::new(&["a", "b", "c"]);
        let (a, b, c) = (0, 1, 2);
        let mk = |prio: u8, src: &'static str, peers: &'static [&'static str]| Inst {
            priority: prio,
            auth: None,
            version,
            advert,
            extra: "",
            unicast: Some((src, peers)),
        };
        let mut da = lab.tandem(a, &config("a", &mk(150, "198.18.0.1", &["198.18.0.2"])));
        let db = lab.tandem(b, &config("b", &mk(100, "198.18.0.2", &["198.18.0.1"])));
        // c sends to a and b, but neither lists it as a peer.
        let _dc = lab.tandem(
            c,
            &config("c", &mk(50, "198.18.0.3", &["198.18.0.1", "198.18.0.2"])),
        );
        assert!(lab.wait_state(a, "VI_1", "MASTER"), "v{version}");
        assert!(lab.wait_state(b, "VI_1", "BACKUP"), "v{version}");
        // c hears nothing (not a peer of a or b... a sends only to b) and is master of
        // its own view, so its adverts reach a and b and are dropped as unknown peers.
        let unknown = wait_for(Duration::from_secs(20), || {
            let n = metric(
                &lab,
                a,
                "tandem_vrrp_adverts_dropped_total{reason=\"unknown_peer\"}",
            );
            (n >= 1).then_some(n)
        });
        assert!(unknown.is_some(), "v{version}: a drops adverts from c");
        assert_eq!(lab.holders(VIP).iter().filter(|h| *h != "c").count(), 1);
        assert!(lab.has(a, VIP));
        da.signal(Signal::SIGKILL);
        let _ = da.wait_exit(Duration::from_secs(5));
        assert!(
            lab.wait_state(b, "VI_1", "MASTER"),
            "v{version}: {}",
            db.logs()
        );
        assert!(lab.has(b, VIP));
    }
}

#[test]
fn reload_applies_priority_and_vips_in_place() {
    let (lab, a, b, _) = ab_lab();
    let a_cfg = config(
        "a",
        &Inst {
            priority: 150,
            ..FAST
        },
    );
    let b_cfg = config(
        "b",
        &Inst {
            priority: 100,
            ..FAST
        },
    );
    let da = lab.tandem(a, &a_cfg);
    let db = lab.tandem(b, &b_cfg);
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    assert!(lab.wait_state(b, "VI_1", "BACKUP"));

    // a gets a second VIP: added at once, without an election.
    lab.file(
        "a.yaml",
        &a_cfg.replace(
            &format!("[\"{VIP}\"]"),
            &format!("[\"{VIP}\", \"198.18.0.101/24\"]"),
        ),
    );
    da.signal(Signal::SIGHUP);
    assert!(
        wait_for(Duration::from_secs(20), || lab
            .has(a, "198.18.0.101/24")
            .then_some(()))
        .is_some()
    );
    assert!(lab.has(a, VIP));
    assert_eq!(lab.vrrp_state(a, "VI_1").as_deref(), Some("MASTER"));
    assert_eq!(
        da.logs().matches("Entering MASTER STATE").count(),
        1,
        "{}",
        da.logs()
    );

    // b's priority goes to 200: it preempts a.
    lab.file(
        "b.yaml",
        &b_cfg.replace("priority: 100", "priority: 200").replace(
            &format!("[\"{VIP}\"]"),
            &format!("[\"{VIP}\", \"198.18.0.101/24\"]"),
        ),
    );
    db.signal(Signal::SIGHUP);
    assert!(lab.wait_state(b, "VI_1", "MASTER"));
    assert!(lab.wait_state(a, "VI_1", "BACKUP"));
    only_holder(&lab, VIP, "b");
    only_holder(&lab, "198.18.0.101/24", "b");
    let st = lab.status(b).expect("status");
    assert_eq!(st["subsystems"]["vrrp"]["instances"][0]["priority"], 200);

    // Removing the instance from b's config stops it gracefully: a takes over.
    lab.file(
        "b.yaml",
        "node: b\nobserve: { listen: 127.0.0.1:9188 }\nvrrp:\n  instances: []\n",
    );
    db.signal(Signal::SIGHUP);
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    only_holder(&lab, VIP, "a");
    assert!(
        db.logs()
            .contains("(VI_1) removed from the config: stopping"),
        "{}",
        db.logs()
    );
}

/// Planned switchover: `tandem vrrp resign` holds the master in FAULT (it hands the VIP
/// over with priority 0 at once), `tandem vrrp resume` brings it back and, preempting,
/// it takes the VIP back.
#[test]
fn resign_hands_over_and_resume_takes_back() {
    let (lab, a, b, _) = ab_lab();
    let sock = lab.dir.path().join("a-admin.sock");
    let admin = format!("admin: {{ socket: {} }}\n", sock.display());
    let da = lab.tandem(
        a,
        &format!(
            "{admin}{}",
            config(
                "a",
                &Inst {
                    priority: 150,
                    ..FAST
                },
            )
        ),
    );
    let db = lab.tandem(
        b,
        &config(
            "b",
            &Inst {
                priority: 100,
                ..FAST
            },
        ),
    );
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    assert!(lab.wait_state(b, "VI_1", "BACKUP"));
    only_holder(&lab, VIP, "a");
    assert!(
        wait_for(Duration::from_secs(10), || sock.exists().then_some(())).is_some(),
        "{}",
        da.logs()
    );
    let s = sock.to_string_lossy().to_string();
    // Resuming what was never resigned says so.
    let (code, out, err) = common::tandem(&["vrrp", "resume", "--socket", &s]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "not resigned, nothing to resume: VI_1");
    let (code, out, err) = common::tandem(&["vrrp", "resign", "--socket", &s]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("resigned: VI_1"), "{out}");
    let (code, out, _) = common::tandem(&["vrrp", "resign", "--socket", &s]);
    assert_eq!((code, out.trim()), (0, "already resigned: VI_1"));
    assert!(lab.wait_state(a, "VI_1", "FAULT"));
    assert!(lab.wait_state(b, "VI_1", "MASTER"));
    only_holder(&lab, VIP, "b");
    assert!(
        db.logs().contains("reason=\"priority 0 from 198.18.0.1\""),
        "{}",
        db.logs()
    );
    assert!(
        da.logs().contains("resigned by the operator"),
        "{}",
        da.logs()
    );
    // A resigned box stays out, even with the higher priority.
    std::thread::sleep(Duration::from_millis(800));
    only_holder(&lab, VIP, "b");
    let (code, out, _) = common::tandem(&["vrrp", "resign", "NOPE", "--socket", &s]);
    assert_ne!(code, 0);
    assert!(out.contains("no VRRP instance `NOPE`"), "{out}");
    let (code, out, err) = common::tandem(&["vrrp", "resume", "VI_1", "--socket", &s]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "resumed: VI_1");
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    assert!(lab.wait_state(b, "VI_1", "BACKUP"));
    only_holder(&lab, VIP, "a");
}

/// `config` with the VIP list replaced by `vips`.
fn with_vips(cfg: String, vips: &[&str]) -> String {
    let list: Vec<String> = vips.iter().map(|v| format!("\"{v}\"")).collect();
    cfg.replace(&format!("[\"{VIP}\"]"), &format!("[{}]", list.join(", ")))
}

/// What node `i`'s status says about `reason` drops.
fn dropped(lab: &Lab, i: usize, reason: &str) -> u64 {
    lab.status(i)
        .and_then(|st| st["subsystems"]["vrrp"]["instances"][0]["dropped"][reason].as_u64())
        .unwrap_or(0)
}

/// Waits until node `i` has dropped more than `after` adverts for `reason`.
fn wait_dropped(lab: &Lab, i: usize, reason: &str, after: u64) -> Option<u64> {
    wait_for(Duration::from_secs(20), || {
        let n = metric(
            lab,
            i,
            &format!("tandem_vrrp_adverts_dropped_total{{reason=\"{reason}\"}}"),
        );
        (n >= after + 3).then_some(n)
    })
}

#[test]
fn adverts_with_other_vips_are_dropped_and_counted() {
    let lab = Lab::new(&["a", "b"]);
    let (a, b) = (0, 1);
    let a_cfg = config(
        "a",
        &Inst {
            priority: 100,
            ..FAST
        },
    );
    let b_cfg = |vips: &[&str]| {
        with_vips(
            config(
                "b",
                &Inst {
                    priority: 200,
                    ..FAST
                },
            ),
            vips,
        )
    };
    let da = lab.tandem(a, &a_cfg);
    assert!(lab.wait_state(a, "VI_1", "MASTER"));

    // Same count, another address: a higher priority does not take MASTER from a.
    let db = lab.tandem(b, &b_cfg(&["198.18.0.101/24"]));
    assert!(lab.wait_state(b, "VI_1", "MASTER"), "{}", db.logs());
    let n = wait_dropped(&lab, a, "vip_mismatch", 0);
    assert!(n.is_some(), "a counts VIP-list drops: {}", da.logs());
    assert!(dropped(&lab, a, "vip_mismatch") >= 3, "{:?}", lab.status(a));
    assert_eq!(lab.vrrp_state(a, "VI_1").as_deref(), Some("MASTER"));
    assert!(lab.has(a, VIP));
    assert!(da.wait_log("lists VIPs [198.18.0.101], ours are [198.18.0.100]"));
    drop(db);

    // Another count (ours plus one): dropped too.
    let before = n.unwrap_or(0);
    let db = lab.tandem(b, &b_cfg(&[VIP, "198.18.0.101/24"]));
    assert!(lab.wait_state(b, "VI_1", "MASTER"), "{}", db.logs());
    let n = wait_dropped(&lab, a, "vip_mismatch", before);
    assert!(n.is_some(), "a counts VIP-count drops: {}", da.logs());
    assert_eq!(lab.vrrp_state(a, "VI_1").as_deref(), Some("MASTER"));
    assert!(lab.has(a, VIP));
}

#[test]
fn vip_lists_in_another_order_still_elect() {
    let lab = Lab::new(&["a", "b"]);
    let (a, b) = (0, 1);
    let second = "198.18.0.101/24";
    let a_cfg = with_vips(
        config(
            "a",
            &Inst {
                priority: 100,
                ..FAST
            },
        ),
        &[VIP, second],
    );
    let b_cfg = with_vips(
        config(
            "b",
            &Inst {
                priority: 200,
                ..FAST
            },
        ),
        &[second, VIP],
    );
    let da = lab.tandem(a, &a_cfg);
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    let db = lab.tandem(b, &b_cfg);
    assert!(lab.wait_state(b, "VI_1", "MASTER"), "{}", db.logs());
    assert!(lab.wait_state(a, "VI_1", "BACKUP"), "{}", da.logs());
    only_holder(&lab, VIP, "b");
    only_holder(&lab, second, "b");
    assert_eq!(dropped(&lab, a, "vip_mismatch"), 0);
}

fn ifindex(lab: &Lab, i: usize) -> Option<u64> {
    let out = lab.exec(i, &["ip", "-j", "link", "show", "dev", "eth0"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v[0]["ifindex"].as_u64()
}

#[test]
fn recreated_interface_gets_the_vip_back() {
    let (lab, a, b, _) = ab_lab();
    let (da, db) = fast_pair(&lab, a, b);
    let before = ifindex(&lab, a);

    lab.recreate_eth0(a, true);
    assert_ne!(ifindex(&lab, a), before, "eth0 kept its index");
    // b took over while a's interface was gone; a preempts once it is back.
    assert!(lab.wait_state(a, "VI_1", "MASTER"), "{}", da.logs());
    assert!(lab.wait_state(b, "VI_1", "BACKUP"), "{}", db.logs());
    only_holder(&lab, VIP, "a");
    let held = wait_for(Duration::from_secs(10), || {
        let st = lab.status(a)?;
        st["subsystems"]["vrrp"]["instances"][0]["vips_held"]
            .as_bool()
            .filter(|h| *h)
    });
    assert!(held.is_some(), "{:?}", lab.status(a));
    assert!(
        !da.logs().contains("No such device"),
        "VIP add hit the old interface: {}",
        da.logs()
    );
}

/// A changed `unicast_peers` list is applied in place, as keepalived does: the master
/// keeps its VIP (no restart, no failover), its adverts go to the new list, and adverts
/// from a peer it no longer lists are dropped.
#[test]
fn reload_changes_unicast_peers_in_place() {
    let lab = Lab::new(&["a", "b", "c"]);
    let (a, b, c) = (0, 1, 2);
    let mk = |priority: u8, src: &'static str, peers: &'static [&'static str]| Inst {
        priority,
        unicast: Some((src, peers)),
        ..FAST
    };
    let da = lab.tandem(a, &config("a", &mk(150, "198.18.0.1", &["198.18.0.2"])));
    let _db = lab.tandem(b, &config("b", &mk(100, "198.18.0.2", &["198.18.0.1"])));
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    assert!(lab.wait_state(b, "VI_1", "BACKUP"));
    only_holder(&lab, VIP, "a");

    // a learns about c; c (lower priority) then hears a and follows it.
    lab.file(
        "a.yaml",
        &config("a", &mk(150, "198.18.0.1", &["198.18.0.2", "198.18.0.3"])),
    );
    da.signal(Signal::SIGHUP);
    assert!(da.wait_log("config reloaded"), "{}", da.logs());
    assert_eq!(lab.vrrp_state(a, "VI_1").as_deref(), Some("MASTER"));
    assert!(!da.logs().contains("restarting"), "{}", da.logs());
    let dc = lab.tandem(
        c,
        &config("c", &mk(50, "198.18.0.3", &["198.18.0.1", "198.18.0.2"])),
    );
    let follows = wait_for(Duration::from_secs(30), || {
        let st = lab.status(c)?;
        let i = &st["subsystems"]["vrrp"]["instances"][0];
        (i["state"] == "BACKUP" && i["master"] == "198.18.0.1").then_some(())
    });
    assert!(follows.is_some(), "c does not hear a: {}", dc.logs());
    only_holder(&lab, VIP, "a");

    // a drops b from its list: b's adverts (b takes over, no longer hearing a) are now
    // dropped by a as coming from an unknown peer.
    let before = metric(
        &lab,
        a,
        "tandem_vrrp_adverts_dropped_total{reason=\"unknown_peer\"}",
    );
    lab.file(
        "a.yaml",
        &config("a", &mk(150, "198.18.0.1", &["198.18.0.3"])),
    );
    da.signal(Signal::SIGHUP);
    assert!(
        da.wait_log("config reloaded: now running generation 3"),
        "{}",
        da.logs()
    );
    let dropped = wait_for(Duration::from_secs(30), || {
        let n = metric(
            &lab,
            a,
            "tandem_vrrp_adverts_dropped_total{reason=\"unknown_peer\"}",
        );
        (n > before).then_some(n)
    });
    assert!(dropped.is_some(), "{}", da.logs());
    assert_eq!(lab.vrrp_state(a, "VI_1").as_deref(), Some("MASTER"));
    assert!(lab.has(a, VIP));
    let logs = da.logs();
    assert!(!logs.contains("restarting"), "{logs}");
    assert_eq!(
        logs.matches("(VI_1) Entering MASTER STATE").count(),
        1,
        "{logs}"
    );
    assert!(
        logs.contains("(VI_1) unicast peers changed from [198.18.0.2] to [198.18.0.2, 198.18.0.3]"),
        "{logs}"
    );
}

/// VIPs the daemon in node `i` put back after something else removed them.
/// a stayed MASTER and b BACKUP throughout: b never entered MASTER, and (`once`) a entered
/// it only once.
fn no_hand_over(lab: &Lab, (a, da): (usize, &Daemon), (b, db): (usize, &Daemon), once: bool) {
    assert_eq!(lab.vrrp_state(a, "VI_1").as_deref(), Some("MASTER"));
    assert_eq!(lab.vrrp_state(b, "VI_1").as_deref(), Some("BACKUP"));
    if once {
        assert_eq!(da.logs().matches("Entering MASTER STATE").count(), 1);
    }
    assert!(
        !db.logs().contains("Entering MASTER STATE"),
        "{}",
        db.logs()
    );
}

fn restored(lab: &Lab, i: usize) -> u64 {
    metric(lab, i, "tandem_vrrp_vips_restored_total{instance=\"VI_1\"}")
}

/// The gratuitous ARPs for 198.18.0.100 among `frames`, sent from `mac`.
fn garps_from(frames: &[common::pcap::Frame], mac: &str) -> usize {
    let mac: Vec<u8> = mac
        .split(':')
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect();
    frames
        .iter()
        .filter(|f| {
            f.eth_src()[..] == mac[..]
                && f.arp().is_some_and(|a| {
                    a[14..18] == [198, 18, 0, 100] && a[24..28] == [198, 18, 0, 100]
                })
        })
        .count()
}

/// Polls for a while that `cidr` stays with `who` alone (a stability check, not a timing
/// assertion: it would fail on any moment it does not hold).
fn stays_with(lab: &Lab, cidr: &str, who: &str) {
    for _ in 0..10 {
        assert_eq!(lab.holders(cidr), vec![who.to_string()], "{cidr}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `ip addr del` of the VIP on the master (an administrator, NetworkManager, a DHCP
/// client…): the master adds it back at once and announces it again, stays MASTER (the
/// backup does not take over), counts it and says so. A master leaving MASTER (stopped,
/// or preempted) removes its VIP without putting it back. A VIP added by hand on the
/// backup is left alone (as keepalived does) and logged.
#[test]
fn vip_removed_from_the_master_is_put_back_and_announced() {
    let (lab, a, b, client) = ab_lab();
    let (mut da, db) = fast_pair(&lab, a, b);
    // Both GARP bursts of becoming master (master_repeat 3, again after master_delay 2s)
    // are out before we listen.
    let settled = wait_for(Duration::from_secs(20), || {
        (garps_seen(&lab, a) >= 6).then_some(())
    });
    assert!(settled.is_some(), "{}", da.logs());
    let before = garps_seen(&lab, a);
    let sniff = Sniffer::start(&lab, client);

    common::netns::sh(&["ip", "-n", lab.ns(a), "addr", "del", VIP, "dev", "eth0"]);
    let back = wait_for(Duration::from_secs(10), || lab.has(a, VIP).then_some(()));
    assert!(back.is_some(), "{}", da.logs());
    let counted = wait_for(Duration::from_secs(10), || {
        (restored(&lab, a) == 1 && garps_seen(&lab, a) >= before + 3).then_some(())
    });
    assert!(counted.is_some(), "{}", da.logs());
    assert!(
        da.wait_log(
            "(VI_1) VIP 198.18.0.100/24 was removed from eth0 while MASTER, not by tandem: added back and announced"
        ),
        "{}",
        da.logs()
    );
    // The GARPs reach the LAN.
    let seen = wait_for(Duration::from_secs(10), || {
        lab.touch(client, vip_ip());
        (lab.neighbour(client, "198.18.0.100").as_deref() == Some(lab.nodes[a].mac.as_str()))
            .then_some(())
    });
    assert!(seen.is_some(), "the client reaches the VIP at a's MAC");
    let frames = sniff.stop();
    assert!(
        garps_from(&frames, &lab.nodes[a].mac) >= 1,
        "a gratuitous ARP for the VIP after it was put back: {} frames",
        frames.len()
    );
    // No hand-over: a stayed MASTER throughout, b BACKUP.
    no_hand_over(&lab, (a, &da), (b, &db), true);
    assert!(!da.logs().contains("sent 0 priority"), "{}", da.logs());
    only_holder(&lab, VIP, "a");
    let st = lab.status(a).expect("status");
    assert_eq!(st["subsystems"]["vrrp"]["instances"][0]["vips_held"], true);
    assert_eq!(restored(&lab, a), 1);

    // Added by hand on the backup: left there, as keepalived does, and said.
    common::netns::sh(&["ip", "-n", lab.ns(b), "addr", "add", VIP, "dev", "eth0"]);
    assert!(
        db.wait_log(
            "(VI_1) VIP 198.18.0.100/24 was added to eth0 while BACKUP, not by tandem: left in place"
        ),
        "{}",
        db.logs()
    );
    assert!(lab.has(b, VIP));
    common::netns::sh(&["ip", "-n", lab.ns(b), "addr", "del", VIP, "dev", "eth0"]);
    assert_eq!(lab.vrrp_state(b, "VI_1").as_deref(), Some("BACKUP"));
    assert_eq!(restored(&lab, b), 0);

    // A normal failover: a stops (priority 0, VIP removed); b takes over. a's own
    // removal is not "put back".
    da.signal(Signal::SIGTERM);
    assert_eq!(
        da.wait_exit(Duration::from_secs(10)).and_then(|s| s.code()),
        Some(0)
    );
    assert!(lab.wait_state(b, "VI_1", "MASTER"));
    only_holder(&lab, VIP, "b");
    assert_eq!(da.logs().matches("added back and announced").count(), 1);

    // a comes back and preempts: b leaves MASTER while running and removes its VIP
    // without putting it back.
    let da2 = lab.tandem(
        a,
        &config(
            "a",
            &Inst {
                priority: 150,
                ..FAST
            },
        ),
    );
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    assert!(lab.wait_state(b, "VI_1", "BACKUP"));
    only_holder(&lab, VIP, "a");
    stays_with(&lab, VIP, "a");
    assert_eq!(restored(&lab, b), 0);
    assert_eq!(restored(&lab, a), 0);
    assert!(!db.logs().contains("added back"), "{}", db.logs());
    assert!(!da2.logs().contains("added back"), "{}", da2.logs());
}

/// The same over IPv6: the VIP comes back (without DAD) and is announced with an
/// unsolicited neighbour advertisement.
#[test]
fn ipv6_vip_removed_from_the_master_is_put_back_with_na() {
    let (lab, a, b, client) = ab_lab();
    let vip6 = "2001:db8::100/64";
    let v6 = |node: &str, priority: u8| {
        config(
            node,
            &Inst {
                priority,
                extra: "IPV6",
                ..FAST
            },
        )
    };
    let da = lab.tandem(a, &v6("a", 150));
    let db = lab.tandem(b, &v6("b", 100));
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    assert!(lab.wait_state(b, "VI_1", "BACKUP"));
    only_holder(&lab, vip6, "a");
    let settled = wait_for(Duration::from_secs(20), || {
        (garps_seen(&lab, a) >= 6).then_some(())
    });
    assert!(settled.is_some(), "{}", da.logs());
    let before = garps_seen(&lab, a);
    let sniff = Sniffer::start(&lab, client);

    common::netns::sh(&["ip", "-n", lab.ns(a), "addr", "del", vip6, "dev", "eth0"]);
    let back = wait_for(Duration::from_secs(10), || lab.has(a, vip6).then_some(()));
    assert!(back.is_some(), "{}", da.logs());
    let entry = lab.addr_entry(a, "2001:db8::100").expect("VIP entry");
    assert_eq!(entry["nodad"], true, "{entry}");
    let counted = wait_for(Duration::from_secs(10), || {
        (restored(&lab, a) == 1 && garps_seen(&lab, a) >= before + 3).then_some(())
    });
    assert!(counted.is_some(), "{}", da.logs());
    assert!(
        da.wait_log(
            "(VI_1) VIP 2001:db8::100/64 was removed from eth0 while MASTER, not by tandem: added back and announced"
        ),
        "{}",
        da.logs()
    );
    // The NA went out before the counter moved; give the bridge a moment to deliver it.
    let nas = |frames: &[common::pcap::Frame]| {
        frames
            .iter()
            .filter(|f| {
                f.ip().is_some_and(|ip| {
                    ip.protocol == 58
                        && ip.payload.first() == Some(&136)
                        && ip.src.to_string() == "2001:db8::100"
                })
            })
            .count()
    };
    std::thread::sleep(Duration::from_millis(200));
    let frames = sniff.stop();
    assert!(
        nas(&frames) >= 1,
        "an unsolicited NA after the VIP came back"
    );
    no_hand_over(&lab, (a, &da), (b, &db), true);
    only_holder(&lab, vip6, "a");
}

/// Something that keeps removing the VIP (a misconfigured NetworkManager, a script) is
/// not fought in a loop: the VIP still comes back each time (at once, then held back a
/// little longer each time it goes again within a minute), each time is counted, and
/// the log says it once a minute at most.
#[test]
fn vip_removed_again_and_again_comes_back_without_a_fight() {
    let (lab, a, b, _) = ab_lab();
    let (da, db) = fast_pair(&lab, a, b);
    for n in 1..=3u64 {
        common::netns::sh(&["ip", "-n", lab.ns(a), "addr", "del", VIP, "dev", "eth0"]);
        let back = wait_for(Duration::from_secs(20), || {
            (lab.has(a, VIP) && restored(&lab, a) == n).then_some(())
        });
        assert!(back.is_some(), "removal {n}: {}", da.logs());
    }
    assert_eq!(
        da.logs().matches("added back and announced").count(),
        1,
        "{}",
        da.logs()
    );
    no_hand_over(&lab, (a, &da), (b, &db), false);
    only_holder(&lab, VIP, "a");
}

/// Address notifications can be lost: when the kernel finds the monitor socket's buffer
/// full it drops them and says so (ENOBUFS). A VIP removed then is found all the same:
/// the master looks at its VIPs again on the overrun.
#[test]
fn vip_removed_while_notifications_were_lost_is_found_by_the_resync() {
    let lab = Lab::new(&["a"]);
    let a = 0;
    let da = lab.tandem(
        a,
        &config(
            "a",
            &Inst {
                priority: 150,
                ..FAST
            },
        ),
    );
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    only_holder(&lab, VIP, "a");
    let ns = lab.ns(a).to_string();
    common::netns::sh(&[
        "ip", "-n", &ns, "link", "add", "x0", "type", "veth", "peer", "name", "x1",
    ]);
    // While the daemon does not read, far more address notifications than its socket
    // buffer holds (at most 2 MiB), then the VIP's removal, which is lost with the rest.
    let batch: String = (0..8000u32)
        .map(|i| format!("addr add 198.19.{}.{}/32 dev x0\n", i / 250, i % 250 + 1))
        .collect();
    let file = lab.file("flood.batch", &batch);
    da.signal(Signal::SIGSTOP);
    let flood = lab.exec(a, &["ip", "-batch", &file.to_string_lossy()]);
    common::netns::sh(&["ip", "-n", &ns, "addr", "del", VIP, "dev", "eth0"]);
    da.signal(Signal::SIGCONT);
    assert!(flood.status.success(), "{flood:?}");
    let back = wait_for(Duration::from_secs(20), || {
        (lab.has(a, VIP) && restored(&lab, a) == 1).then_some(())
    });
    assert!(back.is_some(), "{}", da.logs());
    assert!(
        da.wait_log("netlink address notifications were lost"),
        "{}",
        da.logs()
    );
    assert!(
        da.wait_log("(VI_1) VIP 198.18.0.100/24 was removed from eth0 while MASTER"),
        "{}",
        da.logs()
    );
    assert_eq!(lab.vrrp_state(a, "VI_1").as_deref(), Some("MASTER"));
}

/// An interface set down takes its IPv6 addresses with it. A master that stays MASTER
/// (its interface tracked with a weight, not FAULT) puts the VIP back when the interface
/// is up again, and says why it was gone.
#[test]
fn ipv6_vip_gone_with_its_interface_comes_back_with_it() {
    let lab = Lab::new(&["a"]);
    let a = 0;
    let vip6 = "2001:db8::100/64";
    let da = lab.tandem(
        a,
        &config(
            "a",
            &Inst {
                priority: 150,
                extra: "IPV6      track_interfaces: [{ name: eth0, weight: -10 }]\n",
                ..FAST
            },
        ),
    );
    assert!(lab.wait_state(a, "VI_1", "MASTER"));
    only_holder(&lab, vip6, "a");
    let ns = lab.ns(a).to_string();
    common::netns::sh(&["ip", "-n", &ns, "link", "set", "eth0", "down"]);
    assert!(
        da.wait_log("(VI_1) VIP 2001:db8::100/64 went away with interface eth0 going down"),
        "{}",
        da.logs()
    );
    assert!(!lab.has(a, vip6));
    common::netns::sh(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
    let back = wait_for(Duration::from_secs(20), || lab.has(a, vip6).then_some(()));
    assert!(back.is_some(), "{}", da.logs());
    assert!(
        da.wait_log("(VI_1) VIP 2001:db8::100/64 added back on eth0 now that it is up"),
        "{}",
        da.logs()
    );
    assert_eq!(lab.vrrp_state(a, "VI_1").as_deref(), Some("MASTER"));
    assert_eq!(da.logs().matches("Entering MASTER STATE").count(), 1);
    assert!(!da.logs().contains("not by tandem"), "{}", da.logs());
}
