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
static BUFFERS: Mutex<Vec<Box<[u8]>>> = Mutex::new(Vec::new());

fn get_buffer() -> Box<[u8]> {
    BUFFERS
        .lock()
        .ok()
        .and_then(|mut v| v.pop())
        .unwrap_or_else(|| vec![0u8; BUF].into_boxed_slice())
}

fn put_buffer(b: Box<[u8]>) {
    if let Ok(mut v) = BUFFERS.lock()
        && v.len() < POOL_MAX
    {
        v.push(b);
    }
}

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
    /// splice allowed (Mode::Splice); it is used while the transfer is bulky.
    splice_ok: bool,
    /// The last buffered read filled the buffer: switch to splice.
    bulk: bool,
    /// What is pending sits in the pipe (else in the buffer).
    in_pipe: bool,
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
            splice_ok: mode == Mode::Splice,
            bulk: false,
            in_pipe: false,
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
    async fn step(
        &mut self,
        src: &TcpStream,
        dst: &TcpStream,
        other_done: bool,
    ) -> Result<Step, (Side, io::Error)> {
        if self.pending > 0 {
            dst.writable().await.map_err(|e| (Side::Dst, e))?;
            return self.flush(dst).map(|_| Step::Moved);
        }
        if self.eof {
            // Everything before the FIN is delivered: forward it. When the other
            // direction is finished too, the close that follows sends the FIN.
            if !other_done {
                let _ = socket2::SockRef::from(dst).shutdown(std::net::Shutdown::Write);
            }
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
    ///
    /// Small transfers go through a buffer, bulk ones (a read that fills the buffer)
    /// through splice(2), like haproxy's splice-auto: for a query and its answer a
    /// buffer costs fewer system calls, for a stream splice copies nothing. A short
    /// buffered read means the socket is drained, so its readiness is cleared right
    /// away instead of paying for a read that would say EAGAIN.
    fn fill(&mut self, src: &TcpStream) -> io::Result<usize> {
        let n = if self.splice_ok && self.bulk {
            if self.pipe.is_none() {
                self.pipe = Some(Pipe::get()?);
            }
            let w = self.pipe.as_ref().map(|p| p.w.as_raw_fd()).unwrap_or(-1);
            let n = src.try_io(Interest::READABLE, || splice(src.as_raw_fd(), w, CHUNK))?;
            if n < BUF {
                self.bulk = false;
            }
            self.in_pipe = true;
            n
        } else {
            let buf = self.buf.get_or_insert_with(get_buffer);
            let fd = src.as_raw_fd();
            let mut got = 0usize;
            let r = src.try_io(Interest::READABLE, || {
                // SAFETY: recv into our buffer, within its length.
                let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
                if n < 0 {
                    return Err(io::Error::last_os_error());
                }
                got = n as usize;
                if got > 0 && got < buf.len() {
                    // Drained: let tokio clear the readiness (an EOF stays visible:
                    // tokio never clears the read-closed state).
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(got)
            });
            let n = match r {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && got > 0 => got,
                Err(e) => return Err(e),
            };
            self.bulk = n == BUF;
            self.in_pipe = false;
            self.start = 0;
            n
        };
        self.pending = n;
        self.moved += n as u64;
        Ok(n)
    }

    /// Writes what is pending to `dst`, as much as it takes now.
    fn flush(&mut self, dst: &TcpStream) -> Result<(), (Side, io::Error)> {
        while self.pending > 0 {
            let r = match self.in_pipe {
                true => {
                    let r = self.pipe.as_ref().map(|p| p.r.as_raw_fd()).unwrap_or(-1);
                    dst.try_io(Interest::WRITABLE, || {
                        splice(r, dst.as_raw_fd(), self.pending)
                    })
                }
                false => match &self.buf {
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
            if let Some(b) = self.buf.take() {
                put_buffer(b);
            }
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
    // One timer for the session, re-armed only when it fires early (activity moved the
    // deadline): no timer churn per chunk of data.
    let idle_limits = |up: &Dir, down: &Dir| {
        let c = if down.done {
            t.client_fin
        } else {
            t.tunnel.unwrap_or(t.client)
        };
        let s = if up.done {
            t.server_fin
        } else {
            t.tunnel.unwrap_or(t.server)
        };
        (c, s)
    };
    let (c0, s0) = idle_limits(&up, &down);
    let timer = tokio::time::sleep_until(tokio::time::Instant::from_std(client_seen + c0.min(s0)));
    tokio::pin!(timer);
    let end = loop {
        if up.done && down.done {
            break End::Normal;
        }
        // haproxy: in a TCP stream `timeout tunnel` replaces client/server once
        // connected; after a side's write half is shut, its timeout is the *_fin one.
        // Moving data either way refreshes both sides (a write refreshes that side's
        // read timer).
        let (up_done, down_done) = (up.done, down.done);
        tokio::select! {
            r = up.step(client, server, down_done), if !up_done => match r {
                Ok(Step::Moved | Step::Eof) => {
                    client_seen = Instant::now();
                    server_seen = client_seen;
                }
                Ok(Step::Idle) => {}
                Ok(Step::Done) => {
                    // A *_fin timeout may now be due sooner than the armed timer.
                    let (ci, si) = idle_limits(&up, &down);
                    let d = (client_seen + ci).min(server_seen + si);
                    timer.as_mut().reset(tokio::time::Instant::from_std(d));
                }
                Err((Side::Src, _)) => break End::ClientAbort,
                Err((Side::Dst, _)) => break End::ServerAbort,
            },
            r = down.step(server, client, up_done), if !down_done => match r {
                Ok(Step::Moved | Step::Eof) => {
                    server_seen = Instant::now();
                    client_seen = server_seen;
                }
                Ok(Step::Idle) => {}
                Ok(Step::Done) => {
                    let (ci, si) = idle_limits(&up, &down);
                    let d = (client_seen + ci).min(server_seen + si);
                    timer.as_mut().reset(tokio::time::Instant::from_std(d));
                }
                Err((Side::Src, _)) => break End::ServerAbort,
                Err((Side::Dst, _)) => break End::ClientAbort,
            },
            () = &mut timer => {
                let (ci, si) = idle_limits(&up, &down);
                let (cd, sd) = (client_seen + ci, server_seen + si);
                let now = Instant::now();
                if now >= cd {
                    break End::ClientTimeout;
                }
                if now >= sd {
                    break End::ServerTimeout;
                }
                timer.as_mut().reset(tokio::time::Instant::from_std(cd.min(sd)));
            }
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
