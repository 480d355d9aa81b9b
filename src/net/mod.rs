//! Kernel-facing networking: interfaces, VIPs via rtnetlink, gratuitous ARP / NA.

pub mod addr;
pub mod announce;
pub mod link;
