//! Running a track script or notify hook: its own process group, optional user/group, a
//! timeout after which the whole group is killed, output captured up to 4 KiB, always
//! reaped (no zombies). A killed process that does not exit at once (in uninterruptible
//! sleep, e.g. on a hung NFS mount) does not hold up the result: it is reaped in the
//! background (see `Reaping`).

use std::fmt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Gid, Group, Pid, Uid, User};
use tokio::io::AsyncReadExt;

/// Output kept per run.
pub const OUTPUT_LIMIT: usize = 4096;

/// How long a process killed after its timeout gets to exit before the result is
/// returned anyway and the process is reaped in the background.
const REAP_GRACE: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signaled(i32),
    TimedOut,
    /// It could not be started (missing, not executable, bad user).
    ExecFailed(String),
    /// Not started: the previous run, killed after timing out, has not exited yet (see
    /// `Reaping`). Only callers that wait for it report this.
    PreviousNotExited,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        *self == Outcome::Exited(0)
    }

    /// Label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Exited(0) => "ok",
            Outcome::Exited(_) => "fail",
            Outcome::Signaled(_) => "signal",
            Outcome::TimedOut => "timeout",
            Outcome::ExecFailed(_) => "exec_error",
            Outcome::PreviousNotExited => "stuck",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Exited(0) => write!(f, "succeeded"),
            Outcome::Exited(c) => write!(f, "exited with status {c}"),
            Outcome::Signaled(s) => match Signal::try_from(*s) {
                Ok(sig) => write!(f, "killed by {sig}"),
                Err(_) => write!(f, "killed by signal {s}"),
            },
            Outcome::TimedOut => write!(f, "timed out"),
            Outcome::ExecFailed(e) => write!(f, "cannot be executed: {e}"),
            Outcome::PreviousNotExited => write!(
                f,
                "not run: its previous run, killed after timing out, has not exited yet"
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Run {
    pub outcome: Outcome,
    /// stdout and stderr, interleaved as read, at most OUTPUT_LIMIT bytes.
    pub output: String,
    pub started: Instant,
    pub took: Duration,
}

/// User and group ids to run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Identity {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// Resolves `user`/`group` names (or numeric ids); the group defaults to the user's.
pub fn identity(user: Option<&str>, group: Option<&str>) -> Result<Identity, String> {
    let mut id = Identity::default();
    if let Some(u) = user {
        let found = match u.parse::<u32>() {
            Ok(n) => User::from_uid(Uid::from_raw(n)),
            Err(_) => User::from_name(u),
        };
        match found {
            Ok(Some(usr)) => {
                id.uid = Some(usr.uid.as_raw());
                id.gid = Some(usr.gid.as_raw());
            }
            Ok(None) => return Err(format!("user `{u}` does not exist on this machine")),
            Err(e) => return Err(format!("cannot look up user `{u}`: {e}")),
        }
    }
    if let Some(g) = group {
        let found = match g.parse::<u32>() {
            Ok(n) => Group::from_gid(Gid::from_raw(n)),
            Err(_) => Group::from_name(g),
        };
        match found {
            Ok(Some(grp)) => id.gid = Some(grp.gid.as_raw()),
            Ok(None) => return Err(format!("group `{g}` does not exist on this machine")),
            Err(e) => return Err(format!("cannot look up group `{g}`: {e}")),
        }
    }
    Ok(id)
}

/// A process killed after its timeout that had not exited when its result was returned,
/// reaped by a task of its own (which ends once it is). Dropping this does not stop the
/// reaping.
pub struct Reaping {
    task: tokio::task::JoinHandle<()>,
}

impl Reaping {
    /// Whether the process has exited and was reaped.
    pub fn done(&self) -> bool {
        self.task.is_finished()
    }

    /// Reaps `child` (its group killed already) in the background; `group` kills the
    /// group again if the reaping task is dropped first (the runtime shutting down).
    fn spawn(prog: &str, mut child: tokio::process::Child, mut group: GroupGuard) -> Reaping {
        let prog = prog.to_string();
        let pid = child.id().unwrap_or(0);
        tracing::warn!(program = %prog, pid, "{prog} (pid {pid}) was killed after timing out but has not exited (uninterruptible sleep?); reaping it in the background");
        let task = tokio::spawn(async move {
            let since = Instant::now();
            let _ = child.wait().await;
            group.disarm();
            tracing::info!(program = %prog, pid, "{prog} (pid {pid}), killed after timing out, has exited {}ms later", since.elapsed().as_millis());
        });
        Reaping { task }
    }
}

/// Runs `argv` to completion or until `timeout`; a process killed after its timeout
/// that does not exit at once is reaped in the background.
pub async fn run(argv: &[String], id: Identity, timeout: Duration) -> Run {
    run_reaping(argv, id, timeout).await.0
}

/// As `run`, and when the run timed out and its process has not exited yet, the
/// `Reaping` that tells when it has (a caller running the same command again should not
/// start another while this one lingers).
pub async fn run_reaping(
    argv: &[String],
    id: Identity,
    timeout: Duration,
) -> (Run, Option<Reaping>) {
    let started = Instant::now();
    let done = |outcome: Outcome, output: String| Run {
        outcome,
        output,
        started,
        took: started.elapsed(),
    };
    let Some((prog, args)) = argv.split_first() else {
        return (
            done(Outcome::ExecFailed("empty command".into()), String::new()),
            None,
        );
    };
    let mut cmd = std::process::Command::new(prog);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let switch = Switch::plan(id);
    if let Some(why) = switch.impossible() {
        return (done(Outcome::ExecFailed(why), String::new()), None);
    }
    if let Some(g) = switch.gid {
        cmd.gid(g);
    }
    if let Some(u) = switch.uid {
        // std drops the supplementary groups itself before setuid when running as root.
        cmd.uid(u);
    } else if switch.gid.is_some() && switch.root {
        // A group-only switch as root: drop the supplementary groups too (std only does
        // that together with a uid switch). Closures run after std's setgid, still as root.
        // SAFETY: setgroups is async-signal-safe; no allocation in the closure.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setgroups(0, std::ptr::null()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    // SAFETY: prctl is async-signal-safe. Scripts do not inherit the daemon's ambient
    // capabilities (CAP_NET_ADMIN, CAP_NET_RAW) under systemd.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL,
                0,
                0,
                0,
            );
            Ok(())
        });
    }
    let mut child = match tokio::process::Command::from(cmd)
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            let why = match e.raw_os_error() {
                Some(libc::EPERM) if switch.any() => switch.denied(),
                _ => spawn_error(prog, &e),
            };
            return (done(Outcome::ExecFailed(why), String::new()), None);
        }
    };
    let pgid = child.id().map(|p| Pid::from_raw(p as i32));
    // If this future is dropped before the leader is reaped (the task running the hook or
    // script was aborted), the whole group goes: `kill_on_drop` alone only kills the
    // leader and would leave its children running. Declared after `child`, so it is
    // dropped first, while the leader is not reaped and the pgid cannot be reused.
    let mut group = GroupGuard(pgid);
    let mut pipes = Pipes {
        out: child.stdout.take(),
        err: child.stderr.take(),
        kept: Vec::new(),
    };
    let deadline = tokio::time::Instant::now() + timeout;
    // Read output while waiting for the exit; a script's background children may keep
    // the pipes open, so the exit (not EOF) ends the run.
    let status = loop {
        tokio::select! {
            s = child.wait() => break Some(s),
            more = pipes.read_some() => if !more { break tokio::time::timeout_at(deadline, child.wait()).await.ok() },
            _ = tokio::time::sleep_until(deadline) => break None,
        }
    };
    if status.is_some() {
        // Reaped: from here on the pgid may be reused, and after an exit a hook's
        // background processes may stay (see below).
        group.disarm();
        // What is already in the pipes, briefly.
        let _ = tokio::time::timeout(Duration::from_millis(50), async {
            while pipes.read_some().await {}
        })
        .await;
    }
    let mut reaping = None;
    let outcome = match status {
        None => {
            // Timed out: the whole group goes, while the leader is not reaped yet (so the
            // pgid cannot have been reused). After a normal exit nothing is killed: a hook
            // may leave background processes running (`cmd &`), as under keepalived.
            if let Some(p) = pgid {
                let _ = killpg(p, Signal::SIGKILL);
            }
            // Reap the killed child now if it exits at once; one that does not (stuck in
            // uninterruptible sleep, where SIGKILL waits) does not hold up the result.
            if tokio::time::timeout(REAP_GRACE, child.wait()).await.is_ok() {
                group.disarm();
            } else {
                reaping = Some(Reaping::spawn(prog, child, group));
            }
            Outcome::TimedOut
        }
        Some(Err(e)) => Outcome::ExecFailed(e.to_string()),
        Some(Ok(st)) => match (st.code(), st.signal()) {
            (Some(c), _) => Outcome::Exited(c),
            (None, Some(sig)) => Outcome::Signaled(sig),
            (None, None) => Outcome::Exited(-1),
        },
    };
    let text = String::from_utf8_lossy(&pipes.kept).into_owned();
    (done(outcome, text), reaping)
}

/// Why `prog` could not be started, naming what is missing: the program, or the
/// interpreter its `#!` line names (the kernel says ENOENT for both).
fn spawn_error(prog: &str, e: &std::io::Error) -> String {
    let plain = e.kind().to_string();
    let path = crate::track::security::resolve(prog);
    match (e.raw_os_error(), &path) {
        (Some(libc::ENOENT), Some(p)) if p.is_file() => match interpreter(p) {
            Some(interp) => format!("{prog}: bad interpreter {interp}: {plain}"),
            None => format!("{prog}: {e}"),
        },
        (Some(libc::ENOENT), _) if prog.contains('/') => format!("{prog}: no such file"),
        (Some(libc::ENOENT), _) => format!("{prog}: not found in PATH"),
        (Some(libc::EACCES), _) => format!("{prog}: permission denied (not executable?)"),
        (Some(libc::ENOEXEC), _) => format!("{prog}: exec format error (no #! line?)"),
        _ => format!("{prog}: {e}"),
    }
}

/// The interpreter a script's `#!` line names.
fn interpreter(path: &std::path::Path) -> Option<String> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = line.split(|&b| b == b'\n').next()?;
    let text = String::from_utf8_lossy(line);
    text.split_whitespace().next().map(str::to_string)
}

/// Kills a run's process group with SIGKILL when dropped armed (see `run`).
struct GroupGuard(Option<Pid>);

impl GroupGuard {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = killpg(p, Signal::SIGKILL);
        }
    }
}

/// The daemon's own ids and effective capabilities: what decides whether it can run a
/// script or hook as another user or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials {
    pub ruid: u32,
    pub euid: u32,
    pub rgid: u32,
    pub egid: u32,
    /// The effective capability set (`CapEff`); `None` when /proc does not tell.
    pub caps: Option<u64>,
}

impl Credentials {
    /// This process's.
    pub fn current() -> Credentials {
        Credentials {
            ruid: Uid::current().as_raw(),
            euid: Uid::effective().as_raw(),
            rgid: Gid::current().as_raw(),
            egid: Gid::effective().as_raw(),
            caps: effective_caps(),
        }
    }
}

/// Why a daemon running with `me` cannot run a script or hook as `id`: it must switch
/// user or group (they differ from its own), is not root, and lacks CAP_SETUID (for a
/// user) or CAP_SETGID (for a group). `None` when it can, or when its capabilities are
/// unknown (the run will tell).
pub fn switch_refused(id: Identity, me: &Credentials) -> Option<String> {
    Switch::plan_as(id, me).impossible()
}

/// The identity switch a run needs: only the ids that differ from the daemon's own.
#[derive(Debug, Clone, Copy)]
struct Switch {
    uid: Option<u32>,
    gid: Option<u32>,
    /// The daemon runs with euid 0.
    root: bool,
    /// The daemon's ids and capabilities.
    me: Credentials,
}

/// CAP_SETGID and CAP_SETUID bits in /proc/self/status `CapEff`.
const CAP_SETGID: u64 = 1 << 6;
const CAP_SETUID: u64 = 1 << 7;

impl Switch {
    fn plan(id: Identity) -> Switch {
        let mut me = Credentials {
            ruid: Uid::current().as_raw(),
            euid: Uid::effective().as_raw(),
            rgid: Gid::current().as_raw(),
            egid: Gid::effective().as_raw(),
            caps: None,
        };
        let plan = Switch::plan_as(id, &me);
        // /proc is read only when a switch is needed and the daemon is not root.
        if plan.any() && !plan.root {
            me.caps = effective_caps();
            return Switch::plan_as(id, &me);
        }
        plan
    }

    fn plan_as(id: Identity, me: &Credentials) -> Switch {
        Switch {
            uid: id.uid.filter(|&u| u != me.ruid || u != me.euid),
            gid: id.gid.filter(|&g| g != me.rgid || g != me.egid),
            root: me.euid == 0,
            me: *me,
        }
    }

    fn any(&self) -> bool {
        self.uid.is_some() || self.gid.is_some()
    }

    /// Why the switch cannot work, when the daemon plainly lacks the capabilities.
    fn impossible(&self) -> Option<String> {
        if !self.any() || self.root {
            return None;
        }
        // Unknown: try, and explain an EPERM afterwards.
        let caps = self.me.caps?;
        let missing = (self.uid.is_some() && caps & CAP_SETUID == 0)
            || (self.gid.is_some() && caps & CAP_SETGID == 0);
        missing.then(|| self.denied())
    }

    /// The message for a switch the kernel refused.
    fn denied(&self) -> String {
        let target = match (self.uid, self.gid) {
            (Some(u), Some(g)) => format!("user {} (group {})", user_name(u), group_name(g)),
            (Some(u), None) => format!("user {}", user_name(u)),
            (None, Some(g)) => format!("group {}", group_name(g)),
            (None, None) => "another identity".to_string(),
        };
        let me = format!(
            "{} (group {})",
            user_name(self.me.euid),
            group_name(self.me.egid)
        );
        format!(
            "cannot run as {target}: tandem runs as {me} without CAP_SETUID/CAP_SETGID; \
             drop `user`/`group`, or give tandem those capabilities"
        )
    }
}

fn user_name(uid: u32) -> String {
    match User::from_uid(Uid::from_raw(uid)) {
        Ok(Some(u)) => u.name,
        _ => uid.to_string(),
    }
}

fn group_name(gid: u32) -> String {
    match Group::from_gid(Gid::from_raw(gid)) {
        Ok(Some(g)) => g.name,
        _ => gid.to_string(),
    }
}

/// The effective capability set of this process, if /proc tells.
fn effective_caps() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))?
        .trim();
    u64::from_str_radix(hex, 16).ok()
}

struct Pipes {
    out: Option<tokio::process::ChildStdout>,
    err: Option<tokio::process::ChildStderr>,
    kept: Vec<u8>,
}

impl Pipes {
    /// Reads one chunk from whichever pipe has data; false once both are closed.
    async fn read_some(&mut self) -> bool {
        let mut a = [0u8; 1024];
        let mut b = [0u8; 1024];
        let (n, from_out) = tokio::select! {
            r = async { match self.out.as_mut() { Some(o) => o.read(&mut a).await, None => std::future::pending().await } }, if self.out.is_some() => {
                match r { Ok(0) | Err(_) => { self.out = None; (0, true) } Ok(n) => (n, true) }
            }
            r = async { match self.err.as_mut() { Some(e) => e.read(&mut b).await, None => std::future::pending().await } }, if self.err.is_some() => {
                match r { Ok(0) | Err(_) => { self.err = None; (0, false) } Ok(n) => (n, false) }
            }
            else => return false,
        };
        let chunk = if from_out { &a[..n] } else { &b[..n] };
        let room = OUTPUT_LIMIT.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&chunk[..n.min(room)]);
        true
    }
}

/// A perl program for tests that simulates a process killed after its timeout that does
/// not exit (as one in uninterruptible sleep would not): it appends its pid to the file
/// `ARGV[0]`, exits 0 at once if the file `ARGV[1]` exists, and otherwise leaves its
/// process group for its parent's (so the group kill misses it) and waits for `ARGV[1]`.
#[cfg(test)]
pub(crate) const LINGERING: &str = r#"
use POSIX;
my ($starts, $release) = @ARGV;
open(my $f, ">>", $starts) or die "open: $!";
print $f "$$\n";
close $f;
exit 0 if -e $release;
POSIX::setpgid(0, getpgrp(getppid())) or die "setpgid: $!";
$SIG{TERM} = "IGNORE";
select(undef, undef, undef, 0.05) until -e $release;
exit 0;
"#;

#[cfg(test)]
mod tests {
    use super::*;

    /// A daemon running as uid/gid 1000 with the effective capabilities `caps`.
    fn daemon_1000(caps: Option<u64>) -> Credentials {
        Credentials {
            ruid: 1000,
            euid: 1000,
            rgid: 1000,
            egid: 1000,
            caps,
        }
    }

    /// The start-up warning's decision: a switch is refused only when the daemon must
    /// change its user (or group), is not root, and plainly lacks the capability for it.
    #[test]
    fn switch_refused_needs_a_switch_no_root_and_no_capability() {
        let root = Identity {
            uid: Some(0),
            gid: Some(0),
        };
        let why = switch_refused(root, &daemon_1000(Some(0))).expect("refused");
        assert!(
            why.starts_with("cannot run as user root (group root): tandem runs as ")
                && why.contains("without CAP_SETUID/CAP_SETGID"),
            "{why}"
        );
        // CAP_SETUID alone is not enough for a user and its group.
        assert!(switch_refused(root, &daemon_1000(Some(CAP_SETUID))).is_some());
        assert_eq!(
            switch_refused(root, &daemon_1000(Some(CAP_SETUID | CAP_SETGID))),
            None
        );
        // A group only needs CAP_SETGID.
        let group_only = Identity {
            uid: None,
            gid: Some(0),
        };
        assert_eq!(
            switch_refused(group_only, &daemon_1000(Some(CAP_SETGID))),
            None
        );
        assert!(switch_refused(group_only, &daemon_1000(Some(CAP_SETUID))).is_some());
        // Its own user and group: no switch at all.
        let same = Identity {
            uid: Some(1000),
            gid: Some(1000),
        };
        assert_eq!(switch_refused(same, &daemon_1000(Some(0))), None);
        assert_eq!(
            switch_refused(Identity::default(), &daemon_1000(Some(0))),
            None
        );
        // Root may switch to anyone; unknown capabilities are left to the run.
        let as_root = Credentials {
            ruid: 0,
            euid: 0,
            rgid: 0,
            egid: 0,
            caps: Some(0),
        };
        let nobody = Identity {
            uid: Some(65534),
            gid: Some(65534),
        };
        assert_eq!(switch_refused(nobody, &as_root), None);
        assert_eq!(switch_refused(root, &daemon_1000(None)), None);
    }

    fn argv(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[tokio::test]
    async fn outcomes() {
        let t = Duration::from_secs(5);
        let r = run(
            &argv(&["/bin/sh", "-c", "echo hi; echo err >&2"]),
            Identity::default(),
            t,
        )
        .await;
        assert_eq!(r.outcome, Outcome::Exited(0));
        assert!(
            r.output.contains("hi") && r.output.contains("err"),
            "{}",
            r.output
        );
        let r = run(&argv(&["/bin/sh", "-c", "exit 3"]), Identity::default(), t).await;
        assert_eq!(r.outcome, Outcome::Exited(3));
        assert!(!r.outcome.ok());
        let r = run(
            &argv(&["/bin/sh", "-c", "kill -TERM $$"]),
            Identity::default(),
            t,
        )
        .await;
        assert_eq!(r.outcome, Outcome::Signaled(15));
        let r = run(&argv(&["/nonexistent/script"]), Identity::default(), t).await;
        assert!(
            matches!(r.outcome, Outcome::ExecFailed(_)),
            "{:?}",
            r.outcome
        );
        // A background child holding the pipes open does not hold up the result.
        let start = Instant::now();
        let r = run(
            &argv(&["/bin/sh", "-c", "sleep 20 & exit 0"]),
            Identity::default(),
            t,
        )
        .await;
        assert_eq!(r.outcome, Outcome::Exited(0));
        assert!(start.elapsed() < t, "waited for the background child");
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pidfile = dir.path().join("grandchild.pid");
        let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let r = run(
            &argv(&["/bin/sh", "-c", &script]),
            Identity::default(),
            Duration::from_millis(300),
        )
        .await;
        assert_eq!(r.outcome, Outcome::TimedOut);
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .expect("pid")
            .trim()
            .parse()
            .expect("number");
        // The grandchild (in the same group) is gone too.
        let gone = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            nix::sys::signal::kill(Pid::from_raw(pid), None).is_err()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .map(|s| s.contains(") Z "))
                    .unwrap_or(true)
        });
        assert!(gone, "grandchild {pid} survived the timeout");
    }

    /// A process killed after its timeout that does not exit does not hold up the
    /// result: the timeout is returned with a `Reaping`, which completes once the process
    /// has exited, and it is reaped (no zombie).
    #[tokio::test]
    async fn a_killed_process_that_lingers_is_reaped_in_the_background() {
        let dir = tempfile::tempdir().expect("tempdir");
        let starts = dir.path().join("starts");
        let release = dir.path().join("release");
        let cmd = argv(&[
            "perl",
            "-e",
            LINGERING,
            &starts.display().to_string(),
            &release.display().to_string(),
        ]);
        let ran = tokio::time::timeout(
            Duration::from_secs(20),
            run_reaping(&cmd, Identity::default(), Duration::from_millis(300)),
        )
        .await;
        let pid: i32 = std::fs::read_to_string(&starts)
            .expect("pid")
            .trim()
            .parse()
            .expect("number");
        let _cleanup = KillOnDrop(pid);
        let Ok((r, reaping)) = ran else {
            panic!("the result waited for the lingering process {pid}");
        };
        assert_eq!(r.outcome, Outcome::TimedOut, "{}", r.output);
        let reaping = reaping.expect("the lingering process is reaped in the background");
        assert!(pid_alive(pid), "{pid} exited");
        assert!(!reaping.done());
        std::fs::write(&release, "").expect("release");
        for _ in 0..500 {
            if reaping.done() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(reaping.done(), "{pid} was not reaped after it exited");
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.contains(") Z "))
            .unwrap_or(false);
        assert!(!zombie && !pid_alive(pid), "{pid} left behind");
    }

    #[tokio::test]
    async fn output_is_capped() {
        let r = run(
            &argv(&["/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\\\0' x"]),
            Identity::default(),
            Duration::from_secs(5),
        )
        .await;
        assert!(r.outcome.ok());
        assert_eq!(r.output.len(), OUTPUT_LIMIT);
    }

    /// A run whose future is dropped (its task aborted, e.g. an instance stopped in the
    /// middle of a hook) takes its whole process group with it.
    #[tokio::test]
    async fn abort_kills_the_whole_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pidfile = dir.path().join("grandchild.pid");
        let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let task = tokio::spawn(async move {
            run(
                &argv(&["/bin/sh", "-c", &script]),
                Identity::default(),
                Duration::from_secs(60),
            )
            .await
        });
        let mut pid = None;
        for _ in 0..500 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            pid = std::fs::read_to_string(&pidfile)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok());
            if pid.is_some() {
                break;
            }
        }
        let pid = pid.expect("the script wrote its child's pid");
        let _cleanup = KillOnDrop(pid);
        task.abort();
        let _ = task.await;
        let mut gone = false;
        for _ in 0..250 {
            if !pid_alive(pid) {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(gone, "grandchild {pid} survived the abort of its run");
    }

    /// Set for the unprivileged child run of `unprivileged_child`.
    const CHILD_ENV: &str = "TANDEM_TEST_PROCESS_CHILD";

    fn pid_alive(pid: i32) -> bool {
        nix::sys::signal::kill(Pid::from_raw(pid), None).is_ok()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true)
    }

    /// Kills a background process a test left behind, also when an assertion fails.
    struct KillOnDrop(i32);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = nix::sys::signal::kill(Pid::from_raw(self.0), Signal::SIGKILL);
        }
    }

    #[tokio::test]
    async fn background_children_survive_a_successful_exit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pidfile = dir.path().join("bg.pid");
        let script = format!("sleep 30 & echo $! > {}; exit 0", pidfile.display());
        let r = run(
            &argv(&["/bin/sh", "-c", &script]),
            Identity::default(),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(r.outcome, Outcome::Exited(0));
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .expect("pid")
            .trim()
            .parse()
            .expect("number");
        let _cleanup = KillOnDrop(pid);
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            pid_alive(pid),
            "the hook's background process {pid} was killed after a successful exit"
        );
    }

    /// The daemon as a plain user without CAP_SETGID/CAP_SETUID (the shipped systemd unit):
    /// `user:` naming that same user must run, another user must fail with a clear message.
    /// Runs this test binary's `unprivileged_child` under `setpriv` as nobody.
    #[test]
    fn same_user_runs_without_setgid_capability() {
        // The same test binary, started unprivileged by the parent role below, runs the
        // checks as that child.
        if std::env::var_os(CHILD_ENV).is_some() {
            unprivileged_child_checks();
            return;
        }
        assert!(
            Uid::effective().is_root(),
            "the test suite runs as root (it starts an unprivileged child)"
        );
        let Ok(exe) = std::env::current_exe() else {
            panic!("no current_exe");
        };
        let out = std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
            ])
            .arg(&exe)
            .args([
                "--exact",
                "track::process::tests::same_user_runs_without_setgid_capability",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .current_dir("/")
            .output();
        let out = match out {
            Ok(o) => o,
            Err(e) => panic!("setpriv (util-linux): {e}"),
        };
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "child failed:\n{text}");
        assert!(text.contains("1 passed"), "child did not run:\n{text}");
    }

    /// The child role of `same_user_runs_without_setgid_capability`.
    fn unprivileged_child_checks() {
        assert_eq!(
            effective_caps(),
            Some(0),
            "the child still has capabilities"
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let me = Identity {
            uid: Some(Uid::current().as_raw()),
            gid: Some(Gid::current().as_raw()),
        };
        let t = Duration::from_secs(5);
        let r = rt.block_on(run(&argv(&["/bin/sh", "-c", "id -u"]), me, t));
        assert_eq!(r.outcome, Outcome::Exited(0), "as myself: {}", r.outcome);
        assert_eq!(r.output.trim(), Uid::current().as_raw().to_string());
        // Switching to root cannot work; the message says why.
        let root = Identity {
            uid: Some(0),
            gid: Some(0),
        };
        let r = rt.block_on(run(&argv(&["/bin/true"]), root, t));
        let Outcome::ExecFailed(why) = &r.outcome else {
            panic!("switched to root?! {:?}", r.outcome);
        };
        assert!(
            why.contains("cannot run as user root") && why.contains("without CAP_SETUID"),
            "{why}"
        );
    }

    /// As root, switching to another user works (std drops the supplementary groups).
    #[tokio::test]
    async fn root_switches_to_another_user() {
        assert!(Uid::effective().is_root(), "the test suite runs as root");
        let nobody = Identity {
            uid: Some(65534),
            gid: Some(65534),
        };
        let r = run(
            &argv(&["/bin/sh", "-c", "id -u; id -g; id -G"]),
            nobody,
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(r.outcome, Outcome::Exited(0), "{}", r.output);
        let lines: Vec<&str> = r.output.lines().collect();
        assert_eq!(lines, ["65534", "65534", "65534"], "{}", r.output);
    }

    #[test]
    fn identities() {
        assert_eq!(
            identity(Some("root"), None).unwrap_or_default().uid,
            Some(0)
        );
        assert_eq!(
            identity(Some("0"), Some("0")).unwrap_or_default().gid,
            Some(0)
        );
        assert!(identity(Some("no-such-user-xyz"), None).is_err());
        assert!(identity(None, Some("no-such-group-xyz")).is_err());
    }

    /// A script that cannot be executed fails with a message that names what is wrong:
    /// the missing program, the missing interpreter of its `#!` line, or the missing
    /// execute permission.
    #[tokio::test]
    async fn exec_failures_say_what_is_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = Duration::from_secs(5);
        let why = |o: Outcome| match o {
            Outcome::ExecFailed(w) => w,
            other => panic!("not an exec failure: {other:?}"),
        };
        let r = run(&argv(&["/nonexistent/script"]), Identity::default(), t).await;
        let w = why(r.outcome);
        assert!(w.contains("/nonexistent/script: no such file"), "{w}");
        let bad = dir.path().join("bad.sh");
        std::fs::write(&bad, "#!/nonexistent/interp -e\nexit 0\n").expect("write");
        std::fs::set_permissions(&bad, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let r = run(&argv(&[&bad.display().to_string()]), Identity::default(), t).await;
        let w = why(r.outcome);
        assert!(w.contains("bad interpreter /nonexistent/interp"), "{w}");
        assert!(w.contains("bad.sh"), "{w}");
        let noexec = dir.path().join("noexec.sh");
        std::fs::write(&noexec, "#!/bin/sh\nexit 0\n").expect("write");
        std::fs::set_permissions(&noexec, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .expect("chmod");
        let r = run(
            &argv(&[&noexec.display().to_string()]),
            Identity::default(),
            t,
        )
        .await;
        let w = why(r.outcome);
        assert!(w.contains("noexec.sh: permission denied"), "{w}");
    }
}
