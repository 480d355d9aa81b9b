//! PROXY protocol v1 and v2 (haproxy's spec, doc/proxy-protocol.txt): written in front of
//! the data sent to a server (`send_proxy`), and parsed from clients (`accept_proxy`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The v2 signature.
pub const V2_SIG: [u8; 12] = [
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
];

fn v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// "PROXY TCP4 src dst sport dport\r\n"; TCP6 when either side is IPv6 (an IPv4 side is
/// then written IPv4-mapped, as haproxy does).
pub fn v1(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let line = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            format!("PROXY TCP4 {s} {d} {} {}\r\n", src.port(), dst.port())
        }
        (s, d) => format!(
            "PROXY TCP6 {} {} {} {}\r\n",
            v6(s),
            v6(d),
            src.port(),
            dst.port()
        ),
    };
    line.into_bytes()
}

/// Binary header: signature, version 2 / PROXY command, TCP over IPv4 or IPv6, the
/// address block (src, dst, sport, dport), no TLVs.
pub fn v2(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let mut b = V2_SIG.to_vec();
    b.push(0x21);
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            b.push(0x11);
            b.extend_from_slice(&12u16.to_be_bytes());
            b.extend_from_slice(&s.octets());
            b.extend_from_slice(&d.octets());
        }
        (s, d) => {
            b.push(0x21);
            b.extend_from_slice(&36u16.to_be_bytes());
            b.extend_from_slice(&v6(s).octets());
            b.extend_from_slice(&v6(d).octets());
        }
    }
    b.extend_from_slice(&src.port().to_be_bytes());
    b.extend_from_slice(&dst.port().to_be_bytes());
    b
}

/// What a client's header said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// The original connection's source and destination.
    Proxy { src: SocketAddr, dst: SocketAddr },
    /// LOCAL (v2) or UNKNOWN (v1): use the real connection addresses.
    Local,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("need more bytes")]
    Incomplete,
    #[error("not a PROXY protocol header")]
    NotProxy,
    #[error("malformed PROXY header: {0}")]
    Bad(&'static str),
}

/// Parses a header at the start of `buf`; returns it and its length.
pub fn parse(buf: &[u8]) -> Result<(Header, usize), ParseError> {
    if buf.len() >= 12 && buf[..12] == V2_SIG {
        return parse_v2(buf);
    }
    if V2_SIG.starts_with(&buf[..buf.len().min(12)]) && buf.len() < 12 {
        return Err(ParseError::Incomplete);
    }
    if buf.starts_with(b"PROXY ") || b"PROXY ".starts_with(&buf[..buf.len().min(6)]) {
        return parse_v1(buf);
    }
    Err(ParseError::NotProxy)
}

fn parse_v1(buf: &[u8]) -> Result<(Header, usize), ParseError> {
    // At most 107 bytes including CRLF.
    let end = match buf.windows(2).position(|w| w == b"\r\n") {
        Some(e) => e,
        None if buf.len() >= 107 => return Err(ParseError::Bad("v1 line too long")),
        None => return Err(ParseError::Incomplete),
    };
    let line = std::str::from_utf8(&buf[..end]).map_err(|_| ParseError::Bad("v1 not ASCII"))?;
    let parts: Vec<&str> = line.split(' ').collect();
    match parts.as_slice() {
        ["PROXY", "UNKNOWN", ..] => Ok((Header::Local, end + 2)),
        ["PROXY", fam @ ("TCP4" | "TCP6"), s, d, sp, dp] => {
            let v6 = *fam == "TCP6";
            let ip = |t: &str| -> Result<IpAddr, ParseError> {
                if v6 {
                    t.parse::<Ipv6Addr>().map(IpAddr::V6)
                } else {
                    t.parse::<Ipv4Addr>().map(IpAddr::V4)
                }
                .map_err(|_| ParseError::Bad("v1 address"))
            };
            let port = |t: &str| t.parse::<u16>().map_err(|_| ParseError::Bad("v1 port"));
            Ok((
                Header::Proxy {
                    src: SocketAddr::new(ip(s)?, port(sp)?),
                    dst: SocketAddr::new(ip(d)?, port(dp)?),
                },
                end + 2,
            ))
        }
        _ => Err(ParseError::Bad("v1 fields")),
    }
}

fn parse_v2(buf: &[u8]) -> Result<(Header, usize), ParseError> {
    if buf.len() < 16 {
        return Err(ParseError::Incomplete);
    }
    let ver_cmd = buf[12];
    if ver_cmd >> 4 != 2 {
        return Err(ParseError::Bad("v2 version"));
    }
    let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    let total = 16 + len;
    if buf.len() < total {
        return Err(ParseError::Incomplete);
    }
    let body = &buf[16..total];
    match ver_cmd & 0x0f {
        0 => return Ok((Header::Local, total)),
        1 => {}
        _ => return Err(ParseError::Bad("v2 command")),
    }
    match buf[13] {
        0x11 | 0x12 if body.len() >= 12 => {
            let s = Ipv4Addr::new(body[0], body[1], body[2], body[3]);
            let d = Ipv4Addr::new(body[4], body[5], body[6], body[7]);
            let sp = u16::from_be_bytes([body[8], body[9]]);
            let dp = u16::from_be_bytes([body[10], body[11]]);
            Ok((
                Header::Proxy {
                    src: SocketAddr::new(IpAddr::V4(s), sp),
                    dst: SocketAddr::new(IpAddr::V4(d), dp),
                },
                total,
            ))
        }
        0x21 | 0x22 if body.len() >= 36 => {
            let mut s = [0u8; 16];
            let mut d = [0u8; 16];
            s.copy_from_slice(&body[0..16]);
            d.copy_from_slice(&body[16..32]);
            let sp = u16::from_be_bytes([body[32], body[33]]);
            let dp = u16::from_be_bytes([body[34], body[35]]);
            Ok((
                Header::Proxy {
                    src: SocketAddr::new(IpAddr::V6(Ipv6Addr::from(s)), sp),
                    dst: SocketAddr::new(IpAddr::V6(Ipv6Addr::from(d)), dp),
                },
                total,
            ))
        }
        // An address block too short for its family (haproxy rejects it too).
        0x11 | 0x12 | 0x21 | 0x22 => Err(ParseError::Bad("v2 address block too short")),
        // Other families (UNIX, unspecified): fall back to the connection's addresses.
        _ => Ok((Header::Local, total)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    #[test]
    fn v1_bytes() {
        assert_eq!(
            v1(sa("198.18.0.10:40000"), sa("198.18.0.100:3306")),
            b"PROXY TCP4 198.18.0.10 198.18.0.100 40000 3306\r\n".to_vec()
        );
        assert_eq!(
            v1(sa("[2001:db8::1]:5"), sa("[2001:db8::2]:6")),
            b"PROXY TCP6 2001:db8::1 2001:db8::2 5 6\r\n".to_vec()
        );
    }

    #[test]
    fn v2_bytes() {
        let b = v2(sa("198.18.0.10:40000"), sa("198.18.0.100:3306"));
        let mut want = V2_SIG.to_vec();
        want.extend_from_slice(&[
            0x21, 0x11, 0, 12, 198, 18, 0, 10, 198, 18, 0, 100, 0x9c, 0x40, 0x0c, 0xea,
        ]);
        assert_eq!(b, want);
        assert_eq!(
            v2(sa("[2001:db8::1]:5"), sa("[2001:db8::2]:6")).len(),
            16 + 36
        );
    }

    #[test]
    fn round_trips_and_partial_input() {
        let (s, d) = (sa("198.18.0.10:40000"), sa("198.18.0.100:3306"));
        for h in [v1(s, d), v2(s, d)] {
            assert_eq!(parse(&h), Ok((Header::Proxy { src: s, dst: d }, h.len())));
            for cut in 1..h.len() {
                assert_eq!(parse(&h[..cut]), Err(ParseError::Incomplete), "cut {cut}");
            }
        }
        assert_eq!(parse(b"PROXY UNKNOWN\r\nGET"), Ok((Header::Local, 15)));
        assert_eq!(parse(b"GET / HTTP/1.0\r\n"), Err(ParseError::NotProxy));
        assert!(matches!(
            parse(b"PROXY TCP4 x y 1 2\r\n"),
            Err(ParseError::Bad(_))
        ));
    }

    /// A v2 PROXY command whose address block is shorter than its family needs is a bad
    /// header, not a LOCAL one; LOCAL itself, and UNSPEC, keep the connection's
    /// addresses; an IPv6 block parses.
    #[test]
    fn v2_address_block_lengths() {
        let h = |cmd: u8, fam: u8, body: &[u8]| {
            let mut b = V2_SIG.to_vec();
            b.extend_from_slice(&[cmd, fam]);
            b.extend_from_slice(&(body.len() as u16).to_be_bytes());
            b.extend_from_slice(body);
            b
        };
        for (fam, len) in [(0x11, 11), (0x11, 0), (0x21, 35), (0x21, 12)] {
            assert_eq!(
                parse(&h(0x21, fam, &vec![0u8; len])),
                Err(ParseError::Bad("v2 address block too short")),
                "family {fam:#x}, {len} bytes"
            );
        }
        assert_eq!(parse(&h(0x20, 0x11, &[])), Ok((Header::Local, 16)));
        assert_eq!(parse(&h(0x20, 0x00, &[1, 2])), Ok((Header::Local, 18)));
        assert_eq!(parse(&h(0x21, 0x00, &[])), Ok((Header::Local, 16)));
        let (s, d) = (sa("[2001:db8::1]:5"), sa("[2001:db8::2]:6"));
        let b = v2(s, d);
        assert_eq!(parse(&b), Ok((Header::Proxy { src: s, dst: d }, b.len())));
        assert!(matches!(
            parse(&h(0x23, 0x11, &[0u8; 12])),
            Err(ParseError::Bad(_))
        ));
        assert!(matches!(
            parse(&h(0x11, 0x11, &[0u8; 12])),
            Err(ParseError::Bad(_))
        ));
    }
}
