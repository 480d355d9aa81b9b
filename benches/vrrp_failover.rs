//! Failover drill, tandem vs keepalived, in one run (needs root: network namespaces).
//!
//!   sudo cargo bench --bench vrrp_failover [-- RUNS]
//!
//! Two boxes and a client on a bridge (198.18.0.0/24). Each box runs a TCP service on
//! port 7000 and the VRRP daemon under test (box a priority 150, box b 100, VIP
//! 198.18.0.100). A prober in the client namespace connects to VIP:7000 every 10ms. Then
//! box a dies (its daemon is killed with SIGKILL, its service stops and its link goes
//! down) and we measure the client-visible outage: from the fault to the first
//! successful connection. Settings are identical for both daemons: VRRPv2 with 1s
//! adverts, and VRRPv3 with 100ms adverts.

#[path = "../tests/common/mod.rs"]
mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::netns::Lab;
use common::{Daemon, wait_for};

const VIP: &str = "198.18.0.100";

#[derive(Clone, Copy)]
enum Impl {
    Tandem,
    Keepalived,
}

impl Impl {
    fn name(self) -> &'static str {
        match self {
            Impl::Tandem => "tandem",
            Impl::Keepalived => "keepalived",
        }
    }
}

fn enter(ns: &str) {
    let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("netns");
    nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
}

/// An accept-and-close TCP service on 0.0.0.0:7000 in a namespace.
fn service(ns: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        enter(&ns);
        let l = TcpListener::bind("0.0.0.0:7000").expect("bind service");
        l.set_nonblocking(true).expect("nonblocking");
        while !stop.load(Ordering::SeqCst) {
            match l.accept() {
                Ok((s, _)) => drop(s),
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    })
}

/// Connects every 10ms until stopped; returns (start of attempt, success).
fn prober(ns: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<(Instant, bool)>> {
    std::thread::spawn(move || {
        enter(&ns);
        let addr: SocketAddr = format!("{VIP}:7000").parse().expect("addr");
        let mut out = Vec::new();
        // Bounded: at most 60s of probing.
        let limit = Instant::now() + Duration::from_secs(60);
        while !stop.load(Ordering::SeqCst) && Instant::now() < limit {
            let t = Instant::now();
            let ok = TcpStream::connect_timeout(&addr, Duration::from_millis(20)).is_ok();
            out.push((t, ok));
            let next = t + Duration::from_millis(10);
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
        }
        out
    })
}

fn tandem_conf(node: &str, prio: u8, v3: bool) -> String {
    format!(
        "node: {node}
log: {{ level: warn }}
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      priority: {prio}
      version: {}
      advert_int: {}
      virtual_ipaddresses: [\"{VIP}/24\"]
      garp: {{ master_delay: 5s, master_repeat: 5 }}
",
        if v3 { 3 } else { 2 },
        if v3 { "100ms" } else { "1s" }
    )
}

fn keepalived_conf(node: &str, prio: u8, v3: bool) -> String {
    format!(
        "global_defs {{
    router_id {node}
    vrrp_version {}
    vrrp_garp_master_delay 5
    vrrp_garp_master_repeat 5
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {prio}
    advert_int {}
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
",
        if v3 { 3 } else { 2 },
        if v3 { "0.1" } else { "1" }
    )
}

fn start(lab: &Lab, i: usize, which: Impl, prio: u8, v3: bool) -> Daemon {
    let label = lab.nodes[i].label.clone();
    match which {
        Impl::Tandem => lab.tandem(i, &tandem_conf(&label, prio, v3)),
        Impl::Keepalived => {
            let dir = lab.dir.path();
            let f = lab.file(&format!("{label}.conf"), &keepalived_conf(&label, prio, v3));
            let mut cmd = Command::new("ip");
            cmd.args([
                "netns",
                "exec",
                lab.ns(i),
                "keepalived",
                "-n",
                "-l",
                "-P",
                "-f",
            ])
            .arg(&f)
            .arg("-p")
            .arg(dir.join(format!("{label}.pid")))
            .arg("-r")
            .arg(dir.join(format!("{label}-vrrp.pid")));
            Daemon::spawn(cmd)
        }
    }
}

/// One drill; returns the outage, or None when the service never came back.
fn drill(which: Impl, v3: bool) -> Option<Duration> {
    let lab = Lab::new(&["a", "b", "client"]);
    let stop_a = Arc::new(AtomicBool::new(false));
    let stop_b = Arc::new(AtomicBool::new(false));
    let svc_a = service(lab.ns(0).to_string(), stop_a.clone());
    let svc_b = service(lab.ns(1).to_string(), stop_b.clone());
    let _da = start(&lab, 0, which, 150, v3);
    let _db = start(&lab, 1, which, 100, v3);
    let cidr = format!("{VIP}/24");
    wait_for(Duration::from_secs(30), || {
        (lab.holders(&cidr) == vec!["a".to_string()]).then_some(())
    })?;
    std::thread::sleep(Duration::from_secs(1));
    let stop_probe = Arc::new(AtomicBool::new(false));
    let probe = prober(lab.ns(2).to_string(), stop_probe.clone());
    std::thread::sleep(Duration::from_millis(500));

    // Box a dies: its link goes first (nothing reaches it from then on), then its
    // processes. The outage is counted from the moment the link is down.
    let _ = Command::new("ip")
        .args(["-n", lab.ns(0), "link", "set", "eth0", "down"])
        .status();
    let fault = Instant::now();
    let pids = Command::new("ip")
        .args(["netns", "pids", lab.ns(0)])
        .output()
        .ok()?;
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        if let Ok(p) = pid.parse::<i32>() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    stop_a.store(true, Ordering::SeqCst);

    // Until the client gets through again (bounded), then a little more.
    let back = wait_for(Duration::from_secs(30), || lab.has(1, &cidr).then_some(()));
    std::thread::sleep(Duration::from_millis(if back.is_some() { 1500 } else { 0 }));
    stop_probe.store(true, Ordering::SeqCst);
    let samples = probe.join().ok()?;
    stop_b.store(true, Ordering::SeqCst);
    let _ = svc_a.join();
    let _ = svc_b.join();
    let before_ok = samples.iter().filter(|(t, ok)| *t < fault && *ok).count();
    if before_ok == 0 {
        return None;
    }
    samples
        .iter()
        .find(|(t, ok)| *t >= fault && *ok)
        .map(|(t, _)| t.duration_since(fault))
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(11);
    println!(
        "VRRP failover drill: client-visible outage after the master box dies ({runs} runs each)"
    );
    println!("{:<28} {:>10} {:>10} {:>10}", "", "median", "min", "max");
    for (v3, label) in [
        (false, "VRRPv2, advert_int 1s"),
        (true, "VRRPv3, advert_int 100ms"),
    ] {
        let mut medians = Vec::new();
        for which in [Impl::Tandem, Impl::Keepalived] {
            let mut outages = Vec::new();
            for _ in 0..runs {
                match drill(which, v3) {
                    Some(d) => outages.push(d),
                    None => println!("  {} {label}: a run did not recover", which.name()),
                }
            }
            if outages.is_empty() {
                continue;
            }
            let med = median(&mut outages);
            let all: Vec<String> = outages
                .iter()
                .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
                .collect();
            println!("  {} {label} runs (ms): {}", which.name(), all.join(" "));
            println!(
                "{:<28} {:>9.0}ms {:>9.0}ms {:>9.0}ms",
                format!("{} {label}", which.name()),
                med.as_secs_f64() * 1000.0,
                outages[0].as_secs_f64() * 1000.0,
                outages[outages.len() - 1].as_secs_f64() * 1000.0
            );
            medians.push(med);
        }
        if let [t, k] = medians[..] {
            println!(
                "  ratio tandem/keepalived ({label}): {:.2}",
                t.as_secs_f64() / k.as_secs_f64()
            );
        }
    }
}
