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
            // `config reload` is run just when the file may have errors: read the
            // socket from the file as it stands rather than reach another daemon.
            Err(diags) if command.starts_with("config ") => match socket_in_raw(config_path) {
                Ok(Some(p)) => p,
                Ok(None) => {
                    eprintln!(
                        "tandem: the admin socket is off in {} (admin.socket)",
                        config_path.display()
                    );
                    return ExitCode::FAILURE;
                }
                Err(e) => {
                    let first = diags.first().map(|d| d.to_string()).unwrap_or_default();
                    eprintln!(
                        "tandem: cannot read admin.socket from {} ({e}; {first}): give the daemon's socket with --socket",
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

/// `admin.socket` of a config file that may have errors elsewhere: the path, `None`
/// when it is `off`, the default when the key is absent; an error when the file is not
/// YAML or the key is not an absolute path.
fn socket_in_raw(path: &Path) -> Result<Option<PathBuf>, String> {
    use tandem::config::yaml::{Kind, Node, parse_document};
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let (doc, _) = parse_document(&text).map_err(|e| e.message)?;
    let get = |n: &Node, key: &str| -> Option<Node> {
        match &n.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.scalar().is_some_and(|(t, _)| t == key))
                .map(|(_, v)| v.clone()),
            _ => None,
        }
    };
    match get(&doc, "admin").and_then(|a| get(&a, "socket")) {
        None => Ok(Some(PathBuf::from(config::model::DEFAULT_ADMIN_SOCKET))),
        Some(n) => match n.scalar() {
            Some(("off", _)) => Ok(None),
            Some((s, _)) if s.starts_with('/') => Ok(Some(PathBuf::from(s))),
            _ => Err("admin.socket is not an absolute path".into()),
        },
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
