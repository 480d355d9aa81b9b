//! haproxy's agent check: the balancer connects to a small agent beside the server
//! (`agent.port`), writes `agent.send` if any, and reads one line: words separated by
//! spaces, tabs or commas, in any order, the last of each kind winning:
//! - `75%`: the weight, as a share of the configured one (`100%` back to it);
//! - `maxconn:30`: the server's maxconn;
//! - `ready`, `drain`, `maint`: its administrative state (as `set server ... state`);
//! - `up`, or `down`, `fail`, `stopped` (optionally followed by `#` and a reason): its
//!   health; a server is up only when its health check and its agent both say so.
//!
//! An agent that cannot be reached changes nothing (the health check is there for
//! that); a line that does not end (no `\r` or `\n` before the agent closes) is ignored.
//! The reading here is pure; [`probe`] does the one connection.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::server::Admin;

/// What one agent line says (haproxy `tcpcheck_agent_expect_reply`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// The health word as written, and whether it means up.
    pub health: Option<(String, bool)>,
    pub admin: Option<Admin>,
    /// The weight word (`75%`), read as `set weight` reads it.
    pub weight: Option<String>,
    /// What follows `maxconn:`.
    pub maxconn: Option<String>,
    /// The first word that means nothing.
    pub error: Option<String>,
    /// The reason after `#`.
    pub desc: String,
}

/// Reads one agent line (without its line end).
pub fn parse(line: &str) -> Reply {
    let mut r = Reply::default();
    let mut rest = line;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        if let Some(d) = rest.strip_prefix('#') {
            r.desc = d.trim_start_matches([' ', '\t']).to_string();
            break;
        }
        let end = rest.find([' ', '\t', ',']).unwrap_or(rest.len());
        let word = &rest[..end];
        rest = &rest[end..];
        let lower = word.to_ascii_lowercase();
        match lower.as_str() {
            "up" => r.health = Some((word.to_string(), true)),
            "down" | "stopped" | "fail" => r.health = Some((word.to_string(), false)),
            "ready" => r.admin = Some(Admin::Ready),
            "drain" => r.admin = Some(Admin::Drain),
            "maint" => r.admin = Some(Admin::Maint),
            _ if word.starts_with(|c: char| c.is_ascii_digit()) && word.contains('%') => {
                r.weight = Some(word.to_string());
            }
            _ if lower.starts_with("maxconn:") => {
                r.maxconn = Some(word["maxconn:".len()..].to_string());
            }
            _ => {
                if r.error.is_none() {
                    r.error = Some(word.to_string());
                }
            }
        }
    }
    r
}

impl Reply {
    /// haproxy's agent status for this reply: `L7OK` (up), `L7STS` (down) or `CHECKED`
    /// (no health word: "No status change").
    pub fn status(&self) -> &'static str {
        match &self.health {
            Some((_, true)) => "L7OK",
            Some((_, false)) => "L7STS",
            None => "CHECKED",
        }
    }

    /// haproxy's `last_agt` for this reply; `warning`: the first refusal of its weight
    /// or maxconn.
    pub fn describe(&self, warning: Option<&str>) -> String {
        let err = self.error.as_deref().filter(|e| !e.is_empty());
        let wrn = warning.filter(|w| !w.is_empty());
        if let Some((word, up)) = &self.health {
            let mut msg = self.desc.as_str();
            if msg.is_empty() || *up {
                if let Some(e) = err {
                    msg = e;
                } else if let Some(w) = wrn {
                    msg = w;
                }
            }
            if msg.is_empty() {
                format!("via agent : {word}")
            } else {
                format!("via agent : {word} ({msg})")
            }
        } else if let Some(e) = err {
            format!("agent reports an error : {e}")
        } else if let Some(w) = wrn {
            format!("agent warns : {w}")
        } else {
            String::new()
        }
    }
}

/// The result of one agent connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The line it sent, without its end.
    Line(String),
    /// It closed (or filled [`LINE_MAX`]) before the line ended: ignored.
    Incomplete,
    /// It could not be asked: haproxy's status (`L4CON`, `L4TOUT`, `L7TOUT`,
    /// `SOCKERR`) and description.
    Failed(&'static str, String),
}

/// The most of an agent's answer read looking for the line's end (haproxy's buffer).
pub const LINE_MAX: usize = 16 * 1024;

/// haproxy's description of a socket error (`strerror`): "Connection refused".
fn strerror(e: &std::io::Error) -> String {
    crate::observe::logging::io_text(e)
}

/// Asks the agent at `target` once, within `timeout`.
pub async fn probe(
    target: SocketAddr,
    send: Option<&str>,
    source: Option<IpAddr>,
    timeout: Duration,
) -> Outcome {
    let deadline = tokio::time::Instant::now() + timeout;
    let connect = async {
        let sock = if target.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        }?;
        if let Some(src) = source {
            sock.bind(SocketAddr::new(src, 0))?;
        }
        sock.connect(target).await
    };
    let mut s = match tokio::time::timeout_at(deadline, connect).await {
        Err(_) => return Outcome::Failed("L4TOUT", String::new()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {
            return Outcome::Failed("SOCKERR", strerror(&e));
        }
        Ok(Err(e)) => return Outcome::Failed("L4CON", strerror(&e)),
        Ok(Ok(s)) => s,
    };
    let talk = async {
        if let Some(d) = send.filter(|d| !d.is_empty()) {
            s.write_all(d.as_bytes()).await?;
        }
        let mut got: Vec<u8> = Vec::with_capacity(128);
        let mut buf = [0u8; 1024];
        loop {
            if let Some(end) = got.iter().position(|b| *b == b'\r' || *b == b'\n') {
                got.truncate(end);
                return Ok(Some(got));
            }
            if got.len() >= LINE_MAX {
                return Ok(None);
            }
            let n = s.read(&mut buf).await?;
            if n == 0 {
                return Ok(None);
            }
            got.extend_from_slice(&buf[..n]);
        }
    };
    match tokio::time::timeout_at(deadline, talk).await {
        Err(_) => Outcome::Failed("L7TOUT", String::new()),
        Ok(Err(e)) => Outcome::Failed("SOCKERR", strerror(&e)),
        Ok(Ok(None)) => Outcome::Incomplete,
        // haproxy reads the line as a C string: it ends at a NUL too.
        Ok(Ok(Some(line))) => {
            let line = match line.iter().position(|b| *b == 0) {
                Some(z) => &line[..z],
                None => &line[..],
            };
            Outcome::Line(String::from_utf8_lossy(line).into_owned())
        }
    }
}

/// haproxy's description of an agent status code (`agent_desc`).
pub fn status_desc(status: &str) -> &'static str {
    match status {
        "INI" => "Initializing",
        "CHECKED" => "No status change",
        "SOCKERR" => "Socket error",
        "L4TOUT" => "Layer4 timeout",
        "L4CON" => "Layer4 connection problem",
        "L7TOUT" => "Layer7 timeout",
        "L7OK" => "Layer7 check passed",
        "L7STS" => "Layer7 wrong status",
        _ => "",
    }
}

/// What `Incomplete` leaves in `last_agt` (haproxy's words).
pub const INCOMPLETE: &str = "Ignoring incomplete line from agent";

/// Runs a server's agent check until aborted (a reload that changes it, the listener
/// going away).
pub(super) fn spawn(
    agent: crate::config::balancer::Agent,
    server: std::sync::Arc<super::server::ServerState>,
    ctx: super::CheckCtx,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(super::spread(server.name(), agent.inter.get())).await;
        let listener = ctx.shared.name.clone();
        let errors = ctx
            .metrics
            .agent_errors
            .with_label_values(&[&listener, server.name()]);
        // Whether the last attempt reached the agent (one log line per change).
        let mut reachable = true;
        loop {
            let info = server.agent_info();
            if !info.enabled {
                // `disable agent`: nothing until `enable agent`.
                let changed = server.admin_changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if !server.agent_info().enabled {
                    let _ = tokio::time::timeout(agent.inter.get(), changed).await;
                }
                continue;
            }
            let ip = info
                .addr
                .or(agent.address)
                .unwrap_or_else(|| server.addr().ip());
            let target = SocketAddr::new(ip, info.port.unwrap_or(agent.port));
            let send = info.send.or_else(|| agent.send.clone());
            let (source, timeout) = {
                let rt = ctx.shared.runtime();
                (rt.cfg.source, agent.timeout(rt.cfg.check.as_ref()))
            };
            if let Ok(mut a) = server.agent.lock() {
                a.in_progress = true;
            }
            let t0 = std::time::Instant::now();
            let outcome = probe(target, send.as_deref(), source, timeout.get()).await;
            let took = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
            let enabled = match server.agent.lock() {
                Ok(mut a) => {
                    a.in_progress = false;
                    a.duration_ms = took;
                    a.enabled
                }
                Err(_) => false,
            };
            // An answer that comes after `disable agent` is ignored (haproxy).
            if !enabled {
                continue;
            }
            match outcome {
                Outcome::Failed(status, desc) => {
                    errors.inc();
                    if reachable {
                        let why = if desc.is_empty() {
                            status_desc(status).to_ascii_lowercase()
                        } else {
                            desc.to_ascii_lowercase()
                        };
                        tracing::warn!(listener = %listener, server = %server.name(), agent = %target, reason = %why, "server {listener}/{}: its agent at {target} cannot be asked ({why}); the server keeps its state", server.name());
                    }
                    reachable = false;
                    if let Ok(mut a) = server.agent.lock() {
                        a.status = status;
                        a.desc = desc;
                    }
                }
                Outcome::Incomplete => {
                    if let Ok(mut a) = server.agent.lock() {
                        a.desc = INCOMPLETE.to_string();
                    }
                }
                Outcome::Line(line) => {
                    if !reachable {
                        tracing::info!(listener = %listener, server = %server.name(), agent = %target, "server {listener}/{}: its agent at {target} answers again", server.name());
                    }
                    reachable = true;
                    apply(&ctx, &server, &line);
                }
            }
            tokio::time::sleep(agent.inter.get()).await;
        }
    })
}

/// Applies one agent line to its server, in haproxy's order: the administrative state,
/// the weight, the maxconn, then the health.
fn apply(ctx: &super::CheckCtx, server: &std::sync::Arc<super::server::ServerState>, line: &str) {
    let r = parse(line);
    let shared = &ctx.shared;
    let listener = &shared.name;
    let by = "its agent";
    if let Some(a) = r.admin
        && server.own_admin() != a
    {
        super::change_admin(&ctx.hub, &ctx.metrics, shared, server, a, by);
    }
    let mut warning: Option<String> = None;
    if let Some(w) = &r.weight
        && let Err(e) = super::change_weight(&ctx.hub, shared, server, w, by)
    {
        warning = Some(e.haproxy.into_owned());
    }
    if let Some(m) = &r.maxconn {
        match parse_maxconn(m) {
            Ok(v) => {
                let before = server.maxconn();
                if before != v {
                    server.set_maxconn(v);
                    let show = |m: Option<u32>| m.map_or("none".to_string(), |m| m.to_string());
                    tracing::warn!(listener = %listener, server = %server.name(), "server {listener}/{} maxconn set to {} by its agent (was {})", server.name(), show(v), show(before));
                    shared.freed.notify_waiters();
                }
            }
            Err(e) => {
                if warning.is_none() {
                    warning = Some(e.to_string());
                }
            }
        }
    }
    let desc = r.describe(warning.as_deref());
    if let Ok(mut a) = server.agent.lock() {
        a.status = r.status();
        a.desc = desc.clone();
    }
    let Some((_, up)) = &r.health else {
        return;
    };
    if !server.set_agent_health(*up) {
        return;
    }
    super::announce(
        &ctx.hub,
        &ctx.metrics,
        shared,
        server,
        true,
        &format!("agent: {desc}"),
    );
}

/// An agent's `maxconn:N` as haproxy reads it (`strtol`, the whole word): 0 or less is
/// no limit.
fn parse_maxconn(text: &str) -> Result<Option<u32>, &'static str> {
    if text.is_empty() {
        return Err("Require <maxconn>.\n");
    }
    let Some((v, rest)) = super::server::strtol(text) else {
        return Err("maxconn string empty or preceded by garbage");
    };
    if !rest.is_empty() {
        return Err("Trailing garbage in maxconn string");
    }
    if v <= 0 {
        return Ok(None);
    }
    Ok(Some(u32::try_from(v).unwrap_or(u32::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maxconn_reads_as_haproxy_reads_it() {
        assert_eq!(parse_maxconn("30"), Ok(Some(30)));
        assert_eq!(parse_maxconn("0"), Ok(None));
        assert_eq!(parse_maxconn("-3"), Ok(None));
        assert_eq!(parse_maxconn(""), Err("Require <maxconn>.\n"));
        assert_eq!(
            parse_maxconn("x1"),
            Err("maxconn string empty or preceded by garbage")
        );
        assert_eq!(
            parse_maxconn("3x"),
            Err("Trailing garbage in maxconn string")
        );
    }

    #[test]
    fn words_in_any_order_the_last_of_a_kind_wins() {
        let r = parse("drain 50%, maxconn:30\tdown up");
        assert_eq!(r.health, Some(("up".into(), true)));
        assert_eq!(r.admin, Some(Admin::Drain));
        assert_eq!(r.weight.as_deref(), Some("50%"));
        assert_eq!(r.maxconn.as_deref(), Some("30"));
        assert_eq!(r.error, None);
        assert_eq!(r.status(), "L7OK");
        let r = parse("READY 10% 75%");
        assert_eq!(r.admin, Some(Admin::Ready));
        assert_eq!(r.weight.as_deref(), Some("75%"));
        assert_eq!(r.status(), "CHECKED");
        assert_eq!(r.describe(None), "");
    }

    #[test]
    fn reasons_errors_and_warnings_read_as_haproxy_writes_them() {
        let r = parse("DOWN # replication stopped");
        assert_eq!(r.status(), "L7STS");
        assert_eq!(r.describe(None), "via agent : DOWN (replication stopped)");
        // A '#' inside a word is part of it.
        let r = parse("stopped a#b");
        assert_eq!(r.error.as_deref(), Some("a#b"));
        assert_eq!(r.describe(None), "via agent : stopped (a#b)");
        // "up" reports an error or warning before its own reason.
        let r = parse("up bogus #fine");
        assert_eq!(r.describe(None), "via agent : up (bogus)");
        let r = parse("up #fine");
        assert_eq!(r.describe(Some("w")), "via agent : up (w)");
        assert_eq!(r.describe(None), "via agent : up (fine)");
        // "down" keeps its reason.
        let r = parse("down bogus #why");
        assert_eq!(r.describe(None), "via agent : down (why)");
        let r = parse("bogus other");
        assert_eq!(r.describe(None), "agent reports an error : bogus");
        assert_eq!(r.status(), "CHECKED");
        let r = parse("50%x");
        assert_eq!(
            r.describe(Some("Trailing garbage in weight string")),
            "agent warns : Trailing garbage in weight string"
        );
        assert_eq!(parse("").describe(None), "");
        assert_eq!(parse(" , \t").describe(None), "");
    }

    #[tokio::test]
    async fn one_line_is_read_up_to_its_end() {
        use tokio::net::TcpListener;
        async fn agent(reply: &'static [u8]) -> SocketAddr {
            let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let a = l.local_addr().expect("addr");
            tokio::spawn(async move {
                if let Ok((mut s, _)) = l.accept().await {
                    let mut b = [0u8; 64];
                    let n = s.read(&mut b).await.unwrap_or(0);
                    // Echo what was sent first, so the test sees `send` arrived.
                    let _ = s.write_all(&b[..n]).await;
                    let _ = s.write_all(reply).await;
                }
            });
            a
        }
        let t = Duration::from_secs(5);
        let a = agent(b" 75% drain\r\nignored\n").await;
        assert_eq!(
            probe(a, Some("hello "), None, t).await,
            Outcome::Line("hello  75% drain".into())
        );
        let a = agent(b"up").await;
        assert_eq!(probe(a, Some("x"), None, t).await, Outcome::Incomplete);
        // Refused: L4CON with the system's words.
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let a = l.local_addr().expect("addr");
        drop(l);
        assert_eq!(
            probe(a, None, None, t).await,
            Outcome::Failed("L4CON", "Connection refused".into())
        );
        // Connected, no answer: L7TOUT.
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let a = l.local_addr().expect("addr");
        assert_eq!(
            probe(a, None, None, Duration::from_millis(200)).await,
            Outcome::Failed("L7TOUT", String::new())
        );
        drop(l);
    }
}
