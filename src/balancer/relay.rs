//! Moving bytes between the client and the server: splice(2) through pooled pipes (the
//! data never enters user space), or user-space buffers. Readiness-driven: the task sleeps
//! until a socket is ready; no busy loop. Half-closes are forwarded: when one side sends
//! FIN, the other side's write half is shut once everything before the FIN is delivered,
//! and the other direction keeps flowing.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::watch;

/// How much one splice/read moves at most.
const CHUNK: usize = 64 * 1024;
/// Buffered mode's buffer.
const BUF: usize = 16 * 1024;
/// Pipes kept for reuse.
const POOL_MAX: usize = 1024;
/// Moves per direction before yielding to the other (fairness).
const BUDGET: usize = 16;

static PIPES: Mutex<Vec<Pipe>> = Mutex::new(Vec::new());

struct Pipe {
    r: OwnedFd,
    w: OwnedFd,
}

impl Pipe {
    fn get() -> io::Result<Pipe> {
        if let Some(p) = PIPES.lock().ok().and_then(|mut v| v.pop()) {
            return Ok(p);
        }
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 fills two descriptors we then own.
        let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both are fresh descriptors owned by nobody else.
        Ok(unsafe {
            Pipe {
                r: OwnedFd::from_raw_fd(fds[0]),
                w: OwnedFd::from_raw_fd(fds[1]),
            }
        })
    }

    /// Back to the pool; only empty pipes may be reused.
    fn put(self) {
        if let Ok(mut v) = PIPES.lock()
            && v.len() < POOL_MAX
        {
            v.push(self);
        }
    }
}

fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    // SAFETY: plain splice(2) between descriptors we hold; null offsets (sockets, pipes).
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Splice,
    Buffered,
}

/// Inactivity limits (haproxy's `timeout client/server/tunnel/client-fin/server-fin`).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub client: Duration,
    pub server: Duration,
    pub tunnel: Option<Duration>,
    pub client_fin: Duration,
    pub server_fin: Duration,
}

/// Who ended the session, as haproxy's two-letter termination state (first letter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Both sides closed normally: `--`.
    Normal,
    /// The client reset or failed: `CD`.
    ClientAbort,
    /// The server reset or failed: `SD`.
    ServerAbort,
    /// Client inactivity: `cD`.
    ClientTimeout,
    /// Server inactivity: `sD`.
    ServerTimeout,
    /// Killed: server marked down with shutdown_sessions, admin, or stop: `KD`.
    Killed,
}

impl End {
    pub fn code(self) -> &'static str {
        match self {
            End::Normal => "--",
            End::ClientAbort => "CD",
            End::ServerAbort => "SD",
            End::ClientTimeout => "cD",
            End::ServerTimeout => "sD",
            End::Killed => "KD",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// Client → server.
    pub bytes_in: u64,
    /// Server → client.
    pub bytes_out: u64,
    pub end: End,
}

/// One direction's state.
struct Dir {
    mode: Mode,
    pipe: Option<Pipe>,
    /// Bytes waiting in the pipe or the buffer.
    pending: usize,
    buf: Option<Box<[u8]>>,
    start: usize,
    /// The source sent FIN.
    eof: bool,
    /// FIN forwarded (write half shut): this direction is finished.
    done: bool,
    moved: u64,
}

enum Step {
    /// Bytes moved (read and/or written).
    Moved,
    /// A wakeup with nothing to do (spurious readiness).
    Idle,
    /// The source reached EOF.
    Eof,
    /// FIN forwarded; the direction is finished.
    Done,
}

/// Which side an IO error happened on.
enum Side {
    Src,
    Dst,
}

impl Dir {
    fn new(mode: Mode) -> Dir {
        Dir {
            mode,
            pipe: None,
            pending: 0,
            buf: None,
            start: 0,
            eof: false,
            done: false,
            moved: 0,
        }
    }

    /// Waits for readiness and moves what it can. Cancel-safe: all waiting happens
    /// before any data is touched.
    async fn step(&mut self, src: &TcpStream, dst: &TcpStream) -> Result<Step, (Side, io::Error)> {
        if self.pending > 0 {
            dst.writable().await.map_err(|e| (Side::Dst, e))?;
            return self.flush(dst).map(|_| Step::Moved);
        }
        if self.eof {
            // Everything before the FIN is delivered: forward it.
            let _ = socket2::SockRef::from(dst).shutdown(std::net::Shutdown::Write);
            self.done = true;
            return Ok(Step::Done);
        }
        src.readable().await.map_err(|e| (Side::Src, e))?;
        let mut progressed = false;
        for _ in 0..BUDGET {
            match self.fill(src) {
                Ok(0) => {
                    self.eof = true;
                    self.release();
                    return Ok(Step::Eof);
                }
                Ok(_) => progressed = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.release();
                    break;
                }
                Err(e) => return Err((Side::Src, e)),
            }
            match self.flush(dst) {
                Ok(()) if self.pending == 0 => continue,
                Ok(()) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(if progressed { Step::Moved } else { Step::Idle })
    }

    /// Reads from `src` into the pipe or buffer; Ok(0) at EOF.
    fn fill(&mut self, src: &TcpStream) -> io::Result<usize> {
        let n = match self.mode {
            Mode::Splice => {
                if self.pipe.is_none() {
                    self.pipe = Some(Pipe::get()?);
                }
                let w = self.pipe.as_ref().map(|p| p.w.as_raw_fd()).unwrap_or(-1);
                src.try_io(Interest::READABLE, || splice(src.as_raw_fd(), w, CHUNK))?
            }
            Mode::Buffered => {
                let buf = self
                    .buf
                    .get_or_insert_with(|| vec![0u8; BUF].into_boxed_slice());
                let n = src.try_read(buf)?;
                self.start = 0;
                n
            }
        };
        self.pending = n;
        self.moved += n as u64;
        Ok(n)
    }

    /// Writes what is pending to `dst`, as much as it takes now.
    fn flush(&mut self, dst: &TcpStream) -> Result<(), (Side, io::Error)> {
        while self.pending > 0 {
            let r = match self.mode {
                Mode::Splice => {
                    let r = self.pipe.as_ref().map(|p| p.r.as_raw_fd()).unwrap_or(-1);
                    dst.try_io(Interest::WRITABLE, || {
                        splice(r, dst.as_raw_fd(), self.pending)
                    })
                }
                Mode::Buffered => match &self.buf {
                    Some(b) => dst.try_write(&b[self.start..self.start + self.pending]),
                    None => Ok(0),
                },
            };
            match r {
                Ok(0) => return Err((Side::Dst, io::Error::from(io::ErrorKind::WriteZero))),
                Ok(n) => {
                    self.pending -= n;
                    self.start += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err((Side::Dst, e)),
            }
        }
        self.release();
        Ok(())
    }

    /// Idle directions hold no pipe and no buffer.
    fn release(&mut self) {
        if self.pending == 0 {
            if let Some(p) = self.pipe.take() {
                p.put();
            }
            self.buf = None;
        }
    }
}

/// Relays until both directions are closed, a side fails, a timeout, or `kill` fires.
pub async fn relay(
    client: &TcpStream,
    server: &TcpStream,
    mode: Mode,
    t: Timeouts,
    mut kill: watch::Receiver<u64>,
) -> Outcome {
    let mut up = Dir::new(mode);
    let mut down = Dir::new(mode);
    let mut client_seen = Instant::now();
    let mut server_seen = client_seen;
    let end = loop {
        if up.done && down.done {
            break End::Normal;
        }
        // haproxy: in a TCP stream `timeout tunnel` replaces client/server once
        // connected; after a side's write half is shut, its timeout is the *_fin one.
        // Moving data either way refreshes both sides (a write refreshes that side's
        // read timer).
        let client_idle = if down.done {
            t.client_fin
        } else {
            t.tunnel.unwrap_or(t.client)
        };
        let server_idle = if up.done {
            t.server_fin
        } else {
            t.tunnel.unwrap_or(t.server)
        };
        let client_deadline = client_seen + client_idle;
        let server_deadline = server_seen + server_idle;
        let (deadline, timeout_end) = if client_deadline <= server_deadline {
            (client_deadline, End::ClientTimeout)
        } else {
            (server_deadline, End::ServerTimeout)
        };
        tokio::select! {
            r = up.step(client, server), if !up.done => match r {
                Ok(Step::Moved | Step::Eof) => {
                    client_seen = Instant::now();
                    server_seen = client_seen;
                }
                Ok(Step::Idle | Step::Done) => {}
                Err((Side::Src, _)) => break End::ClientAbort,
                Err((Side::Dst, _)) => break End::ServerAbort,
            },
            r = down.step(server, client), if !down.done => match r {
                Ok(Step::Moved | Step::Eof) => {
                    server_seen = Instant::now();
                    client_seen = server_seen;
                }
                Ok(Step::Idle | Step::Done) => {}
                Err((Side::Src, _)) => break End::ServerAbort,
                Err((Side::Dst, _)) => break End::ClientAbort,
            },
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => break timeout_end,
            r = kill.changed() => if r.is_ok() { break End::Killed },
        }
    };
    // Pipes with data still in them are closed, not pooled.
    up.pipe = None;
    down.pipe = None;
    Outcome {
        bytes_in: up.moved,
        bytes_out: down.moved,
        end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn t(secs: u64) -> Timeouts {
        Timeouts {
            client: Duration::from_secs(secs),
            server: Duration::from_secs(secs),
            tunnel: None,
            client_fin: Duration::from_secs(secs),
            server_fin: Duration::from_secs(secs),
        }
    }

    /// client <-> [a relay b] <-> echo-ish server: checks bytes and half-close.
    async fn pair() -> (TcpStream, TcpStream, TcpStream, TcpStream) {
        let l1 = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let l2 = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let client = TcpStream::connect(l1.local_addr().expect("addr"))
            .await
            .expect("c");
        let (a, _) = l1.accept().await.expect("a");
        let b = TcpStream::connect(l2.local_addr().expect("addr"))
            .await
            .expect("b");
        let (server, _) = l2.accept().await.expect("s");
        (client, a, b, server)
    }

    #[tokio::test]
    async fn both_modes_forward_bytes_and_half_close() {
        for mode in [Mode::Splice, Mode::Buffered] {
            let (mut client, a, b, mut server) = pair().await;
            let (_k, kill) = watch::channel(0u64);
            let relay = tokio::spawn(async move { relay(&a, &b, mode, t(10), kill).await });
            let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
            client.write_all(&payload).await.expect("write");
            client.shutdown().await.expect("client FIN");
            let mut got = Vec::new();
            server
                .read_to_end(&mut got)
                .await
                .expect("server reads to EOF");
            assert_eq!(got, payload, "{mode:?}");
            // After the client's FIN the server still answers and the client gets it all.
            server.write_all(b"reply after FIN").await.expect("reply");
            server.shutdown().await.expect("server FIN");
            let mut back = Vec::new();
            client.read_to_end(&mut back).await.expect("client reads");
            assert_eq!(back, b"reply after FIN");
            let out = relay.await.expect("relay");
            assert_eq!(out.end, End::Normal);
            assert_eq!(out.bytes_in, 300_000);
            assert_eq!(out.bytes_out, 15);
        }
    }

    #[tokio::test]
    async fn idle_timeout_and_kill() {
        let (_client, a, b, _server) = pair().await;
        let (_k, kill) = watch::channel(0u64);
        let mut tt = t(10);
        tt.server = Duration::from_millis(200);
        let out = relay(&a, &b, Mode::Splice, tt, kill).await;
        assert_eq!(out.end, End::ServerTimeout);

        let (_client, a, b, _server) = pair().await;
        let (k, kill) = watch::channel(0u64);
        let h = tokio::spawn(async move { relay(&a, &b, Mode::Buffered, t(10), kill).await });
        let _ = k.send(1);
        assert_eq!(h.await.expect("join").end, End::Killed);
    }

    #[tokio::test]
    async fn reset_is_reported_on_the_right_side() {
        let (client, a, b, _server) = pair().await;
        let (_k, kill) = watch::channel(0u64);
        let h = tokio::spawn(async move { relay(&a, &b, Mode::Splice, t(10), kill).await });
        // RST from the client.
        let s = socket2::SockRef::from(&client);
        s.set_linger(Some(Duration::ZERO)).expect("linger");
        drop(client);
        let end = h.await.expect("join").end;
        assert!(matches!(end, End::ClientAbort | End::Normal), "{end:?}");
    }
}
