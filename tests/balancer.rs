//! The balancer on loopback against small backends written here.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use common::backend::{Backend, Behavior, connect_from, first_line, read_line};
use common::{Daemon, free_port, http_get, tandem, wait_for, write};
use nix::sys::signal::Signal;

struct Lb {
    daemon: Daemon,
    pub addr: SocketAddr,
    observe: SocketAddr,
    pub socket: PathBuf,
    pub config: PathBuf,
    _dir: tempfile::TempDir,
}

/// A daemon with one listener `l` on a free port; `listener_extra` and `servers` are
/// YAML fragments of the listener.
fn lb(listener_extra: &str, servers: &[String]) -> Lb {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let oport = free_port();
    let socket = dir.path().join("admin.sock");
    let cfg = config_text(port, oport, &socket, listener_extra, servers);
    let config = write(dir.path(), "tandem.yaml", &cfg);
    let daemon = Daemon::start(&config);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let observe: SocketAddr = format!("127.0.0.1:{oport}").parse().expect("addr");
    // The observe port opens before the listeners are bound; the "started" line is
    // logged once every subsystem is up.
    assert!(
        wait_for(Duration::from_secs(20), || TcpStream::connect(observe).ok()).is_some()
            && daemon.wait_log("started on lb"),
        "daemon up: {}",
        daemon.logs()
    );
    Lb {
        daemon,
        addr,
        observe,
        socket,
        config,
        _dir: dir,
    }
}

fn config_text(
    port: u16,
    oport: u16,
    socket: &std::path::Path,
    extra: &str,
    servers: &[String],
) -> String {
    format!(
        "node: lb
log: {{ level: debug }}
observe: {{ listen: 127.0.0.1:{oport} }}
admin: {{ socket: {} }}
balancer:
  listeners:
    - name: l
      bind: 127.0.0.1:{port}
{extra}      servers:
{}",
        socket.display(),
        servers.join("")
    )
}

fn server(name: &str, b: &Backend, extra: &str) -> String {
    format!(
        "        - {{ name: {name}, address: \"{}\"{extra} }}\n",
        b.addr
    )
}

impl Lb {
    fn admin(&self, cmd: &[&str]) -> String {
        let mut args = vec!["admin", "--socket"];
        let s = self.socket.to_string_lossy().to_string();
        args.push(&s);
        args.extend_from_slice(cmd);
        let (code, out, err) = tandem(&args);
        assert_eq!(code, 0, "{out}{err}");
        out
    }

    fn status(&self) -> serde_json::Value {
        let (_, body) = http_get(self.observe, "/status").expect("status");
        serde_json::from_str(&body).expect("json")
    }

    fn metric(&self, prefix: &str) -> f64 {
        let (_, body) = http_get(self.observe, "/metrics").expect("metrics");
        body.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    fn reload(&self, text: &str) {
        std::fs::write(&self.config, text).expect("write config");
        self.daemon.signal(Signal::SIGHUP);
    }

    /// Waits until the daemon logged that its `n`-th reload took effect.
    fn reloaded_times(&self, n: usize) {
        assert!(
            wait_for(Duration::from_secs(20), || {
                (self.daemon.logs().matches("config reloaded").count() >= n).then_some(())
            })
            .is_some(),
            "{}",
            self.daemon.logs()
        );
    }

    /// Waits until the daemon logged that a reload took effect.
    fn reloaded(&self) {
        assert!(
            self.daemon.wait_log("config reloaded"),
            "{}",
            self.daemon.logs()
        );
    }
}

fn counts(lb: &Lb, n: usize) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for _ in 0..n {
        let name = first_line(lb.addr, None).expect("connect through the balancer");
        *m.entry(name).or_insert(0) += 1;
    }
    m
}

#[test]
fn roundrobin_weights_are_exact() {
    let (a, b, c) = (
        Backend::start("a", Behavior::Name),
        Backend::start("b", Behavior::Name),
        Backend::start("c", Behavior::Name),
    );
    let lb = lb(
        "      balance: roundrobin\n",
        &[
            server("a", &a, ", weight: 1"),
            server("b", &b, ", weight: 2"),
            server("c", &c, ", weight: 3"),
        ],
    );
    let m = counts(&lb, 600);
    assert_eq!((m["a"], m["b"], m["c"]), (100, 200, 300), "{m:?}");
    // static-rr too.
    lb.reload(
        &std::fs::read_to_string(&lb.config)
            .expect("cfg")
            .replace("roundrobin", "static-rr"),
    );
    assert!(lb.daemon.wait_log("config reloaded"));
    let m = counts(&lb, 600);
    assert_eq!((m["a"], m["b"], m["c"]), (100, 200, 300), "{m:?}");
}

/// A server written as `host:port` (haproxy configs often name their servers) is
/// resolved when the configuration is loaded and takes traffic like an address.
#[test]
fn server_given_by_host_name() {
    let a = Backend::start("a", Behavior::Name);
    let lb = lb(
        "",
        &[format!(
            "        - {{ name: named, address: \"localhost:{}\" }}\n",
            a.addr.port()
        )],
    );
    assert_eq!(
        first_line(lb.addr, None).expect("through the balancer"),
        "a"
    );
    assert_eq!(stat_col(&lb, "named", "addr"), a.addr.to_string());
}

#[test]
fn source_affinity_is_the_same_on_two_boxes_and_after_restart() {
    let bs: Vec<Backend> = ["r1", "r2", "r3"]
        .iter()
        .map(|n| Backend::start(n, Behavior::Name))
        .collect();
    let servers: Vec<String> = bs.iter().map(|b| server(&b.name, b, "")).collect();
    let lb1 = lb("      balance: source\n", &servers);
    let lb2 = lb("      balance: source\n", &servers);
    let clients: Vec<String> = (2..60).map(|i| format!("127.0.0.{i}")).collect();
    let map1: Vec<String> = clients
        .iter()
        .map(|c| first_line(lb1.addr, Some(c)).expect("c"))
        .collect();
    let map2: Vec<String> = clients
        .iter()
        .map(|c| first_line(lb2.addr, Some(c)).expect("c"))
        .collect();
    assert_eq!(map1, map2, "both boxes send each client to the same server");
    assert!(
        ["r1", "r2", "r3"]
            .iter()
            .all(|n| map1.iter().any(|m| m == n)),
        "{map1:?}"
    );
    // Repeated connections stick.
    for (c, m) in clients.iter().zip(&map1).take(10) {
        assert_eq!(&first_line(lb1.addr, Some(c)).expect("c"), m);
    }
    // A restart keeps it.
    drop(lb2);
    let lb3 = lb("      balance: source\n", &servers);
    let map3: Vec<String> = clients
        .iter()
        .map(|c| first_line(lb3.addr, Some(c)).expect("c"))
        .collect();
    assert_eq!(map1, map3);
    // r2 goes away (maintenance): only its clients move.
    lb1.admin(&["set", "server", "l/r2", "state", "maint"]);
    let after: Vec<String> = clients
        .iter()
        .map(|c| first_line(lb1.addr, Some(c)).expect("c"))
        .collect();
    for (i, (b, a)) in map1.iter().zip(&after).enumerate() {
        if b == "r2" {
            assert_ne!(a, "r2", "client {i}");
        } else {
            assert_eq!(a, b, "client {i} moved though its server is up");
        }
    }
}

#[test]
fn haproxy_compatible_source_hash() {
    let bs: Vec<Backend> = ["s1", "s2", "s3"]
        .iter()
        .map(|n| Backend::start(n, Behavior::Name))
        .collect();
    let servers: Vec<String> = bs
        .iter()
        .zip([1, 2, 3])
        .map(|(b, w)| server(&b.name, b, &format!(", weight: {w}")))
        .collect();
    let lb = lb(
        "      balance: source\n      source_compat: haproxy\n",
        &servers,
    );
    // The map for weights 1,2,3 is s1 s3 s2 s3 s2 s3; 127.0.0.x hashes to 0x7f00000x.
    let map = ["s1", "s3", "s2", "s3", "s2", "s3"];
    for x in 1..20u32 {
        let ip = format!("127.0.0.{x}");
        let h = 0x7f00_0000u32 + x;
        let want = map[(h % 6) as usize];
        assert_eq!(first_line(lb.addr, Some(&ip)).expect("c"), want, "{ip}");
    }
}

#[test]
fn leastconn_balances_long_lived_connections() {
    let (a, b) = (
        Backend::start("a", Behavior::Name),
        Backend::start("b", Behavior::Name),
    );
    let lb = lb(
        "      balance: leastconn\n",
        &[server("a", &a, ""), server("b", &b, "")],
    );
    let mut held: Vec<(String, TcpStream)> = Vec::new();
    for _ in 0..6 {
        let s = connect_from(lb.addr, None).expect("c");
        let n = read_line(&s).expect("line");
        held.push((n, s));
    }
    let on = |h: &[(String, TcpStream)], n: &str| h.iter().filter(|(x, _)| x == n).count();
    assert_eq!((on(&held, "a"), on(&held, "b")), (3, 3));
    // Two of a's connections end: the next two new ones go to a.
    let mut dropped = 0;
    held.retain(|(n, _)| {
        if n == "a" && dropped < 2 {
            dropped += 1;
            false
        } else {
            true
        }
    });
    let gone = wait_for(Duration::from_secs(10), || {
        let st = lb.status();
        (st["subsystems"]["balancer"]["listeners"][0]["active"] == 4).then_some(())
    });
    assert!(gone.is_some());
    for _ in 0..2 {
        let s = connect_from(lb.addr, None).expect("c");
        assert_eq!(read_line(&s).expect("line"), "a");
        held.push(("a".into(), s));
    }
    assert_eq!((on(&held, "a"), on(&held, "b")), (3, 3));
}

/// The haproxy-compatible source hash against Debian's haproxy itself: same servers, same
/// weights, same client addresses, same choices.
#[test]
fn source_compat_matches_real_haproxy() {
    let bs: Vec<Backend> = ["s1", "s2", "s3"]
        .iter()
        .map(|n| Backend::start(n, Behavior::Name))
        .collect();
    let weights = [1, 2, 3];
    let servers: Vec<String> = bs
        .iter()
        .zip(weights)
        .map(|(b, w)| server(&b.name, b, &format!(", weight: {w}")))
        .collect();
    let ours = lb(
        "      balance: source\n      source_compat: haproxy\n",
        &servers,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let hport = free_port();
    let mut cfg = format!(
        "global\n  maxconn 100\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\nlisten l\n  bind 127.0.0.1:{hport}\n  balance source\n"
    );
    for (b, w) in bs.iter().zip(weights) {
        cfg.push_str(&format!("  server {} {} weight {w}\n", b.name, b.addr));
    }
    let path = write(dir.path(), "haproxy.cfg", &cfg);
    let mut cmd = std::process::Command::new("haproxy");
    cmd.arg("-db").arg("-f").arg(&path);
    let _haproxy = Daemon::spawn(cmd);
    let haddr: SocketAddr = format!("127.0.0.1:{hport}").parse().expect("addr");
    assert!(
        wait_for(Duration::from_secs(20), || TcpStream::connect(haddr).ok()).is_some(),
        "haproxy started"
    );
    for x in [1u32, 2, 3, 7, 10, 33, 77, 100, 128, 200, 254] {
        for y in [0u32, 1, 9] {
            let ip = format!("127.0.{y}.{x}");
            let theirs = first_line(haddr, Some(&ip)).expect("haproxy");
            let mine = first_line(ours.addr, Some(&ip)).expect("tandem");
            assert_eq!(mine, theirs, "client {ip}");
        }
    }
}

#[test]
fn health_checks_mark_down_and_up_and_backups_take_over() {
    let a = Backend::start("a", Behavior::Name);
    let mut b = Backend::start("b", Behavior::Name);
    let bk = Backend::start("bk", Behavior::Name);
    let b_addr = b.addr;
    let lb = lb(
        "      check: { type: tcp, inter: 100ms, rise: 2, fall: 3 }\n",
        &[
            server("a", &a, ""),
            server("b", &b, ""),
            server("bk", &bk, ", backup: true"),
        ],
    );
    let m = counts(&lb, 20);
    assert_eq!(
        (m.get("a"), m.get("b"), m.get("bk")),
        (Some(&10), Some(&10), None),
        "{m:?}"
    );
    // Let the first checks run (a failure before any success takes a server down at once).
    let checked = wait_for(Duration::from_secs(10), || {
        let st = lb.status();
        let srv = &st["subsystems"]["balancer"]["listeners"][0]["servers"][1];
        (srv["last_check"] == "succeeded").then_some(())
    });
    assert!(checked.is_some());
    b.stop();
    assert!(
        lb.daemon
            .wait_log("server l/b is DOWN (check: connection refused, 3/3)"),
        "{}",
        lb.daemon.logs()
    );
    let m = counts(&lb, 10);
    assert_eq!(m.get("a"), Some(&10), "no new connections to b: {m:?}");
    assert_eq!(
        lb.metric("tandem_balancer_server_up{listener=\"l\",server=\"b\"}"),
        0.0
    );
    // Counted as show stat counts them: the 3 failures that took b down (none after),
    // one transition per DOWN/UP line.
    let b_series = "listener=\"l\",server=\"b\"";
    assert_eq!(
        lb.metric(&format!(
            "tandem_balancer_check_failures_total{{{b_series}}}"
        )),
        3.0
    );
    assert_eq!(stat_col(&lb, "b", "chkfail"), "3");
    assert_eq!(
        lb.metric(&format!(
            "tandem_balancer_server_transitions_total{{{b_series},to=\"down\"}}"
        )),
        1.0
    );
    // b comes back on the same port.
    let _b2 = Backend::start_on(&b_addr.to_string(), "b", Behavior::Name);
    assert!(
        lb.daemon
            .wait_log("server l/b is UP (check: succeeded, 2/2)"),
        "{}",
        lb.daemon.logs()
    );
    assert_eq!(
        lb.metric(&format!(
            "tandem_balancer_server_transitions_total{{{b_series},to=\"up\"}}"
        )),
        1.0,
        "the first successful check of a server that starts up is no transition"
    );
    assert_eq!(
        lb.metric(&format!(
            "tandem_balancer_check_failures_total{{{b_series}}}"
        )),
        3.0
    );
    let m = counts(&lb, 10);
    assert_eq!(m.get("b"), Some(&5), "{m:?}");
    // Every active server in maintenance: the backup serves.
    lb.admin(&["set", "server", "l/a", "state", "maint"]);
    lb.admin(&["set", "server", "l/b", "state", "maint"]);
    let m = counts(&lb, 5);
    assert_eq!(m.get("bk"), Some(&5), "{m:?}");
    lb.admin(&["set", "server", "l/a", "state", "ready"]);
    let m = counts(&lb, 5);
    assert_eq!(m.get("a"), Some(&5), "{m:?}");
}

/// With a hash (`balance: source`), haproxy 2.6 retries on the same server and
/// redispatches on the last retry only (other algorithms move on every retry while more
/// than one active server is usable: `redispatch_visits_servers_in_haproxys_order`).
#[test]
fn retries_then_redispatch() {
    let dead = Backend::start("dead", Behavior::Name);
    let dead_addr = dead.addr;
    drop(dead); // refuses connections now
    let good = Backend::start("good", Behavior::Name);
    let lb = lb(
        "      balance: source\n      retries: 2\n      redispatch: true\n      timeouts: { connect: 200ms }\n",
        &[
            // (`refusing` is the one tandem's source hash picks for 127.0.0.1.)
            format!("        - {{ name: refusing, address: \"{dead_addr}\" }}\n"),
            server("good", &good, ""),
        ],
    );
    // (The pause before each retry of a refused connect is `retry_delay`'s unit test.)
    assert_eq!(first_line(lb.addr, None).expect("c"), "good");
    assert!(lb.daemon.wait_log(" l l/good "), "{}", lb.daemon.logs());
    assert!(
        lb.daemon.logs().contains("/+2 0/0"),
        "retries shown as +2 (redispatched): {}",
        lb.daemon.logs()
    );
    assert_eq!(
        lb.metric("tandem_balancer_redispatches_total{listener=\"l\"}"),
        1.0
    );
    // As haproxy: the retry that moved counts as a redispatch, the other as a retry.
    assert_eq!(
        lb.metric("tandem_balancer_retries_total{listener=\"l\"}"),
        1.0
    );
    // Without redispatch the client is refused after the retries (SC).
    lb.reload(
        &std::fs::read_to_string(&lb.config)
            .expect("cfg")
            .replace("redispatch: true", "redispatch: false"),
    );
    assert!(lb.daemon.wait_log("config reloaded"));
    let r = first_line(lb.addr, None).unwrap_or_default();
    assert_eq!(r, "", "closed without a server");
    assert!(lb.daemon.wait_log(" l l/refusing "), "{}", lb.daemon.logs());
    assert!(lb.daemon.logs().contains(" SC "), "{}", lb.daemon.logs());
    // econ: the one session that could not connect (its three attempts are one error).
    assert_eq!(stat_col(&lb, "refusing", "econ"), "1");
}

/// A listener whose accept queue is full and never drained: SYNs to it go unanswered.
fn blackhole() -> (std::net::TcpListener, Vec<TcpStream>, SocketAddr) {
    let s =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let a: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    s.bind(&a.into()).expect("bind");
    s.listen(0).expect("listen");
    let l: std::net::TcpListener = s.into();
    let addr = l.local_addr().expect("addr");
    let mut fill: Vec<TcpStream> = Vec::new();
    for i in 0..4 {
        let c =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("s");
        c.set_nonblocking(true).expect("nb");
        let _ = c.connect(&addr.into());
        let c: TcpStream = c.into();
        if i == 0 {
            // The first one takes the queue's only place: wait until it is established,
            // so the queue is surely full before anything else connects.
            let up = wait_for(Duration::from_secs(10), || c.peer_addr().ok());
            assert!(up.is_some(), "the filling connection never completed");
        }
        fill.push(c);
    }
    (l, fill, addr)
}

#[test]
fn connect_timeout() {
    let (_l, _fill, hole) = blackhole();
    let lb = lb(
        "      retries: 0\n      timeouts: { connect: 300ms }\n",
        &[format!("        - {{ name: hole, address: \"{hole}\" }}\n")],
    );
    let r = first_line(lb.addr, None).unwrap_or_default();
    assert_eq!(r, "");
    assert!(lb.daemon.wait_log(" l l/hole "), "{}", lb.daemon.logs());
    assert!(
        lb.daemon.logs().contains(" sC "),
        "connect timeout code: {}",
        lb.daemon.logs()
    );
}

/// While a check runs, `show stat` marks it as haproxy does: `* ` before the last
/// result's code and no `last_chk` text (here a check that waits on a server that never
/// answers).
#[test]
fn a_running_check_shows_as_in_progress() {
    let (_l, _fill, hole) = blackhole();
    let lb = lb(
        "      check: { type: tcp, inter: 100ms, timeout: 2s, rise: 2, fall: 3 }\n",
        &[format!("        - {{ name: hole, address: \"{hole}\" }}\n")],
    );
    let running = wait_for(Duration::from_secs(20), || {
        let st = stat_col(&lb, "hole", "check_status");
        st.starts_with("* ").then_some(st)
    });
    assert!(running.is_some(), "{}", lb.admin(&["show", "stat"]));
    // The same in `typed`: the marked code, and the empty text.
    let typed = wait_for(Duration::from_secs(20), || {
        let t = lb.admin(&["show", "stat", "typed"]);
        (t.contains(".check_status.1:MOP:str:* ") && t.contains(".last_chk.1:MOP:str:\n"))
            .then_some(t)
    });
    assert!(typed.is_some(), "{}", lb.admin(&["show", "stat", "typed"]));
}

#[test]
fn idle_timeouts() {
    let silent = Backend::start("silent", Behavior::Silent);
    let lb = lb(
        "      timeouts: { client: 300ms, server: 10s }\n",
        &[server("silent", &silent, "")],
    );
    let s = connect_from(lb.addr, None).expect("c");
    assert_eq!(
        read_line(&s).expect("closed"),
        "",
        "closed by the client timeout"
    );
    assert!(lb.daemon.wait_log(" cD "), "{}", lb.daemon.logs());
    // haproxy's abort counters: a client timeout is a client abort.
    let aborts = |lb: &Lb| {
        (
            stat_col(lb, "silent", "cli_abrt"),
            stat_col(lb, "silent", "srv_abrt"),
        )
    };
    assert_eq!(aborts(&lb), ("1".into(), "0".into()));
    lb.reload(
        &std::fs::read_to_string(&lb.config)
            .expect("cfg")
            .replace("client: 300ms, server: 10s", "client: 10s, server: 300ms"),
    );
    assert!(lb.daemon.wait_log("config reloaded"));
    let s = connect_from(lb.addr, None).expect("c");
    (&s).write_all(b"hello").expect("w");
    assert_eq!(read_line(&s).expect("closed"), "");
    assert!(lb.daemon.wait_log(" sD "), "{}", lb.daemon.logs());
    assert_eq!(aborts(&lb), ("1".into(), "1".into()));
}

#[test]
fn half_close_in_both_relay_modes() {
    let rb = Backend::start("rb", Behavior::ReplyAfterEof);
    for relay in ["splice", "buffered"] {
        let lb = lb(&format!("      relay: {relay}\n"), &[server("rb", &rb, "")]);
        let s = connect_from(lb.addr, None).expect("c");
        let payload = vec![b'x'; 100_000];
        (&s).write_all(&payload).expect("w");
        s.shutdown(std::net::Shutdown::Write).expect("client FIN");
        assert_eq!(read_line(&s).expect("reply"), "got 100000 bytes", "{relay}");
    }
}

#[test]
fn maxconn_waits_in_the_backlog() {
    let a = Backend::start("a", Behavior::Name);
    let lb = lb("      maxconn: 2\n", &[server("a", &a, "")]);
    let c1 = connect_from(lb.addr, None).expect("c1");
    let c2 = connect_from(lb.addr, None).expect("c2");
    assert_eq!(read_line(&c1).expect("l"), "a");
    assert_eq!(read_line(&c2).expect("l"), "a");
    // The third connects (kernel backlog) but is not served while two are open.
    let c3 = connect_from(lb.addr, None).expect("c3");
    c3.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("t");
    let mut buf = [0u8; 8];
    let r = (&c3).read(&mut buf);
    assert!(r.is_err(), "served beyond maxconn: {r:?}");
    assert_eq!(a.accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
    drop(c1);
    assert_eq!(read_line(&c3).expect("served once a slot freed"), "a");
    drop(c2);
}

#[test]
fn proxy_protocol_headers_are_byte_exact() {
    for (v, version) in [("v1", 1), ("v2", 2)] {
        let a = Backend::start("a", Behavior::Name);
        let lb = lb("", &[server("a", &a, &format!(", send_proxy: {v}"))]);
        let s = connect_from(lb.addr, Some("127.0.0.5")).expect("c");
        let local = s.local_addr().expect("addr");
        assert_eq!(read_line(&s).expect("l"), "a");
        (&s).write_all(b"data").expect("w");
        // The echo says the backend has read (and recorded) the data; on a loaded
        // machine the wait below covers a slow echo.
        let _ = read_line(&s);
        let want_len = if version == 1 { 0 } else { 28 };
        let first = wait_for(Duration::from_secs(30), || {
            let f = a.first_bytes.lock().ok()?.first().cloned()?;
            (f.ends_with(b"data") && f.len() > want_len).then_some(f)
        })
        .expect("recorded");
        let want = if version == 1 {
            format!(
                "PROXY TCP4 127.0.0.5 {} {} {}\r\n",
                lb.addr.ip(),
                local.port(),
                lb.addr.port()
            )
            .into_bytes()
        } else {
            let mut w = vec![
                0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11,
                0, 12,
            ];
            w.extend_from_slice(&[127, 0, 0, 5, 127, 0, 0, 1]);
            w.extend_from_slice(&local.port().to_be_bytes());
            w.extend_from_slice(&lb.addr.port().to_be_bytes());
            w
        };
        assert_eq!(&first[..want.len()], &want[..], "{v}");
        assert_eq!(&first[want.len()..], b"data", "{v}");
    }
}

#[test]
fn accept_proxy_takes_the_client_address_from_the_header() {
    let a = Backend::start("a", Behavior::Name);
    let lb = lb(
        "      accept_proxy: true\n",
        &[server("a", &a, ", send_proxy: v1")],
    );
    let s = connect_from(lb.addr, None).expect("c");
    (&s).write_all(b"PROXY TCP4 198.18.7.7 198.18.0.100 40000 3306\r\nhello\n")
        .expect("w");
    assert_eq!(read_line(&s).expect("l"), "a");
    let first = wait_for(Duration::from_secs(5), || {
        let f = a.first_bytes.lock().ok()?.first().cloned()?;
        f.ends_with(b"hello\n").then_some(f)
    })
    .expect("recorded");
    assert!(
        first.starts_with(b"PROXY TCP4 198.18.7.7 198.18.0.100 40000 3306\r\nhello"),
        "{}",
        String::from_utf8_lossy(&first)
    );
    drop(s);
    assert!(
        lb.daemon.wait_log("198.18.7.7:40000 ["),
        "the log names the real client: {}",
        lb.daemon.logs()
    );
}

#[test]
fn reload_under_load_loses_nothing() {
    let (a, b) = (
        Backend::start("a", Behavior::Name),
        Backend::start("b", Behavior::Name),
    );
    let lb = lb("", &[server("a", &a, ""), server("b", &b, "")]);
    let base = std::fs::read_to_string(&lb.config).expect("cfg");
    let addr = lb.addr;
    let client = std::thread::spawn(move || {
        let mut failures = Vec::new();
        for i in 0..2000 {
            match first_line(addr, None) {
                Ok(n) if n == "a" || n == "b" => {}
                other => failures.push(format!("#{i}: {other:?}")),
            }
        }
        failures
    });
    for i in 0..5 {
        std::thread::sleep(Duration::from_millis(150));
        let w = if i % 2 == 0 { 3 } else { 1 };
        lb.reload(&base.replace(
            &format!("address: \"{}\" }}", a.addr),
            &format!("address: \"{}\", weight: {w} }}", a.addr),
        ));
    }
    let failures = client.join().expect("client");
    assert!(
        failures.is_empty(),
        "{} failures: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(
        lb.daemon.logs().matches("config reloaded").count() >= 5,
        "{}",
        lb.daemon.logs()
    );
}

#[test]
fn admin_drain_weight_and_stat() {
    let (a, b) = (
        Backend::start("a", Behavior::Name),
        Backend::start("b", Behavior::Name),
    );
    let lb = lb("", &[server("a", &a, ""), server("b", &b, "")]);
    // drain through the CLI, as an operator would.
    let sock = lb.socket.to_string_lossy().to_string();
    let (code, out, _) = tandem(&["balancer", "--socket", &sock, "drain", "l/a"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "l/a: drain (was ready)\n");
    let m = counts(&lb, 6);
    assert_eq!(m.get("b"), Some(&6), "{m:?}");
    // As haproxy: a draining server shows its weight (tools read 0 as `set weight 0`).
    assert_eq!(
        (stat_col(&lb, "a", "status"), stat_col(&lb, "a", "weight")),
        ("DRAIN".to_string(), "1".to_string())
    );
    let (code, out, _) = tandem(&["balancer", "--socket", &sock, "ready", "l/a"]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = tandem(&["balancer", "--socket", &sock, "weight", "l/a", "3"]);
    assert_eq!((code, out.as_str()), (0, "l/a: weight 3 (was 1)\n"));
    let m = counts(&lb, 8);
    assert_eq!((m["a"], m["b"]), (6, 2), "{m:?}");
    let (code, out, _) = tandem(&["balancer", "--socket", &sock, "weight", "l/nope", "3"]);
    assert_eq!(code, 1);
    assert_eq!(out, "error: no server `nope` in listener `l`\n");
    let (_, csv, _) = tandem(&["balancer", "--socket", &sock, "stat"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,"),
        "{csv}"
    );
    // haproxy 2.6.12's header, as Debian's `show stat` prints it: 128 columns.
    let names: Vec<&str> = lines[0].trim_start_matches("# ").split(',').collect();
    assert_eq!(names.len(), 129, "128 columns and a trailing comma");
    assert_eq!(
        names[99..107],
        [
            "uweight",
            "agg_server_status",
            "agg_server_check_status",
            "agg_check_status",
            "-",
            "ssl_sess",
            "ssl_reused_sess",
            "ssl_failed_handshake"
        ]
    );
    assert_eq!(names[127], "h1_spliced_bytes_out");
    let col = |row: &str, name: &str| -> String {
        let names: Vec<&str> = lines[0].trim_start_matches("# ").split(',').collect();
        let i = names.iter().position(|n| *n == name).unwrap_or(0);
        row.split(',').nth(i).unwrap_or("").to_string()
    };
    let a_row = lines.iter().find(|l| l.starts_with("l,a,")).expect("row a");
    assert_eq!(col(a_row, "status"), "no check");
    assert_eq!(
        (
            col(a_row, "-"),
            col(a_row, "ssl_sess"),
            col(a_row, "h1_bytes_in")
        ),
        ("-".into(), "0".into(), String::new())
    );
    assert_eq!(col(a_row, "weight"), "3");
    assert_eq!(col(a_row, "stot"), "6");
    assert!(lines.iter().any(|l| l.starts_with("l,FRONTEND,")));
    assert!(lines.iter().any(|l| l.starts_with("l,BACKEND,")));
    assert_eq!(
        lb.metric("tandem_balancer_connections_total{listener=\"l\",server=\"a\"}"),
        6.0
    );
}

#[test]
fn tcplog_lines() {
    let a = Backend::start("a", Behavior::Name);
    let lb = lb("", &[server("a", &a, "")]);
    let s = connect_from(lb.addr, None).expect("c");
    let local = s.local_addr().expect("local");
    assert_eq!(read_line(&s).expect("l"), "a");
    drop(s);
    let needle = format!("{local} [");
    assert!(lb.daemon.wait_log(&needle), "{}", lb.daemon.logs());
    let line = lb
        .daemon
        .logs()
        .lines()
        .find(|l| l.contains(&needle))
        .map(str::to_string)
        .unwrap_or_default();
    // client [date] listener listener/server Tw/Tc/Tt bytes term ac/fc/bc/sc/rc sq/bq
    let msg = &line[line.find(&needle).unwrap_or(0)..];
    let fields: Vec<&str> = msg.split_whitespace().collect();
    assert!(fields[1].starts_with('[') && fields[1].len() == 26, "{msg}");
    // As haproxy's tcplog, counted at the end: the backend and server no longer count
    // the session.
    assert_eq!(fields[7], "1/1/0/0/0", "ac/fc/bc/sc/rc: {msg}");
    assert_eq!(fields[2], "l");
    assert_eq!(fields[3], "l/a");
    assert_eq!(fields[4].split('/').count(), 3, "{msg}");
    assert_eq!(fields[5], "2", "bytes to the client");
    assert_eq!(fields[6], "--");
    // A session ending while another one (opened after it) runs on the same server.
    let first = connect_from(lb.addr, None).expect("c");
    let first_local = first.local_addr().expect("local");
    assert_eq!(read_line(&first).expect("l"), "a");
    let second = connect_from(lb.addr, None).expect("c");
    assert_eq!(read_line(&second).expect("l"), "a");
    drop(first);
    let needle = format!("{first_local} [");
    assert!(lb.daemon.wait_log(&needle), "{}", lb.daemon.logs());
    let logs = lb.daemon.logs();
    let msg = logs
        .lines()
        .find_map(|l| l.find(&needle).map(|i| &l[i..]))
        .unwrap_or_default();
    let fields: Vec<&str> = msg.split_whitespace().collect();
    assert_eq!(fields[7], "2/2/1/1/0", "ac/fc/bc/sc/rc: {msg}");
    drop(second);
}

/// Out of file descriptors: the accept loop backs off, counts and logs, and serves again
/// once descriptors free up.
#[test]
fn accept_survives_emfile() {
    use std::os::unix::process::CommandExt;
    let a = Backend::start("a", Behavior::Silent);
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, oport) = (free_port(), free_port());
    let cfg = config_text(
        port,
        oport,
        &dir.path().join("admin.sock"),
        "",
        &[server("a", &a, "")],
    );
    let path = write(dir.path(), "tandem.yaml", &cfg);
    let mut cmd = std::process::Command::new(common::tandem_bin());
    cmd.args(["run", "-c"]).arg(&path);
    // SAFETY: setrlimit in the child before exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 64,
                rlim_max: 64,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            Ok(())
        });
    }
    let d = Daemon::spawn(cmd);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let observe: SocketAddr = format!("127.0.0.1:{oport}").parse().expect("addr");
    assert!(d.wait_log(" started on "), "{}", d.logs());
    // Each proxied connection costs the daemon two descriptors, and a client whose
    // server connect failed for want of one still holds its own while the connect is
    // retried: 100 clients exhaust 64 descriptors, in accept as well as in connect.
    let mut held = Vec::new();
    for _ in 0..100 {
        if let Ok(s) = connect_from(addr, None) {
            held.push(s);
        }
    }
    assert!(d.wait_log("accept failed"), "{}", d.logs());
    assert!(d.logs().contains("backing off"), "{}", d.logs());
    drop(held);
    // Descriptors come back: a new client is served (its backend connection opens).
    let before = a.accepted.load(std::sync::atomic::Ordering::SeqCst);
    let served = wait_for(Duration::from_secs(20), || {
        let s = connect_from(addr, None).ok()?;
        std::thread::sleep(Duration::from_millis(100));
        let now = a.accepted.load(std::sync::atomic::Ordering::SeqCst);
        drop(s);
        (now > before).then_some(())
    });
    assert!(served.is_some(), "{}", d.logs());
    let (_, metrics) = http_get(observe, "/metrics").expect("metrics");
    assert!(
        metrics.contains("tandem_balancer_accept_errors_total{error=\"emfile\",listener=\"l\"}"),
        "{metrics}"
    );
}

/// The xinetd `check port` pattern: traffic on one port, an HTTP status endpoint on
/// another; a 503 takes the server out, a 200 brings it back.
#[test]
fn http_check_on_a_separate_port() {
    let a = Backend::start("a", Behavior::Name);
    let b = Backend::start("b", Behavior::Name);
    let health = Backend::start("health", Behavior::Http);
    let lb = lb(
        &format!(
            "      check: {{ type: http, port: {}, path: /clustercheck, inter: 100ms, rise: 2, fall: 2 }}\n",
            health.port()
        ),
        &[server("a", &a, ""), server("b", &b, "")],
    );
    let up = wait_for(Duration::from_secs(10), || {
        let st = lb.status();
        let srv = &st["subsystems"]["balancer"]["listeners"][0]["servers"];
        (srv[0]["last_check"] == "succeeded" && srv[1]["last_check"] == "succeeded").then_some(())
    });
    assert!(up.is_some(), "{}", lb.daemon.logs());
    let first = health.http_requests.lock().expect("lock")[0].clone();
    assert!(
        first.starts_with("GET /clustercheck HTTP/1.0\r\n"),
        "{first:?}"
    );
    // Both servers share the health endpoint's address here, so both go down.
    health
        .http_status
        .store(503, std::sync::atomic::Ordering::SeqCst);
    assert!(
        lb.daemon
            .wait_log("server l/a is DOWN (check: HTTP status 503, expected 2xx or 3xx, 2/2)"),
        "{}",
        lb.daemon.logs()
    );
    assert!(
        lb.daemon.wait_log("server l/b is DOWN"),
        "{}",
        lb.daemon.logs()
    );
    // No server up: a new client is refused after the connect attempts (closed at once).
    let mut s = connect_from(lb.addr, None).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = [0u8; 8];
    assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)));
    health
        .http_status
        .store(200, std::sync::atomic::Ordering::SeqCst);
    assert!(
        lb.daemon
            .wait_log("server l/a is UP (check: succeeded, 2/2)"),
        "{}",
        lb.daemon.logs()
    );
    assert!(
        lb.daemon.wait_log("server l/b is UP"),
        "{}",
        lb.daemon.logs()
    );
    let m = counts(&lb, 4);
    assert_eq!((m.get("a"), m.get("b")), (Some(&2), Some(&2)), "{m:?}");
}

/// The mysql check against a real MariaDB: with a check user it logs in and quits, so
/// the server counts no aborted connects; "Too many connections" takes the server down.
#[test]
fn mysql_check_against_real_mariadb() {
    let db =
        common::mariadb::MariaDb::start_with(&["--max-connections=10", "--connect-timeout=60"]);
    db.sql("CREATE USER 'tandem_check'@'127.0.0.1'");
    let dbs = format!("        - {{ name: db, address: \"{}\" }}\n", db.addr);
    let lb = lb(
        "      check: { type: mysql, user: tandem_check, inter: 100ms, rise: 2, fall: 2 }\n",
        &[dbs],
    );
    let conns0 = db.status("Connections");
    let aborted0 = db.status("Aborted_connects");
    // Ten checks or more.
    let checked = wait_for(Duration::from_secs(20), || {
        (db.status("Connections") >= conns0 + 10).then_some(())
    });
    assert!(checked.is_some(), "{}", lb.daemon.logs());
    let st = lb.status();
    assert_eq!(
        st["subsystems"]["balancer"]["listeners"][0]["servers"][0]["last_check"], "succeeded",
        "{st}"
    );
    assert_eq!(
        db.status("Aborted_connects"),
        aborted0,
        "the check logs in and quits cleanly"
    );
    // A client goes through to the server (the greeting arrives through the balancer).
    let out = common::mariadb::mariadb_client(lb.addr, "root", None, "SELECT 40+2")
        .expect("query through the balancer");
    assert_eq!(out, "42");
    // Fill the server: 10 connections plus the one reserved for SUPER. Connections in
    // the handshake count; the next one gets ERR 1040 instead of a greeting.
    let held: Vec<TcpStream> = (0..11)
        .filter_map(|_| TcpStream::connect(db.addr).ok())
        .collect();
    assert_eq!(held.len(), 11);
    assert!(
        lb.daemon
            .wait_log("server l/db is DOWN (check: MySQL error 1040: Too many connections"),
        "{}",
        lb.daemon.logs()
    );
    drop(held);
    assert!(
        lb.daemon
            .wait_log("server l/db is UP (check: succeeded, 2/2)"),
        "{}",
        lb.daemon.logs()
    );
    // A check user the server does not know: access denied is down, with the reason.
    let text = std::fs::read_to_string(&lb.config).expect("config");
    lb.reload(&text.replace("user: tandem_check", "user: nobody_here"));
    assert!(
        lb.daemon
            .wait_log("(check: MySQL error 1045: Access denied for user 'nobody_here'@'127.0.0.1'"),
        "{}",
        lb.daemon.logs()
    );
}

/// The field after the date in a tcplog line with `needle`, e.g. Tw/Tc/Tt, as numbers.
fn log_times(lb: &Lb, needle: &str) -> Vec<i64> {
    let logs = lb.daemon.logs();
    let line = logs
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_default();
    let msg = &line[line.find("] ").map(|i| i + 2).unwrap_or(0)..];
    msg.split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .split('/')
        .filter_map(|v| v.parse().ok())
        .collect()
}

/// `client_fin`: once the server has closed and its FIN went to the client, a client
/// that never closes is dropped after `client_fin`, not after `client`.
/// `server_fin`: the mirror image, for a server that never closes after the client did.
#[test]
fn fin_timeouts() {
    let closer = Backend::start("closer", Behavior::NameThenClose);
    let lb1 = lb(
        "      timeouts: { client: 60s, server: 60s, client_fin: 300ms }\n",
        &[server("closer", &closer, "")],
    );
    let s = connect_from(lb1.addr, None).expect("c");
    assert_eq!(read_line(&s).expect("name"), "closer");
    assert!(lb1.daemon.wait_log(" cD "), "{}", lb1.daemon.logs());
    let tt = log_times(&lb1, " cD ");
    assert!(
        tt.len() == 3 && tt[2] < 30_000,
        "closed by client_fin: {tt:?}"
    );
    drop(s);

    let holder = Backend::start("holder", Behavior::HoldAfterEof);
    let lb2 = lb(
        "      timeouts: { client: 60s, server: 60s, server_fin: 300ms }\n",
        &[server("holder", &holder, "")],
    );
    let s = connect_from(lb2.addr, None).expect("c");
    (&s).write_all(b"bye").expect("w");
    s.shutdown(std::net::Shutdown::Write).expect("client FIN");
    // The server never answers nor closes: server_fin ends the session.
    assert_eq!(read_line(&s).expect("closed"), "");
    assert!(lb2.daemon.wait_log(" sD "), "{}", lb2.daemon.logs());
    let tt = log_times(&lb2, " sD ");
    assert!(
        tt.len() == 3 && tt[2] < 30_000,
        "closed by server_fin: {tt:?}"
    );
}

/// `tunnel` replaces the client and server timeouts once connected.
#[test]
fn tunnel_timeout_replaces_client_and_server() {
    let a = Backend::start("a", Behavior::Name);
    let lb = lb(
        "      timeouts: { client: 200ms, server: 200ms, tunnel: 1500ms }\n",
        &[server("a", &a, "")],
    );
    let s = connect_from(lb.addr, None).expect("c");
    assert_eq!(read_line(&s).expect("name"), "a");
    // Idle for longer than client/server: still open.
    std::thread::sleep(Duration::from_millis(700));
    (&s).write_all(b"ping\n").expect("w");
    assert_eq!(read_line(&s).expect("echo"), "ping");
    // Idle for longer than tunnel: closed.
    assert_eq!(read_line(&s).expect("closed"), "");
    assert!(lb.daemon.wait_log("l/a"), "{}", lb.daemon.logs());
    let logs = lb.daemon.logs();
    assert!(logs.contains(" cD ") || logs.contains(" sD "), "{logs}");
}

/// `on_marked_down: shutdown_sessions` closes the established sessions of a server the
/// checks mark down; by default (`keep`) they stay.
#[test]
fn marked_down_sessions_kept_or_shut() {
    let a = Backend::start("a", Behavior::Name);
    let health = Backend::start("health", Behavior::Http);
    let check = format!(
        "      check: {{ type: http, port: {}, inter: 100ms, rise: 1, fall: 2 }}\n",
        health.port()
    );
    let keep = lb(&check, &[server("a", &a, "")]);
    let shut = lb(
        &format!("{check}      on_marked_down: shutdown_sessions\n"),
        &[server("a", &a, "")],
    );
    let wait_checked = |l: &Lb| {
        wait_for(Duration::from_secs(10), || {
            let st = l.status();
            (st["subsystems"]["balancer"]["listeners"][0]["servers"][0]["last_check"]
                == "succeeded")
                .then_some(())
        })
        .is_some()
    };
    assert!(wait_checked(&keep) && wait_checked(&shut));
    let sk = connect_from(keep.addr, None).expect("c");
    let ss = connect_from(shut.addr, None).expect("c");
    assert_eq!(read_line(&sk).expect("a"), "a");
    assert_eq!(read_line(&ss).expect("a"), "a");
    health
        .http_status
        .store(503, std::sync::atomic::Ordering::SeqCst);
    for l in [&keep, &shut] {
        assert!(
            l.daemon.wait_log("server l/a is DOWN"),
            "{}",
            l.daemon.logs()
        );
    }
    // shutdown_sessions: closed, logged as killed.
    assert_eq!(read_line(&ss).expect("closed"), "");
    assert!(shut.daemon.wait_log(" DD "), "{}", shut.daemon.logs());
    // keep: the session still carries data.
    (&sk).write_all(b"still there\n").expect("w");
    assert_eq!(read_line(&sk).expect("echo"), "still there");
    assert!(!keep.daemon.logs().contains(" DD "));
}

/// `on_marked_up: shutdown_backup_sessions` closes the sessions of the backup servers when
/// an active server comes back, by its check or out of maintenance (haproxy's `UD`); by
/// default (`keep`) they stay.
#[test]
fn active_server_back_closes_backup_sessions_or_keeps_them() {
    let mut a = Backend::start("a", Behavior::Name);
    let bk = Backend::start("bk", Behavior::Name);
    let a_addr = a.addr;
    let check = "      check: { type: tcp, inter: 100ms, rise: 1, fall: 1 }\n";
    let servers = [server("a", &a, ""), server("bk", &bk, ", backup: true")];
    let keep = lb(check, &servers);
    let shut = lb(
        &format!("{check}      on_marked_up: shutdown_backup_sessions\n"),
        &servers,
    );
    assert!(wait_checked(&keep, 0) && wait_checked(&shut, 0));
    a.stop();
    for l in [&keep, &shut] {
        assert!(
            l.daemon.wait_log("server l/a is DOWN"),
            "{}",
            l.daemon.logs()
        );
    }
    // Only the backup is left: sessions go there.
    let sk = connect_from(keep.addr, None).expect("c");
    let ss = connect_from(shut.addr, None).expect("c");
    assert_eq!(read_line(&sk).expect("bk"), "bk");
    assert_eq!(read_line(&ss).expect("bk"), "bk");
    let _a2 = Backend::start_on(&a_addr.to_string(), "a", Behavior::Name);
    for l in [&keep, &shut] {
        assert!(l.daemon.wait_log("server l/a is UP"), "{}", l.daemon.logs());
    }
    // shutdown_backup_sessions: the backup's session is closed, logged as `UD`, and the
    // client's next connection reaches the active server.
    ss.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("t");
    assert_eq!(read_line(&ss).expect("closed"), "");
    assert!(shut.daemon.wait_log(" UD "), "{}", shut.daemon.logs());
    assert!(
        shut.daemon.wait_log(
            "listener l: active server l/a is up: closing 1 sessions of backup servers (on_marked_up: shutdown_backup_sessions)"
        ),
        "{}",
        shut.daemon.logs()
    );
    assert_eq!(first_line(shut.addr, None).expect("served"), "a");
    // keep: the backup's session still carries data, new ones go to the active server.
    (&sk).write_all(b"still there\n").expect("w");
    assert_eq!(read_line(&sk).expect("echo"), "still there");
    assert_eq!(first_line(keep.addr, None).expect("served"), "a");
    assert!(!keep.daemon.logs().contains(" UD "));

    // Out of maintenance counts as coming up: a session that went to the backup while
    // the active server was in maintenance is closed when the operator sets it ready.
    shut.admin(&["set", "server", "l/a", "state", "maint"]);
    let s2 = connect_from(shut.addr, None).expect("c");
    assert_eq!(read_line(&s2).expect("bk"), "bk");
    shut.admin(&["set", "server", "l/a", "state", "drain"]);
    // Draining (weight 0) takes no new connections: the backup keeps its session.
    (&s2).write_all(b"drain\n").expect("w");
    assert_eq!(read_line(&s2).expect("echo"), "drain");
    shut.admin(&["set", "server", "l/a", "state", "maint"]);
    shut.admin(&["set", "server", "l/a", "state", "ready"]);
    s2.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("t");
    assert_eq!(read_line(&s2).expect("closed by ready"), "");
    let ud = wait_for(Duration::from_secs(5), || {
        (shut.daemon.logs().matches(" UD ").count() == 2).then_some(())
    });
    assert!(ud.is_some(), "{}", shut.daemon.logs());
}

/// `slowstart`: a server that comes back (by its check, or out of maintenance) starts
/// with a small share that grows to its full weight over the ramp; at startup every
/// server has its full weight at once (haproxy).
#[test]
fn slowstart_ramps_a_returning_server_up() {
    let a = Backend::start("a", Behavior::Name);
    let mut b = Backend::start("b", Behavior::Name);
    let b_addr = b.addr;
    let lb1 = lb(
        "      check: { type: tcp, inter: 100ms, rise: 1, fall: 1 }\n",
        &[
            server("a", &a, ", weight: 100"),
            server("b", &b, ", weight: 100, slowstart: 60s"),
        ],
    );
    let m = counts(&lb1, 20);
    assert_eq!((m.get("a"), m.get("b")), (Some(&10), Some(&10)), "{m:?}");
    assert!(wait_checked(&lb1, 1), "{}", lb1.daemon.logs());
    b.stop();
    assert!(
        lb1.daemon.wait_log("server l/b is DOWN"),
        "{}",
        lb1.daemon.logs()
    );
    let _b2 = Backend::start_on(&b_addr.to_string(), "b", Behavior::Name);
    assert!(
        lb1.daemon.wait_log("server l/b is UP"),
        "{}",
        lb1.daemon.logs()
    );
    // Seconds into a 60 s ramp b weighs a few units of its 100 (never less than 1): a
    // few percent of the connections, where it had half.
    let m = counts(&lb1, 22);
    let nb = m.get("b").copied().unwrap_or(0);
    assert!(nb <= 4, "b ramps up slowly: {m:?}");
    let w: u32 = stat_col(&lb1, "b", "weight").parse().expect("weight");
    assert!((1..100).contains(&w), "effective weight while ramping: {w}");
    assert_eq!(stat_col(&lb1, "b", "uweight"), "100");

    // Out of maintenance: the ramp starts again and ends at the full weight.
    let lb2 = lb(
        "",
        &[
            server("a", &a, ", weight: 10"),
            server("b", &_b2, ", weight: 10, slowstart: 5s"),
        ],
    );
    lb2.admin(&["set", "server", "l/b", "state", "maint"]);
    lb2.admin(&["set", "server", "l/b", "state", "ready"]);
    let w: u32 = stat_col(&lb2, "b", "weight").parse().expect("weight");
    assert!((1..10).contains(&w), "ramping after maintenance: {w}");
    let full = wait_for(Duration::from_secs(30), || {
        (stat_col(&lb2, "b", "weight") == "10").then_some(())
    });
    assert!(full.is_some(), "full weight once the ramp is over");
    let m = counts(&lb2, 20);
    assert_eq!((m.get("a"), m.get("b")), (Some(&10), Some(&10)), "{m:?}");
}

/// The global `balancer.maxconn` caps connections across listeners: a client of the
/// second listener waits while the first holds every slot.
#[test]
fn global_maxconn_spans_listeners() {
    let a = Backend::start("a", Behavior::Name);
    let dir = tempfile::tempdir().expect("tempdir");
    let (p1, p2, op) = (free_port(), free_port(), free_port());
    let cfg = format!(
        "node: lb
log: {{ level: debug }}
observe: {{ listen: 127.0.0.1:{op} }}
admin: {{ socket: off }}
balancer:
  maxconn: 2
  listeners:
    - name: l1
      bind: 127.0.0.1:{p1}
      servers: [{{ name: a, address: \"{a}\" }}]
    - name: l2
      bind: 127.0.0.1:{p2}
      servers: [{{ name: a, address: \"{a}\" }}]
",
        a = a.addr
    );
    let d = Daemon::start(&write(dir.path(), "tandem.yaml", &cfg));
    assert!(d.wait_log(" started on "), "{}", d.logs());
    let l1: SocketAddr = format!("127.0.0.1:{p1}").parse().expect("addr");
    let l2: SocketAddr = format!("127.0.0.1:{p2}").parse().expect("addr");
    let c1 = connect_from(l1, None).expect("c1");
    let c2 = connect_from(l1, None).expect("c2");
    assert_eq!(read_line(&c1).expect("l"), "a");
    assert_eq!(read_line(&c2).expect("l"), "a");
    let c3 = connect_from(l2, None).expect("c3");
    c3.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("t");
    let mut buf = [0u8; 8];
    let r = (&c3).read(&mut buf);
    assert!(r.is_err(), "served beyond the global maxconn: {r:?}");
    drop(c1);
    assert_eq!(read_line(&c3).expect("served once a slot freed"), "a");
    drop(c2);
    drop(d);
}

/// The value of the first series of `name` whose labels include all of `labels`.
fn metric_with(lb: &Lb, name: &str, labels: &[&str]) -> Option<f64> {
    let (_, body) = http_get(lb.observe, "/metrics").ok()?;
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| labels.iter().all(|x| l.contains(x)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The next line from `s` if one arrives within `limit`.
fn line_within(mut s: &TcpStream, limit: Duration) -> Option<String> {
    s.set_read_timeout(Some(limit)).ok()?;
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match s.read(&mut b) {
            Ok(0) => return None,
            Ok(_) if b[0] == b'\n' => return Some(String::from_utf8_lossy(&out).into_owned()),
            Ok(_) => out.push(b[0]),
            Err(_) => return None,
        }
    }
}

/// A column of a server's row in `show stat`.
fn stat_col(lb: &Lb, svname: &str, col: &str) -> String {
    let csv = lb.admin(&["show", "stat"]);
    let lines: Vec<&str> = csv.lines().collect();
    let names: Vec<&str> = lines[0].trim_start_matches("# ").split(',').collect();
    let i = names.iter().position(|n| *n == col).expect("column");
    lines
        .iter()
        .find(|l| l.starts_with(&format!("l,{svname},")))
        .and_then(|row| csv_fields(row).into_iter().nth(i))
        .unwrap_or_default()
}

fn wait_checked(lb: &Lb, server: usize) -> bool {
    wait_for(Duration::from_secs(10), || {
        let st = lb.status();
        (st["subsystems"]["balancer"]["listeners"][0]["servers"][server]["last_check"]
            == "succeeded")
            .then_some(())
    })
    .is_some()
}

/// A reload that changes a checked server's weight keeps it the same server: its health
/// check still decides whether it gets traffic, and its counters carry over.
#[test]
fn reload_keeps_a_changed_server_checked_and_counted() {
    let mut a = Backend::start("a", Behavior::Name);
    let b = Backend::start("b", Behavior::Name);
    let lb = lb(
        "      check: { type: tcp, inter: 100ms, rise: 1, fall: 2 }\n",
        &[server("a", &a, ""), server("b", &b, "")],
    );
    assert!(wait_checked(&lb, 0), "{}", lb.daemon.logs());
    let m = counts(&lb, 4);
    assert_eq!((m.get("a"), m.get("b")), (Some(&2), Some(&2)), "{m:?}");
    let base = std::fs::read_to_string(&lb.config).expect("cfg");
    lb.reload(&base.replace(
        &format!("address: \"{}\" }}", a.addr),
        &format!("address: \"{}\", weight: 3 }}", a.addr),
    ));
    lb.reloaded();
    assert_eq!(stat_col(&lb, "a", "weight"), "3");
    assert_eq!(stat_col(&lb, "a", "stot"), "2", "counters carried over");
    a.stop();
    assert!(
        lb.daemon
            .wait_log("server l/a is DOWN (check: connection refused, 2/2)"),
        "{}",
        lb.daemon.logs()
    );
    assert_eq!(stat_col(&lb, "a", "status"), "DOWN");
    assert_eq!(
        lb.metric("tandem_balancer_server_up{listener=\"l\",server=\"a\"}"),
        0.0
    );
    let m = counts(&lb, 6);
    assert_eq!(m.get("b"), Some(&6), "{m:?}");
    assert!(
        !lb.daemon.logs().contains(" SC "),
        "no connection was tried on the dead server: {}",
        lb.daemon.logs()
    );
}

/// For the refused-reload tests: servers a and b behind one listener, an address held by
/// the test, and the config text with a's weight changed to 0.
fn refusable_reload() -> (Backend, Backend, Lb, std::net::TcpListener, String) {
    let a = Backend::start("a", Behavior::Name);
    let b = Backend::start("b", Behavior::Name);
    let lb = lb("", &[server("a", &a, ""), server("b", &b, "")]);
    // Outside the ephemeral range (free_port), so no other connection takes it once freed.
    let taken = std::net::TcpListener::bind(("127.0.0.1", free_port())).expect("bind");
    let base = std::fs::read_to_string(&lb.config).expect("cfg");
    let changed = base.replace(
        &format!("address: \"{}\" }}", a.addr),
        &format!("address: \"{}\", weight: 0 }}", a.addr),
    );
    (a, b, lb, taken, changed)
}

/// The reload was refused, naming `taken`, and the metric says so.
fn assert_refused(lb: &Lb, taken: std::net::SocketAddr) {
    assert!(lb.daemon.wait_log("reload refused"), "{}", lb.daemon.logs());
    assert!(
        lb.daemon.logs().contains(&format!("{taken}")),
        "the refusal names the address: {}",
        lb.daemon.logs()
    );
    assert_eq!(
        lb.metric("tandem_config_last_reload_successful"),
        0.0,
        "{}",
        lb.daemon.logs()
    );
}

/// A reload whose new listener cannot be bound is refused before anything changes: the
/// running listeners keep their settings and keep serving.
#[test]
fn reload_that_cannot_bind_changes_nothing() {
    let (a, _b, lb, taken, changed) = refusable_reload();
    let taken_addr = taken.local_addr().expect("addr");
    let with_l2 = format!(
        "{changed}    - name: l2\n      bind: {taken_addr}\n      servers: [{{ name: a, address: \"{}\" }}]\n",
        a.addr
    );
    lb.reload(&with_l2);
    assert_refused(&lb, taken_addr);
    // Nothing changed: a keeps weight 1 and gets its share.
    let m = counts(&lb, 4);
    assert_eq!((m.get("a"), m.get("b")), (Some(&2), Some(&2)), "{m:?}");
    assert_eq!(
        lb.status()["subsystems"]["balancer"]["listeners"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // Once the address is free, the same config applies.
    drop(taken);
    lb.reload(&with_l2);
    lb.reloaded();
    let m = counts(&lb, 4);
    assert_eq!(m.get("b"), Some(&4), "weight 0 applied: {m:?}");
    assert_eq!(first_line(taken_addr, None).expect("l2 serves"), "a");
}

/// A reload that also adds a router whose address is taken is refused as a whole: the
/// balancer part of it is not applied either (nothing half-applied).
#[test]
fn reload_whose_router_cannot_bind_changes_nothing() {
    let (_a, b, lb, taken, changed) = refusable_reload();
    let taken_addr = taken.local_addr().expect("addr");
    let dir = lb
        .config
        .parent()
        .expect("config dir")
        .display()
        .to_string();
    let with_router = format!(
        "{changed}router:\n  listen: {taken_addr}\n  state_dir: {dir}/state\n  users: [ {{ name: app, password: x, schemas: [shop] }} ]\n  schemas: [ {{ name: shop, data_node: dn1 }} ]\n  data_nodes: [ {{ name: dn1, data_host: dh1, database: shop }} ]\n  data_hosts:\n    - {{ name: dh1, min_con: 0, write_hosts: [ {{ host: m1, url: \"{}\", user: root, password: \"\" }} ] }}\n",
        b.addr
    );
    lb.reload(&with_router);
    assert_refused(&lb, taken_addr);
    // The balancer part was not applied: a keeps weight 1.
    let m = counts(&lb, 4);
    assert_eq!((m.get("a"), m.get("b")), (Some(&2), Some(&2)), "{m:?}");
    assert!(!lb.daemon.logs().contains("router listening"));
    // Once the address is free, the same config applies, both parts.
    drop(taken);
    lb.reload(&with_router);
    assert!(
        lb.daemon.wait_log("router listening"),
        "{}",
        lb.daemon.logs()
    );
    lb.reloaded();
    let m = counts(&lb, 4);
    assert_eq!(m.get("b"), Some(&4), "weight 0 applied: {m:?}");
}

/// A server's `maxconn` counts connections from the moment they are sent to it, so a
/// burst does not overshoot it; the rest wait in the listener's queue (shown in
/// `show stat`) and are served as slots free.
#[test]
fn server_maxconn_holds_under_a_burst_and_queues() {
    let a = Backend::start("a", Behavior::Name);
    let lb = lb(
        "      timeouts: { connect: 3s }\n",
        &[server("a", &a, ", maxconn: 2")],
    );
    let addr = lb.addr;
    let clients: Vec<_> = (0..6)
        .map(|_| {
            std::thread::spawn(move || {
                let s = connect_from(addr, None).expect("connect");
                let served = line_within(&s, Duration::from_millis(700)).as_deref() == Some("a");
                (s, served)
            })
        })
        .collect();
    let results: Vec<(TcpStream, bool)> = clients
        .into_iter()
        .map(|c| c.join().expect("client"))
        .collect();
    let served = results.iter().filter(|(_, ok)| *ok).count();
    assert_eq!(served, 2, "only maxconn connections are served at once");
    assert_eq!(a.accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
    let csv = lb.admin(&["show", "stat"]);
    let backend = csv
        .lines()
        .find(|l| l.starts_with("l,BACKEND,"))
        .expect("backend row");
    let qcur: u32 = backend
        .split(',')
        .nth(2)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert_eq!(qcur, 4, "{csv}{}", lb.daemon.logs());
    // Closing the served two lets two waiting clients in.
    let (served_now, waiting): (Vec<_>, Vec<_>) = results.into_iter().partition(|(_, ok)| *ok);
    drop(served_now);
    let mut next = 0;
    for (s, _) in &waiting {
        if line_within(s, Duration::from_millis(500)).as_deref() == Some("a") {
            next += 1;
        }
        if next == 2 {
            break;
        }
    }
    assert_eq!(next, 2, "{}", lb.daemon.logs());
    // The last two wait out the connect timeout and are logged as queue timeouts.
    assert!(lb.daemon.wait_log(" sQ "), "{}", lb.daemon.logs());
    assert_eq!(a.accepted.load(std::sync::atomic::Ordering::SeqCst), 4);
}

/// `timeouts.queue` (haproxy's `timeout queue`) bounds the wait for a server slot on its
/// own: with a connect timeout of a minute, a client queued behind a full server is closed
/// after the queue timeout (logged `sQ`) while the session holding the slot goes on.
#[test]
fn queue_timeout_is_its_own() {
    let a = Backend::start("a", Behavior::Name);
    let lb = lb(
        "      timeouts: { connect: 60s, queue: 200ms }\n",
        &[server("a", &a, ", maxconn: 1")],
    );
    let held = connect_from(lb.addr, None).expect("connect");
    assert_eq!(read_line(&held).expect("served"), "a");
    let queued = connect_from(lb.addr, None).expect("connect");
    // read_line waits up to 10 s, well within the minute of the connect timeout.
    assert_eq!(
        read_line(&queued).expect("closed"),
        "",
        "closed without data"
    );
    assert!(lb.daemon.wait_log(" sQ "), "{}", lb.daemon.logs());
    // The held session still relays.
    (&held).write_all(b"x\n").expect("send");
    assert_eq!(read_line(&held).expect("echo"), "x");
    assert_eq!(a.accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// Lowering `maxconn` by reload while connections hold every slot takes effect as they
/// end: no new connection is served until fewer than the new limit are open.
#[test]
fn lowering_maxconn_by_reload_takes_effect_as_connections_end() {
    let a = Backend::start("a", Behavior::Name);
    let lb = lb("      maxconn: 3\n", &[server("a", &a, "")]);
    let held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let s = connect_from(lb.addr, None).expect("connect");
            assert_eq!(read_line(&s).expect("line"), "a");
            s
        })
        .collect();
    let base = std::fs::read_to_string(&lb.config).expect("cfg");
    lb.reload(&base.replace("      maxconn: 3\n", "      maxconn: 1\n"));
    lb.reloaded();
    let mut held = held.into_iter();
    drop(held.next());
    let waiting = connect_from(lb.addr, None).expect("connect");
    waiting
        .set_read_timeout(Some(Duration::from_millis(600)))
        .expect("t");
    let mut buf = [0u8; 4];
    assert!(
        (&waiting).read(&mut buf).is_err(),
        "served with 2 open and maxconn 1"
    );
    drop(held.next());
    assert!(
        (&waiting).read(&mut buf).is_err(),
        "served with 1 open and maxconn 1"
    );
    drop(held.next());
    waiting
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("t");
    assert_eq!(read_line(&waiting).expect("served once none is open"), "a");
    assert_eq!(stat_col(&lb, "FRONTEND", "slim"), "1");
}

/// `maint` with `on_marked_down: shutdown_sessions` closes the server's sessions, like a
/// check failure does; `ready` checks at once, and a server that was down before
/// maintenance shows up again in the metrics once its check passes.
#[test]
fn maintenance_shuts_sessions_and_ready_rechecks() {
    let mut a = Backend::start("a", Behavior::Name);
    let a_addr = a.addr;
    let lb = lb(
        "      check: { type: tcp, inter: 200ms, rise: 1, fall: 2 }\n      on_marked_down: shutdown_sessions\n",
        &[server("a", &a, "")],
    );
    assert!(wait_checked(&lb, 0), "{}", lb.daemon.logs());
    let s = connect_from(lb.addr, None).expect("connect");
    assert_eq!(read_line(&s).expect("line"), "a");
    lb.admin(&["set", "server", "l/a", "state", "maint"]);
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("t");
    assert_eq!(read_line(&s).expect("closed by maint"), "");
    assert!(lb.daemon.wait_log(" DD "), "{}", lb.daemon.logs());
    // As haproxy: a server in maintenance keeps showing its weight.
    assert_eq!(
        (stat_col(&lb, "a", "status"), stat_col(&lb, "a", "weight")),
        ("MAINT".to_string(), "1".to_string())
    );
    // ... and no check columns while its check is paused.
    for col in ["check_status", "check_desc", "last_chk", "check_health"] {
        assert_eq!(stat_col(&lb, "a", col), "", "{col}");
    }
    lb.admin(&["set", "server", "l/a", "state", "ready"]);
    assert_eq!(first_line(lb.addr, None).expect("served"), "a");
    // Down, then maintenance, then back: the gauge follows.
    a.stop();
    assert!(
        lb.daemon.wait_log("server l/a is DOWN"),
        "{}",
        lb.daemon.logs()
    );
    assert_eq!(
        lb.metric("tandem_balancer_server_up{listener=\"l\",server=\"a\"}"),
        0.0
    );
    lb.admin(&["set", "server", "l/a", "state", "maint"]);
    let _a2 = Backend::start_on(&a_addr.to_string(), "a", Behavior::Name);
    lb.admin(&["set", "server", "l/a", "state", "ready"]);
    let up = wait_for(Duration::from_secs(10), || {
        (lb.metric("tandem_balancer_server_up{listener=\"l\",server=\"a\"}") == 1.0).then_some(())
    });
    assert!(up.is_some(), "{}", lb.daemon.logs());
    // Out of maintenance the server is `UP 1/3` until its first check passes.
    let up = wait_for(Duration::from_secs(10), || {
        (stat_col(&lb, "a", "status") == "UP").then_some(())
    });
    assert!(up.is_some(), "{}", lb.admin(&["show", "stat"]));
}

/// Traffic shows in the byte counters while a session is still open.
#[test]
fn bytes_are_counted_while_the_session_runs() {
    let a = Backend::start("a", Behavior::Name);
    let lb = lb("", &[server("a", &a, "")]);
    let s = connect_from(lb.addr, None).expect("connect");
    assert_eq!(read_line(&s).expect("line"), "a");
    let msg = [b'x'; 99];
    (&s).write_all(&msg).expect("w");
    (&s).write_all(b"\n").expect("w");
    assert_eq!(read_line(&s).expect("echo").len(), 99);
    let seen = wait_for(Duration::from_secs(5), || {
        let i = metric_with(&lb, "tandem_balancer_bytes_total", &["direction=\"in\""])?;
        let o = metric_with(&lb, "tandem_balancer_bytes_total", &["direction=\"out\""])?;
        (i >= 100.0 && o >= 102.0).then_some((i, o))
    });
    assert_eq!(
        seen,
        Some((100.0, 102.0)),
        "in: 99 + newline; out: \"a\\n\" + echo"
    );
    assert_eq!(stat_col(&lb, "a", "bin"), "100");
    let (_, body) = http_get(lb.observe, "/metrics").expect("metrics");
    assert!(
        body.contains("\ntandem_balancer_splice_fallbacks_total 0\n"),
        "splice worked, no fallback: {body}"
    );
    drop(s);
}

/// The TCP sockets of process `pid`, duplicated into this one with pidfd_getfd(2) (root)
/// so their options can be read with getsockopt.
fn sockets_of(pid: i32) -> Vec<socket2::Socket> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain syscalls; the returned descriptors are new and owned here.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
    assert!(
        pidfd >= 0,
        "pidfd_open: {}",
        std::io::Error::last_os_error()
    );
    let mut out = Vec::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .flatten()
    {
        let is_socket = std::fs::read_link(e.path())
            .map(|t| t.to_string_lossy().starts_with("socket:"))
            .unwrap_or(false);
        let Some(fd) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        if !is_socket {
            continue;
        }
        let dup = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) } as libc::c_int;
        if dup < 0 {
            // Closed meanwhile; anything else means this test cannot look.
            let err = std::io::Error::last_os_error();
            assert_eq!(err.raw_os_error(), Some(libc::EBADF), "pidfd_getfd: {err}");
            continue;
        }
        out.push(unsafe { socket2::Socket::from_raw_fd(dup) });
    }
    unsafe { libc::close(pidfd) };
    out
}

/// `tcp_keepalive` per side: the balancer's accepted socket has keepalive with the
/// configured idle/interval/count, its socket to the server has none (seen by `ss` and
/// read back with getsockopt on the daemon's own sockets).
#[test]
fn tcp_keepalive_is_set_per_side_on_live_sockets() {
    let a = Backend::start("a", Behavior::Name);
    let lb = lb(
        "      tcp_keepalive: { client: true, server: false, idle: 7s, interval: 3s, count: 4 }\n",
        &[server("a", &a, "")],
    );
    let s = connect_from(lb.addr, None).expect("connect");
    assert_eq!(read_line(&s).expect("line"), "a");
    let client_addr = s.local_addr().expect("local");

    // ss: `timer:(keepalive,…)` on the accepted socket (local = the listener, peer = our
    // client), none on the outgoing one (peer = the backend).
    let (accepted, outgoing) = wait_for(Duration::from_secs(5), || {
        let out = std::process::Command::new("ss")
            .args(["-Htnoe", "state", "established"])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let find = |pred: &dyn Fn(&str, &str) -> bool| {
            text.lines()
                .find(|l| {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    w.len() > 3 && pred(w[2], w[3])
                })
                .map(str::to_string)
        };
        let accepted =
            find(&|local, peer| local == lb.addr.to_string() && peer == client_addr.to_string())?;
        let outgoing = find(&|_, peer| peer == a.addr.to_string())?;
        Some((accepted, outgoing))
    })
    .expect("both sockets of the session in `ss`");
    assert!(accepted.contains("timer:(keepalive,"), "{accepted}");
    assert!(!outgoing.contains("keepalive"), "{outgoing}");

    // getsockopt on the daemon's sockets.
    let peer = |s: &socket2::Socket| s.peer_addr().ok().and_then(|a| a.as_socket());
    let local = |s: &socket2::Socket| s.local_addr().ok().and_then(|a| a.as_socket());
    let socks = sockets_of(lb.daemon.pid());
    let acc = socks
        .iter()
        .find(|s| local(s) == Some(lb.addr) && peer(s) == Some(client_addr))
        .expect("the accepted socket among the daemon's");
    assert!(acc.keepalive().expect("SO_KEEPALIVE"));
    assert_eq!(acc.tcp_keepalive_time().ok(), Some(Duration::from_secs(7)));
    assert_eq!(
        acc.tcp_keepalive_interval().ok(),
        Some(Duration::from_secs(3))
    );
    assert_eq!(acc.tcp_keepalive_retries().ok(), Some(4));
    let out = socks
        .iter()
        .find(|s| peer(s) == Some(a.addr))
        .expect("the socket to the server among the daemon's");
    assert!(!out.keepalive().expect("SO_KEEPALIVE"));

    // `true` still means both sides (60 s idle, the kernel's interval and count).
    lb.reload(&std::fs::read_to_string(&lb.config).expect("cfg").replace(
        "{ client: true, server: false, idle: 7s, interval: 3s, count: 4 }",
        "true",
    ));
    lb.reloaded();
    let s2 = connect_from(lb.addr, None).expect("connect");
    assert_eq!(read_line(&s2).expect("line"), "a");
    let client2 = s2.local_addr().expect("local");
    let socks = sockets_of(lb.daemon.pid());
    let acc = socks
        .iter()
        .find(|s| local(s) == Some(lb.addr) && peer(s) == Some(client2))
        .expect("the second accepted socket");
    assert!(acc.keepalive().expect("SO_KEEPALIVE"));
    assert_eq!(acc.tcp_keepalive_time().ok(), Some(Duration::from_secs(60)));
    let outs: Vec<&socket2::Socket> = socks.iter().filter(|s| peer(s) == Some(a.addr)).collect();
    assert_eq!(outs.len(), 2, "both sessions' sockets to the server");
    let keepalive: Vec<bool> = outs
        .iter()
        .map(|s| s.keepalive().expect("SO_KEEPALIVE"))
        .collect();
    assert!(
        keepalive.contains(&true) && keepalive.contains(&false),
        "the new session's server socket has keepalive, the old one's not: {keepalive:?}"
    );
    drop((s, s2));
}

/// As in haproxy, a listener with a static weight map (`static-rr`) takes only 0 or the
/// configured weight at run time; other values are refused with the reason.
#[test]
fn static_map_takes_only_zero_or_the_configured_weight() {
    let (a, b) = (
        Backend::start("a", Behavior::Name),
        Backend::start("b", Behavior::Name),
    );
    let lb = lb(
        "      balance: static-rr\n",
        &[server("a", &a, ", weight: 2"), server("b", &b, "")],
    );
    let sock = lb.socket.to_string_lossy().to_string();
    let (code, out, _) = tandem(&["balancer", "--socket", &sock, "weight", "l/a", "5"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("static weight map"), "{out}");
    let (code, out, _) = tandem(&["balancer", "--socket", &sock, "weight", "l/a", "0"]);
    assert_eq!((code, out.as_str()), (0, "l/a: weight 0 (was 2)\n"));
    let m = counts(&lb, 4);
    assert_eq!(m.get("b"), Some(&4), "{m:?}");
    let (code, out, _) = tandem(&["balancer", "--socket", &sock, "weight", "l/a", "2"]);
    assert_eq!((code, out.as_str()), (0, "l/a: weight 2 (was 0)\n"));
    let m = counts(&lb, 6);
    assert_eq!((m.get("a"), m.get("b")), (Some(&4), Some(&2)), "{m:?}");
}

/// Splits a `show stat` CSV row into fields, honouring RFC 4180 quotes.
fn csv_fields(row: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = row.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if cur.is_empty() => quoted = true,
            (false, ',') => out.push(std::mem::take(&mut cur)),
            (_, c) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// A client that sends part of a PROXY header and then its FIN is gone: its session
/// ends at once (`CR`) and gives its `maxconn` slot back, instead of holding it until
/// the client timeout.
#[test]
fn proxy_header_cut_by_fin_frees_the_slot() {
    let a = Backend::start("a", Behavior::Name);
    let lb = lb(
        "      maxconn: 1\n      accept_proxy: true\n      timeouts: { client: 120s }\n",
        &[server("a", &a, "")],
    );
    for cut in [&b"PROXY TCP4 198.18.7.7"[..], &proxy_v2_sig()[..7]] {
        let mut s = connect_from(lb.addr, None).expect("c");
        s.write_all(cut).expect("w");
        s.shutdown(std::net::Shutdown::Write).expect("FIN");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut buf = [0u8; 8];
        let r = s.read(&mut buf);
        // Closed (FIN, or RST for the unread bytes), not left waiting.
        assert!(
            matches!(&r, Ok(0))
                || matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
            "closed by the balancer: {r:?} {}",
            lb.daemon.logs()
        );
        // The only slot is free again: the next client is served.
        let c = connect_from(lb.addr, None).expect("c2");
        (&c).write_all(b"PROXY TCP4 198.18.7.8 198.18.0.100 40000 3306\r\n")
            .expect("w");
        assert_eq!(read_line(&c).expect("served"), "a", "{}", lb.daemon.logs());
    }
    assert!(lb.daemon.wait_log(" CR "), "{}", lb.daemon.logs());
    assert_eq!(a.accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
    // Counted, also with the connection log off.
    assert_eq!(
        lb.metric("tandem_balancer_proxy_header_errors_total{listener=\"l\"}"),
        2.0
    );
}

fn proxy_v2_sig() -> Vec<u8> {
    vec![
        0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
    ]
}

/// A PROXY v2 header with TLVs longer than a first read (here 1 KiB of TLV, as a sender
/// adding SSL or cloud TLVs writes) is accepted; its address is used.
#[test]
fn proxy_v2_header_with_large_tlvs_is_accepted() {
    let a = Backend::start("a", Behavior::Name);
    let lb = lb("      accept_proxy: true\n", &[server("a", &a, "")]);
    let tlv_len = 1000u16;
    let mut h = proxy_v2_sig();
    h.extend_from_slice(&[0x21, 0x11]);
    h.extend_from_slice(&(12 + 3 + tlv_len).to_be_bytes());
    h.extend_from_slice(&[198, 18, 7, 9, 198, 18, 0, 100]);
    h.extend_from_slice(&40001u16.to_be_bytes());
    h.extend_from_slice(&3306u16.to_be_bytes());
    h.push(0xe0);
    h.extend_from_slice(&tlv_len.to_be_bytes());
    h.extend(std::iter::repeat_n(b'x', usize::from(tlv_len)));
    h.extend_from_slice(b"hello\n");
    let s = connect_from(lb.addr, None).expect("c");
    (&s).write_all(&h).expect("w");
    assert_eq!(read_line(&s).expect("l"), "a", "{}", lb.daemon.logs());
    assert_eq!(read_line(&s).expect("echo"), "hello");
    drop(s);
    assert!(
        lb.daemon.wait_log("198.18.7.9:40001 ["),
        "{}",
        lb.daemon.logs()
    );
}

/// A reload that moves a listener to another address under the same name keeps its
/// servers (their admin state) and its per-server series (the removed socket's cleanup
/// must not take the new listener's).
#[test]
fn reload_moving_a_listener_keeps_its_servers_and_series() {
    let a = Backend::start("a", Behavior::Name);
    let b = Backend::start("b", Behavior::Name);
    let lb = lb("", &[server("a", &a, ""), server("b", &b, "")]);
    let up = "tandem_balancer_server_up";
    assert_eq!(
        metric_with(&lb, up, &["listener=\"l\"", "server=\"a\""]),
        Some(1.0)
    );
    let sock = lb.socket.to_string_lossy().to_string();
    let (code, out, err) = tandem(&["balancer", "--socket", &sock, "maint", "l/b"]);
    assert_eq!(code, 0, "{out}{err}");
    let port2 = free_port();
    let base = std::fs::read_to_string(&lb.config).expect("cfg");
    lb.reload(&base.replace(
        &format!("bind: {}", lb.addr),
        &format!("bind: 127.0.0.1:{port2}"),
    ));
    assert!(
        lb.daemon.wait_log("listener l added"),
        "{}",
        lb.daemon.logs()
    );
    lb.reloaded();
    let new: SocketAddr = format!("127.0.0.1:{port2}").parse().expect("addr");
    assert_eq!(
        stat_col(&lb, "b", "status"),
        "MAINT",
        "b stays in maintenance"
    );
    for _ in 0..3 {
        assert_eq!(first_line(new, None).expect("c"), "a");
    }
    let s = connect_from(new, None).expect("c");
    assert_eq!(read_line(&s).expect("l"), "a");
    assert_eq!(
        metric_with(&lb, up, &["listener=\"l\"", "server=\"a\""]),
        Some(1.0),
        "server_up of the moved listener"
    );
    assert_eq!(
        metric_with(
            &lb,
            "tandem_balancer_server_active_connections",
            &["listener=\"l\"", "server=\"a\""]
        ),
        Some(1.0),
        "server_active of the moved listener"
    );
    drop(s);
}

/// A reload that gives a checked server another address (same name) checks the new
/// address: a dead one is taken down, not left up on the old address's checks.
#[test]
fn reload_changing_a_server_address_checks_the_new_one() {
    let a = Backend::start("a", Behavior::Name);
    let b = Backend::start("b", Behavior::Name);
    let lb = lb(
        "      check: { type: tcp, inter: 100ms, rise: 1, fall: 1 }\n",
        &[server("a", &a, ""), server("b", &b, "")],
    );
    assert!(wait_checked(&lb, 0), "{}", lb.daemon.logs());
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_addr = dead.local_addr().expect("addr");
    drop(dead);
    let base = std::fs::read_to_string(&lb.config).expect("cfg");
    lb.reload(&base.replace(
        &format!("address: \"{}\"", a.addr),
        &format!("address: \"{dead_addr}\""),
    ));
    lb.reloaded();
    assert!(
        lb.daemon.wait_log("server l/a is DOWN"),
        "the new address is checked: {}",
        lb.daemon.logs()
    );
    assert_eq!(stat_col(&lb, "a", "status"), "DOWN");
    let m = counts(&lb, 4);
    assert_eq!(m.get("b"), Some(&4), "{m:?}");
}

/// `show stat` quotes a field with a comma (a check's reason), so every row keeps its
/// columns.
#[test]
fn show_stat_quotes_fields_with_commas() {
    let a = Backend::start("a", Behavior::Name);
    let health = Backend::start("health", Behavior::Http);
    health
        .http_status
        .store(503, std::sync::atomic::Ordering::SeqCst);
    let lb = lb(
        &format!(
            "      check: {{ type: http, port: {}, expect_status: 200, inter: 100ms, rise: 1, fall: 1 }}\n",
            health.port()
        ),
        &[server("a", &a, "")],
    );
    assert!(
        lb.daemon.wait_log("server l/a is DOWN"),
        "{}",
        lb.daemon.logs()
    );
    let csv = lb.admin(&["show", "stat"]);
    let lines: Vec<&str> = csv.lines().collect();
    let names = csv_fields(lines[0].trim_start_matches("# "));
    let row = lines
        .iter()
        .find(|l| l.starts_with("l,a,"))
        .expect("row of a");
    let fields = csv_fields(row);
    assert_eq!(fields.len(), names.len(), "{row}");
    let col = |c: &str| {
        let i = names.iter().position(|n| n == c).expect("column");
        fields[i].clone()
    };
    assert_eq!(col("last_chk"), "HTTP status 503, expected 200");
    assert_eq!(col("check_desc"), "Layer7 wrong status");
    assert_eq!(col("check_status"), "L7STS");
    assert_eq!(col("addr"), a.addr.to_string());
    assert_eq!(col("mode"), "tcp");
}

/// A server that reads a request to its EOF, thinks for `delay`, then answers one line
/// and closes (one connection per `accept`, for as many as `n`).
fn slow_after_eof(delay: Duration, n: usize) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let h = std::thread::spawn(move || {
        for _ in 0..n {
            let Ok((mut c, _)) = l.accept() else { return };
            let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
            let mut buf = [0u8; 512];
            while matches!(c.read(&mut buf), Ok(m) if m > 0) {}
            std::thread::sleep(delay);
            let _ = c.write_all(b"late answer\n");
        }
    });
    (addr, h)
}

/// haproxy: once the client has sent its FIN nothing more is read from it, so `client`
/// no longer runs while the session waits for the server (only `server` does); a
/// client that half-closes after its request gets a slow answer.
#[test]
fn half_closed_client_waits_for_a_slow_server() {
    let (addr, h) = slow_after_eof(Duration::from_millis(1200), 1);
    let lb = lb(
        "      timeouts: { client: 300ms, server: 10s }\n",
        &[format!("        - {{ name: slow, address: \"{addr}\" }}\n")],
    );
    let s = connect_from(lb.addr, None).expect("c");
    (&s).write_all(b"query").expect("w");
    s.shutdown(std::net::Shutdown::Write).expect("client FIN");
    assert_eq!(
        read_line(&s).expect("answer"),
        "late answer",
        "{}",
        lb.daemon.logs()
    );
    assert_eq!(read_line(&s).expect("closed"), "");
    assert!(lb.daemon.wait_log(" l l/slow "), "{}", lb.daemon.logs());
    assert!(lb.daemon.logs().contains(" -- "), "{}", lb.daemon.logs());
    let _ = h.join();
}

/// haproxy: with `redispatch`, roundrobin and static-rr retry a failed connect on
/// another server at once while more than one active server is up (no pause, no
/// retrying the dead one until the last retry); the move counts as a redispatch.
#[test]
fn roundrobin_redispatches_on_the_first_retry() {
    let dead = Backend::start("dead", Behavior::Name);
    let dead_addr = dead.addr;
    drop(dead); // refuses connections now
    let good = Backend::start("good", Behavior::Name);
    for balance in ["roundrobin", "static-rr"] {
        let lb = lb(
            &format!(
                "      balance: {balance}\n      retries: 3\n      redispatch: true\n      timeouts: {{ connect: 5s }}\n"
            ),
            &[
                format!("        - {{ name: dead, address: \"{dead_addr}\" }}\n"),
                server("good", &good, ""),
            ],
        );
        // The first pick is `dead` (first in the list); the retry goes to `good`.
        assert_eq!(first_line(lb.addr, None).expect("c"), "good", "{balance}");
        assert!(lb.daemon.wait_log(" l l/good "), "{}", lb.daemon.logs());
        let logs = lb.daemon.logs();
        let line = logs
            .lines()
            .find(|l| l.contains(" l l/good "))
            .unwrap_or_default();
        assert!(
            line.contains("/+1 0/0"),
            "{balance}: one retry, redispatched: {line}"
        );
        assert_eq!(stat_col(&lb, "dead", "wredis"), "1", "{balance}");
        assert_eq!(stat_col(&lb, "dead", "wretr"), "0", "{balance}");
        // haproxy's econ counts sessions that failed to connect, not attempts.
        assert_eq!(stat_col(&lb, "dead", "econ"), "0", "{balance}");
    }
}

/// haproxy's `chkfail` counts only the failed checks of a server that is up (or coming
/// up): the failures of a server that is down already are not counted again and again.
#[test]
fn chkfail_counts_no_failures_while_down() {
    let a = Backend::start("a", Behavior::Name);
    let health = Backend::start("health", Behavior::Http);
    health
        .http_status
        .store(503, std::sync::atomic::Ordering::SeqCst);
    let lb = lb(
        &format!(
            "      check: {{ type: http, port: {}, inter: 50ms, rise: 1, fall: 1 }}\n",
            health.port()
        ),
        &[server("a", &a, "")],
    );
    assert!(
        lb.daemon.wait_log("server l/a is DOWN"),
        "{}",
        lb.daemon.logs()
    );
    let more = wait_for(Duration::from_secs(10), || {
        (health.http_requests.lock().map(|r| r.len()).unwrap_or(0) >= 6).then_some(())
    });
    assert!(more.is_some(), "checks go on while down");
    assert_eq!(stat_col(&lb, "a", "chkfail"), "1");
    assert_eq!(stat_col(&lb, "a", "chkdown"), "1");
}

/// haproxy's BACKEND `weight` is the weight of the servers in use: the active ones, or
/// the backup in use once no active server is left (not the sum of everything).
#[test]
fn backend_weight_counts_the_servers_in_use() {
    let a = Backend::start("a", Behavior::Name);
    let b1 = Backend::start("b1", Behavior::Name);
    let b2 = Backend::start("b2", Behavior::Name);
    let lb = lb(
        "",
        &[
            server("a", &a, ", weight: 3"),
            server("b1", &b1, ", weight: 5, backup: true"),
            server("b2", &b2, ", weight: 7, backup: true"),
        ],
    );
    assert_eq!(stat_col(&lb, "BACKEND", "weight"), "3");
    assert_eq!(stat_col(&lb, "BACKEND", "act"), "1");
    assert_eq!(stat_col(&lb, "BACKEND", "bck"), "2");
    lb.admin(&["set", "server", "l/a", "state", "maint"]);
    assert_eq!(first_line(lb.addr, None).expect("c"), "b1");
    assert_eq!(
        stat_col(&lb, "BACKEND", "weight"),
        "5",
        "the first backup only"
    );
    // No server at all: the refused session is a backend connection error (econ).
    assert_eq!(stat_col(&lb, "BACKEND", "econ"), "0");
    lb.admin(&["set", "server", "l/b1", "state", "maint"]);
    lb.admin(&["set", "server", "l/b2", "state", "maint"]);
    assert_eq!(first_line(lb.addr, None).unwrap_or_default(), "");
    // As haproxy's line: never queued, never connected (-1/-1).
    assert!(
        lb.daemon.wait_log(" l l/<NOSRV> -1/-1/"),
        "{}",
        lb.daemon.logs()
    );
    assert_eq!(stat_col(&lb, "BACKEND", "econ"), "1");
}

/// (backlog, inode) of the socket listening on `addr`, as `ss` reports them.
fn listen_backlog(addr: SocketAddr) -> (u32, String) {
    let out = std::process::Command::new("ss")
        .args(["-Hltne", &format!("sport = :{}", addr.port())])
        .output()
        .expect("run ss");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let f: Vec<&str> = text.split_whitespace().collect();
    let backlog = f.get(2).and_then(|b| b.parse().ok()).expect(&text);
    let ino = f
        .iter()
        .find_map(|x| x.strip_prefix("ino:"))
        .expect(&text)
        .to_string();
    (backlog, ino)
}

/// A reload applies a changed `backlog` to the listening socket it keeps (the same
/// socket: nothing waiting in the old backlog is lost).
#[test]
fn reload_applies_a_changed_backlog_to_the_kept_socket() {
    let a = Backend::start("a", Behavior::Name);
    let lb = lb("      backlog: 17\n", &[server("a", &a, "")]);
    let (backlog, ino) = listen_backlog(lb.addr);
    assert_eq!(backlog, 17);
    let base = std::fs::read_to_string(&lb.config).expect("cfg");
    lb.reload(&base.replace("backlog: 17", "backlog: 33"));
    lb.reloaded();
    assert_eq!(listen_backlog(lb.addr), (33, ino.clone()));
    let s = connect_from(lb.addr, None).expect("connect");
    assert_eq!(read_line(&s).expect("line"), "a");
}

/// The server every one of `n` new connections from `from` reaches (panics when they
/// differ).
fn one_server(lb: &Lb, from: Option<&str>, n: usize) -> String {
    let names: Vec<String> = (0..n)
        .map(|_| first_line(lb.addr, from).expect("connect through the balancer"))
        .collect();
    assert!(names.iter().all(|x| *x == names[0]), "{names:?}");
    names[0].clone()
}

#[test]
fn stick_on_dst_keeps_one_writer_without_failing_back() {
    let mut backends: Vec<Backend> = ["a", "b", "c"]
        .iter()
        .map(|n| Backend::start(n, Behavior::Name))
        .collect();
    let servers: Vec<String> = backends
        .iter()
        .zip(["a", "b", "c"])
        .map(|(b, n)| server(n, b, ""))
        .collect();
    let extra =
        "      check: { type: tcp, inter: 100ms, rise: 2, fall: 2 }\n      stick: { on: dst }\n";
    let lb = lb(extra, &servers);
    // Round robin alone would spread these over a, b, c: the table keeps them on one.
    let first = one_server(&lb, None, 6);
    let table = lb.admin(&["show", "table", "l"]);
    assert!(
        table.starts_with("# table: l, on: dst, size: 100000, used: 1\n"),
        "{table}"
    );
    assert!(
        table.contains(&format!("key=127.0.0.1 server={first} idle=")),
        "{table}"
    );
    let st = lb.status();
    let stick = &st["subsystems"]["balancer"]["listeners"][0]["stick"];
    assert_eq!(stick["on"], "dst");
    assert_eq!(stick["used"], 1);
    assert_eq!(stick["entries"][0]["server"], first.as_str());
    // The writer fails: every new connection moves to one other server.
    let i = ["a", "b", "c"]
        .iter()
        .position(|n| *n == first)
        .expect("a known server");
    let addr = backends[i].addr;
    backends[i].stop();
    assert!(
        lb.daemon.wait_log(&format!("server l/{first} is DOWN")),
        "{}",
        lb.daemon.logs()
    );
    let second = one_server(&lb, None, 6);
    assert_ne!(second, first);
    // It comes back: no fail-back, the clients stay with the second writer (haproxy).
    let _back = Backend::start_on(&addr.to_string(), &first, Behavior::Name);
    assert!(
        lb.daemon.wait_log(&format!("server l/{first} is UP")),
        "{}",
        lb.daemon.logs()
    );
    assert_eq!(one_server(&lb, None, 6), second);
    // Draining keeps sticky clients (haproxy's drain: persistent connections only);
    // a reload with the same `stick` keeps the table.
    lb.admin(&["set", "server", &format!("l/{second}"), "state", "drain"]);
    assert_eq!(one_server(&lb, None, 3), second);
    let text = std::fs::read_to_string(&lb.config).expect("config");
    lb.reload(&text.replace("inter: 100ms", "inter: 150ms"));
    lb.reloaded_times(1);
    assert_eq!(one_server(&lb, None, 3), second);
    // Maintenance moves them, and the new server is stored.
    lb.admin(&["set", "server", &format!("l/{second}"), "state", "maint"]);
    let third = one_server(&lb, None, 4);
    assert_ne!(third, second);
    lb.admin(&["set", "server", &format!("l/{second}"), "state", "ready"]);
    assert_eq!(one_server(&lb, None, 3), third);
    // Clearing the table lets the algorithm pick again.
    assert_eq!(lb.admin(&["clear", "table", "l"]), "l: 1 entries cleared\n");
    assert!(
        lb.daemon
            .wait_log("stick table entries cleared by the operator"),
        "{}",
        lb.daemon.logs()
    );
    let sock = lb.socket.to_string_lossy().to_string();
    let (code, out, _) = tandem(&["balancer", "--socket", &sock, "table", "l"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "# table: l, on: dst, size: 100000, used: 0\n");
    one_server(&lb, None, 2);
    // Without `stick` the table is gone after a reload.
    let text = std::fs::read_to_string(&lb.config).expect("config");
    lb.reload(&text.replace("      stick: { on: dst }\n", ""));
    lb.reloaded_times(2);
    let (code, out, _) = tandem(&["balancer", "--socket", &sock, "table", "l"]);
    assert_eq!(
        (code, out.as_str()),
        (1, "error: listener `l` has no stick table\n")
    );
    let m = counts(&lb, 6);
    assert_eq!(m.len(), 3, "round robin again: {m:?}");
}

#[test]
fn stick_on_src_keeps_each_client_on_its_server() {
    let (a, b) = (
        Backend::start("a", Behavior::Name),
        Backend::start("b", Behavior::Name),
    );
    let lb = lb(
        "      stick: { on: src, expire: 30m, size: 10 }\n",
        &[server("a", &a, ""), server("b", &b, "")],
    );
    let two = one_server(&lb, Some("127.0.0.2"), 5);
    let three = one_server(&lb, Some("127.0.0.3"), 5);
    assert_ne!(
        two, three,
        "round robin gave the second client the other server"
    );
    assert_eq!(one_server(&lb, Some("127.0.0.2"), 3), two);
    let table = lb.admin(&["show", "table"]);
    assert!(
        table.contains(&format!("key=127.0.0.2 server={two} ")),
        "{table}"
    );
    assert!(
        table.contains(&format!("key=127.0.0.3 server={three} ")),
        "{table}"
    );
    assert!(table.contains(" exp="), "{table}");
    assert_eq!(
        lb.admin(&["clear", "table", "l", "key", "127.0.0.2"]),
        "l: 1 entries cleared\n"
    );
    let table = lb.admin(&["show", "table", "l"]);
    assert!(!table.contains("key=127.0.0.2"), "{table}");
    assert!(table.contains("used: 1\n"), "{table}");
}

/// haproxy's `tcp-check send` + `tcp-check expect string` (the ClusterControl role
/// check): a port that accepts is not enough, the reply must hold the text.
#[test]
fn tcp_check_sends_and_expects_a_text() {
    let a = Backend::start("a", Behavior::Name);
    let health = Backend::start("health", Behavior::Http);
    let lb = lb(
        &format!(
            "      check: {{ type: tcp, port: {}, send: \"GET / HTTP/1.0\\r\\n\\r\\n\", expect: \"HTTP/1.1 200\", inter: 100ms, rise: 2, fall: 2 }}\n",
            health.port()
        ),
        &[server("a", &a, "")],
    );
    let up = wait_for(Duration::from_secs(10), || {
        let st = lb.status();
        let srv = &st["subsystems"]["balancer"]["listeners"][0]["servers"][0];
        (srv["last_check"] == "succeeded").then_some(())
    });
    assert!(up.is_some(), "{}", lb.daemon.logs());
    assert_eq!(
        health.http_requests.lock().expect("lock")[0],
        "GET / HTTP/1.0\r\n\r\n"
    );
    health
        .http_status
        .store(503, std::sync::atomic::Ordering::SeqCst);
    assert!(
        lb.daemon.wait_log(
            "server l/a is DOWN (check: reply without `HTTP/1.1 200` (got: \"HTTP/1.1 503 X  Content-Length: 11  Connection: close    not\"), 2/2)"
        ),
        "{}",
        lb.daemon.logs()
    );
    health
        .http_status
        .store(200, std::sync::atomic::Ordering::SeqCst);
    assert!(
        lb.daemon
            .wait_log("server l/a is UP (check: succeeded, 2/2)"),
        "{}",
        lb.daemon.logs()
    );
}

/// A query that runs longer than `timeouts.client` (nothing moves either way meanwhile)
/// still gets its answer, as through haproxy 2.6: the client's timeout half-closes
/// toward the server instead of ending the session, and the line says `cD`.
#[test]
fn a_query_longer_than_the_client_timeout_gets_its_answer() {
    let db = common::mariadb::MariaDb::start();
    let dbs = format!("        - {{ name: db, address: \"{}\" }}\n", db.addr);
    let lb = lb("      timeouts: { client: 1s, server: 30s }\n", &[dbs]);
    let out = common::mariadb::mariadb_client(lb.addr, "root", None, "SELECT SLEEP(3), 42");
    assert_eq!(out, Ok("0\t42".to_string()), "{}", lb.daemon.logs());
    assert!(lb.daemon.wait_log(" cD "), "{}", lb.daemon.logs());
    // An idle client is still let go after its timeout (the server closes on the FIN).
    let s = connect_from(lb.addr, None).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut greeting = [0u8; 4];
    (&s).read_exact(&mut greeting).expect("greeting");
    let mut rest = Vec::new();
    assert!((&s).read_to_end(&mut rest).is_ok(), "closed, not timed out");
}

/// The operator's lines say what is left, and losing the last server raises haproxy's
/// `has no server available!` alert (by a check or by the operator).
#[test]
fn losing_the_last_server_is_an_alert() {
    let mut a = Backend::start("a", Behavior::Name);
    let b = Backend::start("b", Behavior::Name);
    let lb = lb(
        "      check: { type: tcp, inter: 100ms, rise: 1, fall: 1 }\n",
        &[server("a", &a, ""), server("b", &b, ", backup: true")],
    );
    assert!(
        wait_checked(&lb, 0) && wait_checked(&lb, 1),
        "{}",
        lb.daemon.logs()
    );
    lb.admin(&["set", "server", "l/b", "state", "drain"]);
    assert!(
        lb.daemon.wait_log(
            "server l/b set to drain by the operator (was ready); 1 active and 0 backup servers left"
        ),
        "{}",
        lb.daemon.logs()
    );
    assert!(!lb.daemon.logs().contains("has no server available"));
    a.stop();
    assert!(
        lb.daemon
            .wait_log("server l/a is DOWN (check: connection refused, 1/1); 0 active and 0 backup servers left"),
        "{}",
        lb.daemon.logs()
    );
    assert!(
        lb.daemon
            .wait_log("ERROR tandem::balancer: listener l has no server available!"),
        "{}",
        lb.daemon.logs()
    );
}

/// A server's own check timing (haproxy's per-server `fall`, `rise`, `inter`, `port`)
/// over the listener's: the primary leaves after one failure, the other after three.
#[test]
fn servers_keep_their_own_check_timing() {
    let mut a = Backend::start("a", Behavior::Name);
    let mut b = Backend::start("b", Behavior::Name);
    let lb = lb(
        "      check: { type: tcp, inter: 100ms, rise: 2, fall: 3 }\n",
        &[
            server("a", &a, ", check: { fall: 1, rise: 5 }"),
            server("b", &b, ""),
        ],
    );
    assert!(
        wait_checked(&lb, 0) && wait_checked(&lb, 1),
        "{}",
        lb.daemon.logs()
    );
    assert_eq!(
        (
            stat_col(&lb, "a", "check_fall"),
            stat_col(&lb, "a", "check_rise")
        ),
        ("1".to_string(), "5".to_string())
    );
    assert_eq!(stat_col(&lb, "b", "check_fall"), "3");
    a.stop();
    b.stop();
    assert!(
        lb.daemon
            .wait_log("server l/a is DOWN (check: connection refused, 1/1)"),
        "{}",
        lb.daemon.logs()
    );
    assert!(
        lb.daemon
            .wait_log("server l/b is DOWN (check: connection refused, 3/3)"),
        "{}",
        lb.daemon.logs()
    );
}

/// haproxy's runtime words: a weight as a share of the configured one, `get weight`,
/// `show info`.
#[test]
fn admin_weight_percent_get_weight_and_show_info() {
    let (a, b) = (
        Backend::start("a", Behavior::Name),
        Backend::start("b", Behavior::Name),
    );
    let lb = lb("", &[server("a", &a, ", weight: 10"), server("b", &b, "")]);
    assert_eq!(
        lb.admin(&["set", "weight", "l/a", "50%"]),
        "l/a: weight 5 (was 10)\n"
    );
    assert_eq!(lb.admin(&["get", "weight", "l/a"]), "5 (initial 10)\n");
    assert_eq!(
        lb.admin(&["set", "server", "l/a", "weight", "300%"]),
        "l/a: weight 30 (was 5)\n"
    );
    let sock = lb.socket.to_string_lossy().to_string();
    let (code, out, _) = tandem(&["admin", "--socket", &sock, "set", "weight", "l/a", "x%"]);
    assert_eq!(
        (code, out.as_str()),
        (
            1,
            "error: `x%` is not a weight (0..256, or a percentage of the configured weight such as 50%)\n"
        )
    );
    counts(&lb, 3);
    let info = lb.admin(&["show", "info"]);
    assert!(info.starts_with("Name: tandem\nVersion: "), "{info}");
    assert!(
        info.contains(&format!("\nPid: {}\n", lb.daemon.pid())),
        "{info}"
    );
    assert!(info.contains("\nCumConns: 3\n"), "{info}");
    assert!(info.contains("\nUptime_sec: "), "{info}");
}

/// haproxy raises its open-file limit for `maxconn` (and refuses to start without it):
/// tandem raises the soft limit to the hard one and says so when even that is short.
#[test]
fn open_file_limit_is_raised_for_maxconn_or_warned() {
    let a = Backend::start("a", Behavior::Name);
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, oport) = (free_port(), free_port());
    let socket = dir.path().join("admin.sock");
    let run = |extra: &str, limits: &str| {
        let cfg = config_text(port, oport, &socket, extra, &[server("a", &a, "")]);
        let config = write(dir.path(), "tandem.yaml", &cfg);
        let mut cmd = std::process::Command::new("bash");
        cmd.arg("-c")
            .arg(format!("{limits}; exec \"$0\" run -c \"$1\""))
            .arg(common::tandem_bin())
            .arg(&config);
        let d = Daemon::spawn(cmd);
        assert!(d.wait_log("listener l on"), "{}", d.logs());
        d
    };
    // Soft 300, hard 4000: maxconn 1000 needs 2256, the soft limit goes up.
    let d = run("      maxconn: 1000\n", "ulimit -Sn 300; ulimit -Hn 4000");
    assert!(
        d.wait_log("open-file limit raised from 300 to 2256 for the balancer's maxconn"),
        "{}",
        d.logs()
    );
    let soft = std::fs::read_to_string(format!("/proc/{}/limits", d.pid())).expect("limits");
    let line = soft
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap_or_default()
        .to_string();
    assert!(line.split_whitespace().nth(3) == Some("2256"), "{line}");
    drop(d);
    // Hard 1000: not enough for maxconn 5000; the operator is told how far it goes.
    let d = run("      maxconn: 5000\n", "ulimit -Sn 1000; ulimit -Hn 1000");
    assert!(
        d.wait_log("the configured maxconn needs about 10256 open files, but the limit is 1000 (LimitNOFILE / ulimit -Hn): past about 372 connections new ones fail with EMFILE"),
        "{}",
        d.logs()
    );
}

/// An HTTP health endpoint answering each check with the next status pushed to its
/// queue; while the queue is empty it holds the check's connection open unanswered, so
/// the balancer's view of the server stays put until the test pushes the next status.
struct ScriptedCheck {
    port: u16,
    queue: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<u16>>>,
    /// Checks answered, and whether one is waiting for a status.
    answered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    waiting: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl ScriptedCheck {
    fn start() -> ScriptedCheck {
        use std::sync::atomic::Ordering::SeqCst;
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.set_nonblocking(true).expect("nonblocking");
        let port = l.local_addr().expect("addr").port();
        let sc = ScriptedCheck {
            port,
            queue: Default::default(),
            answered: Default::default(),
            waiting: Default::default(),
            stop: Default::default(),
        };
        let (q, n, w, stop) = (
            sc.queue.clone(),
            sc.answered.clone(),
            sc.waiting.clone(),
            sc.stop.clone(),
        );
        std::thread::spawn(move || {
            // Bounded: the test's daemon checks at most a few thousand times.
            for _ in 0..1_000_000 {
                if stop.load(SeqCst) {
                    return;
                }
                let mut c = match l.accept() {
                    Ok((c, _)) => c,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(2));
                        continue;
                    }
                };
                let _ = c.set_nonblocking(false);
                let mut buf = [0u8; 1024];
                let _ = c.read(&mut buf);
                let status = loop {
                    if stop.load(SeqCst) {
                        return;
                    }
                    if let Some(s) = q.lock().ok().and_then(|mut q| q.pop_front()) {
                        break s;
                    }
                    w.store(true, SeqCst);
                    std::thread::sleep(Duration::from_millis(2));
                };
                w.store(false, SeqCst);
                let _ = c.write_all(format!("HTTP/1.0 {status} X\r\n\r\n").as_bytes());
                n.fetch_add(1, SeqCst);
            }
        });
        sc
    }

    /// Answers the next checks with `statuses`, then waits until the check after them is
    /// waiting (so the balancer has taken every one of them into account).
    fn answer(&self, statuses: &[u16]) {
        use std::sync::atomic::Ordering::SeqCst;
        let want = self.answered.load(SeqCst) + statuses.len();
        self.queue
            .lock()
            .expect("queue")
            .extend(statuses.iter().copied());
        let held = wait_for(Duration::from_secs(20), || {
            (self.answered.load(SeqCst) >= want && self.waiting.load(SeqCst)).then_some(())
        });
        assert!(held.is_some(), "the balancer went on checking");
    }
}

impl Drop for ScriptedCheck {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `show stat` shows a check on its way as haproxy does: `UP 2/3`, `UP 1/3` (failures
/// toward `fall`), `DOWN 1/2` (successes toward `rise`), with haproxy's health counter in
/// `check_health`; a result the other way starts over.
#[test]
fn check_health_counts_as_haproxy_and_shows_transitions() {
    let a = Backend::start("a", Behavior::Name);
    let chk = ScriptedCheck::start();
    let lb = lb(
        &format!(
            "      check: {{ type: http, port: {}, inter: 20ms, timeout: 60s, rise: 2, fall: 3 }}\n",
            chk.port
        ),
        &[server("a", &a, "")],
    );
    let row = |lb: &Lb| {
        (
            stat_col(lb, "a", "status"),
            stat_col(lb, "a", "check_health"),
        )
    };
    // (statuses answered, then status and check_health). Fresh: up at `rise`, `UP 1/3`
    // (the first check decides); a success between failures makes it fully up again.
    let up: &[(&[u16], &str, &str)] = &[
        (&[], "UP 1/3", "2"),
        (&[200], "UP", "4"),
        (&[503], "UP 2/3", "3"),
        (&[503], "UP 1/3", "2"),
        (&[200], "UP", "4"),
        (&[503, 503], "UP 1/3", "2"),
    ];
    let steps = |steps: &[(&[u16], &str, &str)]| {
        for (answers, status, health) in steps {
            chk.answer(answers);
            assert_eq!(
                row(&lb),
                (status.to_string(), health.to_string()),
                "after {answers:?}"
            );
        }
    };
    steps(up);
    // `/status` (and `tandem status`, scripts reading it) keeps the plain word.
    assert_eq!(
        lb.status()["subsystems"]["balancer"]["listeners"][0]["servers"][0]["status"],
        "UP"
    );
    assert_eq!(stat_col(&lb, "a", "chkfail"), "4");
    assert!(
        !lb.daemon.logs().contains("is DOWN"),
        "{}",
        lb.daemon.logs()
    );
    // Down, `DOWN 1/2` after a success, back to 0 after a failure, up after two.
    steps(&[
        (&[503], "DOWN", "0"),
        (&[200], "DOWN 1/2", "1"),
        (&[503], "DOWN", "0"),
        (&[200], "DOWN 1/2", "1"),
        (&[200], "UP", "4"),
    ]);
    let logs = lb.daemon.logs();
    assert!(
        logs.contains("server l/a is DOWN (check: HTTP status 503")
            && logs.contains("server l/a is UP"),
        "{logs}"
    );
    assert_eq!(first_line(lb.addr, None).expect("served"), "a");
}

/// One command on a runtime-API socket (haproxy's or tandem's), as `socat` sends it: the
/// line, then everything until the other end closes.
fn raw_admin(sock: &std::path::Path, line: &str) -> String {
    let mut c = std::os::unix::net::UnixStream::connect(sock).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    c.write_all(format!("{line}\n").as_bytes()).expect("send");
    let mut out = String::new();
    c.read_to_string(&mut out).expect("reply");
    out
}

/// A listener of the side-by-side pair: name, `balance`, and servers (name, backend,
/// weight); `check`: health checks every 100ms (haproxy `check inter 100ms`).
struct PairListener<'a> {
    name: &'a str,
    balance: &'a str,
    check: bool,
    stick: bool,
    servers: Vec<(&'a str, SocketAddr, u32)>,
    /// The servers that are backups.
    backups: &'a [&'a str],
    /// More of this listener's settings: tandem's YAML lines (indented as a listener's
    /// keys), haproxy's `listen` lines.
    more: (&'a str, &'a str),
    /// More of each server's settings: tandem's (`, key: value` in its flow mapping),
    /// haproxy's (words after the `server` line).
    server_more: (&'a str, &'a str),
}

/// Debian's haproxy and tandem with the same listeners, servers and weights, each with
/// its admin socket.
struct Pair {
    tandem: Daemon,
    t_sock: PathBuf,
    t_addr: HashMap<String, SocketAddr>,
    _haproxy: Daemon,
    h_sock: PathBuf,
    h_addr: HashMap<String, SocketAddr>,
    /// tandem's observe endpoint.
    t_observe: SocketAddr,
    /// haproxy's `listen stats` (with [`pair_with_stats`]).
    h_stats: Option<SocketAddr>,
    _dir: tempfile::TempDir,
}

fn pair(listeners: &[PairListener]) -> Pair {
    pair_with(listeners, "", "")
}

/// [`pair`], with more settings for every listener: tandem's YAML lines (indented as a
/// listener's keys) and haproxy's `listen` lines.
fn pair_with(listeners: &[PairListener], t_extra: &str, h_extra: &str) -> Pair {
    pair_full(listeners, t_extra, h_extra, false)
}

/// The stats page both serve in [`pair_with_stats`]: its address, realm and user.
const STATS_URI: &str = "/haproxy?stats";
const STATS_REALM: &str = "HAProxy Statistics";
const STATS_USER: &str = "admin:pw";

/// [`pair`] with the statistics page on both: haproxy's `listen stats` (`mode http`,
/// `stats uri`, `auth`, `admin`, `refresh 10s`), tandem's `observe.stats` alike.
fn pair_with_stats(listeners: &[PairListener]) -> Pair {
    pair_full(listeners, "", "", true)
}

fn pair_full(listeners: &[PairListener], t_extra: &str, h_extra: &str, stats: bool) -> Pair {
    let dir = tempfile::tempdir().expect("tempdir");
    let (t_sock, h_sock) = (
        dir.path().join("tandem.sock"),
        dir.path().join("haproxy.sock"),
    );
    let oport = free_port();
    let t_stats = if stats {
        format!(
            ", stats: {{ uri: \"{STATS_URI}\", auth: [\"{STATS_USER}\"], realm: \"{STATS_REALM}\", admin: true, refresh: 10s }}"
        )
    } else {
        String::new()
    };
    let mut t_cfg = format!(
        "node: lb\nobserve: {{ listen: 127.0.0.1:{oport}{t_stats} }}\nadmin: {{ socket: {} }}\nbalancer:\n  listeners:\n",
        t_sock.display()
    );
    let mut h_cfg = format!(
        "global\n  maxconn 100\n  node lb\n  stats socket {} mode 600 level admin\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n",
        h_sock.display()
    );
    let (mut t_addr, mut h_addr) = (HashMap::new(), HashMap::new());
    for l in listeners {
        let (tp, hp) = (free_port(), free_port());
        t_addr.insert(
            l.name.to_string(),
            format!("127.0.0.1:{tp}").parse().expect("addr"),
        );
        h_addr.insert(
            l.name.to_string(),
            format!("127.0.0.1:{hp}").parse().expect("addr"),
        );
        // haproxy's frontends take the global maxconn (100 here).
        t_cfg.push_str(&format!(
            "    - name: {}\n      bind: 127.0.0.1:{tp}\n      balance: {}\n      maxconn: 100\n",
            l.name, l.balance
        ));
        t_cfg.push_str(t_extra);
        t_cfg.push_str(l.more.0);
        if l.check {
            t_cfg.push_str("      check: { type: tcp, inter: 100ms, rise: 2, fall: 3 }\n");
        }
        if l.stick {
            t_cfg.push_str("      stick: { on: src, expire: 30m, size: 100 }\n");
        }
        t_cfg.push_str("      servers:\n");
        h_cfg.push_str(&format!(
            "listen {}\n  bind 127.0.0.1:{hp}\n  balance {}\n{h_extra}{}",
            l.name, l.balance, l.more.1
        ));
        if l.stick {
            h_cfg.push_str("  stick-table type ip size 100 expire 30m\n  stick on src\n");
        }
        for (name, b, w) in &l.servers {
            let backup = l.backups.contains(name);
            t_cfg.push_str(&format!(
                "        - {{ name: {name}, address: \"{b}\", weight: {w}, backup: {backup}{} }}\n",
                l.server_more.0
            ));
            h_cfg.push_str(&format!(
                "  server {name} {b} weight {w}{}{}{}\n",
                if l.check {
                    " check inter 100ms rise 2 fall 3"
                } else {
                    ""
                },
                if backup { " backup" } else { "" },
                l.server_more.1
            ));
        }
    }
    let h_stats = stats.then(|| {
        let port = free_port();
        h_cfg.push_str(&format!(
            "listen stats\n  bind 127.0.0.1:{port}\n  mode http\n  stats enable\n  stats uri {STATS_URI}\n  stats realm {}\n  stats auth {STATS_USER}\n  stats admin if TRUE\n  stats refresh 10s\n",
            STATS_REALM.replace(' ', "\\ ")
        ));
        SocketAddr::from(([127, 0, 0, 1], port))
    });
    let t_path = write(dir.path(), "tandem.yaml", &t_cfg);
    let h_path = write(dir.path(), "haproxy.cfg", &h_cfg);
    let tandem = Daemon::start(&t_path);
    let mut cmd = std::process::Command::new("haproxy");
    cmd.arg("-db").arg("-f").arg(&h_path);
    let haproxy = Daemon::spawn(cmd);
    for (what, sock) in [("tandem", &t_sock), ("haproxy", &h_sock)] {
        assert!(
            wait_for(Duration::from_secs(20), || {
                std::os::unix::net::UnixStream::connect(sock).ok()
            })
            .is_some(),
            "{what} admin socket up: {}{}",
            tandem.logs(),
            haproxy.logs()
        );
    }
    Pair {
        tandem,
        t_sock,
        t_addr,
        _haproxy: haproxy,
        h_sock,
        h_addr,
        t_observe: SocketAddr::from(([127, 0, 0, 1], oport)),
        h_stats,
        _dir: dir,
    }
}

impl PairListener<'_> {
    /// A roundrobin listener without checks, stick table or backups.
    fn plain<'a>(name: &'a str, servers: Vec<(&'a str, SocketAddr, u32)>) -> PairListener<'a> {
        PairListener {
            name,
            balance: "roundrobin",
            check: false,
            stick: false,
            backups: &[],
            more: ("", ""),
            server_more: ("", ""),
            servers,
        }
    }
}

impl Pair {
    /// The same command on both sockets: (tandem's reply, haproxy's).
    fn both(&self, line: &str) -> (String, String) {
        (raw_admin(&self.t_sock, line), raw_admin(&self.h_sock, line))
    }

    /// The fields at `cols` of the first server line of `show servers state <listener>`
    /// agree on both (asked again for up to 10 s: a check running on one side just then
    /// sets CHK_ST_INPROGRESS); tandem's reply.
    fn servers_state_agree(&self, listener: &str, cols: &[usize]) -> String {
        let cmd = format!("show servers state {listener}");
        let fields = |t: &str| -> Vec<String> {
            t.lines()
                .nth(2)
                .unwrap_or_default()
                .split(' ')
                .enumerate()
                .filter(|(i, _)| cols.contains(i))
                .map(|(_, f)| f.to_string())
                .collect()
        };
        let mut last = self.both(&cmd);
        let agreed = wait_for(Duration::from_secs(10), || {
            (fields(&last.0) == fields(&last.1))
                .then_some(())
                .or_else(|| {
                    last = self.both(&cmd);
                    None
                })
        });
        assert!(agreed.is_some(), "{}{}", last.0, last.1);
        last.0
    }

    /// Each command gets the same reply from both.
    fn same(&self, commands: &[&str]) {
        for c in commands {
            let (ours, theirs) = self.both(c);
            assert_eq!(ours, theirs, "`{c}`");
        }
    }

    /// Each command is a change both accept (haproxy's empty reply).
    fn done(&self, commands: &[&str]) {
        for c in commands {
            let (ours, theirs) = self.both(c);
            assert_eq!((ours.as_str(), theirs.as_str()), ("\n", "\n"), "`{c}`");
        }
    }

    /// What `differ` finds between the two replies to `line`, asked again while it finds
    /// something (for at most 10 s): a health check running on one side just then
    /// (`* L4OK`, no `last_chk`) is a moment, not a difference. Empty when they agreed.
    fn agree(&self, line: &str, differ: impl Fn(&str, &str) -> Vec<String>) -> Vec<String> {
        let mut last = Vec::new();
        let agreed = wait_for(Duration::from_secs(10), || {
            let (ours, theirs) = self.both(line);
            last = differ(&ours, &theirs);
            last.is_empty().then_some(())
        });
        if agreed.is_some() { Vec::new() } else { last }
    }
}

/// `show stat typed` lines by their head (`S.3.1.56.last_chk.1`): (tags:type, value).
fn typed_fields(text: &str) -> HashMap<String, (String, String)> {
    text.lines()
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            let (head, rest) = l.split_once(':')?;
            let mut parts = rest.splitn(3, ':');
            let tags = format!(
                "{}:{}",
                parts.next().unwrap_or(""),
                parts.next().unwrap_or("")
            );
            Some((
                head.to_string(),
                (tags, parts.next().unwrap_or("").to_string()),
            ))
        })
        .collect()
}

/// The differences of two `typed` replies: fields one has and not the other, tags and
/// types, and values but for the explained columns.
fn typed_differences(ours: &str, theirs: &str) -> Vec<String> {
    let (o, t) = (typed_fields(ours), typed_fields(theirs));
    let mut diffs = Vec::new();
    let mut keys: Vec<&String> = o.keys().chain(t.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let name = k.split('.').nth(4).unwrap_or("");
        match (o.get(k), t.get(k)) {
            (Some(ov), Some(tv)) => {
                if ov.0 != tv.0 {
                    diffs.push(format!("{k}: tags tandem {} haproxy {}", ov.0, tv.0));
                }
                if !values_agree(name, &ov.1, &tv.1) {
                    diffs.push(format!("{k}: tandem {:?} haproxy {:?}", ov.1, tv.1));
                }
            }
            (o, t) => diffs.push(format!("{k}: tandem {o:?} haproxy {t:?}")),
        }
    }
    diffs
}

/// Every command tandem shares with haproxy's runtime API, on the same config and in the
/// same order, answers byte for byte what Debian's haproxy 2.6 answers: the empty line
/// of a change, and each refusal's exact text (unknown listener or server, bad weight,
/// static map, missing argument). tandem's own CLI still gets tandem's messages.
#[test]
fn runtime_api_replies_match_haproxy_byte_for_byte() {
    let (a, b) = (
        Backend::start("a", Behavior::Name),
        Backend::start("b", Behavior::Name),
    );
    let p = pair(&[
        PairListener {
            name: "l",
            balance: "roundrobin",
            check: false,
            stick: false,
            backups: &[],
            more: ("", ""),
            server_more: ("", ""),
            servers: vec![("a", a.addr, 1), ("b", b.addr, 2)],
        },
        PairListener {
            name: "s",
            balance: "static-rr",
            check: false,
            stick: false,
            backups: &[],
            more: ("", ""),
            server_more: ("", ""),
            servers: vec![("a", a.addr, 3)],
        },
    ]);
    let commands = [
        "set server l/a state drain",
        "set server l/a state ready",
        "set server l/a state maint",
        "set server l/a state bogus",
        "set server l/a state Drain",
        "set server l/a state",
        "set server l/x state drain",
        "set server x/a state drain",
        "set server x/a state bogus",
        "set server l state drain",
        "set server",
        "set server l/a",
        "set server l/a foo",
        "set server l/x weight",
        "set server l/a weight 5",
        "set server l/a weight 300",
        "set server l/a weight abc",
        "set server l/a weight 50%",
        "set server l/a weight",
        "set server l/a state drain extra",
        "set weight l/a 4",
        "set weight l/a",
        "set weight l/x 4",
        "set weight x/a 4",
        "set weight l 4",
        "set weight",
        "set weight l/a 5x",
        "set weight l/a 5%x",
        "set weight l/a -5%",
        "set weight l/a +5",
        "set weight l/a -1",
        "set weight l/a 99999999999999999999",
        "set weight l/a 1e3",
        "set weight l/a 1000%",
        "get weight l/a",
        "set weight l/a 150%",
        "get weight l/a",
        "get weight l/a extra",
        "get weight l/x",
        "get weight x/a",
        "get weight l",
        "get weight",
        "set weight s/a 2",
        "set weight s/a 50%",
        "set weight s/a 0",
        "get weight s/a",
        "set weight s/a 100%",
        "set weight s/a 3",
        "disable server l/a",
        "enable server l/a",
        "disable server l/a extra",
        "enable server l/a",
        "disable server l/x",
        "disable server x/a",
        "disable server",
        "enable server l",
        "set weight l/b 7",
        "get weight l/b",
        "show servers state x",
        "show servers state l/a",
        "show servers conn x",
        "show table",
        "show table x",
        "clear table x",
        "clear table",
        "show stat zz -1 -1",
        // Several commands on a line, and haproxy's interactive mode (hatop, scripts
        // keeping one connection).
        "get weight l/a; get weight l/b",
        "set weight l/a 1; get weight l/a; set weight x/a 1",
        "prompt\nget weight l/a\nset weight l/x 1\nset weight l/a 1\nquit",
        "prompt\nprompt\nget weight l/b",
        "get weight l/a\nset weight l/a 1\nget weight l/b",
    ];
    for c in commands {
        let (ours, theirs) = p.both(c);
        assert_eq!(ours, theirs, "`{c}`\n{}", p.tandem.logs());
    }
    // Both balancers ended in the same state (weights 1 and 7): the same shares.
    let share = |addr: SocketAddr| {
        let mut m: HashMap<String, usize> = HashMap::new();
        for _ in 0..16 {
            *m.entry(first_line(addr, None).expect("connect"))
                .or_default() += 1;
        }
        m
    };
    let (ours, theirs) = (share(p.t_addr["l"]), share(p.h_addr["l"]));
    assert_eq!(ours, theirs);
    assert_eq!((ours["a"], ours["b"]), (2, 14), "{ours:?}");
    // tandem's CLI keeps its own words.
    let sock = p.t_sock.to_string_lossy().to_string();
    let (code, out, _) = tandem(&["balancer", "--socket", &sock, "drain", "l/a"]);
    assert_eq!((code, out.as_str()), (0, "l/a: drain (was ready)\n"));
    let (code, out, _) = tandem(&["admin", "--socket", &sock, "disable", "server", "l/x"]);
    assert_eq!(
        (code, out.as_str()),
        (1, "error: no server `x` in listener `l`\n")
    );
}

/// `show stat` as rows by (pxname, svname), each a map of column name to value.
fn stat_rows(csv: &str) -> HashMap<(String, String), HashMap<String, String>> {
    let mut lines = csv.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("# ")
        .split(',')
        .map(str::to_string)
        .collect();
    let mut rows = HashMap::new();
    for l in lines.filter(|l| !l.is_empty()) {
        let f = csv_fields(l);
        let row: HashMap<String, String> = header.iter().cloned().zip(f).collect();
        let key = (row["pxname"].clone(), row["svname"].clone());
        rows.insert(key, row);
    }
    rows
}

/// The columns where tandem and haproxy differ for a reason, with the reason.
const STAT_EXPLAINED: &[(&str, &str)] = &[
    ("lastchg", "seconds since a change: timing"),
    ("downtime", "seconds: timing"),
    ("check_duration", "milliseconds: timing"),
    ("lastsess", "seconds since the last session: timing"),
    ("qtime", "average times: timing"),
    ("ctime", "average times: timing"),
    ("rtime", "average times: timing"),
    ("ttime", "average times: timing"),
    ("qtime_max", "timing"),
    ("ctime_max", "timing"),
    ("rtime_max", "timing"),
    ("ttime_max", "timing"),
    // Per-second rates depend on when the sessions fell: compared by relation in
    // `rates_and_backend_state_match_haproxy`.
    ("rate", "sessions in the last second: timing"),
    ("rate_max", "the most sessions in one second: timing"),
    ("conn_rate", "timing"),
    ("conn_rate_max", "timing"),
    (
        "need_conn_est",
        "haproxy's estimate of idle server connections to keep (checks count); tandem keeps none",
    ),
];

/// Whether a column's values agree: equal, but for the explained columns (any value)
/// and `smax`: haproxy's two threads may both reserve a slot on one wakeup of the
/// listener and count the one accepted connection as a second, so tandem's `smax`
/// (sessions one at a time here) is at most haproxy's.
fn values_agree(col: &str, ours: &str, theirs: &str) -> bool {
    if STAT_EXPLAINED.iter().any(|(n, _)| *n == col) {
        return true;
    }
    if col == "smax" {
        return matches!(
            (ours.parse::<u64>(), theirs.parse::<u64>()),
            (Ok(o), Ok(t)) if o <= t && (o == 0) == (t == 0)
        );
    }
    ours == theirs
}

/// Every column of `show stat` whose value differs between the two, by name (not
/// position), leaving out the explained ones.
fn stat_differences(ours: &str, theirs: &str) -> Vec<String> {
    let (o, t) = (stat_rows(ours), stat_rows(theirs));
    let mut diffs = Vec::new();
    let mut keys: Vec<_> = t.keys().collect();
    keys.sort();
    for key in keys {
        let Some(orow) = o.get(key) else {
            diffs.push(format!("{key:?}: no such row in tandem's"));
            continue;
        };
        let trow = &t[key];
        let mut cols: Vec<&String> = trow.keys().collect();
        cols.sort();
        for c in cols {
            let (ov, tv) = (orow.get(c).cloned().unwrap_or_default(), &trow[c]);
            // An explained column still holds a value where haproxy's does.
            if STAT_EXPLAINED.iter().any(|(n, _)| n == c) {
                if ov.is_empty() != tv.is_empty() {
                    diffs.push(format!(
                        "{}/{} {c}: tandem {ov:?} haproxy {tv:?}",
                        key.0, key.1
                    ));
                }
                continue;
            }
            if !values_agree(c, &ov, tv) {
                diffs.push(format!(
                    "{}/{} {c}: tandem {ov:?} haproxy {tv:?}",
                    key.0, key.1
                ));
            }
        }
    }
    if o.len() != t.len() {
        diffs.push(format!("{} rows, haproxy {}", o.len(), t.len()));
    }
    diffs
}

/// Every field of `show stat json` that differs between the two (by position in the
/// array of rows and fields), leaving out the values of the explained columns.
fn json_differences(ours: &str, theirs: &str) -> Vec<String> {
    let (o, t): (serde_json::Value, serde_json::Value) =
        match (serde_json::from_str(ours), serde_json::from_str(theirs)) {
            (Ok(o), Ok(t)) => (o, t),
            (o, t) => return vec![format!("not JSON: tandem {o:?} haproxy {t:?}")],
        };
    let (Some(o), Some(t)) = (o.as_array(), t.as_array()) else {
        return vec!["not arrays".to_string()];
    };
    let mut diffs = Vec::new();
    if o.len() != t.len() {
        diffs.push(format!("{} rows, haproxy {}", o.len(), t.len()));
    }
    for (orow, trow) in o.iter().zip(t) {
        let (orow, trow) = (
            orow.as_array().cloned().unwrap_or_default(),
            trow.as_array().cloned().unwrap_or_default(),
        );
        if orow.len() != trow.len() {
            diffs.push(format!("{} fields, haproxy {}", orow.len(), trow.len()));
        }
        for (of, tf) in orow.iter().zip(&trow) {
            let name = tf["field"]["name"].as_str().unwrap_or("");
            let mut keys: Vec<&String> = tf
                .as_object()
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            keys.sort();
            let mut okeys: Vec<&String> = of
                .as_object()
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            okeys.sort();
            if keys != okeys {
                diffs.push(format!("{name}: keys {okeys:?}, haproxy {keys:?}"));
            }
            for k in ["objType", "proxyId", "id", "field", "processNum", "tags"] {
                if of[k] != tf[k] {
                    diffs.push(format!("{name} {k}: tandem {} haproxy {}", of[k], tf[k]));
                }
            }
            if of["value"]["type"] != tf["value"]["type"] {
                diffs.push(format!(
                    "{name} type: tandem {} haproxy {}",
                    of["value"], tf["value"]
                ));
            }
            let text = |v: &serde_json::Value| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if !values_agree(
                name,
                &text(&of["value"]["value"]),
                &text(&tf["value"]["value"]),
            ) {
                diffs.push(format!(
                    "{} {}/{} {name}: tandem {} haproxy {}",
                    tf["objType"], tf["proxyId"], tf["id"], of["value"], tf["value"]
                ));
            }
        }
    }
    diffs
}

/// `show stat` compared column by column (by name) with Debian's haproxy on the same
/// config, fresh and after the same traffic: FRONTEND, server and BACKEND rows hold the
/// same values, empty where haproxy leaves them empty, except the timing columns.
/// `show servers state`, the filters and `typed` agree too.
#[test]
fn show_stat_and_servers_state_match_haproxy_column_by_column() {
    let (a, b) = (
        Backend::start("a", Behavior::Name),
        Backend::start("b", Behavior::Name),
    );
    // A server nothing listens on: its checks are refused on both.
    let dead_port = free_port();
    let dead: SocketAddr = format!("127.0.0.1:{dead_port}").parse().expect("addr");
    let p = pair(&[
        PairListener {
            name: "l",
            balance: "roundrobin",
            check: false,
            stick: false,
            backups: &[],
            more: ("", ""),
            server_more: ("", ""),
            servers: vec![("a", a.addr, 1), ("b", b.addr, 2)],
        },
        PairListener {
            name: "c",
            balance: "roundrobin",
            check: true,
            stick: false,
            backups: &[],
            more: ("", ""),
            server_more: ("", ""),
            servers: vec![("a", a.addr, 1), ("dead", dead, 1)],
        },
    ]);
    // Both have checked: c/a up (L4OK), c/dead down (L4CON).
    let settled = |sock: &std::path::Path| {
        let rows = stat_rows(&raw_admin(sock, "show stat"));
        let st = |s: &str| rows[&("c".to_string(), s.to_string())]["status"].clone();
        (st("a") == "UP" && st("dead") == "DOWN").then_some(())
    };
    assert!(wait_for(Duration::from_secs(20), || settled(&p.t_sock)).is_some());
    assert!(wait_for(Duration::from_secs(20), || settled(&p.h_sock)).is_some());
    let d = p.agree("show stat", stat_differences);
    assert!(d.is_empty(), "fresh:\n{}", d.join("\n"));
    // `show servers conn` of unchecked servers before any traffic: the same lines
    // (haproxy sizes `idle_per_thr[]` by its threads, one per CPU as tandem's count).
    let (ours, theirs) = p.both("show servers conn l");
    assert_eq!(ours, theirs);
    // The same traffic through both: 6 sessions on each listener, one at a time (each
    // ended on both before the next, so `smax` reads alike).
    let idle = |sock: &std::path::Path, l: &str| {
        wait_for(Duration::from_secs(10), || {
            let rows = stat_rows(&raw_admin(sock, "show stat"));
            (rows[&(l.to_string(), "FRONTEND".to_string())]["scur"] == "0").then_some(())
        })
        .is_some()
    };
    for l in ["l", "c"] {
        for _ in 0..6 {
            first_line(p.t_addr[l], None).expect("tandem");
            first_line(p.h_addr[l], None).expect("haproxy");
            assert!(idle(&p.t_sock, l) && idle(&p.h_sock, l), "sessions end");
        }
    }
    let d = p.agree("show stat", stat_differences);
    assert!(d.is_empty(), "used:\n{}", d.join("\n"));

    // The filters keep the same rows: <iid>|<proxy> <type> <sid>, up, no-maint; fewer
    // than three filter words are ignored.
    p.both("disable server c/a");
    for f in [
        "show stat 3 -1 -1",
        "show stat c 2 -1",
        "show stat -1 4 -1",
        "show stat -1 4 1",
        "show stat 2 -1 2",
        "show stat 2 5 -1",
        "show stat 99 -1 -1",
        "show stat -1 -1 -1 up",
        "show stat no-maint",
        "show stat 2",
        "show stat -1 4",
    ] {
        let (ours, theirs) = p.both(f);
        let keys = |csv: &str| {
            let mut k: Vec<(String, String)> = stat_rows(csv).into_keys().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&ours), keys(&theirs), "`{f}`");
        // With `up` or `no-maint`, the BACKEND status says how many servers are up.
        let statuses = |csv: &str| {
            let mut v: Vec<(String, String)> = stat_rows(csv)
                .into_iter()
                .filter(|(k, _)| k.1 == "BACKEND")
                .map(|(k, r)| (k.0, r["status"].clone()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(statuses(&ours), statuses(&theirs), "`{f}`");
        assert!(
            ours.ends_with(",\n\n") || ours.ends_with("\n\n"),
            "{ours:?}"
        );
    }
    p.both("enable server c/a");
    // Back from maintenance, c/a is checked again until fully up on both.
    assert!(wait_for(Duration::from_secs(20), || settled(&p.t_sock)).is_some());
    assert!(wait_for(Duration::from_secs(20), || settled(&p.h_sock)).is_some());

    // `typed`: the same objects, field numbers, names, tags and types, and the same
    // values but for the explained columns.
    // Over every listener too: a checked server's passed check shows an empty
    // `last_chk` text (`:str:`), as in haproxy.
    for c in ["show stat 2 -1 -1 typed", "show stat typed"] {
        let d = p.agree(c, typed_differences);
        assert!(d.is_empty(), "`{c}`:\n{}", d.join("\n"));
    }
    assert!(
        typed_fields(&p.both("show stat typed").0).contains_key("S.3.1.56.last_chk.1"),
        "a passed check's empty last_chk"
    );

    // `json`: the same objects, field by field (object type, proxy and server ids,
    // position, name, process, tags, value type), and the same values but for the
    // explained columns; `json` or `typed`, the last word wins.
    for c in [
        "show stat json",
        "show stat 3 -1 -1 json",
        "show stat -1 4 -1 json",
        "show stat 99 -1 -1 json",
        "show stat typed json",
    ] {
        let d = p.agree(c, json_differences);
        assert!(d.is_empty(), "`{c}`:\n{}", d.join("\n"));
        assert!(p.both(c).0.ends_with("]\n\n"));
    }
    let d = p.agree("show stat json typed", typed_differences);
    assert!(d.is_empty(), "{}", d.join("\n"));
    // `show info json`: every field tandem has is haproxy's, with haproxy's position,
    // tags and type; `show schema json` byte for byte.
    let (ours, theirs) = p.both("show info json");
    let (o, t): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&ours).expect("tandem's info json"),
        serde_json::from_str(&theirs).expect("haproxy's info json"),
    );
    let shape = |v: &serde_json::Value| {
        let mut v = v.clone();
        if let Some(x) = v.get_mut("value").and_then(|x| x.as_object_mut()) {
            x.remove("value");
        }
        v
    };
    let theirs_by_pos: HashMap<u64, serde_json::Value> = t
        .as_array()
        .expect("array")
        .iter()
        .map(|f| (f["field"]["pos"].as_u64().expect("pos"), shape(f)))
        .collect();
    let o = o.as_array().expect("array");
    for f in o {
        let pos = f["field"]["pos"].as_u64().expect("pos");
        assert_eq!(Some(&shape(f)), theirs_by_pos.get(&pos), "{f}");
    }
    for name in [
        "ConnRate",
        "MaxConnRate",
        "SessRate",
        "MaxSessRate",
        "CurrConns",
        "Process_num",
    ] {
        assert!(o.iter().any(|f| f["field"]["name"] == name), "{name}");
    }
    let (ours, theirs) = p.both("show schema json");
    assert_eq!(ours, theirs);

    // `lastchg` restarts on an operator's state change (drain, ready), as in haproxy;
    // `show servers state` then reads the same but for the seconds since that change.
    std::thread::sleep(Duration::from_millis(1100));
    p.both("set server l/a state drain");
    let lastchg = |sock: &std::path::Path| {
        stat_rows(&raw_admin(sock, "show stat"))[&("l".to_string(), "a".to_string())]["lastchg"]
            .parse::<u64>()
            .expect("lastchg")
    };
    assert!(lastchg(&p.t_sock) <= 1 && lastchg(&p.h_sock) <= 1);
    p.both("set weight l/b 5");
    for c in [
        "show servers state",
        "show servers state l",
        "show servers state c",
    ] {
        let norm = |s: &str| -> String {
            s.lines()
                .map(|l| {
                    let mut f: Vec<&str> = l.split(' ').collect();
                    if f.len() == 25 && !l.starts_with('#') {
                        f[9] = "T";
                    }
                    f.join(" ") + "\n"
                })
                .collect()
        };
        let d = p.agree(c, |ours, theirs| {
            if norm(ours) == norm(theirs) {
                Vec::new()
            } else {
                vec![format!("tandem:\n{ours}haproxy:\n{theirs}")]
            }
        });
        assert!(d.is_empty(), "`{c}`: {}", d.join("\n"));
        assert!(
            p.both(c).0.starts_with("1\n# be_id be_name srv_id "),
            "`{c}`"
        );
    }
}

/// The per-second rates and the BACKEND row's own up/down read as haproxy's for the
/// same traffic and the same admin commands on both. Rates depend on when sessions fall,
/// so they are checked by relation: 0 before any traffic; after a burst of N sessions at
/// least 1 and at most N (exactly N, `rate` too, when the burst and the reading all fell
/// within one second: one counting period); `rate` 0 again and the maxima kept after more
/// than two quiet seconds. The BACKEND goes DOWN when its last usable server (the backup
/// once the active one is in maintenance) drains, counts one `chkdown`, its `downtime`
/// runs with `lastchg` while it is down and stops when a server is back.
#[test]
fn rates_and_backend_state_match_haproxy() {
    let (a, b) = (
        Backend::start("a", Behavior::Name),
        Backend::start("b", Behavior::Name),
    );
    let p = pair(&[PairListener {
        name: "r",
        balance: "roundrobin",
        check: true,
        stick: false,
        servers: vec![("a", a.addr, 1), ("b", b.addr, 1)],
        backups: &["b"],
        more: ("", ""),
        server_more: ("", ""),
    }]);
    let both = [(&p.t_sock, p.t_addr["r"]), (&p.h_sock, p.h_addr["r"])];
    let rows = |sock: &std::path::Path| -> HashMap<String, HashMap<String, String>> {
        stat_rows(&raw_admin(sock, "show stat"))
            .into_iter()
            .map(|(k, v)| (k.1, v))
            .collect()
    };
    let num = |r: &HashMap<String, HashMap<String, String>>, sv: &str, col: &str| -> usize {
        r[sv][col]
            .parse()
            .unwrap_or_else(|_| panic!("{sv} {col}: {:?}", r[sv][col]))
    };
    let info = |sock: &std::path::Path| -> HashMap<String, usize> {
        raw_admin(sock, "show info")
            .lines()
            .filter_map(|l| l.split_once(": "))
            .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
            .collect()
    };
    let checked_up = |sock: &std::path::Path| {
        let r = rows(sock);
        (r["a"]["status"] == "UP" && r["b"]["status"] == "UP").then_some(())
    };
    for (sock, _) in both {
        assert!(wait_for(Duration::from_secs(20), || checked_up(sock)).is_some());
    }
    // (row, rate columns) of `show stat`; `show info`'s rates.
    let rate_cols: &[(&str, &[&str])] = &[
        (
            "FRONTEND",
            &["rate", "rate_max", "conn_rate", "conn_rate_max"],
        ),
        ("a", &["rate", "rate_max"]),
        ("BACKEND", &["rate", "rate_max"]),
    ];
    let info_rates = ["ConnRate", "MaxConnRate", "SessRate", "MaxSessRate"];
    for (sock, _) in both {
        let r = rows(sock);
        for (sv, cols) in rate_cols {
            for c in *cols {
                assert_eq!(num(&r, sv, c), 0, "{} {sv} {c}", sock.display());
            }
        }
        assert_eq!(
            (num(&r, "FRONTEND", "rate_lim"), num(&r, "b", "rate_max")),
            (0, 0)
        );
        let i = info(sock);
        for k in info_rates.iter().chain(&["ConnRateLimit", "SessRateLimit"]) {
            assert_eq!(i.get(*k), Some(&0), "{k}");
        }
    }

    // A burst of N sessions through each (all connected, then each answered: the one
    // active server takes them all).
    const N: usize = 8;
    let mut maxima = Vec::new();
    for (sock, addr) in both {
        let t0 = std::time::Instant::now();
        let conns: Vec<TcpStream> = (0..N)
            .map(|_| connect_from(addr, None).expect("connect"))
            .collect();
        for c in &conns {
            assert_eq!(read_line(c).expect("answer"), "a");
        }
        let (r, i) = (rows(sock), info(sock));
        // Every session and the reading fell in one second: one period of the counters.
        let one_period = t0.elapsed() < Duration::from_millis(900);
        drop(conns);
        // (name, value, is a maximum)
        let mut seen: Vec<(String, usize, bool)> = info_rates
            .iter()
            .map(|k| (k.to_string(), i[*k], k.starts_with("Max")))
            .collect();
        for (sv, cols) in rate_cols {
            for c in *cols {
                seen.push((format!("{sv} {c}"), num(&r, sv, c), c.ends_with("max")));
            }
        }
        for (what, v, max) in seen {
            if one_period {
                assert_eq!(v, N, "{} {what}", sock.display());
            } else if max {
                assert!((1..=N).contains(&v), "{} {what}: {v}", sock.display());
            } else {
                assert!(v <= N, "{} {what}: {v}", sock.display());
            }
        }
        assert_eq!(num(&r, "b", "rate_max"), 0);
        assert_eq!(num(&r, "FRONTEND", "stot"), N);
        maxima.push(
            rate_cols
                .iter()
                .flat_map(|(sv, cols)| {
                    cols.iter()
                        .filter(|c| c.ends_with("max"))
                        .map(|c| num(&r, sv, c))
                })
                .collect::<Vec<_>>(),
        );
    }
    // More than two seconds without a session: every rate reads 0, the maxima stay.
    std::thread::sleep(Duration::from_millis(2100));
    for ((sock, _), max) in both.iter().zip(&maxima) {
        let (r, i) = (rows(sock), info(sock));
        for (sv, cols) in rate_cols {
            for c in cols.iter().filter(|c| !c.ends_with("max")) {
                assert_eq!(num(&r, sv, c), 0, "{} {sv} {c}", sock.display());
            }
        }
        let now: Vec<usize> = rate_cols
            .iter()
            .flat_map(|(sv, cols)| {
                cols.iter()
                    .filter(|c| c.ends_with("max"))
                    .map(|c| num(&r, sv, c))
            })
            .collect();
        assert_eq!(&now, max);
        assert_eq!((i["ConnRate"], i["SessRate"]), (0, 0));
        assert!(i["MaxConnRate"] >= 1 && i["MaxSessRate"] >= 1);
    }

    // The BACKEND row's own state, step by step, the same on both.
    let be = |sock: &std::path::Path| -> Vec<String> {
        let r = rows(sock);
        ["status", "act", "bck", "weight", "chkdown"]
            .iter()
            .map(|c| r["BACKEND"][*c].clone())
            .collect()
    };
    let down_and_change = |sock: &std::path::Path| -> (usize, usize) {
        let r = rows(sock);
        (
            num(&r, "BACKEND", "downtime"),
            num(&r, "BACKEND", "lastchg"),
        )
    };
    let (ours, theirs) = (be(&p.t_sock), be(&p.h_sock));
    assert_eq!(ours, theirs);
    assert_eq!(ours, ["UP", "1", "1", "1", "0"]);
    // The active server in maintenance: the backup is in use, still UP.
    p.both("set server r/a state maint");
    let (ours, theirs) = (be(&p.t_sock), be(&p.h_sock));
    assert_eq!(ours, theirs);
    assert_eq!(ours, ["UP", "0", "1", "1", "0"]);
    // The backup drains: no server left, DOWN; its down time runs with lastchg.
    p.both("set server r/b state drain");
    let (ours, theirs) = (be(&p.t_sock), be(&p.h_sock));
    assert_eq!(ours, theirs);
    assert_eq!(ours, ["DOWN", "0", "0", "0", "1"]);
    let (ours, theirs) = p.both("show stat up");
    let status =
        |csv: &str| stat_rows(csv)[&("r".to_string(), "BACKEND".to_string())]["status"].clone();
    assert_eq!(status(&ours), status(&theirs));
    assert_eq!(status(&ours), "DOWN (1/2)");
    let mut before = Vec::new();
    for (sock, _) in both {
        let (down, change) = down_and_change(sock);
        assert_eq!(down, change, "{}", sock.display());
        before.push(down);
    }
    std::thread::sleep(Duration::from_millis(1100));
    for ((sock, _), was) in both.iter().zip(&before) {
        let (down, change) = down_and_change(sock);
        assert_eq!(down, change, "{}", sock.display());
        assert!(down > *was, "{}: {down} after {was}", sock.display());
    }
    // Back from drain: UP again, one down counted, the down time kept and no longer
    // running.
    p.both("set server r/b state ready");
    let (ours, theirs) = (be(&p.t_sock), be(&p.h_sock));
    assert_eq!(ours, theirs);
    assert_eq!(ours, ["UP", "0", "1", "1", "1"]);
    let kept: Vec<usize> = both.iter().map(|(s, _)| down_and_change(s).0).collect();
    assert!(kept.iter().all(|d| *d >= 1), "{kept:?}");
    // haproxy counts the server's time draining as its own down time once it is ready
    // again: more than a second here, on both.
    for (sock, _) in both {
        assert!(num(&rows(sock), "b", "downtime") >= 1, "{}", sock.display());
    }
    std::thread::sleep(Duration::from_millis(1100));
    let later: Vec<usize> = both.iter().map(|(s, _)| down_and_change(s).0).collect();
    assert_eq!(kept, later);
    p.both("set server r/a state ready");
    assert!(wait_for(Duration::from_secs(20), || checked_up(&p.t_sock)).is_some());
    assert!(wait_for(Duration::from_secs(20), || checked_up(&p.h_sock)).is_some());
    let (ours, theirs) = (be(&p.t_sock), be(&p.h_sock));
    assert_eq!(ours, theirs);
    assert_eq!(ours, ["UP", "1", "1", "1", "1"]);
    // And every other column as haproxy's.
    let d = p.agree("show stat", stat_differences);
    assert!(d.is_empty(), "{}", d.join("\n"));
}

/// A session whose server refuses it is retried on that server (haproxy's 3 retries, no
/// redispatch) and then closed; haproxy counts each attempt as one of the server's
/// sessions (`stot`, `connect`, `rate_max`, `lastsess`), the balancing's choice once
/// (`lbtot`), and the failure in `econ` and `wretr`. The same traffic through both
/// gives the same columns.
#[test]
fn refused_attempts_count_as_haproxy_counts_them() {
    let a = Backend::start("a", Behavior::Name);
    let dead: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let p = pair(&[PairListener {
        name: "u",
        balance: "roundrobin",
        check: false,
        stick: false,
        servers: vec![("a", a.addr, 1), ("dead", dead, 1)],
        backups: &[],
        more: ("", ""),
        server_more: ("", ""),
    }]);
    // Roundrobin: a, then dead (refused 4 times, then closed), one at a time on each
    // side (the two sides at once).
    let drive = |sock: PathBuf, addr: SocketAddr| {
        std::thread::spawn(move || {
            let idle = || {
                wait_for(Duration::from_secs(20), || {
                    let rows = stat_rows(&raw_admin(&sock, "show stat"));
                    (rows[&("u".to_string(), "FRONTEND".to_string())]["scur"] == "0").then_some(())
                })
                .is_some()
            };
            let first = first_line(addr, None).ok();
            assert!(idle(), "first session ends");
            let second = first_line(addr, None).ok();
            assert!(idle(), "second session ends");
            (first, second)
        })
    };
    let t = drive(p.t_sock.clone(), p.t_addr["u"]);
    let h = drive(p.h_sock.clone(), p.h_addr["u"]);
    let (t, h) = (
        t.join().expect("tandem side"),
        h.join().expect("haproxy side"),
    );
    assert_eq!(t, h);
    assert_eq!(t.0.as_deref(), Some("a"));
    assert_eq!(
        t.1.as_deref().unwrap_or(""),
        "",
        "the refused session is closed"
    );
    let d = p.agree("show stat", stat_differences);
    assert!(d.is_empty(), "{}", d.join("\n"));
    let rows = stat_rows(&p.both("show stat").0);
    let col = |sv: &str, c: &str| rows[&("u".to_string(), sv.to_string())][c].clone();
    assert_eq!(
        ["stot", "connect", "lbtot", "econ", "wretr"].map(|c| col("dead", c)),
        ["4", "4", "1", "1", "3"]
    );
    assert_eq!(
        ["stot", "lbtot", "connect"].map(|c| col("BACKEND", c)),
        ["2", "2", "5"]
    );
}

/// `c` was closed by the far end (EOF or reset) within 10 s, not left open.
fn assert_closed(c: &TcpStream, what: &str) {
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut rest = Vec::new();
    let closed = (&*c).read_to_end(&mut rest);
    assert!(
        !matches!(&closed, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
        "{what}: {closed:?}"
    );
}

/// `show table` and `clear table` on a `stick on src` listener read as haproxy's: the
/// table line byte for byte, each entry's key, server id and name (its address and
/// expiry in ms differ by nature).
#[test]
fn stick_table_commands_match_haproxy() {
    let (a, b) = (
        Backend::start("a", Behavior::Name),
        Backend::start("b", Behavior::Name),
    );
    let p = pair(&[PairListener {
        name: "t",
        balance: "roundrobin",
        check: false,
        stick: true,
        backups: &[],
        more: ("", ""),
        server_more: ("", ""),
        servers: vec![("a", a.addr, 1), ("b", b.addr, 1)],
    }]);
    let (ours, theirs) = p.both("show table t");
    assert_eq!(ours, theirs);
    assert_eq!(ours, "# table: t, type: ip, size:100, used:0\n\n");
    for ip in ["127.0.0.2", "127.0.0.3"] {
        let ours = first_line(p.t_addr["t"], Some(ip)).expect("tandem");
        let theirs = first_line(p.h_addr["t"], Some(ip)).expect("haproxy");
        assert_eq!(ours, theirs, "{ip}");
    }
    // haproxy stores the entry as the session ends; wait for both to hold two.
    let used2 = |sock: &std::path::Path| {
        wait_for(Duration::from_secs(10), || {
            raw_admin(sock, "show table")
                .contains("used:2")
                .then_some(())
        })
        .is_some()
    };
    assert!(used2(&p.t_sock) && used2(&p.h_sock));
    p.same(&["show table", "show table x", "show table t extra"]);
    let entries = |text: &str| -> Vec<String> {
        let mut v: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with("0x"))
            .map(|l| {
                l.split(' ')
                    .filter(|w| {
                        w.starts_with("key=")
                            || w.starts_with("server_id=")
                            || w.starts_with("server_key=")
                            || w.starts_with("use=")
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        v.sort();
        v
    };
    let (ours, theirs) = p.both("show table t");
    assert_eq!(entries(&ours), entries(&theirs), "{ours}{theirs}");
    assert_eq!(entries(&ours).len(), 2, "{ours}");
    for c in [
        "clear table t key 127.0.0.2",
        "clear table t key abc",
        "clear table t key",
        "show table t",
        "clear table t",
        "show table t",
    ] {
        let (ours, theirs) = p.both(c);
        if c == "show table t" {
            assert_eq!(entries(&ours), entries(&theirs), "`{c}`");
            assert_eq!(ours.lines().next(), theirs.lines().next(), "`{c}`");
        } else {
            assert_eq!(ours, theirs, "`{c}`");
        }
    }
}

/// `show info` lines as (field number, name, tags:type) from `typed`, or names from the
/// plain form.
fn info_typed_heads(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            // `8.Uptime_sec.1:MDP:u32:5`: the head and the tags and type.
            let mut parts = l.splitn(4, ':');
            let head = parts.next().unwrap_or("");
            let tags = parts.next().unwrap_or("");
            let ty = parts.next().unwrap_or("");
            format!("{head}:{tags}:{ty}")
        })
        .collect()
}

/// The text after a line's last `:"` (a `desc` line's description), by the line's head.
fn descriptions(text: &str, head: impl Fn(&str) -> String) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (_, d) = l.rsplit_once(":\"").unwrap_or(("", ""));
            (head(l), d.trim_end_matches('"').to_string())
        })
        .collect()
}

/// `show info` has haproxy 2.6.12's fields in its order, with its numbers, tags, types
/// and descriptions, in the plain, `typed`, `json` and `desc` forms; the values that
/// mean the same on both read the same (limits, the connections and jobs, listeners
/// counting the admin socket, the node, the features neither uses), the others are
/// consistent with what went through. `show stat typed desc` describes each field as
/// haproxy does; `show stat desc` and `show stat json desc` are the plain forms.
#[test]
fn show_info_and_descriptions_match_haproxy() {
    let a = Backend::start("a", Behavior::Name);
    let p = pair(&[PairListener {
        name: "i",
        balance: "roundrobin",
        check: false,
        stick: false,
        backups: &[],
        more: ("", ""),
        server_more: ("", ""),
        servers: vec![("a", a.addr, 1)],
    }]);
    let (ours, theirs) = p.both("show info typed");
    assert_eq!(info_typed_heads(&ours), info_typed_heads(&theirs), "{ours}");
    assert_eq!(info_typed_heads(&ours).len(), 69);
    let names = |t: &str| -> Vec<String> {
        t.lines()
            .filter_map(|l| l.split_once(": ").map(|(n, _)| n.to_string()))
            .collect()
    };
    let (ours, theirs) = p.both("show info");
    assert_eq!(names(&ours), names(&theirs));
    assert!(ours.ends_with("\n\n"));
    let values = |t: &str| -> HashMap<String, String> {
        t.lines()
            .filter_map(|l| l.split_once(": "))
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    };
    let (o, t) = (values(&ours), values(&theirs));
    for k in [
        "Nbproc",
        "Process_num",
        "Memmax_MB",
        "PoolFailed",
        "Maxconn",
        "Hard_maxconn",
        "CurrConns",
        "MaxSslConns",
        "CurrSslConns",
        "CumSslConns",
        "ConnRate",
        "ConnRateLimit",
        "MaxConnRate",
        "SessRate",
        "SessRateLimit",
        "MaxSessRate",
        "SslRate",
        "SslRateLimit",
        "MaxSslRate",
        "SslFrontendKeyRate",
        "SslFrontendMaxKeyRate",
        "SslFrontendSessionReuse_pct",
        "SslBackendKeyRate",
        "SslBackendMaxKeyRate",
        "SslCacheLookups",
        "SslCacheMisses",
        "CompressBpsIn",
        "CompressBpsOut",
        "CompressBpsRateLim",
        "node",
        "Stopping",
        "Jobs",
        "Unstoppable Jobs",
        "Listeners",
        "ActivePeers",
        "ConnectedPeers",
        "DroppedLogs",
        "BusyPolling",
        "FailedResolutions",
        "DebugCommandsIssued",
        "CumRecvLogs",
        "Memmax_bytes",
        "Tainted",
    ] {
        assert_eq!(o.get(k), t.get(k), "{k}\n{ours}\n{theirs}");
    }
    assert_eq!(
        (
            o["Maxconn"].as_str(),
            o["Listeners"].as_str(),
            o["node"].as_str()
        ),
        ("100", "2", "lb")
    );
    let num = |k: &str| -> u64 { o[k].parse().unwrap_or_else(|_| panic!("{k}: {}", o[k])) };
    assert_eq!(o["Pid"], p.tandem.pid().to_string());
    assert!(o["Uptime"].starts_with("0d 0h00m"), "{}", o["Uptime"]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(num("Start_time_sec") + num("Uptime_sec") <= now + 1);
    assert!(num("Start_time_sec") + num("Uptime_sec") + 5 >= now);
    assert!(num("Idle_pct") <= 100 && num("Nbthread") >= 1 && num("Tasks") >= 1);
    assert!(num("Ulimit-n") > 0 && num("Maxsock") >= 2 * num("Maxconn"));
    assert!(num("PoolAlloc_bytes") > 0);
    assert_eq!(
        o["Version"],
        o["Build info"].split('-').next().unwrap_or("")
    );
    // Two sessions through tandem: counted, and their bytes out.
    for _ in 0..2 {
        assert_eq!(first_line(p.t_addr["i"], None).expect("session"), "a");
    }
    let drained = wait_for(Duration::from_secs(10), || {
        let v = values(&raw_admin(&p.t_sock, "show info"));
        (v["CurrConns"] == "0" && v["CumConns"] == "2").then_some(v)
    })
    .expect("sessions counted");
    assert_eq!(drained["CumReq"], "2");
    assert_eq!(
        drained["MaxSessRate"].parse::<u64>().ok().map(|v| v >= 1),
        Some(true)
    );
    assert!(drained["TotalBytesOut"].parse::<u64>().expect("bytes") >= 4);
    // typed and JSON: the same fields as haproxy's, JSON valid.
    let (ours, theirs) = p.both("show info json");
    let fields = |t: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(t).expect("json");
        v.as_array()
            .expect("array")
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} {}",
                    f["field"]["pos"], f["field"]["name"], f["tags"], f["value"]["type"]
                )
            })
            .collect()
    };
    assert_eq!(fields(&ours), fields(&theirs));
    // desc: each line ends with haproxy's description (none in JSON).
    for form in ["show info desc", "show info typed desc"] {
        let (ours, theirs) = p.both(form);
        let head = |l: &str| l.split(':').next().unwrap_or("").to_string();
        assert_eq!(
            descriptions(&ours, head),
            descriptions(&theirs, head),
            "{form}"
        );
    }
    let (ours, theirs) = p.both("show info json desc");
    assert_eq!(fields(&ours), fields(&theirs));
    let (ours, theirs) = p.both("show stat typed desc");
    let head = |l: &str| l.split(':').next().unwrap_or("").to_string();
    let (od, td) = (descriptions(&ours, head), descriptions(&theirs, head));
    assert_eq!(od, td);
    assert!(od.len() > 100 && od.iter().all(|(_, d)| !d.is_empty()));
    let d = typed_differences(
        &raw_admin(&p.t_sock, "show stat typed"),
        &raw_admin(&p.h_sock, "show stat typed"),
    );
    assert!(d.iter().all(|l| !l.contains("tags")), "{}", d.join("\n"));
    let (a, b) = (
        raw_admin(&p.t_sock, "show stat"),
        raw_admin(&p.t_sock, "show stat desc"),
    );
    assert_eq!(a.lines().next(), b.lines().next());
    let rows = |t: &str| -> usize {
        serde_json::from_str::<serde_json::Value>(t)
            .expect("json")
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(rows(&raw_admin(&p.t_sock, "show stat json desc")), 3);
}

/// With `retries: 3` and `redispatch: true` over several servers that refuse
/// connections, each session's retries visit the servers in haproxy 2.6's order (a
/// redispatch asks the balancing again, the refusing server skipped once, its turn
/// used), so the same sessions through both give every server the same `lbtot`,
/// `wredis`, `wretr`, `stot` and `econ`, for `roundrobin` and `static-rr`, and land on
/// the same servers.
#[test]
fn redispatch_visits_servers_in_haproxys_order() {
    let (a, b) = (
        Backend::start("a", Behavior::Name),
        Backend::start("b", Behavior::Name),
    );
    let dead = || -> SocketAddr { format!("127.0.0.1:{}", free_port()).parse().expect("addr") };
    let (d1, d2, d3) = (dead(), dead(), dead());
    let p = pair_with(
        &[
            PairListener {
                name: "r",
                balance: "roundrobin",
                check: false,
                stick: false,
                backups: &[],
                more: ("", ""),
                server_more: ("", ""),
                servers: vec![
                    ("d1", d1, 1),
                    ("d2", d2, 1),
                    ("a", a.addr, 1),
                    ("d3", d3, 1),
                    ("b", b.addr, 1),
                ],
            },
            PairListener {
                name: "s",
                balance: "static-rr",
                check: false,
                stick: false,
                backups: &[],
                more: ("", ""),
                server_more: ("", ""),
                servers: vec![
                    ("d1", d1, 1),
                    ("a", a.addr, 2),
                    ("d2", d2, 1),
                    ("d3", d3, 1),
                ],
            },
            PairListener {
                name: "c",
                balance: "leastconn",
                check: false,
                stick: false,
                backups: &[],
                more: ("", ""),
                server_more: ("", ""),
                servers: vec![
                    ("d1", d1, 1),
                    ("d2", d2, 1),
                    ("a", a.addr, 1),
                    ("b", b.addr, 1),
                ],
            },
            PairListener {
                name: "f",
                balance: "first",
                check: false,
                stick: false,
                backups: &[],
                more: ("", ""),
                server_more: ("", ""),
                servers: vec![("d1", d1, 1), ("d2", d2, 1), ("a", a.addr, 1)],
            },
        ],
        "      retries: 3\n      redispatch: true\n",
        "  retries 3\n  option redispatch\n",
    );
    for l in ["r", "s", "c", "f"] {
        // One session at a time on each side (the two sides at once).
        let drive = |sock: PathBuf, addr: SocketAddr| {
            let l = l.to_string();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                for _ in 0..7 {
                    got.push(first_line(addr, None).unwrap_or_default());
                    let idle = wait_for(Duration::from_secs(20), || {
                        let rows = stat_rows(&raw_admin(&sock, "show stat"));
                        (rows[&(l.clone(), "FRONTEND".to_string())]["scur"] == "0").then_some(())
                    });
                    assert!(idle.is_some(), "session ends");
                }
                got
            })
        };
        let t = drive(p.t_sock.clone(), p.t_addr[l]);
        let h = drive(p.h_sock.clone(), p.h_addr[l]);
        let (t, h) = (t.join().expect("tandem"), h.join().expect("haproxy"));
        assert_eq!(t, h, "{l}: servers reached");
        let counters = |sock: &std::path::Path| -> Vec<String> {
            let rows = stat_rows(&raw_admin(sock, "show stat"));
            let mut v: Vec<String> = rows
                .iter()
                .filter(|((px, _), _)| px == l)
                .map(|((_, sv), r)| {
                    format!(
                        "{sv}: lbtot {} wredis {} wretr {} stot {} econ {}",
                        r["lbtot"], r["wredis"], r["wretr"], r["stot"], r["econ"]
                    )
                })
                .collect();
            v.sort();
            v
        };
        let (ours, theirs) = (counters(&p.t_sock), counters(&p.h_sock));
        assert_eq!(ours, theirs, "{l}");
        // Some sessions were redispatched more than once.
        assert!(
            ours.iter()
                .any(|r| r.starts_with("d2") && !r.contains("wredis 0")),
            "{ours:?}"
        );
    }
}

/// The other runtime commands operators use on a `mode tcp` haproxy answer as haproxy
/// 2.6.12's: `show backend`, `show env NAME`, `disable health`/`enable health` (the check
/// stops, a down server stays `DOWN` and an up one reads `no check`, the check columns
/// empty, `show servers state`'s check state 2), `clear counters` (the maxima) and
/// `clear counters all` (every counter; the states stay), `shutdown sessions server`
/// (the server's sessions closed), with haproxy's refusals byte for byte; `show stat`
/// after each step agrees with haproxy's.
#[test]
fn runtime_commands_match_haproxy() {
    let a = Backend::start("a", Behavior::Name);
    let dead: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let p = pair(&[
        PairListener {
            name: "h",
            balance: "roundrobin",
            check: true,
            stick: false,
            backups: &[],
            more: ("", ""),
            server_more: ("", ""),
            servers: vec![("a", a.addr, 1), ("d", dead, 1)],
        },
        PairListener::plain("k", vec![("a", a.addr, 1)]),
    ]);
    p.same(&[
        "show backend",
        "show env TANDEM_TEST_NO_SUCH_VARIABLE",
        "disable health h/x",
        "disable health x/a",
        "disable health h",
        "disable health",
        "enable health k/a",
        "enable health h/x",
        "enable health",
        "shutdown sessions server h/x",
        "shutdown sessions server h",
        "shutdown sessions server",
    ]);
    let (ours, _) = p.both("show env PATH");
    assert!(
        ours.starts_with("PATH=") && ours.ends_with("\n\n"),
        "{ours}"
    );
    let (ours, _) = p.both("show version");
    assert!(
        ours.ends_with("\n\n") && ours.lines().count() == 2,
        "{ours}"
    );
    let status = |sock: &std::path::Path, sv: &str| {
        stat_rows(&raw_admin(sock, "show stat"))[&("h".to_string(), sv.to_string())]["status"]
            .clone()
    };
    for sock in [&p.t_sock, &p.h_sock] {
        let settled = wait_for(Duration::from_secs(20), || {
            (status(sock, "a") == "UP" && status(sock, "d") == "DOWN").then_some(())
        });
        assert!(settled.is_some(), "{}", sock.display());
    }
    // Health checks stopped: the states stay, the check columns go.
    p.done(&[
        "disable health h/a",
        "disable health h/d",
        "disable health k/a",
    ]);
    let d = p.agree("show stat", stat_differences);
    assert!(d.is_empty(), "{}", d.join("\n"));
    assert_eq!(status(&p.t_sock, "a"), "no check");
    assert_eq!(status(&p.t_sock, "d"), "DOWN");
    let check_state = |sock: &std::path::Path| -> Vec<String> {
        raw_admin(sock, "show servers state h")
            .lines()
            .skip(2)
            .filter(|l| !l.is_empty())
            .map(|l| l.split(' ').nth(13).unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(check_state(&p.t_sock), check_state(&p.h_sock));
    assert_eq!(check_state(&p.t_sock), ["2", "2"]);
    // In and out of maintenance with the check stopped: as haproxy, no check decides.
    for c in ["set server h/d state maint", "set server h/d state ready"] {
        p.done(&[c]);
        let d = p.agree("show stat", stat_differences);
        assert!(d.is_empty(), "`{c}`: {}", d.join("\n"));
    }
    // Back on: checked again, as haproxy.
    p.done(&["enable health h/a", "enable health h/d"]);
    assert_eq!(check_state(&p.t_sock), ["6", "6"]);
    let d = p.agree("show stat", stat_differences);
    assert!(d.is_empty(), "{}\n{}", d.join("\n"), p.tandem.logs());

    // Traffic, then the maxima cleared, then everything. (First no session left on
    // either side and the maxima cleared, so that only these three count: a loaded CI
    // machine once showed haproxy one more.)
    for sock in [&p.t_sock, &p.h_sock] {
        let idle = wait_for(Duration::from_secs(10), || {
            let r = stat_rows(&raw_admin(sock, "show stat"));
            (r[&("k".to_string(), "FRONTEND".to_string())]["scur"] == "0").then_some(())
        });
        assert!(idle.is_some());
    }
    p.both("clear counters");
    for (sock, addr) in [(&p.t_sock, p.t_addr["k"]), (&p.h_sock, p.h_addr["k"])] {
        let held: Vec<TcpStream> = (0..3)
            .map(|_| connect_from(addr, None).expect("connect"))
            .collect();
        for c in &held {
            assert_eq!(read_line(c).expect("answer"), "a");
        }
        drop(held);
        let idle = wait_for(Duration::from_secs(10), || {
            let r = stat_rows(&raw_admin(sock, "show stat"));
            (r[&("k".to_string(), "FRONTEND".to_string())]["scur"] == "0").then_some(())
        });
        assert!(idle.is_some());
    }
    let cols = |sock: &std::path::Path, cols: &[&str]| -> Vec<String> {
        let r = stat_rows(&raw_admin(sock, "show stat"));
        ["FRONTEND", "a", "BACKEND"]
            .iter()
            .flat_map(|sv| {
                let row = r[&("k".to_string(), sv.to_string())].clone();
                cols.iter()
                    .map(move |c| format!("{sv} {c}={}", row.get(*c).cloned().unwrap_or_default()))
            })
            .collect()
    };
    let maxima = ["smax", "rate_max", "conn_rate_max", "qmax"];
    let (ours, theirs) = (cols(&p.t_sock, &maxima), cols(&p.h_sock, &maxima));
    // The rate maxima depend on where each side's three connections fell in the
    // one-second rate periods (2 or 3 when they straddle a period's end): each side's
    // is between 1 and 3; the other maxima are equal.
    let (rates, exact): (Vec<_>, Vec<_>) = ours
        .iter()
        .zip(&theirs)
        .partition(|(o, _)| o.contains(" rate_max=") || o.contains(" conn_rate_max="));
    for (o, t) in exact {
        assert_eq!(o, t, "{ours:?}\n{theirs:?}");
    }
    for v in rates.iter().flat_map(|(o, t)| [o, t]) {
        let (_, n) = v.split_once('=').expect("name=value");
        assert!(
            n.is_empty() || (1..=3).contains(&n.parse::<u32>().unwrap_or(0)),
            "{ours:?}\n{theirs:?}"
        );
    }
    assert!(ours.contains(&"FRONTEND smax=3".to_string()), "{ours:?}");
    let (ours, theirs) = p.both("clear counters");
    assert_eq!((ours.as_str(), theirs.as_str()), ("\n", "\n"));
    let (ours, theirs) = (cols(&p.t_sock, &maxima), cols(&p.h_sock, &maxima));
    assert_eq!(ours, theirs);
    assert!(
        ours.iter().all(|c| c.ends_with("=0") || c.ends_with('=')),
        "{ours:?}"
    );
    let info_max = |sock: &std::path::Path| -> Vec<String> {
        raw_admin(sock, "show info")
            .lines()
            .filter(|l| l.starts_with("MaxConnRate:") || l.starts_with("MaxSessRate:"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(info_max(&p.t_sock), ["MaxConnRate: 0", "MaxSessRate: 0"]);
    assert_eq!(info_max(&p.t_sock), info_max(&p.h_sock));
    let totals = [
        "stot", "bin", "bout", "lbtot", "connect", "conn_tot", "lastsess",
    ];
    let (ours, theirs) = (cols(&p.t_sock, &totals), cols(&p.h_sock, &totals));
    // `lastsess` counts whole seconds since the last session, and each side's three
    // sessions ran at their own moment: 0..=2 on each side, the other totals equal.
    let (recent, exact): (Vec<_>, Vec<_>) = ours
        .iter()
        .zip(&theirs)
        .partition(|(o, _)| o.contains(" lastsess="));
    for (o, t) in exact {
        assert_eq!(o, t, "{ours:?}\n{theirs:?}");
    }
    for v in recent.iter().flat_map(|(o, t)| [o, t]) {
        let (_, n) = v.split_once('=').expect("name=value");
        assert!(
            n.is_empty() || n.parse::<u32>().is_ok_and(|n| n <= 2),
            "{ours:?}\n{theirs:?}"
        );
    }
    assert!(ours.contains(&"a stot=3".to_string()), "{ours:?}");
    let (ours, theirs) = p.both("clear counters all");
    assert_eq!((ours.as_str(), theirs.as_str()), ("\n", "\n"));
    let (ours, theirs) = (cols(&p.t_sock, &totals), cols(&p.h_sock, &totals));
    assert_eq!(ours, theirs);
    assert!(ours.contains(&"a stot=0".to_string()), "{ours:?}");
    let d = p.agree("show stat", stat_differences);
    assert!(d.is_empty(), "{}", d.join("\n"));

    // A session held open, then its server's sessions shut by the operator.
    for (sock, addr) in [(&p.t_sock, p.t_addr["k"]), (&p.h_sock, p.h_addr["k"])] {
        let held = connect_from(addr, None).expect("connect");
        assert_eq!(read_line(&held).expect("answer"), "a");
        let busy = wait_for(Duration::from_secs(10), || {
            let r = stat_rows(&raw_admin(sock, "show stat"));
            (r[&("k".to_string(), "a".to_string())]["scur"] == "1").then_some(())
        });
        assert!(busy.is_some());
        assert_eq!(raw_admin(sock, "shutdown sessions server k/a"), "\n");
        assert_closed(&held, &sock.display().to_string());
        let gone = wait_for(Duration::from_secs(10), || {
            let r = stat_rows(&raw_admin(sock, "show stat"));
            (r[&("k".to_string(), "a".to_string())]["scur"] == "0").then_some(())
        });
        assert!(gone.is_some(), "{}: the session is closed", sock.display());
    }
    assert!(p.tandem.wait_log(" KD "), "{}", p.tandem.logs());
    let d = p.agree("show stat", stat_differences);
    assert!(d.is_empty(), "{}", d.join("\n"));
}

/// haproxy's session commands and runtime `maxconn` answer as haproxy 2.6.12's: `show
/// sess` lists a held session with haproxy's leading fields (proto, src, fe, be, srv)
/// as haproxy lists its own, `show sess <id>` gives its detail, `shutdown session <id>`
/// closes that one session (logged `KD`) and no other; `set maxconn frontend|server|
/// global` change the limits in place (`show stat`'s slim, `show info`'s Maxconn as
/// haproxy's), and a connection beyond the new limit waits until a slot frees; the
/// refusals byte for byte.
#[test]
fn session_commands_and_runtime_maxconn_match_haproxy() {
    let a = Backend::start("a", Behavior::Name);
    let p = pair(&[PairListener::plain("k", vec![("a", a.addr, 1)])]);
    p.same(&[
        "shutdown session",
        "shutdown session abc",
        "shutdown session 0x7ffffff0",
        "show sess 0x7ffffff0",
        "set maxconn frontend",
        "set maxconn frontend nosuch 5",
        "set maxconn frontend k",
        "set maxconn frontend k -1",
        "set maxconn server k/x 5",
        "set maxconn server k",
        "set maxconn server k/a",
        "set maxconn server k/a abc",
        "set maxconn server k/a 5x",
        "set maxconn global",
        "set maxconn global 101",
    ]);
    // tandem's own dialect says why.
    let why = raw_admin(&p.t_sock, "tandem set maxconn frontend k abc");
    assert!(why.starts_with("error: `abc` is not a number"), "{why}");

    // A session held on each side, listed as haproxy lists it.
    let mut held = Vec::new();
    for (sock, addr) in [(&p.t_sock, p.t_addr["k"]), (&p.h_sock, p.h_addr["k"])] {
        let c = connect_from(addr, None).expect("connect");
        assert_eq!(read_line(&c).expect("answer"), "a");
        let src = format!("src={}", c.local_addr().expect("local address"));
        let line = wait_for(Duration::from_secs(10), || {
            raw_admin(sock, "show sess")
                .lines()
                .find(|l| l.split(' ').any(|f| f == src))
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("{}: {src} listed", sock.display()));
        let (id, rest) = line.split_once(": ").expect("id: fields");
        let fields: Vec<&str> = rest
            .split(' ')
            .filter(|f| {
                ["proto=", "fe=", "be=", "srv="]
                    .iter()
                    .any(|k| f.starts_with(k))
            })
            .collect();
        assert_eq!(fields, ["proto=tcpv4", "fe=k", "be=k", "srv=a"], "{line}");
        held.push((c, id.to_string()));
    }
    // The detail: the same frontend, backend and server lines (addresses aside: each
    // side has its own listening port and outgoing connection).
    let detail = |sock: &std::path::Path, id: &str, bind: SocketAddr| -> Vec<String> {
        raw_admin(sock, &format!("show sess {id}"))
            .lines()
            .filter(|l| {
                ["  frontend=", "  backend=", "  server="]
                    .iter()
                    .any(|k| l.starts_with(k))
            })
            .map(|l| {
                let l = l.replace(&bind.to_string(), "<bind>");
                match l.split_once(") addr=") {
                    Some((head, _)) if l.starts_with("  backend=") => format!("{head})"),
                    _ => l,
                }
            })
            .collect()
    };
    let ours = detail(&p.t_sock, &held[0].1, p.t_addr["k"]);
    let theirs = detail(&p.h_sock, &held[1].1, p.h_addr["k"]);
    assert_eq!(ours, theirs);
    assert_eq!(
        ours,
        [
            "  frontend=k (id=2 mode=tcp), listener=? (id=1) addr=<bind>".to_string(),
            "  backend=k (id=2 mode=tcp)".to_string(),
            format!("  server=a (id=1) addr={}", a.addr),
        ]
    );
    let first = raw_admin(&p.t_sock, &format!("show sess {}", held[0].1));
    let client = held[0].0.local_addr().expect("local address");
    assert!(
        first.starts_with(&format!("{}: [", held[0].1))
            && first.contains(&format!(" proto=tcpv4 source={client}\n")),
        "{first}"
    );

    // A second session on tandem; shutting one down leaves the other.
    let other = connect_from(p.t_addr["k"], None).expect("connect");
    assert_eq!(read_line(&other).expect("answer"), "a");
    for (sock, (c, id)) in [&p.t_sock, &p.h_sock].into_iter().zip(&held) {
        assert_eq!(raw_admin(sock, &format!("shutdown session {id}")), "\n");
        assert_closed(c, &sock.display().to_string());
        // Gone from the list: a second shutdown finds nothing.
        let gone = wait_for(Duration::from_secs(10), || {
            (raw_admin(sock, &format!("shutdown session {id}"))
                == "No such session (use 'show sess').\n\n")
                .then_some(())
        });
        assert!(gone.is_some(), "{}: {id} gone", sock.display());
    }
    assert!(p.tandem.wait_log(" KD "), "{}", p.tandem.logs());
    (&other).write_all(b"still here\n").expect("write");
    assert_eq!(read_line(&other).expect("echo"), "still here");
    let listed = raw_admin(&p.t_sock, "show sess");
    assert_eq!(
        listed.lines().filter(|l| l.contains("proto=tcpv4")).count(),
        1,
        "{listed}"
    );
    drop(other);

    // Runtime maxconn: frontend, server, global.
    let slim = |sock: &std::path::Path, sv: &str| -> String {
        stat_rows(&raw_admin(sock, "show stat"))[&("k".to_string(), sv.to_string())]["slim"].clone()
    };
    let maxconn = |sock: &std::path::Path| -> String {
        raw_admin(sock, "show info")
            .lines()
            .find_map(|l| l.strip_prefix("Maxconn: "))
            .unwrap_or("")
            .to_string()
    };
    // One connection is served, the next waits (in the backlog, or for the server's
    // slot) until the first ends.
    let one_at_a_time = |what: &str| {
        let idle = wait_for(Duration::from_secs(10), || {
            (stat_rows(&raw_admin(&p.t_sock, "show stat"))
                [&("k".to_string(), "FRONTEND".to_string())]["scur"]
                == "0")
                .then_some(())
        });
        assert!(idle.is_some(), "{what}: no session left");
        let c1 = connect_from(p.t_addr["k"], None).expect("c1");
        assert_eq!(read_line(&c1).expect("c1 answer"), "a", "{what}");
        let c2 = connect_from(p.t_addr["k"], None).expect("c2");
        c2.set_read_timeout(Some(Duration::from_millis(500)))
            .expect("timeout");
        let mut b = [0u8; 8];
        let r = (&c2).read(&mut b);
        assert!(r.is_err(), "{what}: served beyond maxconn: {r:?}");
        drop(c1);
        assert_eq!(
            read_line(&c2).expect("served once a slot freed"),
            "a",
            "{what}"
        );
    };
    for (set, row, want, reset) in [
        (
            "set maxconn frontend k 1",
            "FRONTEND",
            "1",
            "set maxconn frontend k 100",
        ),
        (
            "set maxconn server k/a 1",
            "a",
            "1",
            "set maxconn server k/a 0",
        ),
    ] {
        p.done(&[set]);
        assert_eq!(slim(&p.t_sock, row), want, "`{set}`");
        assert_eq!(slim(&p.t_sock, row), slim(&p.h_sock, row), "`{set}`");
        one_at_a_time(set);
        p.done(&[reset]);
        assert_eq!(slim(&p.t_sock, row), slim(&p.h_sock, row), "`{reset}`");
    }
    assert_eq!(slim(&p.t_sock, "FRONTEND"), "100");
    assert_eq!(slim(&p.t_sock, "a"), "");

    // A session waiting for its server's slot is listed in the queue and can be shut
    // down there (`KQ`).
    assert_eq!(raw_admin(&p.t_sock, "set maxconn server k/a 1"), "\n");
    let c1 = connect_from(p.t_addr["k"], None).expect("c1");
    assert_eq!(read_line(&c1).expect("c1 answer"), "a");
    let c2 = connect_from(p.t_addr["k"], None).expect("c2");
    let src = format!("src={}", c2.local_addr().expect("local address"));
    let queued = wait_for(Duration::from_secs(10), || {
        raw_admin(&p.t_sock, "show sess")
            .lines()
            .find(|l| {
                l.split(' ').any(|f| f == src)
                    && l.contains(" srv=<none> ")
                    && l.contains(" st=queue ")
            })
            .map(str::to_string)
    })
    .expect("the waiting session listed in the queue");
    let (id, _) = queued.split_once(": ").expect("id");
    assert_eq!(
        raw_admin(&p.t_sock, &format!("shutdown session {id}")),
        "\n"
    );
    let mut rest = Vec::new();
    c2.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let r = (&c2).read_to_end(&mut rest);
    assert!(
        matches!(r, Ok(0)),
        "closed without an answer: {r:?} {rest:?}"
    );
    assert!(p.tandem.wait_log(" KQ "), "{}", p.tandem.logs());
    drop(c1);
    assert_eq!(raw_admin(&p.t_sock, "set maxconn server k/a 0"), "\n");

    p.done(&["set maxconn global 1"]);
    assert_eq!(maxconn(&p.t_sock), "1");
    assert_eq!(maxconn(&p.t_sock), maxconn(&p.h_sock));
    one_at_a_time("set maxconn global 1");
    p.done(&["set maxconn global 0"]);
    assert_eq!(maxconn(&p.t_sock), "100");
    assert_eq!(maxconn(&p.t_sock), maxconn(&p.h_sock));
    assert!(
        p.tandem.wait_log("maxconn set to 1 by the operator"),
        "{}",
        p.tandem.logs()
    );
}

/// A runtime `set maxconn` (frontend, server, global) stays across a reload, as `set
/// weight` does, until the reload changes that configured value; so does `disable
/// frontend`.
#[test]
fn runtime_maxconn_survives_a_reload_unless_the_config_changes_it() {
    let a = Backend::start("a", Behavior::Name);
    let lb = lb("      maxconn: 50\n", &[server("a", &a, ", maxconn: 10")]);
    let base = std::fs::read_to_string(&lb.config).expect("cfg");
    for c in [
        "set maxconn frontend l 7",
        "set maxconn server l/a 3",
        "set maxconn global 5",
    ] {
        assert_eq!(raw_admin(&lb.socket, c), "\n", "`{c}`");
    }
    let limits = || -> (String, String, String) {
        let rows = stat_rows(&raw_admin(&lb.socket, "show stat"));
        let slim = |sv: &str| rows[&("l".to_string(), sv.to_string())]["slim"].clone();
        let info = raw_admin(&lb.socket, "show info");
        let global = info
            .lines()
            .find_map(|l| l.strip_prefix("Maxconn: "))
            .unwrap_or("")
            .to_string();
        (slim("FRONTEND"), slim("a"), global)
    };
    let want = |f: &str, s: &str, g: &str| (f.to_string(), s.to_string(), g.to_string());
    assert_eq!(limits(), want("7", "3", "5"));
    // A reload that changes something else keeps them.
    lb.reload(&base.replace(
        "      maxconn: 50\n",
        "      maxconn: 50\n      retries: 2\n",
    ));
    lb.reloaded_times(1);
    assert_eq!(limits(), want("7", "3", "5"));
    // New configured values replace them; the global one stays while its config does.
    lb.reload(
        &base
            .replace("      maxconn: 50\n", "      maxconn: 60\n")
            .replace(", maxconn: 10", ", maxconn: 11"),
    );
    lb.reloaded_times(2);
    assert_eq!(limits(), want("60", "11", "5"));
    lb.reload(
        &base
            .replace("balancer:\n", "balancer:\n  maxconn: 40\n")
            .replace("      maxconn: 50\n", "      maxconn: 60\n")
            .replace(", maxconn: 10", ", maxconn: 11"),
    );
    lb.reloaded_times(3);
    assert_eq!(limits(), want("60", "11", "40"));

    // `disable frontend` holds across a reload too; `enable frontend` takes the
    // reloaded backlog.
    assert_eq!(raw_admin(&lb.socket, "disable frontend l"), "\n");
    lb.reload(&base.replace(
        "      maxconn: 50\n",
        "      maxconn: 60\n      backlog: 64\n",
    ));
    lb.reloaded_times(4);
    let r = connect_from(lb.addr, None);
    assert!(
        matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
        "{r:?}"
    );
    assert_eq!(raw_admin(&lb.socket, "enable frontend l"), "\n");
    let c = connect_from(lb.addr, None).expect("connect after enable");
    assert_eq!(read_line(&c).expect("answer"), "a");
}

/// `disable frontend L` stops listening as haproxy's does (new connections are refused
/// at once, sessions already open go on), `enable frontend L` listens again; the
/// replies, notices and refusals are haproxy's, and `show stat` agrees meanwhile.
#[test]
fn disable_and_enable_frontend_match_haproxy() {
    let a = Backend::start("a", Behavior::Name);
    let p = pair(&[PairListener::plain("k", vec![("a", a.addr, 1)])]);
    p.same(&[
        "disable frontend",
        "disable frontend x",
        "enable frontend",
        "enable frontend x",
        "enable frontend k",
    ]);
    let sides = [(&p.t_sock, p.t_addr["k"]), (&p.h_sock, p.h_addr["k"])];
    let held = hold_one_each(sides.iter().map(|(_, addr)| *addr), "a");
    p.done(&["disable frontend k"]);
    p.same(&["disable frontend k"]);
    for (sock, addr) in sides {
        let r = connect_from(addr, None);
        assert!(
            matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
            "{}: {r:?}",
            sock.display()
        );
    }
    for c in &held {
        (&*c).write_all(b"open\n").expect("write");
        assert_eq!(read_line(c).expect("echo"), "open");
    }
    // haproxy counts a session's bytes when it ends: compare once both have ended.
    drop(held);
    for (sock, _) in sides {
        let idle = wait_for(Duration::from_secs(10), || {
            (stat_rows(&raw_admin(sock, "show stat"))[&("k".to_string(), "FRONTEND".to_string())]
                ["scur"]
                == "0")
                .then_some(())
        });
        assert!(idle.is_some(), "{}", sock.display());
    }
    let d = p.agree("show stat", stat_differences);
    assert!(d.is_empty(), "{}", d.join("\n"));
    let status = stat_rows(&raw_admin(&p.t_sock, "show stat"))
        [&("k".to_string(), "FRONTEND".to_string())]["status"]
        .clone();
    assert_eq!(status, "PAUSED");
    assert!(
        p.tandem.wait_log("listener k: disabled by the operator"),
        "{}",
        p.tandem.logs()
    );
    p.done(&["enable frontend k"]);
    for (_, addr) in sides {
        let c = connect_from(addr, None).expect("connect after enable");
        assert_eq!(read_line(&c).expect("answer"), "a");
    }
    let d = p.agree("show stat", stat_differences);
    assert!(d.is_empty(), "{}", d.join("\n"));
}

/// An HTTP reply: status, headers (names in lower case), body (de-chunked).
struct HttpReply {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

fn base64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One HTTP/1.1 request (`Connection: close`), with basic authentication as `user`
/// and a form body when given.
fn http(
    addr: SocketAddr,
    method: &str,
    target: &str,
    user: Option<&str>,
    form: Option<&str>,
) -> HttpReply {
    http_with(addr, method, target, user, form, &[])
}

/// [`http`] with more request headers.
fn http_with(
    addr: SocketAddr,
    method: &str,
    target: &str,
    user: Option<&str>,
    form: Option<&str>,
    headers: &[(&str, &str)],
) -> HttpReply {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut req = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(u) = user {
        req.push_str(&format!("Authorization: Basic {}\r\n", base64(u)));
    }
    if let Some(f) = form {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{f}",
            f.len()
        ));
    } else {
        req.push_str("\r\n");
    }
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("reply");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status");
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = if headers.get("transfer-encoding").map(String::as_str) == Some("chunked") {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).expect("chunk size");
            if n == 0 {
                break;
            }
            out.push_str(&after[..n]);
            rest = &after[n + 2..];
        }
        out
    } else {
        body.to_string()
    };
    HttpReply {
        status,
        headers,
        body,
    }
}

/// The server rows of a stats page (haproxy's or tandem's): server name → row class
/// (`active_up`, `active_down`, `active_draining`, ...).
fn page_servers(html: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for part in html.split("<tr class=\"").skip(1) {
        let Some((class, rest)) = part.split_once('"') else {
            continue;
        };
        if let Some(i) = rest.find("name=\"s\" value=\"") {
            let v = &rest[i + 16..];
            if let Some((name, _)) = v.split_once('"') {
                out.insert(name.to_string(), class.to_string());
            }
        }
    }
    out
}

/// haproxy's stats page (`listen stats` with `stats uri`, `auth`, `admin`, `refresh`)
/// and tandem's `observe.stats` side by side with Debian's haproxy 2.6.12: the same 401
/// and realm without a password, `;csv` agreeing column by column with haproxy's (its
/// own `stats` proxy left out), the same `Refresh` header and `;norefresh`, `;json`
/// rows, the HTML page's server rows coloured alike (also with `;up`), and the admin
/// form: every action answered with the same redirect (`st=DONE|PART|NONE|ERRP`, the
/// display options kept), the same server states after it, `Kill Sessions` closing the
/// server's sessions on both.
#[test]
fn stats_page_matches_haproxy() {
    let a = Backend::start("a", Behavior::Name);
    let dead: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let p = pair_with_stats(&[PairListener {
        name: "l",
        balance: "roundrobin",
        check: true,
        stick: false,
        backups: &[],
        more: ("", ""),
        server_more: ("", ""),
        servers: vec![("a", a.addr, 1), ("dead", dead, 1)],
    }]);
    let h_stats = p.h_stats.expect("haproxy's stats listener");
    let settled = |sock: &std::path::Path| {
        let rows = stat_rows(&raw_admin(sock, "show stat"));
        let st = |s: &str| rows[&("l".to_string(), s.to_string())]["status"].clone();
        (st("a") == "UP" && st("dead") == "DOWN").then_some(())
    };
    assert!(wait_for(Duration::from_secs(20), || settled(&p.t_sock)).is_some());
    assert!(wait_for(Duration::from_secs(20), || settled(&p.h_sock)).is_some());
    let both = |method: &str, target: &str, user: Option<&str>, form: Option<&str>| {
        (
            http(p.t_observe, method, target, user, form),
            http(h_stats, method, target, user, form),
        )
    };
    let user = Some(STATS_USER);

    // No password, a wrong one: 401 with the realm.
    for u in [None, Some("admin:nope")] {
        let (t, h) = both("GET", STATS_URI, u, None);
        assert_eq!((t.status, h.status), (401, 401));
        assert_eq!(t.headers["www-authenticate"], h.headers["www-authenticate"]);
        assert_eq!(t.body, h.body);
    }

    // CSV: haproxy's own `stats` proxy left out, the rest column by column.
    let without_stats = |csv: &str| {
        csv.lines()
            .filter(|l| !l.starts_with("stats,"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };
    let mut last = Vec::new();
    let agreed = wait_for(Duration::from_secs(10), || {
        let (t, h) = both("GET", &format!("{STATS_URI};csv"), user, None);
        assert_eq!((t.status, h.status), (200, 200));
        assert_eq!(t.headers["content-type"], h.headers["content-type"]);
        assert_eq!(t.headers.get("refresh"), Some(&"10".to_string()));
        assert_eq!(t.headers.get("refresh"), h.headers.get("refresh"));
        assert!(t.body.ends_with('\n') && !t.body.ends_with("\n\n"));
        last = stat_differences(&t.body, &without_stats(&h.body));
        last.is_empty().then_some(())
    });
    assert!(agreed.is_some(), "{}", last.join("\n"));
    let (t, h) = both("GET", &format!("{STATS_URI};csv;norefresh"), user, None);
    assert_eq!((t.status, h.status), (200, 200));
    assert_eq!(
        (t.headers.get("refresh"), h.headers.get("refresh")),
        (None, None)
    );
    let (t, h) = both("GET", &format!("{STATS_URI};csv;up"), user, None);
    let keys = |csv: &str| {
        let mut k: Vec<_> = stat_rows(csv).into_keys().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&t.body), keys(&without_stats(&h.body)));
    assert!(!t.body.contains("l,dead,"));

    // JSON: the same rows.
    let (t, h) = both("GET", &format!("{STATS_URI};json"), user, None);
    assert_eq!(t.headers["content-type"], h.headers["content-type"]);
    let rows_of = |body: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(body).expect("json");
        v.as_array()
            .expect("rows")
            .iter()
            .filter_map(|row| {
                let f = row.as_array()?;
                let px = f.first()?["value"]["value"].as_str()?.to_string();
                let sv = f.get(1)?["value"]["value"].as_str()?.to_string();
                (px != "stats").then(|| format!("{px}/{sv}"))
            })
            .collect()
    };
    assert_eq!(rows_of(&t.body), rows_of(&h.body));

    // The scope box: only the listeners whose name contains the text, in any case, in
    // every format (haproxy's own `stats` proxy has no "l" in its name). (haproxy 2.6
    // ignores a one-character scope at the very end of the target, tandem does not:
    // the `&` makes both take it.)
    let (t, h) = both("GET", &format!("{STATS_URI};csv?scope=L&"), user, None);
    assert_eq!(keys(&t.body), keys(&h.body), "{}", h.body);
    assert_eq!(keys(&t.body).len(), 4, "{}", t.body);
    let (t, h) = both("GET", &format!("{STATS_URI};json;scope=zz"), user, None);
    assert_eq!((t.body.trim(), rows_of(&h.body).len()), ("[]", 0));
    // With the page's other words too (`up` was once read as part of a proxy filter).
    let (t, h) = both("GET", &format!("{STATS_URI};json;up"), user, None);
    assert_eq!(rows_of(&t.body), rows_of(&h.body));
    assert!(!t.body.contains("\"dead\""), "{}", t.body);
    let (t, h) = both("GET", &format!("{STATS_URI}?scope=l&"), user, None);
    for body in [&t.body, &h.body] {
        assert!(
            body.contains("<form method=\"GET\">Scope : <input value=\"l\" name=\"scope\" size=\"8\" maxlength=\"20\" tabindex=\"1\"/></form>"),
            "{body}"
        );
        assert!(body.contains(&format!("href=\"{STATS_URI};csv;norefresh?scope=l\"")));
    }
    assert_eq!(page_servers(&t.body), page_servers(&h.body));

    // The HTML page: the same server rows, coloured alike; the form on both.
    let (t, h) = both("GET", STATS_URI, user, None);
    assert_eq!((t.status, h.status), (200, 200));
    assert!(t.headers["content-type"].starts_with("text/html"));
    let want: HashMap<String, String> = [("a", "active_up"), ("dead", "active_down")]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(page_servers(&t.body), want, "{}", t.body);
    assert_eq!(page_servers(&h.body), want);
    for body in [&t.body, &h.body] {
        assert!(body.contains("<input type=\"hidden\" name=\"b\" value=\"#2\">"));
        assert!(body.contains("<option value=\"drain\">Set state to DRAIN</option>"));
        assert!(body.contains(&format!("href=\"{STATS_URI};csv;norefresh\"")));
    }
    let (t, h) = both("GET", &format!("{STATS_URI};up"), user, None);
    assert_eq!(page_servers(&t.body), page_servers(&h.body));
    assert_eq!(page_servers(&t.body).len(), 1);

    // The admin form: the same redirect for each action on both, the same states after.
    let state = |sock: &std::path::Path, s: &str| {
        stat_rows(&raw_admin(sock, "show stat"))[&("l".to_string(), s.to_string())]["status"]
            .clone()
    };
    for (target, form, want) in [
        (STATS_URI.to_string(), "s=a&action=drain&b=%232", "DONE"),
        (
            STATS_URI.to_string(),
            "s=a&s=zz&action=maint&b=%232",
            "PART",
        ),
        (STATS_URI.to_string(), "s=zz&action=ready&b=%232", "ERRP"),
        (STATS_URI.to_string(), "action=ready&b=%232", "NONE"),
        (STATS_URI.to_string(), "s=a&action=bogus&b=%232", "ERRP"),
        // Only a server's name: not a way into other admin commands.
        (
            STATS_URI.to_string(),
            "s=a+weight+0&action=ready&b=%232",
            "ERRP",
        ),
        (STATS_URI.to_string(), "s=a&action=ready&b=%239", "ERRP"),
        (STATS_URI.to_string(), "s=dead&action=dhlth&b=l", "DONE"),
        (
            format!("{STATS_URI};up;norefresh"),
            "s=a&action=ready&b=%232",
            "DONE",
        ),
    ] {
        let (t, h) = both("POST", &target, user, Some(form));
        assert_eq!((t.status, h.status), (303, 303), "{form}");
        assert_eq!(t.headers["location"], h.headers["location"], "{form}");
        assert!(
            t.headers["location"].contains(&format!(";st={want}")),
            "{form}: {}",
            t.headers["location"]
        );
        if form.starts_with("s=a&action=drain") {
            assert_eq!(state(&p.t_sock, "a"), "DRAIN");
            assert_eq!(state(&p.h_sock, "a"), "DRAIN");
        }
        if form.starts_with("s=a&s=zz&action=maint") {
            assert_eq!(state(&p.t_sock, "a"), "MAINT");
            assert_eq!(state(&p.h_sock, "a"), "MAINT");
        }
    }
    // A form posted from a scoped page goes back to it.
    let (t, h) = both(
        "POST",
        &format!("{STATS_URI};up?scope=l&"),
        user,
        Some("s=a&action=ready&b=%232"),
    );
    assert_eq!(t.headers["location"], h.headers["location"]);
    assert!(
        t.headers["location"].ends_with(";up?scope=l"),
        "{:?}",
        t.headers
    );
    assert!(
        p.tandem
            .wait_log("stats page: `set server l/a state drain` by admin")
    );
    let (t, h) = both("GET", &format!("{STATS_URI};st=DONE"), user, None);
    assert!(t.body.contains("Action processed successfully."));
    assert!(h.body.contains("Action processed successfully."));
    // a back in service on both (checked again first).
    assert!(wait_for(Duration::from_secs(20), || settled(&p.t_sock)).is_some());
    assert!(wait_for(Duration::from_secs(20), || settled(&p.h_sock)).is_some());
    let d = p.agree("show stat", |o, t| stat_differences(o, &without_stats(t)));
    assert!(d.is_empty(), "{}", d.join("\n"));

    // tandem only: a form a browser posts from another site is refused (`DENY`, logged);
    // from the page itself it is taken.
    let evil = http_with(
        p.t_observe,
        "POST",
        STATS_URI,
        user,
        Some("s=a&action=maint&b=%232"),
        &[("Origin", "http://evil.example")],
    );
    assert_eq!(evil.headers["location"], format!("{STATS_URI};st=DENY"));
    assert_eq!(state(&p.t_sock, "a"), "UP");
    assert!(
        p.tandem
            .wait_log("stats page: a form from http://evil.example (host 127.0.0.1:")
    );
    let own = format!("http://{}", p.t_observe);
    let referer = format!("{own}{STATS_URI}");
    let same = http_with(
        p.t_observe,
        "POST",
        STATS_URI,
        user,
        Some("s=a&action=ready&b=%232"),
        &[("Origin", &own), ("Referer", &referer)],
    );
    assert_eq!(same.headers["location"], format!("{STATS_URI};st=DONE"));

    // Kill Sessions: a held session through each is closed.
    for (addr, obs) in [(p.t_addr["l"], p.t_observe), (p.h_addr["l"], h_stats)] {
        let held = connect_from(addr, None).expect("connect");
        assert_eq!(read_line(&held).expect("answer"), "a");
        let r = http(
            obs,
            "POST",
            STATS_URI,
            user,
            Some("s=a&action=shutdown&b=%232"),
        );
        assert_eq!(r.status, 303);
        assert_eq!(r.headers["location"], format!("{STATS_URI};st=DONE"));
        assert_closed(&held, &obs.to_string());
    }
    assert!(p.tandem.wait_log(" KD "), "{}", p.tandem.logs());
}

/// tandem's stats page without `admin` refuses the form (`st=DENY`, as haproxy without
/// `stats admin`) and changes nothing; a reload applies a changed `observe.stats` on the
/// same endpoint (here: a password and another address for the page).
#[test]
fn stats_page_read_only_and_reloaded() {
    let a = Backend::start("a", Behavior::Name);
    let lb = lb("", std::slice::from_ref(&server("a", &a, "")));
    let obs = lb.observe;
    let page = http(obs, "GET", "/stats", None, None);
    assert_eq!(page.status, 200);
    assert_eq!(
        page_servers(&page.body),
        HashMap::new(),
        "read-only: no form"
    );
    assert!(page.body.contains(">a</a></td>"), "{}", page.body);
    let r = http(obs, "POST", "/stats", None, Some("s=a&action=maint&b=l"));
    assert_eq!(r.status, 303);
    assert_eq!(r.headers["location"], "/stats;st=DENY");
    assert_eq!(stat_col(&lb, "a", "status"), "no check");
    assert_eq!(http(obs, "GET", "/nothing", None, None).status, 404);

    let cfg = std::fs::read_to_string(&lb.config).expect("config");
    let changed = cfg.replace(
        &format!("observe: {{ listen: {obs} }}"),
        &format!("observe: {{ listen: {obs}, stats: {{ uri: /lb, auth: [\"ops:secret\"] }} }}"),
    );
    assert_ne!(cfg, changed, "the observe line");
    lb.reload(&changed);
    lb.reloaded();
    let moved = wait_for(Duration::from_secs(10), || {
        (http(obs, "GET", "/lb", None, None).status == 401).then_some(())
    });
    assert!(moved.is_some(), "{}", lb.daemon.logs());
    assert_eq!(http(obs, "GET", "/stats", None, None).status, 404);
    let r = http(obs, "GET", "/lb;csv", Some("ops:secret"), None);
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with("# pxname,svname,"), "{}", r.body);
    assert!(r.body.contains("\nl,a,"), "{}", r.body);

    // The form without a password (loopback only): taken when the request names the
    // endpoint by its address, refused under another name (DNS rebinding).
    let open = cfg.replace(
        &format!("observe: {{ listen: {obs} }}"),
        &format!("observe: {{ listen: {obs}, stats: {{ admin: true }} }}"),
    );
    lb.reload(&open);
    lb.reloaded_times(2);
    let named = http_with(
        obs,
        "POST",
        "/stats",
        None,
        Some("s=a&action=maint&b=l"),
        &[("Host", &format!("rebound.example:{}", obs.port()))],
    );
    assert_eq!(named.headers["location"], "/stats;st=DENY");
    assert_eq!(stat_col(&lb, "a", "status"), "no check");
    let by_address = http(obs, "POST", "/stats", None, Some("s=a&action=maint&b=l"));
    assert_eq!(by_address.headers["location"], "/stats;st=DONE");
    assert_eq!(stat_col(&lb, "a", "status"), "MAINT");
}

/// `rate_limit_sessions` (haproxy's `rate-limit sessions`) and `set rate-limit
/// connections|sessions global` side by side with haproxy 2.6.12: a burst beyond the
/// rate waits in the backlog and is served in full on both, neither starts more
/// sessions in a second than the limit (`rate_max`, `MaxConnRate`), `rate_lim` and
/// `ConnRateLimit`/`SessRateLimit` read alike, and the refusals are haproxy's.
#[test]
fn rate_limits_match_haproxy() {
    let a = Backend::start("a", Behavior::Name);
    let p = pair_with(
        &[PairListener::plain("l", vec![("a", a.addr, 1)])],
        "      rate_limit_sessions: 4\n",
        "  rate-limit sessions 4\n",
    );
    let burst = |addr: SocketAddr, n: usize| {
        let threads: Vec<_> = (0..n)
            .map(|_| std::thread::spawn(move || first_line(addr, None)))
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("thread").expect("served"))
            .collect::<Vec<_>>()
    };
    let frontend = |sock: &std::path::Path, col: &str| {
        stat_rows(&raw_admin(sock, "show stat"))[&("l".to_string(), "FRONTEND".to_string())][col]
            .clone()
    };
    let info = |sock: &std::path::Path, key: &str| {
        raw_admin(sock, "show info")
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")).map(str::to_string))
            .unwrap_or_default()
    };
    // tandem starts at most the limit in any one-second period. haproxy's threads (one
    // per CPU) each take up to what the limit has left when they wake for the listener,
    // so one period can get up to the limit per thread (7 of 4 seen with two).
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    for (sock, addr, most) in [
        (&p.t_sock, p.t_addr["l"], 4),
        (&p.h_sock, p.h_addr["l"], 4 * threads),
    ] {
        assert_eq!(frontend(sock, "rate_lim"), "4");
        let served = burst(addr, 12);
        assert_eq!(served, vec!["a".to_string(); 12], "{}", sock.display());
        let max: u32 = frontend(sock, "rate_max").parse().expect("rate_max");
        assert!(
            (1..=most).contains(&max),
            "{}: rate_max {max}",
            sock.display()
        );
        assert_eq!(frontend(sock, "stot"), "12");
    }

    // /status shows the limit.
    let (_, status) = http_get(p.t_observe, "/status").expect("status");
    let status: serde_json::Value = serde_json::from_str(&status).expect("json");
    assert_eq!(
        status["subsystems"]["balancer"]["listeners"][0]["rate_limit_sessions"],
        4
    );
    // The operator sees it bite: a metric and a WARN line (once per 10 s).
    let (_, metrics) = http_get(p.t_observe, "/metrics").expect("metrics");
    let waits = metrics
        .lines()
        .find(|l| {
            l.starts_with("tandem_balancer_rate_limited_total")
                && l.contains("limit=\"sessions\"")
                && l.contains("listener=\"l\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(waits >= 1.0, "{metrics}");
    assert!(
        p.tandem.wait_log(
            "listener l: its session rate limit (4/s) reached; new connections wait in the backlog"
        ),
        "{}",
        p.tandem.logs()
    );

    // The global limits at run time.
    p.same(&[
        "set rate-limit",
        "set rate-limit connections",
        "set rate-limit connections global",
        "set rate-limit connections global -1",
        "set rate-limit connections local 5",
        "set rate-limit bytes global 5",
    ]);
    p.done(&[
        "set rate-limit connections global 2",
        "set rate-limit sessions global 3",
        "clear counters",
    ]);
    for (sock, addr, most) in [
        (&p.t_sock, p.t_addr["l"], 2),
        (&p.h_sock, p.h_addr["l"], 2 * threads),
    ] {
        assert_eq!(info(sock, "ConnRateLimit"), "2");
        assert_eq!(info(sock, "SessRateLimit"), "3");
        let served = burst(addr, 6);
        assert_eq!(served, vec!["a".to_string(); 6], "{}", sock.display());
        let max: u32 = info(sock, "MaxConnRate").parse().expect("MaxConnRate");
        assert!(
            (1..=most).contains(&max),
            "{}: MaxConnRate {max}",
            sock.display()
        );
    }
    p.done(&["set rate-limit connections global 0"]);
    let (ours, theirs) = (
        info(&p.t_sock, "ConnRateLimit"),
        info(&p.h_sock, "ConnRateLimit"),
    );
    assert_eq!((ours.as_str(), theirs.as_str()), ("0", "0"));
    // Deviation: a non-number is refused (haproxy reads it as 0).
    let (ours, _) = p.both("set rate-limit sessions global x");
    assert_eq!(ours, "Expects an integer value.\n\n");
    assert_eq!(info(&p.t_sock, "SessRateLimit"), "3");
    assert!(
        p.tandem
            .wait_log("balancer: global maxconnrate set to 2/s by the operator (was none)")
    );
}

/// One session through each address, held open once its server `name` greeted it.
fn hold_one_each(addrs: impl IntoIterator<Item = SocketAddr>, name: &str) -> Vec<TcpStream> {
    addrs
        .into_iter()
        .map(|addr| {
            let c = connect_from(addr, None).expect("connect");
            assert_eq!(read_line(&c).expect("answer"), name);
            c
        })
        .collect()
}

/// `shutdown frontend` side by side with haproxy 2.6.12: the listener stops (new
/// connections refused, the held session goes on), `show stat` reads `STOP` on both,
/// `enable`/`disable frontend` and a second shutdown get haproxy's answers byte for byte;
/// tandem's reload listens again (haproxy's reload is a new process that does).
#[test]
fn shutdown_frontend_matches_haproxy() {
    let a = Backend::start("a", Behavior::Name);
    let p = pair(&[PairListener::plain("k", vec![("a", a.addr, 1)])]);
    p.same(&["shutdown frontend", "shutdown frontend x"]);
    let sides = [(&p.t_sock, p.t_addr["k"]), (&p.h_sock, p.h_addr["k"])];
    let held = hold_one_each(sides.iter().map(|(_, addr)| *addr), "a");
    p.done(&["shutdown frontend k"]);
    p.same(&[
        "shutdown frontend k",
        "enable frontend k",
        "disable frontend k",
    ]);
    for (sock, addr) in sides {
        let r = connect_from(addr, None);
        assert!(
            matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
            "{}: {r:?}",
            sock.display()
        );
        let status = stat_rows(&raw_admin(sock, "show stat"))
            [&("k".to_string(), "FRONTEND".to_string())]["status"]
            .clone();
        assert_eq!(status, "STOP", "{}", sock.display());
    }
    for c in &held {
        (&*c).write_all(b"open\n").expect("write");
        assert_eq!(read_line(c).expect("echo"), "open");
    }
    assert!(
        p.tandem.wait_log("listener k stopped by the operator"),
        "{}",
        p.tandem.logs()
    );
    let (_, status) = http_get(p.t_observe, "/status").expect("status");
    let status: serde_json::Value = serde_json::from_str(&status).expect("json");
    assert_eq!(
        status["subsystems"]["balancer"]["listeners"][0]["stopped"],
        true
    );
    // A reload listens again.
    p.tandem.signal(Signal::SIGHUP);
    assert!(
        p.tandem.wait_log("listener k (shut down) listening on"),
        "{}",
        p.tandem.logs()
    );
    let c = connect_from(p.t_addr["k"], None).expect("connect after the reload");
    assert_eq!(read_line(&c).expect("answer"), "a");
    let status = stat_rows(&raw_admin(&p.t_sock, "show stat"))
        [&("k".to_string(), "FRONTEND".to_string())]["status"]
        .clone();
    assert_eq!(status, "OPEN");
}

/// `set server L/S addr <ip> [port <port>]` side by side with haproxy 2.6.12: the same
/// replies (`IP changed from ...`, `no need to change the addr`, `port changed from ...`,
/// `problem converting port ...`, `Invalid addr ...`, the usage line), new connections
/// then go to the new address on both while a held session stays on the old one,
/// `show stat` and `show servers state` agree; tandem keeps it across a reload that does
/// not change the server.
#[test]
fn set_server_addr_matches_haproxy() {
    let a = Backend::start("a", Behavior::Name);
    let b = Backend::start("b", Behavior::Name);
    let p = pair(&[PairListener::plain("k", vec![("a", a.addr, 1)])]);
    let held = hold_one_each([p.t_addr["k"], p.h_addr["k"]], "a");
    let (ap, bp) = (a.addr.port(), b.addr.port());
    p.same(&[
        "set server k/a addr",
        "set server k/zz addr 127.0.0.1",
        "set server k/a addr bogus",
        "set server k/a addr localhost",
        "set server k/a addr 127.0.0.1",
        &format!("set server k/a addr 127.0.0.1 port {ap}"),
        "set server k/a addr 127.0.0.2",
        "set server k/a addr 127.0.0.3 port x",
        &format!("set server k/a addr 127.0.0.1 port {bp}"),
        &format!("set server k/a addr 127.0.0.1 port {bp}"),
    ]);
    for addr in [p.t_addr["k"], p.h_addr["k"]] {
        let c = connect_from(addr, None).expect("connect");
        assert_eq!(read_line(&c).expect("answer"), "b", "{addr}");
    }
    for c in &held {
        (&*c).write_all(b"still\n").expect("write");
        assert_eq!(read_line(c).expect("echo"), "still");
    }
    let (ours, theirs) = p.both("show servers state k");
    let fields = |t: &str| -> Vec<String> {
        t.lines()
            .nth(2)
            .unwrap_or_default()
            .split(' ')
            .enumerate()
            // srv_addr and srv_port; srv_time_since_last_change is timing.
            .filter(|(i, _)| matches!(i, 4 | 18))
            .map(|(_, f)| f.to_string())
            .collect()
    };
    assert_eq!(
        fields(&ours),
        ["127.0.0.1".to_string(), bp.to_string()],
        "{ours}"
    );
    assert_eq!(fields(&ours), fields(&theirs), "{theirs}");
    assert!(
        p.tandem.wait_log(&format!(
            "server k/a address changed from 127.0.0.3:{ap} to 127.0.0.1:{bp} by the operator"
        )),
        "{}",
        p.tandem.logs()
    );
    // tandem: a reload that leaves the server as configured keeps the new address.
    p.tandem.signal(Signal::SIGHUP);
    assert!(p.tandem.wait_log("config reloaded"), "{}", p.tandem.logs());
    let c = connect_from(p.t_addr["k"], None).expect("connect");
    assert_eq!(read_line(&c).expect("answer"), "b");
}

/// A haproxy agent for the tests: each connection reads what the balancer sends (kept
/// in `heard`), answers the current `reply` and closes. Dropping it stops listening.
struct Agent {
    port: u16,
    reply: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    heard: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Agent {
    fn start(reply: &str) -> Agent {
        use std::sync::atomic::Ordering;
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind agent");
        l.set_nonblocking(true).expect("nonblocking");
        let port = l.local_addr().expect("addr").port();
        let reply = std::sync::Arc::new(std::sync::Mutex::new(reply.as_bytes().to_vec()));
        let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (r, h, st) = (reply.clone(), heard.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            // Bounded: at most 10 minutes of 5 ms polls.
            for _ in 0..120_000 {
                if st.load(Ordering::Relaxed) {
                    return;
                }
                let Ok((mut c, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = c.set_nonblocking(false);
                let _ = c.set_read_timeout(Some(Duration::from_millis(30)));
                let mut buf = [0u8; 256];
                if let Ok(n) = c.read(&mut buf)
                    && n > 0
                    && let Ok(mut h) = h.lock()
                {
                    h.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                }
                let out = r.lock().map(|r| r.clone()).unwrap_or_default();
                let _ = c.write_all(&out);
            }
        });
        Agent {
            port,
            reply,
            heard,
            stop,
            thread: Some(thread),
        }
    }

    fn say(&self, line: &str) {
        *self.reply.lock().expect("reply") = line.as_bytes().to_vec();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Columns `names` of server `k/<s>` in `show stat` (empty when it has no row).
fn stat_cols(csv: &str, s: &str, names: &[&str]) -> Vec<(String, String)> {
    let rows = stat_rows(csv);
    let Some(row) = rows.get(&("k".to_string(), s.to_string())) else {
        return vec![];
    };
    names
        .iter()
        .map(|c| (c.to_string(), row.get(*c).cloned().unwrap_or_default()))
        .collect()
}

/// The agent columns (and the ones an agent changes) of server `k/<s>` in `show stat`.
fn agent_cols(csv: &str, s: &str) -> Vec<(String, String)> {
    let rows = stat_rows(csv);
    let Some(row) = rows.get(&("k".to_string(), s.to_string())) else {
        return vec![("row".into(), "missing".into())];
    };
    [
        "status",
        "weight",
        "uweight",
        "slim",
        "agent_status",
        "agent_code",
        "agent_desc",
        "last_agt",
        "agent_rise",
        "agent_fall",
        "agent_health",
    ]
    .iter()
    .map(|c| (c.to_string(), row.get(*c).cloned().unwrap_or_default()))
    .collect()
}

/// haproxy's agent check, side by side with Debian's haproxy 2.6: one agent answers
/// both balancers, and after each answer both show the same status, weight, maxconn and
/// agent columns (`agent_status`, `last_agt`, `agent_health`...): weights in percent,
/// drain, maint, ready, maxconn, down with a reason, up, words it does not know, a bad
/// weight, a line that does not end, an agent that cannot be reached (the server keeps
/// its state). Then the runtime commands (`set server ... agent|health|agent-*|check-*`,
/// `enable`/`disable agent`) answer byte for byte as haproxy's, with the same effects.
#[test]
fn agent_checks_match_haproxy() {
    let a = Backend::start("a", Behavior::Name);
    let agent = Agent::start("up\n");
    let port = agent.port;
    let p = pair_with(
        &[PairListener::plain("k", vec![("a", a.addr, 4)])],
        &format!("      agent: {{ port: {port}, inter: 100ms, send: \"hello\\n\" }}\n"),
        &format!(
            "  default-server agent-check agent-port {port} agent-inter 100ms agent-send \"hello\\n\"\n"
        ),
    );
    // One reply, and the state both balancers settle on (the agent asks every 100 ms;
    // a check running just then shows `* L7OK`).
    let settle = |line: &str, want: &[(&str, &str)]| {
        agent.say(line);
        let mut last = (Vec::new(), Vec::new());
        let ok = wait_for(Duration::from_secs(10), || {
            let (ours, theirs) = p.both("show stat");
            last = (agent_cols(&ours, "a"), agent_cols(&theirs, "a"));
            let wanted = want
                .iter()
                .all(|(c, v)| last.0.iter().any(|(k, x)| k == c && x == v));
            (wanted && last.0 == last.1).then_some(())
        });
        assert!(
            ok.is_some(),
            "after {line:?}: tandem {:?}\nhaproxy {:?}\n{}",
            last.0,
            last.1,
            p.tandem.logs()
        );
    };
    settle(
        "up\n",
        &[
            ("status", "no check"),
            ("agent_status", "L7OK"),
            ("last_agt", "via agent : up"),
        ],
    );
    assert!(
        agent
            .heard
            .lock()
            .expect("heard")
            .iter()
            .all(|h| h == "hello\n"),
        "agent-send"
    );
    settle(
        "50%\n",
        &[
            ("weight", "2"),
            ("agent_status", "CHECKED"),
            ("last_agt", ""),
        ],
    );
    settle("drain\r\n", &[("status", "DRAIN (agent)")]);
    settle(
        "ready maxconn:3,75%\n",
        &[("status", "no check"), ("slim", "3"), ("weight", "3")],
    );
    settle(
        "down # maintenance window\n",
        &[
            ("status", "DOWN (agent)"),
            ("agent_status", "L7STS"),
            ("agent_health", "0"),
            ("last_agt", "via agent : down (maintenance window)"),
        ],
    );
    // Down: no server for new clients on either.
    for addr in [p.t_addr["k"], p.h_addr["k"]] {
        let got = connect_from(addr, None)
            .ok()
            .and_then(|c| read_line(&c).ok());
        assert_ne!(got.as_deref(), Some("a"), "{addr}");
    }
    settle(
        "up bogus #fine\n",
        &[
            ("status", "no check"),
            ("last_agt", "via agent : up (bogus)"),
        ],
    );
    settle("MAINT\n", &[("status", "MAINT")]);
    settle("ready 100%\n", &[("status", "no check"), ("weight", "4")]);
    settle(
        "hello there\n",
        &[("last_agt", "agent reports an error : hello")],
    );
    settle(
        "150%x\n",
        &[(
            "last_agt",
            "agent warns : Trailing garbage in weight string",
        )],
    );
    settle(
        "up",
        &[
            ("last_agt", "Ignoring incomplete line from agent"),
            ("status", "no check"),
        ],
    );
    settle("stopped\n", &[("status", "DOWN (agent)")]);
    // An agent that cannot be reached changes nothing.
    drop(agent);
    let mut last = (Vec::new(), Vec::new());
    let ok = wait_for(Duration::from_secs(10), || {
        let (ours, theirs) = p.both("show stat");
        last = (agent_cols(&ours, "a"), agent_cols(&theirs, "a"));
        let refused = last
            .0
            .iter()
            .any(|(k, v)| k == "agent_status" && v == "L4CON");
        (refused && last.0 == last.1).then_some(())
    });
    assert!(ok.is_some(), "tandem {:?}\nhaproxy {:?}", last.0, last.1);
    assert!(
        last.0.contains(&("status".into(), "DOWN (agent)".into())),
        "{:?}",
        last.0
    );
    assert!(
        last.0
            .contains(&("last_agt".into(), "Connection refused".into())),
        "{:?}",
        last.0
    );
    // The runtime commands, byte for byte.
    p.same(&[
        "set server k/a agent",
        "set server k/a agent maybe",
        "set server k/a health",
        "set server k/a health sideways",
        "set server k/a agent-addr",
        "set server k/a agent-addr bogus",
        "set server k/a agent-port",
        "set server k/a agent-port x",
        "set server k/a agent-port -1",
        "set server k/a agent-port 70000",
        "set server k/a check-port 80",
        "set server k/a check-addr 127.0.0.1",
        "set server k/zz agent up",
        "enable agent k/zz",
    ]);
    p.done(&["set server k/a agent up"]);
    let cols = |want: &[(&str, &str)]| {
        // Asked again while an agent check runs on one side (`* L4CON`).
        let mut last = (Vec::new(), Vec::new());
        let agreed = wait_for(Duration::from_secs(10), || {
            let (ours, theirs) = p.both("show stat");
            last = (agent_cols(&ours, "a"), agent_cols(&theirs, "a"));
            (last.0 == last.1).then_some(())
        });
        let (o, t) = last;
        assert!(agreed.is_some(), "tandem {o:?}\nhaproxy {t:?}");
        for (c, v) in want {
            assert!(o.iter().any(|(k, x)| k == c && x == v), "{c}={v}: {o:?}");
        }
    };
    cols(&[("status", "no check"), ("agent_health", "1")]);
    p.done(&["set server k/a health stopping"]);
    cols(&[("status", "NOLB")]);
    p.done(&["set server k/a health down"]);
    cols(&[("status", "DOWN 0/2")]);
    p.done(&["set server k/a health up"]);
    cols(&[("status", "no check")]);
    p.done(&["set server k/a agent down"]);
    cols(&[("status", "DOWN (agent)")]);
    p.done(&["disable agent k/a"]);
    p.same(&[
        "set server k/a agent up",
        "set server k/a agent-send x",
        "set server k/a agent-port 1",
        "set server k/a agent-addr 127.0.0.1",
    ]);
    p.done(&[
        "enable agent k/a",
        "set server k/a agent-send bye",
        &format!("set server k/a agent-addr 127.0.0.1 port {port}"),
        "set server k/a agent-port 9",
    ]);
    // srv_agent_state, srv_check_port, srv_check_addr, srv_agent_addr, srv_agent_port.
    let ours = p.servers_state_agree("k", &[14, 21, 22, 23, 24]);
    // Deviation: `enable agent` starts the agent afresh (up until it answers), where
    // haproxy keeps its last "down" until the agent says otherwise (here it cannot be
    // reached: haproxy's server would stay down for good).
    assert_eq!(
        ours.lines().nth(2).and_then(|l| l.split(' ').nth(5)),
        Some("2"),
        "{ours}"
    );
    assert!(
        p.tandem
            .wait_log("server k/a is DOWN (agent: via agent : down (maintenance window))"),
        "{}",
        p.tandem.logs()
    );
    assert!(
        p.tandem.wait_log("set to drain by its agent"),
        "{}",
        p.tandem.logs()
    );
    // tandem: `/status` shows the agent; a reload keeps `disable agent`.
    let (code, status) = http_get(p.t_observe, "/status").expect("status");
    assert_eq!(code, 200);
    assert!(
        status.contains("\"says\": \"up\"") && status.contains("\"enabled\": true"),
        "{status}"
    );
    p.done(&["disable agent k/a"]);
    p.tandem.signal(Signal::SIGHUP);
    assert!(p.tandem.wait_log("config reloaded"), "{}", p.tandem.logs());
    let state = raw_admin(&p.t_sock, "show servers state k");
    let agent_state = state.lines().nth(2).and_then(|l| l.split(' ').nth(14));
    // CHK_ST_CONFIGURED | CHK_ST_AGENT, not CHK_ST_ENABLED.
    assert_eq!(agent_state, Some("18"), "{state}");
}

/// With a health check too, side by side with haproxy 2.6: a server is up only when
/// both its check and its agent say so, `set server ... check-port / check-addr` move
/// the health check (down on a dead port, up again at the server), and `health
/// stopping` (NOLB) lasts until the next passing check.
#[test]
fn agent_and_health_check_together_match_haproxy() {
    let a = Backend::start("a", Behavior::Name);
    let agent = Agent::start("down\n");
    let port = agent.port;
    let p = pair_with(
        &[PairListener {
            check: true,
            ..PairListener::plain("k", vec![("a", a.addr, 1)])
        }],
        &format!("      agent: {{ port: {port}, inter: 100ms }}\n"),
        &format!("  default-server agent-check agent-port {port} agent-inter 100ms\n"),
    );
    let settle = |what: &str, want: &str| {
        let mut last = (Vec::new(), Vec::new());
        let ok = wait_for(Duration::from_secs(15), || {
            let (ours, theirs) = p.both("show stat");
            last = (agent_cols(&ours, "a"), agent_cols(&theirs, "a"));
            let status = |c: &[(String, String)]| {
                c.iter()
                    .find(|(k, _)| k == "status")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            (status(&last.0) == want && status(&last.1) == want).then_some(())
        });
        assert!(
            ok.is_some(),
            "{what}: tandem {:?}\nhaproxy {:?}\n{}",
            last.0,
            last.1,
            p.tandem.logs()
        );
    };
    settle("the agent says down, the check up", "DOWN (agent)");
    agent.say("up\n");
    settle("both say up", "UP");
    let dead = free_port();
    p.done(&[&format!("set server k/a check-port {dead}")]);
    settle("the check on a dead port", "DOWN");
    p.done(&[&format!(
        "set server k/a check-addr 127.0.0.1 port {}",
        a.addr.port()
    )]);
    settle("the check at the server again", "UP");
    p.done(&["set server k/a health stopping"]);
    settle("NOLB ends with the next passing check", "UP");
    // srv_op_state, srv_agent_state, srv_check_port, srv_check_addr.
    p.servers_state_agree("k", &[5, 14, 21, 22]);
    assert!(
        p.tandem
            .wait_log("server k/a is DOWN (agent: via agent : down)"),
        "{}",
        p.tandem.logs()
    );
}

/// haproxy's `observe layer4` with `error-limit` and `on-error mark-down`, side by side
/// with Debian's haproxy 2.6: the server's port refuses connections while its check
/// port answers, so the checks pass; one client's failed connections (with its retries)
/// reach the limit and take the server down at once on both, with haproxy's
/// `check_status` `HANA`, its `last_chk` text and `hanafail`.
#[test]
fn observed_connection_errors_mark_a_server_down_as_haproxy() {
    let check = Backend::start("a", Behavior::Name);
    let dead: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let cp = check.addr.port();
    let p = pair_with(
        &[PairListener::plain("k", vec![("a", dead, 1)])],
        &format!(
            "      check: {{ type: tcp, port: {cp}, inter: 20s, observe: layer4, error_limit: 3, on_error: mark_down }}\n"
        ),
        &format!(
            "  default-server check port {cp} inter 20s observe layer4 error-limit 3 on-error mark-down\n"
        ),
    );
    let cols = |csv: &str| {
        stat_cols(
            csv,
            "a",
            &[
                "status",
                "check_status",
                "check_desc",
                "last_chk",
                "hanafail",
                "chkfail",
                "check_health",
            ],
        )
    };
    let (ours, theirs) = p.both("show stat");
    assert_eq!(
        cols(&ours)
            .iter()
            .find(|(k, _)| k == "hanafail")
            .map(|(_, v)| v.as_str()),
        Some("0"),
        "{ours}"
    );
    assert_eq!(
        cols(&ours).iter().find(|(k, _)| k == "hanafail"),
        cols(&theirs).iter().find(|(k, _)| k == "hanafail")
    );
    // The first checks (the only server's: at start, on both) pass before the client
    // comes, the next ones 20 s later: a passing check forgets the errors counted so
    // far, on both, so one landing between the client's attempts would keep the count
    // below the limit.
    let first_checks = wait_for(Duration::from_secs(15), || {
        let (ours, theirs) = p.both("show stat");
        let passed =
            |c: Vec<(String, String)>| c.iter().any(|(k, v)| k == "check_status" && v == "L4OK");
        (passed(cols(&ours)) && passed(cols(&theirs))).then_some(())
    });
    assert!(first_checks.is_some(), "{}", p.tandem.logs());
    // One client each: its attempts (the first and three retries) all refused.
    for addr in [p.t_addr["k"], p.h_addr["k"]] {
        let got = connect_from(addr, None)
            .ok()
            .and_then(|c| read_line(&c).ok());
        assert_ne!(got.as_deref(), Some("a"), "{addr}");
    }
    let mut last = (Vec::new(), Vec::new());
    let ok = wait_for(Duration::from_secs(8), || {
        let (ours, theirs) = p.both("show stat");
        last = (cols(&ours), cols(&theirs));
        let down = last.0.iter().any(|(k, v)| k == "status" && v == "DOWN");
        (down && last.0 == last.1).then_some(())
    });
    assert!(
        ok.is_some(),
        "tandem {:?}\nhaproxy {:?}\n{}",
        last.0,
        last.1,
        p.tandem.logs()
    );
    let want = [
        ("check_status", "HANA"),
        ("check_desc", "Health analyze"),
        (
            "last_chk",
            "Detected 3 consecutive errors, last one was: L4 unsuccessful connection",
        ),
        ("hanafail", "1"),
    ];
    for (c, v) in want {
        assert!(
            last.0.iter().any(|(k, x)| k == c && x == v),
            "{c}={v}: {:?}",
            last.0
        );
    }
    assert!(
        p.tandem.wait_log(
            "server k/a is DOWN (check: Detected 3 consecutive errors, last one was: L4 unsuccessful connection"
        ),
        "{}",
        p.tandem.logs()
    );
}

/// A server's own `observe`, `error_limit`, `on_error` (haproxy's per-server options):
/// under a listener check that observes with `error_limit: 2, on_error: mark_down`,
/// server `a` (the listener's settings) is taken down by its failed connections, `b`
/// (`observe: none`) and `c` (`error_limit: 1000`) stay up, their checks passing.
#[test]
fn a_servers_own_observe_settings_apply_to_it() {
    let check = Backend::start("chk", Behavior::Name);
    let cp = check.addr.port();
    let dead = || -> SocketAddr { format!("127.0.0.1:{}", free_port()).parse().expect("addr") };
    let servers = [
        format!("        - {{ name: a, address: \"{}\" }}\n", dead()),
        format!(
            "        - {{ name: b, address: \"{}\", check: {{ observe: none }} }}\n",
            dead()
        ),
        format!(
            "        - {{ name: c, address: \"{}\", check: {{ error_limit: 1000 }} }}\n",
            dead()
        ),
    ];
    let lb = lb(
        &format!(
            "      check: {{ type: tcp, port: {cp}, inter: 20s, observe: layer4, error_limit: 2, on_error: mark_down }}\n      retries: 3\n"
        ),
        &servers,
    );
    let col = |rows: &HashMap<(String, String), HashMap<String, String>>, s: &str, c: &str| {
        rows.get(&("l".to_string(), s.to_string()))
            .and_then(|r| r.get(c).cloned())
            .unwrap_or_default()
    };
    // The first checks pass before any client comes (a passing check forgets errors).
    let checked = wait_for(Duration::from_secs(15), || {
        let rows = stat_rows(&raw_admin(&lb.socket, "show stat"));
        ["a", "b", "c"]
            .iter()
            .all(|s| col(&rows, s, "check_status") == "L4OK")
            .then_some(())
    });
    assert!(checked.is_some(), "{}", lb.daemon.logs());
    // Clients whose every attempt is refused, until `a` is down (bounded).
    let mut rows = HashMap::new();
    for _ in 0..12 {
        let got = connect_from(lb.addr, None)
            .ok()
            .and_then(|c| read_line(&c).ok());
        assert!(got.unwrap_or_default().is_empty(), "no server answers");
        rows = stat_rows(&raw_admin(&lb.socket, "show stat"));
        if col(&rows, "a", "status") == "DOWN" {
            break;
        }
    }
    assert_eq!(col(&rows, "a", "status"), "DOWN", "{rows:?}");
    assert_eq!(col(&rows, "a", "check_status"), "HANA", "{rows:?}");
    // Now b and c get the clients (their 4 attempts each refused too): more errors in
    // a row than a needed, and they stay up.
    for _ in 0..4 {
        let got = connect_from(lb.addr, None)
            .ok()
            .and_then(|c| read_line(&c).ok());
        assert!(got.unwrap_or_default().is_empty(), "no server answers");
    }
    // What their errors could have set off would have come by now (a's did at once).
    std::thread::sleep(Duration::from_millis(500));
    let rows = stat_rows(&raw_admin(&lb.socket, "show stat"));
    for s in ["b", "c"] {
        assert_eq!(col(&rows, s, "status"), "UP", "{s}: {rows:?}");
        assert_eq!(col(&rows, s, "hanafail"), "0", "{s}: {rows:?}");
        assert_ne!(col(&rows, s, "econ"), "0", "{s} was tried: {rows:?}");
    }
    assert!(
        lb.daemon.wait_log(
            "server l/a: 2 connections in a row failed (observe: layer4, on_error: mark_down)"
        ),
        "{}",
        lb.daemon.logs()
    );
}

/// haproxy's `track`, side by side with Debian's haproxy 2.6: listener `ro`'s server
/// tracks `rw/a` (the classic read/write pair of listeners over one MySQL server,
/// checked once). What happens to `rw/a` — down, up, NOLB, maintenance, drain — shows on
/// `ro/a` on both balancers: the same status (`MAINT (via rw/a)`), the same inherited
/// admin flags in `show servers state`, and no new connections through `ro` while
/// `rw/a` is down. `ro/a`'s own maintenance stays its own.
#[test]
fn tracking_servers_follow_as_haproxy() {
    let a = Backend::start("a", Behavior::Name);
    let p = pair(&[
        PairListener {
            more: (
                "      check: { type: tcp, inter: 10s, rise: 2, fall: 3 }\n",
                "  default-server check inter 10s rise 2 fall 3\n",
            ),
            ..PairListener::plain("rw", vec![("a", a.addr, 1)])
        },
        PairListener {
            server_more: (", track: rw/a", " track rw/a"),
            ..PairListener::plain("ro", vec![("a", a.addr, 1)])
        },
    ]);
    let status = |csv: &str| -> String {
        stat_rows(csv)
            .get(&("ro".to_string(), "a".to_string()))
            .and_then(|r| r.get("status").cloned())
            .unwrap_or_default()
    };
    let admin_flags = |state: &str| -> Vec<String> {
        state
            .lines()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
            .filter_map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                (f.get(1) == Some(&"ro")).then(|| format!("{} {}", f[5], f[6]))
            })
            .collect()
    };
    let step = |cmd: &str, want: &str| {
        if !cmd.is_empty() {
            p.done(&[cmd]);
        }
        let mut last = (String::new(), String::new());
        let ok = wait_for(Duration::from_secs(10), || {
            let (ours, theirs) = p.both("show stat");
            last = (status(&ours), status(&theirs));
            (last.0 == want && last.1 == want).then_some(())
        });
        assert!(
            ok.is_some(),
            "after `{cmd}`: tandem {:?} haproxy {:?}\n{}",
            last.0,
            last.1,
            p.tandem.logs()
        );
        let (ours, theirs) = p.both("show servers state");
        assert_eq!(
            admin_flags(&ours),
            admin_flags(&theirs),
            "after `{cmd}`\n{ours}\n{theirs}"
        );
    };
    step("", "UP");
    step("set server rw/a health down", "DOWN");
    for addr in [p.t_addr["ro"], p.h_addr["ro"]] {
        let got = connect_from(addr, None)
            .ok()
            .and_then(|c| read_line(&c).ok());
        assert_ne!(got.as_deref(), Some("a"), "{addr}");
    }
    step("set server rw/a health up", "UP");
    step("set server rw/a state maint", "MAINT (via rw/a)");
    // Out of maintenance haproxy shows `UP 1/3` until rw/a's next check (up to 10 s).
    step("set server rw/a state ready", "UP");
    step("set server rw/a state drain", "DRAIN");
    step("set server rw/a state ready", "UP");
    step("set server ro/a state maint", "MAINT");
    step("set server ro/a state ready", "UP");
    // A tracking server's health is its tracked one's: haproxy's refusal.
    p.same(&["set server ro/a health down"]);
    step("set server rw/a health stopping", "NOLB");
    step("set server rw/a health up", "UP");
    for addr in [p.t_addr["ro"], p.h_addr["ro"]] {
        let c = connect_from(addr, None).expect("connect");
        assert_eq!(read_line(&c).expect("answer"), "a", "{addr}");
    }
    assert!(
        p.tandem.wait_log("server ro/a is DOWN (via rw/a)"),
        "{}",
        p.tandem.logs()
    );
    assert!(
        p.tandem
            .wait_log("server ro/a set to maint via rw/a (was ready)"),
        "{}",
        p.tandem.logs()
    );
    // tandem: a reload keeps following.
    p.tandem.signal(Signal::SIGHUP);
    assert!(p.tandem.wait_log("config reloaded"), "{}", p.tandem.logs());
    p.done(&["set server rw/a health down"]);
    let ok = wait_for(Duration::from_secs(10), || {
        (status(&raw_admin(&p.t_sock, "show stat")) == "DOWN").then_some(())
    });
    assert!(ok.is_some(), "{}", p.tandem.logs());
}

/// haproxy's `http-check disable-on-404`, side by side with Debian's haproxy 2.6: a
/// running server whose check answers 404 is drained (NOLB, `L7OKC`, "Layer7 check
/// conditionally passed", check result 4 in `show servers state`) and new connections
/// go to the other server; a 200 brings it back; a server that is down stays down on a
/// 404 (a wrong status there), and comes up on a 200.
#[test]
fn disable_on_404_drains_a_running_server_as_haproxy() {
    use std::sync::atomic::Ordering;
    let a = Backend::start("a", Behavior::Name);
    let b = Backend::start("b", Behavior::Name);
    let health_a = Backend::start("ha", Behavior::Http);
    let health_b = Backend::start("hb", Behavior::Http);
    let (ha, hb) = (health_a.port(), health_b.port());
    let p = pair_with(
        &[PairListener::plain(
            "k",
            vec![("a", a.addr, 1), ("b", b.addr, 1)],
        )],
        &format!(
            "      check: {{ type: http, port: {ha}, path: /, inter: 200ms, rise: 1, fall: 2, disable_on_404: true }}\n"
        ),
        &format!(
            "  option httpchk GET /\n  http-check disable-on-404\n  default-server check port {ha} inter 200ms rise 1 fall 2\n"
        ),
    );
    p.same(&[&format!("set server k/b check-port {hb}")]);
    // (`last_chk` of a wrong status is haproxy's reason phrase, tandem's own text.)
    let cols = |csv: &str| {
        stat_cols(
            csv,
            "a",
            &[
                "status",
                "check_status",
                "check_desc",
                "check_health",
                "check_code",
            ],
        )
    };
    // Waits until server a shows `status` and `check` on both, and both agree.
    let settled = |status: &str, check: &str| -> Vec<(String, String)> {
        let mut last = (Vec::new(), Vec::new());
        let ok = wait_for(Duration::from_secs(10), || {
            let (ours, theirs) = p.both("show stat");
            last = (cols(&ours), cols(&theirs));
            let there = last.0.iter().any(|(k, v)| k == "status" && v == status)
                && last
                    .0
                    .iter()
                    .any(|(k, v)| k == "check_status" && v == check);
            (there && last.0 == last.1).then_some(())
        });
        assert!(
            ok.is_some(),
            "{status}/{check}: tandem {:?}\nhaproxy {:?}\n{}",
            last.0,
            last.1,
            p.tandem.logs()
        );
        last.0
    };
    settled("UP", "L7OK");
    let served = |addr: SocketAddr| -> Vec<String> {
        (0..4)
            .map(|_| {
                let c = connect_from(addr, None).expect("connect");
                read_line(&c).expect("answer")
            })
            .collect()
    };
    // 404: drained on both.
    health_a.http_status.store(404, Ordering::SeqCst);
    let got = settled("NOLB", "L7OKC");
    assert!(
        got.iter()
            .any(|(k, v)| k == "check_desc" && v == "Layer7 check conditionally passed"),
        "{got:?}"
    );
    p.servers_state_agree("k", &[5, 10, 11, 12]);
    for addr in [p.t_addr["k"], p.h_addr["k"]] {
        assert_eq!(served(addr), vec!["b"; 4], "{addr}");
    }
    assert!(
        p.tandem
            .wait_log("server k/a is NOLB (check: HTTP status 404, disable_on_404)"),
        "{}",
        p.tandem.logs()
    );
    // 200: back in the farm.
    health_a.http_status.store(200, Ordering::SeqCst);
    settled("UP", "L7OK");
    assert!(
        p.tandem
            .wait_log("server k/a is UP (leaving NOLB: check succeeded)"),
        "{}",
        p.tandem.logs()
    );
    let mut both: Vec<String> = served(p.t_addr["k"]);
    both.sort();
    assert_eq!(both, vec!["a", "a", "b", "b"]);
    // Down by a 503; a 404 then is a wrong status: it stays down.
    health_a.http_status.store(503, Ordering::SeqCst);
    settled("DOWN", "L7STS");
    health_a.http_status.store(404, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(600));
    settled("DOWN", "L7STS");
    p.servers_state_agree("k", &[5, 10, 11, 12]);
    health_a.http_status.store(200, Ordering::SeqCst);
    settled("UP", "L7OK");
}
