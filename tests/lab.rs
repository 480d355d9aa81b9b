//! deploy/lab.sh, the README's main job: up (two boxes with vrrp + balancer + router, a
//! MariaDB tier with a replica, a client), a query through the VIP, two failover drills
//! under a client workload (zero acknowledged writes may be lost), down — with the debug
//! binary and a unique namespace prefix so it cannot touch a lab someone is running.
//! Steps run out of order (a drill before `up`, a drill with a box down) say what to do.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{repo_root, tandem_bin, wait_for};

const VIP: &str = "198.18.0.100";

fn lab(prefix: &str, run_dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("bash")
        .arg(repo_root().join("deploy/lab.sh"))
        .args(args)
        .env("TANDEM_BIN", tandem_bin())
        .env("LAB_PREFIX", prefix)
        .env("LAB_RUN", run_dir)
        // Bounds of the drill workload: at most 300 operations in at most 20 s.
        .env("DRILL_OPS", "300")
        .env("DRILL_SECS", "20")
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

/// The mariadb client in the lab's client namespace, through the VIP.
fn client_sql(prefix: &str, sql: &str) -> (bool, String) {
    let out = Command::new("timeout")
        .args(["10", "ip", "netns", "exec", &format!("{prefix}-client")])
        .args(["mariadb", "--no-defaults", "-h", VIP, "-P", "3306"])
        .args([
            "-u",
            "app",
            "-papp-pw",
            "--connect-timeout=3",
            "-N",
            "-B",
            "shop",
        ])
        .args(["-e", sql])
        .output()
        .expect("mariadb client");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Pids the lab recorded (tandem on both boxes, the three mariadbd).
fn lab_pids(run_dir: &Path) -> Vec<(String, u32)> {
    ["a", "b", "db1", "db1r", "db2"]
        .iter()
        .filter_map(|n| {
            let p = std::fs::read_to_string(run_dir.join(format!("{n}.pid"))).ok()?;
            Some((n.to_string(), p.trim().parse().ok()?))
        })
        .collect()
}

/// The number in "0 of N acknowledged writes lost".
fn acknowledged(out: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.contains("acknowledged writes lost"))
        .unwrap_or_else(|| panic!("no verdict line:\n{out}"));
    line.split(" of ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the verdict: {line}"))
}

/// Whether the process is gone (or exited and not yet reaped).
fn exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

/// Removes the lab even when an assertion fails.
struct Guard(String, PathBuf);

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

    // Out of order: before `up` there is nothing to drill or show, and the script says so.
    let (ok, out) = lab(&prefix, &run_dir, &["drill", "kill-master"]);
    assert!(!ok, "{out}");
    assert!(out.contains("the lab is not up"), "{out}");
    assert!(out.contains("deploy/lab.sh up"), "{out}");
    let (ok, out) = lab(&prefix, &run_dir, &["status"]);
    assert!(!ok, "{out}");
    assert!(out.contains("not up"), "{out}");
    assert!(namespaces(&prefix).is_empty(), "{:?}", namespaces(&prefix));

    let (ok, out) = lab(&prefix, &run_dir, &["up"]);
    assert!(ok, "{out}");
    assert!(out.contains("== VIP 198.18.0.100 held by: a"), "{out}");
    assert!(out.contains("VI_1      MASTER"), "{out}");
    // The customer table is sharded: ids 1 and 2 on shop_0 (db1), 5000001 on shop_1 (db2).
    assert!(out.contains("1\talice\n2\tbob\n5000001\tcarol"), "{out}");
    assert!(out.contains("ip netns exec"), "{out}");
    assert_eq!(namespaces(&prefix).len(), 5, "{:?}", namespaces(&prefix));

    // up again is a no-op that reports the same state.
    let (ok, out) = lab(&prefix, &run_dir, &["up"]);
    assert!(ok, "{out}");
    assert!(out.contains("held by: a"), "{out}");
    assert!(out.contains("are there (up again"), "{out}");

    // Queries through the VIP from the client namespace: balancer -> router -> shards.
    let (ok, out) = client_sql(&prefix, "SELECT COUNT(*) FROM province");
    assert!(ok, "{out}");
    assert_eq!(out.trim(), "3");
    let (ok, out) = client_sql(
        &prefix,
        "INSERT INTO customer (id, name) VALUES (3, 'dave'), (5000002, 'erin')",
    );
    assert!(ok, "{out}");
    let (ok, out) = client_sql(
        &prefix,
        "SELECT id FROM customer WHERE id IN (3, 5000002) ORDER BY id",
    );
    assert!(ok, "{out}");
    assert_eq!(out.trim(), "3\n5000002");

    let (ok, out) = lab(&prefix, &run_dir, &["drill", "kill-master"]);
    assert!(ok, "{out}");
    assert!(out.contains("fault: kill -9 tandem on box a"), "{out}");
    assert!(out.contains("box b holds the VIP"), "{out}");
    assert!(out.contains("box b: (VI_1) Entering MASTER STATE"), "{out}");
    assert!(out.contains("VIP answered again"), "{out}");
    assert!(
        out.contains("first acknowledged write after the fault"),
        "{out}"
    );
    assert!(out.contains("box a holds the VIP again"), "{out}");
    assert!(acknowledged(&out) > 0, "{out}");
    assert!(!out.contains("FAILED"), "{out}");

    let (ok, out) = lab(&prefix, &run_dir, &["drill", "kill-router"]);
    assert!(ok, "{out}");
    assert!(out.contains("fault: kill -9 tandem on box b"), "{out}");
    assert!(out.contains("server mysql/router_b is DOWN"), "{out}");
    assert!(out.contains("server mysql/router_b is UP"), "{out}");
    // The VIP stays on box a; a SELECT racing the kill may still fail once.
    assert!(
        out.contains("VIP still answers") || out.contains("VIP answered again"),
        "{out}"
    );
    assert!(acknowledged(&out) > 0, "{out}");
    assert!(!out.contains("FAILED"), "{out}");

    // The backup frozen for seconds (SIGSTOP) and continued: it reads the master's adverts
    // queued meanwhile before its overdue timer counts, so it never takes the VIP (which
    // would announce it and send clients to a box that drops it a moment later).
    let (ok, out) = lab(&prefix, &run_dir, &["drill", "kill-balancer-backend"]);
    assert!(ok, "{out}");
    assert!(out.contains("fault: SIGSTOP tandem on box b"), "{out}");
    assert!(out.contains("server mysql/router_b is DOWN"), "{out}");
    assert!(out.contains("repair: SIGCONT tandem on box b"), "{out}");
    assert!(
        !out.contains("box b: (VI_1) Entering MASTER STATE"),
        "{out}"
    );
    assert!(out.contains("held by: a\n"), "{out}");
    assert!(acknowledged(&out) > 0, "{out}");
    assert!(!out.contains("FAILED"), "{out}");

    // Shard 0's replica (a read host, switch_type 2): its replication stopped, then the
    // server killed. Both routers stop reading from it, say why, and read from it again
    // once it is back; no acknowledged write is lost.
    let (ok, out) = lab(&prefix, &run_dir, &["drill", "stop-replication"]);
    assert!(ok, "{out}");
    assert!(out.contains("fault: STOP SLAVE on db1r"), "{out}");
    assert!(
        out.contains(
            "box a: data host dh0: host db1r gets no reads (replication IO thread not running)"
        ),
        "{out}"
    );
    assert!(out.contains("repair: START SLAVE on db1r"), "{out}");
    assert!(
        out.contains("box a: data host dh0: host db1r gets reads again"),
        "{out}"
    );
    assert!(out.contains("VIP still answers"), "{out}");
    assert!(acknowledged(&out) > 0, "{out}");
    assert!(!out.contains("FAILED"), "{out}");
    let (ok, out) = lab(&prefix, &run_dir, &["drill", "kill-replica"]);
    assert!(ok, "{out}");
    assert!(out.contains("fault: kill -9 MariaDB db1r"), "{out}");
    assert!(
        out.contains("box a: data host dh0: host db1r is DOWN"),
        "{out}"
    );
    assert!(out.contains("repair: MariaDB db1r restarted"), "{out}");
    assert!(
        out.contains("box a: data host dh0: host db1r is UP"),
        "{out}"
    );
    assert!(acknowledged(&out) > 0, "{out}");
    assert!(!out.contains("FAILED"), "{out}");

    // Box a killed by hand: its VIP stays on eth0 (nobody removed it), status says it is
    // stale, a drill refuses to start, and `up` restarts box a, which takes the VIP back.
    let a = lab_pids(&run_dir)
        .into_iter()
        .find(|(n, _)| n == "a")
        .expect("a.pid")
        .1;
    assert!(
        Command::new("kill")
            .args(["-KILL", &a.to_string()])
            .status()
            .expect("kill")
            .success()
    );
    assert!(
        wait_for(Duration::from_secs(30), || exited(a).then_some(())).is_some(),
        "tandem on box a (pid {a}) did not die"
    );
    let (ok, out) = lab(&prefix, &run_dir, &["status"]);
    assert!(ok, "{out}");
    assert!(out.contains("tandem is not running"), "{out}");
    assert!(
        out.contains("(stale: tandem on box a is not running"),
        "{out}"
    );
    let (ok, out) = lab(&prefix, &run_dir, &["drill", "kill-router"]);
    assert!(!ok, "{out}");
    assert!(out.contains("not running: a"), "{out}");
    let (ok, out) = lab(&prefix, &run_dir, &["up"]);
    assert!(ok, "{out}");
    assert!(out.contains("== VIP 198.18.0.100 held by: a\n"), "{out}");

    let pids = lab_pids(&run_dir);
    assert_eq!(pids.len(), 5, "{pids:?}");
    let (ok, out) = lab(&prefix, &run_dir, &["down"]);
    assert!(ok, "{out}");
    assert!(
        namespaces(&prefix).is_empty(),
        "namespaces left: {:?}",
        namespaces(&prefix)
    );
    assert!(!run_dir.exists());
    for (name, pid) in pids {
        assert!(exited(pid), "{name} (pid {pid}) still runs after down");
    }
    // down again has nothing to do, and says so.
    let (ok, out) = lab(&prefix, &run_dir, &["down"]);
    assert!(ok, "{out}");
    assert!(out.contains("nothing to remove"), "{out}");
}

/// Without TANDEM_BIN the lab runs the release binary of its own checkout, wherever the
/// script is started from; a relative TANDEM_BIN is relative to the caller's directory.
/// `where` prints the paths without touching anything (and needs no root).
#[test]
fn lab_finds_its_binary_from_any_directory() {
    let root = repo_root();
    let script = root.join("deploy/lab.sh");
    let run = |cwd: &Path, bin: Option<&str>| {
        let mut c = Command::new("bash");
        c.arg(&script)
            .arg("where")
            .current_dir(cwd)
            .env_remove("TANDEM_BIN")
            .env("LAB_PREFIX", "tl-where")
            .env("LAB_RUN", "/nonexistent/tl-where");
        if let Some(b) = bin {
            c.env("TANDEM_BIN", b);
        }
        let out = c.output().expect("run deploy/lab.sh where");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let release = root.join("target/release/tandem");
    for cwd in [elsewhere.path(), root.as_path(), &root.join("deploy")] {
        let text = run(cwd, None);
        assert!(
            text.contains(&format!(
                "Admin socket:   {} vrrp resign --socket /nonexistent/tl-where/run-a/tandem/admin.sock",
                release.display()
            )),
            "{text}"
        );
        assert!(
            text.contains("ip netns exec tl-where-client mariadb -h 198.18.0.100"),
            "{text}"
        );
    }
    let text = run(elsewhere.path(), Some("bin/tandem"));
    assert!(
        text.contains(&format!(
            "Admin socket:   {}/bin/tandem vrrp resign",
            elsewhere.path().display()
        )),
        "{text}"
    );
    assert!(!Path::new("/nonexistent/tl-where").exists());
}
