//! A `tandem run` with a router section, started the same way by every router test: the
//! config written to a temporary directory with free ports, checked with `tandem check`,
//! the daemon started and waited for until the router listens; killed (and the directory
//! removed) on drop.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::mariadb::MariaDb;
use super::{Daemon, free_port, write};

/// The loopback ports a router config was given.
#[derive(Clone, Copy, Debug)]
pub struct RouterPorts {
    /// The router's client (SQL) port.
    pub sql: u16,
    /// The router's admin (SQL) port.
    pub admin: u16,
    /// The observe (HTTP) port, when the config has an `observe` section.
    pub observe: Option<u16>,
}

/// A whole config file with `body` (YAML indented for `router:`, e.g. users, schemas,
/// data_nodes, data_hosts) under `router:`, with the admin socket and the router's state
/// in `dir` and free ports for the router's listeners; with `observe`, also an `observe`
/// listener. Returns the text and the ports.
pub fn router_config_text(dir: &Path, body: &str, observe: bool) -> (String, RouterPorts) {
    let sql = free_port();
    let admin = free_port();
    let observe = observe.then(free_port);
    let observe_line = observe
        .map(|p| format!("observe: {{ listen: 127.0.0.1:{p} }}\n"))
        .unwrap_or_default();
    let text = format!(
        "node: rt\n{observe_line}admin: {{ socket: {d}/admin.sock }}\nrouter:\n  listen: 127.0.0.1:{sql}\n  admin_listen: 127.0.0.1:{admin}\n  state_dir: {d}/state\n{body}",
        d = dir.display()
    );
    (
        text,
        RouterPorts {
            sql,
            admin,
            observe,
        },
    )
}

/// `{ host: NAME, url: "ADDR", user: root, password: "" }`: a data host entry for a
/// MariaDB server of the tests (as root, no password).
pub fn host_yaml(name: &str, addr: SocketAddr) -> String {
    format!("{{ host: {name}, url: \"{addr}\", user: root, password: \"\" }}")
}

/// [`host_yaml`] for `db`.
pub fn db_host_yaml(name: &str, db: &MariaDb) -> String {
    host_yaml(name, db.addr)
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A running `tandem run` with a router section; the daemon is killed and the temporary
/// directory removed on drop.
pub struct RouterDaemon {
    pub daemon: Daemon,
    /// The router's client (SQL) address.
    pub addr: SocketAddr,
    /// The router's admin (SQL) address.
    pub admin: SocketAddr,
    /// The observe (HTTP) address; 127.0.0.1:0 when started without one.
    pub observe: SocketAddr,
    /// The config file (in `dir`).
    pub config: PathBuf,
    /// The temporary directory with the config, the admin socket and the state.
    pub dir: tempfile::TempDir,
}

/// Starts a router on `body` (see [`router_config_text`]) with an observe listener.
pub fn start_router_config(body: &str) -> RouterDaemon {
    RouterDaemon::start(body, true)
}

impl RouterDaemon {
    /// Writes the config (see [`router_config_text`]) to a new temporary directory,
    /// checks it with `tandem check` and starts the daemon; returns once the router
    /// listens.
    pub fn start(body: &str, observe: bool) -> RouterDaemon {
        RouterDaemon::start_with(body, observe, |_| String::new())
    }

    /// [`RouterDaemon::start`] with more top-level sections (e.g. `balancer:`), written
    /// after the router's by `more` from the ports the router was given.
    pub fn start_with(
        body: &str,
        observe: bool,
        more: impl FnOnce(&RouterPorts) -> String,
    ) -> RouterDaemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut text, ports) = router_config_text(dir.path(), body, observe);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&more(&ports));
        let config = write(dir.path(), "tandem.yaml", &text);
        let (code, out, err) = super::tandem(&["check", "-c", config.to_str().expect("utf8")]);
        assert_eq!(code, 0, "config invalid: {out}{err}\n{text}");
        let daemon = start_daemon(&config, "start");
        RouterDaemon {
            daemon,
            addr: loopback(ports.sql),
            admin: loopback(ports.admin),
            observe: loopback(ports.observe.unwrap_or(0)),
            config,
            dir,
        }
    }

    /// Stops the daemon and starts it again on the same config (and state directory);
    /// returns once the router listens again.
    pub fn restart(mut self) -> RouterDaemon {
        // The old daemon is gone before the new one binds the same ports.
        let _ = self.daemon.child.kill();
        let _ = self.daemon.child.wait();
        self.daemon = start_daemon(&self.config, "restart");
        self
    }

    /// The daemon's log so far, for assertion messages.
    pub fn logs(&self) -> String {
        self.daemon.logs()
    }
}

/// `tandem run -c config`, once it logs that the router listens.
fn start_daemon(config: &Path, what: &str) -> Daemon {
    let daemon = Daemon::start(config);
    assert!(
        daemon.wait_log("router listening"),
        "router did not {what}: {}",
        daemon.logs()
    );
    daemon
}
