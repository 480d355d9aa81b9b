//! `tandem balancer ...` and `tandem admin ...`: one command to the daemon's admin socket.

use std::path::Path;
use std::process::ExitCode;

use tandem::config;

pub fn main(config_path: &Path, socket: Option<&Path>, command: &str) -> ExitCode {
    let path = match socket {
        Some(p) => p.to_path_buf(),
        None => match config::check_file(config_path).into_result() {
            Ok((cfg, _)) => match cfg.admin.socket {
                Some(p) => p,
                None => {
                    eprintln!(
                        "tandem: the admin socket is off in {} (admin.socket)",
                        config_path.display()
                    );
                    return ExitCode::FAILURE;
                }
            },
            Err(_) => std::path::PathBuf::from(config::model::DEFAULT_ADMIN_SOCKET),
        },
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tandem: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(tandem::admin::send(&path, command)) {
        Ok(reply) => {
            print!("{reply}");
            if reply.starts_with("error:") {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("tandem: {e}");
            ExitCode::FAILURE
        }
    }
}
