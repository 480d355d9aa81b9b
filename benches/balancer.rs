//! The balancer against haproxy 2.6 (Debian), in one run, same CPU pinning, logging off.
//!
//!   sudo apt-get install -y haproxy iperf3
//!   sudo cargo bench --bench balancer
//!
//! The balancer under test is pinned to CPU 1; the load client and the backends (one
//! tokio thread) and iperf3 to CPU 0. Measured, for haproxy and for tandem with splice
//! and with buffered relaying:
//! - throughput: iperf3 through the balancer to an iperf3 server, both directions (5 s);
//! - short connections: connect, 1 byte each way, close, from 32 concurrent workers for
//!   5 s: connections per second and the balancer's CPU time (utime + stime from
//!   /proc/PID/stat) per connection;
//! - latency: 64-byte ping-pong over one connection, 20,000 round trips: p50 and p99;
//!
//!   these two in three rounds that interleave the balancers; medians reported;
//! - memory: the balancer's RSS with 10,000 idle proxied connections (fewer when the
//!   machine's open-file hard limit cannot be raised; the count is printed).
//!
//! To iterate on one part: `BENCH_ONLY=conn` (any of `throughput,conn,latency,memory`)
//! and `BENCH_BALANCERS=haproxy,splice` (any of `haproxy,splice,buffered`); `BENCH_SECS`
//! sets the short-connection run length (default 5); `BENCH_RATE=N` opens N connections
//! per second in all (paced, spread over the 32 workers) instead of as many as the
//! balancer takes, to compare CPU per connection below saturation.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const BALANCER_CPU: &str = "1";
const LOAD_CPU: usize = 0;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn pin_self(cpu: usize) {
    // SAFETY: cpu_set_t is plain data; sched_setaffinity on this thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Raises the open-file limit as far as allowed; returns the limit in force.
fn raise_nofile() -> u64 {
    let want = libc::rlimit {
        rlim_cur: 200_000,
        rlim_max: 200_000,
    };
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with valid structs.
    unsafe {
        if libc::setrlimit(libc::RLIMIT_NOFILE, &want) != 0 {
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut cur);
            cur.rlim_cur = cur.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &cur);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut cur);
    }
    cur.rlim_cur
}

/// The load side (backends and clients) runs on one tokio thread pinned to CPU 0, so
/// the balancer, not the load generator, is what saturates.
fn load_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_start(|| pin_self(LOAD_CPU))
        .build()
        .expect("runtime")
}

/// Echo backend.
async fn echo_backend() -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut c, _)) = l.accept().await {
            let _ = c.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = c.read(&mut buf).await {
                    if n == 0 || c.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// Idle backend: accepts and holds connections; counts them.
async fn idle_backend(held: Arc<AtomicU64>) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    // A deep backlog: the balancer connects thousands at once, and SYNs dropped by a
    // full backlog would only come back after the kernel's retransmission back-off.
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    sock.bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let l = sock.listen(65535).expect("listen");
    let addr = l.local_addr().expect("addr");
    let h = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((c, _)) = l.accept().await {
            conns.push(c);
            held.store(conns.len() as u64, Ordering::Relaxed);
        }
    });
    (addr, h)
}

struct Balancer {
    name: String,
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pinned(cmd: &str) -> Command {
    let mut c = Command::new("taskset");
    c.args(["-c", BALANCER_CPU, cmd]);
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// Connections the balancers are allowed (both get the same), from the fd limit.
static MAXCONN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(20_000);

fn start_haproxy(backend: SocketAddr) -> Balancer {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let max = MAXCONN.load(Ordering::Relaxed);
    let cfg = format!(
        "global\n  maxconn {max}\n  nbthread 1\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 120s\n  timeout server 120s\nlisten l\n  bind 127.0.0.1:{port}\n  maxconn {max}\n  balance roundrobin\n  server s1 {backend}\n"
    );
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(&path, cfg).expect("write");
    let child = pinned("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .spawn()
        .expect("haproxy");
    wait_up(port);
    Balancer {
        name: "haproxy".into(),
        child,
        addr: format!("127.0.0.1:{port}").parse().expect("addr"),
        _dir: dir,
    }
}

fn start_tandem(backend: SocketAddr, relay: &str) -> Balancer {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let max = MAXCONN.load(Ordering::Relaxed);
    let cfg = format!(
        "node: bench\nlog: {{ level: warn }}\nadmin: {{ socket: off }}\nbalancer:\n  listeners:\n    - name: l\n      bind: 127.0.0.1:{port}\n      maxconn: {max}\n      relay: {relay}\n      log: false\n      timeouts: {{ client: 120s, server: 120s }}\n      servers: [{{ name: s1, address: \"{backend}\" }}]\n"
    );
    let path = dir.path().join("tandem.yaml");
    std::fs::write(&path, cfg).expect("write");
    let child = pinned(env!("CARGO_BIN_EXE_tandem"))
        .args(["run", "-c"])
        .arg(&path)
        .spawn()
        .expect("tandem");
    wait_up(port);
    Balancer {
        name: format!("tandem ({relay})"),
        child,
        addr: format!("127.0.0.1:{port}").parse().expect("addr"),
        _dir: dir,
    }
}

fn wait_up(port: u16) {
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("balancer on {port} did not come up");
}

/// (utime, stime) of a process, in microseconds.
fn cpu_split(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit(") ").next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // SAFETY: sysconf is always safe to call.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    (field(11) * 1_000_000 / hz, field(12) * 1_000_000 / hz)
}

/// utime + stime of a process, in microseconds.
fn cpu_us(pid: u32) -> u64 {
    let (u, s) = cpu_split(pid);
    u + s
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// iperf3 through the balancer; Gbit/s.
fn iperf(b: &Balancer, iperf_port: u16, reverse: bool) -> f64 {
    let mut c = Command::new("taskset");
    c.args([
        "-c",
        &LOAD_CPU.to_string(),
        "iperf3",
        "-c",
        "127.0.0.1",
        "-p",
    ])
    .arg(b.addr.port().to_string())
    .args(["-t", "5", "-J"]);
    if reverse {
        c.arg("-R");
    }
    let _ = iperf_port;
    let out = c.output().expect("iperf3");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    // A run that measured nothing is an error, never a 0 in the table.
    let bps = v["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .unwrap_or_else(|| {
            panic!(
                "iperf3 through {} gave no result ({}): {}{}",
                b.addr,
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
    bps / 1e9
}

/// Stops the benchmark at once, with the package to install, when `program` is missing
/// (a missing tool must not turn into zeros in the results).
fn require(program: &str, package: &str) {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(found, "{program} not found: apt-get install -y {package}");
}

/// Short connections for `secs`; returns (connections/s, balancer CPU µs per connection).
async fn short_connections(b_addr: SocketAddr, pid: u32, secs: u64, rate: u64) -> (f64, f64) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const WORKERS: u64 = 32;
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (u0, s0) = cpu_split(pid);
    let cpu0 = u0 + s0;
    let t0 = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (done, stop) = (done.clone(), stop.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 1];
                // With a rate, each worker opens one connection per tick (ticks of the
                // workers staggered); without, as fast as the balancer allows.
                let mut tick = (rate > 0).then(|| {
                    let period = Duration::from_nanos(WORKERS * 1_000_000_000 / rate.max(1));
                    let start = tokio::time::Instant::now() + period * (w as u32) / WORKERS as u32;
                    let mut t = tokio::time::interval_at(start, period);
                    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    t
                });
                // Bounded by time (stopped by the caller) and by count.
                for _ in 0..10_000_000u64 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if let Some(t) = tick.as_mut() {
                        t.tick().await;
                    }
                    let Ok(mut s) = tokio::net::TcpStream::connect(b_addr).await else {
                        continue;
                    };
                    let _ = s.set_nodelay(true);
                    if s.write_all(b"x").await.is_ok() && s.read_exact(&mut buf).await.is_ok() {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cpu = cpu_us(pid).saturating_sub(cpu0) as f64;
    let n = done.load(Ordering::Relaxed) as f64;
    let (u1, s1) = cpu_split(pid);
    eprintln!(
        "  {n} connections in {elapsed:.1} s; balancer CPU user {:.1} s, system {:.1} s",
        (u1 - u0) as f64 / 1e6,
        (s1 - s0) as f64 / 1e6
    );
    (n / elapsed, if n > 0.0 { cpu / n } else { 0.0 })
}

/// 64-byte ping-pong over one connection; (p50, p99) in µs.
async fn latency(b_addr: SocketAddr, rounds: usize) -> (f64, f64) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(b_addr)
        .await
        .expect("connect");
    let _ = s.set_nodelay(true);
    let msg = [7u8; 64];
    let mut buf = [0u8; 64];
    let mut v = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        if s.write_all(&msg).await.is_err() || s.read_exact(&mut buf).await.is_err() {
            break;
        }
        v.push(t.elapsed().as_secs_f64() * 1e6);
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let p = |q: f64| {
        v.get(((v.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    (p(0.50), p(0.99))
}

/// RSS (KiB) of the balancer holding `n` idle proxied connections (each one accepted by
/// the idle backend, so really proxied).
async fn idle_rss(b_addr: SocketAddr, pid: u32, name: &str, n: usize, held: &AtomicU64) -> u64 {
    let before = rss_kib(pid);
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        match tokio::net::TcpStream::connect(b_addr).await {
            Ok(s) => conns.push(s),
            Err(e) => {
                eprintln!("  {name}: stopped at {} connections: {e}", conns.len());
                break;
            }
        }
    }
    for _ in 0..2400 {
        if held.load(Ordering::Relaxed) >= conns.len() as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid);
    eprintln!(
        "  {name}: {} idle connections proxied, RSS {before} KiB before, {after} KiB with them",
        held.load(Ordering::Relaxed)
    );
    drop(conns);
    after
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn ratio(t: f64, h: f64) -> String {
    if h > 0.0 {
        format!("{:.2}", t / h)
    } else {
        "-".into()
    }
}

fn main() {
    let limit = raise_nofile();
    // The bench holds a client and a backend socket per idle connection; the balancer a
    // client and a server socket: both need 2 per connection and some spare.
    let idle_n = (limit.saturating_sub(2000) / 2).min(10_000) as usize;
    MAXCONN.store((idle_n + 500) as u64, Ordering::Relaxed);
    eprintln!("open-file limit {limit}: {idle_n} idle connections for the memory test");
    pin_self(LOAD_CPU);
    let rt = load_runtime();
    let echo = rt.block_on(echo_backend());
    require("haproxy", "haproxy");
    require("iperf3", "iperf3");
    let iperf_port = free_port();
    let mut iperf_srv = Command::new("taskset")
        .args(["-c", &LOAD_CPU.to_string(), "iperf3", "-s", "-p"])
        .arg(iperf_port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("iperf3 -s (apt-get install iperf3)");
    std::thread::sleep(Duration::from_millis(300));
    let iperf_addr: SocketAddr = format!("127.0.0.1:{iperf_port}").parse().expect("addr");

    #[derive(Default)]
    struct Row {
        name: String,
        up: f64,
        down: f64,
        rate: f64,
        cpu: f64,
        p50: f64,
        p99: f64,
        rss: u64,
    }
    type Maker = Box<dyn Fn(SocketAddr) -> Balancer>;
    let makers: Vec<(&str, Maker)> = vec![
        ("haproxy", Box::new(start_haproxy)),
        ("tandem splice", Box::new(|a| start_tandem(a, "splice"))),
        ("tandem buffered", Box::new(|a| start_tandem(a, "buffered"))),
    ];
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let phase = |p: &str| only.is_empty() || only.split(',').any(|o| o == p);
    let which = std::env::var("BENCH_BALANCERS").unwrap_or_default();
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let conn_rate: u64 = std::env::var("BENCH_RATE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let makers: Vec<_> = makers
        .into_iter()
        .filter(|(label, _)| {
            let short = label.rsplit(' ').next().unwrap_or(label);
            which.is_empty() || which.split(',').any(|w| w == short)
        })
        .collect();
    let mut rows: Vec<Row> = makers
        .iter()
        .map(|(label, _)| Row {
            name: label.to_string(),
            ..Row::default()
        })
        .collect();

    for ((label, make), row) in makers.iter().zip(rows.iter_mut()) {
        if phase("throughput") {
            eprintln!("== {label}: throughput");
            let b = make(iperf_addr);
            row.up = iperf(&b, iperf_port, false);
            row.down = iperf(&b, iperf_port, true);
        }
    }
    // Short connections and latency in interleaved rounds (haproxy, tandem, ..., again),
    // each against a fresh balancer process, so slow drifts of the machine (TIME_WAIT
    // sockets piling up, other tenants) do not favour whoever runs first; medians reported.
    const ROUNDS: usize = 3;
    let mut samples: Vec<[Vec<f64>; 4]> = makers.iter().map(|_| Default::default()).collect();
    for round in 1..=ROUNDS {
        if !phase("conn") && !phase("latency") {
            break;
        }
        for ((label, make), smp) in makers.iter().zip(samples.iter_mut()) {
            eprintln!("== {label}: round {round}/{ROUNDS}");
            let b = make(echo);
            if phase("conn") {
                let (rate, cpu) =
                    rt.block_on(short_connections(b.addr, b.child.id(), secs, conn_rate));
                smp[0].push(rate);
                smp[1].push(cpu);
            }
            if phase("latency") {
                let (p50, p99) = rt.block_on(latency(b.addr, 20_000));
                smp[2].push(p50);
                smp[3].push(p99);
            }
        }
    }
    for (row, smp) in rows.iter_mut().zip(samples) {
        let [rate, cpu, p50, p99] = smp;
        (row.rate, row.cpu, row.p50, row.p99) =
            (median(rate), median(cpu), median(p50), median(p99));
    }
    for ((label, make), row) in makers.iter().zip(rows.iter_mut()) {
        if phase("memory") {
            eprintln!("== {label}: memory");
            // A fresh idle backend per balancer.
            let held = Arc::new(AtomicU64::new(0));
            let (idle, idle_task) = rt.block_on(idle_backend(held.clone()));
            let b = make(idle);
            row.rss = rt.block_on(idle_rss(b.addr, b.child.id(), &b.name, idle_n, &held));
            drop(b);
            idle_task.abort();
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    let _ = iperf_srv.kill();
    let _ = iperf_srv.wait();

    println!("balancer vs haproxy (balancer pinned to CPU {BALANCER_CPU}, load on CPU {LOAD_CPU})");
    println!(
        "{:<18} {:>10} {:>10} {:>10} {:>12} {:>9} {:>9} {:>11}",
        "", "up Gbit/s", "down Gb/s", "conn/s", "CPU us/conn", "p50 us", "p99 us", "RSS KiB"
    );
    println!("(RSS with {idle_n} idle proxied connections)");
    for r in &rows {
        println!(
            "{:<18} {:>10.2} {:>10.2} {:>10.0} {:>12.1} {:>9.1} {:>9.1} {:>11}",
            r.name, r.up, r.down, r.rate, r.cpu, r.p50, r.p99, r.rss
        );
    }
    let h = &rows[0];
    for r in &rows[1..] {
        println!(
            "ratio {}/haproxy: throughput up {} down {}, conn/s {}, CPU/conn {}, p50 {}, p99 {}, RSS {}",
            r.name,
            ratio(r.up, h.up),
            ratio(r.down, h.down),
            ratio(r.rate, h.rate),
            ratio(r.cpu, h.cpu),
            ratio(r.p50, h.p50),
            ratio(r.p99, h.p99),
            ratio(r.rss as f64, h.rss as f64)
        );
    }
}
