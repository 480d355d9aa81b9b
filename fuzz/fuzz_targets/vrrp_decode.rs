//! Any bytes from any source: the VRRP decoder returns a value or a typed error, never
//! panics, and what it accepts re-encodes to a packet it accepts again.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use tandem::vrrp::packet::{Advert, ChecksumStyle, parse_ipv4_header};

fuzz_target!(|data: &[u8]| {
    let _ = parse_ipv4_header(data);
    let v4 = (IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)));
    let v6 = (
        IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
        IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
    );
    for (src, dst) in [v4, v6] {
        if let Ok((advert, style)) = Advert::decode(data, src, dst) {
            let again = advert.encode(src, dst, style);
            let (back, _) = Advert::decode(&again, src, dst).expect("re-encoded advert decodes");
            assert_eq!(back, advert);
        }
    }
    let _ = ChecksumStyle::MessageOnly;
});
