//! Replays keepalived 2.2.7's own packets (tests/data/vrrp-captures, copied from the
//! project's shared reference captures) through our codec and GARP/NA builders.

mod common;

use std::net::IpAddr;

use common::pcap;
use tandem::net::announce;
use tandem::vrrp::packet::{Advert, Auth, ChecksumStyle, PROTO_VRRP, Version};

fn capture(name: &str) -> Vec<pcap::Frame> {
    let path = common::repo_root()
        .join("tests/data/vrrp-captures")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let frames = pcap::read(&bytes);
    assert!(!frames.is_empty(), "{name} has frames");
    frames
}

/// Every VRRP packet of a capture decodes, passes our receive checks on TTL and TOS,
/// and re-encodes to the identical bytes.
fn replay(name: &str, style: ChecksumStyle) -> Vec<(IpAddr, Advert)> {
    let mut out = Vec::new();
    for f in capture(name) {
        let Some(ip) = f.ip() else { continue };
        if ip.protocol != PROTO_VRRP {
            continue;
        }
        assert_eq!(ip.ttl, 255, "{name}: TTL/hop limit");
        assert_eq!(ip.tos, 0xc0, "{name}: TOS/traffic class");
        let (advert, got_style) = Advert::decode(ip.payload, ip.src, ip.dst)
            .unwrap_or_else(|e| panic!("{name}: {e}: {:02x?}", ip.payload));
        if ip.src.is_ipv4() && advert.version == Version::V3 {
            assert_eq!(got_style, style, "{name}: checksum style");
        }
        assert_eq!(
            advert.encode(ip.src, ip.dst, style),
            ip.payload,
            "{name}: re-encoding differs"
        );
        out.push((ip.src, advert));
    }
    assert!(!out.is_empty(), "{name} has VRRP packets");
    out
}

#[test]
fn v2_pass_multicast() {
    let adverts = replay(
        "keepalived-v2-pass-multicast.pcap",
        ChecksumStyle::PseudoHeader,
    );
    for (_, a) in &adverts {
        assert_eq!(a.version, Version::V2);
        assert_eq!(a.vrid, 51);
        assert_eq!(a.auth, Auth::pass("1111"));
        assert_eq!(a.interval_cs, 100);
        assert_eq!(a.addrs.len(), 2);
    }
    // h1 (150) leaves with a priority-0 advert; h2 (100) is master afterwards.
    let prios: Vec<(String, u8)> = adverts
        .iter()
        .map(|(s, a)| (s.to_string(), a.priority))
        .collect();
    let zero = prios
        .iter()
        .position(|(_, p)| *p == 0)
        .expect("a priority 0 advert");
    assert_eq!(prios[zero].0, "198.19.1.1");
    assert!(
        prios[..zero]
            .iter()
            .all(|(s, p)| s == "198.19.1.1" && *p == 150)
    );
    assert!(
        prios[zero + 1..]
            .iter()
            .all(|(s, p)| s == "198.19.1.2" && *p == 100)
    );
}

#[test]
fn v3_multicast_uses_the_pseudo_header() {
    for (_, a) in replay("keepalived-v3-multicast.pcap", ChecksumStyle::PseudoHeader) {
        assert_eq!(a.version, Version::V3);
        assert_eq!(a.interval_cs, 10);
        assert_eq!(a.auth, Auth::None);
    }
}

#[test]
fn v3_unicast() {
    let adverts = replay("keepalived-v3-unicast.pcap", ChecksumStyle::PseudoHeader);
    assert!(adverts.iter().any(|(s, _)| s.to_string() == "198.19.1.1"));
}

#[test]
fn v3_ipv6() {
    let adverts = replay("keepalived-v3-ipv6.pcap", ChecksumStyle::PseudoHeader);
    for (src, a) in &adverts {
        assert!(
            matches!(src, IpAddr::V6(v6) if v6.segments()[0] == 0xfe80),
            "from link-local"
        );
        assert_eq!(a.addrs, vec!["fd00:198:19::100".parse::<IpAddr>().unwrap()]);
    }
}

/// Our gratuitous ARP frame is byte-identical to keepalived's.
#[test]
fn garp_matches_keepalived() {
    let frames = capture("keepalived-v2-pass-multicast.pcap");
    let garp = frames
        .iter()
        .find(|f| {
            f.arp().is_some()
                && f.eth_dst() == [0xff; 6]
                && f.arp().map(|a| a[14..18] == a[24..28]).unwrap_or(false)
        })
        .expect("a GARP frame");
    let arp = garp.arp().expect("arp");
    let vip: std::net::Ipv4Addr = std::net::Ipv4Addr::new(arp[14], arp[15], arp[16], arp[17]);
    let ours = announce::garp_frame(garp.eth_src(), vip);
    assert_eq!(&ours[..], &garp.data[..42]);
}

/// Our unsolicited neighbour advertisement is byte-identical to keepalived's (after the
/// IPv6 header, whose flow label differs by chance).
#[test]
fn unsolicited_na_matches_keepalived() {
    let frames = capture("keepalived-v3-ipv6.pcap");
    let na = frames
        .iter()
        .find(|f| {
            f.ip()
                .is_some_and(|ip| ip.protocol == 58 && ip.payload.first() == Some(&136))
        })
        .expect("an NA frame");
    let ip = na.ip().expect("ip");
    let IpAddr::V6(vip) = ip.src else {
        panic!("v6")
    };
    let ours = announce::na_frame(na.eth_src(), vip);
    assert_eq!(ours.len(), na.data.len());
    assert_eq!(&ours[..14], &na.data[..14], "ethernet header");
    assert_eq!(ours[14 + 6], 58, "next header");
    assert_eq!(ours[14 + 7], 255, "hop limit");
    assert_eq!(
        &ours[14 + 8..],
        &na.data[14 + 8..],
        "addresses and ICMPv6 body"
    );
}
