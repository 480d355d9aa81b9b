//! Track processes (keepalived `vrrp_track_process`): how many running processes match
//! a definition, read from `/proc` every `interval`, is a health signal — up while the
//! count lies in `quorum..=quorum_max`. A change waits `fork_delay` (more processes) or
//! `terminate_delay` (fewer) before it counts, so a restart or a re-fork does not flap
//! the priority.
//!
//! The matching ([`matches`]) and the quorum with its delays ([`Quorum`]) are pure; the
//! scan of `/proc` and the task that publishes the signal are the thin IO around them.
//! keepalived learns of process changes from the kernel's process-events connector;
//! that connector only reports to the initial network and PID namespaces, so tandem
//! reads `/proc` instead, which works wherever the daemon runs (a box in a network
//! namespace, a container).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::TrackHub;
use super::script::TrackMetrics;
use crate::config::model::{ParamMatch, TrackProcess};

pub fn process_key(name: &str) -> String {
    format!("process:{name}")
}

/// Whether a process matches `spec`. `comm` is its name (`/proc/PID/comm`, without
/// the newline); `cmdline` its command line as `/proc/PID/cmdline` gives it (each
/// argument followed by a NUL), read only when [`TrackProcess::uses_cmdline`].
///
/// As keepalived: the name, or with `full_command` the first word of the command line,
/// must equal `process` exactly (no pattern, no path lookup); with arguments to match,
/// `exact` wants exactly those arguments, `partial` those first and any after, and
/// `initial` the same as partial but the last one may be the start of a longer one.
pub fn matches(spec: &TrackProcess, comm: &[u8], cmdline: Option<&[u8]>) -> bool {
    if !spec.uses_cmdline() {
        return comm == spec.process.as_bytes();
    }
    let Some(cmdline) = cmdline else {
        return false;
    };
    let (argv0, rest) = match cmdline.iter().position(|&b| b == 0) {
        Some(i) => (&cmdline[..i], &cmdline[i + 1..]),
        None => (cmdline, &[][..]),
    };
    if argv0 != spec.process.as_bytes() {
        return false;
    }
    let Some(how) = spec
        .param_match
        .or((!spec.args.is_empty()).then_some(ParamMatch::Exact))
    else {
        return true;
    };
    let want: Vec<u8> = spec
        .args
        .iter()
        .flat_map(|a| a.bytes().chain(std::iter::once(0)))
        .collect();
    match how {
        ParamMatch::Exact => rest == want.as_slice(),
        ParamMatch::Partial => rest.starts_with(&want),
        // The last argument without its NUL: it may go on in the process's.
        ParamMatch::Initial => want.is_empty() || rest.starts_with(&want[..want.len() - 1]),
    }
}

/// The quorum of one track process and the delay before a change counts.
#[derive(Debug, Clone)]
pub struct Quorum {
    min: u32,
    max: u32,
    fork_delay: Duration,
    terminate_delay: Duration,
    count: Option<u32>,
    up: Option<bool>,
    /// When the pending change (to `!up`) counts, if the count still says so then.
    pending: Option<Instant>,
}

impl Quorum {
    pub fn new(spec: &TrackProcess) -> Quorum {
        Quorum {
            min: spec.quorum,
            max: spec.quorum_max.unwrap_or(u32::MAX),
            fork_delay: spec.fork_delay.0,
            terminate_delay: spec.terminate_delay.0,
            count: None,
            up: None,
            pending: None,
        }
    }

    /// A definition changed by a reload: the new quorum and delays, the state kept (a
    /// change the new quorum implies waits its delay, as any other).
    pub fn carried(spec: &TrackProcess, prior: &Quorum) -> Quorum {
        Quorum {
            count: prior.count,
            up: prior.up,
            pending: None,
            ..Quorum::new(spec)
        }
    }

    fn satisfied(&self, count: u32) -> bool {
        (self.min..=self.max).contains(&count)
    }

    pub fn up(&self) -> Option<bool> {
        self.up
    }

    pub fn count(&self) -> Option<u32> {
        self.count
    }

    /// When [`Quorum::poll`] has something to do.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending
    }

    /// A scan counted `count` matching processes; returns the new state when it changed.
    /// The first count sets the state at once.
    pub fn observe(&mut self, now: Instant, count: u32) -> Option<bool> {
        let before = self.count.replace(count);
        let want = self.satisfied(count);
        let Some(up) = self.up else {
            self.up = Some(want);
            return Some(want);
        };
        if want == up {
            self.pending = None;
            return None;
        }
        if self.pending.is_some() {
            return self.poll(now);
        }
        let delay = if before.is_some_and(|b| count > b) {
            self.fork_delay
        } else {
            self.terminate_delay
        };
        self.pending = Some(now + delay);
        self.poll(now)
    }

    /// The pending change, once its delay is over and the count still calls for it.
    pub fn poll(&mut self, now: Instant) -> Option<bool> {
        self.pending.filter(|d| *d <= now)?;
        self.pending = None;
        let want = self.satisfied(self.count?);
        if Some(want) == self.up {
            return None;
        }
        self.up = Some(want);
        Some(want)
    }

    /// Why it is up or down, for logs and status.
    pub fn detail(&self, spec: &TrackProcess) -> String {
        let Some(n) = self.count else {
            return "not scanned yet".into();
        };
        let running = match n {
            0 => "no process running".to_string(),
            1 => "1 process running".to_string(),
            n => format!("{n} processes running"),
        };
        format!("{running} (quorum {})", spec.quorum_text())
    }
}

/// One process of a `/proc` scan: its name and, if asked for, its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcEntry {
    pub comm: Vec<u8>,
    pub cmdline: Option<Vec<u8>>,
}

/// The name and state in a `/proc/PID/stat` line: the name is between the first `(`
/// and the last `)` (it may hold either), the state is the word after.
pub fn parse_stat(stat: &[u8]) -> Option<(&[u8], u8)> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    if close < open {
        return None;
    }
    let state = *stat.get(close + 2)?;
    Some((&stat[open + 1..close], state))
}

/// Every live process under `proc` (zombies, which no longer run, left out); command
/// lines only when `cmdline` is set. A process that ends during the scan is skipped.
pub fn scan(proc: &Path, cmdline: bool) -> std::io::Result<Vec<ProcEntry>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(proc)? {
        let Ok(e) = e else { continue };
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let dir = proc.join(pid);
        let Ok(stat) = std::fs::read(dir.join("stat")) else {
            continue;
        };
        let Some((comm, state)) = parse_stat(&stat) else {
            continue;
        };
        if state == b'Z' || state == b'X' {
            continue;
        }
        let cmd = if cmdline {
            match std::fs::read(dir.join("cmdline")) {
                Ok(c) => Some(c),
                Err(_) => continue,
            }
        } else {
            None
        };
        out.push(ProcEntry {
            comm: comm.to_vec(),
            cmdline: cmd,
        });
    }
    Ok(out)
}

/// What `/status` shows of a track process.
#[derive(Debug, Clone, Default)]
pub struct ProcessStatus {
    pub up: Option<bool>,
    pub running: Option<u32>,
    pub quorum: String,
    pub last_scan: Option<SystemTime>,
    pub error: Option<String>,
}

impl ProcessStatus {
    pub fn to_json(&self) -> Value {
        json!({
            "state": match self.up { Some(true) => "ok", Some(false) => "failing", None => "unknown" },
            "running": self.running,
            "quorum": self.quorum,
            "last_scan": self.last_scan.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
            "error": self.error,
        })
    }
}

/// One tracked process: its definition, quorum state and status.
struct Watched {
    spec: TrackProcess,
    quorum: Quorum,
    status: Arc<Mutex<ProcessStatus>>,
}

/// The task that scans `/proc` for every tracked process (one scan, at the shortest
/// `interval`, serves them all).
pub struct ProcWatch {
    specs: Vec<TrackProcess>,
    states: Arc<Mutex<BTreeMap<String, Quorum>>>,
    pub statuses: BTreeMap<String, Arc<Mutex<ProcessStatus>>>,
    task: JoinHandle<()>,
}

impl Drop for ProcWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ProcWatch {
    /// Starts watching `specs` (sorted by name). The states of a previous watch are
    /// carried over for definitions still present, so a reload does not flap them.
    pub fn start(
        specs: Vec<TrackProcess>,
        proc: &Path,
        hub: TrackHub,
        metrics: TrackMetrics,
        prior: Option<ProcWatch>,
    ) -> ProcWatch {
        let old: BTreeMap<String, Quorum> = prior
            .as_ref()
            .and_then(|p| p.states.lock().ok().map(|s| s.clone()))
            .unwrap_or_default();
        drop(prior);
        let mut statuses = BTreeMap::new();
        let watched: Vec<Watched> = specs
            .iter()
            .map(|s| {
                let quorum = match old.get(&s.name) {
                    Some(q) => Quorum::carried(s, q),
                    None => Quorum::new(s),
                };
                let status = Arc::new(Mutex::new(ProcessStatus {
                    up: quorum.up(),
                    running: quorum.count(),
                    quorum: s.quorum_text(),
                    ..ProcessStatus::default()
                }));
                statuses.insert(s.name.clone(), status.clone());
                Watched {
                    spec: s.clone(),
                    quorum,
                    status,
                }
            })
            .collect();
        let states = Arc::new(Mutex::new(
            watched
                .iter()
                .map(|w| (w.spec.name.clone(), w.quorum.clone()))
                .collect(),
        ));
        let task = tokio::spawn(run(
            watched,
            proc.to_path_buf(),
            hub,
            metrics,
            states.clone(),
        ));
        ProcWatch {
            specs,
            states,
            statuses,
            task,
        }
    }

    pub fn specs(&self) -> &[TrackProcess] {
        &self.specs
    }
}

async fn run(
    mut watched: Vec<Watched>,
    proc: std::path::PathBuf,
    hub: TrackHub,
    metrics: TrackMetrics,
    states: Arc<Mutex<BTreeMap<String, Quorum>>>,
) {
    let Some(interval) = watched.iter().map(|w| w.spec.interval.0).min() else {
        return;
    };
    let cmdline = watched.iter().any(|w| w.spec.uses_cmdline());
    // Carried states are published again (the hub lost them with the old watch's keys
    // only if a definition was removed; re-publishing an unchanged one is a no-op).
    for w in &watched {
        if let Some(up) = w.quorum.up() {
            hub.set(
                &process_key(&w.spec.name),
                Some(up),
                &w.quorum.detail(&w.spec),
            );
        }
    }
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut scan_error: Option<String> = None;
    loop {
        let deadline = watched.iter().filter_map(|w| w.quorum.deadline()).min();
        let scanned = tokio::select! {
            _ = tick.tick() => true,
            _ = sleep_until(deadline) => false,
        };
        let now = Instant::now();
        if scanned {
            let dir = proc.clone();
            let entries = tokio::task::spawn_blocking(move || scan(&dir, cmdline))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))
                .and_then(|r| r);
            match entries {
                Ok(entries) => {
                    if scan_error.take().is_some() {
                        tracing::info!("track processes: {} can be read again", proc.display());
                    }
                    for w in watched.iter_mut() {
                        let n = entries
                            .iter()
                            .filter(|e| matches(&w.spec, &e.comm, e.cmdline.as_deref()))
                            .count();
                        let n = u32::try_from(n).unwrap_or(u32::MAX);
                        let changed = w.quorum.observe(now, n);
                        metrics
                            .process_running
                            .with_label_values(&[&w.spec.name])
                            .set(i64::from(n));
                        if let Ok(mut st) = w.status.lock() {
                            st.running = Some(n);
                            st.last_scan = Some(SystemTime::now());
                            st.error = None;
                        }
                        report(w, changed, &hub, &metrics);
                    }
                }
                Err(e) => {
                    // Nothing is known: every tracked process counts as failing, as a
                    // script that cannot run does.
                    let why = format!("cannot read {}: {e}", proc.display());
                    if scan_error.as_deref() != Some(why.as_str()) {
                        tracing::error!("track processes: {why}; they count as failing");
                    }
                    for w in watched.iter_mut() {
                        if let Ok(mut st) = w.status.lock() {
                            st.error = Some(why.clone());
                        }
                        if w.quorum.up() != Some(false) {
                            w.quorum.up = Some(false);
                            w.quorum.pending = None;
                            metrics.process_up.with_label_values(&[&w.spec.name]).set(0);
                            hub.set(&process_key(&w.spec.name), Some(false), &why);
                            if let Ok(mut st) = w.status.lock() {
                                st.up = Some(false);
                            }
                        }
                    }
                    scan_error = Some(why);
                }
            }
        } else {
            for w in watched.iter_mut() {
                let changed = w.quorum.poll(now);
                report(w, changed, &hub, &metrics);
            }
        }
        if let Ok(mut s) = states.lock() {
            for w in &watched {
                s.insert(w.spec.name.clone(), w.quorum.clone());
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// Publishes a change of state (and logs it once).
fn report(w: &Watched, changed: Option<bool>, hub: &TrackHub, metrics: &TrackMetrics) {
    let name = &w.spec.name;
    let detail = w.quorum.detail(&w.spec);
    if let Ok(mut st) = w.status.lock() {
        st.up = w.quorum.up();
    }
    let Some(up) = changed else {
        return;
    };
    if up {
        tracing::info!(process = %name, "track process {name} is now OK: {detail}");
    } else {
        tracing::warn!(process = %name, "track process {name} is now FAILING: {detail}");
    }
    metrics
        .process_up
        .with_label_values(&[name])
        .set(i64::from(up));
    hub.set(&process_key(name), Some(up), &detail);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::types::Dur;

    fn spec(process: &str) -> TrackProcess {
        TrackProcess {
            name: "p".into(),
            process: process.into(),
            args: Vec::new(),
            param_match: None,
            full_command: false,
            quorum: 1,
            quorum_max: None,
            fork_delay: Dur::ZERO,
            terminate_delay: Dur::ZERO,
            interval: Dur::secs(1),
            weight: 0,
            reverse: false,
        }
    }

    #[test]
    fn the_name_matches_exactly_not_as_a_pattern() {
        let s = spec("mysqld");
        assert!(matches(&s, b"mysqld", None));
        assert!(!matches(&s, b"mysqld_safe", None));
        assert!(!matches(&s, b"mysql", None));
        assert!(!matches(&s, b"MYSQLD", None));
    }

    #[test]
    fn full_command_compares_the_first_word_of_the_command_line() {
        let s = TrackProcess {
            full_command: true,
            ..spec("/usr/sbin/mariadbd")
        };
        assert!(matches(
            &s,
            b"mariadbd",
            Some(b"/usr/sbin/mariadbd\0--user=mysql\0")
        ));
        assert!(!matches(&s, b"mariadbd", Some(b"mariadbd\0")));
        assert!(!matches(&s, b"mariadbd", None));
        // A kernel thread has an empty command line.
        assert!(!matches(&s, b"kthreadd", Some(b"")));
    }

    #[test]
    fn arguments_match_exactly_by_default() {
        let s = TrackProcess {
            args: vec!["-f".into(), "/etc/a.cfg".into()],
            ..spec("haproxy")
        };
        assert!(matches(&s, b"haproxy", Some(b"haproxy\0-f\0/etc/a.cfg\0")));
        assert!(!matches(
            &s,
            b"haproxy",
            Some(b"haproxy\0-f\0/etc/a.cfg\0-D\0")
        ));
        assert!(!matches(
            &s,
            b"haproxy",
            Some(b"haproxy\0-f\0/etc/a.cfgx\0")
        ));
        assert!(!matches(&s, b"haproxy", Some(b"haproxy\0-f\0")));
    }

    #[test]
    fn partial_and_initial_argument_matches() {
        let partial = TrackProcess {
            args: vec!["-f".into(), "/etc/a".into()],
            param_match: Some(ParamMatch::Partial),
            ..spec("haproxy")
        };
        assert!(matches(&partial, b"", Some(b"haproxy\0-f\0/etc/a\0-D\0")));
        assert!(!matches(&partial, b"", Some(b"haproxy\0-f\0/etc/a.cfg\0")));
        let initial = TrackProcess {
            param_match: Some(ParamMatch::Initial),
            ..partial.clone()
        };
        assert!(matches(&initial, b"", Some(b"haproxy\0-f\0/etc/a.cfg\0")));
        assert!(matches(&initial, b"", Some(b"haproxy\0-f\0/etc/a\0-D\0")));
        assert!(!matches(&initial, b"", Some(b"haproxy\0-g\0/etc/a\0")));
        // `exact` without arguments: the command must have none.
        let bare = TrackProcess {
            param_match: Some(ParamMatch::Exact),
            ..spec("sleep")
        };
        assert!(matches(&bare, b"", Some(b"sleep\0")));
        assert!(!matches(&bare, b"", Some(b"sleep\x0060\0")));
    }

    #[test]
    fn stat_lines_with_odd_names() {
        assert_eq!(
            parse_stat(b"123 (mysqld) S 1 123"),
            Some((&b"mysqld"[..], b'S'))
        );
        assert_eq!(parse_stat(b"9 (a) (b)) Z 1"), Some((&b"a) (b)"[..], b'Z')));
        assert_eq!(parse_stat(b"9 mysqld S"), None);
        assert_eq!(parse_stat(b"9 (x)"), None);
    }

    #[test]
    fn the_first_count_sets_the_state_at_once() {
        let t = Instant::now();
        let mut q = Quorum::new(&spec("x"));
        assert_eq!(q.observe(t, 0), Some(false));
        assert_eq!(q.observe(t, 0), None);
        assert_eq!(q.observe(t, 2), Some(true));
        assert_eq!(q.observe(t, 1), None);
        assert_eq!(q.observe(t, 0), Some(false));
    }

    #[test]
    fn quorum_max_makes_too_many_processes_a_failure() {
        let t = Instant::now();
        let s = TrackProcess {
            quorum: 2,
            quorum_max: Some(3),
            ..spec("x")
        };
        let mut q = Quorum::new(&s);
        assert_eq!(q.observe(t, 1), Some(false));
        assert_eq!(q.observe(t, 2), Some(true));
        assert_eq!(q.observe(t, 3), None);
        assert_eq!(q.observe(t, 4), Some(false));
        assert_eq!(q.detail(&s), "4 processes running (quorum 2..3)");
        // `quorum_max: 0`: up while none runs.
        let none = TrackProcess {
            quorum: 0,
            quorum_max: Some(0),
            ..spec("x")
        };
        let mut q = Quorum::new(&none);
        assert_eq!(q.observe(t, 0), Some(true));
        assert_eq!(q.observe(t, 1), Some(false));
    }

    #[test]
    fn a_lost_quorum_waits_the_terminate_delay_and_a_quick_restart_does_not_count() {
        let t = Instant::now();
        let s = TrackProcess {
            fork_delay: Dur(Duration::from_secs(2)),
            terminate_delay: Dur(Duration::from_secs(5)),
            ..spec("x")
        };
        let mut q = Quorum::new(&s);
        assert_eq!(q.observe(t, 1), Some(true));
        // The process ends: down only after 5s.
        assert_eq!(q.observe(t + Duration::from_secs(1), 0), None);
        assert_eq!(q.deadline(), Some(t + Duration::from_secs(6)));
        assert_eq!(q.poll(t + Duration::from_secs(5)), None);
        // Restarted within the delay: the pending change is dropped.
        assert_eq!(q.observe(t + Duration::from_secs(5), 1), None);
        assert_eq!(q.deadline(), None);
        assert_eq!(q.poll(t + Duration::from_secs(7)), None);
        assert_eq!(q.up(), Some(true));
        // Gone for good: down when the delay is over.
        assert_eq!(q.observe(t + Duration::from_secs(8), 0), None);
        assert_eq!(q.poll(t + Duration::from_secs(13)), Some(false));
        // Back: up after the fork delay; a second scan in between does not extend it.
        assert_eq!(q.observe(t + Duration::from_secs(20), 1), None);
        assert_eq!(q.observe(t + Duration::from_secs(21), 1), None);
        assert_eq!(q.deadline(), Some(t + Duration::from_secs(22)));
        assert_eq!(q.observe(t + Duration::from_secs(22), 1), Some(true));
    }

    #[test]
    fn a_reload_keeps_the_state_and_applies_the_new_quorum_with_its_delay() {
        let t = Instant::now();
        let mut q = Quorum::new(&spec("x"));
        assert_eq!(q.observe(t, 1), Some(true));
        let stricter = TrackProcess {
            quorum: 2,
            terminate_delay: Dur(Duration::from_secs(3)),
            ..spec("x")
        };
        let mut q = Quorum::carried(&stricter, &q);
        assert_eq!(q.up(), Some(true));
        assert_eq!(q.observe(t + Duration::from_secs(1), 1), None);
        assert_eq!(q.poll(t + Duration::from_secs(4)), Some(false));
    }

    /// A real process under a name of its own: counted by its name, by its command
    /// line with `full_command` and `args`, and no longer once it has exited (a zombie
    /// not yet reaped does not count).
    #[test]
    fn a_scan_counts_a_started_process_by_name_and_by_command_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tag = std::process::id() % 100_000;
        let name = format!("tkunit{tag}");
        let bin = dir.path().join(&name);
        std::fs::copy("/bin/sleep", &bin).expect("copy sleep");
        let mut child = std::process::Command::new(&bin)
            .arg("600")
            .spawn()
            .expect("spawn");
        let count = |s: &TrackProcess| {
            scan(Path::new("/proc"), s.uses_cmdline())
                .expect("scan")
                .iter()
                .filter(|e| matches(s, &e.comm, e.cmdline.as_deref()))
                .count()
        };
        let by_name = spec(&name);
        let path = bin.to_string_lossy().into_owned();
        let by_args = TrackProcess {
            args: vec!["600".into()],
            ..spec(&path)
        };
        let wrong_args = TrackProcess {
            args: vec!["60".into()],
            ..spec(&path)
        };
        let initial = TrackProcess {
            param_match: Some(ParamMatch::Initial),
            ..wrong_args.clone()
        };
        assert_eq!(count(&by_name), 1);
        assert_eq!(count(&by_args), 1);
        assert_eq!(count(&wrong_args), 0);
        assert_eq!(count(&initial), 1);
        let _ = child.kill();
        // Killed but not reaped: a zombie, which no longer runs.
        let gone = (0..200).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            count(&by_name) == 0
        });
        assert!(gone);
        let _ = child.wait();
    }

    #[test]
    fn a_scan_of_this_machine_finds_this_test() {
        let me = scan(Path::new("/proc"), true).expect("scan /proc");
        let exe = std::fs::read("/proc/self/comm").expect("comm");
        let comm = exe.strip_suffix(b"\n").unwrap_or(&exe);
        assert!(me.iter().any(|e| e.comm == comm && e.cmdline.is_some()));
    }
}
