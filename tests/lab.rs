//! deploy/lab.sh, the README's main job: up, a failover drill, down — with the debug
//! binary and a unique namespace prefix so it cannot touch a lab someone is running.

mod common;

use std::process::Command;

use common::{repo_root, tandem_bin};

fn lab(prefix: &str, run_dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("bash")
        .arg(repo_root().join("deploy/lab.sh"))
        .args(args)
        .env("TANDEM_BIN", tandem_bin())
        .env("LAB_PREFIX", prefix)
        .env("LAB_RUN", run_dir)
        .output()
        .expect("run deploy/lab.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn namespaces(prefix: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&format!("{prefix}-")))
        .map(str::to_string)
        .collect()
}

/// Removes the lab even when an assertion fails.
struct Guard(String, std::path::PathBuf);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = lab(&self.0, &self.1, &["down"]);
    }
}

#[test]
fn lab_up_drill_down() {
    let prefix = format!("tl{}", std::process::id());
    let dir = tempfile::tempdir().expect("tempdir");
    let run_dir = dir.path().join("run");
    let _guard = Guard(prefix.clone(), run_dir.clone());

    let (ok, out) = lab(&prefix, &run_dir, &["up"]);
    assert!(ok, "{out}");
    assert!(out.contains("== VIP 198.18.0.100 held by: a"), "{out}");
    assert!(out.contains("VI_1      MASTER"), "{out}");
    assert_eq!(namespaces(&prefix).len(), 4);

    // up again is a no-op that reports the same state.
    let (ok, out) = lab(&prefix, &run_dir, &["up"]);
    assert!(ok, "{out}");
    assert!(out.contains("held by: a"), "{out}");

    let (ok, out) = lab(&prefix, &run_dir, &["drill", "kill-master"]);
    assert!(ok, "{out}");
    assert!(out.contains("fault: kill -9 tandem on box a"), "{out}");
    assert!(out.contains("box b holds the VIP"), "{out}");
    assert!(out.contains("(VI_1) Entering MASTER STATE"), "{out}");

    let (ok, out) = lab(&prefix, &run_dir, &["down"]);
    assert!(ok, "{out}");
    assert!(
        namespaces(&prefix).is_empty(),
        "namespaces left: {:?}",
        namespaces(&prefix)
    );
    assert!(!run_dir.exists());
}
