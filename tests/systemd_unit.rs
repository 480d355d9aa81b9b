//! systemd/tandem.service passes `systemd-analyze verify`.

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
