//! `balancer:` — haproxy `mode tcp` listeners.

use std::net::SocketAddr;

use serde::Serialize;

use super::decode::{Ctx, Decode, MapReader, parse_scalar};
use super::types::{Dur, HostPort, nonzero_check};
use super::yaml::{Kind, Node};
use crate::config_enum;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BalancerConfig {
    /// Connections across all listeners (haproxy `global maxconn`); `None` = no global cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxconn: Option<u32>,
    /// Connections accepted per second across all listeners (haproxy `global
    /// maxconnrate`); `None` = no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxconnrate: Option<u32>,
    /// Sessions started per second across all listeners (haproxy `global maxsessrate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxsessrate: Option<u32>,
    pub listeners: Vec<Listener>,
}

impl Decode for BalancerConfig {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let maxconn = m.int::<u32>(cx, "maxconn", 1, 10_000_000).opt();
        let maxconnrate = m.int::<u32>(cx, "maxconnrate", 1, 10_000_000).opt();
        let maxsessrate = m.int::<u32>(cx, "maxsessrate", 1, 10_000_000).opt();
        let listeners = m.get::<Vec<Listener>>(cx, "listeners").or_else(Vec::new);
        m.finish(cx);
        Some(BalancerConfig {
            maxconn: maxconn?,
            maxconnrate: maxconnrate?,
            maxsessrate: maxsessrate?,
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
    pub enum OnMarkedUp {
        /// Sessions on backup servers stay (haproxy default).
        Keep => "keep",
        /// Close the sessions of every backup server when an active server comes up.
        ShutdownBackupSessions => "shutdown_backup_sessions",
    }
}

config_enum! {
    pub enum ProxyVersion { V1 => "v1", V2 => "v2" }
}

config_enum! {
    pub enum CheckType { Tcp => "tcp", Http => "http", Mysql => "mysql" }
}

config_enum! {
    /// haproxy `observe`: what live traffic tells the health check.
    pub enum Observe {
        /// Connections to the server: a failed one is an error, one made clears them.
        Layer4 => "layer4",
        /// Live traffic does not count (a server's own `check` when its listener's
        /// observes); read as no `observe` at all.
        None => "none",
    }
}

config_enum! {
    /// haproxy `on-error`: what `error_limit` consecutive errors in live traffic do.
    pub enum OnError {
        /// The next check comes after `fastinter`.
        Fastinter => "fastinter",
        /// As a failed check (and `fastinter`).
        FailCheck => "fail_check",
        /// As a failed check that leaves one more failure before down (and `fastinter`).
        SuddenDeath => "sudden_death",
        /// Down at once (and `fastinter`).
        MarkDown => "mark_down",
    }
}

config_enum! {
    pub enum StickOn {
        /// The client's IP address (haproxy `stick on src`).
        Src => "src",
        /// The address the client connected to (haproxy `stick on dst`): one entry per
        /// listener address, so every client goes to the same server.
        Dst => "dst",
    }
}

/// Server persistence through a stick table (haproxy `stick-table type ip` + `stick on`):
/// a connection whose key has an entry goes to that entry's server while the server is
/// usable; otherwise the algorithm picks, and the server used is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stick {
    pub on: StickOn,
    /// Entries not used for this long are forgotten (haproxy `expire`); `None`: kept
    /// until the table is full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire: Option<Dur>,
    /// Entries at most (haproxy `size`); when full, the least recently used go.
    pub size: u32,
}

impl Stick {
    pub const DEFAULT_SIZE: u32 = 100_000;
}

impl Decode for Stick {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let on = m.req::<StickOn>(cx, "on");
        let expire = m.get(cx, "expire").check(cx, nonzero_check).opt();
        let size = m
            .int::<u32>(cx, "size", 1, 100_000_000)
            .or(Stick::DEFAULT_SIZE);
        m.finish(cx);
        Some(Stick {
            on: on?,
            expire: expire?,
            size: size?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listener {
    pub name: String,
    /// May be an address the box does not hold yet (the VIP): bound with IP_FREEBIND.
    pub bind: SocketAddr,
    pub balance: Balance,
    pub source_compat: SourceCompat,
    pub maxconn: u32,
    /// Sessions started per second on this listener (haproxy `rate-limit sessions`);
    /// beyond it connections wait in the backlog. `None` = no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit_sessions: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backlog: Option<u32>,
    pub timeouts: Timeouts,
    pub retries: u32,
    pub redispatch: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<Check>,
    /// haproxy's agent check for every server (`default-server agent-check agent-port
    /// ...`): the server tells the balancer its weight, state and health.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentSettings>,
    pub allbackups: bool,
    pub on_marked_down: OnMarkedDown,
    pub on_marked_up: OnMarkedUp,
    pub relay: Relay,
    /// Accept a PROXY protocol header (v1 or v2) from clients.
    pub accept_proxy: bool,
    /// SO_KEEPALIVE per side (haproxy `option clitcpka`/`srvtcpka`).
    pub tcp_keepalive: TcpKeepalive,
    /// One `tcplog`-style line per connection.
    pub log: bool,
    /// Source address of connections to the servers (haproxy `source`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<std::net::IpAddr>,
    /// Server persistence (haproxy stick table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stick: Option<Stick>,
    pub servers: Vec<Server>,
}

impl Decode for Listener {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let name = m.req_name(cx, "name");
        let bind = m.req::<SocketAddr>(cx, "bind");
        let balance = m.get(cx, "balance").or(Balance::RoundRobin);
        let source_compat = m.get(cx, "source_compat").or(SourceCompat::Tandem);
        let maxconn = m.int::<u32>(cx, "maxconn", 1, 10_000_000).or(2000);
        let rate_limit_sessions = m.int::<u32>(cx, "rate_limit_sessions", 1, 10_000_000).opt();
        let backlog = m.int::<u32>(cx, "backlog", 1, 1_000_000).opt();
        let timeouts = m.get::<Timeouts>(cx, "timeouts").or_else(Timeouts::default);
        let retries = m.int::<u32>(cx, "retries", 0, 100).or(3);
        let redispatch = m.get::<bool>(cx, "redispatch").or(false);
        let check = m.get::<Check>(cx, "check").opt();
        let agent = m.get::<AgentSettings>(cx, "agent").opt();
        let allbackups = m.get::<bool>(cx, "allbackups").or(false);
        let on_marked_down = m.get(cx, "on_marked_down").or(OnMarkedDown::Keep);
        let on_marked_up = m.get(cx, "on_marked_up").or(OnMarkedUp::Keep);
        let relay = m.get(cx, "relay").or(Relay::Splice);
        let accept_proxy = m.get::<bool>(cx, "accept_proxy").or(false);
        let tcp_keepalive = m
            .get::<TcpKeepalive>(cx, "tcp_keepalive")
            .or(TcpKeepalive::OFF);
        let log = m.get::<bool>(cx, "log").or(true);
        let source = m.get::<std::net::IpAddr>(cx, "source").opt();
        let stick = m.get::<Stick>(cx, "stick").opt();
        let servers = m.req::<Vec<Server>>(cx, "servers");
        m.finish(cx);
        Some(Listener {
            name: name?,
            bind: bind?,
            balance: balance?,
            source_compat: source_compat?,
            maxconn: maxconn?,
            rate_limit_sessions: rate_limit_sessions?,
            backlog: backlog?,
            timeouts: timeouts?,
            retries: retries?,
            redispatch: redispatch?,
            check: check?,
            agent: agent?,
            allbackups: allbackups?,
            on_marked_down: on_marked_down?,
            on_marked_up: on_marked_up?,
            relay: relay?,
            accept_proxy: accept_proxy?,
            tcp_keepalive: tcp_keepalive?,
            log: log?,
            source: source?,
            stick: stick?,
            servers: servers?,
        })
    }
}

/// TCP keepalive probes on the client side (accepted connections) and the server side
/// (connections to the servers): haproxy's `option clitcpka`/`srvtcpka` (`tcpka` for
/// both) with `clitcpka-idle`/`-intvl`/`-cnt` and `srvtcpka-*`, the tuning shared by both
/// sides. Written `true`/`false` (both sides, 60 s idle) or as a mapping
/// `{ client: true, server: false, idle: 60s, interval: 10s, count: 6 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpKeepalive {
    /// SO_KEEPALIVE on the accepted (client) socket.
    pub client: bool,
    /// SO_KEEPALIVE on the socket to the server.
    pub server: bool,
    /// Idle time before the first probe (TCP_KEEPIDLE).
    pub idle: Dur,
    /// Between probes (TCP_KEEPINTVL); `None` keeps the kernel's (`tcp_keepalive_intvl`).
    pub interval: Option<Dur>,
    /// Unanswered probes before the connection is dropped (TCP_KEEPCNT); `None` keeps
    /// the kernel's (`tcp_keepalive_probes`).
    pub count: Option<u32>,
}

impl TcpKeepalive {
    /// The idle time used when none is given (the kernel's 2 h is too long for a VIP).
    pub const DEFAULT_IDLE: Dur = Dur::secs(60);
    /// The kernel's limit for TCP_KEEPIDLE and TCP_KEEPINTVL, in seconds.
    pub const MAX_SECS: u64 = 32767;
    /// The kernel's limit for TCP_KEEPCNT.
    pub const MAX_COUNT: u32 = 127;

    pub const OFF: TcpKeepalive = TcpKeepalive {
        client: false,
        server: false,
        idle: Self::DEFAULT_IDLE,
        interval: None,
        count: None,
    };

    /// `tcp_keepalive: true`: both sides, 60 s idle, the kernel's interval and count.
    pub const BOTH: TcpKeepalive = TcpKeepalive {
        client: true,
        server: true,
        ..Self::OFF
    };

    /// Whether the tuning is the default one (what `true`/`false` stand for).
    fn default_tuning(&self) -> bool {
        self.idle == Self::DEFAULT_IDLE && self.interval.is_none() && self.count.is_none()
    }

    /// The socket option values: the idle time, and interval/count when set.
    pub fn params(&self) -> socket2::TcpKeepalive {
        let mut k = socket2::TcpKeepalive::new().with_time(self.idle.get());
        if let Some(i) = self.interval {
            k = k.with_interval(i.get());
        }
        if let Some(n) = self.count {
            k = k.with_retries(n);
        }
        k
    }
}

/// `true`/`false` for the forms those words stand for, the mapping otherwise.
impl Serialize for TcpKeepalive {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if self.default_tuning() && self.client == self.server {
            return s.serialize_bool(self.client);
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("client", &self.client)?;
        m.serialize_entry("server", &self.server)?;
        m.serialize_entry("idle", &self.idle)?;
        if let Some(i) = &self.interval {
            m.serialize_entry("interval", i)?;
        }
        if let Some(n) = &self.count {
            m.serialize_entry("count", n)?;
        }
        m.end()
    }
}

/// A keepalive time: whole seconds from 1s to the kernel's 32767s.
fn keepalive_secs(d: &Dur) -> Result<(), String> {
    let max = TcpKeepalive::MAX_SECS;
    if d.get().subsec_nanos() != 0 {
        Err(format!("{d}: TCP keepalive times are whole seconds"))
    } else if d.get().as_secs() < 1 || d.get().as_secs() > max {
        Err(format!(
            "{d} is out of range: must be between 1s and {max}s (the kernel's limit)"
        ))
    } else {
        Ok(())
    }
}

impl Decode for TcpKeepalive {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let expected = "true or false, or a mapping of client, server, idle, interval, count";
        match &node.kind {
            Kind::Map(_) => {}
            Kind::Scalar { text, plain: true }
                if matches!(
                    text.to_ascii_lowercase().as_str(),
                    "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
                ) =>
            {
                let on = bool::decode(node, cx)?;
                return Some(if on { Self::BOTH } else { Self::OFF });
            }
            _ => {
                cx.expected(node, expected);
                return None;
            }
        }
        let mut m = MapReader::new(node, cx)?;
        let sides_named = m.has("client") || m.has("server");
        let client = m.get::<bool>(cx, "client").or(false);
        let server = m.get::<bool>(cx, "server").or(false);
        let idle = m
            .get::<Dur>(cx, "idle")
            .check(cx, keepalive_secs)
            .or(Self::DEFAULT_IDLE);
        let interval = m.get::<Dur>(cx, "interval").check(cx, keepalive_secs).opt();
        let count = m.int::<u32>(cx, "count", 1, Self::MAX_COUNT).opt();
        m.finish(cx);
        if !sides_named {
            cx.error_hint(
                node.mark,
                "the mapping form names the sides that get keepalive",
                "add `client: true` and/or `server: true`",
            );
            return None;
        }
        Some(TcpKeepalive {
            client: client?,
            server: server?,
            idle: idle?,
            interval: interval?,
            count: count?,
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
    /// Inactivity once connected, replacing both client and server (haproxy `timeout
    /// tunnel`); unset, client and server apply as they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<Dur>,
    /// Inactivity after the client half-closed (default: tunnel if set, else client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_fin: Option<Dur>,
    /// Inactivity after the server half-closed (default: tunnel if set, else server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_fin: Option<Dur>,
    /// How long a connection waits for a server slot (haproxy `timeout queue`;
    /// default: `connect`, as haproxy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<Dur>,
}

impl Timeouts {
    /// The wait for a server slot in force.
    pub fn queue(&self) -> Dur {
        self.queue.unwrap_or(self.connect)
    }
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
            queue: None,
        }
    }
}

impl Decode for Timeouts {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let d = Timeouts::default();
        let mut m = MapReader::new(node, cx)?;
        let connect = m.get(cx, "connect").check(cx, nonzero_check).or(d.connect);
        let client = m.get(cx, "client").check(cx, nonzero_check).or(d.client);
        let server = m.get(cx, "server").check(cx, nonzero_check).or(d.server);
        let tunnel = m.get(cx, "tunnel").check(cx, nonzero_check).opt();
        let client_fin = m.get(cx, "client_fin").check(cx, nonzero_check).opt();
        let server_fin = m.get(cx, "server_fin").check(cx, nonzero_check).opt();
        let queue = m.get(cx, "queue").check(cx, nonzero_check).opt();
        m.finish(cx);
        Some(Timeouts {
            connect: connect?,
            client: client?,
            server: server?,
            tunnel: tunnel?,
            client_fin: client_fin?,
            server_fin: server_fin?,
            queue: queue?,
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
    /// `http`: the status that means up; unset, any 2xx or 3xx (haproxy's `option
    /// httpchk` without `http-check expect`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<u16>,
    /// `http`: a 404 from a running server is a conditional pass that drains it
    /// (haproxy's `http-check disable-on-404`, NOLB) until it answers 2xx/3xx again.
    pub disable_on_404: bool,
    /// `mysql`: log in as this user (no password) and send COM_QUIT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `tcp`: sent once connected (haproxy `tcp-check send`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// `tcp`: the reply must contain this text (haproxy `tcp-check expect string`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
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
    /// Live traffic counts too (haproxy `observe layer4`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observe: Option<Observe>,
    /// Consecutive errors in live traffic that trigger `on_error` (haproxy
    /// `error-limit`, 10).
    pub error_limit: u32,
    pub on_error: OnError,
}

/// The longest `check.expect` (a reply is read up to 16 KiB looking for it).
pub const EXPECT_MAX: usize = 1024;

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
        let expect_status = m.int::<u16>(cx, "expect_status", 100, 599).opt();
        let disable_on_404 = m.get::<bool>(cx, "disable_on_404").or(false);
        let user = m.get::<String>(cx, "user").opt();
        let send = m.get::<String>(cx, "send").opt();
        let expect = m
            .get::<String>(cx, "expect")
            .check(cx, |e| {
                if e.is_empty() {
                    Err("an empty `expect` matches anything; leave it out".into())
                } else if e.len() > EXPECT_MAX {
                    Err(format!("longer than {EXPECT_MAX} bytes"))
                } else {
                    Ok(())
                }
            })
            .opt();
        let inter = m
            .get(cx, "inter")
            .check(cx, super::types::interval_check)
            .or(Dur::secs(2));
        let fastinter = m
            .get(cx, "fastinter")
            .check(cx, super::types::interval_check)
            .opt();
        let downinter = m
            .get(cx, "downinter")
            .check(cx, super::types::interval_check)
            .opt();
        let rise = m.int::<u32>(cx, "rise", 1, 1000).or(2);
        let fall = m.int::<u32>(cx, "fall", 1, 1000).or(3);
        let timeout = m.get(cx, "timeout").check(cx, nonzero_check).opt();
        let observe = m
            .get::<Observe>(cx, "observe")
            .opt()
            .map(|o| o.filter(|o| *o != Observe::None));
        let error_limit = m.int::<u32>(cx, "error_limit", 1, 1_000_000).or(10);
        let on_error = m.get::<OnError>(cx, "on_error").or(OnError::FailCheck);
        m.finish(cx);
        Some(Check {
            kind: kind?,
            port: port?,
            path: path?,
            expect_status: expect_status?,
            disable_on_404: disable_on_404?,
            user: user?,
            send: send?,
            expect: expect?,
            inter: inter?,
            fastinter: fastinter?,
            downinter: downinter?,
            rise: rise?,
            fall: fall?,
            timeout: timeout?,
            observe: observe?,
            error_limit: error_limit?,
            on_error: on_error?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Server {
    pub name: String,
    /// Where connections go: the address as written, or what its host name resolved to
    /// when the configuration was loaded.
    pub address: SocketAddr,
    /// The host name `address` was written with (`db1.example:3306`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// 0..256; 0 takes no new connections.
    pub weight: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxconn: Option<u32>,
    /// Used only when no active server is up.
    pub backup: bool,
    /// Health-check this server (when the listener has a `check`).
    pub check: bool,
    /// This server's own check timing (haproxy's per-server `inter`, `rise`, `fall`,
    /// ...), over the listener's `check`.
    #[serde(skip_serializing_if = "CheckTuning::is_empty")]
    pub check_tuning: CheckTuning,
    /// Its agent check: `Some(false)` none even when the listener has one, `Some(true)`
    /// one (the listener's settings with `agent_tuning` over them); `None`: as the
    /// listener.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<bool>,
    #[serde(skip_serializing_if = "AgentSettings::is_empty")]
    pub agent_tuning: AgentSettings,
    /// Follow another server's state instead of checking this one (haproxy `track
    /// [<listener>/]<server>`): up, down, NOLB, and its maintenance and drain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_proxy: Option<ProxyVersion>,
    /// haproxy `slowstart`: after coming up (or out of maintenance) the server's weight
    /// and `maxconn` grow from almost nothing to full over this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slowstart: Option<Dur>,
}

/// A server's `address`: `IP:port`, or `host:port` resolved now (start, reload,
/// `tandem check`), as haproxy resolves `server` lines without a `resolvers` section.
struct ServerAddr {
    addr: SocketAddr,
    hostname: Option<String>,
}

impl Decode for ServerAddr {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        parse_scalar(node, cx, "an address:port or host:port", |s| {
            if let Ok(addr) = s.trim().parse::<SocketAddr>() {
                if addr.port() == 0 {
                    return Err(format!(
                        "`{s}`: port 0 cannot be connected to; write the server's port"
                    ));
                }
                return Ok(ServerAddr {
                    addr,
                    hostname: None,
                });
            }
            if s.trim().parse::<std::net::IpAddr>().is_ok() {
                return Err(format!(
                    "`{s}` has no port: write `{s}:PORT` (IPv6: `[{s}]:PORT`)"
                ));
            }
            let hp = HostPort::parse(s)?;
            let addr = resolve(&hp.host, hp.port)?;
            Ok(ServerAddr {
                addr,
                hostname: Some(hp.host),
            })
        })
    }
}

/// The first IPv4 address of `host` (else the first IPv6 one), from the system resolver
/// (`/etc/hosts`, then DNS).
fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let all: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{host}`: {e}"))?
        .collect();
    all.iter()
        .find(|a| a.is_ipv4())
        .or_else(|| all.first())
        .copied()
        .ok_or_else(|| format!("`{host}` resolves to no address"))
}

impl Decode for Server {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let name = m.req_name(cx, "name");
        let address = m.req::<ServerAddr>(cx, "address");
        let weight = m.int::<u16>(cx, "weight", 0, 256).or(1);
        let maxconn = m.int::<u32>(cx, "maxconn", 1, 10_000_000).opt();
        let backup = m.get::<bool>(cx, "backup").or(false);
        let check = m
            .get::<ServerCheck>(cx, "check")
            .or(ServerCheck(true, CheckTuning::default()));
        let agent = m.get::<ServerAgent>(cx, "agent").opt();
        let track = m
            .get::<String>(cx, "track")
            .check(cx, |t| {
                let ok = |w: &str| !w.is_empty() && !w.contains(['/', ' ', '\t']);
                match t.split_once('/') {
                    Some((l, s)) if ok(l) && ok(s) => Ok(()),
                    None if ok(t) => Ok(()),
                    _ => Err(format!(
                        "`{t}`: write `server` (in this listener) or `listener/server`"
                    )),
                }
            })
            .opt();
        let send_proxy = m.get(cx, "send_proxy").opt();
        let slowstart = m.get(cx, "slowstart").check(cx, nonzero_check).opt();
        m.finish(cx);
        let address = address?;
        Some(Server {
            name: name?,
            address: address.addr,
            hostname: address.hostname,
            weight: weight?,
            maxconn: maxconn?,
            backup: backup?,
            check: check.as_ref()?.0,
            check_tuning: check?.1,
            agent: agent.as_ref()?.as_ref().map(|a| a.0),
            agent_tuning: agent?.map(|a| a.1).unwrap_or_default(),
            track: track?,
            send_proxy: send_proxy?,
            slowstart: slowstart?,
        })
    }
}

impl Server {
    /// The server it tracks, as (listener, server); `listener`: its own listener's name.
    pub fn tracks(&self, listener: &str) -> Option<(String, String)> {
        let t = self.track.as_deref()?;
        Some(match t.split_once('/') {
            Some((l, s)) => (l.to_string(), s.to_string()),
            None => (listener.to_string(), t.to_string()),
        })
    }
}

/// A server's own check timing, each unset value taken from the listener's `check`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CheckTuning {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inter: Option<Dur>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fastinter: Option<Dur>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downinter: Option<Dur>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rise: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fall: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
    /// haproxy's per-server `observe`, `error-limit`, `on-error` (`observe: none`: not
    /// this server, when the listener's check observes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observe: Option<Observe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_error: Option<OnError>,
}

impl CheckTuning {
    pub fn is_empty(&self) -> bool {
        *self == CheckTuning::default()
    }

    /// The listener's check with this server's values over it (a server `inter`
    /// without `fastinter`/`downinter` of its own moves those with it, as the
    /// listener's do; so does `timeout`).
    pub fn apply(&self, c: &Check) -> Check {
        let mut out = c.clone();
        if let Some(p) = self.port {
            out.port = Some(p);
        }
        if let Some(i) = self.inter {
            out.inter = i;
            if c.timeout.is_none() {
                out.timeout = None;
            }
        }
        if self.fastinter.is_some() {
            out.fastinter = self.fastinter;
        }
        if self.downinter.is_some() {
            out.downinter = self.downinter;
        }
        if let Some(r) = self.rise {
            out.rise = r;
        }
        if let Some(f) = self.fall {
            out.fall = f;
        }
        if self.timeout.is_some() {
            out.timeout = self.timeout;
        }
        match self.observe {
            Some(Observe::None) => out.observe = None,
            Some(o) => out.observe = Some(o),
            None => {}
        }
        if let Some(n) = self.error_limit {
            out.error_limit = n;
        }
        if let Some(e) = self.on_error {
            out.on_error = e;
        }
        out
    }

    /// The error limit of live traffic (`observe: layer4`) for a server with this
    /// tuning under the listener's check `c`; `None`: its connections do not count.
    pub fn observe_limit(&self, c: &Check) -> Option<u32> {
        let observe = match self.observe {
            Some(Observe::None) => None,
            Some(o) => Some(o),
            None => c.observe,
        };
        observe.map(|_| self.error_limit.unwrap_or(c.error_limit))
    }
}

/// A server's `check`: `true`/`false`, or a mapping of its own timing (checked).
struct ServerCheck(bool, CheckTuning);

impl Decode for ServerCheck {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        if !matches!(node.kind, Kind::Map(_)) {
            return bool::decode(node, cx).map(|b| ServerCheck(b, CheckTuning::default()));
        }
        let mut m = MapReader::new(node, cx)?;
        let port = m.int::<u16>(cx, "port", 1, 65535).opt();
        let inter = m
            .get(cx, "inter")
            .check(cx, super::types::interval_check)
            .opt();
        let fastinter = m
            .get(cx, "fastinter")
            .check(cx, super::types::interval_check)
            .opt();
        let downinter = m
            .get(cx, "downinter")
            .check(cx, super::types::interval_check)
            .opt();
        let rise = m.int::<u32>(cx, "rise", 1, 1000).opt();
        let fall = m.int::<u32>(cx, "fall", 1, 1000).opt();
        let timeout = m.get(cx, "timeout").check(cx, nonzero_check).opt();
        let observe = m.get::<Observe>(cx, "observe").opt();
        let error_limit = m.int::<u32>(cx, "error_limit", 1, 1_000_000).opt();
        let on_error = m.get::<OnError>(cx, "on_error").opt();
        m.finish(cx);
        Some(ServerCheck(
            true,
            CheckTuning {
                port: port?,
                inter: inter?,
                fastinter: fastinter?,
                downinter: downinter?,
                rise: rise?,
                fall: fall?,
                timeout: timeout?,
                observe: observe?,
                error_limit: error_limit?,
                on_error: on_error?,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::config::check_str;

    /// A one-listener config with `tcp_keepalive: {ka}` on line 6, column 22.
    fn src(ka: &str) -> String {
        format!(
            "node: t\nbalancer:\n  listeners:\n    - name: l\n      bind: 127.0.0.1:3306\n      tcp_keepalive: {ka}\n      servers: [{{ name: a, address: \"127.0.0.1:3307\" }}]\n"
        )
    }

    fn decoded(ka: &str) -> TcpKeepalive {
        match check_str(&src(ka), "t.yaml", Path::new(".")).into_result() {
            Ok((c, _)) => c.balancer.expect("balancer").listeners[0].tcp_keepalive,
            Err(d) => panic!("{ka}: {d:?}"),
        }
    }

    fn errors(ka: &str) -> Vec<String> {
        check_str(&src(ka), "t.yaml", Path::new("."))
            .errors()
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn server_addresses_may_be_host_names_resolved_at_load() {
        let cfg = |addr: &str| {
            format!(
                "node: t\nbalancer:\n  listeners:\n    - name: l\n      bind: 127.0.0.1:3306\n      servers: [{{ name: a, address: \"{addr}\" }}]\n"
            )
        };
        let (c, _) = check_str(&cfg("localhost:3307"), "t.yaml", Path::new("."))
            .into_result()
            .expect("valid");
        let s = &c.balancer.expect("b").listeners[0].servers[0];
        assert_eq!(s.address, "127.0.0.1:3307".parse().expect("addr"));
        assert_eq!(s.hostname.as_deref(), Some("localhost"));
        let (c, _) = check_str(&cfg("[::1]:3307"), "t.yaml", Path::new("."))
            .into_result()
            .expect("valid");
        assert_eq!(
            c.balancer.expect("b").listeners[0].servers[0].hostname,
            None
        );
        let e: Vec<String> = check_str(&cfg("db1.invalid:3306"), "t.yaml", Path::new("."))
            .errors()
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert!(
            e.len() == 1
                && e[0].starts_with("t.yaml:6:")
                && e[0].contains("cannot resolve `db1.invalid`"),
            "{e:?}"
        );
        let e: Vec<String> = check_str(&cfg("10.0.0.1"), "t.yaml", Path::new("."))
            .errors()
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert!(e.len() == 1 && e[0].contains("has no port"), "{e:?}");
    }

    #[test]
    fn a_servers_own_observe_settings_go_over_the_listeners() {
        let src = "node: t\nbalancer:\n  listeners:\n    - name: l\n      bind: 127.0.0.1:3306\n      check: { type: tcp, observe: layer4, error_limit: 5, on_error: mark_down }\n      servers:\n        - { name: a, address: \"127.0.0.1:3307\" }\n        - { name: b, address: \"127.0.0.1:3308\", check: { observe: none } }\n        - { name: c, address: \"127.0.0.1:3309\", check: { error_limit: 2, on_error: fastinter } }\n";
        let (c, _) = check_str(src, "t.yaml", Path::new("."))
            .into_result()
            .expect("valid");
        let l = &c.balancer.expect("b").listeners[0];
        let check = l.check.as_ref().expect("check");
        let limit = |i: usize| l.servers[i].check_tuning.observe_limit(check);
        assert_eq!((limit(0), limit(1), limit(2)), (Some(5), None, Some(2)));
        let b = l.servers[1].check_tuning.apply(check);
        assert_eq!(b.observe, None);
        let c = l.servers[2].check_tuning.apply(check);
        assert_eq!(
            (c.observe, c.error_limit, c.on_error),
            (Some(Observe::Layer4), 2, OnError::Fastinter)
        );
        // `observe: none` on the listener is no observe.
        let none = src.replace("observe: layer4, ", "observe: none, ");
        let (c, _) = check_str(&none, "t.yaml", Path::new("."))
            .into_result()
            .expect("valid");
        let l = &c.balancer.expect("b").listeners[0];
        assert_eq!(l.check.as_ref().expect("check").observe, None);
    }

    #[test]
    fn tcp_keepalive_bool_form_is_both_sides() {
        assert_eq!(decoded("false"), TcpKeepalive::OFF);
        let on = decoded("true");
        assert_eq!(on, TcpKeepalive::BOTH);
        assert!(on.client && on.server);
        assert_eq!(on.idle, Dur::secs(60));
        assert_eq!((on.interval, on.count), (None, None));
        // Absent: off.
        let none = "node: t\nbalancer:\n  listeners:\n    - name: l\n      bind: 127.0.0.1:3306\n      servers: [{ name: a, address: \"127.0.0.1:3307\" }]\n";
        let (c, _) = check_str(none, "t.yaml", Path::new("."))
            .into_result()
            .expect("valid");
        assert_eq!(
            c.balancer.expect("b").listeners[0].tcp_keepalive,
            TcpKeepalive::OFF
        );
    }

    #[test]
    fn tcp_keepalive_mapping_form() {
        let k = decoded("{ client: true, server: false, idle: 7s, interval: 3s, count: 4 }");
        assert_eq!(
            k,
            TcpKeepalive {
                client: true,
                server: false,
                idle: Dur::secs(7),
                interval: Some(Dur::secs(3)),
                count: Some(4),
            }
        );
        // The socket options it sets.
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        sock.set_tcp_keepalive(&k.params()).expect("setsockopt");
        assert!(sock.keepalive().expect("SO_KEEPALIVE"));
        assert_eq!(sock.tcp_keepalive_time().ok(), Some(Duration::from_secs(7)));
        assert_eq!(
            sock.tcp_keepalive_interval().ok(),
            Some(Duration::from_secs(3))
        );
        assert_eq!(sock.tcp_keepalive_retries().ok(), Some(4));
        // Unset tuning: 60 s idle, the kernel's interval and count.
        let k = decoded("{ server: true }");
        assert_eq!(
            (k.client, k.server, k.idle, k.interval, k.count),
            (false, true, Dur::secs(60), None, None)
        );
        assert_eq!(
            decoded("{ client: true, idle: 2m }").idle.get(),
            Duration::from_secs(120)
        );
        // Both sides named off with tuning: allowed (switched off for now).
        let off = decoded("{ client: false, server: false, idle: 30s }");
        assert!(!off.client && !off.server);
    }

    #[test]
    fn tcp_keepalive_serializes_to_the_shortest_form() {
        let json = |k: TcpKeepalive| serde_json::to_string(&k).expect("json");
        assert_eq!(json(TcpKeepalive::OFF), "false");
        assert_eq!(json(TcpKeepalive::BOTH), "true");
        assert_eq!(
            json(decoded(
                "{ client: true, server: false, idle: 7s, interval: 3s, count: 4 }"
            )),
            r#"{"client":true,"server":false,"idle":"7s","interval":"3s","count":4}"#
        );
        assert_eq!(
            json(decoded("{ client: true, server: true, idle: 10s }")),
            r#"{"client":true,"server":true,"idle":"10s"}"#
        );
    }

    #[test]
    fn tcp_keepalive_errors() {
        let at = "t.yaml:6:22: balancer.listeners[0].tcp_keepalive";
        assert_eq!(
            errors("yes"),
            vec![format!(
                "{at}: expected true or false, found `yes`; write `true` or `false`"
            )]
        );
        assert_eq!(
            errors("\"true\""),
            vec![format!(
                "{at}: expected true or false, or a mapping of client, server, idle, interval, count, found the string \"true\"; remove the quotes"
            )]
        );
        assert_eq!(
            errors("60s"),
            vec![format!(
                "{at}: expected true or false, or a mapping of client, server, idle, interval, count, found `60s`"
            )]
        );
        // A flow mapping's position is its first key.
        assert_eq!(
            errors("{ idle: 30s }"),
            vec![format!(
                "t.yaml:6:24: balancer.listeners[0].tcp_keepalive: the mapping form names the sides that get keepalive; add `client: true` and/or `server: true`"
            )]
        );
        assert_eq!(
            errors("{ client: true, idle: 1500ms }"),
            vec![format!(
                "t.yaml:6:44: balancer.listeners[0].tcp_keepalive.idle: 1500ms: TCP keepalive times are whole seconds"
            )]
        );
        assert_eq!(
            errors("{ client: true, interval: 0s }"),
            vec![format!(
                "t.yaml:6:48: balancer.listeners[0].tcp_keepalive.interval: 0s is out of range: must be between 1s and 32767s (the kernel's limit)"
            )]
        );
        assert_eq!(
            errors("{ client: true, idle: 10h }"),
            vec![format!(
                "t.yaml:6:44: balancer.listeners[0].tcp_keepalive.idle: 10h is out of range: must be between 1s and 32767s (the kernel's limit)"
            )]
        );
        assert_eq!(
            errors("{ server: true, count: 128 }"),
            vec![format!(
                "t.yaml:6:45: balancer.listeners[0].tcp_keepalive.count: 128 is out of range: must be between 1 and 127"
            )]
        );
        assert_eq!(
            errors("{ server: on }"),
            vec![format!(
                "t.yaml:6:32: balancer.listeners[0].tcp_keepalive.server: expected true or false, found `on`; write `true` or `false`"
            )]
        );
        assert_eq!(
            errors("{ client: true, intreval: 3s }"),
            vec![format!(
                "t.yaml:6:38: balancer.listeners[0].tcp_keepalive.intreval: unknown key `intreval`; did you mean `interval`?"
            )]
        );
    }
}

/// haproxy's agent check (`agent-check`, `agent-port`, `agent-addr`, `agent-inter`,
/// `agent-send`), on a listener for all its servers or on one server; unset values come
/// from the listener's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AgentSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Ask the agent here instead of at the server's address (haproxy `agent-addr`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<std::net::IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inter: Option<Dur>,
    /// Written to the agent once connected (haproxy `agent-send`; write the `\n` it
    /// expects).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// Default: the listener's check `timeout`, else `inter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
}

impl AgentSettings {
    /// The interval between two agent checks without `inter` here or in the health
    /// check (haproxy's 2 s).
    pub const DEFAULT_INTER: Dur = Dur::secs(2);

    pub fn is_empty(&self) -> bool {
        *self == AgentSettings::default()
    }

    /// `over`'s values where it has them, ours elsewhere.
    pub fn under(&self, over: &AgentSettings) -> AgentSettings {
        AgentSettings {
            port: over.port.or(self.port),
            address: over.address.or(self.address),
            inter: over.inter.or(self.inter),
            send: over.send.clone().or_else(|| self.send.clone()),
            timeout: over.timeout.or(self.timeout),
        }
    }
}

impl Decode for AgentSettings {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let port = m.int::<u16>(cx, "port", 1, 65535).opt();
        let address = m.get::<AgentAddr>(cx, "address").opt();
        let inter = m
            .get(cx, "inter")
            .check(cx, super::types::interval_check)
            .opt();
        let send = m
            .get::<String>(cx, "send")
            .check(cx, |s| {
                if s.len() > AGENT_SEND_MAX {
                    Err(format!("longer than {AGENT_SEND_MAX} bytes"))
                } else {
                    Ok(())
                }
            })
            .opt();
        let timeout = m.get(cx, "timeout").check(cx, nonzero_check).opt();
        m.finish(cx);
        Some(AgentSettings {
            port: port?,
            address: address?.map(|a| a.0),
            inter: inter?,
            send: send?,
            timeout: timeout?,
        })
    }
}

/// The longest `agent.send`.
pub const AGENT_SEND_MAX: usize = 1024;

/// An agent's address: an IP, or a host name resolved now (as haproxy's `agent-addr`).
struct AgentAddr(std::net::IpAddr);

impl Decode for AgentAddr {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        parse_scalar(node, cx, "an IP address or host name", |s| {
            let s = s.trim();
            if let Ok(ip) = s.parse::<std::net::IpAddr>() {
                return Ok(AgentAddr(ip));
            }
            if s.is_empty() || s.contains([':', '/', ' ']) {
                return Err(format!("`{s}` is not an IP address or host name"));
            }
            resolve(s, 0).map(|a| AgentAddr(a.ip()))
        })
    }
}

/// A server's `agent`: `true`/`false`, or a mapping of its own settings (on).
struct ServerAgent(bool, AgentSettings);

impl Decode for ServerAgent {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        if !matches!(node.kind, Kind::Map(_)) {
            return bool::decode(node, cx).map(|b| ServerAgent(b, AgentSettings::default()));
        }
        AgentSettings::decode(node, cx).map(|a| ServerAgent(true, a))
    }
}

/// A server's agent check, resolved from the listener's and its own settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub port: u16,
    pub address: Option<std::net::IpAddr>,
    pub inter: Dur,
    pub send: Option<String>,
    pub timeout: Option<Dur>,
}

impl Agent {
    /// How long one agent check may take: its `timeout`, else the listener's check
    /// timeout, else `inter` (haproxy: `timeout check`, else `agent-inter`).
    pub fn timeout(&self, check: Option<&Check>) -> Dur {
        self.timeout
            .or_else(|| check.and_then(|c| c.timeout))
            .unwrap_or(self.inter)
    }
}

/// The agent check `server` of `listener` runs (`None`: none, or no port given; the
/// config check reports the latter).
pub fn agent_of(listener: &Listener, server: &Server) -> Option<Agent> {
    let on = server.agent.unwrap_or(listener.agent.is_some());
    if !on {
        return None;
    }
    let s = listener
        .agent
        .clone()
        .unwrap_or_default()
        .under(&server.agent_tuning);
    Some(Agent {
        port: s.port?,
        address: s.address,
        // haproxy: the server's check `inter` when the agent has none.
        inter: s
            .inter
            .or(server.check_tuning.inter)
            .or_else(|| listener.check.as_ref().map(|c| c.inter))
            .unwrap_or(AgentSettings::DEFAULT_INTER),
        send: s.send,
        timeout: s.timeout,
    })
}
