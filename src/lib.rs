//! tandem: VRRP, a TCP balancer and a MySQL sharding router in one daemon.

pub mod admin;
pub mod balancer;
pub mod civil;
pub mod config;
pub mod daemon;
pub mod import;
pub mod net;
pub mod observe;
pub mod router;
pub mod systemd;
pub mod track;
pub mod vrrp;
