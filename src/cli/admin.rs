//! `tandem balancer ...` and `tandem admin ...`: one command to the daemon's admin socket.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tandem::config;

pub fn main(config_path: &Path, socket: Option<&Path>, command: &str) -> ExitCode {
    main_within(
        config_path,
        socket,
        command,
        std::time::Duration::from_secs(10),
    )
}

/// [`main`], waiting up to `limit` for the answer.
pub fn main_within(
    config_path: &Path,
    socket: Option<&Path>,
    command: &str,
    limit: std::time::Duration,
) -> ExitCode {
    // Why the socket is the default one although -c was used: the config could not be read.
    let mut fallback_note = None;
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
            Err(diags) => {
                let first = diags.first().map(|d| d.to_string()).unwrap_or_default();
                fallback_note = Some(format!(
                    "the admin socket could not be read from {} ({first}), so the default {} was tried; give it with --socket",
                    config_path.display(),
                    config::model::DEFAULT_ADMIN_SOCKET
                ));
                PathBuf::from(config::model::DEFAULT_ADMIN_SOCKET)
            }
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
    match rt.block_on(tandem::admin::send_within(&path, command, limit)) {
        Ok(reply) => {
            // The daemon's replies, `error: ...` included, go to stdout as they came.
            let empty = reply.trim().is_empty();
            let (code, out) = judge_reply(&path, reply);
            if empty {
                eprint!("{out}");
            } else {
                print!("{out}");
            }
            // A refusal from the default socket's daemon may come from another daemon
            // than the one meant: say why that socket was asked.
            if code != ExitCode::SUCCESS
                && let Some(note) = &fallback_note
            {
                eprintln!("tandem: note: {note}");
            }
            code
        }
        Err(e) => {
            eprintln!("tandem: {e}");
            // The hint explains a failed connect, not a daemon that accepted and hung.
            if let Some(hint) = unreachable_hint(&path).filter(|_| e.starts_with("cannot reach")) {
                eprintln!("  {hint}");
            }
            if let Some(note) = fallback_note {
                eprintln!("  {note}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The exit status and the text to print for a reply: `error: ...` and an empty reply
/// (the other end closed without answering) are failures.
fn judge_reply(path: &Path, reply: String) -> (ExitCode, String) {
    if reply.trim().is_empty() {
        return (
            ExitCode::FAILURE,
            format!(
                "tandem: {} closed the connection without an answer (is it tandem's admin socket?)\n",
                path.display()
            ),
        );
    }
    if reply.starts_with("error:") {
        (ExitCode::FAILURE, reply)
    } else {
        (ExitCode::SUCCESS, reply)
    }
}

/// Why a socket path cannot be connected to, in the operator's words.
fn unreachable_hint(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(format!(
            "{} does not exist: is tandem running, with admin.socket at this path?",
            path.display()
        )),
        Ok(m) if !m.file_type().is_socket() => Some(format!(
            "{} is not a Unix socket: give the admin socket (admin.socket, default {})",
            path.display(),
            config::model::DEFAULT_ADMIN_SOCKET
        )),
        Ok(_) if nix::unistd::access(path, nix::unistd::AccessFlags::W_OK).is_err() => {
            Some(format!(
                "permission denied on {}: run as root or as a member of the socket's group (the tandem user's group under systemd)",
                path.display()
            ))
        }
        Ok(_) => Some(format!(
            "nothing answers on {}: is tandem running?",
            path.display()
        )),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_reply_is_a_failure() {
        let p = Path::new("/run/x.sock");
        let (code, out) = judge_reply(p, String::new());
        assert_eq!(code, ExitCode::FAILURE);
        assert!(
            out.contains("closed the connection without an answer"),
            "{out}"
        );
        assert_eq!(judge_reply(p, "error: no\n".into()).0, ExitCode::FAILURE);
        assert_eq!(judge_reply(p, "ok\n".into()).0, ExitCode::SUCCESS);
    }

    #[test]
    fn hints_say_what_is_wrong_with_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("none.sock");
        let hint = unreachable_hint(&missing).unwrap_or_default();
        assert!(hint.contains("does not exist"), "{hint}");
        let file = dir.path().join("tandem.yaml");
        std::fs::write(&file, "x").expect("write");
        let hint = unreachable_hint(&file).unwrap_or_default();
        assert!(hint.contains("is not a Unix socket"), "{hint}");
    }
}
