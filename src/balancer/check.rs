//! Health checks of balancer servers: `tcp` (a connection is accepted), `http` (a status
//! line with the expected code, the xinetd `check port 48700` pattern) and `mysql` (the
//! server's greeting; an ERR such as 1040 "Too many connections" or 1129 "host blocked"
//! means down; with a `user`, a login and COM_QUIT so the server does not count an
//! aborted connect).

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
        _ => e.to_string(),
    }
}

/// Runs one check against `addr` (its port replaced by the check's `port`).
pub async fn run(check: &Check, addr: SocketAddr) -> Result<(), Failure> {
    let target = SocketAddr::new(addr.ip(), check.port.unwrap_or(addr.port()));
    let timeout = check.timeout.unwrap_or(check.inter).get();
    match tokio::time::timeout(timeout, probe(check, target)).await {
        Ok(r) => r,
        Err(_) => Err(format!("timeout after {}ms", timeout.as_millis())),
    }
}

async fn probe(check: &Check, target: SocketAddr) -> Result<(), Failure> {
    let mut s = TcpStream::connect(target)
        .await
        .map_err(|e| io_reason(&e))?;
    match check.kind {
        CheckType::Tcp => Ok(()),
        CheckType::Http => http(&mut s, check, target).await,
        CheckType::Mysql => mysql(&mut s, check.user.as_deref()).await,
    }
}

async fn http(s: &mut TcpStream, check: &Check, target: SocketAddr) -> Result<(), Failure> {
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
        Some(c) if c == check.expect_status => Ok(()),
        Some(c) => Err(format!("HTTP status {c}, expected {}", check.expect_status)),
        None if line.is_empty() => Err("no HTTP response".into()),
        None => Err(format!("not an HTTP response: {:.40}", line)),
    }
}

/// Reads one MySQL packet: (sequence id, payload).
async fn read_packet(s: &mut TcpStream) -> Result<(u8, Vec<u8>), Failure> {
    let mut h = [0u8; 4];
    s.read_exact(&mut h).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            "connection closed before the greeting".to_string()
        } else {
            io_reason(&e)
        }
    })?;
    let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
    if len > 1 << 16 {
        return Err(format!("oversized packet ({len} bytes)"));
    }
    let mut p = vec![0u8; len];
    s.read_exact(&mut p).await.map_err(|e| io_reason(&e))?;
    Ok((h[3], p))
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
const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;

async fn mysql(s: &mut TcpStream, user: Option<&str>) -> Result<(), Failure> {
    let (_, greeting) = read_packet(s).await?;
    match greeting.first() {
        Some(0xff) => return Err(err_text(&greeting)),
        Some(10) => {}
        Some(v) => return Err(format!("unexpected greeting (protocol {v})")),
        None => return Err("empty greeting".into()),
    }
    let Some(user) = user else {
        return Ok(());
    };
    // HandshakeResponse41 with an empty password.
    let caps = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION;
    let mut body = Vec::with_capacity(64);
    body.extend_from_slice(&caps.to_le_bytes());
    body.extend_from_slice(&(1u32 << 24).to_le_bytes());
    body.push(33); // utf8_general_ci
    body.extend_from_slice(&[0u8; 23]);
    body.extend_from_slice(user.as_bytes());
    body.push(0);
    body.push(0); // auth response length
    let mut pkt = Vec::with_capacity(body.len() + 4);
    pkt.extend_from_slice(&(body.len() as u32).to_le_bytes()[..3]);
    pkt.push(1);
    pkt.extend_from_slice(&body);
    s.write_all(&pkt).await.map_err(|e| io_reason(&e))?;
    let (_, reply) = read_packet(s).await?;
    let result = match reply.first() {
        Some(0x00) => Ok(()),
        Some(0xff) => Err(err_text(&reply)),
        Some(0xfe) => Err(format!(
            "the server asks user {user} for another authentication method"
        )),
        _ => Err("unexpected reply to the login".into()),
    };
    if result.is_ok() {
        // COM_QUIT, sequence 0.
        let _ = s.write_all(&[1, 0, 0, 0, 0x01]).await;
    }
    result
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
    use crate::config::types::Dur;
    use tokio::net::TcpListener;

    fn check(kind: CheckType) -> Check {
        Check {
            kind,
            port: None,
            path: "/".into(),
            expect_status: 200,
            user: None,
            inter: Dur::secs(2),
            fastinter: None,
            downinter: None,
            rise: 2,
            fall: 3,
            timeout: Some(Dur::millis(500)),
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

    #[tokio::test]
    async fn tcp_and_refused() {
        let a = serve_once(b"").await;
        assert_eq!(run(&check(CheckType::Tcp), a).await, Ok(()));
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let closed = l.local_addr().expect("addr");
        drop(l);
        assert_eq!(
            run(&check(CheckType::Tcp), closed).await,
            Err("connection refused".into())
        );
    }

    #[tokio::test]
    async fn http_status() {
        let a = serve_once(b"HTTP/1.1 200 OK\r\n\r\n").await;
        assert_eq!(run(&check(CheckType::Http), a).await, Ok(()));
        let a = serve_once(b"HTTP/1.1 503 Service Unavailable\r\n\r\n").await;
        assert_eq!(
            run(&check(CheckType::Http), a).await,
            Err("HTTP status 503, expected 200".into())
        );
    }

    #[tokio::test]
    async fn mysql_greeting_and_err() {
        // A minimal v10 greeting.
        static GREETING: &[u8] = b"\x0b\x00\x00\x00\x0a5.5.5-test\x00";
        let a = serve_once(GREETING).await;
        assert_eq!(run(&check(CheckType::Mysql), a).await, Ok(()));
        static TOO_MANY: &[u8] = b"\x17\x00\x00\x00\xff\x10\x04Too many connections";
        let a = serve_once(TOO_MANY).await;
        assert_eq!(
            run(&check(CheckType::Mysql), a).await,
            Err("MySQL error 1040: Too many connections".into())
        );
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
}
