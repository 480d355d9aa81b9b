//! The balancer's sessions now, for haproxy's `show sess` and `shutdown session`: each
//! session registers itself from the moment it has a client address until it ends, with
//! what an operator looks for (client, listener, server, age, bytes) and a signal that
//! closes it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use tokio::sync::Notify;

use super::listener::Shared;
use super::server::ServerState;

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a server slot.
    Queue,
    /// Connecting to its server.
    Connect,
    /// Relaying data.
    Data,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Queue,
            1 => Phase::Connect,
            _ => Phase::Data,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Phase::Queue => "queue",
            Phase::Connect => "connect",
            Phase::Data => "data",
        }
    }
}

/// One session as `show sess` shows it.
pub struct Session {
    pub id: u64,
    pub listener: Arc<Shared>,
    /// The client (as a PROXY header gave it, when the listener accepts one).
    pub src: SocketAddr,
    /// The address the client reached, when a PROXY header gave it.
    pub dst: Option<SocketAddr>,
    pub accepted: SystemTime,
    pub started: Instant,
    phase: AtomicU8,
    server: Mutex<Option<Arc<ServerState>>>,
    pub retries: AtomicU32,
    /// Client → server.
    pub bytes_in: AtomicU64,
    /// Server → client.
    pub bytes_out: AtomicU64,
    /// Signalled (once, kept until taken) to close the session.
    pub kill: Notify,
}

impl Session {
    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Relaxed))
    }

    pub fn set_phase(&self, p: Phase) {
        let v = match p {
            Phase::Queue => 0,
            Phase::Connect => 1,
            Phase::Data => 2,
        };
        self.phase.store(v, Ordering::Relaxed);
    }

    /// The server it connects to or relays with (none while queued).
    pub fn server(&self) -> Option<Arc<ServerState>> {
        self.server.lock().ok().and_then(|s| s.clone())
    }

    pub fn set_server(&self, s: &Arc<ServerState>) {
        if let Ok(mut g) = self.server.lock() {
            *g = Some(s.clone());
        }
    }

    /// haproxy's name for the session in `show sess` and `shutdown session`: its id in
    /// hexadecimal (where haproxy shows its stream's address).
    pub fn handle(&self) -> String {
        format!("{:#x}", self.id)
    }
}

/// Every session of a balancer (all listeners), by id.
#[derive(Default)]
pub struct Sessions {
    next: AtomicU64,
    live: Mutex<BTreeMap<u64, Arc<Session>>>,
}

/// A registered session; it leaves the registry when this is dropped.
pub struct Registered {
    pub session: Arc<Session>,
    registry: Arc<Sessions>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut m) = self.registry.live.lock() {
            m.remove(&self.session.id);
        }
    }
}

impl Sessions {
    pub fn register(
        self: &Arc<Self>,
        listener: &Arc<Shared>,
        src: SocketAddr,
        dst: Option<SocketAddr>,
        accepted: SystemTime,
        started: Instant,
    ) -> Registered {
        // Ids start at 1: `shutdown session 0` is haproxy's "no pointer".
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let session = Arc::new(Session {
            id,
            listener: listener.clone(),
            src,
            dst,
            accepted,
            started,
            phase: AtomicU8::new(0),
            server: Mutex::new(None),
            retries: AtomicU32::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            kill: Notify::new(),
        });
        if let Ok(mut m) = self.live.lock() {
            m.insert(id, session.clone());
        }
        Registered {
            session,
            registry: self.clone(),
        }
    }

    /// The sessions now, oldest first.
    pub fn all(&self) -> Vec<Arc<Session>> {
        self.live
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn get(&self, id: u64) -> Option<Arc<Session>> {
        self.live.lock().ok().and_then(|m| m.get(&id).cloned())
    }
}

/// Reads a session handle as haproxy does (`strtoul(arg, NULL, 0)`: `0x` hexadecimal,
/// a leading `0` octal, else decimal; the digits that read, then anything). `None`
/// when nothing reads or it reads 0 (haproxy: "Session pointer expected").
pub fn parse_handle(arg: &str) -> Option<u64> {
    let t = arg.trim_start();
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (16, h)
    } else if t.len() > 1 && t.starts_with('0') {
        (8, &t[1..])
    } else {
        (10, t)
    };
    let end = digits
        .char_indices()
        .find(|(_, c)| !c.is_digit(radix))
        .map_or(digits.len(), |(i, _)| i);
    let v = u64::from_str_radix(digits.get(..end)?, radix).ok()?;
    (v != 0).then_some(v)
}

/// haproxy's `human_time(seconds, 1)`: at most two units (`5s`, `1m30s`, `2h3m`,
/// `3d4h`), a zero unit between them skipped (`1h5s`), `0s` for nothing.
pub fn human_time(secs: u64) -> String {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 3600;
    const DAY: u64 = 86_400;
    let mut out = String::new();
    let mut cnt = 2;
    if secs >= DAY {
        let _ = write!(out, "{}d", secs / DAY);
        cnt -= 1;
    }
    if cnt > 0 && secs % DAY / HOUR > 0 {
        let _ = write!(out, "{}h", secs % DAY / HOUR);
        cnt -= 1;
    }
    if cnt > 0 && secs % HOUR / MINUTE > 0 {
        let _ = write!(out, "{}m", secs % HOUR / MINUTE);
        cnt -= 1;
    }
    if (cnt > 0 && !secs.is_multiple_of(MINUTE)) || secs == 0 {
        let _ = write!(out, "{}s", secs % MINUTE);
    }
    out
}

/// `ip:port` as haproxy prints addresses (no brackets around an IPv6 address).
fn addr(a: SocketAddr) -> String {
    format!("{}:{}", a.ip(), a.port())
}

fn proto(a: SocketAddr) -> &'static str {
    if a.is_ipv4() { "tcpv4" } else { "tcpv6" }
}

/// What a listing needs to name listeners and servers by haproxy's ids.
pub struct Ids<'a> {
    /// The listeners in `iid` order.
    pub listeners: &'a [Arc<Shared>],
}

impl Ids<'_> {
    fn iid(&self, l: &Arc<Shared>) -> Option<usize> {
        self.listeners
            .iter()
            .position(|x| Arc::ptr_eq(x, l))
            .map(|i| i + super::stats::FIRST_IID)
    }

    fn sid(&self, l: &Arc<Shared>, s: &Arc<ServerState>) -> Option<usize> {
        l.runtime()
            .servers
            .iter()
            .position(|x| Arc::ptr_eq(x, s))
            .map(|i| i + 1)
    }
}

/// One `show sess` line: haproxy's leading fields (`0x1f: proto=tcpv4 src=... fe=...
/// be=... srv=... age=...`) and the ones that mean something here (`rc` retries so
/// far, `st` the phase, `bin`/`bout` bytes each way so far).
pub fn line(s: &Session, now: Instant) -> String {
    let srv = s
        .server()
        .map_or_else(|| "<none>".to_string(), |v| v.name().to_string());
    format!(
        "{}: proto={} src={} fe={} be={} srv={} age={} rc={} st={} bin={} bout={}\n",
        s.handle(),
        proto(s.src),
        addr(s.src),
        s.listener.name,
        s.listener.name,
        srv,
        human_time(now.saturating_duration_since(s.started).as_secs()),
        s.retries.load(Ordering::Relaxed),
        s.phase().name(),
        s.bytes_in.load(Ordering::Relaxed),
        s.bytes_out.load(Ordering::Relaxed),
    )
}

/// `show sess <id>`: haproxy's detailed block, with the lines that apply.
pub fn detail(s: &Session, ids: &Ids<'_>, now: Instant) -> String {
    let l = &s.listener;
    let rt = l.runtime();
    let iid = ids
        .iid(l)
        .map_or_else(|| "-1".to_string(), |i| i.to_string());
    let mut out = format!(
        "{}: [{}] id={} proto={} source={}\n",
        s.handle(),
        super::haproxy_date(s.accepted),
        s.id,
        proto(s.src),
        addr(s.src)
    );
    let _ = writeln!(
        out,
        "  conn_retries={} state={}",
        s.retries.load(Ordering::Relaxed),
        s.phase().name()
    );
    let _ = writeln!(
        out,
        "  frontend={} (id={iid} mode=tcp), listener=? (id=1) addr={}",
        l.name,
        addr(s.dst.unwrap_or(rt.cfg.bind))
    );
    let _ = writeln!(out, "  backend={} (id={iid} mode=tcp)", l.name);
    match s.server() {
        Some(v) => {
            let sid = ids.sid(l, &v).unwrap_or(0);
            let _ = writeln!(
                out,
                "  server={} (id={sid}) addr={}",
                v.name(),
                addr(v.addr())
            );
        }
        None => out.push_str("  server=<none> (id=0)\n"),
    }
    let _ = writeln!(
        out,
        "  age={} bytes_in={} bytes_out={}",
        human_time(now.saturating_duration_since(s.started).as_secs()),
        s.bytes_in.load(Ordering::Relaxed),
        s.bytes_out.load(Ordering::Relaxed)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_time_reads_as_haproxy_s() {
        for (secs, want) in [
            (0, "0s"),
            (5, "5s"),
            (60, "1m"),
            (90, "1m30s"),
            (3600, "1h"),
            (3605, "1h5s"),
            (3660 + 7, "1h1m"),
            (86_400, "1d"),
            (86_400 + 3 * 3600 + 5, "1d3h"),
            (2 * 86_400 + 59, "2d59s"),
        ] {
            assert_eq!(human_time(secs), want, "{secs}");
        }
    }

    #[test]
    fn handles_read_as_strtoul_base_0() {
        assert_eq!(parse_handle("0x1f"), Some(31));
        assert_eq!(parse_handle("0X1F"), Some(31));
        assert_eq!(parse_handle("31"), Some(31));
        assert_eq!(parse_handle("017"), Some(15));
        assert_eq!(parse_handle("12abc"), Some(12));
        assert_eq!(parse_handle("0"), None);
        assert_eq!(parse_handle(""), None);
        assert_eq!(parse_handle("abc"), None);
        assert_eq!(parse_handle("0x"), None);
    }
}
