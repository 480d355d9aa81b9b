//! Notify hooks and the notify FIFO. Hooks run asynchronously, one at a time and in order
//! per instance, each bounded by `notify.timeout`; the state machine never waits for them.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

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

struct Event {
    word: &'static str,
    priority: u8,
}

/// One instance's hook runner.
pub struct Notifier {
    tx: mpsc::Sender<Event>,
    instance: String,
    task: tokio::task::JoinHandle<()>,
    timeout: std::time::Duration,
}

impl Notifier {
    pub fn spawn(instance: &str, cfg: Notify, fifo: Option<Fifo>) -> Notifier {
        let (tx, mut rx) = mpsc::channel::<Event>(QUEUE);
        let name = instance.to_string();
        let timeout = cfg.timeout.get();
        let task = tokio::spawn(async move {
            let id = process::identity(cfg.user.as_deref(), cfg.group.as_deref());
            while let Some(ev) = rx.recv().await {
                if let Some(f) = &fifo {
                    f.write(&format!(
                        "INSTANCE \"{name}\" {} {}\n",
                        ev.word, ev.priority
                    ));
                }
                let specific = match ev.word {
                    "MASTER" => cfg.master.as_ref(),
                    "BACKUP" => cfg.backup.as_ref(),
                    "FAULT" => cfg.fault.as_ref(),
                    "STOP" => cfg.stop.as_ref(),
                    _ => None,
                };
                for (kind, cmd) in [("notify", specific), ("notify any", cfg.any.as_ref())] {
                    let Some(cmd) = cmd else { continue };
                    run_hook(
                        &name,
                        kind,
                        cmd,
                        &id,
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
            timeout,
        }
    }

    /// Runs what is queued (the STOP hooks on shutdown), bounded by the hook timeout per
    /// queued hook.
    pub async fn finish(self) {
        let pending = QUEUE as u32 - self.tx.capacity() as u32;
        drop(self.tx);
        let limit = self.timeout * 2 * (pending + 1) + std::time::Duration::from_secs(1);
        let _ = tokio::time::timeout(limit, self.task).await;
    }

    /// Queues the hooks for a transition; never blocks.
    pub fn notify(&self, to: State, shutdown: bool, priority: u8) {
        let ev = Event {
            word: state_word(to, shutdown),
            priority,
        };
        if self.tx.try_send(ev).is_err() {
            tracing::warn!(instance = %self.instance, "({}) notify queue full: hooks for this transition are skipped", self.instance);
        }
    }
}

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
    argv.extend([
        "INSTANCE".to_string(),
        instance.to_string(),
        word.to_string(),
        priority.to_string(),
    ]);
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
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path);
        let file = match file {
            Ok(f) => Some(std::sync::Arc::new(f)),
            Err(e) => {
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
