//! keepalived.conf → `node`, `script_security`, `track_scripts` and `vrrp`.

use std::path::{Path, PathBuf};

use super::{ReadError, Warnings, Y, seconds, shell_words};

/// One statement: a keyword, its arguments and, for `keyword { ... }`, a block.
#[derive(Debug, Clone)]
pub struct Stmt {
    pub key: String,
    pub args: Vec<String>,
    pub line: usize,
    pub block: Option<Vec<Stmt>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Open,
    Close,
}

/// Tokens with their line numbers; a new line starts a new statement.
fn tokenize(text: &str) -> Vec<(Tok, usize)> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let mut chars = raw.chars().peekable();
        let mut cur = String::new();
        let mut quoted = false;
        let flush = |cur: &mut String, quoted: &mut bool, out: &mut Vec<(Tok, usize)>| {
            if !cur.is_empty() || *quoted {
                out.push((Tok::Word(std::mem::take(cur)), line));
                *quoted = false;
            }
        };
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    // A quoted string is one word (keepalived keeps it whole).
                    quoted = true;
                    for d in chars.by_ref() {
                        if d == '"' {
                            break;
                        }
                        cur.push(d);
                    }
                }
                '#' | '!' if cur.is_empty() && !quoted => break,
                '{' => {
                    flush(&mut cur, &mut quoted, &mut out);
                    out.push((Tok::Open, line));
                }
                '}' => {
                    flush(&mut cur, &mut quoted, &mut out);
                    out.push((Tok::Close, line));
                }
                c if c.is_whitespace() => flush(&mut cur, &mut quoted, &mut out),
                c => cur.push(c),
            }
        }
        flush(&mut cur, &mut quoted, &mut out);
    }
    out
}

/// Parses the brace syntax into statements. Unbalanced braces are reported as warnings.
pub fn parse(text: &str, w: &mut Warnings) -> Vec<Stmt> {
    let toks = tokenize(text);
    let mut pos = 0;
    let mut stmts = parse_block(&toks, &mut pos, w, 0);
    // A `}` with no block to close: keepalived reports "Extra '}' found" and reads on.
    while pos < toks.len() {
        w.warn(
            toks[pos].1,
            "extra `}` with no block to close; ignored (keepalived ignores it too and reads on)",
        );
        pos += 1;
        stmts.extend(parse_block(&toks, &mut pos, w, 0));
    }
    stmts
}

fn parse_block(
    toks: &[(Tok, usize)],
    pos: &mut usize,
    w: &mut Warnings,
    depth: usize,
) -> Vec<Stmt> {
    let mut out: Vec<Stmt> = Vec::new();
    while *pos < toks.len() {
        let (tok, line) = &toks[*pos];
        match tok {
            Tok::Close => {
                if depth == 0 {
                    return out;
                }
                *pos += 1;
                return out;
            }
            Tok::Open => {
                // `{` on its own line opens the block of the previous statement.
                *pos += 1;
                let block = parse_block(toks, pos, w, depth + 1);
                match out.last_mut() {
                    Some(s) if s.block.is_none() => s.block = Some(block),
                    _ => w.warn(*line, "a `{` block without a keyword; ignored"),
                }
            }
            Tok::Word(first) => {
                let mut s = Stmt {
                    key: first.clone(),
                    args: Vec::new(),
                    line: *line,
                    block: None,
                };
                *pos += 1;
                while let Some((Tok::Word(a), l)) = toks.get(*pos) {
                    if l != line {
                        break;
                    }
                    s.args.push(a.clone());
                    *pos += 1;
                }
                if let Some((Tok::Open, l)) = toks.get(*pos)
                    && l == line
                {
                    *pos += 1;
                    s.block = Some(parse_block(toks, pos, w, depth + 1));
                }
                out.push(s);
            }
        }
    }
    if depth > 0 {
        let last = toks.last().map(|t| t.1).unwrap_or(1);
        w.warn(last, "a `{` block is not closed at the end of the file");
    }
    out
}

/// What keepalived.conf contributes to the document.
#[derive(Debug, Default)]
pub struct Parts {
    pub node: Option<String>,
    pub script_security: Option<bool>,
    pub track_scripts: Vec<(String, Y)>,
    pub track_processes: Vec<(String, Y)>,
    pub track_files: Vec<(String, Y)>,
    pub vrrp: Option<Y>,
}

/// The `vrrp_script` names an instance may track: those imported, and those keepalived
/// drops (no or an empty `script`).
struct Scripts {
    /// Imported scripts, with the line of their `vrrp_script`.
    defined: Vec<(String, usize)>,
    dropped: Vec<String>,
    /// Imported `vrrp_track_process` names.
    processes: Vec<String>,
    /// Imported `track_file` (`vrrp_track_file`) names.
    files: Vec<String>,
}

struct Globals {
    script_user: Option<String>,
    script_group: Option<String>,
    /// `script_user root`: the scripts and hooks are imported without `user`/`group`, so
    /// they run as tandem's own user (see [`script_user_advice`]).
    script_user_root: bool,
    version: Option<i64>,
    garp: Vec<(String, Y)>,
}

/// A keepalived.conf with its `include` files spliced in, as keepalived reads it: the
/// lines in order and, for each, the file and line it came from.
#[derive(Debug, Default)]
pub struct Expanded {
    pub text: String,
    pub origin: Vec<(String, usize)>,
    /// Findings about the includes themselves (no file matched, too deep...).
    pub warnings: Vec<super::Warning>,
}

/// keepalived's limit on nested includes is far higher; this only stops a loop.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Reads `path` and follows its `include PATTERN` lines (a path or a glob with `*`, `?`
/// and `[...]`; relative to the including file's directory), like keepalived does.
pub fn read_expanded(path: &Path) -> Result<Expanded, ReadError> {
    let mut e = Expanded::default();
    expand_into(path, 0, &mut e)?;
    Ok(e)
}

fn expand_into(path: &Path, depth: usize, e: &mut Expanded) -> Result<(), ReadError> {
    let text = super::read(path)?;
    let file = path.display().to_string();
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    for (i, raw) in text.lines().enumerate() {
        let words: Vec<String> = tokenize(raw)
            .into_iter()
            .filter_map(|(t, _)| match t {
                Tok::Word(w) => Some(w),
                _ => None,
            })
            .collect();
        if words.first().map(String::as_str) == Some("include") && words.len() == 2 {
            let pattern = &words[1];
            let warn = |e: &mut Expanded, message: String| {
                e.warnings.push(super::Warning {
                    file: file.clone(),
                    line: i + 1,
                    message,
                })
            };
            if depth >= MAX_INCLUDE_DEPTH {
                warn(
                    e,
                    format!(
                        "`include {pattern}`: includes nested too deeply (a loop?); not followed"
                    ),
                );
                continue;
            }
            let full = if Path::new(pattern).is_absolute() {
                PathBuf::from(pattern)
            } else {
                dir.join(pattern)
            };
            let files = glob(&full);
            if files.is_empty() {
                warn(
                    e,
                    format!("`include {pattern}`: no file matches (keepalived skips it too)"),
                );
            }
            for f in files {
                expand_into(&f, depth + 1, e)?;
            }
            continue;
        }
        e.text.push_str(raw);
        e.text.push('\n');
        e.origin.push((file.clone(), i + 1));
    }
    Ok(())
}

/// The files matching a path whose components may hold `*`, `?` and `[...]`, sorted.
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for comp in pattern.components() {
        let part = comp.as_os_str().to_string_lossy();
        let wild = part.contains(['*', '?', '[']);
        let mut next = Vec::new();
        for base in &found {
            if !wild {
                next.push(base.join(comp));
                continue;
            }
            let dir = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base.as_path()
            };
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<String> = rd
                .filter_map(|d| d.ok())
                .map(|d| d.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.') || part.starts_with('.'))
                .filter(|n| wildmatch(part.as_bytes(), n.as_bytes()))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| base.join(n)));
        }
        found = next;
    }
    found.into_iter().filter(|p| p.is_file()).collect()
}

/// Shell wildcard matching of one path component (`*`, `?`, `[abc]`, `[a-z]`, `[!x]`).
fn wildmatch(p: &[u8], n: &[u8]) -> bool {
    wm(p, n, &mut std::collections::HashSet::new())
}

/// [`wildmatch`], remembering the (pattern, name) suffixes that failed: each is tried
/// once, so `*a*a*a…b` costs polynomial, not exponential, time.
fn wm(p: &[u8], n: &[u8], failed: &mut std::collections::HashSet<(usize, usize)>) -> bool {
    if failed.contains(&(p.len(), n.len())) {
        return false;
    }
    let r = wm_step(p, n, failed);
    if !r {
        failed.insert((p.len(), n.len()));
    }
    r
}

fn wm_step(p: &[u8], n: &[u8], failed: &mut std::collections::HashSet<(usize, usize)>) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some(b'*') => (0..=n.len()).any(|i| wm(&p[1..], &n[i..], failed)),
        Some(b'?') => !n.is_empty() && wm(&p[1..], &n[1..], failed),
        Some(b'[') => {
            let Some(end) = p.iter().skip(2).position(|&c| c == b']').map(|i| i + 2) else {
                return n.first() == Some(&b'[') && wm(&p[1..], &n[1..], failed);
            };
            let Some(&c) = n.first() else { return false };
            let (neg, set) = match &p[1..end] {
                [b'!' | b'^', rest @ ..] => (true, rest),
                set => (false, set),
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == b'-' {
                    hit |= (set[i]..=set[i + 2]).contains(&c);
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != neg && wm(&p[end + 1..], &n[1..], failed)
        }
        Some(&c) => n.first() == Some(&c) && wm(&p[1..], &n[1..], failed),
    }
}

/// Converts an [`Expanded`] keepalived.conf: warnings name the file and line each
/// statement came from.
pub fn convert_expanded(e: &Expanded) -> (Parts, Vec<super::Warning>) {
    convert_expanded_with(e, &Context::default())
}

/// [`convert_expanded`], knowing what else the same import brings (`ctx`).
pub fn convert_expanded_with(e: &Expanded, ctx: &Context) -> (Parts, Vec<super::Warning>) {
    let (parts, list) = convert_with(&e.text, "", ctx);
    let mut warnings = e.warnings.clone();
    warnings.extend(list.into_iter().map(|mut w| {
        if let Some((f, l)) = w.line.checked_sub(1).and_then(|i| e.origin.get(i)) {
            w.file = f.clone();
            w.line = *l;
        }
        w
    }));
    (parts, warnings)
}

/// Converts keepalived.conf text; `file` names it in warnings.
pub fn convert(text: &str, file: &str) -> (Parts, Vec<super::Warning>) {
    convert_with(text, file, &Context::default())
}

/// Converts keepalived.conf text, knowing what else the same import brings (`ctx`).
pub fn convert_with(text: &str, file: &str, ctx: &Context) -> (Parts, Vec<super::Warning>) {
    let mut w = Warnings::new(file);
    let stmts = parse(text, &mut w);
    let mut parts = Parts::default();
    let mut g = Globals {
        script_user: None,
        script_group: None,
        script_user_root: false,
        version: None,
        garp: Vec::new(),
    };
    let mut notify_fifo = None;
    // global_defs first: its defaults apply to every instance and script.
    for s in stmts.iter().filter(|s| s.key == "global_defs") {
        for d in s.block.iter().flatten() {
            global_def(d, &mut g, &mut parts, &mut notify_fifo, &mut w);
        }
    }
    let mut instances = Vec::new();
    let mut groups = Vec::new();
    let mut group_tracks: Vec<GroupTracks> = Vec::new();
    // The scripts first: an instance's `track_script` entries naming a script keepalived
    // dropped (or one that does not exist) are ignored by keepalived, so left out here.
    let mut dropped = Vec::new();
    let mut defined = Vec::new();
    let mut infos = Vec::new();
    for s in stmts.iter().filter(|s| s.key == "vrrp_script") {
        // A script's own findings wait until it is known whether a built-in tracker
        // replaces it (then they are moot).
        let mut sw = Warnings::new(file);
        match vrrp_script(s, &g, &mut sw) {
            Some((name, y, mut info)) => {
                defined.push((name.clone(), s.line));
                parts.track_scripts.push((name, y));
                info.warnings = sw.list;
                infos.push(info);
            }
            None => {
                dropped.extend(s.args.first().cloned());
                w.list.extend(sw.list);
            }
        }
    }
    let mut processes = Vec::new();
    for s in stmts.iter().filter(|s| s.key == "vrrp_track_process") {
        if let Some((name, y)) = vrrp_track_process(s, &mut w) {
            processes.push(name.clone());
            parts.track_processes.push((name, y));
        }
    }
    let mut files = Vec::new();
    for s in stmts
        .iter()
        .filter(|s| s.key == "track_file" || s.key == "vrrp_track_file")
    {
        if let Some((name, y)) = track_file(s, &mut w) {
            files.push(name.clone());
            parts.track_files.push((name, y));
        }
    }
    let scripts = Scripts {
        defined,
        dropped,
        processes,
        files,
    };
    for s in &stmts {
        match s.key.as_str() {
            "global_defs" | "vrrp_script" | "vrrp_track_process" | "track_file"
            | "vrrp_track_file" => {}
            "vrrp_instance" => {
                if let Some(y) = vrrp_instance(s, &g, &scripts, &mut w) {
                    instances.push(y);
                }
            }
            "garp_group" => garp_group(s, &mut w),
            "vrrp_sync_group" => {
                if let Some((y, t)) = sync_group(s, &scripts, &mut w) {
                    groups.push(y);
                    group_tracks.push(t);
                }
            }
            "virtual_server" | "virtual_server_group" => w.no_equivalent(
                s.line,
                &s.key,
                "LVS/IPVS load balancing; tandem balances TCP with `balancer.listeners` (haproxy-style), import the haproxy.cfg with --haproxy",
            ),
            "include" => w.warn(
                s.line,
                format!(
                    "`include {}` is not followed (one file or glob pattern expected); import the included file separately",
                    s.args.join(" ")
                ),
            ),
            "static_ipaddress" | "static_routes" | "static_rules" => w.no_equivalent(
                s.line,
                &s.key,
                "tandem does not manage static addresses or routes; configure them with the system's network tools",
            ),
            other => w.no_equivalent(s.line, other, ""),
        }
    }
    for t in &group_tracks {
        apply_group_tracks(t, &mut instances, &parts, &mut w);
    }
    let mut replaced = replace_checks(&mut instances, &infos, ctx, &mut w);
    // Scripts checking haproxy or MyCat, when kept, stay scripts (warned above).
    let remaining: Vec<&ScriptInfo> = infos
        .iter()
        .filter(|i| !replaced.contains(&i.name) && checks_what(&i.text, i.probe, ctx).is_none())
        .collect();
    replaced.extend(scripts_to_processes(
        &mut instances,
        &remaining,
        &mut parts,
        &mut w,
    ));
    parts
        .track_scripts
        .retain(|(name, _)| !replaced.contains(name));
    for info in infos {
        if !replaced.contains(&info.name) {
            w.list.extend(info.warnings);
        }
    }
    if !instances.is_empty() || !groups.is_empty() || notify_fifo.is_some() {
        let mut v = Y::map();
        v.set("instances", Y::Seq(instances));
        if !groups.is_empty() {
            v.set("sync_groups", Y::Seq(groups));
        }
        if let Some(f) = notify_fifo {
            v.set("notify_fifo", Y::Str(f));
        }
        parts.vrrp = Some(v);
    }
    // In file order: some findings are only known at the end of their block.
    w.list.sort_by_key(|w| w.line);
    (parts, w.list)
}

fn arg1<'a>(s: &'a Stmt, w: &mut Warnings) -> Option<&'a str> {
    match s.args.first() {
        Some(a) => Some(a.as_str()),
        None => {
            w.warn(s.line, format!("`{}` has no value; ignored", s.key));
            None
        }
    }
}

fn int_arg(s: &Stmt, w: &mut Warnings) -> Option<i64> {
    let a = arg1(s, w)?;
    match a.parse::<i64>() {
        Ok(v) => Some(v),
        Err(_) => {
            w.warn(
                s.line,
                format!("`{} {a}`: not a whole number; ignored", s.key),
            );
            None
        }
    }
}

fn secs_arg(s: &Stmt, w: &mut Warnings) -> Option<Y> {
    let a = arg1(s, w)?;
    match seconds(a) {
        Some(d) => Some(Y::Raw(d)),
        None => {
            w.warn(
                s.line,
                format!("`{} {a}`: not a number of seconds; ignored", s.key),
            );
            None
        }
    }
}

fn global_def(
    d: &Stmt,
    g: &mut Globals,
    parts: &mut Parts,
    fifo: &mut Option<String>,
    w: &mut Warnings,
) {
    let garp_key = match d.key.as_str() {
        "vrrp_garp_master_delay" => Some(("master_delay", true)),
        "vrrp_garp_master_repeat" => Some(("master_repeat", false)),
        "vrrp_garp_master_refresh" => Some(("master_refresh", true)),
        "vrrp_garp_master_refresh_repeat" => Some(("master_refresh_repeat", false)),
        _ => None,
    };
    if let Some((k, is_dur)) = garp_key {
        let v = if is_dur {
            secs_arg(d, w)
        } else {
            int_arg(d, w).map(Y::Int)
        };
        if let Some(v) = v {
            g.garp.push((k.to_string(), v));
        }
        return;
    }
    match d.key.as_str() {
        "vrrp_garp_interval" | "vrrp_gna_interval" => garp_interval(d, w),
        "router_id" => parts.node = arg1(d, w).map(str::to_string),
        "script_user" => {
            g.script_user = d.args.first().cloned();
            g.script_group = d.args.get(1).cloned();
            if let Some(u) = &g.script_user {
                g.script_user_root = is_root(u);
                if let Some(m) = script_user_advice(u, g.script_group.as_deref()) {
                    w.warn(d.line, m);
                }
            }
        }
        "enable_script_security" => parts.script_security = Some(true),
        "vrrp_version" => g.version = int_arg(d, w),
        "vrrp_notify_fifo" | "notify_fifo" => {
            *fifo = arg1(d, w).map(str::to_string);
            if d.key == "notify_fifo" {
                w.warn(
                    d.line,
                    "`notify_fifo` also receives LVS/checker lines in keepalived; tandem's `vrrp.notify_fifo` gets the VRRP lines",
                );
            }
            if d.args.len() > 1 {
                w.no_equivalent(
                    d.line,
                    &format!("{} ... {}", d.key, d.args[1..].join(" ")),
                    "the FIFO script and user options; run the reader yourself",
                );
            }
        }
        "notification_email"
        | "notification_email_from"
        | "smtp_server"
        | "smtp_connect_timeout"
        | "smtp_alert" => w.no_equivalent(
            d.line,
            &d.key,
            "tandem sends no mail; alert on `tandem_vrrp_state` or use notify hooks",
        ),
        "vrrp_skip_check_adv_addr" => w.no_equivalent(
            d.line,
            &d.key,
            "tandem accepts adverts whose address list differs and logs it",
        ),
        "vrrp_strict" => w.no_equivalent(
            d.line,
            &d.key,
            "tandem follows RFC 3768/5798 elections; no iptables rules are added",
        ),
        _ => w.no_equivalent(d.line, &format!("global_defs {}", d.key), ""),
    }
}

/// Whether a `script_user`/`user` names root.
fn is_root(user: &str) -> bool {
    user == "root" || user == "0"
}

/// The user the shipped systemd unit runs tandem as: scripts running as it need no switch.
const UNIT_USER: &str = "tandem";

/// Why a script or hook with `user: U` fails under the shipped systemd unit, and what to do.
fn setuid_note(user: &str) -> String {
    format!(
        "tandem can switch to `{user}` only with CAP_SETUID and CAP_SETGID, which the shipped systemd unit leaves out (it runs tandem as user `{UNIT_USER}`), so there every run would fail with \"cannot run as user {user}\": add them with a drop-in (README, \"systemd\"), or drop `user` to run as tandem's own user"
    )
}

/// The warning for `script_user U [G]`. keepalived wants `script_user` set (it warns
/// "script_user not set" otherwise), so `script_user root` is in most configs; tandem runs
/// scripts as its own user by default, and `user: root` would fail under the shipped
/// unit, so root is dropped. Another user is kept.
fn script_user_advice(user: &str, group: Option<&str>) -> Option<String> {
    let group_too = group
        .map(|g| format!(" (and group `{g}`)"))
        .unwrap_or_default();
    Some(if is_root(user) {
        format!(
            "`script_user {user}`: the track scripts and notify hooks are imported without `user`{group_too}, so they run as tandem's own user (`{UNIT_USER}` under the shipped systemd unit, which cannot switch to root: with `user: root` every run would fail with \"cannot run as user root\"). keepalived only wants `script_user` set, which is why it is usually root. A script that really needs root: give tandem CAP_SETUID and CAP_SETGID with a drop-in (README, \"systemd\") and set `user: root` on that script, or run tandem as root (`User=root` in a drop-in); `sudo` does not work under the unit (NoNewPrivileges)"
        )
    } else if user == UNIT_USER && group.is_none_or(|g| g == UNIT_USER) {
        return None;
    } else {
        format!(
            "`script_user {user}`: imported as the `user`{group_too} of every track script without its own and of the notify hooks; {}",
            setuid_note(user)
        )
    })
}

/// `vrrp_garp_interval`/`vrrp_gna_interval` (global), `garp_interval`/`gna_interval` (in
/// a `garp_group`): the delay between two gratuitous ARPs / unsolicited NAs. keepalived's
/// default, 0, sends them back to back, as tandem always does: only another value is
/// worth a warning.
fn garp_interval(d: &Stmt, w: &mut Warnings) {
    let v = d.args.first().map(String::as_str).unwrap_or("");
    if v.parse::<f64>().is_ok_and(|f| f == 0.0) {
        return;
    }
    w.no_equivalent(
        d.line,
        &format!("{} {v}", d.key),
        "tandem sends its gratuitous ARPs / unsolicited NAs back to back, as keepalived does with its default 0",
    );
}

/// `garp_group { garp_interval N; gna_interval N; interface(s) }`: only a delay other
/// than 0 makes a difference (see [`garp_interval`]).
fn garp_group(s: &Stmt, w: &mut Warnings) {
    for d in s.block.iter().flatten() {
        match d.key.as_str() {
            "garp_interval" | "gna_interval" => garp_interval(d, w),
            "interface" | "interfaces" => {}
            other => w.no_equivalent(d.line, &format!("garp_group {other}"), ""),
        }
    }
}

/// What the other inputs of the same `tandem import` bring, for the keepalived part: a
/// `vrrp_script` checking haproxy or MyCat is replaced by a built-in tracker only when
/// tandem replaces that program in the same document.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The balancer listeners imported from haproxy.cfg that a VIP's health may follow;
    /// `None` without `--haproxy`.
    pub listeners: Option<Vec<ListenerRef>>,
    /// A router is imported from MyCat (`--mycat-dir`).
    pub router: bool,
    /// Ports that mark a check as a MyCat check besides MyCat's defaults (the router's
    /// `listen` and `admin_listen` ports, haproxy's check ports for those servers).
    pub mycat_ports: Vec<u16>,
}

/// A balancer listener, as [`Context`] knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerRef {
    pub name: String,
    /// `198.18.0.1:3306`, `0.0.0.0:3306`, `[::]:3306`.
    pub bind: String,
}

/// MyCat's own ports, which mark a check as a MyCat check: `serverPort` and `managerPort`
/// defaults, and 48700, the xinetd `mycat_status` port of the usual MyCat HA setup (which
/// haproxy's `check port 48700` asks).
const MYCAT_PORTS: [u16; 3] = [8066, 9066, 48700];

/// A program tandem replaces, which a `vrrp_script` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Checks {
    Haproxy,
    Mycat,
}

/// A `vrrp_script` as imported, with what deciding on its replacement needs.
struct ScriptInfo {
    name: String,
    /// The line of its `script`.
    line: usize,
    text: String,
    /// Only looks for a process or a listening port (see [`is_probe`]).
    probe: bool,
    /// keepalived ran only this first word of an unquoted multi-word `script`.
    ran_only: Option<String>,
    weight: i64,
    reverse: bool,
    /// The findings of its conversion: moot when a built-in tracker replaces it.
    warnings: Vec<super::Warning>,
}

/// Whether `text` mentions one of `ports` as a number of its own (`:8066`, `-P8066`).
fn mentions_port(text: &str, ports: &[u16]) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse::<u16>().ok())
        .any(|n| ports.contains(&n))
}

/// Which program tandem replaces a check looks at: haproxy when it names haproxy (its
/// process, service, pid file or a `check_haproxy.sh`), MyCat when it names MyCat, probes
/// a `java` process, or talks to one of MyCat's ports. Naming both: neither.
fn checks_what(text: &str, probe: bool, ctx: &Context) -> Option<Checks> {
    let l = text.to_ascii_lowercase();
    let ports: Vec<u16> = MYCAT_PORTS
        .iter()
        .chain(&ctx.mycat_ports)
        .copied()
        .collect();
    let haproxy = l.contains("haproxy");
    let mycat = l.contains("mycat") || (probe && l.contains("java")) || mentions_port(&l, &ports);
    match (haproxy, mycat) {
        (true, false) => Some(Checks::Haproxy),
        (false, true) => Some(Checks::Mycat),
        _ => None,
    }
}

/// The addresses of an imported instance's VIPs.
fn vip_addrs(inst: &Y) -> Vec<std::net::IpAddr> {
    let Some(Y::Seq(vips)) = inst.get("virtual_ipaddresses") else {
        return Vec::new();
    };
    vips.iter()
        .filter_map(|v| match v {
            Y::Str(a) => Some(a.as_str()),
            m => match m.get("address") {
                Some(Y::Str(a)) => Some(a.as_str()),
                _ => None,
            },
        })
        .filter_map(|a| a.split('/').next()?.parse().ok())
        .collect()
}

/// Whether a listener bound to `bind` takes connections to one of `vips`.
fn serves(bind: &str, vips: &[std::net::IpAddr]) -> bool {
    let Some((host, _)) = bind.rsplit_once(':') else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) if ip.is_unspecified() => vips.iter().any(|v| v.is_ipv4() == ip.is_ipv4()),
        Ok(ip) => vips.contains(&ip),
        Err(_) => false,
    }
}

/// The name of a `track_*` entry (`chk` or `{ name: chk, ... }`).
fn entry_name(e: &Y) -> Option<&str> {
    match e {
        Y::Str(n) => Some(n),
        m => match m.get("name") {
            Some(Y::Str(n)) => Some(n),
            _ => None,
        },
    }
}

/// Sets `key` in an instance, right after the first of `after` present (else at the end),
/// so the trackers stay together in the output.
fn set_after(inst: &mut Y, key: &str, v: Y, after: &[&str]) {
    if inst.get(key).is_some() {
        inst.set(key, v);
        return;
    }
    if let Y::Map(m) = inst
        && let Some(i) = after
            .iter()
            .find_map(|a| m.iter().position(|(k, _)| k == a))
    {
        m.insert(i + 1, (key.to_string(), v));
        return;
    }
    inst.set(key, v);
}

/// The process name a script only looks for: `killall -0 NAME`, `pgrep -x NAME` or
/// `pidof NAME` (each succeeds while some process of that name runs), with a name the
/// kernel keeps whole (at most 15 bytes, no path).
fn process_probe(text: &str) -> Option<String> {
    let words = shell_words(text);
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let name = match w.as_slice() {
        [cmd, "-0", name] if base(cmd) == "killall" => *name,
        [cmd, "-x", name] if base(cmd) == "pgrep" => *name,
        [cmd, name] if base(cmd) == "pidof" => *name,
        _ => return None,
    };
    let plain = !name.is_empty()
        && !name.starts_with('-')
        && !name.contains('/')
        && name.len() <= crate::config::model::COMM_MAX;
    plain.then(|| name.to_string())
}

/// Turns the scripts that only look for a process by name into track processes (no
/// command forked every interval): the script's weight and `reverse` carry over, its
/// `rise`/`fall` become `fork_delay`/`terminate_delay` of (n − 1) intervals, and the
/// instances' entries move to `track_processes`. Returns the converted scripts' names.
fn scripts_to_processes(
    instances: &mut [Y],
    infos: &[&ScriptInfo],
    parts: &mut Parts,
    w: &mut Warnings,
) -> std::collections::HashSet<String> {
    use crate::config::types::Dur;
    let mut done = std::collections::HashSet::new();
    for info in infos {
        if info.ran_only.is_some() {
            continue;
        }
        let Some(process) = process_probe(&info.text) else {
            continue;
        };
        if parts.track_processes.iter().any(|(n, _)| *n == info.name) {
            continue;
        }
        let Some((_, script)) = parts.track_scripts.iter().find(|(n, _)| *n == info.name) else {
            continue;
        };
        let interval = match script.get("interval") {
            Some(Y::Raw(t)) => Dur::parse(t).ok(),
            None => Some(Dur::secs(1)),
            _ => None,
        };
        let Some(interval) = interval.filter(|d| d.0 >= std::time::Duration::from_millis(100))
        else {
            continue;
        };
        let count = |k: &str| match script.get(k) {
            Some(Y::Int(n)) => u32::try_from(*n).unwrap_or(1).max(1),
            _ => 1,
        };
        let (rise, fall) = (count("rise"), count("fall"));
        let mut y = Y::map();
        y.set("process", Y::s(process.clone()));
        y.set("interval", Y::Raw(interval.to_string()));
        let mut timing = Vec::new();
        for (key, n, what) in [
            ("fork_delay", rise, "rise"),
            ("terminate_delay", fall, "fall"),
        ] {
            if n > 1 {
                let d = Dur(interval.0 * (n - 1));
                y.set(key, Y::Raw(d.to_string()));
                timing.push(format!("`{key}: {d}` for `{what} {n}`"));
            }
        }
        if info.weight != 0 {
            y.set("weight", Y::Int(info.weight));
        }
        if info.reverse {
            y.set("reverse", Y::Bool(true));
        }
        parts.track_processes.push((info.name.clone(), y));
        for inst in instances.iter_mut() {
            let Some(Y::Seq(entries)) = inst.get("track_scripts").cloned() else {
                continue;
            };
            let (moved, kept): (Vec<Y>, Vec<Y>) = entries
                .into_iter()
                .partition(|e| entry_name(e) == Some(info.name.as_str()));
            if moved.is_empty() {
                continue;
            }
            let mut procs = match inst.get("track_processes") {
                Some(Y::Seq(v)) => v.clone(),
                _ => Vec::new(),
            };
            procs.extend(moved);
            set_after(inst, "track_processes", Y::Seq(procs), &["track_scripts"]);
            if let Y::Map(m) = inst {
                if kept.is_empty() {
                    m.retain(|(k, _)| k != "track_scripts");
                } else if let Some((_, v)) = m.iter_mut().find(|(k, _)| k == "track_scripts") {
                    *v = Y::Seq(kept);
                }
            }
        }
        let timing = if timing.is_empty() {
            String::new()
        } else {
            format!(", with {}", timing.join(" and "))
        };
        w.warn(
            info.line,
            format!(
                "vrrp_script {}: `{}` only asks whether a process named {process} runs: imported as `track_processes.{}` (process: {process}, interval {interval}{timing}), which reads /proc instead of starting a command every interval",
                info.name, info.text, info.name
            ),
        );
        done.insert(info.name.clone());
    }
    done
}

/// What became of one instance's reference to a replaceable script.
enum Fate {
    /// Replaced by `track_listeners` entries (the listeners it already tracked: skipped).
    Listeners {
        inst: String,
        added: Vec<Y>,
        already: Vec<String>,
    },
    /// Replaced by `track_router` (written as `y`).
    Router { inst: String, y: Y },
    /// The instance tracks the router already, from the script named.
    RouterTaken {
        inst: String,
        by: String,
        weight: i64,
    },
    /// Kept as a track script: why not replaced.
    Kept {
        inst: String,
        weight: i64,
        why: &'static str,
    },
}

/// A `track_router` value for `weight`.
fn router_y(weight: i64) -> Y {
    if weight == 0 {
        Y::Bool(true)
    } else {
        let mut m = Y::map();
        m.set("weight", Y::Int(weight));
        m
    }
}

/// A `track_*` entry for `name` with `weight` and `reverse`.
fn track_entry(name: &str, weight: i64, reverse: bool) -> Y {
    if weight == 0 && !reverse {
        return Y::s(name);
    }
    let mut m = Y::map();
    m.set("name", Y::s(name));
    m.set("weight", Y::Int(weight));
    if reverse {
        m.set("reverse", Y::Bool(true));
    }
    m
}

/// Replaces the instances' references to scripts checking haproxy or MyCat by the
/// built-in trackers (`track_listeners`, `track_router`) when the same import replaces
/// that program, and warns about every such script at its `script` line: what replaced it,
/// or why it is kept and what to do. Returns the names of the scripts no instance tracks
/// any more, which are left out of the document.
fn replace_checks(
    instances: &mut [Y],
    scripts: &[ScriptInfo],
    ctx: &Context,
    w: &mut Warnings,
) -> std::collections::HashSet<String> {
    let kinds: Vec<Option<Checks>> = scripts
        .iter()
        .map(|s| checks_what(&s.text, s.probe, ctx))
        .collect();
    let mut fates: Vec<Vec<Fate>> = scripts.iter().map(|_| Vec::new()).collect();
    for inst in instances.iter_mut() {
        let iname = match inst.get("name") {
            Some(Y::Str(n)) => n.clone(),
            _ => String::new(),
        };
        let Some(Y::Seq(entries)) = inst.get("track_scripts").cloned() else {
            continue;
        };
        let vips = vip_addrs(inst);
        let mut kept = Vec::new();
        let mut router_by: Option<String> = None;
        for e in entries {
            let Some(i) = entry_name(&e).and_then(|n| scripts.iter().position(|s| s.name == n))
            else {
                kept.push(e);
                continue;
            };
            let (sc, kind) = (&scripts[i], kinds[i]);
            let weight = match e.get("weight") {
                Some(Y::Int(v)) => *v,
                _ => sc.weight,
            };
            let reverse = match e.get("reverse") {
                Some(Y::Bool(r)) => *r,
                _ => sc.reverse,
            };
            let keep = |why| Fate::Kept {
                inst: iname.clone(),
                weight,
                why,
            };
            let fate = match kind {
                None => {
                    kept.push(e);
                    continue;
                }
                Some(Checks::Haproxy) => match &ctx.listeners {
                    None => keep("no haproxy.cfg"),
                    Some(all) if all.is_empty() => keep("no listener"),
                    Some(all) => {
                        // The listeners on the instance's VIPs; else (none binds one) all.
                        let on_vip: Vec<&ListenerRef> =
                            all.iter().filter(|l| serves(&l.bind, &vips)).collect();
                        let chosen = if on_vip.is_empty() {
                            all.iter().collect()
                        } else {
                            on_vip
                        };
                        let mut have = match inst.get("track_listeners") {
                            Some(Y::Seq(v)) => v.clone(),
                            _ => Vec::new(),
                        };
                        let mut added = Vec::new();
                        let mut already = Vec::new();
                        for l in chosen {
                            if have.iter().any(|x| entry_name(x) == Some(l.name.as_str())) {
                                already.push(l.name.clone());
                            } else {
                                let y = track_entry(&l.name, weight, reverse);
                                have.push(y.clone());
                                added.push(y);
                            }
                        }
                        set_after(
                            inst,
                            "track_listeners",
                            Y::Seq(have),
                            &["track_interfaces", "track_scripts"],
                        );
                        Fate::Listeners {
                            inst: iname.clone(),
                            added,
                            already,
                        }
                    }
                },
                Some(Checks::Mycat) if !ctx.router => keep("no MyCat conf"),
                Some(Checks::Mycat) if reverse => keep("reverse"),
                Some(Checks::Mycat) => match &router_by {
                    Some(by) => Fate::RouterTaken {
                        inst: iname.clone(),
                        by: by.clone(),
                        weight,
                    },
                    None => {
                        router_by = Some(sc.name.clone());
                        let y = router_y(weight);
                        set_after(
                            inst,
                            "track_router",
                            y.clone(),
                            &["track_listeners", "track_interfaces", "track_scripts"],
                        );
                        Fate::Router {
                            inst: iname.clone(),
                            y,
                        }
                    }
                },
            };
            if matches!(fate, Fate::Kept { .. }) {
                kept.push(e);
            }
            fates[i].push(fate);
        }
        if kept.is_empty() {
            inst.remove("track_scripts");
        } else {
            inst.set("track_scripts", Y::Seq(kept));
        }
    }
    let mut gone = std::collections::HashSet::new();
    for ((sc, kind), fates) in scripts.iter().zip(kinds).zip(&fates) {
        let still_tracked = fates.iter().any(|f| matches!(f, Fate::Kept { .. }));
        let replaced_somewhere = fates.iter().any(|f| !matches!(f, Fate::Kept { .. }));
        // Not tracked at all, while tandem replaces the program: it could only fail.
        let untracked_replaced = fates.is_empty()
            && match kind {
                Some(Checks::Haproxy) => ctx.listeners.as_ref().is_some_and(|l| !l.is_empty()),
                Some(Checks::Mycat) => ctx.router,
                None => false,
            };
        if (replaced_somewhere && !still_tracked) || untracked_replaced {
            gone.insert(sc.name.clone());
        }
        if let Some(m) = check_message(sc, kind, fates, untracked_replaced) {
            w.warn(sc.line, m);
        }
    }
    gone
}

/// The warning for a `vrrp_script`: what replaced it, or why it stays a track script.
fn check_message(
    sc: &ScriptInfo,
    kind: Option<Checks>,
    fates: &[Fate],
    untracked_replaced: bool,
) -> Option<String> {
    let (name, text) = (&sc.name, &sc.text);
    let Some(kind) = kind else {
        // A process looked for by name becomes a track process (said there).
        if sc.ran_only.is_none() && process_probe(text).is_some() {
            return None;
        }
        return sc.probe.then(|| {
            format!(
                "vrrp_script {name}: `{text}` only checks that a process runs or a port listens; imported as a track script, but tandem's built-in trackers `track_listeners` (balancer) or `track_router` (router) replace it"
            )
        });
    };
    let (program, replacer, gone, builtin) = match kind {
        Checks::Haproxy => (
            "haproxy",
            "tandem's balancer",
            "haproxy will not run any more, so this script would fail for ever on both boxes",
            "`track_listeners`",
        ),
        Checks::Mycat => (
            "MyCat",
            "tandem's router",
            "MyCat will not run any more, so a process or status check would fail for ever on both boxes, and a port check would only see tandem itself",
            "`track_router`",
        ),
    };
    let ran_only = sc
        .ran_only
        .as_ref()
        .map(|r| format!(" (keepalived ran only `{r}` of this line, so it never failed there)"))
        .unwrap_or_default();
    let head = format!("vrrp_script {name}: `{text}`{ran_only} checks {program}");
    let more = if sc.probe {
        String::new()
    } else {
        format!("; if it checked more than {program}, add that part back as a track script")
    };
    let mut parts = Vec::new();
    let mut notes = Vec::new();
    let mut kept = Vec::new();
    let mut why_kept = None;
    for f in fates {
        match f {
            Fate::Listeners {
                inst,
                added,
                already,
            } => {
                if !added.is_empty() {
                    parts.push(format!(
                        "`track_listeners: {}` in vrrp_instance {inst}",
                        super::scalar_or_flow(&Y::Seq(added.clone()))
                    ));
                }
                if added.len() > 1 && added.iter().any(|a| !matches!(a, Y::Str(_))) {
                    notes.push(format!(
                        "in vrrp_instance {inst} each failing listener counts its weight"
                    ));
                }
                if !already.is_empty() {
                    notes.push(format!(
                        "vrrp_instance {inst} tracks {} already",
                        already.join(", ")
                    ));
                }
            }
            Fate::Router { inst, y } => {
                parts.push(format!(
                    "`track_router: {}` in vrrp_instance {inst}",
                    super::scalar_or_flow(y)
                ));
                if *y == Y::Bool(true) {
                    notes.push(format!(
                        "with weight 0, vrrp_instance {inst} goes to FAULT on both boxes (the VIP on neither) while both routers see a data host's write host down: give it a weight (`track_router: {{ weight: -50 }}`) if the VIP should stay up then"
                    ));
                }
            }
            Fate::RouterTaken { inst, by, weight } => notes.push(format!(
                "vrrp_instance {inst} tracks the router already (for `{by}`), so weight {weight} of this script is not added there"
            )),
            Fate::Kept { inst, weight, why } => {
                why_kept.get_or_insert(*why);
                kept.push((inst, *weight));
            }
        }
    }
    let mut out = Vec::new();
    if kept.len() < fates.len() || untracked_replaced {
        let mut said = Vec::new();
        if !parts.is_empty() {
            said.push(format!(
                "replaced by the built-in tracker: {}",
                parts.join(", ")
            ));
        }
        if untracked_replaced {
            said.push("no instance tracks it; not imported".to_string());
        } else if kept.is_empty() {
            said.push("the script is not imported".to_string());
        }
        said.extend(notes);
        let said = said.join("; ");
        let mut chars = said.chars();
        let said: String = chars
            .next()
            .map(|c| c.to_ascii_uppercase())
            .into_iter()
            .chain(chars)
            .collect();
        out.push(format!(
            "{head}, which {replacer} replaces in this import: {gone}. {said}{more}"
        ));
    }
    if !kept.is_empty() {
        let on: Vec<String> = kept
            .iter()
            .map(|(inst, weight)| format!("weight {weight} in vrrp_instance {inst}"))
            .collect();
        let fault: Vec<String> = kept
            .iter()
            .filter(|(_, weight)| *weight == 0)
            .map(|(inst, _)| format!("vrrp_instance {inst}"))
            .collect();
        let fault = if fault.is_empty() {
            String::new()
        } else {
            format!(
                " (with weight 0: {} in FAULT on both boxes, the VIP on neither)",
                fault.join(", ")
            )
        };
        let fix: Vec<String> = kept
            .iter()
            .map(|(inst, weight)| match kind {
                Checks::Haproxy => format!(
                    "`track_listeners: [{}]` in vrrp_instance {inst}",
                    super::scalar_or_flow(&track_entry("<listener>", *weight, false))
                        .replace("\"<listener>\"", "<listener>")
                ),
                Checks::Mycat => format!(
                    "`track_router: {}` in vrrp_instance {inst}",
                    super::scalar_or_flow(&router_y(*weight))
                ),
            })
            .collect();
        let fix = fix.join(", ");
        let how = match (kind, why_kept) {
            (Checks::Haproxy, Some("no haproxy.cfg")) => format!(
                "import the haproxy.cfg in the same run (`--haproxy`) to have it replaced by {builtin}, or replace it yourself by {fix} (naming the balancer listeners on the VIP: haproxy's `listen`/`frontend` names) and delete the script"
            ),
            (Checks::Haproxy, _) => format!(
                "the imported balancer has no listener that can stand in for it (none, or only ones whose servers refuse connections): if tandem's balancer takes over, replace it by {fix} and delete the script"
            ),
            (Checks::Mycat, Some("reverse")) => format!(
                "it is not replaced as `track_router` has no `reverse`: if tandem's router takes over, replace it by {fix} (which counts while failing) and delete the script"
            ),
            (Checks::Mycat, _) => format!(
                "import the MyCat conf/ in the same run (`--mycat-dir`) to have it replaced by {builtin}, or replace it yourself by {fix} and delete the script"
            ),
        };
        out.push(format!(
            "{head}: imported as a track script ({}), which is right only while {program} runs: once {replacer} replaces it, {gone}{fault}. To migrate, {how}",
            on.join("; ")
        ));
    } else if fates.is_empty() && !untracked_replaced {
        out.push(format!(
            "{head}: once {replacer} replaces {program}, {gone}; use {builtin} instead"
        ));
    }
    (!out.is_empty()).then(|| out.join(". "))
}

/// Whether a check command only looks for a running process or a listening port, in a
/// form this importer recognises: `killall -0 P`, `kill -0 PID`, `pgrep P`, `pidof P`,
/// `nc -z HOST PORT` (or `ncat`), or `ps …`/`ss …`/`netstat …` piped into `grep`/`wc`.
/// Anything else (a script file, a query…) may check more, so it is not second-guessed.
fn is_probe(command: &str) -> bool {
    let normalized = command
        .replace("&&", "|")
        .replace("||", "|")
        .replace(';', "|");
    let segments: Vec<Vec<String>> = normalized
        .split('|')
        .map(shell_words)
        .filter(|w| !w.is_empty())
        .collect();
    let Some((first, rest)) = segments.split_first() else {
        return false;
    };
    let base = |w: &[String]| {
        let c = w.first().map(String::as_str).unwrap_or("");
        c.rsplit('/').next().unwrap_or(c).to_string()
    };
    let has = |w: &[String], flag: &str| w.iter().skip(1).any(|a| a == flag);
    let filters_only = rest
        .iter()
        .all(|w| matches!(base(w).as_str(), "grep" | "egrep" | "fgrep" | "wc"));
    let b = base(first);
    let probe = match b.as_str() {
        "killall" | "kill" => has(first, "-0"),
        "pgrep" | "pidof" => true,
        // Service state and pid files: `systemctl is-active haproxy`, `service haproxy
        // status`, `/etc/init.d/haproxy status`, `[ -f /var/run/haproxy.pid ]`.
        "systemctl" => has(first, "is-active"),
        "service" => first.get(2).is_some_and(|a| a == "status"),
        _ if first.first().is_some_and(|c| c.contains("/init.d/")) => has(first, "status"),
        "[" | "test" => ["-f", "-e", "-s"].iter().any(|f| has(first, f)),
        "nc" | "ncat" => first.iter().skip(1).any(|a| {
            (a.starts_with('-') && !a.starts_with("--") && a.contains('z')) || a == "--zero"
        }),
        // A listing is a probe only when something greps it.
        "ps" | "ss" | "netstat" => !rest.is_empty(),
        _ => false,
    };
    probe && filters_only
}

/// The first bash-only construct in a shell snippet, named: dash (Debian's /bin/sh) has
/// none of these.
fn bash_only(script: &str) -> Option<&'static str> {
    const FEATURES: &[(&str, &str)] = &[
        ("/dev/tcp/", "`/dev/tcp/HOST/PORT` redirection"),
        ("/dev/udp/", "`/dev/udp/HOST/PORT` redirection"),
        ("[[", "`[[ … ]]` tests"),
        ("$'", "`$'…'` quoting"),
        ("<(", "`<(…)` process substitution"),
        (">(", "`>(…)` process substitution"),
        ("<<<", "`<<<` here-strings"),
        ("&>", "`&>` redirection"),
        ("|&", "`|&` pipes"),
    ];
    if let Some((_, name)) = FEATURES.iter().find(|(pat, _)| script.contains(pat)) {
        return Some(name);
    }
    // `(( … ))` arithmetic commands; `$(( … ))` is POSIX.
    let b = script.as_bytes();
    let arith = (0..b.len().saturating_sub(1))
        .any(|i| b[i] == b'(' && b[i + 1] == b'(' && (i == 0 || b[i - 1] != b'$'));
    if arith {
        return Some("`(( … ))` arithmetic");
    }
    // Builtins dash does not have, as the first word of a command.
    let builtin = script
        .split([';', '|', '&', '(', '{', '\n'])
        .filter_map(|c| c.split_whitespace().next())
        .find(|w| matches!(*w, "source" | "shopt" | "declare" | "function"));
    builtin.map(|_| "the `source`/`shopt`/`declare`/`function` builtins")
}

fn is_shell_snippet(script: &str) -> bool {
    script.contains(['|', '&', ';', '<', '>', '$', '`', '(', ')', '*'])
}

/// The command line of `script ...`, to be split like keepalived splits it. One word (a
/// quoted string, `script "killall -0 haproxy"`) is the whole line; several words
/// (`script /bin/sh -c "ss -ltn | grep -q :3306"`) are already keepalived's argument
/// list, so a word with spaces or quotes is quoted again to stay one argument.
fn script_text(args: &[String]) -> String {
    if let [one] = args {
        return one.clone();
    }
    args.iter()
        .map(|a| {
            if !a.is_empty() && !a.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
                a.clone()
            } else if !a.contains('\'') {
                format!("'{a}'")
            } else {
                format!("\"{a}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn vrrp_script(s: &Stmt, g: &Globals, w: &mut Warnings) -> Option<(String, Y, ScriptInfo)> {
    let Some(name) = s.args.first().cloned() else {
        w.warn(s.line, "`vrrp_script` without a name; ignored");
        return None;
    };
    let mut info = ScriptInfo {
        name: name.clone(),
        line: s.line,
        text: String::new(),
        probe: false,
        ran_only: None,
        weight: 0,
        reverse: false,
        warnings: Vec::new(),
    };
    let mut y = Y::map();
    let mut has_user = false;
    let mut empty_script = false;
    let mut script_line = s.line;
    for d in s.block.iter().flatten() {
        match d.key.as_str() {
            "script" => {
                script_line = d.line;
                let text = script_text(&d.args);
                if shell_words(&text).is_empty() {
                    // keepalived: "No script set for vrrp_script N - removing" (or, for
                    // `script ""`, "Cannot find script  in path - disabling"): either way
                    // the script is gone and instances do not track it.
                    empty_script = true;
                    continue;
                }
                if let [first, _, ..] = d.args.as_slice() {
                    // keepalived takes the first word of `script` (or the one quoted
                    // string) as the whole command line and drops the rest silently:
                    // its dump shows `Command = '/usr/bin/sh'` for `script /bin/sh -c "…"`.
                    let ran = shell_words(first).join(" ");
                    w.warn(
                        d.line,
                        format!(
                            "vrrp_script {name}: `script {text}` is not quoted as a whole, so keepalived ran only `{ran}` (it ignores the words after the first); imported as the whole command, which tandem will run: test it before relying on it (in keepalived: quote the whole command)"
                        ),
                    );
                }
                let words = shell_words(&text);
                let sh_c = words.len() == 3
                    && matches!(words[0].as_str(), "/bin/sh" | "sh" | "/bin/bash" | "bash")
                    && words[1] == "-c";
                let bash_c = sh_c && words[0].ends_with("bash");
                // The shell text, when one runs it.
                let snippet = if sh_c {
                    Some(words[2].clone())
                } else if is_shell_snippet(&text) {
                    Some(text.clone())
                } else {
                    None
                };
                match &snippet {
                    // `bash -c '…'`: keepalived ran bash itself; so does tandem.
                    Some(sn) if bash_c => y.set(
                        "command",
                        Y::Seq(vec![Y::s(words[0].clone()), Y::s("-c"), Y::s(sn.clone())]),
                    ),
                    Some(sn) => match bash_only(sn) {
                        Some(feature) => {
                            // tandem's `shell: true` runs /bin/sh, which is dash on
                            // Debian: no `/dev/tcp`, no `[[ ]]`..., so the check would
                            // always fail.
                            y.set(
                                "command",
                                Y::Seq(vec![Y::s("/bin/bash"), Y::s("-c"), Y::s(sn.clone())]),
                            );
                            // keepalived runs `sh -c …` and a script starting with
                            // `</` (system()) through /bin/sh; anything else it executes
                            // as words, without a shell.
                            let rest = text.trim_start().strip_prefix('<');
                            let system =
                                sh_c || rest.is_some_and(|r| r.trim_start().starts_with('/'));
                            let how = if system {
                                "keepalived ran it through /bin/sh, so it worked only where /bin/sh is bash (RHEL, CentOS)"
                            } else {
                                "keepalived did not run it through a shell at all (it executes the first word with the others as its arguments): test it before relying on it"
                            };
                            w.warn(
                                d.line,
                                format!(
                                    "vrrp_script {name}: `{sn}` uses bash-only syntax ({feature}), which /bin/sh lacks where it is dash (Debian, Ubuntu): with `shell: true` (/bin/sh -c) it would always fail. Imported as `command: [/bin/bash, -c, \"…\"]`; bash must be installed on this box. {how}"
                                ),
                            );
                        }
                        None => {
                            y.set("command", Y::s(sn.clone()));
                            y.set("shell", Y::Bool(true));
                            if !sh_c {
                                // keepalived runs it without a shell, so `|` and `$(...)`
                                // would be literal arguments there: it only worked
                                // through `sh -c`.
                                w.warn(
                                    d.line,
                                    format!(
                                        "vrrp_script {name}: `{text}` is a shell snippet: imported with `shell: true` (run through /bin/sh -c)"
                                    ),
                                );
                            }
                        }
                    },
                    None => y.set("command", Y::s(text.clone())),
                }
                let command = snippet.as_deref().unwrap_or(text.as_str());
                info.probe = is_probe(command);
                info.text = text.clone();
                info.line = d.line;
                if let [first, _, ..] = d.args.as_slice() {
                    info.ran_only = Some(shell_words(first).join(" "));
                }
            }
            "interval" => {
                if let Some(v) = secs_arg(d, w) {
                    y.set("interval", v);
                }
            }
            "timeout" => {
                if let Some(v) = secs_arg(d, w) {
                    y.set("timeout", v);
                }
            }
            "weight" => {
                if let Some(v) = int_arg(d, w) {
                    y.set("weight", Y::Int(v));
                    info.weight = v;
                }
                match d.args.get(1).map(String::as_str) {
                    Some("reverse") => {
                        y.set("reverse", Y::Bool(true));
                        info.reverse = true;
                    }
                    None | Some("noreverse") => {}
                    Some(other) => w.warn(
                        d.line,
                        format!("vrrp_script {name}: `weight ... {other}` not understood, ignored"),
                    ),
                }
            }
            "rise" | "fall" => {
                if let Some(v) = int_arg(d, w) {
                    y.set(&d.key, Y::Int(v));
                }
            }
            "user" => {
                has_user = true;
                if let Some(u) = d.args.first() {
                    y.set("user", Y::s(u.clone()));
                    if u != UNIT_USER {
                        w.warn(
                            d.line,
                            format!("vrrp_script {name}: `user {u}`: {}", setuid_note(u)),
                        );
                    }
                }
                if let Some(gr) = d.args.get(1) {
                    y.set("group", Y::s(gr.clone()));
                }
            }
            "init_fail" => w.no_equivalent(
                d.line,
                "init_fail",
                "the first run decides the initial state in tandem",
            ),
            other => w.no_equivalent(d.line, &format!("vrrp_script {other}"), ""),
        }
    }
    if y.get("command").is_none() {
        let what = if empty_script {
            "an empty `script`"
        } else {
            "no `script`"
        };
        w.warn(
            script_line,
            format!(
                "vrrp_script {name} has {what}: keepalived drops such a script (\"No script set for vrrp_script {name} - removing\") and ignores the track_script entries naming it; not imported, nor are those entries"
            ),
        );
        return None;
    }
    if !has_user && !g.script_user_root {
        if let Some(u) = &g.script_user {
            y.set("user", Y::s(u.clone()));
        }
        if let Some(gr) = &g.script_group {
            y.set("group", Y::s(gr.clone()));
        }
    }
    Some((name, y, info))
}

/// Entries of a `{ ... }` list block: `name [weight N [reverse|noreverse]]`, each with
/// its line.
fn track_refs(d: &Stmt, w: &mut Warnings) -> Vec<(Y, usize)> {
    let mut out = Vec::new();
    // `track_script chk` on one line (old syntax) or a block.
    let mut entries: Vec<(String, Vec<String>, usize)> = d
        .block
        .iter()
        .flatten()
        .map(|e| (e.key.clone(), e.args.clone(), e.line))
        .collect();
    if d.block.is_none() && !d.args.is_empty() {
        entries.push((d.args[0].clone(), d.args[1..].to_vec(), d.line));
    }
    for (name, args, line) in entries {
        let (k, v, dir) = match args.as_slice() {
            [] => {
                out.push((Y::s(name), line));
                continue;
            }
            [k, v] => (k, v, None),
            [k, v, dir] if dir == "reverse" || dir == "noreverse" => (k, v, Some(dir == "reverse")),
            rest => {
                w.no_equivalent(line, &format!("{} {name} {}", d.key, rest.join(" ")), "");
                out.push((Y::s(name), line));
                continue;
            }
        };
        if k != "weight" {
            w.no_equivalent(line, &format!("{} {name} {}", d.key, args.join(" ")), "");
            out.push((Y::s(name), line));
            continue;
        }
        match v.parse::<i64>() {
            Ok(n) => {
                let mut m = Y::map();
                m.set("name", Y::s(name));
                m.set("weight", Y::Int(n));
                if let Some(r) = dir {
                    m.set("reverse", Y::Bool(r));
                }
                out.push((m, line));
            }
            Err(_) => {
                w.warn(line, format!("`{name} weight {v}`: not a whole number"));
                out.push((Y::s(name), line));
            }
        }
    }
    out
}

fn vip(e: &Stmt, w: &mut Warnings) -> Y {
    let mut dev = None;
    let mut label = None;
    let mut i = 0;
    while i < e.args.len() {
        let k = e.args[i].as_str();
        let v = e.args.get(i + 1).cloned();
        match (k, v) {
            ("dev", Some(v)) => dev = Some(v),
            ("label", Some(v)) => label = Some(v),
            (k, Some(v)) if matches!(k, "brd" | "scope" | "broadcast" | "preferred_lft") => {
                w.no_equivalent(
                    e.line,
                    &format!("{k} {v}"),
                    "tandem adds the address with the kernel's defaults",
                );
            }
            ("no_track", _) => {
                w.no_equivalent(
                    e.line,
                    "virtual_ipaddress ... no_track",
                    "keepalived leaves such a VIP out of its removal check; tandem puts any VIP removed behind its back while MASTER back in place",
                );
                i += 1;
                continue;
            }
            (k, _) => {
                w.no_equivalent(e.line, &format!("virtual_ipaddress ... {k}"), "");
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    if dev.is_none() && label.is_none() {
        return Y::s(e.key.clone());
    }
    let mut m = Y::map();
    m.set("address", Y::s(e.key.clone()));
    if let Some(d) = dev {
        m.set("dev", Y::s(d));
    }
    if let Some(l) = label {
        m.set("label", Y::s(l));
    }
    m
}

/// An instance's entries for trackers defined in `defined` (blocks named `block`); the
/// others are warned and left out, as keepalived ignores them.
fn defined_refs(d: &Stmt, defined: &[String], block: &str, inst: &str, w: &mut Warnings) -> Vec<Y> {
    let mut out = Vec::new();
    for (r, line) in track_refs(d, w) {
        let tracked = entry_name(&r).unwrap_or_default().to_string();
        if defined.contains(&tracked) {
            out.push(r);
        } else {
            w.warn(
                line,
                format!(
                    "vrrp_instance {inst}: {} `{tracked}`: there is no such {block} (or it was not imported); keepalived ignores this entry; not imported",
                    d.key
                ),
            );
        }
    }
    out
}

/// `weight W [reverse]` in a tracker definition (`what` names it in warnings).
fn weight_reverse(d: &Stmt, y: &mut Y, what: &str, w: &mut Warnings) {
    if let Some(v) = int_arg(d, w) {
        y.set("weight", Y::Int(v));
    }
    match d.args.get(1).map(String::as_str) {
        Some("reverse") => y.set("reverse", Y::Bool(true)),
        None => {}
        Some(other) => w.warn(
            d.line,
            format!("{what}: `weight ... {other}` not understood, ignored"),
        ),
    }
}

/// A `track_file` (`vrrp_track_file`) block: the name and its `track_files` entry, or
/// `None` when keepalived drops it (no `file`).
fn track_file(s: &Stmt, w: &mut Warnings) -> Option<(String, Y)> {
    let Some(name) = s.args.first().cloned() else {
        w.warn(s.line, format!("`{}` without a name; ignored", s.key));
        return None;
    };
    let mut y = Y::map();
    let mut file = None;
    for d in s.block.iter().flatten() {
        match d.key.as_str() {
            "file" => match d.args.first() {
                Some(f) if f.starts_with('/') => file = Some(f.clone()),
                Some(f) => w.warn(
                    d.line,
                    format!("track_file {name}: `file {f}` is not an absolute path (tandem needs one; keepalived reads it from its working directory); not imported"),
                ),
                None => w.warn(d.line, format!("track_file {name}: `file` without a path; ignored")),
            },
            "weight" => weight_reverse(d, &mut y, &format!("track_file {name}"), w),
            "init_file" => {
                let mut value = 0;
                let mut overwrite = false;
                for a in &d.args {
                    if a == "overwrite" {
                        overwrite = true;
                    } else if let Ok(v) = a.parse::<i64>() {
                        value = v;
                    } else {
                        w.warn(
                            d.line,
                            format!("track_file {name}: `init_file ... {a}` not understood, ignored"),
                        );
                    }
                }
                y.set("init_file", Y::Int(value));
                if overwrite {
                    y.set("init_overwrite", Y::Bool(true));
                }
            }
            other => w.no_equivalent(d.line, &format!("track_file {other}"), ""),
        }
    }
    let Some(f) = file else {
        w.warn(
            s.line,
            format!("track_file {name} has no usable `file`: keepalived drops it; not imported"),
        );
        return None;
    };
    let mut out = Y::map();
    out.set("file", Y::s(f));
    if let Y::Map(entries) = y {
        for (k, v) in entries {
            out.set(&k, v);
        }
    }
    Some((name, out))
}

/// A `vrrp_track_process` block: the name and its `track_processes` entry, or `None`
/// when keepalived drops it (no `process`).
fn vrrp_track_process(s: &Stmt, w: &mut Warnings) -> Option<(String, Y)> {
    let Some(name) = s.args.first().cloned() else {
        w.warn(s.line, "`vrrp_track_process` without a name; ignored");
        return None;
    };
    let mut y = Y::map();
    let mut process: Option<(String, usize)> = None;
    let mut cmdline = false;
    for d in s.block.iter().flatten() {
        match d.key.as_str() {
            "process" => match d.args.split_first() {
                Some((p, args)) if process.is_none() => {
                    process = Some((p.clone(), d.line));
                    if !args.is_empty() {
                        cmdline = true;
                        y.set(
                            "args",
                            Y::Seq(args.iter().map(|a| Y::s(a.clone())).collect()),
                        );
                    }
                }
                Some(_) => w.warn(
                    d.line,
                    format!("vrrp_track_process {name}: a second `process` (keepalived ignores it); ignored"),
                ),
                None => w.warn(d.line, format!("vrrp_track_process {name}: `process` without a name; ignored")),
            },
            "param_match" => {
                let how = match d.args.first().map(String::as_str) {
                    None => Some("exact"),
                    Some("initial") => Some("initial"),
                    Some("partial") => Some("partial"),
                    Some(other) => {
                        w.warn(
                            d.line,
                            format!("vrrp_track_process {name}: `param_match {other}` is not initial or partial (keepalived ignores it); ignored"),
                        );
                        None
                    }
                };
                if let Some(h) = how {
                    cmdline = true;
                    y.set("param_match", Y::s(h));
                }
            }
            "full_command" => {
                cmdline = true;
                y.set("full_command", Y::Bool(true));
            }
            "weight" => weight_reverse(d, &mut y, &format!("vrrp_track_process {name}"), w),
            "quorum" | "quorum_max" => {
                if let Some(v) = int_arg(d, w) {
                    y.set(&d.key, Y::Int(v));
                }
            }
            "delay" | "fork_delay" | "terminate_delay" => {
                if let Some(v) = secs_arg(d, w) {
                    y.set(&d.key, v);
                }
            }
            other => w.no_equivalent(d.line, &format!("vrrp_track_process {other}"), ""),
        }
    }
    let Some((mut p, line)) = process else {
        // keepalived: "track process 'N' process name not specified", and drops it.
        w.warn(
            s.line,
            format!(
                "vrrp_track_process {name} has no `process`: keepalived drops it; not imported"
            ),
        );
        return None;
    };
    if !cmdline && p.len() > crate::config::model::COMM_MAX {
        let mut end = crate::config::model::COMM_MAX;
        while !p.is_char_boundary(end) {
            end -= 1;
        }
        let short = p[..end].to_string();
        w.warn(
            line,
            format!(
                "vrrp_track_process {name}: `process {p}` is longer than the {} bytes the kernel keeps of a process name, so keepalived never found it running; imported as `{short}`, the name the kernel shows",
                crate::config::model::COMM_MAX
            ),
        );
        p = short;
    }
    let mut out = Y::map();
    out.set("process", Y::s(p));
    if let Y::Map(m) = y {
        for (k, v) in m {
            out.set(&k, v);
        }
    }
    Some((name, out))
}

fn vrrp_instance(s: &Stmt, g: &Globals, known: &Scripts, w: &mut Warnings) -> Option<Y> {
    let Some(name) = s.args.first().cloned() else {
        w.warn(s.line, "`vrrp_instance` without a name; ignored");
        return None;
    };
    let body = s.block.clone().unwrap_or_default();
    let version = body
        .iter()
        .find(|d| d.key == "version")
        .and_then(|d| d.args.first())
        .and_then(|v| v.parse::<i64>().ok())
        .or(g.version);
    let mut y = Y::map();
    y.set("name", Y::s(name.clone()));
    let mut garp = Y::Map(g.garp.clone());
    let mut hooks: Vec<Hook> = Vec::new();
    let mut advert: Option<(f64, usize)> = None;
    let mut vips = Vec::new();
    let mut peers = Vec::new();
    let mut global_v6_peers: Vec<(String, usize)> = Vec::new();
    let mut scripts = Vec::new();
    let mut processes = Vec::new();
    let mut files = Vec::new();
    let mut ifaces = Vec::new();
    let mut auth: Option<(String, usize)> = None;
    let mut initial_master = false;
    for d in &body {
        let garp_key = match d.key.as_str() {
            "garp_master_delay" => Some(("master_delay", true)),
            "garp_master_repeat" => Some(("master_repeat", false)),
            "garp_master_refresh" => Some(("master_refresh", true)),
            "garp_master_refresh_repeat" => Some(("master_refresh_repeat", false)),
            _ => None,
        };
        if let Some((k, is_dur)) = garp_key {
            let v = if is_dur {
                secs_arg(d, w)
            } else {
                int_arg(d, w).map(Y::Int)
            };
            if let Some(v) = v {
                garp.set(k, v);
            }
            continue;
        }
        match d.key.as_str() {
            "state" => {
                let st = d.args.first().map(String::as_str).unwrap_or("");
                initial_master = st == "MASTER";
                w.warn(
                    d.line,
                    format!(
                        "vrrp_instance {name}: `state {st}` has no equivalent: every box starts as backup and the priorities elect the master (keepalived does the same after its first advert); not imported"
                    ),
                );
            }
            "interface" => {
                if let Some(a) = arg1(d, w) {
                    y.set("interface", Y::s(a));
                }
            }
            "virtual_router_id" | "priority" => {
                if let Some(v) = int_arg(d, w) {
                    y.set(&d.key, Y::Int(v));
                }
            }
            "version" => {
                if let Some(v) = int_arg(d, w) {
                    y.set("version", Y::Int(v));
                }
            }
            "advert_int" => {
                if let Some(v) = secs_arg(d, w) {
                    y.set("advert_int", v);
                    advert = d
                        .args
                        .first()
                        .and_then(|a| a.parse::<f64>().ok())
                        .map(|f| (f, d.line));
                }
            }
            "nopreempt" => y.set("nopreempt", Y::Bool(true)),
            "preempt" => {}
            "preempt_delay" => {
                if let Some(v) = secs_arg(d, w) {
                    y.set("preempt_delay", v);
                }
            }
            "unicast_src_ip" | "mcast_src_ip" => {
                if let Some(a) = arg1(d, w) {
                    y.set(&d.key, Y::s(a));
                }
            }
            "unicast_peer" => {
                for e in d.block.iter().flatten() {
                    if let Ok(a) = e.key.parse::<std::net::Ipv6Addr>()
                        && (a.segments()[0] & 0xffc0) != 0xfe80
                    {
                        global_v6_peers.push((e.key.clone(), e.line));
                    }
                    peers.push(Y::s(e.key.clone()));
                    if !e.args.is_empty() {
                        w.no_equivalent(
                            e.line,
                            &format!("unicast_peer ... {}", e.args.join(" ")),
                            "peer options such as min_ttl/max_ttl",
                        );
                    }
                }
            }
            "authentication" => {
                let mut pass = None;
                let mut ah = false;
                for e in d.block.iter().flatten() {
                    match (e.key.as_str(), e.args.first().map(String::as_str)) {
                        ("auth_type", Some("PASS")) => {}
                        ("auth_type", Some(t)) => {
                            ah = true;
                            w.no_equivalent(
                                e.line,
                                &format!("auth_type {t}"),
                                "only simple passwords (auth_type PASS) exist in tandem; the instance is imported without authentication",
                            )
                        }
                        ("auth_pass", Some(p)) => pass = Some(p.to_string()),
                        (k, _) => w.no_equivalent(e.line, &format!("authentication {k}"), ""),
                    }
                }
                if let Some(p) = pass.filter(|_| !ah) {
                    auth = Some((p, d.line));
                }
            }
            "virtual_ipaddress" => {
                for e in d.block.iter().flatten() {
                    vips.push(vip(e, w));
                }
            }
            "virtual_ipaddress_excluded" => {
                w.warn(
                    d.line,
                    "`virtual_ipaddress_excluded`: the addresses are imported as ordinary VIPs (tandem has no excluded list: they are also sent in adverts)",
                );
                for e in d.block.iter().flatten() {
                    vips.push(vip(e, w));
                }
            }
            "track_script" => {
                for (r, line) in track_refs(d, w) {
                    let tracked = match &r {
                        Y::Str(n) => n.clone(),
                        m => match m.get("name") {
                            Some(Y::Str(n)) => n.clone(),
                            _ => String::new(),
                        },
                    };
                    let defined_at = known
                        .defined
                        .iter()
                        .find(|(n, _)| *n == tracked)
                        .map(|(_, l)| *l);
                    if defined_at.is_some_and(|l| l < line) {
                        scripts.push(r);
                        continue;
                    }
                    // keepalived: "(VI_1) track script chk not found, ignoring...". It
                    // looks the name up as it reads the entry, so a vrrp_script further
                    // down the file is not found either.
                    let why = if defined_at.is_some() {
                        "its vrrp_script comes later in the configuration, and keepalived looks a tracked script up as it reads the entry, so it ignored this one (\"track script not found, ignoring\"); move the vrrp_script above the instance in keepalived.conf if it was meant to count"
                    } else if known.dropped.contains(&tracked) {
                        "keepalived dropped that vrrp_script (it has no command), so it ignores this entry"
                    } else {
                        "there is no such vrrp_script; keepalived ignores this entry (\"track script not found, ignoring\")"
                    };
                    w.warn(
                        line,
                        format!(
                            "vrrp_instance {name}: track_script `{tracked}`: {why}; not imported"
                        ),
                    );
                }
            }
            "track_interface" => ifaces.extend(track_refs(d, w)),
            "track_file" => files.extend(defined_refs(d, &known.files, "track_file", &name, w)),
            "track_process" => processes.extend(defined_refs(
                d,
                &known.processes,
                "vrrp_track_process",
                &name,
                w,
            )),
            "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                let key = match d.key.as_str() {
                    "notify" => "any",
                    k => &k["notify_".len()..],
                };
                if arg1(d, w).is_none() {
                    continue;
                }
                if let Some(h) = notify_hook(d, key, &name, w) {
                    hooks.push(h);
                }
            }
            "notify_master_rx_lower_pri" => w.no_equivalent(
                d.line,
                &d.key,
                "a master re-advertises at once when it hears a lower priority",
            ),
            "smtp_alert" => w.no_equivalent(d.line, &d.key, "tandem sends no mail"),
            "dont_track_primary" => w.no_equivalent(
                d.line,
                &d.key,
                "the instance's own interface going down always means FAULT",
            ),
            "virtual_routes" | "virtual_rules" => w.no_equivalent(
                d.line,
                &d.key,
                "tandem moves addresses only; add routes in a notify hook",
            ),
            "use_vmac" | "vmac_xmit_base" => w.no_equivalent(
                d.line,
                &d.key,
                "tandem announces the VIP with the interface's MAC and gratuitous ARP",
            ),
            "accept"
            | "no_accept"
            | "strict_mode"
            | "native_ipv6"
            | "debug"
            | "lvs_sync_daemon_interface"
            | "garp_lower_prio_delay"
            | "garp_lower_prio_repeat"
            | "skip_check_adv_addr" => w.no_equivalent(d.line, &d.key, ""),
            "garp_interval" | "gna_interval" => garp_interval(d, w),
            other => w.no_equivalent(d.line, &format!("vrrp_instance {other}"), ""),
        }
    }
    // keepalived clears `nopreempt` (and `preempt_delay`) on an instance that starts as
    // MASTER or owns the addresses (priority 255): it preempted, so must tandem.
    let owner = y.get("priority") == Some(&Y::Int(255));
    if initial_master || owner {
        let why = if owner {
            "priority 255 (address owner)"
        } else {
            "`state MASTER`"
        };
        for key in ["nopreempt", "preempt_delay"] {
            if y.get(key).is_some() && (key == "nopreempt" || initial_master) {
                y.remove(key);
                let line = body
                    .iter()
                    .find(|d| d.key == key)
                    .map_or(s.line, |d| d.line);
                w.warn(
                    line,
                    format!(
                        "vrrp_instance {name}: `{key}` has no effect with {why} (keepalived clears it and preempts); not imported"
                    ),
                );
            }
        }
    }
    if let Some(v) = version
        && y.get("version").is_none()
        && v != 2
    {
        y.set("version", Y::Int(v));
    }
    // keepalived runs an IPv6 instance as VRRPv3 whatever `version` says ("cannot use
    // IPv6 with VRRP version 2; setting version 3").
    let ipv6 = vips.iter().any(|v| match v {
        Y::Str(a) => a.contains(':'),
        m => matches!(m.get("address"), Some(Y::Str(a)) if a.contains(':')),
    }) || ["unicast_src_ip", "mcast_src_ip"]
        .iter()
        .any(|k| matches!(y.get(k), Some(Y::Str(a)) if a.contains(':')));
    if ipv6 && y.get("version") != Some(&Y::Int(3)) {
        y.set("version", Y::Int(3));
        w.warn(
            s.line,
            format!(
                "vrrp_instance {name} uses IPv6 addresses: imported with `version: 3` (keepalived switches IPv6 instances to VRRPv3 too)"
            ),
        );
    }
    // keepalived rounds a VRRPv2 interval to whole seconds ("VRRPv2 advertisement
    // interval 0.500000s must be an integer. rounding"), half up, at least 1s.
    if let Some((f, line)) = advert
        && y.get("version") != Some(&Y::Int(3))
        && f.fract() != 0.0
    {
        let ms = (f * 1000.0).round() as u64;
        let secs = ((ms + 500) / 1000).max(1);
        y.set("advert_int", Y::Raw(format!("{secs}s")));
        w.warn(
            line,
            format!(
                "vrrp_instance {name}: `advert_int {f}` is not whole seconds, which VRRPv2 needs: keepalived rounds it to {secs}s (\"must be an integer. rounding\"), imported as `advert_int: {secs}s` (use `version: 3` for sub-second adverts, on both boxes)"
            ),
        );
    }
    if let Some((p, line)) = auth {
        if y.get("version") == Some(&Y::Int(3)) {
            // keepalived ignores authentication under VRRPv3 (RFC 5798 has none).
            w.warn(
                line,
                format!(
                    "vrrp_instance {name}: `authentication` has no effect with VRRP version 3 (keepalived ignores it too); not imported"
                ),
            );
        } else {
            y.set("auth_pass", Y::s(p));
        }
    }
    // keepalived without `unicast_src_ip` sends IPv6 adverts from the interface's
    // link-local address and binds its socket to it, so it only receives adverts sent to
    // that address: peers listing its global address never reached it.
    if let Some((_, line)) = global_v6_peers.first()
        && y.get("unicast_src_ip").is_none()
    {
        let list = global_v6_peers
            .iter()
            .map(|(a, _)| a.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        w.warn(
            *line,
            format!(
                "vrrp_instance {name}: IPv6 unicast to global peer address(es) {list} without `unicast_src_ip`: keepalived sends from the interface's link-local address and, as it binds its socket to that address, only receives adverts sent to it, so a peer listing this box's global address did not reach it (two such keepalived boxes both become master). Imported as is: tandem sends from the interface's own global address in the peer's subnet (the link-local one until such an address exists), the address a peer lists. While the other box still runs keepalived without `unicast_src_ip`, it sends from and listens on its link-local address: list that address in `unicast_peers` here, or set `unicast_src_ip` on that box to the address listed here (README: \"keepalived and IPv6 unicast without `unicast_src_ip`\")"
            ),
        );
    }
    if !peers.is_empty() {
        y.set("unicast_peers", Y::Seq(peers));
    }
    if !vips.is_empty() {
        y.set("virtual_ipaddresses", Y::Seq(vips));
    }
    if !scripts.is_empty() {
        y.set("track_scripts", Y::Seq(scripts));
    }
    if !processes.is_empty() {
        y.set("track_processes", Y::Seq(processes));
    }
    if !files.is_empty() {
        y.set("track_files", Y::Seq(files));
    }
    // keepalived ignores an instance's own interface in its track_interface ("Ignoring
    // track_interface eth0 since own interface"): that interface going down always
    // means FAULT.
    let own = match y.get("interface") {
        Some(Y::Str(i)) => Some(i.clone()),
        _ => None,
    };
    let ifaces: Vec<Y> = ifaces
        .into_iter()
        .filter(|(e, line)| {
            let n = entry_name(e).unwrap_or_default();
            if own.as_deref() != Some(n) {
                return true;
            }
            w.warn(
                *line,
                format!(
                    "vrrp_instance {name}: track_interface {n} is the instance's own interface: keepalived ignores the entry (its log: `Ignoring track_interface {n} since own interface`) and goes to FAULT while it is down; not imported, tandem does the same"
                ),
            );
            false
        })
        .map(|(e, _)| e)
        .collect();
    if !ifaces.is_empty() {
        y.set("track_interfaces", Y::Seq(ifaces));
    }
    if matches!(&garp, Y::Map(m) if !m.is_empty()) {
        y.set("garp", garp);
    }
    if let Some(n) = notify_section(&hooks, g, &name, w) {
        y.set("notify", n);
    }
    Some(y)
}

/// One `notify_*` line: the hook key, its command and the user/group it runs as.
struct Hook {
    key: String,
    command: String,
    user: Option<String>,
    group: Option<String>,
    line: usize,
}

/// Whether `user` names a user of this machine (as keepalived looks it up).
fn user_exists(user: &str) -> bool {
    crate::track::process::identity(Some(user), None).is_ok()
}

/// keepalived 2: `notify_master "/path/script arg" [username [groupname]]`: the words
/// after the script (one word, or one quoted string) are a user and a group, not
/// arguments. `notify_master /etc/keepalived/notify.sh master` therefore names the user
/// `master`; keepalived skips the hook when no such user exists ("Script user 'master'
/// does not exist").
fn notify_hook(d: &Stmt, key: &str, inst: &str, w: &mut Warnings) -> Option<Hook> {
    let script = d.args.first()?.clone();
    let kw = &d.key;
    let mut h = Hook {
        key: key.to_string(),
        command: script.clone(),
        user: None,
        group: None,
        line: d.line,
    };
    match d.args.get(1) {
        None => {}
        Some(u) if user_exists(u) => {
            h.user = Some(u.clone());
            h.group = d.args.get(2).cloned();
            if d.args.len() > 3 {
                w.no_equivalent(
                    d.line,
                    &format!("{kw} ... {}", d.args[3..].join(" ")),
                    "keepalived takes a script, a user and a group",
                );
            }
            if !script.contains(char::is_whitespace) {
                w.warn(
                    d.line,
                    format!(
                        "vrrp_instance {inst}: `{kw} {}`: keepalived runs `{script}` as the user `{u}` (the words after an unquoted script are `user [group]`); imported so. If `{u}` was meant as an argument, write `{key}: \"{}\"` (in keepalived: quote the whole command)",
                        d.args.join(" "),
                        script_text(&d.args),
                    ),
                );
            }
        }
        Some(u) => {
            // No such user: keepalived did not run this hook at all. The words were
            // surely meant as arguments, so the command is imported with them.
            h.command = script_text(&d.args);
            w.warn(
                d.line,
                format!(
                    "vrrp_instance {inst}: `{kw} {}`: keepalived reads `{u}` as the user to run `{script}` as; there is no such user, so keepalived never ran this hook (\"Script user '{u}' does not exist\"). Imported as the command `{}` with its arguments, which tandem will run: check the script before relying on it, or remove the hook",
                    d.args.join(" "),
                    h.command,
                ),
            );
        }
    }
    Some(h)
}

/// The instance's `notify`: tandem runs every hook of an instance as one user and
/// group, keepalived each as its own (its `user [group]`, else `script_user`).
fn notify_section(hooks: &[Hook], g: &Globals, inst: &str, w: &mut Warnings) -> Option<Y> {
    if hooks.is_empty() {
        return None;
    }
    let mut notify = Y::map();
    for h in hooks {
        notify.set(&h.key, Y::s(h.command.clone()));
    }
    // Without `script_user`, keepalived runs scripts as `keepalived_script` when that
    // user exists, else as root.
    let default_user = g.script_user.clone().unwrap_or_else(|| {
        if user_exists("keepalived_script") {
            "keepalived_script".into()
        } else {
            "root".into()
        }
    });
    let effective = |h: &Hook| match &h.user {
        Some(u) => (u.clone(), h.group.clone()),
        None => (default_user.clone(), g.script_group.clone()),
    };
    // The first hook with a user of its own decides; else `script_user`.
    let own = hooks.iter().find(|h| h.user.is_some());
    let chosen = own
        .map(|h| (h.user.clone(), h.group.clone()))
        .unwrap_or_else(|| (g.script_user.clone(), g.script_group.clone()));
    let chosen_eff = (
        chosen.0.clone().unwrap_or_else(|| default_user.clone()),
        chosen.1.clone(),
    );
    // Compared by uid and gid (a group left out is the user's own), by name when the
    // names do not resolve here.
    let same = |a: &(String, Option<String>), b: &(String, Option<String>)| {
        let id = |(u, g): &(String, Option<String>)| {
            crate::track::process::identity(Some(u), g.as_deref())
                .map(|i| (i.uid, i.gid))
                .ok()
        };
        match (id(a), id(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        }
    };
    for h in hooks {
        let (u, gr) = effective(h);
        if !same(&(u.clone(), gr.clone()), &chosen_eff) {
            let who = |u: &str, gr: &Option<String>| match gr {
                Some(gr) => format!("user `{u}`, group `{gr}`"),
                None => format!("user `{u}`"),
            };
            w.warn(
                h.line,
                format!(
                    "vrrp_instance {inst}: keepalived runs the {} hook as {}, but tandem runs all notify hooks of an instance as one user: imported with {} for all",
                    h.key,
                    who(&u, &gr),
                    who(&chosen_eff.0, &chosen_eff.1),
                ),
            );
        }
    }
    // `script_user root` is not imported (see `script_user_advice`): the hooks then run
    // as tandem's own user. A hook's own user is kept, with what it needs.
    let (user, group) = match own {
        None if g.script_user_root => (None, None),
        _ => chosen,
    };
    if let Some(h) = own
        && let Some(u) = &user
        && u != UNIT_USER
    {
        w.warn(
            h.line,
            format!(
                "vrrp_instance {inst}: the notify hooks are imported with `notify.user: {u}`: {}",
                setuid_note(u)
            ),
        );
    }
    if let Some(u) = user {
        notify.set("user", Y::s(u));
    }
    if let Some(gr) = group {
        notify.set("group", Y::s(gr));
    }
    Some(notify)
}

/// A sync group's own trackers, for its members.
struct GroupTracks {
    name: String,
    /// The `vrrp_sync_group` line, for warnings about its members.
    line: usize,
    members: Vec<String>,
    /// `sync_group_tracking_weight` (or the deprecated `global_tracking`): the members'
    /// weighted trackers count.
    tracking_weight: bool,
    /// (instance key such as `track_scripts`, entry, line).
    entries: Vec<(&'static str, Y, usize)>,
}

fn sync_group(s: &Stmt, known: &Scripts, w: &mut Warnings) -> Option<(Y, GroupTracks)> {
    let Some(name) = s.args.first().cloned() else {
        w.warn(s.line, "`vrrp_sync_group` without a name; ignored");
        return None;
    };
    let mut members = Vec::new();
    let mut t = GroupTracks {
        name: name.clone(),
        line: s.line,
        members: Vec::new(),
        tracking_weight: false,
        entries: Vec::new(),
    };
    for d in s.block.iter().flatten() {
        match d.key.as_str() {
            "group" => {
                for e in d.block.iter().flatten() {
                    members.push(Y::s(e.key.clone()));
                    t.members.push(e.key.clone());
                    members.extend(e.args.iter().map(|a| Y::s(a.clone())));
                    t.members.extend(e.args.iter().cloned());
                }
            }
            k if k.starts_with("notify") => w.no_equivalent(
                d.line,
                &format!("vrrp_sync_group {k}"),
                "set the notify hooks on the member instances (`notify:`) instead",
            ),
            "sync_group_tracking_weight" | "global_tracking" => t.tracking_weight = true,
            "track_script" | "track_interface" | "track_process" | "track_file" => {
                let (key, defined): (&'static str, Option<&Vec<String>>) = match d.key.as_str() {
                    "track_script" => ("track_scripts", None),
                    "track_interface" => ("track_interfaces", None),
                    "track_process" => ("track_processes", Some(&known.processes)),
                    _ => ("track_files", Some(&known.files)),
                };
                for (e, line) in track_refs(d, w) {
                    let tracked = entry_name(&e).unwrap_or_default().to_string();
                    let script_known =
                        key != "track_scripts" || known.defined.iter().any(|(n, _)| *n == tracked);
                    let other_known = defined.is_none_or(|names| names.contains(&tracked));
                    if script_known && other_known {
                        t.entries.push((key, e, line));
                    } else {
                        w.warn(
                            line,
                            format!(
                                "vrrp_sync_group {name}: {} `{tracked}`: not defined (or not imported); keepalived ignores this entry; not imported",
                                d.key
                            ),
                        );
                    }
                }
            }
            other => w.no_equivalent(d.line, &format!("vrrp_sync_group {other}"), ""),
        }
    }
    let mut y = Y::map();
    y.set("name", Y::s(name));
    y.set("instances", Y::Seq(members));
    Some((y, t))
}

/// keepalived's tracking in a sync group: the group's trackers are added to every member
/// with their weights. Without `sync_group_tracking_weight` keepalived ignores the
/// members' own weighted trackers; tandem keeps them and warns.
fn apply_group_tracks(t: &GroupTracks, instances: &mut [Y], parts: &Parts, w: &mut Warnings) {
    // A definition's own weight (`default` when it sets none).
    let def_weight = |defs: &[(String, Y)], name: &str, default: i64| -> i64 {
        defs.iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, y)| match y.get("weight") {
                Some(Y::Int(v)) => Some(*v),
                _ => None,
            })
            .unwrap_or(default)
    };
    let script_weight = |name: &str| def_weight(&parts.track_scripts, name, 0);
    let file_weight = |name: &str| def_weight(&parts.track_files, name, 1);
    let entry_weight = |e: &Y| match e.get("weight") {
        Some(Y::Int(v)) => Some(*v),
        _ => None,
    };
    for inst in instances.iter_mut() {
        let Some(iname) = inst.get("name").and_then(|n| match n {
            Y::Str(s) => Some(s.clone()),
            _ => None,
        }) else {
            continue;
        };
        if !t.members.contains(&iname) {
            continue;
        }
        let why = format!(
            "vrrp_instance {iname} is in sync group {} (no sync_group_tracking_weight)",
            t.name
        );
        if !t.tracking_weight {
            // keepalived drops (or zeroes) these; tandem keeps them as written, which
            // is what the operator meant, and says so.
            let mut ignored: Vec<String> = Vec::new();
            for (key, what, default) in [
                ("track_interfaces", "interface", None),
                ("track_scripts", "script", Some(0)),
                ("track_files", "file", Some(1)),
            ] {
                if let Some(Y::Seq(list)) = inst.get(key) {
                    for e in list {
                        let n = entry_name(e).unwrap_or_default().to_string();
                        let weight = entry_weight(e).or_else(|| match (what, default) {
                            ("script", _) => Some(script_weight(&n)),
                            ("file", _) => Some(file_weight(&n)),
                            _ => None,
                        });
                        if let Some(wt) = weight.filter(|v| *v != 0) {
                            ignored.push(format!("tracked {what} {n} (weight {wt})"));
                        }
                    }
                }
            }
            if !ignored.is_empty() {
                w.warn(
                    t.line,
                    format!(
                        "{why}: keepalived ignores the weights of its {} (its log: `ignoring tracked script ... with weights due to SYNC group`), so they never moved this box's priority there. tandem applies them as written; to keep keepalived's behaviour, remove them, or give them `weight: 0` to put the group in FAULT while they fail",
                        ignored.join(", ")
                    ),
                );
            }
        }
        for (key, e, line) in &t.entries {
            let n = entry_name(e).unwrap_or_default().to_string();
            let exists = matches!(inst.get(key), Some(Y::Seq(l)) if l.iter().any(|x| entry_name(x) == Some(n.as_str())));
            if exists {
                w.warn(
                    *line,
                    format!("vrrp_sync_group {}: {key} `{n}` is tracked by member {iname} too; kept once (the member's)", t.name),
                );
                continue;
            }
            match inst.get_mut(key) {
                Some(Y::Seq(l)) => l.push(e.clone()),
                _ => inst.set(key, Y::Seq(vec![e.clone()])),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_blocks_on_one_line_and_across_lines() {
        let mut w = Warnings::new("k");
        let s = parse(
            "vrrp_instance VI_1 {\n  unicast_peer { 10.0.0.2 }\n  state MASTER # c\n}\n! x\nglobal_defs\n{\n router_id a\n}\n",
            &mut w,
        );
        assert_eq!(s.len(), 2);
        let b = s[0].block.as_ref().expect("block");
        assert_eq!(b[0].key, "unicast_peer");
        assert_eq!(b[0].block.as_ref().expect("peers")[0].key, "10.0.0.2");
        assert_eq!(b[1].args, vec!["MASTER"]);
        assert_eq!(s[1].block.as_ref().expect("global")[0].line, 8);
        assert!(w.list.is_empty(), "{:?}", w.list);
    }

    #[test]
    fn include_wildcards() {
        assert!(wildmatch(b"*.conf", b"vi_1.conf"));
        assert!(!wildmatch(b"*.conf", b"vi_1.conf.orig"));
        assert!(wildmatch(b"vi_?.conf", b"vi_2.conf"));
        assert!(wildmatch(b"vi_[0-9].conf", b"vi_7.conf"));
        assert!(!wildmatch(b"vi_[!0-9].conf", b"vi_7.conf"));
        assert!(wildmatch(b"plain", b"plain"));
        assert!(!wildmatch(b"[unclosed", b"x"));
        // Many stars against a long name that does not match: every suffix pair is tried
        // once (this took exponential time before).
        let pattern = format!("{}b", "*a".repeat(40));
        assert!(!wildmatch(pattern.as_bytes(), "a".repeat(200).as_bytes()));
        assert!(wildmatch(
            pattern.as_bytes(),
            format!("{}b", "a".repeat(200)).as_bytes()
        ));
    }

    #[test]
    fn recognised_probes() {
        for probe in [
            "killall -0 haproxy",
            "/usr/bin/killall -0 java",
            "kill -0 $(cat /run/haproxy.pid)",
            "pgrep -f io.mycat.MycatStartup",
            "pidof haproxy",
            "nc -z 127.0.0.1 8066",
            "ncat -zw2 127.0.0.1 8066",
            "ss -ltn | grep -q :8066",
            "netstat -lnt | grep 3306 | wc -l",
            "ps -ef | grep -v grep | grep mycat",
            "systemctl is-active --quiet haproxy",
            "service haproxy status",
            "/etc/init.d/haproxy status",
            "[ -f /var/run/haproxy.pid ]",
            "test -e /run/haproxy.sock",
        ] {
            assert!(is_probe(probe), "{probe}");
        }
        for other in [
            "/etc/keepalived/check_mycat.sh",
            "killall haproxy",
            "nc 127.0.0.1 8066",
            "ss -ltn",
            "pidof haproxy || systemctl restart haproxy",
            "mysql -h 127.0.0.1 -P 8066 -e 'select 1'",
            "systemctl restart haproxy",
            "/etc/init.d/haproxy restart",
        ] {
            assert!(!is_probe(other), "{other}");
        }
    }

    /// Constructs dash (Debian's /bin/sh) lacks are recognised; POSIX ones, `$((…))`
    /// included, are not.
    #[test]
    fn bash_only_syntax() {
        for (script, feature) in [
            ("</dev/tcp/127.0.0.1/8066", "/dev/tcp"),
            ("exec 3<>/dev/udp/10.0.0.1/53", "/dev/udp"),
            ("[[ -S /run/mycat.sock ]]", "[[ … ]]"),
            ("printf $'a\\tb' | grep -q a", "$'…'"),
            ("diff <(cat a) <(cat b)", "process substitution"),
            ("grep -q x <<< \"$(cat f)\"", "here-strings"),
            ("pgrep java &>/dev/null", "`&>`"),
            ("ss -ltn |& grep -q 8066", "`|&`"),
            ("n=$(pgrep -c java); (( n > 0 ))", "arithmetic"),
            ("source /etc/default/mycat; pgrep -f \"$MYCAT\"", "builtins"),
        ] {
            let got = bash_only(script).unwrap_or_else(|| panic!("{script}"));
            assert!(got.contains(feature), "{script}: {got}");
        }
        for posix in [
            "ss -ltn | grep -q :8066",
            "kill -0 $(cat /run/haproxy.pid) 2>&1 >/dev/null",
            "test $(( $(pgrep -c java) + 0 )) -gt 0",
            "[ -S /run/mycat.sock ] && echo ok",
            "grep -q source /etc/x || exit 1",
        ] {
            assert_eq!(bash_only(posix), None, "{posix}");
        }
    }

    /// keepalived.conf alone: a check of haproxy or MyCat stays a track script, with a
    /// warning saying what happens once tandem replaces the program and what to write
    /// instead (the instance and the weight); another probe gets the general advice; a
    /// script of its own that names neither, none.
    #[test]
    fn script_advice_without_the_other_inputs() {
        let conf = |script: &str| {
            format!(
                "vrrp_script chk {{\n  script \"{script}\"\n  interval 2\n}}\nvrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {{\n    198.19.0.1/24\n  }}\n  track_script {{\n    chk weight -30\n  }}\n}}\n"
            )
        };
        let script_warnings = |script: &str| -> Vec<String> {
            let (parts, w) = convert(&conf(script), "k");
            assert_eq!(parts.track_scripts.len(), 1, "{script}: kept");
            w.into_iter()
                .filter(|w| w.line == 2)
                .map(|w| w.message)
                .collect()
        };
        let w = script_warnings("/etc/keepalived/check_mycat.sh");
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("vrrp_script chk: `/etc/keepalived/check_mycat.sh` checks MyCat: imported as a track script (weight -30 in vrrp_instance VI_1), which is right only while MyCat runs")
                && w[0].contains("import the MyCat conf/ in the same run (`--mycat-dir`)")
                && w[0].contains("`track_router: { weight: -30 }` in vrrp_instance VI_1"),
            "{w:?}"
        );
        let w = script_warnings("pgrep -f io.mycat.MycatStartup");
        assert!(w[0].contains("`track_router: { weight: -30 }`"), "{w:?}");
        for haproxy in [
            "killall -0 haproxy",
            "systemctl is-active --quiet haproxy",
            "/etc/init.d/haproxy status",
            "test -f /var/run/haproxy.pid",
            "/etc/keepalived/check_haproxy.sh",
        ] {
            let w = script_warnings(haproxy);
            assert_eq!(w.len(), 1, "{w:?}");
            assert!(
                w[0].contains("checks haproxy: imported as a track script (weight -30 in vrrp_instance VI_1)")
                    && w[0].contains("haproxy will not run any more, so this script would fail for ever on both boxes")
                    && w[0].contains("`track_listeners: [{ name: <listener>, weight: -30 }]` in vrrp_instance VI_1"),
                "{w:?}"
            );
        }
        let w = script_warnings("/bin/sh -c 'ss -ltn | grep -q :3306'");
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("only checks that a process runs"), "{w:?}");
        assert!(script_warnings("/usr/local/bin/check_disk.sh").is_empty());
        // Weight 0: FAULT on both boxes once the program is gone.
        let (_, w) = convert(&conf("killall -0 haproxy").replace(" weight -30", ""), "k");
        assert!(
            w.iter().any(|w| w.line == 2
                && w.message.contains(
                    "(with weight 0: vrrp_instance VI_1 in FAULT on both boxes, the VIP on neither)"
                )
                && w.message.contains("`track_listeners: [<listener>]`")),
            "{w:?}"
        );
    }

    /// With the haproxy.cfg and the MyCat conf/ in the same import, the checks of those
    /// programs are replaced by the built-in trackers with the same weight: haproxy's by
    /// the listeners on the instance's VIPs, MyCat's by `track_router` (once per
    /// instance); a `reverse` MyCat check stays (track_router has no reverse), and so do
    /// other scripts; a replaced script no instance tracks any more is left out.
    #[test]
    fn checks_of_replaced_programs_become_built_in_trackers() {
        let conf = "vrrp_script chk_haproxy {\n  script \"killall -0 haproxy\"\n  weight -20\n}\n\
vrrp_script chk_mycat {\n  script \"/etc/keepalived/check_mycat.sh\"\n}\n\
vrrp_script chk_port {\n  script \"nc -z 127.0.0.1 8066\"\n  weight -10\n}\n\
vrrp_script chk_java {\n  script \"pidof java\"\n  weight 5 reverse\n}\n\
vrrp_script chk_disk {\n  script \"/usr/local/bin/check_disk.sh\"\n}\n\
vrrp_script chk_unused {\n  script \"pidof haproxy\"\n}\n\
vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 150\n\
  virtual_ipaddress {\n    198.19.0.100/24\n  }\n\
  track_script {\n    chk_haproxy\n    chk_mycat weight -40\n    chk_port\n    chk_disk\n  }\n}\n\
vrrp_instance VI_2 {\n  interface eth1\n  virtual_router_id 52\n  priority 150\n\
  virtual_ipaddress {\n    198.19.1.100/24\n  }\n\
  track_script {\n    chk_haproxy weight 0\n    chk_java\n  }\n}\n";
        let ctx = Context {
            listeners: Some(vec![
                ListenerRef {
                    name: "mysql".into(),
                    bind: "198.19.0.100:3306".into(),
                },
                ListenerRef {
                    name: "any".into(),
                    bind: "0.0.0.0:3308".into(),
                },
                ListenerRef {
                    name: "elsewhere".into(),
                    bind: "198.19.2.1:3307".into(),
                },
            ]),
            router: true,
            mycat_ports: vec![8066, 9066],
        };
        let (parts, w) = convert_with(conf, "k", &ctx);
        let names: Vec<&str> = parts
            .track_scripts
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names, ["chk_java", "chk_disk"], "{w:?}");
        let mut top = Y::map();
        top.set("track_scripts", Y::Map(parts.track_scripts));
        if let Some(v) = parts.vrrp {
            top.set("vrrp", v);
        }
        // The trackers need a balancer and a router to check; any will do here.
        let text = format!(
            "{}balancer:\n  listeners:\n{}router:\n  users: [{{ name: u, password: p }}]\n",
            top.render(),
            ["mysql", "any", "elsewhere"]
                .iter()
                .enumerate()
                .map(|(i, n)| format!(
                    "    - {{ name: {n}, bind: \"127.0.0.1:{}\", servers: [{{ name: s, address: \"127.0.0.1:1\" }}] }}\n",
                    4000 + i
                ))
                .collect::<String>()
        );
        let (cfg, _) = crate::config::check_str(&text, "t.yaml", std::path::Path::new("/"))
            .into_result()
            .unwrap_or_else(|d| panic!("{text}: {d:?}"));
        let v = cfg.vrrp.expect("vrrp");
        let tracked = |i: usize| -> Vec<(String, Option<i32>)> {
            v.instances[i]
                .track_listeners
                .iter()
                .map(|t| (t.name.clone(), t.weight))
                .collect()
        };
        let scripts = |i: usize| -> Vec<String> {
            v.instances[i]
                .track_scripts
                .iter()
                .map(|t| t.name.clone())
                .collect()
        };
        // VI_1: the listeners on its VIP (its own address, the wildcard), not the other.
        assert_eq!(
            tracked(0),
            [
                ("mysql".to_string(), Some(-20)),
                ("any".to_string(), Some(-20))
            ]
        );
        assert_eq!(
            v.instances[0].track_router,
            Some(-40),
            "the first MyCat check"
        );
        assert_eq!(scripts(0), ["chk_disk"]);
        // VI_2: the entry's weight 0 (FAULT); the reverse MyCat check stays.
        assert_eq!(tracked(1), [("any".to_string(), None)]);
        assert_eq!(v.instances[1].track_router, None);
        assert_eq!(scripts(1), ["chk_java"]);
        let at = |line: usize| -> String {
            w.iter()
                .filter(|w| w.line == line)
                .map(|w| w.message.clone())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let haproxy = at(2);
        assert!(
            haproxy.starts_with("vrrp_script chk_haproxy: `killall -0 haproxy` checks haproxy, which tandem's balancer replaces in this import: haproxy will not run any more, so this script would fail for ever on both boxes. Replaced by the built-in tracker: `track_listeners: [{ name: mysql, weight: -20 }, { name: any, weight: -20 }]` in vrrp_instance VI_1, `track_listeners: [any]` in vrrp_instance VI_2; the script is not imported; in vrrp_instance VI_1 each failing listener counts its weight"),
            "{haproxy}"
        );
        let mycat = at(6);
        assert!(
            mycat.contains("Replaced by the built-in tracker: `track_router: { weight: -40 }` in vrrp_instance VI_1; the script is not imported; if it checked more than MyCat, add that part back as a track script"),
            "{mycat}"
        );
        assert!(
            at(9).contains("vrrp_instance VI_1 tracks the router already (for `chk_mycat`), so weight -10 of this script is not added there"),
            "{}",
            at(9)
        );
        assert!(
            at(13).contains("it is not replaced as `track_router` has no `reverse`"),
            "{}",
            at(13)
        );
        assert_eq!(at(17), "", "not a check of haproxy or MyCat");
        assert!(
            at(20).contains("No instance tracks it; not imported"),
            "{}",
            at(20)
        );
    }

    /// The document keepalived.conf alone imports to, validated like `tandem check`.
    fn checked(conf: &str) -> (crate::config::Config, Vec<crate::import::Warning>) {
        let (parts, w) = convert(conf, "k");
        let mut top = Y::map();
        if !parts.track_scripts.is_empty() {
            top.set("track_scripts", Y::Map(parts.track_scripts));
        }
        if !parts.track_processes.is_empty() {
            top.set("track_processes", Y::Map(parts.track_processes));
        }
        if !parts.track_files.is_empty() {
            top.set("track_files", Y::Map(parts.track_files));
        }
        if let Some(v) = parts.vrrp {
            top.set("vrrp", v);
        }
        let text = top.render();
        let (cfg, _) = crate::config::check_str(&text, "t.yaml", std::path::Path::new("/"))
            .into_result()
            .unwrap_or_else(|d| panic!("{text}: {d:?}"));
        (cfg, w)
    }

    /// `vrrp_track_process` blocks and the instances' `track_process` entries: every
    /// keyword, keepalived's defaults (arguments mean an exact match of the command
    /// line), the blocks keepalived drops, and a name the kernel cuts.
    #[test]
    fn sync_group_trackers_apply_to_members_and_ignored_member_weights_are_warned() {
        let inst = |n: &str, id: u8, extra: &str| {
            format!(
                "vrrp_instance {n} {{\n  interface eth0\n  virtual_router_id {id}\n  virtual_ipaddress {{\n    198.18.0.{id}/24\n  }}\n{extra}}}\n"
            )
        };
        let conf = format!(
            "vrrp_script chk {{\n  script \"/bin/true\"\n  weight -20\n}}\n\
             vrrp_script gate {{\n  script \"/bin/true\"\n}}\n\
             track_file manual {{\n  file /run/manual\n}}\n\
             track_file heavy {{\n  file /run/heavy\n  weight 5\n}}\n\
             {}{}\
             vrrp_sync_group G {{\n  group {{\n    VI_1\n    VI_2\n  }}\n  track_script {{\n    chk weight -30\n  }}\n  track_interface {{\n    eth1\n  }}\n  track_file {{\n    nosuch\n  }}\n}}\n",
            inst(
                "VI_1",
                1,
                "  track_script {\n    chk\n    gate\n  }\n  track_interface {\n    eth2 weight -10\n  }\n  track_file {\n    manual\n    heavy\n  }\n"
            ),
            inst("VI_2", 2, "")
        );
        let (cfg, w) = checked(&conf);
        let v = cfg.vrrp.as_ref().expect("vrrp");
        let names = |l: &[crate::config::vrrp::TrackRef]| -> Vec<(String, Option<i32>)> {
            l.iter().map(|t| (t.name.clone(), t.weight)).collect()
        };
        let vi1 = &v.instances[0];
        // The member's own trackers stay as written (warned: keepalived ignores their
        // weights), then the group's, with their weights; one tracked twice is kept once.
        assert_eq!(
            names(&vi1.track_scripts),
            [("chk".to_string(), None), ("gate".to_string(), None)]
        );
        let ifs: Vec<(String, Option<i32>)> = vi1
            .track_interfaces
            .iter()
            .map(|t| (t.name.clone(), t.weight))
            .collect();
        assert_eq!(
            ifs,
            [("eth2".to_string(), Some(-10)), ("eth1".to_string(), None)]
        );
        assert_eq!(vi1.track_files.len(), 2);
        let vi2 = &v.instances[1];
        assert_eq!(names(&vi2.track_scripts), [("chk".to_string(), Some(-30))]);
        assert_eq!(vi2.track_interfaces.len(), 1);
        let text: Vec<String> = w.iter().map(|x| x.to_string()).collect();
        for want in [
            "vrrp_instance VI_1 is in sync group G (no sync_group_tracking_weight): keepalived ignores the weights of its tracked interface eth2 (weight -10), tracked script chk (weight -20), tracked file manual (weight 1), tracked file heavy (weight 5)",
            "track_scripts `chk` is tracked by member VI_1 too; kept once",
            "track_file `nosuch`: not defined",
        ] {
            assert!(text.iter().any(|t| t.contains(want)), "{want}: {text:?}");
        }
        // With sync_group_tracking_weight the weights count in keepalived too: no warning.
        let (_, w) = checked(&conf.replace(
            "vrrp_sync_group G {\n",
            "vrrp_sync_group G {\n  sync_group_tracking_weight\n",
        ));
        assert!(
            !w.iter()
                .any(|x| x.to_string().contains("keepalived ignores the weights")),
            "{w:?}"
        );
    }

    #[test]
    fn the_instances_own_interface_is_not_a_weighted_tracker() {
        let (cfg, w) = checked(
            "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n\
             virtual_ipaddress {\n    198.18.0.1/24\n  }\n\
             track_interface {\n    eth0 weight -10\n    eth1 weight -5\n  }\n}\n",
        );
        let i = &cfg.vrrp.as_ref().expect("vrrp").instances[0];
        let ifs: Vec<(&str, Option<i32>)> = i
            .track_interfaces
            .iter()
            .map(|t| (t.name.as_str(), t.weight))
            .collect();
        assert_eq!(ifs, [("eth1", Some(-5))]);
        assert!(
            w.iter().any(|x| x
                .to_string()
                .contains("Ignoring track_interface eth0 since own interface")),
            "{w:?}"
        );
    }

    #[test]
    fn track_files_are_imported_with_weights_and_init_file() {
        let (cfg, w) = checked(
            "track_file manual {\n  file /etc/keepalived/manual\n  weight -10 reverse\n  init_file 5 overwrite\n}\n\
             vrrp_track_file gate {\n  file \"/run/gate\"\n}\n\
             track_file rel {\n  file relative/path\n}\n\
             vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n\
             virtual_ipaddress {\n    198.18.0.1/24\n  }\n\
             track_file {\n    manual\n    gate weight 0\n    rel\n    nosuch\n  }\n}\n",
        );
        let m = cfg.track_file("manual").expect("manual");
        assert_eq!(m.file, std::path::PathBuf::from("/etc/keepalived/manual"));
        assert_eq!((m.weight, m.reverse), (-10, true));
        assert_eq!((m.init_file, m.init_overwrite), (Some(5), true));
        let g = cfg.track_file("gate").expect("gate (vrrp_track_file)");
        assert_eq!((g.weight, g.reverse, g.init_file), (1, false, None));
        assert!(cfg.track_file("rel").is_none());
        let refs: Vec<(&str, Option<i32>)> = cfg.vrrp.as_ref().expect("vrrp").instances[0]
            .track_files
            .iter()
            .map(|t| (t.name.as_str(), t.weight))
            .collect();
        assert_eq!(refs, [("manual", None), ("gate", Some(0))]);
        let text: Vec<String> = w.iter().map(|x| x.to_string()).collect();
        assert!(
            text.iter()
                .any(|t| t.contains("`file relative/path` is not an absolute path")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("track_file `nosuch`: there is no such track_file")),
            "{text:?}"
        );
    }

    #[test]
    fn track_processes_are_imported_with_their_quorum_delays_and_weights() {
        let (cfg, w) = checked(
            "vrrp_track_process db {\n  process mysqld\n  weight -30\n  delay 2.5\n}\n\
             vrrp_track_process ha {\n  process /usr/sbin/haproxy -f /etc/haproxy/haproxy.cfg\n  quorum 1\n  quorum_max 1\n  terminate_delay 1\n}\n\
             vrrp_track_process init {\n  process /usr/bin/app --conf\n  param_match initial\n  weight 10 reverse\n}\n\
             vrrp_track_process long {\n  process very-long-process-name\n}\n\
             vrrp_track_process none {\n  weight 5\n}\n\
             vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n\
             virtual_ipaddress {\n    198.18.0.1/24\n  }\n\
             track_process {\n    db\n    ha weight -20\n    init\n    long\n    none\n  }\n}\n",
        );
        let db = cfg.track_process("db").expect("db");
        assert_eq!(db.process, "mysqld");
        assert!(!db.uses_cmdline());
        assert_eq!((db.weight, db.reverse), (-30, false));
        assert_eq!(
            db.fork_delay,
            crate::config::types::Dur(std::time::Duration::from_millis(2500))
        );
        assert_eq!(db.terminate_delay, db.fork_delay);
        let ha = cfg.track_process("ha").expect("ha");
        assert_eq!(ha.process, "/usr/sbin/haproxy");
        assert_eq!(ha.args, ["-f", "/etc/haproxy/haproxy.cfg"]);
        assert!(ha.uses_cmdline());
        assert_eq!((ha.quorum, ha.quorum_max), (1, Some(1)));
        assert_eq!(ha.fork_delay, crate::config::types::Dur::ZERO);
        let init = cfg.track_process("init").expect("init");
        assert_eq!(
            init.param_match,
            Some(crate::config::model::ParamMatch::Initial)
        );
        assert_eq!((init.weight, init.reverse), (10, true));
        assert_eq!(
            cfg.track_process("long").map(|p| p.process.as_str()),
            Some("very-long-proce")
        );
        assert!(cfg.track_process("none").is_none());
        let vrrp = cfg.vrrp.as_ref().expect("vrrp");
        let refs: Vec<(&str, Option<i32>)> = vrrp.instances[0]
            .track_processes
            .iter()
            .map(|t| (t.name.as_str(), t.weight))
            .collect();
        assert_eq!(
            refs,
            [
                ("db", None),
                ("ha", Some(-20)),
                ("init", None),
                ("long", None)
            ]
        );
        let text: Vec<&str> = w.iter().map(|w| w.message.as_str()).collect();
        assert!(
            text.iter().any(|m| m.contains("`process very-long-process-name` is longer than the 15 bytes")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|m| m.contains("vrrp_track_process none has no `process`")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|m| m.contains("track_process `none`: there is no such vrrp_track_process")),
            "{text:?}"
        );
        assert!(
            !text.iter().any(|m| m.contains("no equivalent")),
            "{text:?}"
        );
    }

    /// `killall -0 NAME`, `pgrep -x NAME` and `pidof NAME` scripts become track
    /// processes with the script's weight, its rise/fall as delays, and the instances'
    /// entries moved; other probes (a pattern, a path, an unquoted `script` keepalived
    /// ran only the first word of) and haproxy checks stay scripts.
    #[test]
    fn process_probe_scripts_become_track_processes() {
        let (cfg, w) = checked(
            "vrrp_script chk_mysql {\n  script \"killall -0 mysqld\"\n  interval 2\n  rise 2\n  fall 3\n  weight -30\n}\n\
             vrrp_script chk_pg {\n  script \"/usr/bin/pgrep -x postgres\"\n  weight 10\n}\n\
             vrrp_script chk_nginx {\n  script \"pidof nginx\"\n}\n\
             vrrp_script chk_pattern {\n  script \"pgrep mysql\"\n}\n\
             vrrp_script chk_unquoted {\n  script killall -0 redis-server\n}\n\
             vrrp_script chk_ha {\n  script \"killall -0 haproxy\"\n}\n\
             vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n\
             virtual_ipaddress {\n    198.18.0.1/24\n  }\n\
             track_script {\n    chk_mysql weight -40\n    chk_pg\n    chk_nginx\n    chk_pattern\n    chk_unquoted\n    chk_ha\n  }\n}\n",
        );
        let my = cfg.track_process("chk_mysql").expect("chk_mysql");
        assert_eq!(my.process, "mysqld");
        assert_eq!(my.interval, crate::config::types::Dur::secs(2));
        assert_eq!(my.fork_delay, crate::config::types::Dur::secs(2));
        assert_eq!(my.terminate_delay, crate::config::types::Dur::secs(4));
        assert_eq!(my.weight, -30);
        assert_eq!(
            cfg.track_process("chk_pg")
                .map(|p| (p.process.as_str(), p.weight)),
            Some(("postgres", 10))
        );
        assert_eq!(
            cfg.track_process("chk_nginx").map(|p| p.process.as_str()),
            Some("nginx")
        );
        let scripts: Vec<&str> = cfg.track_scripts.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(scripts, ["chk_pattern", "chk_unquoted", "chk_ha"]);
        let inst = &cfg.vrrp.as_ref().expect("vrrp").instances[0];
        let procs: Vec<(&str, Option<i32>)> = inst
            .track_processes
            .iter()
            .map(|t| (t.name.as_str(), t.weight))
            .collect();
        assert_eq!(
            procs,
            [
                ("chk_mysql", Some(-40)),
                ("chk_pg", None),
                ("chk_nginx", None)
            ]
        );
        let refs: Vec<&str> = inst.track_scripts.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(refs, ["chk_pattern", "chk_unquoted", "chk_ha"]);
        let text: Vec<&str> = w.iter().map(|w| w.message.as_str()).collect();
        assert!(
            text.iter().any(|m| m.contains("imported as `track_processes.chk_mysql` (process: mysqld, interval 2s, with `fork_delay: 2s` for `rise 2` and `terminate_delay: 4s` for `fall 3`)")),
            "{text:?}"
        );
        assert!(
            !text
                .iter()
                .any(|m| m.contains("chk_mysql: `killall -0 mysqld` only checks")),
            "{text:?}"
        );
    }

    /// `script /bin/sh -c "..."` (several words, the quoted one a single argument) is
    /// imported as the whole command; joining them lost the quotes, so `sh -c` ran `ss`
    /// alone. (keepalived itself runs only the first word: see the next test.)
    #[test]
    fn multi_word_script_keeps_quoted_arguments() {
        let (cfg, _) = checked(
            "vrrp_script a {\n  script /bin/sh -c \"ss -ltn | grep -q :3306\"\n}\n\
             vrrp_script b {\n  script /usr/bin/mysql -e \"select 1\"\n}\n\
             vrrp_script c {\n  script \"/usr/bin/mysql -e 'select 1'\"\n}\n",
        );
        let a = cfg.track_script("a").expect("a");
        assert!(a.shell);
        assert_eq!(a.command.0, ["ss -ltn | grep -q :3306"]);
        let b = cfg.track_script("b").expect("b");
        assert!(!b.shell);
        assert_eq!(b.command.0, ["/usr/bin/mysql", "-e", "select 1"]);
        let c = cfg.track_script("c").expect("c");
        assert_eq!(c.command.0, ["/usr/bin/mysql", "-e", "select 1"]);
    }

    /// `weight N reverse` on a vrrp_script (the default for its users), on a track_script
    /// entry (overriding it either way) and on a track_interface entry.
    #[test]
    fn weight_reverse_is_kept() {
        let (cfg, w) = checked(
            "vrrp_script a {\n  script /bin/true\n  weight -20 reverse\n}\n\
             vrrp_script b {\n  script /bin/true\n  weight 10\n}\n\
             vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n\
             virtual_ipaddress {\n    198.19.0.1/24\n  }\n\
             track_script {\n    a\n    b weight 30 reverse\n  }\n\
             track_interface {\n    eth1 weight -5 reverse\n    eth2 weight 5 noreverse\n  }\n}\n\
             vrrp_instance VI_2 {\n  interface eth0\n  virtual_router_id 52\n  priority 100\n\
             virtual_ipaddress {\n    198.19.0.2/24\n  }\n\
             track_script {\n    a weight -7 noreverse\n  }\n}\n",
        );
        assert!(w.iter().all(|w| !w.message.contains("reverse")), "{w:?}");
        let a = cfg.track_script("a").expect("a");
        assert_eq!((a.weight, a.reverse), (-20, true));
        let b = cfg.track_script("b").expect("b");
        assert_eq!((b.weight, b.reverse), (10, false));
        let vrrp = cfg.vrrp.as_ref().expect("vrrp");
        let t = |i: usize| crate::vrrp::trackers_for(&vrrp.instances[i], &cfg);
        let got: Vec<(String, i32, bool)> = t(0)
            .into_iter()
            .map(|t| (t.label, t.weight, t.reverse))
            .collect();
        assert_eq!(
            got,
            vec![
                ("interface eth0".to_string(), 0, false),
                ("interface eth1".to_string(), -5, true),
                ("interface eth2".to_string(), 5, false),
                ("track script `a`".to_string(), -20, true),
                ("track script `b`".to_string(), 30, true),
            ]
        );
        let got: Vec<(i32, bool)> = t(1)
            .into_iter()
            .skip(1)
            .map(|t| (t.weight, t.reverse))
            .collect();
        assert_eq!(got, vec![(-7, false)]);
    }

    /// keepalived runs an instance with IPv6 addresses as VRRPv3, and VRRPv3 has no
    /// authentication: both used to give a config that `tandem check` rejects.
    #[test]
    fn ipv6_instance_is_v3_and_v3_has_no_authentication() {
        let inst = |name: &str, vrid: u8, extra: &str, vip: &str| {
            format!(
                "vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n{extra}  authentication {{\n    auth_type PASS\n    auth_pass 1111\n  }}\n  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n"
            )
        };
        let conf = format!(
            "{}{}{}",
            inst("V6", 61, "", "fd00::100/64"),
            inst("V3", 62, "  version 3\n", "198.19.0.1/24"),
            inst("V2", 63, "", "198.19.0.2/24"),
        );
        let (cfg, w) = checked(&conf);
        let vrrp = cfg.vrrp.expect("vrrp");
        use crate::config::vrrp::VrrpVersion;
        let v6 = &vrrp.instances[0];
        assert_eq!(v6.version, VrrpVersion::V3);
        assert_eq!(v6.auth_pass, None);
        assert_eq!(vrrp.instances[1].version, VrrpVersion::V3);
        assert_eq!(vrrp.instances[1].auth_pass, None);
        assert_eq!(vrrp.instances[2].version, VrrpVersion::V2);
        assert_eq!(vrrp.instances[2].auth_pass.as_deref(), Some("1111"));
        let msgs: Vec<(usize, &str)> = w.iter().map(|w| (w.line, w.message.as_str())).collect();
        assert!(
            msgs.iter().any(|(l, m)| *l == 1
                && m.contains("V6 uses IPv6 addresses: imported with `version: 3`")),
            "{msgs:?}"
        );
        assert_eq!(
            msgs.iter()
                .filter(|(_, m)| m.contains("`authentication` has no effect with VRRP version 3"))
                .count(),
            2,
            "{msgs:?}"
        );
    }

    /// keepalived 2.2.7 takes only the first word of an unquoted `script` line (its
    /// config dump shows `Command = '/usr/bin/sh'` for `script /bin/sh -c "exit 3"`), so
    /// such a check ran `/bin/sh` alone, which always succeeds. The whole command is
    /// imported, with a warning that says keepalived never ran it so.
    #[test]
    fn unquoted_multi_word_script_is_warned() {
        let (cfg, w) = checked(
            "vrrp_script a {\n  script /bin/sh -c \"ss -ltn | grep -q :3306\"\n}\n\
             vrrp_script b {\n  script \"/bin/sh -c 'ss -ltn | grep -q :3306'\"\n}\n",
        );
        for n in ["a", "b"] {
            let s = cfg.track_script(n).expect(n);
            assert!(s.shell, "{n}");
            assert_eq!(s.command.0, ["ss -ltn | grep -q :3306"], "{n}");
        }
        let on = |line: usize| -> Vec<&str> {
            w.iter()
                .filter(|w| w.line == line)
                .map(|w| w.message.as_str())
                .collect()
        };
        let a = on(2);
        assert!(
            a.iter().any(|m| m.contains(
                "`script /bin/sh -c 'ss -ltn | grep -q :3306'` is not quoted as a whole, so keepalived ran only `/bin/sh`"
            )),
            "{a:?}"
        );
        assert!(
            on(5).iter().all(|m| !m.contains("not quoted as a whole")),
            "{w:?}"
        );
    }

    /// keepalived rounds a fractional VRRPv2 `advert_int` to whole seconds, half up and
    /// at least 1s ("VRRPv2 advertisement interval 0.500000s must be an integer.
    /// rounding"); `500ms` made `tandem check` fail. VRRPv3 keeps it.
    #[test]
    fn fractional_v2_advert_int_is_rounded_like_keepalived() {
        let inst = |name: &str, vrid: u8, adv: &str, extra: &str| {
            format!(
                "vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n{extra}  advert_int {adv}\n  virtual_ipaddress {{\n    198.19.0.{vrid}/24\n  }}\n}}\n"
            )
        };
        let conf = [
            inst("A", 1, "0.5", ""),
            inst("B", 2, "1.5", ""),
            inst("C", 3, "0.4", ""),
            inst("D", 4, "2", ""),
            inst("E", 5, "0.5", "  version 3\n"),
        ]
        .concat();
        let (cfg, w) = checked(&conf);
        let got: Vec<u128> = cfg
            .vrrp
            .expect("vrrp")
            .instances
            .iter()
            .map(|i| i.advert_int.get().as_millis())
            .collect();
        assert_eq!(got, [1000, 2000, 1000, 2000, 500]);
        let rounded: Vec<(usize, &str)> = w
            .iter()
            .filter(|w| w.message.contains("keepalived rounds it"))
            .map(|w| (w.line, w.message.as_str()))
            .collect();
        assert_eq!(rounded.len(), 3, "{rounded:?}");
        assert_eq!(rounded[0].0, 4);
        assert!(
            rounded[1]
                .1
                .contains("`advert_int 1.5` is not whole seconds, which VRRPv2 needs: keepalived rounds it to 2s"),
            "{rounded:?}"
        );
    }

    /// `notify_master SCRIPT [user [group]]`: an unquoted `notify_master /x.sh MASTER`
    /// names the user `MASTER`, which does not exist, so keepalived never ran the hook
    /// (and the import used to give every hook `user: MASTER`, which `tandem check`
    /// rejects). Such words are imported as arguments, warned; a real user stays the
    /// user; hooks that keepalived runs as different users are warned.
    #[test]
    fn notify_words_after_the_script_are_user_and_group() {
        let conf = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n\
                    virtual_ipaddress {\n    198.19.0.1/24\n  }\n\
                    notify_master /etc/keepalived/notify.sh MASTER\n\
                    notify_backup \"/etc/keepalived/notify.sh BACKUP\"\n\
                    notify_fault /etc/keepalived/fault.sh root root\n}\n";
        let (cfg, w) = checked(conf);
        let n = &cfg.vrrp.expect("vrrp").instances[0].notify;
        let words = |c: &Option<crate::config::types::Command>| {
            c.as_ref().map(|c| c.0.clone()).unwrap_or_default()
        };
        assert_eq!(words(&n.master), ["/etc/keepalived/notify.sh", "MASTER"]);
        assert_eq!(words(&n.backup), ["/etc/keepalived/notify.sh", "BACKUP"]);
        assert_eq!(words(&n.fault), ["/etc/keepalived/fault.sh"]);
        assert_eq!(
            (n.user.as_deref(), n.group.as_deref()),
            (Some("root"), Some("root"))
        );
        let on = |line: usize| -> Vec<&str> {
            w.iter()
                .filter(|w| w.line == line)
                .map(|w| w.message.as_str())
                .collect()
        };
        let m = on(7);
        assert_eq!(m.len(), 1, "{w:?}");
        assert!(
            m[0].contains("keepalived reads `MASTER` as the user to run `/etc/keepalived/notify.sh` as; there is no such user, so keepalived never ran this hook"),
            "{m:?}"
        );
        let f = on(9);
        assert!(
            f.iter().any(|m| m.contains(
                "keepalived runs `/etc/keepalived/fault.sh` as the user `root` (the words after an unquoted script are `user [group]`)"
            )),
            "{f:?}"
        );
        // Without `script_user`, the master and backup hooks ran as keepalived's default
        // user; tandem runs them as root, group root: no warning when that is root too.
        let default_is_root = !user_exists("keepalived_script");
        let differ = w
            .iter()
            .filter(|w| {
                w.message
                    .contains("tandem runs all notify hooks of an instance as one user")
            })
            .count();
        assert_eq!(differ, if default_is_root { 0 } else { 2 }, "{w:?}");
    }

    /// Hooks with different users of their own: the first one's user is kept, the
    /// others are warned on their lines.
    #[test]
    fn notify_hooks_with_different_users_are_warned() {
        let conf = "global_defs {\n  script_user root\n}\n\
                    vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n\
                    virtual_ipaddress {\n    198.19.0.1/24\n  }\n\
                    notify_master \"/etc/keepalived/notify.sh master\"\n\
                    notify_backup \"/etc/keepalived/notify.sh backup\"\n\
                    notify_stop \"/etc/keepalived/stop.sh\" nobody\n}\n";
        let (cfg, w) = checked(conf);
        let n = &cfg.vrrp.expect("vrrp").instances[0].notify;
        assert_eq!(n.user.as_deref(), Some("nobody"));
        let differ: Vec<(usize, &str)> = w
            .iter()
            .filter(|w| w.message.contains("as one user"))
            .map(|w| (w.line, w.message.as_str()))
            .collect();
        assert_eq!(differ.len(), 2, "{w:?}");
        assert_eq!((differ[0].0, differ[1].0), (10, 11));
        assert!(
            differ[0].1.contains(
                "keepalived runs the master hook as user `root`, but tandem runs all notify hooks of an instance as one user: imported with user `nobody` for all"
            ),
            "{differ:?}"
        );
    }
}
