//! The local admin socket: a Unix socket taking one text command per connection, in
//! haproxy's runtime-API words (`show stat`, `set server L/S state drain`, ...). Only
//! local users with access to the socket file (mode 0660) can use it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
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
}

pub const HELP: &str = "\
commands:
  help
  show stat                                   haproxy-style CSV of listeners and servers
  show servers                                one line per server
  set server <listener>/<server> state ready|drain|maint
  set server <listener>/<server> weight <0-256>|<N>%   (also: set weight L/S ...)
  get weight <listener>/<server>              current weight (initial configured one)
  show info                                   version, pid, uptime, connections
  show table [listener]                       stick table entries (key, server, idle, expiry)
  clear table <listener> [key <ip>]           forget one or every stick table entry
  disable server <listener>/<server>          = state maint
  enable server <listener>/<server>           = state ready
  vrrp resign [instance]                      planned switchover: FAULT until resumed (a
                                              master hands its VIPs over with priority 0)
  vrrp resume [instance]                      back to normal elections
";

/// Runs one command; the reply ends with a newline.
pub fn execute(targets: &Targets, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let balancer = || -> Result<BalancerAdmin, String> {
        targets
            .balancer
            .read()
            .ok()
            .and_then(|b| b.clone())
            .ok_or_else(|| "the balancer is not configured".to_string())
    };
    let r: Result<String, String> = match words.as_slice() {
        [] | ["help"] => Ok(HELP.to_string()),
        ["vrrp", verb @ ("resign" | "resume"), rest @ ..] if rest.len() <= 1 => targets
            .vrrp
            .read()
            .ok()
            .and_then(|v| v.clone())
            .ok_or_else(|| "VRRP is not configured".to_string())
            .and_then(|v| v.resign(rest.first().copied(), *verb == "resign")),
        ["show", "stat"] => balancer().map(|b| b.show_stat()),
        ["show", "servers"] => balancer().map(|b| b.show_servers()),
        ["set", "server", t, "state", st] => {
            let state = match *st {
                "ready" => Ok(Admin::Ready),
                "drain" => Ok(Admin::Drain),
                "maint" => Ok(Admin::Maint),
                other => Err(format!("unknown state `{other}`: ready, drain or maint")),
            };
            state.and_then(|s| balancer().and_then(|b| b.set_state(t, s)))
        }
        ["set", "server", t, "weight", w] | ["set", "weight", t, w] => {
            match w.strip_suffix('%').map(str::parse::<u32>) {
                Some(Ok(pc)) => balancer().and_then(|b| b.set_weight_percent(t, pc)),
                Some(Err(_)) => Err(format!("`{w}` is not a percentage")),
                None => match w.parse::<u32>() {
                    Ok(w) => balancer().and_then(|b| b.set_weight(t, w)),
                    Err(_) => Err(format!(
                        "`{w}` is not a weight (0..256, or a percentage of the configured weight such as 50%)"
                    )),
                },
            }
        }
        ["get", "weight", t] => balancer().and_then(|b| b.get_weight(t)),
        ["show", "info"] => balancer().map(|b| b.show_info()),
        ["show", "table"] => balancer().and_then(|b| b.show_table(None)),
        ["show", "table", l] => balancer().and_then(|b| b.show_table(Some(l))),
        ["clear", "table", l] => balancer().and_then(|b| b.clear_table(l, None)),
        ["clear", "table", l, "key", k] => match k.parse() {
            Ok(ip) => balancer().and_then(|b| b.clear_table(l, Some(ip))),
            Err(_) => Err(format!("`{k}` is not an IP address")),
        },
        ["disable", "server", t] => balancer().and_then(|b| b.set_state(t, Admin::Maint)),
        ["enable", "server", t] => balancer().and_then(|b| b.set_state(t, Admin::Ready)),
        _ => Err(format!("unknown command `{}`; try `help`", line.trim())),
    };
    match r {
        Ok(mut s) => {
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s
        }
        Err(e) => format!("error: {e}\n"),
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
                    let (r, mut w) = stream.into_split();
                    let mut line = String::new();
                    // One command line, bounded: a client that sends no newline cannot
                    // make the daemon buffer without end.
                    let mut reader = BufReader::new(r).take(MAX_COMMAND);
                    let read =
                        tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut line))
                            .await;
                    if !matches!(read, Ok(Ok(_))) {
                        return;
                    }
                    if !line.ends_with('\n') && line.len() as u64 >= MAX_COMMAND {
                        let _ = w
                            .write_all(
                                format!("error: command longer than {MAX_COMMAND} bytes\n")
                                    .as_bytes(),
                            )
                            .await;
                        let _ = w.shutdown().await;
                        return;
                    }
                    let cmd = line.trim().to_string();
                    let reply = execute(&targets, &cmd);
                    if cmd.starts_with("set ")
                        || cmd.starts_with("vrrp ")
                        || cmd.starts_with("enable ")
                        || cmd.starts_with("disable ")
                    {
                        tracing::info!(command = %cmd, "admin: {cmd}");
                    }
                    let _ = w.write_all(reply.as_bytes()).await;
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

/// Sends one command to a daemon's admin socket and returns its reply (for the CLI).
pub async fn send(path: &Path, command: &str) -> Result<String, String> {
    let work = async {
        let mut s = UnixStream::connect(path)
            .await
            .map_err(|e| format!("cannot reach the daemon at {}: {e}", path.display()))?;
        s.write_all(format!("{command}\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut out = String::new();
        s.read_to_string(&mut out)
            .await
            .map_err(|e| e.to_string())?;
        Ok(out)
    };
    tokio::time::timeout(Duration::from_secs(10), work)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no answer from {} within 10s: a process accepted the connection but did not reply (is the daemon hung or overloaded?)",
                path.display()
            ))
        })
}
