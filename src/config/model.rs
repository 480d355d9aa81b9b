//! The top of the config file: `node`, `log`, `observe`, `track_scripts`, and the
//! three subsystem sections.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::Serialize;

use super::balancer::BalancerConfig;
use super::decode::{Ctx, Decode, MapReader, decode_named_map};
use super::router::RouterConfig;
use super::types::{Command, Dur, nonzero_check};
use super::vrrp::VrrpConfig;
use super::yaml::Node;
use crate::config_enum;

/// The whole file. A missing subsystem section means that subsystem is off.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// This box's name in logs, metrics and status (default: the host name).
    pub node: String,
    pub log: LogConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observe: Option<ObserveConfig>,
    /// The local admin socket (`tandem balancer drain ...`).
    pub admin: AdminConfig,
    /// Refuse scripts that someone other than root (or the script's user) could modify.
    pub script_security: bool,
    #[serde(serialize_with = "serialize_named")]
    pub track_scripts: Vec<TrackScript>,
    /// keepalived's `vrrp_track_process`: processes whose presence is a health signal.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "serialize_named"
    )]
    pub track_processes: Vec<TrackProcess>,
    /// keepalived's `track_file`: files holding a number that weighs on priorities.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "serialize_named"
    )]
    pub track_files: Vec<TrackFile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp: Option<VrrpConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balancer: Option<BalancerConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router: Option<RouterConfig>,
}

impl Config {
    pub fn track_script(&self, name: &str) -> Option<&TrackScript> {
        self.track_scripts.iter().find(|s| s.name == name)
    }

    pub fn track_process(&self, name: &str) -> Option<&TrackProcess> {
        self.track_processes.iter().find(|p| p.name == name)
    }

    pub fn track_file(&self, name: &str) -> Option<&TrackFile> {
        self.track_files.iter().find(|f| f.name == name)
    }

    /// The track files some VRRP instance tracks (only those are watched).
    pub fn tracked_files(&self) -> std::collections::HashSet<&str> {
        self.vrrp
            .iter()
            .flat_map(|v| &v.instances)
            .flat_map(|i| &i.track_files)
            .map(|t| t.name.as_str())
            .collect()
    }

    /// The track processes some VRRP instance tracks (only those are watched).
    pub fn tracked_processes(&self) -> std::collections::HashSet<&str> {
        self.vrrp
            .iter()
            .flat_map(|v| &v.instances)
            .flat_map(|i| &i.track_processes)
            .map(|t| t.name.as_str())
            .collect()
    }

    /// The track scripts some VRRP instance tracks (only those run).
    pub fn tracked_scripts(&self) -> std::collections::HashSet<&str> {
        self.vrrp
            .iter()
            .flat_map(|v| &v.instances)
            .flat_map(|i| &i.track_scripts)
            .map(|t| t.name.as_str())
            .collect()
    }
}

/// A definition whose name is its key in the file.
trait Named: Serialize {
    fn name(&self) -> &str;
}

impl Named for TrackScript {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for TrackProcess {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for TrackFile {
    fn name(&self) -> &str {
        &self.name
    }
}

/// `track_scripts` and `track_processes` are mappings from name to definition.
fn serialize_named<T: Named, S: serde::Serializer>(items: &[T], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(items.len()))?;
    for it in items {
        m.serialize_entry(it.name(), it)?;
    }
    m.end()
}

pub fn default_node_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tandem".to_string())
}

/// Which sections failed to decode: lints skip references into them, so one typo does
/// not cascade into "not defined" errors elsewhere.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failed {
    pub track_scripts: bool,
    pub track_processes: bool,
    pub track_files: bool,
    pub vrrp: bool,
    pub balancer: bool,
    pub router: bool,
    /// `node`, `log`, `observe`, `script_security` or an unknown top-level key.
    pub other: bool,
}

impl Failed {
    pub fn any(&self) -> bool {
        self.track_scripts
            || self.track_processes
            || self.track_files
            || self.vrrp
            || self.balancer
            || self.router
            || self.other
    }
}

/// Decodes what can be decoded: a section with errors is left out (and flagged), so the
/// lints can still run over the rest. `None` when the document is not a mapping.
pub fn decode_config(node: &Node, cx: &mut Ctx) -> Option<(Config, Failed)> {
    let mut m = MapReader::new(node, cx)?;
    let mut failed = Failed::default();
    let name = m
        .get::<String>(cx, "node")
        .check(cx, |n| super::decode::name_problem(n))
        .or_else(default_node_name);
    let log = m.get::<LogConfig>(cx, "log").or_else(LogConfig::default);
    let observe = m.get::<ObserveConfig>(cx, "observe").opt();
    let admin = m
        .get::<AdminConfig>(cx, "admin")
        .or_else(AdminConfig::default);
    let script_security = m.get::<bool>(cx, "script_security").or(true);
    let track_scripts = m
        .get_with(cx, "track_scripts", |n, cx| {
            decode_named_map(n, cx, TrackScript::decode_named)
        })
        .or_else(Vec::new);
    let track_processes = m
        .get_with(cx, "track_processes", |n, cx| {
            decode_named_map(n, cx, TrackProcess::decode_named)
        })
        .or_else(Vec::new);
    let track_files = m
        .get_with(cx, "track_files", |n, cx| {
            decode_named_map(n, cx, TrackFile::decode_named)
        })
        .or_else(Vec::new);
    let vrrp = m.get::<VrrpConfig>(cx, "vrrp").opt();
    let balancer = m.get::<BalancerConfig>(cx, "balancer").opt();
    let router = m.get::<RouterConfig>(cx, "router").opt();
    let before = cx.diags.len();
    m.finish(cx);
    failed.other = cx.diags.len() > before
        || name.is_none()
        || log.is_none()
        || observe.is_none()
        || admin.is_none()
        || script_security.is_none();
    failed.track_scripts = track_scripts.is_none();
    failed.track_processes = track_processes.is_none();
    failed.track_files = track_files.is_none();
    failed.vrrp = vrrp.is_none();
    failed.balancer = balancer.is_none();
    failed.router = router.is_none();
    Some((
        Config {
            node: name.unwrap_or_else(default_node_name),
            log: log.unwrap_or_default(),
            observe: observe.flatten(),
            admin: admin.unwrap_or_default(),
            script_security: script_security.unwrap_or(true),
            track_scripts: track_scripts.unwrap_or_default(),
            track_processes: track_processes.unwrap_or_default(),
            track_files: track_files.unwrap_or_default(),
            vrrp: vrrp.flatten(),
            balancer: balancer.flatten(),
            router: router.flatten(),
        },
        failed,
    ))
}

impl Decode for Config {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        match decode_config(node, cx)? {
            (c, f) if !f.any() => Some(c),
            _ => None,
        }
    }
}

config_enum! {
    pub enum LogFormat { Text => "text", Json => "json" }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogConfig {
    pub format: LogFormat,
    /// `error`, `warn`, `info`, `debug`, `trace`, or a tracing filter such as
    /// `info,tandem::vrrp=debug`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

impl Decode for LogConfig {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let format = m.get(cx, "format").or(LogFormat::Text);
        let level = m
            .get::<String>(cx, "level")
            .check(cx, |l| crate::observe::logging::validate_level(l))
            .or_else(|| "info".into());
        m.finish(cx);
        Some(LogConfig {
            format: format?,
            level: level?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObserveConfig {
    /// Where `GET /metrics` and `GET /status` are served.
    pub listen: SocketAddr,
    /// Allow a non-loopback `listen` address (the endpoint has no authentication).
    pub allow_remote: bool,
    /// The balancer's statistics page (haproxy's `stats uri`).
    pub stats: StatsPageConfig,
}

/// haproxy's stats page on the observe endpoint: `stats uri`, `stats auth`,
/// `stats realm`, `stats refresh`, `stats admin`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsPageConfig {
    /// The page's address: a request whose target starts with it gets the page
    /// (`<uri>;csv`: `show stat` CSV, `<uri>;json`: `show stat json`).
    pub uri: String,
    /// `user:password` pairs allowed in (HTTP basic authentication); empty: open.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth: Vec<String>,
    /// The realm the browser shows when it asks for a password.
    pub realm: String,
    /// How often the page reloads itself; `None`: never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<Dur>,
    /// Whether the page's form may change servers (state, health checks, sessions).
    pub admin: bool,
    /// Show servers' addresses and the balance algorithm (haproxy's
    /// `stats show-legends`).
    pub show_legends: bool,
}

pub const DEFAULT_STATS_URI: &str = "/stats";
pub const DEFAULT_STATS_REALM: &str = "tandem statistics";

impl Default for StatsPageConfig {
    fn default() -> Self {
        StatsPageConfig {
            uri: DEFAULT_STATS_URI.into(),
            auth: Vec::new(),
            realm: DEFAULT_STATS_REALM.into(),
            refresh: None,
            admin: false,
            show_legends: false,
        }
    }
}

/// Why `uri` cannot be the stats page's address (`None`: it can).
pub fn stats_uri_problem(uri: &str) -> Option<String> {
    stats_uri_check(&uri.to_string()).err()
}

fn stats_uri_check(uri: &String) -> Result<(), String> {
    if !uri.starts_with('/') {
        return Err(format!("`{uri}` must start with `/`"));
    }
    if uri.len() > 200 || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{uri}`: at most 200 characters, without spaces or control characters"
        ));
    }
    if uri == "/" {
        return Err("`/` would take every address of the endpoint".into());
    }
    for own in ["/metrics", "/status", "/health/router"] {
        if own.starts_with(uri.as_str()) || uri.starts_with(own) {
            return Err(format!("`{uri}` overlaps the endpoint's own `{own}`"));
        }
    }
    Ok(())
}

fn stats_auth_check(auth: &Vec<String>) -> Result<(), String> {
    for a in auth {
        match a.split_once(':') {
            Some((u, p)) if !u.is_empty() && !p.is_empty() => {}
            _ => return Err(format!("`{a}`: write `user:password`")),
        }
    }
    Ok(())
}

impl Decode for StatsPageConfig {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let d = StatsPageConfig::default();
        let uri = m
            .get::<String>(cx, "uri")
            .check(cx, stats_uri_check)
            .or(d.uri);
        let auth = m
            .get::<Vec<String>>(cx, "auth")
            .check(cx, stats_auth_check)
            .or_else(Vec::new);
        let realm = m
            .get::<String>(cx, "realm")
            .check(cx, |r| {
                if r.is_empty() || r.contains('"') || r.chars().any(char::is_control) {
                    Err("a realm is a non-empty text without `\"`".into())
                } else {
                    Ok(())
                }
            })
            .or(d.realm);
        let refresh = m
            .get::<Dur>(cx, "refresh")
            .check(cx, |r| {
                if r.get() < Duration::from_secs(1) {
                    Err(format!("{r} is too short: at least 1s"))
                } else {
                    Ok(())
                }
            })
            .opt();
        let admin = m.get::<bool>(cx, "admin").or(false);
        let show_legends = m.get::<bool>(cx, "show_legends").or(false);
        m.finish(cx);
        Some(StatsPageConfig {
            uri: uri?,
            auth: auth?,
            realm: realm?,
            refresh: refresh?,
            admin: admin?,
            show_legends: show_legends?,
        })
    }
}

pub const DEFAULT_OBSERVE_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9188);

impl Decode for ObserveConfig {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let allow_remote = m.get::<bool>(cx, "allow_remote").or(false);
        let remote_ok = allow_remote.unwrap_or(false);
        let listen = m
            .get::<SocketAddr>(cx, "listen")
            .check(cx, |a| {
                if a.ip().is_loopback() || remote_ok {
                    Ok(())
                } else {
                    Err(format!(
                        "{a} is not a loopback address; the endpoint has no authentication, so \
                         set `observe.allow_remote: true` to expose it on purpose"
                    ))
                }
            })
            .or(DEFAULT_OBSERVE_LISTEN);
        let stats = m
            .get::<StatsPageConfig>(cx, "stats")
            .or_else(StatsPageConfig::default);
        if let (Some(l), Some(s)) = (listen, &stats)
            && s.admin
            && s.auth.is_empty()
            && !l.ip().is_loopback()
        {
            let path = format!("{}.stats.admin", cx.path_string());
            cx.at_path(
                super::decode::Severity::Error,
                &path,
                "`admin: true` on a non-loopback endpoint without `auth` would let anyone change servers",
                Some("set `auth: [\"user:password\"]` under `observe.stats`".into()),
            );
        }
        m.finish(cx);
        Some(ObserveConfig {
            listen: listen?,
            allow_remote: allow_remote?,
            stats: stats?,
        })
    }
}

pub const DEFAULT_ADMIN_SOCKET: &str = "/run/tandem/admin.sock";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdminConfig {
    /// Unix socket for admin commands; `None` (`socket: off`) disables it.
    #[serde(serialize_with = "serialize_socket")]
    pub socket: Option<std::path::PathBuf>,
}

fn serialize_socket<S: serde::Serializer>(
    p: &Option<std::path::PathBuf>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.collect_str(&p.display()),
        None => s.serialize_str("off"),
    }
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            socket: Some(DEFAULT_ADMIN_SOCKET.into()),
        }
    }
}

impl Decode for AdminConfig {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let socket = m
            .get_with(cx, "socket", |n, cx| {
                let s = String::decode(n, cx)?;
                if s == "off" {
                    return Some(None);
                }
                if !s.starts_with('/') {
                    cx.error(n.mark, format!("`{s}` is not an absolute path (or `off`)"));
                    return None;
                }
                Some(Some(std::path::PathBuf::from(s)))
            })
            .or(Some(DEFAULT_ADMIN_SOCKET.into()));
        m.finish(cx);
        Some(AdminConfig { socket: socket? })
    }
}

/// A keepalived `vrrp_script`: a command run every `interval` whose exit status is
/// a health signal.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackScript {
    pub name: String,
    /// The argv; with `shell`, a single element: the script for `/bin/sh -c`.
    pub command: Command,
    /// Run the command through `/bin/sh -c`.
    pub shell: bool,
    pub interval: Dur,
    /// Default: the interval.
    pub timeout: Dur,
    pub rise: u32,
    pub fall: u32,
    /// -253..253; 0 puts the instances tracking it in FAULT while it fails.
    pub weight: i32,
    /// keepalived's `weight N reverse`: the weight counts in the other direction.
    pub reverse: bool,
    pub user: Option<String>,
    pub group: Option<String>,
}

impl Serialize for TrackScript {
    /// As written in the file (the name is the mapping key, a shell script one string).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        if self.shell {
            m.serialize_entry("command", &self.command.0.join(" "))?;
            m.serialize_entry("shell", &true)?;
        } else {
            m.serialize_entry("command", &self.command)?;
        }
        m.serialize_entry("interval", &self.interval)?;
        m.serialize_entry("timeout", &self.timeout)?;
        m.serialize_entry("rise", &self.rise)?;
        m.serialize_entry("fall", &self.fall)?;
        m.serialize_entry("weight", &self.weight)?;
        if self.reverse {
            m.serialize_entry("reverse", &true)?;
        }
        if let Some(u) = &self.user {
            m.serialize_entry("user", u)?;
        }
        if let Some(g) = &self.group {
            m.serialize_entry("group", g)?;
        }
        m.end()
    }
}

impl TrackScript {
    /// The argv to execute.
    pub fn argv(&self) -> Vec<String> {
        if self.shell {
            let script = self.command.0.join(" ");
            vec!["/bin/sh".into(), "-c".into(), script]
        } else {
            self.command.0.clone()
        }
    }
}

impl TrackScript {
    fn decode_named(name: String, node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let shell = m.get::<bool>(cx, "shell").or(false);
        let shell_on = shell.unwrap_or(false);
        let command = if shell_on {
            // With a shell the command is one script string: `sh -c "<string>"`.
            let f = m.get_with(cx, "command", |n, cx| match n.scalar() {
                Some((s, _)) if !s.trim().is_empty() => Some(Command(vec![s.to_string()])),
                _ => {
                    cx.error_hint(
                        n.mark,
                        format!("expected one command string, found {}", n.describe()),
                        "with `shell: true` write the command as one string",
                    );
                    None
                }
            });
            m.required(cx, f)
        } else {
            m.req::<Command>(cx, "command")
        };
        let interval = m
            .get::<Dur>(cx, "interval")
            .check(cx, super::types::interval_check)
            .or(Dur::secs(1));
        let timeout = m.get::<Dur>(cx, "timeout").check(cx, nonzero_check).opt();
        let rise = m.int::<u32>(cx, "rise", 1, 1000).or(1);
        let fall = m.int::<u32>(cx, "fall", 1, 1000).or(1);
        let weight = m.int::<i32>(cx, "weight", -253, 253).or(0);
        let reverse = m.get::<bool>(cx, "reverse").or(false);
        let user = m.get::<String>(cx, "user").opt();
        let group = m.get::<String>(cx, "group").opt();
        m.finish(cx);
        let interval = interval?;
        Some(TrackScript {
            name,
            command: command?,
            shell: shell?,
            interval,
            timeout: timeout?.unwrap_or(interval),
            rise: rise?,
            fall: fall?,
            weight: weight?,
            reverse: reverse?,
            user: user?,
            group: group?,
        })
    }
}

config_enum! {
    /// How a tracked process's arguments must match `args` (keepalived's `param_match`).
    pub enum ParamMatch { Exact => "exact", Initial => "initial", Partial => "partial" }
}

/// A keepalived `vrrp_track_process`: the number of running processes that match is a
/// health signal (up while it lies in `quorum..=quorum_max`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackProcess {
    #[serde(skip)]
    pub name: String,
    /// The process name as the kernel keeps it (`/proc/PID/comm`, at most 15 bytes), or,
    /// with `full_command`, the program as started (the command line's first word).
    pub process: String,
    /// Arguments the command line must carry after `process` (implies `full_command`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Set: the arguments are compared (with no `args`, `exact` means "no arguments").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param_match: Option<ParamMatch>,
    /// Match `process` against the command line instead of the process name.
    pub full_command: bool,
    /// The fewest matching processes that count as up (0 only with `quorum_max: 0`).
    pub quorum: u32,
    /// The most matching processes that count as up; `None`: no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum_max: Option<u32>,
    /// How long a change that starts processes waits before it counts.
    pub fork_delay: Dur,
    /// How long a change that ends processes waits before it counts.
    pub terminate_delay: Dur,
    /// How often `/proc` is read.
    pub interval: Dur,
    /// -253..253; 0 puts the instances tracking it in FAULT while it fails.
    pub weight: i32,
    pub reverse: bool,
}

/// keepalived's `track_file`: a file holding a number (read whenever it changes; a
/// missing or empty file reads 0). With `weight` 0 a non-zero number puts the instances
/// tracking it in FAULT; else number × weight is added to their priority, FAULT below
/// -253.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackFile {
    #[serde(skip)]
    pub name: String,
    /// Absolute path.
    pub file: std::path::PathBuf,
    /// Default 1 (keepalived's).
    pub weight: i32,
    pub reverse: bool,
    /// keepalived's `init_file VALUE`: written at start when the file is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_file: Option<i64>,
    /// keepalived's `init_file VALUE overwrite`: written at start even over a file.
    pub init_overwrite: bool,
}

impl TrackFile {
    fn decode_named(name: String, node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let file = m.get::<String>(cx, "file").check(cx, |f| {
            if f.starts_with('/') {
                Ok(())
            } else {
                Err(format!("`{f}` is not an absolute path"))
            }
        });
        let file = m.required(cx, file);
        let weight = m
            .int::<i32>(cx, "weight", -2_147_483_647, 2_147_483_647)
            .or(1);
        let reverse = m.get::<bool>(cx, "reverse").or(false);
        let init_file = m
            .int::<i64>(cx, "init_file", -2_147_483_648, 2_147_483_648)
            .opt();
        let init_overwrite = m.get::<bool>(cx, "init_overwrite").or(false);
        m.finish(cx);
        let init_file = init_file?;
        let init_overwrite = init_overwrite?;
        if init_overwrite && init_file.is_none() {
            cx.error(
                node.mark,
                format!(
                    "track_files.{name}: `init_overwrite` needs `init_file` (the value to write)"
                ),
            );
            return None;
        }
        Some(TrackFile {
            name,
            file: std::path::PathBuf::from(file?),
            weight: weight?,
            reverse: reverse?,
            init_file,
            init_overwrite,
        })
    }
}

/// The longest process name the kernel keeps (`TASK_COMM_LEN` - 1).
pub const COMM_MAX: usize = 15;

impl TrackProcess {
    /// Whether the command line is read (else only the process name).
    pub fn uses_cmdline(&self) -> bool {
        self.full_command || !self.args.is_empty() || self.param_match.is_some()
    }

    /// The quorum as text: `1`, `1..3`, `2 or more`.
    pub fn quorum_text(&self) -> String {
        match self.quorum_max {
            Some(max) if max == self.quorum => format!("{max}"),
            Some(max) => format!("{}..{max}", self.quorum),
            None => format!("{} or more", self.quorum),
        }
    }

    fn decode_named(name: String, node: &Node, cx: &mut Ctx) -> Option<Self> {
        let mut m = MapReader::new(node, cx)?;
        let process = m.req::<String>(cx, "process");
        let args = m.get::<Vec<String>>(cx, "args").or_else(Vec::new);
        let param_match = m.get::<ParamMatch>(cx, "param_match").opt();
        let full_command = m.get::<bool>(cx, "full_command").or(false);
        let quorum = m.int::<u32>(cx, "quorum", 1, 65535).opt();
        let quorum_max = m.int::<u32>(cx, "quorum_max", 0, 65535).opt();
        let delay_check = |d: &Dur| {
            if d.0 > std::time::Duration::from_secs(3600) {
                Err(format!("{d} is too long: at most 3600s (as keepalived)"))
            } else {
                Ok(())
            }
        };
        let delay = m.get::<Dur>(cx, "delay").check(cx, delay_check).opt();
        let fork_delay = m.get::<Dur>(cx, "fork_delay").check(cx, delay_check).opt();
        let terminate_delay = m
            .get::<Dur>(cx, "terminate_delay")
            .check(cx, delay_check)
            .opt();
        let interval = m
            .get::<Dur>(cx, "interval")
            .check(cx, |d| {
                if d.0 < std::time::Duration::from_millis(100) {
                    Err(format!(
                        "{d} is too short: at least 100ms (every interval reads /proc)"
                    ))
                } else {
                    Ok(())
                }
            })
            .or(Dur::secs(1));
        let weight = m.int::<i32>(cx, "weight", -253, 253).or(0);
        let reverse = m.get::<bool>(cx, "reverse").or(false);
        m.finish(cx);
        let (delay, quorum_max) = (delay?, quorum_max?);
        Some(TrackProcess {
            name,
            process: process?,
            args: args?,
            param_match: param_match?,
            full_command: full_command?,
            // keepalived: `quorum_max 0` alone means "up while none runs".
            quorum: quorum?.unwrap_or(if quorum_max == Some(0) { 0 } else { 1 }),
            quorum_max,
            fork_delay: fork_delay?.or(delay).unwrap_or(Dur::ZERO),
            terminate_delay: terminate_delay?.or(delay).unwrap_or(Dur::ZERO),
            interval: interval?,
            weight: weight?,
            reverse: reverse?,
        })
    }
}
