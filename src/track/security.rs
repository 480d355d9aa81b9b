//! `script_security`: a script that someone other than root (or the user it runs as) could
//! modify would let that someone run code with the daemon's privileges. Each path
//! component must be owned by a trusted user and not writable by anyone else (a sticky
//! directory such as /tmp is fine: others cannot replace what they do not own).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const S_IWGRP: u32 = 0o020;
const S_IWOTH: u32 = 0o002;
const S_ISVTX: u32 = 0o1000;

/// The executable `argv0` names: as given when it has a `/`, else looked up in PATH.
pub fn resolve(argv0: &str) -> Option<PathBuf> {
    if argv0.contains('/') {
        return Some(PathBuf::from(argv0));
    }
    let path = std::env::var("PATH")
        .unwrap_or_else(|_| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    path.split(':')
        .map(|d| Path::new(d).join(argv0))
        .find(|p| p.is_file())
}

/// Checks `path` and every directory above it. `trusted_uid`/`trusted_gid`: the user
/// and group the script runs as, besides root. Missing files are not an error here (they
/// fail when run).
pub fn check(
    path: &Path,
    trusted_uid: Option<u32>,
    trusted_gid: Option<u32>,
) -> Result<(), String> {
    let Ok(full) = std::fs::canonicalize(path) else {
        return Ok(());
    };
    let trusted_user = |uid: u32| uid == 0 || Some(uid) == trusted_uid;
    let trusted_group = |gid: u32| gid == 0 || Some(gid) == trusted_gid;
    let mut components: Vec<PathBuf> = full.ancestors().map(Path::to_path_buf).collect();
    components.reverse();
    for p in components {
        let meta = std::fs::symlink_metadata(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let mode = meta.mode();
        let sticky_dir = meta.is_dir() && mode & S_ISVTX != 0;
        if !trusted_user(meta.uid()) {
            return Err(format!(
                "{} is owned by uid {}, not root or the script's user",
                p.display(),
                meta.uid()
            ));
        }
        if mode & S_IWOTH != 0 && !sticky_dir {
            return Err(format!("{} is writable by everyone", p.display()));
        }
        if mode & S_IWGRP != 0 && !trusted_group(meta.gid()) && !sticky_dir {
            return Err(format!(
                "{} is writable by group {}",
                p.display(),
                meta.gid()
            ));
        }
    }
    Ok(())
}

/// Checks what a command line would execute: the program, and any argument that is an
/// absolute path to an existing file (`/bin/sh /etc/tandem/check.sh`).
pub fn check_command(argv: &[String], uid: Option<u32>, gid: Option<u32>) -> Result<(), String> {
    let Some(first) = argv.first() else {
        return Ok(());
    };
    if let Some(p) = resolve(first) {
        check(&p, uid, gid)?;
    }
    for a in &argv[1..] {
        let p = Path::new(a);
        if p.is_absolute() && p.is_file() {
            check(p, uid, gid)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn system_binaries_are_safe() {
        assert!(check_command(&["sh".into(), "-c".into(), "true".into()], None, None).is_ok());
        assert!(check(Path::new("/bin/true"), None, None).is_ok());
        assert!(check(Path::new("/nonexistent"), None, None).is_ok());
    }

    #[test]
    fn writable_files_and_dirs_are_refused() {
        if !nix::unistd::Uid::effective().is_root() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let script = dir.path().join("check.sh");
        std::fs::write(&script, "#!/bin/sh\nexit 0\n").expect("write");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        // A root-owned 0700 dir inside sticky /tmp: safe.
        assert!(check(&script, None, None).is_ok());
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let e = check(&script, None, None).expect_err("world-writable");
        assert!(e.contains("check.sh is writable by everyone"), "{e}");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let e = check(&script, None, None).expect_err("world-writable dir");
        assert!(
            e.contains(&format!("{} is writable by everyone", dir.path().display())),
            "{e}"
        );
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        nix::unistd::chown(&script, Some(nix::unistd::Uid::from_raw(4242)), None).expect("chown");
        let e = check(&script, None, None).expect_err("foreign owner");
        assert!(e.contains("is owned by uid 4242"), "{e}");
        assert!(
            check(&script, Some(4242), None).is_ok(),
            "the script's own user may own it"
        );
    }
}
