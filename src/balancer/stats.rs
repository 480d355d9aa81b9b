//! `show stat` (haproxy 2.6's CSV, with the columns that apply to a TCP listener filled)
//! and the `/status` view of listeners.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use serde_json::{Value, json};

use super::check::Health;
use super::listener::Shared;
use super::server::{Admin, ServerState};
use crate::config::balancer::CheckType;

/// haproxy 2.6's column order.
pub const COLUMNS: &[&str] = &[
    "pxname",
    "svname",
    "qcur",
    "qmax",
    "scur",
    "smax",
    "slim",
    "stot",
    "bin",
    "bout",
    "dreq",
    "dresp",
    "ereq",
    "econ",
    "eresp",
    "wretr",
    "wredis",
    "status",
    "weight",
    "act",
    "bck",
    "chkfail",
    "chkdown",
    "lastchg",
    "downtime",
    "qlimit",
    "pid",
    "iid",
    "sid",
    "throttle",
    "lbtot",
    "tracked",
    "type",
    "rate",
    "rate_lim",
    "rate_max",
    "check_status",
    "check_code",
    "check_duration",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "hanafail",
    "req_rate",
    "req_rate_max",
    "req_tot",
    "cli_abrt",
    "srv_abrt",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
    "lastsess",
    "last_chk",
    "last_agt",
    "qtime",
    "ctime",
    "rtime",
    "ttime",
    "agent_status",
    "agent_code",
    "agent_duration",
    "check_desc",
    "agent_desc",
    "check_rise",
    "check_fall",
    "check_health",
    "agent_rise",
    "agent_fall",
    "agent_health",
    "addr",
    "cookie",
    "mode",
    "algo",
    "conn_rate",
    "conn_rate_max",
    "conn_tot",
    "intercepted",
    "dcon",
    "dses",
    "wrew",
    "connect",
    "reuse",
    "cache_lookups",
    "cache_hits",
    "srv_icur",
    "src_ilim",
    "qtime_max",
    "ctime_max",
    "rtime_max",
    "ttime_max",
    "eint",
    "idle_conn_cur",
    "safe_conn_cur",
    "used_conn_cur",
    "need_conn_est",
    "uweight",
    "agg_server_status",
    "agg_server_check_status",
    "agg_check_status",
    // The stats modules' columns follow a `-` column in haproxy 2.6.12; TCP listeners
    // have no SSL, HTTP/2 or HTTP/1 traffic here, so they read 0.
    "-",
    "ssl_sess",
    "ssl_reused_sess",
    "ssl_failed_handshake",
    "h2_headers_rcvd",
    "h2_data_rcvd",
    "h2_settings_rcvd",
    "h2_rst_stream_rcvd",
    "h2_goaway_rcvd",
    "h2_detected_conn_protocol_errors",
    "h2_detected_strm_protocol_errors",
    "h2_rst_stream_resp",
    "h2_goaway_resp",
    "h2_open_connections",
    "h2_backend_open_streams",
    "h2_total_connections",
    "h2_backend_total_streams",
    "h1_open_connections",
    "h1_open_streams",
    "h1_total_connections",
    "h1_total_streams",
    "h1_bytes_in",
    "h1_bytes_out",
    "h1_spliced_bytes_in",
    "h1_spliced_bytes_out",
];

/// The stats modules' columns haproxy fills on a server row (the SSL ones); proxy rows
/// (FRONTEND, BACKEND) fill them all.
const SERVER_MODULE_COLUMNS: &[&str] = &["ssl_sess", "ssl_reused_sess", "ssl_failed_handshake"];

/// Fills the `-` separator and the modules' counters (0) as haproxy 2.6.12 does.
fn modules(r: &mut Row, server: bool) {
    r.set("-", "-");
    let first = COLUMNS
        .iter()
        .position(|c| *c == "-")
        .map_or(COLUMNS.len(), |i| i + 1);
    for c in &COLUMNS[first..] {
        if !server || SERVER_MODULE_COLUMNS.contains(c) {
            r.set(c, 0);
        }
    }
}

/// The session time columns (ms; `rtime`, the time to a response, is an HTTP one: 0
/// on TCP as in haproxy) and `lastsess`.
fn set_times(r: &mut Row, t: &super::server::TimeStats) {
    let [q, c, tt] = t.averages();
    for (col, v) in [
        ("qtime", q),
        ("ctime", c),
        ("rtime", 0),
        ("ttime", tt),
        ("qtime_max", t.max[0]),
        ("ctime_max", t.max[1]),
        ("rtime_max", 0),
        ("ttime_max", t.max[2]),
    ] {
        r.set(col, v);
    }
    r.set("lastsess", t.last_session_secs());
}

/// Sets `cols` to 0.
fn zero(r: &mut Row, cols: &[&str]) {
    for c in cols {
        r.set(c, 0);
    }
}

/// `last_chk`: what the last check saw, in haproxy's words where they are known (a
/// passed TCP check says nothing, a refused one `Connection refused`), else tandem's.
fn last_chk(last: &str) -> &str {
    match last {
        "succeeded" | "conditionally succeeded" => "",
        "connection refused" => "Connection refused",
        other => other,
    }
}

/// haproxy's `check_desc` for a `check_status` code.
fn check_desc(status: &str) -> &'static str {
    match status {
        "INI" => "Initializing",
        "L4OK" => "Layer4 check passed",
        "L7OK" => "Layer7 check passed",
        "L7OKC" => "Layer7 check conditionally passed",
        "L4TOUT" => "Layer4 timeout",
        "L4CON" => "Layer4 connection problem",
        "L7STS" => "Layer7 wrong status",
        "L7RSP" => "Layer7 invalid response",
        "HANA" => "Health analyze",
        _ => "",
    }
}

/// One `show stat` row: each column's value, `None` where haproxy leaves the field out
/// (an empty CSV column, no `typed` line, no JSON object).
struct Row(Vec<Option<String>>);

impl Row {
    fn new() -> Row {
        Row(vec![None; COLUMNS.len()])
    }

    /// Sets a column; an empty text leaves it out.
    fn set(&mut self, col: &str, v: impl ToString) {
        let v = v.to_string();
        self.put(col, (!v.is_empty()).then_some(v));
    }

    /// Sets a text column that haproxy shows even when empty (a passed check's
    /// `last_chk`: `:str:` in `typed`, `""` in JSON).
    fn set_str(&mut self, col: &str, v: &str) {
        self.put(col, Some(v.to_string()));
    }

    fn put(&mut self, col: &str, v: Option<String>) {
        if let Some(i) = COLUMNS.iter().position(|c| *c == col) {
            self.0[i] = v;
        }
    }

    fn line(&self) -> String {
        let mut s = String::new();
        for f in &self.0 {
            s.push_str(&csv_field(f.as_deref().unwrap_or("")));
            s.push(',');
        }
        s
    }
}

/// One CSV field as haproxy writes it: quoted (inner quotes doubled) when it holds a
/// comma, a quote or a line break, so a check's reason ("HTTP status 503, expected
/// 200") stays one column. A line break becomes a space: one row per line.
fn csv_field(f: &str) -> std::borrow::Cow<'_, str> {
    if !f.contains([',', '"', '\r', '\n']) {
        return std::borrow::Cow::Borrowed(f);
    }
    let mut q = String::with_capacity(f.len() + 2);
    q.push('"');
    for c in f.chars() {
        match c {
            '"' => q.push_str("\"\""),
            '\r' | '\n' => q.push(' '),
            c => q.push(c),
        }
    }
    q.push('"');
    std::borrow::Cow::Owned(q)
}

/// haproxy's process number (`pid` column, `processNum`): tandem is one process, as a
/// haproxy 2.x without `nbproc`.
const PROCESS_NUM: u32 = 1;

fn secs_since(t: Option<SystemTime>) -> String {
    t.and_then(|t| SystemTime::now().duration_since(t).ok())
        .map(|d| d.as_secs().to_string())
        .unwrap_or_default()
}

/// A server's status word: `UP`, `DOWN`, `MAINT`, `DRAIN`, `NOLB`, `no check`, and
/// with an agent check `DOWN (agent)` (its agent holds it down) and `DRAIN (agent)`, as
/// haproxy shows them (`/status`, `tandem status`, `show servers`).
pub fn server_status(s: &ServerState, checked: bool) -> &'static str {
    let agent = s.agent_info();
    match s.admin() {
        Admin::Maint => "MAINT",
        _ if s.is_up() && s.stopping() => "NOLB",
        Admin::Drain if s.is_up() && agent.enabled => "DRAIN (agent)",
        Admin::Drain if s.is_up() => "DRAIN",
        _ if s.is_up() && !checked => "no check",
        _ if s.is_up() => "UP",
        _ if agent.enabled && agent.health == 0 => "DOWN (agent)",
        _ => "DOWN",
    }
}

/// The end of a tracking server's chain (haproxy's `ref`: the checked one); `None` for
/// a server that tracks none.
pub fn chain_end(s: &ServerState) -> Option<Arc<ServerState>> {
    let (_, mut r) = s.tracked()?;
    // Config checks refuse loops; the bound is for safety only.
    for _ in 0..64 {
        match r.tracked() {
            Some((_, n)) => r = n,
            None => break,
        }
    }
    Some(r)
}

/// Whether a server's status reads as checked (`UP` rather than `no check`): its own
/// check, or for a tracking server the check at the end of its chain.
pub fn shows_checked(cfg: &crate::config::balancer::Listener, s: &ServerState) -> bool {
    match chain_end(s) {
        Some(r) => {
            r.check.lock().map(|c| c.health.is_some()).unwrap_or(false)
                && r.check_enabled.load(Ordering::Relaxed)
        }
        None => cfg.check.is_some() && s.with_cfg(|c| c.check && c.track.is_none()),
    }
}

/// The status `show stat` shows, as haproxy: the status word, and while a check is
/// moving the server, `UP 2/3` (up, 2 more failures of `fall` take it down), `DOWN 1/2`
/// (1 success of `rise` so far), `DRAIN 1/3`.
fn stat_status(s: &ServerState, checked: bool, health: Option<Health>) -> String {
    let word = server_status(s, checked);
    match health.filter(|_| checked && matches!(word, "UP" | "DOWN" | "DRAIN" | "NOLB")) {
        Some(h) => match h.transition() {
            Some((n, of)) => format!("{word} {n}/{of}"),
            None => word.to_string(),
        },
        None => word.to_string(),
    }
}

/// haproxy's check_status code for a check result text; `kind`: the server's check
/// (`None`: not checked). A passed check is `L4OK` for a `tcp` check and `L7OK` for the
/// ones that read an answer (`http`, `mysql`), as haproxy reports them.
fn check_status(last: Option<&str>, kind: Option<CheckType>) -> &'static str {
    let Some(kind) = kind else {
        return "";
    };
    match last {
        None => "INI",
        Some("succeeded") if kind == CheckType::Tcp => "L4OK",
        Some("succeeded") => "L7OK",
        // `disable_on_404` (only `http` checks have it).
        Some("conditionally succeeded") => "L7OKC",
        Some(t) if t.starts_with("timeout") => "L4TOUT",
        Some(t) if t.starts_with("connection refused") || t.starts_with("connection reset") => {
            "L4CON"
        }
        Some(t) if t.starts_with("HTTP status") || t.starts_with("MySQL error") => "L7STS",
        // `observe: layer4` reaching `error_limit` (haproxy's "Health analyze").
        Some(t) if t.starts_with("Detected ") && t.contains(" consecutive errors") => "HANA",
        Some(_) => "L7RSP",
    }
}

/// The `iid` (haproxy's proxy id) of the first listener. haproxy numbers its proxies
/// from 1 and gives 1 to the stats socket's own internal proxy, so with an admin socket
/// (the only way to ask) its first `listen` section is 2; tandem numbers the same, so
/// `show stat 2 -1 -1` scripts and `be_id`s read alike.
pub const FIRST_IID: usize = 2;

/// `show stat`'s object types (haproxy's `type` filter bits).
pub const TYPE_FE: u32 = 1;
pub const TYPE_BE: u32 = 2;
pub const TYPE_SV: u32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Frontend,
    Backend,
    Server,
}

/// What `show stat [<iid>|<proxy> <type> <sid>] [typed|json] [up|no-maint]` keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatFilter {
    /// Only this proxy (`None`: all, haproxy's -1).
    pub iid: Option<usize>,
    /// Object types, a mask of `TYPE_*`.
    pub types: u32,
    /// Only this server id (`None`: all); FRONTEND and BACKEND rows stay.
    pub sid: Option<usize>,
    pub typed: bool,
    /// `json`: haproxy's JSON array of field objects.
    pub json: bool,
    /// `up`: no server that is down or in maintenance.
    pub hide_down: bool,
    /// `no-maint`: no server in maintenance.
    pub hide_maint: bool,
    /// `desc`: each `typed` line ends with the field's description (the CSV and the
    /// JSON are the same with or without it, as in haproxy 2.6).
    pub desc: bool,
    /// Servers' `addr` and the BACKEND's `algo`, which haproxy shows on its admin
    /// socket and on its stats page only with `stats show-legends`; off with the
    /// stats page's own word [`NO_LEGENDS`].
    pub legends: bool,
    /// The stats page's scope (its own word `scope=<text>`, [`SCOPE`]): only listeners
    /// whose name contains the text, in any case (lower-cased here).
    pub scope: Option<String>,
}

/// The `show stat` word the stats page adds without `show_legends`.
pub const NO_LEGENDS: &str = "no-legends";

/// The prefix of the `show stat` word the stats page adds for its scope box.
pub const SCOPE: &str = "scope=";

impl Default for StatFilter {
    fn default() -> StatFilter {
        StatFilter {
            iid: None,
            types: u32::MAX,
            sid: None,
            typed: false,
            json: false,
            hide_down: false,
            hide_maint: false,
            desc: false,
            legends: true,
            scope: None,
        }
    }
}

/// C's `atoi`: leading blanks, a sign, digits; anything else ends the number (0 when
/// none), as haproxy reads the filter.
fn atoi(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -v } else { v }
}

/// Reads `show stat`'s arguments (the words after `stat`) as haproxy 2.6 does: three
/// positional filter words or none (fewer are ignored), then `typed`, `json`, `desc`,
/// `up`, `no-maint` in any order. `names`: the listeners in iid order. The error is
/// haproxy's text.
pub fn parse_stat_args(args: &[&str], names: &[&str]) -> Result<StatFilter, &'static str> {
    let mut f = StatFilter::default();
    let mut rest = args;
    if let [px, ty, sid, tail @ ..] = args {
        let iid = match names.iter().position(|n| n == px) {
            Some(i) => i64::try_from(i + FIRST_IID).unwrap_or(i64::MAX),
            None => atoi(px),
        };
        if iid == 0 {
            return Err("No such proxy.\n");
        }
        // -1 (or any negative id) is every proxy; an id nothing has shows no rows.
        f.iid = usize::try_from(iid).ok();
        f.types = u32::try_from(atoi(ty) & 0xffff_ffff).unwrap_or(u32::MAX);
        f.sid = usize::try_from(atoi(sid)).ok();
        rest = tail;
    }
    for w in rest {
        match *w {
            // The last format word wins, as in haproxy.
            "typed" => (f.typed, f.json) = (true, false),
            "json" => (f.typed, f.json) = (false, true),
            "up" => f.hide_down = true,
            "no-maint" => f.hide_maint = true,
            "desc" => f.desc = true,
            NO_LEGENDS => f.legends = false,
            w if w.starts_with(SCOPE) && w.len() > SCOPE.len() => {
                f.scope = Some(w[SCOPE.len()..].to_ascii_lowercase());
            }
            _ => {}
        }
    }
    Ok(f)
}

/// haproxy 2.6's tags (origin, nature, scope) and type of each field in `show stat
/// typed`, for a FRONTEND, a BACKEND and a server ("": haproxy never fills it there).
const TYPED: &[(&str, &str, &str, &str)] = &[
    ("pxname", "KNS:str", "KNS:str", "KNS:str"),
    ("svname", "KNS:str", "KNS:str", "KNS:str"),
    ("scur", "MGP:u32", "MGP:u32", "MGP:u32"),
    ("smax", "MMP:u32", "MMP:u32", "MMP:u32"),
    ("slim", "CLP:u32", "CLP:u32", ""),
    ("stot", "MCP:u64", "MCP:u64", "MCP:u64"),
    ("bin", "MCP:u64", "MCP:u64", "MCP:u64"),
    ("bout", "MCP:u64", "MCP:u64", "MCP:u64"),
    ("dreq", "MCP:u64", "MCP:u64", ""),
    ("dresp", "MCP:u64", "MCP:u64", "MCP:u64"),
    ("ereq", "MCP:u64", "", ""),
    ("status", "SGP:str", "SGP:str", "SGP:str"),
    ("pid", "KGP:u32", "KGP:u32", "KGP:u32"),
    ("iid", "KGS:u32", "KGS:u32", "KGS:u32"),
    ("sid", "KGS:u32", "KGS:u32", "KGS:u32"),
    ("type", "CGS:u32", "CGS:u32", "CGS:u32"),
    ("rate", "MRP:u32", "MGP:u32", "MRP:u32"),
    ("rate_lim", "CLP:u32", "", ""),
    ("rate_max", "MMP:u32", "MGP:u32", "MMP:u32"),
    ("req_rate", "MRP:u32", "", ""),
    ("req_rate_max", "MMP:u32", "", ""),
    ("req_tot", "MCP:u64", "", ""),
    ("comp_in", "MCP:u64", "MCP:u64", ""),
    ("comp_out", "MCP:u64", "MCP:u64", ""),
    ("comp_byp", "MCP:u64", "MCP:u64", ""),
    ("comp_rsp", "MCP:u64", "MCP:u64", ""),
    ("mode", "CGS:str", "CGS:str", "CGS:str"),
    ("conn_rate", "MRP:u32", "", ""),
    ("conn_rate_max", "MMP:u32", "", ""),
    ("conn_tot", "MCP:u64", "", ""),
    ("dcon", "MCP:u64", "", ""),
    ("dses", "MCP:u64", "", ""),
    ("wrew", "MCP:u64", "MCP:u64", "MCP:u64"),
    ("eint", "MCP:u64", "MCP:u64", "MCP:u64"),
    ("ssl_sess", "MCP:u64", "MCP:u64", "MCP:u64"),
    ("ssl_reused_sess", "MCP:u64", "MCP:u64", "MCP:u64"),
    ("ssl_failed_handshake", "MCP:u64", "MCP:u64", "MCP:u64"),
    ("h2_headers_rcvd", "MCP:u64", "MCP:u64", ""),
    ("h2_data_rcvd", "MCP:u64", "MCP:u64", ""),
    ("h2_settings_rcvd", "MCP:u64", "MCP:u64", ""),
    ("h2_rst_stream_rcvd", "MCP:u64", "MCP:u64", ""),
    ("h2_goaway_rcvd", "MCP:u64", "MCP:u64", ""),
    ("h2_detected_conn_protocol_errors", "MCP:u64", "MCP:u64", ""),
    ("h2_detected_strm_protocol_errors", "MCP:u64", "MCP:u64", ""),
    ("h2_rst_stream_resp", "MCP:u64", "MCP:u64", ""),
    ("h2_goaway_resp", "MCP:u64", "MCP:u64", ""),
    ("h2_open_connections", "MGP:u64", "MGP:u64", ""),
    ("h2_backend_open_streams", "MGP:u64", "MGP:u64", ""),
    ("h2_total_connections", "MCP:u64", "MCP:u64", ""),
    ("h2_backend_total_streams", "MCP:u64", "MCP:u64", ""),
    ("h1_open_connections", "MGP:u64", "MGP:u64", ""),
    ("h1_open_streams", "MGP:u64", "MGP:u64", ""),
    ("h1_total_connections", "MCP:u64", "MCP:u64", ""),
    ("h1_total_streams", "MCP:u64", "MCP:u64", ""),
    ("h1_bytes_in", "MCP:u64", "MCP:u64", ""),
    ("h1_bytes_out", "MCP:u64", "MCP:u64", ""),
    ("h1_spliced_bytes_in", "MCP:u64", "MCP:u64", ""),
    ("h1_spliced_bytes_out", "MCP:u64", "MCP:u64", ""),
    ("qcur", "", "MGP:u32", "MGP:u32"),
    ("qmax", "", "MMP:u32", "MMP:u32"),
    ("econ", "", "MCP:u64", "MCP:u64"),
    ("eresp", "", "MCP:u64", "MCP:u64"),
    ("wretr", "", "MCP:u64", "MCP:u64"),
    ("wredis", "", "MCP:u64", "MCP:u64"),
    ("weight", "", "MaP:u32", "MaP:u32"),
    ("act", "", "MGP:u32", "SGP:u32"),
    ("bck", "", "MGP:u32", "SGP:u32"),
    ("lastchg", "", "MAP:u32", "MAP:u32"),
    ("lbtot", "", "MCP:u64", "MCP:u64"),
    ("cli_abrt", "", "MCP:u64", "MCP:u64"),
    ("srv_abrt", "", "MCP:u64", "MCP:u64"),
    ("lastsess", "", "MAP:s32", "MAP:s32"),
    ("qtime", "", "MaP:u32", "MaP:u32"),
    ("ctime", "", "MaP:u32", "MaP:u32"),
    ("rtime", "", "MaP:u32", "MaP:u32"),
    ("ttime", "", "MaP:u32", "MaP:u32"),
    ("addr", "", "", "CGS:str"),
    ("connect", "", "MCP:u64", "MCP:u64"),
    ("reuse", "", "MCP:u64", "MCP:u64"),
    ("srv_icur", "", "", "MGP:u32"),
    ("qtime_max", "", "MMP:u32", "MMP:u32"),
    ("ctime_max", "", "MMP:u32", "MMP:u32"),
    ("rtime_max", "", "MMP:u32", "MMP:u32"),
    ("ttime_max", "", "MMP:u32", "MMP:u32"),
    ("idle_conn_cur", "", "", "MGP:u32"),
    ("safe_conn_cur", "", "", "MGP:u32"),
    ("used_conn_cur", "", "", "MGP:u32"),
    ("need_conn_est", "", "", "MGP:u32"),
    ("uweight", "", "MaP:u32", "MaP:u32"),
    ("chkfail", "", "", "MCP:u64"),
    ("chkdown", "", "MCP:u64", "MCP:u64"),
    ("downtime", "", "MCP:u32", "MCP:u32"),
    ("check_status", "", "", "MOP:str"),
    ("check_duration", "", "", "MDP:u64"),
    ("last_chk", "", "", "MOP:str"),
    ("check_desc", "", "", "MOP:str"),
    ("check_rise", "", "", "CGS:u32"),
    ("check_fall", "", "", "CGS:u32"),
    ("check_health", "", "", "CGS:u32"),
    ("algo", "", "CGS:str", ""),
    ("agg_server_status", "", "MGP:u32", ""),
    ("agg_server_check_status", "", "MGP:u32", ""),
    ("agg_check_status", "", "MGP:u32", ""),
    ("", "", "", ""),
];

/// haproxy 2.6's description of each `show stat` field (`show stat typed desc`).
const STAT_DESC: &[(&str, &str)] = &[
    ("pxname", "Proxy name"),
    ("svname", "Server name"),
    (
        "scur",
        "Number of current sessions on the frontend, backend or server",
    ),
    (
        "smax",
        "Highest value of current sessions encountered since process started",
    ),
    (
        "slim",
        "Frontend/listener/server's maxconn, backend's fullconn",
    ),
    ("stot", "Total number of sessions since process started"),
    ("bin", "Total number of request bytes since process started"),
    (
        "bout",
        "Total number of response bytes since process started",
    ),
    (
        "dreq",
        "Total number of denied requests since process started",
    ),
    (
        "dresp",
        "Total number of denied responses since process started",
    ),
    (
        "ereq",
        "Total number of invalid requests since process started",
    ),
    (
        "status",
        "Frontend/listen status: OPEN/WAITING/FULL/STOP; backend: UP/DOWN; server: last check status",
    ),
    ("pid", "Relative worker process number (1)"),
    (
        "iid",
        "Frontend or Backend numeric identifier ('id' setting)",
    ),
    ("sid", "Server numeric identifier ('id' setting)"),
    (
        "type",
        "Type of the object (Listener, Frontend, Backend, Server)",
    ),
    (
        "rate",
        "Total number of sessions processed by this object over the last second (sessions for listeners/frontends, requests for backends/servers)",
    ),
    (
        "rate_lim",
        "Limit on the number of sessions accepted in a second (frontend only, 'rate-limit sessions' setting)",
    ),
    (
        "rate_max",
        "Highest value of sessions per second observed since the worker process started",
    ),
    (
        "req_rate",
        "Number of HTTP requests processed over the last second on this object",
    ),
    (
        "req_rate_max",
        "Highest value of http requests observed since the worker process started",
    ),
    (
        "req_tot",
        "Total number of HTTP requests processed by this object since the worker process started",
    ),
    (
        "comp_in",
        "Total number of bytes submitted to the HTTP compressor for this object since the worker process started",
    ),
    (
        "comp_out",
        "Total number of bytes emitted by the HTTP compressor for this object since the worker process started",
    ),
    (
        "comp_byp",
        "Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)",
    ),
    (
        "comp_rsp",
        "Total number of HTTP responses that were compressed for this object since the worker process started",
    ),
    ("mode", "'mode' setting (tcp/http/health/cli)"),
    (
        "conn_rate",
        "Number of new connections accepted over the last second on the frontend for this worker process",
    ),
    (
        "conn_rate_max",
        "Highest value of connections per second observed since the worker process started",
    ),
    (
        "conn_tot",
        "Total number of new connections accepted on this frontend since the worker process started",
    ),
    (
        "dcon",
        "Total number of incoming connections blocked on a listener/frontend by a tcp-request connection rule since the worker process started",
    ),
    (
        "dses",
        "Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule since the worker process started",
    ),
    (
        "wrew",
        "Total number of failed HTTP header rewrites since the worker process started",
    ),
    (
        "eint",
        "Total number of internal errors since process started",
    ),
    ("ssl_sess", "Total number of ssl sessions established"),
    ("ssl_reused_sess", "Total number of ssl sessions reused"),
    ("ssl_failed_handshake", "Total number of failed handshake"),
    ("h2_headers_rcvd", "Total number of received HEADERS frames"),
    ("h2_data_rcvd", "Total number of received DATA frames"),
    (
        "h2_settings_rcvd",
        "Total number of received SETTINGS frames",
    ),
    (
        "h2_rst_stream_rcvd",
        "Total number of received RST_STREAM frames",
    ),
    ("h2_goaway_rcvd", "Total number of received GOAWAY frames"),
    (
        "h2_detected_conn_protocol_errors",
        "Total number of connection protocol errors",
    ),
    (
        "h2_detected_strm_protocol_errors",
        "Total number of stream protocol errors",
    ),
    (
        "h2_rst_stream_resp",
        "Total number of RST_STREAM sent on detected error",
    ),
    (
        "h2_goaway_resp",
        "Total number of GOAWAY sent on detected error",
    ),
    ("h2_open_connections", "Count of currently open connections"),
    ("h2_backend_open_streams", "Count of currently open streams"),
    ("h2_total_connections", "Total number of connections"),
    ("h2_backend_total_streams", "Total number of streams"),
    ("h1_open_connections", "Count of currently open connections"),
    ("h1_open_streams", "Count of currently open streams"),
    ("h1_total_connections", "Total number of connections"),
    ("h1_total_streams", "Total number of streams"),
    ("h1_bytes_in", "Total number of bytes received"),
    ("h1_bytes_out", "Total number of bytes send"),
    (
        "h1_spliced_bytes_in",
        "Total number of bytes received using kernel splicing",
    ),
    (
        "h1_spliced_bytes_out",
        "Total number of bytes sendusing kernel splicing",
    ),
    ("qcur", "Number of current queued connections"),
    (
        "qmax",
        "Highest value of queued connections encountered since process started",
    ),
    (
        "econ",
        "Total number of failed connections to server since the worker process started",
    ),
    (
        "eresp",
        "Total number of invalid responses since the worker process started",
    ),
    (
        "wretr",
        "Total number of server connection retries since the worker process started",
    ),
    (
        "wredis",
        "Total number of server redispatches due to connection failures since the worker process started",
    ),
    (
        "weight",
        "Server's effective weight, or sum of active servers' effective weights for a backend",
    ),
    (
        "act",
        "Total number of active UP servers with a non-zero weight",
    ),
    (
        "bck",
        "Total number of backup UP servers with a non-zero weight",
    ),
    (
        "chkfail",
        "Total number of failed individual health checks per server/backend, since the worker process started",
    ),
    (
        "chkdown",
        "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started",
    ),
    (
        "lastchg",
        "How long ago the last server state changed, in seconds",
    ),
    (
        "downtime",
        "Total time spent in DOWN state, for server or backend",
    ),
    (
        "lbtot",
        "Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)",
    ),
    (
        "check_status",
        "Status report of the server's latest health check, prefixed with '*' if a check is currently in progress",
    ),
    (
        "check_duration",
        "Total duration of the latest server health check, in milliseconds",
    ),
    (
        "cli_abrt",
        "Total number of requests or connections aborted by the client since the worker process started",
    ),
    (
        "srv_abrt",
        "Total number of requests or connections aborted by the server since the worker process started",
    ),
    (
        "lastsess",
        "How long ago some traffic was seen on this object on this worker process, in seconds",
    ),
    (
        "last_chk",
        "Short description of the latest health check report for this server (see also check_desc)",
    ),
    (
        "qtime",
        "Time spent in the queue, in milliseconds, averaged over the 1024 last requests (backend/server)",
    ),
    (
        "ctime",
        "Time spent waiting for a connection to complete, in milliseconds, averaged over the 1024 last requests (backend/server)",
    ),
    (
        "rtime",
        "Time spent waiting for a server response, in milliseconds, averaged over the 1024 last requests (backend/server)",
    ),
    (
        "ttime",
        "Total request+response time (request+queue+connect+response+processing), in milliseconds, averaged over the 1024 last requests (backend/server)",
    ),
    (
        "check_desc",
        "Textual description of the latest health check report for this server",
    ),
    (
        "check_rise",
        "Number of successful health checks before declaring a server UP (server 'rise' setting)",
    ),
    (
        "check_fall",
        "Number of failed health checks before declaring a server DOWN (server 'fall' setting)",
    ),
    (
        "check_health",
        "Current server health check level (0..fall-1=DOWN, fall..rise-1=UP)",
    ),
    (
        "addr",
        "Server's address:port, shown only if show-legends is set, or at levels oper/admin for the CLI",
    ),
    (
        "connect",
        "Total number of outgoing connection attempts on this backend/server since the worker process started",
    ),
    (
        "reuse",
        "Total number of reused connection on this backend/server since the worker process started",
    ),
    (
        "srv_icur",
        "Current number of idle connections available for reuse on this server",
    ),
    (
        "qtime_max",
        "Maximum observed time spent in the queue, in milliseconds (backend/server)",
    ),
    (
        "ctime_max",
        "Maximum observed time spent waiting for a connection to complete, in milliseconds (backend/server)",
    ),
    (
        "rtime_max",
        "Maximum observed time spent waiting for a server response, in milliseconds (backend/server)",
    ),
    (
        "ttime_max",
        "Maximum observed total request+response time (request+queue+connect+response+processing), in milliseconds (backend/server)",
    ),
    ("idle_conn_cur", "Current number of unsafe idle connections"),
    ("safe_conn_cur", "Current number of safe idle connections"),
    ("used_conn_cur", "Current number of connections in use"),
    ("need_conn_est", "Estimated needed number of connections"),
    (
        "uweight",
        "Server's user weight, or sum of active servers' user weights for a backend",
    ),
    (
        "algo",
        "Backend's load balancing algorithm, shown only if show-legends is set, or at levels oper/admin for the CLI",
    ),
    (
        "agg_server_status",
        "Backend's aggregated gauge of servers' status",
    ),
    (
        "agg_server_check_status",
        "Backend's aggregated gauge of servers' state check status",
    ),
    (
        "agg_check_status",
        "Backend's aggregated gauge of servers' state check status",
    ),
];

/// A `show stat` field's description ("" for one haproxy does not describe).
fn stat_desc(name: &str) -> &'static str {
    STAT_DESC
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, d)| d)
}

impl Row {
    /// The fields that hold a value, as haproxy numbers and tags them: (field number,
    /// name, tags such as `MGP`, type such as `u32`, value). The field number skips the
    /// `-` separator.
    fn fields(
        &self,
        kind: Kind,
    ) -> impl Iterator<Item = (usize, &'static str, &'static str, &'static str, &str)> {
        COLUMNS
            .iter()
            .zip(self.0.iter())
            .filter(|(c, _)| **c != "-")
            .enumerate()
            .filter_map(move |(idx, (name, v))| {
                let v = v.as_deref()?;
                let (tags, ty) = TYPED
                    .iter()
                    .find(|t| t.0 == *name)
                    .map(|t| match kind {
                        Kind::Frontend => t.1,
                        Kind::Backend => t.2,
                        Kind::Server => t.3,
                    })
                    .filter(|t| !t.is_empty())
                    .unwrap_or("MGP:str")
                    .split_once(':')
                    .unwrap_or(("MGP", "str"));
                Some((idx, *name, tags, ty, v))
            })
    }

    /// The row as haproxy's `typed` lines: `F.<iid>.<sid>.<field>.<name>.1:<tags>:<type>:<value>`.
    fn typed(&self, out: &mut String, kind: Kind, iid: usize, sid: usize, desc: bool) {
        let letter = match kind {
            Kind::Frontend => 'F',
            Kind::Backend => 'B',
            Kind::Server => 'S',
        };
        for (idx, name, tags, ty, v) in self.fields(kind) {
            out.push_str(&format!(
                "{letter}.{iid}.{sid}.{idx}.{name}.{PROCESS_NUM}:{tags}:{ty}:{v}"
            ));
            if desc {
                out.push_str(&format!(":\"{}\"", stat_desc(name)));
            }
            out.push('\n');
        }
    }

    /// The row as haproxy 2.6's `show stat json` writes it: an array of field objects.
    fn json(&self, out: &mut String, kind: Kind, iid: usize, sid: usize) {
        let obj = match kind {
            Kind::Frontend => "Frontend",
            Kind::Backend => "Backend",
            Kind::Server => "Server",
        };
        out.push('[');
        for (n, (idx, name, tags, ty, v)) in self.fields(kind).enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(&format!(
                "{{\"objType\":\"{obj}\",\"proxyId\":{iid},\"id\":{sid},\"field\":{{\"pos\":{idx},\"name\":\"{name}\"}},\"processNum\":{PROCESS_NUM},"
            ));
            json_tags_value(out, tags, ty, v);
            out.push('}');
        }
        out.push(']');
    }
}

/// A field's `"tags":{...},"value":{...}` in haproxy's JSON, from its `typed` tags (three
/// letters: origin, nature, scope) and type. A text is escaped as JSON needs (haproxy
/// writes it raw; the texts it writes need no escaping, so they read the same).
fn json_tags_value(out: &mut String, tags: &str, ty: &str, v: &str) {
    let mut t = tags.chars();
    let origin = match t.next() {
        Some('M') => "Metric",
        Some('S') => "Status",
        Some('K') => "Key",
        Some('C') => "Config",
        Some('P') => "Product",
        _ => "Unknown",
    };
    let nature = match t.next() {
        Some('G') => "Gauge",
        Some('L') => "Limit",
        Some('m') => "Min",
        Some('M') => "Max",
        Some('R') => "Rate",
        Some('C') => "Counter",
        Some('D') => "Duration",
        Some('A') => "Age",
        Some('T') => "Time",
        Some('N') => "Name",
        Some('O') => "Output",
        Some('a') => "Avg",
        _ => "Unknown",
    };
    let scope = match t.next() {
        Some('P') => "Process",
        Some('S') => "Service",
        Some('s') => "System",
        Some('C') => "Cluster",
        _ => "Unknown",
    };
    out.push_str(&format!(
        "\"tags\":{{\"origin\":\"{origin}\",\"nature\":\"{nature}\",\"scope\":\"{scope}\"}},\"value\":{{\"type\":\"{ty}\",\"value\":"
    ));
    if ty == "str" {
        out.push_str(&Value::String(v.to_string()).to_string());
    } else if v.parse::<i64>().is_ok() || v.parse::<u64>().is_ok() {
        out.push_str(v);
    } else {
        // Not a number after all: a text rather than invalid JSON.
        out.push_str(&Value::String(v.to_string()).to_string());
    }
    out.push('}');
}

/// `show info json`'s array from `show info typed`'s fields (number, name, tags and
/// type such as `MRP:u32`, value).
pub fn info_json(fields: &[(u32, &str, &str, String)]) -> String {
    let mut out = String::from("[");
    for (n, (pos, name, tags, v)) in fields.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        let (tags, ty) = tags.split_once(':').unwrap_or((tags, "str"));
        out.push_str(&format!(
            "{{\"field\":{{\"pos\":{pos},\"name\":\"{name}\"}},\"processNum\":{PROCESS_NUM},"
        ));
        json_tags_value(&mut out, tags, ty, v);
        out.push('}');
    }
    out.push_str("]\n");
    out
}

/// haproxy 2.6's `show schema json`: the JSON schema of `show info json` and `show stat
/// json`, as haproxy 2.6.12 prints it.
pub const STATS_SCHEMA: &str = include_str!("stats_schema.json");

/// haproxy's numeric check status (`HCHK_STATUS_*`) for `show servers state`.
fn check_status_code(status: &str) -> u8 {
    match status {
        "INI" => 1,
        "HANA" => 4,
        "L4OK" => 6,
        "L4TOUT" => 7,
        "L4CON" => 8,
        "L7RSP" => 13,
        "L7OK" => 15,
        "L7OKC" => 16,
        "L7STS" => 17,
        _ => 0,
    }
}

pub const SERVERS_STATE_HEADER: &str = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n";

/// haproxy 2.6's `show servers state [backend]` (the format `server-state-file` reads):
/// the version line, the header and one line per server with haproxy's encodings.
/// `only`: one listener's index.
pub fn servers_state(listeners: &[Arc<Shared>], only: Option<usize>) -> String {
    let mut out = String::from(SERVERS_STATE_HEADER);
    for (li, l) in listeners.iter().enumerate() {
        if only.is_some_and(|o| o != li) {
            continue;
        }
        let rt = l.runtime();
        for (si, s) in rt.servers.iter().enumerate() {
            let info = s.check.lock().map(|c| c.clone()).unwrap_or_default();
            let check = super::server_check(&rt.cfg, s);
            // SRV_ST_STOPPED 0, STARTING 1 (slowstart), RUNNING 2.
            let op = if !s.available() {
                0
            } else if s.ramping() {
                1
            } else {
                2
            };
            // SRV_ADMF_FMAINT 0x01, IMAINT 0x02 (inherited from a tracked server),
            // FDRAIN 0x08, IDRAIN 0x10.
            let flag = |a: Admin, maint: u32, drain: u32| match a {
                Admin::Ready => 0,
                Admin::Maint => maint,
                Admin::Drain => drain,
            };
            let admin = flag(s.own_admin(), 1, 8) | flag(s.inherited_admin(), 2, 0x10);
            let kind = rt.cfg.check.as_ref().map(|c| c.kind);
            let (status, result, health, state) = match &check {
                Some(ch) => {
                    let code = check_status_code(check_status(info.last.as_deref(), kind));
                    // CHK_RES_FAILED 2, CHK_RES_PASSED 3, CHK_RES_CONDPASS 4 (0: no
                    // result yet, or a check running).
                    let result = match info.last.as_deref() {
                        _ if info.in_progress => 0,
                        None => 0,
                        Some("succeeded") => 3,
                        Some("conditionally succeeded") => 4,
                        Some(_) => 2,
                    };
                    // haproxy zeroes the health in maintenance.
                    let health = if s.admin() == Admin::Maint {
                        0
                    } else {
                        info.health.map_or(ch.rise, |h| h.value())
                    };
                    // CHK_ST_CONFIGURED|CHK_ST_ENABLED, and CHK_ST_PAUSED in maintenance.
                    let state = if s.admin() == Admin::Maint { 14 } else { 6 };
                    // Without CHK_ST_ENABLED after `disable health`.
                    let state = if s.check_enabled.load(Ordering::Relaxed) {
                        state
                    } else {
                        state & !4
                    };
                    (code, result, health, state)
                }
                // An unchecked server: haproxy's INI status, no result, and its default
                // rise (2) as health until it is first put in maintenance.
                None => (
                    1,
                    0,
                    if s.was_maint.load(Ordering::Relaxed) {
                        0
                    } else {
                        2
                    },
                    0,
                ),
            };
            let (check_ip, check_port_set) = s.check_target();
            let check_port = check_port_set
                .or_else(|| check.as_ref().and_then(|c| c.port))
                .map_or(0, u32::from);
            let check_addr = check_ip.map_or("-".to_string(), |a| a.to_string());
            let agent = s.agent_info();
            let agent_cfg = s.with_cfg(|c| crate::config::balancer::agent_of(&rt.cfg, c));
            // CHK_ST_INPROGRESS 0x01, CONFIGURED 0x02, ENABLED 0x04, AGENT 0x10.
            let agent_state = if agent.configured {
                0x12 | if agent.enabled { 0x04 } else { 0 }
                    | u32::from(agent.in_progress && agent.enabled)
            } else {
                0
            };
            let agent_addr = agent
                .addr
                .or(agent_cfg.as_ref().and_then(|a| a.address))
                .map_or("-".to_string(), |a| a.to_string());
            let agent_port = agent
                .port
                .or(agent_cfg.as_ref().map(|a| a.port))
                .map_or(0, u32::from);
            // SRV_ST_STOPPING 3 (NOLB).
            let op = if op == 2 && s.stopping() { 3 } else { op };
            out.push_str(&format!(
                "{} {} {} {} {} {op} {admin} {} {} {} {status} {result} {health} {state} {agent_state} 0 0 - {} - 0 {check_port} {check_addr} {agent_addr} {agent_port}\n",
                li + FIRST_IID,
                l.name,
                si + 1,
                s.name(),
                s.addr().ip(),
                s.weight(),
                s.cfg().weight,
                secs_since(info.last_change),
                s.addr().port(),
            ));
        }
    }
    out
}

/// haproxy 2.6's `show servers conn [backend]`. tandem keeps no idle server connections
/// (each client session has its own), so the pool columns read 0 and -1 (no limit) as
/// on a haproxy listener without reuse; `used_cur`/`used_max` are the server's sessions.
pub fn servers_conn(listeners: &[Arc<Shared>], only: Option<usize>, threads: usize) -> String {
    let mut out = format!(
        "# bkname/svname bkid/svid addr port - purge_delay used_cur used_max need_est unsafe_nb safe_nb idle_lim idle_cur idle_per_thr[{threads}]\n"
    );
    for (li, l) in listeners.iter().enumerate() {
        if only.is_some_and(|o| o != li) {
            continue;
        }
        let rt = l.runtime();
        for (si, s) in rt.servers.iter().enumerate() {
            out.push_str(&format!(
                "{}/{} {}/{} {} {} - 5000 {} {} 0 0 0 -1 0{}\n",
                l.name,
                s.name(),
                li + FIRST_IID,
                si + 1,
                s.addr().ip(),
                s.addr().port(),
                s.active.load(Ordering::Relaxed),
                s.counters.max_active.load(Ordering::Relaxed),
                " 0".repeat(threads),
            ));
        }
    }
    out
}

/// The rows of `show stat`, in haproxy's order (each listener's FRONTEND, servers,
/// BACKEND), kept by the filter.
fn rows(listeners: &[Arc<Shared>], filter: &StatFilter) -> Vec<(Kind, usize, usize, Row)> {
    let mut out = Vec::new();
    let pid = PROCESS_NUM;
    let now = super::rate::now_ms();
    for (li, l) in listeners.iter().enumerate() {
        let rt = l.runtime();
        let iid = li + FIRST_IID;
        if filter.iid.is_some_and(|want| want != iid)
            || filter
                .scope
                .as_ref()
                .is_some_and(|sc| !l.name.to_ascii_lowercase().contains(sc.as_str()))
        {
            continue;
        }
        let mut f = Row::new();
        f.set("pxname", &l.name);
        f.set("svname", "FRONTEND");
        f.set("scur", l.active.load(Ordering::Relaxed));
        f.set("smax", l.max_active.load(Ordering::Relaxed));
        f.set("slim", l.maxconn());
        f.set("stot", l.total.load(Ordering::Relaxed));
        f.set("bin", l.bytes_in.load(Ordering::Relaxed));
        f.set("bout", l.bytes_out.load(Ordering::Relaxed));
        // haproxy 2.6.12: `PAUSED` after `disable frontend`.
        let paused = l.paused.load(Ordering::Relaxed);
        f.set(
            "status",
            if l.stopped.load(Ordering::Relaxed) {
                "STOP"
            } else if paused {
                "PAUSED"
            } else {
                "OPEN"
            },
        );
        f.set("pid", pid);
        f.set("iid", iid);
        f.set("sid", 0);
        f.set("type", 0);
        f.set("conn_tot", l.total.load(Ordering::Relaxed));
        f.set("mode", "tcp");
        f.set("rate", l.sess_rate.rate(now));
        f.set("rate_max", l.sess_rate.max());
        f.set("conn_rate", l.conn_rate.rate(now));
        f.set("conn_rate_max", l.conn_rate.max());
        // The session rate limit (haproxy's 0 when none).
        f.set("rate_lim", rt.cfg.rate_limit_sessions.unwrap_or(0));
        // Counters haproxy keeps for a TCP frontend that never move here (HTTP
        // requests, denials, rewrites, compression) read 0 as there.
        zero(
            &mut f,
            &[
                "dreq",
                "dresp",
                "ereq",
                "dcon",
                "dses",
                "wrew",
                "eint",
                "comp_in",
                "comp_out",
                "comp_byp",
                "comp_rsp",
                "req_rate",
                "req_rate_max",
                "req_tot",
            ],
        );
        modules(&mut f, false);
        if filter.types & TYPE_FE != 0 {
            out.push((Kind::Frontend, iid, 0, f));
        }
        let checked = rt.cfg.check.is_some();
        let (mut act, mut bck) = (0, 0);
        // The weights of the usable active servers, of the usable backups, and of the
        // first usable backup (the one in use without `allbackups`).
        let (mut w_act, mut w_bck, mut w_first_bck) = (0u64, 0u64, None::<u64>);
        let (mut econ, mut wretr, mut wredis, mut lbtot) = (0u64, 0u64, 0u64, 0u64);
        let mut nbup = 0usize;
        let (mut cli_abrt, mut srv_abrt) = (0u64, 0u64);
        let (mut connect, mut u_act, mut u_bck, mut u_first_bck) = (0u64, 0u64, 0u64, None::<u64>);
        for (si, s) in rt.servers.iter().enumerate() {
            let c = &s.counters;
            let info = s.check.lock().map(|c| c.clone()).unwrap_or_default();
            // A check stopped by `disable health` shows as none, but for a server it
            // left down (haproxy: `DOWN`, the check columns empty).
            let configured = checked && s.cfg().check && s.cfg().track.is_none();
            let is_checked = configured && s.check_enabled.load(Ordering::Relaxed);
            // A tracking server shows the state of the end of its chain (haproxy's
            // `ref`): its health on the way (`UP 2/3`), or `no check`.
            let tracked = s.tracked();
            let reference = chain_end(s);
            let mut r = Row::new();
            r.set("pxname", &l.name);
            r.set("svname", s.name());
            r.set("scur", s.active.load(Ordering::Relaxed));
            r.set("smax", c.max_active.load(Ordering::Relaxed));
            if let Some(m) = s.maxconn() {
                r.set("slim", m);
            }
            // haproxy counts a server's session per connection attempt.
            r.set("stot", c.attempts.load(Ordering::Relaxed));
            r.set("bin", c.bytes_in.load(Ordering::Relaxed));
            r.set("bout", c.bytes_out.load(Ordering::Relaxed));
            r.set("econ", c.failed_conns.load(Ordering::Relaxed));
            r.set("wretr", c.retries.load(Ordering::Relaxed));
            r.set("wredis", c.redispatches.load(Ordering::Relaxed));
            r.set("cli_abrt", c.client_aborts.load(Ordering::Relaxed));
            r.set("srv_abrt", c.server_aborts.load(Ordering::Relaxed));
            if configured && rt.cfg.check.as_ref().is_some_and(|c| c.observe.is_some()) {
                r.set("hanafail", c.hana_failures.load(Ordering::Relaxed));
            }
            if let Some((via, _)) = tracked
                .as_ref()
                .filter(|_| s.inherited_admin() == Admin::Maint)
            {
                r.set("status", format!("MAINT (via {via})"));
            } else if let Some(rf) = &reference {
                let rinfo = rf.check.lock().map(|c| c.clone()).unwrap_or_default();
                let ref_checked =
                    rinfo.health.is_some() && rf.check_enabled.load(Ordering::Relaxed);
                r.set("status", stat_status(s, ref_checked, rinfo.health));
            } else if configured
                && !is_checked
                && !s.is_up()
                && s.admin() != Admin::Maint
                && !s.agent_down()
            {
                r.set("status", "DOWN");
            } else if !is_checked
                && !s.is_up()
                && s.admin() != Admin::Maint
                && s.agent_info().enabled
                && !s.agent_down()
            {
                // Down without a check (`set server ... health down`) while its agent
                // says up: haproxy shows the unused check's health of its default rise.
                let h = info.health.map_or(0, |h| h.value());
                r.set("status", format!("DOWN {h}/2"));
            } else {
                r.set("status", stat_status(s, is_checked, info.health));
            }
            // haproxy keeps showing a server's weight while it drains or is in
            // maintenance (only `set weight 0` shows 0); a slowstart ramp shows.
            r.set(
                "weight",
                if s.admin() == Admin::Ready && !s.stopping() {
                    s.effective_weight()
                } else {
                    s.weight()
                },
            );
            r.set("act", u8::from(!s.cfg().backup));
            r.set("bck", u8::from(s.cfg().backup));
            // haproxy leaves the check counters empty on a server it does not check.
            if is_checked {
                r.set("chkfail", c.check_failures.load(Ordering::Relaxed));
                r.set("chkdown", c.downs.load(Ordering::Relaxed));
            }
            r.set("lastchg", secs_since(info.last_change));
            // haproxy counts a server's downtime only when it checks it.
            if is_checked {
                let down_now = info.down_since.map(|t| t.elapsed().as_secs()).unwrap_or(0);
                r.set("downtime", info.downtime_secs + down_now);
            }
            r.set("pid", pid);
            r.set("iid", iid);
            r.set("sid", si + 1);
            r.set("lbtot", c.lb_picks.load(Ordering::Relaxed));
            r.set("type", 2);
            // haproxy leaves the check columns empty while the check is paused (in
            // maintenance).
            let check_shown = is_checked && s.admin() != Admin::Maint;
            let status = check_status(
                info.last.as_deref(),
                rt.cfg
                    .check
                    .as_ref()
                    .filter(|_| check_shown)
                    .map(|c| c.kind),
            );
            // haproxy marks a check that is running with `* ` (the last result's code)
            // and has no `last_chk` until it ends.
            let running = check_shown && info.in_progress;
            if running {
                r.set("check_status", format!("* {status}"));
            } else {
                r.set("check_status", status);
            }
            if check_shown {
                r.set("check_duration", info.last_duration_ms);
                // haproxy: the code's description in `check_desc`, what the check
                // saw in `last_chk` (here tandem's reason, as in its log lines).
                r.set("check_desc", check_desc(status));
                // haproxy shows the code of a layer-7 result (an HTTP status).
                if matches!(status, "L7OK" | "L7OKC" | "L7STS")
                    && let Some(code) = info.code
                {
                    r.set("check_code", code);
                }
                // An empty text before the first result too, as haproxy's.
                let seen = info.last.as_deref().filter(|_| !running);
                r.set_str("last_chk", seen.map_or("", last_chk));
                if let Some(ch) = super::server_check(&rt.cfg, s) {
                    r.set("check_rise", ch.rise);
                    r.set("check_fall", ch.fall);
                }
                if let Some(h) = info.health {
                    r.set("check_health", h.value());
                }
            }
            let agent = s.agent_info();
            if agent.enabled {
                if agent.in_progress {
                    r.set("agent_status", format!("* {}", agent.status));
                } else {
                    r.set("agent_status", agent.status);
                }
                if matches!(agent.status, "L7OK" | "L7STS") {
                    r.set("agent_code", 0);
                }
                r.set("agent_duration", agent.duration_ms);
                r.set("agent_desc", super::agent::status_desc(agent.status));
                r.set_str("last_agt", &agent.desc);
                r.set("agent_rise", 1);
                r.set("agent_fall", 1);
                r.set("agent_health", agent.health);
            }
            r.set("addr", s.addr());
            r.set("mode", "tcp");
            r.set("uweight", s.weight());
            // Each session opens its own server connection: `connect` counts the
            // attempts (retries too), none is reused or kept idle.
            let attempts = c.attempts.load(Ordering::Relaxed);
            r.set("connect", attempts);
            r.set("used_conn_cur", s.active.load(Ordering::Relaxed));
            r.set("rate", c.rate.rate(now));
            r.set("rate_max", c.rate.max());
            let times = c.times.lock().map(|t| *t).unwrap_or_default();
            set_times(&mut r, &times);
            zero(
                &mut r,
                &[
                    "qcur",
                    "qmax",
                    "dresp",
                    "eresp",
                    "wrew",
                    "eint",
                    "reuse",
                    "srv_icur",
                    "idle_conn_cur",
                    "safe_conn_cur",
                    "need_conn_est",
                ],
            );
            modules(&mut r, true);
            let shown = filter.types & TYPE_SV != 0
                && filter.sid.is_none_or(|want| want == si + 1)
                && (!filter.hide_down || s.available())
                && (!filter.hide_maint || s.admin() != Admin::Maint);
            if shown {
                out.push((Kind::Server, iid, si + 1, r));
            }
            // haproxy's "up" servers of the BACKEND status: not stopped (down or in
            // maintenance); draining ones count.
            if s.available() {
                nbup += 1;
            }
            if s.available() && s.effective_weight() > 0 {
                let w = u64::from(s.effective_weight());
                let u = u64::from(s.weight());
                if s.cfg().backup {
                    bck += 1;
                    w_bck += w;
                    w_first_bck.get_or_insert(w);
                    u_bck += u;
                    u_first_bck.get_or_insert(u);
                } else {
                    act += 1;
                    w_act += w;
                    u_act += u;
                }
            }
            connect += attempts;
            econ += c.failed_conns.load(Ordering::Relaxed);
            wretr += c.retries.load(Ordering::Relaxed);
            wredis += c.redispatches.load(Ordering::Relaxed);
            lbtot += c.lb_picks.load(Ordering::Relaxed);
            cli_abrt += c.client_aborts.load(Ordering::Relaxed);
            srv_abrt += c.server_aborts.load(Ordering::Relaxed);
        }
        // haproxy: the weight of the servers in use, the active ones, or the backups
        // when no active server is left (only the first without `allbackups`).
        let (weight, uweight) = if act > 0 {
            (w_act, u_act)
        } else if rt.cfg.allbackups {
            (w_bck, u_bck)
        } else {
            (w_first_bck.unwrap_or(0), u_first_bck.unwrap_or(0))
        };
        let mut b = Row::new();
        b.set("pxname", &l.name);
        b.set("svname", "BACKEND");
        b.set("qcur", l.queued.load(Ordering::Relaxed));
        b.set("qmax", l.max_queued.load(Ordering::Relaxed));
        b.set("scur", l.active.load(Ordering::Relaxed));
        b.set("smax", l.max_active.load(Ordering::Relaxed));
        // haproxy's `fullconn` default: 10% of the frontend's maxconn (at least 1).
        b.set("slim", rt.cfg.maxconn.div_ceil(10).max(1));
        b.set("stot", l.total.load(Ordering::Relaxed));
        b.set("bin", l.bytes_in.load(Ordering::Relaxed));
        b.set("bout", l.bytes_out.load(Ordering::Relaxed));
        // haproxy's backend econ also counts the sessions that found no server (or no
        // server slot in time).
        b.set("econ", econ + l.no_server.load(Ordering::Relaxed));
        b.set("wretr", wretr);
        b.set("wredis", wredis);
        b.set("cli_abrt", cli_abrt);
        b.set("srv_abrt", srv_abrt);
        // haproxy: UP while some server is in use (its weight counts); with the `up` or
        // `no-maint` filter, how many servers are up of how many.
        let mut status = String::from(if weight > 0 { "UP" } else { "DOWN" });
        if filter.hide_down || filter.hide_maint {
            status.push_str(&format!(" ({nbup}/{})", rt.servers.len()));
        }
        b.set("status", status);
        b.set("weight", weight);
        b.set("act", act);
        b.set("bck", bck);
        b.set("pid", pid);
        b.set("iid", iid);
        b.set("sid", 0);
        b.set("lbtot", lbtot);
        b.set("type", 1);
        b.set("mode", "tcp");
        b.set("algo", rt.cfg.balance);
        b.set("uweight", uweight);
        // The backend's own changes: it went down when its last server went, back up
        // when one came back (haproxy's last_change, down_trans, be_downtime).
        let be = l
            .backend
            .lock()
            .map(|b| *b)
            .unwrap_or_else(|p| *p.into_inner());
        let secs = super::listener::unix_now();
        b.set("lastchg", secs.saturating_sub(be.last_change));
        b.set("downtime", be.downtime(secs));
        b.set("chkdown", be.downs);
        b.set("rate", l.sess_rate.rate(now));
        b.set("rate_max", l.sess_rate.max());
        let times = l.times.lock().map(|t| *t).unwrap_or_default();
        set_times(&mut b, &times);
        b.set("connect", connect);
        zero(
            &mut b,
            &[
                "dreq",
                "dresp",
                "eresp",
                "wrew",
                "eint",
                "reuse",
                "comp_in",
                "comp_out",
                "comp_byp",
                "comp_rsp",
                "agg_server_status",
                "agg_check_status",
                "agg_server_check_status",
            ],
        );
        modules(&mut b, false);
        if filter.types & TYPE_BE != 0 {
            out.push((Kind::Backend, iid, 0, b));
        }
    }
    out
}

/// `show stat [filter]`: haproxy 2.6's CSV (header, rows), its `typed` lines or its JSON.
pub fn show_stat(listeners: &[Arc<Shared>], filter: &StatFilter) -> String {
    let mut rows = rows(listeners, filter);
    if !filter.legends {
        for (_, _, _, r) in &mut rows {
            for c in ["addr", "cookie", "algo"] {
                r.put(c, None);
            }
        }
    }
    let mut out = String::new();
    if filter.json {
        out.push('[');
        for (n, (kind, iid, sid, r)) in rows.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            r.json(&mut out, *kind, *iid, *sid);
        }
        out.push_str("]\n");
        return out;
    }
    if filter.typed {
        for (kind, iid, sid, r) in &rows {
            r.typed(&mut out, *kind, *iid, *sid, filter.desc);
        }
        return out;
    }
    out.push_str("# ");
    out.push_str(&COLUMNS.join(","));
    out.push_str(",\n");
    for (_, _, _, r) in &rows {
        out.push_str(&r.line());
        out.push('\n');
    }
    out
}

/// `show stat` CSV of every row.
pub fn csv(listeners: &[Arc<Shared>]) -> String {
    show_stat(listeners, &StatFilter::default())
}

pub fn listener_json(l: &Shared, bind: SocketAddr) -> Value {
    let rt = l.runtime();
    let servers: Vec<Value> = rt
        .servers
        .iter()
        .map(|s| {
            let info = s.check.lock().map(|c| c.clone()).unwrap_or_default();
            let agent = s.agent_info();
            let agent = if agent.configured {
                json!({
                    "enabled": agent.enabled,
                    "says": if agent.health > 0 { "up" } else { "down" },
                    "status": agent.status,
                    "last": agent.desc,
                })
            } else {
                Value::Null
            };
            json!({
                "name": s.name(),
                "address": s.addr().to_string(),
                "status": server_status(s, shows_checked(&rt.cfg, s)),
                "tracks": s.tracked().map(|(via, _)| via),
                "admin": s.admin().name(),
                "weight": s.effective_weight(),
                "configured_weight": s.cfg().weight,
                "backup": s.cfg().backup,
                "active": s.active.load(Ordering::Relaxed),
                "connections": s.counters.connections.load(Ordering::Relaxed),
                "connect_errors": s.counters.connect_errors.load(Ordering::Relaxed),
                "last_check": info.last,
                "agent": agent,
                "last_change_seconds_ago": secs_since(info.last_change).parse::<u64>().ok(),
            })
        })
        .collect();
    json!({
        "name": l.name,
        "bind": bind.to_string(),
        "balance": rt.cfg.balance.as_str(),
        "maxconn": l.maxconn(),
        "rate_limit_sessions": rt.cfg.rate_limit_sessions,
        "session_rate": l.sess_rate.rate(super::rate::now_ms()),
        "paused": l.paused.load(Ordering::Relaxed),
        "stopped": l.stopped.load(Ordering::Relaxed),
        "active": l.active.load(Ordering::Relaxed),
        "connections": l.total.load(Ordering::Relaxed),
        "bytes_in": l.bytes_in.load(Ordering::Relaxed),
        "bytes_out": l.bytes_out.load(Ordering::Relaxed),
        "serving": rt.has_usable_server(),
        "stick": stick_json(l),
        "servers": servers,
    })
}

/// The stick table's key, size and entries (`null` without `stick`).
fn stick_json(l: &Shared) -> Value {
    let Ok(g) = l.stick.lock() else {
        return Value::Null;
    };
    let Some(st) = g.as_ref() else {
        return Value::Null;
    };
    let all = st.table.entries(std::time::Instant::now());
    let used = all.len();
    // A `stick on src` table can hold many clients: /status shows the first 100 (by
    // key); `show table` lists them all.
    let entries: Vec<Value> = all
        .into_iter()
        .take(100)
        .map(|e| {
            json!({
                "key": e.key.to_string(),
                "server": e.server,
                "idle_ms": e.idle.as_millis() as u64,
                "expires_in_ms": e.left.map(|d| d.as_millis() as u64),
            })
        })
        .collect();
    json!({ "on": st.on.as_str(), "used": used, "entries": entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_filters_read_as_haproxy_reads_them() {
        let names = ["l", "c"];
        let f = |w: &str| parse_stat_args(&w.split_whitespace().collect::<Vec<_>>(), &names);
        assert_eq!(f(""), Ok(StatFilter::default()));
        // Fewer than three filter words: ignored.
        assert_eq!(f("2"), Ok(StatFilter::default()));
        assert_eq!(f("-1 4"), Ok(StatFilter::default()));
        let c = f("c 2 -1").expect("filter");
        assert_eq!((c.iid, c.types, c.sid), (Some(3), 2, None));
        let all = f("-1 -1 -1 typed up").expect("filter");
        assert_eq!((all.iid, all.types, all.sid), (None, u32::MAX, None));
        assert!(all.typed && all.hide_down && !all.hide_maint);
        assert_eq!(f("2 4 1").map(|x| (x.iid, x.sid)), Ok((Some(2), Some(1))));
        assert_eq!(f("zz -1 -1"), Err("No such proxy.\n"));
        assert_eq!(f("no-maint").map(|x| x.hide_maint), Ok(true));
        // The stats page's scope word, lower-cased for a case-blind match.
        assert_eq!(
            f("up scope=MySQL").map(|x| x.scope),
            Ok(Some("mysql".to_string()))
        );
        assert_eq!(f("scope=").map(|x| x.scope), Ok(None));
    }

    #[test]
    fn session_times_average_as_haproxy_swrate() {
        let mut t = crate::balancer::server::TimeStats::default();
        assert_eq!(t.averages(), [0, 0, 0]);
        assert_eq!(t.last_session_secs(), -1);
        t.record(0, 2, 10);
        assert_eq!(t.averages(), [0, 2, 10]);
        t.record(0, 4, 30);
        assert_eq!(t.max, [0, 4, 30]);
        // The sliding sum: 10 - ceil(10/2) + 30 = 35, read as ceil(35/2).
        assert_eq!(t.averages()[2], 18);
    }

    #[test]
    fn passed_checks_report_their_layer_as_haproxy() {
        let ok = Some("succeeded");
        assert_eq!(check_status(ok, Some(CheckType::Tcp)), "L4OK");
        assert_eq!(check_status(ok, Some(CheckType::Http)), "L7OK");
        assert_eq!(check_status(ok, Some(CheckType::Mysql)), "L7OK");
        assert_eq!(check_status(ok, None), "");
        assert_eq!(check_status(None, Some(CheckType::Http)), "INI");
        assert_eq!(
            check_status(Some("HTTP status 503, expected 200"), Some(CheckType::Http)),
            "L7STS"
        );
        assert_eq!(
            check_status(Some("connection refused"), Some(CheckType::Mysql)),
            "L4CON"
        );
    }
}
