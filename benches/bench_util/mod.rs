//! Pieces both router benchmarks use (benches/router.rs, benches/sharding.rs).

use std::io::Read;
use std::process::Child;

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
