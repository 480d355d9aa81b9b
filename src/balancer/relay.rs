//! Moving bytes between the client and the server: splice(2) through pooled pipes (the
//! data never enters user space), or user-space buffers. Readiness-driven: the task sleeps
//! until a socket is ready; no busy loop. Half-closes are forwarded: when one side sends
//! FIN, the other side's write half is shut once everything before the FIN is delivered,
//! and the other direction keeps flowing.
//!
//! When splice(2) cannot be used (no pipe can be had, or the kernel refuses splice for
//! these descriptors), the direction falls back to buffers for the rest of the session
//! without losing a byte.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
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

/// Stands for "no deadline" when a timeout is too large to add to an instant.
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
/// At most one fallback warning per this many seconds, process-wide.
const WARN_EVERY_SECS: u64 = 10;

static PIPES: Mutex<Vec<Pipe>> = Mutex::new(Vec::new());
static BUFFERS: Mutex<Vec<Box<[u8]>>> = Mutex::new(Vec::new());

/// Directions that fell back from splice to buffers (once per direction and session).
pub static SPLICE_FALLBACKS: AtomicU64 = AtomicU64::new(0);
/// When the last fallback warning was logged: seconds since `EPOCH`, plus one (0: never).
static LAST_FALLBACK_WARN: AtomicU64 = AtomicU64::new(0);
static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Pipes that exist (in use by a session or pooled).
static PIPES_ALIVE: AtomicU64 = AtomicU64::new(0);
/// Bytes delivered to clients out of a pipe (spliced) since start.
static SPLICED_OUT: AtomicU64 = AtomicU64::new(0);

/// Pipes in use by sessions and pipes pooled for reuse (haproxy's `PipesUsed`,
/// `PipesFree`).
pub fn pipes() -> (u64, u64) {
    let free = PIPES.lock().map_or(0, |v| v.len() as u64);
    let alive = PIPES_ALIVE.load(Ordering::Relaxed);
    (alive.saturating_sub(free), free)
}

/// Bytes delivered to clients through splice(2) since start (haproxy's
/// `TotalSplicdedBytesOut`).
pub fn spliced_out() -> u64 {
    SPLICED_OUT.load(Ordering::Relaxed)
}

/// How many directions fell back from splice to buffered relaying since start.
pub fn splice_fallbacks() -> u64 {
    SPLICE_FALLBACKS.load(Ordering::Relaxed)
}

/// Counts a fallback and warns, at most every `WARN_EVERY_SECS` process-wide.
fn note_fallback(err: &io::Error) {
    SPLICE_FALLBACKS.fetch_add(1, Ordering::Relaxed);
    let now = EPOCH.get_or_init(Instant::now).elapsed().as_secs() + 1;
    let last = LAST_FALLBACK_WARN.load(Ordering::Relaxed);
    if (last == 0 || now >= last.saturating_add(WARN_EVERY_SECS))
        && LAST_FALLBACK_WARN
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!("relay: splice unavailable ({err}); relaying this session buffered");
    }
}

/// An error about splice itself or the pipe rather than the socket: EINVAL (these
/// descriptors cannot splice), ENOSYS, EOPNOTSUPP, EBADF (no usable pipe end).
fn splice_unusable(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::EBADF)
    )
}

/// Told about bytes as they move, so counters do not wait for a long session to end.
pub trait Meter: Send + Sync {
    /// `upstream`: client → server. Called after each successful move with the bytes moved.
    fn moved(&self, upstream: bool, bytes: u64);
}

/// A meter that counts nothing.
pub struct NoMeter;

impl Meter for NoMeter {
    fn moved(&self, _: bool, _: u64) {}
}

#[cfg(test)]
thread_local! {
    /// Test hook: `Pipe::get` fails with EMFILE.
    static FAIL_PIPE_GET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Test hook: splicing out of a pipe fails with EINVAL (data stays in the pipe).
    static FAIL_SPLICE_OUT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn get_buffer() -> Box<[u8]> {
    BUFFERS
        .lock()
        .ok()
        .and_then(|mut v| v.pop())
        .unwrap_or_else(|| vec![0u8; BUF].into_boxed_slice())
}

fn put_buffer(b: Box<[u8]>) {
    if b.len() != BUF {
        // An odd-sized buffer (a pipe drained on fallback) is not pooled.
        return;
    }
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

impl Drop for Pipe {
    fn drop(&mut self) {
        PIPES_ALIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Pipe {
    fn get() -> io::Result<Pipe> {
        #[cfg(test)]
        if FAIL_PIPE_GET.with(|f| f.get()) {
            return Err(io::Error::from_raw_os_error(libc::EMFILE));
        }
        if let Some(p) = PIPES.lock().ok().and_then(|mut v| v.pop()) {
            return Ok(p);
        }
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 fills two descriptors we then own.
        let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        PIPES_ALIVE.fetch_add(1, Ordering::Relaxed);
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

/// Splices out of a pipe into the destination socket.
fn splice_out(pipe: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    #[cfg(test)]
    if FAIL_SPLICE_OUT.with(|f| f.get()) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    splice(pipe, to, len)
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

/// Why the balancer closed a session itself (haproxy's first termination letter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KillCause {
    /// Its server was marked down (check or `maint`) with `on_marked_down:
    /// shutdown_sessions`: `D`.
    #[default]
    Down,
    /// It ran on a backup server and an active server came up, with `on_marked_up:
    /// shutdown_backup_sessions`: `U`.
    BackupLeft,
    /// The operator's `shutdown sessions server L/S`: `K`.
    Operator,
}

/// A server's kill signal: bumped (with its cause) to close the server's sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Kill {
    pub generation: u64,
    pub cause: KillCause,
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
    /// Closed by the balancer: `DD` (server marked down) or `UD` (an active server came
    /// up while this session used a backup).
    Killed(KillCause),
}

impl End {
    pub fn code(self) -> &'static str {
        match self {
            End::Normal => "--",
            End::ClientAbort => "CD",
            End::ServerAbort => "SD",
            End::ClientTimeout => "cD",
            End::ServerTimeout => "sD",
            End::Killed(KillCause::Down) => "DD",
            End::Killed(KillCause::BackupLeft) => "UD",
            End::Killed(KillCause::Operator) => "KD",
        }
    }

    /// haproxy's abort counters: `Some(true)` for `cli_abrt` (the client aborted or
    /// timed out), `Some(false)` for `srv_abrt` (the server did).
    pub fn abort_side(self) -> Option<bool> {
        match self {
            End::ClientAbort | End::ClientTimeout => Some(true),
            End::ServerAbort | End::ServerTimeout => Some(false),
            _ => None,
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
    /// splice allowed (Mode::Splice, and splice has not failed in this direction); it
    /// is used while the transfer is bulky.
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
    /// Bytes read from the source (the session total).
    moved: u64,
    /// Bytes delivered to the destination not yet told to the meter.
    delivered: u64,
    /// Of those, the bytes delivered out of the pipe.
    spliced: u64,
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
            delivered: 0,
            spliced: 0,
        }
    }

    /// `step_io`, then tells the meter what that step delivered (once per step).
    async fn step(
        &mut self,
        src: &TcpStream,
        dst: &TcpStream,
        other_done: bool,
        upstream: bool,
        meter: &dyn Meter,
    ) -> Result<Step, (Side, io::Error)> {
        let r = self.step_io(src, dst, other_done).await;
        let n = std::mem::take(&mut self.delivered);
        let spliced = std::mem::take(&mut self.spliced);
        if spliced > 0 && !upstream {
            SPLICED_OUT.fetch_add(spliced, Ordering::Relaxed);
        }
        if n > 0 {
            meter.moved(upstream, n);
        }
        r
    }

    /// Waits for readiness and moves what it can. Cancel-safe: all waiting happens
    /// before any data is touched.
    async fn step_io(
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
    ///
    /// Called with nothing pending. If splice cannot be used (no pipe, or the kernel
    /// refuses it), the direction falls back to buffers and reads through one at once.
    fn fill(&mut self, src: &TcpStream) -> io::Result<usize> {
        if self.splice_ok && self.bulk && self.pipe.is_none() {
            match Pipe::get() {
                Ok(p) => self.pipe = Some(p),
                Err(e) => self.fall_back(&e),
            }
        }
        if self.splice_ok && self.bulk {
            let w = self.pipe.as_ref().map(|p| p.w.as_raw_fd()).unwrap_or(-1);
            match src.try_io(Interest::READABLE, || splice(src.as_raw_fd(), w, CHUNK)) {
                Ok(n) => {
                    if n < BUF {
                        self.bulk = false;
                    }
                    self.in_pipe = true;
                    self.pending = n;
                    self.moved += n as u64;
                    return Ok(n);
                }
                Err(e) if splice_unusable(&e) => {
                    // Nothing moved and the pipe is empty: close it, go buffered.
                    self.pipe = None;
                    self.fall_back(&e);
                }
                Err(e) => return Err(e),
            }
        }
        let n = {
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
                    let pending = self.pending;
                    match dst.try_io(Interest::WRITABLE, || {
                        splice_out(r, dst.as_raw_fd(), pending)
                    }) {
                        Err(e) if splice_unusable(&e) => {
                            // The pipe still holds the data: move it into a buffer and
                            // deliver it from there, buffered from now on.
                            self.fall_back(&e);
                            self.drain_pipe().map_err(|e| (Side::Dst, e))?;
                            continue;
                        }
                        r => r,
                    }
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
                    self.delivered += n as u64;
                    if self.in_pipe {
                        self.spliced += n as u64;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err((Side::Dst, e)),
            }
        }
        self.release();
        Ok(())
    }

    /// Splice is unusable in this direction: buffered relaying from now on.
    fn fall_back(&mut self, e: &io::Error) {
        if self.splice_ok {
            self.splice_ok = false;
            self.bulk = false;
            note_fallback(e);
        }
    }

    /// Moves the bytes pending in the pipe into a buffer (read(2) on the pipe needs no
    /// splice), then closes the pipe. Errors only if the pipe itself fails.
    fn drain_pipe(&mut self) -> io::Result<()> {
        let Some(pipe) = self.pipe.take() else {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        };
        let want = self.pending;
        let mut buf = match self.buf.take() {
            Some(b) if b.len() >= want => b,
            Some(b) => {
                put_buffer(b);
                vec![0u8; want].into_boxed_slice()
            }
            None if want <= BUF => get_buffer(),
            None => vec![0u8; want].into_boxed_slice(),
        };
        let mut got = 0usize;
        while got < want {
            // SAFETY: read into our buffer, within its length (want <= buf.len()).
            let n = unsafe {
                libc::read(
                    pipe.r.as_raw_fd(),
                    buf[got..].as_mut_ptr().cast(),
                    want - got,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            got += n as usize;
        }
        // Empty now, but it is the pipe splice failed with: closed, not pooled.
        drop(pipe);
        self.buf = Some(buf);
        self.start = 0;
        self.in_pipe = false;
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

/// `at + d`, or `None` (no deadline) when that is beyond what an `Instant` holds.
fn deadline(at: Instant, d: Duration) -> Option<Instant> {
    at.checked_add(d)
}

/// The earlier of two deadlines; `None` is never.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// When the session timer should fire: the deadline, or far away if there is none.
fn timer_at(d: Option<Instant>) -> tokio::time::Instant {
    let at = d.unwrap_or_else(|| {
        let now = Instant::now();
        now.checked_add(FAR)
            .or_else(|| now.checked_add(Duration::from_secs(24 * 3600)))
            .unwrap_or(now)
    });
    tokio::time::Instant::from_std(at)
}

/// Relays until both directions are closed, a side fails, a timeout, `kill` fires (the
/// server's sessions are closed) or `own` is signalled (this session is closed by the
/// operator: `KD`). `meter` is told about bytes as they are delivered (at most once per
/// wakeup and direction); the totals are in the `Outcome` too.
pub async fn relay(
    client: &TcpStream,
    server: &TcpStream,
    mode: Mode,
    t: Timeouts,
    mut kill: watch::Receiver<Kill>,
    own: Option<&tokio::sync::Notify>,
    meter: &dyn Meter,
) -> Outcome {
    let own_kill = async {
        match own {
            Some(n) => n.notified().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(own_kill);
    let mut up = Dir::new(mode);
    let mut down = Dir::new(mode);
    let mut client_seen = Instant::now();
    let mut server_seen = client_seen;
    // haproxy in TCP: `timeout tunnel` replaces client/server once connected; after a
    // side's write half is shut, reading from it is limited by its *_fin timeout. Once a
    // side has sent its FIN nothing more is read from it, so its timeout only limits
    // writing to it: it runs while data waits to be delivered there, never while the
    // session merely waits for the other side (a client that half-closes after its
    // request waits for a slow answer as long as the server's timeout allows). Moving
    // data either way refreshes both sides (a write refreshes that side's read timer).
    let idle_limits = |up: &Dir, down: &Dir| {
        let c = if up.eof && down.pending == 0 {
            None
        } else if down.done {
            Some(t.client_fin)
        } else {
            Some(t.tunnel.unwrap_or(t.client))
        };
        let s = if down.eof && up.pending == 0 {
            None
        } else if up.done {
            Some(t.server_fin)
        } else {
            Some(t.tunnel.unwrap_or(t.server))
        };
        (c, s)
    };
    let due = |up: &Dir, down: &Dir, client_seen: Instant, server_seen: Instant| {
        let (c, s) = idle_limits(up, down);
        (
            c.and_then(|c| deadline(client_seen, c)),
            s.and_then(|s| deadline(server_seen, s)),
        )
    };
    // One timer for the session, re-armed when it fires early (activity moved the
    // deadline later) or when a deadline comes due sooner than the armed one (a
    // half-close, data waiting for a side): no timer churn per chunk of data.
    let (cd, sd) = due(&up, &down, client_seen, server_seen);
    let mut armed = earliest(cd, sd);
    let timer = tokio::time::sleep_until(timer_at(armed));
    tokio::pin!(timer);
    // The client's timeout expired while the server could still answer: the session
    // goes on half-closed and is logged `cD` however it ends.
    let mut client_timed_out = false;
    let end = loop {
        if up.done && down.done {
            break if client_timed_out {
                End::ClientTimeout
            } else {
                End::Normal
            };
        }
        let (cd, sd) = due(&up, &down, client_seen, server_seen);
        let next = earliest(cd, sd);
        if next.is_some_and(|n| armed.is_none_or(|a| n < a)) {
            armed = next;
            timer.as_mut().reset(timer_at(armed));
        }
        let (up_done, down_done) = (up.done, down.done);
        tokio::select! {
            r = up.step(client, server, down_done, true, meter), if !up_done => match r {
                Ok(Step::Moved | Step::Eof) => {
                    client_seen = Instant::now();
                    server_seen = client_seen;
                }
                Ok(Step::Idle | Step::Done) => {}
                Err((Side::Src, _)) => break End::ClientAbort,
                Err((Side::Dst, _)) => break End::ServerAbort,
            },
            r = down.step(server, client, up_done, false, meter), if !down_done => match r {
                Ok(Step::Moved | Step::Eof) => {
                    server_seen = Instant::now();
                    client_seen = server_seen;
                }
                Ok(Step::Idle | Step::Done) => {}
                Err((Side::Src, _)) => break End::ServerAbort,
                Err((Side::Dst, _)) => break End::ClientAbort,
            },
            () = &mut timer => {
                let now = Instant::now();
                if cd.is_some_and(|cd| now >= cd) {
                    // haproxy 2.6: the client's timeout stops reading from the client
                    // and forwards a FIN to the server (a read timeout shuts the read
                    // side only); what the server still sends reaches the client under
                    // the server-side timeouts (`server_fin` from now on), so a query
                    // running longer than `timeout client` still gets its answer.
                    // With nothing more to come from the server, or data from the
                    // client still waiting for it, the session ends here.
                    if !up.done && !up.eof && up.pending == 0 && !down.eof {
                        client_timed_out = true;
                        up.eof = true;
                        up.release();
                        let _ = socket2::SockRef::from(server).shutdown(std::net::Shutdown::Write);
                        up.done = true;
                        tracing::trace!("client timeout: FIN forwarded to the server, waiting for the rest of its answer");
                        continue;
                    }
                    break End::ClientTimeout;
                }
                if sd.is_some_and(|sd| now >= sd) {
                    // As haproxy, the first error names the session: after the
                    // client's timeout it stays `cD` (with equal `client` and `server`
                    // timeouts, the common case, both come due together).
                    break if client_timed_out {
                        End::ClientTimeout
                    } else {
                        End::ServerTimeout
                    };
                }
                armed = next;
                timer.as_mut().reset(timer_at(armed));
            }
            r = kill.changed() => if r.is_ok() { break End::Killed(kill.borrow().cause) },
            () = &mut own_kill => break End::Killed(KillCause::Operator),
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

    fn payload(len: u32, salt: u32) -> Vec<u8> {
        (0..len).map(|i| ((i + salt) % 251) as u8).collect()
    }

    /// Bulky transfers both ways, each followed by a half-close: every byte arrives, in
    /// order, and each FIN is forwarded while the other direction keeps flowing.
    async fn bulk_both_ways(mode: Mode, t: Timeouts) -> Outcome {
        let (mut client, a, b, mut server) = pair().await;
        let (_k, kill) = watch::channel(Kill::default());
        let relay = tokio::spawn(async move { relay(&a, &b, mode, t, kill, None, &NoMeter).await });
        let up = payload(300_000, 0);
        let down = payload(200_000, 7);
        client.write_all(&up).await.expect("write");
        client.shutdown().await.expect("client FIN");
        let mut got = Vec::new();
        server
            .read_to_end(&mut got)
            .await
            .expect("server reads to EOF");
        assert!(got == up, "{mode:?}: upstream bytes differ");
        server.write_all(&down).await.expect("reply");
        server.shutdown().await.expect("server FIN");
        let mut back = Vec::new();
        client.read_to_end(&mut back).await.expect("client reads");
        assert!(back == down, "{mode:?}: downstream bytes differ");
        let out = relay.await.expect("relay");
        assert_eq!(out.end, End::Normal);
        assert_eq!(out.bytes_in, 300_000);
        assert_eq!(out.bytes_out, 200_000);
        out
    }

    /// Relays bulk data both ways with `fault` switched on; both directions must fall back.
    async fn with_fault(fault: &'static std::thread::LocalKey<std::cell::Cell<bool>>) {
        fault.with(|f| f.set(true));
        let before = splice_fallbacks();
        bulk_both_ways(Mode::Splice, t(10)).await;
        fault.with(|f| f.set(false));
        // Once per direction (other tests may add theirs concurrently).
        assert!(splice_fallbacks() >= before + 2);
    }

    /// No pipe can be had (EMFILE): both directions relay buffered, nothing lost.
    #[tokio::test]
    async fn splice_falls_back_when_no_pipe() {
        with_fault(&FAIL_PIPE_GET).await;
    }

    /// splice out of the pipe fails (EINVAL) while the pipe holds data: the data is
    /// drained into a buffer and delivered, then the direction stays buffered.
    #[tokio::test]
    async fn splice_falls_back_with_data_in_pipe() {
        with_fault(&FAIL_SPLICE_OUT).await;
    }

    #[test]
    fn splice_errors_are_told_from_socket_errors() {
        for e in [libc::EINVAL, libc::ENOSYS, libc::EOPNOTSUPP, libc::EBADF] {
            assert!(splice_unusable(&io::Error::from_raw_os_error(e)), "{e}");
        }
        for e in [libc::ECONNRESET, libc::EPIPE, libc::ETIMEDOUT, libc::EAGAIN] {
            assert!(!splice_unusable(&io::Error::from_raw_os_error(e)), "{e}");
        }
    }

    /// Timeouts too large to add to an instant mean "no deadline", not a panic.
    #[tokio::test]
    async fn huge_timeouts_do_not_panic() {
        let huge = Duration::from_secs(u64::MAX);
        let mut tt = Timeouts {
            client: huge,
            server: huge,
            tunnel: None,
            client_fin: huge,
            server_fin: huge,
        };
        for mode in [Mode::Splice, Mode::Buffered] {
            bulk_both_ways(mode, tt).await;
        }
        tt.tunnel = Some(huge);
        bulk_both_ways(Mode::Splice, tt).await;
    }

    #[derive(Default)]
    struct Counting {
        up: AtomicU64,
        down: AtomicU64,
        calls: AtomicU64,
    }

    impl Meter for Counting {
        fn moved(&self, upstream: bool, bytes: u64) {
            let c = if upstream { &self.up } else { &self.down };
            c.fetch_add(bytes, Ordering::SeqCst);
            self.calls.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Waits (briefly) for a counter to reach `want`.
    async fn reaches(c: &AtomicU64, want: u64) -> u64 {
        for _ in 0..200 {
            if c.load(Ordering::SeqCst) >= want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        c.load(Ordering::SeqCst)
    }

    /// The meter sees the bytes delivered each way while the session is still open,
    /// and in the end exactly the session's totals.
    #[tokio::test]
    async fn meter_counts_bytes_while_open() {
        for mode in [Mode::Splice, Mode::Buffered] {
            let (mut client, a, b, mut server) = pair().await;
            let (_k, kill) = watch::channel(Kill::default());
            let m = std::sync::Arc::new(Counting::default());
            let m2 = m.clone();
            let relay =
                tokio::spawn(async move { relay(&a, &b, mode, t(10), kill, None, &*m2).await });

            let up = payload(250_000, 1);
            client.write_all(&up).await.expect("write");
            let mut got = vec![0u8; up.len()];
            server.read_exact(&mut got).await.expect("server reads");
            assert!(got == up);
            assert_eq!(reaches(&m.up, 250_000).await, 250_000, "{mode:?}");
            assert_eq!(m.down.load(Ordering::SeqCst), 0);

            let down = payload(70_000, 3);
            server.write_all(&down).await.expect("reply");
            let mut back = vec![0u8; down.len()];
            client.read_exact(&mut back).await.expect("client reads");
            assert!(back == down);
            assert_eq!(reaches(&m.down, 70_000).await, 70_000, "{mode:?}");
            // Seen while both sides are still open.
            assert!(!relay.is_finished(), "{mode:?}");
            // Batched: far fewer calls than bytes (at most once per step).
            assert!(m.calls.load(Ordering::SeqCst) < 320_000 / 1024);

            client.write_all(b"bye").await.expect("bye");
            client.shutdown().await.expect("client FIN");
            let mut rest = Vec::new();
            server.read_to_end(&mut rest).await.expect("server EOF");
            assert_eq!(rest, b"bye");
            server.shutdown().await.expect("server FIN");
            let mut rest = Vec::new();
            client.read_to_end(&mut rest).await.expect("client EOF");
            assert!(rest.is_empty());
            let out = relay.await.expect("relay");
            assert_eq!(out.end, End::Normal);
            assert_eq!(out.bytes_in, 250_003);
            assert_eq!(out.bytes_out, 70_000);
            assert_eq!(m.up.load(Ordering::SeqCst), out.bytes_in, "{mode:?}");
            assert_eq!(m.down.load(Ordering::SeqCst), out.bytes_out, "{mode:?}");
        }
    }

    #[tokio::test]
    async fn both_modes_forward_bytes_and_half_close() {
        for mode in [Mode::Splice, Mode::Buffered] {
            let (mut client, a, b, mut server) = pair().await;
            let (_k, kill) = watch::channel(Kill::default());
            let relay =
                tokio::spawn(async move { relay(&a, &b, mode, t(10), kill, None, &NoMeter).await });
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
        let (_k, kill) = watch::channel(Kill::default());
        let mut tt = t(10);
        tt.server = Duration::from_millis(200);
        let out = relay(&a, &b, Mode::Splice, tt, kill, None, &NoMeter).await;
        assert_eq!(out.end, End::ServerTimeout);

        let (_client, a, b, _server) = pair().await;
        let (k, kill) = watch::channel(Kill::default());
        let h = tokio::spawn(async move {
            relay(&a, &b, Mode::Buffered, t(10), kill, None, &NoMeter).await
        });
        let _ = k.send(Kill {
            generation: 1,
            cause: KillCause::BackupLeft,
        });
        let end = h.await.expect("join").end;
        assert_eq!(end, End::Killed(KillCause::BackupLeft));
        assert_eq!(end.code(), "UD");

        // The session's own signal, given before the relay starts (a permit kept
        // for it) or while it runs, closes that session only.
        for before in [true, false] {
            let (_client, a, b, _server) = pair().await;
            let (_k, kill) = watch::channel(Kill::default());
            let own = std::sync::Arc::new(tokio::sync::Notify::new());
            if before {
                own.notify_one();
            }
            let o = own.clone();
            let h = tokio::spawn(async move {
                relay(&a, &b, Mode::Splice, t(10), kill, Some(&o), &NoMeter).await
            });
            if !before {
                tokio::time::sleep(Duration::from_millis(50)).await;
                own.notify_one();
            }
            let end = h.await.expect("join").end;
            assert_eq!(end, End::Killed(KillCause::Operator));
            assert_eq!(end.code(), "KD");
        }
    }

    /// After the client's FIN its timeout runs only while data waits for it: a slow
    /// server is waited for (the server's timeout), a client that stops reading the
    /// answer is still dropped (its own timeout).
    #[tokio::test]
    async fn half_closed_client_times_out_only_on_writes_to_it() {
        let mut tt = t(10);
        tt.client = Duration::from_millis(200);
        for mode in [Mode::Splice, Mode::Buffered] {
            let (mut client, a, b, mut server) = pair().await;
            let (_k, kill) = watch::channel(Kill::default());
            let relay =
                tokio::spawn(async move { relay(&a, &b, mode, tt, kill, None, &NoMeter).await });
            client.write_all(b"q").await.expect("write");
            client.shutdown().await.expect("client FIN");
            let mut got = Vec::new();
            server.read_to_end(&mut got).await.expect("server EOF");
            tokio::time::sleep(Duration::from_millis(600)).await;
            assert!(!relay.is_finished(), "{mode:?}: the client timeout ran");
            // The client never reads: the answer piles up and the client timeout ends it.
            let big = vec![7u8; 1 << 20];
            let writer = tokio::spawn(async move {
                for _ in 0..64 {
                    if server.write_all(&big).await.is_err() {
                        break;
                    }
                }
            });
            let out = tokio::time::timeout(Duration::from_secs(10), relay)
                .await
                .expect("relay ends")
                .expect("join");
            assert_eq!(out.end, End::ClientTimeout, "{mode:?}");
            writer.abort();
        }
    }

    /// haproxy 2.6: the client's timeout during a long query (nothing moves either way)
    /// half-closes toward the server; the answer that comes later still reaches the
    /// client, and the session is logged `cD`.
    #[tokio::test]
    async fn client_timeout_lets_a_late_answer_through() {
        let mut tt = t(10);
        tt.client = Duration::from_millis(200);
        for mode in [Mode::Splice, Mode::Buffered] {
            let (mut client, a, b, mut server) = pair().await;
            let (_k, kill) = watch::channel(Kill::default());
            let relay =
                tokio::spawn(async move { relay(&a, &b, mode, tt, kill, None, &NoMeter).await });
            client.write_all(b"SELECT SLEEP(1)").await.expect("write");
            let mut q = [0u8; 15];
            server.read_exact(&mut q).await.expect("query");
            // The client's timeout passes: the server gets the FIN, the session stays.
            let mut rest = Vec::new();
            server.read_to_end(&mut rest).await.expect("server EOF");
            assert!(rest.is_empty());
            assert!(!relay.is_finished(), "{mode:?}");
            server.write_all(b"the answer").await.expect("answer");
            server.shutdown().await.expect("server FIN");
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.expect("client reads");
            assert_eq!(got, b"the answer", "{mode:?}");
            let out = tokio::time::timeout(Duration::from_secs(10), relay)
                .await
                .expect("relay ends")
                .expect("join");
            assert_eq!(out.end, End::ClientTimeout, "{mode:?}");
            assert_eq!((out.bytes_in, out.bytes_out), (15, 10));
        }
    }

    /// Equal `client` and `server` timeouts on an idle session (haproxy's usual `timeout
    /// client 8h` + `timeout server 8h`): both come due together, and the session is
    /// logged `cD` as haproxy logs it, not `sD`.
    #[tokio::test]
    async fn equal_idle_timeouts_end_as_a_client_timeout() {
        let mut tt = t(10);
        tt.client = Duration::from_millis(200);
        tt.server = Duration::from_millis(200);
        tt.server_fin = Duration::from_millis(200);
        for mode in [Mode::Splice, Mode::Buffered] {
            let (_client, a, b, _server) = pair().await;
            let (_k, kill) = watch::channel(Kill::default());
            let out = tokio::time::timeout(
                Duration::from_secs(10),
                relay(&a, &b, mode, tt, kill, None, &NoMeter),
            )
            .await
            .expect("relay ends");
            assert_eq!(out.end, End::ClientTimeout, "{mode:?}");
            assert_eq!(out.end.code(), "cD");
        }
    }

    #[tokio::test]
    async fn reset_is_reported_on_the_right_side() {
        let (client, a, b, _server) = pair().await;
        let (_k, kill) = watch::channel(Kill::default());
        let h =
            tokio::spawn(
                async move { relay(&a, &b, Mode::Splice, t(10), kill, None, &NoMeter).await },
            );
        // RST from the client.
        let s = socket2::SockRef::from(&client);
        s.set_linger(Some(Duration::ZERO)).expect("linger");
        drop(client);
        let end = h.await.expect("join").end;
        assert!(matches!(end, End::ClientAbort | End::Normal), "{end:?}");
    }
}
