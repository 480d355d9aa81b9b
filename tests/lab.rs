//! deploy/lab.sh, the README's main job: up (two boxes with vrrp + balancer + router, a
//! MariaDB tier with a replica, a client), a query through the VIP, failover drills under
//! a client workload (zero acknowledged writes may be lost), down — with a copy of the
//! debug binary (a concurrent `cargo build` must not change what the lab runs) and a
//! unique namespace prefix and run directory, so it cannot touch a lab someone is running.
//! Steps run out of order (a drill before `up`, a drill with a box down or resigned) say
//! what to do; a drill whose failover does not happen says FAILED.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{repo_root, tandem_bin, wait_for};

const VIP: &str = "198.18.0.100";

/// One lab: its namespace prefix, run directory and binary (TANDEM_BIN).
#[derive(Clone)]
struct Lab {
    prefix: String,
    run_dir: PathBuf,
    bin: PathBuf,
}

impl Lab {
    fn run(&self, args: &[&str]) -> (bool, String) {
        self.run_env(&[], args)
    }

    /// deploy/lab.sh with extra environment (DRILL_FORCE, TANDEM_BIN, ...).
    fn run_env(&self, env: &[(&str, &str)], args: &[&str]) -> (bool, String) {
        let mut c = Command::new("bash");
        c.arg(repo_root().join("deploy/lab.sh"))
            .args(args)
            .env("TANDEM_BIN", &self.bin)
            .env("LAB_PREFIX", &self.prefix)
            .env("LAB_RUN", &self.run_dir)
            // Bounds of the drill workload: at most 300 operations in at most 20 s.
            .env("DRILL_OPS", "300")
            .env("DRILL_SECS", "20")
            .env_remove("DRILL_FORCE")
            .env_remove("DRILL_WAIT_SECS");
        for (k, v) in env {
            c.env(k, v);
        }
        output(c.output().expect("run deploy/lab.sh"))
    }

    /// The pid deploy/lab.sh recorded for NAME (a, b, db1, ...).
    fn pid(&self, name: &str) -> u32 {
        let p = std::fs::read_to_string(self.run_dir.join(format!("{name}.pid")))
            .unwrap_or_else(|e| panic!("{name}.pid: {e}"));
        p.trim().parse().expect("a pid")
    }

    /// `tandem vrrp resign|resume` through box B's admin socket.
    fn vrrp(&self, b: &str, verb: &str) -> (bool, String) {
        let sock = self.run_dir.join(format!("run-{b}/tandem/admin.sock"));
        let out = Command::new(&self.bin)
            .args(["vrrp", verb, "--socket"])
            .arg(&sock)
            .output()
            .expect("tandem vrrp");
        output(out)
    }
}

fn output(out: std::process::Output) -> (bool, String) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Every path under `dir`, relative to it, sorted.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).expect("under dir").to_path_buf());
            if p.is_dir() {
                todo.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A copy of `from` at `to` with one byte more: the same program, another binary.
fn copy_binary(from: &Path, to: &Path, extra: &[u8]) {
    let mut bytes = std::fs::read(from).expect("read the binary");
    bytes.extend_from_slice(extra);
    std::fs::write(to, bytes).expect("write the copy");
    let mut perm = std::fs::metadata(to).expect("copy").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(to, perm).expect("chmod");
}

/// The file the process runs, as the kernel shows it.
fn exe(pid: u32) -> PathBuf {
    std::fs::read_link(format!("/proc/{pid}/exe")).expect("/proc/PID/exe")
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
struct Guard(Lab);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.run(&["down"]);
    }
}

#[test]
fn lab_up_drill_down() {
    let prefix = format!("tl{}", std::process::id());
    let dir = tempfile::tempdir().expect("tempdir");
    let run_dir = dir.path().join("run");
    // The lab runs a copy: another `cargo build` replacing target/debug/tandem meanwhile
    // would otherwise make `up` restart the boxes on the new binary (as it should).
    let bin = dir.path().join("tandem");
    copy_binary(&tandem_bin(), &bin, b"");
    let lab = Lab {
        prefix: prefix.clone(),
        run_dir: run_dir.clone(),
        bin: bin.clone(),
    };
    let _guard = Guard(lab.clone());
    let config_lab = repo_root().join("config/lab");
    let config_lab_before = tree(&config_lab);

    // Out of order: before `up` there is nothing to drill or show, and the script says so.
    let (ok, out) = lab.run(&["drill", "kill-master"]);
    assert!(!ok, "{out}");
    assert!(out.contains("the lab is not up"), "{out}");
    assert!(out.contains("deploy/lab.sh up"), "{out}");
    let (ok, out) = lab.run(&["status"]);
    assert!(!ok, "{out}");
    assert!(out.contains("not up"), "{out}");
    assert!(namespaces(&prefix).is_empty(), "{:?}", namespaces(&prefix));

    let (ok, out) = lab.run(&["up"]);
    assert!(ok, "{out}");
    assert!(out.contains("== VIP 198.18.0.100 held by: a"), "{out}");
    assert!(out.contains("VI_1      MASTER"), "{out}");
    // The customer table is sharded: ids 1 and 2 on shop_0 (db1), 5000001 on shop_1 (db2).
    assert!(out.contains("1\talice\n2\tbob\n5000001\tcarol"), "{out}");
    assert!(out.contains("ip netns exec"), "{out}");
    assert_eq!(namespaces(&prefix).len(), 5, "{:?}", namespaces(&prefix));

    // up again changes nothing, says so and reports the same state.
    let pids = lab_pids(&run_dir);
    let (ok, out) = lab.run(&["up"]);
    assert!(ok, "{out}");
    assert!(out.contains("held by: a"), "{out}");
    assert!(out.contains("are there (up again"), "{out}");
    assert!(
        out.contains("MariaDB db1 db1r db2: already running"),
        "{out}"
    );
    assert!(out.contains("box a: tandem already running"), "{out}");
    assert!(out.contains("box b: tandem already running"), "{out}");
    assert!(!out.contains("starting MariaDB"), "{out}");
    assert!(!out.contains("starting tandem"), "{out}");
    assert_eq!(pids, lab_pids(&run_dir));

    // The router's state_dir is the box's own /run/router-state: <run dir>/run-a/...
    // (removed by `down`), not a directory of the checkout.
    let out = Command::new("timeout")
        .args(["10", "ip", "netns", "exec", &format!("{prefix}-a")])
        .args(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", "9066"])
        .args([
            "-u",
            "admin",
            "-padmin-pw",
            "-N",
            "-B",
            "-e",
            "show @@sysparam",
        ])
        .output()
        .expect("mariadb client");
    let (ok, sysparam) = output(out);
    assert!(ok, "{sysparam}");
    assert!(
        sysparam.contains("state_dir\t/run/router-state\t"),
        "{sysparam}"
    );
    let marker = run_dir.join("run-a/router-state/marker");
    std::fs::write(&marker, "").expect("marker");
    assert!(
        Path::new(&format!(
            "/proc/{}/root/run/router-state/marker",
            lab.pid("a")
        ))
        .exists(),
        "box a's /run/router-state is not {}",
        marker.display()
    );
    std::fs::remove_file(&marker).expect("marker");

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

    let (ok, out) = lab.run(&["drill", "kill-master"]);
    assert!(ok, "{out}");
    assert!(out.contains("==> pre-flight: box a is MASTER"), "{out}");
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

    // Box b resigned (held in FAULT): it could not take over, so a drill refuses to start
    // and says how to end it.
    let (ok, out) = lab.vrrp("b", "resign");
    assert!(ok, "{out}");
    let (a, b) = (lab.pid("a"), lab.pid("b"));
    let (ok, out) = lab.run(&["drill", "kill-master"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("box b: VRRP instance VI_1 is resigned"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "vrrp resume --socket {}",
            run_dir.join("run-b/tandem/admin.sock").display()
        )),
        "{out}"
    );
    assert!(out.contains("DRILL_FORCE=1"), "{out}");
    assert!(!out.contains("fault:"), "{out}");
    assert!(
        !exited(a) && !exited(b),
        "a drill that refused killed a box"
    );
    // Forced, it kills box a and nobody takes over: the drill gives up within its limit
    // (DRILL_WAIT_SECS), claims no takeover and no answer, restarts box a and says FAILED.
    let (ok, out) = lab.run_env(
        &[
            ("DRILL_FORCE", "1"),
            ("DRILL_WAIT_SECS", "3"),
            ("DRILL_OPS", "30"),
            ("DRILL_SECS", "6"),
        ],
        &["drill", "kill-master"],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("drilling it anyway (DRILL_FORCE=1)"), "{out}");
    assert!(out.contains("fault: kill -9 tandem on box a"), "{out}");
    assert!(
        out.contains("box b is still not MASTER with the VIP: gave up after 3s"),
        "{out}"
    );
    assert!(!out.contains("box b holds the VIP"), "{out}");
    assert!(!out.contains("VIP answered again"), "{out}");
    assert!(out.contains("box a holds the VIP again"), "{out}");
    assert!(
        out.contains("drill kill-master: FAILED: box b did not take over"),
        "{out}"
    );
    assert!(!out.contains("drill kill-master: OK"), "{out}");
    assert!(!out.contains("stopped early"), "{out}");
    let (ok, out) = lab.vrrp("b", "resume");
    assert!(ok, "{out}");

    // The pre-flight waits for box b to be BACKUP again and the balancers to have
    // router_a back.
    let (ok, out) = lab.run(&["drill", "kill-router"]);
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
    let (ok, out) = lab.run(&["drill", "kill-balancer-backend"]);
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

    // Planned maintenance: box b's router taken offline is drained by box a's balancer
    // (its http check on /health/router gets a 404, disable_on_404), no new connection
    // reaches it, no client operation fails, and online brings it back.
    let (ok, out) = lab.run(&["drill", "offline-router"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("fault (planned): tandem router offline on box b"),
        "{out}"
    );
    assert!(
        out.contains("box b: router: OFFLINE (admin socket)"),
        "{out}"
    );
    assert!(
        out.contains(
            "box a: server mysql/router_b is NOLB (check: HTTP status 404, disable_on_404)"
        ),
        "{out}"
    );
    assert!(
        out.contains("no new connection reached the drained router_b"),
        "{out}"
    );
    assert!(
        out.contains("repair: tandem router online on box b"),
        "{out}"
    );
    assert!(out.contains("box a: server mysql/router_b is UP"), "{out}");
    assert!(out.contains(", 0 failed, 0 reads failed"), "{out}");
    assert!(acknowledged(&out) > 0, "{out}");
    assert!(!out.contains("FAILED"), "{out}");

    // Shard 0's replica (a read host, switch_type 2): its replication stopped, then the
    // server killed. Both routers stop reading from it, say why, and read from it again
    // once it is back; no acknowledged write is lost.
    let (ok, out) = lab.run(&["drill", "stop-replication"]);
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
    let (ok, out) = lab.run(&["drill", "kill-replica"]);
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
    // stale, a drill refuses to start, and `up` restarts box a alone, which takes the VIP
    // back.
    let a = lab.pid("a");
    let b = lab.pid("b");
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
    let (ok, out) = lab.run(&["status"]);
    assert!(ok, "{out}");
    assert!(out.contains("tandem is not running"), "{out}");
    assert!(
        out.contains("(stale: tandem on box a is not running"),
        "{out}"
    );
    let (ok, out) = lab.run(&["drill", "kill-router"]);
    assert!(!ok, "{out}");
    assert!(out.contains("not running: a"), "{out}");
    let (ok, out) = lab.run(&["up"]);
    assert!(ok, "{out}");
    assert!(out.contains("box a: starting tandem"), "{out}");
    assert!(out.contains("box b: tandem already running"), "{out}");
    assert!(out.contains("== VIP 198.18.0.100 held by: a\n"), "{out}");
    assert_eq!(lab.pid("b"), b, "{out}");

    // Another binary (a rebuild): `up` says which box runs what and restarts both on it,
    // so that the boxes never run different binaries; status notes the difference.
    let other = dir.path().join("tandem-rebuilt");
    copy_binary(&bin, &other, b"\0");
    let (a, b) = (lab.pid("a"), lab.pid("b"));
    let (ok, out) = lab.run_env(&[("TANDEM_BIN", other.to_str().expect("utf-8"))], &["up"]);
    assert!(ok, "{out}");
    for x in ["a", "b"] {
        assert!(
            out.contains(&format!(
                "box {x} runs {}, not {}: restarting it",
                bin.display(),
                other.display()
            )),
            "{out}"
        );
        assert_eq!(exe(lab.pid(x)), other, "box {x}\n{out}");
    }
    assert!(exited(a) && exited(b), "{out}");
    assert!(out.contains("== VIP 198.18.0.100 held by: a\n"), "{out}");
    let (ok, out) = lab.run(&["status"]);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "note: box a runs {}, not {}",
            other.display(),
            bin.display()
        )),
        "{out}"
    );

    let pids = lab_pids(&run_dir);
    assert_eq!(pids.len(), 5, "{pids:?}");
    let (ok, out) = lab.run(&["down"]);
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
    let (ok, out) = lab.run(&["down"]);
    assert!(ok, "{out}");
    assert!(out.contains("nothing to remove"), "{out}");
    // Nothing of the lab was written into the checkout.
    assert_eq!(tree(&config_lab), config_lab_before, "config/lab/ changed");
}

/// Without TANDEM_BIN the lab runs the release binary of its own checkout, wherever the
/// script is started from; a relative TANDEM_BIN is relative to the caller's directory.
/// `where` prints the paths without touching anything (and needs no root).
#[test]
fn lab_finds_its_binary_from_any_directory() {
    let root = repo_root();
    let script = root.join("deploy/lab.sh");
    let run_in = |cwd: &Path, bin: Option<&str>, target: Option<&str>| {
        let mut c = Command::new("bash");
        c.arg(&script)
            .arg("where")
            .current_dir(cwd)
            .env_remove("TANDEM_BIN")
            .env_remove("CARGO_TARGET_DIR")
            .env("LAB_PREFIX", "tl-where")
            .env("LAB_RUN", "/nonexistent/tl-where");
        if let Some(b) = bin {
            c.env("TANDEM_BIN", b);
        }
        if let Some(t) = target {
            c.env("CARGO_TARGET_DIR", t);
        }
        let out = c.output().expect("run deploy/lab.sh where");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let run = |cwd: &Path, bin: Option<&str>| run_in(cwd, bin, None);
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
        // sudo drops the environment: the printed commands name this lab themselves.
        assert!(
            text.contains(
                "Remove all:     sudo LAB_PREFIX=tl-where LAB_RUN=/nonexistent/tl-where deploy/lab.sh down"
            ),
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
    assert!(
        text.contains(&format!(
            "Status:         sudo LAB_PREFIX=tl-where LAB_RUN=/nonexistent/tl-where TANDEM_BIN={}/bin/tandem deploy/lab.sh status",
            elsewhere.path().display()
        )),
        "{text}"
    );
    // `up` builds where cargo puts its output, CARGO_TARGET_DIR included, and runs that.
    let text = run_in(elsewhere.path(), None, Some("/nonexistent/tl-where-target"));
    assert!(
        text.contains("Admin socket:   /nonexistent/tl-where-target/release/tandem vrrp resign"),
        "{text}"
    );
    assert!(!Path::new("/nonexistent/tl-where").exists());
}
