//! Track scripts (keepalived `vrrp_script`): run every `interval`, never two at once; the
//! result, through rise/fall hysteresis, is published in the hub. A run that timed out
//! counts as failing at once; if its killed process lingers (uninterruptible sleep), no
//! new run starts until it has exited (they would pile up), and every interval until
//! then counts as failing too.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::hysteresis::Hysteresis;
use super::process::{self, Outcome};
use super::{TrackHub, script_key, security};
use crate::config::model::TrackScript;

#[derive(Clone)]
pub struct TrackMetrics {
    pub script_runs: IntCounterVec,
    pub script_up: IntGaugeVec,
    pub interface_up: IntGaugeVec,
    pub process_up: IntGaugeVec,
    pub process_running: IntGaugeVec,
}

impl TrackMetrics {
    pub fn register(r: &Registry) -> prometheus::Result<TrackMetrics> {
        let script_runs = IntCounterVec::new(
            Opts::new(
                "tandem_track_script_runs_total",
                "Track script runs by result: ok, fail, signal, timeout, exec_error, unsafe, \
                 stuck (not started: the previous run, killed after timing out, has not exited).",
            ),
            &["script", "result"],
        )?;
        let script_up = IntGaugeVec::new(
            Opts::new(
                "tandem_track_script_up",
                "1 while the track script counts as succeeding (after rise/fall).",
            ),
            &["script"],
        )?;
        let interface_up = IntGaugeVec::new(
            Opts::new(
                "tandem_track_interface_up",
                "1 while a tracked interface is up with carrier.",
            ),
            &["interface"],
        )?;
        let process_up = IntGaugeVec::new(
            Opts::new(
                "tandem_track_process_up",
                "1 while the track process has its quorum of running processes (after the delays).",
            ),
            &["process"],
        )?;
        let process_running = IntGaugeVec::new(
            Opts::new(
                "tandem_track_process_running_processes",
                "Running processes that match the track process, at the last scan of /proc.",
            ),
            &["process"],
        )?;
        r.register(Box::new(script_runs.clone()))?;
        r.register(Box::new(script_up.clone()))?;
        r.register(Box::new(interface_up.clone()))?;
        r.register(Box::new(process_up.clone()))?;
        r.register(Box::new(process_running.clone()))?;
        Ok(TrackMetrics {
            script_runs,
            script_up,
            interface_up,
            process_up,
            process_running,
        })
    }
}

/// What `/status` shows of a script.
#[derive(Debug, Clone, Default)]
pub struct ScriptStatus {
    pub up: Option<bool>,
    pub runs: u64,
    pub failures: u64,
    pub last_run: Option<SystemTime>,
    pub last_result: String,
    pub last_output: String,
    pub last_took_ms: u64,
}

impl ScriptStatus {
    pub fn to_json(&self) -> Value {
        json!({
            "state": match self.up { Some(true) => "ok", Some(false) => "failing", None => "unknown" },
            "runs": self.runs,
            "failures": self.failures,
            "last_run": self.last_run.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
            "last_result": self.last_result,
            "last_output": self.last_output,
            "last_took_ms": self.last_took_ms,
        })
    }
}

pub struct ScriptTracker {
    pub config: TrackScript,
    pub status: Arc<Mutex<ScriptStatus>>,
    /// The rise/fall state, carried over when a reload changes the definition.
    hyst: Arc<Mutex<Hysteresis>>,
    /// The last run, killed after timing out, while its process has not exited yet;
    /// carried over with the state, so a changed definition does not start another.
    lingering: Arc<Mutex<Option<process::Reaping>>>,
    /// `None` only once a changed definition's tracker took it over (see `spawn`).
    task: Option<JoinHandle<()>>,
}

/// Whether two definitions run the same way (the weight and its direction only matter
/// to the VRRP instances, which apply a changed weight themselves).
pub fn same_run(a: &TrackScript, b: &TrackScript) -> bool {
    let mut b = b.clone();
    b.weight = a.weight;
    b.reverse = a.reverse;
    *a == b
}

impl Drop for ScriptTracker {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

impl ScriptTracker {
    /// Starts a script. `prior` is the running tracker of the same name whose definition
    /// changed: it is stopped, and the new one goes on from its state (see
    /// `Hysteresis::carried`) and counters instead of starting over.
    pub fn spawn(
        cfg: TrackScript,
        security: bool,
        hub: TrackHub,
        metrics: TrackMetrics,
        prior: Option<ScriptTracker>,
    ) -> ScriptTracker {
        let (status, lingering, hyst, before) = match prior {
            Some(mut p) => {
                let old = p.task.take();
                if let Some(t) = &old {
                    t.abort();
                }
                let h = p
                    .hyst
                    .lock()
                    .map(|h| h.carried(cfg.rise, cfg.fall))
                    .unwrap_or_else(|_| Hysteresis::new(cfg.rise, cfg.fall));
                (
                    p.status.clone(),
                    p.lingering.clone(),
                    h,
                    Some((old, p.hyst.clone())),
                )
            }
            None => (
                Arc::new(Mutex::new(ScriptStatus::default())),
                Arc::new(Mutex::new(None)),
                Hysteresis::new(cfg.rise, cfg.fall),
                None,
            ),
        };
        let hyst = Arc::new(Mutex::new(hyst));
        let task = tokio::spawn({
            let (cfg, status, hyst) = (cfg.clone(), status.clone(), hyst.clone());
            let lingering = lingering.clone();
            async move {
                // An abort takes effect at the old task's next await: until it is gone it
                // may still record (and publish) a result that was just in. Carry its
                // final state, not the one read above.
                if let Some((old, prior)) = before {
                    if let Some(t) = old {
                        let _ = t.await;
                    }
                    if let Ok(p) = prior.lock()
                        && let Ok(mut h) = hyst.lock()
                    {
                        *h = p.carried(cfg.rise, cfg.fall);
                    }
                }
                run(cfg, security, hub, metrics, status, hyst, lingering).await
            }
        });
        ScriptTracker {
            config: cfg,
            status,
            hyst,
            lingering,
            task: Some(task),
        }
    }

    /// The state it counts as now: `None` before its first result.
    pub fn up(&self) -> Option<bool> {
        self.hyst.lock().ok().and_then(|h| h.up())
    }
}

async fn run(
    cfg: TrackScript,
    security_on: bool,
    hub: TrackHub,
    metrics: TrackMetrics,
    status: Arc<Mutex<ScriptStatus>>,
    shared: Arc<Mutex<Hysteresis>>,
    lingering: Arc<Mutex<Option<process::Reaping>>>,
) {
    let key = script_key(&cfg.name);
    let argv = cfg.argv();
    let mut hyst = shared
        .lock()
        .map(|h| h.clone())
        .unwrap_or_else(|_| Hysteresis::new(cfg.rise, cfg.fall));
    let id = process::identity(cfg.user.as_deref(), cfg.group.as_deref());
    // The last reason the script could not be run, warned about once (not every
    // interval) until it runs again.
    let mut exec_error: Option<String> = None;
    let mut tick = tokio::time::interval(cfg.interval.get());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // A new run does not start while the last one, killed after timing out, has not
        // exited: stuck processes (uninterruptible sleep) would pile up one per interval.
        let waiting = lingering
            .lock()
            .map(|mut l| {
                if l.as_ref().is_some_and(|r| r.done()) {
                    *l = None;
                }
                l.is_some()
            })
            .unwrap_or(false);
        let (outcome, output, took) = match (&id, security_on) {
            _ if waiting => (Outcome::PreviousNotExited, String::new(), Duration::ZERO),
            (Err(e), _) => (
                Outcome::ExecFailed(e.clone()),
                String::new(),
                Duration::ZERO,
            ),
            (Ok(id), sec) => {
                let unsafe_path = if sec {
                    security::check_command(&argv, id.uid, id.gid).err()
                } else {
                    None
                };
                match unsafe_path {
                    Some(why) => (
                        Outcome::ExecFailed(format!("refused by script_security: {why}")),
                        String::new(),
                        Duration::ZERO,
                    ),
                    None => {
                        let (r, reaping) =
                            process::run_reaping(&argv, *id, cfg.timeout.get()).await;
                        if let Ok(mut l) = lingering.lock() {
                            *l = reaping;
                        }
                        (r.outcome, r.output, r.took)
                    }
                }
            }
        };
        let ok = outcome.ok();
        let kind = if matches!(&outcome, Outcome::ExecFailed(w) if w.starts_with("refused by script_security"))
        {
            "unsafe"
        } else {
            outcome.kind()
        };
        metrics
            .script_runs
            .with_label_values(&[&cfg.name, kind])
            .inc();
        tracing::debug!(script = %cfg.name, result = kind, took_ms = took.as_millis() as u64, output = %output.trim_end(), "track script {} {outcome}", cfg.name);
        let before = hyst.progress();
        let changed = hyst.observe(ok);
        if let Ok(mut h) = shared.lock() {
            *h = hyst.clone();
        }
        if let Ok(mut st) = status.lock() {
            st.runs += 1;
            if !ok {
                st.failures += 1;
            }
            st.last_run = Some(SystemTime::now());
            st.last_result = outcome.to_string();
            st.last_output = output.clone();
            st.last_took_ms = took.as_millis() as u64;
            st.up = hyst.up();
        }
        // A script that cannot be run at all is worth a warning of its own, once per
        // cause, also when it was failing already (the state-change line below says it
        // when the state changes).
        let cannot_run = match &outcome {
            Outcome::ExecFailed(why) => Some(why.clone()),
            _ => None,
        };
        if cannot_run.is_some() && cannot_run != exec_error && changed != Some(false) {
            tracing::warn!(script = %cfg.name, result = kind, "track script {} {outcome} (counts as failing)", cfg.name);
        }
        exec_error = cannot_run;
        if let Some(up) = changed {
            let (n, of) = (before.0 + 1, before.1);
            let detail = if up {
                "succeeding".to_string()
            } else {
                outcome.to_string()
            };
            if up {
                tracing::info!(script = %cfg.name, "track script {} is now OK ({n}/{of} successes)", cfg.name);
            } else {
                tracing::warn!(script = %cfg.name, result = kind, "track script {} is now FAILING: {outcome} ({n}/{of} failures)", cfg.name);
            }
            metrics
                .script_up
                .with_label_values(&[&cfg.name])
                .set(i64::from(up));
            hub.set(&key, Some(up), &detail);
        } else if hyst.up() == Some(false) && !ok {
            // Keep the reason current while failing.
            hub.set(&key, Some(false), &outcome.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::types::{Command, Dur};

    fn slow(rise: u32, fall: u32) -> TrackScript {
        TrackScript {
            name: "chk".into(),
            command: Command(vec!["/bin/sleep".into(), "60".into()]),
            shell: false,
            interval: Dur::secs(60),
            timeout: Dur::secs(120),
            rise,
            fall,
            weight: 0,
            reverse: false,
            user: None,
            group: None,
        }
    }

    /// The tracker replacing a changed definition goes on from the state its predecessor
    /// had when it was really gone: a result the old task recorded after the reload read
    /// its state (the abort not effective yet) is carried, not lost.
    #[tokio::test]
    async fn a_changed_script_carries_the_final_state_of_the_old_one() {
        let hub = TrackHub::new();
        let metrics = match TrackMetrics::register(&Registry::new()) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        };
        let old = ScriptTracker::spawn(slow(1, 1), false, hub.clone(), metrics.clone(), None);
        if let Ok(mut h) = old.hyst.lock() {
            h.observe(true);
        }
        let old_state = old.hyst.clone();
        let new = ScriptTracker::spawn(slow(1, 3), false, hub, metrics, Some(old));
        // What the old task does with a result that came in just before its abort
        // took effect: the script went down.
        if let Ok(mut h) = old_state.lock() {
            h.observe(false);
        }
        let mut carried = None;
        for _ in 0..250 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            carried = new.up();
            if carried == Some(false) {
                break;
            }
        }
        assert_eq!(
            carried,
            Some(false),
            "the old tracker's last result was lost"
        );
    }

    /// A run that timed out and whose killed process does not exit (simulated: it left
    /// its process group, as a process in uninterruptible sleep would ignore the kill)
    /// does not block the tracker: the timeout is reported at once, and every interval
    /// after it counts as failing without starting another process, until the lingering
    /// one has exited; then the script runs again.
    #[tokio::test]
    async fn a_timed_out_run_that_does_not_exit_does_not_block_the_tracker() {
        let dir = tempfile::tempdir().expect("tempdir");
        let starts = dir.path().join("starts");
        let release = dir.path().join("release");
        let cfg = TrackScript {
            command: Command(vec![
                "perl".into(),
                "-e".into(),
                process::LINGERING.into(),
                starts.display().to_string(),
                release.display().to_string(),
            ]),
            interval: Dur::millis(50),
            timeout: Dur::millis(300),
            ..slow(1, 1)
        };
        let metrics = match TrackMetrics::register(&Registry::new()) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        };
        let t = ScriptTracker::spawn(cfg, false, TrackHub::new(), metrics.clone(), None);
        let status = |t: &ScriptTracker| {
            t.status
                .lock()
                .map(|s| (s.runs, s.last_result.clone()))
                .unwrap_or_default()
        };
        let started = || {
            std::fs::read_to_string(&starts)
                .map(|s| s.lines().map(str::to_string).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let mut first = None;
        for _ in 0..1000 {
            if first.is_none() {
                first = started().first().and_then(|p| p.parse::<i32>().ok());
            }
            if status(&t).0 >= 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let pid = first.expect("the script started");
        let _cleanup = KillOnDrop(pid);
        let count = |result: &str| {
            metrics
                .script_runs
                .with_label_values(&["chk", result])
                .get()
        };
        assert_eq!(count("timeout"), 1, "{:?}", status(&t));
        assert_eq!(t.up(), Some(false));
        // It keeps reporting while the killed process lingers, without starting another.
        for _ in 0..1000 {
            if status(&t).0 >= 5 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (runs, last) = status(&t);
        assert!(runs >= 5, "the tracker stopped reporting after {runs} runs");
        assert!(last.contains("has not exited yet"), "{last}");
        assert_eq!(t.up(), Some(false));
        assert_eq!(started().len(), 1, "another run started: {:?}", started());
        assert!(count("stuck") >= 4, "{}", count("stuck"));
        assert_eq!(count("timeout"), 1);
        // Once it has exited, the script runs (and succeeds) again.
        std::fs::write(&release, "").expect("release");
        for _ in 0..1000 {
            if t.up() == Some(true) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(t.up(), Some(true), "{:?}", status(&t));
        assert!(started().len() >= 2);
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.contains(") Z "))
            .unwrap_or(false);
        assert!(!zombie, "{pid} left as a zombie");
    }

    /// Kills a process a test left behind, also when an assertion fails.
    struct KillOnDrop(i32);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.0),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }

    /// Collects what is logged on this thread.
    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(b);
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A failing script that then cannot be executed at all (removed) says so with a
    /// warning, once, not every interval, and the warning names the missing file.
    #[test]
    fn a_script_that_cannot_be_executed_is_warned_about_once() {
        let logs = Logs::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => panic!("{e}"),
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("chk.sh");
        std::fs::write(&path, "#!/bin/sh\nexit 1\n").expect("write");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let cfg = TrackScript {
            command: Command(vec![path.display().to_string()]),
            interval: Dur::millis(20),
            timeout: Dur::secs(5),
            ..slow(1, 1)
        };
        let runs = |t: &ScriptTracker| t.status.lock().map(|s| s.runs).unwrap_or(0);
        rt.block_on(async {
            let metrics = match TrackMetrics::register(&Registry::new()) {
                Ok(m) => m,
                Err(e) => panic!("{e}"),
            };
            let t = ScriptTracker::spawn(cfg, false, TrackHub::new(), metrics, None);
            for _ in 0..500 {
                if runs(&t) >= 2 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(t.up(), Some(false), "the script fails first");
            std::fs::remove_file(&path).expect("rm");
            let from = runs(&t);
            for _ in 0..500 {
                if runs(&t) >= from + 6 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert!(runs(&t) >= from + 6, "the script stopped running");
        });
        let text = logs
            .0
            .lock()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default();
        let warned: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("WARN") && l.contains("cannot be executed"))
            .collect();
        assert_eq!(warned.len(), 1, "{text}");
        assert!(warned[0].contains("chk.sh"), "{text}");
    }
}
