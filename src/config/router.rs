//! `router:` — the MySQL sharding router (MyCat server.xml, schema.xml, rule.xml).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::Serialize;

use super::decode::{Ctx, Decode, MapReader, decode_named_map};
use super::types::{Dur, HostPort, nonzero_check};
use super::yaml::{Kind, Node};
use crate::config_enum;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouterConfig {
    pub listen: SocketAddr,
    /// MySQL-protocol admin port (MyCat 9066); `None` = off.
    #[serde(serialize_with = "serialize_admin_listen")]
    pub admin_listen: Option<SocketAddr>,
    /// Version string in the handshake (default: the write host's real version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// Where the active write host of each data host is remembered across restarts.
    pub state_dir: PathBuf,
    pub handle_distributed_transactions: DistributedTx,
    /// What the greeting asks for; a client answering with another plugin is switched.
    pub auth_plugin: AuthPlugin,
    /// TCP keepalive probes on connections to the data hosts; `None` = off.
    #[serde(serialize_with = "serialize_backend_keepalive")]
    pub backend_keepalive: Option<BackendKeepalive>,
    /// TCP_USER_TIMEOUT on connections to the data hosts; `None` = the kernel's.
    #[serde(serialize_with = "serialize_user_timeout")]
    pub backend_user_timeout: Option<Dur>,
    /// Bytes of COM_STMT_SEND_LONG_DATA a prepared statement may accumulate before its
    /// execute (MariaDB's `max_long_data_size`).
    pub max_long_data_size: u64,
    /// Offer clients CLIENT_LOCAL_FILES and serve `LOAD DATA LOCAL INFILE` (MariaDB's
    /// `local_infile`); off: such statements get error 4166, as from a server with it off.
    pub local_infile: bool,
    /// MyCat's `useSqlStat`: record statements for `show @@sql`, `show @@sql.sum`,
    /// `show @@sql.high`, ... on the admin port (`reload @@sqlstat=open|close` switches
    /// it until the next reload that changes this key).
    pub sql_stat: bool,
    /// TLS offered to clients (the MySQL SSLRequest upgrade); `None` = `tls: off`.
    #[serde(serialize_with = "serialize_tls")]
    pub tls: Option<RouterTls>,
    pub users: Vec<RouterUser>,
    pub firewall: Firewall,
    pub schemas: Vec<Schema>,
    pub data_nodes: Vec<DataNode>,
    pub data_hosts: Vec<DataHost>,
    pub rules: Vec<Rule>,
    /// Global sequences (`next value for MYCATSEQ_<NAME>`, MyCat `sequnceHandlerType`);
    /// `None` = off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<SequenceConfig>,
}

/// Keepalive probes on backend sockets: idle time before the first, interval, count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BackendKeepalive {
    pub idle: Dur,
    pub interval: Dur,
    pub count: u32,
}

impl BackendKeepalive {
    /// A server gone silent is noticed within about idle + interval × count (60 s).
    pub const DEFAULT: BackendKeepalive = BackendKeepalive {
        idle: Dur::secs(30),
        interval: Dur::secs(10),
        count: 3,
    };
}

/// `router.tls`: the certificate clients see, and whether they must use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RouterTls {
    /// PEM certificate chain, leaf first; with `key`. Neither = a self-signed certificate
    /// made at start (MariaDB 11.4's zero-configuration TLS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `cert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// Refuse logins that did not start TLS (MySQL's `require_secure_transport`).
    pub require_secure_transport: bool,
}

fn serialize_tls<S: serde::Serializer>(t: &Option<RouterTls>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => t.serialize(s),
        None => s.serialize_str("off"),
    }
}

/// `off`, `on` (the default: a self-signed certificate) or
/// `{ cert, key, require_secure_transport }`.
fn decode_tls(node: &Node, cx: &mut Ctx) -> Option<Option<RouterTls>> {
    if let Kind::Scalar { text, .. } = &node.kind {
        return match text.as_str() {
            "off" | "false" => Some(None),
            "on" | "true" => Some(Some(RouterTls::default())),
            _ => {
                cx.error_hint(
                    node.mark,
                    format!("`{text}` is not a TLS setting"),
                    "off, on, or a map { cert, key, require_secure_transport }",
                );
                None
            }
        };
    }
    let mut m = MapReader::new(node, cx)?;
    let cert = m.get::<String>(cx, "cert").opt();
    let key = m.get::<String>(cx, "key").opt();
    let require = m.get::<bool>(cx, "require_secure_transport").or(false);
    m.finish(cx);
    let (cert, key) = (cert?, key?);
    if cert.is_some() != key.is_some() {
        let missing = if cert.is_some() { "key" } else { "cert" };
        cx.error_hint(
            node.mark,
            format!("needs both `cert` and `key`; `{missing}` is missing"),
            "give both, or neither for a self-signed certificate made at start",
        );
        return None;
    }
    Some(Some(RouterTls {
        cert: cert.map(PathBuf::from),
        key: key.map(PathBuf::from),
        require_secure_transport: require?,
    }))
}

/// The default `backend_user_timeout`.
pub const DEFAULT_BACKEND_USER_TIMEOUT: Dur = Dur::secs(60);

/// The default `max_long_data_size` (64 MiB).
pub const DEFAULT_MAX_LONG_DATA: u64 = 64 << 20;

fn serialize_backend_keepalive<S: serde::Serializer>(
    k: &Option<BackendKeepalive>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match k {
        Some(k) => k.serialize(s),
        None => s.serialize_bool(false),
    }
}

fn serialize_user_timeout<S: serde::Serializer>(d: &Option<Dur>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => d.serialize(s),
        None => s.serialize_str("0s"),
    }
}

/// `false`, `true` (the defaults) or `{ idle, interval, count }`.
fn decode_backend_keepalive(node: &Node, cx: &mut Ctx) -> Option<Option<BackendKeepalive>> {
    if let Kind::Scalar { plain: true, .. } = &node.kind {
        return bool::decode(node, cx).map(|on| on.then_some(BackendKeepalive::DEFAULT));
    }
    let d = BackendKeepalive::DEFAULT;
    let secs = |v: &Dur| {
        if v.get().subsec_nanos() != 0 || !(1..=32767).contains(&v.get().as_secs()) {
            Err(format!(
                "{v}: keepalive times are whole seconds from 1s to 32767s (the kernel's limit)"
            ))
        } else {
            Ok(())
        }
    };
    let mut m = MapReader::new(node, cx)?;
    let idle = m.get::<Dur>(cx, "idle").check(cx, secs).or(d.idle);
    let interval = m.get::<Dur>(cx, "interval").check(cx, secs).or(d.interval);
    let count = m.int::<u32>(cx, "count", 1, 127).or(d.count);
    m.finish(cx);
    Some(Some(BackendKeepalive {
        idle: idle?,
        interval: interval?,
        count: count?,
    }))
}

/// A byte count: a number, or one with a K, M or G suffix (powers of 1024), as in
/// my.cnf (`16M`).
fn decode_bytes(node: &Node, cx: &mut Ctx) -> Option<u64> {
    let Some((text, _)) = node.scalar() else {
        cx.expected(node, "a size such as 16M or 1048576");
        return None;
    };
    let t = text.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.eq_ignore_ascii_case(&'k') => (&t[..i], 1u64 << 10),
        Some((i, c)) if c.eq_ignore_ascii_case(&'m') => (&t[..i], 1 << 20),
        Some((i, c)) if c.eq_ignore_ascii_case(&'g') => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    match num
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
    {
        Some(n) if n > 0 => Some(n),
        _ => {
            cx.error_hint(
                node.mark,
                format!("`{t}` is not a size"),
                "a positive number of bytes, or with K, M or G: 64M",
            );
            None
        }
    }
}

fn serialize_admin_listen<S: serde::Serializer>(
    a: &Option<SocketAddr>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match a {
        Some(a) => s.collect_str(a),
        None => s.serialize_str("off"),
    }
}

config_enum! {
    pub enum DistributedTx { Allow => "allow", Reject => "reject", Log => "log" }
}

config_enum! {
    /// The authentication plugin the router asks clients for.
    pub enum AuthPlugin {
        Native => "mysql_native_password",
        CachingSha2 => "caching_sha2_password",
    }
}

impl AuthPlugin {
    pub fn name(self) -> &'static str {
        match self {
            AuthPlugin::Native => "mysql_native_password",
            AuthPlugin::CachingSha2 => "caching_sha2_password",
        }
    }
}

impl Decode for RouterConfig {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let listen = m
            .get::<SocketAddr>(cx, "listen")
            .or(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 8067));
        let admin_listen = m
            .get_with(cx, "admin_listen", |n, cx| {
                if matches!(&n.kind, Kind::Scalar { text, .. } if text == "off") {
                    return Some(None);
                }
                SocketAddr::decode(n, cx).map(Some)
            })
            .or(Some(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 9066)));
        let server_version = m.get::<String>(cx, "server_version").opt();
        let state_dir = m
            .get::<String>(cx, "state_dir")
            .or_else(|| "/var/lib/tandem".into());
        let dtx = m
            .get(cx, "handle_distributed_transactions")
            .or(DistributedTx::Log);
        let auth_plugin = m.get(cx, "auth_plugin").or(AuthPlugin::Native);
        let backend_keepalive = m
            .get_with(cx, "backend_keepalive", decode_backend_keepalive)
            .or(Some(BackendKeepalive::DEFAULT));
        let backend_user_timeout = m
            .get::<Dur>(cx, "backend_user_timeout")
            .check(cx, |d| {
                if d.get() > std::time::Duration::from_secs(u64::from(u32::MAX / 1000)) {
                    Err(format!("{d} is too long for TCP_USER_TIMEOUT"))
                } else {
                    Ok(())
                }
            })
            .or(DEFAULT_BACKEND_USER_TIMEOUT);
        let max_long_data_size = m
            .get_with(cx, "max_long_data_size", decode_bytes)
            .or(DEFAULT_MAX_LONG_DATA);
        let local_infile = m.get::<bool>(cx, "local_infile").or(true);
        let sql_stat = m.get::<bool>(cx, "sql_stat").or(false);
        let tls = m
            .get_with(cx, "tls", decode_tls)
            .or(Some(RouterTls::default()));
        let users = m.get::<Vec<RouterUser>>(cx, "users").or_else(Vec::new);
        let firewall = m.get::<Firewall>(cx, "firewall").or_else(Firewall::default);
        let schemas = m.get::<Vec<Schema>>(cx, "schemas").or_else(Vec::new);
        let data_nodes = m
            .get_with(cx, "data_nodes", decode_data_nodes)
            .or_else(Vec::new);
        let data_hosts = m.get::<Vec<DataHost>>(cx, "data_hosts").or_else(Vec::new);
        let rules = m.get::<Vec<Rule>>(cx, "rules").or_else(Vec::new);
        let sequence = m.get::<SequenceConfig>(cx, "sequence").opt();
        m.finish(cx);
        Some(RouterConfig {
            listen: listen?,
            admin_listen: admin_listen?,
            server_version: server_version?,
            state_dir: PathBuf::from(state_dir?),
            handle_distributed_transactions: dtx?,
            auth_plugin: auth_plugin?,
            backend_keepalive: backend_keepalive?,
            backend_user_timeout: backend_user_timeout.map(|d| (!d.is_zero()).then_some(d))?,
            max_long_data_size: max_long_data_size?,
            local_infile: local_infile?,
            sql_stat: sql_stat?,
            tls: tls?,
            users: users?,
            firewall: firewall?,
            schemas: schemas?,
            data_nodes: data_nodes?,
            data_hosts: data_hosts?,
            rules: rules?,
            sequence: sequence?,
        })
    }
}

config_enum! {
    /// Where global sequence ids come from (MyCat `sequnceHandlerType` 0, 1, 2).
    pub enum SequenceHandlerType {
        LocalFile => "local_file",
        Database => "database",
        Time => "time",
    }
}

/// `router.sequence`. Which keys apply depends on `handler`; the lint refuses the others.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequenceConfig {
    pub handler: SequenceHandlerType,
    /// local_file: a MyCat `sequence_conf.properties` (relative paths are resolved
    /// against the config file's directory once the config is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// database: the data node holding `MYCAT_SEQUENCE` for names not in `nodes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_node: Option<String>,
    /// database: sequence name → data node (MyCat `sequence_db_conf.properties`).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub nodes: std::collections::BTreeMap<String, String>,
    /// time: snowflake worker id, 0..=31.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<u8>,
    /// time: snowflake datacenter id, 0..=31.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datacenter_id: Option<u8>,
}

impl Decode for SequenceConfig {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let handler = m.req::<SequenceHandlerType>(cx, "handler");
        let file = m.get::<String>(cx, "file").opt();
        let data_node = m.get::<String>(cx, "data_node").opt();
        let nodes = m
            .get_with(cx, "nodes", |n, cx| {
                decode_named_map(n, cx, |name, n, cx| Some((name, String::decode(n, cx)?)))
            })
            .or_else(Vec::new);
        let worker_id = m.int::<u8>(cx, "worker_id", 0, 31).opt();
        let datacenter_id = m.int::<u8>(cx, "datacenter_id", 0, 31).opt();
        m.finish(cx);
        Some(SequenceConfig {
            handler: handler?,
            file: file?.map(PathBuf::from),
            data_node: data_node?,
            nodes: nodes?.into_iter().collect(),
            worker_id: worker_id?,
            datacenter_id: datacenter_id?,
        })
    }
}

/// MyCat DML privilege bits, in MyCat's order: insert, update, select, delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Dml {
    pub insert: bool,
    pub update: bool,
    pub select: bool,
    pub delete: bool,
}

impl Dml {
    pub const ALL: Dml = Dml {
        insert: true,
        update: true,
        select: true,
        delete: true,
    };
}

impl From<Dml> for String {
    fn from(d: Dml) -> String {
        [d.insert, d.update, d.select, d.delete]
            .iter()
            .map(|b| if *b { '1' } else { '0' })
            .collect()
    }
}

impl Decode for Dml {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let Some((text, _)) = node.scalar() else {
            cx.expected(node, "four 0/1 digits such as \"0110\"");
            return None;
        };
        let bits: Vec<char> = text.chars().collect();
        if bits.len() != 4 || bits.iter().any(|c| *c != '0' && *c != '1') {
            cx.error_hint(
                node.mark,
                format!("`{text}` is not a DML mask"),
                "four 0/1 digits for insert, update, select, delete, e.g. \"0110\" (quote it)",
            );
            return None;
        }
        Some(Dml {
            insert: bits[0] == '1',
            update: bits[1] == '1',
            select: bits[2] == '1',
            delete: bits[3] == '1',
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchemaPrivileges {
    pub schema: String,
    pub dml: Dml,
    /// Per-table overrides.
    pub tables: Vec<(String, Dml)>,
}

/// `privileges` is `{ schema: { dml, tables: { table: dml } } }` in the file.
fn serialize_privileges<S: serde::Serializer>(
    p: &[SchemaPrivileges],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    struct Tables<'a>(&'a [(String, Dml)]);
    impl Serialize for Tables<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(self.0.len()))?;
            for (t, d) in self.0 {
                m.serialize_entry(t, d)?;
            }
            m.end()
        }
    }
    #[derive(Serialize)]
    struct Entry<'a> {
        dml: Dml,
        tables: Tables<'a>,
    }
    let mut m = s.serialize_map(Some(p.len()))?;
    for sp in p {
        m.serialize_entry(
            &sp.schema,
            &Entry {
                dml: sp.dml,
                tables: Tables(&sp.tables),
            },
        )?;
    }
    m.end()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouterUser {
    pub name: String,
    pub password: String,
    pub schemas: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_schema: Option<String>,
    pub read_only: bool,
    /// May log in on the admin port.
    pub admin: bool,
    #[serde(serialize_with = "serialize_privileges")]
    pub privileges: Vec<SchemaPrivileges>,
    /// Concurrent connections of this user (MyCat `benchmark`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// Refuse this user's logins that did not start TLS (MySQL's `REQUIRE SSL`).
    pub require_tls: bool,
}

impl Decode for RouterUser {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let name = m.req_name(cx, "name");
        let password = m.req::<String>(cx, "password");
        let schemas = m.get::<Vec<String>>(cx, "schemas").or_else(Vec::new);
        let default_schema = m.get::<String>(cx, "default_schema").opt();
        let read_only = m.get::<bool>(cx, "read_only").or(false);
        let admin = m.get::<bool>(cx, "admin").or(false);
        let privileges = m
            .get_with(cx, "privileges", |n, cx| {
                decode_named_map(n, cx, |schema, n, cx| {
                    let mut pm = MapReader::new(n, cx)?;
                    let dml = pm.get::<Dml>(cx, "dml").or(Dml::ALL);
                    let tables = pm
                        .get_with(cx, "tables", |n, cx| {
                            decode_named_map(n, cx, |t, n, cx| Some((t, Dml::decode(n, cx)?)))
                        })
                        .or_else(Vec::new);
                    pm.finish(cx);
                    Some(SchemaPrivileges {
                        schema,
                        dml: dml?,
                        tables: tables?,
                    })
                })
            })
            .or_else(Vec::new);
        let max_connections = m.int::<u32>(cx, "max_connections", 1, 1_000_000).opt();
        let require_tls = m.get::<bool>(cx, "require_tls").or(false);
        m.finish(cx);
        Some(RouterUser {
            name: name?,
            password: password?,
            schemas: schemas?,
            default_schema: default_schema?,
            read_only: read_only?,
            admin: admin?,
            privileges: privileges?,
            max_connections: max_connections?,
            require_tls: require_tls?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Firewall {
    /// When non-empty, only these hosts may log in (as the listed users).
    pub whitelist: Vec<WhitelistEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhitelistEntry {
    /// As written: one host or a comma-separated list of them (MyCat 1.6.7's
    /// `host="127.0.0.1,192.168.1.*"`), each an address, a CIDR or a MyCat pattern with
    /// `*` or `%` ([`WhiteHost`]).
    pub host: String,
    /// Empty = every user. Not checked for a pattern, which admits every user (as
    /// MyCat's masked hosts do).
    pub users: Vec<String>,
}

impl WhitelistEntry {
    /// The hosts of [`WhitelistEntry::host`], each parsed (the decoder has refused
    /// entries where one does not parse).
    pub fn hosts(&self) -> impl Iterator<Item = WhiteHost> + '_ {
        self.host
            .split(',')
            .filter_map(|h| WhiteHost::parse(h.trim()).ok())
    }
}

/// One host of a whitelist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WhiteHost {
    Addr(std::net::IpAddr),
    Net(ipnet::IpNet),
    /// MyCat's masked host: `*` and `%` stand for any run of digits (MyCat turns them
    /// into the regular expression `[0-9]*`).
    Pattern(String),
}

impl WhiteHost {
    /// An address, a CIDR, or a pattern of digits, dots and `*`/`%` with at most four
    /// dot-separated parts (`127.0.0.*`, `192.168.%`, `10.1*.*.*`, `%`).
    pub fn parse(h: &str) -> Result<WhiteHost, String> {
        if let Ok(a) = h.parse::<std::net::IpAddr>() {
            return Ok(WhiteHost::Addr(a));
        }
        if let Ok(n) = h.parse::<ipnet::IpNet>() {
            return Ok(WhiteHost::Net(n));
        }
        let bad = || {
            Err(format!(
                "`{h}` is not an address, a CIDR or a pattern such as 127.0.0.* or 192.168.%"
            ))
        };
        let wild = |c: char| c == '*' || c == '%';
        if !h.contains(wild) || !h.chars().all(|c| c.is_ascii_digit() || c == '.' || wild(c)) {
            return bad();
        }
        let parts: Vec<&str> = h.split('.').collect();
        if parts.len() > 4 || parts.iter().any(|p| p.is_empty()) {
            return bad();
        }
        for p in &parts {
            let digits = p.chars().filter(char::is_ascii_digit).count();
            let fixed = !p.contains(wild);
            if digits > 3 || (fixed && p.parse::<u8>().is_err()) {
                return bad();
            }
        }
        Ok(WhiteHost::Pattern(h.to_string()))
    }

    pub fn is_pattern(&self) -> bool {
        matches!(self, WhiteHost::Pattern(_))
    }

    /// Does a client at `ip` match? An IPv4-mapped IPv6 address counts as its IPv4
    /// address. A pattern is matched against the dotted address from its first octet
    /// and must end at the end of an octet: `127.0.0.*` is 127.0.0.0-255, `192.168.%`
    /// every 192.168.x.y, `10.1*.*.*` 10.1.*.*, 10.10-19.*.* and 10.100-199.*.*. A
    /// pattern of wildcards only matches every address, IPv6 included.
    pub fn matches(&self, ip: std::net::IpAddr) -> bool {
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(std::net::IpAddr::V4)
                .unwrap_or(std::net::IpAddr::V6(v6)),
            v4 => v4,
        };
        match self {
            WhiteHost::Addr(a) => *a == ip,
            WhiteHost::Net(n) => n.contains(&ip),
            WhiteHost::Pattern(p) => {
                if p.chars().all(|c| c == '*' || c == '%') {
                    return true;
                }
                let std::net::IpAddr::V4(v4) = ip else {
                    return false;
                };
                mask_matches(p.as_bytes(), v4.to_string().as_bytes())
            }
        }
    }
}

/// Does `pattern` (digits, dots, `*`/`%` = any digits) match a prefix of `addr` that
/// ends at the end of `addr` or before a dot?
fn mask_matches(pattern: &[u8], addr: &[u8]) -> bool {
    match pattern.split_first() {
        None => addr.is_empty() || addr[0] == b'.',
        Some((b'*' | b'%', rest)) => {
            let run = addr.iter().take_while(|c| c.is_ascii_digit()).count();
            (0..=run).any(|k| mask_matches(rest, &addr[k..]))
        }
        Some((c, rest)) => addr.first() == Some(c) && mask_matches(rest, &addr[1..]),
    }
}

impl Decode for Firewall {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let whitelist = m
            .get::<Vec<WhitelistEntry>>(cx, "whitelist")
            .or_else(Vec::new);
        m.finish(cx);
        Some(Firewall {
            whitelist: whitelist?,
        })
    }
}

impl Decode for WhitelistEntry {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let host = m.get::<String>(cx, "host").check(cx, |h| {
            for part in h.split(',').map(str::trim) {
                if part.is_empty() {
                    return Err(format!(
                        "`{h}` has an empty host: list hosts as `127.0.0.1,192.168.1.*`"
                    ));
                }
                WhiteHost::parse(part)?;
            }
            Ok(())
        });
        let host = m.required(cx, host);
        let users = m.get::<Vec<String>>(cx, "users").or_else(Vec::new);
        m.finish(cx);
        Some(WhitelistEntry {
            host: host?,
            users: users?,
        })
    }
}

config_enum! {
    pub enum TableType { Sharded => "sharded", Global => "global" }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schema {
    pub name: String,
    /// Strip `schema.` prefixes from table names in SQL.
    pub check_sql_schema: bool,
    /// Implicit LIMIT on SELECTs without one (MyCat `sqlMaxLimit`); `None` = off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql_max_limit: Option<u64>,
    /// Where tables that are not listed live.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_node: Option<String>,
    pub tables: Vec<Table>,
}

impl Decode for Schema {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let name = m.req_name(cx, "name");
        let check_sql_schema = m.get::<bool>(cx, "check_sql_schema").or(false);
        let sql_max_limit = m.int::<u64>(cx, "sql_max_limit", 1, u64::MAX).opt();
        let data_node = m.get::<String>(cx, "data_node").opt();
        let tables = m.get::<Vec<Table>>(cx, "tables").or_else(Vec::new);
        m.finish(cx);
        Some(Schema {
            name: name?,
            check_sql_schema: check_sql_schema?,
            sql_max_limit: sql_max_limit?,
            data_node: data_node?,
            tables: tables?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: TableType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<String>,
    /// Expanded data node names (`dn$1-2` → dn1, dn2).
    pub data_nodes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Fill a missing primary key from the global sequence.
    pub auto_increment: bool,
    /// `sql_max_limit` applies to SELECTs on this table alone (MyCat `needAddLimit`).
    pub need_add_limit: bool,
    /// Statements on this table alone must pin its sharding column (MyCat
    /// `ruleRequired`).
    pub rule_required: bool,
    pub children: Vec<ChildTable>,
}

impl Decode for Table {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let name = m.req_name(cx, "name");
        let kind = m.get(cx, "type").or(TableType::Sharded);
        let primary_key = m.get::<String>(cx, "primary_key").opt();
        let data_nodes = m.get_with(cx, "data_nodes", decode_node_list);
        let data_nodes = m.required(cx, data_nodes);
        let rule = m.get::<String>(cx, "rule").opt();
        let auto_increment = m.get::<bool>(cx, "auto_increment").or(false);
        let need_add_limit = m.get::<bool>(cx, "need_add_limit").or(true);
        let rule_required = m.get::<bool>(cx, "rule_required").or(false);
        let children = m.get::<Vec<ChildTable>>(cx, "children").or_else(Vec::new);
        m.finish(cx);
        Some(Table {
            name: name?,
            kind: kind?,
            primary_key: primary_key?,
            data_nodes: data_nodes?,
            rule: rule?,
            auto_increment: auto_increment?,
            need_add_limit: need_add_limit?,
            rule_required: rule_required?,
            children: children?,
        })
    }
}

/// An ER child table: its rows live with the parent row whose `parent_key` equals
/// their `join_key`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChildTable {
    pub name: String,
    pub join_key: String,
    pub parent_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<String>,
    pub auto_increment: bool,
    /// As [`Table::need_add_limit`] (MyCat reads `needAddLimit` on child tables too).
    pub need_add_limit: bool,
    pub children: Vec<ChildTable>,
}

impl Decode for ChildTable {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let name = m.req_name(cx, "name");
        let join_key = m.req_name(cx, "join_key");
        let parent_key = m.req_name(cx, "parent_key");
        let primary_key = m.get::<String>(cx, "primary_key").opt();
        let auto_increment = m.get::<bool>(cx, "auto_increment").or(false);
        let need_add_limit = m.get::<bool>(cx, "need_add_limit").or(true);
        let children = m.get::<Vec<ChildTable>>(cx, "children").or_else(Vec::new);
        m.finish(cx);
        Some(ChildTable {
            name: name?,
            join_key: join_key?,
            parent_key: parent_key?,
            primary_key: primary_key?,
            auto_increment: auto_increment?,
            need_add_limit: need_add_limit?,
            children: children?,
        })
    }
}

/// Expands MyCat's `dn$0-99` ranges in a comma-separated list (or a YAML list).
pub fn expand_names(spec: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(format!("`{spec}` has an empty name"));
        }
        out.extend(expand_one(part)?);
    }
    Ok(out)
}

const MAX_EXPANSION: i64 = 10_000;

fn expand_one(part: &str) -> Result<Vec<String>, String> {
    let Some((prefix, range)) = part.split_once('$') else {
        return Ok(vec![part.to_string()]);
    };
    let bad = || format!("`{part}`: a range is written `prefix$FIRST-LAST`, e.g. dn$0-99");
    let (a, b) = range.split_once('-').ok_or_else(bad)?;
    let a: i64 = a.trim().parse().map_err(|_| bad())?;
    let b: i64 = b.trim().parse().map_err(|_| bad())?;
    if a < 0 || b < a {
        return Err(bad());
    }
    if b - a >= MAX_EXPANSION {
        return Err(format!(
            "`{part}` expands to more than {MAX_EXPANSION} names"
        ));
    }
    if prefix.is_empty() {
        return Err(bad());
    }
    Ok((a..=b).map(|i| format!("{prefix}{i}")).collect())
}

fn decode_node_list(node: &Node, cx: &mut Ctx) -> Option<Vec<String>> {
    let specs: Vec<String> = match &node.kind {
        Kind::Seq(_) => Vec::<String>::decode(node, cx)?,
        _ => vec![String::decode(node, cx)?],
    };
    let mut out = Vec::new();
    for s in specs {
        match expand_names(&s) {
            Ok(v) => out.extend(v),
            Err(e) => {
                cx.error(node.mark, e);
                return None;
            }
        }
    }
    if out.is_empty() {
        cx.error(node.mark, "no data nodes listed");
        return None;
    }
    Some(out)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataNode {
    pub name: String,
    pub data_host: String,
    pub database: String,
}

/// Data nodes; `{ name: dn$0-3, data_host: db1, database: shop_$0-3 }` defines four.
fn decode_data_nodes(node: &Node, cx: &mut Ctx) -> Option<Vec<DataNode>> {
    struct Raw {
        name: String,
        data_host: String,
        database: String,
    }
    impl Decode for Raw {
        fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
            let mut m = MapReader::new(node, cx)?;
            let name = m.req_name(cx, "name");
            let data_host = m.req_name(cx, "data_host");
            let database = m.req_name(cx, "database");
            m.finish(cx);
            Some(Raw {
                name: name?,
                data_host: data_host?,
                database: database?,
            })
        }
    }
    let raws = Vec::<Raw>::decode(node, cx)?;
    let Kind::Seq(items) = &node.kind else {
        return Some(Vec::new());
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (i, (raw, item)) in raws.into_iter().zip(items).enumerate() {
        let names = expand_names(&raw.name);
        let dbs = expand_names(&raw.database);
        let hosts = expand_names(&raw.data_host);
        cx.with_index(i, |cx| match (names, dbs, hosts) {
            (Ok(names), Ok(dbs), Ok(hosts)) => {
                if dbs.len() == 1 && names.len() == 1 && hosts.len() == 1 {
                    out.push(DataNode {
                        name: raw.name,
                        data_host: raw.data_host,
                        database: raw.database,
                    });
                } else if hosts.len() * dbs.len() == names.len() {
                    // As MyCat pairs them: every database of the first host, then of
                    // the next host, ...
                    let pairs = hosts
                        .iter()
                        .flat_map(|h| dbs.iter().map(move |d| (h.clone(), d.clone())));
                    for (n, (h, d)) in names.into_iter().zip(pairs) {
                        out.push(DataNode {
                            name: n,
                            data_host: h,
                            database: d,
                        });
                    }
                } else {
                    let hosts_part = if hosts.len() > 1 {
                        format!(" on the {} data hosts of `{}`", hosts.len(), raw.data_host)
                    } else {
                        String::new()
                    };
                    cx.error(
                        item.mark,
                        format!(
                            "`{}` names {} data nodes but `{}` names {} databases{hosts_part} (data nodes = data hosts × databases)",
                            raw.name,
                            names.len(),
                            raw.database,
                            dbs.len()
                        ),
                    );
                    ok = false;
                }
            }
            (Err(e), _, _) => {
                let p = format!("{}.name", cx.path_string());
                let mark = cx.mark_of(&p).unwrap_or(item.mark);
                cx.error_at_path(mark, p, e);
                ok = false;
            }
            (_, Err(e), _) => {
                let p = format!("{}.database", cx.path_string());
                let mark = cx.mark_of(&p).unwrap_or(item.mark);
                cx.error_at_path(mark, p, e);
                ok = false;
            }
            (_, _, Err(e)) => {
                let p = format!("{}.data_host", cx.path_string());
                let mark = cx.mark_of(&p).unwrap_or(item.mark);
                cx.error_at_path(mark, p, e);
                ok = false;
            }
        });
    }
    ok.then_some(out)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataHost {
    pub name: String,
    /// Read balancing, MyCat semantics 0..3.
    pub balance: u8,
    pub write_type: u8,
    /// -1 never switch, 1 on heartbeat failure, 2 replication-aware, 3 Galera cluster
    /// status (a node outside the primary component or not ready fails its heartbeat).
    pub switch_type: i8,
    /// At a switch, run `STOP SLAVE IO_THREAD` on the new write host before it takes
    /// writes, so that it does not fetch the old one's unreplicated writes when that one
    /// comes back (MyCat leaves replication running: false).
    pub stop_replication_on_switch: bool,
    /// Replication lag (seconds) above which a read host is not used (switch_type 2).
    pub slave_threshold: u32,
    /// MyCat's `tempReadHostAvailable`: the read hosts of a write host that is down
    /// still take reads (otherwise they go with it).
    pub temp_read_host_available: bool,
    pub heartbeat: String,
    /// Heartbeat failures in a row before switching to the next write host.
    pub max_retry: u32,
    pub heartbeat_interval: Dur,
    pub min_con: u32,
    pub max_con: u32,
    pub idle_timeout: Dur,
    /// How long a statement waits for a pooled connection before an error.
    pub borrow_timeout: Dur,
    /// TLS on the router's connections to this data host's servers.
    pub tls: BackendTls,
    pub write_hosts: Vec<WriteHost>,
}

config_enum! {
    /// `data_hosts[].tls.mode`, MySQL's `--ssl-mode` values.
    pub enum BackendTlsMode {
        Off => "off",
        Preferred => "preferred",
        Required => "required",
        VerifyCa => "verify_ca",
        VerifyIdentity => "verify_identity",
    }
}

/// `data_hosts[].tls`: `off` (the default), a mode, or `{ mode, ca }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendTls {
    pub mode: BackendTlsMode,
    /// PEM CA certificates the servers' certificates are checked against (`verify_ca`,
    /// `verify_identity`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
}

impl Default for BackendTls {
    fn default() -> Self {
        BackendTls {
            mode: BackendTlsMode::Off,
            ca: None,
        }
    }
}

fn decode_backend_tls(node: &Node, cx: &mut Ctx) -> Option<BackendTls> {
    let (mode, ca) = if let Kind::Scalar { .. } = &node.kind {
        (BackendTlsMode::decode(node, cx)?, None)
    } else {
        let mut m = MapReader::new(node, cx)?;
        let mode = m
            .get::<BackendTlsMode>(cx, "mode")
            .or(BackendTlsMode::Required);
        let ca = m.get::<String>(cx, "ca").opt();
        m.finish(cx);
        (mode?, ca?)
    };
    let verify = matches!(
        mode,
        BackendTlsMode::VerifyCa | BackendTlsMode::VerifyIdentity
    );
    if verify && ca.is_none() {
        cx.error_hint(
            node.mark,
            format!("mode {} needs `ca`", mode.as_str()),
            "{ mode: ..., ca: FILE }, FILE the PEM certificate of the CA that signed the servers' certificates",
        );
        return None;
    }
    if !verify && ca.is_some() {
        cx.error_hint(
            node.mark,
            format!(
                "`ca` is only used by verify_ca and verify_identity, not {}",
                mode.as_str()
            ),
            "mode: verify_ca (the chain) or verify_identity (the chain and the host name)",
        );
        return None;
    }
    Some(BackendTls {
        mode,
        ca: ca.map(PathBuf::from),
    })
}

impl Decode for DataHost {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let name = m.req_name(cx, "name");
        let balance = m.int::<u8>(cx, "balance", 0, 3).or(0);
        let write_type = m
            .get::<u8>(cx, "write_type")
            .check(cx, |w| {
                if *w == 0 {
                    Ok(())
                } else {
                    Err(match w {
                        1 => "write_type 1 is not supported: MyCat's writeType 1 sends each write to a random live write host (multi-master setups such as Galera); tandem has 0 only: all writes to the active write host, the next one taking over when its heartbeat fails (`switch_type: 1`, or `3` on Galera), which on Galera also avoids certification conflicts between nodes".to_string(),
                        _ => format!(
                            "write_type {w} is not supported: 0 (all writes to the active write host)"
                        ),
                    })
                }
            })
            .or(0);
        let switch_type = m
            .get::<i8>(cx, "switch_type")
            .check(cx, |s| match s {
                -1 | 1..=3 => Ok(()),
                _ => Err(format!(
                    "switch_type {s} is not one of -1 (never), 1 (heartbeat), 2 (replication status), 3 (Galera cluster status)"
                )),
            })
            .or(1);
        let stop_replication_on_switch = m.get::<bool>(cx, "stop_replication_on_switch").or(false);
        let slave_threshold = m.get::<u32>(cx, "slave_threshold").or(100);
        let temp_read_host_available = m.get::<bool>(cx, "temp_read_host_available").or(false);
        let heartbeat = m
            .get::<String>(cx, "heartbeat")
            .or_else(|| "select user()".into());
        let max_retry = m.int::<u32>(cx, "max_retry", 1, 100).or(3);
        let heartbeat_interval = m
            .get::<Dur>(cx, "heartbeat_interval")
            .check(cx, super::types::interval_check)
            .or(Dur::secs(10));
        let min_con = m.int::<u32>(cx, "min_con", 0, 100_000).or(10);
        let max_con = m.int::<u32>(cx, "max_con", 1, 100_000).or(1000);
        let idle_timeout = m
            .get::<Dur>(cx, "idle_timeout")
            .check(cx, nonzero_check)
            .or(Dur::secs(1800));
        let borrow_timeout = m
            .get::<Dur>(cx, "borrow_timeout")
            .check(cx, nonzero_check)
            .or(Dur::secs(5));
        let tls = m
            .get_with(cx, "tls", decode_backend_tls)
            .or_else(BackendTls::default);
        let write_hosts = m.req::<Vec<WriteHost>>(cx, "write_hosts");
        m.finish(cx);
        let (min_con, max_con) = (min_con?, max_con?);
        if min_con > max_con {
            cx.with_key("min_con", |cx| {
                let mark = cx.mark_of(&cx.path_string()).unwrap_or(node.mark);
                cx.error(
                    mark,
                    format!("min_con {min_con} is above max_con {max_con}"),
                );
            });
            return None;
        }
        Some(DataHost {
            name: name?,
            balance: balance?,
            write_type: write_type?,
            switch_type: switch_type?,
            stop_replication_on_switch: stop_replication_on_switch?,
            slave_threshold: slave_threshold?,
            temp_read_host_available: temp_read_host_available?,
            heartbeat: heartbeat?,
            max_retry: max_retry?,
            heartbeat_interval: heartbeat_interval?,
            min_con,
            max_con,
            idle_timeout: idle_timeout?,
            borrow_timeout: borrow_timeout?,
            tls: tls?,
            write_hosts: write_hosts?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WriteHost {
    pub host: String,
    pub url: HostPort,
    pub user: String,
    pub password: String,
    pub read_hosts: Vec<ReadHost>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadHost {
    pub host: String,
    pub url: HostPort,
    pub user: String,
    pub password: String,
    pub weight: u32,
}

impl Decode for WriteHost {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let host = m.req_name(cx, "host");
        let url = m.req::<HostPort>(cx, "url");
        let user = m.req_name(cx, "user");
        let password = m.get::<String>(cx, "password").or_else(String::new);
        let read_hosts = m.get::<Vec<ReadHost>>(cx, "read_hosts").or_else(Vec::new);
        m.finish(cx);
        Some(WriteHost {
            host: host?,
            url: url?,
            user: user?,
            password: password?,
            read_hosts: read_hosts?,
        })
    }
}

impl Decode for ReadHost {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let host = m.req_name(cx, "host");
        let url = m.req::<HostPort>(cx, "url");
        let user = m.req_name(cx, "user");
        let password = m.get::<String>(cx, "password").or_else(String::new);
        let weight = m.int::<u32>(cx, "weight", 0, 1000).or(1);
        m.finish(cx);
        Some(ReadHost {
            host: host?,
            url: url?,
            user: user?,
            password: password?,
            weight: weight?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub name: String,
    /// The sharding column.
    pub column: String,
    pub function: Function,
}

impl Decode for Rule {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let name = m.req_name(cx, "name");
        let column = m.req_name(cx, "column");
        let function = m.req::<Function>(cx, "function");
        m.finish(cx);
        Some(Rule {
            name: name?,
            column: column?,
            function: function?,
        })
    }
}

config_enum! {
    /// MyCat partition functions.
    pub enum FunctionType {
        RangeLong => "range-long",
        FileMap => "file-map",
        ModLong => "mod-long",
        Long => "long",
        StringHash => "string-hash",
        Murmur => "murmur",
        HashMod => "hash-mod",
        JumpConsistentHash => "jump-consistent-hash",
        Date => "date",
        Month => "month",
        LatestMonth => "latest-month",
        Substring => "substring",
        RangeMod => "range-mod",
        Pattern => "pattern",
        Crc32Slot => "crc32slot",
        PrefixPattern => "prefix-pattern",
        RangeDateHash => "range-date-hash",
        MonthHistory => "month-history",
    }
}

config_enum! {
    pub enum KeyType { Int => "int", String => "string" }
}

/// A list of integers: `[2, 1]`, `2`, or MyCat's `"2,1"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct IntList(pub Vec<i64>);

impl Decode for IntList {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        match &node.kind {
            Kind::Seq(_) => Some(IntList(Vec::<i64>::decode(node, cx)?)),
            Kind::Scalar { text, .. } => {
                let parsed: Result<Vec<i64>, _> =
                    text.split(',').map(|p| p.trim().parse::<i64>()).collect();
                match parsed {
                    Ok(v) if !v.is_empty() => Some(IntList(v)),
                    _ => {
                        cx.error(
                            node.mark,
                            format!("`{text}` is not a list of whole numbers such as \"2,1\""),
                        );
                        None
                    }
                }
            }
            _ => {
                cx.expected(node, "a list of whole numbers");
                None
            }
        }
    }
}

/// A partition function with MyCat's properties in snake_case. Which properties apply
/// depends on `type`; the others are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Function {
    #[serde(rename = "type")]
    pub kind: Option<FunctionType>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub map: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_node: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_type: Option<KeyType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_count: Option<IntList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_length: Option<IntList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_slice: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_bucket_times: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_map_file: Option<PathBuf>,
    /// `murmur`: the `node=weight` lines of a weight map, inline.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weight_map: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub begin_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_day: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub natural_day: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_index: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_partition: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern_value: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_one_day: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_buckets: Option<u32>,
    /// `long`: fold the high 32 bits into the key first (MyCat 1.6.7.4 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xor_high_bits: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_partition_size: Option<u32>,
}

impl FunctionType {
    /// (properties that apply, properties that are required; `map|map_file` means one of them).
    /// `date` also needs `begin_date` and `partition_day` unless `natural_day` is on (checked
    /// in [`Function::decode`]).
    fn properties(self) -> (&'static [&'static str], &'static [&'static str]) {
        use FunctionType::*;
        match self {
            RangeLong => (&["map", "map_file", "default_node"], &["map|map_file"]),
            FileMap => (
                &["map", "map_file", "default_node", "key_type"],
                &["map|map_file"],
            ),
            ModLong => (&["count"], &["count"]),
            Long => (
                &["partition_count", "partition_length", "xor_high_bits"],
                &["partition_count", "partition_length"],
            ),
            StringHash => (
                &["partition_count", "partition_length", "hash_slice"],
                &["partition_count", "partition_length"],
            ),
            Murmur => (
                &[
                    "seed",
                    "count",
                    "virtual_bucket_times",
                    "weight_map",
                    "weight_map_file",
                ],
                &["count"],
            ),
            HashMod => (&["count"], &["count"]),
            JumpConsistentHash => (&["total_buckets"], &["total_buckets"]),
            Date => (
                &[
                    "date_format",
                    "begin_date",
                    "end_date",
                    "partition_day",
                    "natural_day",
                ],
                &["date_format"],
            ),
            // Without begin_date (and end_date): MyCat's month-of-year mode, 12 nodes.
            Month => (&["date_format", "begin_date", "end_date"], &["date_format"]),
            LatestMonth => (&["split_one_day"], &["split_one_day"]),
            Substring => (
                &[
                    "start_index",
                    "size",
                    "partition_count",
                    "default_partition",
                ],
                &["start_index", "size", "partition_count"],
            ),
            RangeMod => (&["map", "map_file", "default_node"], &["map|map_file"]),
            // pattern_value: 1024 unless given, as in MyCat.
            Pattern => (
                &["pattern_value", "map", "map_file", "default_node"],
                &["map|map_file"],
            ),
            // Without a map: MyCat's first-start even split of the 102400 slots.
            Crc32Slot => (&["count", "map", "map_file"], &["count"]),
            PrefixPattern => (
                &["prefix_length", "pattern_value", "map", "map_file"],
                &["prefix_length", "map|map_file"],
            ),
            RangeDateHash => (
                &[
                    "date_format",
                    "begin_date",
                    "partition_day",
                    "group_partition_size",
                ],
                &[
                    "date_format",
                    "begin_date",
                    "partition_day",
                    "group_partition_size",
                ],
            ),
            MonthHistory => (
                &["date_format", "begin_date", "end_date"],
                &["date_format", "begin_date"],
            ),
        }
    }
}

const ALL_FUNCTION_PROPERTIES: &[&str] = &[
    "map",
    "map_file",
    "default_node",
    "key_type",
    "count",
    "partition_count",
    "partition_length",
    "hash_slice",
    "seed",
    "virtual_bucket_times",
    "weight_map",
    "weight_map_file",
    "date_format",
    "begin_date",
    "end_date",
    "partition_day",
    "natural_day",
    "start_index",
    "size",
    "default_partition",
    "pattern_value",
    "split_one_day",
    "total_buckets",
    "xor_high_bits",
    "prefix_length",
    "group_partition_size",
];

impl Decode for Function {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let kind = m.req::<FunctionType>(cx, "type");
        if let Some(k) = kind {
            let (applies, required) = k.properties();
            for p in ALL_FUNCTION_PROPERTIES {
                if m.has(p) && !applies.contains(p) {
                    let mark = m.raw(p).map(|n| n.mark).unwrap_or(m.mark());
                    cx.with_key(p, |cx| {
                        cx.error_hint(
                            mark,
                            format!("`{p}` does not apply to a `{k}` function"),
                            format!("`{k}` takes: {}", applies.join(", ")),
                        )
                    });
                }
            }
            for r in required {
                if !r.split('|').any(|p| m.has(p)) {
                    let mark = m.mark();
                    let shown = r.replace('|', "` or `");
                    cx.error(mark, format!("a `{k}` function needs `{shown}`"));
                }
            }
        }
        let map = m.get::<Vec<String>>(cx, "map").or_else(Vec::new);
        let map_file = m.get::<String>(cx, "map_file").opt();
        let default_node = m.get::<i64>(cx, "default_node").opt();
        let key_type = m.get::<KeyType>(cx, "key_type").opt();
        let count = m.int::<u32>(cx, "count", 1, 1_000_000).opt();
        let partition_count = m.get::<IntList>(cx, "partition_count").opt();
        let partition_length = m.get::<IntList>(cx, "partition_length").opt();
        let hash_slice = m.get::<String>(cx, "hash_slice").opt();
        let seed = m.get::<i64>(cx, "seed").opt();
        let vbt = m.int::<u32>(cx, "virtual_bucket_times", 1, 100_000).opt();
        let weight_map_file = m.get::<String>(cx, "weight_map_file").opt();
        let weight_map = m.get::<Vec<String>>(cx, "weight_map").or_else(Vec::new);
        let date_format = m.get::<String>(cx, "date_format").opt();
        let begin_date = m.get::<String>(cx, "begin_date").opt();
        let end_date = m.get::<String>(cx, "end_date").opt();
        let partition_day = m.int::<u32>(cx, "partition_day", 1, 100_000).opt();
        let natural_day = m.get::<bool>(cx, "natural_day").opt();
        let start_index = m.get::<i32>(cx, "start_index").opt();
        let size = m.int::<u32>(cx, "size", 1, 1000).opt();
        let default_partition = m.get::<i32>(cx, "default_partition").opt();
        let pattern_value = m.int::<u32>(cx, "pattern_value", 1, u32::MAX).opt();
        let split_one_day = m.int::<u32>(cx, "split_one_day", 1, 24).opt();
        let total_buckets = m.int::<u32>(cx, "total_buckets", 1, 1_000_000).opt();
        let xor_high_bits = m.get::<bool>(cx, "xor_high_bits").opt();
        let prefix_length = m
            .int::<u32>(cx, "prefix_length", 0, i32::MAX.unsigned_abs())
            .opt();
        let group_partition_size = m.int::<u32>(cx, "group_partition_size", 1, 1_000_000).opt();
        // MyCat's natural-day mode places by the day of the month alone.
        if kind == Some(FunctionType::Date)
            && let Some(natural) = natural_day
            && natural != Some(true)
        {
            for p in ["begin_date", "partition_day"] {
                if !m.has(p) {
                    cx.error(
                        m.mark(),
                        format!(
                            "a `date` function needs `{p}` (or `natural_day: true`: the node of a row is then its day of the month - 1)"
                        ),
                    );
                }
            }
        }
        m.finish(cx);
        Some(Function {
            kind: Some(kind?),
            map: map?,
            map_file: map_file?.map(PathBuf::from),
            default_node: default_node?,
            key_type: key_type?,
            count: count?,
            partition_count: partition_count?,
            partition_length: partition_length?,
            hash_slice: hash_slice?,
            seed: seed?,
            virtual_bucket_times: vbt?,
            weight_map_file: weight_map_file?.map(PathBuf::from),
            weight_map: weight_map?,
            date_format: date_format?,
            begin_date: begin_date?,
            end_date: end_date?,
            partition_day: partition_day?,
            natural_day: natural_day?,
            start_index: start_index?,
            size: size?,
            default_partition: default_partition?,
            pattern_value: pattern_value?,
            split_one_day: split_one_day?,
            total_buckets: total_buckets?,
            xor_high_bits: xor_high_bits?,
            prefix_length: prefix_length?,
            group_partition_size: group_partition_size?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mycat_name_expansion() {
        assert_eq!(expand_names("dn$1-2").unwrap(), vec!["dn1", "dn2"]);
        assert_eq!(expand_names("dn1,dn2").unwrap(), vec!["dn1", "dn2"]);
        assert_eq!(expand_names("dn$0-1, x").unwrap(), vec!["dn0", "dn1", "x"]);
        assert_eq!(expand_names("dn$0-99").unwrap().len(), 100);
        assert!(expand_names("dn$2-1").is_err());
        assert!(expand_names("dn$a-b").is_err());
        assert!(expand_names("dn1,,dn2").is_err());
        assert!(expand_names("dn$0-100000").is_err());
    }

    #[test]
    fn whitelist_hosts_as_mycat_reads_them() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("ip");
        let m = |pat: &str, addr: &str| {
            WhiteHost::parse(pat)
                .unwrap_or_else(|e| panic!("{pat}: {e}"))
                .matches(ip(addr))
        };
        // `*` and `%` are any run of digits, from the first octet, ending at an octet's end.
        assert!(m("127.0.0.*", "127.0.0.9"));
        assert!(m("127.0.0.%", "127.0.0.255"));
        assert!(!m("127.0.0.*", "127.0.1.9"));
        assert!(m("192.168.%", "192.168.4.5"));
        assert!(m("192.168.*.*", "192.168.4.5"));
        assert!(m("10.1*.*.*", "10.1.0.1"));
        assert!(m("10.1*.*.*", "10.155.0.1"));
        assert!(!m("10.1*.*.*", "10.2.0.1"));
        assert!(m("127.0.0.1*", "127.0.0.123"));
        assert!(!m("127.0.0.1*", "127.0.0.23"));
        // Not from the middle of an address, nor ending inside an octet (MyCat's
        // unanchored find() would admit both).
        assert!(!m("10.0.0.*", "110.0.0.5"));
        assert!(!m("10.*.0.1", "10.5.0.15"));
        assert!(m("10.*.0.1", "10.5.0.1"));
        assert!(m("127.0.0.*", "::ffff:127.0.0.3"));
        // Only wildcards: every address.
        assert!(m("%", "203.0.113.9"));
        assert!(m("*", "2001:db8::1"));
        assert!(!m("127.*", "::1"));
        // Addresses and CIDRs as before.
        assert!(m("10.0.0.0/8", "10.2.3.4"));
        assert!(m("127.0.0.1", "::ffff:127.0.0.1"));
        assert!(!m("127.0.0.1", "127.0.0.2"));
        for bad in [
            "localhost",
            "127.0.0",
            "127.0.0.1.*",
            "127..0.*",
            "300.*",
            "1234*.*",
            "127.0.0.[1-5]",
            "10.0.0.*/8",
            "",
        ] {
            assert!(WhiteHost::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn whitelist_entries_list_hosts_and_refuse_nonsense_where_it_is() {
        let yaml = |host: &str| {
            format!(
                "router:\n  users: [{{ name: app, password: x }}]\n  firewall:\n    whitelist:\n      - {{ host: \"{host}\", users: [app] }}\n"
            )
        };
        let errors = |host: &str| -> Vec<String> {
            crate::config::check_str(&yaml(host), "t.yaml", std::path::Path::new("/"))
                .errors()
                .iter()
                .map(|d| d.to_string())
                .collect()
        };
        for ok in [
            "127.0.0.1,192.168.1.*",
            " 10.0.0.1 , 10.0.%",
            "%",
            "fe80::1",
        ] {
            assert_eq!(errors(ok), Vec::<String>::new(), "{ok}");
        }
        assert_eq!(
            errors("127.0.0.1,localhost"),
            [
                "t.yaml:5:17: router.firewall.whitelist[0].host: `localhost` is not an address, a CIDR or a pattern such as 127.0.0.* or 192.168.%"
            ]
        );
        assert_eq!(
            errors("127.0.0.1,"),
            [
                "t.yaml:5:17: router.firewall.whitelist[0].host: `127.0.0.1,` has an empty host: list hosts as `127.0.0.1,192.168.1.*`"
            ]
        );
        let e = WhitelistEntry {
            host: "127.0.0.1, 10.0.0.*".into(),
            users: vec![],
        };
        assert_eq!(
            e.hosts().collect::<Vec<_>>(),
            [
                WhiteHost::Addr("127.0.0.1".parse().expect("ip")),
                WhiteHost::Pattern("10.0.0.*".into())
            ]
        );
    }

    fn errors(router: &str) -> Vec<String> {
        let src = format!(
            "router:\n  users: [{{ name: app, password: x, schemas: [s] }}]\n  data_nodes: [{{ name: dn$0-1, data_host: h, database: d$0-1 }}]\n{router}"
        );
        crate::config::check_str(&src, "t.yaml", std::path::Path::new("."))
            .errors()
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    const HOST: &str = "  data_hosts: [{ name: h, write_hosts: [{ host: M, url: \"127.0.0.1:3306\", user: u }] }]\n";

    #[test]
    fn galera_switch_is_accepted_and_random_writes_say_what_to_use() {
        let e = errors(
            "  schemas: [{ name: s, data_node: dn0 }]\n  data_hosts: [{ name: h, switch_type: 3, write_type: 1, write_hosts: [{ host: M, url: \"127.0.0.1:3306\", user: u }] }]\n",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("router.data_hosts[0].write_type: write_type 1 is not supported: MyCat's writeType 1 sends each write to a random live write host"),
            "{e:?}"
        );
        let e = errors(
            "  schemas: [{ name: s, data_node: dn0 }]\n  data_hosts: [{ name: h, switch_type: 4, write_hosts: [{ host: M, url: \"127.0.0.1:3306\", user: u }] }]\n",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("switch_type 4 is not one of -1 (never), 1 (heartbeat), 2 (replication status), 3 (Galera cluster status)"),
            "{e:?}"
        );
    }

    #[test]
    fn stop_replication_on_switch_is_a_bool_off_by_default() {
        let e = errors(
            "  schemas: [{ name: s, data_node: dn0 }]\n  data_hosts: [{ name: h, stop_replication_on_switch: maybe, write_hosts: [{ host: M, url: \"127.0.0.1:3306\", user: u }] }]\n",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(
            e[0],
            "t.yaml:5:55: router.data_hosts[0].stop_replication_on_switch: expected true or false, found `maybe`"
        );
        let read = |extra: &str| {
            let src = format!(
                "router:\n  users: [{{ name: app, password: x, schemas: [s] }}]\n  data_nodes: [{{ name: dn0, data_host: h, database: d0 }}]\n  schemas: [{{ name: s, data_node: dn0 }}]\n  data_hosts: [{{ name: h, {extra}write_hosts: [{{ host: M, url: \"127.0.0.1:3306\", user: u }}] }}]\n"
            );
            let c = crate::config::check_str(&src, "t.yaml", std::path::Path::new("."));
            assert!(c.errors().is_empty(), "{:?}", c.errors());
            c.config
                .and_then(|c| c.router)
                .map(|r| r.data_hosts[0].stop_replication_on_switch)
        };
        assert_eq!(read(""), Some(false));
        assert_eq!(read("stop_replication_on_switch: true, "), Some(true));
    }

    #[test]
    fn new_function_keys_apply_to_their_types_only() {
        let rule = |f: &str| {
            errors(&format!(
                "  schemas: [{{ name: s, tables: [{{ name: t, data_nodes: \"dn$0-1\", rule: r }}] }}]\n{HOST}  rules: [{{ name: r, column: id, function: {f} }}]\n"
            ))
        };
        assert!(
            rule("{ type: long, partition_count: 2, partition_length: 512, xor_high_bits: false }")
                .is_empty()
        );
        assert!(rule("{ type: crc32slot, count: 2 }").is_empty());
        assert!(
            rule("{ type: prefix-pattern, prefix_length: 2, map: [\"0-511=0\", \"512-1023=1\"] }")
                .is_empty()
        );
        assert!(rule("{ type: range-date-hash, date_format: yyyy-MM-dd, begin_date: \"2014-01-01\", partition_day: 1, group_partition_size: 2 }").is_empty());
        assert!(rule("{ type: month-history, date_format: yyyy-MM-dd, begin_date: \"2014-01-01\", end_date: \"2014-02-01\" }").is_empty());
        assert!(rule("{ type: murmur, count: 2, weight_map: [\"0=2\"] }").is_empty());
        let e = rule("{ type: mod-long, count: 2, xor_high_bits: true }");
        assert!(
            e.iter()
                .any(|m| m.contains("`xor_high_bits` does not apply to a `mod-long` function")),
            "{e:?}"
        );
        let e = rule("{ type: prefix-pattern, map: [\"0-1=0\"] }");
        assert!(
            e.iter()
                .any(|m| m.contains("a `prefix-pattern` function needs `prefix_length`")),
            "{e:?}"
        );
        let e = rule(
            "{ type: range-date-hash, date_format: yyyy-MM-dd, begin_date: \"2014-01-01\", partition_day: 1 }",
        );
        assert!(
            e.iter().any(|m| m.contains("needs `group_partition_size`")),
            "{e:?}"
        );
        // crc32slot with more nodes than the table: the usual node-count check.
        let e = rule("{ type: crc32slot, count: 3 }");
        assert!(
            e.iter().any(|m| m
                .contains("can place rows on node index 2 but table `t` has only 2 data nodes")),
            "{e:?}"
        );
    }
}
