//! `balancer:` — haproxy `mode tcp` listeners.

use std::net::SocketAddr;

use serde::Serialize;

use super::decode::{Ctx, Decode, MapReader};
use super::types::Dur;
use super::yaml::Node;
use crate::config_enum;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BalancerConfig {
    /// Connections across all listeners (haproxy `global maxconn`); `None` = no global cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxconn: Option<u32>,
    pub listeners: Vec<Listener>,
}

impl Decode for BalancerConfig {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let maxconn = m.int::<u32>(cx, "maxconn", 1, 10_000_000).opt();
        let listeners = m.get::<Vec<Listener>>(cx, "listeners").or_else(Vec::new);
        m.finish(cx);
        Some(BalancerConfig {
            maxconn: maxconn?,
            listeners: listeners?,
        })
    }
}

config_enum! {
    pub enum Balance {
        RoundRobin => "roundrobin",
        StaticRr => "static-rr",
        LeastConn => "leastconn",
        Source => "source",
        First => "first",
    }
}

config_enum! {
    /// How `balance: source` maps a client address to a server.
    pub enum SourceCompat {
        /// Weighted rendezvous hashing on server names: identical on both boxes, and only
        /// the clients of a server that goes away move.
        Tandem => "tandem",
        /// haproxy's map-based `hash % total_weight`, for exact parity when migrating.
        Haproxy => "haproxy",
    }
}

config_enum! {
    pub enum Relay {
        /// splice(2) through pooled pipes (Linux).
        Splice => "splice",
        /// Userspace buffers.
        Buffered => "buffered",
    }
}

config_enum! {
    pub enum OnMarkedDown {
        /// Established sessions stay (haproxy default).
        Keep => "keep",
        /// Close the sessions of a server that is marked down.
        ShutdownSessions => "shutdown_sessions",
    }
}

config_enum! {
    pub enum ProxyVersion { V1 => "v1", V2 => "v2" }
}

config_enum! {
    pub enum CheckType { Tcp => "tcp", Http => "http", Mysql => "mysql" }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listener {
    pub name: String,
    /// May be an address the box does not hold yet (the VIP): bound with IP_FREEBIND.
    pub bind: SocketAddr,
    pub balance: Balance,
    pub source_compat: SourceCompat,
    pub maxconn: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backlog: Option<u32>,
    pub timeouts: Timeouts,
    pub retries: u32,
    pub redispatch: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<Check>,
    pub allbackups: bool,
    pub on_marked_down: OnMarkedDown,
    pub relay: Relay,
    /// Accept a PROXY protocol header (v1 or v2) from clients.
    pub accept_proxy: bool,
    /// SO_KEEPALIVE on both sides.
    pub tcp_keepalive: bool,
    /// One `tcplog`-style line per connection.
    pub log: bool,
    /// Source address of connections to the servers (haproxy `source`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<std::net::IpAddr>,
    pub servers: Vec<Server>,
}

impl Decode for Listener {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let name = m.req::<String>(cx, "name");
        let bind = m.req::<SocketAddr>(cx, "bind");
        let balance = m.get(cx, "balance").or(Balance::RoundRobin);
        let source_compat = m.get(cx, "source_compat").or(SourceCompat::Tandem);
        let maxconn = m.int::<u32>(cx, "maxconn", 1, 10_000_000).or(2000);
        let backlog = m.int::<u32>(cx, "backlog", 1, 1_000_000).opt();
        let timeouts = m.get::<Timeouts>(cx, "timeouts").or_else(Timeouts::default);
        let retries = m.int::<u32>(cx, "retries", 0, 100).or(3);
        let redispatch = m.get::<bool>(cx, "redispatch").or(false);
        let check = m.get::<Check>(cx, "check").opt();
        let allbackups = m.get::<bool>(cx, "allbackups").or(false);
        let on_marked_down = m.get(cx, "on_marked_down").or(OnMarkedDown::Keep);
        let relay = m.get(cx, "relay").or(Relay::Splice);
        let accept_proxy = m.get::<bool>(cx, "accept_proxy").or(false);
        let tcp_keepalive = m.get::<bool>(cx, "tcp_keepalive").or(false);
        let log = m.get::<bool>(cx, "log").or(true);
        let source = m.get::<std::net::IpAddr>(cx, "source").opt();
        let servers = m.req::<Vec<Server>>(cx, "servers");
        m.finish(cx);
        Some(Listener {
            name: name?,
            bind: bind?,
            balance: balance?,
            source_compat: source_compat?,
            maxconn: maxconn?,
            backlog: backlog?,
            timeouts: timeouts?,
            retries: retries?,
            redispatch: redispatch?,
            check: check?,
            allbackups: allbackups?,
            on_marked_down: on_marked_down?,
            relay: relay?,
            accept_proxy: accept_proxy?,
            tcp_keepalive: tcp_keepalive?,
            log: log?,
            source: source?,
            servers: servers?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeouts {
    pub connect: Dur,
    /// Client inactivity.
    pub client: Dur,
    /// Server inactivity.
    pub server: Dur,
    /// Inactivity once both sides have spoken (default: the larger of client and server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<Dur>,
    /// Inactivity after the client half-closed (default: client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_fin: Option<Dur>,
    /// Inactivity after the server half-closed (default: server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_fin: Option<Dur>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Dur::secs(5),
            client: Dur::secs(3600),
            server: Dur::secs(3600),
            tunnel: None,
            client_fin: None,
            server_fin: None,
        }
    }
}

fn nonzero(d: &Dur) -> Result<(), String> {
    if d.is_zero() {
        Err("must be greater than zero".into())
    } else {
        Ok(())
    }
}

impl Decode for Timeouts {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let d = Timeouts::default();
        let mut m = MapReader::new(node, cx)?;
        let connect = m.get(cx, "connect").check(cx, nonzero).or(d.connect);
        let client = m.get(cx, "client").check(cx, nonzero).or(d.client);
        let server = m.get(cx, "server").check(cx, nonzero).or(d.server);
        let tunnel = m.get(cx, "tunnel").check(cx, nonzero).opt();
        let client_fin = m.get(cx, "client_fin").check(cx, nonzero).opt();
        let server_fin = m.get(cx, "server_fin").check(cx, nonzero).opt();
        m.finish(cx);
        Some(Timeouts {
            connect: connect?,
            client: client?,
            server: server?,
            tunnel: tunnel?,
            client_fin: client_fin?,
            server_fin: server_fin?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    #[serde(rename = "type")]
    pub kind: CheckType,
    /// Check this port instead of the server's (the xinetd `check port 48700` pattern).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `http`: the request path.
    pub path: String,
    /// `http`: the status that means up.
    pub expect_status: u16,
    /// `mysql`: log in as this user (no password) and send COM_QUIT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub inter: Dur,
    /// Interval while a server is changing state (default: inter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fastinter: Option<Dur>,
    /// Interval while a server is down (default: inter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downinter: Option<Dur>,
    pub rise: u32,
    pub fall: u32,
    /// Default: inter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
}

impl Decode for Check {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let kind = m.get(cx, "type").or(CheckType::Tcp);
        let port = m.int::<u16>(cx, "port", 1, 65535).opt();
        let path = m
            .get::<String>(cx, "path")
            .check(cx, |p| {
                if p.starts_with('/') && !p.contains([' ', '\r', '\n']) {
                    Ok(())
                } else {
                    Err(format!(
                        "`{p}` is not a request path (starts with `/`, no spaces)"
                    ))
                }
            })
            .or_else(|| "/".into());
        let expect_status = m.int::<u16>(cx, "expect_status", 100, 599).or(200);
        let user = m.get::<String>(cx, "user").opt();
        let inter = m.get(cx, "inter").check(cx, nonzero).or(Dur::secs(2));
        let fastinter = m.get(cx, "fastinter").check(cx, nonzero).opt();
        let downinter = m.get(cx, "downinter").check(cx, nonzero).opt();
        let rise = m.int::<u32>(cx, "rise", 1, 1000).or(2);
        let fall = m.int::<u32>(cx, "fall", 1, 1000).or(3);
        let timeout = m.get(cx, "timeout").check(cx, nonzero).opt();
        m.finish(cx);
        Some(Check {
            kind: kind?,
            port: port?,
            path: path?,
            expect_status: expect_status?,
            user: user?,
            inter: inter?,
            fastinter: fastinter?,
            downinter: downinter?,
            rise: rise?,
            fall: fall?,
            timeout: timeout?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Server {
    pub name: String,
    pub address: SocketAddr,
    /// 0..256; 0 takes no new connections.
    pub weight: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxconn: Option<u32>,
    /// Used only when no active server is up.
    pub backup: bool,
    /// Health-check this server (when the listener has a `check`).
    pub check: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_proxy: Option<ProxyVersion>,
}

impl Decode for Server {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let name = m.req::<String>(cx, "name");
        let address = m.req::<SocketAddr>(cx, "address");
        let weight = m.int::<u16>(cx, "weight", 0, 256).or(1);
        let maxconn = m.int::<u32>(cx, "maxconn", 1, 10_000_000).opt();
        let backup = m.get::<bool>(cx, "backup").or(false);
        let check = m.get::<bool>(cx, "check").or(true);
        let send_proxy = m.get(cx, "send_proxy").opt();
        m.finish(cx);
        Some(Server {
            name: name?,
            address: address?,
            weight: weight?,
            maxconn: maxconn?,
            backup: backup?,
            check: check?,
            send_proxy: send_proxy?,
        })
    }
}
