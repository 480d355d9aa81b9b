//! Pieces both router benchmarks use (benches/router.rs, benches/sharding.rs).

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|v| *v > 0)
        .unwrap_or(default)
}

pub struct Guard(pub Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

pub fn field(out: &str, label: &str) -> Option<(f64, Option<f64>)> {
    let line = out.lines().map(str::trim).find(|l| l.starts_with(label))?;
    let rest = line[label.len()..].trim();
    let first = rest.split_whitespace().next()?.parse().ok()?;
    let rate = rest
        .split_once('(')
        .and_then(|(_, r)| r.split_whitespace().next())
        .and_then(|v| v.parse().ok());
    Some((first, rate))
}

/// A finished child's exit status and output.
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Waits for a guarded child for at most `limit`; None (child killed) on timeout.
pub fn wait_bounded(guard: &mut Guard, limit: Duration) -> Result<Option<ExitStatus>, String> {
    let start = Instant::now();
    loop {
        let Some(c) = guard.0.as_mut() else {
            return Err("lost the child".into());
        };
        match c.try_wait() {
            Ok(Some(st)) => {
                guard.0 = None;
                return Ok(Some(st));
            }
            Ok(None) if start.elapsed() > limit => {
                if let Some(mut c) = guard.0.take() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                return Ok(None);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Runs `cmd` with its output collected, killing it after `limit`.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Result<Output, String> {
    let name = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("{name}: {e}"))?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let mut guard = Guard(Some(child));
    let status = wait_bounded(&mut guard, limit).map_err(|e| format!("{name}: {e}"))?;
    let (o, e) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    match status {
        Some(status) => Ok(Output {
            status,
            stdout: o,
            stderr: e,
        }),
        None => Err(format!(
            "{name}: no result within {} s (killed){}",
            limit.as_secs(),
            tail(&format!("{o}{e}"), 3)
        )),
    }
}

/// The last `n` non-empty lines of `s`, as `: a | b | c` (empty when there are none).
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    format!(": {}", lines[lines.len().saturating_sub(n)..].join(" | "))
}

/// utime + stime of a process, in microseconds.
pub fn cpu_us(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit(") ").next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // SAFETY: sysconf is always safe to call.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    (field(11) + field(12)) * 1_000_000 / hz
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The first line `cmd arg` prints (its version), or why it could not run.
pub fn version(cmd: &str, arg: &str) -> String {
    let mut c = Command::new(cmd);
    c.arg(arg);
    run_bounded(c, Duration::from_secs(10))
        .map(|o| o.stdout.lines().next().unwrap_or("").trim().to_string())
        .unwrap_or_else(|e| e)
}

/// Retries `probe` (a MySQL login on 127.0.0.1:`port`) every 250 ms until it succeeds,
/// `dead` reports that the process behind the port exited, or `limit` passes.
pub fn wait_login_with(
    port: u16,
    limit: Duration,
    mut probe: impl FnMut() -> Result<(), String>,
    mut dead: impl FnMut() -> Option<String>,
) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let last = match probe() {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if let Some(exit) = dead() {
            return Err(format!("exited ({exit}) before accepting a login; {last}"));
        }
        if start.elapsed() > limit {
            return Err(format!(
                "no MySQL login on 127.0.0.1:{port} within {} s; last attempt: {last}",
                limit.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
