//! `script_security`: a script that someone other than root (or the user it runs as) could
//! modify would let that someone run code with the daemon's privileges. Each path
//! component must be owned by a trusted user and not writable by anyone else (a sticky
//! directory such as /tmp is fine: others cannot replace what they do not own).

use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

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
///
/// The path is checked as the kernel follows it when the script is started: a symbolic
/// link on the way (the script itself, or a directory) is checked where it is — its
/// owner and the directories holding it — and then what it points to. A link in a
/// directory others can write could otherwise be pointed elsewhere between this check
/// and the next run.
pub fn check(
    path: &Path,
    trusted_uid: Option<u32>,
    trusted_gid: Option<u32>,
) -> Result<(), String> {
    // The script's group may write its files only when the script does not run as
    // root: its members must not be able to run code as root.
    let trusted_gid = trusted_gid.filter(|_| trusted_uid.is_some_and(|u| u != 0));
    let rules = Rules {
        uid: trusted_uid,
        gid: trusted_gid,
    };
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match std::env::current_dir() {
            Ok(d) => d.join(path),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    };
    rules.check_entry(Path::new("/"))?;
    let mut links = 0;
    rules.walk(Path::new("/"), &full, &mut links).map(|_| ())
}

/// Symbolic links followed for one path before giving up (as the kernel does).
const MAX_LINKS: u32 = 40;

struct Rules {
    uid: Option<u32>,
    gid: Option<u32>,
}

impl Rules {
    fn trusted_user(&self, uid: u32) -> bool {
        uid == 0 || Some(uid) == self.uid
    }

    fn trusted_group(&self, gid: u32) -> bool {
        gid == 0 || Some(gid) == self.gid
    }

    /// Checks one existing path component (not followed if it is a link).
    fn check_entry(&self, p: &Path) -> Result<(), String> {
        let meta = std::fs::symlink_metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        self.check_meta(p, &meta)
    }

    fn check_meta(&self, p: &Path, meta: &std::fs::Metadata) -> Result<(), String> {
        if !self.trusted_user(meta.uid()) {
            return Err(format!(
                "{} is owned by uid {}, not root or the script's user",
                p.display(),
                meta.uid()
            ));
        }
        // A link's own mode means nothing (it cannot be changed in place); a sticky
        // directory lets others create entries but not replace what they do not own.
        if meta.file_type().is_symlink() || (meta.is_dir() && meta.mode() & S_ISVTX != 0) {
            return Ok(());
        }
        let mode = meta.mode();
        if mode & S_IWOTH != 0 {
            return Err(format!("{} is writable by everyone", p.display()));
        }
        if mode & S_IWGRP != 0 && !self.trusted_group(meta.gid()) {
            return Err(format!(
                "{} is writable by group {}",
                p.display(),
                meta.gid()
            ));
        }
        Ok(())
    }

    /// Checks the components of `path` (absolute, or relative to `base`, a checked
    /// directory without links), following links (`links` counts them). Returns the
    /// resolved path, `None` when a component does not exist.
    fn walk(&self, base: &Path, path: &Path, links: &mut u32) -> Result<Option<PathBuf>, String> {
        let mut cur = if path.is_absolute() {
            PathBuf::from("/")
        } else {
            base.to_path_buf()
        };
        for comp in path.components() {
            let name = match comp {
                Component::Normal(n) => n,
                Component::ParentDir => {
                    // `cur` has no links in it: `..` is its parent.
                    cur.pop();
                    continue;
                }
                Component::RootDir | Component::CurDir | Component::Prefix(_) => continue,
            };
            let next = cur.join(name);
            let Ok(meta) = std::fs::symlink_metadata(&next) else {
                return Ok(None);
            };
            self.check_meta(&next, &meta)?;
            if meta.file_type().is_symlink() {
                *links += 1;
                if *links > MAX_LINKS {
                    return Err(format!(
                        "{}: too many levels of symbolic links",
                        next.display()
                    ));
                }
                let target =
                    std::fs::read_link(&next).map_err(|e| format!("{}: {e}", next.display()))?;
                match self.walk(&cur, &target, links)? {
                    Some(resolved) => cur = resolved,
                    None => return Ok(None),
                }
            } else {
                cur = next;
            }
        }
        Ok(Some(cur))
    }
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

    /// A root-owned 0755 script in a root-owned 0700 directory (inside sticky /tmp).
    fn safe_dir() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        let script = dir.path().join("check.sh");
        std::fs::write(&script, "#!/bin/sh\nexit 0\n").expect("write");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        (dir, script)
    }

    /// A symbolic link to a safe script is checked where it is: a link in a directory
    /// everyone can write (it can be pointed elsewhere before the next run), or owned by
    /// another user, is refused, although its target is safe.
    #[test]
    fn symlinks_are_checked_where_they_are() {
        if !nix::unistd::Uid::effective().is_root() {
            return;
        }
        let (dir, script) = safe_dir();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).expect("mkdir");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let link = open.join("chk");
        std::os::unix::fs::symlink(&script, &link).expect("symlink");
        let e = check(&link, None, None).expect_err("a link in a world-writable dir");
        assert!(
            e.contains(&format!("{} is writable by everyone", open.display())),
            "{e}"
        );
        let e =
            check_command(&[link.display().to_string()], None, None).expect_err("as the program");
        assert!(e.contains("writable by everyone"), "{e}");
        let e = check_command(&["/bin/sh".into(), link.display().to_string()], None, None)
            .expect_err("as an argument");
        assert!(e.contains("writable by everyone"), "{e}");
        // A link in a safe directory, owned by root, to a safe script: fine, also relative
        // and through `..`.
        let safe = dir.path().join("safe");
        std::fs::create_dir(&safe).expect("mkdir");
        std::fs::set_permissions(&safe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let good = safe.join("chk");
        std::os::unix::fs::symlink("../check.sh", &good).expect("symlink");
        assert_eq!(check(&good, None, None), Ok(()));
        // A directory link: the link's directory is checked too.
        let dirlink = open.join("d");
        std::os::unix::fs::symlink(&safe, &dirlink).expect("symlink");
        assert!(check(&dirlink.join("chk"), None, None).is_err());
        // A link owned by another user (it could replace it in a sticky directory).
        let theirs = safe.join("theirs");
        std::os::unix::fs::symlink(&script, &theirs).expect("symlink");
        std::os::unix::fs::lchown(&theirs, Some(4242), None).expect("lchown");
        let e = check(&theirs, None, None).expect_err("foreign link");
        assert!(e.contains("theirs is owned by uid 4242"), "{e}");
        // A link to an unsafe target is refused as before.
        let target = open.join("evil.sh");
        std::fs::write(&target, "#!/bin/sh\n").expect("write");
        let to_evil = safe.join("to_evil");
        std::os::unix::fs::symlink(&target, &to_evil).expect("symlink");
        assert!(check(&to_evil, None, None).is_err());
        // A loop is an error, not a hang.
        let a = safe.join("a");
        let b = safe.join("b");
        std::os::unix::fs::symlink(&b, &a).expect("symlink");
        std::os::unix::fs::symlink(&a, &b).expect("symlink");
        let e = check(&a, None, None).expect_err("loop");
        assert!(e.contains("too many levels"), "{e}");
    }

    /// A script running as root is refused when a group other than root may write it,
    /// even the group it is configured to run with: members of that group could run code
    /// as root. Running as another user, its own group may.
    #[test]
    fn the_scripts_group_is_trusted_only_when_it_does_not_run_as_root() {
        if !nix::unistd::Uid::effective().is_root() {
            return;
        }
        let (_dir, script) = safe_dir();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o775)).expect("chmod");
        nix::unistd::chown(&script, None, Some(nix::unistd::Gid::from_raw(4343))).expect("chown");
        let e = check(&script, None, Some(4343)).expect_err("root with group 4343");
        assert!(e.contains("check.sh is writable by group 4343"), "{e}");
        assert!(check(&script, Some(0), Some(4343)).is_err(), "user root");
        assert_eq!(check(&script, Some(4242), Some(4343)), Ok(()));
        assert!(check(&script, Some(4242), Some(4444)).is_err());
    }
}
