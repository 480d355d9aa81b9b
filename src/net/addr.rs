//! VIPs: added and removed over rtnetlink, like `ip addr add/del`. Only addresses the
//! config names are ever touched.

use std::net::IpAddr;

use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressHeaderFlags};

use super::link::{NetError, Netlink};
use crate::config::types::Cidr;

/// One VIP as it is put on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSpec {
    pub address: Cidr,
    pub ifindex: u32,
    pub ifname: String,
    pub label: Option<String>,
}

impl VipSpec {
    pub fn addr(&self) -> IpAddr {
        self.address.addr()
    }
}

impl Netlink {
    /// Adds a VIP; an address that is already there counts as added.
    pub async fn add_vip(&self, vip: &VipSpec) -> Result<(), NetError> {
        let mut req = self
            .handle
            .address()
            .add(vip.ifindex, vip.addr(), vip.address.prefix_len());
        let msg = req.message_mut();
        if let Some(l) = &vip.label {
            msg.attributes.push(AddressAttribute::Label(l.clone()));
        }
        if vip.addr().is_ipv6() {
            // No duplicate address detection: the address must work at once, and the
            // peer that held it a moment ago would make DAD fail.
            msg.header.flags |= AddressHeaderFlags::Nodad;
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        match req.execute().await {
            Ok(()) => Ok(()),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EEXIST => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a VIP if it is present with the configured prefix; returns whether it was.
    pub async fn remove_vip(&self, vip: &VipSpec) -> Result<bool, NetError> {
        let present = self
            .addresses(vip.ifindex)
            .await?
            .into_iter()
            .find(|a| a.addr == vip.addr() && a.prefix_len == vip.address.prefix_len());
        let Some(a) = present else { return Ok(false) };
        match self.handle.address().del(a.message).execute().await {
            Ok(()) => Ok(true),
            Err(rtnetlink::Error::NetlinkError(e))
                if e.raw_code() == -libc::EADDRNOTAVAIL || e.raw_code() == -libc::ENOENT =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Which of `vips` are on their interface now.
    pub async fn vips_present(&self, vips: &[VipSpec]) -> Result<Vec<bool>, NetError> {
        let mut out = Vec::with_capacity(vips.len());
        for v in vips {
            let addrs = self.addresses(v.ifindex).await?;
            out.push(
                addrs
                    .iter()
                    .any(|a| a.addr == v.addr() && a.prefix_len == v.address.prefix_len()),
            );
        }
        Ok(out)
    }
}
