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
    let mut result = Err(String::new());
    for t in &targets {
        result = rt.block_on(fetch(*t, "/status"));
        if result.is_ok() {
            break;
        }
    }
    let body = match result {
        Ok(b) => b,
        Err(e) => {
            eprintln!("tandem status: cannot reach the daemon at http://{shown}/status: {e}");
            eprintln!("  is tandem running, and is `observe` enabled in its config?");
            return ExitCode::FAILURE;
        }
    };
    if as_json {
        print!("{body}");
        return ExitCode::SUCCESS;
    }
    match serde_json::from_str::<Value>(&body) {
        Ok(v) => {
            print!("{}", render(&v));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tandem status: the daemon answered something that is not JSON: {e}");
            ExitCode::FAILURE
        }
    }
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

/// The observe address from the config; a wildcard bind is reached over loopback.
fn observe_addr(path: &Path) -> Result<SocketAddr, String> {
    let (cfg, _) = config::check_file(path).into_result().map_err(|d| {
        let first = d.first().map(|d| d.to_string()).unwrap_or_default();
        format!(
            "cannot read the observe address from {} ({first}); give it with --addr",
            path.display()
        )
    })?;
    let o = cfg.observe.ok_or_else(|| {
        format!(
            "{} has no `observe` section: the daemon serves no status (add `observe: {{}}`)",
            path.display()
        )
    })?;
    let mut a = o.listen;
    if a.ip().is_unspecified() {
        a.set_ip(match a.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(a)
}

/// GET `path` from `addr`, returning the body of a 200 answer.
pub async fn fetch(addr: SocketAddr, path: &str) -> Result<String, String> {
    let work = async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let req = hyper::Request::get(path)
            .header(hyper::header::HOST, addr.to_string())
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        String::from_utf8(body.to_vec()).map_err(|e| e.to_string())
    };
    tokio::time::timeout(TIMEOUT, work)
        .await
        .map_err(|_| format!("no answer within {TIMEOUT:?}"))?
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
        let age = i["last_advert_age_seconds"]
            .as_f64()
            .map(|a| format!("{a:.1}s ago"))
            .unwrap_or_else(|| "-".into());
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

/// Router: listener, sessions, and one row per backend host.
fn render_router(v: &Value) -> String {
    let mut out = format!(
        "router   {} (admin {}), {} session(s), version {}\n",
        s(&v["listen"]),
        s(&v["admin_listen"]),
        s(&v["sessions"]),
        s(&v["server_version"])
    );
    let mut rows = vec![
        [
            "DATA HOST",
            "HOST",
            "ROLE",
            "STATE",
            "LAG",
            "POOL",
            "LAST ERROR",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for dh in v["data_hosts"].as_array().into_iter().flatten() {
        let active = s(&dh["active_write_host"]);
        for h in dh["hosts"].as_array().into_iter().flatten() {
            let name = s(&h["name"]);
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
                if h["up"].as_bool() == Some(true) {
                    "up".into()
                } else {
                    "DOWN".into()
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
    if let Some(m) = v["signals"].as_object() {
        for (key, h) in m.iter().filter(|(k, _)| !k.starts_with("script:")) {
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
}
