//! Health tracking in network namespaces: the VIP follows the health of the service.

mod common;

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::netns::Lab;
use common::{tandem, wait_for};
use nix::sys::signal::Signal;

const VIP: &str = "198.18.0.100/24";

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    p
}

/// A hook that appends its arguments to `log`.
fn log_hook(dir: &Path, name: &str, log: &Path) -> PathBuf {
    script(dir, name, &format!("echo \"$*\" >> {}", log.display()))
}

/// A box config: VRRPv3 at 100ms, with extra top-level and instance keys.
fn config(node: &str, prio: u8, top: &str, inst: &str) -> String {
    format!(
        "node: {node}
log: {{ level: debug }}
observe: {{ listen: 127.0.0.1:9188 }}
{top}
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      priority: {prio}
      version: 3
      advert_int: 100ms
      virtual_ipaddresses: [\"{VIP}\"]
      garp: {{ master_delay: 0s, master_repeat: 1 }}
{inst}"
    )
}

fn only_holder(lab: &Lab, who: &str) {
    only_holder_of(lab, VIP, who);
}

/// Waits until `who` alone holds `cidr` (the old master lets go once it hears the new
/// one, a moment after the new one took the address).
fn only_holder_of(lab: &Lab, cidr: &str, who: &str) {
    let ok = wait_for(Duration::from_secs(30), || {
        (lab.holders(cidr) == vec![who.to_string()]).then_some(())
    });
    assert!(
        ok.is_some(),
        "{cidr} held by {:?}, expected only {who}",
        lab.holders(cidr)
    );
}

/// Each box runs a small TCP service (an observe-only tandem on 127.0.0.1:7000) and a
/// track script checking its pid; killing the master's service moves the VIP.
#[test]
fn vip_follows_the_service_with_preempt_and_nopreempt() {
    for nopreempt in [false, true] {
        let lab = Lab::new(&["a", "b"]);
        let dir = lab.dir.path().to_path_buf();
        let mut services = Vec::new();
        let mut daemons = Vec::new();
        for (i, node, prio) in [(0, "a", 150u8), (1, "b", 100u8)] {
            let pidfile = dir.join(format!("{node}-svc.pid"));
            let svc = lab.tandem_file(
                i,
                &format!("svc-{node}.yaml"),
                &format!("node: svc-{node}\nobserve: {{ listen: 127.0.0.1:7000 }}\n"),
            );
            std::fs::write(&pidfile, svc.pid().to_string()).expect("pidfile");
            let top = format!(
                "track_scripts:\n  chk_svc:\n    command: [sh, -c, \"kill -0 $(cat {})\"]\n    interval: 200ms\n    fall: 2\n    rise: 2\n",
                pidfile.display()
            );
            let inst = format!(
                "      track_scripts: [chk_svc]\n{}",
                if nopreempt {
                    "      nopreempt: true\n"
                } else {
                    ""
                }
            );
            daemons.push(lab.tandem(i, &config(node, prio, &top, &inst)));
            services.push((svc, pidfile));
        }
        assert!(lab.wait_state(0, "VI_1", "MASTER"));
        only_holder(&lab, "a");

        // The service on a dies (weight 0: FAULT).
        services[0].0.signal(Signal::SIGKILL);
        let _ = services[0].0.wait_exit(Duration::from_secs(5));
        assert!(lab.wait_state(0, "VI_1", "FAULT"), "{}", daemons[0].logs());
        only_holder(&lab, "b");
        assert!(daemons[0].wait_log("track script chk_svc is now FAILING"));
        let st = lab.status(0).expect("status");
        let fault = st["subsystems"]["vrrp"]["instances"][0]["fault"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(
            fault.contains("track script `chk_svc` is failing"),
            "{fault}"
        );

        // It comes back.
        let svc = lab.tandem_file(
            0,
            "svc-a2.yaml",
            "node: svc-a\nobserve: { listen: 127.0.0.1:7000 }\n",
        );
        std::fs::write(&services[0].1, svc.pid().to_string()).expect("pidfile");
        assert!(daemons[0].wait_log("track script chk_svc is now OK"));
        if nopreempt {
            assert!(lab.wait_state(0, "VI_1", "BACKUP"));
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(100));
                assert_eq!(
                    lab.vrrp_state(0, "VI_1").as_deref(),
                    Some("BACKUP"),
                    "nopreempt"
                );
            }
            only_holder(&lab, "b");
        } else {
            assert!(lab.wait_state(0, "VI_1", "MASTER"));
            only_holder(&lab, "a");
        }
        drop(svc);
    }
}

#[test]
fn negative_weight_fails_over_and_back() {
    let lab = Lab::new(&["a", "b"]);
    let flag = lab.dir.path().join("healthy");
    std::fs::write(&flag, "").expect("flag");
    let top = format!(
        "track_scripts:\n  chk:\n    command: [test, -e, \"{}\"]\n    interval: 100ms\n    weight: -60\n",
        flag.display()
    );
    let da = lab.tandem(0, &config("a", 150, &top, "      track_scripts: [chk]\n"));
    let _db = lab.tandem(1, &config("b", 100, "", ""));
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    std::fs::remove_file(&flag).expect("rm flag");
    assert!(lab.wait_state(1, "VI_1", "MASTER"));
    assert!(lab.wait_state(0, "VI_1", "BACKUP"));
    only_holder(&lab, "b");
    assert!(
        da.logs()
            .contains("(VI_1) Changing effective priority from 150 to 90"),
        "{}",
        da.logs()
    );
    assert!(
        da.logs()
            .contains("reason=\"track script `chk` failing (-60)\""),
        "{}",
        da.logs()
    );
    let st = lab.status(0).expect("status");
    assert_eq!(st["subsystems"]["vrrp"]["instances"][0]["priority"], 90);
    std::fs::write(&flag, "").expect("flag");
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    only_holder(&lab, "a");
    assert!(
        da.logs()
            .contains("(VI_1) Changing effective priority from 90 to 150"),
        "{}",
        da.logs()
    );
}

/// keepalived's `weight -60 reverse`: the weight is *added* while the script fails, so
/// the box whose script fails (here: a standby flag is gone) takes the VIP.
#[test]
fn reverse_weight_counts_the_other_way() {
    let lab = Lab::new(&["a", "b"]);
    let flag = lab.dir.path().join("standby");
    std::fs::write(&flag, "").expect("flag");
    let top = format!(
        "track_scripts:\n  standby:\n    command: [test, -e, \"{}\"]\n    interval: 100ms\n    weight: -60\n    reverse: true\n",
        flag.display()
    );
    let da = lab.tandem(
        0,
        &config("a", 100, &top, "      track_scripts: [standby]\n"),
    );
    let _db = lab.tandem(1, &config("b", 150, "", ""));
    assert!(lab.wait_state(1, "VI_1", "MASTER"));
    assert!(lab.wait_state(0, "VI_1", "BACKUP"));
    std::fs::remove_file(&flag).expect("rm flag");
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    assert!(lab.wait_state(1, "VI_1", "BACKUP"));
    only_holder(&lab, "a");
    assert!(
        da.logs()
            .contains("(VI_1) Changing effective priority from 100 to 160"),
        "{}",
        da.logs()
    );
    let st = lab.status(0).expect("status");
    let inst = &st["subsystems"]["vrrp"]["instances"][0];
    assert_eq!(inst["priority"], 160);
    std::fs::write(&flag, "").expect("flag");
    assert!(lab.wait_state(1, "VI_1", "MASTER"));
    only_holder(&lab, "b");
    assert!(
        da.logs()
            .contains("(VI_1) Changing effective priority from 160 to 100"),
        "{}",
        da.logs()
    );
}

#[test]
fn weight_zero_is_fault_with_priority_zero_handover() {
    let lab = Lab::new(&["a", "b"]);
    let flag = lab.dir.path().join("healthy");
    std::fs::write(&flag, "").expect("flag");
    let top = format!(
        "track_scripts:\n  chk:\n    command: [test, -e, \"{}\"]\n    interval: 100ms\n",
        flag.display()
    );
    let da = lab.tandem(0, &config("a", 150, &top, "      track_scripts: [chk]\n"));
    let db = lab.tandem(1, &config("b", 100, "", ""));
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    std::fs::remove_file(&flag).expect("rm flag");
    assert!(lab.wait_state(0, "VI_1", "FAULT"));
    assert!(lab.wait_state(1, "VI_1", "MASTER"));
    only_holder(&lab, "b");
    // a said priority 0 on its way out: b took over after its skew time.
    assert!(
        db.logs().contains("reason=\"priority 0 from 198.18.0.1\""),
        "{}",
        db.logs()
    );
    assert!(
        da.logs().contains("(VI_1) Entering FAULT STATE"),
        "{}",
        da.logs()
    );
    // In FAULT, a sends nothing.
    let sent = |lab: &Lab| {
        lab.status(0).map(|s| {
            s["subsystems"]["vrrp"]["instances"][0]["adverts_sent"]
                .as_u64()
                .unwrap_or(0)
        })
    };
    let before = sent(&lab);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sent(&lab), before, "adverts in FAULT");
    std::fs::write(&flag, "").expect("flag");
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    assert!(
        da.logs().contains("reason=\"fault cleared\""),
        "{}",
        da.logs()
    );
    only_holder(&lab, "a");
}

#[test]
fn failures_of_every_kind_and_hysteresis() {
    let lab = Lab::new(&["a"]);
    let dir = lab.dir.path();
    let flag = dir.join("ok");
    std::fs::write(&flag, "").expect("flag");
    let flappy = script(dir, "flappy.sh", &format!("test -e {}", flag.display()));
    let slow = script(dir, "slow.sh", "sleep 5");
    let noexec = dir.join("noexec.sh");
    std::fs::write(&noexec, "#!/bin/sh\nexit 0\n").expect("write");
    std::fs::set_permissions(&noexec, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let signalled = script(dir, "signalled.sh", "kill -KILL $$");
    let top = format!(
        "track_scripts:
  flappy: {{ command: [\"{}\"], interval: 100ms, rise: 2, fall: 3, weight: -10 }}
  slow: {{ command: [\"{}\"], interval: 100ms, timeout: 200ms, weight: -10 }}
  missing: {{ command: [\"{}/missing.sh\"], interval: 100ms, weight: -10 }}
  noexec: {{ command: [\"{}\"], interval: 100ms, weight: -10 }}
  signalled: {{ command: [\"{}\"], interval: 100ms, weight: -10 }}
",
        flappy.display(),
        slow.display(),
        dir.display(),
        noexec.display(),
        signalled.display()
    );
    let inst = "      track_scripts: [flappy, slow, missing, noexec, signalled]\n";
    let d = lab.tandem(0, &config("a", 150, &top, inst));
    for (name, result) in [
        ("slow", "timeout"),
        ("missing", "exec_error"),
        ("noexec", "exec_error"),
        ("signalled", "signal"),
    ] {
        assert!(
            d.wait_log(&format!("track script {name} is now FAILING")),
            "{name}: {}",
            d.logs()
        );
        let line =
            format!("tandem_track_script_runs_total{{result=\"{result}\",script=\"{name}\"}}");
        let seen = wait_for(Duration::from_secs(20), || {
            let m = lab.in_ns(0, || {
                common::http_get("127.0.0.1:9188".parse().expect("a"), "/metrics")
                    .map(|r| r.1)
                    .unwrap_or_default()
            });
            m.lines().any(|l| l.starts_with(&line)).then_some(())
        });
        assert!(seen.is_some(), "metric {line}");
    }
    assert!(
        d.logs()
            .contains("track script slow is now FAILING: timed out"),
        "{}",
        d.logs()
    );
    assert!(
        d.logs()
            .contains("track script signalled is now FAILING: killed by SIGKILL"),
        "{}",
        d.logs()
    );
    assert!(
        d.logs()
            .contains("track script missing is now FAILING: cannot be executed"),
        "{}",
        d.logs()
    );
    // Four failing trackers at -10 each: 150 - 40.
    let p = wait_for(Duration::from_secs(20), || {
        let st = lab.status(0)?;
        (st["subsystems"]["vrrp"]["instances"][0]["priority"] == 110).then_some(())
    });
    assert!(p.is_some(), "{}", d.logs());

    // flappy: healthy first; then three failures in a row to fall, two successes to rise.
    assert!(
        d.wait_log("track script flappy is now OK (1/1 successes)"),
        "{}",
        d.logs()
    );
    std::fs::remove_file(&flag).expect("rm");
    assert!(
        d.wait_log("track script flappy is now FAILING: exited with status 1 (3/3 failures)"),
        "{}",
        d.logs()
    );
    std::fs::write(&flag, "").expect("flag");
    assert!(
        d.wait_log("track script flappy is now OK (2/2 successes)"),
        "{}",
        d.logs()
    );
    let st = lab.status(0).expect("status");
    let flappy_st = &st["subsystems"]["track"]["scripts"]["flappy"];
    assert!(
        flappy_st["failures"].as_u64().unwrap_or(0) >= 3,
        "{flappy_st}"
    );
    assert_eq!(flappy_st["state"], "ok");
    // Timed-out runs leave nothing behind: at most the current run's `sleep 5` exists
    // in the box, and no zombies.
    let out = std::process::Command::new("ip")
        .args(["netns", "pids", lab.ns(0)])
        .output()
        .expect("ip netns pids");
    let mut sleeps = 0;
    let mut zombies = Vec::new();
    for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let cmd = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if cmd.starts_with("sleep\u{0}5") {
            sleeps += 1;
        }
        if stat.split(") ").nth(1).is_some_and(|r| r.starts_with('Z')) {
            zombies.push(stat);
        }
    }
    assert!(
        sleeps <= 1,
        "{sleeps} `sleep 5` processes: timed-out runs were not killed"
    );
    assert!(zombies.is_empty(), "zombies: {zombies:?}");
}

#[test]
fn interface_down_is_fault_and_takeover() {
    let lab = Lab::new(&["a", "b"]);
    let da = lab.tandem(0, &config("a", 150, "", ""));
    let _db = lab.tandem(1, &config("b", 100, "", ""));
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    common::netns::sh(&["ip", "-n", lab.ns(0), "link", "set", "eth0", "down"]);
    assert!(lab.wait_state(0, "VI_1", "FAULT"));
    assert!(lab.wait_state(1, "VI_1", "MASTER"));
    assert!(
        da.logs()
            .contains("interface eth0 is down (administratively down)"),
        "{}",
        da.logs()
    );
    assert!(lab.has(1, VIP));
    assert!(!lab.has(0, VIP), "a dropped the VIP in FAULT");
    common::netns::sh(&["ip", "-n", lab.ns(0), "link", "set", "eth0", "up"]);
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    only_holder(&lab, "a");
}

#[test]
fn unsafe_script_permissions_are_refused_at_load_and_reload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = script(dir.path(), "chk.sh", "exit 0");
    std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let cfg = config(
        "a",
        150,
        &format!(
            "track_scripts:\n  chk:\n    command: [\"{}\"]\n",
            s.display()
        ),
        "      track_scripts: [chk]\n",
    );
    let path = dir.path().join("t.yaml");
    std::fs::write(&path, &cfg).expect("write");
    let (code, out, _) = tandem(&["check", "-c", &path.to_string_lossy()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "track_scripts.chk.command: unsafe to run: {} is writable by everyone",
            s.display()
        )),
        "{out}"
    );
    assert!(out.contains("set `script_security: false`"), "{out}");
    // With script_security off it loads.
    std::fs::write(&path, format!("script_security: false\n{cfg}")).expect("write");
    let (code, out, _) = tandem(&["check", "-c", &path.to_string_lossy()]);
    assert_eq!(code, 0, "{out}");

    // A running daemon refuses a reload that makes it unsafe.
    let lab = Lab::new(&["a"]);
    std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let d = lab.tandem(0, &cfg);
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    lab.file("a.yaml", &cfg);
    d.signal(Signal::SIGHUP);
    assert!(d.wait_log("reload refused"), "{}", d.logs());
    assert!(d.logs().contains("is writable by everyone"), "{}", d.logs());
    // And the running tracker refuses to run it (counted as failing).
    assert!(
        d.wait_log(
            "track script chk is now FAILING: cannot be executed: refused by script_security"
        ),
        "{}",
        d.logs()
    );
}

#[test]
fn sync_group_moves_together() {
    let lab = Lab::new(&["a", "b"]);
    let flag = lab.dir.path().join("healthy");
    std::fs::write(&flag, "").expect("flag");
    let group_cfg = |node: &str, prio: u8, track: bool| {
        let top = if track {
            format!(
                "track_scripts:\n  chk:\n    command: [test, -e, \"{}\"]\n    interval: 100ms\n",
                flag.display()
            )
        } else {
            String::new()
        };
        let track_line = if track {
            "      track_scripts: [chk]\n"
        } else {
            ""
        };
        format!(
            "node: {node}
log: {{ level: debug }}
observe: {{ listen: 127.0.0.1:9188 }}
{top}
vrrp:
  sync_groups: [{{ name: G, instances: [VI_1, VI_2] }}]
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      priority: {prio}
      version: 3
      advert_int: 100ms
      virtual_ipaddresses: [\"198.18.0.100/24\"]
{track_line}    - name: VI_2
      interface: eth0
      virtual_router_id: 52
      priority: {prio}
      version: 3
      advert_int: 100ms
      virtual_ipaddresses: [\"198.18.0.101/24\"]
"
        )
    };
    let da = lab.tandem(0, &group_cfg("a", 150, true));
    let _db = lab.tandem(1, &group_cfg("b", 100, false));
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    assert!(lab.wait_state(0, "VI_2", "MASTER"));
    // Only VI_1 tracks the script; when it fails, VI_2 follows into FAULT.
    std::fs::remove_file(&flag).expect("rm");
    assert!(lab.wait_state(0, "VI_1", "FAULT"));
    assert!(lab.wait_state(0, "VI_2", "FAULT"));
    assert!(lab.wait_state(1, "VI_1", "MASTER"));
    assert!(lab.wait_state(1, "VI_2", "MASTER"));
    only_holder_of(&lab, "198.18.0.101/24", "b");
    assert!(
        da.logs().contains("sync group G: VI_1 is in FAULT"),
        "{}",
        da.logs()
    );
    std::fs::write(&flag, "").expect("flag");
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    assert!(lab.wait_state(0, "VI_2", "MASTER"));
    only_holder_of(&lab, "198.18.0.100/24", "a");
    only_holder_of(&lab, "198.18.0.101/24", "a");
}

#[test]
fn notify_hooks_run_in_order_and_a_hanging_hook_is_killed() {
    let lab = Lab::new(&["a"]);
    let dir = lab.dir.path().to_path_buf();
    let log = dir.join("notify.log");
    let hook = log_hook(&dir, "hook.sh", &log);
    let hang = script(
        &dir,
        "hang.sh",
        &format!("echo \"hang $*\" >> {}; sleep 30", log.display()),
    );
    let fifo = dir.join("notify.fifo");
    let inst = format!(
        "      notify: {{ backup: [\"{}\", backup], master: [\"{}\", master], any: [\"{}\", any], timeout: 1s }}\n",
        hang.display(),
        hook.display(),
        hook.display()
    );
    let top = "# fifo\n".to_string();
    let cfg = config("a", 150, &top, &inst).replace(
        "vrrp:\n",
        &format!("vrrp:\n  notify_fifo: {}\n", fifo.display()),
    );
    // Read the FIFO in the background.
    let fifo_path = fifo.clone();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = lines.clone();
    let mut d = lab.tandem(0, &cfg);
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        // The daemon creates the FIFO; lines wait in it until we read.
        let opened = (0..200).find_map(|_| {
            std::thread::sleep(Duration::from_millis(50));
            std::fs::File::open(&fifo_path).ok()
        });
        let Some(f) = opened else { return };
        for line in std::io::BufReader::new(f).lines() {
            let Ok(line) = line else { return };
            if let Ok(mut l) = sink.lock() {
                l.push_str(&line);
                l.push('\n');
            }
            if line.contains("MASTER") {
                return;
            }
        }
    });
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    // The master transition was not held up by the hanging backup hook: it happened
    // within the master-down interval, while the hook still ran (it is killed at 1s).
    let text = wait_for(Duration::from_secs(20), || {
        let t = std::fs::read_to_string(&log).ok()?;
        // The hooks of one transition run in order; wait for the last one.
        t.contains("any INSTANCE VI_1 MASTER 150").then_some(t)
    })
    .expect("hooks ran");
    let order: Vec<&str> = text.lines().collect();
    assert_eq!(
        order,
        vec![
            // As keepalived: notify_backup/notify_master run as written, the
            // generic notify (`any`) gets the transition appended.
            "hang backup",
            "any INSTANCE VI_1 BACKUP 150",
            "master",
            "any INSTANCE VI_1 MASTER 150",
        ],
        "{text}"
    );
    assert!(d.logs().contains("notify hook"), "{}", d.logs());
    assert!(d.logs().contains("for BACKUP timed out"), "{}", d.logs());
    let entered = d
        .logs()
        .find("(VI_1) Entering MASTER STATE")
        .expect("master line");
    let killed = d.logs().find("for BACKUP timed out").expect("timeout line");
    assert!(entered < killed, "the transition waited for the hook");
    let _ = reader.join();
    let fifo_text = lines.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(
        fifo_text.contains("INSTANCE \"VI_1\" BACKUP 150"),
        "{fifo_text}"
    );
    assert!(
        fifo_text.contains("INSTANCE \"VI_1\" MASTER 150"),
        "{fifo_text}"
    );
    // Stop runs the stop hook (`any` here).
    d.signal(Signal::SIGTERM);
    let _ = d.wait_exit(Duration::from_secs(10));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("any INSTANCE VI_1 STOP 150"), "{text}");
}

/// The built-in trackers: a tracked balancer listener with no healthy server puts the
/// instance in FAULT until a server comes up; the router runs but reaches no write host
/// (nothing listens on 127.0.0.1:3306 in the namespace), so the router tracker counts as
/// failing (its weight applies).
#[test]
fn built_in_trackers_follow_the_balancer() {
    let lab = Lab::new(&["a"]);
    let top = "balancer:
  listeners:
    - name: mysql
      bind: 198.18.0.100:3306
      check: { type: tcp, inter: 100ms, rise: 1, fall: 1 }
      servers: [{ name: r1, address: 127.0.0.1:8067 }]
router:
  listen: 127.0.0.1:18067
  admin_listen: off
  users: [{ name: app, password: x, schemas: [shop] }]
  schemas: [{ name: shop, data_node: dn1 }]
  data_nodes: [{ name: dn1, data_host: db1, database: shop }]
  data_hosts: [{ name: db1, write_hosts: [{ host: M1, url: 127.0.0.1:3306, user: root }] }]
";
    let d = lab.tandem(
        0,
        &config(
            "a",
            150,
            top,
            "      track_listeners: [mysql]\n      track_router: { weight: -50 }\n",
        ),
    );
    assert!(lab.wait_state(0, "VI_1", "FAULT"), "{}", d.logs());
    let st = lab.status(0).expect("status");
    let inst = &st["subsystems"]["vrrp"]["instances"][0];
    assert_eq!(inst["priority"], 100, "{inst}");
    let fault = inst["fault"].as_str().unwrap_or("").to_string();
    assert!(
        fault.contains("listener `mysql` is failing (no server is up and ready)"),
        "{fault}"
    );
    assert!(!lab.has(0, VIP));
    // The router (the balancer's server) starts listening in the box: the listener
    // serves, the FAULT clears, and the box takes the VIP (the balancer was listening on
    // it already, with IP_FREEBIND).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let ns = format!("/run/netns/{}", lab.ns(0));
    let server = std::thread::spawn(move || {
        use std::os::fd::AsFd;
        let f = std::fs::File::open(&ns).expect("netns");
        nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let l = std::net::TcpListener::bind("127.0.0.1:8067").expect("bind");
        l.set_nonblocking(true).expect("nb");
        while !flag.load(std::sync::atomic::Ordering::SeqCst) {
            let _ = l.accept();
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    assert!(lab.wait_state(0, "VI_1", "MASTER"), "{}", d.logs());
    assert!(d.logs().contains("server mysql/r1 is UP"), "{}", d.logs());
    assert!(lab.has(0, VIP));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = server.join();
}

/// The instances of `d`'s `/status`, by name.
fn instance_status(lab: &Lab, i: usize, name: &str) -> Option<serde_json::Value> {
    lab.status(i)?["subsystems"]["vrrp"]["instances"]
        .as_array()?
        .iter()
        .find(|x| x["name"] == name)
        .cloned()
}

/// A reload that changes only `notify` (the hooks) and `notify_fifo` applies them in
/// place: no restart, no state change, and the next transition (here the stop) runs the
/// new hooks and writes to the new FIFO.
#[test]
fn reload_applies_notify_hooks_and_fifo_in_place() {
    let lab = Lab::new(&["a"]);
    let dir = lab.dir.path().to_path_buf();
    let log = dir.join("hooks.log");
    let hook = log_hook(&dir, "hook.sh", &log);
    let notify = |tag: &str| {
        format!(
            "      notify: {{ master: [\"{h}\", {tag}-master], stop: [\"{h}\", {tag}-stop] }}\n",
            h = hook.display()
        )
    };
    let with_fifo = |cfg: String, fifo: &Path| {
        cfg.replace(
            "vrrp:\n",
            &format!("vrrp:\n  notify_fifo: {}\n", fifo.display()),
        )
    };
    let first_fifo = dir.join("first.fifo");
    let second_fifo = dir.join("second.fifo");
    // The second FIFO exists before the reload and the test holds it open (read-write,
    // as keepalived's readers may), so what is written stays in the pipe.
    nix::unistd::mkfifo(
        &second_fifo,
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .expect("mkfifo");
    let mut pipe = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&second_fifo)
        .expect("open fifo");
    let mut d = lab.tandem(
        0,
        &with_fifo(config("a", 150, "", &notify("old")), &first_fifo),
    );
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    assert!(
        wait_for(Duration::from_secs(20), || {
            std::fs::read_to_string(&log)
                .ok()?
                .contains("old-master\n")
                .then_some(())
        })
        .is_some(),
        "{}",
        d.logs()
    );
    lab.file(
        "a.yaml",
        &with_fifo(config("a", 150, "", &notify("new")), &second_fifo),
    );
    d.signal(Signal::SIGHUP);
    assert!(d.wait_log("config reloaded"), "{}", d.logs());
    assert_eq!(lab.vrrp_state(0, "VI_1").as_deref(), Some("MASTER"));
    assert!(lab.has(0, VIP));
    let logs = d.logs();
    assert!(!logs.contains("restarting"), "{logs}");
    assert_eq!(
        logs.matches("(VI_1) Entering MASTER STATE").count(),
        1,
        "{logs}"
    );
    d.signal(Signal::SIGTERM);
    assert!(
        d.wait_exit(Duration::from_secs(30)).is_some(),
        "{}",
        d.logs()
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("new-stop\n"), "{text}");
    assert!(!text.contains("old-stop"), "{text}");
    let mut buf = [0u8; 4096];
    let n = std::io::Read::read(&mut pipe, &mut buf).unwrap_or(0);
    let lines = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(lines.contains("INSTANCE \"VI_1\" STOP 150"), "{lines:?}");
    assert!(
        d.logs().contains("(VI_1) notify hooks updated"),
        "{}",
        d.logs()
    );
}

/// An instance whose interface came back without its address goes to FAULT and keeps
/// retrying its setup; stopping the daemon then still runs its STOP hook (keepalived's
/// `notify_stop`) — it was skipped while the instance waited.
#[test]
fn stop_while_the_interface_lacks_its_address_runs_the_stop_hook() {
    let lab = Lab::new(&["a"]);
    let dir = lab.dir.path().to_path_buf();
    let log = dir.join("hooks.log");
    let hook = log_hook(&dir, "hook.sh", &log);
    let inst = format!(
        "      notify: {{ master: [\"{h}\", master], fault: [\"{h}\", fault], stop: [\"{h}\", stop] }}\n",
        h = hook.display()
    );
    let mut d = lab.tandem(0, &config("a", 150, "", &inst));
    assert!(lab.wait_state(0, "VI_1", "MASTER"), "{}", d.logs());
    lab.recreate_eth0(0, false);
    assert!(d.wait_log("(VI_1) cannot start"), "{}", d.logs());
    let hooks = |needle: &str| {
        wait_for(Duration::from_secs(20), || {
            std::fs::read_to_string(&log)
                .ok()?
                .contains(needle)
                .then_some(())
        })
        .is_some()
    };
    assert!(hooks("fault\n"), "{}", d.logs());
    assert!(!lab.has(0, VIP));
    d.signal(Signal::SIGTERM);
    assert!(
        d.wait_exit(Duration::from_secs(30)).is_some(),
        "{}",
        d.logs()
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("stop\n"), "{text}\n{}", d.logs());
}

/// A STOP hook that logs `begin`, blocks until `release` exists, then logs `end`.
struct BlockingHook {
    hook: std::path::PathBuf,
    log: std::path::PathBuf,
    release: std::path::PathBuf,
}

impl BlockingHook {
    fn new(dir: &std::path::Path) -> BlockingHook {
        let log = dir.join("stop.log");
        let release = dir.join("release");
        let hook = script(
            dir,
            "stop.sh",
            &format!(
                "echo \"begin $*\" >> {log}\nwhile [ ! -e {rel} ]; do sleep 0.1; done\necho \"end $*\" >> {log}",
                log = log.display(),
                rel = release.display()
            ),
        );
        BlockingHook { hook, log, release }
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the hook started for `instance`'s STOP.
    fn began(&self, instance: &str) -> bool {
        let line = format!("begin INSTANCE {instance} STOP");
        wait_for(Duration::from_secs(20), || {
            self.text().contains(&line).then_some(())
        })
        .is_some()
    }

    fn release(&self) {
        std::fs::write(&self.release, "").expect("release");
    }

    /// Instance VI_2 (VRID 52, 198.18.0.101/24) with this hook as its STOP hook.
    fn vi2(&self) -> String {
        format!(
            "    - name: VI_2
      interface: eth0
      virtual_router_id: 52
      priority: 150
      version: 3
      advert_int: 100ms
      virtual_ipaddresses: [\"198.18.0.101/24\"]
      notify: {{ stop: [\"{}\", INSTANCE, VI_2, STOP], timeout: 120s }}
",
            self.hook.display()
        )
    }
}

/// A reload that removes an instance stops it in the background: the reload completes
/// (and the daemon applies the next one) while the removed instance's STOP hook still
/// runs, which under systemd could otherwise outlast WatchdogSec.
#[test]
fn reload_does_not_wait_for_the_stop_hooks_of_removed_instances() {
    let lab = Lab::new(&["a"]);
    let stop = BlockingHook::new(lab.dir.path());
    let second = stop.vi2();
    let both = |prio: u8| config("a", prio, "", &second);
    let d = lab.tandem(0, &both(150));
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    assert!(lab.wait_state(0, "VI_2", "MASTER"));
    assert!(lab.has(0, "198.18.0.101/24"));
    lab.file("a.yaml", &config("a", 150, "", ""));
    d.signal(Signal::SIGHUP);
    assert!(
        d.wait_log("config reloaded: now running generation 2"),
        "the reload waited for the STOP hook: {}",
        d.logs()
    );
    // The hook is still blocked (nothing released it), yet VI_2 has let its VIP go.
    assert!(stop.began("VI_2"), "{}", d.logs());
    assert!(
        wait_for(Duration::from_secs(20), || (!lab.has(0, "198.18.0.101/24"))
            .then_some(()))
        .is_some()
    );
    // The main loop is free: the next reload is applied too.
    lab.file("a.yaml", &config("a", 160, "", ""));
    d.signal(Signal::SIGHUP);
    assert!(
        d.wait_log("config reloaded: now running generation 3"),
        "{}",
        d.logs()
    );
    assert!(
        wait_for(Duration::from_secs(20), || {
            (instance_status(&lab, 0, "VI_1")?["priority"] == 160).then_some(())
        })
        .is_some()
    );
    assert_eq!(lab.vrrp_state(0, "VI_1").as_deref(), Some("MASTER"));
    let text = stop.text();
    assert!(
        !text.contains("end"),
        "the hook was not released yet: {text}"
    );
    stop.release();
    assert!(d.wait_log("(VI_2) stopped"), "{}", d.logs());
    let text = stop.text();
    assert!(text.contains("end INSTANCE VI_2 STOP"), "{text}");
}

/// A reload that removes the whole `vrrp` section does not wait for the STOP hooks
/// either, and VRRP enabled again by the next reload starts once they are done.
#[test]
fn reload_that_disables_vrrp_stops_it_off_the_main_loop() {
    let lab = Lab::new(&["a"]);
    let stop = BlockingHook::new(lab.dir.path());
    let hooked = config(
        "a",
        150,
        "",
        &format!(
            "      notify: {{ stop: [\"{}\", INSTANCE, VI_1, STOP], timeout: 120s }}\n",
            stop.hook.display()
        ),
    );
    let d = lab.tandem(0, &hooked);
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    assert!(lab.has(0, VIP));
    lab.file(
        "a.yaml",
        "node: a\nlog: { level: debug }\nobserve: { listen: 127.0.0.1:9188 }\n",
    );
    d.signal(Signal::SIGHUP);
    assert!(
        d.wait_log("config reloaded: now running generation 2"),
        "the reload waited for the STOP hook: {}",
        d.logs()
    );
    assert!(stop.began("VI_1"), "{}", d.logs());
    assert!(
        wait_for(Duration::from_secs(20), || (!lab.has(0, VIP)).then_some(())).is_some(),
        "VI_1 kept its VIP"
    );
    // VRRP back while the old instance still runs its hook: applied at once, started
    // after the hook.
    lab.file("a.yaml", &config("a", 150, "", ""));
    d.signal(Signal::SIGHUP);
    assert!(
        d.wait_log("config reloaded: now running generation 3"),
        "{}",
        d.logs()
    );
    let text = stop.text();
    assert!(
        !text.contains("end"),
        "the hook was not released yet: {text}"
    );
    assert!(
        !lab.has(0, VIP),
        "the new VI_1 started before the old one stopped"
    );
    stop.release();
    assert!(d.wait_log("vrrp stopped"), "{}", d.logs());
    assert!(lab.wait_state(0, "VI_1", "MASTER"), "{}", d.logs());
    assert!(
        wait_for(Duration::from_secs(20), || lab.has(0, VIP).then_some(())).is_some(),
        "{}",
        d.logs()
    );
    let text = stop.text();
    assert!(text.contains("end INSTANCE VI_1 STOP"), "{text}");
}

/// A reload that changes a track script's definition (interval, command, weight) keeps
/// its state: a script that is up but failing toward its `fall` stays up, instead of
/// starting over and going down on its first failure (which would move the priority).
#[test]
fn reload_of_a_changed_track_script_keeps_its_state() {
    let lab = Lab::new(&["a"]);
    let flag = lab.dir.path().join("healthy");
    std::fs::write(&flag, "").expect("flag");
    let top = |cmd: &str, interval: &str, weight: i32| {
        format!(
            "track_scripts:\n  chk: {{ command: [{cmd}, -e, \"{}\"], interval: {interval}, rise: 2, fall: 1000, weight: {weight} }}\n",
            flag.display()
        )
    };
    let inst = "      track_scripts: [chk]\n";
    let d = lab.tandem(0, &config("a", 150, &top("test", "100ms", -100), inst));
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    let script_status = |lab: &Lab| {
        lab.status(0)
            .map(|s| s["subsystems"]["track"]["scripts"]["chk"].clone())
    };
    assert!(
        wait_for(Duration::from_secs(20), || {
            (script_status(&lab)?["state"] == "ok").then_some(())
        })
        .is_some(),
        "{}",
        d.logs()
    );
    // Failing now, but far from `fall`: still up.
    std::fs::remove_file(&flag).expect("rm");
    let failures = |lab: &Lab| script_status(lab).and_then(|s| s["failures"].as_u64());
    assert!(
        wait_for(Duration::from_secs(20), || (failures(&lab)? >= 2)
            .then_some(()))
        .is_some(),
        "{}",
        d.logs()
    );
    lab.file(
        "a.yaml",
        &config("a", 150, &top("/usr/bin/test", "200ms", -90), inst),
    );
    d.signal(Signal::SIGHUP);
    assert!(
        d.wait_log("track script chk changed: restarted, still OK"),
        "{}",
        d.logs()
    );
    assert!(d.wait_log("config reloaded"), "{}", d.logs());
    let seen = failures(&lab).unwrap_or(0);
    // Several failures of the new definition later, it is still up and the priority
    // never moved.
    assert!(
        wait_for(Duration::from_secs(30), || (failures(&lab)? >= seen + 3)
            .then_some(()))
        .is_some(),
        "{}",
        d.logs()
    );
    assert_eq!(
        script_status(&lab).map(|s| s["state"].clone()),
        Some("ok".into())
    );
    let logs = d.logs();
    assert!(!logs.contains("track script chk is now FAILING"), "{logs}");
    assert!(!logs.contains("Changing effective priority"), "{logs}");
    assert_eq!(
        instance_status(&lab, 0, "VI_1").map(|s| s["priority"].clone()),
        Some(150.into())
    );
    assert_eq!(lab.vrrp_state(0, "VI_1").as_deref(), Some("MASTER"));
}

/// Joining and leaving a sync group by reload is applied in place: the members keep
/// their state, and the group's rule (one member in FAULT, all in FAULT) applies from
/// then on — and no longer once the group is gone.
#[test]
fn reload_changes_sync_group_membership_in_place() {
    let lab = Lab::new(&["a"]);
    let flag = lab.dir.path().join("healthy");
    std::fs::write(&flag, "").expect("flag");
    let cfg = |group: bool| {
        format!(
            "node: a
log: {{ level: debug }}
observe: {{ listen: 127.0.0.1:9188 }}
track_scripts:
  chk: {{ command: [test, -e, \"{}\"], interval: 100ms, weight: 0 }}
vrrp:
{}  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      priority: 150
      version: 3
      advert_int: 100ms
      virtual_ipaddresses: [\"198.18.0.100/24\"]
      track_scripts: [chk]
    - name: VI_2
      interface: eth0
      virtual_router_id: 52
      priority: 150
      version: 3
      advert_int: 100ms
      virtual_ipaddresses: [\"198.18.0.101/24\"]
",
            flag.display(),
            if group {
                "  sync_groups: [{ name: G, instances: [VI_1, VI_2] }]\n"
            } else {
                ""
            }
        )
    };
    let d = lab.tandem(0, &cfg(false));
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    assert!(lab.wait_state(0, "VI_2", "MASTER"));
    lab.file("a.yaml", &cfg(true));
    d.signal(Signal::SIGHUP);
    assert!(d.wait_log("config reloaded"), "{}", d.logs());
    for name in ["VI_1", "VI_2"] {
        let ok = wait_for(Duration::from_secs(20), || {
            let st = instance_status(&lab, 0, name)?;
            (st["sync_group"] == "G" && st["state"] == "MASTER").then_some(())
        });
        assert!(ok.is_some(), "{name}: {}", d.logs());
    }
    let logs = d.logs();
    assert!(!logs.contains("restarting"), "{logs}");
    assert_eq!(
        logs.matches("(VI_2) Entering MASTER STATE").count(),
        1,
        "{logs}"
    );
    assert!(logs.contains("(VI_2) now in sync group G"), "{logs}");
    // The group works: VI_1's failure takes VI_2 along.
    std::fs::remove_file(&flag).expect("rm");
    assert!(lab.wait_state(0, "VI_1", "FAULT"));
    assert!(lab.wait_state(0, "VI_2", "FAULT"));
    assert!(
        d.logs().contains("sync group G: VI_1 is in FAULT"),
        "{}",
        d.logs()
    );
    // Out of the group again, VI_2 no longer follows VI_1.
    lab.file("a.yaml", &cfg(false));
    d.signal(Signal::SIGHUP);
    assert!(d.wait_log("(VI_2) left sync group G"), "{}", d.logs());
    assert!(lab.wait_state(0, "VI_2", "MASTER"));
    assert_eq!(lab.vrrp_state(0, "VI_1").as_deref(), Some("FAULT"));
    assert_eq!(
        instance_status(&lab, 0, "VI_2").map(|s| s["sync_group"].clone()),
        Some(serde_json::Value::Null)
    );
}

/// A reload that puts a MASTER and a BACKUP that follows the other box's master into one
/// sync group: the master follows to BACKUP (as on the member's own transition), so the
/// group's VIPs end up on one box; it stays there (does not preempt back while its group
/// member follows a master).
#[test]
fn reload_joining_a_master_to_a_following_member_moves_it_to_backup() {
    let lab = Lab::new(&["a", "b"]);
    let cfg = |node: &str, p1: u8, p2: u8, group: bool| {
        format!(
            "node: {node}
log: {{ level: debug }}
observe: {{ listen: 127.0.0.1:9188 }}
vrrp:
{}  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      priority: {p1}
      version: 3
      advert_int: 100ms
      virtual_ipaddresses: [\"198.18.0.100/24\"]
    - name: VI_2
      interface: eth0
      virtual_router_id: 52
      priority: {p2}
      version: 3
      advert_int: 100ms
      virtual_ipaddresses: [\"198.18.0.101/24\"]
",
            if group {
                "  sync_groups: [{ name: G, instances: [VI_1, VI_2] }]\n"
            } else {
                ""
            }
        )
    };
    let da = lab.tandem(0, &cfg("a", 150, 100, false));
    let db = lab.tandem(1, &cfg("b", 100, 150, false));
    for (i, name, state) in [
        (0, "VI_1", "MASTER"),
        (0, "VI_2", "BACKUP"),
        (1, "VI_1", "BACKUP"),
        (1, "VI_2", "MASTER"),
    ] {
        assert!(
            lab.wait_state(i, name, state),
            "{name} on {i}: {}{}",
            da.logs(),
            db.logs()
        );
    }
    lab.file("a.yaml", &cfg("a", 150, 100, true));
    da.signal(Signal::SIGHUP);
    assert!(da.wait_log("config reloaded"), "{}", da.logs());
    assert!(lab.wait_state(0, "VI_1", "BACKUP"), "{}", da.logs());
    assert!(lab.wait_state(1, "VI_1", "MASTER"), "{}", db.logs());
    only_holder_of(&lab, "198.18.0.100/24", "b");
    assert!(
        da.logs().contains("VI_2 of group G follows another master"),
        "{}",
        da.logs()
    );
    // Still there after many adverts from b's lower-priority VI_1: no preemption while
    // VI_2 follows b.
    assert!(db.wait_log("(VI_1) Entering MASTER STATE"));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lab.vrrp_state(0, "VI_1").as_deref(), Some("BACKUP"));
    assert_eq!(lab.vrrp_state(1, "VI_1").as_deref(), Some("MASTER"));
}

/// A member that starts following a live master without changing state (a BACKUP that
/// hears the other box's master for the first time) tells the group at once: the
/// group's MASTER follows it to BACKUP instead of staying master beside it. Here VI_2 is
/// added to a's group while a's VI_1 is already MASTER in it; VI_2 goes INIT → BACKUP
/// (announced, nobody follows yet), then starts following b's VI_2 (BACKUP still).
#[test]
fn a_member_that_starts_following_a_master_moves_the_group_master_to_backup() {
    let lab = Lab::new(&["a", "b"]);
    let cfg = |node: &str, p1: u8, p2: Option<u8>, group: bool| {
        let vi2 = match p2 {
            Some(p2) => format!(
                "    - name: VI_2
      interface: eth0
      virtual_router_id: 52
      priority: {p2}
      version: 3
      advert_int: 100ms
      virtual_ipaddresses: [\"198.18.0.101/24\"]
"
            ),
            None => String::new(),
        };
        format!(
            "node: {node}
log: {{ level: debug }}
observe: {{ listen: 127.0.0.1:9188 }}
vrrp:
{}  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      priority: {p1}
      version: 3
      advert_int: 100ms
      virtual_ipaddresses: [\"198.18.0.100/24\"]
{vi2}",
            if group {
                "  sync_groups: [{ name: G, instances: [VI_1, VI_2] }]\n"
            } else {
                ""
            }
        )
    };
    let da = lab.tandem(0, &cfg("a", 150, None, false));
    let db = lab.tandem(1, &cfg("b", 100, Some(150), false));
    for (i, name, state) in [
        (0, "VI_1", "MASTER"),
        (1, "VI_1", "BACKUP"),
        (1, "VI_2", "MASTER"),
    ] {
        assert!(
            lab.wait_state(i, name, state),
            "{name} on {i}: {}{}",
            da.logs(),
            db.logs()
        );
    }
    lab.file("a.yaml", &cfg("a", 150, Some(100), true));
    da.signal(Signal::SIGHUP);
    assert!(da.wait_log("config reloaded"), "{}", da.logs());
    assert!(lab.wait_state(0, "VI_2", "BACKUP"), "{}", da.logs());
    assert!(lab.wait_state(0, "VI_1", "BACKUP"), "{}", da.logs());
    assert!(lab.wait_state(1, "VI_1", "MASTER"), "{}", db.logs());
    only_holder_of(&lab, "198.18.0.100/24", "b");
    only_holder_of(&lab, "198.18.0.101/24", "b");
    assert!(
        da.logs().contains("VI_2 of group G follows another master"),
        "{}",
        da.logs()
    );
}

/// An instance removed, re-added and removed again while its first run is still in its
/// STOP hook: the re-added run, which was still waiting for that hook, stops at once and
/// never starts (no second round of hooks, no VIP) once the first run is done.
#[test]
fn instance_removed_again_while_waiting_for_its_previous_stop_never_starts() {
    let lab = Lab::new(&["a"]);
    let stop = BlockingHook::new(lab.dir.path());
    let backups = lab.dir.path().join("backup.log");
    let backup = script(
        lab.dir.path(),
        "backup.sh",
        &format!("echo \"$*\" >> {}", backups.display()),
    );
    let second = format!(
        "    - name: VI_2
      interface: eth0
      virtual_router_id: 52
      priority: 150
      version: 3
      advert_int: 100ms
      virtual_ipaddresses: [\"198.18.0.101/24\"]
      notify: {{ stop: [\"{}\", INSTANCE, VI_2, STOP], backup: [\"{}\", BACKUP], timeout: 120s }}
",
        stop.hook.display(),
        backup.display()
    );
    let with = config("a", 150, "", &second);
    let without = config("a", 150, "", "");
    let d = lab.tandem(0, &with);
    assert!(lab.wait_state(0, "VI_2", "MASTER"));
    let reload = |text: &str, generation: u32| {
        lab.file("a.yaml", text);
        d.signal(Signal::SIGHUP);
        assert!(
            d.wait_log(&format!(
                "config reloaded: now running generation {generation}"
            )),
            "{}",
            d.logs()
        );
    };
    reload(&without, 2);
    assert!(stop.began("VI_2"), "{}", d.logs());
    reload(&with, 3);
    reload(&without, 4);
    // The second run never started: its stop is done while the first run's hook still
    // blocks.
    assert!(d.wait_log("(VI_2) stopped"), "{}", d.logs());
    assert!(!stop.text().contains("end"), "{}", stop.text());
    stop.release();
    assert!(
        wait_for(Duration::from_secs(20), || {
            (d.logs().matches("(VI_2) stopped").count() == 2).then_some(())
        })
        .is_some(),
        "{}",
        d.logs()
    );
    let text = stop.text();
    assert_eq!(text.matches("begin").count(), 1, "{text}");
    assert!(text.contains("end INSTANCE VI_2 STOP"), "{text}");
    let backup_runs = std::fs::read_to_string(&backups).unwrap_or_default();
    assert_eq!(backup_runs.matches("BACKUP").count(), 1, "{backup_runs}");
    assert!(!lab.has(0, "198.18.0.101/24"));
    let logs = d.logs();
    assert_eq!(logs.matches("(VI_2) started on").count(), 1, "{logs}");
}

/// A reload that restarts an instance onto the VRID of another instance it removes: the
/// new run waits for that other instance's stop too (its STOP hook included), whatever
/// the order of the instances in the config, instead of racing it for the VRID.
#[test]
fn a_restarted_instance_waits_for_the_removed_instance_with_its_vrid() {
    let lab = Lab::new(&["a"]);
    let stop = BlockingHook::new(lab.dir.path());
    let vi1 = |vrid: u8| {
        format!(
            "    - name: VI_1
      interface: eth0
      virtual_router_id: {vrid}
      priority: 150
      version: 3
      advert_int: 100ms
      virtual_ipaddresses: [\"{VIP}\"]
"
        )
    };
    let vi2 = stop.vi2();
    let top = "node: a\nlog: { level: debug }\nobserve: { listen: 127.0.0.1:9188 }\nvrrp:\n  instances:\n";
    let d = lab.tandem(0, &format!("{top}{}{vi2}", vi1(51)));
    assert!(lab.wait_state(0, "VI_1", "MASTER"));
    assert!(lab.wait_state(0, "VI_2", "MASTER"));
    lab.file("a.yaml", &format!("{top}{}", vi1(52)));
    d.signal(Signal::SIGHUP);
    assert!(
        d.wait_log("config reloaded: now running generation 2"),
        "{}",
        d.logs()
    );
    assert!(stop.began("VI_2"), "{}", d.logs());
    let waiting = wait_for(Duration::from_secs(20), || {
        let st = instance_status(&lab, 0, "VI_1")?;
        (st["virtual_router_id"] == 52
            && st["detail"]
                .as_str()?
                .contains("waiting for a previous run"))
        .then_some(())
    });
    assert!(waiting.is_some(), "{}", d.logs());
    let logs = d.logs();
    assert_eq!(logs.matches("(VI_1) started on").count(), 1, "{logs}");
    stop.release();
    assert!(d.wait_log("(VI_2) stopped"), "{}", d.logs());
    assert!(lab.wait_state(0, "VI_1", "MASTER"), "{}", d.logs());
    let logs = d.logs();
    assert_eq!(logs.matches("(VI_1) started on").count(), 2, "{logs}");
    assert!(!logs.contains("(VI_1) cannot start"), "{logs}");
    assert!(lab.has(0, VIP));
    assert!(!lab.has(0, "198.18.0.101/24"));
}

/// A process started by the test under a name of its own (a copy of `sleep`, so the
/// kernel's process name is unique to this test run), killed when dropped.
struct Proc(std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    fn start(bin: &Path) -> Proc {
        Proc(
            std::process::Command::new(bin)
                .arg("600")
                .spawn()
                .expect("start the tracked process"),
        )
    }
}

/// A unique process name of at most 15 bytes (the kernel's limit), and a copy of
/// `sleep` under that name in the lab's directory.
fn named_sleep(lab: &Lab) -> (String, PathBuf) {
    let tag: String = lab
        .dir
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let name = format!("tk{}", &tag[tag.len().saturating_sub(9)..]);
    let bin = lab.dir.path().join(&name);
    std::fs::copy("/bin/sleep", &bin).expect("copy sleep");
    (name, bin)
}

/// keepalived's `vrrp_track_process`: the master's priority follows the number of
/// running copies of a process — none (below `quorum`) and two (above `quorum_max`)
/// both fail over to the backup, one brings it back; `/status` shows the count.
#[test]
fn track_process_follows_the_number_of_running_processes() {
    let lab = Lab::new(&["a", "b"]);
    let (name, bin) = named_sleep(&lab);
    let top = format!(
        "track_processes:\n  chk:\n    process: {name}\n    quorum_max: 1\n    interval: 100ms\n    weight: -60\n"
    );
    let da = lab.tandem(0, &config("a", 150, &top, "      track_processes: [chk]\n"));
    let _db = lab.tandem(1, &config("b", 100, "", ""));
    // Nothing runs: a is at 90 from its first scan, b is master.
    assert!(lab.wait_state(1, "VI_1", "MASTER"), "{}", da.logs());
    assert!(
        da.wait_log("track process chk is now FAILING: no process running (quorum 1)"),
        "{}",
        da.logs()
    );
    only_holder(&lab, "b");
    let process_status = |lab: &Lab| {
        lab.status(0)
            .map(|s| s["subsystems"]["track"]["processes"]["chk"].clone())
    };

    let first = Proc::start(&bin);
    assert!(lab.wait_state(0, "VI_1", "MASTER"), "{}", da.logs());
    only_holder(&lab, "a");
    assert!(
        da.wait_log("track process chk is now OK: 1 process running (quorum 1)"),
        "{}",
        da.logs()
    );
    let st = process_status(&lab).expect("status");
    assert_eq!(st["state"], "ok", "{st}");
    assert_eq!(st["running"], 1, "{st}");
    assert_eq!(st["quorum"], "1", "{st}");
    let metrics = lab.exec(
        0,
        &[
            "python3",
            "-c",
            "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9188/metrics').read().decode())",
        ],
    );
    let metrics = String::from_utf8_lossy(&metrics.stdout).into_owned();
    assert!(
        metrics.contains("tandem_track_process_running_processes{process=\"chk\"} 1"),
        "{metrics}"
    );

    // A second copy is more than quorum_max.
    let second = Proc::start(&bin);
    assert!(lab.wait_state(1, "VI_1", "MASTER"), "{}", da.logs());
    assert!(
        da.wait_log("track process chk is now FAILING: 2 processes running (quorum 1)"),
        "{}",
        da.logs()
    );
    only_holder(&lab, "b");
    drop(second);
    assert!(lab.wait_state(0, "VI_1", "MASTER"), "{}", da.logs());
    only_holder(&lab, "a");

    // The last one ends: back to the backup.
    drop(first);
    assert!(lab.wait_state(1, "VI_1", "MASTER"), "{}", da.logs());
    only_holder(&lab, "b");
    let st = process_status(&lab).expect("status");
    assert_eq!(st["state"], "failing", "{st}");
    assert_eq!(st["running"], 0, "{st}");
    assert!(
        da.logs()
            .contains("reason=\"track process `chk` failing (-60)\""),
        "{}",
        da.logs()
    );
}

/// `terminate_delay`: a process restarted within the delay does not move the priority;
/// one that stays away does, once the delay is over. A reload that changes the
/// definition keeps its state (no flap).
#[test]
fn track_process_terminate_delay_rides_out_a_restart_and_reload_keeps_the_state() {
    let lab = Lab::new(&["a"]);
    let (name, bin) = named_sleep(&lab);
    let top = |delay: &str| {
        format!(
            "track_processes:\n  chk:\n    process: {name}\n    interval: 100ms\n    terminate_delay: {delay}\n    weight: 0\n"
        )
    };
    let inst = "      track_processes: [chk]\n";
    let first = Proc::start(&bin);
    let d = lab.tandem(0, &config("a", 150, &top("600s"), inst));
    assert!(lab.wait_state(0, "VI_1", "MASTER"), "{}", d.logs());
    let running = |lab: &Lab| {
        lab.status(0)
            .and_then(|s| s["subsystems"]["track"]["processes"]["chk"]["running"].as_u64())
    };
    // Gone: the scan sees it, but the 600s delay holds the state.
    drop(first);
    assert!(
        wait_for(Duration::from_secs(20), || (running(&lab)? == 0)
            .then_some(()))
        .is_some(),
        "{}",
        d.logs()
    );
    // A reload with another interval and delay keeps it up.
    lab.file("a.yaml", &config("a", 150, &top("300s"), inst));
    d.signal(Signal::SIGHUP);
    assert!(d.wait_log("config reloaded"), "{}", d.logs());
    let _again = Proc::start(&bin);
    assert!(
        wait_for(Duration::from_secs(20), || (running(&lab)? == 1)
            .then_some(()))
        .is_some(),
        "{}",
        d.logs()
    );
    let logs = d.logs();
    assert!(!logs.contains("track process chk is now FAILING"), "{logs}");
    assert_eq!(lab.vrrp_state(0, "VI_1").as_deref(), Some("MASTER"));
    // With a short delay, an absence longer than it counts.
    lab.file("a.yaml", &config("a", 150, &top("300ms"), inst));
    d.signal(Signal::SIGHUP);
    drop(_again);
    assert!(lab.wait_state(0, "VI_1", "FAULT"), "{}", d.logs());
    assert!(
        d.wait_log("track process chk is now FAILING: no process running (quorum 1 or more)"),
        "{}",
        d.logs()
    );
}

/// keepalived's `track_file`: a number written into a file moves the master's priority
/// (number × weight): -60 hands the VIP to the backup, removing the file (0) brings it
/// back; a weight-0 file holds the instance in FAULT while it holds a non-zero number,
/// also when the new content is moved in (`mv`, as configuration tools write).
#[test]
fn track_file_moves_the_priority_with_the_number_in_the_file() {
    let lab = Lab::new(&["a", "b"]);
    let file = lab.dir.path().join("weight");
    let gate = lab.dir.path().join("gate");
    let top = format!(
        "track_files:\n  manual:\n    file: {}\n    init_file: 0\n  gate:\n    file: {}\n    weight: 0\n",
        file.display(),
        gate.display()
    );
    let da = lab.tandem(
        0,
        &config("a", 150, &top, "      track_files: [manual, gate]\n"),
    );
    let _db = lab.tandem(1, &config("b", 100, "", ""));
    assert!(lab.wait_state(0, "VI_1", "MASTER"), "{}", da.logs());
    only_holder(&lab, "a");
    // init_file wrote the missing file.
    assert_eq!(
        std::fs::read_to_string(&file).expect("init_file").trim(),
        "0"
    );
    assert!(
        da.wait_log("track file manual: wrote 0 to"),
        "{}",
        da.logs()
    );

    // 150 - 60 = 90, below b's 100.
    std::fs::write(&file, "-60\n").expect("write");
    assert!(lab.wait_state(1, "VI_1", "MASTER"), "{}", da.logs());
    only_holder(&lab, "b");
    assert!(
        da.wait_log("track file manual: value -60 (was 0)"),
        "{}",
        da.logs()
    );
    assert!(
        da.wait_log("track file `manual` value -60 (-60)"),
        "{}",
        da.logs()
    );

    // A reload does not write init_file again over a file already watched, even with
    // init_overwrite; the new weight applies at once (150 - 120).
    let top2 = top.replace(
        "    init_file: 0\n",
        "    init_file: 0\n    init_overwrite: true\n    weight: 2\n",
    );
    lab.file(
        "a.yaml",
        &config("a", 150, &top2, "      track_files: [manual, gate]\n"),
    );
    da.signal(Signal::SIGHUP);
    assert!(
        da.wait_log("config reloaded: now running generation 2"),
        "{}",
        da.logs()
    );
    assert!(
        da.wait_log("track file `manual` value -60 (-120)"),
        "{}",
        da.logs()
    );
    assert_eq!(std::fs::read_to_string(&file).expect("file").trim(), "-60");

    // A removed file reads 0: a preempts again.
    std::fs::remove_file(&file).expect("remove");
    assert!(lab.wait_state(0, "VI_1", "MASTER"), "{}", da.logs());
    only_holder(&lab, "a");

    // weight 0: a non-zero number is FAULT, moved in as a whole.
    let tmp = lab.dir.path().join("gate.tmp");
    std::fs::write(&tmp, "1\n").expect("write");
    std::fs::rename(&tmp, &gate).expect("mv");
    assert!(lab.wait_state(0, "VI_1", "FAULT"), "{}", da.logs());
    only_holder(&lab, "b");
    assert!(
        da.wait_log("track file `gate` holds 1 (weight 0: FAULT while not 0)"),
        "{}",
        da.logs()
    );
    std::fs::write(&gate, "0").expect("write");
    assert!(lab.wait_state(0, "VI_1", "MASTER"), "{}", da.logs());
    only_holder(&lab, "a");
}
