//! A reader for the classic libpcap format (Ethernet link type), enough for the
//! keepalived reference captures and for captures our tests take with tcpdump.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone)]
pub struct Frame {
    /// Seconds since the epoch, with microseconds.
    pub time: f64,
    pub data: Vec<u8>,
}

impl Frame {
    pub fn ethertype(&self) -> u16 {
        if self.data.len() < 14 {
            return 0;
        }
        u16::from_be_bytes([self.data[12], self.data[13]])
    }

    pub fn eth_src(&self) -> [u8; 6] {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.data[6..12]);
        m
    }

    pub fn eth_dst(&self) -> [u8; 6] {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.data[0..6]);
        m
    }

    /// (src, dst, ttl/hop limit, tos/traffic class, protocol, payload) of an IP frame.
    pub fn ip(&self) -> Option<IpPacket<'_>> {
        let d = self.data.get(14..)?;
        match self.ethertype() {
            0x0800 => {
                let ihl = usize::from(d.first()? & 0x0f) * 4;
                let total = usize::from(u16::from_be_bytes([*d.get(2)?, *d.get(3)?]));
                Some(IpPacket {
                    src: IpAddr::V4(Ipv4Addr::new(d[12], d[13], d[14], d[15])),
                    dst: IpAddr::V4(Ipv4Addr::new(d[16], d[17], d[18], d[19])),
                    ttl: d[8],
                    tos: d[1],
                    protocol: d[9],
                    payload: d.get(ihl..total.min(d.len()))?,
                })
            }
            0x86dd => {
                let mut s = [0u8; 16];
                let mut t = [0u8; 16];
                s.copy_from_slice(d.get(8..24)?);
                t.copy_from_slice(d.get(24..40)?);
                let plen = usize::from(u16::from_be_bytes([d[4], d[5]]));
                Some(IpPacket {
                    src: IpAddr::V6(Ipv6Addr::from(s)),
                    dst: IpAddr::V6(Ipv6Addr::from(t)),
                    ttl: d[7],
                    tos: ((u16::from_be_bytes([d[0], d[1]]) >> 4) & 0xff) as u8,
                    protocol: d[6],
                    payload: d.get(40..40 + plen)?,
                })
            }
            _ => None,
        }
    }

    /// The 28-byte ARP payload of an ARP frame.
    pub fn arp(&self) -> Option<&[u8]> {
        (self.ethertype() == 0x0806)
            .then(|| self.data.get(14..42))
            .flatten()
    }
}

#[derive(Debug, Clone)]
pub struct IpPacket<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub tos: u8,
    pub protocol: u8,
    pub payload: &'a [u8],
}

pub fn read(bytes: &[u8]) -> Vec<Frame> {
    let mut frames = Vec::new();
    if bytes.len() < 24 {
        return frames;
    }
    let magic = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let (le, nanos) = match magic {
        0xa1b2c3d4 => (true, false),
        0xa1b23c4d => (true, true),
        0xd4c3b2a1 => (false, false),
        0x4d3cb2a1 => (false, true),
        _ => return frames,
    };
    let u32_at = |b: &[u8], i: usize| -> u32 {
        let a = [b[i], b[i + 1], b[i + 2], b[i + 3]];
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let sec = u32_at(bytes, at);
        let frac = u32_at(bytes, at + 4);
        let incl = u32_at(bytes, at + 8) as usize;
        at += 16;
        if at + incl > bytes.len() {
            break;
        }
        let time = f64::from(sec) + f64::from(frac) / if nanos { 1e9 } else { 1e6 };
        frames.push(Frame {
            time,
            data: bytes[at..at + incl].to_vec(),
        });
        at += incl;
    }
    frames
}
