//! haproxy.cfg (`mode tcp`) → `balancer`.

use super::{Warning, Warnings, Y};

/// One configuration line: words (quotes removed, comments dropped) and its number.
#[derive(Debug, Clone)]
struct Line {
    words: Vec<String>,
    line: usize,
}

/// haproxy's backslash escapes (outside single quotes): `\r`, `\n`, `\t`, `\xHH`, and
/// any other character stands for itself (`\ ` a space, `\#`, `\\`).
fn escaped(chars: &mut std::str::Chars<'_>) -> Option<char> {
    let n = chars.next()?;
    Some(match n {
        'r' => '\r',
        'n' => '\n',
        't' => '\t',
        'x' => {
            let hex: String = chars.clone().take(2).collect();
            match u8::from_str_radix(&hex, 16) {
                Ok(b) if hex.len() == 2 => {
                    chars.next();
                    chars.next();
                    char::from(b)
                }
                _ => 'x',
            }
        }
        other => other,
    })
}

fn split_line(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut have = false;
    let mut quote: Option<char> = None;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some('"') if c == '\\' => {
                if let Some(n) = escaped(&mut chars) {
                    cur.push(n);
                }
            }
            Some(_) => cur.push(c),
            None => match c {
                '#' => break,
                '\\' => {
                    if let Some(n) = escaped(&mut chars) {
                        cur.push(n);
                        have = true;
                    }
                }
                '"' | '\'' => {
                    quote = Some(c);
                    have = true;
                }
                c if c.is_whitespace() => {
                    if have || !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                        have = false;
                    }
                }
                c => cur.push(c),
            },
        }
    }
    if have || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A section: `listen mysql` and its lines.
#[derive(Debug, Clone)]
struct Section {
    kind: String,
    name: String,
    args: Vec<String>,
    line: usize,
    body: Vec<Line>,
}

fn sections(text: &str) -> (Vec<Section>, Vec<Line>) {
    const KINDS: &[&str] = &[
        "global",
        "defaults",
        "listen",
        "frontend",
        "backend",
        "userlist",
        "peers",
        "resolvers",
        "mailers",
        "program",
        "http-errors",
        "ring",
        "cache",
        "fcgi-app",
        "crt-store",
        "traces",
    ];
    let mut out: Vec<Section> = Vec::new();
    let mut stray = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let words = split_line(raw);
        let Some(first) = words.first() else { continue };
        if KINDS.contains(&first.as_str()) {
            out.push(Section {
                kind: first.clone(),
                name: words.get(1).cloned().unwrap_or_default(),
                args: words.get(2..).map(|a| a.to_vec()).unwrap_or_default(),
                line: i + 1,
                body: Vec::new(),
            });
            continue;
        }
        let l = Line { words, line: i + 1 };
        match out.last_mut() {
            Some(s) => s.body.push(l),
            None => stray.push(l),
        }
    }
    (out, stray)
}

/// haproxy time (`5000` = ms, `5s`, `1m`, `30us`) as a tandem duration. Milliseconds
/// are written in the largest unit that holds them exactly (`28800000` → `8h`, `2000` →
/// `2s`), as a reader would.
fn duration(v: &str) -> Option<String> {
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    match unit {
        "" | "ms" => {
            let units = [
                (86_400_000, "d"),
                (3_600_000, "h"),
                (60_000, "m"),
                (1000, "s"),
            ];
            Some(
                units
                    .iter()
                    .find(|(ms, _)| n > 0 && n.is_multiple_of(*ms))
                    .map_or_else(|| format!("{n}ms"), |(ms, u)| format!("{}{u}", n / ms)),
            )
        }
        "us" | "s" | "m" | "h" | "d" => Some(format!("{n}{unit}")),
        _ => None,
    }
}

/// A haproxy time of zero (`0`, `0s`, `0ms`): no timeout at all.
fn zero_duration(v: &str) -> bool {
    let digits = v.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    !digits.is_empty() && digits.bytes().all(|b| b == b'0')
}

/// Settings of a proxy; `defaults` sections produce the starting values.
#[derive(Debug, Clone, Default)]
struct Proxy {
    mode: Option<(String, usize)>,
    balance: Option<String>,
    timeouts: Vec<(String, String)>,
    check_timeout: Option<String>,
    retries: Option<i64>,
    redispatch: Option<bool>,
    allbackups: bool,
    maxconn: Option<i64>,
    /// `rate-limit sessions N` (frontends and `listen`).
    rate_limit_sessions: Option<i64>,
    backlog: Option<i64>,
    /// `option clitcpka` (or `tcpka` outside a backend).
    clitcpka: bool,
    /// `option srvtcpka` (or `tcpka` outside a frontend).
    srvtcpka: bool,
    /// `clitcpka-idle`/`-intvl`/`-cnt`.
    cli_ka: KaTuning,
    /// `srvtcpka-idle`/`-intvl`/`-cnt`.
    srv_ka: KaTuning,
    /// `log global` (logs only when `global` has a `log` line).
    log_global: bool,
    /// `log <target> ...`.
    log_targets: bool,
    /// `no log` (after which nothing above is set).
    no_log: bool,
    source: Option<String>,
    /// `tcp`, `mysql` or `http`, with a user or a path.
    check_type: Option<String>,
    check_user: Option<String>,
    check_path: Option<String>,
    expect_status: Option<i64>,
    /// `http-check disable-on-404`, with its line.
    disable_on_404: Option<usize>,
    /// `default-server` options.
    default_server: Vec<String>,
    binds: Vec<Bind>,
    accept_proxy: bool,
    servers: Vec<Line>,
    default_backend: Option<String>,
    /// `stick-table type ip|ipv6`: size and expire, with its line.
    stick_table: Option<(i64, Option<String>, usize)>,
    /// `stick on src|dst`, with its line.
    stick_on: Option<(String, usize)>,
    /// `hash-type consistent`.
    hash_consistent: bool,
    /// `tcp-check send <text>` (the first, before any expect).
    tcp_send: Option<String>,
    /// `tcp-check expect string <text>` (the first).
    tcp_expect: Option<String>,
    /// `tcp-check connect port <n>`.
    tcp_check_port: Option<i64>,
    /// A `tcp-check` step was not imported.
    tcp_check_lossy: bool,
}

/// haproxy's size suffixes (`stick-table ... size 200k`): powers of 1024.
fn table_size(v: &str) -> Option<i64> {
    let (num, mul) = match v.char_indices().last()? {
        (i, 'k' | 'K') => (&v[..i], 1024),
        (i, 'm' | 'M') => (&v[..i], 1024 * 1024),
        (i, 'g' | 'G') => (&v[..i], 1024 * 1024 * 1024),
        _ => (v, 1),
    };
    num.parse::<i64>().ok()?.checked_mul(mul)
}

/// One address of a `bind` line (or of a `listen`/`frontend` section line).
#[derive(Debug, Clone)]
struct Bind {
    addr: String,
    line: usize,
    /// The `v6only` bind option: `:::PORT` then takes IPv6 clients only.
    v6only: bool,
}

impl Bind {
    fn new(addr: &str, line: usize) -> Self {
        Bind {
            addr: addr.to_string(),
            line,
            v6only: false,
        }
    }
}

/// Applies one line of a defaults/listen/frontend/backend section. Returns false when
/// the keyword is not known here (the caller warns).
fn apply(p: &mut Proxy, l: &Line, w: &mut Warnings, sect: &str) {
    let words: Vec<&str> = l.words.iter().map(String::as_str).collect();
    let no = |w: &mut Warnings, why: &str| w.no_equivalent(l.line, &l.words.join(" "), why);
    match words.as_slice() {
        ["mode", m, ..] => p.mode = Some((m.to_string(), l.line)),
        ["balance", algo, rest @ ..] => {
            if !rest.is_empty() {
                no(w, "balance arguments");
            }
            match *algo {
                "roundrobin" | "static-rr" | "leastconn" | "source" | "first" => {
                    p.balance = Some(algo.to_string())
                }
                other => w.warn(
                    l.line,
                    format!(
                        "`balance {other}` has no tandem equivalent (roundrobin, static-rr, leastconn, source, first); using roundrobin"
                    ),
                ),
            }
        }
        ["timeout", kind, v] => {
            let Some(d) = duration(v) else {
                w.warn(
                    l.line,
                    format!("`timeout {kind} {v}`: not a duration; ignored"),
                );
                return;
            };
            if ignored_timeout(kind, sect, l.line, w) {
                return;
            }
            if zero_duration(v) {
                // haproxy: 0 = no timeout (it warns at startup for client/server/connect).
                p.timeouts.retain(|(k, _)| *k != kind.replace('-', "_"));
                if *kind == "check" {
                    p.check_timeout = None;
                }
                w.warn(
                    l.line,
                    format!(
                        "`timeout {kind} {v}`: 0 means no timeout in haproxy; tandem has no unlimited timeout, so its default applies (see the listener's note on missing timeouts)"
                    ),
                );
                return;
            }
            match *kind {
                "connect" | "client" | "server" | "tunnel" | "client-fin" | "server-fin"
                | "queue" => {
                    p.timeouts.retain(|(k, _)| k != kind);
                    p.timeouts.push((kind.replace('-', "_"), d));
                }
                "check" => p.check_timeout = Some(d),
                _ => no(w, "not a TCP timeout tandem has"),
            }
        }
        ["contimeout", v] | ["srvtimeout", v] | ["clitimeout", v] => {
            let kind = match words[0] {
                "contimeout" => "connect",
                "srvtimeout" => "server",
                _ => "client",
            };
            if ignored_timeout(kind, sect, l.line, w) {
                return;
            }
            if zero_duration(v) {
                p.timeouts.retain(|(k, _)| k != kind);
                w.warn(
                    l.line,
                    format!(
                        "`{} {v}`: 0 means no timeout in haproxy; tandem has no unlimited timeout, so its default applies (see the listener's note on missing timeouts)",
                        words[0]
                    ),
                );
                return;
            }
            match duration(v) {
                Some(d) => {
                    p.timeouts.retain(|(k, _)| k != kind);
                    p.timeouts.push((kind.to_string(), d));
                }
                None => w.warn(
                    l.line,
                    format!("`{} {v}`: not a duration; ignored", words[0]),
                ),
            }
        }
        ["retries", n] => match n.parse() {
            Ok(n) => p.retries = Some(n),
            Err(_) => w.warn(l.line, format!("`retries {n}`: not a number; ignored")),
        },
        ["option", "redispatch"] => p.redispatch = Some(true),
        ["option", "redispatch", n] => match n.parse::<i64>() {
            // haproxy 2.6: 0 disables redispatch; -1 (the default) redispatches on the
            // last retry, P > 0 on every P-th retry, -N on the N-th retry before the last.
            Ok(0) => p.redispatch = Some(false),
            Ok(-1) => p.redispatch = Some(true),
            Ok(n) => {
                p.redispatch = Some(true);
                w.warn(
                    l.line,
                    format!(
                        "`option redispatch {n}`: imported as `redispatch: true`, where tandem redispatches on the last retry, on every retry for roundrobin/static-rr with more than one usable server, and as soon as the server is down (haproxy's default interval -1); the interval itself is not configurable"
                    ),
                );
            }
            Err(_) => w.warn(
                l.line,
                format!("`option redispatch {n}`: not a number; ignored"),
            ),
        },
        ["no", "option", "redispatch"] => p.redispatch = Some(false),
        ["option", "allbackups"] => p.allbackups = true,
        // The log line format only: whether anything is logged depends on `log`.
        ["option", "tcplog"] => {}
        ["option", o @ ("tcpka" | "clitcpka" | "srvtcpka")]
        | ["no", "option", o @ ("tcpka" | "clitcpka" | "srvtcpka")] => {
            let on = words[0] != "no";
            // haproxy: `tcpka` in a frontend covers the client side only, in a backend
            // the server side only.
            if *o == "clitcpka" || (*o == "tcpka" && sect != "backend") {
                p.clitcpka = on;
            }
            if *o == "srvtcpka" || (*o == "tcpka" && sect != "frontend") {
                p.srvtcpka = on;
            }
        }
        [
            k @ ("clitcpka-idle" | "clitcpka-intvl" | "srvtcpka-idle" | "srvtcpka-intvl"),
            v,
        ] => {
            let Some(d) = keepalive_time(v, l.line, k, w) else {
                return;
            };
            let t = if k.starts_with("cli") {
                &mut p.cli_ka
            } else {
                &mut p.srv_ka
            };
            if k.ends_with("-idle") {
                t.idle = Some((d, l.line));
            } else {
                t.interval = Some((d, l.line));
            }
        }
        [k @ ("clitcpka-cnt" | "srvtcpka-cnt"), n] => match n.parse::<i64>() {
            Ok(c) if (1..=127).contains(&c) => {
                let t = if k.starts_with("cli") {
                    &mut p.cli_ka
                } else {
                    &mut p.srv_ka
                };
                t.count = Some((c, l.line));
            }
            _ => w.warn(
                l.line,
                format!("`{k} {n}`: not a probe count from 1 to 127; ignored"),
            ),
        },
        ["option", "dontlognull"] => no(w, "tandem logs every connection with `log: true`"),
        ["log", "global"] => {
            p.log_global = true;
            p.no_log = false;
        }
        ["no", "log"] => {
            p.log_global = false;
            p.log_targets = false;
            p.no_log = true;
        }
        ["log", ..] => {
            p.log_targets = true;
            p.no_log = false;
            w.warn(
                l.line,
                format!(
                    "`{}`: tandem writes its connection log to its own log (stderr/the journal), not to syslog targets; the listener logs its connections (`log: true`, the default)",
                    l.words.join(" ")
                ),
            );
        }
        ["option", "tcp-check"] => p.check_type = Some("tcp".into()),
        ["tcp-check", "connect", rest @ ..] => {
            let mut it = rest.iter();
            while let Some(k) = it.next() {
                match *k {
                    "port" => match it.next().and_then(|v| v.parse::<i64>().ok()) {
                        Some(n) => p.tcp_check_port = Some(n),
                        None => w.warn(l.line, "`tcp-check connect port`: not a port; ignored"),
                    },
                    other => w.no_equivalent(
                        l.line,
                        &format!("tcp-check connect ... {other}"),
                        "the check connects to the server's address (or `port`)",
                    ),
                }
            }
        }
        ["tcp-check", "send", data] if p.tcp_send.is_none() && p.tcp_expect.is_none() => {
            p.tcp_send = Some(data.to_string());
        }
        ["tcp-check", "expect", "string", text] if p.tcp_expect.is_none() => {
            p.tcp_expect = Some(text.to_string());
        }
        ["tcp-check", "comment", ..] => {}
        ["tcp-check", ..] => {
            p.tcp_check_lossy = true;
            no(
                w,
                "tandem's tcp check sends one `send` text and then expects one `expect` text (`tcp-check send <text>`, `tcp-check expect string <text>`); other steps, negated and regex expects and binary data are not imported",
            )
        }
        ["option", "mysql-check", rest @ ..] => {
            p.check_type = Some("mysql".into());
            match rest {
                // `post-41` is the 4.1 protocol, the one tandem's check speaks.
                ["user", u, tail @ ..] => {
                    p.check_user = Some(u.to_string());
                    if !tail.is_empty() && tail != ["post-41"] {
                        w.no_equivalent(
                            l.line,
                            &tail.join(" "),
                            "tandem speaks the 4.1+ protocol only",
                        );
                    }
                }
                [] => {}
                other => w.no_equivalent(l.line, &other.join(" "), ""),
            }
        }
        ["option", "httpchk", rest @ ..] => {
            p.check_type = Some("http".into());
            let uri = match rest {
                [] => None,
                [uri] if uri.starts_with('/') => Some(*uri),
                [_meth, uri, ..] => Some(*uri),
                [_] => None,
            };
            // `OPTIONS *` (or an absolute URI) is no path tandem can request.
            let path = uri.filter(|u| u.starts_with('/') && !u.contains(char::is_whitespace));
            if let Some(u) = uri
                && path.is_none()
            {
                w.warn(
                    l.line,
                    format!(
                        "`option httpchk`: `{u}` is not a request path; the check requests `/`"
                    ),
                );
            }
            if rest.len() > 2 || rest.first().is_some_and(|m| *m != "GET" && rest.len() > 1) {
                w.warn(
                    l.line,
                    "tandem's http check always sends `GET <path> HTTP/1.0`; method, version and headers are not imported",
                );
            }
            p.check_path = path.map(str::to_string);
        }
        ["http-check", "expect", "status", code] => match code.parse() {
            Ok(c) => p.expect_status = Some(c),
            Err(_) => no(w, "only a single status code"),
        },
        ["http-check", "disable-on-404"] => p.disable_on_404 = Some(l.line),
        ["http-check", ..] => no(
            w,
            "only `http-check expect status <code>` and `http-check disable-on-404`",
        ),
        ["maxconn", n] => match n.parse() {
            Ok(n) => p.maxconn = Some(n),
            Err(_) => w.warn(l.line, format!("`maxconn {n}`: not a number; ignored")),
        },
        ["rate-limit", "sessions", n] if sect != "backend" => match n.parse::<i64>() {
            Ok(n) if n > 0 => p.rate_limit_sessions = Some(n),
            // haproxy's 0: no limit.
            Ok(0) => p.rate_limit_sessions = None,
            _ => w.warn(
                l.line,
                format!("`rate-limit sessions {n}`: not a rate; ignored"),
            ),
        },
        ["backlog", n] => p.backlog = n.parse().ok(),
        ["source", addr, rest @ ..] => {
            p.source = Some(addr.split(':').next().unwrap_or(addr).to_string());
            if !rest.is_empty() || addr.contains(':') {
                no(w, "only the source address (no port or usesrc)");
            }
        }
        // Each `default-server` line adds to (or overrides) the ones before it, those of
        // the `defaults` section included.
        ["default-server", rest @ ..] => {
            p.default_server.extend(rest.iter().map(|s| s.to_string()));
        }
        ["bind", addrs, opts @ ..] => {
            let mut v6only = false;
            let mut opts = opts.iter();
            while let Some(o) = opts.next() {
                match *o {
                    "accept-proxy" => p.accept_proxy = true,
                    "v6only" => v6only = true,
                    // haproxy's default on Linux (net.ipv6.bindv6only=0): dual-stack.
                    "v4v6" => v6only = false,
                    "backlog" => match opts.next().map(|v| v.parse::<i64>()) {
                        Some(Ok(n)) => p.backlog = Some(n),
                        _ => w.warn(l.line, "`bind ... backlog`: not a number; ignored"),
                    },
                    // Options with a value: the value is no option of its own.
                    other @ ("name" | "id" | "process" | "thread" | "interface" | "mss"
                    | "maxconn" | "nice" | "namespace" | "tcp-ut" | "user" | "group"
                    | "uid" | "gid" | "mode" | "level" | "severity-output" | "crt"
                    | "crt-list" | "ca-file" | "crl-file" | "ciphers" | "ciphersuites"
                    | "alpn" | "npn" | "curves" | "ecdhe" | "ssl-min-ver"
                    | "ssl-max-ver" | "verify" | "tcp-md5sig" | "idle-ping" | "shards"
                    | "label") => {
                        let v = opts.next().copied().unwrap_or("");
                        w.no_equivalent(l.line, &format!("bind ... {other} {v}"), "bind option");
                    }
                    other => w.no_equivalent(l.line, &format!("bind ... {other}"), "bind option"),
                }
            }
            for a in addrs.split(',') {
                let mut b = Bind::new(a, l.line);
                b.v6only = v6only;
                p.binds.push(b);
            }
        }
        ["server", ..] => p.servers.push(l.clone()),
        ["default_backend", b] => p.default_backend = Some(b.to_string()),
        ["use_backend", ..] | ["acl", ..] | ["tcp-request", ..] => no(
            w,
            "content-based routing; tandem listeners have one server list (the frontend's `default_backend` was used)",
        ),
        ["stats", ..] => no(
            w,
            "use `tandem balancer stat` (the admin socket) or the observe endpoint",
        ),
        ["stick-table", rest @ ..] => {
            let mut ty = None;
            let mut size = None;
            let mut expire = None;
            let mut it = rest.iter();
            while let Some(k) = it.next() {
                match *k {
                    "type" => ty = it.next().copied(),
                    "size" => size = it.next().and_then(|v| table_size(v)),
                    "expire" => expire = it.next().and_then(|v| duration(v)),
                    "peers" => {
                        let peers = it.next().copied().unwrap_or("");
                        w.warn(
                            l.line,
                            format!(
                                "`stick-table ... peers {peers}`: tandem's stick table is not shared between the boxes; after a VIP failover the other box's table starts empty and its first connection picks a server by the `balance` algorithm (with `balance: first`, both boxes pick the same server)"
                            ),
                        );
                    }
                    "nopurge" => w.no_equivalent(
                        l.line,
                        "stick-table ... nopurge",
                        "a full table forgets its least recently used entries",
                    ),
                    "store" | "srvkey" | "write-to" | "recv-only" | "len" => {
                        let v = it.next().copied().unwrap_or("");
                        w.no_equivalent(
                            l.line,
                            &format!("stick-table ... {k} {v}"),
                            "the table stores the server only",
                        );
                    }
                    other => w.no_equivalent(l.line, &format!("stick-table ... {other}"), ""),
                }
            }
            match ty {
                Some("ip" | "ipv6") => {
                    p.stick_table = Some((size.unwrap_or(100_000), expire, l.line));
                }
                other => w.warn(
                    l.line,
                    format!(
                        "`stick-table type {}`: tandem's stick table is keyed on an IP address (`type ip`/`ipv6`) only; not imported",
                        other.unwrap_or("?")
                    ),
                ),
            }
        }
        ["stick", "on", pattern, rest @ ..] => {
            if !rest.is_empty() {
                w.no_equivalent(
                    l.line,
                    &format!("stick on {pattern} {}", rest.join(" ")),
                    "conditions and other tables; the rule applies to every connection",
                );
            }
            match *pattern {
                "src" | "dst" => p.stick_on = Some((pattern.to_string(), l.line)),
                other => w.warn(
                    l.line,
                    format!(
                        "`stick on {other}`: tandem sticks on `src` or `dst` only; not imported, so connections are spread by the `balance` algorithm"
                    ),
                ),
            }
        }
        ["stick", ..] => no(
            w,
            "only `stick on src|dst` (which matches and stores); connections are spread by the `balance` algorithm",
        ),
        ["hash-type", "map-based", ..] => p.hash_consistent = false,
        ["hash-type", "consistent", ..] => {
            p.hash_consistent = true;
            w.warn(
                l.line,
                "`hash-type consistent`: tandem's `balance: source` is consistent too (rendezvous hashing over the server names: only a failed server's clients move, and both boxes agree), but it gives clients other servers than haproxy's consistent hash did; `source_compat: haproxy` reproduces haproxy's map-based hash only, not this one",
            );
        }
        ["fullconn", ..] | ["hash-type", ..] | ["option", "abortonclose"] => no(w, ""),
        _ => no(w, &format!("in `{sect}`")),
    }
}

/// Timeouts of the client side, which haproxy takes from the frontend; all the others
/// (`connect`, `server`, `tunnel`, `server-fin`, `check`, `queue`) are the backend's.
const CLIENT_TIMEOUTS: &[&str] = &["client", "client-fin", "client_fin"];

/// Whether haproxy ignores `timeout KIND` in a section of type `sect` ("'timeout server'
/// will be ignored because frontend 'fe' has no backend capability"): the server-side
/// ones in a `frontend`, the client-side ones in a `backend`. Warns when it does.
fn ignored_timeout(kind: &str, sect: &str, line: usize, w: &mut Warnings) -> bool {
    let client = CLIENT_TIMEOUTS.contains(&kind);
    let (side, lacks) = match (sect, client) {
        ("frontend", false) => ("server-side", "backend"),
        ("backend", true) => ("client-side", "frontend"),
        _ => return false,
    };
    let used = if client {
        "the frontend's (or the defaults')"
    } else {
        "the backend's (or the defaults')"
    };
    w.warn(
        line,
        format!(
            "`timeout {kind}` in a {sect}: haproxy ignores it there (a {side} timeout, and a {sect} has no {lacks} capability); not imported, the listener uses {used}"
        ),
    );
    true
}

/// TCP keepalive tuning from one side's `*tcpka-idle`/`-intvl`/`-cnt`, with the lines.
#[derive(Debug, Clone, Default)]
struct KaTuning {
    idle: Option<(String, usize)>,
    interval: Option<(String, usize)>,
    count: Option<(i64, usize)>,
}

/// A `*tcpka-idle`/`-intvl` value (seconds unless a unit is given) as whole seconds,
/// which is what the socket options take.
fn keepalive_time(v: &str, line: usize, key: &str, w: &mut Warnings) -> Option<String> {
    let d = if v.bytes().all(|b| b.is_ascii_digit()) {
        Some(format!("{v}s"))
    } else {
        duration(v)
    };
    let Some(d) = d.and_then(|d| crate::config::types::Dur::parse(&d).ok()) else {
        w.warn(line, format!("`{key} {v}`: not a duration; ignored"));
        return None;
    };
    let secs = d.get().as_secs() + u64::from(d.get().subsec_nanos() > 0);
    if !(1..=crate::config::balancer::TcpKeepalive::MAX_SECS).contains(&secs) {
        w.warn(
            line,
            format!("`{key} {v}`: keepalive times go from 1s to 32767s; ignored"),
        );
        return None;
    }
    if d.get().subsec_nanos() > 0 {
        w.warn(
            line,
            format!("`{key} {v}`: keepalive times are whole seconds; using {secs}s"),
        );
    }
    Some(format!("{secs}s"))
}

/// `tcp_keepalive` for a proxy: `true` for both sides untuned, a mapping otherwise.
/// tandem tunes both sides alike: with both on, a value set for the server side only is
/// used for both, and where the sides disagree the client's wins (with a warning).
fn keepalive(name: &str, p: &Proxy, w: &mut Warnings) -> Option<Y> {
    if !p.clitcpka && !p.srvtcpka {
        return None;
    }
    let pick = |w: &mut Warnings,
                what: &str,
                cli: Option<(Y, String, usize)>,
                srv: Option<(Y, String, usize)>|
     -> Option<Y> {
        let cli = cli.filter(|_| p.clitcpka);
        let srv = srv.filter(|_| p.srvtcpka);
        match (cli, srv) {
            (Some((c, cs, line)), Some((_, ss, _))) => {
                if cs != ss {
                    w.warn(
                        line,
                        format!(
                            "listener {name}: `clitcpka-{what} {cs}` and `srvtcpka-{what} {ss}` differ; tandem's `tcp_keepalive` tunes both sides alike, the client's value is kept"
                        ),
                    );
                }
                Some(c)
            }
            (Some((c, ..)), None) => Some(c),
            (None, Some((s, ..))) => Some(s),
            (None, None) => None,
        }
    };
    let time = |t: &KaTuning, idle: bool| {
        let v = if idle { &t.idle } else { &t.interval };
        v.as_ref()
            .map(|(d, line)| (Y::Raw(d.clone()), d.clone(), *line))
    };
    let count = |t: &KaTuning| t.count.map(|(n, line)| (Y::Int(n), n.to_string(), line));
    let idle = pick(w, "idle", time(&p.cli_ka, true), time(&p.srv_ka, true));
    let interval = pick(w, "intvl", time(&p.cli_ka, false), time(&p.srv_ka, false));
    let cnt = pick(w, "cnt", count(&p.cli_ka), count(&p.srv_ka));
    if p.clitcpka && p.srvtcpka && idle.is_none() && interval.is_none() && cnt.is_none() {
        return Some(Y::Bool(true));
    }
    let mut k = Y::map();
    k.set("client", Y::Bool(p.clitcpka));
    k.set("server", Y::Bool(p.srvtcpka));
    for (key, v) in [("idle", idle), ("interval", interval), ("count", cnt)] {
        if let Some(v) = v {
            k.set(key, v);
        }
    }
    Some(k)
}

/// The tandem `bind` for a haproxy bind address. `*:3306` and `:3306` listen on every
/// IPv4 address; `:::3306` on every IPv6 one (and, unless `v6only`, on IPv4 too: see
/// [`dual_stack_port`]).
fn address(a: &str) -> String {
    let a = strip_family(a);
    match a.rsplit_once(':') {
        Some(("" | "*" | "0.0.0.0", port)) => format!("0.0.0.0:{port}"),
        _ => bracket_v6(a),
    }
}

/// An address without haproxy's `ipv4@`/`ipv6@` family prefix.
fn strip_family(a: &str) -> &str {
    a.strip_prefix("ipv4@")
        .or_else(|| a.strip_prefix("ipv6@"))
        .unwrap_or(a)
}

/// `HOST:PORT` with an IPv6 host in brackets: haproxy also reads `2001:db8::1:3306`
/// (the port after the last colon), which tandem writes `[2001:db8::1]:3306`.
fn bracket_v6(a: &str) -> String {
    match a.rsplit_once(':') {
        Some((h, port)) if h.contains(':') && !h.starts_with('[') => format!("[{h}]:{port}"),
        _ => a.to_string(),
    }
}

/// The port of a haproxy bind on the IPv6 wildcard (`:::3306`, `[::]:3306`). haproxy
/// leaves such a socket dual-stack (IPv4 clients arrive as `::ffff:a.b.c.d`) unless the
/// bind has `v6only`; tandem's listeners on `[::]` set IPV6_V6ONLY, so the importer adds
/// an IPv4 listener on `0.0.0.0:PORT` next to it.
fn dual_stack_port(b: &Bind) -> Option<&str> {
    if b.v6only {
        return None;
    }
    let (host, port) = strip_family(&b.addr).rsplit_once(':')?;
    matches!(host, "::" | "[::]").then_some(port)
}

/// The binds of a proxy with an IPv4 `0.0.0.0:PORT` bind added after every dual-stack
/// IPv6 wildcard one (unless the proxy binds that already); `true` marks the added ones.
fn expand_binds(binds: &[Bind]) -> Vec<(String, usize, bool)> {
    let mut out = Vec::new();
    for b in binds {
        out.push((b.addr.clone(), b.line, false));
        if let Some(port) = dual_stack_port(b) {
            let v4 = format!("0.0.0.0:{port}");
            if !binds.iter().any(|o| address(&o.addr) == v4) {
                out.push((v4, b.line, true));
            }
        }
    }
    out
}

/// Per-server check parameters that tandem keeps per listener.
/// A server's own check parameters (`inter`, `rise`...), in the order given.
type CheckParams = Vec<(String, String)>;

const CHECK_PARAMS: &[&str] = &["inter", "fastinter", "downinter", "rise", "fall", "port"];

/// The `observe` settings a server may have of its own (tandem's names), compared with
/// the first checked server's like [`CHECK_PARAMS`].
const OBSERVE_PARAMS: &[&str] = &["observe", "error_limit", "on_error"];

fn server(
    l: &Line,
    defaults: &[String],
    listener_port: Option<&str>,
    w: &mut Warnings,
    marks: &mut Vec<Marks>,
) -> Option<(Y, bool, CheckParams)> {
    let (name, addr) = match l.words.as_slice() {
        [_, name, addr, ..] => (name.clone(), addr.clone()),
        _ => {
            w.warn(l.line, "`server` needs a name and an address; ignored");
            return None;
        }
    };
    let mut opts: Vec<String> = defaults.to_vec();
    opts.extend(l.words[3..].iter().cloned());
    let mut y = Y::map();
    y.set("name", Y::s(name.clone()));
    let addr = strip_family(&addr);
    let addr = match addr.rsplit_once(':') {
        Some((_, p)) if !p.is_empty() => addr.to_string(),
        _ => {
            let port = listener_port.unwrap_or("0");
            w.warn(
                l.line,
                format!(
                    "server {name} has no port (haproxy then uses the client's destination port); using the bind port {port}"
                ),
            );
            format!("{}:{port}", addr.trim_end_matches(':'))
        }
    };
    y.set("address", Y::s(bracket_v6(&addr)));
    let mut checked = false;
    let mut mark = Marks {
        line: l.line,
        name: name.clone(),
        ..Marks::default()
    };
    // This server's check parameters: its own options come after the `default-server`
    // ones, so a later value replaces an earlier one, as in haproxy.
    let mut own_check: Vec<(String, String)> = Vec::new();
    // Its agent check (`agent-check` and its `agent-*` settings).
    let mut agent_on = false;
    let mut agent = Y::map();
    let mut i = 0;
    while i < opts.len() {
        let o = opts[i].as_str();
        let v = opts.get(i + 1).cloned();
        let mut two = |w: &mut Warnings| -> Option<String> {
            if v.is_none() {
                w.warn(l.line, format!("server {name}: `{o}` needs a value"));
            }
            i += 1;
            v.clone()
        };
        match o {
            "check" => checked = true,
            "no-check" => checked = false,
            "weight" => {
                if let Some(v) = two(w).and_then(|v| v.parse::<i64>().ok()) {
                    y.set("weight", Y::Int(v));
                }
            }
            "maxconn" => {
                if let Some(v) = two(w).and_then(|v| v.parse::<i64>().ok()) {
                    y.set("maxconn", Y::Int(v));
                }
            }
            "backup" => {
                mark.backup = true;
                y.set("backup", Y::Bool(true))
            }
            "send-proxy" => y.set("send_proxy", Y::s("v1")),
            "send-proxy-v2" => y.set("send_proxy", Y::s("v2")),
            "on-marked-down" => {
                if let Some(v) = two(w) {
                    if v == "shutdown-sessions" {
                        mark.down = true;
                    } else {
                        w.no_equivalent(l.line, &format!("on-marked-down {v}"), "");
                    }
                }
            }
            "on-marked-up" => {
                if let Some(v) = two(w) {
                    if v == "shutdown-backup-sessions" {
                        mark.up = true;
                    } else {
                        w.no_equivalent(l.line, &format!("on-marked-up {v}"), "");
                    }
                }
            }
            p if CHECK_PARAMS.contains(&p) => {
                if let Some(v) = two(w) {
                    let v = if p == "rise" || p == "fall" || p == "port" {
                        v
                    } else if let Some(d) = duration(&v) {
                        d
                    } else {
                        w.warn(
                            l.line,
                            format!("server {name} `{p} {v}`: not a duration; ignored"),
                        );
                        i += 1;
                        continue;
                    };
                    own_check.retain(|(k, _)| k != p);
                    own_check.push((p.to_string(), v));
                }
            }
            "disabled" => w.warn(
                l.line,
                format!(
                    "server {name} is `disabled`: imported as a normal server; put it in maintenance with `tandem balancer maint <listener>/{name}`"
                ),
            ),
            "slowstart" => {
                if let Some(v) = two(w) {
                    match duration(&v) {
                        Some(d)
                            if crate::config::types::Dur::parse(&d)
                                .is_ok_and(|d| !d.get().is_zero()) =>
                        {
                            y.set("slowstart", Y::Raw(d))
                        }
                        // `slowstart 0`: no ramp (tandem's default), also over a
                        // `default-server` value.
                        Some(_) => {
                            y.remove("slowstart");
                        }
                        None => w.warn(
                            l.line,
                            format!("server {name} `slowstart {v}`: not a duration; ignored"),
                        ),
                    }
                }
            }
            "observe" => {
                if let Some(v) = two(w) {
                    if v == "layer4" {
                        own_check.retain(|(k, _)| k != "observe");
                        own_check.push(("observe".into(), v));
                    } else {
                        w.no_equivalent(
                            l.line,
                            &format!("server {name} observe {v}"),
                            "server option (tandem observes layer4 only: it relays TCP)",
                        );
                    }
                }
            }
            "error-limit" => {
                if let Some(v) = two(w) {
                    match v.parse::<u32>() {
                        Ok(n) if n > 0 => {
                            own_check.retain(|(k, _)| k != "error_limit");
                            own_check.push(("error_limit".into(), n.to_string()));
                        }
                        _ => w.warn(
                            l.line,
                            format!("server {name} `error-limit {v}`: not a count; ignored"),
                        ),
                    }
                }
            }
            "on-error" => {
                if let Some(v) = two(w) {
                    let mode = match v.as_str() {
                        "fastinter" => Some("fastinter"),
                        "fail-check" => Some("fail_check"),
                        "sudden-death" => Some("sudden_death"),
                        "mark-down" => Some("mark_down"),
                        _ => None,
                    };
                    match mode {
                        Some(m) => {
                            own_check.retain(|(k, _)| k != "on_error");
                            own_check.push(("on_error".into(), m.into()));
                        }
                        None => w.warn(
                            l.line,
                            format!("server {name} `on-error {v}`: unknown mode; ignored"),
                        ),
                    }
                }
            }
            "agent-check" => agent_on = true,
            "no-agent-check" => agent_on = false,
            "agent-port" => {
                if let Some(v) = two(w) {
                    match v.parse::<u16>() {
                        Ok(p) if p > 0 => agent.set("port", Y::Int(i64::from(p))),
                        _ => w.warn(
                            l.line,
                            format!("server {name} `agent-port {v}`: not a port; ignored"),
                        ),
                    }
                }
            }
            "agent-addr" => {
                if let Some(v) = two(w) {
                    agent.set("address", Y::s(v));
                }
            }
            "agent-send" => {
                if let Some(v) = two(w) {
                    agent.set("send", Y::s(v));
                }
            }
            "agent-inter" => {
                if let Some(v) = two(w) {
                    match duration(&v) {
                        Some(d) => agent.set("inter", Y::Raw(d)),
                        None => w.warn(
                            l.line,
                            format!("server {name} `agent-inter {v}`: not a duration; ignored"),
                        ),
                    }
                }
            }
            "track" => {
                if let Some(v) = two(w) {
                    y.set("track", Y::s(v));
                }
            }
            "id" | "cookie" | "addr" | "resolvers" | "init-addr"
            | "check-send-proxy" | "ssl" | "verify" | "source" | "maxqueue" | "minconn" | "ca-file" | "sni" => {
                let takes_value = !matches!(o, "check-send-proxy" | "ssl");
                let shown = if takes_value {
                    format!("{o} {}", two(w).unwrap_or_default())
                } else {
                    o.to_string()
                };
                w.no_equivalent(l.line, &format!("server {name} {shown}"), "server option");
            }
            other => w.no_equivalent(l.line, &format!("server {name} {other}"), "server option"),
        }
        i += 1;
    }
    if !checked {
        y.set("check", Y::Bool(false));
    }
    if agent_on {
        if agent.get("port").is_some() {
            y.set("agent", agent);
        } else {
            // haproxy refuses to start with this.
            w.warn(
                l.line,
                format!(
                    "server {name} has `agent-check` without `agent-port`; no agent check imported"
                ),
            );
        }
    }
    marks.push(mark);
    Some((y, checked, own_check))
}

/// A server's `on-marked-down` / `on-marked-up` actions, which haproxy sets per server
/// and tandem per listener.
#[derive(Default)]
struct Marks {
    line: usize,
    name: String,
    backup: bool,
    /// `on-marked-down shutdown-sessions`.
    down: bool,
    /// `on-marked-up shutdown-backup-sessions`.
    up: bool,
}

/// The listener's `on_marked_down` / `on_marked_up` from its servers' actions, warning
/// where haproxy applied them to only some servers (tandem applies them to all).
fn marked_actions(name: &str, marks: &[Marks], w: &mut Warnings) -> (bool, bool) {
    let down = marks.iter().any(|m| m.down);
    if down {
        for m in marks.iter().filter(|m| !m.down) {
            w.warn(
                m.line,
                format!(
                    "listener {name}: server {} has no `on-marked-down shutdown-sessions` where other servers have it; tandem's `on_marked_down: shutdown_sessions` applies to every server of the listener, this one too",
                    m.name
                ),
            );
        }
    }
    // haproxy acts on `on-marked-up` for active servers only.
    for m in marks.iter().filter(|m| m.up && m.backup) {
        w.warn(
            m.line,
            format!(
                "listener {name}: server {} is a backup: haproxy ignores its `on-marked-up shutdown-backup-sessions`",
                m.name
            ),
        );
    }
    let up = marks.iter().any(|m| m.up && !m.backup);
    if up {
        for m in marks.iter().filter(|m| !m.up && !m.backup) {
            w.warn(
                m.line,
                format!(
                    "listener {name}: server {} has no `on-marked-up shutdown-backup-sessions` where other active servers have it; tandem's `on_marked_up: shutdown_backup_sessions` applies to every active server, so this one coming up closes the backup servers' sessions too",
                    m.name
                ),
            );
        }
    }
    (down, up)
}

/// A check parameter as haproxy applies it to one server: its own value, else haproxy's
/// default (`inter 2s`, `rise 2`, `fall 3`; `fastinter`/`downinter` follow `inter`;
/// `port` the server's), with times in milliseconds so `2000` and `2s` compare equal.
fn effective_check(own: &[(String, String)], p: &str) -> String {
    let get = |k: &str| own.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let ms = |v: String| {
        crate::config::types::Dur::parse(&v)
            .map(|d| format!("{}ms", d.get().as_millis()))
            .unwrap_or(v)
    };
    match p {
        "inter" => ms(get("inter").unwrap_or_else(|| "2s".into())),
        "fastinter" | "downinter" => match get(p) {
            Some(v) => ms(v),
            None => effective_check(own, "inter"),
        },
        "rise" => get(p).unwrap_or_else(|| "2".into()),
        "fall" => get(p).unwrap_or_else(|| "3".into()),
        // haproxy's defaults: no observe, `error-limit 10`, `on-error fail-check`.
        "observe" => get(p).unwrap_or_else(|| "none".into()),
        "error_limit" => get(p).unwrap_or_else(|| "10".into()),
        "on_error" => get(p).unwrap_or_else(|| "fail_check".into()),
        _ => get(p).unwrap_or_else(|| "the server's port".into()),
    }
}

/// The listener's check timing comes from the first checked server; every other server
/// that haproxy checked otherwise (haproxy's defaults count: a server without `inter`
/// was checked every 2s, not at another server's `inter 5s`) gets its own values in a
/// `check:` mapping of its own: (server index in `checked`, [(param, tandem value)]).
#[allow(clippy::type_complexity)]
fn merge_checks(
    checked: &[(&Line, String, CheckParams)],
) -> (Vec<(String, String)>, Vec<(usize, Vec<(String, String)>)>) {
    let Some((_, _, first)) = checked.first() else {
        return (Vec::new(), Vec::new());
    };
    let mut own_values = Vec::new();
    for (i, (l, _, own)) in checked.iter().enumerate().skip(1) {
        let mut diff = Vec::new();
        for p in CHECK_PARAMS.iter().chain(OBSERVE_PARAMS) {
            if matches!(*p, "error_limit" | "on_error") && effective_check(own, "observe") == "none"
            {
                // Nothing to limit on a server that does not observe.
                continue;
            }
            let set = |c: &[(String, String)]| c.iter().any(|(k, _)| k == p);
            if matches!(*p, "fastinter" | "downinter") && !set(first) && !set(own) {
                // Both follow `inter`, which is compared on its own.
                continue;
            }
            let (a, b) = (effective_check(first, p), effective_check(own, p));
            if a != b {
                let v = if *p == "port" && !set(own) {
                    // haproxy checked this server's own port.
                    l.words
                        .get(2)
                        .and_then(|a| a.rsplit_once(':'))
                        .map(|(_, port)| port.to_string())
                        .unwrap_or(b)
                } else {
                    b
                };
                diff.push((p.to_string(), v));
            }
        }
        if !diff.is_empty() {
            own_values.push((i, diff));
        }
    }
    (first.clone(), own_values)
}

/// Builds the listeners of one proxy (one per bind address). `global_log`: the `global`
/// section has a `log` line (what `log global` refers to); `line` is the proxy's.
fn listeners(name: &str, p: &Proxy, global_log: bool, line: usize, w: &mut Warnings) -> Vec<Y> {
    // haproxy logs a connection only to the proxy's loggers: none without a `log`
    // line (`option tcplog` alone sets only the format), or with `log global` when
    // `global` has no `log`. tandem logs every connection unless `log: false`.
    let logs = p.log_targets || (p.log_global && global_log);
    if !logs && !p.no_log {
        let why = if p.log_global {
            "its `log global` refers to a `global` section without `log`"
        } else {
            "it has no `log` line (in the section or its `defaults`)"
        };
        w.warn(
            line,
            format!(
                "listener {name}: haproxy logs no connection for this proxy ({why}); imported as `log: false`, where tandem's default logs every connection"
            ),
        );
    }
    let bind_port = p
        .binds
        .first()
        .and_then(|b| b.addr.rsplit_once(':').map(|(_, port)| port.to_string()));
    let mut checked_servers = Vec::new();
    let mut marks = Vec::new();
    let mut servers = Vec::new();
    for s in &p.servers {
        if let Some((y, checked, own)) =
            server(s, &p.default_server, bind_port.as_deref(), w, &mut marks)
        {
            // A server that is not checked does not set the listener's check parameters.
            if checked {
                let name = s.words.get(1).cloned().unwrap_or_default();
                checked_servers.push((s, name, own, servers.len()));
            }
            servers.push(y);
        }
    }
    let (on_marked_down, on_marked_up) = marked_actions(name, &marks, w);
    let any_checked = !checked_servers.is_empty();
    let (check, own_checks) = {
        let plain: Vec<(&Line, String, CheckParams)> = checked_servers
            .iter()
            .map(|(l, n, own, _)| (*l, n.clone(), own.clone()))
            .collect();
        merge_checks(&plain)
    };
    for (i, diff) in own_checks {
        let Some((_, _, _, at)) = checked_servers.get(i) else {
            continue;
        };
        let Some(y) = servers.get_mut(*at) else {
            continue;
        };
        let mut c = Y::map();
        for (k, v) in diff {
            let val = match k.as_str() {
                "rise" | "fall" | "port" | "error_limit" => match v.parse::<i64>() {
                    Ok(n) => Y::Int(n),
                    Err(_) => Y::s(v),
                },
                _ => Y::Raw(v),
            };
            c.set(&k, val);
        }
        y.set("check", c);
    }
    let ka = keepalive(name, p, w);
    // haproxy without `timeout client`/`server`/`connect` waits forever (and warns at
    // startup); tandem applies its defaults, which would cut long-idle pooled connections.
    let has = |k: &str| p.timeouts.iter().any(|(n, _)| n == k);
    let mut missing: Vec<&str> = Vec::new();
    if !has("tunnel") {
        missing.extend(["client", "server"].into_iter().filter(|k| !has(k)));
    }
    if !has("connect") {
        missing.push("connect");
    }
    if !missing.is_empty()
        && let Some(b) = p.binds.first()
    {
        let list = missing
            .iter()
            .map(|k| format!("`timeout {k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        w.warn(
            b.line,
            format!(
                "listener {name}: no {list} (haproxy then never times out); tandem uses its defaults (connect 5s, client and server 1h): set `timeouts` on the listener if connections may stay idle longer"
            ),
        );
    }
    let mut out = Vec::new();
    for (i, (bind, line, added)) in expand_binds(&p.binds).iter().enumerate() {
        let lname = if i == 0 {
            name.to_string()
        } else {
            let n = format!("{name}_{}", i + 1);
            if *added {
                w.warn(
                    *line,
                    format!(
                        "`{name}`: haproxy's IPv6 wildcard bind also takes IPv4 clients (no `v6only`), while a tandem listener on [::] is IPv6-only; {bind} becomes its own listener `{n}` (same servers)"
                    ),
                );
            } else {
                w.warn(
                    *line,
                    format!(
                        "`{name}` binds several addresses: {bind} becomes its own listener `{n}` (same servers)"
                    ),
                );
            }
            n
        };
        let mut y = Y::map();
        y.set("name", Y::s(lname));
        y.set("bind", Y::s(address(bind)));
        if let Some(b) = &p.balance
            && b != "roundrobin"
        {
            y.set("balance", Y::s(b.clone()));
            if b == "source" && i == 0 && !p.hash_consistent {
                w.warn(
                    p.binds[0].line,
                    format!(
                        "listener {name}: `balance source` uses tandem's hashing (same server on both boxes, minimal movement); add `source_compat: haproxy` if clients must keep the server haproxy gave them"
                    ),
                );
            }
        }
        if let Some(m) = p.maxconn {
            y.set("maxconn", Y::Int(m));
        }
        if let Some(r) = p.rate_limit_sessions {
            y.set("rate_limit_sessions", Y::Int(r));
        }
        if let Some(b) = p.backlog {
            y.set("backlog", Y::Int(b));
        }
        if !p.timeouts.is_empty() {
            let mut t = Y::map();
            for key in [
                "connect",
                "client",
                "server",
                "tunnel",
                "client_fin",
                "server_fin",
                "queue",
            ] {
                if let Some((_, v)) = p.timeouts.iter().find(|(k, _)| k == key) {
                    t.set(key, Y::Raw(v.clone()));
                }
            }
            y.set("timeouts", t);
        }
        if let Some(r) = p.retries {
            y.set("retries", Y::Int(r));
        }
        if let Some(r) = p.redispatch {
            y.set("redispatch", Y::Bool(r));
        }
        if let Some((on, sline)) = &p.stick_on {
            let mut st = Y::map();
            st.set("on", Y::s(on.clone()));
            match &p.stick_table {
                Some((size, expire, _)) => {
                    if let Some(e) = expire {
                        st.set("expire", Y::Raw(e.clone()));
                    }
                    st.set("size", Y::Int((*size).clamp(1, 100_000_000)));
                }
                None if i == 0 => w.warn(
                    *sline,
                    format!(
                        "listener {name}: `stick on {on}` without a `stick-table` in this section; imported with tandem's table (100000 entries, no expiry)"
                    ),
                ),
                None => {}
            }
            y.set("stick", st);
        } else if let Some((_, _, tline)) = p.stick_table
            && i == 0
        {
            w.warn(
                tline,
                format!(
                    "listener {name}: a `stick-table` without a `stick on src|dst` rule is not used; not imported"
                ),
            );
        }
        if any_checked {
            let mut c = Y::map();
            c.set(
                "type",
                Y::s(p.check_type.clone().unwrap_or_else(|| "tcp".into())),
            );
            if let Some(u) = &p.check_user {
                c.set("user", Y::s(u.clone()));
            }
            if p.check_type.as_deref() == Some("http") {
                if let Some(path) = &p.check_path {
                    c.set("path", Y::s(path.clone()));
                }
                if let Some(s) = p.expect_status {
                    c.set("expect_status", Y::Int(s));
                }
                if p.disable_on_404.is_some() {
                    c.set("disable_on_404", Y::Bool(true));
                }
            } else if let Some(line) = p.disable_on_404 {
                w.warn(
                    line,
                    "`http-check disable-on-404` applies to `option httpchk` only; not imported",
                );
            }
            if p.check_type.as_deref() == Some("tcp") {
                if let Some(d) = &p.tcp_send {
                    c.set("send", Y::s(d.clone()));
                }
                if let Some(e) = &p.tcp_expect {
                    c.set("expect", Y::s(e.clone()));
                }
            }
            for key in CHECK_PARAMS {
                if let Some((_, v)) = check.iter().find(|(k, _)| k == key) {
                    let val = match *key {
                        "rise" | "fall" | "port" => match v.parse::<i64>() {
                            Ok(n) => Y::Int(n),
                            Err(_) => Y::s(v.clone()),
                        },
                        _ => Y::Raw(v.clone()),
                    };
                    c.set(key, val);
                }
            }
            if let Some(t) = &p.check_timeout {
                c.set("timeout", Y::Raw(t.clone()));
            }
            // `observe layer4` (with `error-limit`, `on-error`): the first checked
            // server's, for the whole listener.
            if check.iter().any(|(k, _)| k == "observe") {
                c.set("observe", Y::s("layer4"));
                for key in ["error_limit", "on_error"] {
                    if let Some((_, v)) = check.iter().find(|(k, _)| k == key) {
                        let val = match v.parse::<i64>() {
                            Ok(n) => Y::Int(n),
                            Err(_) => Y::s(v.clone()),
                        };
                        c.set(key, val);
                    }
                }
            }
            if p.check_type.as_deref() == Some("tcp")
                && let Some(port) = p.tcp_check_port
            {
                c.set("port", Y::Int(port));
            }
            if p.tcp_check_lossy && i == 0 && p.check_type.as_deref() == Some("tcp") {
                w.warn(
                    *line,
                    format!(
                        "listener {name}: its `tcp-check` rules were imported only in part (see above): {}",
                        if p.tcp_expect.is_some() {
                            "check that the imported `send`/`expect` still tells a healthy server from a failing one"
                        } else {
                            "the check now only connects, so every server whose port accepts connections counts as up (a role check such as `expect string MySQL\\ master` no longer tells primary from replica)"
                        }
                    ),
                );
            }
            y.set("check", c);
        }
        if p.allbackups {
            y.set("allbackups", Y::Bool(true));
        }
        if on_marked_down {
            y.set("on_marked_down", Y::s("shutdown_sessions"));
        }
        if on_marked_up {
            y.set("on_marked_up", Y::s("shutdown_backup_sessions"));
        }
        if p.accept_proxy {
            y.set("accept_proxy", Y::Bool(true));
        }
        if let Some(k) = &ka {
            y.set("tcp_keepalive", k.clone());
        }
        if !logs {
            y.set("log", Y::Bool(false));
        }
        if let Some(s) = &p.source {
            y.set("source", Y::s(s.clone()));
        }
        y.set("servers", Y::Seq(servers.clone()));
        out.push(y);
    }
    out
}

/// Converts haproxy.cfg text; `file` names it in warnings.
pub fn convert(text: &str, file: &str) -> (Option<Y>, Vec<Warning>) {
    let c = convert_full(text, file);
    (c.balancer, c.warnings)
}

/// What a haproxy.cfg becomes.
pub struct Converted {
    pub balancer: Option<Y>,
    pub warnings: Vec<Warning>,
    /// For each listener of the balancer, the line of the `listen` or `frontend`
    /// section it comes from (in the order of the listeners).
    pub lines: Vec<usize>,
    /// The `observe` section serving a `mode http` stats page (`stats uri`).
    pub observe: Option<Y>,
}

/// haproxy's stats page keywords that tandem's `observe.stats` has no word for.
const STATS_IGNORED: &[&str] = &[
    "hide-version",
    "show-node",
    "show-desc",
    "scope",
    "http-request",
];

/// A `mode http` `listen`/`frontend` section that serves haproxy's stats page
/// (`stats enable` or `stats uri`): tandem's `observe` section serving the same page,
/// or `None` when the section is something else.
fn stats_section(s: &Section, w: &mut Warnings) -> Option<Y> {
    let stats: Vec<&Line> = s
        .body
        .iter()
        .filter(|l| l.words.first().map(String::as_str) == Some("stats"))
        .collect();
    let enabled = stats
        .iter()
        .any(|l| matches!(l.words.get(1).map(String::as_str), Some("enable" | "uri")));
    if !enabled {
        return None;
    }
    let mut binds: Vec<Bind> = Vec::new();
    if let Some(a) = s.args.first() {
        binds.extend(a.split(',').map(|a| Bind::new(a, s.line)));
    }
    for l in &s.body {
        if l.words.first().map(String::as_str) == Some("bind")
            && let Some(a) = l.words.get(1)
        {
            binds.extend(a.split(',').map(|a| Bind::new(a, l.line)));
        }
    }
    let Some(first) = binds.first() else {
        w.warn(
            s.line,
            format!(
                "{} {}: a stats page without `bind`; not imported",
                s.kind, s.name
            ),
        );
        return None;
    };
    if binds.len() > 1 {
        w.warn(
            binds[1].line,
            format!(
                "{} {}: tandem's observe endpoint listens on one address; the page is served on {} only",
                s.kind, s.name, first.addr
            ),
        );
    }
    let listen = address(&first.addr);
    let mut page = Y::map();
    let mut uri = "/haproxy?stats".to_string();
    let mut auth = Vec::new();
    for l in &stats {
        let words: Vec<&str> = l.words.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["stats", "enable"] => {}
            ["stats", "uri", u] => match crate::config::model::stats_uri_problem(u) {
                None => uri = u.to_string(),
                Some(why) => {
                    uri = crate::config::model::DEFAULT_STATS_URI.to_string();
                    w.warn(
                        l.line,
                        format!("`stats uri {u}`: {why}; tandem serves the page at {uri}"),
                    );
                }
            },
            ["stats", "realm", r @ ..] if !r.is_empty() && !r.join(" ").contains('"') => {
                page.set("realm", Y::s(r.join(" ")));
            }
            ["stats", "auth", ua] => match ua.split_once(':') {
                Some((u, p)) if !u.is_empty() && !p.is_empty() => {
                    auth.push(Y::s(ua.to_string()));
                }
                _ => w.warn(
                    l.line,
                    format!("`stats auth {ua}`: tandem needs `user:password` with both; left out"),
                ),
            },
            ["stats", "refresh", d] => match duration(d) {
                Some(d) => page.set("refresh", Y::s(d)),
                None => w.warn(
                    l.line,
                    format!("`stats refresh {d}`: not a duration; left out"),
                ),
            },
            ["stats", "admin", "if", cond @ ..] => {
                if !matches!(cond, ["TRUE"] | ["LOCALHOST"]) {
                    w.warn(
                        l.line,
                        format!(
                            "`stats admin if {}`: tandem has no ACLs; the form is open to every user who logs in",
                            cond.join(" ")
                        ),
                    );
                }
                page.set("admin", Y::Bool(true));
            }
            ["stats", "show-legends"] => page.set("show_legends", Y::Bool(true)),
            ["stats", k, ..] if STATS_IGNORED.contains(k) => w.no_equivalent(
                l.line,
                &words.join(" "),
                "tandem's stats page has no such option",
            ),
            _ => w.no_equivalent(l.line, &words.join(" "), "in a stats page"),
        }
    }
    page.set("uri", Y::s(uri.clone()));
    let loopback = listen
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback());
    if auth.is_empty() && !loopback && page.get("admin").is_some() {
        // tandem refuses an open form on a remote address.
        page.remove("admin");
        w.warn(
            s.line,
            format!(
                "{} {}: `stats admin` without `stats auth` on {listen}: the form is left out (anyone could change servers); add `auth` and `admin: true` to `observe.stats`",
                s.kind, s.name
            ),
        );
    }
    if !auth.is_empty() {
        page.set("auth", Y::Seq(auth));
    }
    // Keys in the order the README lists them.
    let mut ordered = Y::map();
    for k in ["uri", "auth", "realm", "refresh", "admin", "show_legends"] {
        if let Some(v) = page.get(k) {
            ordered.set(k, v.clone());
        }
    }
    let mut o = Y::map();
    o.set("listen", Y::s(listen.clone()));
    if !loopback {
        o.set("allow_remote", Y::Bool(true));
    }
    o.set("stats", ordered);
    w.warn(
        s.line,
        format!(
            "{} {}: the stats page is served by tandem's observe endpoint on {listen} ({uri}, `;csv` as before); /metrics and /status are served there too{}",
            s.kind,
            s.name,
            if loopback {
                String::new()
            } else {
                ", without the page's password".into()
            }
        ),
    );
    Some(o)
}

/// [`convert`], with the lines of the listeners and the stats page.
pub fn convert_full(text: &str, file: &str) -> Converted {
    let mut w = Warnings::new(file);
    let mut observe: Option<Y> = None;
    let mut lines = Vec::new();
    let (sects, stray) = sections(text);
    for l in &stray {
        w.warn(
            l.line,
            format!("`{}` outside any section; ignored", l.words.join(" ")),
        );
    }
    let mut global_maxconn = None;
    let mut global_rates: Vec<(&str, i64)> = Vec::new();
    let mut global_log = false;
    let mut defaults = Proxy::default();
    let mut backends: Vec<(String, Proxy, usize)> = Vec::new();
    let mut frontends: Vec<(String, Proxy, usize)> = Vec::new();
    let mut listens: Vec<(String, Proxy, usize)> = Vec::new();
    for s in &sects {
        match s.kind.as_str() {
            "global" => {
                for l in &s.body {
                    match l.words.first().map(String::as_str) {
                        Some("maxconn") => {
                            global_maxconn = l.words.get(1).and_then(|v| v.parse::<i64>().ok())
                        }
                        Some(k @ ("maxconnrate" | "maxsessrate")) => {
                            match l.words.get(1).and_then(|v| v.parse::<i64>().ok()) {
                                Some(n) if n > 0 => global_rates.push((k, n)),
                                Some(0) => {}
                                _ => w.warn(
                                    l.line,
                                    format!("`{}`: not a rate; ignored", l.words.join(" ")),
                                ),
                            }
                        }
                        Some("stats") => w.no_equivalent(
                            l.line,
                            &l.words.join(" "),
                            "tandem's admin socket is `admin.socket` (`tandem balancer stat`)",
                        ),
                        Some(
                            k @ ("daemon" | "user" | "group" | "chroot" | "pidfile" | "nbproc"
                            | "nbthread" | "uid" | "gid"),
                        ) => w.no_equivalent(
                            l.line,
                            k,
                            "systemd runs tandem (see systemd/tandem.service)",
                        ),
                        Some("log") => {
                            global_log = true;
                            w.no_equivalent(
                                l.line,
                                &l.words.join(" "),
                                "tandem logs to stderr/the journal; see `log.format`",
                            )
                        }
                        _ => w.no_equivalent(l.line, &l.words.join(" "), "in `global`"),
                    }
                }
            }
            "defaults" => {
                let mut d = Proxy::default();
                for l in &s.body {
                    apply(&mut d, l, &mut w, "defaults");
                }
                defaults = d;
            }
            "listen" | "frontend" | "backend" => {
                let mut p = defaults.clone();
                p.binds.clear();
                p.servers.clear();
                if s.kind != "backend"
                    && let Some(a) = s.args.first()
                {
                    for a in a.split(',') {
                        p.binds.push(Bind::new(a, s.line));
                    }
                }
                // The section's own findings, dropped when the whole section is skipped
                // (a `mode http` stats page would list every `stats` line first).
                let mut sw = Warnings::new(file);
                for l in &s.body {
                    apply(&mut p, l, &mut sw, &s.kind);
                }
                let mode = p.mode.clone();
                if let Some((m, _)) = &mode
                    && m == "http"
                    && s.kind != "backend"
                    && let Some(o) = stats_section(s, &mut w)
                {
                    if observe.is_none() {
                        observe = Some(o);
                    } else {
                        w.warn(
                            s.line,
                            format!(
                                "{} {}: a second stats page; tandem serves one (the first one's settings were kept)",
                                s.kind, s.name
                            ),
                        );
                    }
                    continue;
                }
                if let Some((m, line)) = &mode
                    && m != "tcp"
                {
                    w.warn(
                        *line,
                        format!(
                            "{} {}: `mode {m}` has no tandem equivalent (the balancer is haproxy's `mode tcp`); section skipped",
                            s.kind, s.name
                        ),
                    );
                    continue;
                }
                w.list.extend(sw.list);
                match s.kind.as_str() {
                    "listen" => listens.push((s.name.clone(), p, s.line)),
                    "frontend" => frontends.push((s.name.clone(), p, s.line)),
                    _ => backends.push((s.name.clone(), p, s.line)),
                }
            }
            other => w.no_equivalent(
                s.line,
                &format!("{other} {}", s.name),
                "section type tandem does not have",
            ),
        }
    }
    let mut out = Vec::new();
    for (name, p, line) in &listens {
        if p.binds.is_empty() {
            w.warn(*line, format!("listen {name} has no `bind`; skipped"));
            continue;
        }
        let ls = listeners(name, p, global_log, *line, &mut w);
        lines.extend(ls.iter().map(|_| *line));
        out.extend(ls);
    }
    let mut used = Vec::new();
    // haproxy's proxy names and the listeners they became (`track` names a proxy).
    let mut proxy_listener: std::collections::HashMap<String, String> = listens
        .iter()
        .map(|(n, _, _)| (n.clone(), n.clone()))
        .collect();
    for (name, f, line) in &frontends {
        let Some(bname) = &f.default_backend else {
            w.warn(
                *line,
                format!("frontend {name} has no `default_backend`; skipped"),
            );
            continue;
        };
        let Some((_, b, _)) = backends.iter().find(|(n, _, _)| n == bname) else {
            w.warn(
                *line,
                format!(
                    "frontend {name}: backend `{bname}` is not a `mode tcp` backend in this file; skipped"
                ),
            );
            continue;
        };
        used.push(bname.clone());
        proxy_listener
            .entry(bname.clone())
            .or_insert_with(|| name.clone());
        proxy_listener
            .entry(name.clone())
            .or_insert_with(|| name.clone());
        // The frontend's side (bind, client timeouts, maxconn) over the backend's.
        let mut p = b.clone();
        // haproxy takes the client-side timeouts from the frontend only and the others
        // from the backend only (each inherits its `defaults`), never one side's from
        // the other section.
        p.timeouts = b
            .timeouts
            .iter()
            .filter(|(k, _)| !CLIENT_TIMEOUTS.contains(&k.as_str()))
            .chain(
                f.timeouts
                    .iter()
                    .filter(|(k, _)| CLIENT_TIMEOUTS.contains(&k.as_str())),
            )
            .cloned()
            .collect();
        p.binds = f.binds.clone();
        p.accept_proxy = f.accept_proxy;
        // Client-side keepalive is the frontend's, server-side the backend's.
        p.clitcpka = f.clitcpka;
        p.cli_ka = f.cli_ka.clone();
        p.maxconn = f.maxconn.or(b.maxconn);
        p.rate_limit_sessions = f.rate_limit_sessions;
        p.backlog = f.backlog;
        // haproxy logs connections with the frontend's loggers.
        p.log_global = f.log_global;
        p.log_targets = f.log_targets;
        p.no_log = f.no_log;
        if p.binds.is_empty() {
            w.warn(*line, format!("frontend {name} has no `bind`; skipped"));
            continue;
        }
        let ls = listeners(name, &p, global_log, *line, &mut w);
        lines.extend(ls.iter().map(|_| *line));
        out.extend(ls);
    }
    // `track <proxy>/<server>`: the listener that proxy became.
    for (l, line) in out.iter_mut().zip(lines.iter()) {
        let lname = match l.get("name") {
            Some(Y::Str(n)) => n.clone(),
            _ => String::new(),
        };
        let Some(Y::Seq(servers)) = l.get_mut("servers") else {
            continue;
        };
        for srv in servers.iter_mut() {
            let Some(Y::Str(t)) = srv.get("track").cloned() else {
                continue;
            };
            let Some((px, sv)) = t.split_once('/') else {
                continue;
            };
            match proxy_listener.get(px) {
                Some(to) if *to == lname => srv.set("track", Y::s(sv)),
                Some(to) => srv.set("track", Y::s(format!("{to}/{sv}"))),
                None => {
                    w.warn(
                        *line,
                        format!(
                            "listener {lname}: `track {t}` names a proxy that is not imported; the server is imported without it (unchecked)"
                        ),
                    );
                    srv.remove("track");
                }
            }
        }
    }
    for (name, _, line) in &backends {
        if !used.contains(name) {
            w.warn(
                *line,
                format!(
                    "backend {name} is not the default_backend of any tcp frontend; not imported"
                ),
            );
        }
    }
    if out.is_empty() && global_maxconn.is_none() && global_rates.is_empty() {
        w.list.sort_by_key(|w| w.line);
        return Converted {
            balancer: None,
            warnings: w.list,
            lines,
            observe,
        };
    }
    let mut b = Y::map();
    if let Some(m) = global_maxconn {
        b.set("maxconn", Y::Int(m));
    }
    for (k, n) in global_rates {
        b.set(k, Y::Int(n));
    }
    b.set("listeners", Y::Seq(out));
    // In file order: some findings are only known at the end of their section.
    w.list.sort_by_key(|w| w.line);
    Converted {
        balancer: Some(b),
        warnings: w.list,
        lines,
        observe,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_default_to_milliseconds() {
        assert_eq!(duration("5000").as_deref(), Some("5s"));
        assert_eq!(duration("28800000").as_deref(), Some("8h"));
        assert_eq!(duration("1500").as_deref(), Some("1500ms"));
        assert_eq!(duration("90000ms").as_deref(), Some("90s"));
        assert_eq!(duration("0").as_deref(), Some("0ms"));
        assert_eq!(duration("8h").as_deref(), Some("8h"));
        assert_eq!(duration("10x"), None);
    }

    #[test]
    fn bind_addresses() {
        assert_eq!(address("*:3306"), "0.0.0.0:3306");
        assert_eq!(address(":3306"), "0.0.0.0:3306");
        // The IPv6 listener only: the IPv4 side of haproxy's dual-stack `:::3306` is a
        // listener of its own (`expand_binds`).
        assert_eq!(address(":::3306"), "[::]:3306");
        assert_eq!(address("10.0.0.1:3306"), "10.0.0.1:3306");
        assert_eq!(address("ipv4@10.0.0.1:3306"), "10.0.0.1:3306");
        assert_eq!(address("2001:db8::1:3306"), "[2001:db8::1]:3306");
        assert_eq!(address("ipv6@[2001:db8::1]:3306"), "[2001:db8::1]:3306");
        let expanded = |b: Bind| {
            expand_binds(&[b])
                .into_iter()
                .map(|(a, _, added)| (address(&a), added))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            expanded(Bind::new(":::3306", 1)),
            [
                ("[::]:3306".to_string(), false),
                ("0.0.0.0:3306".to_string(), true)
            ]
        );
        let mut v6 = Bind::new(":::3306", 1);
        v6.v6only = true;
        assert_eq!(expanded(v6), [("[::]:3306".to_string(), false)]);
    }

    /// The warnings of a conversion but the missing-timeouts and the no-logging ones
    /// (their own tests cover them; these inputs leave timeouts and `log` out for
    /// brevity).
    fn convert_quiet(cfg: &str, file: &str) -> (Option<Y>, Vec<Warning>) {
        let (b, mut w) = convert(cfg, file);
        w.retain(|w| {
            !w.message.contains("haproxy then never times out")
                && !w.message.contains("haproxy logs no connection")
        });
        (b, w)
    }

    fn binds_of(cfg: &str) -> (Vec<(String, String)>, Vec<Warning>) {
        let (b, w) = convert_quiet(cfg, "haproxy.cfg");
        let b = b.expect("balancer");
        let Some(Y::Seq(ls)) = b.get("listeners") else {
            panic!("no listeners")
        };
        let s = |y: Option<&Y>| match y {
            Some(Y::Str(s)) => s.clone(),
            other => panic!("{other:?}"),
        };
        let ls = ls
            .iter()
            .map(|l| (s(l.get("name")), s(l.get("bind"))))
            .collect();
        (ls, w)
    }

    #[test]
    fn ipv6_wildcard_binds_are_dual_stack_unless_v6only() {
        let pair = |n: &str, b: &str| (n.to_string(), b.to_string());
        // haproxy's `:::3306` takes IPv4 clients too; a tandem [::] listener does not.
        let (ls, w) = binds_of("listen db\n  bind :::3306\n  server a 198.19.0.1:3306\n");
        assert_eq!(ls, [pair("db", "[::]:3306"), pair("db_2", "0.0.0.0:3306")]);
        assert!(
            w.iter()
                .any(|w| w.line == 2 && w.message.contains("also takes IPv4 clients")),
            "{w:?}"
        );
        let (ls, _) = binds_of("listen db\n  bind [::]:3306 v4v6\n  server a 198.19.0.1:3306\n");
        assert_eq!(ls, [pair("db", "[::]:3306"), pair("db_2", "0.0.0.0:3306")]);
        // `v6only`: IPv6 only in both.
        let (ls, w) = binds_of("listen db\n  bind :::3306 v6only\n  server a 198.19.0.1:3306\n");
        assert_eq!(ls, [pair("db", "[::]:3306")]);
        assert!(w.is_empty(), "{w:?}");
        // An IPv4 bind on that port already: no second one.
        let (ls, _) =
            binds_of("listen db\n  bind :::3306\n  bind *:3306\n  server a 198.19.0.1:3306\n");
        assert_eq!(ls, [pair("db", "[::]:3306"), pair("db_2", "0.0.0.0:3306")]);
        // A section-line bind and a further address keep unique names.
        let (ls, _) =
            binds_of("listen db :::3306\n  bind 10.0.0.1:3307\n  server a 198.19.0.1:3306\n");
        assert_eq!(
            ls,
            [
                pair("db", "[::]:3306"),
                pair("db_2", "0.0.0.0:3306"),
                pair("db_3", "10.0.0.1:3307")
            ]
        );
        // A specific IPv6 address is not a wildcard.
        let (ls, _) = binds_of("listen db\n  bind 2001:db8::1:3306\n  server a 198.19.0.1:3306\n");
        assert_eq!(ls, [pair("db", "[2001:db8::1]:3306")]);
    }

    #[test]
    fn words_and_comments() {
        assert_eq!(
            split_line("  server a 1.2.3.4:5 check # x"),
            vec!["server", "a", "1.2.3.4:5", "check"]
        );
    }

    /// haproxy.cfg alone as a validated tandem config, with the warnings.
    fn checked(cfg: &str) -> (crate::config::Config, Vec<Warning>) {
        let (b, w) = convert_quiet(cfg, "h");
        let mut top = Y::map();
        top.set("balancer", b.expect("balancer"));
        let text = top.render();
        let (c, _) = crate::config::check_str(&text, "t.yaml", std::path::Path::new("/"))
            .into_result()
            .unwrap_or_else(|d| panic!("{text}: {d:?}"));
        (c, w)
    }

    /// A server's own `inter` overrides `default-server inter` (it used to keep the
    /// default and warn that the servers differ), and `default-server` lines add up,
    /// those of `defaults` included.
    #[test]
    fn server_check_options_override_default_server() {
        let (c, w) = checked(
            "defaults\n  mode tcp\n  default-server rise 4 fall 5\n\
             listen db\n  bind 198.19.0.100:3306\n  default-server inter 3s maxconn 100\n\
             server a 198.19.0.1:3306 check inter 1s\n  server b 198.19.0.2:3306 check inter 1s\n\
             server c 198.19.0.3:3306 inter 9s\n",
        );
        let l = &c.balancer.expect("balancer").listeners[0];
        let check = l.check.as_ref().expect("check");
        assert_eq!(check.inter, crate::config::types::Dur::secs(1));
        assert_eq!((check.rise, check.fall), (4, 5));
        assert_eq!(l.servers[0].maxconn, Some(100));
        assert!(w.is_empty(), "{w:?}");
    }

    /// `option httpchk OPTIONS * HTTP/1.1` has no request path: the check requests `/`
    /// (the path `*` made `tandem check` fail).
    #[test]
    fn httpchk_without_a_path_requests_root() {
        let (c, w) = checked(
            "listen db\n  bind 198.19.0.100:3306\n  option httpchk OPTIONS * HTTP/1.1\\r\\nHost:\\ www\n\
             server a 198.19.0.1:3306 check port 9200\n",
        );
        let check = c.balancer.expect("balancer").listeners[0]
            .check
            .clone()
            .expect("check");
        assert_eq!(check.path, "/");
        assert_eq!(check.port, Some(9200));
        assert!(
            w.iter()
                .any(|w| w.line == 3 && w.message.contains("`*` is not a request path")),
            "{w:?}"
        );
    }

    /// A frontend's `no log` silences the listener (haproxy logs in the frontend); bind
    /// options with a value are one option, `backlog` is kept, `post-41` is not warned.
    /// A listener without timeouts is warned once, at its first bind.
    #[test]
    fn missing_timeouts_warned_once_per_listener() {
        let (_, w) = convert(
            "listen db\n  bind :3306\n  bind :3307\n  timeout client 1m\n  server a 198.19.0.1:3306\n",
            "h",
        );
        let t: Vec<(usize, &str)> = w
            .iter()
            .filter(|w| w.message.contains("never times out"))
            .map(|w| (w.line, w.message.as_str()))
            .collect();
        assert_eq!(t.len(), 1, "{w:?}");
        assert_eq!(t[0].0, 2);
        assert!(
            t[0].1
                .starts_with("listener db: no `timeout server`, `timeout connect` "),
            "{t:?}"
        );
    }

    #[test]
    fn frontend_log_and_bind_options() {
        let (c, w) = checked(
            "frontend fe\n  bind 198.19.0.100:3306 name mysql backlog 512\n  no log\n  default_backend be\n\
             backend be\n  option mysql-check user haproxy post-41\n  server a 198.19.0.1:3306 check\n",
        );
        let l = &c.balancer.expect("balancer").listeners[0];
        assert!(!l.log);
        assert_eq!(l.backlog, Some(512));
        let msgs: Vec<&str> = w.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            msgs,
            ["keyword `bind ... name mysql` has no tandem equivalent (bind option); not imported"]
        );
    }
}
