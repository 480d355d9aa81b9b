//! VRRP: keepalived-compatible elections and VIP ownership.

pub mod machine;
pub mod packet;
