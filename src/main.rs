//! The `tandem` command line.

use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Print the version.
    Version,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => run(config),
        Command::Check { config, json } => cli::check::main(&config, json),
        Command::Status { config, addr, json } => cli::status::main(&config, addr.as_deref(), json),
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
    let result: anyhow::Result<()> =
        rt.block_on(async { Ok(tandem::daemon::run(&path, cfg, log).await?) });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("tandem: {e:#}");
            ExitCode::FAILURE
        }
    }
}
