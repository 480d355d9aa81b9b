//! Interfaces and their addresses, read over rtnetlink.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::TryStreamExt;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags};
use rtnetlink::Handle;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("cannot open a netlink socket: {0}")]
    Open(std::io::Error),
    #[error("interface {0} does not exist")]
    NoSuchInterface(String),
    #[error("netlink: {0}")]
    Netlink(#[from] rtnetlink::Error),
}

impl NetError {
    /// The interface is gone (deleted, or re-created under a new index): ENODEV/ENXIO.
    pub fn is_no_device(&self) -> bool {
        let code = match self {
            NetError::NoSuchInterface(_) => return true,
            NetError::Open(e) => e.raw_os_error(),
            NetError::Netlink(rtnetlink::Error::NetlinkError(e)) => Some(-e.raw_code()),
            NetError::Netlink(_) => None,
        };
        matches!(code, Some(libc::ENODEV) | Some(libc::ENXIO))
    }
}

/// A netlink connection; its IO runs on a task of its own.
#[derive(Clone)]
pub struct Netlink {
    pub handle: Handle,
    /// The kernel runs one dump at a time per netlink socket and answers a second one
    /// with EBUSY; instances sharing this connection take turns.
    dump: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Netlink {
    /// Opens a connection (needs a tokio runtime).
    pub fn open() -> Result<Netlink, NetError> {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(NetError::Open)?;
        tokio::spawn(conn);
        Ok(Netlink {
            handle,
            dump: Default::default(),
        })
    }

    pub async fn link(&self, name: &str) -> Result<LinkInfo, NetError> {
        let _turn = self.dump.lock().await;
        let mut s = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match s.try_next().await {
            Ok(Some(msg)) => Ok(LinkInfo::from_message(&msg)),
            Ok(None) => Err(NetError::NoSuchInterface(name.to_string())),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => {
                Err(NetError::NoSuchInterface(name.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every address on interface `index`, with its prefix length and label.
    pub async fn addresses(&self, index: u32) -> Result<Vec<IfAddr>, NetError> {
        let _turn = self.dump.lock().await;
        let mut s = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        let mut out = Vec::new();
        while let Some(msg) = s.try_next().await? {
            if let Some(a) = IfAddr::from_message(&msg) {
                out.push(a);
            }
        }
        Ok(out)
    }
}

#[derive(Debug, Clone)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    pub mac: Option<[u8; 6]>,
    /// Administratively up.
    pub up: bool,
    /// Carrier present.
    pub lower_up: bool,
}

impl LinkInfo {
    pub fn from_message(msg: &netlink_packet_route::link::LinkMessage) -> LinkInfo {
        let mut info = LinkInfo {
            index: msg.header.index,
            name: String::new(),
            mac: None,
            up: msg.header.flags.contains(LinkFlags::Up),
            lower_up: msg.header.flags.contains(LinkFlags::LowerUp),
        };
        for a in &msg.attributes {
            match a {
                LinkAttribute::IfName(n) => info.name = n.clone(),
                LinkAttribute::Address(b) if b.len() == 6 => {
                    let mut m = [0u8; 6];
                    m.copy_from_slice(b);
                    info.mac = Some(m);
                }
                _ => {}
            }
        }
        info
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub label: Option<String>,
    pub message: AddressMessage,
}

impl IfAddr {
    /// The address an RTM_NEWADDR / RTM_DELADDR (or a dump entry) is about.
    pub fn from_message(msg: &AddressMessage) -> Option<IfAddr> {
        let mut addr = None;
        let mut local = None;
        let mut label = None;
        for a in &msg.attributes {
            match a {
                AddressAttribute::Address(ip) => addr = Some(*ip),
                AddressAttribute::Local(ip) => local = Some(*ip),
                AddressAttribute::Label(l) => label = Some(l.clone()),
                _ => {}
            }
        }
        // For IPv4, IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on
        // point-to-point links).
        Some(IfAddr {
            addr: local.or(addr)?,
            prefix_len: msg.header.prefix_len,
            label,
            message: msg.clone(),
        })
    }
}

/// The first IPv4 address of the interface that is not one of `exclude` (the VIPs):
/// the source of multicast adverts and the tie-breaker of equal priorities.
pub fn primary_ipv4(addrs: &[IfAddr], exclude: &[IpAddr]) -> Option<Ipv4Addr> {
    addrs.iter().find_map(|a| match a.addr {
        IpAddr::V4(v4) if !exclude.contains(&a.addr) => Some(v4),
        _ => None,
    })
}

impl IfAddr {
    /// IFA_FLAGS when the kernel sent them (all 32 bits), else the header's 8 bits.
    fn flags(&self) -> AddressFlags {
        self.message
            .attributes
            .iter()
            .find_map(|a| match a {
                AddressAttribute::Flags(f) => Some(*f),
                _ => None,
            })
            .unwrap_or_else(|| {
                AddressFlags::from_bits_retain(u32::from(self.message.header.flags.bits()))
            })
    }
}

/// The interface's own link-local IPv6 address: VRRPv3 over IPv6 is sent from it (RFC
/// 5798 §5.1.2.1), and it breaks ties between equal priorities. Never one of `exclude`
/// (the VIPs: RFC 5798 and keepalived want an IPv6 virtual router's first address to be
/// link-local, and a crashed run may have left it on the interface), never one whose
/// duplicate address detection failed; a tentative one only when there is no other.
pub fn link_local_ipv6(addrs: &[IfAddr], exclude: &[IpAddr]) -> Option<Ipv6Addr> {
    let mut tentative = None;
    for a in addrs {
        let IpAddr::V6(v6) = a.addr else { continue };
        if !is_link_local_v6(v6) || exclude.contains(&a.addr) {
            continue;
        }
        let flags = a.flags();
        if flags.contains(AddressFlags::Dadfailed) {
            continue;
        }
        if !flags.contains(AddressFlags::Tentative) {
            return Some(v6);
        }
        tentative.get_or_insert(v6);
    }
    tentative
}

/// Whether `a` is an IPv6 link-local unicast address (fe80::/10).
pub fn is_link_local_v6(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// Whether `a` and `b` share their first `prefix_len` bits.
fn same_prefix(a: Ipv6Addr, b: Ipv6Addr, prefix_len: u8) -> bool {
    let n = u32::from(prefix_len.min(128));
    let mask = u128::MAX.checked_shl(128 - n).unwrap_or(0);
    u128::from(a) & mask == u128::from(b) & mask
}

/// The interface's own global IPv6 address to send unicast adverts to `peer` (a global
/// address) from, when no `unicast_src_ip` is set: a peer that lists this box by its
/// global address then sees that address as the source (a link-local source is not in
/// its list, and cannot leave the link). Never one of `exclude` (the VIPs), never a
/// link-local, temporary (privacy) or failed (DAD) address. Preferred: an address in the
/// peer's subnet, then one that is neither tentative nor deprecated, then the oldest (the
/// kernel lists the newest address first, so a VIP another instance added a moment ago
/// comes before the interface's own).
pub fn global_ipv6(addrs: &[IfAddr], exclude: &[IpAddr], peer: Ipv6Addr) -> Option<Ipv6Addr> {
    let mut best: Option<((bool, bool), Ipv6Addr)> = None;
    for a in addrs {
        let IpAddr::V6(v6) = a.addr else { continue };
        if is_link_local_v6(v6)
            || v6.is_loopback()
            || v6.is_multicast()
            || v6.is_unspecified()
            || exclude.contains(&a.addr)
        {
            continue;
        }
        let flags = a.flags();
        // IFA_F_SECONDARY is IFA_F_TEMPORARY for IPv6.
        if flags.intersects(AddressFlags::Dadfailed | AddressFlags::Secondary) {
            continue;
        }
        let score = (
            same_prefix(v6, peer, a.prefix_len),
            !flags.intersects(AddressFlags::Tentative | AddressFlags::Deprecated),
        );
        if best.is_none_or(|(s, _)| score >= s) {
            best = Some((score, v6));
        }
    }
    best.map(|(_, a)| a)
}

#[cfg(test)]
mod tests {
    use netlink_packet_route::address::AddressHeaderFlags;

    use super::*;

    fn v6(addr: &str, header: AddressHeaderFlags, attr: Option<AddressFlags>) -> IfAddr {
        let mut message = AddressMessage::default();
        message.header.flags = header;
        if let Some(f) = attr {
            message.attributes.push(AddressAttribute::Flags(f));
        }
        IfAddr {
            addr: addr.parse().unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
            prefix_len: 64,
            label: None,
            message,
        }
    }

    fn plain(addr: &str) -> IfAddr {
        v6(addr, AddressHeaderFlags::empty(), None)
    }

    #[test]
    fn link_local_source_is_the_interfaces_own() {
        let own = "fe80::1c2d:3eff:fe4f:5a6b";
        // The kernel lists a newer address of the same scope first: a link-local VIP
        // left behind by a crashed run comes before the interface's own.
        let addrs = [
            plain("2001:db8::100"),
            plain("2001:db8::2"),
            plain("fe80::100"),
            plain(own),
        ];
        let vips: Vec<IpAddr> = ["fe80::100", "2001:db8::100"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        assert_eq!(link_local_ipv6(&addrs, &vips), own.parse().ok());
        // Without a VIP to exclude, the first link-local address.
        assert_eq!(link_local_ipv6(&addrs, &[]), "fe80::100".parse().ok());
        // Only VIPs and global addresses: none.
        assert_eq!(link_local_ipv6(&addrs[..3], &vips), None);
    }

    #[test]
    fn link_local_source_skips_failed_and_prefers_usable() {
        let failed = v6(
            "fe80::1",
            AddressHeaderFlags::empty(),
            Some(AddressFlags::Dadfailed | AddressFlags::Tentative | AddressFlags::Permanent),
        );
        let tentative = v6("fe80::2", AddressHeaderFlags::Tentative, None);
        let ok = v6(
            "fe80::3",
            AddressHeaderFlags::empty(),
            Some(AddressFlags::Permanent),
        );
        assert_eq!(
            link_local_ipv6(&[failed.clone(), tentative.clone(), ok], &[]),
            "fe80::3".parse().ok()
        );
        // A tentative address is still better than none (it is usable within a second).
        assert_eq!(
            link_local_ipv6(&[failed.clone(), tentative], &[]),
            "fe80::2".parse().ok()
        );
        assert_eq!(link_local_ipv6(&[failed], &[]), None);
    }

    fn with_prefix(mut a: IfAddr, prefix_len: u8) -> IfAddr {
        a.prefix_len = prefix_len;
        a
    }

    #[test]
    fn global_source_is_the_interfaces_own_in_the_peers_subnet() {
        let peer: Ipv6Addr = "2001:db8::2".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        let vips: Vec<IpAddr> = ["2001:db8::100"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        // Newest first, as the kernel lists them: another instance's VIP (not in
        // `exclude`), ours, an address in another subnet, the box's own, link-local.
        let addrs = [
            plain("2001:db8::200"),
            plain("2001:db8::100"),
            plain("2001:db8:1::5"),
            plain("2001:db8::1"),
            plain("fe80::1"),
        ];
        // The oldest in the peer's subnet that is not our VIP.
        assert_eq!(global_ipv6(&addrs, &vips, peer), "2001:db8::1".parse().ok());
        // The peer's subnet wins over age.
        let addrs2 = [plain("2001:db8::1"), plain("2001:db8:1::5")];
        assert_eq!(
            global_ipv6(&addrs2, &vips, peer),
            "2001:db8::1".parse().ok()
        );
        // No address in the peer's subnet (a routed peer): the oldest global one.
        let far: Ipv6Addr = "2001:db8:ffff::2".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        assert_eq!(global_ipv6(&addrs, &vips, far), "2001:db8::1".parse().ok());
        // Only link-local and VIPs: none.
        assert_eq!(
            global_ipv6(&[plain("2001:db8::100"), plain("fe80::1")], &vips, peer),
            None
        );
    }

    #[test]
    fn global_source_skips_temporary_failed_and_prefers_usable() {
        let peer: Ipv6Addr = "2001:db8::2".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        let temporary = v6(
            "2001:db8::aaaa",
            AddressHeaderFlags::empty(),
            Some(AddressFlags::Secondary),
        );
        let failed = v6(
            "2001:db8::bbbb",
            AddressHeaderFlags::empty(),
            Some(AddressFlags::Dadfailed | AddressFlags::Tentative),
        );
        let deprecated = v6(
            "2001:db8::cccc",
            AddressHeaderFlags::empty(),
            Some(AddressFlags::Deprecated),
        );
        let ok = plain("2001:db8::1");
        assert_eq!(
            global_ipv6(
                &[
                    ok.clone(),
                    temporary.clone(),
                    failed.clone(),
                    deprecated.clone()
                ],
                &[],
                peer
            ),
            "2001:db8::1".parse().ok()
        );
        // A deprecated address still beats none.
        assert_eq!(
            global_ipv6(&[temporary.clone(), failed.clone(), deprecated], &[], peer),
            "2001:db8::cccc".parse().ok()
        );
        assert_eq!(global_ipv6(&[temporary, failed], &[], peer), None);
        // The prefix length decides what "the peer's subnet" is.
        let wide = with_prefix(plain("2001:db8:0:1::1"), 48);
        let narrow = with_prefix(plain("2001:db8:0:2::1"), 64);
        assert_eq!(
            global_ipv6(&[wide, narrow], &[], peer),
            "2001:db8:0:1::1".parse().ok()
        );
    }

    #[test]
    fn prefixes() {
        let a: Ipv6Addr = "2001:db8::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        let b: Ipv6Addr = "2001:db8::2".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        assert!(same_prefix(a, b, 64));
        assert!(same_prefix(a, b, 126));
        assert!(!same_prefix(a, b, 127));
        assert!(!same_prefix(a, b, 128));
        assert!(same_prefix(a, a, 128));
        assert!(same_prefix(a, b, 0));
        assert!(same_prefix(a, "::1".parse().unwrap_or(a), 0));
        assert!(!same_prefix(a, b, 200));
    }
}
