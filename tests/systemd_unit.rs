//! systemd/tandem.service passes `systemd-analyze verify`, agrees with the daemon's stop
//! and watchdog, and the README's drop-in for `user:`/`group:` verifies with it.

mod common;

use std::process::Command;

use common::{repo_root, tandem_bin};

#[test]
fn unit_file_verifies() {
    let unit = std::fs::read_to_string(repo_root().join("systemd/tandem.service")).expect("unit");
    for want in [
        "Type=notify",
        "ExecReload=/usr/local/bin/tandem check -c /etc/tandem/tandem.yaml",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "WatchdogSec=",
        "ExecStart=/usr/local/bin/tandem run -c /etc/tandem/tandem.yaml",
        "RestartPreventExitStatus=78",
    ] {
        assert!(unit.contains(want), "missing {want}");
    }
    // An invalid config must stop the restarts: `tandem run` exits 78 (EX_CONFIG) for it,
    // but a `tandem check` before it would exit 1, which Restart=on-failure retries.
    assert!(
        !unit.lines().any(|l| l.starts_with("ExecStartPre=")),
        "ExecStartPre would fail with status 1 on an invalid config, defeating RestartPreventExitStatus=78"
    );
    // Verify a copy whose binary path points at the test build (verify checks that the
    // executables exist).
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("tandem.service");
    std::fs::write(
        &copy,
        unit.replace("/usr/local/bin/tandem", &tandem_bin().to_string_lossy()),
    )
    .expect("write copy");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("systemd-analyze (the test command installs the systemd package)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ours: Vec<&str> = stderr.lines().filter(|l| l.contains("tandem")).collect();
    assert!(out.status.success(), "{stderr}");
    assert!(ours.is_empty(), "systemd-analyze complains: {ours:#?}");
}

/// `key=` in the unit, in seconds (`20s`, `1min`, `2min 30s`).
fn seconds(unit: &str, key: &str) -> u64 {
    let v = unit
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key}= in the unit"));
    v.split_whitespace()
        .map(|w| {
            let n: String = w.chars().take_while(char::is_ascii_digit).collect();
            let n: u64 = n.parse().unwrap_or_else(|_| panic!("{key}={v}"));
            match &w[n.to_string().len()..] {
                "" | "s" | "sec" => n,
                "min" | "m" => n * 60,
                other => panic!("{key}={v}: unit {other}"),
            }
        })
        .sum()
}

#[test]
fn stop_and_watchdog_agree_with_the_daemon() {
    let unit = std::fs::read_to_string(repo_root().join("systemd/tandem.service")).expect("unit");
    // The daemon's graceful stop (hand over, STOP hooks) takes at most 15 s.
    assert!(
        seconds(&unit, "TimeoutStopSec") > 15,
        "TimeoutStopSec below the 15 s stop"
    );
    // It pings at half of WatchdogSec; the drill in the README counts on 30 s.
    assert_eq!(seconds(&unit, "WatchdogSec"), 30);
    // SIGTERM for the daemon alone: the default KillMode=control-group also signals running
    // track scripts and notify hooks at once, failing trackers (FAULT, fault hooks) in the
    // middle of the graceful stop.
    assert!(
        unit.lines().any(|l| l == "KillMode=mixed"),
        "KillMode must be mixed"
    );
    // Type=notify with the daemon's own READY=1/RELOADING=1/STOPPING=1 and pings.
    assert!(unit.lines().any(|l| l == "NotifyAccess=main"));
    // Capabilities: exactly the three, as ambient ones (the daemon is not root).
    for key in ["CapabilityBoundingSet=", "AmbientCapabilities="] {
        let l = unit
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key}"));
        let mut caps: Vec<&str> = l[key.len()..].split_whitespace().collect();
        caps.sort_unstable();
        assert_eq!(
            caps,
            ["CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
            "{l}"
        );
    }
}

/// The README's `systemd` section: its drop-in for track scripts and hooks with
/// `user:`/`group:` (they need CAP_SETUID/CAP_SETGID, which the unit leaves out).
#[test]
fn readme_drop_in_for_script_users_verifies() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    let section = readme
        .split("\n## systemd\n")
        .nth(1)
        .and_then(|r| r.split("\n## ").next())
        .expect("README section systemd");
    let drop_in = section
        .split("```ini\n")
        .nth(1)
        .and_then(|r| r.split("```").next())
        .expect("an ini block in README section systemd");
    for cap in ["CAP_SETUID", "CAP_SETGID"] {
        for key in ["CapabilityBoundingSet=", "AmbientCapabilities="] {
            assert!(
                drop_in
                    .lines()
                    .any(|l| l.starts_with(key) && l.contains(cap)),
                "{key} {cap} missing in:\n{drop_in}"
            );
        }
    }
    let unit = std::fs::read_to_string(repo_root().join("systemd/tandem.service")).expect("unit");
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("tandem.service");
    std::fs::write(
        &copy,
        unit.replace("/usr/local/bin/tandem", &tandem_bin().to_string_lossy()),
    )
    .expect("write copy");
    let d = dir.path().join("tandem.service.d");
    std::fs::create_dir(&d).expect("drop-in dir");
    std::fs::write(d.join("override.conf"), drop_in).expect("write drop-in");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("systemd-analyze (the test command installs the systemd package)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ours: Vec<&str> = stderr.lines().filter(|l| l.contains("tandem")).collect();
    assert!(out.status.success(), "{stderr}");
    assert!(ours.is_empty(), "systemd-analyze complains: {ours:#?}");
}
