//! The local admin socket: a Unix socket taking one text command per connection, in
//! haproxy's runtime-API words (`show stat`, `set server L/S state drain`, ...). Only
//! local users with access to the socket file (mode 0660) can use it.

use std::borrow::Cow;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

use crate::balancer::BalancerAdmin;
use crate::balancer::server::Admin;

/// What admin commands can reach; the daemon swaps subsystems in and out.
#[derive(Clone, Default)]
pub struct Targets {
    pub balancer: Arc<RwLock<Option<BalancerAdmin>>>,
    pub vrrp: Arc<RwLock<Option<crate::vrrp::VrrpAdmin>>>,
    pub router: Arc<RwLock<Option<Arc<crate::router::Shared>>>>,
    /// The config's `node` (`show info`'s node).
    pub node: Arc<RwLock<String>>,
    /// The daemon's reload requests (`tandem config reload|rollback`).
    pub reload: Option<tokio::sync::mpsc::Sender<crate::router::ReloadRequest>>,
}

/// Admin socket connections open now.
static OPEN_CONNECTIONS: AtomicU32 = AtomicU32::new(0);

/// Counts an admin connection while it is open.
struct OpenConnection;

impl OpenConnection {
    fn new() -> OpenConnection {
        OPEN_CONNECTIONS.fetch_add(1, Ordering::Relaxed);
        OpenConnection
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        OPEN_CONNECTIONS.fetch_sub(1, Ordering::Relaxed);
    }
}

pub const HELP: &str = "\
commands (haproxy's runtime-API words; replies as haproxy 2.6 writes them):
  help
  show stat [<listener>|<iid> <type> <sid>] [typed|json] [desc] [up|no-maint]
                                              haproxy-style CSV of listeners and servers
  show servers state [listener]               haproxy's server-state lines
  show servers conn [listener]                haproxy's server connection lines
  show servers                                one line per server (tandem)
  set server <listener>/<server> state ready|drain|maint
  set server <listener>/<server> weight <0-256>|<N>%   (also: set weight L/S ...)
  set server <listener>/<server> addr <ip> [port <port>]
                                              new connections and checks go there
                                              until the next reload changes its address
  get weight <listener>/<server>              current weight (initial configured one)
  show info [typed|json] [desc]               haproxy's process information fields
  show schema json                            the JSON schema of show info/stat json
  show table [listener]                       stick table entries (key, server, idle, expiry)
  clear table <listener> [key <ip>]           forget one or every stick table entry
  disable server <listener>/<server>          = state maint
  enable server <listener>/<server>           = state ready
  disable health <listener>/<server>          stop its health check (it keeps its state)
  enable health <listener>/<server>           resume its health check
  disable agent <listener>/<server>           stop its agent check (it no longer holds
                                              the server down)
  enable agent <listener>/<server>            resume its agent check
  set server <listener>/<server> health up|stopping|down
                                              what its health check would say, now
                                              (stopping: NOLB, no new connections from
                                              the balancing until a check passes)
  set server <listener>/<server> agent up|down
                                              what its agent would say, now
  set server <listener>/<server> agent-addr <ip> [port <port>]
  set server <listener>/<server> agent-port <port>
  set server <listener>/<server> agent-send <text>
                                              where its agent check goes, what it writes
  set server <listener>/<server> check-addr <ip> [port <port>]
  set server <listener>/<server> check-port <port>
                                              where its health check goes (port 0: the
                                              configured one)
  shutdown sessions server <listener>/<server>  close its sessions now (logged KD)
  show sess [<id>|all]                        the sessions now, one line each (client,
                                              listener, server, age, bytes); the
                                              detail of one, or of all
  shutdown session <id>                       close one session now (logged KD)
  disable frontend <listener>                 stop listening: new connections are
                                              refused, open sessions go on
  enable frontend <listener>                  listen again
  shutdown frontend <listener>                stop listening until the next reload
                                              (enable/disable frontend refused)
  set maxconn frontend <listener> <n>         the listener's maxconn until the next
                                              reload (0: accept nothing for now)
  set maxconn server <listener>/<server> <n>  the server's maxconn until the next
                                              reload (0: no limit)
  set rate-limit connections|sessions global <n>
                                              the balancer's maxconnrate / maxsessrate
                                              until the next reload (0: no limit)
  set maxconn global <n>                      the balancer's maxconn until the next
                                              reload (at most the configured one;
                                              0: back to it)
  clear counters [all]                        reset the maxima (all: every show stat counter)
  show backend                                the listeners' names
  show version                                tandem's version
  show env [name]                             the daemon's environment
  vrrp resign [instance]                      planned switchover: FAULT until resumed (a
                                              master hands its VIPs over with priority 0)
  vrrp resume [instance]                      back to normal elections
  router offline                              MyCat's `offline`: pings on the SQL port
                                              fail, /health/router answers 404 (checks
                                              with disable_on_404 drain the router),
                                              track_router is down; sessions go on
  router online                               back in service
  config reload                               re-read the config file, as SIGHUP; says
                                              the new generation or the errors
  config rollback                             run again the config from before the last
                                              reload (once per reload; the file is not
                                              changed)
";

// haproxy 2.6.12's refusals, byte for byte (some end without a newline, as there).
pub const REQUIRE_TARGET: &str = "Require 'backend/server'.\n";
pub const NO_BACKEND: &str = "No such backend.\n";
pub const NO_SERVER: &str = "No such server.\n";
pub const NO_BACKEND_FOUND: &str = "Can't find backend.\n";
pub const NO_TABLE: &str = "No such table\n";
pub const STATIC_WEIGHT: &str =
    "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n";
const BAD_STATE: &str = "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n";
const SET_SERVER_USAGE: &str = "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n";
const CLEAR_TABLE_USAGE: &str = "Required arguments: <table> \"data.<store_data_type>\" <operator> <value> or <table> key <key>\n";
const RATE_LIMIT_USAGE: &str = "'set rate-limit' only supports :\n   - 'connections global' to set the per-process maximum connection rate\n   - 'sessions global' to set the per-process maximum session rate\n   - 'ssl-sessions global' to set the per-process maximum SSL session rate\n   - 'http-compression global' to set the per-process maximum compression speed in kB/s\n";
const UNKNOWN: &str = "Unknown command, but maybe one of the following ones is a better match:\n";

/// The first word tandem's own CLI puts before a command: the reply is then tandem's
/// (a message saying what changed, `error: ...` on a refusal) instead of haproxy's.
pub const TANDEM_PREFIX: &str = "tandem";

/// A refused command: what haproxy answers, and tandem's own explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub haproxy: Cow<'static, str>,
    pub tandem: String,
}

impl Refusal {
    pub fn new(haproxy: impl Into<Cow<'static, str>>, tandem: impl Into<String>) -> Refusal {
        Refusal {
            haproxy: haproxy.into(),
            tandem: tandem.into(),
        }
    }

    pub fn internal() -> Refusal {
        Refusal::new("Internal error.\n", "internal error")
    }

    /// A tandem-only command's refusal: its own text in both dialects.
    fn own(tandem: String) -> Refusal {
        Refusal::new(format!("error: {tandem}\n"), tandem)
    }
}

/// A command's success.
enum Done {
    /// Output, the same for both dialects.
    Body(String),
    /// A change: haproxy answers nothing; tandem says what changed.
    Changed(String),
    /// Each dialect's own output.
    Dual { haproxy: String, tandem: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// haproxy's replies: the output (nothing for a change) and the empty line that ends
    /// every reply on haproxy's socket.
    Haproxy,
    /// tandem's CLI.
    Tandem,
}

/// Splits the tandem CLI's prefix off a command line.
pub fn dialect_of(line: &str) -> (Dialect, &str) {
    let t = line.trim();
    match t.split_once(char::is_whitespace) {
        Some((TANDEM_PREFIX, rest)) => (Dialect::Tandem, rest.trim()),
        _ if t == TANDEM_PREFIX => (Dialect::Tandem, ""),
        _ => (Dialect::Haproxy, t),
    }
}

/// Runs one command line (haproxy's dialect, or tandem's after [`TANDEM_PREFIX`]);
/// commands separated by `;` run in turn, their replies one after the other, as in
/// haproxy.
pub fn execute(targets: &Targets, line: &str) -> String {
    let (dialect, cmds) = dialect_of(line);
    cmds.split(';')
        .map(|cmd| render(dialect, run(targets, cmd.trim())))
        .collect()
}

/// Runs one command for another front end (the observe endpoint's stats page): its
/// output (haproxy's where the dialects differ), or tandem's words for a refusal.
pub fn run_one(targets: &Targets, cmd: &str) -> Result<String, String> {
    match run(targets, cmd.trim()) {
        Ok(Done::Body(b) | Done::Changed(b)) => Ok(b),
        Ok(Done::Dual { haproxy, .. }) => Ok(haproxy),
        Err(e) => Err(e.tandem),
    }
}

fn render(dialect: Dialect, r: Result<Done, Refusal>) -> String {
    let mut out = match (dialect, r) {
        (Dialect::Haproxy, Ok(Done::Body(b))) => b,
        (Dialect::Haproxy, Ok(Done::Changed(_))) => String::new(),
        (Dialect::Haproxy, Ok(Done::Dual { haproxy, .. })) => haproxy,
        (Dialect::Tandem, Ok(Done::Dual { tandem, .. })) => tandem,
        (Dialect::Haproxy, Err(e)) => e.haproxy.into_owned(),
        (Dialect::Tandem, Ok(Done::Body(b) | Done::Changed(b))) => b,
        (Dialect::Tandem, Err(e)) => format!("error: {}", e.tandem),
    };
    match dialect {
        Dialect::Haproxy => {
            // haproxy prints the output as is and ends the reply with an empty line.
            out.push('\n');
        }
        Dialect::Tandem => {
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

fn run(targets: &Targets, cmd: &str) -> Result<Done, Refusal> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let balancer = targets.balancer.read().ok().and_then(|b| b.clone());
    let no_balancer = || Refusal::new(NO_BACKEND, "the balancer is not configured");
    let b = || balancer.clone().ok_or_else(no_balancer);
    let arg = |rest: &[&str]| rest.first().copied().unwrap_or("").to_string();
    match words.as_slice() {
        [] | ["help", ..] => Ok(Done::Body(HELP.to_string())),
        ["vrrp", verb @ ("resign" | "resume"), rest @ ..] if rest.len() <= 1 => targets
            .vrrp
            .read()
            .ok()
            .and_then(|v| v.clone())
            .ok_or_else(|| "VRRP is not configured".to_string())
            .and_then(|v| v.resign(rest.first().copied(), *verb == "resign"))
            .map(Done::Body)
            .map_err(Refusal::own),
        ["router", verb @ ("offline" | "online")] => {
            let r = targets
                .router
                .read()
                .ok()
                .and_then(|r| r.clone())
                .ok_or_else(|| Refusal::own("the router is not configured".to_string()))?;
            let offline = *verb == "offline";
            let changed = r.set_offline(offline, "admin socket");
            Ok(Done::Body(match (offline, changed) {
                (true, true) => "router offline: pings fail, /health/router answers 404, track_router is down; sessions go on\n".to_string(),
                (true, false) => "router already offline\n".to_string(),
                (false, true) => "router online\n".to_string(),
                (false, false) => "router already online\n".to_string(),
            }))
        }
        ["show", "stat", args @ ..] => match &balancer {
            Some(b) => b.show_stat(args).map(Done::Body),
            // No listeners: the header (or an empty JSON array), as haproxy with no
            // proxies.
            None => crate::balancer::stats::parse_stat_args(args, &[])
                .map(|f| Done::Body(crate::balancer::stats::show_stat(&[], &f)))
                .map_err(|h| Refusal::new(h, h.trim_end().to_string())),
        },
        ["show", "servers", "state", rest @ ..] => match &balancer {
            Some(b) => b.show_servers_state(rest.first().copied()).map(Done::Body),
            None if rest.is_empty() => Ok(Done::Body(
                crate::balancer::stats::SERVERS_STATE_HEADER.to_string(),
            )),
            None => Err(Refusal::new(
                NO_BACKEND_FOUND,
                "the balancer is not configured",
            )),
        },
        ["show", "servers", "conn", rest @ ..] => b()
            .and_then(|b| b.show_servers_conn(rest.first().copied()))
            .map(Done::Body),
        ["show", "servers"] => b().map(|b| Done::Body(b.show_servers())),
        ["set", "server", t, "state", rest @ ..] => {
            let b = b()?;
            // haproxy looks the server up before it reads the state.
            b.locate(t)?;
            let state = match rest.first().copied() {
                Some("ready") => Admin::Ready,
                Some("drain") => Admin::Drain,
                Some("maint") => Admin::Maint,
                other => {
                    return Err(Refusal::new(
                        BAD_STATE,
                        format!(
                            "unknown state `{}`: ready, drain or maint",
                            other.unwrap_or("")
                        ),
                    ));
                }
            };
            b.set_state(t, state).map(Done::Changed)
        }
        ["set", "server", t, "addr", rest @ ..] => {
            b()?.set_server_addr(t, rest).map(|msg| Done::Dual {
                tandem: msg.trim_end().to_string(),
                haproxy: msg,
            })
        }
        ["set", "server", t, "weight", rest @ ..] | ["set", "weight", t, rest @ ..] => {
            b()?.set_weight(t, &arg(rest)).map(Done::Changed)
        }
        ["set", "server", t, "agent", rest @ ..] => b()?
            .set_server_agent(t, rest.first().copied().unwrap_or(""))
            .map(Done::Changed),
        ["set", "server", t, "health", rest @ ..] => b()?
            .set_server_health(t, rest.first().copied().unwrap_or(""))
            .map(Done::Changed),
        [
            "set",
            "server",
            t,
            what @ ("agent-addr" | "agent-port" | "check-addr" | "check-port"),
            rest @ ..,
        ] => b()?.set_check_target(t, what, rest).map(Done::Changed),
        ["set", "server", t, "agent-send", rest @ ..] => b()?
            .set_agent_send(t, rest.first().copied().unwrap_or(""))
            .map(Done::Changed),
        ["set", "server", rest @ ..] => {
            let b = b()?;
            b.locate(&arg(rest))?;
            Err(Refusal::new(
                SET_SERVER_USAGE,
                match rest.get(1) {
                    Some(what) => format!(
                        "`set server <listener>/<server> {what}` is not supported: state, weight, addr, health, agent, agent-addr, agent-port, agent-send, check-addr or check-port"
                    ),
                    None => "give what to set: state, weight, addr, health, agent, agent-addr, agent-port, agent-send, check-addr or check-port".to_string(),
                },
            ))
        }
        ["set", "weight", rest @ ..] => b()?.set_weight(&arg(rest), "").map(Done::Changed),
        ["get", "weight", rest @ ..] => b()?.get_weight(&arg(rest)).map(Done::Body),
        // The last format word wins, as in haproxy.
        ["show", "info", rest @ ..] => {
            let ctx = crate::balancer::InfoCtx {
                node: targets.node.read().map(|n| n.clone()).unwrap_or_default(),
                admin_connections: OPEN_CONNECTIONS.load(Ordering::Relaxed),
            };
            b().map(|b| Done::Body(b.show_info(rest, &ctx)))
        }
        ["show", "schema", "json", ..] => {
            Ok(Done::Body(crate::balancer::stats::STATS_SCHEMA.to_string()))
        }
        ["show", "table", rest @ ..] if rest.len() <= 1 => {
            let b = b()?;
            let l = rest.first().copied();
            Ok(Done::Dual {
                haproxy: b.show_table(l, true)?,
                tandem: b.show_table(l, false)?,
            })
        }
        ["show", "table", _, ..] => Err(Refusal::new(
            "Optional argument only supports \"data.<store_data_type>\" <operator> <value> and key <key>\n",
            "give at most the listener: show table [listener]",
        )),
        ["clear", "table"] => Err(Refusal::new(
            CLEAR_TABLE_USAGE,
            "give the listener: clear table <listener> [key <ip>]",
        )),
        ["clear", "table", l] => b()?.clear_table(l, None).map(Done::Changed),
        ["clear", "table", _, "key"] => Err(Refusal::new(
            "Key value expected\n",
            "give the key: clear table <listener> key <ip>",
        )),
        ["clear", "table", l, "key", k, ..] => match k.parse() {
            Ok(ip) => b()?.clear_table(l, Some(ip)).map(Done::Changed),
            // haproxy clears nothing and says nothing for a key it cannot read.
            Err(_) => Err(Refusal::new("", format!("`{k}` is not an IP address"))),
        },
        ["show", "backend", ..] => Ok(Done::Body(match &balancer {
            Some(b) => b.show_backend(),
            None => "# name\n".to_string(),
        })),
        ["show", "version", ..] => Ok(Done::Body(format!(
            "{}\n",
            crate::observe::metrics::VERSION
        ))),
        ["show", "env"] => Ok(Done::Body(
            std::env::vars_os()
                .map(|(k, v)| format!("{}={}\n", k.to_string_lossy(), v.to_string_lossy()))
                .collect(),
        )),
        ["show", "env", name, ..] => match std::env::var_os(name) {
            Some(v) => Ok(Done::Body(format!("{name}={}\n", v.to_string_lossy()))),
            None => Err(Refusal::new(
                "Variable not found\n",
                format!("no environment variable `{name}`"),
            )),
        },
        ["clear", "counters", rest @ ..] => b()
            .map(|b| b.clear_counters(rest.first() == Some(&"all")))
            .map(Done::Changed),
        ["disable", "health", rest @ ..] => {
            b()?.set_health_check(&arg(rest), false).map(Done::Changed)
        }
        ["enable", "health", rest @ ..] => {
            b()?.set_health_check(&arg(rest), true).map(Done::Changed)
        }
        ["disable", "agent", rest @ ..] => b()?.set_agent(&arg(rest), false).map(Done::Changed),
        ["enable", "agent", rest @ ..] => b()?.set_agent(&arg(rest), true).map(Done::Changed),
        ["show", "sess", rest @ ..] => Ok(Done::Body(match &balancer {
            Some(b) => b.show_sess(rest.first().copied()),
            None => String::new(),
        })),
        ["shutdown", "session", rest @ ..] => match &balancer {
            Some(b) => b.shutdown_session(&arg(rest)).map(Done::Changed),
            None => Err(Refusal::new(
                "No such session (use 'show sess').\n",
                "the balancer is not configured",
            )),
        },
        ["set", "maxconn", "frontend", rest @ ..] => b()?
            .set_maxconn_frontend(&arg(rest), rest.get(1).copied().unwrap_or(""))
            .map(Done::Changed),
        ["set", "maxconn", "server", rest @ ..] => b()?
            .set_maxconn_server(&arg(rest), rest.get(1).copied().unwrap_or(""))
            .map(Done::Changed),
        [
            "set",
            "rate-limit",
            what @ ("connections" | "sessions"),
            "global",
            rest @ ..,
        ] => b()?.set_rate_limit(what, &arg(rest)).map(Done::Changed),
        [
            "set",
            "rate-limit",
            what @ ("ssl-sessions" | "http-compression"),
            "global",
            ..,
        ] => Err(Refusal::new(
            RATE_LIMIT_USAGE,
            format!(
                "tandem's balancer has no {}",
                if *what == "ssl-sessions" {
                    "TLS"
                } else {
                    "HTTP compression"
                }
            ),
        )),
        ["set", "rate-limit", ..] => Err(Refusal::new(
            RATE_LIMIT_USAGE,
            "set rate-limit connections|sessions global <n>",
        )),
        ["set", "maxconn", "global", rest @ ..] => {
            b()?.set_maxconn_global(&arg(rest)).map(Done::Changed)
        }
        [verb @ ("disable" | "enable"), "frontend", rest @ ..] => b()?
            .set_frontend(&arg(rest), *verb == "enable")
            .map(|(changed, msg)| {
                if changed {
                    Done::Changed(msg)
                } else {
                    Done::Body(msg)
                }
            }),
        ["shutdown", "frontend", rest @ ..] => {
            b()?.shutdown_frontend(&arg(rest)).map(|(changed, msg)| {
                if changed {
                    Done::Changed(msg)
                } else {
                    Done::Body(msg)
                }
            })
        }
        ["shutdown", "sessions", "server", rest @ ..] => {
            b()?.shutdown_sessions(&arg(rest)).map(Done::Changed)
        }
        ["disable", "server", rest @ ..] => {
            b()?.set_state(&arg(rest), Admin::Maint).map(Done::Changed)
        }
        ["enable", "server", rest @ ..] => {
            b()?.set_state(&arg(rest), Admin::Ready).map(Done::Changed)
        }
        _ => Err(Refusal::new(
            format!(
                "{UNKNOWN}{}",
                HELP.lines()
                    .skip(1)
                    .map(|l| format!("{l}\n"))
                    .collect::<String>()
            ),
            format!("unknown command `{cmd}`; try `help`"),
        )),
    }
}

/// The longest command line the socket reads.
const MAX_COMMAND: u64 = 4096;

pub struct AdminSocket {
    path: PathBuf,
    task: JoinHandle<()>,
}

impl AdminSocket {
    /// Binds the socket. A stale socket file is replaced; one that a running daemon
    /// answers on is left alone (error).
    pub async fn start(path: &Path, targets: Targets) -> Result<AdminSocket, String> {
        if let Some(dir) = path.parent()
            && !dir.exists()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        // Only a socket that nothing listens on (connection refused) is stale and
        // replaced; anything else at the path (a regular file, a socket we may not
        // connect to, a busy daemon) is left alone.
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            use std::os::unix::fs::FileTypeExt;
            if !meta.file_type().is_socket() {
                return Err(format!(
                    "{} exists and is not a socket; not replacing it (check admin.socket)",
                    path.display()
                ));
            }
            match UnixStream::connect(path).await {
                Ok(_) => {
                    return Err(format!(
                        "{} is in use by another running tandem",
                        path.display()
                    ));
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    let _ = std::fs::remove_file(path);
                }
                Err(e) => {
                    return Err(format!(
                        "{} exists and cannot be checked for a running tandem ({e}); not replacing it",
                        path.display()
                    ));
                }
            }
        }
        let listener =
            UnixListener::bind(path).map_err(|e| format!("cannot bind {}: {e}", path.display()))?;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let targets = targets.clone();
                tokio::spawn(async move {
                    let _open = OpenConnection::new();
                    let (r, mut w) = stream.into_split();
                    let mut reader = BufReader::new(r);
                    // haproxy's `prompt`: commands one after the other on the same
                    // connection, each reply followed by `> `, until `quit`, EOF or 10s
                    // of silence. Without it, the lines that came together (`printf
                    // 'a\nb\n' | socat ...`) are answered in turn, then it closes.
                    let mut interactive = false;
                    loop {
                        let mut line = String::new();
                        // One command line, bounded: a client that sends no newline cannot
                        // make the daemon buffer without end.
                        let read = tokio::time::timeout(
                            Duration::from_secs(10),
                            (&mut reader).take(MAX_COMMAND).read_line(&mut line),
                        )
                        .await;
                        if !matches!(read, Ok(Ok(n)) if n > 0) {
                            break;
                        }
                        if !line.ends_with('\n') && line.len() as u64 >= MAX_COMMAND {
                            let _ = w
                                .write_all(
                                    format!("error: command longer than {MAX_COMMAND} bytes\n")
                                        .as_bytes(),
                                )
                                .await;
                            break;
                        }
                        let (dialect, words) = dialect_of(&line);
                        let words = words.split_whitespace().collect::<Vec<_>>().join(" ");
                        let reply = match (line.trim(), dialect, words.as_str()) {
                            ("quit", ..) => break,
                            ("prompt", ..) => {
                                interactive = !interactive;
                                "\n".to_string()
                            }
                            (_, Dialect::Tandem, verb @ ("config reload" | "config rollback")) => {
                                config_command(&targets, verb == "config rollback").await
                            }
                            _ => execute(&targets, &line),
                        };
                        let cmd = dialect_of(&line).1.to_string();
                        if cmd.starts_with("set ")
                            || cmd.starts_with("vrrp ")
                            || cmd.starts_with("enable ")
                            || cmd.starts_with("disable ")
                            || cmd.starts_with("clear ")
                            || cmd.starts_with("shutdown ")
                            || cmd.starts_with("config ")
                        {
                            tracing::info!(command = %cmd, "admin: {cmd}");
                        }
                        let prompt = if interactive { "> " } else { "" };
                        if w.write_all(format!("{reply}{prompt}").as_bytes())
                            .await
                            .is_err()
                            || (!interactive && reader.buffer().is_empty())
                        {
                            break;
                        }
                    }
                    let _ = w.shutdown().await;
                });
            }
        });
        tracing::info!(socket = %path.display(), "admin socket on {}", path.display());
        Ok(AdminSocket {
            path: path.to_path_buf(),
            task,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn stop(self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Sends one command to a daemon's admin socket and returns its reply in tandem's
/// dialect (for the CLI).
/// How long `tandem config reload|rollback` waits for the daemon (a reload may wait on
/// name resolution).
pub const CONFIG_COMMAND_LIMIT: Duration = Duration::from_secs(70);

/// `tandem config reload` / `rollback`: asks the daemon's main loop and waits for it.
async fn config_command(targets: &Targets, rollback: bool) -> String {
    use crate::router::ReloadKind;
    let Some(tx) = &targets.reload else {
        return "error: reloads are not taken here\n".into();
    };
    let kind = if rollback {
        ReloadKind::Rollback
    } else {
        ReloadKind::File
    };
    let (otx, orx) = tokio::sync::oneshot::channel();
    if let Err(e) = tx.try_send((kind, otx)) {
        return match e {
            tokio::sync::mpsc::error::TrySendError::Full(_) => {
                "error: the daemon is busy with other reloads; try again\n".into()
            }
            tokio::sync::mpsc::error::TrySendError::Closed(_) => {
                "error: the daemon is not taking reloads\n".into()
            }
        };
    }
    match tokio::time::timeout(CONFIG_COMMAND_LIMIT - Duration::from_secs(5), orx).await {
        Ok(Ok(Ok(g))) if rollback => {
            format!(
                "config rolled back: now running generation {g} (the config from before the last reload)\n"
            )
        }
        Ok(Ok(Ok(g))) => format!("config reloaded: now running generation {g}\n"),
        Ok(Ok(Err(e))) if rollback => format!("error: rollback refused: {e}\n"),
        Ok(Ok(Err(e))) => format!("error: reload refused: {e}\n"),
        _ => "error: the reload did not finish in time; see the daemon log\n".into(),
    }
}

/// Sends one command (tandem's dialect) to the admin socket at `path`; waits up to 10 s.
pub async fn send(path: &Path, command: &str) -> Result<String, String> {
    send_within(path, command, Duration::from_secs(10)).await
}

/// [`send`], waiting up to `limit`.
pub async fn send_within(path: &Path, command: &str, limit: Duration) -> Result<String, String> {
    let work = async {
        let mut s = UnixStream::connect(path)
            .await
            .map_err(|e| format!("cannot reach the daemon at {}: {e}", path.display()))?;
        s.write_all(format!("{TANDEM_PREFIX} {command}\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut out = String::new();
        s.read_to_string(&mut out)
            .await
            .map_err(|e| e.to_string())?;
        Ok(out)
    };
    tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
        Err(format!(
            "no answer from {} within {}s: a process accepted the connection but did not reply (is the daemon hung or overloaded?)",
            path.display(),
            limit.as_secs()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_and_schema_without_a_balancer_read_as_haproxy_with_no_proxy() {
        let t = Targets::default();
        assert_eq!(execute(&t, "show stat json"), "[]\n\n");
        assert_eq!(execute(&t, "show stat typed"), "\n");
        assert!(execute(&t, "show stat").starts_with("# pxname,svname,"));
        let schema = execute(&t, "show schema json");
        assert!(schema.ends_with("}\n\n"), "{schema}");
        assert!(serde_json::from_str::<serde_json::Value>(&schema).is_ok());
    }
}
