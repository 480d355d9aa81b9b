//! The `tandem` command line: check, run, status, version.

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use common::{Daemon, free_port, http_get, tandem, wait_for, write};
use nix::sys::signal::Signal;
use serde_json::Value;

/// A router section (its listener on a free port, no admin port).
fn router_section() -> String {
    format!(
        "router:\n  listen: 127.0.0.1:{}\n  admin_listen: off\n{ROUTER_BODY}",
        common::free_port()
    )
}

const ROUTER_BODY: &str = "  users: [{ name: app, password: x, schemas: [s] }]
  schemas: [{ name: s, data_node: dn1 }]
  data_nodes: [{ name: dn1, data_host: h, database: d }]
  data_hosts: [{ name: h, write_hosts: [{ host: M, url: \"127.0.0.1:3306\", user: u }] }]
";

fn observe_config(port: u16, extra: &str) -> String {
    format!("node: test-box\nobserve: {{ listen: 127.0.0.1:{port} }}\n{extra}")
}

#[test]
fn check_valid_file_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "ok.yaml", "observe: {}\n");
    let path = p.to_string_lossy().to_string();
    let (code, out, _) = tandem(&["check", "-c", &path]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        format!(
            "{path}: warning: no subsystem is configured (vrrp, balancer, router): tandem will only serve `observe`\n{path}: valid (1 warning)\n"
        )
    );
}

#[test]
fn check_invalid_file_exits_1_and_prints_every_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "bad.yaml",
        "observe:\n  listen: 127.0.0.1:99999\n  allow_remot: true\n",
    );
    let path = p.to_string_lossy().to_string();
    let (code, out, _) = tandem(&["check", "-c", &path]);
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        vec![
            format!("{path}:2:11: observe.listen: `127.0.0.1:99999` is not an address:port such as 127.0.0.1:9188 or [::1]:9188").as_str(),
            format!("{path}:3:3: observe.allow_remot: unknown key `allow_remot`; did you mean `allow_remote`?").as_str(),
            format!("{path}: 2 errors, 0 warnings").as_str(),
        ]
    );
}

#[test]
fn check_json_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "bad.yaml",
        "vrrp:\n  instances:\n    - { name: a, interface: eth0, virtual_router_id: 0 }\n",
    );
    let path = p.to_string_lossy().to_string();
    let (code, out, _) = tandem(&["check", "--json", "-c", &path]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["valid"], false);
    let e = &v["files"][0]["errors"][0];
    assert_eq!(v["files"][0]["file"], path.as_str());
    assert_eq!(e["line"], 3);
    assert_eq!(e["column"], 54);
    assert_eq!(e["path"], "vrrp.instances[0].virtual_router_id");
    assert_eq!(e["severity"], "error");
    assert_eq!(e["message"], "0 is out of range: must be between 1 and 255");

    let ok = write(dir.path(), "ok.yaml", "observe: {}\n");
    let (code, out, _) = tandem(&["check", "--json", "-c", &ok.to_string_lossy()]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["valid"], true);
    assert_eq!(v["files"][0]["warnings"].as_array().map(Vec::len), Some(1));
}

#[test]
fn check_missing_file() {
    let (code, out, _) = tandem(&["check", "-c", "/nonexistent/tandem.yaml"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("/nonexistent/tandem.yaml: cannot read: No such file or directory"),
        "{out}"
    );
}

#[test]
fn check_two_boxes_together_finds_disagreements() {
    let dir = tempfile::tempdir().expect("tempdir");
    let box_cfg = |prio: u8, int: &str, vip: &str| {
        format!(
            "vrrp:\n  instances:\n    - name: VI_1\n      interface: eth0\n      virtual_router_id: 51\n      priority: {prio}\n      advert_int: {int}\n      nopreempt: true\n      virtual_ipaddresses: [{vip}]\n"
        )
    };
    let a = write(dir.path(), "a.yaml", &box_cfg(150, "1s", "198.18.0.100/24"));
    let b = write(dir.path(), "b.yaml", &box_cfg(100, "2s", "198.18.0.101/24"));
    let (a, b) = (
        a.to_string_lossy().to_string(),
        b.to_string_lossy().to_string(),
    );
    let (code, out, _) = tandem(&["check", "-c", &a, "-c", &b]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("{a}:7:19: vrrp.instances[0].advert_int: advert_int 1s here, 2s in {b} (`VI_1`): VRRPv2 drops adverts with another interval, so both boxes would become master")), "{out}");
    assert!(out.contains(&format!("{a}:9:28: vrrp.instances[0].virtual_ipaddresses: VIPs differ from {b} (`VI_1`): [198.18.0.100/24] here, [198.18.0.101/24] there")), "{out}");
    assert!(out.contains(&format!("{b}:8:18: warning: vrrp.instances[0].nopreempt: has no effect on a node that is not the highest priority (node ")), "{out}");
}

#[test]
fn version_prints_version() {
    let (code, out, _) = tandem(&["version"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(&format!("tandem {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
}

#[test]
fn run_refuses_an_invalid_config_with_exit_78() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "bad.yaml", "observe: { listen: nowhere }\n");
    let (code, _, err) = tandem(&["run", "-c", &p.to_string_lossy()]);
    assert_eq!(code, 78, "{err}");
    assert!(
        err.contains("observe.listen: `nowhere` is not an address:port"),
        "{err}"
    );
    assert!(err.contains("not starting: 1 error(s)"), "{err}");
}

#[test]
fn run_serves_metrics_and_status_reloads_and_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}").parse().expect("addr");
    let cfg = write(dir.path(), "tandem.yaml", &observe_config(port, ""));
    let mut d = Daemon::start(&cfg);

    let metrics = wait_for(Duration::from_secs(20), || {
        http_get(addr, "/metrics").ok().filter(|(s, _)| *s == 200)
    })
    .expect("/metrics answers")
    .1;
    assert!(
        metrics.contains("# TYPE tandem_build_info gauge"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&"tandem_build_info{commit=".to_string())
            && metrics.contains(&format!("version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"))),
        "{metrics}"
    );
    let (code, status) = http_get(addr, "/status").expect("/status");
    assert_eq!(code, 200);
    let v: Value = serde_json::from_str(&status).expect("status JSON");
    assert_eq!(v["node"], "test-box");
    assert_eq!(v["config"]["generation"], 1);
    assert_eq!(v["pid"], d.pid());
    assert_eq!(http_get(addr, "/nope").expect("404").0, 404);

    // A good reload: new node name, a subsystem switched on.
    write(
        dir.path(),
        "tandem.yaml",
        &observe_config(port, &router_section()).replace("test-box", "renamed-box"),
    );
    d.signal(Signal::SIGHUP);
    let v = wait_for(Duration::from_secs(20), || {
        let (_, s) = http_get(addr, "/status").ok()?;
        let v: Value = serde_json::from_str(&s).ok()?;
        (v["config"]["generation"] == 2).then_some(v)
    })
    .expect("reload applied");
    assert_eq!(v["node"], "renamed-box");
    assert_eq!(v["config"]["last_reload"]["result"], "applied");
    assert_eq!(v["subsystems"]["router"]["enabled"], true);
    assert_eq!(v["subsystems"]["router"]["running"], true);
    assert!(d.wait_log("config reloaded: now running generation 2"));

    // A bad reload is refused; the running config stays.
    write(
        dir.path(),
        "tandem.yaml",
        &observe_config(port, "balancer: 5\n"),
    );
    d.signal(Signal::SIGHUP);
    let v = wait_for(Duration::from_secs(20), || {
        let (_, s) = http_get(addr, "/status").ok()?;
        let v: Value = serde_json::from_str(&s).ok()?;
        (v["config"]["last_reload"]["result"] == "refused").then_some(v)
    })
    .expect("reload refused");
    assert_eq!(v["config"]["generation"], 2);
    assert_eq!(v["node"], "renamed-box");
    let errs = v["config"]["last_reload"]["errors"].to_string();
    assert!(
        errs.contains("balancer: expected a mapping of keys to values, found `5`"),
        "{errs}"
    );
    assert!(d.wait_log("reload refused: 1 error(s)"));
    let (_, metrics) = http_get(addr, "/metrics").expect("metrics");
    assert!(
        metrics.contains("tandem_config_reloads_total{result=\"applied\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tandem_config_reloads_total{result=\"refused\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tandem_config_last_reload_successful 0"),
        "{metrics}"
    );

    // `tandem status`, human and JSON, finds the daemon through the config.
    write(dir.path(), "tandem.yaml", &observe_config(port, ""));
    let (code, out, err) = tandem(&["status", "-c", &cfg.to_string_lossy()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("node     renamed-box  (tandem "), "{out}");
    assert!(out.contains("generation 2"), "{out}");
    assert!(out.contains("reload   refused at "), "{out}");
    // The router runs; its write host (nothing on 127.0.0.1:3306) is down.
    assert!(out.contains("router   127.0.0.1:"), "{out}");
    assert!(out.contains("DATA HOST"), "{out}");
    let (code, out, _) = tandem(&["status", "--json", "--addr", &format!("127.0.0.1:{port}")]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["node"], "renamed-box");

    // SIGTERM: a clean exit, promptly.
    d.signal(Signal::SIGTERM);
    let status = d
        .wait_exit(Duration::from_secs(2))
        .expect("exited within 2s of SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", d.logs());
    assert!(d.logs().contains("SIGTERM: stopping"));
    assert!(d.logs().contains("tandem stopped"));
}

#[test]
fn sigint_also_stops_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let cfg = write(dir.path(), "tandem.yaml", &observe_config(port, ""));
    let mut d = Daemon::start(&cfg);
    assert!(d.wait_log("started on test-box"));
    d.signal(Signal::SIGINT);
    let status = d.wait_exit(Duration::from_secs(2)).expect("exited");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn reload_moves_the_observe_endpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (p1, p2) = (free_port(), free_port());
    let a1 = format!("127.0.0.1:{p1}").parse().expect("addr");
    let a2 = format!("127.0.0.1:{p2}").parse().expect("addr");
    let cfg = write(dir.path(), "tandem.yaml", &observe_config(p1, ""));
    let d = Daemon::start(&cfg);
    assert!(wait_for(Duration::from_secs(20), || http_get(a1, "/status").ok()).is_some());
    write(dir.path(), "tandem.yaml", &observe_config(p2, ""));
    d.signal(Signal::SIGHUP);
    assert!(wait_for(Duration::from_secs(20), || http_get(a2, "/status").ok()).is_some());
    assert!(
        http_get(a1, "/status").is_err(),
        "the old endpoint is closed"
    );
}

#[test]
fn status_without_a_daemon_fails_clearly() {
    let port = free_port();
    let (code, _, err) = tandem(&["status", "--addr", &format!("127.0.0.1:{port}")]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot reach the daemon"), "{err}");
}

/// After an edit whose reload was refused, `tandem status -c FILE` still finds the
/// running daemon through the file's `observe.listen`, and shows the refusal.
#[test]
fn status_reads_observe_listen_from_a_file_with_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let cfg = write(dir.path(), "tandem.yaml", &observe_config(port, ""));
    let d = Daemon::start(&cfg);
    assert!(d.wait_log("started on test-box"), "{}", d.logs());
    write(
        dir.path(),
        "tandem.yaml",
        &observe_config(port, "balancr: {}\n"),
    );
    d.signal(Signal::SIGHUP);
    assert!(d.wait_log("reload refused"), "{}", d.logs());
    let path = cfg.to_string_lossy().to_string();
    let (code, out, err) = tandem(&["status", "-c", &path]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("has errors") && err.contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(out.contains("refused"), "{out}");
    // A file that is not YAML at all still needs --addr.
    write(dir.path(), "tandem.yaml", "observe: [\n");
    let (code, _, err) = tandem(&["status", "-c", &path]);
    assert_eq!(code, 1);
    assert!(err.contains("give it with --addr"), "{err}");
}

#[test]
fn json_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let cfg = write(
        dir.path(),
        "tandem.yaml",
        &observe_config(port, "log: { format: json, level: debug }\n"),
    );
    let d = Daemon::start(&cfg);
    assert!(d.wait_log("started on test-box"));
    let line = d
        .logs()
        .lines()
        .find(|l| l.contains("started on test-box"))
        .map(str::to_string)
        .expect("start line");
    let v: Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(v["level"], "INFO");
    assert_eq!(v["node"], "test-box");
    assert!(v["timestamp"].is_string());
}

#[test]
fn sd_notify_ready_reloading_stopping_and_watchdog() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("notify socket");
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let port = free_port();
    let cfg = write(dir.path(), "tandem.yaml", &observe_config(port, ""));
    let sock_str = sock_path.to_string_lossy().to_string();
    let mut d = Daemon::start_with_env(
        &cfg,
        &[("NOTIFY_SOCKET", &sock_str), ("WATCHDOG_USEC", "200000")],
    );
    let mut buf = [0u8; 4096];
    let mut recv = || -> String {
        let n = sock.recv(&mut buf).expect("a notify message");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let mut seen = Vec::new();
    let mut next_matching = |want: &str, seen: &mut Vec<String>| {
        for _ in 0..200 {
            let m = recv();
            seen.push(m.clone());
            if m.lines().any(|l| l == want) {
                return m;
            }
        }
        panic!("no {want} in {seen:?}");
    };
    let ready = next_matching("READY=1", &mut seen);
    assert!(
        ready.contains("STATUS=running config generation 1"),
        "{ready}"
    );
    next_matching("WATCHDOG=1", &mut seen);
    next_matching("WATCHDOG=1", &mut seen);
    d.signal(Signal::SIGHUP);
    let reloading = next_matching("RELOADING=1", &mut seen);
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    let ready = next_matching("READY=1", &mut seen);
    assert!(ready.contains("generation 2"), "{ready}");
    d.signal(Signal::SIGTERM);
    next_matching("STOPPING=1", &mut seen);
    assert_eq!(
        d.wait_exit(Duration::from_secs(5)).and_then(|s| s.code()),
        Some(0)
    );
}

/// A one-shot TCP server on a free port that answers the first connection with `answer`.
fn one_shot_server(answer: &'static [u8]) -> u16 {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        if let Ok((mut c, _)) = l.accept() {
            let _ = c.set_read_timeout(Some(Duration::from_millis(200)));
            let mut buf = [0u8; 1024];
            let _ = c.read(&mut buf);
            let _ = c.write_all(answer);
        }
    });
    port
}

#[test]
fn status_pointed_at_another_protocol_says_so() {
    // A MySQL greeting (what the router's port sends), not HTTP.
    let port = one_shot_server(b"J\0\0\0\x0a5.7.44-tandem\0\x01\0\0\0abcdefgh\0");
    let (code, out, err) = tandem(&["status", "--addr", &format!("127.0.0.1:{port}")]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("the answer is not HTTP"), "{err}");
    assert!(err.contains("tandem's observe address"), "{err}");
}

#[test]
fn status_refuses_json_that_is_not_a_status_document() {
    let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n[1,2]";
    for json in [false, true] {
        let port = one_shot_server(answer);
        let addr = format!("127.0.0.1:{port}");
        let mut args = vec!["status", "--addr", &addr];
        if json {
            args.push("--json");
        }
        let (code, out, err) = tandem(&args);
        assert_eq!(code, 1, "--json {json}: {out}{err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("not tandem's /status document"), "{err}");
    }
}

/// `tandem explain` on a router config in `dir`, reading statements from a pipe, its
/// output and errors piped too.
fn explain_from_stdin(dir: &std::path::Path) -> std::process::Child {
    use std::process::{Command, Stdio};
    let cfg = write(dir, "tandem.yaml", &router_section());
    Command::new(common::tandem_bin())
        .args(["explain", "-c", &cfg.to_string_lossy()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tandem")
}

#[test]
fn explain_from_stdin_skips_a_line_that_is_not_utf8_and_fails() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = explain_from_stdin(dir.path());
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"SELECT 1\n\xff\xfe\nSELECT 2\n")
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let plans: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON plan per line"))
        .collect();
    assert_eq!(
        plans.len(),
        2,
        "the statement after the bad line is planned: {stdout}"
    );
    assert_eq!(plans[1]["statement"], "SELECT 2");
    assert!(stderr.contains("stdin line 2 is not UTF-8"), "{stderr}");
}

#[test]
fn a_closed_output_pipe_ends_a_command_quietly() {
    use std::io::Write;
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = explain_from_stdin(dir.path());
    // The reader goes away before tandem writes anything (as with `| head -0`).
    drop(child.stdout.take());
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"SELECT 1\nSELECT 2\n")
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(Signal::SIGPIPE as i32),
        "ended by SIGPIPE like other Unix tools: {:?} {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn admin_commands_explain_a_wrong_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No daemon: the socket does not exist.
    let missing = dir.path().join("admin.sock").to_string_lossy().to_string();
    let (code, _, err) = tandem(&["balancer", "--socket", &missing, "servers"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot reach the daemon"), "{err}");
    assert!(err.contains("does not exist: is tandem running"), "{err}");
    // The config file given as the socket.
    let cfg = write(dir.path(), "tandem.yaml", "observe: {}\n");
    let cfg = cfg.to_string_lossy().to_string();
    let (code, _, err) = tandem(&["vrrp", "resign", "--socket", &cfg]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is not a Unix socket"), "{err}");
    // An unreadable config: the default socket is tried, and the operator is told why.
    let (code, _, err) = tandem(&["balancer", "-c", "/nonexistent/tandem.yaml", "servers"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("could not be read from /nonexistent/tandem.yaml"),
        "{err}"
    );
    // Something that accepts and closes without an answer.
    let sock = dir.path().join("mute.sock");
    let l = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    std::thread::spawn(move || {
        use std::io::Read;
        if let Ok((mut c, _)) = l.accept() {
            let mut buf = [0u8; 64];
            let _ = c.read(&mut buf);
        }
    });
    let (code, out, err) = tandem(&["admin", "--socket", &sock.to_string_lossy(), "help"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("closed the connection without an answer"),
        "{err}"
    );
}

/// A config with an observe port and an admin socket in `dir`.
fn observe_and_admin_config(port: u16, sock: &std::path::Path) -> String {
    observe_config(port, &format!("admin: {{ socket: {} }}\n", sock.display()))
}

/// Idle connections (slowloris, stuck scrapers) holding every slot of the observe
/// endpoint must not keep `tandem status` (5 s timeout) from an answer.
#[test]
fn status_answers_while_idle_connections_hold_every_observe_slot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let cfg = write(dir.path(), "tandem.yaml", &observe_config(port, ""));
    let d = Daemon::start(&cfg);
    assert!(d.wait_log("started on test-box"), "{}", d.logs());
    // More than the endpoint serves at once (64); they send nothing.
    let idle: Vec<std::net::TcpStream> = (0..80)
        .filter_map(|_| std::net::TcpStream::connect(addr).ok())
        .collect();
    assert_eq!(idle.len(), 80);
    std::thread::sleep(Duration::from_millis(200));
    let (code, out, err) = tandem(&["status", "--addr", &format!("127.0.0.1:{port}")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("node     test-box"), "{out}");
    drop(idle);
}

/// A second `tandem run` on the same config refuses to start, says why (with a hint),
/// and leaves the first daemon's admin socket alone.
#[test]
fn a_second_daemon_on_the_same_config_refuses_clearly_and_steals_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let cfg = write(
        dir.path(),
        "tandem.yaml",
        &observe_and_admin_config(free_port(), &sock),
    );
    let d = Daemon::start(&cfg);
    assert!(d.wait_log("started on test-box"), "{}", d.logs());
    let mut other = Daemon::start(&cfg);
    let status = other
        .wait_exit(Duration::from_secs(20))
        .expect("the second daemon exits");
    assert_eq!(status.code(), Some(1), "{}", other.logs());
    let logs = other.logs();
    assert!(
        logs.contains("Address already in use")
            && logs.contains("another tandem with this config?"),
        "{logs}"
    );
    assert!(!logs.contains("started on test-box"), "{logs}");
    let (code, out, err) = tandem(&["admin", "--socket", &sock.to_string_lossy(), "help"]);
    assert_eq!(code, 0, "the first daemon still answers: {out}{err}");
    // Sharing only the admin socket: the second one runs without it, and says so.
    let only_sock = write(
        dir.path(),
        "b.yaml",
        &observe_and_admin_config(free_port(), &sock),
    );
    let other = Daemon::start(&only_sock);
    assert!(
        other.wait_log("is in use by another running tandem"),
        "{}",
        other.logs()
    );
    let (code, out, err) = tandem(&["admin", "--socket", &sock.to_string_lossy(), "help"]);
    assert_eq!(code, 0, "the first daemon still answers: {out}{err}");
    drop(other);
    drop(d);
}

/// `admin.socket` pointing at a file that is not a socket (a typo such as the config
/// file itself) must not delete that file.
#[test]
fn an_admin_socket_path_that_is_a_regular_file_is_not_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let victim = write(dir.path(), "precious.txt", "keep me\n");
    let cfg = write(
        dir.path(),
        "tandem.yaml",
        &observe_and_admin_config(free_port(), &victim),
    );
    let d = Daemon::start(&cfg);
    assert!(d.wait_log("started on test-box"), "{}", d.logs());
    assert!(
        d.logs().contains("exists and is not a socket"),
        "{}",
        d.logs()
    );
    assert_eq!(
        std::fs::read_to_string(&victim).expect("the file is still there"),
        "keep me\n"
    );
}

/// An observe port taken by something else: exit 1 with the cause said once, and a hint.
#[test]
fn run_with_the_observe_port_taken_says_why_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let cfg = write(dir.path(), "tandem.yaml", &observe_config(port, ""));
    let mut d = Daemon::start(&cfg);
    let status = d.wait_exit(Duration::from_secs(20)).expect("exits");
    assert_eq!(status.code(), Some(1), "{}", d.logs());
    let logs = d.logs();
    assert_eq!(
        logs.matches("Address already in use").count(),
        1,
        "the cause once: {logs}"
    );
    assert!(logs.contains("another tandem with this config?"), "{logs}");
    drop(taken);
}

/// A socket the caller may not connect to: the hint says permission, not "not running".
#[test]
fn admin_command_on_a_socket_without_permission_says_so() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod dir");
    let sock = dir.path().join("admin.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    let root = nix::unistd::geteuid().is_root();
    let run = |bin: &std::path::Path| {
        let mut cmd = std::process::Command::new(bin);
        cmd.args(["admin", "--socket", &sock.to_string_lossy(), "help"]);
        if root {
            cmd.uid(65534).gid(65534);
        }
        cmd.stdin(std::process::Stdio::null()).output()
    };
    // Root passes every permission check: ask as nobody, socket root:root 0660.
    let mode = if root { 0o660 } else { 0o000 };
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(mode)).expect("chmod");
    let out = match run(&common::tandem_bin()) {
        // A target directory nobody cannot reach: a copy nobody can run.
        Err(e) if root && e.kind() == std::io::ErrorKind::PermissionDenied => {
            let copy = dir.path().join("tandem");
            std::fs::copy(common::tandem_bin(), &copy).expect("copy the binary");
            run(&copy)
        }
        r => r,
    }
    .expect("run tandem");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    assert!(err.contains("permission denied on"), "{err}");
    assert!(!err.contains("is tandem running"), "{err}");
}

/// A command line without an end is cut off at a bound with an error, not buffered.
#[test]
fn admin_socket_refuses_an_endless_command_line() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let cfg = write(
        dir.path(),
        "tandem.yaml",
        &observe_and_admin_config(free_port(), &sock),
    );
    let d = Daemon::start(&cfg);
    assert!(d.wait_log("admin socket on"), "{}", d.logs());
    let mut c = std::os::unix::net::UnixStream::connect(&sock).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    // No newline, and the connection stays open.
    let _ = c.write_all(&vec![b'x'; 64 * 1024]);
    let mut reply = String::new();
    let _ = c.read_to_string(&mut reply);
    assert!(
        reply.starts_with("error: command longer than"),
        "reply: {reply:?}"
    );
    // The daemon still answers.
    let (code, out, err) = tandem(&["admin", "--socket", &sock.to_string_lossy(), "help"]);
    assert_eq!(code, 0, "{out}{err}");
}

/// A daemon that accepts on its admin socket but never answers (hung): exit 1 within the
/// CLI's bound, and the message says so instead of "is tandem running?".
#[test]
fn admin_command_to_a_hung_daemon_times_out_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("hung.sock");
    let l = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    let holder = std::thread::spawn(move || {
        // Accept, read nothing back, hold the connection until the client gives up.
        if let Ok((c, _)) = l.accept() {
            let _ = c.set_read_timeout(Some(Duration::from_secs(30)));
            let mut buf = [0u8; 64];
            let mut c = c;
            while matches!(std::io::Read::read(&mut c, &mut buf), Ok(n) if n > 0) {}
        }
    });
    let (code, out, err) = tandem(&["admin", "--socket", &sock.to_string_lossy(), "help"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("did not reply"), "{err}");
    assert!(!err.contains("is tandem running"), "{err}");
    let _ = holder.join();
}

/// SIGTERM while a reload is stuck (here: the config path became a FIFO nobody writes,
/// as a stand-in for a DNS lookup that hangs) still stops the daemon within its bound.
#[test]
fn sigterm_during_a_stuck_reload_still_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let cfg = write(dir.path(), "tandem.yaml", &observe_config(port, ""));
    let mut d = Daemon::start(&cfg);
    assert!(d.wait_log("started on test-box"), "{}", d.logs());
    std::fs::remove_file(&cfg).expect("remove config");
    nix::unistd::mkfifo(&cfg, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    d.signal(Signal::SIGHUP);
    assert!(d.wait_log("SIGHUP: reloading"), "{}", d.logs());
    d.signal(Signal::SIGTERM);
    let status = d.wait_exit(Duration::from_secs(20));
    // Unblock a reader that is still there, so nothing lingers after the test.
    if status.is_none() {
        let _ = std::fs::OpenOptions::new().write(true).open(&cfg);
    }
    let status = status.expect("the daemon exits although its reload is stuck");
    assert_eq!(status.code(), Some(0), "{}", d.logs());
    assert!(d.logs().contains("during a reload"), "{}", d.logs());
}

/// `/metrics` of a daemon running the balancer, the router and a tracked script is valid
/// Prometheus text: HELP and TYPE before each family's samples, names
/// `tandem_<area>_<what>[_unit]`, counters ending `_total`, no client addresses in labels.
#[test]
fn metrics_follow_the_prometheus_text_format_and_naming() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}").parse().expect("addr");
    let balancer = format!(
        "balancer:\n  listeners:\n    - name: mysql\n      bind: 127.0.0.1:{}\n      check: {{ type: tcp, inter: 1s }}\n      servers: [{{ name: a, address: \"127.0.0.1:{}\" }}]\n",
        free_port(),
        free_port()
    );
    let cfg = write(
        dir.path(),
        "tandem.yaml",
        &observe_config(
            port,
            &format!(
                "admin: {{ socket: {}/admin.sock }}\n{balancer}{}",
                dir.path().display(),
                router_section()
            ),
        ),
    );
    let d = Daemon::start(&cfg);
    assert!(d.wait_log("started on test-box"), "{}", d.logs());
    let text = wait_for(Duration::from_secs(20), || {
        http_get(addr, "/metrics")
            .ok()
            .filter(|(s, b)| *s == 200 && b.contains("tandem_router_"))
    })
    .expect("/metrics with the router's metrics")
    .1;
    let valid_name = |n: &str| {
        n.starts_with("tandem_")
            && n.split('_').count() >= 3
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let mut help = std::collections::HashSet::new();
    let mut types = std::collections::HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, doc) = rest.split_once(' ').expect("HELP name text");
            assert!(valid_name(name), "{line}");
            assert!(!doc.trim().is_empty(), "empty HELP: {line}");
            assert!(help.insert(name.to_string()), "HELP twice: {line}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name type");
            assert!(help.contains(name), "TYPE before HELP: {line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            if kind == "counter" {
                assert!(name.ends_with("_total"), "a counter without _total: {line}");
            } else {
                assert!(!name.ends_with("_total"), "a {kind} named _total: {line}");
            }
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "TYPE twice: {line}"
            );
        } else if !line.is_empty() {
            assert!(!line.starts_with('#'), "unknown comment: {line}");
            let name_end = line.find(['{', ' ']).expect("a sample");
            let name = &line[..name_end];
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|f| types.get(*f).is_some_and(|k| k == "histogram"))
                })
                .unwrap_or(name);
            assert!(types.contains_key(family), "a sample without TYPE: {line}");
            let value = line.rsplit(' ').next().unwrap_or_default();
            assert!(
                value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value),
                "{line}"
            );
            if let (Some(open), Some(close)) = (line.find('{'), line.rfind('}')) {
                for pair in line[open + 1..close].split("\",").filter(|p| !p.is_empty()) {
                    let (label, _) = pair.split_once('=').expect("label=value");
                    assert!(
                        ![
                            "client",
                            "client_ip",
                            "ip",
                            "addr",
                            "address",
                            "peer",
                            "src"
                        ]
                        .contains(&label),
                        "a client address as a label: {line}"
                    );
                }
            }
        }
    }
    for family in [
        "tandem_balancer_connections_total",
        "tandem_config_reloads_total",
    ] {
        assert!(types.contains_key(family), "{family} missing:\n{text}");
    }
}

/// A daemon that accepts on its observe port but never answers (hung, SIGSTOPped): exit 1
/// within the bound, with a message that says it is hung rather than not running.
#[test]
fn status_of_a_hung_daemon_times_out_and_says_so() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let holder = std::thread::spawn(move || {
        // Accept, answer nothing, hold the connection until the client gives up.
        if let Ok((mut c, _)) = l.accept() {
            let _ = c.set_read_timeout(Some(Duration::from_secs(30)));
            let mut buf = [0u8; 1024];
            while matches!(std::io::Read::read(&mut c, &mut buf), Ok(n) if n > 0) {}
        }
    });
    let (code, out, err) = tandem(&["status", "--addr", &format!("127.0.0.1:{port}")]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("connected, but no answer"), "{err}");
    assert!(err.contains("hung"), "{err}");
    assert!(!err.contains("is tandem running"), "{err}");
    let _ = holder.join();
}

/// A refused reload shows in systemd's STATUS= (what `systemctl status` prints), since
/// `systemctl reload` itself succeeds once the signal is sent; an applied one clears it.
#[test]
fn sd_notify_status_shows_a_refused_reload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("notify socket");
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let port = free_port();
    let cfg = write(dir.path(), "tandem.yaml", &observe_config(port, ""));
    let sock_str = sock_path.to_string_lossy().to_string();
    let d = Daemon::start_with_env(&cfg, &[("NOTIFY_SOCKET", &sock_str)]);
    let mut buf = [0u8; 4096];
    let mut next_ready = || -> String {
        for _ in 0..50 {
            let n = sock.recv(&mut buf).expect("a notify message");
            let m = String::from_utf8_lossy(&buf[..n]).into_owned();
            if m.lines().any(|l| l == "READY=1") {
                return m;
            }
        }
        panic!("no READY=1");
    };
    let first = next_ready();
    assert!(!first.contains("REFUSED"), "{first}");
    write(
        dir.path(),
        "tandem.yaml",
        &observe_config(port, "balancer: 5\n"),
    );
    d.signal(Signal::SIGHUP);
    let refused = next_ready();
    assert!(
        refused.contains("STATUS=running config generation 1")
            && refused.contains("last reload REFUSED: ")
            && refused.contains("balancer: expected a mapping"),
        "{refused}"
    );
    write(dir.path(), "tandem.yaml", &observe_config(port, ""));
    d.signal(Signal::SIGHUP);
    let applied = next_ready();
    assert!(
        applied.contains("generation 2") && !applied.contains("REFUSED"),
        "{applied}"
    );
}

/// A daemon that cannot switch to a script's or hook's `user:` (here it runs as nobody,
/// without CAP_SETUID/CAP_SETGID, as the shipped unit runs it as `tandem`) says so once per
/// tracked script and per instance's notify hooks, at start and again at each reload; a
/// script running as the daemon's own user is not named.
#[test]
fn run_warns_at_start_and_reload_about_users_it_cannot_switch_to() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod dir");
    // `lo` as nobody: no packet socket, so nothing is sent and no VIP is added.
    let cfg = write(
        dir.path(),
        "t.yaml",
        "admin: { socket: off }
track_scripts:
  as_root: { command: [/bin/true], user: root, interval: 1s }
  as_daemon: { command: [/bin/true], interval: 1s }
vrrp:
  instances:
    - name: VI_1
      interface: lo
      virtual_router_id: 51
      virtual_ipaddresses: [\"198.18.0.100/24\"]
      track_scripts: [as_root, as_daemon]
      notify: { master: /bin/true, fault: /bin/true, user: root }
",
    );
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let nobody = if nix::unistd::geteuid().is_root() {
        let u = nix::unistd::User::from_name("nobody")
            .ok()
            .flatten()
            .expect("a `nobody` user");
        Some((u.uid.as_raw(), u.gid.as_raw()))
    } else {
        None
    };
    let command = |bin: &std::path::Path| {
        let mut cmd = std::process::Command::new(bin);
        if let Some((uid, gid)) = nobody {
            cmd.uid(uid).gid(gid);
        }
        cmd
    };
    // A binary nobody can run: the build's, or a copy where nobody cannot reach it.
    let probe = command(&common::tandem_bin())
        .arg("version")
        .stdin(std::process::Stdio::null())
        .output();
    let bin = match probe {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            let copy = dir.path().join("tandem");
            std::fs::copy(common::tandem_bin(), &copy).expect("copy the binary");
            copy
        }
        r => {
            r.expect("run tandem version");
            common::tandem_bin()
        }
    };
    let mut cmd = command(&bin);
    cmd.args(["run", "-c"]).arg(&cfg);
    let d = Daemon::spawn(cmd);
    let script = "track script `as_root`: every run will fail: cannot run as user root (group root): tandem runs as ";
    let hooks = "notify hooks (master, fault) of vrrp instance `VI_1`: every run will fail: cannot run as user root (group root): tandem runs as ";
    assert!(d.wait_log(script), "{}", d.logs());
    assert!(d.wait_log(hooks), "{}", d.logs());
    assert!(
        d.logs()
            .lines()
            .any(|l| l.contains(script) && l.contains("without CAP_SETUID/CAP_SETGID")),
        "{}",
        d.logs()
    );
    d.signal(Signal::SIGHUP);
    assert!(
        d.wait_log("config reloaded: now running generation 2"),
        "{}",
        d.logs()
    );
    let logs = d.logs();
    let count = |needle: &str| logs.lines().filter(|l| l.contains(needle)).count();
    assert_eq!((count(script), count(hooks)), (2, 2), "{logs}");
    assert_eq!(
        count("track script `as_daemon`: every run will fail"),
        0,
        "{logs}"
    );
}

/// `tandem config reload` and `tandem config rollback` on the box: the outcome is the
/// answer (the new generation, or the errors that refused the file), and a rollback runs
/// the config from before the last reload again.
#[test]
fn config_reload_and_rollback_from_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let sock = dir.path().join("admin.sock");
    let s = sock.to_string_lossy().to_string();
    let cfg = write(
        dir.path(),
        "tandem.yaml",
        &observe_and_admin_config(port, &sock),
    );
    let d = Daemon::start(&cfg);
    assert!(d.wait_log("started on test-box"), "{}", d.logs());
    let node = || -> String {
        let (_, body) = http_get(addr, "/status").expect("/status");
        let v: Value = serde_json::from_str(&body).expect("status JSON");
        format!("{} {}", v["node"], v["config"]["generation"])
    };
    // Nothing to roll back yet.
    let (code, out, err) = tandem(&["config", "rollback", "--socket", &s]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("error: rollback refused: no reload to roll back"),
        "{out}{err}"
    );
    // A reload that applies.
    write(
        dir.path(),
        "tandem.yaml",
        &observe_and_admin_config(port, &sock).replace("test-box", "renamed-box"),
    );
    let (code, out, err) = tandem(&["config", "reload", "--socket", &s]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, "config reloaded: now running generation 2\n");
    assert_eq!(node(), "\"renamed-box\" 2");
    // A file with an error is refused, with the error in the answer.
    write(
        dir.path(),
        "tandem.yaml",
        &format!("{}bogus_key: 1\n", observe_and_admin_config(port, &sock)),
    );
    // `-c` with that file still finds this daemon's socket (not the default one).
    let (code, out, err) = tandem(&["config", "reload", "-c", &cfg.to_string_lossy()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.starts_with("error: reload refused: "), "{out}{err}");
    assert!(
        out.contains("tandem.yaml:") && out.contains("bogus_key"),
        "{out}"
    );
    assert_eq!(node(), "\"renamed-box\" 2");
    // A file that is not even YAML: no socket to read from it, and no guess either.
    let broken = write(dir.path(), "broken.yaml", "node: [oops\n");
    let (code, out, err) = tandem(&["config", "reload", "-c", &broken.to_string_lossy()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("cannot read admin.socket from"), "{err}");
    assert!(err.contains("--socket"), "{err}");
    // The rollback runs generation 1's config again, once.
    let (code, out, err) = tandem(&["config", "rollback", "--socket", &s]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "config rolled back: now running generation 3 (the config from before the last reload)\n"
    );
    assert_eq!(node(), "\"test-box\" 3");
    assert!(d.wait_log("config rolled back: now running generation 3"));
    let (code, out, _) = tandem(&["config", "rollback", "--socket", &s]);
    assert_eq!(code, 1, "{out}");
}
