//! Notify hooks and the notify FIFO. Hooks run asynchronously, one at a time and in order
//! per instance, each bounded by `notify.timeout`; the state machine never waits for them.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::machine::State;
use crate::config::types::Command;
use crate::config::vrrp::Notify;
use crate::track::process;

/// Transitions waiting for their hooks; beyond this, new ones are dropped (and logged).
const QUEUE: usize = 64;

/// The state word hooks and the FIFO get (keepalived's).
pub fn state_word(to: State, shutdown: bool) -> &'static str {
    match to {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Init if shutdown => "STOP",
        State::Init => "INIT",
    }
}

/// The hooks of one `notify` config, with the identity they run as.
struct Hooks {
    cfg: Notify,
    id: Result<process::Identity, String>,
}

impl Hooks {
    fn new(cfg: Notify) -> Arc<Hooks> {
        let id = process::identity(cfg.user.as_deref(), cfg.group.as_deref());
        Arc::new(Hooks { cfg, id })
    }
}

struct Event {
    word: &'static str,
    priority: u8,
    /// The hooks configured when the transition happened (a reload in between does not
    /// change what a queued transition runs).
    hooks: Arc<Hooks>,
}

/// One instance's hook runner.
pub struct Notifier {
    tx: mpsc::Sender<Event>,
    instance: String,
    task: tokio::task::JoinHandle<()>,
    hooks: Arc<Hooks>,
    fifo: FifoSlot,
}

impl Notifier {
    pub fn spawn(instance: &str, cfg: Notify, fifo: FifoSlot) -> Notifier {
        let (tx, mut rx) = mpsc::channel::<Event>(QUEUE);
        let name = instance.to_string();
        let task = tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                let cfg = &ev.hooks.cfg;
                let specific = match ev.word {
                    "MASTER" => cfg.master.as_ref(),
                    "BACKUP" => cfg.backup.as_ref(),
                    "FAULT" => cfg.fault.as_ref(),
                    "STOP" => cfg.stop.as_ref(),
                    _ => None,
                };
                for (kind, cmd) in [("notify", specific), (ANY, cfg.any.as_ref())] {
                    let Some(cmd) = cmd else { continue };
                    run_hook(
                        &name,
                        kind,
                        cmd,
                        &ev.hooks.id,
                        ev.word,
                        ev.priority,
                        cfg.timeout.get(),
                    )
                    .await;
                }
            }
        });
        Notifier {
            tx,
            instance: instance.to_string(),
            task,
            hooks: Hooks::new(cfg),
            fifo,
        }
    }

    /// A reload changed the hooks: later transitions run the new ones, in place (the
    /// instance keeps its state). Returns whether anything changed.
    pub fn set_config(&mut self, cfg: Notify) -> bool {
        if self.hooks.cfg == cfg {
            return false;
        }
        self.hooks = Hooks::new(cfg);
        true
    }

    /// Runs what is queued (the STOP hooks on shutdown), bounded by the hook timeout per
    /// queued hook. Past the bound — or when this future is dropped, e.g. the instance
    /// task is aborted — the hook runner is aborted, which kills a running hook's whole
    /// process group (see `process::run`).
    pub async fn finish(self) {
        let pending = QUEUE as u32 - self.tx.capacity() as u32;
        drop(self.tx);
        let limit = self.hooks.cfg.timeout.get() * 2 * (pending + 1) + Duration::from_secs(1);
        let mut task = AbortOnDrop(self.task);
        let _ = tokio::time::timeout(limit, &mut task.0).await;
    }

    /// Writes the FIFO line at once (never waiting for hooks still running) and queues
    /// the hooks for a transition; never blocks.
    pub fn notify(&self, to: State, shutdown: bool, priority: u8) {
        let word = state_word(to, shutdown);
        self.fifo.write(&format!(
            "INSTANCE \"{}\" {word} {priority}\n",
            self.instance
        ));
        let ev = Event {
            word,
            priority,
            hooks: self.hooks.clone(),
        };
        if self.tx.try_send(ev).is_err() {
            tracing::warn!(instance = %self.instance, "({}) notify queue full: hooks for this transition are skipped", self.instance);
        }
    }
}

/// Aborts the task when dropped (a no-op once it finished).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The kind of the generic hook (`notify.any`, keepalived's `notify`).
const ANY: &str = "notify any";

async fn run_hook(
    instance: &str,
    kind: &str,
    cmd: &Command,
    id: &Result<process::Identity, String>,
    word: &str,
    priority: u8,
    timeout: std::time::Duration,
) {
    let mut argv = cmd.0.clone();
    // As keepalived: `notify_master`, `notify_backup`, `notify_fault` and `notify_stop`
    // run exactly as written; only the generic `notify` (`any`) gets the transition
    // appended, so a migrated `notify.sh master` that checks its arguments keeps working.
    if kind == ANY {
        argv.extend([
            "INSTANCE".to_string(),
            instance.to_string(),
            word.to_string(),
            priority.to_string(),
        ]);
    }
    let id = match id {
        Ok(i) => *i,
        Err(e) => {
            tracing::error!(
                instance,
                "({instance}) {kind} hook {} not run: {e}",
                cmd.program()
            );
            return;
        }
    };
    let r = process::run(&argv, id, timeout).await;
    if r.outcome.ok() {
        tracing::debug!(instance, output = %r.output.trim_end(), "({instance}) {kind} hook {} for {word} succeeded", cmd.program());
    } else {
        tracing::warn!(instance, output = %r.output.trim_end(), "({instance}) {kind} hook {} for {word} {}", cmd.program(), r.outcome);
    }
}

/// keepalived's notify FIFO: one line per transition. The FIFO is held open read-write,
/// as keepalived does, so lines wait in the pipe for a reader that comes later; when the
/// pipe is full, new lines are dropped rather than blocking.
#[derive(Clone)]
pub struct Fifo {
    path: PathBuf,
    file: Option<std::sync::Arc<std::fs::File>>,
}

impl Fifo {
    /// Creates the FIFO (mode 0600) if it does not exist, and opens it.
    pub fn open(path: PathBuf) -> Fifo {
        if !path.exists()
            && let Err(e) =
                nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
        {
            tracing::error!("cannot create notify FIFO {}: {e}", path.display());
        }
        // Not through a symbolic link (as keepalived), and only a FIFO: lines written into
        // a regular file that happens to have the name would overwrite it from the start.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(&path)
            .and_then(|f| {
                use std::os::unix::fs::FileTypeExt;
                if f.metadata()?.file_type().is_fifo() {
                    Ok(f)
                } else {
                    Err(std::io::Error::other("it exists and is not a FIFO"))
                }
            });
        let file = match file {
            Ok(f) => Some(std::sync::Arc::new(f)),
            Err(e) => {
                let e = match e.raw_os_error() {
                    Some(libc::ELOOP) => "it is a symbolic link".to_string(),
                    _ => e.to_string(),
                };
                tracing::error!("cannot open notify FIFO {}: {e}", path.display());
                None
            }
        };
        Fifo { path, file }
    }

    fn write(&self, line: &str) {
        let Some(f) = &self.file else { return };
        if let Err(e) = (&**f).write_all(line.as_bytes()) {
            tracing::warn!("notify FIFO {}: line dropped: {e}", self.path.display());
        }
    }
}

/// The notify FIFO every instance writes to; a reload may open another one (or none) in
/// place, without restarting the instances. Cheap to clone.
#[derive(Clone, Default)]
pub struct FifoSlot(Arc<Mutex<Option<Fifo>>>);

impl FifoSlot {
    pub fn new(fifo: Option<Fifo>) -> FifoSlot {
        FifoSlot(Arc::new(Mutex::new(fifo)))
    }

    /// The FIFO's path, if one is configured.
    pub fn path(&self) -> Option<PathBuf> {
        self.0
            .lock()
            .ok()
            .and_then(|f| f.as_ref().map(|f| f.path.clone()))
    }

    /// Whether the configured FIFO is not open, or its path now names another file (it
    /// was removed, or removed and created again): a reload then opens it again.
    pub fn stale(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Ok(f) = self.0.lock() else { return false };
        let Some(fifo) = f.as_ref() else {
            return false;
        };
        let Some(file) = &fifo.file else { return true };
        match (file.metadata(), std::fs::metadata(&fifo.path)) {
            (Ok(open), Ok(now)) => open.dev() != now.dev() || open.ino() != now.ino(),
            _ => true,
        }
    }

    /// Switches to `path` (None: no FIFO); the old one is closed.
    pub fn set(&self, path: Option<&Path>) {
        let fifo = path.map(|p| Fifo::open(p.to_path_buf()));
        if let Ok(mut f) = self.0.lock() {
            *f = fifo;
        }
    }

    fn write(&self, line: &str) {
        if let Ok(f) = self.0.lock()
            && let Some(f) = f.as_ref()
        {
            f.write(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sh(script: &str) -> Option<Command> {
        Some(Command(vec![
            "/bin/sh".into(),
            "-c".into(),
            script.into(),
            "hook".into(),
        ]))
    }

    /// Opens `path` (a FIFO) for reading without blocking.
    fn reader(path: &Path) -> std::fs::File {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .expect("open the FIFO for reading")
    }

    /// Waits (bounded) until what was read from `r` contains `needle`.
    async fn read_until(r: &mut std::fs::File, seen: &mut String, needle: &str) -> bool {
        for _ in 0..500 {
            let mut buf = [0u8; 4096];
            if let Ok(n) = r.read(&mut buf) {
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            if seen.contains(needle) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    async fn wait_file(path: &Path, needle: &str) -> bool {
        for _ in 0..500 {
            if std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle)) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// A FIFO line is written when the transition happens, not after the hooks of
    /// earlier transitions finished.
    #[tokio::test]
    async fn fifo_lines_do_not_wait_for_running_hooks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo_path = dir.path().join("notify.fifo");
        let started = dir.path().join("started");
        let slot = FifoSlot::new(Some(Fifo::open(fifo_path.clone())));
        let mut r = reader(&fifo_path);
        let cfg = Notify {
            backup: sh(&format!("touch {}; sleep 60", started.display())),
            timeout: crate::config::types::Dur::secs(120),
            ..Notify::default()
        };
        let n = Notifier::spawn("VI_T", cfg, slot);
        n.notify(State::Backup, false, 100);
        assert!(wait_file(&started, "").await, "the BACKUP hook started");
        n.notify(State::Master, false, 100);
        let mut seen = String::new();
        assert!(
            read_until(&mut r, &mut seen, "INSTANCE \"VI_T\" MASTER 100\n").await,
            "the MASTER line waited for the BACKUP hook: {seen:?}"
        );
        assert!(
            seen.starts_with("INSTANCE \"VI_T\" BACKUP 100\n"),
            "{seen:?}"
        );
        // Dropping the notifier's task (as an abort would) kills the hanging hook.
        n.task.abort();
    }

    /// A stop that is cut short (the instance task aborted while its STOP hook runs)
    /// kills the hook's process group instead of leaving it running.
    #[tokio::test]
    async fn an_aborted_finish_kills_the_running_hook() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pidfile = dir.path().join("hook.pid");
        let cfg = Notify {
            stop: sh(&format!("sleep 60 & echo $! > {}; wait", pidfile.display())),
            timeout: crate::config::types::Dur::secs(120),
            ..Notify::default()
        };
        let n = Notifier::spawn("VI_T", cfg, FifoSlot::default());
        n.notify(State::Init, true, 100);
        assert!(wait_file(&pidfile, "\n").await, "the STOP hook started");
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap_or_default()
            .trim()
            .parse()
            .unwrap_or(0);
        assert!(pid > 0);
        struct Kill(i32);
        impl Drop for Kill {
            fn drop(&mut self) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(self.0),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        let _cleanup = Kill(pid);
        // The caller gives up on the stop (as `Handle::stop` aborting the instance does).
        let _ = tokio::time::timeout(Duration::from_millis(200), n.finish()).await;
        let alive = |pid: i32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false)
        };
        let mut gone = false;
        for _ in 0..250 {
            if !alive(pid) {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(gone, "the hook's process {pid} survived");
    }

    /// A FIFO that could not be opened (its directory missing), or that was removed and
    /// created again, is stale: a reload with the same `notify_fifo` opens it again.
    #[tokio::test]
    async fn a_stale_fifo_is_reopened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sub = dir.path().join("run");
        let path = sub.join("notify.fifo");
        let slot = FifoSlot::new(Some(Fifo::open(path.clone())));
        assert!(slot.stale(), "not open");
        std::fs::create_dir(&sub).expect("mkdir");
        slot.set(Some(&path));
        assert!(!slot.stale());
        let mut r = reader(&path);
        slot.write("one\n");
        let mut seen = String::new();
        assert!(read_until(&mut r, &mut seen, "one\n").await);
        // Replaced under the same name: the lines would go to the old, unlinked pipe.
        std::fs::remove_file(&path).expect("rm");
        assert!(slot.stale(), "removed");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .expect("mkfifo");
        assert!(slot.stale(), "another FIFO under the same name");
        slot.set(Some(&path));
        assert!(!slot.stale());
        let mut r2 = reader(&path);
        slot.write("two\n");
        let mut seen2 = String::new();
        assert!(read_until(&mut r2, &mut seen2, "two\n").await);
        assert!(!FifoSlot::default().stale(), "none configured");
    }

    /// `set_config` switches the hooks (and a `FifoSlot::set` the FIFO) of a running
    /// notifier.
    #[tokio::test]
    async fn hooks_and_fifo_change_in_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("hooks.log");
        let first = dir.path().join("first.fifo");
        let second = dir.path().join("second.fifo");
        let slot = FifoSlot::new(Some(Fifo::open(first.clone())));
        let mut r1 = reader(&first);
        let hook = |tag: &str| sh(&format!("echo {tag} \"$#\" \"$@\" >> {}", log.display()));
        let old = Notify {
            master: hook("old"),
            ..Notify::default()
        };
        let new = Notify {
            master: hook("new-master"),
            any: hook("new"),
            ..Notify::default()
        };
        let mut n = Notifier::spawn("VI_T", old.clone(), slot.clone());
        n.notify(State::Master, false, 150);
        // As keepalived's notify_master: run as written, no arguments added.
        assert!(wait_file(&log, "old 0\n").await);
        let mut seen = String::new();
        assert!(read_until(&mut r1, &mut seen, "MASTER 150").await);
        assert!(!n.set_config(old), "an unchanged config is no change");
        assert!(n.set_config(new));
        slot.set(Some(&second));
        assert_eq!(slot.path(), Some(second.clone()));
        let mut r2 = reader(&second);
        n.notify(State::Backup, false, 150);
        n.notify(State::Master, false, 151);
        // As keepalived's generic notify: the transition appended.
        assert!(wait_file(&log, "new 4 INSTANCE VI_T MASTER 151").await);
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(text.matches("old ").count(), 1, "{text}");
        assert!(text.contains("new-master 0\n"), "{text}");
        assert!(text.contains("new 4 INSTANCE VI_T BACKUP 150"), "{text}");
        let mut seen2 = String::new();
        assert!(
            read_until(&mut r2, &mut seen2, "MASTER 151").await,
            "{seen2:?}"
        );
        assert!(seen2.contains("BACKUP 150"), "{seen2:?}");
        n.finish().await;
    }

    /// A `notify_fifo` path naming a regular file (or a link) is not written to: the
    /// lines would overwrite the file from its start.
    #[tokio::test]
    async fn a_regular_file_is_not_used_as_the_fifo() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("important.conf");
        std::fs::write(&path, "precious contents\n").expect("write");
        let slot = FifoSlot::new(Some(Fifo::open(path.clone())));
        slot.write("INSTANCE \"VI_1\" MASTER 150\n");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap_or_default(),
            "precious contents\n"
        );
        assert!(slot.stale(), "not open: a reload tries again");
        // A symbolic link to a FIFO is not followed either.
        let real = dir.path().join("real.fifo");
        nix::unistd::mkfifo(&real, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .expect("mkfifo");
        let link = dir.path().join("link.fifo");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let slot = FifoSlot::new(Some(Fifo::open(link)));
        assert!(slot.stale(), "opened through a link");
        // A real FIFO still works.
        let slot = FifoSlot::new(Some(Fifo::open(real.clone())));
        assert!(!slot.stale());
        let mut r = reader(&real);
        slot.write("INSTANCE \"VI_1\" BACKUP 100\n");
        let mut seen = String::new();
        assert!(read_until(&mut r, &mut seen, "INSTANCE \"VI_1\" BACKUP 100\n").await);
    }
}
