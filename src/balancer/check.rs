//! Health checks of balancer servers: `tcp` (a connection is accepted), `http` (a status
//! line with the expected code, the xinetd `check port 48700` pattern) and `mysql` (the
//! server's greeting; an ERR such as 1040 "Too many connections" or 1129 "host blocked"
//! means down; with a `user`, a login with an empty password and COM_QUIT so the server
//! does not count an aborted connect). The login names the auth plugin the server
//! announced (MySQL 8's `caching_sha2_password` included), answers an auth switch with
//! an empty password and follows caching_sha2_password's fast-auth success.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::balancer::{Check, CheckType};

/// A failed check, in words for the log: "connection refused", "HTTP status 503", ...
pub type Failure = String;

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::ConnectionReset => "connection reset".into(),
        std::io::ErrorKind::TimedOut => "timeout".into(),
        _ => os_words(e),
    }
}

/// An OS error in the log's style: "no route to host", not "No route to host (os error
/// 113)".
fn os_words(e: &std::io::Error) -> String {
    let text = crate::observe::logging::io_text(e);
    let mut c = text.chars();
    match c.next() {
        Some(f)
            if f.is_ascii_uppercase()
                && c.clone().next().is_some_and(|n| n.is_ascii_lowercase()) =>
        {
            f.to_ascii_lowercase().to_string() + c.as_str()
        }
        _ => text.to_string(),
    }
}

/// A check that passed: fully, or conditionally (an HTTP 404 under `disable_on_404`,
/// haproxy's `L7OKC`: the server is drained while it is up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// With the HTTP status of an `http` check.
    Full(Option<u16>),
    Conditional,
}

/// The code a check's failure text names: an HTTP status (`HTTP status 503, ...`) or a
/// MySQL error number (`MySQL error 1040: ...`), haproxy's `check_code`.
pub fn failure_code(f: &str) -> Option<u16> {
    f.strip_prefix("HTTP status ")
        .or_else(|| f.strip_prefix("MySQL error "))?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The failure an HTTP check reports for status `code`.
pub fn status_failure(code: u16, expect: Option<u16>) -> Failure {
    match expect {
        Some(e) => format!("HTTP status {code}, expected {e}"),
        None => format!("HTTP status {code}, expected 2xx or 3xx"),
    }
}

/// Runs one check against `addr` (its port replaced by the check's `port`), from the
/// listener's `source` address when it has one (as haproxy checks from `source`, so
/// grants and firewall rules written for the balancer's traffic hold for its checks).
pub async fn run(
    check: &Check,
    addr: SocketAddr,
    source: Option<std::net::IpAddr>,
) -> Result<Pass, Failure> {
    let target = SocketAddr::new(addr.ip(), check.port.unwrap_or(addr.port()));
    let timeout = check.timeout.unwrap_or(check.inter).get();
    match tokio::time::timeout(timeout, probe(check, target, source)).await {
        Ok(r) => r,
        Err(_) => Err(format!("timeout after {}ms", timeout.as_millis())),
    }
}

async fn connect(
    target: SocketAddr,
    source: Option<std::net::IpAddr>,
) -> Result<TcpStream, Failure> {
    let Some(src) = source else {
        return TcpStream::connect(target).await.map_err(|e| io_reason(&e));
    };
    let sock = if target.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(|e| io_reason(&e))?;
    sock.bind(SocketAddr::new(src, 0))
        .map_err(|e| format!("cannot bind the source address {src}: {}", io_reason(&e)))?;
    sock.connect(target).await.map_err(|e| io_reason(&e))
}

async fn probe(
    check: &Check,
    target: SocketAddr,
    source: Option<std::net::IpAddr>,
) -> Result<Pass, Failure> {
    let mut s = connect(target, source).await?;
    match check.kind {
        CheckType::Tcp => tcp(&mut s, check).await.map(|()| Pass::Full(None)),
        CheckType::Http => http(&mut s, check, target).await,
        // haproxy's `check_code` of a passed mysql check is 0.
        CheckType::Mysql => mysql(&mut s, check.user.as_deref())
            .await
            .map(|()| Pass::Full(Some(0))),
    }
}

/// The most of a reply a `tcp` check reads looking for its `expect` text.
const EXPECT_READ_MAX: usize = 16 * 1024;

/// `tcp`: connected is up; with `send`, that is written first; with `expect`, the reply
/// must contain that text (read until it shows, the server closes, or 16 KiB came).
async fn tcp(s: &mut TcpStream, check: &Check) -> Result<(), Failure> {
    if let Some(d) = &check.send {
        s.write_all(d.as_bytes()).await.map_err(|e| io_reason(&e))?;
    }
    let Some(want) = &check.expect else {
        return Ok(());
    };
    let want = want.as_bytes();
    let mut got: Vec<u8> = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        if got.windows(want.len()).any(|w| w == want) {
            return Ok(());
        }
        if got.len() >= EXPECT_READ_MAX {
            return Err(format!(
                "no `{}` in the first {EXPECT_READ_MAX} bytes of the reply",
                String::from_utf8_lossy(want)
            ));
        }
        let n = s.read(&mut buf).await.map_err(|e| io_reason(&e))?;
        if n == 0 {
            let seen = String::from_utf8_lossy(&got);
            let seen: String = seen
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(60)
                .collect();
            return Err(format!(
                "reply without `{}` (got: {:?})",
                String::from_utf8_lossy(want),
                seen.trim()
            ));
        }
        got.extend_from_slice(&buf[..n]);
    }
}

async fn http(s: &mut TcpStream, check: &Check, target: SocketAddr) -> Result<Pass, Failure> {
    let req = format!(
        "GET {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: tandem-check\r\nConnection: close\r\n\r\n",
        check.path, target
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| io_reason(&e))?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let n = s.read(&mut buf).await.map_err(|e| io_reason(&e))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or("");
    let code: Option<u16> = line
        .strip_prefix("HTTP/")
        .and_then(|r| r.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok());
    match code {
        // Before `expect_status`, as haproxy's disable-on-404 takes precedence over
        // `http-check expect`.
        Some(404) if check.disable_on_404 => Ok(Pass::Conditional),
        Some(c) if status_passes(c, check.expect_status) => Ok(Pass::Full(Some(c))),
        Some(c) => Err(status_failure(c, check.expect_status)),
        None if line.is_empty() => Err("no HTTP response".into()),
        None => Err(format!("not an HTTP response: {:.40}", line)),
    }
}

/// Whether an HTTP check's status means up: the configured `expect_status`, or, as
/// haproxy's `option httpchk` without `http-check expect`, any 2xx or 3xx.
pub fn status_passes(code: u16, expect: Option<u16>) -> bool {
    match expect {
        Some(e) => code == e,
        None => (200..400).contains(&code),
    }
}

/// Reads one MySQL packet: (sequence id, payload). `what` names the awaited packet for
/// the reason when the server closes the connection ("greeting", "login reply").
async fn read_packet(s: &mut TcpStream, what: &str) -> Result<(u8, Vec<u8>), Failure> {
    let eof = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            format!("connection closed before the {what}")
        } else {
            io_reason(&e)
        }
    };
    let mut h = [0u8; 4];
    s.read_exact(&mut h).await.map_err(eof)?;
    let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
    if len > 1 << 16 {
        return Err(format!("oversized packet ({len} bytes)"));
    }
    let mut p = vec![0u8; len];
    s.read_exact(&mut p).await.map_err(eof)?;
    Ok((h[3], p))
}

/// Writes one MySQL packet with sequence id `seq`.
async fn write_packet(s: &mut TcpStream, seq: u8, body: &[u8]) -> Result<(), Failure> {
    let len = u32::try_from(body.len())
        .ok()
        .filter(|&l| l < 1 << 24)
        .ok_or_else(|| format!("oversized packet ({} bytes)", body.len()))?;
    let mut pkt = Vec::with_capacity(body.len() + 4);
    pkt.extend_from_slice(&len.to_le_bytes()[..3]);
    pkt.push(seq);
    pkt.extend_from_slice(body);
    s.write_all(&pkt).await.map_err(|e| io_reason(&e))
}

/// "1040 Too many connections" from an ERR packet payload.
fn err_text(p: &[u8]) -> String {
    if p.len() < 3 {
        return "MySQL error".into();
    }
    let code = u16::from_le_bytes([p[1], p[2]]);
    // 4.1 protocol: '#' + 5-byte SQL state before the message.
    let msg = if p.get(3) == Some(&b'#') && p.len() >= 9 {
        &p[9..]
    } else {
        &p[3..]
    };
    format!("MySQL error {code}: {}", String::from_utf8_lossy(msg))
}

const CLIENT_LONG_PASSWORD: u32 = 0x1;
#[cfg(test)]
const CLIENT_CONNECT_WITH_DB: u32 = 0x8;
const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
const CLIENT_PLUGIN_AUTH: u32 = 0x8_0000;

/// The authentication plugin assumed when the server announces none.
const NATIVE_PASSWORD: &[u8] = b"mysql_native_password";

/// Round trips allowed after the login packet (auth switch, fast-auth, OK).
const MAX_AUTH_ROUNDS: usize = 4;

/// A bounds-checked reader over a packet payload.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    /// A NUL-terminated string, without the NUL.
    fn cstr(&mut self) -> Option<&'a [u8]> {
        let end = self.0.iter().position(|&b| b == 0)?;
        let s = self.take(end)?;
        self.take(1)?;
        Some(s)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Parses a protocol-10 greeting payload (Protocol::HandshakeV10): the authentication
/// plugin the server announced, if it has CLIENT_PLUGIN_AUTH.
fn greeting_plugin(p: &[u8]) -> Result<Option<Vec<u8>>, Failure> {
    let bad = |what: &str| format!("malformed greeting ({what})");
    let mut c = Cursor(p);
    if c.u8() != Some(10) {
        return Err(bad("protocol"));
    }
    c.cstr().ok_or_else(|| bad("server version"))?;
    c.take(4).ok_or_else(|| bad("connection id"))?;
    c.take(8).ok_or_else(|| bad("auth data"))?;
    c.u8().ok_or_else(|| bad("filler"))?;
    let mut caps = u32::from(c.u16().ok_or_else(|| bad("capabilities"))?);
    let mut plugin = None;
    // Servers older than 4.1 may end the greeting here.
    if !c.is_empty() {
        c.u8().ok_or_else(|| bad("character set"))?;
        c.u16().ok_or_else(|| bad("status"))?;
        caps |= u32::from(c.u16().ok_or_else(|| bad("capabilities"))?) << 16;
        let auth_len = c.u8().ok_or_else(|| bad("auth data length"))?;
        c.take(10).ok_or_else(|| bad("reserved bytes"))?;
        if caps & CLIENT_SECURE_CONNECTION != 0 {
            let n = usize::from(auth_len).saturating_sub(8).max(13);
            c.take(n).ok_or_else(|| bad("auth data"))?;
        }
        if caps & CLIENT_PLUGIN_AUTH != 0 {
            // Some servers omit the final NUL (MySQL bug #59453).
            let name = c.cstr().unwrap_or(c.0);
            if !name.is_empty() {
                plugin = Some(name.to_vec());
            }
        }
    }
    if caps & CLIENT_PROTOCOL_41 == 0 {
        return Err("the server does not support the 4.1 protocol".into());
    }
    Ok(plugin)
}

/// HandshakeResponse41 for `user` with an empty password and the auth plugin `plugin`.
fn login_packet(user: &str, plugin: &[u8]) -> Vec<u8> {
    // No CLIENT_CONNECT_WITH_DB: the check user needs no database.
    let caps =
        CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH;
    let mut body = Vec::with_capacity(64 + user.len() + plugin.len());
    body.extend_from_slice(&caps.to_le_bytes());
    body.extend_from_slice(&(1u32 << 24).to_le_bytes());
    body.push(33); // utf8_general_ci
    body.extend_from_slice(&[0u8; 23]);
    body.extend_from_slice(user.as_bytes());
    body.push(0);
    body.push(0); // auth response length: empty password
    body.extend_from_slice(plugin);
    body.push(0);
    body
}

async fn mysql(s: &mut TcpStream, user: Option<&str>) -> Result<(), Failure> {
    let (_, greeting) = read_packet(s, "greeting").await?;
    match greeting.first() {
        Some(0xff) => return Err(err_text(&greeting)),
        Some(10) => {}
        Some(v) => return Err(format!("unexpected greeting (protocol {v})")),
        None => return Err("empty greeting".into()),
    }
    let Some(user) = user else {
        return Ok(());
    };
    let announced = greeting_plugin(&greeting)?;
    let plugin = announced.as_deref().unwrap_or(NATIVE_PASSWORD);
    write_packet(s, 1, &login_packet(user, plugin)).await?;
    let result = login_replies(s, user).await;
    if result.is_ok() {
        // COM_QUIT, sequence 0.
        let _ = s.write_all(&[1, 0, 0, 0, 0x01]).await;
    }
    result
}

/// Reads the server's replies to the login until OK or a failure, answering an auth
/// switch with an empty password and following caching_sha2_password's fast auth.
async fn login_replies(s: &mut TcpStream, user: &str) -> Result<(), Failure> {
    for _ in 0..MAX_AUTH_ROUNDS {
        let (seq, reply) = read_packet(s, "login reply").await?;
        match reply.first() {
            Some(0x00) => return Ok(()),
            Some(0xff) => return Err(err_text(&reply)),
            // Old (pre-4.1) password method switch: no plugin name.
            Some(0xfe) if reply.len() == 1 => {
                return Err(format!(
                    "the server asks user {user} for an old (pre-4.1) password"
                ));
            }
            // AuthSwitchRequest: plugin name + data; answer with an empty password.
            Some(0xfe) => write_packet(s, seq.wrapping_add(1), &[]).await?,
            // AuthMoreData from caching_sha2_password.
            Some(0x01) => match reply.get(1) {
                Some(0x03) => {} // fast auth success, an OK follows
                Some(0x04) => {
                    return Err(
                        "the check user needs an empty password (the server asks for full \
                         authentication)"
                            .into(),
                    );
                }
                _ => return Err("unexpected authentication data from the server".into()),
            },
            Some(b) => return Err(format!("unexpected reply to the login (0x{b:02x})")),
            None => return Err("empty reply to the login".into()),
        }
    }
    Err(format!(
        "no OK after {MAX_AUTH_ROUNDS} authentication round trips"
    ))
}

/// A server's check health, haproxy's `check.health` counter: 0..=`rise + fall - 1`, up
/// from `rise` on. A new server (or one out of maintenance) starts at `rise`: up, and
/// its first failure takes it down. A success adds one (and from `rise` on the server is
/// fully up: the top), a failure takes one (and below `rise` it is fully down: 0), so
/// `fall` failures and `rise` successes count in a row. The counter is what `show stat`
/// shows on the way: `UP 2/3`, `DOWN 1/2`, `check_health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    health: u32,
    rise: u32,
    fall: u32,
}

impl Health {
    /// A server starting up, or out of maintenance: up, the first check decides.
    pub fn fresh(rise: u32, fall: u32) -> Health {
        let (rise, fall) = (rise.max(1), fall.max(1));
        Health {
            health: rise,
            rise,
            fall,
        }
    }

    /// A server whose state is known (kept across a reload that changed its check).
    pub fn settled(up: bool, rise: u32, fall: u32) -> Health {
        let mut h = Health::fresh(rise, fall);
        h.health = if up { h.top() } else { 0 };
        h
    }

    fn top(&self) -> u32 {
        self.rise + self.fall - 1
    }

    pub fn up(&self) -> bool {
        self.health >= self.rise
    }

    /// haproxy's `check_health` column.
    pub fn value(&self) -> u32 {
        self.health
    }

    /// Sets the counter (at most `rise + fall - 1`): `on_error` moving it.
    pub fn set_value(&mut self, v: u32) {
        self.health = v.min(self.top());
    }

    /// Fully up or fully down (haproxy checks at `inter` or `downinter` then, at
    /// `fastinter` in between).
    pub fn settled_state(&self) -> bool {
        self.health == 0 || self.health == self.top()
    }

    /// A failure now would be counted in `chkfail` (haproxy: while health is above 0).
    pub fn counts_failure(&self) -> bool {
        self.health > 0
    }

    /// Feeds one result; returns the new state when it changed.
    pub fn observe(&mut self, ok: bool) -> Option<bool> {
        let was = self.up();
        if ok {
            if self.health < self.top() {
                self.health += 1;
                if self.health >= self.rise {
                    self.health = self.top();
                }
            }
        } else if self.health > 0 {
            self.health -= 1;
            if self.health < self.rise {
                self.health = 0;
            }
        }
        (self.up() != was).then_some(self.up())
    }

    /// haproxy's transitional status: `UP 2/3` (up, `2` more failures take it down, of
    /// `fall`) or `DOWN 1/2` (down, `1` success toward `rise`); `None` when settled.
    pub fn transition(&self) -> Option<(u32, u32)> {
        if self.up() {
            (self.health < self.top()).then(|| (self.health - self.rise + 1, self.fall))
        } else {
            (self.health > 0).then_some((self.health, self.rise))
        }
    }
}

/// The interval to wait before the next check, haproxy-style: `inter` while stable and
/// up, `fastinter` while changing state, `downinter` while down.
pub fn next_interval(check: &Check, up: bool, changing: bool) -> Duration {
    let inter = check.inter.get();
    if changing {
        check.fastinter.map(|d| d.get()).unwrap_or(inter)
    } else if up {
        inter
    } else {
        check.downinter.map(|d| d.get()).unwrap_or(inter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_read_as_the_other_reasons() {
        let e = std::io::Error::from_raw_os_error(libc::EHOSTUNREACH);
        assert_eq!(io_reason(&e), "no route to host");
        let e = std::io::Error::from_raw_os_error(libc::ENETUNREACH);
        assert_eq!(io_reason(&e), "network is unreachable");
        let e = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(io_reason(&e), "connection refused");
        let e = std::io::Error::other("TLS handshake failed");
        assert_eq!(io_reason(&e), "TLS handshake failed");
    }
    use crate::config::types::Dur;
    use tokio::net::TcpListener;

    fn check(kind: CheckType) -> Check {
        Check {
            kind,
            port: None,
            path: "/".into(),
            expect_status: None,
            disable_on_404: false,
            user: None,
            send: None,
            expect: None,
            inter: Dur::secs(2),
            fastinter: None,
            downinter: None,
            rise: 2,
            fall: 3,
            timeout: Some(Dur::millis(500)),
            observe: None,
            error_limit: 10,
            on_error: crate::config::balancer::OnError::FailCheck,
        }
    }

    async fn serve_once(reply: &'static [u8]) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let a = l.local_addr().expect("addr");
        tokio::spawn(async move {
            if let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 512];
                let _ = s.write_all(reply).await;
                let _ = tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await;
            }
        });
        a
    }

    /// `on_error`'s moves of the counter: `sudden_death` leaves one failure before down,
    /// `mark_down` none.
    #[test]
    fn on_error_moves_the_health_counter_as_haproxy() {
        let mut h = Health::settled(true, 2, 3);
        assert_eq!(h.value(), 4);
        h.set_value(3);
        assert_eq!(h.observe(false), None);
        assert_eq!(h.transition(), Some((1, 3)));
        assert_eq!(h.observe(false), Some(false));
        let mut h = Health::settled(true, 2, 3);
        h.set_value(2);
        assert_eq!(h.observe(false), Some(false));
        assert_eq!(h.value(), 0);
        h.set_value(99);
        assert_eq!(h.value(), 4);
    }

    /// With the listener's `source`, the check comes from that address (haproxy).
    #[tokio::test]
    async fn checks_come_from_the_source_address() {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let a = l.local_addr().expect("addr");
        let seen = tokio::spawn(async move {
            let mut from = Vec::new();
            for _ in 0..2 {
                if let Ok((_, peer)) = l.accept().await {
                    from.push(peer.ip());
                }
            }
            from
        });
        let src: std::net::IpAddr = "127.0.0.2".parse().expect("ip");
        assert_eq!(
            run(&check(CheckType::Tcp), a, Some(src)).await,
            Ok(Pass::Full(None))
        );
        assert_eq!(
            run(&check(CheckType::Tcp), a, None).await,
            Ok(Pass::Full(None))
        );
        let from = seen.await.expect("accepts");
        assert_eq!(
            from,
            vec![src, "127.0.0.1".parse::<std::net::IpAddr>().expect("ip")]
        );
        // An address the box does not hold is the check's failure, said as such.
        let e = run(
            &check(CheckType::Tcp),
            a,
            Some("192.0.2.1".parse().expect("ip")),
        )
        .await
        .expect_err("cannot bind");
        assert!(
            e.starts_with("cannot bind the source address 192.0.2.1: "),
            "{e}"
        );
    }

    /// haproxy's `tcp-check expect string` (the ClusterControl `mysqlchk` pattern): an
    /// open port alone does not pass; the reply must hold the text.
    #[tokio::test]
    async fn tcp_send_and_expect() {
        let mut c = check(CheckType::Tcp);
        c.expect = Some("MySQL master".into());
        let a = serve_once(b"HTTP/1.1 200 OK\r\n\r\nMySQL master is running.\r\n").await;
        assert_eq!(run(&c, a, None).await, Ok(Pass::Full(None)));
        let a = serve_once(b"HTTP/1.1 503 Service Unavailable\r\n\r\nMySQL slave is running.\r\n")
            .await;
        assert_eq!(
            run(&c, a, None).await,
            Err(
                "reply without `MySQL master` (got: \"HTTP/1.1 503 Service Unavailable    MySQL slave is running.\")"
                    .into()
            )
        );
        // `send` goes first; the reply echoes it here.
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let a = l.local_addr().expect("addr");
        tokio::spawn(async move {
            if let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 64];
                if let Ok(n) = s.read(&mut buf).await {
                    let _ = s.write_all(&buf[..n]).await;
                }
            }
        });
        c.send = Some("PING\r\n".into());
        c.expect = Some("PING".into());
        assert_eq!(run(&c, a, None).await, Ok(Pass::Full(None)));
    }

    #[tokio::test]
    async fn tcp_and_refused() {
        let a = serve_once(b"").await;
        assert_eq!(
            run(&check(CheckType::Tcp), a, None).await,
            Ok(Pass::Full(None))
        );
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let closed = l.local_addr().expect("addr");
        drop(l);
        assert_eq!(
            run(&check(CheckType::Tcp), closed, None).await,
            Err("connection refused".into())
        );
    }

    #[tokio::test]
    async fn http_status() {
        let a = serve_once(b"HTTP/1.1 200 OK\r\n\r\n").await;
        assert_eq!(
            run(&check(CheckType::Http), a, None).await,
            Ok(Pass::Full(Some(200)))
        );
        let a = serve_once(b"HTTP/1.1 503 Service Unavailable\r\n\r\n").await;
        assert_eq!(
            run(&check(CheckType::Http), a, None).await,
            Err("HTTP status 503, expected 2xx or 3xx".into())
        );
        // haproxy's `option httpchk` without `http-check expect`: 2xx and 3xx pass.
        for (reply, code) in [
            (&b"HTTP/1.1 204 No Content\r\n\r\n"[..], 204),
            (&b"HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n"[..], 302),
        ] {
            let a = serve_once(reply).await;
            assert_eq!(
                run(&check(CheckType::Http), a, None).await,
                Ok(Pass::Full(Some(code)))
            );
        }
        let a = serve_once(b"HTTP/1.1 404 Not Found\r\n\r\n").await;
        assert!(run(&check(CheckType::Http), a, None).await.is_err());
        // `expect_status` set: that status only.
        let mut exact = check(CheckType::Http);
        exact.expect_status = Some(200);
        let a = serve_once(b"HTTP/1.1 204 No Content\r\n\r\n").await;
        assert_eq!(
            run(&exact, a, None).await,
            Err("HTTP status 204, expected 200".into())
        );
        let a = serve_once(b"HTTP/1.1 200 OK\r\n\r\n").await;
        assert_eq!(run(&exact, a, None).await, Ok(Pass::Full(Some(200))));
        assert_eq!(failure_code("HTTP status 503, expected 200"), Some(503));
        assert_eq!(failure_code("connection refused"), None);
        assert_eq!(
            failure_code("MySQL error 1040: Too many connections"),
            Some(1040)
        );
        // `disable_on_404`: a 404 passes conditionally, even against `expect_status`.
        exact.disable_on_404 = true;
        let a = serve_once(b"HTTP/1.1 404 Not Found\r\n\r\n").await;
        assert_eq!(run(&exact, a, None).await, Ok(Pass::Conditional));
        let a = serve_once(b"HTTP/1.1 503 Service Unavailable\r\n\r\n").await;
        assert_eq!(
            run(&exact, a, None).await,
            Err("HTTP status 503, expected 200".into())
        );
    }

    #[tokio::test]
    async fn mysql_greeting_and_err() {
        // A minimal v10 greeting.
        static GREETING: &[u8] = b"\x0b\x00\x00\x00\x0a5.5.5-test\x00";
        let a = serve_once(GREETING).await;
        assert_eq!(
            run(&check(CheckType::Mysql), a, None).await,
            Ok(Pass::Full(Some(0)))
        );
        static TOO_MANY: &[u8] = b"\x17\x00\x00\x00\xff\x10\x04Too many connections";
        let a = serve_once(TOO_MANY).await;
        assert_eq!(
            run(&check(CheckType::Mysql), a, None).await,
            Err("MySQL error 1040: Too many connections".into())
        );
    }

    /// A step of a scripted fake MySQL server, after the greeting and the login.
    enum Step {
        /// Send a packet: sequence id and payload.
        Send(u8, Vec<u8>),
        /// Read one packet from the client.
        Recv,
    }

    async fn read_raw(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
        let mut h = [0u8; 4];
        s.read_exact(&mut h).await.ok()?;
        let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
        let mut p = vec![0u8; len];
        s.read_exact(&mut p).await.ok()?;
        Some((h[3], p))
    }

    async fn write_raw(s: &mut TcpStream, seq: u8, p: &[u8]) {
        let mut pkt = (p.len() as u32).to_le_bytes()[..3].to_vec();
        pkt.push(seq);
        pkt.extend_from_slice(p);
        let _ = s.write_all(&pkt).await;
    }

    /// A fake MySQL server for one connection: sends `greeting` (raw bytes, header
    /// included), reads the login, runs `steps`, then reads until the client closes.
    /// Returns the packets it received, in order.
    async fn fake_mysql(
        greeting: Vec<u8>,
        steps: Vec<Step>,
    ) -> (SocketAddr, tokio::task::JoinHandle<Vec<(u8, Vec<u8>)>>) {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let a = l.local_addr().expect("addr");
        let h = tokio::spawn(async move {
            let mut got = Vec::new();
            let Ok((mut s, _)) = l.accept().await else {
                return got;
            };
            let _ = s.write_all(&greeting).await;
            let wait = Duration::from_millis(300);
            if let Ok(Some(p)) = tokio::time::timeout(wait, read_raw(&mut s)).await {
                got.push(p);
            }
            for step in steps {
                match step {
                    Step::Send(seq, p) => write_raw(&mut s, seq, &p).await,
                    Step::Recv => {
                        if let Ok(Some(p)) = tokio::time::timeout(wait, read_raw(&mut s)).await {
                            got.push(p);
                        }
                    }
                }
            }
            while let Ok(Some(p)) = tokio::time::timeout(wait, read_raw(&mut s)).await {
                got.push(p);
            }
            got
        });
        (a, h)
    }

    /// A MySQL-8-like v10 greeting (header included) announcing `plugin`.
    fn greeting(plugin: &str) -> Vec<u8> {
        let caps: u32 = 0xdfff_ffff; // includes CLIENT_PLUGIN_AUTH and CLIENT_PROTOCOL_41
        let mut p = vec![10];
        p.extend_from_slice(b"8.4.0\0");
        p.extend_from_slice(&7u32.to_le_bytes());
        p.extend_from_slice(b"abcdefgh");
        p.push(0);
        p.extend_from_slice(&(caps as u16).to_le_bytes());
        p.push(255); // utf8mb4_0900_ai_ci
        p.extend_from_slice(&2u16.to_le_bytes());
        p.extend_from_slice(&((caps >> 16) as u16).to_le_bytes());
        p.push(21);
        p.extend_from_slice(&[0u8; 10]);
        p.extend_from_slice(b"ijklmnopqrst\0");
        p.extend_from_slice(plugin.as_bytes());
        p.push(0);
        let mut pkt = (p.len() as u32).to_le_bytes()[..3].to_vec();
        pkt.push(0);
        pkt.extend_from_slice(&p);
        pkt
    }

    fn ok_packet() -> Vec<u8> {
        vec![0, 0, 0, 2, 0, 0, 0]
    }

    fn user_check() -> Check {
        let mut c = check(CheckType::Mysql);
        c.user = Some("tandem_check".into());
        c
    }

    /// (capabilities, user, auth response, plugin name) of a HandshakeResponse41.
    fn parse_login(p: &[u8]) -> (u32, Vec<u8>, Vec<u8>, Vec<u8>) {
        let caps = u32::from_le_bytes(p[..4].try_into().expect("caps"));
        let rest = &p[32..];
        let nul = rest.iter().position(|&b| b == 0).expect("user NUL");
        let user = rest[..nul].to_vec();
        let rest = &rest[nul + 1..];
        let n = usize::from(rest[0]);
        let auth = rest[1..1 + n].to_vec();
        let rest = &rest[1 + n..];
        let nul = rest.iter().position(|&b| b == 0).expect("plugin NUL");
        (caps, user, auth, rest[..nul].to_vec())
    }

    #[tokio::test]
    async fn mysql_login_caching_sha2_ok() {
        let (a, h) = fake_mysql(
            greeting("caching_sha2_password"),
            vec![Step::Send(2, ok_packet())],
        )
        .await;
        assert_eq!(run(&user_check(), a, None).await, Ok(Pass::Full(Some(0))));
        let got = h.await.expect("fake");
        let (seq, login) = &got[0];
        assert_eq!(*seq, 1);
        let (caps, user, auth, plugin) = parse_login(login);
        assert_ne!(caps & CLIENT_PLUGIN_AUTH, 0);
        assert_ne!(caps & CLIENT_PROTOCOL_41, 0);
        assert_ne!(caps & CLIENT_SECURE_CONNECTION, 0);
        assert_eq!(caps & CLIENT_CONNECT_WITH_DB, 0);
        assert_eq!(user, b"tandem_check");
        assert!(auth.is_empty());
        assert_eq!(plugin, b"caching_sha2_password");
        // Then COM_QUIT, sequence 0.
        assert_eq!(got.get(1), Some(&(0, vec![0x01])));
    }

    #[tokio::test]
    async fn mysql_login_auth_switch_then_ok() {
        let mut switch = vec![0xfe];
        switch.extend_from_slice(b"caching_sha2_password\0");
        switch.extend_from_slice(b"01234567890123456789\0");
        let (a, h) = fake_mysql(
            greeting("mysql_native_password"),
            vec![
                Step::Send(2, switch),
                Step::Recv,
                Step::Send(4, ok_packet()),
            ],
        )
        .await;
        assert_eq!(run(&user_check(), a, None).await, Ok(Pass::Full(Some(0))));
        let got = h.await.expect("fake");
        let (_, _, _, plugin) = parse_login(&got[0].1);
        assert_eq!(plugin, b"mysql_native_password");
        assert_eq!(got.get(1), Some(&(3, vec![])), "empty switch response");
        assert_eq!(got.get(2), Some(&(0, vec![0x01])), "COM_QUIT");
    }

    #[tokio::test]
    async fn mysql_login_fast_auth_then_ok() {
        let (a, h) = fake_mysql(
            greeting("caching_sha2_password"),
            vec![Step::Send(2, vec![0x01, 0x03]), Step::Send(3, ok_packet())],
        )
        .await;
        assert_eq!(run(&user_check(), a, None).await, Ok(Pass::Full(Some(0))));
        let got = h.await.expect("fake");
        assert_eq!(got.len(), 2, "login and COM_QUIT only: {got:?}");
        assert_eq!(got[1], (0, vec![0x01]));
    }

    #[tokio::test]
    async fn mysql_login_full_auth_fails() {
        let (a, h) = fake_mysql(
            greeting("caching_sha2_password"),
            vec![Step::Send(2, vec![0x01, 0x04])],
        )
        .await;
        let r = run(&user_check(), a, None).await;
        let e = r.expect_err("full authentication is a failure");
        assert!(e.contains("the check user needs an empty password"), "{e}");
        let got = h.await.expect("fake");
        assert_eq!(got.len(), 1, "no COM_QUIT after a failure: {got:?}");
    }

    #[tokio::test]
    async fn mysql_login_access_denied() {
        let mut err = vec![0xff];
        err.extend_from_slice(&1045u16.to_le_bytes());
        err.extend_from_slice(b"#28000Access denied for user 'tandem_check'@'127.0.0.1'");
        let (a, _h) = fake_mysql(greeting("caching_sha2_password"), vec![Step::Send(2, err)]).await;
        assert_eq!(
            run(&user_check(), a, None).await,
            Err("MySQL error 1045: Access denied for user 'tandem_check'@'127.0.0.1'".into())
        );
    }

    #[tokio::test]
    async fn mysql_login_unexpected_reply_and_round_trips() {
        let (a, _h) = fake_mysql(
            greeting("caching_sha2_password"),
            vec![Step::Send(2, vec![0x42])],
        )
        .await;
        let e = run(&user_check(), a, None)
            .await
            .expect_err("unexpected reply");
        assert!(e.contains("unexpected reply to the login"), "{e}");
        // Endless fast-auth packets: bounded.
        let steps = (2..10).map(|i| Step::Send(i, vec![0x01, 0x03])).collect();
        let (a, _h) = fake_mysql(greeting("caching_sha2_password"), steps).await;
        let e = run(&user_check(), a, None).await.expect_err("bounded");
        assert!(e.contains("round trips"), "{e}");
    }

    #[tokio::test]
    async fn mysql_bad_greetings_fail() {
        let good = greeting("caching_sha2_password");
        let body = &good[4..];
        // Every truncation of a good greeting, a few garbage payloads.
        let mut bodies: Vec<Vec<u8>> = (1..body.len() - 1).map(|n| body[..n].to_vec()).collect();
        bodies.push(b"\x0a\xff\xff\xff".to_vec());
        bodies.push(b"\x0a".to_vec());
        bodies.push(vec![]);
        bodies.push(b"\x09garbage".to_vec());
        for b in bodies {
            let mut pkt = (b.len() as u32).to_le_bytes()[..3].to_vec();
            pkt.push(0);
            pkt.extend_from_slice(&b);
            // A server that would accept any login: a failure can only come from the
            // greeting itself.
            let (a, _h) = fake_mysql(pkt, vec![Step::Send(2, ok_packet())]).await;
            match run(&user_check(), a, None).await {
                Err(e) => assert!(!e.is_empty()),
                // A pre-4.1-style greeting (ending after the capabilities), or one
                // whose plugin name lacks its NUL or is cut, is still usable.
                Ok(_) => assert!(b.len() == 22 || b.len() >= 51, "{b:?} accepted"),
            }
        }
        // Specific reasons.
        let (a, _h) = fake_mysql(b"\x03\x00\x00\x00\x0a8.4".to_vec(), vec![]).await;
        assert_eq!(
            run(&user_check(), a, None).await,
            Err("malformed greeting (server version)".into())
        );
        let (a, _h) = fake_mysql(b"\x01\x00\x00\x00\x0a".to_vec(), vec![]).await;
        let e = run(&user_check(), a, None).await.expect_err("truncated");
        assert!(e.starts_with("malformed greeting"), "{e}");
        // Header announcing more bytes than sent, then close.
        let (a, _h) = fake_mysql(b"\x40\x00\x00\x00\x0a8.4".to_vec(), vec![]).await;
        let e = run(&user_check(), a, None).await.expect_err("short packet");
        assert!(!e.is_empty());
    }

    #[test]
    fn intervals() {
        let mut c = check(CheckType::Tcp);
        c.fastinter = Some(Dur::millis(500));
        c.downinter = Some(Dur::secs(10));
        assert_eq!(next_interval(&c, true, false), Duration::from_secs(2));
        assert_eq!(next_interval(&c, true, true), Duration::from_millis(500));
        assert_eq!(next_interval(&c, false, false), Duration::from_secs(10));
    }
    #[test]
    fn health_counts_as_haproxy() {
        // A fresh server is up (`UP 1/3`); its first failure takes it down.
        let mut h = Health::fresh(2, 3);
        assert!(h.up());
        assert_eq!(h.transition(), Some((1, 3)));
        assert_eq!(h.observe(false), Some(false));
        assert_eq!(h.value(), 0);
        assert!(!h.counts_failure());
        // Down: one success is `DOWN 1/2`; a failure in between starts over.
        assert_eq!(h.observe(true), None);
        assert_eq!(h.transition(), Some((1, 2)));
        assert!(h.counts_failure());
        assert_eq!(h.observe(false), None);
        assert_eq!(h.value(), 0);
        assert_eq!(h.observe(true), None);
        assert_eq!(h.observe(true), Some(true));
        assert_eq!((h.value(), h.transition()), (4, None));
        assert!(h.settled_state());
        // Up: `UP 2/3`, `UP 1/3`; a success in between makes it fully up again.
        assert_eq!(h.observe(false), None);
        assert_eq!(h.transition(), Some((2, 3)));
        assert!(!h.settled_state());
        assert_eq!(h.observe(false), None);
        assert_eq!(h.transition(), Some((1, 3)));
        assert_eq!(h.observe(true), None);
        assert_eq!(h.value(), 4);
        for _ in 0..2 {
            assert_eq!(h.observe(false), None);
        }
        assert_eq!(h.observe(false), Some(false));
        // Fresh with rise 3: the first success makes it fully up.
        let mut h = Health::fresh(3, 2);
        assert_eq!(h.transition(), Some((1, 2)));
        assert_eq!(h.observe(true), None);
        assert_eq!(h.value(), 4);
        assert_eq!(Health::settled(false, 2, 3).value(), 0);
        assert_eq!(Health::settled(true, 2, 3).value(), 4);
    }
}
