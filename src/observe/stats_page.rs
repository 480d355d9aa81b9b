//! The balancer's statistics page on the observe endpoint, as haproxy's `stats uri`
//! page: HTML for a browser, `<uri>;csv` (`show stat`), `<uri>;json`, `<uri>;typed`,
//! `<uri>;json-schema` for scripts that fetch haproxy's page today, and (with
//! `admin: true`) the form that changes the checked servers.
//!
//! Pure code: the HTTP layer (`http.rs`) feeds it the request target, the `show stat`
//! and `show info` output, and the POSTed form; it returns text.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::balancer::sessions::human_time;
use crate::config::model::StatsPageConfig;

/// What the page is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    /// `show stat` CSV.
    Csv,
    /// `show stat typed`.
    Typed,
    /// `show stat json`.
    Json,
    /// `show schema json`.
    JsonSchema,
}

/// A request for the page: its format and the display options in its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub format: Format,
    /// `;up`: servers that are not up are left out.
    pub up: bool,
    /// `;no-maint`: servers in maintenance are left out.
    pub no_maint: bool,
    /// `;norefresh`: no `Refresh` header (only read when a refresh is configured).
    pub norefresh: bool,
    /// `;st=XXXX`: the outcome of the last form action, shown above the tables.
    pub st: Option<String>,
    /// `?scope=text` (the page's Scope box): only the listeners whose name contains
    /// the text, in any case; at most [`SCOPE_MAX`] characters, letters, digits and
    /// `.` `_` `-` `:` (anything else drops the scope), as haproxy's.
    pub scope: Option<String>,
}

/// The longest scope text (haproxy's `STAT_SCOPE_TXT_MAXLEN`).
pub const SCOPE_MAX: usize = 20;

/// The scope text after `scope=` in a request target: up to `;`, `&`, a blank or the
/// end, cut to [`SCOPE_MAX`]; `None` when empty or with a character haproxy refuses in
/// a name. (haproxy 2.6 also ignores a one-character scope at the very end of the
/// target, as the box sends it; tandem takes it.)
fn scope_of(rest: &str) -> Option<String> {
    let i = rest.find("scope=")?;
    let t: String = rest[i + 6..]
        .chars()
        .take_while(|c| !matches!(c, ';' | '&' | ' '))
        .take(SCOPE_MAX)
        .collect();
    let ok = t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'));
    (ok && !t.is_empty()).then_some(t)
}

impl PageRequest {
    /// The `show stat` arguments for this request's filters.
    pub fn stat_args(&self, cfg: &StatsPageConfig) -> String {
        let mut a = String::new();
        if !cfg.show_legends {
            a.push(' ');
            a.push_str(crate::balancer::stats::NO_LEGENDS);
        }
        if self.up {
            a.push_str(" up");
        } else if self.no_maint {
            a.push_str(" no-maint");
        }
        if let Some(sc) = &self.scope {
            a.push(' ');
            a.push_str(crate::balancer::stats::SCOPE);
            a.push_str(sc);
        }
        a
    }

    /// `?scope=text` for links that keep the scope (empty without one).
    fn scope_query(&self) -> String {
        self.scope
            .as_ref()
            .map_or_else(String::new, |sc| format!("?scope={sc}"))
    }

    /// The display options to keep in links and redirects (`;up;no-maint;norefresh`).
    fn options(&self) -> String {
        let mut o = String::new();
        if self.up {
            o.push_str(";up");
        }
        if self.no_maint {
            o.push_str(";no-maint");
        }
        if self.norefresh {
            o.push_str(";norefresh");
        }
        o.push_str(&self.scope_query());
        o
    }
}

/// Whether `target` (the request's path and query) asks for the page at `uri`, and how.
/// As in haproxy, any target that starts with `uri` does, and the options are found
/// anywhere after it.
pub fn parse_target(target: &str, uri: &str, refresh_configured: bool) -> Option<PageRequest> {
    let rest = target.strip_prefix(uri)?;
    let has = |o: &str| rest.contains(o);
    let mut format = Format::Html;
    if has(";csv") {
        format = Format::Csv;
    }
    if has(";typed") {
        format = Format::Typed;
    }
    if has(";json") {
        format = Format::Json;
    }
    if has(";json-schema") {
        format = Format::JsonSchema;
    }
    let st = rest.find(";st=").map(|i| {
        rest[i + 4..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .take(4)
            .collect()
    });
    Some(PageRequest {
        format,
        up: has(";up"),
        no_maint: has(";no-maint"),
        norefresh: refresh_configured && has(";norefresh"),
        st,
        scope: scope_of(rest),
    })
}

/// Whether an `Authorization` header lets the request in: always when no `auth` is
/// configured, else HTTP basic authentication with one of the pairs.
pub fn authorized(header: Option<&str>, cfg: &StatsPageConfig) -> bool {
    if cfg.auth.is_empty() {
        return true;
    }
    let Some(h) = header else { return false };
    let Some((scheme, cred)) = h.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    match basic_credentials(cred.trim()) {
        Some((u, p)) => {
            cfg.auth
                .iter()
                .filter_map(|a| a.split_once(':'))
                .fold(false, |ok, (cu, cp)| {
                    // Every pair compared in full, in time independent of where they differ.
                    ok | (same_bytes(cu, &u) & same_bytes(cp, &p))
                })
        }
        None => false,
    }
}

/// Whether two texts are equal, in a time that depends on their lengths only.
fn same_bytes(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

/// Whether a form comes from the page itself: a browser names the page that sent a
/// form in `Origin` (else `Referer`); one from another site (a page that makes the
/// operator's browser post to the stats page with its saved password) is refused.
/// Scripts that send neither are let through.
pub fn same_origin(origin: Option<&str>, referer: Option<&str>, host: Option<&str>) -> bool {
    same_origin_of(origin.or(referer), host)
}

/// Whether a `Host` names the endpoint by address (an IP literal, or `localhost`), with
/// its port. A form without a password is taken only so: a site whose name an attacker
/// points at 127.0.0.1 (DNS rebinding) sends its own name.
pub fn host_is_an_address(host: Option<&str>) -> bool {
    let Some(h) = host else { return false };
    if let Some(v6) = h.strip_prefix('[') {
        return v6
            .split(']')
            .next()
            .is_some_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok());
    }
    let name = h.rsplit_once(':').map_or(h, |(n, _)| n);
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
}

fn same_origin_of(source: Option<&str>, host: Option<&str>) -> bool {
    let Some(source) = source else {
        return true;
    };
    let authority = source
        .split_once("://")
        .map_or(source, |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("");
    host.is_some_and(|h| h.eq_ignore_ascii_case(authority))
}

/// The user and password of basic authentication's base64 `user:password`.
pub fn basic_credentials(b64: &str) -> Option<(String, String)> {
    let text = String::from_utf8(base64_decode(b64)?).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Standard base64 (RFC 4648 section 4), padding optional; `None` for anything else.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // A lone 6-bit group cannot end a valid encoding.
    if bits >= 6 {
        return None;
    }
    Some(out)
}

/// The outcome of a form action, as haproxy's `;st=` codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every checked server changed.
    Done,
    /// Some did.
    Part,
    /// No server was checked.
    None,
    /// Unknown action, listener or server.
    Errp,
    /// The form is too large.
    Excd,
    /// `admin` is off.
    Deny,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Done => "DONE",
            Outcome::Part => "PART",
            Outcome::None => "NONE",
            Outcome::Errp => "ERRP",
            Outcome::Excd => "EXCD",
            Outcome::Deny => "DENY",
        }
    }
}

/// The `Location` a form's answer sends the browser to: the page with the outcome and
/// the request's display options.
pub fn redirect(uri: &str, req: &PageRequest, o: Outcome) -> String {
    format!("{uri};st={}{}", o.code(), req.options())
}

/// A POSTed form: the checked servers (`s`), the `action`, the listener (`b`: `#<iid>`
/// or its name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pub servers: Vec<String>,
    pub action: Option<String>,
    pub backend: Option<String>,
}

/// Reads an `application/x-www-form-urlencoded` body.
pub fn parse_form(body: &[u8]) -> Form {
    let mut f = Form::default();
    for pair in body.split(|b| *b == b'&') {
        let mut kv = pair.splitn(2, |b| *b == b'=');
        let k = url_decode(kv.next().unwrap_or_default());
        let v = url_decode(kv.next().unwrap_or_default());
        match k.as_str() {
            "s" => f.servers.push(v),
            "action" => f.action = Some(v),
            "b" => f.backend = Some(v),
            _ => {}
        }
    }
    f
}

fn url_decode(b: &[u8]) -> String {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The actions the form offers: (value, label, the admin command for `L/S`).
pub const ACTIONS: &[(&str, &str, &str)] = &[
    ("ready", "Set state to READY", "set server {} state ready"),
    ("drain", "Set state to DRAIN", "set server {} state drain"),
    ("maint", "Set state to MAINT", "set server {} state maint"),
    ("dhlth", "Health: disable checks", "disable health {}"),
    ("ehlth", "Health: enable checks", "enable health {}"),
    ("hrunn", "Health: force UP", "set server {} health up"),
    (
        "hnolb",
        "Health: force NOLB",
        "set server {} health stopping",
    ),
    ("hdown", "Health: force DOWN", "set server {} health down"),
    ("dagent", "Agent: disable checks", "disable agent {}"),
    ("eagent", "Agent: enable checks", "enable agent {}"),
    ("arunn", "Agent: force UP", "set server {} agent up"),
    ("adown", "Agent: force DOWN", "set server {} agent down"),
    ("shutdown", "Kill Sessions", "shutdown sessions server {}"),
];

/// The admin commands a form asks for (one per checked server that the listener has;
/// a name it does not have counts as a failure), with the number of servers checked;
/// or the outcome that ends it at once. `rows` is `show stat`, to find the listener by
/// its `iid` and its servers by name: nothing else the form sends reaches a command.
pub fn form_commands(form: &Form, rows: &[Row]) -> Result<(Vec<String>, usize), Outcome> {
    let Some(action) = form.action.as_deref() else {
        return Err(Outcome::Errp);
    };
    let Some((_, _, template)) = ACTIONS.iter().find(|(v, _, _)| *v == action) else {
        return Err(Outcome::Errp);
    };
    let listener = match form.backend.as_deref() {
        Some(b) => match b.strip_prefix('#') {
            Some(iid) => rows
                .iter()
                .find(|r| r.get("iid") == iid && r.get("svname") == "BACKEND")
                .map(|r| r.get("pxname").to_string()),
            None => rows
                .iter()
                .find(|r| r.get("pxname") == b)
                .map(|r| r.get("pxname").to_string()),
        },
        None => None,
    };
    let Some(listener) = listener else {
        return Err(Outcome::Errp);
    };
    if form.servers.is_empty() {
        return Err(Outcome::None);
    }
    let known = |s: &str| {
        !matches!(s, "FRONTEND" | "BACKEND")
            && rows
                .iter()
                .any(|r| r.get("pxname") == listener && r.get("svname") == s)
    };
    let cmds = form
        .servers
        .iter()
        .filter(|s| known(s))
        .map(|s| template.replace("{}", &format!("{listener}/{s}")))
        .collect();
    Ok((cmds, form.servers.len()))
}

/// The outcome of `done` changes out of `asked`.
pub fn outcome(done: usize, asked: usize) -> Outcome {
    if done == asked {
        Outcome::Done
    } else if done > 0 {
        Outcome::Part
    } else {
        Outcome::Errp
    }
}

/// One `show stat` row, by column name.
#[derive(Debug, Clone, Default)]
pub struct Row(HashMap<String, String>);

impl Row {
    pub fn get(&self, col: &str) -> &str {
        self.0.get(col).map(String::as_str).unwrap_or("")
    }
}

/// Reads `show stat` CSV (fields with a comma or a quote are quoted, quotes doubled).
pub fn parse_csv(csv: &str) -> Vec<Row> {
    let mut lines = csv.lines();
    let Some(head) = lines.next() else {
        return Vec::new();
    };
    let header: Vec<&str> = head.trim_start_matches("# ").split(',').collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            Row(header
                .iter()
                .map(|h| h.to_string())
                .zip(csv_fields(l))
                .collect())
        })
        .collect()
}

fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// `show info` lines (`Name: value`) by name.
pub fn parse_info(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// What the HTML page shows.
pub struct Page<'a> {
    pub cfg: &'a StatsPageConfig,
    pub req: &'a PageRequest,
    /// `show stat` rows (filtered as the request asks).
    pub rows: &'a [Row],
    /// `show info` fields; empty without a balancer.
    pub info: &'a HashMap<String, String>,
    pub version: &'a str,
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body { font-family: arial, helvetica, sans-serif; font-size: 12px; \
font-weight: normal; color: black; background: white; }
th, td { font-size: 10px; }
h1 { font-size: x-large; margin-bottom: 0.5em; }
h2 { font-size: large; margin-bottom: 0.5em; background-color: #20a040; color: white; \
padding: 2px; }
h3 { font-size: 16px; font-weight: bold; margin: 0.5em 0; color: #20a040; }
table.tbl { border-collapse: collapse; border-style: none; }
table.tbl td { text-align: right; border: 1px solid gray; white-space: nowrap; \
padding: 2px 3px; }
table.tbl td.ac { text-align: center; }
table.tbl th { border: 1px solid gray; padding: 2px 3px; }
table.tbl th.pxname { background: #b00040; color: #ffff40; font-weight: bold; \
border-style: solid solid none solid; padding: 2px 3px; white-space: nowrap; }
table.tbl th.empty { border-style: none; empty-cells: hide; background: white; }
table.lgd { border-collapse: collapse; border: 1px solid gray; font-size: 10px; }
table.lgd td { border: 1px solid gray; padding: 2px; }
table.lgd td.noborder { border-style: none; padding: 2px; white-space: nowrap; }
a.px:link, a.px:visited { color: #ffff40; text-decoration: none; }
a.lfsb:link, a.lfsb:visited { color: #000000; text-decoration: none; }
.titre { background: #20d0d0; color: #000000; font-weight: bold; text-align: center; }
.frontend { background: #e8e8d0; }
.backend { background: #e8e8d0; }
.active_down { background: #ff9090; }
.active_going_up { background: #ffd020; }
.active_going_down { background: #ffffa0; }
.active_up { background: #c0ffc0; }
.active_nolb { background: #20a0ff; }
.active_draining { background: #20a0ff; }
.active_no_check { background: #e0e0e0; }
.backup_down { background: #ff9090; }
.backup_going_up { background: #ff80ff; }
.backup_going_down { background: #c060ff; }
.backup_up { background: #b0d0ff; }
.backup_nolb { background: #90b0e0; }
.backup_draining { background: #cc9900; }
.backup_no_check { background: #e0e0e0; }
.maintain { background: #c07820; }
.rls { letter-spacing: 0.2em; margin-right: 1px; }
u { position: relative; text-decoration: underline dotted; }
div.tips { display: block; visibility: hidden; position: absolute; z-index: 2; left: 0;
top: 1.3em; background: #ffffd0; border: 1px solid gray; padding: 2px 4px;
text-align: left; white-space: nowrap; font-weight: normal; }
u:hover div.tips { visibility: visible; }
";

/// The row class of a server (haproxy's colours: up, going down, going up, down,
/// unchecked, maintenance, draining).
pub fn server_class(status: &str, backup: bool) -> &'static str {
    let s = status.trim();
    let (active, backup_c) = if s.starts_with("MAINT") {
        ("maintain", "maintain")
    } else if s.starts_with("DRAIN") || s.starts_with("NOLB") {
        ("active_draining", "backup_draining")
    } else if s == "no check" {
        ("active_no_check", "backup_no_check")
    } else if s == "UP" {
        ("active_up", "backup_up")
    } else if s.starts_with("UP ") {
        ("active_going_down", "backup_going_down")
    } else if s.starts_with("DOWN ") {
        ("active_going_up", "backup_going_up")
    } else {
        ("active_down", "backup_down")
    };
    if backup { backup_c } else { active }
}

fn secs(v: &str) -> Option<u64> {
    v.parse::<i64>().ok().and_then(|n| u64::try_from(n).ok())
}

/// A status cell: `8s UP`, `no check`, `OPEN`.
fn status_cell(r: &Row) -> String {
    let status = r.get("status");
    match secs(r.get("lastchg")) {
        Some(t) if status != "no check" => format!("{} {status}", human_time(t)),
        _ => status.to_string(),
    }
}

/// The last check cell: `L4OK in 0ms`, with its description as a tip.
fn last_check_cell(r: &Row) -> String {
    let st = r.get("check_status");
    if st.is_empty() {
        return "&nbsp;".into();
    }
    let code = r.get("check_code");
    let mut s = esc(st);
    if !code.is_empty() {
        let _ = write!(s, "/{}", esc(code));
    }
    if !r.get("check_duration").is_empty() {
        let _ = write!(s, " in {}ms", esc(r.get("check_duration")));
    }
    let mut tip = esc(r.get("check_desc"));
    if !r.get("last_chk").is_empty() {
        let _ = write!(tip, ": {}", esc(r.get("last_chk")));
    }
    format!("<u>{s}<div class=tips>{tip}</div></u>")
}

fn dash(v: &str) -> String {
    if v.is_empty() { "-".into() } else { esc(v) }
}

/// A number with its thousands set apart (the last digit of each group before the
/// last gets a little letter spacing, so that copying the number copies digits only).
fn grouped(v: &str) -> String {
    if v.len() <= 3 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return esc(v);
    }
    let mut o = String::new();
    let lead = v.len() % 3;
    for (i, c) in v.chars().enumerate() {
        let ends_group = i + 1 < v.len() && (i + 1) % 3 == lead % 3;
        if ends_group {
            let _ = write!(o, "<span class=\"rls\">{c}</span>");
        } else {
            o.push(c);
        }
    }
    o
}

fn td(out: &mut String, v: &str) {
    let _ = write!(out, "<td>{}</td>", grouped(v));
}

/// The HTML page.
pub fn render_html(p: &Page) -> String {
    let uri = esc(&p.cfg.uri);
    let node = p.info.get("node").map(String::as_str).unwrap_or("");
    let mut o = String::with_capacity(16 * 1024);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html><head><title>Statistics Report for tandem{}</title>\n\
         <link rel=\"icon\" href=\"data:,\">\n<meta charset=\"utf-8\">\n<style type=\"text/css\">\n{STYLE}</style></head>\n",
        if node.is_empty() {
            String::new()
        } else {
            format!(" on {}", esc(node))
        }
    );
    let _ = writeln!(
        o,
        "<body><h1>tandem version {}</h1>\n<h2>Statistics Report for pid {}{}</h2>",
        esc(p.version),
        esc(p.info.get("Pid").map(String::as_str).unwrap_or("?")),
        if node.is_empty() {
            String::new()
        } else {
            format!(" on {}", esc(node))
        }
    );
    o.push_str("<hr width=\"100%\" class=\"hr\">\n<h3>&gt; General process information</h3>\n");
    o.push_str("<table border=0><tr><td align=\"left\" nowrap width=\"1%\">\n<p>");
    if p.info.is_empty() {
        o.push_str("<b>The balancer is not configured on this box.</b><br>\n");
    } else {
        let i = |k: &str| esc(p.info.get(k).map(String::as_str).unwrap_or(""));
        let _ = write!(
            o,
            "<b>pid = </b> {}<br>\n<b>uptime = </b> {}<br>\n\
             <b>system limits:</b> ulimit-n = {}<br>\n\
             <b>maxsock = </b> {}; <b>maxconn = </b> {}; <b>maxpipes = </b> {}<br>\n\
             current conns = {}; current pipes = {}/{}; conn rate = {}/sec<br>\n",
            i("Pid"),
            i("Uptime"),
            i("Ulimit-n"),
            i("Maxsock"),
            i("Maxconn"),
            i("Maxpipes"),
            i("CurrConns"),
            i("PipesUsed"),
            i("PipesFree"),
            i("ConnRate"),
        );
        if !i("description").is_empty() {
            let _ = writeln!(o, "<b>description = </b> {}<br>", i("description"));
        }
    }
    o.push_str("</td><td align=\"center\" nowrap>\n<table class=\"lgd\"><tr>\n");
    o.push_str(
        "<td class=\"active_up\">&nbsp;</td><td class=\"noborder\">active UP </td>\
         <td class=\"backup_up\">&nbsp;</td><td class=\"noborder\">backup UP </td></tr><tr>\n\
         <td class=\"active_going_down\"></td><td class=\"noborder\">active UP, going down </td>\
         <td class=\"backup_going_down\"></td><td class=\"noborder\">backup UP, going down </td></tr><tr>\n\
         <td class=\"active_going_up\"></td><td class=\"noborder\">active DOWN, going up </td>\
         <td class=\"backup_going_up\"></td><td class=\"noborder\">backup DOWN, going up </td></tr><tr>\n\
         <td class=\"active_down\"></td><td class=\"noborder\">active or backup DOWN &nbsp;</td>\
         <td class=\"active_no_check\"></td><td class=\"noborder\">not checked </td></tr><tr>\n\
         <td class=\"maintain\"></td><td class=\"noborder\" colspan=\"3\">active or backup DOWN for maintenance (MAINT) &nbsp;</td></tr><tr>\n\
         <td class=\"active_draining\"></td><td class=\"noborder\" colspan=\"3\">active or backup SOFT STOPPED for maintenance &nbsp;</td></tr></table>\n\
         Note: \"NOLB\"/\"DRAIN\" = UP with load-balancing disabled.</td>",
    );
    // Display options: each link keeps the others.
    let keep = |up: bool, norefresh: bool| {
        let mut s = uri.clone();
        if up {
            s.push_str(";up");
        }
        if p.req.no_maint {
            s.push_str(";no-maint");
        }
        if norefresh {
            s.push_str(";norefresh");
        }
        s.push_str(&p.req.scope_query());
        s
    };
    o.push_str("<td align=\"left\" valign=\"top\" nowrap width=\"1%\"><b>Display option:</b><ul style=\"margin-top: 0.25em;\">\n");
    // The scope box (haproxy's): GET to this page with `?scope=...`.
    let _ = writeln!(
        o,
        "<li><form method=\"GET\">Scope : <input value=\"{}\" name=\"scope\" size=\"8\" maxlength=\"{SCOPE_MAX}\" tabindex=\"1\"/></form>",
        esc(p.req.scope.as_deref().unwrap_or(""))
    );
    if p.req.up {
        let _ = writeln!(
            o,
            "<li><a href=\"{}\">Show all servers</a><br>",
            keep(false, p.req.norefresh)
        );
    } else {
        let _ = writeln!(
            o,
            "<li><a href=\"{}\">Hide 'DOWN' servers</a><br>",
            keep(true, p.req.norefresh)
        );
    }
    if p.cfg.refresh.is_some() {
        if p.req.norefresh {
            let _ = writeln!(
                o,
                "<li><a href=\"{}\">Enable refresh</a><br>",
                keep(p.req.up, false)
            );
        } else {
            let _ = writeln!(
                o,
                "<li><a href=\"{}\">Disable refresh</a><br>",
                keep(p.req.up, true)
            );
        }
    }
    let _ = writeln!(
        o,
        "<li><a href=\"{}\">Refresh now</a><br>",
        keep(p.req.up, p.req.norefresh)
    );
    let sq = p.req.scope_query();
    let _ = writeln!(
        o,
        "<li><a href=\"{uri};csv;norefresh{sq}\">CSV export</a><br>"
    );
    let _ = writeln!(
        o,
        "<li><a href=\"{uri};json;norefresh{sq}\">JSON export</a> (<a href=\"{uri};json-schema\">schema</a>)<br>"
    );
    o.push_str("</ul></td></tr></table>\n");
    if let Some(st) = &p.req.st {
        let (class, text) = match st.as_str() {
            "DONE" => ("active_up", "Action processed successfully."),
            "NONE" => ("active_going_down", "Nothing has changed."),
            "PART" => ("active_going_down", "Action partially processed."),
            "ERRP" => (
                "active_down",
                "Action not processed because of invalid parameters.",
            ),
            "EXCD" => (
                "active_down",
                "<b>Action not processed : the form was too large.</b>",
            ),
            "DENY" => ("active_down", "<b>Action denied.</b>"),
            _ => ("", ""),
        };
        if !text.is_empty() {
            let _ = writeln!(
                o,
                "<p><div class={class}><a class=lfsb href=\"{}\" title=\"Remove this message\">[X]</a> {text}</div>",
                keep(p.req.up, p.req.norefresh)
            );
        }
    }
    // One table per listener, rows in `show stat` order.
    let mut i = 0;
    while i < p.rows.len() {
        let px = p.rows[i].get("pxname").to_string();
        let mut j = i;
        while j < p.rows.len() && p.rows[j].get("pxname") == px {
            j += 1;
        }
        proxy_table(&mut o, p, &p.rows[i..j]);
        i = j;
    }
    o.push_str("</body></html>\n");
    o
}

fn proxy_table(o: &mut String, p: &Page, rows: &[Row]) {
    let Some(first) = rows.first() else { return };
    let px = esc(first.get("pxname"));
    let iid = esc(first.get("iid"));
    let admin = p.cfg.admin;
    if admin {
        o.push_str("<form method=\"post\">");
    }
    let _ = write!(
        o,
        "<table class=\"tbl\" width=\"100%\">\n<tr class=\"titre\"><th class=\"pxname\" width=\"10%\">\
         <a name=\"{px}\"></a><a class=px href=\"#{px}\">{px}</a></th><th class=\"empty\" width=\"90%\"></th></tr>\n</table>\n\
         <table class=\"tbl\" width=\"100%\">\n<tr class=\"titre\">"
    );
    if admin {
        let _ = write!(
            o,
            "<th rowspan=2 width=1><input type=\"checkbox\" onclick=\"for (const c of document.getElementsByClassName('px{iid}-checkbox')) c.checked = this.checked\"></th>"
        );
    } else {
        o.push_str("<th rowspan=2></th>");
    }
    o.push_str(
        "<th rowspan=2></th><th colspan=3>Queue</th><th colspan=3>Session rate</th>\
         <th colspan=6>Sessions</th><th colspan=2>Bytes</th><th colspan=2>Denied</th>\
         <th colspan=3>Errors</th><th colspan=2>Warnings</th><th colspan=9>Server</th></tr>\n\
         <tr class=\"titre\"><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th>\
         <th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th><th>LbTot</th>\
         <th>Last</th><th>In</th><th>Out</th><th>Req</th><th>Resp</th><th>Req</th><th>Conn</th>\
         <th>Resp</th><th>Retr</th><th>Redis</th><th>Status</th><th>LastChk</th><th>Wght</th>\
         <th>Act</th><th>Bck</th><th>Chk</th><th>Dwn</th><th>Dwntme</th><th>Thrtle</th>\n</tr>",
    );
    for r in rows {
        match r.get("svname") {
            "FRONTEND" => {
                let _ = write!(
                    o,
                    "<tr class=\"frontend\"><td></td><td class=ac><a name=\"{px}/Frontend\"></a>\
                     <a class=lfsb href=\"#{px}/Frontend\">Frontend</a></td><td colspan=3></td>"
                );
                td(o, r.get("rate"));
                td(o, r.get("rate_max"));
                let lim = r.get("rate_lim");
                let _ = write!(
                    o,
                    "<td>{}</td>",
                    if lim == "0" { "-".into() } else { dash(lim) }
                );
                td(o, r.get("scur"));
                td(o, r.get("smax"));
                td(o, r.get("slim"));
                td(o, r.get("stot"));
                o.push_str("<td></td><td></td>");
                for c in ["bin", "bout", "dreq", "dresp", "ereq"] {
                    td(o, r.get(c));
                }
                o.push_str("<td></td><td></td><td></td><td></td>");
                let _ = writeln!(
                    o,
                    "<td class=ac>{}</td><td class=ac colspan=8></td></tr>",
                    esc(r.get("status"))
                );
            }
            "BACKEND" => {
                let _ = write!(
                    o,
                    "<tr class=\"backend\"><td></td><td class=ac><a name=\"{px}/Backend\"></a>\
                     <a class=lfsb href=\"#{px}/Backend\">Backend</a></td>"
                );
                common_cells(o, r, false);
                let _ = writeln!(
                    o,
                    "<td class=ac>{}</td><td class=ac>&nbsp;</td><td class=ac>{}/{}</td>\
                     <td class=ac>{}</td><td class=ac>{}</td><td class=ac>&nbsp;</td><td>{}</td><td>{}</td><td></td></tr>",
                    esc(&status_cell(r)),
                    esc(r.get("weight")),
                    esc(r.get("uweight")),
                    esc(r.get("act")),
                    esc(r.get("bck")),
                    esc(r.get("chkdown")),
                    secs(r.get("downtime"))
                        .map(human_time)
                        .unwrap_or_else(|| "&nbsp;".into()),
                );
            }
            sv => {
                let sv = esc(sv);
                let backup = r.get("bck") == "1";
                let class = server_class(r.get("status"), backup);
                let _ = write!(o, "<tr class=\"{class}\">");
                if admin {
                    let _ = write!(
                        o,
                        "<td><input class='px{iid}-checkbox' type=\"checkbox\" name=\"s\" value=\"{sv}\"></td>"
                    );
                } else {
                    o.push_str("<td></td>");
                }
                let _ = write!(
                    o,
                    "<td class=ac><a name=\"{px}/{sv}\"></a><a class=lfsb href=\"#{px}/{sv}\">{sv}</a></td>"
                );
                common_cells(o, r, true);
                let checked = !r.get("check_status").is_empty() || r.get("status") != "no check";
                let _ = writeln!(
                    o,
                    "<td class=ac>{}</td><td class=ac>{}</td><td class=ac>{}/{}</td>\
                     <td class=ac>{}</td><td class=ac>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=ac>{}</td></tr>",
                    esc(&status_cell(r)),
                    last_check_cell(r),
                    esc(r.get("weight")),
                    esc(r.get("uweight")),
                    if backup { "-" } else { "Y" },
                    if backup { "Y" } else { "-" },
                    if checked {
                        esc(r.get("chkfail"))
                    } else {
                        String::new()
                    },
                    if checked {
                        esc(r.get("chkdown"))
                    } else {
                        String::new()
                    },
                    if checked {
                        secs(r.get("downtime")).map(human_time).unwrap_or_default()
                    } else {
                        String::new()
                    },
                    match r.get("throttle") {
                        "" => "-".to_string(),
                        t => format!("{}&nbsp;%", esc(t)),
                    },
                );
            }
        }
    }
    o.push_str("</table>");
    if admin {
        o.push_str(
            "Choose the action to perform on the checked servers : <select name=action><option value=\"\"></option>",
        );
        for (v, label, _) in ACTIONS {
            let _ = write!(o, "<option value=\"{v}\">{label}</option>");
        }
        let _ = write!(
            o,
            "</select><input type=\"hidden\" name=\"b\" value=\"#{iid}\">&nbsp;<input type=\"submit\" value=\"Apply\"></form>"
        );
    }
    o.push_str("<p>\n");
}

/// The cells a server and a BACKEND row share: queue, session rate, sessions, bytes,
/// denied, errors, warnings.
fn common_cells(o: &mut String, r: &Row, server: bool) {
    td(o, r.get("qcur"));
    td(o, r.get("qmax"));
    if server {
        let _ = write!(o, "<td>{}</td>", dash(r.get("qlimit")));
    } else {
        o.push_str("<td></td>");
    }
    td(o, r.get("rate"));
    td(o, r.get("rate_max"));
    o.push_str("<td></td>");
    td(o, r.get("scur"));
    td(o, r.get("smax"));
    if server {
        let _ = write!(o, "<td>{}</td>", dash(r.get("slim")));
    } else {
        td(o, r.get("slim"));
    }
    td(o, r.get("stot"));
    td(o, r.get("lbtot"));
    let last = match secs(r.get("lastsess")) {
        Some(t) => human_time(t),
        None => "?".into(),
    };
    td(o, &last);
    td(o, r.get("bin"));
    td(o, r.get("bout"));
    if server {
        o.push_str("<td></td>");
    } else {
        td(o, r.get("dreq"));
    }
    td(o, r.get("dresp"));
    o.push_str("<td></td>");
    td(o, r.get("econ"));
    td(o, r.get("eresp"));
    td(o, r.get("wretr"));
    td(o, r.get("wredis"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> StatsPageConfig {
        StatsPageConfig {
            uri: "/haproxy?stats".into(),
            auth: vec!["admin:pw".into(), "ro:x:y".into()],
            ..StatsPageConfig::default()
        }
    }

    #[test]
    fn targets_are_matched_by_prefix_with_options_anywhere_after() {
        let u = "/haproxy?stats";
        assert_eq!(parse_target("/haproxy", u, false), None);
        assert_eq!(parse_target("/other", u, false), None);
        let r = parse_target("/haproxy?stats", u, false).unwrap();
        assert_eq!(r.format, Format::Html);
        assert!(!r.up && !r.norefresh && r.st.is_none());
        let r = parse_target("/haproxy?stats;csv;norefresh", u, true).unwrap();
        assert_eq!(r.format, Format::Csv);
        assert!(r.norefresh);
        // `;norefresh` means nothing without a configured refresh.
        assert!(
            !parse_target("/haproxy?stats;norefresh", u, false)
                .unwrap()
                .norefresh
        );
        assert_eq!(
            parse_target("/haproxy?statsXYZ;json", u, false)
                .unwrap()
                .format,
            Format::Json
        );
        assert_eq!(
            parse_target("/haproxy?stats;json-schema", u, false)
                .unwrap()
                .format,
            Format::JsonSchema
        );
        assert_eq!(
            parse_target("/haproxy?stats;typed", u, false)
                .unwrap()
                .format,
            Format::Typed
        );
        let r = parse_target("/haproxy?stats;st=DONE;up;no-maint", u, false).unwrap();
        assert_eq!(r.st.as_deref(), Some("DONE"));
        assert!(r.up && r.no_maint);
        assert_eq!(r.stat_args(&StatsPageConfig::default()), " no-legends up");
        assert_eq!(
            redirect(u, &r, Outcome::Part),
            "/haproxy?stats;st=PART;up;no-maint"
        );
    }

    #[test]
    fn the_scope_box_filters_listeners_as_haproxy() {
        let u = "/haproxy?stats";
        let r = parse_target("/haproxy?stats;up?scope=MySQL_rw", u, false).unwrap();
        assert_eq!(r.scope.as_deref(), Some("MySQL_rw"));
        assert_eq!(
            r.stat_args(&StatsPageConfig::default()),
            " no-legends up scope=MySQL_rw"
        );
        assert_eq!(
            redirect(u, &r, Outcome::Done),
            "/haproxy?stats;st=DONE;up?scope=MySQL_rw"
        );
        // Cut at `;`, `&` or a blank, and to 20 characters.
        let sc = |t: &str| parse_target(t, u, false).unwrap().scope;
        assert_eq!(sc("/haproxy?stats;csv;scope=ab;up").as_deref(), Some("ab"));
        assert_eq!(
            sc("/haproxy?stats?scope=a.b-c:d&x=1").as_deref(),
            Some("a.b-c:d")
        );
        assert_eq!(
            sc("/haproxy?stats?scope=abcdefghijklmnopqrstuvwxyz").as_deref(),
            Some("abcdefghijklmnopqrst")
        );
        // Empty, or a character haproxy refuses in a name: no scope.
        assert_eq!(sc("/haproxy?stats?scope="), None);
        assert_eq!(sc("/haproxy?stats?scope=a%20b"), None);
        assert_eq!(sc("/haproxy?stats?scope=<b>"), None);
        assert_eq!(sc("/haproxy?stats"), None);

        // The page: the box holds the scope, and the links keep it.
        let cfg = cfg();
        let html = render_html(&Page {
            cfg: &cfg,
            req: &r,
            rows: &[],
            info: &HashMap::new(),
            version: "0",
        });
        assert!(
            html.contains("<form method=\"GET\">Scope : <input value=\"MySQL_rw\" name=\"scope\" size=\"8\" maxlength=\"20\" tabindex=\"1\"/></form>"),
            "{html}"
        );
        assert!(
            html.contains("href=\"/haproxy?stats?scope=MySQL_rw\">Show all servers"),
            "{html}"
        );
        assert!(
            html.contains("href=\"/haproxy?stats;csv;norefresh?scope=MySQL_rw\">CSV export"),
            "{html}"
        );
    }

    #[test]
    fn forms_from_another_site_are_refused() {
        let host = Some("127.0.0.1:9188");
        assert!(same_origin(None, None, host), "a script");
        assert!(same_origin(Some("http://127.0.0.1:9188"), None, host));
        assert!(same_origin(
            None,
            Some("http://127.0.0.1:9188/haproxy?stats;up"),
            host
        ));
        assert!(!same_origin(Some("http://evil.example"), None, host));
        assert!(!same_origin(Some("http://127.0.0.1:9189"), None, host));
        assert!(!same_origin(Some("null"), None, host));
        assert!(!same_origin(None, Some("https://evil.example/x"), host));
        assert!(!same_origin(Some("http://127.0.0.1:9188"), None, None));
        assert!(same_bytes("abc", "abc") && !same_bytes("abc", "abd") && !same_bytes("ab", "abc"));
        for h in [
            "127.0.0.1:9188",
            "localhost:9188",
            "LOCALHOST",
            "[::1]:9188",
            "10.0.0.1",
        ] {
            assert!(host_is_an_address(Some(h)), "{h}");
        }
        for h in ["evil.example:9188", "evil.example", "[nope]:1", ""] {
            assert!(!host_is_an_address(Some(h)), "{h}");
        }
        assert!(!host_is_an_address(None));
    }

    #[test]
    fn basic_authentication() {
        let c = cfg();
        // admin:pw
        assert!(authorized(Some("Basic YWRtaW46cHc="), &c));
        assert!(authorized(Some("basic YWRtaW46cHc"), &c));
        // A password with a colon: the first colon splits.
        assert!(authorized(Some("Basic cm86eDp5"), &c));
        // admin:px, no header, another scheme, garbage.
        assert!(!authorized(Some("Basic YWRtaW46cHg="), &c));
        assert!(!authorized(None, &c));
        assert!(!authorized(Some("Bearer YWRtaW46cHc="), &c));
        assert!(!authorized(Some("Basic !!!"), &c));
        assert!(!authorized(Some("Basic YWRtaW4="), &c));
        // No auth configured: open.
        assert!(authorized(None, &StatsPageConfig::default()));
        assert_eq!(base64_decode("aGVsbG8gd29ybGQ=").unwrap(), b"hello world");
        assert_eq!(base64_decode("YQ").unwrap(), b"a");
        assert_eq!(base64_decode("Y"), None);
    }

    fn rows() -> Vec<Row> {
        parse_csv(
            "# pxname,svname,iid,status,desc\n\
             l,FRONTEND,2,OPEN,\n\
             l,a,2,UP,\"x, y\"\n\
             l,BACKEND,2,UP,\n\
             m,FRONTEND,3,OPEN,\n\
             m,BACKEND,3,UP,\n",
        )
    }

    #[test]
    fn csv_rows_with_quoted_fields() {
        let r = rows();
        assert_eq!(r.len(), 5);
        assert_eq!(r[1].get("desc"), "x, y");
        assert_eq!(r[1].get("nope"), "");
        assert_eq!(csv_fields("a,\"b \"\"q\"\"\",c"), vec!["a", "b \"q\"", "c"]);
    }

    #[test]
    fn forms_become_admin_commands() {
        let f = parse_form(b"s=a&s=b%2Fx&action=drain&b=%233");
        assert_eq!(f.servers, vec!["a", "b/x"]);
        assert_eq!(f.backend.as_deref(), Some("#3"));
        // Listener m has no server a: neither checked name makes a command.
        assert_eq!(form_commands(&f, &rows()).unwrap(), (vec![], 2));
        let by_name = parse_form(b"s=a&action=shutdown&b=l");
        assert_eq!(
            form_commands(&by_name, &rows()).unwrap(),
            (vec!["shutdown sessions server l/a".to_string()], 1)
        );
        let f = parse_form(b"s=a&s=zz&action=dhlth&b=%232");
        assert_eq!(
            form_commands(&f, &rows()).unwrap(),
            (vec!["disable health l/a".to_string()], 2)
        );
        // Nothing but a server's name reaches a command.
        for s in [
            "a addr 10.6.6.6 port 22",
            "a weight 0",
            "BACKEND",
            "FRONTEND",
        ] {
            let f = parse_form(format!("s={}&action=ready&b=l", s.replace(' ', "+")).as_bytes());
            assert_eq!(form_commands(&f, &rows()).unwrap(), (vec![], 1), "{s}");
        }
        // No server checked; unknown action, listener; no action.
        assert_eq!(
            form_commands(&parse_form(b"action=ready&b=%232"), &rows()),
            Err(Outcome::None)
        );
        assert_eq!(
            form_commands(&parse_form(b"s=a&action=bogus&b=%232"), &rows()),
            Err(Outcome::Errp)
        );
        assert_eq!(
            form_commands(&parse_form(b"s=a&action=ready&b=%239"), &rows()),
            Err(Outcome::Errp)
        );
        assert_eq!(
            form_commands(&parse_form(b"s=a&b=%232"), &rows()),
            Err(Outcome::Errp)
        );
        assert_eq!(outcome(2, 2), Outcome::Done);
        assert_eq!(outcome(1, 2), Outcome::Part);
        assert_eq!(outcome(0, 2), Outcome::Errp);
        assert_eq!(url_decode(b"a+b%41%zz%4"), "a bA%zz%4");
    }

    #[test]
    fn server_rows_are_coloured_by_state() {
        assert_eq!(server_class("UP", false), "active_up");
        assert_eq!(server_class("UP", true), "backup_up");
        assert_eq!(server_class("UP 1/3", false), "active_going_down");
        assert_eq!(server_class("DOWN 1/2", true), "backup_going_up");
        assert_eq!(server_class("DOWN", false), "active_down");
        assert_eq!(server_class("no check", false), "active_no_check");
        assert_eq!(server_class("MAINT", true), "maintain");
        assert_eq!(server_class("MAINT (resolution)", false), "maintain");
        assert_eq!(server_class("DRAIN", false), "active_draining");
        assert_eq!(server_class("NOLB", true), "backup_draining");
    }

    #[test]
    fn the_page_escapes_and_lists_every_row() {
        let csv = "# pxname,svname,iid,status,lastchg,check_status,check_duration,check_desc,weight,uweight,bck,scur,bin\n\
                   l,FRONTEND,2,OPEN,,,,,,,,1,108763\n\
                   l,<b>,2,DOWN,5,L4CON,0,Layer4 connection problem,1,1,0,0,0\n\
                   l,c,2,UP,65,,,,2,2,1,1,1014\n\
                   l,BACKEND,2,UP,65,,,,2,3,1,1,1014\n";
        let rows = parse_csv(csv);
        let mut c = cfg();
        c.admin = true;
        let req = parse_target("/haproxy?stats;st=DONE", &c.uri, false).unwrap();
        let info = parse_info("Pid: 42\nUptime: 0d 0h01m05s\nnode: box-a\n");
        let html = render_html(&Page {
            cfg: &c,
            req: &req,
            rows: &rows,
            info: &info,
            version: "1.2.3",
        });
        assert!(html.contains("Statistics Report for pid 42 on box-a"));
        assert!(html.contains("Action processed successfully."));
        assert!(html.contains("&lt;b&gt;"));
        assert!(!html.contains("<b></td>"));
        assert!(html.contains("<tr class=\"active_down\">"));
        assert!(html.contains("<tr class=\"backup_up\">"));
        assert!(html.contains("5s DOWN"));
        assert!(html.contains("1m5s UP"));
        assert!(html.contains("L4CON in 0ms<div class=tips>Layer4 connection problem</div>"));
        assert!(html.contains("<input type=\"hidden\" name=\"b\" value=\"#2\">"));
        assert!(html.contains("name=\"s\" value=\"c\""));
        assert!(html.contains("<td>10<span class=\"rls\">8</span>763</td>"));
        assert!(html.contains("<td><span class=\"rls\">1</span>014</td>"));
        assert!(
            html.contains("<td class=ac>2/3</td>"),
            "weight / user weight"
        );
        assert!(html.contains("<option value=\"drain\">Set state to DRAIN</option>"));
        c.admin = false;
        let html = render_html(&Page {
            cfg: &c,
            req: &req,
            rows: &rows,
            info: &HashMap::new(),
            version: "1.2.3",
        });
        // Read-only: no admin form (the scope box is a GET form).
        assert!(!html.contains("<form method=\"post\""));
        assert_eq!(html.matches("<form").count(), 1, "{html}");
        assert!(html.contains("The balancer is not configured"));
    }
}
