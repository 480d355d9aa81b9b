//! `tandem import`: keepalived.conf, haproxy.cfg and a MyCat conf/ directory → one
//! tandem YAML document.
//!
//! The parsers are pure: each reads its text and returns parts of a YAML tree ([`Y`]) plus
//! warnings (`file:line`) for every keyword that has no tandem equivalent, so nothing is
//! dropped silently. [`import`] assembles the parts in the order of the configuration
//! reference and renders them with a small emitter that quotes every string that needs it.

pub mod haproxy;
pub mod keepalived;
pub mod mycat;

use std::fmt;
use std::path::{Path, PathBuf};

/// A YAML value as the importer builds it. Map keys keep their insertion order.
#[derive(Debug, Clone, PartialEq)]
pub enum Y {
    /// A string: written plain when that is unambiguous, double-quoted otherwise.
    Str(String),
    /// Written as is (durations such as `2s`, which are plain YAML scalars).
    Raw(String),
    Int(i64),
    Bool(bool),
    Seq(Vec<Y>),
    Map(Vec<(String, Y)>),
}

impl Y {
    pub fn s(v: impl Into<String>) -> Y {
        Y::Str(v.into())
    }

    pub fn map() -> Y {
        Y::Map(Vec::new())
    }

    /// Adds `key: value` to a map (no-op on other values).
    pub fn set(&mut self, key: &str, v: Y) {
        if let Y::Map(m) = self {
            if let Some(slot) = m.iter_mut().find(|(k, _)| k == key) {
                slot.1 = v;
            } else {
                m.push((key.to_string(), v));
            }
        }
    }

    /// Removes `key` from a map (no-op on other values).
    pub fn remove(&mut self, key: &str) {
        if let Y::Map(m) = self {
            m.retain(|(k, _)| k != key);
        }
    }

    pub fn get(&self, key: &str) -> Option<&Y> {
        match self {
            Y::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Y> {
        match self {
            Y::Map(m) => m.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn is_scalar(&self) -> bool {
        !matches!(self, Y::Seq(_) | Y::Map(_))
    }

    /// Renders the value as a YAML document (a map at the top).
    pub fn render(&self) -> String {
        let mut out = String::new();
        match self {
            Y::Map(m) if !m.is_empty() => render_map(m, 0, &mut out),
            other => {
                out.push_str(&scalar_or_flow(other));
                out.push('\n');
            }
        }
        out
    }
}

/// A string as a YAML scalar: plain when it is a simple word that YAML reads back as the
/// same string, double-quoted (JSON escaping, valid YAML) otherwise.
pub fn quote(s: &str) -> String {
    let simple = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | '$'))
        && !s.starts_with(['-', '.', '$'])
        && s.parse::<f64>().is_err()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
        );
    if simple {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

pub(crate) fn scalar_or_flow(v: &Y) -> String {
    match v {
        Y::Str(s) => quote(s),
        Y::Raw(s) => s.clone(),
        Y::Int(i) => i.to_string(),
        Y::Bool(b) => b.to_string(),
        Y::Seq(items) => {
            let parts: Vec<String> = items.iter().map(scalar_or_flow).collect();
            format!("[{}]", parts.join(", "))
        }
        Y::Map(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", quote(k), scalar_or_flow(v)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
    }
}

/// Small flow collections stay on one line; everything else is block style.
fn fits_flow(v: &Y) -> bool {
    match v {
        Y::Seq(items) => {
            items.iter().all(Y::is_scalar) && scalar_or_flow(v).len() <= 70 || items.is_empty()
        }
        Y::Map(m) => m.is_empty(),
        _ => true,
    }
}

fn render_map(m: &[(String, Y)], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for (k, v) in m {
        out.push_str(&pad);
        out.push_str(&quote(k));
        out.push(':');
        render_value_after_key(v, indent, out);
    }
}

fn render_value_after_key(v: &Y, indent: usize, out: &mut String) {
    if fits_flow(v) {
        out.push(' ');
        out.push_str(&scalar_or_flow(v));
        out.push('\n');
        return;
    }
    out.push('\n');
    match v {
        Y::Map(m) => render_map(m, indent + 2, out),
        Y::Seq(items) => render_seq(items, indent + 2, out),
        _ => unreachable!("scalars fit flow"),
    }
}

fn render_seq(items: &[Y], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for item in items {
        out.push_str(&pad);
        out.push('-');
        match item {
            Y::Map(m) if !m.is_empty() => {
                // `- first: x` then the other keys aligned under `first`.
                let one_line = scalar_or_flow(item);
                if m.iter().all(|(_, v)| v.is_scalar()) && one_line.len() + indent < 96 {
                    out.push(' ');
                    out.push_str(&one_line);
                    out.push('\n');
                    continue;
                }
                let mut first = String::new();
                render_map(&m[..1], 0, &mut first);
                out.push(' ');
                // The first entry may span lines: re-indent its continuation lines.
                let mut lines = first.lines();
                if let Some(l) = lines.next() {
                    out.push_str(l);
                    out.push('\n');
                }
                for l in lines {
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str(l);
                    out.push('\n');
                }
                render_map(&m[1..], indent + 2, out);
            }
            Y::Seq(inner) if !fits_flow(item) => {
                out.push('\n');
                render_seq(inner, indent + 2, out);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar_or_flow(other));
                out.push('\n');
            }
        }
    }
}

/// Something in the input with no (exact) tandem equivalent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0: about the file as a whole (or a file that is missing).
        if self.line == 0 {
            write!(f, "{}: warning: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: warning: {}", self.file, self.line, self.message)
        }
    }
}

/// Collects warnings for one input file.
#[derive(Debug, Default)]
pub struct Warnings {
    pub file: String,
    pub list: Vec<Warning>,
}

impl Warnings {
    pub fn new(file: &str) -> Self {
        Warnings {
            file: file.to_string(),
            list: Vec::new(),
        }
    }

    pub fn warn(&mut self, line: usize, message: impl Into<String>) {
        self.list.push(Warning {
            file: self.file.clone(),
            line,
            message: message.into(),
        });
    }

    /// The usual message for a keyword that is left out.
    pub fn no_equivalent(&mut self, line: usize, keyword: &str, why: &str) {
        let why = if why.is_empty() {
            String::new()
        } else {
            format!(" ({why})")
        };
        self.warn(
            line,
            format!("keyword `{keyword}` has no tandem equivalent{why}; not imported"),
        );
    }
}

/// What to import.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub keepalived: Option<PathBuf>,
    pub haproxy: Option<PathBuf>,
    pub mycat_dir: Option<PathBuf>,
    /// Overrides keepalived's `router_id` as `node`.
    pub node: Option<String>,
}

/// The generated document and the warnings, in input order.
#[derive(Debug, Clone)]
pub struct Imported {
    pub yaml: String,
    pub warnings: Vec<Warning>,
}

/// An input that cannot be read (exit status 2 in the CLI).
#[derive(Debug, Clone)]
pub struct ReadError(pub String);

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn read(path: &Path) -> Result<String, ReadError> {
    std::fs::read_to_string(path).map_err(|e| ReadError(format!("{}: {e}", path.display())))
}

/// The tandem document of the converted parts: `node` (else keepalived's router_id),
/// the keepalived parts, the balancer and the router.
pub fn assemble(
    node: Option<String>,
    ka_parts: Option<keepalived::Parts>,
    balancer: Option<Y>,
    router: Option<Y>,
) -> Y {
    let mut top = Y::map();
    if let Some(n) = node.or_else(|| ka_parts.as_ref().and_then(|k| k.node.clone())) {
        top.set("node", Y::Str(n));
    }
    if let Some(k) = ka_parts {
        if let Some(s) = k.script_security {
            top.set("script_security", Y::Bool(s));
        }
        if !k.track_scripts.is_empty() {
            top.set("track_scripts", Y::Map(k.track_scripts));
        }
        if !k.track_processes.is_empty() {
            top.set("track_processes", Y::Map(k.track_processes));
        }
        if !k.track_files.is_empty() {
            top.set("track_files", Y::Map(k.track_files));
        }
        if let Some(v) = k.vrrp {
            top.set("vrrp", v);
        }
    }
    if let Some(b) = balancer {
        top.set("balancer", b);
    }
    if let Some(r) = router {
        top.set("router", r);
    }
    top
}

/// Reads the given files and builds the tandem document.
pub fn import(src: &Sources) -> Result<Imported, ReadError> {
    let mut header = String::from("# Generated by `tandem import` from");
    // Read everything first: the keepalived part depends on what the others bring.
    let mut expanded = None;
    if let Some(p) = &src.keepalived {
        expanded = Some(keepalived::read_expanded(p)?);
        header.push_str(&format!(" {}", p.display()));
    }
    let mut balancer = None;
    let mut observe = None;
    let mut listener_lines = Vec::new();
    let mut ha_warnings = Vec::new();
    let mut ha_file = String::new();
    if let Some(p) = &src.haproxy {
        let text = read(p)?;
        header.push_str(&format!(" {}", p.display()));
        ha_file = p.display().to_string();
        let c = haproxy::convert_full(&text, &ha_file);
        ha_warnings = c.warnings;
        balancer = c.balancer;
        listener_lines = c.lines;
        observe = c.observe;
    }
    let mut router = None;
    let mut my_warnings = Vec::new();
    if let Some(d) = &src.mycat_dir {
        header.push_str(&format!(" {}/", d.display()));
        let (r, w) = mycat::convert(d)?;
        my_warnings = w;
        router = r;
    }
    let listeners = listeners_of(balancer.as_ref());
    let mut unreachable = Vec::new();
    if let Some(r) = &router {
        unreachable = unreachable_router_servers(
            &listeners,
            &listener_lines,
            &ha_file,
            r,
            &mut ha_warnings,
            &mut my_warnings,
        );
        if let Some(b) = balancer.as_mut() {
            let found = (&listeners[..], &listener_lines[..], &unreachable[..]);
            check_the_router_itself(b, found, r, &ha_file, &mut ha_warnings);
        }
        ha_warnings.sort_by_key(|w| w.line);
    }
    let mut warnings = Vec::new();
    let mut ka_parts = None;
    if let Some(e) = &expanded {
        let ctx = keepalived::Context {
            listeners: balancer.as_ref().map(|_| {
                listeners
                    .iter()
                    .filter(|l| !unreachable.contains(&l.name))
                    .map(|l| keepalived::ListenerRef {
                        name: l.name.clone(),
                        bind: l.bind.clone(),
                    })
                    .collect()
            }),
            router: router.is_some(),
            mycat_ports: router
                .as_ref()
                .map(|r| mycat_ports(r, &listeners))
                .unwrap_or_default(),
        };
        let r = keepalived::convert_expanded_with(e, &ctx);
        warnings.extend(r.1);
        ka_parts = Some(r.0);
    }
    warnings.extend(ha_warnings);
    warnings.extend(my_warnings);
    let mut top = assemble(src.node.clone(), ka_parts, balancer, router);
    if let (Some(o), Y::Map(m)) = (observe, &mut top) {
        // Where a hand-written file has it: after `node`.
        let at = m.iter().position(|(k, _)| k == "node").map_or(0, |i| i + 1);
        m.insert(at, ("observe".to_string(), o));
    }
    header.push_str(".\n# Review the warnings it printed before using this file.\n");
    let body = top.render();
    Ok(Imported {
        yaml: format!("{header}{body}"),
        warnings,
    })
}

/// An imported balancer listener, as the cross-checks between the inputs see it.
struct Listener {
    name: String,
    bind: String,
    /// The servers' `host:port` addresses.
    servers: Vec<String>,
    /// `check.port`, when the servers are checked on another port.
    check_port: Option<i64>,
    /// Whether the servers are checked at all.
    checked: bool,
}

fn listeners_of(balancer: Option<&Y>) -> Vec<Listener> {
    let Some(Y::Seq(ls)) = balancer.and_then(|b| b.get("listeners")) else {
        return Vec::new();
    };
    let text = |y: Option<&Y>| match y {
        Some(Y::Str(s)) => s.clone(),
        _ => String::new(),
    };
    ls.iter()
        .map(|l| Listener {
            name: text(l.get("name")),
            bind: text(l.get("bind")),
            servers: match l.get("servers") {
                Some(Y::Seq(v)) => v.iter().map(|s| text(s.get("address"))).collect(),
                _ => Vec::new(),
            },
            check_port: match l.get("check").and_then(|c| c.get("port")) {
                Some(Y::Int(p)) => Some(*p),
                _ => None,
            },
            checked: l.get("check").is_some(),
        })
        .collect()
}

/// `host:port` (`[v6]:port` too) → host and port.
fn host_port(a: &str) -> Option<(&str, u16)> {
    let (h, p) = a.rsplit_once(':')?;
    Some((
        h.trim_start_matches('[').trim_end_matches(']'),
        p.parse().ok()?,
    ))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The router's sockets as imported, tandem's defaults for those left out: `listen`
/// (0.0.0.0:8067) and `admin_listen` (127.0.0.1:9066; `off`: none).
fn router_sockets(router: &Y) -> [(&'static str, Option<(String, u16)>); 2] {
    let sock = |key: &str, default: &str| -> Option<(String, u16)> {
        let v = match router.get(key) {
            Some(Y::Str(s)) => s.as_str(),
            _ => default,
        };
        host_port(v).map(|(h, p)| (h.to_string(), p))
    };
    [
        ("listen", sock("listen", "0.0.0.0:8067")),
        ("admin_listen", sock("admin_listen", "127.0.0.1:9066")),
    ]
}

/// The ports of MyCat's router for recognising MyCat checks in keepalived.conf: the
/// router's `listen` and `admin_listen` ports, and the ports haproxy checked those
/// servers on (the xinetd status port of the usual MyCat setup).
fn mycat_ports(router: &Y, listeners: &[Listener]) -> Vec<u16> {
    let mut ports: Vec<u16> = router_sockets(router)
        .into_iter()
        .filter_map(|(_, s)| s.map(|(_, p)| p))
        .collect();
    for l in listeners {
        let to_router = l
            .servers
            .iter()
            .filter_map(|s| host_port(s))
            .any(|(_, p)| ports.contains(&p));
        if to_router && let Some(p) = l.check_port.and_then(|p| u16::try_from(p).ok()) {
            ports.push(p);
        }
    }
    ports
}

/// Balancer listeners whose servers are the router's own port on addresses the router
/// does not listen on: typically haproxy's `listen mycat_admin` in front of MyCat's
/// managerPort on both boxes, which the import serves on loopback only (`admin_listen:
/// 127.0.0.1:9066`), so every connection would be refused. Each is warned at its line
/// (with what to set), and so is the MyCat setting; returns their names (they are not
/// tracked in place of a haproxy check). The listener is kept as is: making the admin
/// port reachable from the network is the operator's decision.
fn unreachable_router_servers(
    listeners: &[Listener],
    lines: &[usize],
    ha_file: &str,
    router: &Y,
    ha_w: &mut Vec<Warning>,
    my_w: &mut [Warning],
) -> Vec<String> {
    let mut out = Vec::new();
    for (i, l) in listeners.iter().enumerate() {
        for (key, sock) in router_sockets(router) {
            let Some((rhost, rport)) = sock else { continue };
            if !is_loopback(&rhost) {
                continue;
            }
            let bad: Vec<&str> = l
                .servers
                .iter()
                .filter(|s| host_port(s).is_some_and(|(h, p)| p == rport && !is_loopback(h)))
                .map(String::as_str)
                .collect();
            if bad.is_empty() {
                continue;
            }
            let line = lines.get(i).copied().unwrap_or(0);
            let list = bad
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let checks = match l.check_port {
                Some(p) if p != i64::from(rport) => format!(
                    " (its health checks connect to port {p}, so they keep the servers UP and the listener looks healthy)"
                ),
                _ if l.checked => {
                    " (its health checks go to that port too: the servers are DOWN)".to_string()
                }
                _ => String::new(),
            };
            let (what, fix) = if key == "admin_listen" {
                (
                    "MyCat's admin port (managerPort)",
                    format!(
                        "To reach the admin port through this listener, set `router.admin_listen` on each box to that box's own address among {list}; this opens the admin port to the network as MyCat's managerPort was (logins of users with `admin: true`, who can `switch @@datasource`, `kill @@connection`, `reload @@config`), so let only the operators' hosts reach it (a firewall). Or remove this listener and use the admin port on each box (`mariadb -h127.0.0.1 -P{rport}`)"
                    ),
                )
            } else {
                (
                    "the router's port",
                    format!(
                        "Set `router.listen` on each box to `0.0.0.0:{rport}` or to that box's own address among {list}"
                    ),
                )
            };
            ha_w.push(Warning {
                file: ha_file.to_string(),
                line,
                message: format!(
                    "listener {}: its servers {list} are {what}, which the imported router serves as `{key}: {rhost}:{rport}`, on loopback only: nothing will listen on those addresses, so every connection through this listener is refused{checks}. {fix}",
                    l.name
                ),
            });
            // The MyCat side's warning about the same port points here.
            let prefix = format!("managerPort {rport} is imported as admin_listen");
            if key == "admin_listen"
                && let Some(m) = my_w.iter_mut().find(|w| w.message.starts_with(&prefix))
            {
                m.message.push_str(&format!(
                    "; the haproxy listener `{}` ({ha_file}:{line}) forwards to this port on the boxes' addresses, where nothing will listen: see the warning there",
                    l.name
                ));
            }
            out.push(l.name.clone());
            break;
        }
    }
    out
}

/// The check keys that only mean something for a probe on another port or protocol.
const PROBE_KEYS: [&str; 6] = [
    "port",
    "path",
    "expect_status",
    "disable_on_404",
    "send",
    "expect",
];

/// How the haproxy conversion's warnings about such a probe's request begin.
const PROBE_WARNINGS: [&str; 5] = [
    "`option httpchk`",
    "tandem's http check",
    "`tcp-check",
    "keyword `http-check",
    "keyword `tcp-check",
];

/// Balancer listeners in front of the imported router's own port (`listen`, on the
/// boxes' addresses) that haproxy checked on another port: in the usual MyCat setup
/// xinetd's `mycat_status` on 48700, which asks whether MyCat runs. Once the router
/// replaces MyCat that probe fails (or nothing answers it any more) and every server of
/// the listener would be DOWN. Their checks (the listener's and the servers' own) now ask
/// the router itself, `type: mysql` on the servers' port; each is warned at its line.
fn check_the_router_itself(
    balancer: &mut Y,
    (listeners, lines, skip): (&[Listener], &[usize], &[String]),
    router: &Y,
    ha_file: &str,
    ha_w: &mut Vec<Warning>,
) {
    let [(_, Some((rhost, rport))), _] = router_sockets(router) else {
        return;
    };
    let Some(Y::Seq(ys)) = balancer.get_mut("listeners") else {
        return;
    };
    for (i, (l, y)) in listeners.iter().zip(ys.iter_mut()).enumerate() {
        let to_router = !l.servers.is_empty()
            && l.servers.iter().all(|s| {
                host_port(s)
                    .is_some_and(|(h, p)| p == rport && (!is_loopback(&rhost) || is_loopback(h)))
            });
        let Some(port) = l.check_port.filter(|p| *p != i64::from(rport)) else {
            continue;
        };
        if !to_router || skip.contains(&l.name) {
            continue;
        }
        // The listener's check names the type; a server's own check inherits it.
        let reprobe = |c: &mut Y, typed: bool| {
            for k in PROBE_KEYS {
                c.remove(k);
            }
            if typed {
                c.set("type", Y::s("mysql"));
            }
        };
        if let Some(c) = y.get_mut("check") {
            reprobe(c, true);
        }
        if let Some(Y::Seq(servers)) = y.get_mut("servers") {
            for server in servers.iter_mut() {
                if let Some(c) = server.get_mut("check") {
                    let typed = c.get("type").is_some();
                    reprobe(c, typed);
                    if matches!(c, Y::Map(m) if m.is_empty()) {
                        server.remove("check");
                    }
                }
            }
        }
        // What the conversion said about the probe's request no longer applies.
        let line = lines.get(i).copied().unwrap_or(0);
        let next = lines.iter().copied().filter(|&n| n > line).min();
        ha_w.retain(|w| {
            let inside = w.line > line && next.is_none_or(|n| w.line < n);
            !(inside && PROBE_WARNINGS.iter().any(|p| w.message.starts_with(p)))
        });
        ha_w.push(Warning {
            file: ha_file.to_string(),
            line,
            message: format!(
                "listener {}: haproxy checked its servers, the router's port {rport}, on port {port} (in the usual MyCat setup xinetd's `mycat_status`, which asks whether MyCat runs): once the router replaces MyCat that probe fails or nothing answers it, and every server would be DOWN. Imported as a check of the router itself: `type: mysql` on port {rport} (no `port`); the xinetd service can go with MyCat. To drain a router with the admin command `offline`, check its box's observe endpoint instead: `type: http`, `port` the observe port, `path: /health/router`, `disable_on_404: true`",
                l.name
            ),
        });
    }
}

/// keepalived/haproxy seconds (`2`, `1.5`) as a tandem duration.
pub(crate) fn seconds(text: &str) -> Option<String> {
    let v: f64 = text.parse().ok()?;
    if !(0.0..=1e9).contains(&v) {
        return None;
    }
    let ms = (v * 1000.0).round() as u64;
    Some(if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    })
}

/// Splits a command line into words the way keepalived does (`'…'` and `"…"` quoting).
pub(crate) fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut have = false;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                have = true;
            }
            None if c.is_whitespace() => {
                if have || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            None => cur.push(c),
        }
    }
    if have || !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("eth0"), "eth0");
        assert_eq!(quote("1111"), "\"1111\"");
        assert_eq!(quote("0110"), "\"0110\"");
        assert_eq!(quote("yes"), "\"yes\"");
        assert_eq!(quote("10.0.0.1:3306"), "\"10.0.0.1:3306\"");
        assert_eq!(quote("dn$1-2"), "dn$1-2");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote(""), "\"\"");
    }

    #[test]
    fn seconds_and_words() {
        assert_eq!(seconds("2").as_deref(), Some("2s"));
        assert_eq!(seconds("0.5").as_deref(), Some("500ms"));
        assert_eq!(
            shell_words("killall -0 'a b' \"c\""),
            vec!["killall", "-0", "a b", "c"]
        );
    }

    #[test]
    fn odd_strings_read_back_unchanged() {
        for odd in [
            "a \"quoted\" 'word' # not a comment",
            "tab\there: colon, [brackets] {braces} & *star !bang %pct @at `tick`",
            "line\nbreak and unicode é ✓",
            "- dash",
            "null",
            "0x1F",
            "1e3",
        ] {
            let mut sc = Y::map();
            sc.set("command", Y::s(odd));
            sc.set("shell", Y::Bool(true));
            let mut scripts = Y::map();
            scripts.set("odd: key #1", sc);
            let mut top = Y::map();
            top.set("track_scripts", scripts);
            let text = top.render();
            let (cfg, _) = crate::config::check_str(&text, "t.yaml", std::path::Path::new("/"))
                .into_result()
                .unwrap_or_else(|d| panic!("{text}: {d:?}"));
            let s = cfg.track_script("odd: key #1").expect("script");
            assert_eq!(s.command.0, [odd.to_string()], "{text}");
        }
    }

    /// A router section with `listen` and, unless `None`, `admin_listen`.
    fn router(listen: &str, admin: Option<&str>) -> Y {
        let mut r = Y::map();
        r.set("listen", Y::s(listen));
        if let Some(a) = admin {
            r.set("admin_listen", Y::s(a));
        }
        r
    }

    fn listener(name: &str, servers: &[&str], check_port: Option<i64>) -> Listener {
        Listener {
            name: name.into(),
            bind: "198.18.0.100:3306".into(),
            servers: servers.iter().map(|s| s.to_string()).collect(),
            check_port,
            checked: true,
        }
    }

    /// Servers on the router's port where the router listens on loopback only are warned
    /// (admin port: also the MyCat warning); on a wildcard `listen`, or servers on
    /// loopback, they are not.
    #[test]
    fn listeners_to_router_ports_on_loopback_are_warned() {
        let ls = [
            listener(
                "admin",
                &["198.18.0.1:9066", "198.18.0.2:9066"],
                Some(48700),
            ),
            listener("mysql", &["198.18.0.1:8066", "198.18.0.2:8066"], None),
            listener("local", &["127.0.0.1:9066"], None),
        ];
        let mut my = vec![Warning {
            file: "server.xml".into(),
            line: 6,
            message: "managerPort 9066 is imported as admin_listen 127.0.0.1:9066 (loopback)"
                .into(),
        }];
        let mut ha = Vec::new();
        let r = router("0.0.0.0:8066", Some("127.0.0.1:9066"));
        let got = unreachable_router_servers(&ls, &[10, 20, 30], "h.cfg", &r, &mut ha, &mut my);
        assert_eq!(got, ["admin"]);
        assert_eq!(ha.len(), 1, "{ha:?}");
        assert_eq!((ha[0].file.as_str(), ha[0].line), ("h.cfg", 10));
        assert!(
            ha[0]
                .message
                .contains("(its health checks connect to port 48700, so they keep the servers UP")
                && ha[0]
                    .message
                    .contains("set `router.admin_listen` on each box"),
            "{ha:?}"
        );
        assert!(my[0].message.ends_with("the haproxy listener `admin` (h.cfg:10) forwards to this port on the boxes' addresses, where nothing will listen: see the warning there"));
        // No `admin_listen`: tandem's default, 127.0.0.1:9066, counts the same.
        let mut ha = Vec::new();
        let r = router("127.0.0.1:8066", None);
        let got = unreachable_router_servers(&ls, &[10, 20, 30], "h.cfg", &r, &mut ha, &mut []);
        assert_eq!(got, ["admin", "mysql"]);
        assert!(
            ha[1].message.contains("`listen: 127.0.0.1:8066`")
                && ha[1]
                    .message
                    .contains("(its health checks go to that port too: the servers are DOWN)")
                && ha[1]
                    .message
                    .contains("Set `router.listen` on each box to `0.0.0.0:8066`"),
            "{ha:?}"
        );
        // Off, or on the box's own address: nothing to say.
        let mut ha = Vec::new();
        let r = router("198.18.0.1:8066", Some("off"));
        assert!(
            unreachable_router_servers(&ls, &[10, 20, 30], "h.cfg", &r, &mut ha, &mut [])
                .is_empty()
        );
        assert!(ha.is_empty());
    }

    #[test]
    fn render_nested() {
        let mut m = Y::map();
        m.set("a", Y::Int(1));
        let mut item = Y::map();
        item.set("name", Y::s("x"));
        item.set("list", Y::Seq(vec![Y::s("p"), Y::s("q")]));
        let mut inner = Y::map();
        inner.set("k", Y::Raw("2s".into()));
        inner.set("long", Y::s("x".repeat(100)));
        item.set("inner", inner);
        m.set("items", Y::Seq(vec![item]));
        let text = m.render();
        let doc = crate::config::yaml::parse(&text).expect("valid YAML");
        let _ = doc;
        assert!(text.contains("items:\n  - name: x\n    list: [p, q]\n    inner:\n"));
    }
}
