//! Raw IPPROTO_VRRP (112) sockets: one per interface and address family, shared by every
//! instance on that interface (receive side demultiplexed by VRID).

use std::io;
use std::io::{IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn, SockaddrIn6, SockaddrStorage,
    recvmsg, sendmsg, setsockopt, sockopt,
};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::packet::{MCAST_V4, MCAST_V6, PROTO_VRRP, parse_ipv4_header};

/// TOS / traffic class of adverts (DSCP CS6, "network control"), as keepalived.
const TOS: u32 = 0xc0;

/// One received VRRP payload with what the receive checks need from the IP layer.
#[derive(Debug, Clone)]
pub struct Received {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL / hop limit, when the kernel told us.
    pub ttl: Option<u8>,
    pub payload: Vec<u8>,
}

pub struct VrrpSocket {
    fd: AsyncFd<Socket>,
    v6: bool,
    ifindex: u32,
}

fn set_int(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: setsockopt with a pointer to a live c_int and its size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl VrrpSocket {
    /// Opens the socket for `ifname`: bound to the device, TTL/hop limit 255, TOS 0xc0,
    /// no multicast loopback, and joined to 224.0.0.18 / ff02::12 when `multicast`.
    pub fn open(ifname: &str, ifindex: u32, v6: bool, multicast: bool) -> io::Result<VrrpSocket> {
        let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
        let s = Socket::new(
            domain,
            Type::RAW,
            Some(Protocol::from(i32::from(PROTO_VRRP))),
        )?;
        s.bind_device(Some(ifname.as_bytes()))?;
        s.set_nonblocking(true)?;
        let fd = s.as_raw_fd();
        if v6 {
            s.set_multicast_hops_v6(255)?;
            s.set_unicast_hops_v6(255)?;
            s.set_multicast_loop_v6(false)?;
            s.set_multicast_if_v6(ifindex)?;
            set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_TCLASS, TOS as i32)?;
            setsockopt(&s, sockopt::Ipv6RecvPacketInfo, &true).map_err(io::Error::from)?;
            setsockopt(&s, sockopt::Ipv6RecvHopLimit, &true).map_err(io::Error::from)?;
            if multicast {
                s.join_multicast_v6(&MCAST_V6, ifindex)?;
            }
        } else {
            s.set_multicast_ttl_v4(255)?;
            s.set_ttl_v4(255)?;
            s.set_multicast_loop_v4(false)?;
            s.set_tos_v4(TOS)?;
            // keepalived sends without DF.
            set_int(
                fd,
                libc::IPPROTO_IP,
                libc::IP_MTU_DISCOVER,
                libc::IP_PMTUDISC_DONT,
            )?;
            if multicast {
                s.join_multicast_v4_n(
                    &MCAST_V4,
                    &socket2::InterfaceIndexOrAddress::Index(ifindex),
                )?;
            }
        }
        // SAFETY: `s` owns its descriptor and keeps it open for the AsyncFd's lifetime.
        let fd = unsafe { AsyncFd::register_with_interest(s, Interest::READABLE) }
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(VrrpSocket { fd, v6, ifindex })
    }

    /// Receives one packet (waits for it).
    pub async fn recv(&self) -> io::Result<Received> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| self.recv_now(fd.get_ref().as_raw_fd())) {
                Ok(Ok(Some(r))) => return Ok(r),
                Ok(Ok(None)) => continue,
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    /// `Ok(None)`: something that is not a VRRP packet we can use (skipped).
    fn recv_now(&self, fd: RawFd) -> io::Result<Option<Received>> {
        let mut buf = vec![0u8; 2048];
        let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
        let (n, src, dst, ttl) = {
            let mut iov = [IoSliceMut::new(&mut buf)];
            let msg = recvmsg::<SockaddrStorage>(fd, &mut iov, Some(&mut cmsg), MsgFlags::empty())
                .map_err(io::Error::from)?;
            let mut dst = None;
            let mut ttl = None;
            if let Ok(cmsgs) = msg.cmsgs() {
                for c in cmsgs {
                    match c {
                        ControlMessageOwned::Ipv6PacketInfo(info) => {
                            dst = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                        }
                        ControlMessageOwned::Ipv6HopLimit(h) => ttl = u8::try_from(h).ok(),
                        _ => {}
                    }
                }
            }
            let src = msg.address.and_then(|a: SockaddrStorage| {
                if let Some(v6) = a.as_sockaddr_in6() {
                    Some(IpAddr::V6(v6.ip()))
                } else {
                    a.as_sockaddr_in().map(|v4| IpAddr::V4(v4.ip()))
                }
            });
            (msg.bytes, src, dst, ttl)
        };
        buf.truncate(n);
        if self.v6 {
            let (Some(src), Some(dst)) = (src, dst) else {
                return Ok(None);
            };
            return Ok(Some(Received {
                src,
                dst,
                ttl,
                payload: buf,
            }));
        }
        // IPv4 raw sockets deliver the IP header.
        let Some(h) = parse_ipv4_header(&buf) else {
            return Ok(None);
        };
        Ok(Some(Received {
            src: IpAddr::V4(h.src),
            dst: IpAddr::V4(h.dst),
            ttl: Some(h.ttl),
            payload: buf[h.header_len..h.total_len].to_vec(),
        }))
    }

    /// Sends `payload` from `src` (chosen per packet with IP_PKTINFO / IPV6_PKTINFO) to
    /// `dst`.
    pub fn send(&self, src: IpAddr, dst: IpAddr, payload: &[u8]) -> io::Result<()> {
        let fd = self.fd.get_ref().as_raw_fd();
        let iov = [IoSlice::new(payload)];
        let r = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let info = libc::in_pktinfo {
                    ipi_ifindex: 0,
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(s).to_be(),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                let to = SockaddrIn::from(SocketAddrV4::new(d, 0));
                sendmsg(
                    fd,
                    &iov,
                    &[ControlMessage::Ipv4PacketInfo(&info)],
                    MsgFlags::MSG_DONTWAIT,
                    Some(&to),
                )
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: s.octets(),
                    },
                    ipi6_ifindex: self.ifindex,
                };
                let to = SockaddrIn6::from(SocketAddrV6::new(d, 0, 0, self.ifindex));
                sendmsg(
                    fd,
                    &iov,
                    &[ControlMessage::Ipv6PacketInfo(&info)],
                    MsgFlags::MSG_DONTWAIT,
                    Some(&to),
                )
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "source and destination families differ",
                ));
            }
        };
        r.map(|_| ()).map_err(io::Error::from)
    }
}

/// The multicast group of a family.
pub fn group(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(MCAST_V6)
    } else {
        IpAddr::V4(MCAST_V4)
    }
}

/// Whether `dst` is the VRRP multicast group.
pub fn is_group(dst: IpAddr) -> bool {
    dst == IpAddr::V4(MCAST_V4) || dst == IpAddr::V6(MCAST_V6)
}
