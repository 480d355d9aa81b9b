//! The `tandem` command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use tandem::config;

mod cli;

/// Exit status of `run` when the config is invalid (sysexits EX_CONFIG); the systemd
/// unit does not restart on it.
const EXIT_CONFIG: u8 = 78;

#[derive(Parser)]
#[command(
    name = "tandem",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("TANDEM_GIT_COMMIT"), ")"),
    about = "VRRP, a TCP balancer and a MySQL sharding router for a two-box MySQL tier"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon in the foreground.
    Run {
        /// Config file.
        #[arg(short, long, default_value = config::DEFAULT_PATH)]
        config: PathBuf,
    },
    /// Validate config files: exit 0 when valid, 1 when there are errors.
    ///
    /// Give both boxes' files (`-c box-a.yaml -c box-b.yaml`) to also check that their
    /// VRRP instances agree and that the elections can go the way you expect.
    Check {
        /// Config file(s).
        #[arg(short, long, default_value = config::DEFAULT_PATH)]
        config: Vec<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Show the running daemon's state (asks its `observe` endpoint).
    Status {
        /// Config file, to find the observe address.
        #[arg(short, long, default_value = config::DEFAULT_PATH)]
        config: PathBuf,
        /// The observe address (host:port), instead of reading it from the config.
        #[arg(long)]
        addr: Option<String>,
        /// Print the raw JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Balancer operations through the daemon's admin socket.
    Balancer {
        /// Config file, to find the admin socket.
        #[arg(short, long, default_value = config::DEFAULT_PATH, global = true)]
        config: PathBuf,
        /// The admin socket, instead of reading it from the config.
        #[arg(long, global = true)]
        socket: Option<PathBuf>,
        #[command(subcommand)]
        action: BalancerAction,
    },
    /// VRRP operations through the daemon's admin socket.
    Vrrp {
        /// Config file, to find the admin socket.
        #[arg(short, long, default_value = config::DEFAULT_PATH, global = true)]
        config: PathBuf,
        /// The admin socket, instead of reading it from the config.
        #[arg(long, global = true)]
        socket: Option<PathBuf>,
        #[command(subcommand)]
        action: VrrpAction,
    },
    /// Router operations through the daemon's admin socket.
    Router {
        /// Config file, to find the admin socket.
        #[arg(short, long, default_value = config::DEFAULT_PATH, global = true)]
        config: PathBuf,
        /// The admin socket, instead of reading it from the config.
        #[arg(long, global = true)]
        socket: Option<PathBuf>,
        #[command(subcommand)]
        action: RouterAction,
    },
    /// Reload or roll back the running daemon's config through its admin socket, with
    /// the outcome (the new generation, or the errors that refused it) as the answer.
    Config {
        /// Config file, to find the admin socket.
        #[arg(short, long, default_value = config::DEFAULT_PATH, global = true)]
        config: PathBuf,
        /// The admin socket, instead of reading it from the config.
        #[arg(long, global = true)]
        socket: Option<PathBuf>,
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Send a raw command to the daemon's admin socket (`tandem admin help`).
    Admin {
        #[arg(short, long, default_value = config::DEFAULT_PATH)]
        config: PathBuf,
        #[arg(long)]
        socket: Option<PathBuf>,
        /// The command words, e.g. `show stat`.
        #[arg(required = true)]
        command: Vec<String>,
    },
    /// Show where the router sends a statement (data nodes, SQL per node, merge steps)
    /// as JSON, without connecting anywhere. With no SQL argument, reads statements from
    /// stdin, one per line, and prints one JSON object per line.
    Explain {
        #[arg(short, long, default_value = config::DEFAULT_PATH)]
        config: PathBuf,
        /// Schema the statements run in (default: the only schema, or the first).
        #[arg(long)]
        schema: Option<String>,
        /// The statement.
        sql: Option<String>,
    },
    /// Convert keepalived.conf, haproxy.cfg and/or a MyCat conf/ directory into one tandem
    /// YAML file (on stdout), warn on stderr about everything without an equivalent, then
    /// validate it: exit 0 valid, 1 the result has errors, 2 an input cannot be read.
    Import {
        /// keepalived.conf to convert (global_defs, vrrp_script, vrrp_track_process, vrrp_instance, vrrp_sync_group).
        #[arg(long, value_name = "FILE")]
        keepalived: Option<PathBuf>,
        /// haproxy.cfg to convert (`mode tcp` listen/frontend/backend).
        #[arg(long, value_name = "FILE")]
        haproxy: Option<PathBuf>,
        /// MyCat's conf/ directory (server.xml, schema.xml, rule.xml and map files).
        #[arg(long, value_name = "DIR")]
        mycat_dir: Option<PathBuf>,
        /// The `node` name (default: keepalived's router_id).
        #[arg(long)]
        node: Option<String>,
    },
    /// Print the version.
    Version,
}

#[derive(Subcommand)]
enum VrrpAction {
    /// Planned switchover / maintenance: hold the instance(s) in FAULT; a master sends
    /// priority 0 and drops its VIPs so the peer takes over at once.
    Resign { instance: Option<String> },
    /// End `resign`: take part in elections again (a preempting higher priority takes
    /// the VIPs back).
    Resume { instance: Option<String> },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Re-read the config file, as SIGHUP (`systemctl reload tandem`), and say whether it
    /// applied: exit 1 with the errors when the file was refused.
    Reload,
    /// Run again the config from before the last reload (MyCat's `rollback @@config`):
    /// once per reload; the file is not changed, so the next reload applies it again.
    Rollback,
}

#[derive(Subcommand)]
enum RouterAction {
    /// MyCat's `offline`: take the router out of service. Pings on its SQL port fail
    /// (1053), observe's /health/router answers 404 (balancer http checks with
    /// `disable_on_404` drain it), `track_router` is down; sessions go on.
    Offline,
    /// Back in service.
    Online,
}

#[derive(Subcommand)]
enum BalancerAction {
    /// No new connections to the server; established ones stay; checks go on.
    Drain { server: String },
    /// Maintenance: no traffic, no checks.
    Maint { server: String },
    /// Back to normal.
    Ready { server: String },
    /// Set the server's weight (0..256).
    Weight { server: String, weight: u32 },
    /// haproxy-style `show stat` CSV.
    Stat,
    /// One line per server.
    Servers,
    /// Stick table entries: the listener's, or every listener's.
    Table { listener: Option<String> },
    /// Forget the stick table entries of a listener (all, or the one for `--key`).
    ClearTable {
        listener: String,
        /// Only this IP address's entry.
        #[arg(long)]
        key: Option<std::net::IpAddr>,
    },
}

/// Rust ignores SIGPIPE, so `tandem status | head` would make `print!` panic on the closed
/// pipe. The one-shot commands end quietly on a closed pipe, as other Unix tools do; the
/// daemon keeps ignoring it (a vanished peer is an error on that one socket).
fn restore_default_sigpipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: SIG_DFL is not a Rust handler, and nothing else runs yet (no threads).
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run { .. }) {
        restore_default_sigpipe();
    }
    match cli.command {
        Command::Run { config } => run(config),
        Command::Check { config, json } => cli::check::main(&config, json),
        Command::Status { config, addr, json } => cli::status::main(&config, addr.as_deref(), json),
        Command::Balancer {
            config,
            socket,
            action,
        } => {
            let cmd = match action {
                BalancerAction::Drain { server } => format!("set server {server} state drain"),
                BalancerAction::Maint { server } => format!("set server {server} state maint"),
                BalancerAction::Ready { server } => format!("set server {server} state ready"),
                BalancerAction::Weight { server, weight } => {
                    format!("set server {server} weight {weight}")
                }
                BalancerAction::Stat => "show stat".into(),
                BalancerAction::Servers => "show servers".into(),
                BalancerAction::Table { listener } => match listener {
                    Some(l) => format!("show table {l}"),
                    None => "show table".into(),
                },
                BalancerAction::ClearTable { listener, key } => match key {
                    Some(k) => format!("clear table {listener} key {k}"),
                    None => format!("clear table {listener}"),
                },
            };
            cli::admin::main(&config, socket.as_deref(), &cmd)
        }
        Command::Vrrp {
            config,
            socket,
            action,
        } => {
            let cmd = match action {
                VrrpAction::Resign { instance } => {
                    format!("vrrp resign {}", instance.unwrap_or_default())
                }
                VrrpAction::Resume { instance } => {
                    format!("vrrp resume {}", instance.unwrap_or_default())
                }
            };
            cli::admin::main(&config, socket.as_deref(), cmd.trim())
        }
        Command::Router {
            config,
            socket,
            action,
        } => {
            let cmd = match action {
                RouterAction::Offline => "router offline",
                RouterAction::Online => "router online",
            };
            cli::admin::main(&config, socket.as_deref(), cmd)
        }
        Command::Config {
            config,
            socket,
            action,
        } => {
            let cmd = match action {
                ConfigAction::Reload => "config reload",
                ConfigAction::Rollback => "config rollback",
            };
            cli::admin::main_within(
                &config,
                socket.as_deref(),
                cmd,
                tandem::admin::CONFIG_COMMAND_LIMIT,
            )
        }
        Command::Admin {
            config,
            socket,
            command,
        } => cli::admin::main(&config, socket.as_deref(), &command.join(" ")),
        Command::Explain {
            config,
            schema,
            sql,
        } => cli::explain::main(&config, schema.as_deref(), sql.as_deref()),
        Command::Import {
            keepalived,
            haproxy,
            mycat_dir,
            node,
        } => cli::import::main(keepalived, haproxy, mycat_dir, node),
        Command::Version => {
            println!(
                "tandem {} (commit {})",
                env!("CARGO_PKG_VERSION"),
                env!("TANDEM_GIT_COMMIT")
            );
            ExitCode::SUCCESS
        }
    }
}

fn run(path: PathBuf) -> ExitCode {
    let (cfg, warnings) = match config::check_file(&path).into_result() {
        Ok(v) => v,
        Err(diags) => {
            let n = diags
                .iter()
                .filter(|d| d.severity == config::Severity::Error)
                .count();
            for d in &diags {
                eprintln!("{d}");
            }
            eprintln!("tandem: not starting: {n} error(s) in {}", path.display());
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let log = tandem::observe::logging::init(&cfg.log);
    for w in &warnings {
        tandem::daemon::log_diagnostic(w);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(tandem::daemon::run(&path, cfg, log));
    // Blocking work still running (a DNS lookup, a config check) must not hold the exit
    // past the documented stop bound.
    rt.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The errors' messages already include their causes.
            tracing::error!("tandem: {e}");
            ExitCode::FAILURE
        }
    }
}
