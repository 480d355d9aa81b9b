//! `tandem status`: fetches `/status` from the running daemon and prints it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tandem::config;

const TIMEOUT: Duration = Duration::from_secs(5);

pub fn main(config_path: &Path, addr: Option<&str>, as_json: bool) -> ExitCode {
    let (shown, targets) = match addr {
        Some(a) => match resolve(a) {
            Ok(t) => (a.to_string(), t),
            Err(msg) => {
                eprintln!("tandem status: {msg}");
                return ExitCode::FAILURE;
            }
        },
        None => match observe_addr(config_path) {
            Ok(a) => (a.to_string(), vec![a]),
            Err(msg) => {
                eprintln!("tandem status: {msg}");
                return ExitCode::FAILURE;
            }
        },
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tandem status: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A name may resolve to several addresses (localhost: ::1 and 127.0.0.1): the first
    // that answers.
    let mut result = Err(FetchError::Unreachable(String::new()));
    for t in &targets {
        result = rt.block_on(fetch(*t, "/status"));
        if result.is_ok() {
            break;
        }
    }
    let body = match result {
        Ok(b) => b,
        Err(FetchError::Unreachable(e)) => {
            eprintln!("tandem status: cannot reach the daemon at http://{shown}/status: {e}");
            eprintln!("  is tandem running, and is `observe` enabled in its config?");
            return ExitCode::FAILURE;
        }
        Err(FetchError::Hung(e)) => {
            eprintln!("tandem status: http://{shown}/status: {e}");
            eprintln!("  its log and `systemctl status tandem` may say why");
            return ExitCode::FAILURE;
        }
        Err(FetchError::BadAnswer(e)) => {
            eprintln!("tandem status: http://{shown}/status: {e}");
            eprintln!("  is {shown} tandem's observe address (`observe.listen`)?");
            return ExitCode::FAILURE;
        }
    };
    let doc = match parse_status(&body) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("tandem status: http://{shown}/status: {e}");
            eprintln!("  is {shown} tandem's observe address (`observe.listen`)?");
            return ExitCode::FAILURE;
        }
    };
    if as_json {
        print!("{body}");
    } else {
        print!("{}", render(&doc));
    }
    ExitCode::SUCCESS
}

/// The `/status` document: a JSON object with `subsystems`, or why the answer is not one.
fn parse_status(body: &str) -> Result<Value, String> {
    let v: Value = serde_json::from_str(body)
        .map_err(|e| format!("the answer is not JSON ({e}), so not tandem's /status"))?;
    if !v["subsystems"].is_object() {
        return Err(
            "the answer is JSON but not tandem's /status document (no `subsystems`)".into(),
        );
    }
    Ok(v)
}

/// `--addr HOST:PORT`: an IP address (`127.0.0.1:9188`, `[::1]:9188`) or a name
/// (`localhost:9188`), with every address the name resolves to.
fn resolve(a: &str) -> Result<Vec<SocketAddr>, String> {
    if let Ok(sa) = a.parse::<SocketAddr>() {
        return Ok(vec![sa]);
    }
    let usage = || format!("`{a}` is not host:port, e.g. 127.0.0.1:9188 or localhost:9188");
    match a.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {}
        _ => return Err(usage()),
    }
    let addrs: Vec<SocketAddr> = a
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{a}`: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("`{a}` resolves to no address"));
    }
    Ok(addrs)
}

/// The observe address from the config; a wildcard bind is reached over loopback. A
/// file with errors elsewhere (an edit whose reload was refused) still gives its
/// `observe.listen`, so the status of the running daemon, and its refusal, can be seen.
fn observe_addr(path: &Path) -> Result<SocketAddr, String> {
    let listen = match config::check_file(path).into_result() {
        Ok((cfg, _)) => cfg.observe.map(|o| o.listen),
        Err(d) => {
            let first = d.first().map(|d| d.to_string()).unwrap_or_default();
            match lenient_observe_listen(path) {
                Some(listen) => {
                    eprintln!(
                        "tandem status: note: {} has errors ({first}); asking the daemon at its observe.listen {}",
                        path.display(),
                        listen.map_or_else(
                            || config::model::DEFAULT_OBSERVE_LISTEN.to_string(),
                            |a| a.to_string()
                        )
                    );
                    listen.or(Some(config::model::DEFAULT_OBSERVE_LISTEN))
                }
                None => {
                    return Err(format!(
                        "cannot read the observe address from {} ({first}); give it with --addr",
                        path.display()
                    ));
                }
            }
        }
    };
    let mut a = listen.ok_or_else(|| {
        format!(
            "{} has no `observe` section: the daemon serves no status (add `observe: {{}}`)",
            path.display()
        )
    })?;
    if a.ip().is_unspecified() {
        a.set_ip(match a.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(a)
}

/// `observe.listen` read from a file that does not pass `tandem check`: `Some(None)`
/// when `observe` is there without `listen` (the default), `None` when the file cannot be
/// parsed as YAML, has no `observe` section or an unreadable `listen`.
fn lenient_observe_listen(path: &Path) -> Option<Option<SocketAddr>> {
    use config::yaml::Kind;
    let text = std::fs::read_to_string(path).ok()?;
    let root = config::yaml::parse_document(&text).ok()?.0;
    let Kind::Map(top) = &root.kind else {
        return None;
    };
    let (_, observe) = top
        .iter()
        .find(|(k, _)| k.scalar().map(|s| s.0) == Some("observe"))?;
    match &observe.kind {
        Kind::Null => Some(None),
        Kind::Map(m) => match m
            .iter()
            .find(|(k, _)| k.scalar().map(|s| s.0) == Some("listen"))
        {
            None => Some(None),
            Some((_, v)) => v.scalar()?.0.trim().parse().ok().map(Some),
        },
        _ => None,
    }
}

/// Why `fetch` got no document.
#[derive(Debug, PartialEq)]
pub enum FetchError {
    /// Nothing answered (connection refused, timeout, ...).
    Unreachable(String),
    /// Something answered, but not with a 200 HTTP answer.
    BadAnswer(String),
    /// The connection was accepted, but no answer came in time.
    Hung(String),
}

/// GET `path` from `addr`, returning the body of a 200 answer.
pub async fn fetch(addr: SocketAddr, path: &str) -> Result<String, FetchError> {
    use FetchError::{BadAnswer, Hung, Unreachable};
    let stream = tokio::time::timeout(TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| Unreachable(format!("no connection within {TIMEOUT:?}")))?
        .map_err(|e| Unreachable(e.to_string()))?;
    let work = async {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| Unreachable(e.to_string()))?;
        let conn = tokio::spawn(conn);
        let req = hyper::Request::get(path)
            .header(hyper::header::HOST, addr.to_string())
            .body(Empty::<Bytes>::new())
            .map_err(|e| BadAnswer(e.to_string()))?;
        let resp = match sender.send_request(req).await {
            Ok(r) => r,
            Err(e) => {
                // The request only says "canceled": the connection task knows why (a
                // server that speaks another protocol, one that closed at once, ...).
                let e = match tokio::time::timeout(Duration::from_secs(1), conn).await {
                    Ok(Ok(Err(ce))) => ce,
                    _ => e,
                };
                return Err(BadAnswer(if e.is_parse() {
                    format!("the answer is not HTTP ({e})")
                } else {
                    e.to_string()
                }));
            }
        };
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| BadAnswer(e.to_string()))?
            .to_bytes();
        if !status.is_success() {
            return Err(BadAnswer(format!("HTTP {status}")));
        }
        String::from_utf8(body.to_vec())
            .map_err(|e| BadAnswer(format!("the answer is not UTF-8: {e}")))
    };
    // Connected, but nothing came back: a hung or overloaded daemon, not a stopped one.
    tokio::time::timeout(TIMEOUT, work).await.map_err(|_| {
        Hung(format!(
            "connected, but no answer within {TIMEOUT:?}: the daemon may be hung or overloaded"
        ))
    })?
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn duration(secs: u64) -> String {
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

/// The human view of `/status`.
pub fn render(v: &Value) -> String {
    let mut out = String::new();
    let uptime = v["uptime_seconds"].as_u64().unwrap_or(0);
    out.push_str(&format!(
        "node     {}  (tandem {}, pid {}, up {})\n",
        s(&v["node"]),
        s(&v["version"]),
        s(&v["pid"]),
        duration(uptime)
    ));
    let c = &v["config"];
    out.push_str(&format!(
        "config   {}  generation {}, loaded {}\n",
        s(&c["path"]),
        s(&c["generation"]),
        s(&c["loaded_at"])
    ));
    if let Some(r) = c["last_reload"].as_object() {
        out.push_str(&format!(
            "reload   {} at {}\n",
            s(&r["result"]),
            s(&r["at"])
        ));
        if let Some(errs) = r["errors"].as_array() {
            for e in errs {
                out.push_str(&format!("         {}\n", s(e)));
            }
        }
    }
    let subs = v["subsystems"].as_object();
    match subs {
        Some(m) if !m.is_empty() => {
            for (name, state) in m {
                out.push('\n');
                out.push_str(&render_subsystem(name, state));
            }
        }
        _ => out.push_str("\nno subsystem configured\n"),
    }
    out
}

fn render_subsystem(name: &str, v: &Value) -> String {
    if name == "vrrp" && v["instances"].is_array() {
        return render_vrrp(v);
    }
    if name == "track" && v["scripts"].is_object() {
        return render_track(v);
    }
    if name == "router" && v["data_hosts"].is_array() {
        return render_router(v);
    }
    if name == "balancer" && v["listeners"].is_array() {
        return render_balancer(v);
    }
    let mut out = format!("{name}\n");
    flatten("  ", v, &mut out);
    out
}

/// A table of the VRRP instances.
fn render_vrrp(v: &Value) -> String {
    let mut rows = vec![
        [
            "INSTANCE",
            "STATE",
            "FOR",
            "PRIO",
            "MASTER",
            "LAST ADVERT",
            "VIPS",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut details = Vec::new();
    for i in v["instances"].as_array().into_iter().flatten() {
        let vips: Vec<String> = i["vips"].as_array().into_iter().flatten().map(s).collect();
        let held = if i["vips_held"] == true {
            " (held)"
        } else {
            ""
        };
        let prio = if i["priority"] == i["base_priority"] {
            s(&i["priority"])
        } else {
            format!("{} ({})", s(&i["priority"]), s(&i["base_priority"]))
        };
        // The age of the last advert heard; a master sends them, so it says so (an
        // advert it still hears comes from a box that lost the election to it).
        let heard = i["last_advert_age_seconds"].as_f64();
        let age = match (i["state"].as_str(), heard) {
            (Some("MASTER"), Some(a)) => format!("sending (heard one {a:.1}s ago)"),
            (Some("MASTER"), None) => "sending".into(),
            (_, Some(a)) => format!("{a:.1}s ago"),
            (_, None) => "-".into(),
        };
        let since = i["since"]
            .as_str()
            .and_then(|t| humantime::parse_rfc3339(t).ok())
            .and_then(|t| std::time::SystemTime::now().duration_since(t).ok())
            .map(|d| duration(d.as_secs()))
            .unwrap_or_else(|| s(&i["since"]));
        rows.push(vec![
            s(&i["name"]),
            s(&i["state"]),
            since,
            prio,
            s(&i["master"]),
            age,
            format!("{}{held}", vips.join(", ")),
        ]);
        if let Some(d) = i["detail"].as_str() {
            details.push(format!("  {}: {d}", s(&i["name"])));
        }
        if let Some(f) = i["fault"].as_str() {
            details.push(format!("  {} FAULT: {f}", s(&i["name"])));
        }
        if let Some(m) = i["dropped"].as_object().filter(|m| !m.is_empty()) {
            let parts: Vec<String> = m.iter().map(|(k, n)| format!("{k} {n}")).collect();
            details.push(format!("  {} dropped: {}", s(&i["name"]), parts.join(", ")));
        }
    }
    let mut out = String::from("vrrp\n");
    out.push_str(&table(&rows, "  "));
    for d in details {
        out.push_str(&d);
        out.push('\n');
    }
    out
}

/// Balancer: one line per listener, then a table of its servers (what a failover drill
/// watches: which servers are UP, in maintenance or draining, and why the last check failed).
fn render_balancer(v: &Value) -> String {
    let mut out = String::from("balancer\n");
    for l in v["listeners"].as_array().into_iter().flatten() {
        let serving = match (l["paused"].as_bool(), l["serving"].as_bool()) {
            _ if l["stopped"].as_bool() == Some(true) => {
                "STOPPED (not listening: `shutdown frontend`; a reload listens again)"
            }
            (Some(true), _) => "DISABLED (not listening: `enable frontend` to listen again)",
            (_, Some(true)) => "serving",
            (_, Some(false)) => "NOT SERVING (no server is up and ready)",
            (_, None) => "-",
        };
        out.push_str(&format!(
            "  {} on {} ({}): {} active of {}, {} connection(s), {}\n",
            s(&l["name"]),
            s(&l["bind"]),
            s(&l["balance"]),
            s(&l["active"]),
            s(&l["maxconn"]),
            s(&l["connections"]),
            serving
        ));
        let mut rows = vec![
            [
                "SERVER",
                "ADDRESS",
                "STATUS",
                "ADMIN",
                "WEIGHT",
                "ACTIVE",
                "CONNS",
                "ERRORS",
                "CHANGED",
                "LAST CHECK",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for sv in l["servers"].as_array().into_iter().flatten() {
            let weight =
                if sv["configured_weight"].is_null() || sv["weight"] == sv["configured_weight"] {
                    s(&sv["weight"])
                } else {
                    format!("{} ({})", s(&sv["weight"]), s(&sv["configured_weight"]))
                };
            let name = if sv["backup"] == true {
                format!("{} (backup)", s(&sv["name"]))
            } else {
                s(&sv["name"])
            };
            let changed = sv["last_change_seconds_ago"]
                .as_u64()
                .map(|a| format!("{} ago", duration(a)))
                .unwrap_or_else(|| "-".into());
            rows.push(vec![
                name,
                s(&sv["address"]),
                s(&sv["status"]),
                s(&sv["admin"]),
                weight,
                s(&sv["active"]),
                s(&sv["connections"]),
                s(&sv["connect_errors"]),
                changed,
                // No checks run in maintenance: the last result is old news.
                match (sv["admin"].as_str(), sv["last_check"].as_str()) {
                    (Some("maint"), Some(c)) => format!("paused in maint (last: {c})"),
                    (Some("maint"), None) => "paused in maint".into(),
                    (_, c) => c.unwrap_or("").to_string(),
                },
            ]);
        }
        out.push_str(&table(&rows, "    "));
    }
    out
}

/// Router: listener, sessions, and one row per backend host.
fn render_router(v: &Value) -> String {
    let mut out = format!(
        "router   {} (admin {}), {} session(s), version {}{}\n",
        s(&v["listen"]),
        s(&v["admin_listen"]),
        s(&v["sessions"]),
        s(&v["server_version"]),
        // `online` is absent from an older daemon's document.
        if v["online"].as_bool() == Some(false) {
            "  OFFLINE (admin command `offline`; `tandem router online` ends it)"
        } else {
            ""
        }
    );
    let t = &v["tls"];
    if t.is_object() {
        let source = match t["source"].as_str() {
            Some("file") => s(&t["cert"]),
            _ => "self-signed, made at start".to_string(),
        };
        let days = t["expires_in_days"].as_i64().unwrap_or(0);
        let soon = if days < 30 { "  EXPIRES SOON" } else { "" };
        let required = if t["require_secure_transport"].as_bool() == Some(true) {
            ", required"
        } else {
            ""
        };
        out.push_str(&format!(
            "  tls    {source}{required}: {} until {} ({days} days), SHA-256 {}{soon}\n",
            s(&t["subject"]),
            s(&t["not_after"]),
            s(&t["sha256"]),
        ));
    } else if t.as_str() == Some("off") {
        out.push_str("  tls    off\n");
    }
    let mut rows = vec![
        [
            "DATA HOST",
            "HOST",
            "ROLE",
            "STATE",
            "READS",
            "LAG",
            "POOL",
            "LAST ERROR",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for dh in v["data_hosts"].as_array().into_iter().flatten() {
        let active = s(&dh["active_write_host"]);
        // `stop @@heartbeat`: the paused host's state is as of the pause.
        let paused = dh["heartbeat_paused_host"].as_str();
        let paused_for = dh["heartbeat_paused_seconds"].as_u64().unwrap_or(0);
        for h in dh["hosts"].as_array().into_iter().flatten() {
            let name = s(&h["name"]);
            let state = match (h["up"].as_bool(), h["checked"].as_bool()) {
                (_, Some(false)) => "not checked yet".to_string(),
                (Some(true), _) => "up".into(),
                _ => "DOWN".into(),
            };
            let state = if paused == Some(name.as_str()) {
                format!("{state} (heartbeat stopped, {paused_for}s left)")
            } else {
                state
            };
            let role = match (h["role"].as_str(), name == active) {
                (Some("write"), true) => "write (active)",
                (Some("write"), false) => "write (standby)",
                _ => "read",
            };
            let lag = if h["replica"].as_bool() == Some(true) {
                match h["lag_seconds"].as_u64() {
                    Some(l) => format!("{l}s"),
                    None => "NULL".into(),
                }
            } else {
                "-".into()
            };
            rows.push(vec![
                s(&dh["name"]),
                name,
                role.into(),
                state,
                match (h["reads"].as_bool(), h["no_reads_reason"].as_str()) {
                    (Some(true), _) => "yes".into(),
                    (Some(false), Some(why)) => format!("no: {why}"),
                    (Some(false), None) => "no".into(),
                    // A daemon from before this field.
                    (None, _) => "-".into(),
                },
                lag,
                format!("{}/{}", s(&h["pool"]["open"]), s(&h["pool"]["max_con"])),
                h["last_error"].as_str().unwrap_or("").to_string(),
            ]);
        }
    }
    out.push_str(&table(&rows, "  "));
    out
}

/// Track scripts and the other health signals.
fn render_track(v: &Value) -> String {
    let mut out = String::from("track\n");
    let scripts = v["scripts"].as_object();
    if let Some(m) = scripts.filter(|m| !m.is_empty()) {
        let mut rows = vec![
            ["SCRIPT", "STATE", "RUNS", "FAILURES", "LAST RESULT"]
                .map(String::from)
                .to_vec(),
        ];
        for (name, st) in m {
            rows.push(vec![
                name.clone(),
                s(&st["state"]),
                s(&st["runs"]),
                s(&st["failures"]),
                s(&st["last_result"]),
            ]);
        }
        out.push_str(&table(&rows, "  "));
    }
    if let Some(m) = v["processes"].as_object().filter(|m| !m.is_empty()) {
        let mut rows = vec![
            ["PROCESS", "STATE", "RUNNING", "QUORUM", "LAST SCAN"]
                .map(String::from)
                .to_vec(),
        ];
        for (name, st) in m {
            let last = match st["error"].as_str() {
                Some(e) => e.to_string(),
                None => s(&st["last_scan"]),
            };
            rows.push(vec![
                name.clone(),
                s(&st["state"]),
                s(&st["running"]),
                s(&st["quorum"]),
                last,
            ]);
        }
        out.push_str(&table(&rows, "  "));
    }
    if let Some(m) = v["signals"].as_object() {
        for (key, h) in m
            .iter()
            .filter(|(k, _)| !k.starts_with("script:") && !k.starts_with("process:"))
        {
            let state = match h["up"].as_bool() {
                Some(true) => "up",
                Some(false) => "DOWN",
                None => "unknown",
            };
            out.push_str(&format!("  {key}: {state} ({})\n", s(&h["detail"])));
        }
    }
    out
}

/// Left-aligned columns.
fn table(rows: &[Vec<String>], indent: &str) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|x| x.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = indent.to_string();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:w$}  ", w = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn flatten(indent: &str, v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let width = m.keys().map(|k| k.len()).max().unwrap_or(0);
            for (k, val) in m {
                match val {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{indent}{k}\n"));
                        flatten(&format!("{indent}  "), val, out);
                    }
                    _ => out.push_str(&format!("{indent}{k:width$}  {}\n", s(val))),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{indent}-\n"));
                        flatten(&format!("{indent}  "), item, out);
                    }
                    _ => out.push_str(&format!("{indent}- {}\n", s(item))),
                }
            }
        }
        other => out.push_str(&format!("{indent}{}\n", s(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A master sends adverts: its LAST ADVERT column says so rather than showing the age
    /// of the last one it heard, which read as if it had stopped advertising.
    #[test]
    fn vrrp_last_advert_of_a_master_says_sending() {
        let inst = |state: &str, age: Option<f64>| {
            serde_json::json!({ "name": format!("VI_{state}"), "state": state, "priority": 100,
                "base_priority": 100, "master": "198.18.0.1", "last_advert_age_seconds": age,
                "vips": ["198.18.0.100/24"], "vips_held": state == "MASTER" })
        };
        let v = serde_json::json!({ "node": "a", "subsystems": { "vrrp": { "instances": [
            inst("MASTER", Some(10.2)), inst("MASTER", None), inst("BACKUP", Some(0.4)), inst("FAULT", None)
        ] } } });
        let out = render(&v);
        let row = |name: &str| {
            out.lines()
                .find(|l| l.trim_start().starts_with(name))
                .unwrap_or_else(|| panic!("{name}: {out}"))
                .to_string()
        };
        assert!(
            row("VI_MASTER").contains("sending (heard one 10.2s ago)"),
            "{out}"
        );
        assert!(
            !row("VI_BACKUP").contains("sending") && row("VI_BACKUP").contains("0.4s ago"),
            "{out}"
        );
        assert!(
            out.lines().filter(|l| l.contains(" sending ")).count() >= 1,
            "{out}"
        );
        assert!(row("VI_FAULT").contains(" - "), "{out}");
    }

    #[test]
    fn addr_takes_ip_addresses_and_names() {
        assert_eq!(
            resolve("127.0.0.1:9188"),
            Ok(vec![SocketAddr::from(([127, 0, 0, 1], 9188))])
        );
        assert_eq!(
            resolve("[::1]:9188"),
            Ok(vec![SocketAddr::from((Ipv6Addr::LOCALHOST, 9188))])
        );
        let local = resolve("localhost:9188").expect("localhost resolves");
        assert!(
            local
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 9188),
            "{local:?}"
        );
        for bad in [
            "localhost",
            "localhost:",
            ":9188",
            "localhost:http",
            "localhost:70000",
        ] {
            let e = resolve(bad).unwrap_err();
            assert!(e.contains("is not host:port"), "{bad}: {e}");
        }
    }

    #[test]
    fn only_a_status_document_is_accepted() {
        assert!(parse_status("not json").unwrap_err().contains("not JSON"));
        for other in ["[1,2]", "null", "5", "{\"a\": 1}", "{\"subsystems\": 3}"] {
            let e = parse_status(other).unwrap_err();
            assert!(e.contains("not tandem's /status document"), "{other}: {e}");
        }
        assert!(parse_status("{\"node\": \"a\", \"subsystems\": {}}").is_ok());
    }

    #[test]
    fn balancer_is_a_table_of_servers() {
        let v: Value = serde_json::json!({
            "node": "a",
            "subsystems": { "balancer": { "enabled": true, "running": true, "listeners": [{
                "name": "mysql", "bind": "198.18.0.100:3306", "balance": "roundrobin",
                "maxconn": 2000, "active": 3, "connections": 40, "serving": true,
                "servers": [
                    { "name": "router_a", "address": "198.18.0.1:8067", "status": "UP",
                      "admin": "ready", "weight": 1, "configured_weight": 1, "backup": false,
                      "active": 3, "connections": 30, "connect_errors": 0,
                      "last_check": "succeeded", "last_change_seconds_ago": 75 },
                    { "name": "router_b", "address": "198.18.0.2:8067", "status": "MAINT",
                      "admin": "maint", "weight": 0, "configured_weight": 1, "backup": true,
                      "active": 0, "connections": 10, "connect_errors": 2,
                      "last_check": "connection refused", "last_change_seconds_ago": null }
                ]
            }]}}
        });
        let out = render(&v);
        assert!(
            out.contains("  mysql on 198.18.0.100:3306 (roundrobin): 3 active of 2000, 40 connection(s), serving\n"),
            "{out}"
        );
        let lines: Vec<&str> = out.lines().collect();
        let header = lines
            .iter()
            .position(|l| l.trim_start().starts_with("SERVER"))
            .unwrap_or_else(|| panic!("no server table: {out}"));
        let cells = |i: usize| lines[i].split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(
            cells(header),
            "SERVER ADDRESS STATUS ADMIN WEIGHT ACTIVE CONNS ERRORS CHANGED LAST CHECK"
        );
        assert_eq!(
            cells(header + 1),
            "router_a 198.18.0.1:8067 UP ready 1 3 30 0 1m 15s ago succeeded"
        );
        assert_eq!(
            cells(header + 2),
            "router_b (backup) 198.18.0.2:8067 MAINT maint 0 (1) 0 10 2 - paused in maint (last: connection refused)"
        );
        // A listener stopped by `disable frontend` says so first.
        let mut paused = v.clone();
        paused["subsystems"]["balancer"]["listeners"][0]["paused"] = serde_json::json!(true);
        assert!(
            render(&paused).contains(
                "40 connection(s), DISABLED (not listening: `enable frontend` to listen again)\n"
            ),
            "{}",
            render(&paused)
        );
        paused["subsystems"]["balancer"]["listeners"][0]["stopped"] = serde_json::json!(true);
        assert!(
            render(&paused).contains(
                "40 connection(s), STOPPED (not listening: `shutdown frontend`; a reload listens again)\n"
            ),
            "{}",
            render(&paused)
        );
        // Garbage in the listener list does not panic.
        let odd = serde_json::json!({ "subsystems": { "balancer": { "listeners": [1, { "servers": 7 }] } } });
        assert!(render(&odd).starts_with("node"));
    }

    /// Track processes are a table of their own; their signals are not listed again.
    #[test]
    fn track_processes_are_a_table() {
        let v: Value = serde_json::json!({
            "node": "a",
            "subsystems": { "track": {
                "scripts": {},
                "processes": {
                    "chk_mysqld": { "state": "ok", "running": 2, "quorum": "1 or more",
                                    "last_scan": "2026-11-24T06:00:00Z", "error": null },
                    "one_ha": { "state": "failing", "running": null, "quorum": "1",
                                "last_scan": null, "error": "cannot read /proc: denied" }
                },
                "signals": {
                    "process:chk_mysqld": { "up": true, "detail": "2 processes running", "since": "x" },
                    "interface:eth0": { "up": true, "detail": "up", "since": "x" }
                }
            }}
        });
        let out = render(&v);
        let lines: Vec<String> = out
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        let header = lines
            .iter()
            .position(|l| l.starts_with("PROCESS"))
            .unwrap_or_else(|| panic!("no process table: {out}"));
        assert_eq!(lines[header], "PROCESS STATE RUNNING QUORUM LAST SCAN");
        assert_eq!(
            lines[header + 1],
            "chk_mysqld ok 2 1 or more 2026-11-24T06:00:00Z"
        );
        assert_eq!(
            lines[header + 2],
            "one_ha failing - 1 cannot read /proc: denied"
        );
        assert!(out.contains("interface:eth0: up (up)"), "{out}");
        assert!(!out.contains("process:chk_mysqld"), "{out}");
    }

    /// The router's hosts: whether reads go to each, and why not when replication keeps
    /// them away.
    #[test]
    fn router_hosts_show_where_reads_go() {
        let host = |name: &str, role: &str, reads: bool, why: Option<&str>| {
            serde_json::json!({
                "name": name, "role": role, "up": true, "last_error": null,
                "replica": role == "read", "lag_seconds": if why.is_some() { None } else { Some(0) },
                "reads": reads, "no_reads_reason": why,
                "pool": { "open": 2, "max_con": 100 }
            })
        };
        let v: Value = serde_json::json!({
            "node": "a",
            "subsystems": { "router": { "enabled": true, "running": true,
                "listen": "0.0.0.0:8067", "sessions": 1, "server_version": "10.11",
                "data_hosts": [{
                    "name": "dh0", "active_write_host": "db1",
                    "hosts": [
                        host("db1", "write", false, None),
                        host("db1r", "read", false, Some("replication IO thread not running")),
                        host("db1s", "read", true, None),
                    ]
                }]
            }}
        });
        let out = render(&v);
        let lines: Vec<&str> = out.lines().collect();
        let header = lines
            .iter()
            .position(|l| l.trim_start().starts_with("DATA HOST"))
            .unwrap_or_else(|| panic!("no host table: {out}"));
        let cells = |i: usize| lines[i].split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(
            cells(header),
            "DATA HOST HOST ROLE STATE READS LAG POOL LAST ERROR"
        );
        assert_eq!(cells(header + 1), "dh0 db1 write (active) up no - 2/100");
        assert_eq!(
            cells(header + 2),
            "dh0 db1r read up no: replication IO thread not running NULL 2/100"
        );
        assert_eq!(cells(header + 3), "dh0 db1s read up yes 0s 2/100");
        assert!(!out.contains("OFFLINE"), "{out}");
        // `stop @@heartbeat` shows on the paused host.
        let mut paused = v.clone();
        paused["subsystems"]["router"]["data_hosts"][0]["heartbeat_paused_host"] = "db1".into();
        paused["subsystems"]["router"]["data_hosts"][0]["heartbeat_paused_seconds"] = 540.into();
        let out = render(&paused);
        assert!(
            out.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")
                    == "dh0 db1 write (active) up (heartbeat stopped, 540s left) no - 2/100"),
            "{out}"
        );
        // `offline` on the admin port shows on the router's line.
        let mut off = v.clone();
        off["subsystems"]["router"]["online"] = false.into();
        let out = render(&off);
        assert!(
            out.lines()
                .any(|l| l.starts_with("router ")
                    && l.contains("  OFFLINE (admin command `offline`")),
            "{out}"
        );
        // Before its first heartbeat a host is not called up.
        let mut v = v;
        v["subsystems"]["router"]["data_hosts"][0]["hosts"][2]["checked"] = false.into();
        let out = render(&v);
        assert!(
            out.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")
                    == "dh0 db1s read not checked yet yes 0s 2/100"),
            "{out}"
        );
    }

    /// The router's TLS line: the certificate in use, its expiry, its fingerprint, and a
    /// flag when it expires within 30 days; `off` when TLS is off.
    #[test]
    fn router_tls_line_shows_the_certificate() {
        let with = |tls: Value| {
            let v: Value = serde_json::json!({
                "node": "a",
                "subsystems": { "router": { "enabled": true, "running": true,
                    "listen": "0.0.0.0:8067", "sessions": 0, "server_version": "10.11",
                    "tls": tls, "data_hosts": [] }}
            });
            render(&v)
                .lines()
                .find(|l| l.trim_start().starts_with("tls "))
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_default()
        };
        let file = serde_json::json!({
            "source": "file", "cert": "/etc/tandem/router.pem", "subject": "CN=db.example",
            "sha256": "AB:CD", "not_after": "2027-01-01 00:00:00 UTC", "expires_in_days": 12,
            "require_secure_transport": true
        });
        assert_eq!(
            with(file),
            "tls /etc/tandem/router.pem, required: CN=db.example until 2027-01-01 00:00:00 UTC (12 days), SHA-256 AB:CD EXPIRES SOON"
        );
        let auto = serde_json::json!({
            "source": "self-signed", "cert": null, "subject": "CN=tandem router a",
            "sha256": "01:02", "not_after": "2036-11-21 00:00:00 UTC", "expires_in_days": 3650,
            "require_secure_transport": false
        });
        assert_eq!(
            with(auto),
            "tls self-signed, made at start: CN=tandem router a until 2036-11-21 00:00:00 UTC (3650 days), SHA-256 01:02"
        );
        assert_eq!(with("off".into()), "tls off");
    }
}
