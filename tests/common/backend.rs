//! Small TCP backends for balancer tests, on loopback.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// Writes its name and a newline, then echoes until the client closes.
    Name,
    /// Reads until EOF, then writes "got <n> bytes\n" and closes (half-close tests).
    ReplyAfterEof,
    /// Accepts and never sends anything.
    Silent,
    /// Writes its name and a newline, then closes at once.
    NameThenClose,
    /// Reads until EOF and then keeps the connection open, silent, until stopped.
    HoldAfterEof,
    /// An HTTP health endpoint (the xinetd `clustercheck` pattern): reads the request
    /// head, answers with the status in `Backend::http_status`, closes.
    Http,
}

pub struct Backend {
    pub name: String,
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    pub accepted: Arc<AtomicUsize>,
    /// The first bytes each connection sent (up to 200, across reads), for PROXY tests.
    pub first_bytes: Arc<Mutex<Vec<Vec<u8>>>>,
    /// The status a `Behavior::Http` backend answers with (200 at start).
    pub http_status: Arc<AtomicU16>,
    /// Requests a `Behavior::Http` backend answered.
    pub http_requests: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Backend {
    pub fn start(name: &str, behavior: Behavior) -> Backend {
        Self::start_on("127.0.0.1:0", name, behavior)
    }

    /// On a given address (e.g. to restart on the same port).
    pub fn start_on(addr: &str, name: &str, behavior: Behavior) -> Backend {
        let l = TcpListener::bind(addr).expect("bind backend");
        l.set_nonblocking(true).expect("nonblocking");
        let addr = l.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let first_bytes = Arc::new(Mutex::new(Vec::new()));
        let http_status = Arc::new(AtomicU16::new(200));
        let http_requests = Arc::new(Mutex::new(Vec::new()));
        let (s, a, f) = (stop.clone(), accepted.clone(), first_bytes.clone());
        let (hs, hr) = (http_status.clone(), http_requests.clone());
        let n = name.to_string();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((c, _)) => {
                        a.fetch_add(1, Ordering::SeqCst);
                        let (n, f, s) = (n.clone(), f.clone(), s.clone());
                        let http = (hs.clone(), hr.clone());
                        std::thread::spawn(move || serve(c, &n, behavior, f, s, http));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Backend {
            name: name.to_string(),
            addr,
            stop,
            accepted,
            first_bytes,
            http_status,
            http_requests,
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stops accepting and closes the listening socket (connections are refused).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(
    mut c: TcpStream,
    name: &str,
    behavior: Behavior,
    first: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    http: (Arc<AtomicU16>, Arc<Mutex<Vec<String>>>),
) {
    let _ = c.set_read_timeout(Some(Duration::from_millis(200)));
    match behavior {
        Behavior::NameThenClose => {
            let _ = c.write_all(format!("{name}\n").as_bytes());
        }
        Behavior::HoldAfterEof => {
            let mut buf = [0u8; 512];
            let mut eof = false;
            while !stop.load(Ordering::SeqCst) {
                if eof {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                match c.read(&mut buf) {
                    Ok(0) => eof = true,
                    Ok(_) => {}
                    Err(e) if timed_out(&e) => {}
                    Err(_) => break,
                }
            }
        }
        Behavior::Http => {
            let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
            let mut head = Vec::new();
            let mut buf = [0u8; 512];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            if let Ok(mut r) = http.1.lock() {
                r.push(String::from_utf8_lossy(&head).into_owned());
            }
            let status = http.0.load(Ordering::SeqCst);
            let body = if status == 200 {
                "synced\n"
            } else {
                "not synced\n"
            };
            let _ = c.write_all(
                format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
        Behavior::Name => {
            // Record what arrives first (a PROXY header), without waiting for it.
            let mut buf = [0u8; 200];
            if c.write_all(format!("{name}\n").as_bytes()).is_err() {
                return;
            }
            let mut seen: Vec<u8> = Vec::new();
            let mut slot: Option<usize> = None;
            loop {
                match c.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if seen.len() < 200 {
                            seen.extend_from_slice(&buf[..n.min(200 - seen.len())]);
                            if let Ok(mut f) = first.lock() {
                                match slot {
                                    Some(i) => f[i] = seen.clone(),
                                    None => {
                                        f.push(seen.clone());
                                        slot = Some(f.len() - 1);
                                    }
                                }
                            }
                        }
                        if c.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    Err(e) if timed_out(&e) => {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        Behavior::ReplyAfterEof => {
            let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
            let mut all = Vec::new();
            let _ = c.read_to_end(&mut all);
            let _ = c.write_all(format!("got {} bytes\n", all.len()).as_bytes());
        }
        Behavior::Silent => {
            let mut buf = [0u8; 200];
            loop {
                match c.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if timed_out(&e) => {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
    }
}

/// A read that ended for its timeout (no data yet), not for an error of the connection.
fn timed_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Connects (optionally from a given loopback source address) and reads the first line.
pub fn first_line(to: SocketAddr, from: Option<&str>) -> std::io::Result<String> {
    let s = connect_from(to, from)?;
    read_line(&s)
}

pub fn connect_from(to: SocketAddr, from: Option<&str>) -> std::io::Result<TcpStream> {
    match from {
        None => TcpStream::connect_timeout(&to, Duration::from_secs(5)),
        Some(ip) => {
            let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
            let src: SocketAddr = format!("{ip}:0")
                .parse()
                .map_err(|_| std::io::Error::other("bad ip"))?;
            sock.bind(&src.into())?;
            sock.connect_timeout(&to.into(), Duration::from_secs(5))?;
            Ok(sock.into())
        }
    }
}

pub fn read_line(mut s: &TcpStream) -> std::io::Result<String> {
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match s.read(&mut b)? {
            0 => break,
            _ if b[0] == b'\n' => break,
            _ => out.push(b[0]),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}
