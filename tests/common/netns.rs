//! A lab of network namespaces on one machine: a bridge namespace and one namespace per
//! node, each with `eth0` on the bridge and an address in 198.18.0.0/24 (IPv6: link-local
//! plus 2001:db8::N/64). Names are unique per test; everything is removed on drop, even
//! when the test fails.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::{Daemon, tandem_bin, wait_for};

static SEQ: AtomicU32 = AtomicU32::new(0);

pub struct Node {
    pub label: String,
    pub ns: String,
    pub ip: Ipv4Addr,
    pub ip6: Ipv6Addr,
    pub mac: String,
}

pub struct Lab {
    pub bridge: String,
    pub nodes: Vec<Node>,
    pub dir: tempfile::TempDir,
}

fn run(args: &[&str]) -> Output {
    Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Runs a command that must succeed.
pub fn sh(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Lab {
    /// Nodes named after `labels`, with addresses 198.18.0.1, .2, ... in that order.
    pub fn new(labels: &[&str]) -> Lab {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("td{}x{n}", std::process::id());
        let bridge = format!("{prefix}-br");
        let mut lab = Lab {
            bridge: bridge.clone(),
            nodes: Vec::new(),
            dir: tempfile::tempdir().expect("tempdir"),
        };
        // From here on, Drop cleans up whatever was made.
        sh(&["ip", "netns", "add", &bridge]);
        sh(&[
            "ip",
            "-n",
            &bridge,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        sh(&["ip", "-n", &bridge, "link", "set", "br0", "up"]);
        for (i, label) in labels.iter().enumerate() {
            let ns = format!("{prefix}-{label}");
            sh(&["ip", "netns", "add", &ns]);
            lab.nodes.push(Node {
                label: label.to_string(),
                ns: ns.clone(),
                ip: Ipv4Addr::new(198, 18, 0, i as u8 + 1),
                ip6: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16 + 1),
                mac: String::new(),
            });
            for k in ["all", "default"] {
                sh(&[
                    "ip",
                    "netns",
                    "exec",
                    &ns,
                    "sysctl",
                    "-qw",
                    &format!("net.ipv6.conf.{k}.accept_dad=0"),
                ]);
            }
            let veth = format!("v{i}");
            sh(&[
                "ip", "-n", &bridge, "link", "add", &veth, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ]);
            sh(&[
                "ip", "-n", &bridge, "link", "set", &veth, "master", "br0", "up",
            ]);
            sh(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
            sh(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("198.18.0.{}/24", i + 1),
                "dev",
                "eth0",
            ]);
            sh(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("2001:db8::{}/64", i + 1),
                "dev",
                "eth0",
                "nodad",
            ]);
            sh(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
            let mac = lab.link_json(i)["address"]
                .as_str()
                .unwrap_or("")
                .to_string();
            lab.nodes[i].mac = mac;
        }
        // Link-local addresses come up with the link (DAD is off).
        for i in 0..lab.nodes.len() {
            let ok = wait_for(Duration::from_secs(10), || lab.link_local(i));
            assert!(ok.is_some(), "no link-local address on {}", lab.nodes[i].ns);
        }
        lab
    }

    /// Deletes node `i`'s eth0 (and its bridge end), then makes it again under the same
    /// name, with its IPv4 address when `with_address`: the kernel gives it a new ifindex.
    pub fn recreate_eth0(&self, i: usize, with_address: bool) {
        let ns = self.ns(i).to_string();
        let veth = format!("v{i}");
        sh(&["ip", "-n", &ns, "link", "del", "eth0"]);
        std::thread::sleep(Duration::from_millis(500));
        sh(&[
            "ip",
            "-n",
            &self.bridge,
            "link",
            "add",
            &veth,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &ns,
        ]);
        sh(&[
            "ip",
            "-n",
            &self.bridge,
            "link",
            "set",
            &veth,
            "master",
            "br0",
            "up",
        ]);
        if with_address {
            sh(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("198.18.0.{}/24", i + 1),
                "dev",
                "eth0",
            ]);
        }
        sh(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
    }

    pub fn node(&self, label: &str) -> usize {
        self.nodes
            .iter()
            .position(|n| n.label == label)
            .unwrap_or_else(|| panic!("no node {label}"))
    }

    pub fn ns(&self, i: usize) -> &str {
        &self.nodes[i].ns
    }

    fn link_json(&self, i: usize) -> Value {
        let out = sh(&["ip", "-n", self.ns(i), "-j", "link", "show", "dev", "eth0"]);
        let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
        v[0].clone()
    }

    /// Addresses on eth0 of node `i`, as "addr/prefix".
    pub fn addrs(&self, i: usize) -> Vec<String> {
        let out = sh(&["ip", "-n", self.ns(i), "-j", "addr", "show", "dev", "eth0"]);
        let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
        v[0]["addr_info"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| format!("{}/{}", a["local"].as_str().unwrap_or(""), a["prefixlen"]))
            .collect()
    }

    /// The full `ip -j addr` entry for `addr` on node `i`, if present.
    pub fn addr_entry(&self, i: usize, addr: &str) -> Option<Value> {
        let out = sh(&["ip", "-n", self.ns(i), "-j", "addr", "show", "dev", "eth0"]);
        let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
        v[0]["addr_info"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["local"].as_str() == Some(addr))
            .cloned()
    }

    pub fn has(&self, i: usize, cidr: &str) -> bool {
        self.addrs(i).iter().any(|a| a == cidr)
    }

    pub fn link_local(&self, i: usize) -> Option<Ipv6Addr> {
        self.addrs(i).iter().find_map(|a| {
            let ip: Ipv6Addr = a.split('/').next()?.parse().ok()?;
            (ip.segments()[0] == 0xfe80).then_some(ip)
        })
    }

    /// Which nodes hold `cidr` now.
    pub fn holders(&self, cidr: &str) -> Vec<String> {
        (0..self.nodes.len())
            .filter(|i| self.has(*i, cidr))
            .map(|i| self.nodes[i].label.clone())
            .collect()
    }

    /// Runs a command inside node `i`'s namespace.
    pub fn exec(&self, i: usize, args: &[&str]) -> Output {
        let mut full = vec!["ip", "netns", "exec", self.ns(i)];
        full.extend_from_slice(args);
        run(&full)
    }

    /// Writes a file in the lab's temp dir.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write lab file");
        p
    }

    /// Starts `tandem run -c <label>.yaml` in node `i` (rewrite that file and send
    /// SIGHUP to reload).
    pub fn tandem(&self, i: usize, config: &str) -> Daemon {
        let label = self.nodes[i].label.clone();
        self.tandem_file(i, &format!("{label}.yaml"), config)
    }

    /// Starts `tandem run` in node `i` with the config in file `name`.
    pub fn tandem_file(&self, i: usize, name: &str, config: &str) -> Daemon {
        let path = self.file(name, config);
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", self.ns(i)])
            .arg(tandem_bin())
            .args(["run", "-c"])
            .arg(&path);
        Daemon::spawn(cmd)
    }

    /// `tandem status --json` of the daemon in node `i` (observe on 127.0.0.1:9188).
    pub fn status(&self, i: usize) -> Option<Value> {
        let out = self.exec(
            i,
            &[
                &tandem_bin().to_string_lossy(),
                "status",
                "--json",
                "--addr",
                "127.0.0.1:9188",
            ],
        );
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    /// The state of VRRP instance `inst` on node `i`, per its daemon.
    pub fn vrrp_state(&self, i: usize, inst: &str) -> Option<String> {
        let v = self.status(i)?;
        v["subsystems"]["vrrp"]["instances"]
            .as_array()?
            .iter()
            .find(|x| x["name"] == inst)
            .and_then(|x| x["state"].as_str().map(str::to_string))
    }

    /// Waits until node `i`'s instance is in `state`.
    pub fn wait_state(&self, i: usize, inst: &str, state: &str) -> bool {
        wait_for(Duration::from_secs(30), || {
            (self.vrrp_state(i, inst).as_deref() == Some(state)).then_some(())
        })
        .is_some()
    }

    /// Runs `f` on a thread that has entered node `i`'s network namespace.
    pub fn in_ns<T: Send + 'static>(&self, i: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.ns(i));
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path).expect("open netns");
            nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
        .join()
        .expect("netns thread")
    }

    /// The neighbour entry (MAC) node `i` has for `ip`, if any.
    pub fn neighbour(&self, i: usize, ip: &str) -> Option<String> {
        let out = sh(&["ip", "-n", self.ns(i), "-j", "neigh", "show", ip]);
        let v: Value = serde_json::from_str(&out).ok()?;
        v.as_array()?
            .iter()
            .find(|e| e["dst"] == ip)
            .and_then(|e| e["lladdr"].as_str().map(str::to_string))
    }

    /// Makes node `i` resolve `ip` (a TCP connect attempt; refused is fine).
    pub fn touch(&self, i: usize, ip: IpAddr) {
        self.in_ns(i, move || {
            let _ = std::net::TcpStream::connect_timeout(
                &std::net::SocketAddr::new(ip, 9),
                Duration::from_millis(500),
            );
        });
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for n in self
            .nodes
            .iter()
            .map(|n| n.ns.clone())
            .chain([self.bridge.clone()])
        {
            // Kill anything still running inside, then remove the namespace.
            let pids = run(&["ip", "netns", "pids", &n]);
            for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
                let _ = run(&["kill", "-9", pid]);
            }
            let _ = run(&["ip", "netns", "del", &n]);
        }
    }
}

/// Captures Ethernet frames on node `i`'s eth0 (AF_PACKET) until `stop` is called.
pub struct Sniffer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<super::pcap::Frame>>>,
}

impl Sniffer {
    pub fn start(lab: &Lab, i: usize) -> Sniffer {
        let path = format!("/run/netns/{}", lab.ns(i));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let file = std::fs::File::open(&path).expect("open netns");
            nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let sock = socket2::Socket::new(
                socket2::Domain::PACKET,
                socket2::Type::RAW,
                Some(socket2::Protocol::from(i32::from(
                    (libc::ETH_P_ALL as u16).to_be(),
                ))),
            )
            .expect("packet socket");
            sock.set_read_timeout(Some(Duration::from_millis(50)))
                .expect("timeout");
            let _ = ready_tx.send(());
            let mut frames = Vec::new();
            let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
            let start = std::time::Instant::now();
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                if let Ok(n) = sock.recv(&mut buf) {
                    // SAFETY: recv initialised the first n bytes.
                    let data: Vec<u8> = buf[..n]
                        .iter()
                        .map(|b| unsafe { b.assume_init() })
                        .collect();
                    frames.push(super::pcap::Frame {
                        time: start.elapsed().as_secs_f64(),
                        data,
                    });
                }
            }
            frames
        });
        let _ = ready_rx.recv_timeout(Duration::from_secs(5));
        Sniffer {
            stop,
            thread: Some(thread),
        }
    }

    pub fn stop(mut self) -> Vec<super::pcap::Frame> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Sniffer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}
