//! VRRP advertisement codec: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798 / RFC 9568).
//!
//! ```text
//!  VRRPv3 (RFC 5798 §5.1)
//!   0                   1                   2                   3
//!   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |(rsvd) |     Max Adver Int     |          Checksum             |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                 IPvX Address(es) (4 or 16 bytes each)         |
//!
//!  VRRPv2 (RFC 3768 §5.1): byte 4 is Auth Type, byte 5 the interval in
//!  seconds, and 8 bytes of authentication data follow the addresses.
//! ```
//!
//! Checksums: v2 covers the VRRP message; v3 over IPv6 adds the IPv6 pseudo-header; v3
//! over IPv4 is computed by keepalived with the IPv4 pseudo-header while RFC 9568 says
//! message only — we send either and accept both, and, as keepalived 2.2.7 does, the form
//! of keepalived ≤ 1.3.6 for unicast (the multicast group in the pseudo-header).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP.
pub const PROTO_VRRP: u8 = 112;
/// Multicast groups adverts go to.
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

const TYPE_ADVERTISEMENT: u8 = 1;
const HEADER_LEN: usize = 8;
const AUTH_LEN: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V2,
    V3,
}

impl Version {
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// VRRPv2 authentication (RFC 3768 §5.3.6). Type 2 (IP AH) is not supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    None,
    /// Simple text password, zero-padded to 8 bytes.
    Pass([u8; 8]),
    /// Any other type, as received.
    Other(u8),
}

impl Auth {
    /// The PASS field for a configured password: its first 8 bytes, zero-padded.
    pub fn pass(password: &str) -> Auth {
        let mut field = [0u8; 8];
        for (d, s) in field.iter_mut().zip(password.bytes()) {
            *d = s;
        }
        Auth::Pass(field)
    }

    pub fn type_number(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::Pass(_) => 1,
            Auth::Other(t) => *t,
        }
    }
}

/// How a VRRPv3-over-IPv4 checksum is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumStyle {
    /// With the IPv4 pseudo-header (keepalived's default).
    PseudoHeader,
    /// Over the VRRP message only (RFC 9568).
    MessageOnly,
    /// Unicast adverts of keepalived up to 1.3.6 (and of later ones configured with
    /// `old_unicast_checksum`, or that heard such a peer): the IPv4 pseudo-header names
    /// the multicast group 224.0.0.18 as destination instead of the peer.
    MulticastPseudoHeader,
}

/// One advertisement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// The advertisement interval in centiseconds (VRRPv2: seconds × 100).
    pub interval_cs: u16,
    pub addrs: Vec<IpAddr>,
    /// VRRPv2 only; `Auth::None` for VRRPv3.
    pub auth: Auth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("packet of {0} bytes is too short for a VRRP header")]
    TooShort(usize),
    #[error("VRRP version {0} (expected 2 or 3)")]
    BadVersion(u8),
    #[error("packet type {0} is not an advertisement")]
    BadType(u8),
    #[error("{count} addresses need {need} bytes, the packet has {len}")]
    BadLength { count: u8, need: usize, len: usize },
    #[error("VRRPv2 carries only IPv4")]
    V2OverIpv6,
    #[error("bad checksum {got:#06x}, expected {want:#06x}")]
    BadChecksum { got: u16, want: u16 },
    #[error("advertisement interval 0")]
    ZeroInterval,
}

impl DecodeError {
    /// A short label for the `reason` of the drop counter.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::TooShort(_) | DecodeError::BadLength { .. } => "bad_length",
            DecodeError::BadVersion(_) | DecodeError::V2OverIpv6 => "bad_version",
            DecodeError::BadType(_) => "bad_type",
            DecodeError::BadChecksum { .. } => "bad_checksum",
            DecodeError::ZeroInterval => "bad_interval",
        }
    }
}

/// Internet checksum (RFC 1071) over several slices, as if concatenated.
pub fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &b in *part {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn pseudo_header(src: IpAddr, dst: IpAddr, len: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(40);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.push(0);
            p.push(PROTO_VRRP);
            p.extend_from_slice(&(len as u16).to_be_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(&(len as u32).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, PROTO_VRRP]);
        }
        _ => {}
    }
    p
}

impl Advert {
    fn addr_len(&self) -> usize {
        match self.addrs.first() {
            Some(IpAddr::V6(_)) => 16,
            _ => 4,
        }
    }

    /// Encodes the advert sent from `src` to `dst`. `style` matters only for VRRPv3 over
    /// IPv4.
    pub fn encode(&self, src: IpAddr, dst: IpAddr, style: ChecksumStyle) -> Vec<u8> {
        let alen = self.addr_len();
        let mut b = Vec::with_capacity(HEADER_LEN + alen * self.addrs.len() + AUTH_LEN);
        b.push((self.version.number() << 4) | TYPE_ADVERTISEMENT);
        b.push(self.vrid);
        b.push(self.priority);
        b.push(self.addrs.len().min(255) as u8);
        match self.version {
            V2 => {
                b.push(self.auth.type_number());
                b.push((self.interval_cs / 100).clamp(1, 255) as u8);
            }
            V3 => {
                let int = self.interval_cs & 0x0fff;
                b.extend_from_slice(&int.to_be_bytes());
            }
        }
        b.extend_from_slice(&[0, 0]);
        for a in self.addrs.iter().take(255) {
            match a {
                IpAddr::V4(v4) => b.extend_from_slice(&v4.octets()),
                IpAddr::V6(v6) => b.extend_from_slice(&v6.octets()),
            }
        }
        if self.version == V2 {
            match self.auth {
                Auth::Pass(p) => b.extend_from_slice(&p),
                _ => b.extend_from_slice(&[0u8; AUTH_LEN]),
            }
        }
        let sum = match (self.version, src) {
            (V2, _) => internet_checksum(&[&b]),
            (V3, IpAddr::V6(_)) => internet_checksum(&[&pseudo_header(src, dst, b.len()), &b]),
            (V3, IpAddr::V4(_)) => match style {
                ChecksumStyle::PseudoHeader => {
                    internet_checksum(&[&pseudo_header(src, dst, b.len()), &b])
                }
                ChecksumStyle::MessageOnly => internet_checksum(&[&b]),
                ChecksumStyle::MulticastPseudoHeader => {
                    internet_checksum(&[&pseudo_header(src, IpAddr::V4(MCAST_V4), b.len()), &b])
                }
            },
        };
        b[6..8].copy_from_slice(&sum.to_be_bytes());
        b
    }

    /// Decodes an advert received from `src` for `dst` (needed for the v3 checksum).
    /// Returns which checksum style matched (always `MessageOnly` for VRRPv2).
    pub fn decode(
        buf: &[u8],
        src: IpAddr,
        dst: IpAddr,
    ) -> Result<(Advert, ChecksumStyle), DecodeError> {
        if buf.len() < HEADER_LEN {
            return Err(DecodeError::TooShort(buf.len()));
        }
        let version = match buf[0] >> 4 {
            2 => V2,
            3 => V3,
            v => return Err(DecodeError::BadVersion(v)),
        };
        let kind = buf[0] & 0x0f;
        if kind != TYPE_ADVERTISEMENT {
            return Err(DecodeError::BadType(kind));
        }
        let v6 = src.is_ipv6();
        if version == V2 && v6 {
            return Err(DecodeError::V2OverIpv6);
        }
        let count = buf[3];
        let alen = if v6 { 16 } else { 4 };
        let need =
            HEADER_LEN + alen * usize::from(count) + if version == V2 { AUTH_LEN } else { 0 };
        // The packet must be exactly what Count IPvX Addr declares, as keepalived checks
        // ("vrrp packet too short/long"): a count smaller than the addresses carried is
        // a malformed advert, whatever its checksum over the declared part says.
        if buf.len() != need {
            return Err(DecodeError::BadLength {
                count,
                need,
                len: buf.len(),
            });
        }
        let got = u16::from_be_bytes([buf[6], buf[7]]);
        let style = match version {
            V2 => {
                if internet_checksum(&[&buf[..need]]) != 0 {
                    return Err(DecodeError::BadChecksum {
                        got,
                        want: expected_checksum(&buf[..need], &[]),
                    });
                }
                ChecksumStyle::MessageOnly
            }
            V3 => {
                let msg = &buf[..need];
                let ph = pseudo_header(src, dst, msg.len());
                if internet_checksum(&[&ph, msg]) == 0 {
                    ChecksumStyle::PseudoHeader
                } else if !v6 && internet_checksum(&[msg]) == 0 {
                    ChecksumStyle::MessageOnly
                } else if !v6
                    && dst != IpAddr::V4(MCAST_V4)
                    && internet_checksum(&[
                        &pseudo_header(src, IpAddr::V4(MCAST_V4), msg.len()),
                        msg,
                    ]) == 0
                {
                    ChecksumStyle::MulticastPseudoHeader
                } else {
                    return Err(DecodeError::BadChecksum {
                        got,
                        want: expected_checksum(msg, &ph),
                    });
                }
            }
        };
        let (interval_cs, auth) = match version {
            V2 => {
                let secs = u16::from(buf[5]);
                let auth = match buf[4] {
                    0 => Auth::None,
                    1 => {
                        let mut p = [0u8; 8];
                        p.copy_from_slice(&buf[need - AUTH_LEN..need]);
                        Auth::Pass(p)
                    }
                    t => Auth::Other(t),
                };
                (secs * 100, auth)
            }
            V3 => (u16::from_be_bytes([buf[4], buf[5]]) & 0x0fff, Auth::None),
        };
        if interval_cs == 0 {
            return Err(DecodeError::ZeroInterval);
        }
        let mut addrs = Vec::with_capacity(usize::from(count));
        for i in 0..usize::from(count) {
            let at = HEADER_LEN + i * alen;
            let a = &buf[at..at + alen];
            addrs.push(if v6 {
                let mut o = [0u8; 16];
                o.copy_from_slice(a);
                IpAddr::V6(Ipv6Addr::from(o))
            } else {
                IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
            });
        }
        Ok((
            Advert {
                version,
                vrid: buf[1],
                priority: buf[2],
                interval_cs,
                addrs,
                auth,
            },
            style,
        ))
    }
}

use Version::{V2, V3};

/// The checksum the sender should have put in (for the error message).
fn expected_checksum(msg: &[u8], pseudo: &[u8]) -> u16 {
    let mut zeroed = msg.to_vec();
    zeroed[6] = 0;
    zeroed[7] = 0;
    internet_checksum(&[pseudo, &zeroed])
}

/// The fields of an IPv4 header a VRRP receiver checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    pub ttl: u8,
    pub protocol: u8,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// Offset of the payload.
    pub header_len: usize,
    pub total_len: usize,
}

/// Parses the IPv4 header a raw socket delivers in front of the payload.
pub fn parse_ipv4_header(buf: &[u8]) -> Option<Ipv4Header> {
    if buf.len() < 20 || buf[0] >> 4 != 4 {
        return None;
    }
    let header_len = usize::from(buf[0] & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    if header_len < 20 || buf.len() < header_len || total_len < header_len {
        return None;
    }
    Some(Ipv4Header {
        ttl: buf[8],
        protocol: buf[9],
        src: Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]),
        dst: Ipv4Addr::new(buf[16], buf[17], buf[18], buf[19]),
        header_len,
        total_len: total_len.min(buf.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
            .collect()
    }

    const H1: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 19, 1, 1));
    const MC: IpAddr = IpAddr::V4(MCAST_V4);

    #[test]
    fn keepalived_v2_pass_bytes() {
        // From ../shared/vrrp-captures/README.md: keepalived 2.2.7, VRID 51, prio 150,
        // PASS "1111", two VIPs, checksum 0x5676.
        let bytes = hex("2133960201015676c6130164c61301653131313100000000");
        let (a, _) = Advert::decode(&bytes, H1, MC).unwrap();
        assert_eq!(a.version, V2);
        assert_eq!(a.vrid, 51);
        assert_eq!(a.priority, 150);
        assert_eq!(a.interval_cs, 100);
        assert_eq!(
            a.addrs,
            vec![
                IpAddr::V4(Ipv4Addr::new(198, 19, 1, 100)),
                IpAddr::V4(Ipv4Addr::new(198, 19, 1, 101))
            ]
        );
        assert_eq!(a.auth, Auth::pass("1111"));
        assert_eq!(a.encode(H1, MC, ChecksumStyle::PseudoHeader), bytes);
    }

    #[test]
    fn keepalived_v3_ipv4_checksum_styles() {
        let bytes = hex("31339601000ac9a5c6130164");
        let (a, style) = Advert::decode(&bytes, H1, MC).unwrap();
        assert_eq!(style, ChecksumStyle::PseudoHeader);
        assert_eq!(a.interval_cs, 10);
        assert_eq!(a.encode(H1, MC, ChecksumStyle::PseudoHeader), bytes);
        // RFC 9568 message-only form: 0x7149, also accepted.
        let rfc = a.encode(H1, MC, ChecksumStyle::MessageOnly);
        assert_eq!(&rfc[6..8], &[0x71, 0x49]);
        let (b, style) = Advert::decode(&rfc, H1, MC).unwrap();
        assert_eq!(style, ChecksumStyle::MessageOnly);
        assert_eq!(a, b);
    }

    #[test]
    fn corrupt_packets_are_typed_errors() {
        let good = hex("31339601000ac9a5c6130164");
        let mut bad = good.clone();
        bad[2] = 151;
        assert!(matches!(
            Advert::decode(&bad, H1, MC),
            Err(DecodeError::BadChecksum { .. })
        ));
        assert_eq!(
            Advert::decode(&good[..7], H1, MC),
            Err(DecodeError::TooShort(7))
        );
        assert!(matches!(
            Advert::decode(&good[..11], H1, MC),
            Err(DecodeError::BadLength { .. })
        ));
        let mut v4 = good.clone();
        v4[0] = 0x41;
        assert_eq!(Advert::decode(&v4, H1, MC), Err(DecodeError::BadVersion(4)));
        let mut t2 = good.clone();
        t2[0] = 0x32;
        assert_eq!(Advert::decode(&t2, H1, MC), Err(DecodeError::BadType(2)));
    }

    /// Sets a message-only checksum (VRRPv2, or VRRPv3 the RFC 9568 way).
    fn with_checksum(mut b: Vec<u8>) -> Vec<u8> {
        b[6] = 0;
        b[7] = 0;
        let sum = internet_checksum(&[&b]);
        b[6..8].copy_from_slice(&sum.to_be_bytes());
        b
    }

    #[test]
    fn a_count_smaller_than_the_addresses_carried_is_a_length_error() {
        // keepalived drops any advert whose length is not exactly what Count IPvX Addr
        // declares ("vrrp packet too long"). Here the sender's checksum covers the whole
        // packet, and the extra address is 0.0.0.0, which adds nothing to the sum: the
        // checksum over the declared part alone still verifies, so only the length check
        // can catch it.
        let v2 = with_checksum(hex("2133640100010000c6130164000000000000000000000000"));
        let e = Advert::decode(&v2, H1, MC);
        assert!(
            matches!(
                e,
                Err(DecodeError::BadLength {
                    count: 1,
                    need: 20,
                    len: 24
                })
            ),
            "{e:?}"
        );
        let v3 = with_checksum(hex("3133640100640000c613016400000000"));
        let e = Advert::decode(&v3, H1, MC);
        assert!(
            matches!(
                e,
                Err(DecodeError::BadLength {
                    count: 1,
                    need: 12,
                    len: 16
                })
            ),
            "{e:?}"
        );
        assert_eq!(
            DecodeError::BadLength {
                count: 1,
                need: 12,
                len: 16
            }
            .reason(),
            "bad_length"
        );
        // Any trailing byte at all is refused, as keepalived does.
        let mut long = hex("31339601000ac9a5c6130164");
        long.push(0);
        assert!(matches!(
            Advert::decode(&long, H1, MC),
            Err(DecodeError::BadLength { .. })
        ));
    }

    #[test]
    fn old_keepalived_unicast_checksum_is_accepted() {
        // keepalived up to 1.3.6 (and 2.2.7 with `old_unicast_checksum`, or after it
        // heard such a peer) puts the multicast group, not the unicast peer, into the
        // IPv4 pseudo-header of a unicast VRRPv3 advert; keepalived 2.2.7 accepts both.
        let peer = IpAddr::V4(Ipv4Addr::new(198, 19, 1, 2));
        let mut b = hex("31339601000a0000c6130164");
        let sum = internet_checksum(&[&pseudo_header(H1, MC, b.len()), &b]);
        b[6..8].copy_from_slice(&sum.to_be_bytes());
        let (a, style) = Advert::decode(&b, H1, peer).expect("old unicast checksum");
        assert_eq!(style, ChecksumStyle::MulticastPseudoHeader);
        assert_eq!(a.priority, 150);
        assert_eq!(a.encode(H1, peer, style), b);
        // The current form still decodes as such, and a corrupt one is still refused.
        let new = a.encode(H1, peer, ChecksumStyle::PseudoHeader);
        assert_ne!(new, b);
        assert_eq!(
            Advert::decode(&new, H1, peer).map(|(_, s)| s),
            Ok(ChecksumStyle::PseudoHeader)
        );
        b[2] = 151;
        assert!(matches!(
            Advert::decode(&b, H1, peer),
            Err(DecodeError::BadChecksum { .. })
        ));
    }

    #[test]
    fn ipv6_round_trip_uses_pseudo_header() {
        let src: IpAddr = "fe80::d0ac:e6ff:fe1b:3da9".parse().unwrap();
        let dst = IpAddr::V6(MCAST_V6);
        let a = Advert {
            version: V3,
            vrid: 51,
            priority: 150,
            interval_cs: 10,
            addrs: vec!["fd00:198:19::100".parse().unwrap()],
            auth: Auth::None,
        };
        let b = a.encode(src, dst, ChecksumStyle::MessageOnly);
        assert_eq!(b.len(), 24);
        assert_eq!(Advert::decode(&b, src, dst).unwrap().0, a);
        // The same bytes from another source fail: the pseudo-header is in the sum.
        let other: IpAddr = "fe80::1".parse().unwrap();
        assert!(Advert::decode(&b, other, dst).is_err());
    }

    #[test]
    fn v2_password_is_truncated_and_padded() {
        assert_eq!(Auth::pass("1111"), Auth::Pass(*b"1111\0\0\0\0"));
        assert_eq!(Auth::pass("0123456789"), Auth::Pass(*b"01234567"));
    }

    #[test]
    fn ipv4_header() {
        let mut h = vec![
            0x45, 0xc0, 0, 32, 0, 1, 0, 0, 255, 112, 0, 0, 198, 19, 1, 1, 224, 0, 0, 18,
        ];
        h.extend_from_slice(&[0; 12]);
        let p = parse_ipv4_header(&h).unwrap();
        assert_eq!(p.ttl, 255);
        assert_eq!(p.protocol, 112);
        assert_eq!(p.header_len, 20);
        assert_eq!(p.total_len, 32);
        assert_eq!(p.dst, MCAST_V4);
        assert!(parse_ipv4_header(&h[..19]).is_none());
    }
}
